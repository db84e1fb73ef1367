//! The keyspace workloads: `crdt_core::Keyspace` next to
//! `crdts::Map<String, Orswot<String, u64>, u64>` (rust-crdt's map of OR-Sets, the
//! type the differential tests compare with), and the operations the table binary
//! times: merging a one-key delta, repairing a peer, the metadata per key, and what a
//! deleted key leaves behind.
//!
//! Keys are `key:` and 10 decimal digits (14 bytes), written in ascending order by one
//! replica; each holds either a one-element OR-Set (element [`ELEMENT`]) or a
//! G-Counter incremented once.

use crate::heap;
use crate::measurement::chunked;
use crate::orset::fresh_writer_id;
use crate::rng::SplitMix64;
use crate::timing::Stopwatch;
use crdt_core::{Crdt, DeltaCrdt, Keyspace, ReplicaId};
use crdts::{CmRDT, CvRDT, Orswot};
use std::time::Duration;

/// rust-crdt's map of OR-Sets (actors are `u64`).
pub type TheirMap = crdts::Map<String, Orswot<String, u64>, u64>;

/// The replica that writes the keyspaces built here.
pub const WRITER: u64 = 1;
/// The replica that writes the one-key deltas merged into them.
pub const DELTA_WRITER: u64 = 2;
/// The one element of every OR-Set key.
pub const ELEMENT: &str = "v";
/// Bytes of a counter's value (its `u64` total), the "value bytes" of a counter key.
pub const COUNTER_VALUE_BYTES: usize = 8;
/// Writes a repaired peer lacks.
pub const REPAIR_WRITES: usize = 10;

/// The `i`-th key: `key:` and `i` as 10 decimal digits.
#[must_use]
pub fn key(i: u64) -> String {
    format!("key:{i:010}")
}

/// A key that is not among `key(0..n)` and sorts between two of them (the `+` sorts
/// after nothing: `key(i)` is a prefix of it).
fn fresh_key(rng: &mut SplitMix64, n: u64, serial: u64) -> String {
    format!("{}+{serial}", key(rng.below(n.max(1))))
}

/// `n` keys, each a one-element OR-Set, written in ascending order by [`WRITER`].
#[must_use]
pub fn build_sets(n: u64) -> Keyspace {
    let w = ReplicaId::new(WRITER);
    let mut ks = Keyspace::new();
    for i in 0..n {
        let _delta = ks.set_insert(w, &key(i), ELEMENT.to_string());
    }
    ks
}

/// `n` keys, each a G-Counter incremented once, written in ascending order by
/// [`WRITER`].
#[must_use]
pub fn build_counters(n: u64) -> Keyspace {
    let w = ReplicaId::new(WRITER);
    let mut ks = Keyspace::new();
    for i in 0..n {
        let _delta = ks.increment(w, &key(i), 1);
    }
    ks
}

/// Adds `e` to the set under `key` on behalf of `actor`, the documented `crdts` idiom.
pub fn their_add(m: &mut TheirMap, actor: u64, key: &str, e: &str) {
    let ctx = m.read_ctx().derive_add_ctx(actor);
    let op = m.update(key, ctx, |set, c| set.add(e.to_string(), c));
    m.apply(op);
}

/// Removes `key` as observed here.
pub fn their_delete(m: &mut TheirMap, key: &str) {
    let rm = m.get(&key.to_string()).derive_rm_ctx();
    let op = m.rm(key, rm);
    m.apply(op);
}

/// The `crdts` map of [`build_sets`]: `n` one-element sets written by [`WRITER`].
#[must_use]
pub fn build_theirs(n: u64) -> TheirMap {
    let mut m = TheirMap::new();
    for i in 0..n {
        their_add(&mut m, WRITER, &key(i), ELEMENT);
    }
    m
}

/// Heap bytes per key beyond the key's and the value's own bytes, of the value `build`
/// returns: everything it allocated and did not free (spare capacity included), per
/// key, minus `key_bytes + value_bytes`.
pub fn metadata_per_key<T>(n: u64, value_bytes: usize, build: impl FnOnce(u64) -> T) -> f64 {
    let (built, stats) = alloc_counter::measure(|| build(n));
    drop(built);
    stats.live as f64 / n as f64 - (key(0).len() + value_bytes) as f64
}

/// How a one-key delta reaches a keyspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergePath {
    /// `Crdt::merge`.
    Merge,
    /// `DeltaCrdt::merge_delta` (what crdt-sync calls: it also returns the novel part).
    MergeDelta,
}

/// Merges of one-key deltas (a one-element OR-Set under a fresh key at a random place
/// in the key order) written by a writer id of their own ([`fresh_writer_id`]: a
/// second run under one id would reissue dots `state` has seen, and merging them would
/// change nothing) into `state` of `n` keys; the keys are deleted again afterwards,
/// untimed.
pub fn merge_one_key_rep<'a>(
    state: &'a mut Keyspace,
    n: u64,
    path: MergePath,
    rng: &'a mut SplitMix64,
) -> impl FnMut(u64) -> Duration + 'a {
    let id = ReplicaId::new(fresh_writer_id());
    let mut writer = Keyspace::new();
    let mut serial = 0u64;
    move |k| {
        chunked(k, 1024, |c| {
            let deltas: Vec<(String, Keyspace)> = (0..c)
                .map(|_| {
                    serial += 1;
                    let key = fresh_key(rng, n, serial);
                    let d = writer
                        .set_insert(id, &key, ELEMENT.to_string())
                        .expect("a short key");
                    (key, d)
                })
                .collect();
            let mut novel = Vec::with_capacity(deltas.len());
            let t = Stopwatch::start();
            for (_, d) in &deltas {
                match path {
                    MergePath::Merge => state.merge(d),
                    MergePath::MergeDelta => novel.push(state.merge_delta(d)),
                }
            }
            let elapsed = t.elapsed();
            drop(novel);
            for (key, _) in &deltas {
                let _ = state.delete(key);
                let _ = writer.delete(key);
            }
            elapsed
        })
    }
}

/// Brings `state`, built by [`build_sets`] with `n` keys, to the steady state of
/// random writes before merges into it are timed: `n / 2` one-key deltas under fresh
/// keys at random places are merged and their keys deleted again (untimed), so that
/// every chunk has been split about once. Right after an ascending build every chunk
/// is full and the first write into each one splits it (a new chunk, first-touched
/// memory); a run of a few thousand timed merges sees that transient at every write
/// at 1e6 keys (15,625 chunks) and almost never at 1e4 (157 chunks), which would
/// compare a transient with a steady state rather than one size with another.
pub fn settle(state: &mut Keyspace, n: u64, rng: &mut SplitMix64) {
    let _untimed = merge_one_key_rep(state, n, MergePath::Merge, rng)(n / 2);
}

/// `crdts` merges of a one-key map state (a fresh actor's one-element set under a
/// fresh key), the equivalent of the one-key delta; the keys are removed again
/// afterwards, untimed.
pub fn their_merge_one_key_rep<'a>(
    state: &'a mut TheirMap,
    n: u64,
    rng: &'a mut SplitMix64,
) -> impl FnMut(u64) -> Duration + 'a {
    let mut serial = 0u64;
    move |k| {
        chunked(k, 64, |c| {
            let deltas: Vec<(String, TheirMap)> = (0..c)
                .map(|_| {
                    serial += 1;
                    let key = fresh_key(rng, n, serial);
                    let mut m = TheirMap::new();
                    their_add(&mut m, fresh_writer_id(), &key, ELEMENT);
                    (key, m)
                })
                .collect();
            let keys: Vec<String> = deltas.iter().map(|(k, _)| k.clone()).collect();
            let t = Stopwatch::start();
            for (_, m) in deltas {
                state.merge(m);
            }
            let elapsed = t.elapsed();
            for key in &keys {
                their_delete(state, key);
            }
            elapsed
        })
    }
}

/// Two replicas of one keyspace for the repair benchmark: every operation first makes
/// `primary` take [`REPAIR_WRITES`] increments, one to each of as many keys spread over
/// the keyspace (each supersedes that key's previous write), then brings `peer` up to
/// date, either by one repair or by merging the writes' deltas.
pub struct RepairPair {
    /// The replica that writes.
    pub primary: Keyspace,
    /// The replica that lacks the writes.
    pub peer: Keyspace,
    hot: Vec<String>,
}

impl RepairPair {
    /// Both replicas hold `state` (of `n` keys `key(0..n)`).
    #[must_use]
    pub fn new(state: Keyspace, n: u64) -> Self {
        let hot = (0..REPAIR_WRITES as u64)
            .map(|i| key((i * n / REPAIR_WRITES as u64 + 7) % n.max(1)))
            .collect();
        Self {
            peer: state.clone(),
            primary: state,
            hot,
        }
    }

    /// The next [`REPAIR_WRITES`] writes at the primary; their deltas.
    pub fn write(&mut self) -> Vec<Keyspace> {
        let w = ReplicaId::new(WRITER);
        self.hot
            .iter()
            .map(|k| self.primary.increment(w, k, 1).expect("no overflow"))
            .collect()
    }

    /// What the peer lacks, as crdt-sync computes it for a repair.
    #[must_use]
    pub fn repair(&self) -> Keyspace {
        self.primary.delta_since(&self.peer.summary())
    }

    /// Repairs: `delta_since` the peer's summary at the primary, `merge_delta` at the
    /// peer (timed; the summary, which the peer sends, is taken untimed).
    pub fn repair_rep(&mut self) -> impl FnMut(u64) -> Duration + '_ {
        move |k| {
            let mut total = Duration::ZERO;
            for _ in 0..k {
                drop(self.write());
                let summary = self.peer.summary();
                let t = Stopwatch::start();
                let repair = self.primary.delta_since(&summary);
                let novel = self.peer.merge_delta(&repair);
                total += t.elapsed();
                drop((repair, novel));
            }
            total
        }
    }

    /// The baseline: the peer merges the writes' deltas one by one (`merge_delta`).
    pub fn deltas_rep(&mut self) -> impl FnMut(u64) -> Duration + '_ {
        move |k| {
            let mut total = Duration::ZERO;
            for _ in 0..k {
                let deltas = self.write();
                let t = Stopwatch::start();
                let novel: Vec<Keyspace> =
                    deltas.iter().map(|d| self.peer.merge_delta(d)).collect();
                total += t.elapsed();
                drop(novel);
            }
            total
        }
    }
}

/// What a deleted key leaves behind after `writes` more writes elsewhere: replica A
/// writes a key and deletes it; replica B then increments `writes` times over `keys`
/// other keys. The state that saw the key (`with`) is compared with one that only
/// received the delete (`without`: it never saw the key, and its context holds the
/// same dots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletedKey {
    /// Whether the two states are equal.
    pub equal: bool,
    /// Encoded bytes of `with` minus those of `without`.
    pub encoded_extra: i64,
    /// Live heap of `with` minus that of `without` (clones, see [`heap::live_bytes`]).
    pub heap_extra: i64,
}

/// Runs the [`DeletedKey`] experiment.
#[must_use]
pub fn deleted_key(writes: u64, keys: u64) -> DeletedKey {
    let (a, b) = (ReplicaId::new(WRITER), ReplicaId::new(DELTA_WRITER));
    let mut with = Keyspace::new();
    let _write = with.increment(a, "a key that is deleted", 1);
    let delete = with.delete("a key that is deleted").expect("a short key");
    let mut without = Keyspace::new();
    without.merge(&delete);
    for ks in [&mut with, &mut without] {
        for i in 0..writes {
            let _delta = ks.increment(b, &key(i % keys.max(1)), 1);
        }
    }
    let encoded = |ks: &Keyspace| crdt_core::codec::encode(ks).len() as i64;
    let live = |ks: &Keyspace| heap::live_bytes(ks) as i64;
    DeletedKey {
        equal: with == without,
        encoded_extra: encoded(&with) - encoded(&without),
        heap_extra: live(&with) - live(&without),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_core::Value;

    #[test]
    fn fixtures_and_workloads_have_the_documented_shape() {
        let n = 200;
        let mut ours = build_sets(n);
        assert_eq!(ours.len(), n as usize);
        assert_eq!(ours.get(&key(5)), Some(Value::OrSet(vec![ELEMENT.into()])));
        let theirs = build_theirs(n);
        assert_eq!(theirs.len().val, n as usize);
        let counters = build_counters(n);
        assert_eq!(counters.get(&key(7)), Some(Value::GCounter(1)));

        let before = ours.clone();
        let mut rng = SplitMix64::new(1);
        settle(&mut ours, n, &mut rng);
        assert_eq!(ours.len(), before.len(), "settling deletes what it wrote");
        for path in [MergePath::Merge, MergePath::MergeDelta] {
            // Each run merges writes this state has not seen (a fresh writer id).
            let seen = ours.context().clone();
            let _ = merge_one_key_rep(&mut ours, n, path, &mut rng)(5);
            assert_ne!(ours.context(), &seen, "{path:?} merged nothing new");
        }
        assert_eq!(ours.len(), before.len(), "merged keys are deleted again");
        let mut theirs = theirs;
        let _ = their_merge_one_key_rep(&mut theirs, n, &mut rng)(5);
        assert_eq!(theirs.len().val, n as usize);

        let mut pair = RepairPair::new(counters, n);
        let _ = pair.repair_rep()(2);
        assert_eq!(pair.peer, pair.primary);
        let _ = pair.deltas_rep()(2);
        assert_eq!(pair.peer, pair.primary);
        assert_eq!(pair.primary.get(&pair.hot[0]), Some(Value::GCounter(5)));

        let gone = deleted_key(1000, 100);
        assert!(gone.equal);
        assert_eq!((gone.encoded_extra, gone.heap_extra), (0, 0));
    }
}
