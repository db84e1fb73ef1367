//! Delta-state CRDTs built on dots and causal contexts.
//!
//! Replicas accept writes independently and converge by exchanging *deltas*: small
//! values of the state's lattice (of the same type, or for the OR-Set an
//! [`OrSetDelta`], which batches keeping the names of what it removes), joined with one [`Crdt::merge`] that is
//! commutative, associative and idempotent. Deltas may arrive in any order, any number
//! of times, batched or not; replicas that received the same updates hold equal states
//! and encode to identical bytes ([`codec`]).
//!
//! | type | mutators (each returns its delta) | value |
//! |---|---|---|
//! | [`GCounter`] | `increment` | `u64` |
//! | [`PnCounter`] | `increment`, `decrement` | `i64` |
//! | [`OrSet`] | `insert`, `remove`, `clear` (deltas: [`OrSetDelta`], applied with `apply_delta`) | add-wins set, no tombstones |
//! | [`LwwRegister`] | `set` | last writer by hybrid logical clock |
//! | [`MvRegister`] | `set` | every concurrent latest write |
//! | [`Keyspace`] | per key: `increment`, `pn_increment`, `pn_decrement`, `set_insert`, `set_remove`, `lww_set`, `mv_set`, `delete` (or `apply` of a [`KeyspaceOp`]) | ordered map from string keys to values of the five types, one causal context, reads by key, range and prefix |
//!
//! ```
//! use crdt_core::{OrSet, ReplicaId};
//!
//! let (a, b) = (ReplicaId::new(1), ReplicaId::new(2));
//! let mut left = OrSet::new();
//! let mut right = OrSet::new();
//! let d1 = left.insert(a, "milk".to_string());
//! right.apply_delta(&d1);
//! // Concurrently: `left` re-adds milk while `right` removes the milk it saw.
//! let d2 = left.insert(a, "milk".to_string());
//! let d3 = right.remove(&"milk".to_string());
//! left.apply_delta(&d3);
//! right.apply_delta(&d2);
//! // Add wins: the re-add was not observed by the remove.
//! assert!(left.contains(&"milk".to_string()));
//! assert_eq!(left, right);
//! ```
#![forbid(unsafe_code)]

mod causal_context;
pub mod codec;
mod crdt;
mod delta_crdt;
mod dot;
mod dot_store;
mod dots;
mod error;
mod gcounter;
mod keyspace;
mod lww_register;
mod memory;
mod mv_register;
mod op;
mod orset;
mod orset_delta;
mod pncounter;
mod ranges;
mod replica_id;
mod retirement;
#[cfg(feature = "sabotage")]
pub mod sabotage;
mod timestamp;
mod vec_map;
mod version_vector;

pub use causal_context::CausalContext;
pub use crdt::Crdt;
pub use delta_crdt::DeltaCrdt;
pub use dot::Dot;
pub use error::CoreError;
pub use gcounter::GCounter;
pub use keyspace::{Keyspace, KeyspaceOp, Value, ValueOp, ValueRef, ValueType, KEY_BYTES_MAX};
pub use lww_register::{DiscardedWrite, LwwRegister, MergeReport};
pub use mv_register::MvRegister;
pub use op::{GCounterOp, LwwOp, MvOp, OrSetOp, PnCounterOp};
pub use orset::OrSet;
pub use orset_delta::OrSetDelta;
pub use pncounter::PnCounter;
pub use replica_id::ReplicaId;
pub use retirement::{Held, Retire, RetireFns, Retirement};
pub use timestamp::Timestamp;
pub use version_vector::VersionVector;
