//! The dashboard's command line.

use std::path::PathBuf;

/// Where the page's TLS comes from.
#[derive(Debug)]
pub enum TlsSource {
    /// Plain HTTP and ws://.
    Off,
    /// `--tls-cert FILE --tls-key FILE`.
    Files { cert: PathBuf, key: PathBuf },
    /// `--tls-self-signed`: a pair for localhost made at start.
    SelfSigned,
}

#[derive(Debug)]
pub struct Args {
    pub http: String,
    pub ws_port: u16,
    pub seconds: Option<u64>,
    pub rate_ms: u64,
    pub web: PathBuf,
    pub pkg: PathBuf,
    pub uplot: PathBuf,
    pub upstream: Vec<String>,
    pub curve_secret: Option<isomq::SecretKey>,
    pub tls: TlsSource,
    /// The page opens its sockets at its own origin, where a reverse proxy routes
    /// `/metrics` and `/control` to the ws:// port.
    pub behind_proxy: bool,
    /// The pages whose sockets the ws:// listener accepts (all when empty).
    pub ws_origins: Vec<String>,
}

pub fn parse() -> Result<Args, String> {
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
        tls: TlsSource::Off,
        behind_proxy: false,
        ws_origins: Vec::new(),
    };
    let (mut cert, mut key, mut self_signed) = (None, None, false);
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
            "--tls-cert" => cert = Some(PathBuf::from(value()?)),
            "--tls-key" => key = Some(PathBuf::from(value()?)),
            "--tls-self-signed" => self_signed = true,
            "--behind-proxy" => a.behind_proxy = true,
            "--ws-origin" => a.ws_origins.push(value()?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    a.tls = match (cert, key, self_signed) {
        (None, None, false) => TlsSource::Off,
        (None, None, true) => TlsSource::SelfSigned,
        (Some(cert), Some(key), false) => TlsSource::Files { cert, key },
        (Some(_), None, false) => return Err("--tls-cert needs --tls-key".into()),
        (None, Some(_), false) => return Err("--tls-key needs --tls-cert".into()),
        (_, _, true) => return Err("--tls-self-signed replaces --tls-cert/--tls-key".into()),
    };
    if a.behind_proxy && !matches!(a.tls, TlsSource::Off) {
        return Err("--behind-proxy: the proxy terminates TLS, drop the --tls-* flags".into());
    }
    Ok(a)
}
