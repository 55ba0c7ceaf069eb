//! Two ZWS connections back to back (a WebSocket carries whole messages, so the "wire" is a
//! list of payloads), and hand-made payloads for what a well-behaved peer never sends.

use bytes::Bytes;

use super::*;
use crate::error::Error;
use crate::msg::Msg;
use crate::socket_type::SocketType;
use crate::zmtp::{Config, Event, PeerInfo};

pub(super) struct Side {
    pub(super) conn: Connection,
    /// Every payload this side has sent, in order.
    pub(super) sent: Vec<Vec<u8>>,
    pub(super) inbox: Vec<Msg>,
    pub(super) events: Vec<Event>,
    pub(super) err: Option<Error>,
}

impl Side {
    pub(super) fn new(config: Config, sub: Subprotocol) -> Side {
        Side::with(Connection::new(config, sub))
    }

    pub(super) fn with(conn: Connection) -> Side {
        Side {
            conn,
            sent: Vec::new(),
            inbox: Vec::new(),
            events: Vec::new(),
            err: None,
        }
    }

    pub(super) fn take_output(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut expected = self.conn.transmit_len();
        while let Some(p) = self.conn.poll_transmit() {
            expected -= p.len();
            assert_eq!(self.conn.transmit_len(), expected);
            out.push(p.to_vec());
        }
        assert_eq!(expected, 0);
        self.sent.extend(out.iter().cloned());
        out
    }

    pub(super) fn receive(&mut self, payload: &[u8]) {
        if self.err.is_some() {
            return;
        }
        if let Err(e) = self.conn.handle_message(Bytes::copy_from_slice(payload)) {
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

    pub(super) fn peer(&self) -> &PeerInfo {
        match self.events.first() {
            Some(Event::Ready(p)) => p,
            _ => panic!("no Ready event; error: {:?}", self.err),
        }
    }
}

pub(super) struct Pair {
    pub(super) a: Side,
    pub(super) b: Side,
}

impl Pair {
    pub(super) fn new(a: Config, b: Config, sub: Subprotocol) -> Pair {
        Pair::of(Side::new(a, sub), Side::new(b, sub))
    }

    /// `a` and `b` as made; drives the handshake.
    pub(super) fn of(a: Side, b: Side) -> Pair {
        let mut pair = Pair { a, b };
        pair.drive();
        pair
    }

    pub(super) fn drive(&mut self) {
        loop {
            let to_b = self.a.take_output();
            for p in &to_b {
                self.b.receive(p);
            }
            let to_a = self.b.take_output();
            for p in &to_a {
                self.a.receive(p);
            }
            if to_a.is_empty() && to_b.is_empty() {
                break;
            }
        }
    }
}

pub(super) fn config(t: SocketType) -> Config {
    Config::new(t)
}

fn ready_against(local: SocketType, peer: SocketType) -> Side {
    let mut side = Side::new(config(local), Subprotocol::Null);
    side.take_output();
    let mut ready = vec![0x02];
    ready.extend_from_slice(&crate::zmtp::ready_frame(peer, b"")[2..]);
    side.receive(&ready);
    assert!(side.conn.is_ready(), "{:?}", side.err);
    side
}

#[test]
fn subprotocol_tokens_and_selection() {
    // RFC 45 tokens; libzmq picks the first offered token it supports and skips one space
    // after a comma (browsers send "a, b").
    assert_eq!(Subprotocol::Null.token(), "ZWS2.0/NULL");
    assert_eq!(Subprotocol::Bare.token(), "ZWS2.0");
    assert_eq!(
        CLIENT_PROTOCOLS.join(","),
        "ZWS2.0.isomq-batch1,ZWS2.0/NULL,ZWS2.0"
    );
    assert_eq!(
        Subprotocol::select("ZWS2.0/NULL,ZWS2.0"),
        Some(Subprotocol::Null)
    );
    assert_eq!(
        Subprotocol::select("ZWS2.0/CURVE, ZWS2.0, ZWS2.0/NULL"),
        Some(Subprotocol::Bare)
    );
    assert_eq!(Subprotocol::select("ZWS1.0"), None);
    assert_eq!(Subprotocol::select("zws2.0/null"), None);
    assert_eq!(Subprotocol::select(""), None);
}

#[test]
fn ready_bytes_for_dealer_abc() {
    // docs/wire.md §10.4: no greeting; READY goes out at once as `02 05 'READY' props`.
    let mut cfg = config(SocketType::Dealer);
    cfg.identity = Bytes::from_static(b"abc");
    let mut side = Side::new(cfg, Subprotocol::Null);
    let mut ready = vec![0x02, 0x05];
    ready.extend_from_slice(b"READY");
    ready.push(0x0b);
    ready.extend_from_slice(b"Socket-Type");
    ready.extend_from_slice(&[0, 0, 0, 6]);
    ready.extend_from_slice(b"DEALER");
    ready.push(0x08);
    ready.extend_from_slice(b"Identity");
    ready.extend_from_slice(&[0, 0, 0, 3]);
    ready.extend_from_slice(b"abc");
    assert_eq!(side.take_output(), vec![ready]);
    assert!(!side.conn.is_ready());
}

#[test]
fn handshake_between_every_compatible_pair() {
    // The ZMTP socket-type table applies over ZWS2.0/NULL too (docs/wire.md §4.4, §10.4).
    for a in SocketType::ALL {
        for b in SocketType::ALL {
            let mut ca = config(a);
            ca.identity = Bytes::from_static(b"id-a");
            let pair = Pair::new(ca, config(b), Subprotocol::Null);
            if a.is_compatible(b) {
                assert!(pair.a.conn.is_ready() && pair.b.conn.is_ready(), "{a}-{b}");
                let seen = pair.b.peer();
                assert_eq!(seen.socket_type, Some(a));
                assert_eq!(seen.version, (2, 0));
                let id: &[u8] = if a.sends_identity() { b"id-a" } else { b"" };
                assert_eq!(seen.identity, id);
            } else {
                assert!(matches!(pair.a.err, Some(Error::Proto(_))), "{a}-{b}");
                assert!(matches!(pair.b.err, Some(Error::Proto(_))), "{a}-{b}");
                assert!(pair.a.events.is_empty());
                assert_eq!(pair.a.sent.len(), 1, "only READY goes out");
            }
        }
    }
}

#[test]
fn bare_zws_exchanges_routing_ids_without_type_check() {
    // ws_engine select_protocol("ZWS2.0"): the first message each way is the routing id
    // (`00 id`), and no socket type is checked, even for a pair libzmq would refuse.
    let mut ca = config(SocketType::Push);
    ca.identity = Bytes::from_static(b"me");
    let mut pair = Pair::new(ca, config(SocketType::Sub), Subprotocol::Bare);
    assert_eq!(pair.a.sent[0], b"\x00me");
    assert_eq!(pair.b.sent[0], b"\x00");
    assert!(pair.a.conn.is_ready() && pair.b.conn.is_ready());
    assert_eq!(pair.b.peer().identity, &b"me"[..]);
    assert_eq!(pair.b.peer().socket_type, None);
    pair.a.conn.send_msg(&Msg::from("hi"));
    pair.drive();
    assert_eq!(pair.b.inbox, vec![Msg::from("hi")]);
    // A command where the routing id belongs is refused.
    let mut side = Side::new(config(SocketType::Pair), Subprotocol::Bare);
    side.receive(b"\x02\x05READY");
    assert!(matches!(side.err, Some(Error::Proto(_))));
}

#[test]
fn frames_subscriptions_and_multipart_bytes() {
    // RFC 45: `flags body`, MORE = 0x01; subscriptions are `00 01 topic` / `00 00 topic`
    // data messages (libzmq's ws engine ignores SUBSCRIBE commands).
    let mut sub = ready_against(SocketType::Sub, SocketType::Pub);
    sub.conn.send_msg(&Msg::subscribe(b"cpu"));
    sub.conn.send_msg(&Msg::cancel(b""));
    sub.conn.send_msg(&Msg::from("a").with_more(true));
    sub.conn.send_msg(&Msg::from("b"));
    assert_eq!(
        sub.take_output(),
        vec![
            b"\x00\x01cpu".to_vec(),
            b"\x00\x00".to_vec(),
            b"\x01a".to_vec(),
            b"\x00b".to_vec()
        ]
    );
}

#[test]
fn subscriptions_become_subscription_messages_on_pub_only() {
    let mut publ = ready_against(SocketType::Pub, SocketType::Sub);
    publ.receive(b"\x00\x01cpu");
    publ.receive(b"\x00\x00cpu");
    // Inside a multipart message (and for its first frame) bytes stay data.
    publ.receive(b"\x01\x01x");
    publ.receive(b"\x00\x01y");
    // libzmq's ws engine ignores SUBSCRIBE/CANCEL commands.
    publ.receive(b"\x02\x09SUBSCRIBEz");
    assert_eq!(publ.err, None);
    assert_eq!(
        publ.inbox,
        vec![
            Msg::subscribe(b"cpu"),
            Msg::cancel(b"cpu"),
            Msg::from(&b"\x01x"[..]).with_more(true),
            Msg::from(&b"\x01y"[..]),
        ]
    );
    let mut pull = ready_against(SocketType::Pull, SocketType::Push);
    pull.receive(b"\x00\x01cpu");
    assert_eq!(pull.inbox, vec![Msg::from(&b"\x01cpu"[..])]);
}

#[test]
fn subscriptions_cross_a_pair() {
    let mut pair = Pair::new(
        config(SocketType::XSub),
        config(SocketType::XPub),
        Subprotocol::Null,
    );
    pair.a.conn.send_msg(&Msg::subscribe(b"t"));
    pair.a.conn.send_msg(&Msg::cancel(b"t"));
    pair.b.conn.send_msg(&Msg::from("t-data"));
    pair.drive();
    assert_eq!(pair.b.inbox, vec![Msg::subscribe(b"t"), Msg::cancel(b"t")]);
    assert_eq!(pair.a.inbox, vec![Msg::from("t-data")]);
}

#[test]
fn bad_payloads_are_fatal_and_sticky() {
    // Empty payload (the flags byte is mandatory), reserved flag bits.
    for bad in [&b""[..], b"\x04x", b"\x80"] {
        let mut side = ready_against(SocketType::Pull, SocketType::Push);
        side.receive(bad);
        assert!(matches!(side.err, Some(Error::Proto(_))), "{bad:?}");
        assert!(side
            .conn
            .handle_message(Bytes::from_static(b"\x00ok"))
            .is_err());
        assert!(side.conn.poll_msg().is_err());
        assert!(!side.conn.is_ready());
    }
    // A data message before READY.
    let mut side = Side::new(config(SocketType::Pull), Subprotocol::Null);
    side.receive(b"\x00early");
    assert!(matches!(side.err, Some(Error::Proto(_))));
    // ERROR during and after the handshake.
    let mut side = Side::new(config(SocketType::Pull), Subprotocol::Null);
    side.receive(b"\x02\x05ERROR\x03400");
    assert_eq!(
        side.err,
        Some(Error::Auth(400)),
        "a ZAP status in ERROR is an authentication failure"
    );
    let mut side = ready_against(SocketType::Pull, SocketType::Push);
    side.receive(b"\x02\x05ERROR\x03500");
    assert_eq!(side.err, Some(Error::Auth(500)));
    // A malformed command after the handshake.
    let mut side = ready_against(SocketType::Pull, SocketType::Push);
    side.receive(b"\x02\x09SUB");
    assert!(matches!(side.err, Some(Error::Proto(_))));
}

#[test]
fn ignored_commands_after_the_handshake() {
    // ws_engine: ZMTP PING inside a binary message is not answered (WS ping is the heartbeat).
    let mut side = ready_against(SocketType::Pull, SocketType::Push);
    side.receive(b"\x02\x04PING\x00\x00");
    side.receive(b"\x02\x04PONG");
    side.receive(b"\x02\x05HELLO");
    side.receive(b"\x00x");
    assert_eq!(side.err, None);
    assert_eq!(side.inbox, vec![Msg::from("x")]);
    assert!(side.take_output().is_empty());
}

#[test]
fn max_msg_size_counts_the_body() {
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(4);
    let mut side = Side::new(cfg, Subprotocol::Null);
    side.receive(b"\x02\x05READY");
    assert_eq!(side.err, Some(Error::MsgSize), "a 6-byte READY is over 4");
    let mut cfg = config(SocketType::Pull);
    cfg.max_msg_size = Some(40);
    let mut side = Side::new(cfg, Subprotocol::Null);
    let mut ready = vec![0x02];
    ready.extend_from_slice(&crate::zmtp::ready_frame(SocketType::Push, b"")[2..]);
    side.receive(&ready);
    side.receive(&[&[0u8][..], &[b'x'; 40]].concat());
    assert_eq!(side.inbox.len(), 1);
    side.receive(&[&[0u8][..], &[b'x'; 41]].concat());
    assert_eq!(side.err, Some(Error::MsgSize));
}

#[test]
fn back_pressure_keeps_frames_until_polled() {
    let mut side = ready_against(SocketType::Pull, SocketType::Push);
    for p in [&b"\x01a"[..], b"\x00b"] {
        side.conn.handle_message(Bytes::copy_from_slice(p)).unwrap();
    }
    assert_eq!(side.conn.input_len(), 2);
    assert_eq!(
        side.conn.poll_msg().unwrap(),
        Some(Msg::from("a").with_more(true))
    );
    assert_eq!(side.conn.poll_msg().unwrap(), Some(Msg::from("b")));
    assert_eq!(side.conn.poll_msg().unwrap(), None);
}

#[test]
fn large_frames_share_the_payload() {
    let mut side = ready_against(SocketType::Pull, SocketType::Push);
    let mut payload = vec![0u8];
    payload.extend_from_slice(&[7u8; 1000]);
    let payload = Bytes::from(payload);
    let base = payload[1..].as_ptr();
    side.conn.handle_message(payload).unwrap();
    let m = side.conn.poll_msg().unwrap().unwrap();
    assert_eq!(m.len(), 1000);
    assert_eq!(m.as_slice().as_ptr(), base, "payload was copied");
}
