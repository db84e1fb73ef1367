//! Causal contexts: the set of dots a state has seen, compressed.

use crate::ranges::Ranges;
use crate::vec_map::VecMap;
use crate::{Crdt, Dot, ReplicaId, VersionVector};
use core::fmt;

/// The set of every dot a replica state has seen, stored as a compact
/// [`VersionVector`] plus a *dot cloud* for the dots seen out of order.
///
/// # Invariants
/// For each replica `r` the cloud holds only counters `> vv[r] + 1`, as maximal runs.
/// Inserting a dot that closes a gap folds the run behind it into the vector, so a
/// gap-free context *is* its version vector ([`CausalContext::is_compact`]), and two
/// contexts holding the same dots are equal and encode identically.
///
/// A context only grows: dots are never removed (merge is set union). Its size is
/// bounded by the number of replicas plus the number of gaps, not by the number of
/// updates, because delivery in causal order keeps it compact.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct CausalContext {
    vv: VersionVector,
    cloud: VecMap<ReplicaId, Ranges>,
}

impl CausalContext {
    /// The empty context.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            vv: VersionVector::new(),
            cloud: VecMap::new(),
        }
    }

    /// The heap this context holds: its vector's and its dot cloud's (both inline for
    /// one replica and one run).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.vv.heap_bytes() + self.cloud.heap_bytes(Ranges::heap_bytes)
    }

    /// Whether `dot` has been seen.
    #[must_use]
    pub fn contains(&self, dot: &Dot) -> bool {
        self.vv.contains(dot)
            || self
                .cloud
                .get(&dot.replica())
                .is_some_and(|runs| runs.contains(dot.counter()))
    }

    /// Records `dot` as seen.
    pub fn insert(&mut self, dot: Dot) {
        self.insert_run(dot.replica(), dot.counter(), dot.counter());
    }

    /// Records the dots `(replica, first..=last)` as seen (`1 <= first <= last`;
    /// an empty or zero-based run is ignored).
    pub fn insert_run(&mut self, replica: ReplicaId, first: u64, last: u64) {
        if first == 0 || first > last {
            return;
        }
        let floor = self.vv.get(replica);
        if last <= floor {
            return;
        }
        if first <= floor.saturating_add(1) {
            self.vv.set_raw(replica, last);
            self.fold(replica);
        } else {
            self.cloud
                .get_or_insert_with(replica, Ranges::new)
                .insert_run(first, last);
        }
    }

    /// The next dot `replica` should issue: one past the highest counter of `replica`
    /// seen here, or `None` if that counter is already `u64::MAX` (the id has issued
    /// all the dots it can; only forged input gets there).
    #[must_use]
    pub fn next_dot(&self, replica: ReplicaId) -> Option<Dot> {
        let top = self.max_counter(replica);
        top.checked_add(1).and_then(|c| Dot::try_new(replica, c))
    }

    /// The highest counter of `replica` seen here, in the vector or the cloud (0 if none).
    #[must_use]
    pub fn max_counter(&self, replica: ReplicaId) -> u64 {
        let cloud_top = self.cloud.get(&replica).and_then(Ranges::max).unwrap_or(0);
        self.vv.get(replica).max(cloud_top)
    }

    /// Set union. Costs O(size of `other` + its effect), not O(size of `self`): per
    /// writer, only the runs of `self` within the span of `other`'s runs are walked.
    pub fn merge(&mut self, other: &Self) {
        self.vv.merge(&other.vv);
        self.cloud.merge_with(
            &other.cloud,
            |mine, theirs| mine.union(theirs),
            Clone::clone,
        );
        // Only replicas named by `other` can have new folds or newly covered runs.
        for (r, _) in other.vv.iter() {
            self.fold(r);
        }
        for r in other.cloud.keys() {
            self.fold(*r);
        }
    }

    /// Whether every dot of `other` is in `self`.
    #[must_use]
    pub fn covers(&self, other: &Self) -> bool {
        other
            .runs()
            .all(|(r, first, last)| self.covers_run(r, first, last))
    }

    fn covers_run(&self, r: ReplicaId, first: u64, last: u64) -> bool {
        let floor = self.vv.get(r);
        if last <= floor {
            return true;
        }
        let start = first.max(floor.saturating_add(1));
        self.cloud.get(&r).is_some_and(|runs| {
            let i = runs.runs().partition_point(|&(f, _)| f <= start);
            i > 0 && runs.runs()[i - 1].1 >= last
        })
    }

    /// The gap-free part: every replica's consecutive prefix of seen dots.
    #[must_use]
    pub fn version_vector(&self) -> &VersionVector {
        &self.vv
    }

    /// Whether there are no gaps, i.e. the context equals its version vector.
    #[must_use]
    pub fn is_compact(&self) -> bool {
        self.cloud.is_empty()
    }

    /// Whether no dot has been seen.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.vv.is_empty() && self.cloud.is_empty()
    }

    /// The number of dots seen.
    #[must_use]
    pub fn dot_count(&self) -> u128 {
        self.vv.dot_count()
            + self
                .cloud
                .iter()
                .map(|(_, runs)| runs.count())
                .sum::<u128>()
    }

    /// Every seen dot as maximal runs `(replica, first, last)`, ascending.
    pub fn runs(&self) -> impl Iterator<Item = (ReplicaId, u64, u64)> + '_ {
        let mut vv = self.vv.iter().peekable();
        let mut cloud = self.cloud.iter().peekable();
        core::iter::from_fn(move || {
            // Emit replica by replica: its prefix run (if any), then its cloud runs.
            let next_vv = vv.peek().map(|(r, _)| *r);
            let next_cloud = cloud.peek().map(|(r, _)| **r);
            let r = match (next_vv, next_cloud) {
                (None, None) => return None,
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
            };
            let prefix = vv.next_if(|(x, _)| *x == r).map(|(_, c)| (r, 1, c));
            let clouds = cloud
                .next_if(|(x, _)| **x == r)
                .map(|(_, runs)| runs.runs().iter().map(move |&(a, b)| (r, a, b)));
            Some(prefix.into_iter().chain(clouds.into_iter().flatten()))
        })
        .flatten()
    }

    /// The replicas that appear in the vector or the cloud, ascending.
    pub fn replicas(&self) -> impl Iterator<Item = ReplicaId> + '_ {
        let mut prev = None;
        self.runs()
            .map(|(r, _, _)| r)
            .filter(move |r| prev.replace(*r) != Some(*r))
    }

    /// Every seen dot, ascending. May be very long: prefer [`CausalContext::runs`].
    pub fn dots(&self) -> impl Iterator<Item = Dot> + '_ {
        self.runs()
            .flat_map(|(r, a, b)| (a..=b).filter_map(move |c| Dot::try_new(r, c)))
    }

    /// The dots of `self` that `other` has not seen. Costs O(runs of `self` × log),
    /// independent of the size of `other`.
    #[must_use]
    pub fn difference(&self, other: &Self) -> Self {
        let mut out = Self::new();
        for (r, first, last) in self.runs() {
            other.for_each_unseen(r, first, last, |a, b| out.insert_run(r, a, b));
        }
        out
    }

    /// `self` without the given dots (`dots` sorted ascending; dots not in `self` are
    /// ignored). Costs O(runs of `self` + `dots.len()`).
    #[must_use]
    pub fn without_sorted(&self, dots: &[Dot]) -> Self {
        let mut out = Self::new();
        let mut holes = dots.iter().peekable();
        for (r, first, last) in self.runs() {
            let mut next = Some(first);
            while let Some(h) = holes.next_if(|h| (h.replica(), h.counter()) <= (r, last)) {
                let Some(n) = next else { continue };
                if h.replica() < r || h.counter() < n {
                    continue;
                }
                if h.counter() > n {
                    out.insert_run(r, n, h.counter() - 1);
                }
                next = h.counter().checked_add(1);
            }
            if let Some(n) = next.filter(|n| *n <= last) {
                out.insert_run(r, n, last);
            }
        }
        out
    }

    /// Calls `emit(a, b)` for each maximal sub-run of `(r, first..=last)` not in `self`.
    fn for_each_unseen(&self, r: ReplicaId, first: u64, last: u64, mut emit: impl FnMut(u64, u64)) {
        let floor = self.vv.get(r);
        let mut next = first.max(floor.saturating_add(1));
        if floor >= last {
            return;
        }
        if let Some(runs) = self.cloud.get(&r) {
            let runs = runs.runs();
            let start = runs.partition_point(|&(_, l)| l < next);
            for &(a, b) in &runs[start..] {
                if a > last {
                    break;
                }
                if a > next {
                    emit(next, a - 1);
                }
                if b >= last {
                    return;
                }
                next = b + 1;
            }
        }
        if next <= last {
            emit(next, last);
        }
    }

    pub(crate) fn from_parts(vv: VersionVector, cloud: Vec<(ReplicaId, Vec<(u64, u64)>)>) -> Self {
        let cloud = cloud
            .into_iter()
            .map(|(r, runs)| (r, Ranges::from_runs(runs)))
            .collect();
        Self {
            vv,
            cloud: VecMap::from_sorted(cloud),
        }
    }

    pub(crate) fn cloud_runs(&self) -> impl Iterator<Item = (ReplicaId, &[(u64, u64)])> {
        self.cloud.iter().map(|(r, runs)| (*r, runs.runs()))
    }

    /// Restores the invariant for `replica` after its vector entry or cloud grew.
    fn fold(&mut self, replica: ReplicaId) {
        let Some(runs) = self.cloud.get_mut(&replica) else {
            return;
        };
        let floor = self.vv.get(replica);
        let new_floor = runs.fold_into(floor);
        let empty = runs.is_empty();
        if empty {
            self.cloud.remove(&replica);
        }
        if new_floor != floor {
            self.vv.set_raw(replica, new_floor);
        }
    }
}

impl Crdt for CausalContext {
    fn merge(&mut self, other: &Self) {
        CausalContext::merge(self, other);
    }
}

impl From<VersionVector> for CausalContext {
    fn from(vv: VersionVector) -> Self {
        Self {
            vv,
            cloud: VecMap::new(),
        }
    }
}

impl FromIterator<Dot> for CausalContext {
    fn from_iter<I: IntoIterator<Item = Dot>>(iter: I) -> Self {
        let mut ctx = Self::new();
        for dot in iter {
            ctx.insert(dot);
        }
        ctx
    }
}

impl fmt::Debug for CausalContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.runs().map(|(r, a, b)| {
                if a == b {
                    format!("{r}:{a}")
                } else {
                    format!("{r}:{a}..={b}")
                }
            }))
            .finish()
    }
}
