//! inproc:// between sockets of one context (one page or one Node process): joined by a pipe,
//! no engine, no wire protocol. Bind and connect may come in either order, as in libzmq.

use std::collections::HashMap;

use isomq_core::{Error, Pipe, Result};

/// libzmq's inproc HWM: the connector's SNDHWM plus the binder's RCVHWM (and the reverse),
/// unlimited if either side is.
pub(crate) fn sum_hwm(a: usize, b: usize) -> usize {
    if a == 0 || b == 0 {
        0
    } else {
        a.saturating_add(b)
    }
}

/// A connect that came before its bind: the binder's end waits here.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) pipe: Pipe,
    pub(crate) connector_rcvhwm: usize,
}

/// The context's inproc names.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Name to binding socket.
    bound: HashMap<String, u64>,
    pending: HashMap<String, Vec<Pending>>,
}

impl Registry {
    /// Registers `name` for `socket`; returns the ends left by earlier connects.
    pub(crate) fn bind(&mut self, name: &str, socket: u64) -> Result<Vec<Pending>> {
        if self.bound.contains_key(name) {
            return Err(Error::AddrInUse);
        }
        self.bound.insert(name.to_owned(), socket);
        Ok(self.pending.remove(name).unwrap_or_default())
    }

    /// The socket bound to `name`, if any.
    pub(crate) fn binder(&self, name: &str) -> Option<u64> {
        self.bound.get(name).copied()
    }

    /// Keeps the binder's end of a connect to an unbound name.
    pub(crate) fn park(&mut self, name: &str, pending: Pending) {
        self.pending
            .entry(name.to_owned())
            .or_default()
            .push(pending);
    }

    /// Forgets one name of `socket` (unbind).
    pub(crate) fn unbind(&mut self, name: &str, socket: u64) -> Result<()> {
        match self.bound.get(name) {
            Some(&s) if s == socket => {
                self.bound.remove(name);
                Ok(())
            }
            _ => Err(Error::NoEnt),
        }
    }

    /// Forgets every name of `socket` (close).
    pub(crate) fn remove_socket(&mut self, socket: u64) {
        self.bound.retain(|_, s| *s != socket);
    }
}
