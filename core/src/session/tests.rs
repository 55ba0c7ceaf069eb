//! Every timer path of a session on a simulated clock: deterministic, no sleeps. Each test
//! quotes the libzmq behaviour it checks (docs/wire.md §5.1, §7.2, §7.3, §4.6).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use super::{Action, Backoff, Expired, Lifecycle};
use crate::{Options, SocketType};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn options(f: impl FnOnce(&mut Options)) -> Options {
    let mut o = Options::new(SocketType::Dealer);
    f(&mut o);
    o
}

/// Runs the clock to `now` and returns the actions it produced.
fn tick(l: &mut Lifecycle, now: Duration) -> Vec<Action> {
    l.handle_timeout(now);
    std::iter::from_fn(|| l.poll_action()).collect()
}

/// "RECONNECT_IVL_MAX 0: the interval plus a random jitter in [0, interval)": every delay
/// stays within that range, whatever the random numbers, and does not grow.
#[test]
fn fixed_interval_reconnects_with_jitter_below_the_interval() {
    let mut b = Backoff::new(&options(|_| {}));
    for random in [0, 1, 99, 100, 12_345, u64::MAX] {
        let d = b.next_delay(random).unwrap();
        assert!(d >= ms(100) && d < ms(200), "{d:?} for {random}");
        assert_eq!(d, ms(100 + random % 100));
    }
    // An interval of 0 has no jitter range (libzmq would divide by zero).
    let mut zero = Backoff::new(&options(|o| o.reconnect_ivl = Some(Duration::ZERO)));
    assert_eq!(zero.next_delay(7), Some(Duration::ZERO));
}

/// "RECONNECT_IVL_MAX > 0: the interval doubles after each failure up to the maximum",
/// without jitter; an established connection starts the schedule over.
#[test]
fn exponential_backoff_doubles_to_the_maximum_and_resets_on_success() {
    let o = options(|o| o.reconnect_ivl_max = ms(1000));
    let mut b = Backoff::new(&o);
    let delays: Vec<_> = (0..6).map(|r| b.next_delay(r).unwrap()).collect();
    assert_eq!(
        delays,
        [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
    );
    b.reset();
    assert_eq!(b.next_delay(3), Some(ms(100)));
}

/// "RECONNECT_IVL -1: no reconnection".
#[test]
fn no_reconnect_interval_means_no_reconnection() {
    let mut l = Lifecycle::new(&options(|o| o.reconnect_ivl = None), true);
    l.handle_started(ms(0));
    assert_eq!(l.handle_lost(ms(5), 0), None);
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn a_lost_connection_reconnects_after_the_delay() {
    let mut l = Lifecycle::new(&options(|_| {}), true);
    let delay = l.handle_lost(ms(1000), 42).unwrap();
    assert_eq!(delay, ms(142));
    assert_eq!(l.poll_timeout(), Some(ms(1142)));
    assert!(tick(&mut l, ms(1141)).is_empty());
    assert_eq!(tick(&mut l, ms(1142)), [Action::Connect]);
    assert_eq!(l.poll_timeout(), None);
}

/// libzmq: an accepted connection is not remade by the accepting side; a protocol error
/// stops reconnection for good.
#[test]
fn accepted_sessions_and_protocol_errors_do_not_reconnect() {
    let mut accepted = Lifecycle::new(&options(|_| {}), false);
    accepted.handle_started(ms(0));
    assert_eq!(accepted.handle_lost(ms(1), 0), None);
    let mut broken = Lifecycle::new(&options(|_| {}), true);
    broken.handle_started(ms(0));
    broken.stop_reconnecting();
    assert_eq!(broken.handle_lost(ms(1), 0), None);
}

/// "HANDSHAKE_IVL: the handshake must finish within this time of the connection".
#[test]
fn a_handshake_that_does_not_finish_in_time_is_dropped() {
    let mut l = Lifecycle::new(&options(|o| o.handshake_ivl = Some(ms(500))), true);
    l.handle_started(ms(10));
    assert_eq!(l.poll_timeout(), Some(ms(510)));
    assert!(tick(&mut l, ms(509)).is_empty());
    assert_eq!(
        tick(&mut l, ms(510)),
        [Action::Disconnect(Expired::Handshake)]
    );
    // Reported as lost, the session retries on the usual schedule.
    assert_eq!(l.handle_lost(ms(510), 0), Some(ms(100)));
}

/// libzmq ZMQ_CONNECT_TIMEOUT: "Sets how long to wait before timing-out a connect() system
/// call. [...] A value of 0 (the default) disables the timeout": the attempt is abandoned
/// and the next one follows the reconnect schedule.
#[test]
fn a_connect_that_does_not_complete_in_time_is_abandoned_and_retried() {
    let mut l = Lifecycle::new(&options(|o| o.connect_timeout = Some(ms(250))), true);
    l.handle_connecting(ms(10));
    assert_eq!(l.poll_timeout(), Some(ms(260)));
    assert!(tick(&mut l, ms(259)).is_empty());
    assert_eq!(
        tick(&mut l, ms(260)),
        [Action::Disconnect(Expired::Connect)]
    );
    assert_eq!(l.handle_lost(ms(260), 0), Some(ms(100)));
    assert_eq!(tick(&mut l, ms(360)), [Action::Connect]);
    // The next attempt completes in time: the connect deadline gives way to the
    // handshake's.
    l.handle_connecting(ms(360));
    l.handle_started(ms(400));
    assert_eq!(l.poll_timeout(), Some(ms(30_400)));
    assert!(tick(&mut l, ms(1_000)).is_empty());
}

/// Without CONNECT_TIMEOUT (the default) a connect attempt has no deadline of its own.
#[test]
fn without_a_connect_timeout_the_attempt_waits_for_the_kernel() {
    let mut l = Lifecycle::new(&options(|_| {}), true);
    l.handle_connecting(ms(0));
    assert_eq!(l.poll_timeout(), None);
    assert!(tick(&mut l, ms(600_000)).is_empty());
}

#[test]
fn a_finished_handshake_cancels_its_deadline() {
    let mut l = Lifecycle::new(&options(|o| o.handshake_ivl = Some(ms(500))), true);
    l.handle_started(ms(0));
    assert!(!l.handle_ready(ms(100)));
    assert_eq!(l.poll_timeout(), None);
    assert!(tick(&mut l, ms(10_000)).is_empty());
}

/// The second handshake of a connecting session is a reconnection: the socket replays its
/// subscriptions; and the backoff starts over.
#[test]
fn a_second_handshake_is_a_hiccup_and_resets_the_backoff() {
    let mut l = Lifecycle::new(&options(|o| o.reconnect_ivl_max = ms(10_000)), true);
    l.handle_started(ms(0));
    assert!(!l.handle_ready(ms(1)));
    assert_eq!(l.handle_lost(ms(2), 0), Some(ms(100)));
    assert_eq!(l.handle_lost(ms(3), 0), Some(ms(200)));
    l.handle_started(ms(300));
    assert!(l.handle_ready(ms(301)));
    assert_eq!(l.handle_lost(ms(400), 0), Some(ms(100)));
}

/// "HEARTBEAT_IVL: a PING this often; HEARTBEAT_TIMEOUT: drop the connection when nothing
/// arrives this long after a PING" (the timeout is armed at a PING when none is pending).
#[test]
fn heartbeats_ping_on_schedule_and_time_out_a_silent_peer() {
    let o = options(|o| {
        o.heartbeat_ivl = Some(ms(1000));
        o.heartbeat_timeout = Some(ms(2500));
        o.heartbeat_ttl = Some(ms(3000));
    });
    let mut l = Lifecycle::new(&o, true);
    l.handle_started(ms(0));
    l.handle_ready(ms(0));
    let ping = Action::Ping {
        ttl_deciseconds: 30,
    };
    assert_eq!(tick(&mut l, ms(1000)), [ping]);
    assert_eq!(tick(&mut l, ms(2000)), [ping]);
    // Traffic at 2.2 s answers: the timeout armed at 1 s (due 3.5 s) is cancelled.
    l.handle_input(ms(2200));
    assert_eq!(tick(&mut l, ms(3000)), [ping]);
    assert_eq!(tick(&mut l, ms(4000)), [ping]);
    assert_eq!(tick(&mut l, ms(5000)), [ping]);
    assert!(tick(&mut l, ms(5499)).is_empty());
    // Armed at the PING of 3 s, nothing since: due at 5.5 s.
    assert_eq!(
        tick(&mut l, ms(5500)),
        [Action::Disconnect(Expired::Heartbeat)]
    );
    l.handle_lost(ms(5500), 0);
    assert_eq!(
        l.poll_timeout(),
        Some(ms(5600)),
        "only the reconnect is left"
    );
}

#[test]
fn heartbeat_timeout_defaults_to_the_interval() {
    let mut l = Lifecycle::new(&options(|o| o.heartbeat_ivl = Some(ms(100))), false);
    l.handle_started(ms(0));
    l.handle_ready(ms(0));
    let ping = Action::Ping { ttl_deciseconds: 0 };
    assert_eq!(tick(&mut l, ms(100)), [ping]);
    assert_eq!(
        tick(&mut l, ms(200)),
        [ping, Action::Disconnect(Expired::Heartbeat)]
    );
}

/// "A PING's TTL: the receiver closes the connection when nothing arrives within it";
/// any traffic cancels it, and a later PING arms it again.
#[test]
fn the_peers_ttl_drops_a_silent_peer() {
    let mut l = Lifecycle::new(&options(|_| {}), false);
    l.handle_started(ms(0));
    l.handle_ready(ms(0));
    l.handle_peer_ttl(ms(100), 5);
    assert_eq!(l.poll_timeout(), Some(ms(600)));
    l.handle_input(ms(300));
    assert_eq!(l.poll_timeout(), None);
    l.handle_peer_ttl(ms(400), 5);
    assert!(tick(&mut l, ms(899)).is_empty());
    assert_eq!(
        tick(&mut l, ms(900)),
        [Action::Disconnect(Expired::PeerTtl)]
    );
    // A TTL of 0 asks nothing.
    l.handle_peer_ttl(ms(1000), 0);
    assert_eq!(l.poll_timeout(), None);
    // A PING decoded with the handshake, before the host saw it ready, counts too; once the
    // connection is gone, a stale one does not.
    let mut early = Lifecycle::new(&options(|_| {}), false);
    early.handle_started(ms(0));
    early.handle_peer_ttl(ms(0), 3);
    assert_eq!(early.poll_timeout(), Some(ms(300)));
    early.handle_lost(ms(1), 0);
    early.handle_peer_ttl(ms(2), 3);
    assert_eq!(early.poll_timeout(), None);
}

/// "LINGER: how long close waits to deliver queued messages": a positive linger ends the
/// session when it runs out, zero at once, -1 never.
#[test]
fn linger_ends_the_session_when_it_runs_out() {
    let mut l = Lifecycle::new(&options(|_| {}), true);
    l.handle_linger(ms(50), Some(ms(200)));
    assert!(tick(&mut l, ms(249)).is_empty());
    assert_eq!(tick(&mut l, ms(250)), [Action::Finish]);

    let mut zero = Lifecycle::new(&options(|_| {}), true);
    zero.handle_linger(ms(50), Some(Duration::ZERO));
    assert_eq!(zero.poll_action(), Some(Action::Finish));

    let mut forever = Lifecycle::new(&options(|_| {}), true);
    forever.handle_linger(ms(50), None);
    assert_eq!(forever.poll_timeout(), None);
}

/// Lingering outlives a lost connection: the session keeps trying to deliver until LINGER.
#[test]
fn linger_survives_a_reconnect() {
    let mut l = Lifecycle::new(&options(|_| {}), true);
    l.handle_started(ms(0));
    l.handle_linger(ms(0), Some(ms(1000)));
    assert_eq!(l.handle_lost(ms(10), 0), Some(ms(100)));
    assert_eq!(tick(&mut l, ms(110)), [Action::Connect]);
    assert_eq!(l.poll_timeout(), Some(ms(1000)));
    assert_eq!(tick(&mut l, ms(1000)), [Action::Finish]);
}
