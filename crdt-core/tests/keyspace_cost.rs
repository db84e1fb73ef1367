//! What keyspace deltas and repairs carry does not grow with the number of keys: a
//! write's delta names one key, a repair carries what the peer lacks (plus the removed
//! dots it may still hold), and a deleted key leaves nothing in the encoding.
//! (Timings are in the benchmarks; these checks are exact and deterministic.)

use crdt_core::{codec, Crdt, DeltaCrdt, Keyspace, ReplicaId};

const A: ReplicaId = ReplicaId::new(1);
const B: ReplicaId = ReplicaId::new(2);

fn key(i: usize) -> String {
    format!("key/{i:08}")
}

fn keyspace(n: usize) -> Keyspace {
    let mut ks = Keyspace::new();
    for i in 0..n {
        let _ = ks.increment(A, &key(i), 1).unwrap();
    }
    ks
}

/// Sizes of: a one-key delta, a repair for a peer lacking 10 writes, and those 10
/// writes' deltas, for a keyspace of `n` keys.
fn sizes(n: usize) -> (usize, usize, usize) {
    let mut ks = keyspace(n);
    let one = ks.increment(B, &key(n / 2), 1).unwrap();
    let peer = ks.clone();
    let mut ten = 0;
    for i in 0..10 {
        // Updates of existing keys: each supersedes an older dot (a removal).
        let d = ks.increment(A, &key(i * 13 + 5), 1).unwrap();
        ten += codec::encode(&d).len();
    }
    let repair = ks.delta_since(&peer.summary());
    let mut repaired = peer.clone();
    repaired.merge(&repair);
    assert_eq!(repaired, ks);
    (codec::encode(&one).len(), codec::encode(&repair).len(), ten)
}

#[test]
fn deltas_and_repairs_do_not_grow_with_the_keys() {
    // Both sizes give dot counters and keys of the same encoded widths, so the bytes
    // must be identical: nothing depends on the number of keys.
    let small = sizes(20_000);
    let large = sizes(200_000);
    assert_eq!(small, large);
    assert!(
        large.1 <= 2 * large.2,
        "repair {} B vs 10 deltas {} B",
        large.1,
        large.2
    );
}

#[test]
fn a_deleted_key_leaves_nothing_in_the_encoding() {
    let mut ks = keyspace(1_000);
    let before = codec::encode(&ks).len();
    let _ = ks.delete(&key(500)).unwrap();
    let after_delete = codec::encode(&ks).len();
    // The key's bytes, its dot and its payload are gone; the context is unchanged.
    assert!(after_delete < before);
    let mut fresh = keyspace(1_000);
    let _ = fresh.delete(&key(500)).unwrap();
    for i in 0..1_000 {
        let _ = ks.increment(A, &format!("other/{i}"), 1).unwrap();
        let _ = fresh.increment(A, &format!("other/{i}"), 1).unwrap();
    }
    assert_eq!(ks.len(), 1_999);
    assert!(!ks.contains_key(&key(500)));
    assert_eq!(ks.context().version_vector().get(A), 2_000);
    assert!(
        ks.context().is_compact(),
        "the context is one number per writer"
    );
}
