//! One connection's mechanism, whichever it is: the enum the ZMTP and ZWS connections drive.

use bytes::Bytes;

use super::curve::{self, Cipher};
use super::null::Null;
use super::plain;
use super::{Out, Step};
use crate::error::{Error, Result};
use crate::security::{Random, Security};
use crate::socket_type::SocketType;
use crate::zap::ZapOutcome;

/// What a connection needs to set up its mechanism.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// The mechanism and its keys or credentials.
    pub security: Security,
    /// ZAP_DOMAIN is set: NULL connections ask ZAP too (PLAIN and CURVE servers always do).
    pub zap_domain: bool,
    /// ZAP_ENFORCE_DOMAIN: without a ZAP handler, CURVE and NULL-with-domain fail instead of
    /// accepting.
    pub zap_enforce: bool,
}

/// A mechanism in progress.
#[derive(Debug)]
pub(crate) enum Mechanism {
    Null(Null),
    PlainClient(plain::Client),
    PlainServer(plain::Server),
    CurveClient(Box<curve::Client>),
    CurveServer(Box<curve::Server>),
}

impl Mechanism {
    /// Sets up the mechanism `auth` names and returns it with its first step; the commands to
    /// send first (NULL's READY, the clients' HELLO) are in `out`. `rng` is needed by CURVE
    /// only (None elsewhere is fine; CURVE without it is an error).
    pub(crate) fn start(
        auth: &Auth,
        socket_type: SocketType,
        identity: Bytes,
        rng: Option<&mut dyn Random>,
        out: &mut Out,
    ) -> Result<(Mechanism, Step)> {
        let needs_rng = || Error::Inval("CURVE needs a random source from the host".into());
        Ok(match &auth.security {
            Security::Null => {
                let mut null = Null::new(socket_type, identity, auth.zap_domain, auth.zap_enforce);
                let step = null.start(out);
                (Mechanism::Null(null), step)
            }
            Security::PlainClient { username, password } => {
                let client = plain::Client::start(socket_type, identity, username, password, out)?;
                (Mechanism::PlainClient(client), Step::Continue)
            }
            Security::PlainServer => (
                Mechanism::PlainServer(plain::Server::new(socket_type, identity)),
                Step::Continue,
            ),
            Security::CurveClient { keys, server } => {
                let rng = rng.ok_or_else(needs_rng)?;
                let client =
                    curve::Client::start(socket_type, identity, keys.clone(), *server, rng, out)?;
                (Mechanism::CurveClient(Box::new(client)), Step::Continue)
            }
            Security::CurveServer { keys } => {
                let rng = rng.ok_or_else(needs_rng)?;
                let server =
                    curve::Server::new(socket_type, identity, keys.clone(), auth.zap_enforce, rng)?;
                (Mechanism::CurveServer(Box::new(server)), Step::Continue)
            }
        })
    }

    /// A handshake command from the peer (its body: `name-len name data`).
    pub(crate) fn handle_command(&mut self, body: &[u8], out: &mut Out) -> Result<Step> {
        match self {
            Mechanism::Null(m) => m.handle_command(body),
            Mechanism::PlainClient(m) => m.handle_command(body, out),
            Mechanism::PlainServer(m) => m.handle_command(body, out),
            Mechanism::CurveClient(m) => m.handle_command(body, out),
            Mechanism::CurveServer(m) => m.handle_command(body, out),
        }
    }

    /// The answer to the ZAP request of an earlier [`Step::Zap`].
    pub(crate) fn handle_zap(&mut self, outcome: ZapOutcome, out: &mut Out) -> Result<Step> {
        match self {
            Mechanism::Null(m) => m.handle_zap(outcome, out),
            Mechanism::PlainServer(m) => m.handle_zap(outcome, out),
            Mechanism::CurveServer(m) => m.handle_zap(outcome, out),
            Mechanism::PlainClient(_) | Mechanism::CurveClient(_) => {
                Err(Error::Proto("ZAP reply without a request".into()))
            }
        }
    }

    /// For CURVE, the message cipher once the handshake is done; None for NULL and PLAIN,
    /// whose frames travel as they are.
    pub(crate) fn into_cipher(self) -> Option<Cipher> {
        match self {
            Mechanism::CurveClient(m) => m.into_cipher(),
            Mechanism::CurveServer(m) => m.into_cipher(),
            _ => None,
        }
    }

    /// Ends the handshake: CURVE's message cipher, None for NULL and PLAIN (and when no
    /// mechanism ran). A CURVE mechanism without keys at this point is a protocol error.
    pub(crate) fn finish(mechanism: Option<Mechanism>) -> Result<Option<Cipher>> {
        let Some(mechanism) = mechanism else {
            return Ok(None);
        };
        let curve = matches!(
            mechanism,
            Mechanism::CurveClient(_) | Mechanism::CurveServer(_)
        );
        match mechanism.into_cipher() {
            None if curve => Err(Error::Proto("CURVE handshake ended without keys".into())),
            cipher => Ok(cipher),
        }
    }
}
