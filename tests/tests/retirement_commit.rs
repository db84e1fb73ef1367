//! Committing retirements in leaders (`Leader::commit_retirement`,
//! `docs/RETIREMENT.md` §5.2-§5.3): the state, buffers, tokens and what is known of
//! peers are renamed; content computed before a commit is translated when it
//! arrives; content computed after an epoch a leader has not committed waits for it;
//! and writes of a retired writer beyond its record are fenced.

use crdt_core::codec::encode;
use crdt_core::{
    DeltaCrdt, GCounter, GCounterOp, OrSet, OrSetOp, PnCounter, PnCounterOp, ReplicaId,
};
use crdt_sync::retirement::{Batch, Certificate};
use crdt_sync::{Leader, SyncError, COLLAPSE_DEFAULT};
use tests::net::{rid, Net};

type Set = OrSet<String>;

fn insert(net: &mut Net<Set>, id: u64, x: &str) {
    let _ = net.apply(id, OrSetOp::Insert(x.to_string())).unwrap();
}

fn remove(net: &mut Net<Set>, id: u64, x: &str) {
    let _ = net.apply(id, OrSetOp::Remove(x.to_string())).unwrap();
}

fn elements(leader: &Leader<Set>) -> Vec<String> {
    leader.state().iter().cloned().collect()
}

/// Restarts leader `id` from its own checkpoint (a new life, writing under a new
/// writer id) and returns the old life, which writes no more here.
fn restart<C: DeltaCrdt>(net: &mut Net<C>, id: u64) -> Leader<C> {
    let checkpoint = net.leader(id).checkpoint();
    let restored = Leader::<C>::restore_with_nonce(
        checkpoint.bytes(),
        crdt_sync::Config::default(),
        0x5eed ^ id,
    )
    .expect("restore");
    let old = net.leaders.insert(rid(id), restored).expect("leader");
    for _ in 0..20 {
        net.round();
        let cp = net.leader(id).checkpoint();
        let _ = net.leader(id).persisted(cp);
    }
    net.leader(id).can_write().expect("the new life writes");
    old
}

/// The batch retiring `writer` with the holdings leader `at` has of it.
fn batch_of<C: DeltaCrdt + crdt_core::Retire>(
    net: &Net<C>,
    at: u64,
    epoch: u64,
    base: u64,
    writer: ReplicaId,
) -> Batch {
    let holdings = net.leaders[&rid(at)].holdings(writer);
    Batch::new(
        epoch,
        base,
        vec![Certificate { writer, holdings }],
        COLLAPSE_DEFAULT,
    )
    .expect("batch")
}

fn commit<C: DeltaCrdt>(net: &mut Net<C>, ids: &[u64], batch: &Batch) {
    for id in ids {
        net.leader(*id)
            .commit_retirement(batch)
            .unwrap_or_else(|e| panic!("leader {id} commits: {e}"));
    }
}

/// Three leaders; leader 1 wrote "a" and "b" and removed "a" in its first life, then
/// restarted. Returns the old life's writer.
fn set_with_a_restarted_writer() -> (Net<Set>, ReplicaId) {
    let mut net = Net::<Set>::mesh(&[1, 2, 3]);
    insert(&mut net, 1, "a");
    insert(&mut net, 1, "b");
    insert(&mut net, 2, "c");
    remove(&mut net, 1, "a");
    net.settle(10).expect("converges");
    let old = net.leader(1).writer_id();
    let _ = restart(&mut net, 1);
    net.settle(10).expect("converges");
    (net, old)
}

#[test]
fn a_commit_keeps_every_value_and_drops_the_writer_from_state_token_and_digests() {
    let (mut net, old) = set_with_a_restarted_writer();
    let before = elements(&net.leaders[&rid(2)]);
    let old_token = net.leader(2).causal_token();
    assert_eq!(old_token.get(old), 3, "two adds and a remove");
    let size_before = encode(net.leaders[&rid(2)].state()).len();
    let batch = batch_of(&net, 2, 1, 0, old);
    commit(&mut net, &[1, 2, 3], &batch);
    for leader in net.leaders.values() {
        assert_eq!(leader.retirement_epoch(), 1);
        assert_eq!(leader.retired_in(old), Some(1));
        assert_eq!(elements(leader), before, "no value changes");
        assert!(leader.state().context().replicas().all(|r| r != old));
        assert_eq!(leader.causal_token().get(old), 0);
        assert!(
            leader.covers(&old_token),
            "a token naming the retired writer"
        );
        let h = leader.holdings(COLLAPSE_DEFAULT);
        assert_eq!(h.held.last, 2, "the old writer's two dots, renamed");
    }
    assert!(encode(net.leaders[&rid(2)].state()).len() <= size_before);
    // Replication goes on, and nothing brings the writer back.
    insert(&mut net, 1, "d");
    remove(&mut net, 3, "b");
    net.settle(20).expect("converges");
    assert!(net.errors.is_empty(), "{:?}", net.errors);
    for leader in net.leaders.values() {
        assert_eq!(elements(leader), ["c", "d"]);
        assert_eq!(leader.holdings(old), Default::default());
        assert_eq!(leader.metrics().retired_writes, 0);
    }
}

#[test]
fn content_computed_before_a_commit_is_translated_where_it_arrives() {
    let (mut net, old) = set_with_a_restarted_writer();
    let batch = batch_of(&net, 2, 1, 0, old);
    // Leader 2 removes "b" (its delta's context names the old writer's dot) before it
    // commits; leaders 1 and 3 receive it after they committed.
    remove(&mut net, 2, "b");
    net.flush();
    let held_back = net.take_inflight();
    assert!(!held_back.is_empty());
    commit(&mut net, &[1, 3], &batch);
    for p in &held_back {
        net.deliver_packet(p);
    }
    assert!(net.errors.is_empty(), "{:?}", net.errors);
    for id in [1, 3] {
        assert_eq!(
            elements(&net.leaders[&rid(id)]),
            ["c"],
            "the remove applied"
        );
        assert!(net.leaders[&rid(id)]
            .state()
            .context()
            .replicas()
            .all(|r| r != old));
    }
    commit(&mut net, &[2], &batch);
    net.settle(20).expect("converges");
    assert!(net.errors.is_empty(), "{:?}", net.errors);
    for leader in net.leaders.values() {
        assert_eq!(elements(leader), ["c"]);
    }
}

#[test]
fn content_of_an_epoch_a_leader_has_not_committed_waits_for_its_commit() {
    let (mut net, old) = set_with_a_restarted_writer();
    let batch = batch_of(&net, 2, 1, 0, old);
    commit(&mut net, &[1, 3], &batch);
    // Leader 1 removes "b", now a collapse dot: leader 2 has not committed and must
    // not merge it (it would hold "b" under two names).
    remove(&mut net, 1, "b");
    for _ in 0..5 {
        net.round();
    }
    assert!(net.errors.is_empty(), "{:?}", net.errors);
    assert!(net.leaders[&rid(2)].metrics().ahead_of_epoch > 0);
    assert_eq!(
        elements(&net.leaders[&rid(2)]),
        ["b", "c"],
        "not merged yet"
    );
    assert_eq!(
        net.leaders[&rid(2)].holdings(COLLAPSE_DEFAULT),
        Default::default()
    );
    commit(&mut net, &[2], &batch);
    net.settle(30).expect("converges once it committed");
    assert!(net.errors.is_empty(), "{:?}", net.errors);
    for leader in net.leaders.values() {
        assert_eq!(elements(leader), ["c"]);
    }
}

#[test]
fn a_write_of_a_retired_writer_beyond_its_record_is_fenced_and_counted() {
    // Leader 4 is not a member: it is linked to leader 1's old life only (a client
    // replica), and takes a write the old life makes after it was certified final.
    let mut net = Net::<Set>::mesh(&[1, 2, 3]);
    insert(&mut net, 1, "a");
    net.settle(10).expect("converges");
    let old_writer = net.leader(1).writer_id();
    let mut old_life = restart(&mut net, 1);
    net.settle(10).expect("converges");
    let batch = batch_of(&net, 2, 1, 0, old_writer);
    commit(&mut net, &[1, 2, 3], &batch);

    let mut client = Net::<Set>::new(&[]);
    let mut four = tests::seeded_leader(rid(4), Set::default());
    four.add_peer(rid(1)).unwrap();
    four.add_peer(rid(2)).unwrap();
    old_life.add_peer(rid(4)).unwrap();
    let _ = old_life.apply(OrSetOp::Insert("late".to_string())).unwrap();
    for _ in 0..10 {
        old_life.tick();
        four.tick();
        while let Some(t) = old_life.poll_transmit() {
            if t.to == rid(4) {
                four.receive(rid(1), &t.payload).unwrap();
            }
        }
        while let Some(t) = four.poll_transmit() {
            if t.to == rid(1) {
                old_life.receive(rid(4), &t.payload).unwrap();
            }
        }
    }
    assert!(four.state().contains(&"late".to_string()));
    client.leaders.insert(rid(4), four);
    // Leader 4's messages to leader 2 carry the late write: refused, counted, and
    // nothing of them merged.
    net.leader(2).add_peer(rid(4)).unwrap();
    let before = net.leaders[&rid(2)].state().clone();
    let mut fenced = 0;
    for _ in 0..6 {
        client.leader(4).tick();
        while let Some(t) = client.leader(4).poll_transmit() {
            if t.to != rid(2) {
                continue;
            }
            match net.leader(2).receive(rid(4), &t.payload) {
                Err(SyncError::RetiredWriter { writer, epoch, .. }) => {
                    assert_eq!((writer, epoch), (old_writer, 1));
                    fenced += 1;
                }
                Err(e) => panic!("{e}"),
                Ok(()) => {}
            }
        }
    }
    assert!(fenced > 0);
    assert_eq!(net.leaders[&rid(2)].metrics().retired_writes, fenced);
    assert_eq!(net.leaders[&rid(2)].state(), &before);
    // Nor can the old life's checkpoint be handed over.
    let stale = old_life.checkpoint();
    let err = net.leader(3).hand_over(stale.bytes()).unwrap_err();
    assert!(matches!(err, SyncError::RetiredWriter { .. }), "{err}");
}

#[test]
fn a_retired_leaders_checkpoint_restores_its_retirements() {
    let (mut net, old) = set_with_a_restarted_writer();
    let batch = batch_of(&net, 2, 1, 0, old);
    commit(&mut net, &[1, 2, 3], &batch);
    let checkpoint = net.leader(3).checkpoint();
    assert_eq!(checkpoint.bytes()[2], 3, "format 3: it retired writers");
    let restored =
        Leader::<Set>::restore_with_nonce(checkpoint.bytes(), crdt_sync::Config::default(), 7)
            .unwrap();
    assert_eq!(restored.retirement_epoch(), 1);
    assert_eq!(restored.retired_in(old), Some(1));
    assert_eq!(restored.checkpoint().bytes()[3..], checkpoint.bytes()[3..]);
    // Every truncation and every single-byte change is refused or read, never a
    // panic.
    let bytes = checkpoint.bytes();
    for cut in 0..bytes.len() {
        let _ = Leader::<Set>::restore_with_nonce(&bytes[..cut], Default::default(), 1);
    }
    for i in 0..bytes.len() {
        let mut damaged = bytes.to_vec();
        damaged[i] ^= 0x5a;
        let _ = Leader::<Set>::restore_with_nonce(&damaged, Default::default(), 1);
    }
    // A leader that retired nothing still writes format 2.
    let fresh = Net::<Set>::mesh(&[1, 2]);
    assert_eq!(fresh.leaders[&rid(1)].checkpoint().bytes()[2], 2);
}

#[test]
fn a_batch_is_refused_unless_it_is_the_next_epoch_and_no_holding_exceeds_it() {
    let (mut net, old) = set_with_a_restarted_writer();
    let good = batch_of(&net, 2, 1, 0, old);
    let refused = |net: &mut Net<Set>, b: &Batch| {
        let before = net.leader(2).checkpoint();
        let err = net.leader(2).commit_retirement(b).unwrap_err();
        assert!(matches!(err, SyncError::RetirementRefused { .. }), "{err}");
        assert_eq!(net.leader(2).checkpoint(), before, "unchanged");
    };
    let skips_an_epoch = batch_of(&net, 2, 2, 0, old);
    refused(&mut net, &skips_an_epoch);
    let wrong_base = batch_of(&net, 2, 1, 5, old);
    refused(&mut net, &wrong_base);
    let own = net.leaders[&rid(2)].writer_id();
    let own_writer = batch_of(&net, 2, 1, 0, own);
    refused(&mut net, &own_writer);
    let mut short = good.certificates()[0];
    short.holdings.writes -= 1;
    refused(
        &mut net,
        &Batch::new(1, 0, vec![short], COLLAPSE_DEFAULT).unwrap(),
    );
    net.leader(2).commit_retirement(&good).unwrap();
    refused(&mut net, &good);
}

/// Counters: the retired writer's contribution moves into the collapse entry, and older
/// content naming it is translated (counted once). (Content with a collapse total
/// above a leader's reaches a member only in a whole state; the dating is tested in
/// crdt-sync's `retired` module.)
fn counter_case<C>(inc: impl Fn(u64) -> C::Op, value: impl Fn(&C) -> i128)
where
    C: DeltaCrdt + crdt_core::Retire,
{
    let mut net = Net::<C>::mesh(&[1, 2, 3]);
    let _ = net.apply(1, inc(5)).unwrap();
    let _ = net.apply(2, inc(7)).unwrap();
    net.settle(10).expect("converges");
    let old = net.leader(1).writer_id();
    let _ = restart(&mut net, 1);
    net.settle(10).expect("converges");
    let total = value(net.leaders[&rid(3)].state());
    let batch = batch_of(&net, 3, 1, 0, old);
    // Leader 3 commits first; leader 2's next increment reaches it unrenamed.
    commit(&mut net, &[3], &batch);
    let _ = net.apply(2, inc(1)).unwrap();
    for _ in 0..4 {
        net.round();
    }
    assert!(net.errors.is_empty(), "{:?}", net.errors);
    assert_eq!(value(net.leaders[&rid(3)].state()), total + 1);
    commit(&mut net, &[1, 2], &batch);
    let _ = net.apply(1, inc(2)).unwrap();
    net.settle(20).expect("converges");
    assert!(net.errors.is_empty(), "{:?}", net.errors);
    for leader in net.leaders.values() {
        assert_eq!(value(leader.state()), total + 3);
        assert_eq!(leader.holdings(old), Default::default());
        assert_eq!(leader.holdings(COLLAPSE_DEFAULT).held.increments, 5);
    }
}

#[test]
fn counters_keep_their_totals_through_a_commit() {
    counter_case::<GCounter>(GCounterOp::Increment, |c| i128::from(c.value()));
    counter_case::<PnCounter>(PnCounterOp::Increment, |c| c.value().into());
}

/// Review finding 1 (2026-12-05): content that names a retired writer **and** already
/// holds its contribution in the collapse entry (a buggy or hostile peer; honest
/// content naming a writer predates its epoch) passed the "ahead" check, and
/// translation added the contribution a second time. Now translated content must hold
/// no collapse mark beyond the receiver's: refused, value unchanged. Through a
/// handed-over checkpoint and over the network.
#[test]
fn content_naming_a_retired_writer_with_its_contribution_already_collapsed_is_refused() {
    let mut net = Net::<GCounter>::mesh(&[1, 2]);
    let _ = net.apply(1, GCounterOp::Increment(5)).unwrap();
    let _ = net.apply(2, GCounterOp::Increment(7)).unwrap();
    net.settle(10).expect("converges");
    let old = net.leader(1).writer_id();
    let _ = restart(&mut net, 1);
    net.settle(10).expect("converges");
    let batch = batch_of(&net, 2, 1, 0, old);
    commit(&mut net, &[1, 2], &batch);
    net.settle(10).expect("converges");
    assert_eq!(net.leader(2).state().value(), 12);
    let mut forged = GCounter::default();
    let _ = forged.try_increment(old, 5).unwrap();
    let _ = forged.try_increment(COLLAPSE_DEFAULT, 5).unwrap();

    let x = tests::seeded_leader(rid(9), forged.clone());
    let err = net.leader(2).hand_over(x.checkpoint().bytes()).unwrap_err();
    assert!(matches!(err, SyncError::Protocol { .. }), "{err}");
    assert_eq!(net.leader(2).state().value(), 12, "not counted twice");

    let mut x = tests::seeded_leader(rid(9), forged);
    x.add_peer(rid(2)).unwrap();
    net.leader(2).add_peer(rid(9)).unwrap();
    let mut refused = 0;
    for _ in 0..10 {
        x.tick();
        net.leader(2).tick();
        while let Some(t) = x.poll_transmit() {
            if t.to == rid(2) && net.leader(2).receive(rid(9), &t.payload).is_err() {
                refused += 1;
            }
        }
        while let Some(t) = net.leader(2).poll_transmit() {
            if t.to == rid(9) {
                let _ = x.receive(rid(2), &t.payload);
            }
        }
    }
    assert!(refused > 0);
    assert_eq!(net.leader(2).state().value(), 12, "not counted twice");
}

/// Review finding 2: a batch retiring a writer the leader retired already passed the
/// holdings check (the leader holds none of it any more) and added its contribution
/// to the collapse entry again.
#[test]
fn a_batch_retiring_a_writer_twice_is_refused() {
    let mut net = Net::<GCounter>::mesh(&[1, 2]);
    let _ = net.apply(1, GCounterOp::Increment(5)).unwrap();
    net.settle(10).expect("converges");
    let old = net.leader(1).writer_id();
    let _ = restart(&mut net, 1);
    net.settle(10).expect("converges");
    let first = batch_of(&net, 2, 1, 0, old);
    commit(&mut net, &[2], &first);
    let again = Batch::new(2, 0, first.certificates().to_vec(), COLLAPSE_DEFAULT).unwrap();
    let before = net.leader(2).checkpoint();
    let err = net.leader(2).commit_retirement(&again).unwrap_err();
    assert!(matches!(err, SyncError::RetirementRefused { .. }), "{err}");
    assert_eq!(net.leader(2).checkpoint(), before);
    assert_eq!(net.leader(2).state().value(), 5);
}

/// Review scenario: a restored leader still probing retires its checkpoint's
/// (provisional) writer, then takes a new writer and replicates as usual.
#[test]
fn a_restored_leader_still_probing_retires_its_provisional_writer() {
    let mut net = Net::<Set>::mesh(&[1, 2, 3]);
    insert(&mut net, 1, "a");
    remove(&mut net, 1, "a");
    insert(&mut net, 1, "b");
    net.settle(10).expect("converges");
    let old = net.leader(1).writer_id();
    let cp = net.leader(1).checkpoint();
    let restored =
        Leader::<Set>::restore_with_nonce(cp.bytes(), crdt_sync::Config::default(), 99).unwrap();
    net.leaders.insert(rid(1), restored);
    let batch = batch_of(&net, 2, 1, 0, old);
    assert_eq!(net.leader(1).writer_id(), old, "still probing");
    commit(&mut net, &[1, 2, 3], &batch);
    for _ in 0..20 {
        net.round();
        let c = net.leader(1).checkpoint();
        let _ = net.leader(1).persisted(c);
    }
    assert_ne!(net.leader(1).writer_id(), old);
    insert(&mut net, 1, "c");
    net.settle(20).expect("converges");
    assert!(net.errors.is_empty(), "{:?}", net.errors);
    for leader in net.leaders.values() {
        assert_eq!(elements(leader), ["b", "c"]);
        assert_eq!(leader.holdings(old), Default::default());
    }
}
