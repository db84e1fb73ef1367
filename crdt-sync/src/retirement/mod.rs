//! Deciding replica retirements (`docs/RETIREMENT.md` §4 and §5.1): which writers'
//! metadata every member collapses, in which epoch.
//!
//! A writer is retired only when someone who knows it will never write again states
//! its final holdings (a [`Certificate`]), and only in a [`Batch`] that **every**
//! member accepted after checking that it holds exactly those holdings. A
//! [`Coordinator`] proposes batches; each [`Member`] promises, accepts and commits
//! them. One batch is chosen per epoch (a Paxos instance whose quorum is every member),
//! so every member commits the same batches in the same order and computes the same
//! records ([`Batch::records`]), which crdt-core's [`Retire`](crdt_core::Retire)
//! applies to values.
//!
//! A committed batch is applied to the member's leader with
//! [`Leader::commit_retirement`](crate::Leader::commit_retirement), which renames the
//! state, the delta buffer, the causal token and what is known of peers; from then on
//! the leader translates content computed before the commit when it arrives, holds
//! back content of epochs it has not committed, and fences writes of a retired writer
//! beyond its record (the `retired` and `dating` modules: content dates itself by
//! what it names, so messages carry no epoch and the protocol version is unchanged).
//!
//! Tested by the decision's own simulator (`tests/tests/retirement_decision.rs`: loss,
//! duplication, reordering, crashes of coordinators and members, competing
//! coordinators) and by replication with retirement over real leaders
//! (`tests/tests/retirement_replication.rs`: the same faults plus partitions and
//! amnesia). A member restored from an older copy of its own decision state is not
//! supported (see [`Member`]); a leader restored from an older checkpoint is.

mod ballot;
mod batch;
mod codec;
mod coordinator;
mod history;
mod holdings;
mod member;
mod message;

pub use ballot::Ballot;
pub use batch::Batch;
pub use codec::{BATCH_CERTIFICATES_MAX, RETIREMENT_FORMAT, RETIREMENT_MAGIC};
pub use coordinator::{Coordinator, Stall, LAG_PATIENCE_PERIODS};
use history::History;
pub use holdings::{Certificate, Holdings};
pub use member::{Member, MemberStep};
pub use message::{Refusal, RetirementMessage};
