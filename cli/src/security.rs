//! The security flags shared by `isomq cat` and `isomq proxy`: CURVE and PLAIN, server or
//! client, and the built-in ZAP handler a server needs for an allow-list or passwords.

use isomq::{curve_keypair, Authenticator, Context, PublicKey, SecretKey, Socket, SocketOption};

// `\x20` keeps the first line's indent: a `\` line continuation also drops the leading
// spaces of the line after it.
pub(crate) const USAGE: &str = "\
\x20 --curve-server        this socket is a CURVE server; needs --curve-secret
  --curve-secret KEY    this socket's long-term secret key (Z85); public key derived
  --curve-serverkey KEY client: the server's public key; without --curve-secret the
                        client makes a fresh keypair
  --curve-allow KEY     server: accept only clients with this public key (repeatable);
                        without it any client that completes the handshake is accepted
  --plain-server U:P    this socket is a PLAIN server accepting these credentials
                        (repeatable)
  --plain U:P           PLAIN client credentials";

/// What the security flags asked for. Its `Debug` shows no secret key or password.
#[derive(Default)]
pub(crate) struct SecurityArgs {
    curve_server: bool,
    curve_secret: Option<SecretKey>,
    curve_serverkey: Option<PublicKey>,
    curve_allow: Vec<PublicKey>,
    plain_server: Vec<(String, String)>,
    plain: Option<(String, String)>,
}

impl std::fmt::Debug for SecurityArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityArgs")
            .field("curve_server", &self.curve_server)
            .field("curve_serverkey", &self.curve_serverkey)
            .field("curve_allow", &self.curve_allow)
            .field("plain_users", &self.plain_server.len())
            .field("plain_user", &self.plain.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

fn credentials(flag: &str, value: &str) -> Result<(String, String), String> {
    value
        .split_once(':')
        .map(|(u, p)| (u.to_owned(), p.to_owned()))
        .ok_or_else(|| format!("{flag} needs USER:PASS"))
}

impl SecurityArgs {
    /// Takes `flag` if it is a security flag (reading its value with `value`); returns
    /// whether it was one.
    pub(crate) fn take(
        &mut self,
        flag: &str,
        value: &mut dyn FnMut() -> Result<String, String>,
    ) -> Result<bool, String> {
        let key_error = |e: isomq::Error| format!("{flag}: {e}");
        match flag {
            "--curve-server" => self.curve_server = true,
            "--curve-secret" => {
                self.curve_secret = Some(SecretKey::parse(value()?.as_bytes()).map_err(key_error)?);
            }
            "--curve-serverkey" => {
                self.curve_serverkey =
                    Some(PublicKey::parse(value()?.as_bytes()).map_err(key_error)?);
            }
            "--curve-allow" => self
                .curve_allow
                .push(PublicKey::parse(value()?.as_bytes()).map_err(key_error)?),
            "--plain-server" => self.plain_server.push(credentials(flag, &value()?)?),
            "--plain" => self.plain = Some(credentials(flag, &value()?)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The combinations that cannot work, refused before any socket opens.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.curve_server && self.curve_secret.is_none() {
            return Err("--curve-server needs --curve-secret".into());
        }
        if self.curve_server && self.curve_serverkey.is_some() {
            return Err("--curve-server and --curve-serverkey exclude each other".into());
        }
        if !self.curve_allow.is_empty() && !self.curve_server {
            return Err("--curve-allow is for --curve-server".into());
        }
        let curve = self.curve_server || self.curve_serverkey.is_some();
        let plain = !self.plain_server.is_empty() || self.plain.is_some();
        if curve && plain {
            return Err("CURVE and PLAIN flags exclude each other".into());
        }
        if !self.plain_server.is_empty() && self.plain.is_some() {
            return Err("--plain-server and --plain exclude each other".into());
        }
        if self.curve_secret.is_some() && !curve {
            return Err("--curve-secret needs --curve-server or --curve-serverkey".into());
        }
        Ok(())
    }

    /// A CURVE server that admits any client: with a ZAP handler in the context (another
    /// socket's), that handler must be told so.
    pub(crate) fn curve_allows_any(&self) -> bool {
        self.curve_server && self.curve_allow.is_empty()
    }

    /// Sets the socket's options; starts the context's ZAP handler in `handler` when the
    /// server needs one, or adds to the one there (keep it alive as long as the socket).
    pub(crate) fn apply(
        &self,
        ctx: &Context,
        sock: &mut Socket,
        handler: &mut Option<Authenticator>,
    ) -> Result<(), isomq::Error> {
        let needs_handler = !self.curve_allow.is_empty() || !self.plain_server.is_empty();
        if needs_handler && handler.is_none() {
            *handler = Some(Authenticator::start(ctx)?);
        }
        if self.curve_server {
            if let Some(secret) = &self.curve_secret {
                sock.set_option(SocketOption::CurveSecretKey(secret.clone()))?;
            }
            sock.set_option(SocketOption::CurveServer(true))?;
            if let Some(auth) = handler.as_ref().filter(|_| !self.curve_allow.is_empty()) {
                for key in &self.curve_allow {
                    auth.curve_allow(*key);
                }
            }
        } else if let Some(server) = self.curve_serverkey {
            let secret = match &self.curve_secret {
                Some(s) => s.clone(),
                None => curve_keypair()?.secret,
            };
            sock.set_option(SocketOption::CurveSecretKey(secret))?;
            sock.set_option(SocketOption::CurveServerKey(server))?;
        }
        if let Some(auth) = handler.as_ref().filter(|_| !self.plain_server.is_empty()) {
            for (user, password) in &self.plain_server {
                auth.plain_user(user, password);
            }
            sock.set_option(SocketOption::PlainServer(true))?;
        }
        if let Some((user, password)) = &self.plain {
            sock.set_option(SocketOption::PlainUsername(user.as_bytes().to_vec()))?;
            sock.set_option(SocketOption::PlainPassword(
                password.as_bytes().to_vec().into(),
            ))?;
        }
        Ok(())
    }
}

/// `isomq keygen`: a fresh CURVE key pair, as `public <Z85>` and `secret <Z85>` lines.
pub(crate) fn keygen() -> i32 {
    match curve_keypair() {
        Ok(pair) => {
            println!("public {}", pair.public.to_z85());
            println!("secret {}", pair.secret.to_z85());
            0
        }
        Err(e) => {
            eprintln!("isomq: keygen: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(flags: &[&str]) -> Result<SecurityArgs, String> {
        let mut out = SecurityArgs::default();
        let mut it = flags.iter().map(|s| s.to_string());
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
            if !out.take(&flag, &mut value)? {
                return Err(format!("unknown {flag}"));
            }
        }
        out.check().map(|()| out)
    }

    const KEY: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

    #[test]
    fn flags_are_checked_before_any_socket_opens() {
        assert!(parse(&["--curve-server", "--curve-secret", KEY]).is_ok());
        assert!(parse(&["--curve-serverkey", KEY]).is_ok());
        let err = |flags: &[&str]| parse(flags).unwrap_err();
        assert!(err(&["--curve-server"]).contains("--curve-secret"));
        assert!(err(&[
            "--curve-server",
            "--curve-secret",
            KEY,
            "--curve-serverkey",
            KEY
        ])
        .contains("--curve-serverkey"));
        assert!(err(&["--curve-serverkey", "short"]).contains("--curve-serverkey"));
        assert!(err(&["--plain", "nocolon"]).contains("USER:PASS"));
        assert!(err(&["--curve-allow", KEY]).contains("--curve-allow"));
    }

    #[test]
    fn user_pass_splits_at_the_first_colon() {
        let args = parse(&["--plain", "a:b:c"]).unwrap();
        assert_eq!(args.plain, Some(("a".into(), "b:c".into())));
    }

    #[test]
    fn secrets_never_print() {
        let args = parse(&["--curve-server", "--curve-secret", KEY]).unwrap();
        assert!(!format!("{args:?}").contains(KEY));
        let args = parse(&["--plain", "alice:hunter2"]).unwrap();
        assert!(!format!("{args:?}").contains("hunter2"));
    }
}
