//! `Pipe` write + flush + read on one thread: the cost of the lock-free queue itself, per
//! message and per batch of 64 (one flush, one prefetch).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use isomq_core::{Msg, Pipe};

const BATCH: usize = 64;

fn pipe(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipe");
    for size in [16usize, 4096] {
        let m = Msg::copy_from_slice(&vec![1u8; size]);
        let (mut a, mut b) = Pipe::pair(1, 1000, 1000);
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("one", size), &m, |bench, m| {
            bench.iter(|| {
                let _ = a.write(m.clone());
                a.flush();
                black_box(b.read())
            })
        });
        g.throughput(Throughput::Elements(BATCH as u64));
        g.bench_with_input(BenchmarkId::new("batch64", size), &m, |bench, m| {
            bench.iter(|| {
                for _ in 0..BATCH {
                    let _ = a.write(m.clone());
                }
                a.flush();
                for _ in 0..BATCH {
                    black_box(b.read());
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, pipe);
criterion_main!(benches);
