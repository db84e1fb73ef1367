//! The identity of a replica.

use core::fmt;
use serde::{Deserialize, Serialize};

/// The identity of one replica: the author of every [`Dot`](crate::Dot) it issues.
///
/// # Invariant
/// **Two live replicas never share an id, and a replica that lost its state must not
/// keep issuing dots under its old id.** Every causal structure in this crate identifies
/// an update by `(replica, counter)`. If two replicas issue the same dot for different
/// updates, each side believes it has already seen the other's update: one of them is
/// silently dropped everywhere, and an OR-Set remove of one may delete the other. The
/// same happens when a replica restarts from an old backup (or from nothing) and counts
/// again from a counter it already used (Riak's "KV679" bug class).
///
/// Choose ids at random from a large space (ids below 2^53 stay exact in JavaScript),
/// or from a registry, and pick a **fresh** id whenever a replica cannot prove its state
/// is the latest it ever had. `crdt-sync` detects violations it can see and refuses to
/// write under a conflicting id; this type cannot check the invariant by itself.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReplicaId(u64);

impl ReplicaId {
    /// Wraps a raw id. Any `u64` is valid; see the type's invariant on uniqueness.
    #[must_use]
    pub const fn new(id: u64) -> Self {
        Self(id)
    }

    /// The raw id.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for ReplicaId {
    fn from(id: u64) -> Self {
        Self(id)
    }
}

impl From<ReplicaId> for u64 {
    fn from(id: ReplicaId) -> Self {
        id.0
    }
}

impl fmt::Debug for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
