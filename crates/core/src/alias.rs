//! Walker's alias method (Vose's construction): O(1) sampling from a discrete distribution.

/// A discrete distribution over `0..n` sampled in constant time (Walker 1977, Vose 1991).
#[derive(Clone, Debug)]
pub struct AliasTable {
    /// Acceptance probability of each bin, scaled to [0, 1].
    prob: Vec<f64>,
    /// Alternative outcome of each bin.
    alias: Vec<u32>,
    /// Sum of the weights the table was built from (same units as the weights).
    total_weight: f64,
}

/// Why an alias table could not be built.
#[derive(Debug, Clone, PartialEq)]
pub enum AliasError {
    /// No weights were given.
    Empty,
    /// A weight is negative or not finite; holds its index and value.
    BadWeight(usize, f64),
    /// All weights are zero.
    AllZero,
    /// More than `u32::MAX` outcomes.
    TooMany,
}

impl std::fmt::Display for AliasError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AliasError::Empty => write!(f, "no weights given: expected at least one"),
            AliasError::BadWeight(i, w) => {
                write!(
                    f,
                    "weight {i} is {w}: expected a finite, non-negative number"
                )
            }
            AliasError::AllZero => write!(f, "all weights are zero: expected a positive sum"),
            AliasError::TooMany => write!(f, "more than 2^32-1 outcomes"),
        }
    }
}

impl std::error::Error for AliasError {}

impl AliasTable {
    /// Builds the table from non-negative weights (need not be normalised).
    pub fn new(weights: &[f64]) -> Result<Self, AliasError> {
        let n = weights.len();
        if n == 0 {
            return Err(AliasError::Empty);
        }
        if n > u32::MAX as usize {
            return Err(AliasError::TooMany);
        }
        if let Some((i, &w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(AliasError::BadWeight(i, w));
        }
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return Err(AliasError::AllZero);
        }
        let scale = n as f64 / total;
        let mut prob: Vec<f64> = weights.iter().map(|w| w * scale).collect();
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let mut small: Vec<u32> = Vec::new();
        let mut large: Vec<u32> = Vec::new();
        for (i, &p) in prob.iter().enumerate() {
            if p < 1.0 {
                small.push(i as u32)
            } else {
                large.push(i as u32)
            }
        }
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            alias[s as usize] = l;
            prob[l as usize] -= 1.0 - prob[s as usize];
            if prob[l as usize] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        for i in small.into_iter().chain(large) {
            prob[i as usize] = 1.0;
        }
        Ok(Self {
            prob,
            alias,
            total_weight: total,
        })
    }

    /// Number of outcomes.
    pub fn len(&self) -> usize {
        self.prob.len()
    }

    /// True when the table has no outcomes (never, for a table built by [`AliasTable::new`]).
    pub fn is_empty(&self) -> bool {
        self.prob.is_empty()
    }

    /// Sum of the weights the table was built from.
    pub fn total_weight(&self) -> f64 {
        self.total_weight
    }

    /// Samples an outcome from one uniform number `u` in [0, 1).
    #[inline]
    pub fn sample(&self, u: f64) -> usize {
        let n = self.prob.len();
        let x = u * n as f64;
        let i = (x as usize).min(n - 1);
        let frac = x - i as f64;
        if frac < self.prob[i] {
            i
        } else {
            self.alias[i] as usize
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{domain, StreamRng};

    #[test]
    fn frequencies_match_weights() {
        let w = [1.0, 0.0, 3.0, 6.0, 0.5];
        let t = AliasTable::new(&w).unwrap();
        let mut r = StreamRng::new(3, domain::SETUP, 0);
        let n = 400_000;
        let mut c = [0usize; 5];
        for _ in 0..n {
            c[t.sample(r.uniform())] += 1;
        }
        let tot: f64 = w.iter().sum();
        for i in 0..5 {
            let p = w[i] / tot;
            let sigma = (n as f64 * p * (1.0 - p)).sqrt();
            assert!(
                (c[i] as f64 - n as f64 * p).abs() <= 4.0 * sigma + 1e-9,
                "{i}: {c:?}"
            );
        }
        assert_eq!(c[1], 0);
    }

    #[test]
    fn bad_weights_are_reported() {
        assert_eq!(AliasTable::new(&[]).unwrap_err(), AliasError::Empty);
        assert_eq!(
            AliasTable::new(&[0.0, 0.0]).unwrap_err(),
            AliasError::AllZero
        );
        assert!(matches!(
            AliasTable::new(&[1.0, f64::NAN]).unwrap_err(),
            AliasError::BadWeight(1, _)
        ));
        assert!(matches!(
            AliasTable::new(&[1.0, -2.0]).unwrap_err(),
            AliasError::BadWeight(1, _)
        ));
    }
}
