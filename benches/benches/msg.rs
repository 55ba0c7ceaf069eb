//! `Msg` create / clone / drop, small (inline) and large (shared).

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use isomq_core::Msg;

fn msg(c: &mut Criterion) {
    let mut g = c.benchmark_group("msg");
    for size in [16usize, 30, 64 * 1024] {
        let payload = vec![7u8; size];
        g.bench_with_input(BenchmarkId::new("create_drop", size), &payload, |b, p| {
            b.iter(|| drop(black_box(Msg::copy_from_slice(black_box(p)))))
        });
        let m = Msg::copy_from_slice(&payload);
        g.bench_with_input(BenchmarkId::new("clone_drop", size), &m, |b, m| {
            b.iter(|| drop(black_box(m.clone())))
        });
    }
    g.finish();
}

criterion_group!(benches, msg);
criterion_main!(benches);
