//! The simulator's only source of randomness: one ChaCha8 stream per seed.
//!
//! Every random choice of a run (swarm parameters, topology, workload, faults,
//! delivery order) is drawn from the [`Rng`] built from the run's `u64` seed, in
//! program order, so a seed replays exactly. Probabilities are integers in parts per
//! million: no floating point anywhere in a decision.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng as _, SeedableRng};

/// Parts per million: `1_000_000` is certainty.
pub type Ppm = u32;

/// Certainty, in [`Ppm`].
pub const ALWAYS: Ppm = 1_000_000;

/// A seeded generator (ChaCha8). Never the OS's or a global one.
#[derive(Clone, Debug)]
pub struct Rng(Option<ChaCha8Rng>);

impl Rng {
    /// The generator of seed `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(Some(ChaCha8Rng::seed_from_u64(seed)))
    }

    /// A generator that must never be drawn from: a trace replay
    /// ([`super::trace`]) holds these, so that any decision it does not take from the
    /// trace fails loudly instead of drawing a number.
    #[must_use]
    pub fn none() -> Self {
        Self(None)
    }

    /// 64 random bits.
    ///
    /// # Panics
    /// If this is [`Rng::none`] (a replay drew a number).
    pub fn u64(&mut self) -> u64 {
        self.0
            .as_mut()
            .expect("a trace replay drew a random number: a decision the trace does not record")
            .next_u64()
    }

    /// Uniform in `0..n` (0 if `n == 0`), without modulo bias (Lemire's method).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Uniform in `lo..=hi` (`lo` if `hi < lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// Uniform index into a collection of `len` items (0 if empty).
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// `true` with probability `p` parts per million.
    pub fn chance(&mut self, p: Ppm) -> bool {
        p > 0 && (p >= ALWAYS || self.below(u64::from(ALWAYS)) < u64::from(p))
    }

    /// A probability in `0..=max` ppm, or exactly 0 with probability `off` (swarm
    /// testing: a fault is either absent from a run or present at a random rate).
    pub fn swarm_rate(&mut self, off: Ppm, max: Ppm) -> Ppm {
        if self.chance(off) {
            0
        } else {
            self.range(1, u64::from(max)) as Ppm
        }
    }

    /// One element of a non-empty slice.
    ///
    /// # Panics
    /// If `xs` is empty.
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.index(xs.len())]
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.index(i + 1);
            xs.swap(i, j);
        }
    }

    /// An independent stream derived from this one (so that, e.g., the workload's
    /// draws do not shift when the network draws one more number).
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.below(1000), b.below(1000));
        }
        assert_ne!(Rng::new(7).u64(), Rng::new(8).u64());
    }

    #[test]
    fn bounds_hold() {
        let mut r = Rng::new(1);
        for n in 1..50 {
            assert!(r.below(n) < n);
            let x = r.range(n, n + 3);
            assert!((n..=n + 3).contains(&x));
        }
        assert!(!r.chance(0));
        assert!(r.chance(ALWAYS));
    }
}
