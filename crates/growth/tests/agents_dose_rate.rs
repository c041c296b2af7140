//! Radiopharmaceutical therapy in the agent model: under a uniform decaying dose rate,
//! with every other cause of death and division switched off, the surviving fraction of
//! the initially live cells is binomial with the probability `exp(-L(T))` of the exact LQ
//! log kill with repair (`DecayingDoseRate`, Dale 1985). docs/validation.md §8.

use pedisim_growth::agents::{
    AgentModel, AgentParams, CellState, DoseRateCourse, DoseRateTally, RadiationDeath,
};
use pedisim_growth::radiobiology::{lea_catcheside_exponential, repair_rate_per_day};

/// A 2000-cell spheroid that neither divides nor dies of anything but radiation.
fn static_spheroid(mode: RadiationDeath, seed: u64) -> AgentModel {
    let p = AgentParams {
        domain_edge_um: 600.0,
        oxygen_voxel_um: 30.0,
        initial_cells: 2000,
        cycle_rate_per_min: 0.0,
        apoptosis_rate_per_min: 0.0,
        necrosis_max_rate_per_min: 0.0,
        // Apoptotic cells stay (and are counted) to the end.
        apoptosis_duration_min: 1.0e6,
        radiation_death: mode,
        ..Default::default()
    };
    AgentModel::new(p, seed).unwrap()
}

/// Cells live and not lethally damaged.
fn survivors(m: &AgentModel) -> usize {
    m.states()
        .iter()
        .zip(m.doomed())
        .filter(|(s, d)| **s == CellState::Live && !**d)
        .count()
}

#[test]
fn uniform_decaying_dose_rate_leaves_the_lq_surviving_fraction() {
    // Effective half-life 2 h, repair half-time 1.5 h: G = lambda / (lambda + mu) = 0.43,
    // so the quadratic term with repair differs clearly from the acute one.
    let (alpha, beta) = (0.15, 0.05);
    let lambda = std::f64::consts::LN_2 * 24.0 / 2.0;
    let mu = repair_rate_per_day(1.5);
    // (death mode, total dose Gy, administration min, end min, seed)
    for (mode, dose, start, end, seed) in [
        (RadiationDeath::Apoptosis, 5.0, 0.0, 1440.0, 11),
        (RadiationDeath::MitoticCatastrophe, 3.5, 303.0, 1440.0, 12),
    ] {
        let mut m = static_spheroid(mode, seed);
        let course = DoseRateCourse {
            start_min: start,
            decay_per_day: lambda,
            alpha_per_gy: alpha,
            beta_per_gy2: beta,
            repair_per_day: mu,
            total_dose_gy_at: &|_| dose,
        };
        let mut tally = DoseRateTally::default();
        let mut rows = 0;
        m.run_until_with_dose_rate(end, Some(&course), &mut tally, &mut |_, _| rows += 1)
            .unwrap();
        assert_eq!(rows, (end / 60.0) as usize);
        let n = 2000.0;
        let s = survivors(&m) as f64;
        // Reference: the exact cumulative log kill at the end (finite delivery) ...
        let log_kill = course.log_kill(dose, end);
        let p = (-log_kill).exp();
        let sigma = (n * p * (1.0 - p)).sqrt();
        // ... close to complete delivery, alpha D + beta G D^2 (Dale 1985).
        let g = lea_catcheside_exponential(lambda, mu, f64::INFINITY);
        let complete = alpha * dose + beta * g * dose * dose;
        let acute = (-(alpha * dose + beta * dose * dose)).exp();
        eprintln!(
            "{mode:?} D = {dose} Gy from {start} min to {end} min: {s} of {n} survive, \
             expected {:.1} +- {sigma:.1} (L = {log_kill:.6}, complete delivery {complete:.6}, \
             G = {g:.4}); without repair {:.1}",
            n * p,
            n * acute
        );
        assert!(
            (s - n * p).abs() < 3.0 * sigma,
            "{s} vs {} +- {sigma}",
            n * p
        );
        // The test discriminates: the acute LQ survival (no repair) is far outside.
        assert!((n * acute - n * p).abs() > 8.0 * sigma);
        assert!(log_kill < complete && log_kill > 0.99 * complete);
        // Every cell is accounted for: survivors and kills; only radiation killed.
        assert_eq!(tally.killed as f64 + s, n);
        let dead = m.states().iter().filter(|s| **s != CellState::Live).count();
        let doomed = m.doomed().iter().filter(|d| **d).count();
        match mode {
            RadiationDeath::Apoptosis => assert_eq!(dead as u64, tally.killed),
            RadiationDeath::MitoticCatastrophe => {
                assert_eq!((dead, doomed as u64), (0, tally.killed))
            }
        }
        assert_eq!(m.cell_count(), 2000, "no division, no removal");
        // No dose before the administration: the steps with dose delivered.
        let steps = ((end - start) / 6.0).ceil() as u64;
        assert_eq!(tally.steps, steps);
    }
}
