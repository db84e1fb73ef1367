//! The wire-efficiency experiment of Enes et al., "Efficient Synchronization of
//! State-based CRDTs" (ICDE 2019), with `crdt-sync` next to three reference
//! protocols implemented here over `crdt-core`'s types and codec:
//!
//! - [`state_based::StateBased`]: every round, every node sends its full state to each
//!   neighbour;
//! - [`classic::Classic`]: delta-intervals as in Almeida et al., "Delta State
//!   Replicated Data Types", algorithm 2, without back-propagation avoidance or
//!   redundancy removal;
//! - [`leaders::Leaders`]: the real `crdt_sync::Leader`;
//! - [`op_based::OpBased`]: the lower bound, each update shipped once to each other
//!   node.
//!
//! Everything is deterministic: topologies and workloads come from fixed seeds and
//! nothing measured iterates a hash map.

pub mod classic;
pub mod experiment;
pub mod leaders;
pub mod op_based;
pub mod state_based;
pub mod topology;
pub mod workload;

use crdt_core::codec::{DecodeLimits, Reader, WireFormat, Writer};
use topology::Topology;
use workload::{Op, Replicated};

/// A synchronization protocol run by every node of a [`Topology`], in rounds.
pub trait Protocol<C: Replicated>: Sized {
    /// The row label.
    const NAME: &'static str;

    /// Nodes `0..n` of `topology` (replica ids `1..=n`), all empty. With `probe`, the
    /// protocol records each node's peak delta-buffer size, sampled as often as its
    /// state changes (which may cost time: the timed run goes without).
    fn new(topology: &Topology, probe: bool) -> Self;

    /// Applies one local update at `node`.
    fn update(&mut self, node: usize, op: &Op);

    /// One synchronization round. Returns the bytes sent in it.
    fn sync_round(&mut self) -> u64;

    /// The state of `node`.
    fn state(&self, node: usize) -> &C;

    /// Each node's peak delta-buffer size (encoded bytes), when probing.
    fn buffer_peaks(&self) -> Vec<u64>;

    /// Bytes and messages sent so far, by message kind: `(kind, bytes, messages)`.
    fn breakdown(&self) -> Vec<(&'static str, u64, u64)> {
        Vec::new()
    }
}

/// `value`'s encoded body (crdt-core's codec without its 4-byte type header, which a
/// channel carrying one type needs only once; `crdt-sync` messages embed bodies the
/// same way).
pub fn body<C: WireFormat>(value: &C) -> Vec<u8> {
    let mut w = Writer::new();
    value
        .encode_body(&mut w)
        .expect("crdt-core's own types always encode");
    w.into_bytes()
}

/// Decodes what [`body`] wrote.
///
/// # Panics
/// On malformed bytes (they are always our own here).
pub fn unbody<C: WireFormat>(bytes: &[u8]) -> C {
    let limits = DecodeLimits::DEFAULT;
    let mut r = Reader::new(bytes, &limits).expect("within limits");
    let value = C::decode_body(&mut r).expect("our own encoding decodes");
    r.finish().expect("no trailing bytes");
    value
}
