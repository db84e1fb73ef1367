//! Version vectors and causal contexts.
//!
//! VersionVector: `len`, then `len` × (replica, counter >= 1), replicas ascending.
//! CausalContext: its version vector, then `len` × (replica, `runs`, `runs` × (gap,
//! extra)) for the dot cloud, replicas ascending: each run starts `gap` counters after
//! the first one that could not have been folded (`floor + 2`, where `floor` is the
//! vector's entry, then the previous run's end) and holds `extra + 1` counters. Runs
//! therefore cannot be unsorted, overlapping, adjacent or foldable.

use super::super::{
    DecodeError, Invalid, Limit, Reader, ValueError, WireFormat, Writer, TAG_CAUSAL_CONTEXT,
    TAG_VERSION_VECTOR,
};
use super::Ascending;
use crate::{CausalContext, ReplicaId, VersionVector};

pub(crate) fn write_vv(w: &mut Writer, vv: &VersionVector) {
    w.len(vv.len());
    for (r, c) in vv.iter() {
        w.replica(r);
        w.varint(c);
    }
}

pub(crate) fn read_vv(r: &mut Reader<'_>) -> Result<VersionVector, DecodeError> {
    let n = r.len(Limit::Replicas, 2)?;
    let mut entries = Vec::with_capacity(super::prealloc::<(ReplicaId, u64)>(n));
    let mut order = Ascending::new("version vector replicas");
    for _ in 0..n {
        let id = r.replica()?;
        order.next(id)?;
        entries.push((id, r.counter()?));
    }
    Ok(VersionVector::from_sorted(entries))
}

pub(crate) fn write_ctx(w: &mut Writer, ctx: &CausalContext) {
    write_vv(w, ctx.version_vector());
    let clouds: Vec<_> = ctx.cloud_runs().collect();
    w.len(clouds.len());
    for (replica, runs) in clouds {
        w.replica(replica);
        w.len(runs.len());
        let mut floor = ctx.version_vector().get(replica);
        for &(first, last) in runs {
            // Invariant: first >= floor + 2, so neither subtraction underflows.
            w.varint(first - floor - 2);
            w.varint(last - first);
            floor = last;
        }
    }
}

pub(crate) fn read_ctx(r: &mut Reader<'_>) -> Result<CausalContext, DecodeError> {
    let vv = read_vv(r)?;
    let n = r.len(Limit::Replicas, 3)?;
    let mut cloud = Vec::with_capacity(super::prealloc::<(ReplicaId, Vec<(u64, u64)>)>(n));
    let mut order = Ascending::new("causal context cloud replicas");
    for _ in 0..n {
        let replica = r.replica()?;
        order.next(replica)?;
        let k = r.len(Limit::Elements, 2)?;
        if k == 0 {
            return Err(Invalid::NonCanonical("a cloud entry without runs").into());
        }
        let mut runs = Vec::with_capacity(super::prealloc::<(u64, u64)>(k));
        let mut floor = vv.get(replica);
        for _ in 0..k {
            let gap = r.varint()?;
            let extra = r.varint()?;
            let first = floor
                .checked_add(2)
                .and_then(|x| x.checked_add(gap))
                .ok_or(Invalid::Overflow("a cloud run start"))?;
            let last = first
                .checked_add(extra)
                .ok_or(Invalid::Overflow("a cloud run end"))?;
            runs.push((first, last));
            floor = last;
        }
        cloud.push((replica, runs));
    }
    Ok(CausalContext::from_parts(vv, cloud))
}

impl WireFormat for VersionVector {
    const TYPE_TAG: u8 = TAG_VERSION_VECTOR;

    fn encode_body(&self, w: &mut Writer) -> Result<(), ValueError> {
        write_vv(w, self);
        Ok(())
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_vv(r)
    }
}

impl WireFormat for CausalContext {
    const TYPE_TAG: u8 = TAG_CAUSAL_CONTEXT;

    fn encode_body(&self, w: &mut Writer) -> Result<(), ValueError> {
        write_ctx(w, self);
        Ok(())
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_ctx(r)
    }
}
