//! Runs the continuum benchmark case for a number of steps, for profiling and for
//! instruction and cycle counts that do not depend on the machine's load (`perf stat`):
//! `cargo run --release -p pedisim-benches --example continuum_steps -- 20 2`
//! (steps, then threads). Prints voxel updates per second, then the bandwidth of a STREAM
//! triad over three arrays of the grid's size on the same threads (the reference of
//! `docs/performance.md`).

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let steps: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let threads: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    let mut m = pedisim_benches::continuum_case();
    pool.install(|| m.advance_to(1.0));
    let start = std::time::Instant::now();
    pool.install(|| m.advance_to(1.0 + f64::from(steps)));
    let s = start.elapsed().as_secs_f64();
    let n = pedisim_benches::CONTINUUM_EDGE.pow(3) as f64;
    println!(
        "{steps} steps of {n} voxels on {threads} threads: {s:.3} s, {:.3e} voxel-updates/s",
        n * f64::from(steps) / s
    );
    use rayon::prelude::*;
    let len = n as usize;
    let (mut a, b, c) = (vec![0.0f64; len], vec![1.0f64; len], vec![2.0f64; len]);
    let reps = 20;
    let start = std::time::Instant::now();
    for _ in 0..reps {
        pool.install(|| {
            a.par_chunks_mut(1 << 14)
                .zip(b.par_chunks(1 << 14))
                .zip(c.par_chunks(1 << 14))
                .for_each(|((a, b), c)| {
                    for i in 0..a.len() {
                        a[i] = b[i] + 3.0 * c[i];
                    }
                })
        });
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "STREAM triad on {threads} threads: {:.2} GB/s (check {})",
        24.0 * n * f64::from(reps) / s / 1e9,
        a[len / 2]
    );
}
