//! The web server of the example pages: static files from a few folders (tower-http's
//! `ServeDir`, which refuses paths that leave them) and small in-memory documents such as a
//! page's `/config.json`, over HTTP or HTTPS.
//!
//! It runs on a tokio runtime of its own, one worker thread: tokio serves the page and
//! nothing else, the isomq sockets keep their own I/O threads.
//!
//! HTTPS is tokio-rustls accepting for hyper, the route of axum's own TLS example: both are
//! maintained by the projects they belong to (rustls and hyper), and it takes the same
//! `rustls::ServerConfig` (ring provider) the rest of the crate builds, with no third layer
//! between axum and rustls to wait on for updates.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::routing::get;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// What a server serves.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// The folder served at `/` (its `index.html` for `/`).
    pub root: PathBuf,
    /// More folders, each under a URL prefix such as `/isomq` (no trailing slash).
    pub mounts: Vec<(String, PathBuf)>,
    /// In-memory documents: URL path, content type, body.
    pub documents: Vec<(String, &'static str, String)>,
}

impl Site {
    /// The axum router serving the site. Nothing is cached by browsers (`no-store`): the
    /// examples are run while their files are being rebuilt.
    pub fn router(self) -> Router {
        let mut app = Router::new();
        for (path, content_type, body) in self.documents {
            app = app.route(
                &path,
                get(move || async move { ([(CONTENT_TYPE, content_type)], body) }),
            );
        }
        for (prefix, dir) in self.mounts {
            app = app.nest_service(&prefix, ServeDir::new(dir));
        }
        app.fallback_service(ServeDir::new(self.root))
            .layer(SetResponseHeaderLayer::overriding(
                CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
    }
}

/// A running server: it stops when dropped.
#[derive(Debug)]
pub struct Server {
    // Dropping the runtime ends the server's tasks.
    _runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    tls: bool,
}

impl Server {
    /// The address the server listens on (the system's port when asked for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of the site's root, `http://` or `https://`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
    }
}

/// Listens on `addr` and serves `app`, over TLS with `tls`, on a runtime of its own. The
/// listener is bound before this returns, so its errors (a taken port) come back here.
pub fn start(
    addr: &str,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> io::Result<Server> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("web")
        .enable_io()
        .enable_time()
        .build()?;
    let listener = {
        let _inside = runtime.enter();
        TcpListener::from_std(listener)?
    };
    let secure = tls.is_some();
    match tls {
        None => runtime.spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("web server stopped: {e}");
            }
        }),
        Some(config) => runtime.spawn(serve_tls(listener, app, TlsAcceptor::from(config))),
    };
    Ok(Server {
        _runtime: runtime,
        addr: local,
        tls: secure,
    })
}

/// How long a client may take over its TLS handshake: one that never finishes would
/// otherwise hold its task for ever.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// Accepts TLS connections and serves HTTP/1.1 on each, in a task per connection.
async fn serve_tls(listener: TcpListener, app: Router, acceptor: TlsAcceptor) {
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(_) => {
                // Out of descriptors and the like: accepting again at once would spin.
                // axum::serve backs off the same way.
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            // A client that fails its handshake (it distrusts the certificate, it is not
            // speaking TLS) costs only its own task.
            let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_LIMIT, acceptor.accept(tcp)).await
            else {
                return;
            };
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
