//! Slurm batch scripts for a campaign (`pedisim slurm`): the templates of the repository's
//! `slurm/` directory, compiled into the binary so that it renders offline, and the
//! arithmetic that sizes a job from the campaign's estimated cost
//! ([`crate::campaign::estimate_costs`]).
//!
//! Everything here is a pure function of its inputs: nothing talks to Slurm or runs
//! physics. The site facts (cores per node, partitions, time limits, MPI launch flags) are
//! those of `docs/slurm.md`, each marked there as confirmed by the site, seen in user
//! scripts, or unconfirmed.
//!
//! **Templates.** A template is a bash script with placeholders `{{NAME}}` (the list is
//! at the top of each template). [`fill`] replaces every one; a placeholder without a
//! value is an error, and an `#SBATCH` line whose value is empty is switched off (written
//! `##SBATCH`). The block between the lines `# >>> placeholders` and `# <<< placeholders`
//! documents the placeholders for people editing by hand and is dropped on rendering.
//!
//! **Sizing** ([`size_job`]). Per run, a rank of `T` threads needs `setup + transport / T`
//! seconds (perfect thread scaling assumed; set-up on one core). With `distribute = "runs"`
//! over `R` ranks, runs are dealt out longest first, so the job needs at most
//! `sum / R + longest * (R - 1) / R` (the list-scheduling bound); with
//! `distribute = "histories"` the runs go one after another, each split over all `R * T`
//! threads. The wall time is that estimate times [`SAFETY_FACTOR`], plus
//! [`STARTUP_SECONDS`] and the signal margin, rounded up to whole minutes and at least
//! [`MIN_WALL_SECONDS`], and at most the partition's limit, in which case the job
//! continues itself after the wall time. An interrupted run continues from its last whole
//! batch (its checkpoint), so a job must finish at least one batch of the longest run
//! (a tenth of it at most); a shorter wall time is refused.

use crate::campaign_spec::{CampaignKind, CampaignSpec, Distribute, ExpandedRun};
use crate::RunCost;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Safety factor on the estimated time: pilots are wall-clock measurements on a shared
/// machine (tens of per cent), often not the compute nodes' processor.
pub const SAFETY_FACTOR: f64 = 1.5;
/// Allowance for the job's start: modules, MPI start-up, validating every run \[s\].
pub const STARTUP_SECONDS: u64 = 120;
/// Default margin of `--signal=TERM@SECS`: SIGTERM this long before the wall time \[s\].
/// pedisim stops at its next chunk of histories (seconds), discards the run in progress
/// and writes the index; the margin is ample for that, and Slurm may signal up to 60 s
/// early.
pub const DEFAULT_SIGNAL_SECONDS: u64 = 300;
/// Shortest wall time rendered \[s\].
pub const MIN_WALL_SECONDS: u64 = 600;
/// Wall time a single job aims at when the number of nodes is not given \[s\] (or the
/// partition's limit if it is shorter).
pub const TARGET_WALL_SECONDS: u64 = 24 * 3600;
/// Wall time an array task aims at when the number of tasks is not given \[s\] (or the
/// partition's limit if it is shorter): short tasks fit the gaps of a busy cluster.
pub const TARGET_ARRAY_TASK_SECONDS: u64 = 4 * 3600;
/// Most nodes chosen when `--nodes` is not given.
pub const MAX_DEFAULT_NODES: u32 = 64;
/// Most array tasks chosen when their number is not given: Slurm's default
/// `MaxArraySize` is 1001 (indices 0 to 1000).
pub const MAX_DEFAULT_ARRAY_TASKS: usize = 1000;
/// Wall time of the merge job of an array \[s\]: it reads every run file.
pub const MERGE_WALL_SECONDS: u64 = 3600;
/// Continuations allowed beyond those the estimate expects (estimates err; nodes fail).
pub const EXTRA_CONTINUATIONS: u32 = 5;

/// What went wrong while sizing or rendering a job script.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// The site name is not one of [`Site::ALL`].
    #[error("unknown site {given:?}: expected one of {}", Site::names().join(", "))]
    UnknownSite {
        /// The name given.
        given: String,
    },
    /// A wall time could not be read.
    #[error(
        "wall time {text:?}: {why}; expected MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"
    )]
    WallTime {
        /// The text given.
        text: String,
        /// What is wrong with it.
        why: String,
    },
    /// A template uses a placeholder that has no value, or is malformed.
    #[error("template {template}: {message}")]
    Template {
        /// The template's name (its path in the repository).
        template: String,
        /// What is wrong.
        message: String,
    },
    /// An option or a combination of options that cannot give a working job.
    #[error("{0}")]
    Invalid(String),
}

/// A Slurm wall time, in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WallTime(pub u64);

impl WallTime {
    /// Reads Slurm's forms: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`.
    pub fn parse(text: &str) -> Result<WallTime, SlurmError> {
        let err = |why: &str| SlurmError::WallTime {
            text: text.to_string(),
            why: why.to_string(),
        };
        let t = text.trim();
        if t.is_empty() {
            return Err(err("empty"));
        }
        let num = |s: &str, what: &str| -> Result<u64, SlurmError> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 9 {
                return Err(err(&format!("{what} {s:?} is not a whole number")));
            }
            Ok(s.parse().expect("digits"))
        };
        let (days, rest) = match t.split_once('-') {
            Some((d, r)) => (Some(num(d, "days")?), r),
            None => (None, t),
        };
        let parts: Vec<&str> = rest.split(':').collect();
        let secs = match (days, parts.as_slice()) {
            (None, [m]) => num(m, "minutes")? * 60,
            (None, [m, s]) => num(m, "minutes")? * 60 + num(s, "seconds")?,
            (None, [h, m, s]) | (Some(_), [h, m, s]) => {
                let (m, s) = (num(m, "minutes")?, num(s, "seconds")?);
                if m >= 60 || s >= 60 {
                    return Err(err("minutes and seconds must be below 60"));
                }
                num(h, "hours")? * 3600 + m * 60 + s
            }
            (Some(_), [h]) => num(h, "hours")? * 3600,
            (Some(_), [h, m]) => {
                let m = num(m, "minutes")?;
                if m >= 60 {
                    return Err(err("minutes must be below 60"));
                }
                num(h, "hours")? * 3600 + m * 60
            }
            _ => return Err(err("too many fields")),
        };
        let secs = secs + days.unwrap_or(0) * 86_400;
        if secs == 0 {
            return Err(err("zero"));
        }
        Ok(WallTime(secs))
    }

    /// Hours, as a number.
    pub fn hours(self) -> f64 {
        self.0 as f64 / 3600.0
    }
}

/// `HH:MM:SS` below a day, `D-HH:MM:SS` from a day on (both are Slurm's forms).
impl fmt::Display for WallTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (d, r) = (self.0 / 86_400, self.0 % 86_400);
        let (h, m, s) = (r / 3600, r % 3600 / 60, r % 60);
        if d > 0 {
            write!(f, "{d}-{h:02}:{m:02}:{s:02}")
        } else {
            write!(f, "{h:02}:{m:02}:{s:02}")
        }
    }
}

impl std::str::FromStr for WallTime {
    type Err = SlurmError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WallTime::parse(s)
    }
}

/// A cluster with its own template in `slurm/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Site {
    /// Any Slurm cluster: the user gives partition, account and cores per node.
    Generic,
    /// LuxProvide MeluXina, CPU partition.
    Meluxina,
    /// Cyfronet Ares (PLGrid), CPU partitions; it replaces Prometheus.
    Ares,
    /// Cyfronet Helios (PLGrid), CPU partition (many facts unconfirmed).
    Helios,
}

/// Who may be charged, and how an account is written at a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountRule {
    /// Optional: many clusters have no accounts.
    Optional,
    /// A MeluXina project id, `p` and digits (confirmed).
    MeluxinaProject,
    /// A PLGrid grant with the `-cpu` suffix (confirmed for Ares, seen in user scripts
    /// for Helios).
    PlgridCpu,
}

/// Per-site defaults; every figure says how sure it is (see `docs/slurm.md`).
#[derive(Clone, Copy, Debug)]
pub struct SiteInfo {
    /// Template path in the repository.
    pub template_name: &'static str,
    /// Template text.
    pub template: &'static str,
    /// Cores per node, where known.
    pub cores_per_node: Option<u32>,
    /// How sure the core count is.
    pub cores_note: &'static str,
    /// Default threads per MPI rank (a NUMA domain or socket), where known.
    pub threads_per_rank: Option<u32>,
    /// How the default threads per rank were chosen.
    pub threads_note: &'static str,
    /// Default partition (empty: the cluster's default).
    pub partition: &'static str,
    /// Default QoS (empty: none).
    pub qos: &'static str,
    /// Default MPI plugin of `srun --mpi=` (empty: the site's default, plain `srun`).
    pub srun_mpi: &'static str,
    /// Default `--hint` (empty: none).
    pub hint: &'static str,
    /// Default modules to load (only confirmed or widely used names).
    pub modules: &'static str,
    /// Jobs get whole nodes (`--exclusive`).
    pub exclusive: bool,
    /// Account rule.
    pub account: AccountRule,
}

impl Site {
    /// Every site, in the order of the documentation.
    pub const ALL: [Site; 4] = [Site::Generic, Site::Meluxina, Site::Ares, Site::Helios];

    /// The site's name, as given to `pedisim slurm --site`.
    pub fn name(self) -> &'static str {
        match self {
            Site::Generic => "generic",
            Site::Meluxina => "meluxina",
            Site::Ares => "ares",
            Site::Helios => "helios",
        }
    }

    /// The names of every site.
    pub fn names() -> Vec<&'static str> {
        Site::ALL.iter().map(|s| s.name()).collect()
    }

    /// The site called `name` (case does not matter); an error lists the valid names.
    pub fn parse(name: &str) -> Result<Site, SlurmError> {
        Site::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| SlurmError::UnknownSite {
                given: name.to_string(),
            })
    }

    /// The site's defaults and template.
    pub fn info(self) -> SiteInfo {
        match self {
            Site::Generic => SiteInfo {
                template_name: "slurm/generic.sbatch",
                template: include_str!("../../../slurm/generic.sbatch"),
                cores_per_node: None,
                cores_note: "given with --cores-per-node",
                threads_per_rank: None,
                threads_note: "the largest divisor of the cores per node up to 8",
                partition: "",
                qos: "",
                // Measured with Debian's OpenMPI under Slurm 22.05 (HPC-STACK.md).
                srun_mpi: "pmix",
                hint: "",
                modules: "",
                exclusive: false,
                account: AccountRule::Optional,
            },
            Site::Meluxina => SiteInfo {
                template_name: "slurm/meluxina.sbatch",
                template: include_str!("../../../slurm/meluxina.sbatch"),
                // Confirmed: 2 x AMD EPYC 7H12, 64 cores each (docs.lxp.lu).
                cores_per_node: Some(128),
                cores_note: "confirmed: 2 x AMD EPYC 7H12",
                // Confirmed: 8 NUMA domains of 16 cores.
                threads_per_rank: Some(16),
                threads_note: "one NUMA domain of 16 cores (confirmed)",
                partition: "cpu",
                qos: "default",
                // Confirmed: LuxProvide's own example launches with plain srun.
                srun_mpi: "",
                // SMT is on (confirmed); whether Slurm counts threads as CPUs is not.
                hint: "nomultithread",
                // Confirmed software stack; OpenMPI/HDF5 module names are unconfirmed.
                modules: "env/release/2024.1",
                exclusive: false,
                account: AccountRule::MeluxinaProject,
            },
            Site::Ares => SiteInfo {
                template_name: "slurm/ares.sbatch",
                template: include_str!("../../../slurm/ares.sbatch"),
                // UNCONFIRMED: 2 x Xeon Platinum 8268 = 48 cores is the widely repeated
                // figure, not on a Cyfronet page we could read (check with sinfo).
                cores_per_node: Some(48),
                cores_note: "UNCONFIRMED (2 x Xeon Platinum 8268): check with sinfo -N -p plgrid -o \"%N %c\"",
                // One socket per rank, if the 48-core figure holds.
                threads_per_rank: Some(24),
                threads_note: "one socket of 24 cores (unconfirmed)",
                partition: "plgrid",
                qos: "",
                // Seen in user scripts (R): srun --mpi=pmix.
                srun_mpi: "pmix",
                hint: "",
                // Seen in user scripts (R): the default openmpi module.
                modules: "openmpi",
                exclusive: false,
                account: AccountRule::PlgridCpu,
            },
            Site::Helios => SiteInfo {
                template_name: "slurm/helios.sbatch",
                template: include_str!("../../../slurm/helios.sbatch"),
                // Confirmed: a job is billed at least one node of 192 CPUs; whether
                // these are cores or hardware threads is unconfirmed.
                cores_per_node: Some(192),
                cores_note: "192 CPUs billed per node (confirmed); cores or hardware threads UNCONFIRMED",
                threads_per_rank: Some(24),
                threads_note: "24 (unconfirmed NUMA layout)",
                partition: "plgrid",
                qos: "",
                // UNCONFIRMED: the MPI stack of the CPU nodes is not known.
                srun_mpi: "",
                hint: "",
                modules: "",
                exclusive: true,
                account: AccountRule::PlgridCpu,
            },
        }
    }

    /// The longest wall time of a partition (or QoS), where known, with its status.
    pub fn wall_limit(self, partition: &str, qos: &str) -> Option<(WallTime, &'static str)> {
        let h = |n: u64| WallTime(n * 3600);
        match (self, partition, qos) {
            (Site::Ares, "plgrid", _) => Some((h(72), "confirmed, Cyfronet documentation")),
            (Site::Ares, "plgrid-testing", _) => Some((h(1), "confirmed, Cyfronet documentation")),
            (Site::Ares, "plgrid-now", _) => Some((h(12), "confirmed, Cyfronet documentation")),
            (Site::Ares, "plgrid-long", _) => Some((h(168), "confirmed, Cyfronet documentation")),
            (Site::Ares, "plgrid-bigmem", _) => Some((h(72), "confirmed, Cyfronet documentation")),
            (Site::Meluxina, _, "default") => Some((
                h(48),
                "QoS default: at least 48 h seen in user scripts; the real limit is unconfirmed",
            )),
            _ => None,
        }
    }
}

impl std::str::FromStr for Site {
    type Err = SlurmError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Site::parse(s)
    }
}

/// What the job will compute: the campaign and each run's estimated cost.
#[derive(Clone, Debug)]
pub struct CampaignCost {
    /// Campaign name.
    pub name: String,
    /// The campaign file (absolute, as the job will read it).
    pub file: PathBuf,
    /// The campaign's output directory (absolute).
    pub output_dir: PathBuf,
    /// How runs are spread over MPI ranks.
    pub distribute: Distribute,
    /// Dose or growth runs (a growth run's `histories` are its time steps).
    pub kind: CampaignKind,
    /// Every run's id and estimated cost, in run order.
    pub runs: Vec<(String, RunCost)>,
}

impl CampaignCost {
    /// The cost of an expanded campaign from [`crate::campaign::estimate_costs`].
    pub fn new(spec: &CampaignSpec, runs: &[ExpandedRun], costs: &[RunCost]) -> CampaignCost {
        CampaignCost {
            name: spec.name.clone(),
            file: spec.file.clone(),
            output_dir: normalize(&spec.output_dir),
            distribute: spec.distribute,
            kind: spec.kind,
            runs: runs
                .iter()
                .map(|r| r.id.clone())
                .zip(costs.iter().copied())
                .collect(),
        }
    }
}

/// `path` without `.` components and with each `..` removing the component before it
/// (lexically: the job sees the same directory; symbolic links are not resolved).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            Component::ParentDir if out.has_root() && out.parent().is_none() => {}
            c => out.push(c),
        }
    }
    out
}

/// The user's choices; `None` means "derive it" (see [`size_job`]).
#[derive(Clone, Debug)]
pub struct JobRequest {
    /// The cluster.
    pub site: Site,
    /// Nodes (single job), or nodes' worth of array tasks running at once (array).
    pub nodes: Option<u32>,
    /// Threads per MPI rank (or per array task).
    pub threads: Option<u32>,
    /// Wall time of the job (or of each array task).
    pub wall: Option<WallTime>,
    /// The partition's wall-time limit, where the site's is not known or differs.
    pub max_wall: Option<WallTime>,
    /// Account charged.
    pub account: Option<String>,
    /// Partition.
    pub partition: Option<String>,
    /// Quality of service (`Some("")`: none).
    pub qos: Option<String>,
    /// Cores per node, overriding the site's figure (required for the generic site).
    pub cores_per_node: Option<u32>,
    /// Modules to load, separated by spaces (`Some("")`: none).
    pub modules: Option<String>,
    /// MPI plugin for `srun --mpi=` (`Some("")`: plain `srun`).
    pub srun_mpi: Option<String>,
    /// `--hint` value (`Some("")`: none).
    pub hint: Option<String>,
    /// Render the job-array template.
    pub array: bool,
    /// Number of array tasks.
    pub array_tasks: Option<u32>,
    /// Most array tasks running at once (`%M`).
    pub max_concurrent: Option<u32>,
    /// Margin of `--signal=TERM@SECS` \[s\].
    pub signal_seconds: u64,
    /// Most automatic continuations (resubmissions or requeues).
    pub max_continuations: Option<u32>,
    /// The binary was built with the `mpi` feature (without it, one process per job).
    pub mpi: bool,
    /// Absolute path of the pedisim binary the job runs.
    pub pedisim: PathBuf,
    /// Absolute path the script will be written to (`None`: found with `scontrol` in
    /// the job).
    pub script: Option<PathBuf>,
    /// Absolute directory of the job (its log files).
    pub workdir: PathBuf,
    /// Job name (default: the campaign's name).
    pub job_name: Option<String>,
    /// Who rendered the script, for its header (e.g. `pedisim 0.1.0`).
    pub generator: String,
}

impl JobRequest {
    /// A request with every choice left to [`size_job`].
    pub fn new(site: Site, pedisim: PathBuf, workdir: PathBuf) -> JobRequest {
        JobRequest {
            site,
            nodes: None,
            threads: None,
            wall: None,
            max_wall: None,
            account: None,
            partition: None,
            qos: None,
            cores_per_node: None,
            modules: None,
            srun_mpi: None,
            hint: None,
            array: false,
            array_tasks: None,
            max_concurrent: None,
            signal_seconds: DEFAULT_SIGNAL_SECONDS,
            max_continuations: None,
            mpi: true,
            pedisim,
            script: None,
            workdir,
            job_name: None,
            generator: format!("pedisim {}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Array part of a job shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrayShape {
    /// Number of array tasks N.
    pub tasks: u32,
    /// Most tasks running at once M.
    pub concurrent: u32,
}

impl ArrayShape {
    /// The value of `--array`: `0-(N-1)%M`.
    pub fn spec(&self) -> String {
        format!("0-{}%{}", self.tasks - 1, self.concurrent)
    }
}

/// The resources of a job and how they were derived.
#[derive(Clone, Debug)]
pub struct JobShape {
    /// Nodes of the job (1 for an array task).
    pub nodes: u32,
    /// MPI ranks per node (1 for an array task).
    pub tasks_per_node: u32,
    /// Threads per rank (= CPUs per task).
    pub threads: u32,
    /// Cores per node used for the sizing.
    pub cores_per_node: u32,
    /// Partition, QoS and account rendered (empty: none).
    pub partition: String,
    /// QoS rendered (empty: none).
    pub qos: String,
    /// Account rendered (empty: none).
    pub account: String,
    /// Wall time of the job (of each array task).
    pub wall: WallTime,
    /// Estimated time of the work, without safety factor \[s\] (the longest array task).
    pub expected_seconds: f64,
    /// Time the longest single unit of work needs (a run on one rank, or a run split
    /// over all ranks) \[s\], without safety factor.
    pub longest_seconds: f64,
    /// The partition's limit and its status, where known.
    pub wall_limit: Option<(WallTime, String)>,
    /// Continuations the estimate expects (0 when the work fits in one job).
    pub expected_continuations: u32,
    /// Most continuations the script allows.
    pub max_continuations: u32,
    /// Array tasks, for an array job.
    pub array: Option<ArrayShape>,
    /// How each figure was chosen, and warnings: comment lines of the script.
    pub notes: Vec<String>,
    /// Warnings only (also in `notes`), for the command line.
    pub warnings: Vec<String>,
}

/// A rendered script with the shape it was sized to.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The script text.
    pub script: String,
    /// Its resources.
    pub shape: JobShape,
}

/// Seconds one rank of `threads` threads needs for a run: set-up (one core) plus the
/// transport spread over the threads.
fn rank_seconds(c: &RunCost, threads: u32) -> f64 {
    c.setup_seconds + c.seconds_per_history * c.histories as f64 / threads.max(1) as f64
}

/// Expected time \[s\] of the runs `costs` on `ranks` ranks of `threads` threads, and the
/// time of the longest unit of work (see the module documentation).
fn job_seconds(costs: &[RunCost], distribute: Distribute, ranks: u32, threads: u32) -> (f64, f64) {
    let ranks = ranks.max(1);
    match distribute {
        Distribute::Runs => {
            let per: Vec<f64> = costs.iter().map(|c| rank_seconds(c, threads)).collect();
            let sum: f64 = per.iter().sum();
            let max = per.iter().copied().fold(0.0, f64::max);
            let r = ranks as f64;
            (sum / r + max * (r - 1.0) / r, max)
        }
        Distribute::Histories => {
            let per: Vec<f64> = costs
                .iter()
                .map(|c| rank_seconds(c, threads.max(1) * ranks))
                .collect();
            (per.iter().sum(), per.iter().copied().fold(0.0, f64::max))
        }
    }
}

/// Wall time for `expected` seconds of work: safety factor, start-up, signal margin,
/// rounded up to whole minutes, at least [`MIN_WALL_SECONDS`] and the margin plus 5 min.
pub fn wall_for(expected_seconds: f64, signal_seconds: u64) -> WallTime {
    let s = (expected_seconds.max(0.0) * SAFETY_FACTOR).ceil() as u64
        + STARTUP_SECONDS
        + signal_seconds;
    let s = s.div_ceil(60) * 60;
    WallTime(s.max(MIN_WALL_SECONDS).max(signal_seconds + 300))
}

/// Continuations the work needs beyond the first job when each job may last `limit`.
fn continuations_for(expected_seconds: f64, limit: WallTime, signal_seconds: u64) -> u32 {
    let usable = limit
        .0
        .saturating_sub(STARTUP_SECONDS + signal_seconds)
        .max(1) as f64;
    let jobs = (expected_seconds * SAFETY_FACTOR / usable).ceil().max(1.0);
    (jobs as u32).saturating_sub(1)
}

/// Divisors of `n`, ascending.
fn divisors(n: u32) -> Vec<u32> {
    (1..=n).filter(|&d| n / d * d == n).collect()
}

/// A readable duration.
fn human(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Checks a value against the characters it may hold.
fn check_chars(what: &str, value: &str, ok: impl Fn(char) -> bool) -> Result<(), SlurmError> {
    match value.chars().find(|&c| !ok(c)) {
        None => Ok(()),
        Some(c) => Err(SlurmError::Invalid(format!(
            "{what} {value:?}: the character {c:?} is not allowed here"
        ))),
    }
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// An absolute path that can be written inside double quotes and on an `#SBATCH` line.
fn path_value(what: &str, p: &Path) -> Result<String, SlurmError> {
    let s = p
        .to_str()
        .ok_or_else(|| SlurmError::Invalid(format!("{what} {}: not valid UTF-8", p.display())))?;
    if !p.is_absolute() {
        return Err(SlurmError::Invalid(format!(
            "{what} {s:?}: expected an absolute path"
        )));
    }
    check_chars(what, s, |c| {
        !c.is_whitespace() && !c.is_control() && !matches!(c, '"' | '$' | '`' | '\\' | '\'' | '%')
    })?;
    Ok(s.to_string())
}

/// Sizes the job: nodes, ranks per node, threads per rank, wall time (or the array's
/// tasks), following the module documentation. Errors name the option at fault.
pub fn size_job(cost: &CampaignCost, req: &JobRequest) -> Result<JobShape, SlurmError> {
    let info = req.site.info();
    let site = req.site.name();
    let n_runs = cost.runs.len();
    if n_runs == 0 {
        return Err(SlurmError::Invalid(format!(
            "campaign {}: no runs to submit",
            cost.name
        )));
    }
    let costs: Vec<RunCost> = cost.runs.iter().map(|(_, c)| *c).collect();
    let mut notes = Vec::new();
    let mut warnings = Vec::new();

    // Site values and the user's.
    let cpn = match (req.cores_per_node, info.cores_per_node) {
        (Some(0), _) => return Err(SlurmError::Invalid("--cores-per-node 0: expected at least 1".into())),
        (Some(c), _) => {
            notes.push(format!("cores per node: {c} (given)"));
            c
        }
        (None, Some(c)) => {
            notes.push(format!("cores per node: {c} ({})", info.cores_note));
            c
        }
        (None, None) => {
            return Err(SlurmError::Invalid(format!(
                "site {site}: the cores per node are not known: give --cores-per-node (sinfo -o \"%c\" shows them)"
            )))
        }
    };
    let partition = req
        .partition
        .clone()
        .unwrap_or_else(|| info.partition.to_string());
    let qos = req.qos.clone().unwrap_or_else(|| info.qos.to_string());
    check_chars("partition", &partition, name_char)?;
    check_chars("QoS", &qos, name_char)?;
    let account = req.account.clone().unwrap_or_default();
    check_chars("account", &account, name_char)?;
    match info.account {
        AccountRule::Optional => {}
        AccountRule::MeluxinaProject => {
            if account.is_empty() {
                return Err(SlurmError::Invalid(
                    "site meluxina: give --account, the project id (p2XXXXX, e.g. p200177)".into(),
                ));
            }
            let digits = account.strip_prefix('p').unwrap_or("");
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                warnings.push(format!(
                    "account {account:?} does not look like a MeluXina project id (p followed by digits, e.g. p200177)"
                ));
            }
        }
        AccountRule::PlgridCpu => {
            if account.is_empty() {
                return Err(SlurmError::Invalid(format!(
                    "site {site}: give --account, the grant's CPU account <grant>-cpu (hpc-grants lists them)"
                )));
            }
            let bigmem = partition == "plgrid-bigmem";
            let ok = if bigmem {
                account.ends_with("-cpu-bigmem")
            } else {
                account.ends_with("-cpu")
            };
            let want = if bigmem { "-cpu-bigmem" } else { "-cpu" };
            if !ok {
                let msg = format!(
                    "account {account:?} on partition {partition}: expected <grant>{want} (an account without the suffix is refused; hpc-grants lists yours)"
                );
                if req.site == Site::Ares {
                    return Err(SlurmError::Invalid(msg));
                }
                warnings.push(msg);
            }
        }
    }
    let limit: Option<(WallTime, String)> = match req.max_wall {
        Some(w) => Some((w, "given".to_string())),
        None => req
            .site
            .wall_limit(&partition, &qos)
            .map(|(w, s)| (w, s.to_string())),
    };
    match &limit {
        Some((w, why)) => notes.push(format!(
            "wall-time limit of partition {} (QoS {}): {w} ({why})",
            if partition.is_empty() {
                "(default)"
            } else {
                &partition
            },
            if qos.is_empty() { "none" } else { &qos }
        )),
        None => notes.push(format!(
            "wall-time limit of partition {} unknown: check with sinfo -s and give --max-wall",
            if partition.is_empty() {
                "(default)"
            } else {
                &partition
            }
        )),
    }
    let signal = req.signal_seconds;
    if signal == 0 {
        return Err(SlurmError::Invalid(
            "--signal-margin 0: expected seconds before the wall time, e.g. 300".into(),
        ));
    }
    if let Some(t) = req.threads {
        if t == 0 || t > cpn {
            return Err(SlurmError::Invalid(format!(
                "--threads {t}: expected 1 to {cpn}, the cores of a node"
            )));
        }
    }
    if req.nodes == Some(0) {
        return Err(SlurmError::Invalid("--nodes 0: expected at least 1".into()));
    }
    // Default threads per rank: the site's NUMA domain or socket.
    let site_threads = match info.threads_per_rank {
        Some(t) if t <= cpn && cpn / t * t == cpn => t,
        _ => divisors(cpn)
            .into_iter()
            .filter(|&d| d <= 8)
            .max()
            .unwrap_or(1),
    };

    let (nodes, tasks_per_node, threads, expected, longest, array);
    if req.array {
        // Array tasks: one process each, THREADS threads.
        let t = req
            .threads
            .unwrap_or(if info.exclusive { cpn } else { site_threads });
        let per: Vec<f64> = costs.iter().map(|c| rank_seconds(c, t)).collect();
        let max_task = |n: usize| -> f64 {
            let mut load = vec![0.0f64; n];
            for (k, s) in per.iter().enumerate() {
                load[k % n] += s;
            }
            load.into_iter().fold(0.0, f64::max)
        };
        let longest_run = per.iter().copied().fold(0.0, f64::max);
        let n = match req.array_tasks {
            Some(0) => {
                return Err(SlurmError::Invalid(
                    "--array-tasks 0: expected at least 1".into(),
                ))
            }
            Some(n) => {
                if n as usize > n_runs {
                    warnings.push(format!(
                        "{n} array tasks for {n_runs} runs: tasks {n_runs} and above have no runs"
                    ));
                }
                if n as usize > MAX_DEFAULT_ARRAY_TASKS + 1 {
                    warnings.push(format!(
                        "{n} array tasks: more than Slurm's default MaxArraySize (1001) allows; check scontrol show config | grep MaxArraySize"
                    ));
                }
                n as usize
            }
            None => {
                let cap = n_runs.min(MAX_DEFAULT_ARRAY_TASKS);
                let target = limit.as_ref().map_or(TARGET_ARRAY_TASK_SECONDS, |(w, _)| {
                    w.0.min(TARGET_ARRAY_TASK_SECONDS)
                });
                let target = target.max(wall_for(longest_run, signal).0);
                let total: f64 = per.iter().sum();
                let usable = target.saturating_sub(STARTUP_SECONDS + signal).max(60) as f64;
                let mut n = ((total * SAFETY_FACTOR / usable).ceil() as usize).clamp(1, cap);
                while n < cap && wall_for(max_task(n), signal).0 > target {
                    n += (n / 16).max(1);
                }
                n.min(cap)
            }
        };
        let m = match (req.max_concurrent, req.nodes) {
            (Some(0), _) => {
                return Err(SlurmError::Invalid(
                    "--max-concurrent 0: expected at least 1".into(),
                ))
            }
            (Some(m), _) => m as usize,
            (None, Some(nodes)) => nodes as usize * (cpn / t) as usize,
            (None, None) => n,
        }
        .clamp(1, n);
        nodes = 1;
        tasks_per_node = 1;
        threads = t;
        expected = max_task(n);
        longest = longest_run;
        array = Some(ArrayShape {
            tasks: n as u32,
            concurrent: m as u32,
        });
        notes.push(format!(
            "array: {n} tasks (task I runs the runs k with k mod {n} = I), at most {m} at once, each one process of {t} thread(s){}",
            if req.threads.is_some() { " (threads given)" } else if info.exclusive { " (whole node)" } else { "" }
        ));
        notes.push(format!(
            "expected {} for the longest array task; a task needs at least {} for its longest run",
            human(expected),
            human(longest)
        ));
    } else {
        if !req.mpi {
            if req.nodes.is_some_and(|n| n > 1) {
                return Err(SlurmError::Invalid(format!(
                    "--nodes {}: this pedisim was built without the mpi feature, so a job is one process on one node (more tasks would run the campaign several times over). Build with cargo build --release --features mpi, or use --array",
                    req.nodes.unwrap_or(1)
                )));
            }
            let t = req.threads.unwrap_or(cpn);
            nodes = 1;
            tasks_per_node = 1;
            threads = t;
            (expected, longest) = job_seconds(&costs, cost.distribute, 1, t);
            notes.push(format!(
                "one process of {t} thread(s): this pedisim was built without the mpi feature"
            ));
        } else {
            // Threads per rank for `nodes` nodes: the site's default, raised so that
            // no rank waits without a run (distribute = runs).
            let threads_for = |nodes: u32| -> u32 {
                if let Some(t) = req.threads {
                    return t;
                }
                if cost.distribute == Distribute::Histories {
                    return site_threads;
                }
                let mut cands = vec![site_threads];
                cands.extend(divisors(cpn).into_iter().filter(|&d| d > site_threads));
                cands
                    .into_iter()
                    .find(|&t| nodes as usize * (cpn / t) as usize <= n_runs)
                    .unwrap_or(cpn)
            };
            let shape_for = |nodes: u32| -> (u32, f64, f64) {
                let t = threads_for(nodes);
                let ranks = nodes * (cpn / t);
                let (e, l) = job_seconds(&costs, cost.distribute, ranks, t);
                (t, e, l)
            };
            let n = match req.nodes {
                Some(n) => n,
                None => {
                    let cap = match cost.distribute {
                        Distribute::Runs => (n_runs as u32).clamp(1, MAX_DEFAULT_NODES),
                        Distribute::Histories => MAX_DEFAULT_NODES,
                    };
                    let target = limit
                        .as_ref()
                        .map_or(TARGET_WALL_SECONDS, |(w, _)| w.0.min(TARGET_WALL_SECONDS));
                    let need = |n: u32| {
                        let (_, e, l) = shape_for(n);
                        wall_for(e.max(l), signal).0
                    };
                    match (1..=cap).find(|&n| need(n) <= target) {
                        Some(n) => n,
                        None => {
                            // Cannot reach the target: the fewest nodes within 5 % of
                            // the best (the longest run bounds the time).
                            let best = (1..=cap).map(need).min().unwrap_or(0);
                            (1..=cap)
                                .find(|&n| need(n) as f64 <= best as f64 * 1.05)
                                .unwrap_or(cap)
                        }
                    }
                }
            };
            let (t, e, l) = shape_for(n);
            nodes = n;
            threads = t;
            tasks_per_node = cpn / t;
            expected = e;
            longest = l;
            let ranks = nodes * tasks_per_node;
            if cost.distribute == Distribute::Runs && ranks as usize > n_runs {
                warnings.push(format!(
                    "{ranks} ranks for {n_runs} runs (distribute = runs): {} rank(s) will have nothing to do; use fewer nodes or more threads per rank",
                    ranks as usize - n_runs
                ));
            }
            notes.push(format!(
                "{} x {} x {} (distribute = {}; threads per rank: {})",
                plural(nodes as u64, "node", "nodes"),
                plural(tasks_per_node as u64, "rank", "ranks"),
                plural(threads as u64, "thread", "threads"),
                match cost.distribute {
                    Distribute::Runs =>
                        "runs: whole runs dealt out longest first, bound sum/ranks + longest",
                    Distribute::Histories =>
                        "histories: runs one after another, each split over every thread",
                },
                if req.threads.is_some() {
                    "given".to_string()
                } else if t == site_threads {
                    info.threads_note.to_string()
                } else {
                    format!("raised from {site_threads} so that every rank gets a run")
                }
            ));
            notes.push(format!(
                "expected {} for the campaign; its longest run needs {} on one rank",
                human(expected),
                human(longest)
            ));
        }
        array = None;
    }

    // Wall time.
    let needed = wall_for(expected.max(longest), signal);
    let floor = wall_for(longest, signal);
    // An interrupted run keeps its whole batches in a checkpoint and continues from them
    // in the next job, so a job must at least finish one batch of the longest run (a run
    // has at least MIN_BATCHES batches).
    let longest_batch = longest / crate::plan::MIN_BATCHES as f64;
    let hard_floor = longest_batch + (STARTUP_SECONDS + signal) as f64;
    let unit = if array.is_some() { "array task" } else { "job" };
    let wall = match req.wall {
        Some(w) => {
            if let Some((lim, why)) = &limit {
                if w > *lim {
                    return Err(SlurmError::Invalid(format!(
                        "--wall {w}: longer than the limit {lim} of partition {partition} ({why})"
                    )));
                }
            }
            if (w.0 as f64) < hard_floor {
                return Err(SlurmError::Invalid(format!(
                    "--wall {w}: a batch of the longest run needs about {} on {} thread(s), plus {STARTUP_SECONDS} s start-up and the {signal} s signal margin; an interrupted run continues from its last whole batch, so a job must finish at least one. Give a longer --wall or more --threads",
                    human(longest_batch),
                    threads
                )));
            }
            if w < floor {
                warnings.push(format!(
                    "--wall {w} leaves little room for the longest run (about {}; {floor} with the safety factor {SAFETY_FACTOR})",
                    human(longest)
                ));
            }
            notes.push(format!(
                "wall time {w} (given); the estimate asks for {needed}"
            ));
            w
        }
        None => {
            notes.push(format!(
                "wall time = {SAFETY_FACTOR} x expected + {STARTUP_SECONDS} s start-up + {signal} s signal margin, rounded up to minutes, at least {}: {needed}",
                WallTime(MIN_WALL_SECONDS)
            ));
            match &limit {
                Some((lim, why)) if needed > *lim => {
                    if hard_floor > lim.0 as f64 {
                        return Err(SlurmError::Invalid(format!(
                            "a batch of the longest run needs about {} on {} thread(s) (with start-up and signal margin), more than the limit {lim} of partition {partition} ({why}): an interrupted run continues from its last whole batch, so a job must finish at least one. Use more threads per rank (--threads){}",
                            human(longest_batch),
                            threads,
                            if cost.distribute == Distribute::Runs && !req.array { ", or distribute = \"histories\" in the campaign file" } else { "" }
                        )));
                    }
                    notes.push(format!("capped at the partition's limit {lim}"));
                    *lim
                }
                _ => needed,
            }
        }
    };
    let expected_continuations = if wall < needed {
        continuations_for(expected, wall, signal)
    } else {
        0
    };
    let max_continuations = req
        .max_continuations
        .unwrap_or(expected_continuations + EXTRA_CONTINUATIONS);
    if expected_continuations > 0 {
        notes.push(format!(
            "NOTE: the {unit} needs about {needed} but runs for {wall}: it will stop cleanly before the wall time and continue itself about {expected_continuations} time(s) (at most {max_continuations})"
        ));
        if max_continuations < expected_continuations {
            warnings.push(format!(
                "--max-continuations {max_continuations} is below the {expected_continuations} continuations the estimate expects: the campaign will stop unfinished (resubmit to resume)"
            ));
        }
    }
    for w in &warnings {
        notes.push(format!("WARNING: {w}"));
    }
    Ok(JobShape {
        nodes,
        tasks_per_node,
        threads,
        cores_per_node: cpn,
        partition,
        qos,
        account,
        wall,
        expected_seconds: expected,
        longest_seconds: longest,
        wall_limit: limit,
        expected_continuations,
        max_continuations,
        array,
        notes,
        warnings,
    })
}

/// Sizes the job ([`size_job`]) and renders the site's template (or the array template)
/// with it. The estimate and the sizing notes head the script as comments.
pub fn render(cost: &CampaignCost, req: &JobRequest) -> Result<Rendered, SlurmError> {
    let shape = size_job(cost, req)?;
    let info = req.site.info();
    let (template_name, template) = if req.array {
        ("slurm/array.sbatch", ARRAY_TEMPLATE)
    } else {
        (info.template_name, info.template)
    };
    let job_name = req.job_name.clone().unwrap_or_else(|| cost.name.clone());
    if job_name.is_empty() {
        return Err(SlurmError::Invalid(
            "--job-name \"\": expected a name".into(),
        ));
    }
    check_chars("job name", &job_name, name_char)?;
    let modules = req
        .modules
        .clone()
        .unwrap_or_else(|| info.modules.to_string());
    check_chars("modules", &modules, |c| {
        c == ' ' || name_char(c) || matches!(c, '/' | '+')
    })?;
    let modules = modules.split_whitespace().collect::<Vec<_>>().join(" ");
    let plugin = match &req.srun_mpi {
        Some(p) => p.clone(),
        None if !req.mpi => "none".to_string(),
        None => info.srun_mpi.to_string(),
    };
    check_chars("srun MPI plugin", &plugin, |c| {
        c.is_ascii_alphanumeric() || c == '_'
    })?;
    let srun_mpi = if plugin.is_empty() {
        String::new()
    } else {
        format!("--mpi={plugin}")
    };
    let hint = req.hint.clone().unwrap_or_else(|| info.hint.to_string());
    check_chars("hint", &hint, |c| c.is_ascii_lowercase() || c == '_')?;
    let pedisim = path_value("pedisim binary", &req.pedisim)?;
    let campaign = path_value("campaign file", &cost.file)?;
    let output_dir = path_value("output directory", &cost.output_dir)?;
    let workdir = path_value("work directory", &req.workdir)?;
    let script = match &req.script {
        Some(p) => path_value("script", p)?,
        None => String::new(),
    };
    let merge_wall = match &shape.wall_limit {
        Some((lim, _)) => WallTime(MERGE_WALL_SECONDS.min(lim.0)),
        None => WallTime(MERGE_WALL_SECONDS),
    };

    // The estimate: comment lines at the top of the script.
    let total: f64 = cost.runs.iter().map(|(_, c)| c.core_seconds()).sum();
    let histories: u64 = cost.runs.iter().map(|(_, c)| c.histories).sum();
    let (longest_id, longest_cost) = cost
        .runs
        .iter()
        .map(|(id, c)| (id.as_str(), c.core_seconds()))
        .fold(("", -1.0), |a, b| if b.1 > a.1 { b } else { a });
    let mut lines = vec![
        format!(
            "Rendered by {} (pedisim slurm) for site {} from {}; render again after changing the campaign.",
            req.generator,
            req.site.name(),
            template_name
        ),
        format!("Campaign {}: {campaign}", cost.name),
        format!("Output directory: {output_dir}"),
        format!(
            "Estimate: {}, {histories} {}, {} in total; longest run {longest_id}, {longest_cost:.1} core-s.",
            plural(cost.runs.len() as u64, "run", "runs"),
            match cost.kind {
                CampaignKind::Dose => "histories",
                CampaignKind::Growth => "time steps",
            },
            if total >= 36.0 {
                format!("{:.2} core-hours", total / 3600.0)
            } else {
                format!("{total:.1} core-s")
            }
        ),
        match cost.kind {
            CampaignKind::Dose => format!(
                "  (from a pilot of up to {} histories per distinct configuration, on one core of the machine that rendered this script: expect tens of per cent.)",
                crate::PILOT_HISTORIES
            ),
            CampaignKind::Growth => format!(
                "  (from a pilot of up to {} time steps per distinct grid, or {} mechanics steps of the initial spheroid per distinct agent-based configuration, on one core of the machine that rendered this script: expect tens of per cent, more for growing spheroids.)",
                crate::campaign::GROWTH_PILOT_STEPS,
                crate::campaign::AGENTS_PILOT_STEPS
            ),
        },
    ];
    lines.extend(shape.notes.iter().cloned());
    lines.push(
        "Assumptions: threads scale perfectly within a rank; set-up runs on one core; reductions, file I/O and queue waits are not modelled. Runs already finished are skipped when the job starts."
            .into(),
    );
    let estimate = lines.join("\n# ");

    let mut values: BTreeMap<&'static str, String> = BTreeMap::new();
    values.insert("ESTIMATE", estimate);
    values.insert("JOB_NAME", job_name);
    values.insert("ACCOUNT", shape.account.clone());
    values.insert("PARTITION", shape.partition.clone());
    values.insert("QOS", shape.qos.clone());
    values.insert("HINT", hint);
    values.insert(
        "EXCLUSIVE",
        if info.exclusive {
            "--exclusive".into()
        } else {
            String::new()
        },
    );
    values.insert("NODES", shape.nodes.to_string());
    values.insert("TASKS_PER_NODE", shape.tasks_per_node.to_string());
    values.insert("CPUS_PER_TASK", shape.threads.to_string());
    values.insert("THREADS", shape.threads.to_string());
    values.insert("WALL_TIME", shape.wall.to_string());
    values.insert("MERGE_WALL_TIME", merge_wall.to_string());
    values.insert("SIGNAL_SECS", req.signal_seconds.to_string());
    values.insert("WORKDIR", workdir);
    values.insert("PEDISIM", pedisim);
    values.insert("CAMPAIGN", campaign);
    values.insert("OUTPUT_DIR", output_dir);
    values.insert("MODULES", modules);
    values.insert("SRUN_MPI", srun_mpi);
    values.insert("MAX_CONTINUATIONS", shape.max_continuations.to_string());
    values.insert("SCRIPT", script);
    if let Some(a) = &shape.array {
        values.insert("ARRAY", a.spec());
        values.insert("ARRAY_TASKS", a.tasks.to_string());
    }
    let script = fill(template_name, template, &values)?;
    Ok(Rendered { script, shape })
}

/// The job-array template.
pub const ARRAY_TEMPLATE: &str = include_str!("../../../slurm/array.sbatch");

/// Replaces every `{{NAME}}` of `template` by `values[NAME]`. Drops the block from
/// `# >>> placeholders` to `# <<< placeholders`; switches off (`##SBATCH`) an `#SBATCH`
/// line in which a value is empty. A placeholder without a value, an unterminated `{{`,
/// or a `{{` left in the output is an error naming the template.
pub fn fill(
    template_name: &str,
    template: &str,
    values: &BTreeMap<&str, String>,
) -> Result<String, SlurmError> {
    let err = |message: String| SlurmError::Template {
        template: template_name.to_string(),
        message,
    };
    let mut out = String::with_capacity(template.len() + 2048);
    let mut in_block = false;
    for (i, line) in template.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end();
        if trimmed.starts_with("# >>> placeholders") {
            in_block = true;
            continue;
        }
        if in_block {
            if trimmed.starts_with("# <<< placeholders") {
                in_block = false;
            }
            continue;
        }
        let mut rendered = String::with_capacity(line.len());
        let mut rest = line;
        let mut empty = false;
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| err(format!("line {}: '{{{{' without '}}}}'", i + 1)))?;
            let name = &after[..end];
            let value = values.get(name).ok_or_else(|| {
                err(format!(
                    "line {}: placeholder {{{{{name}}}}} has no value (known: {})",
                    i + 1,
                    values.keys().copied().collect::<Vec<_>>().join(", ")
                ))
            })?;
            if value.contains("{{") || value.contains("}}") {
                return Err(err(format!("the value of {{{{{name}}}}} contains braces")));
            }
            empty |= value.is_empty();
            rendered.push_str(&rest[..start]);
            rendered.push_str(value);
            rest = &after[end + 2..];
        }
        rendered.push_str(rest);
        if empty && rendered.starts_with("#SBATCH") {
            out.push('#');
        }
        out.push_str(&rendered);
    }
    if in_block {
        return Err(err(
            "'# >>> placeholders' without '# <<< placeholders'".into()
        ));
    }
    if let Some(pos) = out.find("{{") {
        let line = out[..pos].matches('\n').count() + 1;
        return Err(err(format!("line {line} of the output still holds '{{{{'")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(n: usize, core_s: f64, distribute: Distribute) -> CampaignCost {
        CampaignCost {
            kind: crate::campaign_spec::CampaignKind::Dose,
            name: "demo".into(),
            file: "/data/campaign.toml".into(),
            output_dir: "/scratch/demo".into(),
            distribute,
            runs: (0..n)
                .map(|i| {
                    (
                        format!("run-{i:05}"),
                        RunCost {
                            setup_seconds: 1.0,
                            seconds_per_history: (core_s - 1.0) / 1e6,
                            histories: 1_000_000,
                        },
                    )
                })
                .collect(),
        }
    }

    fn request(site: Site) -> JobRequest {
        let mut r = JobRequest::new(
            site,
            "/opt/pedisim/bin/pedisim".into(),
            "/scratch/jobs".into(),
        );
        r.script = Some("/scratch/jobs/demo.sbatch".into());
        r.account = Some(match site {
            Site::Generic => String::new(),
            Site::Meluxina => "p200177".into(),
            Site::Ares | Site::Helios => "plgdemo-cpu".into(),
        });
        if site == Site::Generic {
            r.cores_per_node = Some(32);
        }
        r
    }

    #[test]
    fn every_site_and_the_array_render_without_placeholders() {
        for site in Site::ALL {
            for array in [false, true] {
                for d in [Distribute::Runs, Distribute::Histories] {
                    let mut req = request(site);
                    req.array = array;
                    let r = render(&cost(20, 3600.0, d), &req)
                        .unwrap_or_else(|e| panic!("{} array={array}: {e}", site.name()));
                    assert!(!r.script.contains("{{"), "{}: {}", site.name(), r.script);
                    assert!(!r.script.contains("}}"));
                    assert!(r
                        .script
                        .starts_with("#!/bin/bash -l\n# Rendered by pedisim"));
                    assert!(r.script.contains("#SBATCH --signal=TERM@300\n"));
                    assert!(r
                        .script
                        .contains(&format!("#SBATCH --time={}\n", r.shape.wall)));
                    assert!(r.script.contains("PEDISIM=\"/opt/pedisim/bin/pedisim\"\n"));
                    assert!(r.script.contains("CAMPAIGN=\"/data/campaign.toml\"\n"));
                    assert!(!r.script.contains(">>> placeholders"));
                    if array {
                        assert!(r.script.contains("--array-task \"$TASK\""));
                    } else {
                        assert!(r
                            .script
                            .contains(&format!("#SBATCH --nodes={}\n", r.shape.nodes)));
                        assert!(r.script.contains("--threads \"$THREADS\""));
                    }
                }
            }
        }
    }

    #[test]
    fn site_defaults_reach_the_script() {
        let r = render(
            &cost(20, 3600.0, Distribute::Runs),
            &request(Site::Meluxina),
        )
        .unwrap();
        for l in [
            "#SBATCH --account=p200177\n",
            "#SBATCH --partition=cpu\n",
            "#SBATCH --qos=default\n",
            "#SBATCH --hint=nomultithread\n",
            "MODULES=\"env/release/2024.1\"\n",
            "SRUN_MPI=\"\"\n",
        ] {
            assert!(r.script.contains(l), "{l}");
        }
        let r = render(&cost(20, 3600.0, Distribute::Runs), &request(Site::Ares)).unwrap();
        for l in [
            "#SBATCH --account=plgdemo-cpu\n",
            "#SBATCH --partition=plgrid\n",
            "##SBATCH --qos=\n",
            "##SBATCH --hint=\n",
            "SRUN_MPI=\"--mpi=pmix\"\n",
        ] {
            assert!(r.script.contains(l), "{l}");
        }
        // Generic: no account -> the line is switched off.
        let r = render(&cost(4, 10.0, Distribute::Runs), &request(Site::Generic)).unwrap();
        assert!(r.script.contains("##SBATCH --account=\n"));
        assert!(r.script.contains("##SBATCH --partition=\n"));
        // Helios: whole nodes.
        let mut req = request(Site::Helios);
        req.array = true;
        let r = render(&cost(4, 10.0, Distribute::Runs), &req).unwrap();
        assert!(r.script.contains("\n#SBATCH --exclusive\n"));
        assert_eq!(r.shape.threads, 192);
    }

    #[test]
    fn the_job_body_is_the_same_in_every_site_template() {
        let body = |t: &str| {
            let a = t.find("# >>> job body").expect("body start");
            let b = t.find("# <<< job body").expect("body end");
            t[a..b].to_string()
        };
        let generic = body(Site::Generic.info().template);
        for site in Site::ALL {
            let t = site.info().template;
            assert_eq!(body(t), generic, "{}", site.name());
            for p in [
                "ESTIMATE",
                "JOB_NAME",
                "ACCOUNT",
                "PARTITION",
                "QOS",
                "HINT",
                "NODES",
                "TASKS_PER_NODE",
                "CPUS_PER_TASK",
                "THREADS",
                "WALL_TIME",
                "SIGNAL_SECS",
                "WORKDIR",
                "PEDISIM",
                "CAMPAIGN",
                "OUTPUT_DIR",
                "MODULES",
                "SRUN_MPI",
                "MAX_CONTINUATIONS",
                "SCRIPT",
            ] {
                // Documented in the placeholder block, and used.
                let doc = format!("#   {{{{{p}}}}}");
                assert!(t.contains(&doc), "{}: {p} undocumented", site.name());
                assert!(
                    t.matches(&format!("{{{{{p}}}}}")).count() >= 2,
                    "{}: {p} unused",
                    site.name()
                );
            }
        }
    }

    #[test]
    fn wall_times_parse_and_print_in_slurm_forms() {
        let p = |s: &str| WallTime::parse(s).unwrap().0;
        assert_eq!(p("30"), 1800);
        assert_eq!(p("30:15"), 1815);
        assert_eq!(p("01:00:00"), 3600);
        assert_eq!(p("72:00:00"), 72 * 3600);
        assert_eq!(p("2-12"), 2 * 86_400 + 12 * 3600);
        assert_eq!(p("1-00:30"), 86_400 + 1800);
        assert_eq!(p("1-02:03:04"), 86_400 + 2 * 3600 + 3 * 60 + 4);
        assert_eq!(WallTime(3600).to_string(), "01:00:00");
        assert_eq!(WallTime(72 * 3600).to_string(), "3-00:00:00");
        assert_eq!(WallTime(86_400 + 3661).to_string(), "1-01:01:01");
        for bad in [
            "",
            "1h",
            "1:2:3:4",
            "01:60:00",
            "-1",
            "1-",
            "0",
            "00:00:00",
            "a-01:00:00",
        ] {
            let e = WallTime::parse(bad).unwrap_err().to_string();
            assert!(e.contains("expected MM, MM:SS, HH:MM:SS"), "{bad}: {e}");
            assert!(e.contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn wall_time_arithmetic() {
        // 1.5 x 1000 s + 120 s + 300 s = 1920 s -> 32 min.
        assert_eq!(wall_for(1000.0, 300), WallTime(1920));
        // Rounded up to whole minutes.
        assert_eq!(wall_for(1001.0, 300), WallTime(1980));
        // Never below 10 min, nor below the margin plus 5 min.
        assert_eq!(wall_for(1.0, 300), WallTime(600));
        assert_eq!(wall_for(1.0, 900), WallTime(1200));
        // 100 runs of 3600 core-s, 16 threads per rank: 225 s each per rank.
        let c = cost(100, 3601.0, Distribute::Runs);
        let mut req = request(Site::Meluxina);
        req.nodes = Some(1);
        let s = size_job(&c, &req).unwrap();
        assert_eq!((s.nodes, s.tasks_per_node, s.threads), (1, 8, 16));
        // Per run on a rank: 1 + 3600/16 = 226 s; 8 ranks: 100*226/8 + 226*7/8.
        let expected = 100.0 * 226.0 / 8.0 + 226.0 * 7.0 / 8.0;
        assert!(
            (s.expected_seconds - expected).abs() < 1e-6,
            "{}",
            s.expected_seconds
        );
        assert_eq!(s.wall, wall_for(expected, 300));
        assert_eq!(s.expected_continuations, 0);
        assert_eq!(s.max_continuations, EXTRA_CONTINUATIONS);
        // Histories: runs one after another over all 128 threads.
        let c = cost(100, 3601.0, Distribute::Histories);
        let s = size_job(&c, &req).unwrap();
        let expected = 100.0 * (1.0 + 3600.0 / 128.0);
        assert!((s.expected_seconds - expected).abs() < 1e-6);
    }

    #[test]
    fn the_wall_time_is_capped_at_the_partition_limit_with_continuations() {
        // 10 000 core-hours on one Ares node of 48 cores: about 208 h, limit 72 h.
        let c = cost(1000, 36_001.0, Distribute::Runs);
        let mut req = request(Site::Ares);
        req.nodes = Some(1);
        let s = size_job(&c, &req).unwrap();
        assert_eq!(s.wall, WallTime(72 * 3600));
        assert!(
            s.expected_continuations >= 3,
            "{}",
            s.expected_continuations
        );
        assert_eq!(
            s.max_continuations,
            s.expected_continuations + EXTRA_CONTINUATIONS
        );
        let r = render(&c, &req).unwrap();
        assert!(r.script.contains("#SBATCH --time=3-00:00:00\n"));
        assert!(
            r.script.contains("# NOTE: the job needs about"),
            "{}",
            r.script
        );
        assert!(r
            .script
            .contains("capped at the partition's limit 3-00:00:00"));
        // Without --nodes: enough nodes to finish within a day.
        req.nodes = None;
        let s = size_job(&c, &req).unwrap();
        assert!(s.wall.0 <= TARGET_WALL_SECONDS, "{}", s.wall);
        assert!(s.nodes > 1);
        assert_eq!(s.expected_continuations, 0);
        // A run that can never fit in the partition is an error that says what to do.
        let huge = cost(2, 1e9, Distribute::Runs);
        let e = size_job(&huge, &req).unwrap_err().to_string();
        assert!(
            e.contains("more than the limit 3-00:00:00 of partition plgrid"),
            "{e}"
        );
        assert!(e.contains("--threads"), "{e}");
        // A given wall time shorter than a batch of the longest run is refused; longer than
        // the limit too.
        req.wall = Some(WallTime::parse("00:05:00").unwrap());
        let e = size_job(&cost(4, 48_000.0, Distribute::Runs), &req)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--wall 00:05:00: a batch of the longest run needs about"),
            "{e}"
        );
        req.wall = Some(WallTime::parse("80:00:00").unwrap());
        let e = size_job(&c, &req).unwrap_err().to_string();
        assert!(e.contains("longer than the limit 3-00:00:00"), "{e}");
    }

    #[test]
    fn threads_per_rank_rise_so_that_every_rank_has_a_run() {
        // 4 runs on one MeluXina node: 4 ranks of 32 threads, not 8 of 16.
        let mut req = request(Site::Meluxina);
        req.nodes = Some(1);
        let s = size_job(&cost(4, 100.0, Distribute::Runs), &req).unwrap();
        assert_eq!((s.tasks_per_node, s.threads), (4, 32));
        // Given threads are kept, with a warning about idle ranks.
        req.threads = Some(16);
        let s = size_job(&cost(4, 100.0, Distribute::Runs), &req).unwrap();
        assert_eq!((s.tasks_per_node, s.threads), (8, 16));
        assert!(s
            .warnings
            .iter()
            .any(|w| w.contains("4 rank(s) will have nothing to do")));
        // Threads beyond a node are refused.
        req.threads = Some(256);
        let e = size_job(&cost(4, 100.0, Distribute::Runs), &req)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--threads 256: expected 1 to 128"), "{e}");
    }

    #[test]
    fn a_binary_without_mpi_runs_one_process() {
        let mut req = request(Site::Generic);
        req.mpi = false;
        let r = render(&cost(4, 100.0, Distribute::Runs), &req).unwrap();
        assert_eq!(
            (r.shape.nodes, r.shape.tasks_per_node, r.shape.threads),
            (1, 1, 32)
        );
        assert!(r.script.contains("SRUN_MPI=\"--mpi=none\"\n"));
        req.nodes = Some(2);
        let e = render(&cost(4, 100.0, Distribute::Runs), &req)
            .unwrap_err()
            .to_string();
        assert!(e.contains("built without the mpi feature"), "{e}");
    }

    #[test]
    fn the_array_template_renders_its_indices_and_cap() {
        let mut req = request(Site::Meluxina);
        req.array = true;
        req.array_tasks = Some(16);
        req.max_concurrent = Some(8);
        let r = render(&cost(100, 3600.0, Distribute::Runs), &req).unwrap();
        assert!(
            r.script.contains("#SBATCH --array=0-15%8\n"),
            "{}",
            r.script
        );
        assert!(r.script.contains("ARRAY_TASKS=16\n"));
        assert!(r.script.contains("#SBATCH --ntasks=1\n"));
        assert!(r.script.contains("##SBATCH \n"), "EXCLUSIVE switched off");
        // Task load: runs 0..100, task I has the k = I mod 16: tasks 0-3 have 7 runs.
        let per = 1.0 + 3599.0 / 16.0;
        assert!((r.shape.expected_seconds - 7.0 * per).abs() < 1e-6);
        // Default concurrency from --nodes: 2 nodes of 128 cores, 16 threads a task.
        req.max_concurrent = None;
        req.nodes = Some(2);
        let s = size_job(&cost(100, 3600.0, Distribute::Runs), &req).unwrap();
        assert_eq!(s.array.unwrap().spec(), "0-15%16");
        // Default number of tasks: each task within the 4 h target.
        req.array_tasks = None;
        req.nodes = None;
        let s = size_job(&cost(1000, 36_000.0, Distribute::Runs), &req).unwrap();
        let a = s.array.unwrap();
        assert!(
            s.wall.0 <= TARGET_ARRAY_TASK_SECONDS,
            "{} with {} tasks",
            s.wall,
            a.tasks
        );
        assert_eq!(a.concurrent, a.tasks);
        assert_eq!(a.spec(), format!("0-{}%{}", a.tasks - 1, a.tasks));
        // Never more tasks than runs.
        let s = size_job(&cost(3, 1e6, Distribute::Runs), &req).unwrap();
        assert_eq!(s.array.unwrap().tasks, 3);
    }

    #[test]
    fn unknown_sites_and_bad_options_are_named() {
        let e = Site::parse("prometheus").unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown site \"prometheus\": expected one of generic, meluxina, ares, helios"
        );
        assert_eq!(Site::parse("MeluXina").unwrap(), Site::Meluxina);
        let c = cost(4, 100.0, Distribute::Runs);
        let mut req = request(Site::Ares);
        req.account = Some("plgdemo".into());
        let e = size_job(&c, &req).unwrap_err().to_string();
        assert!(e.contains("expected <grant>-cpu"), "{e}");
        req.account = None;
        assert!(size_job(&c, &req)
            .unwrap_err()
            .to_string()
            .contains("give --account"));
        let mut req = request(Site::Generic);
        req.cores_per_node = None;
        let e = size_job(&c, &req).unwrap_err().to_string();
        assert!(e.contains("--cores-per-node"), "{e}");
        let mut req = request(Site::Generic);
        req.pedisim = "relative/pedisim".into();
        let e = render(&c, &req).unwrap_err().to_string();
        assert!(e.contains("expected an absolute path"), "{e}");
        req.pedisim = "/opt/my dir/pedisim".into();
        let e = render(&c, &req).unwrap_err().to_string();
        assert!(e.contains("' ' is not allowed"), "{e}");
        let mut req = request(Site::Generic);
        req.account = Some("a;b".into());
        assert!(size_job(&c, &req).is_err());
    }

    #[test]
    fn output_directories_are_normalized() {
        assert_eq!(
            normalize(Path::new("/work/main/configs/../out/./demo")),
            PathBuf::from("/work/main/out/demo")
        );
        assert_eq!(normalize(Path::new("/../a")), PathBuf::from("/a"));
    }

    #[test]
    fn fill_reports_missing_values_and_switches_off_empty_sbatch_lines() {
        let mut v = BTreeMap::new();
        v.insert("A", "x".to_string());
        v.insert("E", String::new());
        let t = "#!/bin/sh\n# >>> placeholders\n# {{B}} is documented here\n# <<< placeholders\n#SBATCH --a={{A}}\n#SBATCH --e={{E}}\nA={{A}}\n";
        assert_eq!(
            fill("t", t, &v).unwrap(),
            "#!/bin/sh\n#SBATCH --a=x\n##SBATCH --e=\nA=x\n"
        );
        let e = fill("slurm/t.sbatch", "x={{B}}\n", &v)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("template slurm/t.sbatch: line 1: placeholder {{B}} has no value"),
            "{e}"
        );
        let e = fill("t", "x={{A\n", &v).unwrap_err().to_string();
        assert!(e.contains("without"), "{e}");
        v.insert("A", "{{E}}".into());
        assert!(fill("t", "x={{A}}\n", &v).is_err());
    }
}
