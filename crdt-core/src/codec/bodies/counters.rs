//! Counters.
//!
//! GCounter: `len`, then `len` × (replica, count >= 1), replicas ascending.
//! PnCounter: `len`, then `len` × (replica, increments, decrements), replicas
//! ascending, never both zero.

use super::super::{
    DecodeError, Invalid, Limit, Reader, ValueError, WireFormat, Writer, TAG_GCOUNTER,
    TAG_PNCOUNTER,
};
use super::causal::read_vv;
use super::Ascending;
use crate::{GCounter, PnCounter, ReplicaId};

impl WireFormat for GCounter {
    const TYPE_TAG: u8 = TAG_GCOUNTER;

    fn encode_body(&self, w: &mut Writer) -> Result<(), ValueError> {
        // Same layout as a version vector: sorted, non-zero entries.
        w.len(self.replica_count());
        for (replica, count) in self.iter() {
            w.replica(replica);
            w.varint(count);
        }
        Ok(())
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let vv = read_vv(r)?;
        Ok(GCounter::from_sorted(vv.iter().collect()))
    }
}

impl WireFormat for PnCounter {
    const TYPE_TAG: u8 = TAG_PNCOUNTER;

    fn encode_body(&self, w: &mut Writer) -> Result<(), ValueError> {
        w.len(self.replica_count());
        for (replica, p, n) in self.iter() {
            w.replica(replica);
            w.varint(p);
            w.varint(n);
        }
        Ok(())
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.len(Limit::Replicas, 3)?;
        let mut entries = Vec::with_capacity(super::prealloc::<(ReplicaId, (u64, u64))>(n));
        let mut order = Ascending::new("PN-counter replicas");
        for _ in 0..n {
            let replica = r.replica()?;
            order.next(replica)?;
            let (p, m) = (r.varint()?, r.varint()?);
            if (p, m) == (0, 0) {
                return Err(Invalid::ZeroCounter.into());
            }
            entries.push((replica, (p, m)));
        }
        Ok(PnCounter::from_sorted(entries))
    }
}
