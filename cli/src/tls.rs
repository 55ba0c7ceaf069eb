//! The wss:// flags of `isomq cat`: the certificate and key a wss:// bind presents, and the
//! trust anchors of wss:// connects. The files are read while the arguments are parsed, so
//! a missing or unreadable one stops the command, naming the file, before any socket opens.

use std::io::Read;

use isomq::{Socket, SocketOption};

pub(crate) const USAGE: &str = "\
\x20 --tls-cert FILE       PEM certificate chain for wss:// binds
  --tls-key FILE        PEM private key for wss:// binds
  --tls-ca FILE         PEM trust anchors for wss:// connects (default: the system's roots)";

/// What the wss:// flags asked for, with the files' contents. Its `Debug` shows no key.
#[derive(Default)]
pub(crate) struct TlsArgs {
    cert: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsArgs")
            .field("cert", &self.cert.is_some())
            .field("key", &self.key.is_some())
            .field("ca", &self.ca.is_some())
            .finish()
    }
}

/// The largest PEM file read: a certificate chain or a CA bundle is far smaller (the
/// system's whole bundle is about 200 KiB). A path to something endless (`/dev/zero`, a
/// FIFO that keeps writing) must fail instead of filling memory.
const MAX_PEM_FILE: u64 = 1 << 20;

fn read_pem(flag: &str, path: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_PEM_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("{flag} {path}: {e}"))?;
    if bytes.len() as u64 > MAX_PEM_FILE {
        return Err(format!("{flag} {path}: larger than {MAX_PEM_FILE} bytes"));
    }
    if !bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(format!("{flag} {path}: not a PEM file"));
    }
    Ok(bytes)
}

impl TlsArgs {
    /// Takes `flag` if it is a wss:// flag (reading its value with `value` and the file it
    /// names); returns whether it was one.
    pub(crate) fn take(
        &mut self,
        flag: &str,
        value: &mut dyn FnMut() -> Result<String, String>,
    ) -> Result<bool, String> {
        let slot = match flag {
            "--tls-cert" => &mut self.cert,
            "--tls-key" => &mut self.key,
            "--tls-ca" => &mut self.ca,
            _ => return Ok(false),
        };
        *slot = Some(read_pem(flag, &value()?)?);
        Ok(true)
    }

    /// The flags' own rules: a certificate needs its key and the other way round; a wss://
    /// bind needs both.
    pub(crate) fn check(&self, binds: &[String]) -> Result<(), String> {
        match (&self.cert, &self.key) {
            (Some(_), None) => return Err("--tls-cert needs --tls-key".into()),
            (None, Some(_)) => return Err("--tls-key needs --tls-cert".into()),
            _ => {}
        }
        if self.cert.is_none() && binds.iter().any(|ep| ep.starts_with("wss://")) {
            return Err("a wss:// --bind needs --tls-cert and --tls-key".into());
        }
        Ok(())
    }

    /// Sets the socket's WSS_* options.
    pub(crate) fn apply(&self, sock: &mut Socket) -> isomq::Result<()> {
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            sock.set_option(SocketOption::WssCertPem(cert.clone()))?;
            sock.set_option(SocketOption::WssKeyPem(key.clone().into()))?;
        }
        if let Some(ca) = &self.ca {
            sock.set_option(SocketOption::WssTrustPem(ca.clone()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    // In tests a panic is the failure report.
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn take(args: &mut TlsArgs, flag: &str, value: &str) -> Result<bool, String> {
        let value = value.to_owned();
        args.take(flag, &mut || Ok(value.clone()))
    }

    #[test]
    fn missing_or_unreadable_files_are_named() {
        let mut a = TlsArgs::default();
        let err = take(&mut a, "--tls-cert", "/nonexistent/cert.pem").unwrap_err();
        assert!(err.contains("--tls-cert /nonexistent/cert.pem"), "{err}");
        let dir = std::env::temp_dir().join(format!("isomq-cli-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, b"hello").unwrap();
        let err = take(&mut a, "--tls-ca", junk.to_str().unwrap()).unwrap_err();
        assert!(err.contains("not a PEM file"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(take(&mut a, "--other", "x"), Ok(false));
    }

    /// A path to an endless file is refused after MAX_PEM_FILE bytes instead of being read
    /// until memory runs out.
    #[test]
    fn an_endless_file_is_refused() {
        let mut a = TlsArgs::default();
        let err = take(&mut a, "--tls-cert", "/dev/zero").unwrap_err();
        assert!(err.contains("larger than"), "{err}");
    }

    #[test]
    fn a_wss_bind_needs_the_pair() {
        let a = TlsArgs::default();
        assert!(a.check(&["wss://127.0.0.1:*/x".into()]).is_err());
        assert!(a.check(&["ws://127.0.0.1:*/x".into()]).is_ok());
        let half = TlsArgs {
            cert: Some(Vec::new()),
            ..TlsArgs::default()
        };
        assert!(half.check(&[]).is_err());
    }
}
