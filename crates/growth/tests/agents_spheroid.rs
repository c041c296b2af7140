//! Validation of the agent-based model on a growing spheroid: necrotic core onset at the
//! oxygen penetration depth, and linear radius growth after the exponential phase.

use pedisim_growth::agents::{AgentModel, AgentParams, CellState, Snapshot, TrajectoryRow};
use std::sync::OnceLock;

/// Test tissue: oxygen diffusivity lowered tenfold (1e4 um^2/min) so that the penetration
/// depth `sqrt(D / (uptake phi))` is ~35 um (phi ~ 0.8, the cells' volume fraction) and a
/// necrotic core appears at a few hundred cells; proliferation sped up (doubling ~6 h) to
/// keep the run short. All other values are the defaults.
fn params() -> AgentParams {
    AgentParams {
        domain_edge_um: 400.0,
        oxygen_voxel_um: 12.5,
        oxygen_diffusion_um2_per_min: 5.0e3,
        oxygen_decay_per_min: 0.005,
        cycle_rate_per_min: 0.004,
        volume_growth_rate_per_min: 0.02,
        initial_cells: 50,
        output_interval_min: 30.0,
        ..Default::default()
    }
}

/// Penetration depth of the test tissue \[um\] (effective uptake: uptake times a cell
/// volume fraction of 0.8).
fn penetration_um() -> f64 {
    let p = params();
    (p.oxygen_diffusion_um2_per_min / (p.oxygen_uptake_per_min * 0.8)).sqrt()
}

const T_END_MIN: f64 = 3000.0;

struct Run {
    rows: Vec<TrajectoryRow>,
    last: Snapshot,
}

/// One shared run (about 30 s at the test profile's opt-level 2 on two cores).
fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let mut m = AgentModel::new(params(), 11).unwrap();
        let mut rows = vec![m.trajectory_row()];
        let t0 = std::time::Instant::now();
        m.run_until(T_END_MIN, &mut |m: &AgentModel| {
            rows.push(m.trajectory_row())
        });
        eprintln!("spheroid run: {:.1} s", t0.elapsed().as_secs_f64());
        for r in &rows {
            eprintln!(
                "t {:6.0} live {:5} apo {:3} nec {:4} ({:4}) R {:6.1} Rmax {:6.1} hyp {:.3}",
                r.time_min,
                r.live,
                r.apoptotic,
                r.necrotic,
                r.necrosis_events,
                r.radius_um,
                r.max_radius_um,
                r.hypoxic_fraction
            );
        }
        Run {
            rows,
            last: m.snapshot(),
        }
    })
}

/// Least-squares line `y = a + b x`; returns (a, b, R^2).
fn fit(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    let b = sxy / sxx;
    (my - b * mx, b, sxy * sxy / (sxx * syy))
}

/// The oxygen at the centre of a uniformly consuming sphere of radius R falls, relative to
/// its surface, as `kR / sinh(kR)` with `k = 1 / L_p` (see `agents_oxygen.rs`): at
/// `R = 2 L_p` the centre keeps 55 % of the surface value, and with the surface itself
/// above the necrosis threshold for a small spheroid no cell can be necrotic (the
/// necrosis threshold 5 mmHg is 13 % of the far field). The core must turn necrotic once
/// the radius is several penetration depths (`3.5 L_p`: `kR/sinh(kR)` = 0.21, and the
/// diffusion drop outside the spheroid lowers the surface value further), with the
/// necrotic cells in the core: their mean distance from the centroid below half the
/// radius and below that of the live cells.
#[test]
fn necrotic_core_appears_beyond_the_penetration_depth() {
    let run = run();
    let lp = penetration_um();
    eprintln!("penetration depth {lp:.1} um");
    for r in &run.rows {
        if r.radius_um < 2.0 * lp {
            assert_eq!(
                r.necrosis_events, 0,
                "necrosis at R = {} um < 2 L_p",
                r.radius_um
            );
        }
    }
    let end = run.rows.last().unwrap();
    assert!(end.radius_um > 3.5 * lp, "R = {} um", end.radius_um);
    assert!(
        end.necrotic > 0,
        "no necrotic core at R = {} um",
        end.radius_um
    );
    eprintln!("necrosis events: {}", end.necrosis_events);
    assert!(
        end.necrosis_events >= 10,
        "{} necrosis events",
        end.necrosis_events
    );
    let snap = &run.last;
    let n = snap.positions_um.len() as f64;
    let c = [0, 1, 2].map(|a| snap.positions_um.iter().map(|p| p[a]).sum::<f64>() / n);
    let mean_dist = |state: CellState| {
        let d: Vec<f64> = snap
            .positions_um
            .iter()
            .zip(&snap.states)
            .filter(|(_, s)| **s == state)
            .map(|(p, _)| {
                ((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2) + (p[2] - c[2]).powi(2)).sqrt()
            })
            .collect();
        d.iter().sum::<f64>() / d.len() as f64
    };
    let (d_nec, d_live) = (mean_dist(CellState::Necrotic), mean_dist(CellState::Live));
    eprintln!("mean distance from centroid: necrotic {d_nec:.1} um, live {d_live:.1} um");
    assert!(d_nec < 0.5 * end.radius_um && d_nec < d_live);
}

/// After the exponential phase (no hypoxic cells: ln N linear in t) the proliferating rim
/// keeps a fixed thickness set by the oxygen penetration depth, so the volume grows as
/// R^2 and the radius linearly. The late phase is where more than 30 % of the live cells
/// are hypoxic; there a line fits R(t) with R^2 > 0.98, a positive slope, and the slopes of
/// the two halves of the late phase agree within 30 % (an exponential radius would give a
/// ratio of the halves' slopes of exp(rate * half window) > 1.5 here).
#[test]
fn spheroid_radius_grows_linearly_after_the_exponential_phase() {
    let run = run();
    let early: Vec<&TrajectoryRow> = run
        .rows
        .iter()
        .filter(|r| r.hypoxic_fraction == 0.0)
        .collect();
    let (_, rate, r2e) = fit(
        &early.iter().map(|r| r.time_min).collect::<Vec<_>>(),
        &early
            .iter()
            .map(|r| (r.live as f64).ln())
            .collect::<Vec<_>>(),
    );
    eprintln!(
        "early phase: {} rows, ln N slope {rate:.2e} /min, R^2 {r2e:.3}",
        early.len()
    );
    assert!(early.len() >= 5 && rate > 0.0 && r2e > 0.9);

    let late: Vec<&TrajectoryRow> = run
        .rows
        .iter()
        .filter(|r| r.hypoxic_fraction > 0.3)
        .collect();
    assert!(
        late.len() >= 20,
        "late phase too short: {} rows",
        late.len()
    );
    let t: Vec<f64> = late.iter().map(|r| r.time_min).collect();
    let rad: Vec<f64> = late.iter().map(|r| r.radius_um).collect();
    let (_, slope, r2) = fit(&t, &rad);
    let h = t.len() / 2;
    let (_, s1, _) = fit(&t[..h], &rad[..h]);
    let (_, s2, _) = fit(&t[h..], &rad[h..]);
    eprintln!(
        "late phase {:.0}-{:.0} min: slope {slope:.4} um/min (halves {s1:.4}, {s2:.4}), R^2 {r2:.4}",
        t[0],
        t[t.len() - 1]
    );
    assert!(slope > 0.0 && r2 > 0.98, "slope {slope}, R^2 {r2}");
    assert!((s2 / s1 - 1.0).abs() < 0.3, "halves' slopes {s1} {s2}");
}
