//! Hostile CURVE, PLAIN and NULL peers, case by case: truncated handshake commands at every
//! length, cookies and nonces that do not belong, messages before READY, metadata that does
//! not fit, and ERROR in every client state. Each must end the connection with a defined
//! error (or leave it waiting for more input), never panic, and never let data through.
//!
//! Sessions are deterministic (`TestRng`): a fresh connection built with a recorded
//! session's seeds draws the same keys, so the recorded bytes replay against it and one
//! command at a time can be taken out or changed.

use crypto_box::aead::AeadInPlace;
use crypto_box::SalsaBox;

use super::tests::{curve_pair, keys, plain_pair, run, Peer, Zap};
use crate::error::Error;
use crate::msg::Msg;
use crate::security::{KeyPair, Random, SecretKey, Security};
use crate::socket_type::SocketType;
use crate::zmtp::{greeting_bytes, Auth, Config, Connection, Event};

const GREETING: usize = 64;
const CURVE_SERVER_SEED: u64 = 3;
const CURVE_CLIENT_SEED: u64 = 4;

/// One frame of a recorded byte stream: where its header starts, its flags, its body.
struct Frame {
    at: usize,
    flags: u8,
    body: Vec<u8>,
}

/// The frames after the greeting (docs/wire.md: flags, then a 1-byte or, with bit 1 of the
/// flags, an 8-byte length).
fn frames(stream: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut at = GREETING;
    while at < stream.len() {
        let flags = stream[at];
        let (len, head) = if flags & 0x02 != 0 {
            let len = u64::from_be_bytes(stream[at + 1..at + 9].try_into().unwrap());
            (usize::try_from(len).unwrap(), 9)
        } else {
            (usize::from(stream[at + 1]), 2)
        };
        out.push(Frame {
            at,
            flags,
            body: stream[at + head..at + head + len].to_vec(),
        });
        at += head + len;
    }
    out
}

/// A frame with `flags` (COMMAND, maybe) around `body`, short or long as its size needs.
fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + body.len());
    match u8::try_from(body.len()) {
        Ok(len) => out.extend_from_slice(&[flags, len]),
        Err(_) => {
            out.push(flags | 0x02);
            out.extend_from_slice(&(body.len() as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(body);
    out
}

fn command_frame(body: &[u8]) -> Vec<u8> {
    frame(0x04, body)
}

/// A complete CURVE session (handshake, then a message each way and a second one from the
/// client): what each side wrote.
fn curve_session() -> (Vec<u8>, Vec<u8>) {
    let (mut client, mut server, _) = curve_pair(Zap::None);
    run(&mut client, &mut server);
    client.conn.send_msg(&Msg::copy_from_slice(b"first"));
    server.conn.send_msg(&Msg::copy_from_slice(b"answer"));
    run(&mut client, &mut server);
    client.conn.send_msg(&Msg::copy_from_slice(b"second"));
    run(&mut client, &mut server);
    assert_eq!(server.inbox.len(), 2, "{:?}", server.err);
    (client.sent, server.sent)
}

/// A fresh CURVE server that draws what the recorded one drew.
fn curve_server() -> Peer {
    Peer::new(
        SocketType::Router,
        Security::CurveServer { keys: keys(1) },
        Zap::None,
        CURVE_SERVER_SEED,
    )
}

/// A fresh CURVE client that draws what the recorded one drew (so its HELLO is the same).
fn curve_client() -> Peer {
    Peer::new(
        SocketType::Dealer,
        Security::CurveClient {
            keys: keys(2),
            server: keys(1).public,
        },
        Zap::None,
        CURVE_CLIENT_SEED,
    )
}

/// Feeds `victim()` the recorded `stream` up to command `index`, then that command cut at
/// every length, in two ways: a complete frame around a truncated body (a peer that lies
/// about the command) must fail with a protocol error; the frame itself cut short (bytes
/// still on their way) must leave the connection waiting, without error or progress.
fn check_truncations(stream: &[u8], index: usize, name: &[u8], victim: impl Fn() -> Peer) {
    let all = frames(stream);
    let command = &all[index];
    assert_eq!(&command.body[1..1 + name.len()], name);
    let before = &stream[..command.at];
    let encoded = frame(command.flags, &command.body);
    for len in 0..command.body.len() {
        let mut peer = victim();
        peer.input(before);
        assert!(
            peer.err.is_none(),
            "the prefix alone failed: {:?}",
            peer.err
        );
        peer.input(&command_frame(&command.body[..len]));
        assert!(
            matches!(peer.err, Some(Error::Proto(_))),
            "{name:?} cut to {len} bytes: {:?}",
            peer.err
        );
        assert!(peer.ready.is_none() && peer.inbox.is_empty());
    }
    // Byte by byte into one connection: after each byte it has seen every shorter prefix.
    let mut peer = victim();
    peer.input(before);
    peer.output();
    for (len, byte) in encoded.iter().enumerate().take(encoded.len() - 1) {
        peer.input(&[*byte]);
        assert!(
            peer.err.is_none(),
            "{name:?} frame cut at {len}: {:?}",
            peer.err
        );
        assert!(peer.ready.is_none() && peer.zap_requests.is_empty());
        assert!(peer.output().is_empty(), "answered a partial {name:?}");
    }
    // The last byte completes it: the waiting was for this command, not a wedged state.
    peer.input(&encoded[encoded.len() - 1..]);
    assert!(peer.err.is_none(), "{name:?}: {:?}", peer.err);
    assert!(
        !peer.output().is_empty() || peer.ready.is_some(),
        "a whole {name:?} was not answered"
    );
}

/// RFC 26 fixes the size of HELLO (200 bytes) and WELCOME (168), and INITIATE and READY hold
/// boxes whose authenticator covers every byte: a truncated command of any length is a
/// protocol error (libzmq closes with EPROTO), and a frame still arriving is waited for.
#[test]
fn truncated_curve_commands_fail_or_wait_at_every_length() {
    let (client_stream, server_stream) = curve_session();
    check_truncations(&client_stream, 0, b"HELLO", curve_server);
    check_truncations(&client_stream, 1, b"INITIATE", curve_server);
    check_truncations(&server_stream, 0, b"WELCOME", curve_client);
    check_truncations(&server_stream, 1, b"READY", curve_client);
}

/// RFC 26: the cookie in INITIATE must be the one this server sent in its WELCOME (it holds
/// C' and s' under a key of this connection only). An INITIATE made for another connection,
/// or one carrying another connection's cookie, is refused, even from the same client with
/// the same short-term key and to a server with the same long-term key.
#[test]
fn initiate_with_another_connections_cookie_is_refused() {
    let (stream_a, _) = curve_session();
    let initiate_a = frames(&stream_a).remove(1);
    let hello_end = initiate_a.at;

    let other_server = || {
        Peer::new(
            SocketType::Router,
            Security::CurveServer { keys: keys(1) },
            Zap::None,
            33,
        )
    };
    // Connection A's whole INITIATE.
    let mut server_b = other_server();
    server_b.input(&stream_a[..hello_end]);
    assert!(server_b.err.is_none());
    server_b.input(&command_frame(&initiate_a.body));
    assert!(
        matches!(server_b.err, Some(Error::Proto(ref why)) if why.contains("cookie")),
        "{:?}",
        server_b.err
    );
    assert!(server_b.ready.is_none() && server_b.zap_requests.is_empty());

    // Connection B's own INITIATE with A's cookie in it.
    let mut server_b = other_server();
    let mut client_b = curve_client();
    run(&mut client_b, &mut server_b);
    assert!(server_b.ready.is_some(), "{:?}", server_b.err);
    let initiate_b = frames(&client_b.sent).remove(1);
    let mut forged = initiate_b.body.clone();
    forged[9..105].copy_from_slice(&initiate_a.body[9..105]);
    assert_ne!(
        forged, initiate_b.body,
        "the two connections share a cookie"
    );
    let mut server_b = other_server();
    server_b.input(&client_b.sent[..initiate_b.at]);
    server_b.input(&command_frame(&forged));
    assert!(
        matches!(server_b.err, Some(Error::Proto(ref why)) if why.contains("cookie")),
        "{:?}",
        server_b.err
    );
    assert!(server_b.ready.is_none());
}

/// RFC 26: short nonces strictly increase in each direction; libzmq closes on one that does
/// not. A MESSAGE delivered after a later one (a reordering or a replay by someone on the
/// path) is refused, and the earlier message is not delivered.
#[test]
fn decreasing_message_nonce_is_refused() {
    let (client_stream, _) = curve_session();
    let all = frames(&client_stream);
    // HELLO, INITIATE, PING-free traffic: "first", then "second".
    let (first, second) = (&all[2], &all[3]);
    let mut server = curve_server();
    server.input(&client_stream[..first.at]);
    assert!(server.ready.is_some(), "{:?}", server.err);
    server.input(&frame(second.flags, &second.body));
    assert_eq!(server.inbox.len(), 1, "{:?}", server.err);
    assert_eq!(server.inbox[0].as_slice(), b"second");
    server.input(&frame(first.flags, &first.body));
    assert!(
        matches!(server.err, Some(Error::Proto(ref why)) if why.contains("replayed")),
        "{:?}",
        server.err
    );
    assert_eq!(server.inbox.len(), 1, "the older message was delivered");
}

/// RFC 26: INITIATE's short nonce continues the client's sequence after HELLO's, so one not
/// above HELLO's is refused, as a replayed or reordered command.
#[test]
fn initiate_nonce_not_above_hello_is_refused() {
    for (hello_nonce, initiate_nonce) in [(5, 5), (5, 4), (u64::MAX, 1)] {
        let mut server = curve_server();
        let mut client = RawCurveClient::new(&mut server, hello_nonce);
        let initiate = client.initiate(initiate_nonce, &client.metadata(b"DEALER"));
        server.input(&command_frame(&initiate));
        assert!(
            matches!(server.err, Some(Error::Proto(ref why)) if why.contains("replayed")),
            "{hello_nonce} then {initiate_nonce}: {:?}",
            server.err
        );
        assert!(server.zap_requests.is_empty());
    }
    // The same client with increasing nonces gets through: the refusals above are the nonce's.
    let mut server = curve_server();
    let mut client = RawCurveClient::new(&mut server, 5);
    let initiate = client.initiate(6, &client.metadata(b"DEALER"));
    server.input(&command_frame(&initiate));
    assert!(server.ready.is_some(), "{:?}", server.err);
}

/// RFC 26: MESSAGE is valid only once the handshake is over (the client sends it after
/// READY, the server after sending READY). A genuine MESSAGE in place of INITIATE, while the
/// server waits for ZAP, or in place of READY at the client, is a protocol error, whether it
/// comes as a data frame (libzmq's framing) or as a command frame, and nothing is delivered.
#[test]
fn message_before_ready_is_refused() {
    let (client_stream, server_stream) = curve_session();
    let client_frames = frames(&client_stream);
    let server_frames = frames(&server_stream);
    let client_msg = &client_frames[2];
    let server_msg = &server_frames[2];
    assert_eq!(&client_msg.body[..8], b"\x07MESSAGE");
    assert_eq!(&server_msg.body[..8], b"\x07MESSAGE");

    for flags in [0x00, 0x04] {
        // Server, expecting INITIATE.
        let mut server = curve_server();
        server.input(&client_stream[..client_frames[1].at]);
        server.input(&frame(flags, &client_msg.body));
        assert!(
            matches!(server.err, Some(Error::Proto(_))),
            "{:?}",
            server.err
        );
        assert!(server.inbox.is_empty() && server.ready.is_none());

        // Server, INITIATE taken, ZAP not answered yet.
        let mut config = Config::new(SocketType::Router);
        config.auth.security = Security::CurveServer { keys: keys(1) };
        let mut conn =
            Connection::with_random(config, &mut super::tests::TestRng(CURVE_SERVER_SEED));
        conn.handle_input(&client_stream[..client_msg.at]).unwrap();
        assert!(matches!(conn.poll_event(), Some(Event::Zap(_))));
        assert!(conn.handle_input(&frame(flags, &client_msg.body)).is_err());
        assert!(conn.poll_msg().is_err() && !conn.is_ready());

        // Client, expecting READY.
        let mut client = curve_client();
        client.input(&server_stream[..server_frames[1].at]);
        assert!(client.err.is_none(), "{:?}", client.err);
        client.input(&frame(flags, &server_msg.body));
        assert!(
            matches!(client.err, Some(Error::Proto(_))),
            "{:?}",
            client.err
        );
        assert!(client.inbox.is_empty() && client.ready.is_none());
    }
}

/// INITIATE's metadata is parsed as READY's (RFC 23's metadata, libzmq's `parse_metadata`):
/// a property whose announced value length runs past the box, or a stray byte after the last
/// property, is refused before ZAP is asked; a large value that fits (a 100 kB routing id) is
/// accepted and reaches the peer info whole.
#[test]
fn oversize_metadata_in_initiate() {
    let mut huge_length = b"\x0bSocket-Type\x00\x00\x00\x06DEALER".to_vec();
    huge_length.extend_from_slice(b"\x08Identity\xff\xff\xff\xffabc");
    let mut past_the_end = b"\x0bSocket-Type\x00\x00\x00\x06DEALER".to_vec();
    past_the_end.extend_from_slice(b"\x08Identity\x00\x00\x01\x00abc");
    let mut stray_byte = b"\x0bSocket-Type\x00\x00\x00\x06DEALER".to_vec();
    stray_byte.push(0x01);
    for metadata in [huge_length, past_the_end, stray_byte] {
        let mut server = curve_server();
        let mut client = RawCurveClient::new(&mut server, 1);
        let initiate = client.initiate(2, &metadata);
        server.input(&command_frame(&initiate));
        assert!(
            matches!(server.err, Some(Error::Proto(ref why)) if why.contains("metadata")),
            "{:?}",
            server.err
        );
        assert!(server.zap_requests.is_empty() && server.ready.is_none());
    }

    // Large but well-formed: through the real client, with a 100 kB routing id.
    let mut config = Config::new(SocketType::Dealer);
    config.identity = bytes::Bytes::from(vec![b'i'; 100_000]);
    config.auth = Auth {
        security: Security::CurveClient {
            keys: keys(2),
            server: keys(1).public,
        },
        ..Auth::default()
    };
    let mut client = Peer::with_config(config, Zap::None, CURVE_CLIENT_SEED);
    let mut server = curve_server();
    run(&mut client, &mut server);
    let info = server.ready.as_ref().expect("large metadata refused");
    assert_eq!(info.identity.len(), 100_000);
}

/// RFC 26: WELCOME is exactly 168 bytes; libzmq refuses any other size before opening the
/// box. One byte more or less is a protocol error, as is the right size with a box that
/// does not open (a WELCOME not made for this client's HELLO).
#[test]
fn welcome_with_wrong_length_is_refused() {
    let (_, server_stream) = curve_session();
    let welcome = frames(&server_stream).remove(0);
    assert_eq!(welcome.body.len(), 168);
    let mut longer = welcome.body.clone();
    longer.push(0);
    let shorter = welcome.body[..167].to_vec();
    let mut tampered = welcome.body.clone();
    tampered[100] ^= 1;
    for (body, why) in [
        (longer, "malformed"),
        (shorter, "malformed"),
        (tampered, "does not open"),
    ] {
        let mut client = curve_client();
        client.input(&server_stream[..welcome.at]);
        client.input(&command_frame(&body));
        assert!(
            matches!(client.err, Some(Error::Proto(ref e)) if e.contains(why)),
            "{:?}",
            client.err
        );
        assert!(client.ready.is_none());
        // No INITIATE went out: the client's output is its greeting and HELLO only.
        assert_eq!(frames(&client.output()).len(), 1);
    }
}

/// An ERROR command in plain text, as a server sends it during the handshake.
fn error_frame(reason: &[u8]) -> Vec<u8> {
    let mut body = b"\x05ERROR".to_vec();
    body.push(reason.len() as u8);
    body.extend_from_slice(reason);
    command_frame(&body)
}

/// libzmq (`handle_error_reason`): an ERROR whose reason is a ZAP status code 300, 400 or
/// 500 is an authentication failure with that code, in every state of the client's
/// handshake (RFC 26 and RFC 24: the server may answer HELLO or INITIATE with ERROR; RFC 23
/// for NULL and for ERROR after the handshake; RFC 27 for the codes). Other reasons, even of
/// three digits, are protocol errors.
#[test]
fn error_with_a_zap_code_in_each_client_state_is_an_auth_failure() {
    let (_, curve_stream) = curve_session();
    let welcome_at = frames(&curve_stream)[0].at;
    let ready_at = frames(&curve_stream)[1].at;
    let (mut plain_client, mut plain_server) = plain_pair(Zap::Status(b"200"));
    run(&mut plain_client, &mut plain_server);
    let plain_stream = plain_server.sent.clone();
    let plain_frames = frames(&plain_stream);

    type MakeClient = Box<dyn Fn() -> Peer>;
    let plain = || plain_pair(Zap::None).0;
    let null = || Peer::new(SocketType::Push, Security::Null, Zap::None, 20);
    let null_greeting = greeting_bytes("NULL", 0).to_vec();
    let cases: Vec<(&str, MakeClient, Vec<u8>)> = vec![
        (
            "CURVE expecting WELCOME",
            Box::new(curve_client),
            curve_stream[..welcome_at].to_vec(),
        ),
        (
            "CURVE expecting READY",
            Box::new(curve_client),
            curve_stream[..ready_at].to_vec(),
        ),
        (
            "PLAIN expecting WELCOME",
            Box::new(plain),
            plain_stream[..plain_frames[0].at].to_vec(),
        ),
        (
            "PLAIN expecting READY",
            Box::new(plain),
            plain_stream[..plain_frames[1].at].to_vec(),
        ),
        (
            "PLAIN after the handshake",
            Box::new(plain),
            plain_stream.clone(),
        ),
        (
            "NULL expecting READY",
            Box::new(null),
            null_greeting.clone(),
        ),
        (
            "NULL after the handshake",
            Box::new(null),
            [
                null_greeting,
                crate::zmtp::ready_frame(SocketType::Pull, b""),
            ]
            .concat(),
        ),
    ];
    for (state, make, before) in &cases {
        for (reason, want) in [
            (&b"300"[..], Some(300)),
            (b"400", Some(400)),
            (b"500", Some(500)),
            (b"200", None),
            (b"401", None),
            (b"999", None),
        ] {
            let mut client = make();
            client.input(before);
            assert!(client.err.is_none(), "{state}: {:?}", client.err);
            client.input(&error_frame(reason));
            match want {
                Some(code) => assert_eq!(client.err, Some(Error::Auth(code)), "{state}"),
                None => assert!(
                    matches!(client.err, Some(Error::Proto(_))),
                    "{state} {reason:?}: {:?}",
                    client.err
                ),
            }
            assert!(client.inbox.is_empty());
        }
    }
}

/// After the CURVE handshake every frame must be a MESSAGE box (RFC 26): an ERROR in plain
/// text, which anyone on the path could inject, is a protocol error and never reads as the
/// server's authentication verdict.
#[test]
fn unboxed_error_after_the_curve_handshake_is_a_protocol_error() {
    let (_, server_stream) = curve_session();
    let mut client = curve_client();
    client.input(&server_stream[..frames(&server_stream)[2].at]);
    assert!(client.ready.is_some(), "{:?}", client.err);
    client.input(&error_frame(b"400"));
    assert!(
        matches!(client.err, Some(Error::Proto(_))),
        "{:?}",
        client.err
    );
}

/// A CURVE client written out by hand from RFC 26, so that a test can send what the real
/// client never would: its own nonces, and INITIATE with any metadata.
struct RawCurveClient {
    transient: SecretKey,
    long_term: KeyPair,
    server_transient: crypto_box::PublicKey,
    cookie: Vec<u8>,
}

fn salsa_box(public: &[u8; 32], secret: &SecretKey) -> SalsaBox {
    SalsaBox::new(
        &crypto_box::PublicKey::from_bytes(*public),
        &crypto_box::SecretKey::from_bytes(*secret.as_bytes()),
    )
}

fn nonce(prefix: &[u8], tail: &[u8]) -> crypto_box::Nonce {
    let mut n = crypto_box::Nonce::default();
    n[..prefix.len()].copy_from_slice(prefix);
    n[prefix.len()..].copy_from_slice(tail);
    n
}

/// NaCl's box layout: authenticator, then ciphertext.
fn seal(b: &SalsaBox, prefix: &[u8], tail: &[u8], plain: &[u8]) -> Vec<u8> {
    let mut ct = plain.to_vec();
    let tag = b
        .encrypt_in_place_detached(&nonce(prefix, tail), b"", &mut ct)
        .unwrap();
    [tag.as_slice(), &ct].concat()
}

impl RawCurveClient {
    /// Sends greeting and HELLO (with short nonce `hello_nonce`) to `server` and reads its
    /// WELCOME.
    fn new(server: &mut Peer, hello_nonce: u64) -> RawCurveClient {
        let transient = SecretKey::generate(&mut super::tests::TestRng(77)).unwrap();
        let server_public = keys(1).public;
        let hello_box = salsa_box(server_public.as_bytes(), &transient);
        let n = hello_nonce.to_be_bytes();
        let mut hello = b"\x05HELLO\x01\x00".to_vec();
        hello.resize(8 + 72, 0);
        hello.extend_from_slice(transient.public_key().as_bytes());
        hello.extend_from_slice(&n);
        hello.extend_from_slice(&seal(&hello_box, b"CurveZMQHELLO---", &n, &[0; 64]));
        let mut bytes = greeting_bytes("CURVE", 0).to_vec();
        bytes.extend_from_slice(&command_frame(&hello));
        server.input(&bytes);
        assert!(server.err.is_none(), "{:?}", server.err);
        let welcome = frames(&server.output()).remove(0).body;
        let mut plain = welcome[40..].to_vec();
        let tag = crypto_box::Tag::clone_from_slice(&welcome[24..40]);
        hello_box
            .decrypt_in_place_detached(&nonce(b"WELCOME-", &welcome[8..24]), b"", &mut plain, &tag)
            .unwrap();
        RawCurveClient {
            transient,
            long_term: keys(2),
            server_transient: crypto_box::PublicKey::from_bytes(plain[..32].try_into().unwrap()),
            cookie: plain[32..].to_vec(),
        }
    }

    /// The metadata the real client sends: `Socket-Type` and an empty `Identity`.
    fn metadata(&self, socket_type: &[u8]) -> Vec<u8> {
        let mut m = b"\x0bSocket-Type".to_vec();
        m.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
        m.extend_from_slice(socket_type);
        m.extend_from_slice(b"\x08Identity\x00\x00\x00\x00");
        m
    }

    /// INITIATE with short nonce `n` and `metadata` as it is, vouch and cookie genuine.
    fn initiate(&mut self, n: u64, metadata: &[u8]) -> Vec<u8> {
        let server_t = *self.server_transient.as_bytes();
        let mut vouch_nonce = [0u8; 16];
        super::tests::TestRng(78).fill(&mut vouch_nonce).unwrap();
        let vouched = [
            self.transient.public_key().as_bytes().as_slice(),
            keys(1).public.as_bytes(),
        ]
        .concat();
        let vouch = seal(
            &salsa_box(&server_t, &self.long_term.secret),
            b"VOUCH---",
            &vouch_nonce,
            &vouched,
        );
        let plain = [
            self.long_term.public.as_bytes().as_slice(),
            &vouch_nonce,
            &vouch,
            metadata,
        ]
        .concat();
        let n = n.to_be_bytes();
        let sealed = seal(
            &salsa_box(&server_t, &self.transient),
            b"CurveZMQINITIATE",
            &n,
            &plain,
        );
        [&b"\x08INITIATE"[..], &self.cookie, &n, &sealed].concat()
    }
}
