//! Multi-value register: every concurrent write is kept until a later write resolves it.

use crate::codec::{Invalid, WireValue};
use crate::retirement::Batch;
use crate::{CausalContext, CoreError, Crdt, DeltaCrdt, Dot, Held, ReplicaId, Retire, Retirement};
use core::fmt;
use std::collections::BTreeMap;

/// A multi-value register (the "record all versions, let the application resolve"
/// strategy of Dynamo-style stores).
///
/// State: the live writes, each a value under the dot of the write that made it, and a
/// [`CausalContext`] of every write ever seen. [`MvRegister::set`] issues a fresh dot
/// and **supersedes every write its writer had seen** (their dots go into the delta's
/// context, without values). Writes made concurrently (neither author had seen the
/// other) are all kept, and [`MvRegister::values`] returns all of them until a write
/// that has seen them all replaces them. Nothing is ever resolved by a clock.
///
/// # Invariants (checked by the decoder)
/// Every live write's dot is in the context; live writes are sorted by dot (so a dot
/// holds at most one value).
///
/// # Cost
/// A register holds one write per concurrent writer: reads, writes and merges are
/// O(w log w) in the number `w` of live (concurrent) writes, plus the context's size.
#[derive(Clone, PartialEq, Eq)]
pub struct MvRegister<T> {
    writes: BTreeMap<Dot, T>,
    ctx: CausalContext,
}

impl<T: Ord + Clone> MvRegister<T> {
    /// An empty register (no write seen).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            writes: BTreeMap::new(),
            ctx: CausalContext::new(),
        }
    }

    /// Writes `value` on behalf of `replica`, replacing every write seen here.
    /// Returns the delta: the new write, and the dots of the writes it replaces.
    ///
    /// If `replica` has no dot counters left (only forged input can cause that), the
    /// register is unchanged and the delta is empty; [`MvRegister::try_set`] reports it.
    #[must_use = "the returned delta must be sent to other replicas"]
    pub fn set(&mut self, replica: ReplicaId, value: T) -> MvRegister<T> {
        self.try_set(replica, value).unwrap_or_else(|_| Self::new())
    }

    /// Like [`MvRegister::set`] but reports an exhausted replica id.
    ///
    /// # Errors
    /// [`CoreError::DotsExhausted`]; the register is unchanged.
    pub fn try_set(&mut self, replica: ReplicaId, value: T) -> Result<MvRegister<T>, CoreError> {
        let dot = self
            .ctx
            .next_dot(replica)
            .ok_or(CoreError::DotsExhausted { replica })?;
        let mut delta = Self::new();
        for d in self.writes.keys() {
            delta.ctx.insert(*d);
        }
        delta.ctx.insert(dot);
        delta.writes.insert(dot, value);
        self.merge(&delta);
        Ok(delta)
    }

    /// The values of the concurrent latest writes, ascending and without duplicates
    /// (empty if no write was seen). More than one value means concurrent writes the
    /// application may resolve by writing again.
    #[must_use]
    pub fn values(&self) -> Vec<&T> {
        let mut out: Vec<&T> = self.writes.values().collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The live writes: each value with the dot of the write that made it, by dot.
    pub fn writes(&self) -> impl ExactSizeIterator<Item = (Dot, &T)> + '_ {
        self.writes.iter().map(|(d, v)| (*d, v))
    }

    /// Whether more than one distinct value is live (concurrent writes to resolve).
    #[must_use]
    pub fn is_conflicted(&self) -> bool {
        self.values().len() > 1
    }

    /// Whether no write is live.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Every write this register has seen, including superseded ones.
    #[must_use]
    pub fn context(&self) -> &CausalContext {
        &self.ctx
    }

    /// Checks every invariant the type documents.
    ///
    /// # Errors
    /// The first violated invariant.
    pub fn check_invariants(&self) -> Result<(), Invalid> {
        if self.writes.keys().all(|d| self.ctx.contains(d)) {
            Ok(())
        } else {
            Err(Invalid::DotOutsideContext)
        }
    }

    /// The heap held, given each value's: the B-tree of live writes, their values,
    /// and the context.
    pub(crate) fn heap_bytes_with(&self, value: impl Fn(&T) -> usize) -> usize {
        crate::memory::btree_nodes::<Dot, T>(self.writes.len())
            + self.writes.values().map(value).sum::<usize>()
            + self.ctx.heap_bytes()
    }

    /// Assembles a register from parts the caller (the decoder) validates.
    pub(crate) fn from_parts(writes: BTreeMap<Dot, T>, ctx: CausalContext) -> Self {
        Self { writes, ctx }
    }

    /// The part of `delta` that `self` lacks: its writes not seen here, its unseen
    /// context, and the dots live here that `delta` has seen and dropped.
    fn novelty(&self, delta: &Self) -> Self {
        let mut out = Self::new();
        out.ctx = delta.ctx.difference(&self.ctx);
        for (d, v) in &delta.writes {
            if !self.ctx.contains(d) {
                out.writes.insert(*d, v.clone());
            }
        }
        for d in self.writes.keys() {
            if delta.ctx.contains(d) && !delta.writes.contains_key(d) {
                out.ctx.insert(*d);
            }
        }
        out
    }
}

impl<T: Ord + Clone> Crdt for MvRegister<T> {
    /// The join of two dot functions: a write survives if both sides hold it, or if
    /// one side holds it and the other has not seen it.
    fn merge(&mut self, other: &Self) {
        let ctx = &other.ctx;
        self.writes
            .retain(|d, _| other.writes.contains_key(d) || !ctx.contains(d));
        for (d, v) in &other.writes {
            if !self.ctx.contains(d) {
                self.writes.insert(*d, v.clone());
            }
        }
        self.ctx.merge(&other.ctx);
    }
}

/// Every dot of a retired writer, of a live write or in the context, moves into its
/// collapse range; the values and which writes are concurrent stay.
impl<T: Ord + Clone> Retire for MvRegister<T> {
    fn retire_all(&mut self, records: &[Retirement]) -> Result<(), CoreError> {
        let batch = Batch::new(records)?;
        let ctx = batch.rename_context(&self.ctx)?;
        // Every live write's dot is in the context, which held none above its record.
        let writes = core::mem::take(&mut self.writes);
        self.writes = writes
            .into_iter()
            .map(|(d, v)| (batch.rename(d).unwrap_or(d), v))
            .collect();
        self.ctx = ctx;
        Ok(())
    }

    fn held(&self, writer: ReplicaId) -> Held {
        self.ctx.held(writer)
    }
}

impl<T: Ord + Clone> Default for MvRegister<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for MvRegister<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MvRegister")
            .field("writes", &self.writes)
            .field("context", &self.ctx)
            .finish()
    }
}

impl<T: WireValue + fmt::Debug> DeltaCrdt for MvRegister<T> {
    fn retirement() -> Option<crate::retirement::RetireFns<Self>> {
        Some(crate::retirement::RetireFns::of())
    }

    fn collapse_marks(&self, collapse: ReplicaId) -> crate::Held {
        crate::Retire::held(self, collapse)
    }

    type Summary = CausalContext;
    type Op = crate::MvOp<T>;

    fn heap_bytes(&self) -> usize {
        self.heap_bytes_with(T::heap_bytes)
    }

    fn apply(&mut self, writer: ReplicaId, op: crate::MvOp<T>) -> Result<Self, CoreError> {
        match op {
            crate::MvOp::Set(value) => self.try_set(writer, value),
        }
    }

    fn empty_delta() -> Self {
        Self::new()
    }

    fn is_bottom(&self) -> bool {
        self.ctx.is_empty()
    }

    fn summary(&self) -> CausalContext {
        self.ctx.clone()
    }

    fn summary_writers(summary: &CausalContext) -> Vec<ReplicaId> {
        summary.replicas().collect()
    }

    fn summary_covers(summary: &CausalContext, other: &CausalContext) -> bool {
        summary.covers(other)
    }

    /// The live writes the remote has not seen, and the context minus the live writes
    /// it has seen (so it drops exactly the writes this replica superseded). O(w log w
    /// + runs of the context).
    fn delta_since(&self, remote: &CausalContext) -> Self {
        let mut seen_live = Vec::new();
        let mut writes = BTreeMap::new();
        for (d, v) in &self.writes {
            if remote.contains(d) {
                seen_live.push(*d);
            } else {
                writes.insert(*d, v.clone());
            }
        }
        Self::from_parts(writes, self.ctx.without_sorted(&seen_live))
    }

    fn merge_delta(&mut self, delta: &Self) -> Self {
        let novel = self.novelty(delta);
        self.merge(&novel);
        novel
    }

    fn progress_of(&self, replica: ReplicaId) -> u64 {
        self.ctx.max_counter(replica)
    }
}
