//! A coordinator's side of the decision: it proposes batches of certified writers.

use super::{
    Ballot, Batch, Certificate, History, Refusal, RetirementMessage, BATCH_CERTIFICATES_MAX,
};
use crdt_core::ReplicaId;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Proposes retirement batches to every member and drives each to a commit
/// (`docs/RETIREMENT.md` §5.1): one Paxos instance per epoch whose quorum is every
/// member, so a batch is chosen only once **every** member accepted it, and each of
/// them checked first that it holds exactly the certified holdings.
///
/// Sans-IO: certificates in ([`Coordinator::certify`]), members' answers in
/// ([`Coordinator::receive`]), messages out ([`Coordinator::poll_transmit`]), time
/// from [`Coordinator::tick`]. A coordinator keeps nothing durable: one started again
/// after a crash learns the committed epochs from the members (one round trip each)
/// and finishes a batch every member accepted before it proposes a new one. Two
/// coordinators at once (a configuration change) are safe, since ballots order them;
/// one that sees the other's higher ballot backs off for a number of ticks that
/// depends on its position among the members, so one of them wins.
#[derive(Debug)]
pub struct Coordinator {
    id: ReplicaId,
    members: Vec<ReplicaId>,
    collapse: ReplicaId,
    resend_ticks: u32,
    /// The highest round seen in any ballot.
    round: u64,
    /// Certified writers not retired yet.
    pending: BTreeMap<ReplicaId, Certificate>,
    /// The batches chosen so far (learned in order).
    chosen: History,
    /// The epoch each member said it has committed.
    member_epochs: BTreeMap<ReplicaId, u64>,
    phase: Phase,
    /// Ticks since the phase began or last resent.
    ticks: u32,
    /// Whether to ask the members about the next epoch although no certificate is
    /// pending: at start, and after a member reported a batch it accepted that may
    /// have been chosen.
    probe: bool,
    /// Certificates some member refused because it holds more of the writer.
    refused: Vec<Certificate>,
    outbox: VecDeque<(ReplicaId, RetirementMessage)>,
}

/// A member's promise: the batch it accepted for the epoch (with its ballot), and
/// where its committed ranges end.
type Promised = (Option<(Ballot, Batch)>, u64);

#[derive(Debug)]
enum Phase {
    /// Nothing proposed; the next proposal waits `backoff` ticks.
    Idle { backoff: u32 },
    /// Phase 1 of `epoch` under `ballot`: the promises so far.
    Preparing {
        epoch: u64,
        ballot: Ballot,
        promises: BTreeMap<ReplicaId, Promised>,
    },
    /// Phase 2: the members that accepted `batch` under `ballot`.
    Accepting {
        ballot: Ballot,
        batch: Batch,
        accepted: BTreeSet<ReplicaId>,
    },
}

impl Coordinator {
    /// A coordinator `id` of the cluster `members` (itself included if it is one),
    /// collapsing into `collapse`, resending unanswered messages every
    /// `resend_ticks` ticks (at least 1).
    #[must_use]
    pub fn new(
        id: ReplicaId,
        members: impl IntoIterator<Item = ReplicaId>,
        collapse: ReplicaId,
        resend_ticks: u32,
    ) -> Self {
        let mut members: Vec<ReplicaId> = members.into_iter().collect();
        members.sort_unstable();
        members.dedup();
        Self {
            id,
            members,
            collapse,
            resend_ticks: resend_ticks.max(1),
            round: 0,
            pending: BTreeMap::new(),
            chosen: History::default(),
            member_epochs: BTreeMap::new(),
            phase: Phase::Idle { backoff: 0 },
            ticks: 0,
            probe: true,
            refused: Vec::new(),
            outbox: VecDeque::new(),
        }
    }

    /// Asks for `certificate`'s writer to be retired. Returns `false` (and ignores it)
    /// if the writer is retired already or is the collapse id. A newer certificate of
    /// a pending writer replaces the older one.
    pub fn certify(&mut self, certificate: Certificate) -> bool {
        if certificate.writer == self.collapse || self.retired_in(certificate.writer).is_some() {
            return false;
        }
        self.pending.insert(certificate.writer, certificate);
        true
    }

    /// The epochs known to be chosen.
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.chosen.epoch()
    }

    /// The batch chosen for `epoch` (from 1), if known.
    #[must_use]
    pub fn chosen(&self, epoch: u64) -> Option<&Batch> {
        self.chosen.get(epoch)
    }

    /// The epoch of a chosen batch retiring `writer`.
    #[must_use]
    pub fn retired_in(&self, writer: ReplicaId) -> Option<u64> {
        self.chosen.retired_in(writer)
    }

    /// Certified writers not retired yet.
    pub fn pending(&self) -> impl Iterator<Item = &Certificate> {
        self.pending.values()
    }

    /// Certificates a member refused because it holds more of the writer than they
    /// state (so the writer is not retired): the certifier was wrong, and whoever
    /// runs the coordinator should find out why.
    #[must_use]
    pub fn refused(&self) -> &[Certificate] {
        &self.refused
    }

    /// Whether every member has committed every chosen batch and nothing is pending
    /// or being decided.
    #[must_use]
    pub fn is_quiet(&self) -> bool {
        matches!(self.phase, Phase::Idle { .. })
            && self.pending.is_empty()
            && !self.probe
            && self
                .members
                .iter()
                .all(|m| self.member_epoch(*m) == self.epoch())
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<(ReplicaId, RetirementMessage)> {
        self.outbox.pop_front()
    }

    /// One unit of time: starts a proposal when one is due, resends what is
    /// unanswered, and sends commits to members behind.
    pub fn tick(&mut self) {
        self.ticks = self.ticks.saturating_add(1);
        let resend = self.ticks >= self.resend_ticks;
        match &mut self.phase {
            Phase::Idle { backoff } => {
                *backoff = backoff.saturating_sub(1);
                if *backoff == 0 && (self.probe || !self.pending.is_empty()) {
                    self.prepare();
                }
            }
            Phase::Preparing { .. } | Phase::Accepting { .. } if resend => {
                self.ticks = 0;
                self.send_phase(true);
            }
            _ => {}
        }
        if resend {
            self.ticks = 0;
            for m in self.members.clone() {
                self.send_commit(m);
            }
        }
    }

    /// Handles a member's answer. Messages from non-members, and answers to
    /// proposals no longer current, change nothing but what they tell of the members'
    /// epochs and ballots.
    pub fn receive(&mut self, from: ReplicaId, msg: &RetirementMessage) {
        if self.members.binary_search(&from).is_err() {
            return;
        }
        match msg {
            RetirementMessage::Promise {
                epoch,
                ballot,
                accepted,
                records_end,
            } => {
                self.saw_member_epoch(from, epoch.saturating_sub(1));
                self.on_promise(from, *epoch, *ballot, accepted, *records_end);
            }
            RetirementMessage::Accepted { epoch, ballot } => {
                self.on_accepted(from, *epoch, *ballot);
            }
            RetirementMessage::Chosen { batch } => {
                self.saw_member_epoch(from, batch.epoch());
                self.learn(batch);
            }
            RetirementMessage::Behind { epoch } | RetirementMessage::Committed { epoch } => {
                self.saw_member_epoch(from, *epoch);
                if matches!(msg, RetirementMessage::Behind { .. }) {
                    self.send_commit(from);
                }
            }
            RetirementMessage::Refused {
                epoch,
                ballot,
                refusal,
            } => self.on_refused(*epoch, *ballot, *refusal),
            RetirementMessage::Prepare { .. }
            | RetirementMessage::Accept { .. }
            | RetirementMessage::Commit { .. } => {}
        }
    }

    fn member_epoch(&self, member: ReplicaId) -> u64 {
        self.member_epochs.get(&member).copied().unwrap_or(0)
    }

    fn saw_member_epoch(&mut self, member: ReplicaId, epoch: u64) {
        let e = self.member_epochs.entry(member).or_insert(0);
        *e = (*e).max(epoch);
    }

    /// Sends `member` the commit of the first chosen epoch it lacks, if any.
    fn send_commit(&mut self, member: ReplicaId) {
        let next = self.member_epoch(member);
        if let Some(batch) = self.chosen(next + 1) {
            let batch = batch.clone();
            self.outbox
                .push_back((member, RetirementMessage::Commit { batch }));
        }
    }

    /// Starts phase 1 of the next epoch under a new ballot.
    fn prepare(&mut self) {
        self.round += 1;
        let ballot = Ballot {
            round: self.round,
            proposer: self.id,
        };
        self.phase = Phase::Preparing {
            epoch: self.epoch() + 1,
            ballot,
            promises: BTreeMap::new(),
        };
        self.ticks = 0;
        self.send_phase(false);
    }

    /// Sends the current phase's message to every member that has not answered it
    /// (to all of them when `only_missing` is false).
    fn send_phase(&mut self, only_missing: bool) {
        let members = self.members.clone();
        match &self.phase {
            Phase::Idle { .. } => {}
            Phase::Preparing {
                epoch,
                ballot,
                promises,
            } => {
                for m in members {
                    if !(only_missing && promises.contains_key(&m)) {
                        let msg = RetirementMessage::Prepare {
                            epoch: *epoch,
                            ballot: *ballot,
                        };
                        self.outbox.push_back((m, msg));
                    }
                }
            }
            Phase::Accepting {
                ballot,
                batch,
                accepted,
            } => {
                for m in members {
                    if !(only_missing && accepted.contains(&m)) {
                        let msg = RetirementMessage::Accept {
                            ballot: *ballot,
                            batch: batch.clone(),
                        };
                        self.outbox.push_back((m, msg));
                    }
                }
            }
        }
    }

    fn on_promise(
        &mut self,
        from: ReplicaId,
        epoch: u64,
        ballot: Ballot,
        accepted: &Option<(Ballot, Batch)>,
        records_end: u64,
    ) {
        let Phase::Preparing {
            epoch: e,
            ballot: b,
            promises,
        } = &mut self.phase
        else {
            return;
        };
        if (*e, *b) != (epoch, ballot) {
            return;
        }
        promises.insert(from, (accepted.clone(), records_end));
        if promises.len() < self.members.len() {
            return;
        }
        let promises = std::mem::take(promises);
        self.choose(epoch, ballot, &promises);
    }

    /// Every member promised `ballot` for `epoch`: proposes the batch every member
    /// accepted (it may have been chosen), or else a new batch of the pending
    /// certificates.
    fn choose(&mut self, epoch: u64, ballot: Ballot, promises: &BTreeMap<ReplicaId, Promised>) {
        let mut accepted = promises.values().map(|(a, _)| a.as_ref().map(|(_, b)| b));
        let first = accepted.next().flatten();
        let unanimous = first.filter(|f| accepted.all(|a| a == Some(*f)));
        #[cfg(feature = "sabotage")]
        let unanimous = unanimous.filter(|_| {
            !crdt_core::sabotage::active(crdt_core::sabotage::Bug::CoordinatorIgnoresAccepted)
        });
        let batch = if let Some(batch) = unanimous {
            Some(batch.clone())
        } else {
            // No batch was chosen for this epoch (a chosen one is in every promise),
            // so a new one is free. Members at one epoch agree on where ranges end.
            let base = promises.values().map(|(_, end)| *end).max().unwrap_or(0);
            // The rest wait for the next epoch, so that every message stays small.
            let certificates: Vec<Certificate> = self
                .pending
                .values()
                .take(BATCH_CERTIFICATES_MAX)
                .copied()
                .collect();
            if certificates.is_empty() {
                None
            } else {
                match Batch::new(epoch, base, certificates, self.collapse) {
                    Ok(batch) => Some(batch),
                    Err(_) => {
                        // Ranges past u64::MAX: no batch of these can ever commit.
                        self.refused
                            .extend(std::mem::take(&mut self.pending).into_values());
                        None
                    }
                }
            }
        };
        self.probe = false;
        match batch {
            Some(batch) => {
                self.phase = Phase::Accepting {
                    ballot,
                    batch,
                    accepted: BTreeSet::new(),
                };
                self.send_phase(false);
            }
            None => self.phase = Phase::Idle { backoff: 0 },
        }
    }

    fn on_accepted(&mut self, from: ReplicaId, epoch: u64, ballot: Ballot) {
        let Phase::Accepting {
            ballot: b,
            batch,
            accepted,
        } = &mut self.phase
        else {
            return;
        };
        if (batch.epoch(), *b) != (epoch, ballot) {
            return;
        }
        accepted.insert(from);
        if accepted.len() == self.members.len() {
            let batch = batch.clone();
            self.learn(&batch);
        }
    }

    /// `batch` is chosen for its epoch: records it if it is the next one, and moves on.
    fn learn(&mut self, batch: &Batch) {
        if !self.chosen.push(batch) {
            return;
        }
        for c in batch.certificates() {
            self.pending.remove(&c.writer);
        }
        for m in self.members.clone() {
            if self.member_epoch(m) < batch.epoch() {
                self.outbox.push_back((
                    m,
                    RetirementMessage::Commit {
                        batch: batch.clone(),
                    },
                ));
            }
        }
        // Whatever was being decided was about this epoch or an earlier one.
        self.phase = Phase::Idle { backoff: 0 };
        self.probe = true;
        self.ticks = 0;
    }

    fn on_refused(&mut self, epoch: u64, ballot: Option<Ballot>, refusal: Refusal) {
        if let Refusal::Promised(p) = refusal {
            self.round = self.round.max(p.round);
        }
        let current = match &self.phase {
            Phase::Preparing {
                epoch: e,
                ballot: b,
                ..
            } => (*e, Some(*b)) == (epoch, ballot),
            Phase::Accepting {
                ballot: b, batch, ..
            } => (batch.epoch(), Some(*b)) == (epoch, ballot),
            Phase::Idle { .. } => false,
        };
        if !current {
            return;
        }
        match refusal {
            Refusal::Promised(p) => {
                // Another coordinator is deciding this epoch: let it, then ask again.
                let rank = self.members.iter().position(|m| *m == self.id).unwrap_or(0);
                let rank = u32::try_from(rank).unwrap_or(u32::MAX);
                let backoff = self.resend_ticks.saturating_mul(rank.saturating_add(2));
                self.phase = Phase::Idle {
                    backoff: if p.proposer == self.id { 0 } else { backoff },
                };
            }
            Refusal::Holds { writer, held } => {
                let Phase::Accepting { batch, .. } = &self.phase else {
                    return;
                };
                let Some(c) = batch.certificates().iter().find(|c| c.writer == writer) else {
                    return;
                };
                if held.exceeds(&c.holdings) {
                    // The certificate was wrong: that writer is not retired.
                    let c = *c;
                    self.pending.remove(&writer);
                    self.refused.push(c);
                    self.phase = Phase::Idle { backoff: 0 };
                }
                // Otherwise the member lacks some of the writer's writes; the accept
                // is resent until repair has brought it up.
            }
            Refusal::Malformed => self.phase = Phase::Idle { backoff: 0 },
        }
    }
}
