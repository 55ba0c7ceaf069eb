//! A ZAP handler's decisions (RFC 27), as czmq's `zauth` and pyzmq's authenticator make
//! them: addresses denied or allowed, CURVE clients by public key (or any), PLAIN users by
//! password. Sans-IO: request frames in, reply frames out; the native `Authenticator` serves
//! it on `inproc://zeromq.zap.01`.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;

use crate::security::{PublicKey, SecretBytes};

/// What a handler accepts. Everything is refused until allowed: CURVE needs
/// [`curve_allow_any`](Policy::curve_allow_any) or keys, PLAIN needs users; NULL passes the
/// address checks only.
#[derive(Debug, Default, Clone)]
pub struct Policy {
    allowed: HashSet<String>,
    denied: HashSet<String>,
    curve_any: bool,
    curve_keys: HashSet<PublicKey>,
    users: HashMap<Bytes, SecretBytes>,
}

/// The decision on one request: status code, status text, user id.
type Verdict = (&'static str, &'static str, Bytes);

impl Policy {
    /// Accept connections from this address only (with the other allowed ones). An address
    /// is the peer's IP as ZAP requests carry it.
    pub fn allow(&mut self, address: &str) {
        self.allowed.insert(address.to_owned());
    }

    /// Refuse connections from this address (checked before `allow`).
    pub fn deny(&mut self, address: &str) {
        self.denied.insert(address.to_owned());
    }

    /// CURVE: accept any client that completes the handshake (its key still becomes the
    /// user id).
    pub fn curve_allow_any(&mut self) {
        self.curve_any = true;
    }

    /// CURVE: accept the client with this long-term public key.
    pub fn curve_allow(&mut self, key: PublicKey) {
        self.curve_keys.insert(key);
    }

    /// CURVE: accept the public keys in a key file's text: czmq certificate files
    /// (`public-key = "<Z85>"`), `isomq keygen` output (`public <Z85>`), or bare Z85 lines.
    /// Secret keys in the text are ignored. Returns how many keys were added.
    pub fn curve_allow_key_file(&mut self, text: &str) -> usize {
        let mut added = 0;
        for line in text.lines() {
            let line = line.trim();
            let candidate = if let Some(rest) = line.strip_prefix("public-key") {
                rest.trim_start_matches([' ', '=']).trim().trim_matches('"')
            } else if let Some(rest) = line.strip_prefix("public ") {
                rest.trim()
            } else {
                line
            };
            if let Ok(key) = PublicKey::parse(candidate.as_bytes()) {
                if candidate.len() == crate::security::KEY_Z85_LEN {
                    self.curve_keys.insert(key);
                    added += 1;
                }
            }
        }
        added
    }

    /// PLAIN: accept this username with this password.
    pub fn plain_user(&mut self, username: &[u8], password: &[u8]) {
        self.users
            .insert(Bytes::copy_from_slice(username), password.to_vec().into());
    }

    /// Answers one request, as a REP socket hands it over: `1.0 id domain address identity
    /// mechanism credentials...` (RFC 27). Returns the reply frames: `1.0 id status text
    /// user-id metadata`. A malformed request gets status 500.
    pub fn handle(&self, request: &[Bytes]) -> Vec<Bytes> {
        let (id, (status, text, user_id)) = match request {
            [version, id, _domain, address, _identity, mechanism, credentials @ ..]
                if version.as_ref() == b"1.0" =>
            {
                (id.clone(), self.decide(address, mechanism, credentials))
            }
            [_, id, ..] => (id.clone(), ("500", "Malformed request", Bytes::new())),
            _ => (Bytes::new(), ("500", "Malformed request", Bytes::new())),
        };
        vec![
            Bytes::from_static(b"1.0"),
            id,
            Bytes::from_static(status.as_bytes()),
            Bytes::from_static(text.as_bytes()),
            user_id,
            Bytes::new(),
        ]
    }

    fn decide(&self, address: &[u8], mechanism: &[u8], credentials: &[Bytes]) -> Verdict {
        let address = String::from_utf8_lossy(address);
        if self.denied.contains(address.as_ref()) {
            return ("400", "Address is denied", Bytes::new());
        }
        if !self.allowed.is_empty() && !self.allowed.contains(address.as_ref()) {
            return ("400", "Address is not allowed", Bytes::new());
        }
        match (mechanism, credentials) {
            (b"NULL", []) => ("200", "OK", Bytes::new()),
            (b"PLAIN", [user, password]) => self.check_plain(user, password),
            (b"CURVE", [key]) => self.check_curve(key),
            _ => ("400", "Unsupported mechanism or credentials", Bytes::new()),
        }
    }

    fn check_plain(&self, user: &Bytes, password: &Bytes) -> Verdict {
        let given = SecretBytes::from(password.to_vec());
        match self.users.get(user) {
            // Constant time (SecretBytes' equality), so that timing does not reveal how
            // much of a password was right.
            Some(expected) if *expected == given => ("200", "OK", user.clone()),
            _ => ("400", "Invalid username or password", Bytes::new()),
        }
    }

    fn check_curve(&self, key: &Bytes) -> Verdict {
        let Ok(key) = PublicKey::parse(key) else {
            return ("400", "Malformed CURVE key", Bytes::new());
        };
        if self.curve_any || self.curve_keys.contains(&key) {
            ("200", "OK", Bytes::from(key.to_z85()))
        } else {
            ("400", "Unknown CURVE key", Bytes::new())
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn request(address: &str, mechanism: &str, credentials: &[&[u8]]) -> Vec<Bytes> {
        let mut frames: Vec<Bytes> = ["1.0", "7", "global", address, "", mechanism]
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        frames.extend(credentials.iter().map(|c| Bytes::copy_from_slice(c)));
        frames
    }

    fn status(reply: &[Bytes]) -> &[u8] {
        &reply[2]
    }

    /// RFC 27: the reply echoes version and request id, then status, text, user id and
    /// metadata.
    #[test]
    fn replies_echo_the_request_id() {
        let reply = Policy::default().handle(&request("1.2.3.4", "NULL", &[]));
        assert_eq!(reply.len(), 6);
        assert_eq!(
            (&reply[0][..], &reply[1][..], status(&reply)),
            (&b"1.0"[..], &b"7"[..], &b"200"[..])
        );
        assert_eq!(status(&Policy::default().handle(&[Bytes::new()])), b"500");
    }

    #[test]
    fn addresses_are_denied_then_allowed() {
        let mut p = Policy::default();
        p.deny("10.0.0.1");
        assert_eq!(status(&p.handle(&request("10.0.0.1", "NULL", &[]))), b"400");
        assert_eq!(status(&p.handle(&request("10.0.0.2", "NULL", &[]))), b"200");
        p.allow("10.0.0.3");
        assert_eq!(status(&p.handle(&request("10.0.0.2", "NULL", &[]))), b"400");
        assert_eq!(status(&p.handle(&request("10.0.0.3", "NULL", &[]))), b"200");
    }

    #[test]
    fn plain_users_need_the_right_password() {
        let mut p = Policy::default();
        p.plain_user(b"admin", b"secret");
        let ok = p.handle(&request("", "PLAIN", &[b"admin", b"secret"]));
        assert_eq!((status(&ok), &ok[4][..]), (&b"200"[..], &b"admin"[..]));
        assert_eq!(
            status(&p.handle(&request("", "PLAIN", &[b"admin", b"secreT"]))),
            b"400"
        );
        assert_eq!(
            status(&p.handle(&request("", "PLAIN", &[b"root", b"secret"]))),
            b"400"
        );
    }

    #[test]
    fn curve_keys_are_refused_unless_allowed() {
        let key = [5u8; 32];
        let mut p = Policy::default();
        assert_eq!(status(&p.handle(&request("", "CURVE", &[&key]))), b"400");
        p.curve_allow(PublicKey::from_bytes(key));
        let ok = p.handle(&request("", "CURVE", &[&key]));
        assert_eq!(status(&ok), b"200");
        assert_eq!(ok[4], PublicKey::from_bytes(key).to_z85().as_bytes());
        assert_eq!(
            status(&p.handle(&request("", "CURVE", &[&[6u8; 32]]))),
            b"400"
        );
        p.curve_allow_any();
        assert_eq!(
            status(&p.handle(&request("", "CURVE", &[&[6u8; 32]]))),
            b"200"
        );
    }

    #[test]
    fn key_files_in_czmq_and_keygen_formats() {
        let mut p = Policy::default();
        let czmq = "#   ZeroMQ CURVE Public Certificate\nmetadata\ncurve\n    public-key = \"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID\"\n";
        assert_eq!(p.curve_allow_key_file(czmq), 1);
        let keygen = "public rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\nsecret JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6\n";
        assert_eq!(
            p.curve_allow_key_file(keygen),
            1,
            "the secret line is not a public key"
        );
        let key = PublicKey::parse(b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID").unwrap();
        assert_eq!(
            status(&p.handle(&request("", "CURVE", &[key.as_bytes()]))),
            b"200"
        );
    }
}
