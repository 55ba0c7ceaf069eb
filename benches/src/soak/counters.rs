//! What the soak counts while it runs: messages, the faults it made, and what the sockets'
//! monitors reported. Relaxed atomics: figures read by the sampler, not synchronisation.

use std::sync::atomic::{AtomicU64, Ordering};

/// One counter per line of the report.
#[derive(Debug, Default)]
pub struct Counters {
    /// Messages sent by every workload.
    pub sent: AtomicU64,
    /// Messages received by every workload.
    pub received: AtomicU64,
    /// Numbered streams checked complete (their verdict taken).
    pub streams: AtomicU64,
    /// Messages lost with a connection, within what it had taken (docs/wire.md §7.6).
    pub lost_in_window: AtomicU64,
    /// Messages missing that no lost connection had taken: must stay 0.
    pub lost_beyond: AtomicU64,
    /// Messages that came out of order or twice within a pipe: must stay 0.
    pub reorders: AtomicU64,
    /// Replies that did not answer the request outstanding (REQ_CORRELATE): must stay 0.
    pub wrong_replies: AtomicU64,
    /// Messages a subscriber missed: PUB drops at the HWM, and while a subscription travels.
    pub sub_gaps: AtomicU64,
    /// Echoes a DEALER missed: ROUTER drops for a full peer, and with a lost connection.
    pub echo_gaps: AtomicU64,
    /// Requests that got no reply in time and were sent again (REQ_RELAXED).
    pub req_retries: AtomicU64,
    /// Subscribers that joined and left.
    pub sub_joins: AtomicU64,
    /// Connect/handshake/disconnect cycles of the churn driver.
    pub churn_cycles: AtomicU64,
    /// Monitor events: connections lost, reconnect attempts, handshakes that failed.
    pub disconnects: AtomicU64,
    pub retries: AtomicU64,
    pub handshake_failures: AtomicU64,
    /// Faults made: relay resets and stalls, peer processes killed.
    pub resets: AtomicU64,
    pub stalls: AtomicU64,
    pub kills: AtomicU64,
    /// Errors a workload met that are not the above (a send or receive that failed).
    pub errors: AtomicU64,
}

impl Counters {
    /// Adds `n` to `c`.
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters by name, in the report's order.
    pub fn rows(&self) -> Vec<(&'static str, u64)> {
        let v = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("sent", v(&self.sent)),
            ("received", v(&self.received)),
            ("streams checked", v(&self.streams)),
            ("lost in a reset's window", v(&self.lost_in_window)),
            ("lost beyond it", v(&self.lost_beyond)),
            ("reordered or duplicated", v(&self.reorders)),
            ("wrong replies", v(&self.wrong_replies)),
            ("subscriber gaps", v(&self.sub_gaps)),
            ("echo gaps", v(&self.echo_gaps)),
            ("request retries", v(&self.req_retries)),
            ("subscribers joined", v(&self.sub_joins)),
            ("churn cycles", v(&self.churn_cycles)),
            ("disconnects", v(&self.disconnects)),
            ("reconnect retries", v(&self.retries)),
            ("handshake failures", v(&self.handshake_failures)),
            ("relay resets", v(&self.resets)),
            ("relay stalls", v(&self.stalls)),
            ("peers killed", v(&self.kills)),
            ("other errors", v(&self.errors)),
        ]
    }

    /// Whether a rule of the soak was broken: reordering, duplicates, loss beyond a lost
    /// connection's window, a wrong reply.
    pub fn violations(&self) -> u64 {
        self.reorders.load(Ordering::Relaxed)
            + self.lost_beyond.load(Ordering::Relaxed)
            + self.wrong_replies.load(Ordering::Relaxed)
    }
}
