//! `ops_model`: arbitrary operations on three 3-leader clusters — replicating an
//! `OrSet<u64>`, a `PnCounter` and an `LwwRegister<String>` — over a network that
//! drops, duplicates, reorders and partitions, with leaders crashing and restarting
//! from their last snapshot or an older one. Every write is checked by **the
//! simulator's sequential oracles** ([`crate::sim::oracle`]: `OrSetOracle`,
//! `CounterOracle`, `LwwOracle`, through the simulator's [`Model`] and [`Oracle`]
//! traits), exactly as the simulator feeds them:
//!
//! - each acknowledged write (an `apply` that returned `Ok` with a non-empty delta) is
//!   made with [`Model::op`] and recorded with [`Oracle::record`], which checks its
//!   local effect (a dot issued twice under one writer id fails here);
//! - after every action, every leader's state passes [`Oracle::check_state`] and its
//!   causal token only names writes its state holds ([`Oracle::holds`]): session
//!   guarantees;
//! - at each crash, the facts no surviving state holds (the other leaders and the
//!   restored snapshot; not messages in flight) are marked at risk
//!   ([`Oracle::mark_at_risk`]);
//! - after the actions, every link heals and bounded anti-entropy rounds run; then
//!   every leader holds the same state (identical encodings) and the same causal token,
//!   accepts writes again, no honest leader rejected a message, and the converged state
//!   passes [`Oracle::check_final`]: every acknowledged write that was not at risk is
//!   there (zero lost writes), and nothing else.
//!
//! Restores never ask the OS for entropy: each draws its nonce from the cluster's
//! restart count ([`nonce`]), so an input replays exactly. A write refused with
//! `SnapshotRequired` gets a snapshot and is retried once; one refused while a restored
//! leader probes its peers is not acknowledged. A replica-id conflict fails the run,
//! unless that leader had more than [`DISPLACEMENTS_MAX`] earlier incarnations whose
//! late messages could each displace it (the documented limit).

use crate::net::{rid, Net};
use crate::sim::oracle::{Ambiguity, Oracle, WriteMeta};
use crate::sim::workload::{CounterOp, LwwWrite, Model, SetOp};
use crate::SaveExt;
use arbitrary::Arbitrary;
use crdt_core::{LwwRegister, OrSet, PnCounter, ReplicaId};
use crdt_sync::{Config, Leader, SyncError, DISPLACEMENTS_MAX};
use std::collections::BTreeMap;

/// The leaders' ids (every cluster).
pub const LEADERS: [u64; 3] = [1, 2, 3];
/// Set elements and register values are `0..VALUES`, so writes collide.
pub const VALUES: u64 = 6;
/// At most this many actions of an input are run.
pub const MAX_ACTIONS: usize = 200;
/// Anti-entropy rounds allowed after healing.
pub const SETTLE_ROUNDS: usize = 200;
/// Snapshots kept per leader (the first, then the newest), for restarts from an older
/// one.
pub const SNAPSHOTS_KEPT: usize = 4;

/// One thing that happens to the clusters. Leader and packet numbers are taken modulo
/// what exists.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `OrSet::insert` on a leader.
    Insert {
        /// Leader (index into [`LEADERS`]).
        leader: u8,
        /// Element (modulo [`VALUES`]).
        value: u8,
    },
    /// `OrSet::remove` on a leader.
    Remove {
        /// Leader.
        leader: u8,
        /// Element.
        value: u8,
    },
    /// `OrSet::clear` on a leader.
    Clear {
        /// Leader.
        leader: u8,
    },
    /// `PnCounter::increment` on a leader.
    Increment {
        /// Leader.
        leader: u8,
        /// Amount.
        by: u8,
    },
    /// `PnCounter::decrement` on a leader.
    Decrement {
        /// Leader.
        leader: u8,
        /// Amount.
        by: u8,
    },
    /// `LwwRegister::set` on a leader, its wall clock `skew` ms off the model clock
    /// (which advances 10 ms per action): clocks disagree and may go back.
    Assign {
        /// Leader.
        leader: u8,
        /// Value (`v0`..`v5`).
        value: u8,
        /// Clock offset in ms.
        skew: i8,
    },
    /// Deliver the oldest packet in flight (each cluster).
    DeliverNext,
    /// Deliver packet `packet` in flight.
    Deliver {
        /// Which packet.
        packet: u8,
    },
    /// Deliver the `n % 8 + 1` oldest packets in flight.
    DeliverMany {
        /// How many.
        n: u8,
    },
    /// Lose a packet in flight.
    Drop {
        /// Which packet.
        packet: u8,
    },
    /// Put a copy of a packet in flight at the end.
    Duplicate {
        /// Which packet.
        packet: u8,
    },
    /// Cut both directions between two leaders (dropping what is sent meanwhile).
    Partition {
        /// One end.
        a: u8,
        /// The other.
        b: u8,
    },
    /// Restore both directions between two leaders.
    Heal {
        /// One end.
        a: u8,
        /// The other.
        b: u8,
    },
    /// One anti-entropy round (`tick`) on every leader.
    Tick,
    /// A leader persists a snapshot.
    Snapshot {
        /// Leader.
        leader: u8,
    },
    /// A leader crashes and restarts from its last snapshot (`back < 0xC0`) or from
    /// an older one, `back % 4` snapshots before the last (modulo those kept), as
    /// after losing its newest files; it persists a new snapshot right away. Its
    /// messages in flight stay in flight.
    Restart {
        /// Leader.
        leader: u8,
        /// Which snapshot.
        back: u8,
    },
}

/// Reads actions from fuzzer bytes (as many as they hold, at most [`MAX_ACTIONS`]).
#[must_use]
pub fn parse(data: &[u8]) -> Vec<Action> {
    super::take(data, MAX_ACTIONS)
}

/// The number of [`Action`] variants.
const VARIANTS: u64 = 16;

/// The bytes [`parse`] reads back as `actions` (for seeds written as action lists):
/// `arbitrary`'s derived layout, a little-endian `u32` choosing the variant by
/// `(x * VARIANTS) >> 32`, then each field's bytes.
#[must_use]
pub fn encode_actions(actions: &[Action]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in actions {
        let (variant, fields): (u64, Vec<u8>) = match *a {
            Action::Insert { leader, value } => (0, vec![leader, value]),
            Action::Remove { leader, value } => (1, vec![leader, value]),
            Action::Clear { leader } => (2, vec![leader]),
            Action::Increment { leader, by } => (3, vec![leader, by]),
            Action::Decrement { leader, by } => (4, vec![leader, by]),
            Action::Assign {
                leader,
                value,
                skew,
            } => (5, vec![leader, value, skew.to_le_bytes()[0]]),
            Action::DeliverNext => (6, vec![]),
            Action::Deliver { packet } => (7, vec![packet]),
            Action::DeliverMany { n } => (8, vec![n]),
            Action::Drop { packet } => (9, vec![packet]),
            Action::Duplicate { packet } => (10, vec![packet]),
            Action::Partition { a, b } => (11, vec![a, b]),
            Action::Heal { a, b } => (12, vec![a, b]),
            Action::Tick => (13, vec![]),
            Action::Snapshot { leader } => (14, vec![leader]),
            Action::Restart { leader, back } => (15, vec![leader, back]),
        };
        let x = (variant << 32).div_ceil(VARIANTS);
        out.extend_from_slice(&(x as u32).to_le_bytes());
        out.extend_from_slice(&fields);
    }
    out
}

/// Named scenarios (seeds of the target and plain tests).
#[must_use]
pub fn scenarios() -> Vec<(&'static str, Vec<Action>)> {
    use Action::*;
    let writes = vec![
        Insert {
            leader: 0,
            value: 1,
        },
        Insert {
            leader: 1,
            value: 2,
        },
        Increment { leader: 2, by: 4 },
        Decrement { leader: 0, by: 1 },
        Assign {
            leader: 1,
            value: 3,
            skew: -5,
        },
        Tick,
    ];
    // A partition, a restart from a snapshot older than the last writes, and a heal.
    let partition_restart_heal = vec![
        Insert {
            leader: 0,
            value: 1,
        },
        Insert {
            leader: 1,
            value: 2,
        },
        Increment { leader: 0, by: 5 },
        DeliverNext,
        Partition { a: 0, b: 1 },
        Partition { a: 0, b: 2 },
        Remove {
            leader: 1,
            value: 1,
        },
        Insert {
            leader: 0,
            value: 1,
        },
        Decrement { leader: 2, by: 3 },
        Snapshot { leader: 0 },
        Insert {
            leader: 0,
            value: 4,
        },
        Increment { leader: 0, by: 7 },
        Restart { leader: 0, back: 0 },
        Insert {
            leader: 0,
            value: 5,
        },
        Tick,
        Heal { a: 0, b: 1 },
        Duplicate { packet: 0 },
        Deliver { packet: 3 },
        Drop { packet: 1 },
        Clear { leader: 2 },
        Tick,
    ];
    // Amnesia: a leader restarts from its first snapshot, twice, while cut off and
    // with its late messages still in flight.
    let mut amnesia = writes.clone();
    amnesia.extend([
        DeliverNext,
        Insert {
            leader: 0,
            value: 4,
        },
        Increment { leader: 0, by: 9 },
        Assign {
            leader: 0,
            value: 2,
            skew: 20,
        },
        Partition { a: 0, b: 1 },
        Restart {
            leader: 0,
            back: 0xC3,
        },
        Insert {
            leader: 0,
            value: 5,
        },
        Restart {
            leader: 0,
            back: 0xC3,
        },
        Heal { a: 0, b: 1 },
        Insert {
            leader: 0,
            value: 5,
        },
        Tick,
    ]);
    // Leader 2 restarts, its probe and first messages go partly astray, partitions
    // come and go, and it restarts from an older snapshot with late messages of the
    // first copy still in flight, which (against crdt-sync 741439f) makes a peer
    // send the second copy a displacement notice and it takes a newer incarnation.
    // Found by a search over pseudo-random inputs (1 in 20000), then shrunk.
    let displaced = vec![
        Restart {
            leader: 7,
            back: 165,
        },
        Duplicate { packet: 221 },
        Tick,
        DeliverNext,
        Tick,
        Deliver { packet: 203 },
        DeliverNext,
        Duplicate { packet: 182 },
        Drop { packet: 180 },
        Drop { packet: 20 },
        DeliverMany { n: 211 },
        Deliver { packet: 18 },
        Tick,
        Tick,
        Partition { a: 87, b: 209 },
        DeliverMany { n: 143 },
        DeliverMany { n: 59 },
        Drop { packet: 228 },
        Partition { a: 100, b: 134 },
        Duplicate { packet: 242 },
        Drop { packet: 157 },
        Restart {
            leader: 166,
            back: 222,
        },
        Tick,
        Deliver { packet: 223 },
        DeliverMany { n: 23 },
        Deliver { packet: 138 },
        Deliver { packet: 246 },
        Drop { packet: 176 },
    ];
    vec![
        ("writes", writes),
        ("partition_restart_heal", partition_restart_heal),
        ("amnesia", amnesia),
        ("displaced", displaced),
    ]
}

/// The scenario called `name`.
///
/// # Panics
/// If there is none.
#[must_use]
pub fn scenario(name: &str) -> Vec<Action> {
    scenarios()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, a)| a)
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

/// The nonce of restore number `n` of a cluster (SplitMix64 of a per-cluster salt and
/// `n`): distinct for every restore, and the same on every replay.
#[must_use]
pub fn nonce(salt: u64, n: u64) -> u64 {
    let mut z = salt
        .wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One cluster of [`LEADERS`] replicating a `C`, and the simulator's oracle of it.
pub struct Cluster<C: Model> {
    /// What it is (for messages).
    pub name: &'static str,
    /// The leaders and their links.
    pub net: Net<C>,
    /// The simulator's oracle of every acknowledged write.
    pub oracle: C::Oracle,
    /// Always empty: honest leaders never share a writer id.
    pub amb: Ambiguity,
    /// Each leader's kept snapshots, oldest first.
    pub snapshots: BTreeMap<u64, Vec<Vec<u8>>>,
    /// Each leader's restarts so far.
    pub restarts: BTreeMap<u64, u32>,
    /// Restores in this cluster so far (numbers the nonces).
    pub restores: u64,
    salt: u64,
    /// Each leader's process number (a new one per restart), for [`WriteMeta`].
    instance: BTreeMap<u64, u32>,
    /// Per leader and writer: how many of the writer's writes the leader's state was
    /// shown to hold (the session check resumes there).
    verified: BTreeMap<u64, BTreeMap<ReplicaId, usize>>,
    /// Per leader: its incarnation when last seen, and how often it changed since its
    /// last restart (once when its probe ends; again each time it is displaced).
    incarnation: BTreeMap<u64, (crdt_sync::Incarnation, u32)>,
    /// How often a restored leader took a new incarnation again because a newer one
    /// of it showed up (displacement: late messages of a crashed copy).
    pub displacements: u64,
    /// Acknowledged writes.
    pub writes: u64,
    /// Messages delivered during the actions (a measure of what an input exercised).
    pub delivered: u64,
}

impl<C: Model> Cluster<C> {
    fn new(name: &'static str, salt: u64) -> Self {
        let mut cluster = Self {
            name,
            net: Net::<C>::mesh(&LEADERS),
            oracle: C::Oracle::default(),
            amb: Ambiguity::default(),
            snapshots: BTreeMap::new(),
            restarts: BTreeMap::new(),
            restores: 0,
            salt,
            instance: BTreeMap::new(),
            verified: BTreeMap::new(),
            incarnation: BTreeMap::new(),
            displacements: 0,
            writes: 0,
            delivered: 0,
        };
        for (i, id) in LEADERS.into_iter().enumerate() {
            cluster.instance.insert(id, i as u32);
            cluster.snapshot(id);
        }
        cluster
    }

    /// Whether a replica-id conflict at `leader` is the documented outcome: more
    /// earlier incarnations (each of which may have left messages in flight that
    /// displace the current one) than a copy tolerates.
    fn conflict_allowed(&self, leader: u64) -> bool {
        self.restarts.get(&leader).copied().unwrap_or(0) > DISPLACEMENTS_MAX
    }

    /// A local write of `op` at `leader` whose wall clock reads `now_ms`, recorded by
    /// the oracle if acknowledged. A write refused because the leader waits for a
    /// snapshot gets one (as a real service persists before writing) and is retried
    /// once; a write refused while a restored leader probes is not acknowledged.
    fn write(&mut self, leader: u64, op: &C::Write, now_ms: u64) {
        for attempt in 0..2 {
            let l = self.net.leader(leader);
            let writer = l.writer_id();
            let pre = C::pre(op, l.state(), writer);
            let res = self.net.apply(leader, C::op(op, now_ms));
            match res {
                Ok(delta) => {
                    if delta.is_bottom() {
                        return;
                    }
                    self.writes += 1;
                    let meta = WriteMeta {
                        writer,
                        instance: self.instance[&leader],
                        now_ms,
                    };
                    let after = self.net.leaders[&rid(leader)].state();
                    if let Err(e) = self
                        .oracle
                        .record(&meta, op, &pre, &delta, after, &self.amb)
                    {
                        fail(self.name, format!("leader {leader}: write {op:?}: {e}"));
                    }
                    return;
                }
                Err(SyncError::CheckpointRequired) if attempt == 0 => self.snapshot(leader),
                Err(e @ SyncError::ReplicaIdConflict { .. }) => {
                    if !self.conflict_allowed(leader) {
                        fail(
                            self.name,
                            format!("leader {leader}: an honest cluster reports {e}"),
                        );
                    }
                    return;
                }
                Err(_) => return,
            }
        }
    }

    fn snapshot(&mut self, leader: u64) {
        let bytes = self.net.leader(leader).save();
        let kept = self.snapshots.entry(leader).or_default();
        kept.push(bytes);
        if kept.len() > SNAPSHOTS_KEPT {
            kept.remove(1);
        }
    }

    /// Crash and restart from the snapshot `back` before the last, with a nonce of its
    /// own; the restored leader's snapshot is persisted at once.
    fn restart(&mut self, leader: u64, back: u8) {
        let kept = &self.snapshots[&leader];
        let idx = kept.len() - 1 - usize::from(back) % kept.len();
        let n = nonce(self.salt, self.restores);
        self.restores += 1;
        let restored = Leader::<C>::restore_with_nonce(&kept[idx], Config::default(), n)
            .unwrap_or_else(|e| {
                fail(
                    self.name,
                    format!("leader {leader} cannot restore its own snapshot #{idx}: {e}"),
                )
            });
        self.incarnation.insert(leader, (restored.incarnation(), 0));
        self.net.leaders.insert(rid(leader), restored);
        *self.restarts.entry(leader).or_default() += 1;
        let next = self.instance.values().max().copied().unwrap_or(0) + 1;
        self.instance.insert(leader, next);
        self.verified.remove(&leader);
        let survivors: Vec<&C> = self.net.leaders.values().map(Leader::state).collect();
        self.oracle.mark_at_risk(&survivors);
        self.snapshot(leader);
    }

    fn packet(&self, k: u8) -> Option<usize> {
        let n = self.net.inflight.len();
        (n > 0).then(|| usize::from(k) % n)
    }

    fn network(&mut self, action: Action) {
        match action {
            Action::DeliverNext if !self.net.inflight.is_empty() => {
                self.net.deliver(0);
                self.delivered += 1;
            }
            Action::DeliverMany { n } => {
                for _ in 0..=n % 8 {
                    if self.net.inflight.is_empty() {
                        break;
                    }
                    self.net.deliver(0);
                    self.delivered += 1;
                }
            }
            Action::Deliver { packet } => {
                if let Some(i) = self.packet(packet) {
                    self.net.deliver(i);
                    self.delivered += 1;
                }
            }
            Action::Drop { packet } => {
                if let Some(i) = self.packet(packet) {
                    self.net.inflight.remove(i);
                }
            }
            Action::Duplicate { packet } => {
                if let Some(i) = self.packet(packet) {
                    let p = self.net.inflight[i].clone();
                    self.net.inflight.push(p);
                }
            }
            Action::Partition { a, b } => {
                let (a, b) = (leader(a), leader(b));
                if a != b {
                    self.net.partition(&[a], &[b]);
                }
            }
            Action::Heal { a, b } => {
                let (a, b) = (rid(leader(a)), rid(leader(b)));
                self.net.cut.remove(&(a, b));
                self.net.cut.remove(&(b, a));
            }
            Action::Tick => {
                for l in self.net.leaders.values_mut() {
                    l.tick();
                }
            }
            Action::Snapshot { leader: k } => self.snapshot(leader(k)),
            Action::Restart { leader: k, back } => {
                self.restart(leader(k), if back < 0xC0 { 0 } else { back % 4 });
            }
            _ => {}
        }
        self.net.flush();
    }

    /// Persists every leader that asks for it (`can_write` says `SnapshotRequired`), as
    /// a service does that snapshots whenever its leader needs one.
    fn persist_if_asked(&mut self) {
        for id in LEADERS {
            if matches!(
                self.net.leader(id).can_write(),
                Err(SyncError::CheckpointRequired)
            ) {
                self.snapshot(id);
            }
        }
    }

    /// The simulator's per-step checks of every leader: its state, its causal token
    /// (which names only writes its state holds), and no unexplained id conflict.
    fn check_exposed(&mut self) {
        for (&id, leader) in &self.net.leaders {
            let k = id.get();
            if leader.has_id_conflict() && !self.conflict_allowed(k) {
                fail(
                    self.name,
                    format!("leader {k} reports a replica-id conflict"),
                );
            }
            let inc = leader.incarnation();
            let seen = self.incarnation.entry(k).or_insert((inc, 0));
            if seen.0 != inc {
                assert!(inc > seen.0, "leader {k}'s incarnation went back");
                *seen = (inc, seen.1 + 1);
                if seen.1 > 1 {
                    self.displacements += 1;
                }
            }
            let state = leader.state();
            if let Err(e) = self.oracle.check_state(state, &self.amb) {
                fail(self.name, format!("leader {k}: {e}"));
            }
            let verified = self.verified.entry(k).or_default();
            for (w, n) in leader.causal_token().iter() {
                let have = self.oracle.writes_of(w);
                if n > have as u64 {
                    fail(
                        self.name,
                        format!(
                            "leader {k}'s causal token counts {n} writes of {w}, which made {have}"
                        ),
                    );
                }
                let v = verified.entry(w).or_insert(0);
                while (*v as u64) < n {
                    if let Err(e) = self.oracle.holds(w, *v, state, &self.amb) {
                        fail(
                            self.name,
                            format!(
                            "leader {k}'s causal token covers {n} writes of {w}, but its state {e}"
                        ),
                        );
                    }
                    *v += 1;
                }
            }
        }
    }

    /// Heals, runs until every leader holds the same state and causal token and no
    /// restored leader is still probing, and checks it; then the oracle's final check.
    /// Persists between waves when `persist` is set.
    fn settle(&mut self, persist: bool) {
        self.net.heal();
        let mut converged = false;
        for _round in 0..=SETTLE_ROUNDS {
            for _wave in 0..1000 {
                if persist {
                    self.persist_if_asked();
                }
                self.net.flush();
                if self.net.inflight.is_empty() {
                    break;
                }
                for p in self.net.take_inflight() {
                    self.net.deliver_packet(&p);
                }
                self.check_exposed();
            }
            let tokens: Vec<_> = self
                .net
                .leaders
                .values()
                .map(Leader::causal_token)
                .collect();
            let settled = LEADERS
                .iter()
                .all(|&id| match self.net.leader(id).can_write() {
                    Err(SyncError::Restoring) => false,
                    Err(SyncError::CheckpointRequired) => !persist,
                    _ => true,
                });
            if settled && self.net.converged() && tokens.windows(2).all(|w| w[0] == w[1]) {
                converged = true;
                break;
            }
            for l in self.net.leaders.values_mut() {
                l.tick();
            }
        }
        if !converged {
            let tokens: Vec<_> = self
                .net
                .leaders
                .iter()
                .map(|(id, l)| (id.get(), l.causal_token()))
                .collect();
            fail(
                self.name,
                format!(
                    "no convergence of states, tokens and incarnations within {SETTLE_ROUNDS} \
                 rounds after healing (states equal: {}; tokens {tokens:?}; can write: {:?})",
                    self.net.converged(),
                    LEADERS.map(|id| self.net.leader(id).can_write())
                ),
            );
        }
        if !self.net.errors.is_empty() {
            fail(
                self.name,
                format!("honest leaders rejected messages: {:?}", self.net.errors),
            );
        }
        for id in LEADERS {
            if persist {
                self.persist_if_asked();
            }
            match self.net.leader(id).can_write() {
                Ok(()) => {}
                // Not persisted on request: it waits for the operator's snapshot.
                Err(SyncError::CheckpointRequired) if !persist => {}
                Err(SyncError::ReplicaIdConflict { .. }) if self.conflict_allowed(id) => {}
                Err(e) => fail(
                    self.name,
                    format!("leader {id} refuses writes after settling: {e}"),
                ),
            }
        }
        self.check_exposed();
        for (id, l) in &self.net.leaders {
            if let Err(e) = self.oracle.check_final(l.state(), &self.amb) {
                fail(self.name, format!("leader {}: final state: {e}", id.get()));
            }
        }
    }

    /// The oracle's final check of `state`, as [`World::finish`] runs it on each
    /// leader (for tests that the checks are not vacuous).
    ///
    /// # Errors
    /// What the oracle finds wrong.
    pub fn check_final(&self, state: &C) -> Result<(), String> {
        self.oracle.check_final(state, &self.amb)
    }

    /// The state of the first leader.
    ///
    /// # Panics
    /// Never: a cluster has leaders.
    #[must_use]
    pub fn state(&self) -> &C {
        self.net
            .leaders
            .values()
            .next()
            .expect("a cluster has leaders")
            .state()
    }
}

fn fail(cluster: &str, what: String) -> ! {
    panic!("{cluster} cluster: {what}")
}

fn leader(k: u8) -> u64 {
    LEADERS[usize::from(k) % LEADERS.len()]
}

/// The three clusters under one sequence of actions.
pub struct World {
    /// The OR-Set cluster.
    pub set: Cluster<OrSet<u64>>,
    /// The PN-counter cluster.
    pub counter: Cluster<PnCounter>,
    /// The LWW-register cluster.
    pub register: Cluster<LwwRegister<String>>,
    /// Whether leaders are persisted whenever they ask (`can_write` says
    /// `SnapshotRequired`), after every action and between delivery waves. Otherwise
    /// only by `Snapshot` actions, right after a restart, and before a write.
    pub persist_when_asked: bool,
    /// Actions applied (the model clock: 10 ms each).
    pub steps: u64,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// Fresh, fully meshed clusters, each leader's first snapshot taken.
    #[must_use]
    pub fn new() -> Self {
        Self {
            set: Cluster::new("OR-Set", 1),
            counter: Cluster::new("PN-counter", 2),
            register: Cluster::new("LWW register", 3),
            persist_when_asked: true,
            steps: 0,
        }
    }

    /// Applies one action, then the per-step checks.
    ///
    /// # Panics
    /// On any violated property.
    pub fn apply(&mut self, action: Action) {
        self.steps += 1;
        let now = 1_000 + 10 * self.steps;
        match action {
            Action::Insert { leader: k, value } => {
                let op = SetOp::Insert(u64::from(value) % VALUES);
                self.set.write(leader(k), &op, now);
                self.set.net.flush();
            }
            Action::Remove { leader: k, value } => {
                let op = SetOp::Remove(u64::from(value) % VALUES);
                self.set.write(leader(k), &op, now);
                self.set.net.flush();
            }
            Action::Clear { leader: k } => {
                self.set.write(leader(k), &SetOp::Clear, now);
                self.set.net.flush();
            }
            Action::Increment { leader: k, by } => {
                let op = CounterOp::Inc(u64::from(by));
                self.counter.write(leader(k), &op, now);
                self.counter.net.flush();
            }
            Action::Decrement { leader: k, by } => {
                let op = CounterOp::Dec(u64::from(by));
                self.counter.write(leader(k), &op, now);
                self.counter.net.flush();
            }
            Action::Assign {
                leader: k,
                value,
                skew,
            } => {
                let op = LwwWrite(format!("v{}", u64::from(value) % VALUES));
                let at = now.saturating_add_signed(i64::from(skew));
                self.register.write(leader(k), &op, at);
                self.register.net.flush();
            }
            _ => {
                self.set.network(action);
                self.counter.network(action);
                self.register.network(action);
            }
        }
        if self.persist_when_asked {
            self.set.persist_if_asked();
            self.counter.persist_if_asked();
            self.register.persist_if_asked();
        }
        self.set.check_exposed();
        self.counter.check_exposed();
        self.register.check_exposed();
    }

    /// Heals everything, settles every cluster and runs the oracles' final checks.
    ///
    /// # Panics
    /// On non-convergence or an oracle mismatch.
    pub fn finish(&mut self) {
        self.set.settle(self.persist_when_asked);
        self.counter.settle(self.persist_when_asked);
        self.register.settle(self.persist_when_asked);
    }
}

/// Runs `actions` (at most [`MAX_ACTIONS`]) then [`World::finish`], persisting leaders
/// whenever they ask. Returns the world.
///
/// # Panics
/// On any violated property.
pub fn run_actions(actions: &[Action]) -> World {
    run_actions_with(actions, true)
}

/// [`run_actions`] with an explicit [`World::persist_when_asked`].
///
/// # Panics
/// On any violated property.
pub fn run_actions_with(actions: &[Action], persist_when_asked: bool) -> World {
    let mut world = World::new();
    world.persist_when_asked = persist_when_asked;
    for a in actions.iter().take(MAX_ACTIONS) {
        world.apply(*a);
    }
    world.finish();
    world
}

/// The `ops_model` driver.
pub fn run(data: &[u8]) {
    let _ = run_actions(&parse(data));
}
