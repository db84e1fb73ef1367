//! Shared support for the property tests: the quickcheck configuration and
//! generators of *reachable* states, built by replaying random operation histories on
//! a few replicas (never by assembling raw structures).
#![allow(dead_code)] // each test binary uses a different part

use crdt_core::{
    Crdt, GCounter, Keyspace, KeyspaceOp, LwwRegister, MvRegister, OrSet, PnCounter, ReplicaId,
    ValueOp,
};
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};
use std::fmt::Debug;

/// Cases per property: `QUICKCHECK_TESTS`, or 1000.
pub fn cases() -> u64 {
    std::env::var("QUICKCHECK_TESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

/// A runner that must pass `cases()` cases (discards allowed up to 10x).
pub fn qc() -> QuickCheck {
    let n = cases();
    QuickCheck::new()
        .tests(n)
        .max_tests(10 * n)
        .min_tests_passed(n)
}

/// A uniform-ish number in `0..n` (`n > 0`).
pub fn below(g: &mut Gen, n: u64) -> u64 {
    u64::arbitrary(g) % n
}

/// `true` with probability `num / den`.
pub fn chance(g: &mut Gen, num: u64, den: u64) -> bool {
    below(g, den) < num
}

/// Replica `i` (0-based index) has id `i + 1`.
pub fn rid(i: usize) -> ReplicaId {
    ReplicaId::new(i as u64 + 1)
}

/// `Err(message)` unless `cond`.
pub fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

/// `Err` naming `what` and both sides unless they are equal.
pub fn ensure_eq<T: PartialEq + Debug>(left: &T, right: &T, what: &str) -> Result<(), String> {
    ensure(left == right, || {
        format!("{what}:\n  left:  {left:?}\n  right: {right:?}")
    })
}

/// A property outcome from a check.
pub fn verdict(r: Result<(), String>) -> TestResult {
    match r {
        Ok(()) => TestResult::passed(),
        Err(e) => TestResult::error(e),
    }
}

/// An increment amount: usually small, sometimes near `u64::MAX` (saturation).
pub fn amount(g: &mut Gen) -> u64 {
    if chance(g, 1, 8) {
        *g.choose(&[u64::MAX, u64::MAX - 1, u64::MAX - 7, 1 << 63, u64::MAX / 3])
            .unwrap()
    } else {
        below(g, 8)
    }
}

/// A replicated type under test, with its operations as data.
pub trait Model: Crdt + Clone + PartialEq + Debug + 'static {
    /// One mutator call (with its arguments).
    type Op: Clone + Debug + 'static;
    /// The initial replica state.
    fn empty() -> Self;
    /// The value deltas are accumulated into when batched.
    fn empty_batch() -> Self {
        Self::empty()
    }
    /// A random operation.
    fn gen_op(g: &mut Gen) -> Self::Op;
    /// One operation per mutator (including the `try_` variants), random arguments.
    fn every_mutator(g: &mut Gen) -> Vec<Self::Op>;
    /// Applies `op` on behalf of `replica`; returns the delta (empty if refused).
    fn apply(&mut self, replica: ReplicaId, op: &Self::Op) -> Self;
    /// The type's invariants; `replica_state` for values built from `empty()`.
    fn check(&self, replica_state: bool) -> Result<(), String>;
    /// Whether `self` has seen everything `other` has (the inflation order).
    fn covers(&self, other: &Self) -> bool;
}

// ---------------------------------------------------------------- counters

#[derive(Clone, Debug)]
pub enum GOp {
    Inc(u64),
    TryInc(u64),
}

impl Model for GCounter {
    type Op = GOp;
    fn empty() -> Self {
        GCounter::new()
    }
    fn gen_op(g: &mut Gen) -> GOp {
        let n = amount(g);
        if chance(g, 1, 4) {
            GOp::TryInc(n)
        } else {
            GOp::Inc(n)
        }
    }
    fn every_mutator(g: &mut Gen) -> Vec<GOp> {
        vec![GOp::Inc(amount(g)), GOp::TryInc(amount(g))]
    }
    fn apply(&mut self, r: ReplicaId, op: &GOp) -> Self {
        match *op {
            GOp::Inc(n) => self.increment(r, n),
            GOp::TryInc(n) => self.try_increment(r, n).unwrap_or_default(),
        }
    }
    fn check(&self, _: bool) -> Result<(), String> {
        let entries: Vec<_> = self.iter().collect();
        ensure(
            entries.windows(2).all(|w| w[0].0 < w[1].0)
                && entries.iter().all(|e| e.1 > 0)
                && entries.len() == self.replica_count()
                && entries.iter().all(|&(r, c)| self.get(r) == c),
            || format!("bad GCounter entries {entries:?}"),
        )
    }
    fn covers(&self, other: &Self) -> bool {
        other.iter().all(|(r, c)| self.get(r) >= c)
    }
}

#[derive(Clone, Debug)]
pub enum PnOp {
    Inc(u64),
    Dec(u64),
    TryInc(u64),
    TryDec(u64),
}

impl Model for PnCounter {
    type Op = PnOp;
    fn empty() -> Self {
        PnCounter::new()
    }
    fn gen_op(g: &mut Gen) -> PnOp {
        let n = amount(g);
        match below(g, 6) {
            0 => PnOp::TryInc(n),
            1 => PnOp::TryDec(n),
            2 | 3 => PnOp::Inc(n),
            _ => PnOp::Dec(n),
        }
    }
    fn every_mutator(g: &mut Gen) -> Vec<PnOp> {
        vec![
            PnOp::Inc(amount(g)),
            PnOp::Dec(amount(g)),
            PnOp::TryInc(amount(g)),
            PnOp::TryDec(amount(g)),
        ]
    }
    fn apply(&mut self, r: ReplicaId, op: &PnOp) -> Self {
        match *op {
            PnOp::Inc(n) => self.increment(r, n),
            PnOp::Dec(n) => self.decrement(r, n),
            PnOp::TryInc(n) => self.try_increment(r, n).unwrap_or_default(),
            PnOp::TryDec(n) => self.try_decrement(r, n).unwrap_or_default(),
        }
    }
    fn check(&self, _: bool) -> Result<(), String> {
        let entries: Vec<_> = self.iter().collect();
        ensure(
            entries.windows(2).all(|w| w[0].0 < w[1].0)
                && entries.iter().all(|e| (e.1, e.2) != (0, 0))
                && entries.len() == self.replica_count()
                && entries.iter().all(|&(r, p, n)| self.totals(r) == (p, n)),
            || format!("bad PnCounter entries {entries:?}"),
        )
    }
    fn covers(&self, other: &Self) -> bool {
        other.iter().all(|(r, p, n)| {
            let (mp, mn) = self.totals(r);
            mp >= p && mn >= n
        })
    }
}

// ---------------------------------------------------------------- OR-Set

/// Element types of the sets under test: small domains, so values collide.
pub trait Elem: Ord + Clone + Debug + 'static {
    fn gen(g: &mut Gen) -> Self;
}

impl Elem for u64 {
    fn gen(g: &mut Gen) -> Self {
        below(g, 8)
    }
}

impl Elem for String {
    fn gen(g: &mut Gen) -> Self {
        let s = ["", "a", "b", "ab", "ba", "abc", "zz", "\u{e9}"];
        (*g.choose(&s).unwrap()).to_string()
    }
}

#[derive(Clone, Debug)]
pub enum SetOp<T> {
    Insert(T),
    TryInsert(T),
    /// Re-adds the `k`-th present element (mod len), or `Insert` of the fallback.
    InsertNth(usize, T),
    Remove(T),
    /// Removes the `k`-th present element (mod len), or the fallback.
    RemoveNth(usize, T),
    Clear,
}

fn nth_or<T: Elem>(s: &OrSet<T>, k: usize, fallback: &T) -> T {
    match s.len() {
        0 => fallback.clone(),
        n => s.iter().nth(k % n).unwrap().clone(),
    }
}

impl<T: Elem> Model for OrSet<T> {
    type Op = SetOp<T>;
    fn empty() -> Self {
        OrSet::new()
    }
    fn empty_batch() -> Self {
        crdt_core::OrSetDelta::new().into_set()
    }
    fn gen_op(g: &mut Gen) -> SetOp<T> {
        let (k, v) = (below(g, 16) as usize, T::gen(g));
        match below(g, 20) {
            0..=5 => SetOp::Insert(v),
            6 => SetOp::TryInsert(v),
            7..=9 => SetOp::InsertNth(k, v),
            10..=13 => SetOp::Remove(v),
            14..=18 => SetOp::RemoveNth(k, v),
            _ => SetOp::Clear,
        }
    }
    fn every_mutator(g: &mut Gen) -> Vec<SetOp<T>> {
        let k = below(g, 16) as usize;
        vec![
            SetOp::Insert(T::gen(g)),
            SetOp::TryInsert(T::gen(g)),
            SetOp::InsertNth(k, T::gen(g)),
            SetOp::Remove(T::gen(g)),
            SetOp::RemoveNth(k, T::gen(g)),
            SetOp::Clear,
        ]
    }
    fn apply(&mut self, r: ReplicaId, op: &SetOp<T>) -> Self {
        let delta = match op {
            SetOp::Insert(v) => self.insert(r, v.clone()),
            SetOp::TryInsert(v) => self.try_insert(r, v.clone()).unwrap(),
            SetOp::InsertNth(k, v) => {
                let v = nth_or(self, *k, v);
                self.insert(r, v)
            }
            SetOp::Remove(v) => self.remove(v),
            SetOp::RemoveNth(k, v) => {
                let v = nth_or(self, *k, v);
                self.remove(&v)
            }
            SetOp::Clear => self.clear(),
        };
        delta.into_set()
    }
    fn check(&self, replica_state: bool) -> Result<(), String> {
        self.check_invariants()
            .map_err(|e| format!("invariant: {e} in {self:?}"))?;
        ensure(self.len() == self.iter().count(), || "len".into())?;
        ensure(!replica_state || !self.has_removal_hints(), || {
            format!("a replica state accumulated removal hints: {self:?}")
        })
    }
    fn covers(&self, other: &Self) -> bool {
        self.context().covers(other.context())
    }
}

// ---------------------------------------------------------------- LWW register

#[derive(Clone, Debug)]
pub enum RegOp {
    /// Value and the writer's wall clock (small, so clocks are skewed and tie).
    Set(String, u64),
    TrySet(String, u64),
}

fn wall_clock(g: &mut Gen) -> u64 {
    match below(g, 20) {
        0 => u64::MAX,
        1 => 1_000_000 + below(g, 4),
        _ => below(g, 12),
    }
}

impl Model for LwwRegister<String> {
    type Op = RegOp;
    fn empty() -> Self {
        LwwRegister::new()
    }
    fn gen_op(g: &mut Gen) -> RegOp {
        let (v, t) = (String::gen(g), wall_clock(g));
        if chance(g, 1, 4) {
            RegOp::TrySet(v, t)
        } else {
            RegOp::Set(v, t)
        }
    }
    fn every_mutator(g: &mut Gen) -> Vec<RegOp> {
        vec![
            RegOp::Set(String::gen(g), wall_clock(g)),
            RegOp::TrySet(String::gen(g), wall_clock(g)),
        ]
    }
    fn apply(&mut self, r: ReplicaId, op: &RegOp) -> Self {
        match op {
            RegOp::Set(v, t) => self.set(r, v.clone(), *t),
            // Reachable histories cannot exhaust the clock (that takes 2^32 writes).
            RegOp::TrySet(v, t) => self.try_set(r, v.clone(), *t).unwrap(),
        }
    }
    fn check(&self, _: bool) -> Result<(), String> {
        self.check_invariants()
            .map_err(|e| format!("invariant: {e} in {self:?}"))?;
        ensure(
            self.get().is_some() == self.timestamp().is_some()
                && self.get().is_some() == self.writer().is_some()
                && self.get().is_some() != self.context().is_empty(),
            || format!("inconsistent register {self:?}"),
        )
    }
    fn covers(&self, other: &Self) -> bool {
        self.context().covers(other.context()) && self.timestamp() >= other.timestamp()
    }
}

// ---------------------------------------------------------------- histories

/// One step of a history on replicas `0..replicas`.
#[derive(Clone, Debug)]
pub enum Step<O> {
    Mutate {
        at: usize,
        op: O,
    },
    /// `to` merges `from`'s full state.
    SyncState {
        from: usize,
        to: usize,
    },
    /// `to` merges the delta `deltas[pick % deltas.len()]`.
    SyncDelta {
        pick: usize,
        to: usize,
    },
    /// `to` merges a batch of deltas joined into `empty_batch()` (or, if `plain`,
    /// joined into a clone of the first one).
    SyncBatch {
        picks: Vec<usize>,
        to: usize,
        plain: bool,
    },
}

/// A random operation history: replaying it gives reachable states.
#[derive(Clone, Debug)]
pub struct History<C: Model> {
    pub replicas: usize,
    pub steps: Vec<Step<C::Op>>,
}

/// The result of replaying a [`History`].
#[derive(Clone, Debug)]
pub struct Run<C> {
    /// Final state of each replica (replica `i` has id `rid(i)`).
    pub states: Vec<C>,
    /// Every delta produced by a mutation, with its origin, in order.
    pub deltas: Vec<(ReplicaId, C)>,
    /// Every state a replica held (after each step that changed it), with its owner.
    pub snapshots: Vec<(ReplicaId, C)>,
    /// Every batch of deltas that was delivered.
    pub batches: Vec<C>,
}

impl<C: Model> Run<C> {
    /// Every value of the run (states, deltas, batches, and the empty value).
    pub fn pool(&self) -> Vec<C> {
        let mut pool = vec![C::empty()];
        pool.extend(self.states.iter().cloned());
        pool.extend(self.deltas.iter().map(|(_, d)| d.clone()));
        pool.extend(self.snapshots.iter().map(|(_, s)| s.clone()));
        pool.extend(self.batches.iter().cloned());
        pool
    }
}

/// A batch: `picks` joined into `C::empty_batch()`, or into the first pick if `plain`.
pub fn batch<C: Model>(deltas: &[&C], plain: bool) -> C {
    let mut out = match (plain, deltas.first()) {
        (true, Some(first)) => (*first).clone(),
        _ => C::empty_batch(),
    };
    for d in deltas {
        out.merge(d);
    }
    out
}

impl<C: Model> History<C> {
    /// Replays the history, checking invariants after every step.
    pub fn replay(&self) -> Result<Run<C>, String> {
        let mut run = Run {
            states: vec![C::empty(); self.replicas],
            deltas: Vec::new(),
            snapshots: Vec::new(),
            batches: Vec::new(),
        };
        for (i, step) in self.steps.iter().enumerate() {
            let to = match step {
                Step::Mutate { at, op } => {
                    let delta = run.states[*at].apply(rid(*at), op);
                    delta
                        .check(false)
                        .map_err(|e| format!("step {i} delta: {e}"))?;
                    run.deltas.push((rid(*at), delta));
                    *at
                }
                Step::SyncState { from, to } => {
                    let other = run.states[*from].clone();
                    run.states[*to].merge(&other);
                    *to
                }
                Step::SyncDelta { pick, to } => {
                    if run.deltas.is_empty() {
                        continue;
                    }
                    let d = &run.deltas[pick % run.deltas.len()].1;
                    run.states[*to].merge(d);
                    *to
                }
                Step::SyncBatch { picks, to, plain } => {
                    if run.deltas.is_empty() {
                        continue;
                    }
                    let ds: Vec<&C> = picks
                        .iter()
                        .map(|p| &run.deltas[p % run.deltas.len()].1)
                        .collect();
                    let b = batch(&ds, *plain);
                    b.check(false).map_err(|e| format!("step {i} batch: {e}"))?;
                    run.states[*to].merge(&b);
                    run.batches.push(b);
                    *to
                }
            };
            run.states[to]
                .check(true)
                .map_err(|e| format!("step {i} ({step:?}) replica {to}: {e}"))?;
            run.snapshots.push((rid(to), run.states[to].clone()));
        }
        Ok(run)
    }
}

fn gen_step<C: Model>(g: &mut Gen, replicas: usize) -> Step<C::Op> {
    let r = |g: &mut Gen| below(g, replicas as u64) as usize;
    match below(g, 20) {
        0..=10 => Step::Mutate {
            at: r(g),
            op: C::gen_op(g),
        },
        11..=13 => Step::SyncState {
            from: r(g),
            to: r(g),
        },
        14..=17 => Step::SyncDelta {
            pick: usize::arbitrary(g),
            to: r(g),
        },
        _ => Step::SyncBatch {
            picks: (0..1 + below(g, 4)).map(|_| usize::arbitrary(g)).collect(),
            to: r(g),
            plain: chance(g, 1, 3),
        },
    }
}

/// Shrinks a list by halves, then by single removals.
pub fn shrink_list<T: Clone + 'static>(xs: &[T]) -> Vec<Vec<T>> {
    let n = xs.len();
    let mut out = Vec::new();
    if n > 1 {
        out.push(xs[..n / 2].to_vec());
        out.push(xs[n / 2..].to_vec());
    }
    for i in 0..n {
        let mut v = xs.to_vec();
        v.remove(i);
        out.push(v);
    }
    out
}

impl<C: Model> Arbitrary for History<C> {
    fn arbitrary(g: &mut Gen) -> Self {
        let replicas = 3 + below(g, 2) as usize;
        let len = below(g, 41) as usize;
        let steps = (0..len).map(|_| gen_step::<C>(g, replicas)).collect();
        History { replicas, steps }
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let replicas = self.replicas;
        Box::new(
            shrink_list(&self.steps)
                .into_iter()
                .map(move |steps| History { replicas, steps }),
        )
    }
}

/// A history plus picks of values from its run's [`Run::pool`].
#[derive(Clone, Debug)]
pub struct Picks<C: Model> {
    pub history: History<C>,
    pub picks: [usize; 3],
}

impl<C: Model> Arbitrary for Picks<C> {
    fn arbitrary(g: &mut Gen) -> Self {
        Picks {
            history: History::arbitrary(g),
            picks: [
                usize::arbitrary(g),
                usize::arbitrary(g),
                usize::arbitrary(g),
            ],
        }
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let picks = self.picks;
        Box::new(
            self.history
                .shrink()
                .map(move |history| Picks { history, picks }),
        )
    }
}

/// A reachable replica state (the end of a history) plus operations to apply.
#[derive(Clone, Debug)]
pub struct Mutations<C: Model> {
    pub history: History<C>,
    pub pick: usize,
    /// Every mutator once, then a few random operations.
    pub ops: Vec<C::Op>,
}

impl<C: Model> Arbitrary for Mutations<C> {
    fn arbitrary(g: &mut Gen) -> Self {
        let mut ops = C::every_mutator(g);
        let extra = below(g, 4);
        ops.extend((0..extra).map(|_| C::gen_op(g)));
        Mutations {
            history: History::arbitrary(g),
            pick: usize::arbitrary(g),
            ops,
        }
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let (pick, ops) = (self.pick, self.ops.clone());
        Box::new(self.history.shrink().map(move |history| Mutations {
            history,
            pick,
            ops: ops.clone(),
        }))
    }
}

impl<C: Model> Mutations<C> {
    /// The picked replica's final state and its id. (A final state, not an older
    /// snapshot: mutating an old snapshot would reissue dots the replica already used,
    /// which the deltas' receivers would confuse with other updates.)
    pub fn start(&self, run: &Run<C>) -> (ReplicaId, C) {
        let i = self.pick % run.states.len();
        (rid(i), run.states[i].clone())
    }
}

// ---------------------------------------------------------------- MV register

#[derive(Clone, Debug)]
pub enum MvOp {
    Set(String),
    TrySet(String),
}

impl Model for MvRegister<String> {
    type Op = MvOp;
    fn empty() -> Self {
        MvRegister::new()
    }
    fn gen_op(g: &mut Gen) -> MvOp {
        let v = String::gen(g);
        if chance(g, 1, 4) {
            MvOp::TrySet(v)
        } else {
            MvOp::Set(v)
        }
    }
    fn every_mutator(g: &mut Gen) -> Vec<MvOp> {
        vec![MvOp::Set(String::gen(g)), MvOp::TrySet(String::gen(g))]
    }
    fn apply(&mut self, r: ReplicaId, op: &MvOp) -> Self {
        match op {
            MvOp::Set(v) => self.set(r, v.clone()),
            MvOp::TrySet(v) => self.try_set(r, v.clone()).unwrap(),
        }
    }
    fn check(&self, _: bool) -> Result<(), String> {
        self.check_invariants()
            .map_err(|e| format!("invariant: {e} in {self:?}"))?;
        let values = self.values();
        ensure(
            values.windows(2).all(|w| w[0] < w[1]) && values.len() <= self.writes().len(),
            || format!("values not sorted and distinct: {values:?}"),
        )
    }
    fn covers(&self, other: &Self) -> bool {
        self.context().covers(other.context())
    }
}

// ---------------------------------------------------------------- keyspace

/// A small key (few keys, so writes, deletes and type conflicts meet).
pub fn key(g: &mut Gen) -> String {
    (*g.choose(&["a", "b", "ab", "c/1", "c/2"]).unwrap()).to_string()
}

/// One write of each kind to `key`.
pub fn value_ops(g: &mut Gen) -> Vec<ValueOp> {
    vec![
        ValueOp::GCounterIncrement(amount(g)),
        ValueOp::PnCounterIncrement(amount(g)),
        ValueOp::PnCounterDecrement(amount(g)),
        ValueOp::OrSetInsert(String::gen(g)),
        ValueOp::OrSetRemove(String::gen(g)),
        ValueOp::LwwSet {
            value: String::gen(g),
            now_ms: wall_clock(g),
        },
        ValueOp::MvRegisterSet(String::gen(g)),
    ]
}

impl Model for Keyspace {
    type Op = KeyspaceOp;
    fn empty() -> Self {
        Keyspace::new()
    }
    /// Mostly the key's "own" type (keys and types paired by position), so writes of
    /// one type meet concurrently; sometimes any type (refused, or a type conflict).
    fn gen_op(g: &mut Gen) -> KeyspaceOp {
        let keys = ["a", "b", "ab", "c/1", "c/2"];
        let i = below(g, keys.len() as u64) as usize;
        let key = keys[i].to_string();
        if chance(g, 1, 6) {
            return KeyspaceOp::Delete { key };
        }
        let ops = value_ops(g);
        let op = if chance(g, 3, 4) {
            // value_ops: G, Pn+, Pn-, Set+, Set-, Lww, Mv.
            let own: &[usize] = [&[0][..], &[1, 2], &[3, 3, 4], &[5], &[6]][i];
            ops[*g.choose(own).unwrap()].clone()
        } else {
            g.choose(&ops).unwrap().clone()
        };
        KeyspaceOp::Write { key, op }
    }
    fn every_mutator(g: &mut Gen) -> Vec<KeyspaceOp> {
        let mut out: Vec<KeyspaceOp> = value_ops(g)
            .into_iter()
            .map(|op| KeyspaceOp::Write { key: key(g), op })
            .collect();
        out.push(KeyspaceOp::Delete { key: key(g) });
        out
    }
    fn apply(&mut self, r: ReplicaId, op: &KeyspaceOp) -> Self {
        self.apply(r, op.clone()).unwrap_or_default()
    }
    fn check(&self, _: bool) -> Result<(), String> {
        self.check_invariants()
            .map_err(|e| format!("invariant: {e} in {self:?}"))?;
        ensure(self.len() == self.keys().count(), || "len".into())
    }
    fn covers(&self, other: &Self) -> bool {
        self.context().covers(other.context())
    }
}
