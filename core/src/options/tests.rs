//! The options table against libzmq's rules: defaults, value ranges, spellings, and the
//! round trip through libzmq's C-level values.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use super::{OptionName, OptionValue, Options, SocketOption};
use crate::{new_pattern, Error, SocketType};

/// libzmq's name without `ZMQ_`, in camelCase.
fn camel(zmq: &str) -> String {
    let mut out = String::new();
    // isomq's own options carry ISOMQ_ where libzmq's carry ZMQ_.
    let bare = zmq.trim_start_matches("ZMQ_").trim_start_matches("ISOMQ_");
    for (i, word) in bare.split('_').enumerate() {
        let word = word.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&word);
        } else {
            let mut chars = word.chars();
            if let Some(c) = chars.next() {
                out.push(c.to_ascii_uppercase());
                out.extend(chars);
            }
        }
    }
    out
}

#[test]
fn js_names_are_the_camel_case_of_libzmq_names() {
    for name in OptionName::ALL {
        assert_eq!(name.js_name(), camel(name.libzmq_name()), "{name:?}");
        assert_eq!(OptionName::from_js_name(name.js_name()), Some(*name));
    }
    assert_eq!(OptionName::from_js_name("maxMsgSize"), None);
}

#[test]
fn defaults_are_libzmq_4_3_5s() {
    let o = Options::new(SocketType::Dealer);
    let int = |n| o.get(n).unwrap().value();
    assert_eq!(int(OptionName::SndHwm), OptionValue::Int(1000));
    assert_eq!(int(OptionName::RcvHwm), OptionValue::Int(1000));
    assert_eq!(int(OptionName::Linger), OptionValue::Int(-1));
    assert_eq!(int(OptionName::SndTimeout), OptionValue::Int(-1));
    assert_eq!(int(OptionName::RcvTimeout), OptionValue::Int(-1));
    assert_eq!(int(OptionName::ReconnectIvl), OptionValue::Int(100));
    assert_eq!(int(OptionName::ReconnectIvlMax), OptionValue::Int(0));
    assert_eq!(int(OptionName::HandshakeIvl), OptionValue::Int(30_000));
    assert_eq!(int(OptionName::ConnectTimeout), OptionValue::Int(0));
    assert_eq!(int(OptionName::MaxMsgSize), OptionValue::Int(-1));
    assert_eq!(int(OptionName::Backlog), OptionValue::Int(100));
    // isomq's own: a bound on the handshakes a listener runs at once (docs/limits.md).
    assert_eq!(int(OptionName::MaxHandshakes), OptionValue::Int(1000));
    assert_eq!(int(OptionName::HeartbeatIvl), OptionValue::Int(0));
    assert_eq!(int(OptionName::HeartbeatTimeout), OptionValue::Int(-1));
    assert_eq!(int(OptionName::HeartbeatTtl), OptionValue::Int(0));
    assert_eq!(int(OptionName::RoutingId), OptionValue::Bytes(Vec::new()));
    assert_eq!(int(OptionName::ReqRelaxed), OptionValue::Bool(false));
    // libzmq: SUB and XSUB sockets linger 0 by default.
    let sub = Options::new(SocketType::Sub);
    assert_eq!(
        sub.get(OptionName::Linger).unwrap().value(),
        OptionValue::Int(0)
    );
}

/// A value each option accepts that differs from its default.
fn sample(name: OptionName) -> OptionValue {
    match name {
        OptionName::RoutingId
        | OptionName::ConnectRoutingId
        | OptionName::PlainUsername
        | OptionName::PlainPassword
        | OptionName::ZapDomain => OptionValue::Bytes(b"peer".to_vec()),
        OptionName::WsOrigin => OptionValue::Bytes(b"https://example.com".to_vec()),
        OptionName::WssCertPem | OptionName::WssKeyPem | OptionName::WssTrustPem => {
            OptionValue::Bytes(b"-----BEGIN CERTIFICATE-----".to_vec())
        }
        OptionName::WssHostname => OptionValue::Bytes(b"example.com".to_vec()),
        OptionName::CurvePublicKey | OptionName::CurveSecretKey | OptionName::CurveServerKey => {
            OptionValue::Bytes(vec![7; 32])
        }
        OptionName::Subscribe | OptionName::Unsubscribe => OptionValue::Bytes(b"topic".to_vec()),
        n => match Options::new(SocketType::Dealer).get(n).unwrap().value() {
            OptionValue::Bool(b) => OptionValue::Bool(!b),
            _ => OptionValue::Int(1234),
        },
    }
}

#[test]
fn every_readable_option_reads_back_what_was_set() {
    for &name in OptionName::ALL {
        let mut o = Options::new(SocketType::Dealer);
        let option = name.parse(sample(name)).unwrap();
        assert_eq!(option.name(), name);
        o.store(option.clone());
        if name.is_readable() {
            assert_eq!(o.get(name).unwrap(), option, "{name:?}");
            assert_eq!(o.get(name).unwrap().value(), sample(name), "{name:?}");
        } else {
            assert!(matches!(o.get(name), Err(Error::Inval(_))));
        }
    }
}

#[test]
fn libzmq_none_values_map_to_no_duration() {
    let none = |name: OptionName, v: i64| name.parse(OptionValue::Int(v)).unwrap();
    assert_eq!(none(OptionName::Linger, -1), SocketOption::Linger(None));
    assert_eq!(
        none(OptionName::ReconnectIvl, -1),
        SocketOption::ReconnectIvl(None)
    );
    assert_eq!(
        none(OptionName::HandshakeIvl, 0),
        SocketOption::HandshakeIvl(None)
    );
    assert_eq!(
        none(OptionName::HeartbeatIvl, 0),
        SocketOption::HeartbeatIvl(None)
    );
    assert_eq!(
        none(OptionName::ConnectTimeout, 0),
        SocketOption::ConnectTimeout(None)
    );
    assert_eq!(
        none(OptionName::MaxMsgSize, -1),
        SocketOption::MaxMsgSize(None)
    );
    // A typed zero is "none" too where libzmq's 0 is: never a timer that fires at once.
    let mut o = Options::new(SocketType::Push);
    o.store(SocketOption::HeartbeatIvl(Some(Duration::ZERO)));
    o.store(SocketOption::HandshakeIvl(Some(Duration::ZERO)));
    o.store(SocketOption::ConnectTimeout(Some(Duration::ZERO)));
    assert_eq!(o.connect_timeout, None);
    assert_eq!(o.heartbeat_ivl, None);
    assert_eq!(o.handshake_ivl, None);
}

#[test]
fn out_of_range_values_are_refused_with_the_options_name() {
    let refused = |name: OptionName, v: OptionValue| match name.parse(v) {
        Err(Error::Inval(why)) => assert!(why.contains(name.libzmq_name()), "{why}"),
        other => panic!("{name:?}: {other:?}"),
    };
    refused(OptionName::SndHwm, OptionValue::Int(-1));
    refused(OptionName::Linger, OptionValue::Int(-2));
    refused(OptionName::ReconnectIvlMax, OptionValue::Int(-1));
    refused(OptionName::MaxMsgSize, OptionValue::Int(-5));
    refused(OptionName::RoutingId, OptionValue::Bytes(Vec::new()));
    refused(OptionName::RoutingId, OptionValue::Bytes(vec![1; 256]));
    refused(OptionName::HeartbeatTtl, OptionValue::Int(6_553_600));
    refused(
        OptionName::Backlog,
        OptionValue::Int(i64::from(i32::MAX) + 1),
    );
    refused(OptionName::XpubNodrop, OptionValue::Int(2));
    refused(OptionName::SndHwm, OptionValue::Bool(true));
    assert!(OptionName::HeartbeatTtl
        .parse(OptionValue::Int(6_553_599))
        .is_ok());
}

#[test]
fn an_option_the_socket_type_lacks_changes_nothing() {
    let mut o = Options::new(SocketType::Push);
    let mut push = new_pattern(SocketType::Push).unwrap();
    let r = o.apply(SocketOption::ReqRelaxed(true), push.as_mut());
    assert!(matches!(r, Err(Error::Inval(_))));
    assert!(!o.req_relaxed);
    let mut req = new_pattern(SocketType::Req).unwrap();
    o.apply(SocketOption::ReqRelaxed(true), req.as_mut())
        .unwrap();
    assert!(o.req_relaxed);
}

/// WS_ORIGIN adds to the allow-list, empty clears it; without a list every origin passes,
/// and an upgrade without `Origin` (not a browser) always does.
#[test]
fn ws_origins_add_up_and_clear() {
    let mut o = Options::new(SocketType::Pub);
    assert!(o.accepts_origin(Some("https://evil.example")));
    o.store(SocketOption::WsOrigin(b"https://app.example".to_vec()));
    o.store(SocketOption::WsOrigin(b"http://localhost:8080".to_vec()));
    assert!(o.accepts_origin(Some("https://app.example")));
    assert!(o.accepts_origin(Some("http://localhost:8080")));
    assert!(!o.accepts_origin(Some("https://evil.example")));
    assert!(o.accepts_origin(None));
    o.store(SocketOption::WsOrigin(Vec::new()));
    assert!(o.accepts_origin(Some("https://evil.example")));
    assert!(SocketOption::WsOrigin(vec![0xff]).validate().is_err());
}
