//! `Leader<Keyspace>` works with the unchanged protocol: three leaders write to
//! different keys, one deletes a key concurrently with another's update, messages
//! are delivered in a scrambled order, and everyone converges to identical bytes.

use crdt_core::{codec, Keyspace, KeyspaceOp, ReplicaId, Value, ValueOp};
use crdt_sync::Leader;
use tests::new_leader;

fn deliver_all(leaders: &mut [Leader<Keyspace>], ids: &[ReplicaId], rounds: usize) {
    for round in 0..rounds {
        // Scramble: alternate the order in which leaders send.
        let order: Vec<usize> = if round % 2 == 0 {
            (0..leaders.len()).collect()
        } else {
            (0..leaders.len()).rev().collect()
        };
        for &i in &order {
            let mut out = Vec::new();
            while let Some(t) = leaders[i].poll_transmit() {
                out.push(t);
            }
            for t in out.iter().rev() {
                let to = ids.iter().position(|id| *id == t.to).expect("a known peer");
                leaders[to]
                    .receive(ids[i], &t.payload)
                    .expect("valid message");
            }
        }
        for l in leaders.iter_mut() {
            l.tick();
        }
    }
}

#[test]
fn leaders_replicate_a_keyspace() {
    let ids = [ReplicaId::new(1), ReplicaId::new(2), ReplicaId::new(3)];
    let mut leaders: Vec<Leader<Keyspace>> = ids
        .iter()
        .map(|id| new_leader(*id, Keyspace::new()))
        .collect();
    for (i, l) in leaders.iter_mut().enumerate() {
        for (j, id) in ids.iter().enumerate() {
            if i != j {
                l.add_peer(*id).unwrap();
            }
        }
    }
    let write = |l: &mut Leader<Keyspace>, key: &str, op: ValueOp| {
        let key = key.to_string();
        l.apply(KeyspaceOp::Write { key, op }).unwrap();
    };
    write(
        &mut leaders[0],
        "cart/1",
        ValueOp::OrSetInsert("apple".into()),
    );
    write(&mut leaders[1], "likes/1", ValueOp::GCounterIncrement(2));
    let title = ValueOp::LwwSet {
        value: "Basket".into(),
        now_ms: 5,
    };
    write(&mut leaders[2], "title/1", title);
    deliver_all(&mut leaders, &ids, 4);
    // Concurrently: 0 deletes the cart, 1 adds to it.
    leaders[0]
        .apply(KeyspaceOp::Delete {
            key: "cart/1".into(),
        })
        .unwrap();
    write(
        &mut leaders[1],
        "cart/1",
        ValueOp::OrSetInsert("pear".into()),
    );
    write(&mut leaders[2], "likes/1", ValueOp::GCounterIncrement(1));
    deliver_all(&mut leaders, &ids, 6);
    let bytes = codec::encode(leaders[0].state());
    for l in &leaders {
        assert_eq!(codec::encode(l.state()), bytes);
        let ks = l.state();
        assert_eq!(ks.get("cart/1"), Some(Value::OrSet(vec!["pear".into()])));
        assert_eq!(ks.get("likes/1"), Some(Value::GCounter(3)));
        assert_eq!(ks.get("title/1"), Some(Value::LwwRegister("Basket".into())));
    }
}

/// `receive_changes` returns exactly what each message added: a shadow replica built
/// only from the leader's own write deltas and those changes (as crdt-leader's log
/// is) equals the leader's state, under loss (repairs) and concurrent deletes.
#[test]
fn received_changes_rebuild_the_state_exactly() {
    let ids = [ReplicaId::new(1), ReplicaId::new(2), ReplicaId::new(3)];
    let mut leaders: Vec<Leader<Keyspace>> = ids
        .iter()
        .map(|id| {
            let mut l = new_leader(*id, Keyspace::new());
            for p in ids.iter().filter(|p| *p != id) {
                l.add_peer(*p).unwrap();
            }
            l
        })
        .collect();
    let mut shadows = vec![Keyspace::new(); 3];
    let mut sent = 0u64;
    for round in 0..60u64 {
        for i in 0..3 {
            let key = format!("k{}", (round + i as u64) % 5);
            let op = match (round + i as u64) % 4 {
                0 => KeyspaceOp::Delete { key },
                1 => KeyspaceOp::Write {
                    key,
                    op: ValueOp::OrSetInsert(format!("v{round}")),
                },
                2 => KeyspaceOp::Write {
                    key,
                    op: ValueOp::OrSetRemove(format!("v{}", round.saturating_sub(1))),
                },
                _ => KeyspaceOp::Write {
                    key: format!("{key}-n"),
                    op: ValueOp::GCounterIncrement(round + 1),
                },
            };
            if let Ok(delta) = leaders[i].apply(op) {
                crdt_core::Crdt::merge(&mut shadows[i], &delta);
            }
        }
        for i in 0..3 {
            let mut out = Vec::new();
            while let Some(t) = leaders[i].poll_transmit() {
                out.push(t);
            }
            for t in out {
                sent += 1;
                if sent % 3 == 0 && round < 50 {
                    continue; // lost: later repaired
                }
                let to = ids.iter().position(|id| *id == t.to).unwrap();
                if let Ok(changes) = leaders[to].receive_changes(ids[i], &t.payload) {
                    crdt_core::Crdt::merge(&mut shadows[to], &changes);
                }
            }
        }
        for l in leaders.iter_mut() {
            l.tick();
        }
    }
    for i in 0..3 {
        assert_eq!(&shadows[i], leaders[i].state(), "leader {i}");
    }
    let first = codec::encode(leaders[0].state());
    assert!(
        leaders.iter().all(|l| codec::encode(l.state()) == first),
        "not converged"
    );
}

/// The allocation-free views a host polls for thousands of documents per tick agree
/// with `metrics()`: `is_settled` turns true only once every peer acknowledged, and
/// `state_hash` is equal on converged leaders and moves with the state.
#[test]
fn is_settled_peer_lag_and_state_hash_follow_the_protocol() {
    let ids = [ReplicaId::new(1), ReplicaId::new(2)];
    let mut leaders: Vec<Leader<Keyspace>> = ids
        .iter()
        .map(|id| new_leader(*id, Keyspace::new()))
        .collect();
    leaders[0].add_peer(ids[1]).unwrap();
    leaders[1].add_peer(ids[0]).unwrap();
    assert!(leaders.iter().all(Leader::is_settled));
    let empty = leaders[0].state_hash();
    assert_eq!(empty, leaders[1].state_hash());
    leaders[0]
        .apply(KeyspaceOp::Write {
            key: "hits".into(),
            op: ValueOp::GCounterIncrement(3),
        })
        .unwrap();
    assert!(
        !leaders[0].is_settled(),
        "a write waits for its acknowledgement"
    );
    assert_eq!(leaders[0].peer_lag().collect::<Vec<_>>(), [(ids[1], 1)]);
    let lag: Vec<_> = leaders[0].metrics().peer_lag.into_iter().collect();
    assert_eq!(leaders[0].peer_lag().collect::<Vec<_>>(), lag);
    let written = leaders[0].state_hash();
    assert_ne!(written, empty, "the hash follows the write");
    deliver_all(&mut leaders, &ids, 4);
    assert!(leaders.iter().all(Leader::is_settled));
    assert_eq!(leaders[1].state_hash(), written);
    assert_eq!(leaders[0].peer_lag().collect::<Vec<_>>(), [(ids[1], 0)]);
}
