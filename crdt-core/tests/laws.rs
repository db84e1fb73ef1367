//! The join-semilattice laws and the delta-state law, for every replicated type, on
//! reachable values (states, deltas and batches of one random history).

mod support;

use crdt_core::{Crdt, GCounter, Keyspace, LwwRegister, MvRegister, OrSet, PnCounter};
use quickcheck::TestResult;
use std::fmt::Debug;
use support::{batch, ensure, ensure_eq, qc, verdict, Model, Mutations, Picks};

fn join<C: Crdt + Clone>(a: &C, b: &C) -> C {
    let mut out = a.clone();
    out.merge(b);
    out
}

/// The lattice laws for any type: `bottom` is the empty value, `covers(x, y)` the
/// type's "x has seen everything y has" order.
fn lattice_laws<C: Crdt + Clone + PartialEq + Debug>(
    a: &C,
    b: &C,
    c: &C,
    bottom: &C,
    covers: impl Fn(&C, &C) -> bool,
) -> Result<(), String> {
    let ab = join(a, b);
    ensure_eq(&ab, &join(b, a), "commutative: a⊔b == b⊔a")?;
    ensure_eq(
        &join(&ab, c),
        &join(a, &join(b, c)),
        "associative: (a⊔b)⊔c == a⊔(b⊔c)",
    )?;
    for x in [a, b, c] {
        ensure_eq(&join(x, x), x, "idempotent: x⊔x == x")?;
        ensure_eq(&join(x, bottom), x, "identity: x⊔⊥ == x")?;
        ensure_eq(&join(bottom, x), x, "identity: ⊥⊔x == x")?;
    }
    ensure(covers(&ab, a) && covers(&ab, b), || {
        format!("inflationary: a⊔b does not cover a and b\n a: {a:?}\n b: {b:?}\n a⊔b: {ab:?}")
    })?;
    ensure_eq(&join(&ab, a), &ab, "absorbs: (a⊔b)⊔a == a⊔b")?;
    ensure_eq(&join(&ab, b), &ab, "absorbs: (a⊔b)⊔b == a⊔b")?;
    // Merging into an accumulated value never loses what it had.
    let abc = join(&ab, c);
    ensure(covers(&abc, &ab), || {
        "inflationary: (a⊔b)⊔c covers a⊔b".into()
    })
}

fn prop_laws<C: Model>(p: Picks<C>) -> TestResult {
    verdict((|| {
        let pool = p.history.replay()?.pool();
        let [a, b, c] = p.picks.map(|i| &pool[i % pool.len()]);
        lattice_laws(a, b, c, &C::empty(), C::covers)
    })())
}

#[test]
fn laws_gcounter() {
    qc().quickcheck(prop_laws::<GCounter> as fn(_) -> TestResult);
}

#[test]
fn laws_pncounter() {
    qc().quickcheck(prop_laws::<PnCounter> as fn(_) -> TestResult);
}

#[test]
fn laws_orset_u64() {
    qc().quickcheck(prop_laws::<OrSet<u64>> as fn(_) -> TestResult);
}

#[test]
fn laws_orset_string() {
    qc().quickcheck(prop_laws::<OrSet<String>> as fn(_) -> TestResult);
}

#[test]
fn laws_lww_register() {
    qc().quickcheck(prop_laws::<LwwRegister<String>> as fn(_) -> TestResult);
}

#[test]
fn laws_mv_register() {
    qc().quickcheck(prop_laws::<MvRegister<String>> as fn(_) -> TestResult);
}

#[test]
fn laws_keyspace() {
    qc().quickcheck(prop_laws::<Keyspace> as fn(_) -> TestResult);
}

/// Extra checks of a delta against the state it was made from (per type).
trait DeltaExtra: Model {
    fn delta_extra(_before: &Self, _delta: &Self) -> Result<(), String> {
        Ok(())
    }
}

impl DeltaExtra for GCounter {}
impl DeltaExtra for PnCounter {}
impl DeltaExtra for LwwRegister<String> {}
impl DeltaExtra for MvRegister<String> {}
impl DeltaExtra for Keyspace {}

impl<T: support::Elem> DeltaExtra for OrSet<T> {
    /// The removal-hint fast path must agree with the full scan: the same delta with
    /// its hints stripped (merged into a hint-free `OrSet::new()`) gives the same state.
    fn delta_extra(before: &Self, delta: &Self) -> Result<(), String> {
        ensure(delta.has_removal_hints(), || {
            format!("a mutator's delta carries no removal hints: {delta:?}")
        })?;
        let stripped = join(&OrSet::new(), delta);
        ensure(!stripped.has_removal_hints(), || {
            "hints not stripped".into()
        })?;
        ensure_eq(
            &join(before, delta),
            &join(before, &stripped),
            "hinted merge == scanning merge",
        )
    }
}

/// `s ⊔ m_δ(s) == m(s)` for every mutator; deltas join: `s ⊔ (d1 ⊔ … ⊔ dk)` equals
/// merging them one by one, both for batches started from `empty_batch()` and for
/// plain joins of the deltas; and a delta only carries what changed (`m(s)` covers it,
/// merging it twice changes nothing).
fn prop_delta_law<C: Model + DeltaExtra>(m: Mutations<C>) -> TestResult {
    verdict((|| {
        let run = m.history.replay()?;
        let (owner, start) = m.start(&run);
        let mut state = start.clone();
        let mut deltas = Vec::new();
        for op in &m.ops {
            let before = state.clone();
            let delta = state.apply(owner, op);
            delta.check(false)?;
            state.check(true)?;
            ensure_eq(
                &join(&before, &delta),
                &state,
                &format!("delta law for {op:?}: s ⊔ δ == m(s)"),
            )?;
            ensure(state.covers(&delta), || format!("m(s) covers δ for {op:?}"))?;
            ensure_eq(&join(&state, &delta), &state, "redelivered δ is a no-op")?;
            C::delta_extra(&before, &delta)?;
            deltas.push(delta);
        }
        let refs: Vec<&C> = deltas.iter().collect();
        for plain in [false, true] {
            let b = batch(&refs, plain);
            b.check(false)?;
            ensure_eq(
                &join(&start, &b),
                &state,
                "s ⊔ (d1 ⊔ … ⊔ dk) == m_k(…m_1(s))",
            )?;
        }
        for pair in deltas.windows(2) {
            let (d1, d2) = (&pair[0], &pair[1]);
            ensure_eq(&join(d1, d2), &batch(&[d1, d2], false), "d1 ⊔ d2 both ways")?;
        }
        // The same deltas delivered to other replicas' states: batch or one by one.
        for other in &run.states {
            let one_by_one = refs.iter().fold(other.clone(), |acc, d| join(&acc, *d));
            ensure_eq(
                &join(other, &batch(&refs, false)),
                &one_by_one,
                "batched and one-by-one delivery agree on another replica",
            )?;
        }
        Ok(())
    })())
}

#[test]
fn delta_law_gcounter() {
    qc().quickcheck(prop_delta_law::<GCounter> as fn(_) -> TestResult);
}

#[test]
fn delta_law_pncounter() {
    qc().quickcheck(prop_delta_law::<PnCounter> as fn(_) -> TestResult);
}

#[test]
fn delta_law_orset_u64() {
    qc().quickcheck(prop_delta_law::<OrSet<u64>> as fn(_) -> TestResult);
}

#[test]
fn delta_law_orset_string() {
    qc().quickcheck(prop_delta_law::<OrSet<String>> as fn(_) -> TestResult);
}

#[test]
fn delta_law_lww_register() {
    qc().quickcheck(prop_delta_law::<LwwRegister<String>> as fn(_) -> TestResult);
}

#[test]
fn delta_law_mv_register() {
    qc().quickcheck(prop_delta_law::<MvRegister<String>> as fn(_) -> TestResult);
}

#[test]
fn delta_law_keyspace() {
    qc().quickcheck(prop_delta_law::<Keyspace> as fn(_) -> TestResult);
}

/// The generators reach the interesting states (guards against a vacuous suite):
/// concurrency, removes, gaps in causal contexts, saturation.
#[test]
fn generators_reach_interesting_states() {
    use quickcheck::{Arbitrary, Gen};
    let mut g = Gen::new(100);
    let (mut gaps, mut removed, mut multi_dot, mut saturated, mut concurrent) = (0, 0, 0, 0, 0);
    for _ in 0..300 {
        let run = support::History::<OrSet<u64>>::arbitrary(&mut g)
            .replay()
            .unwrap();
        for s in &run.states {
            gaps += usize::from(!s.context().is_compact());
            removed += usize::from(s.context().dot_count() > s.len() as u128);
            multi_dot += usize::from(s.iter().any(|v| s.dots(v).unwrap().len() > 1));
        }
        let run = support::History::<GCounter>::arbitrary(&mut g)
            .replay()
            .unwrap();
        saturated += usize::from(run.states.iter().any(|s| s.iter().any(|e| e.1 == u64::MAX)));
        let run = support::History::<LwwRegister<String>>::arbitrary(&mut g)
            .replay()
            .unwrap();
        for s in &run.states {
            let mut r = s.clone();
            for o in &run.states {
                concurrent += usize::from(r.merge_report(o).discarded.is_some());
            }
        }
    }
    for (what, n) in [
        ("gaps", gaps),
        ("removes", removed),
        ("multi-dot elements", multi_dot),
        ("saturation", saturated),
        ("concurrent writes", concurrent),
    ] {
        assert!(n >= 10, "generators rarely reach {what}: {n}");
    }
}
