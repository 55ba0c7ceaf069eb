//! The readiness fd of a socket with inline I/O (`InlineIo::readiness_fd`) with its
//! reactor turned by the helper thread's calls, as happens while the socket is outside
//! its calls.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::command::SocketCommand;
use crate::doorbell::tests::readable;
use crate::doorbell::Doorbell;
use crate::io_thread::inline::InlineIo;
use crate::mailbox::mailbox;

// ZMQ_FD's rule (zmq_getsockopt(3)): after the application has processed the socket's
// events until EAGAIN, the fd signals again when the socket's state changes. A command
// queued for the socket is such a change, whoever turns the socket's reactor meanwhile:
// the helper's turn takes the bell's event from the reactor's poll without answering the
// bell (only the socket does), and the fd must stay readable until the socket answers.
#[test]
fn a_helper_turn_does_not_hide_a_queued_command_from_the_readiness_fd() {
    let (tx, mailbox) = mailbox();
    let (bell, reader) = Doorbell::pair().unwrap();
    let signal = mailbox.signal().clone();
    let ids = Arc::new(AtomicU64::new(1));
    let mut io = InlineIo::new(ids, &reader, signal.clone(), true).unwrap();
    signal.set_fd_bell(bell);
    let fd = io.readiness_fd().unwrap();
    let answer = || {
        // As the socket does it (`Socket::drain`): empty the fd, then read the queue.
        signal.clear_fd(&reader);
        signal.clear_queued();
        while mailbox.try_recv().is_some() {}
    };
    assert!(readable(fd, 0), "the fd starts signalled");
    io.turn_now_for_helper();
    assert!(readable(fd, 0), "the helper's turn hid the first signal");
    answer();
    assert!(!readable(fd, 0), "answered, the fd still signals");
    for round in 0..3 {
        tx.send(SocketCommand::Hiccup(1));
        io.turn_now_for_helper();
        assert!(
            readable(fd, 0),
            "round {round}: the helper's turn hid a command"
        );
        answer();
        assert!(
            !readable(fd, 0),
            "round {round}: answered, the fd still signals"
        );
    }
}
