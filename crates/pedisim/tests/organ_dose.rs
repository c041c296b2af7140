//! `pedisim organ-dose` through the binary: organ doses from an S matrix and a biokinetic
//! model file (checked against the MIRD sum done by hand from the S-matrix file, including
//! the remainder correction), from measured activities (checked against the trapezoid
//! plus physical tail by hand), the effective-dose record, and bad specifications.

mod common;

use common::*;
use pedisim_io::h5;
use std::path::{Path, PathBuf};

/// A 40^3 grid of 4 mm voxels: a 60 mm water ball (region "Muscle") in air, two 16 mm
/// cubes of water (both region "Kidneys"), and a lung ellipsoid (region "Lungs").
fn write_phantom(dir: &Path) -> PathBuf {
    write_ball_phantom(dir, TABLE)
}

const TABLE: &str = r#"
[[label]]
value = 0
name = "outside"
material = "air"

[[label]]
value = 1
name = "ball"
material = "water"
regions = ["Muscle"]

[[label]]
value = 2
name = "kidney_left"
material = "water"
regions = ["Kidneys"]

[[label]]
value = 3
name = "kidney_right"
material = "water"
regions = ["Kidneys"]

[[label]]
value = 4
name = "lung"
material = "lung"
regions = ["Lungs"]
"#;

const MODEL: &str = r#"
format = "pedisim-radiopharmaceuticals/1"

[[radiopharmaceutical]]
name = "Test-kidney-agent"
nuclide = "Tc-99m"
physical_half_life_h = 6.015
half_life_source = "ICRP 107 (2008)"
description = "a made-up test model, not a radiopharmaceutical"

  [[radiopharmaceutical.model.source]]
  region = "Kidneys"
  fraction = 0.4
  source = "test"
    [[radiopharmaceutical.model.source.component]]
    fraction = 1.0
    half_time_h = inf

  [[radiopharmaceutical.model.source]]
  region = "Other"
  fraction = 0.6
  source = "test"
    [[radiopharmaceutical.model.source.component]]
    fraction = 1.0
    half_time_h = 2.0
"#;

#[test]
fn organ_doses_follow_the_mird_sum_of_the_s_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let map = write_phantom(dir.path());
    pedisim(
        dir.path(),
        [
            "smatrix",
            "--phantom",
            map.to_str().unwrap(),
            "--nuclide",
            "Tc-99m",
            "--histories",
            "20000",
            "-q",
            "-o",
            "s.h5",
        ],
    )
    .assert_success();
    write(dir.path(), "models.toml", MODEL);
    let spec = write(
        dir.path(),
        "dose.toml",
        r#"
[smatrix]
female = "s.h5"

[biokinetics]
radiopharmaceutical = "Test-kidney-agent"
library = "models.toml"

[output]
path = "out/doses.h5"
administered_mbq = 50.0
"#,
    );
    let o = pedisim(dir.path(), ["organ-dose", spec.to_str().unwrap()]);
    o.assert_success();
    let out = dir.path().join("out/doses.h5");
    assert_eq!(
        h5::read_attr_string(&out, "/", "format_name").unwrap(),
        "pedisim-organ-dose"
    );
    // By hand: TIA (h) = F T_eff / ln 2; Other by the remainder correction.
    let tp = 6.015f64;
    let teff = |tb: f64| {
        if tb.is_infinite() {
            tp
        } else {
            tp * tb / (tp + tb)
        }
    };
    let a_k = 0.4 * teff(f64::INFINITY) / std::f64::consts::LN_2;
    let a_o = 0.6 * teff(2.0) / std::f64::consts::LN_2;
    let s_path = dir.path().join("s.h5");
    let targets = h5::read_string_dataset(&s_path, "/targets/name").unwrap();
    let sources = h5::read_string_dataset(&s_path, "/sources/name").unwrap();
    let (smass, _) = h5::read_f64_dataset(&s_path, "/sources/mass_kg").unwrap();
    let (s, [_, ns]) = h5::read_matrix(&s_path, "/s_gy_per_decay").unwrap();
    let col = |name: &str| sources.iter().position(|x| x == name).unwrap();
    let (k, tb) = (col("Kidneys"), col("Total-body"));
    let (m_k, m_tb) = (smass[k], smass[tb]);
    let names = h5::read_string_dataset(&out, "/organs_female/target").unwrap();
    let (dose, _) = h5::read_f64_dataset(&out, "/organs_female/dose_mgy_per_mbq").unwrap();
    assert_eq!(names, targets);
    for (t, name) in targets.iter().enumerate() {
        let s_other = (m_tb * s[t * ns + tb] - m_k * s[t * ns + k]) / (m_tb - m_k);
        let want = 3.6e12 * (a_k * s[t * ns + k] + a_o * s_other);
        assert!(
            (dose[t] / want - 1.0).abs() < 1e-9,
            "{name}: {} vs {want}",
            dose[t]
        );
    }
    // The kidneys get the highest dose; the CSV has absolute doses for 50 MBq.
    let kidneys = targets.iter().position(|x| x == "Kidneys").unwrap();
    assert!(dose.iter().all(|&d| d <= dose[kidneys]));
    let csv = std::fs::read_to_string(dir.path().join("out/doses.csv")).unwrap();
    let row = csv
        .lines()
        .find(|l| l.starts_with("female,Kidneys,"))
        .unwrap();
    let abs: f64 = row.rsplit(',').next().unwrap().parse().unwrap();
    assert!((abs / (50.0 * dose[kidneys]) - 1.0).abs() < 1e-5, "{row}");
    // This phantom lacks most ICRP 103 tissues: the effective dose is not computed, and
    // the file says why.
    let method = h5::read_attr_string(&out, "/", "effective_dose_method").unwrap();
    assert!(method.starts_with("not computed: "), "{method}");
    assert!(h5::read_attr_f64(&out, "/", "effective_dose_msv_per_mbq").is_err());
}

#[test]
fn measured_activities_give_trapezoid_plus_tail_and_bad_specs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let map = write_phantom(dir.path());
    pedisim(
        dir.path(),
        [
            "smatrix",
            "--phantom",
            map.to_str().unwrap(),
            "--nuclide",
            "Tc-99m",
            "--sources",
            "Kidneys,Total-body",
            "--histories",
            "10000",
            "-q",
            "-o",
            "s.h5",
        ],
    )
    .assert_success();
    let spec = write(
        dir.path(),
        "m.toml",
        r#"
[smatrix]
male = "s.h5"

[measured]
administered_mbq = 100.0
times_h = [1.0, 4.0, 24.0]
tail = "physical"
[[measured.organ]]
region = "Kidneys"
activity_mbq = [10.0, 20.0, 5.0]

[output]
path = "m.h5"
"#,
    );
    pedisim(dir.path(), ["organ-dose", "-q", spec.to_str().unwrap()]).assert_success();
    let (tia, _) = h5::read_f64_dataset(&dir.path().join("m.h5"), "/sources/tia_h").unwrap();
    // Linear rise from 0, trapezoids, physical decay after 24 h; per MBq administered.
    let lp = std::f64::consts::LN_2 / 6.015;
    let want = (10.0 * 1.0 / 2.0 + 15.0 * 3.0 + 12.5 * 20.0 + 5.0 / lp) / 100.0;
    assert!((tia[0] / want - 1.0).abs() < 1e-3, "{} vs {want}", tia[0]);

    // Errors name the file and what is wrong.
    for (body, expected) in [
        (
            "[smatrix]\nmale = \"s.h5\"\n[output]\npath = \"x.h5\"\n",
            "expected exactly one of [biokinetics]",
        ),
        (
            "[smatrix]\nmale = \"s.h5\"\n[biokinetics]\nradiopharmaceutical = \"Tc-99m-DMSA\"\n[output]\npath = \"x.h5\"\n",
            "Tc-99m-DMSA",
        ),
        (
            "[smatrix]\nmale = \"s.h5\"\n[measured]\nadministered_mbq = 100.0\ntimes_h = [4.0, 1.0]\n[[measured.organ]]\nregion = \"Kidneys\"\nactivity_mbq = [1.0, 2.0]\n[output]\npath = \"x.h5\"\n",
            "Kidneys",
        ),
        ("[smatrix]\n[output]\npath = \"x.h5\"\n", "[smatrix]"),
    ] {
        let f = write(dir.path(), "bad.toml", body);
        let o = pedisim(dir.path(), ["organ-dose", f.to_str().unwrap()]);
        assert_ne!(o.code, Some(0), "{body}");
        assert!(
            o.stderr.contains("bad.toml") && o.stderr.contains(expected),
            "{body}\n{}",
            o.stderr
        );
        assert!(!dir.path().join("x.h5").exists());
    }
}
