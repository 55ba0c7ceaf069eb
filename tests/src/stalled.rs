//! A subscriber that stops reading: a raw SUB connection, ZMTP over tcp:// or ZWS 2.0 over
//! ws:// (as a browser's would be), that completes the handshake, subscribes, and then reads
//! nothing until the test drains it. Its kernel buffers are made as small as Linux allows
//! (a 4 KiB receive buffer, a 536-byte MSS, which also keeps the publisher's send buffer
//! small), so the publisher's queue for it fills after a few hundred kilobytes instead of the
//! megabytes loopback's buffers would take.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::rawws::{split_ws, RawWs, BINARY};
use crate::rawzmtp::{frame, greeting, ready};
use crate::PATIENCE;

/// The raw connection.
#[derive(Debug)]
pub struct StalledSubscriber {
    wire: Wire,
}

#[derive(Debug)]
enum Wire {
    Zmtp {
        stream: TcpStream,
        /// Bytes read and not parsed yet.
        input: Vec<u8>,
        /// The publisher's greeting was skipped.
        greeted: bool,
    },
    Ws(RawWs),
}

/// A TCP connection to `addr` with the smallest buffers Linux allows.
fn small_connection(addr: &str) -> TcpStream {
    let addr: SocketAddr = addr.parse().expect("a numeric address");
    let s =
        Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP)).expect("socket");
    // Before connecting, so the window and MSS it announces are small from the start.
    s.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    s.set_tcp_mss(536).expect("TCP_MAXSEG");
    s.connect(&SockAddr::from(addr)).expect("connect");
    s.into()
}

impl StalledSubscriber {
    /// Connects to `endpoint` (`tcp://host:port` or `ws://host:port/path`), subscribes to
    /// `topic`, and stops.
    pub fn connect(endpoint: &str, topic: &[u8]) -> StalledSubscriber {
        if endpoint.starts_with("ws://") {
            return StalledSubscriber::connect_ws(endpoint, topic);
        }
        let mut stream = small_connection(endpoint.trim_start_matches("tcp://"));
        let mut hello = greeting();
        hello.extend_from_slice(&ready("SUB", None));
        let mut subscribe = vec![9];
        subscribe.extend_from_slice(b"SUBSCRIBE");
        subscribe.extend_from_slice(topic);
        hello.extend_from_slice(&frame(0x04, &subscribe));
        stream.write_all(&hello).expect("handshake");
        StalledSubscriber {
            wire: Wire::Zmtp {
                stream,
                input: Vec::new(),
                greeted: false,
            },
        }
    }

    /// ZWS 2.0 with the NULL mechanism (docs/wire.md): the upgrade, READY as a command
    /// message (flags byte 0x02), the subscription as a data message starting with 0x01.
    fn connect_ws(endpoint: &str, topic: &[u8]) -> StalledSubscriber {
        let (addr, path) = split_ws(endpoint);
        let mut ws = RawWs::over(small_connection(&addr));
        let request = RawWs::upgrade_request(&addr, &path, Some("ZWS2.0/NULL"));
        ws.stream.write_all(&request).expect("upgrade request");
        let head = ws.read_head().expect("an upgrade response");
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let mut ready = vec![0x02, 0x05];
        ready.extend_from_slice(b"READY\x0bSocket-Type\x00\x00\x00\x03SUB");
        ws.send(&ready);
        ws.send(&[&[0x00, 0x01], topic].concat());
        StalledSubscriber { wire: Wire::Ws(ws) }
    }

    /// Starts reading again: returns the bodies of the data frames that arrive before one
    /// equal to `marker`. `poke` runs before every read of at most 20 ms, to publish the
    /// marker until it gets through (a publisher drops it while the queue is still full).
    pub fn drain_until(&mut self, marker: &[u8], mut poke: impl FnMut()) -> Vec<Vec<u8>> {
        self.stream()
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("read timeout");
        let start = std::time::Instant::now();
        let mut bodies = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            while let Some(body) = self.next_data_frame() {
                if body == marker {
                    return bodies;
                }
                bodies.push(body);
            }
            assert!(start.elapsed() < PATIENCE, "the marker never came");
            poke();
            match self.stream().read(&mut buf) {
                Ok(0) => panic!("the publisher closed the stalled connection"),
                Ok(n) => self.received(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    fn stream(&mut self) -> &mut TcpStream {
        match &mut self.wire {
            Wire::Zmtp { stream, .. } => stream,
            Wire::Ws(ws) => &mut ws.stream,
        }
    }

    fn received(&mut self, bytes: &[u8]) {
        match &mut self.wire {
            Wire::Zmtp { input, .. } => input.extend_from_slice(bytes),
            Wire::Ws(ws) => ws.extend_input(bytes),
        }
    }

    /// The next complete data frame received (commands are skipped), if one is there.
    fn next_data_frame(&mut self) -> Option<Vec<u8>> {
        match &mut self.wire {
            Wire::Zmtp { input, greeted, .. } => next_zmtp_data(input, greeted),
            Wire::Ws(ws) => loop {
                let f = ws.buffered_frame()?;
                // ZWS 2.0: one WebSocket message per frame, its first byte the flags
                // (0x01 MORE, 0x02 COMMAND).
                match f.payload.split_first() {
                    Some((flags, body)) if f.opcode == BINARY && flags & 0x02 == 0 => {
                        return Some(body.to_vec())
                    }
                    _ => {}
                }
            },
        }
    }
}

/// The next complete ZMTP data frame in `input`, past the peer's greeting.
fn next_zmtp_data(input: &mut Vec<u8>, greeted: &mut bool) -> Option<Vec<u8>> {
    if !*greeted {
        if input.len() < 64 {
            return None;
        }
        input.drain(..64);
        *greeted = true;
    }
    loop {
        let flags = *input.first()?;
        let (header, size) = if flags & 0x02 != 0 {
            let bytes: [u8; 8] = input.get(1..9)?.try_into().ok()?;
            (9, usize::try_from(u64::from_be_bytes(bytes)).ok()?)
        } else {
            (2, usize::from(*input.get(1)?))
        };
        if input.len() < header + size {
            return None;
        }
        let body = input[header..header + size].to_vec();
        input.drain(..header + size);
        if flags & 0x04 == 0 {
            return Some(body);
        }
    }
}
