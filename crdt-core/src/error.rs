//! Errors of local operations.

use crate::{ReplicaId, ValueType};

/// Why a local mutation was refused. The state is unchanged when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// A counter cannot grow further without overflowing `u64`.
    #[error("counter of replica {replica} would exceed u64::MAX, so the change was refused and the counter is unchanged: spread larger totals over several counters")]
    CounterOverflow {
        /// The replica whose entry would overflow.
        replica: ReplicaId,
    },
    /// The replica has issued every dot counter up to `u64::MAX`.
    #[error("replica id {replica} has used every dot counter up to u64::MAX (only forged or corrupt input gets there): write under a fresh replica id")]
    DotsExhausted {
        /// The exhausted replica id.
        replica: ReplicaId,
    },
    /// The register's hybrid logical clock is at its maximum and cannot order a new write after it.
    #[error("the register's timestamp is at its maximum, so no later write can be ordered: replace the register and stop accepting writes from the peer whose clock ran ahead")]
    ClockExhausted,
    /// A write of one type to a keyspace key that holds another.
    #[error("key {key:?} holds a {existing}, not a {attempted}: write it with {existing} operations, or delete the key first")]
    KeyTypeMismatch {
        /// The key.
        key: String,
        /// The type the key holds (the smallest, in a type conflict).
        existing: ValueType,
        /// The type of the refused write.
        attempted: ValueType,
    },
    /// A retirement record that cannot be applied as given.
    #[error("cannot retire writer {retired}: {reason}; build the record with another collapse id or range")]
    InvalidRetirement {
        /// The writer the record retires.
        retired: ReplicaId,
        /// What is wrong with the record.
        reason: &'static str,
    },
    /// A value holds more of a retired writer than its record: the retirement was
    /// decided on holdings that were not final.
    #[error("holds writes of retired writer {retired} beyond its record (counter {found} > {last}), so the retirement was refused and the value is unchanged: do not commit a record whose holdings some replica exceeds")]
    NotFinal {
        /// The retired writer.
        retired: ReplicaId,
        /// The highest dot counter (or counter contribution) the record accounts for.
        last: u64,
        /// What the value holds beyond it (0: a dot the collapse range cannot name).
        found: u64,
    },
    /// A keyspace key longer than [`KEY_BYTES_MAX`](crate::KEY_BYTES_MAX).
    #[error("key of {bytes} bytes is longer than the {max} bytes a keyspace accepts: use a shorter key (e.g. a hash of the long one)")]
    KeyTooLong {
        /// The key's length in bytes.
        bytes: usize,
        /// The most accepted.
        max: usize,
    },
}
