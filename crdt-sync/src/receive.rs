//! Handling incoming messages.

use crate::admission::Admission;
use crate::message::{Address, Message, FLAG_FULL_STATE, FLAG_REPAIR_ME, FLAG_SEND_DIGEST};
use crate::peer::{Accept, Mismatch, Push, RepairOut, BACKOFF_MAX_TICKS};
use crate::PROTOCOL_VERSION_MIN;
use crate::{Incarnation, Leader, SyncError};
use crdt_core::{DeltaCrdt, ReplicaId, VersionVector};

impl<C: DeltaCrdt> Leader<C> {
    /// Handles a message from peer `from`.
    ///
    /// Intervals are applied only when they connect to what was received from `from`
    /// before (causal delivery); a gap triggers a repair request instead. Duplicates
    /// and outdated messages are harmless.
    ///
    /// # Errors
    /// Any [`SyncError`] for a message that is oversized, malformed, from an unknown
    /// peer, contradicts what this leader sent, or carries updates under this leader's
    /// own id that it never made ([`SyncError::ReplicaIdConflict`]: local writes are
    /// refused from then on). On error the leader's state, buffer and peer records are
    /// unchanged.
    pub fn receive(&mut self, from: ReplicaId, payload: &[u8]) -> Result<(), SyncError> {
        self.receive_with(from, payload, None)
    }

    fn receive_with(
        &mut self,
        from: ReplicaId,
        payload: &[u8],
        admission: Option<&mut dyn Admission<C>>,
    ) -> Result<(), SyncError> {
        self.metrics.messages_received += 1;
        self.metrics.bytes_received += payload.len() as u64;
        let result = self.receive_inner(from, payload, admission);
        // Whatever it brought, the sender is the peer that may now be owed something
        // (an acknowledgement, a digest, the next interval); other peers are woken by
        // what changes for them (a new delta, a probe).
        if self.peers.contains_key(&from) {
            self.schedule.wake(from);
        }
        if result.is_err() {
            self.metrics.rejected_messages += 1;
        }
        result
    }

    /// [`receive`](Self::receive), and returns what the message added to the state:
    /// the join of the novel parts of every payload it merged (bottom if nothing was
    /// new). A host that logs changes (a durable store, a change stream) uses this
    /// instead of diffing the state, which costs O(state) per message. O(what was new)
    /// more than `receive`.
    ///
    /// # Errors
    /// As [`receive`](Self::receive); the state is then unchanged.
    pub fn receive_changes(&mut self, from: ReplicaId, payload: &[u8]) -> Result<C, SyncError> {
        self.receive_collecting(from, payload, None)
    }

    /// [`receive_changes`](Self::receive_changes) from a peer that is not trusted with
    /// every writer's updates (a client): `admission` sees the sender's incarnation of
    /// every message addressed to this leader, and every update it carries (payload and
    /// causal token) **before** anything is changed — before even the check for
    /// updates under this leader's own id, so an untrusted peer cannot make this
    /// leader refuse writes ([`SyncError::ReplicaIdConflict`]). A message whose updates
    /// it refuses (also inside a completed fragmented transfer) is rejected with
    /// [`SyncError::NotAdmitted`] and changes no state.
    ///
    /// # Errors
    /// As [`receive`](Self::receive), and [`SyncError::NotAdmitted`].
    pub fn receive_admitted(
        &mut self,
        from: ReplicaId,
        payload: &[u8],
        admission: &mut dyn Admission<C>,
    ) -> Result<C, SyncError> {
        self.receive_collecting(from, payload, Some(admission))
    }

    /// Receives, and returns the join of what the message added.
    fn receive_collecting(
        &mut self,
        from: ReplicaId,
        payload: &[u8],
        admission: Option<&mut dyn Admission<C>>,
    ) -> Result<C, SyncError> {
        self.changes = Some(C::empty_delta());
        let result = self.receive_with(from, payload, admission);
        let changes = self.changes.take().unwrap_or_else(C::empty_delta);
        result.map(|()| changes)
    }

    fn receive_inner(
        &mut self,
        from: ReplicaId,
        payload: &[u8],
        admission: Option<&mut dyn Admission<C>>,
    ) -> Result<(), SyncError> {
        if payload.len() > self.config.message_bytes_max {
            return Err(SyncError::MessageTooLarge {
                bytes: payload.len(),
                max: self.config.message_bytes_max,
            });
        }
        // A version-4 checksum names its receiver: this leader, or one of its peers (an
        // echo of what this leader sent, or a message for a peer delivered here, which
        // is then rejected as misdelivered, not merely corrupt). Each peer tried costs
        // its pseudo-header's few bytes, not the message again.
        let receivers = core::iter::once(self.id).chain(self.peers.keys().copied());
        let (body, checked_to) =
            crate::message::open(payload, C::TYPE_TAG, receivers).ok_or(SyncError::Corrupt)?;
        self.check_version(from, body)?;
        let (_, addr, msg) = Message::<C>::decode(body, &self.config.decode_limits(), checked_to)?;
        self.receive_decoded(from, addr, msg, admission)
    }

    /// Reads the envelope: remembers the highest version a peer speaks (even from a
    /// message this build cannot read, so the next messages to it are readable) and
    /// refuses versions outside what both sides speak.
    fn check_version(&mut self, from: ReplicaId, body: &[u8]) -> Result<(), SyncError> {
        let Some(env) = crate::message::peek_envelope(body) else {
            return Ok(()); // not a message: the decoder says why
        };
        if env.max < PROTOCOL_VERSION_MIN {
            return Err(SyncError::PeerTooOld {
                peer: from,
                version: env.max,
                min: PROTOCOL_VERSION_MIN,
            });
        }
        if from != self.id {
            if let Some(peer) = self.peers.get_mut(&from) {
                peer.speaks(env.max);
            }
        }
        let ours = self.config.protocol_version();
        if env.version < PROTOCOL_VERSION_MIN || env.version > ours {
            return Err(SyncError::UnsupportedVersion {
                peer: from,
                version: env.version,
                max: ours,
            });
        }
        Ok(())
    }

    /// Handles a decoded message (also the message a completed transfer carried).
    pub(crate) fn receive_decoded(
        &mut self,
        from: ReplicaId,
        addr: Address,
        msg: Message<C>,
        mut admission: Option<&mut dyn Admission<C>>,
    ) -> Result<(), SyncError> {
        if from == self.id && addr.from == from {
            return self.on_own_message(&msg);
        }
        if !self.peers.contains_key(&from) {
            return Err(SyncError::UnknownPeer(from));
        }
        if addr.from != from {
            return Err(SyncError::Protocol {
                peer: from,
                reason: "the message names another sender than the transport reported",
            });
        }
        if addr.to != self.id {
            self.metrics.misdelivered += 1;
            return Err(SyncError::Misdelivered {
                to: addr.to,
                at: self.id,
            });
        }
        let inc = msg.incarnation();
        if let Some(a) = admission.as_deref_mut() {
            a.incarnation(inc)
                .map_err(|writer| SyncError::NotAdmitted { peer: from, writer })?;
        }
        let known = self.peers.get(&from).and_then(|p| p.inc());
        match &msg {
            Message::Probe { probe, .. } => {
                if let Some(peer) = self.peers.get_mut(&from) {
                    peer.probed(*probe, inc);
                }
                return Ok(());
            }
            Message::ProbeReply { probe, known, .. } => {
                if addr.to_inc != Some(self.incarnation) {
                    // Only an answer or notice about this very life of ours counts.
                    self.metrics.stale_messages += 1;
                    return Ok(());
                }
                if self.probing {
                    if *probe == self.probe_id {
                        if let Some(peer) = self.peers.get_mut(&from) {
                            peer.probe_answered(*known);
                        }
                        self.finish_probe_if_answered();
                    } else {
                        // A notice, or the answer to an earlier copy's probe: what the
                        // peer had seen then still bounds the incarnation to take.
                        self.probe_floor = self.probe_floor.max(*known);
                        self.metrics.stale_messages += 1;
                    }
                } else if let Some(newer) = known {
                    // A displacement notice (or a late answer to an earlier probe).
                    self.displaced(*newer);
                } else {
                    self.metrics.stale_messages += 1;
                }
                return Ok(());
            }
            _ if self.probing => {
                // Until it knows its incarnation, a restored leader takes nothing in.
                self.metrics.stale_messages += 1;
                return Ok(());
            }
            _ => {}
        }
        if known.is_some_and(|k| inc < k) {
            // From an older incarnation of the peer: a crashed copy's late messages, or
            // a copy that does not know it was displaced. Tell it which incarnation we
            // know, so a live one takes a newer incarnation (see `Leader::displaced`).
            self.metrics.stale_messages += 1;
            if let Some(peer) = self.peers.get_mut(&from) {
                peer.owe_notice(Some(inc));
            }
            return Ok(());
        }
        // Probes address whatever incarnation of us the prober knew, and their answers
        // are matched by probe id (above); everything else must be meant for this life.
        if let Some(meant) = addr.to_inc.filter(|m| *m != self.incarnation) {
            // Computed for another life of this leader: an earlier one (in flight across
            // our restart), or a newer copy of us that the peer has heard of. We still
            // learn the sender's incarnation, so our answers reach its current life.
            self.metrics.stale_messages += 1;
            #[cfg(feature = "sabotage")]
            let meant = match crdt_core::sabotage::active(
                crdt_core::sabotage::Bug::NewerIncarnationIgnored,
            ) {
                // Planted bug: the address naming a newer life of us is only stale
                // (the address carries what the ack's and repair's `for_inc` do).
                true => meant.min(self.incarnation),
                false => meant,
            };
            if meant > self.incarnation {
                self.displaced(meant);
                return Ok(());
            }
            if known != Some(inc) {
                self.peer_restarted(from, inc, known.is_some());
            }
            return Ok(());
        }
        // Content of another retirement epoch is brought to ours first (or not taken).
        let Some(msg) = self.bring_to_epoch(from, msg)? else {
            return Ok(());
        };
        // Validate everything before changing anything; an untrusted sender's updates
        // first (updates under our own id from it are refused, not a conflict).
        if let (
            Some(a),
            Message::Delta { token, payload, .. } | Message::Repair { token, payload, .. },
        ) = (admission.as_deref_mut(), &msg)
        {
            a.admit(inc, token, payload, &self.state, &self.token)
                .map_err(|writer| SyncError::NotAdmitted { peer: from, writer })?;
        }
        match &msg {
            Message::Delta { token, payload, .. } | Message::Repair { token, payload, .. } => {
                self.check_own_id(token, Some(payload))?;
            }
            Message::Digest { token, .. } => self.check_own_id(token, None)?,
            Message::Probe { .. }
            | Message::ProbeReply { .. }
            | Message::Fragment { .. }
            | Message::FragmentAck { .. } => {}
            Message::Ack { for_inc, seq, .. } => self.check_ack(from, *for_inc, *seq)?,
        }

        if known != Some(inc) {
            self.peer_restarted(from, inc, known.is_some());
        }
        match msg {
            Message::Delta {
                inc,
                start,
                end,
                ack,
                token,
                payload,
            } => {
                if let Some((for_inc, seq)) = ack {
                    // An acknowledgement beyond what we sent does not spoil the interval
                    // it rides on (another copy of us, sharing our id, may have been
                    // acknowledged): it is ignored, the interval applied.
                    if self.check_ack(from, for_inc, seq).is_ok() {
                        self.on_ack(from, for_inc, seq);
                    } else {
                        self.metrics.stale_messages += 1;
                    }
                    if self.probing {
                        // The acknowledgement displaced us: take nothing in.
                        return Ok(());
                    }
                }
                self.on_delta(from, inc, start, end, &token, &payload);
            }
            Message::Ack { for_inc, seq, .. } => self.on_ack(from, for_inc, seq),
            Message::Digest {
                seq,
                flags,
                token,
                summary,
                hash,
                ..
            } => self.on_digest(from, seq, flags, &token, summary, hash),
            Message::Probe { .. } | Message::ProbeReply { .. } => {}
            Message::Fragment {
                transfer,
                index,
                count,
                total,
                bytes,
                ..
            } => return self.on_fragment(from, transfer, index, count, total, &bytes, admission),
            Message::FragmentAck {
                transfer, received, ..
            } => self.on_fragment_ack(from, transfer, received),
            Message::Repair {
                inc,
                for_inc,
                seq,
                token,
                payload,
            } => {
                if for_inc == self.incarnation {
                    self.on_repair(from, inc, seq, &token, &payload);
                } else {
                    // Meant for another incarnation of us: stale, or (newer) proof
                    // that we were displaced (see `on_ack`).
                    #[cfg(feature = "sabotage")]
                    if crdt_core::sabotage::active(
                        crdt_core::sabotage::Bug::NewerIncarnationIgnored,
                    ) {
                        // Planted bug: only stale (as before 646765a).
                        self.metrics.stale_messages += 1;
                        return Ok(());
                    }
                    self.displaced(for_inc);
                }
            }
        }
        Ok(())
    }

    /// A message under this leader's own id: an echo of what it sent (a transport that
    /// delivers messages to their sender too) is ignored and counted; a message of
    /// another incarnation of this id, or one holding updates under our writer id that
    /// we never made, is evidence of another process under our id.
    fn on_own_message(&mut self, msg: &Message<C>) -> Result<(), SyncError> {
        let inc = msg.incarnation();
        if inc == self.incarnation {
            match msg {
                Message::Delta { token, payload, .. } | Message::Repair { token, payload, .. } => {
                    self.check_own_id(token, Some(payload))?;
                }
                Message::Digest { token, .. } => self.check_own_id(token, None)?,
                _ => {}
            }
            self.metrics.echoes += 1;
            return Ok(());
        }
        if inc > self.incarnation {
            // A newer life of this leader runs somewhere.
            self.displaced(inc);
        } else {
            // An older copy's message (crashed in flight, or a copy that does not know
            // it was displaced: its peers tell it).
            self.metrics.stale_messages += 1;
        }
        Ok(())
    }

    /// Refuses an acknowledgement of deltas this leader never sent.
    pub(crate) fn check_ack(
        &self,
        from: ReplicaId,
        for_inc: Incarnation,
        seq: u64,
    ) -> Result<(), SyncError> {
        if for_inc == self.incarnation && seq > self.buffer.head() {
            return Err(SyncError::Protocol {
                peer: from,
                reason: "acknowledges deltas this leader never sent",
            });
        }
        Ok(())
    }

    /// Refuses input holding more of this leader's own (current-incarnation) updates
    /// than it ever made: another live leader writes under the same id.
    fn check_own_id(
        &mut self,
        token: &VersionVector,
        payload: Option<&C>,
    ) -> Result<(), SyncError> {
        let w = self.writer;
        let foreign = token.get(w) > self.token.get(w)
            || payload.is_some_and(|p| p.progress_of(w) > self.state.progress_of(w));
        if foreign {
            self.conflict = true;
            return Err(SyncError::ReplicaIdConflict { replica: w });
        }
        Ok(())
    }

    /// First contact with a peer, or a new incarnation of it (it restarted from a
    /// checkpoint): everything tied to its old incarnation is void, and until it repairs
    /// us we cannot apply its intervals (they build on state we may lack).
    fn peer_restarted(&mut self, from: ReplicaId, inc: Incarnation, was_known: bool) {
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        let acked = peer.stream.acked();
        peer.heard_as(inc);
        self.schedule.ack_moved(acked, peer.stream.acked());
        if was_known || !inc.is_first_life() {
            peer.ask_repair();
        }
    }

    fn on_delta(
        &mut self,
        from: ReplicaId,
        inc: Incarnation,
        start: u64,
        end: u64,
        token: &VersionVector,
        payload: &C,
    ) {
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        // A peer's first incarnation numbers its deltas from its birth, so an interval
        // starting at 1 builds on nothing; anything else needs a known prefix. Without
        // one (a late join, a peer record made afresh, another copy of the peer that
        // acknowledged in its place) only a repair can connect us: ask for it.
        let received = match peer.inbound.accept() {
            Accept::Accepting { received }
            | Accept::AwaitingRepair {
                received: Some(received),
            } => received,
            #[cfg(feature = "sabotage")]
            _ if crdt_core::sabotage::active(crdt_core::sabotage::Bug::NoGapCheck) => 0,
            Accept::Unknown if inc.is_first_life() && start == 1 => 0,
            Accept::Unknown | Accept::AwaitingRepair { received: None } => {
                peer.ask_repair();
                self.metrics.gaps += 1;
                return;
            }
        };
        #[cfg(feature = "sabotage")]
        let start = match crdt_core::sabotage::active(crdt_core::sabotage::Bug::NoGapCheck) {
            true => start.min(received.saturating_add(1)), // pretend it connects
            false => start,
        };
        if start > received.saturating_add(1) {
            // An interval sent after one that was lost or is still on its way: applying
            // it would leave a hole that acts like a delete. Drop it and acknowledge
            // what we have; the sender's retransmission starts from there. A gap that
            // outlasts a tick without anything applied asks for a repair instead (the
            // sender believes we have more: another copy acknowledged in our place).
            if peer.inbound.gap() {
                peer.ask_repair();
            }
            self.metrics.gaps += 1;
            return;
        }
        if !peer.inbound.connected(received, end) {
            self.metrics.stale_messages += 1;
            return;
        }
        self.apply_remote(from, inc, token, payload);
    }

    fn on_repair(
        &mut self,
        from: ReplicaId,
        inc: Incarnation,
        seq: u64,
        token: &VersionVector,
        payload: &C,
    ) {
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        peer.inbound.repaired(seq);
        // Planted bug `RepairCountsAsProgress` (sabotage builds only): the repair
        // counts as progress of our own stream to the peer, which postpones our
        // retransmissions to it (as before e4eae2b; seed 1430).
        #[cfg(feature = "sabotage")]
        if crdt_core::sabotage::active(crdt_core::sabotage::Bug::RepairCountsAsProgress) {
            peer.backoff.progressed();
        }
        self.apply_remote(from, inc, token, payload);
    }

    /// Joins a payload that is causally ready, buffers what was new for the other
    /// peers, and adopts the sender's token (which the payload now backs).
    fn apply_remote(
        &mut self,
        from: ReplicaId,
        inc: Incarnation,
        token: &VersionVector,
        payload: &C,
    ) {
        self.metrics.concurrent_discards += self.state.concurrent_discards(payload);
        let novel = self.state.merge_delta(payload);
        if !novel.is_bottom() {
            self.state_version += 1;
            if let Some(changes) = &mut self.changes {
                changes.merge(&novel);
            }
        }
        let token_grew = !self.token.covers(token);
        self.token.merge(token);
        if let Some(peer) = self.peers.get_mut(&from) {
            // The sender has at least what its token names.
            peer.known.learned(token);
        }
        if !novel.is_bottom() || token_grew {
            // A redundant payload whose token was new still buffers an empty delta:
            // it carries the new token entries on to the other peers.
            self.buffer_entry(Some((from, inc)), novel);
            // Planted bug `TokenPruning` (sabotage builds only): a relayed delta is
            // taken to be covered by the token news that came with it (unknown for a
            // cut interval, which carries no token).
            #[cfg(feature = "sabotage")]
            if crdt_core::sabotage::active(crdt_core::sabotage::Bug::TokenPruning)
                && !token.is_empty()
            {
                self.buffer.cover_newest(token.clone());
            }
        }
    }

    fn on_ack(&mut self, from: ReplicaId, for_inc: Incarnation, seq: u64) {
        if for_inc != self.incarnation {
            // An acknowledgement (or, above, a repair) names the incarnation of us the
            // peer knows: one newer than ours tells us what a displacement notice
            // would. Behind a shared address the notices may all reach the other copy
            // while these reach us; a displaced copy that stays silent never learns
            // otherwise, and misses the newer copy's writes for good (seed 5004393).
            // `displaced` counts an older or equal one as stale.
            #[cfg(feature = "sabotage")]
            if crdt_core::sabotage::active(crdt_core::sabotage::Bug::NewerIncarnationIgnored) {
                // Planted bug: only stale (as before 646765a).
                self.metrics.stale_messages += 1;
                return;
            }
            self.displaced(for_inc);
            return;
        }
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        let acked = peer.stream.acked();
        peer.acknowledged(seq);
        self.schedule.ack_moved(acked, peer.stream.acked());
        self.collect_garbage();
    }

    fn on_digest(
        &mut self,
        from: ReplicaId,
        seq: u64,
        flags: u8,
        token: &VersionVector,
        summary: C::Summary,
        hash: Option<u64>,
    ) {
        let base = self.buffer.base();
        let head = self.buffer.head();
        let ours = self.state.summary();
        // Same summary, different content: either an update that changes no causal
        // context (a remove) is still on its way to one of us, or a replica lost or
        // damaged part of its state without a trace in its causal context (a corrupted
        // store, a buggy peer's delta).
        let mismatch = hash.and_then(|theirs| {
            if summary != ours {
                return None;
            }
            let ours =
                crate::leader::cached_hash(&self.state, &mut self.hash_cache, self.state_version);
            (theirs != ours).then_some(Mismatch { theirs, ours })
        });
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        peer.known.learned(token);
        peer.heard_digest();
        // Planted bug `DivergenceStorm` (sabotage builds only): every mismatch is
        // answered, with a request for the peer's digest each time.
        #[cfg(feature = "sabotage")]
        let storm = crdt_core::sabotage::active(crdt_core::sabotage::Bug::DivergenceStorm);
        #[cfg(not(feature = "sabotage"))]
        let storm = false;
        // A mismatch is a divergence, and both sides send their whole state (the join
        // makes them equal), unless it may be a remove on its way. It cannot be one
        // when the two causal tokens are equal (they count every write, removes
        // included), nor, on an eager link, when the link carries nothing either way
        // (the peer acknowledged our whole buffer, and we merged the peer's buffer up
        // to the head its digest names; an acknowledgement that overtook an older
        // digest can fool this, at the cost of one needless exchange). Otherwise it is
        // acted on once the peer's digests have shown the very same two states for a
        // while: on an eager link the longest retransmission backoff (anything on its
        // way over it has been sent again by then); on a lazy link, which cannot see
        // what comes over other links, one tick. A mismatch left waiting is looked at
        // again by asking for the peer's digest when that time is up, on a lazy link
        // (a remove that reached only one side of a lazy cut makes no repair due, as
        // it changes no summary, so it crosses the cut only through this exchange) and
        // wherever no periodic digest would show it again.
        let ticks = self.ticks;
        let tokens_equal = *token == self.token;
        let digests_off = self.config.digest_interval_ticks == 0;
        let diverged = match mismatch {
            None => false,
            Some(m) => {
                let lazy = peer.push() == Push::Lazy;
                let quiet = !lazy
                    && peer.stream.acked() == head
                    && peer
                        .inbound
                        .received()
                        .is_some_and(|received| received >= seq);
                let patience = if lazy { 1 } else { BACKOFF_MAX_TICKS };
                let since = peer.known.mismatch_since(m);
                let lasting =
                    since.is_some_and(|since| ticks.saturating_sub(since) >= u64::from(patience));
                let act = storm || tokens_equal || quiet || lasting;
                if !act && since.is_none() && (lazy || digests_off) {
                    peer.confirm_mismatch_in(patience);
                }
                act
            }
        };
        if diverged {
            self.metrics.divergences += 1;
        }
        // Once per tick at most (a digest exchange must not feed itself): send our
        // state, and ask for the peer's unless its digest already asked for ours
        // (then it sends its own too).
        if diverged && (peer.repair.divergence() || storm) {
            peer.repair.request_whole_state();
            if flags & FLAG_FULL_STATE == 0 || storm {
                peer.request_digest(FLAG_FULL_STATE);
            }
        }
        if flags & FLAG_FULL_STATE != 0 {
            peer.repair.request_whole_state();
        }
        // A repair requested while one is in flight is answered by it.
        if flags & FLAG_REPAIR_ME != 0 {
            peer.repair.request();
        }
        if flags & FLAG_SEND_DIGEST != 0 {
            peer.request_digest(0);
        }
        let acked = peer.stream.acked();
        if acked.saturating_add(1) < base {
            peer.repair.request();
        }
        // The safety net of anti-entropy: a peer that has not seen all we had when it
        // last told us its summary, although it has acknowledged everything we had
        // then (or everything at all), lacks something no interval will bring (its state
        // was lost or damaged without a restart): it is repaired. This does not wait
        // for the peer to acknowledge our newest deltas, so a busy writer's peers heal.
        // A lazy peer "acknowledged" everything only because it is owed nothing (its
        // stream stands at our head): what it lacks is judged against what we had at
        // its previous digest, which the eager links had a digest interval to bring.
        let settled =
            acked == head && peer.repair.state() == RepairOut::Idle && peer.push() == Push::Eager;
        let lacks = if settled {
            !C::summary_covers(&summary, &ours)
        } else {
            peer.known
                .lag_mark()
                .is_some_and(|(mark, then)| acked >= mark && !C::summary_covers(&summary, then))
        };
        // Planted bug `LazyNeverRepaired` (sabotage builds only): lazy peers are never
        // found lacking.
        #[cfg(feature = "sabotage")]
        let lacks = lacks
            && !(crdt_core::sabotage::active(crdt_core::sabotage::Bug::LazyNeverRepaired)
                && peer.push() == Push::Lazy);
        if lacks {
            peer.repair.request();
        }
        peer.known.digest(summary, head, ours, mismatch, ticks);
    }
}
