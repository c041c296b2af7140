//! `pedisim campaign`: expansion, dry run, the index with its external links, resume after
//! an interruption with results identical to an uninterrupted campaign, and refusals.

mod common;

use common::{
    pedisim, run_section, sigterm, spawn_pedisim, toml_path, wait_for_file, write, SPHERE_PHANTOM,
    TC99M_UNIFORM,
};
use pedisim_io::h5;
use std::path::Path;
use std::process::Command;

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

/// Asserts that run `k`'s datasets are bit-identical in two output directories.
fn same_run(a: &Path, b: &Path, k: usize) {
    for ds in ["dose/energy_deposit_mev", "dose/relative_uncertainty"] {
        let read = |d: &Path| {
            h5::read_f64_dataset(&d.join(format!("runs/run-0000{k}.h5")), ds)
                .unwrap()
                .0
        };
        let (x, y) = (read(a), read(b));
        assert!(
            x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()),
            "run {k} {ds} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
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
    assert_eq!(lines.len(), 5, "{}", o.stdout);
    assert!(lines[0].contains("core-s"), "{}", o.stdout);
    assert!(lines[1].starts_with("run-00000") && lines[1].contains("phantom.radius_mm=10"));
    assert!(lines[3].starts_with("run-00002") && lines[3].contains("phantom.radius_mm=18"));
    assert!(lines[4].contains("3 runs, 3000 histories"));
    // Each line carries a positive cost estimate from the pilot.
    for l in &lines[1..4] {
        let cost: f64 = l.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(cost > 0.0, "{l}");
    }
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
    let child = spawn_pedisim(
        d.path(),
        &[
            "campaign".as_ref(),
            c.as_os_str(),
            "--threads".as_ref(),
            "1".as_ref(),
        ],
    );
    wait_for_file(&d.path().join("out/runs/run-00000.h5"));
    // SIGTERM, as Slurm sends it before the wall time.
    sigterm(&child);
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
        same_run(&d.path().join("out"), &d.path().join("out2"), k);
    }
}

#[test]
fn array_tasks_then_merge_give_the_campaign_of_one_process() {
    let d = tempfile::tempdir().unwrap();
    base(d.path(), 20_000);
    let c = campaign(d.path(), "array", "out");
    for task in ["0", "1"] {
        let o = pedisim(
            d.path(),
            [
                "campaign".as_ref(),
                c.as_os_str(),
                "--array-task".as_ref(),
                task.as_ref(),
                "--array-tasks".as_ref(),
                "2".as_ref(),
            ],
        );
        o.assert_success();
        assert!(
            o.stderr.contains(&format!("array task {task} of 2")),
            "{}",
            o.stderr
        );
    }
    let index = d.path().join("out/campaign.h5");
    assert!(!index.exists(), "array tasks must not write the index");
    let o = pedisim(
        d.path(),
        ["campaign".as_ref(), c.as_os_str(), "--merge".as_ref()],
    );
    o.assert_success();
    assert!(
        o.stderr.contains("3 done, 0 failed, 0 pending"),
        "{}",
        o.stderr
    );
    assert_eq!(status(&index), ["done", "done", "done"]);
    let straight = campaign(d.path(), "array", "out2");
    pedisim(d.path(), ["campaign".as_ref(), straight.as_os_str()]).assert_success();
    for k in 0..3 {
        same_run(&d.path().join("out"), &d.path().join("out2"), k);
    }
    // A task out of range is refused.
    let o = pedisim(
        d.path(),
        [
            "campaign".as_ref(),
            c.as_os_str(),
            "--array-task".as_ref(),
            "2".as_ref(),
            "--array-tasks".as_ref(),
            "2".as_ref(),
        ],
    );
    assert_ne!(o.code, Some(0));
    assert!(
        o.stderr.contains("expected 0 <= task < tasks"),
        "{}",
        o.stderr
    );
}

#[test]
fn a_failed_run_is_recorded_and_the_campaign_goes_on() {
    let d = tempfile::tempdir().unwrap();
    // Runs of about a second, so that run 1 can be sabotaged while run 0 is written.
    base(d.path(), 1_000_000);
    let c = campaign(d.path(), "failing", "out");
    let child = spawn_pedisim(
        d.path(),
        &[
            "campaign".as_ref(),
            c.as_os_str(),
            "--threads".as_ref(),
            "1".as_ref(),
        ],
    );
    wait_for_file(&d.path().join("out/runs/run-00000.h5"));
    // After validation, make run 1's file impossible to write (as a full disk or a lost
    // mount would): a directory stands in its place.
    let blocker = d.path().join("out/runs/run-00001.h5");
    std::fs::create_dir_all(blocker.join("occupied")).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("run-00001 FAILED"), "{stderr}");
    assert!(stderr.contains("1 failed"), "{stderr}");
    let index = d.path().join("out/campaign.h5");
    assert_eq!(status(&index), ["done", "failed", "done"]);
    let errors = h5::read_string_dataset(&index, "runs/error").unwrap();
    assert!(errors[1].contains("run-00001"), "{errors:?}");
    assert!(errors[0].is_empty() && errors[2].is_empty());
    let note = d.path().join("out/runs/run-00001.failed");
    assert!(note.is_file());
    // The merge keeps the failure; once the cause is gone, a resume computes only run 1.
    pedisim(
        d.path(),
        ["campaign".as_ref(), c.as_os_str(), "--merge".as_ref()],
    )
    .assert_success();
    assert_eq!(status(&index), ["done", "failed", "done"]);
    std::fs::remove_dir_all(&blocker).unwrap();
    let o = pedisim(d.path(), ["campaign".as_ref(), c.as_os_str()]);
    o.assert_success();
    assert!(
        o.stderr
            .contains("2 already complete, 1 computed, 0 failed"),
        "{}",
        o.stderr
    );
    assert_eq!(status(&index), ["done", "done", "done"]);
    assert!(
        !note.exists(),
        "the failure note of a run that succeeded was kept"
    );
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

#[test]
fn several_launcher_ranks_are_refused_by_a_build_without_mpi() {
    if cfg!(feature = "mpi") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    base(d.path(), 2_000);
    let c = campaign(d.path(), "launched", "out");
    // As mpirun -n 4 (OpenMPI) and srun -n 4 (Slurm) would start it.
    for (k, v) in [
        ("OMPI_COMM_WORLD_SIZE", "4"),
        ("PMI_SIZE", "4"),
        ("SLURM_STEP_NUM_TASKS", "4"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_pedisim"))
            .args(["campaign".as_ref(), c.as_os_str()])
            .current_dir(d.path())
            .env(k, v)
            .env("SLURM_PROCID", "0")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{k}: {stderr}");
        assert!(
            stderr.contains("built without MPI") && stderr.contains(&format!("{k} = 4")),
            "{k}: {stderr}"
        );
        assert!(!d.path().join("out").exists(), "{k}: something was written");
    }
    // One rank is fine.
    let o = Command::new(env!("CARGO_BIN_EXE_pedisim"))
        .args(["campaign".as_ref(), c.as_os_str(), "-q".as_ref()])
        .current_dir(d.path())
        .env("OMPI_COMM_WORLD_SIZE", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
