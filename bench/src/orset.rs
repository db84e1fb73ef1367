//! The OR-Set contenders and workloads: `crdt_core::OrSet`, `crdts::Orswot` and a plain
//! `ahash` set, behind one interface so that the table binary and the criterion benches
//! run the same operations on the same inputs.
//!
//! Each contender follows its library's documented idiom. For `crdts` that is
//! `set.apply(set.add(x, set.read_ctx().derive_add_ctx(actor)))` to insert and
//! `set.apply(set.rm(x, set.contains(&x).derive_rm_ctx()))` to remove.

use crate::element::Element;
use crdt_core::{codec, Crdt, DeltaCrdt, OrSet, OrSetDelta, ReplicaId};
use crdts::{CmRDT, CvRDT, Orswot};

/// The replica that writes the sequential sets (and makes local inserts and removes).
pub const WRITER: u64 = 1;
/// The second and third replicas of the full-state merge fixture.
pub const OTHER_WRITERS: [u64; 2] = [2, 3];
/// The first replica id of the writers of the small deltas merged into a big state.
pub const DELTA_WRITER: u64 = 9;

/// A replica id no other delta writer of this process had: a writer that started
/// again under an old id would reissue dots the state has seen (and its adds would be
/// ignored as already merged).
pub fn fresh_writer_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(DELTA_WRITER);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
/// Elements per delta in the delta-merge benchmark.
pub const DELTA_ELEMENTS: usize = 10;

/// One OR-Set implementation under test.
pub trait SetContender<E: Element>: Clone + Sized {
    /// The column name.
    const NAME: &'static str;

    /// The empty set.
    fn empty() -> Self;

    /// Inserts `e` on behalf of `replica` (whatever the library returns is dropped).
    fn insert_by(&mut self, replica: u64, e: E);

    /// A local insert by [`WRITER`].
    fn insert(&mut self, e: E) {
        self.insert_by(WRITER, e);
    }

    /// A local remove.
    fn remove(&mut self, e: &E);

    /// The number of elements.
    fn len(&self) -> usize;

    /// Whether the set has no elements.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `e` is present.
    fn contains(&self, e: &E) -> bool;

    /// Joins the full state `other`. Returns what is left of `other` for the caller to
    /// drop after the timed section (libraries whose merge consumes its input return
    /// `None`).
    fn merge_state(&mut self, other: Self) -> Option<Self>;

    /// The canonical encoding (postcard for `crdts` and `ahash`, which have no codec).
    fn encode(&self) -> Vec<u8>;

    /// Decodes [`SetContender::encode`]'s output.
    fn decode(bytes: &[u8]) -> Self;

    /// `nth(0..n)` inserted in ascending order by [`WRITER`].
    fn build(n: u64) -> Self {
        let mut s = Self::empty();
        for i in 0..n {
            s.insert(E::nth(i));
        }
        s
    }

    /// The full-state merge fixture: two states of `n` elements each, from 3 replicas,
    /// overlapping by half. A third replica wrote `nth(0..n/2)`, which both hold; the
    /// left one then wrote `nth(n/2..n)` and the right one `nth(n..3n/2)`.
    fn overlapping_pair(n: u64) -> (Self, Self) {
        let half = n / 2;
        let mut common = Self::empty();
        for i in 0..half {
            common.insert_by(OTHER_WRITERS[1], E::nth(i));
        }
        let mut left = common.clone();
        for i in half..n {
            left.insert_by(WRITER, E::nth(i));
        }
        let mut right = common;
        for i in n..n + (n - half) {
            right.insert_by(OTHER_WRITERS[0], E::nth(i));
        }
        (left, right)
    }
}

/// `crdt_core::OrSet`, this workspace's delta-state OR-Set.
pub type Ours<E> = OrSet<E>;
/// `crdts::Orswot` (rust-crdt 7.3), actors are `u64`.
pub type Theirs<E> = Orswot<E, u64>;
/// The physical reference: a plain hash set with the `ahash` hasher.
pub type Plain<E> = ahash::AHashSet<E>;

impl<E: Element> SetContender<E> for OrSet<E> {
    const NAME: &'static str = "ours";

    fn empty() -> Self {
        OrSet::new()
    }

    fn insert_by(&mut self, replica: u64, e: E) {
        let _delta = OrSet::insert(self, ReplicaId::new(replica), e);
    }

    fn remove(&mut self, e: &E) {
        let _delta = OrSet::remove(self, e);
    }

    fn len(&self) -> usize {
        OrSet::len(self)
    }

    fn contains(&self, e: &E) -> bool {
        OrSet::contains(self, e)
    }

    fn merge_state(&mut self, other: Self) -> Option<Self> {
        Crdt::merge(self, &other);
        Some(other)
    }

    fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    fn decode(bytes: &[u8]) -> Self {
        codec::decode(bytes).expect("our own encoding decodes")
    }
}

impl<E: Element> SetContender<E> for Orswot<E, u64> {
    const NAME: &'static str = "crdts";

    fn empty() -> Self {
        Orswot::new()
    }

    fn insert_by(&mut self, replica: u64, e: E) {
        let ctx = self.read_ctx().derive_add_ctx(replica);
        let op = self.add(e, ctx);
        self.apply(op);
    }

    fn remove(&mut self, e: &E) {
        let ctx = self.contains(e).derive_rm_ctx();
        let op = self.rm(e.clone(), ctx);
        self.apply(op);
    }

    fn len(&self) -> usize {
        self.iter().count()
    }

    fn contains(&self, e: &E) -> bool {
        Orswot::contains(self, e).val
    }

    fn merge_state(&mut self, other: Self) -> Option<Self> {
        CvRDT::merge(self, other);
        None
    }

    fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("postcard encodes an Orswot")
    }

    fn decode(bytes: &[u8]) -> Self {
        postcard::from_bytes(bytes).expect("postcard decodes its own output")
    }
}

impl<E: Element> SetContender<E> for ahash::AHashSet<E> {
    const NAME: &'static str = "ahash";

    fn empty() -> Self {
        ahash::AHashSet::new()
    }

    fn insert_by(&mut self, _replica: u64, e: E) {
        (**self).insert(e);
    }

    fn remove(&mut self, e: &E) {
        (**self).remove(e);
    }

    fn len(&self) -> usize {
        (**self).len()
    }

    fn contains(&self, e: &E) -> bool {
        (**self).contains(e)
    }

    fn merge_state(&mut self, other: Self) -> Option<Self> {
        // The physical union: what any set must at least do.
        self.extend(other.iter().cloned());
        Some(other)
    }

    /// The elements as a postcard sequence (the "raw postcard `Vec`").
    fn encode(&self) -> Vec<u8> {
        let v: Vec<&E> = self.iter().collect();
        postcard::to_allocvec(&v).expect("postcard encodes a Vec")
    }

    fn decode(bytes: &[u8]) -> Self {
        let v: Vec<E> = postcard::from_bytes(bytes).expect("postcard decodes its own output");
        v.into_iter().collect()
    }
}

/// A reference, not a contender: std's ordered set, with no CRDT metadata at all. An
/// OR-Set that keeps the ordered walk its merges, encoding and repair rely on cannot
/// insert faster than this (the insert targets' floor, printed as a row).
pub type Ordered<E> = std::collections::BTreeSet<E>;

impl<E: Element> SetContender<E> for std::collections::BTreeSet<E> {
    const NAME: &'static str = "std BTreeSet";

    fn empty() -> Self {
        std::collections::BTreeSet::new()
    }

    fn insert_by(&mut self, _replica: u64, e: E) {
        std::collections::BTreeSet::insert(self, e);
    }

    fn remove(&mut self, e: &E) {
        std::collections::BTreeSet::remove(self, e);
    }

    fn len(&self) -> usize {
        std::collections::BTreeSet::len(self)
    }

    fn contains(&self, e: &E) -> bool {
        std::collections::BTreeSet::contains(self, e)
    }

    fn merge_state(&mut self, other: Self) -> Option<Self> {
        self.extend(other.iter().cloned());
        Some(other)
    }

    fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("postcard encodes a BTreeSet")
    }

    fn decode(bytes: &[u8]) -> Self {
        postcard::from_bytes(bytes).expect("postcard decodes its own output")
    }
}

/// A way to bring a few adds made by another replica into a big state: the
/// delta-merge benchmark. Another replica (the *writer*) adds [`DELTA_ELEMENTS`] fresh
/// elements and ships them; the state merges them (timed); then the state removes them
/// again (untimed) so that it keeps its size across repetitions.
pub trait DeltaPath<E: Element> {
    /// The row label.
    const NAME: &'static str;
    /// The state merged into.
    type State: SetContender<E>;
    /// The writer's side.
    type Writer: 'static;
    /// What the writer ships.
    type Delta;

    /// A fresh writer (with a replica id never used before, see [`fresh_writer_id`]).
    fn writer() -> Self::Writer;

    /// The writer adds `elems` and returns what it ships (untimed). Deltas written one
    /// after the other are independent: merging one never removes another's elements.
    fn write(w: &mut Self::Writer, elems: &[E]) -> Self::Delta;

    /// Brings `d` into `state` (timed). Returns what is left of `d` for the caller to
    /// drop after the timed section.
    fn merge(state: &mut Self::State, d: Self::Delta) -> Option<Self::Delta>;

    /// Removes `elems` from `state` again (untimed).
    fn undo(state: &mut Self::State, elems: &[E]) {
        for e in elems {
            state.remove(e);
        }
    }
}

/// Ours: the join of the writer's insert deltas, merged with [`Crdt::merge`].
#[derive(Debug)]
pub struct OursDelta;

impl<E: Element> DeltaPath<E> for OursDelta {
    const NAME: &'static str = "ours: `merge` of the joined 10 insert deltas";
    type State = OrSet<E>;
    type Writer = (ReplicaId, OrSet<E>);
    type Delta = OrSetDelta<E>;

    fn writer() -> (ReplicaId, OrSet<E>) {
        (ReplicaId::new(fresh_writer_id()), OrSet::new())
    }

    fn write((id, w): &mut (ReplicaId, OrSet<E>), elems: &[E]) -> OrSetDelta<E> {
        let mut batch = OrSetDelta::new();
        for e in elems {
            batch.join(&w.insert(*id, e.clone()));
        }
        // The writer forgets them again (its later deltas do not depend on it).
        for e in elems {
            let _ = w.remove(e);
        }
        batch
    }

    fn merge(state: &mut OrSet<E>, d: OrSetDelta<E>) -> Option<OrSetDelta<E>> {
        state.apply_delta(&d);
        Some(d)
    }
}

/// Ours as `crdt-sync` runs it: [`DeltaCrdt::merge_delta`] (join plus the novel part
/// to forward).
#[derive(Debug)]
pub struct OursMergeDelta;

impl<E: Element> DeltaPath<E> for OursMergeDelta {
    const NAME: &'static str = "ours: `merge_delta` (join + novel part, as crdt-sync does)";
    type State = OrSet<E>;
    type Writer = (ReplicaId, OrSet<E>);
    type Delta = OrSet<E>;

    fn writer() -> (ReplicaId, OrSet<E>) {
        <OursDelta as DeltaPath<E>>::writer()
    }

    fn write(w: &mut (ReplicaId, OrSet<E>), elems: &[E]) -> OrSet<E> {
        <OursDelta as DeltaPath<E>>::write(w, elems).into_set()
    }

    fn merge(state: &mut OrSet<E>, d: OrSet<E>) -> Option<OrSet<E>> {
        let novel = state.merge_delta(&d);
        drop(d);
        Some(novel)
    }
}

/// `crdts`, state-based: a writer's whole state holding just the 10 new elements,
/// joined with `CvRDT::merge` — the join the target compares with. (Each delta comes
/// from a fresh writer actor: an `Orswot`'s clock has no gaps, so a writer that had
/// shipped earlier elements and dropped them would remove them at the receiver.)
#[derive(Debug)]
pub struct CrdtsStateMerge;

impl<E: Element> DeltaPath<E> for CrdtsStateMerge {
    const NAME: &'static str = "crdts: `CvRDT::merge` of a 10-element Orswot state";
    type State = Orswot<E, u64>;
    type Writer = ();
    type Delta = Orswot<E, u64>;

    fn writer() {}

    fn write((): &mut (), elems: &[E]) -> Orswot<E, u64> {
        let actor = fresh_writer_id();
        let mut state = Orswot::new();
        for e in elems {
            state.insert_by(actor, e.clone());
        }
        state
    }

    fn merge(state: &mut Orswot<E, u64>, d: Orswot<E, u64>) -> Option<Orswot<E, u64>> {
        CvRDT::merge(state, d);
        None
    }
}

/// `crdts`, op-based: the writer's 10 `Add` ops applied with `CmRDT::apply` (cheap,
/// but it needs exactly-once causal delivery, which state merges do not).
#[derive(Debug)]
pub struct CrdtsOps;

impl<E: Element> DeltaPath<E> for CrdtsOps {
    const NAME: &'static str = "crdts: `CmRDT::apply` of 10 `Add` ops (op-based)";
    type State = Orswot<E, u64>;
    type Writer = (u64, Orswot<E, u64>);
    type Delta = Vec<crdts::orswot::Op<E, u64>>;

    fn writer() -> (u64, Orswot<E, u64>) {
        (fresh_writer_id(), Orswot::new())
    }

    fn write((actor, w): &mut (u64, Orswot<E, u64>), elems: &[E]) -> Self::Delta {
        let ops = elems
            .iter()
            .map(|e| {
                let ctx = w.read_ctx().derive_add_ctx(*actor);
                let op = w.add(e.clone(), ctx);
                w.apply(op.clone());
                op
            })
            .collect();
        for e in elems {
            SetContender::<E>::remove(w, e);
        }
        ops
    }

    fn merge(state: &mut Orswot<E, u64>, d: Self::Delta) -> Option<Self::Delta> {
        for op in d {
            state.apply(op);
        }
        None
    }
}

/// The physical reference: 10 hash-set inserts.
#[derive(Debug)]
pub struct PlainDelta;

impl<E: Element> DeltaPath<E> for PlainDelta {
    const NAME: &'static str = "ahash: 10 inserts";
    type State = ahash::AHashSet<E>;
    type Writer = ();
    type Delta = Vec<E>;

    fn writer() {}

    fn write((): &mut (), elems: &[E]) -> Vec<E> {
        elems.to_vec()
    }

    fn merge(state: &mut ahash::AHashSet<E>, d: Vec<E>) -> Option<Vec<E>> {
        state.extend(d);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn delta_round_trip<P: DeltaPath<u64>>(state: &mut P::State) {
        // A second writer on the same state, as the table and criterion make them.
        for _ in 0..2 {
            delta_rounds::<P>(state);
        }
    }

    fn delta_rounds<P: DeltaPath<u64>>(state: &mut P::State) {
        let state = &mut *state;
        let mut w = P::writer();
        let mut rng = SplitMix64::new(3);
        for k in [1, 3, 1] {
            let elems: Vec<Vec<u64>> = (0..k)
                .map(|_| (0..DELTA_ELEMENTS).map(|_| u64::fresh(&mut rng)).collect())
                .collect();
            let deltas: Vec<P::Delta> = elems.iter().map(|e| P::write(&mut w, e)).collect();
            for d in deltas {
                drop(P::merge(state, d));
            }
            assert_eq!(state.len(), 100 + k * DELTA_ELEMENTS, "{}", P::NAME);
            assert!(elems.iter().flatten().all(|e| state.contains(e)));
            for e in &elems {
                P::undo(state, e);
            }
            assert_eq!(state.len(), 100);
        }
    }

    #[test]
    fn every_delta_path_adds_then_undoes() {
        let mut ours = Ours::<u64>::build(100);
        delta_round_trip::<OursDelta>(&mut ours);
        delta_round_trip::<OursMergeDelta>(&mut ours);
        let mut theirs = Theirs::<u64>::build(100);
        delta_round_trip::<CrdtsStateMerge>(&mut theirs);
        delta_round_trip::<CrdtsOps>(&mut theirs);
        delta_round_trip::<PlainDelta>(&mut Plain::<u64>::build(100));
    }

    fn fixtures<S: SetContender<String>>() {
        let (mut l, r) = S::overlapping_pair(100);
        assert_eq!((l.len(), r.len()), (100, 100));
        drop(l.merge_state(r));
        assert_eq!(l.len(), 150);
        let s = S::build(50);
        assert_eq!(S::decode(&s.encode()).len(), 50);
    }

    #[test]
    fn fixtures_have_the_documented_shape() {
        fixtures::<Ours<String>>();
        fixtures::<Theirs<String>>();
        fixtures::<Plain<String>>();
    }
}
