//! The sequential oracles: every acknowledged write (a `mutate` that returned `Ok`
//! with a non-empty delta), in order, and what any state a leader exposes must be
//! given those writes.
//!
//! # Facts, and which writes may be lost
//! Each write creates *facts* a state either holds or not: an OR-Set add's dot is in
//! the context; the dots a remove observed are in the context and not live; a counter
//! entry reaches the write's running total; an LWW register's context reaches the
//! write's dot. Facts persist in a running leader (states only grow), so a fact can only
//! disappear when a leader's state is destroyed: a crash (the leader restarts from a
//! snapshot), amnesia (from an older snapshot) or the operator retiring a conflicted
//! leader. At each destruction the oracle marks **at risk** every fact that no
//! surviving state holds (surviving: every other leader, and the snapshot the crashed
//! one restarts from; messages in flight do not count, so what only they carry is at
//! risk too). A write is then allowed to be absent at the end only if its facts were at
//! risk; every other acknowledged write must be present (**zero lost writes**).
//!
//! # Ambiguous writer ids
//! When the fault model makes two processes write under the same writer id (a twin
//! started empty with `Leader::new` under an id whose first incarnation wrote), the
//! same dot may name two different writes. Those writer ids are [`Ambiguity`]: their
//! writes are excluded from the exact checks (and checked only against the values some
//! copy actually wrote), and everything else must still be exact. A restored leader
//! (amnesia included, and a twin restored from a snapshot) never shares a writer id:
//! the simulator checks that each writes under an id no other leader ever held.

use super::workload::{key_dots, KeyWrite};
use super::workload::{post_of, CounterOp, LwwWrite as LwwDraw, Model, SetOp, POST, REPLY};
use crdt_core::{
    Dot, GCounter, Keyspace, LwwRegister, OrSet, PnCounter, ReplicaId, Timestamp, Value, ValueOp,
    ValueType,
};
use std::collections::{BTreeMap, BTreeSet};

/// Writer ids two processes were made to share (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ambiguity {
    writers: BTreeSet<ReplicaId>,
}

impl Ambiguity {
    /// Whether `writer` is shared.
    #[must_use]
    pub fn contains(&self, writer: ReplicaId) -> bool {
        self.writers.contains(&writer)
    }

    /// Declares `writer` shared.
    pub fn insert(&mut self, writer: ReplicaId) {
        self.writers.insert(writer);
    }

    /// Whether no writer is shared.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.writers.is_empty()
    }

    /// The shared writers, ascending.
    pub fn iter(&self) -> impl Iterator<Item = ReplicaId> + '_ {
        self.writers.iter().copied()
    }
}

/// Who made an acknowledged write, and when.
#[derive(Debug, Clone, Copy)]
pub struct WriteMeta {
    /// The id the leader wrote under (`Leader::writer_id`).
    pub writer: ReplicaId,
    /// The process (one leader object's lifetime) that wrote.
    pub instance: u32,
    /// The wall clock reading passed as `now_ms`.
    pub now_ms: u64,
}

/// What a per-type oracle does. All errors are one-line explanations.
pub trait Oracle<C: Model>: Default {
    /// Records an acknowledged write and checks its local effect (`after` is the
    /// writer's state right after it).
    ///
    /// # Errors
    /// The write did not do what the API promises.
    fn record(
        &mut self,
        meta: &WriteMeta,
        op: &C::Write,
        pre: &C::Pre,
        delta: &C,
        after: &C,
        amb: &Ambiguity,
    ) -> Result<(), String>;

    /// How many writes were acknowledged under `writer`.
    fn writes_of(&self, writer: ReplicaId) -> usize;

    /// Whether `state` holds the facts of the `index`-th (0-based) write of `writer`
    /// (facts about ambiguous dots are not checked).
    ///
    /// # Errors
    /// What it lacks.
    fn holds(
        &self,
        writer: ReplicaId,
        index: usize,
        state: &C,
        amb: &Ambiguity,
    ) -> Result<(), String>;

    /// Invariants of every state a leader exposes, at every step.
    ///
    /// # Errors
    /// The first violated one.
    fn check_state(&self, state: &C, amb: &Ambiguity) -> Result<(), String>;

    /// Slower invariants, checked now and then and at the end.
    ///
    /// # Errors
    /// The first violated one.
    fn check_deep(&self, state: &C, amb: &Ambiguity) -> Result<(), String>;

    /// A state was destroyed: marks at risk the facts no survivor holds.
    fn mark_at_risk(&mut self, survivors: &[&C]);

    /// The state every leader converged to must be exactly what the writes make it.
    ///
    /// # Errors
    /// The first difference.
    fn check_final(&self, state: &C, amb: &Ambiguity) -> Result<(), String>;

    /// The part of a state made of unambiguous writes (compared across leaders when
    /// some writer is ambiguous), or `None` if it cannot be told apart.
    fn projection(&self, state: &C, amb: &Ambiguity) -> Option<String>;

    /// Acknowledged writes, and how many of them were at risk.
    fn totals(&self) -> (usize, usize);

    /// The `damage` fault made a leader's state lose these live dots without a change
    /// to its context: the join of full states reads a dot missing at one replica as
    /// removed, so each may end removed everywhere (or, if the loss is overtaken
    /// first, live): it is excused from "live iff not observed", nothing else is.
    fn lost_by_damage(&mut self, _dots: &[Dot]) {}
}

// ---------------------------------------------------------------------------------
// Counters

/// A counter's per-writer entry, for both counter types.
pub trait CounterState {
    /// `(increments, decrements)` of `writer`.
    fn entry(&self, writer: ReplicaId) -> (u64, u64);
    /// Every non-zero entry.
    fn entries(&self) -> Vec<(ReplicaId, u64, u64)>;
}

impl CounterState for GCounter {
    fn entry(&self, writer: ReplicaId) -> (u64, u64) {
        (self.get(writer), 0)
    }
    fn entries(&self) -> Vec<(ReplicaId, u64, u64)> {
        self.iter().map(|(r, c)| (r, c, 0)).collect()
    }
}

impl CounterState for PnCounter {
    fn entry(&self, writer: ReplicaId) -> (u64, u64) {
        self.totals(writer)
    }
    fn entries(&self) -> Vec<(ReplicaId, u64, u64)> {
        self.iter().collect()
    }
}

#[derive(Debug, Clone)]
struct CounterWrite {
    /// The writer's running totals after this write.
    p: u64,
    n: u64,
    at_risk: bool,
}

/// G-Counter and PN-Counter oracle: per writer, the running totals after each write.
/// A state's entry for a writer must be exactly the totals after one of its writes (a
/// causal prefix: no double count, no hole); at the end, after its last write that was
/// not at risk.
#[derive(Debug, Default)]
pub struct CounterOracle {
    writes: BTreeMap<ReplicaId, Vec<CounterWrite>>,
    /// Every running total any process reached under a writer (the values a shared
    /// writer's entry may take: merging takes the maximum of such totals).
    seen_p: BTreeMap<ReplicaId, BTreeSet<u64>>,
    seen_n: BTreeMap<ReplicaId, BTreeSet<u64>>,
}

impl CounterOracle {
    /// The number `j` of writes whose running totals are exactly `(p, n)` (0: none).
    fn prefix_of(&self, writer: ReplicaId, p: u64, n: u64) -> Option<std::ops::Range<usize>> {
        if (p, n) == (0, 0) {
            return Some(0..1);
        }
        let ws = self.writes.get(&writer)?;
        let lo = ws.partition_point(|w| w.p < p);
        let hi = ws.partition_point(|w| w.p <= p);
        let slice = &ws[lo..hi];
        let a = slice.partition_point(|w| w.n < n);
        let b = slice.partition_point(|w| w.n <= n);
        (a < b).then(|| lo + a + 1..lo + b + 1)
    }

    fn required(&self, writer: ReplicaId) -> usize {
        self.writes
            .get(&writer)
            .and_then(|ws| ws.iter().rposition(|w| !w.at_risk))
            .map_or(0, |i| i + 1)
    }

    fn record_counter(
        &mut self,
        meta: &WriteMeta,
        op: CounterOp,
        pre: (u64, u64),
        got: (u64, u64),
        amb: &Ambiguity,
    ) -> Result<(), String> {
        let w = meta.writer;
        let want = match op {
            CounterOp::Inc(k) => (pre.0.saturating_add(k), pre.1),
            CounterOp::Dec(k) => (pre.0, pre.1.saturating_add(k)),
        };
        if got != want {
            return Err(format!(
                "{op:?} by {w} made its entry {got:?}, expected {want:?} from {pre:?}"
            ));
        }
        // Every total any copy reached (what a shared writer's entry may be).
        self.seen_p.entry(w).or_default().insert(got.0);
        self.seen_n.entry(w).or_default().insert(got.1);
        if !amb.contains(w) {
            let last = self
                .writes
                .get(&w)
                .and_then(|ws| ws.last())
                .map_or((0, 0), |x| (x.p, x.n));
            if pre != last {
                return Err(format!(
                    "writer {w}'s own entry was {pre:?} before its write, but its acknowledged writes total {last:?} (a lost own write or a double count)"
                ));
            }
        }
        self.writes.entry(w).or_default().push(CounterWrite {
            p: got.0,
            n: got.1,
            at_risk: false,
        });
        Ok(())
    }

    fn check_entries<C: CounterState>(&self, state: &C, amb: &Ambiguity) -> Result<(), String> {
        for (w, p, n) in state.entries() {
            if amb.contains(w) {
                let ok_p = p == 0 || self.seen_p.get(&w).is_some_and(|s| s.contains(&p));
                let ok_n = n == 0 || self.seen_n.get(&w).is_some_and(|s| s.contains(&n));
                if !(ok_p && ok_n) {
                    return Err(format!(
                        "entry ({p}, {n}) of shared writer {w} is no total any copy of it reached (merged into wrong data)"
                    ));
                }
                continue;
            }
            let Some(ws) = self.writes.get(&w) else {
                return Err(format!("entry ({p}, {n}) of writer {w}, which never wrote"));
            };
            if self.prefix_of(w, p, n).is_none() {
                let last = ws.last().map_or((0, 0), |x| (x.p, x.n));
                return Err(format!(
                    "entry ({p}, {n}) of writer {w} is not the total after any of its {} writes (last total {last:?}): a double count or a hole",
                    ws.len()
                ));
            }
        }
        Ok(())
    }

    fn final_entries<C: CounterState>(&self, state: &C, amb: &Ambiguity) -> Result<(), String> {
        self.check_entries(state, amb)?;
        for (w, ws) in &self.writes {
            if amb.contains(*w) {
                continue;
            }
            let (p, n) = state.entry(*w);
            let req = self.required(*w);
            let Some(range) = self.prefix_of(*w, p, n) else {
                return Err(format!(
                    "writer {w}: entry ({p}, {n}) matches none of its writes"
                ));
            };
            if range.end <= req {
                let at_risk = ws.iter().filter(|x| x.at_risk).count();
                return Err(format!(
                    "writer {w}: final entry ({p}, {n}) includes only {} of its writes, but write #{req} (totals {:?}) was acknowledged and not at risk ({at_risk} at risk): a lost write",
                    range.end - 1,
                    (ws[req - 1].p, ws[req - 1].n)
                ));
            }
        }
        Ok(())
    }

    fn mark<C: CounterState>(&mut self, survivors: &[&C]) {
        for (w, ws) in &mut self.writes {
            let held = |x: &CounterWrite| {
                survivors.iter().any(|s| {
                    let (p, n) = s.entry(*w);
                    p >= x.p && n >= x.n
                })
            };
            for x in ws.iter_mut().rev() {
                if held(x) {
                    break;
                }
                x.at_risk = true;
            }
        }
    }

    fn holds_counter<C: CounterState>(
        &self,
        w: ReplicaId,
        i: usize,
        state: &C,
    ) -> Result<(), String> {
        let x = &self.writes[&w][i];
        let (p, n) = state.entry(w);
        if p >= x.p && n >= x.n {
            Ok(())
        } else {
            Err(format!(
                "entry of {w} is ({p}, {n}), below the totals ({}, {}) of its write #{}",
                x.p,
                x.n,
                i + 1
            ))
        }
    }

    fn project<C: CounterState>(state: &C, amb: &Ambiguity) -> String {
        let kept: Vec<_> = state
            .entries()
            .into_iter()
            .filter(|(w, _, _)| !amb.contains(*w))
            .collect();
        format!("{kept:?}")
    }

    fn count(&self) -> (usize, usize) {
        let all = self.writes.values().map(Vec::len).sum();
        let risk = self.writes.values().flatten().filter(|x| x.at_risk).count();
        (all, risk)
    }
}

macro_rules! counter_oracle {
    ($ty:ty) => {
        impl Oracle<$ty> for CounterOracle {
            fn record(
                &mut self,
                meta: &WriteMeta,
                op: &CounterOp,
                pre: &(u64, u64),
                delta: &$ty,
                after: &$ty,
                amb: &Ambiguity,
            ) -> Result<(), String> {
                let got = after.entry(meta.writer);
                let d = delta.entry(meta.writer);
                let expect_delta = match op {
                    CounterOp::Inc(_) => (got.0, 0),
                    CounterOp::Dec(_) => (0, got.1),
                };
                if d != expect_delta || delta.entries().len() != 1 {
                    return Err(format!(
                        "{op:?}: delta {delta:?} is not the writer's new entry {got:?}"
                    ));
                }
                self.record_counter(meta, *op, *pre, got, amb)
            }
            fn writes_of(&self, writer: ReplicaId) -> usize {
                self.writes.get(&writer).map_or(0, Vec::len)
            }
            fn holds(
                &self,
                writer: ReplicaId,
                index: usize,
                state: &$ty,
                _: &Ambiguity,
            ) -> Result<(), String> {
                self.holds_counter(writer, index, state)
            }
            fn check_state(&self, state: &$ty, amb: &Ambiguity) -> Result<(), String> {
                self.check_entries(state, amb)
            }
            fn check_deep(&self, state: &$ty, amb: &Ambiguity) -> Result<(), String> {
                self.check_entries(state, amb)
            }
            fn mark_at_risk(&mut self, survivors: &[&$ty]) {
                self.mark(survivors);
            }
            fn check_final(&self, state: &$ty, amb: &Ambiguity) -> Result<(), String> {
                self.final_entries(state, amb)
            }
            fn projection(&self, state: &$ty, amb: &Ambiguity) -> Option<String> {
                Some(Self::project(state, amb))
            }
            fn totals(&self) -> (usize, usize) {
                self.count()
            }
        }
    };
}

counter_oracle!(GCounter);
counter_oracle!(PnCounter);

// ---------------------------------------------------------------------------------
// OR-Set

#[derive(Debug, Clone)]
struct DotRec {
    elem: u64,
    writer: ReplicaId,
    /// Issued twice (only under an ambiguous writer).
    dup: bool,
    issued_at_risk: bool,
    /// Some acknowledged write observed this dot live and removed it.
    killed: bool,
    kill_at_risk: bool,
}

#[derive(Debug, Clone)]
struct SetWrite {
    op: SetOp,
    dot: Option<Dot>,
    kills: Vec<Dot>,
}

/// OR-Set oracle: every dot issued (with its element) and every dot an acknowledged
/// write observed and removed (`remove`, `clear`, and `insert`, which replaces the
/// element's older dots). At the end, a dot whose add was acknowledged is in the
/// context; it is live **iff no acknowledged write observed it** — the add-wins rule:
/// an element is present iff some add was not observed by a remove (unless that add or
/// remove was at risk). At every step: a reply is never present without its post.
#[derive(Debug, Default)]
pub struct OrSetOracle {
    dots: BTreeMap<Dot, DotRec>,
    writes: BTreeMap<ReplicaId, Vec<SetWrite>>,
    /// Elements that ever got a dot under an ambiguous writer (filled lazily).
    by_elem: BTreeMap<u64, Vec<Dot>>,
    /// Dots a leader's state lost to the `damage` fault (see [`Oracle::lost_by_damage`]).
    damaged: BTreeSet<Dot>,
}

fn live(state: &OrSet<u64>, elem: u64, d: &Dot) -> bool {
    state.dots(&elem).is_some_and(|ds| ds.contains(d))
}

impl OrSetOracle {
    fn elem_ambiguous(&self, elem: u64, amb: &Ambiguity) -> bool {
        self.by_elem
            .get(&elem)
            .is_some_and(|ds| ds.iter().any(|d| amb.contains(d.replica())))
    }

    fn dot_ambiguous(&self, d: &Dot, amb: &Ambiguity) -> bool {
        amb.contains(d.replica()) || self.dots.get(d).is_some_and(|r| r.dup)
    }

    fn posts_and_replies(&self, state: &OrSet<u64>, amb: &Ambiguity) -> Result<(), String> {
        for &e in state.iter().rev() {
            if e < REPLY {
                break;
            }
            let Some(post) = post_of(e) else { continue };
            if state.contains(&post) {
                continue;
            }
            let excused = self.elem_ambiguous(post, amb)
                || self.elem_ambiguous(e, amb)
                || state
                    .dots(&e)
                    .unwrap_or(&[])
                    .iter()
                    .any(|d| self.dot_ambiguous(d, amb));
            if !excused {
                return Err(format!(
                    "reply {e} (dots {:?}) is present without its post {post}: causal consistency broken",
                    state.dots(&e).unwrap_or(&[])
                ));
            }
        }
        Ok(())
    }
}

impl Oracle<OrSet<u64>> for OrSetOracle {
    fn record(
        &mut self,
        meta: &WriteMeta,
        op: &SetOp,
        pre: &Vec<Dot>,
        delta: &OrSet<u64>,
        after: &OrSet<u64>,
        amb: &Ambiguity,
    ) -> Result<(), String> {
        let w = meta.writer;
        let mut dot = None;
        match op {
            SetOp::Insert(x) => {
                let ds = delta.dots(x).unwrap_or(&[]);
                let [d] = ds else {
                    return Err(format!(
                        "insert({x}) by {w}: delta holds dots {ds:?}, not one"
                    ));
                };
                if d.replica() != w {
                    return Err(format!(
                        "insert({x}) by {w} issued dot {d:?} of another writer"
                    ));
                }
                if after.dots(x) != Some(&[*d][..]) {
                    return Err(format!(
                        "insert({x}) by {w}: the writer then holds {:?}, not just the new dot {d:?}",
                        after.dots(x)
                    ));
                }
                if let Some(rec) = self.dots.get_mut(d) {
                    if !amb.contains(w) {
                        return Err(format!(
                            "dot {d:?} issued twice (for {} and now for {x}) under writer {w}: KV679",
                            rec.elem
                        ));
                    }
                    rec.dup = true;
                } else {
                    self.dots.insert(
                        *d,
                        DotRec {
                            elem: *x,
                            writer: w,
                            dup: false,
                            issued_at_risk: false,
                            killed: false,
                            kill_at_risk: false,
                        },
                    );
                }
                self.by_elem.entry(*x).or_default().push(*d);
                dot = Some(*d);
            }
            SetOp::Remove(x) => {
                if after.contains(x) {
                    return Err(format!("remove({x}) by {w}: still present at the writer"));
                }
            }
            SetOp::Clear => {
                if !after.is_empty() {
                    return Err(format!(
                        "clear by {w}: {} elements remain at the writer",
                        after.len()
                    ));
                }
            }
        }
        for k in pre {
            if !delta.context().contains(k) {
                return Err(format!(
                    "{op:?} by {w}: the delta does not remove observed dot {k:?}"
                ));
            }
            match self.dots.get_mut(k) {
                Some(rec) => {
                    rec.killed = true;
                    rec.kill_at_risk = false;
                }
                None if amb.contains(k.replica()) => {}
                None => {
                    return Err(format!(
                        "{op:?} by {w} observed dot {k:?}, which nobody issued"
                    ));
                }
            }
        }
        self.writes.entry(w).or_default().push(SetWrite {
            op: *op,
            dot,
            kills: pre.clone(),
        });
        Ok(())
    }

    fn writes_of(&self, writer: ReplicaId) -> usize {
        self.writes.get(&writer).map_or(0, Vec::len)
    }

    fn holds(
        &self,
        writer: ReplicaId,
        index: usize,
        state: &OrSet<u64>,
        amb: &Ambiguity,
    ) -> Result<(), String> {
        let wr = &self.writes[&writer][index];
        if let Some(d) = wr.dot {
            if !state.context().contains(&d) {
                return Err(format!(
                    "lacks dot {d:?} of write #{} {:?}",
                    index + 1,
                    wr.op
                ));
            }
        }
        for k in &wr.kills {
            // A damaged dot: a leader that lost it applies the remove as a no-op, so the
            // novelty it forwards (with a token covering the write) lacks the removal.
            if self.dot_ambiguous(k, amb) || self.damaged.contains(k) {
                continue;
            }
            let Some(rec) = self.dots.get(k) else {
                continue;
            };
            if !state.context().contains(k) || live(state, rec.elem, k) {
                return Err(format!(
                    "lacks write #{} {:?} of {writer}: observed dot {k:?} of {} is not removed",
                    index + 1,
                    wr.op,
                    rec.elem
                ));
            }
        }
        Ok(())
    }

    fn check_state(&self, state: &OrSet<u64>, amb: &Ambiguity) -> Result<(), String> {
        self.posts_and_replies(state, amb)
    }

    fn check_deep(&self, state: &OrSet<u64>, amb: &Ambiguity) -> Result<(), String> {
        state
            .check_invariants()
            .map_err(|e| format!("OR-Set invariant broken: {e}"))?;
        for &e in state.iter() {
            if (POST..REPLY).contains(&e) && !self.by_elem.contains_key(&e) {
                return Err(format!("post {e} present but never written"));
            }
            for d in state.dots(&e).unwrap_or(&[]) {
                if self.dot_ambiguous(d, amb) {
                    continue;
                }
                match self.dots.get(d) {
                    None => {
                        return Err(format!("element {e} holds dot {d:?}, which nobody issued"))
                    }
                    Some(r) if r.elem != e => {
                        return Err(format!(
                            "element {e} holds dot {d:?}, issued for element {}",
                            r.elem
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        self.posts_and_replies(state, amb)
    }

    fn mark_at_risk(&mut self, survivors: &[&OrSet<u64>]) {
        for (d, rec) in &mut self.dots {
            if !rec.issued_at_risk && !survivors.iter().any(|s| s.context().contains(d)) {
                rec.issued_at_risk = true;
            }
            if rec.killed
                && !rec.kill_at_risk
                && !survivors
                    .iter()
                    .any(|s| s.context().contains(d) && !live(s, rec.elem, d))
            {
                rec.kill_at_risk = true;
            }
        }
    }

    fn check_final(&self, state: &OrSet<u64>, amb: &Ambiguity) -> Result<(), String> {
        self.check_deep(state, amb)?;
        for d in state.context().dots() {
            if !self.dot_ambiguous(&d, amb) && !self.dots.contains_key(&d) {
                return Err(format!("the context holds dot {d:?}, which nobody issued"));
            }
        }
        for (d, rec) in &self.dots {
            if amb.contains(rec.writer) || rec.dup {
                continue;
            }
            let e = rec.elem;
            let in_ctx = state.context().contains(d);
            let is_live = live(state, e, d);
            if !in_ctx {
                if !rec.issued_at_risk {
                    return Err(format!(
                        "acknowledged add of {e} (dot {d:?}) is lost: not in the final context"
                    ));
                }
                if rec.killed && !rec.kill_at_risk {
                    return Err(format!("acknowledged remove of {e} (dot {d:?}) is lost"));
                }
                continue;
            }
            if rec.killed && !rec.kill_at_risk && is_live {
                return Err(format!(
                    "resurrected: dot {d:?} of {e} was observed by an acknowledged remove, yet is live"
                ));
            }
            if !rec.killed && !is_live && !self.damaged.contains(d) {
                return Err(format!(
                    "add of {e} (dot {d:?}) is seen but not live, though no acknowledged write observed it (a remove that ignores its causal context)"
                ));
            }
        }
        Ok(())
    }

    fn projection(&self, state: &OrSet<u64>, amb: &Ambiguity) -> Option<String> {
        let kept: Vec<(u64, Dot)> = state
            .iter()
            .flat_map(|e| state.dots(e).unwrap_or(&[]).iter().map(move |d| (*e, *d)))
            .filter(|(_, d)| !self.dot_ambiguous(d, amb))
            .collect();
        Some(format!("{kept:?}"))
    }

    fn totals(&self) -> (usize, usize) {
        let all = self.writes.values().map(Vec::len).sum();
        let risk = self
            .dots
            .values()
            .filter(|r| r.issued_at_risk || r.kill_at_risk)
            .count();
        (all, risk)
    }

    fn lost_by_damage(&mut self, dots: &[Dot]) {
        self.damaged.extend(dots.iter().copied());
    }
}

// ---------------------------------------------------------------------------------
// LWW register

#[derive(Debug, Clone)]
struct LwwWrite {
    stamp: Timestamp,
    value: String,
    at_risk: bool,
}

/// LWW oracle: every write's timestamp, writer and value. Any state's value must be
/// the write with the greatest `(timestamp, writer)` among the writes its context has
/// seen (one candidate per writer: its latest seen write, since a writer's timestamps
/// only grow); every local write must be ordered after what its author had seen (its
/// timestamp is exactly the hybrid clock's next reading) and be the author's value
/// right after.
#[derive(Debug, Default)]
pub struct LwwOracle {
    writes: BTreeMap<ReplicaId, Vec<LwwWrite>>,
}

type Reg = LwwRegister<String>;

impl LwwOracle {
    fn best(
        &self,
        state: &Reg,
        amb: &Ambiguity,
    ) -> Result<Option<(Timestamp, ReplicaId, &str)>, String> {
        let mut best: Option<(Timestamp, ReplicaId, &str)> = None;
        for (w, c) in state.context().iter() {
            if amb.contains(w) {
                continue;
            }
            let Some(ws) = self.writes.get(&w) else {
                return Err(format!(
                    "context has seen {c} writes of {w}, which never wrote"
                ));
            };
            let Some(x) = usize::try_from(c)
                .ok()
                .and_then(|c| ws.get(c.wrapping_sub(1)))
            else {
                return Err(format!(
                    "context has seen {c} writes of {w}, which wrote {}",
                    ws.len()
                ));
            };
            let cand = (x.stamp, w, x.value.as_str());
            let better = match best {
                None => true,
                Some(b) => (cand.0, cand.1) > (b.0, b.1),
            };
            if better {
                best = Some(cand);
            }
        }
        Ok(best)
    }
}

impl Oracle<Reg> for LwwOracle {
    fn record(
        &mut self,
        meta: &WriteMeta,
        op: &LwwDraw,
        pre: &Option<Timestamp>,
        delta: &Reg,
        after: &Reg,
        amb: &Ambiguity,
    ) -> Result<(), String> {
        let w = meta.writer;
        let now = meta.now_ms;
        let want = match pre {
            Some(t) => t.tick(now).ok_or("clock exhausted")?,
            None => Timestamp::new(now, 0),
        };
        for (what, r) in [("delta", delta), ("writer's value", after)] {
            if r.timestamp() != Some(want) || r.writer() != Some(w) || r.get() != Some(&op.0) {
                return Err(format!(
                    "set({:?}) by {w} at clock {now} after {pre:?}: {what} is {:?} by {:?} at {:?}, expected this write at {want:?}",
                    op.0,
                    r.get(),
                    r.writer(),
                    r.timestamp()
                ));
            }
        }
        let counter = after.context().get(w);
        let ws = self.writes.entry(w).or_default();
        if !amb.contains(w) && counter != ws.len() as u64 + 1 {
            return Err(format!(
                "write of {w} got dot counter {counter}, but it is the writer's write #{} (a dot reused or skipped)",
                ws.len() + 1
            ));
        }
        ws.push(LwwWrite {
            stamp: want,
            value: op.0.clone(),
            at_risk: false,
        });
        Ok(())
    }

    fn writes_of(&self, writer: ReplicaId) -> usize {
        self.writes.get(&writer).map_or(0, Vec::len)
    }

    fn holds(
        &self,
        writer: ReplicaId,
        index: usize,
        state: &Reg,
        _: &Ambiguity,
    ) -> Result<(), String> {
        let seen = state.context().get(writer);
        if seen > index as u64 {
            Ok(())
        } else {
            Err(format!(
                "has seen {seen} writes of {writer}, not write #{}",
                index + 1
            ))
        }
    }

    fn check_state(&self, state: &Reg, amb: &Ambiguity) -> Result<(), String> {
        let best = self.best(state, amb)?;
        let (Some(stamp), Some(writer), Some(value)) =
            (state.timestamp(), state.writer(), state.get())
        else {
            if state.context().is_empty() {
                return Ok(());
            }
            return Err("a register that has seen writes holds no value".into());
        };
        if !amb.contains(writer) {
            if best != Some((stamp, writer, value.as_str())) {
                return Err(format!(
                    "holds {value:?} by {writer} at {stamp:?}, but the last write (greatest timestamp, then writer) it has seen is {best:?}"
                ));
            }
            return Ok(());
        }
        if best.is_some_and(|b| (stamp, writer) < (b.0, b.1)) {
            return Err(format!(
                "holds {value:?} by shared writer {writer} at {stamp:?} below the unambiguous write {best:?} it has seen"
            ));
        }
        let real = self
            .writes
            .get(&writer)
            .is_some_and(|ws| ws.iter().any(|x| x.stamp == stamp && &x.value == value));
        if !real {
            return Err(format!(
                "holds {value:?} at {stamp:?} by {writer}, which no write made"
            ));
        }
        Ok(())
    }

    fn check_deep(&self, state: &Reg, amb: &Ambiguity) -> Result<(), String> {
        state
            .check_invariants()
            .map_err(|e| format!("LWW invariant broken: {e}"))?;
        self.check_state(state, amb)
    }

    fn mark_at_risk(&mut self, survivors: &[&Reg]) {
        for (w, ws) in &mut self.writes {
            let held = survivors
                .iter()
                .map(|s| s.context().get(*w))
                .max()
                .unwrap_or(0);
            for (i, x) in ws.iter_mut().enumerate() {
                if i as u64 >= held {
                    x.at_risk = true;
                }
            }
        }
    }

    fn check_final(&self, state: &Reg, amb: &Ambiguity) -> Result<(), String> {
        self.check_deep(state, amb)?;
        for (w, ws) in &self.writes {
            if amb.contains(*w) {
                continue;
            }
            let required = ws.iter().rposition(|x| !x.at_risk).map_or(0, |i| i + 1);
            let seen = state.context().get(*w);
            if seen < required as u64 {
                return Err(format!(
                    "acknowledged write #{required} of {w} ({:?}) is lost: the final register has seen {seen}",
                    ws[required - 1].value
                ));
            }
        }
        Ok(())
    }

    /// The context's entries of unambiguous writers: they converge even when an id is
    /// shared, unlike the value (a shared writer's write may win at one leader and
    /// never reach another, whose context already names its dot).
    fn projection(&self, state: &Reg, amb: &Ambiguity) -> Option<String> {
        let kept: Vec<(ReplicaId, u64)> = state
            .context()
            .iter()
            .filter(|(w, _)| !amb.contains(*w))
            .collect();
        Some(format!("{kept:?}"))
    }

    fn totals(&self) -> (usize, usize) {
        let all = self.writes.values().map(Vec::len).sum();
        let risk = self.writes.values().flatten().filter(|x| x.at_risk).count();
        (all, risk)
    }
}

// ---------------------------------------------------------------------------------
// Keyspace

/// What one keyspace dot holds (the oracle's own record of the write that issued it).
#[derive(Debug, Clone, PartialEq, Eq)]
enum KPayload {
    G(u64),
    Pn(u64, u64),
    Set(String),
    Lww(Timestamp, String),
    Mv(String),
}

impl KPayload {
    fn value_type(&self) -> ValueType {
        match self {
            KPayload::G(_) => ValueType::GCounter,
            KPayload::Pn(..) => ValueType::PnCounter,
            KPayload::Set(_) => ValueType::OrSet,
            KPayload::Lww(..) => ValueType::LwwRegister,
            KPayload::Mv(_) => ValueType::MvRegister,
        }
    }
}

#[derive(Debug, Clone)]
struct KDot {
    key: String,
    payload: KPayload,
    writer: ReplicaId,
    /// Its payload is not known: issued twice (under an ambiguous writer), or by a
    /// write whose view held such dots.
    dup: bool,
    issued_at_risk: bool,
    /// Some acknowledged write (a delete, an overwrite, an OR-Set remove or re-add, a
    /// counter's next increment, a write resolving a type conflict) observed this dot
    /// live and superseded it.
    killed: bool,
    /// ... and that write was a delete of the key.
    killed_by_delete: bool,
    kill_at_risk: bool,
}

#[derive(Debug, Clone)]
struct KWrite {
    op: KeyWrite,
    dot: Option<Dot>,
    kills: Vec<Dot>,
}

/// What a read of a key whose live dots hold `dots` (ascending by dot) returns: the
/// keyspace's documented read, recomputed from the oracle's own payloads. Counters:
/// per writer, its highest live dot's totals, summed (a `u64` saturating, a PN value
/// clamped to `i64`); OR-Set and MV register: the distinct values, ascending; LWW: the
/// value of the greatest (timestamp, writer, dot counter); several types: a
/// [`Value::Conflict`] of each type's value, in type order. `None`: no live dot.
fn read_key(dots: &[(Dot, &KPayload)]) -> Option<Value> {
    let mut types: Vec<ValueType> = dots.iter().map(|(_, p)| p.value_type()).collect();
    types.sort_unstable();
    types.dedup();
    let mut values: Vec<Value> = types
        .into_iter()
        .map(|t| {
            let of = dots.iter().filter(move |(_, p)| p.value_type() == t);
            match t {
                ValueType::GCounter | ValueType::PnCounter => {
                    let mut latest: BTreeMap<ReplicaId, &KPayload> = BTreeMap::new();
                    for (d, p) in of {
                        latest.insert(d.replica(), p);
                    }
                    let (mut inc, mut dec) = (0u128, 0u128);
                    for p in latest.values() {
                        match p {
                            KPayload::G(n) => inc += u128::from(*n),
                            KPayload::Pn(i, m) => {
                                inc += u128::from(*i);
                                dec += u128::from(*m);
                            }
                            _ => {}
                        }
                    }
                    if t == ValueType::GCounter {
                        Value::GCounter(u64::try_from(inc).unwrap_or(u64::MAX))
                    } else {
                        let v = i128::try_from(inc).unwrap_or(i128::MAX)
                            - i128::try_from(dec).unwrap_or(i128::MAX);
                        let v = v.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
                        Value::PnCounter(i64::try_from(v).unwrap_or(0))
                    }
                }
                ValueType::OrSet | ValueType::MvRegister => {
                    let mut vs: Vec<String> = of
                        .filter_map(|(_, p)| match p {
                            KPayload::Set(x) | KPayload::Mv(x) => Some(x.clone()),
                            _ => None,
                        })
                        .collect();
                    vs.sort_unstable();
                    vs.dedup();
                    if t == ValueType::OrSet {
                        Value::OrSet(vs)
                    } else {
                        Value::MvRegister(vs)
                    }
                }
                ValueType::LwwRegister => {
                    let best = of
                        .filter_map(|(d, p)| match p {
                            KPayload::Lww(stamp, v) => Some((*stamp, d.replica(), d.counter(), v)),
                            _ => None,
                        })
                        .max();
                    Value::LwwRegister(best.map(|b| b.3.clone()).unwrap_or_default())
                }
            }
        })
        .collect();
    match values.len() {
        0 => None,
        1 => values.pop(),
        _ => Some(Value::Conflict(values)),
    }
}

/// Keyspace oracle: like the OR-Set oracle, per dot — every dot an acknowledged write
/// issued (with its key and what it holds: a counter writer's running totals, an
/// element, a register write and its hybrid-clock stamp), and every dot an
/// acknowledged write observed live and superseded (a delete: all of the key's; an
/// OR-Set remove: the element's adds; an insert: the element's earlier adds; a counter
/// write: the writer's earlier dot of the key; a register write: all of the key's; any
/// write: the key's dots of other types, resolving a type conflict).
///
/// - **Write** (at the writer): the delta names the key only, issues exactly one new
///   dot of the writer (none for a remove or delete) holding the expected payload, and
///   carries every superseded dot in its context; afterwards the writer's key holds
///   exactly its earlier live dots minus the superseded ones plus the new one.
/// - **State** (every state, every step): every live dot was issued, under its key, and
///   every key reads exactly as the oracle's payloads of its live dots make it (so a
///   type conflict reads as one [`Value::Conflict`] everywhere, with each type's value).
/// - **Final**: every acknowledged write's dot is in the context; a dot is live **iff no
///   acknowledged write observed it** (unless that write or the dot's issue was at risk,
///   or damage lost it). Per key, this is: counters hold every acknowledged increment
///   not covered by a delete that observed it (update wins); a delete never
///   resurrects; a key whose every write was observed by a delete is absent; and each
///   key whose dots are all exact reads exactly the oracle's value.
#[derive(Debug, Default)]
pub struct KeyspaceOracle {
    dots: BTreeMap<Dot, KDot>,
    writes: BTreeMap<ReplicaId, Vec<KWrite>>,
    damaged: BTreeSet<Dot>,
}

impl KeyspaceOracle {
    /// Whether `d`'s payload is unknown (an ambiguous writer's dot).
    fn dot_ambiguous(&self, d: &Dot, amb: &Ambiguity) -> bool {
        amb.contains(d.replica()) || self.dots.get(d).is_some_and(|r| r.dup)
    }

    /// The dots `op` by `w` supersedes among the key's live dots `pre`, and the
    /// payload of the dot it issues (`None`: it issues none). `Err` if a dot of `pre`
    /// was never issued.
    fn effect(
        &self,
        op: &KeyWrite,
        pre: &[Dot],
        w: ReplicaId,
        now_ms: u64,
    ) -> Result<(Vec<Dot>, Option<KPayload>), String> {
        let mut recs: Vec<(Dot, &KDot)> = Vec::new();
        for d in pre {
            match self.dots.get(d) {
                Some(r) => recs.push((*d, r)),
                None => {
                    return Err(format!(
                        "key {} holds dot {d:?}, which nobody issued",
                        op.key
                    ))
                }
            }
        }
        let Some(v) = &op.op else {
            return Ok((pre.to_vec(), None));
        };
        let t = v.value_type();
        let other_types = recs.iter().filter(|(_, r)| r.payload.value_type() != t);
        let mut kills: Vec<Dot> = other_types.map(|(d, _)| *d).collect();
        let own = |r: &&(Dot, &KDot)| r.0.replica() == w && r.1.payload.value_type() == t;
        let payload = match v {
            ValueOp::GCounterIncrement(n) => {
                let mut base = 0;
                for (d, r) in recs.iter().filter(own) {
                    if let KPayload::G(x) = r.payload {
                        base = x;
                    }
                    kills.push(*d);
                }
                Some(KPayload::G(base.saturating_add(*n)))
            }
            ValueOp::PnCounterIncrement(n) | ValueOp::PnCounterDecrement(n) => {
                let (mut i, mut m) = (0, 0);
                for (d, r) in recs.iter().filter(own) {
                    if let KPayload::Pn(a, b) = r.payload {
                        (i, m) = (a, b);
                    }
                    kills.push(*d);
                }
                if matches!(v, ValueOp::PnCounterIncrement(_)) {
                    i = u64::saturating_add(i, *n);
                } else {
                    m = u64::saturating_add(m, *n);
                }
                Some(KPayload::Pn(i, m))
            }
            ValueOp::OrSetInsert(e) | ValueOp::OrSetRemove(e) => {
                let same = recs
                    .iter()
                    .filter(|(_, r)| r.payload == KPayload::Set(e.clone()))
                    .map(|(d, _)| *d);
                if matches!(v, ValueOp::OrSetRemove(_)) {
                    kills = same.collect();
                    None
                } else {
                    kills.extend(same);
                    Some(KPayload::Set(e.clone()))
                }
            }
            ValueOp::LwwSet { value, .. } => {
                kills = pre.to_vec();
                let latest = recs
                    .iter()
                    .filter_map(|(_, r)| match r.payload {
                        KPayload::Lww(s, _) => Some(s),
                        _ => None,
                    })
                    .max();
                let stamp = match latest {
                    Some(s) => s.tick(now_ms).ok_or("clock exhausted")?,
                    None => Timestamp::new(now_ms, 0),
                };
                Some(KPayload::Lww(stamp, value.clone()))
            }
            ValueOp::MvRegisterSet(value) => {
                kills = pre.to_vec();
                Some(KPayload::Mv(value.clone()))
            }
        };
        kills.sort_unstable();
        kills.dedup();
        Ok((kills, payload))
    }

    /// Checks that every key of `state` reads as the oracle's payloads of its live
    /// dots make it, and that every live dot was issued under its key.
    fn check_reads(&self, state: &Keyspace, amb: &Ambiguity) -> Result<(), String> {
        let mut by_key: BTreeMap<&str, Vec<(Dot, &KPayload)>> = BTreeMap::new();
        let mut inexact: BTreeSet<&str> = BTreeSet::new();
        for (k, d) in state.dots() {
            if self.dot_ambiguous(&d, amb) {
                inexact.insert(k);
                continue;
            }
            let Some(r) = self.dots.get(&d) else {
                return Err(format!("key {k} holds dot {d:?}, which nobody issued"));
            };
            if r.key != k {
                return Err(format!("key {k} holds dot {d:?}, issued for key {}", r.key));
            }
            by_key.entry(k).or_default().push((d, &r.payload));
        }
        for (k, ds) in &by_key {
            if inexact.contains(k) {
                continue;
            }
            let want = read_key(ds);
            let got = state.get(k);
            if got != want {
                return Err(format!(
                    "key {k} reads {got:?}, but its live dots {:?} make it {want:?}",
                    ds.iter().map(|(d, _)| *d).collect::<Vec<_>>()
                ));
            }
        }
        Ok(())
    }

    fn describe(&self, d: &Dot) -> String {
        match self.dots.get(d) {
            Some(r) => format!(
                "{:?} of key {} (dot {d:?} by {})",
                r.payload, r.key, r.writer
            ),
            None => format!("dot {d:?}"),
        }
    }
}

impl Oracle<Keyspace> for KeyspaceOracle {
    fn record(
        &mut self,
        meta: &WriteMeta,
        op: &KeyWrite,
        pre: &Vec<Dot>,
        delta: &Keyspace,
        after: &Keyspace,
        amb: &Ambiguity,
    ) -> Result<(), String> {
        let w = meta.writer;
        let key = op.key.as_str();
        // An ambiguous writer's view may hold dots whose payload is unknown.
        let exact = !amb.contains(w) && !pre.iter().any(|d| self.dot_ambiguous(d, amb));
        // Which dots a write supersedes depends on each dot's own payload: decided for
        // every dot whose payload is known; the new dot's payload only if all are.
        let known: Vec<Dot> = pre
            .iter()
            .copied()
            .filter(|d| !self.dot_ambiguous(d, amb))
            .collect();
        let (kills, payload) = self.effect(op, &known, w, meta.now_ms)?;
        let payload = payload.filter(|_| exact);
        let issued: Vec<(String, Dot)> = delta.dots().map(|(k, d)| (k.to_string(), d)).collect();
        let issues = matches!(
            &op.op,
            Some(v) if !matches!(v, ValueOp::OrSetRemove(_))
        );
        let dot = if issues {
            let [(k, d)] = &issued[..] else {
                return Err(format!(
                    "{op:?} by {w}: the delta holds live dots {issued:?}, not one"
                ));
            };
            if k != key || d.replica() != w {
                return Err(format!(
                    "{op:?} by {w}: the delta's live dot {d:?} is under key {k} by {}, not under {key} by {w}",
                    d.replica()
                ));
            }
            Some(*d)
        } else {
            if !issued.is_empty() {
                return Err(format!(
                    "{op:?} by {w}: the delta holds live dots {issued:?}, expected none"
                ));
            }
            None
        };
        if let (Some(d), Some(p)) = (dot, &payload) {
            let want = read_key(&[(d, p)]);
            if delta.get(key) != want {
                return Err(format!(
                    "{op:?} by {w}: the delta reads {:?}, expected {want:?} (from the key's dots {pre:?})",
                    delta.get(key)
                ));
            }
        }
        for k in &kills {
            if !delta.context().contains(k) {
                return Err(format!(
                    "{op:?} by {w}: the delta's context lacks the superseded {}",
                    self.describe(k)
                ));
            }
        }
        if exact {
            let got = key_dots(after, key);
            let mut want: Vec<Dot> = pre.iter().copied().filter(|d| !kills.contains(d)).collect();
            want.extend(dot);
            want.sort_unstable();
            if got != want {
                return Err(format!(
                    "{op:?} by {w}: the writer's key then holds dots {got:?}, expected {want:?} (before: {pre:?}, superseded: {kills:?})"
                ));
            }
        }
        if let Some(d) = dot {
            if let Some(rec) = self.dots.get_mut(&d) {
                if !amb.contains(w) {
                    return Err(format!(
                        "dot {d:?} issued twice (for key {} and now for {key}) under writer {w}: KV679",
                        rec.key
                    ));
                }
                rec.dup = true;
            } else {
                self.dots.insert(
                    d,
                    KDot {
                        key: key.to_string(),
                        payload: payload.clone().unwrap_or(KPayload::G(0)),
                        writer: w,
                        dup: payload.is_none(),
                        issued_at_risk: false,
                        killed: false,
                        killed_by_delete: false,
                        kill_at_risk: false,
                    },
                );
            }
        }
        for k in &kills {
            match self.dots.get_mut(k) {
                Some(rec) => {
                    rec.killed = true;
                    rec.killed_by_delete |= op.op.is_none();
                    rec.kill_at_risk = false;
                }
                None if amb.contains(k.replica()) => {}
                None => {
                    return Err(format!(
                        "{op:?} by {w} observed dot {k:?}, which nobody issued"
                    ));
                }
            }
        }
        self.writes.entry(w).or_default().push(KWrite {
            op: op.clone(),
            dot,
            kills,
        });
        Ok(())
    }

    fn writes_of(&self, writer: ReplicaId) -> usize {
        self.writes.get(&writer).map_or(0, Vec::len)
    }

    fn holds(
        &self,
        writer: ReplicaId,
        index: usize,
        state: &Keyspace,
        amb: &Ambiguity,
    ) -> Result<(), String> {
        let wr = &self.writes[&writer][index];
        if let Some(d) = wr.dot {
            if !state.context().contains(&d) {
                return Err(format!(
                    "lacks dot {d:?} of write #{} {:?}",
                    index + 1,
                    wr.op
                ));
            }
        }
        let live: BTreeSet<Dot> = if wr.kills.is_empty() {
            BTreeSet::new()
        } else {
            key_dots(state, &wr.op.key).into_iter().collect()
        };
        for k in &wr.kills {
            // A damaged dot: a leader that lost it applies the write as a no-op, so the
            // novelty it forwards (with a token covering the write) lacks the removal.
            if self.dot_ambiguous(k, amb) || self.damaged.contains(k) {
                continue;
            }
            if !state.context().contains(k) || live.contains(k) {
                return Err(format!(
                    "lacks write #{} {:?} of {writer}: the superseded {} is not removed (in the context: {}, live: {})",
                    index + 1,
                    wr.op,
                    self.describe(k),
                    state.context().contains(k),
                    live.contains(k)
                ));
            }
        }
        Ok(())
    }

    fn check_state(&self, state: &Keyspace, amb: &Ambiguity) -> Result<(), String> {
        self.check_reads(state, amb)
    }

    fn check_deep(&self, state: &Keyspace, amb: &Ambiguity) -> Result<(), String> {
        state
            .check_invariants()
            .map_err(|e| format!("keyspace invariant broken: {e}"))?;
        self.check_reads(state, amb)
    }

    fn mark_at_risk(&mut self, survivors: &[&Keyspace]) {
        let live: Vec<BTreeSet<Dot>> = survivors
            .iter()
            .map(|s| s.dots().map(|(_, d)| d).collect())
            .collect();
        for (d, rec) in &mut self.dots {
            if !rec.issued_at_risk && !survivors.iter().any(|s| s.context().contains(d)) {
                rec.issued_at_risk = true;
            }
            if rec.killed
                && !rec.kill_at_risk
                && !survivors
                    .iter()
                    .zip(&live)
                    .any(|(s, l)| s.context().contains(d) && !l.contains(d))
            {
                rec.kill_at_risk = true;
            }
        }
    }

    fn check_final(&self, state: &Keyspace, amb: &Ambiguity) -> Result<(), String> {
        self.check_deep(state, amb)?;
        for d in state.context().dots() {
            if !self.dot_ambiguous(&d, amb) && !self.dots.contains_key(&d) {
                return Err(format!("the context holds dot {d:?}, which nobody issued"));
            }
        }
        let live: BTreeSet<Dot> = state.dots().map(|(_, d)| d).collect();
        // Per key: the dots that must be live, or `None` if some dot of the key is not
        // exact (ambiguous, at risk, damaged): then only the per-dot rules hold.
        let mut expect: BTreeMap<&str, Option<Vec<(Dot, &KPayload)>>> = BTreeMap::new();
        for (d, rec) in &self.dots {
            let k = rec.key.as_str();
            let exact = !(amb.contains(rec.writer)
                || rec.dup
                || rec.issued_at_risk
                || (rec.killed && rec.kill_at_risk)
                || self.damaged.contains(d));
            let slot = expect.entry(k).or_insert_with(|| Some(Vec::new()));
            if !exact {
                *slot = None;
            } else if let Some(v) = slot {
                if !rec.killed {
                    v.push((*d, &rec.payload));
                }
            }
            if amb.contains(rec.writer) || rec.dup {
                continue;
            }
            let in_ctx = state.context().contains(d);
            let is_live = live.contains(d);
            let what = self.describe(d);
            if !in_ctx {
                if !rec.issued_at_risk {
                    return Err(format!(
                        "acknowledged write {what} is lost: not in the final context"
                    ));
                }
                if rec.killed && !rec.kill_at_risk {
                    return Err(format!(
                        "the acknowledged write that superseded {what} is lost"
                    ));
                }
                continue;
            }
            if rec.killed && !rec.kill_at_risk && is_live {
                return Err(if rec.killed_by_delete {
                    format!("resurrected: an acknowledged delete of key {k} observed {what}, yet it is live")
                } else {
                    format!("resurrected: an acknowledged write superseded {what}, yet it is live")
                });
            }
            if !rec.killed && !is_live && !self.damaged.contains(d) {
                return Err(format!(
                    "acknowledged write {what} is seen but not live, though no acknowledged write observed it (a delete or overwrite that ignores its causal context)"
                ));
            }
        }
        for (k, want) in expect {
            let Some(mut dots) = want else { continue };
            dots.sort_unstable_by_key(|(d, _)| *d);
            let want = read_key(&dots);
            let got = state.get(k);
            if got != want {
                return Err(match want {
                    None => format!(
                        "key {k} reads {got:?}, but every acknowledged write to it was observed by a delete or an overwrite: it must be absent"
                    ),
                    Some(_) => format!(
                        "key {k} reads {got:?}, but its acknowledged writes make it {want:?}"
                    ),
                });
            }
        }
        Ok(())
    }

    fn projection(&self, state: &Keyspace, amb: &Ambiguity) -> Option<String> {
        let kept: Vec<(&str, Dot)> = state
            .dots()
            .filter(|(_, d)| !self.dot_ambiguous(d, amb))
            .collect();
        Some(format!("{kept:?}"))
    }

    fn totals(&self) -> (usize, usize) {
        let all = self.writes.values().map(Vec::len).sum();
        let risk = self
            .dots
            .values()
            .filter(|r| r.issued_at_risk || r.kill_at_risk)
            .count();
        (all, risk)
    }

    fn lost_by_damage(&mut self, dots: &[Dot]) {
        self.damaged.extend(dots.iter().copied());
    }
}
