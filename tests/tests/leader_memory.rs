//! What an idle document costs: crdt-leader keeps one `Leader<Keyspace>` per document,
//! so a node with 100,000 mostly idle documents holds 100,000 of them. Their heap is
//! measured here with the counting allocator (bytes, not time, so the bound is exact
//! and the test is deterministic); the documents benchmark reports the whole process.

use alloc_counter::{measure, CountingAlloc};
use crdt_core::{Keyspace, KeyspaceOp, ReplicaId, ValueOp};
use crdt_sync::{Config, Leader};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Heap bytes per leader above which an idle document is too expensive. A peer used to
/// cost a whole B-tree leaf of eleven peer records (about 6 KB) before it was boxed;
/// a settled two-leader document with one counter key is now about 3.9 KB per leader.
const IDLE_LEADER_BYTES_MAX: u64 = 4608;

fn pair(nonce: u64) -> (Leader<Keyspace>, Leader<Keyspace>) {
    let (r1, r2) = (ReplicaId::new(1), ReplicaId::new(2));
    let mut a = Leader::with_nonce(r1, Keyspace::new(), Config::default(), nonce);
    let mut b = Leader::with_nonce(r2, Keyspace::new(), Config::default(), nonce + 1);
    a.add_peer(r2).unwrap();
    b.add_peer(r1).unwrap();
    let _ = a
        .apply(KeyspaceOp::Write {
            key: "likes".into(),
            op: ValueOp::GCounterIncrement(1),
        })
        .unwrap();
    // Bounded: a settled pair needs a handful of rounds.
    for _ in 0..40 {
        while let Some(t) = a.poll_transmit() {
            let _ = b.receive(r1, &t.payload);
        }
        while let Some(t) = b.poll_transmit() {
            let _ = a.receive(r2, &t.payload);
        }
        a.tick();
        b.tick();
    }
    (a, b)
}

#[test]
fn an_idle_two_leader_document_costs_a_few_kilobytes_per_leader() {
    const DOCS: u32 = 200;
    let (pairs, stats) = measure(|| {
        (0..DOCS)
            .map(|i| pair(2 * u64::from(i) + 1))
            .collect::<Vec<_>>()
    });
    assert!(
        stats.allocations > 0,
        "the counting allocator counted nothing"
    );
    for (a, b) in &pairs {
        assert_eq!(a.state(), b.state(), "the pair converged");
        assert_eq!(a.metrics().deltas_buffered, 0, "nothing left in flight");
    }
    // The peak while building is at least what the leaders hold at the end.
    let per_leader = stats.peak / u64::from(2 * DOCS);
    println!("heap per idle leader: {per_leader} B (at most {IDLE_LEADER_BYTES_MAX})");
    assert!(
        per_leader <= IDLE_LEADER_BYTES_MAX,
        "an idle leader holds {per_leader} B of heap, over {IDLE_LEADER_BYTES_MAX}"
    );
}
