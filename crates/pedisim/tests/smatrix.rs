//! `pedisim smatrix` through the binary: the S matrix of a small label-map phantom, its
//! HDF5 layout, physics checks (self-dose above cross-dose, reciprocity of two organs of
//! one medium, energy absorbed within what the nuclide emits), thread independence, and
//! errors for bad options.

mod common;

use common::*;
use pedisim_core::constants::JOULE_PER_MEV;
use pedisim_io::h5;
use std::path::{Path, PathBuf};

/// A 40 x 40 x 40 grid of 4 mm voxels: a 60 mm radius water ball (label 1, regions
/// "Other-tissue") in air (label 0), holding two water cubes of 16 mm (labels 2 and 3,
/// regions "Kidney-L" and "Kidney-R"), 40 mm apart and symmetric about the centre, and a
/// lung ellipsoid (label 4, named "lung", no regions).
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
regions = ["Other-tissue"]

[[label]]
value = 2
name = "kidney_left"
material = "water"
regions = ["Kidney-L"]

[[label]]
value = 3
name = "kidney_right"
material = "water"
regions = ["Kidney-R"]

[[label]]
value = 4
name = "lung"
material = "lung"
"#;

fn smatrix(dir: &Path, map: &Path, out: &str, extra: &[&str]) -> Outcome {
    let mut args = vec![
        "smatrix",
        "--phantom",
        map.to_str().unwrap(),
        "--nuclide",
        "Tc-99m",
        "--histories",
        "20000",
        "--seed",
        "3",
        "-q",
        "-o",
        out,
    ];
    args.extend_from_slice(extra);
    pedisim(dir, args)
}

#[test]
fn smatrix_of_a_small_phantom_is_physical_and_documented() {
    let dir = tempfile::tempdir().unwrap();
    let map = write_phantom(dir.path());
    smatrix(dir.path(), &map, "s.h5", &["--threads", "2"]).assert_success();
    let p = dir.path().join("s.h5");
    assert_eq!(
        h5::read_attr_string(&p, "/", "format_name").unwrap(),
        "pedisim-smatrix"
    );
    assert_eq!(
        h5::read_attr_string(&p, "/", "smatrix_format_version").unwrap(),
        "1.0"
    );
    assert_eq!(h5::read_attr_string(&p, "/", "nuclide").unwrap(), "Tc-99m");
    assert_eq!(
        h5::read_attr_u64(&p, "/", "histories_per_source").unwrap(),
        20000
    );
    let targets = h5::read_string_dataset(&p, "/targets/name").unwrap();
    let sources = h5::read_string_dataset(&p, "/sources/name").unwrap();
    assert_eq!(targets, ["Kidney-L", "Kidney-R", "Other-tissue", "lung"]);
    assert_eq!(
        sources,
        ["Kidney-L", "Kidney-R", "Other-tissue", "lung", "Total-body"]
    );
    let (mass, _) = h5::read_f64_dataset(&p, "/targets/mass_kg").unwrap();
    // Each kidney: 4 x 4 x 4 voxels of 64 mm3 of water.
    let kidney_kg = 64.0 * 64.0 * 1e-3 * 1e-3 * 0.998;
    assert!((mass[0] / kidney_kg - 1.0).abs() < 3e-3, "{}", mass[0]);
    assert_eq!(mass[0], mass[1]);
    let (s, shape) = h5::read_matrix(&p, "/s_gy_per_decay").unwrap();
    let (rel, _) = h5::read_matrix(&p, "/relative_uncertainty").unwrap();
    assert_eq!(shape, [4, 5]);
    let at = |t: usize, k: usize| (s[t * 5 + k], rel[t * 5 + k]);
    // Self-dose far above the cross-dose of the other kidney.
    assert!(
        at(0, 0).0 > 20.0 * at(0, 1).0,
        "{:?} {:?}",
        at(0, 0),
        at(0, 1)
    );
    // Reciprocity (MIRD: S(a <- b) = S(b <- a) for regions of one medium in a symmetric
    // arrangement): within 4 sigma of the two estimates plus 2 % for the asymmetry of
    // the lung.
    let (ab, rab) = at(0, 1);
    let (ba, rba) = at(1, 0);
    let sigma = ((ab * rab).powi(2) + (ba * rba).powi(2)).sqrt();
    assert!(
        (ab - ba).abs() < 4.0 * sigma + 0.02 * ab,
        "S(L<-R) {ab} +- {rab}, S(R<-L) {ba} +- {rba}"
    );
    // Energy: what the targets absorb from a kidney source is at most what Tc-99m emits,
    // and at least the electrons' energy (ranges far below 16 mm), which stays in the kidney.
    let table = pedisim_physics::nuclide::nuclide_table().unwrap();
    let tc = &table["Tc-99m"];
    let absorbed_mev: f64 = (0..4).map(|t| at(t, 0).0 * mass[t] / JOULE_PER_MEV).sum();
    let emitted = tc.mean_electron_energy_mev() + tc.mean_photon_energy_mev();
    assert!(absorbed_mev < emitted, "{absorbed_mev} vs {emitted}");
    let self_mev = at(0, 0).0 * mass[0] / JOULE_PER_MEV;
    assert!(
        self_mev > 0.97 * tc.mean_electron_energy_mev(),
        "{self_mev} vs electrons {}",
        tc.mean_electron_energy_mev()
    );
    // The CSV has one row per pair.
    let csv = std::fs::read_to_string(dir.path().join("s.csv")).unwrap();
    assert_eq!(
        csv.lines().filter(|l| l.starts_with("Kidney-L,")).count(),
        5
    );
    // Same seed, one thread: bit-identical matrix.
    smatrix(dir.path(), &map, "s1.h5", &["--threads", "1"]).assert_success();
    let (s1, _) = h5::read_matrix(&dir.path().join("s1.h5"), "/s_gy_per_decay").unwrap();
    assert_eq!(s, s1);
}

#[test]
fn smatrix_rejects_bad_options_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let map = write_phantom(dir.path());
    let o = smatrix(dir.path(), &map, "s.h5", &["--sources", "Liver"]);
    assert_ne!(o.code, Some(0));
    assert!(
        o.stderr.contains("--sources")
            && o.stderr.contains("Liver")
            && o.stderr.contains("Kidney-L"),
        "{}",
        o.stderr
    );
    let o = pedisim(
        dir.path(),
        [
            "smatrix",
            "--phantom",
            map.to_str().unwrap(),
            "--nuclide",
            "Xx-1",
            "-o",
            "s.h5",
        ],
    );
    assert_ne!(o.code, Some(0));
    assert!(o.stderr.contains("--nuclide Xx-1"), "{}", o.stderr);
    std::fs::remove_file(dir.path().join("ball.labels.toml")).unwrap();
    let o = smatrix(dir.path(), &map, "s.h5", &[]);
    assert_ne!(o.code, Some(0));
    assert!(o.stderr.contains("ball.labels.toml"), "{}", o.stderr);
    assert!(!dir.path().join("s.h5").exists());
}
