// Run from the repository root:
//   RUSTC_BOOTSTRAP=1 cargo fuzz run options -- -max_total_time=60
//
// What users hand the library as values and text: socket options as libzmq's setsockopt
// takes them (`OptionName::parse` of an `OptionValue`, then `Options::apply` to a socket
// type's options and pattern), endpoint strings (`Endpoint::parse`), and a WebSocket
// client's `Sec-WebSocket-Protocol` list with the `Origin` check a ws:// listener makes.
// The first input byte chooses the socket type (bits 0-3, mod 11) and the part (bits 4-5: 0
// options, 1 endpoints, 2 subprotocols and origins, 3 all three on the same input).
//
// Options: the rest is a list of `name kind len value...` records. Checked: whatever parses
// is the option named, parses again from its own value (`SocketOption::value` is the
// inverse of `parse`), and once applied can be read back (readable options) as a value that
// parses. Endpoints: whatever parses prints (`Display`) as text that parses to the same
// endpoint. Subprotocols: the one selected was offered and speaks the mechanism asked for.
#![no_main]

use isomq_core::zws::Subprotocol;
use isomq_core::{new_pattern, Endpoint, OptionName, OptionValue, Options, SocketType};
use libfuzzer_sys::fuzz_target;

fn options(ty: SocketType, mut data: &[u8]) {
    let Ok(mut pattern) = new_pattern(ty) else {
        return;
    };
    let mut opts = Options::new(ty);
    while let [name, kind, len, rest @ ..] = data {
        let n = usize::from(*len).min(rest.len());
        let (bytes, tail) = rest.split_at(n);
        data = tail;
        let name = OptionName::ALL[usize::from(*name) % OptionName::ALL.len()];
        let value = match kind % 3 {
            0 => {
                let mut int = [0u8; 8];
                int[..n.min(8)].copy_from_slice(&bytes[..n.min(8)]);
                OptionValue::Int(i64::from_le_bytes(int))
            }
            1 => OptionValue::Bool(n % 2 == 1),
            _ => OptionValue::Bytes(bytes.to_vec()),
        };
        let Ok(option) = name.parse(value) else {
            continue;
        };
        assert_eq!(option.name(), name, "parsed as another option");
        assert_eq!(
            name.parse(option.value()).ok().as_ref(),
            Some(&option),
            "value() is not the inverse of parse()"
        );
        if opts.apply(option, pattern.as_mut()).is_ok() && name.is_readable() {
            let read = opts.get(name).expect("a readable option cannot be read");
            assert!(
                name.parse(read.value()).is_ok(),
                "read back a value that does not parse"
            );
        }
    }
}

fn endpoint(text: &str) {
    if let Ok(ep) = Endpoint::parse(text) {
        let printed = ep.to_string();
        assert_eq!(
            Endpoint::parse(&printed).ok(),
            Some(ep),
            "{text:?} prints as {printed:?}, which parses to another endpoint"
        );
    }
}

fn subprotocols(ty: SocketType, text: &str) {
    for mechanism in ["NULL", "PLAIN", "CURVE"] {
        if let Some(sub) = Subprotocol::select_for(text, mechanism) {
            assert_eq!(
                sub.mechanism(),
                mechanism,
                "selected another mechanism's token"
            );
            assert!(text.contains(sub.token()), "selected a token never offered");
        }
    }
    let mut opts = Options::new(ty);
    assert!(
        opts.accepts_origin(Some(text)),
        "no WS_ORIGIN refused an origin"
    );
    let (allowed, other) = text.split_once('\n').unwrap_or((text, ""));
    opts.ws_origins.push(allowed.to_owned());
    assert!(opts.accepts_origin(Some(allowed)));
    assert!(
        opts.accepts_origin(None),
        "a client without Origin was refused"
    );
    assert_eq!(opts.accepts_origin(Some(other)), other == allowed);
}

fuzz_target!(|data: &[u8]| {
    let Some((&setup, rest)) = data.split_first() else {
        return;
    };
    let ty = SocketType::ALL[usize::from(setup & 0x0f) % SocketType::ALL.len()];
    let text = String::from_utf8_lossy(rest);
    match (setup >> 4) & 3 {
        0 => options(ty, rest),
        1 => endpoint(&text),
        2 => subprotocols(ty, &text),
        _ => {
            options(ty, rest);
            endpoint(&text);
            subprotocols(ty, &text);
        }
    }
});
