//! `pedisim_driver::report::report`: PNG figures of a dose file written with
//! `pedisim_io::h5::write_dose`.

use pedisim_core::GridGeometry;
use pedisim_driver::report::{report, DVH_PNG, SLICES_PNG};
use pedisim_driver::DvhTables;
use pedisim_io::h5::{self, AttrValue, DoseOutput, OrganRow, TableFile};
use pedisim_report::Canvas;
use std::path::{Path, PathBuf};

/// A fresh directory under the system temporary directory, removed at drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("pedisim-report-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const J_PER_MEV: f64 = 1.602_176_634e-13;

/// A 14 x 12 x 10 grid of 3 x 3 x 4 mm voxels: air (label 0) around a body of soft
/// tissue (label 1 "body"), a "liver" block (label 2, density 1.06), a "spleen" block
/// (label 3), an "Air" cavity (label 4, air material) and a "void" label 5 without voxels.
/// The dose is a Gaussian centred in the liver, zero in air.
struct Sample {
    grid: GridGeometry,
    dose: Vec<f64>,
    energy: Vec<f64>,
    unc: Vec<f64>,
    labels: Vec<u32>,
    density: Vec<f64>,
    organs: Vec<OrganRow>,
}

impl Sample {
    fn new() -> Self {
        let grid = GridGeometry::new(
            [14, 12, 10],
            [3.0, 3.0, 4.0],
            [20.0, 16.0, -18.0],
            [-1.0, -1.0, 1.0],
        )
        .unwrap();
        let [nx, ny, nz] = grid.dims;
        let n = nx * ny * nz;
        let mut labels = vec![0u32; n];
        let mut density = vec![0.0012; n];
        let mut dose = vec![0.0; n];
        for i in 0..n {
            let (x, y, z) = (i % nx, (i / nx) % ny, i / (nx * ny));
            if (1..nx - 1).contains(&x) && (1..ny - 1).contains(&y) && (1..nz - 1).contains(&z) {
                labels[i] = 1;
                density[i] = 1.03;
                if (2..7).contains(&x) && (3..8).contains(&y) && (3..7).contains(&z) {
                    labels[i] = 2;
                    density[i] = 1.06;
                } else if (9..12).contains(&x) && (3..6).contains(&y) && (3..6).contains(&z) {
                    labels[i] = 3;
                } else if x == 10 && y == 8 && z == 4 {
                    labels[i] = 4;
                    density[i] = 0.0012;
                }
                let r2 = ((x as f64 - 4.0) * 3.0).powi(2)
                    + ((y as f64 - 5.0) * 3.0).powi(2)
                    + ((z as f64 - 5.0) * 4.0).powi(2);
                dose[i] = 2.0e-13 * (-r2 / (2.0 * 100.0)).exp();
            }
        }
        let voxel_kg = 36.0 * 1e-6;
        let energy: Vec<f64> = (0..n)
            .map(|i| dose[i] * density[i] * voxel_kg / J_PER_MEV)
            .collect();
        let unc = energy
            .iter()
            .map(|e| if *e > 0.0 { 0.05 } else { f64::NAN })
            .collect();
        let row = |label: u32, name: &str, material: &str| {
            let idx: Vec<usize> = (0..n).filter(|i| labels[*i] == label).collect();
            let mass: f64 = idx.iter().map(|i| density[*i] * voxel_kg).sum();
            let e: f64 = idx.iter().map(|i| energy[*i]).sum();
            OrganRow {
                label,
                name: name.into(),
                material: material.into(),
                mass_kg: mass,
                energy_deposit_mev: e,
                dose_gy: if mass > 0.0 {
                    e * J_PER_MEV / mass
                } else {
                    0.0
                },
                relative_uncertainty: 0.05,
            }
        };
        let organs = vec![
            row(0, "outside", "air"),
            row(1, "body", "soft tissue"),
            row(2, "liver", "soft tissue"),
            row(3, "spleen", "soft tissue"),
            row(4, "Air", "air"),
            row(5, "void", "soft tissue"),
        ];
        Sample {
            grid,
            dose,
            energy,
            unc,
            labels,
            density,
            organs,
        }
    }

    /// The DVH tables as the run writes them (labels with mass).
    fn dvh(&self) -> DvhTables {
        let voxel_kg = 36.0 * 1e-6;
        let mut t = DvhTables::default();
        for o in &self.organs {
            let idx: Vec<usize> = (0..self.dose.len())
                .filter(|i| self.labels[*i] == o.label)
                .collect();
            if idx.is_empty() {
                continue;
            }
            let d: Vec<f64> = idx.iter().map(|i| self.dose[*i]).collect();
            let m: Vec<f64> = idx.iter().map(|i| self.density[*i] * voxel_kg).collect();
            let h = pedisim_dosimetry::dvh::cumulative_dvh(&o.name, &d, &m).unwrap();
            t.label.push(o.label as u64);
            t.name.push(o.name.clone());
            for (k, v) in [h.d_min, h.d98, h.d50, h.d2, h.d_max, h.d_mean]
                .into_iter()
                .enumerate()
            {
                t.summary_gy[k].push(v);
            }
            for j in 0..101 {
                let level = h.d_max * j as f64 / 100.0;
                t.curve_label.push(o.label as u64);
                t.curve_dose_gy.push(level);
                t.curve_fraction.push(h.fraction_at_least_dose(level));
            }
        }
        t
    }

    fn write(&self, path: &Path, with_dvh: bool) {
        let dvh = self.dvh();
        let groups = if with_dvh { dvh.groups() } else { Vec::new() };
        let root = vec![("histories".to_string(), AttrValue::U64(1000))];
        let out = DoseOutput {
            grid: &self.grid,
            energy_deposit_mev: &self.energy,
            dose_gy: &self.dose,
            relative_uncertainty: &self.unc,
            labels: &self.labels,
            density_g_cm3: &self.density,
            organs: &self.organs,
            root_attrs: &root,
            summary_attrs: &[],
            tables: &groups,
        };
        h5::write_dose(path, &out).unwrap();
    }
}

fn png(path: &Path) -> Canvas {
    Canvas::from_png(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn figures_are_written_from_the_dvh_group_or_computed_alike() {
    let s = Sample::new();
    let dir = TempDir::new("both");
    let (a, b) = (dir.0.join("a"), dir.0.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    // Same file name in both, so that the titles agree.
    s.write(&a.join("result.h5"), true);
    s.write(&b.join("result.h5"), false);
    let out_a = a.join("figures/nested");
    let written = report(&a.join("result.h5"), &out_a, None).unwrap();
    assert_eq!(written, vec![out_a.join(SLICES_PNG), out_a.join(DVH_PNG)]);
    let slices = png(&written[0]);
    assert!(slices.width() > 600 && slices.height() > 300);
    // Dose colours (not grey, not white, not black) are present.
    let coloured = (0..slices.height())
        .flat_map(|y| (0..slices.width()).map(move |x| (x, y)))
        .filter(|(x, y)| {
            let p = slices.pixel(*x, *y).unwrap();
            !(p[0] == p[1] && p[1] == p[2])
        })
        .count();
    assert!(coloured > 1000, "{coloured}");
    // Without /dvh the curves are computed from the voxels: the same figure.
    let out_b = b.join("figures");
    let written_b = report(&b.join("result.h5"), &out_b, None).unwrap();
    assert_eq!(
        std::fs::read(&written[1]).unwrap(),
        std::fs::read(&written_b[1]).unwrap()
    );
    assert_eq!(
        std::fs::read(&written[0]).unwrap(),
        std::fs::read(&written_b[0]).unwrap()
    );
    // No temporary files are left.
    for d in [&out_a, &out_b] {
        for e in std::fs::read_dir(d).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.contains("tmp"), "{name}");
        }
    }
    // The legend lists body, liver and spleen: three colours of tab10 beside the plot,
    // and not the air labels (a fourth colour would be red, tab10[3]).
    let dvh = png(&written[1]);
    let has = |c: [u8; 3]| {
        (0..dvh.height()).any(|y| (96 + 720..dvh.width()).any(|x| dvh.pixel(x, y) == Some(c)))
    };
    let tab10 = pedisim_report::colormap::TAB10;
    assert!(has(tab10[0]) && has(tab10[1]) && has(tab10[2]));
    assert!(!has(tab10[3]));
}

#[test]
fn a_chosen_slice_voxel_changes_the_slices() {
    let s = Sample::new();
    let dir = TempDir::new("slice");
    let f = dir.0.join("r.h5");
    s.write(&f, true);
    let max = report(&f, &dir.0.join("max"), None).unwrap();
    let other = report(&f, &dir.0.join("other"), Some([10, 4, 4])).unwrap();
    assert_ne!(
        std::fs::read(&max[0]).unwrap(),
        std::fs::read(&other[0]).unwrap()
    );
    let e = report(&f, &dir.0.join("bad"), Some([14, 0, 0]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("r.h5") && e.contains("outside"), "{e}");
}

#[test]
fn bad_files_are_errors_naming_the_file_and_object() {
    let dir = TempDir::new("bad");
    // No such file.
    let e = report(&dir.0.join("missing.h5"), &dir.0, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.h5"), "{e}");
    // A file of another layout major version.
    let f = dir.0.join("v2.h5");
    let t = TableFile {
        format_name: "pedisim-dose",
        format_version: ("format_version", "2.0"),
        root_attrs: &[],
        groups: Vec::new(),
        matrices: Vec::new(),
        volumes: Vec::new(),
    };
    h5::write_table_file(&f, &t).unwrap();
    let e = report(&f, &dir.0.join("out"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("v2.h5") && e.contains("2.0"), "{e}");
    // Layout 1 without the datasets.
    let f = dir.0.join("empty.h5");
    let root = vec![
        ("dims_xyz".to_string(), AttrValue::U64Array(vec![2, 2, 2])),
        (
            "voxel_size_mm".to_string(),
            AttrValue::F64Array(vec![1.0; 3]),
        ),
        ("origin_mm".to_string(), AttrValue::F64Array(vec![0.0; 3])),
    ];
    let t = TableFile {
        format_name: "pedisim-dose",
        format_version: ("format_version", "1.5"),
        root_attrs: &root,
        groups: Vec::new(),
        matrices: Vec::new(),
        volumes: Vec::new(),
    };
    h5::write_table_file(&f, &t).unwrap();
    let e = report(&f, &dir.0.join("out"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty.h5") && e.contains("/dose/dose_gy"), "{e}");
    // Nothing was written for the failures.
    assert!(!dir.0.join("out").join(SLICES_PNG).exists());
}
