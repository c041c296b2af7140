//! Growth campaigns: a campaign whose base is a growth configuration (`pedisim grow`)
//! expands over nested growth keys and Latin-hypercube samples, validates every run,
//! runs in-process with resume, reduces the trajectories into `campaign.h5`, refuses
//! `distribute = "histories"`, and gives the same trajectories as a job array merged.

use pedisim_driver::campaign::{
    dry_run_report, estimate_costs, merge_index, run_campaign, validate_runs, Share, Trajectory,
    INDEX_FILE,
};
use pedisim_driver::campaign_spec::{AnyRunConfig, CampaignKind, CampaignSpec, Distribute};
use pedisim_driver::comm::SingleProcess;
use pedisim_io::h5;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// The phantom of both bases: 2 slabs of 16 x 16 x 10 mm in 2 mm voxels (640 voxels).
const PHANTOM: &str = r#"
[phantom]
kind = "slabs"
lateral_mm = [16.0, 16.0]
voxel_mm = [2.0, 2.0, 2.0]
slabs = [
    { name = "grey", material = "brain", thickness_mm = 10.0 },
    { name = "white matter", material = "brain", thickness_mm = 10.0 },
]
"#;

/// The slab phantom ([`PHANTOM`]) with a
/// continuum model of 10 days in steps of 1 day, rows every 5 days, snapshots at the start
/// and the end, and a CSV output.
const BASE: &str = r#"
[run]
seed = 3

[model]
kind = "continuum"

[continuum]
rho_per_day = 0.05
carrying_capacity_cells_per_mm3 = 1.0e5
dt_day = 1.0
end_day = 10.0
output_interval_day = 5.0

[continuum.diffusion_mm2_per_day]
grey = 0.1
"white matter" = 0.5

[continuum.initial]
centre_mm = [0.0, 0.0, -4.0]
radius_mm = 3.0
density_fraction = 0.5

[output]
path = "ignored.h5"
csv = "ignored.csv"
"#;

/// The error of validating every run of the campaign `p` (which must fail).
fn validation_error(p: &Path) -> String {
    let spec = CampaignSpec::load(p).unwrap();
    let runs = spec.expand().unwrap();
    validate_runs(&spec, &runs).unwrap_err().to_string()
}

/// Asserts that two columns hold the same values bit for bit (`what` names them).
fn assert_bits_eq(a: &[f64], b: &[f64], what: &str) {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(a), bits(b), "{what}");
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Writes the base and a campaign of `body` after the `[campaign]` header (output to
/// `out`) into `dir`; returns the campaign file.
fn campaign(dir: &Path, out: &str, extra_head: &str, body: &str) -> PathBuf {
    write(dir, "base.toml", &format!("{BASE}{PHANTOM}"));
    write(
        dir,
        &format!("{out}.toml"),
        &format!(
            "[campaign]\nname = \"g\"\nbase = \"base.toml\"\noutput_dir = \"{out}\"\n{extra_head}\n{body}"
        ),
    )
}

/// 2 end times x 2 rates = 4 runs, the white-matter diffusion in a variant.
const SWEEP: &str = r#"
[axes]
"continuum.end_day" = [5.0, 10.0]
"continuum.rho_per_day" = [0.05, 0.1]

[[variant]]
name = "fast"
set = { 'continuum.diffusion_mm2_per_day."white matter"' = 1.0 }
"#;

fn growth(r: &AnyRunConfig) -> &pedisim_driver::growth::GrowthConfig {
    r.growth().expect("a growth run")
}

#[test]
fn growth_keys_and_latin_hypercube_expand() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"
[axes]
"continuum.rho_per_day" = [0.05, 0.1]

[[variant]]
name = "wm"
set = { "continuum.diffusion_mm2_per_day.white matter" = 0.8, "continuum.initial.radius_mm" = 4.0 }

[latin_hypercube]
samples = 4
seed = 2
ranges = { 'continuum.diffusion_mm2_per_day."grey"' = [0.05, 0.2], "continuum.carrying_capacity_cells_per_mm3" = [5e4, 2e5] }
"#;
    let p = campaign(dir.path(), "out", "", body);
    let spec = CampaignSpec::load(&p).unwrap();
    assert_eq!(spec.kind, CampaignKind::Growth);
    assert_eq!(spec.distribute, Distribute::Runs);
    let runs = spec.expand().unwrap();
    assert_eq!(runs.len(), 8);
    let keys: Vec<&str> = runs[5].params.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        keys,
        [
            "continuum.diffusion_mm2_per_day.\"white matter\"",
            "continuum.initial.radius_mm",
            "continuum.rho_per_day",
            "continuum.carrying_capacity_cells_per_mm3",
            "continuum.diffusion_mm2_per_day.grey",
        ]
    );
    assert!(runs[5]
        .label
        .starts_with("variant=wm continuum.rho_per_day=0.1 continuum.carrying_capacity"));
    let mut grey = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        let g = growth(&r.config);
        let c = g.continuum.as_ref().unwrap();
        assert_eq!(c.rho_per_day, if i < 4 { 0.05 } else { 0.1 });
        assert_eq!(c.diffusion_mm2_per_day["white matter"], 0.8);
        assert_eq!(c.initial.radius_mm, 4.0);
        assert_eq!(c.end_day, 10.0, "untouched keys keep the base value");
        assert_eq!(g.run.seed, 3);
        assert_eq!(g.output.path, spec.output_path(&r.id));
        assert_eq!(
            g.output.csv.as_deref(),
            Some(spec.csv_path(&r.id).as_path())
        );
        assert_eq!(r.config.work_units(), 10);
        grey.push(c.diffusion_mm2_per_day["grey"]);
        let k = c.carrying_capacity_cells_per_mm3;
        assert!((5e4..2e5).contains(&k));
    }
    // Latin hypercube: each quarter of [0.05, 0.2) holds one sample of the four; the
    // same samples for both rates.
    assert_eq!(grey[..4], grey[4..]);
    let mut hit = [0; 4];
    for g in &grey[..4] {
        hit[((g - 0.05) / 0.15 * 4.0).floor() as usize] += 1;
    }
    assert_eq!(hit, [1; 4]);
    validate_runs(&spec, &runs).unwrap();
    // An explicit kind agrees with the content.
    let p = campaign(dir.path(), "out2", "kind = \"growth\"", "");
    let spec = CampaignSpec::load(&p).unwrap();
    assert_eq!(spec.kind, CampaignKind::Growth);
    assert_eq!(spec.expand().unwrap()[0].label, "(base)");
}

#[test]
fn growth_errors_name_the_run_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &[&str]); 8] = [
        (
            "distribute = \"histories\"",
            "",
            &["distribute", "histories", "growth"],
        ),
        (
            "",
            "[axes]\n\"continuum.rho_per_dayy\" = [1.0]\n",
            &["run-00000", "continuum.rho_per_dayy"],
        ),
        (
            "",
            "[axes]\n\"model.kind\" = [\"x\"]\n",
            &["model.kind", "section"],
        ),
        (
            "",
            "[axes]\n\"output.csv\" = [\"x.csv\"]\n",
            &["output.csv", "csv"],
        ),
        (
            "",
            "[axes]\n\"source.energy_kev\" = [1.0]\n",
            &["source", "continuum"],
        ),
        (
            "",
            "[axes]\n\"continuum.initial.centre_mm.x\" = [1.0]\n",
            &["continuum.initial.centre_mm.x", "section.table.key"],
        ),
        (
            "",
            "[axes]\n\"continuum.rho_per_day\" = [0.1, \"fast\"]\n",
            &["run-00001", "continuum.rho_per_day"],
        ),
        (
            "kind = \"dose\"",
            "",
            &["base = \"base.toml\"", "base run config", "unknown field"],
        ),
    ];
    for (head, body, needles) in cases {
        let p = campaign(dir.path(), "out", head, body);
        let e = match CampaignSpec::load(&p).and_then(|s| s.expand()) {
            Ok(_) => panic!("expected an error for {head} {body}"),
            Err(e) => e.to_string(),
        };
        for n in needles {
            assert!(e.contains(n), "{head} {body}: {e:?} should mention {n:?}");
        }
    }
    // Validation of every run by growth_plan: a negative rate in run 1 only.
    let p = campaign(
        dir.path(),
        "out",
        "",
        "[axes]\n\"continuum.rho_per_day\" = [0.1, -0.1]\n",
    );
    let e = validation_error(&p);
    assert!(e.contains("1 of 2 runs are invalid"), "{e}");
    assert!(
        e.contains("run-00001") && e.contains("rho_per_day = -0.1"),
        "{e}"
    );
    assert!(!e.contains("run-00000"), "{e}");
    // Nothing was written.
    assert!(!dir.path().join("out").exists());
}

fn run_all(spec: &CampaignSpec, share: Share) -> pedisim_driver::campaign::CampaignReport {
    let runs = spec.expand().unwrap();
    run_campaign(
        spec,
        &runs,
        share,
        &SingleProcess,
        Some(1),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap()
}

/// `/trajectories` of an index: (column name -> (values, shape)), lengths, ids.
type IndexTrajectories = (Vec<(Vec<f64>, Vec<usize>)>, Vec<u64>, Vec<String>);

fn index_trajectories(index: &Path) -> IndexTrajectories {
    let cols = pedisim_driver::campaign::TRAJECTORY_COLUMNS
        .iter()
        .map(|c| h5::read_f64_dataset(index, &format!("/trajectories/{c}")).unwrap())
        .collect();
    (
        cols,
        h5::read_u64_dataset(index, "/trajectories/length").unwrap(),
        h5::read_string_dataset(index, "/trajectories/id").unwrap(),
    )
}

#[test]
fn growth_campaign_runs_resumes_and_reduces_trajectories() {
    let dir = tempfile::tempdir().unwrap();
    let p = campaign(dir.path(), "out", "", SWEEP);
    let spec = CampaignSpec::load(&p).unwrap();
    let runs = spec.expand().unwrap();
    assert_eq!(runs.len(), 4);

    // Dry run: steps and a cost per run, nothing written.
    let costs = estimate_costs(&spec, &runs, &mut |_| {}).unwrap();
    assert_eq!(
        costs.iter().map(|c| c.histories).collect::<Vec<_>>(),
        [5, 5, 10, 10]
    );
    assert!(costs.iter().all(|c| c.core_seconds() > 0.0));
    let report = dry_run_report(&runs, &costs);
    assert!(
        report.contains("steps") && report.contains("30 time steps"),
        "{report}"
    );
    assert!(!dir.path().join("out").exists());

    let r = run_all(&spec, Share::All);
    assert_eq!((r.runs, r.computed, r.skipped, r.failed), (4, 4, 0, 0));
    assert!(!r.interrupted);
    let index = dir.path().join("out").join(INDEX_FILE);
    assert_eq!(r.index, index);
    assert_eq!(
        h5::read_attr_string(&index, "/", "campaign_kind").unwrap(),
        "growth"
    );
    let status = h5::read_string_dataset(&index, "/runs/status").unwrap();
    assert_eq!(status, ["done"; 4]);
    assert_eq!(
        h5::read_u64_dataset(&index, "/runs/histories").unwrap(),
        [5, 5, 10, 10]
    );
    let (cols, lengths, ids) = index_trajectories(&index);
    assert_eq!(lengths, [2, 2, 3, 3]);
    assert_eq!(ids, ["run-00000", "run-00001", "run-00002", "run-00003"]);
    for (k, run) in runs.iter().enumerate() {
        let file = spec.output_path(&run.id);
        assert!(spec.csv_path(&run.id).is_file());
        let t = Trajectory::read(&file).unwrap();
        for (c, (values, shape)) in cols.iter().enumerate() {
            assert_eq!(shape, &vec![4, 3]);
            let row = &values[k * 3..k * 3 + 3];
            let col = t.columns()[c];
            assert_eq!(&row[..col.len()], &col[..], "run {k} column {c}");
            assert!(row[col.len()..].iter().all(|x| x.is_nan()));
        }
    }
    // The times: 0, 5 (and 10); faster growth with the larger rate.
    assert_eq!(&cols[0].0[..2], &[0.0, 5.0]);
    assert_eq!(&cols[0].0[6..9], &[0.0, 5.0, 10.0]);
    assert!(cols[1].0[3 * 3 + 2] > cols[1].0[2 * 3 + 2]);
    // The run's stored configuration is the expanded one.
    let stored = h5::read_attr_string(&spec.output_path("run-00003"), "/", "config_toml").unwrap();
    assert!(stored.contains("rho_per_day = 0.1"), "{stored}");
    assert!(stored.contains("\"white matter\" = 1.0"), "{stored}");

    // Resume: nothing is computed, and the index is the same.
    let before = std::fs::read(spec.output_path("run-00002")).unwrap();
    let r = run_all(&spec, Share::All);
    assert_eq!((r.computed, r.skipped, r.failed), (0, 4, 0));
    assert_eq!(
        std::fs::read(spec.output_path("run-00002")).unwrap(),
        before
    );
    assert_eq!(index_trajectories(&index).1, [2, 2, 3, 3]);

    // A damaged or missing file is recomputed; a missing CSV too.
    std::fs::write(spec.output_path("run-00001"), b"not hdf5").unwrap();
    std::fs::remove_file(spec.csv_path("run-00002")).unwrap();
    let r = run_all(&spec, Share::All);
    assert_eq!((r.computed, r.skipped), (2, 2));
    let (again, _, _) = index_trajectories(&index);
    for (a, b) in again.iter().zip(&cols) {
        assert_bits_eq(&a.0, &b.0, "");
    }
}

#[test]
fn growth_job_array_merged_equals_a_single_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let single = CampaignSpec::load(&campaign(dir.path(), "single", "", SWEEP)).unwrap();
    let r = run_all(&single, Share::All);
    assert_eq!(r.computed, 4);
    let array = CampaignSpec::load(&campaign(dir.path(), "array", "", SWEEP)).unwrap();
    for task in 0..3 {
        let r = run_all(&array, Share::ArrayTask { task, tasks: 3 });
        assert_eq!(r.computed, [2, 1, 1][task]);
    }
    assert!(!array.output_dir.join(INDEX_FILE).exists());
    let runs = array.expand().unwrap();
    let m = merge_index(&array, &runs).unwrap();
    assert_eq!((m.runs, m.skipped, m.failed), (4, 4, 0));
    let a = index_trajectories(&single.output_dir.join(INDEX_FILE));
    let b = index_trajectories(&array.output_dir.join(INDEX_FILE));
    assert_eq!(a.1, b.1);
    assert_eq!(a.2, b.2);
    for (x, y) in a.0.iter().zip(&b.0) {
        assert_eq!(x.1, y.1);
        assert_bits_eq(&x.0, &y.0, "");
    }
    // The run files' snapshots too, run by run.
    for run in &runs {
        let s = h5::read_f64_dataset(
            &single.output_path(&run.id),
            "/snapshots/density_cells_per_mm3",
        )
        .unwrap();
        let t = h5::read_f64_dataset(
            &array.output_path(&run.id),
            "/snapshots/density_cells_per_mm3",
        )
        .unwrap();
        assert_eq!(s, t);
    }
}

/// An agent-based base: 30 cells in a 300 um box on the slab phantom ([`PHANTOM`]) for 0.25 days
/// (30 mechanics steps of 0.5 min per output row, 7 rows), with a CSV output.
const AGENTS_BASE: &str = r#"
[run]
seed = 3

[model]
kind = "agents"

[agents]
end_day = 0.25
centre_mm = [0.0, 0.0, -4.0]

[agents.parameters]
initial_cells = 30
domain_edge_um = 300.0
oxygen_voxel_um = 30.0

[output]
path = "ignored.h5"
csv = "ignored.csv"
"#;

/// 2 seeds x 2 Latin-hypercube samples of the cycle rate = 4 agent-based runs.
const AGENTS_SWEEP: &str = r#"
[axes]
"run.seed" = [1, 2]

[latin_hypercube]
samples = 2
seed = 4
ranges = { "agents.parameters.cycle_rate_per_min" = [0.002, 0.004] }
"#;

fn agents_campaign(dir: &Path, out: &str, body: &str) -> PathBuf {
    write(dir, "agents_base.toml", &format!("{AGENTS_BASE}{PHANTOM}"));
    write(
        dir,
        &format!("{out}.toml"),
        &format!(
            "[campaign]\nname = \"a\"\nbase = \"agents_base.toml\"\noutput_dir = \"{out}\"\n{body}"
        ),
    )
}

#[test]
fn agents_campaign_runs_resumes_merges_and_reduces_trajectories() {
    use pedisim_driver::campaign::AGENTS_TRAJECTORY_COLUMNS;
    let dir = tempfile::tempdir().unwrap();
    let p = agents_campaign(dir.path(), "out", AGENTS_SWEEP);
    let spec = CampaignSpec::load(&p).unwrap();
    assert_eq!(spec.kind, CampaignKind::Growth);
    let runs = spec.expand().unwrap();
    assert_eq!(runs.len(), 4);
    for (k, r) in runs.iter().enumerate() {
        let a = r.config.agents().expect("an agent-based run");
        assert_eq!(a.run.seed, [1, 1, 2, 2][k]);
        let rate = a.agents.parameters["cycle_rate_per_min"]
            .as_float()
            .unwrap();
        assert!((0.002..0.004).contains(&rate));
        assert_eq!(a.agents.parameters["initial_cells"].as_integer(), Some(30));
        assert_eq!(a.output.path, spec.output_path(&r.id));
        // 0.25 day = 360 min in steps of 0.5 min.
        assert_eq!(r.config.work_units(), 720);
    }
    let costs = estimate_costs(&spec, &runs, &mut |_| {}).unwrap();
    assert!(costs
        .iter()
        .all(|c| c.histories == 720 && c.core_seconds() > 0.0));
    assert!(dry_run_report(&runs, &costs).contains("mechanics steps"));
    assert!(!dir.path().join("out").exists());

    let r = run_all(&spec, Share::All);
    assert_eq!((r.runs, r.computed, r.skipped, r.failed), (4, 4, 0, 0));
    let index = dir.path().join("out").join(INDEX_FILE);
    assert_eq!(
        h5::read_attr_string(&index, "/", "growth_model").unwrap(),
        "agents"
    );
    assert_eq!(
        h5::read_u64_dataset(&index, "/runs/histories").unwrap(),
        [720; 4]
    );
    let read_index = |index: &Path| -> Vec<(Vec<f64>, Vec<usize>)> {
        AGENTS_TRAJECTORY_COLUMNS
            .iter()
            .map(|c| h5::read_f64_dataset(index, &format!("/trajectories/{c}")).unwrap())
            .collect()
    };
    let cols = read_index(&index);
    assert_eq!(
        h5::read_u64_dataset(&index, "/trajectories/length").unwrap(),
        [7; 4]
    );
    // The index holds each run's trajectory, bit for bit (counts as exact f64).
    for (k, run) in runs.iter().enumerate() {
        let file = spec.output_path(&run.id);
        assert!(spec.csv_path(&run.id).is_file());
        let t = Trajectory::read(&file).unwrap();
        assert_eq!(t.names, AGENTS_TRAJECTORY_COLUMNS);
        for (c, (values, shape)) in cols.iter().enumerate() {
            assert_eq!(shape, &vec![4, 7]);
            let (direct, _) = h5::read_f64_dataset(
                &file,
                &format!("/trajectory/{}", AGENTS_TRAJECTORY_COLUMNS[c]),
            )
            .unwrap();
            let row = &values[k * 7..k * 7 + 7];
            let what = format!("run {k} column {}", AGENTS_TRAJECTORY_COLUMNS[c]);
            assert_bits_eq(row, &direct, &what);
        }
    }
    // Live cells start at 30 in every run; different seeds give different spheroids.
    assert!((0..4).all(|k| cols[1].0[k * 7] == 30.0));
    assert_ne!(&cols[1].0[0..7], &cols[1].0[14..21]);

    // Resume: nothing recomputed; a damaged file is.
    let before = std::fs::read(spec.output_path("run-00002")).unwrap();
    let r = run_all(&spec, Share::All);
    assert_eq!((r.computed, r.skipped, r.failed), (0, 4, 0));
    assert_eq!(
        std::fs::read(spec.output_path("run-00002")).unwrap(),
        before
    );
    std::fs::write(spec.output_path("run-00001"), b"not hdf5").unwrap();
    let r = run_all(&spec, Share::All);
    assert_eq!((r.computed, r.skipped), (1, 3));
    let again = read_index(&index);
    for (a, b) in again.iter().zip(&cols) {
        assert_bits_eq(&a.0, &b.0, "");
    }

    // A job array of 3 tasks, merged, gives the same index.
    let array = CampaignSpec::load(&agents_campaign(dir.path(), "array", AGENTS_SWEEP)).unwrap();
    for task in 0..3 {
        run_all(&array, Share::ArrayTask { task, tasks: 3 });
    }
    let m = merge_index(&array, &array.expand().unwrap()).unwrap();
    assert_eq!((m.runs, m.skipped, m.failed), (4, 4, 0));
    let merged = read_index(&array.output_dir.join(INDEX_FILE));
    for (a, b) in merged.iter().zip(&cols) {
        assert_eq!(a.1, b.1);
        assert_bits_eq(&a.0, &b.0, "");
    }
}

#[test]
fn agents_campaign_errors_name_the_run_and_key() {
    let dir = tempfile::tempdir().unwrap();
    // A continuum key in an agent-based campaign.
    let p = agents_campaign(
        dir.path(),
        "out",
        "[axes]\n\"continuum.rho_per_day\" = [0.1]\n",
    );
    let e = CampaignSpec::load(&p).unwrap_err().to_string();
    assert!(
        e.contains("continuum") && e.contains("run, phantom, agents, treatment"),
        "{e}"
    );
    // Bad parameters in some runs: every invalid run is reported, naming its id and key,
    // before anything runs.
    let p = agents_campaign(
        dir.path(),
        "out",
        "[axes]\n\"agents.parameters.cycle_rate_per_min\" = [0.002, -1.0]\n\"agents.parameters.initial_cells\" = [10, 2.5]\n",
    );
    let e = validation_error(&p);
    assert!(e.contains("3 of 4 runs are invalid"), "{e}");
    assert!(
        e.contains("run-00001") && e.contains("initial_cells = 2.5"),
        "{e}"
    );
    assert!(
        e.contains("run-00002") && e.contains("cycle_rate_per_min"),
        "{e}"
    );
    assert!(!e.contains("run-00000"), "{e}");
    // An unknown parameter names the key and lists the known ones.
    let p = agents_campaign(
        dir.path(),
        "out",
        "[axes]\n\"agents.parameters.cycle_rate_per_hour\" = [1.0]\n",
    );
    let spec = CampaignSpec::load(&p).unwrap();
    let e = validate_runs(&spec, &spec.expand().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("run-00000") && e.contains("cycle_rate_per_hour: unknown parameter"),
        "{e}"
    );
    let r = run_campaign(
        &spec,
        &spec.expand().unwrap(),
        Share::All,
        &SingleProcess,
        Some(1),
        &mut |_| {},
        &AtomicBool::new(false),
    );
    assert!(r.is_err());
    assert!(!dir.path().join("out").exists(), "nothing was written");
}
