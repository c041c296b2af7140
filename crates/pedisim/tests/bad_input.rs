//! Bad inputs are refused before anything is simulated or written.
//!
//! Every case runs the real binary on a configuration that asks for 10^12 histories (a
//! simulation would never finish, so a run that is not refused up front times out) and
//! checks that:
//! - the exit code is non-zero;
//! - stderr holds exactly one error line (`pedisim: error: ...`) naming the file at fault,
//!   the key (or the voxel) and what was expected, and not the start-of-run banner;
//! - nothing was created: neither the HDF5 output, its temporary file, nor the NIfTI dose
//!   map (the working directory is listed before and after).

mod common;

use common::*;
use pedisim_core::GridGeometry;
use pedisim_io::nifti_io;
use std::path::Path;
use std::time::Duration;

/// More histories than could ever run in the time limit.
const HUGE: u64 = 1_000_000_000_000;
/// A refused run takes well under a second; this is the limit before we call it a hang.
const LIMIT: Duration = Duration::from_secs(60);

/// `[output]` of every case: relative to the working directory (the temporary directory).
const OUTPUT: &str = "\n[output]\npath = \"out.h5\"\ndose_nifti = \"dose.nii.gz\"\n";

/// A valid sphere configuration (with [`HUGE`] histories).
fn sphere_config() -> String {
    format!(
        "{}{SPHERE_PHANTOM}{TC99M_UNIFORM}{OUTPUT}",
        run_section(HUGE, 1)
    )
}

/// A valid NIfTI configuration (with [`HUGE`] histories); the inputs are written by
/// [`write_nifti_inputs`].
fn nifti_config() -> String {
    format!(
        r#"{}
[phantom]
kind = "nifti"
labels = "labels.nii.gz"
table = "table.toml"

[source]
kind = "activity_map"
map = "activity.nii.gz"
nuclide = "F-18"
{OUTPUT}"#,
        run_section(HUGE, 1)
    )
}

/// `s` with the one occurrence of `from` replaced by `to` (panics if `from` is absent, so
/// that a test cannot silently run the unmodified configuration).
fn edit(s: &str, from: &str, to: &str) -> String {
    assert_eq!(s.matches(from).count(), 1, "{from:?} is not once in\n{s}");
    s.replacen(from, to, 1)
}

/// Writes `config` as `config.toml` in `dir`, runs it and checks that it is refused as
/// described in the module documentation: stderr must name `file` and contain every one
/// of `needles`. Returns stderr.
fn refused_in(dir: &Path, config: &str, file: &str, needles: &[&str]) -> String {
    let cfg = write(dir, "config.toml", config);
    let before = tree(dir);
    let out = pedisim_within(dir, ["run".as_ref(), cfg.as_os_str()], LIMIT);
    let after = tree(dir);
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
    assert!(
        !e.contains("histories in") && !e.contains('%'),
        "the run started before the input was refused:\n{e}"
    );
    assert!(
        e.contains(file),
        "stderr does not name the file {file:?}:\n{e}"
    );
    for n in needles {
        assert!(e.contains(n), "stderr does not contain {n:?}:\n{e}");
    }
    assert!(out.stdout.is_empty(), "unexpected stdout: {}", out.stdout);
    assert_eq!(before, after, "the refused run created or removed files");
    for f in ["out.h5", "dose.nii.gz"] {
        assert!(
            before.contains(f) || !dir.join(f).exists(),
            "{f} was created"
        );
    }
    assert!(
        !after.iter().any(|f| f.contains("tmp")),
        "temporary files left: {after:?}"
    );
    e.clone()
}

/// [`refused_in`] in a fresh temporary directory.
fn refused(config: &str, file: &str, needles: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    refused_in(dir.path(), config, file, needles)
}

/// [`refused_in`] in a fresh temporary directory holding the NIfTI inputs, after `prepare`
/// has changed them.
fn refused_nifti(
    config: &str,
    prepare: impl FnOnce(&Path),
    file: &str,
    needles: &[&str],
) -> String {
    let dir = tempfile::tempdir().unwrap();
    write_nifti_inputs(dir.path());
    prepare(dir.path());
    refused_in(dir.path(), config, file, needles)
}

/// The valid configurations are valid: the helpers above test what they mean to.
#[test]
fn baseline_configs_are_accepted() {
    for nifti in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let config = if nifti {
            write_nifti_inputs(dir.path());
            nifti_config()
        } else {
            sphere_config()
        };
        let config = edit(&config, &format!("histories = {HUGE}"), "histories = 100");
        let cfg = write(dir.path(), "config.toml", &config);
        run_config(dir.path(), &cfg, &[]).assert_success();
        assert!(dir.path().join("out.h5").is_file());
        assert!(dir.path().join("dose.nii.gz").is_file());
    }
}

// ---------------------------------------------------------------------------------------
// The configuration file itself
// ---------------------------------------------------------------------------------------

#[test]
fn malformed_toml_is_rejected() {
    let config = edit(&sphere_config(), "[source]", "[source");
    refused(
        &config,
        "config.toml",
        &["TOML parse error", "line", "expected"],
    );
}

#[test]
fn unparseable_value_is_rejected() {
    let config = edit(&sphere_config(), "radius_mm = 16.0", "radius_mm = 16.0.0");
    refused(&config, "config.toml", &["TOML parse error", "radius_mm"]);
}

#[test]
fn missing_config_file_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let before = tree(dir.path());
    let out = pedisim_within(dir.path(), ["run", "no_such_config.toml"], LIMIT);
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("no_such_config.toml"), "{}", out.stderr);
    assert!(out.stderr.contains("cannot read"), "{}", out.stderr);
    assert_eq!(before, tree(dir.path()));
}

#[test]
fn unknown_key_in_run_is_rejected() {
    let config = edit(
        &sphere_config(),
        "batches = 10",
        "batches = 10\nbogus_key = 3",
    );
    refused(
        &config,
        "config.toml",
        &[
            "bogus_key",
            "unknown field",
            "histories",
            "batches",
            "seed",
            "threads",
        ],
    );
}

#[test]
fn unknown_key_in_phantom_is_rejected() {
    // A plausible typo of radius_mm.
    let config = edit(
        &sphere_config(),
        "radius_mm = 16.0",
        "radius_mm = 16.0\nradius = 3.0",
    );
    refused(
        &config,
        "config.toml",
        &["`radius`", "unknown field", "radius_mm", "voxel_mm"],
    );
}

#[test]
fn unknown_key_in_source_is_rejected() {
    let config = edit(
        &sphere_config(),
        "labels = [1]",
        "labels = [1]\nactivity_mbq = 3.0",
    );
    refused(
        &config,
        "config.toml",
        &["activity_mbq", "unknown field", "nuclide", "energy_kev"],
    );
}

/// docs/config.md promises that "an unknown key, a key that does not apply to the chosen
/// `kind`, or a value of the wrong type is an error that names the file, the section and
/// the key"; the TOML parser's message names the line and the key, not the section.
#[test]

fn unknown_key_error_names_the_section() {
    let config = edit(
        &sphere_config(),
        "batches = 10",
        "batches = 10\nbogus_key = 3",
    );
    refused(&config, "config.toml", &["[run]", "bogus_key"]);
}

#[test]
fn unknown_section_is_rejected() {
    let config = format!("{}\n[tally]\nkind = \"voxel\"\n", sphere_config());
    refused(&config, "config.toml", &["tally", "unknown field"]);
}

#[test]
fn wrong_type_histories_string_is_rejected() {
    let config = edit(
        &sphere_config(),
        &format!("histories = {HUGE}"),
        "histories = \"many\"",
    );
    refused(
        &config,
        "config.toml",
        &["histories", "\"many\"", "invalid type", "expected"],
    );
}

#[test]
fn wrong_type_voxel_mm_scalar_is_rejected() {
    let config = edit(
        &sphere_config(),
        "voxel_mm = [2.0, 2.0, 2.0]",
        "voxel_mm = 2.0",
    );
    refused(
        &config,
        "config.toml",
        &["voxel_mm", "invalid type", "expected"],
    );
}

#[test]
fn negative_histories_is_rejected() {
    let config = edit(
        &sphere_config(),
        &format!("histories = {HUGE}"),
        "histories = -5",
    );
    refused(&config, "config.toml", &["histories", "-5"]);
}

#[test]
fn zero_histories_is_rejected() {
    let config = edit(
        &sphere_config(),
        &format!("histories = {HUGE}"),
        "histories = 0",
    );
    refused(
        &config,
        "config.toml",
        &["[run] histories = 0", "expected at least 1"],
    );
}

#[test]
fn zero_histories_on_command_line_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(dir.path(), "config.toml", &sphere_config());
    let before = tree(dir.path());
    let out = pedisim_within(
        dir.path(),
        [
            "run".as_ref(),
            cfg.as_os_str(),
            "--histories".as_ref(),
            "0".as_ref(),
        ],
        LIMIT,
    );
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("histories = 0"), "{}", out.stderr);
    assert_eq!(before, tree(dir.path()));
}

#[test]
fn too_many_threads_is_rejected() {
    let config = edit(
        &sphere_config(),
        "batches = 10",
        "batches = 10\nthreads = 100000",
    );
    refused(
        &config,
        "config.toml",
        &["[run] threads = 100000", "expected 0 (all cores) to 4096"],
    );
}

#[test]
fn photon_cutoff_out_of_range_is_rejected() {
    let config = format!("{}\n[physics]\nphoton_cutoff_kev = 0.1\n", sphere_config());
    refused(
        &config,
        "config.toml",
        &[
            "[physics] photon_cutoff_kev = 0.1",
            "expected a value from 1 keV",
        ],
    );
}

#[test]
fn too_few_batches_is_rejected() {
    let config = edit(&sphere_config(), "batches = 10", "batches = 5");
    refused(
        &config,
        "config.toml",
        &["[run] batches = 5", "expected at least 10"],
    );
}

// ---------------------------------------------------------------------------------------
// [phantom]
// ---------------------------------------------------------------------------------------

#[test]
fn negative_size_mm_is_rejected() {
    let config = edit(
        &sphere_config(),
        "size_mm = [40.0, 40.0, 40.0]",
        "size_mm = [40.0, -40.0, 40.0]",
    );
    refused(
        &config,
        "config.toml",
        &[
            "[phantom]",
            "size_mm[1]",
            "-40",
            "expected a positive length",
        ],
    );
}

#[test]
fn zero_voxel_mm_is_rejected() {
    let config = edit(
        &sphere_config(),
        "voxel_mm = [2.0, 2.0, 2.0]",
        "voxel_mm = [2.0, 2.0, 0.0]",
    );
    refused(
        &config,
        "config.toml",
        &["[phantom]", "voxel_mm[2]", "expected a positive length"],
    );
}

#[test]
fn negative_radius_is_rejected() {
    let config = edit(&sphere_config(), "radius_mm = 16.0", "radius_mm = -1.0");
    refused(
        &config,
        "config.toml",
        &["[phantom]", "radius_mm", "expected a positive radius"],
    );
}

#[test]
fn unknown_material_is_rejected() {
    let config = edit(
        &sphere_config(),
        "material = \"soft_tissue\"",
        "material = \"unobtainium\"",
    );
    refused(
        &config,
        "config.toml",
        &[
            "[phantom] material",
            "unobtainium",
            "expected one of",
            "soft_tissue",
        ],
    );
}

#[test]
fn unknown_background_material_is_rejected() {
    let config = edit(
        &sphere_config(),
        "background = \"air\"",
        "background = \"aether\"",
    );
    refused(
        &config,
        "config.toml",
        &["[phantom] background", "aether", "expected one of"],
    );
}

#[test]
fn unknown_phantom_kind_is_rejected() {
    let config = edit(&sphere_config(), "kind = \"sphere\"", "kind = \"cylinder\"");
    refused(
        &config,
        "config.toml",
        &["[phantom] kind", "cylinder", "expected one of", "'sphere'"],
    );
}

#[test]
fn missing_required_phantom_key_is_rejected() {
    let config = edit(&sphere_config(), "radius_mm = 16.0\n", "");
    refused(
        &config,
        "config.toml",
        &["[phantom] radius_mm is missing", "sphere"],
    );
}

#[test]
fn phantom_key_of_another_kind_is_rejected() {
    // radius_mm belongs to kind = "sphere", not "box".
    let config = edit(&sphere_config(), "kind = \"sphere\"", "kind = \"box\"");
    let config = edit(&config, "background = \"air\"\n", "");
    refused(
        &config,
        "config.toml",
        &["[phantom] radius_mm", "does not apply", "'box'", "size_mm"],
    );
}

// ---------------------------------------------------------------------------------------
// [source]
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_nuclide_is_rejected() {
    let config = edit(&sphere_config(), "\"Tc-99m\"", "\"Xx-999\"");
    refused(
        &config,
        "config.toml",
        &["[source] nuclide", "Xx-999", "expected one of", "Tc-99m"],
    );
}

#[test]
fn both_energy_and_nuclide_is_rejected() {
    let config = edit(
        &sphere_config(),
        "nuclide = \"Tc-99m\"",
        "nuclide = \"Tc-99m\"\nenergy_kev = 140.5",
    );
    refused(
        &config,
        "config.toml",
        &["[source] energy_kev and nuclide", "expected exactly one"],
    );
}

#[test]
fn neither_energy_nor_nuclide_is_rejected() {
    let config = edit(&sphere_config(), "nuclide = \"Tc-99m\"\n", "");
    refused(
        &config,
        "config.toml",
        &[
            "[source] neither energy_kev nor nuclide",
            "expected exactly one",
        ],
    );
}

#[test]
fn energy_kev_out_of_range_is_rejected() {
    for bad in ["20000.0", "0.5", "0.0", "-140.0", "nan", "inf"] {
        let config = edit(
            &sphere_config(),
            "nuclide = \"Tc-99m\"",
            &format!("energy_kev = {bad}"),
        );
        refused(
            &config,
            "config.toml",
            &[
                "[source] energy_kev",
                "expected a photon energy from 1 to 10000 keV",
            ],
        );
    }
}

#[test]
fn energy_below_photon_cutoff_is_rejected() {
    let config = edit(&sphere_config(), "nuclide = \"Tc-99m\"", "energy_kev = 5.0");
    let config = format!("{config}\n[physics]\nphoton_cutoff_kev = 10.0\n");
    refused(
        &config,
        "config.toml",
        &["[source] energy_kev", "photon_cutoff_kev"],
    );
}

#[test]
fn unknown_source_kind_is_rejected() {
    let config = edit(&sphere_config(), "kind = \"uniform\"", "kind = \"plane\"");
    refused(
        &config,
        "config.toml",
        &["[source] kind", "plane", "expected one of", "'uniform'"],
    );
}

#[test]
fn source_key_of_another_kind_is_rejected() {
    // direction belongs to kind = "beam", not "uniform".
    let config = edit(
        &sphere_config(),
        "labels = [1]",
        "labels = [1]\ndirection = [0.0, 0.0, 1.0]",
    );
    refused(
        &config,
        "config.toml",
        &[
            "[source] direction",
            "does not apply",
            "'uniform'",
            "labels",
        ],
    );
}

#[test]
fn uniform_source_label_not_in_phantom_is_rejected() {
    let config = edit(&sphere_config(), "labels = [1]", "labels = [1, 7]");
    refused(
        &config,
        "config.toml",
        &[
            "[source] labels",
            "label 7 is not in the phantom",
            "1 (sphere)",
        ],
    );
}

#[test]
fn uniform_source_in_vacuum_is_rejected() {
    let config = edit(
        &sphere_config(),
        "background = \"air\"",
        "background = \"vacuum\"",
    );
    let config = edit(&config, "labels = [1]", "labels = [0]");
    refused(&config, "config.toml", &["[source] labels", "no mass"]);
}

#[test]
fn beam_with_zero_direction_is_rejected() {
    let source = "[source]\nkind = \"beam\"\nenergy_kev = 100.0\nposition_mm = [0.0, 0.0, -30.0]\ndirection = [0.0, 0.0, 0.0]\n";
    let config = edit(&sphere_config(), TC99M_UNIFORM.trim_start(), source);
    refused(&config, "config.toml", &["[source]", "direction"]);
}

// ---------------------------------------------------------------------------------------
// [output]
// ---------------------------------------------------------------------------------------

#[test]
fn output_path_that_is_a_directory_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("results")).unwrap();
    let config = edit(&sphere_config(), "path = \"out.h5\"", "path = \"results\"");
    refused_in(
        dir.path(),
        &config,
        "config.toml",
        &["[output] path", "results", "expected a file name"],
    );
}

/// A NIfTI dose map must be named `.nii` or `.nii.gz`. The name is only checked when the
/// map is written, after the whole simulation and after the HDF5 file has been written:
/// the run fails with exit code 1 but leaves `out.h5` behind.
#[test]

fn dose_nifti_with_wrong_extension_is_rejected() {
    let config = edit(&sphere_config(), "\"dose.nii.gz\"", "\"dose.png\"");
    refused(
        &config,
        "config.toml",
        &["[output] dose_nifti", "dose.png", ".nii"],
    );
}

// ---------------------------------------------------------------------------------------
// NIfTI inputs
// ---------------------------------------------------------------------------------------

#[test]
fn missing_label_map_is_rejected() {
    let config = edit(&nifti_config(), "\"labels.nii.gz\"", "\"missing.nii.gz\"");
    refused_nifti(
        &config,
        |_| {},
        "missing.nii.gz",
        &["config.toml", "[phantom] labels", "not found"],
    );
}

#[test]
fn missing_label_table_is_rejected() {
    let config = edit(&nifti_config(), "\"table.toml\"", "\"no_table.toml\"");
    refused_nifti(&config, |_| {}, "no_table.toml", &["cannot read"]);
}

/// The error for a missing label table names only the table file, unlike the one for a
/// missing label map ("config.toml: \[phantom\] labels: missing.nii.gz: file not found"): it
/// names neither the configuration file nor the key `[phantom] table`.
#[test]

fn missing_label_table_names_the_config_and_key() {
    let config = edit(&nifti_config(), "\"table.toml\"", "\"no_table.toml\"");
    refused_nifti(
        &config,
        |_| {},
        "no_table.toml",
        &["config.toml", "[phantom] table"],
    );
}

#[test]
fn garbage_nifti_label_map_is_rejected() {
    let config = edit(&nifti_config(), "\"labels.nii.gz\"", "\"garbage.nii\"");
    refused_nifti(
        &config,
        |d| {
            // 4 KiB of pseudo-random bytes (splitmix64).
            let mut x = 0x1234_5678_9abc_def0u64;
            let bytes: Vec<u8> = (0..4096)
                .map(|_| {
                    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let mut z = x;
                    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                    (z ^ (z >> 31)) as u8
                })
                .collect();
            std::fs::write(d.join("garbage.nii"), bytes).unwrap();
        },
        "garbage.nii",
        &["config.toml", "[phantom] labels"],
    );
}

#[test]
fn truncated_nifti_label_map_is_rejected() {
    let config = edit(&nifti_config(), "\"labels.nii.gz\"", "\"short.nii\"");
    refused_nifti(
        &config,
        |d| {
            let g = nifti_grid();
            nifti_io::write_labels(&d.join("full.nii"), &g, &nifti_labels(&g)).unwrap();
            let bytes = std::fs::read(d.join("full.nii")).unwrap();
            std::fs::write(d.join("short.nii"), &bytes[..bytes.len() / 2]).unwrap();
        },
        "short.nii",
        &["config.toml", "[phantom] labels"],
    );
}

#[test]
fn label_not_in_table_names_the_voxel() {
    refused_nifti(
        &nifti_config(),
        |d| {
            let g = nifti_grid();
            let mut labels = nifti_labels(&g);
            labels[g.index(3, 4, 5)] = 5;
            labels[g.index(9, 9, 9)] = 5;
            nifti_io::write_labels(&d.join("labels.nii.gz"), &g, &labels).unwrap();
        },
        "labels.nii.gz",
        &[
            "voxel (3, 4, 5)",
            "label 5",
            "not in the label table",
            "table.toml",
        ],
    );
}

#[test]
fn negative_label_names_the_voxel() {
    refused_nifti(
        &nifti_config(),
        |d| {
            let g = nifti_grid();
            let mut labels: Vec<f64> = nifti_labels(&g).iter().map(|&l| l as f64).collect();
            labels[g.index(2, 3, 4)] = -1.0;
            nifti_io::write_f32(&d.join("labels.nii.gz"), &g, &labels, "labels").unwrap();
        },
        "labels.nii.gz",
        &[
            "[phantom] labels",
            "(2, 3, 4)",
            "-1",
            "expected a non-negative integer",
        ],
    );
}

#[test]
fn table_with_unknown_material_is_rejected() {
    refused_nifti(
        &nifti_config(),
        |d| {
            let t = LABEL_TABLE.replace("\"cortical_bone\"", "\"kryptonite\"");
            write(d, "table.toml", &t);
        },
        "table.toml",
        &[
            "[[label]] #3",
            "value 2",
            "bone_block",
            "kryptonite",
            "expected one of",
        ],
    );
}

#[test]
fn table_with_unknown_key_is_rejected() {
    refused_nifti(
        &nifti_config(),
        |d| {
            let t = LABEL_TABLE.replace("density_g_cm3 = 1.85", "density = 1.85");
            write(d, "table.toml", &t);
        },
        "table.toml",
        &["`density`", "unknown field", "density_g_cm3"],
    );
}

#[test]
fn table_with_negative_density_is_rejected() {
    refused_nifti(
        &nifti_config(),
        |d| {
            let t = LABEL_TABLE.replace("density_g_cm3 = 1.85", "density_g_cm3 = -1.85");
            write(d, "table.toml", &t);
        },
        "labels.nii.gz",
        &[
            "label 2",
            "bone_block",
            "density -1.85",
            "expected a finite value >= 0",
        ],
    );
}

#[test]
fn density_map_on_another_grid_is_rejected() {
    let config = edit(
        &nifti_config(),
        "table = \"table.toml\"",
        "table = \"table.toml\"\ndensity = \"density.nii.gz\"",
    );
    refused_nifti(
        &config,
        |d| {
            let g = GridGeometry::new(
                [16, 15, 16],
                [2.0; 3],
                [31.0, -12.5, 40.0],
                [-1.0, 1.0, 1.0],
            )
            .unwrap();
            nifti_io::write_f32(&d.join("density.nii.gz"), &g, &vec![1.0; g.len()], "rho").unwrap();
        },
        "density.nii.gz",
        &["density map", "[16, 15, 16]", "[16, 16, 16]"],
    );
}

#[test]
fn density_map_negative_value_names_the_voxel() {
    let config = edit(
        &nifti_config(),
        "table = \"table.toml\"",
        "table = \"table.toml\"\ndensity = \"density.nii.gz\"",
    );
    refused_nifti(
        &config,
        |d| {
            let g = nifti_grid();
            let mut rho = vec![1.0; g.len()];
            rho[g.index(5, 6, 7)] = -0.5;
            nifti_io::write_f32(&d.join("density.nii.gz"), &g, &rho, "rho").unwrap();
        },
        "labels.nii.gz",
        &[
            "density map voxel (5, 6, 7)",
            "-0.5",
            "expected a finite value >= 0",
        ],
    );
}

#[test]
fn table_with_duplicate_label_is_rejected() {
    refused_nifti(
        &nifti_config(),
        |d| {
            let t = format!(
                "{LABEL_TABLE}\n[[label]]\nvalue = 1\nname = \"again\"\nmaterial = \"water\"\n"
            );
            write(d, "table.toml", &t);
        },
        "labels.nii.gz",
        &["label 1", "more than once", "table.toml"],
    );
}

#[test]
fn activity_map_on_another_grid_is_rejected() {
    refused_nifti(
        &nifti_config(),
        |d| {
            let g = GridGeometry::new(
                [16, 16, 15],
                [2.0; 3],
                [31.0, -12.5, 40.0],
                [-1.0, 1.0, 1.0],
            )
            .unwrap();
            nifti_io::write_f32(&d.join("activity.nii.gz"), &g, &vec![1.0; g.len()], "a").unwrap();
        },
        "activity.nii.gz",
        &[
            "activity map on another grid",
            "[16, 16, 15]",
            "[16, 16, 16]",
        ],
    );
}

#[test]
fn activity_map_with_other_placement_is_rejected() {
    refused_nifti(
        &nifti_config(),
        |d| {
            // Same dimensions, but not flipped: the voxels are elsewhere in the world.
            let g = GridGeometry::new([16; 3], [2.0; 3], [31.0, -12.5, 40.0], [1.0; 3]).unwrap();
            nifti_io::write_f32(&d.join("activity.nii.gz"), &g, &vec![1.0; g.len()], "a").unwrap();
        },
        "activity.nii.gz",
        &["activity map on another grid"],
    );
}

/// When only the axis directions differ, the message must say so: printing the voxel size
/// and origin alone shows two identical grids.
#[test]

fn activity_map_with_flipped_axis_says_what_differs() {
    refused_nifti(
        &nifti_config(),
        |d| {
            let g = GridGeometry::new([16; 3], [2.0; 3], [31.0, -12.5, 40.0], [1.0; 3]).unwrap();
            nifti_io::write_f32(&d.join("activity.nii.gz"), &g, &vec![1.0; g.len()], "a").unwrap();
        },
        "activity.nii.gz",
        &["activity map on another grid", "axis"],
    );
}

/// Writes an activity map equal to the valid one except for `value` at voxel `v`.
fn activity_with(d: &Path, v: [usize; 3], value: f64) {
    let g = nifti_grid();
    let mut act: Vec<f64> = nifti_labels(&g)
        .iter()
        .map(|&l| if l == 2 { 1.0 } else { 0.0 })
        .collect();
    act[g.index(v[0], v[1], v[2])] = value;
    nifti_io::write_f32(&d.join("activity.nii.gz"), &g, &act, "a").unwrap();
}

#[test]
fn activity_map_negative_value_names_the_voxel() {
    refused_nifti(
        &nifti_config(),
        |d| activity_with(d, [7, 8, 9], -2.5),
        "activity.nii.gz",
        &["voxel (7, 8, 9)", "-2.5", "expected a finite value >= 0"],
    );
}

#[test]
fn activity_map_nan_names_the_voxel() {
    refused_nifti(
        &nifti_config(),
        |d| activity_with(d, [1, 2, 3], f64::NAN),
        "activity.nii.gz",
        &["voxel (1, 2, 3)", "NaN", "expected a finite value >= 0"],
    );
}

#[test]
fn activity_map_infinite_value_names_the_voxel() {
    refused_nifti(
        &nifti_config(),
        |d| activity_with(d, [15, 0, 2], f64::INFINITY),
        "activity.nii.gz",
        &["voxel (15, 0, 2)", "inf", "expected a finite value >= 0"],
    );
}

#[test]
fn activity_map_all_zero_is_rejected() {
    refused_nifti(
        &nifti_config(),
        |d| {
            let g = nifti_grid();
            nifti_io::write_f32(&d.join("activity.nii.gz"), &g, &vec![0.0; g.len()], "a").unwrap();
        },
        "activity.nii.gz",
        &["zero activity", "expected some activity"],
    );
}

#[test]
fn missing_activity_map_is_rejected() {
    let config = edit(&nifti_config(), "\"activity.nii.gz\"", "\"nowhere.nii.gz\"");
    refused_nifti(
        &config,
        |_| {},
        "nowhere.nii.gz",
        &["config.toml", "[source] map", "not found"],
    );
}

// ---------------------------------------------------------------------------------------
// An existing result survives a refused run
// ---------------------------------------------------------------------------------------

#[test]
fn existing_output_is_untouched_by_a_refused_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A good run writes out.h5 and dose.nii.gz.
    let good = edit(
        &sphere_config(),
        &format!("histories = {HUGE}"),
        "histories = 2000",
    );
    let cfg = write(d, "good.toml", &good);
    run_config(d, &cfg, &[]).assert_success();
    let h5 = std::fs::read(d.join("out.h5")).unwrap();
    let nii = std::fs::read(d.join("dose.nii.gz")).unwrap();
    let mtime = std::fs::metadata(d.join("out.h5"))
        .unwrap()
        .modified()
        .unwrap();

    // A bad run aimed at the same files, through the config and through --output.
    let bad = edit(&sphere_config(), "\"Tc-99m\"", "\"Xx-999\"");
    refused_in(d, &bad, "config.toml", &["Xx-999"]);
    let cfg = d.join("config.toml");
    let out = pedisim_within(
        d,
        [
            "run".as_ref(),
            cfg.as_os_str(),
            "--output".as_ref(),
            d.join("out.h5").as_os_str(),
        ],
        LIMIT,
    );
    assert_ne!(out.code, Some(0));

    assert_eq!(
        std::fs::read(d.join("out.h5")).unwrap(),
        h5,
        "out.h5 changed"
    );
    assert_eq!(
        std::fs::read(d.join("dose.nii.gz")).unwrap(),
        nii,
        "dose.nii.gz changed"
    );
    assert_eq!(
        std::fs::metadata(d.join("out.h5"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
    let left: Vec<String> = tree(d).into_iter().collect();
    assert_eq!(
        left,
        ["config.toml", "dose.nii.gz", "good.toml", "out.h5"],
        "unexpected files"
    );
}
