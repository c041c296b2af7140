//! Checkpoints of a run in progress: the batch statistics and exact counters after the
//! last whole batch, so that a run stopped by the wall time (Slurm's SIGTERM), Ctrl-C or
//! a node failure continues where it stopped instead of starting again.
//!
//! A checkpoint sits beside the run's output (`<output stem>.checkpoint.h5`), is written
//! atomically by rank 0, and is removed once the output is complete. It is used only if
//! it belongs to exactly this run: same result-determining configuration
//! ([`crate::campaign_spec::result_toml`]), batches, histories per batch, grid size and
//! organ count. Batches are folded in order and everything folded is restored bit for
//! bit, so a continued run is bit-identical to an uninterrupted one, for any number of
//! threads or ranks before and after the interruption.

use crate::campaign_spec::{fnv1a, result_toml, FNV_OFFSET};
use crate::plan::Plan;
use crate::DriverError;
use pedisim_io::h5::{self, AttrValue};
use pedisim_transport::kernel::CounterSum;
use pedisim_transport::tally::BatchStats;
use std::path::{Path, PathBuf};

/// Where the checkpoint of a run writing `output` lives.
pub fn checkpoint_path(output: &Path) -> PathBuf {
    output.with_extension("checkpoint.h5")
}

/// Identity of a run for its checkpoint (16 hex digits).
fn run_key(plan: &Plan) -> String {
    format!(
        "{:016x}",
        fnv1a(FNV_OFFSET, result_toml(&plan.config).as_bytes())
    )
}

/// Writes the checkpoint of `plan` after `stats.batches` whole batches.
pub fn save(plan: &Plan, stats: &BatchStats, counters: &CounterSum) -> Result<(), DriverError> {
    let path = checkpoint_path(&plan.output);
    let attrs: Vec<(String, AttrValue)> = vec![
        ("run_key".into(), AttrValue::Str(run_key(plan))),
        (
            "pedisim_version".into(),
            AttrValue::Str(pedisim_core::PEDISIM_VERSION.into()),
        ),
        ("batches_done".into(), AttrValue::U64(stats.batches)),
        ("batches".into(), AttrValue::U64(plan.batches)),
        (
            "histories_per_batch".into(),
            AttrValue::U64(plan.histories_per_batch),
        ),
        ("config_toml".into(), AttrValue::Str(plan.config.to_toml())),
    ];
    let words = counters.to_words();
    h5::write_checkpoint(
        &path,
        &attrs,
        &[
            ("sum_mev", &stats.sum_mev),
            ("sum_sq_per_history", &stats.sum_sq_per_history),
            ("group_sum_mev", &stats.group_sum_mev),
            ("group_sum_sq_per_history", &stats.group_sum_sq_per_history),
        ],
        &[("counter_words", &words)],
    )?;
    Ok(())
}

/// Restores the checkpoint of `plan` into `stats` (fresh, with its groups) and
/// `counters`, if there is one that belongs to exactly this run; returns the number of
/// batches restored (0 without a usable checkpoint, which is then left alone to be
/// replaced).
pub fn restore(plan: &Plan, stats: &mut BatchStats, counters: &mut CounterSum) -> u64 {
    let path = checkpoint_path(&plan.output);
    if !path.is_file() {
        return 0;
    }
    let read = || -> Option<(u64, [Vec<f64>; 4], CounterSum)> {
        let key = h5::read_attr_string(&path, "/", "run_key").ok()?;
        let done = h5::read_attr_u64(&path, "/", "batches_done").ok()?;
        let batches = h5::read_attr_u64(&path, "/", "batches").ok()?;
        let hpb = h5::read_attr_u64(&path, "/", "histories_per_batch").ok()?;
        if key != run_key(plan)
            || batches != plan.batches
            || hpb != plan.histories_per_batch
            || done == 0
            || done >= batches
        {
            return None;
        }
        let get = |n: &str| h5::read_f64_dataset(&path, n).ok().map(|(v, _)| v);
        let arrays = [
            get("sum_mev")?,
            get("sum_sq_per_history")?,
            get("group_sum_mev")?,
            get("group_sum_sq_per_history")?,
        ];
        if arrays[0].len() != stats.sum_mev.len()
            || arrays[1].len() != stats.sum_sq_per_history.len()
            || arrays[2].len() != stats.group_sum_mev.len()
            || arrays[3].len() != stats.group_sum_sq_per_history.len()
        {
            return None;
        }
        let words = h5::read_u64_dataset(&path, "counter_words").ok()?;
        let words: [u64; CounterSum::WORDS] = words.try_into().ok()?;
        Some((done, arrays, CounterSum::from_words(&words)))
    };
    match read() {
        Some((done, [a, b, c, d], words)) => {
            stats.sum_mev = a;
            stats.sum_sq_per_history = b;
            stats.group_sum_mev = c;
            stats.group_sum_sq_per_history = d;
            stats.batches = done;
            *counters = words;
            done
        }
        None => 0,
    }
}

/// Removes the checkpoint of a finished run (a missing one is fine).
pub fn remove(plan: &Plan) {
    let _ = std::fs::remove_file(checkpoint_path(&plan.output));
}
