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

use std::time::Duration;

use isomq_core::Endpoint;

/// The longest a wait polls before it sleeps (an inline socket's and an I/O thread's
/// spin are as long).
pub(super) const WAIT_SPIN: Duration = Duration::from_micros(50);

/// A socket's record of its last wait and of its last send.
#[derive(Debug)]
pub(super) struct WaitSpin {
    /// The last wait ended within [`WAIT_SPIN`]: the next one polls first. A wait that
    /// outlasts the spin (a peer that sends now and then) makes the next sleep at once.
    short: bool,
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
        WaitSpin {
            short: true,
            sent: false,
            remote: false,
            several_cpus,
            spun: 0,
        }
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
    pub(super) fn should_spin(&self, input: bool) -> bool {
        input && self.sent && !self.remote && self.short && self.several_cpus
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
        self.short = waited <= WAIT_SPIN;
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

    #[test]
    fn one_cpu_never_spins() {
        let mut spin = WaitSpin::new(false);
        spin.handle_sent();
        assert!(!spin.should_spin(true));
    }
}
