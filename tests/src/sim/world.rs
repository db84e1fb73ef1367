//! The simulated world: processes running leaders, a network with delivery times, an
//! event loop over virtual time, and the two phases of a run.
//!
//! **Safety phase**: for `Params::safety_events` events, leaders write, tick, snapshot
//! and exchange messages while faults strike (see [`super::faults`]); every state a
//! leader exposes is checked as it changes. The operator follows each leader's
//! `can_write()` (`World::observe`): a restored leader probes (`Restoring`), then
//! waits for a snapshot of its new incarnation (`SnapshotRequired`), which the
//! operator persists after a short delay (a crash may strike in between). **Liveness phase**: every fault heals
//! (partitions end, crashed leaders restart, loss/duplication/corruption stop), writes
//! stop, and the cluster must quiesce within [`LIVENESS_ROUNDS`] rounds; then the
//! final state is checked against the oracle.

use super::checker::{conflict_verdict, Running, Violation, LIVENESS_ROUNDS};
use super::clock::Clock;
use super::faults::{corruption, partition};
use super::oracle::{Ambiguity, Oracle, WriteMeta};
use super::params::Params;
use super::rng::Rng;
use super::trace::{Corruption, Event, Header, Mismatch, MsgId, Trace};
use super::workload::{Model, OpGen};
use super::Options;
use crate::SaveExt;
use crdt_core::codec::encode;
use crdt_core::ReplicaId;
use crdt_sync::{Incarnation, Leader, SyncError};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

/// Counters of what happened in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events processed (deliveries, ticks, writes, snapshots, restarts, chaos steps),
    /// both phases.
    pub events: u64,
    /// Events of the safety phase.
    pub safety_events: u64,
    /// Messages sent.
    pub messages: u64,
    /// Messages delivered to a running leader.
    pub delivered: u64,
    /// Lost by the loss fault.
    pub lost: u64,
    /// Extra copies made by the duplication fault.
    pub duplicated: u64,
    /// Delivered late by the reorder fault.
    pub reordered: u64,
    /// Lost to a partition.
    pub partitioned: u64,
    /// Addressed to a crashed leader, or to nobody reachable.
    pub undeliverable: u64,
    /// Malformed corruptions delivered (and rejected).
    pub corrupt_rejected: u64,
    /// Well-formed corruptions dropped by the link checksum.
    pub corrupt_filtered: u64,
    /// Acknowledged writes (non-empty delta).
    pub writes: u64,
    /// Writes that changed nothing (empty delta).
    pub noop_writes: u64,
    /// Writes refused because of a detected id conflict.
    pub refused_writes: u64,
    /// Partitions started.
    pub partitions: u64,
    /// Crashes (restart from the last snapshot).
    pub crashes: u64,
    /// Amnesia crashes (restart from an older snapshot).
    pub amnesias: u64,
    /// Disk losses (restart empty under the old id).
    pub wipes: u64,
    /// Peers removed from a running leader (and added back later).
    pub unlinks: u64,
    /// Restored leaders (or displaced ones) that finished their probe and took a
    /// fresh incarnation.
    pub probes: u64,
    /// Probes of those that ended after `Config::probe_timeout_ticks` ticks with the
    /// answers at hand (a peer had not answered: down, cut off, or never reachable).
    pub probe_timeouts: u64,
    /// Displacements: a restored leader told that a newer incarnation of it exists,
    /// which then probed again.
    pub displacements: u64,
    /// Writes refused while a restored leader probed (`Restoring`) or had not
    /// persisted its new incarnation yet (`SnapshotRequired`).
    pub waiting_writes: u64,
    /// Shared-id processes started.
    pub twins: u64,
    /// Clock steps.
    pub clock_steps: u64,
    /// `ReplicaIdConflict` errors returned.
    pub conflicts: u64,
    /// Conflicted leaders retired by the operator.
    pub retired: u64,
    /// Other receive errors (unknown peer, protocol violations by a shared id).
    pub receive_errors: u64,
    /// Acknowledged writes, and how many of their facts ended at risk.
    pub oracle_writes: usize,
    /// See `oracle_writes`.
    pub at_risk: usize,
    /// Liveness rounds until quiescent.
    pub liveness_rounds: u64,
    /// Sum over the final leaders of `Metrics::gaps`.
    pub gaps: u64,
    /// Sum over the final leaders of `Metrics::repairs_sent`.
    pub repairs: u64,
    /// Sum over the final leaders of `Metrics::buffer_overflows`.
    pub overflows: u64,
    /// States damaged (an OR-Set element lost without a trace in the context).
    pub damages: u64,
    /// Sum over the final leaders of `Metrics::divergences` (digests that found equal
    /// summaries with different state hashes).
    pub divergences: u64,
    /// Messages delivered to a leader other than their addressee.
    pub misdelivered: u64,
    /// ... of which rejected with `SyncError::Misdelivered`, or as `Corrupt` from version 4 (whose checksum covers the receiver; the others: `UnknownPeer`,
    /// the receiver does not list the sender).
    pub misdelivered_rejected: u64,
}

#[derive(Debug)]
enum Ev {
    Deliver {
        to: usize,
        id: MsgId,
        /// As it arrives (corrupted if `corruption` says so).
        payload: Vec<u8>,
        corruption: Option<Corruption>,
        /// Sent to `to` although addressed to another leader.
        misdelivered: bool,
    },
    Tick(usize, u32),
    Write(usize, u32),
    Snapshot(usize, u32),
    Restart(usize, u32),
    /// A restarted leader crashes again (a crash loop).
    Flap(usize, u32),
    /// The operator persists the snapshot a restored leader asks for.
    Persist(usize, u32),
    /// A process adds back a peer it removed (`unlink`), if still in the same epoch.
    Relink(usize, usize, u32),
    Chaos,
    Heal,
}

#[derive(Debug)]
struct Scheduled {
    time: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

#[derive(Debug, Clone)]
struct Snap {
    bytes: Vec<u8>,
    inc: Incarnation,
}

/// What a leader's `can_write()` says, as the operator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Writes are accepted.
    Writable,
    /// Restored (or displaced): asking its peers which incarnations of it they saw.
    Probing,
    /// Probe over: waiting for the operator to persist a snapshot of the new
    /// incarnation.
    Unpersisted,
    /// It reported a replica id conflict and refuses writes for good.
    Conflicted,
}

fn phase_of<C: Model>(l: &Leader<C>) -> Result<Phase, SyncError> {
    match l.can_write() {
        Ok(()) => Ok(Phase::Writable),
        Err(SyncError::Restoring) => Ok(Phase::Probing),
        Err(SyncError::CheckpointRequired) => Ok(Phase::Unpersisted),
        Err(SyncError::ReplicaIdConflict { .. }) => Ok(Phase::Conflicted),
        Err(e) => Err(e),
    }
}

struct Proc<C: Model> {
    id: ReplicaId,
    lineage: usize,
    instance: u32,
    /// `None` once retired (or never again).
    leader: Option<Leader<C>>,
    up: bool,
    epoch: u32,
    neighbours: Vec<usize>,
    clock: Clock,
    /// Per writer, how many of its writes this leader's token was verified to back.
    verified: BTreeMap<ReplicaId, usize>,
    twin: bool,
    /// The phase last observed (see `World::observe`).
    phase: Phase,
    /// The incarnation last observed (while probing: the one it had before).
    inc: Incarnation,
    /// A `Persist` event is scheduled.
    persist_due: bool,
    /// The leader object came from `restore_with_nonce` (not `Leader::new`).
    restored: bool,
    /// Displacements of this leader object.
    displacements: u32,
    /// Its probes that ended by timeout, as of the last probe that ended
    /// (`Metrics::probes_timed_out`).
    probe_timeouts: u64,
    /// The sim's mirror of what this leader knows of each peer's incarnation (the
    /// newest incarnation of a non-probe message it accepted since it last forgot its
    /// peers), and how often it forgot them (restore, displacement).
    known: BTreeMap<ReplicaId, Incarnation>,
    forgot: u32,
    /// At the start of its current probe: per running neighbour, that neighbour's
    /// `forgot` count and what it knew of this leader's incarnation then.
    floor: Vec<(usize, u32, Incarnation)>,
    /// Messages this process handed to the network (they are named `p#0`, `p#1`...).
    sent: u64,
}

/// A message on its way: its name, the processes it may reach (its addressee; every
/// process behind the address while replaying, where the trace says which one), and
/// its bytes as sent.
#[derive(Debug, Clone)]
struct Sent {
    id: MsgId,
    cands: Vec<usize>,
    payload: Vec<u8>,
}

/// A trace being replayed.
struct Replay {
    events: Vec<Event>,
    /// The next event.
    pos: usize,
    /// Skip the events that do not apply (the shrinker's mode) instead of failing.
    lenient: bool,
    /// The trace's line of event 0.
    first_line: usize,
    /// Events skipped (lenient).
    skipped: usize,
    /// Every message sent so far, by name.
    sent: BTreeMap<MsgId, Sent>,
    /// Nonces made up where the trace had none (lenient, or past its end).
    made_up: u64,
}

impl<C: Model> Proc<C> {
    fn new(id: ReplicaId, lineage: usize, instance: u32, leader: Leader<C>, clock: Clock) -> Self {
        let phase = phase_of(&leader).unwrap_or(Phase::Writable);
        let inc = leader.incarnation();
        Proc {
            id,
            lineage,
            instance,
            leader: Some(leader),
            up: true,
            epoch: 0,
            neighbours: Vec::new(),
            clock,
            verified: BTreeMap::new(),
            twin: false,
            phase,
            inc,
            persist_due: false,
            restored: false,
            displacements: 0,
            probe_timeouts: 0,
            known: BTreeMap::new(),
            forgot: 0,
            floor: Vec::new(),
            sent: 0,
        }
    }

    fn running(&self) -> Option<&Leader<C>> {
        self.leader.as_ref().filter(|_| self.up)
    }
}

/// Snapshots kept per leader (the oldest is always kept, for amnesia).
const SNAPSHOTS_KEPT: usize = 6;
/// Deep checks: one leader every this many events.
const DEEP_EVERY: u64 = 64;
/// Messages one liveness round may deliver before it counts as a storm.
const ROUND_MESSAGES_MAX: usize = 200_000;

/// One run of one seed.
pub struct World<C: Model> {
    p: Params,
    rng: Rng,
    wrng: Rng,
    frng: Rng,
    gen: OpGen,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    /// Liveness: the messages of the current round.
    pending: Vec<Sent>,
    procs: Vec<Proc<C>>,
    lineages: Vec<Vec<Snap>>,
    /// Ids a second process (the twin) was started under.
    twinned: BTreeSet<ReplicaId>,
    /// Ids on which some process reported a conflict.
    detected_ids: BTreeSet<ReplicaId>,
    /// Ids that two processes answer to behind one address (a leader adjacent to both).
    confused: BTreeSet<ReplicaId>,
    /// Lineages that ran under a shared id or writer id (see `exempt`).
    tainted: BTreeSet<usize>,
    /// Whether a twin may be attached to a neighbour of its original.
    twin_same_address: bool,
    /// Skip the restart check (to show the data checks catch a reused writer id).
    lenient_restart: bool,
    /// With `Options::lazy_links`: the eager links (`a < b`), a spanning tree of the
    /// seed's topology less one link (see `eager_links`); every other link is lazy at
    /// both ends.
    eager: Option<BTreeSet<(usize, usize)>>,
    cut: BTreeSet<(usize, usize)>,
    partitioned: bool,
    oracle: C::Oracle,
    amb: Ambiguity,
    /// Writer id -> the processes (leader objects) that wrote, or could write, under it.
    writers: BTreeMap<ReplicaId, BTreeSet<u32>>,
    /// Writer id -> the processes that made an acknowledged write under it.
    wrote: BTreeMap<ReplicaId, BTreeSet<u32>>,
    /// Writer ids on which a conflict was detected.
    detected: BTreeSet<ReplicaId>,
    next_instance: u32,
    next_fresh_id: u64,
    chaos_steps: u64,
    twin_at: u64,
    twin_started: bool,
    liveness: bool,
    /// What happened, for the report.
    pub stats: Stats,
    /// The first failed check.
    pub violation: Option<Violation>,
    /// Explanations (shared ids, undetectable conflicts).
    pub notes: Vec<String>,
    trace: Option<(usize, VecDeque<String>)>,
    /// Replaying a trace (nothing is drawn from a generator), or `None`: running a seed.
    replay: Option<Replay>,
    /// The events of the run so far, if recording.
    recorded: Option<Vec<Event>>,
    /// Events that did something (deep checks run every `DEEP_EVERY` of them).
    steps: u64,
}

impl<C: Model> World<C> {
    /// A world for `p`, drawing everything else from `rng` (recording its events if
    /// `opts.record`).
    pub fn new(p: Params, rng: Rng, opts: &Options) -> Self {
        Self::build(p, Some(rng), opts, None)
    }

    /// A world that replays `trace` (recording what it does if `opts.record`): strictly
    /// (every event must apply, or the replay panics with a [`Mismatch`]) or, if
    /// `lenient`, skipping the events that do not apply. Nothing is drawn from a
    /// generator.
    pub fn replaying(trace: &Trace, lenient: bool, opts: &Options) -> Self {
        let opts = Options {
            lenient_restart: trace.header.lenient_restart,
            lazy_links: false,
            twin_same_address: false,
            ..opts.clone()
        };
        let replay = Replay {
            events: trace.events.clone(),
            pos: 0,
            lenient,
            first_line: trace.line_of(0),
            skipped: 0,
            sent: BTreeMap::new(),
            made_up: 0,
        };
        let mut w = Self::build(
            Params::from_header(&trace.header),
            None,
            &opts,
            Some(replay),
        );
        w.eager = trace
            .header
            .eager_links
            .as_ref()
            .map(|links| links.iter().map(|&(a, b)| (a.min(b), a.max(b))).collect());
        w
    }

    /// The header of a trace of this run.
    #[must_use]
    pub fn header(&self) -> Header {
        Header {
            kind: self.p.kind,
            leaders: self.p.topology.leaders,
            edges: self.p.topology.edges.clone(),
            message_bytes_max: self.p.config.message_bytes_max,
            buffer_bytes_max: self.p.config.buffer_bytes_max,
            digest_interval_ticks: self.p.config.digest_interval_ticks,
            tick_ms: self.p.tick_ms,
            nonces: self.first_nonce(),
            lenient_restart: self.lenient_restart,
            eager_links: self.eager.as_ref().map(|e| e.iter().copied().collect()),
        }
    }

    /// The events recorded (empty unless recording).
    pub fn take_recorded(&mut self) -> Vec<Event> {
        self.recorded.take().unwrap_or_default()
    }

    /// Events a lenient replay skipped.
    #[must_use]
    pub fn skipped(&self) -> usize {
        self.replay.as_ref().map_or(0, |r| r.skipped)
    }

    /// A digest of every process's final state (and whether it runs).
    #[must_use]
    pub fn digest(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        for p in &self.procs {
            match &p.leader {
                Some(l) => {
                    eat(&[1, u8::from(p.up)]);
                    eat(&encode(l.state()));
                    eat(&l.incarnation().to_u64().to_le_bytes());
                }
                None => eat(&[0]),
            }
        }
        h
    }

    fn build(p: Params, rng: Option<Rng>, opts: &Options, replay: Option<Replay>) -> Self {
        let trace = opts.trace;
        let seeded = rng.is_some();
        let mut rng = rng.unwrap_or_else(Rng::none);
        let (wrng, mut frng) = if seeded {
            (rng.fork(), rng.fork())
        } else {
            (Rng::none(), Rng::none())
        };
        let n = p.topology.leaders;
        let twin_at = if seeded { frng.range(2, 30) } else { 0 };
        let mut w = World {
            rng,
            wrng,
            frng,
            gen: OpGen::default(),
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            pending: Vec::new(),
            procs: Vec::new(),
            lineages: Vec::new(),
            twinned: BTreeSet::new(),
            detected_ids: BTreeSet::new(),
            confused: BTreeSet::new(),
            tainted: BTreeSet::new(),
            twin_same_address: opts.twin_same_address,
            lenient_restart: opts.lenient_restart,
            eager: opts.lazy_links.then(|| eager_links(&p.topology, p.seed)),
            cut: BTreeSet::new(),
            partitioned: false,
            oracle: C::Oracle::default(),
            amb: Ambiguity::default(),
            writers: BTreeMap::new(),
            wrote: BTreeMap::new(),
            detected: BTreeSet::new(),
            next_instance: 0,
            next_fresh_id: 1_000,
            chaos_steps: 0,
            twin_at,
            twin_started: false,
            liveness: false,
            stats: Stats::default(),
            violation: None,
            notes: Vec::new(),
            trace: (trace > 0).then(|| (trace, VecDeque::new())),
            p,
            replay,
            recorded: opts.record.then(Vec::new),
            steps: 0,
        };
        for i in 0..n {
            let id = ReplicaId::new(i as u64 + 1);
            let mut leader = w.new_leader(id);
            let neighbours = w.p.topology.neighbours(i);
            for &m in &neighbours {
                leader
                    .add_peer(ReplicaId::new(m as u64 + 1))
                    .expect("peers within limits");
            }
            let clock = w.draw_clock();
            let instance = w.new_instance(Some(leader.writer_id()));
            let mut pr = Proc::new(id, i, instance, leader, clock);
            pr.neighbours = neighbours;
            w.procs.push(pr);
            w.lineages.push(Vec::new());
            w.take_snapshot(i);
            w.start_timers(i);
        }
        if seeded {
            w.schedule(w.p.nodes.chaos_ms, Ev::Chaos);
        }
        w
    }

    /// Runs both phases (stops at the first violation).
    ///
    /// # Panics
    /// With a [`Mismatch`] if a strict replay meets an event that does not apply.
    pub fn run(&mut self) {
        let inflight = if self.replay.is_some() {
            self.replay_safety()
        } else {
            while self.stats.events < self.p.safety_events && self.violation.is_none() {
                let Some(Reverse(s)) = self.queue.pop() else {
                    break;
                };
                self.now = self.now.max(s.time);
                self.stats.events += 1;
                self.handle(s.ev);
            }
            Vec::new()
        };
        self.stats.safety_events = self.stats.events;
        if self.violation.is_none() {
            self.liveness(inflight);
        }
        if let Some(r) = &self.replay {
            if !r.lenient && self.violation.is_none() && r.pos < r.events.len() {
                let (i, e) = (r.pos, r.events[r.pos].clone());
                self.mismatch(i, &e, "the run is over, yet the trace goes on");
            }
        }
        let (w, r) = self.oracle.totals();
        self.stats.oracle_writes = w;
        self.stats.at_risk = r;
        for p in &self.procs {
            if let Some(l) = p.running() {
                let m = l.metrics();
                self.stats.gaps += m.gaps;
                self.stats.repairs += m.repairs_sent;
                self.stats.overflows += m.buffer_overflows;
                self.stats.divergences += m.divergences;
            }
        }
    }

    /// The last events (if tracing).
    #[must_use]
    pub fn trace(&self) -> Vec<String> {
        self.trace
            .as_ref()
            .map(|(_, t)| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn log(&mut self, f: impl FnOnce() -> String) {
        if let Some((cap, t)) = &mut self.trace {
            if t.len() == *cap {
                t.pop_front();
            }
            t.push_back(format!("#{} t={} {}", self.stats.events, self.now, f()));
        }
    }

    fn fail(&mut self, check: &'static str, detail: String) {
        if self.violation.is_none() {
            self.log(|| format!("VIOLATION [{check}] {detail}"));
            self.violation = Some(Violation {
                check,
                event: self.stats.events,
                time: self.now,
                detail,
            });
        }
    }

    fn schedule(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            time: at,
            seq: self.seq,
            ev,
        }));
    }

    /// A number for a new leader object, holding `writer` (a restored one gets its
    /// writer id only when its probe is over).
    /// Whether leaders start with a nonce of their own (`Leader::with_nonce`):
    /// drawn per seed, always with `--twin-same-address`.
    fn first_nonce(&self) -> bool {
        self.p.nodes.first_nonce || self.twin_same_address
    }

    /// A new, empty leader under `id`, with a nonce from the seed's generator (or the
    /// trace's `nonce` line; see [`World::first_nonce`]).
    fn new_leader(&mut self, id: ReplicaId) -> Leader<C> {
        let nonce = if self.replay.is_some() {
            let taken = if self.first_nonce() {
                self.take("a `nonce` line", |e| match e {
                    Event::Nonce(n) => Some(*n).filter(|n| *n > 0),
                    _ => None,
                })
            } else {
                None
            };
            taken.unwrap_or_else(|| self.made_up_nonce())
        } else {
            self.frng.u64().max(1)
        };
        if self.first_nonce() {
            self.record(Event::Nonce(nonce));
        }
        Leader::with_nonce(id, C::default(), self.p.config.clone(), nonce)
    }

    fn new_instance(&mut self, writer: Option<ReplicaId>) -> u32 {
        let i = self.next_instance;
        self.next_instance += 1;
        if let Some(w) = writer {
            self.writers.entry(w).or_default().insert(i);
        }
        i
    }

    fn start_timers(&mut self, p: usize) {
        if self.replay.is_some() {
            return;
        }
        let e = self.procs[p].epoch;
        let t = self.now;
        let tick = self.rng.range(1, self.p.tick_ms);
        let write = self.rng.range(1, 2 * self.p.workload.write_gap_ms);
        let snap = self.rng.range(1, self.p.nodes.snapshot_ms);
        self.schedule(t + tick, Ev::Tick(p, e));
        self.schedule(t + write, Ev::Write(p, e));
        self.schedule(t + snap, Ev::Snapshot(p, e));
    }

    fn timer_valid(&self, p: usize, e: u32) -> bool {
        let pr = &self.procs[p];
        pr.epoch == e && pr.up && pr.leader.is_some()
    }

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Deliver {
                to,
                id,
                payload,
                corruption,
                misdelivered,
            } => {
                self.record(Event::Deliver {
                    msg: id,
                    to,
                    misdelivered,
                    corruption: corruption.clone(),
                });
                self.arrive(to, id.from, &payload, corruption.is_some(), misdelivered);
                self.stepped();
            }
            Ev::Tick(p, e) if self.timer_valid(p, e) => {
                self.record(Event::Tick(p));
                self.tick(p);
                let next = self.now
                    + self
                        .rng
                        .range(self.p.tick_ms / 2 + 1, self.p.tick_ms * 3 / 2);
                self.schedule(next, Ev::Tick(p, e));
                self.stepped();
            }
            Ev::Write(p, e) if self.timer_valid(p, e) => {
                let now_ms = self.procs[p].clock.read(self.now);
                if let Some(leader) = self.procs[p].leader.as_ref() {
                    let op = C::draw(
                        &mut self.gen,
                        &mut self.wrng,
                        &self.p.workload,
                        leader.state(),
                    );
                    self.record(Event::Write {
                        p,
                        ms: now_ms,
                        op: C::write_text(&op),
                    });
                    self.write(p, &op, now_ms);
                }
                let next = self.now + self.rng.range(1, 2 * self.p.workload.write_gap_ms);
                self.schedule(next, Ev::Write(p, e));
                self.stepped();
            }
            Ev::Snapshot(p, e) if self.timer_valid(p, e) => {
                self.record(Event::Snapshot(p));
                self.take_snapshot(p);
                self.observe(p);
                let next = self.now
                    + self.rng.range(
                        self.p.nodes.snapshot_ms / 2 + 1,
                        self.p.nodes.snapshot_ms * 3 / 2,
                    );
                self.schedule(next, Ev::Snapshot(p, e));
                self.stepped();
            }
            Ev::Restart(p, e) => {
                if self.procs[p].epoch == e && !self.procs[p].up && self.procs[p].leader.is_some() {
                    self.record(Event::Restart(p));
                    self.restart(p, true);
                    self.stepped();
                }
            }
            Ev::Flap(p, e) => {
                if self.timer_valid(p, e) && !self.procs[p].twin && !self.liveness {
                    let amnesia = self.lineages[self.procs[p].lineage].len() >= 2
                        && self.frng.chance(self.p.nodes.amnesia.saturating_mul(10));
                    self.log(|| format!("FLAP {p}"));
                    self.crash(p, amnesia);
                    self.stepped();
                }
            }
            Ev::Persist(p, e) => {
                if self.procs[p].epoch == e {
                    self.record(Event::Persist(p));
                    self.persist(p);
                    self.stepped();
                }
            }
            Ev::Relink(p, q, e) => {
                if self.procs[p].epoch == e && self.procs[p].leader.is_some() {
                    self.record(Event::Link { p, q });
                    self.link_at(p, q);
                    self.stepped();
                }
            }
            Ev::Chaos => {
                self.chaos();
                let next = self.now + self.p.nodes.chaos_ms;
                self.schedule(next, Ev::Chaos);
            }
            Ev::Heal => {
                self.record(Event::Heal);
                self.heal();
                self.stepped();
            }
            Ev::Tick(..) | Ev::Write(..) | Ev::Snapshot(..) => {}
        }
    }

    fn tick(&mut self, p: usize) {
        self.set_push_modes(p);
        if let Some(l) = self.procs[p].leader.as_mut() {
            l.tick();
        }
        // A tick ends a probe that waited `Config::probe_timeout_ticks` ticks.
        self.observe(p);
        self.drain(p);
    }

    /// With lazy links: process `p`'s leader pushes only along the spanning tree.
    /// Applied at every tick, so peers added by any path (restarts, restores, links
    /// added back) get their mode within a tick.
    fn set_push_modes(&mut self, p: usize) {
        let Some(eager) = &self.eager else {
            return;
        };
        let n = self.p.topology.leaders;
        let node = |id: ReplicaId| usize::try_from(id.get() - 1).ok().filter(|&i| i < n);
        let me = node(self.procs[p].id);
        let Some(l) = self.procs[p].leader.as_mut() else {
            return;
        };
        let peers: Vec<ReplicaId> = l.peers().collect();
        for q in peers {
            let lazy = match (me, node(q)) {
                (Some(a), Some(b)) => !eager.contains(&(a.min(b), a.max(b))),
                _ => false,
            };
            if l.peer_is_lazy(q) != Some(lazy) {
                let _ = l.set_peer_lazy(q, lazy);
            }
        }
    }

    fn persist(&mut self, p: usize) {
        self.procs[p].persist_due = false;
        if self.procs[p].running().is_some() && self.procs[p].phase == Phase::Unpersisted {
            self.take_snapshot(p);
            self.log(|| format!("persist {p}"));
            self.observe(p);
        }
    }

    fn heal(&mut self) {
        self.cut.clear();
        self.partitioned = false;
        self.log(|| "partition heals".to_string());
    }

    fn arrive(
        &mut self,
        to: usize,
        from: usize,
        payload: &[u8],
        corrupted: bool,
        misdelivered: bool,
    ) {
        if misdelivered && !corrupted {
            self.deliver_misdelivered(to, from, payload);
        } else {
            self.deliver(to, from, payload, corrupted);
        }
    }

    /// An event that did something is over: every `DEEP_EVERY` of them, a deep check.
    fn stepped(&mut self) {
        self.steps += 1;
        if self.steps % DEEP_EVERY == 0 {
            let p = (self.steps / DEEP_EVERY) as usize % self.procs.len();
            self.check_deep(p);
        }
    }

    fn record(&mut self, e: Event) {
        if let Some(r) = &mut self.recorded {
            r.push(e);
        }
    }

    fn draw_clock(&mut self) -> Clock {
        if self.replay.is_some() {
            Clock::unread()
        } else {
            Clock::draw(&mut self.frng, &self.p.clocks)
        }
    }

    fn made_up_nonce(&mut self) -> u64 {
        let r = self.replay.as_mut().expect("replaying");
        r.made_up += 1;
        0x5eed_0000 + r.made_up
    }

    // ----------------------------------------------------------------------------
    // Replay

    /// Stops a strict replay: event `i` does not apply.
    fn mismatch(&self, i: usize, e: &Event, why: &str) -> ! {
        let line = self.replay.as_ref().map_or(0, |r| r.first_line + i);
        std::panic::panic_any(Mismatch(format!("line {line} (`{e}`): {why}")))
    }

    /// The next event if `want` takes it (`what` names what was wanted). A strict
    /// replay fails on any other event; a lenient one skips the events `want` does not
    /// take unless they could be the next decision's (`Round`, `Nonce`, `Liveness`:
    /// then `None`, the default choice). `None` past the trace's end.
    fn take<T>(&mut self, what: &str, want: impl Fn(&Event) -> Option<T>) -> Option<T> {
        loop {
            let r = self.replay.as_mut()?;
            let e = r.events.get(r.pos)?;
            if let Some(t) = want(e) {
                r.pos += 1;
                return Some(t);
            }
            if !r.lenient {
                let (i, e) = (r.pos, e.clone());
                self.mismatch(i, &e, &format!("expected {what}"));
            }
            if matches!(e, Event::Round(_) | Event::Nonce(_) | Event::Liveness(_)) {
                return None;
            }
            r.pos += 1;
            r.skipped += 1;
        }
    }

    /// Replays the safety phase; returns the messages in flight at its end.
    fn replay_safety(&mut self) -> Vec<(MsgId, usize)> {
        while self.violation.is_none() {
            let Some(r) = self.replay.as_mut() else {
                break;
            };
            let Some(e) = r.events.get(r.pos).cloned() else {
                break;
            };
            let i = r.pos;
            r.pos += 1;
            if let Event::Liveness(inflight) = e {
                return inflight;
            }
            match self.check_event(&e) {
                Ok(()) => {
                    self.record(e.clone());
                    self.stats.events += 1;
                    self.apply(e);
                    self.stepped();
                }
                Err(why) => {
                    if self.replay.as_ref().is_some_and(|r| r.lenient) {
                        if let Some(r) = self.replay.as_mut() {
                            r.skipped += 1;
                        }
                    } else {
                        self.mismatch(i, &e, &why);
                    }
                }
            }
        }
        // The trace ended (or failed) before the liveness phase: nothing in flight.
        Vec::new()
    }

    fn proc_ok(&self, p: usize) -> Result<(), String> {
        if p < self.procs.len() {
            Ok(())
        } else {
            Err(format!(
                "there is no process {p} (only {})",
                self.procs.len()
            ))
        }
    }

    fn running_ok(&self, p: usize) -> Result<(), String> {
        self.proc_ok(p)?;
        if self.procs[p].running().is_some() {
            Ok(())
        } else {
            Err(format!("process {p} is not running"))
        }
    }

    /// Whether a safety-phase event applies to the world as it is (`Err`: why not).
    fn check_event(&self, e: &Event) -> Result<(), String> {
        match e {
            Event::Tick(p) | Event::Snapshot(p) => self.running_ok(*p),
            Event::Write { p, op, .. } => {
                self.running_ok(*p)?;
                C::parse_write(op).map(drop)
            }
            Event::Persist(p) => {
                self.proc_ok(*p)?;
                if self.procs[*p].persist_due {
                    Ok(())
                } else {
                    Err(format!("process {p} has no snapshot to persist"))
                }
            }
            Event::Crash { p, snap, .. } => {
                self.running_ok(*p)?;
                let have = self.lineages[self.procs[*p].lineage].len();
                if *snap < have {
                    Ok(())
                } else {
                    Err(format!("process {p}'s lineage has {have} snapshots"))
                }
            }
            Event::Wipe { p, .. } => {
                self.running_ok(*p)?;
                if self.procs[*p].twin {
                    Err(format!("process {p} is a twin"))
                } else {
                    Ok(())
                }
            }
            Event::Unlink { p, q } | Event::Link { p, q } => {
                self.proc_ok(*q)?;
                if matches!(e, Event::Unlink { .. }) {
                    self.running_ok(*p)?;
                } else {
                    self.proc_ok(*p)?;
                }
                if self.procs[*p].neighbours.contains(q) {
                    Ok(())
                } else {
                    Err(format!("process {q} is no configured peer of {p}"))
                }
            }
            Event::Restart(p) => {
                self.proc_ok(*p)?;
                if !self.procs[*p].up && self.procs[*p].leader.is_some() {
                    Ok(())
                } else {
                    Err(format!("process {p} is not down"))
                }
            }
            Event::Partition(cut) => cut
                .iter()
                .try_for_each(|&(a, b)| self.proc_ok(a).and(self.proc_ok(b))),
            Event::Heal => Ok(()),
            Event::Damage { p, target } => {
                self.running_ok(*p)?;
                let mut state = self.procs[*p].leader.as_ref().map(|l| l.state().clone());
                state
                    .as_mut()
                    .map_or(Ok(Vec::new()), |s| C::damage_apply(s, target))
                    .map(drop)
            }
            Event::Twin { x, q, snapshot } => {
                self.proc_ok(*x)?;
                self.proc_ok(*q)?;
                let (px, pq) = (&self.procs[*x], &self.procs[*q]);
                if px.twin || !px.up || px.leader.is_none() {
                    return Err(format!("process {x} is not a running original"));
                }
                if q == x || pq.twin || pq.leader.is_none() {
                    return Err(format!("process {q} cannot take the twin of {x}"));
                }
                if snapshot.is_some() && self.lineages[px.lineage].is_empty() {
                    return Err(format!("process {x} has no snapshot"));
                }
                Ok(())
            }
            Event::Deliver {
                msg,
                to,
                misdelivered,
                ..
            } => {
                self.proc_ok(*to)?;
                let sent = self
                    .replay
                    .as_ref()
                    .and_then(|r| r.sent.get(msg))
                    .ok_or_else(|| format!("no message {msg} was sent"))?;
                if *misdelivered {
                    let (from_id, to_id) = (self.procs[msg.from].id, self.procs[sent.cands[0]].id);
                    let t = &self.procs[*to];
                    if t.leader.is_none() || t.id == from_id || t.id == to_id {
                        return Err(format!(
                            "process {to} cannot take message {msg} misdelivered"
                        ));
                    }
                } else if !sent.cands.contains(to) {
                    return Err(format!(
                        "message {msg} was addressed to process(es) {:?}, not {to}",
                        sent.cands
                    ));
                }
                Ok(())
            }
            Event::Nonce(_) => Err("a nonce where no leader is made".to_string()),
            Event::Round(_) => Err("a liveness round in the safety phase".to_string()),
            Event::Liveness(_) => Ok(()),
        }
    }

    /// Applies a safety-phase event that [`World::check_event`] accepted.
    fn apply(&mut self, e: Event) {
        match e {
            Event::Tick(p) => self.tick(p),
            Event::Write { p, ms, op } => {
                if let Ok(op) = C::parse_write(&op) {
                    self.write(p, &op, ms);
                }
            }
            Event::Snapshot(p) => {
                self.take_snapshot(p);
                self.observe(p);
            }
            Event::Persist(p) => self.persist(p),
            Event::Crash {
                p,
                snap,
                nonce,
                amnesia,
            } => {
                self.crash_at(p, snap, nonce, amnesia);
            }
            Event::Wipe { p, nonce } => self.wipe_at(p, nonce),
            Event::Unlink { p, q } => self.unlink_at(p, q),
            Event::Link { p, q } => self.link_at(p, q),
            Event::Restart(p) => self.restart(p, true),
            Event::Partition(cut) => self.partition_with(cut),
            Event::Heal => self.heal(),
            Event::Damage { p, target } => self.damage_at(p, &target),
            Event::Twin { x, q, snapshot } => self.twin_at(x, q, snapshot),
            Event::Deliver {
                msg,
                to,
                misdelivered,
                corruption,
            } => {
                let Some(mut payload) = self
                    .replay
                    .as_ref()
                    .and_then(|r| r.sent.get(&msg))
                    .map(|s| s.payload.clone())
                else {
                    return;
                };
                if let Some(c) = &corruption {
                    c.apply(&mut payload);
                }
                self.arrive(to, msg.from, &payload, corruption.is_some(), misdelivered);
            }
            Event::Nonce(_) | Event::Round(_) | Event::Liveness(_) => {}
        }
    }

    // ----------------------------------------------------------------------------
    // Network

    /// Hands everything `p` wants to send to the network.
    fn drain(&mut self, p: usize) {
        let max = self.p.config.message_bytes_max;
        while let Some(t) = self.procs[p]
            .leader
            .as_mut()
            .and_then(Leader::poll_transmit)
        {
            self.stats.messages += 1;
            let id = MsgId {
                from: p,
                seq: self.procs[p].sent,
            };
            self.procs[p].sent += 1;
            if t.payload.len() > max {
                self.fail(
                    "bound",
                    format!(
                        "process {p} sent {} bytes > message_bytes_max {max}",
                        t.payload.len()
                    ),
                );
                return;
            }
            // The address: a neighbour with that id (two if an id is shared: one of them).
            let cands: Vec<usize> = self.procs[p]
                .neighbours
                .iter()
                .copied()
                .filter(|&q| self.procs[q].id == t.to && self.procs[q].leader.is_some())
                .collect();
            if cands.is_empty() {
                self.stats.undeliverable += 1;
                continue;
            }
            // Replaying, the trace names which process behind the address receives it.
            let cands = if cands.len() == 1 || self.replay.is_some() {
                cands
            } else {
                vec![*self.rng.pick(&cands)]
            };
            let sent = Sent {
                id,
                cands,
                payload: t.payload,
            };
            if self.liveness {
                self.pending.push(sent);
            } else if let Some(r) = self.replay.as_mut() {
                r.sent.insert(id, sent);
            } else {
                self.send(p, sent.cands[0], id, sent.payload);
            }
        }
    }

    fn send(&mut self, from: usize, to: usize, id: MsgId, payload: Vec<u8>) {
        let l = self.p.links.clone();
        // Misdelivery: to a leader object with neither the sender's nor the
        // addressee's id (a reused address, a stale route).
        let mut to = to;
        let mut misdelivered = false;
        if l.misdeliver > 0 && self.rng.chance(l.misdeliver) {
            let (from_id, to_id) = (self.procs[from].id, self.procs[to].id);
            let others: Vec<usize> = (0..self.procs.len())
                .filter(|&q| {
                    self.procs[q].leader.is_some()
                        && self.procs[q].id != from_id
                        && self.procs[q].id != to_id
                })
                .collect();
            if !others.is_empty() {
                let addressee = to;
                to = *self.rng.pick(&others);
                misdelivered = true;
                self.stats.misdelivered += 1;
                self.log(|| format!("MISDELIVER {from}->{addressee} to {to}"));
            }
        }
        if self.rng.chance(l.loss) {
            self.stats.lost += 1;
            self.log(|| format!("lost {from}->{to} {}", kind_of(&payload)));
            return;
        }
        let copies = if self.rng.chance(l.dup) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        let mut payload = Some(payload);
        for c in 0..copies {
            let mut bytes = if c + 1 == copies {
                payload.take().unwrap_or_default()
            } else {
                payload.clone().unwrap_or_default()
            };
            let corrupted = self.rng.chance(l.corrupt);
            let corruption = corrupted.then(|| corruption(&mut self.rng, bytes.len()));
            if let Some(c) = &corruption {
                c.apply(&mut bytes);
            }
            let mut delay = self.rng.range(l.latency_ms.0, l.latency_ms.1);
            if self.rng.chance(l.reorder) {
                self.stats.reordered += 1;
                delay += self.rng.range(1, l.reorder_ms);
            }
            let at = self.now + delay;
            self.log(|| {
                format!(
                    "send {from}->{to} {} ({} B) arrives at {at}{}",
                    kind_of(&bytes),
                    bytes.len(),
                    if corrupted { " CORRUPTED" } else { "" }
                )
            });
            self.schedule(
                at,
                Ev::Deliver {
                    to,
                    id,
                    payload: bytes,
                    corruption,
                    misdelivered,
                },
            );
        }
    }

    fn deliver(&mut self, to: usize, from: usize, payload: &[u8], corrupted: bool) {
        if self.cut.contains(&(from, to)) {
            self.stats.partitioned += 1;
            return;
        }
        if self.procs[to].running().is_none() {
            self.stats.undeliverable += 1;
            return;
        }
        let from_id = self.procs[from].id;
        if corrupted {
            self.deliver_corrupted(to, from_id, payload);
            return;
        }
        self.stats.delivered += 1;
        let (res, probing) = match self.procs[to].leader.as_mut() {
            Some(l) => {
                let probing = l.can_write() == Err(SyncError::Restoring);
                (l.receive(from_id, payload), probing)
            }
            None => return,
        };
        self.log(|| {
            format!(
                "deliver {from}->{to} {} ({} B): {res:?}",
                kind_of(payload),
                payload.len()
            )
        });
        match res {
            Ok(()) if !probing => {
                // Mirror the receiver's view of the sender's incarnation: the newest of
                // the non-probe messages it accepted (a probing leader takes none in).
                if let Some((kind, inc)) = header(payload) {
                    if records_incarnation(kind) {
                        let k = self.procs[to].known.entry(from_id).or_default();
                        *k = (*k).max(inc);
                    }
                }
            }
            Ok(()) => {}
            Err(e) => self.receive_error(to, from, e),
        }
        self.observe(to);
        self.check_exposed(to);
        self.drain(to);
    }

    /// A message addressed to another leader: the receiver must reject it (as
    /// misdelivered, or from a peer it does not know) and stay unchanged.
    fn deliver_misdelivered(&mut self, to: usize, from: usize, payload: &[u8]) {
        if self.cut.contains(&(from, to)) {
            self.stats.partitioned += 1;
            return;
        }
        if self.procs[to].running().is_none() {
            self.stats.undeliverable += 1;
            return;
        }
        let from_id = self.procs[from].id;
        let Some(l) = self.procs[to].leader.as_mut() else {
            return;
        };
        let before = (encode(l.state()), l.causal_token(), l.incarnation());
        let res = l.receive(from_id, payload);
        let after = (encode(l.state()), l.causal_token(), l.incarnation());
        self.log(|| {
            format!(
                "misdelivered {from}->{to} {} ({} B): {res:?}",
                kind_of(payload),
                payload.len()
            )
        });
        match res {
            Err(SyncError::Misdelivered { at, .. }) if at == self.procs[to].id => {
                self.stats.misdelivered_rejected += 1;
            }
            // From version 4 the receiver's id is in the checksum, not the header.
            Err(SyncError::Corrupt) if crate::peek::receiver_checked(payload) => {
                self.stats.misdelivered_rejected += 1;
            }
            Err(SyncError::UnknownPeer(_)) => self.stats.receive_errors += 1,
            other => {
                self.fail(
                    "input",
                    format!("process {to} took a message from {from} addressed to another leader: {other:?}"),
                );
                return;
            }
        }
        if before != after {
            self.fail(
                "input",
                format!("process {to} rejected a misdelivered message but changed its state, token or incarnation"),
            );
        }
        self.observe(to);
    }

    fn deliver_corrupted(&mut self, to: usize, from_id: ReplicaId, payload: &[u8]) {
        let to_id = self.procs[to].id;
        let malformed = {
            let mut probe = Leader::with_nonce(to_id, C::default(), self.p.config.clone(), 1);
            if probe.add_peer(from_id).is_err() {
                return;
            }
            // Errors about what a message *means* come from well-formed ones; any other
            // error (decoding, size, checksum) marks the bytes as malformed.
            let r = probe.receive(from_id, payload);
            self.log(|| format!("probe {} B: {r:?}", payload.len()));
            !matches!(
                r,
                Ok(())
                    | Err(SyncError::ReplicaIdConflict { .. }
                        | SyncError::Protocol { .. }
                        | SyncError::UnknownPeer(_))
            )
        };
        if !malformed {
            self.stats.corrupt_filtered += 1;
            return;
        }
        self.stats.corrupt_rejected += 1;
        let Some(l) = self.procs[to].leader.as_mut() else {
            return;
        };
        let before = (encode(l.state()), l.causal_token());
        let res = l.receive(from_id, payload);
        let after = (encode(l.state()), l.causal_token());
        self.log(|| format!("corrupt delivery to {to} ({} B): {res:?}", payload.len()));
        if res.is_ok() {
            self.fail(
                "input",
                format!(
                    "process {to} accepted a malformed payload ({} bytes)",
                    payload.len()
                ),
            );
        } else if before != after {
            self.fail("input", format!("process {to} rejected a malformed payload ({res:?}) but changed its state or token"));
        }
    }

    fn receive_error(&mut self, to: usize, from: usize, e: SyncError) {
        let writer = self.procs[to].leader.as_ref().map(Leader::writer_id);
        match e {
            SyncError::ReplicaIdConflict { replica } => {
                self.stats.conflicts += 1;
                let flagged = self.procs[to]
                    .leader
                    .as_ref()
                    .is_some_and(Leader::has_id_conflict);
                if !flagged {
                    self.fail("conflict", format!("process {to} returned ReplicaIdConflict but has_id_conflict() is false"));
                }
                if Some(replica) != writer {
                    self.fail("conflict", format!("process {to} reported a conflict on {replica}, not its writer id {writer:?}"));
                }
                if !self.amb.contains(replica) {
                    let me = self.procs[to].instance;
                    let others: Vec<u32> = self
                        .writers
                        .get(&replica)
                        .map(|s| s.iter().copied().filter(|&i| i != me).collect())
                        .unwrap_or_default();
                    let detail = if others.is_empty() {
                        format!("spurious ReplicaIdConflict at process {to} (from {from}): no other process ever wrote under {replica}")
                    } else {
                        format!("process {to} (from {from}) found writer id {replica} reused: leader objects {others:?} held it too, which the fault model never does (a restore gave an id already used)")
                    };
                    self.fail("conflict", detail);
                }
                // `observe` notes the detection.
            }
            SyncError::UnknownPeer(_) => self.stats.receive_errors += 1,
            SyncError::Protocol { .. }
                if writer.is_some_and(|w| self.amb.contains(w))
                    || self.confused.contains(&self.procs[to].id)
                    || self.confused.contains(&self.procs[from].id) =>
            {
                self.stats.receive_errors += 1;
            }
            other => self.fail(
                "input",
                format!("process {to} rejected a message from {from}: {other}"),
            ),
        }
    }

    // ----------------------------------------------------------------------------
    // Writes and checks

    /// Process `p` writes `op`, its clock reading `now_ms`.
    fn write(&mut self, p: usize, op: &C::Write, now_ms: u64) {
        let instance = self.procs[p].instance;
        let Some(leader) = self.procs[p].leader.as_mut() else {
            return;
        };
        let conflicted = leader.has_id_conflict();
        let writer = leader.writer_id();
        let inc = leader.incarnation();
        let pre = leader
            .can_write()
            .is_ok()
            .then(|| C::pre(op, leader.state(), writer));
        let res = leader.apply(C::op(op, now_ms));
        self.log(|| {
            format!(
                "write at {p} ({writer}): {op:?} -> {}",
                if res.is_ok() { "ok" } else { "refused" }
            )
        });
        match res {
            Ok(delta) => {
                if conflicted {
                    self.fail(
                        "write",
                        format!("process {p} has a detected id conflict but accepted {op:?}"),
                    );
                    return;
                }
                let lineage = self.procs[p].lineage;
                if !self.lineages[lineage].iter().any(|s| s.inc == inc) {
                    self.fail(
                        "write",
                        format!("process {p} accepted {op:?} under incarnation {inc} before a snapshot recorded that incarnation (a crash now would restore an older one)"),
                    );
                    return;
                }
                if delta.is_bottom() {
                    self.stats.noop_writes += 1;
                } else {
                    self.stats.writes += 1;
                    let meta = WriteMeta {
                        writer,
                        instance,
                        now_ms,
                    };
                    let Some(pre) = pre else { return };
                    let Some(after) = self.procs[p].leader.as_ref().map(Leader::state) else {
                        return;
                    };
                    if let Err(e) = self
                        .oracle
                        .record(&meta, op, &pre, &delta, after, &self.amb)
                    {
                        self.fail("write", e);
                        return;
                    }
                    self.wrote.entry(writer).or_default().insert(instance);
                    self.check_exposed(p);
                }
            }
            Err(SyncError::ReplicaIdConflict { .. }) if conflicted => {
                self.stats.refused_writes += 1;
            }
            Err(SyncError::Restoring) if self.procs[p].phase == Phase::Probing => {
                self.stats.waiting_writes += 1;
            }
            Err(SyncError::CheckpointRequired) if self.procs[p].phase == Phase::Unpersisted => {
                self.stats.waiting_writes += 1;
            }
            Err(e) => {
                self.fail("write", format!("process {p} refused {op:?}: {e}"));
                return;
            }
        }
        self.drain(p);
    }

    /// The per-step checks of a leader's exposed state and token, and the bounds.
    fn check_exposed(&mut self, p: usize) {
        let exempt = self.exempt(p);
        let Proc {
            leader, verified, ..
        } = &mut self.procs[p];
        let Some(leader) = leader.as_ref() else {
            return;
        };
        let state = leader.state();
        let mut err = None;
        if !exempt {
            err = self
                .oracle
                .check_state(state, &self.amb)
                .err()
                .map(|e| ("state", format!("process {p}: {e}")));
        }
        if err.is_none() && !exempt {
            for (w, n) in leader.causal_token().iter() {
                if self.amb.contains(w) {
                    continue;
                }
                let have = self.oracle.writes_of(w);
                if n > have as u64 {
                    err = Some((
                        "session",
                        format!("process {p}'s causal token counts {n} writes of {w}, which made {have}"),
                    ));
                    break;
                }
                let v = verified.entry(w).or_insert(0);
                while (*v as u64) < n {
                    if let Err(e) = self.oracle.holds(w, *v, state, &self.amb) {
                        err = Some((
                            "session",
                            format!("process {p}'s causal token covers {n} writes of {w}, but its state {e}"),
                        ));
                        break;
                    }
                    *v += 1;
                }
                if err.is_some() {
                    break;
                }
            }
        }
        if err.is_none() {
            let m = leader.metrics();
            if m.buffered_bytes > self.p.config.buffer_bytes_max as u64 {
                err = Some((
                    "bound",
                    format!(
                        "process {p} buffers {} bytes > buffer_bytes_max {}",
                        m.buffered_bytes, self.p.config.buffer_bytes_max
                    ),
                ));
            }
        }
        if let Some((check, detail)) = err {
            self.fail(check, detail);
        }
    }

    /// Whether the per-step checks skip process `p`: a leader that runs, or ran, under a
    /// shared id or writer id (its lineage is *tainted*). Its peers' messages may have
    /// been meant for the other copy — repairs computed from the other copy's summary
    /// (same incarnation, so `for_inc` cannot tell), intervals numbered for it — so what
    /// it exposes then, and what it restores from snapshots it took then, proves
    /// nothing. Every other leader is checked at every step; every leader must still
    /// converge to the oracle's unambiguous data.
    fn exempt(&mut self, p: usize) -> bool {
        let pr = &self.procs[p];
        let now = self.confused.contains(&pr.id)
            || pr
                .leader
                .as_ref()
                .is_some_and(|l| self.amb.contains(l.writer_id()));
        if now {
            self.tainted.insert(pr.lineage);
        }
        now || self.tainted.contains(&pr.lineage)
    }

    fn check_deep(&mut self, p: usize) {
        if self.procs[p].running().is_none() || self.exempt(p) {
            return;
        }
        let Some(l) = self.procs[p].running() else {
            return;
        };
        if let Err(e) = self.oracle.check_deep(l.state(), &self.amb) {
            self.fail("state", format!("process {p}: {e}"));
        }
    }

    // ----------------------------------------------------------------------------
    // Node faults

    fn take_snapshot(&mut self, p: usize) {
        let Some(l) = self.procs[p].leader.as_mut() else {
            return;
        };
        let bytes = l.save();
        let inc = l.incarnation();
        let snaps = &mut self.lineages[self.procs[p].lineage];
        snaps.push(Snap { bytes, inc });
        if snaps.len() > SNAPSHOTS_KEPT {
            snaps.remove(1);
        }
    }

    /// Every state that survives a destruction.
    fn mark_at_risk(&mut self) {
        let survivors: Vec<&C> = self
            .procs
            .iter()
            .filter_map(|p| p.leader.as_ref().map(Leader::state))
            .collect();
        self.oracle.mark_at_risk(&survivors);
    }

    fn crash(&mut self, p: usize, amnesia: bool) {
        let snaps = self.lineages[self.procs[p].lineage].len();
        let idx = if amnesia {
            self.frng.index(snaps - 1)
        } else {
            snaps - 1
        };
        // Never `Leader::restore`: its nonce comes from the OS. The seed's generator
        // gives every restore its own nonce, so a run replays exactly.
        let nonce = self.frng.u64();
        self.record(Event::Crash {
            p,
            snap: idx,
            nonce,
            amnesia,
        });
        if self.crash_at(p, idx, nonce, amnesia) {
            let down = self.frng.range(1, self.p.nodes.down_ms);
            let epoch = self.procs[p].epoch;
            self.schedule(self.now + down, Ev::Restart(p, epoch));
        }
    }

    /// Process `p` crashes and is restored (down) from its lineage's snapshot `idx`
    /// with `nonce`; `false` if that failed (a violation).
    fn crash_at(&mut self, p: usize, idx: usize, nonce: u64, amnesia: bool) -> bool {
        let snap = self.lineages[self.procs[p].lineage][idx].clone();
        self.procs[p].leader = None;
        let restored =
            match Leader::<C>::restore_with_nonce(&snap.bytes, self.p.config.clone(), nonce) {
                Ok(l) => l,
                Err(e) => {
                    self.fail(
                        "restart",
                        format!("process {p}: its snapshot does not restore: {e}"),
                    );
                    return false;
                }
            };
        // Without peers (a snapshot taken while every peer was removed, or the first
        // one after a disk loss) nobody is asked: the probe is over at once.
        if restored.incarnation() != snap.inc && restored.peers().next().is_some() {
            self.fail(
                "restart",
                format!(
                    "process {p} restored a snapshot of incarnation {} as incarnation {} before probing",
                    snap.inc,
                    restored.incarnation()
                ),
            );
            return false;
        }
        let instance = self.new_instance(None);
        let phase = phase_of(&restored).unwrap_or(Phase::Writable);
        if phase != Phase::Probing && restored.peers().next().is_some() {
            self.fail(
                "restart",
                format!("process {p} restored with peers is not probing ({phase:?})"),
            );
            return false;
        }
        let pr = &mut self.procs[p];
        pr.leader = Some(restored);
        pr.instance = instance;
        pr.up = false;
        pr.epoch += 1;
        pr.verified.clear();
        pr.phase = Phase::Probing;
        pr.inc = snap.inc;
        pr.persist_due = false;
        pr.restored = true;
        pr.displacements = 0;
        pr.probe_timeouts = 0;
        pr.known.clear();
        pr.forgot += 1;
        pr.floor.clear();
        if amnesia {
            self.stats.amnesias += 1;
        } else {
            self.stats.crashes += 1;
        }
        self.log(|| {
            format!(
                "{} {p}: restored snapshot #{idx} (incarnation {})",
                if amnesia { "AMNESIA" } else { "crash" },
                snap.inc
            )
        });
        self.mark_at_risk();
        true
    }

    fn restart(&mut self, p: usize, timers: bool) {
        self.procs[p].up = true;
        // The process applies its configured links at start-up: a snapshot older than
        // a link (the twin's) does not lose it.
        self.add_configured_links(p);
        // Only a probe that asks the neighbours is bound by what they saw: a leader
        // restored without peers finished its probe at once (and is displaced by a
        // neighbour that saw a newer incarnation of it, then probes).
        let probing = self.procs[p]
            .leader
            .as_ref()
            .is_some_and(|l| l.can_write() == Err(SyncError::Restoring));
        self.procs[p].floor = if probing {
            self.probe_floor(p)
        } else {
            Vec::new()
        };
        self.log(|| format!("restart {p}"));
        if timers && self.replay.is_none() {
            self.start_timers(p);
            if self.frng.chance(self.p.nodes.flap) {
                let at = self.now + self.frng.range(1, self.p.nodes.flap_ms);
                self.schedule(at, Ev::Flap(p, self.procs[p].epoch));
            }
        }
        self.observe(p);
        self.check_exposed(p);
        self.drain(p);
    }

    /// Adds every configured peer of `p` that its leader does not list (present ones
    /// are left alone).
    fn add_configured_links(&mut self, p: usize) {
        let ids: Vec<ReplicaId> = self.procs[p]
            .neighbours
            .iter()
            .map(|&q| self.procs[q].id)
            .collect();
        if let Some(l) = self.procs[p].leader.as_mut() {
            for id in ids {
                if id != l.id() {
                    let _ = l.add_peer(id);
                }
            }
        }
    }

    /// A running original loses its storage and is started again empty under its id,
    /// with a nonce from the seed's generator (down for a while, like a crash).
    fn wipe(&mut self, p: usize) {
        let nonce = self.frng.u64().max(1);
        self.record(Event::Wipe { p, nonce });
        self.wipe_at(p, nonce);
        let down = self.frng.range(1, self.p.nodes.down_ms);
        let epoch = self.procs[p].epoch;
        self.schedule(self.now + down, Ev::Restart(p, epoch));
    }

    /// Process `p` loses its state and every snapshot: a new, empty leader under its
    /// id (`Leader::with_nonce`), a new lineage, down until `restart`. What only it
    /// held is at risk; its new writer id must be one nobody held.
    fn wipe_at(&mut self, p: usize, nonce: u64) {
        let id = self.procs[p].id;
        self.procs[p].leader = None;
        let leader = Leader::with_nonce(id, C::default(), self.p.config.clone(), nonce);
        let (writer, inc) = (leader.writer_id(), leader.incarnation());
        if self.writers.get(&writer).is_some_and(|s| !s.is_empty()) {
            // A 2^-32 nonce collision (or a bug): dots may be issued twice.
            self.amb.insert(writer);
        }
        let instance = self.new_instance(Some(writer));
        self.lineages.push(Vec::new());
        let lineage = self.lineages.len() - 1;
        let pr = &mut self.procs[p];
        pr.leader = Some(leader);
        pr.lineage = lineage;
        pr.instance = instance;
        pr.up = false;
        pr.epoch += 1;
        pr.verified.clear();
        pr.phase = Phase::Writable;
        pr.inc = inc;
        pr.persist_due = false;
        pr.restored = false;
        pr.displacements = 0;
        pr.probe_timeouts = 0;
        pr.known.clear();
        pr.forgot += 1;
        pr.floor.clear();
        // Started with its configured peers, as an operator starts it, before its first
        // checkpoint: a restore of that checkpoint probes them.
        self.add_configured_links(p);
        self.take_snapshot(p);
        self.stats.wipes += 1;
        self.log(|| {
            format!("WIPE {p}: empty again under {id} (incarnation {inc}, writer {writer})")
        });
        self.mark_at_risk();
    }

    /// A running original drops one of its configured peers, or both drop each other;
    /// each adds the other back later.
    fn unlink(&mut self) {
        let up: Vec<usize> = (0..self.procs.len())
            .filter(|&i| {
                !self.procs[i].twin
                    && self.procs[i].running().is_some()
                    && !self.procs[i].neighbours.is_empty()
            })
            .collect();
        if up.is_empty() {
            return;
        }
        let p = *self.frng.pick(&up);
        let q = *self.frng.pick(&self.procs[p].neighbours.clone());
        let both = self.frng.chance(500_000) && self.procs[q].running().is_some();
        let until = self.now + self.frng.range(1, self.p.nodes.unlink_ms.max(2));
        for (a, b) in [(p, q), (q, p)].into_iter().take(if both { 2 } else { 1 }) {
            self.record(Event::Unlink { p: a, q: b });
            self.unlink_at(a, b);
            let e = self.procs[a].epoch;
            self.schedule(until, Ev::Relink(a, b, e));
        }
        self.stepped();
    }

    /// `p` removes its peer `q` (`q` may still list `p`: an asymmetric peer list).
    fn unlink_at(&mut self, p: usize, q: usize) {
        let q_id = self.procs[q].id;
        if let Some(l) = self.procs[p].leader.as_mut() {
            if q_id == l.id() {
                return;
            }
            l.remove_peer(q_id);
        }
        let pr = &mut self.procs[p];
        pr.known.remove(&q_id);
        pr.forgot += 1;
        // A probe no longer waits for `q`, so what `q` knew of `p` bounds nothing:
        // should `p` talk to `q` again under an older incarnation, `q` displaces it.
        pr.floor.retain(|(n, _, _)| *n != q);
        self.stats.unlinks += 1;
        self.log(|| format!("UNLINK {p} drops peer {q}"));
        self.observe(p);
    }

    /// `p` adds its configured peer `q` back.
    fn link_at(&mut self, p: usize, q: usize) {
        let q_id = self.procs[q].id;
        if let Some(l) = self.procs[p].leader.as_mut() {
            if q_id != l.id() {
                let _ = l.add_peer(q_id);
            }
        }
        self.log(|| format!("LINK {p} adds peer {q} back"));
        self.observe(p);
        self.drain(p);
    }

    /// What the running neighbours of `p` know now of the incarnation of `p`'s id
    /// (not those behind a shared address: either copy there may answer the probe).
    fn probe_floor(&self, p: usize) -> Vec<(usize, u32, Incarnation)> {
        let id = self.procs[p].id;
        self.procs[p]
            .neighbours
            .iter()
            .filter(|&&q| {
                self.procs[q].running().is_some() && !self.confused.contains(&self.procs[q].id)
            })
            .filter_map(|&q| {
                let pq = &self.procs[q];
                pq.known.get(&id).map(|k| (q, pq.forgot, *k))
            })
            .collect()
    }

    /// Follows a leader's phase after anything that may change it (a delivery, a
    /// snapshot, a removed peer, a restart), as its operator would, and checks every
    /// transition:
    ///
    /// - a probe that ends gives an incarnation above the one before, above every
    ///   incarnation of its id that a neighbour (that did not forget since) knew when
    ///   the probe began (unless it ended by timeout), and a writer id no other leader
    ///   object ever held;
    /// - a leader that starts probing again was displaced (a newer incarnation of it
    ///   was seen): it forgets its peers;
    /// - `SnapshotRequired`: the operator persists a snapshot (after a short delay in
    ///   the safety phase, during which the process may crash; at once in liveness);
    /// - a conflict is reported only where an id is really shared.
    fn observe(&mut self, p: usize) {
        let Some(l) = self.procs[p].leader.as_ref() else {
            return;
        };
        let now = match phase_of(l) {
            Ok(x) => x,
            Err(e) => {
                self.fail("restart", format!("process {p}: can_write() says {e}"));
                return;
            }
        };
        let (inc, writer) = (l.incarnation(), l.writer_id());
        let before = self.procs[p].phase;
        if before == now && inc == self.procs[p].inc {
            return;
        }
        if before == Phase::Probing && now != Phase::Probing {
            self.probe_ended(p, now, inc, writer);
        } else if now == Phase::Probing {
            // Displaced: a newer incarnation of it exists; it probes again.
            self.stats.displacements += 1;
            let floor = self.probe_floor(p);
            let pr = &mut self.procs[p];
            pr.displacements += 1;
            pr.known.clear();
            pr.forgot += 1;
            pr.floor = floor;
            let d = self.procs[p].displacements;
            self.log(|| format!("DISPLACED {p} at incarnation {inc} ({d} times)"));
        } else if inc != self.procs[p].inc {
            self.fail(
                "restart",
                format!(
                    "process {p} went from incarnation {} to {inc} without a probe ({before:?} -> {now:?})",
                    self.procs[p].inc
                ),
            );
        }
        if now == Phase::Conflicted && before != Phase::Conflicted {
            self.conflict_reported(p, writer);
        }
        let pr = &mut self.procs[p];
        pr.phase = now;
        if now != Phase::Probing {
            pr.inc = inc;
        }
        if now == Phase::Unpersisted {
            if self.liveness {
                self.take_snapshot(p);
                self.observe(p);
            } else if !self.procs[p].persist_due {
                self.procs[p].persist_due = true;
                if self.replay.is_none() {
                    let e = self.procs[p].epoch;
                    let at = self.now + self.rng.range(0, self.p.tick_ms);
                    self.schedule(at, Ev::Persist(p, e));
                }
            }
        }
    }

    /// Checks the incarnation and writer id a finished probe gave `p`.
    fn probe_ended(&mut self, p: usize, now: Phase, inc: Incarnation, writer: ReplicaId) {
        self.stats.probes += 1;
        let timeouts = self.procs[p]
            .leader
            .as_ref()
            .map_or(0, |l| l.metrics().probes_timed_out);
        // Ended by `Config::probe_timeout_ticks` with a neighbour's answer missing: the
        // incarnation is bound only by the answers at hand (unknown here), so no
        // neighbour's floor applies; a neighbour that saw a newer one must displace it
        // once they talk (else the liveness check fails: its messages stay stale).
        let timed_out = timeouts > self.procs[p].probe_timeouts;
        self.procs[p].probe_timeouts = timeouts;
        if timed_out {
            self.stats.probe_timeouts += 1;
        }
        let pr = &self.procs[p];
        let old = pr.inc;
        let instance = pr.instance;
        self.log(|| {
            let how = if timed_out { " (timed out)" } else { "" };
            format!("PROBED {p}: incarnation {old} -> {inc}, writer {writer}{how}")
        });
        if now == Phase::Conflicted {
            // The restart counter is exhausted (2^32 - 1 restores): never writes again.
            return;
        }
        let floor = self.procs[p]
            .floor
            .iter()
            .filter(|(q, forgot, _)| {
                self.procs[*q].running().is_some() && self.procs[*q].forgot == *forgot
            })
            .max_by_key(|(_, _, k)| *k)
            .copied();
        let others: Vec<u32> = self
            .writers
            .get(&writer)
            .map(|s| s.iter().copied().filter(|&i| i != instance).collect())
            .unwrap_or_default();
        self.writers.entry(writer).or_default().insert(instance);
        if self.lenient_restart {
            return;
        }
        if inc <= old {
            self.fail(
                "restart",
                format!("process {p} finished its probe at incarnation {inc}, not above its previous {old}"),
            );
        } else if let Some((q, _, k)) = floor.filter(|(_, _, k)| inc <= *k && !timed_out) {
            self.fail(
                "restart",
                format!("process {p} finished its probe at incarnation {inc}, but its neighbour {q} had seen incarnation {k} of it when the probe began"),
            );
        } else if !others.is_empty() {
            self.fail(
                "restart",
                format!("process {p} finished its probe at incarnation {inc} under writer id {writer}, which leader objects {others:?} already held: dots can be issued twice"),
            );
        }
    }

    /// `p` reports a replica id conflict (from an error, or a displacement notice).
    fn conflict_reported(&mut self, p: usize, writer: ReplicaId) {
        let id = self.procs[p].id;
        self.detected_ids.insert(id);
        let new = self.detected.insert(writer);
        if !self.amb.contains(writer) && !self.twinned.contains(&id) {
            let d = self.procs[p].displacements;
            let restored = self.procs[p].restored;
            self.fail(
                "conflict",
                format!("process {p} ({id}, writer {writer}, restored: {restored}, displaced {d} times) reports an id conflict, yet no other process was started under {id} and nobody shares its writer id"),
            );
        }
        if new {
            self.notes.push(format!(
                "conflict on {id} (writer {writer}) reported by process {p} at event {}{}",
                self.stats.events,
                if self.amb.contains(writer) {
                    " (shared writer)"
                } else {
                    " (shared id, own writer)"
                }
            ));
        }
    }

    /// One running process of `among` with at least `snaps` snapshots, drawn from the
    /// seed's generator (`None`, drawing nothing, if there is none).
    fn pick_up(&mut self, among: &[usize], snaps: usize) -> Option<usize> {
        let up: Vec<usize> = among
            .iter()
            .copied()
            .filter(|&i| self.procs[i].up && self.lineages[self.procs[i].lineage].len() >= snaps)
            .collect();
        (!up.is_empty()).then(|| *self.frng.pick(&up))
    }

    fn chaos(&mut self) {
        self.chaos_steps += 1;
        let nf = self.p.nodes.clone();
        let originals: Vec<usize> = (0..self.procs.len())
            .filter(|&i| !self.procs[i].twin && self.procs[i].leader.is_some())
            .collect();
        if !self.partitioned && self.frng.chance(nf.partition) {
            let asym = self.frng.chance(nf.asymmetric);
            let cut = partition(&mut self.frng, self.procs.len(), asym);
            let until = self.now + self.frng.range(50, nf.partition_ms);
            self.record(Event::Partition(cut.clone()));
            self.partition_with(cut);
            self.log(|| {
                format!(
                    "partition ({}) until {until}",
                    if asym { "asymmetric" } else { "symmetric" }
                )
            });
            self.schedule(until, Ev::Heal);
            self.stepped();
        }
        // Each fault below is an event of its own in a trace; none strikes after a
        // violation (a replay stops there).
        if self.violation.is_none() && self.frng.chance(nf.crash) {
            if let Some(p) = self.pick_up(&originals, 0) {
                self.crash(p, false);
                self.stepped();
            }
        }
        if self.violation.is_none() && self.frng.chance(nf.amnesia) {
            if let Some(p) = self.pick_up(&originals, 2) {
                self.crash(p, true);
                self.stepped();
            }
        }
        if self.violation.is_none() && self.frng.chance(nf.wipe) {
            if let Some(p) = self.pick_up(&originals, 0) {
                self.wipe(p);
                self.stepped();
            }
        }
        if self.violation.is_none() && self.frng.chance(nf.unlink) {
            self.unlink();
        }
        if self.frng.chance(self.p.nodes.clock_step) {
            let p = self.frng.index(self.procs.len());
            self.procs[p].clock.step(&mut self.frng);
            self.stats.clock_steps += 1;
        }
        if self.violation.is_none()
            && nf.twin
            && !self.twin_started
            && self.chaos_steps >= self.twin_at
        {
            self.start_twin();
        }
        if self.violation.is_none() && nf.damage > 0 && self.frng.chance(nf.damage) {
            self.damage();
        }
    }

    fn partition_with(&mut self, cut: Vec<(usize, usize)>) {
        self.cut = cut.into_iter().collect();
        self.partitioned = true;
        self.stats.partitions += 1;
    }

    /// The `damage` fault: a running leader's state silently loses an OR-Set element
    /// (its context unchanged), as a corrupted store or a buggy peer's delta would
    /// leave it. The oracle excuses exactly the lost dots.
    fn damage(&mut self) {
        let up: Vec<usize> = (0..self.procs.len())
            .filter(|&i| self.procs[i].running().is_some())
            .collect();
        if up.is_empty() {
            return;
        }
        let p = *self.frng.pick(&up);
        let World { procs, frng, .. } = self;
        let Some(target) = procs[p]
            .leader
            .as_ref()
            .and_then(|l| C::damage_pick(frng, l.state()))
        else {
            return;
        };
        self.record(Event::Damage {
            p,
            target: target.clone(),
        });
        self.damage_at(p, &target);
        self.stepped();
    }

    /// Process `p`'s state silently loses `target` ([`Model::damage_apply`]).
    fn damage_at(&mut self, p: usize, target: &str) {
        let Some(l) = self.procs[p].leader.as_mut() else {
            return;
        };
        let ctx_before = l.state().summary();
        let mut lost = Vec::new();
        l.inject_state_damage(|s| lost = C::damage_apply(s, target).unwrap_or_default());
        let ctx_same = l.state().summary() == ctx_before;
        if lost.is_empty() {
            return;
        }
        self.stats.damages += 1;
        self.log(|| format!("DAMAGE {p}: lost live dots {lost:?}"));
        if !ctx_same {
            self.fail(
                "damage",
                format!("process {p}: the damage changed the context (not a silent loss)"),
            );
            return;
        }
        self.oracle.lost_by_damage(&lost);
        self.check_exposed(p);
    }

    /// Starts a second process with the id of an existing leader, attached to a leader
    /// that is not that one's neighbour (if any).
    fn start_twin(&mut self) {
        let originals: Vec<usize> = (0..self.procs.len())
            .filter(|&i| !self.procs[i].twin && self.procs[i].up)
            .collect();
        if originals.is_empty() {
            return;
        }
        let x = *self.frng.pick(&originals);
        let far: Vec<usize> = originals
            .iter()
            .copied()
            .filter(|&q| q != x && !self.procs[x].neighbours.contains(&q))
            .collect();
        let near: Vec<usize> = self.procs[x].neighbours.clone();
        let from_snapshot = self.p.nodes.twin_from_snapshot;
        let same_address =
            self.twin_same_address || (from_snapshot && self.p.nodes.twin_near) || far.is_empty();
        if same_address && !from_snapshot && !self.first_nonce() {
            // Two leaders made by `Leader::new` under one id behind one address are the
            // documented limit (crdt-sync docs, `Leader::with_nonce`): not run.
            self.twin_started = true;
            self.notes.push(format!(
                "shared id skipped: an empty twin of process {x} could only go behind its address, and leaders have no first nonce"
            ));
            return;
        }
        let q = if same_address {
            *self.frng.pick(&near)
        } else {
            *self.frng.pick(&far)
        };
        let snapshot = from_snapshot.then(|| self.frng.u64());
        self.record(Event::Twin { x, q, snapshot });
        self.twin_at(x, q, snapshot);
        self.stepped();
    }

    /// Starts the twin of `x` attached to `q` (behind `x`'s address if `q` is a
    /// neighbour of `x`): restored from `x`'s last snapshot with the nonce `snapshot`,
    /// or empty.
    fn twin_at(&mut self, x: usize, q: usize, snapshot: Option<u64>) {
        let same_address = self.procs[x].neighbours.contains(&q);
        let from_snapshot = snapshot.is_some();
        let id = self.procs[x].id;
        let q_id = self.procs[q].id;
        let mut leader = if let Some(nonce) = snapshot {
            let lineage = self.procs[x].lineage;
            let Some(snap) = self.lineages[lineage].last().cloned() else {
                return;
            };
            match Leader::<C>::restore_with_nonce(&snap.bytes, self.p.config.clone(), nonce) {
                Ok(l) => l,
                Err(e) => {
                    self.fail("restart", format!("twin: snapshot does not restore: {e}"));
                    return;
                }
            }
        } else {
            self.new_leader(id)
        };
        // Its one link first, then drop the original's: a restored twin probes `q`.
        if leader.add_peer(q_id).is_err() {
            return;
        }
        let peers: Vec<ReplicaId> = leader.peers().filter(|&r| r != q_id).collect();
        for peer in peers {
            leader.remove_peer(peer);
        }
        let writer = leader.writer_id();
        let instance = if from_snapshot {
            // Its writer id is known once its probe is over (see `observe`).
            self.new_instance(None)
        } else {
            // `Leader::new` writes under the id itself (`with_nonce` under a derived
            // one): shared if it was ever held.
            if self.writers.get(&writer).is_some_and(|s| !s.is_empty()) {
                self.amb.insert(writer);
            }
            self.new_instance(Some(writer))
        };
        let clock = self.draw_clock();
        let t = self.procs.len();
        let mut pr = Proc::new(id, self.lineages.len(), instance, leader, clock);
        pr.neighbours = vec![q];
        pr.twin = true;
        pr.restored = from_snapshot;
        self.procs.push(pr);
        self.lineages.push(Vec::new());
        self.procs[q].neighbours.push(t);
        if let Some(l) = self.procs[q].leader.as_mut() {
            let _ = l.add_peer(id);
        }
        if same_address {
            self.confused.insert(id);
            // Either copy behind the address may now answer a probe `q` has under way,
            // so what the original knew of `q` bounds it no more (as when `q` drops
            // the peer): should `q` talk to the original under an older incarnation,
            // the original displaces it, which `liveness` checks.
            self.procs[q].floor.retain(|(n, _, _)| *n != x);
        }
        self.twinned.insert(id);
        self.procs[t].floor = self.probe_floor(t);
        self.twin_started = true;
        self.stats.twins += 1;
        self.notes.push(format!(
            "shared id: process {t} runs as {id} ({}) attached to process {q}; the original is process {x}{}",
            if from_snapshot { "restored from the original's snapshot, under a writer id of its own".to_string() } else { format!("started empty, writer {writer}") },
            if same_address { ", a neighbour of it (one address, two processes)" } else { "" }
        ));
        self.log(|| format!("TWIN {t} of {x} ({id}) attached to {q}"));
        self.take_snapshot(t);
        self.start_timers(t);
        self.observe(t);
        self.drain(t);
    }

    // ----------------------------------------------------------------------------
    // Liveness

    /// `inflight`: replaying, the messages the trace says are still in flight.
    fn liveness(&mut self, inflight: Vec<(MsgId, usize)>) {
        self.liveness = true;
        self.log(|| "LIVENESS: heal everything, stop writes".to_string());
        self.cut.clear();
        self.partitioned = false;
        let queue = core::mem::take(&mut self.queue);
        let mut in_flight: Vec<Scheduled> = queue.into_iter().map(|Reverse(s)| s).collect();
        in_flight.sort();
        for s in in_flight {
            if let Ev::Deliver {
                to,
                id,
                payload,
                corruption: None,
                misdelivered: false,
            } = s.ev
            {
                self.pending.push(Sent {
                    id,
                    cands: vec![to],
                    payload,
                });
            }
        }
        for (i, (id, to)) in inflight.into_iter().enumerate() {
            let Some(r) = self.replay.as_mut() else {
                break;
            };
            match r.sent.get(&id) {
                Some(s) if s.cands.contains(&to) => {
                    let payload = s.payload.clone();
                    self.pending.push(Sent {
                        id,
                        cands: vec![to],
                        payload,
                    });
                }
                _ if r.lenient => r.skipped += 1,
                _ => {
                    // The `liveness` event is the one before the replay's position.
                    let at = r.pos - 1;
                    let e = r.events[at].clone();
                    self.mismatch(
                        at,
                        &e,
                        &format!("in-flight item {} ({id}->{to}) was never sent so", i + 1),
                    );
                }
            }
        }
        let inflight = self.pending.iter().map(|s| (s.id, s.cands[0])).collect();
        self.record(Event::Liveness(inflight));
        for p in 0..self.procs.len() {
            if self.procs[p].leader.is_some() && !self.procs[p].up {
                self.restart(p, false);
            } else {
                // Removed peers come back with everything else.
                self.add_configured_links(p);
                self.observe(p);
            }
            // A `Persist` still scheduled was dropped with the queue: persist now.
            self.procs[p].persist_due = false;
            if self.procs[p].phase == Phase::Unpersisted && self.procs[p].running().is_some() {
                self.take_snapshot(p);
                self.observe(p);
            }
        }
        let mut since = 0;
        let mut round = 0;
        loop {
            if self.violation.is_some() {
                return;
            }
            round += 1;
            since += 1;
            if since > LIVENESS_ROUNDS {
                let why = self.why_not_quiescent();
                self.fail(
                    "liveness",
                    format!("not quiescent {LIVENESS_ROUNDS} rounds after the heal: {why}"),
                );
                return;
            }
            self.now += self.p.tick_ms;
            if self.replay.is_some() {
                self.take(&format!("`round {round}`"), |e| match e {
                    Event::Round(n) if *n == round => Some(()),
                    _ => None,
                });
            }
            self.record(Event::Round(round));
            let mut order: Vec<usize> = (0..self.procs.len())
                .filter(|&p| self.procs[p].running().is_some())
                .collect();
            if self.replay.is_none() {
                self.rng.shuffle(&mut order);
            }
            while !order.is_empty() {
                // Replaying, the trace says which comes next (by default, in order).
                let i = if self.replay.is_some() {
                    self.take(
                        &format!("a tick of one of processes {order:?}"),
                        |e| match e {
                            Event::Tick(p) => order.iter().position(|q| q == p),
                            _ => None,
                        },
                    )
                    .unwrap_or(0)
                } else {
                    0
                };
                let p = order.remove(i);
                self.record(Event::Tick(p));
                self.stats.events += 1;
                self.tick(p);
            }
            let mut delivered = 0;
            while !self.pending.is_empty() && self.violation.is_none() {
                let mut batch = core::mem::take(&mut self.pending);
                if self.replay.is_none() {
                    self.rng.shuffle(&mut batch);
                }
                batch.reverse();
                while let Some(last) = batch.last() {
                    let (i, to) = if self.replay.is_some() {
                        let what =
                            format!("the delivery of one of {} messages in flight", batch.len());
                        self.take(&what, |e| match e {
                            Event::Deliver {
                                msg,
                                to,
                                misdelivered: false,
                                corruption: None,
                            } => batch
                                .iter()
                                .rposition(|s| s.id == *msg && s.cands.contains(to))
                                .map(|i| (i, *to)),
                            _ => None,
                        })
                        .unwrap_or((batch.len() - 1, last.cands[0]))
                    } else {
                        (batch.len() - 1, last.cands[0])
                    };
                    let m = batch.remove(i);
                    self.record(Event::Deliver {
                        msg: m.id,
                        to,
                        misdelivered: false,
                        corruption: None,
                    });
                    self.stats.events += 1;
                    delivered += 1;
                    self.deliver(to, m.id.from, &m.payload, false);
                }
                if delivered > ROUND_MESSAGES_MAX {
                    let running: Vec<(usize, &Leader<C>)> = self
                        .procs
                        .iter()
                        .enumerate()
                        .filter_map(|(i, p)| p.running().map(|l| (i, l)))
                        .collect();
                    let states = self.divergence(&running).unwrap_or_else(|| {
                        "every running leader holds identical state bytes".to_string()
                    });
                    let divergences: Vec<u64> = running
                        .iter()
                        .map(|(_, l)| l.metrics().divergences)
                        .collect();
                    self.fail("liveness", format!("round {round} delivered over {ROUND_MESSAGES_MAX} messages: a message storm ({states}; divergences per leader {divergences:?})"));
                    return;
                }
            }
            if self.retire_conflicted() {
                // The replacement has not even ticked yet: start counting again.
                since = 0;
                continue;
            }
            if self.violation.is_none() && self.why_not_quiescent().is_empty() {
                self.stats.liveness_rounds = round;
                break;
            }
        }
        self.final_checks();
    }

    /// The operator stops every leader that reports an id conflict and starts a
    /// replacement under a fresh id with an empty state (it is repaired from peers),
    /// as `SyncError::ReplicaIdConflict` instructs.
    fn retire_conflicted(&mut self) -> bool {
        let conflicted: Vec<usize> = (0..self.procs.len())
            .filter(|&p| self.procs[p].running().is_some_and(Leader::has_id_conflict))
            .collect();
        for &p in &conflicted {
            let old_id = self.procs[p].id;
            let fresh = ReplicaId::new(self.next_fresh_id);
            self.next_fresh_id += 1;
            self.procs[p].leader = None;
            self.procs[p].up = false;
            let neighbours = core::mem::take(&mut self.procs[p].neighbours);
            let mut leader = self.new_leader(fresh);
            let q = self.procs.len();
            for &n in &neighbours {
                let _ = leader.add_peer(self.procs[n].id);
                self.procs[n].neighbours.retain(|&m| m != p);
                let still = self.procs[n]
                    .neighbours
                    .iter()
                    .any(|&m| self.procs[m].id == old_id && self.procs[m].leader.is_some());
                self.procs[n].neighbours.push(q);
                if let Some(l) = self.procs[n].leader.as_mut() {
                    // Drop the link; if the other process behind that address stays,
                    // reconnect afresh: what the neighbour recorded of "old_id" mixes
                    // both processes (acknowledgements, summaries).
                    l.remove_peer(old_id);
                    if still {
                        let _ = l.add_peer(old_id);
                    }
                    let _ = l.add_peer(fresh);
                }
                self.procs[n].known.remove(&old_id);
                self.procs[n].forgot += 1;
            }
            let instance = self.new_instance(Some(leader.writer_id()));
            let clock = self.procs[p].clock.clone();
            let mut pr = Proc::new(fresh, self.lineages.len(), instance, leader, clock);
            pr.neighbours = neighbours.clone();
            self.procs.push(pr);
            self.lineages.push(Vec::new());
            self.take_snapshot(q);
            // A removed peer may have been the last one a probing neighbour waited for.
            for n in neighbours {
                self.observe(n);
            }
            self.stats.retired += 1;
            self.notes.push(format!(
                "operator retired conflicted process {p} ({old_id}) and started process {q} as {fresh}"
            ));
            self.log(|| format!("RETIRE {p} ({old_id}) -> {q} ({fresh})"));
            self.mark_at_risk();
        }
        !conflicted.is_empty()
    }

    /// Empty if quiescent, else why not.
    fn why_not_quiescent(&self) -> String {
        if !self.pending.is_empty() {
            return format!("{} messages in flight", self.pending.len());
        }
        let running: Vec<(usize, &Leader<C>)> = self
            .procs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.running().map(|l| (i, l)))
            .collect();
        for &(i, _) in &running {
            let phase = self.procs[i].phase;
            if matches!(phase, Phase::Probing | Phase::Unpersisted) {
                return format!("process {i} is restoring ({phase:?})");
            }
        }
        if let Some(why) = self.divergence(&running) {
            return why;
        }
        for (i, l) in &running {
            let m = l.metrics();
            if m.deltas_buffered > 0 {
                return format!(
                    "process {i} still buffers {} deltas ({} bytes); its peers' lag {:?}",
                    m.deltas_buffered, m.buffered_bytes, m.peer_lag
                );
            }
        }
        String::new()
    }

    /// How the running leaders' states differ (their unambiguous parts if an id was
    /// shared), if they do.
    fn divergence(&self, running: &[(usize, &Leader<C>)]) -> Option<String> {
        if self.amb.is_empty() {
            let first = running.first().map(|(_, l)| encode(l.state()));
            for (i, l) in running {
                if Some(encode(l.state())) != first {
                    return Some(format!(
                        "diverged: process {i} holds {:?}, process {} holds {:?}",
                        l.state(),
                        running[0].0,
                        running[0].1.state()
                    ));
                }
            }
        } else {
            let projected: Vec<Option<String>> = running
                .iter()
                .map(|(_, l)| self.oracle.projection(l.state(), &self.amb))
                .collect();
            for (k, pr) in projected.iter().enumerate() {
                if pr.is_some() && *pr != projected[0] {
                    return Some(format!(
                        "unambiguous data diverged: process {} has {:?}, process {} has {:?}",
                        running[k].0, pr, running[0].0, projected[0]
                    ));
                }
            }
        }
        None
    }

    fn final_checks(&mut self) {
        let mut errs: Vec<(&'static str, String)> = Vec::new();
        for (i, p) in self.procs.iter().enumerate() {
            let Some(l) = p.running() else { continue };
            if let Err(e) = self.oracle.check_final(l.state(), &self.amb) {
                errs.push(("final", format!("process {i}: {e}")));
                break;
            }
            let m = l.metrics();
            if m.unsendable > 0 {
                errs.push(("bound", format!("process {i} could not send {} messages (message_bytes_max too small for the state)", m.unsendable)));
            }
        }
        for p in 0..self.procs.len() {
            self.check_exposed(p);
        }
        // Shared ids: detected, or provably undetectable.
        let running: Vec<Running<'_, C>> = self
            .procs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.running().map(|leader| Running { proc: i, leader }))
            .collect();
        let mut notes = Vec::new();
        for w in self.amb.iter() {
            let wrote = self.wrote.get(&w).map_or(0, BTreeSet::len);
            if self.detected.contains(&w) {
                continue;
            }
            if wrote < 2 {
                notes.push(format!(
                    "shared writer {w}: not detected, none needed: only {wrote} of its copies wrote, so no dot was issued twice"
                ));
                continue;
            }
            match conflict_verdict(w, &running) {
                Ok(why) => notes.push(format!("shared writer {w}: not detected: {why}")),
                Err(e) => errs.push(("conflict", e)),
            }
        }
        // Shared ids whose copies write under writer ids of their own (a twin restored
        // from a snapshot): detected where some leader hears both copies (one address),
        // else invisible and harmless.
        for &id in &self.twinned {
            if self.detected_ids.contains(&id) {
                continue;
            }
            let copies: Vec<usize> = running
                .iter()
                .filter(|r| r.leader.id() == id)
                .map(|r| r.proc)
                .collect();
            if !self.confused.contains(&id) {
                notes.push(format!(
                    "shared id {id}: not detected: no leader is a peer of both copies, so none can tell them apart; harmless, as no writer id is shared unless noted above"
                ));
            } else if copies.len() >= 2 {
                let displaced: Vec<u32> = copies
                    .iter()
                    .map(|&c| self.procs[c].displacements)
                    .collect();
                notes.push(format!(
                    "shared id {id}: not detected: processes {copies:?} run under it behind one address, displaced {displaced:?} times, each under a writer id of its own unless noted above; the cluster went quiet before a displacement notice told one of them (harmless: no dot is shared)"
                ));
            } else {
                notes.push(format!(
                    "shared id {id}: not detected: only process(es) {copies:?} still run under it"
                ));
            }
        }
        drop(running);
        self.notes.extend(notes);
        for (check, e) in errs {
            self.fail(check, e);
        }
    }
}

/// Message kinds on the wire (`crdt-sync`'s header byte 3): 1 to 4 and 7 are
/// `Delta`, `Ack`, `Digest`, `Repair` and `Delta` with an acknowledgement; 5 and 6
/// are `Probe` and `ProbeReply`, which a leader takes in without recording the
/// sender's incarnation.
const KINDS: [&str; 9] = [
    "Delta",
    "Ack",
    "Digest",
    "Repair",
    "Probe",
    "ProbeReply",
    "DeltaAck",
    "Fragment",
    "FragmentAck",
];

/// Whether a message of this kind, accepted, records its sender's incarnation.
fn records_incarnation(kind: u8) -> bool {
    matches!(kind, 1..=4 | 7..=9)
}

/// The varint after the one that starts at `at`.
fn skip_varint(payload: &[u8], mut at: usize) -> usize {
    while at < payload.len() && payload[at] & 0x80 != 0 {
        at += 1;
    }
    at + 1
}

/// Reads the canonical varints of `payload` from byte `at` on (at most `n`).
fn varints(payload: &[u8], mut at: usize, n: usize) -> Vec<u64> {
    let mut nums = Vec::new();
    while nums.len() < n && at < payload.len() {
        let (mut v, mut shift) = (0u64, 0);
        while at < payload.len() {
            let b = payload[at];
            at += 1;
            v |= u64::from(b & 0x7f) << shift.min(63);
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        nums.push(v);
    }
    nums
}

/// A well-formed message's kind and sender incarnation: the envelope, kind and type
/// tag, then the sender's id and incarnation as varints.
fn header(payload: &[u8]) -> Option<(u8, Incarnation)> {
    let kind = crate::peek::kind(payload)?;
    let inc = *varints(
        payload,
        skip_varint(payload, crate::peek::sender_at(payload)),
        1,
    )
    .first()?;
    Some((kind, Incarnation::from_u64(inc)))
}

/// The kind of a protocol message, the sender's incarnation and the next header
/// varints (for traces).
fn kind_of(payload: &[u8]) -> String {
    let kind = crate::peek::kind(payload)
        .and_then(|k| KINDS.get(usize::from(k).wrapping_sub(1)))
        .unwrap_or(&"?");
    let nums = varints(
        payload,
        skip_varint(payload, crate::peek::sender_at(payload)),
        3,
    );
    match nums.split_first() {
        Some((inc, rest)) => format!("{kind}@{}{rest:?}", Incarnation::from_u64(*inc)),
        None => format!("{kind}[]"),
    }
}

/// The eager links of a seed with lazy links: a breadth-first spanning tree of `t`
/// from leader 0, less one of its links (drawn from `seed`). The tree is cut in two,
/// joined only by lazy links, so writes cross the cut only through the repairs that
/// the lazy links' digests ask for, in every seed.
fn eager_links(t: &super::topology::Topology, seed: u64) -> BTreeSet<(usize, usize)> {
    let mut tree = spanning_tree(t);
    let cut = usize::try_from(seed % tree.len().max(1) as u64).unwrap_or(0);
    if let Some(link) = tree.iter().nth(cut).copied() {
        tree.remove(&link);
    }
    tree
}

/// The links of a breadth-first spanning tree of `t` from leader 0 (`a < b`).
fn spanning_tree(t: &super::topology::Topology) -> BTreeSet<(usize, usize)> {
    let mut seen = vec![false; t.leaders];
    let mut tree = BTreeSet::new();
    let mut queue = std::collections::VecDeque::from([0]);
    seen[0] = true;
    while let Some(u) = queue.pop_front() {
        for &(a, b) in &t.edges {
            let v = match (a == u, b == u) {
                (true, _) => b,
                (_, true) => a,
                _ => continue,
            };
            if !seen[v] {
                seen[v] = true;
                tree.insert((a, b));
                queue.push_back(v);
            }
        }
    }
    tree
}
