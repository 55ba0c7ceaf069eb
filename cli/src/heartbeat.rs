//! The heartbeat flags of `isomq cat` and of each side of `isomq proxy`: ZMTP PINGs (or
//! WebSocket pings on ws://) every interval, and a connection from which nothing arrives
//! within the timeout after one is closed (docs/wire.md §5.1, §10.6). What the heartbeats
//! find is reported on stderr: the socket's connections that end, one line each.

use std::time::Duration;

use isomq::{MonitorEvent, Socket, SocketOption};

pub(crate) const USAGE: &str = "\
\x20 --heartbeat-ivl MS    send a heartbeat on every connection each MS ms; each connection
                        that ends is then reported on stderr as
                        'disconnected <endpoint>: <reason>' (a peer gone silent: 'heartbeat
                        timed out'); a --connect endpoint reconnects
  --heartbeat-timeout MS close a connection when nothing arrives for MS ms after a
                        heartbeat (default: the interval)";

/// What the heartbeat flags asked for.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct HeartbeatArgs {
    ivl: Option<Duration>,
    timeout: Option<Duration>,
}

fn millis(flag: &str, value: &str) -> Result<Duration, String> {
    match value.parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(format!("{flag} needs a time in ms above 0, got {value:?}")),
    }
}

impl HeartbeatArgs {
    /// Takes `flag` if it is a heartbeat flag (reading its value with `value`); returns
    /// whether it was one.
    pub(crate) fn take(
        &mut self,
        flag: &str,
        value: &mut dyn FnMut() -> Result<String, String>,
    ) -> Result<bool, String> {
        let slot = match flag {
            "--heartbeat-ivl" => &mut self.ivl,
            "--heartbeat-timeout" => &mut self.timeout,
            _ => return Ok(false),
        };
        *slot = Some(millis(flag, &value()?)?);
        Ok(true)
    }

    /// A timeout means nothing without heartbeats to time out.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.timeout.is_some() && self.ivl.is_none() {
            return Err("--heartbeat-timeout needs --heartbeat-ivl".into());
        }
        Ok(())
    }

    /// Sets the socket's heartbeat options and, with heartbeats on, reports on stderr each
    /// connection that ends. Call it before the socket binds or connects: options apply to
    /// the connections made afterwards.
    pub(crate) fn apply(&self, sock: &mut Socket) -> Result<(), isomq::Error> {
        let Some(ivl) = self.ivl else {
            return Ok(());
        };
        sock.set_option(SocketOption::HeartbeatIvl(Some(ivl)))?;
        sock.set_option(SocketOption::HeartbeatTimeout(self.timeout))?;
        let events = sock.monitor();
        // The monitor ends once the socket and its connections are gone, and so does this.
        std::thread::spawn(move || {
            while let Some(event) = events.recv() {
                if let MonitorEvent::Disconnected {
                    endpoint, reason, ..
                } = event
                {
                    eprintln!("disconnected {endpoint}: {reason}");
                }
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(h: &mut HeartbeatArgs, flag: &str, value: &str) -> Result<bool, String> {
        let value = value.to_owned();
        h.take(flag, &mut || Ok(value.clone()))
    }

    #[test]
    fn parses_times_and_refuses_a_timeout_alone() {
        let mut h = HeartbeatArgs::default();
        assert_eq!(take(&mut h, "--heartbeat-timeout", "300"), Ok(true));
        assert!(h.check().is_err());
        assert_eq!(take(&mut h, "--heartbeat-ivl", "100"), Ok(true));
        assert!(h.check().is_ok());
        assert_eq!(h.ivl, Some(Duration::from_millis(100)));
        assert_eq!(take(&mut h, "--count", "1"), Ok(false));
        assert!(take(&mut h, "--heartbeat-ivl", "0").is_err());
        assert!(take(&mut h, "--heartbeat-ivl", "-5").is_err());
    }
}
