//! Running a campaign: every run of an expanded [`CampaignSpec`], its dose file (or
//! growth result), and the campaign index `campaign.h5` (layout in `docs/formats.md`).
//!
//! A growth campaign ([`CampaignKind::Growth`]) runs `pedisim grow` runs the same way:
//! whole runs, over ranks or one after another; its index also holds the trajectories of
//! the done runs, `/trajectories` (`docs/campaign.md`, "Growth campaigns"), with the
//! columns of the model's trajectory: the continuum model's ([`TRAJECTORY_COLUMNS`]) or
//! the agent-based model's ([`AGENTS_TRAJECTORY_COLUMNS`]).
//!
//! **Never lose or redo finished work.** A run's dose file is written atomically by
//! [`crate::execute`]; at start-up every run whose file exists and *verifies* (it opens,
//! its layout major version is known, its resolved configuration equals the run's, up to
//! the thread count, and it holds the expected number of histories) is marked done and
//! skipped. The index is rewritten atomically after every run, so it is never half
//! written, and it can always be rebuilt from the run files. An output directory that
//! holds another campaign (a different fingerprint in `campaign.id`) is refused.
//!
//! **Failures.** Every run is validated before anything starts (all errors are reported
//! together). A run that fails while running is marked `failed` with its error and the
//! campaign goes on. A cancellation (Ctrl-C, or Slurm's SIGTERM before the wall time)
//! stops the run in progress without writing it, writes the index and returns; running
//! the campaign again resumes it.

use crate::campaign_spec::Distribute;
use crate::campaign_spec::{
    agents_result_toml, campaign_fingerprint, fnv1a, growth_result_toml, result_toml,
    run_fingerprint, AnyRunConfig, CampaignKind, CampaignSpec, ExpandedRun, FNV_OFFSET,
};
use crate::comm::Comm;
use crate::config::RunConfig;
use crate::growth::{growth_plan, run_growth, GrowthConfig, GROWTH_FORMAT_NAME};
use crate::growth_agents::{agents_plan, run_agents, AgentsConfig};
use crate::plan::{plan, Plan};
use crate::{execute_on, pilot_cost, DriverError, RunCost};
use pedisim_io::h5::{self, AttrValue, CampaignRunRow, Column, ColumnValues, Matrix, TableGroup};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Name of the campaign index in the output directory.
pub const INDEX_FILE: &str = "campaign.h5";
/// Name of the file that binds an output directory to one campaign (its fingerprint).
pub const ID_FILE: &str = "campaign.id";

/// How a campaign ended.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignReport {
    /// The campaign index written.
    pub index: PathBuf,
    /// Runs in the campaign.
    pub runs: usize,
    /// Runs found complete and verified at start-up (not recomputed).
    pub skipped: usize,
    /// Runs computed by this invocation.
    pub computed: usize,
    /// Runs that failed (with their error in the index).
    pub failed: usize,
    /// True if the campaign was interrupted before every run was attempted.
    pub interrupted: bool,
}

/// Validates every run of the campaign; the error lists every run that fails.
pub fn validate_runs(spec: &CampaignSpec, runs: &[ExpandedRun]) -> Result<(), DriverError> {
    let mut errors = Vec::new();
    for r in runs {
        let checked = match &r.config {
            AnyRunConfig::Dose(c) => plan(c.clone(), &spec.base).map(|_| ()),
            AnyRunConfig::Growth(g) => growth_plan(g.clone(), &spec.base).map(|_| ()),
            AnyRunConfig::Agents(a) => agents_plan(a.clone(), &spec.base).map(|_| ()),
        };
        if let Err(e) = checked {
            errors.push(format!("  {} ({}): {e}", r.id, r.label));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DriverError::Config {
            file: spec.file.clone(),
            message: format!(
                "{} of {} runs are invalid; nothing was started:\n{}",
                errors.len(),
                runs.len(),
                errors.join("\n")
            ),
        })
    }
}

/// Estimated cost of every run, from one pilot ([`pilot_cost`]) per distinct configuration
/// (runs that differ only in seed, histories, threads or output share a pilot), in run
/// order. For a growth campaign, `histories` is the run's time steps and the pilot is a
/// few time steps of the run (see `growth_pilot_config`), one per distinct grid, scheme
/// and time step. `log` hears about each pilot.
pub fn estimate_costs(
    spec: &CampaignSpec,
    runs: &[ExpandedRun],
    log: &mut dyn FnMut(&str),
) -> Result<Vec<RunCost>, DriverError> {
    let mut seen: std::collections::HashMap<String, RunCost> = Default::default();
    let mut out = Vec::with_capacity(runs.len());
    for r in runs {
        let config = match &r.config {
            AnyRunConfig::Dose(c) => c,
            AnyRunConfig::Growth(g) => {
                let steps = r.config.work_units();
                let pilot = growth_pilot_config(g);
                let key = growth_pilot_key(g);
                let cost = match seen.get(&key) {
                    Some(c) => RunCost {
                        histories: steps,
                        ..*c
                    },
                    None => {
                        log(&format!("pilot of {} ({})", r.id, r.label));
                        let c = growth_pilot_cost(spec, &pilot)?;
                        seen.insert(key, c);
                        RunCost {
                            histories: steps,
                            ..c
                        }
                    }
                };
                out.push(cost);
                continue;
            }
            AnyRunConfig::Agents(a) => {
                let steps = r.config.work_units();
                let pilot = agents_pilot_config(a);
                let key = agents_result_toml(&pilot);
                let cost = match seen.get(&key) {
                    Some(c) => *c,
                    None => {
                        log(&format!("pilot of {} ({})", r.id, r.label));
                        let c = agents_pilot_cost(spec, &pilot)?;
                        seen.insert(key, c);
                        c
                    }
                };
                out.push(RunCost {
                    histories: steps,
                    ..cost
                });
                continue;
            }
        };
        let mut key = config.clone();
        key.run.threads = 0;
        key.run.seed = 0;
        key.run.histories = 0;
        key.output = Default::default();
        let key = key.to_toml();
        let histories = r.config.work_units();
        let cost = match seen.get(&key) {
            Some(c) => RunCost { histories, ..*c },
            None => {
                log(&format!("pilot of {} ({})", r.id, r.label));
                let c = pilot_cost(&plan(config.clone(), &spec.base)?)?;
                seen.insert(key, c);
                RunCost { histories, ..c }
            }
        };
        out.push(cost);
    }
    Ok(out)
}

/// Time steps of the pilot of a growth run ([`estimate_costs`]).
pub const GROWTH_PILOT_STEPS: u64 = 5;

/// The configuration of the pilot of growth run `g`: the same model, grid and initial
/// tumour, on one thread, for [`GROWTH_PILOT_STEPS`] time steps (fewer if the run has
/// fewer) with a trajectory row at every step, the default snapshots (start and end),
/// no treatment (its cost per step is small; a dose file is still read by the run's own
/// validation) and no CSV. Runs with the same [`growth_pilot_key`] share one.
fn growth_pilot_config(g: &GrowthConfig) -> GrowthConfig {
    let mut p = g.clone();
    let steps = crate::campaign_spec::growth_time_steps(g).clamp(1, GROWTH_PILOT_STEPS);
    p.run.threads = 1;
    p.run.seed = 0;
    if let Some(c) = p.continuum.as_mut() {
        c.end_day = c.dt_day * steps as f64;
        c.output_interval_day = None;
        c.snapshot_days = None;
    }
    p.treatment = None;
    p.output = Default::default();
    p
}

/// What the cost of a growth time step depends on: the grid (phantom, materials,
/// refinement), the scheme and the time step. Runs that agree in these share a pilot
/// (the sampled model parameters of a sweep do not change the cost of a step).
fn growth_pilot_key(g: &GrowthConfig) -> String {
    let c = g.continuum.as_ref();
    format!(
        "{}\n{}\n{:?} {:?} {:?}",
        toml::to_string(&g.phantom).unwrap_or_default(),
        toml::to_string(&g.materials).unwrap_or_default(),
        c.map(|c| c.refine),
        c.map(|c| c.scheme.clone()),
        c.map(|c| c.dt_day.to_bits()),
    )
}

/// Mechanics steps of the pilot of an agent-based run ([`estimate_costs`]): one hour of
/// model time at the default step of 0.5 min.
pub const AGENTS_PILOT_STEPS: u64 = 120;

/// The configuration of the pilot of agent-based run `a`: the same phantom, box and model
/// parameters (the cost of a step depends on the cell count, hence on every parameter),
/// on one thread with seed 0, for [`AGENTS_PILOT_STEPS`] mechanics steps (fewer if the
/// run has fewer), the default snapshots, no treatment and no CSV. Runs whose pilots
/// coincide share one. The cost per step is that of the initial spheroid: a spheroid
/// that grows during the run costs more per step than estimated.
fn agents_pilot_config(a: &AgentsConfig) -> AgentsConfig {
    let mut p = a.clone();
    let steps = crate::campaign_spec::agents_time_steps(a).clamp(1, AGENTS_PILOT_STEPS);
    let dt_min =
        a.agents.end_day * 1440.0 / crate::campaign_spec::agents_time_steps(a).max(1) as f64;
    p.run.threads = 1;
    p.run.seed = 0;
    p.agents.end_day = (dt_min * steps as f64 / 1440.0).min(a.agents.end_day);
    p.agents.snapshot_days = None;
    p.treatment = None;
    p.output = Default::default();
    p
}

/// Runs the pilot of an agent-based run into a temporary directory (removed) and returns
/// its cost, as [`growth_pilot_cost`] does for the continuum model.
fn agents_pilot_cost(spec: &CampaignSpec, pilot: &AgentsConfig) -> Result<RunCost, DriverError> {
    let steps = crate::campaign_spec::agents_time_steps(pilot).max(1);
    timed_pilot("agents", &agents_result_toml(pilot), steps, |path| {
        let mut config = pilot.clone();
        config.output.path = path;
        let p = agents_plan(config, &spec.base)?;
        Ok(run_agents(&p, &mut |_, _| {}, &AtomicBool::new(false))?.wall_seconds)
    })
}

/// Runs the pilot `pilot` of a growth run into a temporary file (removed) and returns its
/// cost: set-up (validation, phantom, writing the result) and seconds per time step on one
/// core. `histories` of the result is the pilot's steps; the caller sets the run's.
fn growth_pilot_cost(spec: &CampaignSpec, pilot: &GrowthConfig) -> Result<RunCost, DriverError> {
    let steps = crate::campaign_spec::growth_time_steps(pilot).max(1);
    timed_pilot("growth", &growth_result_toml(pilot), steps, |path| {
        let mut config = pilot.clone();
        config.output.path = path;
        let p = growth_plan(config, &spec.base)?;
        Ok(run_growth(&p, &mut |_, _| {}, &AtomicBool::new(false))?.wall_seconds)
    })
}

/// Times `run` (a pilot of `steps` time steps writing to the path it is given, in a
/// temporary directory named after `kind` and the pilot's configuration `key_toml`,
/// removed afterwards; `run` returns the wall seconds of its stepping) and splits the
/// total into set-up and seconds per time step.
fn timed_pilot(
    kind: &str,
    key_toml: &str,
    steps: u64,
    run: impl FnOnce(PathBuf) -> Result<f64, DriverError>,
) -> Result<RunCost, DriverError> {
    let dir = std::env::temp_dir().join(format!(
        "pedisim-{kind}-pilot-{}-{}",
        std::process::id(),
        fnv1a(FNV_OFFSET, key_toml.as_bytes())
    ));
    std::fs::create_dir_all(&dir).map_err(|e| {
        DriverError::Other(format!("cannot create directory {}: {e}", dir.display()))
    })?;
    let t0 = Instant::now();
    let result = run(dir.join("pilot.h5"));
    let total = t0.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    let stepping = result?.min(total);
    Ok(RunCost {
        setup_seconds: total - stepping,
        seconds_per_history: stepping / steps as f64,
        histories: steps,
    })
}

/// A plain-text dry-run report: one line per run (id, histories or, for a growth
/// campaign, time steps, estimated core-seconds, label) and totals: histories (or time
/// steps), core-hours, and the longest run (the floor of the wall time however many cores
/// run the campaign).
pub fn dry_run_report(runs: &[ExpandedRun], costs: &[RunCost]) -> String {
    let growth = runs
        .first()
        .is_some_and(|r| r.config.kind() == CampaignKind::Growth);
    let unit = if growth { "time steps" } else { "histories" };
    let id_w = runs.iter().map(|r| r.id.len()).max().unwrap_or(9);
    let mut out = format!(
        "{:<id_w$}  {:>12}  {:>10}  label\n",
        "run",
        if growth { "steps" } else { "histories" },
        "core-s"
    );
    for (r, c) in runs.iter().zip(costs) {
        out.push_str(&format!(
            "{:<id_w$}  {:>12}  {:>10.3}  {}\n",
            r.id,
            c.histories,
            c.core_seconds(),
            r.label
        ));
    }
    let total: f64 = costs.iter().map(|c| c.core_seconds()).sum();
    let longest = costs.iter().map(|c| c.core_seconds()).fold(0.0, f64::max);
    let histories: u64 = costs.iter().map(|c| c.histories).sum();
    let agents = runs.first().is_some_and(|r| r.config.is_agents());
    let pilot = if agents {
        format!(
            "{AGENTS_PILOT_STEPS} mechanics steps (of the initial spheroid: a growing one costs more) per distinct configuration"
        )
    } else if growth {
        format!("{GROWTH_PILOT_STEPS} time steps per distinct grid")
    } else {
        format!(
            "{} histories per distinct configuration",
            crate::PILOT_HISTORIES
        )
    };
    out.push_str(&format!(
        "{} run{}, {} {unit}, estimated {:.3} core-hours in total ({:.1} core-s), longest run {:.1} core-s (from one pilot of up to {pilot} on one core)\n",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" },
        histories,
        total / 3600.0,
        total,
        longest,
    ));
    out
}

/// True if `run`'s dose file (or growth result) exists and is the complete result of
/// exactly this run.
pub fn verify_run_file(run: &ExpandedRun, path: &Path) -> bool {
    if !path.is_file() {
        return false;
    }
    let config = match &run.config {
        AnyRunConfig::Dose(c) => c,
        AnyRunConfig::Growth(g) => return verify_growth_file(g, path).is_some(),
        AnyRunConfig::Agents(a) => return verify_agents_file(a, path).is_some(),
    };
    let ok = || -> Option<bool> {
        let v = h5::read_attr_string(path, "/", "format_version").ok()?;
        // Layouts before 1.3 come from versions without electron transport, whose results
        // a configuration without [physics] electron_transport no longer means.
        let (major, minor) = v.split_once('.')?;
        if major != "1" || minor.parse::<u32>().ok()? < 3 {
            return Some(false);
        }
        let text = h5::read_attr_string(path, "/", "config_toml").ok()?;
        let stored: RunConfig = toml::from_str(&text).ok()?;
        let histories = h5::read_attr_u64(path, "/", "histories").ok()?;
        let expected = run.config.work_units();
        // The dose map must be readable in full.
        h5::read_f64_dataset(path, "dose/dose_gy").ok()?;
        Some(result_toml(&stored) == result_toml(config) && histories == expected)
    };
    ok().unwrap_or(false)
}

/// The trajectory of a growth result (`/trajectory` of growth layout 1.x): one value per
/// output time in each column of its model's layout, [`TRAJECTORY_COLUMNS`] (continuum)
/// or [`AGENTS_TRAJECTORY_COLUMNS`] (agent-based), counts of cells as exact integers in
/// `f64`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trajectory {
    /// Names of the columns: [`TRAJECTORY_COLUMNS`] or [`AGENTS_TRAJECTORY_COLUMNS`].
    pub names: &'static [&'static str],
    /// The columns in the order of `names` (the first is `time_day` \[day\]), of equal
    /// length.
    pub values: Vec<Vec<f64>>,
}

/// Names of the continuum model's trajectory columns, in the order of
/// [`Trajectory::columns`].
pub const TRAJECTORY_COLUMNS: [&str; 5] = [
    "time_day",
    "total_cells",
    "detectable_volume_mm3",
    "equivalent_radius_mm",
    "max_density_cells_per_mm3",
];

/// Units of [`TRAJECTORY_COLUMNS`].
const TRAJECTORY_UNITS: [&str; 5] = ["day", "cells", "mm3", "mm", "cells/mm3"];

/// Meaning of [`TRAJECTORY_COLUMNS`].
const TRAJECTORY_WHAT: [&str; 5] = [
    "time of each output row from the start of the run: [run, output time]",
    "number of tumour cells: [run, output time]",
    "volume where the density is at least the detection threshold: [run, output time]",
    "radius of the sphere of the detectable volume: [run, output time]",
    "largest density: [run, output time]",
];

/// Names of the agent-based model's trajectory columns (its `/trajectory`, formats.md
/// §11), in the order of [`Trajectory::columns`].
pub const AGENTS_TRAJECTORY_COLUMNS: [&str; 8] = [
    "time_day",
    "live_cells",
    "apoptotic_cells",
    "necrotic_cells",
    "necrosis_events",
    "radius_um",
    "max_radius_um",
    "hypoxic_fraction",
];

/// Units of [`AGENTS_TRAJECTORY_COLUMNS`].
const AGENTS_TRAJECTORY_UNITS: [&str; 8] =
    ["day", "cells", "cells", "cells", "cells", "um", "um", "1"];

/// Meaning of [`AGENTS_TRAJECTORY_COLUMNS`].
const AGENTS_TRAJECTORY_WHAT: [&str; 8] = [
    "time of each output row from the start of the run: [run, output time]",
    "live cells (an exact count stored as f64): [run, output time]",
    "apoptotic cells not yet removed (exact count as f64): [run, output time]",
    "necrotic cells not yet lysed (exact count as f64): [run, output time]",
    "cells that have become necrotic since the start (exact count as f64): [run, output time]",
    "tumour radius sqrt(5/3) R_g over all cell centres: [run, output time]",
    "largest distance of a cell centre from the centroid: [run, output time]",
    "fraction of live cells below the hypoxic oxygen threshold: [run, output time]",
];

impl Trajectory {
    /// Reads `/trajectory` of a growth result in full, with the columns of its model (the
    /// root attribute `model`: agent-based when it starts with `agents`); `None` if a
    /// column is missing or unreadable, or the columns differ in length, or there is no
    /// row.
    pub fn read(path: &Path) -> Option<Trajectory> {
        let agents = h5::read_attr_string(path, "/", "model")
            .ok()?
            .starts_with("agents");
        let names: &'static [&'static str] = if agents {
            &AGENTS_TRAJECTORY_COLUMNS
        } else {
            &TRAJECTORY_COLUMNS
        };
        let values = names
            .iter()
            .map(|name| {
                h5::read_f64_dataset(path, &format!("/trajectory/{name}"))
                    .ok()
                    .filter(|(_, shape)| shape.len() == 1)
                    .map(|(v, _)| v)
            })
            .collect::<Option<Vec<Vec<f64>>>>()?;
        let t = Trajectory { names, values };
        let n = t.len();
        (n > 0 && t.values.iter().all(|c| c.len() == n)).then_some(t)
    }

    /// The columns in the order of [`Trajectory::names`].
    pub fn columns(&self) -> Vec<&Vec<f64>> {
        self.values.iter().collect()
    }

    /// Number of output times.
    pub fn len(&self) -> usize {
        self.values.first().map_or(0, Vec::len)
    }

    /// True without output times.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The trajectory of a growth result if the file is the complete result of exactly the
/// growth run `config`: it opens, its `format_name` is `pedisim-growth` and its
/// `growth_format_version` of major version 1, its stored `config_toml` equals the run's
/// up to threads and output paths ([`growth_result_toml`]), its trajectory reads in full,
/// and the run's CSV file, if it asks for one, exists.
fn verify_growth_file(config: &GrowthConfig, path: &Path) -> Option<Trajectory> {
    let same = |text: &str| {
        toml::from_str::<GrowthConfig>(text)
            .is_ok_and(|stored| growth_result_toml(&stored) == growth_result_toml(config))
    };
    verify_growth_layout(
        path,
        same,
        config.output.csv.as_deref(),
        &TRAJECTORY_COLUMNS,
    )
}

/// The trajectory of an agent-based growth result if the file is the complete result of
/// exactly the run `config`: as [`verify_growth_file`], with the configuration compared
/// by [`agents_result_toml`] and the agent model's trajectory columns.
fn verify_agents_file(config: &AgentsConfig, path: &Path) -> Option<Trajectory> {
    let same = |text: &str| {
        toml::from_str::<AgentsConfig>(text)
            .is_ok_and(|stored| agents_result_toml(&stored) == agents_result_toml(config))
    };
    verify_growth_layout(
        path,
        same,
        config.output.csv.as_deref(),
        &AGENTS_TRAJECTORY_COLUMNS,
    )
}

/// The checks shared by both growth models: growth layout 1.x, a stored `config_toml`
/// that `same_config` accepts, the CSV file `csv` present if asked for, and a complete
/// trajectory with the columns `columns`.
fn verify_growth_layout(
    path: &Path,
    same_config: impl FnOnce(&str) -> bool,
    csv: Option<&Path>,
    columns: &[&str],
) -> Option<Trajectory> {
    if h5::read_attr_string(path, "/", "format_name").ok()? != GROWTH_FORMAT_NAME {
        return None;
    }
    let v = h5::read_attr_string(path, "/", "growth_format_version").ok()?;
    if v.split_once('.')?.0 != "1" {
        return None;
    }
    if !same_config(&h5::read_attr_string(path, "/", "config_toml").ok()?) {
        return None;
    }
    if csv.is_some_and(|c| !c.is_file()) {
        return None;
    }
    Trajectory::read(path).filter(|t| t.names == columns)
}

/// FNV-1a 64-bit digest of a file's bytes, as 16 hex digits.
pub fn file_checksum(path: &Path) -> Result<String, DriverError> {
    Ok(format!("{:016x}", checksum_u64(path)?))
}

fn relative_to(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir).unwrap_or(p).display().to_string()
}

/// Binds `output_dir` to this campaign, or refuses if another campaign lives there.
fn claim_directory(spec: &CampaignSpec, fingerprint: &str) -> Result<(), DriverError> {
    let dir = &spec.output_dir;
    std::fs::create_dir_all(dir.join("runs")).map_err(|e| {
        DriverError::Other(format!("cannot create directory {}: {e}", dir.display()))
    })?;
    let id_path = dir.join(ID_FILE);
    let line = format!("{} {}\n", spec.name, fingerprint);
    match std::fs::read_to_string(&id_path) {
        Ok(existing) if existing == line => Ok(()),
        Ok(existing) => Err(DriverError::Config {
            file: spec.file.clone(),
            message: format!(
                "[campaign] output_dir = {}: another campaign lives there ({} says {:?}, this \
                 campaign is {:?}); expected an empty directory or one of this campaign: use \
                 another output_dir (campaigns are never mixed)",
                dir.display(),
                id_path.display(),
                existing.trim(),
                line.trim()
            ),
        }),
        Err(_) => {
            if std::fs::read_dir(dir.join("runs"))
                .map(|mut d| d.next().is_some())
                .unwrap_or(false)
            {
                return Err(DriverError::Config {
                    file: spec.file.clone(),
                    message: format!(
                        "[campaign] output_dir = {}: its runs/ directory holds files of an \
                         unknown campaign (no {ID_FILE}); expected an empty directory",
                        dir.display()
                    ),
                });
            }
            // Atomic: concurrent array tasks may claim the directory at the same time.
            let tmp = dir.join(format!("{ID_FILE}.tmp{}", std::process::id()));
            std::fs::write(&tmp, &line)
                .and_then(|_| std::fs::rename(&tmp, &id_path))
                .map_err(|e| DriverError::Other(format!("cannot write {}: {e}", id_path.display())))
        }
    }
}

/// What one attempt at a run gave.
#[derive(Clone, Debug, PartialEq)]
enum RunResult {
    /// Written and complete: histories, transport wall time \[s\], file checksum.
    Done {
        histories: u64,
        wall_seconds: f64,
        checksum: u64,
    },
    /// Failed with this error; the campaign goes on.
    Failed(String),
    /// Stopped by a cancellation before it was written; it stays pending.
    Cancelled,
}

impl RunResult {
    /// `[status, histories, wall_seconds bits, checksum, error bytes, error bytes packed
    /// eight to a word...]`, the form sent from a worker rank to rank 0.
    fn to_words(&self) -> Vec<u64> {
        match self {
            RunResult::Done {
                histories,
                wall_seconds,
                checksum,
            } => vec![1, *histories, wall_seconds.to_bits(), *checksum, 0],
            RunResult::Failed(e) => {
                let b = e.as_bytes();
                let mut w = vec![2, 0, 0, 0, b.len() as u64];
                w.extend(b.chunks(8).map(|c| {
                    let mut a = [0u8; 8];
                    a[..c.len()].copy_from_slice(c);
                    u64::from_le_bytes(a)
                }));
                w
            }
            RunResult::Cancelled => vec![3, 0, 0, 0, 0],
        }
    }

    fn from_words(w: &[u64]) -> Option<RunResult> {
        match *w.first()? {
            1 => Some(RunResult::Done {
                histories: *w.get(1)?,
                wall_seconds: f64::from_bits(*w.get(2)?),
                checksum: *w.get(3)?,
            }),
            2 => {
                let n = *w.get(4)? as usize;
                let bytes: Vec<u8> = w
                    .get(5..)?
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .take(n)
                    .collect();
                Some(RunResult::Failed(
                    String::from_utf8_lossy(&bytes).into_owned(),
                ))
            }
            3 => Some(RunResult::Cancelled),
            _ => None,
        }
    }
}

/// FNV-1a 64-bit digest of a file's bytes.
pub(crate) fn checksum_u64(path: &Path) -> Result<u64, DriverError> {
    let bytes = std::fs::read(path)
        .map_err(|e| DriverError::Other(format!("cannot read {}: {e}", path.display())))?;
    Ok(fnv1a(FNV_OFFSET, &bytes))
}

/// The failure note of a run: `runs/<id>.failed` beside its (absent) dose file.
fn failure_note(spec: &CampaignSpec, id: &str) -> PathBuf {
    spec.output_dir.join("runs").join(format!("{id}.failed"))
}

/// Runs `run` on the ranks of `comm` (all of them take part) and records its outcome:
/// a failure note for a failed run (removed again when it succeeds). `progress(done,
/// total)` hears histories of a dose run, simulated days of a growth run.
fn attempt(
    spec: &CampaignSpec,
    run: &ExpandedRun,
    comm: &dyn Comm,
    threads: Option<usize>,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> RunResult {
    let note = failure_note(spec, &run.id);
    // Growth runs report progress in simulated days; their work is their time steps.
    let days = |t: f64| t.round() as u64;
    let steps = run.config.work_units();
    let result = match &run.config {
        AnyRunConfig::Dose(c) => {
            let mut config = c.clone();
            if let Some(t) = threads {
                config.run.threads = t;
            }
            plan(config, &spec.base)
                .and_then(|p: Plan| execute_on(&p, comm, progress, cancel))
                .and_then(|outcome| {
                    if comm.rank() == 0 {
                        Ok((
                            outcome.histories,
                            outcome.wall_seconds,
                            checksum_u64(&outcome.output)?,
                        ))
                    } else {
                        Ok((outcome.histories, outcome.wall_seconds, 0))
                    }
                })
        }
        AnyRunConfig::Growth(_) | AnyRunConfig::Agents(_) if comm.size() > 1 => {
            // Load refuses distribute = "histories" for growth campaigns.
            Err(DriverError::Other(
                "a growth run cannot be split over MPI ranks (distribute = \"runs\" only)".into(),
            ))
        }
        AnyRunConfig::Growth(g) => {
            let mut config = g.clone();
            config.run.threads = threads.unwrap_or(config.run.threads);
            growth_plan(config, &spec.base)
                .and_then(|p| run_growth(&p, &mut |t, e| progress(days(t), days(e)), cancel))
                .and_then(|o| Ok((steps, o.wall_seconds, checksum_u64(&o.output)?)))
        }
        AnyRunConfig::Agents(a) => {
            let mut config = a.clone();
            config.run.threads = threads.unwrap_or(config.run.threads);
            agents_plan(config, &spec.base)
                .and_then(|p| run_agents(&p, &mut |t, e| progress(days(t), days(e)), cancel))
                .and_then(|o| Ok((steps, o.wall_seconds, checksum_u64(&o.output)?)))
        }
    };
    match result {
        Ok((histories, wall_seconds, checksum)) => {
            if comm.rank() == 0 {
                let _ = std::fs::remove_file(&note);
            }
            RunResult::Done {
                histories,
                wall_seconds,
                checksum,
            }
        }
        Err(DriverError::Transport(pedisim_transport::TransportError::Cancelled)) => {
            RunResult::Cancelled
        }
        Err(e) => {
            let text = e.to_string();
            if comm.rank() == 0 {
                let tmp = note.with_extension(format!("failed.tmp{}", std::process::id()));
                if std::fs::write(&tmp, &text).is_ok() {
                    let _ = std::fs::rename(&tmp, &note);
                }
            }
            RunResult::Failed(text)
        }
    }
}

/// [`attempt`] in this process alone (a rank running a whole run under
/// `distribute = "runs"`): no communication, so it may run on any thread.
fn attempt_alone(
    spec: &CampaignSpec,
    run: &ExpandedRun,
    threads: Option<usize>,
    cancel: &AtomicBool,
) -> RunResult {
    attempt(
        spec,
        run,
        &crate::comm::SingleProcess,
        threads,
        &mut |_, _| {},
        cancel,
    )
}

/// The result of a run whose thread panicked (a bug: the message says so).
fn panicked() -> RunResult {
    RunResult::Failed(
        "internal error: the run's thread panicked (please report it with the run's configuration)"
            .into(),
    )
}

/// Which runs an invocation of [`run_campaign`] works on and whether it keeps the index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Share {
    /// Every run; rank 0 keeps `campaign.h5`.
    #[default]
    All,
    /// A job-array task: runs `k` with `k % tasks == task`, in this process alone; the
    /// index is not written (concurrent tasks would race on it): build it afterwards
    /// with [`merge_index`].
    ArrayTask {
        /// This task, `0..tasks` (Slurm's `SLURM_ARRAY_TASK_ID` minus the first id).
        task: usize,
        /// Number of tasks in the array.
        tasks: usize,
    },
}

/// An event of a running campaign, for a log or a progress bar (on rank 0).
#[derive(Clone, Debug, PartialEq)]
pub enum CampaignEvent {
    /// A line for the log (a run finished or failed, a resume, an interruption).
    Line(String),
    /// Progress: runs finished (done or failed, skipped ones included) out of `total`,
    /// the rate of transported histories of this invocation \[histories/s\] and the
    /// estimated time to the end \[s\] (NaN until a run has finished).
    Progress {
        /// Runs no longer pending.
        finished: usize,
        /// Runs in the campaign (or the array task's share).
        total: usize,
        /// Histories per second over this invocation.
        histories_per_second: f64,
        /// Estimated seconds to the end.
        eta_seconds: f64,
    },
}

/// Book-keeping of rank 0: the index rows, the report and the progress figures.
struct Ledger<'a> {
    spec: &'a CampaignSpec,
    fingerprint: String,
    index: PathBuf,
    write: bool,
    rows: Vec<CampaignRunRow>,
    /// Trajectories of the done runs of a growth campaign (empty for a dose campaign).
    trajectories: Vec<Option<Trajectory>>,
    report: CampaignReport,
    total: usize,
    histories: u64,
    t0: Instant,
    last_line: Instant,
}

/// Seconds between progress lines while runs are in progress (batch-job logs).
const PROGRESS_LINE_SECONDS: f64 = 60.0;

impl Ledger<'_> {
    fn finished(&self) -> usize {
        self.report.skipped + self.report.computed + self.report.failed
    }

    fn progress(&self) -> CampaignEvent {
        let elapsed = self.t0.elapsed().as_secs_f64().max(1e-9);
        let attempted = self.report.computed + self.report.failed;
        let left = self.total - self.finished();
        CampaignEvent::Progress {
            finished: self.finished(),
            total: self.total,
            histories_per_second: self.histories as f64 / elapsed,
            eta_seconds: if attempted > 0 {
                left as f64 * elapsed / attempted as f64
            } else {
                f64::NAN
            },
        }
    }

    fn status_line(&self) -> String {
        let CampaignEvent::Progress {
            finished,
            total,
            histories_per_second,
            eta_seconds,
        } = self.progress()
        else {
            unreachable!()
        };
        let unit = match self.spec.kind {
            crate::campaign_spec::CampaignKind::Dose => "histories",
            crate::campaign_spec::CampaignKind::Growth => "time steps",
        };
        format!(
            "campaign {}: {finished}/{total} runs finished ({} failed), {:.3e} {unit}/s, ETA {}",
            self.spec.name,
            self.report.failed,
            histories_per_second,
            if eta_seconds.is_finite() {
                format!("{eta_seconds:.0} s")
            } else {
                "unknown".into()
            }
        )
    }

    /// Records the result of run `k` (wall time `seconds` from its start).
    fn record(
        &mut self,
        k: usize,
        result: RunResult,
        seconds: f64,
        event: &mut dyn FnMut(&CampaignEvent),
    ) -> Result<(), DriverError> {
        let id = self.rows[k].id.clone();
        match result {
            RunResult::Done {
                histories,
                wall_seconds,
                checksum,
            } => {
                if self.write && self.spec.kind == CampaignKind::Growth {
                    self.trajectories[k] = Trajectory::read(&self.spec.output_path(&id));
                }
                let row = &mut self.rows[k];
                row.status = "done".into();
                row.histories = histories;
                row.wall_seconds = wall_seconds;
                row.checksum = format!("{checksum:016x}");
                row.error.clear();
                self.report.computed += 1;
                self.histories += histories;
                event(&CampaignEvent::Line(format!(
                    "campaign {}: {id} done in {seconds:.1} s",
                    self.spec.name
                )));
            }
            RunResult::Failed(e) => {
                self.rows[k].status = "failed".into();
                self.rows[k].error = e.clone();
                self.report.failed += 1;
                event(&CampaignEvent::Line(format!(
                    "campaign {}: {id} FAILED: {e}",
                    self.spec.name
                )));
            }
            RunResult::Cancelled => {
                self.report.interrupted = true;
                event(&CampaignEvent::Line(format!(
                    "campaign {}: interrupted during {id}; it will be run again on resume",
                    self.spec.name
                )));
                return Ok(());
            }
        }
        if self.write {
            write_index(
                self.spec,
                &self.fingerprint,
                &self.index,
                &self.rows,
                &self.trajectories,
            )?;
        }
        event(&self.progress());
        event(&CampaignEvent::Line(self.status_line()));
        self.last_line = Instant::now();
        Ok(())
    }

    /// A progress line, with `extra` about the runs in progress, if none was written for
    /// a while (long runs in batch jobs).
    fn heartbeat(&mut self, event: &mut dyn FnMut(&CampaignEvent), extra: &dyn Fn() -> String) {
        if self.last_line.elapsed().as_secs_f64() >= PROGRESS_LINE_SECONDS {
            event(&CampaignEvent::Line(format!(
                "{}; {}",
                self.status_line(),
                extra()
            )));
            self.last_line = Instant::now();
        }
    }
}

/// Runs a campaign, skipping runs already complete, and returns how it ended.
///
/// * One process, or `distribute = "histories"`: runs one after another, each on
///   `threads` threads (or its config's) and split over all ranks of `comm`
///   ([`crate::execute_on`]).
/// * `distribute = "runs"` with several ranks: whole runs are dealt out dynamically by
///   rank 0 (longest first, by histories; a rank asks for the next run when it has
///   finished one), so runs of different cost balance out. Rank 0 runs runs too, on a
///   second thread; its main thread serves the other ranks.
/// * [`Share::ArrayTask`]: this process's share of a job array, without the index.
///
/// Rank 0 keeps the index `campaign.h5` (rewritten atomically after every run) and
/// receives the events. Every rank's output depends only on the run, never on which
/// rank ran it. Collective: every rank calls it with the same campaign.
pub fn run_campaign(
    spec: &CampaignSpec,
    runs: &[ExpandedRun],
    share: Share,
    comm: &dyn Comm,
    threads: Option<usize>,
    event: &mut dyn FnMut(&CampaignEvent),
    cancel: &AtomicBool,
) -> Result<CampaignReport, DriverError> {
    if let Share::ArrayTask { task, tasks } = share {
        if tasks == 0 || task >= tasks {
            return Err(DriverError::Other(format!(
                "array task {task} of {tasks}: expected 0 <= task < tasks"
            )));
        }
        if comm.size() > 1 {
            return Err(DriverError::Other(format!(
                "an array task runs as one process; it was started as {} MPI ranks",
                comm.size()
            )));
        }
    }
    validate_runs(spec, runs)?;
    let fingerprint = campaign_fingerprint(runs);
    let root = comm.rank() == 0;
    // Rank 0 owns the directory; the others learn whether it could be claimed.
    let claimed = if root {
        claim_directory(spec, &fingerprint)
    } else {
        Ok(())
    };
    let mut flag = [claimed.is_err() as u64];
    comm.broadcast_from_root(&mut flag);
    claimed?;
    if flag[0] != 0 {
        return Err(DriverError::Other(
            "rank 0 could not claim the campaign's output directory".into(),
        ));
    }
    let mine: Vec<bool> = (0..runs.len())
        .map(|k| match share {
            Share::All => true,
            Share::ArrayTask { task, tasks } => k % tasks == task,
        })
        .collect();
    let index = spec.output_dir.join(INDEX_FILE);
    let mut ledger = Ledger {
        spec,
        fingerprint,
        index: index.clone(),
        write: root && share == Share::All,
        rows: initial_rows(spec, runs),
        trajectories: vec![None; runs.len()],
        report: CampaignReport {
            index,
            runs: mine.iter().filter(|&&m| m).count(),
            skipped: 0,
            computed: 0,
            failed: 0,
            interrupted: false,
        },
        total: mine.iter().filter(|&&m| m).count(),
        histories: 0,
        t0: Instant::now(),
        last_line: Instant::now(),
    };
    let mut done = vec![0u64; runs.len()];
    if root {
        for (k, r) in runs.iter().enumerate() {
            if mine[k] {
                if let Some(t) = mark_if_done(spec, r, &mut ledger.rows[k])? {
                    done[k] = 1;
                    ledger.trajectories[k] = t;
                }
            }
        }
    }
    comm.broadcast_from_root(&mut done);
    ledger.report.skipped = done.iter().filter(|&&d| d != 0).count();
    if ledger.report.skipped > 0 && root {
        event(&CampaignEvent::Line(format!(
            "campaign {}: {} of {} runs already complete and verified; not recomputed",
            spec.name, ledger.report.skipped, ledger.total
        )));
    }
    if ledger.write {
        write_index(
            spec,
            &ledger.fingerprint,
            &ledger.index,
            &ledger.rows,
            &ledger.trajectories,
        )?;
    }
    if root {
        event(&ledger.progress());
    }
    let pending: Vec<usize> = (0..runs.len())
        .filter(|&k| mine[k] && done[k] == 0)
        .collect();
    if comm.size() > 1 && spec.distribute == Distribute::Runs {
        if root {
            deal_runs(
                spec,
                runs,
                pending,
                comm,
                threads,
                &mut ledger,
                event,
                cancel,
            )?;
        } else {
            serve_runs(spec, runs, comm, threads, cancel)?;
        }
    } else {
        for k in pending {
            if comm.any(cancel.load(Ordering::Relaxed)) {
                ledger.report.interrupted = true;
                break;
            }
            let started = Instant::now();
            let id = &runs[k].id;
            let unit = match spec.kind {
                CampaignKind::Dose => "histories",
                CampaignKind::Growth => "days",
            };
            let result = attempt(
                spec,
                &runs[k],
                comm,
                threads,
                &mut |done, total| {
                    if root {
                        ledger.heartbeat(event, &|| format!("{id}: {done} of {total} {unit}"));
                    }
                },
                cancel,
            );
            let cancelled = result == RunResult::Cancelled;
            if root {
                ledger.record(k, result, started.elapsed().as_secs_f64(), event)?;
            }
            if cancelled {
                ledger.report.interrupted = true;
                break;
            }
        }
    }
    if ledger.write {
        write_index(
            spec,
            &ledger.fingerprint,
            &ledger.index,
            &ledger.rows,
            &ledger.trajectories,
        )?;
    }
    let mut interrupted = [ledger.report.interrupted as u64];
    comm.broadcast_from_root(&mut interrupted);
    ledger.report.interrupted = interrupted[0] != 0;
    Ok(ledger.report)
}

/// One `pending` row per run.
fn initial_rows(spec: &CampaignSpec, runs: &[ExpandedRun]) -> Vec<CampaignRunRow> {
    runs.iter()
        .map(|r| CampaignRunRow {
            id: r.id.clone(),
            label: r.label.clone(),
            status: "pending".into(),
            file: relative_to(&spec.output_dir, &spec.output_path(&r.id)),
            config_fingerprint: run_fingerprint(r),
            histories: 0,
            wall_seconds: f64::NAN,
            error: String::new(),
            checksum: String::new(),
        })
        .collect()
}

/// Marks `row` done if the run's file is complete and verified; returns `None` if it is
/// not, else `Some` of the trajectory of a growth run (`Some(None)` for a dose run).
fn mark_if_done(
    spec: &CampaignSpec,
    run: &ExpandedRun,
    row: &mut CampaignRunRow,
) -> Result<Option<Option<Trajectory>>, DriverError> {
    let path = spec.output_path(&run.id);
    let trajectory = match &run.config {
        AnyRunConfig::Dose(_) => {
            if !verify_run_file(run, &path) {
                return Ok(None);
            }
            row.histories = h5::read_attr_u64(&path, "/", "histories").unwrap_or(0);
            None
        }
        AnyRunConfig::Growth(g) => {
            if !path.is_file() {
                return Ok(None);
            }
            let Some(t) = verify_growth_file(g, &path) else {
                return Ok(None);
            };
            row.histories = run.config.work_units();
            Some(t)
        }
        AnyRunConfig::Agents(a) => {
            if !path.is_file() {
                return Ok(None);
            }
            let Some(t) = verify_agents_file(a, &path) else {
                return Ok(None);
            };
            row.histories = run.config.work_units();
            Some(t)
        }
    };
    row.status = "done".into();
    row.wall_seconds = h5::read_attr_f64(&path, "/", "wall_seconds").unwrap_or(f64::NAN);
    row.checksum = file_checksum(&path)?;
    Ok(Some(trajectory))
}

/// Rebuilds `campaign.h5` from the run files alone (after a job array, or to check a
/// directory): verified run files are `done`, runs with a failure note are `failed` with
/// its error, the others `pending`. Returns the report (nothing computed).
pub fn merge_index(
    spec: &CampaignSpec,
    runs: &[ExpandedRun],
) -> Result<CampaignReport, DriverError> {
    let fingerprint = campaign_fingerprint(runs);
    claim_directory(spec, &fingerprint)?;
    let mut rows = initial_rows(spec, runs);
    let mut trajectories = vec![None; runs.len()];
    let mut report = CampaignReport {
        index: spec.output_dir.join(INDEX_FILE),
        runs: runs.len(),
        skipped: 0,
        computed: 0,
        failed: 0,
        interrupted: false,
    };
    for (k, r) in runs.iter().enumerate() {
        if let Some(t) = mark_if_done(spec, r, &mut rows[k])? {
            trajectories[k] = t;
            report.skipped += 1;
        } else if let Ok(e) = std::fs::read_to_string(failure_note(spec, &r.id)) {
            rows[k].status = "failed".into();
            rows[k].error = e;
            report.failed += 1;
        }
    }
    write_index(spec, &fingerprint, &report.index, &rows, &trajectories)?;
    Ok(report)
}

/// Pause of rank 0's serving loop when nothing happened.
const POLL: std::time::Duration = std::time::Duration::from_millis(2);

/// Rank 0 of `distribute = "runs"`: deals out the pending runs (longest first, by
/// histories) to the ranks that ask, runs runs itself on a second thread, and records
/// every result. On cancellation it deals no more runs, tells busy ranks to stop theirs
/// ([`crate::comm::tag::CANCEL`]), and waits for every rank.
#[allow(clippy::too_many_arguments)]
fn deal_runs(
    spec: &CampaignSpec,
    runs: &[ExpandedRun],
    mut pending: Vec<usize>,
    comm: &dyn Comm,
    threads: Option<usize>,
    ledger: &mut Ledger,
    event: &mut dyn FnMut(&CampaignEvent),
    cancel: &AtomicBool,
) -> Result<(), DriverError> {
    use crate::comm::tag;
    // Longest first (stable: equal runs keep the campaign order).
    pending.sort_by_key(|&k| {
        std::cmp::Reverse(match &runs[k].config {
            AnyRunConfig::Dose(c) => c.run.histories,
            AnyRunConfig::Growth(_) | AnyRunConfig::Agents(_) => runs[k].config.work_units(),
        })
    });
    let mut queue: std::collections::VecDeque<usize> = pending.into();
    let size = comm.size();
    let mut busy: Vec<Option<(usize, Instant)>> = vec![None; size];
    let mut stopped = vec![false; size];
    stopped[0] = true;
    let mut cancelling = false;
    let local_cancel = AtomicBool::new(false);
    std::thread::scope(|scope| -> Result<(), DriverError> {
        let mut local: Option<(usize, Instant, std::thread::ScopedJoinHandle<RunResult>)> = None;
        loop {
            let mut idle = true;
            if !cancelling && cancel.load(Ordering::Relaxed) {
                cancelling = true;
            }
            if cancelling && !local_cancel.swap(true, Ordering::Relaxed) {
                for (r, b) in busy.iter().enumerate() {
                    if b.is_some() {
                        comm.send(r, tag::CANCEL, &[]);
                    }
                }
            }
            while let Some((src, t, words)) = comm.try_receive() {
                idle = false;
                if t != tag::REQUEST {
                    return Err(DriverError::Other(format!(
                        "rank 0 received message tag {t} from rank {src}; expected a request"
                    )));
                }
                if let Some((k, started)) = busy[src].take() {
                    let result = RunResult::from_words(&words).ok_or_else(|| {
                        DriverError::Other(format!("rank {src} sent a malformed report"))
                    })?;
                    if result == RunResult::Cancelled {
                        cancelling = true;
                    }
                    ledger.record(k, result, started.elapsed().as_secs_f64(), event)?;
                }
                match queue.pop_front().filter(|_| !cancelling) {
                    Some(k) => {
                        comm.send(src, tag::ASSIGN, &[k as u64]);
                        busy[src] = Some((k, Instant::now()));
                    }
                    None => {
                        comm.send(src, tag::STOP, &[]);
                        stopped[src] = true;
                    }
                }
            }
            if local.as_ref().is_some_and(|(_, _, h)| h.is_finished()) {
                let (k, started, h) = local.take().expect("checked");
                // A panic is that run's failure, not the campaign's: the other ranks
                // keep waiting for rank 0's answers.
                let result = h.join().unwrap_or_else(|_| panicked());
                if result == RunResult::Cancelled {
                    cancelling = true;
                }
                ledger.record(k, result, started.elapsed().as_secs_f64(), event)?;
                idle = false;
            }
            if local.is_none() && !cancelling {
                if let Some(k) = queue.pop_front() {
                    let (run, local_cancel) = (&runs[k], &local_cancel);
                    let h = scope.spawn(move || attempt_alone(spec, run, threads, local_cancel));
                    local = Some((k, Instant::now(), h));
                    idle = false;
                }
            }
            if local.is_none() && stopped.iter().all(|&s| s) {
                break;
            }
            let running = busy.iter().filter(|b| b.is_some()).count() + local.is_some() as usize;
            ledger.heartbeat(event, &|| format!("{running} runs in progress"));
            if idle {
                std::thread::sleep(POLL);
            }
        }
        Ok(())
    })?;
    if cancelling && ledger.finished() < ledger.total {
        ledger.report.interrupted = true;
    }
    Ok(())
}

/// A rank other than 0 under `distribute = "runs"`: asks rank 0 for a run, runs it alone
/// (on a second thread, while this thread listens for a cancellation), reports and asks
/// again, until rank 0 says stop.
fn serve_runs(
    spec: &CampaignSpec,
    runs: &[ExpandedRun],
    comm: &dyn Comm,
    threads: Option<usize>,
    cancel: &AtomicBool,
) -> Result<(), DriverError> {
    use crate::comm::tag;
    let mut report: Vec<u64> = Vec::new();
    loop {
        comm.send(0, tag::REQUEST, &report);
        let k = loop {
            let (t, words) = comm.receive_from(0);
            match t {
                tag::ASSIGN => break words.first().copied().map(|k| k as usize),
                tag::STOP => break None,
                // A cancellation that crossed this rank's request: nothing runs now.
                tag::CANCEL => continue,
                _ => {
                    return Err(DriverError::Other(format!(
                        "rank {} received message tag {t} from rank 0",
                        comm.rank()
                    )))
                }
            }
        };
        let Some(k) = k.filter(|&k| k < runs.len()) else {
            return Ok(());
        };
        let run_cancel = AtomicBool::new(false);
        let result = std::thread::scope(|scope| {
            let (run, run_cancel) = (&runs[k], &run_cancel);
            let h = scope.spawn(move || attempt_alone(spec, run, threads, run_cancel));
            while !h.is_finished() {
                if cancel.load(Ordering::Relaxed) {
                    run_cancel.store(true, Ordering::Relaxed);
                }
                if let Some((_, t, _)) = comm.try_receive() {
                    if t == tag::CANCEL {
                        run_cancel.store(true, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(POLL);
            }
            // A panic is that run's failure: rank 0 still gets this rank's report.
            h.join().unwrap_or_else(|_| panicked())
        });
        report = result.to_words();
    }
}

fn write_index(
    spec: &CampaignSpec,
    fingerprint: &str,
    index: &Path,
    rows: &[CampaignRunRow],
    trajectories: &[Option<Trajectory>],
) -> Result<(), DriverError> {
    let attrs: Vec<(String, AttrValue)> = vec![
        (
            "campaign_kind".into(),
            AttrValue::Str(spec.kind.name().into()),
        ),
        ("campaign_name".into(), AttrValue::Str(spec.name.clone())),
        (
            "campaign_fingerprint".into(),
            AttrValue::Str(fingerprint.into()),
        ),
        (
            "campaign_file".into(),
            AttrValue::Str(spec.file.display().to_string()),
        ),
        (
            "campaign_toml".into(),
            AttrValue::Str(std::fs::read_to_string(&spec.file).unwrap_or_default()),
        ),
        (
            "base_config".into(),
            AttrValue::Str(spec.base.display().to_string()),
        ),
        (
            "pedisim_version".into(),
            AttrValue::Str(pedisim_core::PEDISIM_VERSION.into()),
        ),
        ("runs".into(), AttrValue::U64(rows.len() as u64)),
        (
            "runs_done".into(),
            AttrValue::U64(rows.iter().filter(|r| r.status == "done").count() as u64),
        ),
        (
            "runs_failed".into(),
            AttrValue::U64(rows.iter().filter(|r| r.status == "failed").count() as u64),
        ),
    ];
    if spec.kind == CampaignKind::Dose {
        return Ok(h5::write_campaign_index(index, &attrs, rows)?);
    }
    let agents = spec.base_config.is_agents();
    let mut attrs = attrs;
    attrs.push((
        "growth_model".into(),
        AttrValue::Str(if agents { "agents" } else { "continuum" }.into()),
    ));
    let (names, units, what): (&[&str], &[&str], &[&str]) = if agents {
        (
            &AGENTS_TRAJECTORY_COLUMNS,
            &AGENTS_TRAJECTORY_UNITS,
            &AGENTS_TRAJECTORY_WHAT,
        )
    } else {
        (&TRAJECTORY_COLUMNS, &TRAJECTORY_UNITS, &TRAJECTORY_WHAT)
    };
    // Growth: /trajectories, one row per run, NaN-padded to the longest trajectory.
    let width = trajectories
        .iter()
        .flatten()
        .map(Trajectory::len)
        .max()
        .unwrap_or(0)
        .max(1);
    let lengths: Vec<u64> = trajectories
        .iter()
        .map(|t| t.as_ref().map_or(0, |t| t.len() as u64))
        .collect();
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let padded: Vec<Vec<f64>> = (0..names.len())
        .map(|c| {
            let mut m = vec![f64::NAN; rows.len() * width];
            for (i, t) in trajectories.iter().enumerate() {
                // Only trajectories of the campaign's model (verified when read).
                if let Some(t) = t.as_ref().filter(|t| t.names == names) {
                    let col = &t.values[c];
                    m[i * width..i * width + col.len()].copy_from_slice(col);
                }
            }
            m
        })
        .collect();
    let groups = [TableGroup {
        name: "trajectories",
        description: "trajectories of the done growth runs: 2-D datasets [run, output time] in \
                      the order of /runs, NaN-padded after each run's length",
        columns: vec![
            Column {
                name: "id",
                values: ColumnValues::Str(&ids),
                units: "text",
                description: "run identifier of each row (as /runs/id)",
            },
            Column {
                name: "length",
                values: ColumnValues::U64(&lengths),
                units: "1",
                description: "output times stored for each run (0 unless done)",
            },
        ],
    }];
    let matrices: Vec<(&str, Matrix)> = (0..names.len())
        .map(|c| {
            (
                "trajectories",
                Matrix {
                    name: names[c],
                    values: &padded[c],
                    shape: [rows.len(), width],
                    units: units[c],
                    description: what[c],
                },
            )
        })
        .collect();
    Ok(h5::write_campaign_index_with(
        index, &attrs, rows, &groups, &matrices,
    )?)
}

#[cfg(test)]
mod tests {
    use super::RunResult;

    #[test]
    fn run_results_cross_the_wire_unchanged() {
        for r in [
            RunResult::Done {
                histories: 123_456_789,
                wall_seconds: 0.1 + 0.2,
                checksum: u64::MAX - 7,
            },
            RunResult::Failed(String::new()),
            RunResult::Failed(
                "phantom.nii.gz: voxel (3, 4, 5): label 9 is not in the table; é".into(),
            ),
            RunResult::Failed("12345678".into()),
            RunResult::Cancelled,
        ] {
            assert_eq!(RunResult::from_words(&r.to_words()), Some(r));
        }
        assert_eq!(RunResult::from_words(&[]), None);
        assert_eq!(RunResult::from_words(&[9, 0, 0, 0, 0]), None);
        assert_eq!(
            RunResult::from_words(&[2, 0, 0, 0, 100]),
            Some(RunResult::Failed(String::new()))
        );
    }
}
