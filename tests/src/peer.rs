//! A peer in a process of its own (the `fault_peer` binary, usually inside a network
//! namespace): its stdout lines on a channel, its stdin for lines to send, signals to
//! kill or stop it. Dropping a [`Peer`] kills it, so a failing test leaves nothing behind.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};

use crate::PATIENCE;

/// A running peer process.
#[derive(Debug)]
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Peer {
    /// Starts `command` with piped stdin and stdout and waits for its `ready` line.
    pub fn start(mut command: Command) -> Peer {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        // The channel closes at the process's end of file: `line` then reports the exit.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut peer = Peer {
            child,
            stdin,
            lines,
        };
        assert_eq!(peer.line(), "ready", "{command:?} did not start");
        peer
    }

    /// The next line the peer printed; panics when it exits or prints nothing for
    /// [`PATIENCE`].
    pub fn line(&mut self) -> String {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => panic!("the peer printed nothing"),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the peer exited: {:?}", self.child.try_wait())
            }
        }
    }

    /// Sends `line` to the peer's stdin.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .expect("write to the peer");
    }

    /// Sends `signal` (SIGSTOP, SIGCONT, ...) to the peer.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill has no memory effects; the pid is our own child, not yet reaped
        // (reaping happens only in `kill` and drop, which take the peer).
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Kills the peer with SIGKILL and returns every line it printed that was not read yet.
    pub fn kill(mut self) -> Vec<String> {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
        // The reader thread ends at the closed pipe, which closes the channel.
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(PATIENCE) {
            rest.push(line);
        }
        rest
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
