//! Messages above `Config::message_bytes_max`, sent as numbered fragments.
//!
//! A delta interval, repair or digest can be larger than one message may be (one
//! `OrSet::clear()` on a large set; the whole state for a new peer). Such a message is
//! encoded once and cut into fragments under the limit; the receiver joins them and
//! handles the message only when it is complete, so it is applied whole and in causal
//! order like any other. The sender keeps at most [`FRAGMENT_WINDOW`] fragments
//! unacknowledged and resends from the first unacknowledged one after a tick without
//! progress. Memory: the encoded message at the sender, the fragments so far at the
//! receiver, both bounded by `Config::transfer_bytes_max`.

use crate::message::{Address, Message};
use crate::{Leader, SyncError, Transmit};
use crdt_core::{DeltaCrdt, ReplicaId};

/// Fragments sent ahead of the receiver's acknowledgement.
pub(crate) const FRAGMENT_WINDOW: u32 = 4;

/// Header bytes a fragment needs besides its data (envelope, ids, incarnations,
/// transfer numbers, length, checksum), rounded up.
const FRAGMENT_OVERHEAD: usize = 96;

/// A message on its way out in fragments.
#[derive(Debug, Clone)]
struct Outgoing {
    id: u64,
    /// The whole encoded message (sealed).
    bytes: Vec<u8>,
    part_bytes: usize,
    count: u32,
    /// Fragments `0..acked` are held by the receiver.
    acked: u32,
    /// The next fragment to send.
    next: u32,
    /// `acked` at the last tick (no progress since: resend).
    acked_at_tick: u32,
}

/// A message coming in fragments.
#[derive(Debug, Clone)]
struct Incoming {
    id: u64,
    count: u32,
    total: u64,
    bytes: Vec<u8>,
    /// Fragments `0..received` are here.
    received: u32,
}

/// The transfers in fragments between this leader and one peer.
#[derive(Debug, Clone)]
pub(crate) struct Transfers {
    /// A message to the peer on its way in fragments.
    outgoing: Option<Outgoing>,
    /// The number of the last transfer started to the peer.
    next_id: u64,
    /// A message from the peer coming in fragments.
    incoming: Option<Incoming>,
    /// A fragment acknowledgement is due: `(transfer, fragments held)`.
    ack_due: Option<(u64, u32)>,
}

impl Transfers {
    pub(crate) fn new() -> Self {
        Self {
            outgoing: None,
            next_id: 0,
            incoming: None,
            ack_due: None,
        }
    }

    /// None under way, numbered on from these (the peer took a new incarnation).
    pub(crate) fn continued(&self) -> Self {
        Self {
            next_id: self.next_id,
            ..Self::new()
        }
    }

    /// A message goes out in fragments: what must follow it waits.
    pub(crate) fn sending(&self) -> bool {
        self.outgoing.is_some()
    }

    /// Takes the fragment acknowledgement due, if any: `(transfer, fragments held)`.
    pub(crate) fn take_ack(&mut self) -> Option<(u64, u32)> {
        self.ack_due.take()
    }
}

impl<C: DeltaCrdt> Leader<C> {
    /// Starts sending `payload` (too large for one message) to `to` in fragments.
    /// Returns `false` if it exceeds `transfer_bytes_max` (it is not sent).
    pub(crate) fn start_transfer(&mut self, to: ReplicaId, payload: Vec<u8>) -> bool {
        if payload.len() > self.config.transfer_bytes_max {
            return false;
        }
        let part_bytes = self
            .config
            .message_bytes_max
            .saturating_sub(FRAGMENT_OVERHEAD)
            .max(1);
        let Ok(count) = u32::try_from(payload.len().div_ceil(part_bytes)) else {
            return false;
        };
        let Some(peer) = self.peers.get_mut(&to) else {
            return false;
        };
        let transfers = &mut peer.transfers;
        transfers.next_id += 1;
        transfers.outgoing = Some(Outgoing {
            id: transfers.next_id,
            bytes: payload,
            part_bytes,
            count,
            acked: 0,
            next: 0,
            acked_at_tick: 0,
        });
        self.metrics.transfers_sent += 1;
        true
    }

    /// The next fragment due to `to`, if a transfer is under way and the window allows.
    pub(crate) fn next_fragment(&mut self, to: ReplicaId) -> Option<Transmit> {
        let inc = self.incarnation;
        let peer = self.peers.get_mut(&to)?;
        let out = peer.transfers.outgoing.as_mut()?;
        if out.next >= out.count || out.next >= out.acked.saturating_add(FRAGMENT_WINDOW) {
            return None;
        }
        let index = out.next;
        out.next += 1;
        let start = index as usize * out.part_bytes;
        let end = (start + out.part_bytes).min(out.bytes.len());
        let msg = Message::<C>::Fragment {
            inc,
            transfer: out.id,
            index,
            count: out.count,
            total: out.bytes.len() as u64,
            bytes: out.bytes[start..end].to_vec(),
        };
        let addr = Address {
            from: self.id,
            to,
            to_inc: peer.inc(),
        };
        let version = self.config.protocol_version().min(peer.version_max());
        let payload = msg.encode(&addr, version, self.config.protocol_version());
        self.metrics.fragments_sent += 1;
        Some(Transmit { to, payload })
    }

    /// A tick: a transfer without progress since the last one resends from its first
    /// unacknowledged fragment.
    pub(crate) fn tick_transfers(&mut self) {
        for peer in self.peers.values_mut() {
            if let Some(out) = peer.transfers.outgoing.as_mut() {
                if out.acked == out.acked_at_tick && out.next > out.acked {
                    out.next = out.acked;
                }
                out.acked_at_tick = out.acked;
            }
        }
    }

    /// The receiver holds fragments `0..received` of transfer `id`.
    pub(crate) fn on_fragment_ack(&mut self, from: ReplicaId, id: u64, received: u32) {
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        let Some(out) = peer.transfers.outgoing.as_mut() else {
            return;
        };
        if out.id != id {
            self.metrics.stale_messages += 1;
            return;
        }
        let before = out.acked;
        out.acked = out.acked.max(received.min(out.count));
        out.next = out.next.max(out.acked);
        let (progress, done) = (out.acked > before, out.acked == out.count);
        if done {
            peer.transfers.outgoing = None;
        }
        if progress {
            // The receiver holds more of our message: our stream progresses.
            peer.backoff.progressed();
        }
    }

    /// A fragment of transfer `id` from `from`: kept if it is the next one, and the
    /// whole message handled once complete.
    ///
    /// # Errors
    /// [`SyncError::TransferTooLarge`] for a transfer above `transfer_bytes_max`;
    /// [`SyncError::Protocol`] for fragments that contradict their transfer; the
    /// completed message's own error.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_fragment(
        &mut self,
        from: ReplicaId,
        id: u64,
        index: u32,
        count: u32,
        total: u64,
        bytes: &[u8],
        admission: Option<&mut dyn crate::admission::Admission<C>>,
    ) -> Result<(), SyncError> {
        let max = self.config.transfer_bytes_max;
        if total > max as u64 {
            return Err(SyncError::TransferTooLarge {
                bytes: total,
                max: max as u64,
            });
        }
        let Some(peer) = self.peers.get_mut(&from) else {
            return Err(SyncError::UnknownPeer(from));
        };
        let transfers = &mut peer.transfers;
        let fresh = match &transfers.incoming {
            Some(t) if t.id == id => {
                if t.count != count || t.total != total {
                    return Err(SyncError::Protocol {
                        peer: from,
                        reason: "fragments of one transfer disagree on its size",
                    });
                }
                false
            }
            // An older transfer's fragment (the sender moved on): ignore.
            Some(t) if t.id > id => {
                self.metrics.stale_messages += 1;
                return Ok(());
            }
            _ => true,
        };
        if fresh {
            transfers.incoming = Some(Incoming {
                id,
                count,
                total,
                bytes: Vec::new(),
                received: 0,
            });
        }
        let Some(t) = transfers.incoming.as_mut() else {
            return Ok(());
        };
        transfers.ack_due = Some((id, t.received));
        if index != t.received {
            // Early (one before it was lost) or a duplicate: the acknowledgement
            // tells the sender where to resume.
            self.metrics.stale_messages += 1;
            return Ok(());
        }
        if t.bytes.len() as u64 + bytes.len() as u64 > total
            || (index + 1 == count) != (t.bytes.len() as u64 + bytes.len() as u64 == total)
        {
            return Err(SyncError::Protocol {
                peer: from,
                reason: "fragments do not add up to their transfer's length",
            });
        }
        // Grow geometrically but never past the transfer's length (proven only as the
        // fragments arrive: one fragment never reserves the whole claimed length).
        let want = t.bytes.len() + bytes.len();
        if t.bytes.capacity() < want {
            let target = (t.bytes.len() * 2).max(want).min(total as usize);
            t.bytes.reserve_exact(target - t.bytes.len());
        }
        t.bytes.extend_from_slice(bytes);
        t.received += 1;
        transfers.ack_due = Some((id, t.received));
        if t.received < count {
            return Ok(());
        }
        let whole = core::mem::take(&mut t.bytes);
        self.metrics.transfers_received += 1;
        let (body, checked_to) =
            crate::message::open(&whole, C::TYPE_TAG, [self.id]).ok_or(SyncError::Corrupt)?;
        let limits = self.config.decode.with_max_bytes(max);
        let (_, addr, msg) = Message::<C>::decode(body, &limits, checked_to)?;
        if matches!(msg, Message::Fragment { .. } | Message::FragmentAck { .. }) {
            return Err(SyncError::Protocol {
                peer: from,
                reason: "a transfer that carries a fragment",
            });
        }
        self.receive_decoded(from, addr, msg, admission)
    }
}
