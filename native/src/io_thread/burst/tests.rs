//! The burst rules with the clock passed in: which sends are written at once and which are
//! held, for a socket with one connection (writes of a few microseconds) and one with many
//! (writes of hundreds).

use super::*;

/// A socket's sends as the reactor runs them: every send wakes a session, each write
/// (a turn) takes `write`, and the sends start `every` apart (or at the end of the last
/// write, if that is later).
struct Sim {
    burst: Burst,
    now: Stamp,
    write: Duration,
    /// Sends written with a turn, and the longest any send was held.
    writes: u32,
    held_longest: Duration,
    held_from: Vec<Stamp>,
}

impl Sim {
    fn new(write: Duration) -> Sim {
        let now = Stamp::from_nanos(1_000_000_000);
        Sim {
            burst: Burst::new(now),
            now,
            write,
            writes: 0,
            held_longest: Duration::ZERO,
            held_from: Vec::new(),
        }
    }

    /// One send of `size` bytes, `gap` after the last send began; returns what was done.
    fn send(&mut self, size: usize, gap: Duration) -> Write {
        self.now = self.now.after(gap).max(self.burst.last_turn);
        // As `InlineHost::before_send`: a send after a pause turns first.
        let polled = self.now >= self.burst.until;
        let start = SendStart {
            at: self.now,
            polled,
        };
        let write = self.burst.handle_send(size, start, true, false);
        self.held_from.push(self.now);
        let wrote = matches!(write, Write::Turn | Write::FlushTurned);
        if wrote {
            let end = self.now.after(self.write);
            for from in self.held_from.drain(..) {
                self.held_longest = self.held_longest.max(end.since(from));
            }
            self.burst.handle_turned(end);
            self.writes += 1;
        }
        self.burst.handle_written(start, wrote);
        write
    }
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// "A lone send (a request, a reply, a sparse stream) and the first two of a row are
/// written at once" (docs/architecture.md §5.5).
#[test]
fn lone_sends_and_the_first_two_of_a_row_are_written_at_once() {
    let mut sim = Sim::new(us(3));
    for _ in 0..5 {
        assert_eq!(
            sim.send(16, us(500)),
            Write::FlushTurned,
            "a send after a pause"
        );
    }
    // The last of those is the first of a row.
    assert_eq!(sim.send(16, us(1)), Write::Turn, "the second of a row");
    assert_eq!(sim.send(16, us(1)), Write::Hold, "the third of a row");
}

/// One connection: a stream of small sends is written once per [`HOLD_MAX`], and no send
/// waits longer than that plus a write.
#[test]
fn a_stream_is_written_once_per_hold() {
    let mut sim = Sim::new(us(3));
    for _ in 0..10_000 {
        sim.send(16, us(1));
    }
    // 10,000 sends over about 10 ms: a write per 40 µs and a bit.
    assert!(
        (200..=300).contains(&sim.writes),
        "{} writes for 10,000 sends 1 µs apart",
        sim.writes
    );
    assert!(
        sim.held_longest <= HOLD_MAX + us(5),
        "held {:?}",
        sim.held_longest
    );
}

/// One connection: "32 KiB" ends a burst of small sends, and large sends go four at a time.
#[test]
fn a_burst_is_written_at_its_byte_limits() {
    let mut sim = Sim::new(us(3));
    // The first two of the row are written at once.
    for _ in 0..2 {
        sim.send(8 * 1024, us(1));
    }
    let writes = sim.writes;
    let held: Vec<Write> = (0..4).map(|_| sim.send(8 * 1024, us(1))).collect();
    assert_eq!(held, [Write::Hold, Write::Hold, Write::Hold, Write::Turn]);
    assert_eq!(sim.writes, writes + 1);

    let mut sim = Sim::new(us(20));
    for _ in 0..2 {
        sim.send(64 * 1024, us(1));
    }
    let held: Vec<Write> = (0..4).map(|_| sim.send(64 * 1024, us(1))).collect();
    assert_eq!(held, [Write::Hold, Write::Hold, Write::Hold, Write::Turn]);
}

/// Sends further apart than [`BURST_GAP`] on a socket whose writes are quick are written
/// one by one: holding them would only delay them.
#[test]
fn sparse_sends_with_quick_writes_are_written_one_by_one() {
    let mut sim = Sim::new(us(3));
    for _ in 0..100 {
        assert_ne!(sim.send(16, us(20)), Write::Hold);
    }
    assert_eq!(sim.writes, 100);
}

/// Many connections: each write takes 300 µs and each send 20 µs (one message to every
/// pipe). Those sends are a burst, held for as long as a write takes: with a fixed 10 µs
/// gap and 40 µs hold every send was written on its own, a `writev` per connection and
/// message (0.05× libzmq's fan-out to 100 subscribers, benches/RESULTS.md, "fifteenth
/// stop").
#[test]
fn a_slow_write_widens_the_burst_and_the_hold() {
    let mut sim = Sim::new(us(300));
    for _ in 0..1_000 {
        sim.send(16, us(20));
    }
    assert!(
        sim.writes <= 100,
        "{} writes for 1,000 sends with 300 µs writes",
        sim.writes
    );
    // A message waits at most about as long again as the write that carries it.
    assert!(
        sim.held_longest <= us(300 + 300 + 20),
        "held {:?}",
        sim.held_longest
    );
}

/// The hold grows with the write, up to [`HOLD_LONGEST`]: a write the thread was preempted
/// in says little about the next.
#[test]
fn the_hold_is_bounded() {
    let mut sim = Sim::new(Duration::from_millis(50));
    for _ in 0..3 {
        sim.send(16, us(1));
    }
    assert_eq!(sim.burst.hold, HOLD_LONGEST);
    assert_eq!(sim.burst.gap, HOLD_LONGEST / 4);
}

/// A send that woke no session writes nothing new; it turns when another thread rang, or
/// when the last turn is [`TURN_INTERVAL`] old (a session waiting for writability, a
/// handshake waiting for input).
#[test]
fn a_send_that_woke_no_session_turns_now_and_then() {
    let t0 = Stamp::from_nanos(1_000_000_000);
    let mut burst = Burst::new(t0);
    let at = |d: Duration| SendStart {
        at: t0.after(d),
        polled: false,
    };
    assert_eq!(burst.handle_send(16, at(us(5)), false, false), Write::Flush);
    assert_eq!(burst.handle_send(16, at(us(6)), false, true), Write::Turn);
    assert_eq!(
        burst.handle_send(16, at(TURN_INTERVAL), false, false),
        Write::Turn
    );
}

/// What the helper sleeps for: the rest of the hold, none when nothing is held.
#[test]
fn hold_left_counts_down_from_the_oldest_held_send() {
    let mut sim = Sim::new(us(3));
    assert_eq!(sim.burst.poll_hold_left(sim.now), None);
    for _ in 0..4 {
        sim.send(16, us(1));
    }
    assert!(sim.burst.holds());
    let oldest = sim.held_from[0];
    assert_eq!(
        sim.burst.poll_hold_left(oldest.after(us(15))),
        Some(HOLD_MAX - us(15))
    );
    assert_eq!(sim.burst.poll_hold_left(oldest.after(HOLD_MAX)), None);
}

/// A send that waited for room (a queue at SNDHWM: its wait turned the reactor) is timed
/// from the end of that wait: the wait is not what writing costs, and counted as such it
/// held the next bursts for milliseconds.
#[test]
fn a_wait_for_room_is_not_counted_as_writing() {
    let t0 = Stamp::from_nanos(1_000_000_000);
    let mut burst = Burst::new(t0);
    let start = SendStart {
        at: t0.after(us(100)),
        polled: false,
    };
    // The send waited 5 ms for room; its wait's turn ended then.
    burst.handle_turned(t0.after(us(5_100)));
    assert_eq!(burst.handle_send(16, start, true, false), Write::Turn);
    burst.handle_turned(t0.after(us(5_103)));
    burst.handle_written(start, true);
    assert_eq!(burst.hold, HOLD_MAX);
    assert_eq!(burst.gap, BURST_GAP);
}
