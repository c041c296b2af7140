//! End-to-end runs of the `pedisim` binary, checked through its output files.
//!
//! - a smoke-like run (soft-tissue sphere, Tc-99m): HDF5 layout, attributes, energy balance,
//!   NaN pattern, dose = energy / mass, organ table = voxel sums;
//! - determinism over thread counts, and seed dependence;
//! - a NIfTI phantom with a flipped, offset affine, a label table and an activity map:
//!   paths relative to the config file, dose where the activity is, the NIfTI dose map on
//!   the input grid;
//! - a pencil beam from outside the grid: uncollided transmission against NIST XCOM;
//! - the informational subcommands.
//!
//! Histories are few (20 000 on grids of at most 20^3 voxels): the whole file runs in a
//! few seconds.

mod common;

use common::*;
use pedisim_io::{h5, nifti_io};
use std::path::Path;

/// MeV -> J (CODATA 2018, exact).
const J_PER_MEV: f64 = 1.602_176_634e-13;

/// The five voxel datasets, all of shape `[nz, ny, nx]`.
const VOXEL_DATASETS: [&str; 5] = [
    "/dose/energy_deposit_mev",
    "/dose/dose_gy",
    "/dose/relative_uncertainty",
    "/phantom/labels",
    "/phantom/density_g_cm3",
];

/// Reads a voxel dataset as f64 and checks its shape `[nz, ny, nx]`.
fn volume(p: &Path, name: &str, dims_xyz: [usize; 3]) -> Vec<f64> {
    let (v, shape) = h5::read_f64_dataset(p, name).unwrap();
    assert_eq!(
        shape,
        vec![dims_xyz[2], dims_xyz[1], dims_xyz[0]],
        "shape of {name}"
    );
    v
}

fn labels_of(p: &Path) -> Vec<u32> {
    h5::read_u32_dataset(p, "/phantom/labels").unwrap().0
}

fn summary_f64(p: &Path, name: &str) -> f64 {
    h5::read_attr_f64(p, "/summary", name).unwrap()
}

fn summary_u64(p: &Path, name: &str) -> u64 {
    h5::read_attr_u64(p, "/summary", name).unwrap()
}

/// Checks the invariants of docs/formats.md that hold for any run; returns the voxel
/// energies.
fn check_invariants(p: &Path, dims: [usize; 3], histories: u64) -> Vec<f64> {
    let energy = volume(p, "/dose/energy_deposit_mev", dims);
    let dose = volume(p, "/dose/dose_gy", dims);
    let rel = volume(p, "/dose/relative_uncertainty", dims);
    let density = volume(p, "/phantom/density_g_cm3", dims);
    let labels = labels_of(p);
    assert_eq!(labels.len(), energy.len());

    // Grid attributes.
    let d = h5::read_attr_f64_array(p, "/", "dims_xyz").unwrap();
    assert_eq!(d, dims.map(|x| x as f64).to_vec());
    let voxel = h5::read_attr_f64_array(p, "/", "voxel_size_mm").unwrap();
    let voxel_cm3 = voxel.iter().product::<f64>() * 1e-3;

    // Run attributes.
    assert_eq!(h5::read_attr_u64(p, "/", "histories").unwrap(), histories);
    assert_eq!(
        h5::read_attr_string(p, "/", "format_version").unwrap(),
        "1.5"
    );
    assert_eq!(
        h5::read_attr_string(p, "/", "pedisim_version").unwrap(),
        env!("CARGO_PKG_VERSION")
    );
    assert!(h5::read_attr_f64(p, "/", "wall_seconds").unwrap() > 0.0);
    assert!(h5::read_attr_u64(p, "/", "threads").unwrap() >= 1);
    assert_eq!(
        h5::read_attr_u64(p, "/summary", "histories").unwrap(),
        histories
    );

    // Energy balance, and the voxel tally against the run total.
    let emitted = summary_f64(p, "emitted_energy_mev");
    let deposited = summary_f64(p, "deposited_energy_mev");
    let escaped = summary_f64(p, "escaped_energy_mev");
    assert!(emitted > 0.0);
    assert!(
        rel_diff(emitted, deposited + escaped) <= 1e-9,
        "energy balance: emitted {emitted} != deposited {deposited} + escaped {escaped}"
    );
    let voxel_sum: f64 = energy.iter().sum();
    assert!(
        rel_diff(voxel_sum * histories as f64, deposited) <= 1e-6,
        "sum of voxel energies {voxel_sum} x {histories} != deposited {deposited}"
    );

    // Per voxel: signs, NaN pattern, dose = energy / mass.
    for i in 0..energy.len() {
        assert!(
            energy[i].is_finite() && energy[i] >= 0.0,
            "energy[{i}] = {}",
            energy[i]
        );
        assert!(
            dose[i].is_finite() && dose[i] >= 0.0,
            "dose[{i}] = {}",
            dose[i]
        );
        if energy[i] == 0.0 {
            assert!(
                rel[i].is_nan(),
                "voxel {i}: no energy but uncertainty {}",
                rel[i]
            );
            assert_eq!(dose[i], 0.0);
        } else {
            assert!(
                rel[i].is_finite() && rel[i] >= 0.0,
                "voxel {i}: energy {} but uncertainty {}",
                energy[i],
                rel[i]
            );
        }
        let mass_kg = density[i] * voxel_cm3 * 1e-3;
        if mass_kg > 0.0 {
            let expected = energy[i] * J_PER_MEV / mass_kg;
            assert!(
                rel_diff(dose[i], expected) <= 1e-12,
                "voxel {i}: dose {} != energy x J / mass = {expected}",
                dose[i]
            );
        }
    }

    // Organ table against the voxels.
    let organs = h5::read_organs(p).unwrap();
    let mut table_labels: Vec<u32> = organs.iter().map(|o| o.label).collect();
    table_labels.sort();
    let mut present: Vec<u32> = labels.clone();
    present.sort();
    present.dedup();
    assert_eq!(
        table_labels, present,
        "organ table rows vs labels in the phantom"
    );
    for o in &organs {
        let (mut e, mut m) = (0.0, 0.0);
        for i in 0..labels.len() {
            if labels[i] == o.label {
                e += energy[i];
                m += density[i] * voxel_cm3 * 1e-3;
            }
        }
        assert!(
            rel_diff(o.energy_deposit_mev, e) <= 1e-9,
            "organ {} ({}): energy {} != voxel sum {e}",
            o.label,
            o.name,
            o.energy_deposit_mev
        );
        assert!(
            rel_diff(o.mass_kg, m) <= 1e-9,
            "organ {}: mass {} != voxel sum {m}",
            o.label,
            o.mass_kg
        );
        if o.mass_kg > 0.0 {
            assert!(
                rel_diff(o.dose_gy, o.energy_deposit_mev * J_PER_MEV / o.mass_kg) <= 1e-12,
                "organ {}: dose {} != energy x J / mass",
                o.label,
                o.dose_gy
            );
        }
        if o.energy_deposit_mev > 0.0 {
            assert!(
                o.relative_uncertainty.is_finite() && o.relative_uncertainty >= 0.0,
                "organ {}: uncertainty {}",
                o.label,
                o.relative_uncertainty
            );
        } else {
            assert!(o.relative_uncertainty.is_nan());
        }
    }
    energy
}

// ---------------------------------------------------------------------------------------
// Smoke-like run
// ---------------------------------------------------------------------------------------

#[test]
fn smoke_run_writes_a_consistent_hdf5_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke.h5");
    let cfg = write(
        dir.path(),
        "smoke.toml",
        &smoke_config(20_000, 20261123, &out, None),
    );
    run_config(dir.path(), &cfg, &[]).assert_success();
    let dims = [20, 20, 20];

    for name in VOXEL_DATASETS {
        let (_, shape) = h5::read_f64_dataset(&out, name).unwrap();
        assert_eq!(shape, vec![20, 20, 20], "{name}");
    }
    let energy = check_invariants(&out, dims, 20_000);

    // Root attributes.
    assert_eq!(h5::read_attr_u64(&out, "/", "seed").unwrap(), 20261123);
    assert_eq!(h5::read_attr_u64(&out, "/", "batches").unwrap(), 10);
    assert_eq!(
        h5::read_attr_u64(&out, "/", "histories_per_batch").unwrap(),
        2000
    );
    let toml = h5::read_attr_string(&out, "/", "config_toml").unwrap();
    for needle in ["Tc-99m", "sphere", "soft_tissue", "20261123"] {
        assert!(toml.contains(needle), "config_toml lacks {needle}:\n{toml}");
    }
    let cf = h5::read_attr_string(&out, "/", "config_file").unwrap();
    assert!(cf.ends_with("smoke.toml"), "config_file = {cf}");
    assert_eq!(
        h5::read_attr_f64_array(&out, "/", "voxel_size_mm").unwrap(),
        vec![2.0, 2.0, 2.0]
    );
    // A built-in phantom is centred on the world origin.
    assert_eq!(
        h5::read_attr_f64_array(&out, "/", "origin_mm").unwrap(),
        vec![-19.0, -19.0, -19.0]
    );
    assert_eq!(
        h5::read_attr_f64_array(&out, "/", "axis_sign").unwrap(),
        vec![1.0, 1.0, 1.0]
    );
    for name in [
        "cutoff_energy_mev",
        "uncollided_escapes",
        "primary_photons",
        "real_interactions",
    ] {
        h5::read_attr_f64(&out, "/summary", name).unwrap();
    }

    // The phantom: a sphere of soft tissue in air (data/materials.toml densities, stored
    // as f32 by the phantom).
    let labels = labels_of(&out);
    let density = volume(&out, "/phantom/density_g_cm3", dims);
    let n_sphere = labels.iter().filter(|&&l| l == 1).count();
    // 4/3 pi (16 mm)^3 / (2 mm)^3 = 2145 voxels, give or take the staircase.
    assert!((1900..2400).contains(&n_sphere), "{n_sphere} sphere voxels");
    for (l, d) in labels.iter().zip(&density) {
        let expected = if *l == 1 { 1.06f32 } else { 0.001_204_79_f32 };
        assert_eq!(*d, expected as f64);
    }

    // The organ table.
    let organs = h5::read_organs(&out).unwrap();
    let names: Vec<(&str, &str)> = organs
        .iter()
        .map(|o| (o.name.as_str(), o.material.as_str()))
        .collect();
    assert_eq!(names, [("background", "air"), ("sphere", "soft_tissue")]);
    let sphere = &organs[1];
    assert!(sphere.relative_uncertainty < 0.05, "{sphere:?}");
    // Tc-99m: 0.0162 MeV of electrons per decay (deposited locally) plus part of the
    // 0.126 MeV of photons (a 16 mm sphere absorbs a small part of them).
    assert!(
        (0.0159..0.05).contains(&sphere.energy_deposit_mev),
        "{sphere:?}"
    );
    // Most voxels of the sphere got something.
    let hit = (0..labels.len())
        .filter(|&i| labels[i] == 1 && energy[i] > 0.0)
        .count();
    assert!(hit as f64 > 0.99 * n_sphere as f64, "{hit} of {n_sphere}");
}

#[test]
fn dose_volume_histograms_are_written_to_hdf5_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.h5");
    let csv = dir.path().join("dvh.csv");
    let mut text = smoke_config(4000, 5, &out, None);
    text.push_str(&format!("dvh_csv = {}\n", toml_path(&csv)));
    let cfg = write(dir.path(), "c.toml", &text);
    run_config(dir.path(), &cfg, &[]).assert_success();
    let labels = labels_of(&out);
    let (dose, _) = h5::read_f64_dataset(&out, "/dose/dose_gy").unwrap();
    let (density, _) = h5::read_f64_dataset(&out, "/phantom/density_g_cm3").unwrap();
    let organs = h5::read_organs(&out).unwrap();
    let label = h5::read_u64_dataset(&out, "/dvh_summary/label").unwrap();
    let (d_mean, _) = h5::read_f64_dataset(&out, "/dvh_summary/d_mean_gy").unwrap();
    let (d_max, _) = h5::read_f64_dataset(&out, "/dvh_summary/d_max_gy").unwrap();
    let (d50, _) = h5::read_f64_dataset(&out, "/dvh_summary/d50_gy").unwrap();
    let (d2, _) = h5::read_f64_dataset(&out, "/dvh_summary/d2_gy").unwrap();
    let (d98, _) = h5::read_f64_dataset(&out, "/dvh_summary/d98_gy").unwrap();
    assert_eq!(label, [0, 1]);
    for (k, o) in organs.iter().enumerate() {
        // The DVH's mean is the organ dose; the ordering of the summary holds.
        assert!(
            rel_diff(d_mean[k], o.dose_gy) < 1e-9,
            "{} vs {}",
            d_mean[k],
            o.dose_gy
        );
        assert!(d98[k] <= d50[k] && d50[k] <= d2[k] && d2[k] <= d_max[k]);
        // The maximum is the largest voxel dose of the label (equal densities inside
        // each label here, so the mass weights do not matter for the maximum).
        let max = (0..labels.len())
            .filter(|&i| labels[i] == o.label && density[i] > 0.0)
            .map(|i| dose[i])
            .fold(0.0, f64::max);
        assert_eq!(d_max[k], max);
    }
    let curve_label = h5::read_u64_dataset(&out, "/dvh/label").unwrap();
    let (fraction, _) = h5::read_f64_dataset(&out, "/dvh/volume_fraction").unwrap();
    assert_eq!(curve_label.len(), 2 * 101);
    for k in 0..2 {
        let f = &fraction[k * 101..(k + 1) * 101];
        assert_eq!(f[0], 1.0);
        assert!(f.windows(2).all(|w| w[1] <= w[0]), "not decreasing: {f:?}");
        assert!(f[100] > 0.0, "the maximum dose is received by some mass");
    }
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("1,sphere,")).count(),
        101
    );
}

#[test]
fn report_draws_the_figures_of_a_result() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.h5");
    let cfg = write(dir.path(), "c.toml", &smoke_config(2000, 2, &out, None));
    run_config(dir.path(), &cfg, &[]).assert_success();
    let o = pedisim(dir.path(), ["report", "out.h5", "-o", "figs"]);
    o.assert_success();
    for name in ["dose_slices.png", "dvh.png"] {
        let p = dir.path().join("figs").join(name);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{name}");
        assert!(o.stdout.contains(name), "{}", o.stdout);
    }
    // A file that is not a dose result is refused with its name.
    let o = pedisim(dir.path(), ["report", "c.toml", "-o", "figs2"]);
    assert_ne!(o.code, Some(0));
    assert!(o.stderr.contains("c.toml"), "{}", o.stderr);
    assert!(!dir.path().join("figs2").join("dvh.png").exists());
}

#[test]
fn histories_are_rounded_up_to_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.h5");
    let cfg = write(dir.path(), "c.toml", &smoke_config(1000, 3, &out, None));
    run_config(dir.path(), &cfg, &["--histories", "2001"]).assert_success();
    assert_eq!(h5::read_attr_u64(&out, "/", "histories").unwrap(), 2010);
    assert_eq!(
        h5::read_attr_u64(&out, "/", "histories_per_batch").unwrap(),
        201
    );
    check_invariants(&out, [20, 20, 20], 2010);
}

// ---------------------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------------------

/// Everything in a result file that must be reproducible, as bit patterns.
fn fingerprint(p: &Path) -> Vec<(String, Vec<u64>)> {
    let mut f = Vec::new();
    for name in VOXEL_DATASETS {
        let (v, _) = h5::read_f64_dataset(p, name).unwrap();
        f.push((name.to_string(), v.iter().map(|x| x.to_bits()).collect()));
    }
    for name in [
        "emitted_energy_mev",
        "deposited_energy_mev",
        "escaped_energy_mev",
        "cutoff_energy_mev",
    ] {
        f.push((name.into(), vec![summary_f64(p, name).to_bits()]));
    }
    for name in [
        "histories",
        "uncollided_escapes",
        "primary_photons",
        "real_interactions",
        "woodcock_steps",
    ] {
        f.push((name.into(), vec![summary_u64(p, name)]));
    }
    for o in h5::read_organs(p).unwrap() {
        f.push((
            format!("organ {}", o.label),
            [o.energy_deposit_mev, o.dose_gy, o.relative_uncertainty]
                .iter()
                .map(|x| x.to_bits())
                .collect(),
        ));
    }
    f
}

#[test]
fn results_are_bit_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = write(
        d,
        "c.toml",
        &smoke_config(20_000, 77, &d.join("unused.h5"), None),
    );
    let mut prints = Vec::new();
    for threads in ["1", "2", "8"] {
        let out = d.join(format!("t{threads}.h5"));
        run_config(
            d,
            &cfg,
            &["--threads", threads, "--output", out.to_str().unwrap()],
        )
        .assert_success();
        assert_eq!(
            h5::read_attr_u64(&out, "/", "threads").unwrap().to_string(),
            threads
        );
        prints.push(fingerprint(&out));
    }
    for (k, p) in prints.iter().enumerate().skip(1) {
        for ((name, a), (_, b)) in prints[0].iter().zip(p) {
            assert!(a == b, "{name} differs between 1 thread and run {k}");
        }
    }

    // Another seed gives other numbers (same phantom).
    let other = d.join("seed78.h5");
    run_config(
        d,
        &cfg,
        &[
            "--seed",
            "78",
            "--threads",
            "2",
            "--output",
            other.to_str().unwrap(),
        ],
    )
    .assert_success();
    assert_eq!(h5::read_attr_u64(&other, "/", "seed").unwrap(), 78);
    let q = fingerprint(&other);
    for ((name, a), (_, b)) in prints[0].iter().zip(&q) {
        if name.starts_with("/phantom") || name == "histories" {
            assert_eq!(a, b, "{name}");
        } else if name.starts_with("/dose") || name.ends_with("_energy_mev") {
            // (Integer counters may coincide by chance; these f64 values cannot.)
            assert!(a != b, "{name} is the same for seeds 77 and 78");
        }
    }
    assert!(!d.join("unused.h5").exists());
}

#[test]
fn stored_config_toml_repeats_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = d.join("first.h5");
    let cfg = write(d, "c.toml", &smoke_config(5_000, 11, &first, None));
    // Overrides on the command line end up in the stored configuration.
    run_config(d, &cfg, &["--seed", "12", "--histories", "6000"]).assert_success();
    let stored = h5::read_attr_string(&first, "/", "config_toml").unwrap();
    let again = write(d, "again.toml", &stored);
    let second = d.join("second.h5");
    run_config(d, &again, &["--output", second.to_str().unwrap()]).assert_success();
    assert_eq!(h5::read_attr_u64(&second, "/", "seed").unwrap(), 12);
    assert_eq!(h5::read_attr_u64(&second, "/", "histories").unwrap(), 6000);
    assert!(fingerprint(&first) == fingerprint(&second));
}

// ---------------------------------------------------------------------------------------
// NIfTI phantom
// ---------------------------------------------------------------------------------------

#[test]
fn nifti_phantom_with_activity_map_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("case");
    let cwd = dir.path().join("elsewhere");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    write_nifti_inputs(&inputs);
    // Input paths relative to the config's directory; output paths relative to the working
    // directory (docs/config.md).
    let config = format!(
        r#"{}
[phantom]
kind = "nifti"
labels = "labels.nii.gz"
table = "table.toml"

[source]
kind = "activity_map"
map = "activity.nii.gz"
nuclide = "F-18"

[output]
path = "result.h5"
dose_nifti = "maps/dose.nii.gz"
"#,
        run_section(20_000, 5)
    );
    write(&inputs, "run.toml", &config);
    run_config(&cwd, Path::new("../case/run.toml"), &[]).assert_success();
    let out = cwd.join("result.h5");
    let dose_nii = cwd.join("maps/dose.nii.gz");
    assert!(out.is_file() && dose_nii.is_file());
    assert!(!inputs.join("result.h5").exists());

    let grid = nifti_grid();
    let input = nifti_io::read_labels(&inputs.join("labels.nii.gz")).unwrap();
    assert_eq!(input.grid, grid);
    let energy = check_invariants(&out, grid.dims, 20_000);

    // The phantom in the output is the input, on the input's grid.
    let labels = labels_of(&out);
    assert!(
        labels == input.data,
        "/phantom/labels differ from the input label map"
    );
    assert!(labels == nifti_labels(&grid));
    assert_eq!(
        h5::read_attr_f64_array(&out, "/", "origin_mm").unwrap(),
        grid.origin_mm.to_vec()
    );
    assert_eq!(
        h5::read_attr_f64_array(&out, "/", "axis_sign").unwrap(),
        grid.axis_sign.to_vec()
    );
    let density = volume(&out, "/phantom/density_g_cm3", grid.dims);
    for (l, d) in labels.iter().zip(&density) {
        // The table overrides the density of cortical bone (1.92 nominal).
        let expected = [0.001_204_79_f32, 1.06, 1.85][*l as usize];
        assert_eq!(*d, expected as f64, "label {l}");
    }
    let organs = h5::read_organs(&out).unwrap();
    let rows: Vec<(u32, &str, &str)> = organs
        .iter()
        .map(|o| (o.label, o.name.as_str(), o.material.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (0, "outside", "air"),
            (1, "body", "soft_tissue"),
            (2, "bone_block", "cortical_bone")
        ]
    );
    let bone_mass = 64.0 * 0.008 * 1.85f32 as f64 * 1e-3;
    assert!(
        rel_diff(organs[2].mass_kg, bone_mass) < 1e-9,
        "{:?}",
        organs[2]
    );

    // The dose is where the activity is: F-18's positrons (0.24 MeV per decay) are
    // deposited in the bone block, the 511 keV photons mostly escape the small phantom.
    let dose = volume(&out, "/dose/dose_gy", grid.dims);
    let argmax = |v: &[f64], keep: &dyn Fn(usize) -> bool| {
        (0..v.len())
            .filter(|&i| keep(i))
            .max_by(|&a, &b| v[a].total_cmp(&v[b]))
            .unwrap()
    };
    let i = argmax(&energy, &|_| true);
    assert_eq!(
        labels[i],
        2,
        "max energy deposit in voxel {:?}",
        grid.unflatten(i)
    );
    // Air voxels are left out of the dose maximum: their mass is 1/1000 of a tissue
    // voxel's, so a single photon interaction there gives a large (noisy) dose.
    let i = argmax(&dose, &|i| labels[i] != 0);
    assert_eq!(labels[i], 2, "max dose in voxel {:?}", grid.unflatten(i));
    assert!(
        (0..labels.len())
            .filter(|&i| labels[i] == 2)
            .all(|i| energy[i] > 0.0),
        "every bone voxel has a deposit"
    );
    let [outside, body, bone] = [0, 1, 2].map(|k| &organs[k]);
    assert!(bone.dose_gy > 20.0 * body.dose_gy, "{bone:?} vs {body:?}");
    let total: f64 = energy.iter().sum();
    // (About 0.26 MeV of 0.30 MeV deposited per decay in 0.1.0; the bounds leave room for
    // positrons that cross into the body once electrons are transported.)
    assert!(bone.energy_deposit_mev > 0.6 * total, "{organs:?}");
    assert!(bone.energy_deposit_mev > 0.2, "{bone:?}");
    assert!(outside.energy_deposit_mev < body.energy_deposit_mev);

    // The NIfTI dose map overlays the input label map and holds dose_gy as float32.
    let map = nifti_io::read_scalar(&dose_nii).unwrap();
    assert_eq!(map.grid.dims, input.grid.dims);
    assert_eq!(map.grid.axis_sign, input.grid.axis_sign);
    for a in 0..3 {
        assert!((map.grid.voxel_mm[a] - input.grid.voxel_mm[a]).abs() < 1e-6);
        assert!((map.grid.origin_mm[a] - input.grid.origin_mm[a]).abs() < 1e-4);
    }
    assert_eq!(map.data.len(), dose.len());
    for (a, b) in map.data.iter().zip(&dose) {
        assert_eq!(*a, *b as f32 as f64);
    }
}

// ---------------------------------------------------------------------------------------
// Pencil beam from outside the grid
// ---------------------------------------------------------------------------------------

/// A 100 keV pencil beam along +z through 10 cm of water, started 30 mm before the box:
/// the fraction of photons leaving without any interaction is exp(-mu t) with
/// mu/rho = 0.1707 cm2/g (NIST XCOM, water, 100 keV, total with coherent scattering).
#[test]
fn pencil_beam_uncollided_transmission_matches_xcom() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("beam.h5");
    let config = format!(
        r#"{}
[phantom]
kind = "box"
material = "water"
size_mm = [40.0, 40.0, 100.0]
voxel_mm = [4.0, 4.0, 4.0]

[source]
kind = "beam"
energy_kev = 100.0
position_mm = [0.0, 0.0, -80.0]
direction = [0.0, 0.0, 1.0]

[output]
path = {}
"#,
        run_section(20_000, 9),
        toml_path(&out)
    );
    let cfg = write(dir.path(), "beam.toml", &config);
    run_config(dir.path(), &cfg, &[]).assert_success();
    let n = 20_000.0;
    check_invariants(&out, [10, 10, 25], 20_000);
    assert_eq!(summary_u64(&out, "primary_photons"), 20_000);
    assert!(rel_diff(summary_f64(&out, "emitted_energy_mev"), n * 0.1) < 1e-12);

    let t_cm: f64 = 10.0;
    let p = (-0.1707 * 1.0 * t_cm).exp();
    let sigma = (p * (1.0 - p) / n).sqrt();
    let got = summary_u64(&out, "uncollided_escapes") as f64 / n;
    assert!(
        (got - p).abs() <= 4.0 * sigma,
        "uncollided fraction {got:.5}, expected exp(-mu t) = {p:.5} +- {sigma:.5} (1 sigma)"
    );

    // The beam enters at the centre of the z = 0 face, on the edge between the four central
    // voxels of the 10 x 10 layer: the first layer's deposit is mostly there.
    let energy = volume(&out, "/dose/energy_deposit_mev", [10, 10, 25]);
    let layer0: f64 = energy[..100].iter().sum();
    let centre: f64 = [44, 45, 54, 55].iter().map(|&i| energy[i]).sum();
    assert!(
        centre > 0.5 * layer0,
        "centre {centre} of {layer0} in the first layer"
    );
}

/// A beam that misses the grid: nothing deposited, every photon escapes uncollided, every
/// voxel uncertainty is NaN.
#[test]
fn beam_missing_the_phantom_deposits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("miss.h5");
    let config = format!(
        r#"{}
[phantom]
kind = "box"
material = "water"
size_mm = [20.0, 20.0, 20.0]
voxel_mm = [4.0, 4.0, 4.0]

[source]
kind = "beam"
energy_kev = 100.0
position_mm = [0.0, 0.0, -50.0]
direction = [0.0, 0.0, -1.0]

[output]
path = {}
"#,
        run_section(1_000, 9),
        toml_path(&out)
    );
    let cfg = write(dir.path(), "miss.toml", &config);
    run_config(dir.path(), &cfg, &[]).assert_success();
    let energy = check_invariants(&out, [5, 5, 5], 1_000);
    assert!(energy.iter().all(|&e| e == 0.0));
    assert_eq!(summary_f64(&out, "deposited_energy_mev"), 0.0);
    assert_eq!(summary_u64(&out, "uncollided_escapes"), 1_000);
    let rel = volume(&out, "/dose/relative_uncertainty", [5, 5, 5]);
    assert!(rel.iter().all(|x| x.is_nan()));
}

// ---------------------------------------------------------------------------------------
// Informational subcommands
// ---------------------------------------------------------------------------------------

#[test]
fn help_lists_the_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let out = pedisim(dir.path(), ["--help"]);
    out.assert_success();
    for s in ["Monte Carlo", "run", "materials", "nuclides"] {
        assert!(out.stdout.contains(s), "--help lacks {s}:\n{}", out.stdout);
    }
}

#[test]
fn run_help_lists_the_options() {
    let dir = tempfile::tempdir().unwrap();
    let out = pedisim(dir.path(), ["run", "--help"]);
    out.assert_success();
    for s in [
        "CONFIG",
        "--output",
        "--histories",
        "--threads",
        "--seed",
        "--quiet",
    ] {
        assert!(
            out.stdout.contains(s),
            "run --help lacks {s}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn version_is_the_workspace_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = pedisim(dir.path(), ["--version"]);
    out.assert_success();
    assert!(
        out.stdout.contains(env!("CARGO_PKG_VERSION")),
        "{}",
        out.stdout
    );
}

#[test]
fn no_subcommand_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = pedisim(dir.path(), Vec::<&str>::new());
    assert_ne!(out.code, Some(0));
    assert!(out.stderr.contains("Usage"), "{}", out.stderr);
}

#[test]
fn materials_lists_soft_tissue() {
    let dir = tempfile::tempdir().unwrap();
    let out = pedisim(dir.path(), ["materials"]);
    out.assert_success();
    let line = out
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some("soft_tissue"))
        .unwrap_or_else(|| panic!("no soft_tissue line:\n{}", out.stdout));
    assert!(line.contains("1.06") && line.contains("g/cm3"), "{line}");
    for m in ["water", "air", "cortical_bone", "lung", "vacuum"] {
        assert!(
            out.stdout.lines().any(|l| l.starts_with(m)),
            "{m} missing:\n{}",
            out.stdout
        );
    }
}

#[test]
fn nuclides_lists_tc99m() {
    let dir = tempfile::tempdir().unwrap();
    let out = pedisim(dir.path(), ["nuclides"]);
    out.assert_success();
    let line = out
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some("Tc-99m"))
        .unwrap_or_else(|| panic!("no Tc-99m line:\n{}", out.stdout));
    // Half-life 6.015 h = 2.1654e4 s (ICRP-107).
    assert!(line.contains("2.165"), "{line}");
    for n in ["F-18", "Lu-177", "I-131"] {
        assert!(out.stdout.contains(n), "{n} missing:\n{}", out.stdout);
    }
}

/// A material defined in the config (`[materials.NAME]`) is used with its own composition
/// and density: a pencil beam through 5 cm of "water at 2 g/cm3" is attenuated as
/// exp(-mu/rho rho t) with mu/rho(water, 100 keV) = 0.1707 cm2/g (NIST). Without a mean
/// excitation energy the material is refused before the run (electron transport needs it).
#[test]
fn config_defined_material_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dense.h5");
    let config = format!(
        r#"{}
[phantom]
kind = "box"
material = "dense_water"
size_mm = [40.0, 40.0, 50.0]
voxel_mm = [4.0, 4.0, 5.0]

[source]
kind = "beam"
energy_kev = 100.0
position_mm = [0.0, 0.0, -80.0]
direction = [0.0, 0.0, 1.0]

[output]
path = {}

[materials.dense_water]
density_g_cm3 = 2.0
source = "water composition (NIST) at twice its density, for this test"
composition = {{ H = 0.111894, O = 0.888106 }}
"#,
        run_section(20_000, 11),
        toml_path(&out)
    );
    let cfg = write(dir.path(), "dense.toml", &config);
    let refused = run_config(dir.path(), &cfg, &[]);
    assert_ne!(refused.code, Some(0));
    assert!(
        refused.stderr.contains("dense_water") && refused.stderr.contains("mean_excitation_ev"),
        "{}",
        refused.stderr
    );
    assert!(!out.exists());
    let config = config.replace(
        "density_g_cm3 = 2.0\n",
        "density_g_cm3 = 2.0\nmean_excitation_ev = 75.0\n",
    );
    let cfg = write(dir.path(), "dense.toml", &config);
    run_config(dir.path(), &cfg, &[]).assert_success();
    let n = 20_000.0;
    let p = (-0.1707 * 2.0 * 5.0f64).exp();
    let sigma = (p * (1.0 - p) / n).sqrt();
    let got = summary_u64(&out, "uncollided_escapes") as f64 / n;
    assert!(
        (got - p).abs() <= 4.0 * sigma,
        "uncollided fraction {got:.5}, expected {p:.5} +- {sigma:.5}"
    );
    let density = volume(&out, "/phantom/density_g_cm3", [10, 10, 10]);
    assert!(density.iter().all(|&d| d == 2.0));
}

/// A bad material definition in the config is refused before the run, naming the key.
#[test]
fn bad_config_material_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.h5");
    let config = format!(
        r#"{}
[phantom]
kind = "box"
material = "half_water"
size_mm = [40.0, 40.0, 40.0]
voxel_mm = [4.0, 4.0, 4.0]

[source]
kind = "point"
energy_kev = 100.0

[output]
path = {}

[materials.half_water]
density_g_cm3 = 1.0
composition = {{ H = 0.05, O = 0.45 }}
"#,
        run_section(1_000, 1),
        toml_path(&out)
    );
    let cfg = write(dir.path(), "bad.toml", &config);
    let o = run_config(dir.path(), &cfg, &[]);
    assert_ne!(o.code, Some(0));
    assert!(
        o.stderr.contains("[materials.half_water]") && o.stderr.contains("sum"),
        "{}",
        o.stderr
    );
    assert!(!out.exists());
}

/// Electron settings are checked before the run: a cutoff at or above the highest energy
/// the source emits, and a cutoff outside 1..1000 keV, are refused with the key named;
/// the same source with `electron_transport = "local"` runs (no cutoff applies), and its
/// summary counts no condensed-history step.
#[test]
fn bad_electron_settings_are_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e.h5");
    let config = |physics: &str| {
        format!(
            r#"{}
[phantom]
kind = "box"
material = "water"
size_mm = [40.0, 40.0, 40.0]
voxel_mm = [4.0, 4.0, 4.0]

[source]
kind = "point"
energy_kev = 30.0

[physics]
{physics}

[output]
path = {}
"#,
            run_section(2_000, 1),
            toml_path(&out)
        )
    };
    for (physics, expected) in [
        (
            "electron_cutoff_kev = 50.0",
            "highest energy the source emits",
        ),
        ("electron_cutoff_kev = 0.5", "from 1 keV"),
        ("electron_cutoff_kev = 1500.0", "from 1 keV"),
    ] {
        let cfg = write(dir.path(), "e.toml", &config(physics));
        let o = run_config(dir.path(), &cfg, &[]);
        assert_ne!(o.code, Some(0), "{physics}");
        assert!(
            o.stderr.contains("electron_cutoff_kev") && o.stderr.contains(expected),
            "{physics}: {}",
            o.stderr
        );
        assert!(!out.exists());
    }
    let cfg = write(
        dir.path(),
        "e.toml",
        &config("electron_transport = \"local\"\nelectron_cutoff_kev = 50.0"),
    );
    run_config(dir.path(), &cfg, &[]).assert_success();
    assert_eq!(summary_u64(&out, "electron_steps"), 0);
    // Local deposition records no electron physics settings; condensed history does.
    assert!(h5::read_attr_f64(&out, "/summary", "electron_c2").is_err());
    let cfg = write(
        dir.path(),
        "e.toml",
        &config("electron_transport = \"condensed\"\nelectron_cutoff_kev = 20.0"),
    );
    run_config(dir.path(), &cfg, &[]).assert_success();
    assert!(summary_u64(&out, "electron_steps") > 0);
    let attr = |n: &str| h5::read_attr_f64(&out, "/summary", n).unwrap();
    assert_eq!(attr("electron_cutoff_mev"), 0.02);
    assert_eq!(attr("electron_delta_threshold_mev"), 0.02);
    assert_eq!(attr("electron_c1"), 0.2);
    assert_eq!(attr("electron_c2"), 0.1);
}
