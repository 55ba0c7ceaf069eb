//! A publisher's memory with subscribers that stopped reading (docs/wire.md §7.7), alone in
//! its test binary: it measures the process's resident memory, which tests running beside
//! it would disturb.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use isomq::{Context, MonitorEvent, SocketOption, SocketType};
use isomq_tests::loss::{parse_seq, seq_frame};
use isomq_tests::stalled::StalledSubscriber;
use isomq_tests::{bind, expect_event, socket, sync_subscription, Transport};

const SIZE: usize = 64 * 1024;
const STALLED: usize = 10;
const SNDHWM: usize = 10;
/// Messages before the first measurement: far more than a stalled subscriber's queue holds.
const WARM: u64 = 200;
const TOTAL: u64 = 3000;
const WINDOW: u64 = 8;

/// Resident memory of this process, in bytes (`/proc/self/statm`, pages).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no memory effects.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * u64::try_from(page).unwrap()
}

// RFC 29 (PUB): a subscriber's full queue drops messages for it, so what the publisher holds
// for a subscriber that stopped reading is bounded by SNDHWM messages in its pipe plus one
// output batch (256 KiB, docs/architecture.md §7.4): 10 stalled subscribers cost at most
// 10 × (10 + 5) × 64 KiB ≈ 10 MiB here, whatever the stream's length. 175 MiB are streamed
// after the first measurement (to a subscriber that keeps up, in windows of 8 within every
// HWM); resident memory may not grow by more than 32 MiB over it. Were the stalled queues
// unbounded, they would hold on to all of it.
#[test]
fn a_publisher_holds_a_bounded_queue_for_stalled_subscribers() {
    let ctx = Context::new();
    let mut publisher = socket(&ctx, SocketType::Pub);
    publisher.set_option(SocketOption::SndHwm(SNDHWM)).unwrap();
    let events = publisher.monitor();
    let ep = bind(&mut publisher, Transport::Tcp);
    let _stalled: Vec<_> = (0..STALLED)
        .map(|_| StalledSubscriber::connect(&ep, b""))
        .collect();
    for _ in 0..STALLED {
        expect_event(&events, "a stalled subscriber's handshake", |e| {
            matches!(e, MonitorEvent::HandshakeSucceeded { .. })
        });
    }
    let sub_ctx = Context::new();
    let mut sub = socket(&sub_ctx, SocketType::Sub);
    sub.subscribe("").unwrap();
    sub.connect(&ep).unwrap();
    sync_subscription(&mut publisher, &mut sub, b"probe");
    let mut before = 0;
    let mut seq = 0;
    while seq < TOTAL {
        if seq == WARM {
            before = rss();
        }
        for s in seq..seq + WINDOW {
            let mut m = seq_frame(s);
            m.resize(SIZE, b' ');
            publisher.send(m).unwrap();
        }
        for s in seq..seq + WINDOW {
            assert_eq!(parse_seq(sub.recv().unwrap().as_slice()), s);
        }
        seq += WINDOW;
    }
    let after = rss();
    let grown = after.saturating_sub(before);
    eprintln!(
        "resident memory: {} MiB before, {} MiB after {} MiB more were published",
        before >> 20,
        after >> 20,
        ((TOTAL - WARM) * SIZE as u64) >> 20
    );
    assert!(
        grown < 32 << 20,
        "the publisher's memory grew by {} MiB with stalled subscribers",
        grown >> 20
    );
}
