//! [`DeltaCrdt`] for [`Keyspace`]: summaries, repair deltas and novelty.

use super::{Keyspace, Payload};
use crate::{CausalContext, CoreError, Crdt, DeltaCrdt, Dot, KeyspaceOp, ReplicaId};

impl Keyspace {
    /// A keyspace holding the live dots `live` of `self` (ascending) under `ctx`.
    fn with_live(&self, live: &[Dot], ctx: CausalContext) -> Self {
        let mut out = Keyspace::new();
        for dot in live {
            if let Some((key, payload)) = self.live(*dot) {
                out.insert_live(key, *dot, payload.clone(), false);
            }
        }
        out.removed = ctx.without_sorted(live);
        out.ctx = ctx;
        out
    }
}

impl DeltaCrdt for Keyspace {
    fn retirement() -> Option<crate::retirement::RetireFns<Self>> {
        Some(crate::retirement::RetireFns::of())
    }

    fn collapse_marks(&self, collapse: ReplicaId) -> crate::Held {
        crate::Retire::held(self, collapse)
    }

    type Summary = CausalContext;
    type Op = KeyspaceOp;

    fn apply(&mut self, writer: ReplicaId, op: KeyspaceOp) -> Result<Self, CoreError> {
        Keyspace::apply(self, writer, op)
    }

    fn heap_bytes(&self) -> usize {
        Keyspace::heap_bytes(self)
    }

    /// The incrementally maintained hash ([`Keyspace::state_hash`]): O(1).
    fn state_hash(&self) -> u64 {
        Keyspace::state_hash(self)
    }

    fn empty_delta() -> Self {
        Keyspace::new()
    }

    fn is_bottom(&self) -> bool {
        self.ctx.is_empty()
    }

    fn summary(&self) -> CausalContext {
        self.ctx.clone()
    }

    fn summary_writers(summary: &CausalContext) -> Vec<ReplicaId> {
        summary.replicas().collect()
    }

    fn summary_covers(summary: &CausalContext, other: &CausalContext) -> bool {
        summary.covers(other)
    }

    /// The live dots the remote has not seen (with their keys and payloads), under the
    /// context minus the live dots it has seen, so that it drops exactly what this
    /// replica removed. Costs O((m + 1) × log keys) for the `m` live dots the remote
    /// lacks, plus O(runs) of this context and of its removed dots (see the module
    /// docs): never a walk over the keys.
    fn delta_since(&self, remote: &CausalContext) -> Self {
        let missing = self.ctx.difference(remote);
        let live = self.live_within(&missing);
        let mut ctx = missing;
        ctx.merge(&self.removed);
        self.with_live(&live, ctx)
    }

    /// Costs O((live dots of `delta` + runs of its removed dots + dots it drops here)
    /// × log keys), plus the contexts' difference.
    fn merge_delta(&mut self, delta: &Self) -> Self {
        // New context; the live dots of `delta` not seen here; the live dots here that
        // `delta` removes.
        let mut ctx = delta.ctx.difference(&self.ctx);
        for dot in self.live_within(&delta.removed) {
            ctx.insert(dot);
        }
        let mut fresh: Vec<Dot> = Vec::new();
        let mut novel = Keyspace::new();
        for (key, entry) in delta.entries.iter() {
            for (payload, dot) in entry {
                if !self.ctx.contains(dot) {
                    fresh.push(*dot);
                    novel.insert_live(key, *dot, payload.clone(), false);
                }
            }
        }
        fresh.sort_unstable();
        novel.removed = ctx.without_sorted(&fresh);
        novel.ctx = ctx;
        self.merge(&novel);
        novel
    }

    fn progress_of(&self, replica: ReplicaId) -> u64 {
        self.ctx.max_counter(replica)
    }

    /// For each key of `incoming` with last-writer-wins writes new here: each of them
    /// hides (or is hidden by) a concurrent write, so the key shows one value fewer
    /// than it holds writes. `n` new writes next to `m` of ours that `incoming` has not
    /// seen hide `n` more writes if `m > 0` (whichever wins), else `n - 1`.
    /// O(LWW dots of `incoming`'s keys and of ours under them, × log keys).
    fn concurrent_discards(&self, incoming: &Self) -> u64 {
        let lww = |p: &Payload| matches!(p, Payload::Lww(_));
        let mut hidden = 0u64;
        for (key, theirs) in incoming.entries.iter() {
            let new = theirs
                .iter()
                .filter(|(p, d)| lww(p) && !self.ctx.contains(d))
                .count() as u64;
            if new == 0 {
                continue;
            }
            let kept = self.entries.get(key).map_or(0, |mine| {
                mine.iter()
                    .filter(|(p, d)| {
                        lww(p) && (!incoming.ctx.contains(d) || theirs.iter().any(|(_, t)| t == d))
                    })
                    .count()
            });
            hidden += if kept > 0 { new } else { new - 1 };
        }
        hidden
    }
}
