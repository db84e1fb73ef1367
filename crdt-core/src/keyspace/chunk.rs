//! One chunk of the key map: up to [`CHUNK`] keys in order with their entries, and a
//! four-byte tag per key so that a search reads the tags, not the keys.
//!
//! Every key of a chunk starts with the same `shared` bytes (at least the common
//! prefix of its first and last key). A key's tag is its next four bytes, zero-padded,
//! big-endian: for two keys of the chunk, different tags order them as the keys do
//! (where the tags differ, either both keys have bytes there, or one ended and the
//! other has a byte above zero, so the shorter is a prefix of the longer). A search
//! compares the looked-up key with the first key once, then binary-searches the 256
//! bytes of tags, and reads keys only among equal tags. With a million keys, each key
//! a separate allocation, reading six of them per search was six cache misses.

use super::keys::{Item, CHUNK};
use super::Entry;
use core::ops::Deref;

/// Keys in order with their entries, and their tags (see the module docs).
#[derive(Clone)]
pub(crate) struct Chunk {
    items: Vec<Item>,
    /// `tags[i]` is the tag of `items[i].0`, for `i < items.len()` (held inline, next
    /// to the other fields a search reads: one fewer allocation to miss in the cache).
    tags: [u32; CHUNK],
    /// How many leading bytes every key here has in common (all of them, of a lone
    /// key).
    shared: u32,
    /// The first key's first [`HEAD`] bytes, zero-padded: a search that checks the
    /// shared bytes reads them here, not from the key's allocation, when `shared`
    /// is at most [`HEAD`].
    head: [u8; HEAD],
}

/// The bytes of the first key a chunk holds inline.
const HEAD: usize = 16;

/// The first [`HEAD`] bytes of `key`, zero-padded (also the chunk order's prefix).
pub(crate) fn head(key: &[u8]) -> [u8; HEAD] {
    let mut bytes = [0u8; HEAD];
    let n = key.len().min(HEAD);
    bytes[..n].copy_from_slice(&key[..n]);
    bytes
}

/// The [`head`] of the first of `items` (zeros if there is none).
fn first_head(items: &[Item]) -> [u8; HEAD] {
    items.first().map_or([0; HEAD], |(k, _)| head(k.as_bytes()))
}

/// The four bytes of `key` after its first `shared`, zero-padded, big-endian.
fn tag(key: &[u8], shared: usize) -> u32 {
    let mut bytes = [0u8; 4];
    if let Some(rest) = key.get(shared..) {
        let n = rest.len().min(4);
        bytes[..n].copy_from_slice(&rest[..n]);
    }
    u32::from_be_bytes(bytes)
}

/// The length of the common prefix of `a` and `b`.
fn common(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A length as a `shared` count (keys are far shorter than 4 GiB: `DecodeLimits`).
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Chunk {
    /// A chunk of `items`, sorted strictly ascending by key (the caller's duty).
    pub(crate) fn from_items(items: Vec<Item>) -> Self {
        let mut chunk = Self {
            tags: [0; CHUNK],
            items,
            shared: 0,
            head: [0; HEAD],
        };
        chunk.retag();
        chunk
    }

    /// Recomputes `shared` (the common prefix of the first and last key) and every tag.
    fn retag(&mut self) {
        let shared = match (self.items.first(), self.items.last()) {
            (Some((a, _)), Some((b, _))) => common(a.as_bytes(), b.as_bytes()),
            _ => 0,
        };
        self.head = first_head(&self.items);
        self.set_shared(shared);
    }

    /// Sets `shared` and recomputes every tag after that many bytes.
    fn set_shared(&mut self, shared: usize) {
        self.shared = count(shared);
        for (t, (k, _)) in self.tags.iter_mut().zip(&self.items) {
            *t = tag(k.as_bytes(), shared);
        }
    }

    /// The position of `key`, or where it would go. O(log [`CHUNK`]) tag comparisons,
    /// one key read, and key reads only among keys with `key`'s tag.
    pub(crate) fn search(&self, key: &str) -> Result<usize, usize> {
        let shared = self.shared as usize;
        let k = key.as_bytes();
        // (The first key is read only if the shared bytes are not all in `head`.)
        let first = || self.items.first().map_or("", |(f, _)| &**f);
        let starts = if shared <= HEAD {
            k.get(..shared) == self.head.get(..shared)
        } else {
            k.get(..shared) == first().as_bytes().get(..shared)
        };
        if self.items.is_empty() {
            return Err(0);
        }
        if !starts {
            // Every key here starts with those bytes: `key` is below or above them all.
            return if key < first() {
                Err(0)
            } else {
                Err(self.items.len())
            };
        }
        let t = tag(k, shared);
        let tags = self.tags();
        let lo = tags.partition_point(|x| *x < t);
        let ties = tags.get(lo..).unwrap_or_default();
        let hi = lo + ties.partition_point(|x| *x == t);
        let among = self.items.get(lo..hi).unwrap_or_default();
        match among.binary_search_by(|(k, _)| (**k).cmp(key)) {
            Ok(i) => Ok(lo + i),
            Err(i) => Err(lo + i),
        }
    }

    /// Inserts `item` at `i` (where [`Chunk::search`] said its key goes), growing the
    /// capacity by doubling but never past [`CHUNK`]. A key at either end that lacks
    /// the shared bytes shortens them and re-tags the chunk.
    pub(crate) fn insert(&mut self, i: usize, item: Item) {
        let k = item.0.as_bytes();
        match self.items.first() {
            None => self.shared = count(k.len()),
            Some((first, _)) => {
                let shared = self.shared as usize;
                let now = common(k, first.as_bytes().get(..shared).unwrap_or_default());
                if now < shared {
                    self.set_shared(now);
                }
            }
        }
        let t = tag(k, self.shared as usize);
        if self.items.len() == self.items.capacity() {
            let want = self
                .items
                .len()
                .max(1)
                .min(CHUNK.saturating_sub(self.items.len()).max(1));
            self.items.reserve_exact(want);
        }
        if i == 0 {
            self.head = head(k);
        }
        // A chunk is split before it would pass `CHUNK` keys (`Keys::place`).
        let n = self.items.len();
        self.tags.copy_within(i..n, i + 1);
        self.tags[i] = t;
        self.items.insert(i, item);
    }

    /// Removes and returns the item at `i` (the other keys keep their shared bytes).
    pub(crate) fn remove(&mut self, i: usize) -> Item {
        let item = self.items.remove(i);
        self.tags.copy_within(i + 1..=self.items.len(), i);
        if i == 0 {
            self.head = first_head(&self.items);
        }
        item
    }

    /// The entry at `i`.
    pub(crate) fn entry_mut(&mut self, i: usize) -> &mut Entry {
        &mut self.items[i].1
    }

    /// Splits off the items from `at` on (their tags stay valid: they share the bytes
    /// this chunk's keys share).
    pub(crate) fn split_off(&mut self, at: usize) -> Self {
        let n = self.items.len();
        let items = self.items.split_off(at);
        let head = first_head(&items);
        let mut tags = [0; CHUNK];
        tags[..n - at].copy_from_slice(&self.tags[at..n]);
        Self {
            items,
            tags,
            shared: self.shared,
            head,
        }
    }

    /// Moves the items of `other`, all above this chunk's keys, to its end; re-tags.
    pub(crate) fn append(&mut self, other: Self) {
        self.items.reserve_exact(other.items.len());
        self.items.extend(other.items);
        self.retag();
    }

    /// Frees capacity beyond `n` items.
    pub(crate) fn shrink_to(&mut self, n: usize) {
        self.items.shrink_to(n);
    }

    /// The capacity in items.
    pub(crate) fn capacity(&self) -> usize {
        self.items.capacity()
    }

    /// The items, giving up the tags.
    pub(crate) fn into_items(self) -> Vec<Item> {
        self.items
    }

    /// The heap held by the item buffer (spare capacity included; not the keys' and
    /// entries' own heap).
    pub(crate) fn heap_bytes(&self) -> usize {
        crate::memory::slots::<Item>(self.items.capacity())
    }

    /// The tags of the items.
    fn tags(&self) -> &[u32] {
        &self.tags[..self.items.len()]
    }

    /// Whether the tags are as documented: every key starts with the shared bytes of
    /// the first, and each tag is its key's.
    pub(crate) fn tags_are_valid(&self) -> bool {
        let shared = self.shared as usize;
        let prefix = self
            .items
            .first()
            .and_then(|(k, _)| k.as_bytes().get(..shared));
        self.items.len() <= CHUNK
            && self.head == first_head(&self.items)
            && self.items.iter().zip(self.tags()).all(|((k, _), t)| {
                k.as_bytes().get(..shared) == prefix && *t == tag(k.as_bytes(), shared)
            })
    }
}

impl Default for Chunk {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            tags: [0; CHUNK],
            shared: 0,
            head: [0; HEAD],
        }
    }
}

impl Deref for Chunk {
    type Target = [Item];

    fn deref(&self) -> &[Item] {
        &self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(k: &str) -> Item {
        (k.into(), Entry::new())
    }

    /// Searching with tags finds what a binary search over the keys finds, for keys
    /// sharing long prefixes, keys that are prefixes of others, NUL bytes, ties in the
    /// four tag bytes, and inserts at both ends that shorten the shared bytes.
    #[test]
    fn a_tag_search_agrees_with_a_key_search() {
        let keys = [
            "user:1000/cart",
            "user:1000/cart\0",
            "user:1000/cartX",
            "user:1000/cartXYZW1",
            "user:1000/cartXYZW2",
            "user:1000/like",
            "user:1000/title",
            "user:1001",
            "user:1001/cart",
            "user:10010",
        ];
        let probes = [
            "",
            "a",
            "user:",
            "user:1000",
            "user:1000/",
            "user:1000/c",
            "user:1000/cart",
            "user:1000/cartXYZW",
            "user:1000/cartXYZW15",
            "user:1000/cartXYZW3",
            "user:1000/m",
            "user:1001/",
            "user:1001/cart",
            "user:2",
            "z",
            "user:1000/cart\0\0",
        ];
        // Built by inserts in an order that hits both ends and the middle.
        let order = [4, 5, 0, 9, 2, 7, 1, 8, 3, 6];
        let mut chunk = Chunk::default();
        let mut model: Vec<&str> = Vec::new();
        for &i in &order {
            let k = keys[i];
            let at = chunk.search(k).expect_err("a new key");
            chunk.insert(at, item(k));
            model.insert(model.binary_search(&k).expect_err("new"), k);
            assert!(chunk.tags_are_valid());
            let listed: Vec<&str> = chunk.iter().map(|(k, _)| &**k).collect();
            assert_eq!(listed, model);
            for p in probes.iter().chain(&keys) {
                assert_eq!(
                    chunk.search(p),
                    model.binary_search(p),
                    "{p:?} in {model:?}"
                );
            }
        }
        let upper = chunk.split_off(4);
        assert!(chunk.tags_are_valid() && upper.tags_are_valid());
        assert_eq!(upper.search("user:1000/title"), Ok(2));
        chunk.append(upper);
        assert!(chunk.tags_are_valid());
        let gone = chunk.remove(0);
        assert_eq!(&*gone.0, keys[0]);
        assert!(chunk.tags_are_valid());
        for p in probes.iter().chain(&keys) {
            assert_eq!(chunk.search(p), model[1..].binary_search(p), "{p:?}");
        }
        let built = Chunk::from_items(keys.iter().map(|k| item(k)).collect());
        assert!(built.tags_are_valid());
        assert_eq!(built.search("user:1000/like"), Ok(5));
    }
}
