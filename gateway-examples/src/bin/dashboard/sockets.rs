//! The dashboard's isomq side: the publisher of host metrics, and the browser-facing
//! sockets' set-up (CURVE, Origin allow-list, the ws:// or wss:// bind).

use std::time::{Duration, Instant};

use isomq::{Flags, Result, Socket, SocketOption};
use isomq_gateway_examples::metrics::Sampler;
use isomq_gateway_examples::tls::TlsPems;

/// Publishes a sample of every metric each period, and obeys `rate <ms>` commands from
/// the control socket, announcing the rate in force on topic `rate`.
pub fn publisher(mut publish: Socket, mut control: Socket, mut rate_ms: u64) -> Result<()> {
    let mut sampler = Sampler::default();
    let mut next = Instant::now();
    loop {
        while let Ok(cmd) = control.recv_multipart_flags(Flags::DONTWAIT) {
            let words: Vec<String> = cmd
                .iter()
                .map(|f| String::from_utf8_lossy(f.as_slice()).into_owned())
                .collect();
            if let [verb, value] = &words[..] {
                if verb == "rate" {
                    if let Ok(ms) = value.trim().parse::<u64>() {
                        rate_ms = ms.clamp(50, 10_000);
                        println!("command from the browser: publish every {rate_ms} ms");
                    }
                }
            }
        }
        for (topic, json) in sampler.sample() {
            publish.send_multipart([topic, json.as_str()])?;
        }
        publish.send_multipart(["rate".to_owned(), rate_ms.to_string()])?;
        next += Duration::from_millis(rate_ms);
        let now = Instant::now();
        if next > now {
            // Wake early for commands: the control socket is polled with a timeout.
            let mut items = [isomq::PollItem::new(&mut control, isomq::PollEvents::IN)];
            isomq::poll(&mut items, Some(next - now))?;
        } else {
            next = now;
        }
    }
}

/// How often the dashboard pings its pages: a page closed without a goodbye is dropped
/// after one silent interval, and a connection through a proxy never looks idle to it,
/// even on /control where the dashboard sends nothing else.
const PAGE_HEARTBEAT: Duration = Duration::from_secs(20);

/// Makes `socket` a CURVE server with `keys` (browsers must know the public key) that
/// pings its pages and accepts WebSocket upgrades only from the pages in `origins` (any
/// page when empty).
pub fn browser_facing(
    socket: &mut Socket,
    keys: &isomq::KeyPair,
    origins: &[String],
) -> Result<()> {
    socket.set_option(SocketOption::CurveSecretKey(keys.secret.clone()))?;
    socket.set_option(SocketOption::CurveServer(true))?;
    socket.set_option(SocketOption::HeartbeatIvl(Some(PAGE_HEARTBEAT)))?;
    for origin in origins {
        socket.set_option(SocketOption::WsOrigin(origin.as_bytes().to_vec()))?;
    }
    Ok(())
}

/// Binds `socket` where pages reach it, `ws://127.0.0.1:{port}/{path}`, or wss:// with
/// `tls` (a page served over https may only open wss://). Port 0 lets the system choose;
/// sockets of one context share a port under different paths. Returns the endpoint bound.
pub fn bind_for_browsers(
    socket: &mut Socket,
    port: u16,
    path: &str,
    tls: Option<&TlsPems>,
) -> Result<String> {
    let scheme = match tls {
        Some(pems) => {
            socket.set_option(SocketOption::WssCertPem(pems.cert_pem.clone()))?;
            socket.set_option(SocketOption::WssKeyPem(pems.key_pem.clone().into()))?;
            "wss"
        }
        None => "ws",
    };
    socket.bind(&format!("{scheme}://127.0.0.1:{port}/{path}"))?;
    Ok(socket.last_endpoint().unwrap_or_default().to_owned())
}

/// The port of a `ws://host:port/path` endpoint.
pub fn port_of(endpoint: &str) -> Option<u16> {
    let (_, rest) = endpoint.rsplit_once(':')?;
    rest.split('/').next()?.parse().ok()
}
