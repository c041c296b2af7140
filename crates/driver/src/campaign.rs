//! Running a campaign: every run of an expanded [`CampaignSpec`], its dose file, and the
//! campaign index `campaign.h5` (layout in `docs/formats.md`).
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
    campaign_fingerprint, fnv1a, run_fingerprint, CampaignSpec, ExpandedRun, FNV_OFFSET,
};
use crate::comm::Comm;
use crate::config::RunConfig;
use crate::plan::{plan, Plan};
use crate::{execute_on, pilot_cost, DriverError, RunCost};
use pedisim_io::h5::{self, AttrValue, CampaignRunRow};
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
        if let Err(e) = plan(r.config.clone(), &spec.base) {
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
/// order. `log` hears about each pilot.
pub fn estimate_costs(
    spec: &CampaignSpec,
    runs: &[ExpandedRun],
    log: &mut dyn FnMut(&str),
) -> Result<Vec<RunCost>, DriverError> {
    let mut seen: std::collections::HashMap<String, RunCost> = Default::default();
    let mut out = Vec::with_capacity(runs.len());
    for r in runs {
        let mut key = r.config.clone();
        key.run.threads = 0;
        key.run.seed = 0;
        key.run.histories = 0;
        key.output = Default::default();
        let key = key.to_toml();
        let histories = {
            let b = r.config.run.batches.max(1);
            r.config.run.histories.div_ceil(b) * b
        };
        let cost = match seen.get(&key) {
            Some(c) => RunCost { histories, ..*c },
            None => {
                log(&format!("pilot of {} ({})", r.id, r.label));
                let c = pilot_cost(&plan(r.config.clone(), &spec.base)?)?;
                seen.insert(key, c);
                RunCost { histories, ..c }
            }
        };
        out.push(cost);
    }
    Ok(out)
}

/// A plain-text dry-run report: one line per run (id, histories, estimated core-seconds,
/// label) and totals: histories, core-hours, and the longest run (the floor of the wall
/// time however many cores run the campaign).
pub fn dry_run_report(runs: &[ExpandedRun], costs: &[RunCost]) -> String {
    let id_w = runs.iter().map(|r| r.id.len()).max().unwrap_or(9);
    let mut out = format!(
        "{:<id_w$}  {:>12}  {:>10}  label\n",
        "run", "histories", "core-s"
    );
    for (r, c) in runs.iter().zip(costs) {
        out.push_str(&format!(
            "{:<id_w$}  {:>12}  {:>10.1}  {}\n",
            r.id,
            c.histories,
            c.core_seconds(),
            r.label
        ));
    }
    let total: f64 = costs.iter().map(|c| c.core_seconds()).sum();
    let longest = costs.iter().map(|c| c.core_seconds()).fold(0.0, f64::max);
    let histories: u64 = costs.iter().map(|c| c.histories).sum();
    out.push_str(&format!(
        "{} run{}, {} histories, estimated {:.3} core-hours in total ({:.1} core-s), longest run {:.1} core-s (from one pilot of up to {} histories per distinct configuration on one core)\n",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" },
        histories,
        total / 3600.0,
        total,
        longest,
        crate::PILOT_HISTORIES
    ));
    out
}

/// The configuration with the thread count cleared: threads never change results.
fn comparable(mut c: RunConfig) -> String {
    c.run.threads = 0;
    c.to_toml()
}

/// True if `run`'s dose file exists and is the complete result of exactly this run.
pub fn verify_run_file(run: &ExpandedRun, path: &Path) -> bool {
    if !path.is_file() {
        return false;
    }
    let ok = || -> Option<bool> {
        let v = h5::read_attr_string(path, "/", "format_version").ok()?;
        if v.split('.').next()? != "1" {
            return Some(false);
        }
        let text = h5::read_attr_string(path, "/", "config_toml").ok()?;
        let stored: RunConfig = toml::from_str(&text).ok()?;
        let histories = h5::read_attr_u64(path, "/", "histories").ok()?;
        let expected = run
            .config
            .run
            .histories
            .div_ceil(run.config.run.batches.max(1))
            * run.config.run.batches.max(1);
        // The dose map must be readable in full.
        h5::read_f64_dataset(path, "dose/dose_gy").ok()?;
        Some(comparable(stored) == comparable(run.config.clone()) && histories == expected)
    };
    ok().unwrap_or(false)
}

/// FNV-1a 64-bit digest of a file's bytes, as 16 hex digits.
pub fn file_checksum(path: &Path) -> Result<String, DriverError> {
    let bytes = std::fs::read(path)
        .map_err(|e| DriverError::Other(format!("cannot read {}: {e}", path.display())))?;
    Ok(format!("{:016x}", fnv1a(FNV_OFFSET, &bytes)))
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
            std::fs::write(&id_path, line)
                .map_err(|e| DriverError::Other(format!("cannot write {}: {e}", id_path.display())))
        }
    }
}

/// Runs a campaign one run after another (each on `threads` threads, or its config's),
/// skipping runs already complete; with several ranks in `comm` (and
/// `distribute = "histories"`) every run's histories are split over all ranks
/// ([`crate::execute_on`]) and rank 0 keeps the index. `log` receives one line per event
/// (on rank 0). Collective: every rank calls it with the same campaign.
pub fn run_campaign(
    spec: &CampaignSpec,
    runs: &[ExpandedRun],
    comm: &dyn Comm,
    threads: Option<usize>,
    log: &mut dyn FnMut(&str),
    cancel: &AtomicBool,
) -> Result<CampaignReport, DriverError> {
    if comm.size() > 1 && spec.distribute == Distribute::Runs {
        return Err(DriverError::Config {
            file: spec.file.clone(),
            message: format!(
                "[campaign] distribute = \"runs\" over {} MPI ranks is not available yet; \
                 expected distribute = \"histories\" (each run split over all ranks) or a \
                 single process",
                comm.size()
            ),
        });
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
    let index = spec.output_dir.join(INDEX_FILE);
    let mut rows: Vec<CampaignRunRow> = runs
        .iter()
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
        .collect();
    let mut report = CampaignReport {
        index: index.clone(),
        runs: runs.len(),
        skipped: 0,
        computed: 0,
        failed: 0,
        interrupted: false,
    };
    let mut done = vec![0u64; runs.len()];
    for (k, r) in runs.iter().enumerate() {
        let path = spec.output_path(&r.id);
        if root && verify_run_file(r, &path) {
            done[k] = 1;
            rows[k].status = "done".into();
            rows[k].histories = h5::read_attr_u64(&path, "/", "histories").unwrap_or(0);
            rows[k].wall_seconds =
                h5::read_attr_f64(&path, "/", "wall_seconds").unwrap_or(f64::NAN);
            rows[k].checksum = file_checksum(&path)?;
            report.skipped += 1;
        }
    }
    comm.broadcast_from_root(&mut done);
    if !root {
        report.skipped = done.iter().filter(|&&d| d != 0).count();
    }
    if report.skipped > 0 {
        log(&format!(
            "campaign {}: {} of {} runs already complete and verified; not recomputed",
            spec.name,
            report.skipped,
            runs.len()
        ));
    }
    if root {
        write_index(spec, &fingerprint, &index, &rows)?;
    }
    let t0 = Instant::now();
    for (k, r) in runs.iter().enumerate() {
        if done[k] != 0 {
            continue;
        }
        if comm.any(cancel.load(Ordering::Relaxed)) {
            report.interrupted = true;
            break;
        }
        let mut config = r.config.clone();
        if let Some(t) = threads {
            config.run.threads = t;
        }
        let started = Instant::now();
        let result = plan(config, &spec.base)
            .and_then(|p: Plan| execute_on(&p, comm, &mut |_, _| {}, cancel));
        match result {
            Ok(outcome) => {
                rows[k].status = "done".into();
                rows[k].histories = outcome.histories;
                rows[k].wall_seconds = outcome.wall_seconds;
                if root {
                    rows[k].checksum = file_checksum(&outcome.output)?;
                }
                report.computed += 1;
            }
            Err(DriverError::Transport(pedisim_transport::TransportError::Cancelled)) => {
                report.interrupted = true;
                log(&format!(
                    "campaign {}: interrupted during {}; it will be run again on resume",
                    spec.name, r.id
                ));
                break;
            }
            Err(e) => {
                rows[k].status = "failed".into();
                rows[k].error = e.to_string();
                report.failed += 1;
                log(&format!("campaign {}: {} FAILED: {e}", spec.name, r.id));
            }
        }
        if !root {
            continue;
        }
        write_index(spec, &fingerprint, &index, &rows)?;
        let done = rows.iter().filter(|r| r.status != "pending").count();
        let elapsed = t0.elapsed().as_secs_f64();
        let rate = report.computed.max(1) as f64 / elapsed.max(1e-9);
        let left = runs.len() - done;
        log(&format!(
            "campaign {}: {} {} in {:.1} s; {done}/{} runs done, {} failed, ETA {:.0} s",
            spec.name,
            r.id,
            rows[k].status,
            started.elapsed().as_secs_f64(),
            runs.len(),
            report.failed,
            left as f64 / rate
        ));
    }
    if root {
        write_index(spec, &fingerprint, &index, &rows)?;
    }
    Ok(report)
}

fn write_index(
    spec: &CampaignSpec,
    fingerprint: &str,
    index: &Path,
    rows: &[CampaignRunRow],
) -> Result<(), DriverError> {
    let attrs: Vec<(String, AttrValue)> = vec![
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
    Ok(h5::write_campaign_index(index, &attrs, rows)?)
}
