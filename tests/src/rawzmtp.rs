//! Hand-built ZMTP 3.1 bytes for tests that play a raw (possibly hostile) peer over tcp,
//! independent of the codec under test (docs/wire.md §2–§4).

use std::net::TcpStream;

use crate::PATIENCE;

/// A ZMTP 3.1 NULL greeting, all 64 bytes.
pub fn greeting() -> Vec<u8> {
    greeting_for(b"NULL")
}

/// A ZMTP 3.1 greeting naming `mechanism` (`NULL`, `PLAIN`, `CURVE`), all 64 bytes.
pub fn greeting_for(mechanism: &[u8]) -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1];
    let mut field = mechanism.to_vec();
    field.resize(20, 0);
    g.extend_from_slice(&field);
    g.resize(64, 0);
    g
}

/// One frame: flags (MORE 0x01, COMMAND 0x04; LONG added when the body needs it) and body.
pub fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    if body.len() > 255 {
        f.push(flags | 0x02);
        f.extend_from_slice(&(body.len() as u64).to_be_bytes());
    } else {
        f.push(flags);
        f.push(body.len() as u8);
    }
    f.extend_from_slice(body);
    f
}

/// A READY command with `Socket-Type` and, when given, `Identity` (docs/wire.md §4.2).
pub fn ready(socket_type: &str, identity: Option<&[u8]>) -> Vec<u8> {
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    let mut properties = vec![(&b"Socket-Type"[..], socket_type.as_bytes())];
    if let Some(id) = identity {
        properties.push((b"Identity", id));
    }
    for (name, value) in properties {
        body.push(name.len() as u8);
        body.extend_from_slice(name);
        body.extend_from_slice(&(value.len() as u32).to_be_bytes());
        body.extend_from_slice(value);
    }
    frame(0x04, &body)
}

/// A plain TCP client of a `tcp://` endpoint, reads bounded by [`PATIENCE`].
pub fn raw_client(ep: &str) -> TcpStream {
    let s = TcpStream::connect(ep.trim_start_matches("tcp://")).expect("connect");
    s.set_read_timeout(Some(PATIENCE)).expect("read timeout");
    s
}

/// Reads until the server closes the connection (end of file or reset); `what` names the
/// case when it does not.
pub fn assert_closed_by_server(mut s: TcpStream, what: &str) {
    use std::io::Read;
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("{what}: connection not closed by the server: {e}"),
        }
    }
}
