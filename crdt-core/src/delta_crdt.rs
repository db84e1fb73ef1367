//! What a synchronization protocol needs from a replicated type.

use crate::codec::{WireFormat, WireValue};
use crate::dot_store::DotStore;
use crate::retirement::RetireFns;
use crate::{
    CausalContext, CoreError, Crdt, Dot, GCounter, GCounterOp, LwwOp, LwwRegister, OrSet,
    OrSetDelta, OrSetOp, PnCounter, PnCounterOp, ReplicaId, VersionVector,
};
use core::fmt::Debug;
use std::collections::BTreeSet;

/// A delta-state CRDT that a protocol can synchronize efficiently: it can summarize
/// what it has seen, compute exactly what a remote replica with a given summary lacks
/// (**including removals**), and tell which part of an incoming delta was new.
///
/// # Laws (in addition to [`Crdt`]'s)
/// For reachable states `s`, `r` and delta `d`:
/// - `r ⊔ s.delta_since(&r.summary()) == r ⊔ s` — the repair delta brings `r` up to
///   `s`, removals included (a plain "newer than your version vector" diff would drop
///   removes: an OR-Set remove creates no dot);
/// - `s.merge_delta(&d)` leaves `s` equal to `s ⊔ d` and returns `n` with `s_old ⊔ n ==
///   s_old ⊔ d`, where `n` is bottom if `d` brought nothing new (*redundancy removal*:
///   only `n` needs to be forwarded);
/// - `Self::empty_delta()` and `Self::default()` are bottom, and so are the results
///   above when nothing is missing or new. `default()` is the empty *state* (for an
///   OR-Set it keeps no removal hints, so a replica's state never accumulates them);
///   `empty_delta()` is the empty *delta accumulator*.
pub trait DeltaCrdt: Crdt + WireFormat + Clone + Default + PartialEq + Debug {
    /// What a replica tells a peer about its state so that the peer can compute what
    /// it lacks: a causal context or version vector, or for counters the state itself
    /// (one number per replica).
    type Summary: WireFormat + Clone + PartialEq + Debug;

    /// One local operation (see [`crate::op`](crate::GCounterOp)): the only way a
    /// protocol engine changes its state locally, so every change has its delta.
    type Op: Clone + Debug;

    /// Applies `op` as a write of `writer` and returns its delta (bottom if the
    /// operation changed nothing, e.g. removing an absent element).
    ///
    /// # Errors
    /// The [`CoreError`] of the refusing (`try_`) mutator: a counter that would
    /// overflow, an exhausted replica id or clock. The state is unchanged then.
    fn apply(&mut self, writer: ReplicaId, op: Self::Op) -> Result<Self, CoreError>;

    /// A 64-bit hash of the canonical encoding of this value: equal values hash
    /// equally on every replica and every build that speaks the same wire format
    /// (xxHash3-64 of the encoded body). Protocols put it in digests to find replicas
    /// whose summaries agree but whose contents differ. O(size); a type may override
    /// it with an incrementally maintained hash of the same stability.
    fn state_hash(&self) -> u64 {
        let mut w = crate::codec::Writer::new();
        // A body that cannot be encoded hashes what was written (the same everywhere).
        let _ = self.encode_body(&mut w);
        xxhash_rust::xxh3::xxh3_64(w.as_bytes())
    }

    /// The bytes this value holds on the heap (its allocations, spare capacity
    /// included), not counting `size_of::<Self>()`: with that, what keeping the value
    /// costs in memory. A protocol uses it to bound what it holds (crdt-sync's delta
    /// buffer counts each delta's `size_of` plus this).
    ///
    /// The built-in types return an **upper bound** that is at most about 2.4× the
    /// heap a counting allocator measures: vector, string and box sizes are exact
    /// (capacities), causal contexts and version vectors are counted per entry and
    /// run, and std B-tree nodes (11 entries each) are counted as if every node but the
    /// root held the fewest entries std allows (5), see the table in
    /// `crdt-core/src/memory.rs`; element values count [`WireValue::heap_bytes`]. O(size of
    /// the value), no allocation. The default, for other implementations, is the length
    /// of the encoded body (which allocates and is usually below the heap: override it).
    ///
    /// [`WireValue::heap_bytes`]: crate::codec::WireValue::heap_bytes
    fn heap_bytes(&self) -> usize {
        let mut w = crate::codec::Writer::new();
        let _ = self.encode_body(&mut w);
        w.as_bytes().len()
    }

    /// The bottom value, suitable to accumulate deltas into.
    fn empty_delta() -> Self;

    /// Whether this is the bottom value (carries no information).
    fn is_bottom(&self) -> bool;

    /// What this state has seen.
    fn summary(&self) -> Self::Summary;

    /// The writers `summary` names, ascending and distinct. A protocol that sends a
    /// summary next to other per-writer data (crdt-sync's digests, with a causal
    /// token) refers to these writers by their position instead of repeating their
    /// ids. The default names none (every id is then sent in full).
    fn summary_writers(summary: &Self::Summary) -> Vec<ReplicaId> {
        let _ = summary;
        Vec::new()
    }

    /// Whether a replica summarized by `summary` has seen everything `other`
    /// summarizes. Cheap (O(size of the summaries)); a protocol uses it to notice a
    /// peer that lacks something although it acknowledged everything.
    fn summary_covers(summary: &Self::Summary, other: &Self::Summary) -> bool;

    /// The smallest delta that brings a replica whose summary is `remote` up to `self`
    /// (everything `self` has that `remote` may lack, removals included).
    #[must_use]
    fn delta_since(&self, remote: &Self::Summary) -> Self;

    /// Joins `delta` into `self` and returns the part of it that was new here.
    #[must_use = "the novel part is what must be forwarded"]
    fn merge_delta(&mut self, delta: &Self) -> Self;

    /// How far `replica`'s own updates reach in this value (its highest dot counter,
    /// or its counter entry): a replica that finds another value holding more of its
    /// *own* updates than it ever made knows its id is shared or it lost state.
    fn progress_of(&self, replica: ReplicaId) -> u64;

    /// How many writes joining `incoming` into `self` would newly hide by
    /// last-writer-wins although they are **concurrent** with the write that wins: the
    /// silent loss LWW accepts by design, counted so that it is visible (a protocol
    /// calls this before merging what a peer sent, and sums it in its metrics).
    /// Writes overwritten by causally later ones are not counted. 0 for types without
    /// last-writer-wins (the default); O(size of `incoming`) for the others.
    fn concurrent_discards(&self, incoming: &Self) -> u64 {
        let _ = incoming;
        0
    }

    /// How this type's values and summaries retire writers (`docs/RETIREMENT.md`):
    /// `None` for a type whose writers cannot be retired (the default; the standalone
    /// LWW register), so a protocol engine generic over every type can still rename
    /// and date content of the types that can.
    fn retirement() -> Option<RetireFns<Self>> {
        None
    }

    /// What this value holds of `collapse`, the id retired writers collapse into
    /// ([`Retire::held`](crate::Retire::held)): a protocol dates content by it
    /// without translating anything (cheaper than [`DeltaCrdt::retirement`] to link).
    /// Nothing for a type whose writers cannot be retired (the default).
    fn collapse_marks(&self, collapse: ReplicaId) -> crate::Held {
        let _ = collapse;
        crate::Held::default()
    }
}

impl DeltaCrdt for GCounter {
    fn retirement() -> Option<RetireFns<Self>> {
        Some(RetireFns::of())
    }

    fn collapse_marks(&self, collapse: ReplicaId) -> crate::Held {
        crate::Retire::held(self, collapse)
    }

    type Summary = GCounter;
    type Op = GCounterOp;

    fn heap_bytes(&self) -> usize {
        GCounter::heap_bytes(self)
    }

    fn apply(&mut self, writer: ReplicaId, op: GCounterOp) -> Result<Self, CoreError> {
        match op {
            GCounterOp::Increment(n) => self.try_increment(writer, n),
        }
    }

    fn empty_delta() -> Self {
        GCounter::new()
    }

    fn is_bottom(&self) -> bool {
        self.replica_count() == 0
    }

    fn summary(&self) -> GCounter {
        self.clone()
    }

    fn summary_writers(summary: &GCounter) -> Vec<ReplicaId> {
        summary.iter().map(|(r, _)| r).collect()
    }

    fn summary_covers(summary: &GCounter, other: &GCounter) -> bool {
        other.iter().all(|(r, c)| summary.get(r) >= c)
    }

    fn delta_since(&self, remote: &GCounter) -> Self {
        GCounter::from_sorted(self.iter().filter(|(r, c)| *c > remote.get(*r)).collect())
    }

    fn merge_delta(&mut self, delta: &Self) -> Self {
        let novel = delta.delta_since(self);
        self.merge(&novel);
        novel
    }

    fn progress_of(&self, replica: ReplicaId) -> u64 {
        self.get(replica)
    }
}

impl DeltaCrdt for PnCounter {
    fn retirement() -> Option<RetireFns<Self>> {
        Some(RetireFns::of())
    }

    fn collapse_marks(&self, collapse: ReplicaId) -> crate::Held {
        crate::Retire::held(self, collapse)
    }

    type Summary = PnCounter;
    type Op = PnCounterOp;

    fn heap_bytes(&self) -> usize {
        PnCounter::heap_bytes(self)
    }

    fn apply(&mut self, writer: ReplicaId, op: PnCounterOp) -> Result<Self, CoreError> {
        match op {
            PnCounterOp::Increment(n) => self.try_increment(writer, n),
            PnCounterOp::Decrement(n) => self.try_decrement(writer, n),
        }
    }

    fn empty_delta() -> Self {
        PnCounter::new()
    }

    fn is_bottom(&self) -> bool {
        self.replica_count() == 0
    }

    fn summary(&self) -> PnCounter {
        self.clone()
    }

    fn summary_writers(summary: &PnCounter) -> Vec<ReplicaId> {
        summary.iter().map(|(r, _, _)| r).collect()
    }

    fn summary_covers(summary: &PnCounter, other: &PnCounter) -> bool {
        other.iter().all(|(r, p, n)| {
            let (sp, sn) = summary.totals(r);
            sp >= p && sn >= n
        })
    }

    fn delta_since(&self, remote: &PnCounter) -> Self {
        let entries = self
            .iter()
            .filter_map(|(r, p, n)| {
                let (rp, rn) = remote.totals(r);
                let keep = (if p > rp { p } else { 0 }, if n > rn { n } else { 0 });
                (keep != (0, 0)).then_some((r, keep))
            })
            .collect();
        PnCounter::from_sorted(entries)
    }

    fn merge_delta(&mut self, delta: &Self) -> Self {
        let novel = delta.delta_since(self);
        self.merge(&novel);
        novel
    }

    fn progress_of(&self, replica: ReplicaId) -> u64 {
        let (p, n) = self.totals(replica);
        p.saturating_add(n)
    }
}

impl<T: WireValue + Debug> DeltaCrdt for OrSet<T> {
    fn retirement() -> Option<RetireFns<Self>> {
        Some(RetireFns::of())
    }

    fn collapse_marks(&self, collapse: ReplicaId) -> crate::Held {
        crate::Retire::held(self, collapse)
    }

    type Summary = CausalContext;
    type Op = OrSetOp<T>;

    fn heap_bytes(&self) -> usize {
        self.heap_bytes_with(T::heap_bytes)
    }

    fn apply(&mut self, writer: ReplicaId, op: OrSetOp<T>) -> Result<Self, CoreError> {
        match op {
            OrSetOp::Insert(value) => self.try_insert(writer, value).map(OrSetDelta::into_set),
            OrSetOp::Remove(value) => Ok(self.remove(&value).into_set()),
            OrSetOp::Clear => Ok(self.clear().into_set()),
        }
    }

    fn empty_delta() -> Self {
        OrSet::empty_delta()
    }

    fn is_bottom(&self) -> bool {
        self.is_empty() && self.context().is_empty()
    }

    fn summary(&self) -> CausalContext {
        self.context().clone()
    }

    fn summary_writers(summary: &CausalContext) -> Vec<ReplicaId> {
        summary.replicas().collect()
    }

    fn summary_covers(summary: &CausalContext, other: &CausalContext) -> bool {
        summary.covers(other)
    }

    /// Adds the remote has not seen, plus the context minus our live dots the remote
    /// has seen: the remote then drops exactly the dots it holds that we removed, and
    /// keeps those we hold. O(n log n) in the size of this state (repair is rare).
    fn delta_since(&self, remote: &CausalContext) -> Self {
        let mut entries = Vec::new();
        let mut seen_live: Vec<Dot> = Vec::new();
        for (value, dots) in self.entries().iter() {
            let fresh: crate::dots::Dots = dots
                .iter()
                .copied()
                .filter(|d| !remote.contains(d))
                .collect();
            seen_live.extend(dots.iter().filter(|d| remote.contains(d)));
            if !fresh.is_empty() {
                entries.push((value.clone(), fresh));
            }
        }
        seen_live.sort_unstable();
        let ctx = self.context().without_sorted(&seen_live);
        OrSet::from_parts(DotStore::from_sorted(entries), ctx, None)
    }

    /// O(delta) when `delta` carries removal hints, else one scan of this state.
    fn merge_delta(&mut self, delta: &Self) -> Self {
        let novel = novelty(self, delta);
        self.merge(&novel);
        novel
    }

    fn progress_of(&self, replica: ReplicaId) -> u64 {
        self.context().max_counter(replica)
    }
}

/// The part of `delta` that `state` lacks: its unseen adds, its unseen context, and
/// the dots `state` holds that `delta` removes.
fn novelty<T: Ord + Clone>(state: &OrSet<T>, delta: &OrSet<T>) -> OrSet<T> {
    let mut entries = Vec::new();
    let mut new_dots: u128 = 0;
    for (value, dots) in delta.entries().iter() {
        let fresh: crate::dots::Dots = dots
            .iter()
            .copied()
            .filter(|d| !state.context().contains(d))
            .collect();
        if !fresh.is_empty() {
            new_dots += fresh.len() as u128;
            entries.push((value.clone(), fresh));
        }
    }
    let mut ctx = delta.context().difference(state.context());
    // Removals of unseen dots: their elements are known only from the delta's hints.
    let unseen_removals = ctx.dot_count() > new_dots;
    let mut removed = BTreeSet::new();
    let mut drop_live = |value: &T, ours: &[Dot]| {
        let theirs = delta.dots(value).unwrap_or(&[]);
        for d in ours {
            if delta.context().contains(d) && !theirs.contains(d) {
                ctx.insert(*d);
                removed.insert(value.clone());
            }
        }
    };
    match delta.removal_hints() {
        Some(hints) => {
            for value in hints {
                if let Some(ours) = state.dots(value) {
                    drop_live(value, ours);
                }
            }
        }
        None => {
            for (value, ours) in state.entries().iter() {
                drop_live(value, ours);
            }
        }
    }
    // The novel part's removals are the dots of `ctx` outside `entries`. Without
    // unseen removals they are exactly the dots dropped here, of the elements in
    // `removed`; handing on the delta's whole hint set instead would make hint sets
    // snowball as novel parts are forwarded and joined. Unseen removals name elements
    // this state never held: only the delta's hints (if any) know them.
    let hints = if unseen_removals {
        delta.removal_hints().cloned()
    } else {
        Some(removed)
    };
    OrSet::from_parts(DotStore::from_sorted(entries), ctx, hints)
}

impl<T: WireValue + Debug> DeltaCrdt for LwwRegister<T> {
    type Summary = VersionVector;
    type Op = LwwOp<T>;

    fn heap_bytes(&self) -> usize {
        self.heap_bytes_with(T::heap_bytes)
    }

    fn apply(&mut self, writer: ReplicaId, op: LwwOp<T>) -> Result<Self, CoreError> {
        match op {
            LwwOp::Set { value, now_ms } => self.try_set(writer, value, now_ms),
        }
    }

    fn empty_delta() -> Self {
        LwwRegister::new()
    }

    fn is_bottom(&self) -> bool {
        self.context().is_empty()
    }

    fn summary(&self) -> VersionVector {
        self.context().clone()
    }

    fn summary_writers(summary: &VersionVector) -> Vec<ReplicaId> {
        summary.iter().map(|(r, _)| r).collect()
    }

    fn summary_covers(summary: &VersionVector, other: &VersionVector) -> bool {
        summary.covers(other)
    }

    /// Bottom if the remote has seen every write we have seen (then its value is at
    /// least ours), else the whole register (one value and a version vector).
    fn delta_since(&self, remote: &VersionVector) -> Self {
        if remote.covers(self.context()) {
            LwwRegister::new()
        } else {
            self.clone()
        }
    }

    fn merge_delta(&mut self, delta: &Self) -> Self {
        let before = self.clone();
        self.merge(delta);
        if *self == before {
            LwwRegister::new()
        } else {
            delta.clone()
        }
    }

    fn progress_of(&self, replica: ReplicaId) -> u64 {
        self.context().get(replica)
    }

    /// 1 when the join drops a write (ours or theirs) concurrent with the winner.
    fn concurrent_discards(&self, incoming: &Self) -> u64 {
        let mut joined = self.clone();
        u64::from(joined.merge_report(incoming).discarded.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A receiver that already saw one of a batch's two removes forwards a novel part
    /// whose hints name only the other element (they used to copy the batch's).
    #[test]
    fn novel_part_hints_name_only_its_own_removals() {
        let a = ReplicaId::new(1);
        let mut origin = OrSet::new();
        let mut receiver = OrSet::new();
        receiver.apply_delta(&origin.insert(a, 1_u64));
        receiver.apply_delta(&origin.insert(a, 2_u64));
        let d1 = origin.remove(&1);
        let d2 = origin.remove(&2).into_set();
        let mut batch = OrSetDelta::new();
        batch.join(&d1);
        batch.join(&OrSetDelta::from_set(d2.clone()));
        let batch = batch.into_set();
        assert_eq!(batch.removal_hints(), Some(&BTreeSet::from([1, 2])));

        let _ = receiver.merge_delta(&d2);
        let novel = receiver.merge_delta(&batch);
        assert_eq!(novel.removal_hints(), Some(&BTreeSet::from([1])));
        assert_eq!(receiver, origin);

        // Nothing new: no hints to forward.
        let again = receiver.merge_delta(&batch);
        assert!(again.is_bottom());
        assert_eq!(again.removal_hints(), Some(&BTreeSet::new()));
    }

    /// A remove of a dot the receiver never saw keeps the delta's hints: they are the
    /// only record of which element it belonged to.
    #[test]
    fn novel_part_keeps_hints_for_unseen_removals() {
        let (a, b) = (ReplicaId::new(1), ReplicaId::new(2));
        let mut origin = OrSet::new();
        let added = origin.insert(a, 7_u64);
        let removed = origin.remove(&7);
        let batch: OrSetDelta<u64> = [&added, &removed].into_iter().collect();
        let batch = batch.into_set();
        let mut receiver = OrSet::new();
        let _ = receiver.insert(b, 8_u64);
        let novel = receiver.merge_delta(&batch);
        assert_eq!(novel.removal_hints(), Some(&BTreeSet::from([7])));
        let mut third = OrSet::new();
        third.apply_delta(&added);
        third.merge(&novel);
        assert!(!third.contains(&7));
    }
}
