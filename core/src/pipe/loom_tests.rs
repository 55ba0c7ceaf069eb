//! Loom models of the pipe's wakeups; see [`ypipe`](super::ypipe) for the command.
//!
//! Each side waits on a loom `Notify` (standing for its owner's mailbox) when the pipe tells it
//! to wait. A lost ActivateRead or ActivateWrite leaves a side waiting forever, which loom
//! reports as a deadlock.

// Tests may unwrap (project rules).
#![allow(clippy::unwrap_used)]

use super::*;
use loom::thread;

struct Owner {
    read: loom::sync::Notify,
    write: loom::sync::Notify,
}

impl Notify for Owner {
    fn notify(&self, _pipe: PipeId, event: PipeEvent) {
        match event {
            PipeEvent::ActivateRead | PipeEvent::Terminated => self.read.notify(),
            PipeEvent::ActivateWrite => self.write.notify(),
        }
    }
}

fn owner(pipe: &Pipe) -> std::sync::Arc<Owner> {
    let owner = std::sync::Arc::new(Owner {
        read: loom::sync::Notify::new(),
        write: loom::sync::Notify::new(),
    });
    pipe.attach(owner.clone());
    owner
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    // Bounded preemptions keep the search finite; most concurrency bugs need few (loom docs).
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

/// The writer sends `messages` single-frame messages under `hwm`, waiting for ActivateWrite
/// when refused, then terminates; the reader reads until it reaches the delimiter, waiting
/// for ActivateRead when the pipe is empty.
fn hwm_transfer(hwm: usize, messages: u8) {
    model(move || {
        let (mut a, mut b) = Pipe::pair(1, hwm, 0);
        let owner_a = owner(&a);
        let owner_b = owner(&b);
        let writer = thread::spawn(move || {
            for i in 0..messages {
                let mut msg = Msg::from(&[i]);
                loop {
                    match a.write(msg) {
                        Ok(()) => break,
                        Err(refused) => {
                            msg = refused;
                            owner_a.write.wait();
                        }
                    }
                }
                a.flush();
            }
            a.terminate();
        });
        let mut got = Vec::new();
        loop {
            match b.read() {
                Some(m) => got.push(m.as_slice()[0]),
                None if b.is_terminated() => break,
                None => owner_b.read.wait(),
            }
        }
        assert_eq!(got, (0..messages).collect::<Vec<_>>());
        writer.join().unwrap();
    });
}

#[test]
fn loom_pipe_hwm_1_wakes_writer_and_reader() {
    hwm_transfer(1, 3);
}

#[test]
fn loom_pipe_hwm_2_wakes_writer_and_reader() {
    hwm_transfer(2, 4);
}

#[test]
fn loom_pipe_unlimited_wakes_reader() {
    hwm_transfer(0, 3);
}

/// An owner attaching while its peer writes: the ActivateRead of the first flush may be dropped
/// for want of an owner, so the owner's first read after attaching must find the message.
#[test]
fn loom_pipe_late_reader_sees_a_flush_whose_event_was_dropped() {
    model(|| {
        let (mut a, mut b) = Pipe::pair(1, 0, 0);
        let writer = thread::spawn(move || {
            a.write(Msg::from(&[7])).unwrap();
            a.flush();
            // Kept alive: its Terminated would be a second chance to wake the reader.
            a
        });
        let owner_b = owner(&b);
        loop {
            match b.read() {
                Some(m) => break assert_eq!(m.as_slice(), [7]),
                None => owner_b.read.wait(),
            }
        }
        drop(writer.join().unwrap());
    });
}

/// A writer refused at the HWM before its owner attaches: the ActivateWrite of the reader's
/// publication may be dropped, so the owner's check after attaching must find the room.
#[test]
fn loom_pipe_late_writer_sees_a_publication_whose_event_was_dropped() {
    model(|| {
        let (mut a, mut b) = Pipe::pair(1, 1, 0);
        a.write(Msg::from(&[0])).unwrap();
        assert!(a.write(Msg::from(&[1])).is_err(), "refused at the HWM");
        let reader = thread::spawn(move || {
            // With an HWM of 1 the low-water mark is 1: this read publishes.
            assert_eq!(b.read().unwrap().as_slice(), [0]);
            b
        });
        let owner_a = owner(&a);
        while !a.check_write() {
            owner_a.write.wait();
        }
        a.write(Msg::from(&[1])).unwrap();
        drop(reader.join().unwrap());
    });
}

/// An end that never reads (PUSH) attaching while its peer goes away: the Terminated event may
/// be dropped, so the owner's check after attaching must see the peer gone.
#[test]
fn loom_pipe_late_owner_sees_a_termination_whose_event_was_dropped() {
    model(|| {
        let (a, b) = Pipe::pair(1, 0, 0);
        let peer = thread::spawn(move || drop(b));
        let owner_a = owner(&a);
        // What a PUSH asks before waiting: Terminated (counted as a read wakeup) must follow
        // while the peer is not seen gone.
        while !a.peer_terminated() {
            owner_a.read.wait();
        }
        peer.join().unwrap();
    });
}

/// The reader looks with `has_unread` before each read, as an inline host's count after a
/// drive does: a look neither loses a wake-up nor sees an item the next read cannot find.
#[test]
fn loom_pipe_looking_between_reads_loses_nothing() {
    model(|| {
        let (mut a, mut b) = Pipe::pair(1, 0, 0);
        let owner_b = owner(&b);
        let writer = thread::spawn(move || {
            for i in 0..2u8 {
                a.write(Msg::from(&[i])).unwrap();
                a.flush();
            }
            a.terminate();
        });
        let mut got = Vec::new();
        loop {
            let unread = b.has_unread();
            match b.read() {
                Some(m) => got.push(m.as_slice()[0]),
                None if b.is_terminated() => break,
                None => {
                    assert!(!unread, "a look saw an item the read did not find");
                    owner_b.read.wait();
                }
            }
        }
        assert_eq!(got, [0, 1]);
        writer.join().unwrap();
    });
}

/// A writer flushing two pipes as a PUB's fan-out does: it publishes in both, fences once,
/// then looks at each reader's sleep announcement. Each reader reads `messages` messages,
/// waiting for ActivateRead when its pipe is empty. The writer keeps its ends until both
/// readers are done: their termination would wake a reader whose ActivateRead was lost.
fn shared_fence_transfer(messages: u8) {
    model(move || {
        let (mut a1, b1) = Pipe::pair(1, 0, 0);
        let (mut a2, b2) = Pipe::pair(2, 0, 0);
        let owner1 = owner(&b1);
        let owner2 = owner(&b2);
        let writer = thread::spawn(move || {
            for i in 0..messages {
                for a in [&mut a1, &mut a2] {
                    a.write(Msg::from(&[i])).unwrap();
                    assert!(a.publish());
                }
                publish_fence();
                a1.wake_reader();
                a2.wake_reader();
            }
            (a1, a2)
        });
        let read_all = move |mut b: Pipe, owner: std::sync::Arc<Owner>| {
            let mut got = Vec::new();
            while got.len() < usize::from(messages) {
                match b.read() {
                    Some(m) => got.push(m.as_slice()[0]),
                    None => owner.read.wait(),
                }
            }
            assert_eq!(got, (0..messages).collect::<Vec<_>>());
            b
        };
        let second = thread::spawn(move || read_all(b2, owner2));
        let b1 = read_all(b1, owner1);
        let b2 = second.join().unwrap();
        let ends = writer.join().unwrap();
        drop((ends, b1, b2));
    });
}

#[test]
fn loom_pipe_one_fence_serves_two_pipes() {
    shared_fence_transfer(2);
}
