//! Version vectors: what a replica has seen, as one counter per replica.

use crate::vec_map::VecMap;
use crate::{Crdt, Dot, ReplicaId};
use core::cmp::Ordering;
use core::fmt;

/// For each replica, how many of its consecutive dots have been seen: the dot
/// `(r, c)` is covered iff `c <= self.get(r)`.
///
/// # Invariants
/// Entries are kept sorted by replica and a counter of 0 is never stored (a missing
/// replica means 0), so two vectors that cover the same dots are equal, compare equal
/// and encode to identical bytes.
///
/// `PartialOrd` is the causal order: `a < b` when every counter of `a` is at most that
/// of `b` and one is smaller; `partial_cmp` returns `None` for concurrent vectors.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct VersionVector {
    counters: VecMap<ReplicaId, u64>,
}

impl VersionVector {
    /// The empty vector: nothing seen.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            counters: VecMap::new(),
        }
    }

    /// How many consecutive dots of `replica` this vector covers (0 if none).
    #[must_use]
    pub fn get(&self, replica: ReplicaId) -> u64 {
        self.counters.get(&replica).copied().unwrap_or(0)
    }

    /// Whether `dot` is covered.
    #[must_use]
    pub fn contains(&self, dot: &Dot) -> bool {
        dot.counter() <= self.get(dot.replica())
    }

    /// Raises the counter of `replica` to at least `counter` (never lowers it).
    pub fn advance(&mut self, replica: ReplicaId, counter: u64) {
        if counter == 0 {
            return;
        }
        let slot = self.counters.get_or_insert_with(replica, || 0);
        *slot = (*slot).max(counter);
    }

    /// Covers `dot` and, by the vector's meaning, every earlier dot of its replica.
    pub fn observe(&mut self, dot: Dot) {
        self.advance(dot.replica(), dot.counter());
    }

    /// Drops `replica`'s entry and returns its counter (0 if it had none): a retired
    /// writer leaves every version vector (`docs/RETIREMENT.md` §3.2).
    pub fn remove(&mut self, replica: ReplicaId) -> u64 {
        self.counters.remove(&replica).unwrap_or(0)
    }

    /// Pointwise maximum.
    pub fn merge(&mut self, other: &Self) {
        self.counters
            .merge_with(&other.counters, |a, b| *a = (*a).max(*b), |b| *b);
    }

    /// Whether `self` covers everything `other` covers (`self >= other`).
    #[must_use]
    pub fn covers(&self, other: &Self) -> bool {
        other.counters.iter().all(|(r, c)| self.get(*r) >= *c)
    }

    /// The replicas with a non-zero counter, ascending, with their counters.
    #[must_use]
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (ReplicaId, u64)> + ExactSizeIterator + '_ {
        self.counters.iter().map(|(r, c)| (*r, *c))
    }

    /// The heap this vector holds (nothing for one replica: it is inline).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.counters.heap_bytes(|_| 0)
    }

    /// The number of replicas with a non-zero counter.
    #[must_use]
    pub fn len(&self) -> usize {
        self.counters.len()
    }

    /// Whether nothing is covered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.counters.is_empty()
    }

    /// The total number of dots covered (exact: a sum of `u64`s fits a `u128`).
    #[must_use]
    pub fn dot_count(&self) -> u128 {
        self.counters.iter().map(|(_, c)| u128::from(*c)).sum()
    }

    /// Builds from `(replica, counter)` pairs already sorted strictly ascending by
    /// replica with non-zero counters (checked by the caller, e.g. the decoder).
    pub(crate) fn from_sorted(entries: Vec<(ReplicaId, u64)>) -> Self {
        debug_assert!(entries.iter().all(|(_, c)| *c > 0));
        Self {
            counters: VecMap::from_sorted(entries),
        }
    }

    pub(crate) fn set_raw(&mut self, replica: ReplicaId, counter: u64) {
        if counter == 0 {
            self.counters.remove(&replica);
        } else {
            *self.counters.get_or_insert_with(replica, || 0) = counter;
        }
    }
}

impl Crdt for VersionVector {
    fn merge(&mut self, other: &Self) {
        VersionVector::merge(self, other);
    }
}

impl FromIterator<(ReplicaId, u64)> for VersionVector {
    fn from_iter<I: IntoIterator<Item = (ReplicaId, u64)>>(iter: I) -> Self {
        let mut vv = Self::new();
        for (r, c) in iter {
            vv.advance(r, c);
        }
        vv
    }
}

impl PartialOrd for VersionVector {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        let (mut less, mut greater) = (false, false);
        let mut a = self.counters.iter().peekable();
        let mut b = other.counters.iter().peekable();
        loop {
            let step = match (a.peek(), b.peek()) {
                (None, None) => break,
                (Some(_), None) => Ordering::Greater,
                (None, Some(_)) => Ordering::Less,
                (Some((ra, ca)), Some((rb, cb))) => match ra.cmp(rb) {
                    Ordering::Equal => {
                        let o = ca.cmp(cb);
                        a.next();
                        b.next();
                        less |= o == Ordering::Less;
                        greater |= o == Ordering::Greater;
                        continue;
                    }
                    // The smaller key is missing (0) on the other side.
                    Ordering::Less => Ordering::Greater,
                    Ordering::Greater => Ordering::Less,
                },
            };
            if step == Ordering::Greater {
                a.next();
                greater = true;
            } else {
                b.next();
                less = true;
            }
        }
        match (less, greater) {
            (false, false) => Some(Ordering::Equal),
            (true, false) => Some(Ordering::Less),
            (false, true) => Some(Ordering::Greater),
            (true, true) => None,
        }
    }
}

impl fmt::Debug for VersionVector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
