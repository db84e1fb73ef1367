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
//! Built so far: the decision, sans-IO, tested under message loss, duplication and
//! reordering, crashes of coordinators (restarted empty) and members (restarted from
//! their stored state), and competing coordinators (`tests/tests/retirement_decision.rs`).
//! A member restored from an older copy is not supported (see [`Member`]). Not
//! built yet: carrying these messages and applying a committed batch in
//! [`Leader`](crate::Leader) (epochs on content, translation of older content,
//! fences), which change the protocol version.

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
