//! Last-writer-wins register ordered by a hybrid logical clock.

use crate::codec::Invalid;
use crate::{CoreError, Crdt, Dot, ReplicaId, Timestamp, VersionVector};
use core::cmp::Ordering;
use core::fmt;

/// One write: its value, when it was made, its dot, and every write its author had
/// seen when making it (so concurrency can be told apart from succession).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Write<T> {
    pub(crate) value: T,
    pub(crate) stamp: Timestamp,
    pub(crate) dot: Dot,
    pub(crate) seen: VersionVector,
}

impl<T: Ord> Write<T> {
    /// The total order of writes: timestamp, then replica id; the dot counter and the
    /// value only break ties that a reused replica id could create, so that merge stays
    /// commutative even then.
    fn order(&self, other: &Self) -> Ordering {
        #[cfg(feature = "sabotage")]
        if crate::sabotage::active(crate::sabotage::Bug::LwwTieByArrival)
            && self.stamp == other.stamp
            && self.dot != other.dot
        {
            return Ordering::Less; // the incoming write (`other`) wins the tie
        }
        (
            self.stamp,
            self.dot.replica(),
            self.dot.counter(),
            &self.value,
        )
            .cmp(&(
                other.stamp,
                other.dot.replica(),
                other.dot.counter(),
                &other.value,
            ))
    }
}

/// A last-writer-wins register.
///
/// Writes are ordered by a hybrid logical clock [`Timestamp`] (physical milliseconds,
/// then a logical counter), then by replica id. [`LwwRegister::set`] stamps a write
/// *after* every write this replica has seen, even when the local wall clock is behind,
/// so clock skew never lets an older write beat a causally later one. Among
/// **concurrent** writes (neither author had seen the other), the larger timestamp wins
/// and the other is discarded: that is the data-loss LWW accepts by design, and
/// [`LwwRegister::merge_report`] tells you when it happens.
///
/// # Invariants
/// The register holds a value iff it has seen a write; the current write's dot is in
/// the set of writes its author had seen, which is within the register's context.
///
/// # Limits
/// A write made when the current timestamp is [`Timestamp::MAX`] cannot be ordered
/// after it: [`LwwRegister::set`] then leaves the register unchanged and returns an
/// empty delta, [`LwwRegister::try_set`] returns [`CoreError::ClockExhausted`]. Only a
/// peer writing with a clock at the end of time causes this; bound accepted clocks at
/// your boundary if peers are untrusted.
#[derive(Clone, PartialEq, Eq)]
pub struct LwwRegister<T> {
    ctx: VersionVector,
    current: Option<Write<T>>,
}

/// What a merge into an [`LwwRegister`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct MergeReport<T> {
    /// Whether another write now wins (its value may happen to equal the old one).
    pub value_changed: bool,
    /// A write this merge discarded although it was **concurrent** with the winner
    /// (its author's update was lost to last-writer-wins, not overwritten by someone who
    /// had seen it). Reported once per replica for each write it sees lose: overwrites
    /// by causally later writes are not reported.
    pub discarded: Option<DiscardedWrite<T>>,
}

/// A concurrent write that lost to last-writer-wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscardedWrite<T> {
    /// The value that was discarded.
    pub value: T,
    /// When it was written.
    pub timestamp: Timestamp,
    /// Who wrote it.
    pub replica: ReplicaId,
    /// `true` if it was this register's value before the merge (a local loss),
    /// `false` if it arrived with the merged state and lost on arrival.
    pub was_local: bool,
}

impl<T: Ord + Clone> LwwRegister<T> {
    /// An empty register.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            ctx: VersionVector::new(),
            current: None,
        }
    }

    /// The heap held, given the value's: the context and the current write's
    /// version vector (inline for one writer), and the value.
    pub(crate) fn heap_bytes_with(&self, value: impl Fn(&T) -> usize) -> usize {
        self.ctx.heap_bytes()
            + self
                .current
                .as_ref()
                .map_or(0, |w| value(&w.value) + w.seen.heap_bytes())
    }

    /// Writes `value` on behalf of `replica`, whose wall clock reads `now_ms`.
    /// Returns the delta (the new register state, which is small: one value and a
    /// version vector of the writers it has seen).
    ///
    /// If the register cannot order a new write (see *Limits*), nothing changes and the
    /// returned delta is empty; [`LwwRegister::try_set`] reports why.
    #[must_use = "the returned delta must be sent to other replicas"]
    pub fn set(&mut self, replica: ReplicaId, value: T, now_ms: u64) -> LwwRegister<T> {
        self.try_set(replica, value, now_ms)
            .unwrap_or_else(|_| Self::new())
    }

    /// Like [`LwwRegister::set`] but reports a write that cannot be made.
    ///
    /// # Errors
    /// [`CoreError::ClockExhausted`] or [`CoreError::DotsExhausted`]; unchanged then.
    pub fn try_set(
        &mut self,
        replica: ReplicaId,
        value: T,
        now_ms: u64,
    ) -> Result<LwwRegister<T>, CoreError> {
        let stamp = match &self.current {
            Some(w) => w.stamp.tick(now_ms).ok_or(CoreError::ClockExhausted)?,
            None => Timestamp::new(now_ms, 0),
        };
        let dot = self
            .ctx
            .get(replica)
            .checked_add(1)
            .and_then(|c| Dot::try_new(replica, c))
            .ok_or(CoreError::DotsExhausted { replica })?;
        self.ctx.observe(dot);
        self.current = Some(Write {
            value,
            stamp,
            dot,
            seen: self.ctx.clone(),
        });
        Ok(self.clone())
    }

    /// The current value, if any write was seen.
    #[must_use]
    pub fn get(&self) -> Option<&T> {
        self.current.as_ref().map(|w| &w.value)
    }

    /// The timestamp of the current value.
    #[must_use]
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.current.as_ref().map(|w| w.stamp)
    }

    /// The replica that wrote the current value.
    #[must_use]
    pub fn writer(&self) -> Option<ReplicaId> {
        self.current.as_ref().map(|w| w.dot.replica())
    }

    /// Every write this register has seen, as a version vector over writers.
    #[must_use]
    pub fn context(&self) -> &VersionVector {
        &self.ctx
    }

    /// Joins `other` (a state or a delta) and reports whether a **concurrent** write
    /// was discarded by last-writer-wins. [`Crdt::merge`] does the same and drops the
    /// report.
    pub fn merge_report(&mut self, other: &Self) -> MergeReport<T> {
        let seen_before = self.ctx.clone();
        self.ctx.merge(&other.ctx);
        let mut report = MergeReport {
            value_changed: false,
            discarded: None,
        };
        let Some(theirs) = &other.current else {
            return report;
        };
        let Some(mine) = &mut self.current else {
            self.current = Some(theirs.clone());
            report.value_changed = true;
            return report;
        };
        match mine.order(theirs) {
            Ordering::Equal => mine.seen.merge(&theirs.seen),
            Ordering::Greater => {
                let concurrent = !mine.seen.contains(&theirs.dot);
                if concurrent && !seen_before.contains(&theirs.dot) {
                    report.discarded = Some(DiscardedWrite::of(theirs, false));
                }
            }
            Ordering::Less => {
                if !theirs.seen.contains(&mine.dot) {
                    report.discarded = Some(DiscardedWrite::of(mine, true));
                }
                *mine = theirs.clone();
                report.value_changed = true;
            }
        }
        report
    }

    pub(crate) fn current(&self) -> Option<&Write<T>> {
        self.current.as_ref()
    }

    /// Assembles a register from parts the caller (the decoder) validates.
    pub(crate) fn from_parts(ctx: VersionVector, current: Option<Write<T>>) -> Self {
        Self { ctx, current }
    }

    /// Checks every invariant the type documents.
    ///
    /// # Errors
    /// The first violated invariant.
    pub fn check_invariants(&self) -> Result<(), Invalid> {
        match &self.current {
            None if !self.ctx.is_empty() => Err(Invalid::Inconsistent(
                "a register that has seen writes holds no value",
            )),
            None => Ok(()),
            Some(w) if !w.seen.contains(&w.dot) => Err(Invalid::DotOutsideContext),
            Some(w) if !self.ctx.covers(&w.seen) => Err(Invalid::Inconsistent(
                "a write's causal past is outside the register's context",
            )),
            Some(_) => Ok(()),
        }
    }
}

impl<T: Clone> DiscardedWrite<T> {
    fn of(write: &Write<T>, was_local: bool) -> Self {
        Self {
            value: write.value.clone(),
            timestamp: write.stamp,
            replica: write.dot.replica(),
            was_local,
        }
    }
}

impl<T: Ord + Clone> Crdt for LwwRegister<T> {
    fn merge(&mut self, other: &Self) {
        let _ = self.merge_report(other);
    }
}

impl<T: Ord + Clone> Default for LwwRegister<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for LwwRegister<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("LwwRegister");
        if let Some(w) = &self.current {
            s.field("value", &w.value)
                .field("timestamp", &w.stamp)
                .field("dot", &w.dot)
                .field("seen", &w.seen);
        }
        s.field("context", &self.ctx).finish()
    }
}
