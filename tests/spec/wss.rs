//! wss:// (ZWS 2.0 over WebSocket over TLS, docs/wss.md): native server ↔ native client with
//! a CA the test makes, certificates that must be refused, the WSS_* options' rules, and
//! hostile clients on a wss:// port.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use isomq::{Context, Error, Flags, MonitorEvent, SocketOption, SocketType};
use isomq_tests::tls::Pki;
use isomq_tests::{expect_event, expect_handshake_failed, recv_string, socket};

// A wss:// bind reports itself as wss:// with the port it got (as ws:// does).
// Volume, then close right after the last send: LINGER delivers everything queued, through
// the TLS layer's own buffers too (nothing may stay behind in rustls when the socket closes).
#[test]
fn push_pull_volume_over_wss_delivers_everything_after_close() {
    const N: usize = 100_000;
    let pki = Pki::localhost();
    let ctx = Context::new();
    let (mut pull, ep) = pki.bound(&ctx, SocketType::Pull, "/jobs");
    assert!(ep.starts_with("wss://127.0.0.1:"), "{ep}");
    let mut push = socket(&ctx, SocketType::Push);
    push.set_option(SocketOption::Linger(None)).unwrap();
    pki.trust(&mut push);
    push.connect(&ep).unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..N {
            push.send(format!("job {i}").as_bytes()).unwrap();
        }
        push.send_multipart([&b"last"[..], &[7u8; 70_000][..]])
            .unwrap();
        push.close();
    });
    for i in 0..N {
        assert_eq!(recv_string(&mut pull), format!("job {i}"));
    }
    let last = pull.recv_multipart().unwrap();
    assert_eq!(last.len(), 2);
    assert_eq!(last[1].as_slice(), &[7u8; 70_000][..]);
    sender.join().unwrap();
}

// The client checks the server's certificate against the roots it trusts: a server whose
// CA it does not trust is refused, the attempt is retried (the server may get a good
// certificate, or the client the CA), nothing is delivered, and the monitor says why.
#[test]
fn untrusted_certificate_is_refused_and_retried() {
    let server_pki = Pki::localhost();
    let other_ca = Pki::localhost();
    let ctx = Context::new();
    let (mut pull, ep) = server_pki.bound(&ctx, SocketType::Pull, "/jobs");
    let mut push = socket(&ctx, SocketType::Push);
    other_ca.trust(&mut push);
    let events = push.monitor();
    push.connect(&ep).unwrap();
    push.send(&b"must not arrive"[..]).unwrap();
    expect_handshake_failed(&events, "invalid peer certificate: UnknownIssuer");
    expect_event(&events, "ConnectRetried", |e| {
        matches!(e, MonitorEvent::ConnectRetried { .. })
    });
    // A second refusal: the retry met the same certificate.
    expect_handshake_failed(&events, "UnknownIssuer");
    assert!(matches!(
        pull.recv_flags(Flags::DONTWAIT),
        Err(Error::Again)
    ));
}

// The certificate must be valid for the name connected to (WSS_HOSTNAME, or else the
// endpoint's host): a trusted certificate for another name is refused.
#[test]
fn hostname_mismatch_is_refused() {
    let pki = Pki::new(&["feeds.example"]);
    let ctx = Context::new();
    let (mut pull, ep) = pki.bound(&ctx, SocketType::Pull, "/jobs");
    let mut push = socket(&ctx, SocketType::Push);
    pki.trust(&mut push);
    let events = push.monitor();
    push.connect(&ep).unwrap();
    push.send(&b"must not arrive"[..]).unwrap();
    expect_handshake_failed(&events, "not valid for name");
    assert!(matches!(
        pull.recv_flags(Flags::DONTWAIT),
        Err(Error::Again)
    ));

    // WSS_HOSTNAME names what the certificate is for, whatever address is dialled.
    let mut named = socket(&ctx, SocketType::Push);
    pki.trust(&mut named);
    named
        .set_option(SocketOption::WssHostname(b"feeds.example".to_vec()))
        .unwrap();
    named.connect(&ep).unwrap();
    named.send(&b"by name"[..]).unwrap();
    assert_eq!(recv_string(&mut pull), "by name");
}

// Several wss:// paths share one port as ws:// paths do; a port speaks one of ws:// and
// wss://, so the other scheme on it is EADDRINUSE.
#[test]
fn wss_paths_share_a_port_and_schemes_do_not_mix() {
    let pki = Pki::localhost();
    let ctx = Context::new();
    let (mut a, ep_a) = pki.bound(&ctx, SocketType::Pull, "/a");
    let port = ep_a
        .trim_start_matches("wss://127.0.0.1:")
        .trim_end_matches("/a")
        .to_owned();
    let mut b = socket(&ctx, SocketType::Pull);
    pki.serve(&mut b);
    b.bind(&format!("wss://127.0.0.1:{port}/b")).unwrap();
    let mut plain = socket(&ctx, SocketType::Pull);
    assert!(matches!(
        plain.bind(&format!("ws://127.0.0.1:{port}/c")),
        Err(Error::AddrInUse)
    ));
    for (path, sink) in [("/a", &mut a), ("/b", &mut b)] {
        let mut push = socket(&ctx, SocketType::Push);
        pki.trust(&mut push);
        push.connect(&format!("wss://127.0.0.1:{port}{path}"))
            .unwrap();
        push.send(path.as_bytes()).unwrap();
        assert_eq!(recv_string(sink), path);
    }
}

// The options' rules: a wss:// bind needs a certificate and its key; unreadable PEM is
// EINVAL at bind or connect, before anything is opened; a client must trust something.
#[test]
fn wss_options_are_checked_at_bind_and_connect() {
    let pki = Pki::localhost();
    let ctx = Context::new();
    let mut s = socket(&ctx, SocketType::Pull);
    assert!(matches!(
        s.bind("wss://127.0.0.1:*/x"),
        Err(Error::Inval(m)) if m.contains("WSS_CERT_PEM")
    ));
    s.set_option(SocketOption::WssCertPem(b"not a certificate".to_vec()))
        .unwrap();
    s.set_option(SocketOption::WssKeyPem(
        pki.key_pem.clone().into_bytes().into(),
    ))
    .unwrap();
    assert!(matches!(
        s.bind("wss://127.0.0.1:*/x"),
        Err(Error::Inval(_))
    ));
    // The key is not given back.
    assert!(matches!(
        s.get_option(isomq::OptionName::WssKeyPem),
        Err(Error::Inval(_))
    ));

    let mut c = socket(&ctx, SocketType::Push);
    c.set_option(SocketOption::WssTrustSystem(false)).unwrap();
    assert!(matches!(
        c.connect("wss://127.0.0.1:1/x"),
        Err(Error::Inval(m)) if m.contains("trusts nothing")
    ));
    c.set_option(SocketOption::WssTrustPem(
        b"-----BEGIN CERTIFICATE-----\n!!\n".to_vec(),
    ))
    .unwrap();
    assert!(matches!(
        c.connect("wss://127.0.0.1:1/x"),
        Err(Error::Inval(_))
    ));
}

// By default a client trusts the system's roots (WSS_TRUST_SYSTEM on, as libzmq): the
// test's own CA is not among them, so its certificate is refused.
#[test]
fn system_roots_do_not_trust_a_private_ca() {
    let pki = Pki::localhost();
    let ctx = Context::new();
    let (_pull, ep) = pki.bound(&ctx, SocketType::Pull, "/jobs");
    let mut push = socket(&ctx, SocketType::Push);
    let events = push.monitor();
    push.connect(&ep).unwrap();
    expect_handshake_failed(&events, "UnknownIssuer");
}
