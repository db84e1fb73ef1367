//! Counters of what a leader did.

use crdt_core::ReplicaId;
use std::collections::BTreeMap;

/// What a leader has sent, received and buffered. Counters only grow; the buffer
/// figures and lags are current values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Bytes handed out by `poll_transmit`.
    pub bytes_sent: u64,
    /// Messages handed out by `poll_transmit`.
    pub messages_sent: u64,
    /// Bytes passed to `receive`.
    pub bytes_received: u64,
    /// Messages passed to `receive`.
    pub messages_received: u64,
    /// Delta-interval messages sent.
    pub deltas_sent: u64,
    /// Repair messages sent (each carries what one peer lacked, at most a full state).
    pub repairs_sent: u64,
    /// Bytes of repair messages sent.
    pub repair_bytes_sent: u64,
    /// Repairs that were sent as the full state because that was smaller.
    pub full_state_sends: u64,
    /// Messages rejected by `receive` with an error.
    pub rejected_messages: u64,
    /// Messages ignored as outdated (an earlier incarnation of their sender, or
    /// intervals received already).
    pub stale_messages: u64,
    /// Messages addressed to another leader (rejected with
    /// [`SyncError::Misdelivered`](crate::SyncError::Misdelivered)).
    pub misdelivered: u64,
    /// Echoes of this leader's own messages (a transport delivered them back to their
    /// sender): ignored.
    pub echoes: u64,
    /// Digests showing a peer with the same summary but a different state (content
    /// lost or damaged without a trace in its causal context) while nothing could be
    /// on its way between the two (see the crate docs); each triggered an exchange of
    /// full states that makes both equal. A remove still on its way, which shows the
    /// same mismatch for a while, is not counted unless it outlasts that wait.
    pub divergences: u64,
    /// Writes the merges of what peers sent hid by last-writer-wins although they
    /// were concurrent with the winner
    /// ([`DeltaCrdt::concurrent_discards`](crdt_core::DeltaCrdt::concurrent_discards)):
    /// LWW's silent losses, made visible.
    pub concurrent_discards: u64,
    /// Intervals that did not connect to what was received before (a gap): they were
    /// not applied, and a repair was requested.
    pub gaps: u64,
    /// Times the delta buffer exceeded `buffer_bytes_max` and its oldest deltas were
    /// dropped (down to half the limit).
    pub buffer_overflows: u64,
    /// Messages that could not be sent because they exceed `transfer_bytes_max` (larger
    /// than `message_bytes_max` alone, they go in fragments).
    pub unsendable: u64,
    /// Messages above `message_bytes_max` sent in fragments.
    pub transfers_sent: u64,
    /// Fragments sent (retransmissions included).
    pub fragments_sent: u64,
    /// Messages received whole from fragments.
    pub transfers_received: u64,
    /// Probes (after a restore or a displacement) finished after
    /// `Config::probe_timeout_ticks` ticks with the answers at hand, because a peer
    /// had not answered: a peer unreachable for that long (a restored leader next to
    /// one it can never reach writes again, see [`Leader::restore`](crate::Leader::restore)).
    pub probes_timed_out: u64,
    /// Messages refused because their content holds writes of a retired writer beyond
    /// its retirement record, and causal-token entries dropped because they claim
    /// such writes (`docs/RETIREMENT.md` §5.2: a fenced write, made by a stale copy of
    /// a writer after it was certified final; never merged).
    pub retired_writes: u64,
    /// Deltas and repairs not merged because they were computed after a retirement
    /// epoch this leader has not committed yet (their sender retransmits them).
    pub ahead_of_epoch: u64,
    /// Deltas now in the buffer.
    pub deltas_buffered: u64,
    /// Memory of the deltas now in the buffer, in bytes: each delta's slot and heap
    /// ([`DeltaCrdt::heap_bytes`](crdt_core::DeltaCrdt::heap_bytes)), what
    /// `buffer_bytes_max` bounds (the buffer queue's spare slots, at most three times
    /// the slots in use, are not included).
    pub buffered_bytes: u64,
    /// For each peer, how many updates (mutations, by causal token) it is known to
    /// miss: the sum over writers of how far our token is ahead of the peer's last token.
    pub peer_lag: BTreeMap<ReplicaId, u64>,
}
