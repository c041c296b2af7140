//! HDF5 output: round trip through the Rust readers, atomic replacement, error messages.

mod common;

use common::{same, temp_files, Sample, HISTORIES};
use pedisim_io::h5::{self, AttrValue, DoseOutput};
use pedisim_io::IoError;

#[test]
fn io_error_is_send_sync() {
    fn check<T: Send + Sync + 'static + std::error::Error>() {}
    check::<IoError>();
}

#[test]
fn write_dose_round_trips_every_dataset_and_attribute() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dose.h5");
    let s = Sample::new();
    h5::write_dose(&path, &s.output()).unwrap();
    assert!(temp_files(dir.path()).is_empty());

    for (name, expected) in [
        ("/dose/energy_deposit_mev", &s.energy),
        ("/dose/dose_gy", &s.dose),
        ("/dose/relative_uncertainty", &s.unc),
        ("/phantom/density_g_cm3", &s.density),
    ] {
        let (data, shape) = h5::read_f64_dataset(&path, name).unwrap();
        assert_eq!(shape, vec![5, 4, 3], "{name}");
        assert_eq!(data.len(), expected.len(), "{name}");
        for (i, (a, b)) in data.iter().zip(expected.iter()).enumerate() {
            assert!(same(*a, *b), "{name}[{i}]: {a} != {b}");
        }
    }
    // C order [z][y][x] equals the x-fastest flat index.
    let (e, _) = h5::read_f64_dataset(&path, "dose/energy_deposit_mev").unwrap();
    let g = &s.grid;
    assert_eq!(e[g.index(2, 3, 4)], s.energy[2 + 3 * (3 + 4 * 4)]);

    let (labels, shape) = h5::read_u32_dataset(&path, "/phantom/labels").unwrap();
    assert_eq!(shape, vec![5, 4, 3]);
    assert_eq!(labels, s.labels);
    let (labels_f, _) = h5::read_f64_dataset(&path, "/phantom/labels").unwrap();
    assert_eq!(labels_f[59], 70_000.0);

    // Units and descriptions on every dataset.
    for (name, units) in [
        ("/dose/energy_deposit_mev", "MeV per history"),
        ("/dose/dose_gy", "Gy per history"),
        ("/dose/relative_uncertainty", "1 (relative, 1 sigma)"),
        ("/phantom/labels", "1"),
        ("/phantom/density_g_cm3", "g/cm3"),
        ("/organs/label", "1"),
        ("/organs/name", "text"),
        ("/organs/material", "text"),
        ("/organs/mass_kg", "kg"),
        ("/organs/energy_deposit_mev", "MeV per history"),
        ("/organs/dose_gy", "Gy per history"),
        ("/organs/relative_uncertainty", "1 (relative, 1 sigma)"),
    ] {
        assert_eq!(h5::read_attr_string(&path, name, "units").unwrap(), units);
        assert!(!h5::read_attr_string(&path, name, "description")
            .unwrap()
            .is_empty());
    }

    // Root attributes.
    let root = |n: &str| h5::read_attr_string(&path, "/", n).unwrap();
    assert_eq!(root("format_version"), h5::FORMAT_VERSION);
    assert_eq!(h5::FORMAT_VERSION, "1.5");
    assert_eq!(root("hdf5_library_version"), h5::library_version());
    assert_eq!(root("pedisim_version"), "0.1.0");
    assert_eq!(root("config_toml"), "[run]\nseed = 42\nname = \"é\"\n");
    assert_eq!(h5::read_attr_u64(&path, "/", "seed").unwrap(), 42);
    assert_eq!(
        h5::read_attr_u64(&path, "/", "histories").unwrap(),
        HISTORIES
    );
    assert_eq!(h5::read_attr_u64(&path, "/", "threads").unwrap(), 2);
    assert_eq!(h5::read_attr_f64(&path, "/", "wall_seconds").unwrap(), 1.5);
    assert_eq!(h5::read_attr_f64(&path, "/", "seed").unwrap(), 42.0);
    assert_eq!(h5::read_attr_f64(&path, "/", "offset").unwrap(), -3.0);
    assert!(h5::read_attr_u64(&path, "/", "offset").is_err());
    assert_eq!(
        h5::read_attr_f64_array(&path, "/", "voxel_size_mm").unwrap(),
        vec![2.0, 2.5, 3.0]
    );
    assert_eq!(
        h5::read_attr_f64_array(&path, "/", "origin_mm").unwrap(),
        vec![-10.0, 5.0, 7.5]
    );
    assert_eq!(
        h5::read_attr_f64_array(&path, "/", "dims_xyz").unwrap(),
        vec![3.0, 4.0, 5.0]
    );
    assert_eq!(
        h5::read_attr_f64_array(&path, "/", "axis_sign").unwrap(),
        vec![1.0, -1.0, 1.0]
    );
    assert!(h5::read_attr_f64_array(&path, "/", "empty_list")
        .unwrap()
        .is_empty());

    // Summary.
    for (name, value) in &s.summary {
        match value {
            AttrValue::F64(v) => {
                assert_eq!(h5::read_attr_f64(&path, "/summary", name).unwrap(), *v)
            }
            AttrValue::U64(v) => {
                assert_eq!(h5::read_attr_u64(&path, "/summary", name).unwrap(), *v)
            }
            _ => unreachable!(),
        }
    }
    assert!(!h5::read_attr_string(&path, "/summary", "description")
        .unwrap()
        .is_empty());

    // Organ table.
    let organs = h5::read_organs(&path).unwrap();
    assert_eq!(organs.len(), s.organs.len());
    for (a, b) in organs.iter().zip(&s.organs) {
        assert_eq!(a.label, b.label);
        assert_eq!(a.name, b.name);
        assert_eq!(a.material, b.material);
        assert_eq!(a.mass_kg, b.mass_kg);
        assert_eq!(a.energy_deposit_mev, b.energy_deposit_mev);
        assert_eq!(a.dose_gy, b.dose_gy);
        assert!(same(a.relative_uncertainty, b.relative_uncertainty));
    }
    let names = h5::read_string_dataset(&path, "/organs/name").unwrap();
    assert_eq!(names[1], "Knochenmark — rot");
}

#[test]
fn voxel_datasets_are_chunked_and_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dose.h5");
    let s = Sample::new();
    h5::write_dose(&path, &s.output()).unwrap();
    let file = hdf5::File::open(&path).unwrap();
    for name in [
        "/dose/energy_deposit_mev",
        "/dose/dose_gy",
        "/dose/relative_uncertainty",
        "/phantom/labels",
        "/phantom/density_g_cm3",
    ] {
        let ds = file.dataset(name).unwrap();
        assert_eq!(ds.chunk(), Some(vec![5, 4, 3]), "{name}");
        let filters = ds.filters();
        assert_eq!(filters.len(), 2, "{name}: {filters:?}");
        assert!(
            format!("{:?}", filters[0]).contains("Shuffle"),
            "{filters:?}"
        );
        assert!(
            format!("{:?}", filters[1]).contains("Deflate(4)"),
            "{filters:?}"
        );
    }
    let labels = file.dataset("/phantom/labels").unwrap();
    assert!(labels.dtype().unwrap().is::<u32>());
    assert!(file
        .dataset("/dose/dose_gy")
        .unwrap()
        .dtype()
        .unwrap()
        .is::<f64>());
}

#[test]
fn failed_write_leaves_existing_file_untouched_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dose.h5");
    let s = Sample::new();
    h5::write_dose(&path, &s.output()).unwrap();
    let before = std::fs::read(&path).unwrap();

    // Wrong slice length: rejected before anything is touched.
    let short = vec![0.0; 7];
    let bad = DoseOutput {
        dose_gy: &short,
        ..s.output()
    };
    let err = h5::write_dose(&path, &bad).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            IoError::Length {
                expected: 60,
                got: 7,
                ..
            }
        ),
        "{msg}"
    );
    assert!(
        msg.contains("dose_gy") && msg.contains("dose.h5") && msg.contains("60"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(temp_files(dir.path()).is_empty());

    // Reserved, duplicated and inconsistent attributes.
    let mut root = s.root.clone();
    root.push(("format_version".into(), AttrValue::Str("9".into())));
    let err = h5::write_dose(
        &path,
        &DoseOutput {
            root_attrs: &root,
            ..s.output()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("reserved"), "{err}");
    let mut root = s.root.clone();
    root.push(("seed".into(), AttrValue::U64(1)));
    let err = h5::write_dose(
        &path,
        &DoseOutput {
            root_attrs: &root,
            ..s.output()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    let mut root = s.root.clone();
    root[5].1 = AttrValue::F64Array(vec![1.0, 1.0, 1.0]);
    let err = h5::write_dose(
        &path,
        &DoseOutput {
            root_attrs: &root,
            ..s.output()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("voxel_size_mm"), "{err}");
    let mut organs = s.organs.clone();
    organs[0].name = "a\0b".into();
    let err = h5::write_dose(
        &path,
        &DoseOutput {
            organs: &organs,
            ..s.output()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
    let mut organs = s.organs.clone();
    organs[1].label = organs[0].label;
    let err = h5::write_dose(
        &path,
        &DoseOutput {
            organs: &organs,
            ..s.output()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(temp_files(dir.path()).is_empty());

    // A failure after the temporary file was written (the rename onto a non-empty
    // directory fails): the temporary file is removed.
    let blocked = dir.path().join("blocked.h5");
    std::fs::create_dir(&blocked).unwrap();
    std::fs::write(blocked.join("keep"), b"x").unwrap();
    let err = h5::write_dose(&blocked, &s.output()).unwrap_err();
    assert!(err.to_string().contains("blocked.h5"), "{err}");
    assert!(blocked.join("keep").exists());
    assert!(
        temp_files(dir.path()).is_empty(),
        "{:?}",
        temp_files(dir.path())
    );

    // A missing directory is named.
    let err = h5::write_dose(&dir.path().join("no/such/dir/out.h5"), &s.output()).unwrap_err();
    assert!(matches!(err, IoError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("no/such/dir"), "{err}");

    // A good write replaces the file.
    let mut root = s.root.clone();
    root[1].1 = AttrValue::U64(43);
    h5::write_dose(
        &path,
        &DoseOutput {
            root_attrs: &root,
            ..s.output()
        },
    )
    .unwrap();
    assert_eq!(h5::read_attr_u64(&path, "/", "seed").unwrap(), 43);
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn empty_organ_table_and_minimal_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("min.h5");
    let s = Sample::new();
    let out = DoseOutput {
        organs: &[],
        root_attrs: &[],
        summary_attrs: &[],
        tables: &[],
        ..s.output()
    };
    h5::write_dose(&path, &out).unwrap();
    assert!(h5::read_organs(&path).unwrap().is_empty());
    assert_eq!(
        h5::read_attr_string(&path, "/", "format_version").unwrap(),
        "1.5"
    );
    assert_eq!(
        h5::read_attr_f64_array(&path, "/", "voxel_size_mm").unwrap(),
        vec![2.0, 2.5, 3.0]
    );
}

#[test]
fn reader_errors_name_the_file_and_object() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.h5");
    let err = h5::read_f64_dataset(&missing, "/dose/dose_gy").unwrap_err();
    assert!(matches!(err, IoError::NotFound { .. }));
    assert!(err.to_string().contains("missing.h5"), "{err}");

    let path = dir.path().join("dose.h5");
    let s = Sample::new();
    h5::write_dose(&path, &s.output()).unwrap();
    let err = h5::read_f64_dataset(&path, "/dose/dose_sv").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("/dose/dose_sv") && msg.contains("dose_gy"),
        "{msg}"
    );
    let err = h5::read_f64_dataset(&path, "/nothing/here").unwrap_err();
    assert!(err.to_string().contains("/nothing/here"), "{err}");
    let err = h5::read_attr_f64(&path, "/summary", "nope").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("/summary@nope") && msg.contains("emitted_energy_mev"),
        "{msg}"
    );
    let err = h5::read_attr_string(&path, "/", "seed").unwrap_err();
    assert!(err.to_string().contains("string"), "{err}");
    let err = h5::read_attr_f64(&path, "/", "voxel_size_mm").unwrap_err();
    assert!(err.to_string().contains("scalar"), "{err}");
    let err = h5::read_f64_dataset(&path, "/organs/name").unwrap_err();
    assert!(err.to_string().contains("numeric"), "{err}");
    let err = h5::read_attr_f64(&path, "/nope", "x").unwrap_err();
    assert!(err.to_string().contains("/nope"), "{err}");

    // A file that is not HDF5.
    let text = dir.path().join("text.h5");
    std::fs::write(&text, "not hdf5").unwrap();
    let err = h5::read_f64_dataset(&text, "/dose/dose_gy").unwrap_err();
    assert!(err.to_string().contains("text.h5"), "{err}");
}

#[test]
fn library_version_looks_like_a_version() {
    let v = h5::library_version();
    let parts: Vec<_> = v.split('.').collect();
    assert_eq!(parts.len(), 3, "{v}");
    assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "{v}");
    assert!(v.as_str() >= "1.10", "{v}");
}

/// Open descriptors of this process that point into `dir` (Linux only).
#[cfg(target_os = "linux")]
fn open_fds_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let dir = dir.canonicalize().unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|p| p.starts_with(&dir))
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn no_descriptor_stays_open_after_write_and_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dose.h5");
    let s = Sample::new();
    h5::write_dose(&path, &s.output()).unwrap();
    h5::read_f64_dataset(&path, "/dose/dose_gy").unwrap();
    h5::read_attr_string(&path, "/", "format_version").unwrap();
    h5::read_organs(&path).unwrap();
    let _ = h5::read_attr_f64(&path, "/", "nope");
    assert!(
        open_fds_in(dir.path()).is_empty(),
        "{:?}",
        open_fds_in(dir.path())
    );
}
