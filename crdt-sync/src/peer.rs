//! What a leader knows about one peer.

use crate::Incarnation;
use crdt_core::VersionVector;

/// A leader's view of one peer. All sequence numbers are the *sender's*: `acked` and
/// `sent` count this leader's deltas, `received` the peer's.
#[derive(Debug, Clone)]
pub(crate) struct Peer<S> {
    /// The peer's incarnation, once heard from.
    pub(crate) inc: Option<Incarnation>,
    /// Our deltas `1..=acked` are merged at the peer.
    pub(crate) acked: u64,
    /// Our deltas up to `sent` went out (in intervals not yet presumed lost): the next
    /// interval starts after it, so deltas in flight are not sent again until a
    /// retransmission (`tick`) resets it to `acked`.
    pub(crate) sent: u64,
    /// Our deltas up to `examined` were sent or found to be nothing the peer lacks (its
    /// own, or covered by its token): they wait for the next interval or retransmission.
    pub(crate) examined: u64,
    /// The next interval goes out even if it carries nothing the peer lacks, so the
    /// peer acknowledges (and the buffer is collected) past deltas it never needed.
    pub(crate) flush: bool,
    /// The peer's deltas `1..=received` are merged here; `None` until we may accept
    /// its intervals (a restarted or late-joining peer repairs us first).
    pub(crate) received: Option<u64>,
    /// The peer's last summary.
    pub(crate) summary: Option<S>,
    /// The peer's last causal token.
    pub(crate) token: VersionVector,
    /// An acknowledgement is due.
    pub(crate) owe_ack: bool,
    /// A digest is due, with these flags (`Some(0)` for a plain digest).
    pub(crate) owe_digest: Option<u8>,
    /// A repair is due (sent once the peer's summary is known).
    pub(crate) owe_repair: bool,
    /// The buffer head of the first copy of the repair in flight (resent copies carry
    /// newer heads), until an acknowledgement reaches it.
    pub(crate) repair_in_flight: Option<u64>,
    /// While a repair waits to be resent: the head of its first copy.
    pub(crate) repair_floor: Option<u64>,
    /// Our summary when the repair in flight was made, and once acknowledged, the
    /// summary the peer is known to cover: a request for a repair in a digest whose
    /// summary does not cover it was made before that repair arrived (stale).
    pub(crate) repair_summary: Option<S>,
    pub(crate) repaired: Option<S>,
    /// We could not apply the peer's intervals (restart, gap, late join) and wait for a
    /// repair from it.
    pub(crate) need_repair: bool,
    /// We asked for the peer's digest this round (to repair it).
    pub(crate) summary_requested: bool,
    /// Ticks to wait between retransmissions: 1, doubling while nothing is
    /// acknowledged (an unreachable peer is not flooded), back to 1 on progress.
    pub(crate) backoff: u32,
    /// Ticks since the last retransmission or progress.
    pub(crate) idle: u32,
    /// The last interval sent was cut to fit a message: continue after its
    /// acknowledgement instead of waiting for the next tick.
    pub(crate) cut: bool,
    /// The token sent with the last complete interval, and that interval's end: once
    /// the peer acknowledges it, the peer is known to have that token.
    pub(crate) token_in_flight: Option<(u64, VersionVector)>,
    /// The peer probed our incarnation and awaits the answer (`Some(probe id)`), or sent
    /// a stale message (a newer incarnation of it exists) and gets the answer as a
    /// displacement notice (`Some(0)`).
    /// With the incarnation of the peer to address it to: the prober's, or the stale
    /// copy's.
    pub(crate) owe_probe_reply: Option<(u32, Option<Incarnation>)>,
    /// The incarnation the probe reply being encoded is addressed to.
    pub(crate) reply_to: Option<Incarnation>,
    /// The peer's incarnation before it restarted (the copy displacement notices are
    /// for).
    pub(crate) previous_inc: Option<Incarnation>,
    /// Displacement notices still to send, one per tick, after the peer took a new
    /// incarnation: an older copy of it that fell silent (a second process behind the
    /// same address) learns that it was displaced even if it sends nothing stale.
    pub(crate) notices_left: u8,
    /// While we probe after a restore: the peer's answer, once received.
    pub(crate) probe_reply: Option<Option<Incarnation>>,
    /// An interval from this peer could not be applied (a gap) since the last tick.
    pub(crate) gap_seen: bool,
    /// A gap was seen before the last tick and nothing was applied since: the next gap
    /// asks for a repair (the gap is not closing by itself, e.g. another copy of us
    /// acknowledged in our place).
    pub(crate) gap_ticked: bool,
    /// The first tick with this peer is past (see `Leader::tick`).
    pub(crate) greeted: bool,
    /// While we probe: a probe went to this peer this round.
    pub(crate) probe_sent: bool,
    /// The highest protocol version the peer announced (ours until it did).
    pub(crate) version_max: u8,
    /// A message to the peer on its way in fragments.
    pub(crate) outgoing: Option<crate::transfer::Outgoing>,
    /// The number of the last transfer started to the peer.
    pub(crate) next_transfer: u64,
    /// A message from the peer coming in fragments.
    pub(crate) incoming: Option<crate::transfer::Incoming>,
    /// A fragment acknowledgement is due: `(transfer, fragments held)`.
    pub(crate) owe_fragment_ack: Option<(u64, u32)>,
    /// Our whole state is due (the peer's content differs at an equal summary).
    pub(crate) owe_full_state: bool,
    /// Our buffer head and summary when the peer's last digest arrived: once it has
    /// acknowledged that head, its summary must cover that summary.
    pub(crate) lag_mark: Option<(u64, S)>,
    /// A repair was requested from the peer this tick (at most one per tick).
    pub(crate) repair_asked: bool,
    /// A divergence with the peer was acted on this tick (at most once per tick).
    pub(crate) full_state_asked: bool,
    /// The peer acknowledged something new since the last tick.
    pub(crate) progressed_since_tick: bool,
}

/// The longest wait between retransmissions, in ticks.
pub(crate) const BACKOFF_MAX_TICKS: u32 = 8;

/// Displacement notices sent after a peer's incarnation changed (see `notices_left`).
pub(crate) const NOTICES_AFTER_RESTART: u8 = 4;

impl<S> Peer<S> {
    pub(crate) fn new() -> Self {
        Self {
            inc: None,
            acked: 0,
            sent: 0,
            examined: 0,
            flush: false,
            received: None,
            summary: None,
            token: VersionVector::new(),
            owe_ack: false,
            owe_digest: None,
            owe_repair: false,
            repair_in_flight: None,
            repair_floor: None,
            repair_summary: None,
            repaired: None,
            need_repair: false,
            summary_requested: false,
            backoff: 1,
            idle: 0,
            cut: false,
            token_in_flight: None,
            owe_probe_reply: None,
            reply_to: None,
            previous_inc: None,
            notices_left: 0,
            probe_reply: None,
            gap_seen: false,
            greeted: false,
            gap_ticked: false,
            probe_sent: false,
            version_max: crate::PROTOCOL_VERSION,
            outgoing: None,
            next_transfer: 0,
            incoming: None,
            owe_fragment_ack: None,
            owe_full_state: false,
            lag_mark: None,
            repair_asked: false,
            full_state_asked: false,
            progressed_since_tick: false,
        }
    }

    /// Forgets everything tied to the peer's previous incarnation.
    pub(crate) fn reset(&mut self, inc: Incarnation) {
        // Its token too: a peer restored from a stale checkpoint lost entries it had.
        let (version_max, next_transfer) = (self.version_max, self.next_transfer);
        *self = Self::new();
        self.inc = Some(inc);
        self.version_max = version_max;
        self.next_transfer = next_transfer;
    }

    /// Counts a tick; returns whether unacknowledged messages are due again: never
    /// after a tick in which the peer acknowledged something new (what is in flight
    /// is then presumably on its way), else after 1, 2, 4, up to 8 idle ticks.
    pub(crate) fn retransmit_due(&mut self) -> bool {
        if core::mem::take(&mut self.progressed_since_tick) {
            self.idle = 0;
            return false;
        }
        self.idle += 1;
        if self.idle < self.backoff {
            return false;
        }
        self.idle = 0;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX_TICKS);
        true
    }

    /// The peer acknowledged something new: retransmit promptly again.
    pub(crate) fn progressed(&mut self) {
        self.backoff = 1;
        self.idle = 0;
        self.progressed_since_tick = true;
    }

    /// We cannot apply the peer's intervals and need a repair from it: ask, at most
    /// once per tick (a burst of out-of-order intervals makes one request, not many).
    pub(crate) fn ask_repair(&mut self) {
        self.need_repair = true;
        if !self.repair_asked {
            self.repair_asked = true;
            self.request_digest(crate::message::FLAG_REPAIR_ME);
        }
    }

    pub(crate) fn request_digest(&mut self, flags: u8) {
        self.owe_digest = Some(self.owe_digest.unwrap_or(0) | flags);
    }
}
