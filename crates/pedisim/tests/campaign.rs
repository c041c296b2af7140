//! `pedisim campaign`: expansion, dry run, the index with its external links, resume after
//! an interruption with results identical to an uninterrupted campaign, and refusals.

mod common;

use common::{pedisim, run_section, toml_path, write, SPHERE_PHANTOM, TC99M_UNIFORM};
use pedisim_io::h5;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn base(dir: &Path, histories: u64) {
    let mut s = run_section(histories, 5);
    s.push_str(SPHERE_PHANTOM);
    s.push_str(TC99M_UNIFORM);
    s.push_str("\n[output]\npath = \"ignored.h5\"\n");
    write(dir, "base.toml", &s);
}

fn campaign(dir: &Path, name: &str, out: &str) -> std::path::PathBuf {
    write(
        dir,
        &format!("{name}.toml"),
        &format!(
            "[campaign]\nname = \"{name}\"\nbase = \"base.toml\"\noutput_dir = {}\n\n[axes]\n\
             \"phantom.radius_mm\" = [10.0, 14.0, 18.0]\n",
            toml_path(Path::new(out))
        ),
    )
}

fn status(index: &Path) -> Vec<String> {
    h5::read_string_dataset(index, "runs/status").unwrap()
}

#[test]
fn dry_run_lists_the_expanded_runs_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    base(d.path(), 1000);
    let c = campaign(d.path(), "dry", "out");
    let o = pedisim(
        d.path(),
        ["campaign".as_ref(), c.as_os_str(), "--dry-run".as_ref()],
    );
    o.assert_success();
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", o.stdout);
    assert!(lines[0].starts_with("run-00000") && lines[0].contains("phantom.radius_mm=10"));
    assert!(lines[2].starts_with("run-00002") && lines[2].contains("phantom.radius_mm=18"));
    assert!(lines[3].contains("3 runs, 3000 histories"));
    assert!(!d.path().join("out").exists());
}

#[test]
fn campaign_writes_runs_and_an_index_with_links_and_resumes_without_recomputing() {
    let d = tempfile::tempdir().unwrap();
    base(d.path(), 20_000);
    let c = campaign(d.path(), "small", "out");
    pedisim(d.path(), ["campaign".as_ref(), c.as_os_str()]).assert_success();
    let index = d.path().join("out/campaign.h5");
    assert_eq!(status(&index), ["done", "done", "done"]);
    assert_eq!(
        h5::read_string_dataset(&index, "runs/file").unwrap(),
        [
            "runs/run-00000.h5",
            "runs/run-00001.h5",
            "runs/run-00002.h5"
        ]
    );
    // The external link reads the run's own dose map.
    let (via_link, _) = h5::read_f64_dataset(&index, "run/run-00001/dose/dose_gy").unwrap();
    let (direct, _) =
        h5::read_f64_dataset(&d.path().join("out/runs/run-00001.h5"), "dose/dose_gy").unwrap();
    assert_eq!(via_link, direct);
    // Organ doses grow as the sphere shrinks (same activity per decay, less mass).
    let sphere_dose = |k: usize| {
        h5::read_organs(&d.path().join(format!("out/runs/run-0000{k}.h5"))).unwrap()[1].dose_gy
    };
    assert!(sphere_dose(0) > sphere_dose(1) && sphere_dose(1) > sphere_dose(2));
    let before = std::fs::metadata(d.path().join("out/runs/run-00000.h5"))
        .unwrap()
        .modified()
        .unwrap();
    let again = pedisim(d.path(), ["campaign".as_ref(), c.as_os_str()]);
    again.assert_success();
    assert!(
        again.stderr.contains("3 already complete, 0 computed"),
        "{}",
        again.stderr
    );
    let after = std::fs::metadata(d.path().join("out/runs/run-00000.h5"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "a finished run was rewritten");
}

#[test]
fn interrupted_campaign_resumes_to_the_same_results() {
    let d = tempfile::tempdir().unwrap();
    // Runs long enough (about a second each) to be interrupted in the middle.
    base(d.path(), 1_000_000);
    let c = campaign(d.path(), "interrupted", "out");
    let child = Command::new(env!("CARGO_BIN_EXE_pedisim"))
        .args([
            "campaign".as_ref(),
            c.as_os_str(),
            "--threads".as_ref(),
            "1".as_ref(),
        ])
        .current_dir(d.path())
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let first = d.path().join("out/runs/run-00000.h5");
    let t0 = Instant::now();
    while !first.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "first run never finished"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGTERM, as Slurm sends it before the wall time.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let index = d.path().join("out/campaign.h5");
    let s = status(&index);
    if out.status.code() == Some(75) {
        assert!(stderr.contains("interrupted"), "{stderr}");
        assert_eq!(s[0], "done");
        assert!(s.iter().any(|x| x == "pending"), "{s:?}");
    } else {
        // The signal came after the last run finished: nothing to resume.
        assert_eq!(out.status.code(), Some(0), "{stderr}");
    }
    let resumed = pedisim(d.path(), ["campaign".as_ref(), c.as_os_str()]);
    resumed.assert_success();
    assert_eq!(status(&index), ["done", "done", "done"]);

    // An uninterrupted campaign elsewhere gives the same datasets, bit for bit.
    let c2 = campaign(d.path(), "straight", "out2");
    pedisim(d.path(), ["campaign".as_ref(), c2.as_os_str()]).assert_success();
    for k in 0..3 {
        for ds in ["dose/energy_deposit_mev", "dose/relative_uncertainty"] {
            let a = h5::read_f64_dataset(&d.path().join(format!("out/runs/run-0000{k}.h5")), ds)
                .unwrap()
                .0;
            let b = h5::read_f64_dataset(&d.path().join(format!("out2/runs/run-0000{k}.h5")), ds)
                .unwrap()
                .0;
            assert!(
                a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "run {k} {ds} differs after resume"
            );
        }
    }
}

#[test]
fn another_campaign_in_the_same_directory_is_refused() {
    let d = tempfile::tempdir().unwrap();
    base(d.path(), 2_000);
    let c = campaign(d.path(), "first", "out");
    pedisim(d.path(), ["campaign".as_ref(), c.as_os_str()]).assert_success();
    let other = campaign(d.path(), "second", "out");
    let o = pedisim(d.path(), ["campaign".as_ref(), other.as_os_str()]);
    assert_ne!(o.code, Some(0));
    assert!(
        o.stderr.contains("another campaign lives there"),
        "{}",
        o.stderr
    );
    assert_eq!(
        status(&d.path().join("out/campaign.h5")),
        ["done", "done", "done"]
    );
}

#[test]
fn invalid_runs_are_all_reported_before_anything_starts() {
    let d = tempfile::tempdir().unwrap();
    base(d.path(), 2_000);
    // An unknown nuclide in the second run.
    let c = write(
        d.path(),
        "bad.toml",
        "[campaign]\nname = \"bad\"\nbase = \"base.toml\"\noutput_dir = \"out\"\n\n[axes]\n\
         \"source.nuclide\" = [\"Tc-99m\", \"Xx-999\"]\n",
    );
    let o = pedisim(d.path(), ["campaign".as_ref(), c.as_os_str()]);
    assert_ne!(o.code, Some(0));
    assert!(o.stderr.contains("1 of 2 runs are invalid"), "{}", o.stderr);
    assert!(o.stderr.contains("run-00001"), "{}", o.stderr);
    assert!(!d.path().join("out").exists());
}
