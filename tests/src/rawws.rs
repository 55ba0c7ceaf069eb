//! A hand-written WebSocket peer over a blocking `TcpStream`, for tests that must see or send
//! exact bytes (including frames a real client never sends).

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::PATIENCE;

/// WebSocket opcodes (RFC 6455 §5.2).
pub const TEXT: u8 = 0x1;
/// Binary data frame.
pub const BINARY: u8 = 0x2;
/// Close control frame.
pub const CLOSE: u8 = 0x8;
/// Ping control frame.
pub const PING: u8 = 0x9;
/// Pong control frame.
pub const PONG: u8 = 0xA;

/// One side of a WebSocket connection; `mask` says whether its frames are masked (clients).
/// Over TCP by default; over any byte stream (TLS for wss://) with [`RawWs::over`].
#[derive(Debug)]
pub struct RawWs<S = TcpStream> {
    pub stream: S,
    pub mask: bool,
    buf: Vec<u8>,
}

/// A received frame.
#[derive(Debug, PartialEq, Eq)]
pub struct RawFrame {
    pub fin: bool,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

/// `host:port` of a `ws://host:port/path` endpoint, and its path.
pub fn split_ws(endpoint: &str) -> (String, String) {
    let rest = endpoint.trim_start_matches("ws://");
    let i = rest.find('/').unwrap_or(rest.len());
    (rest[..i].to_owned(), rest[i..].to_owned())
}

impl RawWs {
    /// Connects and sends `request` as is; returns the response head and the peer.
    pub fn request(addr: &str, request: &[u8]) -> (String, RawWs) {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        stream.write_all(request).expect("write request");
        let mut ws = RawWs {
            stream,
            mask: true,
            buf: Vec::new(),
        };
        let head = ws.read_head().unwrap_or_default();
        (head, ws)
    }

    /// A standard upgrade request for `path` offering `protocols` (no header when None).
    pub fn upgrade_request(host: &str, path: &str, protocols: Option<&str>) -> Vec<u8> {
        let mut r = format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        );
        if let Some(p) = protocols {
            r.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
        }
        r.push_str("\r\n");
        r.into_bytes()
    }

    /// Connects to a ws:// endpoint with a standard upgrade request.
    pub fn connect(endpoint: &str, protocols: Option<&str>) -> (String, RawWs) {
        let (addr, path) = split_ws(endpoint);
        RawWs::request(&addr, &RawWs::upgrade_request(&addr, &path, protocols))
    }

    /// Wraps an accepted connection (server side: frames unmasked).
    pub fn accepted(stream: TcpStream) -> RawWs {
        stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
        RawWs {
            stream,
            mask: false,
            buf: Vec::new(),
        }
    }
}

impl<S: Read + Write> RawWs<S> {
    /// A client over `stream`, whose upgrade request the caller sends (see
    /// [`RawWs::upgrade_request`]) and whose answer it reads with [`RawWs::read_head`].
    pub fn over(stream: S) -> RawWs<S> {
        RawWs {
            stream,
            mask: true,
            buf: Vec::new(),
        }
    }

    /// Reads an HTTP head (through the blank line); None on EOF before it.
    pub fn read_head(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..i + 4).collect();
                return Some(String::from_utf8_lossy(&head).into_owned());
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Sends one frame, masked on a client.
    pub fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        let mut f = vec![(u8::from(fin) << 7) | opcode];
        let m = if self.mask { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => f.push(m | n as u8),
            n if n < 65536 => {
                f.push(m | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(m | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let key = [0x37, 0xfa, 0x21, 0x3d];
        if self.mask {
            f.extend_from_slice(&key);
            f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
        } else {
            f.extend_from_slice(payload);
        }
        // The peer may already have closed: the caller checks that.
        let _ = self.stream.write_all(&f);
    }

    /// A whole binary message.
    pub fn send(&mut self, payload: &[u8]) {
        self.send_frame(true, BINARY, payload);
    }

    /// The next frame among the bytes already received, without reading.
    pub fn buffered_frame(&mut self) -> Option<RawFrame> {
        let (frame, used) = parse(&self.buf)?;
        self.buf.drain(..used);
        Some(frame)
    }

    /// Adds bytes the caller read from `stream` itself to what frames are parsed from.
    pub fn extend_input(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next frame, unmasked; None on EOF or error (a closed connection).
    pub fn recv_frame(&mut self) -> Option<RawFrame> {
        loop {
            if let Some((frame, used)) = parse(&self.buf) {
                self.buf.drain(..used);
                return Some(frame);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// The next binary message's payload, skipping control frames.
    pub fn recv(&mut self) -> Option<Vec<u8>> {
        loop {
            let f = self.recv_frame()?;
            if f.opcode == BINARY {
                return Some(f.payload);
            }
            if f.opcode == CLOSE {
                return None;
            }
        }
    }

    /// Reads until the peer closes the connection (a close frame or EOF); panics on a
    /// data frame or if nothing happens within PATIENCE.
    pub fn assert_closed(&mut self) {
        loop {
            match self.recv_frame() {
                None => return,
                Some(f) if f.opcode == CLOSE => return,
                Some(f) if f.opcode == PING || f.opcode == PONG => {}
                Some(f) => panic!("expected the connection to close, got {f:?}"),
            }
        }
    }
}

fn parse(buf: &[u8]) -> Option<(RawFrame, usize)> {
    let b0 = *buf.first()?;
    let b1 = *buf.get(1)?;
    let mut pos = 2;
    let mut len = u64::from(b1 & 0x7f);
    if len == 126 {
        len = u64::from(u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?));
        pos = 4;
    } else if len == 127 {
        len = u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?);
        pos = 10;
    }
    let masked = b1 & 0x80 != 0;
    let key = if masked {
        let k: [u8; 4] = buf.get(pos..pos + 4)?.try_into().ok()?;
        pos += 4;
        Some(k)
    } else {
        None
    };
    let end = pos + usize::try_from(len).ok()?;
    let mut payload = buf.get(pos..end)?.to_vec();
    if let Some(k) = key {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= k[i & 3];
        }
    }
    Some((
        RawFrame {
            fin: b0 & 0x80 != 0,
            opcode: b0 & 0x0f,
            masked,
            payload,
        },
        end,
    ))
}
