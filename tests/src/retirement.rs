//! A deterministic simulator of retirement decisions (`crdt_sync::retirement`):
//! members and coordinators exchanging the decision's messages over a network that
//! loses, duplicates, delays and reorders them, while coordinators and members crash
//! and come back, two coordinators compete, members' holdings of each writer grow as
//! replication would bring them, and some certificates are wrong (the writer wrote
//! more than they state).
//!
//! Checks, at every step: no two members commit different batches in one epoch, and no
//! coordinator learns a batch other than the members'; a member commits a batch only
//! while it holds exactly every certified writer's holdings (so a writer whose
//! certificate undercounts is never retired: `lost-write`). After the faults stop: every correctly
//! certified writer is retired at every member, every wrong certificate is refused,
//! and the coordinator goes quiet, within a bound.

use crate::sim::rng::{Ppm, Rng};
use crdt_core::codec::DecodeLimits;
use crdt_core::{Held, ReplicaId};
use crdt_sync::retirement::{
    Ballot, Batch, Certificate, Coordinator, Holdings, Member, RetirementMessage,
};
use std::collections::{BTreeMap, BTreeSet};

/// The collapse id of every simulated cluster.
pub const COLLAPSE: ReplicaId = ReplicaId::new((1 << 53) - 1);

/// Ticks of faults, then at most this many quiet ones to finish.
const FAULT_TICKS: u64 = 400;
const HEAL_TICKS: u64 = 4_000;
/// Coordinators resend unanswered messages every this many ticks.
pub(crate) const RESEND_TICKS: u32 = 6;
/// Certifiers resend their certificates every this many ticks.
pub(crate) const CERTIFY_EVERY: u64 = 25;

/// A run's parameters, drawn from its seed.
#[derive(Clone, Debug)]
pub struct Params {
    /// Members (ids 1..=members).
    pub members: u64,
    /// Coordinators during the faults (the first `coordinators` members); only the
    /// first stays afterwards.
    pub coordinators: u64,
    /// Writers to retire (ids from 100).
    pub writers: u64,
    /// Chance a message is lost.
    pub drop: Ppm,
    /// Chance a message is delivered twice.
    pub duplicate: Ppm,
    /// Longest delay of a message, in ticks (at least 1).
    pub delay_max: u64,
    /// Chance per tick that a given coordinator crashes (it comes back empty).
    pub coordinator_crash: Ppm,
    /// Chance per tick that a given member crashes (it comes back with its stored state).
    pub member_crash: Ppm,
    /// Chance per tick that a member's holdings of a writer grow by one step.
    pub replicate: Ppm,
}

impl Params {
    /// The parameters of `seed`.
    #[must_use]
    pub fn of(rng: &mut Rng) -> Self {
        Self {
            members: rng.range(2, 5),
            coordinators: rng.range(1, 2),
            writers: rng.range(1, 10),
            drop: rng.swarm_rate(200_000, 300_000),
            duplicate: rng.swarm_rate(300_000, 200_000),
            // A third of the seeds delay messages far beyond the resend period, so
            // late copies of old proposals meet new ones.
            delay_max: if rng.below(3) == 0 {
                rng.range(1, 40)
            } else {
                rng.range(1, 12)
            },
            coordinator_crash: rng.swarm_rate(300_000, 20_000),
            member_crash: rng.swarm_rate(300_000, 10_000),
            replicate: rng.range(20_000, 300_000) as Ppm,
        }
    }
}

/// What a seed found: counts of what happened, or the first check that failed.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Epochs committed at every member.
    pub epochs: u64,
    /// Writers retired.
    pub retired: u64,
    /// Wrong certificates refused.
    pub refused: u64,
    /// Messages sent.
    pub messages: u64,
    /// Crashes of coordinators and members.
    pub crashes: u64,
    /// Ticks from the end of the faults until the coordinator was quiet.
    pub heal_ticks: u64,
}

/// A failed check: which one, and what it saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The check (`agreement`, `holdings`, `lost-write`, `liveness`).
    pub check: &'static str,
    /// What it saw.
    pub detail: String,
}

struct MemberNode {
    /// Its stored state: everything a `Member` holds is durable.
    member: Member,
    down_until: u64,
    /// Its holdings of each writer, growing towards the writer's actual holdings.
    views: BTreeMap<ReplicaId, Holdings>,
}

struct CoordinatorNode {
    coordinator: Option<Coordinator>,
    down_until: u64,
    /// Lives started so far: each gets its own (`Coordinator::new`'s `life`).
    lives: u64,
}

struct Writer {
    id: ReplicaId,
    /// What the writer actually wrote.
    actual: Holdings,
    /// What its certificate states (less than `actual` when it is wrong).
    certified: Holdings,
    /// When the certifier starts sending the certificate.
    certify_at: u64,
}

struct Flight {
    at: u64,
    from: ReplicaId,
    to: ReplicaId,
    msg: RetirementMessage,
}

struct World {
    rng: Rng,
    p: Params,
    now: u64,
    members: BTreeMap<ReplicaId, MemberNode>,
    coordinators: BTreeMap<ReplicaId, CoordinatorNode>,
    writers: Vec<Writer>,
    flights: Vec<Flight>,
    /// The batch of each epoch as the first member committed it.
    committed: BTreeMap<u64, Batch>,
    /// The batch of each epoch as first chosen: every member accepted it under one
    /// ballot, or a coordinator learned it.
    learned: BTreeMap<u64, Batch>,
    /// Per epoch and ballot, the members that accepted its batch.
    acceptances: BTreeMap<(u64, Ballot), (Batch, BTreeSet<ReplicaId>)>,
    report: Report,
}

/// The delays of the copies of one message sent over a faulty network (none: it is
/// lost; two: it is duplicated); one tick each on a network without faults.
pub(crate) fn delays(
    rng: &mut Rng,
    faulty: bool,
    drop: Ppm,
    duplicate: Ppm,
    delay_max: u64,
) -> Vec<u64> {
    if faulty && rng.chance(drop) {
        return Vec::new();
    }
    let copies = if faulty && rng.chance(duplicate) {
        2
    } else {
        1
    };
    (0..copies)
        .map(|_| if faulty { rng.range(1, delay_max) } else { 1 })
        .collect()
}

/// The holdings of a writer with highest dot `last` and `writes` writes, no counters.
#[must_use]
pub fn dots(last: u64, writes: u64) -> Holdings {
    holdings(last, 0, 0, writes)
}

/// The certificate of writer `writer` (a small id) holding [`dots`]`(last, writes)`.
#[must_use]
pub fn certificate(writer: u64, last: u64, writes: u64) -> Certificate {
    Certificate {
        writer: ReplicaId::new(writer),
        holdings: dots(last, writes),
    }
}

fn holdings(last: u64, increments: u64, decrements: u64, writes: u64) -> Holdings {
    Holdings {
        held: Held {
            last,
            increments,
            decrements,
        },
        writes,
    }
}

/// Runs one seed with the decision's code as built (and with a planted bug if the
/// calling thread selected one).
///
/// # Errors
/// The first check that failed.
pub fn run_seed(seed: u64) -> Result<Report, Violation> {
    let mut rng = Rng::new(seed);
    let p = Params::of(&mut rng);
    let mut w = World::new(rng, p);
    w.run()?;
    Ok(w.report)
}

impl World {
    fn new(mut rng: Rng, p: Params) -> Self {
        let ids: Vec<ReplicaId> = (1..=p.members).map(ReplicaId::new).collect();
        let mut writers = Vec::new();
        for i in 0..p.writers {
            let (last, inc, dec) = (rng.below(6), rng.below(4), rng.below(3));
            let writes = last + inc + dec + rng.below(3);
            let actual = holdings(last, inc, dec, writes);
            // One writer in five has a certificate that misses its last write, and one
            // in ten one that claims a write it never made (no member ever holds it).
            let certified = match rng.below(10) {
                0 | 1 if writes > 0 => {
                    let mut c = actual;
                    c.writes -= 1;
                    if c.held.last > 0 {
                        c.held.last -= 1;
                    }
                    c
                }
                2 => {
                    let mut c = actual;
                    c.writes += 1;
                    c
                }
                _ => actual,
            };
            writers.push(Writer {
                id: ReplicaId::new(100 + i),
                actual,
                certified,
                certify_at: rng.below(FAULT_TICKS),
            });
        }
        let mut members = BTreeMap::new();
        for &id in &ids {
            let mut views = BTreeMap::new();
            for wr in &writers {
                // The writer's own member (where it wrote) holds all of it from the start.
                let own = ids[(wr.id.get() as usize) % ids.len()] == id;
                views.insert(wr.id, if own { wr.actual } else { Holdings::default() });
            }
            members.insert(
                id,
                MemberNode {
                    member: Member::new(COLLAPSE),
                    down_until: 0,
                    views,
                },
            );
        }
        let mut coordinators = BTreeMap::new();
        for &id in ids.iter().take(p.coordinators as usize) {
            coordinators.insert(
                id,
                CoordinatorNode {
                    coordinator: Some(Coordinator::new(id, 0, ids.clone(), COLLAPSE, RESEND_TICKS)),
                    down_until: 0,
                    lives: 1,
                },
            );
        }
        Self {
            rng,
            p,
            now: 0,
            members,
            coordinators,
            writers,
            flights: Vec::new(),
            committed: BTreeMap::new(),
            learned: BTreeMap::new(),
            acceptances: BTreeMap::new(),
            report: Report::default(),
        }
    }

    fn faulty(&self) -> bool {
        self.now < FAULT_TICKS
    }

    fn run(&mut self) -> Result<(), Violation> {
        while self.now < FAULT_TICKS + HEAL_TICKS {
            self.step()?;
            if !self.faulty() && self.done() {
                self.report.heal_ticks = self.now - FAULT_TICKS;
                self.report.epochs = self
                    .members
                    .values()
                    .map(|m| m.member.epoch())
                    .min()
                    .unwrap_or(0);
                self.report.retired = self
                    .committed
                    .values()
                    .map(|b| b.certificates().len() as u64)
                    .sum();
                self.report.refused = self.main().map_or(0, |c| c.refused().len() as u64);
                return Ok(());
            }
            self.now += 1;
        }
        Err(Violation {
            check: "liveness",
            detail: format!(
                "not done {HEAL_TICKS} ticks after the faults: member epochs {:?}, pending {:?}, refused {:?}, stalled {:?}, members' acceptances {:?}",
                self.members.iter().map(|(id, m)| (id.get(), m.member.epoch())).collect::<Vec<_>>(),
                self.main().map(|c| c.pending().map(|c| c.writer.get()).collect::<Vec<_>>()),
                self.main().map(|c| c.refused().iter().map(|c| c.writer.get()).collect::<Vec<_>>()),
                self.main().map(Coordinator::stalled),
                self.members.values().map(|m| m.member.accepted().map(|(b, batch)| (b.round, batch.certificates().len()))).collect::<Vec<_>>(),
            ),
        })
    }

    /// The coordinator that stays after the faults.
    fn main(&self) -> Option<&Coordinator> {
        self.coordinators.values().next()?.coordinator.as_ref()
    }

    /// Every correct certificate retired at every member; every one that undercounts
    /// refused, and every one that overcounts still pending (left out of batches while
    /// the others were retired), neither retired anywhere; every member at the
    /// coordinator's epoch; no stall.
    fn done(&self) -> bool {
        let Some(c) = self.main() else { return false };
        if c.stalled().is_some() || self.members.values().any(|m| m.member.epoch() != c.epoch()) {
            return false;
        }
        let pending: BTreeSet<ReplicaId> = c.pending().map(|c| c.writer).collect();
        self.writers.iter().all(|wr| {
            let retired = self
                .members
                .values()
                .all(|m| m.member.retired_in(wr.id).is_some());
            let nowhere = self
                .members
                .values()
                .all(|m| m.member.retired_in(wr.id).is_none());
            if wr.certified == wr.actual {
                retired && !pending.contains(&wr.id)
            } else if wr.certified.exceeds(&wr.actual) {
                nowhere && pending.contains(&wr.id)
            } else {
                nowhere && c.refused().iter().any(|r| r.writer == wr.id)
            }
        })
    }

    fn step(&mut self) -> Result<(), Violation> {
        let faulty = self.faulty();
        // After the faults, only the first coordinator runs, and everyone is up.
        if !faulty {
            let first = self.coordinators.keys().next().copied();
            for (id, node) in &mut self.coordinators {
                if Some(*id) != first {
                    node.coordinator = None;
                    node.down_until = u64::MAX;
                } else if node.coordinator.is_none() {
                    node.down_until = 0;
                }
            }
            for m in self.members.values_mut() {
                m.down_until = m.down_until.min(self.now);
            }
        }
        self.crashes(faulty);
        self.replicate();
        self.certify();
        self.deliver()?;
        let ids: Vec<ReplicaId> = self.coordinators.keys().copied().collect();
        for id in ids {
            let node = self.coordinators.get_mut(&id).expect("listed");
            if let Some(c) = node.coordinator.as_mut() {
                c.tick();
            }
            self.drain(id);
        }
        self.check_agreement()
    }

    fn crashes(&mut self, faulty: bool) {
        let ids: Vec<ReplicaId> = self.members.keys().copied().collect();
        let now = self.now;
        for (id, node) in &mut self.coordinators {
            if node.coordinator.is_none() && node.down_until <= now {
                node.coordinator = Some(Coordinator::new(
                    *id,
                    node.lives,
                    ids.clone(),
                    COLLAPSE,
                    RESEND_TICKS,
                ));
                node.lives += 1;
            }
            if faulty && node.coordinator.is_some() && self.rng.chance(self.p.coordinator_crash) {
                node.coordinator = None;
                node.down_until = now + self.rng.range(1, 40);
                self.report.crashes += 1;
            }
        }
        for node in self.members.values_mut() {
            if faulty && node.down_until <= now && self.rng.chance(self.p.member_crash) {
                node.down_until = now + self.rng.range(1, 40);
                self.report.crashes += 1;
                // It comes back with what it stored, through its bytes.
                let stored = node.member.encode();
                node.member = Member::decode(&stored, &DecodeLimits::DEFAULT)
                    .unwrap_or_else(|e| panic!("a stored member does not decode: {e}"));
            }
        }
    }

    /// Members' holdings grow one step at a time towards each writer's actual ones.
    fn replicate(&mut self) {
        for node in self.members.values_mut() {
            for wr in &self.writers {
                if !self.rng.chance(self.p.replicate) {
                    continue;
                }
                let v = node.views.get_mut(&wr.id).expect("every writer");
                let a = wr.actual;
                // One more write, of a part that is behind.
                let mut behind: Vec<&mut u64> = Vec::with_capacity(4);
                for (have, want) in [
                    (&mut v.held.last, a.held.last),
                    (&mut v.held.increments, a.held.increments),
                    (&mut v.held.decrements, a.held.decrements),
                    (&mut v.writes, a.writes),
                ] {
                    if *have < want {
                        behind.push(have);
                    }
                }
                if !behind.is_empty() {
                    let i = self.rng.index(behind.len());
                    *behind[i] += 1;
                }
            }
        }
    }

    /// Certifiers send their certificates to every running coordinator, and again
    /// every `CERTIFY_EVERY` ticks until a coordinator refused it.
    fn certify(&mut self) {
        for wr in &self.writers {
            if self.now < wr.certify_at || (self.now - wr.certify_at) % CERTIFY_EVERY != 0 {
                continue;
            }
            let refused = self.coordinators.values().any(|n| {
                n.coordinator
                    .as_ref()
                    .is_some_and(|c| c.refused().iter().any(|r| r.writer == wr.id))
            });
            if refused {
                continue;
            }
            let cert = Certificate {
                writer: wr.id,
                holdings: wr.certified,
            };
            // Each coordinator hears of it or not (a certifier talks to its own server),
            // so coordinators propose different batches.
            for node in self.coordinators.values_mut() {
                if let Some(c) = node.coordinator.as_mut() {
                    if !self.rng.chance(500_000) {
                        let _ = c.certify(cert);
                    }
                }
            }
        }
    }

    fn send(&mut self, from: ReplicaId, to: ReplicaId, msg: RetirementMessage) {
        self.report.messages += 1;
        // Every message crosses the network as bytes.
        let bytes = msg.encode();
        let msg = RetirementMessage::decode(&bytes, &DecodeLimits::DEFAULT)
            .unwrap_or_else(|e| panic!("{msg:?} does not decode from its encoding: {e}"));
        let faulty = self.faulty();
        let p = &self.p;
        for delay in delays(&mut self.rng, faulty, p.drop, p.duplicate, p.delay_max) {
            self.flights.push(Flight {
                at: self.now + delay,
                from,
                to,
                msg: msg.clone(),
            });
        }
    }

    fn drain(&mut self, id: ReplicaId) {
        loop {
            let Some(node) = self.coordinators.get_mut(&id) else {
                return;
            };
            let Some(c) = node.coordinator.as_mut() else {
                return;
            };
            let Some((to, msg)) = c.poll_transmit() else {
                return;
            };
            self.send(id, to, msg);
        }
    }

    fn deliver(&mut self) -> Result<(), Violation> {
        let now = self.now;
        let (due, later): (Vec<Flight>, Vec<Flight>) = std::mem::take(&mut self.flights)
            .into_iter()
            .partition(|f| f.at <= now);
        self.flights = later;
        for f in due {
            // Coordinator-bound answers, and member-bound proposals (a member that is
            // also a coordinator gets both).
            let to_member = matches!(
                f.msg,
                RetirementMessage::Prepare { .. }
                    | RetirementMessage::Accept { .. }
                    | RetirementMessage::Commit { .. }
            );
            if to_member {
                self.deliver_to_member(f)?;
            } else if let Some(node) = self.coordinators.get_mut(&f.to) {
                if let Some(c) = node.coordinator.as_mut() {
                    c.receive(f.from, &f.msg);
                }
                self.drain(f.to);
            }
        }
        Ok(())
    }

    fn deliver_to_member(&mut self, f: Flight) -> Result<(), Violation> {
        let now = self.now;
        let members = self.members.len();
        let Some(node) = self.members.get_mut(&f.to) else {
            return Ok(());
        };
        if node.down_until > now {
            return Ok(());
        }
        let views = &node.views;
        let step = node
            .member
            .handle(&f.msg, |w| views.get(&w).copied().unwrap_or_default());
        if let Some(batch) = &step.commit {
            for c in batch.certificates() {
                let actual = self
                    .writers
                    .iter()
                    .find(|w| w.id == c.writer)
                    .map(|w| w.actual);
                if actual != Some(c.holdings) {
                    return Err(Violation {
                        check: "lost-write",
                        detail: format!(
                            "member {} committed epoch {} retiring writer {} as {:?}, which wrote {:?}",
                            f.to.get(),
                            batch.epoch(),
                            c.writer.get(),
                            c.holdings,
                            actual
                        ),
                    });
                }
                let held = views.get(&c.writer).copied().unwrap_or_default();
                if held != c.holdings {
                    return Err(Violation {
                        check: "holdings",
                        detail: format!(
                            "member {} committed epoch {} retiring writer {} certified as {:?} while holding {:?}",
                            f.to.get(),
                            batch.epoch(),
                            c.writer.get(),
                            c.holdings,
                            held
                        ),
                    });
                }
            }
            match self.committed.get(&batch.epoch()) {
                Some(b) if b != batch => {
                    return Err(Violation {
                        check: "agreement",
                        detail: format!(
                            "epoch {}: member {} committed {:?}, another member {:?}",
                            batch.epoch(),
                            f.to.get(),
                            batch,
                            b
                        ),
                    })
                }
                Some(_) => {}
                None => {
                    self.committed.insert(batch.epoch(), batch.clone());
                }
            }
        }
        if let Some(RetirementMessage::Accepted { epoch, ballot }) = step.reply {
            // Paxos's "chosen": every member accepted one batch under one ballot.
            let batch = node.member.accepted().expect("it just accepted").1.clone();
            let (first, accepted) = self
                .acceptances
                .entry((epoch, ballot))
                .or_insert_with(|| (batch.clone(), BTreeSet::new()));
            if *first != batch {
                return Err(Violation {
                    check: "agreement",
                    detail: format!(
                        "epoch {epoch}: two batches accepted under {ballot:?}: {first:?} and {batch:?}"
                    ),
                });
            }
            accepted.insert(f.to);
            if accepted.len() == members {
                let first = self.learned.entry(epoch).or_insert_with(|| batch.clone());
                if *first != batch {
                    return Err(Violation {
                        check: "agreement",
                        detail: format!(
                            "epoch {epoch}: every member accepted {batch:?} under {ballot:?}, but {first:?} was chosen before"
                        ),
                    });
                }
            }
        }
        if let Some(reply) = step.reply {
            self.send(f.to, f.from, reply);
        }
        Ok(())
    }

    /// Every coordinator's chosen batches are the members' committed ones and those
    /// any coordinator learned before (one batch is chosen per epoch, ever).
    fn check_agreement(&mut self) -> Result<(), Violation> {
        for (id, node) in &self.coordinators {
            let Some(c) = node.coordinator.as_ref() else {
                continue;
            };
            for e in 1..=c.epoch() {
                let chosen = c.chosen(e).expect("below its epoch");
                let earlier = self.learned.entry(e).or_insert_with(|| chosen.clone());
                for (what, b) in [
                    ("another coordinator learned", Some(&*earlier)),
                    ("a member committed", self.committed.get(&e)),
                ] {
                    if let Some(b) = b.filter(|b| *b != chosen) {
                        return Err(Violation {
                            check: "agreement",
                            detail: format!(
                                "epoch {e}: coordinator {} learned {chosen:?}, {what} {b:?}",
                                id.get()
                            ),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}
