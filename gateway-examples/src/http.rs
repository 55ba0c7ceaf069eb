//! A minimal static file server for the dashboard page: GET only, files under a few roots,
//! no directory listing, no path escapes. Enough to serve a page on loopback; not a web
//! server for the internet.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};

/// Where a URL prefix is served from.
#[derive(Debug, Clone)]
pub struct Mount {
    /// URL prefix, e.g. `/` or `/isomq/`.
    pub prefix: String,
    /// Folder on disk.
    pub dir: PathBuf,
}

/// Extra in-memory documents (e.g. `/config.json`).
pub type Documents = Vec<(String, &'static str, String)>;

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript",
        Some("css") => "text/css",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Maps a URL path onto a file under one of the mounts, refusing anything that would leave
/// the mount's folder.
fn resolve(mounts: &[Mount], url_path: &str) -> Option<PathBuf> {
    let path = url_path.split(['?', '#']).next().unwrap_or("/");
    let mount = mounts
        .iter()
        .filter(|m| path.starts_with(&m.prefix))
        .max_by_key(|m| m.prefix.len())?;
    let rest = &path[mount.prefix.len()..];
    let rest = if rest.is_empty() || rest.ends_with('/') {
        format!("{rest}index.html")
    } else {
        rest.to_owned()
    };
    let rel = Path::new(&rest);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(mount.dir.join(rel))
}

fn respond(stream: &mut TcpStream, status: &str, ctype: &str, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

fn handle(mut stream: TcpStream, mounts: &[Mount], docs: &Documents) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the headers; a bounded number of them.
    for _ in 0..100 {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
            Err(_) => return,
        }
    }
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        respond(&mut stream, "400 Bad Request", "text/plain", b"bad request");
        return;
    };
    if method != "GET" {
        respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only",
        );
        return;
    }
    if let Some((_, ctype, body)) = docs.iter().find(|(p, _, _)| p == path) {
        respond(&mut stream, "200 OK", ctype, body.as_bytes());
        return;
    }
    match resolve(mounts, path).and_then(|p| std::fs::read(&p).ok().map(|b| (p, b))) {
        Some((p, body)) => respond(&mut stream, "200 OK", content_type(&p), &body),
        None => respond(&mut stream, "404 Not Found", "text/plain", b"not found"),
    }
}

/// Serves `mounts` and `docs` on `listener` until the process ends, a thread per request.
pub fn serve(listener: TcpListener, mounts: Vec<Mount>, docs: Documents) {
    let shared = std::sync::Arc::new((mounts, docs));
    for stream in listener.incoming().flatten() {
        let shared = shared.clone();
        std::thread::spawn(move || handle(stream, &shared.0, &shared.1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_escape_their_mount() {
        let mounts = vec![
            Mount {
                prefix: "/".into(),
                dir: "/srv/web".into(),
            },
            Mount {
                prefix: "/lib/".into(),
                dir: "/srv/lib".into(),
            },
        ];
        assert_eq!(resolve(&mounts, "/"), Some("/srv/web/index.html".into()));
        assert_eq!(
            resolve(&mounts, "/app.js?x=1"),
            Some("/srv/web/app.js".into())
        );
        assert_eq!(resolve(&mounts, "/lib/a.js"), Some("/srv/lib/a.js".into()));
        assert_eq!(resolve(&mounts, "/../etc/passwd"), None);
        assert_eq!(resolve(&mounts, "/lib/../../x"), None);
    }
}
