//! # pedisim-driver
//!
//! Runs a dose simulation from a configuration file: [`config`] parses the TOML,
//! [`plan`] validates it into a [`plan::Plan`] (phantom, source, physics settings), and
//! [`execute`] runs the transport kernel on a thread pool and writes the HDF5 (and
//! optionally NIfTI) results. It wires the library crates together; it holds no physics.
//!
//! ```no_run
//! use pedisim_driver::{plan::{plan_from_file, Overrides}, execute};
//! let plan = plan_from_file("configs/smoke.toml".as_ref(), &Overrides::default()).unwrap();
//! let cancel = std::sync::atomic::AtomicBool::new(false);
//! let outcome = execute(&plan, &mut |_done, _total| {}, &cancel).unwrap();
//! println!("wrote {}", outcome.output.display());
//! ```
#![deny(missing_docs)]

pub mod campaign;
pub mod campaign_spec;
pub mod checkpoint;
pub mod comm;
pub mod config;
pub mod growth;
pub mod growth_agents;
pub mod organ_dose;
pub mod phantom_formats;
pub mod phantoms;
pub mod plan;
pub mod report;
pub mod slurm;
pub mod smatrix;
pub mod svalues;

use pedisim_core::constants::JOULE_PER_MEV;
use pedisim_io::h5::{self, AttrValue, Column, ColumnValues, DoseOutput, OrganRow, TableGroup};
use pedisim_io::nifti_io;
use pedisim_phantom::Phantom;
use pedisim_physics::electron::ElectronTables;
use pedisim_physics::photon::PhotonTables;
use pedisim_transport::kernel::{Control, CounterSum, Counters, Simulation};
use pedisim_transport::model::VoxelModel;
use pedisim_transport::tally::{BatchStats, EnergyTally};
use plan::Plan;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Errors of a run, each naming the file and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// A configuration or input file is invalid.
    #[error("{}: {message}", file.display())]
    Config {
        /// The file at fault.
        file: PathBuf,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Writing results failed.
    #[error(transparent)]
    Io(#[from] pedisim_io::IoError),
    /// The transport kernel refused the run or it was cancelled.
    #[error(transparent)]
    Transport(#[from] pedisim_transport::TransportError),
    /// Physics tables could not be built.
    #[error(transparent)]
    Physics(#[from] pedisim_physics::PhysicsError),
    /// Anything else (thread pool, file system).
    #[error("{0}")]
    Other(String),
}

impl DriverError {
    /// True if the run was cancelled (Ctrl-C, SIGTERM) rather than failed.
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self,
            DriverError::Transport(pedisim_transport::TransportError::Cancelled)
        )
    }
}

/// What a finished run reports.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    /// The HDF5 file written.
    pub output: PathBuf,
    /// Histories run.
    pub histories: u64,
    /// Threads used.
    pub threads: usize,
    /// Wall time of the transport \[s\].
    pub wall_seconds: f64,
    /// Run counters.
    pub counters: Counters,
    /// Per-label results.
    pub organs: Vec<OrganRow>,
    /// Batches restored from a checkpoint of an earlier, interrupted attempt (0 if the
    /// run started from the beginning).
    pub resumed_batches: u64,
    /// Wall time of rank 0 in the reduction of the tallies over the ranks \[s\] (part of
    /// `wall_seconds`; 0 for one process).
    pub communication_seconds: f64,
}

/// Runs a validated plan in this process alone: [`execute_on`] with [`comm::SingleProcess`].
pub fn execute(
    plan: &Plan,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<RunOutcome, DriverError> {
    execute_on(plan, &comm::SingleProcess, progress, cancel)
}

/// Runs a validated plan on all ranks of `comm`, calling `progress(histories_done,
/// histories_total)` about four times a second from the calling thread, and writes the
/// results (rank 0 only). Output files are written to a temporary name and renamed into
/// place only when complete.
///
/// **History splitting.** Every batch is cut into chunks of histories (the kernel's work
/// unit) and rank r runs chunks `r K / R .. (r+1) K / R` of the K chunks; the per-voxel
/// integer tallies and the exact counter sums are then summed on rank 0, which folds the
/// batch into the statistics. Random streams belong to histories, integer sums do not
/// depend on their order, and batches are folded in order, so the datasets are
/// bit-identical for any number of ranks and threads. All communication happens on the
/// calling thread between batches.
///
/// Setting `cancel` (e.g. from a signal handler) on any rank stops the transport at the
/// next chunk of histories on that rank; all ranks then return
/// [`pedisim_transport::TransportError::Cancelled`] after the batch and nothing is written.
pub fn execute_on(
    plan: &Plan,
    comm: &dyn comm::Comm,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<RunOutcome, DriverError> {
    let tables = PhotonTables::with_options(&plan.materials, plan.rayleigh)?;
    let electrons = electron_tables(plan)?;
    let model = VoxelModel::new(&plan.phantom)?;
    let mut sim = Simulation::new(&model, &tables, &plan.source, plan.settings.clone());
    if let Some(e) = &electrons {
        sim = sim.with_electrons(e)?;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(plan.threads)
        .build()
        .map_err(|e| DriverError::Other(format!("cannot start {} threads: {e}", plan.threads)))?;
    let threads = pool.current_num_threads();
    let ph = &plan.phantom;
    // Organ statistics: group = position of the voxel's label in the label table.
    let group_of: Vec<u32> = ph
        .labels
        .iter()
        .map(|l| {
            ph.table
                .binary_search_by_key(l, |e| e.value)
                .expect("validated labels") as u32
        })
        .collect();
    let mut stats = BatchStats::new(ph.grid.len(), plan.histories_per_batch)
        .with_groups(group_of, ph.table.len());
    let control = Control::default();
    let total = plan.histories();
    let (rank, ranks) = (comm.rank() as u64, comm.size() as u64);
    let chunk = sim.chunk_histories();
    let n_chunks = plan.histories_per_batch.div_ceil(chunk);
    let lo = (rank * n_chunks / ranks * chunk).min(plan.histories_per_batch);
    let hi = ((rank + 1) * n_chunks / ranks * chunk).min(plan.histories_per_batch);
    let mut tally = EnergyTally::new(ph.grid.len());
    let mut run_counters = CounterSum::default();
    // Continue from a checkpoint of an interrupted attempt (rank 0 holds the statistics).
    let mut start = [if rank == 0 {
        checkpoint::restore(plan, &mut stats, &mut run_counters)
    } else {
        0
    }];
    comm.broadcast_from_root(&mut start);
    let start = start[0];
    let done_before = start * plan.histories_per_batch;
    let interval_s = plan.config.run.checkpoint_minutes * 60.0;
    let mut last_checkpoint = Instant::now();
    // On interruption rank 0 keeps the whole batches done so far. A checkpoint that
    // cannot be written costs only time (the run starts again), so its error is dropped.
    let interrupted = |stats: &BatchStats, counters: &CounterSum| -> DriverError {
        if rank == 0 && stats.batches > start {
            let _ = checkpoint::save(plan, stats, counters);
        }
        pedisim_transport::TransportError::Cancelled.into()
    };
    let t0 = Instant::now();
    // Time spent draining, reducing and gathering the tallies (several ranks only).
    let mut communication_seconds = 0.0;
    for b in start..plan.batches {
        let part = std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::channel();
            let (sim, tally, control, pool) = (&sim, &tally, &control, &pool);
            scope.spawn(move || {
                let r = pool.install(|| {
                    sim.run_batch_part(
                        plan.seed,
                        b,
                        plan.histories_per_batch,
                        lo..hi,
                        tally,
                        control,
                    )
                });
                let _ = tx.send(r);
            });
            loop {
                if cancel.load(Ordering::Relaxed) {
                    control.cancel.store(true, Ordering::Relaxed);
                }
                // Rank 0's own progress stands for all ranks (they run equal shares).
                progress(
                    (done_before + control.histories_done.load(Ordering::Relaxed) * ranks)
                        .min(total),
                    total,
                );
                match rx.recv_timeout(Duration::from_millis(250)) {
                    Ok(r) => break Ok(r),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                    Err(_) => break Err(()),
                }
            }
        })
        .map_err(|_| DriverError::Other("the transport thread panicked".into()))?;
        let (batch_counters, cancelled) = match part {
            Ok(c) => (c, false),
            Err(pedisim_transport::TransportError::Cancelled) => (CounterSum::default(), true),
            Err(e) => return Err(e.into()),
        };
        if ranks > 1 {
            let tc = Instant::now();
            let mut q = tally.drain_quanta();
            comm.reduce_sum_to_root(&mut q);
            let words = comm.gather_to_root(&batch_counters.to_words());
            let any_cancelled = comm.any(cancelled);
            communication_seconds += tc.elapsed().as_secs_f64();
            if any_cancelled {
                return Err(interrupted(&stats, &run_counters));
            }
            if let Some(words) = words {
                tally.set_quanta(&q);
                for w in words.chunks_exact(CounterSum::WORDS) {
                    run_counters.merge(&CounterSum::from_words(w.try_into().expect("13 words")));
                }
                stats.fold(&mut tally);
            }
        } else {
            if cancelled {
                return Err(interrupted(&stats, &run_counters));
            }
            run_counters.merge(&batch_counters);
            stats.fold(&mut tally);
        }
        if rank == 0
            && interval_s > 0.0
            && b + 1 < plan.batches
            && last_checkpoint.elapsed().as_secs_f64() >= interval_s
        {
            let _ = checkpoint::save(plan, &stats, &run_counters);
            last_checkpoint = Instant::now();
        }
    }
    let wall_seconds = t0.elapsed().as_secs_f64();
    progress(total, total);
    let counters = run_counters.to_counters();
    if rank != 0 {
        // Rank 0 holds the results and writes them.
        return Ok(RunOutcome {
            output: plan.output.clone(),
            histories: counters.histories,
            threads,
            wall_seconds,
            counters,
            organs: Vec::new(),
            resumed_batches: start,
            communication_seconds,
        });
    }

    // Per-voxel results per history.
    let energy = stats.mean_per_history_mev();
    let rel = stats.relative_uncertainty();
    let dose: Vec<f64> = energy
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let m = ph.voxel_mass_kg(i);
            if m > 0.0 {
                e * JOULE_PER_MEV / m
            } else {
                0.0
            }
        })
        .collect();
    let density: Vec<f64> = ph.density_g_cm3.iter().map(|d| *d as f64).collect();
    let masses = ph.label_masses_kg();
    let group_rel = stats.group_relative_uncertainty();
    let n = stats.histories() as f64;
    let organs: Vec<OrganRow> = ph
        .table
        .iter()
        .zip(&masses)
        .enumerate()
        .map(|(k, (e, (_, m)))| {
            let e_mev = stats.group_sum_mev[k] / n;
            OrganRow {
                label: e.value,
                name: e.name.clone(),
                material: e.material.clone(),
                mass_kg: *m,
                energy_deposit_mev: e_mev,
                dose_gy: if *m > 0.0 {
                    e_mev * JOULE_PER_MEV / m
                } else {
                    0.0
                },
                relative_uncertainty: group_rel[k],
            }
        })
        .collect();
    let c = &counters;
    let root_attrs: Vec<(String, AttrValue)> = vec![
        ("pedisim_version".into(), AttrValue::Str(pedisim_core::PEDISIM_VERSION.into())),
        ("seed".into(), AttrValue::U64(plan.seed)),
        ("histories".into(), AttrValue::U64(c.histories)),
        ("batches".into(), AttrValue::U64(plan.batches)),
        ("histories_per_batch".into(), AttrValue::U64(plan.histories_per_batch)),
        ("threads".into(), AttrValue::U64(threads as u64)),
        ("mpi_ranks".into(), AttrValue::U64(ranks)),
        ("mpi_library".into(), AttrValue::Str(comm.library())),
        ("wall_seconds".into(), AttrValue::F64(wall_seconds)),
        ("resumed_batches".into(), AttrValue::U64(start)),
        ("communication_seconds".into(), AttrValue::F64(communication_seconds)),
        ("normalisation".into(), AttrValue::Str("per history (one history = one decay for a nuclide source, one photon for a monoenergetic source)".into())),
        ("config_file".into(), AttrValue::Str(plan.config_path.display().to_string())),
        ("config_toml".into(), AttrValue::Str(plan.config.to_toml())),
    ];
    let mut summary_attrs: Vec<(String, AttrValue)> = vec![
        ("histories".into(), AttrValue::U64(c.histories)),
        ("emitted_energy_mev".into(), AttrValue::F64(c.emitted_mev)),
        (
            "deposited_energy_mev".into(),
            AttrValue::F64(c.deposited_mev),
        ),
        ("escaped_energy_mev".into(), AttrValue::F64(c.escaped_mev)),
        ("cutoff_energy_mev".into(), AttrValue::F64(c.cutoff_mev)),
        (
            "uncollided_escapes".into(),
            AttrValue::U64(c.uncollided_escapes),
        ),
        ("primary_photons".into(), AttrValue::U64(c.primary_photons)),
        ("woodcock_steps".into(), AttrValue::U64(c.woodcock_steps)),
        (
            "real_interactions".into(),
            AttrValue::U64(c.real_interactions),
        ),
        ("electron_steps".into(), AttrValue::U64(c.electron_steps)),
        (
            "electron_deposited_energy_mev".into(),
            AttrValue::F64(c.electron_deposited_mev),
        ),
        (
            "bremsstrahlung_escaped_energy_mev".into(),
            AttrValue::F64(c.brems_escaped_mev),
        ),
        (
            "histories_per_second".into(),
            AttrValue::F64((c.histories - done_before) as f64 / wall_seconds.max(1e-9)),
        ),
    ];
    if let Some(es) = &plan.electrons {
        // The electron physics settings, so that a dose database records them.
        summary_attrs.extend([
            ("electron_cutoff_mev".into(), AttrValue::F64(es.cutoff_mev)),
            (
                "electron_delta_threshold_mev".into(),
                AttrValue::F64(es.delta_threshold_mev),
            ),
            (
                "electron_brems_threshold_mev".into(),
                AttrValue::F64(es.brems_threshold_mev),
            ),
            ("electron_c1".into(), AttrValue::F64(es.c1_elastic)),
            ("electron_c2".into(), AttrValue::F64(es.c2_energy)),
        ]);
    }
    let dvh = dvh_tables(ph, &dose)?;
    let dvh_groups = dvh.groups();
    let out = DoseOutput {
        grid: &ph.grid,
        energy_deposit_mev: &energy,
        dose_gy: &dose,
        relative_uncertainty: &rel,
        labels: &ph.labels,
        density_g_cm3: &density,
        organs: &organs,
        root_attrs: &root_attrs,
        summary_attrs: &summary_attrs,
        tables: &dvh_groups,
    };
    // The HDF5 file comes last: its presence marks a complete run (campaign resume).
    if let Some(p) = &plan.dose_nifti {
        create_parent(p)?;
        nifti_io::write_f32(p, &ph.grid, &dose, "pedisim dose_gy per history")?;
    }
    if let Some(p) = &plan.dvh_csv {
        create_parent(p)?;
        write_text_atomic(p, &dvh.csv())?;
    }
    create_parent(&plan.output)?;
    h5::write_dose(&plan.output, &out)?;
    checkpoint::remove(plan);
    Ok(RunOutcome {
        output: plan.output.clone(),
        histories: c.histories,
        threads,
        wall_seconds,
        counters: c.clone(),
        organs,
        resumed_batches: start,
        communication_seconds,
    })
}

/// Writes a text file atomically: a temporary file in the same directory, synced and
/// renamed into place; on error the temporary file is removed and an existing file is
/// untouched. Errors name the file.
pub fn write_text_atomic(path: &std::path::Path, text: &str) -> Result<(), DriverError> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        DriverError::Config {
            file: path.to_path_buf(),
            message: format!("cannot write the file: {e}"),
        }
    })
}

fn create_parent(p: &std::path::Path) -> Result<(), DriverError> {
    if let Some(d) = p.parent() {
        if !d.as_os_str().is_empty() {
            std::fs::create_dir_all(d).map_err(|e| {
                DriverError::Other(format!("cannot create directory {}: {e}", d.display()))
            })?;
        }
    }
    Ok(())
}

/// Measured cost of a run, from a short pilot in this process (see [`pilot_cost`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunCost {
    /// Set-up time: phantom, cross-section tables, source \[s\] (one core).
    pub setup_seconds: f64,
    /// Transport time per history on one core \[s\].
    pub seconds_per_history: f64,
    /// Histories the run will transport.
    pub histories: u64,
}

impl RunCost {
    /// Estimated cost of the whole run on one core \[core-s\]: set-up plus histories.
    pub fn core_seconds(&self) -> f64 {
        self.setup_seconds + self.seconds_per_history * self.histories as f64
    }
}

/// The electron tables of a plan that transports electrons (None for local deposition).
fn electron_tables(plan: &Plan) -> Result<Option<ElectronTables>, DriverError> {
    Ok(match plan.electrons {
        Some(s) => Some(ElectronTables::new(&plan.materials, s)?),
        None => None,
    })
}

/// Histories in a pilot (fewer if the run has fewer).
pub const PILOT_HISTORIES: u64 = 20_000;

/// Estimates the cost of a validated plan by building it and transporting a pilot of
/// [`PILOT_HISTORIES`] histories (batch 0 of its own random streams) on one thread; the
/// pilot's dose is discarded. Accuracy is that of a wall-clock measurement on a shared
/// machine (tens of per cent): enough to order runs and size a Slurm job.
pub fn pilot_cost(plan: &Plan) -> Result<RunCost, DriverError> {
    let t0 = Instant::now();
    let tables = PhotonTables::with_options(&plan.materials, plan.rayleigh)?;
    let electrons = electron_tables(plan)?;
    let model = VoxelModel::new(&plan.phantom)?;
    let mut sim = Simulation::new(&model, &tables, &plan.source, plan.settings.clone());
    if let Some(e) = &electrons {
        sim = sim.with_electrons(e)?;
    }
    let tally = EnergyTally::new(plan.phantom.grid.len());
    let setup_seconds = t0.elapsed().as_secs_f64();
    let n = PILOT_HISTORIES.min(plan.histories()).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| DriverError::Other(format!("cannot start a pilot thread: {e}")))?;
    let t1 = Instant::now();
    pool.install(|| sim.run_batch_part(plan.seed, 0, n, 0..n, &tally, &Control::default()))?;
    let seconds_per_history = t1.elapsed().as_secs_f64() / n as f64;
    Ok(RunCost {
        setup_seconds,
        seconds_per_history,
        histories: plan.histories(),
    })
}

/// Dose levels per organ in the `/dvh` table: `DVH_POINTS` levels from 0 to the organ's
/// maximum dose.
pub const DVH_POINTS: usize = 101;

/// Cumulative dose-volume histograms of every label with mass, from the dose of each voxel
/// \[Gy per history\]: the summary per label (D_min, D98, D50, D2, D_max, D_mean) and the
/// curve sampled at [`DVH_POINTS`] dose levels from 0 to D_max.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DvhTables {
    /// Label of each summary row.
    pub label: Vec<u64>,
    /// Organ name of each summary row.
    pub name: Vec<String>,
    /// D_min, D98, D50, D2, D_max, D_mean of each label \[Gy per history\].
    pub summary_gy: [Vec<f64>; 6],
    /// Label of each curve point.
    pub curve_label: Vec<u64>,
    /// Dose level of each curve point \[Gy per history\].
    pub curve_dose_gy: Vec<f64>,
    /// Mass fraction of the organ receiving at least that dose \[1\].
    pub curve_fraction: Vec<f64>,
}

/// Computes the DVH tables of a phantom's labels (labels without mass are left out).
pub fn dvh_tables(ph: &Phantom, dose_gy: &[f64]) -> Result<DvhTables, DriverError> {
    let mut by_label: std::collections::BTreeMap<u32, (Vec<f64>, Vec<f64>)> = Default::default();
    for (i, &l) in ph.labels.iter().enumerate() {
        let m = ph.voxel_mass_kg(i);
        if m > 0.0 {
            let e = by_label.entry(l).or_default();
            e.0.push(dose_gy[i]);
            e.1.push(m);
        }
    }
    let mut t = DvhTables::default();
    for entry in &ph.table {
        let Some((d, m)) = by_label.get(&entry.value) else {
            continue;
        };
        let h = pedisim_dosimetry::dvh::cumulative_dvh(&entry.name, d, m).map_err(|e| {
            DriverError::Config {
                file: PathBuf::from("(dose-volume histogram)"),
                message: e.to_string(),
            }
        })?;
        let dx = |p: f64| h.dose_at_percent(p).unwrap_or(f64::NAN);
        t.label.push(entry.value as u64);
        t.name.push(entry.name.clone());
        for (k, v) in [h.d_min, dx(98.0), dx(50.0), dx(2.0), h.d_max, h.d_mean]
            .into_iter()
            .enumerate()
        {
            t.summary_gy[k].push(v);
        }
        for j in 0..DVH_POINTS {
            let level = h.d_max * j as f64 / (DVH_POINTS - 1) as f64;
            t.curve_label.push(entry.value as u64);
            t.curve_dose_gy.push(level);
            t.curve_fraction.push(h.fraction_at_least_dose(level));
        }
    }
    Ok(t)
}

impl DvhTables {
    /// The two HDF5 tables `/dvh_summary` and `/dvh` (docs/formats.md section 2).
    pub fn groups(&self) -> Vec<TableGroup<'_>> {
        let names = [
            "d_min_gy",
            "d98_gy",
            "d50_gy",
            "d2_gy",
            "d_max_gy",
            "d_mean_gy",
        ];
        let descriptions = [
            "minimum voxel dose",
            "D98: dose received by at least 98 % of the organ's mass",
            "D50: median dose by mass",
            "D2: dose received by at least 2 % of the organ's mass (near maximum)",
            "maximum voxel dose",
            "mass-weighted mean dose (the organ dose of /organs)",
        ];
        let mut summary = vec![
            Column {
                name: "label",
                values: ColumnValues::U64(&self.label),
                units: "1",
                description: "label value in /phantom/labels",
            },
            Column {
                name: "name",
                values: ColumnValues::Str(&self.name),
                units: "text",
                description: "organ name",
            },
        ];
        for k in 0..6 {
            summary.push(Column {
                name: names[k],
                values: ColumnValues::F64(&self.summary_gy[k]),
                units: "Gy per history",
                description: descriptions[k],
            });
        }
        vec![
            TableGroup {
                name: "dvh_summary",
                description: "dose-volume summary of each label with mass (voxel doses, mass-weighted)",
                columns: summary,
            },
            TableGroup {
                name: "dvh",
                description: "cumulative dose-volume histograms: for each label, 101 dose levels from 0 to its maximum voxel dose and the mass fraction receiving at least that dose",
                columns: vec![
                    Column {
                        name: "label",
                        values: ColumnValues::U64(&self.curve_label),
                        units: "1",
                        description: "label value",
                    },
                    Column {
                        name: "dose_gy",
                        values: ColumnValues::F64(&self.curve_dose_gy),
                        units: "Gy per history",
                        description: "dose level",
                    },
                    Column {
                        name: "volume_fraction",
                        values: ColumnValues::F64(&self.curve_fraction),
                        units: "1",
                        description: "mass fraction of the label receiving at least the dose level",
                    },
                ],
            },
        ]
    }

    /// The DVH curves as CSV (`label,name,dose_gy,volume_fraction`).
    pub fn csv(&self) -> String {
        let mut s = format!(
            "# pedisim {} cumulative dose-volume histograms, dose in Gy per history\nlabel,name,dose_gy,volume_fraction\n",
            pedisim_core::PEDISIM_VERSION
        );
        for (k, l) in self.label.iter().enumerate() {
            for j in 0..DVH_POINTS {
                let i = k * DVH_POINTS + j;
                s.push_str(&format!(
                    "{l},{},{:.6e},{:.6}\n",
                    self.name[k], self.curve_dose_gy[i], self.curve_fraction[i]
                ));
            }
        }
        s
    }
}
