//! When an inline socket's sends are written: at once, or held to be written with the
//! sends after them in one system call (docs/architecture.md §5.5, "Bursts are held and
//! written together"). Sans-IO: the socket's reactor passes in the times it read and does
//! what [`Burst::handle_send`] says.

use std::time::Duration;

use super::stamp::{SendStart, Stamp};

/// Time after which a send turns the reactor in any case (or the longer time a burst may be
/// held, [`hold_max`]): a session whose writes met a full socket buffer waits for
/// writability, and a handshake or a peer's subscription waits for input, which only a
/// poll sees. A socket that sends now and then makes its connections progress at each
/// send.
const TURN_INTERVAL: Duration = Duration::from_millis(1);

/// A send this soon after the previous one is part of a burst (or sooner than a quarter of
/// the last burst's write, [`burst_gap`]): it is held, to be written with the sends
/// after it in one system call. A sender that waits longer between sends than a write
/// takes gets each written at once.
pub(super) const BURST_GAP: Duration = Duration::from_micros(10);

/// Sends in a row, each part of the last one's burst, that are written at once before the
/// next ones are held: a pair of messages, or a few, sent now and then are not delayed; a
/// stream is held from its third message on.
const BURST_MIN: u32 = 2;

/// The longest a held send waits, unless the last burst took longer to write
/// ([`hold_max`]): the next send after that writes the burst, and when the socket
/// makes no call, the helper thread does (see `InlineHost`).
pub(super) const HOLD_MAX: Duration = Duration::from_micros(40);

/// The longest [`hold_max`] grows to: a write that took longer (the thread was
/// preempted in it) says little about the next.
const HOLD_LONGEST: Duration = Duration::from_millis(10);

/// Bytes held at which a burst is written: past this, one write per burst saves little.
const HOLD_BYTES: usize = 32 * 1024;

/// Sends of at least [`HOLD_LARGE`] are held until [`HOLD_LARGE_SENDS`] of them (up to
/// [`HOLD_BYTES_MAX`]) are written together. One write per 64 KiB message made inline tcp
/// 64 KiB throughput 0.6× that of an I/O thread, which writes up to 256 KiB at once; held
/// four at a time it is level (benches/RESULTS.md, "fourteenth stop"). Smaller messages
/// keep [`HOLD_BYTES`]: 64 KiB writes of 16 KiB and 32 KiB messages were slower (0.45–0.85×),
/// the receiver polling more for each message's rest.
const HOLD_LARGE: usize = 64 * 1024;

/// See [`HOLD_LARGE`].
const HOLD_LARGE_SENDS: u32 = 4;

/// Bytes held at which a burst of large sends is written: an I/O thread's session writes
/// at most this much at once too (`OUT_BATCH`).
const HOLD_BYTES_MAX: usize = 256 * 1024;

/// What the reactor does after a send (see [`Burst::handle_send`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Write {
    /// Nothing: the send is held with its burst.
    Hold,
    /// Carry out what sends posted; no session waited for this send, so it writes nothing
    /// new.
    Flush,
    /// Carry out what sends posted (the sessions write), without a poll: the reactor turned
    /// just before the send. Then [`Burst::handle_turned`].
    FlushTurned,
    /// Turn the reactor without waiting (the sessions write), then
    /// [`Burst::handle_turned`].
    Turn,
}

/// The burst an inline socket's sends are part of, and the times its rules compare.
#[derive(Debug)]
pub(super) struct Burst {
    /// When the last turn ended.
    last_turn: Stamp,
    /// When the last send's own work began: its start, or the end of a turn it made
    /// while it waited for room (see [`Burst::handle_written`]).
    began: Stamp,
    /// Until when a send is part of the burst of the last.
    until: Stamp,
    /// Sends in a row, each part of the last one's burst.
    streak: u32,
    /// The limits drawn from what writing the last burst took, with the send that wrote it
    /// ([`burst_gap`] and [`hold_max`], set by [`Burst::handle_written`]): each send
    /// compares with them, and drawing them costs divisions.
    gap: Duration,
    hold: Duration,
    /// When the oldest held send began, and the bytes and sends held.
    held_since: Option<Stamp>,
    held_bytes: usize,
    held_sends: u32,
}

impl Burst {
    /// No burst yet; `now`: the time of the reactor's making.
    pub(super) fn new(now: Stamp) -> Burst {
        Burst {
            last_turn: now,
            began: now,
            until: now,
            streak: 0,
            gap: BURST_GAP,
            hold: HOLD_MAX,
            held_since: None,
            held_bytes: 0,
            held_sends: 0,
        }
    }

    /// A send of `size` bytes, begun as `start` says, was accepted; `woke`: a session
    /// waits for a command the socket's pipes posted (for this send or held ones); `rung`:
    /// another thread posted a command. Says what the reactor does now; a send written now
    /// is then [`handle_written`](Self::handle_written).
    ///
    /// A send in a burst (more than [`BURST_MIN`] in a row, each sooner than
    /// [`burst_gap`] after the last) is held: the burst is written in one
    /// system call once it holds [`HOLD_BYTES`] (large sends: [`HOLD_LARGE_SENDS`] of them,
    /// or [`HOLD_BYTES_MAX`]), its oldest send is [`hold_max`] old, or it
    /// ends: at the next send after a pause, at the socket's next wait, poll or turn, or
    /// when the helper finds the socket paused and the burst old enough. Sends written one
    /// by one cost a system call each, a fifth of the messages per second the I/O thread's
    /// batching reaches (benches/RESULTS.md, "eleventh stop"). A send that woke none turns
    /// when another thread rang or the last turn is [`TURN_INTERVAL`] old.
    pub(super) fn handle_send(
        &mut self,
        size: usize,
        start: SendStart,
        woke: bool,
        rung: bool,
    ) -> Write {
        let SendStart { at: now, polled } = start;
        self.began = now.max(self.last_turn);
        self.streak = if now < self.until {
            self.streak.saturating_add(1)
        } else {
            0
        };
        let turn = rung || now.at_least(self.last_turn, TURN_INTERVAL.max(self.hold));
        if !turn && !woke {
            // No session waits for a command: nothing of this send is held here.
            self.clear();
            Write::Flush
        } else if !turn && self.hold(size, now) {
            Write::Hold
        } else if turn || !polled {
            Write::Turn
        } else {
            Write::FlushTurned
        }
    }

    /// The send begun at `start` is done, as [`handle_send`](Self::handle_send) said, and
    /// written (`wrote`, after [`handle_turned`](Self::handle_turned)) or not. Returns
    /// until when the next send is part of this one's burst.
    ///
    /// The next send's gap counts from the end of this one: from its start, or from the
    /// end of a turn it made (while it waited for room, or to write it). A send whose waits
    /// take longer than [`BURST_GAP`] (a queue at SNDHWM) would otherwise never be part of
    /// a burst, however closely the sends follow each other.
    pub(super) fn handle_written(&mut self, start: SendStart, wrote: bool) -> Stamp {
        if wrote {
            // From the send's own work on: a wait for room at SNDHWM is not writing.
            let cost = self.last_turn.since(self.began).min(HOLD_LONGEST);
            self.gap = burst_gap(cost);
            self.hold = hold_max(cost);
        }
        self.until = start.at.max(self.last_turn).after(self.gap);
        self.until
    }

    /// A turn (or a flush just after one) ended at `now`: it carried out what sends held.
    pub(super) fn handle_turned(&mut self, now: Stamp) {
        self.clear();
        self.last_turn = now;
    }

    /// Forgets the held burst: its commands were carried out, or are about to be.
    pub(super) fn clear(&mut self) {
        self.held_since = None;
        self.held_bytes = 0;
        self.held_sends = 0;
    }

    /// Whether sends are held.
    pub(super) fn holds(&self) -> bool {
        self.held_since.is_some()
    }

    /// How much longer the oldest held send may wait at `now`; `None` when none is held, or
    /// it must be written now.
    pub(super) fn poll_hold_left(&self, now: Stamp) -> Option<Duration> {
        let left = now.left_of(self.held_since?, self.hold);
        (!left.is_zero()).then_some(left)
    }

    /// Whether a send of `size` bytes that began at `now` is held, with those before it:
    /// it is part of a burst whose oldest send is younger than [`hold_max`], and the burst
    /// has room.
    fn hold(&mut self, size: usize, now: Stamp) -> bool {
        self.held_bytes = self.held_bytes.saturating_add(size);
        self.held_sends = self.held_sends.saturating_add(1);
        let since = *self.held_since.get_or_insert(now);
        let young = !now.at_least(since, self.hold);
        let room = self.held_bytes < HOLD_BYTES
            || (size >= HOLD_LARGE
                && self.held_sends < HOLD_LARGE_SENDS
                && self.held_bytes < HOLD_BYTES_MAX);
        self.streak >= BURST_MIN && young && room
    }
}

/// How soon after the last send the next must come to be part of its burst, when writing
/// the last burst took `write_cost`: [`BURST_GAP`], or a quarter of that. Where each write
/// costs a system call per connection (a PUB to 100 subscribers: 300 µs), a send that
/// comes a few tens of microseconds after the last (the sends themselves take 5–40 µs
/// there, one message to each pipe, and vary as much) is worth holding: writing it at
/// once cost each connection a `writev` for one or two messages (0.7–1.0 per delivery,
/// benches/RESULTS.md, "fifteenth stop").
fn burst_gap(write_cost: Duration) -> Duration {
    BURST_GAP.max(write_cost / 4)
}

/// How long the oldest held send may wait, when writing the last burst took `write_cost`:
/// [`HOLD_MAX`], or as long as that (up to [`HOLD_LONGEST`]). Writing a burst costs a
/// system call per connection whatever it holds, so a socket with many connections (a PUB
/// to 100 subscribers: 300 µs per burst, to 1,000: several milliseconds) spent nearly all
/// its time writing a few messages to each; holding for as long as a write takes, at most
/// half of its time goes to writing, and each write carries what came meanwhile, as an
/// I/O thread's write carries what its socket sent during the last one. A message then
/// waits at most as long again as the write that carries it takes to reach its last
/// connection. One write the thread was preempted in stretches the next burst's hold
/// too (to that write's time, at most [`HOLD_LONGEST`]); taking the lesser of the last
/// two writes instead cost fan-out to 100 subscribers 15 % (8.5 against 9.9 M deliveries
/// per second, benches/RESULTS.md, "fifteenth stop"), whose writes alternate long and
/// short.
fn hold_max(write_cost: Duration) -> Duration {
    write_cost.max(HOLD_MAX)
}

#[cfg(test)]
mod tests;
