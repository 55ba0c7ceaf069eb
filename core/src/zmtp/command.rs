//! Command bodies (docs/wire.md §3.3, §4, §5): READY, ERROR, PING, PONG, SUBSCRIBE, CANCEL,
//! and the metadata properties READY carries.

use bytes::{BufMut, Bytes};

use crate::error::{Error, Result};

pub(crate) const READY: &[u8] = b"READY";
pub(crate) const ERROR: &[u8] = b"ERROR";
pub(crate) const PING: &[u8] = b"PING";
pub(crate) const PONG: &[u8] = b"PONG";
pub(crate) const SUBSCRIBE: &[u8] = b"SUBSCRIBE";
pub(crate) const CANCEL: &[u8] = b"CANCEL";

/// PONG echoes at most this much of the PING context (RFC 37; libzmq truncates to it).
pub(crate) const PING_MAX_CONTEXT: usize = 16;

/// A parsed command body; the slices borrow from it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    /// `READY metadata`.
    Ready(&'a [u8]),
    /// `ERROR reason`.
    Error(&'a [u8]),
    /// `PING ttl context`; ttl in tenths of a second, 0 = none.
    Ping { ttl: u16, context: &'a [u8] },
    /// `PONG context`.
    Pong(&'a [u8]),
    /// `SUBSCRIBE topic`.
    Subscribe(&'a [u8]),
    /// `CANCEL topic`.
    Cancel(&'a [u8]),
    /// Any other name. libzmq ignores these after the handshake.
    Other(&'a [u8]),
}

fn malformed(what: &str) -> Error {
    Error::Proto(format!("malformed {what} command"))
}

/// Parses `name-len name data`. Names are matched exactly (case-sensitively), as libzmq does.
pub(crate) fn parse(body: &[u8]) -> Result<Command<'_>> {
    let (&name_len, rest) = body.split_first().ok_or_else(|| malformed("empty"))?;
    if rest.len() < usize::from(name_len) {
        return Err(malformed("truncated"));
    }
    let (name, data) = rest.split_at(usize::from(name_len));
    Ok(match name {
        READY => Command::Ready(data),
        ERROR => {
            let (&len, reason) = data.split_first().ok_or_else(|| malformed("ERROR"))?;
            Command::Error(
                reason
                    .get(..usize::from(len))
                    .ok_or_else(|| malformed("ERROR"))?,
            )
        }
        PING => {
            let ttl = data.get(..2).ok_or_else(|| malformed("PING"))?;
            Command::Ping {
                ttl: u16::from_be_bytes([ttl[0], ttl[1]]),
                context: &data[2..],
            }
        }
        PONG => Command::Pong(data),
        SUBSCRIBE => Command::Subscribe(data),
        CANCEL => Command::Cancel(data),
        other => Command::Other(other),
    })
}

/// Appends one metadata property (`name-len name value-len(u32 BE) value`).
pub(crate) fn put_property(buf: &mut Vec<u8>, name: &str, value: &[u8]) {
    // Property names are ours ("Socket-Type", "Identity", "X-..."), checked ≤ 255 by callers;
    // the RFC caps values at 2^31-1 bytes.
    let name = &name.as_bytes()[..name.len().min(255)];
    let value = &value[..value.len().min(0x7FFF_FFFF)];
    buf.put_u8(name.len() as u8);
    buf.put_slice(name);
    buf.put_u32(value.len() as u32);
    buf.put_slice(value);
}

/// Parses READY metadata into `(name, value)` pairs, in order.
///
/// Follows libzmq's `parse_metadata` byte for byte so that what one accepts the other accepts:
/// parsing stops at the first property that does not fit; the body is then an error unless
/// nothing at all is left over (so a body ending right after a property name is accepted, and a
/// single leftover byte is not). Names are kept case-sensitive.
pub(crate) fn parse_metadata(mut data: &[u8]) -> Result<Vec<(String, Bytes)>> {
    let mut properties = Vec::new();
    while data.len() > 1 {
        let name_len = usize::from(data[0]);
        data = &data[1..];
        if data.len() < name_len {
            break;
        }
        let (name, rest) = data.split_at(name_len);
        data = rest;
        if data.len() < 4 {
            break;
        }
        let value_len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        data = &data[4..];
        let Some(value_len) = usize::try_from(value_len).ok().filter(|&n| n <= data.len()) else {
            break;
        };
        let (value, rest) = data.split_at(value_len);
        data = rest;
        properties.push((
            String::from_utf8_lossy(name).into_owned(),
            Bytes::copy_from_slice(value),
        ));
    }
    if !data.is_empty() {
        return Err(malformed("READY (metadata)"));
    }
    Ok(properties)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(parse(b"\x05READY"), Ok(Command::Ready(b"")));
        assert_eq!(parse(b"\x05ERROR\x03400"), Ok(Command::Error(b"400")));
        assert!(parse(b"\x05ERROR\x04400").is_err());
        assert_eq!(
            parse(b"\x04PING\x00\x0actx"),
            Ok(Command::Ping {
                ttl: 10,
                context: b"ctx"
            })
        );
        assert!(parse(b"\x04PING\x00").is_err());
        assert_eq!(parse(b"\x09SUBSCRIBEab"), Ok(Command::Subscribe(b"ab")));
        assert_eq!(parse(b"\x06CANCEL"), Ok(Command::Cancel(b"")));
        // Names are matched exactly: libzmq compares with memcmp.
        assert_eq!(parse(b"\x05ready"), Ok(Command::Other(b"ready")));
        assert!(parse(b"").is_err());
        assert!(parse(b"\x09SUB").is_err());
    }

    #[test]
    fn metadata_round_trips() {
        let mut buf = Vec::new();
        put_property(&mut buf, "Socket-Type", b"DEALER");
        put_property(&mut buf, "Identity", b"");
        let props = parse_metadata(&buf).unwrap();
        assert_eq!(
            props,
            vec![
                ("Socket-Type".to_string(), Bytes::from_static(b"DEALER")),
                ("Identity".to_string(), Bytes::new()),
            ]
        );
    }

    #[test]
    fn metadata_truncation_as_libzmq() {
        // mechanism.cpp parse_metadata: leftover bytes after the loop → EPROTO.
        assert!(parse_metadata(b"\x01").is_err());
        assert!(parse_metadata(b"\x04Name\x00\x00\x00\x05abc").is_err());
        assert!(parse_metadata(b"\x04Name\x00\x00").is_err());
        // ...but a body that ends right after a name leaves nothing over and is accepted.
        assert_eq!(parse_metadata(b"\x04Name"), Ok(vec![]));
        assert_eq!(parse_metadata(b""), Ok(vec![]));
        // A huge declared value length is compared, not allocated.
        assert!(parse_metadata(b"\x01A\xff\xff\xff\xffxy").is_err());
    }
}
