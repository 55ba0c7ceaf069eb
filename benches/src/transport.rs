//! The transports a comparison runs over and fresh endpoints for them.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A transport of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `inproc://`: between threads of one context.
    Inproc,
    /// `ipc://`: a Unix domain socket.
    Ipc,
    /// `tcp://` on loopback.
    Tcp,
    /// `ws://` on loopback (ZWS 2.0 over WebSocket; between two isomq ends, the batch
    /// extension of docs/wire.md §10.9).
    Ws,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Inproc => "inproc",
            Transport::Ipc => "ipc",
            Transport::Tcp => "tcp",
            Transport::Ws => "ws",
        })
    }
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Transport {
    /// The transport a name says, as [`Transport`]'s `Display` writes it.
    pub fn parse(name: &str) -> Option<Transport> {
        match name {
            "inproc" => Some(Transport::Inproc),
            "ipc" => Some(Transport::Ipc),
            "tcp" => Some(Transport::Tcp),
            "ws" => Some(Transport::Ws),
            _ => None,
        }
    }

    /// An endpoint to bind: a fresh name for inproc and ipc, an OS-chosen port for tcp (read
    /// the real one back from the socket's last endpoint).
    pub fn bind_endpoint(self) -> String {
        // Relaxed: the counter only makes names unique within this process.
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        match self {
            Transport::Inproc => format!("inproc://bench-{n}"),
            Transport::Ipc => {
                let dir = std::env::temp_dir();
                format!("ipc://{}/isomq-bench-{pid}-{n}.ipc", dir.display())
            }
            Transport::Tcp => "tcp://127.0.0.1:*".to_owned(),
            Transport::Ws => format!("ws://127.0.0.1:*/bench-{n}"),
        }
    }

    /// Removes what binding left behind (the ipc socket file).
    pub fn cleanup(self, endpoint: &str) {
        if let Some(path) = endpoint.strip_prefix("ipc://") {
            let _ = std::fs::remove_file(path);
        }
    }
}
