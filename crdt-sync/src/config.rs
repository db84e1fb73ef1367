//! Explicit limits and timing of a leader.

use crate::{PROTOCOL_VERSION, PROTOCOL_VERSION_MIN};
use crdt_core::codec::DecodeLimits;
use crdt_core::ReplicaId;

/// The most ticks between digests to a lazy peer
/// ([`Leader::set_peer_lazy`](crate::Leader::set_peer_lazy)), whatever
/// `Config::digest_interval_ticks` says (0, periodic digests off, included): a lazy
/// peer is repaired only through digests, so they bound how long it may lack a write
/// the eager links do not bring.
pub const LAZY_DIGEST_INTERVAL_TICKS: u32 = 8;

/// A leader's limits. Every quantity that grows from input is bounded here; each bound
/// is checked at the edge and tested.
///
/// | limit | default | on excess |
/// |---|---|---|
/// | `message_bytes_max` | 16 MiB | incoming: rejected with [`SyncError::MessageTooLarge`](crate::SyncError::MessageTooLarge); outgoing: intervals are cut to fit, and a single delta or repair that cannot fit is not sent (counted in [`Metrics::unsendable`](crate::Metrics::unsendable)) |
/// | `buffer_bytes_max` | 64 MiB | the oldest buffered deltas are dropped down to half the limit, and only peers that still needed them are repaired from summaries (it bounds the deltas' **memory**, see below) |
/// | `peers_max` | 1,024 | [`Leader::add_peer`](crate::Leader::add_peer) fails with [`SyncError::TooManyPeers`](crate::SyncError::TooManyPeers) |
/// | `decode` | [`DecodeLimits::DEFAULT`] (its `max_bytes` is replaced by `message_bytes_max`) | a message is rejected with [`SyncError::Decode`](crate::SyncError::Decode) |
///
/// `buffer_bytes_max` bounds the memory of the delta buffer: each delta counts its
/// queue slot plus its heap ([`DeltaCrdt::heap_bytes`](crdt_core::DeltaCrdt::heap_bytes),
/// an upper bound for the built-in types), not its encoded size, which for a small
/// delta is 8 to 20 times less (measured). A buffer full for a silent peer holds at most the
/// limit plus its queue's spare slots; `tests/tests/buffer_memory.rs` measures the
/// whole heap a silent peer costs (at most twice the limit plus the state's size: a
/// retransmission to it joins what it lacks). A peer silent for longer
/// than the limit lasts holds nothing back: once its deltas are dropped, the buffer is
/// collected up to the other peers' acknowledgements again, and it is repaired when it
/// returns. [`Metrics::buffered_bytes`](crate::Metrics::buffered_bytes) reports the
/// buffer's memory.
///
/// `digest_interval_ticks` (default 8) sets how often [`Leader::tick`](crate::Leader::tick)
/// sends each peer an unsolicited digest (summary and causal token), which refreshes lag
/// metrics and lets peers find state they lack; 0 disables periodic digests.
///
/// `probe_timeout_ticks` (default 16) bounds how long a restored (or displaced) leader
/// probes: after that many [`Leader::tick`](crate::Leader::tick)s without an answer
/// from every peer it finishes the probe with the answers at hand (counted in
/// [`Metrics::probes_timed_out`](crate::Metrics::probes_timed_out)), so a peer it can
/// never reach does not keep it from writing for ever. Every value is valid: 0 never
/// times out (the probe waits for every peer, or for
/// [`Leader::remove_peer`](crate::Leader::remove_peer) of the silent ones, as before
/// the timeout existed), 1 finishes at the first tick. A timeout is safe at any value:
/// the incarnation it takes has a nonce of its own, so its writer id is new, and a peer
/// that saw a newer incarnation displaces it later (see
/// [`Leader::restore`](crate::Leader::restore)). But a timeout that lands below an
/// incarnation a silent peer saw costs a displacement once that peer is reached, and
/// displacements are limited ([`DISPLACEMENTS_MAX`](crate::DISPLACEMENTS_MAX)), so keep
/// it well above a round trip. The default is twice the longest retransmission backoff
/// (8 ticks) while probes go out every tick: a peer silent for 16 round trips (0.8 s at
/// `crdt-leader`'s 50 ms ticks) is given up on. The fault simulator's liveness bound
/// (64 rounds) includes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The largest message sent or accepted, in bytes.
    pub message_bytes_max: usize,
    /// The most memory the buffered deltas take, in bytes (each delta's slot and
    /// heap, see the table above; not their encoded size).
    pub buffer_bytes_max: usize,
    /// The most peers.
    pub peers_max: usize,
    /// Ticks between unsolicited digests to each peer (0 = never).
    pub digest_interval_ticks: u32,
    /// Ticks a probe waits for every peer's answer before it finishes with the answers
    /// at hand (0 = waits for ever; see above).
    pub probe_timeout_ticks: u32,
    /// Bounds on decoded content (elements, replicas).
    pub decode: DecodeLimits,
    /// The highest protocol version to speak (at most [`PROTOCOL_VERSION`], at least
    /// [`PROTOCOL_VERSION_MIN`]; other values are clamped): pin it to the old version
    /// during a rolling upgrade until every leader runs the new build.
    pub protocol_version_max: u8,
    /// The largest message sent in fragments (one above `message_bytes_max` is split
    /// into fragments under it) or reassembled from them.
    pub transfer_bytes_max: usize,
    /// The writer id that retired writers collapse into (`docs/RETIREMENT.md` §2): the
    /// same on every leader of a group, and never the id of a leader (no process
    /// writes under it: a leader skips an incarnation whose derived writer id is this
    /// one). Default `2^53 - 1`.
    pub collapse: ReplicaId,
}

/// The default [`Config::collapse`]: `2^53 - 1`, the largest id JavaScript numbers hold
/// exactly.
pub const COLLAPSE_DEFAULT: ReplicaId = ReplicaId::new((1 << 53) - 1);

impl Config {
    /// The defaults (see the table above).
    pub const DEFAULT: Config = Config {
        message_bytes_max: 16 << 20,
        buffer_bytes_max: 64 << 20,
        peers_max: 1024,
        digest_interval_ticks: 8,
        probe_timeout_ticks: 16,
        decode: DecodeLimits::DEFAULT,
        protocol_version_max: PROTOCOL_VERSION,
        transfer_bytes_max: 1 << 30,
        collapse: COLLAPSE_DEFAULT,
    };

    /// The protocol version this leader speaks at most.
    pub(crate) fn protocol_version(&self) -> u8 {
        self.protocol_version_max
            .clamp(PROTOCOL_VERSION_MIN, PROTOCOL_VERSION)
    }

    pub(crate) fn decode_limits(&self) -> DecodeLimits {
        self.decode.with_max_bytes(self.message_bytes_max)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::DEFAULT
    }
}
