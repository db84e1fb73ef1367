//! One round of the driver: everything that was ready when it woke (commands, peer
//! frames, a tick), handled together, then flushed once.
//!
//! Per document, the round's changes (local writes and what peers' messages added)
//! are joined into **one** log entry, and its leader is polled for messages **once**,
//! so the interval it sends each peer carries every write of the round. With 64
//! concurrent clients this turns 64 log rows, 64 peer messages and 64 commits on the
//! receiving leader into one each; with one client a round holds one write and
//! nothing waits for company (a round never waits for more work to arrive).
//!
//! The rule that makes a write durable is unchanged: its answer is queued on the store
//! thread after the log entry that holds it, so it is sent only once that entry is
//! committed (and fsynced under `--fsync always`).

use crate::answer::PendingAnswer;
use crdt_core::{Crdt, DeltaCrdt, Keyspace};
use std::collections::{BTreeMap, BTreeSet};

/// At most this many commands (and as many peer events) join a round after the event
/// that started it, so a flood cannot delay the flush, or starve ticks, for long.
pub(crate) const ROUND_MAX: usize = 256;

/// A document's changes in this round that are not yet in its log.
pub(crate) struct PendingLog {
    /// The round's deltas joined (keeping the OR-Set removal hints of each).
    pub(crate) delta: Keyspace,
    /// The local writes to answer once the entry holding `delta` is committed.
    pub(crate) replies: Vec<PendingAnswer>,
}

/// The work a round leaves for its flush.
#[derive(Default)]
pub(crate) struct Round {
    logs: BTreeMap<String, PendingLog>,
    dirty: BTreeSet<String>,
}

impl Round {
    /// Records a change of `doc` for its log entry; `reply` (a local write) is answered
    /// once that entry is durable.
    pub(crate) fn change(&mut self, doc: &str, delta: &Keyspace, reply: Option<PendingAnswer>) {
        let pending = self
            .logs
            .entry(doc.to_string())
            .or_insert_with(|| PendingLog {
                delta: Keyspace::empty_delta(),
                replies: Vec::new(),
            });
        pending.delta.merge(delta);
        pending.replies.extend(reply);
        self.dirty.insert(doc.to_string());
    }

    /// Notes that `doc`'s leader may have messages for peers (or a checkpoint due).
    pub(crate) fn touch(&mut self, doc: &str) {
        if !self.dirty.contains(doc) {
            self.dirty.insert(doc.to_string());
        }
    }

    /// Whether the round left anything to flush.
    pub(crate) fn is_empty(&self) -> bool {
        self.dirty.is_empty() && self.logs.is_empty()
    }

    /// Takes the round's work: the pending log entries, then every touched document.
    pub(crate) fn take(&mut self) -> (BTreeMap<String, PendingLog>, BTreeSet<String>) {
        (
            std::mem::take(&mut self.logs),
            std::mem::take(&mut self.dirty),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_core::{KeyspaceOp, ReplicaId, ValueOp};

    fn write(ks: &mut Keyspace, key: &str, op: ValueOp) -> Keyspace {
        ks.apply(
            ReplicaId::new(1),
            KeyspaceOp::Write {
                key: key.into(),
                op,
            },
        )
        .unwrap()
    }

    /// A round's joined entry replays to the same state as its writes one by one,
    /// including an insert and a remove of one element in one round.
    #[test]
    fn a_rounds_joined_entry_replays_to_the_same_state() {
        let mut origin = Keyspace::new();
        let mut round = Round::default();
        let d1 = write(&mut origin, "s", ValueOp::OrSetInsert("a".into()));
        let d2 = write(&mut origin, "c", ValueOp::GCounterIncrement(3));
        let d3 = write(&mut origin, "s", ValueOp::OrSetRemove("a".into()));
        let d4 = write(&mut origin, "s", ValueOp::OrSetInsert("b".into()));
        for d in [&d1, &d2, &d3, &d4] {
            round.change("doc", d, None);
        }
        round.touch("other");
        let (logs, dirty) = round.take();
        assert!(round.is_empty());
        assert_eq!(dirty.into_iter().collect::<Vec<_>>(), ["doc", "other"]);
        let mut replica = Keyspace::new();
        replica.merge(&logs["doc"].delta);
        assert_eq!(replica, origin);
    }
}
