//! Counter that can go up and down.

use crate::retirement::Batch;
use crate::vec_map::VecMap;
use crate::{CoreError, Crdt, Held, ReplicaId, Retire, Retirement};
use core::fmt;

/// A counter with increments and decrements: per replica, a monotone total of
/// increments `p` and of decrements `n`, each merged by maximum; the value is
/// `Σp - Σn`.
///
/// # Limits
/// No arithmetic wraps or panics. Each replica's `p` and `n` saturate at `u64::MAX`:
/// [`PnCounter::increment`] / [`PnCounter::decrement`] clamp there, while the `try_`
/// variants refuse with [`CoreError::CounterOverflow`] and leave the state unchanged.
/// [`PnCounter::value`] clamps to `i64::MIN..=i64::MAX`; [`PnCounter::value_i128`] is
/// exact for any number of replicas that fits in memory.
///
/// # Invariant
/// Entries are sorted by replica and never `(0, 0)`, so equal counters encode identically.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct PnCounter {
    counts: VecMap<ReplicaId, (u64, u64)>,
}

impl PnCounter {
    /// A counter at 0.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            counts: VecMap::new(),
        }
    }

    /// Adds `n` on behalf of `replica` (its increment total saturates at `u64::MAX`).
    /// Returns the delta.
    #[must_use = "the returned delta must be sent to other replicas"]
    pub fn increment(&mut self, replica: ReplicaId, n: u64) -> PnCounter {
        self.bump(replica, n, true)
    }

    /// Subtracts `n` on behalf of `replica` (its decrement total saturates at `u64::MAX`).
    /// Returns the delta.
    #[must_use = "the returned delta must be sent to other replicas"]
    pub fn decrement(&mut self, replica: ReplicaId, n: u64) -> PnCounter {
        self.bump(replica, n, false)
    }

    /// Like [`PnCounter::increment`], but refuses instead of saturating.
    ///
    /// # Errors
    /// [`CoreError::CounterOverflow`]; the counter is unchanged.
    pub fn try_increment(&mut self, replica: ReplicaId, n: u64) -> Result<PnCounter, CoreError> {
        self.totals(replica)
            .0
            .checked_add(n)
            .ok_or(CoreError::CounterOverflow { replica })?;
        Ok(self.increment(replica, n))
    }

    /// Like [`PnCounter::decrement`], but refuses instead of saturating.
    ///
    /// # Errors
    /// [`CoreError::CounterOverflow`]; the counter is unchanged.
    pub fn try_decrement(&mut self, replica: ReplicaId, n: u64) -> Result<PnCounter, CoreError> {
        self.totals(replica)
            .1
            .checked_add(n)
            .ok_or(CoreError::CounterOverflow { replica })?;
        Ok(self.decrement(replica, n))
    }

    /// `Σincrements - Σdecrements`, clamped to the `i64` range.
    #[must_use]
    pub fn value(&self) -> i64 {
        let v = self.value_i128();
        i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
    }

    /// `Σincrements - Σdecrements`, exact (clamped to `i128` only past 2^63 replicas).
    #[must_use]
    pub fn value_i128(&self) -> i128 {
        let (p, n) = self
            .counts
            .iter()
            .fold((0u128, 0u128), |(p, n), (_, (a, b))| {
                (
                    p.saturating_add(u128::from(*a)),
                    n.saturating_add(u128::from(*b)),
                )
            });
        let clamp = |x: u128| i128::try_from(x).unwrap_or(i128::MAX);
        clamp(p) - clamp(n)
    }

    /// `(increments, decrements)` made by `replica`.
    #[must_use]
    pub fn totals(&self, replica: ReplicaId) -> (u64, u64) {
        self.counts.get(&replica).copied().unwrap_or((0, 0))
    }

    /// Each replica's `(increments, decrements)`, ascending by replica.
    #[must_use]
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (ReplicaId, u64, u64)> + ExactSizeIterator + '_ {
        self.counts.iter().map(|(r, (p, n))| (*r, *p, *n))
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

    fn bump(&mut self, replica: ReplicaId, by: u64, up: bool) -> PnCounter {
        let slot = self.counts.get_or_insert_with(replica, || (0, 0));
        let delta = if up {
            slot.0 = slot.0.saturating_add(by);
            (slot.0, 0)
        } else {
            slot.1 = slot.1.saturating_add(by);
            (0, slot.1)
        };
        if *slot == (0, 0) {
            self.counts.remove(&replica);
        }
        let entries = if delta == (0, 0) {
            Vec::new()
        } else {
            vec![(replica, delta)]
        };
        Self {
            counts: VecMap::from_sorted(entries),
        }
    }

    /// Built from entries sorted strictly by replica, none `(0, 0)` (checked by the caller).
    pub(crate) fn from_sorted(entries: Vec<(ReplicaId, (u64, u64))>) -> Self {
        Self {
            counts: VecMap::from_sorted(entries),
        }
    }
}

/// Each retired writer's totals leave; its record's contributions join the collapse
/// id's.
impl Retire for PnCounter {
    fn retire_all(&mut self, records: &[Retirement]) -> Result<(), CoreError> {
        let batch = Batch::new(records)?;
        let totals = batch.collapsed_totals(|r| self.totals(r))?;
        for record in batch.records() {
            self.counts.remove(&record.retired());
        }
        for (collapse, total) in totals {
            if total != (0, 0) {
                *self.counts.get_or_insert_with(collapse, || (0, 0)) = total;
            }
        }
        Ok(())
    }

    fn held(&self, writer: ReplicaId) -> Held {
        let (increments, decrements) = self.totals(writer);
        Held {
            increments,
            decrements,
            ..Held::default()
        }
    }
}

impl Crdt for PnCounter {
    fn merge(&mut self, other: &Self) {
        self.counts.merge_with(
            &other.counts,
            |a, b| *a = (a.0.max(b.0), a.1.max(b.1)),
            |b| *b,
        );
    }
}

impl fmt::Debug for PnCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(r, p, n)| (r, (p, n))))
            .finish()
    }
}
