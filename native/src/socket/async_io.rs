//! Sending and receiving without blocking a thread: futures woken by the socket's mailbox
//! signal (docs/architecture.md §5.3), usable from any executor.

use std::task::{Context, Poll};

use isomq_core::{Error, Msg, Result};

use super::Socket;
use crate::io_thread::SendStart;
use crate::options::Flags;

impl Socket {
    /// Receives one frame without blocking a thread: the future completes when a frame
    /// arrives, woken by the same signal as blocking calls, with no extra thread. Usable
    /// from tokio or any executor. Dropping the future before it completes loses nothing.
    ///
    /// # Errors
    /// As [`Socket::recv`], except that there is no timeout (wrap the future in one).
    pub async fn recv_async(&mut self) -> Result<Msg> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Receives all frames of one message without blocking a thread.
    ///
    /// # Errors
    /// As [`Socket::recv_async`].
    pub async fn recv_multipart_async(&mut self) -> Result<Vec<Msg>> {
        let first = self.recv_async().await?;
        let mut frames = vec![first];
        // Pipes carry whole messages: the rest is already queued.
        while frames.last().is_some_and(Msg::more) {
            frames.push(self.recv_flags(Flags::DONTWAIT)?);
        }
        Ok(frames)
    }

    /// Sends one frame without blocking a thread: the future completes once the frame is
    /// queued (when a blocking send would have returned).
    ///
    /// # Errors
    /// As [`Socket::send`], without the timeout.
    pub async fn send_async(&mut self, msg: impl Into<Msg>) -> Result<()> {
        let mut msg = Some(msg.into());
        std::future::poll_fn(|cx| self.poll_send(&mut msg, cx)).await
    }

    /// Sends a multipart message without blocking a thread.
    ///
    /// # Errors
    /// As [`Socket::send_async`].
    pub async fn send_multipart_async<I, M>(&mut self, frames: I) -> Result<()>
    where
        I: IntoIterator<Item = M>,
        M: Into<Msg>,
    {
        let mut frames = frames.into_iter().peekable();
        while let Some(frame) = frames.next() {
            let more = frames.peek().is_some();
            self.send_async(frame.into().with_more(more)).await?;
        }
        Ok(())
    }

    // With inline I/O (docs/architecture.md §5.5) each poll turns the socket's reactor
    // first, as a DONTWAIT call does, and a poll that stays pending hands the reactor to
    // the socket's helper thread until the next call, so the connections progress while
    // the task waits.
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Msg>> {
        self.turn_inline();
        for attempt in 0..2 {
            if let Err(e) = self.check_term() {
                return Poll::Ready(Err(e));
            }
            match self.pattern.recv() {
                Err(Error::Again) if attempt == 0 => {
                    // Register, then look once more: a command that arrived in between is
                    // seen now, a later one wakes the task.
                    self.mailbox.signal().set_waker(cx.waker());
                }
                Err(Error::Again) => break,
                other => return Poll::Ready(other),
            }
        }
        self.watch_inline();
        Poll::Pending
    }

    fn poll_send(&mut self, slot: &mut Option<Msg>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.turn_inline();
        for attempt in 0..2 {
            if let Err(e) = self.check_term() {
                return Poll::Ready(Err(e));
            }
            let Some(msg) = slot.take() else {
                return Poll::Ready(Ok(()));
            };
            let (size, last) = (msg.len(), !msg.more());
            match self.pattern.send(msg) {
                Ok(()) => {
                    if last {
                        // The poll turned the reactor before the send.
                        let start = self.inline.is_some().then(|| SendStart::now(true));
                        self.after_send(size, start);
                    }
                    return Poll::Ready(Ok(()));
                }
                Err((Error::Again, m)) => {
                    *slot = Some(m);
                    if attempt == 0 {
                        self.mailbox.signal().set_waker(cx.waker());
                    }
                }
                Err((e, _)) => return Poll::Ready(Err(e)),
            }
        }
        self.watch_inline();
        Poll::Pending
    }
}
