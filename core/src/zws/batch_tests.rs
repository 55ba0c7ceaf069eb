//! The batch extension (docs/wire.md §10.9): negotiation tokens, the handshake and its
//! fallback, packing, the split rules, and malformed batches.

use bytes::Bytes;

use super::batch::{self, BATCH_LIMIT};
use super::tests::{config, Pair, Side};
use super::*;
use crate::error::Error;
use crate::msg::Msg;
use crate::socket_type::SocketType;
use crate::zmtp::ready_frame;

fn batch_pair(a: SocketType, b: SocketType) -> Pair {
    // `a` is the client: it speaks once the server's READY came.
    let client = Side::with(Connection::client(config(a), Subprotocol::Batch));
    let server = Side::new(config(b), Subprotocol::Batch);
    let pair = Pair::of(client, server);
    assert!(pair.a.conn.is_ready() && pair.b.conn.is_ready());
    pair
}

/// The frames of one batch message, as `(flags, body)`.
fn frames(payload: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < payload.len() {
        let at = batch::frame_at(payload, pos, None).unwrap();
        out.push((at.flags, payload[at.start..at.end].to_vec()));
        pos = at.end;
    }
    out
}

#[test]
fn token_is_an_http_token_and_is_selected_first() {
    // RFC 6455 §4.1 / RFC 7230 §3.2.6: what the WebSocket API lets a page offer.
    let tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    assert!(BATCH_TOKEN.chars().all(tchar));
    assert_eq!(Subprotocol::Batch.token(), BATCH_TOKEN);
    assert_eq!(
        Subprotocol::select("ZWS2.0.isomq-batch1, ZWS2.0"),
        Some(Subprotocol::Batch)
    );
    assert_eq!(
        Subprotocol::select(&CLIENT_PROTOCOLS.join(",")),
        Some(Subprotocol::Batch)
    );
    // A peer that does not know it picks the next one it supports.
    let known: Vec<_> = CLIENT_PROTOCOLS[1..].to_vec();
    assert_eq!(
        Subprotocol::select(&known.join(",")),
        Some(Subprotocol::Null)
    );
    assert_eq!(Subprotocol::select("zws2.0.ISOMQ-batch1"), None);
}

#[test]
fn server_speaks_first_with_the_zmtp_ready_frame() {
    let mut cfg = config(SocketType::Pub);
    cfg.identity = Bytes::from_static(b"");
    let mut server = Side::new(cfg, Subprotocol::Batch);
    assert_eq!(
        server.take_output(),
        vec![ready_frame(SocketType::Pub, b"")],
        "READY as ZMTP frames it (docs/wire.md §3, §4.2)"
    );
    let mut client = Side::with(Connection::client(
        config(SocketType::Sub),
        Subprotocol::Batch,
    ));
    assert!(client.take_output().is_empty(), "the client waits");
    client.receive(&ready_frame(SocketType::Pub, b""));
    assert_eq!(client.conn.subprotocol(), Subprotocol::Batch);
    assert_eq!(
        client.take_output(),
        vec![ready_frame(SocketType::Sub, b"")]
    );
    assert_eq!(client.peer().socket_type, Some(SocketType::Pub));
    assert_eq!(client.peer().version, (2, 0));
}

#[test]
fn client_falls_back_to_what_the_server_speaks() {
    // A `ws` server echoes the first offered token and then speaks bare ZWS2.0.
    let mut cfg = config(SocketType::Dealer);
    cfg.identity = Bytes::from_static(b"me");
    let mut client = Side::with(Connection::client(cfg, Subprotocol::Batch));
    client.receive(b"\x00");
    assert_eq!(client.conn.subprotocol(), Subprotocol::Bare);
    assert_eq!(client.take_output(), vec![b"\x00me".to_vec()]);
    assert!(client.conn.is_ready());
    client.conn.send_msg(&Msg::from("x"));
    client.receive(b"\x00y");
    assert_eq!(client.take_output(), vec![b"\x00x".to_vec()]);
    assert_eq!(client.inbox, vec![Msg::from("y")]);
    // One that speaks ZWS2.0/NULL.
    let mut client = Side::with(Connection::client(
        config(SocketType::Sub),
        Subprotocol::Batch,
    ));
    let mut ready = vec![0x02];
    ready.extend_from_slice(&ready_frame(SocketType::Pub, b"")[2..]);
    client.receive(&ready);
    assert_eq!(client.conn.subprotocol(), Subprotocol::Null);
    assert!(client.conn.is_ready());
    assert_eq!(client.take_output()[0][..7], *b"\x02\x05READY");
}

#[test]
fn round_trip_of_multipart_messages_and_subscriptions() {
    let mut pair = batch_pair(SocketType::XSub, SocketType::XPub);
    pair.a.conn.send_msg(&Msg::subscribe(b"t"));
    pair.a.conn.send_msg(&Msg::cancel(b"u"));
    pair.a
        .conn
        .send_msg(&Msg::from(&b"\x01x"[..]).with_more(true));
    pair.a.conn.send_msg(&Msg::from(&b"\x01y"[..]));
    let big = Msg::from(vec![9u8; 300]);
    pair.b.conn.send_msg(&Msg::from("t").with_more(true));
    pair.b.conn.send_msg(&Msg::from("").with_more(true));
    pair.b.conn.send_msg(&big);
    pair.drive();
    assert_eq!(
        pair.b.inbox,
        vec![
            Msg::subscribe(b"t"),
            Msg::cancel(b"u"),
            Msg::from(&b"\x01x"[..]).with_more(true),
            Msg::from(&b"\x01y"[..]),
        ]
    );
    assert_eq!(
        pair.a.inbox,
        vec![
            Msg::from("t").with_more(true),
            Msg::from("").with_more(true),
            big
        ]
    );
    assert_eq!((pair.a.err.clone(), pair.b.err.clone()), (None, None));
}

/// Small bodies are copied inline through a fixed window that also takes the bytes of the
/// frames after them: each message holds exactly its own bytes, at every inline size, the
/// last ones (near the end of the batch, without a full window) included.
#[test]
fn small_frames_hold_only_their_own_bytes() {
    let mut pair = batch_pair(SocketType::Push, SocketType::Pull);
    let body = |len: usize| (0..len).map(|i| (len * 7 + i) as u8).collect::<Vec<u8>>();
    for len in 0..=Msg::INLINE_CAP {
        pair.a.conn.send_msg(&Msg::from(body(len)));
    }
    let out = pair.a.take_output();
    assert_eq!(out.len(), 1, "one batch");
    pair.b.receive(&out[0]);
    assert_eq!(pair.b.inbox.len(), Msg::INLINE_CAP + 1);
    for (len, m) in pair.b.inbox.iter().enumerate() {
        assert_eq!(m.as_slice(), &body(len)[..], "frame of {len} bytes");
        assert_eq!(*m, Msg::copy_from_slice(&body(len)));
    }
}

#[test]
fn frames_that_pile_up_share_messages_up_to_the_limit() {
    let mut pair = batch_pair(SocketType::Sub, SocketType::Pub);
    pair.b.take_output();
    // 16-byte bodies: 18 bytes a frame.
    for i in 0..10_000u32 {
        pair.b.conn.send_msg(&Msg::from(format!("{i:016}")));
    }
    assert_eq!(pair.b.conn.transmit_len(), 18 * 10_000);
    let out = pair.b.take_output();
    assert_eq!(out.len(), 3, "180 000 bytes in 64 KiB batches");
    let per_message = BATCH_LIMIT / 18;
    assert!(out.iter().all(|m| m.len() <= BATCH_LIMIT));
    assert_eq!(frames(&out[0]).len(), per_message);
    assert_eq!(frames(&out[0])[7], (0, b"0000000000000007".to_vec()));
    for m in &out {
        pair.a.receive(m);
    }
    assert_eq!(pair.a.inbox.len(), 10_000);
    assert_eq!(pair.a.inbox[9_999], Msg::from("0000000000009999"));
}

#[test]
fn a_lone_message_leaves_at_once() {
    // No Nagle: nothing waits for company.
    let mut pair = batch_pair(SocketType::Push, SocketType::Pull);
    pair.a.conn.send_msg(&Msg::from("one"));
    assert_eq!(pair.a.take_output(), vec![b"\x00\x03one".to_vec()]);
    pair.a.conn.send_msg(&Msg::from("two"));
    assert_eq!(pair.a.take_output(), vec![b"\x00\x03two".to_vec()]);
}

#[test]
fn split_rules_a_frame_never_spans_messages() {
    let mut pair = batch_pair(SocketType::Push, SocketType::Pull);
    let near = BATCH_LIMIT - 9 - 100;
    pair.a
        .conn
        .send_msg(&Msg::from(vec![1u8; near]).with_more(true));
    pair.a
        .conn
        .send_msg(&Msg::from(vec![2u8; 200]).with_more(true));
    let huge = Msg::from(vec![3u8; BATCH_LIMIT]);
    pair.a.conn.send_msg(&huge.clone().with_more(true));
    pair.a.conn.send_msg(&Msg::from("end"));
    let lens: Vec<usize> = std::iter::from_fn(|| pair.a.conn.poll_transmit_parts())
        .map(|t| {
            if let Transmit::Parts { body, .. } = &t {
                assert_eq!(body.as_ptr(), huge.as_slice().as_ptr(), "copied");
            }
            t.len()
        })
        .collect();
    // The second frame does not fit behind the first; the huge one travels alone.
    assert_eq!(lens, [9 + near, 2 + 200, 9 + BATCH_LIMIT, 2 + 3]);
    assert_eq!(pair.a.conn.transmit_len(), 0);
}

#[test]
fn ready_and_traffic_may_share_the_first_message() {
    let mut side = Side::new(config(SocketType::Pull), Subprotocol::Batch);
    let mut first = ready_frame(SocketType::Push, b"");
    first.extend_from_slice(b"\x01\x01a\x00\x01b");
    side.receive(&first);
    assert_eq!(side.err, None);
    assert_eq!(
        side.inbox,
        vec![Msg::from("a").with_more(true), Msg::from("b")]
    );
    // A data frame first is refused.
    let mut side = Side::new(config(SocketType::Pull), Subprotocol::Batch);
    side.receive(b"\x00\x01a");
    assert!(matches!(side.err, Some(Error::Proto(_))));
}

fn refused(payload: &[u8], max_msg_size: Option<u64>) -> Error {
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = max_msg_size;
    let mut side = Side::new(cfg, Subprotocol::Batch);
    side.receive(&ready_frame(SocketType::Push, b""));
    assert!(side.conn.is_ready());
    side.receive(payload);
    let err = side.err.clone().expect("accepted");
    // Whole messages are refused: nothing of the bad one was delivered; the error sticks.
    assert!(side.inbox.is_empty(), "{payload:?}");
    assert_eq!(
        side.conn.handle_message(Bytes::from_static(b"\x00\x00")),
        Err(err.clone())
    );
    assert_eq!(side.conn.poll_msg(), Err(err.clone()));
    err
}

#[test]
fn malformed_batches_are_refused_whole() {
    let proto = |e: Error| matches!(e, Error::Proto(m) if m.starts_with("malformed ZWS batch"));
    for bad in [
        &b""[..],                                          // no frame at all
        b"\x00\x01a\x00",                                  // a header cut off
        b"\x00\x01a\x02\x00\x00\x00",                      // a long header cut off
        b"\x00\x05abc",                                    // a body cut off
        b"\x00\x01a\x02\x00\x00\x00\x00\x00\x00\x01\x00x", // a long body cut off
        b"\x08\x00",                                       // reserved bit 3
        b"\x80\x00",                                       // reserved bit 7
        b"\x05\x00",                                       // MORE on a command
    ] {
        assert!(proto(refused(bad, None)), "{bad:?}");
    }
    // More than one frame over 64 KiB.
    let mut two = vec![0x02, 0, 0, 0, 0, 0, 0, 0xff, 0xf8];
    two.extend_from_slice(&[0; 0xfff8]);
    two.extend_from_slice(b"\x00\x00");
    assert!(two.len() > BATCH_LIMIT);
    assert!(proto(refused(&two, None)));
    // MAXMSGSIZE applies to each frame's body, before the body has to be there.
    // (26: READY's body, which must pass.)
    let over = [&b"\x00\x1b"[..], &[b'a'; 27]].concat();
    assert_eq!(refused(&over, Some(26)), Error::MsgSize);
    assert_eq!(
        refused(b"\x02\xff\xff\xff\xff\xff\xff\xff\xff", Some(26)),
        Error::MsgSize
    );
    assert_eq!(
        refused(b"\x02\x7f\xff\xff\xff\xff\xff\xff\xff", None),
        Error::Proto("malformed ZWS batch: a frame body is cut off".into())
    );
}

#[test]
fn accepted_edge_cases() {
    // READY's body (26 bytes for PUSH without an id) counts against MAXMSGSIZE too.
    let ready = ready_frame(SocketType::Push, b"");
    let max = ready.len() - 2;
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(max as u64);
    let mut side = Side::new(cfg, Subprotocol::Batch);
    side.receive(&ready);
    // A body of exactly MAXMSGSIZE, an empty body, a long header with a small size (the
    // ZMTP decoder's leniency, docs/wire.md §3.2), and a command that is ignored.
    let mut batch = vec![0x00, max as u8];
    batch.extend_from_slice(&vec![b'x'; max]);
    batch.extend_from_slice(
        b"\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01z\x04\x07\x04PING\x00\x00",
    );
    side.receive(&batch);
    assert_eq!(side.err, None);
    assert_eq!(
        side.inbox,
        vec![Msg::from(vec![b'x'; max]), Msg::from(""), Msg::from("z")]
    );
    assert_eq!(batch::max_message_len(Some(4)), Some(BATCH_LIMIT));
    assert_eq!(batch::max_message_len(Some(1 << 20)), Some((1 << 20) + 9));
    assert_eq!(batch::max_message_len(None), None);
}

#[test]
fn error_command_is_fatal() {
    let mut side = Side::new(config(SocketType::Pull), Subprotocol::Batch);
    side.receive(&ready_frame(SocketType::Push, b""));
    side.receive(b"\x00\x01a\x04\x0a\x05ERROR\x03bad");
    assert!(matches!(&side.err, Some(Error::Proto(m)) if m.contains("bad")));
    assert_eq!(side.inbox, vec![Msg::from("a")]);
}
