//! The example pages' web server: what it serves, what it refuses, and HTTPS with the
//! certificate it was given.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use isomq_gateway_examples::tls::TlsPems;
use isomq_gateway_examples::web::{self, Site};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

/// A folder of the test's own under the system's temp dir, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("isomq-web-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }

    fn write(&self, rel: &str, body: &str) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, body).expect("write");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn site(dir: &Path) -> Site {
    Site {
        root: dir.join("web"),
        mounts: vec![("/lib".into(), dir.join("lib"))],
        documents: vec![(
            "/config.json".into(),
            "application/json",
            "{\"a\":1}".into(),
        )],
    }
}

/// One request through the router: status, content type and body.
async fn get(site: Site, uri: &str) -> (StatusCode, String, String) {
    let request = Request::get(uri).body(Body::empty()).expect("request");
    let response = site.router().oneshot(request).await.expect("infallible");
    let status = response.status();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map_or(String::new(), |v| v.to_str().unwrap_or_default().to_owned())
    };
    let content_type = header("content-type");
    assert_eq!(header("cache-control"), "no-store", "{uri}");
    let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (
        status,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn serves_files_mounts_and_documents() {
    let dir = Scratch::new("files");
    dir.write("web/index.html", "<p>page</p>");
    dir.write("web/app.js", "let a;");
    dir.write("lib/x.js", "let x;");
    dir.write("secret.txt", "not served");

    let (status, ctype, body) = get(site(&dir.0), "/").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "<p>page</p>"));
    assert!(ctype.starts_with("text/html"), "{ctype}");
    let (status, ctype, _) = get(site(&dir.0), "/app.js?v=2").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.contains("javascript"), "{ctype}");
    let (status, _, body) = get(site(&dir.0), "/lib/x.js").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "let x;"));
    let (status, ctype, body) = get(site(&dir.0), "/config.json").await;
    assert_eq!(
        (status, ctype.as_str(), body.as_str()),
        (StatusCode::OK, "application/json", "{\"a\":1}")
    );

    for escape in [
        "/../secret.txt",
        "/lib/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/nothing.js",
    ] {
        let (status, _, body) = get(site(&dir.0), escape).await;
        assert_ne!(status, StatusCode::OK, "{escape} served {body:?}");
        assert!(!body.contains("not served"), "{escape}");
    }
}

/// A GET over TLS that trusts only `cert_pem`, as `localhost`; the raw response.
async fn get_over_tls(addr: std::net::SocketAddr, cert_pem: &[u8], path: &str) -> String {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(cert_pem) {
        roots.add(cert.expect("cert")).expect("root");
    }
    #[expect(deprecated, reason = "the server's provider: ring")]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await.expect("read");
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn https_with_a_self_signed_certificate() {
    let dir = Scratch::new("https");
    dir.write("web/index.html", "<p>secure</p>");
    let pems = TlsPems::self_signed(&dir.0, "tls").expect("self-signed pair");
    assert!(pems.cert_path.starts_with(&dir.0));
    let written = std::fs::read(&pems.cert_path).expect("the certificate is on disk");
    assert_eq!(written, pems.cert_pem);

    let config = pems.server_config().expect("rustls takes the pair");
    let server = web::start("127.0.0.1:0", site(&dir.0).router(), Some(config)).expect("start");
    assert!(
        server.url().starts_with("https://127.0.0.1:"),
        "{}",
        server.url()
    );
    let page = get_over_tls(server.addr(), &written, "/").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.ends_with("<p>secure</p>"), "{page}");
    let config = get_over_tls(server.addr(), &written, "/config.json").await;
    assert!(config.ends_with("{\"a\":1}"), "{config}");
    // The runtime must be dropped outside of an async context.
    tokio::task::spawn_blocking(move || drop(server))
        .await
        .expect("drop");
}

#[test]
fn pem_errors_name_the_file() {
    let dir = Scratch::new("pem");
    let pair = TlsPems::self_signed(&dir.0, "tls").expect("pair");
    let cert = pair.cert_path.clone();
    let key = dir.write("key.pem", &String::from_utf8_lossy(&pair.key_pem));
    assert!(TlsPems::from_files(&cert, &key).is_ok());

    let missing = dir.0.join("missing.pem");
    let e = TlsPems::from_files(&missing, &key).expect_err("no cert file");
    assert!(
        e.contains("--tls-cert") && e.contains(&*missing.to_string_lossy()),
        "{e}"
    );
    let e = TlsPems::from_files(&cert, &missing).expect_err("no key file");
    assert!(
        e.contains("--tls-key") && e.contains(&*missing.to_string_lossy()),
        "{e}"
    );

    let junk = dir.write("junk.pem", "not PEM at all\n");
    let e = TlsPems::from_files(&junk, &key).expect_err("no certificate inside");
    assert!(e.contains(&*junk.to_string_lossy()), "{e}");
    let e = TlsPems::from_files(&cert, &junk).expect_err("no key inside");
    assert!(e.contains(&*junk.to_string_lossy()), "{e}");

    let other = TlsPems::self_signed(&dir.0, "other").expect("another pair");
    let other_key = dir.write("other-key.pem", &String::from_utf8_lossy(&other.key_pem));
    let e = TlsPems::from_files(&cert, &other_key).expect_err("a key of another certificate");
    assert!(e.contains(&*other_key.to_string_lossy()), "{e}");
}
