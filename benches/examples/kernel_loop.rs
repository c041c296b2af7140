//! Runs the kernel alone on one thread for profiling (`perf record`, `valgrind`):
//! `cargo run --release -p pedisim-benches --example kernel_loop -- water 2000000`
//! (case `water` or `slabs`, then the number of histories). Prints histories/s.

use pedisim_transport::kernel::{Control, Settings, Simulation};
use pedisim_transport::tally::EnergyTally;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let case = match args.get(1).map(String::as_str) {
        Some("slabs") => pedisim_benches::bone_lung(),
        Some("coarse") => pedisim_benches::water_cube_voxel_mm(10.0),
        _ => pedisim_benches::water_cube(),
    };
    let n: u64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000_000);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool");
    let sim = Simulation::new(&case.model, &case.tables, &case.source, Settings::default());
    let tally = EnergyTally::new(case.model.grid.len());
    let control = Control::default();
    let t = std::time::Instant::now();
    let c = pool
        .install(|| sim.run_batch_part(1, 0, n, 0..n, &tally, &control))
        .expect("run")
        .to_counters();
    let s = t.elapsed().as_secs_f64();
    println!(
        "{} histories in {s:.3} s: {:.3} M histories/s; {:.2} flights and {:.2} real interactions per history",
        c.histories,
        c.histories as f64 / s / 1e6,
        c.woodcock_steps as f64 / c.histories as f64,
        c.real_interactions as f64 / c.histories as f64
    );
}
