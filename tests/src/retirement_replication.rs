//! A deterministic simulator of replication **with** retirement: real leaders
//! (`crdt_sync::Leader`) replicate an OR-Set, a PN-Counter, a G-Counter, an MV register
//! or a keyspace of every kind of value while a coordinator on
//! the first of them retires the writers of their earlier lives
//! (`crdt_sync::retirement`), every member committing each batch in its leader
//! (`Leader::commit_retirement`). Sync and decision messages cross one network that
//! loses, duplicates, delays and reorders them, and partitions it; leaders crash and
//! come back from their stored checkpoint and member, some with **amnesia** (an older
//! checkpoint of the same epoch: the writes since are lost unless a peer has them), and
//! each new life certifies its old writer from what it restored, so a certificate
//! undercounts whenever amnesia lost writes a peer holds.
//!
//! Checks:
//! - `agreement`: every member commits the same batch in each epoch;
//! - `value`: a commit leaves its leader's value unchanged;
//! - `lost-write`: no message is refused for holding writes of a retired writer, no
//!   member fails to commit a batch it accepted, and at the end every write that was
//!   not lost to amnesia is in every leader's value (elements present unless removed;
//!   the counter's total within what amnesia may have lost);
//! - `retired`: a retired writer is in no leader's state or token;
//! - `liveness`: within a bound after the faults, every leader is back, every
//!   certificate is retired everywhere or refused, and the leaders converge.

pub use crate::retirement::Violation;
use crate::retirement::{delays, CERTIFY_EVERY, RESEND_TICKS};
use crate::sim::rng::{Ppm, Rng};
use crdt_core::codec::{encode, DecodeLimits};
use crdt_core::{
    DeltaCrdt, GCounter, GCounterOp, Keyspace, KeyspaceOp, MvOp, MvRegister, OrSet, OrSetOp,
    PnCounter, PnCounterOp, ReplicaId, Retire, ValueOp,
};
use crdt_sync::retirement::{Certificate, Coordinator, Holdings, Member, RetirementMessage};
use crdt_sync::{Config, Leader, SyncError, COLLAPSE_DEFAULT};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Ticks of faults, then at most this many quiet ones to finish.
const FAULT_TICKS: u64 = 300;
const HEAL_TICKS: u64 = 3_000;
/// Older checkpoints kept for amnesia, one every this many ticks.
const HISTORY_EVERY: u64 = 15;
const HISTORY_LEN: usize = 4;

/// A run's parameters, drawn from its seed.
#[derive(Clone, Debug)]
pub struct Params {
    /// Leaders, all members (ids 1..=leaders).
    pub leaders: u64,
    /// Chance a message is lost.
    pub drop: Ppm,
    /// Chance a message is delivered twice.
    pub duplicate: Ppm,
    /// Longest delay of a message, in ticks.
    pub delay_max: u64,
    /// Chance per tick that a running leader crashes.
    pub crash: Ppm,
    /// Chance that a crash is an amnesia.
    pub amnesia: Ppm,
    /// Chance per tick that a leader writes.
    pub write: Ppm,
    /// Chance per tick that the partition changes.
    pub partition: Ppm,
    /// Sync links only between neighbours (ids `i`, `i + 1`) instead of a mesh.
    pub line: bool,
    /// Links outside a spanning tree (the star around leader 1) are lazy (mesh only).
    pub lazy: bool,
    /// `Config::message_bytes_max`, small in some seeds so that intervals are cut and
    /// states go in fragments.
    pub message_bytes_max: usize,
}

impl Params {
    /// The parameters drawn from `rng`.
    #[must_use]
    pub fn of(rng: &mut Rng) -> Self {
        Self {
            leaders: rng.range(2, 5),
            drop: rng.swarm_rate(300_000, 200_000),
            duplicate: rng.swarm_rate(400_000, 100_000),
            delay_max: rng.range(1, 10),
            crash: rng.range(2_000, 15_000) as Ppm,
            amnesia: rng.range(0, 600_000) as Ppm,
            write: rng.range(50_000, 400_000) as Ppm,
            partition: rng.swarm_rate(400_000, 30_000),
            line: rng.below(3) == 0,
            lazy: rng.below(4) == 0,
            message_bytes_max: if rng.below(4) == 0 {
                usize::try_from(rng.range(150, 600)).unwrap_or(600)
            } else {
                Config::default().message_bytes_max
            },
        }
    }
}

/// What a seed did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// `"orset"` or `"pncounter"`.
    pub kind: &'static str,
    /// Writes acknowledged.
    pub writes: u64,
    /// Crashes, and how many of them were amnesias.
    pub crashes: u64,
    /// Amnesias.
    pub amnesias: u64,
    /// Epochs committed at every leader.
    pub epochs: u64,
    /// Writers retired at every leader.
    pub retired: u64,
    /// Certificates refused (they undercounted).
    pub refused: u64,
    /// Deltas and repairs that waited for their receiver's commit.
    pub ahead: u64,
    /// Ticks from the end of the faults until done.
    pub heal_ticks: u64,
}

fn violation(check: &'static str, detail: String) -> Violation {
    Violation { check, detail }
}

/// A value as the checks see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An OR-Set's elements.
    Set(BTreeSet<u64>),
    /// A counter's total.
    Total(i128),
    /// Any other value, as its debug form (compared, not checked against writes).
    Other(String),
}

/// What one acknowledged write did.
#[derive(Clone, Copy, Debug)]
enum Effect {
    Insert(u64),
    Remove(u64),
    Add(i64),
    /// Not checked against the final value (registers, the keyspace).
    Other,
}

/// A type the simulator replicates.
trait Model: DeltaCrdt + Retire {
    const KIND: &'static str;
    /// A write at a leader whose state is `state` (`next`: a fresh element).
    fn draw(rng: &mut Rng, state: &Self, next: &mut u64) -> Option<(Self::Op, Effect)>;
    fn value(&self) -> Value;
}

impl Model for OrSet<u64> {
    const KIND: &'static str = "orset";
    fn draw(rng: &mut Rng, state: &Self, next: &mut u64) -> Option<(Self::Op, Effect)> {
        let present: Vec<u64> = state.iter().copied().collect();
        if !present.is_empty() && rng.below(3) == 0 {
            let x = *rng.pick(&present);
            return Some((OrSetOp::Remove(x), Effect::Remove(x)));
        }
        *next += 1;
        Some((OrSetOp::Insert(*next), Effect::Insert(*next)))
    }
    fn value(&self) -> Value {
        Value::Set(self.iter().copied().collect())
    }
}

impl Model for PnCounter {
    const KIND: &'static str = "pncounter";
    fn draw(rng: &mut Rng, _: &Self, _: &mut u64) -> Option<(Self::Op, Effect)> {
        let n = rng.range(1, 9);
        let signed = i64::try_from(n).unwrap_or(1);
        Some(if rng.below(3) == 0 {
            (PnCounterOp::Decrement(n), Effect::Add(-signed))
        } else {
            (PnCounterOp::Increment(n), Effect::Add(signed))
        })
    }
    fn value(&self) -> Value {
        Value::Total(self.value_i128())
    }
}

impl Model for GCounter {
    const KIND: &'static str = "gcounter";
    fn draw(rng: &mut Rng, _: &Self, _: &mut u64) -> Option<(Self::Op, Effect)> {
        let n = rng.range(1, 9);
        let signed = i64::try_from(n).unwrap_or(1);
        Some((GCounterOp::Increment(n), Effect::Add(signed)))
    }
    fn value(&self) -> Value {
        Value::Total(i128::from(self.value()))
    }
}

impl Model for MvRegister<u64> {
    const KIND: &'static str = "mvregister";
    fn draw(_: &mut Rng, _: &Self, next: &mut u64) -> Option<(Self::Op, Effect)> {
        *next += 1;
        Some((MvOp::Set(*next), Effect::Other))
    }
    fn value(&self) -> Value {
        Value::Other(format!("{:?}", self.values()))
    }
}

/// Every kind of key: counters (collapsed payloads are summed), sets, registers with
/// colliding stamps (renamed ones keep their writer as tie-break), deletes.
impl Model for Keyspace {
    const KIND: &'static str = "keyspace";
    fn draw(rng: &mut Rng, state: &Self, next: &mut u64) -> Option<(Self::Op, Effect)> {
        *next += 1;
        let write = |key: &str, op| KeyspaceOp::Write {
            key: key.to_string(),
            op,
        };
        let pick = |rng: &mut Rng, a: &'static str, b: &'static str| {
            if rng.below(2) == 0 {
                a
            } else {
                b
            }
        };
        let op = match rng.below(12) {
            0 | 1 => write(
                pick(rng, "g0", "g1"),
                ValueOp::GCounterIncrement(rng.range(1, 5)),
            ),
            2 => write("p", ValueOp::PnCounterIncrement(rng.range(1, 5))),
            3 => write("p", ValueOp::PnCounterDecrement(rng.range(1, 5))),
            4 => write("s", ValueOp::OrSetInsert(format!("{}", *next % 7))),
            5 => write("s", ValueOp::OrSetRemove(format!("{}", rng.below(7)))),
            6 | 7 => write(
                pick(rng, "l0", "l1"),
                ValueOp::LwwSet {
                    value: format!("{next}"),
                    now_ms: rng.below(3),
                },
            ),
            8 => write("m", ValueOp::MvRegisterSet(format!("{next}"))),
            _ => {
                let keys: Vec<String> = state.keys().map(str::to_string).collect();
                if keys.is_empty() {
                    return None;
                }
                KeyspaceOp::Delete {
                    key: rng.pick(&keys).clone(),
                }
            }
        };
        Some((op, Effect::Other))
    }
    fn value(&self) -> Value {
        let entries: Vec<(&str, Option<crdt_core::Value>)> =
            self.keys().map(|k| (k, self.get(k))).collect();
        Value::Other(format!("{entries:?}"))
    }
}

/// One acknowledged write: its writer, its number among the writer's writes, what it
/// did, and whether amnesia may have lost it.
struct Write {
    /// The leader it was made at.
    node: usize,
    writer: ReplicaId,
    count: u64,
    effect: Effect,
    at_risk: bool,
}

#[derive(Clone)]
enum Payload {
    Sync(Vec<u8>),
    Decision(RetirementMessage),
}

struct Flight {
    at: u64,
    from: usize,
    to: usize,
    payload: Payload,
}

/// A certificate a new life sends for its old writer.
struct Certifier {
    cert: Certificate,
    /// Where it is sent from: the leader whose earlier life it was.
    node: usize,
    from: u64,
}

struct Node<C: DeltaCrdt> {
    id: ReplicaId,
    /// `None` while down.
    leader: Option<Leader<C>>,
    /// Its stored state: the checkpoint and the member, always stored together.
    stored: Vec<u8>,
    member: Vec<u8>,
    /// Older checkpoints, for amnesia.
    history: VecDeque<Vec<u8>>,
    down_until: u64,
    lives: u64,
    /// Node 0 only: the coordinator (restarted empty with the node).
    coordinator: Option<Coordinator>,
}

struct World<C: Model> {
    rng: Rng,
    p: Params,
    now: u64,
    nodes: Vec<Node<C>>,
    flights: Vec<Flight>,
    cut: BTreeSet<(usize, usize)>,
    writes: Vec<Write>,
    next_element: u64,
    certifiers: Vec<Certifier>,
    report: Report,
}

/// Runs one seed (with a planted bug if the calling thread selected one): an OR-Set,
/// a PN-Counter, a keyspace, a G-Counter or an MV register by `seed % 5`.
///
/// # Errors
/// The first check that failed.
pub fn run_seed(seed: u64) -> Result<Report, Violation> {
    let mut rng = Rng::new(seed);
    let p = Params::of(&mut rng);
    match seed % 5 {
        0 => World::<OrSet<u64>>::new(rng, p).run(),
        1 => World::<PnCounter>::new(rng, p).run(),
        2 => World::<Keyspace>::new(rng, p).run(),
        3 => World::<GCounter>::new(rng, p).run(),
        _ => World::<MvRegister<u64>>::new(rng, p).run(),
    }
}

impl Params {
    fn config(&self) -> Config {
        Config {
            message_bytes_max: self.message_bytes_max,
            ..Config::default()
        }
    }

    /// Whether leaders `a` and `b` are linked, and whether lazily.
    fn link(&self, a: ReplicaId, b: ReplicaId) -> Option<bool> {
        let linked = a != b && (!self.line || a.get().abs_diff(b.get()) == 1);
        // Eager along a spanning tree (the star around leader 1), lazy outside it.
        let in_tree = a.get() == 1 || b.get() == 1;
        linked.then_some(self.lazy && !self.line && !in_tree)
    }

    /// Links `leader` (id `id`) to its peers among `ids` (lazy links are not stored
    /// in checkpoints: a restored leader is linked again).
    fn connect<C: DeltaCrdt>(&self, leader: &mut Leader<C>, ids: &[ReplicaId]) {
        let id = leader.id();
        for &q in ids {
            if let Some(lazy) = self.link(id, q) {
                if !leader.peers().any(|p| p == q) {
                    leader.add_peer(q).expect("peer");
                }
                leader.set_peer_lazy(q, lazy).expect("a peer");
            }
        }
    }
}

fn member_of(bytes: &[u8]) -> Member {
    Member::decode(bytes, &DecodeLimits::DEFAULT)
        .unwrap_or_else(|e| panic!("a stored member does not decode: {e}"))
}

impl<C: Model> World<C> {
    fn new(mut rng: Rng, p: Params) -> Self {
        let ids: Vec<ReplicaId> = (1..=p.leaders).map(ReplicaId::new).collect();
        let mut nodes = Vec::new();
        for &id in &ids {
            let mut leader = Leader::with_nonce(id, C::default(), p.config(), rng.u64());
            p.connect(&mut leader, &ids);
            let member = Member::new(COLLAPSE_DEFAULT).encode();
            nodes.push(Node {
                id,
                stored: leader.checkpoint().bytes().to_vec(),
                leader: Some(leader),
                member,
                history: VecDeque::new(),
                down_until: 0,
                lives: 1,
                coordinator: None,
            });
        }
        nodes[0].coordinator = Some(Coordinator::new(
            ids[0],
            0,
            ids.iter().copied(),
            COLLAPSE_DEFAULT,
            RESEND_TICKS,
        ));
        Self {
            rng,
            p,
            now: 0,
            nodes,
            flights: Vec::new(),
            cut: BTreeSet::new(),
            writes: Vec::new(),
            next_element: 0,
            certifiers: Vec::new(),
            report: Report {
                kind: C::KIND,
                ..Report::default()
            },
        }
    }

    fn faulty(&self) -> bool {
        self.now < FAULT_TICKS
    }

    fn run(mut self) -> Result<Report, Violation> {
        while self.now < FAULT_TICKS + HEAL_TICKS {
            self.step()?;
            if !self.faulty() && self.done() {
                self.report.heal_ticks = self.now - FAULT_TICKS;
                self.final_checks()?;
                return Ok(self.report);
            }
            self.now += 1;
        }
        Err(violation("liveness", self.why_not_done()))
    }

    fn step(&mut self) -> Result<(), Violation> {
        let faulty = self.faulty();
        if !faulty {
            self.cut.clear();
        }
        for i in 0..self.nodes.len() {
            self.crash_or_restart(i, faulty)?;
        }
        if faulty && self.rng.chance(self.p.partition) {
            self.repartition();
        }
        self.deliver()?;
        for i in 0..self.nodes.len() {
            if faulty && self.rng.chance(self.p.write) {
                self.write(i);
            }
            if let Some(l) = self.nodes[i].leader.as_mut() {
                l.tick();
            }
            if let Some(c) = self.nodes[i].coordinator.as_mut() {
                c.tick();
            }
            self.drain(i);
            self.persist(i);
        }
        self.certify();
        self.check_agreement()
    }

    fn repartition(&mut self) {
        self.cut.clear();
        let n = self.nodes.len();
        if self.rng.below(2) == 0 {
            return;
        }
        let side: Vec<bool> = (0..n).map(|_| self.rng.below(2) == 0).collect();
        for a in 0..n {
            for b in 0..n {
                if side[a] != side[b] {
                    self.cut.insert((a, b));
                }
            }
        }
    }

    fn crash_or_restart(&mut self, i: usize, faulty: bool) -> Result<(), Violation> {
        let now = self.now;
        if !faulty {
            self.nodes[i].down_until = self.nodes[i].down_until.min(now);
        }
        let node = &mut self.nodes[i];
        if node.leader.is_none() && node.down_until <= now {
            return self.restart(i);
        }
        if faulty && node.leader.is_some() && self.rng.chance(self.p.crash) {
            let node = &mut self.nodes[i];
            node.leader = None;
            node.coordinator = None;
            node.down_until = now + self.rng.range(1, 30);
            self.report.crashes += 1;
        }
        Ok(())
    }

    /// Brings node `i` back from its stored checkpoint and member, or with amnesia
    /// from an older checkpoint of the same epoch; its new life certifies the old
    /// writer with what it restored.
    fn restart(&mut self, i: usize) -> Result<(), Violation> {
        let member = member_of(&self.nodes[i].member);
        let mut bytes = self.nodes[i].stored.clone();
        if self.rng.chance(self.p.amnesia) {
            let older: Vec<&Vec<u8>> = self.nodes[i].history.iter().collect();
            if let Some(old) = older.first() {
                let at = Leader::<C>::restore_with_nonce(old, self.p.config(), 1)
                    .map(|l| l.retirement_epoch());
                if at == Ok(member.epoch()) {
                    bytes = (*old).clone();
                    self.report.amnesias += 1;
                }
            }
        }
        let mut leader = Leader::<C>::restore_with_nonce(&bytes, self.p.config(), self.rng.u64())
            .unwrap_or_else(|e| panic!("a stored checkpoint does not restore: {e}"));
        let latest = Leader::<C>::restore_with_nonce(&self.nodes[i].stored, self.p.config(), 1)
            .expect("restores");
        let old = latest.writer_id();
        // Writes of this leader's lives that the restored checkpoint lacks may be lost
        // (a retired writer's are all renamed into it).
        for w in &mut self.writes {
            let lacks = leader.retired_in(w.writer).is_none()
                && w.count > leader.causal_token().get(w.writer);
            if w.node == i && lacks {
                w.at_risk = true;
            }
        }
        let cert = Certificate {
            writer: old,
            holdings: leader.holdings(old),
        };
        if leader.retired_in(old).is_none() {
            // Certified once no message of the old life can still arrive.
            self.certifiers.push(Certifier {
                cert,
                node: i,
                from: self.now + 2 * self.p.delay_max + 5,
            });
        }
        let ids: Vec<ReplicaId> = self.nodes.iter().map(|n| n.id).collect();
        self.p.connect(&mut leader, &ids);
        let node = &mut self.nodes[i];
        node.leader = Some(leader);
        // What it came back from is what it stores now: a later amnesia goes back to
        // this life's checkpoints, never to a copy the store had lost.
        node.stored = bytes;
        node.history.clear();
        if i == 0 {
            let ids: Vec<ReplicaId> = self.nodes.iter().map(|n| n.id).collect();
            let node = &mut self.nodes[0];
            node.coordinator = Some(Coordinator::new(
                node.id,
                node.lives,
                ids,
                COLLAPSE_DEFAULT,
                RESEND_TICKS,
            ));
        }
        self.nodes[i].lives += 1;
        let _ = member;
        Ok(())
    }

    /// Stores node `i`'s checkpoint and member together (one transaction).
    fn persist(&mut self, i: usize) {
        let now = self.now;
        let node = &mut self.nodes[i];
        let Some(leader) = node.leader.as_mut() else {
            return;
        };
        let cp = leader.checkpoint();
        if now % HISTORY_EVERY == 0 {
            node.history.push_back(node.stored.clone());
            if node.history.len() > HISTORY_LEN {
                node.history.pop_front();
            }
        }
        node.stored = cp.bytes().to_vec();
        let _ = leader.persisted(cp);
    }

    fn write(&mut self, i: usize) {
        let Some(leader) = self.nodes[i].leader.as_mut() else {
            return;
        };
        if leader.can_write().is_err() {
            return;
        }
        let Some((op, effect)) = C::draw(&mut self.rng, leader.state(), &mut self.next_element)
        else {
            return;
        };
        if leader.apply(op).is_err() {
            return;
        }
        let writer = leader.writer_id();
        let count = leader.causal_token().get(writer);
        // Acknowledged once stored.
        self.persist(i);
        self.writes.push(Write {
            node: i,
            writer,
            count,
            effect,
            at_risk: false,
        });
        self.report.writes += 1;
    }

    /// Certifiers send their certificates to the coordinator until it retired or
    /// refused them.
    fn certify(&mut self) {
        let now = self.now;
        let due: Vec<Certificate> = self
            .certifiers
            .iter()
            .filter(|cf| now >= cf.from && (now - cf.from) % CERTIFY_EVERY == 0)
            .filter(|cf| self.nodes[cf.node].leader.is_some())
            .map(|cf| cf.cert)
            .collect();
        let Some(c) = self.nodes[0].coordinator.as_mut() else {
            return;
        };
        for cert in due {
            let _ = c.certify(cert);
        }
    }

    fn send(&mut self, from: usize, to: usize, payload: Payload) {
        if self.cut.contains(&(from, to)) {
            return;
        }
        let faulty = self.faulty();
        let p = &self.p;
        for delay in delays(&mut self.rng, faulty, p.drop, p.duplicate, p.delay_max) {
            self.flights.push(Flight {
                at: self.now + delay,
                from,
                to,
                payload: payload.clone(),
            });
        }
    }

    fn index_of(&self, id: ReplicaId) -> usize {
        self.nodes
            .iter()
            .position(|n| n.id == id)
            .expect("a member")
    }

    fn drain(&mut self, i: usize) {
        while let Some(t) = self.nodes[i]
            .leader
            .as_mut()
            .and_then(Leader::poll_transmit)
        {
            let to = self.index_of(t.to);
            self.send(i, to, Payload::Sync(t.payload));
        }
        while let Some((to, msg)) = self.nodes[i]
            .coordinator
            .as_mut()
            .and_then(Coordinator::poll_transmit)
        {
            let to = self.index_of(to);
            // Every decision message crosses the network as bytes.
            let msg =
                RetirementMessage::decode(&msg.encode(), &DecodeLimits::DEFAULT).expect("decodes");
            self.send(i, to, Payload::Decision(msg));
        }
    }

    fn deliver(&mut self) -> Result<(), Violation> {
        let now = self.now;
        let (due, later): (Vec<Flight>, Vec<Flight>) = std::mem::take(&mut self.flights)
            .into_iter()
            .partition(|f| f.at <= now);
        self.flights = later;
        for f in due {
            if self.nodes[f.to].leader.is_none() || self.cut.contains(&(f.from, f.to)) {
                continue;
            }
            match f.payload {
                Payload::Sync(bytes) => self.receive(f.from, f.to, &bytes)?,
                Payload::Decision(msg) => self.decide(f.from, f.to, &msg)?,
            }
            self.drain(f.to);
            self.persist(f.to);
        }
        Ok(())
    }

    fn receive(&mut self, from: usize, to: usize, bytes: &[u8]) -> Result<(), Violation> {
        let from_id = self.nodes[from].id;
        let Some(leader) = self.nodes[to].leader.as_mut() else {
            return Ok(());
        };
        match leader.receive(from_id, bytes) {
            Err(e @ SyncError::RetiredWriter { .. }) => Err(violation(
                "lost-write",
                format!(
                    "tick {}: leader {to} refused a message from {from}: {e}",
                    self.now
                ),
            )),
            _ => Ok(()),
        }
    }

    fn decide(&mut self, from: usize, to: usize, msg: &RetirementMessage) -> Result<(), Violation> {
        let to_member = matches!(
            msg,
            RetirementMessage::Prepare { .. }
                | RetirementMessage::Accept { .. }
                | RetirementMessage::Commit { .. }
        );
        let from_id = self.nodes[from].id;
        let now = self.now;
        let node = &mut self.nodes[to];
        if !to_member {
            if let Some(c) = node.coordinator.as_mut() {
                c.receive(from_id, msg);
            }
            return Ok(());
        }
        let Some(leader) = node.leader.as_mut() else {
            return Ok(());
        };
        let mut member = member_of(&node.member);
        let step = member.handle(msg, |w| leader.holdings(w));
        if let Some(batch) = &step.commit {
            let before = leader.state().value();
            // A leader that lost writes since it accepted (amnesia) may hold less: its
            // counter's total then gains the writer's whole contribution.
            let exact = batch
                .certificates()
                .iter()
                .all(|c| leader.holdings(c.writer) == c.holdings);
            if let Err(e) = leader.commit_retirement(batch) {
                return Err(violation(
                    "lost-write",
                    format!("tick {now}: leader {to}'s member committed epoch {} but its leader refused it: {e}", batch.epoch()),
                ));
            }
            let after = leader.state().value();
            if exact && before != after {
                return Err(violation(
                    "value",
                    format!("tick {now}: epoch {} changed leader {to}'s value from {before:?} to {after:?}", batch.epoch()),
                ));
            }
        }
        node.member = member.encode();
        if let Some(reply) = step.reply {
            let reply = RetirementMessage::decode(&reply.encode(), &DecodeLimits::DEFAULT)
                .expect("decodes");
            self.send(to, from, Payload::Decision(reply));
        }
        Ok(())
    }

    fn check_agreement(&self) -> Result<(), Violation> {
        let members: Vec<Member> = self.nodes.iter().map(|n| member_of(&n.member)).collect();
        let top = members.iter().map(Member::epoch).max().unwrap_or(0);
        for e in 1..=top {
            let batches: BTreeSet<Vec<u8>> = members
                .iter()
                .filter_map(|m| m.committed(e))
                .map(|b| format!("{b:?}").into_bytes())
                .collect();
            if batches.len() > 1 {
                return Err(violation(
                    "agreement",
                    format!(
                        "tick {}: {} different batches committed in epoch {e}",
                        self.now,
                        batches.len()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Every leader up and writing, every certificate retired everywhere or refused,
    /// the coordinator quiet, the leaders converged.
    fn done(&self) -> bool {
        let Some(c) = self.nodes[0].coordinator.as_ref() else {
            return false;
        };
        let leaders: Vec<&Leader<C>> = self
            .nodes
            .iter()
            .filter_map(|n| n.leader.as_ref())
            .collect();
        if leaders.len() != self.nodes.len() || leaders.iter().any(|l| l.can_write().is_err()) {
            return false;
        }
        let resolved = self.certifiers.iter().all(|cf| {
            leaders
                .iter()
                .all(|l| l.retired_in(cf.cert.writer).is_some())
                || c.refused().iter().any(|r| r.writer == cf.cert.writer)
        });
        let first = encode(leaders[0].state());
        let token = leaders[0].causal_token();
        resolved
            && c.is_quiet()
            && leaders.iter().all(|l| {
                encode(l.state()) == first
                    && l.causal_token() == token
                    && (self.p.lazy || l.is_settled())
            })
    }

    fn why_not_done(&self) -> String {
        let c = self.nodes[0].coordinator.as_ref();
        let first = self.nodes[0]
            .leader
            .as_ref()
            .map(|l| (encode(l.state()), l.causal_token()));
        let each: Vec<_> = self
            .nodes
            .iter()
            .map(|n| {
                n.leader.as_ref().map(|l| {
                    (
                        first.as_ref().is_some_and(|f| f.0 == encode(l.state())),
                        first.as_ref().is_some_and(|f| f.1 == l.causal_token()),
                        l.is_settled(),
                        l.can_write().is_ok(),
                    )
                })
            })
            .collect();
        format!(
            "not done {HEAL_TICKS} ticks after the faults ({} {:?}; per leader: same state, same token, settled, writes {each:?}): epochs {:?}, quiet {:?}, stalled {:?}, pending {:?}, refused {:?}, certificates {:?}, values {:?}",
            C::KIND,
            self.p,
            self.nodes.iter().map(|n| n.leader.as_ref().map(|l| (l.retirement_epoch(), l.causal_token()))).collect::<Vec<_>>(),
            c.map(Coordinator::is_quiet),
            c.and_then(Coordinator::stalled),
            c.map(|c| c.pending().map(|p| p.writer.get()).collect::<Vec<_>>()),
            c.map(|c| c.refused().iter().map(|p| p.writer.get()).collect::<Vec<_>>()),
            self.certifiers.iter().map(|cf| (cf.cert.writer.get(), cf.cert.holdings)).collect::<Vec<_>>(),
            self.nodes.iter().map(|n| n.leader.as_ref().map(|l| l.state().value())).collect::<Vec<_>>(),
        )
    }

    fn final_checks(&mut self) -> Result<(), Violation> {
        let leaders: Vec<&Leader<C>> = self
            .nodes
            .iter()
            .filter_map(|n| n.leader.as_ref())
            .collect();
        let value = leaders[0].state().value();
        self.report.epochs = leaders
            .iter()
            .map(|l| l.retirement_epoch())
            .min()
            .unwrap_or(0);
        self.report.retired = leaders
            .iter()
            .map(|l| l.retired_writers() as u64)
            .min()
            .unwrap_or(0);
        self.report.refused = self.nodes[0]
            .coordinator
            .as_ref()
            .map_or(0, |c| c.refused().len() as u64);
        self.report.ahead = leaders.iter().map(|l| l.metrics().ahead_of_epoch).sum();
        let fenced: u64 = leaders.iter().map(|l| l.metrics().retired_writes).sum();
        if fenced > 0 {
            return Err(violation(
                "lost-write",
                format!(
                    "{fenced} causal-token entries claimed writes beyond a retired writer's record"
                ),
            ));
        }
        for cf in &self.certifiers {
            let w = cf.cert.writer;
            if leaders[0].retired_in(w).is_some() {
                for l in &leaders {
                    if l.holdings(w) != Holdings::default() || l.causal_token().get(w) != 0 {
                        return Err(violation(
                            "retired",
                            format!("writer {w} retired but still named: {:?}", l.holdings(w)),
                        ));
                    }
                }
            }
        }
        check_writes(&self.writes, &value)
    }
}

/// Every write not lost to amnesia is in `value`.
fn check_writes(writes: &[Write], value: &Value) -> Result<(), Violation> {
    match value {
        Value::Set(present) => {
            let mut inserted: BTreeMap<u64, bool> = BTreeMap::new();
            let mut removed: BTreeMap<u64, bool> = BTreeMap::new();
            for w in writes {
                match w.effect {
                    Effect::Insert(x) => {
                        inserted.insert(x, w.at_risk);
                    }
                    Effect::Remove(x) => {
                        let safe = removed.get(&x).is_some_and(|r| !r) || !w.at_risk;
                        removed.insert(x, !safe);
                    }
                    Effect::Add(_) | Effect::Other => {}
                }
            }
            for (x, at_risk) in &inserted {
                let must_be_gone = removed.get(x).is_some_and(|r| !r);
                let may_be_gone = *at_risk || removed.contains_key(x);
                let here = present.contains(x);
                if here && must_be_gone {
                    return Err(violation(
                        "lost-write",
                        format!("element {x} is back after a remove"),
                    ));
                }
                if !here && !may_be_gone {
                    return Err(violation("lost-write", format!("element {x} was lost")));
                }
            }
            if let Some(x) = present.iter().find(|x| !inserted.contains_key(x)) {
                return Err(violation(
                    "lost-write",
                    format!("element {x} was never inserted"),
                ));
            }
            Ok(())
        }
        Value::Total(total) => {
            let (mut safe, mut lo, mut hi) = (0i128, 0i128, 0i128);
            for w in writes {
                if let Effect::Add(n) = w.effect {
                    let n = i128::from(n);
                    if !w.at_risk {
                        safe += n;
                    } else if n < 0 {
                        lo += n;
                    } else {
                        hi += n;
                    }
                }
            }
            if *total < safe + lo || *total > safe + hi {
                return Err(violation(
                    "lost-write",
                    format!("total {total}, expected {safe} (amnesia may take {lo}..{hi})"),
                ));
            }
            Ok(())
        }
        Value::Other(_) => Ok(()),
    }
}
