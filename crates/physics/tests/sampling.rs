//! Validation of the photon interaction samplers against their analytic differential cross
//! sections (chi-square tests on the distribution of cos theta), and of the integrated
//! incoherent cross section against NIST XCOM.
//!
//! Each chi-square test uses 60 equal bins in cos theta and a fixed seed; the threshold is
//! the 99.9 % quantile of the chi-square distribution with 59 degrees of freedom (95.0),
//! so a correct sampler fails with probability 1e-3 for a random seed, and never for
//! the fixed one once it passes.

use pedisim_core::constants::{CLASSICAL_ELECTRON_RADIUS_CM, HC_KEV_ANGSTROM};
use pedisim_core::rng::{domain, StreamRng};
use pedisim_physics::elements::{element, Process};
use pedisim_physics::material::MaterialDb;
use pedisim_physics::photon::{klein_nishina_dcs, PhotonTables};
use std::f64::consts::PI;

const BINS: usize = 60;
const CHI2_999_59DOF: f64 = 95.0;

/// Expected fraction of samples per bin of cos theta for an (unnormalised) density.
fn expected(pdf: impl Fn(f64) -> f64) -> Vec<f64> {
    let sub = 200;
    let mut e = vec![0.0; BINS];
    for (b, eb) in e.iter_mut().enumerate() {
        let lo = -1.0 + 2.0 * b as f64 / BINS as f64;
        let h = 2.0 / BINS as f64 / sub as f64;
        // Midpoint rule on a fine sub-grid.
        *eb = (0..sub).map(|k| pdf(lo + (k as f64 + 0.5) * h) * h).sum();
    }
    let tot: f64 = e.iter().sum();
    e.iter().map(|x| x / tot).collect()
}

fn chi2(samples: &[f64], p: &[f64]) -> f64 {
    let mut h = vec![0usize; BINS];
    for &c in samples {
        let b = (((c + 1.0) * 0.5 * BINS as f64) as usize).min(BINS - 1);
        h[b] += 1;
    }
    let n = samples.len() as f64;
    h.iter()
        .zip(p)
        .filter(|(_, &pb)| pb * n > 5.0)
        .map(|(&o, &pb)| (o as f64 - n * pb).powi(2) / (n * pb))
        .sum()
}

fn water_tables() -> PhotonTables {
    let db = MaterialDb::builtin().unwrap();
    PhotonTables::new(&[db.get("water").unwrap().clone()]).unwrap()
}

#[test]
fn klein_nishina_free_electron_limit() {
    for (k, e) in [0.03, 0.1405, 0.511, 2.0, 10.0].iter().enumerate() {
        let mut r = StreamRng::new(101, domain::SETUP, k as u64);
        let s: Vec<f64> = (0..200_000)
            .map(|_| {
                let (e1, c) = PhotonTables::sample_klein_nishina(*e, &mut r);
                // Compton kinematics must hold exactly.
                let want = e / (1.0 + e / 0.51099895 * (1.0 - c));
                assert!((e1 - want).abs() < 1e-12 * e);
                c
            })
            .collect();
        let x2 = chi2(&s, &expected(|c| klein_nishina_dcs(*e, c)));
        println!("chi2 | Klein-Nishina free electron | {e} MeV | {x2:.1} / 59 dof");
        assert!(x2 < CHI2_999_59DOF, "KN at {e} MeV: chi2 = {x2}");
    }
}

#[test]
fn compton_with_binding_matches_kn_times_s() {
    let t = water_tables();
    for (k, e) in [0.02, 0.05, 0.1405, 0.5].iter().enumerate() {
        let mut r = StreamRng::new(202, domain::SETUP, k as u64);
        let s: Vec<f64> = (0..200_000)
            .map(|_| t.sample_compton(0, *e, t.grid().index(*e), &mut r).1)
            .collect();
        let pdf = |c: f64| {
            let x = e * 1e3 * ((1.0 - c) * 0.5).sqrt() / HC_KEV_ANGSTROM;
            klein_nishina_dcs(*e, c) * t.incoherent_scattering_fraction(0, x)
        };
        let x2 = chi2(&s, &expected(pdf));
        println!("chi2 | Compton KN x S(x) water | {e} MeV | {x2:.1} / 59 dof");
        assert!(x2 < CHI2_999_59DOF, "Compton+S at {e} MeV: chi2 = {x2}");
        // And the binding correction is visible: at 20 keV forward scattering is suppressed
        // relative to free Klein-Nishina.
        if *e == 0.02 {
            let x2_free = chi2(&s, &expected(|c| klein_nishina_dcs(*e, c)));
            println!("chi2 | Compton-with-binding samples vs free KN (must fail) | {e} MeV | {x2_free:.0} / 59 dof");
            assert!(
                x2_free > 10.0 * CHI2_999_59DOF,
                "binding not visible: {x2_free}"
            );
        }
    }
}

#[test]
fn rayleigh_matches_thomson_times_f_squared() {
    let t = water_tables();
    for (k, e) in [0.015, 0.03, 0.1405].iter().enumerate() {
        let mut r = StreamRng::new(303, domain::SETUP, k as u64);
        let s: Vec<f64> = (0..200_000)
            .map(|_| t.sample_rayleigh(0, *e, &mut r))
            .collect();
        let x_max = e * 1e3 / HC_KEV_ANGSTROM;
        let q_max = x_max * x_max;
        // d sigma / d cos ~ (1 + cos^2) dC/dq, with dC/dq = F^2 (the sampler's own tabulation
        // of F^2, differentiated numerically from its cumulative integral).
        let pdf = |c: f64| {
            let q = (1.0 - c) * 0.5 * q_max;
            let dq = 1e-4 * q_max;
            let f2 = (t.cumulative_f2(0, q + dq) - t.cumulative_f2(0, (q - dq).max(0.0)))
                / (q + dq - (q - dq).max(0.0));
            (1.0 + c * c) * f2
        };
        let x2 = chi2(&s, &expected(pdf));
        println!("chi2 | Rayleigh (1+cos2) F2(x) water | {e} MeV | {x2:.1} / 59 dof");
        assert!(x2 < CHI2_999_59DOF, "Rayleigh at {e} MeV: chi2 = {x2}");
    }
}

/// The incoherent cross section obtained by integrating Klein-Nishina x S(x, Z) over angle
/// equals XCOM's incoherent cross section (which Hubbell computed the same way) within 2 %.
#[test]
fn integrated_incoherent_cross_section_matches_xcom() {
    let db = MaterialDb::builtin().unwrap();
    let oxygen = pedisim_physics::material::MaterialSpec {
        description: None,
        density_g_cm3: 1.0,
        mean_excitation_ev: None,
        source: None,
        composition: [("O".to_string(), 1.0)].into_iter().collect(),
    };
    let mut db2 = db.clone();
    db2.add("oxygen", &oxygen).unwrap();
    let t = PhotonTables::new(&[db2.get("oxygen").unwrap().clone()]).unwrap();
    let o = element(8).unwrap();
    for e in [0.01, 0.03, 0.1, 1.0] {
        let k = e / 0.51099895;
        let n = 20_000;
        let mut sigma = 0.0;
        for i in 0..n {
            let c = -1.0 + 2.0 * (i as f64 + 0.5) / n as f64;
            let r = 1.0 / (1.0 + k * (1.0 - c));
            let dcs =
                0.5 * CLASSICAL_ELECTRON_RADIUS_CM.powi(2) * r * r * (r + 1.0 / r - (1.0 - c * c));
            let x = e * 1e3 * ((1.0 - c) * 0.5).sqrt() / HC_KEV_ANGSTROM;
            sigma += 2.0 * PI * dcs * 8.0 * t.incoherent_scattering_fraction(0, x) * 2.0 / n as f64;
        }
        let sigma_barn = sigma * 1e24;
        let xcom = o.cross_section_barn(Process::Incoherent, e);
        println!("incoherent sigma oxygen | {e} MeV | XCOM {xcom:.5} b | KN x S integrated {sigma_barn:.5} b | {:+.2} %", 100.0 * (sigma_barn / xcom - 1.0));
        assert!(
            (sigma_barn - xcom).abs() / xcom < 0.02,
            "{e} MeV: KN x S gives {sigma_barn} b, XCOM {xcom} b"
        );
    }
}
