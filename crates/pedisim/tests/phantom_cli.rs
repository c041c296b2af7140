//! `pedisim phantom info` and `phantom generate` through the binary: a label map and its
//! table described (dimensions, per-label voxels, volumes and masses, total body mass),
//! errors for a missing table and a table naming an unknown material, a generated child
//! phantom's files and masses, and refused ages and measures.

mod common;

use common::*;
use pedisim_core::GridGeometry;
use pedisim_io::nifti_io;

/// A 10 x 8 x 6 grid of 2 x 2 x 3 mm voxels: label 0 (air) everywhere except a block of
/// water (label 1, 4 x 4 x 2 voxels) and one voxel of cortical bone at 1.85 g/cm3 (label 2).
fn write_phantom(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let grid = GridGeometry::centred([10, 8, 6], [2.0, 2.0, 3.0]).unwrap();
    let mut labels = vec![0u32; grid.len()];
    for z in 1..3 {
        for y in 2..6 {
            for x in 3..7 {
                labels[x + 10 * (y + 8 * z)] = 1;
            }
        }
    }
    labels[9 + 10 * (7 + 8 * 5)] = 2;
    let map = dir.join("block.nii.gz");
    nifti_io::write_labels(&map, &grid, &labels).unwrap();
    let table = write(
        dir,
        "block.labels.toml",
        r#"
[[label]]
value = 0
name = "outside"
material = "air"

[[label]]
value = 1
name = "block"
material = "water"

[[label]]
value = 2
name = "bone voxel"
material = "cortical_bone"
density_g_cm3 = 1.85
regions = ["C-bone-V"]
"#,
    );
    (map, table)
}

#[test]
fn phantom_info_lists_dimensions_labels_and_masses() {
    let dir = tempfile::tempdir().unwrap();
    let (map, _) = write_phantom(dir.path());
    // The table beside the map is found by its name.
    let o = pedisim(dir.path(), ["phantom", "info", map.to_str().unwrap()]);
    o.assert_success();
    assert!(
        o.stdout.contains("10 x 8 x 6 voxels of 2 x 2 x 3 mm"),
        "{}",
        o.stdout
    );
    let voxel_cm3 = 0.2 * 0.2 * 0.3;
    let row = |label: &str| {
        o.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(label))
            .unwrap_or_else(|| panic!("no row for label {label}: {}", o.stdout))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let block = row("1");
    assert_eq!(block[1], "block");
    assert_eq!(block[3], "32");
    let block_kg: f64 = block[5].parse().unwrap();
    // Water's nominal density from the material table (0.998-1.0 g/cm3).
    let expected = 32.0 * voxel_cm3 * 1e-3;
    assert!(
        (block_kg / expected - 1.0).abs() < 3e-3,
        "{block_kg} vs {expected}"
    );
    let bone = row("2");
    assert_eq!(bone[4], "1"); // (the name is two words)
    let bone_kg: f64 = bone[6].parse().unwrap();
    assert!(
        (bone_kg - 1.85 * voxel_cm3 * 1e-3).abs() < 1e-8,
        "{bone_kg}"
    );
    // Total body mass: every label but 0 and air.
    let total: f64 = o
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("total body mass: "))
        .and_then(|t| t.trim_end_matches(" kg").parse().ok())
        .unwrap();
    assert!(
        (total - (block_kg + bone_kg)).abs() < 1.5e-6,
        "{total} vs {}",
        block_kg + bone_kg
    );
}

#[test]
fn phantom_info_errors_name_the_missing_table_and_the_bad_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (map, table) = write_phantom(dir.path());
    std::fs::rename(&table, dir.path().join("other.toml")).unwrap();
    let o = pedisim(dir.path(), ["phantom", "info", map.to_str().unwrap()]);
    assert_ne!(o.code, Some(0));
    assert!(
        o.stderr.contains("block.labels.toml") && o.stderr.contains("--table"),
        "{}",
        o.stderr
    );
    let bad = write(
        dir.path(),
        "bad.toml",
        "[[label]]\nvalue = 0\nname = \"outside\"\nmaterial = \"air\"\n\n[[label]]\nvalue = 1\nname = \"block\"\nmaterial = \"unobtainium\"\n",
    );
    let o = pedisim(
        dir.path(),
        [
            "phantom",
            "info",
            map.to_str().unwrap(),
            "--table",
            bad.to_str().unwrap(),
        ],
    );
    assert_ne!(o.code, Some(0));
    assert!(
        o.stderr.contains("bad.toml")
            && o.stderr.contains("value 1")
            && o.stderr.contains("unobtainium"),
        "{}",
        o.stderr
    );
}

#[test]
fn phantom_generate_writes_a_child_with_its_reference_masses() {
    let dir = tempfile::tempdir().unwrap();
    let o = pedisim(
        dir.path(),
        [
            "phantom",
            "generate",
            "--age",
            "5",
            "--sex",
            "female",
            "--voxel-mm",
            "4",
            "-o",
            "child5f.nii.gz",
        ],
    );
    o.assert_success();
    let table = std::fs::read_to_string(dir.path().join("child5f.labels.toml")).unwrap();
    assert!(table.contains("age 5 y, sex Female"), "{table}");
    assert!(table.contains("regions = [\"Liver\"]"), "{table}");
    let info = pedisim(dir.path(), ["phantom", "info", "child5f.nii.gz"]);
    info.assert_success();
    assert_eq!(
        info.stdout, o.stdout,
        "generate prints what info reads back"
    );
    let total: f64 = info
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("total body mass: "))
        .and_then(|t| t.trim_end_matches(" kg").parse().ok())
        .unwrap();
    // ICRP 89 reference body mass of a 5-year-old girl: 19 kg (the family's fit target);
    // 3 % as in the issue's check.
    assert!((total / 19.0 - 1.0).abs() < 0.03, "{total} kg");
    let liver_kg: f64 = info
        .stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("liver"))
        .and_then(|l| l.split_whitespace().nth(5)?.parse().ok())
        .unwrap();
    // ICRP 89 liver of a 5-year-old: 0.57 kg; at 4 mm within 5 %.
    assert!((liver_kg / 0.57 - 1.0).abs() < 0.05, "{liver_kg} kg");
}

#[test]
fn phantom_generate_refuses_bad_ages_and_measures() {
    let dir = tempfile::tempdir().unwrap();
    for (args, key) in [
        (vec!["--age", "150"], "age"),
        (vec!["--age", "5", "--height-cm", "190"], "height"),
        (vec!["--age", "5", "--voxel-mm", "0"], "--voxel-mm"),
    ] {
        let mut all = vec!["phantom", "generate", "--sex", "male", "-o", "x.nii.gz"];
        all.extend(args.iter().copied());
        let o = pedisim(dir.path(), &all);
        assert_ne!(o.code, Some(0), "{args:?}");
        assert!(o.stderr.contains(key), "{args:?}: {}", o.stderr);
        assert!(!dir.path().join("x.nii.gz").exists());
        assert!(!dir.path().join("x.labels.toml").exists());
    }
}
