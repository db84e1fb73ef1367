//! Retiring a writer (`Retire`, docs/RETIREMENT.md §3) against random histories of
//! three writers with partial syncs: a replica holding all of the retired writer's
//! writes keeps its value; renaming commutes with merge; an old delta renamed and
//! merged equals the delta merged and renamed; a record that undercounts what a value
//! holds is refused and leaves it unchanged.

mod support;

use crdt_core::{
    CausalContext, CoreError, Crdt, Dot, GCounter, Held, Keyspace, MvRegister, OrSet, PnCounter,
    ReplicaId, Retire, Retirement,
};
use quickcheck::{Arbitrary, Gen, TestResult};
use std::fmt::Debug;
use support::{ensure, ensure_eq, qc, verdict};

/// The writers that are retired, in this order, into the collapse id (never written
/// under): two, so that the second record lands on contributions of the first, and
/// the lowest id among them, so that a renamed register write that lost a tie to
/// writer 2 would win it under the collapse id without its tie-break.
const RETIRED: [u64; 2] = [1, 3];
const COLLAPSE: u64 = 99;

fn rid(n: u64) -> ReplicaId {
    ReplicaId::new(n)
}

/// A history: each step is a write of replica `i % 3` (argument `x`) or, one step in
/// four, a full-state sync from replica `i % 3` to `j % 3`.
#[derive(Clone, Debug)]
struct History {
    steps: Vec<(u8, u8, u8)>,
    base: u16,
}

impl Arbitrary for History {
    fn arbitrary(g: &mut Gen) -> Self {
        let len = usize::arbitrary(g) % 40;
        History {
            steps: (0..len)
                .map(|_| (u8::arbitrary(g), u8::arbitrary(g), u8::arbitrary(g)))
                .collect(),
            base: u16::arbitrary(g),
        }
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let base = self.base;
        Box::new(
            support::shrink_list(&self.steps)
                .into_iter()
                .map(move |steps| History { steps, base }),
        )
    }
}

/// A type under test: a write, its value, and the record that retires writer `w` from
/// a state holding all of its writes.
trait Subject: Crdt + Retire + Clone + PartialEq + Debug + Default {
    type Value: PartialEq + Debug;
    fn write(&mut self, writer: ReplicaId, x: u8) -> Self;
    fn value(&self) -> Self::Value;
    /// The record for `all` (holding every write), and whether `self` holds all of
    /// the retired writer's contributions (counters: its value is kept only then).
    /// The causal context of a dot-based type (the defaults below use it).
    fn ctx(&self) -> Option<&CausalContext> {
        None
    }
    fn record(all: &Self, w: u64, base: u64) -> Retirement {
        let n = all.ctx().map_or(0, |c| c.max_counter(rid(w)));
        record(w, n, base, 0, 0)
    }
    /// Dot-based values keep their value whatever they hold of `w`.
    fn keeps_value(&self, _all: &Self, _w: u64) -> bool {
        true
    }
    /// A record that accounts for less than `all` holds, if `all` holds anything.
    fn short_record(all: &Self, w: u64, base: u64) -> Option<Retirement> {
        let n = all.ctx().map_or(0, |c| c.max_counter(rid(w)));
        (n > 0).then(|| record(w, n - 1, base, 0, 0))
    }
    /// Whether writer `w` still appears anywhere.
    fn names(&self, w: u64) -> bool;
    /// How many collapse counters the record of `w` takes (its dots).
    fn span(all: &Self, w: u64) -> u64 {
        all.ctx().map_or(0, |c| c.max_counter(rid(w)))
    }
    /// The type's invariants (sorted dots, dots within the context).
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

fn record(w: u64, last: u64, base: u64, inc: u64, dec: u64) -> Retirement {
    Retirement::new(rid(w), last, rid(COLLAPSE), base, inc, dec).unwrap()
}

impl Subject for OrSet<u8> {
    type Value = Vec<u8>;
    fn check(&self) -> Result<(), String> {
        self.check_invariants()
            .map_err(|e| format!("{e} in {self:?}"))
    }
    fn write(&mut self, writer: ReplicaId, x: u8) -> Self {
        if x % 3 == 0 {
            self.remove(&(x % 8)).into_set()
        } else {
            self.insert(writer, x % 8).into_set()
        }
    }
    fn value(&self) -> Vec<u8> {
        self.iter().copied().collect()
    }
    fn ctx(&self) -> Option<&CausalContext> {
        Some(self.context())
    }
    fn names(&self, w: u64) -> bool {
        self.context().replicas().any(|r| r == rid(w))
            || self.iter().any(|e| {
                self.dots(e)
                    .unwrap_or(&[])
                    .iter()
                    .any(|d| d.replica() == rid(w))
            })
    }
}

impl Subject for MvRegister<u8> {
    type Value = Vec<u8>;
    fn check(&self) -> Result<(), String> {
        self.check_invariants()
            .map_err(|e| format!("{e} in {self:?}"))
    }
    fn write(&mut self, writer: ReplicaId, x: u8) -> Self {
        self.set(writer, x % 4)
    }
    fn value(&self) -> Vec<u8> {
        self.values().into_iter().copied().collect()
    }
    fn ctx(&self) -> Option<&CausalContext> {
        Some(self.context())
    }
    fn names(&self, w: u64) -> bool {
        self.context().replicas().any(|r| r == rid(w))
    }
}

/// Five keys, one per type, written by every writer (register stamps of 0 or 1 ms,
/// so that equal stamps are common and the tie-break decides), and deleted now and
/// then.
impl Subject for Keyspace {
    type Value = Vec<(String, crdt_core::Value)>;
    /// The invariants, and a round trip through the codec (renamed keyspaces use the
    /// payload tags 5-7) that keeps the value and the state hash.
    fn check(&self) -> Result<(), String> {
        self.check_invariants()
            .map_err(|e| format!("{e} in {self:?}"))?;
        let back: Keyspace = crdt_core::codec::decode(&crdt_core::codec::encode(self))
            .map_err(|e| format!("{e} decoding {self:?}"))?;
        ensure_eq(&back, self, "a round trip")?;
        ensure_eq(&back.value(), &self.value(), "the value after a round trip")?;
        ensure_eq(&back.state_hash(), &self.state_hash(), "the state hash")
    }
    fn write(&mut self, w: ReplicaId, x: u8) -> Self {
        let key = ["c", "p", "s", "l", "m"][usize::from(x % 5)];
        let arg = x / 5;
        let delta = if arg % 9 == 0 {
            self.delete(key)
        } else {
            match key {
                "c" => self.increment(w, key, u64::from(arg % 3)),
                "p" if arg % 2 == 0 => self.pn_increment(w, key, u64::from(arg % 4)),
                "p" => self.pn_decrement(w, key, u64::from(arg % 3)),
                "s" if arg % 3 == 0 => self.set_remove(w, key, &format!("e{}", arg % 4)),
                "s" => self.set_insert(w, key, format!("e{}", arg % 4)),
                "l" => self.lww_set(w, key, format!("v{}", arg % 3), u64::from(arg % 2)),
                _ => self.mv_set(w, key, format!("v{}", arg % 3)),
            }
        };
        delta.unwrap()
    }
    fn value(&self) -> Self::Value {
        self.prefix("").map(|(k, v)| (k.to_string(), v)).collect()
    }
    fn ctx(&self) -> Option<&CausalContext> {
        Some(self.context())
    }
    fn names(&self, w: u64) -> bool {
        self.context().replicas().any(|r| r == rid(w))
            || self.dots().any(|(_, d)| d.replica() == rid(w))
    }
}

impl Subject for GCounter {
    type Value = u64;
    fn write(&mut self, writer: ReplicaId, x: u8) -> Self {
        self.increment(writer, u64::from(x % 5))
    }
    fn value(&self) -> u64 {
        self.value()
    }
    fn record(all: &Self, w: u64, base: u64) -> Retirement {
        record(w, 0, base, all.get(rid(w)), 0)
    }
    fn keeps_value(&self, all: &Self, w: u64) -> bool {
        self.get(rid(w)) == all.get(rid(w))
    }
    fn short_record(all: &Self, w: u64, base: u64) -> Option<Retirement> {
        let v = all.get(rid(w));
        (v > 0).then(|| record(w, 0, base, v - 1, 0))
    }
    fn names(&self, w: u64) -> bool {
        self.iter().any(|(r, _)| r == rid(w))
    }
}

impl Subject for PnCounter {
    type Value = i64;
    fn write(&mut self, writer: ReplicaId, x: u8) -> Self {
        if x % 2 == 0 {
            self.increment(writer, u64::from(x % 7))
        } else {
            self.decrement(writer, u64::from(x % 5))
        }
    }
    fn value(&self) -> i64 {
        self.value()
    }
    fn record(all: &Self, w: u64, base: u64) -> Retirement {
        let (p, n) = all.totals(rid(w));
        record(w, 0, base, p, n)
    }
    fn keeps_value(&self, all: &Self, w: u64) -> bool {
        self.totals(rid(w)) == all.totals(rid(w))
    }
    fn short_record(all: &Self, w: u64, base: u64) -> Option<Retirement> {
        let (p, n) = all.totals(rid(w));
        if p > 0 {
            Some(record(w, 0, base, p - 1, n))
        } else {
            (n > 0).then(|| record(w, 0, base, p, n - 1))
        }
    }
    fn names(&self, w: u64) -> bool {
        self.iter().any(|(r, _, _)| r == rid(w))
    }
}

fn retired<S: Subject>(s: &S, recs: &[Retirement]) -> Result<S, CoreError> {
    let mut out = s.clone();
    for rec in recs {
        out.retire(rec)?;
    }
    Ok(out)
}

/// `s` translated by the records of exactly the retired writers it names (holds
/// anything of): how a receiver could translate content without knowing the epoch it
/// was computed at (docs/RETIREMENT.md §5.3, the alternative to epoch tags).
fn retired_named<S: Subject>(s: &S, recs: &[Retirement]) -> Result<S, CoreError> {
    let named: Vec<Retirement> = recs
        .iter()
        .filter(|r| s.held(r.retired()) != Held::default())
        .copied()
        .collect();
    retired(s, &named)
}

fn merged<S: Subject>(a: &S, b: &S) -> S {
    let mut out = a.clone();
    out.merge(b);
    out
}

fn prop<S: Subject>(h: History) -> TestResult {
    verdict((|| {
        let mut replicas: Vec<S> = vec![S::default(); 3];
        let mut deltas: Vec<S> = Vec::new();
        for &(i, j, x) in &h.steps {
            let (i, j) = (usize::from(i % 3), usize::from(j % 3));
            if x % 4 == 3 {
                let from = replicas[i].clone();
                replicas[j].merge(&from);
            } else {
                let d = replicas[i].write(rid(i as u64 + 1), x);
                deltas.push(d);
            }
        }
        let all = replicas.iter().fold(S::default(), |a, s| merged(&a, s));
        // Consecutive collapse ranges, as the batches of a cluster assign them.
        let mut base = u64::from(h.base);
        let mut recs = Vec::new();
        for w in RETIRED {
            let rec = S::record(&all, w, base);
            // What the value says it holds of the writer is what retires it.
            let own = Retirement::of(rid(w), all.held(rid(w)), rid(COLLAPSE), base)
                .map_err(|e| e.to_string())?;
            ensure_eq(&own, &rec, "the record made from `held`")?;
            ensure_eq(&rec.end(), &(base + S::span(&all, w)), "a record's end")?;
            recs.push(rec);
            base += S::span(&all, w);
        }
        let err = |e: CoreError| e.to_string();
        let all_retired = retired(&all, &recs).map_err(err)?;
        ensure(RETIRED.iter().all(|w| !all_retired.names(*w)), || {
            format!("a retired writer is still named: {all_retired:?}")
        })?;
        let mut states: Vec<S> = replicas.clone();
        states.push(all.clone());
        for s in &states {
            let r = retired(s, &recs).map_err(|e| format!("{e} retiring {s:?}"))?;
            r.check()?;
            let mut at_once = s.clone();
            at_once.retire_all(&recs).map_err(err)?;
            ensure_eq(&at_once, &r, "a batch equals its records one by one")?;
            if RETIRED.iter().all(|w| s.keeps_value(&all, *w)) {
                ensure_eq(&r.value(), &s.value(), "the value of a replica holding all")?;
            }
            for t in &states {
                let both = retired(&merged(s, t), &recs).map_err(err)?;
                let each = merged(&r, &retired(t, &recs).map_err(err)?);
                ensure_eq(&both, &each, "retire(a ⊔ b) == retire(a) ⊔ retire(b)")?;
            }
            for d in &deltas {
                let after = retired(&merged(s, d), &recs).map_err(err)?;
                let translated = merged(&r, &retired(d, &recs).map_err(err)?);
                ensure_eq(&after, &translated, "an old delta, translated")?;
                // Translated by the writers it names only, an old delta gives the same,
                // and a translated one is left as it is (no epoch needed to tell).
                if RETIRED.iter().all(|w| s.keeps_value(&all, *w)) {
                    let by_name = merged(&r, &retired_named(d, &recs).map_err(err)?);
                    ensure_eq(
                        &after,
                        &by_name,
                        "an old delta, translated by the writers it names",
                    )?;
                }
                let new = retired(d, &recs).map_err(err)?;
                ensure_eq(
                    &retired_named(&new, &recs).map_err(err)?,
                    &new,
                    "a translated delta, translated again by the writers it names",
                )?;
            }
        }
        if let Some(short) = S::short_record(&all, RETIRED[0], u64::from(h.base)) {
            let mut a = all.clone();
            let refused = a.retire(&short);
            ensure(matches!(refused, Err(CoreError::NotFinal { .. })), || {
                format!("a short record was not refused: {refused:?}")
            })?;
            ensure_eq(&a, &all, "a refused retirement leaves the value")?;
        }
        Ok(())
    })())
}

#[test]
fn orset_retirement_keeps_values_and_commutes_with_merge() {
    qc().quickcheck(prop::<OrSet<u8>> as fn(_) -> TestResult);
}

#[test]
fn mv_register_retirement_keeps_values_and_commutes_with_merge() {
    qc().quickcheck(prop::<MvRegister<u8>> as fn(_) -> TestResult);
}

#[test]
fn keyspace_retirement_keeps_values_and_commutes_with_merge() {
    qc().quickcheck(prop::<Keyspace> as fn(_) -> TestResult);
}

#[test]
fn gcounter_retirement_keeps_totals_and_commutes_with_merge() {
    qc().quickcheck(prop::<GCounter> as fn(_) -> TestResult);
}

#[test]
fn pncounter_retirement_keeps_totals_and_commutes_with_merge() {
    qc().quickcheck(prop::<PnCounter> as fn(_) -> TestResult);
}

/// The figure at the value level: 10,000 writers each make one write and are
/// retired in one batch into consecutive collapse counters. The context is one run,
/// and the encoded state is within 10 % of the same writes by one live writer, for an
/// OR-Set and for a keyspace (a set key and one register key per writer).
#[test]
fn ten_thousand_retired_one_write_writers_cost_one_run() {
    use crdt_core::codec::encode;
    const N: u64 = 10_000;
    let writer = |i: u64| rid(1_000 + i * 7);
    let records: Vec<Retirement> = (0..N)
        .map(|i| Retirement::new(writer(i), 1, rid(COLLAPSE), i, 0, 0).unwrap())
        .collect();

    let (mut set, mut live) = (OrSet::new(), OrSet::new());
    for i in 0..N {
        let _ = set.insert(writer(i), i);
        let _ = live.insert(rid(1), i);
    }
    set.retire_all(&records).unwrap();
    let runs: Vec<_> = set.context().runs().collect();
    assert_eq!(runs, [(rid(COLLAPSE), 1, N)]);
    assert_eq!(set.dots(&5), Some(&[Dot::new(rid(COLLAPSE), 6)][..]));
    let (ours, theirs) = (encode(&set).len(), encode(&live).len());
    assert!(
        ours * 10 <= theirs * 11,
        "OR-Set: {ours} B retired, {theirs} B live"
    );

    let (mut ks, mut ks_live) = (Keyspace::new(), Keyspace::new());
    for i in 0..N {
        let (key, value) = (format!("r{i:05}"), format!("v{i}"));
        let _ = ks.lww_set(writer(i), &key, value.clone(), 7).unwrap();
        let _ = ks_live.lww_set(rid(1), &key, value, 7).unwrap();
    }
    let before = ks.get("r00042");
    ks.retire_all(&records).unwrap();
    assert_eq!(ks.get("r00042"), before);
    let runs: Vec<_> = ks.context().runs().collect();
    assert_eq!(runs, [(rid(COLLAPSE), 1, N)]);
    let (ours, theirs) = (encode(&ks).len(), encode(&ks_live).len());
    // Each renamed register write keeps its writer (the tie-break): about 3 bytes
    // more per key here, reported rather than hidden.
    println!("keyspace of {N} register keys: {ours} B retired, {theirs} B by one live writer");
    assert!(
        ours < theirs * 2,
        "keyspace: {ours} B retired, {theirs} B live"
    );
}

#[test]
fn records_that_cannot_be_applied_are_refused() {
    assert!(matches!(
        Retirement::new(rid(3), 1, rid(3), 0, 0, 0),
        Err(CoreError::InvalidRetirement { .. })
    ));
    assert!(matches!(
        Retirement::new(rid(3), 2, rid(9), u64::MAX - 1, 0, 0),
        Err(CoreError::InvalidRetirement { .. })
    ));
    let rec = Retirement::new(rid(3), 2, rid(9), 10, 0, 0).unwrap();
    assert_eq!(rec.rename(Dot::new(rid(3), 2)), Ok(Dot::new(rid(9), 12)));
    assert_eq!(rec.rename(Dot::new(rid(4), 2)), Ok(Dot::new(rid(4), 2)));
    let e = rec.rename(Dot::new(rid(3), 3)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "holds writes of retired writer 3 beyond its record (counter 3 > 2), so the retirement was refused and the value is unchanged: do not commit a record whose holdings some replica exceeds"
    );
    // Batches: one writer twice, a writer that is another record's collapse id, and
    // overlapping collapse ranges are refused; so is a range already holding dots.
    let r1 = Retirement::new(rid(3), 2, rid(9), 10, 0, 0).unwrap();
    let r2 = Retirement::new(rid(4), 2, rid(9), 11, 0, 0).unwrap();
    let r3 = Retirement::new(rid(9), 2, rid(8), 0, 0, 0).unwrap();
    let mut set: OrSet<u8> = OrSet::new();
    let _ = set.insert(rid(3), 1);
    let before = set.clone();
    for batch in [vec![r1, r1], vec![r1, r3], vec![r1, r2]] {
        assert!(matches!(
            set.retire_all(&batch),
            Err(CoreError::InvalidRetirement { .. })
        ));
        assert_eq!(set, before);
    }
    let _ = set.insert(rid(9), 2); // (9, 1)
    let used = Retirement::new(rid(3), 1, rid(9), 0, 0, 0).unwrap();
    assert!(matches!(
        set.retire(&used),
        Err(CoreError::InvalidRetirement { .. })
    ));
    // A collapse entry that would overflow is refused, the counter unchanged.
    let mut g = GCounter::new();
    let _ = g.increment(rid(9), u64::MAX);
    let _ = g.increment(rid(3), 1);
    let before = g.clone();
    let rec = Retirement::new(rid(3), 0, rid(9), 0, 1, 0).unwrap();
    assert_eq!(
        g.retire(&rec),
        Err(CoreError::CounterOverflow { replica: rid(9) })
    );
    assert_eq!(g, before);
}
