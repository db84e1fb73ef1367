//! Percentiles of recorded latencies.

use std::time::Duration;

/// Nearest-rank percentiles of a set of durations.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// How many.
    pub count: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Largest.
    pub max: Duration,
}

impl Summary {
    /// The summary of `nanos` (sorted in place); all zero when empty.
    #[must_use]
    pub fn of(nanos: &mut [u64]) -> Self {
        if nanos.is_empty() {
            return Self::default();
        }
        nanos.sort_unstable();
        let at = |q: f64| {
            // Nearest rank: the smallest value with at least q of the values at or below.
            let rank = (q * nanos.len() as f64).ceil() as usize;
            Duration::from_nanos(nanos[rank.clamp(1, nanos.len()) - 1])
        };
        Self {
            count: nanos.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: Duration::from_nanos(nanos[nanos.len() - 1]),
        }
    }
}

/// Milliseconds with 2 decimals (3 below 0.1 ms).
#[must_use]
pub fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e3;
    if v < 0.1 {
        format!("{v:.3}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        let s = Summary::of(&mut v);
        assert_eq!(s.count, 100);
        assert_eq!(s.p50, Duration::from_nanos(50));
        assert_eq!(s.p99, Duration::from_nanos(99));
        assert_eq!(s.max, Duration::from_nanos(100));
        let mut one = vec![7];
        assert_eq!(Summary::of(&mut one).p99, Duration::from_nanos(7));
        assert_eq!(Summary::of(&mut []).count, 0);
    }
}
