//! A change to an OR-Set: what its mutators return and what batches are joined into.

use crate::codec::{DecodeError, Reader, ValueError, WireFormat, WireValue, Writer};
use crate::{CausalContext, Crdt, OrSet};
use core::fmt;

/// A change to an [`OrSet`]: what [`OrSet::insert`], [`OrSet::remove`] and
/// [`OrSet::clear`] return, and the only type batches of changes are joined into.
///
/// A delta is an OR-Set value (the elements it adds, with their dots, under the
/// context of every dot it covers) that also keeps **removal hints**: which elements
/// its removed dots belonged to, so that a receiver drops them in O(delta) instead of
/// scanning its state. A replica's state keeps no hints (they would be tombstones), so
/// states and deltas are different types, and joining deltas can only keep them:
///
/// - to batch deltas, [`join`](OrSetDelta::join) them (or `collect()` them, or start
///   from [`OrSetDelta::new`]): the batch keeps the union of their hints;
/// - to apply a delta to a replica, [`OrSet::apply_delta`];
/// - to send it, [`encode`](crate::codec::encode) it: the bytes are an `OrSet`'s, hints
///   included, which any replica decodes as an `OrSet` (or, to keep batching, as an
///   `OrSetDelta`).
///
/// There is no conversion from a state to a delta: a batch merged into a state would
/// lose its hints, so the type system keeps batches out of states. Batching into
/// [`OrSet::new`] does not compile:
///
/// ```compile_fail,E0308
/// # use crdt_core::{Crdt, OrSet, ReplicaId};
/// let mut origin = OrSet::new();
/// let d1 = origin.insert(ReplicaId::new(1), 5_u64);
/// let d2 = origin.remove(&5);
/// let mut batch = OrSet::new();
/// batch.merge(&d1); // error: expected `&OrSet<_>`, found `&OrSetDelta<u64>`
/// batch.merge(&d2);
/// ```
///
/// and neither does the `empty_delta` a batch used to start from, nor collecting
/// deltas into a state:
///
/// ```compile_fail,E0624
/// # use crdt_core::OrSet;
/// let batch: OrSet<u64> = OrSet::empty_delta(); // error: private associated function
/// ```
///
/// ```compile_fail,E0277
/// # use crdt_core::{OrSet, ReplicaId};
/// let mut origin = OrSet::new();
/// let deltas = [origin.insert(ReplicaId::new(1), 5_u64), origin.remove(&5)];
/// let batch: OrSet<u64> = deltas.iter().collect(); // error: not FromIterator
/// ```
///
/// ```
/// # use crdt_core::{OrSet, OrSetDelta, ReplicaId};
/// let mut origin = OrSet::new();
/// let _ = origin.insert(ReplicaId::new(1), 5_u64);
/// let d1 = origin.remove(&5);
/// let d2 = origin.insert(ReplicaId::new(1), 6);
/// let batch: OrSetDelta<u64> = [d1, d2].iter().collect();
/// assert!(batch.as_set().has_removal_hints());
///
/// let mut replica = OrSet::new();
/// replica.apply_delta(&batch);
/// assert_eq!(replica, origin);
/// assert!(!replica.has_removal_hints());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OrSetDelta<T> {
    /// Built by `OrSet::empty_delta` (hints `Some`) and kept so by every join of deltas
    /// that carry complete hints; `None` only after joining a decoded delta that has
    /// removals but no hints (from a peer that sends none).
    set: OrSet<T>,
}

impl<T: Ord + Clone> OrSetDelta<T> {
    /// The empty delta: the start of a batch.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            set: OrSet::empty_delta(),
        }
    }

    /// Wraps a value built as a delta (its hints, if any, are complete).
    pub(crate) fn from_set(set: OrSet<T>) -> Self {
        Self { set }
    }

    /// Joins `other` into this batch, keeping the union of both deltas' removal hints.
    pub fn join(&mut self, other: &OrSetDelta<T>) {
        self.set.merge(&other.set);
    }

    /// Whether this delta changes nothing: no element and no dot in its context (a
    /// remove of an absent element, or the empty batch).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.set.context().is_empty()
    }

    /// The delta as an OR-Set value, to read (the elements it adds, its context, its
    /// hints) or to merge with [`Crdt::merge`] where an `OrSet` is expected.
    #[must_use]
    pub fn as_set(&self) -> &OrSet<T> {
        &self.set
    }

    /// The delta as an OR-Set value, hints included: what a protocol buffers and sends
    /// (crdt-sync's deltas are `OrSet`s, joined into [`DeltaCrdt::empty_delta`](crate::DeltaCrdt::empty_delta)).
    #[must_use]
    pub fn into_set(self) -> OrSet<T> {
        self.set
    }

    /// Every dot this delta covers: the dots of the adds it carries and of the adds it
    /// removes.
    #[must_use]
    pub fn context(&self) -> &CausalContext {
        self.set.context()
    }
}

/// Deltas form a lattice too: `merge` is [`OrSetDelta::join`].
impl<T: Ord + Clone> Crdt for OrSetDelta<T> {
    fn merge(&mut self, other: &Self) {
        self.join(other);
    }
}

impl<T: Ord + Clone> Default for OrSetDelta<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OrSetDelta<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OrSetDelta").field(&self.set).finish()
    }
}

impl<'a, T: Ord + Clone + 'a> FromIterator<&'a OrSetDelta<T>> for OrSetDelta<T> {
    /// Joins deltas into one batch with the union of their removal hints.
    fn from_iter<I: IntoIterator<Item = &'a OrSetDelta<T>>>(iter: I) -> Self {
        let mut batch = Self::new();
        for d in iter {
            batch.join(d);
        }
        batch
    }
}

impl<T: Ord + Clone> FromIterator<OrSetDelta<T>> for OrSetDelta<T> {
    /// Joins deltas into one batch with the union of their removal hints.
    fn from_iter<I: IntoIterator<Item = OrSetDelta<T>>>(iter: I) -> Self {
        let mut batch = Self::new();
        for d in iter {
            batch.join(&d);
        }
        batch
    }
}

/// The bytes of the `OrSet` the delta is (same type tag): a delta is sent as an
/// OR-Set and decodes as either type. Decoding keeps the hints the bytes carry.
impl<T: WireValue> WireFormat for OrSetDelta<T> {
    const TYPE_TAG: u8 = <OrSet<T> as WireFormat>::TYPE_TAG;

    fn encode_body(&self, w: &mut Writer) -> Result<(), ValueError> {
        self.set.encode_body(w)
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        OrSet::decode_body(r).map(Self::from_set)
    }
}
