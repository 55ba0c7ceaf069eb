//! Speed rule (docs/architecture.md §7.2): no heap allocation per small message in steady
//! state (send -> wire -> recv). A counting global allocator counts the allocations of every
//! thread of this process (the I/O threads do half the work) while small messages flow
//! PUSH → PULL, and the count must be exactly zero.
//!
//! Steady state means every buffer on the path has reached its working size. Buffers that
//! grow with the backlog (a pipe's chunks, a connection's output batch) grow when a backlog
//! deeper than any before comes along, which depends on scheduling; so the warm-up includes
//! a stall: the receiver stops reading until the sender cannot send any more, which takes
//! most buffers to their high-water mark. After that, nothing on the path allocates:
//! the mailboxes are queues that keep their capacity, a pipe stocks its spare chunks the
//! first time it outgrows one, and a connection sizes its output batch for the session's
//! batching bound the first time it reaches it.
//!
//! The stall does not always take a pipe to its largest size. It ends when the sender's
//! credit runs out, which counts the reads the receiver last reported (every LWM
//! messages): the pipe then holds between LWM and HWM messages (1,005 to 2,000 inproc,
//! seen). And a full pipe spans 8 or 9 chunks of 256 slots depending on where in a chunk
//! it starts. So a measured window may still add a chunk once, when scheduling first
//! lets the backlog reach the ninth (1 allocation in 10,000 messages, the writer's, of
//! 12,312 bytes: once in about 40 runs). Each test therefore measures windows of
//! `MEASURED` messages one after the other on the same sockets, up to `WINDOWS`, and
//! passes when one allocates nothing: growth ends, while a per-message allocation fails
//! every window by thousands.
//!
//! CURVE over tcp, 16 B and 256 B, with the client sending and with the server sending:
//! sealing appends into the same output batch and opening works in place in the input
//! buffer; frames above the inline size are slices of that buffer, whose retired copies the
//! connection recycles (core/src/zmtp/connection.rs, `shared_out`).
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use isomq::{curve_keypair, Context, Msg, Socket, SocketOption, SocketType};

struct Counting;

/// Allocations and reallocations by all threads. Relaxed: a count read after the threads
/// synchronised through the socket traffic and a barrier.
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
/// Windows of `MEASURED` messages measured one after the other until one allocates nothing
/// (see the module docs).
const WINDOWS: usize = 4;
/// A send blocked this long, three times in a row, during the stall means every buffer up
/// to the receiver is full (nothing drained them). Too short a wait under a heavy load only
/// makes the stall end early, which may let a buffer grow later, in a measured window: the
/// next window then shows whether growth has ended.
const STALLED: Duration = Duration::from_millis(250);

/// Who is the CURVE server: the receiving side (PULL, which binds) or the sending side.
#[derive(Clone, Copy, PartialEq)]
enum Curve {
    /// No security.
    Null,
    /// The PULL side is the server: the client's MESSAGEs are measured.
    ReceiverServes,
    /// The PUSH side is the server: the server's MESSAGEs are measured.
    SenderServes,
}

/// Sets CURVE on `s` as `server` or as the client of `server_key`'s owner.
fn curve_side(s: &mut Socket, server: bool, keys: &(isomq::KeyPair, isomq::KeyPair)) {
    let (server_keys, client_keys) = keys;
    if server {
        s.set_option(SocketOption::CurveSecretKey(server_keys.secret.clone()))
            .unwrap();
        s.set_option(SocketOption::CurveServer(true)).unwrap();
    } else {
        s.set_option(SocketOption::CurveSecretKey(client_keys.secret.clone()))
            .unwrap();
        s.set_option(SocketOption::CurveServerKey(server_keys.public))
            .unwrap();
    }
}

/// Sends `WARMUP` messages of 30 bytes (the inline limit) from another thread, stalls the
/// receiver until the sender is blocked, sends `WARMUP` more, then windows of `MEASURED`;
/// returns the allocations made by all threads while each window went through, up to the
/// first without any or `WINDOWS` of them.
fn allocations_in_steady_state(endpoint: &str) -> Vec<u64> {
    allocations_with(endpoint, 30, Curve::Null, false)
}

/// [`allocations_in_steady_state`] for `size`-byte messages, with or without CURVE. Messages
/// above the inline limit are clones of one shared `Msg` (a reference-count bump), so that
/// the count is the library's, not the application's copy into a new message.
/// `inline`: both sockets on a context with inline I/O (`ContextBuilder::inline_io`), where
/// the sockets' own threads encode, encrypt and write.
fn allocations_with(endpoint: &str, size: usize, curve: Curve, inline: bool) -> Vec<u64> {
    allocations_sending(endpoint, size, curve, false, inline)
}

/// As [`allocations_with`]; `copy_each`: every message is a new copy of the payload
/// (`Msg::copy_from_slice`, as `zmq_send` copies), so the count includes the message's own
/// storage, made on the application's thread and freed on another.
fn allocations_sending(
    endpoint: &str,
    size: usize,
    curve: Curve,
    copy_each: bool,
    inline: bool,
) -> Vec<u64> {
    let ctx = Context::builder().inline_io(inline).build();
    let keys = (curve_keypair().unwrap(), curve_keypair().unwrap());
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    if curve != Curve::Null {
        curve_side(&mut pull, curve == Curve::ReceiverServes, &keys);
    }
    pull.bind(endpoint).unwrap();
    let ep = pull.last_endpoint().unwrap().to_owned();
    // A barrier rather than a channel: blocking on an mpsc channel allocates.
    let phase = Arc::new(Barrier::new(2));
    let sender_phase = phase.clone();
    let stalled = Arc::new(AtomicU64::new(0));
    let sender_stalled = stalled.clone();
    let measured_enough = Arc::new(AtomicBool::new(false));
    let sender_measured_enough = measured_enough.clone();
    let sender_ctx = ctx.clone();
    let sender = std::thread::spawn(move || {
        let mut push = sender_ctx.socket(SocketType::Push).unwrap();
        if curve != Curve::Null {
            curve_side(&mut push, curve == Curve::SenderServes, &keys);
        }
        push.connect(&ep).unwrap();
        let bytes = vec![7u8; size];
        let payload = Msg::copy_from_slice(&bytes);
        let send = |push: &mut isomq::Socket| {
            if copy_each {
                push.send(Msg::copy_from_slice(&bytes))
            } else {
                push.send(payload.clone())
            }
        };
        for _ in 0..WARMUP {
            send(&mut push).unwrap();
        }
        sender_phase.wait();
        // The receiver does not read until the next barrier: fill everything up to it.
        push.set_option(SocketOption::SndTimeout(Some(STALLED)))
            .unwrap();
        // Three blocked sends in a row: a loaded machine may starve the I/O threads for one
        // timeout, hardly for three.
        let (mut queued, mut blocked) = (0, 0);
        while blocked < 3 {
            if send(&mut push).is_ok() {
                queued += 1;
                blocked = 0;
            } else {
                blocked += 1;
            }
        }
        push.set_option(SocketOption::SndTimeout(None)).unwrap();
        sender_stalled.store(queued, Ordering::Relaxed);
        sender_phase.wait();
        for _ in 0..WARMUP {
            send(&mut push).unwrap();
        }
        loop {
            sender_phase.wait();
            for _ in 0..MEASURED {
                send(&mut push).unwrap();
            }
            sender_phase.wait();
            // The receiver's verdict on the window.
            sender_phase.wait();
            if sender_measured_enough.load(Ordering::Relaxed) {
                break;
            }
        }
    });
    for _ in 0..WARMUP {
        assert_eq!(pull.recv().unwrap().len(), size);
    }
    phase.wait();
    phase.wait();
    let queued = stalled.load(Ordering::Relaxed);
    assert!(queued > 0, "the stall queued nothing");
    for _ in 0..queued + WARMUP as u64 {
        assert_eq!(pull.recv().unwrap().len(), size);
    }
    let mut counts = Vec::with_capacity(WINDOWS);
    loop {
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        phase.wait();
        for _ in 0..MEASURED {
            assert_eq!(pull.recv().unwrap().len(), size);
        }
        let after = ALLOCATIONS.load(Ordering::Relaxed);
        phase.wait();
        counts.push(after - before);
        let enough = after == before || counts.len() == WINDOWS;
        measured_enough.store(enough, Ordering::Relaxed);
        phase.wait();
        if enough {
            break;
        }
    }
    sender.join().unwrap();
    counts
}

/// Asserts that one of `counts`' windows (the last, see [`allocations_sending`]) allocated
/// nothing.
fn assert_settled(counts: &[u64], what: &str) {
    assert_eq!(
        counts.last(),
        Some(&0),
        "allocations per window of {MEASURED} messages, {what}: {counts:?}"
    );
}

#[test]
fn inproc_small_messages_do_not_allocate() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_settled(
        &allocations_in_steady_state("inproc://alloc-test"),
        "inproc",
    );
}

#[test]
fn tcp_small_messages_do_not_allocate() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_settled(&allocations_in_steady_state("tcp://127.0.0.1:*"), "tcp");
}

// The same rule for messages of a few hundred bytes copied from a slice, each made on the
// sending thread and dropped on another (the receiver's, or an I/O thread's once copied
// into its output batch): their storage comes from and goes back to per-thread caches and a
// shared depot (core/src/msg/cache.rs), so a running stream allocates nothing. The blocks a
// stream needs grow to what its pipe and the caches hold at their fullest, which depends on
// scheduling: the first measured window may still add a few; a window of 10,000 messages
// without any proves the rule (the count grows by one per message when the caches fail).
fn copies_settle_to_zero(endpoint: &str, inline: bool) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let counts = allocations_sending(endpoint, 256, Curve::Null, true, inline);
    assert_settled(&counts, &format!("copies of 256 B over {endpoint}"));
}

#[test]
fn inproc_256_byte_copies_do_not_allocate() {
    copies_settle_to_zero("inproc://alloc-copies", false);
}

#[test]
fn tcp_256_byte_copies_do_not_allocate() {
    copies_settle_to_zero("tcp://127.0.0.1:*", false);
}

fn check(endpoint: &str, size: usize, curve: Curve, what: &str) {
    check_in(endpoint, size, curve, what, false);
}

fn check_in(endpoint: &str, size: usize, curve: Curve, what: &str, inline: bool) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let counts = allocations_with(endpoint, size, curve, inline);
    assert_settled(&counts, &format!("{size} B, {what}"));
}

#[test]
fn tcp_curve_16_bytes_client_to_server_do_not_allocate() {
    check(
        "tcp://127.0.0.1:*",
        16,
        Curve::ReceiverServes,
        "CURVE client to server",
    );
}

#[test]
fn tcp_curve_16_bytes_server_to_client_do_not_allocate() {
    check(
        "tcp://127.0.0.1:*",
        16,
        Curve::SenderServes,
        "CURVE server to client",
    );
}

#[test]
fn tcp_curve_256_bytes_client_to_server_do_not_allocate() {
    check(
        "tcp://127.0.0.1:*",
        256,
        Curve::ReceiverServes,
        "CURVE client to server",
    );
}

#[test]
fn tcp_curve_256_bytes_server_to_client_do_not_allocate() {
    check(
        "tcp://127.0.0.1:*",
        256,
        Curve::SenderServes,
        "CURVE server to client",
    );
}

#[test]
fn ws_small_messages_do_not_allocate() {
    // Between two isomq ends ws:// speaks the batch extension (docs/wire.md §10.9): frames
    // packed into one WebSocket message, masked by the client as they are copied.
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_settled(
        &allocations_in_steady_state("ws://127.0.0.1:*/alloc-test"),
        "ws",
    );
}

// The same rules with inline I/O (docs/architecture.md §5.5): the sockets' own threads
// encode, hold bursts, encrypt and write, and none of it allocates per message.
#[test]
fn inline_tcp_small_messages_do_not_allocate() {
    check_in("tcp://127.0.0.1:*", 30, Curve::Null, "inline", true);
}

#[test]
fn inline_ipc_256_byte_copies_do_not_allocate() {
    copies_settle_to_zero("ipc://@isomq-alloc-inline", true);
}

// CURVE at 256 B with inline I/O: frames above the inline size are slices of the input
// buffer, and a receiving socket that is behind reads while earlier frames are still queued
// for it. Each read once asked for a full read's room (64 KiB), so a buffer was retired
// after a read or two and each read took another: more buffers in use than the recycler
// keeps, and 2-14 allocations per 10,000 messages in four runs of six (958-9,734 at the
// eleventh stop). Reads of small frames now fill what is left of a buffer of two reads
// first (core/src/zmtp/connection.rs, `SMALL_READ`), and the recycler keeps 16.
#[test]
fn inline_tcp_curve_256_bytes_client_to_server_do_not_allocate() {
    check_in(
        "tcp://127.0.0.1:*",
        256,
        Curve::ReceiverServes,
        "inline, CURVE client to server",
        true,
    );
}

#[test]
fn inline_tcp_curve_256_bytes_server_to_client_do_not_allocate() {
    check_in(
        "tcp://127.0.0.1:*",
        256,
        Curve::SenderServes,
        "inline, CURVE server to client",
        true,
    );
}
