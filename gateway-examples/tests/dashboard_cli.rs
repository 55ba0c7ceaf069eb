//! The dashboard's command line: TLS inputs it cannot use stop it with a message that says
//! why, before it opens any socket or prints a URL.

use std::path::Path;
use std::process::{Command, Output};

fn dashboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dashboard"))
        .args(args)
        .args(["--seconds", "0"])
        .output()
        .expect("the dashboard runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_missing_pem_file_is_named() {
    let dir = std::env::temp_dir().join(format!("isomq-dash-cli-{}", std::process::id()));
    let cert = dir.join("no-such-cert.pem");
    let key = dir.join("no-such-key.pem");
    let out = dashboard(&[
        "--tls-cert",
        &cert.to_string_lossy(),
        "--tls-key",
        &key.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&*cert.to_string_lossy()), "{err}");
    assert!(
        !text(&out.stdout).contains("isomq dashboard:"),
        "it started"
    );
}

#[test]
fn half_a_tls_pair_is_refused() {
    let out = dashboard(&["--tls-cert", "cert.pem"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--tls-key"),
        "{}",
        text(&out.stderr)
    );
    let out = dashboard(&["--tls-self-signed", "--behind-proxy"]);
    assert_eq!(out.status.code(), Some(2));
}

/// With TLS of its own the dashboard serves its page over https and its sockets on wss://
/// (a page served over https may only open wss://), with the certificate it made.
#[test]
fn a_self_signed_dashboard_serves_https_and_wss() {
    let out = dashboard(&["--tls-self-signed"]);
    let stdout = text(&out.stdout);
    // The certificate was written before the sockets were bound, in a folder of its own.
    let cert = stdout
        .split(" written to ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .map(Path::new);
    let folder = cert.and_then(Path::parent);
    assert!(
        folder.is_some_and(|f| f.starts_with(std::env::temp_dir())
            && f.to_string_lossy().contains("isomq-dashboard-")),
        "{stdout}"
    );
    if let Some(folder) = folder {
        let _ = std::fs::remove_dir_all(folder);
    }
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("isomq dashboard: https://"), "{stdout}");
    assert!(stdout.contains("wss://127.0.0.1:"), "{stdout}");
}
