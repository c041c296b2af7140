//! Throughput of the agent-based model (ignored by default; run in release):
//!
//! ```text
//! cargo test --release -p pedisim-growth --test agents_perf -- --ignored --nocapture
//! ```

use pedisim_growth::agents::{AgentModel, AgentParams, OxygenScheme};
use std::time::Instant;

/// 10^4 cells, default parameters, 1 simulated hour by default (`PEDISIM_PERF_MIN` sets
/// the simulated minutes, `PEDISIM_PERF_CELLS` the initial cells, `PEDISIM_PERF_DT_MECH`
/// and `PEDISIM_PERF_DT_DIFF` the mechanics and oxygen steps \[min\], `PEDISIM_PERF_SCHEME=lod`
/// BioFVM's LOD time stepping); the box edge is `40 N^(1/3) + 400` um rounded up to 20 um
/// (the spheroid plus 200 um each side). Prints cell-steps per second of wall time and per
/// CPU-second of the process, and the cost of one oxygen ADI cycle.
///
/// Measured 2026-11-23 on the shared 2-core development machine (load ~2, so roughly one
/// core free), release profile, `PEDISIM_PERF_MIN=1440`: 1 simulated day from 10^4 to
/// 1.45e4 cells in 68 s (2880 mechanics steps of 0.5 min, 5.2e5 cell-steps/s; oxygen grid
/// 64^3 with an ADI cycle of 25-36 ms every minute, about two thirds of the time). After
/// the oxygen interval became the phenotype step (6 min) and the z sweep and neighbour
/// filter were reworked (same day, load 4-9): 1 simulated hour at 10^4 cells in 1.05 s of
/// CPU (1.15e6 cell-steps per CPU-second, 4.9e5 before); 10^5 cells (113^3 grid) for
/// 240 min in 37.3 s of CPU, 73.8 s wall (1.26e6 per CPU-second). 2026-11-24, quiet machine,
/// after the Verlet lists: `PEDISIM_PERF_CELLS=100000 PEDISIM_PERF_MIN=14400`, 10 simulated
/// days in 646 s wall on 2 threads (4.5e6 cell-steps/s; 10^5 to 1.1e5 cells); later that
/// day, after the two-pass oxygen steps and the per-bin candidate filter, the same run in
/// 500 s (5.9e6 cell-steps/s, bitwise the same state). See
/// `docs/performance.md`.
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
    let env = |k: &str| std::env::var(k).ok().and_then(|s| s.parse::<f64>().ok());
    let d = AgentParams::default();
    let params = AgentParams {
        domain_edge_um: (edge / 20.0).ceil() * 20.0,
        initial_cells: cells,
        dt_mechanics_min: env("PEDISIM_PERF_DT_MECH").unwrap_or(d.dt_mechanics_min),
        dt_diffusion_min: env("PEDISIM_PERF_DT_DIFF").unwrap_or(d.dt_diffusion_min),
        oxygen_scheme: match std::env::var("PEDISIM_PERF_SCHEME").as_deref() {
            Ok("lod") => OxygenScheme::Lod,
            _ => OxygenScheme::QuasiSteady,
        },
        ..d
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
    let cpu0 = cpu_seconds();
    let t2 = Instant::now();
    let mut cell_steps = 0u64;
    let mut rows = Vec::new();
    while m.time_min() < minutes - 1e-9 {
        cell_steps += m.cell_count() as u64;
        m.step();
        if m.steps().is_multiple_of(600) {
            rows.push(m.trajectory_row());
        }
        if m.steps().is_multiple_of(2880) {
            // Progress of long runs, once per simulated day.
            eprintln!(
                "day {:.0}: {} cells, {:.1} s wall, {:.1} s CPU, lists (steps, builds, entries) {:?}",
                m.time_min() / 1440.0,
                m.cell_count(),
                t2.elapsed().as_secs_f64(),
                cpu_seconds() - cpu0,
                m.neighbour_list_builds()
            );
        }
    }
    let s = t2.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    eprintln!(
        "{minutes} min simulated in {s:.2} s: {} steps, {:.3e} cell-steps/s, now {} cells; {:?}",
        m.steps(),
        cell_steps as f64 / s,
        m.cell_count(),
        rows.last()
    );
    eprintln!(
        "neighbour lists: {:?} (mechanics steps, builds, entries)",
        m.neighbour_list_builds()
    );
    eprintln!(
        "process CPU time of the steps {cpu:.2} s ({} threads): {:.3e} cell-steps per CPU-second",
        rayon::current_num_threads(),
        cell_steps as f64 / cpu
    );
}

/// User plus system CPU time of this process \[s\] (Linux `/proc/self/stat`, clock ticks
/// of 1/100 s), to compare runs on a shared machine where wall time depends on the load;
/// `NaN` elsewhere.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

/// Accuracy of larger mechanics steps (the lever for large runs): the hypoxic test
/// spheroid of `agents_spheroid.rs` to 2000 min with mechanics steps of 0.1, 0.3, 0.6 and
/// 1.2 min; prints the final counts and radii and the overlap statistics (mean and maximum
/// of `1 - d/(r_i + r_j)` over touching pairs) for comparison.
#[test]
#[ignore]
fn mechanics_step_comparison() {
    for dt in [0.1, 0.3, 0.6, 1.2] {
        let params = AgentParams {
            domain_edge_um: 400.0,
            oxygen_voxel_um: 12.5,
            oxygen_diffusion_um2_per_min: 5.0e3,
            oxygen_decay_per_min: 0.005,
            cycle_rate_per_min: 0.004,
            volume_growth_rate_per_min: 0.02,
            initial_cells: 50,
            dt_mechanics_min: dt,
            dt_diffusion_min: 1.2,
            output_interval_min: 60.0,
            ..Default::default()
        };
        let mut m = AgentModel::new(params, 11).unwrap();
        let t = Instant::now();
        m.run_until(2000.0, &mut |_| {});
        let r = m.trajectory_row();
        let (p, rad) = (m.positions_um(), m.radii_um());
        let (mut s, mut mx, mut k) = (0.0, 0.0f64, 0);
        for i in 0..p.len() {
            for j in 0..i {
                let d = (0..3)
                    .map(|a| (p[i][a] - p[j][a]).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let o = 1.0 - d / (rad[i] + rad[j]);
                if o > 0.0 {
                    s += o;
                    mx = mx.max(o);
                    k += 1;
                }
            }
        }
        eprintln!(
            "dt_mech {dt}: {:.1} s, live {} R {:.1} um Rmax {:.1} um hypoxic {:.3}; overlap mean {:.4} max {:.4}",
            t.elapsed().as_secs_f64(),
            r.live,
            r.radius_um,
            r.max_radius_um,
            r.hypoxic_fraction,
            s / k as f64,
            mx
        );
    }
}

/// A fingerprint (FNV-1a over the bits) of the whole state after three short runs: the
/// default 2000-cell spheroid for 3 h, a hypoxic spheroid (every process active) for
/// 10 h, and 800 cells for 2 h with BioFVM's LOD oxygen steps of 0.5 min. Optimisations that only reorganise the arithmetic must leave it unchanged; run
/// before and after a change and compare the printed values.
#[test]
#[ignore]
fn state_fingerprint() {
    fn fnv(h: &mut u64, x: u64) {
        for b in x.to_le_bytes() {
            *h = (*h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    let cases = [
        (
            AgentParams {
                domain_edge_um: 800.0,
                initial_cells: 2000,
                ..Default::default()
            },
            180.0,
        ),
        (
            AgentParams {
                domain_edge_um: 300.0,
                oxygen_voxel_um: 15.0,
                oxygen_diffusion_um2_per_min: 2.0e3,
                oxygen_decay_per_min: 0.002,
                cycle_rate_per_min: 0.004,
                volume_growth_rate_per_min: 0.02,
                initial_cells: 120,
                ..Default::default()
            },
            600.0,
        ),
        (
            AgentParams {
                domain_edge_um: 600.0,
                initial_cells: 800,
                dt_diffusion_min: 0.5,
                oxygen_scheme: OxygenScheme::Lod,
                ..Default::default()
            },
            120.0,
        ),
    ];
    for (params, t) in cases {
        let mut m = AgentModel::new(params, 5).unwrap();
        m.run_until(t, &mut |_| {});
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for p in m.positions_um() {
            p.iter().for_each(|x| fnv(&mut h, x.to_bits()));
        }
        m.volumes_um3()
            .iter()
            .for_each(|x| fnv(&mut h, x.to_bits()));
        m.ids().iter().for_each(|&x| fnv(&mut h, x));
        let o2 = m.oxygen().values_mmhg();
        o2.iter().for_each(|x| fnv(&mut h, x.to_bits()));
        eprintln!(
            "fingerprint {:016x}: {} cells, mean O2 {:.6} mmHg, {:?}",
            h,
            m.cell_count(),
            o2.iter().sum::<f64>() / o2.len() as f64,
            m.trajectory_row()
        );
    }
}
