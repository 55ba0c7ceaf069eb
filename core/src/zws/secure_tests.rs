//! PLAIN and CURVE over ZWS between two connections in memory (docs/wire.md §10.10,
//! docs/security.md): the same mechanisms as over ZMTP, in command messages, and CURVE
//! MESSAGEs in data messages; ZAP answered by the test.

use bytes::Bytes;

use super::*;
use crate::error::Error;
use crate::msg::Msg;
use crate::security::{KeyPair, Random, Security};
use crate::socket_type::SocketType;
use crate::zap::{ZapOutcome, ZapReply};
use crate::zmtp::{Auth, Config, Event};

struct TestRng(u64);

impl Random for TestRng {
    fn fill(&mut self, buf: &mut [u8]) -> crate::Result<()> {
        for b in buf {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            *b = (self.0 >> 33) as u8;
        }
        Ok(())
    }
}

struct Side {
    conn: Connection,
    inbox: Vec<Msg>,
    ready: bool,
    zap_status: Option<u16>,
    err: Option<Error>,
    sent: Vec<Vec<u8>>,
}

impl Side {
    fn new(
        t: SocketType,
        security: Security,
        sub: Subprotocol,
        zap: Option<u16>,
        seed: u64,
    ) -> Side {
        let mut config = Config::new(t);
        config.auth = Auth {
            security,
            ..Auth::default()
        };
        Side {
            conn: Connection::with_random(config, sub, &mut TestRng(seed)),
            inbox: Vec::new(),
            ready: false,
            zap_status: zap,
            err: None,
            sent: Vec::new(),
        }
    }

    fn output(&mut self) -> Vec<Bytes> {
        let out: Vec<Bytes> = std::iter::from_fn(|| self.conn.poll_transmit()).collect();
        self.sent.extend(out.iter().map(|b| b.to_vec()));
        out
    }

    fn settle(&mut self) {
        while let Some(event) = self.conn.poll_event() {
            match event {
                Event::Ready(_) => self.ready = true,
                Event::Zap(_) => {
                    let outcome = match self.zap_status {
                        None => ZapOutcome::NoHandler,
                        Some(status) => ZapOutcome::Reply(ZapReply {
                            status,
                            user_id: Bytes::from_static(b"u"),
                            metadata: Bytes::new(),
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
                Ok(Some(m)) => self.inbox.push(m),
                Ok(None) => break,
                Err(e) => {
                    self.err = Some(e);
                    break;
                }
            }
        }
    }

    fn input(&mut self, payloads: Vec<Bytes>) {
        for p in payloads {
            if self.err.is_some() {
                return;
            }
            if let Err(e) = self.conn.handle_message(p) {
                self.err = Some(e);
            }
            self.settle();
        }
    }
}

fn run(a: &mut Side, b: &mut Side) {
    a.settle();
    b.settle();
    loop {
        let (ab, ba) = (a.output(), b.output());
        if ab.is_empty() && ba.is_empty() {
            return;
        }
        b.input(ab);
        a.input(ba);
    }
}

fn curve(sub: Subprotocol, zap: Option<u16>) -> (Side, Side) {
    let server_keys = KeyPair::generate(&mut TestRng(1)).unwrap();
    let client_keys = KeyPair::generate(&mut TestRng(2)).unwrap();
    let server = Side::new(
        SocketType::Pub,
        Security::CurveServer {
            keys: server_keys.clone(),
        },
        sub,
        zap,
        3,
    );
    let client = Side::new(
        SocketType::Sub,
        Security::CurveClient {
            keys: client_keys,
            server: server_keys.public,
        },
        sub,
        None,
        4,
    );
    (client, server)
}

/// CURVE over ZWS, under libzmq's name and the browser-safe one: handshake, then boxed data
/// both ways, subscriptions boxed as `01 topic` data frames (RFC 45's form), and no
/// plaintext in any message.
#[test]
fn curve_over_zws_carries_boxed_frames_and_subscriptions() {
    for sub in [Subprotocol::Curve, Subprotocol::WebCurve] {
        let (mut client, mut server) = curve(sub, None);
        run(&mut client, &mut server);
        assert!(
            client.ready && server.ready,
            "{:?} {:?}",
            client.err,
            server.err
        );
        client.conn.send_msg(&Msg::subscribe(b"weather"));
        run(&mut client, &mut server);
        assert!(server.inbox[0].is_subscribe() && server.inbox[0].as_slice() == b"weather");
        server
            .conn
            .send_msg(&Msg::copy_from_slice(b"weather-SECRET").with_more(true));
        server
            .conn
            .send_msg(&Msg::from_bytes(Bytes::from(vec![9u8; 100_000])));
        run(&mut client, &mut server);
        assert_eq!(client.inbox.len(), 2);
        assert!(client.inbox[0].more() && client.inbox[0].as_slice() == b"weather-SECRET");
        assert_eq!(client.inbox[1].len(), 100_000);
        for sent in server.sent.iter().chain(&client.sent) {
            assert!(!sent.windows(6).any(|w| w == b"SECRET" || w == b"weathe"));
        }
        let message = server.sent.last().unwrap();
        assert_eq!(
            &message[..9],
            b"\x00\x07MESSAGE",
            "a MESSAGE in a data message"
        );
    }
}

/// The HELLO goes out as the client's first ZWS message, a command message of 200 bytes of
/// body (RFC 26, RFC 45: `02` then the command).
#[test]
fn curve_hello_is_a_command_message() {
    let (mut client, _) = curve(Subprotocol::WebCurve, None);
    let hello = client.output().remove(0);
    assert_eq!((hello.len(), &hello[..7]), (201, &b"\x02\x05HELLO"[..]));
}

/// ZAP over ZWS as over ZMTP: 400 sends ERROR and both sides fail with the status.
#[test]
fn zap_denial_over_zws() {
    let (mut client, mut server) = curve(Subprotocol::Curve, Some(400));
    run(&mut client, &mut server);
    assert_eq!(server.err, Some(Error::Auth(400)));
    assert_eq!(client.err, Some(Error::Auth(400)));
}

/// PLAIN over ZWS with ZAP accepting: frames travel as they are.
#[test]
fn plain_over_zws() {
    let plain = Security::PlainClient {
        username: Bytes::from_static(b"u"),
        password: zeroize::Zeroizing::new(b"p".to_vec()),
    };
    let mut client = Side::new(SocketType::Push, plain, Subprotocol::WebPlain, None, 5);
    let mut server = Side::new(
        SocketType::Pull,
        Security::PlainServer,
        Subprotocol::WebPlain,
        Some(200),
        6,
    );
    run(&mut client, &mut server);
    assert!(client.ready && server.ready);
    client.conn.send_msg(&Msg::copy_from_slice(b"hi"));
    run(&mut client, &mut server);
    assert_eq!(server.inbox[0].as_slice(), b"hi");
}

/// A subprotocol of another mechanism than the socket's is refused, never a fallback to
/// clear text: a CURVE socket on a NULL subprotocol, a NULL socket on a CURVE one.
#[test]
fn mechanism_and_subprotocol_must_agree() {
    let (mut client, _) = curve(Subprotocol::Null, None);
    assert_eq!(client.conn.poll_msg().err(), Some(Error::NotSup));
    let mut side = Side::new(
        SocketType::Pull,
        Security::Null,
        Subprotocol::Curve,
        None,
        7,
    );
    assert_eq!(side.conn.poll_msg().err(), Some(Error::NotSup));
}

/// A message frame before the handshake, and a replayed MESSAGE, are protocol errors.
#[test]
fn hostile_zws_curve_input() {
    let (mut client, mut server) = curve(Subprotocol::Curve, None);
    server.input(vec![Bytes::from_static(b"\x00data")]);
    assert!(matches!(server.err, Some(Error::Proto(_))));
    let (mut client2, mut server2) = curve(Subprotocol::Curve, None);
    run(&mut client2, &mut server2);
    client2.conn.send_msg(&Msg::copy_from_slice(b"once"));
    let frame = client2.output();
    server2.input(frame.clone());
    server2.input(frame);
    assert!(matches!(server2.err, Some(Error::Proto(ref why)) if why.contains("replayed")));
    let _ = client.output();
}
