//! Trapezoid plus tail against an analytic curve sampled at 4 time points, tail fits and
//! their fallbacks, errors naming the organ and time point, voxel series.

use pedisim_dosimetry::measured::{
    integrate_time_activity, integrate_voxel_series, FitFailure, InitialSegment,
    IntegrationOptions, TailModel, TailUsed,
};
use pedisim_dosimetry::DosimetryError;
use std::f64::consts::LN_2;

const TP_LU177_H: f64 = 159.528;
const TIMES_H: [f64; 4] = [4.0, 24.0, 72.0, 168.0];

fn curve(a0: f64, teff: f64) -> impl Fn(f64) -> f64 {
    move |t| a0 * (-LN_2 / teff * t).exp()
}

#[test]
fn trapezoid_and_fitted_tail_have_the_expected_discretisation_error() {
    // Kidney-like curve: 300 MBq at t = 0, effective half-life 40 h (Lu-177).
    let (a0, teff) = (300.0, 40.0);
    let a = curve(a0, teff);
    let l = LN_2 / teff;
    let act: Vec<f64> = TIMES_H.iter().map(|&t| a(t)).collect();
    let opts = IntegrationOptions {
        initial: InitialSegment::ConstantFromFirst,
        tail: TailModel::FittedMonoExponential { points: 2 },
        on_fit_failure: FitFailure::Error,
    };
    let r = integrate_time_activity("Kidneys", &TIMES_H, &act, TP_LU177_H, &opts).unwrap();
    let exact = a0 / l;
    // Expected error: initial constant segment and the trapezoids overestimate a convex
    // decreasing exponential; the fitted tail of a mono-exponential is exact.
    let mut expected_error = act[0] * TIMES_H[0] - (a0 - act[0]) / l;
    for i in 1..4 {
        let h = TIMES_H[i] - TIMES_H[i - 1];
        expected_error += h * (act[i] + act[i - 1]) / 2.0 - (act[i - 1] - act[i]) / l;
    }
    assert_eq!(r.tail_used, TailUsed::Fitted);
    assert!((r.tail_half_life_h - teff).abs() < 1e-9 * teff);
    assert!((r.tail_mbq_h - act[3] / l).abs() < 1e-9 * r.tail_mbq_h);
    let error = r.tia_mbq_h - exact;
    assert!(error > 0.0);
    assert!(
        (error - expected_error).abs() < 1e-9 * exact,
        "{error} vs {expected_error}"
    );
    // With 4 points over 168 h the overestimate is several per cent for a 40 h curve.
    println!("relative discretisation error {:.4}", error / exact);
    assert!(error / exact > 0.01 && error / exact < 0.2);

    // Linear rise from 0 instead: the first segment is A1 t1 / 2.
    let lin = IntegrationOptions {
        initial: InitialSegment::LinearFromZero,
        ..opts
    };
    let r2 = integrate_time_activity("Kidneys", &TIMES_H, &act, TP_LU177_H, &lin).unwrap();
    assert!((r.tia_mbq_h - r2.tia_mbq_h - act[0] * TIMES_H[0] / 2.0).abs() < 1e-9 * exact);

    // A fit over the last 3 points of a mono-exponential is exact too.
    let three = IntegrationOptions {
        tail: TailModel::FittedMonoExponential { points: 3 },
        ..opts
    };
    let r3 = integrate_time_activity("Kidneys", &TIMES_H, &act, TP_LU177_H, &three).unwrap();
    assert!((r3.tia_mbq_h - r.tia_mbq_h).abs() < 1e-9 * exact);

    // Physical-decay tail: A_n / λp, larger.
    let phys = IntegrationOptions {
        tail: TailModel::PhysicalDecay,
        ..opts
    };
    let rp = integrate_time_activity("Kidneys", &TIMES_H, &act, TP_LU177_H, &phys).unwrap();
    assert_eq!(rp.tail_used, TailUsed::Physical);
    assert!((rp.tail_mbq_h - act[3] * TP_LU177_H / LN_2).abs() < 1e-9 * rp.tail_mbq_h);
}

#[test]
fn fit_slower_than_physical_decay_falls_back() {
    // Activity still rising at the end (late uptake): the fit would give a negative
    // decay rate; physical decay is used.
    let act = [10.0, 20.0, 25.0, 26.0];
    let r = integrate_time_activity(
        "Tumour",
        &TIMES_H,
        &act,
        TP_LU177_H,
        &IntegrationOptions::default(),
    )
    .unwrap();
    assert_eq!(r.tail_used, TailUsed::PhysicalBecauseFitTooSlow);
    assert!((r.tail_half_life_h - TP_LU177_H).abs() < 1e-9);
    // Decreasing, but more slowly than physical decay.
    let slow = curve(100.0, 400.0);
    let act: Vec<f64> = TIMES_H.iter().map(|&t| slow(t)).collect();
    let r = integrate_time_activity(
        "Liver",
        &TIMES_H,
        &act,
        TP_LU177_H,
        &IntegrationOptions::default(),
    )
    .unwrap();
    assert_eq!(r.tail_used, TailUsed::PhysicalBecauseFitTooSlow);
}

#[test]
fn errors_name_the_organ_and_time_point() {
    let opts = IntegrationOptions::default();
    let e = integrate_time_activity(
        "Spleen",
        &[4.0, 24.0, 24.0, 96.0],
        &[1.0; 4],
        TP_LU177_H,
        &opts,
    )
    .unwrap_err();
    assert!(
        matches!(e, DosimetryError::TimePoints { index: 2, .. }),
        "{e}"
    );
    let m = e.to_string();
    assert!(
        m.contains("Spleen") && m.contains("time point 2") && m.contains("strictly increasing"),
        "{m}"
    );

    let e =
        integrate_time_activity("Spleen", &[0.0, 24.0], &[1.0; 2], TP_LU177_H, &opts).unwrap_err();
    assert!(e.to_string().contains("time point 0"), "{e}");

    let e = integrate_time_activity("Liver", &TIMES_H, &[5.0, 3.0, -1.0, 0.5], TP_LU177_H, &opts)
        .unwrap_err();
    assert!(matches!(
        e,
        DosimetryError::NegativeActivity { index: 2, .. }
    ));
    let m = e.to_string();
    assert!(
        m.contains("Liver") && m.contains("72 h") && m.contains("-1"),
        "{m}"
    );

    let e = integrate_time_activity(
        "Kidneys",
        &TIMES_H,
        &[5.0, 3.0, 1.0, 0.0],
        TP_LU177_H,
        &opts,
    )
    .unwrap_err();
    assert!(matches!(e, DosimetryError::TailFit { points: 2, .. }));
    let m = e.to_string();
    assert!(m.contains("Kidneys") && m.contains("168 h"), "{m}");
    let lenient = IntegrationOptions {
        on_fit_failure: FitFailure::PhysicalDecay,
        ..opts
    };
    let r = integrate_time_activity(
        "Kidneys",
        &TIMES_H,
        &[5.0, 3.0, 1.0, 0.0],
        TP_LU177_H,
        &lenient,
    )
    .unwrap();
    assert_eq!(r.tail_used, TailUsed::PhysicalBecauseFitFailed);
    assert_eq!(r.tail_mbq_h, 0.0);

    let e = integrate_time_activity("Kidneys", &TIMES_H, &[1.0; 3], TP_LU177_H, &opts).unwrap_err();
    assert!(
        e.to_string().contains("3 activities for 4 time points"),
        "{e}"
    );
    let five = IntegrationOptions {
        tail: TailModel::FittedMonoExponential { points: 5 },
        ..opts
    };
    assert!(integrate_time_activity("Kidneys", &TIMES_H, &[1.0; 4], TP_LU177_H, &five).is_err());
}

#[test]
fn voxel_series_integrate_each_voxel() {
    let a = curve(2.0, 30.0);
    let f: Vec<Vec<f64>> = TIMES_H
        .iter()
        .map(|&t| vec![a(t), 0.0, if t < 100.0 { 1.0 } else { 0.0 }])
        .collect();
    let frames: Vec<&[f64]> = f.iter().map(|v| v.as_slice()).collect();
    let opts = IntegrationOptions {
        on_fit_failure: FitFailure::PhysicalDecay,
        ..IntegrationOptions::default()
    };
    let r = integrate_voxel_series(&TIMES_H, &frames, TP_LU177_H, &opts).unwrap();
    let single: Vec<f64> = TIMES_H.iter().map(|&t| a(t)).collect();
    let one = integrate_time_activity("voxel 0", &TIMES_H, &single, TP_LU177_H, &opts).unwrap();
    assert!((r.tia_mbq_h[0] - one.tia_mbq_h).abs() < 1e-12 * one.tia_mbq_h);
    assert_eq!(r.tia_mbq_h[1], 0.0);
    assert_eq!(r.fit_failures, 2);
    // Errors name the voxel.
    let mut bad = f.clone();
    bad[1][2] = -0.1;
    let frames: Vec<&[f64]> = bad.iter().map(|v| v.as_slice()).collect();
    let e = integrate_voxel_series(&TIMES_H, &frames, TP_LU177_H, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("voxel 2") && e.contains("time point 1"), "{e}");
    let short = [
        f[0].as_slice(),
        f[1].as_slice(),
        &f[2][..2],
        f[3].as_slice(),
    ];
    let e = integrate_voxel_series(&TIMES_H, &short, TP_LU177_H, &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("frame 2"), "{e}");
}
