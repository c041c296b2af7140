//! `pedisim phantom info` through the binary: a label map and its table described
//! (dimensions, per-label voxels, volumes and masses, total body mass), and errors for a
//! missing table and a table naming an unknown material.

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
