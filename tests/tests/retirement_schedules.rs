//! Hand-written schedules of the retirement decision (`crdt_sync::retirement`), one
//! per finding of the review of its first version (each failed there): a coordinator
//! restarted under one id reused its ballot and two batches committed in one epoch; a
//! coordinator that heard of a later epoch never learned it; one that was pre-empted
//! while finishing a chosen batch went quiet with it committed nowhere; a chosen batch
//! that a member outgrew looped for ever; a certificate that overcounts blocked every
//! other writer; one whose range cannot fit refused every pending certificate; a
//! refused certificate was taken again.

use crdt_core::ReplicaId;
use crdt_sync::retirement::{
    Ballot, Coordinator, Holdings, Member, RetirementMessage as M, LAG_PATIENCE_PERIODS,
};
use std::collections::BTreeMap;
use tests::retirement::COLLAPSE;

fn id(n: u64) -> ReplicaId {
    ReplicaId::new(n)
}

use tests::retirement::{certificate as cert, dots as h};

fn coordinator(me: u64, life: u64) -> Coordinator {
    Coordinator::new(id(me), life, [id(1), id(2)], COLLAPSE, 3)
}

/// Two members and what each holds of each writer.
struct Cl {
    m: BTreeMap<ReplicaId, Member>,
    v: BTreeMap<ReplicaId, BTreeMap<ReplicaId, Holdings>>,
}

impl Cl {
    fn new() -> Self {
        Self {
            m: [1, 2].map(|i| (id(i), Member::new(COLLAPSE))).into(),
            v: [1, 2].map(|i| (id(i), BTreeMap::new())).into(),
        }
    }

    fn hold(&mut self, m: u64, w: u64, x: Holdings) {
        self.v.get_mut(&id(m)).unwrap().insert(id(w), x);
    }

    fn hold_both(&mut self, w: u64, x: Holdings) {
        self.hold(1, w, x);
        self.hold(2, w, x);
    }

    fn deliver(&mut self, to: ReplicaId, msg: &M) -> Option<M> {
        let v = &self.v[&to];
        self.m
            .get_mut(&to)
            .unwrap()
            .handle(msg, |w| v.get(&w).copied().unwrap_or_default())
            .reply
    }

    /// Delivers everything `c` sends at once, for `ticks` ticks.
    fn run(&mut self, c: &mut Coordinator, ticks: u32) {
        for _ in 0..ticks {
            c.tick();
            while let Some((to, msg)) = c.poll_transmit() {
                if let Some(r) = self.deliver(to, &msg) {
                    c.receive(to, &r);
                }
            }
        }
    }

    /// Delivers what `c` has sent so far, answers included, once.
    fn exchange(&mut self, c: &mut Coordinator) {
        for (to, m) in drain(c) {
            if let Some(r) = self.deliver(to, &m) {
                c.receive(to, &r);
            }
        }
    }

    fn epochs(&self) -> Vec<u64> {
        self.m.values().map(Member::epoch).collect()
    }
}

fn drain(c: &mut Coordinator) -> Vec<(ReplicaId, M)> {
    let mut v = Vec::new();
    while let Some(x) = c.poll_transmit() {
        v.push(x);
    }
    v
}

fn take(out: &mut Vec<(ReplicaId, M)>, to: u64, kind: &str) -> M {
    let i = out
        .iter()
        .position(|(t, m)| *t == id(to) && format!("{m:?}").starts_with(kind))
        .unwrap_or_else(|| panic!("no {kind} to {to}"));
    out.remove(i).1
}

/// Life 1 of coordinator 1 gets batch A = {100} accepted by member 1 only (its accept
/// to member 2, and a copy of the one to member 1, stay in the network) and crashes.
/// Life 2 knows only writer 101. Under a reused ballot, the late accepts of A would
/// join life 2's proposal and two batches would commit in epoch 1 (found by seeds 817
/// and 1352 of the decision simulator).
#[test]
fn a_restarted_coordinator_never_reuses_a_ballot() {
    let mut cl = Cl::new();
    cl.hold_both(100, h(1, 1));
    cl.hold_both(101, h(2, 2));
    let mut c = coordinator(1, 0);
    assert!(c.certify(cert(100, 1, 1)));
    c.tick();
    cl.exchange(&mut c);
    let mut out = drain(&mut c);
    let accept_a_1 = take(&mut out, 1, "Accept");
    let accept_a_2 = take(&mut out, 2, "Accept");
    let _ = cl.deliver(id(1), &accept_a_1);
    drop(c);

    let mut c = coordinator(1, 1);
    assert!(c.certify(cert(101, 2, 2)));
    c.tick();
    cl.exchange(&mut c);
    cl.exchange(&mut c);
    let b = c.chosen(1).expect("life 2 chose a batch").clone();
    let mut out = drain(&mut c);
    let late_commit_b_1 = take(&mut out, 1, "Commit");
    drop(c);
    // Life 1's late accepts arrive: both members promised life 2's higher ballot.
    for (to, msg) in [(1, &accept_a_1), (2, &accept_a_2)] {
        assert!(matches!(cl.deliver(id(to), msg), Some(M::Refused { .. })));
    }

    let mut c = coordinator(1, 2);
    for _ in 0..20 {
        c.tick();
        for (to, m) in drain(&mut c) {
            if to == id(1) && matches!(m, M::Commit { .. }) {
                continue;
            }
            if let Some(r) = cl.deliver(to, &m) {
                c.receive(to, &r);
            }
        }
    }
    let _ = cl.deliver(id(1), &late_commit_b_1);
    assert_eq!(cl.m[&id(1)].committed(1), Some(&b));
    assert_eq!(cl.m[&id(2)].committed(1), Some(&b));
}

/// Coordinator 1's commit of epoch 1 to member 2 is held back while coordinator 2
/// takes both members to epoch 2; member 2's answer to the late commit tells
/// coordinator 1 of epoch 2, which it must then learn (it went quiet never again).
#[test]
fn a_coordinator_that_hears_of_a_later_epoch_learns_it() {
    let mut cl = Cl::new();
    cl.hold_both(100, h(1, 1));
    cl.hold_both(101, h(1, 1));
    let mut c1 = coordinator(1, 0);
    assert!(c1.certify(cert(100, 1, 1)));
    let mut held = None;
    for _ in 0..20 {
        c1.tick();
        for (to, msg) in drain(&mut c1) {
            if to == id(2) && matches!(msg, M::Commit { .. }) && held.is_none() {
                held = Some(msg);
                continue;
            }
            if let Some(r) = cl.deliver(to, &msg) {
                c1.receive(to, &r);
            }
        }
    }
    let mut c2 = coordinator(2, 0);
    assert!(c2.certify(cert(101, 1, 1)));
    cl.run(&mut c2, 60);
    assert_eq!(cl.epochs(), [2, 2]);
    let r = cl.deliver(id(2), &held.unwrap()).unwrap();
    assert_eq!(r, M::Committed { epoch: 2 });
    c1.receive(id(2), &r);
    cl.run(&mut c1, 60);
    assert_eq!(c1.epoch(), 2);
    assert!(c1.is_quiet());
}

/// Both members accepted A = {100}; its coordinator crashed before it learned so.
/// Coordinator 2 finishes it, but a third coordinator's higher prepare pre-empts its
/// accept and that coordinator vanishes. Coordinator 2 must still finish A (it once
/// went quiet with A committed nowhere).
#[test]
fn a_chosen_batch_is_finished_after_a_competitor_preempts_and_vanishes() {
    let mut cl = Cl::new();
    cl.hold_both(100, h(1, 1));
    let mut c0 = coordinator(1, 0);
    assert!(c0.certify(cert(100, 1, 1)));
    c0.tick();
    cl.exchange(&mut c0);
    for (to, m) in drain(&mut c0) {
        let _ = cl.deliver(to, &m);
    }
    drop(c0);
    let mut c1 = coordinator(2, 0);
    c1.tick();
    cl.exchange(&mut c1);
    let accepts = drain(&mut c1);
    let pre_empt = M::Prepare {
        epoch: 1,
        ballot: Ballot {
            round: 9,
            proposer: id(1),
            life: 7,
        },
    };
    for to in [id(1), id(2)] {
        let _ = cl.deliver(to, &pre_empt);
    }
    for (to, m) in accepts {
        let r = cl.deliver(to, &m).unwrap();
        c1.receive(to, &r);
    }
    cl.run(&mut c1, 100);
    assert_eq!(cl.epochs(), [1, 1]);
    assert!(cl.m[&id(1)].committed(1).unwrap().retires(id(100)));
    assert!(c1.is_quiet());
}

/// Both members accepted A = {100} (so it may be chosen), then a write of 100 that
/// its certificate missed reaches member 2. A cannot change and member 2 cannot apply
/// it: the coordinator reports the stall once, and refuses nothing (it once looped,
/// refusing the same certificate at every tick).
#[test]
fn a_chosen_batch_a_member_outgrew_is_reported_as_a_stall() {
    let mut cl = Cl::new();
    cl.hold_both(100, h(1, 1));
    let mut c = coordinator(1, 0);
    assert!(c.certify(cert(100, 1, 1)));
    c.tick();
    cl.exchange(&mut c);
    for (to, m) in drain(&mut c) {
        let _ = cl.deliver(to, &m);
    }
    drop(c);
    cl.hold(2, 100, h(2, 2));
    cl.hold_both(102, h(1, 1));
    let mut c = coordinator(1, 1);
    assert!(c.certify(cert(102, 1, 1)));
    cl.run(&mut c, 500);
    let stall = c.stalled().expect("reported");
    assert_eq!(
        (stall.epoch, stall.writer, stall.held),
        (1, id(100), h(2, 2))
    );
    assert!(c.refused().is_empty());
    assert_eq!(cl.epochs(), [0, 0]);
    assert!(!c.is_quiet());
}

/// A certificate that claims writes no member will ever hold (it overcounts) is left
/// out after `LAG_PATIENCE_PERIODS` resend periods, and the others are retired.
#[test]
fn an_overcounting_certificate_does_not_block_the_others() {
    let mut cl = Cl::new();
    cl.hold_both(100, h(1, 1));
    cl.hold_both(101, h(1, 1));
    let mut c = coordinator(1, 0);
    assert!(c.certify(cert(100, 1, 1)));
    assert!(c.certify(cert(101, 5, 5)));
    cl.run(&mut c, 3 * LAG_PATIENCE_PERIODS as u32 + 30);
    assert_eq!(cl.epochs(), [1, 1]);
    assert_eq!(cl.m[&id(1)].retired_in(id(100)), Some(1));
    assert_eq!(c.pending().map(|c| c.writer).collect::<Vec<_>>(), [id(101)]);
}

/// A certificate whose dot range cannot fit after the committed ranges is refused
/// alone; the other pending certificate is retired (all were refused before).
#[test]
fn a_certificate_whose_range_cannot_fit_is_refused_alone() {
    let mut cl = Cl::new();
    cl.hold_both(100, h(1, 1));
    let mut c = coordinator(1, 0);
    assert!(c.certify(cert(100, 1, 1)));
    cl.run(&mut c, 20);
    assert_eq!(c.epoch(), 1);
    cl.hold_both(101, h(1, 1));
    assert!(c.certify(cert(101, 1, 1)));
    assert!(c.certify(cert(999, u64::MAX, 1)));
    cl.run(&mut c, 40);
    assert_eq!(c.refused(), [cert(999, u64::MAX, 1)]);
    assert_eq!(cl.m[&id(2)].retired_in(id(101)), Some(2));
}

/// A certificate refused once (a member holds more) is not taken again.
#[test]
fn a_refused_certificate_is_not_taken_again() {
    let mut cl = Cl::new();
    cl.hold_both(100, h(2, 2));
    let mut c = coordinator(1, 0);
    assert!(c.certify(cert(100, 1, 1)));
    cl.run(&mut c, 20);
    assert_eq!(c.refused(), [cert(100, 1, 1)]);
    for _ in 0..5 {
        assert!(!c.certify(cert(100, 1, 1)));
        cl.run(&mut c, 20);
    }
    assert_eq!(c.refused().len(), 1);
    // A corrected certificate is a new one.
    assert!(c.certify(cert(100, 2, 2)));
    cl.run(&mut c, 20);
    assert_eq!(cl.epochs(), [1, 1]);
}

/// Five certificates that overcount among eight (the decision simulator's seed 1000
/// when members named only the first writer that differs): each accept identified one
/// lagging writer, the deferrals ran out before the last was found, and no batch ever
/// committed. Members now name every writer that differs, so the three good writers
/// are retired after one patience period.
#[test]
fn many_overcounting_certificates_do_not_block_the_others() {
    let mut cl = Cl::new();
    let mut c = coordinator(1, 0);
    for w in 100..108 {
        cl.hold_both(w, h(3, 4));
        let claimed = if (101..=105).contains(&w) { 5 } else { 4 };
        assert!(c.certify(cert(w, 3, claimed)));
    }
    cl.run(&mut c, 3 * LAG_PATIENCE_PERIODS as u32 + 30);
    assert_eq!(cl.epochs(), [1, 1]);
    let retired: Vec<u64> = (100..108)
        .filter(|w| cl.m[&id(1)].retired_in(id(*w)).is_some())
        .collect();
    assert_eq!(retired, [100, 106, 107]);
}
