//! The resource limits that protect a listener facing the internet (docs/limits.md): each
//! hostile client that goes past one gets a defined outcome (its connection closed or
//! refused, its output bounded), and the well-behaved clients of the same socket are served
//! meanwhile.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::TcpStream;

use isomq::{Context, IoStats, MonitorEvent, Socket, SocketOption, SocketType};
use isomq_tests::rawws::RawWs;
use isomq_tests::rawzmtp::{assert_closed_by_server, frame, greeting, raw_client, ready};
use isomq_tests::tls::Pki;
use isomq_tests::{expect_event, recv_string, socket};

/// The transports a listener facing the internet uses, with what a client needs for each.
#[derive(Debug, Clone, Copy)]
enum Net {
    Tcp,
    Ipc,
    Ws,
    Wss,
}

/// A socket of type `t` bound on `net` (with `pki`'s certificate for wss://), configured
/// first by `configure`; returns it with its endpoint.
fn bound(
    ctx: &Context,
    t: SocketType,
    net: Net,
    pki: &Pki,
    configure: impl FnOnce(&mut Socket),
) -> (Socket, String) {
    let mut s = socket(ctx, t);
    configure(&mut s);
    pki.serve(&mut s);
    let ep = match net {
        Net::Tcp => "tcp://127.0.0.1:*".to_owned(),
        Net::Ipc => format!("ipc://@isomq-limits-{}-{t:?}", std::process::id()),
        Net::Ws => "ws://127.0.0.1:*/in".to_owned(),
        Net::Wss => "wss://127.0.0.1:*/in".to_owned(),
    };
    s.bind(&ep).unwrap();
    let ep = s.last_endpoint().unwrap().to_owned();
    (s, ep)
}

/// An isomq client of type `t` connected to `ep`, trusting `pki` for wss://.
fn client(ctx: &Context, t: SocketType, ep: &str, pki: &Pki) -> Socket {
    let mut s = socket(ctx, t);
    pki.trust(&mut s);
    s.connect(ep).unwrap();
    s
}

/// `host:port` of a tcp://, ws:// or wss:// endpoint.
fn addr(ep: &str) -> String {
    let rest = ep.split_once("://").map_or(ep, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// What the context's I/O threads hold now, added up.
fn total(ctx: &Context) -> IoStats {
    ctx.stats().into_iter().sum()
}

// MAXMSGSIZE (docs/wire.md §3.4, §10.3, §10.9): on every transport a frame at the limit is
// delivered and one over it closes that connection (a protocol error on the listener's
// side); another client of the same socket is served afterwards.
#[test]
fn maxmsgsize_holds_on_every_transport() {
    let pki = Pki::localhost();
    for net in [Net::Tcp, Net::Ipc, Net::Ws, Net::Wss] {
        let ctx = Context::new();
        let (mut pull, ep) = bound(&ctx, SocketType::Pull, net, &pki, |s| {
            s.set_option(SocketOption::MaxMsgSize(Some(64))).unwrap();
        });
        let events = pull.monitor();
        let mut push = client(&ctx, SocketType::Push, &ep, &pki);
        push.send(&[b'a'; 64][..]).unwrap();
        assert_eq!(pull.recv().unwrap().len(), 64, "{net:?}: at the limit");
        push.send(&[b'b'; 65][..]).unwrap();
        let closed = expect_event(&events, "Disconnected", |e| {
            matches!(e, MonitorEvent::Disconnected { .. })
        });
        assert!(
            matches!(&closed, MonitorEvent::Disconnected { reason, .. } if reason.contains("protocol")),
            "{net:?}: {closed:?}"
        );
        drop(push);
        let mut good = client(&ctx, SocketType::Push, &ep, &pki);
        good.send("after").unwrap();
        assert_eq!(recv_string(&mut pull), "after", "{net:?}");
    }
}

// MAX_HANDSHAKES (docs/limits.md): a listener with this many connections in their handshake
// closes each further one as soon as it accepts it (and reports AcceptFailed); clients past
// their handshake do not count, and a slot given back (a stalled client gone) serves a new
// client at once.
#[test]
fn connections_beyond_max_handshakes_are_closed_at_once() {
    const MAX: usize = 3;
    let pki = Pki::localhost();
    for net in [Net::Tcp, Net::Ws, Net::Wss] {
        let ctx = Context::new();
        let (mut pull, ep) = bound(&ctx, SocketType::Pull, net, &pki, |s| {
            s.set_option(SocketOption::MaxHandshakes(MAX)).unwrap();
        });
        let mut good = client(&ctx, SocketType::Push, &ep, &pki);
        good.send("before").unwrap();
        assert_eq!(recv_string(&mut pull), "before");
        let events = pull.monitor();
        // Connected and silent: in the handshake (TLS, upgrade or greeting) until
        // HANDSHAKE_IVL, 30 s, far beyond this test.
        let mut stalled: Vec<TcpStream> = (0..MAX)
            .map(|_| {
                let s = TcpStream::connect(addr(&ep)).unwrap();
                expect_event(&events, "Accepted", |e| {
                    matches!(e, MonitorEvent::Accepted { .. })
                });
                s
            })
            .collect();
        assert_eq!(total(&ctx).handshakes, MAX, "{net:?}");
        let refused = TcpStream::connect(addr(&ep)).unwrap();
        expect_event(&events, "AcceptFailed", |e| {
            matches!(e, MonitorEvent::AcceptFailed { .. })
        });
        assert_closed_by_server(refused, "the connection past MAX_HANDSHAKES");
        good.send("during").unwrap();
        assert_eq!(recv_string(&mut pull), "during", "{net:?}");
        // One stalled client leaves: its slot serves the next client.
        drop(stalled.pop());
        expect_event(&events, "HandshakeFailed", |e| {
            matches!(e, MonitorEvent::HandshakeFailed { .. })
        });
        let mut late = client(&ctx, SocketType::Push, &ep, &pki);
        late.send("late").unwrap();
        assert_eq!(recv_string(&mut pull), "late", "{net:?}");
        assert_eq!(total(&ctx).handshakes, MAX - 1, "{net:?}");
    }
}

/// The most a session lets wait for a peer that does not read: what the session takes from
/// the pipe stops at 256 KiB (OUT_BATCH, docs/limits.md), plus the message that crossed it
/// and two pongs.
const OUTPUT_BOUND: usize = 256 * 1024 + 2 * 1024;

/// Bytes of pings sent by the hostile clients: their answers are more than the kernel's
/// buffers of a loopback connection hold in both directions (a few MiB), so that without a
/// bound they would pile up in the listener.
const PING_BYTES: usize = 16 << 20;

// A subscriber that pings and never reads (docs/limits.md): ws:// with WebSocket pings of
// 125 bytes, tcp:// with ZMTP PINGs. Its queued output stays bounded whatever it sends and
// whatever is published, and a subscriber that reads gets every message meanwhile.
#[test]
fn a_peer_that_pings_and_never_reads_gets_bounded_output() {
    for ws in [false, true] {
        let ctx = Context::new();
        let mut xpub = socket(&ctx, SocketType::XPub);
        xpub.set_option(SocketOption::XpubVerbose(true)).unwrap();
        xpub.bind(if ws {
            "ws://127.0.0.1:*/feed"
        } else {
            "tcp://127.0.0.1:*"
        })
        .unwrap();
        let ep = xpub.last_endpoint().unwrap().to_owned();
        let mut hostile = if ws {
            HostileSub::ws(&ep)
        } else {
            HostileSub::zmtp(&ep)
        };
        hostile.send(&hostile.subscription(b""));
        assert_eq!(xpub.recv().unwrap().as_slice(), b"\x01");
        let mut good = socket(&ctx, SocketType::Sub);
        good.subscribe("").unwrap();
        good.connect(&ep).unwrap();
        assert_eq!(xpub.recv().unwrap().as_slice(), b"\x01");
        let body = vec![b'x'; 1024];
        let pings = hostile.pings(PING_BYTES);
        let pinger = std::thread::spawn(move || {
            hostile.send(&pings);
            // Behind every ping on the stream: once the listener has it, it has read them all.
            hostile.send(&hostile.subscription(b"done"));
            hostile
        });
        for i in 0..2_000u32 {
            xpub.send(&[&i.to_be_bytes()[..], &body].concat()[..])
                .unwrap();
            let got = good.recv().unwrap();
            assert_eq!(&got.as_slice()[..4], &i.to_be_bytes(), "message {i}");
        }
        let _hostile = pinger.join().unwrap();
        assert_eq!(xpub.recv().unwrap().as_slice(), b"\x01done");
        let queued = total(&ctx).queued_bytes;
        assert!(queued <= OUTPUT_BOUND, "ws {ws}: {queued} bytes queued");
    }
}

/// A raw subscriber that completed its handshake and never reads again.
struct HostileSub {
    stream: TcpStream,
    ws: bool,
}

impl HostileSub {
    fn zmtp(ep: &str) -> HostileSub {
        let mut stream = raw_client(ep);
        stream.write_all(&greeting()).unwrap();
        stream.write_all(&ready("SUB", None)).unwrap();
        HostileSub { stream, ws: false }
    }

    fn ws(ep: &str) -> HostileSub {
        let (head, ws) = RawWs::connect(ep, Some("ZWS2.0/NULL"));
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let mut sub = HostileSub {
            stream: ws.stream,
            ws: true,
        };
        let mut ready = vec![0x02, 0x05];
        ready.extend_from_slice(b"READY\x0bSocket-Type\x00\x00\x00\x03SUB");
        sub.send(&sub.ws_frame(0x2, &ready));
        sub
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// A subscription to `topic` as a data message (ZWS) or a SUBSCRIBE command (ZMTP 3.1).
    fn subscription(&self, topic: &[u8]) -> Vec<u8> {
        if self.ws {
            self.ws_frame(0x2, &[b"\x00\x01", topic].concat())
        } else {
            frame(0x04, &[b"\x09SUBSCRIBE", topic].concat())
        }
    }

    /// About `bytes` of pings back to back: WebSocket pings of 125 bytes, or ZMTP PINGs
    /// with a context of 16 bytes (the most each echoes back).
    fn pings(&self, bytes: usize) -> Vec<u8> {
        let one = if self.ws {
            self.ws_frame(0x9, &[7; 125])
        } else {
            frame(0x04, &[&b"\x04PING\x00\x00"[..], &[7; 16]].concat())
        };
        one.repeat(bytes / one.len())
    }

    /// One masked client frame (RFC 6455 §5.2) with a fixed key: the server unmasks it.
    fn ws_frame(&self, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let key = [0x5a, 0x11, 0xc3, 0x7e];
        let mut f = vec![0x80 | opcode];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        f.extend_from_slice(&key);
        f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        f
    }
}
