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

    /// The runs that `first..=last` (`first <= last`) overlaps or touches: those
    /// before it end before `first - 1`, those after it start after `last + 1`.
    fn reach(&self, first: u64, last: u64) -> core::ops::Range<usize> {
        let lo = self
            .runs
            .partition_point(|&(_, l)| l.saturating_add(1) < first);
        let hi = self
            .runs
            .partition_point(|&(f, _)| f <= last.saturating_add(1));
        lo..hi
    }

    /// Adds `first..=last` (`first <= last`).
    pub(crate) fn insert_run(&mut self, first: u64, last: u64) {
        debug_assert!(first <= last);
        let core::ops::Range { start: lo, end: hi } = self.reach(first, last);
        if lo == hi {
            self.runs.insert(lo, (first, last));
            return;
        }
        let merged = (first.min(self.runs[lo].0), last.max(self.runs[hi - 1].1));
        self.runs[lo] = merged;
        self.runs.drain(lo + 1..hi);
    }

    /// Union with `other`. Only the runs of this set that `other`'s span (its first
    /// counter less one to its last plus one) reaches can change; they are found by
    /// two binary searches, merged with `other`'s runs and put back in their place.
    /// So the cost is O(log n + the runs within that span + runs of `other`) plus one
    /// move of the runs after it, not a rebuild of all n runs. (A rebuild of the
    /// removed dots of every writer on each merge took 12 % of a following leader's
    /// CPU once they held tens of thousands of runs.)
    pub(crate) fn union(&mut self, other: &Ranges) {
        let (Some(&(first, _)), Some(&(_, last))) = (other.runs.first(), other.runs.last()) else {
            return;
        };
        if other.runs.len() <= 4 {
            for &(a, b) in &other.runs {
                self.insert_run(a, b);
            }
            return;
        }
        let reach = self.reach(first, last);
        let mine = &self.runs[reach.clone()];
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(mine.len() + other.runs.len());
        let (mut i, mut j) = (0, 0);
        while i < mine.len() || j < other.runs.len() {
            let next = if j == other.runs.len() || (i < mine.len() && mine[i].0 <= other.runs[j].0)
            {
                i += 1;
                mine[i - 1]
            } else {
                j += 1;
                other.runs[j - 1]
            };
            match merged.last_mut() {
                Some(last) if last.1.saturating_add(1) >= next.0 => last.1 = last.1.max(next.1),
                _ => merged.push(next),
            }
        }
        // No run outside the reach touches a merged run.
        self.runs.drain(reach.clone());
        self.runs.insert_many(reach.start, merged);
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

#[cfg(test)]
mod tests {
    use super::Ranges;
    use quickcheck::{QuickCheck, TestResult};
    use std::collections::BTreeSet;

    fn of(set: &BTreeSet<u64>) -> Ranges {
        let mut r = Ranges::new();
        for &c in set {
            r.insert_run(c, c);
        }
        r
    }

    fn maximal(r: &Ranges) -> bool {
        r.runs().iter().all(|(a, b)| a <= b)
            && r.runs()
                .windows(2)
                .all(|w| w[0].1.checked_add(1).is_some_and(|n| n < w[1].0))
    }

    /// Union against a set model, for a large set and a delta of up to 40 counters
    /// anywhere in it or beyond it (more than 4 runs takes the walk over the runs the
    /// delta's span reaches).
    #[test]
    fn union_is_the_union_of_the_sets() {
        fn prop(base: Vec<u16>, delta: Vec<u16>, shift: u16) -> TestResult {
            let a: BTreeSet<u64> = base.iter().map(|&c| u64::from(c % 2_000)).collect();
            let b: BTreeSet<u64> = delta
                .iter()
                .take(40)
                .map(|&c| u64::from(c % 300) + u64::from(shift % 2_100))
                .collect();
            let mut r = of(&a);
            r.union(&of(&b));
            let expected: BTreeSet<u64> = a.union(&b).copied().collect();
            let got: BTreeSet<u64> = r.runs().iter().flat_map(|&(x, y)| x..=y).collect();
            TestResult::from_bool(got == expected && maximal(&r) && r == of(&expected))
        }
        QuickCheck::new()
            .tests(2_000)
            .quickcheck(prop as fn(Vec<u16>, Vec<u16>, u16) -> TestResult);
    }

    #[test]
    fn union_joins_runs_that_touch_at_either_end_and_counters_at_the_limits() {
        let runs = |v: &[(u64, u64)]| Ranges::from_runs(v.to_vec());
        let mut r = runs(&[(1, 3), (10, 12), (20, 22), (30, 32)]);
        r.union(&runs(&[
            (4, 4),
            (6, 6),
            (8, 9),
            (13, 19),
            (23, 23),
            (40, 41),
        ]));
        assert_eq!(r.runs(), [(1, 4), (6, 6), (8, 23), (30, 32), (40, 41)]);
        let mut r = runs(&[(0, 0), (u64::MAX - 1, u64::MAX)]);
        r.union(&runs(&[
            (2, 2),
            (4, 4),
            (6, 6),
            (8, 8),
            (u64::MAX - 3, u64::MAX - 2),
        ]));
        assert_eq!(
            r.runs(),
            [
                (0, 0),
                (2, 2),
                (4, 4),
                (6, 6),
                (8, 8),
                (u64::MAX - 3, u64::MAX)
            ]
        );
        let mut r = runs(&[(5, 9)]);
        r.union(&Ranges::new());
        assert_eq!(r.runs(), [(5, 9)]);
    }
}
