//! `pedisim grow` through the driver: a growth run on a built-in phantom written to HDF5
//! and read back, thread independence, treatment courses built from real dose files of
//! `pedisim run`, and clear errors for bad configurations.

use pedisim_driver::growth::{growth_plan_from_file, run_growth, GrowthOverrides};
use pedisim_driver::plan::{plan_from_file, Overrides};
use pedisim_io::h5;
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// The phantom of every configuration here: 24 x 24 x 30 mm in 2 mm voxels, three layers
/// along z (the last, bone, is not invadable).
const PHANTOM: &str = r#"[phantom]
kind = "slabs"
lateral_mm = [24.0, 24.0]
voxel_mm = [2.0, 2.0, 2.0]
slabs = [
    { name = "grey", material = "brain", thickness_mm = 10.0 },
    { name = "white", material = "brain", thickness_mm = 10.0 },
    { name = "bone", material = "cortical_bone", thickness_mm = 10.0 },
]"#;

/// A 3-layer slab phantom of 24 x 24 x 30 mm in 2 mm voxels (the last layer is not
/// invadable), with a growth model and `extra` appended (treatment, output).
fn config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
[model]
kind = "continuum"

{PHANTOM}

[continuum]
rho_per_day = 0.05
carrying_capacity_cells_per_mm3 = 1.0e5
dt_day = 1.0
end_day = 40.0
output_interval_day = 10.0
snapshot_days = [0.0, 25.0, 40.0]
refine = 1

[continuum.diffusion_mm2_per_day]
grey = 0.1
white = 0.5

[continuum.initial]
centre_mm = [0.0, 0.0, -8.0]
radius_mm = 3.0
density_fraction = 0.5

[output]
path = "{out}"
csv = "{csv}"
{extra}
"#,
        out = dir.join("growth.h5").display(),
        csv = dir.join("growth.csv").display(),
    );
    let p = dir.join("growth.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn run(path: &Path, ov: &GrowthOverrides) -> pedisim_driver::growth::GrowthOutcome {
    let plan = growth_plan_from_file(path, ov).unwrap();
    run_growth(&plan, &mut |_, _| {}, &AtomicBool::new(false)).unwrap()
}

#[test]
fn growth_run_writes_its_trajectory_snapshots_and_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let out = run(
        &cfg,
        &GrowthOverrides {
            threads: Some(2),
            ..Default::default()
        },
    );
    let file = dir.path().join("growth.h5");
    assert_eq!(out.output, file);
    assert_eq!(
        h5::read_attr_string(&file, "/", "format_name").unwrap(),
        "pedisim-growth"
    );
    assert_eq!(
        h5::read_attr_string(&file, "/", "growth_format_version").unwrap(),
        "1.1"
    );
    assert!(h5::read_attr_string(&file, "/", "config_toml")
        .unwrap()
        .contains("rho_per_day = 0.05"));
    assert_eq!(h5::read_attr_u64(&file, "/", "seed").unwrap(), 1);
    assert_eq!(
        h5::read_attr_string(&file, "/", "treatment").unwrap(),
        "none"
    );
    let (t, _) = h5::read_f64_dataset(&file, "/trajectory/time_day").unwrap();
    assert_eq!(t, vec![0.0, 10.0, 20.0, 30.0, 40.0]);
    let (cells, _) = h5::read_f64_dataset(&file, "/trajectory/total_cells").unwrap();
    assert!(
        cells.windows(2).all(|w| w[1] > w[0]),
        "the tumour grows: {cells:?}"
    );
    let (snap, shape) = h5::read_f64_dataset(&file, "/snapshots/density_cells_per_mm3").unwrap();
    assert_eq!(shape, vec![3, 15, 12, 12]);
    let (labels, lshape) = h5::read_u32_dataset(&file, "/grid/labels").unwrap();
    assert_eq!(lshape, vec![15, 12, 12]);
    // No cells in the non-invadable bone layer at any time.
    for s in 0..3 {
        for (i, l) in labels.iter().enumerate() {
            if *l == 3 {
                assert_eq!(snap[s * labels.len() + i], 0.0);
            }
        }
    }
    // The cells of the last snapshot (8 mm^3 voxels) are the trajectory's last total, to the
    // f32 storage precision.
    let last: f64 = snap[2 * labels.len()..].iter().sum::<f64>() * 8.0;
    assert!(
        (last / cells[4] - 1.0).abs() < 1e-5,
        "{last} vs {}",
        cells[4]
    );
    let csv = std::fs::read_to_string(dir.path().join("growth.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6);
    assert!(csv.starts_with("time_day,total_cells,"));
    // The CSV holds the HDF5 trajectory's values exactly (round-trip notation).
    let csv_cells: Vec<f64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(csv_cells, cells);
    // pedisim report recognises a growth result: curves and one figure per snapshot.
    let figs = pedisim_driver::report::report(&file, &dir.path().join("fig"), None).unwrap();
    let names: Vec<String> = figs
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "growth_cells.png",
            "growth_radius.png",
            "growth_snapshot_day0.png",
            "growth_snapshot_day25.png",
            "growth_snapshot_day40.png"
        ]
    );
    for p in &figs {
        assert!(std::fs::read(p).unwrap().starts_with(b"\x89PNG"));
    }
}

#[test]
fn growth_results_do_not_depend_on_the_thread_count_and_refinement_keeps_the_tumour() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let a = run(
        &cfg,
        &GrowthOverrides {
            threads: Some(1),
            ..Default::default()
        },
    );
    let b = run(
        &cfg,
        &GrowthOverrides {
            threads: Some(2),
            ..Default::default()
        },
    );
    assert_eq!(a.trajectory, b.trajectory);
    // The same tumour on the grid refined twice: same initial cell count within the
    // partial-volume sampling of the sphere, similar growth.
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("refine = 1", "refine = 2");
    std::fs::write(&cfg, text).unwrap();
    let c = run(&cfg, &GrowthOverrides::default());
    let r0 = c.trajectory[0].total_cells / a.trajectory[0].total_cells;
    assert!(
        (r0 - 1.0).abs() < 0.05,
        "initial cells refined / coarse = {r0}"
    );
    let r4 = c.trajectory[4].total_cells / a.trajectory[4].total_cells;
    assert!(
        (r4 - 1.0).abs() < 0.1,
        "cells at 40 days refined / coarse = {r4}"
    );
}

/// Runs `pedisim run` on the growth phantom with `source` and returns the dose file.
fn dose_file(dir: &Path, name: &str, source: &str) -> std::path::PathBuf {
    let out = dir.join(format!("{name}.h5"));
    let text = format!(
        r#"
[run]
histories = 20000
batches = 10
seed = 7

{PHANTOM}

[source]
{source}

[physics]
electron_transport = "local"

[output]
path = "{}"
"#,
        out.display()
    );
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(&cfg, text).unwrap();
    let plan = plan_from_file(
        &cfg,
        &Overrides {
            threads: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    pedisim_driver::execute(&plan, &mut |_, _| {}, &AtomicBool::new(false)).unwrap();
    out
}

#[test]
fn treatments_take_dose_maps_of_pedisim_run() {
    let dir = tempfile::tempdir().unwrap();
    let beam = dose_file(
        dir.path(),
        "beam",
        "kind = \"beam\"\nenergy_kev = 1250.0\nposition_mm = [0.0, 0.0, -40.0]\ndirection = [0.0, 0.0, 1.0]\nfield_mm = [16.0, 16.0]",
    );
    let lu = dose_file(
        dir.path(),
        "lu",
        "kind = \"uniform\"\nnuclide = \"Lu-177\"\nlabels = [1]",
    );
    let untreated = run(&config(dir.path(), ""), &GrowthOverrides::default());
    let treatment = format!(
        r#"
[treatment]
alpha_per_gy = 0.3
alpha_beta_gy = 10.0
repair_half_time_h = 1.5

[treatment.external]
dose_file = "{}"
dose_per_fraction_gy = 2.0
reference_point_mm = [0.0, 0.0, -8.0]
start_day = 20.0
fractions = 5

[treatment.radiopharmaceutical]
dose_file = "{}"
start_day = 10.0
activity_mbq = 5.0
effective_half_life_h = 100.0
"#,
        beam.display(),
        lu.display()
    );
    let cfg = config(dir.path(), &treatment);
    let plan = growth_plan_from_file(&cfg, &GrowthOverrides::default()).unwrap();
    assert_eq!(plan.courses.len(), 2);
    let treated = run_growth(&plan, &mut |_, _| {}, &AtomicBool::new(false)).unwrap();
    let file = dir.path().join("growth.h5");
    // The fraction dose at the reference voxel is the prescription.
    let (fx, _) = h5::read_f64_dataset(&file, "/treatment/fraction_dose_gy").unwrap();
    let i_ref = 6 + 12 * (6 + 12 * 3); // (0, 0, -8) mm: voxel (6, 6, 3)
    assert!((fx[i_ref] - 2.0).abs() < 1e-6, "{}", fx[i_ref]);
    let times = h5::read_attr_f64_array(&file, "/", "external_fraction_times_day").unwrap();
    assert_eq!(times, vec![20.0, 21.0, 22.0, 23.0, 24.0]);
    assert_eq!(
        h5::read_attr_string(&file, "/", "radiopharmaceutical_nuclide").unwrap(),
        "Lu-177"
    );
    let (rpt, _) =
        h5::read_f64_dataset(&file, "/treatment/radiopharmaceutical_total_dose_gy").unwrap();
    assert!(rpt.iter().all(|d| *d >= 0.0) && rpt.iter().any(|d| *d > 0.0));
    // Before the first course nothing differs; afterwards the treated tumour is smaller.
    assert_eq!(treated.trajectory[1], untreated.trajectory[1]);
    for k in 2..5 {
        assert!(treated.trajectory[k].total_cells < untreated.trajectory[k].total_cells);
    }
}

#[test]
fn bad_growth_configurations_are_rejected_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "");
    let base = std::fs::read_to_string(&cfg).unwrap();
    let check = |text: String, needle: &str| {
        std::fs::write(&cfg, &text).unwrap();
        let e = growth_plan_from_file(&cfg, &GrowthOverrides::default())
            .err()
            .unwrap_or_else(|| panic!("accepted a config that should fail with {needle}"))
            .to_string();
        assert!(e.contains(needle), "expected {needle:?} in: {e}");
        assert!(e.contains("growth.toml"), "the file is named: {e}");
    };
    check(
        base.replace("kind = \"continuum\"", "kind = \"lattice\""),
        "[model] kind = \"lattice\"",
    );
    check(
        base.replace("grey = 0.1", "gray = 0.1"),
        "\"gray\": the phantom has no organ of that name",
    );
    check(
        base.replace("white = 0.5", "white = -0.5"),
        "expected a coefficient >= 0",
    );
    check(
        base.replace(
            "centre_mm = [0.0, 0.0, -8.0]",
            "centre_mm = [0.0, 0.0, 12.0]",
        ),
        "mostly outside the invadable tissues",
    );
    check(
        base.replace(
            "centre_mm = [0.0, 0.0, -8.0]",
            "centre_mm = [0.0, 0.0, 100.0]",
        ),
        "outside the grid",
    );
    check(base.replace("dt_day = 1.0", "dt_day = 0.0"), "dt_day = 0");
    check(
        base.replace(
            "snapshot_days = [0.0, 25.0, 40.0]",
            "snapshot_days = [25.0, 0.0]",
        ),
        "snapshot_days",
    );
    check(base.replace("refine = 1", "refine = 9"), "refine = 9");
    check(
        base.replace(
            "[output]",
            "[treatment]\nalpha_per_gy = 0.3\nalpha_beta_gy = 10.0\n[output]",
        ),
        "expected at least one course",
    );
    // A dose file on another grid, and a dose per photon for a radiopharmaceutical.
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        format!(
            "[run]\nhistories = 1000\nbatches = 10\n[phantom]\nkind = \"box\"\nmaterial = \"water\"\nsize_mm = [20.0, 20.0, 20.0]\nvoxel_mm = [4.0, 4.0, 4.0]\n[source]\nkind = \"point\"\nenergy_kev = 100.0\nposition_mm = [0.0, 0.0, 0.0]\n[output]\npath = \"{}\"\n",
            dir.path().join("other.h5").display()
        ),
    )
    .unwrap();
    let plan = plan_from_file(&other, &Overrides::default()).unwrap();
    pedisim_driver::execute(&plan, &mut |_, _| {}, &AtomicBool::new(false)).unwrap();
    let ext = format!(
        "[treatment]\nalpha_per_gy = 0.3\nalpha_beta_gy = 10.0\n[treatment.external]\ndose_file = \"{}\"\ndose_per_fraction_gy = 2.0\nstart_day = 1.0\nfractions = 2\n[output]",
        dir.path().join("other.h5").display()
    );
    check(
        base.replace("[output]", &ext),
        "the dose must be computed on the growth run's phantom",
    );
    let beam = dose_file(
        dir.path(),
        "photons",
        "kind = \"point\"\nenergy_kev = 100.0\nposition_mm = [0.0, 0.0, -8.0]",
    );
    let rpt = format!(
        "[treatment]\nalpha_per_gy = 0.3\nalpha_beta_gy = 10.0\nrepair_half_time_h = 1.5\n[treatment.radiopharmaceutical]\ndose_file = \"{}\"\nstart_day = 1.0\nactivity_mbq = 2.0\neffective_half_life_h = 50.0\n[output]",
        beam.display()
    );
    check(base.replace("[output]", &rpt), "no nuclide source");
    check(
        base.replace("[output]", &rpt.replace("repair_half_time_h = 1.5\n", "")),
        "repair_half_time_h is missing",
    );
    // A dose map in other units than Gy per history (same grid as the phantom).
    let mgy = dir.path().join("mgy.h5");
    let zeros = vec![1.0f64; 12 * 12 * 15];
    let attrs = vec![
        (
            "dims_xyz".to_string(),
            h5::AttrValue::from(vec![12u64, 12, 15]),
        ),
        ("voxel_size_mm".to_string(), [2.0, 2.0, 2.0].into()),
        ("origin_mm".to_string(), [-11.0, -11.0, -14.0].into()),
        ("axis_sign".to_string(), [1.0, 1.0, 1.0].into()),
    ];
    h5::write_table_file(
        &mgy,
        &h5::TableFile {
            format_name: "test",
            format_version: ("v", "1"),
            root_attrs: &attrs,
            groups: vec![h5::TableGroup {
                name: "dose",
                description: "d",
                columns: vec![],
            }],
            matrices: vec![],
            volumes: vec![h5::Volume {
                group: "dose",
                name: "dose_gy",
                shape: vec![15, 12, 12],
                values: h5::VolumeValues::F64(&zeros),
                units: "mGy",
                description: "a dose in the wrong unit",
            }],
        },
    )
    .unwrap();
    let other_h5 = dir.path().join("other.h5").display().to_string();
    check(
        base.replace(
            "[output]",
            &ext.replace(&other_h5, &mgy.display().to_string()),
        ),
        "has units \"mGy\": expected \"Gy per history\"",
    );
    let both = ext.replace("fractions = 2", "fractions = 2\ntimes_day = [1.0]");
    check(
        base.replace("[output]", &both),
        "expected either times_day, or start_day and fractions",
    );
}

/// An agent-based configuration on the slab phantom with `extra` appended.
fn agents_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let text = format!(
        r#"
[model]
kind = "agents"

{PHANTOM}

[agents]
end_day = 0.25
snapshot_days = [0.0, 0.25]
centre_mm = [0.0, 0.0, -8.0]

[agents.parameters]
initial_cells = 30
domain_edge_um = 300.0
oxygen_voxel_um = 30.0

[output]
path = "{out}"
csv = "{csv}"
{extra}
"#,
        out = dir.join("agents.h5").display(),
        csv = dir.join("agents.csv").display(),
    );
    let p = dir.join("agents.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Plans the agent run `cfg` on `threads` threads, lets `check` look at the plan, and runs it.
fn run_agents_with_threads(
    cfg: &Path,
    threads: usize,
    check: impl Fn(&pedisim_driver::growth_agents::AgentsPlan),
) -> pedisim_driver::growth_agents::AgentsOutcome {
    use pedisim_driver::growth_agents::{agents_plan_from_file, run_agents};
    let plan = agents_plan_from_file(
        cfg,
        &GrowthOverrides {
            threads: Some(threads),
            ..Default::default()
        },
    )
    .unwrap();
    check(&plan);
    run_agents(&plan, &mut |_, _| {}, &AtomicBool::new(false)).unwrap()
}

#[test]
fn agent_runs_write_cells_oxygen_and_fractions_and_reject_what_they_cannot_do() {
    use pedisim_driver::growth_agents::{agents_plan_from_file, model_kind};
    let dir = tempfile::tempdir().unwrap();
    let beam = dose_file(
        dir.path(),
        "beam",
        "kind = \"beam\"\nenergy_kev = 1250.0\nposition_mm = [0.0, 0.0, -40.0]\ndirection = [0.0, 0.0, 1.0]\nfield_mm = [16.0, 16.0]",
    );
    let fx = format!(
        "[treatment]\nalpha_per_gy = 0.3\nalpha_beta_gy = 10.0\n[treatment.external]\ndose_file = \"{}\"\ndose_per_fraction_gy = 4.0\nreference_point_mm = [0.0, 0.0, -8.0]\ntimes_day = [0.125]\n",
        beam.display()
    );
    let cfg = agents_config(dir.path(), &fx);
    assert_eq!(model_kind(&cfg), "agents");
    let run = |threads: usize| run_agents_with_threads(&cfg, threads, |_| ());
    let a = run(1);
    let file = dir.path().join("agents.h5");
    let (ft, _) = h5::read_f64_dataset(&file, "/fractions/time_day").unwrap();
    assert_eq!(ft, vec![0.125]);
    let (killed, _) = h5::read_f64_dataset(&file, "/fractions/killed_cells").unwrap();
    let (exposed, _) = h5::read_f64_dataset(&file, "/fractions/exposed_cells").unwrap();
    // 4 Gy, alpha 0.3, beta 0.03: S = exp(-1.68) = 0.186; killed within 5 binomial sigma.
    let p = 1.0 - (-1.68f64).exp();
    let sigma = (exposed[0] * p * (1.0 - p)).sqrt();
    assert!(
        (killed[0] - exposed[0] * p).abs() < 5.0 * sigma,
        "{killed:?} of {exposed:?}"
    );
    let (count, _) = h5::read_f64_dataset(&file, "/snapshots/cell_count").unwrap();
    assert_eq!(count[0], 30.0);
    let (x, _) = h5::read_f64_dataset(&file, "/cells/x_um").unwrap();
    assert_eq!(x.len() as f64, count.iter().sum::<f64>());
    let (_, oshape) = h5::read_f64_dataset(&file, "/snapshots/oxygen_mmhg").unwrap();
    assert_eq!(oshape, vec![2, 10, 10]);
    assert!(h5::read_attr_string(&file, "/", "model")
        .unwrap()
        .starts_with("agents"));
    // Thread independence through the driver.
    let b = run(2);
    assert_eq!(a.trajectory, b.trajectory);
    // Report: curves only.
    let figs = pedisim_driver::report::report(&file, &dir.path().join("fig"), None).unwrap();
    assert_eq!(figs.len(), 2);
    // An unknown parameter and a radiopharmaceutical whose dose is not per decay are
    // refused, naming the key.
    let base = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        base.replace(
            "oxygen_voxel_um = 30.0",
            "oxygen_voxel_um = 30.0\ncycle_rate_per_hour = 1.0",
        ),
    )
    .unwrap();
    let e = agents_plan_from_file(&cfg, &GrowthOverrides::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("[agents.parameters] cycle_rate_per_hour: unknown parameter"),
        "{e}"
    );
    std::fs::write(
        &cfg,
        base.replace("[treatment.external]", &format!("repair_half_time_h = 1.0\n[treatment.radiopharmaceutical]\ndose_file = \"{}\"\nstart_day = 0.0\nactivity_mbq = 1.0\neffective_half_life_h = 10.0\n[treatment.external]", beam.display())),
    )
    .unwrap();
    let e = agents_plan_from_file(&cfg, &GrowthOverrides::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("[treatment.radiopharmaceutical] dose_file") && e.contains("no nuclide source"),
        "{e}"
    );
    std::fs::write(
        &cfg,
        base.replace(
            "oxygen_voxel_um = 30.0",
            "oxygen_voxel_um = 30.0\ndt_mechanics_min = 1.0\ndt_phenotype_min = 6.0",
        ),
    )
    .unwrap();
    let e = agents_plan_from_file(&cfg, &GrowthOverrides::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("forward Euler is unstable"), "{e}");
}

/// A radiopharmaceutical in the agent model: Lu-177 taken up uniformly by the grey layer
/// (dose per decay from `pedisim run`), 200 MBq with an effective half-life of 1 h from
/// the start. The course is recorded as for the continuum model (root attributes) with
/// the agent model's `/radiopharmaceutical` record, it kills cells, results do not depend
/// on the thread count, and an administration after the end is refused.
#[test]
fn agent_runs_take_a_radiopharmaceutical() {
    use pedisim_driver::growth_agents::agents_plan_from_file;
    let dir = tempfile::tempdir().unwrap();
    let lu = dose_file(
        dir.path(),
        "lu",
        "kind = \"uniform\"\nnuclide = \"Lu-177\"\nlabels = [1]",
    );
    let rpt = format!(
        "[treatment]\nalpha_per_gy = 0.3\nalpha_beta_gy = 10.0\nrepair_half_time_h = 1.5\n[treatment.radiopharmaceutical]\ndose_file = \"{}\"\nstart_day = 0.0\nactivity_mbq = 200.0\neffective_half_life_h = 1.0\n",
        lu.display()
    );
    let cfg = agents_config(dir.path(), &rpt);
    let run = |threads: usize| {
        run_agents_with_threads(&cfg, threads, |plan| {
            assert!(plan.dose_rate.is_some() && plan.fractions.is_none())
        })
    };
    let a = run(1);
    let file = dir.path().join("agents.h5");
    assert_eq!(
        h5::read_attr_string(&file, "/", "radiopharmaceutical_nuclide").unwrap(),
        "Lu-177"
    );
    let decays = h5::read_attr_f64(&file, "/", "radiopharmaceutical_decays").unwrap();
    let expected_decays = 200.0e6 * 3600.0 / std::f64::consts::LN_2;
    assert!((decays / expected_decays - 1.0).abs() < 1e-12, "{decays}");
    let g = h5::read_attr_f64(&file, "/", "radiopharmaceutical_lea_catcheside_g").unwrap();
    assert!(
        (g - 1.5 / 2.5).abs() < 1e-12,
        "G = lambda / (lambda + mu) = {g}"
    );
    let total = h5::read_attr_f64(&file, "/", "radiopharmaceutical_centre_total_dose_gy").unwrap();
    assert!(total > 0.5, "dose at the box centre {total} Gy");
    // The record: one row per trajectory row; 6 h = 6 half-lives: 63/64 of the dose.
    let (t, _) = h5::read_f64_dataset(&file, "/radiopharmaceutical/time_day").unwrap();
    let (tt, _) = h5::read_f64_dataset(&file, "/trajectory/time_day").unwrap();
    assert_eq!(t, tt);
    let (dose, _) = h5::read_f64_dataset(&file, "/radiopharmaceutical/centre_dose_gy").unwrap();
    assert_eq!(dose[0], 0.0);
    assert!((dose[dose.len() - 1] / total - 63.0 / 64.0).abs() < 1e-9);
    let (kill, _) = h5::read_f64_dataset(&file, "/radiopharmaceutical/centre_log_kill").unwrap();
    let l = 0.3 * total * 63.0 / 64.0;
    assert!(kill[kill.len() - 1] > l && kill[kill.len() - 1] < l + 0.03 * g * total * total);
    // The live cells' mean dose delivered: none at the start, then the same completion
    // 1 - 2^(-t / 1 h) as at the centre, of a mean dose to completion close to the centre's
    // (the spheroid lies in the few voxels around the centre, inside the uptake).
    let (live, _) = h5::read_f64_dataset(&file, "/radiopharmaceutical/live_mean_dose_gy").unwrap();
    assert_eq!(live.len(), dose.len());
    assert_eq!(live[0], 0.0);
    let ratio = live[live.len() - 1] / dose[dose.len() - 1];
    assert!(
        live.iter().all(|&d| d >= 0.0) && (ratio - 1.0).abs() < 0.25,
        "live cells' mean dose / centre dose = {ratio}"
    );
    let (killed, _) = h5::read_f64_dataset(&file, "/radiopharmaceutical/killed_cells").unwrap();
    assert!(killed.windows(2).all(|w| w[1] >= w[0]) && killed[killed.len() - 1] > 0.0);
    assert_eq!(killed.len(), a.trajectory.len());
    // Thread independence, the radiopharmaceutical's draws included.
    let b = run(2);
    assert_eq!(a.trajectory, b.trajectory);
    let (killed2, _) = h5::read_f64_dataset(&file, "/radiopharmaceutical/killed_cells").unwrap();
    assert_eq!(killed, killed2);
    // An administration at or after the end is refused, naming the key.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("start_day = 0.0", "start_day = 0.25")).unwrap();
    let e = agents_plan_from_file(&cfg, &GrowthOverrides::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("[treatment.radiopharmaceutical] start_day = 0.25") && e.contains("end_day"),
        "{e}"
    );
}
