//! Two connections driven against each other in memory (after quinn's `Pair`), and hand-made
//! peers for the cases a well-behaved connection never produces.

use bytes::Bytes;

use super::*;
use crate::error::Error;
use crate::msg::Msg;
use crate::socket_type::SocketType;

/// Two connections wired back to back; bytes move only when `drive` is called.
struct Pair {
    a: Side,
    b: Side,
}

struct Side {
    conn: Connection,
    /// Every byte this side has written, in order.
    sent: Vec<u8>,
    /// Messages taken out of `conn` by `drive`.
    inbox: Vec<Msg>,
    events: Vec<Event>,
    err: Option<Error>,
}

impl Side {
    fn new(config: Config) -> Side {
        Side {
            conn: Connection::new(config),
            sent: Vec::new(),
            inbox: Vec::new(),
            events: Vec::new(),
            err: None,
        }
    }

    /// Takes everything `conn` wants to write.
    fn take_output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.transmit_len() > 0 {
            let chunk = self.conn.transmit_chunk();
            assert!(!chunk.is_empty(), "transmit_len > 0 but no chunk");
            out.extend_from_slice(chunk);
            let n = chunk.len();
            self.conn.advance_transmit(n);
        }
        self.sent.extend_from_slice(&out);
        out
    }

    fn receive(&mut self, bytes: &[u8]) {
        if self.err.is_some() || bytes.is_empty() {
            return;
        }
        if let Err(e) = self.conn.handle_input(bytes) {
            self.err = Some(e);
            return;
        }
        self.events
            .extend(std::iter::from_fn(|| self.conn.poll_event()));
        loop {
            match self.conn.poll_msg() {
                Ok(Some(m)) => self.inbox.push(m),
                Ok(None) => break,
                Err(e) => {
                    self.err = Some(e);
                    break;
                }
            }
        }
    }

    fn peer(&self) -> &PeerInfo {
        match self.events.first() {
            Some(Event::Ready(p)) => p,
            _ => panic!("no Ready event; error: {:?}", self.err),
        }
    }
}

impl Pair {
    fn new(a: Config, b: Config) -> Pair {
        let mut pair = Pair {
            a: Side::new(a),
            b: Side::new(b),
        };
        pair.drive();
        pair
    }

    /// Moves bytes both ways until neither side has anything left to send.
    fn drive(&mut self) {
        loop {
            let to_b = self.a.take_output();
            self.b.receive(&to_b);
            let to_a = self.b.take_output();
            self.a.receive(&to_a);
            if to_a.is_empty() && to_b.is_empty() {
                break;
            }
        }
    }
}

fn config(socket_type: SocketType) -> Config {
    Config::new(socket_type)
}

/// What a peer speaking ZMTP 3.`minor` with NULL sends up to and including its READY.
fn peer_handshake(minor: u8, socket_type: SocketType) -> Vec<u8> {
    let mut bytes = greeting_bytes("NULL", 0).to_vec();
    bytes[11] = minor;
    bytes.extend(ready_frame(socket_type, b""));
    bytes
}

/// A connection that has completed its handshake with a hand-made peer; output so far dropped.
fn ready_against(local: SocketType, peer_minor: u8, peer: SocketType) -> Side {
    let mut side = Side::new(config(local));
    side.receive(&peer_handshake(peer_minor, peer));
    assert!(side.conn.is_ready(), "handshake failed: {:?}", side.err);
    side.take_output();
    side
}

fn long_header(flags: u8, len: u64) -> Vec<u8> {
    let mut h = vec![flags | 0x02];
    h.extend_from_slice(&len.to_be_bytes());
    h
}

#[test]
fn handshake_between_every_compatible_pair() {
    // RFC 37 / mechanism.cpp check_socket_type: each listed pair completes the handshake.
    for a in SocketType::ALL {
        for b in SocketType::ALL.into_iter().filter(|&b| a.is_compatible(b)) {
            let mut ca = config(a);
            ca.identity = Bytes::from_static(b"id-a");
            let pair = Pair::new(ca, config(b));
            assert!(
                pair.a.conn.is_ready() && pair.b.conn.is_ready(),
                "{a} vs {b}"
            );
            let seen_by_b = pair.b.peer();
            assert_eq!(seen_by_b.socket_type, Some(a));
            assert_eq!(seen_by_b.version, (3, 1));
            // libzmq sends Identity only for REQ, DEALER and ROUTER.
            let expected_id: &[u8] = if a.sends_identity() { b"id-a" } else { b"" };
            assert_eq!(seen_by_b.identity, expected_id, "{a} vs {b}");
            let has_identity = seen_by_b.properties.iter().any(|(n, _)| n == "Identity");
            assert_eq!(has_identity, a.sends_identity());
            assert_eq!(pair.a.peer().socket_type, Some(b));
        }
    }
}

#[test]
fn incompatible_pair_fails_on_both_sides_without_error_command() {
    // libzmq closes on a socket-type mismatch without sending ERROR (docs/wire.md §4.4).
    for a in SocketType::ALL {
        for b in SocketType::ALL.into_iter().filter(|&b| !a.is_compatible(b)) {
            let pair = Pair::new(config(a), config(b));
            assert!(
                matches!(pair.a.err, Some(Error::Proto(_))),
                "{a} vs {b}: {:?}",
                pair.a.err
            );
            assert!(matches!(pair.b.err, Some(Error::Proto(_))), "{a} vs {b}");
            assert!(pair.a.events.is_empty() && !pair.a.conn.is_ready());
            let mut expected = greeting_bytes("NULL", 0).to_vec();
            expected.extend(ready_frame(a, b""));
            assert_eq!(pair.a.sent, expected, "{a} sent more than greeting + READY");
        }
    }
}

#[test]
fn greeting_and_ready_bytes_for_dealer_abc() {
    // docs/wire.md §2.2 and §4.2: the bytes libzmq 4.3.5 sends.
    let mut cfg = config(SocketType::Dealer);
    cfg.identity = Bytes::from_static(b"abc");
    let mut side = Side::new(cfg);
    let mut greeting = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 4, 0x7F, 3, 1];
    greeting.extend_from_slice(b"NULL");
    greeting.extend_from_slice(&[0; 16 + 1 + 31]);
    assert_eq!(side.take_output(), greeting);
    // READY goes out once the peer's greeting is understood, not before.
    side.receive(&greeting_bytes("NULL", 0));
    let mut ready = vec![0x04, 0x2c, 0x05];
    ready.extend_from_slice(b"READY");
    ready.push(0x0b);
    ready.extend_from_slice(b"Socket-Type");
    ready.extend_from_slice(&[0, 0, 0, 6]);
    ready.extend_from_slice(b"DEALER");
    ready.push(0x08);
    ready.extend_from_slice(b"Identity");
    ready.extend_from_slice(&[0, 0, 0, 3]);
    ready.extend_from_slice(b"abc");
    assert_eq!(side.take_output(), ready);
    assert_eq!(ready_frame(SocketType::Dealer, b"abc"), ready);
}

#[test]
fn zmtp_3_0_peer_gets_subscriptions_as_data_frames() {
    // v2 encoder (used for 3.0 peers): subscribe = data frame `0x01 topic`, cancel = `0x00 topic`.
    let mut sub = ready_against(SocketType::Sub, 0, SocketType::Pub);
    assert_eq!(sub.peer().version, (3, 0));
    sub.conn.send_msg(&Msg::subscribe(b"cpu"));
    sub.conn.send_msg(&Msg::cancel(b"cpu"));
    sub.conn.send_msg(&Msg::subscribe(b""));
    assert_eq!(
        sub.take_output(),
        b"\x00\x04\x01cpu\x00\x04\x00cpu\x00\x01\x01".to_vec()
    );
}

#[test]
fn zmtp_3_1_peer_gets_subscribe_and_cancel_commands() {
    // RFC 37 / v3_1_encoder: `04 LL 09 'SUBSCRIBE' topic`, `04 LL 06 'CANCEL' topic`.
    let mut sub = ready_against(SocketType::XSub, 1, SocketType::XPub);
    sub.conn.send_msg(&Msg::subscribe(b"cpu"));
    sub.conn.send_msg(&Msg::subscribe(b""));
    sub.conn.send_msg(&Msg::cancel(b"cpu"));
    assert_eq!(
        sub.take_output(),
        b"\x04\x0d\x09SUBSCRIBEcpu\x04\x0a\x09SUBSCRIBE\x04\x0a\x06CANCELcpu".to_vec()
    );
}

#[test]
fn subscriptions_arrive_as_subscription_messages() {
    // Both directions through a real pair; a 0x01 data frame stays data (the socket decides).
    let mut pair = Pair::new(config(SocketType::Sub), config(SocketType::Pub));
    pair.a.conn.send_msg(&Msg::subscribe(b"cpu"));
    pair.a.conn.send_msg(&Msg::from(&b"\x01raw"[..]));
    pair.a.conn.send_msg(&Msg::cancel(b"cpu"));
    pair.drive();
    assert_eq!(
        pair.b.inbox,
        vec![
            Msg::subscribe(b"cpu"),
            Msg::from(&b"\x01raw"[..]),
            Msg::cancel(b"cpu")
        ]
    );
}

#[test]
fn ping_is_answered_with_pong_echoing_16_bytes_of_context() {
    // libzmq always answers PING with PONG, echoing the context truncated to 16 bytes.
    let mut side = ready_against(SocketType::Pair, 1, SocketType::Pair);
    let mut ping = vec![0x04, 7 + 20, 4];
    ping.extend_from_slice(b"PING\x00\x0a");
    ping.extend_from_slice(b"0123456789abcdefXYZW");
    side.receive(&ping);
    assert!(side.err.is_none() && side.inbox.is_empty());
    assert_eq!(
        side.take_output(),
        b"\x04\x15\x04PONG0123456789abcdef".to_vec()
    );
    side.receive(b"\x04\x07\x04PING\x00\x00");
    assert_eq!(side.take_output(), b"\x04\x05\x04PONG".to_vec());
}

#[test]
fn pings_while_a_pong_waits_get_none() {
    // docs/wire.md §5.1: a peer that pings and does not read cannot make the output grow;
    // the PONG waiting for it already answers.
    let mut side = ready_against(SocketType::Pair, 1, SocketType::Pair);
    for _ in 0..1000 {
        side.receive(b"\x04\x07\x04PING\x00\x00");
    }
    assert!(side.err.is_none());
    assert_eq!(side.take_output(), b"\x04\x05\x04PONG".to_vec());
    // Once it is written, the next PING is answered again.
    side.receive(b"\x04\x07\x04PING\x00\x00");
    assert_eq!(side.take_output(), b"\x04\x05\x04PONG".to_vec());
}

#[test]
fn ping_and_pong_between_connections() {
    let mut pair = Pair::new(config(SocketType::Push), config(SocketType::Pull));
    pair.a.conn.send_ping(100, b"hb");
    pair.drive();
    assert!(pair.a.err.is_none() && pair.b.err.is_none());
    assert!(pair.b.sent.ends_with(b"\x04\x07\x04PONGhb"));
    assert!(pair.a.inbox.is_empty() && pair.b.inbox.is_empty());
    // RFC 37: the receiver of a PING with a non-zero TTL learns it (once), to drop the
    // connection if the sender then goes silent that long.
    assert_eq!(pair.b.conn.take_peer_ttl(), Some(100));
    assert_eq!(pair.b.conn.take_peer_ttl(), None);
    assert_eq!(pair.a.conn.take_peer_ttl(), None);
}

#[test]
fn error_command_is_fatal() {
    // docs/wire.md §4.5: receiving ERROR, during the handshake or after, closes the connection.
    let mut side = Side::new(config(SocketType::Dealer));
    let mut input = greeting_bytes("NULL", 0).to_vec();
    input.extend_from_slice(b"\x04\x0a\x05ERROR\x03400");
    side.receive(&input);
    assert_eq!(
        side.err,
        Some(Error::Auth(400)),
        "a ZAP status in ERROR is an authentication failure"
    );
    // Later calls keep failing.
    assert!(side.conn.handle_input(b"").is_err());
    // After the handshake too.
    let mut side = ready_against(SocketType::Dealer, 1, SocketType::Router);
    side.receive(b"\x04\x0a\x05ERROR\x03500");
    assert_eq!(side.err, Some(Error::Auth(500)));
}

#[test]
fn frame_over_max_msg_size_is_msgsize() {
    // ZMQ_MAXMSGSIZE is enforced per frame (commands included, as in v2_decoder), from the
    // header, before the body arrives.
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(40);
    let mut side = Side::new(cfg);
    side.receive(&peer_handshake(1, SocketType::Push));
    assert!(side.conn.is_ready(), "{:?}", side.err);
    side.receive(&[&[0u8, 40][..], &[b'x'; 40]].concat());
    assert_eq!(side.inbox.len(), 1);
    side.receive(b"\x00\x29");
    assert_eq!(side.err, Some(Error::MsgSize));
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(10);
    let mut side = Side::new(cfg);
    side.receive(&peer_handshake(1, SocketType::Push));
    assert_eq!(
        side.err,
        Some(Error::MsgSize),
        "a 26-byte READY is over 10 bytes too"
    );
    // A hostile 2^63 length with no limit set: nothing is allocated, the frame just waits.
    let mut side = ready_against(SocketType::Pull, 1, SocketType::Push);
    side.receive(&long_header(0, 1 << 63));
    assert!(side.err.is_none() && side.inbox.is_empty());
    assert_eq!(side.conn.input_len(), 9);
}

#[test]
fn bad_greetings_are_refused() {
    // libzmq: b[0] != 0xFF or bit 0 of b[9] clear = ZMTP 1.0, which isomq does not speak.
    let mut g = greeting_bytes("NULL", 0);
    g[0] = 0x01;
    let mut side = Side::new(config(SocketType::Pair));
    side.receive(&g[..10]);
    assert!(matches!(side.err, Some(Error::Proto(_))));
    let mut g = greeting_bytes("NULL", 0);
    g[9] = 0x7E;
    let mut side = Side::new(config(SocketType::Pair));
    side.receive(&g);
    assert!(side.err.is_some());
    // Major versions 1 (ZMTP 2.0) and below are refused as soon as byte 10 arrives.
    for major in [0, 1, 2] {
        let mut g = greeting_bytes("NULL", 0);
        g[10] = major;
        let mut side = Side::new(config(SocketType::Pair));
        side.receive(&g[..11]);
        assert!(side.err.is_some(), "major {major}");
    }
    // Nothing beyond our own greeting was sent to a bad peer.
    assert_eq!(side.take_output(), greeting_bytes("NULL", 0).to_vec());
}

#[test]
fn mechanism_mismatch_is_refused() {
    // zmtp_engine.cpp handshake_v3_x: all 20 mechanism bytes are compared with "NULL\0...".
    for mechanism in ["PLAIN", "CURVE", "null", "NULL "] {
        let mut side = Side::new(config(SocketType::Pair));
        side.receive(&greeting_bytes(mechanism, 0)[..32]);
        assert!(matches!(side.err, Some(Error::Proto(_))), "{mechanism}");
    }
}

#[test]
fn ready_parsing_is_lenient_like_libzmq() {
    // A READY without Socket-Type is accepted; names are case-sensitive, so "socket-type" is
    // just another property and is not checked (docs/wire.md §4.3).
    for metadata in [&b""[..], &b"\x0bsocket-type\x00\x00\x00\x03PUB"[..]] {
        let mut input = greeting_bytes("NULL", 0).to_vec();
        input.extend_from_slice(&[0x04, (6 + metadata.len()) as u8, 5]);
        input.extend_from_slice(b"READY");
        input.extend_from_slice(metadata);
        let mut side = Side::new(config(SocketType::Dealer));
        side.receive(&input);
        assert!(side.conn.is_ready(), "{:?}", side.err);
        assert_eq!(side.peer().socket_type, None);
    }
    // A READY whose Socket-Type names no known type is refused, as check_socket_type does.
    let mut input = greeting_bytes("NULL", 0).to_vec();
    input.extend_from_slice(b"\x04\x19\x05READY\x0bSocket-Type\x00\x00\x00\x03FOO");
    let mut side = Side::new(config(SocketType::Dealer));
    side.receive(&input);
    assert!(side.err.is_some());
}

#[test]
fn message_or_other_command_during_handshake_is_refused() {
    // docs/wire.md §4.5: any other command, or a data frame, during the handshake → close.
    for frame in [&b"\x00\x01x"[..], &b"\x04\x05\x04PING"[..]] {
        let mut input = greeting_bytes("NULL", 0).to_vec();
        input.extend_from_slice(frame);
        let mut side = Side::new(config(SocketType::Pair));
        side.receive(&input);
        assert!(matches!(side.err, Some(Error::Proto(_))), "{frame:?}");
    }
}

#[test]
fn unknown_commands_after_handshake_are_ignored() {
    // libzmq silently drops unknown commands after the handshake (docs/wire.md §5.3).
    let mut side = ready_against(SocketType::Pull, 1, SocketType::Push);
    side.receive(b"\x04\x06\x04JOINx\x04\x06\x05READY\x04\x05\x04PONG\x00\x01!");
    assert!(side.err.is_none(), "{:?}", side.err);
    assert_eq!(side.inbox, vec![Msg::from("!")]);
    // ...but a malformed command (name longer than the body) is a protocol error.
    side.receive(b"\x04\x02\x05R");
    assert!(matches!(side.err, Some(Error::Proto(_))));
}

#[test]
fn command_frames_with_long_header_and_lenient_flags_are_accepted() {
    // v2_decoder ignores reserved bits and accepts LONG with a small size, commands included.
    let mut side = Side::new(config(SocketType::Sub));
    let mut input = greeting_bytes("NULL", 0).to_vec();
    let ready = ready_frame(SocketType::Pub, b"");
    input.extend(long_header(0x04, (ready.len() - 2) as u64));
    input.extend_from_slice(&ready[2..]);
    input.extend_from_slice(b"\xf8\x02hi");
    side.receive(&input);
    assert!(side.conn.is_ready(), "{:?}", side.err);
    assert_eq!(side.inbox, vec![Msg::from("hi")]);
}

fn scripted_stream() -> Vec<u8> {
    let mut input = peer_handshake(1, SocketType::Dealer);
    input.extend_from_slice(b"\x01\x00\x01\x05hello");
    input.extend(long_header(0x00, 300));
    input.extend_from_slice(&[b'x'; 300]);
    input.extend_from_slice(b"\x04\x0a\x04PING\x00\x00ctx\x04\x0c\x09SUBSCRIBEab");
    input
}

#[test]
fn input_one_byte_at_a_time_gives_the_same_result() {
    let mut whole = Side::new(config(SocketType::Router));
    whole.receive(&scripted_stream());
    let mut bytewise = Side::new(config(SocketType::Router));
    for b in scripted_stream() {
        bytewise.receive(&[b]);
    }
    assert!(whole.err.is_none() && bytewise.err.is_none());
    assert_eq!(whole.inbox.len(), 4);
    assert_eq!(whole.inbox, bytewise.inbox);
    assert_eq!(whole.events, bytewise.events);
    assert_eq!(whole.take_output(), bytewise.take_output());
}

#[test]
fn multipart_and_long_frames_cross_intact() {
    let mut pair = Pair::new(config(SocketType::Dealer), config(SocketType::Router));
    let big = Msg::from(vec![0xABu8; 1 << 20]);
    let sent = vec![
        Msg::from("").with_more(true),
        Msg::from(vec![1u8; 255]).with_more(true),
        Msg::from(vec![2u8; 256]).with_more(true),
        big.clone(),
    ];
    for m in &sent {
        pair.a.conn.send_msg(m);
    }
    // The 1 MiB payload is queued by reference, not copied into the batch.
    let mut slices = [std::io::IoSlice::new(&[]); 8];
    let n = pair.a.conn.transmit_slices(&mut slices);
    assert!(slices[..n]
        .iter()
        .any(|s| s.as_ptr() == big.as_slice().as_ptr()));
    pair.drive();
    assert_eq!(pair.b.inbox, sent);
    assert!(pair.b.inbox.iter().take(3).all(Msg::more));
    // Wire sizes: short header up to 255 bytes, LONG from 256.
    let tail = &pair.a.sent[pair.a.sent.len() - (1 << 20) - 9..];
    assert_eq!(&tail[..9], &long_header(0, 1 << 20)[..]);
}

#[test]
fn owned_input_buffers_are_taken_without_copy() {
    // handle_input_buf adopts the caller's buffer when nothing is pending, so a large frame
    // received into it is handed on as a slice of that same allocation.
    let mut side = ready_against(SocketType::Pull, 0, SocketType::Push);
    assert_eq!(side.conn.version(), Some((3, 0)));
    let mut buf = bytes::BytesMut::new();
    buf.extend_from_slice(&long_header(0, 4096));
    buf.extend_from_slice(&[9u8; 4096]);
    let payload = buf[9..].as_ptr();
    side.conn.handle_input_buf(buf).unwrap();
    let msg = side.conn.poll_msg().unwrap().unwrap();
    assert_eq!(msg.as_slice().as_ptr(), payload);
    assert_eq!(side.conn.input_len(), 0);
}

/// Feeds `stream` the way the native engine reads: straight into `input_buffer(min)`'s spare
/// room, as much as fits per read. Returns the messages and each read's (address, length).
fn read_like_a_transport(
    side: &mut Side,
    stream: &[u8],
    min: usize,
) -> (Vec<Msg>, Vec<(usize, usize)>) {
    let (mut msgs, mut reads) = (Vec::new(), Vec::new());
    let mut pos = 0;
    while pos < stream.len() {
        let buf = side.conn.input_buffer(min);
        let n = (buf.capacity() - buf.len()).min(stream.len() - pos);
        assert!(n > 0, "no room to read into");
        reads.push((buf.as_ptr() as usize + buf.len(), n));
        buf.extend_from_slice(&stream[pos..pos + n]);
        pos += n;
        side.conn.input_added().unwrap();
        while let Some(m) = side.conn.poll_msg().unwrap() {
            msgs.push(m);
        }
    }
    (msgs, reads)
}

#[test]
fn a_stream_of_large_frames_is_read_in_place() {
    // Speed rule (docs/architecture.md §7.3): large reads decoded in place, zero-copy large
    // frames. Frames a little over the read size must not be moved to a bigger buffer to be
    // finished: after the first, each lies whole inside the one read that brought it.
    large_frames_read_in_place(64 * 1024);
}

#[test]
fn large_frames_are_read_in_place_after_small_first_reads() {
    // The native engine's first reads ask for 256 bytes (an idle connection keeps a small
    // buffer): the first large frame's header sizes the buffer for the rest of the frame,
    // and the frames after it are read as above.
    large_frames_read_in_place(256);
}

/// Twenty 64 KiB frames read `min` bytes at a time at least: each frame after the first
/// lies whole inside the one read that brought it.
fn large_frames_read_in_place(min: usize) {
    const BODY: usize = 64 * 1024;
    let mut side = ready_against(SocketType::Pull, 1, SocketType::Push);
    let mut stream = Vec::new();
    for i in 0..20u8 {
        stream.extend_from_slice(&long_header(0, BODY as u64));
        stream.extend(std::iter::repeat_n(i, BODY));
    }
    let (msgs, reads) = read_like_a_transport(&mut side, &stream, min);
    assert_eq!(msgs.len(), 20);
    for (i, m) in msgs.iter().enumerate() {
        assert!(
            m.as_slice().iter().all(|&b| usize::from(b) == i),
            "frame {i} corrupted"
        );
    }
    for (i, m) in msgs.iter().enumerate().skip(1) {
        let (at, len) = (m.as_slice().as_ptr() as usize, m.len());
        assert!(
            reads.iter().any(|&(r, n)| r <= at && at + len <= r + n),
            "frame {i} was moved after it was read"
        );
    }
    assert!(reads.len() <= 20 + 2, "{} reads for 20 frames", reads.len());
}

#[test]
fn a_stream_of_large_frames_is_read_several_frames_at_a_time() {
    // Each read is delivered and flushed to the application at once (one wake-up of its
    // thread per read), so when the socket has them waiting a read takes several whole
    // 64 KiB frames (256 KiB, as the raw-socket baseline reads), still without moving any
    // frame once read.
    const BODY: usize = 64 * 1024;
    let mut side = ready_against(SocketType::Pull, 1, SocketType::Push);
    let mut stream = Vec::new();
    for i in 0..40u8 {
        stream.extend_from_slice(&long_header(0, BODY as u64));
        stream.extend(std::iter::repeat_n(i, BODY));
    }
    let (msgs, reads) = read_like_a_transport(&mut side, &stream, 4096);
    assert_eq!(msgs.len(), 40);
    for (i, m) in msgs.iter().enumerate().skip(1) {
        let (at, len) = (m.as_slice().as_ptr() as usize, m.len());
        assert!(m.as_slice().iter().all(|&b| usize::from(b) == i));
        assert!(
            reads.iter().any(|&(r, n)| r <= at && at + len <= r + n),
            "frame {i} was moved after it was read"
        );
    }
    assert!(
        reads.len() <= 40 / 4 + 3,
        "{} reads for 40 frames",
        reads.len()
    );
}

#[test]
fn held_frames_keep_their_bytes_while_input_buffers_are_recycled() {
    // Input buffers are recycled while large frames flow (recycle.rs tests the reuse), but
    // only once every frame handed out of them is gone: frames the application still holds
    // keep their bytes while the frames around them are dropped and their buffers reused.
    const MIN: usize = 4096;
    const BODY: usize = 8 * 1024;
    let mut side = ready_against(SocketType::Pull, 1, SocketType::Push);
    let mut held = Vec::new();
    for round in 0..200u32 {
        let mut stream = long_header(0, BODY as u64);
        stream.extend(std::iter::repeat_n(round as u8, BODY));
        // Two frames per read at times: a buffer is then shared by a held and a dropped one.
        if round % 2 == 0 {
            stream.extend_from_slice(&long_header(0, 40));
            stream.extend_from_slice(&[0xee; 40]);
        }
        let (msgs, _) = read_like_a_transport(&mut side, &stream, MIN);
        assert_eq!(msgs.len(), 1 + usize::from(round % 2 == 0));
        if round % 3 == 0 {
            held.push((round, msgs.into_iter().next().unwrap()));
        }
    }
    for (round, m) in &held {
        assert!(
            m.as_slice().iter().all(|&b| b == *round as u8),
            "held frame {round} changed"
        );
    }
}

#[test]
fn shrink_idle_frees_what_large_frames_grew() {
    // A quiet connection goes back to small buffers (the host calls shrink_idle after a
    // while without traffic); the next frames grow them again.
    let mut side = ready_against(SocketType::Pull, 1, SocketType::Push);
    let mut stream = long_header(0, 100_000);
    stream.extend(std::iter::repeat_n(7u8, 100_000));
    let (msgs, _) = read_like_a_transport(&mut side, &stream, 256);
    assert_eq!(msgs.len(), 1);
    drop(msgs);
    // The frame is gone, so its buffer is the connection's alone again: without the shrink,
    // the next read would get all of it back.
    side.conn.shrink_idle();
    let room = side.conn.input_buffer(1000).capacity();
    assert!(
        room < 4096,
        "{room} bytes of input buffer after shrink_idle"
    );
    let (msgs, _) = read_like_a_transport(&mut side, &stream, 256);
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].as_slice().iter().all(|&b| b == 7));
}
