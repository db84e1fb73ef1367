//! The keyspace's dot index: which chunk of keys holds each live dot.
//!
//! Per writer, an ordered map of *runs*: consecutive dot counters, all live, whose keys
//! are all in one chunk of the key map (see `keys.rs`). A writer that writes keys in
//! ascending order (a bulk load, a local writer's usual pattern) fills a chunk with
//! consecutive dots, so its 64 keys take one run; scattered writes take one run (16
//! bytes) per dot. The index finds a dot's chunk in O(log dots + 64), and the live dots
//! within a range of counters in O(log dots + 64 + those dots).

use super::keys::ChunkId;
use crate::dot_store::ChunkMap;
use crate::{CausalContext, Dot, ReplicaId};
use core::ops::Bound;
use std::collections::BTreeMap;

/// `len` live dots from a run's first counter on, their keys all in chunk `chunk`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    len: u32,
    chunk: ChunkId,
}

impl Run {
    /// The last counter of this run when it starts at `s`.
    fn last(self, s: u64) -> u64 {
        s + (u64::from(self.len) - 1)
    }
}

/// A run's `len` for `count` counters (callers keep runs below `u32::MAX`).
fn run_len(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Inserts the run of counters `first ..= last`, all in chunk `chunk`.
fn put_run(runs: &mut Runs, first: u64, last: u64, chunk: ChunkId) {
    runs.insert(
        first,
        Run {
            len: run_len(last - first + 1),
            chunk,
        },
    );
}

/// The runs of one writer, by first counter.
type Runs = ChunkMap<u64, Run>;

/// Every live dot's chunk (see the module docs).
#[derive(Clone, Debug, Default)]
pub(crate) struct DotIndex {
    writers: BTreeMap<ReplicaId, Runs>,
    /// The number of dots indexed.
    len: usize,
}

/// The run of `runs` that holds counter `c`: its first counter and the run.
fn run_at(runs: &Runs, c: u64) -> Option<(u64, Run)> {
    runs.range(Bound::Unbounded, Bound::Included(&c))
        .next_back()
        .filter(|(s, r)| c - **s < u64::from(r.len))
        .map(|(s, r)| (*s, *r))
}

/// Points counters `a ..= b`, all within the run `(s, run)` of another chunk, at
/// `chunk`: the run keeps what lies outside them, a new run holds them.
fn assign_within(runs: &mut Runs, (s, run): (u64, Run), a: u64, b: u64, chunk: ChunkId) {
    let end = run.last(s);
    let new = Run {
        len: run_len(b - a + 1),
        chunk,
    };
    if s < a {
        if let Some(r) = runs.get_mut(&s) {
            r.len = run_len(a - s);
        }
        runs.insert(a, new);
    } else if let Some(r) = runs.get_mut(&a) {
        *r = new;
    }
    if end > b {
        put_run(runs, b + 1, end, run.chunk);
    }
    // A neighbour in `chunk` can only adjoin where the old run did not continue.
    if s == a || end == b {
        coalesce(runs, a, s == a, end == b);
    }
}

/// Joins the run starting at `s` with the runs just before (if `left`) and after (if
/// `right`) it if they are adjacent and in the same chunk (and the joined length fits).
fn coalesce(runs: &mut Runs, s: u64, left: bool, right: bool) {
    let Some(mut run) = runs.get(&s).copied() else {
        return;
    };
    let (mut start, mut joined) = (s, false);
    let before = if left {
        runs.range(Bound::Unbounded, Bound::Excluded(&s))
            .next_back()
            .map(|(p, r)| (*p, *r))
    } else {
        None
    };
    if let Some((p, prev)) = before {
        if let Some(len) = prev.len.checked_add(run.len) {
            if prev.chunk == run.chunk && s - p == u64::from(prev.len) {
                runs.remove(&s);
                (run.len, start, joined) = (len, p, true);
            }
        }
    }
    let next_start = start.checked_add(u64::from(run.len)).filter(|_| right);
    if let Some((n, next)) = next_start.and_then(|n| runs.get(&n).map(|r| (n, *r))) {
        if let Some(len) = run.len.checked_add(next.len) {
            if next.chunk == run.chunk {
                runs.remove(&n);
                (run.len, joined) = (len, true);
            }
        }
    }
    if joined {
        if let Some(r) = runs.get_mut(&start) {
            *r = run;
        }
    }
}

impl DotIndex {
    /// No dots.
    pub(crate) const fn new() -> Self {
        Self {
            writers: BTreeMap::new(),
            len: 0,
        }
    }

    /// Indexes dots given ascending and distinct (the caller checks) with their chunks.
    pub(crate) fn from_sorted(dots: impl IntoIterator<Item = (Dot, ChunkId)>) -> Self {
        let mut writers = BTreeMap::new();
        let mut len = 0usize;
        let mut current: Option<(ReplicaId, Vec<(u64, Run)>)> = None;
        for (dot, chunk) in dots {
            len += 1;
            let (w, c) = (dot.replica(), dot.counter());
            if current.as_ref().is_some_and(|(r, _)| *r != w) {
                if let Some((r, runs)) = current.take() {
                    writers.insert(r, ChunkMap::from_sorted(runs));
                }
            }
            let (_, runs) = current.get_or_insert_with(|| (w, Vec::new()));
            match runs.last_mut() {
                Some((s, run))
                    if run.chunk == chunk
                        && run.len < u32::MAX
                        && c.checked_sub(*s) == Some(u64::from(run.len)) =>
                {
                    run.len += 1;
                }
                _ => runs.push((c, Run { len: 1, chunk })),
            }
        }
        if let Some((r, runs)) = current {
            writers.insert(r, ChunkMap::from_sorted(runs));
        }
        Self { writers, len }
    }

    /// The number of dots indexed. O(1).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The chunk of `dot`, if indexed.
    pub(crate) fn get(&self, dot: Dot) -> Option<ChunkId> {
        let runs = self.writers.get(&dot.replica())?;
        run_at(runs, dot.counter()).map(|(_, r)| r.chunk)
    }

    /// Indexes `dot` in `chunk` (re-points it if indexed elsewhere).
    pub(crate) fn insert(&mut self, dot: Dot, chunk: ChunkId) {
        let c = dot.counter();
        let runs = self.writers.entry(dot.replica()).or_default();
        let below = runs
            .range(Bound::Unbounded, Bound::Included(&c))
            .next_back()
            .map(|(s, r)| (*s, *r));
        if let Some((s, run)) = below.filter(|(s, r)| c - s < u64::from(r.len)) {
            // Indexed already: re-pointed if elsewhere.
            if run.chunk != chunk {
                assign_within(runs, (s, run), c, c, chunk);
            }
            return;
        }
        self.len += 1;
        // The run ending just below `c` and the one starting just above, if in `chunk`.
        let before = below
            .filter(|(s, r)| r.chunk == chunk && r.len < u32::MAX && c - s == u64::from(r.len));
        let after = c
            .checked_add(1)
            .and_then(|n| runs.get(&n).map(|r| (n, *r)))
            .filter(|(_, r)| r.chunk == chunk);
        if let Some((s, run)) = before {
            let joined =
                after.and_then(|(n, next)| (run.len + 1).checked_add(next.len).map(|l| (n, l)));
            let len = match joined {
                Some((n, l)) => {
                    runs.remove(&n);
                    l
                }
                None => run.len + 1,
            };
            if let Some(r) = runs.get_mut(&s) {
                r.len = len;
            }
            return;
        }
        if let Some((n, next)) = after {
            if let Some(len) = next.len.checked_add(1) {
                runs.remove(&n);
                runs.insert(c, Run { len, chunk });
                return;
            }
        }
        runs.insert(c, Run { len: 1, chunk });
    }

    /// Re-points `dots` (ascending, each indexed) to `chunk`: one range update per
    /// run of consecutive counters among them, so the dots of keys that moved together
    /// cost O(runs they form × (log dots + 64)), not one update each.
    pub(crate) fn assign_sorted(&mut self, dots: &[Dot], chunk: ChunkId) {
        let mut rest = dots;
        while let Some((first, tail)) = rest.split_first() {
            let (w, a) = (first.replica(), first.counter());
            let n = tail
                .iter()
                .zip(1u64..)
                .take_while(|(d, k)| {
                    d.replica() == w
                        && a.checked_add(*k) == Some(d.counter())
                        && *k < u64::from(u32::MAX)
                })
                .count();
            self.assign_run(w, a, a + n as u64, chunk);
            rest = &tail[n..];
        }
    }

    /// Points counters `a ..= b` of writer `w` (`b - a < u32::MAX`) at `chunk`.
    fn assign_run(&mut self, w: ReplicaId, a: u64, b: u64, chunk: ChunkId) {
        let runs = self.writers.entry(w).or_default();
        let at = run_at(runs, a);
        if let Some((s, run)) = at {
            if run.last(s) >= b {
                // One run holds them all (keys that moved together): trim it in place.
                if run.chunk != chunk {
                    assign_within(runs, (s, run), a, b, chunk);
                }
                return;
            }
        }
        let start = at.map_or(a, |(s, _)| s);
        let overlapping: Vec<(u64, Run)> = runs
            .range(Bound::Included(&start), Bound::Included(&b))
            .filter(|(s, r)| r.last(**s) >= a)
            .map(|(s, r)| (*s, *r))
            .collect();
        let mut covered = 0u64;
        for (s, run) in overlapping {
            let end = run.last(s);
            runs.remove(&s);
            if s < a {
                put_run(runs, s, a - 1, run.chunk);
            }
            if end > b {
                put_run(runs, b + 1, end, run.chunk);
            }
            covered += end.min(b) - s.max(a) + 1;
        }
        put_run(runs, a, b, chunk);
        self.len += usize::try_from(b - a + 1 - covered).unwrap_or(0);
        coalesce(runs, a, true, true);
    }

    /// Drops `dot`; returns its chunk if it was indexed.
    pub(crate) fn remove(&mut self, dot: Dot) -> Option<ChunkId> {
        let (w, c) = (dot.replica(), dot.counter());
        let runs = self.writers.get_mut(&w)?;
        let (s, run) = run_at(runs, c)?;
        // Counters `s ..= last` form the run; `c` splits it in up to two.
        let last = run.last(s);
        if c == s {
            runs.remove(&s);
        } else if let Some(r) = runs.get_mut(&s) {
            r.len = run_len(c - s);
        }
        if c < last {
            put_run(runs, c + 1, last, run.chunk);
        }
        if runs.is_empty() {
            self.writers.remove(&w);
        }
        self.len -= 1;
        Some(run.chunk)
    }

    /// The indexed dots inside the runs of `ctx`, ascending. O(runs of `ctx` × log
    /// dots + the dots returned).
    pub(crate) fn within(&self, ctx: &CausalContext) -> Vec<Dot> {
        let mut out = Vec::new();
        for (r, first, last) in ctx.runs() {
            let Some(runs) = self.writers.get(&r) else {
                continue;
            };
            let start = runs
                .range(Bound::Unbounded, Bound::Included(&first))
                .next_back()
                .map_or(first, |(s, _)| *s);
            for (s, run) in runs.range(Bound::Included(&start), Bound::Included(&last)) {
                let end = run.last(*s);
                let (lo, hi) = ((*s).max(first), end.min(last));
                if lo <= hi {
                    out.extend((lo..=hi).filter_map(|c| Dot::try_new(r, c)));
                }
            }
        }
        out
    }

    /// The heap held: the B-tree of writers and each writer's runs.
    pub(crate) fn heap_bytes(&self) -> usize {
        crate::memory::btree_nodes::<ReplicaId, Runs>(self.writers.len())
            + self
                .writers
                .values()
                .map(|runs| runs.heap_bytes(|_, _| 0, |_| 0))
                .sum::<usize>()
    }

    /// Whether every run is non-empty and below the next one of its writer, and `len`
    /// counts their dots.
    pub(crate) fn runs_are_valid(&self) -> bool {
        let mut total = 0u128;
        for runs in self.writers.values() {
            let mut next_free = 0u128;
            for (s, run) in runs.iter() {
                if run.len == 0 || u128::from(*s) < next_free {
                    return false;
                }
                next_free = u128::from(*s) + u128::from(run.len);
                total += u128::from(run.len);
            }
        }
        total == self.len as u128
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn matches_a_map_of_dots_under_inserts_removes_and_re_points() {
        let mut index = DotIndex::new();
        let mut model: BTreeMap<Dot, ChunkId> = BTreeMap::new();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for step in 0..20_000u64 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let r = ReplicaId::new((x >> 60) % 3);
            let c = 1 + (x >> 20) % 300;
            let chunk = ((x >> 40) % 3) as ChunkId;
            let dot = Dot::new(r, c);
            if (x >> 33) % 3 == 0 {
                assert_eq!(index.remove(dot), model.remove(&dot));
            } else {
                index.insert(dot, chunk);
                model.insert(dot, chunk);
            }
            assert_eq!(index.get(dot), model.get(&dot).copied());
            assert_eq!(index.len(), model.len());
            if step % 1_000 == 0 {
                assert!(index.runs_are_valid());
                let ctx: CausalContext = (0..3u64)
                    .flat_map(|r| (40..120).map(move |c| Dot::new(ReplicaId::new(r), c)))
                    .collect();
                let want: Vec<Dot> = model.keys().filter(|d| ctx.contains(d)).copied().collect();
                assert_eq!(index.within(&ctx), want);
                let rebuilt = DotIndex::from_sorted(model.iter().map(|(d, c)| (*d, *c)));
                assert!(rebuilt.runs_are_valid());
                assert!(model.iter().all(|(d, c)| rebuilt.get(*d) == Some(*c)));
            }
        }
        let writers: BTreeSet<ReplicaId> = model.keys().map(|d| d.replica()).collect();
        assert_eq!(index.writers.len(), writers.len());
    }

    #[test]
    fn re_pointing_sorted_dots_matches_re_pointing_each() {
        let mut x = 0x1234_5678_9ABC_DEF1u64;
        for _ in 0..300 {
            let mut index = DotIndex::new();
            let mut model: BTreeMap<Dot, ChunkId> = BTreeMap::new();
            for _ in 0..60 {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let dot = Dot::new(ReplicaId::new((x >> 62) % 2), 1 + (x >> 20) % 40);
                let chunk = ((x >> 40) % 3) as ChunkId;
                index.insert(dot, chunk);
                model.insert(dot, chunk);
            }
            let picked: Vec<Dot> = model
                .keys()
                .filter(|d| (d.counter() ^ (x >> 7)) % 3 != 0)
                .copied()
                .collect();
            index.assign_sorted(&picked, 9);
            for d in &picked {
                model.insert(*d, 9);
            }
            assert!(index.runs_are_valid());
            assert_eq!(index.len(), model.len());
            assert!(model.iter().all(|(d, c)| index.get(*d) == Some(*c)));
            let rebuilt = DotIndex::from_sorted(model.iter().map(|(d, c)| (*d, *c)));
            let runs = |i: &DotIndex| i.writers.values().map(ChunkMap::len).sum::<usize>();
            assert_eq!(runs(&index), runs(&rebuilt), "runs are maximal");
        }
    }

    #[test]
    fn consecutive_dots_in_one_chunk_take_one_run() {
        let w = ReplicaId::new(1);
        let mut index = DotIndex::new();
        for c in (1..=100).rev().step_by(2).chain((1..=100).step_by(2)) {
            index.insert(Dot::new(w, c), 7);
        }
        assert_eq!(index.writers[&w].len(), 1);
        index.remove(Dot::new(w, 50));
        assert_eq!(index.writers[&w].len(), 2);
        index.insert(Dot::new(w, 50), 7);
        assert_eq!(index.writers[&w].len(), 1);
        index.insert(Dot::new(w, 60), 8);
        assert_eq!(index.writers[&w].len(), 3);
        assert_eq!(index.len(), 100);
        assert!(index.runs_are_valid());
    }
}
