//! Whether a socket's blocking receive polls its mailbox before it sleeps: a socket
//! without a reactor of its own whose peers are all inproc://, awaiting the answer to its
//! last send. (An inline socket's waits spin in its reactor, docs/architecture.md §5.5;
//! an I/O thread spins for the replies it carries, §5.6; this is the case neither covers.)
//!
//! Why: a thread asleep in its wait is woken by the thread that posts the command, with a
//! futex wake-up on the poster's side and, on a machine whose idle CPUs halt (a virtual
//! machine), tens of microseconds before the sleeper runs. An inproc REQ ↔ REP exchange
//! paid that at every hop: 21–23 µs one way, against 0.3–0.4 µs with the spin
//! (`inproc_lat 16 20000`; benches/RESULTS.md, "seventeenth stop").

use std::hash::BuildHasher;
use std::time::Duration;

use isomq_core::Endpoint;

/// The longest a wait polls before it sleeps (an inline socket's and an I/O thread's
/// spin are as long).
pub(super) const WAIT_SPIN: Duration = Duration::from_micros(50);

/// How long a polling wait polls before it yields its CPU between polls. An answer from a
/// peer running on another CPU comes within a few microseconds; past that, the peer may be
/// queued behind this thread on its CPU (two busy loops beside an inproc exchange put the
/// REQ and the REP on one CPU), and a poll that keeps the CPU keeps the answer from coming.
pub(super) const WAIT_SPIN_ALONE: Duration = Duration::from_micros(5);

/// Waits that sleep at once after a long one, on average, before one of them polls again
/// (a probe).
///
/// Why: a wait that sleeps is measured with the wake-up in it, and on a loaded machine (or
/// a virtual one whose idle CPU halts) waking a sleeper can itself take longer than the
/// spin. Judged by its own sleeping waits alone, a socket whose peer answered fast again
/// would stay asleep for good: a REP slept through whole inproc exchanges that way under
/// two busy loops (1 run in 20). A probe costs at most one spin per this many waits of a
/// peer that is really slow: a few per cent of the CPU of a client pausing 1 ms between
/// requests.
///
/// The gaps are drawn at random per socket, 2 to 14 waits (the wait right after a long one
/// always sleeps). Both ends of an exchange are in the same state, and a probe helps only
/// in a round in which the other end polls too: with a fixed gap, two ends that started
/// their counts apart stay apart for good. Probes alone, fixed or random, still left the
/// REP asleep in 1 run in 40 and 2 in 60; with the yield of [`WAIT_SPIN_ALONE`] as well,
/// in none of 160.
const PROBE_EVERY: u32 = 8;

/// A socket's record of its last wait and of its last send.
#[derive(Debug)]
pub(super) struct WaitSpin {
    /// The last wait ended within [`WAIT_SPIN`]: the next one polls first. A wait that
    /// outlasts the spin (a peer that sends now and then) makes the next sleep at once,
    /// until a probe ([`PROBE_EVERY`]) ends within the spin again.
    short: bool,
    /// Sleeping waits left before the next probe.
    probe_in: u32,
    /// The state of the generator the probe gaps are drawn from (xorshift64).
    draws: u64,
    /// The socket sent since it last received: a receive now waits for an answer.
    sent: bool,
    /// The socket has bound or connected an endpoint other than inproc://: its answers
    /// may come through an I/O thread, which spins itself (docs/architecture.md §5.6).
    remote: bool,
    /// The machine has more than one CPU (on one, the poster would wait for the spin to
    /// end).
    several_cpus: bool,
    /// Waits that a command ended while they polled (read only by tests).
    spun: u64,
}

impl WaitSpin {
    /// The record of a new socket; `several_cpus`: the machine has more than one CPU.
    pub(super) fn new(several_cpus: bool) -> WaitSpin {
        // A seed of its own per socket, without a system call: std's per-instance hash keys.
        let seed = std::hash::RandomState::new().hash_one(0u8);
        WaitSpin::with_seed(several_cpus, seed)
    }

    /// [`WaitSpin::new`] with the generator of probe gaps seeded with `seed`.
    fn with_seed(several_cpus: bool, seed: u64) -> WaitSpin {
        // xorshift64 must not start at zero.
        let mut spin = WaitSpin {
            short: true,
            probe_in: 0,
            draws: seed | 1,
            sent: false,
            remote: false,
            several_cpus,
            spun: 0,
        };
        spin.probe_in = spin.draw_gap();
        spin
    }

    /// The sleeping waits until the next probe, the probe included: 2 to
    /// `2 * PROBE_EVERY - 2`.
    fn draw_gap(&mut self) -> u32 {
        let mut x = self.draws;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.draws = x;
        // The remainder is below 2 * PROBE_EVERY - 3, so it fits.
        2 + u32::try_from(x % u64::from(2 * PROBE_EVERY - 3)).unwrap_or(0)
    }

    /// Whether the next wait polls first: it is a receive (`input`) that awaits an answer
    /// to the socket's last send from inproc:// peers only, its last wait was short, and
    /// the machine has more than one CPU.
    ///
    /// Only an answer: a stream's receiver, and a sender waiting for room, would take the
    /// CPU from the threads that feed them. With each side a process of an application
    /// thread and an I/O thread on two CPUs, spinning in every short wait cut tcp 16 B
    /// streams from 16.7 to 9.7 M msg/s. Only inproc:// peers: an answer through an I/O
    /// thread comes from a thread that spins for it already, and both spinning on two
    /// CPUs took the CPU the I/O threads needed: tcp 16 B request–reply went from 18–21
    /// to 32–37 µs one way (benches/RESULTS.md, "seventeenth stop").
    ///
    /// After a long wait, one in [`PROBE_EVERY`] such waits, on average, polls anyway.
    pub(super) fn should_spin(&mut self, input: bool) -> bool {
        if !(input && self.sent && !self.remote && self.several_cpus) {
            return false;
        }
        if self.short {
            return true;
        }
        self.probe_in = self.probe_in.saturating_sub(1);
        if self.probe_in > 0 {
            return false;
        }
        self.probe_in = self.draw_gap();
        true
    }

    /// The socket binds or connects `ep`.
    pub(super) fn handle_endpoint(&mut self, ep: &Endpoint) {
        if !matches!(ep, Endpoint::Inproc(_)) {
            self.remote = true;
        }
    }

    /// A polling wait got its command.
    pub(super) fn handle_spun(&mut self) {
        self.spun += 1;
    }

    /// How many polling waits got their command.
    #[cfg(test)]
    pub(super) fn spun(&self) -> u64 {
        self.spun
    }

    /// A wait ended after `waited`.
    pub(super) fn handle_waited(&mut self, waited: Duration) {
        let was_short = std::mem::replace(&mut self.short, waited <= WAIT_SPIN);
        if was_short && !self.short {
            // The first long wait: the gap to the first probe starts now.
            self.probe_in = self.draw_gap();
        }
    }

    /// The socket sent a whole message.
    pub(super) fn handle_sent(&mut self) {
        self.sent = true;
    }

    /// The socket received a frame.
    pub(super) fn handle_received(&mut self) {
        self.sent = false;
    }
}

#[cfg(test)]
mod tests {
    // In tests a panic is the failure report.
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn only_a_receive_awaiting_an_answer_spins() {
        let mut spin = WaitSpin::new(true);
        // A stream's receiver, which never sends.
        assert!(!spin.should_spin(true));
        spin.handle_sent();
        // A sender waiting for room.
        assert!(!spin.should_spin(false));
        assert!(spin.should_spin(true));
        spin.handle_received();
        assert!(!spin.should_spin(true));
    }

    #[test]
    fn a_socket_with_a_remote_endpoint_never_spins() {
        let mut spin = WaitSpin::new(true);
        spin.handle_sent();
        spin.handle_endpoint(&Endpoint::parse("inproc://x").unwrap());
        assert!(spin.should_spin(true));
        spin.handle_endpoint(&Endpoint::parse("tcp://127.0.0.1:5555").unwrap());
        assert!(!spin.should_spin(true));
    }

    #[test]
    fn a_wait_longer_than_the_spin_makes_the_next_sleep_at_once() {
        let mut spin = WaitSpin::new(true);
        spin.handle_sent();
        spin.handle_waited(WAIT_SPIN * 2);
        assert!(!spin.should_spin(true));
        spin.handle_waited(WAIT_SPIN);
        assert!(spin.should_spin(true));
    }

    /// After a long wait: which of the next `waits` waits poll, each of them long too.
    fn probes(spin: &mut WaitSpin, waits: usize) -> Vec<usize> {
        (0..waits)
            .filter(|_| {
                let polls = spin.should_spin(true);
                spin.handle_waited(WAIT_SPIN * 2);
                polls
            })
            .collect()
    }

    #[test]
    fn after_a_long_wait_one_in_eight_waits_polls_until_one_is_short() {
        let mut spin = WaitSpin::with_seed(true, 7);
        spin.handle_sent();
        spin.handle_waited(WAIT_SPIN * 2);
        let polled = probes(&mut spin, 800);
        // About 100; the gaps between 2 and 14 waits.
        assert!((60..=140).contains(&polled.len()), "{}", polled.len());
        let gaps: Vec<usize> = polled.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| (2..=14).contains(g)), "{gaps:?}");
        assert!(gaps.iter().any(|&g| g != gaps[0]), "random gaps: {gaps:?}");
        // A probe whose answer came within the spin: every wait polls again.
        while !spin.should_spin(true) {}
        spin.handle_waited(WAIT_SPIN / 2);
        assert!((0..PROBE_EVERY).all(|_| spin.should_spin(true)));
    }

    /// Both ends of an exchange asleep: a probe helps only in a round in which the other end
    /// probes too (it then answers at once). With one fixed gap, two ends whose counts
    /// started apart would never probe in the same round.
    #[test]
    fn two_ends_probing_meet_in_the_same_round() {
        let ends = [WaitSpin::with_seed(true, 1), WaitSpin::with_seed(true, 2)];
        let [mut a, mut b] = ends;
        for s in [&mut a, &mut b] {
            s.handle_sent();
            s.handle_waited(WAIT_SPIN * 2);
        }
        let (pa, pb) = (probes(&mut a, 400), probes(&mut b, 400));
        let met = pa.iter().filter(|round| pb.contains(round)).count();
        assert!(met >= 2, "{pa:?} / {pb:?}");
        assert!(pa != pb);
    }

    #[test]
    fn sockets_draw_gaps_of_their_own() {
        let (a, b) = (WaitSpin::new(true), WaitSpin::new(true));
        assert_ne!(a.draws, b.draws);
    }

    #[test]
    fn a_wait_that_does_not_await_an_answer_is_no_step_towards_a_probe() {
        let long_wait = |spin: &mut WaitSpin| {
            spin.handle_sent();
            spin.handle_waited(WAIT_SPIN * 2);
        };
        let (mut plain, mut twin) = (WaitSpin::with_seed(true, 3), WaitSpin::with_seed(true, 3));
        long_wait(&mut plain);
        long_wait(&mut twin);
        // The twin receives, then waits for input and for room, none of it awaiting an
        // answer: it neither polls nor moves towards its probe.
        twin.handle_received();
        for _ in 0..2 * PROBE_EVERY {
            assert!(!twin.should_spin(true));
            assert!(!twin.should_spin(false));
        }
        twin.handle_sent();
        assert_eq!(probes(&mut twin, 100), probes(&mut plain, 100));
    }

    #[test]
    fn one_cpu_never_spins() {
        let mut spin = WaitSpin::new(false);
        spin.handle_sent();
        assert!(!spin.should_spin(true));
    }
}
