//! A deterministic in-process network of leaders, with hand-scheduled or scripted
//! delivery: drop, duplicate, reorder and partition at will.

use crate::seeded_leader;
use crdt_core::codec::{encode, WireFormat};
use crdt_core::{DeltaCrdt, ReplicaId};
use crdt_sync::{Leader, SyncError, Transmit};
use std::collections::{BTreeMap, BTreeSet};

/// A message in flight.
#[derive(Debug, Clone)]
pub struct Packet {
    /// Sender.
    pub from: ReplicaId,
    /// Receiver and bytes.
    pub msg: Transmit,
}

/// Leaders connected by links that the test controls.
pub struct Net<C: DeltaCrdt> {
    /// The leaders, by id.
    pub leaders: BTreeMap<ReplicaId, Leader<C>>,
    /// Messages sent and not yet delivered, oldest first.
    pub inflight: Vec<Packet>,
    /// Directed links `(from, to)` that currently lose everything.
    pub cut: BTreeSet<(ReplicaId, ReplicaId)>,
    /// Errors returned by `receive`, in order.
    pub errors: Vec<(ReplicaId, SyncError)>,
}

/// `ReplicaId::new(n)`, shorter.
#[must_use]
pub fn rid(n: u64) -> ReplicaId {
    ReplicaId::new(n)
}

impl<C: DeltaCrdt> Net<C> {
    /// Leaders `ids`, each starting from `C::default()`, with no links.
    #[must_use]
    pub fn new(ids: &[u64]) -> Self {
        let leaders = ids
            .iter()
            .map(|&i| (rid(i), seeded_leader(rid(i), C::default())))
            .collect();
        Self {
            leaders,
            inflight: Vec::new(),
            cut: BTreeSet::new(),
            errors: Vec::new(),
        }
    }

    /// Leaders `ids` (not linked), each empty with `config`.
    #[must_use]
    pub fn with_config(ids: &[u64], config: &crdt_sync::Config) -> Self {
        let mut net = Self::new(&[]);
        for &id in ids {
            net.leaders.insert(
                rid(id),
                crate::new_leader_with(rid(id), C::default(), config.clone()),
            );
        }
        net
    }

    /// Makes `a` and `b` peers of each other.
    pub fn link(&mut self, a: u64, b: u64) {
        self.leader(a).add_peer(rid(b)).expect("add peer");
        self.leader(b).add_peer(rid(a)).expect("add peer");
    }

    /// Links every pair.
    #[must_use]
    pub fn mesh(ids: &[u64]) -> Self {
        let mut net = Self::new(ids);
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                net.link(*a, *b);
            }
        }
        net
    }

    /// Links consecutive ids.
    #[must_use]
    pub fn line(ids: &[u64]) -> Self {
        let mut net = Self::new(ids);
        for w in ids.windows(2) {
            net.link(w[0], w[1]);
        }
        net
    }

    /// The leader `id`.
    ///
    /// # Panics
    /// If there is none.
    pub fn leader(&mut self, id: u64) -> &mut Leader<C> {
        self.leaders.get_mut(&rid(id)).expect("no such leader")
    }

    /// Applies a local write at `id`.
    ///
    /// # Errors
    /// The leader's refusal.
    pub fn apply(&mut self, id: u64, op: C::Op) -> Result<C, SyncError> {
        self.leader(id).apply(op)
    }

    /// Moves everything the leaders want to send into flight (cut links lose it).
    pub fn flush(&mut self) {
        for (id, leader) in &mut self.leaders {
            while let Some(msg) = leader.poll_transmit() {
                if !self.cut.contains(&(*id, msg.to)) {
                    self.inflight.push(Packet { from: *id, msg });
                }
            }
        }
    }

    /// Delivers packet `i` of `inflight` (removing it).
    pub fn deliver(&mut self, i: usize) {
        let p = self.inflight.remove(i);
        self.deliver_packet(&p);
    }

    /// Delivers a copy of a packet (which stays wherever it is).
    pub fn deliver_packet(&mut self, p: &Packet) {
        if self.cut.contains(&(p.from, p.msg.to)) {
            return;
        }
        if let Some(to) = self.leaders.get_mut(&p.msg.to) {
            if let Err(e) = to.receive(p.from, &p.msg.payload) {
                self.errors.push((p.msg.to, e));
            }
        }
    }

    /// Takes the in-flight packets out (to drop, reorder or replay them).
    pub fn take_inflight(&mut self) -> Vec<Packet> {
        core::mem::take(&mut self.inflight)
    }

    /// Flushes and delivers in order until nothing is in flight (at most `max` waves).
    /// Returns the number of waves.
    pub fn run(&mut self, max: usize) -> usize {
        for wave in 0..max {
            self.flush();
            if self.inflight.is_empty() {
                return wave;
            }
            for p in self.take_inflight() {
                self.deliver_packet(&p);
            }
        }
        max
    }

    /// Ticks every leader once, then runs to quiescence.
    pub fn round(&mut self) {
        for l in self.leaders.values_mut() {
            l.tick();
        }
        self.run(1000);
    }

    /// Runs rounds until every leader holds the same state (at most `max` rounds).
    /// Returns the rounds needed, or `None`.
    pub fn settle(&mut self, max: usize) -> Option<usize> {
        self.run(1000);
        for r in 0..=max {
            if self.converged() {
                return Some(r);
            }
            self.round();
        }
        None
    }

    /// Whether every leader's state encodes to the same bytes.
    pub fn converged(&self) -> bool
    where
        C: WireFormat,
    {
        let mut states = self.leaders.values().map(|l| encode(l.state()));
        let first = states.next();
        states.all(|s| Some(s) == first)
    }

    /// Cuts both directions between the two groups.
    pub fn partition(&mut self, left: &[u64], right: &[u64]) {
        for a in left {
            for b in right {
                self.cut.insert((rid(*a), rid(*b)));
                self.cut.insert((rid(*b), rid(*a)));
            }
        }
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Total bytes sent by all leaders.
    #[must_use]
    pub fn bytes_sent(&self) -> u64 {
        self.leaders.values().map(|l| l.metrics().bytes_sent).sum()
    }
}

impl Net<crdt_core::OrSet<String>> {
    /// Inserts `x` at leader `id`.
    ///
    /// # Panics
    /// If the leader refuses the write.
    pub fn insert(&mut self, id: u64, x: &str) {
        let _ = self
            .apply(id, crdt_core::OrSetOp::Insert(x.to_string()))
            .expect("write");
    }

    /// Removes `x` at leader `id`.
    ///
    /// # Panics
    /// If the leader refuses the write.
    pub fn remove(&mut self, id: u64, x: &str) {
        let _ = self
            .apply(id, crdt_core::OrSetOp::Remove(x.to_string()))
            .expect("write");
    }

    /// Whether leader `id` holds `x`.
    pub fn has(&mut self, id: u64, x: &str) -> bool {
        self.leader(id).state().contains(&x.to_string())
    }
}
