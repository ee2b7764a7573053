//! Framing throughput: our frame encode/decode against the floor of one
//! crc32 over the same bytes and a plain memcpy.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use murmura::core::frame::{self, FrameLimits};
use std::hint::black_box;

fn framing(c: &mut Criterion) {
    let limits = FrameLimits::default();
    let mut group = c.benchmark_group("frame_1400B");
    let payload: Vec<u8> = (0..1400u32).map(|i| (i * 31) as u8).collect();
    let wire = frame::encode_to_vec(1, &payload, &limits).expect("fits");
    group.throughput(Throughput::Bytes(payload.len() as u64));
    let mut out = Vec::with_capacity(2048);
    group.bench_function("murmura/encode", |b| {
        b.iter(|| {
            out.clear();
            frame::encode(1, black_box(&payload), &limits, &mut out).expect("fits");
            black_box(out.len())
        })
    });
    group.bench_function("murmura/decode", |b| {
        b.iter(|| black_box(frame::decode(black_box(&wire), &limits).expect("valid").1))
    });
    group.bench_function("floor/crc32", |b| {
        b.iter(|| black_box(crc32fast::hash(black_box(&payload))))
    });
    group.bench_function("floor/memcpy", |b| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(&payload));
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, framing);
criterion_main!(benches);
