//! Add-wins observed-remove set without tombstones.

use crate::codec::Invalid;
use crate::dot_store::DotStore;
use crate::retirement::Batch;
use crate::{CausalContext, CoreError, Crdt, Dot, Held, OrSetDelta, ReplicaId, Retire, Retirement};
use core::fmt;
use std::collections::BTreeSet;

pub(crate) use crate::dots::Dots;

/// An add-wins observed-remove set (the "AWSet" of the delta-CRDT literature).
///
/// State: a *dot store* mapping each present element to the dots of its live adds,
/// and a [`CausalContext`] of every dot ever seen. An element is present iff it has a
/// live dot. A remove records the element's dots in the context and drops them; it
/// creates no dot and keeps **no tombstone** (removed values are forgotten). Because a
/// remove only covers the dots it *observed*, an add concurrent with it survives the
/// merge: **add wins**.
///
/// # Invariants (checked by the decoder, relied on by merge)
/// - every stored dot is in the context (a store dot outside the context would make
///   the replica "forget" it had seen its own data and resurrect it);
/// - every element has at least one dot, dots per element are sorted and unique, and
///   a dot belongs to at most one element.
///
/// # Cost
/// `insert`/`remove`/`contains` are O(log n): elements live in sorted chunks of up to
/// 64 under a B-tree index, so a set built by inserts in ascending order (the usual
/// pattern of a local writer) keeps its chunks full, about 33 bytes per `u64` element
/// with one dot, and a mutator's delta allocates nothing for its one element. Merging
/// a delta costs O(d log n) for a delta of `d` elements, including deltas that carry
/// removes (see *removal hints* below); merging two full states is O((n + m) log n).
///
/// # Removal hints
/// A delta made by `remove`, `clear` or `insert` (which replaces the element's older
/// dots) also records *which elements* its removed dots belonged to, so a receiver finds
/// them without scanning its whole state. Deltas have their own type, [`OrSetDelta`],
/// which keeps the union of the hints when deltas are joined into a batch; a state never
/// accumulates them (they would be tombstones, and replicas in equal states must encode
/// to identical bytes), and there is no way to batch deltas into a state. Merging a
/// value without hints falls back to one scan of the receiver. Hints travel in the
/// encoding but are not part of the value: `==` ignores them.
///
/// ```
/// # use crdt_core::{OrSet, OrSetDelta, ReplicaId};
/// let mut origin = OrSet::new();
/// let _ = origin.insert(ReplicaId::new(1), 5_u64);
/// let d1 = origin.remove(&5);
/// let d2 = origin.insert(ReplicaId::new(1), 6);
/// let batch = OrSetDelta::from_iter([d1, d2]);
/// assert!(batch.as_set().has_removal_hints());
/// let mut replica = OrSet::new();
/// replica.apply_delta(&batch);
/// assert!(replica.contains(&6) && !replica.has_removal_hints());
/// ```
#[derive(Clone)]
pub struct OrSet<T> {
    entries: DotStore<T>,
    ctx: CausalContext,
    /// `Some(E)`: every dot in `ctx` but not in `entries` belongs to an element of `E`
    /// (or to none). `None`: unknown, receivers scan.
    removed: Option<BTreeSet<T>>,
}

impl<T: Ord + Clone> OrSet<T> {
    /// The empty set, a replica's state: it never keeps removal hints. Deltas are
    /// batched in an [`OrSetDelta`].
    #[must_use]
    pub const fn new() -> Self {
        Self {
            entries: DotStore::new(),
            ctx: CausalContext::new(),
            removed: None,
        }
    }

    /// The empty set that keeps the removal hints of what is merged into it: the
    /// inside of [`OrSetDelta::new`] and [`DeltaCrdt::empty_delta`](crate::DeltaCrdt::empty_delta).
    pub(crate) const fn empty_delta() -> Self {
        Self {
            entries: DotStore::new(),
            ctx: CausalContext::new(),
            removed: Some(BTreeSet::new()),
        }
    }

    /// Joins `delta` into this state: how a replica applies a change made elsewhere.
    /// O(delta × log n) when the delta carries removal hints (every delta this crate
    /// makes does), else one scan of this state. The state keeps no hints.
    pub fn apply_delta(&mut self, delta: &OrSetDelta<T>) {
        self.merge(delta.as_set());
    }

    /// Adds `value` with a fresh dot of `replica`. Any older dots of `value` are
    /// replaced (so a present element keeps a single dot). Returns the delta.
    ///
    /// If `replica` has no dot counters left (only forged input can cause that), the
    /// set is unchanged and the delta is empty; [`OrSet::try_insert`] reports it.
    #[must_use = "the returned delta must be sent to other replicas"]
    pub fn insert(&mut self, replica: ReplicaId, value: T) -> OrSetDelta<T> {
        self.try_insert(replica, value)
            .unwrap_or_else(|_| OrSetDelta::new())
    }

    /// Like [`OrSet::insert`] but reports an exhausted replica id.
    ///
    /// # Errors
    /// [`CoreError::DotsExhausted`]; the set is unchanged.
    pub fn try_insert(&mut self, replica: ReplicaId, value: T) -> Result<OrSetDelta<T>, CoreError> {
        let dot = self
            .ctx
            .next_dot(replica)
            .ok_or(CoreError::DotsExhausted { replica })?;
        self.ctx.insert(dot);
        let mut delta = Self::empty_delta();
        delta.ctx.insert(dot);
        let old = self.entries.insert(value.clone(), Dots::one(dot));
        if let Some(old) = old {
            for &d in old.iter() {
                delta.ctx.insert(d);
            }
            self.note_removed(&value);
            delta.note_removed(&value);
        }
        delta.entries.insert(value, Dots::one(dot));
        Ok(OrSetDelta::from_set(delta))
    }

    /// Removes `value` as observed here: only the adds seen so far are undone, so a
    /// concurrent add elsewhere survives. Returns the delta (empty if absent).
    #[must_use = "the returned delta must be sent to other replicas"]
    pub fn remove(&mut self, value: &T) -> OrSetDelta<T> {
        let mut delta = Self::empty_delta();
        if let Some((value, dots)) = self.entries.remove_entry(value) {
            for &d in dots.iter() {
                delta.ctx.insert(d);
            }
            self.note_removed(&value);
            delta.note_removed(&value);
        }
        OrSetDelta::from_set(delta)
    }

    /// Removes every element observed here. Returns the delta.
    #[must_use = "the returned delta must be sent to other replicas"]
    pub fn clear(&mut self) -> OrSetDelta<T> {
        let mut delta = Self::empty_delta();
        let entries = core::mem::take(&mut self.entries);
        for (value, dots) in entries.into_vec() {
            for &d in dots.iter() {
                delta.ctx.insert(d);
            }
            self.note_removed(&value);
            delta.note_removed(&value);
        }
        OrSetDelta::from_set(delta)
    }

    /// Whether `value` is present.
    #[must_use]
    pub fn contains(&self, value: &T) -> bool {
        self.entries.contains_key(value)
    }

    /// The number of present elements.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no element is present.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The present elements in ascending order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator + '_ {
        self.entries.keys()
    }

    /// The dots of the live adds of `value` (`None` if absent).
    #[must_use]
    pub fn dots(&self, value: &T) -> Option<&[Dot]> {
        self.entries.get(value).map(|d| d.as_slice())
    }

    /// Every dot this set has seen, including those of removed elements.
    #[must_use]
    pub fn context(&self) -> &CausalContext {
        &self.ctx
    }

    /// Whether this value carries removal hints (see the type's docs).
    #[must_use]
    pub fn has_removal_hints(&self) -> bool {
        self.removed.is_some()
    }

    /// Checks every invariant the type documents. The decoder runs it on all input;
    /// tests and fuzzers call it after every operation.
    ///
    /// # Errors
    /// The first violated invariant.
    pub fn check_invariants(&self) -> Result<(), Invalid> {
        let mut all: Vec<Dot> = Vec::with_capacity(self.entries.len());
        for dots in self.entries.values() {
            if dots.is_empty() {
                return Err(Invalid::EmptyDotSet);
            }
            if !dots.windows(2).all(|w| w[0] < w[1]) {
                return Err(Invalid::Unsorted("an element's dots"));
            }
            if !dots.iter().all(|d| self.ctx.contains(d)) {
                return Err(Invalid::DotOutsideContext);
            }
            all.extend_from_slice(dots);
        }
        all.sort_unstable();
        if all.windows(2).any(|w| w[0] == w[1]) {
            return Err(Invalid::DuplicateDot);
        }
        Ok(())
    }

    /// The heap held, given each element's (see [`DeltaCrdt::heap_bytes`](crate::DeltaCrdt::heap_bytes)):
    /// the dot store (its chunks, their index and each element with its dots), the
    /// context, and the removal hints (a B-tree set of elements).
    pub(crate) fn heap_bytes_with(&self, element: impl Fn(&T) -> usize) -> usize {
        let entries = self
            .entries
            .heap_bytes(|k, dots| element(k) + dots.heap_bytes(), &element);
        let hints = self.removed.as_ref().map_or(0, |h| {
            crate::memory::btree_nodes::<T, ()>(h.len()) + h.iter().map(&element).sum::<usize>()
        });
        entries + self.ctx.heap_bytes() + hints
    }

    pub(crate) fn entries(&self) -> &DotStore<T> {
        &self.entries
    }

    pub(crate) fn removal_hints(&self) -> Option<&BTreeSet<T>> {
        self.removed.as_ref()
    }

    /// Assembles a set from parts the caller (the decoder) validates.
    pub(crate) fn from_parts(
        entries: DotStore<T>,
        ctx: CausalContext,
        removed: Option<BTreeSet<T>>,
    ) -> Self {
        Self {
            entries,
            ctx,
            removed,
        }
    }

    fn note_removed(&mut self, value: &T) {
        if let Some(hints) = &mut self.removed {
            hints.insert(value.clone());
        }
    }

    /// Whether `other` removes anything: its context holds a dot its store does not.
    fn carries_removals(&self) -> bool {
        let stored: u128 = self.entries.values().map(|d| d.len() as u128).sum();
        self.ctx.dot_count() > stored
    }
}

/// The dots of an element after joining two replicas' views of it:
/// kept if both hold it, or if one holds it and the other has not seen it.
fn join_dots(
    mine: &Dots,
    my_ctx: &CausalContext,
    theirs: &[Dot],
    their_ctx: &CausalContext,
) -> Dots {
    let mut out = Dots::new();
    let (mut i, mut j) = (0, 0);
    loop {
        let (a, b) = (mine.get(i), theirs.get(j));
        let mine_first = match (a, b) {
            (None, None) => break,
            (Some(x), Some(y)) if x == y => {
                out.push(*x);
                i += 1;
                j += 1;
                continue;
            }
            (Some(x), Some(y)) => x < y,
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        if mine_first {
            let x = mine[i];
            if !their_ctx.contains(&x) {
                out.push(x);
            }
            i += 1;
        } else {
            let y = theirs[j];
            if !my_ctx.contains(&y) {
                out.push(y);
            }
            j += 1;
        }
    }
    out
}

impl<T: Ord + Clone> Crdt for OrSet<T> {
    fn merge(&mut self, other: &Self) {
        // 1. Elements the other side holds: join their dots with ours.
        for (value, theirs) in &other.entries {
            match self.entries.get_mut(value) {
                Some(mine) => {
                    let joined = join_dots(mine, &self.ctx, theirs, &other.ctx);
                    if joined.is_empty() {
                        self.entries.remove(value);
                    } else {
                        *mine = joined;
                    }
                }
                None => {
                    let fresh: Dots = theirs
                        .iter()
                        .copied()
                        .filter(|d| !self.ctx.contains(d))
                        .collect();
                    if !fresh.is_empty() {
                        self.entries.insert(value.clone(), fresh);
                    }
                }
            }
        }
        // 2. Elements only we hold lose the dots the other side has seen and dropped.
        let removes = other.carries_removals();
        if removes {
            let drop_seen = |value: &T, mine: &mut Dots| {
                if other.entries.contains_key(value) {
                    return true;
                }
                #[cfg(feature = "sabotage")]
                if crate::sabotage::active(crate::sabotage::Bug::OrSetRemoveIgnoresContext)
                    && mine.iter().any(|d| other.ctx.contains(d))
                {
                    mine.clear();
                }
                mine.retain(|d| !other.ctx.contains(d));
                !mine.is_empty()
            };
            match &other.removed {
                Some(hints) => {
                    for value in hints {
                        if let Some(mine) = self.entries.get_mut(value) {
                            if !drop_seen(value, mine) {
                                self.entries.remove(value);
                            }
                        }
                    }
                }
                None => self.entries.retain(drop_seen),
            }
        }
        // 3. Hints: kept only while both sides account for all their removals.
        self.removed = match (self.removed.take(), &other.removed) {
            (Some(mut mine), Some(theirs)) => {
                mine.extend(theirs.iter().cloned());
                Some(mine)
            }
            (Some(mine), None) if !removes => Some(mine),
            _ => None,
        };
        // 4. Contexts.
        self.ctx.merge(&other.ctx);
    }
}

/// Every dot of a retired writer, stored or in the context, moves into its collapse
/// range (each element's dots re-sorted); the elements and the removal hints stay.
impl<T: Ord + Clone> Retire for OrSet<T> {
    fn retire_all(&mut self, records: &[Retirement]) -> Result<(), CoreError> {
        let batch = Batch::new(records)?;
        let ctx = batch.rename_context(&self.ctx)?;
        // Every stored dot is in the context, which held none above its record.
        self.entries.retain(|_, dots| {
            if dots.iter().any(|d| batch.retires(d.replica())) {
                let mut renamed: Vec<Dot> = dots
                    .iter()
                    .map(|d| batch.rename(*d).unwrap_or(*d))
                    .collect();
                renamed.sort_unstable();
                *dots = Dots::from_vec(renamed);
            }
            true
        });
        self.ctx = ctx;
        Ok(())
    }

    fn held(&self, writer: ReplicaId) -> Held {
        self.ctx.held(writer)
    }
}

impl<T: Ord + Clone> Default for OrSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Equality of the set's state (elements, their dots, the context); removal hints,
/// an accelerator, are ignored.
impl<T: PartialEq> PartialEq for OrSet<T> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries && self.ctx == other.ctx
    }
}

impl<T: Eq> Eq for OrSet<T> {}

impl<T: fmt::Debug> fmt::Debug for OrSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrSet")
            .field("entries", &self.entries)
            .field("context", &self.ctx)
            .finish()
    }
}

impl<T: Ord + Clone> FromIterator<(ReplicaId, T)> for OrSet<T> {
    /// Inserts each `(replica, value)` in turn (deltas discarded).
    fn from_iter<I: IntoIterator<Item = (ReplicaId, T)>>(iter: I) -> Self {
        let mut set = Self::new();
        for (r, v) in iter {
            let _ = set.insert(r, v);
        }
        set
    }
}
