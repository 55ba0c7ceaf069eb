//! Speed rule: "no heap allocation per message for small messages in steady state (send ->
//! wire -> recv)". A counting global allocator counts the allocations of every thread of this
//! process (the I/O threads do half the work) while small messages flow PUSH → PULL.
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;

use isomq::{Context, Msg, SocketType};

struct Counting;

/// Allocations and reallocations by all threads. Relaxed: a count read after the threads
/// synchronised through the socket traffic and channels.
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to `System` unchanged; counting touches no allocator state.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is `GlobalAlloc::alloc`'s, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is `GlobalAlloc::dealloc`'s, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is `GlobalAlloc::realloc`'s, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counter is process-wide: tests of this file must not overlap.
static SERIAL: Mutex<()> = Mutex::new(());

const WARMUP: usize = 20_000;
const MEASURED: usize = 10_000;
/// "A handful at start-up is fine": what is allowed in the measured window, not per message.
const ALLOWED: u64 = 10;

/// Sends `WARMUP` then `MEASURED` messages of 30 bytes (the inline limit) from another thread
/// and returns the allocations made by all threads while the measured ones went through.
fn allocations_in_steady_state(endpoint: &str) -> u64 {
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind(endpoint).unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    let (go_tx, go_rx) = mpsc::sync_channel::<()>(1);
    let sender_ctx = ctx.clone();
    let sender = std::thread::spawn(move || {
        let mut push = sender_ctx.socket(SocketType::Push).unwrap();
        push.connect(&ep).unwrap();
        let payload = [7u8; 30];
        for _ in 0..WARMUP {
            push.send(Msg::copy_from_slice(&payload)).unwrap();
        }
        go_rx.recv().unwrap();
        for _ in 0..MEASURED {
            push.send(Msg::copy_from_slice(&payload)).unwrap();
        }
        go_rx.recv().unwrap();
    });
    for _ in 0..WARMUP {
        assert_eq!(pull.recv().unwrap().len(), 30);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    go_tx.send(()).unwrap();
    for _ in 0..MEASURED {
        assert_eq!(pull.recv().unwrap().len(), 30);
    }
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    go_tx.send(()).unwrap();
    sender.join().unwrap();
    after - before
}

#[test]
fn inproc_small_messages_do_not_allocate() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = allocations_in_steady_state("inproc://alloc-test");
    assert!(
        n < ALLOWED,
        "{n} allocations for {MEASURED} messages over inproc"
    );
}

#[test]
fn tcp_small_messages_do_not_allocate() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = allocations_in_steady_state("tcp://127.0.0.1:*");
    assert!(
        n < ALLOWED,
        "{n} allocations for {MEASURED} messages over tcp"
    );
}
