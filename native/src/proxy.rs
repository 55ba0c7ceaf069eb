//! The built-in proxy (`zmq_proxy`, `zmq_proxy_steerable`): shuttles messages between a
//! frontend and a backend socket, e.g. ROUTER↔DEALER as a broker or XSUB↔XPUB as a
//! forwarder, optionally copying everything to a capture socket.

use isomq_core::{Error, Msg, Result};

use crate::options::Flags;
use crate::poll::{poll, PollItem};
use crate::readiness::PollEvents;
use crate::socket::Socket;

/// Counters a steerable proxy reports on `STATISTICS` (libzmq's eight values, in its order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Messages received from the frontend.
    pub frontend_in_msgs: u64,
    /// Bytes received from the frontend.
    pub frontend_in_bytes: u64,
    /// Messages sent to the frontend.
    pub frontend_out_msgs: u64,
    /// Bytes sent to the frontend.
    pub frontend_out_bytes: u64,
    /// Messages received from the backend.
    pub backend_in_msgs: u64,
    /// Bytes received from the backend.
    pub backend_in_bytes: u64,
    /// Messages sent to the backend.
    pub backend_out_msgs: u64,
    /// Bytes sent to the backend.
    pub backend_out_bytes: u64,
}

/// Runs a proxy until the context terminates.
///
/// # Errors
/// [`Error::Term`] when the context terminates; other errors of the sockets.
pub fn proxy(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: Option<&mut Socket>,
) -> Result<()> {
    run(frontend, backend, capture, None).map(|_| ())
}

/// Runs a proxy that obeys commands on `control`: `PAUSE` (stop forwarding), `RESUME`,
/// `TERMINATE` (return `Ok`), `STATISTICS` (reply with eight 8-byte counters, see
/// [`ProxyStats`], when `control` can send, e.g. REP or PAIR).
///
/// # Errors
/// As [`proxy`].
pub fn proxy_steerable(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: Option<&mut Socket>,
    control: &mut Socket,
) -> Result<ProxyStats> {
    run(frontend, backend, capture, Some(control))
}

/// Which way one message goes.
#[derive(Clone, Copy)]
enum Direction {
    FrontToBack,
    BackToFront,
}

fn run(
    frontend: &mut Socket,
    backend: &mut Socket,
    mut capture: Option<&mut Socket>,
    mut control: Option<&mut Socket>,
) -> Result<ProxyStats> {
    let mut stats = ProxyStats::default();
    let mut paused = false;
    loop {
        let (front_ready, back_ready, control_ready) =
            wait_ready(frontend, backend, control.as_deref_mut(), paused)?;
        if control_ready {
            if let Some(c) = control.as_deref_mut() {
                if steer(c, &stats, &mut paused)? == Steer::Terminate {
                    return Ok(stats);
                }
            }
        }
        if paused {
            continue;
        }
        if front_ready {
            forward(
                frontend,
                backend,
                capture.as_deref_mut(),
                &mut stats,
                Direction::FrontToBack,
            )?;
        }
        if back_ready {
            forward(
                backend,
                frontend,
                capture.as_deref_mut(),
                &mut stats,
                Direction::BackToFront,
            )?;
        }
    }
}

/// Polls the sides and the control socket; returns which are readable (frontend,
/// backend, control).
fn wait_ready(
    frontend: &mut Socket,
    backend: &mut Socket,
    control: Option<&mut Socket>,
    paused: bool,
) -> Result<(bool, bool, bool)> {
    // Read a side only while the other can take what is read (libzmq 4.3 does the
    // same), and wait for writability of a side that cannot.
    let front_out = frontend.has_out();
    let back_out = backend.has_out();
    let events = |can_forward: bool, can_send: bool| {
        let mut e = PollEvents::NONE;
        if can_forward && !paused {
            e = e | PollEvents::IN;
        }
        if !can_send {
            e = e | PollEvents::OUT;
        }
        e
    };
    let mut items = vec![
        PollItem::new(frontend, events(back_out, front_out)),
        PollItem::new(backend, events(front_out, back_out)),
    ];
    if let Some(c) = control {
        items.push(PollItem::new(c, PollEvents::IN));
    }
    poll(&mut items, None)?;
    Ok((
        items[0].is_readable(),
        items[1].is_readable(),
        items.get(2).is_some_and(PollItem::is_readable),
    ))
}

/// What a command on the control socket asks of the proxy's loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Steer {
    Continue,
    Terminate,
}

/// Reads and obeys one command of the control socket.
fn steer(control: &mut Socket, stats: &ProxyStats, paused: &mut bool) -> Result<Steer> {
    match control.recv_multipart() {
        Ok(cmd) => match cmd.first().map(Msg::as_slice) {
            Some(b"PAUSE") => *paused = true,
            Some(b"RESUME") => *paused = false,
            Some(b"TERMINATE") => return Ok(Steer::Terminate),
            Some(b"STATISTICS") => reply_stats(control, stats)?,
            // libzmq ignores unknown commands ("E: invalid command").
            _ => {}
        },
        Err(Error::Again) => {}
        Err(e) => return Err(e),
    }
    Ok(Steer::Continue)
}

fn reply_stats(control: &mut Socket, s: &ProxyStats) -> Result<()> {
    let values = [
        s.frontend_in_msgs,
        s.frontend_in_bytes,
        s.frontend_out_msgs,
        s.frontend_out_bytes,
        s.backend_in_msgs,
        s.backend_in_bytes,
        s.backend_out_msgs,
        s.backend_out_bytes,
    ];
    match control.send_multipart(values.iter().map(|v| v.to_ne_bytes().to_vec())) {
        Ok(()) | Err(Error::NotSup) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Moves one whole message from `from` to `to` (and a copy to `capture`).
fn forward(
    from: &mut Socket,
    to: &mut Socket,
    capture: Option<&mut Socket>,
    stats: &mut ProxyStats,
    dir: Direction,
) -> Result<()> {
    let frames = match from.recv_multipart_flags(Flags::DONTWAIT) {
        Ok(f) => f,
        Err(Error::Again) => return Ok(()),
        Err(e) => return Err(e),
    };
    let bytes: u64 = frames.iter().map(|f| f.len() as u64).sum();
    let (in_msgs, in_bytes, out_msgs, out_bytes) = match dir {
        Direction::FrontToBack => (
            &mut stats.frontend_in_msgs,
            &mut stats.frontend_in_bytes,
            &mut stats.backend_out_msgs,
            &mut stats.backend_out_bytes,
        ),
        Direction::BackToFront => (
            &mut stats.backend_in_msgs,
            &mut stats.backend_in_bytes,
            &mut stats.frontend_out_msgs,
            &mut stats.frontend_out_bytes,
        ),
    };
    *in_msgs += 1;
    *in_bytes += bytes;
    if let Some(c) = capture {
        // A capture socket that cannot keep up loses copies, never stalls the proxy.
        let _ = c.send_multipart_flags(frames.iter().cloned(), Flags::DONTWAIT);
    }
    to.send_multipart(frames)?;
    *out_msgs += 1;
    *out_bytes += bytes;
    Ok(())
}
