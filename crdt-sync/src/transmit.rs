//! Producing outgoing messages.

use crate::message::{Address, Message, FLAG_SEND_DIGEST};
use crate::peer::Push;
use crate::{Incarnation, Leader, Transmit};
use crdt_core::codec::Writer;
use crdt_core::{DeltaCrdt, ReplicaId, VersionVector};

impl<C: DeltaCrdt> Leader<C> {
    /// The next message to send, if any. Call until it returns `None` after every
    /// [`Leader::apply`], [`Leader::receive`] and [`Leader::tick`]. Peers are served
    /// round-robin; all deltas queued for one peer go out joined in one message.
    /// O(log peers) per call plus the message: only peers that may have output are
    /// visited (see "Costs" in the crate docs).
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        // Only peers that may have output are visited (see `schedule`): O(log peers)
        // per message, not a scan of every peer.
        while let Some(to) = self.schedule.next(self.cursor, self.peers.keys().copied()) {
            if let Some(t) = self.next_for(to) {
                self.cursor = Some(to);
                return Some(t);
            }
            let on_news = !self.waits_for(to);
            self.schedule.drained(to, on_news);
        }
        None
    }

    /// The next message to `to`, if any.
    fn next_for(&mut self, to: ReplicaId) -> Option<Transmit> {
        self.stand_lazy(to);
        if let Some(t) = self.next_fragment_or_ack(to) {
            return Some(t);
        }
        while let Some(msg) = self.next_message(to) {
            let payload = self.encode_for(to, &msg);
            if payload.len() > self.config.message_bytes_max {
                // Too large for one message: it goes in fragments (and nothing
                // else that needs it first goes until it arrived).
                if !self.start_transfer(to, payload) {
                    self.metrics.unsendable += 1;
                } else {
                    self.count_sent(&msg, 0);
                }
                if let Some(t) = self.next_fragment(to) {
                    return Some(t);
                }
                continue;
            }
            self.count_sent(&msg, payload.len());
            return Some(Transmit { to, payload });
        }
        None
    }

    /// A lazy peer is owed none of our deltas: its stream stands at our head, and the
    /// deltas only it held back are collected.
    fn stand_lazy(&mut self, to: ReplicaId) {
        let head = self.buffer.head();
        let Some(peer) = self.peers.get_mut(&to) else {
            return;
        };
        if peer.push() != Push::Lazy || peer.stream.acked() >= head {
            return;
        }
        let before = peer.stream.stand_at(head);
        self.schedule.ack_moved(before, peer.stream.acked());
        self.collect_garbage();
    }

    /// Whether `to`, having nothing to send, waits for a message from it (or a tick)
    /// whatever is buffered meanwhile: something of ours is in flight to it that it
    /// must answer first, or this leader sends nothing new at all now.
    fn waits_for(&self, to: ReplicaId) -> bool {
        let Some(peer) = self.peers.get(&to) else {
            return true;
        };
        self.probing
            || self.conflict
            || !peer.may_send_interval()
            || peer.repair.in_flight()
            || peer.transfers.sending()
    }

    /// A due fragment, or a due fragment acknowledgement, to `to`.
    fn next_fragment_or_ack(&mut self, to: ReplicaId) -> Option<Transmit> {
        if let Some(t) = self.next_fragment(to) {
            self.metrics.messages_sent += 1;
            self.metrics.bytes_sent += t.payload.len() as u64;
            return Some(t);
        }
        let inc = self.incarnation;
        let (transfer, received) = self.peers.get_mut(&to)?.transfers.take_ack()?;
        let msg = Message::<C>::FragmentAck {
            inc,
            transfer,
            received,
        };
        let payload = self.encode_for(to, &msg);
        self.count_sent(&msg, payload.len());
        Some(Transmit { to, payload })
    }

    /// `msg` encoded for `to`: addressed to it and in the highest version both speak.
    pub(crate) fn encode_for(&self, to: ReplicaId, msg: &Message<C>) -> Vec<u8> {
        let ours = self.config.protocol_version();
        let (to_inc, version) = match self.peers.get(&to) {
            Some(p) if matches!(msg, Message::ProbeReply { .. }) => {
                (p.reply_to(), ours.min(p.version_max()))
            }
            Some(p) => (p.inc(), ours.min(p.version_max())),
            None => (None, ours.min(crate::message::VERSION_UNHEARD)),
        };
        let addr = Address {
            from: self.id,
            to,
            to_inc,
        };
        msg.encode(&addr, version, ours)
    }

    fn count_sent(&mut self, msg: &Message<C>, bytes: usize) {
        self.metrics.messages_sent += 1;
        self.metrics.bytes_sent += bytes as u64;
        match msg {
            Message::Delta { .. } => self.metrics.deltas_sent += 1,
            Message::Repair { .. } => {
                self.metrics.repairs_sent += 1;
                self.metrics.repair_bytes_sent += bytes as u64;
            }
            Message::Ack { .. }
            | Message::Digest { .. }
            | Message::Probe { .. }
            | Message::ProbeReply { .. }
            | Message::Fragment { .. }
            | Message::FragmentAck { .. } => {}
        }
    }

    /// The next message due to `to`: digests first (they unblock repairs), then
    /// repairs, then the delta interval, then the acknowledgement.
    fn next_message(&mut self, to: ReplicaId) -> Option<Message<C>> {
        let head = self.buffer.head();
        let base = self.buffer.base();
        let inc = self.incarnation;
        let probing = self.probing;
        let quarantined = self.conflict;
        let peer = self.peers.get_mut(&to)?;
        if let Some(probe) = peer.take_reply() {
            return Some(Message::ProbeReply {
                inc,
                probe,
                known: peer.inc(),
            });
        }
        if probing {
            if peer.take_probe() {
                return Some(Message::Probe {
                    inc,
                    probe: self.probe_id,
                });
            }
            return None;
        }
        // A leader that found another writer under its id vouches for nothing more.
        if quarantined {
            return None;
        }
        // A peer that still needs deltas we no longer hold is repaired instead.
        if head > peer.stream.examined()
            && !peer.repair.in_flight()
            && peer.stream.acked().saturating_add(1) < base
        {
            peer.repair.request();
            peer.stream.covered_by_repair(head);
        }
        // Without its summary we cannot compute what it lacks: ask once per round.
        if peer.repair.ask_summary(peer.known.summary().is_some()) {
            peer.request_digest(FLAG_SEND_DIGEST);
        }
        if let Some(flags) = peer.take_digest() {
            let hash = (self.config.protocol_version().min(peer.version_max()) >= 3).then(|| {
                crate::leader::cached_hash(&self.state, &mut self.hash_cache, self.state_version)
            });
            return Some(Message::Digest {
                inc,
                seq: head,
                flags,
                token: self.token.clone(),
                summary: self.state.summary(),
                hash,
            });
        }
        // While a message goes out in fragments, what must follow it waits.
        if peer.transfers.sending() {
            return self.ack_for(to, inc);
        }
        // At most one repair in flight per peer: requests that arrive meanwhile are
        // answered by it (or by its retransmission, if it is lost).
        if let Some(whole) = peer.repair.ready() {
            let summary = peer.known.summary().cloned();
            if whole || summary.is_some() {
                let payload = match summary {
                    Some(summary) if !whole => self.repair_for(&summary),
                    _ => {
                        self.metrics.full_state_sends += 1;
                        self.state.clone()
                    }
                };
                let peer = self.peers.get_mut(&to)?;
                peer.repair.sent(head);
                peer.stream.covered_by_repair(head);
                return Some(Message::Repair {
                    inc,
                    for_inc: peer.inc().unwrap_or_default(),
                    seq: head,
                    token: self.token.clone(),
                    payload,
                });
            }
        }
        let peer = self.peers.get_mut(&to)?;
        // A peer with nothing in flight gets new deltas at once; a responsive one with
        // intervals in flight gets them after those (pipelined), once per tick, and
        // the deltas buffered meanwhile wait, coalesced, until everything in flight is
        // acknowledged or the next tick (a hub relaying every write of hundreds of
        // peers sends each peer a bounded number of intervals per tick, not one per
        // write); one that stopped acknowledging gets them with the next
        // retransmission (no flood into a partition).
        if head > peer.stream.examined() && !peer.repair.in_flight() && peer.may_send_interval() {
            let start = peer.stream.sent() + 1;
            let exclude = peer.inc().map(|i| (to, i));
            // Leave room for the header and token around the joined deltas.
            let budget = self
                .config
                .message_bytes_max
                .saturating_sub(64 + 20 * self.token.len());
            let (payload, end) = self.buffer.join_from(start, exclude, budget);
            // Planted bug `TokenPruning` (sabotage builds only): skip what the peer's
            // token seems to cover.
            #[cfg(feature = "sabotage")]
            let (payload, end) =
                match crdt_core::sabotage::active(crdt_core::sabotage::Bug::TokenPruning) {
                    true => {
                        self.buffer
                            .join_from_pruned(start, exclude, peer.known.token(), budget)
                    }
                    false => (payload, end),
                };
            // A cut interval: the rest follows its acknowledgement (or the next tick).
            let cut = end < head;
            // The token describes our state at `head`; an interval cut short does not
            // back all of it, so it then claims nothing.
            let token = if cut {
                VersionVector::new()
            } else {
                token_news(&self.token, peer.known.token())
            };
            let ack = peer.ack_due();
            if payload.is_bottom() && token.is_empty() && !cut && !peer.stream.flush_due() {
                // Only the peer's own deltas, or ones its token shows it has: their
                // numbers ride along with the next interval, acknowledgement or
                // retransmission (then the peer acknowledges them and they are
                // collected).
                peer.stream.skipped_to(head);
                return self.ack_for(to, inc);
            }
            if ack.is_some() {
                peer.inbound.ack_sent();
            }
            peer.stream
                .interval_sent(end, head, (!cut).then(|| self.token.clone()));
            return Some(Message::Delta {
                inc,
                start,
                end,
                ack,
                token,
                payload,
            });
        }
        self.ack_for(to, inc)
    }

    /// The acknowledgement due to `to`, if any.
    fn ack_for(&mut self, to: ReplicaId, inc: Incarnation) -> Option<Message<C>> {
        let peer = self.peers.get_mut(&to)?;
        let (for_inc, seq) = peer.ack_due()?;
        peer.inbound.ack_sent();
        Some(Message::Ack { inc, for_inc, seq })
    }

    /// What a peer with `summary` lacks; the full state instead when that encodes
    /// smaller, so a repair never costs more than state-based sync.
    fn repair_for(&mut self, summary: &C::Summary) -> C {
        let repair = self.state.delta_since(summary);
        let size = |c: &C| {
            let mut w = Writer::new();
            let _ = c.encode_body(&mut w);
            w.as_bytes().len()
        };
        let repair_size = size(&repair);
        if repair_size > 64 && repair_size > size(&self.state) {
            self.metrics.full_state_sends += 1;
            return self.state.clone();
        }
        repair
    }
}

/// The entries of `ours` that exceed what the peer is known to have: merging them at
/// the peer gives the same token as merging all of `ours`, in a fraction of the bytes.
fn token_news(ours: &VersionVector, theirs: &VersionVector) -> VersionVector {
    ours.iter().filter(|(w, c)| *c > theirs.get(*w)).collect()
}
