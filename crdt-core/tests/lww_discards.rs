//! `DeltaCrdt::concurrent_discards`: the silent losses of last-writer-wins, counted
//! exactly (concurrent writes hidden by a join), never for causal overwrites or for
//! types without LWW.

use crdt_core::{Crdt, DeltaCrdt, GCounter, Keyspace, KeyspaceOp, LwwRegister, ReplicaId, ValueOp};

fn set(ks: &mut Keyspace, writer: u64, key: &str, value: &str, now_ms: u64) -> Keyspace {
    ks.apply(
        ReplicaId::new(writer),
        KeyspaceOp::Write {
            key: key.into(),
            op: ValueOp::LwwSet {
                value: value.into(),
                now_ms,
            },
        },
    )
    .unwrap()
}

#[test]
fn concurrent_keyspace_writes_count_once_per_hidden_write() {
    let (mut a, mut b, mut c) = (Keyspace::new(), Keyspace::new(), Keyspace::new());
    let da = set(&mut a, 1, "title", "from a", 10);
    let db = set(&mut b, 2, "title", "from b", 20);
    let dc = set(&mut c, 3, "title", "from c", 5);
    // b's write wins over a's, concurrent: a's is hidden (1), whichever side counts.
    assert_eq!(a.concurrent_discards(&db), 1);
    assert_eq!(b.concurrent_discards(&da), 1);
    a.merge(&db);
    // The same delta again hides nothing new.
    assert_eq!(a.concurrent_discards(&db), 0);
    // c's (losing) write next to a's two: one more hidden.
    assert_eq!(a.concurrent_discards(&dc), 1);
    a.merge(&dc);
    // Two concurrent writes arriving together at a replica that had none: one hidden.
    let mut both = db.clone();
    both.merge(&dc);
    assert_eq!(Keyspace::new().concurrent_discards(&both), 1);
    // A write that saw every other overwrites them causally: nothing hidden.
    let later = set(&mut a, 1, "title", "resolved", 1);
    let mut d = Keyspace::new();
    d.merge(&da);
    d.merge(&db);
    d.merge(&dc);
    assert_eq!(d.concurrent_discards(&later), 0);
    // Other types and other keys never count.
    let mut e = Keyspace::new();
    let inc = e
        .apply(
            ReplicaId::new(4),
            KeyspaceOp::Write {
                key: "title".into(),
                op: ValueOp::GCounterIncrement(1),
            },
        )
        .unwrap();
    assert_eq!(a.concurrent_discards(&inc), 0);
    let other_key = set(&mut Keyspace::new(), 5, "other", "x", 99);
    assert_eq!(a.concurrent_discards(&other_key), 0);
}

#[test]
fn the_lww_register_counts_the_concurrent_loser_only() {
    let (mut a, mut b) = (LwwRegister::new(), LwwRegister::new());
    let da = a.set(ReplicaId::new(1), "a".to_string(), 10);
    let db = b.set(ReplicaId::new(2), "b".to_string(), 20);
    assert_eq!(a.concurrent_discards(&db), 1);
    assert_eq!(b.concurrent_discards(&da), 1);
    a.merge(&db);
    let later = a.set(ReplicaId::new(1), "c".to_string(), 30);
    assert_eq!(b.concurrent_discards(&later), 0);
    assert_eq!(GCounter::new().concurrent_discards(&GCounter::new()), 0);
}
