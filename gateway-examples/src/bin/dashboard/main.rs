//! The live dashboard, all in one process: a native publisher of host metrics, a gateway
//! that carries them from tcp to WebSocket, a control socket the browser sends commands to,
//! and a web server for the page.
//!
//! ```text
//! cargo run --release -p isomq-gateway-examples --bin dashboard -- \
//!     [--http 127.0.0.1:0] [--ws-port 0] [--rate-ms 500] [--upstream EP]... [--seconds N]
//!     [--curve-secret Z85] [--ws-origin ORIGIN]...
//!     [--tls-cert FILE --tls-key FILE | --tls-self-signed | --behind-proxy]
//! ```
//!
//! ```text
//!  metrics publisher ── PUB tcp://127.0.0.1:* ──▶ XSUB ┐ gateway
//!                                                       │ (proxy: subscriptions flow up,
//!  browser SUB  ◀── ws://127.0.0.1:P/metrics ── XPUB ◀──┘  data flows down)
//!  browser PUSH ──▶ ws://127.0.0.1:P/control ── PULL ──▶ publisher (rate changes)
//! ```
//! Both browser-facing sockets are CURVE servers, with the key pair of `--curve-secret` (keep
//! it to restart a gateway that open pages reconnect to) or one made at start; the page gets
//! the public key from `/config.json` and makes its own key pair.
//! Any number of other native publishers can feed the gateway: pass `--upstream EP`.
//!
//! The page opens its sockets with its own scheme: ws:// from an http:// page, wss:// from
//! an https:// one. `--tls-*` serve the page over https (the sockets then need wss://);
//! `--behind-proxy` leaves TLS to a reverse proxy that serves the page and routes
//! `/metrics` and `/control` to the ws:// port (`gateway-examples/deploy/nginx.conf`).

mod args;
mod sockets;

use std::error::Error;
use std::thread;
use std::time::Duration;

use args::{Args, TlsSource};
use isomq::{proxy, Context, SocketType};
use isomq_gateway_examples::tls::TlsPems;
use isomq_gateway_examples::web::{self, Site};
use sockets::{bind_for_browsers, browser_facing, port_of, publisher};

/// Reads or makes the TLS pair, so that a missing or unreadable file stops the dashboard
/// before it opens any socket.
fn load_tls(source: &TlsSource) -> Result<Option<TlsPems>, String> {
    match source {
        TlsSource::Off => Ok(None),
        TlsSource::Files { cert, key } => TlsPems::from_files(cert, key).map(Some),
        TlsSource::SelfSigned => {
            let pems = TlsPems::self_signed(&std::env::temp_dir(), "isomq-dashboard")?;
            println!(
                "self-signed certificate for localhost, 127.0.0.1, ::1 written to {} \
                 (trust it in the browser, or accept its warning)",
                pems.cert_path.display()
            );
            Ok(Some(pems))
        }
    }
}

/// The page, the npm package, the chart library, and the page's `/config.json`.
fn site(args: &Args, ws_port: u16, server_key: &str) -> Site {
    // The page builds its sockets' URLs from its own location: behind a proxy, the page's
    // origin also serves the sockets (no port of their own).
    let ws_port = if args.behind_proxy {
        "null".to_owned()
    } else {
        ws_port.to_string()
    };
    let config = format!(
        "{{\"metrics\":\"/metrics\",\"control\":\"/control\",\"wsPort\":{ws_port},\"rateMs\":{},\"serverKey\":{server_key:?}}}",
        args.rate_ms,
    );
    Site {
        root: args.web.clone(),
        mounts: vec![
            ("/isomq".into(), args.pkg.clone()),
            ("/vendor/uplot".into(), args.uplot.clone()),
        ],
        documents: vec![("/config.json".into(), "application/json", config)],
    }
}

fn run(args: Args, tls: Option<TlsPems>) -> Result<(), Box<dyn Error>> {
    let ctx = Context::new();

    let mut publish = ctx.socket(SocketType::Pub)?;
    publish.bind("tcp://127.0.0.1:*")?;
    let pub_ep = publish.last_endpoint().unwrap_or_default().to_owned();

    // The gateway: XSUB towards native publishers, XPUB towards browsers.
    let mut xsub = ctx.socket(SocketType::XSub)?;
    xsub.connect(&pub_ep)?;
    for up in &args.upstream {
        xsub.connect(up)?;
    }
    let keys = match &args.curve_secret {
        Some(secret) => isomq::KeyPair {
            public: secret.public_key(),
            secret: secret.clone(),
        },
        None => isomq::curve_keypair()?,
    };
    let mut xpub = ctx.socket(SocketType::XPub)?;
    browser_facing(&mut xpub, &keys, &args.ws_origins)?;
    // A fixed --ws-port lets a restarted gateway take over where browsers reconnect.
    let metrics_ep = bind_for_browsers(&mut xpub, args.ws_port, "metrics", tls.as_ref())?;
    let port = port_of(&metrics_ep).ok_or(format!("no port in {metrics_ep}"))?;
    let mut control = ctx.socket(SocketType::Pull)?;
    browser_facing(&mut control, &keys, &args.ws_origins)?;
    let control_ep = bind_for_browsers(&mut control, port, "control", tls.as_ref())?;

    let site = site(&args, port, &keys.public.to_z85());
    let server_tls = tls.as_ref().map(TlsPems::server_config).transpose()?;
    let server = web::start(&args.http, site.router(), server_tls)?;

    let gateway = thread::spawn(move || proxy(&mut xsub, &mut xpub, None));
    let rate = args.rate_ms;
    let publishing = thread::spawn(move || publisher(publish, control, rate));

    println!("isomq dashboard: {}", server.url());
    println!("  native publisher  {pub_ep}");
    println!("  browsers          {metrics_ep} (metrics), {control_ep} (commands)");
    println!("  CURVE server key  {}", keys.public.to_z85());
    if args.behind_proxy {
        println!("  behind a proxy    open the proxy's URL; it routes /metrics and /control to port {port}");
    }
    match args.seconds {
        Some(s) => thread::sleep(Duration::from_secs(s)),
        None => loop {
            if gateway.is_finished() || publishing.is_finished() {
                break;
            }
            thread::sleep(Duration::from_millis(200));
        },
    }
    // Ending the context stops the gateway and the publisher with ETERM.
    ctx.terminate();
    let _ = gateway.join();
    let _ = publishing.join();
    Ok(())
}

fn main() {
    let args = args::parse();
    let (args, tls) = match args.and_then(|a| load_tls(&a.tls).map(|tls| (a, tls))) {
        Ok(both) => both,
        Err(e) => {
            eprintln!("dashboard: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args, tls) {
        eprintln!("dashboard: {e}");
        std::process::exit(1);
    }
}
