//! Throughput of the agent-based model (ignored by default; run in release):
//!
//! ```text
//! cargo test --release -p pedisim-growth --test agents_perf -- --ignored --nocapture
//! ```

use pedisim_growth::agents::{AgentModel, AgentParams};
use std::time::Instant;

/// 10^4 cells, default parameters, 1 simulated hour by default (`PEDISIM_PERF_MIN` sets
/// the simulated minutes); prints cell-steps per second and the cost of the parts.
#[test]
#[ignore]
fn throughput_ten_thousand_cells() {
    let minutes: f64 = std::env::var("PEDISIM_PERF_MIN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60.0);
    let cells: usize = std::env::var("PEDISIM_PERF_CELLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let edge = 40.0 * (cells as f64).cbrt() + 400.0;
    let params = AgentParams {
        domain_edge_um: (edge / 20.0).ceil() * 20.0,
        initial_cells: cells,
        ..Default::default()
    };
    let t0 = Instant::now();
    let mut m = AgentModel::new(params, 1).unwrap();
    eprintln!(
        "set-up ({} cells, oxygen grid {:?}): {:.2} s",
        m.cell_count(),
        m.oxygen().dims(),
        t0.elapsed().as_secs_f64()
    );
    let mut f = m.oxygen().clone();
    let t1 = Instant::now();
    for _ in 0..20 {
        f.adi_cycle();
    }
    eprintln!(
        "oxygen ADI cycle: {:.3} ms",
        t1.elapsed().as_secs_f64() * 50.0
    );
    let t2 = Instant::now();
    let mut cell_steps = 0u64;
    let mut rows = Vec::new();
    while m.time_min() < minutes - 1e-9 {
        cell_steps += m.cell_count() as u64;
        m.step();
        if m.steps().is_multiple_of(600) {
            rows.push(m.trajectory_row());
        }
    }
    let s = t2.elapsed().as_secs_f64();
    eprintln!(
        "{minutes} min simulated in {s:.2} s: {} steps, {:.3e} cell-steps/s, now {} cells; {:?}",
        m.steps(),
        cell_steps as f64 / s,
        m.cell_count(),
        rows.last()
    );
}
