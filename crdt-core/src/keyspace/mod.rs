//! A replicated, ordered map from string keys to typed CRDT values under one causal
//! context.
//!
//! # Design
//! This is the causal map (ORMap) of Almeida, Shoker and Baquero, *Delta State
//! Replicated Data Types* (2018), with every value a *dot function*: each key maps
//! its live dots to payloads, and all keys share **one** [`CausalContext`]. Every
//! write, to any key, issues exactly one dot of its writer; a delete issues none. The
//! five value types are all dot functions:
//!
//! | type | one live dot holds | a write supersedes (observed) |
//! |---|---|---|
//! | `GCounter` | the writer's running total | the writer's earlier dots |
//! | `PnCounter` | the writer's running increments and decrements | the writer's earlier dots |
//! | `OrSet` | one add of one element | the element's earlier adds |
//! | `LwwRegister` | one write and its hybrid-logical-clock stamp | every write seen |
//! | `MvRegister` | one write | every write seen |
//!
//! Counters are the *causal counters* of the paper: a writer's latest dot carries its
//! whole contribution, so a counter key has one dot per writer and can be deleted like
//! anything else. A read sums, per writer, the payload of its highest live dot.
//!
//! Join is the dot-store join, for every key at once: a dot stays live if both sides
//! hold it or if one side holds it and the other has not seen it. So:
//! - **Delete** is an observed-remove of the entry: its dots go into the delete's
//!   context, nothing stays behind (no tombstone, the key is gone), and a write the
//!   deleter had not seen survives (**update wins**). For a counter, a concurrent
//!   increment revives its writer's whole contribution as that writer saw it (the
//!   causal counter's documented behaviour).
//! - An entry whose last dot goes away is absent: an OR-Set key whose last element is
//!   removed disappears (an empty set and an absent key are the same state).
//! - **Types.** A key's type is fixed by its first write: a local write of another
//!   type to a key this replica holds is refused with [`CoreError::KeyTypeMismatch`].
//!   Concurrent first writes of different types both survive the join; a read returns
//!   [`Value::Conflict`] with each type's value, identically on every replica. A later
//!   write of one of those types resolves the conflict (it supersedes the observed dots
//!   of the other types), as does a delete.
//!
//! # Cost
//! Keys live in sorted chunks of up to 64 (each key and its entry held once, in its
//! chunk), each chunk in a slot of a slab whose position is the chunk's stable id,
//! under a B-tree on each chunk's first key. The B-tree holds each first key's first 16
//! bytes inline and a chunk holds a 4-byte tag per key (its bytes after those all the
//! chunk's keys share), so finding a key compares numbers held in the tree's nodes
//! and in the chunk's slot and reads a key's own allocation only on a tie: a search
//! through a million keys misses the cache a few times, not once per comparison (a
//! one-key merge at 1e6 keys is about 2.5x its cost at 1e4; `bench_table`). An index maps each live dot to the id of
//! the chunk holding its key: per writer, an ordered map of *runs* of consecutive dot
//! counters whose keys share a chunk. Finding a key, a dot's chunk, or a dot in its
//! chunk each takes O(log keys + 64) (in a chunk, a binary search of each entry's
//! dots). When an insert splits a full chunk, the half with fewer dots moves to a new
//! slot and the index re-points its dots; when a remove leaves a chunk under 16 keys it
//! merges into a neighbour, whose new keys are re-pointed the same way (at most once
//! per 32 key inserts or 16 key removals in a chunk: amortized O(log keys) per key
//! for keys of a few dots). A second context, `removed`, holds the dots seen but no
//! longer live (the context minus the live dots, kept as runs; it only grows and joins
//! by union, like the context, and is rebuilt rather than encoded).
//! - a write or delete: O(log keys + 64 + size of the key's entry); its delta names
//!   one key;
//! - a read of a key: O(log keys + 64 + size of its entry) for a set or multi-value
//!   register of 32 live dots or more written here: from each local write on, its entry
//!   keeps (or starts keeping, sorting once) its dots' positions in value order,
//!   updated by each insert and remove, which move the dots already except an
//!   insert at the end (O(dots) each); a read walks them instead of sorting, and a
//!   set's insert or remove finds the element's dots by a binary search. crdt-leader
//!   answers every write with the key's value, so this runs on every write. A merge
//!   of more than 64 live dots, and the decoder, drop that order rather than keep it
//!   one dot at a time; until the key's next local write its reads sort, O(log keys
//!   + 64 + d log d) for its `d` dots, as every read of a smaller entry does;
//! - merging a delta of `d` live dots whose removals form `k` runs: O((d + k +
//!   dropped) × (log keys + 64)) plus the contexts' merge and the amortized chunk
//!   splits and merges above, independent of the number of keys (and, for a delta of
//!   at most 64 live dots, O(size of the entry) per dot added to or dropped from a
//!   set that keeps its order by value);
//! - [`DeltaCrdt::delta_since`]: O((m + 1) × (log keys + 64)) for the `m` live dots
//!   the remote lacks, plus the runs of the context and of `removed` (removals cannot
//!   be narrowed further from a context-only summary: the remote may hold any dot this
//!   replica removed; `removed` has at most one run per live dot or context gap, per
//!   writer, and is one run per writer when old writes are superseded in order).
//!
//! - [`Keyspace::state_hash`], a stable digest of the whole state for anti-entropy
//!   checks: O(size of the context); the entries' part is kept up to date on every
//!   change (one hash per dot added or dropped).
//!
//! # Memory
//! A key with one live dot (a counter written by one replica, a one-element set)
//! costs, on 64-bit targets, besides its key's bytes (an exact allocation): its slot in
//! its chunk, 56 bytes (the key pointer, 16, and the entry with its one dot inline, 40:
//! payload 24, dot 16), its share of its chunk's overhead (a slab slot of 304 bytes
//! with the 64 tags, a B-tree entry and a copy of the chunk's first key: about 6 bytes
//! per key in full chunks), and its share of an index run (16 bytes). Keys written in
//! ascending order by one writer fill each chunk with consecutive dots, one run per 64
//! keys: about 63 bytes per key, 55 beyond a counter's 8-byte value, 63 beyond a
//! one-element set's element (the element is an exact allocation of its own;
//! `bench_table` measures both). Keys written in random order take one run per dot
//! (16 bytes) and split full chunks in halves, which leaves chunks about three
//! quarters full: about 8 bytes of chunk overhead per key instead of 6, and 16 bytes
//! of index. A set of 32 live dots or more written here adds 4 to 5 bytes per dot
//! and 24 for its order by value (see the costs above).
//!
//! [`DeltaCrdt::delta_since`]: crate::DeltaCrdt::delta_since

mod chunk;
mod chunk_order;
mod delta;
mod dot_index;
mod entry;
mod hash;
mod keys;
mod mutate;
mod retire;
mod value;
mod value_ref;

pub use mutate::KEY_BYTES_MAX;
pub use value::{KeyspaceOp, Value, ValueOp, ValueType};
pub use value_ref::ValueRef;

pub(crate) use entry::{Entry, Live};
pub(crate) use value::{LwwWrite, Payload};

/// A merge of at most this many live dots keeps the order by value of the entries it
/// adds to (a local write's delta, a replicated round); a larger one drops it.
const MERGE_KEEPS_ORDER_DOTS: usize = 64;

use crate::codec::Invalid;
use crate::{CausalContext, Crdt, Dot, ReplicaId};
use core::fmt;
use core::ops::Bound;
use dot_index::DotIndex;
use keys::{ChunkId, Keys, Moved};

// An entry of one dot holds it inline with its payload; the memory figure of a key
// depends on the payload's size.
const _: () = assert!(core::mem::size_of::<Payload>() <= 24);

/// A replicated ordered map from UTF-8 keys (at most [`KEY_BYTES_MAX`] bytes) to
/// values of five CRDT types, all under one causal context (see the module docs for
/// the design and the cost of each operation).
///
/// # Invariants (checked by the decoder and [`Keyspace::check_invariants`])
/// - every entry has at least one dot, its dots strictly ascending, all in the
///   context; no dot is live under two keys; keys are at most [`KEY_BYTES_MAX`] bytes;
/// - the dot index holds exactly the live dots, and `removed` is exactly the context
///   minus the live dots.
#[derive(Clone, Default)]
pub struct Keyspace {
    entries: Keys,
    ctx: CausalContext,
    /// The dots of `ctx` that are not live.
    removed: CausalContext,
    /// Every live dot's chunk of `entries`.
    index: DotIndex,
    /// The wrapping sum of every live dot's hash (see [`Keyspace::state_hash`]).
    live_hash: u64,
}

impl Keyspace {
    /// The empty keyspace.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            entries: Keys::new(),
            ctx: CausalContext::new(),
            removed: CausalContext::new(),
            index: DotIndex::new(),
            live_hash: 0,
        }
    }

    /// The number of keys present. O(1).
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key is present.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `key` is present. O(log keys).
    #[must_use]
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// The value under `key`. O(log keys + size of its entry).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<Value> {
        self.entries.get(key).map(|e| read(e).to_value())
    }

    /// The value under `key` borrowing its strings from the keyspace ([`Keyspace::get`]
    /// without copying each element), `None` if absent.
    #[must_use]
    pub fn get_ref(&self, key: &str) -> Option<ValueRef<'_>> {
        self.entries.get(key).map(read)
    }

    /// The type(s) of the value under `key`: one, or several in a type conflict
    /// (ascending). Empty if absent.
    #[must_use]
    pub fn value_types(&self, key: &str) -> Vec<ValueType> {
        self.entries.get(key).map(types).unwrap_or_default()
    }

    /// The keys present, ascending.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator + '_ {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The keys and values within `(start, end)`, in key order. O(log keys) to start,
    /// then O(size of each entry) per key.
    pub fn range<'a>(
        &'a self,
        start: Bound<&'a str>,
        end: Bound<&'a str>,
    ) -> impl DoubleEndedIterator<Item = (&'a str, Value)> + 'a {
        self.entries
            .range(start, end)
            .map(|(k, e)| (k, read(e).to_value()))
    }

    /// The keys starting with `prefix` and their values, in key order. O(log keys) to
    /// start, then O(size of each entry) per key.
    pub fn prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, Value)> + 'a {
        self.entries
            .range(Bound::Included(prefix), Bound::Unbounded)
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, e)| (k, read(e).to_value()))
    }

    /// An upper bound of the heap this keyspace holds (see
    /// [`DeltaCrdt::heap_bytes`](crate::DeltaCrdt::heap_bytes)): the key map (its
    /// chunks, their slab and B-tree, each key's bytes, each entry's dots and
    /// payloads), the dot index (a B-tree of writers, each a chunked map of runs of
    /// dots), and both contexts. O(keys + live dots + writers).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.entries.heap_bytes()
            + self.index.heap_bytes()
            + self.ctx.heap_bytes()
            + self.removed.heap_bytes()
    }

    /// Every dot this keyspace has seen, including those of removed values and keys.
    #[must_use]
    pub fn context(&self) -> &CausalContext {
        &self.ctx
    }

    /// Every live dot (a write still part of a value) with its key, by key then dot.
    pub fn dots(&self) -> impl Iterator<Item = (&str, Dot)> + '_ {
        self.entries
            .iter()
            .flat_map(|(k, e)| e.iter().map(move |(_, d)| (k, *d)))
    }

    /// The number of live dots (writes that are still part of a value).
    #[must_use]
    pub fn live_dot_count(&self) -> usize {
        self.index.len()
    }

    /// Checks every invariant the type documents (O(n log n): for tests and fuzzers;
    /// the decoder checks the same when it builds a value).
    ///
    /// # Errors
    /// The first violated invariant.
    pub fn check_invariants(&self) -> Result<(), Invalid> {
        let rebuilt = Self::from_parts(
            self.entries
                .iter()
                .map(|(k, e)| (Box::from(k), e.clone()))
                .collect(),
            self.ctx.clone(),
        )?;
        if !self.entries.layout_is_valid() {
            return Err(Invalid::Inconsistent(
                "the keyspace's chunks of keys are not laid out as documented",
            ));
        }
        let mut dots = 0usize;
        for (id, items) in self.entries.chunks() {
            for (_, entry) in items {
                dots += entry.len();
                if !entry.order_is_valid() {
                    return Err(Invalid::Inconsistent(
                        "an entry's order by value differs from its dots",
                    ));
                }
                if entry.iter().any(|(_, d)| self.index.get(*d) != Some(id)) {
                    return Err(Invalid::Inconsistent(
                        "the keyspace's dot index differs from its entries",
                    ));
                }
            }
        }
        if dots != self.index.len() || !self.index.runs_are_valid() {
            return Err(Invalid::Inconsistent(
                "the keyspace's dot index differs from its entries",
            ));
        }
        if rebuilt.live_hash != self.live_hash {
            return Err(Invalid::Inconsistent(
                "the keyspace's maintained state hash differs from its entries",
            ));
        }
        if rebuilt.removed != self.removed {
            return Err(Invalid::Inconsistent(
                "the keyspace's removed dots are not its context minus its live dots",
            ));
        }
        Ok(())
    }

    /// Builds a keyspace from entries and a context, validating them and computing the
    /// index and the removed dots. O(n log n) in the number of live dots.
    ///
    /// # Errors
    /// The first violated invariant.
    pub(crate) fn from_parts(
        entries: Vec<(Box<str>, Entry)>,
        ctx: CausalContext,
    ) -> Result<Self, Invalid> {
        let mut live_hash = 0u64;
        for (i, (key, entry)) in entries.iter().enumerate() {
            if key.len() > KEY_BYTES_MAX {
                return Err(Invalid::Inconsistent("a key is longer than KEY_BYTES_MAX"));
            }
            if i > 0 && entries[i - 1].0 >= *key {
                return Err(Invalid::Unsorted("keys"));
            }
            if entry.is_empty() {
                return Err(Invalid::EmptyDotSet);
            }
            if !entry.windows(2).all(|w| w[0].1 < w[1].1) {
                return Err(Invalid::Unsorted("a key's dots"));
            }
            for (payload, dot) in entry {
                if !ctx.contains(dot) {
                    return Err(Invalid::DotOutsideContext);
                }
                live_hash = live_hash.wrapping_add(hash::dot_hash(key, *dot, payload));
            }
        }
        let entries = Keys::from_sorted(entries);
        let mut live: Vec<(Dot, ChunkId)> = entries
            .chunks()
            .flat_map(|(id, items)| {
                items
                    .iter()
                    .flat_map(move |(_, e)| e.iter().map(move |(_, d)| (*d, id)))
            })
            .collect();
        live.sort_unstable_by_key(|(dot, _)| *dot);
        if live.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err(Invalid::DuplicateDot);
        }
        let dots: Vec<Dot> = live.iter().map(|(dot, _)| *dot).collect();
        Ok(Self {
            entries,
            removed: ctx.without_sorted(&dots),
            ctx,
            index: DotIndex::from_sorted(live),
            live_hash,
        })
    }

    /// The entries, by key (for the codec).
    pub(crate) fn entries(&self) -> impl ExactSizeIterator<Item = (&str, &Entry)> + '_ {
        self.entries.iter()
    }

    /// The payload of the live dot `dot`, with its key. O(log live dots + 64 × log of
    /// the entries of its chunk).
    fn live(&self, dot: Dot) -> Option<(&str, &Payload)> {
        let id = self.index.get(dot)?;
        let (key, entry, i) = self.entries.find(id, dot)?;
        Some((key, &entry[i].0))
    }

    /// Makes `dot` live under `key` (the caller checked it is unseen).
    fn insert_live(&mut self, key: &str, dot: Dot, payload: Payload, keep_order: bool) {
        let added = hash::dot_hash(key, dot, &payload);
        let mut moved = Vec::new();
        let (id, entry) = self.entries.upsert(key, &mut moved);
        match entry.binary_search_by(|(_, d)| d.cmp(&dot)) {
            Ok(i) => {
                let old = entry.replace_payload(i, payload);
                let dropped = hash::dot_hash(key, dot, &old);
                self.live_hash = self.live_hash.wrapping_sub(dropped);
            }
            Err(i) if keep_order => entry.insert(i, (payload, dot)),
            Err(i) => entry.insert_unordered(i, (payload, dot)),
        }
        self.live_hash = self.live_hash.wrapping_add(added);
        self.repoint(&moved);
        self.index.insert(dot, id);
    }

    /// Drops the live dot `dot` from its key (and the key if that was its last dot).
    fn drop_live(&mut self, dot: Dot) {
        let Some(id) = self.index.remove(dot) else {
            return;
        };
        let mut moved = Vec::new();
        if let Some(dropped) = self.entries.remove_dot(id, dot, &mut moved, hash::dot_hash) {
            self.live_hash = self.live_hash.wrapping_sub(dropped);
        }
        self.repoint(&moved);
    }

    /// Points the index at the new chunk of each key that moved.
    fn repoint(&mut self, moved: &[Moved]) {
        for m in moved {
            let items = self.entries.chunk(m.id).get(m.from..).unwrap_or_default();
            let mut dots: smallvec::SmallVec<[Dot; 32]> = items
                .iter()
                .flat_map(|(_, e)| e.iter().map(|(_, d)| *d))
                .collect();
            dots.sort_unstable();
            self.index.assign_sorted(&dots, m.id);
        }
    }

    /// The live dots of `self` inside the runs of `ctx`, ascending.
    fn live_within(&self, ctx: &CausalContext) -> Vec<Dot> {
        self.index.within(ctx)
    }
}

/// Every value type, in `ValueType`'s order: a type's discriminant is its index
/// here, which `types` and a write's type check index by (tested).
const ALL: [ValueType; 5] = [
    ValueType::GCounter,
    ValueType::PnCounter,
    ValueType::OrSet,
    ValueType::LwwRegister,
    ValueType::MvRegister,
];
// A type added to `ValueType` after `MvRegister` must be added here, or indexing by
// its discriminant would fall outside `ALL`.
const _: () = assert!(ALL.len() == ValueType::MvRegister as usize + 1);

/// The types present in an entry, ascending, without duplicates: one pass, no sort
/// (a set's entry holds one payload per element, and this runs on every write).
fn types(entry: &Entry) -> Vec<ValueType> {
    let mut seen = [false; ALL.len()];
    for (p, _) in entry.iter() {
        seen[p.value_type() as usize] = true;
    }
    ALL.into_iter()
        .zip(seen)
        .filter_map(|(t, s)| s.then_some(t))
        .collect()
}

/// What a read of `entry` returns.
fn read(entry: &Entry) -> ValueRef<'_> {
    let mut values: Vec<ValueRef<'_>> = types(entry)
        .into_iter()
        .map(|t| read_typed(entry, t))
        .collect();
    if values.len() == 1 {
        values.pop().unwrap_or(ValueRef::Conflict(Vec::new()))
    } else {
        ValueRef::Conflict(values)
    }
}

/// Appends `s` to `vals` unless it equals the last one: values arrive sorted, so an
/// element added under several dots comes once. Lengths and last bytes are compared
/// before the bytes, then up to 16 bytes from the end, inline: neighbours in sorted
/// order share their prefix and most often differ near the end, so a set of distinct
/// elements is read without a `memcmp` call per element (which was 6 % of a leader's
/// CPU answering inserts into 1,000-element sets).
fn push_distinct<'a>(vals: &mut Vec<&'a str>, s: &'a str) {
    let same = vals.last().is_some_and(|last| {
        let (a, b) = (last.as_bytes(), s.as_bytes());
        a.len() == b.len()
            && a.iter()
                .rev()
                .zip(b.iter().rev())
                .take(16)
                .all(|(x, y)| x == y)
            && a == b
    });
    if !same {
        vals.push(s);
    }
}

/// The value of `entry`'s dots of type `t`.
fn read_typed<'a>(entry: &'a Entry, t: ValueType) -> ValueRef<'a> {
    let of_type = entry.iter().filter(move |(p, _)| p.value_type() == t);
    match t {
        ValueType::GCounter | ValueType::PnCounter => {
            // Collapsed contributions of retired writers are each counted; of a live
            // writer's totals, only those of its highest dot. The entry is sorted by
            // dot, so each writer's dots are one run and its highest is the run's last.
            let (mut inc, mut dec) = (0u128, 0u128);
            let mut add = |p: &Payload| match p {
                Payload::GCounter(n) | Payload::GCounterCollapsed(n) => inc += u128::from(*n),
                Payload::PnCounter { inc: i, dec: d }
                | Payload::PnCounterCollapsed { inc: i, dec: d } => {
                    inc += u128::from(*i);
                    dec += u128::from(*d);
                }
                _ => {}
            };
            let mut latest: Option<(ReplicaId, &Payload)> = None;
            for (p, d) in of_type {
                if matches!(
                    p,
                    Payload::GCounterCollapsed(_) | Payload::PnCounterCollapsed { .. }
                ) {
                    add(p);
                    continue;
                }
                if let Some((writer, q)) = latest {
                    if writer != d.replica() {
                        add(q);
                    }
                }
                latest = Some((d.replica(), p));
            }
            if let Some((_, q)) = latest {
                add(q);
            }
            if t == ValueType::GCounter {
                ValueRef::GCounter(u64::try_from(inc).unwrap_or(u64::MAX))
            } else {
                let v = i128::try_from(inc).unwrap_or(i128::MAX)
                    - i128::try_from(dec).unwrap_or(i128::MAX);
                let clamped = v.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
                ValueRef::PnCounter(i64::try_from(clamped).unwrap_or(0))
            }
        }
        ValueType::OrSet | ValueType::MvRegister => {
            // In value order: the order a large entry keeps, else sorted now.
            let of_value = |(p, _): &'a Live| match p {
                Payload::OrSet(s) if t == ValueType::OrSet => Some(&**s),
                Payload::Mv(s) if t == ValueType::MvRegister => Some(&**s),
                _ => None,
            };
            let mut vals: Vec<&str> = Vec::with_capacity(entry.len());
            match entry.by_value() {
                Some(ordered) => ordered
                    .filter_map(of_value)
                    .for_each(|s| push_distinct(&mut vals, s)),
                None => entry::sorted_positions(entry)
                    .into_iter()
                    .filter_map(|i| of_value(&entry[i]))
                    .for_each(|s| push_distinct(&mut vals, s)),
            }
            if t == ValueType::OrSet {
                ValueRef::OrSet(vals)
            } else {
                ValueRef::MvRegister(vals)
            }
        }
        ValueType::LwwRegister => {
            let winner = of_type
                .filter_map(|(p, d)| match p {
                    Payload::Lww(w) => Some((
                        w.stamp,
                        w.writer.unwrap_or(d.replica()),
                        d.counter(),
                        &w.value,
                    )),
                    _ => None,
                })
                .max();
            ValueRef::LwwRegister(winner.map_or("", |w| &w.3[..]))
        }
    }
}

impl Crdt for Keyspace {
    /// The dot-store join of every key under the common context. Costs O((live dots
    /// of `other` + runs of its removed dots + dots dropped here) × log keys).
    fn merge(&mut self, other: &Self) {
        // 1. Live dots here that `other` has seen and no longer holds (dropped last).
        let dropped = self.live_within(&other.removed);
        #[cfg(feature = "sabotage")]
        let dropped = if crate::sabotage::active(crate::sabotage::Bug::KeyDeleteIgnoresContext) {
            // Planted bug: a key `other` deleted (it holds nothing of it, and dropped a
            // counter's or register's dot, which only a delete does) loses all its
            // dots here, also those `other` never saw (a concurrent update).
            let mut all = dropped.clone();
            for dot in &dropped {
                if let Some((key, payload)) = self.live(*dot) {
                    if !matches!(payload, Payload::OrSet(_)) && !other.entries.contains_key(key) {
                        if let Some(entry) = self.entries.get(key) {
                            all.extend(entry.iter().map(|(_, d)| *d));
                        }
                    }
                }
            }
            all.sort_unstable();
            all.dedup();
            for dot in &all {
                self.removed.insert(*dot); // (keeps the invariants: only the data is wrong)
            }
            all
        } else {
            dropped
        };
        // 2. Live dots there that this side has not seen, added before (1) drops
        // anything: a write that replaces a key's only dot (a counter's next total, a
        // register's next value) would otherwise empty the key for a moment, which
        // removes it from its chunk and inserts it again, re-pointing every dot of the
        // keys that change chunk (a set of thousands of elements beside it) on every
        // write. `dropped` holds only dots seen here before, never one added here.
        // A large merge drops the order by value of the entries it adds to, rather
        // than keep it one dot at a time (`Entry::keep_order`): O(dots) each.
        let keep_order = other.index.len() <= MERGE_KEEPS_ORDER_DOTS;
        for (key, entry) in other.entries.iter() {
            for (payload, dot) in entry {
                if !self.ctx.contains(dot) {
                    self.insert_live(key, *dot, payload.clone(), keep_order);
                }
            }
        }
        for dot in dropped {
            self.drop_live(dot);
        }
        self.ctx.merge(&other.ctx);
        self.removed.merge(&other.removed);
    }
}

/// Equality of the state (entries and context); the index and the removed dots are
/// derived from them.
impl PartialEq for Keyspace {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries && self.ctx == other.ctx
    }
}

impl Eq for Keyspace {}

impl fmt::Debug for Keyspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyspace")
            .field("entries", &self.entries)
            .field("context", &self.ctx)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorted_values_are_read_once_each() {
        // Equal neighbours, and unequal ones of one length and one last byte.
        let long = "a long element that differs only in its first byte";
        let other = long.replace('a', "b");
        let sorted = [
            "", "", "ab", "ab", "ab", "cb", "cb", "cc", "xcb", long, long, &other,
        ];
        let mut vals = Vec::new();
        for s in sorted {
            super::push_distinct(&mut vals, s);
        }
        assert_eq!(vals, ["", "ab", "cb", "cc", "xcb", long, &other]);
    }

    #[test]
    fn all_types_are_in_value_type_order() {
        assert!(super::ALL.windows(2).all(|w| w[0] < w[1]));
        for (i, t) in super::ALL.into_iter().enumerate() {
            assert_eq!(t as usize, i, "{t}");
        }
    }
}
