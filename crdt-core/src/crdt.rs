//! The lattice every replicated type in this crate is.

/// A join-semilattice: a state that replicas combine with [`Crdt::merge`].
///
/// # Laws
/// For all reachable values `a`, `b`, `c` (equality is the type's `PartialEq`):
/// - **commutative**: `a ⊔ b == b ⊔ a`
/// - **associative**: `(a ⊔ b) ⊔ c == a ⊔ (b ⊔ c)`
/// - **idempotent**: `a ⊔ a == a`
/// - **inflationary**: `a ⊔ b` has seen everything `a` has; merging never forgets
///   (for the causal types: the merged context covers both contexts).
///
/// Together these mean replicas that have received the same updates, in any order,
/// any number of times, in any grouping, hold equal states: no coordinator is needed.
///
/// # Delta-state
/// Every mutator in this crate applies its change locally and returns a **delta**: a
/// value of the lattice holding only what changed (of the same type, except the
/// OR-Set's [`OrSetDelta`](crate::OrSetDelta), which wraps an `OrSet` that also names
/// the elements it removes). Joining the delta into the state it was made from gives
/// the mutated state (`s ⊔ m_δ(s) == m(s)`), and joining it into any other replica
/// delivers the update there. Deltas join each other with the same `merge` (an
/// `OrSetDelta` with `join`), so a batch of deltas is itself a delta. Merging a delta
/// costs O(size of the delta), not O(size of the state).
///
/// The laws are checked for every implementation by one generic property test
/// (`crdt-core/tests/laws.rs`).
pub trait Crdt {
    /// Joins `other` into `self` (least upper bound).
    fn merge(&mut self, other: &Self);
}
