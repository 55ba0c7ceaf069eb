//! A subscriber that stops reading: a raw ZMTP SUB connection that completes the handshake,
//! subscribes, and then reads nothing until the test drains it. Its kernel buffers are made
//! as small as Linux allows (a 4 KiB receive buffer, a 536-byte MSS, which also keeps the
//! publisher's send buffer small), so the publisher's queue for it fills after a few
//! hundred kilobytes instead of the megabytes loopback's buffers would take.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::rawzmtp::{frame, greeting, ready};
use crate::PATIENCE;

/// The raw connection.
#[derive(Debug)]
pub struct StalledSubscriber {
    stream: TcpStream,
    /// Bytes read and not parsed yet.
    input: Vec<u8>,
    /// The publisher's greeting was skipped.
    greeted: bool,
}

impl StalledSubscriber {
    /// Connects to `endpoint` (`tcp://host:port`), subscribes to `topic`, and stops.
    pub fn connect(endpoint: &str, topic: &[u8]) -> StalledSubscriber {
        let addr: SocketAddr = endpoint
            .trim_start_matches("tcp://")
            .parse()
            .expect("a numeric tcp endpoint");
        let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
            .expect("socket");
        // Before connecting, so the window and MSS it announces are small from the start.
        s.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        s.set_tcp_mss(536).expect("TCP_MAXSEG");
        s.connect(&SockAddr::from(addr)).expect("connect");
        let mut stream: TcpStream = s.into();
        let mut hello = greeting();
        hello.extend_from_slice(&ready("SUB", None));
        let mut subscribe = vec![9];
        subscribe.extend_from_slice(b"SUBSCRIBE");
        subscribe.extend_from_slice(topic);
        hello.extend_from_slice(&frame(0x04, &subscribe));
        stream.write_all(&hello).expect("handshake");
        StalledSubscriber {
            stream,
            input: Vec::new(),
            greeted: false,
        }
    }

    /// Starts reading again: returns the bodies of the data frames that arrive before one
    /// equal to `marker`. `poke` runs before every read of at most 20 ms, to publish the
    /// marker until it gets through (a publisher drops it while the queue is still full).
    pub fn drain_until(&mut self, marker: &[u8], mut poke: impl FnMut()) -> Vec<Vec<u8>> {
        self.stream
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
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("the publisher closed the stalled connection"),
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    /// The next complete data frame in `input` (commands are skipped), if one is there.
    fn next_data_frame(&mut self) -> Option<Vec<u8>> {
        if !self.greeted {
            if self.input.len() < 64 {
                return None;
            }
            self.input.drain(..64);
            self.greeted = true;
        }
        loop {
            let flags = *self.input.first()?;
            let (header, size) = if flags & 0x02 != 0 {
                let bytes: [u8; 8] = self.input.get(1..9)?.try_into().ok()?;
                (9, usize::try_from(u64::from_be_bytes(bytes)).ok()?)
            } else {
                (2, usize::from(*self.input.get(1)?))
            };
            if self.input.len() < header + size {
                return None;
            }
            let body = self.input[header..header + size].to_vec();
            self.input.drain(..header + size);
            if flags & 0x04 == 0 {
                return Some(body);
            }
        }
    }
}
