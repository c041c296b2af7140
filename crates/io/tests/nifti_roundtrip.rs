//! NIfTI input and output: round trips with flipped axes, datatypes, errors.

mod common;

use pedisim_core::GridGeometry;
use pedisim_io::nifti_io::{read_labels, read_scalar, write_f32, write_labels};
use pedisim_io::IoError;
use std::path::Path;

fn flipped_grid() -> GridGeometry {
    // x flipped, z flipped: an odd number of flips is tested below too.
    GridGeometry::new(
        [3, 4, 5],
        [1.5, 2.0, 2.5],
        [40.0, -12.5, 30.25],
        [-1.0, 1.0, -1.0],
    )
    .unwrap()
}

fn assert_grid_eq(a: &GridGeometry, b: &GridGeometry) {
    assert_eq!(a.dims, b.dims);
    for k in 0..3 {
        assert!(
            (a.voxel_mm[k] - b.voxel_mm[k]).abs() < 1e-6,
            "{a:?} vs {b:?}"
        );
        assert!(
            (a.origin_mm[k] - b.origin_mm[k]).abs() < 1e-5,
            "{a:?} vs {b:?}"
        );
        assert_eq!(a.axis_sign[k], b.axis_sign[k], "{a:?} vs {b:?}");
    }
}

/// Reads the raw header written by the crate.
fn header(path: &Path) -> nifti::NiftiHeader {
    nifti::NiftiHeader::from_file(path).unwrap()
}

#[test]
fn labels_round_trip_nii_and_gz_with_flipped_axes() {
    let dir = tempfile::tempdir().unwrap();
    for grid in [flipped_grid(), common::grid()] {
        let n = grid.len();
        for (name, big) in [
            ("labels.nii", false),
            ("labels.nii.gz", false),
            ("big.nii.gz", true),
        ] {
            let mut data: Vec<u32> = (0..n).map(|i| (i * 7 % 11) as u32).collect();
            if big {
                data[17] = 100_000;
            }
            let path = dir.path().join(name);
            write_labels(&path, &grid, &data).unwrap();
            let v = read_labels(&path).unwrap();
            assert_grid_eq(&v.grid, &grid);
            assert_eq!(v.data, data, "{name}");
            let h = header(&path);
            assert_eq!(h.datatype, if big { 8 } else { 512 }, "{name}");
            assert_eq!((h.sform_code, h.qform_code), (1, 1));
            assert_eq!(h.xyzt_units & 7, 2);
            assert_eq!(&h.dim[..4], &[3, 3, 4, 5]);
            // The qform alone gives the same grid as the sform.
            let qgrid = qform_grid(&h);
            assert_grid_eq(&qgrid, &grid);
        }
    }
    assert!(common::temp_files(dir.path()).is_empty());
}

/// The grid from the qform only, by rewriting the file with sform_code = 0.
fn qform_grid(h: &nifti::NiftiHeader) -> GridGeometry {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.nii");
    let mut h2 = h.clone();
    h2.sform_code = 0;
    h2.srow_x = [9.0; 4];
    let n = h.dim[1] as usize * h.dim[2] as usize * h.dim[3] as usize;
    let data =
        ndarray::Array3::<f32>::zeros((h.dim[1] as usize, h.dim[2] as usize, h.dim[3] as usize));
    assert_eq!(data.len(), n);
    nifti::writer::WriterOptions::new(&path)
        .reference_header(&h2)
        .write_nifti(&data)
        .unwrap();
    read_scalar(&path).unwrap().grid
}

#[test]
fn f32_round_trip_keeps_values_nan_and_description() {
    let dir = tempfile::tempdir().unwrap();
    let grid = flipped_grid();
    let n = grid.len();
    let mut data: Vec<f64> = (0..n).map(|i| 1e-12 * (i as f64 + 0.5)).collect();
    data[3] = f64::NAN;
    data[4] = -2.0;
    let long = "pedisim dose_gy per decay ".repeat(5) + "ééé";
    for name in ["dose.nii", "dose.nii.gz", "my.dose.v2.nii.gz"] {
        let path = dir.path().join(name);
        write_f32(&path, &grid, &data, &long).unwrap();
        assert!(path.exists(), "{name}");
        let v = read_scalar(&path).unwrap();
        assert_grid_eq(&v.grid, &grid);
        for i in 0..n {
            let expect = data[i] as f32 as f64;
            assert!(common::same(v.data[i], expect), "{name}[{i}]");
        }
        let h = header(&path);
        assert_eq!(h.datatype, 16);
        let d = &h.descrip;
        let end = d.iter().position(|&b| b == 0).unwrap();
        assert!(end <= 79);
        assert!(std::str::from_utf8(&d[..end])
            .unwrap()
            .starts_with("pedisim dose_gy per decay"));
    }
    // Only the requested files exist (no stray temporaries, no renamed-by-extension file).
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["dose.nii", "dose.nii.gz", "my.dose.v2.nii.gz"]);
}

#[test]
fn float_label_maps_must_be_integral_and_non_negative() {
    let dir = tempfile::tempdir().unwrap();
    let grid = common::grid();
    let n = grid.len();
    let mut data: Vec<f64> = (0..n).map(|i| (i % 5) as f64).collect();
    let path = dir.path().join("float_labels.nii.gz");
    write_f32(&path, &grid, &data, "labels as float").unwrap();
    let v = read_labels(&path).unwrap();
    assert_eq!(v.data, (0..n).map(|i| (i % 5) as u32).collect::<Vec<_>>());

    data[grid.index(1, 2, 3)] = 2.5;
    data[grid.index(2, 3, 4)] = -1.0;
    write_f32(&path, &grid, &data, "labels as float").unwrap();
    let err = read_labels(&path).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            IoError::BadLabel {
                voxel: [1, 2, 3],
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("(1, 2, 3)") && msg.contains("2.5") && msg.contains("float_labels"),
        "{msg}"
    );

    data[grid.index(1, 2, 3)] = 2.0;
    write_f32(&path, &grid, &data, "").unwrap();
    let err = read_labels(&path).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::BadLabel {
                voxel: [2, 3, 4],
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn scaling_4d_and_dimensionality() {
    let dir = tempfile::tempdir().unwrap();
    // int16 with scl_slope 0.5, scl_inter 1, 4-D with one time point.
    let path = dir.path().join("scaled.nii");
    let mut h = nifti::NiftiHeader {
        scl_slope: 0.5,
        scl_inter: 1.0,
        sform_code: 0,
        qform_code: 0,
        pixdim: [1.0, 2.0, 3.0, 4.0, 1.0, 1.0, 1.0, 1.0],
        xyzt_units: 2,
        ..Default::default()
    };
    let arr = ndarray::Array4::<i16>::from_shape_fn((2, 3, 4, 1), |(x, y, z, _)| {
        (x + 2 * y + 6 * z) as i16 * 2
    });
    nifti::writer::WriterOptions::new(&path)
        .reference_header(&h)
        .write_nifti(&arr)
        .unwrap();
    // The writer forces slope 1 / inter 0; patch the header bytes for the scaling.
    patch_scaling(&path, 0.5, 1.0);
    let v = read_scalar(&path).unwrap();
    assert_eq!(v.grid.dims, [2, 3, 4]);
    assert_eq!(v.grid.voxel_mm, [2.0, 3.0, 4.0]);
    assert_eq!(v.grid.origin_mm, [0.0, 0.0, 0.0]);
    for (i, val) in v.data.iter().enumerate() {
        assert_eq!(*val, i as f64 * 2.0 * 0.5 + 1.0);
    }
    let labels = read_labels(&path).unwrap();
    assert_eq!(labels.data[5], 6);

    // Two time points: rejected.
    h.scl_slope = 1.0;
    h.scl_inter = 0.0;
    let path4 = dir.path().join("t2.nii");
    let arr = ndarray::Array4::<u8>::zeros((2, 2, 2, 2));
    nifti::writer::WriterOptions::new(&path4)
        .reference_header(&h)
        .write_nifti(&arr)
        .unwrap();
    let err = read_scalar(&path4).unwrap_err();
    assert!(
        err.to_string().contains("3-D") && err.to_string().contains("t2.nii"),
        "{err}"
    );
    // 2-D: rejected.
    let arr = ndarray::Array2::<u8>::zeros((2, 2));
    nifti::writer::WriterOptions::new(&path4)
        .reference_header(&h)
        .write_nifti(&arr)
        .unwrap();
    assert!(read_labels(&path4).is_err());
}

/// Overwrites scl_slope (offset 112) and scl_inter (116) of an uncompressed native-endian file.
fn patch_scaling(path: &Path, slope: f32, inter: f32) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[112..116].copy_from_slice(&slope.to_ne_bytes());
    bytes[116..120].copy_from_slice(&inter.to_ne_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere.nii.gz");
    let err = read_labels(&missing).unwrap_err();
    assert!(matches!(err, IoError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("nowhere.nii.gz"), "{err}");
    assert!(read_scalar(&missing)
        .unwrap_err()
        .to_string()
        .contains("nowhere.nii.gz"));

    let grid = common::grid();
    let err = write_f32(&dir.path().join("dose.img"), &grid, &vec![0.0; 60], "").unwrap_err();
    assert!(err.to_string().contains(".nii.gz"), "{err}");
    let err = write_f32(&dir.path().join("dose.nii"), &grid, &[0.0; 3], "").unwrap_err();
    assert!(
        matches!(
            err,
            IoError::Length {
                expected: 60,
                got: 3,
                ..
            }
        ),
        "{err}"
    );
    let err = write_labels(&dir.path().join("l.nii"), &grid, &vec![u32::MAX; 60]).unwrap_err();
    assert!(err.to_string().contains("int32"), "{err}");
    let err = write_labels(&dir.path().join("no/dir/l.nii"), &grid, &[0; 60]).unwrap_err();
    assert!(err.to_string().contains("no/dir"), "{err}");

    let junk = dir.path().join("junk.nii");
    std::fs::write(&junk, vec![7u8; 400]).unwrap();
    let err = read_scalar(&junk).unwrap_err();
    assert!(err.to_string().contains("junk.nii"), "{err}");
    assert!(common::temp_files(dir.path()).is_empty());
}

#[test]
fn rotated_affine_is_rejected_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rot.nii");
    let h = nifti::NiftiHeader {
        sform_code: 1,
        srow_x: [0.0, 1.0, 0.0, 0.0],
        srow_y: [1.0, 0.0, 0.0, 0.0],
        srow_z: [0.0, 0.0, 1.0, 0.0],
        scl_slope: 1.0,
        ..Default::default()
    };
    let arr = ndarray::Array3::<u8>::zeros((2, 2, 2));
    nifti::writer::WriterOptions::new(&path)
        .reference_header(&h)
        .write_nifti(&arr)
        .unwrap();
    let err = read_labels(&path).unwrap_err();
    assert!(matches!(err, IoError::Grid { .. }), "{err}");
    assert!(err.to_string().contains("rot.nii"), "{err}");
}
