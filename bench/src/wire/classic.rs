//! Classic delta-interval synchronization: Almeida, Shoker and Baquero, "Delta State
//! Replicated Data Types" (JPDC 2018), algorithm 2, as Enes et al. benchmark it —
//! **without** back-propagation avoidance or redundancy removal.
//!
//! Each node keeps its state `X`, a counter `c` and a buffer `D` of numbered deltas,
//! and for each neighbour `j` the highest number `A[j]` it acknowledged.
//! - A local update's delta `d` is joined into `X` and buffered whole as `D[c++] = d`.
//! - Every round, each neighbour `j` with `A[j] < c` is sent the delta-interval
//!   `⊔ D[A[j]..c]` numbered `c` (the whole state if that part was collected), including
//!   deltas that came from `j` itself.
//! - A received interval `d` that inflates the state (`d ⋢ X`) is joined and buffered
//!   **whole** (`D[c++] = d`, redundant parts included); an acknowledgement of its
//!   number goes back in the same round (acks cost bytes too).
//! - Deltas every neighbour acknowledged are dropped.
//!
//! Messages: a kind byte, the interval number as a varint, then crdt-core's encoded
//! body of the payload; an ack is a kind byte and the number.

use super::topology::Topology;
use super::workload::{writers, Op, Replicated};
use super::{body, unbody, Protocol};
use crdt_core::ReplicaId;
use std::collections::VecDeque;

const KIND_DELTA: u8 = 1;
const KIND_ACK: u8 = 2;

#[derive(Debug)]
struct Node<C> {
    state: C,
    /// The number the next buffered delta gets (`c`).
    next: u64,
    /// `D`: deltas numbered `base..next`, each with its memory (slot and heap, as
    /// `crdt-sync` counts its buffer).
    buffer: VecDeque<(C, u64)>,
    base: u64,
    buffer_bytes: u64,
    /// `A[j]` for each neighbour (parallel to the topology's list): deltas below it
    /// are merged there.
    acked: Vec<u64>,
}

impl<C: Replicated> Node<C> {
    fn push(&mut self, delta: C) {
        let size = (core::mem::size_of::<(C, u64)>() + delta.heap_bytes()) as u64;
        self.buffer_bytes += size;
        self.buffer.push_back((delta, size));
        self.next += 1;
    }

    /// The interval for a neighbour that acknowledged everything below `from`.
    fn interval(&self, from: u64) -> C {
        if from < self.base {
            return self.state.clone();
        }
        let mut acc = C::empty_delta();
        for (d, _) in self.buffer.iter().skip((from - self.base) as usize) {
            acc.merge(d);
        }
        acc
    }

    fn collect_garbage(&mut self) {
        let upto = self.acked.iter().copied().min().unwrap_or(self.next);
        while self.base < upto {
            if let Some((_, size)) = self.buffer.pop_front() {
                self.buffer_bytes -= size;
            }
            self.base += 1;
        }
    }
}

/// The classic delta-interval protocol.
#[derive(Debug)]
pub struct Classic<C> {
    neighbours: Vec<Vec<usize>>,
    nodes: Vec<Node<C>>,
    probe: bool,
    peaks: Vec<u64>,
    /// Bytes and messages of intervals, then of acknowledgements.
    kinds: [(u64, u64); 2],
    /// The writer id of each node (`workload::writers`).
    writers: Vec<ReplicaId>,
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(bytes: &[u8]) -> (u64, usize) {
    let mut v = 0u64;
    for (i, b) in bytes.iter().enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    panic!("truncated varint");
}

impl<C: Replicated> Classic<C> {
    fn note_peak(&mut self, node: usize) {
        if self.probe {
            self.peaks[node] = self.peaks[node].max(self.nodes[node].buffer_bytes);
        }
    }
}

impl<C: Replicated> Protocol<C> for Classic<C> {
    const NAME: &'static str = "classic delta-intervals (no BP, no RR)";

    fn new(topology: &Topology, probe: bool) -> Self {
        let nodes = topology
            .neighbours
            .iter()
            .map(|n| Node {
                state: C::default(),
                next: 0,
                buffer: VecDeque::new(),
                base: 0,
                buffer_bytes: 0,
                acked: vec![0; n.len()],
            })
            .collect();
        Self {
            neighbours: topology.neighbours.clone(),
            nodes,
            probe,
            peaks: vec![0; topology.len()],
            kinds: [(0, 0); 2],
            writers: writers(topology.len()),
        }
    }

    fn update(&mut self, node: usize, op: &Op) {
        let writer = self.writers[node];
        let n = &mut self.nodes[node];
        let delta = n.state.update(op, writer);
        n.push(delta);
        self.note_peak(node);
    }

    fn sync_round(&mut self) -> u64 {
        // Everyone sends the intervals its buffer held at the start of the round.
        let mut messages: Vec<(usize, usize, Vec<u8>)> = Vec::new();
        for (from, node) in self.nodes.iter().enumerate() {
            for (k, &to) in self.neighbours[from].iter().enumerate() {
                if node.acked[k] < node.next {
                    let mut msg = vec![KIND_DELTA];
                    varint(&mut msg, node.next);
                    msg.extend(body(&node.interval(node.acked[k])));
                    messages.push((from, to, msg));
                }
            }
        }
        let mut bytes = 0;
        for (from, to, msg) in messages {
            bytes += msg.len() as u64;
            self.kinds[0].0 += msg.len() as u64;
            self.kinds[0].1 += 1;
            assert_eq!(msg[0], KIND_DELTA);
            let (seq, used) = read_varint(&msg[1..]);
            let delta: C = unbody(&msg[1 + used..]);
            let receiver = &mut self.nodes[to];
            // `d ⋢ X`: the join brings something new. Then `d` is buffered whole.
            let novel = receiver.state.merge_delta(&delta);
            if !novel.is_bottom() {
                receiver.push(delta);
                self.note_peak(to);
            }
            // The acknowledgement, delivered within the round.
            let mut ack = vec![KIND_ACK];
            varint(&mut ack, seq);
            bytes += ack.len() as u64;
            self.kinds[1].0 += ack.len() as u64;
            self.kinds[1].1 += 1;
            let (seq, _) = read_varint(&ack[1..]);
            let sender = &mut self.nodes[from];
            let k = self.neighbours[from]
                .binary_search(&to)
                .expect("a neighbour");
            sender.acked[k] = sender.acked[k].max(seq);
        }
        for node in &mut self.nodes {
            node.collect_garbage();
        }
        bytes
    }

    fn state(&self, node: usize) -> &C {
        &self.nodes[node].state
    }

    fn buffer_peaks(&self) -> Vec<u64> {
        self.peaks.clone()
    }

    fn breakdown(&self) -> Vec<(&'static str, u64, u64)> {
        vec![
            ("interval", self.kinds[0].0, self.kinds[0].1),
            ("ack", self.kinds[1].0, self.kinds[1].1),
        ]
    }
}
