//! The raw clients of the churn cycles: a plain TCP socket that speaks just enough ZMTP 3.1
//! or ZWS 2.0 to complete the handshake and make some traffic, then ends with a reset
//! (SO_LINGER 0), which no well-behaved client produces.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{Net, Result};
use crate::rawws::RawWs;
use crate::rawzmtp;
use crate::PATIENCE;

/// A raw client past its handshake.
#[derive(Debug)]
pub(super) struct RawPeer {
    stream: TcpStream,
    net: Net,
    /// Bytes received after the HTTP head (ws), or from the start (tcp).
    received: usize,
}

impl RawPeer {
    /// Connects to `endpoint` and sends the handshake of a `socket_type` peer (a SUB also
    /// subscribes to everything). The listener's side completes it on its own.
    pub(super) fn connect(net: Net, endpoint: &str, socket_type: &str) -> Result<RawPeer> {
        let addr = endpoint
            .split_once("://")
            .and_then(|(_, rest)| rest.split('/').next())
            .ok_or_else(|| format!("bad endpoint {endpoint}"))?;
        let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
        stream.set_read_timeout(Some(PATIENCE)).map_err(err)?;
        // As isomq's and libzmq's connections: without it, a small write (the READY) holds
        // the next one back until the listener's delayed ACK, tens of milliseconds.
        stream.set_nodelay(true).map_err(err)?;
        let mut received = 0;
        let subscribe = socket_type == "SUB";
        let hello = match net {
            Net::Tcp => {
                let mut bytes = rawzmtp::greeting();
                bytes.extend(rawzmtp::ready(socket_type, None));
                if subscribe {
                    bytes.extend(rawzmtp::frame(0x04, b"\x09SUBSCRIBE"));
                }
                bytes
            }
            Net::Ws => {
                let path = endpoint.rsplit_once(addr).map_or("/", |(_, p)| p);
                let request = RawWs::upgrade_request(addr, path, Some("ZWS2.0/NULL"));
                stream.write_all(&request).map_err(err)?;
                received = read_head(&mut stream)?;
                let mut bytes = ws_frame(&zws_ready(socket_type));
                if subscribe {
                    bytes.extend(ws_frame(b"\x00\x01"));
                }
                bytes
            }
        };
        stream.write_all(&hello).map_err(err)?;
        Ok(RawPeer {
            stream,
            net,
            received,
        })
    }

    /// Sends `n` data messages of `len` bytes, then the first half of one more: the peer
    /// ends in the middle of a frame.
    pub(super) fn send_messages(&mut self, n: usize, len: usize) -> Result<()> {
        let body = vec![b'm'; len];
        let one = match self.net {
            Net::Tcp => rawzmtp::frame(0, &body),
            Net::Ws => ws_frame(&[&[0][..], &body].concat()),
        };
        let mut bytes = one.repeat(n);
        bytes.extend_from_slice(&one[..one.len() / 2]);
        self.stream.write_all(&bytes).map_err(err)
    }

    /// The bytes of the listener's side of the handshake, for a listener of `server_type`
    /// (whose READY carries no Identity): what comes beyond is traffic.
    pub(super) fn handshake_len(&self, server_type: &str) -> usize {
        match self.net {
            Net::Tcp => rawzmtp::greeting().len() + rawzmtp::ready(server_type, None).len(),
            Net::Ws => 2 + zws_ready(server_type).len(),
        }
    }

    /// Reads what arrives within `wait`; returns whether more than `beyond` bytes have come
    /// in all.
    pub(super) fn has_received(&mut self, beyond: usize, wait: Duration) -> Result<bool> {
        self.stream.set_read_timeout(Some(wait)).map_err(err)?;
        let mut buf = [0; 4096];
        let result = loop {
            match self.stream.read(&mut buf) {
                Ok(0) => break Err("the listener closed the connection".to_owned()),
                Ok(n) => {
                    self.received += n;
                    if self.received > beyond {
                        break Ok(());
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    break Ok(())
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => break Err(err(e)),
            }
        };
        self.stream.set_read_timeout(Some(PATIENCE)).map_err(err)?;
        result.map(|()| self.received > beyond)
    }

    /// Ends the connection with a reset: SO_LINGER with a zero timeout makes close(2)
    /// send RST and drop whatever is unsent or unread.
    pub(super) fn reset(self) -> Result<()> {
        crate::linger::set_linger_zero(&self.stream).map_err(err)?;
        drop(self.stream);
        Ok(())
    }
}

fn err(e: std::io::Error) -> String {
    e.to_string()
}

/// Reads the HTTP response head of the upgrade, which must be `101`; returns how many bytes
/// came after it in the same reads.
fn read_head(stream: &mut TcpStream) -> Result<usize> {
    let mut head = Vec::new();
    let mut buf = [0; 1024];
    loop {
        let n = stream.read(&mut buf).map_err(err)?;
        if n == 0 {
            return Err("no answer to the upgrade".into());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            if !head.starts_with(b"HTTP/1.1 101") {
                return Err(String::from_utf8_lossy(&head).into_owned());
            }
            return Ok(head.len() - end - 4);
        }
    }
}

/// A NULL READY as a ZWS command message (docs/wire.md §10.4).
fn zws_ready(socket_type: &str) -> Vec<u8> {
    let mut m = b"\x02\x05READY\x0bSocket-Type".to_vec();
    m.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    m.extend_from_slice(socket_type.as_bytes());
    m
}

/// One masked binary frame, as a client sends it (RFC 6455 §5.2, §5.3).
fn ws_frame(payload: &[u8]) -> Vec<u8> {
    let key = [0x3d, 0x21, 0xfa, 0x37];
    let mut f = vec![0x82];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n.min(0xffff) as u16).to_be_bytes());
        }
    }
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}
