//! A member's side of the decision: it promises, accepts and commits batches.

use super::{Ballot, Batch, History, Holdings, Refusal, RetirementMessage};
use crdt_core::ReplicaId;

/// One member's part in retirement decisions (`docs/RETIREMENT.md` §5.1): an acceptor
/// and learner of one batch per epoch, in which **every** member is the quorum.
///
/// Sans-IO like [`Leader`](crate::Leader): [`Member::handle`] takes a coordinator's
/// message and the member's current holdings and returns a [`MemberStep`]. Everything
/// in a `Member` is durable state: when a step says `changed`, the host stores the
/// member, and applies the committed batch's records to its replicated state, **in one
/// transaction, before** it sends the reply. Like any Paxos acceptor, a member must
/// never forget a promise or an acceptance: restoring it from an older copy (a backup)
/// while a decision may be in progress is not safe, and is not supported yet (see
/// `docs/RETIREMENT.md` §9).
///
/// A member keeps every committed batch for ever: content naming a retired writer can
/// arrive at any time (a browser profile restored after a month), and a member that
/// missed commits fetches them from the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    collapse: ReplicaId,
    /// Its committed batches, and the epoch that retired each writer.
    committed: History,
    /// The highest ballot promised for the next epoch.
    promised: Option<Ballot>,
    /// The batch accepted for the next epoch, with its ballot.
    accepted: Option<(Ballot, Batch)>,
}

/// What handling one message did. `#[must_use]`: when `changed`, the member and the
/// committed batch must be stored before `reply` is sent.
#[must_use = "persist the member (and apply `commit`) before sending `reply`"]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberStep {
    /// The answer to send back to the coordinator.
    pub reply: Option<RetirementMessage>,
    /// The batch committed by this message: apply its records
    /// ([`Batch::records`]) to the replicated state in the transaction that stores
    /// the member.
    pub commit: Option<Batch>,
    /// Whether the member's durable state changed.
    pub changed: bool,
}

impl MemberStep {
    fn reply(reply: RetirementMessage) -> Self {
        Self {
            reply: Some(reply),
            ..Self::default()
        }
    }
}

impl Member {
    /// A member that has committed no batch; retired writers collapse into `collapse`
    /// (the cluster's reserved id, under which no process ever writes).
    #[must_use]
    pub fn new(collapse: ReplicaId) -> Self {
        Self {
            collapse,
            committed: History::default(),
            promised: None,
            accepted: None,
        }
    }

    /// A member from its decoded parts.
    pub(crate) fn from_parts(
        collapse: ReplicaId,
        committed: History,
        promised: Option<Ballot>,
        accepted: Option<(Ballot, Batch)>,
    ) -> Self {
        Self {
            collapse,
            committed,
            promised,
            accepted,
        }
    }

    /// The highest ballot promised for the next epoch.
    #[must_use]
    pub fn promised(&self) -> Option<Ballot> {
        self.promised
    }

    /// The collapse id.
    #[must_use]
    pub const fn collapse(&self) -> ReplicaId {
        self.collapse
    }

    /// The number of batches committed.
    #[must_use]
    pub fn epoch(&self) -> u64 {
        self.committed.epoch()
    }

    /// The batch committed in `epoch` (from 1).
    #[must_use]
    pub fn committed(&self, epoch: u64) -> Option<&Batch> {
        self.committed.get(epoch)
    }

    /// The epoch that retired `writer`, if one did: its content is translated by that
    /// epoch's records, and anything it holds beyond them is refused.
    #[must_use]
    pub fn retired_in(&self, writer: ReplicaId) -> Option<u64> {
        self.committed.retired_in(writer)
    }

    /// Where the committed ranges of collapse counters end: the next batch's base.
    #[must_use]
    pub fn records_end(&self) -> u64 {
        self.committed.records_end()
    }

    /// The batch accepted for the next epoch, if any, with its ballot.
    #[must_use]
    pub fn accepted(&self) -> Option<&(Ballot, Batch)> {
        self.accepted.as_ref()
    }

    /// Handles a coordinator's message. `holdings` says what this member holds of a
    /// writer now: its replicated state's [`crdt_core::Retire::held`] and its causal
    /// token's entry. Messages a member does not answer (answers of other members)
    /// return an empty step.
    pub fn handle(
        &mut self,
        msg: &RetirementMessage,
        holdings: impl Fn(ReplicaId) -> Holdings,
    ) -> MemberStep {
        match msg {
            RetirementMessage::Prepare { epoch, ballot } => self.on_prepare(*epoch, *ballot),
            RetirementMessage::Accept { ballot, batch } => self.on_accept(*ballot, batch, holdings),
            RetirementMessage::Commit { batch } => self.on_commit(batch, holdings),
            _ => MemberStep::default(),
        }
    }

    /// The answer to a message about `epoch` when it is not the next one: the batch
    /// committed then, or that this member must catch up first.
    fn not_next(&self, epoch: u64) -> Option<MemberStep> {
        if let Some(batch) = self.committed(epoch) {
            return Some(MemberStep::reply(RetirementMessage::Chosen {
                batch: batch.clone(),
            }));
        }
        (epoch != self.epoch() + 1).then(|| {
            MemberStep::reply(RetirementMessage::Behind {
                epoch: self.epoch(),
            })
        })
    }

    fn on_prepare(&mut self, epoch: u64, ballot: Ballot) -> MemberStep {
        if let Some(step) = self.not_next(epoch) {
            return step;
        }
        match self.promised {
            Some(p) if p > ballot => MemberStep::reply(RetirementMessage::Refused {
                epoch,
                ballot: Some(ballot),
                refusal: Refusal::Promised(p),
            }),
            promised => {
                self.promised = Some(ballot);
                MemberStep {
                    reply: Some(RetirementMessage::Promise {
                        epoch,
                        ballot,
                        accepted: self.accepted.clone(),
                        records_end: self.records_end(),
                    }),
                    commit: None,
                    changed: promised != Some(ballot),
                }
            }
        }
    }

    fn on_accept(
        &mut self,
        ballot: Ballot,
        batch: &Batch,
        holdings: impl Fn(ReplicaId) -> Holdings,
    ) -> MemberStep {
        let epoch = batch.epoch();
        if let Some(step) = self.not_next(epoch) {
            return step;
        }
        let refused = |refusal| {
            MemberStep::reply(RetirementMessage::Refused {
                epoch,
                ballot: Some(ballot),
                refusal,
            })
        };
        if let Some(p) = self.promised.filter(|p| *p > ballot) {
            return refused(Refusal::Promised(p));
        }
        if let Err(refusal) = self.check(batch, holdings, Check::Exact) {
            return refused(refusal);
        }
        let changed = self.promised != Some(ballot)
            || self
                .accepted
                .as_ref()
                .map_or(true, |(b, a)| *b != ballot || a != batch);
        self.promised = Some(ballot);
        self.accepted = Some((ballot, batch.clone()));
        MemberStep {
            reply: Some(RetirementMessage::Accepted { epoch, ballot }),
            commit: None,
            changed,
        }
    }

    fn on_commit(&mut self, batch: &Batch, holdings: impl Fn(ReplicaId) -> Holdings) -> MemberStep {
        let epoch = batch.epoch();
        if epoch <= self.epoch() {
            return MemberStep::reply(RetirementMessage::Committed {
                epoch: self.epoch(),
            });
        }
        if let Some(step) = self.not_next(epoch) {
            return step;
        }
        // Checked again even if this member accepted the batch: its holdings cannot
        // have grown since if the certificates were right, and a wrong one must not
        // collapse writes that arrived after it (the value would refuse the records).
        // Holding less is no reason to wait: the batch was chosen, so every member
        // held every write of it when it accepted, and one that lost some since (a
        // leader restored from an older checkpoint) gets them back from its peers,
        // renamed, once it has committed (before, it could not take them in).
        if let Err(refusal) = self.check(batch, holdings, Check::NoMore) {
            return MemberStep::reply(RetirementMessage::Refused {
                epoch,
                ballot: self.accepted.as_ref().map(|(b, _)| *b),
                refusal,
            });
        }
        let pushed = self.committed.push(batch);
        debug_assert!(pushed, "the next epoch's batch");
        self.promised = None;
        self.accepted = None;
        MemberStep {
            reply: Some(RetirementMessage::Committed { epoch }),
            commit: Some(batch.clone()),
            changed: true,
        }
    }

    /// Whether this member may retire `batch`'s writers: the batch continues its
    /// committed ranges, retires no writer twice and not the collapse id, and the
    /// member holds exactly each writer's certified holdings (§4.2) to accept, and
    /// no more than them to commit.
    fn check(
        &self,
        batch: &Batch,
        holdings: impl Fn(ReplicaId) -> Holdings,
        how: Check,
    ) -> Result<(), Refusal> {
        if batch.base() != self.records_end() || batch.records(self.collapse).is_err() {
            return Err(Refusal::Malformed);
        }
        if batch
            .certificates()
            .iter()
            .any(|c| self.committed.retired_in(c.writer).is_some())
        {
            return Err(Refusal::Malformed);
        }
        #[cfg(feature = "sabotage")]
        if crdt_core::sabotage::active(crdt_core::sabotage::Bug::RetireUnchecked) {
            return Ok(());
        }
        // Every writer that differs, so the coordinator learns them all at once.
        let differ: Vec<(ReplicaId, Holdings)> = batch
            .certificates()
            .iter()
            .map(|c| (c.writer, holdings(c.writer), c.holdings))
            .filter(|(_, held, certified)| match how {
                Check::Exact => held != certified,
                Check::NoMore => held.exceeds(certified),
            })
            .map(|(w, held, _)| (w, held))
            .collect();
        if differ.is_empty() {
            Ok(())
        } else {
            Err(Refusal::Holds(differ))
        }
    }
}

/// How a member's holdings must match a batch's certificates.
#[derive(Clone, Copy)]
enum Check {
    /// Exactly (to accept).
    Exact,
    /// No part above (to commit a chosen batch).
    NoMore,
}
