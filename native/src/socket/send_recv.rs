//! Sending and receiving on the caller's thread: single frames and multipart messages,
//! blocking up to SNDTIMEO or RCVTIMEO, or not at all with DONTWAIT.

use std::time::{Duration, Instant};

use isomq_core::{Error, Msg, Result};

use super::Socket;
use crate::options::Flags;

impl Socket {
    /// Sends one frame, blocking up to SNDTIMEO. The frame's own MORE flag says whether
    /// more frames follow.
    ///
    /// # Errors
    /// [`Error::Again`] on timeout, [`Error::NotSup`] for a type that cannot send,
    /// [`Error::Term`] when the context terminates.
    pub fn send(&mut self, msg: impl Into<Msg>) -> Result<()> {
        self.send_flags(msg, Flags::NONE)
    }

    /// Sends one frame with flags ([`Flags::DONTWAIT`], [`Flags::SNDMORE`]).
    ///
    /// # Errors
    /// As [`Socket::send`]; with DONTWAIT, [`Error::Again`] instead of blocking.
    pub fn send_flags(&mut self, msg: impl Into<Msg>, flags: Flags) -> Result<()> {
        let mut msg = msg.into();
        if flags.contains(Flags::SNDMORE) {
            msg.set_more(true);
        }
        self.note_call();
        self.process_commands_throttled()?;
        // Made at the first wait, not before the first try (see `Deadline`).
        let mut deadline = Deadline::Unset;
        // A message's frames reach its peer's pipe together, at the last one.
        let (size, last) = (msg.len(), !msg.more());
        let start = self.before_send();
        loop {
            match self.pattern.send(msg) {
                Ok(()) => {
                    if last {
                        self.after_send(size, start);
                        self.spin.handle_sent();
                    }
                    return Ok(());
                }
                Err((Error::Again, m)) => {
                    msg = m;
                    let at = deadline.get(flags, self.options.sndtimeo);
                    self.wait(at, false)?;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Sends a multipart message: every frame but the last gets MORE.
    ///
    /// # Errors
    /// As [`Socket::send`].
    pub fn send_multipart<I, M>(&mut self, frames: I) -> Result<()>
    where
        I: IntoIterator<Item = M>,
        M: Into<Msg>,
    {
        self.send_multipart_flags(frames, Flags::NONE)
    }

    /// Sends a multipart message with flags ([`Flags::DONTWAIT`] applies to the first
    /// frame; once it is accepted the rest of the message always is).
    ///
    /// # Errors
    /// As [`Socket::send_flags`].
    pub fn send_multipart_flags<I, M>(&mut self, frames: I, flags: Flags) -> Result<()>
    where
        I: IntoIterator<Item = M>,
        M: Into<Msg>,
    {
        let mut frames = frames.into_iter().peekable();
        let mut flags = flags;
        while let Some(frame) = frames.next() {
            let more = frames.peek().is_some();
            self.send_flags(frame.into().with_more(more), flags)?;
            flags = Flags::NONE;
        }
        Ok(())
    }

    /// Receives one frame, blocking up to RCVTIMEO. [`Msg::more`] tells whether more frames
    /// of the message follow.
    ///
    /// A receive that awaits the answer to this socket's last send, on a socket whose
    /// endpoints are all inproc://, polls for up to 50 µs before it sleeps while its
    /// waits are that short (on a machine of several CPUs): an inproc request–reply
    /// exchange then costs no thread wake-up per hop (docs/architecture.md §5.6).
    ///
    /// # Errors
    /// [`Error::Again`] on timeout, [`Error::NotSup`] for a type that cannot receive,
    /// [`Error::Term`] when the context terminates.
    pub fn recv(&mut self) -> Result<Msg> {
        self.recv_flags(Flags::NONE)
    }

    /// Receives one frame with flags ([`Flags::DONTWAIT`]).
    ///
    /// # Errors
    /// As [`Socket::recv`]; with DONTWAIT, [`Error::Again`] instead of blocking.
    pub fn recv_flags(&mut self, flags: Flags) -> Result<Msg> {
        self.note_call();
        self.process_commands_throttled()?;
        let mut deadline = Deadline::Unset;
        loop {
            match self.pattern.recv() {
                Ok(m) => {
                    self.spin.handle_received();
                    return Ok(m);
                }
                Err(Error::Again) => {
                    let at = deadline.get(flags, self.options.rcvtimeo);
                    self.wait(at, true)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Receives all frames of one message.
    ///
    /// # Errors
    /// As [`Socket::recv`]. Once the first frame arrived, the others are already queued.
    pub fn recv_multipart(&mut self) -> Result<Vec<Msg>> {
        self.recv_multipart_flags(Flags::NONE)
    }

    /// Receives all frames of one message, with flags for the first frame
    /// ([`Flags::DONTWAIT`]); pipes carry whole messages, so the rest never waits.
    ///
    /// # Errors
    /// As [`Socket::recv_flags`].
    pub fn recv_multipart_flags(&mut self, flags: Flags) -> Result<Vec<Msg>> {
        let mut frames = vec![self.recv_flags(flags)?];
        while frames.last().is_some_and(Msg::more) {
            frames.push(self.recv()?);
        }
        Ok(frames)
    }
}

/// When a blocking call gives up, found only once it has to wait: a call that succeeds at
/// once (a message already queued, room in the pipe) reads no clock. Reading one per call
/// cost a socket with RCVTIMEO set half its throughput at tcp 16 B (benches/RESULTS.md,
/// "eighth stop"); the timeout then counts from the first wait, a try later.
enum Deadline {
    Unset,
    /// `None` = don't wait, `Some(None)` = forever (as `Socket::wait` takes it).
    Set(Option<Option<Instant>>),
}

impl Deadline {
    fn get(&mut self, flags: Flags, timeout: Option<Duration>) -> Option<Option<Instant>> {
        match *self {
            Deadline::Set(at) => at,
            Deadline::Unset => {
                // A deadline past what `Instant` holds is as good as none.
                let at = (!flags.contains(Flags::DONTWAIT))
                    .then(|| timeout.and_then(|t| Instant::now().checked_add(t)));
                *self = Deadline::Set(at);
                at
            }
        }
    }
}
