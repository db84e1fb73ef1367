//! Errors of the protocol engine.

use crdt_core::codec::DecodeError;
use crdt_core::{CoreError, ReplicaId};

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
    #[error("message of {bytes} bytes exceeds message_bytes_max ({max}): give every leader the same limit")]
    MessageTooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The message's or checkpoint's checksum does not match: corrupted in transit or storage.
    #[error("checksum mismatch: the message or checkpoint was corrupted in transit or storage; it was dropped (a message is retransmitted)")]
    Corrupt,
    /// The message is addressed to another leader: the transport delivered it to the
    /// wrong one (a reused address, a stale route). Dropped, and counted in
    /// [`Metrics::misdelivered`](crate::Metrics::misdelivered).
    #[error("message for leader {to} delivered to leader {at}: fix the transport's routing (a reused or stale address)")]
    Misdelivered {
        /// The leader it was addressed to.
        to: ReplicaId,
        /// This leader.
        at: ReplicaId,
    },
    /// The message is encoded in a protocol version this leader does not read. Its
    /// sender's highest version is remembered: the next messages to it are readable,
    /// so the exchange recovers at the next retransmission.
    #[error("peer {peer} sent protocol version {version}, this leader reads up to {max}: it answers in a version both speak")]
    UnsupportedVersion {
        /// The sender.
        peer: ReplicaId,
        /// The message's version.
        version: u8,
        /// The highest version this leader reads.
        max: u8,
    },
    /// The peer speaks no protocol version this leader accepts.
    #[error("peer {peer} speaks protocol versions up to {version}, below this build's minimum {min}: upgrade that leader")]
    PeerTooOld {
        /// The peer.
        peer: ReplicaId,
        /// Its highest version.
        version: u8,
        /// The lowest version this build speaks.
        min: u8,
    },
    /// A message in fragments is larger than `Config::transfer_bytes_max`.
    #[error("a transfer of {bytes} bytes exceeds transfer_bytes_max ({max}): raise the limit on every leader if states this large are legitimate")]
    TransferTooLarge {
        /// Its size.
        bytes: u64,
        /// The limit.
        max: u64,
    },
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
    /// restored from a checkpoint that another copy of it outlived). Local writes are
    /// refused from now on, so no update is ever issued twice under one id.
    #[error("another process writes under replica id {replica}: stop this leader and restart it under a fresh ReplicaId")]
    ReplicaIdConflict {
        /// The id (this leader's current writer id) that is shared.
        replica: ReplicaId,
    },
    /// A restored leader is still asking its peers for the newest incarnation they have
    /// seen of it, so that it can write under a fresh one.
    #[error("restored leader still probing its peers: keep delivering messages and ticking, and remove peers gone for good")]
    Restoring,
    /// The operating system gave no random bytes for a new or restored leader's nonce.
    #[error("the operating system gave no entropy for the incarnation's nonce: retry, or pass 64 random bits to Leader::with_nonce or Leader::restore_with_nonce")]
    NoEntropy,
    /// Writes after [`Leader::restore`](crate::Leader::restore) wait for a persisted
    /// checkpoint of the new incarnation.
    #[error("this restored leader has not persisted its new incarnation: store Leader::checkpoint() durably, pass it to Leader::persisted, then write")]
    CheckpointRequired,
    /// [`Leader::persisted`](crate::Leader::persisted) was given another leader's
    /// checkpoint.
    #[error("this checkpoint belongs to another leader id: pass each leader its own checkpoints")]
    ForeignCheckpoint,
    /// The replicated type refused a local operation (a counter would overflow, a
    /// replica id or clock is exhausted); nothing was written.
    #[error("write refused: {0}")]
    Refused(#[from] CoreError),
    /// An untrusted peer's message carries updates its [`Admission`](crate::Admission)
    /// refused (e.g. new dots of a writer it does not own): nothing was changed.
    #[error("peer {peer} sent updates of writer {writer}, which it may not introduce: the message was refused")]
    NotAdmitted {
        /// The peer.
        peer: ReplicaId,
        /// The first writer whose updates were refused.
        writer: ReplicaId,
    },
    /// A peer sent writes of a retired writer beyond its final holdings (a stale copy
    /// of the writer wrote after it was certified final): nothing was merged, and the
    /// message is counted in [`Metrics::retired_writes`](crate::Metrics::retired_writes).
    #[error("peer {peer} sent writes of writer {writer}, retired in epoch {epoch}, beyond its final holdings: the message was refused (stop whatever still writes under {writer})")]
    RetiredWriter {
        /// The peer.
        peer: ReplicaId,
        /// The retired writer.
        writer: ReplicaId,
        /// The epoch that retired it.
        epoch: u64,
    },
    /// [`Leader::commit_retirement`](crate::Leader::commit_retirement) refused a
    /// batch; the leader is unchanged.
    #[error("retirement batch of epoch {epoch} refused: {reason}")]
    RetirementRefused {
        /// The batch's epoch.
        epoch: u64,
        /// Why.
        reason: &'static str,
    },
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
