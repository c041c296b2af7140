//! Campaign specification: parsing and expansion of a campaign TOML into runs.
//!
//! A campaign is one TOML file (format in `docs/campaign.md`) that names a base run
//! configuration and the parameters to vary: a Cartesian product of `[axes]`, named
//! `[[variant]]` points in which several keys change together, and `[latin_hypercube]`
//! samples of continuous parameters. [`CampaignSpec::load`] reads and validates the file;
//! [`CampaignSpec::expand`] turns it into the list of [`ExpandedRun`]s, each with its own
//! complete configuration whose outputs go to `<output_dir>/runs/<id>.h5`.
//!
//! The base is a dose run configuration ([`RunConfig`], `pedisim run`) or a tumour-growth
//! configuration ([`GrowthConfig`], `pedisim grow`): [`CampaignKind`], from `[campaign]
//! kind`, or by default from the base file's content (a growth configuration has a
//! `[model]` table). Every run of a campaign is of the campaign's kind
//! ([`AnyRunConfig`]); a growth campaign's runs use the base's model: the continuum model
//! ([`GrowthConfig`]) or, with `[model] kind = "agents"`, the agent-based model
//! ([`AgentsConfig`]).
//!
//! Expansion order: variants outermost (in file order), then the `[axes]` keys in sorted
//! key order (the last varying fastest), then the Latin-hypercube samples innermost.
//!
//! ```no_run
//! use pedisim_driver::campaign_spec::CampaignSpec;
//! use pedisim_driver::campaign::{dry_run_report, estimate_costs};
//! let spec = CampaignSpec::load("campaign.toml".as_ref()).unwrap();
//! let runs = spec.expand().unwrap();
//! let costs = estimate_costs(&spec, &runs, &mut |_| {}).unwrap();
//! print!("{}", dry_run_report(&runs, &costs));
//! for run in runs {
//!     // Relative input paths in the run keep resolving against the base config's directory.
//!     if let Some(config) = run.config.dose() {
//!         let plan = pedisim_driver::plan::plan(config.clone(), &spec.base).unwrap();
//!         # let _ = plan;
//!     }
//! }
//! ```

use crate::config::{load_toml, RunConfig};
use crate::growth::GrowthConfig;
use crate::growth_agents::AgentsConfig;
use crate::DriverError;
use pedisim_core::rng::{domain, StreamRng};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// Most runs one campaign may expand into.
pub const MAX_RUNS: usize = 1_000_000;

/// Sections of the run config whose keys a campaign may vary.
pub const VARIABLE_SECTIONS: [&str; 4] = ["run", "phantom", "source", "physics"];

/// Sections of a growth configuration whose keys a growth campaign may vary.
pub const GROWTH_VARIABLE_SECTIONS: [&str; 4] = ["run", "phantom", "continuum", "treatment"];

/// Sections of an agent-based growth configuration (`[model] kind = "agents"`) whose keys
/// a growth campaign may vary.
pub const AGENTS_VARIABLE_SECTIONS: [&str; 4] = ["run", "phantom", "agents", "treatment"];

/// What the runs of a campaign are: `[campaign] kind`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CampaignKind {
    /// Dose runs (`pedisim run`): the base is a run configuration.
    #[default]
    Dose,
    /// Tumour-growth runs (`pedisim grow`): the base is a growth configuration.
    Growth,
}

impl CampaignKind {
    /// `"dose"` or `"growth"`, as in the campaign file and the index.
    pub fn name(self) -> &'static str {
        match self {
            CampaignKind::Dose => "dose",
            CampaignKind::Growth => "growth",
        }
    }
}

/// The complete configuration of one run: a dose run or a growth run.
#[derive(Clone, Debug)]
pub enum AnyRunConfig {
    /// A dose run, for [`crate::plan::plan`].
    Dose(RunConfig),
    /// A growth run of the continuum model, for [`crate::growth::growth_plan`].
    Growth(GrowthConfig),
    /// A growth run of the agent-based model, for [`crate::growth_agents::agents_plan`].
    Agents(AgentsConfig),
}

impl AnyRunConfig {
    /// The campaign kind of this configuration.
    pub fn kind(&self) -> CampaignKind {
        match self {
            AnyRunConfig::Dose(_) => CampaignKind::Dose,
            AnyRunConfig::Growth(_) | AnyRunConfig::Agents(_) => CampaignKind::Growth,
        }
    }

    /// True for an agent-based growth run.
    pub fn is_agents(&self) -> bool {
        matches!(self, AnyRunConfig::Agents(_))
    }

    /// The agent-based growth configuration, if this is one.
    pub fn agents(&self) -> Option<&AgentsConfig> {
        match self {
            AnyRunConfig::Agents(c) => Some(c),
            _ => None,
        }
    }

    /// The dose run configuration, if this is one.
    pub fn dose(&self) -> Option<&RunConfig> {
        match self {
            AnyRunConfig::Dose(c) => Some(c),
            AnyRunConfig::Growth(_) | AnyRunConfig::Agents(_) => None,
        }
    }

    /// The continuum growth configuration, if this is one.
    pub fn growth(&self) -> Option<&GrowthConfig> {
        match self {
            AnyRunConfig::Growth(c) => Some(c),
            _ => None,
        }
    }

    /// The part of the configuration that determines the results, as TOML text:
    /// [`result_toml`], [`growth_result_toml`] or [`agents_result_toml`].
    pub fn result_toml(&self) -> String {
        match self {
            AnyRunConfig::Dose(c) => result_toml(c),
            AnyRunConfig::Growth(c) => growth_result_toml(c),
            AnyRunConfig::Agents(c) => agents_result_toml(c),
        }
    }

    /// The run's size in its own unit: histories (rounded up to whole batches) of a dose
    /// run, time steps (`end_day / dt_day`, rounded up) of a continuum growth run,
    /// mechanics steps (`end_day` in minutes / `dt_mechanics_min`, rounded up) of an
    /// agent-based run. Recorded in the index column `histories` and used to deal out the
    /// longest runs first.
    pub fn work_units(&self) -> u64 {
        match self {
            AnyRunConfig::Dose(c) => {
                let b = c.run.batches.max(1);
                c.run.histories.div_ceil(b) * b
            }
            AnyRunConfig::Growth(c) => growth_time_steps(c),
            AnyRunConfig::Agents(c) => agents_time_steps(c),
        }
    }
}

/// Mechanics steps of an agent-based run: `end_day` in minutes over `dt_mechanics_min`
/// (the configuration's `[agents.parameters]` value or the default), rounded up; 0 for
/// values that are not positive (the run's validation reports them).
pub fn agents_time_steps(config: &AgentsConfig) -> u64 {
    let dt = match config.agents.parameters.get("dt_mechanics_min") {
        Some(v) => v
            .as_float()
            .or_else(|| v.as_integer().map(|i| i as f64))
            .unwrap_or(0.0),
        None => pedisim_growth::agents::AgentParams::default().dt_mechanics_min,
    };
    let end_min = config.agents.end_day * 1440.0;
    if dt > 0.0 && end_min > 0.0 && (end_min / dt).is_finite() {
        (end_min / dt * (1.0 - 1e-12)).ceil() as u64
    } else {
        0
    }
}

/// Time steps of a growth run: `end_day / dt_day` rounded up (0 without `[continuum]` or
/// for values that are not positive).
pub fn growth_time_steps(config: &GrowthConfig) -> u64 {
    match &config.continuum {
        Some(c) if c.dt_day > 0.0 && c.end_day > 0.0 => {
            (c.end_day / c.dt_day * (1.0 - 1e-12)).ceil().max(0.0) as u64
        }
        _ => 0,
    }
}

/// How the runs of a campaign are spread over MPI ranks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distribute {
    /// Whole runs go to ranks (the default): each run executes on one rank.
    #[default]
    Runs,
    /// Runs execute one after another, each split over all ranks by histories.
    Histories,
}

/// One `[[variant]]`: a named point in which several keys change together.
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// Name of the variant (shown as `variant=NAME` in run labels).
    pub name: String,
    /// The keys it sets: `(dotted_key, value)` in sorted key order.
    pub set: Vec<(String, Value)>,
}

/// `[latin_hypercube]`: Latin-hypercube samples of continuous parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct LatinHypercube {
    /// Number of sample points (and of strata per key); at least 1.
    pub samples: usize,
    /// Seed of the sampling streams.
    pub seed: u64,
    /// `(dotted_key, min, max)` per key, in sorted key order; `min < max`, both finite.
    pub ranges: Vec<(String, f64, f64)>,
}

impl LatinHypercube {
    /// The sampled values: `values()[k][j]` is sample `j` of key `k` (keys in the order of
    /// [`LatinHypercube::ranges`]). Key `k`'s interval is cut into `samples` equal strata;
    /// sample `j` is `min + (perm_k[j] + u) / samples * (max - min)`, where `perm_k` is a
    /// Fisher-Yates permutation and `u` is uniform in \[0, 1), all drawn from the stream
    /// `StreamRng::new(seed, domain::SETUP, k)`: first the permutation, then one `u` per
    /// sample in order. Each stratum of each key holds exactly one sample.
    pub fn values(&self) -> Vec<Vec<f64>> {
        let n = self.samples;
        self.ranges
            .iter()
            .enumerate()
            .map(|(k, (_, lo, hi))| {
                let mut rng = StreamRng::new(self.seed, domain::SETUP, k as u64);
                let mut perm: Vec<usize> = (0..n).collect();
                for i in (1..n).rev() {
                    let j = ((rng.uniform() * (i + 1) as f64) as usize).min(i);
                    perm.swap(i, j);
                }
                perm.iter()
                    .map(|&p| {
                        let u = rng.uniform();
                        let x = lo + (p as f64 + u) / n as f64 * (hi - lo);
                        // Guard against rounding onto the upper bound.
                        x.min(*hi).max(*lo)
                    })
                    .collect()
            })
            .collect()
    }
}

/// A validated campaign file.
#[derive(Clone, Debug)]
pub struct CampaignSpec {
    /// Campaign name (characters `[A-Za-z0-9_.-]`).
    pub name: String,
    /// The campaign file.
    pub file: PathBuf,
    /// The base run config, resolved against the campaign file's directory. Pass it as the
    /// `config_path` of [`crate::plan::plan`]: relative input paths in every run resolve
    /// against its directory.
    pub base: PathBuf,
    /// Output directory, resolved against the campaign file's directory (unless absolute).
    pub output_dir: PathBuf,
    /// How runs are spread over MPI ranks.
    pub distribute: Distribute,
    /// What the runs are (dose or growth).
    pub kind: CampaignKind,
    /// The base configuration as loaded.
    pub base_config: AnyRunConfig,
    /// `[axes]`: `(dotted_key, values)` in sorted key order, each with at least one value.
    pub axes: Vec<(String, Vec<Value>)>,
    /// `[[variant]]` entries in file order.
    pub variants: Vec<Variant>,
    /// `[latin_hypercube]`, if present.
    pub latin_hypercube: Option<LatinHypercube>,
    /// The base config file's TOML table, onto which parameters are set.
    base_table: Table,
}

/// One run of an expanded campaign.
#[derive(Clone, Debug)]
pub struct ExpandedRun {
    /// Position in the campaign, from 0.
    pub index: usize,
    /// Run id: `run-` and the index zero-padded to 5 digits (more for campaigns of more
    /// than 100 000 runs, the same width for every run of a campaign).
    pub id: String,
    /// Human label: `variant=NAME` (if any) and `key=value` of each axis and sampled key,
    /// space-separated; `(base)` for a campaign without parameters.
    pub label: String,
    /// Variant name, if the campaign has variants.
    pub variant: Option<String>,
    /// Every parameter set in this run, `(dotted_key, value)`: the variant's keys (sorted),
    /// then the axes (sorted), then the sampled keys (sorted). Keys are in their canonical
    /// form (segments joined by dots, a segment that is not a bare TOML key in quotes).
    pub params: Vec<(String, Value)>,
    /// The complete configuration, ready for `plan::plan(config, &spec.base)` (dose) or
    /// `growth::growth_plan(config, &spec.base)` (growth): relative input paths in it
    /// resolve against the base config's directory; its `[output] path` (and
    /// `dose_nifti` or `csv`, if the base has one) point into `<output_dir>/runs/`.
    pub config: AnyRunConfig,
}

// ---- the file as written ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignFile {
    campaign: CampaignSection,
    #[serde(default)]
    axes: Table,
    #[serde(default)]
    variant: Vec<VariantFile>,
    #[serde(default)]
    latin_hypercube: Option<LhsFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignSection {
    name: String,
    base: PathBuf,
    output_dir: PathBuf,
    #[serde(default)]
    distribute: Distribute,
    #[serde(default)]
    kind: Option<CampaignKind>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantFile {
    name: String,
    #[serde(default)]
    set: Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LhsFile {
    samples: usize,
    #[serde(default = "default_lhs_seed")]
    seed: u64,
    ranges: BTreeMap<String, Vec<f64>>,
}

fn default_lhs_seed() -> u64 {
    1
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The segments of a dotted key. The key is read as a TOML dotted key where it is one
/// (`continuum.diffusion_mm2_per_day."white matter"`: a segment in quotes may hold dots
/// and spaces); otherwise it is split at every dot
/// (`continuum.diffusion_mm2_per_day.white matter`).
pub fn key_segments(key: &str) -> Vec<String> {
    fn chain(t: &Table, out: &mut Vec<String>) -> bool {
        if t.len() != 1 {
            return false;
        }
        let (k, v) = t.iter().next().expect("one entry");
        out.push(k.clone());
        match v {
            Value::Table(inner) => chain(inner, out),
            Value::Integer(0) => true,
            _ => false,
        }
    }
    if !key.contains(['\n', '\r', '=', '#', '[']) {
        if let Ok(t) = toml::from_str::<Table>(&format!("{key} = 0")) {
            let mut out = Vec::new();
            if chain(&t, &mut out) {
                return out;
            }
        }
    }
    key.split('.').map(str::to_string).collect()
}

/// A key's canonical form: its segments joined by dots, a segment that is not a bare TOML
/// key (letters, digits, `_`, `-`) in double quotes.
pub fn canonical_key(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| {
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                s.clone()
            } else {
                Value::String(s.clone()).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Checks that `key` names a key that a campaign of `kind` may vary and returns its
/// canonical form ([`canonical_key`]): `section.key` for a dose campaign (sections
/// [`VARIABLE_SECTIONS`]), `section.key` or `section.table.key` for a growth campaign
/// (sections [`GROWTH_VARIABLE_SECTIONS`]). `value` is used to give a hint for unquoted
/// dotted keys (which TOML turns into tables).
fn check_key(
    kind: CampaignKind,
    agents: bool,
    where_: &str,
    key: &str,
    value: Option<&Value>,
) -> Result<String, String> {
    let parts = key_segments(key);
    let depth_ok = match kind {
        CampaignKind::Dose => parts.len() == 2,
        CampaignKind::Growth => (2..=3).contains(&parts.len()),
    };
    if !depth_ok || parts.iter().any(|p| p.is_empty()) {
        let hint = if parts.len() == 1 && matches!(value, Some(Value::Table(_))) {
            format!(" (write dotted keys in quotes, e.g. \"{key}.KEY\" = ...)")
        } else {
            String::new()
        };
        let form = match kind {
            CampaignKind::Dose => "the form \"section.key\" with exactly one dot",
            CampaignKind::Growth => {
                "the form \"section.key\" or \"section.table.key\" (a growth campaign)"
            }
        };
        return Err(format!("{where_}: key {key:?}: expected {form}{hint}"));
    }
    let section = parts[0].as_str();
    if section == "output" {
        let keys = match kind {
            CampaignKind::Dose => "path, dose_nifti",
            CampaignKind::Growth => "path, csv",
        };
        return Err(format!(
            "{where_}: key {key:?}: the [output] keys ({keys}) are set by the campaign \
             (<output_dir>/runs/<id>.h5) and cannot be varied"
        ));
    }
    let (sections, names) = match kind {
        CampaignKind::Dose => (&VARIABLE_SECTIONS, "run, phantom, source, physics"),
        CampaignKind::Growth if agents => (
            &AGENTS_VARIABLE_SECTIONS,
            "run, phantom, agents, treatment (a growth campaign of the agent-based model)",
        ),
        CampaignKind::Growth => (
            &GROWTH_VARIABLE_SECTIONS,
            "run, phantom, continuum, treatment (a growth campaign)",
        ),
    };
    if !sections.contains(&section) {
        return Err(format!(
            "{where_}: key {key:?}: unknown section {section:?}, expected one of {names}"
        ));
    }
    Ok(canonical_key(&parts))
}

fn resolve(dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

/// Sets `value` at the dotted `key` (`section.key`, or `section.table.key`) in a config
/// table, creating the tables on the way if needed.
fn set_dotted(table: &mut Table, key: &str, value: Value) -> Result<(), String> {
    let parts = key_segments(key);
    let Some((last, tables)) = parts.split_last().filter(|(_, t)| !t.is_empty()) else {
        return Err(format!("key {key:?} is not of the form \"section.key\""));
    };
    let mut t = table;
    for (i, name) in tables.iter().enumerate() {
        let entry = t
            .entry(name.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        t = match entry {
            Value::Table(inner) => inner,
            other => {
                return Err(format!(
                    "[{}] in the base config is a {}, not a table",
                    canonical_key(&tables[..=i]),
                    other.type_str()
                ))
            }
        };
    }
    t.insert(last.clone(), value);
    Ok(())
}

/// A float with at most 6 significant digits, without trailing zeros (labels only).
fn short_float(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    let plain = format!("{x}");
    if plain.len() <= 8 {
        return plain;
    }
    let mag = x.abs().log10().floor() as i32;
    if !(-4..=9).contains(&mag) {
        return format!("{x:.5e}");
    }
    let decimals = (5 - mag).clamp(0, 12) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A compact text form of a value for labels (no spaces around separators).
fn label_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Float(f) => short_float(*f),
        Value::Integer(i) => i.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => d.to_string(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(label_value).collect::<Vec<_>>().join(",")
        ),
        Value::Table(t) => format!(
            "{{{}}}",
            t.iter()
                .map(|(k, v)| format!("{k}={}", label_value(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// The id of run `index` in a campaign of `total` runs: `run-` and the index zero-padded to
/// 5 digits, or to the digits of `total - 1` where that has more.
pub fn run_id(index: usize, total: usize) -> String {
    let width = total.saturating_sub(1).to_string().len().max(5);
    format!("run-{index:0width$}")
}

impl CampaignSpec {
    /// Reads and validates a campaign file: every error is a [`DriverError::Config`] naming
    /// the campaign file, the section and key, and what was expected. The base config is
    /// loaded and checked here too.
    pub fn load(path: &Path) -> Result<CampaignSpec, DriverError> {
        let err = |message: String| DriverError::Config {
            file: path.to_path_buf(),
            message,
        };
        let raw: CampaignFile = load_toml(path)?;
        let c = raw.campaign;
        if !valid_name(&c.name) {
            return Err(err(format!(
                "[campaign] name = {:?}: expected a non-empty name of the characters A-Z a-z 0-9 _ . -",
                c.name
            )));
        }
        if c.base.as_os_str().is_empty() {
            return Err(err(
                "[campaign] base = \"\": expected the path of a run config".into(),
            ));
        }
        if c.output_dir.as_os_str().is_empty() {
            return Err(err(
                "[campaign] output_dir = \"\": expected a directory path".into(),
            ));
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        let base = resolve(dir, &c.base);
        let output_dir = resolve(dir, &c.output_dir);
        let base_text = std::fs::read_to_string(&base).map_err(|e| {
            err(format!(
                "[campaign] base = {:?}: cannot read {}: {e}",
                c.base.display().to_string(),
                base.display()
            ))
        })?;
        let base_table: Table = toml::from_str(&base_text).map_err(|e| {
            err(format!(
                "[campaign] base = {:?}: {}",
                c.base.display().to_string(),
                e.to_string().trim_end()
            ))
        })?;
        // A growth configuration has a [model] table; a dose run config has none.
        let kind = c.kind.unwrap_or(if base_table.contains_key("model") {
            CampaignKind::Growth
        } else {
            CampaignKind::Dose
        });
        // A growth base with [model] kind = "agents" is the agent-based model.
        let agents = kind == CampaignKind::Growth
            && base_table
                .get("model")
                .and_then(|m| m.get("kind"))
                .and_then(|k| k.as_str())
                == Some("agents");
        let base_config = match kind {
            CampaignKind::Dose => RunConfig::load(&base).map(AnyRunConfig::Dose),
            CampaignKind::Growth if agents => {
                load_toml::<AgentsConfig>(&base).map(AnyRunConfig::Agents)
            }
            CampaignKind::Growth => load_toml::<GrowthConfig>(&base).map(AnyRunConfig::Growth),
        }
        .map_err(|e| {
            err(format!(
                "[campaign] base = {:?}: the base {} config cannot be used: {e}",
                c.base.display().to_string(),
                match kind {
                    CampaignKind::Dose => "run",
                    CampaignKind::Growth => "growth",
                }
            ))
        })?;
        if kind == CampaignKind::Growth && c.distribute == Distribute::Histories {
            return Err(err(
                "[campaign] distribute = \"histories\": a growth run is not made of histories \
                 and cannot be split over ranks; expected distribute = \"runs\" (the default) \
                 for a growth campaign"
                    .into(),
            ));
        }

        // [axes]
        let mut axes = Vec::new();
        let mut axis_keys: BTreeMap<String, ()> = BTreeMap::new();
        let mut sorted_axes: Vec<(String, Value)> = raw.axes.into_iter().collect();
        sorted_axes.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, value) in sorted_axes {
            let key = check_key(kind, agents, "[axes]", &key, Some(&value)).map_err(err)?;
            if axis_keys.contains_key(&key) {
                return Err(err(format!(
                    "[axes]: key {key:?} is given twice (in two spellings)"
                )));
            }
            match value {
                Value::Array(a) if !a.is_empty() => {
                    axis_keys.insert(key.clone(), ());
                    axes.push((key, a));
                }
                Value::Array(_) => {
                    return Err(err(format!(
                        "[axes] {key:?} = []: expected a non-empty array of the values the key takes"
                    )))
                }
                other => {
                    return Err(err(format!(
                        "[axes] {key:?}: expected a non-empty array of the values the key takes, found a value of type {}",
                        other.type_str()
                    )))
                }
            }
        }

        axes.sort_by(|a: &(String, Vec<Value>), b| a.0.cmp(&b.0));

        // [[variant]]
        let mut variants = Vec::new();
        let mut names = BTreeSet::new();
        let mut variant_keys = BTreeSet::new();
        for (i, v) in raw.variant.into_iter().enumerate() {
            let where_ = format!("[[variant]] #{} (name = {:?})", i + 1, v.name);
            if !valid_name(&v.name) {
                return Err(err(format!(
                    "{where_}: name: expected a non-empty name of the characters A-Z a-z 0-9 _ . -"
                )));
            }
            if !names.insert(v.name.clone()) {
                return Err(err(format!(
                    "{where_}: duplicate variant name {:?}: expected each name once",
                    v.name
                )));
            }
            let mut set: Vec<(String, Value)> = Vec::new();
            for (key, value) in v.set {
                let key = check_key(kind, agents, &format!("{where_} set"), &key, Some(&value))
                    .map_err(err)?;
                if set.iter().any(|(k, _)| *k == key) {
                    return Err(err(format!(
                        "{where_} set: key {key:?} is given twice (in two spellings)"
                    )));
                }
                set.push((key, value));
            }
            set.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, _) in &set {
                if axis_keys.contains_key(key) {
                    return Err(err(format!(
                        "{where_} set: key {key:?} is also in [axes]: a key may be varied in one place only"
                    )));
                }
                variant_keys.insert(key.clone());
            }
            variants.push(Variant { name: v.name, set });
        }

        // [latin_hypercube]
        let latin_hypercube = match raw.latin_hypercube {
            None => None,
            Some(l) => {
                if l.samples == 0 {
                    return Err(err(
                        "[latin_hypercube] samples = 0: expected at least 1 sample".into(),
                    ));
                }
                if l.ranges.is_empty() {
                    return Err(err(
                        "[latin_hypercube] ranges: expected at least one key with [min, max]"
                            .into(),
                    ));
                }
                let mut ranges: Vec<(String, f64, f64)> = Vec::new();
                for (key, r) in l.ranges {
                    let where_ = "[latin_hypercube] ranges";
                    let key = check_key(kind, agents, where_, &key, None).map_err(err)?;
                    if ranges.iter().any(|(k, _, _)| *k == key) {
                        return Err(err(format!(
                            "{where_}: key {key:?} is given twice (in two spellings)"
                        )));
                    }
                    if axis_keys.contains_key(&key) {
                        return Err(err(format!(
                            "{where_}: key {key:?} is also in [axes]: a key may be varied in one place only"
                        )));
                    }
                    if variant_keys.contains(&key) {
                        return Err(err(format!(
                            "{where_}: key {key:?} is also set by a [[variant]]: a key may be varied in one place only"
                        )));
                    }
                    if r.len() != 2 {
                        return Err(err(format!(
                            "{where_}: key {key:?}: expected [min, max], found {} values",
                            r.len()
                        )));
                    }
                    let (lo, hi) = (r[0], r[1]);
                    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                        return Err(err(format!(
                            "{where_}: key {key:?} = [{lo}, {hi}]: expected finite min < max"
                        )));
                    }
                    ranges.push((key, lo, hi));
                }
                ranges.sort_by(|a, b| a.0.cmp(&b.0));
                Some(LatinHypercube {
                    samples: l.samples,
                    seed: l.seed,
                    ranges,
                })
            }
        };

        let spec = CampaignSpec {
            name: c.name,
            file: path.to_path_buf(),
            base,
            output_dir,
            distribute: c.distribute,
            kind,
            base_config,
            axes,
            variants,
            latin_hypercube,
            base_table,
        };
        let n = spec.run_count_u128();
        if n > MAX_RUNS as u128 {
            return Err(err(format!(
                "the campaign expands into {} runs ({}): expected at most {MAX_RUNS}",
                n,
                spec.count_breakdown()
            )));
        }
        Ok(spec)
    }

    fn run_count_u128(&self) -> u128 {
        let mut n = self.variants.len().max(1) as u128;
        for (_, v) in &self.axes {
            n = n.saturating_mul(v.len() as u128);
        }
        if let Some(l) = &self.latin_hypercube {
            n = n.saturating_mul(l.samples as u128);
        }
        n
    }

    fn count_breakdown(&self) -> String {
        let mut parts = Vec::new();
        if !self.variants.is_empty() {
            parts.push(format!("{} variants", self.variants.len()));
        }
        for (k, v) in &self.axes {
            parts.push(format!("{} values of {k}", v.len()));
        }
        if let Some(l) = &self.latin_hypercube {
            parts.push(format!("{} Latin-hypercube samples", l.samples));
        }
        parts.join(" x ")
    }

    /// Number of runs the campaign expands into (at most [`MAX_RUNS`]).
    pub fn run_count(&self) -> usize {
        self.run_count_u128() as usize
    }

    /// The HDF5 output of run `id`: `<output_dir>/runs/<id>.h5`.
    pub fn output_path(&self, id: &str) -> PathBuf {
        self.output_dir.join("runs").join(format!("{id}.h5"))
    }

    /// The CSV trajectory of growth run `id` (written only if the base growth config asks
    /// for one): `<output_dir>/runs/<id>.csv`.
    pub fn csv_path(&self, id: &str) -> PathBuf {
        self.output_dir.join("runs").join(format!("{id}.csv"))
    }

    /// The NIfTI dose output of run `id` (written only if the base config asks for one):
    /// `<output_dir>/runs/<id>_dose.nii.gz`.
    pub fn dose_nifti_path(&self, id: &str) -> PathBuf {
        self.output_dir
            .join("runs")
            .join(format!("{id}_dose.nii.gz"))
    }

    /// Expands the campaign into its runs, in order (variants outermost, then the axes in
    /// sorted key order with the last varying fastest, then the Latin-hypercube samples).
    /// Each run's config is the base config's table with the run's parameters set and its
    /// outputs pointed into `<output_dir>/runs/`; a config that does not deserialise (an
    /// unknown key, a value of the wrong type) is an error naming the run and the key.
    pub fn expand(&self) -> Result<Vec<ExpandedRun>, DriverError> {
        let err = |message: String| DriverError::Config {
            file: self.file.clone(),
            message,
        };
        let total = self.run_count();
        let samples = self.latin_hypercube.as_ref().map_or(1, |l| l.samples);
        let lhs_values = self
            .latin_hypercube
            .as_ref()
            .map(|l| l.values())
            .unwrap_or_default();
        let base_has = |key: &str| {
            matches!(
                self.base_table.get("output"),
                Some(Value::Table(t)) if t.contains_key(key)
            )
        };
        let (base_has_nifti, base_has_csv) = match self.kind {
            CampaignKind::Dose => (base_has("dose_nifti"), false),
            CampaignKind::Growth => (false, base_has("csv")),
        };
        let mut runs = Vec::with_capacity(total);
        for index in 0..total {
            // Mixed-radix decomposition, innermost first.
            let sample = index % samples;
            let mut rest = index / samples;
            let mut axis_pick = vec![0usize; self.axes.len()];
            for (a, (_, vals)) in self.axes.iter().enumerate().rev() {
                axis_pick[a] = rest % vals.len();
                rest /= vals.len();
            }
            let variant = self.variants.get(rest);

            let mut params: Vec<(String, Value)> = Vec::new();
            let mut label: Vec<String> = Vec::new();
            if let Some(v) = variant {
                label.push(format!("variant={}", v.name));
                params.extend(v.set.iter().cloned());
            }
            for (a, (key, vals)) in self.axes.iter().enumerate() {
                let value = vals[axis_pick[a]].clone();
                label.push(format!("{key}={}", label_value(&value)));
                params.push((key.clone(), value));
            }
            if let Some(l) = &self.latin_hypercube {
                for (k, (key, _, _)) in l.ranges.iter().enumerate() {
                    let value = Value::Float(lhs_values[k][sample]);
                    label.push(format!("{key}={}", label_value(&value)));
                    params.push((key.clone(), value));
                }
            }
            let id = run_id(index, total);
            let label = if label.is_empty() {
                "(base)".to_string()
            } else {
                label.join(" ")
            };

            let outputs = {
                let mut o = vec![(
                    "output.path".to_string(),
                    Value::String(self.output_path(&id).to_string_lossy().into_owned()),
                )];
                if base_has_nifti {
                    o.push((
                        "output.dose_nifti".to_string(),
                        Value::String(self.dose_nifti_path(&id).to_string_lossy().into_owned()),
                    ));
                }
                if base_has_csv {
                    o.push((
                        "output.csv".to_string(),
                        Value::String(self.csv_path(&id).to_string_lossy().into_owned()),
                    ));
                }
                o
            };
            let build = |upto: usize, with_outputs: bool| -> Result<AnyRunConfig, String> {
                let mut table = self.base_table.clone();
                for (k, v) in params.iter().take(upto) {
                    set_dotted(&mut table, k, v.clone()).map_err(|e| format!("{k}: {e}"))?;
                }
                if with_outputs {
                    for (k, v) in &outputs {
                        set_dotted(&mut table, k, v.clone())?;
                    }
                }
                match self.kind {
                    CampaignKind::Dose => table.try_into::<RunConfig>().map(AnyRunConfig::Dose),
                    CampaignKind::Growth if self.base_config.is_agents() => {
                        table.try_into::<AgentsConfig>().map(AnyRunConfig::Agents)
                    }
                    CampaignKind::Growth => {
                        table.try_into::<GrowthConfig>().map(AnyRunConfig::Growth)
                    }
                }
                .map_err(|e| e.to_string().trim_end().to_string())
            };
            let config = match build(params.len(), true) {
                Ok(c) => c,
                Err(e) => {
                    // Find the first parameter after which the config no longer deserialises.
                    let culprit =
                        (1..=params.len()).find_map(|n| build(n, false).err().map(|e| (n, e)));
                    let what = match culprit {
                        Some((n, e)) => {
                            let (k, v) = &params[n - 1];
                            format!("setting {k} = {v}: {e}")
                        }
                        None => e,
                    };
                    return Err(err(format!(
                        "run {id} ({label}): the expanded run config is invalid: {what}"
                    )));
                }
            };
            runs.push(ExpandedRun {
                index,
                id,
                label,
                variant: variant.map(|v| v.name.clone()),
                params,
                config,
            });
        }
        Ok(runs)
    }
}

pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
pub(crate) const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

pub(crate) fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The part of a growth run's configuration that determines its results, as TOML text:
/// the configuration with the thread count cleared (results do not depend on it) and the
/// `[output]` section left at its defaults (where the files go does not change them).
/// The seed stays (it is recorded in the result).
pub fn growth_result_toml(config: &GrowthConfig) -> String {
    let mut c = config.clone();
    c.run.threads = 0;
    c.output = Default::default();
    toml::to_string(&c).unwrap_or_else(|e| format!("# not serialisable: {e}"))
}

/// The part of an agent-based run's configuration that determines its results, as TOML
/// text: as [`growth_result_toml`], the thread count cleared and `[output]` at its
/// defaults (the seed stays: it determines the cells' random numbers).
pub fn agents_result_toml(config: &AgentsConfig) -> String {
    let mut c = config.clone();
    c.run.threads = 0;
    c.output = Default::default();
    toml::to_string(&c).unwrap_or_else(|e| format!("# not serialisable: {e}"))
}

/// The part of a run's configuration that determines its results, as TOML text: the
/// resolved configuration with the thread count and checkpoint interval cleared (they
/// never change results) and the `[output]` section left at its defaults (where the files go, and the path by
/// which the campaign was reached from the working directory, do not change them).
pub fn result_toml(config: &RunConfig) -> String {
    let mut c = config.clone();
    c.run.threads = 0;
    c.run.checkpoint_minutes = 0.0;
    c.output = Default::default();
    c.to_toml()
}

/// Fingerprint of a whole campaign: 64-bit FNV-1a, as 16 lowercase hex digits, over each
/// run in order: its id, a 0 byte, its [`result_toml`] text, a 0 byte. Two campaigns
/// with the same runs (ids and configurations) have the same fingerprint, on any
/// machine and from any working directory; used to refuse to mix two different
/// campaigns in one output directory.
pub fn campaign_fingerprint(runs: &[ExpandedRun]) -> String {
    let mut h = FNV_OFFSET;
    for r in runs {
        h = fnv1a(h, r.id.as_bytes());
        h = fnv1a(h, &[0]);
        h = fnv1a(h, r.config.result_toml().as_bytes());
        h = fnv1a(h, &[0]);
    }
    format!("{h:016x}")
}

/// Fingerprint of one run: 64-bit FNV-1a, as 16 lowercase hex digits, over its
/// [`result_toml`] text.
pub fn run_fingerprint(run: &ExpandedRun) -> String {
    format!(
        "{:016x}",
        fnv1a(FNV_OFFSET, run.config.result_toml().as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[run]
histories = 1000
batches = 10
seed = 1
[phantom]
kind = "sphere"
material = "soft_tissue"
background = "air"
size_mm = [100.0, 100.0, 100.0]
voxel_mm = [5.0, 5.0, 5.0]
radius_mm = 40.0
[source]
kind = "point"
energy_kev = 140.5
position_mm = [0.0, 0.0, 0.0]
[output]
path = "x.h5"
"#;

    /// A scratch directory removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(test: &str) -> Self {
            let d = std::env::temp_dir()
                .join(format!("pedisim-campaign-{}-{test}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            Scratch(d)
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, text).unwrap();
            p
        }

        /// Writes the base config and a campaign file; returns the campaign path.
        fn campaign(&self, body: &str) -> PathBuf {
            self.write("base.toml", BASE);
            self.write("campaign.toml", body)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const HEAD: &str = "[campaign]\nname = \"t\"\nbase = \"base.toml\"\noutput_dir = \"out\"\n";

    fn load_err(s: &Scratch, body: &str) -> String {
        let p = s.campaign(body);
        match CampaignSpec::load(&p).and_then(|c| c.expand()) {
            Ok(_) => panic!("expected an error for:\n{body}"),
            Err(e) => {
                assert!(
                    matches!(&e, DriverError::Config { file, .. } if *file == p),
                    "error should name the campaign file: {e}"
                );
                e.to_string()
            }
        }
    }

    #[test]
    fn product_size_and_order() {
        let s = Scratch::new("product");
        let p = s.campaign(&format!(
            "{HEAD}\n[axes]\n\"run.seed\" = [7, 8]\n\"phantom.radius_mm\" = [30.0, 40.0]\n\
             [[variant]]\nname = \"small\"\nset = {{ \"phantom.voxel_mm\" = [4.0, 4.0, 4.0], \"run.histories\" = 2000 }}\n\
             [[variant]]\nname = \"large\"\nset = {{ \"phantom.size_mm\" = [120.0, 120.0, 120.0] }}\n"
        ));
        let spec = CampaignSpec::load(&p).unwrap();
        assert_eq!(spec.run_count(), 8);
        assert_eq!(spec.distribute, Distribute::Runs);
        assert_eq!(spec.base, s.0.join("base.toml"));
        assert_eq!(spec.output_dir, s.0.join("out"));
        let runs = spec.expand().unwrap();
        let labels: Vec<&str> = runs.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "variant=small phantom.radius_mm=30 run.seed=7",
                "variant=small phantom.radius_mm=30 run.seed=8",
                "variant=small phantom.radius_mm=40 run.seed=7",
                "variant=small phantom.radius_mm=40 run.seed=8",
                "variant=large phantom.radius_mm=30 run.seed=7",
                "variant=large phantom.radius_mm=30 run.seed=8",
                "variant=large phantom.radius_mm=40 run.seed=7",
                "variant=large phantom.radius_mm=40 run.seed=8",
            ]
        );
        for (i, r) in runs.iter().enumerate() {
            assert_eq!(r.index, i);
            assert_eq!(r.id, format!("run-{i:05}"));
        }
        let r = &runs[3];
        assert_eq!(r.variant.as_deref(), Some("small"));
        assert_eq!(r.config.dose().unwrap().phantom.radius_mm, Some(40.0));
        assert_eq!(r.config.dose().unwrap().phantom.voxel_mm, Some([4.0; 3]));
        assert_eq!(r.config.dose().unwrap().run.seed, 8);
        assert_eq!(r.config.dose().unwrap().run.histories, 2000);
        assert_eq!(
            r.params.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(),
            [
                "phantom.voxel_mm",
                "run.histories",
                "phantom.radius_mm",
                "run.seed"
            ]
        );
        let r = &runs[4];
        assert_eq!(r.config.dose().unwrap().phantom.voxel_mm, Some([5.0; 3]));
        assert_eq!(r.config.dose().unwrap().phantom.size_mm, Some([120.0; 3]));
        assert_eq!(r.config.dose().unwrap().run.histories, 1000);
        // The config is ready for planning against the base config's path.
        crate::plan::plan(runs[0].config.dose().unwrap().clone(), &spec.base).unwrap();

        assert_eq!(runs[0].id, "run-00000");
        assert_eq!(runs[0].config.dose().unwrap().run.histories, 2000);
        assert_eq!(
            runs[0].label,
            "variant=small phantom.radius_mm=30 run.seed=7"
        );
        let total: u64 = runs
            .iter()
            .map(|r| r.config.dose().unwrap().run.histories)
            .sum();
        assert_eq!(total, 12000);
    }

    #[test]
    fn latin_hypercube_stratified_and_reproducible() {
        let s = Scratch::new("lhs");
        let body = |seed: u64| {
            format!(
                "{HEAD}\n[latin_hypercube]\nsamples = 8\nseed = {seed}\n\
                 ranges = {{ \"source.energy_kev\" = [100.0, 300.0], \"physics.photon_cutoff_kev\" = [1, 5] }}\n"
            )
        };
        let values = |seed: u64| -> Vec<Vec<f64>> {
            let spec = CampaignSpec::load(&s.campaign(&body(seed))).unwrap();
            let runs = spec.expand().unwrap();
            assert_eq!(runs.len(), 8);
            // Keys sorted: physics.photon_cutoff_kev, then source.energy_kev.
            let cut: Vec<f64> = runs
                .iter()
                .map(|r| r.config.dose().unwrap().physics.photon_cutoff_kev)
                .collect();
            let en: Vec<f64> = runs
                .iter()
                .map(|r| r.config.dose().unwrap().source.energy_kev.unwrap())
                .collect();
            for r in &runs {
                assert_eq!(r.params[0].0, "physics.photon_cutoff_kev");
                assert_eq!(r.params[1].0, "source.energy_kev");
                assert!(matches!(r.params[1].1, Value::Float(_)));
                assert!(r.label.starts_with("physics.photon_cutoff_kev="));
            }
            vec![cut, en]
        };
        let v = values(5);
        for (vals, (lo, hi)) in v.iter().zip([(1.0, 5.0), (100.0, 300.0)]) {
            let mut hit = [0usize; 8];
            for x in vals {
                assert!(*x >= lo && *x < hi);
                let stratum = ((x - lo) / (hi - lo) * 8.0).floor() as usize;
                hit[stratum] += 1;
            }
            assert_eq!(hit, [1; 8], "each stratum once: {vals:?}");
        }
        assert_eq!(values(5), v, "same seed, same samples");
        assert_ne!(values(6), v, "another seed, other samples");
    }

    #[test]
    fn output_paths_are_overridden() {
        let s = Scratch::new("outputs");
        let p = s.campaign(&format!("{HEAD}\n[axes]\n\"run.seed\" = [1, 2]\n"));
        let spec = CampaignSpec::load(&p).unwrap();
        let runs = spec.expand().unwrap();
        assert_eq!(
            runs[1].config.dose().unwrap().output.path,
            s.0.join("out/runs/run-00001.h5")
        );
        assert_eq!(
            runs[1].config.dose().unwrap().output.path,
            spec.output_path("run-00001")
        );
        assert_eq!(runs[1].config.dose().unwrap().output.dose_nifti, None);

        // With a NIfTI output in the base, and an absolute output_dir.
        let abs = s.0.join("abs-out");
        s.write(
            "base2.toml",
            &BASE.replace(
                "path = \"x.h5\"",
                "path = \"x.h5\"\ndose_nifti = \"x.nii.gz\"",
            ),
        );
        let p = s.write(
            "c2.toml",
            &format!(
                "[campaign]\nname = \"t2\"\nbase = \"base2.toml\"\noutput_dir = {:?}\ndistribute = \"histories\"\n",
                abs.to_string_lossy()
            ),
        );
        let spec = CampaignSpec::load(&p).unwrap();
        assert_eq!(spec.distribute, Distribute::Histories);
        let runs = spec.expand().unwrap();
        assert_eq!(
            runs[0].config.dose().unwrap().output.path,
            abs.join("runs/run-00000.h5")
        );
        assert_eq!(
            runs[0].config.dose().unwrap().output.dose_nifti.as_deref(),
            Some(abs.join("runs/run-00000_dose.nii.gz").as_path())
        );
    }

    #[test]
    fn base_only_campaign_is_one_run() {
        let s = Scratch::new("base-only");
        let spec = CampaignSpec::load(&s.campaign(HEAD)).unwrap();
        let runs = spec.expand().unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].id, "run-00000");
        assert_eq!(runs[0].label, "(base)");
        assert!(runs[0].params.is_empty());
        assert_eq!(runs[0].config.dose().unwrap().phantom.radius_mm, Some(40.0));
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].config.dose().unwrap().run.histories, 1000);
    }

    #[test]
    fn run_ids_widen_past_99999() {
        assert_eq!(run_id(7, 1), "run-00007");
        assert_eq!(run_id(99_999, 100_000), "run-99999");
        assert_eq!(run_id(5, 100_001), "run-000005");
        assert_eq!(run_id(100_000, 100_001), "run-100000");
    }

    #[test]
    fn fingerprints_are_stable_and_discriminating() {
        let s = Scratch::new("fingerprint");
        let p = s.campaign(&format!("{HEAD}\n[axes]\n\"run.seed\" = [1, 2]\n"));
        let a = CampaignSpec::load(&p).unwrap().expand().unwrap();
        let b = CampaignSpec::load(&p).unwrap().expand().unwrap();
        let fa = campaign_fingerprint(&a);
        assert_eq!(fa.len(), 16);
        assert!(fa.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(fa, campaign_fingerprint(&b));
        assert_ne!(run_fingerprint(&a[0]), run_fingerprint(&a[1]));
        assert_eq!(run_fingerprint(&a[0]), run_fingerprint(&b[0]));
        let p = s.campaign(&format!("{HEAD}\n[axes]\n\"run.seed\" = [1, 3]\n"));
        let c = CampaignSpec::load(&p).unwrap().expand().unwrap();
        assert_ne!(fa, campaign_fingerprint(&c));
        // Where the results go does not change what they are.
        let p = s.campaign(&format!(
            "{}\n[axes]\n\"run.seed\" = [1, 2]\n",
            HEAD.replace("\"out\"", "\"elsewhere/../out2\"")
        ));
        let d = CampaignSpec::load(&p).unwrap().expand().unwrap();
        assert_ne!(
            d[0].config.dose().unwrap().output.path,
            a[0].config.dose().unwrap().output.path
        );
        assert_eq!(fa, campaign_fingerprint(&d));
        // FNV-1a reference value: the empty input is the offset basis.
        assert_eq!(campaign_fingerprint(&[]), "cbf29ce484222325");
        assert_eq!(
            format!("{:016x}", fnv1a(FNV_OFFSET, b"a")),
            "af63dc4c8601ec8c"
        );
    }

    #[test]
    fn errors_name_the_offending_key() {
        let s = Scratch::new("errors");
        let cases: Vec<(String, &[&str])> = vec![
            (format!("{HEAD}bogus = 1\n"), &["bogus"]),
            (format!("{HEAD}[extra]\nx = 1\n"), &["extra"]),
            ("[campaign]\nname = \"t\"\nbase = \"base.toml\"\n".into(), &["missing field `output_dir`"]),
            ("[campaign]\nname = \"t\"\noutput_dir = \"o\"\n".into(), &["missing field `base`"]),
            ("[campaign]\nbase = \"base.toml\"\noutput_dir = \"o\"\n".into(), &["missing field `name`"]),
            ("[campaign]\nname = \"\"\nbase = \"base.toml\"\noutput_dir = \"o\"\n".into(), &["name"]),
            ("[campaign]\nname = \"a b\"\nbase = \"base.toml\"\noutput_dir = \"o\"\n".into(), &["name", "a b"]),
            (format!("{HEAD}distribute = \"ranks\"\n"), &["distribute"]),
            (format!("{HEAD}[axes]\n\"run.seed\" = []\n"), &["run.seed", "non-empty"]),
            (format!("{HEAD}[axes]\n\"run.seed\" = 3\n"), &["run.seed", "array", "integer"]),
            (format!("{HEAD}[axes]\n\"seed\" = [1]\n"), &["\"seed\"", "section.key"]),
            (format!("{HEAD}[axes]\n\"run.seed.x\" = [1]\n"), &["run.seed.x", "section.key"]),
            (format!("{HEAD}[axes]\nrun.seed = [1]\n"), &["\"run\"", "quotes"]),
            (format!("{HEAD}[axes]\n\"tumour.size\" = [1]\n"), &["tumour.size", "section"]),
            (format!("{HEAD}[axes]\n\"materials.x\" = [1]\n"), &["materials.x"]),
            (format!("{HEAD}[axes]\n\"output.path\" = [\"a.h5\"]\n"), &["output.path"]),
            (
                format!("{HEAD}[[variant]]\nname = \"v\"\nset = {{ \"output.dose_nifti\" = \"a.nii\" }}\n"),
                &["output.dose_nifti"],
            ),
            (
                format!("{HEAD}[axes]\n\"run.seed\" = [1, 2]\n[[variant]]\nname = \"v\"\nset = {{ \"run.seed\" = 3 }}\n"),
                &["run.seed", "[axes]"],
            ),
            (
                format!("{HEAD}[axes]\n\"source.energy_kev\" = [100.0]\n[latin_hypercube]\nsamples = 2\nranges = {{ \"source.energy_kev\" = [1.0, 2.0] }}\n"),
                &["source.energy_kev", "[axes]"],
            ),
            (
                format!("{HEAD}[[variant]]\nname = \"v\"\nset = {{ \"source.energy_kev\" = 3.0 }}\n[latin_hypercube]\nsamples = 2\nranges = {{ \"source.energy_kev\" = [1.0, 2.0] }}\n"),
                &["source.energy_kev", "variant"],
            ),
            (
                format!("{HEAD}[[variant]]\nname = \"v\"\n[[variant]]\nname = \"v\"\n"),
                &["duplicate", "\"v\""],
            ),
            (format!("{HEAD}[[variant]]\nname = \"v\"\ncolour = 1\n"), &["colour"]),
            (
                format!("{HEAD}[latin_hypercube]\nsamples = 0\nranges = {{ \"source.energy_kev\" = [1.0, 2.0] }}\n"),
                &["samples"],
            ),
            (
                format!("{HEAD}[latin_hypercube]\nsamples = 2\nranges = {{ \"source.energy_kev\" = [2.0, 2.0] }}\n"),
                &["source.energy_kev", "min < max"],
            ),
            (
                format!("{HEAD}[latin_hypercube]\nsamples = 2\nranges = {{ \"source.energy_kev\" = [1.0, nan] }}\n"),
                &["source.energy_kev", "finite"],
            ),
            (
                format!("{HEAD}[latin_hypercube]\nsamples = 2\nranges = {{ \"source.energy_kev\" = [1.0] }}\n"),
                &["source.energy_kev", "[min, max]"],
            ),
            (
                format!("{HEAD}[latin_hypercube]\nsamples = 2\nseed = 1\nranges = {{ \"source.energy_kev\" = [1.0, 2.0] }}\nextra = 1\n"),
                &["extra"],
            ),
            (
                "[campaign]\nname = \"t\"\nbase = \"missing.toml\"\noutput_dir = \"o\"\n".into(),
                &["base = \"missing.toml\"", "cannot read"],
            ),
            (
                "[campaign]\nname = \"t\"\nbase = \"campaign.toml\"\noutput_dir = \"o\"\n".into(),
                &["base = \"campaign.toml\"", "unknown field `campaign`"],
            ),
            (
                format!("{HEAD}[axes]\n\"phantom.radius_mmm\" = [1.0]\n"),
                &["run-00000", "phantom.radius_mmm"],
            ),
            (
                format!("{HEAD}[axes]\n\"run.seed\" = [1, 2]\n\"phantom.radius_mm\" = [1.0, \"big\"]\n"),
                &["run-00002", "phantom.radius_mm"],
            ),
            (
                format!("{HEAD}[[variant]]\nname = \"v\"\nset = {{ \"physics.rayleigh\" = 1 }}\n"),
                &["run-00000", "physics.rayleigh"],
            ),
            (
                format!(
                    "{HEAD}[axes]\n\"run.seed\" = [{}]\n[latin_hypercube]\nsamples = 1000\nranges = {{ \"source.energy_kev\" = [1.0, 2.0] }}\n",
                    (0..1001).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
                ),
                &["1001000 runs", "1000000"],
            ),
        ];
        for (body, needles) in &cases {
            let msg = load_err(&s, body);
            for n in *needles {
                assert!(
                    msg.contains(n),
                    "error for\n{body}\nshould mention {n:?}: {msg}"
                );
            }
        }
    }
}
