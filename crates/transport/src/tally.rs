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
        // Added to at a random voxel at every deposit: backed by huge pages where the
        // system allows (pedisim_core::mem).
        let mut acc = pedisim_core::mem::with_capacity_huge(n);
        acc.extend((0..n).map(|_| AtomicU64::new(0)));
        Self { acc }
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

    /// Adds a buffer of `(voxel, quanta)` deposits. The line of the deposit `AHEAD`
    /// entries later is prefetched before each atomic add, so that the cache misses of a
    /// large tally overlap instead of stalling one after the other (an atomic add is a
    /// full barrier on x86).
    #[inline]
    pub fn add_buffer(&self, buf: &[(u32, u64)]) {
        const AHEAD: usize = 8;
        for k in 0..buf.len() {
            if let Some(&(v, _)) = buf.get(k + AHEAD) {
                prefetch(&self.acc[v as usize]);
            }
            let (v, q) = buf[k];
            self.acc[v as usize].fetch_add(q, Ordering::Relaxed);
        }
    }

    /// Adds raw quanta to voxel `i` (used to merge partial tallies, e.g. from MPI ranks).
    pub fn add_quanta(&self, i: usize, q: u64) {
        self.acc[i].fetch_add(q, Ordering::Relaxed);
    }

    /// Moves every voxel's quanta out (the tally is left at zero): for sending a batch to
    /// another process.
    pub fn drain_quanta(&mut self) -> Vec<u64> {
        self.acc
            .iter_mut()
            .map(|a| std::mem::take(a.get_mut()))
            .collect()
    }

    /// Sets every voxel's quanta (e.g. a batch summed over processes); `q` must have one
    /// value per voxel.
    pub fn set_quanta(&mut self, q: &[u64]) {
        assert_eq!(q.len(), self.acc.len(), "one value per voxel");
        for (a, &v) in self.acc.iter_mut().zip(q) {
            *a.get_mut() = v;
        }
    }

    /// A snapshot of all voxels in quanta.
    pub fn quanta(&self) -> Vec<u64> {
        self.acc.iter().map(|a| a.load(Ordering::Relaxed)).collect()
    }
}

/// Hints the processor to load the cache line of `x` (no effect on results).
#[inline(always)]
pub fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint; it never faults, even for invalid addresses, and here
    // the address is that of a valid reference.
    unsafe {
        core::arch::x86_64::_mm_prefetch(
            x as *const T as *const i8,
            core::arch::x86_64::_MM_HINT_T0,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Converts an energy \[MeV\] to fixed-point quanta (rounded to nearest; negative and NaN
/// give 0, as the saturating cast to `u64` would, for any energy below 2^33 MeV).
#[inline(always)]
pub fn to_quanta(energy_mev: f64) -> u64 {
    // Through i64: its saturating cast is a few instructions shorter than u64's, and the
    // clamp at 0 makes it exact for every value the u64 cast gets (below 2^63 quanta).
    (energy_mev * QUANTA_PER_MEV + 0.5).max(0.0) as i64 as u64
}

/// Per-voxel statistics over equal-size batches.
#[derive(Clone, Debug)]
pub struct BatchStats {
    /// Sum over batches of the energy deposited per voxel \[MeV\].
    pub sum_mev: Vec<f64>,
    /// Sum over batches of the square of the batch's energy per history [MeV^2].
    pub sum_sq_per_history: Vec<f64>,
    /// Number of batches folded in.
    pub batches: u64,
    /// Histories per batch.
    pub histories_per_batch: u64,
    /// Optional grouping of voxels (e.g. organ labels): group index of each voxel.
    group_of: Option<Vec<u32>>,
    /// Sum over batches of the energy deposited per group \[MeV\].
    pub group_sum_mev: Vec<f64>,
    /// Sum over batches of the square of the group's batch energy per history [MeV^2].
    pub group_sum_sq_per_history: Vec<f64>,
}

impl BatchStats {
    /// Empty statistics for `n` voxels and batches of `histories_per_batch`.
    pub fn new(n: usize, histories_per_batch: u64) -> Self {
        Self {
            sum_mev: vec![0.0; n],
            sum_sq_per_history: vec![0.0; n],
            batches: 0,
            histories_per_batch,
            group_of: None,
            group_sum_mev: Vec::new(),
            group_sum_sq_per_history: Vec::new(),
        }
    }

    /// Also keeps batch statistics of the energy summed over groups of voxels (organs):
    /// `group_of[i]` is the group of voxel `i`, groups `0..n_groups`. Group totals are
    /// summed in integer quanta, so they too are independent of scheduling.
    pub fn with_groups(mut self, group_of: Vec<u32>, n_groups: usize) -> Self {
        assert_eq!(group_of.len(), self.sum_mev.len(), "one group per voxel");
        assert!(
            group_of.iter().all(|&g| (g as usize) < n_groups),
            "group out of range"
        );
        self.group_of = Some(group_of);
        self.group_sum_mev = vec![0.0; n_groups];
        self.group_sum_sq_per_history = vec![0.0; n_groups];
        self
    }

    /// Relative 1-sigma uncertainty of each group's mean energy per history (NaN where
    /// nothing was deposited).
    pub fn group_relative_uncertainty(&self) -> Vec<f64> {
        let b = self.batches as f64;
        let nb = self.histories_per_batch as f64;
        self.group_sum_mev
            .iter()
            .zip(&self.group_sum_sq_per_history)
            .map(|(&s, &s2)| relative_sigma(s / nb, s2, b))
            .collect()
    }

    /// Folds the batch held in `tally` into the statistics and resets the tally.
    pub fn fold(&mut self, tally: &mut EnergyTally) {
        use rayon::prelude::*;
        let nb = self.histories_per_batch as f64;
        let n_groups = self.group_sum_mev.len();
        let group_of = self.group_of.as_deref();
        const BLOCK: usize = 1 << 14;
        // Per block of voxels: fold the voxel values, and sum the block's quanta per group.
        let group_quanta: Vec<u128> = self
            .sum_mev
            .par_chunks_mut(BLOCK)
            .zip(self.sum_sq_per_history.par_chunks_mut(BLOCK))
            .zip(tally.acc.par_chunks_mut(BLOCK))
            .enumerate()
            .map(|(k, ((s, s2), acc))| {
                let mut g = vec![0u128; n_groups];
                for j in 0..s.len() {
                    let i = k * BLOCK + j;
                    let q = std::mem::take(acc[j].get_mut());
                    if q != 0 {
                        let e = q as f64 / QUANTA_PER_MEV;
                        s[j] += e;
                        let x = e / nb;
                        s2[j] += x * x;
                        if let Some(go) = group_of {
                            g[go[i] as usize] += q as u128;
                        }
                    }
                }
                g
            })
            .reduce(
                || vec![0u128; n_groups],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        for (k, q) in group_quanta.into_iter().enumerate() {
            let e = q as f64 / QUANTA_PER_MEV;
            self.group_sum_mev[k] += e;
            let x = e / nb;
            self.group_sum_sq_per_history[k] += x * x;
        }
        self.batches += 1;
    }

    /// Total histories folded in.
    pub fn histories(&self) -> u64 {
        self.batches * self.histories_per_batch
    }

    /// Mean energy deposited per history in each voxel \[MeV\].
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Quanta round to nearest; negative, NaN and zero energies give 0 (as the saturating
    /// cast to u64 does); large energies stay exact.
    #[test]
    fn quanta_round_and_clamp() {
        assert_eq!(to_quanta(1.0), 1 << 30);
        assert_eq!(to_quanta(0.0), 0);
        assert_eq!(to_quanta(-1e-12), 0);
        assert_eq!(to_quanta(-5.0), 0);
        assert_eq!(to_quanta(f64::NAN), 0);
        assert_eq!(to_quanta(0.49 / QUANTA_PER_MEV), 0);
        assert_eq!(to_quanta(0.51 / QUANTA_PER_MEV), 1);
        assert_eq!(to_quanta(1.0e6), 1_000_000u64 << 30);
        for e in [1e-9, 0.1405, 0.511, 7.3, 4.0e9] {
            assert_eq!(to_quanta(e), (e * QUANTA_PER_MEV + 0.5) as u64, "{e}");
        }
    }
}
