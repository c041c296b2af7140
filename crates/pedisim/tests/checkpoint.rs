//! Checkpoints of a run in progress: SIGTERM keeps the whole batches, the same command
//! continues from them, and the result is bit-identical to an uninterrupted run (with
//! another thread count); a checkpoint of another configuration is never used.

mod common;

use common::{run_config, sigterm, smoke_config, spawn_pedisim, write};
use pedisim_io::h5;
use std::path::Path;
use std::time::Duration;

fn same_results(a: &Path, b: &Path) {
    for ds in [
        "dose/energy_deposit_mev",
        "dose/dose_gy",
        "dose/relative_uncertainty",
    ] {
        let x = h5::read_f64_dataset(a, ds).unwrap().0;
        let y = h5::read_f64_dataset(b, ds).unwrap().0;
        assert!(
            x.len() == y.len() && x.iter().zip(&y).all(|(p, q)| p.to_bits() == q.to_bits()),
            "{ds} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
    let (oa, ob) = (h5::read_organs(a).unwrap(), h5::read_organs(b).unwrap());
    for (p, q) in oa.iter().zip(&ob) {
        assert_eq!(p.dose_gy.to_bits(), q.dose_gy.to_bits());
        assert_eq!(
            p.relative_uncertainty.to_bits(),
            q.relative_uncertainty.to_bits()
        );
    }
    for attr in [
        "deposited_energy_mev",
        "escaped_energy_mev",
        "emitted_energy_mev",
    ] {
        assert_eq!(
            h5::read_attr_f64(a, "summary", attr).unwrap().to_bits(),
            h5::read_attr_f64(b, "summary", attr).unwrap().to_bits(),
            "{attr}"
        );
    }
}

#[test]
fn interrupted_run_continues_from_its_checkpoint_bit_identical() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("out.h5");
    let ck = d.path().join("out.checkpoint.h5");
    // About five seconds on one thread: batches of 600 000 histories.
    let histories = 6_000_000;
    let cfg = write(
        d.path(),
        "run.toml",
        &smoke_config(histories, 7, &out, None),
    );
    let child = spawn_pedisim(
        d.path(),
        &[
            "run".as_ref(),
            cfg.as_os_str(),
            "--threads".as_ref(),
            "1".as_ref(),
        ],
    );
    std::thread::sleep(Duration::from_millis(2500));
    // SIGTERM, as Slurm sends it before the wall time.
    sigterm(&child);
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    let batches_done = match o.status.code() {
        Some(75) if ck.is_file() => {
            assert!(stderr.contains("whole batches kept in"), "{stderr}");
            assert!(!out.exists(), "an interrupted run wrote its output");
            let done = h5::read_attr_u64(&ck, "/", "batches_done").unwrap();
            assert!((1..10).contains(&done), "{done}");
            done
        }
        // Interrupted within the first batch: nothing to keep.
        Some(75) => {
            assert!(stderr.contains("nothing written"), "{stderr}");
            0
        }
        // The machine was fast enough to finish first: nothing to continue.
        code => {
            assert_eq!(code, Some(0), "{stderr}");
            0
        }
    };
    if batches_done > 0 {
        // A different configuration (another seed) writing to the same place ignores the
        // checkpoint of this one.
        let other_out = d.path().join("other.h5");
        let other_ck = d.path().join("other.checkpoint.h5");
        std::fs::copy(&ck, &other_ck).unwrap();
        let other = write(
            d.path(),
            "other.toml",
            &smoke_config(60_000, 8, &other_out, None),
        );
        run_config(d.path(), &other, &[]).assert_success();
        assert_eq!(
            h5::read_attr_u64(&other_out, "/", "resumed_batches").unwrap(),
            0
        );
        assert!(
            !other_ck.exists(),
            "the finished run left a checkpoint behind"
        );
    }
    // Continue with another thread count.
    run_config(d.path(), &cfg, &["--threads", "2"]).assert_success();
    assert!(!ck.exists(), "the finished run left its checkpoint behind");
    if o.status.code() == Some(75) {
        assert_eq!(
            h5::read_attr_u64(&out, "/", "resumed_batches").unwrap(),
            batches_done
        );
    }
    assert_eq!(
        h5::read_attr_u64(&out, "/", "histories").unwrap(),
        histories
    );
    // The uninterrupted run.
    let straight_out = d.path().join("straight.h5");
    let straight = write(
        d.path(),
        "straight.toml",
        &smoke_config(histories, 7, &straight_out, None),
    );
    run_config(d.path(), &straight, &[]).assert_success();
    same_results(&straight_out, &out);
}
