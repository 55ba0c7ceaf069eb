//! PUB/SUB: one PUB bound on several transports publishes one numbered stream at a steady
//! rate; steady subscribers stay for the run (one of them behind a relay that stalls), and
//! a churning subscriber joins and leaves over and over. The rule: what each subscriber
//! receives on its one connection is in order and never twice (RFC 29: a pipe is FIFO).
//! Gaps are counted, not refused: PUB drops for a full subscriber (its HWM, RFC 29) and
//! before a subscription has arrived.

use std::sync::Arc;

use isomq::{Context, Error, Flags, Socket, SocketType};

use super::counters::Counters;
use super::ledger::{decode, encode};
use super::pace::{Pacer, Rng};
use super::{socket, Shared};

/// The stream id the publisher uses; its 8 bytes are the topic subscribers subscribe to.
const TOPIC: u64 = u64::MAX;

/// Starts the publisher on a bound PUB (bound by the caller); it publishes until the run
/// stops, so subscribers have traffic while they finish.
pub fn start_pub(
    shared: &Arc<Shared>,
    mut s: Socket,
) -> std::thread::JoinHandle<Result<(), String>> {
    let shared = shared.clone();
    std::thread::spawn(move || {
        let mut pacer = Pacer::new(shared.config.rate);
        let mut seq = 0;
        while !shared.stopping() {
            if !pacer.due() {
                continue;
            }
            match s.send_flags(encode(TOPIC, seq, 64), Flags::DONTWAIT) {
                Ok(()) | Err(Error::Again) => {}
                Err(e) => return Err(format!("publish: {e}")),
            }
            pacer.sent();
            seq += 1;
            Counters::add(&shared.counters.sent, 1);
        }
        Ok(())
    })
}

/// The order check of one subscription.
#[derive(Debug, Default)]
struct Order {
    last: Option<u64>,
}

impl Order {
    fn check(&mut self, m: &[u8], c: &Counters) {
        Counters::add(&c.received, 1);
        let Some((TOPIC, seq)) = decode(m) else {
            Counters::add(&c.reorders, 1);
            return;
        };
        match self.last {
            Some(l) if seq <= l => Counters::add(&c.reorders, 1),
            Some(l) => Counters::add(&c.sub_gaps, seq - l - 1),
            None => {}
        }
        self.last = Some(seq);
    }
}

fn sub_socket(ctx: &Context, endpoint: &str) -> Result<Socket, String> {
    let mut s = socket(ctx, SocketType::Sub)?;
    s.subscribe(TOPIC.to_be_bytes())
        .map_err(|e| e.to_string())?;
    s.connect(endpoint).map_err(|e| e.to_string())?;
    Ok(s)
}

/// A subscriber that stays connected to `endpoint` until the run finishes.
pub fn steady(shared: &Shared, ctx: &Context, endpoint: &str) -> Result<(), String> {
    let mut s = sub_socket(ctx, endpoint)?;
    let mut order = Order::default();
    while !shared.finishing() {
        match s.recv() {
            Ok(m) => order.check(m.as_slice(), &shared.counters),
            Err(Error::Again) => {}
            Err(e) => return Err(format!("SUB {endpoint}: {e}")),
        }
    }
    Ok(())
}

/// Subscribers that join one of `endpoints` in turn, receive a few hundred messages and
/// leave (unsubscribing first, or not), until the run finishes.
pub fn churning(shared: &Shared, ctx: &Context, endpoints: &[String]) -> Result<(), String> {
    let mut rng = Rng::new(shared.stream_id());
    let mut round = 0;
    while !shared.finishing() {
        let endpoint = &endpoints[round % endpoints.len()];
        round += 1;
        let mut s = sub_socket(ctx, endpoint)?;
        Counters::add(&shared.counters.sub_joins, 1);
        let mut order = Order::default();
        let want = 1 + rng.below(500);
        let mut got = 0;
        while got < want && !shared.finishing() {
            match s.recv() {
                Ok(m) => {
                    order.check(m.as_slice(), &shared.counters);
                    got += 1;
                }
                Err(Error::Again) => {}
                Err(e) => return Err(format!("SUB {endpoint}: {e}")),
            }
        }
        if round % 2 == 0 {
            s.unsubscribe(TOPIC.to_be_bytes())
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
