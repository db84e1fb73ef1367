//! What a replica holds of one writer, and a certificate that this is final.

use crdt_core::{Held, ReplicaId};

/// What a member holds of one writer: its highest dot, its counter contributions (the
/// value's [`Held`]) and its write count (its causal-token entry, which counts every
/// write, dotless removes and deletes included). A retirement may be decided only once
/// every member holds exactly the writer's certified holdings (`docs/RETIREMENT.md`
/// §4.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Holdings {
    /// The value's part: highest dot and counter contributions.
    pub held: Held,
    /// The writer's causal-token entry: how many writes it made.
    pub writes: u64,
}

impl Holdings {
    /// Whether `self` holds something of the writer that `other` does not (in any
    /// part): a certificate stating `other` as final was wrong.
    #[must_use]
    pub fn exceeds(&self, other: &Holdings) -> bool {
        self.held.last > other.held.last
            || self.held.increments > other.held.increments
            || self.held.decrements > other.held.decrements
            || self.writes > other.writes
    }
}

/// A statement, by whoever knows that `writer` will never write again (its successor
/// incarnation, or the client replica that owned it), that `holdings` are all of its
/// writes (`docs/RETIREMENT.md` §4.1). Nothing else may start its retirement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Certificate {
    /// The writer that will never write again.
    pub writer: ReplicaId,
    /// Its final holdings.
    pub holdings: Holdings,
}
