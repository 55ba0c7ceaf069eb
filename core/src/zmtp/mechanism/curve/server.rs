//! The CURVE server: HELLO → WELCOME, INITIATE → (ZAP) → READY (RFC 26,
//! docs/security.md §3).

use bytes::Bytes;
use crypto_secretbox::{Key, KeyInit, XSalsa20Poly1305};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::cipher::Cipher;
use super::{key_at, next_nonce, open, precompute, seal, shared_key, short_nonce, NAME};
use crate::error::{Error, Result};
use crate::security::{KeyPair, PublicKey, Random};
use crate::socket_type::SocketType;
use crate::zap::{ZapOutcome, ZapRequest};
use crate::zmtp::mechanism::{
    basic_properties, check_metadata, zap_verdict, Out, PeerMetadata, Step,
};

const HELLO_LEN: usize = 200;
const INITIATE_MIN: usize = 257;
/// Where HELLO's fields are: C' (client short-term key), the short nonce, the box.
const HELLO_KEY: usize = 80;
const HELLO_NONCE: usize = 112;
const HELLO_BOX: usize = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    ExpectHello,
    ExpectInitiate,
    WaitZap,
    Done,
}

/// The server side of a CURVE handshake.
pub(crate) struct Server {
    socket_type: SocketType,
    identity: Bytes,
    keys: KeyPair,
    /// ZAP_ENFORCE_DOMAIN: without a ZAP handler, fail instead of accepting any client.
    enforce: bool,
    /// Our short-term key pair (s', S'), one per connection.
    transient: KeyPair,
    /// This connection's cookie key: fresh per connection, so a cookie opens nowhere else
    /// and the key is gone with the connection (docs/security.md explains the choice).
    cookie_key: Zeroizing<[u8; 32]>,
    cookie_nonce: [u8; 16],
    welcome_nonce: [u8; 16],
    /// The client's short-term key C', from HELLO.
    client_transient: Option<PublicKey>,
    /// The key of the box between s' and C'.
    box_key: Option<Zeroizing<Key>>,
    /// The last short nonce received.
    peer_nonce: u64,
    /// The next short nonce we send.
    nonce: u64,
    /// The client's metadata, held while ZAP decides.
    peer: Option<PeerMetadata>,
    state: State,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("curve::Server")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Draws the short-term key pair, the cookie key and the nonces this connection needs.
    pub(crate) fn new(
        socket_type: SocketType,
        identity: Bytes,
        keys: KeyPair,
        enforce: bool,
        rng: &mut dyn Random,
    ) -> Result<Server> {
        let transient = KeyPair::generate(rng)?;
        let mut cookie_key = Zeroizing::new([0u8; 32]);
        rng.fill(&mut cookie_key[..])?;
        let mut cookie_nonce = [0u8; 16];
        rng.fill(&mut cookie_nonce)?;
        let mut welcome_nonce = [0u8; 16];
        rng.fill(&mut welcome_nonce)?;
        Ok(Server {
            socket_type,
            identity,
            keys,
            enforce,
            transient,
            cookie_key,
            cookie_nonce,
            welcome_nonce,
            client_transient: None,
            box_key: None,
            peer_nonce: 0,
            nonce: 1,
            peer: None,
            state: State::ExpectHello,
        })
    }

    pub(crate) fn handle_command(&mut self, body: &[u8], out: &mut Out) -> Result<Step> {
        match self.state {
            State::ExpectHello => self.handle_hello(body, out),
            State::ExpectInitiate => self.handle_initiate(body),
            State::WaitZap | State::Done => Err(Error::Proto(
                "unexpected command during the CURVE handshake".into(),
            )),
        }
    }

    /// HELLO: `05 'HELLO' 01 00 padding(72) C' nonce(8) Box[64 zeros](C' → S)`; answered
    /// by WELCOME with S' and the cookie.
    fn handle_hello(&mut self, body: &[u8], out: &mut Out) -> Result<Step> {
        if body.len() != HELLO_LEN || !body.starts_with(b"\x05HELLO") {
            return Err(Error::Proto("malformed CURVE HELLO".into()));
        }
        if body[6..8] != [1, 0] {
            return Err(Error::Proto("CURVE HELLO of an unknown version".into()));
        }
        let client_transient = key_at(body, HELLO_KEY)?;
        let n = short_nonce(body, HELLO_NONCE, 0)?;
        let hello_box = precompute(&client_transient, &self.keys.secret)?;
        let zeros = open(
            &hello_box,
            b"CurveZMQHELLO---",
            &n.to_be_bytes(),
            &body[HELLO_BOX..],
            "HELLO",
        )?;
        if !bool::from(zeros.ct_eq(&[0u8; 64][..])) {
            return Err(Error::Proto("CURVE HELLO signature is not zeros".into()));
        }
        self.peer_nonce = n;

        // The cookie: C' and s' sealed under the cookie key, returned to us in INITIATE.
        let mut cookie_plain = Zeroizing::new([0u8; 64]);
        cookie_plain[..32].copy_from_slice(client_transient.as_bytes());
        cookie_plain[32..].copy_from_slice(self.transient.secret.as_bytes());
        let cookie_box = XSalsa20Poly1305::new((&*self.cookie_key).into());
        let sealed = seal(
            &cookie_box,
            b"COOKIE--",
            &self.cookie_nonce,
            &cookie_plain[..],
        );

        let mut plain = Zeroizing::new(Vec::with_capacity(128));
        plain.extend_from_slice(self.transient.public.as_bytes());
        plain.extend_from_slice(&self.cookie_nonce);
        plain.extend_from_slice(&sealed);
        let mut welcome = Vec::with_capacity(168);
        welcome.extend_from_slice(b"\x07WELCOME");
        welcome.extend_from_slice(&self.welcome_nonce);
        welcome.extend_from_slice(&seal(&hello_box, b"WELCOME-", &self.welcome_nonce, &plain));
        out.body(welcome);
        self.box_key = Some(shared_key(&client_transient, &self.transient.secret)?);
        self.client_transient = Some(client_transient);
        self.state = State::ExpectInitiate;
        Ok(Step::Continue)
    }

    /// INITIATE: `08 'INITIATE' cookie(96) nonce(8) Box[C vouch-nonce vouch metadata]
    /// (C' → S')`; the cookie must be ours and the vouch must bind C' to C and to us.
    fn handle_initiate(&mut self, body: &[u8]) -> Result<Step> {
        if body.len() < INITIATE_MIN || !body.starts_with(b"\x08INITIATE") {
            return Err(Error::Proto("malformed CURVE INITIATE".into()));
        }
        let (Some(client_transient), Some(box_key)) =
            (self.client_transient, self.box_key.as_ref())
        else {
            return Err(Error::Proto("CURVE INITIATE before HELLO".into()));
        };
        let cookie = &body[9..105];
        let cookie_box = XSalsa20Poly1305::new((&*self.cookie_key).into());
        let opened = open(
            &cookie_box,
            b"COOKIE--",
            &cookie[..16],
            &cookie[16..],
            "cookie",
        )?;
        let mut expected = Zeroizing::new([0u8; 64]);
        expected[..32].copy_from_slice(client_transient.as_bytes());
        expected[32..].copy_from_slice(self.transient.secret.as_bytes());
        if !bool::from(opened.ct_eq(&expected[..])) {
            return Err(Error::Proto("CURVE cookie is not this connection's".into()));
        }

        let n = short_nonce(body, 105, self.peer_nonce)?;
        let plain = open(
            &XSalsa20Poly1305::new(box_key),
            b"CurveZMQINITIATE",
            &n.to_be_bytes(),
            &body[113..],
            "INITIATE",
        )?;
        if plain.len() < 128 {
            return Err(Error::Proto("malformed CURVE INITIATE".into()));
        }
        let client = key_at(&plain, 0)?;
        let vouch_box = precompute(&client, &self.transient.secret)?;
        let vouched = open(
            &vouch_box,
            b"VOUCH---",
            &plain[32..48],
            &plain[48..128],
            "vouch",
        )?;
        let mut want = [0u8; 64];
        want[..32].copy_from_slice(client_transient.as_bytes());
        want[32..].copy_from_slice(self.keys.public.as_bytes());
        if !bool::from(vouched.ct_eq(&want[..])) {
            return Err(Error::Proto("CURVE vouch does not match".into()));
        }
        self.peer = Some(check_metadata(&plain[128..], self.socket_type)?);
        self.peer_nonce = n;
        self.state = State::WaitZap;
        Ok(Step::Zap(ZapRequest {
            mechanism: NAME,
            credentials: vec![Bytes::copy_from_slice(client.as_bytes())],
        }))
    }

    /// Applies ZAP's answer; READY goes out when the client is accepted.
    pub(crate) fn handle_zap(&mut self, outcome: ZapOutcome, out: &mut Out) -> Result<Step> {
        if self.state != State::WaitZap {
            return Err(Error::Proto("ZAP reply without a request".into()));
        }
        let mut zap_properties = zap_verdict(outcome, !self.enforce, out)?;
        let (Some(box_key), Some(mut peer)) = (self.box_key.as_ref(), self.peer.take()) else {
            return Err(Error::Proto("CURVE state lost".into()));
        };
        let short = next_nonce(&mut self.nonce)?;
        let metadata = basic_properties(self.socket_type, &self.identity);
        let mut ready = Vec::with_capacity(14 + 16 + metadata.len());
        ready.extend_from_slice(b"\x05READY");
        ready.extend_from_slice(&short);
        ready.extend_from_slice(&seal(
            &XSalsa20Poly1305::new(box_key),
            b"CurveZMQREADY---",
            &short,
            &metadata,
        ));
        out.body(ready);
        peer.properties.append(&mut zap_properties);
        self.state = State::Done;
        Ok(Step::Ready(peer))
    }

    /// The traffic cipher, once READY has gone out.
    pub(crate) fn into_cipher(self) -> Option<Cipher> {
        if self.state != State::Done {
            return None;
        }
        let (send, recv) = (self.nonce, self.peer_nonce);
        self.box_key.map(|key| Cipher::new(&key, false, send, recv))
    }
}
