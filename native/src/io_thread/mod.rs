//! An I/O thread: a `mio` event loop that owns listeners and sessions; other threads reach it
//! only through its mailbox (libzmq's `io_thread_t` + `reaper_t` in one).
//!
//! Its files, each importing only files listed after it (docs/architecture.md §2.2):
//! `inline_host` (the lock around a socket's own reactor and the helper thread that turns
//! it between the socket's calls), `inline` (that reactor, turned by the socket), `burst` (when its sends are written), `stamp` and `clock` (the clock readings they compare),
//! `reactor` (the loop and its command handling), `slab` (the objects by slot), `session`
//! (one peer connection's life), `services` (what a session may use while driven),
//! `mailbox` (the thread's command queue, its doorbell and pipe notifier), `command` (what
//! the thread is asked to do) and `listener`.

mod burst;
mod clock;
mod command;
mod inline;
mod inline_host;
mod listener;
mod mailbox;
mod reactor;
mod services;
mod session;
mod slab;
mod spin;
mod stamp;
#[cfg(test)]
mod tests;

use std::io;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::thread::JoinHandle;

pub(crate) use command::IoCommand;
pub(crate) use inline::InlineIo;
pub(crate) use inline_host::{InlineHost, InlineProbe};
pub(crate) use mailbox::{Mailbox, Siblings};
use reactor::Reactor;
pub(crate) use spin::note_woke_reader;
pub(crate) use stamp::SendStart;

/// The handle other threads keep to post commands to an I/O thread.
#[derive(Debug)]
pub(crate) struct IoThread {
    mailbox: Mailbox,
    join: Option<JoinHandle<()>>,
    /// The thread's count of waits that spun (docs/architecture.md §5.6).
    #[cfg(test)]
    spun_waits: Arc<AtomicU64>,
}

impl IoThread {
    /// Starts thread `index` of a context (`several_cpus`: the machine has more than one
    /// CPU, as the context found it).
    pub(crate) fn spawn(
        index: usize,
        ids: Arc<AtomicU64>,
        siblings: Siblings,
        several_cpus: bool,
    ) -> io::Result<IoThread> {
        let (mut reactor, mailbox) = Reactor::new(index, ids, siblings)?;
        #[cfg(test)]
        let spun_waits = reactor.spun_waits();
        let join = std::thread::Builder::new()
            .name(format!("isomq-io-{index}"))
            .spawn(move || reactor.run(several_cpus))?;
        Ok(IoThread {
            mailbox,
            join: Some(join),
            #[cfg(test)]
            spun_waits,
        })
    }

    /// How many of the thread's waits polled before they slept so far: the tests check
    /// that a stream never makes it spin and a request–reply exchange does.
    #[cfg(test)]
    pub(crate) fn spun_waits(&self) -> u64 {
        self.spun_waits.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Posts a command and wakes the loop. A stopped thread drops the command.
    pub(crate) fn send(&self, cmd: IoCommand) {
        self.mailbox.send(cmd);
    }

    pub(crate) fn mailbox(&self) -> Mailbox {
        self.mailbox.clone()
    }

    /// Asks the thread to finish its lingering work and waits for it to exit.
    pub(crate) fn stop_and_join(&mut self) {
        self.send(IoCommand::Stop);
        if let Some(join) = self.join.take() {
            let _ = join.join();
        }
    }
}
