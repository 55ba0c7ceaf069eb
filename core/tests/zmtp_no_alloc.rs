//! Speed rule (docs/architecture.md §7.2): no heap allocation per small message in steady
//! state (send -> wire -> recv), proved with a counting global allocator.
//!
//! This is its own test binary so that the counting allocator sees only this test, and it
//! counts the test thread's allocations alone: both connections run on it (the core is
//! sans-IO), while the test harness's own threads may allocate meanwhile (a run of the suite
//! once saw 4 such allocations in the window).

#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use isomq_core::zmtp::{Config, Connection, Event};
use isomq_core::{Msg, SocketType};

struct Counting;

thread_local! {
    // A const-initialised Copy cell: reading it from inside the allocator allocates nothing.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Counts an allocation of this thread (none once the thread's locals are gone).
fn count() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

/// This thread's allocations so far.
fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call unchanged to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Moves everything `from` has to send into `to`, through a reused wire buffer.
fn transfer(from: &mut Connection, to: &mut Connection, wire: &mut Vec<u8>) {
    wire.clear();
    while from.transmit_len() > 0 {
        let chunk = from.transmit_chunk();
        wire.extend_from_slice(chunk);
        let n = chunk.len();
        from.advance_transmit(n);
    }
    to.handle_input(wire).unwrap();
}

/// Sends a batch of small multipart messages a → b and receives them all.
fn round(a: &mut Connection, b: &mut Connection, wire: &mut Vec<u8>) -> usize {
    for i in 0..100u8 {
        a.send_msg(&Msg::from(&[i; 5][..]).with_more(true));
        a.send_msg(&Msg::from(&[i; 30][..]));
    }
    transfer(a, b, wire);
    let mut received = 0;
    while let Some(m) = b.poll_msg().unwrap() {
        assert!(m.is_inline());
        received += 1;
    }
    received
}

#[test]
fn small_messages_do_not_allocate_in_steady_state() {
    let mut a = Connection::new(Config::new(SocketType::Push));
    let mut b = Connection::new(Config::new(SocketType::Pull));
    let mut wire = Vec::with_capacity(1 << 16);
    for _ in 0..2 {
        transfer(&mut a, &mut b, &mut wire);
        transfer(&mut b, &mut a, &mut wire);
    }
    assert!(matches!(a.poll_event(), Some(Event::Ready(_))));
    assert!(matches!(b.poll_event(), Some(Event::Ready(_))));
    // Warm up: buffers grow to their working size.
    for _ in 0..3 {
        assert_eq!(round(&mut a, &mut b, &mut wire), 200);
    }
    let before = allocations();
    for _ in 0..10 {
        assert_eq!(round(&mut a, &mut b, &mut wire), 200);
    }
    let allocations = allocations() - before;
    assert_eq!(
        allocations, 0,
        "2000 small frames caused {allocations} allocations"
    );
}
