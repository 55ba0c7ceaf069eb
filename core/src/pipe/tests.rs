//! Unit and two-thread tests of [`Pipe`].

// Tests may unwrap (project rules).
#![allow(clippy::unwrap_used)]

use super::*;
use std::sync::Mutex;

/// Records the events raised at one end.
#[derive(Default)]
struct Recorder(Mutex<Vec<(PipeId, PipeEvent)>>);

impl Notify for Recorder {
    fn notify(&self, pipe: PipeId, event: PipeEvent) {
        self.0.lock().unwrap().push((pipe, event));
    }
}

impl Recorder {
    /// The events since the last call, dropping the pipe ids (checked equal to `id`).
    fn take(&self, id: PipeId) -> Vec<PipeEvent> {
        let events = std::mem::take(&mut *self.0.lock().unwrap());
        assert!(events.iter().all(|(p, _)| *p == id));
        events.into_iter().map(|(_, e)| e).collect()
    }
}

fn attached(pipe: &Pipe) -> std::sync::Arc<Recorder> {
    let recorder = std::sync::Arc::new(Recorder::default());
    pipe.attach(recorder.clone());
    recorder
}

fn frame(s: &str, more: bool) -> Msg {
    Msg::from(s).with_more(more)
}

fn drain(pipe: &mut Pipe) -> Vec<Msg> {
    std::iter::from_fn(|| pipe.read()).collect()
}

#[test]
fn frames_arrive_in_order_with_their_flags() {
    let (mut a, mut b) = Pipe::pair(7, 0, 0);
    assert_eq!((a.id(), b.id()), (7, 7));
    a.write(frame("1", true)).unwrap();
    a.write(frame("2", false)).unwrap();
    a.write(frame("3", false)).unwrap();
    assert!(!b.check_read(), "nothing is visible before flush");
    a.flush();
    assert!(b.check_read());
    assert_eq!(
        drain(&mut b),
        [frame("1", true), frame("2", false), frame("3", false)]
    );
    // And the other way.
    b.write(frame("x", false)).unwrap();
    b.flush();
    assert_eq!(a.read(), Some(frame("x", false)));
}

// libzmq pipe.cpp: "The pipe can be reactivated only when the number of messages in it drops
// to LWM"; compute_lwm: (hwm > max_wm_delta * 2) ? hwm - max_wm_delta : (hwm + 1) / 2.
#[test]
fn low_water_mark_follows_libzmq() {
    assert_eq!(compute_lwm(1), 1);
    assert_eq!(compute_lwm(4), 2);
    assert_eq!(compute_lwm(1000), 500);
    assert_eq!(compute_lwm(2048), 1024);
    assert_eq!(compute_lwm(2049), 1025);
    assert_eq!(compute_lwm(5000), 3976);
    assert_eq!(compute_lwm(0), u64::MAX);
}

// docs/wire.md §7.1 / libzmq pipe.cpp: HWM counts whole messages; a multipart message counts
// once, and frames after the first are always accepted.
#[test]
fn multipart_message_counts_once_against_the_hwm() {
    let (mut a, _b) = Pipe::pair(1, 2, 0);
    for _ in 0..2 {
        a.write(frame("p1", true)).unwrap();
        a.write(frame("p2", true)).unwrap();
        a.write(frame("p3", false)).unwrap();
    }
    assert!(!a.check_write());
    assert_eq!(a.write(frame("next", false)), Err(frame("next", false)));
}

#[test]
fn frames_after_the_first_pass_the_hwm() {
    let (mut a, _b) = Pipe::pair(1, 1, 0);
    a.write(frame("first", true)).unwrap();
    // The message is not counted until it ends, and its frames are not refused meanwhile.
    for _ in 0..10 {
        assert!(a.check_write());
        a.write(frame("more", true)).unwrap();
    }
    a.write(frame("last", false)).unwrap();
    assert!(a.write(frame("second", false)).is_err());
}

// libzmq: a writer refused at the HWM is reactivated (activate_write) once the reader has read
// LWM messages; here hwm 4, lwm 2.
#[test]
fn refused_writer_gets_activate_write_after_reader_drains_to_lwm() {
    let (mut a, mut b) = Pipe::pair(3, 4, 0);
    let events_a = attached(&a);
    for i in 0..4 {
        a.write(Msg::from(format!("m{i}"))).unwrap();
    }
    assert!(!a.check_write());
    assert!(a.write(Msg::from("m4")).is_err());
    assert!(!a.check_write(), "still full; refusals do not stack up");
    // Refusing flushed the pipe, so the reader can drain it without an explicit flush.
    assert_eq!(b.read(), Some(Msg::from("m0")));
    assert_eq!(events_a.take(3), [], "one read is short of the LWM");
    assert_eq!(b.read(), Some(Msg::from("m1")));
    assert_eq!(events_a.take(3), [PipeEvent::ActivateWrite]);
    // Two more fit, then the HWM is reached again.
    assert!(a.check_write());
    a.write(Msg::from("m4")).unwrap();
    a.write(Msg::from("m5")).unwrap();
    assert!(!a.check_write());
    a.flush();
    let rest: Vec<Msg> = drain(&mut b);
    assert_eq!(rest, ["m2", "m3", "m4", "m5"].map(Msg::from));
    assert_eq!(events_a.take(3), [PipeEvent::ActivateWrite]);
    assert!(a.check_write());
}

#[test]
fn reader_finding_the_pipe_empty_releases_a_waiting_writer() {
    // hwm 4000, lwm 2976: three messages are far short of a publication batch.
    let (mut a, mut b) = Pipe::pair(3, 4000, 0);
    let events_a = attached(&a);
    a.set_out_hwm(3);
    for _ in 0..3 {
        a.write(Msg::from("m")).unwrap();
    }
    assert!(!a.check_write());
    assert_eq!(drain(&mut b).len(), 3);
    assert_eq!(events_a.take(3), [PipeEvent::ActivateWrite]);
    assert!(a.check_write());
}

#[test]
fn writer_not_refused_gets_no_activate_write() {
    let (mut a, mut b) = Pipe::pair(3, 2, 0);
    let events_a = attached(&a);
    for _ in 0..10 {
        a.write(Msg::from("m")).unwrap();
        a.flush();
        assert_eq!(b.read(), Some(Msg::from("m")));
    }
    assert_eq!(b.read(), None);
    assert_eq!(events_a.take(3), []);
}

// `has_unread` answers without the side effects of `check_read`: the reader does not go
// to sleep (the next flush raises nothing), and a terminated pipe's delimiter stays for
// the reader to find.
#[test]
fn has_unread_looks_without_sleeping_or_consuming() {
    let (mut a, mut b) = Pipe::pair(9, 0, 0);
    let events_b = attached(&b);
    assert!(!b.has_unread(), "nothing written");
    a.write(Msg::from("1")).unwrap();
    assert!(!b.has_unread(), "written, not flushed");
    a.flush();
    assert_eq!(events_b.take(9), [PipeEvent::ActivateRead]);
    assert!(b.has_unread());
    assert_eq!(drain(&mut b).len(), 1);
    // Asleep now (the drain found it empty): a look does not wake it or change that.
    assert!(!b.has_unread());
    a.write(Msg::from("2")).unwrap();
    a.flush();
    assert_eq!(events_b.take(9), [PipeEvent::ActivateRead], "still asleep");
    assert!(b.has_unread());
    // Awake (it has not looked since): looking twice sleeps neither time.
    assert!(b.has_unread());
    a.write(Msg::from("3")).unwrap();
    a.flush();
    assert_eq!(events_b.take(9), [], "awake: no event");
    assert_eq!(drain(&mut b).len(), 2);
    // The peer's end is unread until the reader reaches it.
    a.terminate();
    assert!(b.has_unread());
    assert!(!b.is_terminated());
    assert!(b.read().is_none());
    assert!(b.is_terminated() && !b.has_unread());
}

// libzmq ypipe.hpp: flush "Returns false if the reader thread is sleeping", and only then is
// the reader sent activate_read.
#[test]
fn activate_read_is_raised_exactly_when_the_reader_slept() {
    let (mut a, mut b) = Pipe::pair(9, 0, 0);
    let events_b = attached(&b);
    a.flush();
    assert_eq!(events_b.take(9), [], "nothing flushed, nothing raised");
    // A reader that has not looked yet counts as asleep.
    a.write(Msg::from("1")).unwrap();
    a.flush();
    assert_eq!(events_b.take(9), [PipeEvent::ActivateRead]);
    // It has not looked since: it is awake as far as the pipe knows.
    a.write(Msg::from("2")).unwrap();
    a.flush();
    assert_eq!(events_b.take(9), []);
    assert_eq!(drain(&mut b).len(), 2);
    // It found the pipe empty: asleep, and the next flush wakes it, once.
    a.write(Msg::from("3")).unwrap();
    a.flush();
    a.write(Msg::from("4")).unwrap();
    a.flush();
    assert_eq!(events_b.take(9), [PipeEvent::ActivateRead]);
}

#[test]
fn events_before_attach_are_dropped_and_only_the_first_attach_counts() {
    let (mut a, mut b) = Pipe::pair(2, 0, 0);
    a.write(Msg::from("early")).unwrap();
    a.flush();
    let first = attached(&b);
    let second = attached(&b);
    // The rule for late owners: look after attaching.
    assert!(b.check_read());
    assert_eq!(drain(&mut b).len(), 1);
    a.write(Msg::from("late")).unwrap();
    a.flush();
    assert_eq!(first.take(2), [PipeEvent::ActivateRead]);
    assert_eq!(second.take(2), []);
}

// libzmq pipe.cpp: terminating an end writes a delimiter behind its messages; the peer reads
// everything before it, then learns that the pipe is gone.
#[test]
fn terminate_delivers_everything_queued_then_is_terminated() {
    let (mut a, mut b) = Pipe::pair(4, 0, 0);
    let events_a = attached(&a);
    let events_b = attached(&b);
    a.write(frame("1", false)).unwrap();
    a.write(frame("2a", true)).unwrap();
    a.write(frame("2b", false)).unwrap();
    a.write(frame("3-incomplete", true)).unwrap();
    a.terminate();
    a.terminate();
    assert_eq!(
        events_b.take(4),
        [PipeEvent::ActivateRead, PipeEvent::Terminated],
        "raised once, however often terminate runs"
    );
    assert_eq!(events_a.take(4), []);
    assert!(a.write(frame("after", false)).is_err());
    assert!(!a.check_write());

    assert!(b.peer_terminated());
    assert!(!b.is_terminated(), "messages are still queued");
    assert!(b.write(frame("to a gone peer", false)).is_err());
    assert!(!b.check_write());
    assert_eq!(
        drain(&mut b),
        [frame("1", false), frame("2a", true), frame("2b", false)],
        "the incomplete message was rolled back"
    );
    assert!(b.is_terminated());
    assert!(!b.check_read());
    assert_eq!(b.read(), None);
}

// The Terminated event lets an owner that never reads (PUSH) learn the peer is gone.
#[test]
fn dropping_an_end_terminates_it() {
    let (mut a, b) = Pipe::pair(5, 0, 0);
    let events_a = attached(&a);
    a.write(Msg::from("unread")).unwrap();
    a.flush();
    drop(b);
    // The delimiter is flushed into a pipe `a` never read (asleep), hence ActivateRead too.
    assert_eq!(
        events_a.take(5),
        [PipeEvent::ActivateRead, PipeEvent::Terminated]
    );
    assert!(a.peer_terminated());
    assert!(a.write(Msg::from("x")).is_err());
    assert!(a.is_terminated() || !a.check_read());
    assert!(a.is_terminated(), "the delimiter was the only thing queued");
}

// docs/wire.md §7.1: an HWM of 0 means no limit.
#[test]
fn hwm_zero_is_unlimited() {
    let (mut a, mut b) = Pipe::pair(6, 0, 0);
    for i in 0..20_000u32 {
        assert!(a.check_write());
        a.write(Msg::from(&i.to_le_bytes())).unwrap();
    }
    a.flush();
    assert_eq!(drain(&mut b).len(), 20_000);
}

#[test]
fn set_out_hwm_changes_the_limit() {
    let (mut a, _b) = Pipe::pair(6, 0, 0);
    a.set_out_hwm(2);
    a.write(Msg::from("1")).unwrap();
    a.write(Msg::from("2")).unwrap();
    assert!(a.write(Msg::from("3")).is_err());
    a.set_out_hwm(3);
    assert!(a.write(Msg::from("3")).is_ok());
}

// libzmq pipe.cpp rollback: "Remove incomplete message from the outbound pipe."
#[test]
fn rollback_drops_only_the_incomplete_message() {
    let (mut a, mut b) = Pipe::pair(8, 2, 0);
    a.write(frame("keep", false)).unwrap();
    a.write(frame("drop1", true)).unwrap();
    a.write(frame("drop2", true)).unwrap();
    a.rollback();
    // After the rollback a new frame starts a new message, which the HWM counts.
    a.write(frame("after", false)).unwrap();
    assert!(a.write(frame("refused", false)).is_err());
    a.flush();
    assert_eq!(drain(&mut b), [frame("keep", false), frame("after", false)]);
}

// docs/architecture.md §7.2: no heap allocation per small message in steady state.
#[test]
fn steady_state_small_messages_allocate_nothing() {
    /// Counts events without allocating (a `Recorder` would grow its Vec).
    struct Counter(std::sync::atomic::AtomicUsize);
    impl Notify for Counter {
        fn notify(&self, _pipe: PipeId, _event: PipeEvent) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let (mut a, mut b) = Pipe::pair(10, 1000, 1000);
    let events = std::sync::Arc::new(Counter(Default::default()));
    a.attach(events.clone());
    b.attach(events.clone());
    let mut round = |n: usize| {
        for _ in 0..n {
            a.write(Msg::from("part").with_more(true)).unwrap();
            a.write(Msg::from("small payload")).unwrap();
        }
        a.flush();
        // Counted, not collected: a Vec would allocate.
        let mut read = 0;
        while b.read().is_some() {
            read += 1;
        }
        assert_eq!(read, 2 * n);
    };
    round(300);
    let allocations = crate::test_alloc::allocations_during(|| {
        for _ in 0..50 {
            round(100);
        }
    });
    assert_eq!(allocations, 0);
    assert!(
        events.0.load(std::sync::atomic::Ordering::Relaxed) >= 50,
        "events were raised"
    );
}

#[test]
fn pipe_is_send_and_debug() {
    fn is_send<T: Send + fmt::Debug>() {}
    is_send::<Pipe>();
    let (a, _b) = Pipe::pair(11, 0, 0);
    assert!(format!("{a:?}").contains("id: 11"));
}

/// An owner on its own thread: parks until one of its pipe's events unparks it.
struct Unparker(std::thread::Thread);

impl Notify for Unparker {
    fn notify(&self, _pipe: PipeId, _event: PipeEvent) {
        self.0.unpark();
    }
}

fn own_here(pipe: &mut Pipe) {
    pipe.attach(std::sync::Arc::new(Unparker(std::thread::current())));
}

/// Messages of one to three frames from a thread to another under a small HWM, each side
/// sleeping until the other's event: all arrive in order, then the termination.
#[test]
fn two_threads_preserve_order_under_hwm() {
    let messages: u32 = if cfg!(miri) { 300 } else { 200_000 };
    let (mut a, mut b) = Pipe::pair(12, 10, 0);
    let writer = std::thread::spawn(move || {
        own_here(&mut a);
        for i in 0..messages {
            let frames = i % 3 + 1;
            // Wait for room before the first frame: the later ones are always accepted.
            while !a.check_write() {
                std::thread::park();
            }
            for f in 0..frames {
                let mut m = Msg::from(&[i.to_le_bytes(), f.to_le_bytes()].concat()[..]);
                m.set_more(f + 1 < frames);
                a.write(m).unwrap();
            }
            if i % 5 == 0 {
                a.flush();
            }
        }
        a.flush();
        // Dropping `a` terminates it.
    });
    own_here(&mut b);
    let mut expected = (0u32, 0u32);
    loop {
        match b.read() {
            Some(m) => {
                let (i, f) = expected;
                assert_eq!(
                    m.as_slice(),
                    &[i.to_le_bytes(), f.to_le_bytes()].concat()[..]
                );
                assert_eq!(m.more(), f + 1 < i % 3 + 1);
                expected = if m.more() { (i, f + 1) } else { (i + 1, 0) };
            }
            None if b.is_terminated() => break,
            None => std::thread::park(),
        }
    }
    assert_eq!(expected, (messages, 0));
    writer.join().unwrap();
}
