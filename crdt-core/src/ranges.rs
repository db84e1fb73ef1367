//! Sets of dot counters kept as maximal runs.

/// A set of `u64` counters stored as inclusive ranges `(first, last)`.
///
/// # Invariant
/// Ranges are sorted, non-empty (`first <= last`) and maximal: between two ranges
/// there is at least one missing counter. So equal sets have equal representations,
/// and a run of consecutive dots (the common case) costs one entry.
#[derive(Clone, PartialEq, Eq, Hash, Default, Debug)]
pub(crate) struct Ranges {
    /// Inline up to one run (the common case: a delta's or a gap's single run).
    runs: smallvec::SmallVec<[(u64, u64); 1]>,
}

impl Ranges {
    pub(crate) const fn new() -> Self {
        Self {
            runs: smallvec::SmallVec::new_const(),
        }
    }

    /// Wraps runs the caller has checked to satisfy the invariant.
    pub(crate) fn from_runs(runs: Vec<(u64, u64)>) -> Self {
        debug_assert!(runs.iter().all(|(a, b)| a <= b));
        debug_assert!(runs
            .windows(2)
            .all(|w| w[0].1.checked_add(1).is_some_and(|n| n < w[1].0)));
        Self {
            runs: smallvec::SmallVec::from_vec(runs),
        }
    }

    /// The heap held: the runs' buffer once spilled (one run is inline).
    pub(crate) fn heap_bytes(&self) -> usize {
        crate::memory::small_vec(&self.runs)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    pub(crate) fn runs(&self) -> &[(u64, u64)] {
        &self.runs
    }

    pub(crate) fn contains(&self, c: u64) -> bool {
        // Index of the first run starting after c; the run before it may hold c.
        let i = self.runs.partition_point(|&(first, _)| first <= c);
        i > 0 && self.runs[i - 1].1 >= c
    }

    pub(crate) fn max(&self) -> Option<u64> {
        self.runs.last().map(|&(_, last)| last)
    }

    /// The number of counters in the set.
    pub(crate) fn count(&self) -> u128 {
        self.runs.iter().map(|&(a, b)| u128::from(b - a) + 1).sum()
    }

    /// Adds `first..=last` (`first <= last`).
    pub(crate) fn insert_run(&mut self, first: u64, last: u64) {
        debug_assert!(first <= last);
        // Runs entirely before `first - 1` or after `last + 1` are untouched.
        let lo = self
            .runs
            .partition_point(|&(_, l)| l.saturating_add(1) < first);
        let hi = self
            .runs
            .partition_point(|&(f, _)| f <= last.saturating_add(1));
        if lo == hi {
            self.runs.insert(lo, (first, last));
            return;
        }
        let merged = (first.min(self.runs[lo].0), last.max(self.runs[hi - 1].1));
        self.runs[lo] = merged;
        self.runs.drain(lo + 1..hi);
    }

    /// Union with `other`, one ordered walk.
    pub(crate) fn union(&mut self, other: &Ranges) {
        if other.runs.len() <= 4 {
            for &(a, b) in &other.runs {
                self.insert_run(a, b);
            }
            return;
        }
        let mut all: Vec<(u64, u64)> = Vec::with_capacity(self.runs.len() + other.runs.len());
        let (mut i, mut j) = (0, 0);
        while i < self.runs.len() || j < other.runs.len() {
            let next = if j == other.runs.len()
                || (i < self.runs.len() && self.runs[i].0 <= other.runs[j].0)
            {
                i += 1;
                self.runs[i - 1]
            } else {
                j += 1;
                other.runs[j - 1]
            };
            match all.last_mut() {
                Some(last) if last.1.saturating_add(1) >= next.0 => last.1 = last.1.max(next.1),
                _ => all.push(next),
            }
        }
        self.runs = smallvec::SmallVec::from_vec(all);
    }

    /// Removes every counter `<= floor` and, if the set then starts at `floor + 1`,
    /// removes that first run and returns its last counter (the new floor).
    pub(crate) fn fold_into(&mut self, floor: u64) -> u64 {
        let cut = self.runs.partition_point(|&(_, l)| l <= floor);
        self.runs.drain(..cut);
        let mut floor = floor;
        if let Some(first) = self.runs.first_mut() {
            if first.0 <= floor.saturating_add(1) {
                floor = first.1;
                self.runs.remove(0);
            }
        }
        floor
    }
}
