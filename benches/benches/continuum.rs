//! Proliferation-invasion solver throughput (criterion reports "elements/s" = voxel
//! updates per second: voxels x time steps), beside a STREAM-like triad over arrays of the
//! same size on the same threads (criterion reports bytes/s), the memory-bandwidth
//! reference of `docs/performance.md`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pedisim_benches::{continuum_case, CONTINUUM_EDGE as N};
use rayon::prelude::*;

fn bench(c: &mut Criterion) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let mut g = c.benchmark_group(format!("continuum_128cubed_{threads}_threads"));
    g.sample_size(10);
    g.throughput(Throughput::Elements((N * N * N) as u64));
    let mut m = continuum_case();
    // The first step is the Rannacher start; measure ordinary steps.
    pool.install(|| m.advance_to(1.0));
    let mut t = 1.0;
    g.bench_function("crank_nicolson_step", |b| {
        b.iter(|| {
            t += 1.0;
            pool.install(|| m.advance_to(t))
        })
    });
    // STREAM triad a = b + s c: 3 arrays of 8 bytes per element (2 read, 1 written).
    let n = N * N * N;
    let (mut a, bv, cv) = (vec![0.0f64; n], vec![1.0f64; n], vec![2.0f64; n]);
    g.throughput(Throughput::Bytes((3 * 8 * n) as u64));
    g.bench_function("stream_triad", |b| {
        b.iter(|| {
            pool.install(|| {
                a.par_chunks_mut(1 << 14)
                    .zip(bv.par_chunks(1 << 14))
                    .zip(cv.par_chunks(1 << 14))
                    .for_each(|((a, b), c)| {
                        for i in 0..a.len() {
                            a[i] = b[i] + 3.0 * c[i];
                        }
                    })
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
