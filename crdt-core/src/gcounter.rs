//! Grow-only counter.

use crate::retirement::Batch;
use crate::vec_map::VecMap;
use crate::{CoreError, Crdt, Held, ReplicaId, Retire, Retirement};
use core::fmt;

/// A grow-only counter: one monotone `u64` per replica, merged by pointwise maximum;
/// the value is their sum.
///
/// # Limits
/// No arithmetic wraps or panics. A replica's entry saturates at `u64::MAX`:
/// [`GCounter::increment`] clamps there (and still returns a valid delta), while
/// [`GCounter::try_increment`] refuses with [`CoreError::CounterOverflow`] and leaves the
/// state unchanged. [`GCounter::value`] saturates at `u64::MAX` when the entries sum past
/// it; [`GCounter::value_u128`] is always exact.
///
/// # Invariant
/// Entries are sorted by replica and never 0, so equal counters encode identically.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct GCounter {
    counts: VecMap<ReplicaId, u64>,
}

impl GCounter {
    /// A counter at 0.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            counts: VecMap::new(),
        }
    }

    /// Adds `n` on behalf of `replica`, saturating its entry at `u64::MAX`.
    /// Returns the delta: `replica`'s new entry.
    #[must_use = "the returned delta must be sent to other replicas"]
    pub fn increment(&mut self, replica: ReplicaId, n: u64) -> GCounter {
        let slot = self.counts.get_or_insert_with(replica, || 0);
        *slot = slot.saturating_add(n);
        let now = *slot;
        if now == 0 {
            self.counts.remove(&replica);
        }
        Self::single(replica, now)
    }

    /// Adds `n` on behalf of `replica`, or refuses if its entry would pass `u64::MAX`.
    ///
    /// # Errors
    /// [`CoreError::CounterOverflow`]; the counter is unchanged.
    pub fn try_increment(&mut self, replica: ReplicaId, n: u64) -> Result<GCounter, CoreError> {
        self.get(replica)
            .checked_add(n)
            .ok_or(CoreError::CounterOverflow { replica })?;
        Ok(self.increment(replica, n))
    }

    /// The sum of all entries, saturating at `u64::MAX`.
    #[must_use]
    pub fn value(&self) -> u64 {
        u64::try_from(self.value_u128()).unwrap_or(u64::MAX)
    }

    /// The exact sum of all entries.
    #[must_use]
    pub fn value_u128(&self) -> u128 {
        self.counts.iter().map(|(_, c)| u128::from(*c)).sum()
    }

    /// The entry of `replica` (0 if it never incremented).
    #[must_use]
    pub fn get(&self, replica: ReplicaId) -> u64 {
        self.counts.get(&replica).copied().unwrap_or(0)
    }

    /// Each replica's entry, ascending by replica.
    #[must_use]
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (ReplicaId, u64)> + ExactSizeIterator + '_ {
        self.counts.iter().map(|(r, c)| (*r, *c))
    }

    /// The heap this counter holds (nothing for one replica's entry: it is inline).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.counts.heap_bytes(|_| 0)
    }

    /// The number of replicas with a non-zero entry.
    #[must_use]
    pub fn replica_count(&self) -> usize {
        self.counts.len()
    }

    fn single(replica: ReplicaId, count: u64) -> Self {
        let entries = if count == 0 {
            Vec::new()
        } else {
            vec![(replica, count)]
        };
        Self {
            counts: VecMap::from_sorted(entries),
        }
    }

    /// Built from entries sorted strictly by replica, all non-zero (checked by the caller).
    pub(crate) fn from_sorted(entries: Vec<(ReplicaId, u64)>) -> Self {
        Self {
            counts: VecMap::from_sorted(entries),
        }
    }
}

impl Crdt for GCounter {
    fn merge(&mut self, other: &Self) {
        #[cfg(feature = "sabotage")]
        if crate::sabotage::active(crate::sabotage::Bug::GCounterSumMerge) {
            let sum = |a: &mut u64, b: &u64| *a = a.saturating_add(*b);
            return self.counts.merge_with(&other.counts, sum, |b| *b);
        }
        self.counts
            .merge_with(&other.counts, |a, b| *a = (*a).max(*b), |b| *b);
    }
}

/// Each retired writer's entry leaves; its record's increments join the collapse id's.
impl Retire for GCounter {
    fn retire_all(&mut self, records: &[Retirement]) -> Result<(), CoreError> {
        let batch = Batch::new(records)?;
        let totals = batch.collapsed_totals(|r| (self.get(r), 0))?;
        for record in batch.records() {
            self.counts.remove(&record.retired());
        }
        for (collapse, (total, _)) in totals {
            if total > 0 {
                *self.counts.get_or_insert_with(collapse, || 0) = total;
            }
        }
        Ok(())
    }

    fn held(&self, writer: ReplicaId) -> Held {
        Held {
            increments: self.get(writer),
            ..Held::default()
        }
    }
}

impl fmt::Debug for GCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
