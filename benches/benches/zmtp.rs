//! ZMTP encode and decode per frame size on `isomq_core::zmtp::Connection` pairs, driven in
//! memory: no sockets, only the codec and its buffers.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use isomq_core::zmtp::{Config, Connection};
use isomq_core::{Msg, SocketType};

/// Moves everything `from` wants to write into `to`.
fn pump(from: &mut Connection, to: &mut Connection) {
    let mut bytes = Vec::new();
    while from.transmit_len() > 0 {
        let chunk = from.transmit_chunk();
        bytes.extend_from_slice(chunk);
        let n = chunk.len();
        from.advance_transmit(n);
    }
    if !bytes.is_empty() {
        let _ = to.handle_input(&bytes);
    }
}

/// A PUSH and a PULL connection after their handshake.
fn ready_pair() -> (Connection, Connection) {
    let mut push = Connection::new(Config::new(SocketType::Push));
    let mut pull = Connection::new(Config::new(SocketType::Pull));
    for _ in 0..4 {
        pump(&mut push, &mut pull);
        pump(&mut pull, &mut push);
    }
    assert!(
        push.is_ready() && pull.is_ready(),
        "handshake did not complete"
    );
    while push.poll_event().is_some() || pull.poll_event().is_some() {}
    (push, pull)
}

const BATCH: usize = 64;

fn zmtp(c: &mut Criterion) {
    let mut g = c.benchmark_group("zmtp");
    for size in [16usize, 256, 4096, 65536] {
        let m = Msg::copy_from_slice(&vec![3u8; size]);
        g.throughput(Throughput::Elements(BATCH as u64));

        // Encode a batch and drop the output as a writer would after a write.
        let (mut push, _) = ready_pair();
        g.bench_with_input(BenchmarkId::new("encode64", size), &m, |b, m| {
            b.iter(|| {
                for _ in 0..BATCH {
                    push.send_msg(m);
                }
                let n = push.transmit_len();
                push.advance_transmit(n);
            })
        });

        // Decode a batch from one input buffer, as one read would deliver it.
        let (mut push, mut pull) = ready_pair();
        for _ in 0..BATCH {
            push.send_msg(&m);
        }
        let mut wire = Vec::new();
        while push.transmit_len() > 0 {
            let chunk = push.transmit_chunk();
            wire.extend_from_slice(chunk);
            let n = chunk.len();
            push.advance_transmit(n);
        }
        g.bench_with_input(BenchmarkId::new("decode64", size), &wire, |b, wire| {
            b.iter(|| {
                let _ = pull.handle_input(wire);
                while let Ok(Some(m)) = pull.poll_msg() {
                    black_box(m);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, zmtp);
criterion_main!(benches);
