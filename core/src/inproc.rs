//! The inproc:// name registry of a context: sockets of one context joined by a pipe, no
//! engine, no wire protocol (docs/wire.md §8). Bind and connect may come in either
//! order, as in libzmq. Both hosts keep one of these per context; what a host needs to hand
//! a pipe to a binding socket (a mailbox, or just the socket's id) is the type `B`.

use std::collections::HashMap;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::msg::Msg;
use crate::options::Options;
use crate::pipe::{Pipe, PipeId};
use crate::socket_type::SocketType;

/// libzmq's inproc HWM: the sender's SNDHWM plus the receiver's RCVHWM, unlimited if either
/// is.
pub fn sum_hwm(sndhwm: usize, rcvhwm: usize) -> usize {
    if sndhwm == 0 || rcvhwm == 0 {
        0
    } else {
        sndhwm.saturating_add(rcvhwm)
    }
}

/// What one side of an inproc connection tells the other: its type, its HWMs, and its
/// routing id, which a ROUTER peer receives as the pipe's first message (as a ZMTP
/// connection hands over the peer's `Identity`).
#[derive(Debug, Clone)]
pub struct Side {
    /// The socket's type.
    pub socket_type: SocketType,
    /// Its SNDHWM.
    pub sndhwm: usize,
    /// Its RCVHWM.
    pub rcvhwm: usize,
    /// Its ZMQ_ROUTING_ID (empty: the ROUTER generates one).
    pub routing_id: Bytes,
}

impl Side {
    /// The side a socket of `socket_type` with `options` shows its inproc peers.
    pub fn new(socket_type: SocketType, options: &Options) -> Side {
        Side {
            socket_type,
            sndhwm: options.sndhwm,
            rcvhwm: options.rcvhwm,
            routing_id: options.routing_id.clone(),
        }
    }

    /// Writes this side's routing id into `pipe`, an end this side owns or will own, when
    /// the peer is a ROUTER. A fresh pipe always has room for it.
    fn introduce(&self, pipe: &mut Pipe, peer: SocketType) {
        if peer == SocketType::Router && pipe.write(Msg::routing_id(&self.routing_id)).is_ok() {
            pipe.flush();
        }
    }
}

#[derive(Debug)]
struct Binder<B> {
    socket: u64,
    handle: B,
    side: Side,
}

#[derive(Debug)]
struct Pending {
    /// The binder's end, made before the binder existed.
    pipe: Pipe,
    connector: Side,
}

/// What a connect made: the connector's end, and the binder's end for the host to hand to
/// the binding socket (through `handle`), or `None` while no socket has bound the name.
#[derive(Debug)]
pub struct Connection<B> {
    /// The connecting socket's end.
    pub own: Pipe,
    /// The binding socket's handle (`B`) and its end, when the name is bound.
    pub peer: Option<(B, Pipe)>,
}

/// A context's inproc names.
#[derive(Debug)]
pub struct Registry<B> {
    bound: HashMap<String, Binder<B>>,
    pending: HashMap<String, Vec<Pending>>,
}

impl<B> Default for Registry<B> {
    fn default() -> Self {
        Registry {
            bound: HashMap::new(),
            pending: HashMap::new(),
        }
    }
}

impl<B: Clone> Registry<B> {
    /// Registers `name` for `socket`; returns the ends left by earlier connects, for the
    /// binder to attach. Each is completed as a connect to a bound name would have made it:
    /// HWMs summed, routing ids exchanged for the ROUTERs among the two.
    ///
    /// # Errors
    /// [`Error::AddrInUse`] when another socket bound `name`.
    pub fn bind(&mut self, name: &str, socket: u64, handle: B, side: Side) -> Result<Vec<Pipe>> {
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
                    // context drops it for a binder that does not want it.
                    let _ = p.pipe.read();
                }
                side.introduce(&mut p.pipe, p.connector.socket_type);
                p.pipe
            })
            .collect();
        self.bound.insert(
            name.to_owned(),
            Binder {
                socket,
                handle,
                side,
            },
        );
        Ok(pipes)
    }

    /// Makes the pipe of a connect to `name` by a socket with `side`.
    pub fn connect(&mut self, name: &str, pipe_id: PipeId, side: Side) -> Connection<B> {
        match self.bound.get(name) {
            Some(b) => {
                let (mut own, mut theirs) = inproc_pair(
                    pipe_id,
                    sum_hwm(side.sndhwm, b.side.rcvhwm),
                    sum_hwm(b.side.sndhwm, side.rcvhwm),
                );
                side.introduce(&mut own, b.side.socket_type);
                b.side.introduce(&mut theirs, side.socket_type);
                Connection {
                    own,
                    peer: Some((b.handle.clone(), theirs)),
                }
            }
            None => {
                // The binder's RCVHWM is not known yet; until then the connector's own
                // SNDHWM bounds its side, as libzmq does for pending connections.
                let (mut own, theirs) = inproc_pair(pipe_id, side.sndhwm, 0);
                // Nor is the binder's type: the routing id always goes (libzmq), and `bind`
                // takes it out again for a binder that is not a ROUTER.
                side.introduce(&mut own, SocketType::Router);
                self.pending
                    .entry(name.to_owned())
                    .or_default()
                    .push(Pending {
                        pipe: theirs,
                        connector: side,
                    });
                Connection { own, peer: None }
            }
        }
    }

    /// Like [`connect`](Registry::connect), but only to a bound name: None leaves nothing
    /// pending (a ZAP request finds a handler now or not at all, as in libzmq).
    pub fn connect_bound(
        &mut self,
        name: &str,
        pipe_id: PipeId,
        side: Side,
    ) -> Option<Connection<B>> {
        self.bound
            .contains_key(name)
            .then(|| self.connect(name, pipe_id, side))
    }

    /// Removes `name` if `socket` bound it; returns whether it did.
    pub fn unbind(&mut self, name: &str, socket: u64) -> bool {
        if self.bound.get(name).is_some_and(|b| b.socket == socket) {
            self.bound.remove(name);
            return true;
        }
        false
    }

    /// Forgets every name `socket` bound (it closed).
    pub fn remove_socket(&mut self, socket: u64) {
        self.bound.retain(|_, b| b.socket != socket);
    }
}

/// A pipe pair between two sockets: each end's reads pause within a stream, as each end's
/// writer is the other socket, on a thread of its own (`Pipe::pace_reads`).
fn inproc_pair(id: PipeId, hwm_ab: usize, hwm_ba: usize) -> (Pipe, Pipe) {
    let (mut a, mut b) = Pipe::pair(id, hwm_ab, hwm_ba);
    a.pace_reads();
    b.pace_reads();
    (a, b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn side(socket_type: SocketType, id: &[u8]) -> Side {
        let mut o = Options::new(socket_type);
        o.routing_id = Bytes::copy_from_slice(id);
        Side::new(socket_type, &o)
    }

    /// libzmq: a socket connecting to an inproc name before anyone binds it is joined to the
    /// binder when it binds, and a ROUTER binder learns the connector's routing id first.
    #[test]
    fn connect_before_bind_gives_a_router_the_connectors_routing_id_first() {
        let mut reg = Registry::<u64>::default();
        let mut c = reg.connect("x", 1, side(SocketType::Dealer, b"dealer-1"));
        assert!(c.peer.is_none());
        c.own.write(Msg::from("payload")).unwrap();
        c.own.flush();
        let mut pipes = reg.bind("x", 7, 7, side(SocketType::Router, b"")).unwrap();
        assert_eq!(pipes.len(), 1);
        let first = pipes[0].read().unwrap();
        assert!(first.is_routing_id());
        assert_eq!(first.as_slice(), b"dealer-1");
        assert_eq!(pipes[0].read().unwrap().as_slice(), b"payload");
    }

    #[test]
    fn connect_before_bind_drops_the_routing_id_for_other_binders() {
        let mut reg = Registry::<u64>::default();
        let mut c = reg.connect("x", 1, side(SocketType::Push, b"p"));
        c.own.write(Msg::from("job")).unwrap();
        c.own.flush();
        let mut pipes = reg.bind("x", 7, 7, side(SocketType::Pull, b"")).unwrap();
        assert_eq!(pipes[0].read().unwrap().as_slice(), b"job");
    }

    /// A ROUTER connector learns a binder's routing id too, in either order.
    #[test]
    fn a_router_connector_learns_the_binders_routing_id() {
        for bind_first in [true, false] {
            let mut reg = Registry::<u64>::default();
            let binder = side(SocketType::Dealer, b"server");
            let mut c = if bind_first {
                reg.bind("x", 7, 7, binder.clone()).unwrap();
                reg.connect("x", 1, side(SocketType::Router, b""))
            } else {
                let c = reg.connect("x", 1, side(SocketType::Router, b""));
                reg.bind("x", 7, 7, binder.clone()).unwrap();
                c
            };
            let first = c.own.read().unwrap();
            assert!(first.is_routing_id(), "bind first: {bind_first}");
            assert_eq!(first.as_slice(), b"server");
        }
    }

    /// libzmq: an inproc pipe holds the sender's SNDHWM plus the receiver's RCVHWM.
    #[test]
    fn hwms_are_summed_and_zero_is_unlimited() {
        assert_eq!(sum_hwm(10, 20), 30);
        assert_eq!(sum_hwm(0, 20), 0);
        assert_eq!(sum_hwm(usize::MAX, 1), usize::MAX);
        let mut reg = Registry::<u64>::default();
        let mut binder = side(SocketType::Pull, b"");
        binder.rcvhwm = 2;
        reg.bind("x", 7, 7, binder).unwrap();
        let mut pusher = side(SocketType::Push, b"");
        pusher.sndhwm = 1;
        let mut c = reg.connect("x", 1, pusher);
        let sent = (0..10)
            .take_while(|_| c.own.write(Msg::from("m")).is_ok())
            .count();
        assert_eq!(sent, 3);
    }

    #[test]
    fn a_name_is_bound_once_and_freed_by_its_binder_only() {
        let mut reg = Registry::<u64>::default();
        reg.bind("x", 7, 7, side(SocketType::Pull, b"")).unwrap();
        assert!(matches!(
            reg.bind("x", 8, 8, side(SocketType::Pull, b"")),
            Err(Error::AddrInUse)
        ));
        assert!(!reg.unbind("x", 8));
        assert!(reg.unbind("x", 7));
        reg.bind("x", 8, 8, side(SocketType::Pull, b"")).unwrap();
        reg.remove_socket(8);
        reg.bind("x", 9, 9, side(SocketType::Pull, b"")).unwrap();
    }
}
