//! Socket monitoring: connection lifecycle events, so users can see why a peer is not
//! talking (libzmq's `zmq_socket_monitor`, delivered on a channel instead of a PAIR socket).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::Duration;

use isomq_core::Error;

use crate::sync::lock;

/// One lifecycle event of a socket's connections and listeners (libzmq's `ZMQ_EVENT_*`).
/// `endpoint` is the endpoint as bound or connected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MonitorEvent {
    /// ZMQ_EVENT_LISTENING: a bind succeeded.
    Listening {
        /// The resolved endpoint.
        endpoint: String,
    },
    /// ZMQ_EVENT_BIND_FAILED.
    BindFailed {
        /// The endpoint as given.
        endpoint: String,
        /// Why.
        error: Error,
    },
    /// ZMQ_EVENT_ACCEPTED: a peer connected to a listener.
    Accepted {
        /// The listener's endpoint.
        endpoint: String,
    },
    /// ZMQ_EVENT_ACCEPT_FAILED: a listener closed a connection as soon as it accepted it
    /// (MAX_HANDSHAKES connections were in their handshake already).
    AcceptFailed {
        /// The listener's endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// ZMQ_EVENT_CONNECT_DELAYED: a connection attempt is in progress.
    ConnectDelayed {
        /// The endpoint connected to.
        endpoint: String,
    },
    /// ZMQ_EVENT_CONNECTED: the connection is established (handshake follows).
    Connected {
        /// The endpoint connected to.
        endpoint: String,
    },
    /// ZMQ_EVENT_CONNECT_RETRIED: the next attempt is scheduled after `interval`.
    ConnectRetried {
        /// The endpoint connected to.
        endpoint: String,
        /// Time until the next attempt.
        interval: Duration,
    },
    /// ZMQ_EVENT_HANDSHAKE_SUCCEEDED: the ZMTP/ZWS handshake completed; messages flow.
    HandshakeSucceeded {
        /// The endpoint of the connection.
        endpoint: String,
    },
    /// ZMQ_EVENT_HANDSHAKE_FAILED_*: the connection ended before its handshake completed.
    HandshakeFailed {
        /// The endpoint of the connection.
        endpoint: String,
        /// What went wrong (protocol error, timeout, peer closed).
        reason: String,
    },
    /// ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: the security handshake did not authenticate the
    /// peer (or this side was refused by it).
    HandshakeFailedAuth {
        /// The endpoint of the connection.
        endpoint: String,
        /// The ZAP status code (300, 400, 500), or 0 when a PLAIN server or
        /// ZAP_ENFORCE_DOMAIN found no ZAP handler to ask.
        status: u16,
    },
    /// ZMQ_EVENT_DISCONNECTED: an established connection ended.
    Disconnected {
        /// The endpoint of the connection.
        endpoint: String,
        /// Why: `Proto` for a protocol violation, otherwise the connection was lost.
        reason: String,
        /// Messages this connection took from the socket's queue to send (a multipart
        /// message counts once). Those its peer had not received are lost with the
        /// connection; the socket's later messages go to the next one (docs/wire.md §7.6).
        /// 0 for a socket that only receives on it.
        messages_out: u64,
    },
    /// ZMQ_EVENT_CLOSED: a listener was closed (unbind or socket close).
    Closed {
        /// The listener's endpoint.
        endpoint: String,
    },
}

/// Receives a socket's [`MonitorEvent`]s. Made by [`Socket::monitor`](crate::Socket::monitor);
/// several monitors of one socket each get every event. The stream ends (`recv` returns
/// `None`) once the socket and all its connections are gone.
#[derive(Debug)]
pub struct Monitor {
    rx: Receiver<MonitorEvent>,
}

impl Monitor {
    /// Waits for the next event; `None` once the socket and its connections are gone.
    pub fn recv(&self) -> Option<MonitorEvent> {
        self.rx.recv().ok()
    }

    /// Waits up to `timeout` for the next event.
    ///
    /// # Errors
    /// [`Error::Again`] on timeout, [`Error::Term`] once the socket is gone.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<MonitorEvent, Error> {
        self.rx.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => Error::Again,
            RecvTimeoutError::Disconnected => Error::Term,
        })
    }

    /// The next event if one is queued.
    pub fn try_recv(&self) -> Option<MonitorEvent> {
        self.rx.try_recv().ok()
    }
}

/// Where a socket's objects (on any thread) send events. Costs one relaxed load per
/// event while nobody monitors.
#[derive(Debug, Default)]
pub(crate) struct MonitorHub {
    active: AtomicBool,
    senders: Mutex<Vec<Sender<MonitorEvent>>>,
}

impl MonitorHub {
    pub(crate) fn subscribe(&self) -> Monitor {
        let (tx, rx) = mpsc::channel();
        lock(&self.senders).push(tx);
        self.active.store(true, Ordering::Release);
        Monitor { rx }
    }

    /// Sends the event built by `event` to every monitor, if there is one.
    pub(crate) fn emit(&self, event: impl FnOnce() -> MonitorEvent) {
        if !self.active.load(Ordering::Acquire) {
            return;
        }
        let event = event();
        let mut senders = lock(&self.senders);
        senders.retain(|s| s.send(event.clone()).is_ok());
        if senders.is_empty() {
            self.active.store(false, Ordering::Release);
        }
    }
}
