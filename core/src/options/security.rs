//! The security options (PLAIN_*, CURVE_*, ZAP_*) and how they add up to a mechanism, with
//! libzmq's rules: the last of PLAIN_SERVER, PLAIN_USERNAME/PASSWORD, CURVE_SERVER and
//! CURVE_SERVERKEY set decides the mechanism and the role.

use bytes::Bytes;
use zeroize::Zeroizing;

use super::SocketOption;
use crate::error::{Error, Result};
use crate::security::{KeyPair, PublicKey, SecretKey, Security};
use crate::zmtp::Auth;

/// The mechanism the options name so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mechanism {
    #[default]
    Null,
    Plain,
    Curve,
}

/// A socket's security options. Secrets are zeroized when dropped and never printed.
#[derive(Clone, Default)]
pub struct SecurityOptions {
    mechanism: Mechanism,
    as_server: bool,
    /// ZMQ_PLAIN_USERNAME.
    pub plain_username: Bytes,
    plain_password: Zeroizing<Vec<u8>>,
    /// ZMQ_CURVE_PUBLICKEY.
    pub curve_public: Option<PublicKey>,
    curve_secret: Option<SecretKey>,
    /// ZMQ_CURVE_SERVERKEY.
    pub curve_server_key: Option<PublicKey>,
    /// ZMQ_ZAP_DOMAIN (empty = none).
    pub zap_domain: Bytes,
    /// ZMQ_ZAP_ENFORCE_DOMAIN.
    pub zap_enforce_domain: bool,
}

impl std::fmt::Debug for SecurityOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityOptions")
            .field("mechanism", &self.mechanism)
            .field("as_server", &self.as_server)
            .field("curve_public", &self.curve_public)
            .field("zap_domain", &self.zap_domain)
            .finish_non_exhaustive()
    }
}

impl SecurityOptions {
    /// Records a security option; false for any other option.
    pub(super) fn store(&mut self, option: &SocketOption) -> bool {
        use SocketOption as O;
        match option {
            O::PlainServer(on) => self.set_role(Mechanism::Plain, *on),
            O::PlainUsername(name) => {
                self.plain_username = Bytes::copy_from_slice(name);
                self.set_client(Mechanism::Plain);
            }
            O::PlainPassword(password) => {
                self.plain_password = Zeroizing::new(password.as_bytes().to_vec());
                self.set_client(Mechanism::Plain);
            }
            O::CurveServer(on) => self.set_role(Mechanism::Curve, *on),
            O::CurvePublicKey(key) => self.curve_public = Some(*key),
            O::CurveSecretKey(key) => self.curve_secret = Some(key.clone()),
            O::CurveServerKey(key) => {
                self.curve_server_key = Some(*key);
                self.set_client(Mechanism::Curve);
            }
            O::ZapDomain(domain) => self.zap_domain = Bytes::copy_from_slice(domain),
            O::ZapEnforceDomain(on) => self.zap_enforce_domain = *on,
            _ => return false,
        }
        true
    }

    /// PLAIN_SERVER / CURVE_SERVER: 1 makes this side that mechanism's server, 0 goes back
    /// to NULL (libzmq).
    fn set_role(&mut self, mechanism: Mechanism, on: bool) {
        self.as_server = on;
        self.mechanism = if on { mechanism } else { Mechanism::Null };
    }

    fn set_client(&mut self, mechanism: Mechanism) {
        self.as_server = false;
        self.mechanism = mechanism;
    }

    /// The value of a security option, for `get_option`.
    pub(super) fn get(&self, name: super::OptionName) -> Option<SocketOption> {
        use super::OptionName as N;
        use SocketOption as O;
        let no_key = PublicKey::from_bytes([0; 32]);
        Some(match name {
            N::PlainServer => O::PlainServer(self.as_server && self.mechanism == Mechanism::Plain),
            N::PlainUsername => O::PlainUsername(self.plain_username.to_vec()),
            N::PlainPassword => O::PlainPassword(self.plain_password.to_vec().into()),
            N::CurveServer => O::CurveServer(self.as_server && self.mechanism == Mechanism::Curve),
            N::CurvePublicKey => O::CurvePublicKey(self.curve_public.unwrap_or(no_key)),
            N::CurveSecretKey => O::CurveSecretKey(
                self.curve_secret
                    .clone()
                    .unwrap_or_else(|| SecretKey::from_bytes([0; 32])),
            ),
            N::CurveServerKey => O::CurveServerKey(self.curve_server_key.unwrap_or(no_key)),
            N::ZapDomain => O::ZapDomain(self.zap_domain.to_vec()),
            N::ZapEnforceDomain => O::ZapEnforceDomain(self.zap_enforce_domain),
            _ => return None,
        })
    }

    /// What a connection of this socket needs: the mechanism with its keys or credentials,
    /// and the ZAP settings.
    ///
    /// # Errors
    /// [`Error::Inval`] when the options name CURVE without the keys it needs, or a public
    /// key that does not belong to the secret key.
    pub fn auth(&self) -> Result<Auth> {
        let security = match (self.mechanism, self.as_server) {
            (Mechanism::Null, _) => Security::Null,
            (Mechanism::Plain, true) => Security::PlainServer,
            (Mechanism::Plain, false) => Security::PlainClient {
                username: self.plain_username.clone(),
                password: self.plain_password.clone(),
            },
            (Mechanism::Curve, true) => Security::CurveServer {
                keys: self.key_pair()?,
            },
            (Mechanism::Curve, false) => Security::CurveClient {
                keys: self.key_pair()?,
                server: self
                    .curve_server_key
                    .ok_or_else(|| Error::Inval("a CURVE client needs CURVE_SERVERKEY".into()))?,
            },
        };
        Ok(Auth {
            security,
            zap_domain: !self.zap_domain.is_empty(),
            zap_enforce: self.zap_enforce_domain,
        })
    }

    /// CURVE_SECRETKEY, with CURVE_PUBLICKEY derived from it when unset.
    fn key_pair(&self) -> Result<KeyPair> {
        let secret = self
            .curve_secret
            .clone()
            .ok_or_else(|| Error::Inval("CURVE needs CURVE_SECRETKEY".into()))?;
        let public = secret.public_key();
        if self.curve_public.is_some_and(|p| p != public) {
            return Err(Error::Inval(
                "CURVE_PUBLICKEY does not belong to CURVE_SECRETKEY".into(),
            ));
        }
        Ok(KeyPair { public, secret })
    }
}
