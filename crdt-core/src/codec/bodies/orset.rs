//! OR-Sets.
//!
//! Layout: the causal context; `n`, then the `n` elements ascending; the dot table
//! (`k`, then `k` replicas ascending, each used by some dot); the dot groups; the
//! removal hints (flag 0 = none, or 1 then `len` elements ascending).
//!
//! Dot groups cover the elements in order. A group starting with `h >= 1` is a *run*:
//! the next `h` elements each have exactly one dot, `(table[idx], start + i)`, written
//! as `h, idx, start`. A run never continues the previous run (same replica, next
//! counter): runs are maximal, so a set written by one replica in order costs a few
//! bytes of dots in total. A group starting with 0 is one element with several dots:
//! `0, m >= 2`, then `m` × (idx, counter), ascending.

use super::super::{
    DecodeError, Invalid, Limit, Reader, ValueError, WireFormat, WireValue, Writer, TAG_ORSET,
};
use super::causal::{read_ctx, write_ctx};
use super::{read_flag, Ascending};
use crate::dot_store::DotStore;
use crate::dots::Dots;
use crate::{Dot, OrSet, ReplicaId};
use std::collections::BTreeSet;

/// A run of single-dot elements being written.
struct Run {
    idx: usize,
    start: u64,
    len: u64,
}

impl Run {
    fn write(&self, w: &mut Writer) {
        w.varint(self.len);
        w.len(self.idx);
        w.varint(self.start);
    }
}

impl<T: WireValue> WireFormat for OrSet<T> {
    const TYPE_TAG: u8 = {
        assert!(T::KIND <= 0x0F, "WireValue::KIND must be in 0..=15");
        TAG_ORSET | T::KIND
    };

    fn encode_body(&self, w: &mut Writer) -> Result<(), ValueError> {
        write_ctx(w, self.context());
        let entries = self.entries();
        w.len(entries.len());
        for value in entries.keys() {
            w.postcard(value)?;
        }
        let table: Vec<ReplicaId> = entries
            .values()
            .flat_map(|dots| dots.iter().map(|d| d.replica()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        w.len(table.len());
        for r in &table {
            w.replica(*r);
        }
        // Every replica of a stored dot is in the table, so the search always succeeds.
        let index = |d: &Dot| table.binary_search(&d.replica()).unwrap_or_default();
        let mut run: Option<Run> = None;
        for dots in entries.values() {
            if let [dot] = dots.as_slice() {
                let idx = index(dot);
                match &mut run {
                    Some(r)
                        if r.idx == idx && r.start.checked_add(r.len) == Some(dot.counter()) =>
                    {
                        r.len += 1
                    }
                    _ => {
                        if let Some(r) = run.take() {
                            r.write(w);
                        }
                        run = Some(Run {
                            idx,
                            start: dot.counter(),
                            len: 1,
                        });
                    }
                }
            } else {
                if let Some(r) = run.take() {
                    r.write(w);
                }
                w.varint(0);
                w.len(dots.len());
                for dot in dots {
                    w.len(index(dot));
                    w.varint(dot.counter());
                }
            }
        }
        if let Some(r) = run.take() {
            r.write(w);
        }
        match self.removal_hints() {
            None => w.u8(0),
            Some(hints) => {
                w.u8(1);
                w.len(hints.len());
                for value in hints {
                    w.postcard(value)?;
                }
            }
        }
        Ok(())
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let ctx = read_ctx(r)?;
        let n = r.len(Limit::Elements, 1)?;
        let mut values = Vec::with_capacity(super::prealloc::<T>(n));
        let mut order = Ascending::new("set elements");
        for _ in 0..n {
            let v: T = r.postcard()?;
            order.next(v.clone())?;
            values.push(v);
        }
        let k = r.len(Limit::Replicas, 1)?;
        let mut table = Vec::with_capacity(super::prealloc::<ReplicaId>(k));
        let mut order = Ascending::new("dot table replicas");
        for _ in 0..k {
            let id = r.replica()?;
            order.next(id)?;
            table.push(id);
        }
        let mut used = vec![false; k];
        let mut lookup = |r: &mut Reader<'_>| -> Result<ReplicaId, DecodeError> {
            let idx = r.varint()?;
            let i = usize::try_from(idx)
                .ok()
                .filter(|i| *i < k)
                .ok_or(Invalid::Inconsistent(
                    "a dot names a replica outside the dot table",
                ))?;
            used[i] = true;
            Ok(table[i])
        };
        let mut dot_sets: Vec<Dots> = Vec::with_capacity(super::prealloc::<Dots>(n));
        let mut prev_run: Option<(ReplicaId, u64)> = None;
        while dot_sets.len() < n {
            let h = r.varint()?;
            if h == 0 {
                let m = r.len(Limit::Elements, 2)?;
                if m < 2 {
                    return Err(Invalid::NonCanonical(
                        "a multi-dot group with fewer than two dots",
                    )
                    .into());
                }
                let mut dots: Vec<Dot> = Vec::with_capacity(super::prealloc::<Dot>(m));
                let mut order = Ascending::new("an element's dots");
                for _ in 0..m {
                    let replica = lookup(r)?;
                    let dot = Dot::try_new(replica, r.counter()?).ok_or(Invalid::ZeroCounter)?;
                    order.next(dot)?;
                    dots.push(dot);
                }
                dot_sets.push(Dots::from_vec(dots));
                prev_run = None;
            } else {
                let left = (n - dot_sets.len()) as u64;
                if h > left {
                    return Err(Invalid::Inconsistent(
                        "dot runs cover more elements than the set holds",
                    )
                    .into());
                }
                let replica = lookup(r)?;
                let start = r.counter()?;
                let end = start
                    .checked_add(h - 1)
                    .ok_or(Invalid::Overflow("a dot run"))?;
                if prev_run == Some((replica, start - 1)) {
                    return Err(
                        Invalid::NonCanonical("a dot run that continues the previous run").into(),
                    );
                }
                for c in start..=end {
                    let dot = Dot::try_new(replica, c).ok_or(Invalid::ZeroCounter)?;
                    dot_sets.push(Dots::one(dot));
                }
                prev_run = Some((replica, end));
            }
        }
        if used.iter().any(|u| !u) {
            return Err(Invalid::NonCanonical("a dot table with an unused replica").into());
        }
        let removed = if read_flag(r, "the removal-hints flag")? {
            let m = r.len(Limit::Elements, 1)?;
            let mut order = Ascending::new("removal hints");
            let mut hints = Vec::with_capacity(super::prealloc::<T>(m));
            for _ in 0..m {
                let v: T = r.postcard()?;
                order.next(v.clone())?;
                hints.push(v);
            }
            Some(hints.into_iter().collect::<BTreeSet<T>>())
        } else {
            None
        };
        // `values` is strictly ascending (checked above).
        let entries = DotStore::from_sorted(values.into_iter().zip(dot_sets));
        let set = OrSet::from_parts(entries, ctx, removed);
        set.check_invariants()?;
        Ok(set)
    }
}
