//! NULL, PLAIN and CURVE between two ZMTP connections in memory, with ZAP answered by the
//! test, and hostile handshakes one by one: each must end that connection with a defined
//! error, never a panic, and never let data through.

use bytes::Bytes;

use super::Auth;
use crate::error::Error;
use crate::msg::Msg;
use crate::security::{KeyPair, PublicKey, Random, Security};
use crate::socket_type::SocketType;
use crate::zap::{ZapOutcome, ZapReply};
use crate::zmtp::{Config, Connection, Event};

/// A deterministic generator: tests must be repeatable; the hosts pass OS randomness.
pub(super) struct TestRng(pub(super) u64);

impl Random for TestRng {
    fn fill(&mut self, buf: &mut [u8]) -> crate::Result<()> {
        for b in buf {
            // xorshift64*
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            *b = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
        Ok(())
    }
}

pub(super) fn keys(seed: u64) -> KeyPair {
    KeyPair::generate(&mut TestRng(seed)).unwrap()
}

/// How the test answers ZAP requests.
#[derive(Clone)]
pub(super) enum Zap {
    None,
    Status(&'static [u8]),
}

pub(super) struct Peer {
    pub(super) conn: Connection,
    pub(super) zap: Zap,
    pub(super) inbox: Vec<Msg>,
    pub(super) ready: Option<crate::zmtp::PeerInfo>,
    pub(super) zap_requests: Vec<crate::zap::ZapRequest>,
    pub(super) err: Option<Error>,
    /// Every byte this side wrote.
    pub(super) sent: Vec<u8>,
}

impl Peer {
    pub(super) fn new(socket_type: SocketType, security: Security, zap: Zap, seed: u64) -> Peer {
        let mut config = Config::new(socket_type);
        config.auth = Auth {
            security,
            ..Auth::default()
        };
        Peer::with_config(config, zap, seed)
    }

    pub(super) fn with_config(config: Config, zap: Zap, seed: u64) -> Peer {
        Peer {
            conn: Connection::with_random(config, &mut TestRng(seed)),
            zap,
            inbox: Vec::new(),
            ready: None,
            zap_requests: Vec::new(),
            err: None,
            sent: Vec::new(),
        }
    }

    pub(super) fn output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.transmit_len() > 0 {
            let chunk = self.conn.transmit_chunk().to_vec();
            self.conn.advance_transmit(chunk.len());
            out.extend_from_slice(&chunk);
        }
        self.sent.extend_from_slice(&out);
        out
    }

    pub(super) fn input(&mut self, bytes: &[u8]) {
        if self.err.is_some() || bytes.is_empty() {
            return;
        }
        if let Err(e) = self.conn.handle_input(bytes) {
            self.err = Some(e);
        }
        self.settle();
    }

    pub(super) fn settle(&mut self) {
        while let Some(event) = self.conn.poll_event() {
            match event {
                Event::Ready(info) => self.ready = Some(info),
                Event::Zap(request) => {
                    self.zap_requests.push(request);
                    let outcome = match self.zap {
                        Zap::None => ZapOutcome::NoHandler,
                        Zap::Status(status) => ZapOutcome::Reply(ZapReply {
                            status: std::str::from_utf8(status).unwrap().parse().unwrap(),
                            user_id: Bytes::from_static(b"alice"),
                            metadata: Bytes::from_static(b"\x07X-Group\x00\x00\x00\x05admin"),
                        }),
                    };
                    if let Err(e) = self.conn.handle_zap(outcome) {
                        self.err = Some(e);
                    }
                }
            }
        }
        loop {
            match self.conn.poll_msg() {
                Ok(Some(msg)) => self.inbox.push(msg),
                Ok(None) => break,
                Err(e) => {
                    self.err = Some(e);
                    break;
                }
            }
        }
    }
}

/// Moves bytes both ways until neither side has anything to say.
pub(super) fn run(a: &mut Peer, b: &mut Peer) {
    a.settle();
    b.settle();
    loop {
        let ab = a.output();
        let ba = b.output();
        if ab.is_empty() && ba.is_empty() {
            return;
        }
        b.input(&ab);
        a.input(&ba);
    }
}

pub(super) fn curve_pair(server_zap: Zap) -> (Peer, Peer, KeyPair) {
    let server_keys = keys(1);
    let client_keys = keys(2);
    let server = Peer::new(
        SocketType::Router,
        Security::CurveServer {
            keys: server_keys.clone(),
        },
        server_zap,
        3,
    );
    let client = Peer::new(
        SocketType::Dealer,
        Security::CurveClient {
            keys: client_keys.clone(),
            server: server_keys.public,
        },
        Zap::None,
        4,
    );
    (client, server, client_keys)
}

pub(super) fn plain_pair(server_zap: Zap) -> (Peer, Peer) {
    let client = Peer::new(
        SocketType::Push,
        Security::PlainClient {
            username: Bytes::from_static(b"admin"),
            password: zeroize::Zeroizing::new(b"secret".to_vec()),
        },
        Zap::None,
        5,
    );
    let server = Peer::new(SocketType::Pull, Security::PlainServer, server_zap, 6);
    (client, server)
}

fn exchange(a: &mut Peer, b: &mut Peer) {
    a.conn
        .send_msg(&Msg::copy_from_slice(b"small").with_more(true));
    a.conn
        .send_msg(&Msg::from_bytes(Bytes::from(vec![7u8; 70_000])));
    run(a, b);
    assert_eq!(b.inbox.len(), 2, "{:?}", b.err);
    assert!(b.inbox[0].more() && !b.inbox[1].more());
    assert_eq!(b.inbox[0].as_slice(), b"small");
    assert_eq!(b.inbox[1].len(), 70_000);
}

/// RFC 26: after HELLO/WELCOME/INITIATE/READY both sides exchange MESSAGE boxes; MORE
/// travels inside the box; ZAP (here: no handler) lets any client in (libzmq's rule).
#[test]
fn curve_handshake_then_messages_both_ways() {
    let (mut client, mut server, client_keys) = curve_pair(Zap::None);
    run(&mut client, &mut server);
    assert!(
        client.err.is_none() && server.err.is_none(),
        "{:?} {:?}",
        client.err,
        server.err
    );
    assert_eq!(
        server.ready.as_ref().unwrap().socket_type,
        Some(SocketType::Dealer)
    );
    assert_eq!(
        client.ready.as_ref().unwrap().socket_type,
        Some(SocketType::Router)
    );
    assert_eq!(server.zap_requests.len(), 1);
    assert_eq!(server.zap_requests[0].mechanism, "CURVE");
    assert_eq!(
        server.zap_requests[0].credentials,
        vec![Bytes::copy_from_slice(client_keys.public.as_bytes())]
    );
    assert!(client.conn.is_encrypted() && server.conn.is_encrypted());
    exchange(&mut client, &mut server);
    exchange(&mut server, &mut client);
}

/// RFC 26 sizes: HELLO 200 bytes, WELCOME 168, INITIATE ≥ 257 (docs/security.md); MESSAGE
/// goes out with outer flags 0x00/0x02 (libzmq), and no plaintext is on the wire.
#[test]
fn curve_commands_have_the_rfc_sizes_and_hide_the_payload() {
    let (mut client, mut server, _) = curve_pair(Zap::None);
    run(&mut client, &mut server);
    // Client: greeting (64 bytes), HELLO in a short command frame, INITIATE in a long one.
    let c = &client.sent;
    assert_eq!(&c[64..66], &[0x04, 200]);
    assert_eq!(&c[66..72], b"\x05HELLO");
    let initiate_at = 64 + 2 + 200;
    assert_eq!(c[initiate_at], 0x06);
    let len = u64::from_be_bytes(c[initiate_at + 1..initiate_at + 9].try_into().unwrap());
    assert!(len >= 257);
    assert_eq!(&c[initiate_at + 9..initiate_at + 18], b"\x08INITIATE");
    let s = &server.sent;
    assert_eq!(&s[64..66], &[0x04, 168]);
    assert_eq!(&s[66..74], b"\x07WELCOME");
    let before = client.sent.len();
    client
        .conn
        .send_msg(&Msg::copy_from_slice(b"PLAINTEXT-PAYLOAD"));
    run(&mut client, &mut server);
    let wire = &client.sent[before..];
    assert_eq!(
        wire[0], 0x00,
        "MESSAGE is an ordinary frame, as libzmq sends it"
    );
    assert_eq!(&wire[2..10], b"\x07MESSAGE");
    assert!(!wire.windows(9).any(|w| w == b"PLAINTEXT"));
    assert_eq!(server.inbox[0].as_slice(), b"PLAINTEXT-PAYLOAD");
}

/// ZAP 200: the reply's user id and metadata become properties of the peer (User-Id, as
/// libzmq's `zmq_msg_gets`).
#[test]
fn zap_user_id_and_metadata_reach_the_peer_info() {
    let (mut client, mut server, _) = curve_pair(Zap::Status(b"200"));
    run(&mut client, &mut server);
    let props = &server.ready.as_ref().unwrap().properties;
    assert!(props.contains(&("User-Id".into(), Bytes::from_static(b"alice"))));
    assert!(props.contains(&("X-Group".into(), Bytes::from_static(b"admin"))));
}

/// libzmq: ZAP 400/500 → ERROR with the code, then close; the client reports an
/// authentication failure with that code. 300 → silent close.
#[test]
fn zap_denial_sends_error_with_the_status_code() {
    for (status, code) in [(&b"400"[..], 400), (b"500", 500)] {
        let (mut client, mut server, _) = curve_pair(Zap::Status(status));
        run(&mut client, &mut server);
        assert_eq!(server.err, Some(Error::Auth(code)));
        assert_eq!(client.err, Some(Error::Auth(code)));
        assert!(client.ready.is_none() && server.ready.is_none());
    }
    let (mut client, mut server, _) = curve_pair(Zap::Status(b"300"));
    run(&mut client, &mut server);
    assert_eq!(server.err, Some(Error::Auth(300)));
    assert_eq!(client.err, None, "300 closes without ERROR");
    assert!(client.ready.is_none());
}

/// RFC 24 with libzmq's rule: the PLAIN server asks ZAP, which sees the username and
/// password; without a handler the handshake fails.
#[test]
fn plain_needs_zap_and_passes_credentials() {
    let (mut client, mut server) = plain_pair(Zap::Status(b"200"));
    run(&mut client, &mut server);
    assert!(server.err.is_none() && client.err.is_none());
    let request = &server.zap_requests[0];
    assert_eq!(request.mechanism, "PLAIN");
    assert_eq!(
        request.credentials,
        vec![Bytes::from_static(b"admin"), Bytes::from_static(b"secret")]
    );
    exchange(&mut client, &mut server);
    assert!(!client.conn.is_encrypted());

    let (mut client, mut server) = plain_pair(Zap::None);
    run(&mut client, &mut server);
    assert_eq!(server.err, Some(Error::Auth(0)));
    assert!(client.ready.is_none());

    let (mut client, mut server) = plain_pair(Zap::Status(b"400"));
    run(&mut client, &mut server);
    assert_eq!(client.err, Some(Error::Auth(400)));
}

/// libzmq's PLAIN server writes ERROR as `5E 'RROR' 03 '400'`; our client reads it.
#[test]
fn plain_client_understands_libzmqs_malformed_error() {
    let (mut client, _) = plain_pair(Zap::None);
    let mut greeting = crate::zmtp::greeting_bytes("PLAIN", 0).to_vec();
    greeting.extend_from_slice(&[
        0x04, 0x09, 0x5E, b'R', b'R', b'O', b'R', 3, b'4', b'0', b'0',
    ]);
    client.input(&greeting);
    assert_eq!(client.err, Some(Error::Auth(400)));
}

/// The greeting's mechanism must match (RFC 23): a CURVE client and a NULL server part.
#[test]
fn mechanism_mismatch_fails_at_the_greeting() {
    let (mut client, _, _) = curve_pair(Zap::None);
    let mut server = Peer::new(SocketType::Router, Security::Null, Zap::None, 7);
    run(&mut client, &mut server);
    assert!(matches!(client.err, Some(Error::Proto(_))));
    assert!(matches!(server.err, Some(Error::Proto(_))));
}

/// The client authenticates the server: a server with another key than CURVE_SERVERKEY
/// cannot open HELLO, and nothing goes further.
#[test]
fn curve_client_refuses_a_server_with_the_wrong_key() {
    let (mut client, _, _) = curve_pair(Zap::None);
    let mut impostor = Peer::new(
        SocketType::Router,
        Security::CurveServer { keys: keys(99) },
        Zap::None,
        8,
    );
    run(&mut client, &mut impostor);
    assert!(matches!(impostor.err, Some(Error::Proto(_))));
    assert!(client.ready.is_none() && impostor.ready.is_none());
}

/// Feeds the server the client's handshake with one byte of one command changed; every
/// such tampering must fail with a protocol error (boxes do not open), never panic.
#[test]
fn tampered_curve_handshakes_fail_cleanly() {
    let (mut client, mut server, _) = curve_pair(Zap::None);
    run(&mut client, &mut server);
    let transcript = client.sent.clone();
    // HELLO body at 66..266; INITIATE after it. Flip bytes in the key, nonce, box, cookie,
    // vouch and metadata areas.
    for at in [
        66 + 80,
        66 + 112,
        66 + 150,
        268 + 20,
        268 + 110,
        268 + 200,
        transcript.len() - 40,
    ] {
        if at >= transcript.len() {
            continue;
        }
        let (_, mut server, _) = curve_pair(Zap::None);
        let mut bytes = transcript.clone();
        bytes[at] ^= 0x20;
        server.input(&bytes);
        assert!(server.err.is_some(), "tampered byte {at} accepted");
        assert!(server.ready.is_none() || at >= 268 + 300);
    }
}

/// A replayed MESSAGE (same short nonce) is refused: RFC 26 nonces strictly increase.
#[test]
fn replayed_curve_message_is_refused() {
    let (mut client, mut server, _) = curve_pair(Zap::None);
    run(&mut client, &mut server);
    let before = client.sent.len();
    client.conn.send_msg(&Msg::copy_from_slice(b"once"));
    run(&mut client, &mut server);
    let frame = client.sent[before..].to_vec();
    assert_eq!(server.inbox.len(), 1);
    server.input(&frame);
    assert!(matches!(server.err, Some(Error::Proto(ref why)) if why.contains("replayed")));
    assert_eq!(server.inbox.len(), 1, "the replay was delivered");
}

/// A client short-term key of low order would give an all-zero shared secret: refused
/// before any box is made (libsodium's beforenm rule).
#[test]
fn low_order_client_key_is_refused() {
    let (_, mut server, _) = curve_pair(Zap::None);
    let mut hello = crate::zmtp::greeting_bytes("CURVE", 0).to_vec();
    hello.extend_from_slice(&[0x04, 200]);
    hello.extend_from_slice(b"\x05HELLO\x01\x00");
    hello.extend_from_slice(&[0u8; 72]);
    hello.extend_from_slice(&[0u8; 32]); // C' = 0, a low-order point
    hello.extend_from_slice(&1u64.to_be_bytes());
    hello.extend_from_slice(&[0u8; 80]);
    server.input(&hello);
    assert!(matches!(server.err, Some(Error::Proto(ref why)) if why.contains("all-zero")));
}

/// Truncated and oversized handshake commands, and data before the handshake, each end the
/// connection with a protocol error.
#[test]
fn malformed_curve_commands_are_protocol_errors() {
    let cases: [&[u8]; 5] = [
        b"\x05HELLO\x01\x00",
        b"\x05HELLO\x02\x00",
        b"\x08INITIATE",
        b"\x05READY",
        b"\x07MESSAGE\x00\x00\x00\x00\x00\x00\x00\x01",
    ];
    for body in cases {
        let (_, mut server, _) = curve_pair(Zap::None);
        let mut bytes = crate::zmtp::greeting_bytes("CURVE", 0).to_vec();
        bytes.extend_from_slice(&[0x04, body.len() as u8]);
        bytes.extend_from_slice(body);
        server.input(&bytes);
        assert!(
            matches!(server.err, Some(Error::Proto(_))),
            "{body:?}: {:?}",
            server.err
        );
    }
    let (_, mut server, _) = curve_pair(Zap::None);
    let mut bytes = crate::zmtp::greeting_bytes("CURVE", 0).to_vec();
    bytes.extend_from_slice(&[0x00, 0x01, b'x']);
    server.input(&bytes);
    assert!(matches!(server.err, Some(Error::Proto(_))));
}

/// NULL with ZAP_DOMAIN set asks ZAP before READY; a denial sends ERROR.
#[test]
fn null_with_zap_domain_asks_zap() {
    let make = |zap: Zap, seed| {
        let mut config = Config::new(SocketType::Pull);
        config.auth = Auth {
            security: Security::Null,
            zap_domain: true,
            zap_enforce: false,
        };
        Peer::with_config(config, zap, seed)
    };
    let mut server = make(Zap::Status(b"200"), 10);
    let mut client = Peer::new(SocketType::Push, Security::Null, Zap::None, 11);
    run(&mut client, &mut server);
    assert!(server.ready.is_some() && client.ready.is_some());
    assert_eq!(server.zap_requests[0].mechanism, "NULL");
    let mut server = make(Zap::Status(b"400"), 12);
    let mut client = Peer::new(SocketType::Push, Security::Null, Zap::None, 13);
    run(&mut client, &mut server);
    assert_eq!(client.err, Some(Error::Auth(400)));
}

/// A CURVE configuration without randomness fails at once instead of using weak keys.
#[test]
fn curve_without_a_random_source_is_refused() {
    let mut config = Config::new(SocketType::Dealer);
    config.auth.security = Security::CurveClient {
        keys: keys(1),
        server: PublicKey::from_bytes([9; 32]),
    };
    let mut conn = Connection::new(config);
    assert!(matches!(conn.handle_input(b""), Err(Error::Inval(_))));
}
