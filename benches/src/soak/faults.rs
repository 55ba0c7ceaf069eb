//! The fault schedule: every `fault_every` one relay either resets its connections (both
//! sides get an RST, what the relay held is gone) or stalls for `stall_for` (longer than
//! the heartbeat timeout of the sockets behind it, so they take the path for dead and
//! reconnect); every `kill_every` the peer process is killed with SIGKILL and started
//! again. Relays in `stall_only` carry sockets whose check assumes one connection (a
//! steady subscriber), so they are stalled, never reset.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use isomq_tests::relay::Relay;

use super::child::ChildPeer;
use super::counters::Counters;
use super::pace::{sleep_unless, Rng};
use super::Shared;

/// What the fault thread acts on.
#[derive(Debug)]
pub struct Targets {
    pub resettable: Vec<Arc<Relay>>,
    pub stall_only: Vec<Arc<Relay>>,
    pub child: Arc<Mutex<ChildPeer>>,
}

/// Makes faults until the run turns them off; leaves every relay forwarding.
pub fn run(shared: &Shared, t: &Targets) -> Result<(), String> {
    let cfg = &shared.config;
    let c = &shared.counters;
    let mut rng = Rng::new(7);
    let mut next_kill = Instant::now() + cfg.kill_every;
    let off = || shared.faults_off();
    while !off() {
        sleep_unless(cfg.fault_every, off);
        if off() {
            break;
        }
        let all = t.resettable.len() + t.stall_only.len();
        let i = usize::try_from(rng.below(all as u64)).unwrap_or(0);
        let relay = t
            .resettable
            .iter()
            .chain(&t.stall_only)
            .nth(i)
            .ok_or("no relay")?;
        if i < t.resettable.len() && rng.below(2) == 0 {
            relay.reset();
            Counters::add(&c.resets, 1);
        } else {
            relay.stall();
            Counters::add(&c.stalls, 1);
            sleep_unless(cfg.stall_for, off);
            relay.resume();
        }
        if Instant::now() >= next_kill {
            next_kill = Instant::now() + cfg.kill_every;
            t.child
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .restart()?;
        }
    }
    for r in t.resettable.iter().chain(&t.stall_only) {
        r.resume();
    }
    Ok(())
}
