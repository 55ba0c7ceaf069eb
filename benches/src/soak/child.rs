//! A peer in a process of its own, to be killed with SIGKILL and started again: the soak
//! binary run with `--role pull ENDPOINT` binds a PULL there and prints each message's
//! "stream seq" on a line, flushed at once, so what the parent reads is what the process
//! had received when it died. The parent's PUSH connects to it (ipc://, a name that the
//! next process binds again), so its queue survives the peer (docs/wire.md §7.6): of what
//! the killed peer's connection had taken, a prefix was printed, and everything after it
//! goes to the next process.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use isomq::{Context, SocketType};

use super::counters::Counters;
use super::ledger::{decode, Registry};
use super::{Shared, PATIENCE};
use crate::BoxError;

/// The child's side: binds a PULL on `endpoint`, prints `ready`, then a line per message.
pub fn child_main(endpoint: &str) -> Result<(), BoxError> {
    let ctx = Context::new();
    let mut s = ctx.socket(SocketType::Pull)?;
    s.bind(endpoint)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready")?;
    out.flush()?;
    loop {
        let m = s.recv()?;
        let (stream, seq) = decode(m.as_slice()).ok_or("a message without a header")?;
        writeln!(out, "{stream} {seq}")?;
        out.flush()?;
    }
}

/// The running child process and the thread that reads its lines into the registry.
#[derive(Debug)]
pub struct ChildPeer {
    exe: PathBuf,
    endpoint: String,
    registry: Arc<Registry>,
    shared: Arc<Shared>,
    child: Option<(Child, JoinHandle<()>)>,
}

impl ChildPeer {
    /// Starts the first process, bound on `endpoint`, once it says `ready`.
    pub fn start(
        shared: &Arc<Shared>,
        exe: PathBuf,
        endpoint: String,
        registry: Arc<Registry>,
    ) -> Result<ChildPeer, String> {
        let mut peer = ChildPeer {
            exe,
            endpoint,
            registry,
            shared: shared.clone(),
            child: None,
        };
        peer.spawn()?;
        Ok(peer)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let mut child = Command::new(&self.exe)
            .args(["--role", "pull", &self.endpoint])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.exe.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (ready_tx, ready) = mpsc::channel();
        let (registry, shared) = (self.registry.clone(), self.shared.clone());
        let reader = std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok);
            let _ = ready_tx.send(first);
            // The lines end at the process's end: killed, its pipe is closed.
            for line in lines.map_while(Result::ok) {
                record(&line, &registry, &shared.counters);
            }
        });
        match ready.recv_timeout(PATIENCE) {
            Ok(Some(line)) if line == "ready" => {
                self.child = Some((child, reader));
                Ok(())
            }
            other => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("the peer process did not start: {other:?}"))
            }
        }
    }

    /// Where the process binds.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Where its lines are recorded.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Kills the process with SIGKILL (and reaps it, and reads its last lines).
    pub fn kill(&mut self) {
        if let Some((mut child, reader)) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
        }
    }

    /// Kills the process and starts the next one on the same endpoint.
    pub fn restart(&mut self) -> Result<(), String> {
        self.kill();
        Counters::add(&self.shared.counters.kills, 1);
        self.spawn()
    }
}

impl Drop for ChildPeer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn record(line: &str, registry: &Registry, c: &Counters) {
    Counters::add(&c.received, 1);
    let parsed = line
        .split_once(' ')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
    match parsed {
        Some((stream, seq)) if registry.record(stream, seq) => {}
        _ => Counters::add(&c.reorders, 1),
    }
}
