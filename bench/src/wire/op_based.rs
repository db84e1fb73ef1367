//! The op-based lower bound: each update's delta shipped exactly once to every other
//! node, at its encoded size, over a reliable causal broadcast whose own cost (vector
//! clocks, acknowledgements, retransmission buffers) is not counted.

use super::topology::Topology;
use super::workload::{writers, Op, Replicated};
use super::{body, unbody, Protocol};
use crdt_core::ReplicaId;

/// The lower bound. Its CPU time is encoding each update once and decoding and
/// joining it at every other node.
#[derive(Debug)]
pub struct OpBased<C> {
    states: Vec<C>,
    pending: Vec<(usize, Vec<u8>)>,
    /// The writer id of each node (`workload::writers`).
    writers: Vec<ReplicaId>,
}

impl<C: Replicated> Protocol<C> for OpBased<C> {
    const NAME: &'static str = "op-based lower bound (each update once to each other node)";

    fn new(topology: &Topology, _probe: bool) -> Self {
        Self {
            states: vec![C::default(); topology.len()],
            writers: writers(topology.len()),
            pending: Vec::new(),
        }
    }

    fn update(&mut self, node: usize, op: &Op) {
        let delta = self.states[node].update(op, self.writers[node]);
        self.pending.push((node, body(&delta)));
    }

    fn sync_round(&mut self) -> u64 {
        let mut bytes = 0;
        for (from, payload) in std::mem::take(&mut self.pending) {
            for to in (0..self.states.len()).filter(|to| *to != from) {
                bytes += payload.len() as u64;
                let delta: C = unbody(&payload);
                self.states[to].merge(&delta);
            }
        }
        bytes
    }

    fn state(&self, node: usize) -> &C {
        &self.states[node]
    }

    /// No buffer (the broadcast layer's is not counted).
    fn buffer_peaks(&self) -> Vec<u64> {
        vec![0; self.states.len()]
    }
}
