//! `pedisim svalues` through the binary: voxel S values against the published Lanconelli
//! et al. (2012) database, the HDF5 and CSV layouts, and the rejection of bad options.
//!
//! Reference values: N. Lanconelli et al., "A free database of radionuclide voxel S values
//! for the dosimetry of nonuniform activity distributions", Phys. Med. Biol. 57 (2012)
//! 517-533, as distributed in its database files (soft tissue, full emission spectrum,
//! mGy/(MBq s); transcription and provenance in docs/validation.md section 6e). Density
//! 1.04 g/cm3, the database's soft tissue as far as we know.
//!
//! Tc-99m is not in that database: its self-dose is compared with MIRD Pamphlet 17.
//!
//! Tolerance of each comparison: a model tolerance (the spread between Monte Carlo codes:
//! 5 % for the self-dose, much more for neighbours of low-energy emitters; Lu-177's
//! self-dose is a known exception, see its test) plus three standard deviations of our own
//! estimate. Runs are short (size-3 kernels, 40 000 decays): each takes about a second in
//! the test profile.

mod common;

use common::*;
use pedisim_io::h5;
use std::path::Path;

/// One comparison with a published value.
struct Check {
    offset: [u32; 3],
    reference: f64,
    /// Relative model tolerance.
    tolerance: f64,
}

/// Runs `pedisim svalues` on a size-3 kernel in soft tissue of 1.04 g/cm3 and returns the
/// octant rows read back from the HDF5 file: ((i, j, k), S, relative uncertainty).
fn kernel(dir: &Path, nuclide: &str, voxel_mm: &str, histories: u64) -> Vec<([u32; 3], f64, f64)> {
    let out = dir.join(format!("{nuclide}_{voxel_mm}.h5"));
    pedisim(
        dir,
        [
            "svalues",
            "--nuclide",
            nuclide,
            "--voxel-mm",
            voxel_mm,
            "--material",
            "soft_tissue",
            "--density-g-cm3",
            "1.04",
            "--size",
            "3",
            "--histories",
            &histories.to_string(),
            "--seed",
            "7",
            "-q",
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .assert_success();
    octant(&out)
}

fn octant(p: &Path) -> Vec<([u32; 3], f64, f64)> {
    let col = |n: &str| h5::read_u32_dataset(p, &format!("/octant/{n}")).unwrap().0;
    let (i, j, k) = (col("i"), col("j"), col("k"));
    let s = h5::read_f64_dataset(p, "/octant/s_value_mgy_per_mbq_s")
        .unwrap()
        .0;
    let r = h5::read_f64_dataset(p, "/octant/relative_uncertainty")
        .unwrap()
        .0;
    (0..s.len())
        .map(|x| ([i[x], j[x], k[x]], s[x], r[x]))
        .collect()
}

/// Compares each check with the kernel; prints every comparison, then fails listing those
/// outside `tolerance x reference + 3 sigma`.
fn compare(what: &str, rows: &[([u32; 3], f64, f64)], checks: &[Check]) {
    let mut bad = Vec::new();
    for c in checks {
        let (_, s, rel) = rows
            .iter()
            .find(|r| r.0 == c.offset)
            .unwrap_or_else(|| panic!("{what}: no row {:?}", c.offset));
        let sigma = s * rel;
        let allowed = c.tolerance * c.reference + 3.0 * sigma;
        let line = format!(
            "{what} S{:?}: ours {s:.5e} +- {sigma:.2e} (1 sigma), reference {:.3e}, diff {:+.2} %, allowed {:.1} % + 3 sigma",
            c.offset,
            c.reference,
            100.0 * (s - c.reference) / c.reference,
            100.0 * c.tolerance
        );
        println!("{line}");
        if !(rel.is_finite() && (s - c.reference).abs() <= allowed) {
            bad.push(line);
        }
    }
    assert!(bad.is_empty(), "outside tolerance:\n{}", bad.join("\n"));
}

/// Y-90, 3 mm: self-dose and all three first-shell neighbours. Electron-dominated out to
/// (1, 1, 1) (the beta range, 11 mm, spans several voxels), so the neighbours are as
/// well defined as the self-dose: 5 % for S(0,0,0), 10 % for S(1,0,0) (inter-code spread
/// of first neighbours for E > 0.5 MeV), 25 % for S(1,1,0) and S(1,1,1).
#[test]
fn y90_3mm_matches_lanconelli() {
    let dir = tempfile::tempdir().unwrap();
    let rows = kernel(dir.path(), "Y-90", "3", 40_000);
    compare(
        "Y-90 3 mm",
        &rows,
        &[
            Check {
                offset: [0, 0, 0],
                reference: 1.59,
                tolerance: 0.05,
            },
            Check {
                offset: [1, 0, 0],
                reference: 2.75e-1,
                tolerance: 0.10,
            },
            Check {
                offset: [1, 1, 0],
                reference: 9.50e-2,
                tolerance: 0.25,
            },
            Check {
                offset: [1, 1, 1],
                reference: 4.29e-2,
                tolerance: 0.25,
            },
        ],
    );
}

/// Lu-177, 4.8 mm and 3 mm. KNOWN DISCREPANCY (docs/validation.md section 6e): our
/// S(0,0,0) is 8-9 % above the database at every voxel size from 2.21 to 6 mm, so the 5 %
/// criterion used for Y-90 and I-131 is not met. Converted to energy, the excess is the
/// same 0.0102-0.0105 MeV per decay at every size, while the energy absorbed in the
/// source voxel itself grows by 0.014 MeV from 2.21 to 6 mm (escape through the faces
/// scales with 1/edge): the difference behaves like a difference in the emitted
/// short-range electron energy (emission data), not like one in the transport. The
/// first neighbour, set by the electrons that do cross a face, agrees within 1.2 %.
///
/// The S(0,0,0) comparison is therefore recorded as an open discrepancy (validation.md
/// 6e), not asserted with a widened tolerance. This test checks what the transport
/// determines: the offset, in MeV per decay, is the same at 3 and 4.8 mm within 10 % +
/// 3 sigma (it would not be if our escape from the voxel were wrong), and S(1,0,0) is
/// within 20 % (first neighbour of a low-energy beta emitter, mean beta energy 0.13 MeV:
/// codes differ by up to 130 % there, Pacilio et al. 2009).
#[test]
fn lu177_matches_lanconelli() {
    let dir = tempfile::tempdir().unwrap();
    let mut offsets = Vec::new();
    for (voxel_mm, s000, s100) in [("4.8", 1.78e-1, 2.46e-3), ("3", 6.93e-1, 1.51e-2)] {
        let rows = kernel(dir.path(), "Lu-177", voxel_mm, 40_000);
        compare(
            &format!("Lu-177 {voxel_mm} mm"),
            &rows,
            &[Check {
                offset: [1, 0, 0],
                reference: s100,
                tolerance: 0.20,
            }],
        );
        // Energy per decay [MeV] = S / 1e9 x voxel mass [kg] / J per MeV.
        let l: f64 = voxel_mm.parse().unwrap();
        let to_mev = 1e-9 * 1.04 * (l / 10.0).powi(3) * 1e-3 / 1.602_176_634e-13;
        let (_, s, rel) = rows[0];
        offsets.push(((s - s000) * to_mev, s * rel * to_mev));
    }
    let ((a, sa), (b, sb)) = (offsets[0], offsets[1]);
    println!("Lu-177 S(0,0,0) excess over Lanconelli: 4.8 mm {a:.5} +- {sa:.5} MeV, 3 mm {b:.5} +- {sb:.5} MeV per decay");
    assert!(
        (a - b).abs() <= 0.1 * (a + b) / 2.0 + 3.0 * (sa * sa + sb * sb).sqrt(),
        "the excess depends on the voxel size: {a} vs {b} MeV"
    );
}

/// Tc-99m, 3 mm: S(0,0,0) against MIRD Pamphlet 17 (Bolch et al. 1999, as transcribed in
/// J. Mikell's resample_radial_dose_point_kernels tests; not in the Lanconelli database).
/// The self-dose comes from conversion and Auger electrons (0.016 MeV per decay); 7 %, the
/// tolerance that transcription's own tests use for Tc-99m.
#[test]
fn tc99m_3mm_matches_mird17() {
    let dir = tempfile::tempdir().unwrap();
    let rows = kernel(dir.path(), "Tc-99m", "3", 40_000);
    compare(
        "Tc-99m 3 mm (MIRD 17)",
        &rows,
        &[Check {
            offset: [0, 0, 0],
            reference: 9.02e-2,
            tolerance: 0.07,
        }],
    );
}

/// I-131, 3 mm: self-dose within 5 %, first neighbour within 20 % (as for Lu-177).
#[test]
fn i131_3mm_matches_lanconelli() {
    let dir = tempfile::tempdir().unwrap();
    let rows = kernel(dir.path(), "I-131", "3", 40_000);
    compare(
        "I-131 3 mm",
        &rows,
        &[
            Check {
                offset: [0, 0, 0],
                reference: 8.99e-1,
                tolerance: 0.05,
            },
            Check {
                offset: [1, 0, 0],
                reference: 3.02e-2,
                tolerance: 0.20,
            },
        ],
    );
}

/// The file layout of docs/formats.md: attributes, a symmetric full cube consistent with
/// the octant table and the CSV (at its default path), and bit-identical results for one
/// and two threads.
#[test]
fn svalues_files_follow_the_documented_layout() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |name: &str, threads: &str| {
        pedisim(
            d,
            [
                "svalues",
                "--nuclide",
                "Lu-177",
                "--voxel-mm",
                "2",
                "--size",
                "5",
                "--histories",
                "50000",
                "--threads",
                threads,
                "-q",
                "-o",
                name,
            ],
        )
        .assert_success();
        d.join(name)
    };
    let p = run("lu.h5", "1");
    let attr = |n: &str| h5::read_attr_string(&p, "/", n).unwrap();
    assert_eq!(attr("format_name"), "pedisim-svalues");
    assert_eq!(attr("svalues_format_version"), "1.0");
    assert_eq!(attr("nuclide"), "Lu-177");
    assert_eq!(attr("material"), "soft_tissue");
    assert_eq!(attr("electron_transport"), "condensed");
    assert_eq!(attr("units_s_value"), "mGy/(MBq s)");
    assert!(attr("command_line").contains("svalues --nuclide Lu-177"));
    assert_eq!(h5::read_attr_u64(&p, "/", "size").unwrap(), 5);
    assert_eq!(h5::read_attr_u64(&p, "/", "histories").unwrap(), 50000);
    assert_eq!(h5::read_attr_u64(&p, "/", "threads").unwrap(), 1);
    // Nominal density of soft_tissue (data/materials.toml), used when none is given.
    let rho = h5::read_attr_f64(&p, "/", "density_g_cm3").unwrap();
    assert_eq!(rho, 1.06);
    let mass = h5::read_attr_f64(&p, "/", "voxel_mass_kg").unwrap();
    assert!((mass - 1.06 * 8e-3 * 1e-3).abs() < 1e-15, "{mass}");

    let (s, shape) = h5::read_f64_dataset(&p, "/s_value_mgy_per_mbq_s").unwrap();
    assert_eq!(shape, vec![5, 5, 5]);
    let (rel, shape) = h5::read_f64_dataset(&p, "/relative_uncertainty").unwrap();
    assert_eq!(shape, vec![5, 5, 5]);
    let at =
        |v: &[f64], i: i64, j: i64, k: i64| v[((i + 2) + 5 * ((j + 2) + 5 * (k + 2))) as usize];
    for (i, j, k) in [(1, 0, 0), (2, 1, 0), (2, 2, 1)] {
        let x = at(&s, i, j, k);
        assert!(x > 0.0);
        for (a, b, c) in [(j, k, i), (-k, i, -j), (-i, -j, -k), (k, -j, i)] {
            assert_eq!(at(&s, a, b, c), x, "({i},{j},{k}) vs ({a},{b},{c})");
            assert_eq!(at(&rel, a, b, c), at(&rel, i, j, k));
        }
    }
    assert!(at(&s, 0, 0, 0) > at(&s, 1, 0, 0) && at(&s, 1, 0, 0) > at(&s, 2, 0, 0));

    let rows = octant(&p);
    assert_eq!(rows.len(), 27);
    for (o, sv, r) in &rows {
        let [i, j, k] = o.map(|x| x as i64);
        assert_eq!(*sv, at(&s, i, j, k));
        assert!(r.is_finite() && *r > 0.0 && *r < 1.0, "{o:?}: {r}");
    }
    // The CSV at the default path: '#' header lines, a column line, the octant rows.
    let csv = std::fs::read_to_string(d.join("lu.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(csv.contains("# nuclide: Lu-177") && csv.contains("# density_g_cm3: 1.06"));
    assert!(csv.contains("# seed: 1") && csv.contains("mGy/(MBq s)"));
    assert_eq!(lines[0], "i,j,k,s_mgy_per_mbq_s,relative_uncertainty");
    assert_eq!(lines.len(), 28);
    for (line, (o, sv, r)) in lines[1..].iter().zip(&rows) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[..3], [o[0], o[1], o[2]].map(|x| x.to_string()));
        let (x, y): (f64, f64) = (f[3].parse().unwrap(), f[4].parse().unwrap());
        assert!((x - sv).abs() <= 1e-6 * sv, "{line}");
        assert!((y - r).abs() <= 1e-4 * r, "{line}");
    }
    // Two threads: the same bits.
    let q = run("lu2.h5", "2");
    assert_eq!(
        h5::read_f64_dataset(&q, "/s_value_mgy_per_mbq_s")
            .unwrap()
            .0,
        s
    );
    assert_eq!(
        h5::read_f64_dataset(&q, "/relative_uncertainty").unwrap().0,
        rel
    );
    assert_eq!(h5::read_attr_u64(&q, "/", "threads").unwrap(), 2);
}

/// Bad options are refused before anything is simulated (so with a huge history count the
/// command still returns at once), with an error naming the option and what was expected,
/// a non-zero exit status, and no output file.
#[test]
fn svalues_rejects_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = [
        "svalues",
        "--histories",
        "1000000000000",
        "-q",
        "-o",
        "out.h5",
    ];
    for (extra, needle) in [
        (
            vec!["--nuclide", "Y-90", "--voxel-mm", "3", "--size", "4"],
            "--size 4: expected an odd number",
        ),
        (
            vec!["--nuclide", "Y-90", "--voxel-mm", "3", "--size", "0"],
            "--size 0: expected an odd number",
        ),
        (
            vec!["--nuclide", "Y-90", "--voxel-mm", "3", "--size", "-3"],
            "--size -3: expected an odd number",
        ),
        (
            vec!["--nuclide", "Y-91x", "--voxel-mm", "3"],
            "--nuclide Y-91x: unknown nuclide",
        ),
        (
            vec![
                "--nuclide",
                "Y-90",
                "--voxel-mm",
                "3",
                "--material",
                "tissue",
            ],
            "--material tissue: unknown material",
        ),
        (
            vec!["--nuclide", "Y-90", "--voxel-mm", "0"],
            "--voxel-mm 0: expected a positive",
        ),
        (
            vec![
                "--nuclide",
                "Y-90",
                "--voxel-mm",
                "3",
                "--density-g-cm3",
                "-1",
            ],
            "--density-g-cm3 -1: expected a positive",
        ),
        (
            vec![
                "--nuclide",
                "Tc-99m",
                "--voxel-mm",
                "3",
                "--electron-cutoff-kev",
                "500",
            ],
            "--electron-cutoff-kev 500: at or above the highest energy",
        ),
        (
            vec![
                "--nuclide",
                "Y-90",
                "--voxel-mm",
                "3",
                "--csv",
                "no/such/dir/k.csv",
            ],
            "does not exist",
        ),
    ] {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(&extra);
        let o = pedisim_within(d, &args, std::time::Duration::from_secs(20));
        assert_ne!(o.code, Some(0), "{extra:?} was accepted");
        assert!(
            o.stderr.contains(needle),
            "{extra:?}: expected '{needle}' in:\n{}",
            o.stderr
        );
        assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
        assert!(tree(d).is_empty(), "{extra:?} left {:?}", tree(d));
    }
}
