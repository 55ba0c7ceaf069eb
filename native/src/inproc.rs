//! inproc://: sockets of one context joined by a pipe, no engine, no wire protocol
//! (PROTOCOL.md §7.2). Bind and connect may come in either order.

use std::collections::HashMap;

use isomq_core::{Error, Pipe, Result};

use crate::command::SocketCommand;
use crate::mailbox::MailboxTx;

/// libzmq's inproc HWM: the connector's SNDHWM plus the binder's RCVHWM (and the reverse),
/// unlimited if either side is.
pub(crate) fn sum_hwm(a: usize, b: usize) -> usize {
    if a == 0 || b == 0 {
        0
    } else {
        a.saturating_add(b)
    }
}

#[derive(Debug)]
struct Binder {
    socket_id: u64,
    tx: MailboxTx,
    sndhwm: usize,
    rcvhwm: usize,
}

#[derive(Debug)]
struct Pending {
    /// The binder's end, created before the binder existed.
    pipe: Pipe,
    connector_rcvhwm: usize,
}

/// The context's registry of inproc names.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    bound: HashMap<String, Binder>,
    pending: HashMap<String, Vec<Pending>>,
}

/// What a connect found.
pub(crate) enum Connected {
    /// The binder exists; its end was posted to it.
    Delivered,
    /// No binder yet: the end waits in the registry.
    Pending,
}

impl Registry {
    /// Registers `name`; returns the pipe ends left by earlier connects, for the binder to
    /// attach.
    pub(crate) fn bind(
        &mut self,
        name: &str,
        socket_id: u64,
        tx: MailboxTx,
        sndhwm: usize,
        rcvhwm: usize,
    ) -> Result<Vec<Pipe>> {
        if self.bound.contains_key(name) {
            return Err(Error::AddrInUse);
        }
        self.bound.insert(
            name.to_owned(),
            Binder {
                socket_id,
                tx,
                sndhwm,
                rcvhwm,
            },
        );
        let pending = self.pending.remove(name).unwrap_or_default();
        Ok(pending
            .into_iter()
            .map(|mut p| {
                p.pipe.set_out_hwm(sum_hwm(sndhwm, p.connector_rcvhwm));
                p.pipe
            })
            .collect())
    }

    /// Removes `name` if `socket_id` bound it.
    pub(crate) fn unbind(&mut self, name: &str, socket_id: u64) -> bool {
        if self
            .bound
            .get(name)
            .is_some_and(|b| b.socket_id == socket_id)
        {
            self.bound.remove(name);
            return true;
        }
        false
    }

    /// Creates the pipe for a connect to `name`; returns the connector's end.
    pub(crate) fn connect(
        &mut self,
        name: &str,
        pipe_id: u64,
        sndhwm: usize,
        rcvhwm: usize,
    ) -> (Pipe, Connected) {
        match self.bound.get(name) {
            Some(b) => {
                let (mine, theirs) = Pipe::pair(
                    pipe_id,
                    sum_hwm(sndhwm, b.rcvhwm),
                    sum_hwm(b.sndhwm, rcvhwm),
                );
                // If the binder is closing, the command and the pipe in it are dropped, which
                // terminates the pipe: the connector sees the peer go.
                b.tx.send(SocketCommand::Attach(theirs));
                (mine, Connected::Delivered)
            }
            None => {
                // The binder's RCVHWM is not known yet; until then the connector's own
                // SNDHWM bounds its side, as libzmq does for pending connections.
                let (mine, theirs) = Pipe::pair(pipe_id, sndhwm, 0);
                self.pending
                    .entry(name.to_owned())
                    .or_default()
                    .push(Pending {
                        pipe: theirs,
                        connector_rcvhwm: rcvhwm,
                    });
                (mine, Connected::Pending)
            }
        }
    }
}
