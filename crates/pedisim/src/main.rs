//! `pedisim`: the command-line program. It parses arguments and wires the library crates
//! together; all behaviour lives in `pedisim-driver` and below.

use anyhow::Result;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressState, ProgressStyle};
use pedisim_driver::plan::{plan_from_file, Overrides};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Monte Carlo dosimetry for paediatric nuclear medicine.
///
/// pedisim transports the photons of a radiopharmaceutical (ICRP-107 emissions) or a
/// photon source through a voxel phantom and writes the absorbed dose per voxel and per
/// organ, with its statistical uncertainty, to HDF5. See docs/config.md for the
/// configuration keys and docs/formats.md for the output layout.
#[derive(Parser)]
#[command(name = "pedisim", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a dose simulation described by a TOML configuration file.
    ///
    /// The configuration's run, phantom, source, physics and output sections are
    /// documented in docs/config.md. Command-line options override the file. Results are
    /// written to a temporary file and renamed into place when complete, so an interrupted
    /// run never leaves a truncated file where a good one was.
    Run {
        /// The run configuration (TOML).
        config: PathBuf,
        /// HDF5 output file (overrides output.path).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Number of histories (decays, or source photons) (overrides run.histories).
        #[arg(long)]
        histories: Option<u64>,
        /// Worker threads; 0 = all cores (overrides run.threads).
        #[arg(long)]
        threads: Option<usize>,
        /// Random seed (overrides run.seed).
        #[arg(long)]
        seed: Option<u64>,
        /// No progress output.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Simulate tumour growth (and its response to treatment) on a phantom's grid.
    ///
    /// The configuration's model, phantom, continuum, treatment and output sections are
    /// documented in docs/config.md ("Tumour growth"); the result's layout in
    /// docs/formats.md. A treatment takes dose maps written by `pedisim run` on the same
    /// phantom. The result is written to a temporary file and renamed into place when
    /// complete.
    Grow {
        /// The growth configuration (TOML).
        config: PathBuf,
        /// HDF5 output file (overrides output.path).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Worker threads; 0 = all cores (overrides run.threads).
        #[arg(long)]
        threads: Option<usize>,
        /// Random seed (overrides run.seed).
        #[arg(long)]
        seed: Option<u64>,
        /// No progress output.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Run every simulation of a campaign file, dose runs or tumour-growth runs
    /// (docs/campaign.md).
    ///
    /// The campaign expands into runs (Cartesian products of axes, variants, Latin-hypercube
    /// samples) whose dose files go to OUTPUT_DIR/runs and are indexed in
    /// OUTPUT_DIR/campaign.h5. Running the same campaign again resumes it: runs whose file
    /// is complete and verified are not recomputed. Exit status 0 when every run is done,
    /// 1 on an error or when some runs failed (see the index), 75 when interrupted (run
    /// the same command again to resume).
    Campaign {
        /// The campaign file (TOML).
        campaign: PathBuf,
        /// Print the expanded run list with each run's estimated cost (from a short pilot
        /// per distinct configuration), and exit.
        #[arg(long)]
        dry_run: bool,
        /// Worker threads per run (per MPI rank); 0 = all cores (overrides each run's
        /// run.threads).
        #[arg(long)]
        threads: Option<usize>,
        /// Job-array mode: run only the runs k with k mod TASKS = TASK (0-based), as one
        /// process, without writing campaign.h5; build it afterwards with --merge.
        #[arg(long, value_name = "TASK", requires = "array_tasks")]
        array_task: Option<usize>,
        /// Number of tasks of the job array (with --array-task).
        #[arg(long, value_name = "TASKS", requires = "array_task")]
        array_tasks: Option<usize>,
        /// Rebuild OUTPUT_DIR/campaign.h5 from the run files (after a job array) and exit;
        /// nothing is computed.
        #[arg(long, conflicts_with_all = ["dry_run", "array_task"])]
        merge: bool,
        /// No progress output.
        #[arg(short, long)]
        quiet: bool,
    },
    /// List the built-in materials with their density and source.
    Materials,
    /// List the radionuclides with ICRP-107 emission data.
    Nuclides,
    /// Compute a voxel S-value kernel (MIRD Pamphlet 17) of a radionuclide.
    ///
    /// Decays are placed uniformly in the central voxel of a homogeneous cube of the
    /// material with 2 SIZE + 1 voxels per side (half a kernel of medium around the
    /// kernel, standing in for an infinite medium) and transported with all their
    /// emissions. The mean absorbed dose per decay in each kernel voxel, averaged over the
    /// 48 symmetries of the cube, is written in mGy/(MBq s) with its relative uncertainty
    /// to an HDF5 file (docs/formats.md) and a CSV table of the octant. Example:
    /// pedisim svalues --nuclide Y-90 --voxel-mm 3 --material soft_tissue --size 11 -o
    /// y90_3mm.h5
    Svalues(Box<SvaluesArgs>),
    /// Compute the MIRD S matrix of a label-map phantom for a radionuclide.
    ///
    /// One Monte Carlo run per source region (ICRP 155 regions of the label table, or
    /// label names; plus Total-body): decays uniform per unit mass in the region,
    /// transported with all their emissions. Writes S(target <- source) in Gy per decay
    /// with relative uncertainties and region masses to HDF5 (docs/formats.md) and CSV.
    /// Organ doses for any biokinetics then follow without a new simulation.
    Smatrix(Box<SmatrixArgs>),
    /// Organ absorbed doses (mGy/MBq) and effective dose (mSv/MBq) from S matrices.
    ///
    /// Reads a specification (docs/config.md, organ doses): the S matrices of a male
    /// and/or female phantom (pedisim smatrix) and either a biokinetic model of the
    /// radiopharmaceutical library or measured organ activities at several time points;
    /// no new simulation. Writes HDF5 (docs/formats.md) and CSV.
    OrganDose {
        /// The specification file (TOML).
        spec: PathBuf,
        /// No summary on standard error.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Draw PNG figures of a dose result: dose slices over the phantom with a colour bar
    /// and isodose lines, and the organs' dose-volume histograms (docs/report.md).
    Report {
        /// The result file of pedisim run (HDF5).
        result: PathBuf,
        /// Directory for the figures (created if missing).
        #[arg(short, long)]
        output: PathBuf,
        /// Voxel the three slices go through, as IX,IY,IZ (default: the voxel of
        /// maximum dose).
        #[arg(long, value_delimiter = ',', num_args = 3)]
        slice: Option<Vec<usize>>,
    },
    /// Built-in paediatric phantoms and phantom files (docs/phantoms.md).
    Phantom {
        #[command(subcommand)]
        action: PhantomCommand,
    },
    /// Write a Slurm batch script for a campaign (docs/slurm.md).
    ///
    /// Estimates every run's cost with a short pilot (as campaign --dry-run), sizes the
    /// job (nodes, MPI ranks per node, threads per rank, wall time) and fills in the
    /// site's template from slurm/. The script stops cleanly before the wall time and
    /// resubmits itself until the campaign is done. With --array, every array task runs
    /// its share of the runs as one process and a merge job builds campaign.h5.
    Slurm(Box<SlurmArgs>),
}

/// `pedisim phantom` subcommands.
#[derive(Subcommand)]
enum PhantomCommand {
    /// Generate a phantom of pedisim's paediatric stylised family for an age and sex
    /// (optionally personalised by height, weight and torso measures), voxelised with
    /// sub-voxel sampling, as a NIfTI label map (RAS affine) with its label table beside
    /// it (NAME.labels.toml), then print its organ masses.
    Generate {
        /// Age in years (0 = newborn; adults from 20).
        #[arg(long, allow_negative_numbers = true)]
        age: f64,
        /// Sex.
        #[arg(long, value_enum)]
        sex: SexArg,
        /// Standing height in cm (default: the reference height for the age and sex).
        #[arg(long, allow_negative_numbers = true)]
        height_cm: Option<f64>,
        /// Body mass in kg (default: the reference mass for the age and sex).
        #[arg(long, allow_negative_numbers = true)]
        weight_kg: Option<f64>,
        /// Anteroposterior thickness of the torso in cm.
        #[arg(long, allow_negative_numbers = true)]
        torso_ap_cm: Option<f64>,
        /// Lateral width of the torso in cm (arms included).
        #[arg(long, allow_negative_numbers = true)]
        torso_lateral_cm: Option<f64>,
        /// Cubic voxel edge in mm.
        #[arg(long, default_value_t = 2.0, allow_negative_numbers = true)]
        voxel_mm: f64,
        /// Output label map (.nii or .nii.gz).
        #[arg(short, long)]
        output: PathBuf,
        /// Do not print the organ masses.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Describe a label-map phantom: dimensions, voxel size, each label with its voxel
    /// count, volume and mass in kg, and the total body mass in kg (every label except 0
    /// and air).
    Info {
        /// The label map (.nii or .nii.gz).
        file: PathBuf,
        /// Its label table (default: FILE's name with .labels.toml instead of .nii or
        /// .nii.gz, as written by phantom generate).
        #[arg(long)]
        table: Option<PathBuf>,
    },
}

/// Monte Carlo and output options shared by `pedisim svalues` and `pedisim smatrix`.
#[derive(clap::Args)]
struct McOptions {
    /// Independent batches for the uncertainty (at least 10).
    #[arg(long, default_value_t = 10)]
    batches: u64,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads; 0 = all cores (does not change the result).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Electron and positron cutoff, and delta-ray and bremsstrahlung thresholds, in keV.
    #[arg(
        long,
        value_name = "KEV",
        default_value_t = 10.0,
        allow_negative_numbers = true
    )]
    electron_cutoff_kev: f64,
    /// Electron and positron transport.
    #[arg(long, value_enum, default_value_t = ElectronTransportArg::Condensed)]
    electron_transport: ElectronTransportArg,
    /// HDF5 output file.
    #[arg(short, long)]
    output: PathBuf,
    /// CSV output file (default: the HDF5 path with extension .csv).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
}

impl McOptions {
    /// The CSV output: `--csv`, or the HDF5 path with extension `.csv`.
    fn csv_path(&self) -> PathBuf {
        self.csv
            .clone()
            .unwrap_or_else(|| pedisim_driver::svalues::default_csv_path(&self.output))
    }
}

impl From<ElectronTransportArg> for pedisim_driver::config::ElectronTransport {
    fn from(a: ElectronTransportArg) -> Self {
        match a {
            ElectronTransportArg::Condensed => Self::Condensed,
            ElectronTransportArg::Local => Self::Local,
        }
    }
}

/// Options of `pedisim smatrix`.
#[derive(clap::Args)]
struct SmatrixArgs {
    /// The phantom's label map (.nii or .nii.gz), e.g. from phantom generate.
    #[arg(long)]
    phantom: PathBuf,
    /// Its label table (default: beside the map, NAME.labels.toml).
    #[arg(long)]
    table: Option<PathBuf>,
    /// Radionuclide by ICRP-107 name, e.g. Tc-99m, F-18, I-123.
    #[arg(long)]
    nuclide: String,
    /// Source regions, comma separated (default: every region of the phantom and
    /// Total-body).
    #[arg(long, value_delimiter = ',')]
    sources: Option<Vec<String>>,
    /// Decays per source region.
    #[arg(long, default_value_t = 1_000_000)]
    histories: u64,
    #[command(flatten)]
    mc: McOptions,
}

/// Sex of a generated phantom.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum SexArg {
    /// Male.
    Male,
    /// Female.
    Female,
}

/// Electron and positron transport of `pedisim svalues`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ElectronTransportArg {
    /// Class II condensed-history transport.
    Condensed,
    /// Kinetic energy deposited where the particle is created.
    Local,
}

/// Options of `pedisim svalues`.
#[derive(clap::Args)]
struct SvaluesArgs {
    /// Radionuclide by ICRP-107 name, e.g. Y-90, Lu-177, I-131 (pedisim nuclides lists
    /// them).
    #[arg(long)]
    nuclide: String,
    /// Voxel edge in mm (cubic voxels).
    #[arg(long, value_name = "MM", allow_negative_numbers = true)]
    voxel_mm: f64,
    /// Material of the medium (pedisim materials lists them).
    #[arg(long, default_value = "soft_tissue")]
    material: String,
    /// Voxels per side of the kernel, odd (offsets -(SIZE-1)/2 to (SIZE-1)/2).
    #[arg(long, default_value_t = 11, allow_negative_numbers = true)]
    size: i64,
    /// Density of the medium in g/cm3 (default: the material's nominal density).
    #[arg(long, value_name = "G_CM3", allow_negative_numbers = true)]
    density_g_cm3: Option<f64>,
    /// Number of decays.
    #[arg(long, default_value_t = 1_000_000)]
    histories: u64,
    #[command(flatten)]
    mc: McOptions,
}

/// Options of `pedisim slurm`.
#[derive(clap::Args)]
struct SlurmArgs {
    /// The campaign file (TOML).
    campaign: PathBuf,
    /// Cluster: generic, meluxina, ares or helios.
    #[arg(long, value_parser = pedisim_driver::slurm::Site::parse)]
    site: pedisim_driver::slurm::Site,
    /// Nodes of the job (with --array: nodes' worth of tasks running at once). Default:
    /// the fewest that finish within a day or the partition's limit.
    #[arg(long)]
    nodes: Option<u32>,
    /// Threads per MPI rank, or per array task. Default: the site's NUMA domain or
    /// socket, raised until every rank has a run.
    #[arg(long)]
    threads: Option<u32>,
    /// Wall time, HH:MM:SS or D-HH:MM:SS. Default: from the estimate, with a safety
    /// factor, capped at the partition's limit.
    #[arg(long, value_name = "TIME", value_parser = pedisim_driver::slurm::WallTime::parse)]
    wall: Option<pedisim_driver::slurm::WallTime>,
    /// The partition's wall-time limit, where the site's is not known or differs.
    #[arg(long, value_name = "TIME", value_parser = pedisim_driver::slurm::WallTime::parse)]
    max_wall: Option<pedisim_driver::slurm::WallTime>,
    /// Account charged (MeluXina: the project id p2XXXXX; Ares, Helios: GRANT-cpu).
    #[arg(long)]
    account: Option<String>,
    /// Partition (default: the site's).
    #[arg(long)]
    partition: Option<String>,
    /// Quality of service (default: the site's; "" for none).
    #[arg(long)]
    qos: Option<String>,
    /// Cores per node (default: the site's; for --site generic, this machine's).
    #[arg(long)]
    cores_per_node: Option<u32>,
    /// Modules the job loads, separated by spaces: those pedisim was built with
    /// (default: the site's software stack; "" for none).
    #[arg(long)]
    modules: Option<String>,
    /// MPI plugin of srun --mpi= (pmix, pmi2, none; "" for plain srun). Default: the
    /// site's, or none for a binary built without MPI.
    #[arg(long, value_name = "PLUGIN")]
    srun_mpi: Option<String>,
    /// Slurm --hint for every rank (default: the site's, nomultithread on MeluXina;
    /// "" for none).
    #[arg(long)]
    hint: Option<String>,
    /// Render the job-array template: independent single-process tasks, then a merge.
    #[arg(long)]
    array: bool,
    /// Number of array tasks (default: each task within 4 hours, at most 1000).
    #[arg(long, requires = "array")]
    array_tasks: Option<u32>,
    /// Most array tasks running at once (default: all, or as many as --nodes hold).
    #[arg(long, requires = "array")]
    max_concurrent: Option<u32>,
    /// Seconds before the wall time at which every rank gets SIGTERM.
    #[arg(long, value_name = "SECONDS", default_value_t = pedisim_driver::slurm::DEFAULT_SIGNAL_SECONDS)]
    signal_margin: u64,
    /// Most automatic continuations after the wall time (default: those expected + 5).
    #[arg(long)]
    max_continuations: Option<u32>,
    /// The pedisim binary the job runs (default: this one).
    #[arg(long)]
    binary: Option<PathBuf>,
    /// The binary was built without the mpi feature: one process per job. Implied when
    /// this pedisim has no MPI and --binary is not given.
    #[arg(long)]
    single_process: bool,
    /// Job name (default: the campaign's name).
    #[arg(long)]
    job_name: Option<String>,
    /// Directory of the job and its log files (default: the current directory).
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// Write the script to this file (written whole, then renamed into place); default
    /// or -: standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// No progress output from the pilots.
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pedisim: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Grow {
            config,
            output,
            threads,
            seed,
            quiet,
        } => {
            use pedisim_driver::growth::{growth_plan_from_file, run_growth, GrowthOverrides};
            let ov = GrowthOverrides {
                threads,
                seed,
                output,
            };
            if pedisim_driver::growth_agents::model_kind(&config) == "agents" {
                return grow_agents(&config, &ov, quiet);
            }
            let plan = growth_plan_from_file(&config, &ov)?;
            let end = *plan.output_days.last().unwrap_or(&0.0);
            if !quiet {
                eprintln!(
                    "pedisim {}: tumour growth (continuum) to day {end} on {}x{}x{} voxels of {:?} mm, {} treatment course(s), output {}",
                    pedisim_core::PEDISIM_VERSION,
                    plan.grid.dims[0],
                    plan.grid.dims[1],
                    plan.grid.dims[2],
                    plan.grid.voxel_mm,
                    plan.courses.len(),
                    plan.output.display()
                );
            }
            let outcome = run_days(quiet, end, |progress, cancel| {
                run_growth(&plan, progress, cancel)
            })?;
            if !quiet {
                let last = outcome.trajectory.last();
                eprintln!(
                    "pedisim: day {end}: {:.4e} cells, detectable volume {:.1} mm3 (radius {:.2} mm); {:.2} s on {} threads ({:.3e} voxel-updates/s); wrote {}",
                    last.map_or(0.0, |r| r.total_cells),
                    last.map_or(0.0, |r| r.detectable_volume_mm3),
                    last.map_or(0.0, |r| r.equivalent_radius_mm),
                    outcome.wall_seconds,
                    outcome.threads,
                    outcome.voxel_updates_per_second,
                    outcome.output.display()
                );
            }
            Ok(())
        }
        Command::Run {
            config,
            output,
            histories,
            threads,
            seed,
            quiet,
        } => {
            let ov = Overrides {
                histories,
                threads,
                seed,
                output,
            };
            let comm = make_comm()?;
            let comm = comm.as_ref();
            let root = comm.rank() == 0;
            let quiet = quiet || !root;
            let plan = plan_from_file(&config, &ov)?;
            // First Ctrl-C or SIGTERM: stop at the next chunk of histories, keep the
            // whole batches in a checkpoint and exit with status 75; a second one: exit
            // at once (an existing output file is never touched before the final rename).
            let cancel = cancel_on_interrupt(Some(
                "stopping after checkpointing the whole batches; press Ctrl-C again to exit now",
            ))?;
            if !quiet {
                eprintln!(
                    "pedisim {}: {} histories in {} batches on {} process(es), phantom {}x{}x{} voxels of {:?} mm, output {}",
                    pedisim_core::PEDISIM_VERSION,
                    plan.histories(),
                    plan.batches,
                    comm.size(),
                    plan.phantom.grid.dims[0],
                    plan.phantom.grid.dims[1],
                    plan.phantom.grid.dims[2],
                    plan.phantom.grid.voxel_mm,
                    plan.output.display()
                );
            }
            let outcome = with_progress(quiet, plan.histories(), "histories", |progress| {
                pedisim_driver::execute_on(&plan, comm, progress, &cancel)
            });
            let outcome = match outcome {
                Err(e) if e.is_cancelled() => {
                    if root {
                        let ck = pedisim_driver::checkpoint::checkpoint_path(&plan.output);
                        if ck.is_file() {
                            eprintln!(
                                "pedisim: interrupted; whole batches kept in {}: run the same command again to continue",
                                ck.display()
                            );
                        } else {
                            eprintln!("pedisim: interrupted before the first batch ended; nothing written");
                        }
                    }
                    std::process::exit(75);
                }
                r => r?,
            };
            if !quiet && outcome.resumed_batches > 0 {
                eprintln!(
                    "pedisim: continued from a checkpoint after {} of {} batches",
                    outcome.resumed_batches, plan.batches
                );
            }
            if !quiet {
                let c = &outcome.counters;
                // Histories transported by this attempt (not those of a checkpoint).
                let ran = outcome.histories - outcome.resumed_batches * plan.histories_per_batch;
                eprintln!(
                    "pedisim: {} histories in {:.2} s on {} x {} threads ({:.0} histories/s, {:.0} per thread); wrote {}",
                    ran,
                    outcome.wall_seconds,
                    comm.size(),
                    outcome.threads,
                    ran as f64 / outcome.wall_seconds,
                    ran as f64
                        / outcome.wall_seconds
                        / (outcome.threads * comm.size()) as f64,
                    outcome.output.display()
                );
                eprintln!(
                    "pedisim: per history: emitted {:.6} MeV, deposited {:.6} MeV, escaped {:.6} MeV",
                    c.emitted_mev / c.histories as f64,
                    c.deposited_mev / c.histories as f64,
                    c.escaped_mev / c.histories as f64
                );
                eprintln!(
                    "{:>6}  {:<20} {:>12} {:>14} {:>8}",
                    "label", "name", "mass_kg", "dose_gy/hist", "rel_unc"
                );
                for o in &outcome.organs {
                    eprintln!(
                        "{:>6}  {:<20} {:>12.5e} {:>14.5e} {:>8.4}",
                        o.label, o.name, o.mass_kg, o.dose_gy, o.relative_uncertainty
                    );
                }
            }
            Ok(())
        }
        Command::Campaign {
            campaign,
            dry_run,
            threads,
            array_task,
            array_tasks,
            merge,
            quiet,
        } => {
            use pedisim_driver::campaign_spec::CampaignSpec;
            let spec = CampaignSpec::load(&campaign)?;
            let runs = spec.expand()?;
            if dry_run {
                pedisim_driver::campaign::validate_runs(&spec, &runs)?;
                let costs = pedisim_driver::campaign::estimate_costs(&spec, &runs, &mut |l| {
                    if !quiet {
                        eprintln!("pedisim: {l}")
                    }
                })?;
                print!(
                    "{}",
                    pedisim_driver::campaign::dry_run_report(&runs, &costs)
                );
                return Ok(());
            }
            if merge {
                let r = pedisim_driver::campaign::merge_index(&spec, &runs)?;
                eprintln!(
                    "pedisim: campaign {}: {} runs: {} done, {} failed, {} pending; index {}",
                    spec.name,
                    r.runs,
                    r.skipped,
                    r.failed,
                    r.runs - r.skipped - r.failed,
                    r.index.display()
                );
                return Ok(());
            }
            let share = match (array_task, array_tasks) {
                (Some(task), Some(tasks)) => {
                    pedisim_driver::campaign::Share::ArrayTask { task, tasks }
                }
                _ => pedisim_driver::campaign::Share::All,
            };
            let comm = make_comm()?;
            let comm = comm.as_ref();
            let quiet = quiet || comm.rank() != 0;
            let cancel = cancel_on_interrupt((comm.rank() == 0).then_some(
                "stopping the current run (finished runs are kept); run the same command again to resume",
            ))?;
            use pedisim_driver::campaign::CampaignEvent;
            let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
                let bar = ProgressBar::new(runs.len() as u64);
                bar.set_style(
                    ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {msg}")
                        .expect("valid template"),
                );
                bar
            });
            // What the throughput counts: histories, or time steps of growth runs.
            let work_unit = match spec.kind {
                pedisim_driver::campaign_spec::CampaignKind::Dose => "histories",
                pedisim_driver::campaign_spec::CampaignKind::Growth => "time steps",
            };
            let report = pedisim_driver::campaign::run_campaign(
                &spec,
                &runs,
                share,
                comm,
                threads,
                &mut |e| match (e, &bar) {
                    _ if quiet => {}
                    (CampaignEvent::Line(l), Some(bar)) => bar.println(format!("pedisim: {l}")),
                    (CampaignEvent::Line(l), None) => eprintln!("pedisim: {l}"),
                    (
                        CampaignEvent::Progress {
                            finished,
                            total,
                            histories_per_second,
                            eta_seconds,
                        },
                        Some(bar),
                    ) => {
                        bar.set_length(*total as u64);
                        bar.set_position(*finished as u64);
                        bar.set_message(format!(
                            "{histories_per_second:.3e} {work_unit}/s  ETA {}",
                            if eta_seconds.is_finite() {
                                format!("{eta_seconds:.0} s")
                            } else {
                                "-".into()
                            }
                        ));
                    }
                    (CampaignEvent::Progress { .. }, None) => {}
                },
                &cancel,
            )?;
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            if comm.rank() != 0 {
                if report.interrupted {
                    std::process::exit(75);
                }
                return Ok(());
            }
            let whose = match share {
                pedisim_driver::campaign::Share::All => String::new(),
                pedisim_driver::campaign::Share::ArrayTask { task, tasks } => {
                    format!(" (array task {task} of {tasks})")
                }
            };
            eprintln!(
                "pedisim: campaign {}{whose}: {} runs: {} already complete, {} computed, {} failed{}; {}",
                spec.name,
                report.runs,
                report.skipped,
                report.computed,
                report.failed,
                if report.interrupted { ", interrupted" } else { "" },
                if share == pedisim_driver::campaign::Share::All {
                    format!("index {}", report.index.display())
                } else {
                    "index not written: build it with --merge once every task has ended".into()
                }
            );
            if report.interrupted {
                std::process::exit(75);
            }
            if report.failed > 0 {
                anyhow::bail!(
                    "{} of {} runs failed (errors in {})",
                    report.failed,
                    report.runs,
                    report.index.display()
                );
            }
            Ok(())
        }
        Command::Slurm(args) => slurm(*args),
        Command::Phantom { action } => phantom(action),
        Command::Svalues(args) => svalues(*args),
        Command::Smatrix(args) => smatrix(*args),
        Command::OrganDose { spec, quiet } => organ_dose(&spec, quiet),
        Command::Report {
            result,
            output,
            slice,
        } => {
            let at = slice.map(|v| [v[0], v[1], v[2]]);
            for p in pedisim_driver::report::report(&result, &output, at)? {
                println!("{}", p.display());
            }
            Ok(())
        }
        Command::Materials => {
            let db = pedisim_physics_db()?;
            for name in db.names() {
                let m = db.get(&name)?;
                println!("{:<16} {:>10.5} g/cm3  {}", name, m.density_g_cm3, m.source);
            }
            Ok(())
        }
        Command::Nuclides => {
            for (name, d) in pedisim_physics::nuclide::nuclide_table()? {
                println!(
                    "{:<8} half-life {:>12.4e} s  photons {:.5} MeV/decay  electrons {:.5} MeV/decay",
                    name,
                    d.half_life_s,
                    d.mean_photon_energy_mev(),
                    d.mean_electron_energy_mev()
                );
            }
            Ok(())
        }
    }
}

/// The number of processes a launcher says it started for this job step, from the
/// variables OpenMPI's `mpirun`, MPICH/PMI and Slurm's `srun` set (`None` if none of
/// them is set, i.e. started without a launcher).
fn launcher_ranks() -> Option<(usize, &'static str)> {
    let var = |k: &str| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
    };
    if let Some(n) = var("OMPI_COMM_WORLD_SIZE") {
        return Some((n, "OMPI_COMM_WORLD_SIZE"));
    }
    if let Some(n) = var("PMI_SIZE") {
        return Some((n, "PMI_SIZE"));
    }
    // srun sets SLURM_PROCID only in the tasks it launches (with the step's task count).
    if std::env::var_os("SLURM_PROCID").is_some() {
        if let Some(n) = var("SLURM_STEP_NUM_TASKS") {
            return Some((n, "SLURM_STEP_NUM_TASKS"));
        }
    }
    None
}

/// The processes of this run: MPI ranks when built with the `mpi` feature (a single
/// rank when started without a launcher), else this process alone. Refuses to run when a
/// launcher started several processes that would not cooperate (a binary built without
/// MPI, or an MPI library that does not match the launcher): each would compute and write
/// the whole run.
fn make_comm() -> Result<Box<dyn pedisim_driver::comm::Comm>> {
    let launched = launcher_ranks();
    #[cfg(feature = "mpi")]
    {
        let comm = match pedisim_driver::comm::mpi_comm::MpiComm::init() {
            Some(c) => c,
            None => anyhow::bail!("MPI could not be initialised (already initialised?)"),
        };
        use pedisim_driver::comm::Comm;
        if let Some((n, var)) = launched {
            if n > 1 && comm.size() == 1 {
                anyhow::bail!(
                    "the launcher started {n} processes ({var} = {n}) but MPI sees a world of 1: \
                     the launcher and the MPI library pedisim was built against ({}) do not match \
                     (under srun, try srun --mpi=pmix for OpenMPI or --mpi=pmi2 for MPICH; or \
                     use that library's mpirun)",
                    comm.library()
                );
            }
        }
        Ok(Box::new(comm))
    }
    #[cfg(not(feature = "mpi"))]
    {
        if let Some((n, var)) = launched {
            if n > 1 {
                anyhow::bail!(
                    "started as one of {n} processes by an MPI launcher ({var} = {n}), but this \
                     pedisim was built without MPI, so every process would compute and write \
                     the whole run; expected a build with MPI: cargo build --release -p \
                     pedisim --features mpi (needs libopenmpi-dev or an MPI module), or run \
                     one process"
                );
            }
        }
        Ok(Box::new(pedisim_driver::comm::SingleProcess))
    }
}

/// Prints a phantom's description (`pedisim phantom info`, and after `generate`).
fn print_phantom_info(file: &std::path::Path, info: &pedisim_driver::phantoms::PhantomInfo) {
    let g = &info.grid;
    println!(
        "{}: {} x {} x {} voxels of {} x {} x {} mm",
        file.display(),
        g.dims[0],
        g.dims[1],
        g.dims[2],
        g.voxel_mm[0],
        g.voxel_mm[1],
        g.voxel_mm[2]
    );
    println!(
        "{:>6}  {:<28} {:<16} {:>10} {:>12} {:>12}",
        "label", "name", "material", "voxels", "volume_cm3", "mass_kg"
    );
    for o in &info.organs {
        println!(
            "{:>6}  {:<28} {:<16} {:>10} {:>12.3} {:>12.5e}",
            o.label, o.name, o.material, o.voxels, o.volume_cm3, o.mass_kg
        );
    }
    println!("total body mass: {:.6} kg", info.body_mass_kg);
}

/// `pedisim phantom`.
fn phantom(action: PhantomCommand) -> Result<()> {
    let db = pedisim_physics_db()?;
    match action {
        PhantomCommand::Generate {
            age,
            sex,
            height_cm,
            weight_kg,
            torso_ap_cm,
            torso_lateral_cm,
            voxel_mm,
            output,
            quiet,
        } => {
            use pedisim_driver::phantoms::{BodySpec, Sex};
            let spec = pedisim_driver::phantoms::GenerateSpec {
                body: BodySpec {
                    age_y: age,
                    sex: match sex {
                        SexArg::Male => Sex::Male,
                        SexArg::Female => Sex::Female,
                    },
                    height_cm,
                    weight_kg,
                    torso_ap_cm,
                    torso_lateral_cm,
                },
                voxel_mm,
                output: output.clone(),
            };
            let info = pedisim_driver::phantoms::generate(&spec, &db)?;
            if !quiet {
                print_phantom_info(&output, &info);
                eprintln!(
                    "pedisim: wrote {} and {}",
                    output.display(),
                    pedisim_driver::phantoms::table_path_for(&output).display()
                );
            }
            Ok(())
        }
        PhantomCommand::Info { file, table } => {
            let info = pedisim_driver::phantoms::info(&file, table.as_deref(), &db)?;
            print_phantom_info(&file, &info);
            Ok(())
        }
    }
}

fn pedisim_physics_db() -> Result<pedisim_physics::material::MaterialDb> {
    Ok(pedisim_physics::material::MaterialDb::builtin()?)
}

/// The command line as given, quoted for a POSIX shell where needed (recorded in output
/// files).
fn command_line() -> String {
    std::env::args()
        .map(|s| {
            if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
                format!("'{}'", s.replace('\'', "'\\''"))
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `pedisim organ-dose`.
fn organ_dose(spec_path: &std::path::Path, quiet: bool) -> Result<()> {
    use pedisim_driver::organ_dose as od;
    let (spec, r) = od::compute(spec_path)?;
    let (h5_path, csv_path) = od::write(&spec, spec_path, &r, &command_line())?;
    if !quiet {
        eprintln!(
            "pedisim: organ doses of {} ({}); wrote {} and {}",
            r.nuclide,
            r.tia_origin,
            h5_path.display(),
            csv_path.display()
        );
        for (sex, d, _) in &r.doses {
            eprintln!("  {sex} phantom:  target  mGy/MBq  (1 sigma)");
            for o in d {
                eprintln!(
                    "    {:<16} {:>11.4e}  ({:.1e})",
                    o.target, o.dose_mgy_per_mbq, o.uncertainty_mgy_per_mbq
                );
            }
        }
        match &r.effective {
            Some(e) => eprintln!(
                "  effective dose: {:.4e} mSv/MBq ({:.1e}); {}",
                e.effective_msv_per_mbq, e.uncertainty_msv_per_mbq, r.effective_method
            ),
            None => eprintln!("  effective dose: {}", r.effective_method),
        }
    }
    Ok(())
}

/// `pedisim smatrix`: the S matrix of a phantom for a nuclide, to HDF5 and CSV.
fn smatrix(a: SmatrixArgs) -> Result<()> {
    use pedisim_driver::smatrix::{self as sm, SMatrixSpec};
    let spec = SMatrixSpec {
        labels: a.phantom.clone(),
        table: a.table.clone(),
        nuclide: a.nuclide.clone(),
        sources: a.sources.clone(),
        histories: a.histories,
        batches: a.mc.batches,
        seed: a.mc.seed,
        threads: a.mc.threads,
        electron_cutoff_kev: a.mc.electron_cutoff_kev,
        electron_transport: a.mc.electron_transport.into(),
    };
    let csv = a.mc.csv_path();
    pedisim_driver::svalues::check_outputs(&a.mc.output, &csv)?;
    let cancel = cancel_on_interrupt(Some("stopping; nothing will be written"))?;
    if !a.mc.quiet {
        eprintln!(
            "pedisim {}: S matrix of {} for {}, {} decays per source region, output {} and {}",
            pedisim_core::PEDISIM_VERSION,
            a.phantom.display(),
            a.nuclide,
            a.histories.div_ceil(a.mc.batches) * a.mc.batches,
            a.mc.output.display(),
            csv.display()
        );
    }
    let m = with_progress(a.mc.quiet, a.histories, "decays", |progress| {
        sm::compute(&spec, progress, &cancel)
    });
    let m = match m {
        Err(e) if e.is_cancelled() || cancel.load(std::sync::atomic::Ordering::Relaxed) => {
            eprintln!("pedisim: interrupted; nothing written");
            std::process::exit(75);
        }
        m => m?,
    };
    sm::write_hdf5(&m, &spec, &a.mc.output, &command_line())?;
    pedisim_driver::write_text_atomic(&csv, &sm::csv_text(&m, &a.nuclide))?;
    if !a.mc.quiet {
        eprintln!(
            "pedisim: {} source regions x {} decays in {:.1} s on {} threads; wrote {} and {}",
            m.sources.len(),
            m.histories_per_source,
            m.wall_seconds,
            m.threads,
            a.mc.output.display(),
            csv.display()
        );
    }
    Ok(())
}

/// `pedisim svalues`: validates the options and the output paths, computes the kernel
/// (progress bar unless quiet; Ctrl-C stops it and writes nothing) and writes the HDF5 and
/// CSV files.
fn svalues(a: SvaluesArgs) -> Result<()> {
    use pedisim_driver::svalues::{self as sv, SValueSpec};
    let spec = SValueSpec {
        nuclide: a.nuclide,
        material: a.material,
        density_g_cm3: a.density_g_cm3,
        voxel_mm: a.voxel_mm,
        size: usize::try_from(a.size).map_err(|_| {
            anyhow::anyhow!(
                "--size {}: expected an odd number of voxels per side from 1 to {}",
                a.size,
                sv::MAX_SIZE
            )
        })?,
        histories: a.histories,
        batches: a.mc.batches,
        seed: a.mc.seed,
        threads: a.mc.threads,
        electron_cutoff_kev: a.mc.electron_cutoff_kev,
        electron_transport: a.mc.electron_transport.into(),
    };
    let csv = a.mc.csv_path();
    sv::validate(&spec)?;
    sv::check_outputs(&a.mc.output, &csv)?;
    let command_line = command_line();
    let cancel = cancel_on_interrupt(Some("stopping; nothing will be written"))?;
    let size = spec.size;
    if !a.mc.quiet {
        eprintln!(
            "pedisim {}: voxel S values of {} in {} ({} mm voxels, {size}^3 kernel in a {}^3 medium), {} decays in {} batches, output {} and {}",
            pedisim_core::PEDISIM_VERSION,
            spec.nuclide,
            spec.material,
            spec.voxel_mm,
            2 * size + 1,
            spec.histories.div_ceil(spec.batches) * spec.batches,
            spec.batches,
            a.mc.output.display(),
            csv.display()
        );
    }
    let kernel = with_progress(a.mc.quiet, spec.histories, "decays", |progress| {
        sv::compute(&spec, progress, &cancel)
    });
    let kernel = match kernel {
        Err(e) if e.is_cancelled() => {
            eprintln!("pedisim: interrupted; nothing written");
            std::process::exit(75);
        }
        k => k?,
    };
    sv::write_hdf5(&kernel, &a.mc.output, &command_line)?;
    sv::write_csv(&kernel, &csv)?;
    if !a.mc.quiet {
        eprintln!(
            "pedisim: {} decays in {:.2} s on {} threads ({:.0} decays/s); wrote {} and {}",
            kernel.histories,
            kernel.wall_seconds,
            kernel.threads,
            kernel.histories as f64 / kernel.wall_seconds.max(1e-9),
            a.mc.output.display(),
            csv.display()
        );
        eprintln!("     i   j   k   S mGy/(MBq s)   rel. unc.");
        for r in kernel.octant.iter().filter(|r| r.i >= r.j && r.j >= r.k) {
            eprintln!(
                "{:>6} {:>3} {:>3}   {:>13.5e}   {:>9.4}",
                r.i, r.j, r.k, r.s_mgy_per_mbq_s, r.relative_uncertainty
            );
        }
    }
    Ok(())
}

/// `pedisim slurm`: validates the campaign, estimates its cost, renders the script and
/// writes it (to a temporary file renamed into place) or prints it.
fn slurm(a: SlurmArgs) -> Result<()> {
    use anyhow::Context;
    use pedisim_driver::campaign_spec::CampaignSpec;
    use pedisim_driver::slurm::{render, CampaignCost, JobRequest, Site};
    let absolute = |p: &std::path::Path, what: &str| -> Result<PathBuf> {
        std::fs::canonicalize(p).with_context(|| format!("{what} {}", p.display()))
    };
    let campaign = absolute(&a.campaign, "campaign file")?;
    let binary = match &a.binary {
        Some(b) => absolute(b, "--binary")?,
        None => std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .context("finding this pedisim binary")?,
    };
    let workdir = absolute(
        &a.workdir.clone().unwrap_or_else(|| PathBuf::from(".")),
        "work directory",
    )?;
    let output = a.output.clone().filter(|o| o.as_os_str() != "-");
    // The script's own absolute path (it resubmits itself from there).
    let script = match &output {
        Some(o) => {
            let name = o
                .file_name()
                .with_context(|| format!("-o {}: expected a file name", o.display()))?;
            let dir = match o.parent().filter(|d| !d.as_os_str().is_empty()) {
                Some(d) => absolute(d, "directory of -o")?,
                None => std::env::current_dir()?,
            };
            Some(dir.join(name))
        }
        None => None,
    };
    let spec = CampaignSpec::load(&campaign)?;
    let runs = spec.expand()?;
    pedisim_driver::campaign::validate_runs(&spec, &runs)?;
    let costs = pedisim_driver::campaign::estimate_costs(&spec, &runs, &mut |l| {
        if !a.quiet {
            eprintln!("pedisim: {l}");
        }
    })?;
    let mut req = JobRequest::new(a.site, binary, workdir);
    req.nodes = a.nodes;
    req.threads = a.threads;
    req.wall = a.wall;
    req.max_wall = a.max_wall;
    req.account = a.account;
    req.partition = a.partition;
    req.qos = a.qos;
    req.cores_per_node = a.cores_per_node;
    if a.site == Site::Generic && req.cores_per_node.is_none() {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        eprintln!(
            "pedisim: --site generic: sizing for {n} cores per node (this machine's); give --cores-per-node for the compute nodes"
        );
        req.cores_per_node = Some(n);
    }
    req.modules = a.modules;
    req.srun_mpi = a.srun_mpi;
    req.hint = a.hint;
    req.array = a.array;
    req.array_tasks = a.array_tasks;
    req.max_concurrent = a.max_concurrent;
    req.signal_seconds = a.signal_margin;
    req.max_continuations = a.max_continuations;
    req.mpi = !a.single_process && (a.binary.is_some() || cfg!(feature = "mpi"));
    req.script = script.clone();
    req.job_name = a.job_name;
    req.generator = format!("pedisim {}", pedisim_core::PEDISIM_VERSION);
    let cost = CampaignCost::new(&spec, &runs, &costs);
    let rendered = render(&cost, &req)?;
    for w in &rendered.shape.warnings {
        eprintln!("pedisim: warning: {w}");
    }
    let s = &rendered.shape;
    let what = match &s.array {
        Some(arr) => format!(
            "array of {} tasks (at most {} at once), each {} thread(s), wall time {} per task",
            arr.tasks, arr.concurrent, s.threads, s.wall
        ),
        None => format!(
            "{} node(s) x {} rank(s) x {} thread(s), wall time {}",
            s.nodes, s.tasks_per_node, s.threads, s.wall
        ),
    };
    match (&output, &script) {
        (Some(o), Some(path)) => {
            let tmp = path.with_file_name(format!(
                ".{}.tmp-{}",
                path.file_name().unwrap_or_default().to_string_lossy(),
                std::process::id()
            ));
            let write = || -> std::io::Result<()> {
                std::fs::write(&tmp, &rendered.script)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
                }
                std::fs::rename(&tmp, path)
            };
            if let Err(e) = write() {
                let _ = std::fs::remove_file(&tmp);
                return Err(e).with_context(|| format!("writing {}", o.display()));
            }
            eprintln!("pedisim: wrote {}: {what}", path.display());
            if a.array {
                eprintln!(
                    "pedisim: submit the array and its merge job with: bash {}",
                    path.display()
                );
            } else {
                eprintln!("pedisim: submit with: sbatch {}", path.display());
            }
        }
        _ => {
            print!("{}", rendered.script);
            eprintln!(
                "pedisim: {what}; save the script and submit it with {}",
                if a.array { "bash" } else { "sbatch" }
            );
        }
    }
    Ok(())
}

/// Runs `work` with a progress callback `(done, total)`: nothing when `quiet`, a progress
/// bar counting `unit` (e.g. "histories") on a terminal, and otherwise (batch jobs) a log
/// line every 10 %.
/// Runs a growth simulation to day `end` with a progress display in hundredths of a
/// simulated day and the interrupt handler (first Ctrl-C or SIGTERM: stop at the next
/// output time, write nothing and exit with status 75).
fn run_days<R>(
    quiet: bool,
    end: f64,
    work: impl FnOnce(&mut dyn FnMut(f64, f64), &AtomicBool) -> Result<R, pedisim_driver::DriverError>,
) -> Result<R> {
    let cancel = cancel_on_interrupt(Some(
        "stopping at the next output time without writing; press Ctrl-C again to exit now",
    ))?;
    let total = (end * 100.0).round().max(1.0) as u64;
    let outcome = with_progress(quiet, total, "day/100", |progress| {
        work(
            &mut |t, _| progress((t * 100.0).round() as u64, total),
            &cancel,
        )
    });
    match outcome {
        Err(e) if e.is_cancelled() => {
            eprintln!("pedisim: interrupted; nothing written");
            std::process::exit(75);
        }
        r => Ok(r?),
    }
}

/// `pedisim grow` with the agent-based model.
fn grow_agents(
    config: &std::path::Path,
    ov: &pedisim_driver::growth::GrowthOverrides,
    quiet: bool,
) -> Result<()> {
    use pedisim_driver::growth_agents::{agents_plan_from_file, run_agents};
    let plan = agents_plan_from_file(config, ov)?;
    let end = plan.end_min / 1440.0;
    if !quiet {
        eprintln!(
            "pedisim {}: tumour growth (agents) to day {end}: {} initial cells in a box of {} um, {} fraction(s), output {}",
            pedisim_core::PEDISIM_VERSION,
            plan.params.initial_cells,
            plan.params.domain_edge_um,
            plan.fractions.as_ref().map_or(0, |f| f.0.len()),
            plan.output.display()
        );
    }
    let outcome = run_days(quiet, end, |progress, cancel| {
        run_agents(&plan, progress, cancel)
    })?;
    if !quiet {
        if let Some(r) = outcome.trajectory.last() {
            eprintln!(
                "pedisim: day {end}: {} live, {} apoptotic, {} necrotic cells, radius {:.1} um, hypoxic fraction {:.3}; {:.2} s on {} threads ({:.3e} cell-steps/s); wrote {}",
                r.live,
                r.apoptotic,
                r.necrotic,
                r.radius_um,
                r.hypoxic_fraction,
                outcome.wall_seconds,
                outcome.threads,
                outcome.cell_steps_per_second,
                outcome.output.display()
            );
        }
    }
    Ok(())
}

fn with_progress<R>(
    quiet: bool,
    total: u64,
    unit: &str,
    work: impl FnOnce(&mut dyn FnMut(u64, u64)) -> R,
) -> R {
    if quiet {
        work(&mut |_, _| {})
    } else if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total);
        let rate_unit = unit.to_string();
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{bar:40}} {{percent:>3}}% {{human_pos}}/{{human_len}} {unit}  {{rate}}  ETA {{eta}}"
            ))
            .expect("valid template")
            .with_key("rate", move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} {rate_unit}/s", s.per_sec());
            }),
        );
        let r = work(&mut |d, t| {
            bar.set_length(t);
            bar.set_position(d)
        });
        bar.finish_and_clear();
        r
    } else {
        let mut next = 0u64;
        work(&mut |d, t| {
            let pct = d * 100 / t.max(1);
            if pct >= next {
                eprintln!("pedisim: {pct:>3}% ({d}/{t} {unit})");
                next = pct - pct % 10 + 10;
            }
        })
    }
}

/// Installs the Ctrl-C / SIGTERM handler: the first signal sets the returned flag (the
/// computation stops at its next chunk of histories) and prints `message` if given; a
/// second one exits at once with status 130 (an existing output file is never touched
/// before the final rename).
fn cancel_on_interrupt(message: Option<&'static str>) -> Result<Arc<AtomicBool>> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        if let Some(m) = message {
            eprintln!("\npedisim: interrupted: {m}");
        }
    })?;
    Ok(cancel)
}
