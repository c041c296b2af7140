//! Energy tallies: a fixed-point integer accumulator per voxel for the batch in progress,
//! and per-voxel batch statistics.
//!
//! **Memory model.** One `u64` per voxel for the batch in progress, shared by all threads
//! and updated with atomic integer additions (integer addition is associative, so the
//! result does not depend on the order in which threads add), plus two `f64` per voxel
//! for the batch statistics: 24 bytes per voxel whatever the number of threads (400 MB
//! for a 256^3 grid). The quantum is 2^-30 MeV (about 1e-9 MeV); a voxel may receive up
//! to 1.7e10 MeV in one batch before the accumulator would overflow.

use std::sync::atomic::{AtomicU64, Ordering};

/// Fixed-point quanta per MeV.
pub const QUANTA_PER_MEV: f64 = (1u64 << 30) as f64;

/// Energy deposited per voxel in the batch in progress, in fixed-point quanta.
#[derive(Debug)]
pub struct EnergyTally {
    acc: Vec<AtomicU64>,
}

impl EnergyTally {
    /// A zeroed tally of `n` voxels.
    pub fn new(n: usize) -> Self {
        Self {
            acc: (0..n).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Number of voxels.
    pub fn len(&self) -> usize {
        self.acc.len()
    }

    /// True for a tally without voxels.
    pub fn is_empty(&self) -> bool {
        self.acc.is_empty()
    }

    /// Adds `energy_mev` to voxel `i` (rounded to the nearest quantum).
    #[inline(always)]
    pub fn add(&self, i: usize, energy_mev: f64) {
        let q = (energy_mev * QUANTA_PER_MEV + 0.5) as u64;
        self.acc[i].fetch_add(q, Ordering::Relaxed);
    }

    /// Takes the value of voxel `i` in quanta and resets it to zero.
    #[inline]
    pub fn take(&self, i: usize) -> u64 {
        self.acc[i].swap(0, Ordering::Relaxed)
    }

    /// Adds raw quanta to voxel `i` (used to merge partial tallies, e.g. from MPI ranks).
    pub fn add_quanta(&self, i: usize, q: u64) {
        self.acc[i].fetch_add(q, Ordering::Relaxed);
    }

    /// A snapshot of all voxels in quanta.
    pub fn quanta(&self) -> Vec<u64> {
        self.acc.iter().map(|a| a.load(Ordering::Relaxed)).collect()
    }
}

/// Per-voxel statistics over equal-size batches.
#[derive(Clone, Debug)]
pub struct BatchStats {
    /// Sum over batches of the energy deposited per voxel [MeV].
    pub sum_mev: Vec<f64>,
    /// Sum over batches of the square of the batch's energy per history [MeV^2].
    pub sum_sq_per_history: Vec<f64>,
    /// Number of batches folded in.
    pub batches: u64,
    /// Histories per batch.
    pub histories_per_batch: u64,
}

impl BatchStats {
    /// Empty statistics for `n` voxels and batches of `histories_per_batch`.
    pub fn new(n: usize, histories_per_batch: u64) -> Self {
        Self {
            sum_mev: vec![0.0; n],
            sum_sq_per_history: vec![0.0; n],
            batches: 0,
            histories_per_batch,
        }
    }

    /// Folds the batch held in `tally` into the statistics and resets the tally.
    pub fn fold(&mut self, tally: &EnergyTally) {
        use rayon::prelude::*;
        let nb = self.histories_per_batch as f64;
        self.sum_mev
            .par_iter_mut()
            .zip(self.sum_sq_per_history.par_iter_mut())
            .enumerate()
            .with_min_len(4096)
            .for_each(|(i, (s, s2))| {
                let q = tally.take(i);
                if q != 0 {
                    let e = q as f64 / QUANTA_PER_MEV;
                    *s += e;
                    let x = e / nb;
                    *s2 += x * x;
                }
            });
        self.batches += 1;
    }

    /// Total histories folded in.
    pub fn histories(&self) -> u64 {
        self.batches * self.histories_per_batch
    }

    /// Mean energy deposited per history in each voxel [MeV].
    pub fn mean_per_history_mev(&self) -> Vec<f64> {
        let n = self.histories().max(1) as f64;
        self.sum_mev.iter().map(|s| s / n).collect()
    }

    /// Relative 1-sigma uncertainty of the mean per voxel, from the spread of the batch
    /// means: sqrt(sum (x_b - mean)^2 / (B (B - 1))) / mean. NaN where nothing was
    /// deposited or with fewer than two batches.
    pub fn relative_uncertainty(&self) -> Vec<f64> {
        let b = self.batches as f64;
        let nb = self.histories_per_batch as f64;
        self.sum_mev
            .iter()
            .zip(&self.sum_sq_per_history)
            .map(|(&s, &s2)| relative_sigma(s / nb, s2, b))
            .collect()
    }
}

/// Relative 1-sigma uncertainty of a mean from the sum `sum_x` and sum of squares `sum_x2`
/// of `b` batch values: NaN if the mean is zero or b < 2.
pub fn relative_sigma(sum_x: f64, sum_x2: f64, b: f64) -> f64 {
    if sum_x <= 0.0 || b < 2.0 {
        return f64::NAN;
    }
    let mean = sum_x / b;
    let var = ((sum_x2 - sum_x * mean) / (b - 1.0)).max(0.0);
    (var / b).sqrt() / mean
}
