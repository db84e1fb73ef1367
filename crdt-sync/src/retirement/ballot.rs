//! Ballots: which proposal of one epoch is newer.

use crdt_core::ReplicaId;

/// A proposal number of one epoch's decision: ordered by `round`, then by the
/// proposing member, so two coordinators never use the same ballot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ballot {
    /// Raised above every ballot the proposer has seen refused or promised.
    pub round: u64,
    /// The member that proposes under it.
    pub proposer: ReplicaId,
}
