//! Determinism for any thread count, and the linear-quadratic radiation kill.

use pedisim_growth::agents::{
    AgentModel, AgentParams, DoseRateCourse, DoseRateTally, RadiationDeath, Snapshot,
};
use pedisim_growth::radiobiology::{lq_survival, repair_rate_per_day};

/// A small hypoxic spheroid (low oxygen diffusivity so that every process runs: division,
/// apoptosis, necrosis, lysis) with a radiation fraction half-way and a decaying dose rate
/// (varying across the box) from 350 min.
fn params() -> AgentParams {
    AgentParams {
        domain_edge_um: 300.0,
        oxygen_voxel_um: 15.0,
        oxygen_diffusion_um2_per_min: 2.0e3,
        oxygen_decay_per_min: 0.002,
        cycle_rate_per_min: 0.004,
        volume_growth_rate_per_min: 0.02,
        initial_cells: 120,
        ..Default::default()
    }
}

fn simulate() -> (Snapshot, Vec<f64>, Vec<[f64; 3]>) {
    let mut m = AgentModel::new(params(), 42).unwrap();
    let mut rows = Vec::new();
    m.run_until(300.0, &mut |m: &AgentModel| rows.push(m.trajectory_row()));
    m.apply_fraction(&|p: [f64; 3]| 1.0 + p[0] / 150.0, 0.3, 0.03);
    let course = DoseRateCourse {
        start_min: 350.0,
        decay_per_day: std::f64::consts::LN_2 * 24.0 / 3.0,
        alpha_per_gy: 0.3,
        beta_per_gy2: 0.03,
        repair_per_day: repair_rate_per_day(1.5),
        total_dose_gy_at: &|p: [f64; 3]| 1.0 + p[1] / 100.0,
    };
    let mut tally = DoseRateTally::default();
    m.run_until_with_dose_rate(600.0, Some(&course), &mut tally, &mut |m, _| {
        rows.push(m.trajectory_row())
    })
    .unwrap();
    assert!(tally.killed > 0, "the dose rate killed no cell: {tally:?}");
    let mut flat: Vec<f64> = rows
        .iter()
        .flat_map(|r| {
            [
                r.time_min,
                r.live as f64,
                r.apoptotic as f64,
                r.necrotic as f64,
                r.necrosis_events as f64,
                r.radius_um,
                r.max_radius_um,
                r.hypoxic_fraction,
            ]
        })
        .collect();
    flat.extend([
        tally.steps as f64,
        tally.exposed_cell_steps as f64,
        tally.killed as f64,
    ]);
    let s = m.snapshot();
    let vols = m.volumes_um3().iter().map(|&v| [v, 0.0, 0.0]).collect();
    (s, flat, vols)
}

/// All state after 600 min (divisions, deaths, lysis, a fraction, mechanics and oxygen)
/// is bitwise identical with rayon pools of 1 and 3 threads.
#[test]
fn one_and_three_threads_give_identical_state() {
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(simulate)
    };
    let (s1, r1, v1) = run(1);
    let (s3, r3, v3) = run(3);
    assert!(
        s1.ids.len() > 120,
        "the spheroid did not grow: {}",
        s1.ids.len()
    );
    assert!(s1
        .states
        .iter()
        .any(|s| *s != pedisim_growth::agents::CellState::Live));
    let o = &s1.oxygen;
    assert_eq!(o.values_mmhg.len(), o.dims[0] * o.dims[1]);
    assert_eq!(o.dims, [20, 20]);
    assert!((o.spacing_um - 15.0).abs() < 1e-12 && (o.origin_um[2] - 157.5).abs() < 1e-9);
    assert!(o
        .values_mmhg
        .iter()
        .all(|&p| (0.0..=38.0 + 1e-9).contains(&p)));
    assert_eq!(s1.ids, s3.ids);
    assert_eq!(s1.states, s3.states);
    assert_eq!(s1.doomed, s3.doomed);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let pbits = |v: &[[f64; 3]]| {
        v.iter()
            .flat_map(|x| x.map(f64::to_bits))
            .collect::<Vec<_>>()
    };
    assert_eq!(pbits(&s1.positions_um), pbits(&s3.positions_um));
    assert_eq!(bits(&s1.radii_um), bits(&s3.radii_um));
    assert_eq!(bits(&s1.oxygen.values_mmhg), bits(&s3.oxygen.values_mmhg));
    assert_eq!(bits(&r1), bits(&r3));
    assert_eq!(pbits(&v1), pbits(&v3));
}

/// A uniform dose d kills each exposed live cell with probability 1 - S(d): the killed
/// count lies within 3 binomial standard deviations of n (1 - S). Checked for both death
/// modes and two doses on a 2000-cell spheroid.
#[test]
fn uniform_dose_kills_the_lq_fraction() {
    for (mode, dose) in [
        (RadiationDeath::MitoticCatastrophe, 2.0),
        (RadiationDeath::Apoptosis, 5.0),
    ] {
        let p = AgentParams {
            domain_edge_um: 600.0,
            oxygen_voxel_um: 30.0,
            initial_cells: 2000,
            radiation_death: mode,
            ..Default::default()
        };
        let mut m = AgentModel::new(p, 3).unwrap();
        let (alpha, beta) = (0.3, 0.03);
        let out = m.apply_fraction(&|_| dose, alpha, beta);
        let n = out.exposed as f64;
        let q = 1.0 - lq_survival(dose, alpha, beta);
        let sigma = (n * q * (1.0 - q)).sqrt();
        eprintln!(
            "{mode:?} d = {dose} Gy: {} of {} killed, expected {:.1} +- {sigma:.1}",
            out.killed,
            out.exposed,
            n * q
        );
        assert_eq!(out.exposed, 2000);
        assert!((out.killed as f64 - n * q).abs() < 3.0 * sigma);
        let row = m.trajectory_row();
        match mode {
            RadiationDeath::MitoticCatastrophe => {
                assert_eq!(m.doomed().iter().filter(|&&d| d).count(), out.killed);
                assert_eq!(row.live, 2000);
            }
            RadiationDeath::Apoptosis => {
                assert_eq!(row.apoptotic, out.killed);
                assert_eq!(row.live, 2000 - out.killed);
            }
        }
        // A second fraction exposes only the cells not yet lethally hit.
        let out2 = m.apply_fraction(&|_| dose, alpha, beta);
        assert_eq!(out2.exposed, 2000 - out.killed);
    }
}

/// Cells doomed by mitotic catastrophe die at their next division attempt: after a
/// lethal dose to every cell (S ~ 1e-20) no cell divides, and live cells turn apoptotic
/// at the division rate.
#[test]
fn doomed_cells_die_at_division() {
    let p = AgentParams {
        domain_edge_um: 300.0,
        oxygen_voxel_um: 20.0,
        initial_cells: 100,
        cycle_rate_per_min: 0.01,
        apoptosis_rate_per_min: 0.0,
        ..Default::default()
    };
    let mut m = AgentModel::new(p, 5).unwrap();
    let out = m.apply_fraction(&|_| 20.0, 1.0, 0.1);
    assert_eq!(out.killed, 100);
    m.run_until(600.0, &mut |_| {});
    let row = m.trajectory_row();
    assert!(m.ids().iter().all(|&id| id < 100), "a doomed cell divided");
    assert!(row.live < 30, "{row:?}");
}
