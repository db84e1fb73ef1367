//! The machines together, as a leader drives them.

use super::{Accept, Identity, Peer, RepairOut};
use crate::message::{FLAG_REPAIR_ME, FLAG_SEND_DIGEST};
use crate::Incarnation;

type P = Peer<u64>;

#[test]
fn a_restart_voids_the_exchange_but_not_the_version_or_transfer_numbers() {
    let (old, new) = (Incarnation::new(1, 1), Incarnation::new(2, 2));
    let mut p = P::new(Some(old));
    p.speaks(2);
    p.inbound.connected(0, 5);
    p.stream
        .interval_sent(3, 3, Some(crdt_core::VersionVector::new()));
    p.heard_as(new);
    assert_eq!(p.inc(), Some(new));
    assert_eq!(p.version_max(), 2);
    assert_eq!(p.inbound.accept(), Accept::Unknown);
    assert_eq!(p.stream.sent(), 0);
    // One displacement notice to the old incarnation per tick, four in all.
    let mut notices = 0;
    for _ in 0..6 {
        p.tick(0, false, None, true);
        if let Some(probe) = p.take_reply() {
            assert_eq!((probe, p.reply_to()), (0, Some(old)));
            notices += 1;
        }
    }
    assert_eq!(notices, 4);
    assert_eq!(p.identity, Identity::Known(new));
}

#[test]
fn a_probe_keeps_only_the_incarnation_and_version() {
    let mut p = P::new(None);
    p.heard_as(Incarnation::FIRST);
    p.speaks(2);
    p.request_digest(FLAG_SEND_DIGEST);
    p.probe_started();
    assert_eq!((p.inc(), p.version_max()), (Some(Incarnation::FIRST), 2));
    assert_eq!(p.take_digest(), None);
    assert!(p.take_probe());
    assert!(!p.take_probe(), "one probe per round");
    p.tick(1, true, None, true);
    assert!(p.take_probe());
    p.probe_answered(None);
    assert_eq!(p.probe_answer(), Some(None));
    p.probe_finished();
    assert_eq!(p.probe_answer(), None);
}

#[test]
fn an_acknowledgement_needs_the_peers_incarnation_and_a_prefix() {
    let mut p = P::new(None);
    p.inbound.connected(0, 2);
    assert_eq!(p.ack_due(), None, "whose acknowledgement?");
    // First contact keeps what was received (no earlier incarnation to void).
    p.heard_as(Incarnation::FIRST);
    assert_eq!(p.ack_due(), Some((Incarnation::FIRST, 2)));
    p.inbound.ack_sent();
    assert_eq!(p.ack_due(), None);
}

#[test]
fn a_silent_peer_is_asked_for_a_repair_until_heard_from_and_retransmissions_back_off() {
    let mut p = P::new(None);
    p.tick(0, false, None, true);
    assert_eq!(p.take_digest(), Some(FLAG_REPAIR_ME), "greeting");
    // Never heard from: greeted again at the retransmission pace (after 1, 2, 4 ticks).
    let again: Vec<bool> = (0..7)
        .map(|_| {
            p.tick(0, false, None, true);
            p.take_digest() == Some(FLAG_REPAIR_ME)
        })
        .collect();
    assert_eq!(again, [true, false, true, false, false, false, true]);
    // Once something of the peer's arrived, never again.
    p.heard_as(Incarnation::FIRST);
    p.inbound.repaired(3);
    for _ in 0..20 {
        p.tick(0, false, None, true);
        assert_eq!(p.take_digest(), None, "greeted until answered");
    }
    // A repair in flight, never acknowledged: due again after 1, then 2 ticks.
    p.repair.request();
    p.repair.sent(4);
    p.stream.covered_by_repair(4);
    p.tick(4, false, None, true);
    assert_eq!(p.repair.state(), RepairOut::Resend { first_head: 4 });
    p.repair.sent(6);
    p.tick(6, false, None, true);
    assert!(p.repair.in_flight(), "backing off");
    p.tick(6, false, None, true);
    assert_eq!(p.repair.state(), RepairOut::Resend { first_head: 4 });
    p.repair.sent(6);
    p.acknowledged(4);
    assert_eq!(p.repair.state(), RepairOut::Idle);
    assert!(p.backoff.prompt());
}

#[test]
fn a_gap_that_outlasts_a_tick_asks_for_a_repair() {
    let mut p = P::new(Some(Incarnation::FIRST));
    p.inbound.connected(0, 1);
    assert!(!p.inbound.gap());
    p.tick(0, false, None, true);
    let _ = p.take_digest();
    if p.inbound.gap() {
        p.ask_repair();
    }
    assert!(p.inbound.awaiting_repair());
    assert_eq!(p.take_digest(), Some(FLAG_REPAIR_ME));
    p.ask_repair();
    assert_eq!(p.take_digest(), None, "once per tick");
}

#[test]
fn a_mismatch_is_confirmed_by_asking_for_the_peers_digest_when_its_wait_is_up() {
    let mut p = P::new(Some(Incarnation::FIRST));
    // Something of the peer's arrived: no greeting is due.
    p.inbound.connected(0, 5);
    p.confirm_mismatch_in(3);
    // A later, longer wait does not postpone the earlier one.
    p.confirm_mismatch_in(8);
    for tick in 1..=3 {
        p.tick(0, false, None, false);
        let due = p.take_digest();
        if tick < 3 {
            assert_eq!(due, None, "tick {tick}");
        } else {
            assert_eq!(due, Some(FLAG_SEND_DIGEST), "tick {tick}");
        }
    }
    // Asked once.
    p.tick(0, false, None, false);
    assert_eq!(p.take_digest(), None);
}
