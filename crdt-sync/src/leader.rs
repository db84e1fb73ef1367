//! The protocol engine: one leader of a multi-leader group.

use crate::buffer::DeltaBuffer;
use crate::message::{FLAG_REPAIR_ME, FLAG_SEND_DIGEST};
use crate::peer::{Peer, Push};
use crate::schedule::Schedule;
use crate::{Config, Incarnation, Metrics, SyncError};
use crdt_core::{DeltaCrdt, ReplicaId, VersionVector};
use std::collections::BTreeMap;

/// Incarnations drawn at most for one whose writer id is not the collapse id (each
/// draw hits it with probability 2^-53).
const WRITER_DRAWS_MAX: u32 = 8;

/// A message to hand to the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The peer to deliver it to.
    pub to: ReplicaId,
    /// The bytes to deliver, unchanged, to that peer's [`Leader::receive`].
    pub payload: Vec<u8>,
}

/// One leader of a multi-leader group replicating a `C`: it accepts local writes,
/// exchanges deltas with its peers, and converges with every leader it is connected to
/// (directly or over several hops) — sans-IO: bytes in ([`Leader::receive`]), bytes out
/// ([`Leader::poll_transmit`]), rounds driven by the caller ([`Leader::tick`]). No
/// sockets, threads, clocks or randomness inside, so every run is reproducible.
///
/// See the crate documentation for the protocol and what each guarantee rests on.
pub struct Leader<C: DeltaCrdt> {
    pub(crate) id: ReplicaId,
    pub(crate) incarnation: Incarnation,
    pub(crate) writer: ReplicaId,
    /// The caller's entropy from the start or restore that made this copy; every
    /// incarnation it takes draws its nonce from it. `None` only while a checkpoint
    /// is being turned back into a leader.
    pub(crate) nonce_seed: Option<u64>,
    /// Nonces drawn from `nonce_seed` so far.
    pub(crate) nonces_drawn: u64,
    /// How often a newer incarnation of this leader displaced it (see `displaced`).
    pub(crate) displacements: u32,
    /// The id of the current probe (answers to other probes are not fresh).
    pub(crate) probe_id: u32,
    /// Ticks since the current probe began (see `Config::probe_timeout_ticks`).
    pub(crate) probe_ticks: u32,
    /// While probing: the newest incarnation of us that notices and answers to
    /// earlier probes named (a lower bound for the one to take).
    pub(crate) probe_floor: Option<Incarnation>,
    pub(crate) config: Config,
    pub(crate) state: C,
    pub(crate) token: VersionVector,
    pub(crate) buffer: DeltaBuffer<C>,
    /// Boxed: a B-tree leaf holds 11 values, and a `Peer` is a few hundred bytes, so
    /// unboxed the first peer cost a whole leaf (about 6 KB) in every leader, which
    /// is every document of a node.
    pub(crate) peers: BTreeMap<ReplicaId, Box<Peer<C::Summary>>>,
    /// Set once another leader was found writing under our writer id: writes refused.
    pub(crate) conflict: bool,
    /// Set by `restore` until `checkpoint` persists the new incarnation.
    pub(crate) needs_checkpoint: bool,
    /// Set by `restore` (or a displacement) until every peer said which incarnations
    /// of us it has seen, or `Config::probe_timeout_ticks` ticks passed.
    pub(crate) probing: bool,
    pub(crate) ticks: u64,
    pub(crate) metrics: Metrics,
    /// The peer `poll_transmit` served last (round robin).
    pub(crate) cursor: Option<ReplicaId>,
    /// Which peers may have output, and the lowest acknowledgement (see `schedule`).
    pub(crate) schedule: Schedule,
    /// Counts changes of `state` (keys the hash cache).
    pub(crate) state_version: u64,
    /// `(state_version, state_hash)` of the last hash computed.
    pub(crate) hash_cache: Option<(u64, u64)>,
    /// During [`Leader::receive_changes`]: the join of what the message added.
    pub(crate) changes: Option<C>,
    /// The writers this leader retired (`None` until the first commit; boxed, as most
    /// leaders never retire anything).
    pub(crate) retired: Option<Box<crate::retired::Retired>>,
}

/// The state's hash, recomputed only after the state changed.
pub(crate) fn cached_hash<C: DeltaCrdt>(
    state: &C,
    cache: &mut Option<(u64, u64)>,
    version: u64,
) -> u64 {
    match cache {
        Some((v, h)) if *v == version => *h,
        _ => {
            let h = state.state_hash();
            *cache = Some((version, h));
            h
        }
    }
}

impl<C: DeltaCrdt> Leader<C> {
    /// A new leader with the default [`Config`], its first incarnation made unique by a
    /// nonce from the operating system. A non-empty `initial` state is shared with peers
    /// like a local write.
    ///
    /// Every new leader writes under a [writer id](crate::writer_id) of its own, even
    /// under a [`ReplicaId`] an earlier process used: a leader started empty again after
    /// its storage was lost never issues a dot its earlier life issued (which peers would
    /// take for writes they already hold, and keep different for ever). Peers that saw
    /// a newer incarnation of the id tell it so, and it takes one above it (as a
    /// restored leader does, see [`Leader::restore`]).
    ///
    /// Not available on `wasm32-unknown-unknown`: pass entropy from JavaScript
    /// (`crypto.getRandomValues`) to [`Leader::with_nonce`].
    ///
    /// # Errors
    /// [`SyncError::NoEntropy`] if the operating system gave no random bytes.
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn new(id: ReplicaId, initial: C) -> Result<Self, SyncError> {
        Self::with_config(id, initial, Config::default())
    }

    /// [`Leader::new`] with explicit limits.
    ///
    /// # Errors
    /// As [`Leader::new`].
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn with_config(id: ReplicaId, initial: C, config: Config) -> Result<Self, SyncError> {
        let nonce = getrandom::u64().map_err(|_| SyncError::NoEntropy)?;
        Ok(Self::with_nonce(id, initial, config, nonce))
    }

    /// [`Leader::new`] with the caller's entropy: `nonce` seeds the nonce of the first
    /// incarnation and of every later one this leader takes. It must be unpredictable
    /// and never reused: 64 random bits from a cryptographic generator, or a seeded
    /// one in a deterministic simulation. Two leaders given the same `nonce` under one
    /// id write under the same writer id, which is what the nonce exists to prevent.
    ///
    /// The cost of a first incarnation of its own: the derived writer id takes up to
    /// 8 bytes in every version vector and dot (a random 53-bit replica id takes as
    /// many), and the incarnation up to 5 bytes in each message.
    #[must_use]
    pub fn with_nonce(id: ReplicaId, initial: C, config: Config, nonce: u64) -> Self {
        let mut leader = Self {
            id,
            incarnation: Incarnation::FIRST,
            writer: id,
            nonce_seed: Some(nonce),
            nonces_drawn: 0,
            displacements: 0,
            probe_id: 0,
            probe_ticks: 0,
            probe_floor: None,
            config,
            state: C::default(),
            token: VersionVector::new(),
            buffer: DeltaBuffer::new(),
            peers: BTreeMap::new(),
            conflict: false,
            needs_checkpoint: false,
            probing: false,
            ticks: 0,
            metrics: Metrics::default(),
            cursor: None,
            schedule: Schedule::default(),
            state_version: 0,
            hash_cache: None,
            changes: None,
            retired: None,
        };
        // Nonce 0 would be `Incarnation::FIRST`, the incarnation of leaders made before
        // every leader had a nonce, writing under the id itself.
        // The collapse id is reserved (retired writers' metadata moves under it): an
        // incarnation whose derived writer id is that id (one in 2^53) is skipped.
        let first = |nonce: u32| Some(Incarnation::new(0, nonce.max(1)));
        let (seed, collapse) = (leader.nonce_seed, leader.config.collapse);
        if let Some(inc) = draw_incarnation(id, collapse, seed, &mut leader.nonces_drawn, &first) {
            leader.incarnation = inc;
        }
        leader.writer = crate::writer_id(id, leader.incarnation);
        let novel = leader.state.merge_delta(&initial);
        if !novel.is_bottom() {
            // The initial state counts as the first write: every update a token
            // describes is a counted write.
            leader.record_local(novel);
        }
        leader
    }

    /// Adds a leader this one exchanges messages with directly. Topologies are
    /// arbitrary (mesh, ring, line, star): updates are relayed across hops.
    ///
    /// # Errors
    /// [`SyncError::SelfPeer`] or [`SyncError::TooManyPeers`]. Adding a present peer
    /// does nothing.
    pub fn add_peer(&mut self, peer: ReplicaId) -> Result<(), SyncError> {
        if peer == self.id {
            return Err(SyncError::SelfPeer);
        }
        if self.peers.contains_key(&peer) {
            return Ok(());
        }
        if self.peers.len() >= self.config.peers_max {
            return Err(SyncError::TooManyPeers {
                max: self.config.peers_max,
            });
        }
        self.peers.insert(peer, Box::new(Peer::new(None)));
        self.schedule.ack_added(0);
        self.schedule.wake(peer);
        Ok(())
    }

    /// Stops talking to `peer`; its acknowledgements no longer hold back the buffer.
    pub fn remove_peer(&mut self, peer: ReplicaId) {
        if let Some(p) = self.peers.remove(&peer) {
            self.schedule.remove(peer, p.stream.acked());
            self.collect_garbage();
            self.finish_probe_if_answered();
        }
    }

    /// Whether this leader relays deltas to `peer` (`lazy = false`, the default) or
    /// sends it none (`lazy = true`): on a mesh, a host that makes the links outside a
    /// spanning tree lazy stops flooding every write over every link (BENCHMARKS.md,
    /// the wire section). A lazy peer gets our writes over the eager links, and
    /// anything they fail to bring (a leader they do not reach converges all the same,
    /// at the pace of digests) through a repair: each digest of the peer (every
    /// `Config::digest_interval_ticks`, and at least every
    /// [`LAZY_DIGEST_INTERVAL_TICKS`]) is compared with what we had at its previous one, and
    /// what it lacks is sent, removals included. A lazy peer never holds back garbage
    /// collection. Turning a peer eager again sends it a repair first, then intervals.
    /// Causal tokens travel only with the content they describe, so sessions are
    /// unaffected. Lazy is a direction: the peer may still push to us.
    ///
    /// [`LAZY_DIGEST_INTERVAL_TICKS`]: crate::LAZY_DIGEST_INTERVAL_TICKS
    ///
    /// # Errors
    /// [`SyncError::UnknownPeer`] if `peer` is not a peer.
    pub fn set_peer_lazy(&mut self, peer: ReplicaId, lazy: bool) -> Result<(), SyncError> {
        let p = self
            .peers
            .get_mut(&peer)
            .ok_or(SyncError::UnknownPeer(peer))?;
        p.set_push(if lazy { Push::Lazy } else { Push::Eager });
        self.schedule.wake(peer);
        Ok(())
    }

    /// Whether this leader sends `peer` no intervals ([`Leader::set_peer_lazy`]);
    /// `None` if it is not a peer.
    #[must_use]
    pub fn peer_is_lazy(&self, peer: ReplicaId) -> Option<bool> {
        self.peers.get(&peer).map(|p| p.push() == Push::Lazy)
    }

    /// The peers, ascending.
    pub fn peers(&self) -> impl Iterator<Item = ReplicaId> + '_ {
        self.peers.keys().copied()
    }

    /// Applies a local write: `op` under this leader's [`Leader::writer_id`]. Its
    /// delta is buffered and ready for every peer at once, and returned.
    ///
    /// Operations are values ([`DeltaCrdt::Op`]: e.g. `OrSetOp::Insert`), not closures
    /// over the state: the leader alone mutates its state, so every change it makes is
    /// in the delta it sends, and no write can go out under another id.
    ///
    /// # Errors
    /// [`SyncError::ReplicaIdConflict`] once another leader was found writing under this
    /// leader's id; [`SyncError::Restoring`] or [`SyncError::CheckpointRequired`] after a
    /// restore until [`Leader::checkpoint`] was persisted; [`SyncError::Refused`] when
    /// the type refuses the operation (a counter that would overflow). The state is
    /// unchanged then.
    pub fn apply(&mut self, op: C::Op) -> Result<C, SyncError> {
        self.can_write()?;
        let delta = self.state.apply(self.writer, op)?;
        if !delta.is_bottom() {
            self.record_local(delta.clone());
        }
        Ok(delta)
    }

    /// Counts a local write in the token and buffers it for every peer.
    fn record_local(&mut self, delta: C) {
        self.state_version += 1;
        let n = self.token.get(self.writer).saturating_add(1);
        self.token.advance(self.writer, n);
        self.buffer_entry(None, delta);
        // Planted bug `TokenPruning` (sabotage builds only): a local write is covered
        // by its own token entry.
        #[cfg(feature = "sabotage")]
        if crdt_core::sabotage::active(crdt_core::sabotage::Bug::TokenPruning) {
            self.buffer
                .cover_newest([(self.writer, n)].into_iter().collect());
        }
    }

    /// Whether [`Leader::apply`] would accept a write now.
    ///
    /// # Errors
    /// The error `mutate` would return: [`SyncError::ReplicaIdConflict`],
    /// [`SyncError::Restoring`] or [`SyncError::CheckpointRequired`].
    pub fn can_write(&self) -> Result<(), SyncError> {
        if self.conflict {
            return Err(SyncError::ReplicaIdConflict {
                replica: self.writer,
            });
        }
        if self.probing {
            return Err(SyncError::Restoring);
        }
        if self.needs_checkpoint {
            return Err(SyncError::CheckpointRequired);
        }
        Ok(())
    }

    /// One anti-entropy round: unacknowledged intervals and repairs are sent again and
    /// missing repairs requested again — after 1 tick without progress, then 2, 4, up to
    /// 8 (so an unreachable peer is not flooded) — and every
    /// `Config::digest_interval_ticks` rounds each peer gets a digest. A probe still
    /// unanswered after `Config::probe_timeout_ticks` ticks is finished with the
    /// answers at hand (see [`Leader::restore`]).
    pub fn tick(&mut self) {
        self.ticks += 1;
        if self.probing {
            self.probe_ticks = self.probe_ticks.saturating_add(1);
            let timeout = self.config.probe_timeout_ticks;
            // Planted bug `ProbeNeverTimesOut` (sabotage builds only): probes wait for
            // every answer, as before the timeout.
            #[cfg(feature = "sabotage")]
            let timeout =
                match crdt_core::sabotage::active(crdt_core::sabotage::Bug::ProbeNeverTimesOut) {
                    true => 0,
                    false => timeout,
                };
            if timeout > 0 && self.probe_ticks >= timeout {
                self.metrics.probes_timed_out += 1;
                self.finish_probe();
            }
        }
        let every = |interval: u32| interval > 0 && self.ticks % u64::from(interval) == 0;
        let digest_now = every(self.config.digest_interval_ticks);
        // A lazy peer is repaired when its digest shows it lacks what we had at its
        // previous one, so it gets digests at least every LAZY_DIGEST_INTERVAL_TICKS
        // (also with periodic digests off), and each asks for its digest in return
        // unless one arrived since the last (a peer that is idle, not ticking, answers
        // all the same).
        let lazy = crate::config::LAZY_DIGEST_INTERVAL_TICKS;
        let lazy_digest_now = match self.config.digest_interval_ticks {
            0 => every(lazy),
            n => every(n.min(lazy)),
        };
        let digests_off = self.config.digest_interval_ticks == 0;
        let head = self.buffer.head();
        self.tick_transfers();
        let probing = self.probing;
        for peer in self.peers.values_mut() {
            let digest = match peer.push() {
                Push::Eager => digest_now.then_some(0),
                Push::Lazy => lazy_digest_now.then(|| peer.lazy_digest_flags()),
            };
            peer.tick(head, probing, digest, digests_off);
        }
        self.schedule.wake_all();
    }

    /// The replicated state (everything merged so far).
    #[must_use]
    pub fn state(&self) -> &C {
        &self.state
    }

    /// This leader's id (how peers address it).
    #[must_use]
    pub fn id(&self) -> ReplicaId {
        self.id
    }

    /// The id this leader writes under in its current incarnation (see
    /// [`writer_id`](crate::writer_id)): the writer of every [`Leader::apply`].
    #[must_use]
    pub fn writer_id(&self) -> ReplicaId {
        self.writer
    }

    /// This leader's current incarnation: counter 0 with the nonce of its start until
    /// it is restored from a checkpoint or displaced; while it probes, the previous
    /// one.
    #[must_use]
    pub fn incarnation(&self) -> Incarnation {
        self.incarnation
    }

    /// Everything this leader has seen, as a version vector over writers counting their
    /// mutations. A client that carries the token from its write (or read) to another
    /// leader and waits there until [`Leader::covers`] it gets read-your-writes and
    /// monotonic reads across leaders.
    #[must_use]
    pub fn causal_token(&self) -> VersionVector {
        self.token.clone()
    }

    /// What this leader holds of `writer`: its highest dot and counter contributions
    /// in the replicated state, and its causal-token entry (every write it made that
    /// arrived here, removes and deletes included). A retirement member answers with
    /// this ([`crate::retirement::Member::handle`]): a writer is retired only once every
    /// member holds exactly its certified holdings.
    #[must_use]
    pub fn holdings(&self, writer: ReplicaId) -> crate::retirement::Holdings
    where
        C: crdt_core::Retire,
    {
        crate::retirement::Holdings {
            held: self.state.held(writer),
            writes: self.token.get(writer),
        }
    }

    /// Whether this leader has seen at least everything `token` names.
    #[must_use]
    pub fn covers(&self, token: &VersionVector) -> bool {
        #[cfg(not(feature = "retirement"))]
        return self.token.covers(token);
        #[cfg(feature = "retirement")]
        match self.retired.as_deref() {
            None => self.token.covers(token),
            // A retired writer's entry is covered up to its write count: every member
            // holds all of its writes once it is retired (`docs/RETIREMENT.md` §3.2).
            Some(retired) => token.iter().all(|(w, count)| {
                retired
                    .covers(w, count)
                    .unwrap_or_else(|| self.token.get(w) >= count)
            }),
        }
    }

    /// Whether writes are refused because another leader writes under this id.
    #[must_use]
    pub fn has_id_conflict(&self) -> bool {
        self.conflict
    }

    /// Changes the replicated state behind the protocol's back, as a corrupted store
    /// or a buggy peer would (e.g. drop an element without a trace in the causal
    /// context): for fault-injection tests of the digest safety net only.
    #[cfg(feature = "fault-injection")]
    #[doc(hidden)]
    pub fn inject_state_damage(&mut self, damage: impl FnOnce(&mut C)) {
        damage(&mut self.state);
        self.state_version += 1;
    }

    /// The replicated state's hash ([`DeltaCrdt::state_hash`]: equal states hash
    /// equally on every replica), recomputed only after the state changed.
    pub fn state_hash(&mut self) -> u64 {
        cached_hash(&self.state, &mut self.hash_cache, self.state_version)
    }

    /// Writes each peer is known to miss, ascending by peer: [`Metrics::peer_lag`]
    /// without building the map (a host checking thousands of documents per tick).
    pub fn peer_lag(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        self.peers.iter().map(|(id, p)| {
            let lag = self
                .token
                .iter()
                .map(|(w, c)| c.saturating_sub(p.known.token().get(w)))
                .fold(0u64, u64::saturating_add);
            (*id, lag)
        })
    }

    /// Whether nothing is left to do until the next write: no delta buffered (every
    /// peer acknowledged everything), no peer known to miss a write, and writes
    /// accepted (not restoring, no checkpoint awaited, no id conflict). Allocates
    /// nothing.
    #[must_use]
    pub fn is_settled(&self) -> bool {
        self.buffer.len() == 0
            && self.peer_lag().all(|(_, lag)| lag == 0)
            && self.can_write().is_ok()
    }

    /// Counters, buffer figures and per-peer lag.
    #[must_use]
    pub fn metrics(&self) -> Metrics {
        let mut m = self.metrics.clone();
        m.deltas_buffered = self.buffer.len() as u64;
        m.buffered_bytes = self.buffer.bytes() as u64;
        m.peer_lag = self.peer_lag().collect();
        m
    }

    /// Stores a delta for the peers, even an empty one (which still carries the
    /// token).
    pub(crate) fn buffer_entry(&mut self, origin: crate::buffer::Origin, novel: C) {
        if self
            .buffer
            .push(origin, novel, self.config.buffer_bytes_max)
        {
            self.schedule.news();
        } else {
            self.metrics.buffer_overflows += 1;
            // Deltas some peers needed are gone: those are repaired instead.
            self.schedule.wake_all();
        }
        if self.peers.is_empty() {
            self.collect_garbage();
        }
    }

    /// Drops the deltas every peer has acknowledged. O(log peers) plus the deltas
    /// dropped: the lowest acknowledgement is kept up to date as they move.
    pub(crate) fn collect_garbage(&mut self) {
        let upto = self.schedule.min_ack().unwrap_or(self.buffer.head());
        debug_assert_eq!(
            Some(upto),
            self.peers
                .values()
                .map(|p| p.stream.acked())
                .min()
                .or(Some(self.buffer.head())),
            "the acknowledgement multiset is out of step"
        );
        self.buffer.collect_garbage(upto);
    }

    /// Starts a probe (after a restore, or after being displaced): the leader acts as
    /// if it had lost its buffer and its view of every peer, takes nothing in and
    /// writes nothing until every peer said which incarnations of it they have seen,
    /// or for `Config::probe_timeout_ticks` ticks at most (see `finish_probe`).
    pub(crate) fn begin_probe(&mut self) {
        self.begin_probe_above(None);
    }

    /// [`Leader::begin_probe`], ending at an incarnation above `floor` too (one of this
    /// leader's that is known to exist) whatever the peers answer.
    pub(crate) fn begin_probe_above(&mut self, floor: Option<Incarnation>) {
        self.state_version += 1;
        // Whatever was buffered is void for peers that will see a new incarnation: pretend
        // delta 1 held it and is gone, so every peer is repaired from its summary.
        self.buffer = crate::buffer::DeltaBuffer::starting_after(1);
        for peer in self.peers.values_mut() {
            peer.probe_started();
        }
        self.schedule
            .recount_acks(self.peers.values().map(|p| p.stream.acked()));
        self.schedule.wake_all();
        self.cursor = None;
        self.needs_checkpoint = true;
        self.probing = true;
        self.probe_id = self.draw_nonce().max(1);
        self.probe_ticks = 0;
        self.probe_floor = floor;
        self.finish_probe_if_answered();
    }

    /// Ends a probe once every peer answered: the leader takes an incarnation above
    /// every one any peer has seen of it (however old the checkpoint, and however often
    /// it was restored), so peers never mistake it for a stale copy, with a fresh
    /// nonce, so it never writes under an id a copy of it already used.
    pub(crate) fn finish_probe_if_answered(&mut self) {
        if !self.probing || self.peers.values().any(|p| p.probe_answer().is_none()) {
            return;
        }
        self.finish_probe();
    }

    /// Ends the probe with the answers at hand: every peer's after
    /// [`finish_probe_if_answered`](Self::finish_probe_if_answered), some of them after
    /// `Config::probe_timeout_ticks` ticks (a `tick`) or the removal of the last
    /// silent peer (`remove_peer`).
    ///
    /// Ending without a peer's answer is safe, because nothing but the restart
    /// **counter** depends on the answers:
    ///
    /// - *No dot is issued twice.* The writer id is derived from the id and the whole
    ///   incarnation, counter and nonce (`writer_id`), and the nonce is drawn here
    ///   from this copy's own entropy (`draw_nonce`). Another life of this id (a
    ///   crashed copy, a twin, a life the silent peer saw) writes under the same id
    ///   only if it has the same counter *and* the same 32-bit nonce, or by a 53-bit
    ///   hash collision; this copy's own incarnations strictly grow (`next_after` is
    ///   above `self.incarnation`). The answers only make equal counters rarer: they
    ///   never made the writer id unique, as a crashed copy's messages in flight
    ///   (unseen by any peer) and every new leader (counter 0) show. Without them equal
    ///   counters are more frequent (copies of one checkpoint restored while the same
    ///   peer is silent take the same counter), so the 2⁻³² odds of equal nonces apply
    ///   to more pairs: the odds every leader started under a used id already runs.
    /// - *A peer that saw a newer life still displaces it.* If the silent peer saw an
    ///   incarnation above the one taken here, it drops this leader's messages as
    ///   stale once they reach it and sends a displacement notice (a `ProbeReply`
    ///   addressed to this incarnation, `receive.rs`); `displaced` then probes again
    ///   (that peer answering, now) and jumps above it, and a copy displaced more than
    ///   [`DISPLACEMENTS_MAX`] times reports the conflict, as for any displacement
    ///   (so a peer that is silent at every probe yet reached in between can make a
    ///   copy stop writing: safe, and what `Config::probe_timeout_ticks` well above a
    ///   round trip avoids). A late answer to the abandoned probe is addressed to the
    ///   previous incarnation and is dropped as stale: the notice replaces it.
    /// - *Writes still wait for the checkpoint* of the new incarnation
    ///   (`needs_checkpoint`), as after any probe.
    ///
    /// A peer that never answers and is never reached never learns of this leader's
    /// incarnation and never displaces it; what both write still reaches each other
    /// through other peers, under writer ids of their own.
    fn finish_probe(&mut self) {
        let seen = self
            .peers
            .values()
            .filter_map(|p| p.probe_answer().flatten())
            .chain(self.probe_floor)
            .max();
        // After the n-th displacement, 2^n counters above the newest seen: crashed
        // copies of this id with messages still in flight (each a life the peers had
        // not seen when they answered) then displace it about log2(lives) times, not
        // once per life, before DISPLACEMENTS_MAX takes it for a live twin.
        let step = 1u32 << self.displacements.min(16);
        #[cfg(feature = "sabotage")]
        let step = match crdt_core::sabotage::active(crdt_core::sabotage::Bug::DisplacedStepsByOne)
        {
            true => 1,
            false => step,
        };
        // As in `with_nonce`, an incarnation writing under the collapse id is skipped.
        let current = self.incarnation;
        let after = |nonce: u32| current.next_after(seen, step, nonce);
        let fresh = draw_incarnation(
            self.id,
            self.config.collapse,
            self.nonce_seed,
            &mut self.nonces_drawn,
            &after,
        );
        let Some(next) = fresh else {
            // 2^32 - 1 restores: no fresh incarnation is left, so never write again.
            self.conflict = true;
            self.probing = false;
            return;
        };
        #[cfg(feature = "sabotage")]
        let next =
            match crdt_core::sabotage::active(crdt_core::sabotage::Bug::RestoreKeepsIncarnation) {
                true => self.incarnation, // the restored copy reuses the crashed copy's writer id
                false => next,
            };
        self.incarnation = next;
        self.writer = crate::writer_id(self.id, next);
        self.probing = false;
        // The new incarnation must be durable before it writes (a checkpoint taken while
        // probing recorded the old one).
        self.needs_checkpoint = true;
        for peer in self.peers.values_mut() {
            peer.probe_finished();
        }
        self.schedule.wake_all();
        self.after_restore();
    }

    /// The next nonce from the restore's entropy (SplitMix64 over a counter: distinct
    /// seeds give independent-looking sequences).
    fn draw_nonce(&mut self) -> u32 {
        draw_nonce(self.nonce_seed, &mut self.nonces_drawn)
    }

    /// A peer reported a newer incarnation of this leader than its own (`newer`).
    ///
    /// Either a copy of this leader that crashed left messages in flight under an
    /// incarnation that was unknown when this copy probed (it restored an older
    /// checkpoint, or peers forgot), or a second live copy runs. A restored copy takes
    /// an incarnation above it (probing again), so peers stop dropping its messages as
    /// stale; its writes so far stay valid (they were made under its own writer id).
    /// A leader started empty does the same: it may be the same id started again after
    /// its storage was lost, which is legitimate. Each displacement doubles how far
    /// above the newest incarnation seen the next one is taken, so a history of many
    /// crashed lives displaces a copy only a few times. A copy displaced more than
    /// [`DISPLACEMENTS_MAX`] times keeps meeting a live twin: it reports
    /// [`SyncError::ReplicaIdConflict`] and refuses writes.
    pub(crate) fn displaced(&mut self, newer: Incarnation) {
        if newer <= self.incarnation || self.probing || self.conflict {
            self.metrics.stale_messages += 1;
            return;
        }
        self.displacements = self.displacements.saturating_add(1);
        if self.displacements > DISPLACEMENTS_MAX {
            self.conflict = true;
            return;
        }
        // The probe ends above `newer` even if no peer that answers has seen it: the
        // one that named it may be unreachable by the probe (a copy of a neighbour
        // behind its address, whose messages reach us but ours go to the other copy),
        // and without the floor each probe ended below it again, until the displacements
        // ran out and a leader that shares its id with nobody reported a conflict.
        self.begin_probe_above(Some(newer));
    }

    /// Puts a restored leader in the state of having lost its buffer: every peer is
    /// asked for a repair and for its summary (so it can be repaired in turn).
    pub(crate) fn after_restore(&mut self) {
        for peer in self.peers.values_mut() {
            peer.inbound.await_repair();
            peer.request_digest(FLAG_REPAIR_ME | FLAG_SEND_DIGEST);
        }
        self.schedule.wake_all();
    }
}

/// How often a leader re-probes because a newer incarnation of it showed up before it
/// reports [`SyncError::ReplicaIdConflict`]: in-flight messages of crashed copies
/// displace it about log2 of their number of lives times (each displacement doubles the
/// jump above the newest incarnation seen), a live twin without end.
pub const DISPLACEMENTS_MAX: u32 = 3;

impl<C: DeltaCrdt> core::fmt::Debug for Leader<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Leader")
            .field("id", &self.id)
            .field("incarnation", &self.incarnation)
            .field("writer", &self.writer)
            .field("token", &self.token)
            .field("buffer_head", &self.buffer.head())
            .field("peers", &self.peers.keys().collect::<Vec<_>>())
            .field("state", &self.state)
            .finish()
    }
}

/// The next nonce from a leader's entropy `seed` (SplitMix64 over the count of nonces
/// `drawn`: distinct seeds give independent-looking sequences).
fn draw_nonce(seed: Option<u64>, drawn: &mut u64) -> u32 {
    *drawn = drawn.wrapping_add(1);
    let z = crate::writer_id::splitmix64(
        seed.unwrap_or(0)
            .wrapping_add(drawn.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
    );
    (z ^ (z >> 32)) as u32
}

/// The incarnation `make` gives for the next nonce, skipping (up to
/// [`WRITER_DRAWS_MAX`] draws) one whose writer id is the collapse id; `None` if
/// `make` has none. Not generic over the replicated type: one copy in a module
/// that holds several.
fn draw_incarnation(
    id: ReplicaId,
    collapse: ReplicaId,
    seed: Option<u64>,
    drawn: &mut u64,
    make: &dyn Fn(u32) -> Option<Incarnation>,
) -> Option<Incarnation> {
    let mut fresh = None;
    for _ in 0..WRITER_DRAWS_MAX {
        fresh = make(draw_nonce(seed, drawn));
        if fresh.map_or(true, |n| crate::writer_id(id, n) != collapse) {
            break;
        }
    }
    fresh
}

#[cfg(test)]
mod displacement_tests {
    use crate::checkpoint::tests::pump;
    use crate::{Config, Incarnation, Leader};
    use crdt_core::{OrSet, ReplicaId};

    /// Found by the simulator (seed 9876543214219: `sim_regressions` and docs/TESTING.md):
    /// a message naming a newer life of this leader came from a copy of a neighbour
    /// behind its address, which the probe does not reach; the peers the probe reaches
    /// never saw that life. The probe must still end above it, or the copy displaces
    /// the leader again after each probe until it reports a conflict it does not have.
    #[test]
    fn a_displaced_leader_ends_its_probe_above_the_life_that_displaced_it() {
        let (i3, i2) = (ReplicaId::new(3), ReplicaId::new(2));
        let mut a = Leader::with_nonce(i3, OrSet::<String>::new(), Config::default(), 11);
        let mut b = Leader::with_nonce(i2, OrSet::<String>::new(), Config::default(), 12);
        a.add_peer(i2).unwrap();
        b.add_peer(i3).unwrap();
        pump(&mut a, &mut b);
        for round in 0..3 {
            let newer = Incarnation::new(a.incarnation().counter() + 20, 0x1234);
            a.displaced(newer);
            assert!(a.probing, "round {round}: probing");
            // The probe reaches only `b`, which has seen nothing above `a`'s own life.
            pump(&mut a, &mut b);
            assert!(!a.probing && !a.conflict, "round {round}");
            assert!(
                a.incarnation() > newer,
                "round {round}: {:?} is not above {newer:?}",
                a.incarnation()
            );
            assert!(a.can_write().is_ok() || a.needs_checkpoint, "round {round}");
        }
    }
}
