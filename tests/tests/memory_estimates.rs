//! [`DeltaCrdt::heap_bytes`] against a counting allocator: for every type, small and
//! large values (a mutator's delta, joined batches, full states, decoded messages), the
//! estimate is an upper bound of the heap the value holds and at most [`FACTOR_MAX`]
//! times it (crdt-sync's delta buffer counts it against `buffer_bytes_max`).
//!
//! The heap a value holds is measured as what building it left allocated (the
//! allocator's `live` bytes after the builder returned the value, everything else it
//! made having been dropped). `cargo test -p tests --test memory_estimates --
//! --nocapture` prints every figure.

use alloc_counter::{measure, CountingAlloc};
use crdt_core::codec::{decode, encode};
use crdt_core::{
    Crdt, DeltaCrdt, GCounter, Keyspace, KeyspaceOp, LwwRegister, MvRegister, OrSet, OrSetDelta,
    PnCounter, ReplicaId, ValueOp,
};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// The largest estimate allowed, as a multiple of the measured heap.
const FACTOR_MAX: f64 = 2.0;

fn r(n: u64) -> ReplicaId {
    ReplicaId::new(n)
}

/// Builds a value with counting on and compares its estimate with what it holds.
fn check<C: DeltaCrdt>(what: &str, build: impl FnOnce() -> C) {
    let (value, stats) = measure(build);
    let (estimate, measured) = (value.heap_bytes() as u64, stats.live);
    let ratio = if measured == 0 {
        1.0
    } else {
        estimate as f64 / measured as f64
    };
    println!("{what}: estimate {estimate} B, measured {measured} B ({ratio:.2}x)");
    assert!(
        estimate >= measured,
        "{what}: estimate {estimate} B below the measured {measured} B"
    );
    assert!(
        ratio <= FACTOR_MAX,
        "{what}: estimate {estimate} B is {ratio:.2}x the measured {measured} B"
    );
    drop(value);
}

/// Decodes `value`'s encoding with counting on (what a leader buffers of a received
/// delta) and compares.
fn check_decoded<C: DeltaCrdt>(what: &str, value: &C) {
    let bytes = encode(value);
    check(what, || decode::<C>(&bytes).expect("decodes"));
}

#[test]
fn counters_estimate_their_heap() {
    check("G-Counter delta", || GCounter::new().increment(r(1), 5));
    let big = || {
        let mut c = GCounter::new();
        for i in 0..1_000 {
            let _ = c.increment(r(i), i + 1);
        }
        c
    };
    check("G-Counter of 1,000 replicas", big);
    check_decoded("G-Counter of 1,000 replicas, decoded", &big());
    check("PN-Counter delta", || PnCounter::new().decrement(r(1), 5));
    let big = || {
        let mut c = PnCounter::new();
        for i in 0..1_000 {
            let _ = c.increment(r(i), i + 1);
            let _ = c.decrement(r(i), 1);
        }
        c
    };
    check("PN-Counter of 1,000 replicas", big);
    check_decoded("PN-Counter of 1,000 replicas, decoded", &big());
}

fn words(n: u64) -> impl Iterator<Item = String> {
    (0..n).map(|i| format!("element-{:06}", i * 7919 % 1_000_003))
}

#[test]
fn or_sets_estimate_their_heap() {
    check("OR-Set<String> insert delta", || {
        OrSet::new()
            .insert(r(1), "a fairly long element".to_string())
            .into_set()
    });
    check("OR-Set<u64> insert delta", || {
        OrSet::new().insert(r(1), 7_u64).into_set()
    });
    let mut s = OrSet::new();
    let _ = s.insert(r(1), "gone".to_string());
    check("OR-Set<String> remove delta (one hint)", || {
        s.clone().remove(&"gone".to_string()).into_set()
    });
    // A batch of deltas as the buffer joins them: inserts with replaced dots (hints)
    // and removes, in random order.
    let batch = |n: u64| {
        move || {
            let mut state = OrSet::new();
            let mut batch = OrSetDelta::new();
            for (i, w) in words(n).enumerate() {
                batch.join(&state.insert(r(1 + i as u64 % 3), w.clone()));
                if i % 3 == 0 {
                    batch.join(&state.remove(&w));
                }
            }
            drop(state);
            batch.into_set()
        }
    };
    check("OR-Set<String> batch of 20 deltas", batch(20));
    check("OR-Set<String> batch of 5,000 deltas", batch(5_000));
    check_decoded("OR-Set<String> batch of 5,000, decoded", &batch(5_000)());
    let state = |n: u64| {
        move || {
            let mut s = OrSet::new();
            for i in 0..n {
                let _ = s.insert(r(1), i);
            }
            s
        }
    };
    check("OR-Set<u64> of 100,000 ascending inserts", state(100_000));
    check_decoded("OR-Set<u64> of 100,000, decoded", &state(100_000)());
    check("OR-Set<String> of 20,000 random inserts", || {
        let mut s = OrSet::new();
        for w in words(20_000) {
            let _ = s.insert(r(2), w);
        }
        s
    });
}

#[test]
fn registers_estimate_their_heap() {
    check("LWW register delta", || {
        LwwRegister::new().set(r(1), "value".to_string(), 1_000)
    });
    check("LWW register seen by 200 writers", || {
        let mut reg = LwwRegister::new();
        for i in 0..200 {
            let _ = reg.set(r(i), format!("value {i}"), 1_000 + i);
        }
        reg
    });
    check("MV register delta", || {
        MvRegister::new().set(r(1), "value".to_string())
    });
    let concurrent = |n: u64| {
        move || {
            let mut reg = MvRegister::new();
            for i in 0..n {
                let d = MvRegister::new().set(r(i + 1), format!("concurrent value {i}"));
                reg.merge(&d);
            }
            reg
        }
    };
    check("MV register of 5 concurrent writes", concurrent(5));
    check("MV register of 300 concurrent writes", concurrent(300));
    check_decoded("MV register of 300, decoded", &concurrent(300)());
}

fn write(key: String, op: ValueOp) -> KeyspaceOp {
    KeyspaceOp::Write { key, op }
}

#[test]
fn keyspaces_estimate_their_heap() {
    check("keyspace counter delta", || {
        Keyspace::new()
            .apply(r(1), write("likes".into(), ValueOp::GCounterIncrement(1)))
            .expect("write")
    });
    check("keyspace LWW delta", || {
        Keyspace::new()
            .apply(
                r(1),
                write(
                    "title".into(),
                    ValueOp::LwwSet {
                        value: "a title".into(),
                        now_ms: 5,
                    },
                ),
            )
            .expect("write")
    });
    let state = |n: u64| {
        move || {
            let mut ks = Keyspace::new();
            for i in 0..n {
                let key = format!("key:{:06}", i * 7919 % 1_000_003);
                let op = match i % 5 {
                    0 => ValueOp::GCounterIncrement(i),
                    1 => ValueOp::PnCounterDecrement(i),
                    2 => ValueOp::OrSetInsert(format!("member {i}")),
                    3 => ValueOp::LwwSet {
                        value: format!("value {i}"),
                        now_ms: i,
                    },
                    _ => ValueOp::MvRegisterSet(format!("mv {i}")),
                };
                let _ = ks.apply(r(1 + i % 4), write(key, op)).expect("write");
                if i % 7 == 0 {
                    let _ = ks.apply(
                        r(1),
                        KeyspaceOp::Delete {
                            key: format!("key:{:06}", i * 7919 % 1_000_003),
                        },
                    );
                }
            }
            ks
        }
    };
    check("keyspace of 50 writes", state(50));
    check("keyspace of 20,000 writes", state(20_000));
    check_decoded("keyspace of 20,000 writes, decoded", &state(20_000)());
    let full = state(5_000)();
    check("keyspace repair delta", || {
        full.delta_since(&crdt_core::CausalContext::new())
    });
}
