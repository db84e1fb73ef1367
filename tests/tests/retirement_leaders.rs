//! The retirement decision (`crdt_sync::retirement`) over real leaders: each member
//! answers with its leader's [`Leader::holdings`], so a writer is retired only once
//! replication has brought every one of its writes, dotless removes included, to every
//! leader, and each member's commit is applied to its leader
//! ([`Leader::commit_retirement`]), which retires the writer without changing a value.

use crdt_core::codec::DecodeLimits;
use crdt_core::{OrSet, OrSetOp, ReplicaId};
use crdt_sync::retirement::{
    Certificate, Coordinator, Member, RetirementMessage, LAG_PATIENCE_PERIODS,
};
use crdt_sync::Leader;
use std::collections::BTreeMap;
use tests::net::{rid, Net};

type Set = OrSet<String>;

const COLLAPSE: ReplicaId = ReplicaId::new((1 << 53) - 1);

/// A member per leader; the coordinator's messages go through bytes.
struct Decision {
    coordinator: Coordinator,
    members: BTreeMap<ReplicaId, Member>,
}

impl Decision {
    fn new(ids: &[u64]) -> Self {
        Self {
            coordinator: Coordinator::new(rid(ids[0]), 0, ids.iter().map(|i| rid(*i)), COLLAPSE, 2),
            members: ids
                .iter()
                .map(|i| (rid(*i), Member::new(COLLAPSE)))
                .collect(),
        }
    }

    /// Runs `ticks` ticks of the decision against the leaders' current holdings; a
    /// member's commit is its leader's.
    fn run(&mut self, net: &mut Net<Set>, ticks: u32) {
        let limits = DecodeLimits::DEFAULT;
        for _ in 0..ticks {
            self.coordinator.tick();
            while let Some((to, msg)) = self.coordinator.poll_transmit() {
                let msg = RetirementMessage::decode(&msg.encode(), &limits).unwrap();
                let leader = net.leaders.get_mut(&to).unwrap();
                let step = self
                    .members
                    .get_mut(&to)
                    .unwrap()
                    .handle(&msg, |w| leader.holdings(w));
                if let Some(batch) = &step.commit {
                    let before: Vec<String> = leader.state().iter().cloned().collect();
                    leader.commit_retirement(batch).expect("the leader commits");
                    let after: Vec<String> = leader.state().iter().cloned().collect();
                    assert_eq!(before, after, "a commit keeps the value");
                }
                if let Some(reply) = step.reply {
                    let reply = RetirementMessage::decode(&reply.encode(), &limits).unwrap();
                    self.coordinator.receive(to, &reply);
                }
            }
        }
    }

    fn epochs(&self) -> Vec<u64> {
        self.members.values().map(Member::epoch).collect()
    }
}

fn insert(net: &mut Net<Set>, id: u64, x: &str) {
    let _ = net.apply(id, OrSetOp::Insert(x.to_string())).unwrap();
}

#[test]
fn a_restarted_leaders_old_writer_is_retired_once_every_leader_holds_all_its_writes() {
    let mut net = Net::<Set>::mesh(&[1, 2, 3]);
    insert(&mut net, 1, "a");
    insert(&mut net, 1, "b");
    insert(&mut net, 2, "c");
    net.settle(10).expect("converges");
    // Leaders 2 and 3 stop hearing from leader 1, which removes "a": a write without
    // a dot.
    net.partition(&[1], &[2, 3]);
    let _ = net.apply(1, OrSetOp::Remove("a".to_string())).unwrap();
    net.run(50);
    for _ in 0..4 {
        net.round();
    }
    let old = net.leader(1).writer_id();
    // Leader 1 restarts from a checkpoint holding every write of its old life: the
    // new life writes under a writer id of its own, and certifies the old one.
    let checkpoint = net.leader(1).checkpoint();
    let restored = Leader::<Set>::restore(checkpoint.bytes()).expect("restore");
    let final_holdings = restored.holdings(old);
    assert_eq!((final_holdings.held.last, final_holdings.writes), (2, 3));
    net.leaders.insert(rid(1), restored);

    let mut d = Decision::new(&[1, 2, 3]);
    assert!(d.coordinator.certify(Certificate {
        writer: old,
        holdings: final_holdings,
    }));
    d.run(&mut net, 20);
    assert_eq!(
        d.epochs(),
        [0, 0, 0],
        "not retired while some leader lacks the remove"
    );
    for other in [2, 3] {
        let h = net.leaders[&rid(other)].holdings(old);
        assert_eq!((h.held.last, h.writes), (2, 2), "the adds, not the remove");
    }
    assert!(d.coordinator.refused().is_empty());

    net.heal();
    for _ in 0..20 {
        net.round();
        let cp = net.leaders[&rid(1)].checkpoint();
        let _ = net.leader(1).persisted(cp);
    }
    net.settle(20).expect("converges");
    assert_eq!(net.leaders[&rid(3)].holdings(old), final_holdings);
    // Left out for lagging too long (LAG_PATIENCE_PERIODS), it is proposed again
    // within five patience periods.
    d.run(&mut net, 2 * 5 * LAG_PATIENCE_PERIODS as u32 + 10);
    assert!(d.coordinator.is_quiet());
    assert_eq!(d.epochs(), [1, 1, 1]);

    // Every leader retired the old writer, and replication goes on without it.
    for leader in net.leaders.values() {
        assert_eq!(leader.retired_in(old), Some(1));
        assert!(leader.state().context().replicas().all(|r| r != old));
        assert_eq!(leader.causal_token().get(old), 0);
    }
    insert(&mut net, 2, "e");
    net.settle(20).expect("converges");
    assert!(net.errors.is_empty(), "{:?}", net.errors);
    for leader in net.leaders.values() {
        let mut elements: Vec<&String> = leader.state().iter().collect();
        elements.sort();
        assert_eq!(elements, ["b", "c", "e"]);
    }
}

#[test]
fn a_certificate_that_misses_a_write_is_refused_by_the_leader_that_holds_it() {
    let mut net = Net::<Set>::mesh(&[1, 2]);
    insert(&mut net, 1, "a");
    net.settle(10).expect("converges");
    let old = net.leader(1).writer_id();
    let too_early = net.leader(1).holdings(old);
    insert(&mut net, 1, "b");
    net.settle(10).expect("converges");
    let mut d = Decision::new(&[1, 2]);
    assert!(d.coordinator.certify(Certificate {
        writer: old,
        holdings: too_early,
    }));
    d.run(&mut net, 20);
    assert_eq!(d.epochs(), [0, 0]);
    assert_eq!(d.coordinator.refused().len(), 1);
    assert!(d.coordinator.is_quiet());
}

/// With the holdings check planted away, the first schedule retires the writer while
/// two leaders lack its remove, and fails.
#[cfg(feature = "sabotage")]
#[test]
fn the_restarted_writer_schedule_fails_with_the_holdings_check_skipped() {
    use crdt_core::sabotage::{with_planted, Bug};
    let panic = std::panic::catch_unwind(|| {
        with_planted(
            Bug::RetireUnchecked,
            a_restarted_leaders_old_writer_is_retired_once_every_leader_holds_all_its_writes,
        );
    })
    .expect_err("fails with the bug");
    let msg = panic.downcast_ref::<String>().map_or("", String::as_str);
    assert!(
        msg.contains("not retired while some leader lacks the remove"),
        "{msg}"
    );
}
