//! The messages of the decision between coordinators and members.

use super::{Ballot, Batch, Holdings};
use crdt_core::ReplicaId;

/// One message of the retirement decision (`docs/RETIREMENT.md` §5.1). Coordinators
/// send `Prepare`, `Accept` and `Commit`; members answer with the others. Any of them
/// may be lost, duplicated, delayed or reordered: each side resends until answered,
/// and handling a copy again changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetirementMessage {
    /// Phase 1: promise to ignore ballots below `ballot` for `epoch`, and say what you
    /// accepted for it.
    Prepare {
        /// The epoch being decided (the member's committed epoch + 1).
        epoch: u64,
        /// The proposal's ballot.
        ballot: Ballot,
    },
    /// A member's promise for `epoch`.
    Promise {
        /// The epoch.
        epoch: u64,
        /// The ballot promised.
        ballot: Ballot,
        /// The batch the member accepted for `epoch`, with its ballot, if any.
        accepted: Option<(Ballot, Batch)>,
        /// Where the member's committed ranges end: the new batch's base.
        records_end: u64,
    },
    /// Phase 2: accept `batch` under `ballot` if you still may and hold exactly what
    /// it certifies.
    Accept {
        /// The ballot promised by every member.
        ballot: Ballot,
        /// The batch (its epoch is the one being decided).
        batch: Batch,
    },
    /// A member accepted the batch of `ballot`, durably.
    Accepted {
        /// The epoch.
        epoch: u64,
        /// The ballot accepted.
        ballot: Ballot,
    },
    /// Every member accepted `batch`: commit it.
    Commit {
        /// The batch chosen for its epoch.
        batch: Batch,
    },
    /// A member has committed every epoch up to `epoch`.
    Committed {
        /// Its committed epoch.
        epoch: u64,
    },
    /// The answer to a `Prepare` or `Accept` for an epoch the member has committed
    /// already: the batch committed then.
    Chosen {
        /// The batch committed for that epoch.
        batch: Batch,
    },
    /// The member cannot take part: it has not committed the epochs before the one
    /// asked about (it needs their `Commit`s first).
    Behind {
        /// Its committed epoch.
        epoch: u64,
    },
    /// The member refuses the `Prepare`, `Accept` or `Commit` of `ballot`.
    Refused {
        /// The epoch.
        epoch: u64,
        /// The ballot refused (for a `Commit`, the member's own accepted ballot or
        /// none).
        ballot: Option<Ballot>,
        /// Why.
        refusal: Refusal,
    },
}

/// Why a member refused a proposal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It promised a higher ballot for the epoch: propose again above it.
    Promised(Ballot),
    /// It does not hold exactly the certified holdings of these writers (every one of
    /// the batch's, by writer, with what it holds; never empty). Of a writer it holds
    /// more of, the certificate was wrong and the writer must not be retired; of one
    /// it holds less of, repair has not brought it up yet and the proposal may be
    /// repeated later.
    Holds(Vec<(ReplicaId, Holdings)>),
    /// The batch's collapse ranges do not start where the member's committed ranges
    /// end, or it retires a writer retired earlier or the collapse id.
    Malformed,
}
