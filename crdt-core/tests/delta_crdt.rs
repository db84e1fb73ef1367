//! Property tests of [`DeltaCrdt`]: the repair law (`delta_since`, removals included,
//! also from a stale summary), redundancy removal (`merge_delta`), completeness of the
//! OR-Set's removal hints, `progress_of`, the bottoms, and the causal-context
//! operations `difference` / `without_sorted` they are built on.
//!
//! Every state and delta compared comes from ONE random history of three replicas
//! (see [`history`]): local mutations, out-of-order and duplicated delivery of single
//! deltas (causal gaps), `merge_delta` with forwarding of the novelty, full-state
//! merges, batches joined from `empty_delta()`, and repairs by `delta_since` from fresh
//! or stale summaries. So all dots are consistent, as in one real system.
//!
//! Cases per property: `QUICKCHECK_TESTS`, or 1000.

mod codec_gen;

use codec_gen::{check_roundtrip, verdict, Elem, Model, Rng, Step, REPLICAS};
use crdt_core::{
    CausalContext, Crdt, DeltaCrdt, Dot, GCounter, Keyspace, LwwRegister, MvRegister, OrSet,
    PnCounter, ReplicaId,
};
use quickcheck::{QuickCheck, TestResult};
use std::collections::BTreeSet;
use std::fmt::Debug;

// ---------------------------------------------------------------------------------
// Configuration and small helpers.

/// Cases per property: `QUICKCHECK_TESTS`, or 1000.
fn cases() -> u64 {
    std::env::var("QUICKCHECK_TESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

/// A runner that must pass `cases()` cases.
fn qc() -> QuickCheck {
    let n = cases();
    QuickCheck::new()
        .tests(n)
        .max_tests((10 * n).max(10_000))
        .min_tests_passed(n)
}

/// `Err(what())` unless `cond`.
fn ensure(cond: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(what())
    }
}

/// `Err` naming `what()` and both sides unless they are equal.
fn same<T: PartialEq + Debug>(
    left: &T,
    right: &T,
    what: impl FnOnce() -> String,
) -> Result<(), String> {
    ensure(left == right, || {
        format!("{}:\n  left:  {left:?}\n  right: {right:?}", what())
    })
}

fn join<C: Crdt + Clone>(a: &C, b: &C) -> C {
    let mut out = a.clone();
    out.merge(b);
    out
}

// ---------------------------------------------------------------------------------
// The types under test: `codec_gen`'s models plus type-specific expectations.

/// A type under test: a [`Model`] (to generate histories) and a [`DeltaCrdt`], with
/// the exact expectations on its repair deltas and novelties.
trait Subject: Model + DeltaCrdt {
    /// `d = s.delta_since(&remote.summary())` holds exactly what `remote` may lack.
    fn check_repair(s: &Self, remote: &Self, d: &Self) -> Result<(), String>;

    /// `d = s.delta_since(&s.summary())`: nothing is missing (bottom), except for the
    /// OR-Set (see its impl).
    fn check_self_repair(s: &Self, d: &Self) -> Result<(), String> {
        ensure(d.is_bottom(), || {
            format!("s.delta_since(&s.summary()) is not bottom\n s: {s:?}\n d: {d:?}")
        })
    }

    /// `n`, returned by `s.merge_delta(d)`, is exactly the part of `d` new to `s`.
    fn check_novelty(s: &Self, d: &Self, n: &Self) -> Result<(), String>;

    /// For a local mutation's delta: `Some(true)` if it issued a dot of its author
    /// (progress + 1), `Some(false)` if not, `None` for types without dots.
    fn issues_dot(_delta: &Self) -> Option<bool> {
        None
    }

    /// `progress_of(replica)` computed from a model, where the type has one.
    fn progress_model(&self, _replica: ReplicaId) -> Option<u64> {
        None
    }
}

/// `out` holds exactly the entries of `src` above `seen`'s (for `GCounter`).
fn gcounter_unseen_part(src: &GCounter, seen: &GCounter, out: &GCounter) -> Result<(), String> {
    let expected: Vec<_> = src.iter().filter(|&(r, c)| c > seen.get(r)).collect();
    let got: Vec<_> = out.iter().collect();
    same(&got, &expected, || {
        format!("not exactly the unseen entries\n src: {src:?}\n seen: {seen:?}")
    })
}

impl Subject for GCounter {
    fn check_repair(s: &Self, remote: &Self, d: &Self) -> Result<(), String> {
        gcounter_unseen_part(s, remote, d)
    }

    fn check_novelty(s: &Self, d: &Self, n: &Self) -> Result<(), String> {
        gcounter_unseen_part(d, s, n)
    }
}

/// `out` holds exactly the totals of `src` above `seen`'s (for `PnCounter`).
fn pncounter_unseen_part(src: &PnCounter, seen: &PnCounter, out: &PnCounter) -> Result<(), String> {
    let expected: Vec<_> = src
        .iter()
        .filter_map(|(r, p, n)| {
            let (sp, sn) = seen.totals(r);
            let keep = (if p > sp { p } else { 0 }, if n > sn { n } else { 0 });
            (keep != (0, 0)).then_some((r, keep.0, keep.1))
        })
        .collect();
    let got: Vec<_> = out.iter().collect();
    same(&got, &expected, || {
        format!("not exactly the unseen totals\n src: {src:?}\n seen: {seen:?}")
    })
}

impl Subject for PnCounter {
    fn check_repair(s: &Self, remote: &Self, d: &Self) -> Result<(), String> {
        pncounter_unseen_part(s, remote, d)
    }

    fn check_novelty(s: &Self, d: &Self, n: &Self) -> Result<(), String> {
        pncounter_unseen_part(d, s, n)
    }
}

/// Every live dot of `s` (dots of present elements).
fn live<T: Ord + Clone>(s: &OrSet<T>) -> BTreeSet<Dot> {
    s.iter()
        .flat_map(|v| s.dots(v).unwrap_or(&[]).iter().copied())
        .collect()
}

/// `(element, dot)` for every live dot of `s`.
fn live_pairs<T: Ord + Clone>(s: &OrSet<T>) -> BTreeSet<(T, Dot)> {
    s.iter()
        .flat_map(|v| s.dots(v).unwrap_or(&[]).iter().map(|d| (v.clone(), *d)))
        .collect()
}

impl<T: Elem> Subject for OrSet<T> {
    /// Adds: exactly the live dots of `s` the remote has not seen. Context: that of
    /// `s` minus the live dots the remote has seen (so it removes, at the remote,
    /// exactly what `s` removed).
    fn check_repair(s: &Self, remote: &Self, d: &Self) -> Result<(), String> {
        d.check_invariants()
            .map_err(|e| format!("repair delta: {e}"))?;
        let rc = remote.context();
        let expected_adds: BTreeSet<(T, Dot)> = live_pairs(s)
            .into_iter()
            .filter(|(_, x)| !rc.contains(x))
            .collect();
        same(&live_pairs(d), &expected_adds, || {
            format!("repair adds\n s: {s:?}\n remote: {remote:?}")
        })?;
        let live_s = live(s);
        let expected_ctx: CausalContext = s
            .context()
            .dots()
            .filter(|x| !(rc.contains(x) && live_s.contains(x)))
            .collect();
        same(d.context(), &expected_ctx, || {
            format!("repair context\n s: {s:?}\n remote: {remote:?}")
        })
    }

    /// `delta_since` cannot know the remote is `s` itself: another replica with the
    /// same context may still hold dots `s` removed (a remove creates no dot), so the
    /// context of the removed dots must be sent. No adds, nothing else.
    fn check_self_repair(s: &Self, d: &Self) -> Result<(), String> {
        ensure(d.is_empty(), || format!("self-repair has adds: {d:?}"))?;
        let live_s = live(s);
        let removed: CausalContext = s.context().dots().filter(|x| !live_s.contains(x)).collect();
        same(d.context(), &removed, || {
            format!("self-repair context is not the removed dots of {s:?}")
        })?;
        ensure(d.is_bottom() == removed.is_empty(), || {
            format!("self-repair bottom iff nothing was removed: {d:?}")
        })
    }

    /// Adds: exactly the dots of `d` unseen by `s`. Context: that of `d` unseen by
    /// `s`, plus the live dots of `s` that `d` removes. A hinted delta stays hinted.
    fn check_novelty(s: &Self, d: &Self, n: &Self) -> Result<(), String> {
        n.check_invariants().map_err(|e| format!("novelty: {e}"))?;
        let sc = s.context();
        let expected_adds: BTreeSet<(T, Dot)> = live_pairs(d)
            .into_iter()
            .filter(|(_, x)| !sc.contains(x))
            .collect();
        same(&live_pairs(n), &expected_adds, || {
            format!("novelty adds\n s: {s:?}\n d: {d:?}")
        })?;
        let live_d = live(d);
        let mut expected_ctx = d.context().difference(sc);
        for x in live(s) {
            if d.context().contains(&x) && !live_d.contains(&x) {
                expected_ctx.insert(x);
            }
        }
        same(n.context(), &expected_ctx, || {
            format!("novelty context\n s: {s:?}\n d: {d:?}")
        })?;
        ensure(!d.has_removal_hints() || n.has_removal_hints(), || {
            format!("the novelty of a hinted delta lost its hints\n s: {s:?}\n d: {d:?}")
        })
    }

    fn issues_dot(delta: &Self) -> Option<bool> {
        Some(!delta.is_empty())
    }

    /// The highest counter of `replica` among the dots seen.
    fn progress_model(&self, replica: ReplicaId) -> Option<u64> {
        let top = self.context().dots().filter(|d| d.replica() == replica);
        Some(top.map(Dot::counter).max().unwrap_or(0))
    }
}

impl Subject for LwwRegister<String> {
    /// Bottom if the remote has seen every write `s` has seen, else all of `s`.
    fn check_repair(s: &Self, remote: &Self, d: &Self) -> Result<(), String> {
        let expected = if remote.context().covers(s.context()) {
            LwwRegister::new()
        } else {
            s.clone()
        };
        same(d, &expected, || format!("repair of {s:?} for {remote:?}"))
    }

    /// Bottom or all of `d`.
    fn check_novelty(_s: &Self, d: &Self, n: &Self) -> Result<(), String> {
        ensure(n.is_bottom() || n == d, || {
            format!("novelty {n:?} is neither bottom nor the delta {d:?}")
        })
    }

    fn issues_dot(delta: &Self) -> Option<bool> {
        Some(!delta.is_bottom())
    }
}

/// The dot-function types (`MvRegister`, `Keyspace`): live dots with what names them
/// (the value or the key), under a causal context.
trait DotFun: Subject {
    fn live_pairs(&self) -> BTreeSet<(String, Dot)>;
    fn ctx(&self) -> &CausalContext;
    fn has_live(&self) -> bool {
        !self.live_pairs().is_empty()
    }
}

impl DotFun for MvRegister<String> {
    fn live_pairs(&self) -> BTreeSet<(String, Dot)> {
        self.writes().map(|(d, v)| (v.clone(), d)).collect()
    }
    fn ctx(&self) -> &CausalContext {
        self.context()
    }
}

impl DotFun for Keyspace {
    fn live_pairs(&self) -> BTreeSet<(String, Dot)> {
        self.dots().map(|(k, d)| (k.to_string(), d)).collect()
    }
    fn ctx(&self) -> &CausalContext {
        self.context()
    }
}

fn live_dots<S: DotFun>(s: &S) -> BTreeSet<Dot> {
    s.live_pairs().into_iter().map(|(_, d)| d).collect()
}

/// As for the OR-Set: the live dots the remote has not seen, under the context minus
/// the live dots it has seen.
fn dot_fun_repair<S: DotFun>(s: &S, remote: &S, d: &S) -> Result<(), String> {
    d.check()?;
    let rc = remote.ctx();
    let expected_adds: BTreeSet<(String, Dot)> = s
        .live_pairs()
        .into_iter()
        .filter(|(_, x)| !rc.contains(x))
        .collect();
    same(&d.live_pairs(), &expected_adds, || {
        format!("repair adds\n s: {s:?}\n remote: {remote:?}")
    })?;
    let live_s = live_dots(s);
    let expected_ctx: CausalContext = s
        .ctx()
        .dots()
        .filter(|x| !(rc.contains(x) && live_s.contains(x)))
        .collect();
    same(d.ctx(), &expected_ctx, || {
        format!("repair context\n s: {s:?}\n remote: {remote:?}")
    })
}

fn dot_fun_self_repair<S: DotFun>(s: &S, d: &S) -> Result<(), String> {
    ensure(!d.has_live(), || {
        format!("self-repair has live dots: {d:?}")
    })?;
    let live_s = live_dots(s);
    let removed: CausalContext = s.ctx().dots().filter(|x| !live_s.contains(x)).collect();
    same(d.ctx(), &removed, || {
        format!("self-repair context is not the removed dots of {s:?}")
    })
}

fn dot_fun_novelty<S: DotFun>(s: &S, d: &S, n: &S) -> Result<(), String> {
    n.check()?;
    let sc = s.ctx();
    let expected_adds: BTreeSet<(String, Dot)> = d
        .live_pairs()
        .into_iter()
        .filter(|(_, x)| !sc.contains(x))
        .collect();
    same(&n.live_pairs(), &expected_adds, || {
        format!("novelty adds\n s: {s:?}\n d: {d:?}")
    })?;
    let live_d = live_dots(d);
    let mut expected_ctx = d.ctx().difference(sc);
    for x in live_dots(s) {
        if d.ctx().contains(&x) && !live_d.contains(&x) {
            expected_ctx.insert(x);
        }
    }
    same(n.ctx(), &expected_ctx, || {
        format!("novelty context\n s: {s:?}\n d: {d:?}")
    })
}

fn top_counter(ctx: &CausalContext, replica: ReplicaId) -> u64 {
    let top = ctx.dots().filter(|d| d.replica() == replica);
    top.map(Dot::counter).max().unwrap_or(0)
}

impl Subject for MvRegister<String> {
    fn check_repair(s: &Self, remote: &Self, d: &Self) -> Result<(), String> {
        dot_fun_repair(s, remote, d)
    }
    fn check_self_repair(s: &Self, d: &Self) -> Result<(), String> {
        dot_fun_self_repair(s, d)
    }
    fn check_novelty(s: &Self, d: &Self, n: &Self) -> Result<(), String> {
        dot_fun_novelty(s, d, n)
    }
    fn issues_dot(delta: &Self) -> Option<bool> {
        Some(!delta.is_empty())
    }
    fn progress_model(&self, replica: ReplicaId) -> Option<u64> {
        Some(top_counter(self.context(), replica))
    }
}

impl Subject for Keyspace {
    fn check_repair(s: &Self, remote: &Self, d: &Self) -> Result<(), String> {
        dot_fun_repair(s, remote, d)
    }
    fn check_self_repair(s: &Self, d: &Self) -> Result<(), String> {
        dot_fun_self_repair(s, d)
    }
    fn check_novelty(s: &Self, d: &Self, n: &Self) -> Result<(), String> {
        dot_fun_novelty(s, d, n)
    }
    /// A write issues one dot and its delta names its key; a delete, an OR-Set remove
    /// or a refused write issues none.
    fn issues_dot(delta: &Self) -> Option<bool> {
        Some(!delta.is_empty())
    }
    fn progress_model(&self, replica: ReplicaId) -> Option<u64> {
        Some(top_counter(self.context(), replica))
    }
}

// ---------------------------------------------------------------------------------
// Histories.

/// Everything one random history produced.
struct History<S> {
    /// Each replica's distinct states, oldest first (its states only grow).
    snaps: [Vec<S>; 3],
    /// `at[t][i]`: index in `snaps[i]` of replica `i`'s state after step `t`.
    at: Vec<[usize; 3]>,
    /// Every delta, with the step that made it: mutators' deltas, forwarded
    /// novelties, batches (joined from `empty_delta()`), repair deltas.
    deltas: Vec<(usize, S)>,
    /// Local mutations: `(step, replica index, index in deltas)`.
    mutations: Vec<(usize, usize, usize)>,
}

impl<S> History<S> {
    fn state(&self, t: usize, i: usize) -> &S {
        &self.snaps[i][self.at[t][i]]
    }

    fn end(&self) -> usize {
        self.at.len() - 1
    }

    /// Any state any replica held.
    fn any_state(&self, rng: &mut Rng) -> &S {
        let i = rng.below(3);
        &self.snaps[i][rng.below(self.snaps[i].len())]
    }

    /// Any delta, if there is one.
    fn any_delta(&self, rng: &mut Rng) -> Option<&S> {
        (!self.deltas.is_empty()).then(|| &self.deltas[rng.below(self.deltas.len())].1)
    }
}

/// Plays `steps` on three replicas (see the module docs).
fn history<S: Subject>(steps: &[Step]) -> History<S> {
    let mut reps: [S; 3] = [S::fresh(), S::fresh(), S::fresh()];
    let mut h = History {
        snaps: [vec![S::fresh()], vec![S::fresh()], vec![S::fresh()]],
        at: vec![[0; 3]],
        deltas: Vec::new(),
        mutations: Vec::new(),
    };
    for &(actor, kind, arg) in steps {
        let t = h.at.len();
        let i = usize::from(actor % 3);
        let j = (i + 1 + usize::from(arg % 2)) % 3;
        let n = h.deltas.len();
        let pick = |len: usize| usize::from(arg) % len;
        let mut kind = kind % 12;
        if n == 0 && matches!(kind, 4..=6 | 8) {
            kind = 0;
        }
        match kind {
            // Delivery of one delta: out of order, duplicated or never (gaps).
            4 | 5 => reps[i].merge(&h.deltas[pick(n)].1),
            // Delivery with redundancy removal; the novelty is forwarded.
            6 => {
                let novel = reps[i].merge_delta(&h.deltas[pick(n)].1);
                if !novel.is_bottom() {
                    h.deltas.push((t, novel));
                }
            }
            7 => {
                let other = reps[j].clone();
                reps[i].merge(&other);
            }
            // A batch of consecutive deltas, sometimes with a full state in it.
            8 => {
                let from = pick(n);
                let to = (from + usize::from(arg >> 12) + 1).min(n);
                let mut acc = <S as DeltaCrdt>::empty_delta();
                for (_, d) in &h.deltas[from..to] {
                    acc.merge(d);
                }
                if arg & 0x0800 != 0 {
                    acc.merge(&reps[j]);
                }
                reps[i].merge(&acc);
                h.deltas.push((t, acc));
            }
            // Repair from `j` for `i`'s summary, sometimes a stale one.
            9 => {
                let summary = if arg & 4 == 0 {
                    reps[i].summary()
                } else {
                    h.snaps[i][usize::from(arg >> 3) % h.snaps[i].len()].summary()
                };
                let d = reps[j].delta_since(&summary);
                reps[i].merge(&d);
                h.deltas.push((t, d));
            }
            _ => {
                let a = if kind >= 10 { arg.rotate_left(5) } else { arg };
                let d = reps[i].mutate(REPLICAS[i], a);
                h.mutations.push((t, i, h.deltas.len()));
                h.deltas.push((t, d));
            }
        }
        let mut at = h.at[t - 1];
        if reps[i] != h.snaps[i][at[i]] {
            h.snaps[i].push(reps[i].clone());
            at[i] = h.snaps[i].len() - 1;
        }
        h.at.push(at);
    }
    h
}

/// A quickcheck property over one history (steps) and a seed for sampling in it.
type Prop = fn(Vec<Step>, u64) -> TestResult;

// ---------------------------------------------------------------------------------
// 1. Repair law.

/// `r ⊔ s.delta_since(&x.summary()) == r ⊔ s` for `x = r` and a stale `x = old ≤ r`,
/// with exact repair deltas; `s` repairs itself with nothing new.
fn repair_law_holds<S: Subject>(r: &S, old: &S, s: &S) -> Result<(), String> {
    same(&join(r, old), r, || {
        "setup: the stale state is not <= r".into()
    })?;
    let want = join(r, s);
    for (which, remote) in [("fresh", r), ("stale", old)] {
        let d = s.delta_since(&remote.summary());
        same(&join(r, &d), &want, || {
            format!(
                "repair law ({which} summary): r ⊔ s.delta_since(..) != r ⊔ s\n r: {r:?}\n \
                 summary of: {remote:?}\n s: {s:?}\n d: {d:?}"
            )
        })?;
        S::check_repair(s, remote, &d).map_err(|e| format!("{which} summary: {e}"))?;
        d.check()?;
        // Repairing by merge_delta gives the same state.
        let mut r2 = r.clone();
        let _novel = r2.merge_delta(&d);
        same(&r2, &want, || format!("repair by merge_delta ({which})"))?;
    }
    let own = s.delta_since(&s.summary());
    S::check_self_repair(s, &own)?;
    same(&join(s, &own), s, || {
        "s ⊔ s.delta_since(&s.summary()) != s".into()
    })?;
    // Once repaired, a second repair brings nothing.
    let again = s.delta_since(&want.summary());
    same(&join(&want, &again), &want, || {
        "a second repair changed the state".into()
    })
}

fn prop_repair<S: Subject>(steps: Vec<Step>, seed: u64) -> TestResult {
    let h = history::<S>(&steps);
    let mut rng = Rng(seed);
    let end = h.end();
    let run = |rng: &mut Rng| -> Result<(), String> {
        for i in 0..3 {
            for j in 0..3 {
                let old = &h.snaps[i][rng.below(h.at[end][i] + 1)];
                repair_law_holds(h.state(end, i), old, h.state(end, j))?;
            }
        }
        // States of any two moments (replicas of one system at different times).
        for _ in 0..4 {
            let (t1, t2) = (rng.below(end + 1), rng.below(end + 1));
            let (i, j) = (rng.below(3), rng.below(3));
            let t0 = rng.below(t1 + 1);
            repair_law_holds(h.state(t1, i), h.state(t0, i), h.state(t2, j))?;
        }
        // The law also holds with a delta in place of `s`.
        for _ in 0..2 {
            if let Some(d) = h.any_delta(rng) {
                let i = rng.below(3);
                repair_law_holds(h.state(end, i), &S::default(), d)?;
            }
        }
        Ok(())
    };
    verdict(run(&mut rng))
}

// ---------------------------------------------------------------------------------
// 2. Redundancy removal.

fn redundancy<S: Subject>(s: &S, d: &S) -> Result<(), String> {
    let want = join(s, d);
    let mut t = s.clone();
    let n = t.merge_delta(d);
    let ctx = || format!("\n s: {s:?}\n d: {d:?}\n n: {n:?}");
    same(&t, &want, || {
        format!("merge_delta: state != s ⊔ d{}", ctx())
    })?;
    same(&join(s, &n), &want, || {
        format!("s ⊔ novelty != s ⊔ d{}", ctx())
    })?;
    ensure(n.is_bottom() == (want == *s), || {
        format!("novelty bottom iff nothing new{}", ctx())
    })?;
    S::check_novelty(s, d, &n).map_err(|e| format!("{e}{}", ctx()))?;
    n.check()?;
    let mut t2 = t.clone();
    let again = t2.merge_delta(d);
    ensure(again.is_bottom(), || {
        format!("merge_delta twice: second novelty {again:?}{}", ctx())
    })?;
    same(&t2, &t, || "merge_delta twice changed the state".into())?;
    let echo = t.clone().merge_delta(&n);
    ensure(echo.is_bottom(), || {
        format!("the novelty was new again: {echo:?}{}", ctx())
    })
}

fn prop_redundancy<S: Subject>(steps: Vec<Step>, seed: u64) -> TestResult {
    let h = history::<S>(&steps);
    let mut rng = Rng(seed);
    let end = h.end();
    let mut targets: Vec<S> = (0..3).map(|i| h.state(end, i).clone()).collect();
    targets.push(h.any_state(&mut rng).clone());
    targets.push(S::default());
    if let Some(d) = h.any_delta(&mut rng) {
        // A delta accumulator as the receiver.
        targets.push(d.clone());
    }
    let mut ds: Vec<S> = (0..3).map(|i| h.state(end, i).clone()).collect();
    ds.push(h.any_state(&mut rng).clone());
    if !h.deltas.is_empty() {
        for _ in 0..8 {
            ds.push(h.any_delta(&mut rng).cloned().unwrap_or_default());
        }
        // Batches of any deltas, by merge and by merge_delta.
        let mut acc = <S as DeltaCrdt>::empty_delta();
        let mut acc2 = <S as DeltaCrdt>::empty_delta();
        for _ in 0..1 + rng.below(6) {
            let d = h.any_delta(&mut rng).cloned().unwrap_or_default();
            acc.merge(&d);
            let _novel = acc2.merge_delta(&d);
        }
        ds.push(acc);
        ds.push(acc2);
    }
    let run = || -> Result<(), String> {
        for s in &targets {
            for d in &ds {
                redundancy(s, d)?;
            }
        }
        Ok(())
    };
    verdict(run())
}

// ---------------------------------------------------------------------------------
// 3. Removal hints (OR-Set).

/// `x` without removal hints: merging it falls back to a full scan.
fn stripped<T: Elem>(x: &OrSet<T>) -> OrSet<T> {
    let mut y = OrSet::new();
    y.merge(x);
    y
}

fn prop_hints<T: Elem>(steps: Vec<Step>, seed: u64) -> TestResult {
    let h = history::<OrSet<T>>(&steps);
    let mut rng = Rng(seed);
    let end = h.end();
    let run = |rng: &mut Rng| -> Result<(), String> {
        for (i, snaps) in h.snaps.iter().enumerate() {
            for s in snaps {
                ensure(!s.has_removal_hints(), || {
                    format!("replica {i}'s state (from OrSet::new) carries hints: {s:?}")
                })?;
            }
        }
        for &(_, _, k) in &h.mutations {
            ensure(h.deltas[k].1.has_removal_hints(), || {
                format!("a mutator's delta has no hints: {:?}", h.deltas[k].1)
            })?;
        }
        // Values to deliver: logged deltas (mutators', novelties, batches, repairs)...
        let mut xs: Vec<OrSet<T>> = Vec::new();
        if h.deltas.len() <= 12 {
            xs.extend(h.deltas.iter().map(|(_, d)| d.clone()));
        } else {
            for _ in 0..12 {
                xs.push(h.any_delta(rng).cloned().unwrap_or_default());
            }
        }
        if !h.deltas.is_empty() {
            // ...novelties of deltas and of full states, into states and accumulators...
            for _ in 0..4 {
                let mut s = if rng.below(3) == 0 {
                    h.any_delta(rng).cloned().unwrap_or_default()
                } else {
                    h.any_state(rng).clone()
                };
                let d = if rng.below(3) == 0 {
                    h.any_state(rng).clone()
                } else {
                    h.any_delta(rng).cloned().unwrap_or_default()
                };
                xs.push(s.merge_delta(&d));
                xs.push(s);
            }
            // ...batches of mutators' deltas (which must keep hints), by merge and by
            // merge_delta, and their novelties.
            let muts = &h.mutations;
            if !muts.is_empty() {
                let mut acc = OrSet::empty_delta();
                let mut acc2 = OrSet::empty_delta();
                for _ in 0..1 + rng.below(8) {
                    let d = &h.deltas[muts[rng.below(muts.len())].2].1;
                    acc.merge(d);
                    xs.push(acc2.merge_delta(d));
                }
                ensure(acc.has_removal_hints() && acc2.has_removal_hints(), || {
                    format!("a batch of mutators' deltas lost its hints: {acc:?}")
                })?;
                xs.push(acc);
                xs.push(acc2);
            }
        }
        let mut us: Vec<&OrSet<T>> = (0..3).map(|i| h.state(end, i)).collect();
        us.push(h.any_state(rng));
        if let Some(d) = h.any_delta(rng) {
            us.push(d);
        }
        for x in &xs {
            x.check_invariants().map_err(|e| format!("{e}: {x:?}"))?;
            let bare = stripped(x);
            ensure(!bare.has_removal_hints(), || {
                "stripped value has hints".into()
            })?;
            same(&bare, x, || "stripping changed the value".into())?;
            for u in &us {
                let with = join(*u, x);
                let without = join(*u, &bare);
                same(&with, &without, || {
                    format!(
                        "incomplete removal hints: u ⊔ x != u ⊔ stripped(x)\n u: {u:?}\n \
                         x: {x:?} (hints: {})",
                        x.has_removal_hints()
                    )
                })?;
                with.check_invariants()
                    .map_err(|e| format!("{e}: {with:?}"))?;
                ensure(u.has_removal_hints() || !with.has_removal_hints(), || {
                    format!("merging {x:?} made the state {u:?} carry hints")
                })?;
            }
        }
        Ok(())
    };
    verdict(run(&mut rng))
}

// ---------------------------------------------------------------------------------
// 5. progress_of.

fn prop_progress<S: Subject>(steps: Vec<Step>, _seed: u64) -> TestResult {
    let h = history::<S>(&steps);
    let run = || -> Result<(), String> {
        let own = |t: usize, i: usize| h.state(t, i).progress_of(REPLICAS[i]);
        let mut issued = [0u64; 3];
        let mut muts = h.mutations.iter().peekable();
        for t in 0..=h.end() {
            let mutation = muts.next_if(|m| m.0 == t);
            if let Some(&(_, i, k)) = mutation {
                let (before, after) = (own(t - 1, i), own(t, i));
                let d = &h.deltas[k].1;
                match S::issues_dot(d) {
                    Some(true) => {
                        issued[i] += 1;
                        ensure(after == before + 1, || {
                            format!("an update did not advance progress by 1: {before} -> {after}")
                        })?;
                    }
                    Some(false) => ensure(after == before, || {
                        format!("a dotless mutation moved progress: {before} -> {after}")
                    })?,
                    // Counters: progress moves iff the update changed the state
                    // (unless it is saturated at u64::MAX).
                    None => {
                        let changed = h.state(t, i) != h.state(t - 1, i);
                        let moved = after > before || (changed && after == u64::MAX);
                        ensure(moved == changed && after >= before, || {
                            format!("progress {before} -> {after} disagrees with the update {d:?}")
                        })?;
                    }
                }
            }
            for i in 0..3 {
                let p = own(t, i);
                if t > 0 {
                    ensure(p >= own(t - 1, i), || {
                        format!("progress of replica {i} went back at step {t}")
                    })?;
                }
                if S::issues_dot(&S::default()).is_some() {
                    ensure(p == issued[i], || {
                        format!("replica {i} made {} updates but progress {p}", issued[i])
                    })?;
                }
                for j in 0..3 {
                    let x = h.state(t, j);
                    let seen = x.progress_of(REPLICAS[i]);
                    if let Some(want) = x.progress_model(REPLICAS[i]) {
                        same(&seen, &want, || format!("progress_of in {x:?}"))?;
                    }
                    ensure(seen <= p, || {
                        format!("replica {j} sees {seen} of replica {i}'s updates, {i} has {p}")
                    })?;
                }
            }
        }
        for (t, d) in &h.deltas {
            for (i, &id) in REPLICAS.iter().enumerate() {
                let (seen, p) = (d.progress_of(id), own(*t, i));
                if let Some(want) = d.progress_model(id) {
                    same(&seen, &want, || format!("progress_of in {d:?}"))?;
                }
                ensure(seen <= p, || {
                    format!("a delta holds {seen} of replica {i}'s updates, it has {p}: {d:?}")
                })?;
            }
        }
        Ok(())
    };
    verdict(run())
}

// ---------------------------------------------------------------------------------
// 6. Bottoms.

fn prop_bottom<S: Subject>(steps: Vec<Step>, seed: u64) -> TestResult {
    let h = history::<S>(&steps);
    let mut rng = Rng(seed);
    let end = h.end();
    let run = |rng: &mut Rng| -> Result<(), String> {
        let bottoms = [S::default(), <S as DeltaCrdt>::empty_delta()];
        for b in &bottoms {
            ensure(b.is_bottom(), || format!("{b:?} is not bottom"))?;
        }
        same(&bottoms[0], &bottoms[1], || "default != empty_delta".into())?;
        let mut xs: Vec<&S> = (0..3).map(|i| h.state(end, i)).collect();
        xs.push(h.any_state(rng));
        for _ in 0..6 {
            if let Some(d) = h.any_delta(rng) {
                xs.push(d);
            }
        }
        for x in xs {
            ensure(x.is_bottom() == (*x == S::default()), || {
                format!("is_bottom is not `== default()` for {x:?}")
            })?;
            for b in &bottoms {
                same(&join(x, b), x, || "x ⊔ ⊥ != x".into())?;
                same(&join(b, x), x, || "⊥ ⊔ x != x".into())?;
                let mut t = x.clone();
                let n = t.merge_delta(b);
                ensure(n.is_bottom(), || format!("merge_delta(⊥) returned {n:?}"))?;
                same(&t, x, || "merge_delta(⊥) changed the state".into())?;
                let mut t = b.clone();
                let n = t.merge_delta(x);
                same(&n, x, || {
                    "⊥.merge_delta(x): the novelty is not all of x".into()
                })?;
                let d = b.delta_since(&x.summary());
                ensure(d.is_bottom(), || format!("⊥.delta_since(..) = {d:?}"))?;
                same(&x.delta_since(&b.summary()), x, || {
                    "x.delta_since(&⊥.summary()) != x".into()
                })?;
            }
        }
        Ok(())
    };
    verdict(run(&mut rng))
}

/// `summary_covers(a, b)` holds exactly when joining `b` into `a` adds nothing that a
/// summary can see: `summary(a ⊔ b) == summary(a)`.
fn prop_summary_covers<S: Subject>(steps: Vec<Step>, seed: u64) -> TestResult {
    let h = history::<S>(&steps);
    let mut rng = Rng(seed);
    let run = |rng: &mut Rng| -> Result<(), String> {
        for _ in 0..8 {
            let (a, b) = (h.any_state(rng), h.any_state(rng));
            let expected = join(a, b).summary() == a.summary();
            let got = S::summary_covers(&a.summary(), &b.summary());
            ensure(got == expected, || {
                format!(
                    "summary_covers = {got}, but joining adds {}: {a:?} / {b:?}",
                    !expected
                )
            })?;
            ensure(S::summary_covers(&a.summary(), &a.summary()), || {
                "not reflexive".into()
            })?;
        }
        Ok(())
    };
    verdict(run(&mut rng))
}

// ---------------------------------------------------------------------------------
// The quickcheck tests, one module per property, one test per type.

fn check(p: Prop) {
    qc().quickcheck(p);
}

macro_rules! for_every_type {
    ($name:ident, $prop:ident) => {
        mod $name {
            use super::*;

            #[test]
            fn gcounter() {
                check($prop::<GCounter>);
            }

            #[test]
            fn pncounter() {
                check($prop::<PnCounter>);
            }

            #[test]
            fn orset_u64() {
                check($prop::<OrSet<u64>>);
            }

            #[test]
            fn orset_string() {
                check($prop::<OrSet<String>>);
            }

            #[test]
            fn lww_register() {
                check($prop::<LwwRegister<String>>);
            }

            #[test]
            fn mv_register() {
                check($prop::<MvRegister<String>>);
            }

            #[test]
            fn keyspace() {
                check($prop::<Keyspace>);
            }
        }
    };
}

for_every_type!(repair_law, prop_repair);
for_every_type!(redundancy_removal, prop_redundancy);
for_every_type!(progress_of, prop_progress);
for_every_type!(bottom, prop_bottom);
for_every_type!(summary_covers, prop_summary_covers);

#[test]
fn removal_hints_complete_orset_u64() {
    check(prop_hints::<u64>);
}

#[test]
fn removal_hints_complete_orset_string() {
    check(prop_hints::<String>);
}

// ---------------------------------------------------------------------------------
// Examples.

/// rust-crdt #160: a "newer than your version vector" diff drops removes, because a
/// remove creates no dot. Here both replicas have seen the same dots, yet the repair
/// must carry the removal.
#[test]
fn repair_carries_a_remove_between_equal_summaries() {
    let (a, b) = (REPLICAS[0], REPLICAS[1]);
    let mut left = OrSet::new();
    let mut right = OrSet::new();
    right.apply_delta(&left.insert(a, 7u64));
    let _ = right.insert(b, 8);
    left.merge(&right);
    let _ = right.remove(&7);
    assert_eq!(left.summary(), right.summary());
    let d = right.delta_since(&left.summary());
    assert!(!d.is_bottom());
    left.merge(&d);
    assert!(!left.contains(&7));
    assert_eq!(left, right);
}

#[test]
fn bottoms_of_every_type() {
    fn bottoms<S: DeltaCrdt>() {
        assert!(S::empty_delta().is_bottom());
        assert!(S::default().is_bottom());
        assert_eq!(S::empty_delta(), S::default());
    }
    bottoms::<GCounter>();
    bottoms::<PnCounter>();
    bottoms::<OrSet<u64>>();
    bottoms::<OrSet<String>>();
    bottoms::<LwwRegister<String>>();
    bottoms::<MvRegister<String>>();
    bottoms::<Keyspace>();
    assert!(<OrSet<u64> as DeltaCrdt>::empty_delta().has_removal_hints());
    assert!(!OrSet::<u64>::default().has_removal_hints());
    assert!(!OrSet::<u64>::new().has_removal_hints());
}

// ---------------------------------------------------------------------------------
// 4. CausalContext::difference and ::without_sorted against models.

/// The invariants of a context, through its public API and its decoder (which
/// accepts only canonical encodings): runs sorted, non-empty and maximal; the
/// version vector is exactly each replica's prefix run; counts and tops agree.
fn ctx_invariants(c: &CausalContext) -> Result<(), String> {
    let runs: Vec<(ReplicaId, u64, u64)> = c.runs().collect();
    let mut count = 0u128;
    for (k, &(r, f, l)) in runs.iter().enumerate() {
        ensure(1 <= f && f <= l, || {
            format!("bad run {r:?} {f}..={l} in {c:?}")
        })?;
        count += u128::from(l - f) + 1;
        if k > 0 {
            let (pr, _, pl) = runs[k - 1];
            let apart = pr < r || (pr == r && pl.checked_add(1).is_some_and(|n| n < f));
            ensure(apart, || format!("runs unsorted or not maximal: {runs:?}"))?;
        }
    }
    same(&c.dot_count(), &count, || format!("dot_count of {c:?}"))?;
    ensure(c.is_empty() == runs.is_empty(), || {
        format!("is_empty of {c:?}")
    })?;
    let mut replicas: Vec<ReplicaId> = runs.iter().map(|x| x.0).collect();
    replicas.dedup();
    same(&c.replicas().collect::<Vec<_>>(), &replicas, || {
        format!("replicas of {c:?}")
    })?;
    let vv = c.version_vector();
    let mut compact = true;
    for &r in &replicas {
        let mine: Vec<_> = runs.iter().filter(|x| x.0 == r).collect();
        let prefix = if mine[0].1 == 1 { mine[0].2 } else { 0 };
        same(&vv.get(r), &prefix, || format!("version vector of {c:?}"))?;
        same(&c.max_counter(r), &mine[mine.len() - 1].2, || {
            format!("max_counter of {c:?}")
        })?;
        compact &= mine.len() == 1 && prefix > 0;
    }
    ensure(vv.iter().all(|(r, _)| replicas.contains(&r)), || {
        format!("version vector names a replica without dots: {c:?}")
    })?;
    same(&c.is_compact(), &compact, || format!("is_compact of {c:?}"))?;
    check_roundtrip(c)
}

/// A context built by inserting dots and runs, with its model (all dots enumerated):
/// causal-order dots, gaps, re-inserts, runs, counters at and near `u64::MAX`.
fn small_ctx(steps: &[Step]) -> (CausalContext, BTreeSet<Dot>) {
    let mut ctx = CausalContext::new();
    let mut model = BTreeSet::new();
    for &(actor, kind, arg) in steps {
        let r = REPLICAS[usize::from(actor % 3)];
        let x = u64::from(arg >> 4);
        let top = model
            .iter()
            .filter(|d: &&Dot| d.replica() == r)
            .map(|d| d.counter())
            .max()
            .unwrap_or(0);
        let (first, last) = match kind % 16 {
            0..=5 if top < u64::MAX => (top + 1, top + 1),
            6..=9 => (x % 24 + 1, x % 24 + 1),
            10..=12 => (x % 24 + 1, x % 24 + 1 + x % 6),
            13 => (u64::MAX - x % 4, u64::MAX - x % 4),
            14 => (u64::MAX - x % 6, u64::MAX),
            _ => ((1 << 40) + x % 5, (1 << 40) + x % 5 + x % 3),
        };
        if first == last && arg % 2 == 0 {
            ctx.insert(Dot::new(r, first));
        } else {
            ctx.insert_run(r, first, last);
        }
        model.extend((first..=last).map(|c| Dot::new(r, c)));
    }
    (ctx, model)
}

/// `c` holds exactly `model`, canonically: equal to the context made by inserting
/// the model's dots one by one in a random order.
fn matches_model(
    c: &CausalContext,
    model: &BTreeSet<Dot>,
    rng: &mut Rng,
    what: &str,
) -> Result<(), String> {
    ctx_invariants(c).map_err(|e| format!("{what}: {e}"))?;
    let got: BTreeSet<Dot> = c.dots().collect();
    same(&got, model, || format!("{what}: dots"))?;
    same(&c.dot_count(), &(model.len() as u128), || {
        format!("{what}: dot_count")
    })?;
    for d in model {
        ensure(c.contains(d), || format!("{what}: misses {d:?}"))?;
        for n in [d.counter() - 1, d.counter().saturating_add(1)] {
            if let Some(n) = Dot::try_new(d.replica(), n) {
                ensure(c.contains(&n) == model.contains(&n), || {
                    format!("{what}: contains({n:?}) wrong in {c:?}")
                })?;
            }
        }
    }
    let mut dots: Vec<Dot> = model.iter().copied().collect();
    rng.shuffle(&mut dots);
    let rebuilt: CausalContext = dots.into_iter().collect();
    same(c, &rebuilt, || {
        format!("{what}: not the canonical context of its dots")
    })
}

/// Sorted holes (with duplicates) drawn from both models, random small dots and
/// dots near `u64::MAX`.
fn holes_from(spec: &[(u8, u16)], ma: &BTreeSet<Dot>, mb: &BTreeSet<Dot>) -> Vec<Dot> {
    let va: Vec<Dot> = ma.iter().copied().collect();
    let vb: Vec<Dot> = mb.iter().copied().collect();
    let mut holes = Vec::new();
    for &(k, arg) in spec {
        let r = REPLICAS[usize::from(k >> 2) % 3];
        let x = u64::from(arg);
        let hole = match k % 4 {
            0 if !va.is_empty() => va[usize::from(arg) % va.len()],
            1 if !vb.is_empty() => vb[usize::from(arg) % vb.len()],
            2 => Dot::new(r, x % 30 + 1),
            _ => Dot::new(r, u64::MAX - x % 4),
        };
        holes.push(hole);
        if arg % 7 == 0 {
            holes.push(hole);
        }
    }
    holes.sort_unstable();
    holes
}

fn prop_ctx_small(a: Vec<Step>, b: Vec<Step>, spec: Vec<(u8, u16)>, seed: u64) -> TestResult {
    let mut rng = Rng(seed);
    let run = |rng: &mut Rng| -> Result<(), String> {
        let (ca, ma) = small_ctx(&a);
        let (cb, mb) = small_ctx(&b);
        let cu = join(&ca, &cb);
        let mu: BTreeSet<Dot> = ma.union(&mb).copied().collect();
        let operands = [
            (ca, ma),
            (cb, mb),
            (cu, mu),
            (CausalContext::new(), BTreeSet::new()),
        ];
        for (c, m) in &operands {
            matches_model(c, m, rng, "operand")?;
        }
        for (x, mx) in &operands {
            for (y, my) in &operands {
                let want: BTreeSet<Dot> = mx.difference(my).copied().collect();
                let diff = x.difference(y);
                matches_model(&diff, &want, rng, "difference")
                    .map_err(|e| format!("{e}\n x: {x:?}\n y: {y:?}\n got: {diff:?}"))?;
            }
        }
        let holes = holes_from(&spec, &operands[0].1, &operands[1].1);
        let hole_set: BTreeSet<Dot> = holes.iter().copied().collect();
        for (x, mx) in &operands {
            let want: BTreeSet<Dot> = mx.difference(&hole_set).copied().collect();
            let w = x.without_sorted(&holes);
            matches_model(&w, &want, rng, "without_sorted")
                .map_err(|e| format!("{e}\n x: {x:?}\n holes: {holes:?}\n got: {w:?}"))?;
            same(&x.without_sorted(&[]), x, || "without_sorted(&[])".into())?;
            let all: Vec<Dot> = mx.iter().copied().collect();
            let none = x.without_sorted(&all);
            ensure(none.is_empty(), || {
                format!("without all its dots: {none:?}")
            })?;
        }
        Ok(())
    };
    verdict(run(&mut rng))
}

#[test]
fn causal_context_difference_and_without_sorted() {
    qc().quickcheck(prop_ctx_small as fn(Vec<Step>, Vec<Step>, Vec<(u8, u16)>, u64) -> TestResult);
}

/// A counter from an interesting region: small, around 2^32 and 2^63, at the top.
fn wide_point(x: u16) -> u64 {
    let k = u64::from(x >> 3);
    match x % 8 {
        0 => 1 + k % 4,
        1 => k % 64 + 1,
        2 => (1 << 32) - 2 + k % 4,
        3 => (1 << 63) - 2 + k % 4,
        4 => u64::MAX - k % 4,
        5 => u64::MAX,
        6 => k + 1,
        _ => 2 + k % 3,
    }
}

/// A context of wide runs (up to the whole counter space) and its model: the runs.
fn wide_ctx(ops: &[(u8, u16, u16)]) -> (CausalContext, Vec<(ReplicaId, u64, u64)>) {
    let mut ctx = CausalContext::new();
    let mut model = Vec::new();
    for &(k, p, q) in ops {
        let r = REPLICAS[usize::from(k) % 3];
        let (a, b) = (wide_point(p), wide_point(q));
        let (first, last) = (a.min(b), a.max(b));
        ctx.insert_run(r, first, last);
        model.push((r, first, last));
    }
    (ctx, model)
}

fn in_runs(model: &[(ReplicaId, u64, u64)], r: ReplicaId, c: u64) -> bool {
    model.iter().any(|&(mr, f, l)| mr == r && f <= c && c <= l)
}

/// `c` holds exactly the dots `member` accepts, canonically. `candidates` must hold
/// every point where `member` can change (a run's first counter and the one past its
/// last); the result's own run boundaries are added, so both sides are constant
/// between consecutive probes, and agreeing on the probes means equal sets.
fn matches_member(
    c: &CausalContext,
    member: impl Fn(ReplicaId, u64) -> bool,
    candidates: &BTreeSet<(ReplicaId, u64)>,
    rng: &mut Rng,
    what: &str,
) -> Result<(), String> {
    ctx_invariants(c).map_err(|e| format!("{what}: {e}"))?;
    let mut probes = candidates.clone();
    for (r, f, l) in c.runs() {
        probes.insert((r, f));
        if let Some(n) = l.checked_add(1) {
            probes.insert((r, n));
        }
    }
    let replicas: BTreeSet<ReplicaId> = probes.iter().map(|p| p.0).collect();
    for r in replicas {
        probes.insert((r, 1));
    }
    let probes: Vec<(ReplicaId, u64)> = probes.into_iter().filter(|p| p.1 >= 1).collect();
    let mut segments = Vec::new();
    let mut count = 0u128;
    for (k, &(r, p)) in probes.iter().enumerate() {
        let dot = Dot::new(r, p);
        let want = member(r, p);
        ensure(c.contains(&dot) == want, || {
            format!("{what}: contains({dot:?}) should be {want} in {c:?}")
        })?;
        if want {
            let end = match probes.get(k + 1) {
                Some(&(nr, np)) if nr == r => np - 1,
                _ => u64::MAX,
            };
            segments.push((r, p, end));
            count += u128::from(end - p) + 1;
        }
    }
    same(&c.dot_count(), &count, || {
        format!("{what}: dot_count of {c:?}")
    })?;
    rng.shuffle(&mut segments);
    let mut rebuilt = CausalContext::new();
    for (r, f, l) in segments {
        rebuilt.insert_run(r, f, l);
    }
    same(c, &rebuilt, || {
        format!("{what}: not the canonical context of its dots")
    })
}

fn boundaries(model: &[(ReplicaId, u64, u64)]) -> BTreeSet<(ReplicaId, u64)> {
    let mut out = BTreeSet::new();
    for &(r, f, l) in model {
        out.insert((r, f));
        if let Some(n) = l.checked_add(1) {
            out.insert((r, n));
        }
    }
    out
}

type WideOps = Vec<(u8, u16, u16)>;

fn prop_ctx_wide(a: WideOps, b: WideOps, holes: Vec<(u8, u16)>, seed: u64) -> TestResult {
    let mut rng = Rng(seed);
    let run = |rng: &mut Rng| -> Result<(), String> {
        let (ca, ma) = wide_ctx(&a);
        let (cb, mb) = wide_ctx(&b);
        let cu = join(&ca, &cb);
        let mu: Vec<_> = ma.iter().chain(&mb).copied().collect();
        let operands = [(ca, ma), (cb, mb), (cu, mu), (CausalContext::new(), vec![])];
        for (c, m) in &operands {
            let member = |r, p| in_runs(m, r, p);
            matches_member(c, member, &boundaries(m), rng, "operand")?;
        }
        for (x, mx) in &operands {
            for (y, my) in &operands {
                let diff = x.difference(y);
                let member = |r, p| in_runs(mx, r, p) && !in_runs(my, r, p);
                let mut cand = boundaries(mx);
                cand.extend(boundaries(my));
                matches_member(&diff, member, &cand, rng, "difference")
                    .map_err(|e| format!("{e}\n x: {x:?}\n y: {y:?}\n got: {diff:?}"))?;
            }
        }
        // Holes: interesting points and the edges of the operands' runs.
        let edges: Vec<_> = boundaries(&operands[2].1).into_iter().collect();
        let mut hs: Vec<Dot> = Vec::new();
        for &(k, arg) in &holes {
            let r = REPLICAS[usize::from(k) % 3];
            if k & 0x80 != 0 && !edges.is_empty() {
                let (er, e) = edges[usize::from(arg) % edges.len()];
                hs.extend(Dot::try_new(er, if arg % 2 == 0 { e } else { e - 1 }));
            } else {
                hs.push(Dot::new(r, wide_point(arg)));
            }
        }
        hs.sort_unstable();
        let hole_set: BTreeSet<Dot> = hs.iter().copied().collect();
        for (x, mx) in &operands {
            let w = x.without_sorted(&hs);
            let member = |r, p| in_runs(mx, r, p) && !hole_set.contains(&Dot::new(r, p));
            let mut cand = boundaries(mx);
            for h in &hs {
                cand.insert((h.replica(), h.counter()));
                if let Some(n) = h.counter().checked_add(1) {
                    cand.insert((h.replica(), n));
                }
            }
            matches_member(&w, member, &cand, rng, "without_sorted")
                .map_err(|e| format!("{e}\n x: {x:?}\n holes: {hs:?}\n got: {w:?}"))?;
        }
        Ok(())
    };
    verdict(run(&mut rng))
}

#[test]
fn causal_context_wide_runs_difference_and_without_sorted() {
    qc().quickcheck(prop_ctx_wide as fn(WideOps, WideOps, Vec<(u8, u16)>, u64) -> TestResult);
}
