//! Sequential oracles for the protocol's randomized property tests.
//!
//! - [`Rng`]: a tiny seeded generator (SplitMix64), so a run depends on its seed only;
//! - [`Log`]: every acknowledged write (a `mutate` that returned `Ok` with a non-empty
//!   delta) in order, with what a crash may legitimately lose: the writes a leader made
//!   after its last snapshot, under the writer id of the incarnation that crashed;
//! - [`Model`]: per replicated type, how a random write is drawn and recorded, what a
//!   converged state must be given the writes that survived, and what a leader that
//!   covers a write's causal token must show of it (session guarantees).

use crdt_core::codec::WireFormat;
use crdt_core::{
    DeltaCrdt, Dot, GCounter, LwwOp, LwwRegister, OrSet, OrSetOp, PnCounter, PnCounterOp,
    ReplicaId, Timestamp, VersionVector,
};
use crdt_sync::Leader;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

/// SplitMix64: a seeded, deterministic generator (no global RNG, no clock).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator whose whole output is determined by `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A number in `0..n` (0 if `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// `true` with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
}

/// One acknowledged write.
#[derive(Clone, Debug)]
pub struct Ack<R> {
    /// The leader that accepted it.
    pub leader: u64,
    /// The writer id it was issued under (the leader's id in that incarnation).
    pub writer: ReplicaId,
    /// Its number among `writer`'s writes, from 1: the writer's entry in the causal
    /// token right after the write.
    pub seq: u64,
    /// The leader's causal token right after the write.
    pub token: VersionVector,
    /// What the write did.
    pub rec: R,
}

/// Every acknowledged write, with what crashes may have lost.
#[derive(Debug)]
pub struct Log<R> {
    /// The writes, in the order they were acknowledged.
    pub acks: Vec<Ack<R>>,
    counts: BTreeMap<ReplicaId, u64>,
    /// For a writer: how many of its writes were in its leader's last snapshot.
    durable: BTreeMap<ReplicaId, u64>,
    /// Writers whose incarnation crashed: their writes past `durable` may be lost.
    retired: BTreeSet<ReplicaId>,
}

impl<R: Clone + Debug> Default for Log<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Clone + Debug> Log<R> {
    /// No writes yet.
    #[must_use]
    pub fn new() -> Self {
        Self {
            acks: Vec::new(),
            counts: BTreeMap::new(),
            durable: BTreeMap::new(),
            retired: BTreeSet::new(),
        }
    }

    /// How many writes `writer` made.
    #[must_use]
    pub fn count(&self, writer: ReplicaId) -> u64 {
        self.counts.get(&writer).copied().unwrap_or(0)
    }

    /// Records an acknowledged write and checks that the leader's causal token counts it.
    ///
    /// # Errors
    /// If the token does not count exactly this many writes of `writer`, or `writer`
    /// belongs to an incarnation that crashed.
    pub fn record(
        &mut self,
        leader: u64,
        writer: ReplicaId,
        token: VersionVector,
        rec: R,
    ) -> Result<(), String> {
        if self.retired.contains(&writer) {
            return Err(format!(
                "leader {leader} wrote under {writer:?}, the writer id of a crashed incarnation"
            ));
        }
        let seq = self.count(writer) + 1;
        if token.get(writer) != seq {
            return Err(format!(
                "leader {leader}: after write #{seq} of {writer:?} its causal token counts {}",
                token.get(writer)
            ));
        }
        self.counts.insert(writer, seq);
        self.acks.push(Ack {
            leader,
            writer,
            seq,
            token,
            rec,
        });
        Ok(())
    }

    /// The leader writing under `writer` took a snapshot: its writes so far are durable.
    pub fn snapshotted(&mut self, writer: ReplicaId) {
        let n = self.count(writer);
        self.durable.insert(writer, n);
    }

    /// The leader writing under `writer` crashed and was restored from its last snapshot.
    pub fn crashed(&mut self, writer: ReplicaId) {
        // A writer that never wrote (a restored copy that crashed before persisting its
        // new incarnation) leaves nothing behind to collide with.
        if self.count(writer) > 0 {
            self.retired.insert(writer);
        }
    }

    /// How many writes crashes may have lost (an upper bound), and how many were lost
    /// given a converged causal token.
    #[must_use]
    pub fn at_risk(&self, token: &VersionVector) -> (u64, u64) {
        let mut risk = 0;
        let mut lost = 0;
        for w in &self.retired {
            let n = self.count(*w);
            risk += n - self.durable.get(w).copied().unwrap_or(0).min(n);
            lost += n.saturating_sub(token.get(*w));
        }
        (risk, lost)
    }

    /// The writes a converged state with causal token `token` holds: for each writer, a
    /// prefix of its writes, all of them unless its incarnation crashed, and then at
    /// least those in its last snapshot.
    ///
    /// # Errors
    /// If the token claims writes never made, or misses writes that cannot be lost.
    pub fn survivors(&self, token: &VersionVector) -> Result<Vec<&Ack<R>>, String> {
        for (w, c) in token.iter() {
            let made = self.count(w);
            if c > made {
                return Err(format!(
                    "the converged causal token counts {c} writes of {w:?}, which made {made}"
                ));
            }
        }
        for (w, &made) in &self.counts {
            let have = token.get(*w);
            let floor = if self.retired.contains(w) {
                self.durable.get(w).copied().unwrap_or(0)
            } else {
                made
            };
            if have < floor {
                return Err(format!(
                    "acknowledged writes lost: the converged causal token counts {have} writes \
                     of {w:?}, which made {made} (at least {floor} of them durable: {})",
                    if self.retired.contains(w) {
                        "in its last snapshot before a crash"
                    } else {
                        "its leader never crashed"
                    }
                ));
            }
        }
        Ok(self
            .acks
            .iter()
            .filter(|a| a.seq <= token.get(a.writer))
            .collect())
    }
}

/// What a write may depend on.
#[derive(Clone, Copy, Debug)]
pub struct WriteEnv {
    /// The writing leader's wall clock (skewed, possibly going backwards).
    pub now_ms: u64,
    /// OR-Set only: draw post/reply writes (posts never removed, a reply to post `k` only
    /// where `k` is present) instead of inserts, removes and clears.
    pub causal: bool,
}

/// A replicated type under test, with its oracle.
pub trait Model: DeltaCrdt + WireFormat + 'static {
    /// What the oracle records of one write.
    type Rec: Clone + Debug + 'static;

    /// Makes one local write at `leader`, chosen by the random words `a` and `b`.
    /// Returns its record, or `None` if the delta was empty (no write happened).
    ///
    /// # Errors
    /// If the leader refused the write or the delta is not what the type documents.
    fn write(
        leader: &mut Leader<Self>,
        a: u32,
        b: u32,
        env: &WriteEnv,
    ) -> Result<Option<Self::Rec>, String>;

    /// Checks that a converged state is exactly what the `survivors` produce.
    ///
    /// # Errors
    /// What differs.
    fn check_final(state: &Self, survivors: &[&Ack<Self::Rec>]) -> Result<(), String>;

    /// Checks that `state`, at a leader that covers `ack.token`, reflects the write
    /// (`covers` tells whether that leader covers another write's token; `log` is every
    /// write so far).
    ///
    /// # Errors
    /// What is missing.
    fn reflects(
        state: &Self,
        ack: &Ack<Self::Rec>,
        log: &[Ack<Self::Rec>],
        covers: &dyn Fn(&VersionVector) -> bool,
    ) -> Result<(), String>;

    /// The type's own invariants on a replica state.
    ///
    /// # Errors
    /// The violation.
    fn check_state(_state: &Self) -> Result<(), String> {
        Ok(())
    }

    /// Post/reply runs: a state showing reply `REPLY + k` shows post `k`.
    ///
    /// # Errors
    /// The reply shown without its post.
    fn check_post_reply(_state: &Self) -> Result<(), String> {
        Ok(())
    }
}

// ------------------------------------------------------------------------ counters

/// A counter write: increment by `inc` or decrement by `dec` (one of them is 0).
#[derive(Clone, Debug)]
pub struct CounterRec {
    /// Increment.
    pub inc: u64,
    /// Decrement.
    pub dec: u64,
}

/// Per writer, the summed increments and decrements of `acks`.
fn sums<'a>(acks: impl Iterator<Item = &'a Ack<CounterRec>>) -> BTreeMap<ReplicaId, (u64, u64)> {
    let mut out: BTreeMap<ReplicaId, (u64, u64)> = BTreeMap::new();
    for a in acks {
        let e = out.entry(a.writer).or_default();
        e.0 += a.rec.inc;
        e.1 += a.rec.dec;
    }
    out
}

/// `writer`'s increments and decrements up to and including `ack`.
fn sums_upto(ack: &Ack<CounterRec>, log: &[Ack<CounterRec>]) -> (u64, u64) {
    sums(
        log.iter()
            .filter(|a| a.writer == ack.writer && a.seq <= ack.seq),
    )
    .get(&ack.writer)
    .copied()
    .unwrap_or_default()
}

impl Model for GCounter {
    type Rec = CounterRec;

    fn write(
        leader: &mut Leader<Self>,
        _a: u32,
        b: u32,
        _env: &WriteEnv,
    ) -> Result<Option<CounterRec>, String> {
        let n = 1 + u64::from(b % 5);
        let before = leader.state().get(leader.writer_id());
        let d = leader
            .apply(crate::inc(n))
            .map_err(|e| format!("write refused: {e}"))?;
        let w = leader.writer_id();
        if d.get(w) != before + n || d.replica_count() != 1 {
            return Err(format!("increment by {n} from {before} gave delta {d:?}"));
        }
        Ok(Some(CounterRec { inc: n, dec: 0 }))
    }

    fn check_final(state: &Self, survivors: &[&Ack<CounterRec>]) -> Result<(), String> {
        let want: BTreeMap<ReplicaId, u64> = sums(survivors.iter().copied())
            .into_iter()
            .map(|(w, (p, _))| (w, p))
            .collect();
        let got: BTreeMap<ReplicaId, u64> = state.iter().collect();
        if got != want {
            return Err(format!(
                "per-writer counts differ from the acknowledged increments:\n  state:  {got:?}\n  oracle: {want:?}"
            ));
        }
        let total: u128 = want.values().map(|v| u128::from(*v)).sum();
        if state.value_u128() != total {
            return Err(format!("value {} != {total}", state.value_u128()));
        }
        Ok(())
    }

    fn reflects(
        state: &Self,
        ack: &Ack<CounterRec>,
        log: &[Ack<CounterRec>],
        _covers: &dyn Fn(&VersionVector) -> bool,
    ) -> Result<(), String> {
        let (p, _) = sums_upto(ack, log);
        if state.get(ack.writer) < p {
            return Err(format!(
                "entry of {:?} is {} < {p} after its write #{}",
                ack.writer,
                state.get(ack.writer),
                ack.seq
            ));
        }
        Ok(())
    }
}

impl Model for PnCounter {
    type Rec = CounterRec;

    fn write(
        leader: &mut Leader<Self>,
        a: u32,
        b: u32,
        _env: &WriteEnv,
    ) -> Result<Option<CounterRec>, String> {
        let n = 1 + u64::from(b % 5);
        let up = a % 2 == 0;
        let (p0, n0) = leader.state().totals(leader.writer_id());
        let d = leader
            .apply(if up {
                PnCounterOp::Increment(n)
            } else {
                PnCounterOp::Decrement(n)
            })
            .map_err(|e| format!("write refused: {e}"))?;
        let w = leader.writer_id();
        let (dp, dn) = d.totals(w);
        let ok = if up {
            dp == p0 + n && dn <= n0
        } else {
            dn == n0 + n && dp <= p0
        };
        if !ok || d.replica_count() != 1 {
            return Err(format!(
                "{} by {n} from {:?} gave delta {d:?}",
                if up { "increment" } else { "decrement" },
                (p0, n0)
            ));
        }
        Ok(Some(if up {
            CounterRec { inc: n, dec: 0 }
        } else {
            CounterRec { inc: 0, dec: n }
        }))
    }

    fn check_final(state: &Self, survivors: &[&Ack<CounterRec>]) -> Result<(), String> {
        let want = sums(survivors.iter().copied());
        let got: BTreeMap<ReplicaId, (u64, u64)> =
            state.iter().map(|(r, p, n)| (r, (p, n))).collect();
        if got != want {
            return Err(format!(
                "per-writer totals differ from the acknowledged writes:\n  state:  {got:?}\n  oracle: {want:?}"
            ));
        }
        let value: i128 = want
            .values()
            .map(|(p, n)| i128::from(*p) - i128::from(*n))
            .sum();
        if state.value_i128() != value {
            return Err(format!("value {} != {value}", state.value_i128()));
        }
        Ok(())
    }

    fn reflects(
        state: &Self,
        ack: &Ack<CounterRec>,
        log: &[Ack<CounterRec>],
        _covers: &dyn Fn(&VersionVector) -> bool,
    ) -> Result<(), String> {
        let (p, n) = sums_upto(ack, log);
        let (sp, sn) = state.totals(ack.writer);
        if sp < p || sn < n {
            return Err(format!(
                "totals of {:?} are {:?} < {:?} after its write #{}",
                ack.writer,
                (sp, sn),
                (p, n),
                ack.seq
            ));
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------ OR-Set

/// The OR-Set's value domain in the property tests: small, so writes collide.
pub const SET_DOMAIN: u64 = 6;
/// In post/reply runs, the reply to post `k` is `REPLY + k`.
pub const REPLY: u64 = 100;

/// An OR-Set write.
#[derive(Clone, Debug)]
pub enum SetOp {
    /// `insert(x)`.
    Insert(u64),
    /// `remove(x)`.
    Remove(u64),
    /// `clear()`.
    Clear,
}

/// An OR-Set write and the dots it added and observed.
#[derive(Clone, Debug)]
pub struct SetRec {
    /// The operation.
    pub op: SetOp,
    /// The dot of the add (inserts), read from the returned delta.
    pub added: Option<Dot>,
    /// The dots the writing leader held, per element, for what the write removed or
    /// replaced: the adds it observed (and undid).
    pub observed: Vec<(u64, Vec<Dot>)>,
}

impl Model for OrSet<u64> {
    type Rec = SetRec;

    fn write(
        leader: &mut Leader<Self>,
        a: u32,
        b: u32,
        env: &WriteEnv,
    ) -> Result<Option<SetRec>, String> {
        let k = u64::from(b) % SET_DOMAIN;
        let op = if env.causal {
            match a % 20 {
                0..=7 => SetOp::Insert(k),
                8..=14 if leader.state().contains(&k) => SetOp::Insert(REPLY + k),
                8..=14 => SetOp::Insert(k),
                _ => SetOp::Remove(REPLY + k),
            }
        } else {
            match a % 20 {
                0..=9 => SetOp::Insert(k),
                10..=16 => SetOp::Remove(k),
                _ => SetOp::Clear,
            }
        };
        let st = leader.state();
        let held = |x: &u64| st.dots(x).map(<[Dot]>::to_vec);
        let observed: Vec<(u64, Vec<Dot>)> = match &op {
            SetOp::Insert(x) | SetOp::Remove(x) => {
                held(x).map(|d| vec![(*x, d)]).unwrap_or_default()
            }
            SetOp::Clear => st
                .iter()
                .map(|x| (*x, held(x).unwrap_or_default()))
                .collect(),
        };
        let d = leader
            .apply(match &op {
                SetOp::Insert(x) => OrSetOp::Insert(*x),
                SetOp::Remove(x) => OrSetOp::Remove(*x),
                SetOp::Clear => OrSetOp::Clear,
            })
            .map_err(|e| format!("write refused: {e}"))?;
        let added = match &op {
            SetOp::Insert(x) => match d.dots(x) {
                Some([dot]) if dot.replica() == leader.writer_id() => Some(*dot),
                other => return Err(format!("insert({x}) gave delta dots {other:?}: {d:?}")),
            },
            _ => None,
        };
        if d.is_bottom() {
            return if observed.is_empty() && added.is_none() {
                Ok(None)
            } else {
                Err(format!("{op:?} observing {observed:?} gave an empty delta"))
            };
        }
        for (x, dots) in &observed {
            if dots.iter().any(|dot| !d.context().contains(dot)) {
                return Err(format!(
                    "{op:?}: delta {d:?} does not cover removed dots {x}: {dots:?}"
                ));
            }
        }
        Ok(Some(SetRec {
            op,
            added,
            observed,
        }))
    }

    fn check_final(state: &Self, survivors: &[&Ack<SetRec>]) -> Result<(), String> {
        let adds: BTreeMap<Dot, u64> = survivors
            .iter()
            .filter_map(|a| match (&a.rec.op, a.rec.added) {
                (SetOp::Insert(x), Some(d)) => Some((d, *x)),
                _ => None,
            })
            .collect();
        let removed: BTreeSet<Dot> = survivors
            .iter()
            .flat_map(|a| a.rec.observed.iter().flat_map(|(_, ds)| ds.iter().copied()))
            .collect();
        if let Some(d) = removed.iter().find(|d| !adds.contains_key(d)) {
            return Err(format!(
                "a surviving write removed {d:?}, whose add did not survive: causal past lost"
            ));
        }
        let mut want: BTreeMap<u64, Vec<Dot>> = BTreeMap::new();
        for (d, x) in &adds {
            if !removed.contains(d) {
                want.entry(*x).or_default().push(*d);
            }
        }
        let elements: BTreeSet<u64> = want.keys().copied().chain(state.iter().copied()).collect();
        for x in elements {
            let got = state.dots(&x).map(<[Dot]>::to_vec).unwrap_or_default();
            let exp = want.get(&x).cloned().unwrap_or_default();
            if got != exp {
                let why = if exp.is_empty() {
                    "present, but every add of it was observed by a remove (resurrection)"
                } else if got.is_empty() {
                    "absent, but an add of it was observed by no remove (lost add)"
                } else {
                    "present with other dots than the surviving unremoved adds"
                };
                return Err(format!(
                    "element {x}: {why}\n  state dots:  {got:?}\n  oracle dots: {exp:?}"
                ));
            }
        }
        let ctx: BTreeSet<Dot> = state.context().dots().collect();
        let added: BTreeSet<Dot> = adds.keys().copied().collect();
        if ctx != added {
            return Err(format!(
                "context differs from the surviving adds:\n  context: {ctx:?}\n  adds:    {added:?}"
            ));
        }
        Ok(())
    }

    fn reflects(
        state: &Self,
        ack: &Ack<SetRec>,
        log: &[Ack<SetRec>],
        covers: &dyn Fn(&VersionVector) -> bool,
    ) -> Result<(), String> {
        if let (SetOp::Insert(x), Some(d)) = (&ack.rec.op, ack.rec.added) {
            if !state.context().contains(&d) {
                return Err(format!("has not seen the add {d:?} of {x}"));
            }
            let live = state.dots(x).is_some_and(|ds| ds.contains(&d));
            let removal_seen = log
                .iter()
                .any(|r| r.rec.observed.iter().any(|(_, ds)| ds.contains(&d)) && covers(&r.token));
            if !live && !removal_seen {
                return Err(format!(
                    "the add {d:?} of {x} is gone, but no remove that observed it is covered"
                ));
            }
        }
        for (x, ds) in &ack.rec.observed {
            if let Some(live) = state.dots(x) {
                if let Some(d) = ds.iter().find(|d| live.contains(d)) {
                    return Err(format!(
                        "{:?} removed {d:?} of {x}, which is live here (resurrection)",
                        ack.rec.op
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_state(state: &Self) -> Result<(), String> {
        state.check_invariants().map_err(|e| format!("{e:?}"))
    }

    fn check_post_reply(state: &Self) -> Result<(), String> {
        match (0..SET_DOMAIN).find(|k| state.contains(&(REPLY + k)) && !state.contains(k)) {
            Some(k) => Err(format!(
                "causality broken: reply {} visible without its post {k}: {state:?}",
                REPLY + k
            )),
            None => Ok(()),
        }
    }
}

// ------------------------------------------------------------------------ LWW

/// An LWW write: value, timestamp and dot counter, read from the returned delta.
#[derive(Clone, Debug)]
pub struct LwwRec {
    /// The value written.
    pub value: String,
    /// Its timestamp.
    pub stamp: Timestamp,
    /// Its dot's counter (the writer's entry in the delta's context).
    pub counter: u64,
}

impl Model for LwwRegister<String> {
    type Rec = LwwRec;

    fn write(
        leader: &mut Leader<Self>,
        _a: u32,
        b: u32,
        env: &WriteEnv,
    ) -> Result<Option<LwwRec>, String> {
        let value = format!("{}:{}", leader.id().get(), b % 1000);
        let prior = leader.state().timestamp();
        let d = leader
            .apply(LwwOp::Set {
                value: value.clone(),
                now_ms: env.now_ms,
            })
            .map_err(|e| format!("write refused: {e}"))?;
        if d.is_bottom() {
            return Err(format!(
                "set({value}) at {} gave an empty delta",
                env.now_ms
            ));
        }
        let (Some(stamp), Some(writer)) = (d.timestamp(), d.writer()) else {
            return Err(format!("set({value}) gave a delta without a write: {d:?}"));
        };
        if writer != leader.writer_id() || d.get() != Some(&value) {
            return Err(format!("set({value}) gave delta {d:?}"));
        }
        if prior.is_some_and(|p| stamp <= p) {
            return Err(format!(
                "set({value}) stamped {stamp:?}, not after {prior:?} which its author had seen"
            ));
        }
        Ok(Some(LwwRec {
            value,
            stamp,
            counter: d.context().get(writer),
        }))
    }

    fn check_final(state: &Self, survivors: &[&Ack<LwwRec>]) -> Result<(), String> {
        let winner = survivors.iter().max_by_key(|a| (a.rec.stamp, a.writer));
        let got = (state.get(), state.timestamp(), state.writer());
        let want = winner.map(|a| (&a.rec.value, a.rec.stamp, a.writer));
        if got != (want.map(|w| w.0), want.map(|w| w.1), want.map(|w| w.2)) {
            return Err(format!(
                "register is {got:?}, but the acknowledged write with the greatest (timestamp, \
                 writer) is {want:?}"
            ));
        }
        let mut ctx: BTreeMap<ReplicaId, u64> = BTreeMap::new();
        for a in survivors {
            let c = ctx.entry(a.writer).or_default();
            *c = (*c).max(a.rec.counter);
        }
        let got: BTreeMap<ReplicaId, u64> = state.context().iter().collect();
        if got != ctx {
            return Err(format!(
                "register context differs from the surviving writes:\n  state:  {got:?}\n  oracle: {ctx:?}"
            ));
        }
        Ok(())
    }

    fn reflects(
        state: &Self,
        ack: &Ack<LwwRec>,
        _log: &[Ack<LwwRec>],
        _covers: &dyn Fn(&VersionVector) -> bool,
    ) -> Result<(), String> {
        let seen = state.context().get(ack.writer) >= ack.rec.counter;
        let order = (state.timestamp(), state.writer()) >= (Some(ack.rec.stamp), Some(ack.writer));
        if !seen || !order {
            return Err(format!(
                "does not reflect write {:?} ({:?} by {:?}): register {state:?}",
                ack.rec.value, ack.rec.stamp, ack.writer
            ));
        }
        Ok(())
    }

    fn check_state(state: &Self) -> Result<(), String> {
        state.check_invariants().map_err(|e| format!("{e:?}"))
    }
}
