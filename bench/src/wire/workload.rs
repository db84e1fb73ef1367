//! The update workloads: a deterministic script of one update per leader per round.

use crate::rng::SplitMix64;
use crdt_core::{
    DeltaCrdt, GCounter, GCounterOp, Keyspace, KeyspaceOp, OrSet, OrSetOp, ReplicaId, ValueOp,
};
use std::collections::BTreeSet;

/// One local update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Add a (globally fresh) element to the set.
    Insert(u64),
    /// Remove an element the same leader added earlier.
    Remove(u64),
    /// Add 1 to the counter.
    Increment,
    /// Add 1 to the counter under the map's key number `n` (of [`MAP_KEYS`]).
    IncrementKey(u64),
}

/// Keys of the map workload.
pub const MAP_KEYS: u64 = 1000;

/// Node `node`'s replica id (what `crdt_sync::Leader` is created with).
#[must_use]
pub fn replica(node: usize) -> ReplicaId {
    ReplicaId::new(node as u64 + 1)
}

/// The nonce node `node`'s leader is created with (`Leader::with_nonce`): fixed, so
/// runs are deterministic.
#[must_use]
pub fn nonce(node: usize) -> u64 {
    node as u64 + 1
}

/// The writer id of each of `n` nodes: the id the leader of node `node` writes under
/// (its first incarnation has a nonce, so it is a 53-bit id derived from the replica id,
/// like a random replica id a deployment would use). Every protocol writes under these,
/// so all end in the same state and pay the same bytes for ids.
#[must_use]
pub fn writers(n: usize) -> Vec<ReplicaId> {
    (0..n)
        .map(|node| {
            crdt_sync::Leader::with_nonce(
                replica(node),
                GCounter::new(),
                crdt_sync::Config::default(),
                nonce(node),
            )
            .writer_id()
        })
        .collect()
}

/// A replicated type the workloads can drive.
pub trait Replicated: DeltaCrdt {
    /// Applies `op` on behalf of `replica` and returns the delta.
    fn update(&mut self, op: &Op, replica: ReplicaId) -> Self {
        DeltaCrdt::apply(self, replica, Self::op(op)).expect("a valid update")
    }

    /// The leader operation of `op`.
    fn op(op: &Op) -> Self::Op;
}

impl Replicated for OrSet<u64> {
    fn op(op: &Op) -> OrSetOp<u64> {
        match op {
            Op::Insert(x) => OrSetOp::Insert(*x),
            Op::Remove(x) => OrSetOp::Remove(*x),
            Op::Increment | Op::IncrementKey(_) => unreachable!("not a set update"),
        }
    }
}

impl Replicated for GCounter {
    fn op(op: &Op) -> GCounterOp {
        match op {
            Op::Increment => GCounterOp::Increment(1),
            Op::Insert(_) | Op::Remove(_) | Op::IncrementKey(_) => {
                unreachable!("not a counter update")
            }
        }
    }
}

impl Replicated for Keyspace {
    fn op(op: &Op) -> KeyspaceOp {
        match op {
            Op::IncrementKey(k) => KeyspaceOp::Write {
                key: format!("key:{k:03}"),
                op: ValueOp::GCounterIncrement(1),
            },
            Op::Insert(_) | Op::Remove(_) | Op::Increment => unreachable!("not a map update"),
        }
    }
}

/// The workloads of the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Add-only OR-Set (the "GSet" of Enes et al.): every update adds a fresh element.
    AddOnlySet,
    /// OR-Set where 20% of the updates remove one of the leader's own earlier
    /// elements (chosen at random), the rest add fresh elements.
    SetWithRemoves,
    /// G-Counter: every update increments.
    Counter,
    /// A map (`Keyspace`) of [`MAP_KEYS`] G-Counters: every update increments one key,
    /// chosen at random (the "GMap" of Enes et al. is a map of 1,000 keys too).
    Map,
}

impl Kind {
    /// The label used in tables and plots.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Kind::AddOnlySet => "add-only OR-Set (GSet)",
            Kind::SetWithRemoves => "OR-Set, 20% removes",
            Kind::Counter => "G-Counter",
            Kind::Map => "map of 1,000 G-Counters (keyspace)",
        }
    }
}

/// Who does what in each round: `ops[round][leader]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// The workload.
    pub kind: Kind,
    /// One update per leader per round.
    pub ops: Vec<Vec<Op>>,
}

impl Script {
    /// The script for `leaders` leaders making one update each per round for `rounds`
    /// rounds, drawn from `seed`. Elements are random 32-bit values, unique across
    /// the run; a leader only removes its own elements, so the script is the same
    /// whatever protocol carries it (and so is every delta it produces).
    #[must_use]
    pub fn new(kind: Kind, leaders: usize, rounds: usize, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let mut used = BTreeSet::new();
        let mut own: Vec<Vec<u64>> = vec![Vec::new(); leaders];
        let ops = (0..rounds)
            .map(|_| {
                (0..leaders)
                    .map(|l| match kind {
                        Kind::Counter => Op::Increment,
                        Kind::Map => Op::IncrementKey(rng.below(MAP_KEYS)),
                        Kind::SetWithRemoves if !own[l].is_empty() && rng.percent(20) => {
                            let i = rng.below(own[l].len() as u64) as usize;
                            Op::Remove(own[l].swap_remove(i))
                        }
                        Kind::AddOnlySet | Kind::SetWithRemoves => {
                            let x = loop {
                                let x = rng.below(1 << 32);
                                if used.insert(x) {
                                    break x;
                                }
                            };
                            own[l].push(x);
                            Op::Insert(x)
                        }
                    })
                    .collect()
            })
            .collect();
        Self { kind, ops }
    }

    /// Rounds with updates.
    #[must_use]
    pub fn rounds(&self) -> usize {
        self.ops.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_are_about_a_fifth_and_only_of_own_elements() {
        let s = Script::new(Kind::SetWithRemoves, 15, 100, 9);
        let all: Vec<Op> = s.ops.iter().flatten().copied().collect();
        let removes = all.iter().filter(|o| matches!(o, Op::Remove(_))).count();
        assert!((200..400).contains(&removes), "{removes}");
        for l in 0..15 {
            let mut live = BTreeSet::new();
            for round in &s.ops {
                match round[l] {
                    Op::Insert(x) => assert!(live.insert(x)),
                    Op::Remove(x) => assert!(live.remove(&x)),
                    Op::Increment | Op::IncrementKey(_) => unreachable!(),
                }
            }
        }
        assert_eq!(s, Script::new(Kind::SetWithRemoves, 15, 100, 9));
    }
}
