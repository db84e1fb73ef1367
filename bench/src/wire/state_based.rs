//! State-based synchronization: every round, every node sends its whole state to each
//! neighbour, which decodes and joins it.

use super::topology::Topology;
use super::workload::{writers, Op, Replicated};
use super::{body, unbody, Protocol};
use crdt_core::ReplicaId;

/// The full-state protocol.
#[derive(Debug)]
pub struct StateBased<C> {
    neighbours: Vec<Vec<usize>>,
    states: Vec<C>,
    /// The writer id of each node (`workload::writers`).
    writers: Vec<ReplicaId>,
}

impl<C: Replicated> Protocol<C> for StateBased<C> {
    const NAME: &'static str = "state-based (full state every round)";

    fn new(topology: &Topology, _probe: bool) -> Self {
        Self {
            neighbours: topology.neighbours.clone(),
            states: vec![C::default(); topology.len()],
            writers: writers(topology.len()),
        }
    }

    fn update(&mut self, node: usize, op: &Op) {
        let _delta = self.states[node].update(op, self.writers[node]);
    }

    fn sync_round(&mut self) -> u64 {
        // Everyone sends the state it had at the start of the round (encoded once,
        // the same bytes to each neighbour).
        let sent: Vec<Vec<u8>> = self.states.iter().map(body).collect();
        let mut bytes = 0;
        for (from, payload) in sent.iter().enumerate() {
            for &to in &self.neighbours[from] {
                bytes += payload.len() as u64;
                let state: C = unbody(payload);
                self.states[to].merge(&state);
            }
        }
        bytes
    }

    fn state(&self, node: usize) -> &C {
        &self.states[node]
    }

    /// No buffer.
    fn buffer_peaks(&self) -> Vec<u64> {
        vec![0; self.states.len()]
    }
}
