//! The OR-Set, causal contexts and version vectors against reference models (a
//! `BTreeSet`, sets of adds and removes, sets of dots, pointwise order), plus the
//! OR-Set's documented scenarios: add wins, clear, removal hints.

mod support;

use crdt_core::codec::{decode, encode};
use crdt_core::{CausalContext, Crdt, Dot, OrSet, OrSetDelta, ReplicaId, VersionVector};
use quickcheck::{Arbitrary, Gen, TestResult};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use support::{below, ensure, ensure_eq, qc, rid, shrink_list, verdict};

fn ok<T: Ord + Clone + std::fmt::Debug>(s: &OrSet<T>) -> &OrSet<T> {
    if let Err(e) = s.check_invariants() {
        panic!("invariant violated: {e} in {s:?}");
    }
    s
}

fn merged<C: Crdt + Clone>(a: &C, b: &C) -> C {
    let mut out = a.clone();
    out.merge(b);
    out
}

// ================================================================ OR-Set, one replica

#[derive(Clone, Debug)]
enum LocalOp {
    Insert(u64),
    Remove(u64),
    Clear,
}

impl Arbitrary for LocalOp {
    fn arbitrary(g: &mut Gen) -> Self {
        match below(g, 20) {
            0 => LocalOp::Clear,
            1..=10 => LocalOp::Insert(below(g, 12)),
            _ => LocalOp::Remove(below(g, 12)),
        }
    }
}

fn prop_orset_single_replica_is_a_btreeset(ops: Vec<LocalOp>, replica: u8) -> TestResult {
    verdict((|| {
        let r = ReplicaId::new(u64::from(replica));
        let (mut set, mut model, mut rebuilt) = (OrSet::new(), BTreeSet::new(), OrSet::new());
        for op in &ops {
            let delta = match *op {
                LocalOp::Insert(v) => {
                    model.insert(v);
                    let d = set.insert(r, v);
                    ensure(set.dots(&v).is_some_and(|d| d.len() == 1), || {
                        "one dot".into()
                    })?;
                    d
                }
                LocalOp::Remove(v) => {
                    let was = model.remove(&v);
                    let d = set.remove(&v);
                    ensure(was || d.context().is_empty(), || {
                        "absent: empty delta".into()
                    })?;
                    d
                }
                LocalOp::Clear => {
                    model.clear();
                    set.clear()
                }
            };
            ok(&set);
            ok(delta.as_set());
            rebuilt.apply_delta(&delta);
            ensure_eq(
                &set.iter().copied().collect::<Vec<_>>(),
                &model.iter().copied().collect(),
                "iter",
            )?;
            ensure_eq(&set.len(), &model.len(), "len")?;
            ensure_eq(&set.is_empty(), &model.is_empty(), "is_empty")?;
            for v in 0..13 {
                ensure_eq(&set.contains(&v), &model.contains(&v), "contains")?;
            }
            ensure(!set.has_removal_hints(), || "state has hints".into())?;
        }
        ensure_eq(&rebuilt, &set, "the deltas rebuild the state")
    })())
}

#[test]
fn orset_single_replica_is_a_btreeset() {
    qc().quickcheck(prop_orset_single_replica_is_a_btreeset as fn(_, _) -> TestResult);
}

// ================================================================ OR-Set, replicas

/// The reference: what a replica knows, as plain sets. An element is present iff some
/// known add of it is not known to have been observed by a remove (or a re-add).
#[derive(Clone, Debug, Default)]
struct Know {
    adds: BTreeMap<u32, u64>,
    observed: BTreeSet<u32>,
}

impl Know {
    fn join(&mut self, o: &Know) {
        self.adds.extend(&o.adds);
        self.observed.extend(&o.observed);
    }
    fn live(&self, v: Option<u64>) -> BTreeMap<u32, u64> {
        let live =
            |(id, x): (&u32, &u64)| !self.observed.contains(id) && v.map_or(true, |v| v == *x);
        self.adds
            .iter()
            .filter(|e| live(*e))
            .map(|(i, x)| (*i, *x))
            .collect()
    }
    fn present(&self) -> Vec<u64> {
        let set: BTreeSet<u64> = self.live(None).into_values().collect();
        set.into_iter().collect()
    }
    /// The knowledge carried by a delta that observes `live` (and adds `new`).
    fn observing(live: BTreeMap<u32, u64>, new: Option<(u32, u64)>) -> Know {
        let observed = live.keys().copied().collect();
        let mut adds = live;
        adds.extend(new);
        Know { adds, observed }
    }
}

#[derive(Clone, Debug)]
enum SetStep {
    Insert { at: usize, v: u64 },
    Remove { at: usize, v: u64 },
    Clear { at: usize },
    SyncState { from: usize, to: usize },
    SyncDelta { pick: usize, to: usize },
}

#[derive(Clone, Debug)]
struct SetHistory(Vec<SetStep>);

impl Arbitrary for SetHistory {
    fn arbitrary(g: &mut Gen) -> Self {
        let r = |g: &mut Gen| below(g, 3) as usize;
        let steps = (0..below(g, 50))
            .map(|_| match below(g, 20) {
                0..=6 => SetStep::Insert {
                    at: r(g),
                    v: below(g, 4),
                },
                7..=10 => SetStep::Remove {
                    at: r(g),
                    v: below(g, 4),
                },
                11 => SetStep::Clear { at: r(g) },
                12..=14 => SetStep::SyncState {
                    from: r(g),
                    to: r(g),
                },
                _ => SetStep::SyncDelta {
                    pick: usize::arbitrary(g),
                    to: r(g),
                },
            })
            .collect();
        SetHistory(steps)
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(shrink_list(&self.0).into_iter().map(SetHistory))
    }
}

fn prop_orset_add_wins_model(h: SetHistory) -> TestResult {
    verdict((|| {
        let mut sets = vec![OrSet::<u64>::new(); 3];
        let mut know = vec![Know::default(); 3];
        let mut deltas: Vec<(OrSet<u64>, Know)> = Vec::new();
        for (id, step) in (0u32..).zip(&h.0) {
            let (to, delta, k) = match *step {
                SetStep::Insert { at, v } => {
                    let k = Know::observing(know[at].live(Some(v)), Some((id, v)));
                    (at, sets[at].insert(rid(at), v).into_set(), k)
                }
                SetStep::Remove { at, v } => (
                    at,
                    sets[at].remove(&v).into_set(),
                    Know::observing(know[at].live(Some(v)), None),
                ),
                SetStep::Clear { at } => (
                    at,
                    sets[at].clear().into_set(),
                    Know::observing(know[at].live(None), None),
                ),
                SetStep::SyncState { from, to } => (to, sets[from].clone(), know[from].clone()),
                SetStep::SyncDelta { pick, to } if !deltas.is_empty() => {
                    let (d, k) = deltas[pick % deltas.len()].clone();
                    (to, d, k)
                }
                SetStep::SyncDelta { .. } => continue,
            };
            sets[to].merge(&delta);
            know[to].join(&k);
            if matches!(
                step,
                SetStep::Insert { .. } | SetStep::Remove { .. } | SetStep::Clear { .. }
            ) {
                deltas.push((delta, k));
            }
            ok(&sets[to]);
            ensure_eq(
                &sets[to].iter().copied().collect(),
                &know[to].present(),
                &format!("replica {to} after {step:?}"),
            )?;
        }
        // Full sync: present iff some add was observed by no remove anywhere.
        let mut all = Know::default();
        know.iter().for_each(|k| all.join(k));
        let full = sets.iter().fold(OrSet::new(), |a, s| merged(&a, s));
        ensure_eq(
            &full.iter().copied().collect(),
            &all.present(),
            "after full sync",
        )
    })())
}

#[test]
fn orset_add_wins_matches_model() {
    qc().quickcheck(prop_orset_add_wins_model as fn(_) -> TestResult);
}

#[test]
fn orset_concurrent_readd_wins_over_remove() {
    let (a, b) = (rid(0), rid(1));
    let (mut left, mut right) = (OrSet::new(), OrSet::new());
    right.apply_delta(&left.insert(a, 7u64));
    let readd = left.insert(a, 7);
    let rm = right.remove(&7);
    assert!(!right.contains(&7));
    let (l1, r1) = (merged(&left, rm.as_set()), merged(&right, readd.as_set()));
    assert!(ok(&l1).contains(&7) && ok(&r1).contains(&7));
    assert_eq!(l1, r1);
    // A remove that has seen the re-add does remove it.
    let mut r2 = r1.clone();
    let rm2 = r2.remove(&7);
    assert!(!merged(&l1, rm2.as_set()).contains(&7));
    // A concurrent add on another replica survives a remove too.
    let add_b = right.insert(b, 7);
    assert!(merged(&merged(&left, rm2.as_set()), add_b.as_set()).contains(&7));
}

#[test]
fn orset_remove_of_unseen_add_keeps_it() {
    let (mut x, mut y) = (OrSet::new(), OrSet::new());
    let add = x.insert(rid(0), "k".to_string());
    let _ = y.insert(rid(1), "k".to_string());
    let rm = y.remove(&"k".to_string());
    assert_eq!(rm.context().dot_count(), 1);
    x.apply_delta(&rm);
    assert!(ok(&x).contains(&"k".to_string()));
    y.apply_delta(&add);
    assert!(ok(&y).contains(&"k".to_string()));
    assert_eq!(x, y);
    assert_eq!(x.dots(&"k".to_string()).unwrap().len(), 1);
}

#[test]
fn orset_clear_removes_only_what_it_observed() {
    let (mut x, mut y) = (OrSet::new(), OrSet::new());
    for v in 0..5u64 {
        y.apply_delta(&x.insert(rid(0), v));
    }
    let late = x.insert(rid(0), 9);
    let readd = x.insert(rid(0), 2);
    let clr = y.clear();
    assert!(ok(&y).is_empty());
    assert_eq!(clr.context().dot_count(), 5);
    x.apply_delta(&clr);
    assert_eq!(ok(&x).iter().copied().collect::<Vec<_>>(), [2, 9]);
    y.apply_delta(&late);
    y.apply_delta(&readd);
    assert_eq!(x, y);
    assert!(y.clear().context().dot_count() == 2 && y.is_empty());
}

#[test]
fn orset_readd_replaces_all_concurrent_dots() {
    let (mut x, mut y) = (OrSet::new(), OrSet::new());
    let dx = x.insert(rid(0), 1u64);
    let dy = y.insert(rid(1), 1u64);
    x.apply_delta(&dy);
    y.apply_delta(&dx);
    assert_eq!(ok(&x).dots(&1).unwrap().len(), 2);
    let d = x.insert(rid(0), 1);
    assert_eq!(ok(&x).dots(&1).unwrap(), [Dot::new(rid(0), 2)]);
    y.apply_delta(&d);
    assert_eq!(x, y);
}

#[test]
fn orset_remove_delta_into_big_state_uses_hints() {
    let mut origin = OrSet::new();
    let mut big: OrSet<u64> = OrSet::new();
    for v in 0..10_000u64 {
        let _ = origin.insert(rid(0), v);
    }
    big.merge(&origin);
    let rm = origin.remove(&4_321);
    assert!(rm.as_set().has_removal_hints() && rm.as_set().is_empty());
    assert_eq!(rm.context().dot_count(), 1);
    big.apply_delta(&rm);
    assert!(!ok(&big).contains(&4_321) && big.len() == 9_999);
    assert!(big.contains(&4_320) && big.contains(&4_322));
    assert_eq!(big, origin);
    // A batch of removes and a re-add from another replica.
    let mut other = big.clone();
    let mut batch = OrSetDelta::new();
    for v in [0u64, 5_000, 9_999] {
        batch.join(&other.remove(&v));
    }
    batch.join(&other.insert(rid(1), 77));
    big.apply_delta(&batch);
    assert_eq!(ok(&big), &other);
    assert!(!big.contains(&5_000) && big.dots(&77).unwrap() == [Dot::new(rid(1), 1)]);
    assert!(!big.has_removal_hints() && !other.has_removal_hints());
}

#[test]
fn orset_replica_state_never_accumulates_hints() {
    let mut a: OrSet<u64> = OrSet::new();
    let mut b = OrSet::new();
    for v in 0..20u64 {
        let d = if v % 3 == 0 {
            a.remove(&(v / 2))
        } else {
            a.insert(rid(0), v % 7)
        };
        b.apply_delta(&d);
        let mut batch = OrSetDelta::new();
        batch.join(&d);
        b.apply_delta(&batch);
        assert!(!a.has_removal_hints() && !b.has_removal_hints());
        assert!(batch.as_set().has_removal_hints());
        assert_eq!(ok(&a), ok(&b));
    }
    // A batch that absorbs a full state with removals (decoded as a delta: a state's
    // bytes carry no hints) cannot keep hints.
    assert!(a.context().dot_count() > a.len() as u128);
    let as_delta: OrSetDelta<u64> = decode(&encode(&a)).unwrap();
    let mut batch = OrSetDelta::new();
    batch.join(&as_delta);
    assert!(!batch.as_set().has_removal_hints());
    batch = OrSetDelta::new();
    batch.join(&decode(&encode(&OrSet::<u64>::new())).unwrap());
    assert!(batch.as_set().has_removal_hints());
}

#[test]
fn orset_exhausted_replica_id_is_refused() {
    use crdt_core::codec::{self, WireFormat, Writer};
    // A set whose context holds (r1, u64::MAX), crafted through the codec: the empty
    // set's encoding with another context (only forged input gets there).
    let empty = codec::encode(&OrSet::<u64>::new());
    let ctx = CausalContext::from([(rid(0), u64::MAX)].into_iter().collect::<VersionVector>());
    let mut w = Writer::new();
    w.raw(&empty[..codec::HEADER_LEN]);
    ctx.encode_body(&mut w).unwrap();
    w.raw(&empty[codec::HEADER_LEN + 2..]);
    let mut s: OrSet<u64> = codec::decode(w.as_bytes()).unwrap();
    assert_eq!(s.context(), &ctx);
    let before = s.clone();
    let err = s.try_insert(rid(0), 1).map(|_| ());
    assert_eq!(
        err,
        Err(crdt_core::CoreError::DotsExhausted { replica: rid(0) })
    );
    assert_eq!(s, before);
    let d = s.insert(rid(0), 1);
    assert!(d.is_empty() && d.context().is_empty() && s == before);
    let _ = s.insert(rid(1), 1);
    assert!(ok(&s).contains(&1));
}

// ================================================================ causal context

#[derive(Clone, Debug)]
struct DotList(Vec<Dot>);

impl Arbitrary for DotList {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = below(g, 40);
        DotList(
            (0..n)
                .map(|_| Dot::new(ReplicaId::new(1 + below(g, 3)), 1 + below(g, 12)))
                .collect(),
        )
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(shrink_list(&self.0).into_iter().map(DotList))
    }
}

fn check_ctx(ctx: &CausalContext, model: &BTreeSet<Dot>) -> Result<(), String> {
    for r in (0..5).map(ReplicaId::new) {
        for c in 1..15 {
            let d = Dot::new(r, c);
            ensure_eq(
                &ctx.contains(&d),
                &model.contains(&d),
                &format!("contains {d:?}"),
            )?;
        }
        let top = model
            .iter()
            .filter(|d| d.replica() == r)
            .map(|d| d.counter())
            .max();
        ensure_eq(&ctx.max_counter(r), &top.unwrap_or(0), "max_counter")?;
        ensure_eq(
            &ctx.next_dot(r),
            &Some(Dot::new(r, top.unwrap_or(0) + 1)),
            "next_dot",
        )?;
        let prefix = (1..)
            .take_while(|c| model.contains(&Dot::new(r, *c)))
            .count() as u64;
        ensure_eq(
            &ctx.version_vector().get(r),
            &prefix,
            "version vector = prefix",
        )?;
    }
    ensure_eq(
        &ctx.dots().collect::<Vec<_>>(),
        &model.iter().copied().collect(),
        "dots",
    )?;
    ensure_eq(&ctx.dot_count(), &(model.len() as u128), "dot_count")?;
    ensure_eq(&ctx.is_empty(), &model.is_empty(), "is_empty")?;
    let gapless = model
        .iter()
        .all(|d| d.counter() == 1 || model.contains(&Dot::new(d.replica(), d.counter() - 1)));
    ensure_eq(&ctx.is_compact(), &gapless, "is_compact")?;
    let runs: Vec<_> = ctx.runs().collect();
    ensure(
        runs.windows(2)
            .all(|w| w[0].0 < w[1].0 || w[0].2 + 1 < w[1].1),
        || format!("runs not maximal: {runs:?}"),
    )
}

fn prop_causal_context_model(a: DotList, b: DotList) -> TestResult {
    verdict((|| {
        let (ma, mb): (BTreeSet<Dot>, BTreeSet<Dot>) =
            (a.0.iter().copied().collect(), b.0.iter().copied().collect());
        let ca: CausalContext = a.0.iter().copied().collect();
        let cb: CausalContext = b.0.iter().copied().collect();
        check_ctx(&ca, &ma)?;
        check_ctx(&cb, &mb)?;
        ensure_eq(
            &ca,
            &a.0.iter().rev().copied().collect(),
            "insertion order does not matter",
        )?;
        ensure_eq(&ca, &ma.iter().copied().collect(), "sorted insertion")?;
        let union: BTreeSet<Dot> = ma.union(&mb).copied().collect();
        let ab = merged(&ca, &cb);
        check_ctx(&ab, &union)?;
        ensure_eq(&ab, &union.iter().copied().collect(), "merge == union")?;
        ensure_eq(&ca.covers(&cb), &mb.is_subset(&ma), "covers == superset")?;
        ensure(ab.covers(&ca) && ab.covers(&cb), || "union covers".into())?;
        // insert_run of b's runs into a == inserting each dot.
        let mut runs = ca.clone();
        cb.runs().for_each(|(r, f, l)| runs.insert_run(r, f, l));
        ensure_eq(&runs, &ab, "insert_run == inserting each dot")
    })())
}

#[test]
fn causal_context_matches_a_set_of_dots() {
    qc().quickcheck(prop_causal_context_model as fn(_, _) -> TestResult);
}

/// Gap-free dots in any order fold into a compact context equal to its vector.
fn prop_scrambled_prefixes_fold_compact(lens: Vec<u8>, keys: Vec<u64>) -> TestResult {
    verdict((|| {
        let vv: VersionVector = lens
            .iter()
            .take(5)
            .enumerate()
            .map(|(i, n)| (rid(i), u64::from(n % 40)))
            .collect();
        let mut dots: Vec<Dot> = vv
            .iter()
            .flat_map(|(r, n)| (1..=n).map(move |c| Dot::new(r, c)))
            .collect();
        for i in (1..dots.len()).rev() {
            let k = keys.get(i % keys.len().max(1)).copied().unwrap_or(0) as usize;
            dots.swap(i, (k ^ i.wrapping_mul(7919)) % (i + 1));
        }
        let mut ctx = CausalContext::new();
        for (i, d) in dots.iter().enumerate() {
            ctx.insert(*d);
            ensure(ctx.dot_count() == i as u128 + 1, || "count".into())?;
        }
        ensure(ctx.is_compact(), || format!("not compact: {ctx:?}"))?;
        ensure_eq(ctx.version_vector(), &vv, "vector")?;
        ensure_eq(
            &ctx,
            &CausalContext::from(vv.clone()),
            "== From<VersionVector>",
        )
    })())
}

#[test]
fn causal_context_scrambled_inserts_fold_compact() {
    qc().quickcheck(prop_scrambled_prefixes_fold_compact as fn(_, _) -> TestResult);
}

// ================================================================ version vectors

fn prop_vv_partial_cmp_pointwise(a: Vec<u8>, tweaks: Vec<(u8, u8)>) -> TestResult {
    verdict((|| {
        // Eight replicas: more than a small-map merge handles entry by entry.
        let xs: Vec<u64> = (0..8)
            .map(|i| u64::from(a.get(i).copied().unwrap_or(0) % 3))
            .collect();
        let mut ys = xs.clone();
        for (i, v) in tweaks.iter().take(3) {
            ys[usize::from(i % 8)] = u64::from(v % 3);
        }
        let vx: VersionVector = xs.iter().enumerate().map(|(i, c)| (rid(i), *c)).collect();
        let vy: VersionVector = ys.iter().enumerate().map(|(i, c)| (rid(i), *c)).collect();
        let (le, ge) = (
            xs.iter().zip(&ys).all(|(x, y)| x <= y),
            xs.iter().zip(&ys).all(|(x, y)| x >= y),
        );
        let want = match (le, ge) {
            (true, true) => Some(Ordering::Equal),
            (true, false) => Some(Ordering::Less),
            (false, true) => Some(Ordering::Greater),
            (false, false) => None,
        };
        ensure_eq(
            &vx.partial_cmp(&vy),
            &want,
            &format!("partial_cmp {xs:?} {ys:?}"),
        )?;
        ensure_eq(
            &vy.partial_cmp(&vx),
            &want.map(Ordering::reverse),
            "reversed",
        )?;
        ensure_eq(&(vx == vy), &(xs == ys), "eq")?;
        ensure_eq(&vx.covers(&vy), &ge, "covers")?;
        ensure_eq(
            &vx.len(),
            &xs.iter().filter(|c| **c > 0).count(),
            "no zero entries",
        )?;
        let max: Vec<u64> = xs.iter().zip(&ys).map(|(x, y)| *x.max(y)).collect();
        let m = merged(&vx, &vy);
        ensure_eq(
            &(0..8).map(|i| m.get(rid(i))).collect::<Vec<_>>(),
            &max,
            "merge = pointwise max",
        )
    })())
}

#[test]
fn version_vector_order_is_pointwise() {
    qc().quickcheck(prop_vv_partial_cmp_pointwise as fn(_, _) -> TestResult);
}

/// Batching deltas has one way, and it keeps their removal hints: deltas are
/// `OrSetDelta`s, joined with `join` or `collect()` (borrowed or owned) into the same
/// bytes, and the receiver of the batch ends where the origin is. (Batching them into
/// an `OrSet` state does not compile: see `OrSetDelta`'s `compile_fail` doc test.)
#[test]
fn orset_deltas_batch_only_into_a_delta_that_keeps_removal_hints() {
    let mut origin: OrSet<u64> = OrSet::new();
    for v in 0..1_000u64 {
        let _ = origin.insert(rid(0), v);
    }
    let mut receiver = origin.clone();
    let deltas = [
        origin.remove(&1),
        origin.remove(&500),
        origin.insert(rid(1), 2),
        origin.clear(),
        origin.insert(rid(0), 7),
    ];
    let joined: OrSetDelta<u64> = deltas.iter().collect();
    let owned: OrSetDelta<u64> = deltas.clone().into_iter().collect();
    let mut by_hand = OrSetDelta::new();
    for d in &deltas {
        by_hand.join(d);
    }
    // Generic lattice code batches them the same way.
    let generic = deltas.iter().fold(OrSetDelta::new(), |a, d| merged(&a, d));
    for batch in [&joined, &owned, &generic] {
        assert!(batch.as_set().has_removal_hints());
        assert_eq!(encode(batch), encode(&by_hand));
    }
    // A replica state: the same set, but it keeps no hints.
    let mut state = OrSet::new();
    for d in &deltas {
        state.apply_delta(d);
    }
    assert_eq!(&state, joined.as_set());
    assert!(!state.has_removal_hints());
    receiver.apply_delta(&joined);
    assert_eq!(ok(&receiver), &origin);
    assert!(!receiver.has_removal_hints());
    assert!(OrSetDelta::<u64>::new().as_set().has_removal_hints());
    // The bytes of a delta are an OR-Set's: a replica decodes them as either type.
    let as_state: OrSet<u64> = decode(&encode(&joined)).unwrap();
    assert!(as_state.has_removal_hints() && &as_state == joined.as_set());
}

/// Long-lived replica states (made by `new()` or `default()`, writing or only
/// receiving) that merge thousands of deltas and batches with removes hold no hints,
/// and converged replicas encode to identical bytes.
#[test]
fn orset_long_lived_states_hold_no_hints() {
    let mut writers: Vec<OrSet<u64>> = vec![OrSet::new(), OrSet::new()];
    let mut readers: Vec<OrSet<u64>> = vec![OrSet::new(), OrSet::default()];
    let mut seed = 7u64;
    let mut next = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        seed >> 33
    };
    let mut pending: Vec<OrSetDelta<u64>> = Vec::new();
    for step in 0..3_000u64 {
        let w = (next() % 2) as usize;
        let v = next() % 64;
        let d = match next() % 10 {
            0..=4 => writers[w].insert(rid(w), v),
            5..=8 => writers[w].remove(&v),
            _ => writers[w].clear(),
        };
        writers[1 - w].apply_delta(&d);
        pending.push(d);
        if step % 7 == 6 {
            let batch: OrSetDelta<u64> = pending.iter().collect();
            assert!(batch.as_set().has_removal_hints());
            for r in &mut readers {
                r.apply_delta(&batch);
            }
            pending.clear();
        }
    }
    for r in &mut readers {
        for d in &pending {
            r.apply_delta(d);
        }
    }
    let bytes = encode(&writers[0]);
    assert!(writers[0].context().dot_count() > writers[0].len() as u128);
    for s in writers.iter().chain(&readers) {
        assert!(!s.has_removal_hints(), "a replica state holds hints: {s:?}");
        assert_eq!(encode(s), bytes);
    }
}
