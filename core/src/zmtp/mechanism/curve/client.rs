//! The CURVE client: HELLO → WELCOME → INITIATE → READY (RFC 26, docs/security.md §3).

use bytes::Bytes;
use crypto_secretbox::{Key, KeyInit, XSalsa20Poly1305};
use zeroize::Zeroizing;

use super::cipher::Cipher;
use super::{key_at, next_nonce, open, precompute, seal, shared_key, short_nonce};
use crate::error::{Error, Result};
use crate::security::{KeyPair, PublicKey, Random};
use crate::socket_type::SocketType;
use crate::zmtp::command::{self, Command};
use crate::zmtp::mechanism::{basic_properties, check_metadata, peer_error, Out, Step};

/// HELLO: name, version 1.0, 72 bytes of padding (RFC 26's ABNF; its prose says 70).
const HELLO_HEAD: &[u8] = b"\x05HELLO\x01\x00";
const HELLO_PADDING: usize = 72;
const WELCOME_LEN: usize = 168;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    ExpectWelcome,
    ExpectReady,
    Done,
}

/// The client side of a CURVE handshake.
pub(crate) struct Client {
    socket_type: SocketType,
    identity: Bytes,
    keys: KeyPair,
    server: PublicKey,
    /// Our short-term key pair (c', C'), one per connection.
    transient: KeyPair,
    /// The vouch's random nonce tail.
    vouch_nonce: [u8; 16],
    /// The box between c' and S: HELLO's, and WELCOME's from the server.
    server_box: XSalsa20Poly1305,
    /// The key of the box between c' and S', once WELCOME told us S'.
    box_key: Option<Zeroizing<Key>>,
    /// The next short nonce we send.
    nonce: u64,
    /// READY's nonce: the server's MESSAGE nonces must be above it.
    ready_nonce: u64,
    state: State,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("curve::Client")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Draws the short-term key pair and sends HELLO.
    pub(crate) fn start(
        socket_type: SocketType,
        identity: Bytes,
        keys: KeyPair,
        server: PublicKey,
        rng: &mut dyn Random,
        out: &mut Out,
    ) -> Result<Client> {
        let transient = KeyPair::generate(rng)?;
        let mut vouch_nonce = [0u8; 16];
        rng.fill(&mut vouch_nonce)?;
        let server_box = precompute(&server, &transient.secret)?;
        let mut client = Client {
            socket_type,
            identity,
            keys,
            server,
            transient,
            vouch_nonce,
            server_box,
            box_key: None,
            nonce: 1,
            ready_nonce: 0,
            state: State::ExpectWelcome,
        };
        client.send_hello(out)?;
        Ok(client)
    }

    fn send_hello(&mut self, out: &mut Out) -> Result<()> {
        let short = next_nonce(&mut self.nonce)?;
        let mut body = Vec::with_capacity(200);
        body.extend_from_slice(HELLO_HEAD);
        body.resize(HELLO_HEAD.len() + HELLO_PADDING, 0);
        body.extend_from_slice(self.transient.public.as_bytes());
        body.extend_from_slice(&short);
        body.extend_from_slice(&seal(
            &self.server_box,
            b"CurveZMQHELLO---",
            &short,
            &[0u8; 64],
        ));
        out.body(body);
        Ok(())
    }

    pub(crate) fn handle_command(&mut self, body: &[u8], out: &mut Out) -> Result<Step> {
        if let Ok(Command::Error(reason)) = command::parse(body) {
            return Err(peer_error(reason));
        }
        match self.state {
            State::ExpectWelcome => self.handle_welcome(body, out),
            State::ExpectReady => self.handle_ready(body),
            State::Done => Err(Error::Proto("CURVE handshake command after READY".into())),
        }
    }

    /// WELCOME: `07 'WELCOME' nonce(16) Box[S' cookie](S → C')`; answered by INITIATE.
    fn handle_welcome(&mut self, body: &[u8], out: &mut Out) -> Result<Step> {
        if body.len() != WELCOME_LEN || !body.starts_with(b"\x07WELCOME") {
            return Err(Error::Proto("malformed CURVE WELCOME".into()));
        }
        let plain = open(
            &self.server_box,
            b"WELCOME-",
            &body[8..24],
            &body[24..],
            "WELCOME",
        )?;
        let server_transient = key_at(&plain, 0)?;
        let cookie = &plain[32..];
        let key = shared_key(&server_transient, &self.transient.secret)?;

        // The vouch proves the long-term key owner made C' for this server (RFC 26).
        let vouch_box = precompute(&server_transient, &self.keys.secret)?;
        let mut vouched = [0u8; 64];
        vouched[..32].copy_from_slice(self.transient.public.as_bytes());
        vouched[32..].copy_from_slice(self.server.as_bytes());
        let vouch = seal(&vouch_box, b"VOUCH---", &self.vouch_nonce, &vouched);

        let metadata = basic_properties(self.socket_type, &self.identity);
        let mut plaintext = zeroize::Zeroizing::new(Vec::with_capacity(128 + metadata.len()));
        plaintext.extend_from_slice(self.keys.public.as_bytes());
        plaintext.extend_from_slice(&self.vouch_nonce);
        plaintext.extend_from_slice(&vouch);
        plaintext.extend_from_slice(&metadata);

        let short = next_nonce(&mut self.nonce)?;
        let mut initiate = Vec::with_capacity(9 + 96 + 8 + 16 + plaintext.len());
        initiate.extend_from_slice(b"\x08INITIATE");
        initiate.extend_from_slice(cookie);
        initiate.extend_from_slice(&short);
        let sbox = XSalsa20Poly1305::new(&key);
        initiate.extend_from_slice(&seal(&sbox, b"CurveZMQINITIATE", &short, &plaintext));
        out.body(initiate);
        self.box_key = Some(key);
        self.state = State::ExpectReady;
        Ok(Step::Continue)
    }

    /// READY: `05 'READY' nonce(8) Box[metadata](S' → C')`.
    fn handle_ready(&mut self, body: &[u8]) -> Result<Step> {
        if body.len() < 30 || !body.starts_with(b"\x05READY") {
            return Err(Error::Proto("malformed CURVE READY".into()));
        }
        let sbox = self
            .box_key
            .as_ref()
            .map(|key| XSalsa20Poly1305::new(key))
            .ok_or_else(|| Error::Proto("CURVE READY before WELCOME".into()))?;
        let n = short_nonce(body, 6, 0)?;
        let metadata = open(
            &sbox,
            b"CurveZMQREADY---",
            &n.to_be_bytes(),
            &body[14..],
            "READY",
        )?;
        let peer = check_metadata(&metadata, self.socket_type)?;
        self.state = State::Done;
        self.ready_nonce = n;
        Ok(Step::Ready(peer))
    }

    /// The traffic cipher, once READY has arrived.
    pub(crate) fn into_cipher(self) -> Option<Cipher> {
        if self.state != State::Done {
            return None;
        }
        let (send, recv) = (self.nonce, self.ready_nonce);
        self.box_key.map(|key| Cipher::new(&key, true, send, recv))
    }
}
