//! Cross-checks with independent readers: h5py, nibabel, h5dump, and
//! `scripts/check_dose_h5.py`.
//!
//! Uses `$PEDISIM_PYTHON` or `/opt/pyenv/bin/python` when it exists and has h5py, nibabel
//! and numpy; otherwise the checks are skipped (with a message), not failed.

mod common;

use common::Sample;
use pedisim_core::GridGeometry;
use pedisim_io::h5::{self, AttrValue, DoseOutput};
use pedisim_io::nifti_io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The tests of this file run one at a time: HDF5 opens files without `O_CLOEXEC`, so a
/// Python child spawned by one test while another test's HDF5 file is open inherits that
/// descriptor and its `flock` lock, and h5py in the other test then fails to lock the file.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn python() -> Option<PathBuf> {
    let candidates = std::env::var_os("PEDISIM_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/opt/pyenv/bin/python")]);
    for p in candidates {
        if !p.exists() {
            continue;
        }
        let ok = Command::new(&p)
            .args(["-c", "import h5py, nibabel, numpy"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return Some(p);
        }
        eprintln!("{} lacks h5py/nibabel/numpy", p.display());
    }
    None
}

fn run_py(py: &Path, script: &str, args: &[&Path]) -> std::process::Output {
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    eprintln!(
        "--- python stdout:\n{}--- python stderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn write_bytes<T: Copy>(path: &Path, values: &[T], to_le: impl Fn(T) -> Vec<u8>) {
    let bytes: Vec<u8> = values.iter().flat_map(|&v| to_le(v)).collect();
    std::fs::write(path, bytes).unwrap();
}

fn checker() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/check_dose_h5.py")
}

const H5PY_CHECK: &str = r#"
import sys, h5py, numpy as np
path, energy_bin, labels_bin = sys.argv[1:4]
f = h5py.File(path, "r")
e = np.fromfile(energy_bin, dtype="<f8")
lab = np.fromfile(labels_bin, dtype="<u4")
ds = f["dose/energy_deposit_mev"]
assert ds.shape == (5, 4, 3), ds.shape
assert ds.dtype == np.float64
assert ds.compression == "gzip" and ds.compression_opts == 4 and ds.shuffle, (ds.compression, ds.shuffle)
assert ds.chunks is not None
np.testing.assert_array_equal(ds[()].ravel(), e)
# voxel (ix, iy, iz) = (2, 3, 4) is [iz, iy, ix]
assert ds[4, 3, 2] == e[2 + 3 * (3 + 4 * 4)]
u = f["dose/relative_uncertainty"][()]
assert np.array_equal(np.isnan(u), ds[()] == 0)
L = f["phantom/labels"]
assert L.dtype == np.uint32 and L.shape == (5, 4, 3)
np.testing.assert_array_equal(L[()].ravel(), lab)
assert f["phantom/density_g_cm3"].attrs["units"] == "g/cm3"
assert f.attrs["format_version"] == "1.5"
assert isinstance(f.attrs["config_toml"], str) and "é" in f.attrs["config_toml"]
assert f.attrs["seed"] == 42 and f.attrs["seed"].dtype == np.uint64
assert list(f.attrs["voxel_size_mm"]) == [2.0, 2.5, 3.0]
assert list(f.attrs["dims_xyz"]) == [3, 4, 5]
names = f["organs/name"].asstr()[()]
assert list(names) == ["liver", "Knochenmark — rot", "tumour"], names
assert list(f["organs/label"][()]) == [1, 2, 70000]
assert h5py.check_string_dtype(f["organs/material"].dtype).encoding == "utf-8"
assert f["summary"].attrs["uncollided_escapes"] == 17
print("h5py OK", f.attrs["hdf5_library_version"])
"#;

const NIBABEL_CHECK: &str = r#"
import sys, json, nibabel as nib, numpy as np
dose_path, labels_path, dose_bin, labels_bin, affine_json = sys.argv[1:6]
aff = np.array(json.loads(open(affine_json).read()))
img = nib.load(dose_path)
assert img.shape == (3, 4, 5), img.shape
assert img.get_data_dtype() == np.float32
np.testing.assert_allclose(img.affine, aff, atol=1e-5)
np.testing.assert_allclose(img.get_qform(), aff, atol=1e-5)
assert int(img.header["sform_code"]) == 1 and int(img.header["qform_code"]) == 1
assert img.header.get_xyzt_units()[0] == "mm"
d = np.asanyarray(img.dataobj)
np.testing.assert_array_equal(d.ravel(order="F"), np.fromfile(dose_bin, dtype="<f4"))
assert img.header["descrip"].tobytes().startswith(b"pedisim dose_gy per decay")
lab = nib.load(labels_path)
assert lab.get_data_dtype() == np.uint16
np.testing.assert_allclose(lab.affine, aff, atol=1e-5)
np.testing.assert_array_equal(np.asanyarray(lab.dataobj).ravel(order="F"),
                              np.fromfile(labels_bin, dtype="<u4"))
print("nibabel OK")
"#;

/// nibabel writes files for the Rust readers: qform only (flipped axes, int16 scaled), and
/// sform only (float64).
const NIBABEL_WRITE: &str = r#"
import sys, nibabel as nib, numpy as np
out_q, out_s = sys.argv[1:3]
aff = np.array([[-2.0, 0, 0, 30.0], [0, 1.5, 0, -4.0], [0, 0, -3.0, 12.5], [0, 0, 0, 1]])
data = (np.arange(24, dtype=np.int16).reshape((2, 3, 4), order="F") * 3)
img = nib.Nifti1Image(data, None)
img.set_qform(aff, code=1)
img.set_sform(None, code=0)
img.header.set_slope_inter(0.5, -1.0)
img.header.set_xyzt_units("mm")
nib.save(img, out_q)
data2 = np.arange(24, dtype=np.float64).reshape((2, 3, 4), order="F") / 7.0
img2 = nib.Nifti1Image(data2, aff)
img2.set_qform(None, code=0)
img2.header.set_xyzt_units("mm")
nib.save(img2, out_s)
print("nibabel wrote files")
"#;

#[test]
fn h5py_reads_the_dose_file_and_the_checker_accepts_it() {
    let _guard = serial();
    let Some(py) = python() else {
        eprintln!("SKIPPED: no python with h5py + nibabel + numpy (set PEDISIM_PYTHON)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dose.h5");
    let s = Sample::new();
    h5::write_dose(&path, &s.output()).unwrap();
    let energy_bin = dir.path().join("energy.bin");
    let labels_bin = dir.path().join("labels.bin");
    write_bytes(&energy_bin, &s.energy, |v: f64| v.to_le_bytes().to_vec());
    write_bytes(&labels_bin, &s.labels, |v: u32| v.to_le_bytes().to_vec());
    let out = run_py(&py, H5PY_CHECK, &[&path, &energy_bin, &labels_bin]);
    assert!(out.status.success(), "h5py cross-check failed");

    let out = Command::new(&py)
        .arg(checker())
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && stdout.contains("OK"),
        "checker rejected a good file"
    );

    // h5dump (HDF5 1.10 tools) reads it too, when installed.
    if let Ok(o) = Command::new("h5dump").arg("-H").arg(&path).output() {
        assert!(
            o.status.success(),
            "h5dump failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("energy_deposit_mev") && text.contains("H5T_STRING"));
    } else {
        eprintln!("h5dump not installed: skipped");
    }
}

#[test]
fn checker_rejects_inconsistent_files() {
    let _guard = serial();
    let Some(py) = python() else {
        eprintln!("SKIPPED: no python with h5py + nibabel + numpy (set PEDISIM_PYTHON)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = Sample::new();

    // Energy balance broken.
    let mut summary = s.summary.clone();
    summary[0].1 = AttrValue::F64(1.0);
    let path = dir.path().join("balance.h5");
    h5::write_dose(
        &path,
        &DoseOutput {
            summary_attrs: &summary,
            tables: &[],
            ..s.output()
        },
    )
    .unwrap();
    let out = Command::new(&py)
        .arg(checker())
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("energy balance"), "{stderr}");

    // Voxel tally does not match the total; uncertainty not NaN where nothing deposited;
    // an attribute missing.
    let mut unc = s.unc.clone();
    unc[0] = 0.5;
    let mut energy = s.energy.clone();
    energy[1] *= 2.0;
    let root: Vec<_> = s
        .root
        .iter()
        .filter(|(k, _)| k != "config_toml")
        .cloned()
        .collect();
    let path = dir.path().join("tally.h5");
    let out_bad = DoseOutput {
        relative_uncertainty: &unc,
        energy_deposit_mev: &energy,
        root_attrs: &root,
        ..s.output()
    };
    h5::write_dose(&path, &out_bad).unwrap();
    let out = Command::new(&py)
        .arg(checker())
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sum(energy_deposit_mev)"), "{stderr}");
    assert!(
        stderr.contains("not NaN") && stderr.contains("(0, 0, 0)"),
        "{stderr}"
    );
    assert!(stderr.contains("config_toml"), "{stderr}");

    // Not an HDF5 file.
    let junk = dir.path().join("junk.h5");
    std::fs::write(&junk, "junk").unwrap();
    let out = Command::new(&py)
        .arg(checker())
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn nibabel_reads_our_nifti_and_we_read_nibabels() {
    let _guard = serial();
    let Some(py) = python() else {
        eprintln!("SKIPPED: no python with h5py + nibabel + numpy (set PEDISIM_PYTHON)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let grid = GridGeometry::new(
        [3, 4, 5],
        [1.5, 2.0, 2.5],
        [40.0, -12.5, 30.25],
        [-1.0, 1.0, -1.0],
    )
    .unwrap();
    let n = grid.len();
    let dose: Vec<f64> = (0..n).map(|i| 1e-11 * (i as f64 + 1.0)).collect();
    let labels: Vec<u32> = (0..n).map(|i| (i * 13 % 17) as u32).collect();
    let dose_path = dir.path().join("dose.nii.gz");
    let labels_path = dir.path().join("labels.nii");
    nifti_io::write_f32(&dose_path, &grid, &dose, "pedisim dose_gy per decay").unwrap();
    nifti_io::write_labels(&labels_path, &grid, &labels).unwrap();
    let dose_bin = dir.path().join("dose.bin");
    let labels_bin = dir.path().join("labels.bin");
    write_bytes(&dose_bin, &dose, |v: f64| (v as f32).to_le_bytes().to_vec());
    write_bytes(&labels_bin, &labels, |v: u32| v.to_le_bytes().to_vec());
    let affine_json = dir.path().join("affine.json");
    std::fs::write(&affine_json, format!("{:?}", grid.affine())).unwrap();
    let out = run_py(
        &py,
        NIBABEL_CHECK,
        &[
            &dose_path,
            &labels_path,
            &dose_bin,
            &labels_bin,
            &affine_json,
        ],
    );
    assert!(out.status.success(), "nibabel cross-check failed");

    // Files written by nibabel, read by us.
    let q = dir.path().join("qform.nii.gz");
    let s = dir.path().join("sform.nii");
    let out = run_py(&py, NIBABEL_WRITE, &[&q, &s]);
    assert!(out.status.success(), "nibabel writer failed");
    let expected = GridGeometry::from_affine(
        [2, 3, 4],
        [
            [-2.0, 0.0, 0.0, 30.0],
            [0.0, 1.5, 0.0, -4.0],
            [0.0, 0.0, -3.0, 12.5],
        ],
    )
    .unwrap();
    let v = nifti_io::read_scalar(&q).unwrap();
    assert_grid_close(&v.grid, &expected);
    for (i, x) in v.data.iter().enumerate() {
        assert_eq!(*x, (3 * i) as f64 * 0.5 - 1.0, "voxel {i}");
    }
    let v = nifti_io::read_scalar(&s).unwrap();
    assert_grid_close(&v.grid, &expected);
    for (i, x) in v.data.iter().enumerate() {
        assert!((x - i as f64 / 7.0).abs() < 1e-15, "voxel {i}");
    }
    let err = nifti_io::read_labels(&s).unwrap_err();
    assert!(err.to_string().contains("(1, 0, 0)"), "{err}");
}

fn assert_grid_close(a: &GridGeometry, b: &GridGeometry) {
    assert_eq!(a.dims, b.dims);
    assert_eq!(a.axis_sign, b.axis_sign, "{a:?} vs {b:?}");
    for k in 0..3 {
        assert!(
            (a.voxel_mm[k] - b.voxel_mm[k]).abs() < 1e-5,
            "{a:?} vs {b:?}"
        );
        assert!(
            (a.origin_mm[k] - b.origin_mm[k]).abs() < 1e-5,
            "{a:?} vs {b:?}"
        );
    }
}
