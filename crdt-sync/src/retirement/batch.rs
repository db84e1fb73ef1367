//! A batch: the writers one epoch retires, and where their dots go.

use super::Certificate;
use crdt_core::{CoreError, ReplicaId, Retirement};

/// The writers retired together in one epoch, each with its certified holdings.
///
/// Its records give the writers consecutive ranges of the collapse id's dot counters,
/// in writer order, from `base` (where the previous epoch's ranges ended). So every
/// member that commits the batch computes the same records and the same renamed
/// values.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Batch {
    epoch: u64,
    base: u64,
    certificates: Vec<Certificate>,
}

impl Batch {
    /// The batch committing epoch `epoch`, whose ranges start after collapse counter
    /// `base`. Certificates are sorted by writer; a writer certified twice keeps the
    /// first certificate given.
    ///
    /// # Errors
    /// [`CoreError::InvalidRetirement`] if the ranges would pass `u64::MAX`, or a
    /// certificate names `collapse` itself.
    pub fn new(
        epoch: u64,
        base: u64,
        mut certificates: Vec<Certificate>,
        collapse: ReplicaId,
    ) -> Result<Self, CoreError> {
        certificates.sort_by_key(|c| c.writer);
        certificates.dedup_by_key(|c| c.writer);
        let batch = Self {
            epoch,
            base,
            certificates,
        };
        batch.records(collapse)?;
        Ok(batch)
    }

    /// A batch of certificates already sorted by writer, without duplicates, whose
    /// ranges fit (the decoder checked both).
    pub(crate) fn from_sorted(epoch: u64, base: u64, certificates: Vec<Certificate>) -> Self {
        Self {
            epoch,
            base,
            certificates,
        }
    }

    /// The epoch the batch commits.
    #[must_use]
    pub const fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Where its ranges of collapse counters start (exclusive).
    #[must_use]
    pub const fn base(&self) -> u64 {
        self.base
    }

    /// The retired writers' certificates, by writer.
    #[must_use]
    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// Whether the batch retires `writer`.
    #[must_use]
    pub fn retires(&self, writer: ReplicaId) -> bool {
        self.certificates
            .binary_search_by_key(&writer, |c| c.writer)
            .is_ok()
    }

    /// The collapse counter its last range ends at: the next epoch's base.
    #[must_use]
    pub fn end(&self) -> u64 {
        // `new` checked that the ranges fit.
        self.certificates
            .iter()
            .fold(self.base, |end, c| end.saturating_add(c.holdings.held.last))
    }

    /// The records to apply to every value ([`crdt_core::Retire::retire_all`]):
    /// each writer's dots move to the next range of `collapse`'s counters.
    ///
    /// # Errors
    /// [`CoreError::InvalidRetirement`] if the ranges would pass `u64::MAX` or a
    /// certificate names `collapse`.
    pub fn records(&self, collapse: ReplicaId) -> Result<Vec<Retirement>, CoreError> {
        let mut base = self.base;
        let mut records = Vec::with_capacity(self.certificates.len());
        for c in &self.certificates {
            let record = Retirement::of(c.writer, c.holdings.held, collapse, base)?;
            base = record.end();
            records.push(record);
        }
        Ok(records)
    }
}
