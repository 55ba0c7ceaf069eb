//! inproc://: sockets of one context joined by a pipe, no engine, no wire protocol
//! (docs/wire.md §8). Bind and connect may come in either order.

use std::collections::HashMap;

use bytes::Bytes;
use isomq_core::{Error, Msg, Pipe, Result, SocketType};

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

/// What one side of an inproc connection tells the other.
#[derive(Debug, Clone)]
pub(crate) struct Side {
    pub(crate) socket_type: SocketType,
    pub(crate) sndhwm: usize,
    pub(crate) rcvhwm: usize,
    /// ZMQ_ROUTING_ID, handed to a ROUTER peer as the first message of the pipe, as a ZMTP
    /// connection does with its `Identity` (libzmq `send_routing_id`).
    pub(crate) routing_id: Bytes,
}

impl Side {
    /// Writes this side's routing id into `pipe` (an end this side owns, or will own) when
    /// the peer is a ROUTER.
    fn introduce(&self, pipe: &mut Pipe, peer: SocketType) {
        if peer == SocketType::Router && pipe.write(Msg::routing_id(&self.routing_id)).is_ok() {
            pipe.flush();
        }
    }
}

#[derive(Debug)]
struct Binder {
    socket_id: u64,
    tx: MailboxTx,
    side: Side,
}

#[derive(Debug)]
struct Pending {
    /// The binder's end, created before the binder existed.
    pipe: Pipe,
    connector: Side,
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
        side: Side,
    ) -> Result<Vec<Pipe>> {
        if self.bound.contains_key(name) {
            return Err(Error::AddrInUse);
        }
        let pending = self.pending.remove(name).unwrap_or_default();
        let pipes = pending
            .into_iter()
            .map(|mut p| {
                p.pipe.set_out_hwm(sum_hwm(side.sndhwm, p.connector.rcvhwm));
                if side.socket_type != SocketType::Router {
                    // The connector sent its routing id not knowing who would bind; libzmq's
                    // ctx drops it for a binder that does not want it.
                    let _ = p.pipe.read();
                }
                side.introduce(&mut p.pipe, p.connector.socket_type);
                p.pipe
            })
            .collect();
        self.bound.insert(
            name.to_owned(),
            Binder {
                socket_id,
                tx,
                side,
            },
        );
        Ok(pipes)
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
    pub(crate) fn connect(&mut self, name: &str, pipe_id: u64, side: Side) -> (Pipe, Connected) {
        let (sndhwm, rcvhwm) = (side.sndhwm, side.rcvhwm);
        match self.bound.get(name) {
            Some(b) => {
                let (mut mine, mut theirs) = Pipe::pair(
                    pipe_id,
                    sum_hwm(sndhwm, b.side.rcvhwm),
                    sum_hwm(b.side.sndhwm, rcvhwm),
                );
                side.introduce(&mut mine, b.side.socket_type);
                b.side.introduce(&mut theirs, side.socket_type);
                // If the binder is closing, the command and the pipe in it are dropped, which
                // terminates the pipe: the connector sees the peer go.
                b.tx.send(SocketCommand::Attach(theirs));
                (mine, Connected::Delivered)
            }
            None => {
                // The binder's RCVHWM is not known yet, so the connector's own SNDHWM bounds
                // its side, as libzmq does for pending connections. Here that bound stays
                // after the bind, which can only set the binder's end (docs/wire.md §8.2).
                let (mut mine, theirs) = Pipe::pair(pipe_id, sndhwm, 0);
                // The binder's type is not known yet: the routing id always goes (libzmq).
                side.introduce(&mut mine, SocketType::Router);
                self.pending
                    .entry(name.to_owned())
                    .or_default()
                    .push(Pending {
                        pipe: theirs,
                        connector: side,
                    });
                (mine, Connected::Pending)
            }
        }
    }
}
