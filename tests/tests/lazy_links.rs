//! Lazy links (`Leader::set_peer_lazy`): a leader pushes no intervals to a lazy peer,
//! which gets its writes over the eager links, or through a repair when its digests
//! show it lacks them; a lazy peer never holds back garbage collection.

use crdt_core::OrSet;
use crdt_sync::{Config, SyncError};
use tests::net::{rid, Net, Packet};
use tests::new_leader_with;

type Set = OrSet<String>;

/// The kind byte of a message (after the 4-byte envelope): `Delta` 1, `Repair` 4,
/// `Delta` with an acknowledgement 7.
fn kind(p: &Packet) -> u8 {
    tests::peek::kind(&p.msg.payload).unwrap_or(0)
}

fn is_interval(p: &Packet) -> bool {
    matches!(kind(p), 1 | 7)
}

/// Leaders 1, 2, 3 all linked, the link 1-3 lazy at both ends.
fn triangle_with_lazy_1_3(config: Option<Config>) -> Net<Set> {
    let mut net = Net::<Set>::mesh(&[1, 2, 3]);
    if let Some(config) = config {
        for id in [1, 2, 3] {
            let mut l = new_leader_with(rid(id), Set::new(), config.clone());
            for peer in [1, 2, 3].into_iter().filter(|&p| p != id) {
                l.add_peer(rid(peer)).expect("peer");
            }
            net.leaders.insert(rid(id), l);
        }
    }
    net.leader(1).set_peer_lazy(rid(3), true).expect("a peer");
    net.leader(3).set_peer_lazy(rid(1), true).expect("a peer");
    net
}

/// Flushes and delivers until quiet, returning every packet delivered.
fn run_recording(net: &mut Net<Set>, rounds: usize) -> Vec<Packet> {
    let mut seen = Vec::new();
    for round in 0..=rounds {
        if round > 0 {
            for l in net.leaders.values_mut() {
                l.tick();
            }
        }
        for _ in 0..100 {
            net.flush();
            let wave = net.take_inflight();
            if wave.is_empty() {
                break;
            }
            for p in &wave {
                net.deliver_packet(p);
            }
            seen.extend(wave);
        }
    }
    seen
}

#[test]
fn a_lazy_link_carries_no_intervals_and_holds_back_no_collection() {
    let mut net = triangle_with_lazy_1_3(None);
    assert_eq!(net.leader(1).peer_is_lazy(rid(3)), Some(true));
    assert_eq!(net.leader(1).peer_is_lazy(rid(2)), Some(false));
    net.insert(1, "a");
    net.insert(3, "c");
    let seen = run_recording(&mut net, 0);
    assert!(net.has(3, "a") && net.has(1, "c"), "through leader 2");
    let lazy = |p: &Packet| {
        (p.from, p.msg.to) == (rid(1), rid(3)) || (p.from, p.msg.to) == (rid(3), rid(1))
    };
    assert!(seen.iter().any(|p| !lazy(p) && is_interval(p)));
    assert!(
        !seen.iter().any(|p| lazy(p) && is_interval(p)),
        "an interval crossed the lazy link"
    );
    // Ticks send digests over the lazy link, never intervals.
    let seen = run_recording(&mut net, 20);
    assert!(seen.iter().any(|p| lazy(p) && kind(p) == 3), "digests");
    assert!(!seen.iter().any(|p| lazy(p) && is_interval(p)));
    assert!(net.converged());
    // Leader 3 never acknowledged a delta of leader 1's (nor 1 of 3's): owed nothing,
    // it holds nothing back, and both buffers are collected.
    assert_eq!(net.leader(1).metrics().deltas_buffered, 0);
    assert_eq!(net.leader(3).metrics().deltas_buffered, 0);
}

/// Leader 3's eager link (to 2) is cut after the greetings: leader 1's later write
/// reaches it only through a repair over the lazy link, asked for by a digest.
fn reaches_through_the_lazy_link(config: Option<Config>) {
    let mut net = triangle_with_lazy_1_3(config);
    let _ = run_recording(&mut net, 2);
    net.partition(&[2], &[3]);
    net.insert(1, "a");
    let mut rounds = 0;
    let mut repaired = false;
    while !net.has(3, "a") {
        rounds += 1;
        assert!(rounds <= 40, "not repaired within 40 ticks");
        let seen = run_recording(&mut net, 1);
        repaired |= seen
            .iter()
            .any(|p| (p.from, p.msg.to) == (rid(1), rid(3)) && kind(p) == 4);
    }
    assert!(repaired, "leader 3 got the write through a repair from 1");
    net.heal();
    assert!(net.settle(40).is_some());
}

#[test]
fn what_the_eager_links_cannot_bring_comes_through_a_lazy_links_repair() {
    reaches_through_the_lazy_link(None);
}

#[test]
fn with_periodic_digests_off_a_lazy_peer_is_still_repaired() {
    reaches_through_the_lazy_link(Some(Config {
        digest_interval_ticks: 0,
        ..Config::DEFAULT
    }));
}

#[test]
fn a_peer_made_eager_again_is_repaired_then_gets_intervals() {
    let mut net = Net::<Set>::mesh(&[1, 2]);
    net.leader(1).set_peer_lazy(rid(2), true).expect("a peer");
    net.insert(1, "a");
    net.insert(1, "b");
    let seen = run_recording(&mut net, 0);
    assert!(!seen.iter().any(is_interval));
    assert!(!net.has(2, "a"), "nothing pushed to a lazy peer");
    net.leader(1).set_peer_lazy(rid(2), false).expect("a peer");
    let seen = run_recording(&mut net, 0);
    assert!(seen.iter().any(|p| kind(p) == 4), "a repair first");
    assert!(net.has(2, "a") && net.has(2, "b"));
    // From then on, writes go out in intervals that connect (no tick needed).
    net.insert(1, "c");
    let seen = run_recording(&mut net, 0);
    assert!(seen.iter().any(is_interval));
    assert!(net.has(2, "c"));
    assert!(net.errors.is_empty(), "{:?}", net.errors);
}

#[test]
fn only_a_peer_can_be_made_lazy() {
    let mut net = Net::<Set>::mesh(&[1, 2]);
    assert_eq!(
        net.leader(1).set_peer_lazy(rid(9), true),
        Err(SyncError::UnknownPeer(rid(9)))
    );
    assert_eq!(net.leader(1).peer_is_lazy(rid(9)), None);
}

/// A remove changes no causal context, so while one is on its way over the eager links
/// the two ends of a lazy link show equal summaries and different state hashes. That
/// is not a divergence: the mismatch is confirmed by a digest asked for at the next
/// tick (not at the next periodic one), and by then the remove has arrived. Before
/// 2026-12-05 each such digest made both ends send their whole state.
#[test]
fn a_remove_on_its_way_over_the_eager_links_is_not_taken_for_a_divergence() {
    let mut net = triangle_with_lazy_1_3(None);
    net.insert(1, "a");
    net.insert(1, "b");
    assert!(net.settle(10).is_some());
    net.remove(3, "b");
    // Everything but digests waits before it reaches leader 1, until a digest of
    // leader 3's has shown leader 1 the mismatch.
    let mut held = Vec::new();
    let mut ticks = 0;
    loop {
        ticks += 1;
        assert!(
            ticks <= 20,
            "no digest crossed the lazy link within 20 ticks"
        );
        for l in net.leaders.values_mut() {
            l.tick();
        }
        let mut digest_from_3 = false;
        for _ in 0..10 {
            net.flush();
            for p in net.take_inflight() {
                if p.msg.to == rid(1) && kind(&p) != 3 {
                    held.push(p);
                } else {
                    digest_from_3 |= p.from == rid(3) && p.msg.to == rid(1);
                    net.deliver_packet(&p);
                }
            }
        }
        if digest_from_3 {
            break;
        }
    }
    assert!(
        net.has(1, "b") && !net.has(3, "b"),
        "the remove is on its way"
    );
    for p in held {
        net.deliver_packet(&p);
    }
    assert!(!net.has(1, "b"));
    // The next tick: leader 1 asks leader 3 for its digest again (its periodic one is
    // not due), and the two states now agree.
    let seen = run_recording(&mut net, 1);
    assert!(
        seen.iter()
            .any(|p| (p.from, p.msg.to) == (rid(1), rid(3)) && kind(p) == 3),
        "leader 1 asked to confirm the mismatch at the next tick"
    );
    assert!(net.settle(10).is_some());
    for id in [1, 2, 3] {
        let m = net.leader(id).metrics();
        assert_eq!(m.divergences, 0, "leader {id} took the remove for damage");
        assert_eq!(m.full_state_sends, 0, "leader {id} sent its whole state");
        assert!(!net.has(id, "b") && net.has(id, "a"));
    }
    assert!(net.errors.is_empty(), "{:?}", net.errors);
}
