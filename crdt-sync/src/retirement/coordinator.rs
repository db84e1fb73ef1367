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
    /// This life of the coordinator: part of every ballot it proposes under.
    life: u64,
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
    /// Ticks since the coordinator started.
    now: u64,
    /// When the current accept began.
    accepting_since: u64,
    /// Writers of the current batch some member holds less of than certified.
    lagging: BTreeSet<ReplicaId>,
    /// Writers left out of batches until the given tick: members lacked their writes
    /// for longer than [`LAG_PATIENCE_PERIODS`] resend periods, so they wait while the
    /// other writers are retired without them.
    deferred: BTreeMap<ReplicaId, u64>,
    /// How often each pending writer was left out so far.
    deferrals: BTreeMap<ReplicaId, u32>,
    /// Whether to ask the members about the next epoch although no certificate is
    /// pending: at start, and after a member reported a batch it accepted that may
    /// have been chosen.
    probe: bool,
    /// Certificates some member refused because it holds more of the writer.
    refused: Vec<Certificate>,
    /// A chosen batch that a member can no longer commit, if one was met.
    stalled: Option<Stall>,
    outbox: VecDeque<(ReplicaId, RetirementMessage)>,
}

/// A batch that may have been chosen (every member accepted it before) and that a
/// member now refuses because it holds **more** of a writer than the batch certifies:
/// the certificate undercounted, and a write arrived after every member had accepted.
/// The batch cannot be changed (it may be committed somewhere), and that member
/// cannot apply it, so retirement stops for the cluster until an operator re-issues
/// the extra writes (`docs/RETIREMENT.md` §9). Reported by
/// [`Coordinator::stalled`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stall {
    /// The epoch of the batch.
    pub epoch: u64,
    /// The writer the member holds more of.
    pub writer: ReplicaId,
    /// What it holds.
    pub held: super::Holdings,
}

/// A member's promise: the batch it accepted for the epoch (with its ballot), and
/// where its committed ranges end.
type Promised = (Option<(Ballot, Batch)>, u64);

/// How many resend periods an accept waits for members that lack a writer's writes
/// before that writer is left out of the batch (and out of batches for four times as
/// long), so that one writer whose writes are slow to arrive, or never do (a wrong
/// certificate that overcounts), does not hold every other retirement back.
pub const LAG_PATIENCE_PERIODS: u64 = 8;

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
    /// Phase 2: the members that accepted `batch` under `ballot`. `inherited`: every
    /// promise reported accepting this batch (it may have been chosen), so it cannot
    /// be changed.
    Accepting {
        ballot: Ballot,
        batch: Batch,
        accepted: BTreeSet<ReplicaId>,
        inherited: bool,
    },
}

impl Coordinator {
    /// A coordinator `id` of the cluster `members` (itself included if it is one),
    /// collapsing into `collapse`, resending unanswered messages every
    /// `resend_ticks` ticks (at least 1).
    ///
    /// `life` must differ between any two coordinators started under one `id` (a
    /// restart forgets which ballots it used; two lives proposing under one ballot
    /// could get two batches chosen in one epoch): pass the leader's incarnation, or a
    /// counter the host stores before starting one.
    #[must_use]
    pub fn new(
        id: ReplicaId,
        life: u64,
        members: impl IntoIterator<Item = ReplicaId>,
        collapse: ReplicaId,
        resend_ticks: u32,
    ) -> Self {
        let mut members: Vec<ReplicaId> = members.into_iter().collect();
        members.sort_unstable();
        members.dedup();
        Self {
            id,
            life,
            members,
            collapse,
            resend_ticks: resend_ticks.max(1),
            round: 0,
            pending: BTreeMap::new(),
            chosen: History::default(),
            member_epochs: BTreeMap::new(),
            phase: Phase::Idle { backoff: 0 },
            ticks: 0,
            now: 0,
            accepting_since: 0,
            lagging: BTreeSet::new(),
            deferred: BTreeMap::new(),
            deferrals: BTreeMap::new(),
            probe: true,
            refused: Vec::new(),
            stalled: None,
            outbox: VecDeque::new(),
        }
    }

    /// Asks for `certificate`'s writer to be retired. Returns `false` (and ignores it)
    /// if the writer is retired already or is the collapse id, or if this very
    /// certificate was refused before ([`Coordinator::refused`]). A newer certificate
    /// of a pending writer replaces the older one.
    pub fn certify(&mut self, certificate: Certificate) -> bool {
        if certificate.writer == self.collapse
            || self.retired_in(certificate.writer).is_some()
            || self.refused.contains(&certificate)
        {
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

    /// The chosen batch that a member can no longer commit, if one was met (see
    /// [`Stall`]).
    #[must_use]
    pub fn stalled(&self) -> Option<Stall> {
        self.stalled
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
        self.now += 1;
        let now = self.now;
        self.deferred.retain(|_, until| *until > now);
        let resend = self.ticks >= self.resend_ticks;
        let patience = LAG_PATIENCE_PERIODS * u64::from(self.resend_ticks);
        if matches!(
            self.phase,
            Phase::Accepting {
                inherited: false,
                ..
            }
        ) && !self.lagging.is_empty()
            && now - self.accepting_since >= patience
        {
            // Give up on the lagging writers for a while (twice as long each time a
            // writer is left out, up to 64 patience periods); propose the others again.
            for w in std::mem::take(&mut self.lagging) {
                let times = self.deferrals.entry(w).or_insert(0);
                let wait = (4 * patience) << (*times).min(4);
                *times += 1;
                self.deferred.insert(w, now + wait);
            }
            self.phase = Phase::Idle { backoff: 0 };
        }
        let ready = self.ready().next().is_some();
        match &mut self.phase {
            Phase::Idle { backoff } => {
                *backoff = backoff.saturating_sub(1);
                if *backoff == 0 && (self.probe || ready) {
                    self.prepare();
                }
            }
            Phase::Preparing { .. } | Phase::Accepting { .. } if resend => {
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
            } => self.on_refused(*epoch, *ballot, refusal),
            RetirementMessage::Prepare { .. }
            | RetirementMessage::Accept { .. }
            | RetirementMessage::Commit { .. } => {}
        }
    }

    /// Pending certificates not deferred: what a new batch may hold.
    fn ready(&self) -> impl Iterator<Item = &Certificate> {
        self.pending
            .values()
            .filter(|c| !self.deferred.contains_key(&c.writer))
    }

    fn member_epoch(&self, member: ReplicaId) -> u64 {
        self.member_epochs.get(&member).copied().unwrap_or(0)
    }

    fn saw_member_epoch(&mut self, member: ReplicaId, epoch: u64) {
        let e = self.member_epochs.entry(member).or_insert(0);
        *e = (*e).max(epoch);
        if epoch > self.epoch() {
            // Epochs were chosen that this coordinator has not learned: ask.
            self.probe = true;
        }
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
            life: self.life,
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
        let (msg, answered): (RetirementMessage, Vec<ReplicaId>) = match &self.phase {
            Phase::Idle { .. } => return,
            Phase::Preparing {
                epoch,
                ballot,
                promises,
            } => (
                RetirementMessage::Prepare {
                    epoch: *epoch,
                    ballot: *ballot,
                },
                promises.keys().copied().collect(),
            ),
            Phase::Accepting {
                ballot,
                batch,
                accepted,
                ..
            } => (
                RetirementMessage::Accept {
                    ballot: *ballot,
                    batch: batch.clone(),
                },
                accepted.iter().copied().collect(),
            ),
        };
        for &m in &self.members {
            if !(only_missing && answered.contains(&m)) {
                self.outbox.push_back((m, msg.clone()));
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
        if accepted.as_ref().is_some_and(|(_, a)| a.epoch() != epoch) {
            // No member sends that: a malformed promise, not counted.
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
        let inherited = unanimous.is_some();
        let batch = if let Some(batch) = unanimous {
            Some(batch.clone())
        } else {
            // No batch was chosen for this epoch (a chosen one is in every promise),
            // so a new one is free. Members at one epoch agree on where ranges end.
            let base = promises.values().map(|(_, end)| *end).max().unwrap_or(0);
            self.new_batch(epoch, base)
        };
        self.probe = false;
        match batch {
            Some(batch) => {
                self.accepting_since = self.now;
                self.lagging.clear();
                self.phase = Phase::Accepting {
                    ballot,
                    batch,
                    accepted: BTreeSet::new(),
                    inherited,
                };
                self.send_phase(false);
            }
            None => self.phase = Phase::Idle { backoff: 0 },
        }
    }

    /// A batch of `epoch` from `base` with as many ready certificates as fit (at most
    /// [`BATCH_CERTIFICATES_MAX`], ranges within `u64`); a certificate whose range
    /// cannot fit even alone is refused. `None` if none is ready.
    fn new_batch(&mut self, epoch: u64, base: u64) -> Option<Batch> {
        let mut certificates = Vec::new();
        let mut end = base;
        let mut unfit = Vec::new();
        for c in self.ready() {
            if certificates.len() == BATCH_CERTIFICATES_MAX {
                break;
            }
            match end.checked_add(c.holdings.held.last) {
                Some(e) => {
                    end = e;
                    certificates.push(*c);
                }
                None if base.checked_add(c.holdings.held.last).is_none() => unfit.push(*c),
                None => {}
            }
        }
        for c in unfit {
            self.pending.remove(&c.writer);
            self.refuse(c);
        }
        if certificates.is_empty() {
            return None;
        }
        Batch::new(epoch, base, certificates, self.collapse).ok()
    }

    /// Records a refused certificate (once).
    fn refuse(&mut self, c: Certificate) {
        self.deferrals.remove(&c.writer);
        if !self.refused.contains(&c) {
            self.refused.push(c);
        }
    }

    fn on_accepted(&mut self, from: ReplicaId, epoch: u64, ballot: Ballot) {
        let Phase::Accepting {
            ballot: b,
            batch,
            accepted,
            ..
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
            self.deferrals.remove(&c.writer);
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

    fn on_refused(&mut self, epoch: u64, ballot: Option<Ballot>, refusal: &Refusal) {
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
                // Another coordinator is deciding this epoch: let it, then ask again
                // (what it leaves accepted may have been chosen).
                let rank = self.members.iter().position(|m| *m == self.id).unwrap_or(0);
                let rank = u32::try_from(rank).unwrap_or(u32::MAX);
                let backoff = self.resend_ticks.saturating_mul(rank.saturating_add(2));
                self.probe = true;
                self.phase = Phase::Idle {
                    backoff: if p.proposer == self.id { 0 } else { backoff },
                };
            }
            Refusal::Holds(differ) => {
                let Phase::Accepting {
                    batch, inherited, ..
                } = &self.phase
                else {
                    return;
                };
                let (epoch, inherited) = (batch.epoch(), *inherited);
                let mut wrong = Vec::new();
                for (writer, held) in differ {
                    let Some(c) = batch.certificates().iter().find(|c| c.writer == *writer) else {
                        continue;
                    };
                    if !held.exceeds(&c.holdings) {
                        // The member lacks some of the writer's writes: the accept is
                        // resent until repair has brought it up, for at most
                        // `LAG_PATIENCE_PERIODS` resend periods (see `tick`).
                        self.lagging.insert(*writer);
                    } else if inherited {
                        // The batch may be chosen: it cannot change, and this member
                        // cannot apply it. Keep resending; report it.
                        self.stalled = Some(Stall {
                            epoch,
                            writer: *writer,
                            held: *held,
                        });
                    } else {
                        wrong.push(*c);
                    }
                }
                if !wrong.is_empty() {
                    // The certificates were wrong: those writers are not retired.
                    for c in wrong {
                        self.pending.remove(&c.writer);
                        self.refuse(c);
                    }
                    self.phase = Phase::Idle { backoff: 0 };
                }
            }
            Refusal::Malformed => {
                self.probe = true;
                self.phase = Phase::Idle { backoff: 0 };
            }
        }
    }
}
