//! Numbered streams and their check. Every message of the soak carries (stream id, sequence
//! number); a [`Ledger`] records, for one stream, what arrived (as runs of consecutive
//! numbers, in arrival order) and where the sender's lost connections' shares end, and
//! [`verify`] applies the rule of docs/wire.md §7.6: each connection carries a contiguous
//! share of the stream, in order; of a lost connection's share the receiver may have got a
//! prefix only; the share of the connection still up at the end arrives whole. Anything
//! else is a reorder, a duplicate or a loss beyond the window.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Bytes of the (stream, seq) header at the start of every payload.
pub const HEADER: usize = 16;

/// A payload of `len` bytes (at least [`HEADER`]) carrying `stream` and `seq`.
pub fn encode(stream: u64, seq: u64, len: usize) -> Vec<u8> {
    let mut m = vec![0u8; len.max(HEADER)];
    m[..8].copy_from_slice(&stream.to_be_bytes());
    m[8..HEADER].copy_from_slice(&seq.to_be_bytes());
    m
}

/// The (stream, seq) of a payload made by [`encode`]; `None` for anything else.
pub fn decode(m: &[u8]) -> Option<(u64, u64)> {
    let stream = u64::from_be_bytes(m.get(..8)?.try_into().ok()?);
    let seq = u64::from_be_bytes(m.get(8..HEADER)?.try_into().ok()?);
    Some((stream, seq))
}

/// What the check of one stream found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Messages received once, in order within their connection's share.
    pub delivered: u64,
    /// Messages missing at the end of a lost connection's share: allowed.
    pub lost_in_window: u64,
    /// Messages missing elsewhere: a hole inside a share, or the live share's tail.
    pub lost_beyond: u64,
    /// Runs that started before what their share had already delivered: a message out of
    /// order or received twice.
    pub reorders: u64,
}

#[derive(Debug, Default)]
struct State {
    /// Runs of consecutive numbers `(first, last)`, in arrival order.
    runs: Vec<(u64, u64)>,
    /// Messages received.
    count: u64,
    /// Where each lost connection's share ended, as the sender's monitor reported it
    /// (`Disconnected::messages_out`, added up).
    boundaries: Vec<u64>,
    taken: u64,
}

/// One stream's record, shared by its sender (boundaries) and its receiver (arrivals).
#[derive(Debug, Default)]
pub struct Ledger {
    state: Mutex<State>,
    arrived: Condvar,
}

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The receiver got message `seq`.
    pub fn record(&self, seq: u64) {
        let mut s = self.lock();
        s.count += 1;
        match s.runs.last_mut() {
            Some((_, last)) if seq == *last + 1 => *last = seq,
            _ => s.runs.push((seq, seq)),
        }
        drop(s);
        self.arrived.notify_all();
    }

    /// One of the sender's connections was lost after taking `messages_out` messages from
    /// its queue.
    pub fn connection_lost(&self, messages_out: u64) {
        let mut s = self.lock();
        s.taken += messages_out;
        let end = s.taken;
        s.boundaries.push(end);
    }

    /// Waits until message `seq` has arrived, at most `patience`; returns whether it did.
    /// The last message of a stream is carried by its live connection: once it is in, the
    /// stream is complete (earlier connections' leftovers came before their end).
    pub fn wait_for(&self, seq: u64, patience: Duration) -> bool {
        let start = Instant::now();
        let mut s = self.lock();
        loop {
            if s.runs.iter().any(|&(a, b)| (a..=b).contains(&seq)) {
                return true;
            }
            let Some(left) = patience.checked_sub(start.elapsed()) else {
                return false;
            };
            s = self
                .arrived
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Messages received so far.
    pub fn count(&self) -> u64 {
        self.lock().count
    }

    /// What arrived and where shares ended, for a failure's report: the first and last
    /// runs, and the boundaries.
    pub fn describe(&self) -> String {
        let s = self.lock();
        let n = s.runs.len();
        let shown: Vec<_> = s
            .runs
            .iter()
            .take(4)
            .chain(s.runs.iter().skip(n.saturating_sub(4).max(4)))
            .collect();
        format!("{n} runs {shown:?}, boundaries {:?}", s.boundaries)
    }

    /// The check of a stream of `sent` messages (docs/wire.md §7.6).
    pub fn verify(&self, sent: u64) -> Verdict {
        let s = self.lock();
        verify(&s.runs, &s.boundaries, sent)
    }
}

/// Checks `runs` (arrival order) of a stream of `sent` messages whose lost connections'
/// shares ended at `boundaries`: each share, taken from the runs in arrival order, must be
/// a contiguous prefix of itself; the last share (the live connection's) must be whole.
pub fn verify(runs: &[(u64, u64)], boundaries: &[u64], sent: u64) -> Verdict {
    let mut edges: Vec<u64> = boundaries.iter().copied().filter(|&b| b < sent).collect();
    edges.sort_unstable();
    edges.dedup();
    let mut v = Verdict::default();
    let mut lo = 0;
    for (i, &hi) in edges.iter().chain(std::iter::once(&sent)).enumerate() {
        let live = i == edges.len();
        share(runs, lo, hi, live, &mut v);
        lo = hi;
    }
    // A number at or beyond `sent` was never sent: counted as a reorder (garbage).
    v.reorders += runs.iter().filter(|&&(_, b)| b >= sent).count() as u64;
    v
}

/// Checks the share `lo..hi` of one connection (see [`verify`]).
fn share(runs: &[(u64, u64)], lo: u64, hi: u64, live: bool, v: &mut Verdict) {
    let mut expected = lo;
    for &(a, b) in runs {
        let (a, b) = (a.max(lo), b.min(hi.saturating_sub(1)));
        if a > b || hi == lo {
            continue;
        }
        if a < expected {
            v.reorders += 1;
            if b >= expected {
                v.delivered += b + 1 - expected;
                expected = b + 1;
            }
            continue;
        }
        // A hole inside a share: its connection delivered later messages but not these.
        v.lost_beyond += a - expected;
        v.delivered += b + 1 - a;
        expected = b + 1;
    }
    let tail = hi.saturating_sub(expected);
    if live {
        v.lost_beyond += tail;
    } else {
        v.lost_in_window += tail;
    }
}

/// The receiving side's map from stream id to ledger: many senders (each stream one
/// connection) share one receiving socket.
#[derive(Debug, Default)]
pub struct Registry {
    streams: Mutex<HashMap<u64, Arc<Ledger>>>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Ledger>>> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new stream's ledger, known to the receiver from now on.
    pub fn open(&self, stream: u64) -> Arc<Ledger> {
        let ledger = Arc::new(Ledger::default());
        self.lock().insert(stream, ledger.clone());
        ledger
    }

    /// Forgets a stream whose check is done.
    pub fn close(&self, stream: u64) {
        self.lock().remove(&stream);
    }

    /// Records message `seq` of `stream`; `false` when no such stream is open (a message
    /// after its stream's check: a duplicate, or garbage).
    pub fn record(&self, stream: u64, seq: u64) -> bool {
        let ledger = self.lock().get(&stream).cloned();
        match ledger {
            Some(l) => {
                l.record(seq);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_stream_in_order_is_delivered() {
        let v = verify(&[(0, 9)], &[], 10);
        assert_eq!(
            v,
            Verdict {
                delivered: 10,
                ..Verdict::default()
            }
        );
    }

    #[test]
    fn a_lost_connection_may_lose_the_tail_of_its_share_only() {
        // Connection 1 took 0..5 and delivered 0..3; connection 2 carried 5..10, its first
        // messages interleaved with a late one of connection 1.
        let v = verify(&[(0, 1), (5, 6), (2, 2), (7, 9)], &[5], 10);
        assert_eq!((v.delivered, v.lost_in_window, v.lost_beyond), (8, 2, 0));
        assert_eq!(v.reorders, 0);
    }

    #[test]
    fn a_hole_duplicate_or_lost_tail_is_caught() {
        assert_eq!(verify(&[(0, 3), (5, 9)], &[], 10).lost_beyond, 1);
        assert_eq!(verify(&[(0, 5), (3, 9)], &[], 10).reorders, 1);
        assert_eq!(verify(&[(0, 8)], &[], 10).lost_beyond, 1);
        assert_eq!(verify(&[(0, 9), (12, 12)], &[], 10).reorders, 1);
        // A hole inside a lost connection's share is not its tail.
        assert_eq!(verify(&[(0, 1), (3, 3), (5, 9)], &[5], 10).lost_beyond, 1);
    }

    #[test]
    fn payloads_carry_stream_and_seq() {
        assert_eq!(decode(&encode(7, 42, 64)), Some((7, 42)));
        assert_eq!(encode(1, 2, 3).len(), HEADER);
        assert_eq!(decode(b"short"), None);
    }
}
