// What the security fuzz targets (curve_server, curve_client, plain) share: a deterministic
// random source, fixed keys, real handshakes recorded once between two connections, edits
// that the fuzz input splices into such a recording, and the loop that feeds a connection
// its input in uneven chunks while checking the rules every connection must keep:
// - nothing panics;
// - once a call has returned an error, every later call returns one too;
// - `Event::Ready` comes at most once, and messages only after it;
// - a second answer to one ZAP request is refused.
#![allow(dead_code)]

use std::sync::OnceLock;

use bytes::{Bytes, BytesMut};
use isomq_core::security::{KeyPair, Random, Security};
use isomq_core::zap::{ZapOutcome, ZapReply};
use isomq_core::zmtp::{greeting_bytes, Auth, Config, Connection, Event, PeerInfo};
use isomq_core::{Msg, SocketType};

/// xorshift64*: the same bytes every run, so that a recorded transcript replays against a
/// fresh connection built with the same seed (the hosts pass OS randomness).
pub struct FuzzRng(pub u64);

impl Random for FuzzRng {
    fn fill(&mut self, buf: &mut [u8]) -> isomq_core::Result<()> {
        for b in buf {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            *b = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
        Ok(())
    }
}

pub const SERVER_KEYS: u64 = 1;
pub const CLIENT_KEYS: u64 = 2;
pub const SERVER_RNG: u64 = 3;
pub const CLIENT_RNG: u64 = 4;

pub fn keys(seed: u64) -> KeyPair {
    match KeyPair::generate(&mut FuzzRng(seed)) {
        Ok(k) => k,
        Err(e) => panic!("the fuzz generator cannot fail: {e}"),
    }
}

/// Key pairs are derived once: each derivation is a scalar multiplication, which would
/// otherwise dominate a run.
fn key_pairs() -> &'static (KeyPair, KeyPair) {
    static KEYS: OnceLock<(KeyPair, KeyPair)> = OnceLock::new();
    KEYS.get_or_init(|| (keys(SERVER_KEYS), keys(CLIENT_KEYS)))
}

pub fn curve_server_security() -> Security {
    Security::CurveServer {
        keys: key_pairs().0.clone(),
    }
}

/// The client's long-term public key, as a CURVE server's ZAP request carries it.
pub fn client_public_key() -> Bytes {
    Bytes::copy_from_slice(key_pairs().1.public.as_bytes())
}

pub fn curve_client_security() -> Security {
    let (server, client) = key_pairs();
    Security::CurveClient {
        keys: client.clone(),
        server: server.public,
    }
}

pub fn plain_client_security() -> Security {
    Security::PlainClient {
        username: Bytes::from_static(b"admin"),
        password: zeroize::Zeroizing::new(b"secret".to_vec()),
    }
}

/// A connection as the targets and the recordings build it: same seed, same draws.
pub fn connection(
    socket_type: SocketType,
    identity: &'static [u8],
    security: Security,
    enforce: bool,
    max_msg_size: Option<u64>,
    rng_seed: u64,
) -> Connection {
    let mut config = Config::new(socket_type);
    config.identity = Bytes::from_static(identity);
    config.max_msg_size = max_msg_size;
    config.auth = Auth {
        security,
        zap_domain: false,
        zap_enforce: enforce,
    };
    Connection::with_random(config, &mut FuzzRng(rng_seed))
}

/// A message as the checks compare them.
pub type MsgKey = (bool, Vec<u8>);

fn key(msg: &Msg) -> MsgKey {
    (msg.more(), msg.to_vec())
}

/// What each side wrote during a recorded session, one segment per round of the exchange,
/// and the data messages it sent once the handshake was over.
pub struct Recording {
    pub client: Vec<Vec<u8>>,
    pub server: Vec<Vec<u8>>,
    pub client_msgs: Vec<MsgKey>,
    pub server_msgs: Vec<MsgKey>,
}

fn take_output(conn: &mut Connection) -> Vec<u8> {
    let mut out = Vec::new();
    while conn.transmit_len() > 0 {
        let chunk = conn.transmit_chunk().to_vec();
        conn.advance_transmit(chunk.len());
        out.extend_from_slice(&chunk);
    }
    out
}

fn settle(conn: &mut Connection, zap: &ZapOutcome, ready: &mut bool) {
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Ready(_) => *ready = true,
            Event::Zap(_) => assert!(conn.handle_zap(zap.clone()).is_ok(), "recording refused"),
            _ => {}
        }
    }
    while let Ok(Some(_)) = conn.poll_msg() {}
}

/// The messages each side sends after the handshake: a two-part message, a long frame (its
/// MESSAGE box needs a long frame header), and a PING whose PONG the peer sends back.
fn send_traffic(conn: &mut Connection, sent: &mut Vec<MsgKey>) {
    let msgs = [
        Msg::copy_from_slice(b"hello").with_more(true),
        Msg::copy_from_slice(b"world"),
        Msg::copy_from_slice(&[0x5a; 300]),
    ];
    for msg in &msgs {
        conn.send_msg(msg);
        sent.push(key(msg));
    }
    conn.send_ping(50, b"ctx");
}

/// Runs a whole session between `client` and `server`, answering the server's ZAP request
/// with `zap`, then a little traffic both ways.
pub fn record(mut client: Connection, mut server: Connection, zap: ZapOutcome) -> Recording {
    let mut rec = Recording {
        client: Vec::new(),
        server: Vec::new(),
        client_msgs: Vec::new(),
        server_msgs: Vec::new(),
    };
    let (mut client_ready, mut server_ready, mut traffic_sent) = (false, false, false);
    for _ in 0..32 {
        let c = take_output(&mut client);
        let s = take_output(&mut server);
        if c.is_empty() && s.is_empty() {
            if client_ready && server_ready && !traffic_sent {
                send_traffic(&mut client, &mut rec.client_msgs);
                send_traffic(&mut server, &mut rec.server_msgs);
                traffic_sent = true;
                continue;
            }
            break;
        }
        if !c.is_empty() {
            assert!(server.handle_input(&c).is_ok(), "recording failed");
            rec.client.push(c);
        }
        if !s.is_empty() {
            assert!(client.handle_input(&s).is_ok(), "recording failed");
            rec.server.push(s);
        }
        settle(&mut server, &zap, &mut server_ready);
        settle(&mut client, &zap, &mut client_ready);
    }
    assert!(traffic_sent, "the recorded handshake did not complete");
    rec
}

/// The CURVE session the curve targets replay: a DEALER client and a ROUTER server, ZAP
/// without a handler (CURVE then accepts any client).
pub fn curve_recording() -> &'static Recording {
    static REC: OnceLock<Recording> = OnceLock::new();
    REC.get_or_init(|| {
        record(
            curve_client(None),
            curve_server(false, None),
            ZapOutcome::NoHandler,
        )
    })
}

pub fn curve_client(max_msg_size: Option<u64>) -> Connection {
    connection(
        SocketType::Dealer,
        b"client-id",
        curve_client_security(),
        false,
        max_msg_size,
        CLIENT_RNG,
    )
}

pub fn curve_server(enforce: bool, max_msg_size: Option<u64>) -> Connection {
    connection(
        SocketType::Router,
        b"",
        curve_server_security(),
        enforce,
        max_msg_size,
        SERVER_RNG,
    )
}

/// MAXMSGSIZE from a setup byte: bit 3 sets it, bits 4-7 choose it in steps of 32 bytes
/// (0 to 480: around the sizes of HELLO, INITIATE and the recorded MESSAGEs).
pub fn max_msg_size(param: u8) -> Option<u64> {
    (param & 8 != 0).then(|| u64::from(param >> 4) * 32)
}

/// Appends to `segments` the pieces of `rest` cut at 0xFF 0xFE marker pairs: each piece is
/// delivered, and its events handled, before the next one (a peer that waits for an answer).
pub fn split_segments(rest: &[u8], segments: &mut Vec<Vec<u8>>) {
    let mut cur = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == 0xFF && rest.get(i + 1) == Some(&0xFE) {
            segments.push(std::mem::take(&mut cur));
            i += 2;
        } else {
            cur.push(rest[i]);
            i += 1;
        }
    }
    segments.push(cur);
}

/// The raw mode: a valid greeting for `mechanism`, then the fuzzer's bytes.
pub fn raw_segments(mechanism: &str, rest: &[u8]) -> Vec<Vec<u8>> {
    let mut segments = vec![greeting_bytes(mechanism, 0).to_vec()];
    split_segments(rest, &mut segments);
    segments
}

/// The splice mode: a recorded transcript changed by `edits`, five bytes each:
/// `op segment offset(u16 BE) value`. Ops (op % 8): 0 xor a byte with value, 1 set a byte,
/// 2 truncate the segment at offset, 3 insert value at offset, 4 remove a byte, 5 append the
/// rest of the input to the segment and stop, 6 drop the segment, 7 split the segment at
/// offset (the two halves then arrive in separate rounds).
pub fn splice(recorded: &[Vec<u8>], mut edits: &[u8]) -> Vec<Vec<u8>> {
    let mut segments = recorded.to_vec();
    while let Some((edit, rest)) = edits.split_first_chunk::<5>() {
        edits = rest;
        if segments.is_empty() {
            break;
        }
        let seg = usize::from(edit[1]) % segments.len();
        let at = usize::from(u16::from_be_bytes([edit[2], edit[3]]));
        let value = edit[4];
        let s = &mut segments[seg];
        let byte_at = (!s.is_empty()).then(|| at % s.len());
        let gap_at = at % (s.len() + 1);
        match edit[0] % 8 {
            0 => {
                if let Some(i) = byte_at {
                    s[i] ^= value;
                }
            }
            1 => {
                if let Some(i) = byte_at {
                    s[i] = value;
                }
            }
            2 => s.truncate(gap_at),
            3 => s.insert(gap_at, value),
            4 => {
                if let Some(i) = byte_at {
                    s.remove(i);
                }
            }
            5 => {
                s.extend_from_slice(edits);
                break;
            }
            6 => {
                segments.remove(seg);
            }
            _ => {
                let tail = s.split_off(gap_at);
                segments.insert(seg + 1, tail);
            }
        }
    }
    segments
}

/// How the target answers a ZAP request, chosen by one input byte.
pub fn zap_outcome(choice: u8) -> ZapOutcome {
    let reply = |status: u16, user_id: &'static [u8], metadata: &'static [u8]| {
        ZapOutcome::Reply(ZapReply {
            status,
            user_id: Bytes::from_static(user_id),
            metadata: Bytes::from_static(metadata),
        })
    };
    match choice % 8 {
        0 => ZapOutcome::NoHandler,
        1 => reply(200, b"", b""),
        2 => reply(200, b"alice", b"\x07X-Group\x00\x00\x00\x05admin"),
        3 => reply(300, b"", b""),
        4 => reply(400, b"", b""),
        5 => reply(500, b"", b""),
        // Metadata that does not parse: the handshake must fail, not accept.
        6 => reply(200, b"alice", b"\x07X-Group\x00\x00\x00\x09admin"),
        // A status no handler may send (the core is also reachable by hosts that did not
        // check the reply with ZapReply::parse).
        _ => reply(u16::from(choice) * 257, b"", b""),
    }
}

/// What happened to a connection fed by [`exercise`].
#[derive(Default)]
pub struct Report {
    pub ready: bool,
    pub failed: bool,
    /// A ZAP request was answered and the connection took the answer.
    pub zap_taken: bool,
    /// The credentials of each ZAP request.
    pub zap_credentials: Vec<Vec<Bytes>>,
    /// What the peer said about itself, once ready.
    pub peer: Option<PeerInfo>,
    pub received: Vec<MsgKey>,
}

/// After an error, every entry point must keep failing.
pub fn assert_sticky(conn: &mut Connection) {
    assert!(!conn.is_ready(), "ready after an error");
    assert!(conn.handle_input(b"x").is_err(), "error is not sticky");
    assert!(conn.handle_input(b"").is_err(), "error is not sticky");
    assert!(conn.input_added().is_err(), "error is not sticky");
    assert!(
        conn.handle_input_buf(BytesMut::from(&b"x"[..])).is_err(),
        "error is not sticky"
    );
    assert!(conn.poll_msg().is_err(), "error is not sticky");
    assert!(
        conn.handle_zap(ZapOutcome::NoHandler).is_err(),
        "error is not sticky"
    );
}

/// Feeds `segments` to `conn`, each cut into chunks whose sizes come from `seed` and fed
/// through all three entry points, handling events (ZAP answered with `zap`, twice when
/// `zap_twice`) and messages (echoed back) after every chunk, and writing out all output.
pub fn exercise(
    conn: &mut Connection,
    segments: &[Vec<u8>],
    zap: &ZapOutcome,
    zap_twice: bool,
    seed: u8,
) -> Report {
    let mut report = Report::default();
    let mut seed = u32::from(seed) | 1;
    for segment in segments {
        let mut input = &segment[..];
        loop {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let mut n = (1 + (seed >> 16) as usize % 211).min(input.len());
            let fed = match (seed >> 8) % 3 {
                0 => conn.handle_input(&input[..n]),
                1 => conn.handle_input_buf(BytesMut::from(&input[..n])),
                _ => {
                    // A transport reading straight into the input buffer, at most its room.
                    let buf = conn.input_buffer(1 + (seed >> 10) as usize % 64);
                    n = n.min(buf.capacity() - buf.len());
                    buf.extend_from_slice(&input[..n]);
                    conn.input_added()
                }
            };
            input = &input[n..];
            if fed.is_err() || !step(conn, &mut report, zap, zap_twice) {
                report.failed = true;
                assert_sticky(conn);
                return report;
            }
            if input.is_empty() {
                break;
            }
        }
    }
    report
}

/// Handles what one chunk produced: events, messages, output. False once a call failed.
fn step(conn: &mut Connection, report: &mut Report, zap: &ZapOutcome, zap_twice: bool) -> bool {
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Ready(info) => {
                assert!(!report.ready, "Ready twice");
                assert!(conn.is_ready() || conn.poll_msg().is_err());
                report.ready = true;
                report.peer = Some(info);
            }
            Event::Zap(request) => {
                assert!(!report.ready, "ZAP asked after Ready");
                report.zap_credentials.push(request.credentials);
                if conn.handle_zap(zap.clone()).is_err() {
                    return false;
                }
                report.zap_taken = true;
                if zap_twice {
                    assert!(
                        conn.handle_zap(zap.clone()).is_err(),
                        "a second ZAP answer was taken"
                    );
                    return false;
                }
            }
            _ => {}
        }
    }
    loop {
        match conn.poll_msg() {
            Ok(Some(msg)) => {
                assert!(report.ready, "a message before Ready");
                report.received.push(key(&msg));
                conn.send_msg(&msg);
            }
            Ok(None) => break,
            Err(_) => return false,
        }
    }
    let _ = take_output(conn);
    true
}

/// Whether `got` is `sent` with some messages left out (none added, reordered or repeated).
pub fn is_subsequence(got: &[MsgKey], sent: &[MsgKey]) -> bool {
    let mut sent = sent.iter();
    got.iter().all(|g| sent.any(|s| s == g))
}
