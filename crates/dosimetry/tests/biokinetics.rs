//! Time-integrated activity of biokinetic models: closed forms, the bladder voiding model
//! against a numerical integration of its differential equations, errors, the library.

use pedisim_dosimetry::biokinetics::{
    BiokineticModel, ExponentialComponent, SourceOrgan, UrinaryExcretion, Voiding,
};
use pedisim_dosimetry::{DosimetryError, Library};
use std::f64::consts::LN_2;

fn comp(fraction: f64, half_time_h: f64) -> ExponentialComponent {
    ExponentialComponent {
        fraction,
        half_time_h,
    }
}

fn organ(region: &str, fraction: f64, components: Vec<ExponentialComponent>) -> SourceOrgan {
    SourceOrgan {
        region: region.into(),
        fraction,
        uptake_half_time_h: None,
        components,
        source: "test fixture".into(),
    }
}

#[test]
fn mono_exponential_is_f_teff_over_ln2() {
    // Ã/A0 = f T_eff / ln 2 with T_eff = T_p T_b / (T_p + T_b).
    for &(tp, tb, f) in &[
        (6.015, 3.0, 0.4),
        (1.8295, f64::INFINITY, 0.08),
        (159.5, 50.0, 0.02),
    ] {
        let m = BiokineticModel {
            sources: vec![organ("Liver", f, vec![comp(1.0, tb)])],
            urinary_bladder: None,
        };
        let teff = if tb.is_infinite() {
            tp
        } else {
            tp * tb / (tp + tb)
        };
        let r = m.time_integrated_activity("fixture", tp, None).unwrap();
        let expected = f * teff / LN_2;
        assert!(
            (r[0].tia_h - expected).abs() <= 1e-12 * expected,
            "{} {expected}",
            r[0].tia_h
        );
        // Truncated at t: f T_eff/ln2 (1 - exp(-ln2 t / T_eff)).
        let t = 4.0;
        let r = m.time_integrated_activity("fixture", tp, Some(t)).unwrap();
        let expected_t = expected * (1.0 - (-LN_2 * t / teff).exp());
        assert!(
            (r[0].tia_h - expected_t).abs() <= 1e-12 * expected,
            "{} {expected_t}",
            r[0].tia_h
        );
    }
}

fn bladder_model(first_void_h: f64, interval_h: f64) -> BiokineticModel {
    BiokineticModel {
        sources: vec![organ(
            "Other",
            0.7,
            vec![comp(0.5, 1.5), comp(0.5, f64::INFINITY)],
        )],
        urinary_bladder: Some(UrinaryExcretion {
            fraction: 0.3,
            components: vec![comp(0.25, 0.2), comp(0.6, 1.5), comp(0.15, 0.0)],
            voiding: Voiding {
                first_void_h,
                interval_h,
            },
            source: "test fixture".into(),
        }),
    }
}

/// Bladder contents by integrating dq/dt = inflow(t) - λp q with RK4, emptying at voids,
/// and the time integral of q by the same steps (immediate excretion as an initial value).
fn bladder_numerical(lp: f64, first: f64, interval: f64, t_end: f64, dt: f64) -> f64 {
    let (f, comps) = (0.3, [(0.25, LN_2 / 0.2), (0.6, LN_2 / 1.5)]);
    let inflow = |t: f64| {
        comps
            .iter()
            .map(|&(a, mu)| f * a * mu * (-mu * t).exp())
            .sum::<f64>()
    };
    let mut q = f * 0.15; // immediate component
    let mut integral = 0.0;
    let mut t = 0.0;
    let mut next_void = first;
    while t < t_end - 1e-12 {
        let h = dt.min(next_void - t).min(t_end - t);
        // RK4 on (q, ∫q)
        let fq = |t: f64, q: f64| inflow(t) - lp * q;
        let k1 = fq(t, q);
        let k2 = fq(t + h / 2.0, q + h / 2.0 * k1);
        let k3 = fq(t + h / 2.0, q + h / 2.0 * k2);
        let k4 = fq(t + h, q + h * k3);
        let i1 = q;
        let i2 = q + h / 2.0 * k1;
        let i3 = q + h / 2.0 * k2;
        let i4 = q + h * k3;
        integral += h / 6.0 * (i1 + 2.0 * i2 + 2.0 * i3 + i4);
        q += h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
        t += h;
        if (t - next_void).abs() < 1e-12 {
            q = 0.0;
            next_void += interval;
        }
    }
    integral
}

#[test]
fn bladder_voiding_model_matches_numerical_integration() {
    for &(tp, first, interval) in &[(6.015, 0.5, 3.5), (1.8295, 1.0, 2.0), (13.27, 3.5, 3.5)] {
        let m = bladder_model(first, interval);
        let lp = LN_2 / tp;
        let t_end = 60.0 * tp;
        let numerical = bladder_numerical(lp, first, interval, t_end, 0.005);
        let r = m.time_integrated_activity("fixture", tp, None).unwrap();
        let ub = r.iter().find(|s| s.region == "UB-cont").unwrap().tia_h;
        assert!(
            (ub - numerical).abs() < 1e-7 * ub.max(1e-3),
            "T_p {tp}: analytic {ub}, numerical {numerical}"
        );
        // Truncated integral, ending inside an interval.
        let t = first + 2.3 * interval;
        let numerical_t = bladder_numerical(lp, first, interval, t, 0.005);
        let r = m.time_integrated_activity("fixture", tp, Some(t)).unwrap();
        let ub_t = r.iter().find(|s| s.region == "UB-cont").unwrap().tia_h;
        assert!(
            (ub_t - numerical_t).abs() < 1e-7 * ub.max(1e-3),
            "T_p {tp}: analytic {ub_t}, numerical {numerical_t}"
        );
    }
}

#[test]
fn more_frequent_voiding_lowers_the_bladder_tia() {
    let tp = 6.015;
    let get = |interval: f64| {
        bladder_model(interval, interval)
            .time_integrated_activity("fixture", tp, None)
            .unwrap()
            .into_iter()
            .find(|s| s.region == "UB-cont")
            .unwrap()
            .tia_h
    };
    assert!(get(2.0) < get(3.5) && get(3.5) < get(4.8));
}

#[test]
fn model_errors_name_the_radiopharmaceutical_and_organ() {
    let too_much = BiokineticModel {
        sources: vec![
            organ("Liver", 0.7, vec![comp(1.0, 2.0)]),
            organ("Kidneys", 0.4, vec![comp(1.0, 2.0)]),
        ],
        urinary_bladder: None,
    };
    let e = too_much
        .time_integrated_activity("Tc-99m-test", 6.0, None)
        .unwrap_err();
    assert!(matches!(e, DosimetryError::FractionsExceedOne { .. }));
    let msg = e.to_string();
    assert!(msg.contains("Tc-99m-test") && msg.contains("1.1"), "{msg}");

    let unknown = BiokineticModel {
        sources: vec![organ("liver", 0.5, vec![comp(1.0, 2.0)])],
        urinary_bladder: None,
    };
    let msg = unknown.validate("X-1").unwrap_err().to_string();
    assert!(msg.contains("X-1") && msg.contains("'liver'"), "{msg}");

    let bad_sum = BiokineticModel {
        sources: vec![organ("Spleen", 0.5, vec![comp(0.5, 2.0), comp(0.3, 20.0)])],
        urinary_bladder: None,
    };
    let msg = bad_sum.validate("X-2").unwrap_err().to_string();
    assert!(
        msg.contains("X-2") && msg.contains("Spleen") && msg.contains("0.8"),
        "{msg}"
    );

    let zero_half_time = BiokineticModel {
        sources: vec![organ("Brain", 0.5, vec![comp(1.0, 0.0)])],
        urinary_bladder: None,
    };
    let msg = zero_half_time.validate("X-3").unwrap_err().to_string();
    assert!(msg.contains("Brain") && msg.contains("half-time"), "{msg}");

    let mut dup = bladder_model(1.0, 3.5);
    dup.sources
        .push(organ("UB-cont", 0.1, vec![comp(1.0, 1.0)]));
    let msg = dup.validate("X-4").unwrap_err().to_string();
    assert!(
        msg.contains("UB-cont") && msg.contains("more than once"),
        "{msg}"
    );

    let mut bad_void = bladder_model(1.0, 3.5);
    bad_void
        .urinary_bladder
        .as_mut()
        .unwrap()
        .voiding
        .interval_h = 0.0;
    let msg = bad_void.validate("X-5").unwrap_err().to_string();
    assert!(
        msg.contains("X-5") && msg.contains("voiding interval"),
        "{msg}"
    );
}

#[test]
fn builtin_library_parses_and_reports_missing_models() {
    let lib = Library::builtin().unwrap();
    for name in [
        "Tc-99m-MDP",
        "99mTc-DMSA",
        "tc-99m-mag3",
        "18F-FDG",
        "I-123-MIBG",
        "I-131-MIBG",
        "Lu-177-DOTATATE",
    ] {
        let r = lib.get(name).unwrap();
        assert!(r.physical_half_life_h > 0.0);
        match r.time_integrated_activity(None) {
            Ok(t) => assert!(!t.is_empty()),
            Err(e) => {
                assert!(matches!(e, DosimetryError::ModelUnavailable { .. }));
                assert!(e.to_string().contains(&r.name), "{e}");
                assert!(r.missing.is_some());
            }
        }
    }
    let e = lib.get("Tc-99m-unknown").unwrap_err().to_string();
    assert!(
        e.contains("Tc-99m-unknown") && e.contains("Tc-99m-DMSA"),
        "{e}"
    );
    // ICRP 107 half-lives (hours).
    assert_eq!(lib.get("F-18-FDG").unwrap().physical_half_life_h, 1.8295);
    assert_eq!(lib.get("Tc-99m-MAG3").unwrap().physical_half_life_h, 6.015);
}

#[test]
fn user_library_file_with_a_model() {
    let text = r#"
format = "pedisim-radiopharmaceuticals/1"
[[radiopharmaceutical]]
name = "Tc-99m-fixture"
nuclide = "Tc-99m"
physical_half_life_h = 6.015
half_life_source = "ICRP 107"
  [[radiopharmaceutical.model.source]]
  region = "Kidneys"
  fraction = 0.4
  uptake_half_time_h = 1.0
  source = "test fixture"
    [[radiopharmaceutical.model.source.component]]
    fraction = 1.0
    half_time_h = inf
  [[radiopharmaceutical.model.source]]
  region = "Other"
  fraction = 0.6
  source = "test fixture"
    [[radiopharmaceutical.model.source.component]]
    fraction = 1.0
    half_time_h = 2.0
  [radiopharmaceutical.model.urinary_bladder]
  fraction = 0.6
  source = "test fixture"
  voiding = { first_void_h = 3.5, interval_h = 3.5 }
    [[radiopharmaceutical.model.urinary_bladder.component]]
    fraction = 1.0
    half_time_h = 2.0
"#;
    let mut lib = Library::builtin().unwrap();
    lib.extend(Library::from_toml_str(text, "fixture.toml").unwrap())
        .unwrap();
    let t = lib
        .get("tc-99m-fixture")
        .unwrap()
        .time_integrated_activity(None)
        .unwrap();
    let names: Vec<&str> = t.iter().map(|s| s.region.as_str()).collect();
    assert_eq!(names, ["Kidneys", "Other", "UB-cont"]);
    // Kidneys: first-order uptake (1 h) and no biological removal:
    // F λu / ((λp)(λu + λp)).
    let (lu, lp) = (LN_2, LN_2 / 6.015);
    let k = 0.4 * lu / (lp * (lu + lp));
    assert!((t[0].tia_h - k).abs() < 1e-12 * k);
    // A bad file names the file.
    let e = Library::from_toml_str("format = \"other\"", "bad.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.toml"), "{e}");
    let over = text.replace("fraction = 0.6\n  source", "fraction = 0.7\n  source");
    let e = Library::from_toml_str(&over, "over.toml").unwrap_err();
    assert!(
        matches!(e, DosimetryError::FractionsExceedOne { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("Tc-99m-fixture"));
}
