//! The page's side of the batch extension (docs/wire.md §10.9) over the simulated network:
//! the offer, the handshake in which the server speaks first, and what RCVHWM means when
//! one WebSocket message brings thousands of messages.

use isomq_core::zws::{Connection, Subprotocol, BATCH_TOKEN};
use isomq_core::{Msg, SocketType};

use super::net::{strings, Sim};
use crate::session::HELD_INPUT;
use crate::SocketOption;
use crate::BROWSER_PROTOCOLS;

fn send_many(peer: &mut Connection, from: usize, n: usize) {
    for i in from..from + n {
        peer.send_msg(&Msg::from(format!("{i:016}")));
    }
}

fn drain(socket: &crate::Socket) -> Vec<String> {
    let mut got = Vec::new();
    loop {
        let batch = socket.recv_batch(100).unwrap();
        if batch.is_empty() {
            return got;
        }
        got.extend(batch.into_iter().flat_map(strings));
    }
}

#[test]
fn a_page_offers_the_extension_first_and_speaks_it() {
    assert_eq!(BROWSER_PROTOCOLS, [BATCH_TOKEN, "ZWS2.0"]);
    let sim = Sim::new();
    let pull = sim.ctx.socket(SocketType::Pull).unwrap();
    pull.connect("ws://example.invalid/feed").unwrap();
    let mut peer = sim.accept_last_as(SocketType::Push, b"", Subprotocol::Batch);
    assert!(peer.is_ready());
    send_many(&mut peer, 0, 10);
    // Packed: one WebSocket message for all ten.
    sim.flush_peer(&mut peer);
    assert_eq!(drain(&pull).len(), 10);
    // And the page packs what it sends together.
    let push = sim.ctx.socket(SocketType::Push).unwrap();
    push.connect("ws://example.invalid/jobs").unwrap();
    let mut server = sim.accept_last_as(SocketType::Pull, b"", Subprotocol::Batch);
    push.set_option(SocketOption::SndHwm(0)).unwrap();
    let (_, ws) = sim.last();
    ws.sent.borrow_mut().clear();
    for i in 0..100 {
        push.send_multipart(vec![Msg::from(format!("job {i}"))])
            .unwrap();
    }
    for data in ws.sent.borrow_mut().drain(..) {
        server.handle_message(data).unwrap();
    }
    let mut n = 0;
    while server.poll_msg().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 100);
}

#[test]
fn a_batch_over_rcvhwm_waits_and_is_dropped_only_past_the_held_input_bound() {
    let sim = Sim::new();
    let pull = sim.ctx.socket(SocketType::Pull).unwrap();
    pull.set_option(SocketOption::RcvHwm(1000)).unwrap();
    pull.connect("ws://example.invalid/feed").unwrap();
    let mut peer = sim.accept_last_as(SocketType::Push, b"", Subprotocol::Batch);
    // 3000 messages in one WebSocket message (54 000 bytes): 1000 in the pipe, 2000 held.
    send_many(&mut peer, 0, 3000);
    sim.flush_peer(&mut peer);
    let got = drain(&pull);
    assert_eq!(got.len(), 3000);
    assert_eq!(got[2999], format!("{:016}", 2999));
    assert_eq!(pull.dropped(), 0, "nothing dropped below RCVHWM");
    // Unread, batch after batch: once the held input would pass HELD_INPUT, what it holds
    // is dropped, whole messages, and the newest batch waits.
    let batches = 2 * HELD_INPUT / (3000 * 18) + 2;
    for b in 0..batches {
        send_many(&mut peer, 3000 * (b + 1), 3000);
        sim.flush_peer(&mut peer);
    }
    assert!(pull.dropped() > 0);
    let got = drain(&pull);
    assert!(got.len() >= 1000, "{}", got.len());
    assert_eq!(got.len() as u64 + pull.dropped(), 3000 * batches as u64);
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order");
    assert_eq!(
        got[got.len() - 1],
        format!("{:016}", 3000 * (batches + 1) - 1)
    );
}
