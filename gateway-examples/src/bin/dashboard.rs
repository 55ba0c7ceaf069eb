//! The live dashboard, all in one process: a native publisher of host metrics, a gateway
//! that carries them from tcp to WebSocket, a control socket the browser sends commands to,
//! and a static web server for the page.
//!
//! ```text
//! cargo run --release -p isomq-gateway-examples --bin dashboard -- \
//!     [--http 127.0.0.1:0] [--ws-port 0] [--rate-ms 500] [--upstream EP]... [--seconds N]
//!     [--curve-secret Z85]
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

use std::net::TcpListener;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use isomq::{proxy, Context, Error, Flags, Result, Socket, SocketType};
use isomq_gateway_examples::http::{serve, Mount};
use isomq_gateway_examples::metrics::Sampler;

struct Args {
    http: String,
    ws_port: u16,
    seconds: Option<u64>,
    rate_ms: u64,
    web: PathBuf,
    pkg: PathBuf,
    uplot: PathBuf,
    upstream: Vec<String>,
    curve_secret: Option<isomq::SecretKey>,
}

fn parse_args() -> std::result::Result<Args, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let repo = root.parent().map(PathBuf::from).unwrap_or_default();
    let mut a = Args {
        http: "127.0.0.1:0".into(),
        ws_port: 0,
        seconds: None,
        rate_ms: 500,
        web: root.join("dashboard/web"),
        pkg: repo.join("js"),
        uplot: repo.join("node_modules/uplot/dist"),
        upstream: Vec::new(),
        curve_secret: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--http" => a.http = value()?,
            "--ws-port" => a.ws_port = value()?.parse().map_err(|_| "bad --ws-port")?,
            "--seconds" => a.seconds = Some(value()?.parse().map_err(|_| "bad --seconds")?),
            "--rate-ms" => a.rate_ms = value()?.parse().map_err(|_| "bad --rate-ms")?,
            "--web" => a.web = value()?.into(),
            "--pkg" => a.pkg = value()?.into(),
            "--uplot" => a.uplot = value()?.into(),
            "--upstream" => a.upstream.push(value()?),
            "--curve-secret" => {
                let key = isomq::SecretKey::parse(value()?.as_bytes())
                    .map_err(|e| format!("--curve-secret: {e}"))?;
                a.curve_secret = Some(key);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

/// Publishes a sample of every metric each period, and obeys `rate <ms>` commands from
/// the control socket, announcing the rate in force on topic `rate`.
fn publisher(mut publish: Socket, mut control: Socket, mut rate_ms: u64) -> Result<()> {
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

/// Makes `socket` a CURVE server with `keys`: browsers must know the public key.
fn curve_server(socket: &mut Socket, keys: &isomq::KeyPair) -> Result<()> {
    socket.set_option(isomq::SocketOption::CurveSecretKey(keys.secret.clone()))?;
    socket.set_option(isomq::SocketOption::CurveServer(true))
}

fn run(args: Args) -> Result<()> {
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
    curve_server(&mut xpub, &keys)?;
    // Port 0 lets the system choose; a fixed port lets a restarted gateway take over
    // where browsers reconnect.
    xpub.bind(&format!("ws://127.0.0.1:{}/metrics", args.ws_port))?;
    let metrics_ep = xpub.last_endpoint().unwrap_or_default().to_owned();
    // Several sockets share one WebSocket port, told apart by path.
    let port = metrics_ep
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or("0")
        .to_owned();
    let mut control = ctx.socket(SocketType::Pull)?;
    curve_server(&mut control, &keys)?;
    let control_ep = format!("ws://127.0.0.1:{port}/control");
    control.bind(&control_ep)?;

    let http = TcpListener::bind(&args.http).map_err(Error::from)?;
    let url = format!("http://{}/", http.local_addr().map_err(Error::from)?);
    let config = format!(
        "{{\"metrics\":\"{metrics_ep}\",\"control\":\"{control_ep}\",\"rateMs\":{},\"serverKey\":{:?}}}",
        args.rate_ms,
        keys.public.to_z85()
    );
    let mounts = vec![
        Mount {
            prefix: "/".into(),
            dir: args.web.clone(),
        },
        Mount {
            prefix: "/isomq/".into(),
            dir: args.pkg.clone(),
        },
        Mount {
            prefix: "/vendor/uplot/".into(),
            dir: args.uplot.clone(),
        },
    ];
    let docs = vec![("/config.json".to_owned(), "application/json", config)];
    thread::spawn(move || serve(http, mounts, docs));

    let gateway = thread::spawn(move || proxy(&mut xsub, &mut xpub, None));
    let rate = args.rate_ms;
    let publishing = thread::spawn(move || publisher(publish, control, rate));

    println!("isomq dashboard: {url}");
    println!("  native publisher  {pub_ep}");
    println!("  browsers          {metrics_ep} (metrics), {control_ep} (commands)");
    println!("  CURVE server key  {}", keys.public.to_z85());
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
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("dashboard: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args) {
        eprintln!("dashboard: {e}");
        std::process::exit(1);
    }
}
