//! The delta buffer: numbered deltas kept until every peer has acknowledged them.

use crdt_core::{DeltaCrdt, ReplicaId};
use std::collections::VecDeque;

/// The fewest slots the queue grows by (as std's first allocation: an idle leader
/// keeps that many).
const GROWTH_MIN: usize = 4;

/// Where a buffered delta came from: `None` for a local mutation, or the peer (and
/// its incarnation) whose message carried it.
pub(crate) type Origin = Option<(ReplicaId, crate::Incarnation)>;

struct Entry<C> {
    seq: u64,
    origin: Origin,
    delta: C,
    /// The entry's memory: its slot in the queue and the delta's heap.
    bytes: usize,
}

impl<C: DeltaCrdt> Entry<C> {
    /// The memory an entry of `delta` takes: its slot (`size_of`) plus the delta's
    /// heap ([`DeltaCrdt::heap_bytes`], an upper bound). O(size of the delta), no
    /// allocation and no encoding.
    fn memory(delta: &C) -> usize {
        core::mem::size_of::<Self>() + delta.heap_bytes()
    }
}

/// Deltas numbered `base..=head` (consecutive), each the *novel* part of a local
/// mutation or of a received delta, so the buffer never holds what was already here.
///
/// # Invariant
/// The join of all deltas ever numbered `1..=head`, together with what was dropped,
/// equals this leader's state: any peer that has merged a prefix `1..=k` and receives
/// the join of `k+1..=head` (minus its own deltas) has everything this leader has.
///
/// # Memory
/// `bytes` is the sum of the entries' memory (each its queue slot plus its delta's
/// heap, see [`DeltaCrdt::heap_bytes`]) and never exceeds the limit after a push. The
/// queue's spare slots come on top: it grows by a quarter when full, and is shrunk
/// once it holds fewer than a quarter of its slots, so while it fills they add at most
/// a quarter of the slots in use (and after a drop to half the limit, the slots freed
/// stay until they are filled again).
pub(crate) struct DeltaBuffer<C> {
    entries: VecDeque<Entry<C>>,
    head: u64,
    bytes: usize,
    /// Planted bug `TokenPruning` only: the token entries taken to cover each delta (a
    /// local write: its own; a relayed delta: the token news that came with it), by
    /// number. Kept outside `Entry` so that entries (and the memory counted for them)
    /// are the same in sabotage builds.
    #[cfg(feature = "sabotage")]
    covered_by: std::collections::BTreeMap<u64, crdt_core::VersionVector>,
}

impl<C: DeltaCrdt> DeltaBuffer<C> {
    pub(crate) fn new() -> Self {
        Self {
            entries: VecDeque::new(),
            head: 0,
            bytes: 0,
            #[cfg(feature = "sabotage")]
            covered_by: std::collections::BTreeMap::new(),
        }
    }

    /// A buffer whose deltas up to `head` are gone (after a restore: peers that lack
    /// them are repaired from summaries).
    pub(crate) fn starting_after(head: u64) -> Self {
        Self {
            entries: VecDeque::new(),
            head,
            bytes: 0,
            #[cfg(feature = "sabotage")]
            covered_by: std::collections::BTreeMap::new(),
        }
    }

    /// The number of the newest delta (0 if none yet).
    pub(crate) fn head(&self) -> u64 {
        self.head
    }

    /// The lowest number still held (`head + 1` if empty).
    pub(crate) fn base(&self) -> u64 {
        self.entries.front().map_or(self.head + 1, |e| e.seq)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The memory of the buffered deltas (see the type's docs).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Numbers and stores `delta`. Returns `false` if the buffer's memory then
    /// exceeded `max_bytes`: its oldest deltas were dropped down to half the limit (the
    /// number still advances; peers that needed them are repaired instead).
    pub(crate) fn push(&mut self, origin: Origin, delta: C, max_bytes: usize) -> bool {
        let bytes = Entry::memory(&delta);
        if self.entries.len() == self.entries.capacity() {
            // Grow by a quarter (amortized O(1) still), not by doubling: the spare
            // slots of a queue filled to the limit stay within a quarter of it.
            self.entries
                .reserve_exact((self.entries.len() / 4).max(GROWTH_MIN));
        }
        self.head += 1;
        self.bytes += bytes;
        self.entries.push_back(Entry {
            seq: self.head,
            origin,
            delta,
            bytes,
        });
        if self.bytes > max_bytes {
            // Drop the oldest deltas, down to half the limit: only peers that still
            // needed them (the laggards) fall back to a repair; peers near the head
            // keep getting intervals. The newest delta always stays.
            while self.bytes > max_bytes / 2 && self.entries.len() > 1 {
                if let Some(e) = self.entries.pop_front() {
                    self.bytes -= e.bytes;
                }
            }
            if self.bytes > max_bytes {
                self.entries.clear();
                self.bytes = 0;
            }
            self.shrink();
            return false;
        }
        true
    }

    /// Drops every delta numbered `<= upto`.
    pub(crate) fn collect_garbage(&mut self, upto: u64) {
        while self.entries.front().is_some_and(|e| e.seq <= upto) {
            if let Some(e) = self.entries.pop_front() {
                self.bytes -= e.bytes;
            }
        }
        self.shrink();
    }

    #[cfg(feature = "retirement")]
    /// Replaces every buffered delta by `renamed(delta)` (a retirement's commit: the
    /// same deltas at the new epoch); on the first error nothing is changed.
    pub(crate) fn rename<E>(
        &mut self,
        renamed: impl Fn(&C) -> Result<Option<C>, E>,
    ) -> Result<(), E> {
        let mut new: Vec<Option<C>> = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            new.push(renamed(&e.delta)?);
        }
        for (e, delta) in self.entries.iter_mut().zip(new) {
            if let Some(delta) = delta {
                let bytes = Entry::memory(&delta);
                self.bytes = self.bytes - e.bytes + bytes;
                e.bytes = bytes;
                e.delta = delta;
            }
        }
        Ok(())
    }

    /// Returns memory once the buffer holds far fewer deltas than it has room for
    /// (after a silent peer's backlog was collected or dropped).
    fn shrink(&mut self) {
        if self.entries.capacity() > 64 && self.entries.len() < self.entries.capacity() / 4 {
            self.entries.shrink_to(self.entries.len() * 2);
        }
    }

    /// The join of deltas `start..` up to the newest, skipping those from `exclude`
    /// (never send a peer back its own deltas), cut after the last delta that keeps the
    /// summed size within `max_bytes` (at least one delta is taken). Returns the join
    /// and the number of the last delta included. `start` must be `>= base()`.
    ///
    /// The size summed is each delta's memory, which the buffer keeps anyway: it stands
    /// in for the encoded size (a message budget) without encoding every delta, and it
    /// is in practice larger (a small delta's slot alone is several times its
    /// encoding, and a string costs at least its bytes), so a cut interval still fits,
    /// only cut sooner; should one not, it goes in fragments like any large message.
    ///
    /// Nothing is skipped because a peer's causal token seems to cover it: token
    /// entries count writes per writer id, and neither a relayed delta (its sender's
    /// state may hold writes its token does not count: they came in a cut interval or a
    /// repair) nor a local write (a twin not yet detected may have written under the
    /// same id) is described exactly by token entries. Skipping by token let a peer's
    /// token cover writes its state lacked (simulator seeds 16146 and 16063).
    pub(crate) fn join_from(&self, start: u64, exclude: Origin, max_bytes: usize) -> (C, u64) {
        self.join_skipping(start, max_bytes, |e| {
            e.origin.is_some() && e.origin == exclude
        })
    }

    /// The join of deltas `start..` as [`join_from`](Self::join_from) describes, leaving
    /// out those `skip` names (their numbers still count toward the end).
    fn join_skipping(
        &self,
        start: u64,
        max_bytes: usize,
        skip: impl Fn(&Entry<C>) -> bool,
    ) -> (C, u64) {
        let mut parts: Vec<&C> = Vec::new();
        let mut end = start.saturating_sub(1);
        let mut size = 0usize;
        let first = usize::try_from(start.saturating_sub(self.base())).unwrap_or(usize::MAX);
        for e in self.entries.iter().skip(first) {
            if end >= start && size + e.bytes > max_bytes {
                break;
            }
            if !skip(e) {
                parts.push(&e.delta);
                size += e.bytes;
            }
            end = e.seq;
        }
        (join_all(&parts), end)
    }

    /// Planted bug `TokenPruning` (`crdt_core::sabotage`): records that the newest
    /// delta is covered by `covered_by`, as the pruning of 3b75830 did.
    #[cfg(feature = "sabotage")]
    pub(crate) fn cover_newest(&mut self, covered_by: crdt_core::VersionVector) {
        self.covered_by.insert(self.head, covered_by);
    }

    /// Planted bug `TokenPruning` (`crdt_core::sabotage`): [`join_from`](Self::join_from)
    /// that also skips every delta the peer's token `known` seems to cover. Unsound: a
    /// relayed delta's novel part may hold writes its token news does not name (seeds
    /// 16146 and 16063 found it; 12510a3 removed it).
    #[cfg(feature = "sabotage")]
    pub(crate) fn join_from_pruned(
        &self,
        start: u64,
        exclude: Origin,
        known: &crdt_core::VersionVector,
        max_bytes: usize,
    ) -> (C, u64) {
        self.join_skipping(start, max_bytes, |e| {
            let theirs = e.origin.is_some() && e.origin == exclude;
            theirs || self.covered_by.get(&e.seq).is_some_and(|c| known.covers(c))
        })
    }
}

/// The join of `parts`, pairwise (a balanced tree of joins): joining `k` deltas one
/// by one into a growing result costs O(k²) for types stored as sorted vectors (each
/// join may shift the result), in halves O(total size × log k).
fn join_all<C: DeltaCrdt>(parts: &[&C]) -> C {
    match parts {
        [] => C::empty_delta(),
        [one] => (*one).clone(),
        _ => {
            let (left, right) = parts.split_at(parts.len() / 2);
            let mut joined = join_all(left);
            joined.merge(&join_all(right));
            joined
        }
    }
}
