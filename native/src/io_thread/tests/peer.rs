//! A ZMTP peer for the tests: the core's sans-IO connection over a blocking std stream,
//! each read bounded by a timeout.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};

use isomq_core::zmtp::{Config, Connection, Event};
use isomq_core::{Msg, SocketType};

use super::LIMIT;

pub(super) struct Peer {
    stream: TcpStream,
    conn: Connection,
}

impl Peer {
    /// Accepts one connection and completes the ZMTP handshake on it as `socket_type`.
    pub(super) fn accept(listener: &TcpListener, socket_type: SocketType) -> Peer {
        let (stream, _) = listener.accept().expect("accept");
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        let mut peer = Peer {
            stream,
            conn: Connection::new(Config::new(socket_type)),
        };
        loop {
            peer.flush();
            if let Some(Event::Ready(_)) = peer.conn.poll_event() {
                return peer;
            }
            peer.fill();
        }
    }

    fn flush(&mut self) {
        while self.conn.transmit_len() > 0 {
            let n = self
                .stream
                .write(self.conn.transmit_chunk())
                .expect("write");
            self.conn.advance_transmit(n);
        }
    }

    fn fill(&mut self) {
        let mut buf = [0u8; 4096];
        let n = self.stream.read(&mut buf).expect("read, within the limit");
        assert!(n > 0, "the session closed the connection");
        self.conn.handle_input(&buf[..n]).expect("valid ZMTP");
    }

    /// The next message.
    pub(super) fn recv(&mut self) -> Msg {
        loop {
            if let Some(m) = self.conn.poll_msg().expect("valid ZMTP") {
                return m;
            }
            self.flush();
            self.fill();
        }
    }

    pub(super) fn send(&mut self, frame: &str) {
        self.conn.send_msg(&Msg::from(frame));
        self.flush();
    }

    /// Waits until the session closes the connection.
    pub(super) fn expect_closed(mut self) {
        expect_closed(&mut self.stream);
    }
}

/// Reads until the other side closes `stream` (end of file or reset), within the limit.
pub(super) fn expect_closed(stream: &mut TcpStream) {
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
            Err(e) => panic!("waiting for the close: {e}"),
        }
    }
}
