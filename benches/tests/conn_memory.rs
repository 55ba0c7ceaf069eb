//! Memory rule: an idle connection costs the process that accepted it no more
//! than 12 KiB of resident memory over tcp://, 24 KiB over ws://.
//!
//! How it is measured: the `conn_memory` tool of this crate (`src/bin/conn_memory.rs`)
//! binds a socket on an OS-chosen port in a fresh process and reads that process's
//! resident set size (`/proc/self/statm`); a second fresh process opens `CONNECTIONS`
//! connections to it; each completes its handshake and carries a message or two (so its
//! buffers have been used once), then stays idle; the bind side reads its resident size
//! again. The growth divided by the number of connections is the figure checked. Resident
//! memory rather than bytes allocated: it is what the machine pays, and it counts what the
//! allocator holds for the connections (freed holes included), not only what they asked for.
//!
//! Several hundred connections make the figure stable: what the process allocates once
//! (thread stacks, listener, tables) is spread thin, and page granularity (4 KiB) is lost in
//! the average. Each measurement runs in processes of its own, so other tests do not count.
#![allow(clippy::unwrap_used)]

use std::process::Command;

/// Connections per measurement: enough to average out one-off costs, few enough to run in
/// a second or two.
const CONNECTIONS: usize = 400;

/// Resident KiB per idle connection on the bind side, as `conn_memory bind` prints it.
fn bind_side_kib(transport: &str, pattern: &str) -> f64 {
    let out = Command::new(env!("CARGO_BIN_EXE_conn_memory"))
        .args(["bind", transport, pattern, &CONNECTIONS.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "conn_memory bind {transport} {pattern}: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("result "))
        .unwrap_or_else(|| panic!("no result line in {stdout:?}"));
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix("bind_kib="))
        .unwrap_or_else(|| panic!("no bind_kib in {line:?}"))
        .parse()
        .unwrap()
}

/// Checks every bind-side pattern of `transport` against `limit` KiB per connection.
fn check(transport: &str, limit: f64) {
    for pattern in ["pub", "router", "pull"] {
        let kib = bind_side_kib(transport, pattern);
        assert!(
            kib <= limit,
            "{transport} {pattern}: {kib:.2} KiB resident per idle connection, over {limit} KiB"
        );
    }
}

#[test]
fn an_idle_tcp_connection_costs_at_most_12_kib() {
    check("tcp", 12.0);
}

#[test]
fn an_idle_ws_connection_costs_at_most_24_kib() {
    check("ws", 24.0);
}
