//! Retirement decisions (`crdt_sync::retirement`, `docs/RETIREMENT.md` §4-§5.1): hand-
//! written schedules for each rule, and the decision simulator (`tests::retirement`)
//! over many seeds. With the `sabotage` feature, each planted decision bug must be
//! caught within 200 seeds (the README's test command runs both builds).

use crdt_core::codec::DecodeLimits;
use crdt_core::ReplicaId;
use crdt_sync::retirement::{
    Ballot, Batch, Coordinator, Holdings, Member, Refusal, RetirementMessage,
    BATCH_CERTIFICATES_MAX, LAG_PATIENCE_PERIODS,
};
use std::collections::BTreeMap;
use tests::retirement::{run_seed, COLLAPSE};

const SEEDS: u64 = 2_000;

fn id(n: u64) -> ReplicaId {
    ReplicaId::new(n)
}

use tests::retirement::{certificate as cert, dots as holdings};

/// Members in one process, each holding what `views` says of each writer; messages
/// are delivered at once unless a test holds them back.
struct Cluster {
    members: BTreeMap<ReplicaId, Member>,
    views: BTreeMap<ReplicaId, BTreeMap<ReplicaId, Holdings>>,
}

impl Cluster {
    fn new(n: u64) -> Self {
        Self {
            members: (1..=n).map(|i| (id(i), Member::new(COLLAPSE))).collect(),
            views: (1..=n).map(|i| (id(i), BTreeMap::new())).collect(),
        }
    }

    fn hold(&mut self, member: u64, writer: u64, h: Holdings) {
        self.views
            .get_mut(&id(member))
            .unwrap()
            .insert(id(writer), h);
    }

    fn hold_everywhere(&mut self, writer: u64, h: Holdings) {
        for v in self.views.values_mut() {
            v.insert(id(writer), h);
        }
    }

    /// Delivers one message to a member and returns its reply.
    fn deliver(&mut self, to: ReplicaId, msg: &RetirementMessage) -> Option<RetirementMessage> {
        let views = &self.views[&to];
        let step = self
            .members
            .get_mut(&to)
            .unwrap()
            .handle(msg, |w| views.get(&w).copied().unwrap_or_default());
        step.reply
    }

    /// Runs `c` with every message delivered at once, for at most `ticks` ticks.
    fn run(&mut self, c: &mut Coordinator, ticks: u32) {
        for _ in 0..ticks {
            c.tick();
            while let Some((to, msg)) = c.poll_transmit() {
                if let Some(reply) = self.deliver(to, &msg) {
                    c.receive(to, &reply);
                }
            }
            if c.is_quiet() {
                return;
            }
        }
    }

    fn epochs(&self) -> Vec<u64> {
        self.members.values().map(Member::epoch).collect()
    }
}

fn coordinator(n: u64) -> Coordinator {
    Coordinator::new(id(1), 0, (1..=n).map(id), COLLAPSE, 3)
}

#[test]
fn a_writer_every_member_holds_exactly_is_retired_everywhere() {
    let mut cl = Cluster::new(3);
    cl.hold_everywhere(100, holdings(4, 5));
    cl.hold_everywhere(101, holdings(2, 2));
    let mut c = coordinator(3);
    assert!(c.certify(cert(100, 4, 5)));
    assert!(c.certify(cert(101, 2, 2)));
    cl.run(&mut c, 50);
    assert!(c.is_quiet());
    assert_eq!(cl.epochs(), [1, 1, 1]);
    for m in cl.members.values() {
        assert_eq!(m.retired_in(id(100)), Some(1));
        assert_eq!(m.retired_in(id(101)), Some(1));
        let records = m.committed(1).unwrap().records(COLLAPSE).unwrap();
        // Consecutive ranges in writer order, from 0.
        assert_eq!(
            records[0].rename(crdt_core::Dot::new(id(100), 1)).unwrap(),
            crdt_core::Dot::new(COLLAPSE, 1)
        );
        assert_eq!(
            records[1].rename(crdt_core::Dot::new(id(101), 1)).unwrap(),
            crdt_core::Dot::new(COLLAPSE, 5)
        );
        assert_eq!(m.records_end(), 6);
    }
    // A second batch continues the ranges.
    cl.hold_everywhere(102, holdings(3, 3));
    assert!(c.certify(cert(102, 3, 3)));
    assert!(
        !c.certify(cert(100, 4, 5)),
        "a retired writer is not certified again"
    );
    cl.run(&mut c, 50);
    assert_eq!(cl.epochs(), [2, 2, 2]);
    assert_eq!(cl.members[&id(2)].committed(2).unwrap().base(), 6);
}

#[test]
fn a_wrong_certificate_is_refused_and_the_rest_of_its_batch_retired() {
    let mut cl = Cluster::new(3);
    cl.hold_everywhere(100, holdings(2, 2));
    cl.hold_everywhere(101, holdings(1, 1));
    // Member 3 holds one more write of 101 than its certificate states.
    cl.hold(3, 101, holdings(2, 2));
    let mut c = coordinator(3);
    assert!(c.certify(cert(100, 2, 2)));
    assert!(c.certify(cert(101, 1, 1)));
    cl.run(&mut c, 60);
    assert!(c.is_quiet());
    assert_eq!(c.refused(), [cert(101, 1, 1)]);
    for m in cl.members.values() {
        assert_eq!(m.retired_in(id(100)), Some(1));
        assert_eq!(
            m.retired_in(id(101)),
            None,
            "a writer some member holds more of stays"
        );
    }
}

#[test]
fn a_member_that_holds_less_is_waited_for() {
    let mut cl = Cluster::new(2);
    cl.hold(1, 100, holdings(3, 3));
    cl.hold(2, 100, holdings(1, 1));
    let mut c = coordinator(2);
    assert!(c.certify(cert(100, 3, 3)));
    cl.run(&mut c, 30);
    assert!(!c.is_quiet());
    assert_eq!(
        cl.epochs(),
        [0, 0],
        "nothing commits while member 2 lacks writes"
    );
    assert!(c.refused().is_empty(), "lacking is not a wrong certificate");
    // Repair brings member 2 up; the resent accept (or, once the writer was left
    // out for lagging too long, the next batch) succeeds.
    cl.hold(2, 100, holdings(3, 3));
    cl.run(&mut c, 3 * 5 * LAG_PATIENCE_PERIODS as u32 + 20);
    assert!(c.is_quiet());
    assert_eq!(cl.epochs(), [1, 1]);
}

#[test]
fn a_writer_some_member_never_catches_up_on_does_not_hold_the_others_back() {
    let mut cl = Cluster::new(3);
    cl.hold_everywhere(100, holdings(2, 2));
    cl.hold_everywhere(101, holdings(3, 3));
    // Member 3 never gets writer 101's last write (its certificate overcounts there).
    cl.hold(3, 101, holdings(2, 2));
    let mut c = coordinator(3);
    assert!(c.certify(cert(100, 2, 2)));
    assert!(c.certify(cert(101, 3, 3)));
    // Resends every 3 ticks: the lagging writer is left out after 8 periods.
    cl.run(&mut c, 3 * LAG_PATIENCE_PERIODS as u32 + 20);
    assert_eq!(cl.epochs(), [1, 1, 1]);
    for m in cl.members.values() {
        assert_eq!(m.retired_in(id(100)), Some(1));
        assert_eq!(m.retired_in(id(101)), None);
    }
    assert!(!c.is_quiet(), "writer 101 stays pending");
    assert_eq!(c.pending().map(|c| c.writer).collect::<Vec<_>>(), [id(101)]);
    // Once member 3 has it, 101 is retired too (after its deferral).
    cl.hold(3, 101, holdings(3, 3));
    cl.run(&mut c, 3 * 5 * LAG_PATIENCE_PERIODS as u32 + 20);
    assert!(c.is_quiet());
    assert_eq!(cl.epochs(), [2, 2, 2]);
}

/// Every member accepted batch A, then the coordinator crashed before any commit was
/// delivered. A new coordinator holding a different certificate must finish A, not
/// propose its own batch: A may already be committed somewhere (here: the dead
/// coordinator's commit reaches member 1 late), and a second batch in the same epoch
/// would give the members different records.
#[test]
fn a_batch_every_member_accepted_is_finished_by_the_next_coordinator() {
    let mut cl = Cluster::new(2);
    cl.hold_everywhere(100, holdings(2, 2));
    cl.hold_everywhere(101, holdings(5, 5));
    let a = Batch::new(1, 0, vec![cert(100, 2, 2)], COLLAPSE).unwrap();
    let old = Ballot {
        round: 1,
        proposer: id(2),
        life: 0,
    };
    for m in [1, 2] {
        let prepared = cl.deliver(
            id(m),
            &RetirementMessage::Prepare {
                epoch: 1,
                ballot: old,
            },
        );
        assert!(matches!(prepared, Some(RetirementMessage::Promise { .. })));
        let accepted = cl.deliver(
            id(m),
            &RetirementMessage::Accept {
                ballot: old,
                batch: a.clone(),
            },
        );
        assert_eq!(
            accepted,
            Some(RetirementMessage::Accepted {
                epoch: 1,
                ballot: old
            })
        );
    }
    let mut late_commit = Some(RetirementMessage::Commit { batch: a.clone() });
    let mut c = coordinator(2);
    assert!(c.certify(cert(101, 5, 5)));
    for _ in 0..60 {
        c.tick();
        while let Some((to, msg)) = c.poll_transmit() {
            // The dead coordinator's commit reaches member 1 just before this one's first.
            if to == id(1) && matches!(msg, RetirementMessage::Commit { .. }) {
                if let Some(late) = late_commit.take() {
                    cl.deliver(id(1), &late);
                }
            }
            if let Some(reply) = cl.deliver(to, &msg) {
                c.receive(to, &reply);
            }
        }
    }
    assert!(late_commit.is_none());
    for m in cl.members.values() {
        assert_eq!(
            m.committed(1),
            Some(&a),
            "epoch 1 is the batch every member accepted"
        );
    }
    assert!(c.is_quiet());
    assert_eq!(cl.epochs(), [2, 2]);
    for m in cl.members.values() {
        assert_eq!(m.retired_in(id(101)), Some(2));
    }
}

#[test]
fn a_lower_ballot_is_refused_after_a_higher_promise() {
    let mut cl = Cluster::new(1);
    cl.hold_everywhere(100, holdings(1, 1));
    let low = Ballot {
        round: 1,
        proposer: id(1),
        life: 0,
    };
    let high = Ballot {
        round: 2,
        proposer: id(2),
        life: 0,
    };
    cl.deliver(
        id(1),
        &RetirementMessage::Prepare {
            epoch: 1,
            ballot: high,
        },
    );
    let batch = Batch::new(1, 0, vec![cert(100, 1, 1)], COLLAPSE).unwrap();
    let reply = cl.deliver(id(1), &RetirementMessage::Accept { ballot: low, batch });
    assert_eq!(
        reply,
        Some(RetirementMessage::Refused {
            epoch: 1,
            ballot: Some(low),
            refusal: Refusal::Promised(high),
        })
    );
    assert_eq!(cl.members[&id(1)].accepted(), None);
}

#[test]
fn a_batch_that_does_not_continue_the_ranges_is_refused() {
    let mut cl = Cluster::new(1);
    cl.hold_everywhere(100, holdings(1, 1));
    let b = Ballot {
        round: 1,
        proposer: id(1),
        life: 0,
    };
    let batch = Batch::new(1, 7, vec![cert(100, 1, 1)], COLLAPSE).unwrap();
    let reply = cl.deliver(id(1), &RetirementMessage::Accept { ballot: b, batch });
    assert!(matches!(
        reply,
        Some(RetirementMessage::Refused {
            refusal: Refusal::Malformed,
            ..
        })
    ));
    assert!(Batch::new(1, 0, vec![cert(COLLAPSE.get(), 1, 1)], COLLAPSE).is_err());
}

#[test]
fn a_batch_holds_at_most_its_limit_and_the_rest_wait_for_the_next_epoch() {
    let n = BATCH_CERTIFICATES_MAX as u64 + 5;
    let mut cl = Cluster::new(2);
    let mut c = coordinator(2);
    for w in 0..n {
        cl.hold_everywhere(1000 + w, holdings(1, 1));
        assert!(c.certify(cert(1000 + w, 1, 1)));
    }
    cl.run(&mut c, 100);
    assert!(c.is_quiet());
    let m = &cl.members[&id(1)];
    assert_eq!(m.epoch(), 2);
    assert_eq!(
        m.committed(1).unwrap().certificates().len(),
        BATCH_CERTIFICATES_MAX
    );
    assert_eq!(m.committed(2).unwrap().certificates().len(), 5);
    assert_eq!(m.records_end(), n);
    let accept = RetirementMessage::Accept {
        ballot: Ballot {
            round: 1,
            proposer: id(1),
            life: 0,
        },
        batch: m.committed(1).unwrap().clone(),
    };
    let bytes = accept.encode();
    assert!(bytes.len() < 200_000, "{} bytes", bytes.len());
    assert_eq!(
        RetirementMessage::decode(&bytes, &DecodeLimits::DEFAULT),
        Ok(accept)
    );
}

/// One message of every kind, with large and small numbers.
fn every_kind() -> Vec<RetirementMessage> {
    let b = Ballot {
        round: u64::MAX,
        proposer: id((1 << 53) - 2),
        life: 0,
    };
    let batch = Batch::new(
        7,
        u64::MAX - 10,
        vec![cert(5, 3, 9), cert(300, 7, u64::MAX)],
        COLLAPSE,
    )
    .unwrap();
    vec![
        RetirementMessage::Prepare {
            epoch: 1,
            ballot: b,
        },
        RetirementMessage::Promise {
            epoch: 2,
            ballot: b,
            accepted: None,
            records_end: 0,
        },
        RetirementMessage::Promise {
            epoch: 2,
            ballot: b,
            accepted: Some((b, batch.clone())),
            records_end: 99,
        },
        RetirementMessage::Accept {
            ballot: b,
            batch: batch.clone(),
        },
        RetirementMessage::Accepted {
            epoch: 3,
            ballot: b,
        },
        RetirementMessage::Commit {
            batch: batch.clone(),
        },
        RetirementMessage::Committed { epoch: u64::MAX },
        RetirementMessage::Chosen { batch },
        RetirementMessage::Behind { epoch: 0 },
        RetirementMessage::Refused {
            epoch: 4,
            ballot: None,
            refusal: Refusal::Malformed,
        },
        RetirementMessage::Refused {
            epoch: 4,
            ballot: Some(b),
            refusal: Refusal::Promised(b),
        },
        RetirementMessage::Refused {
            epoch: 4,
            ballot: Some(b),
            refusal: Refusal::Holds(vec![(id(77), holdings(1, 2)), (id(78), holdings(0, 0))]),
        },
    ]
}

#[test]
fn every_message_round_trips_and_no_damaged_one_decodes_to_another_or_panics() {
    let limits = DecodeLimits::DEFAULT;
    for msg in every_kind() {
        let bytes = msg.encode();
        assert_eq!(RetirementMessage::decode(&bytes, &limits), Ok(msg.clone()));
        for cut in 0..bytes.len() {
            assert!(
                RetirementMessage::decode(&bytes[..cut], &limits).is_err(),
                "{msg:?} cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(RetirementMessage::decode(&longer, &limits).is_err());
        // Every single-byte change either fails or decodes to a message that encodes
        // back to exactly those bytes (canonical).
        for i in 0..bytes.len() {
            for x in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[i] = x;
                if let Ok(m) = RetirementMessage::decode(&damaged, &limits) {
                    assert_eq!(m.encode(), damaged, "non-canonical bytes accepted");
                }
            }
        }
    }
}

#[test]
fn a_stored_member_comes_back_whole_and_a_damaged_one_is_refused() {
    let limits = DecodeLimits::DEFAULT;
    let mut cl = Cluster::new(2);
    cl.hold_everywhere(100, holdings(2, 2));
    cl.hold_everywhere(101, holdings(3, 4));
    let mut c = coordinator(2);
    assert!(c.certify(cert(100, 2, 2)));
    cl.run(&mut c, 30);
    assert!(c.certify(cert(101, 3, 4)));
    cl.run(&mut c, 30);
    // A member mid-decision: promised and accepted for epoch 3.
    let mut m = cl.members[&id(1)].clone();
    cl.hold(1, 102, holdings(1, 1));
    let b = Ballot {
        round: 9,
        proposer: id(2),
        life: 0,
    };
    let batch = Batch::new(3, m.records_end(), vec![cert(102, 1, 1)], COLLAPSE).unwrap();
    let views = cl.views[&id(1)].clone();
    let step = m.handle(&RetirementMessage::Accept { ballot: b, batch }, |w| {
        views.get(&w).copied().unwrap_or_default()
    });
    assert!(step.changed);
    for member in [Member::new(COLLAPSE), cl.members[&id(2)].clone(), m] {
        let bytes = member.encode();
        assert_eq!(Member::decode(&bytes, &limits), Ok(member.clone()));
        for cut in 0..bytes.len() {
            assert!(Member::decode(&bytes[..cut], &limits).is_err());
        }
        for i in 0..bytes.len() {
            for x in [0x00, 0x01, 0x02, 0x7f, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[i] = x;
                if let Ok(back) = Member::decode(&damaged, &limits) {
                    assert_eq!(back.encode(), damaged, "non-canonical bytes accepted");
                }
            }
        }
    }
    // Batches that do not follow each other: epoch 2 stored before epoch 1.
    let one = Batch::new(1, 0, vec![cert(5, 1, 1)], COLLAPSE).unwrap();
    let two = Batch::new(2, 1, vec![cert(6, 1, 1)], COLLAPSE).unwrap();
    let mut ok = Member::new(COLLAPSE);
    for b in [&one, &two] {
        let _ = ok.handle(&RetirementMessage::Commit { batch: b.clone() }, |_| {
            holdings(1, 1)
        });
    }
    assert_eq!(ok.epoch(), 2);
    let mut bytes = ok.encode();
    let (a, b) = (one.clone(), two.clone());
    let enc = |x: &Batch| RetirementMessage::Commit { batch: x.clone() }.encode()[4..].to_vec();
    let (ea, eb) = (enc(&a), enc(&b));
    let at = bytes
        .windows(ea.len())
        .position(|w| w == ea.as_slice())
        .unwrap();
    bytes.splice(
        at..at + ea.len() + eb.len(),
        eb.iter().chain(ea.iter()).copied(),
    );
    assert!(Member::decode(&bytes, &limits).is_err());
    assert!(Member::decode(&RetirementMessage::Behind { epoch: 1 }.encode(), &limits).is_err());
}

#[test]
fn hostile_batches_and_refusals_are_refused() {
    let limits = DecodeLimits::DEFAULT;
    let commit = |count: &[u8], rest: &[u8]| {
        let mut b = vec![0xD1, 0x5E, 1, 4, 1, 0];
        b.extend_from_slice(count);
        b.extend_from_slice(rest);
        RetirementMessage::decode(&b, &limits)
    };
    // A count the input cannot hold, one above the batch limit, one near u64::MAX.
    assert!(commit(&[0xff, 0xff, 0x03], &[]).is_err());
    let mut many = Vec::new();
    for w in 1..=(BATCH_CERTIFICATES_MAX as u64 + 1) {
        many.extend(RetirementMessage::Committed { epoch: w }.encode()[4..].iter());
        many.extend([0, 0, 0, 0]);
    }
    let count = RetirementMessage::Committed {
        epoch: BATCH_CERTIFICATES_MAX as u64 + 1,
    }
    .encode()[4..]
        .to_vec();
    assert!(matches!(
        commit(&count, &many),
        Err(crdt_core::codec::DecodeError::LimitExceeded { .. })
    ));
    assert!(commit(
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        &[]
    )
    .is_err());
    // Writers out of order, and ranges past u64::MAX.
    assert!(commit(&[2], &[9, 1, 0, 0, 1, 8, 1, 0, 0, 1]).is_err());
    let mut past = vec![0xD1, 0x5E, 1, 4, 1];
    past.extend([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    past.extend([1, 9, 2, 0, 0, 2]);
    assert!(RetirementMessage::decode(&past, &limits).is_err());
    // Unknown kinds and refusals, and a flag other than 0 or 1.
    assert!(RetirementMessage::decode(&[0xD1, 0x5E, 1, 9, 0], &limits).is_err());
    assert!(RetirementMessage::decode(&[0xD1, 0x5E, 1, 8, 1, 0, 3], &limits).is_err());
    assert!(RetirementMessage::decode(&[0xD1, 0x5E, 1, 8, 1, 2, 2], &limits).is_err());
    assert!(RetirementMessage::decode(&[0xD1, 0x5E, 2, 5, 1], &limits).is_err());
    // A holdings refusal naming no writer, writers out of order, more than a batch.
    let refusal = |rest: &[u8]| {
        let mut b = vec![0xD1, 0x5E, 1, 8, 1, 0, 1];
        b.extend_from_slice(rest);
        RetirementMessage::decode(&b, &limits)
    };
    assert!(refusal(&[1, 5, 0, 0, 0, 0]).is_ok());
    assert!(refusal(&[0]).is_err());
    assert!(refusal(&[2, 5, 0, 0, 0, 0, 4, 0, 0, 0, 0]).is_err());
    let mut many = Vec::new();
    for w in 1..=(BATCH_CERTIFICATES_MAX as u64 + 1) {
        many.extend(RetirementMessage::Committed { epoch: w }.encode()[4..].iter());
        many.extend([0, 0, 0, 0]);
    }
    let mut over = RetirementMessage::Committed {
        epoch: BATCH_CERTIFICATES_MAX as u64 + 1,
    }
    .encode()[4..]
        .to_vec();
    over.extend(many);
    assert!(matches!(
        refusal(&over),
        Err(crdt_core::codec::DecodeError::LimitExceeded { .. })
    ));
}

#[test]
fn retirement_decisions_are_safe_and_live_over_many_seeds() {
    let (mut epochs, mut retired, mut refused, mut crashes, mut slowest) = (0, 0, 0, 0, (0, 0));
    for seed in 0..SEEDS {
        match run_seed(seed) {
            Ok(r) => {
                epochs += r.epochs;
                retired += r.retired;
                refused += r.refused;
                crashes += r.crashes;
                slowest = slowest.max((r.heal_ticks, seed));
            }
            Err(v) => panic!("seed {seed} failed [{}]: {}", v.check, v.detail),
        }
    }
    println!(
        "{SEEDS} seeds: {epochs} epochs, {retired} writers retired, {refused} wrong certificates refused, {crashes} crashes; slowest to finish after the faults: seed {} ({} ticks)",
        slowest.1, slowest.0
    );
    assert!(retired > SEEDS, "the seeds retire writers");
    assert!(epochs > SEEDS, "the seeds commit epochs");
}

#[cfg(feature = "sabotage")]
mod sabotage {
    use super::run_seed;
    use crdt_core::sabotage::{with_planted, Bug};

    fn first_catch(bug: Bug) -> &'static str {
        for seed in 0..200 {
            if let Err(v) = with_planted(bug, || run_seed(seed)) {
                assert!(
                    run_seed(seed).is_ok(),
                    "seed {seed} fails without {bug:?} too"
                );
                println!(
                    "{} caught by seed {seed} in [{}]: {}",
                    bug.name(),
                    v.check,
                    v.detail
                );
                return v.check;
            }
        }
        panic!("{bug:?} was not caught within 200 seeds");
    }

    #[test]
    fn a_member_that_skips_the_holdings_check_is_caught() {
        let check = first_catch(Bug::RetireUnchecked);
        assert!(["holdings", "lost-write"].contains(&check), "{check}");
    }

    #[test]
    fn a_coordinator_that_ignores_accepted_batches_is_caught() {
        assert_eq!(first_catch(Bug::CoordinatorIgnoresAccepted), "agreement");
    }

    /// The hand-written schedule fails with the bug it is about, at the assertion
    /// about it.
    #[test]
    fn the_finished_batch_schedule_fails_with_the_coordinator_bug() {
        let panic = std::panic::catch_unwind(|| {
            with_planted(
                Bug::CoordinatorIgnoresAccepted,
                super::a_batch_every_member_accepted_is_finished_by_the_next_coordinator,
            )
        })
        .expect_err("fails with the bug");
        let msg = panic.downcast_ref::<String>().map_or("", String::as_str);
        assert!(
            msg.contains("epoch 1 is the batch every member accepted"),
            "{msg}"
        );
    }
}
