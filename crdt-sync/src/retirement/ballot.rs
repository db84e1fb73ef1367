//! Ballots: which proposal of one epoch is newer.

use crdt_core::ReplicaId;

/// A proposal number of one epoch's decision, ordered by `round`, then by the
/// proposing member, then by the proposer's life. No two proposals share a ballot:
/// members propose under their own id, and two lives of one coordinator (a restart
/// forgets the rounds used) under different `life`s. A ballot used for two batches
/// could get both chosen in one epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ballot {
    /// Raised above every ballot the proposer has seen refused or promised.
    pub round: u64,
    /// The member that proposes under it.
    pub proposer: ReplicaId,
    /// Which life of the proposer (see [`Coordinator::new`](super::Coordinator::new)).
    pub life: u64,
}
