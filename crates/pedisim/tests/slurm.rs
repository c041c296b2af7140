//! `pedisim slurm`: every site's script renders for the demo campaign, is valid bash,
//! holds no placeholder and knows its own path; bad options are named.

mod common;

use common::pedisim;
use std::path::{Path, PathBuf};

fn demo_campaign() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs/campaign_demo.toml")
        .canonicalize()
        .expect("configs/campaign_demo.toml")
}

fn account(site: &str) -> &'static str {
    match site {
        "meluxina" => "p200177",
        "ares" | "helios" => "plgdemo-cpu",
        _ => "",
    }
}

#[test]
fn every_site_renders_a_valid_script_that_knows_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let campaign = demo_campaign();
    for site in ["generic", "meluxina", "ares", "helios"] {
        for array in [false, true] {
            let name = format!("{site}{}.sbatch", if array { "-array" } else { "" });
            let mut args = vec![
                "slurm".to_string(),
                campaign.display().to_string(),
                "--site".into(),
                site.into(),
                "--account".into(),
                account(site).into(),
                "--cores-per-node".into(),
                "16".into(),
                "-q".into(),
                "-o".into(),
                name.clone(),
            ];
            if site != "generic" {
                // The site's own core count.
                args.drain(6..8);
            }
            if array {
                args.push("--array".into());
            }
            pedisim(dir.path(), &args).assert_success();
            let path = dir.path().canonicalize().unwrap().join(&name);
            let script = std::fs::read_to_string(&path).unwrap();
            assert!(!script.contains("{{"), "{name}:\n{script}");
            assert!(script.starts_with("#!/bin/bash -l\n# Rendered by pedisim"));
            assert!(script.contains(&format!("SCRIPT=\"{}\"\n", path.display())));
            assert!(script.contains(&format!("CAMPAIGN=\"{}\"\n", campaign.display())));
            assert!(script.contains("#SBATCH --signal=TERM@300\n"));
            assert!(script.contains("# Estimate: 4 runs, 200000 histories"));
            if array {
                assert!(script.contains("#SBATCH --array=0-"), "{name}");
            }
            let bash = std::process::Command::new("bash")
                .arg("-n")
                .arg(&path)
                .output();
            if let Ok(out) = bash {
                assert!(
                    out.status.success(),
                    "bash -n {name}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

#[test]
fn without_an_output_file_the_script_goes_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let campaign = demo_campaign();
    let out = pedisim(
        dir.path(),
        [
            "slurm",
            campaign.to_str().unwrap(),
            "--site",
            "ares",
            "--account",
            "plgdemo-cpu",
            "--partition",
            "plgrid-testing",
            "--wall",
            "00:30:00",
            "-q",
        ],
    );
    out.assert_success();
    assert!(out.stdout.starts_with("#!/bin/bash -l\n"));
    assert!(out.stdout.contains("#SBATCH --partition=plgrid-testing\n"));
    assert!(out.stdout.contains("#SBATCH --time=00:30:00\n"));
    assert!(out.stdout.contains("SCRIPT=\"\"\n"));
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn bad_options_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let campaign = demo_campaign();
    let c = campaign.to_str().unwrap();
    let out = pedisim(dir.path(), ["slurm", c, "--site", "prometheus"]);
    assert_ne!(out.code, Some(0));
    assert!(
        out.stderr
            .contains("expected one of generic, meluxina, ares, helios"),
        "{}",
        out.stderr
    );
    let out = pedisim(dir.path(), ["slurm", c, "--site", "ares", "-q"]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("give --account"), "{}", out.stderr);
    let out = pedisim(
        dir.path(),
        ["slurm", c, "--site", "ares", "--account", "plgdemo", "-q"],
    );
    assert!(
        out.stderr.contains("expected <grant>-cpu"),
        "{}",
        out.stderr
    );
    let out = pedisim(
        dir.path(),
        [
            "slurm",
            c,
            "--site",
            "ares",
            "--account",
            "plgdemo-cpu",
            "--wall",
            "1:75:00",
        ],
    );
    assert!(
        out.stderr.contains("wall time \"1:75:00\""),
        "{}",
        out.stderr
    );
    let out = pedisim(
        dir.path(),
        [
            "slurm",
            c,
            "--site",
            "ares",
            "--account",
            "plgdemo-cpu",
            "--partition",
            "plgrid-testing",
            "--wall",
            "02:00:00",
            "-q",
        ],
    );
    assert!(
        out.stderr.contains(
            "--wall 02:00:00: longer than the limit 01:00:00 of partition plgrid-testing"
        ),
        "{}",
        out.stderr
    );
    // Nothing written on any error.
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}
