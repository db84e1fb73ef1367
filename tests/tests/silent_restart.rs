//! A leader that restarts empty (its storage lost) must not stay silent towards a peer
//! that believes it has everything, when its first request for a repair is lost and
//! periodic digests are off (the simulator's seed 504436 with `--lazy-links`; the kept
//! trace `tests/traces/restarted-leader-silent.trace`).

use crdt_core::OrSet;
use crdt_sync::{Config, Leader};
use tests::net::{rid, Net};
use tests::new_leader_with;

type Set = OrSet<String>;

fn no_digests() -> Config {
    Config {
        digest_interval_ticks: 0,
        ..Config::DEFAULT
    }
}

fn leader(id: u64) -> Leader<Set> {
    let mut l = new_leader_with(rid(id), Set::new(), no_digests());
    l.add_peer(rid(3 - id)).expect("peer");
    l
}

/// Leaders 1 and 2, periodic digests off; leader 2 has everything of leader 1's and
/// is then replaced by an empty leader under its id, whose first tick's request for a
/// repair is lost.
fn wiped_with_its_greeting_lost() -> Net<Set> {
    let mut net = Net::<Set>::new(&[]);
    net.leaders.insert(rid(1), leader(1));
    net.leaders.insert(rid(2), leader(2));
    net.insert(1, "a");
    net.run(100);
    assert!(net.has(2, "a"));
    net.leaders.insert(rid(2), leader(2));
    net.leader(2).tick();
    net.flush();
    let lost = net.take_inflight();
    assert!(lost.iter().all(|p| p.from == rid(2)), "only the greeting");
    net
}

#[test]
fn a_wiped_leader_whose_greeting_was_lost_asks_again_until_answered() {
    let mut net = wiped_with_its_greeting_lost();
    // Leader 1 believes leader 2 has everything: nothing goes to it unless asked.
    for _ in 0..20 {
        net.round();
        if net.has(2, "a") {
            return;
        }
    }
    panic!("leader 2 stayed empty");
}

#[test]
fn a_wiped_leader_that_hears_only_messages_for_its_previous_life_keeps_asking() {
    let mut net = wiped_with_its_greeting_lost();
    // Leader 1 writes again before leader 2 ticks: its interval is addressed to
    // leader 2's previous life, so leader 2 drops it. Having heard from leader 1 is not
    // enough: until something of leader 1's arrives, leader 2 keeps asking.
    net.insert(1, "b");
    net.run(100);
    for _ in 0..20 {
        if net.has(2, "a") && net.has(2, "b") {
            return;
        }
        net.round();
    }
    panic!("leader 2 never repaired");
}
