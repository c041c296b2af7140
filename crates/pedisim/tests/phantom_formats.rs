//! Phantoms in the ICRP 110/143 distribution format (`[phantom] kind = "icrp110"`) and CT
//! images converted by a HU calibration (`[phantom] kind = "ct"`), through `pedisim run`.
//!
//! The licensed ICRP files are not available to the tests: small files in the same layout
//! are written here (header lines, an organ-ID array of 16 integers per line whose rows do
//! not start on new lines, organ names with spaces and commas, % by mass compositions).
//! Each run checks `/organs` of the output: every label's mass must be its voxel count x
//! the voxel volume x its density, and the material names must be those made from the
//! media. Bad inputs must be refused before any simulation, naming the file, the line (or
//! key, or voxel) and what was expected.

mod common;

use common::*;
use pedisim_core::GridGeometry;
use pedisim_io::{h5, nifti_io};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A refused run takes well under a second; this is the limit before we call it a hang.
const LIMIT: Duration = Duration::from_secs(60);

/// Columns, rows, slices of the test array (60 voxels: not a multiple of 16 per row).
const DIMS: [usize; 3] = [5, 4, 3];
/// Voxel size \[mm\] of the test array: 1 cm3 voxels.
const VOXEL_MM: [f64; 3] = [10.0, 10.0, 10.0];

const ORGANS: &str = "Organs and tissues of a test reference computational phantom

Organ Organ                                          Medium  Density
ID                                                   number
  1   Liver                                            2     1.050
  2   Humeri, upper half, spongiosa                    1     1.205
  3   Lung tissue (ET1, not in the array)              2     0.385
";

const MEDIA: &str = "Media of a test reference computational phantom
Medium  Name                                         H     C     N     O    Na    Mg     P     S    Cl     K    Ca    Fe     I

  1   Humeri, upper half, spongiosa                 8.5  28.8   2.6  49.8   0.2   0.1   3.4   0.3   0.2   0.1   6.0   0.0   0.0
  2   Liver                                        10.2  13.0   3.1  72.5   0.2   0.0   0.2   0.3   0.2   0.3   0.0   0.0   0.0
";

/// Organ ID of voxel (column, row, slice): 0 outside a one-voxel shell in x, liver inside,
/// a bone column at column 1 (off-centre, so that an axis mix-up would show).
fn organ_id(ix: usize, iy: usize, iz: usize) -> u32 {
    let _ = iz;
    if ix == 0 || ix == DIMS[0] - 1 {
        0
    } else if ix == 1 && iy >= 1 {
        2
    } else {
        1
    }
}

/// The organ-ID array as the distribution writes it: slice by slice, row by row, column
/// by column, 16 integers per line.
fn organ_id_text() -> (String, Vec<u32>) {
    let mut ids = Vec::new();
    for iz in 0..DIMS[2] {
        for iy in 0..DIMS[1] {
            for ix in 0..DIMS[0] {
                ids.push(organ_id(ix, iy, iz));
            }
        }
    }
    let text = ids
        .chunks(16)
        .map(|c| {
            c.iter()
                .map(|v| format!("{v:4}"))
                .collect::<Vec<_>>()
                .concat()
        })
        .collect::<Vec<_>>()
        .join("\n");
    (text + "\n", ids)
}

fn icrp_config(histories: u64, extra_physics: &str) -> String {
    format!(
        r#"{}
[phantom]
kind = "icrp110"
organ_ids = "TF.dat"
organs = "TF_organs.dat"
media = "TF_media.dat"
dims = [{}, {}, {}]
voxel_mm = [{}, {}, {}]

[source]
kind = "point"
energy_kev = 140.0
position_mm = [0.0, 0.0, 0.0]
{extra_physics}
[output]
path = "out.h5"
"#,
        run_section(histories, 3),
        DIMS[0],
        DIMS[1],
        DIMS[2],
        VOXEL_MM[0],
        VOXEL_MM[1],
        VOXEL_MM[2]
    )
}

fn write_icrp(dir: &Path, ids: Option<&str>, organs: Option<&str>, media: Option<&str>) {
    let (text, _) = organ_id_text();
    write(dir, "TF.dat", ids.unwrap_or(&text));
    write(dir, "TF_organs.dat", organs.unwrap_or(ORGANS));
    write(dir, "TF_media.dat", media.unwrap_or(MEDIA));
}

/// Writes `config` as `config.toml` in `dir`, runs it and checks that it is refused before
/// anything is written, with one error line naming `file` and every one of `needles`.
fn refused(dir: &Path, config: &str, file: &str, needles: &[&str]) -> String {
    let cfg = write(dir, "config.toml", config);
    let out = pedisim_within(dir, ["run".as_ref(), cfg.as_os_str()], LIMIT);
    let e = &out.stderr;
    assert!(
        matches!(out.code, Some(c) if c != 0),
        "expected a non-zero exit code, got {:?}\n--- stderr\n{e}",
        out.code
    );
    assert!(
        e.starts_with("pedisim: error: "),
        "stderr does not start with the error line:\n{e}"
    );
    assert!(e.contains(file), "the error does not name {file}:\n{e}");
    for n in needles {
        assert!(e.contains(n), "the error does not mention {n:?}:\n{e}");
    }
    assert!(!dir.join("out.h5").exists(), "an output was written");
    e.clone()
}

/// Checks `/organs` of a finished run: mass = voxels x volume x density for each label.
fn check_masses(out: &Path, expected: &[(u32, &str, &str, usize, f64)], voxel_cm3: f64) {
    let rows = h5::read_organs(out).unwrap();
    for &(label, name, material, voxels, rho) in expected {
        let r = rows
            .iter()
            .find(|r| r.label == label)
            .unwrap_or_else(|| panic!("label {label} is not in /organs: {rows:?}"));
        assert_eq!(r.name, name);
        assert_eq!(r.material, material);
        let want = voxels as f64 * voxel_cm3 * rho * 1e-3;
        assert!(
            rel_diff(r.mass_kg, want) < 1e-6,
            "label {label}: mass {} kg, expected {want} kg",
            r.mass_kg
        );
    }
    assert_eq!(rows.len(), expected.len(), "{rows:?}");
}

#[test]
fn icrp110_phantom_runs_with_its_organs_and_media() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_icrp(d, None, None, None);
    let (_, ids) = organ_id_text();
    let count = |id: u32| ids.iter().filter(|&&v| v == id).count();
    // Electron transport needs an I-value for every medium: the reader computes them.
    let cfg = write(
        d,
        "config.toml",
        &icrp_config(2000, "\n[physics]\nelectron_transport = \"condensed\"\n"),
    );
    run_config(d, &cfg, &[]).assert_success();
    let out = d.join("out.h5");
    check_masses(
        &out,
        &[
            (0, "outside", "vacuum", count(0), 0.0),
            (1, "Liver", "icrp110_liver", count(1), 1.05),
            (
                2,
                "Humeri, upper half, spongiosa",
                "icrp110_humeri_upper_half_spongiosa",
                count(2),
                1.205,
            ),
            (
                3,
                "Lung tissue (ET1, not in the array)",
                "icrp110_liver",
                0,
                0.385,
            ),
        ],
        1.0,
    );
    // The labels are stored in the array's order (column fastest) and the grid is the RAS
    // placement of the module documentation: centred, columns along -x, rows along -y.
    let (labels, _) = h5::read_u32_dataset(&out, "/phantom/labels").unwrap();
    assert_eq!(labels, ids);
    let axis = h5::read_attr_f64_array(&out, "/", "axis_sign").unwrap();
    assert_eq!(axis, vec![-1.0, -1.0, 1.0]);
    let origin = h5::read_attr_f64_array(&out, "/", "origin_mm").unwrap();
    assert_eq!(origin, vec![20.0, 15.0, -10.0]);
    let (density, _) = h5::read_f64_dataset(&out, "/phantom/density_g_cm3").unwrap();
    assert!((density[ids.iter().position(|&v| v == 2).unwrap()] - 1.205).abs() < 1e-6);
}

#[test]
fn icrp110_bad_inputs_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = icrp_config(1_000_000_000_000, "");
    let (ids, _) = organ_id_text();

    // An organ ID in the array that the organs file lacks: the array's line and voxel.
    let mut bad_ids: Vec<String> = ids.lines().map(String::from).collect();
    bad_ids[1] = bad_ids[1].replacen("   1", "  17", 1);
    write_icrp(d, Some(&(bad_ids.join("\n") + "\n")), None, None);
    refused(
        d,
        &cfg,
        "TF.dat",
        &["line 2", "organ ID 17", "TF_organs.dat"],
    );

    // Too few values.
    let short: String = ids.lines().take(3).collect::<Vec<_>>().join("\n");
    write_icrp(d, Some(&short), None, None);
    refused(
        d,
        &cfg,
        "TF.dat",
        &["48 organ IDs", "5 x 4 x 3 = 60", "dims"],
    );

    // A medium the media file lacks: the organs file's line.
    write_icrp(
        d,
        None,
        Some(&ORGANS.replace("   2     1.050", "   9     1.050")),
        None,
    );
    refused(
        d,
        &cfg,
        "TF_organs.dat",
        &["line 5", "medium 9", "TF_media.dat"],
    );

    // An organ line without its density.
    write_icrp(d, None, Some(&ORGANS.replace("     1.205", "")), None);
    refused(d, &cfg, "TF_organs.dat", &["line 6", "density"]);

    // Fractions not summing to 100 %.
    write_icrp(d, None, None, Some(&MEDIA.replace("72.5", "52.5")));
    refused(
        d,
        &cfg,
        "TF_media.dat",
        &["line 5", "sum to 80", "expected 100"],
    );

    // A missing fraction.
    write_icrp(
        d,
        None,
        None,
        Some(&MEDIA.replace("   0.3   0.0   0.0   0.0\n", "   0.3   0.0   0.0\n")),
    );
    refused(
        d,
        &cfg,
        "TF_media.dat",
        &["line 5", "12 numbers", "13 mass fractions"],
    );

    // Keys: missing dims, a key of another kind, an unknown background material.
    write_icrp(d, None, None, None);
    refused(
        d,
        &cfg.replace("dims = [5, 4, 3]\n", ""),
        "config.toml",
        &["[phantom] dims is missing"],
    );
    refused(
        d,
        &cfg.replace("kind = \"icrp110\"", "kind = \"icrp110\"\nct = \"x.nii\""),
        "config.toml",
        &["[phantom] ct", "does not apply"],
    );
    refused(
        d,
        &cfg.replace(
            "kind = \"icrp110\"",
            "kind = \"icrp110\"\nbackground = \"unobtainium\"",
        ),
        "config.toml",
        &["[phantom] background", "unobtainium"],
    );
    refused(
        d,
        &cfg.replace("organs = \"TF_organs.dat\"", "organs = \"missing.dat\""),
        "config.toml",
        &["[phantom] organs", "missing.dat"],
    );
}

/// The CT test grid: 4 x 3 x 2 voxels of 2 mm, an off-centre origin and x flipped.
fn ct_grid() -> GridGeometry {
    GridGeometry::new(
        [4, 3, 2],
        [2.0, 2.0, 2.0],
        [10.0, -5.0, 3.0],
        [-1.0, 1.0, 1.0],
    )
    .unwrap()
}

/// HU values exactly at points of the shipped calibration's density curve, so the
/// expected densities are the table's numbers: (HU, bin name, material, density).
const CT_VALUES: [(f64, &str, &str, f64); 4] = [
    (-1000.0, "Air", "schneider2000_air", 1.21e-3),
    (-98.0, "AT_AG_SI1", "schneider2000_at_ag_si1", 0.93),
    (14.0, "AT_AG_SI5", "schneider2000_at_ag_si5", 1.03),
    (
        1600.0,
        "Marrow_Bone15",
        "schneider2000_marrow_bone15",
        1.9642,
    ),
];

fn write_ct(dir: &Path, hu: &[f64]) -> PathBuf {
    let p = dir.join("ct.nii.gz");
    nifti_io::write_f32(&p, &ct_grid(), hu, "test CT in HU").unwrap();
    p
}

fn ct_config(histories: u64, calibration: &Path) -> String {
    format!(
        r#"{}
[phantom]
kind = "ct"
ct = "ct.nii.gz"
calibration = {}

[source]
kind = "point"
energy_kev = 140.0

[output]
path = "out.h5"
"#,
        run_section(histories, 5),
        toml_path(calibration)
    )
}

fn shipped_calibration() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/ct_calibration_schneider2000.toml")
}

#[test]
fn ct_with_the_shipped_calibration_gets_bins_and_densities() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = ct_grid().len();
    let hu: Vec<f64> = (0..n).map(|i| CT_VALUES[i % 4].0).collect();
    write_ct(d, &hu);
    let cfg = write(d, "config.toml", &ct_config(2000, &shipped_calibration()));
    run_config(d, &cfg, &[]).assert_success();
    let out = d.join("out.h5");
    let rows = h5::read_organs(&out).unwrap();
    // One label per bin of the calibration (26), whether used or not.
    assert_eq!(rows.len(), 26, "{rows:?}");
    let voxel_cm3 = 0.008;
    for (k, (_, name, material, rho)) in CT_VALUES.iter().enumerate() {
        let voxels = (0..n).filter(|i| i % 4 == k).count();
        let r = rows.iter().find(|r| r.name == *name).unwrap();
        assert_eq!(r.material, *material);
        let want = voxels as f64 * voxel_cm3 * rho * 1e-3;
        assert!(
            rel_diff(r.mass_kg, want) < 1e-6,
            "{name}: {} vs {want}",
            r.mass_kg
        );
    }
    let used: f64 = rows.iter().map(|r| r.mass_kg).sum();
    let want: f64 = (0..n).map(|i| CT_VALUES[i % 4].3 * voxel_cm3 * 1e-3).sum();
    assert!(rel_diff(used, want) < 1e-6);
}

const SMALL_CAL: &str = r#"
[density]
points = [[-1000.0, 0.0012], [0.0, 1.0], [2000.0, 2.0]]

[[bin]]
name = "air"
material = "air"
hu_min = -1000.0
hu_max = -200.0

[[bin]]
name = "soft"
material = "my_tissue"
hu_min = -200.0
hu_max = 300.0

[[bin]]
name = "bone"
material = "cortical_bone"
hu_min = 300.0
hu_max = 2000.0

[materials.my_tissue]
density_g_cm3 = 1.0
composition = { H = 0.112, O = 0.888 }
"#;

#[test]
fn ct_with_a_user_calibration_interpolates_densities() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cal = write(d, "cal.toml", SMALL_CAL);
    let n = ct_grid().len();
    // Voxel i: HU -500 (air), 100 (soft), 1000 (bone), cycling.
    let hu: Vec<f64> = (0..n).map(|i| [-500.0, 100.0, 1000.0][i % 3]).collect();
    write_ct(d, &hu);
    let cfg = write(d, "config.toml", &ct_config(2000, &cal));
    run_config(d, &cfg, &[]).assert_success();
    let rho = |h: f64| {
        if h < 0.0 {
            0.0012 + (1.0 - 0.0012) * (h + 1000.0) / 1000.0
        } else {
            1.0 + h / 2000.0
        }
    };
    let count = n / 3;
    check_masses(
        &d.join("out.h5"),
        &[
            (1, "air", "air", count, rho(-500.0)),
            (2, "soft", "my_tissue", count, rho(100.0)),
            (3, "bone", "cortical_bone", count, rho(1000.0)),
        ],
        0.008,
    );
}

#[test]
fn ct_bad_inputs_name_the_file_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = ct_grid().len();
    let mut hu = vec![0.0; n];
    // HU outside every interval: the voxel and its value.
    hu[ct_grid().index(2, 1, 1)] = 2500.0;
    write_ct(d, &hu);
    let cal = write(d, "cal.toml", SMALL_CAL);
    let cfg = ct_config(1_000_000_000_000, &cal);
    refused(
        d,
        &cfg,
        "ct.nii.gz",
        &["voxel (2, 1, 1)", "2500 HU", "cal.toml"],
    );

    write_ct(d, &vec![0.0; n]);
    // Overlapping intervals.
    write(
        d,
        "cal.toml",
        &SMALL_CAL.replace("hu_min = 300.0", "hu_min = 250.0"),
    );
    refused(
        d,
        &cfg,
        "cal.toml",
        &["[[bin]] #3 ('bone')", "not overlapping"],
    );
    // Unsorted intervals.
    let swapped = SMALL_CAL
        .replace(
            "hu_min = -1000.0\nhu_max = -200.0",
            "hu_min = 300.0\nhu_max = 2000.0",
        )
        .replacen(
            "hu_min = 300.0\nhu_max = 2000.0\n\n[materials",
            "hu_min = -1000.0\nhu_max = -200.0\n\n[materials",
            1,
        );
    write(d, "cal.toml", &swapped);
    refused(d, &cfg, "cal.toml", &["[[bin]] #2 ('soft')", "sorted"]);
    // Unknown material.
    write(
        d,
        "cal.toml",
        &SMALL_CAL.replace("material = \"cortical_bone\"", "material = \"kryptonite\""),
    );
    refused(d, &cfg, "cal.toml", &["[[bin]] #3 ('bone')", "kryptonite"]);
    // A calibration material that redefines a built-in one.
    write(d, "cal.toml", &SMALL_CAL.replace("my_tissue", "water"));
    refused(
        d,
        &cfg,
        "cal.toml",
        &["[materials.water]", "already defined"],
    );
    // Missing key.
    write(d, "cal.toml", SMALL_CAL);
    refused(
        d,
        &cfg.replace("ct = \"ct.nii.gz\"\n", ""),
        "config.toml",
        &["[phantom] ct is missing"],
    );
}
