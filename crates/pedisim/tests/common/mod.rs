//! Shared helpers for the `pedisim` command-line integration tests: running the compiled
//! binary in a directory, writing configurations and NIfTI inputs, listing a directory.
#![allow(dead_code)]

use pedisim_core::GridGeometry;
use pedisim_io::nifti_io;
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run of the binary gave.
#[derive(Debug)]
pub struct Outcome {
    /// Exit code (None if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Outcome {
    /// Panics with the whole output unless the run succeeded.
    pub fn assert_success(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "pedisim failed\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs `pedisim ARGS...` with `cwd` as the working directory.
pub fn pedisim<I, S>(cwd: &Path, args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_pedisim"))
        .args(args)
        .current_dir(cwd)
        // HDF5 file locking can fail on some file systems (tmpfs over NFS, ...).
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .output()
        .expect("cannot start the pedisim binary");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `pedisim ARGS...` from `cwd` like [`pedisim`], but kills it and panics if it has not
/// finished after `limit`: used where a run must be refused before it starts simulating
/// (the configurations ask for so many histories that a simulation would not finish).
pub fn pedisim_within<I, S>(cwd: &Path, args: I, limit: Duration) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(env!("CARGO_BIN_EXE_pedisim"))
        .args(args)
        .current_dir(cwd)
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the pedisim binary");
    let t0 = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "pedisim was still running after {limit:?}: the input was not rejected before \
                 the simulation started\n--- stderr\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `pedisim run CONFIG --quiet EXTRA...` from `cwd`.
pub fn run_config(cwd: &Path, config: &Path, extra: &[&str]) -> Outcome {
    let mut args: Vec<&OsStr> = vec![OsStr::new("run"), config.as_os_str(), OsStr::new("--quiet")];
    args.extend(extra.iter().map(OsStr::new));
    pedisim(cwd, args)
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A TOML string literal for a path (forward slashes are fine on every platform we run).
pub fn toml_path(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

/// The names of every entry below `dir` (recursive, relative paths), to check that a run
/// left nothing behind.
pub fn tree(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            out.insert(p.strip_prefix(root).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

/// The `[run]` section used by most tests: few histories, fixed seed.
pub fn run_section(histories: u64, seed: u64) -> String {
    format!("[run]\nhistories = {histories}\nbatches = 10\nseed = {seed}\n")
}

/// A soft-tissue sphere (label 1, radius 16 mm) in air (label 0) on a 20^3 grid of 2 mm
/// voxels.
pub const SPHERE_PHANTOM: &str = r#"
[phantom]
kind = "sphere"
material = "soft_tissue"
background = "air"
radius_mm = 16.0
size_mm = [40.0, 40.0, 40.0]
voxel_mm = [2.0, 2.0, 2.0]
"#;

/// Tc-99m spread uniformly (per unit mass) over label 1.
pub const TC99M_UNIFORM: &str = r#"
[source]
kind = "uniform"
nuclide = "Tc-99m"
labels = [1]
"#;

/// A complete smoke-like configuration (sphere phantom, Tc-99m uniform source) whose
/// `[output]` writes `output` (and `dose_nifti` when given).
pub fn smoke_config(histories: u64, seed: u64, output: &Path, dose_nifti: Option<&Path>) -> String {
    let mut s = run_section(histories, seed);
    s.push_str(SPHERE_PHANTOM);
    s.push_str(TC99M_UNIFORM);
    s.push_str(&format!("\n[output]\npath = {}\n", toml_path(output)));
    if let Some(d) = dose_nifti {
        s.push_str(&format!("dose_nifti = {}\n", toml_path(d)));
    }
    s
}

/// The 16^3 grid of the NIfTI phantom tests: 2 mm voxels, an off-centre origin and the x
/// axis flipped (a radiological-style affine).
pub fn nifti_grid() -> GridGeometry {
    GridGeometry::new(
        [16, 16, 16],
        [2.0, 2.0, 2.0],
        [31.0, -12.5, 40.0],
        [-1.0, 1.0, 1.0],
    )
    .unwrap()
}

/// Whether voxel `(ix, iy, iz)` of [`nifti_grid`] is in the bone block (label 2). The block
/// is off-centre so that a mix-up of axes or a flip would move it.
pub fn in_bone(ix: usize, iy: usize, iz: usize) -> bool {
    (4..8).contains(&ix) && (6..10).contains(&iy) && (8..12).contains(&iz)
}

/// Labels of the NIfTI phantom: 0 (air) in a 2-voxel shell, 1 (soft tissue) inside, 2
/// (cortical bone) in the block of [`in_bone`]. Flat, x fastest.
pub fn nifti_labels(grid: &GridGeometry) -> Vec<u32> {
    let [nx, ny, nz] = grid.dims;
    let mut v = Vec::with_capacity(grid.len());
    for iz in 0..nz {
        for iy in 0..ny {
            for ix in 0..nx {
                let inside = |i: usize, n: usize| i >= 2 && i + 2 < n;
                v.push(if in_bone(ix, iy, iz) {
                    2
                } else if inside(ix, nx) && inside(iy, ny) && inside(iz, nz) {
                    1
                } else {
                    0
                });
            }
        }
    }
    v
}

/// The label table of the NIfTI phantom; bone has a density override of 1.85 g/cm3.
pub const LABEL_TABLE: &str = r#"
[[label]]
value = 0
name = "outside"
material = "air"

[[label]]
value = 1
name = "body"
material = "soft_tissue"

[[label]]
value = 2
name = "bone_block"
material = "cortical_bone"
density_g_cm3 = 1.85
"#;

/// Writes the NIfTI phantom inputs into `dir`: `labels.nii.gz`, `table.toml` and
/// `activity.nii.gz` (activity 1 in every bone voxel, 0 elsewhere).
pub fn write_nifti_inputs(dir: &Path) {
    let grid = nifti_grid();
    let labels = nifti_labels(&grid);
    nifti_io::write_labels(&dir.join("labels.nii.gz"), &grid, &labels).unwrap();
    write(dir, "table.toml", LABEL_TABLE);
    let act: Vec<f64> = labels
        .iter()
        .map(|&l| if l == 2 { 1.0 } else { 0.0 })
        .collect();
    nifti_io::write_f32(&dir.join("activity.nii.gz"), &grid, &act, "test activity").unwrap();
}

/// Relative difference `|a - b| / max(|a|, |b|)` (0 when both are 0).
pub fn rel_diff(a: f64, b: f64) -> f64 {
    let m = a.abs().max(b.abs());
    if m == 0.0 {
        0.0
    } else {
        (a - b).abs() / m
    }
}

/// Starts `pedisim ARGS...` from `cwd` in the background, stderr captured, for the tests
/// that interrupt or sabotage a run while it works.
pub fn spawn_pedisim(cwd: &Path, args: &[&OsStr]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_pedisim"))
        .args(args)
        .current_dir(cwd)
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `path` exists, polling every 5 ms (fails after 300 s).
pub fn wait_for_file(path: &Path) {
    let t0 = Instant::now();
    while !path.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends SIGTERM to `child`, as Slurm does before the wall time.
pub fn sigterm(child: &std::process::Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

/// Writes `ball.nii.gz` and `ball.labels.toml` (with the given table text) into `dir`: a
/// 40 x 40 x 40 grid of 4 mm voxels centred on the origin, a 60 mm radius ball (label 1)
/// in label 0, two 16 mm cubes (labels 2 at x = -20 mm and 3 at x = +20 mm, symmetric about
/// the centre) and a lung-shaped ellipsoid (label 4, semi-axes 20, 10, 20 mm at y = 32 mm).
/// Returns the map's path. Used by the S-matrix and organ-dose tests.
pub fn write_ball_phantom(dir: &Path, table: &str) -> PathBuf {
    let n = 40usize;
    let v = 4.0;
    let grid = GridGeometry::centred([n; 3], [v; 3]).unwrap();
    let mut labels = vec![0u32; grid.len()];
    for iz in 0..n {
        for iy in 0..n {
            for ix in 0..n {
                let c = |i: usize| (i as f64 + 0.5) * v - 0.5 * n as f64 * v;
                let (x, y, z) = (c(ix), c(iy), c(iz));
                let i = ix + n * (iy + n * iz);
                if x * x + y * y + z * z < 60.0 * 60.0 {
                    labels[i] = 1;
                }
                if y.abs() < 8.0 && z.abs() < 8.0 {
                    if (x + 20.0).abs() < 8.0 {
                        labels[i] = 2;
                    } else if (x - 20.0).abs() < 8.0 {
                        labels[i] = 3;
                    }
                }
                if (y - 32.0).powi(2) / 100.0 + x * x / 400.0 + z * z / 400.0 < 1.0 {
                    labels[i] = 4;
                }
            }
        }
    }
    let map = dir.join("ball.nii.gz");
    nifti_io::write_labels(&map, &grid, &labels).unwrap();
    write(dir, "ball.labels.toml", table);
    map
}
