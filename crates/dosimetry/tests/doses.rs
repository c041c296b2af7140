//! MIRD organ doses and the remainder correction, ICRP 103 effective dose, DVHs.

use std::collections::HashMap;

use pedisim_dosimetry::dvh::cumulative_dvh;
use pedisim_dosimetry::effective::{
    effective_dose, RemainderPolicy, RemainderTissue, Sex, TargetDose, TissueMapping,
    ICRP103_TISSUE_WEIGHTS,
};
use pedisim_dosimetry::mird::{
    organ_doses, RemainderMasses, SMatrix, MGY_PER_MBQ_PER_H_GY_PER_DECAY,
};
use pedisim_dosimetry::regions::ICRP155_SOURCE_REGIONS;
use pedisim_dosimetry::SourceTia;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

fn tia(region: &str, tia_h: f64, uncertainty_h: f64) -> SourceTia {
    SourceTia {
        region: region.into(),
        tia_h,
        uncertainty_h,
    }
}

#[test]
fn mird_sum_and_uncertainty() {
    // 2 targets x 2 sources.
    let m = SMatrix::new(
        s(&["Liver", "Kidneys"]),
        s(&["Liver", "Kidneys"]),
        vec![2e-13, 1e-15, 2e-15, 5e-13],
        vec![0.01, 0.2, 0.1, 0.02],
    )
    .unwrap();
    let d = organ_doses(
        &m,
        &[tia("Liver", 1.5, 0.0), tia("Kidneys", 0.5, 0.05)],
        None,
    )
    .unwrap();
    let k = MGY_PER_MBQ_PER_H_GY_PER_DECAY;
    assert_eq!(k, 3.6e12);
    let liver = k * (1.5 * 2e-13 + 0.5 * 1e-15);
    assert!((d[0].dose_mgy_per_mbq - liver).abs() < 1e-12 * liver);
    let liver_var = (1.5 * 2e-13 * 0.01f64).powi(2)
        + (0.5 * 1e-15 * 0.2f64).powi(2)
        + (0.05 * 1e-15f64).powi(2);
    assert!(
        (d[0].uncertainty_mgy_per_mbq - k * liver_var.sqrt()).abs()
            < 1e-9 * d[0].uncertainty_mgy_per_mbq
    );
    // Missing source column.
    let e = organ_doses(&m, &[tia("Spleen", 1.0, 0.0)], None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Spleen"), "{e}");
    // Duplicate names and bad values are refused.
    assert!(SMatrix::new(s(&["A", "A"]), s(&["B"]), vec![0.0; 2], vec![0.0; 2]).is_err());
    let e = SMatrix::new(s(&["Liver"]), s(&["Brain"]), vec![-1.0], vec![0.0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("S(Liver <- Brain)"), "{e}");
}

#[test]
fn remainder_correction_recovers_the_other_column() {
    // A consistent body: sources Liver (1.8 kg), Kidneys (0.3 kg) and the rest (60 kg).
    // The total-body column is the mass-weighted mean of its parts, so the correction
    // must give back the rest's column exactly.
    let (ml, mk, mo) = (1.8, 0.3, 60.0);
    let targets = s(&["Liver", "Kidneys", "Brain"]);
    let liver = [3e-13, 4e-15, 1e-17];
    let kidneys = [4e-15, 9e-13, 2e-17];
    let other = [8e-16, 9e-16, 7e-16];
    let tb: Vec<f64> = (0..3)
        .map(|t| (ml * liver[t] + mk * kidneys[t] + mo * other[t]) / (ml + mk + mo))
        .collect();
    let mut values = Vec::new();
    for t in 0..3 {
        values.extend([liver[t], kidneys[t], tb[t]]);
    }
    let m = SMatrix::new(
        targets,
        s(&["Liver", "Kidneys", "Total-body"]),
        values,
        vec![0.001; 9],
    )
    .unwrap();
    let masses = RemainderMasses {
        total_body_kg: ml + mk + mo,
        sources_kg: [("Liver".to_string(), ml), ("Kidneys".to_string(), mk)]
            .into_iter()
            .collect(),
    };
    let col = m
        .remainder_column(
            &["Liver", "Kidneys"],
            &masses.sources_kg,
            masses.total_body_kg,
        )
        .unwrap();
    for t in 0..3 {
        assert!(
            (col[t].0 - other[t]).abs() < 1e-9 * other[t],
            "{t}: {} vs {}",
            col[t].0,
            other[t]
        );
        assert!(col[t].1 > 0.0);
    }
    let a = [
        tia("Liver", 0.2, 0.0),
        tia("Kidneys", 0.1, 0.0),
        tia("Other", 2.0, 0.0),
    ];
    let d = organ_doses(&m, &a, Some(&masses)).unwrap();
    for t in 0..3 {
        let expected = 3.6e12 * (0.2 * liver[t] + 0.1 * kidneys[t] + 2.0 * other[t]);
        assert!((d[t].dose_mgy_per_mbq - expected).abs() < 1e-8 * expected);
    }
    // Without masses or a total-body column: errors naming what is missing.
    let e = organ_doses(&m, &a, None).unwrap_err().to_string();
    assert!(e.contains("Other") && e.contains("masses"), "{e}");
    let no_tb = SMatrix::new(s(&["Liver"]), s(&["Liver"]), vec![1e-13], vec![0.0]).unwrap();
    let e = organ_doses(
        &no_tb,
        &[tia("Liver", 1.0, 0.0), tia("Other", 1.0, 0.0)],
        Some(&masses),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("Total-body"), "{e}");
    let mut heavy = masses.clone();
    heavy.sources_kg.insert("Liver".into(), 100.0);
    assert!(organ_doses(&m, &a, Some(&heavy)).is_err());
}

#[test]
fn tissue_weighting_factors_add_up_to_one() {
    let sum: f64 = ICRP103_TISSUE_WEIGHTS.iter().map(|(_, w)| w).sum();
    assert!((sum - 1.0).abs() < 1e-12, "{sum}");
    for sex in [Sex::Male, Sex::Female] {
        assert_eq!(
            RemainderTissue::ALL
                .iter()
                .filter(|r| r.applies_to(sex))
                .count(),
            13
        );
    }
}

fn uniform(dose: f64, unc: f64) -> HashMap<String, TargetDose> {
    ICRP155_SOURCE_REGIONS
        .iter()
        .map(|&n| {
            (
                n.to_string(),
                TargetDose {
                    dose_mgy_per_mbq: dose,
                    uncertainty_mgy_per_mbq: unc,
                    mass_kg: 0.1,
                },
            )
        })
        .collect()
}

#[test]
fn effective_dose_of_a_uniform_dose_is_that_dose() {
    let map = TissueMapping::icrp155_regions();
    let e = effective_dose(
        &uniform(0.02, 0.0),
        &uniform(0.02, 0.0),
        &map,
        RemainderPolicy::Strict,
    )
    .unwrap();
    assert!(
        (e.effective_msv_per_mbq - 0.02).abs() < 1e-15,
        "{}",
        e.effective_msv_per_mbq
    );
    assert!(e.missing_remainder.is_empty());
    assert_eq!(e.uncertainty_msv_per_mbq, 0.0);
    // Different uniform doses in the two phantoms: the mean.
    let e = effective_dose(
        &uniform(0.01, 0.0),
        &uniform(0.03, 0.0),
        &map,
        RemainderPolicy::Strict,
    )
    .unwrap();
    assert!((e.effective_msv_per_mbq - 0.02).abs() < 1e-15);
}

#[test]
fn effective_dose_weights_and_uncertainty() {
    let map = TissueMapping::icrp155_regions();
    // Dose only in the thyroid of both phantoms: E = 0.04 D.
    let mut male = uniform(0.0, 0.0);
    let mut female = uniform(0.0, 0.0);
    for d in [&mut male, &mut female] {
        d.insert(
            "Thyroid".into(),
            TargetDose {
                dose_mgy_per_mbq: 1.0,
                uncertainty_mgy_per_mbq: 0.1,
                mass_kg: 0.02,
            },
        );
    }
    let e = effective_dose(&male, &female, &map, RemainderPolicy::Strict).unwrap();
    assert!((e.effective_msv_per_mbq - 0.04).abs() < 1e-15);
    // Two independent phantoms each weighted 0.02: sqrt(2) x 0.02 x 0.1.
    assert!((e.uncertainty_msv_per_mbq - 0.02 * 0.1 * 2f64.sqrt()).abs() < 1e-15);
    // Colon is the mass-weighted mean of the three walls.
    let mut male = uniform(0.0, 0.0);
    male.insert(
        "RC-wall".into(),
        TargetDose {
            dose_mgy_per_mbq: 1.0,
            uncertainty_mgy_per_mbq: 0.0,
            mass_kg: 0.3,
        },
    );
    male.insert(
        "LC-wall".into(),
        TargetDose {
            dose_mgy_per_mbq: 0.0,
            uncertainty_mgy_per_mbq: 0.0,
            mass_kg: 0.3,
        },
    );
    male.insert(
        "RS-wall".into(),
        TargetDose {
            dose_mgy_per_mbq: 0.0,
            uncertainty_mgy_per_mbq: 0.0,
            mass_kg: 0.4,
        },
    );
    let e = effective_dose(&male, &uniform(0.0, 0.0), &map, RemainderPolicy::Strict).unwrap();
    assert!((e.effective_msv_per_mbq - 0.12 * 0.3 * 0.5).abs() < 1e-15);
    // Remainder: kidneys alone get 1/13 of 0.12.
    let mut male = uniform(0.0, 0.0);
    male.insert(
        "Kidneys".into(),
        TargetDose {
            dose_mgy_per_mbq: 1.0,
            uncertainty_mgy_per_mbq: 0.0,
            mass_kg: 0.3,
        },
    );
    let e = effective_dose(&male, &uniform(0.0, 0.0), &map, RemainderPolicy::Strict).unwrap();
    assert!((e.effective_msv_per_mbq - 0.5 * 0.12 / 13.0).abs() < 1e-15);
}

#[test]
fn missing_tissues_are_named() {
    let map = TissueMapping::icrp155_regions();
    let mut male = uniform(0.01, 0.0);
    male.remove("Testes");
    let e = effective_dose(&male, &uniform(0.01, 0.0), &map, RemainderPolicy::Strict)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Gonads") && e.contains("male") && e.contains("Testes"),
        "{e}"
    );
    let mut female = uniform(0.01, 0.0);
    female.remove("Adrenals");
    let e = effective_dose(&uniform(0.01, 0.0), &female, &map, RemainderPolicy::Strict)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Adrenals") && e.contains("female"), "{e}");
    let r = effective_dose(
        &uniform(0.01, 0.0),
        &female,
        &map,
        RemainderPolicy::AverageAvailable,
    )
    .unwrap();
    assert_eq!(
        r.missing_remainder,
        vec![(RemainderTissue::Adrenals, Sex::Female)]
    );
    assert!((r.effective_msv_per_mbq - 0.01).abs() < 1e-15);
}

#[test]
fn dvh_of_a_known_distribution() {
    // 100 voxels of equal mass with doses 1..=100.
    let doses: Vec<f64> = (1..=100).map(|i| i as f64).collect();
    let h = cumulative_dvh("Liver", &doses, &[0.001; 100]).unwrap();
    assert_eq!((h.d_min, h.d_max), (1.0, 100.0));
    assert!((h.d_mean - 50.5).abs() < 1e-12);
    assert_eq!((h.d2, h.d50, h.d98), (99.0, 51.0, 3.0));
    assert!((h.total_mass - 0.1).abs() < 1e-15);
    assert_eq!(h.fraction_at_least_dose(0.0), 1.0);
    assert!((h.fraction_at_least_dose(91.0) - 0.10).abs() < 1e-12);
    assert_eq!(h.fraction_at_least_dose(100.5), 0.0);
    // Mass weighting: one heavy cold voxel holds 90 % of the mass.
    let h = cumulative_dvh("Kidneys", &[0.0, 10.0], &[9.0, 1.0]).unwrap();
    assert!((h.d_mean - 1.0).abs() < 1e-12);
    assert_eq!((h.d2, h.d50, h.d98), (10.0, 0.0, 0.0));
    assert_eq!(h.doses, vec![0.0, 10.0]);
    assert_eq!(h.fraction_at_least, vec![1.0, 0.1]);
    // Errors.
    let e = cumulative_dvh("Spleen", &[1.0, -2.0], &[1.0, 1.0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("Spleen") && e.contains("voxel 1"), "{e}");
    assert!(cumulative_dvh("Spleen", &[1.0], &[0.0]).is_err());
    assert!(cumulative_dvh("Spleen", &[1.0], &[1.0, 2.0]).is_err());
}
