//! RCVTIMEO and SNDTIMEO (libzmq's rule: the time a blocking call may wait, -1 for ever): a
//! call that need not wait succeeds whatever the timeout, a call that must wait gives up
//! with EAGAIN once it has passed, and any duration is a valid timeout, one too long for the
//! clock meaning for ever.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use crate::{Context, Error, SocketOption, SocketType};

/// A timeout longer than `Instant` can count to is no timeout: the calls succeed, waiting
/// or not. (Adding it to the clock overflowed, a panic, when the deadline was made before
/// the first try.)
#[test]
fn a_timeout_too_long_for_the_clock_is_no_timeout() {
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    let mut push = ctx.socket(SocketType::Push).unwrap();
    for s in [&mut pull, &mut push] {
        s.set_option(SocketOption::RcvTimeout(Some(Duration::MAX)))
            .unwrap();
        s.set_option(SocketOption::SndTimeout(Some(Duration::MAX)))
            .unwrap();
    }
    pull.bind("inproc://deadline-max").unwrap();
    push.connect("inproc://deadline-max").unwrap();
    // Nothing to wait for.
    push.send("a").unwrap();
    assert_eq!(pull.recv().unwrap().as_slice(), b"a");
    // A receiver that waits (most runs: it starts before the message is sent).
    let receiver = std::thread::spawn(move || pull.recv().map(|m| m.as_slice().to_vec()));
    push.send("b").unwrap();
    assert_eq!(receiver.join().unwrap().unwrap(), b"b");
}

/// A receive with nothing to receive gives up with EAGAIN once RCVTIMEO has passed.
#[test]
fn rcvtimeo_bounds_a_wait() {
    let ctx = Context::new();
    let mut pull = ctx.socket(SocketType::Pull).unwrap();
    pull.set_option(SocketOption::RcvTimeout(Some(Duration::from_millis(20))))
        .unwrap();
    pull.bind("inproc://deadline-bounded").unwrap();
    assert_eq!(pull.recv().unwrap_err(), Error::Again);
}
