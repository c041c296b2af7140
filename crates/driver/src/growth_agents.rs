//! Agent-based tumour-growth runs (`pedisim grow` with `[model] kind = "agents"`): the
//! configuration, its validation into an [`AgentsPlan`], the run, and the HDF5 result
//! (growth layout 1.0 with the agent-model groups, `docs/formats.md` §11).
//!
//! The model (`pedisim_growth::agents`) lives in its own box of `domain_edge_um` in
//! micrometres; the configuration places the box's centre at a point of a phantom (world
//! frame, mm), with the box's axes along the world axes, so that external-beam fractions
//! from a dose file of `pedisim run` on that phantom reach every cell with the dose of the
//! phantom voxel holding its centre, and a radiopharmaceutical's decaying dose rate
//! (`[treatment.radiopharmaceutical]`, a dose-per-decay map of `pedisim run` times the
//! decays to completion, as for the continuum model) irradiates every cell at the total
//! dose of the phantom voxel holding its centre.

use crate::config::{load_toml, MaterialSpecSer, PhantomSection};
use crate::growth::{
    err, positive, provenance_attrs, treatment_courses, worker_pool, write_result, Attrs,
    GrowthOutputSection, GrowthRunSection, ModelSection, TreatmentSection, GROWTH_FORMAT_NAME,
    GROWTH_FORMAT_VERSION,
};
use crate::plan::build_phantom;
use crate::DriverError;
use pedisim_core::{GridGeometry, Vec3};
use pedisim_growth::agents::{
    AgentModel, AgentParams, CellState, DoseRateCourse, DoseRateTally, OxygenScheme,
    RadiationDeath, Snapshot, TrajectoryRow,
};
use pedisim_growth::continuum::{Course, LqParams};
use pedisim_io::h5::{
    AttrValue, Column, ColumnValues, TableFile, TableGroup, Volume, VolumeValues,
};
use pedisim_physics::material::MaterialDb;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// An agent-based growth configuration (`docs/config.md`, "Tumour growth: agent-based").
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsConfig {
    /// `[run]`: seed and threads.
    #[serde(default)]
    pub run: GrowthRunSection,
    /// `[model]`: `kind = "agents"`.
    pub model: ModelSection,
    /// `[phantom]`: where the tumour sits, as in a dose run.
    pub phantom: PhantomSection,
    /// `[materials.NAME]`: materials added to the built-in ones (for the phantom).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub materials: BTreeMap<String, MaterialSpecSer>,
    /// `[agents]`: the model.
    pub agents: AgentsSection,
    /// `[treatment]`: optional external-beam fractions and a radiopharmaceutical course.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treatment: Option<TreatmentSection>,
    /// `[output]`.
    #[serde(default)]
    pub output: GrowthOutputSection,
}

/// `[agents]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsSection {
    /// Simulated time (days).
    pub end_day: f64,
    /// Times of the cell snapshots (days); default `[0, end_day]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_days: Option<Vec<f64>>,
    /// World position (mm) of the centre of the model's box in the phantom.
    pub centre_mm: [f64; 3],
    /// Model parameters that differ from the defaults, by name (the fields of
    /// `pedisim_growth::agents::AgentParams`, units in their names).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, toml::Value>,
}

/// A validated agent-based run.
pub struct AgentsPlan {
    /// The configuration after overrides (written into the result).
    pub config: AgentsConfig,
    /// The configuration file.
    pub config_path: PathBuf,
    /// The model parameters.
    pub params: AgentParams,
    /// The phantom grid (for the dose lookup).
    pub grid: GridGeometry,
    /// External-beam fractions: times (min) and the dose of one fraction per phantom voxel.
    pub fractions: Option<(Vec<f64>, Vec<f64>, f64, f64)>,
    /// A radiopharmaceutical course (`[treatment.radiopharmaceutical]`).
    pub dose_rate: Option<AgentsDoseRate>,
    /// Facts about the treatment recorded in the result.
    pub treatment_attrs: Attrs,
    /// Snapshot times (min), increasing.
    pub snapshot_min: Vec<f64>,
    /// End time (min).
    pub end_min: f64,
    /// HDF5 output.
    pub output: PathBuf,
    /// Optional CSV output.
    pub csv: Option<PathBuf>,
}

/// A radiopharmaceutical course of an agent-based run: an exponentially decaying dose
/// rate from the administration, whose dose to completion is given per phantom voxel.
#[derive(Clone, Debug)]
pub struct AgentsDoseRate {
    /// Administration, in model time \[min\] from the start of the run.
    pub start_min: f64,
    /// Absorbed dose delivered to completion in each phantom voxel \[Gy\] (dose per decay
    /// of the dose file times the decays to completion).
    pub total_dose_gy: Vec<f64>,
    /// Effective decay rate `lambda = ln 2 / T_eff` \[1/day\].
    pub decay_per_day: f64,
    /// LQ parameters with the repair rate of sublethal damage.
    pub lq: LqParams,
}

/// The numeric parameters by name, for overrides and for the result's attributes.
fn numeric_fields(p: &mut AgentParams) -> Vec<(&'static str, &mut f64)> {
    vec![
        ("domain_edge_um", &mut p.domain_edge_um),
        ("oxygen_voxel_um", &mut p.oxygen_voxel_um),
        ("dt_diffusion_min", &mut p.dt_diffusion_min),
        ("dt_mechanics_min", &mut p.dt_mechanics_min),
        ("dt_phenotype_min", &mut p.dt_phenotype_min),
        ("output_interval_min", &mut p.output_interval_min),
        ("cell_volume_um3", &mut p.cell_volume_um3),
        (
            "volume_growth_rate_per_min",
            &mut p.volume_growth_rate_per_min,
        ),
        ("cycle_rate_per_min", &mut p.cycle_rate_per_min),
        (
            "o2_proliferation_threshold_mmhg",
            &mut p.o2_proliferation_threshold_mmhg,
        ),
        (
            "o2_proliferation_saturation_mmhg",
            &mut p.o2_proliferation_saturation_mmhg,
        ),
        (
            "o2_hypoxic_threshold_mmhg",
            &mut p.o2_hypoxic_threshold_mmhg,
        ),
        ("apoptosis_rate_per_min", &mut p.apoptosis_rate_per_min),
        ("apoptosis_duration_min", &mut p.apoptosis_duration_min),
        (
            "apoptotic_shrink_rate_per_min",
            &mut p.apoptotic_shrink_rate_per_min,
        ),
        (
            "o2_necrosis_threshold_mmhg",
            &mut p.o2_necrosis_threshold_mmhg,
        ),
        ("o2_necrosis_max_mmhg", &mut p.o2_necrosis_max_mmhg),
        (
            "necrosis_max_rate_per_min",
            &mut p.necrosis_max_rate_per_min,
        ),
        (
            "necrotic_swelling_rate_per_min",
            &mut p.necrotic_swelling_rate_per_min,
        ),
        ("relative_rupture_volume", &mut p.relative_rupture_volume),
        ("repulsion_um_per_min", &mut p.repulsion_um_per_min),
        ("adhesion_um_per_min", &mut p.adhesion_um_per_min),
        (
            "relative_adhesion_distance",
            &mut p.relative_adhesion_distance,
        ),
        (
            "oxygen_diffusion_um2_per_min",
            &mut p.oxygen_diffusion_um2_per_min,
        ),
        ("oxygen_decay_per_min", &mut p.oxygen_decay_per_min),
        ("oxygen_uptake_per_min", &mut p.oxygen_uptake_per_min),
        ("oxygen_far_field_mmhg", &mut p.oxygen_far_field_mmhg),
    ]
}

/// The model parameters: the defaults with the configuration's overrides.
fn agent_params(
    f: &Path,
    table: &BTreeMap<String, toml::Value>,
) -> Result<AgentParams, DriverError> {
    let mut p = AgentParams::default();
    for (key, value) in table {
        let here = format!("[agents.parameters] {key}");
        match key.as_str() {
            "initial_cells" => {
                p.initial_cells = value.as_integer().filter(|n| *n >= 1).ok_or_else(|| {
                    err(
                        f,
                        format!("{here} = {value}: expected a number of cells >= 1"),
                    )
                })? as usize
            }
            "oxygen_scheme" => {
                p.oxygen_scheme = match value.as_str() {
                    Some("quasi-steady") => OxygenScheme::QuasiSteady,
                    Some("lod") => OxygenScheme::Lod,
                    _ => {
                        return Err(err(
                            f,
                            format!("{here} = {value}: expected \"quasi-steady\" or \"lod\""),
                        ))
                    }
                }
            }
            "radiation_death" => {
                p.radiation_death = match value.as_str() {
                    Some("mitotic-catastrophe") => RadiationDeath::MitoticCatastrophe,
                    Some("apoptosis") => RadiationDeath::Apoptosis,
                    _ => {
                        return Err(err(
                            f,
                            format!(
                            "{here} = {value}: expected \"mitotic-catastrophe\" or \"apoptosis\""
                        ),
                        ))
                    }
                }
            }
            _ => {
                let mut fields = numeric_fields(&mut p);
                let known: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                let slot = fields.iter_mut().find(|(n, _)| *n == key.as_str()).ok_or_else(|| {
                    err(
                        f,
                        format!(
                            "{here}: unknown parameter; expected one of initial_cells, oxygen_scheme, radiation_death, {}",
                            known.join(", ")
                        ),
                    )
                })?;
                *slot.1 = value
                    .as_float()
                    .or_else(|| value.as_integer().map(|i| i as f64))
                    .ok_or_else(|| err(f, format!("{here} = {value}: expected a number")))?;
            }
        }
    }
    p.validate()
        .map_err(|e| err(f, format!("[agents.parameters] {e}")))?;
    // Forward-Euler stability of the mechanics: dt k < 2 with k the stiffest relaxation
    // rate, a pair of newborn daughters (overlap 1 - d/R = 0.74 of the sum R of their
    // radii): k = 4 repulsion 0.74 / R (AgentParams::dt_mechanics_min).
    let r_daughter = (3.0 * p.cell_volume_um3 / (8.0 * std::f64::consts::PI)).cbrt();
    let k = 4.0 * p.repulsion_um_per_min * 0.74 / (2.0 * r_daughter);
    if p.dt_mechanics_min * k >= 2.0 {
        return Err(err(
            f,
            format!(
                "[agents.parameters] dt_mechanics_min = {}: forward Euler is unstable for newborn daughter cells at this repulsion and cell volume; expected a step below {:.3} min",
                p.dt_mechanics_min,
                2.0 / k
            ),
        ));
    }
    Ok(p)
}

/// Loads and validates an agent-based growth configuration (`--threads`, `--seed`,
/// `--output` overrides as for continuum runs).
pub fn agents_plan_from_file(
    path: &Path,
    ov: &crate::growth::GrowthOverrides,
) -> Result<AgentsPlan, DriverError> {
    let mut config: AgentsConfig = load_toml(path)?;
    ov.apply(&mut config.run, &mut config.output);
    agents_plan(config, path)
}

/// Validates an agent-based growth configuration into a plan. `config_path` is the file
/// it came from (or, in a campaign, the base configuration): errors name it, and relative
/// input paths (the treatment's dose files) resolve against its directory.
pub fn agents_plan(config: AgentsConfig, config_path: &Path) -> Result<AgentsPlan, DriverError> {
    let path = config_path;
    let f = path;
    crate::growth::check_model_and_threads(f, &config.model.kind, "agents", config.run.threads)?;
    let a = &config.agents;
    let params = agent_params(f, &a.parameters)?;
    let end_day = positive(f, "[agents] end_day", a.end_day, "a simulated time in days")?;
    let end_min = end_day * 1440.0;
    let snapshot_days = a
        .snapshot_days
        .clone()
        .unwrap_or_else(|| vec![0.0, end_day]);
    if snapshot_days
        .iter()
        .any(|t| !(t.is_finite() && *t >= 0.0 && *t <= end_day))
        || snapshot_days.windows(2).any(|w| w[1] <= w[0])
    {
        return Err(err(
            f,
            format!("[agents] snapshot_days = {snapshot_days:?}: expected increasing times from 0 to end_day = {end_day}"),
        ));
    }
    if a.centre_mm.iter().any(|v| !v.is_finite()) {
        return Err(err(
            f,
            format!(
                "[agents] centre_mm = {:?}: expected finite coordinates",
                a.centre_mm
            ),
        ));
    }
    let mut db = MaterialDb::builtin().map_err(|e| err(f, e.to_string()))?;
    for (name, spec) in &config.materials {
        db.add(name, &spec.into())
            .map_err(|e| err(f, format!("[materials.{name}]: {e}")))?;
    }
    let phantom = build_phantom(&config.phantom, f, &mut db)?;
    let g = phantom
        .grid
        .world_to_grid(Vec3::new(a.centre_mm[0], a.centre_mm[1], a.centre_mm[2]));
    if phantom.grid.voxel_of_grid_point(g).is_none() {
        return Err(err(
            f,
            format!(
                "[agents] centre_mm = {:?} is outside the phantom's grid",
                a.centre_mm
            ),
        ));
    }
    let mut dose_rate = None;
    let (fractions, treatment_attrs) = match &config.treatment {
        None => (
            None,
            vec![("treatment".into(), AttrValue::Str("none".into()))],
        ),
        Some(t) => {
            let (courses, attrs) = treatment_courses(f, t, &phantom, 1)?;
            let mut fr = None;
            for c in courses {
                if let Course::DecayingDoseRate {
                    start_day,
                    total_dose_gy,
                    decay_per_day,
                    lq,
                } = c
                {
                    if start_day >= end_day {
                        return Err(err(
                            f,
                            format!("[treatment.radiopharmaceutical] start_day = {start_day}: expected an administration before end_day = {end_day}"),
                        ));
                    }
                    dose_rate = Some(AgentsDoseRate {
                        start_min: start_day * 1440.0,
                        total_dose_gy,
                        decay_per_day,
                        lq,
                    });
                } else if let Course::Fractions {
                    times_day,
                    dose_gy,
                    lq,
                } = c
                {
                    let times_min: Vec<f64> = times_day.iter().map(|d| d * 1440.0).collect();
                    if let Some(last) = times_min.last().filter(|t| **t > end_min) {
                        return Err(err(
                            f,
                            format!("[treatment.external]: a fraction at day {} is after end_day = {end_day}", last / 1440.0),
                        ));
                    }
                    fr = Some((times_min, dose_gy, lq.alpha_per_gy, lq.beta_per_gy2));
                }
            }
            (fr, attrs)
        }
    };
    let output = config.output.path.clone();
    let csv = config.output.csv.clone();
    Ok(AgentsPlan {
        params,
        grid: phantom.grid,
        fractions,
        dose_rate,
        treatment_attrs,
        snapshot_min: snapshot_days.iter().map(|d| d * 1440.0).collect(),
        end_min,
        output,
        csv,
        config_path: path.to_path_buf(),
        config,
    })
}

/// What a finished agent-based run reports.
#[derive(Clone, Debug)]
pub struct AgentsOutcome {
    /// The HDF5 file written.
    pub output: PathBuf,
    /// The trajectory.
    pub trajectory: Vec<TrajectoryRow>,
    /// Wall time (s).
    pub wall_seconds: f64,
    /// Cell-steps per second (cells x mechanics steps / wall time).
    pub cell_steps_per_second: f64,
    /// Threads used.
    pub threads: usize,
}

/// Runs a validated agent-based plan on `threads` workers, calling `progress(t_day,
/// end_day)` at every trajectory row, and writes the results atomically. Setting `cancel`
/// stops at the next row; nothing is written then.
pub fn run_agents(
    plan: &AgentsPlan,
    progress: &mut dyn FnMut(f64, f64),
    cancel: &AtomicBool,
) -> Result<AgentsOutcome, DriverError> {
    let (pool, threads) = worker_pool(plan.config.run.threads)?;
    let f = &plan.config_path;
    let edge_um = plan.params.domain_edge_um;
    let centre_mm = plan.config.agents.centre_mm;
    let mut model = AgentModel::new(plan.params.clone(), plan.config.run.seed)
        .map_err(|e| err(f, format!("[agents] {e}")))?;
    // Events: snapshots and fractions, in time order (a fraction before a snapshot at the
    // same time).
    let mut events: Vec<(f64, u8, usize)> = plan
        .snapshot_min
        .iter()
        .enumerate()
        .map(|(k, t)| (*t, 1, k))
        .collect();
    if let Some((times, ..)) = &plan.fractions {
        events.extend(times.iter().enumerate().map(|(k, t)| (*t, 0, k)));
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    events.push((plan.end_min, 2, 0));
    let mut trajectory = vec![model.trajectory_row()];
    // The radiopharmaceutical: each cell's total dose from the phantom voxel holding its
    // centre; a row of its record with every trajectory row.
    let grid = &plan.grid;
    let voxel_of = |p: [f64; 3]| -> Option<usize> {
        let w = [0, 1, 2].map(|a| centre_mm[a] + (p[a] - 0.5 * edge_um) * 1e-3);
        grid.voxel_of_grid_point(grid.world_to_grid(Vec3::new(w[0], w[1], w[2])))
    };
    let rpt_dose_at = |p: [f64; 3]| -> f64 {
        plan.dose_rate
            .as_ref()
            .and_then(|r| voxel_of(p).map(|i| r.total_dose_gy[i]))
            .unwrap_or(0.0)
    };
    let course = plan.dose_rate.as_ref().map(|r| DoseRateCourse {
        start_min: r.start_min,
        decay_per_day: r.decay_per_day,
        alpha_per_gy: r.lq.alpha_per_gy,
        beta_per_gy2: r.lq.beta_per_gy2,
        repair_per_day: r.lq.repair_per_day,
        total_dose_gy_at: &rpt_dose_at,
    });
    // The mean dose to completion over the live cells, each at the voxel now holding its
    // centre [Gy].
    let live_mean_total_dose = |m: &AgentModel| -> f64 {
        let (mut sum, mut live) = (0.0, 0usize);
        for (p, s) in m.positions_um().iter().zip(m.states()) {
            if *s == CellState::Live {
                sum += rpt_dose_at(*p);
                live += 1;
            }
        }
        if live > 0 {
            sum / live as f64
        } else {
            0.0
        }
    };
    let mut tally = DoseRateTally::default();
    let mut rpt_rows: Vec<(f64, u64, f64)> = vec![(0.0, 0, live_mean_total_dose(&model))];
    let mut snapshots: Vec<Snapshot> = Vec::new();
    let mut fraction_log: Vec<(f64, u64, u64)> = Vec::new();
    let start = Instant::now();
    let mut cell_steps = 0.0;
    let end_day = plan.end_min / 1440.0;
    for (t, kind, k) in events {
        if cancel.load(Ordering::Relaxed) {
            return Err(DriverError::Transport(
                pedisim_transport::TransportError::Cancelled,
            ));
        }
        // Advance in chunks of the output interval, reporting progress between them.
        let chunk = plan.params.output_interval_min;
        while model.time_min() < t - 0.5 * plan.params.dt_mechanics_min {
            let target = (model.time_min() + chunk).min(t);
            pool.install(|| {
                model.run_until_with_dose_rate(
                    target,
                    course.as_ref(),
                    &mut tally,
                    &mut |m, tally| {
                        trajectory.push(m.trajectory_row());
                        rpt_rows.push((m.time_min(), tally.killed, live_mean_total_dose(m)));
                        cell_steps += m.cell_count() as f64 * m.params().output_interval_min
                            / m.params().dt_mechanics_min;
                    },
                )
            })
            .map_err(|e| err(f, format!("[treatment.radiopharmaceutical] {e}")))?;
            progress(model.time_min() / 1440.0, end_day);
            if cancel.load(Ordering::Relaxed) {
                return Err(DriverError::Transport(
                    pedisim_transport::TransportError::Cancelled,
                ));
            }
        }
        match kind {
            0 => {
                let (_, dose, alpha, beta) = plan.fractions.as_ref().expect("fractions");
                let dose_at = |p: [f64; 3]| -> f64 { voxel_of(p).map_or(0.0, |i| dose[i]) };
                let out = pool.install(|| model.apply_fraction(&dose_at, *alpha, *beta));
                fraction_log.push((model.time_min(), out.exposed as u64, out.killed as u64));
                let _ = k;
            }
            1 => snapshots.push(model.snapshot()),
            _ => {}
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let rate = if wall > 0.0 { cell_steps / wall } else { 0.0 };
    // The radiopharmaceutical's record at the box centre: dose delivered and expected
    // cumulative log kill of a cell that stays there, with the cells killed so far.
    let rpt = course.as_ref().map(|c| {
        let d = rpt_dose_at([0.5 * edge_um; 3]);
        RptRecord {
            centre_total_dose_gy: d,
            rows: rpt_rows
                .iter()
                .map(|&(t, killed, live_total)| {
                    (
                        t,
                        c.dose_delivered_gy(d, t),
                        c.log_kill(d, t),
                        killed,
                        c.dose_delivered_gy(live_total, t),
                    )
                })
                .collect(),
        }
    });
    write_agents(
        plan,
        &trajectory,
        &snapshots,
        &fraction_log,
        rpt.as_ref(),
        wall,
        rate,
        threads,
    )?;
    Ok(AgentsOutcome {
        output: plan.output.clone(),
        trajectory,
        wall_seconds: wall,
        cell_steps_per_second: rate,
        threads,
    })
}

fn state_code(s: CellState) -> u64 {
    match s {
        CellState::Live => 0,
        CellState::Apoptotic => 1,
        CellState::Necrotic => 2,
    }
}

/// What an agent-based run records of its radiopharmaceutical course.
struct RptRecord {
    /// Dose to completion at the box centre \[Gy\].
    centre_total_dose_gy: f64,
    /// With every trajectory row: time \[min\], dose delivered at the box centre \[Gy\],
    /// cumulative log kill there, cells killed by the dose rate so far, and the mean over
    /// the live cells of the dose delivered at their current voxels \[Gy\].
    rows: Vec<(f64, f64, f64, u64, f64)>,
}

#[allow(clippy::too_many_arguments)]
fn write_agents(
    plan: &AgentsPlan,
    rows: &[TrajectoryRow],
    snapshots: &[Snapshot],
    fractions: &[(f64, u64, u64)],
    rpt: Option<&RptRecord>,
    wall: f64,
    rate: f64,
    threads: usize,
) -> Result<(), DriverError> {
    let mut params = plan.params.clone();
    let mut attrs = provenance_attrs(
        "agents (off-lattice cells, oxygen field)",
        plan.config.run.seed,
        threads,
        &plan.config_path,
        &plan.config,
        wall,
    )?;
    attrs.extend::<Attrs>(vec![
        ("cell_steps_per_second".into(), rate.into()),
        ("end_day".into(), (plan.end_min / 1440.0).into()),
        ("box_centre_mm".into(), plan.config.agents.centre_mm.into()),
        ("initial_cells".into(), (params.initial_cells as u64).into()),
        (
            "oxygen_scheme".into(),
            format!("{:?}", params.oxygen_scheme).into(),
        ),
        (
            "radiation_death".into(),
            format!("{:?}", params.radiation_death).into(),
        ),
    ]);
    for (name, v) in numeric_fields(&mut params) {
        attrs.push((name.to_string(), (*v).into()));
    }
    attrs.extend(plan.treatment_attrs.iter().cloned());
    let col = |f: fn(&TrajectoryRow) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    let ucol = |f: fn(&TrajectoryRow) -> u64| rows.iter().map(f).collect::<Vec<u64>>();
    let (t, live, apo, nec, events) = (
        col(|r| r.time_min / 1440.0),
        ucol(|r| r.live as u64),
        ucol(|r| r.apoptotic as u64),
        ucol(|r| r.necrotic as u64),
        ucol(|r| r.necrosis_events),
    );
    let (radius, max_radius, hypoxic) = (
        col(|r| r.radius_um),
        col(|r| r.max_radius_um),
        col(|r| r.hypoxic_fraction),
    );
    // Cells of all snapshots, concatenated; each snapshot's first row and count.
    let mut first = Vec::new();
    let mut count = Vec::new();
    let (mut id, mut x, mut y, mut z, mut r, mut state, mut doomed) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for s in snapshots {
        first.push(id.len() as u64);
        count.push(s.ids.len() as u64);
        id.extend_from_slice(&s.ids);
        x.extend(s.positions_um.iter().map(|p| p[0]));
        y.extend(s.positions_um.iter().map(|p| p[1]));
        z.extend(s.positions_um.iter().map(|p| p[2]));
        r.extend_from_slice(&s.radii_um);
        state.extend(s.states.iter().map(|s| state_code(*s)));
        doomed.extend(s.doomed.iter().map(|d| u64::from(*d)));
    }
    let snap_t: Vec<f64> = snapshots.iter().map(|s| s.time_min / 1440.0).collect();
    let slice_dims = snapshots.first().map_or([0, 0], |s| s.oxygen.dims);
    let mut oxygen: Vec<f32> = Vec::new();
    for s in snapshots {
        oxygen.extend(s.oxygen.values_mmhg.iter().map(|v| *v as f32));
    }
    let spacing = snapshots.first().map_or(0.0, |s| s.oxygen.spacing_um);
    attrs.push(("oxygen_slice_spacing_um".into(), spacing.into()));
    if let Some(s) = snapshots.first() {
        attrs.push(("oxygen_slice_origin_um".into(), s.oxygen.origin_um.into()));
    }
    let (ft, fe, fk): (Vec<f64>, Vec<u64>, Vec<u64>) = (
        fractions.iter().map(|f| f.0 / 1440.0).collect(),
        fractions.iter().map(|f| f.1).collect(),
        fractions.iter().map(|f| f.2).collect(),
    );
    let mut groups = vec![
        TableGroup {
            name: "trajectory",
            description: "whole-tumour observables at each output time",
            columns: vec![
                Column { name: "time_day", values: ColumnValues::F64(&t), units: "day", description: "time from the start" },
                Column { name: "live_cells", values: ColumnValues::U64(&live), units: "cells", description: "live cells" },
                Column { name: "apoptotic_cells", values: ColumnValues::U64(&apo), units: "cells", description: "apoptotic cells (not yet removed)" },
                Column { name: "necrotic_cells", values: ColumnValues::U64(&nec), units: "cells", description: "necrotic cells (not yet lysed)" },
                Column { name: "necrosis_events", values: ColumnValues::U64(&events), units: "cells", description: "cells that have become necrotic since the start (cumulative)" },
                Column { name: "radius_um", values: ColumnValues::F64(&radius), units: "um", description: "tumour radius sqrt(5/3) R_g over all cell centres" },
                Column { name: "max_radius_um", values: ColumnValues::F64(&max_radius), units: "um", description: "largest distance of a cell centre from the centroid" },
                Column { name: "hypoxic_fraction", values: ColumnValues::F64(&hypoxic), units: "1", description: "fraction of live cells below the hypoxic oxygen threshold" },
            ],
        },
        TableGroup {
            name: "snapshots",
            description: "cell snapshots: rows first_cell .. first_cell + cell_count of /cells; oxygen slices through the box centre",
            columns: vec![
                Column { name: "time_day", values: ColumnValues::F64(&snap_t), units: "day", description: "time of each snapshot" },
                Column { name: "first_cell", values: ColumnValues::U64(&first), units: "1", description: "first row of the snapshot in /cells" },
                Column { name: "cell_count", values: ColumnValues::U64(&count), units: "cells", description: "cells in the snapshot" },
            ],
        },
        TableGroup {
            name: "cells",
            description: "the cells of all snapshots, concatenated (model frame: the box [0, L]^3, um)",
            columns: vec![
                Column { name: "id", values: ColumnValues::U64(&id), units: "1", description: "unique cell id" },
                Column { name: "x_um", values: ColumnValues::F64(&x), units: "um", description: "centre, x" },
                Column { name: "y_um", values: ColumnValues::F64(&y), units: "um", description: "centre, y" },
                Column { name: "z_um", values: ColumnValues::F64(&z), units: "um", description: "centre, z" },
                Column { name: "radius_um", values: ColumnValues::F64(&r), units: "um", description: "radius" },
                Column { name: "state", values: ColumnValues::U64(&state), units: "1", description: "0 live, 1 apoptotic, 2 necrotic" },
                Column { name: "doomed", values: ColumnValues::U64(&doomed), units: "1", description: "1: lethally irradiated, dies at its next division attempt" },
            ],
        },
    ];
    if !fractions.is_empty() {
        groups.push(TableGroup {
            name: "fractions",
            description: "external-beam fractions delivered",
            columns: vec![
                Column {
                    name: "time_day",
                    values: ColumnValues::F64(&ft),
                    units: "day",
                    description: "time of the fraction",
                },
                Column {
                    name: "exposed_cells",
                    values: ColumnValues::U64(&fe),
                    units: "cells",
                    description: "live cells not yet doomed at the fraction",
                },
                Column {
                    name: "killed_cells",
                    values: ColumnValues::U64(&fk),
                    units: "cells",
                    description: "cells lethally hit (LQ)",
                },
            ],
        });
    }
    let (rt, rd, rl, rk): (Vec<f64>, Vec<f64>, Vec<f64>, Vec<u64>) = match rpt {
        Some(r) => (
            r.rows.iter().map(|x| x.0 / 1440.0).collect(),
            r.rows.iter().map(|x| x.1).collect(),
            r.rows.iter().map(|x| x.2).collect(),
            r.rows.iter().map(|x| x.3).collect(),
        ),
        None => Default::default(),
    };
    let rm: Vec<f64> = rpt.map_or_else(Vec::new, |r| r.rows.iter().map(|x| x.4).collect());
    if let Some(r) = rpt {
        attrs.push((
            "radiopharmaceutical_centre_total_dose_gy".into(),
            r.centre_total_dose_gy.into(),
        ));
        groups.push(TableGroup {
            name: "radiopharmaceutical",
            description: "the radiopharmaceutical's decaying dose rate, with every trajectory row",
            columns: vec![
                Column {
                    name: "time_day",
                    values: ColumnValues::F64(&rt),
                    units: "day",
                    description: "time from the start (as /trajectory/time_day)",
                },
                Column {
                    name: "centre_dose_gy",
                    values: ColumnValues::F64(&rd),
                    units: "Gy",
                    description: "dose delivered since the administration at the box centre",
                },
                Column {
                    name: "centre_log_kill",
                    values: ColumnValues::F64(&rl),
                    units: "1",
                    description: "cumulative LQ log kill -ln S with repair at the box centre since the administration",
                },
                Column {
                    name: "live_mean_dose_gy",
                    values: ColumnValues::F64(&rm),
                    units: "Gy",
                    description: "mean over the live cells of the dose delivered since the administration at the voxels now holding their centres",
                },
                Column {
                    name: "killed_cells",
                    values: ColumnValues::U64(&rk),
                    units: "cells",
                    description: "cells lethally hit by the decaying dose rate since the start (cumulative)",
                },
            ],
        });
    }
    let volumes = if snapshots.is_empty() || slice_dims[0] * slice_dims[1] == 0 {
        vec![]
    } else {
        vec![Volume {
            group: "snapshots",
            name: "oxygen_mmhg",
            shape: vec![snapshots.len(), slice_dims[1], slice_dims[0]],
            values: VolumeValues::F32(&oxygen),
            units: "mmHg",
            description:
                "oxygen partial pressure in the plane z = L/2 at each snapshot: [snapshot, y, x]",
        }]
    };
    let file = TableFile {
        format_name: GROWTH_FORMAT_NAME,
        format_version: ("growth_format_version", GROWTH_FORMAT_VERSION),
        root_attrs: &attrs,
        groups,
        matrices: vec![],
        volumes,
    };
    write_result(&plan.output, plan.csv.as_deref(), &file)?;
    Ok(())
}

/// `"agents"` when the growth configuration at `path` asks for the agent-based model
/// (`[model] kind`), else its kind (`"continuum"` by default when unreadable: the
/// continuum loader then reports the error).
pub fn model_kind(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| t.get("model")?.get("kind")?.as_str().map(str::to_string))
        .unwrap_or_else(|| "continuum".into())
}
