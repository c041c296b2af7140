//! Transport validation: narrow-beam transmission against XCOM, energy conservation,
//! and bit-identical results for any number of threads.

use pedisim_core::Vec3;
use pedisim_phantom::builtin::{box_phantom, slab_phantom, sphere_phantom, Slab};
use pedisim_phantom::Phantom;
use pedisim_physics::material::{Material, MaterialDb};
use pedisim_physics::nuclide::DecaySampler;
use pedisim_physics::photon::{xcom_mass_attenuation_cm2_g, PhotonTables};
use pedisim_transport::kernel::{Control, RunResult, Settings, Simulation};
use pedisim_transport::model::VoxelModel;
use pedisim_transport::source::{Source, Spatial, Spectrum};

fn db() -> MaterialDb {
    MaterialDb::builtin().unwrap()
}

fn materials(db: &MaterialDb, p: &Phantom) -> Vec<Material> {
    p.materials
        .iter()
        .map(|m| db.get(m).unwrap().clone())
        .collect()
}

fn run(p: &Phantom, src: &Source, seed: u64, batches: u64, per_batch: u64) -> RunResult {
    let db = db();
    let tables = PhotonTables::new(&materials(&db, p)).unwrap();
    let model = VoxelModel::new(p).unwrap();
    let sim = Simulation::new(&model, &tables, src, Settings::default());
    sim.run(seed, batches, per_batch, &Control::default())
        .unwrap()
}

/// Narrow-beam (uncollided) transmission through water and ICRU-44 cortical bone slabs
/// equals exp(-mu t) with mu from NIST XCOM. Tolerance: 3 binomial standard deviations plus
/// the energy-grid interpolation error of mu (below 2e-4 relative, tested in the physics
/// crate), i.e. mu t x 2e-4 relative in T.
#[test]
fn narrow_beam_transmission_matches_xcom() {
    let db = db();
    let nominal = |m: &str| db.get(m).ok().map(|m| m.density_g_cm3);
    for (material, thickness_mm) in [("water", 100.0), ("cortical_bone", 30.0)] {
        let slabs = [Slab {
            material: material.into(),
            thickness_mm,
            name: material.into(),
        }];
        let p = slab_phantom(&slabs, [20.0, 20.0], [5.0, 5.0, 5.0], nominal).unwrap();
        let mat = db.get(material).unwrap();
        for (k, e_kev) in [30.0, 60.0, 100.0, 140.5, 364.5, 662.0, 1000.0, 1500.0]
            .into_iter()
            .enumerate()
        {
            let e = e_kev * 1e-3;
            // Pencil beam along +z starting 50 mm before the phantom, on the axis.
            let start = Vec3::new(10.0, 10.0, -50.0);
            let src = Source::new(
                Spatial::beam(start, Vec3::new(0.0, 0.0, 1.0), [0.0, 0.0]).unwrap(),
                Spectrum::Mono { energy_mev: e },
            );
            let n = 200_000u64;
            // Independent streams per case (a shared seed would correlate the energies).
            let r = run(&p, &src, 5 + k as u64, 10, n / 10);
            let t_mc = r.counters.uncollided_escapes as f64 / n as f64;
            let mu_t = xcom_mass_attenuation_cm2_g(mat, e).unwrap()
                * mat.density_g_cm3
                * thickness_mm
                * 0.1;
            let t_ref = (-mu_t).exp();
            let sigma = (t_ref * (1.0 - t_ref) / n as f64).sqrt();
            let tol = 3.0 * sigma + t_ref * mu_t * 2e-4;
            println!(
                "transmission | {material} | {thickness_mm} mm | {e_kev} keV | XCOM {t_ref:.5} | MC {t_mc:.5} | sigma {sigma:.5} | diff/sigma {:+.2}",
                (t_mc - t_ref) / sigma
            );
            assert!(
                (t_mc - t_ref).abs() <= tol,
                "{material} {thickness_mm} mm at {e_kev} keV: MC {t_mc}, XCOM {t_ref}, tol {tol}"
            );
            let c = &r.counters;
            assert!(
                (c.emitted_mev - c.deposited_mev - c.escaped_mev).abs() <= 1e-9 * c.emitted_mev
            );
        }
    }
}

fn nominal_of(db: &MaterialDb) -> impl Fn(&str) -> Option<f64> + '_ {
    |m: &str| db.get(m).ok().map(|m| m.density_g_cm3)
}

/// Emitted = deposited + escaped to rounding, for nuclides with X-rays, gammas, betas and
/// positrons in a heterogeneous phantom (bone sphere in water box in vacuum) and the voxel
/// tally (fixed point) agrees with the deposited counter.
#[test]
fn energy_is_conserved() {
    let db = db();
    let p = sphere_phantom(
        "cortical_bone",
        "water",
        15.0,
        [0.0; 3],
        [60.0, 60.0, 60.0],
        [3.0; 3],
        nominal_of(&db),
    )
    .unwrap();
    let weights: Vec<f64> = p
        .labels
        .iter()
        .map(|&l| if l == 1 { 1.0 } else { 0.0 })
        .collect();
    for nuc in ["Tc-99m", "I-131", "F-18", "Lu-177", "Ga-68"] {
        let src = Source::new(
            Spatial::voxels(&weights, p.grid.dims, p.grid.voxel_mm).unwrap(),
            Spectrum::Nuclide(Box::new(DecaySampler::new(nuc).unwrap())),
        );
        let r = run(&p, &src, 9, 10, 2_000);
        let c = &r.counters;
        let bal = c.emitted_mev - c.deposited_mev - c.escaped_mev;
        assert!(
            bal.abs() <= 1e-10 * c.emitted_mev,
            "{nuc}: imbalance {bal} of {}",
            c.emitted_mev
        );
        let voxel_sum: f64 = r.stats.sum_mev.iter().sum();
        assert!(
            (voxel_sum - c.deposited_mev).abs() <= 1e-6 * c.deposited_mev,
            "{nuc}: voxels {voxel_sum} vs counter {}",
            c.deposited_mev
        );
        assert!(c.escaped_mev > 0.0 && c.deposited_mev > 0.0);
    }
}

/// The same seed gives bit-identical voxel statistics and counters for 1, 2 and 8 threads.
#[test]
fn results_do_not_depend_on_thread_count() {
    let db = db();
    let p = box_phantom("water", [60.0, 60.0, 60.0], [4.0; 3], nominal_of(&db)).unwrap();
    let src = Source::new(
        Spatial::Point {
            position_mm: Vec3::new(30.0, 30.0, 30.0),
        },
        Spectrum::Nuclide(Box::new(DecaySampler::new("I-131").unwrap())),
    );
    let mut results = Vec::new();
    for threads in [1, 2, 8] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let r = pool.install(|| run(&p, &src, 77, 10, 3_000));
        results.push(r);
    }
    for r in &results[1..] {
        assert_eq!(r.counters, results[0].counters);
        assert!(r
            .stats
            .sum_mev
            .iter()
            .zip(&results[0].stats.sum_mev)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(r
            .stats
            .sum_sq_per_history
            .iter()
            .zip(&results[0].stats.sum_sq_per_history)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
    // And a different seed gives different numbers.
    let other = run(&p, &src, 78, 10, 3_000);
    assert_ne!(
        other.counters.deposited_mev,
        results[0].counters.deposited_mev
    );
}

/// A point source in a large water phantom: the fraction of energy that escapes a 30 cm
/// cube for 140.5 keV is small, and the dose falls off with distance; the uncertainty is
/// finite where energy was deposited.
#[test]
fn relative_uncertainty_is_consistent_with_batches() {
    let db = db();
    let p = box_phantom("water", [40.0, 40.0, 40.0], [4.0; 3], nominal_of(&db)).unwrap();
    let src = Source::new(
        Spatial::Point {
            position_mm: Vec3::new(20.0, 20.0, 20.0),
        },
        Spectrum::Mono { energy_mev: 0.1405 },
    );
    let r = run(&p, &src, 3, 20, 5_000);
    let u = r.stats.relative_uncertainty();
    let m = r.stats.mean_per_history_mev();
    for (ui, mi) in u.iter().zip(&m) {
        if *mi > 0.0 {
            assert!(ui.is_finite() && *ui >= 0.0);
        } else {
            assert!(ui.is_nan());
        }
    }
    // The centre voxels (more deposits) have lower relative uncertainty than a corner.
    let c = p.grid.index(5, 5, 5);
    let k = p.grid.index(0, 0, 0);
    assert!(u[c] < u[k], "{} {}", u[c], u[k]);
}

/// An isotropic 140.5 keV point source at the centre of a water cube: the fraction of
/// photons that escape without interacting equals the analytic expectation
/// E[exp(-mu h / max(|u|, |v|, |w|))] over isotropic directions (h the half-width, mu from
/// XCOM), computed here by midpoint quadrature in (cos theta, phi). Tolerance: 3 binomial
/// sigma plus the energy-grid bound on mu (2e-4 relative in mu, so mu h 2e-4 in the
/// exponent, bounded by mu h_max 2e-4 relative in the fraction).
#[test]
fn point_source_uncollided_escape_from_a_cube_matches_analytic() {
    let db = db();
    let half_mm = 50.0;
    let p = box_phantom("water", [2.0 * half_mm; 3], [5.0; 3], nominal_of(&db)).unwrap();
    let e = 0.1405;
    let water = db.get("water").unwrap();
    let mu_per_mm = xcom_mass_attenuation_cm2_g(water, e).unwrap() * water.density_g_cm3 * 0.1;
    let (nw, nphi) = (2000, 2000);
    let mut sum = 0.0;
    for i in 0..nw {
        let w = -1.0 + (i as f64 + 0.5) * 2.0 / nw as f64;
        let s = (1.0 - w * w).sqrt();
        for j in 0..nphi {
            let phi = (j as f64 + 0.5) * std::f64::consts::TAU / nphi as f64;
            let m = (s * phi.cos())
                .abs()
                .max((s * phi.sin()).abs())
                .max(w.abs());
            sum += (-mu_per_mm * half_mm / m).exp();
        }
    }
    let expected = sum / (nw * nphi) as f64;
    let src = Source::new(
        Spatial::Point {
            position_mm: Vec3::new(half_mm, half_mm, half_mm),
        },
        Spectrum::Mono { energy_mev: e },
    );
    let n = 400_000u64;
    let r = run(&p, &src, 21, 10, n / 10);
    let got = r.counters.uncollided_escapes as f64 / n as f64;
    let sigma = (expected * (1.0 - expected) / n as f64).sqrt();
    let tol = 3.0 * sigma + expected * mu_per_mm * half_mm * 3f64.sqrt() * 2e-4;
    println!(
        "uncollided escape | water cube {} mm | 140.5 keV point source | analytic {expected:.5} | MC {got:.5} | sigma {sigma:.5} | diff/sigma {:+.2}",
        2.0 * half_mm,
        (got - expected) / sigma
    );
    assert!(
        (got - expected).abs() <= tol,
        "MC {got}, analytic {expected}, tol {tol}"
    );
}

/// A batch split into parts at chunk boundaries (as MPI ranks split it) gives exactly the
/// tally and the counters of the whole batch run in one call, for 1, 2, 3 and 4 parts.
#[test]
fn batch_split_at_chunk_boundaries_is_bit_identical() {
    use pedisim_transport::kernel::CounterSum;
    use pedisim_transport::tally::EnergyTally;
    let db = db();
    let p = box_phantom("water", [60.0, 60.0, 60.0], [4.0; 3], nominal_of(&db)).unwrap();
    let src = Source::new(
        Spatial::Point {
            position_mm: Vec3::new(30.0, 30.0, 30.0),
        },
        Spectrum::Nuclide(Box::new(DecaySampler::new("F-18").unwrap())),
    );
    let tables = PhotonTables::new(&materials(&db, &p)).unwrap();
    let model = VoxelModel::new(&p).unwrap();
    let settings = Settings {
        chunk_histories: 256,
        ..Settings::default()
    };
    let sim = Simulation::new(&model, &tables, &src, settings);
    let per_batch = 5_000u64;
    let chunk = sim.chunk_histories();
    let n_chunks = per_batch.div_ceil(chunk);
    let control = Control::default();
    let mut reference: Option<(Vec<u64>, CounterSum)> = None;
    for parts in 1..=4u64 {
        let tally = EnergyTally::new(model.grid.len());
        let mut sum = CounterSum::default();
        // Parts in reverse order, to show the order of the parts does not matter either.
        for r in (0..parts).rev() {
            let lo = (r * n_chunks / parts * chunk).min(per_batch);
            let hi = ((r + 1) * n_chunks / parts * chunk).min(per_batch);
            let c = sim
                .run_batch_part(9, 3, per_batch, lo..hi, &tally, &control)
                .unwrap();
            sum.merge(&c);
        }
        assert_eq!(sum.to_counters().histories, per_batch);
        let words = CounterSum::from_words(&sum.to_words());
        assert_eq!(words, sum);
        match &reference {
            None => reference = Some((tally.quanta(), sum)),
            Some((q, s)) => {
                assert_eq!(&tally.quanta(), q, "{parts} parts: tally differs");
                assert_eq!(&sum, s, "{parts} parts: counters differ");
            }
        }
    }
    let c = reference.unwrap().1.to_counters();
    assert!((c.emitted_mev - c.deposited_mev - c.escaped_mev).abs() <= 1e-10 * c.emitted_mev);
}

/// The kernel built for x86-64-v3 (AVX2, FMA, BMI2; chosen at run time where the processor
/// has them) and the baseline build give bit-identical tallies and counters, for a
/// multi-photon nuclide and a positron emitter in soft tissue, bone and lung. On a
/// processor without those features both runs take the baseline build (the test then
/// says so and checks only that the setting changes nothing).
#[test]
fn instruction_set_builds_are_bit_identical() {
    use pedisim_transport::kernel::CounterSum;
    use pedisim_transport::tally::EnergyTally;
    #[cfg(target_arch = "x86_64")]
    if !std::is_x86_feature_detected!("avx2") {
        eprintln!("no AVX2 here: both runs use the baseline build");
    }
    let db = db();
    let nominal = |m: &str| db.get(m).ok().map(|m| m.density_g_cm3);
    let s = |m: &str, t: f64| Slab {
        material: m.into(),
        thickness_mm: t,
        name: m.into(),
    };
    let slabs = [
        s("soft_tissue", 20.0),
        s("cortical_bone", 10.0),
        s("lung", 30.0),
    ];
    let p = slab_phantom(&slabs, [60.0, 60.0], [3.0; 3], nominal).unwrap();
    let tables = PhotonTables::new(&materials(&db, &p)).unwrap();
    let model = VoxelModel::new(&p).unwrap();
    for nuclide in ["I-131", "F-18"] {
        let src = Source::new(
            Spatial::Point {
                position_mm: Vec3::new(30.0, 30.0, 25.0),
            },
            Spectrum::Nuclide(Box::new(DecaySampler::new(nuclide).unwrap())),
        );
        let run = |baseline_isa: bool| {
            let settings = Settings {
                baseline_isa,
                ..Settings::default()
            };
            let sim = Simulation::new(&model, &tables, &src, settings);
            let tally = EnergyTally::new(model.grid.len());
            let c: CounterSum = sim
                .run_batch_part(21, 0, 20_000, 0..20_000, &tally, &Control::default())
                .unwrap();
            (tally.quanta(), c)
        };
        let (q_v3, c_v3) = run(false);
        let (q_base, c_base) = run(true);
        assert!(q_v3.iter().any(|&q| q > 0), "{nuclide}: nothing deposited");
        assert!(q_v3 == q_base, "{nuclide}: the tallies differ");
        assert_eq!(c_v3, c_base, "{nuclide}: the counters differ");
    }
}

/// Narrow-beam transmission of all photon lines of a nuclide together (I-131: gamma rays
/// from 80 to 723 keV and X-rays near 30 keV, ICRP-107) through 50 mm of water: the
/// uncollided fraction of the primary photons equals the yield-weighted mean of
/// exp(-mu t) over the lines, mu from XCOM. Consecutive photons of a history have
/// different energies, so this also checks that each photon gets its own attenuation
/// (the kernel reuses the energy-dependent quantities of the previous photon taken from
/// the stack when the energy is the same). Tolerance: 3 binomial standard deviations plus
/// the grid-interpolation term of `narrow_beam_transmission_matches_xcom`.
#[test]
fn narrow_beam_transmission_of_nuclide_lines_matches_xcom() {
    let db = db();
    let nominal = |m: &str| db.get(m).ok().map(|m| m.density_g_cm3);
    let thickness_mm = 50.0;
    let slabs = [Slab {
        material: "water".into(),
        thickness_mm,
        name: "water".into(),
    }];
    let p = slab_phantom(&slabs, [20.0, 20.0], [5.0, 5.0, 5.0], nominal).unwrap();
    let water = db.get("water").unwrap();
    let d = pedisim_physics::nuclide::nuclide("I-131").unwrap();
    let (mut num, mut den, mut max_mu_t) = (0.0, 0.0, 0.0f64);
    for l in d.gamma.iter().chain(&d.xray) {
        den += l[1];
        if l[0] >= 1e-3 {
            let mu_t =
                xcom_mass_attenuation_cm2_g(water, l[0]).unwrap() * water.density_g_cm3 * 5.0;
            num += l[1] * (-mu_t).exp();
            max_mu_t = max_mu_t.max(mu_t);
        }
    }
    let t_ref = num / den;
    let src = Source::new(
        Spatial::beam(
            Vec3::new(10.0, 10.0, -50.0),
            Vec3::new(0.0, 0.0, 1.0),
            [0.0, 0.0],
        )
        .unwrap(),
        Spectrum::Nuclide(Box::new(DecaySampler::new("I-131").unwrap())),
    );
    let r = run(&p, &src, 17, 10, 20_000);
    let n = r.counters.primary_photons as f64;
    let t_mc = r.counters.uncollided_escapes as f64 / n;
    let sigma = (t_ref * (1.0 - t_ref) / n).sqrt();
    let tol = 3.0 * sigma + t_ref * max_mu_t * 2e-4;
    println!(
        "transmission | I-131 lines | water | {thickness_mm} mm | XCOM {t_ref:.5} | MC {t_mc:.5} | sigma {sigma:.5} | diff/sigma {:+.2}",
        (t_mc - t_ref) / sigma
    );
    assert!(
        (t_mc - t_ref).abs() <= tol,
        "MC {t_mc}, XCOM {t_ref}, tol {tol}"
    );
}

/// With local electron deposition, a decay's electrons and its photons below the 1 keV
/// cutoff are deposited at the decay site (the kernel does so without the particle stack).
/// Tc-99m at the centre of a 20 cm water cube (ICRP-107: 5.5 X-rays of 8 eV and several
/// Auger and conversion electrons per decay): the run's electron and cutoff energies equal
/// the sums over the same decays sampled again from the same streams (no photon above the
/// cutoff can scatter below it at these energies, and nothing local leaves the cube), and
/// the source voxel holds at least that energy.
#[test]
fn local_emissions_are_deposited_at_the_decay_site() {
    use pedisim_core::rng::{domain, StreamRng};
    use pedisim_physics::nuclide::Emission;
    use pedisim_transport::tally::{EnergyTally, QUANTA_PER_MEV};
    let db = db();
    let p = box_phantom("water", [200.0; 3], [10.0; 3], nominal_of(&db)).unwrap();
    let centre = Vec3::new(105.0, 105.0, 105.0);
    let src = Source::new(
        Spatial::Point {
            position_mm: centre,
        },
        Spectrum::Nuclide(Box::new(DecaySampler::new("Tc-99m").unwrap())),
    );
    let tables = PhotonTables::new(&materials(&db, &p)).unwrap();
    let model = VoxelModel::new(&p).unwrap();
    let sim = Simulation::new(&model, &tables, &src, Settings::default());
    let (seed, n) = (23u64, 20_000u64);
    let tally = EnergyTally::new(model.grid.len());
    let c = sim
        .run_batch_part(seed, 0, n, 0..n, &tally, &Control::default())
        .unwrap()
        .to_counters();
    let (mut electrons, mut below_cutoff) = (0.0, 0.0);
    for i in 0..n {
        let mut rng = StreamRng::new(seed, domain::HISTORY, i);
        // (Directions are drawn for the photons above the cutoff and the positrons only.)
        let transported = |e: Emission, _| match e {
            Emission::Photon(x) => x >= 1e-3,
            Emission::Positron(_) => true,
            _ => false,
        };
        src.emit(&mut rng, transported, |e, _, _| match e {
            Emission::Electron(x) => electrons += x,
            Emission::Photon(x) if x < 1e-3 => below_cutoff += x,
            _ => {}
        });
    }
    assert!(electrons > 0.0 && below_cutoff > 0.0);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b;
    assert!(
        close(c.electron_deposited_mev, electrons),
        "electrons: run {}, emitted {electrons}",
        c.electron_deposited_mev
    );
    assert!(
        close(c.cutoff_mev, below_cutoff),
        "below the cutoff: run {}, emitted {below_cutoff}",
        c.cutoff_mev
    );
    let v = model.voxel_at(centre).unwrap();
    let at_source = tally.quanta()[v] as f64 / QUANTA_PER_MEV;
    assert!(
        at_source >= (electrons + below_cutoff) * (1.0 - 1e-9),
        "source voxel {at_source} MeV"
    );
}
