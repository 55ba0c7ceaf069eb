//! When an I/O thread polls for a while before it sleeps (docs/architecture.md §5.6).
//! Sans-IO: the thread passes in the times it read and how its turns went, and spins for
//! as long as [`Spin::poll_budget`] says.
//!
//! Why: a thread asleep in its poll is woken by the kernel, and a CPU left idle by it may
//! be slow to wake: a virtual machine's halted vCPU took 35–40 µs here, most of a request–
//! reply round trip (benches/RESULTS.md, "sixteenth stop"). A thread still polling needs
//! no wake-up. Spinning costs CPU, and in a stream it makes each write or read carry
//! fewer messages (tcp 16 B throughput fell by a fifth to a half when every short wait
//! spun), so an I/O thread spins only while request and reply pass through it: after a
//! socket thread it woke with input answered through it, and while its waits for the same
//! thing stay short.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// The longest a wait polls before it sleeps (an inline socket's spin is as long).
pub(super) const SPIN: Duration = Duration::from_micros(50);

/// A wait for a peer's message longer than this is long: the next one sleeps at once.
/// Four spins, not one: in an exchange of 64 KiB messages a wait for the peer takes
/// 40–110 µs while neither side spins, and less once both do; counted long past one spin,
/// the waits never spun again and the round trip stayed 1.5× as long (benches/RESULTS.md,
/// "sixteenth stop"). A wait for a woken socket's answer is long past one spin: a socket
/// that answers at once does so within microseconds, and one whose thread pauses first
/// (a client between requests) cost a futile spin per request.
const LONG_PEER_WAIT: Duration = Duration::from_micros(200);

/// A socket's output that comes this soon after the thread woke a socket waiting for input
/// counts as its answer; after an answer, waits spin for this long.
const ANSWER_WINDOW: Duration = Duration::from_millis(1);

thread_local! {
    /// This thread handed input to a socket whose thread waited for it (blocked in a
    /// call, in `poll`, an async task, a loop on the readiness fd), since the last
    /// [`take_woke_reader`]. The wake happens deep in a pipe's flush, behind the core's
    /// `Notify`, which has no way back to the reactor; only an I/O thread reads it (other
    /// threads set it to no effect).
    static WOKE_READER: Cell<bool> = const { Cell::new(false) };
}

/// Records that this thread woke a socket thread waiting for input (see [`WOKE_READER`]).
pub(crate) fn note_woke_reader() {
    WOKE_READER.with(|woke| woke.set(true));
}

/// Whether this thread woke a socket thread waiting for input since the last call.
pub(super) fn take_woke_reader() -> bool {
    WOKE_READER.with(|woke| woke.replace(false))
}

/// What one turn of an I/O thread did, for [`Spin::handle_turn`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Turn {
    /// How long its wait took, spin included.
    pub(super) waited: Duration,
    /// It woke a socket thread that waited for input ([`take_woke_reader`]).
    pub(super) woke_reader: bool,
    /// A socket announced output (its pipe to a session turned readable): if that
    /// socket was woken for input shortly before, this is its answer.
    pub(super) socket_output: bool,
}

/// An I/O thread's spin state.
#[derive(Debug)]
pub(super) struct Spin {
    /// The machine has more than one CPU: on one, a spinning thread holds up the thread
    /// it waits for.
    cpus: bool,
    /// When the thread last woke a socket thread waiting for input.
    woke_at: Option<Instant>,
    /// Waits spin until then: set when a socket answered input it was woken for.
    answering_until: Option<Instant>,
    /// What the next wait is for, as the last turn says.
    awaited: Awaited,
    /// Per [`Awaited`]: the last wait for it was short ([`Awaited::short_limit`]). A long one
    /// makes the next wait for the same thing sleep at once (sparse traffic), until one is
    /// short again.
    short: [bool; 2],
}

/// What an I/O thread's wait is for. In an exchange the waits alternate: for the answer
/// of a socket the thread woke with input, then for the peer's next message. Either may be
/// long while the other is short (a client that pauses between requests, a server whose
/// clients do), so each has its own record: spinning through the long one each time cost
/// a server 20–40 µs of CPU per request (benches/RESULTS.md, "sixteenth stop").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Awaited {
    /// The answer of a socket woken for input in the last turn.
    Answer = 0,
    /// Anything else: a peer's next message, usually.
    Peer = 1,
}

impl Awaited {
    /// How long a wait for it may take and still count as short.
    fn short_limit(self) -> Duration {
        match self {
            Awaited::Answer => SPIN,
            Awaited::Peer => LONG_PEER_WAIT,
        }
    }
}

impl Spin {
    /// The state of a new thread (`several_cpus`: the machine has more than one CPU): no
    /// spin until a socket answers.
    pub(super) fn new(several_cpus: bool) -> Spin {
        Spin {
            cpus: several_cpus,
            woke_at: None,
            answering_until: None,
            awaited: Awaited::Peer,
            short: [true; 2],
        }
    }

    /// After a turn, at `now`. A socket that writes soon after it was woken for input
    /// answers (a request–reply exchange, a pipeline stage): one that only reads (a
    /// stream's receiver) does not, and its thread's waits do not spin.
    pub(super) fn handle_turn(&mut self, now: Instant, turn: Turn) {
        self.short[self.awaited as usize] = turn.waited <= self.awaited.short_limit();
        self.awaited = if turn.woke_reader {
            self.woke_at = Some(now);
            Awaited::Answer
        } else {
            Awaited::Peer
        };
        let answered = turn.socket_output
            && self
                .woke_at
                .is_some_and(|at| now.saturating_duration_since(at) <= ANSWER_WINDOW);
        if answered {
            self.answering_until = Some(now + ANSWER_WINDOW);
        }
    }

    /// How long the next wait, at `now`, polls before it sleeps: zero to sleep at once.
    /// `timeout` is the wait's own (the next timer), which the spin does not outlast.
    pub(super) fn poll_budget(&self, now: Instant, timeout: Option<Duration>) -> Duration {
        let answering = self.answering_until.is_some_and(|until| now < until);
        if !(self.cpus && self.short[self.awaited as usize] && answering) {
            return Duration::ZERO;
        }
        timeout.map_or(SPIN, |t| t.min(SPIN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Duration = Duration::from_micros(1);

    fn turn(waited: Duration, woke_reader: bool, socket_output: bool) -> Turn {
        Turn {
            waited,
            woke_reader,
            socket_output,
        }
    }

    /// A request–reply exchange through the thread: input woken for at `at`, answered
    /// 10 µs later.
    fn exchange(spin: &mut Spin, at: Instant) -> Instant {
        spin.handle_turn(at, turn(5 * US, true, false));
        let answer = at + 10 * US;
        spin.handle_turn(answer, turn(5 * US, false, true));
        answer
    }

    #[test]
    fn a_stream_does_not_spin() {
        let t0 = Instant::now();
        let mut spin = Spin::new(true);
        assert_eq!(spin.poll_budget(t0, None), Duration::ZERO);
        // A receiver's turns: short waits, its socket woken for input, never answering.
        for i in 0..10 {
            let now = t0 + i * 10 * US;
            spin.handle_turn(now, turn(5 * US, true, false));
            assert_eq!(spin.poll_budget(now, None), Duration::ZERO);
        }
        // A sender's turns (another thread): its socket's output, nobody woken for input.
        let mut spin = Spin::new(true);
        for i in 10..20 {
            let now = t0 + i * 10 * US;
            spin.handle_turn(now, turn(5 * US, false, true));
            assert_eq!(spin.poll_budget(now, None), Duration::ZERO);
        }
    }

    #[test]
    fn an_answer_makes_waits_spin_for_the_window() {
        let t0 = Instant::now();
        let mut spin = Spin::new(true);
        let answer = exchange(&mut spin, t0);
        assert_eq!(spin.poll_budget(answer, None), SPIN);
        let late = answer + ANSWER_WINDOW - US;
        spin.handle_turn(late, turn(20 * US, false, false));
        assert_eq!(spin.poll_budget(late, None), SPIN);
        let after = answer + ANSWER_WINDOW;
        spin.handle_turn(after, turn(20 * US, false, false));
        assert_eq!(spin.poll_budget(after, None), Duration::ZERO);
    }

    #[test]
    fn output_long_after_the_wake_is_no_answer() {
        let t0 = Instant::now();
        let mut spin = Spin::new(true);
        spin.handle_turn(t0, turn(5 * US, true, false));
        let late = t0 + ANSWER_WINDOW + US;
        spin.handle_turn(late, turn(5 * US, false, true));
        assert_eq!(spin.poll_budget(late, None), Duration::ZERO);
    }

    #[test]
    fn a_server_whose_client_pauses_spins_only_for_the_answer() {
        let t0 = Instant::now();
        let mut spin = Spin::new(true);
        let answer = exchange(&mut spin, t0);
        assert_eq!(spin.poll_budget(answer, None), SPIN);
        // The next request comes after a pause: the wait for it outlasted the spin.
        let request = answer + 500 * US;
        spin.handle_turn(request, turn(500 * US, true, false));
        assert_eq!(
            spin.poll_budget(request, None),
            SPIN,
            "the answer comes at once"
        );
        let answer = request + 10 * US;
        spin.handle_turn(answer, turn(10 * US, false, true));
        assert_eq!(
            spin.poll_budget(answer, None),
            Duration::ZERO,
            "requests come late"
        );
        // Requests come quickly again: the wait for the next one spins again.
        let request = answer + 20 * US;
        spin.handle_turn(request, turn(20 * US, true, false));
        let answer = request + 10 * US;
        spin.handle_turn(answer, turn(10 * US, false, true));
        assert_eq!(spin.poll_budget(answer, None), SPIN);
    }

    #[test]
    fn a_client_that_pauses_spins_only_for_the_reply() {
        let t0 = Instant::now();
        let mut spin = Spin::new(true);
        let request = exchange(&mut spin, t0);
        // The reply: wakes the client's socket, whose next request comes after a pause.
        let reply = request + 30 * US;
        spin.handle_turn(reply, turn(30 * US, true, false));
        assert_eq!(spin.poll_budget(reply, None), SPIN);
        let request = reply + 500 * US;
        spin.handle_turn(request, turn(500 * US, false, true));
        assert_eq!(
            spin.poll_budget(request, None),
            SPIN,
            "the reply comes at once"
        );
        let reply = request + 30 * US;
        spin.handle_turn(reply, turn(30 * US, true, false));
        assert_eq!(
            spin.poll_budget(reply, None),
            Duration::ZERO,
            "requests come late"
        );
    }

    #[test]
    fn one_cpu_never_spins() {
        let t0 = Instant::now();
        let mut spin = Spin::new(false);
        let answer = exchange(&mut spin, t0);
        assert_eq!(spin.poll_budget(answer, None), Duration::ZERO);
    }

    #[test]
    fn the_spin_ends_at_the_next_timer() {
        let t0 = Instant::now();
        let mut spin = Spin::new(true);
        let answer = exchange(&mut spin, t0);
        assert_eq!(spin.poll_budget(answer, Some(7 * US)), 7 * US);
        assert_eq!(
            spin.poll_budget(answer, Some(Duration::ZERO)),
            Duration::ZERO
        );
        assert_eq!(spin.poll_budget(answer, Some(Duration::from_secs(1))), SPIN);
    }
}
