//! The errors of a node, each with what to do about it.

use std::path::PathBuf;

/// Why a node refused a request or could not start. Each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A document name, key or value is not acceptable (charset, empty).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was invalid ("document name", "key", "token", ...).
        what: &'static str,
        /// Why, and what is accepted.
        reason: String,
    },
    /// A document name, key, value or body is over its limit.
    #[error("{what} of {bytes} bytes exceeds the limit of {max} bytes: send a smaller one")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A write of one type to a key that holds another.
    #[error("key {key:?} holds type {existing}, not {attempted}: write it with its own type, or delete it first")]
    TypeMismatch {
        /// The key.
        key: String,
        /// The type it holds, as the HTTP API names it (`gcounter`, `pncounter`,
        /// `orset`, `lww`, `mvreg`).
        existing: String,
        /// The type written, named the same way.
        attempted: String,
    },
    /// The document's leader has not yet seen every write a causal token names.
    #[error("not yet: this leader has not received every write the token names; retry later or with a longer wait")]
    NotYet,
    /// The document cannot take writes now (restoring after a restart, replica-id
    /// conflict): a later attempt may succeed.
    #[error("cannot write now: {0}")]
    Unavailable(String),
    /// The write cannot apply to the key's current state, however often it is retried
    /// (a counter that would overflow).
    #[error("write refused: {0}")]
    Refused(String),
    /// No such document.
    #[error("no document named {0:?}")]
    NoSuchDocument(String),
    /// The data directory cannot be used.
    #[error("data directory {path}: {reason}")]
    DataDir {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// A commit to the store failed: the write is not acknowledged.
    #[error("store {path}: commit failed ({reason}); the write was not acknowledged: check the disk, then retry")]
    Storage {
        /// The store file.
        path: PathBuf,
        /// The store's error.
        reason: String,
    },
    /// Bad configuration.
    #[error("configuration: {0}")]
    Config(String),
    /// A socket could not be bound or used.
    #[error("network: {0}")]
    Io(String),
    /// The node has shut down.
    #[error("the node has shut down")]
    Shutdown,
}
