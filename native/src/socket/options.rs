//! A socket's options: setting and reading them, subscriptions, and the LINGER its I/O
//! threads read when it closes.

use std::sync::atomic::Ordering;
use std::time::Duration;

use isomq_core::{OptionName, Options, Result, SocketOption};

use super::Socket;

/// LINGER as the I/O threads read it: milliseconds, -1 for forever.
pub(super) fn linger_ms(linger: Option<Duration>) -> i64 {
    linger.map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Socket {
    /// SUB: receive messages whose first frame starts with `topic` (empty = all).
    ///
    /// # Errors
    /// [`Error::Inval`](crate::Error::Inval) on socket types without subscriptions.
    pub fn subscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        self.set_option(SocketOption::Subscribe(topic.as_ref().to_vec()))
    }

    /// SUB: remove one subscription made by [`Socket::subscribe`].
    ///
    /// # Errors
    /// [`Error::Inval`](crate::Error::Inval) on socket types without subscriptions.
    pub fn unsubscribe(&mut self, topic: impl AsRef<[u8]>) -> Result<()> {
        self.set_option(SocketOption::Unsubscribe(topic.as_ref().to_vec()))
    }

    /// Sets an option. Options that shape connections (HWM, reconnect, MAXMSGSIZE, ...)
    /// apply to endpoints bound or connected afterwards, as in libzmq.
    ///
    /// # Errors
    /// [`Error::Inval`](crate::Error::Inval) for a value out of range or an option this
    /// socket type lacks.
    pub fn set_option(&mut self, option: SocketOption) -> Result<()> {
        self.check_term()?;
        if matches!(
            option,
            SocketOption::Subscribe(_)
                | SocketOption::Unsubscribe(_)
                | SocketOption::ConnectRoutingId(_)
        ) {
            // Pipes attached since the last look must be known to the pattern first: a
            // subscription goes to every attached peer, a connect routing id to the next one.
            self.drain();
        }
        let sends = matches!(
            option,
            SocketOption::Subscribe(_) | SocketOption::Unsubscribe(_)
        );
        self.options.apply(option, self.pattern.as_mut())?;
        self.link
            .linger_ms
            .store(linger_ms(self.options.linger), Ordering::Relaxed);
        if sends {
            // A subscription is a message to every peer: with inline I/O it goes out now,
            // as a send's would (docs/architecture.md §5.5).
            self.after_send(0, None);
        }
        Ok(())
    }

    /// Reads an option.
    ///
    /// # Errors
    /// [`Error::Inval`](crate::Error::Inval) for the write-only options (SUBSCRIBE,
    /// UNSUBSCRIBE).
    pub fn get_option(&self, name: OptionName) -> Result<SocketOption> {
        self.options.get(name)
    }

    /// Every option's current value, typed.
    pub fn options(&self) -> &Options {
        &self.options
    }
}
