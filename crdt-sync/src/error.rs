//! Errors of the protocol engine.

use crdt_core::codec::DecodeError;
use crdt_core::ReplicaId;

/// Why a leader refused an input or an operation. When one is returned from
/// [`Leader::receive`](crate::Leader::receive) the leader is unchanged (apart from
/// metrics counting the rejection).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The payload is not a valid message (truncated, corrupt, hostile, of another
    /// protocol version or CRDT type).
    #[error("malformed message: {0}")]
    Decode(#[from] DecodeError),
    /// The payload is larger than `Config::message_bytes_max`.
    #[error("message of {bytes} bytes exceeds message_bytes_max ({max}): the peer is misconfigured or hostile; raise the limit on every leader if such messages are legitimate")]
    MessageTooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The message's or snapshot's checksum does not match: corrupted in transit or storage.
    #[error("checksum mismatch: the message or snapshot was corrupted in transit or storage; it was dropped (a message is retransmitted)")]
    Corrupt,
    /// A message from a leader that is not a peer.
    #[error("message from {0}, which is not a peer of this leader: call add_peer first, or drop traffic from unknown leaders")]
    UnknownPeer(ReplicaId),
    /// `add_peer` beyond `Config::peers_max`.
    #[error("cannot add more than peers_max ({max}) peers: raise Config::peers_max or use a sparser topology (updates are relayed across hops)")]
    TooManyPeers {
        /// The limit.
        max: usize,
    },
    /// `add_peer` with the leader's own id.
    #[error("a leader cannot be its own peer")]
    SelfPeer,
    /// Another live leader issues updates under this leader's id (or this leader was
    /// restored from a snapshot that another copy of it outlived). Local writes are
    /// refused from now on, so no update is ever issued twice under one id.
    #[error("replica id conflict: another leader issued updates under id {replica} that this leader never made (a second live leader shares the id, or a stale copy of this leader is running): stop this leader and restart it under a fresh ReplicaId")]
    ReplicaIdConflict {
        /// The id (this leader's current writer id) that is shared.
        replica: ReplicaId,
    },
    /// A restored leader is still asking its peers for the newest incarnation they have
    /// seen of it, so that it can write under a fresh one.
    #[error("this leader was restored and is still asking its peers which incarnations of it they have seen: keep delivering messages and ticking; remove peers that are gone for good")]
    Restoring,
    /// The operating system gave no random bytes for a restore's nonce.
    #[error("the operating system gave no entropy for the restored incarnation's nonce: retry, or pass 64 random bits to Leader::restore_with_nonce")]
    NoEntropy,
    /// Writes after [`Leader::restore`](crate::Leader::restore) wait for a snapshot.
    #[error("this leader was restored and has not persisted its new incarnation yet: call snapshot(), store the bytes durably, then write")]
    SnapshotRequired,
    /// A message contradicts what this leader sent (e.g. an acknowledgement of an
    /// update never sent): the peer is corrupt or hostile.
    #[error("protocol violation by {peer}: {reason}")]
    Protocol {
        /// The peer.
        peer: ReplicaId,
        /// What was wrong.
        reason: &'static str,
    },
}
