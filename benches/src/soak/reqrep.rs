//! REQ/REP with REQ_RELAXED and REQ_CORRELATE: a REP bound on several transports echoes
//! every request; each REQ sends numbered requests, and one whose reply does not come
//! within a second (its connection reset or stalled by the relay) is given up and the
//! next request sent (REQ_RELAXED). The rule: every reply a REQ receives is the answer to
//! its outstanding request; REQ_CORRELATE drops a late reply to an earlier one.

use std::sync::Arc;
use std::time::Duration;

use isomq::{Context, Error, Socket, SocketOption, SocketType};

use super::counters::Counters;
use super::ledger::encode;
use super::pace::Pacer;
use super::{socket, Shared};

/// Requests a REQ socket makes before it is closed and a new one connects.
const REQUESTS_PER_SOCKET: u64 = 1_000;

/// Starts the thread of a bound REP (bound by the caller): echoes until the run stops.
pub fn start_rep(
    shared: &Arc<Shared>,
    mut s: Socket,
) -> std::thread::JoinHandle<Result<(), String>> {
    let shared = shared.clone();
    std::thread::spawn(move || {
        while !shared.stopping() {
            let frames = match s.recv_multipart() {
                Ok(f) => f,
                Err(Error::Again) => continue,
                Err(e) => return Err(format!("REP receive: {e}")),
            };
            Counters::add(&shared.counters.received, 1);
            // A reply to a peer that is gone is dropped by REP (RFC 28): nothing to do.
            if s.send_multipart(frames).is_ok() {
                Counters::add(&shared.counters.sent, 1);
            }
        }
        Ok(())
    })
}

fn req_socket(ctx: &Context, heartbeat: bool) -> Result<Socket, String> {
    let mut s = socket(ctx, SocketType::Req)?;
    let mut options = vec![
        SocketOption::ReqRelaxed(true),
        SocketOption::ReqCorrelate(true),
        SocketOption::RcvTimeout(Some(Duration::from_secs(1))),
    ];
    if heartbeat {
        options.push(SocketOption::HeartbeatIvl(Some(Duration::from_millis(100))));
        options.push(SocketOption::HeartbeatTimeout(Some(Duration::from_secs(1))));
    }
    for o in options {
        s.set_option(o).map_err(|e| e.to_string())?;
    }
    Ok(s)
}

/// Runs a requester to `endpoint` until the run finishes; `heartbeat` for a faulty path.
pub fn requester(
    shared: &Shared,
    ctx: &Context,
    endpoint: &str,
    heartbeat: bool,
) -> Result<(), String> {
    let c = &shared.counters;
    let rate = (shared.config.rate / 4).max(1);
    while !shared.finishing() {
        let mut s = req_socket(ctx, heartbeat)?;
        let monitor = s.monitor();
        s.connect(endpoint).map_err(|e| e.to_string())?;
        let stream = shared.stream_id();
        let mut pacer = Pacer::new(rate);
        let mut seq = 0;
        while seq < REQUESTS_PER_SOCKET && !shared.finishing() {
            if !pacer.due() {
                continue;
            }
            let request = encode(stream, seq, 32);
            match s.send(request.as_slice()) {
                Ok(()) => Counters::add(&c.sent, 1),
                Err(Error::Again) => continue,
                Err(e) => return Err(format!("REQ send to {endpoint}: {e}")),
            }
            pacer.sent();
            seq += 1;
            match s.recv() {
                Ok(reply) if reply.as_slice() == request.as_slice() => {
                    Counters::add(&c.received, 1);
                }
                Ok(_) => Counters::add(&c.wrong_replies, 1),
                Err(Error::Again) => Counters::add(&c.req_retries, 1),
                Err(e) => return Err(format!("REQ receive from {endpoint}: {e}")),
            }
            shared.tally(&monitor);
        }
    }
    Ok(())
}
