//! Running the protocols over a topology and a workload, and what each run measured.

use super::classic::Classic;
use super::leaders::{
    AdaptiveUntilQuiet, Leaders, LossyUntilQuiet, OneHop, TreeUntilQuiet, UntilQuiet,
};
use super::op_based::OpBased;
use super::state_based::StateBased;
use super::topology::Topology;
use super::workload::{Kind, Replicated, Script};
use super::{body, Protocol};
use crate::timing::Stopwatch;
use crdt_core::{GCounter, Keyspace, OrSet};
use std::time::Duration;

/// Leaders in the experiment (as in Enes et al.).
pub const LEADERS: usize = 15;
/// Rounds with updates: each leader makes one update per round.
pub const UPDATE_ROUNDS: usize = 100;
/// The seed of the mesh topology.
pub const MESH_SEED: u64 = 0x00E5_2019;
/// The seed of the workloads.
pub const WORKLOAD_SEED: u64 = 0x5EED_0005;
/// Timed repetitions per protocol (the median CPU time is reported).
pub const CPU_REPS: usize = 3;
/// A protocol that has not converged this many rounds after the last update fails
/// the run.
const MAX_EXTRA_ROUNDS: usize = 200;

/// What one protocol did on one topology and workload.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The protocol's label.
    pub protocol: &'static str,
    /// Bytes sent in each round, until every node converged.
    pub bytes_per_round: Vec<u64>,
    /// Bytes sent in total.
    pub total_bytes: u64,
    /// Rounds until every node held the same state (including the update rounds).
    pub rounds: usize,
    /// Thread CPU time spent in the protocol (updates and rounds; convergence checks
    /// and probes excluded), median of [`CPU_REPS`] runs.
    pub cpu: Duration,
    /// Each node's peak delta-buffer memory in bytes (each delta's slot and heap, as
    /// `crdt_sync::Metrics::buffered_bytes` counts it).
    pub buffer_peaks: Vec<u64>,
    /// The final state's encoded body.
    pub final_state: Vec<u8>,
    /// The final state's memory (`size_of` and [`DeltaCrdt::heap_bytes`](crdt_core::DeltaCrdt::heap_bytes)).
    pub final_state_memory: u64,
    /// Bytes and messages by message kind, where the protocol tells.
    pub breakdown: Vec<(&'static str, u64, u64)>,
}

impl Outcome {
    /// The largest per-node buffer peak.
    #[must_use]
    pub fn buffer_peak_max(&self) -> u64 {
        self.buffer_peaks.iter().copied().max().unwrap_or(0)
    }

    /// The mean per-node buffer peak.
    #[must_use]
    pub fn buffer_peak_mean(&self) -> f64 {
        self.buffer_peaks.iter().sum::<u64>() as f64 / self.buffer_peaks.len().max(1) as f64
    }
}

fn converged<C: Replicated, P: Protocol<C>>(p: &P, n: usize) -> bool {
    (1..n).all(|i| p.state(i) == p.state(0))
}

/// Runs one protocol until convergence: returns it, the bytes of each round and the
/// time spent inside it.
fn drive<C: Replicated, P: Protocol<C>>(
    topology: &Topology,
    script: &Script,
    probe: bool,
) -> (P, Vec<u64>, Duration) {
    let n = topology.len();
    let mut p = P::new(topology, probe);
    let mut cpu = Duration::ZERO;
    let mut per_round = Vec::new();
    for round in 0.. {
        let t = Stopwatch::start();
        if let Some(ops) = script.ops.get(round) {
            for (node, op) in ops.iter().enumerate() {
                p.update(node, op);
            }
        }
        let bytes = p.sync_round();
        cpu += t.elapsed();
        per_round.push(bytes);
        if round + 1 >= script.rounds() && converged(&p, n) {
            break;
        }
        assert!(
            round < script.rounds() + MAX_EXTRA_ROUNDS,
            "{} did not converge",
            P::NAME
        );
    }
    (p, per_round, cpu)
}

/// Runs protocol `P`: once probing buffers and counting bytes, [`CPU_REPS`] times for
/// CPU time (the runs are deterministic, so they send the same bytes).
pub fn run<C: Replicated, P: Protocol<C>>(topology: &Topology, script: &Script) -> Outcome {
    let (p, bytes_per_round, _) = drive::<C, P>(topology, script, true);
    let mut times: Vec<Duration> = (0..CPU_REPS)
        .map(|_| {
            let (_, bytes, cpu) = drive::<C, P>(topology, script, false);
            assert_eq!(bytes, bytes_per_round, "{} is deterministic", P::NAME);
            cpu
        })
        .collect();
    times.sort();
    Outcome {
        protocol: P::NAME,
        total_bytes: bytes_per_round.iter().sum(),
        rounds: bytes_per_round.len(),
        bytes_per_round,
        cpu: times[times.len() / 2],
        buffer_peaks: p.buffer_peaks(),
        final_state: body(p.state(0)),
        final_state_memory: (core::mem::size_of::<C>() + p.state(0).heap_bytes()) as u64,
        breakdown: p.breakdown(),
    }
}

/// One topology and workload, every protocol.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The network.
    pub topology: Topology,
    /// The workload.
    pub kind: Kind,
    /// State-based, classic, ours, ours one-hop, ours along a spanning tree, ours with
    /// 10 % of messages lost, op-based, in that order.
    pub outcomes: Vec<Outcome>,
}

/// Index of each protocol in [`Experiment::outcomes`].
pub mod index {
    /// State-based.
    pub const STATE: usize = 0;
    /// Classic delta-intervals.
    pub const CLASSIC: usize = 1;
    /// crdt-sync, delivering until quiet.
    pub const OURS: usize = 2;
    /// crdt-sync, one hop per round.
    pub const OURS_ONE_HOP: usize = 3;
    /// crdt-sync, delivering until quiet, links outside a spanning tree lazy.
    pub const OURS_TREE: usize = 4;
    /// crdt-sync, delivering until quiet, 10 % of messages lost.
    pub const OURS_LOSSY: usize = 5;
    /// crdt-sync, links pruned when redundant (oracle).
    pub const OURS_ADAPTIVE: usize = 6;
    /// Op-based lower bound.
    pub const OP_BASED: usize = 7;
}

fn run_all<C: Replicated>(topology: &Topology, script: &Script) -> Vec<Outcome> {
    vec![
        run::<C, StateBased<C>>(topology, script),
        run::<C, Classic<C>>(topology, script),
        run::<C, Leaders<C, UntilQuiet>>(topology, script),
        run::<C, Leaders<C, OneHop>>(topology, script),
        run::<C, Leaders<C, TreeUntilQuiet>>(topology, script),
        run::<C, Leaders<C, LossyUntilQuiet>>(topology, script),
        run::<C, Leaders<C, AdaptiveUntilQuiet>>(topology, script),
        run::<C, OpBased<C>>(topology, script),
    ]
}

impl Experiment {
    /// Runs every protocol on `topology` with workload `kind` (`leaders` = the
    /// topology's size, [`UPDATE_ROUNDS`] updates each, unless `rounds` says otherwise).
    ///
    /// # Panics
    /// If a protocol does not converge, or protocols end in different states.
    #[must_use]
    pub fn run(topology: Topology, kind: Kind, rounds: usize) -> Self {
        let script = Script::new(kind, topology.len(), rounds, WORKLOAD_SEED);
        let outcomes = match kind {
            Kind::AddOnlySet | Kind::SetWithRemoves => run_all::<OrSet<u64>>(&topology, &script),
            Kind::Counter => run_all::<GCounter>(&topology, &script),
            Kind::Map => run_all::<Keyspace>(&topology, &script),
        };
        for o in &outcomes {
            assert_eq!(
                o.final_state, outcomes[0].final_state,
                "{} ends in another state",
                o.protocol
            );
        }
        Self {
            topology,
            kind,
            outcomes,
        }
    }

    /// The encoded size of the final state.
    #[must_use]
    pub fn state_bytes(&self) -> u64 {
        self.outcomes[0].final_state.len() as u64
    }

    /// The final state's memory (what buffer peaks, also memory, compare with).
    #[must_use]
    pub fn state_memory(&self) -> u64 {
        self.outcomes[0].final_state_memory
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_converges_to_the_same_state() {
        for kind in [
            Kind::AddOnlySet,
            Kind::SetWithRemoves,
            Kind::Counter,
            Kind::Map,
        ] {
            for topology in [Topology::mesh(15, MESH_SEED), Topology::tree(15)] {
                let e = Experiment::run(topology, kind, 10);
                // `run` checked convergence and equal final states; the lower bound
                // is the least of all.
                let op = e.outcomes[index::OP_BASED].total_bytes;
                assert!(e.outcomes.iter().all(|o| o.total_bytes >= op), "{kind:?}");
                assert!(e.state_bytes() > 0);
            }
        }
    }
}
