//! The keyspace's key map: keys in order, in chunks with stable ids that the dot index
//! points to.
//!
//! Keys live in sorted chunks of up to [`CHUNK`] keys (like the OR-Set's chunked
//! store), each chunk in a slot of a slab whose position, its [`ChunkId`], stays the
//! same while the chunk exists; a B-tree maps each chunk's first key to its id
//! ([`ChunkOrder`], which compares 16-byte prefixes held inline), and each chunk is a
//! [`Chunk`], searched by a 4-byte tag per key (both keep a search from reading one
//! key allocation per comparison). The
//! dot index maps a live dot to the id of the chunk holding its key (runs of
//! consecutive dots in one chunk take one index slot), so a key is held once, owned
//! here, with no shared allocation. When an insert splits a full chunk, or a remove
//! merges a sparse one into a neighbour, the keys that change chunk are reported as
//! [`Moved`] so that the keyspace re-points their dots (a split moves the half with
//! fewer dots). Up to [`CHUNK`] keys are one inline-capable vector: chunk 0.

use super::chunk::Chunk;
use super::chunk_order::ChunkOrder;
use super::{Entry, Payload};
use crate::Dot;
use core::fmt;
use core::ops::{Bound, RangeBounds};
use smallvec::SmallVec;

/// The most keys a chunk holds (a power of two: a chunk grown by doubling ends with no
/// spare capacity).
pub(crate) const CHUNK: usize = 64;

/// A chunk's id: its slot in the slab, stable while the chunk exists.
pub(crate) type ChunkId = u32;

/// One key and its live dots.
pub(crate) type Item = (Box<str>, Entry);

// A key's slot in its chunk: the key pointer and the entry (the keyspace's memory
// notes depend on it).
const _: () = assert!(core::mem::size_of::<Item>() <= 56);

/// Keys that changed chunk: `chunk(id)[from..]` (the keyspace re-points their dots).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Moved {
    /// The chunk they are in now.
    pub(crate) id: ChunkId,
    /// The position of the first of them in it (the rest of the chunk follows).
    pub(crate) from: usize,
}

/// An ordered map from keys to their entries, chunked (see the module docs).
#[derive(Clone)]
pub(crate) struct Keys {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// At most [`CHUNK`] keys, sorted: chunk 0.
    Small(SmallVec<[Item; 1]>),
    /// Chunks, each non-empty, sorted, at most [`CHUNK`] long and wholly below the
    /// next; `order` maps each one's first key to its slot in `slab`; the other slots
    /// are empty and listed in `free`. `len` counts keys.
    Chunked {
        order: ChunkOrder,
        slab: Vec<Chunk>,
        free: Vec<ChunkId>,
        len: usize,
    },
}

impl Default for Keys {
    fn default() -> Self {
        Self::new()
    }
}

impl Keys {
    /// No keys (no allocation).
    pub(crate) const fn new() -> Self {
        Self {
            repr: Repr::Small(SmallVec::new_const()),
        }
    }

    /// Builds the map from items sorted strictly ascending by key (the caller checks),
    /// packing chunks full (ids ascending in key order).
    pub(crate) fn from_sorted(items: Vec<Item>) -> Self {
        if items.len() <= CHUNK {
            return Self {
                repr: Repr::Small(items.into_iter().collect()),
            };
        }
        let len = items.len();
        let mut rest = items.into_iter();
        let mut order = ChunkOrder::new();
        let mut slab: Vec<Chunk> = Vec::with_capacity(len.div_ceil(CHUNK));
        loop {
            let chunk: Vec<Item> = rest.by_ref().take(CHUNK).collect();
            let Some(first) = chunk.first().map(|(k, _)| k.clone()) else {
                break;
            };
            order.insert(first, id_of(slab.len()));
            slab.push(Chunk::from_items(chunk));
        }
        Self {
            repr: Repr::Chunked {
                order,
                slab,
                free: Vec::new(),
                len,
            },
        }
    }

    /// The number of keys. O(1).
    pub(crate) fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(v) => v.len(),
            Repr::Chunked { len, .. } => *len,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys of chunk `id`, sorted (none if there is no such chunk).
    pub(crate) fn chunk(&self, id: ChunkId) -> &[Item] {
        match &self.repr {
            Repr::Small(v) if id == 0 => v,
            Repr::Small(_) => &[],
            Repr::Chunked { slab, .. } => slab.get(id as usize).map_or(&[], |c| c),
        }
    }

    /// The chunks with their ids, in key order.
    pub(crate) fn chunks(&self) -> impl DoubleEndedIterator<Item = (ChunkId, &[Item])> + '_ {
        let (small, chunked) = match &self.repr {
            Repr::Small(v) => (Some((0, &v[..])), None),
            Repr::Chunked { order, slab, .. } => (
                None,
                Some(
                    order
                        .iter()
                        .map(|(_, id)| (id, slab.get(id as usize).map_or(&[][..], |c| &c[..]))),
                ),
            ),
        };
        small.into_iter().chain(chunked.into_iter().flatten())
    }

    /// Every key and its entry, ascending.
    pub(crate) fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&str, &Entry)> + ExactSizeIterator + '_ {
        Counted {
            inner: self
                .chunks()
                .flat_map(|(_, c)| c.iter().map(|(k, e)| (&**k, e))),
            len: self.len(),
        }
    }

    /// The entry under `key`. O(log keys).
    pub(crate) fn get(&self, key: &str) -> Option<&Entry> {
        match &self.repr {
            Repr::Small(v) => v
                .binary_search_by(|(k, _)| (**k).cmp(key))
                .ok()
                .map(|i| &v[i].1),
            Repr::Chunked { order, slab, .. } => {
                // The last chunk starting at or before `key`, else the first.
                let (_, id) = order.floor(key).or_else(|| order.iter().next())?;
                let c = slab.get(id as usize)?;
                c.search(key).ok().map(|i| &c[i].1)
            }
        }
    }

    /// The entry under `key`, to change in place (its dots stay as they are: the dot
    /// index and the hashes depend on them).
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut Entry> {
        match &mut self.repr {
            Repr::Small(v) => match v.binary_search_by(|(k, _)| (**k).cmp(key)) {
                Ok(i) => Some(&mut v[i].1),
                Err(_) => None,
            },
            Repr::Chunked { order, slab, .. } => {
                let (_, id) = order.floor(key).or_else(|| order.iter().next())?;
                let c = slab.get_mut(id as usize)?;
                let i = c.search(key).ok()?;
                Some(c.entry_mut(i))
            }
        }
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The key in chunk `id` whose entry holds `dot`, its entry, and the dot's
    /// position in it. O(keys of the chunk × log of their entries).
    pub(crate) fn find(&self, id: ChunkId, dot: Dot) -> Option<(&str, &Entry, usize)> {
        self.chunk(id).iter().find_map(|(k, e)| {
            e.binary_search_by(|(_, d)| d.cmp(&dot))
                .ok()
                .map(|j| (&**k, e, j))
        })
    }

    /// The keys within `(lo, hi)` and their entries, ascending (none if the bounds are
    /// inverted). O(log keys + [`CHUNK`]) to start, then O(1) per key.
    pub(crate) fn range<'a>(
        &'a self,
        lo: Bound<&'a str>,
        hi: Bound<&'a str>,
    ) -> impl DoubleEndedIterator<Item = (&'a str, &'a Entry)> + 'a {
        let empty = match (lo, hi) {
            (Bound::Included(a), Bound::Included(b)) => a > b,
            (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
                a >= b
            }
            _ => false,
        };
        let (small, chunks): (&'a [Item], _) = match &self.repr {
            _ if empty => (&[][..], None),
            Repr::Small(v) => (&v[..], None),
            Repr::Chunked { order, slab, .. } => {
                // From the chunk holding `lo` (the first one if none does).
                let start = match lo {
                    Bound::Included(q) | Bound::Excluded(q) => order.floor(q).map(|(k, _)| k),
                    Bound::Unbounded => None,
                };
                let start = start.map_or(Bound::Unbounded, Bound::Included);
                let ids = order.range(start, hi);
                (
                    &[][..],
                    Some(ids.map(|(_, id)| slab.get(id as usize).map_or(&[][..], |c| &c[..]))),
                )
            }
        };
        small
            .iter()
            .chain(chunks.into_iter().flatten().flatten())
            .map(|(k, e)| (&**k, e))
            .filter(move |(k, _)| RangeBounds::<str>::contains(&(lo, hi), *k))
    }

    /// The entry under `key`, created empty if absent (the caller gives it a dot), and
    /// its chunk. Keys that changed chunk on the way are added to `moved`. O(log keys +
    /// [`CHUNK`]), plus the dots of the half of a chunk that a split moves.
    pub(crate) fn upsert(&mut self, key: &str, moved: &mut Vec<Moved>) -> (ChunkId, &mut Entry) {
        let (id, i) = self.place(key, moved);
        // `place` returns the position of the key it found or made.
        let entry = match &mut self.repr {
            Repr::Small(v) => &mut v[i].1,
            Repr::Chunked { slab, .. } => slab[id as usize].entry_mut(i),
        };
        (id, entry)
    }

    /// Finds or inserts `key`: its chunk and position.
    fn place(&mut self, key: &str, moved: &mut Vec<Moved>) -> (ChunkId, usize) {
        loop {
            match &mut self.repr {
                Repr::Small(v) => match v.binary_search_by(|(k, _)| (**k).cmp(key)) {
                    Ok(i) => return (0, i),
                    Err(i) if v.len() < CHUNK => {
                        v.insert(i, (key.into(), Entry::new()));
                        return (0, i);
                    }
                    Err(_) => {
                        // Full: becomes chunk 0, then the insert goes on as below.
                        let chunk = core::mem::take(v).into_vec();
                        let len = chunk.len();
                        let mut order = ChunkOrder::new();
                        if let Some((first, _)) = chunk.first() {
                            order.insert(first.clone(), 0);
                        }
                        self.repr = Repr::Chunked {
                            order,
                            slab: vec![Chunk::from_items(chunk)],
                            free: Vec::new(),
                            len,
                        };
                    }
                },
                Repr::Chunked {
                    order,
                    slab,
                    free,
                    len,
                } => {
                    let placed = place_chunked(order, slab, free, key, moved);
                    if placed.2 {
                        *len += 1;
                    }
                    return (placed.0, placed.1);
                }
            }
        }
    }

    /// Removes `dot` from its key's entry in chunk `id`, and the key if that was its
    /// last dot; returns `hash` of the key and the dot's payload. Keys that changed
    /// chunk are added to `moved`. O(log keys + [`CHUNK`] × log of the entries).
    pub(crate) fn remove_dot(
        &mut self,
        id: ChunkId,
        dot: Dot,
        moved: &mut Vec<Moved>,
        hash: impl FnOnce(&str, Dot, &Payload) -> u64,
    ) -> Option<u64> {
        let (i, j) = self.chunk(id).iter().enumerate().find_map(|(i, (_, e))| {
            e.binary_search_by(|(_, d)| d.cmp(&dot))
                .ok()
                .map(|j| (i, j))
        })?;
        let entry = match &mut self.repr {
            Repr::Small(v) => &mut v[i].1,
            Repr::Chunked { slab, .. } => slab.get_mut(id as usize)?.entry_mut(i),
        };
        let (payload, _) = entry.remove(j);
        let emptied = entry.is_empty();
        let h = hash(&self.chunk(id)[i].0, dot, &payload);
        if !emptied {
            return Some(h);
        }
        match &mut self.repr {
            Repr::Small(v) => {
                v.remove(i);
            }
            Repr::Chunked {
                order,
                slab,
                free,
                len,
            } => {
                *len -= 1;
                let Some(chunk) = slab.get_mut(id as usize) else {
                    return Some(h);
                };
                let (gone, _) = chunk.remove(i);
                if i == 0 {
                    // Re-keyed by its new first key, or dropped if empty.
                    order.remove(&gone);
                    match chunk.first() {
                        Some((first, _)) => {
                            order.insert(first.clone(), id);
                        }
                        None => {
                            *chunk = Chunk::default();
                            free.push(id);
                        }
                    }
                }
                if !chunk.is_empty() && chunk.len() < CHUNK / 4 {
                    rebalance(order, slab, free, id, moved);
                }
                if *len <= CHUNK / 2 {
                    self.shrink_to_small(moved);
                }
            }
        }
        Some(h)
    }

    /// Back to one vector once small (so a keyspace emptied by deletes holds no
    /// chunks): every key moves to chunk 0.
    fn shrink_to_small(&mut self, moved: &mut Vec<Moved>) {
        if let Repr::Chunked { order, slab, .. } = &mut self.repr {
            let mut all: SmallVec<[Item; 1]> = SmallVec::new();
            for (_, id) in order.iter() {
                if let Some(c) = slab.get_mut(id as usize) {
                    all.extend(core::mem::take(c).into_items());
                }
            }
            all.shrink_to_fit();
            self.repr = Repr::Small(all);
            moved.clear();
            moved.push(Moved { id: 0, from: 0 });
        }
    }

    /// The heap held: the chunks' buffers (spare capacity included), the B-tree of
    /// chunks and the copies of their first keys it holds, the slab and its free
    /// list, and each key's bytes and entry.
    pub(crate) fn heap_bytes(&self) -> usize {
        use crate::memory::{slots, small_vec};
        let items: usize = self.iter().map(|(k, e)| k.len() + e.heap_bytes()).sum();
        items
            + match &self.repr {
                Repr::Small(v) => small_vec(v),
                Repr::Chunked {
                    order, slab, free, ..
                } => {
                    order.heap_bytes()
                        + slots::<Chunk>(slab.capacity())
                        + slots::<ChunkId>(free.capacity())
                        + slab.iter().map(Chunk::heap_bytes).sum::<usize>()
                }
            }
    }

    /// Whether the chunks are laid out as documented: sorted, non-empty, at most
    /// [`CHUNK`] long, keyed by their first keys, free slots empty, `len` right.
    pub(crate) fn layout_is_valid(&self) -> bool {
        match &self.repr {
            Repr::Small(v) => v.len() <= CHUNK && v.windows(2).all(|w| w[0].0 < w[1].0),
            Repr::Chunked {
                order,
                slab,
                free,
                len,
            } => {
                let keyed = order.iter().all(|(k, id)| {
                    slab.get(id as usize).is_some_and(|c| {
                        c.len() <= CHUNK
                            && c.first().is_some_and(|f| &*f.0 == k)
                            && c.tags_are_valid()
                    })
                });
                let freed = free
                    .iter()
                    .all(|id| slab.get(*id as usize).is_some_and(|c| c.is_empty()));
                let slots = order.len() + free.len() == slab.len();
                let mut keys = self.iter().map(|(k, _)| k);
                let mut prev = keys.next();
                let sorted = keys.all(|k| {
                    let ok = prev.is_some_and(|p| p < k);
                    prev = Some(k);
                    ok
                });
                let counted = slab.iter().map(|c| c.len()).sum::<usize>() == *len;
                keyed && freed && slots && sorted && counted
            }
        }
    }
}

/// A slab position as a chunk id (a keyspace never has 2^32 chunks: 2^38 keys).
fn id_of(slot: usize) -> ChunkId {
    ChunkId::try_from(slot).unwrap_or(ChunkId::MAX)
}

/// Stores `chunk` in a free slot or a new one; its id.
fn alloc(slab: &mut Vec<Chunk>, free: &mut Vec<ChunkId>, chunk: Chunk) -> ChunkId {
    if let Some(id) = free.pop() {
        if let Some(slot) = slab.get_mut(id as usize) {
            *slot = chunk;
            return id;
        }
    }
    if slab.len() == slab.capacity() {
        // Grow by an eighth (at least 8 chunks), not by doubling: a slot is a few
        // hundred bytes, and doubling would leave up to half of them unused.
        slab.reserve_exact((slab.len() / 8).max(8));
    }
    slab.push(chunk);
    id_of(slab.len() - 1)
}

/// The dots held by some items.
fn dot_count(items: &[Item]) -> usize {
    items.iter().map(|(_, e)| e.len()).sum()
}

/// Finds or inserts `key` in chunked keys: its chunk, position, and whether it is new.
fn place_chunked(
    order: &mut ChunkOrder,
    slab: &mut Vec<Chunk>,
    free: &mut Vec<ChunkId>,
    key: &str,
    moved: &mut Vec<Moved>,
) -> (ChunkId, usize, bool) {
    let item = || -> Item { (key.into(), Entry::new()) };
    let at = order.floor(key).map(|(_, id)| id);
    let Some(id) = at.filter(|id| slab.get(*id as usize).is_some()) else {
        // Below every key: it starts the first chunk, which is re-keyed, or a new
        // chunk if that one is full (so descending inserts keep chunks full).
        let first = order
            .first_id()
            .filter(|id| slab.get(*id as usize).is_some_and(|c| c.len() < CHUNK));
        let id = match first {
            Some(id) => {
                order.pop_first();
                if let Some(c) = slab.get_mut(id as usize) {
                    c.insert(0, item());
                }
                id
            }
            None => alloc(slab, free, Chunk::from_items(vec![item()])),
        };
        order.insert(key.into(), id);
        return (id, 0, true);
    };
    let is_last = order.last_id() == Some(id);
    let Some(chunk) = slab.get_mut(id as usize) else {
        return (id, 0, false);
    };
    let i = match chunk.search(key) {
        Ok(i) => return (id, i, false),
        Err(i) => i,
    };
    if chunk.len() < CHUNK {
        chunk.insert(i, item());
        return (id, i, true);
    }
    if i == CHUNK && is_last {
        // An append past the last key: this chunk stays full, a new one starts.
        let new = alloc(slab, free, Chunk::from_items(vec![item()]));
        order.insert(key.into(), new);
        return (new, 0, true);
    }
    // Split the full chunk in halves and insert into the half it belongs to; the half
    // with fewer dots moves to a new slot (its dots are re-pointed).
    let mut upper = chunk.split_off(CHUNK / 2);
    let (in_upper, j) = if i <= CHUNK / 2 {
        chunk.insert(i, item());
        (false, i)
    } else {
        upper.insert(i - CHUNK / 2, item());
        (true, i - CHUNK / 2)
    };
    let upper_first = upper.first().map(|(k, _)| k.clone()).unwrap_or_default();
    if dot_count(&upper) <= dot_count(chunk) {
        let new = alloc(slab, free, upper);
        order.insert(upper_first, new);
        moved.push(Moved { id: new, from: 0 });
        (if in_upper { new } else { id }, j, true)
    } else {
        let lower = core::mem::replace(chunk, upper);
        let lower_first = lower.first().map(|(k, _)| k.clone()).unwrap_or_default();
        let new = alloc(slab, free, lower);
        order.insert(lower_first, new);
        order.insert(upper_first, id);
        moved.push(Moved { id: new, from: 0 });
        (if in_upper { id } else { new }, j, true)
    }
}

/// Merges the sparse chunk `id` into its predecessor if both fit in one chunk, else
/// absorbs its successor if they fit; reports the keys that moved.
fn rebalance(
    order: &mut ChunkOrder,
    slab: &mut [Chunk],
    free: &mut Vec<ChunkId>,
    id: ChunkId,
    moved: &mut Vec<Moved>,
) {
    let Some(first) = slab
        .get(id as usize)
        .and_then(|c| c.first())
        .map(|(k, _)| k.clone())
    else {
        return;
    };
    let size = |slab: &[Chunk], id: ChunkId| slab.get(id as usize).map_or(0, |c| c.len());
    let prev = order
        .range(Bound::Unbounded, Bound::Excluded(&first))
        .next_back()
        .map(|(_, p)| p);
    if let Some(prev) = prev.filter(|p| size(slab, *p) + size(slab, id) <= CHUNK) {
        let mine = slab
            .get_mut(id as usize)
            .map(core::mem::take)
            .unwrap_or_default();
        if let Some(p) = slab.get_mut(prev as usize) {
            let from = p.len();
            p.append(mine);
            moved.push(Moved { id: prev, from });
        }
        order.remove(&first);
        free.push(id);
        return;
    }
    let next = order
        .range(Bound::Excluded(&first), Bound::Unbounded)
        .next()
        .map(|(k, n)| (Box::<str>::from(k), n))
        .filter(|(_, n)| size(slab, *n) + size(slab, id) <= CHUNK);
    if let Some((next_key, next)) = next {
        let theirs = slab
            .get_mut(next as usize)
            .map(core::mem::take)
            .unwrap_or_default();
        if let Some(c) = slab.get_mut(id as usize) {
            let from = c.len();
            c.append(theirs);
            moved.push(Moved { id, from });
        }
        order.remove(&next_key);
        free.push(next);
    }
    if let Some(c) = slab.get_mut(id as usize) {
        if c.capacity() >= 4 * c.len() {
            c.shrink_to(2 * c.len());
        }
    }
}

/// An iterator that knows its exact length.
struct Counted<I> {
    inner: I,
    len: usize,
}

impl<I: Iterator> Iterator for Counted<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let x = self.inner.next()?;
        self.len = self.len.saturating_sub(1);
        Some(x)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len, Some(self.len))
    }
}

impl<I: DoubleEndedIterator> DoubleEndedIterator for Counted<I> {
    fn next_back(&mut self) -> Option<I::Item> {
        let x = self.inner.next_back()?;
        self.len = self.len.saturating_sub(1);
        Some(x)
    }
}

impl<I: Iterator> ExactSizeIterator for Counted<I> {}

/// Equality of the keys and entries, however chunked.
impl PartialEq for Keys {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Keys {}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Crdt, DeltaCrdt, Keyspace, ReplicaId, Value};
    use std::collections::BTreeMap;

    /// A keyspace of thousands of keys written, rewritten, removed and deleted in
    /// random order by three writers (chunks split, merge, re-key and shrink back to
    /// one) stays consistent (index, chunks, hash) and reads like a model; a replica
    /// fed only its deltas, and a repair from scratch, end equal.
    #[test]
    fn chunks_split_merge_and_shrink_under_random_writes_and_deletes() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut ks = Keyspace::new();
        let mut peer = Keyspace::new();
        let mut model: BTreeMap<String, u64> = BTreeMap::new();
        let mut sets: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for step in 0..12_000u64 {
            let r = next();
            let writer = ReplicaId::new(1 + r % 3);
            // Phases: mostly writes, then mostly deletes (down to a few keys), then mixed.
            let delete_bias = match step * 3 / 12_000 {
                0 => 2,
                1 => 9,
                _ => 5,
            };
            let n = (r >> 8) % 3_000;
            let key = format!("k{n:05}");
            let set_key = format!("s{n:05}");
            let delta = match (r >> 20) % 10 {
                d if d < delete_bias => {
                    model.remove(&key);
                    ks.delete(&key).unwrap()
                }
                7 => {
                    let e = format!("e{}", (r >> 30) % 4);
                    let v = sets.entry(set_key.clone()).or_default();
                    if !v.contains(&e) {
                        v.push(e.clone());
                        v.sort();
                    }
                    ks.set_insert(writer, &set_key, e).unwrap()
                }
                8 => {
                    let e = format!("e{}", (r >> 30) % 4);
                    if let Some(v) = sets.get_mut(&set_key) {
                        v.retain(|x| *x != e);
                        if v.is_empty() {
                            sets.remove(&set_key);
                        }
                    }
                    ks.set_remove(writer, &set_key, &e).unwrap()
                }
                _ => {
                    *model.entry(key.clone()).or_default() += 1;
                    ks.increment(writer, &key, 1).unwrap()
                }
            };
            peer.merge(&delta);
            if step % 1_500 == 0 || step == 11_999 {
                ks.check_invariants().unwrap();
                peer.check_invariants().unwrap();
                assert_eq!(ks, peer);
                assert_eq!(ks.state_hash(), peer.state_hash());
                let want: Vec<(String, Value)> = model
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::GCounter(*v)))
                    .chain(
                        sets.iter()
                            .map(|(k, v)| (k.clone(), Value::OrSet(v.clone()))),
                    )
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .collect();
                let got: Vec<(String, Value)> = ks
                    .range(core::ops::Bound::Unbounded, core::ops::Bound::Unbounded)
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                assert_eq!(got, want);
                assert_eq!(ks.keys().len(), want.len());
                assert!(ks
                    .keys()
                    .rev()
                    .eq(want.iter().rev().map(|(k, _)| k.as_str())));
                let repaired = {
                    let mut fresh = Keyspace::new();
                    let _novel = fresh.merge_delta(&ks.delta_since(&fresh.summary()));
                    fresh
                };
                repaired.check_invariants().unwrap();
                assert_eq!(repaired, ks);
            }
            if step == 3_999 {
                assert!(ks.len() > 1_000, "chunked: {}", ks.len());
            }
        }
        // Delete every key, from the middle outwards: chunks merge, then shrink to one.
        let keys: Vec<String> = ks.keys().map(str::to_string).collect();
        let (low, high) = keys.split_at(keys.len() / 2);
        for (i, key) in low
            .iter()
            .rev()
            .zip(high.iter())
            .flat_map(|(a, b)| [a, b])
            .enumerate()
        {
            let delta = ks.delete(key).unwrap();
            peer.merge(&delta);
            if i % 97 == 0 || ks.len() < 70 {
                ks.check_invariants().unwrap();
            }
        }
        ks.check_invariants().unwrap();
        peer.check_invariants().unwrap();
        assert!(ks.len() <= 1);
        assert_eq!(ks, peer);
    }
}
