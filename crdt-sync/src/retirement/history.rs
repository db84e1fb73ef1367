//! The batches chosen so far, epoch by epoch.

use super::Batch;
use crdt_core::ReplicaId;
use std::collections::BTreeMap;

/// The batches of epochs 1, 2, … in order, and which epoch retired each writer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct History {
    batches: Vec<Batch>,
    retired: BTreeMap<ReplicaId, u64>,
}

impl History {
    /// The number of epochs held.
    pub(crate) fn epoch(&self) -> u64 {
        self.batches.len() as u64
    }

    /// The batch of `epoch` (from 1).
    pub(crate) fn get(&self, epoch: u64) -> Option<&Batch> {
        let i = usize::try_from(epoch.checked_sub(1)?).ok()?;
        self.batches.get(i)
    }

    /// The epoch that retired `writer`.
    pub(crate) fn retired_in(&self, writer: ReplicaId) -> Option<u64> {
        self.retired.get(&writer).copied()
    }

    /// Where the ranges of collapse counters end: the next batch's base.
    pub(crate) fn records_end(&self) -> u64 {
        self.batches.last().map_or(0, Batch::end)
    }

    /// Appends `batch` if it is the next epoch's; returns whether it was.
    pub(crate) fn push(&mut self, batch: &Batch) -> bool {
        if batch.epoch() != self.epoch() + 1 {
            return false;
        }
        for c in batch.certificates() {
            self.retired.insert(c.writer, batch.epoch());
        }
        self.batches.push(batch.clone());
        true
    }
}
