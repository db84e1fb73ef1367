//! Keyspace and MvRegister semantics: a sequential reference model, delete/update-wins,
//! type conflicts, and MvRegister keeping exactly the concurrent maximal writes.
//!
//! Cases per property: `QUICKCHECK_TESTS`, or 1000.

mod support;

use crdt_core::codec::{decode, encode};
use crdt_core::{
    CoreError, Crdt, DeltaCrdt, Keyspace, KeyspaceOp, MvRegister, ReplicaId, Value, ValueOp,
    ValueType, KEY_BYTES_MAX,
};
use quickcheck::{Arbitrary, Gen, TestResult};
use std::collections::{BTreeMap, BTreeSet};
use support::{below, chance, ensure, ensure_eq, qc, rid, verdict, Model};

// ---------------------------------------------------------------------------------
// The sequential reference model.

/// What a key holds when every operation saw all earlier ones.
#[derive(Clone, Debug, PartialEq)]
enum ModelValue {
    G(u128),
    Pn(i128),
    Set(BTreeSet<String>),
    Lww(String),
    Mv(String),
}

impl ModelValue {
    fn value_type(&self) -> ValueType {
        match self {
            ModelValue::G(_) => ValueType::GCounter,
            ModelValue::Pn(_) => ValueType::PnCounter,
            ModelValue::Set(_) => ValueType::OrSet,
            ModelValue::Lww(_) => ValueType::LwwRegister,
            ModelValue::Mv(_) => ValueType::MvRegister,
        }
    }

    fn read(&self) -> Value {
        match self {
            ModelValue::G(n) => Value::GCounter(u64::try_from(*n).unwrap_or(u64::MAX)),
            ModelValue::Pn(n) => Value::PnCounter(i64::try_from(*n).unwrap_or(if *n < 0 {
                i64::MIN
            } else {
                i64::MAX
            })),
            ModelValue::Set(s) => Value::OrSet(s.iter().cloned().collect()),
            ModelValue::Lww(v) => Value::LwwRegister(v.clone()),
            ModelValue::Mv(v) => Value::MvRegister(vec![v.clone()]),
        }
    }
}

/// Per key: the value, and for counters each writer's contribution (which saturates
/// nowhere in the model: the keyspace refuses a writer total past `u64::MAX`).
#[derive(Clone, Debug, Default)]
struct Reference {
    values: BTreeMap<String, (ModelValue, Contributions)>,
}

/// Each writer's increments and decrements of a counter key.
type Contributions = BTreeMap<ReplicaId, (u64, u64)>;

impl Reference {
    /// Applies `op` by `writer`; `Err` exactly where the keyspace must refuse.
    fn apply(&mut self, writer: ReplicaId, op: &KeyspaceOp) -> Result<(), CoreError> {
        let (key, op) = match op {
            KeyspaceOp::Delete { key } => {
                self.values.remove(key);
                return Ok(());
            }
            KeyspaceOp::Write { key, op } => (key, op),
        };
        if let Some((v, _)) = self.values.get(key) {
            if v.value_type() != op.value_type() {
                return Err(CoreError::KeyTypeMismatch {
                    key: key.clone(),
                    existing: v.value_type(),
                    attempted: op.value_type(),
                });
            }
        }
        let overflow = CoreError::CounterOverflow { replica: writer };
        let entry = self.values.get(key).cloned();
        let mut contributions = entry.as_ref().map(|e| e.1.clone()).unwrap_or_default();
        let value = match op {
            ValueOp::GCounterIncrement(n) | ValueOp::PnCounterIncrement(n) => {
                let c = contributions.entry(writer).or_default();
                c.0 = c.0.checked_add(*n).ok_or(overflow)?;
                if matches!(op, ValueOp::GCounterIncrement(_)) {
                    ModelValue::G(contributions.values().map(|c| u128::from(c.0)).sum())
                } else {
                    ModelValue::Pn(pn(&contributions))
                }
            }
            ValueOp::PnCounterDecrement(n) => {
                let c = contributions.entry(writer).or_default();
                c.1 = c.1.checked_add(*n).ok_or(overflow)?;
                ModelValue::Pn(pn(&contributions))
            }
            ValueOp::OrSetInsert(e) => {
                let mut s = match entry {
                    Some((ModelValue::Set(s), _)) => s,
                    _ => BTreeSet::new(),
                };
                s.insert(e.clone());
                ModelValue::Set(s)
            }
            ValueOp::OrSetRemove(e) => {
                let Some((ModelValue::Set(mut s), c)) = entry else {
                    return Ok(());
                };
                s.remove(e);
                if s.is_empty() {
                    self.values.remove(key);
                } else {
                    self.values.insert(key.clone(), (ModelValue::Set(s), c));
                }
                return Ok(());
            }
            ValueOp::LwwSet { value, .. } => ModelValue::Lww(value.clone()),
            ValueOp::MvRegisterSet(value) => ModelValue::Mv(value.clone()),
        };
        self.values.insert(key.clone(), (value, contributions));
        Ok(())
    }
}

fn pn(c: &Contributions) -> i128 {
    c.values()
        .map(|(p, n)| i128::from(*p) - i128::from(*n))
        .sum()
}

/// A sequential history: each operation runs at some replica that first received
/// everything (by a full-state merge, a repair, or the deltas), so every operation
/// saw all earlier ones.
#[derive(Clone, Debug)]
struct Sequential {
    ops: Vec<(usize, KeyspaceOp, u8)>,
}

impl Arbitrary for Sequential {
    fn arbitrary(g: &mut Gen) -> Self {
        let n = below(g, 40) as usize;
        let ops = (0..n)
            .map(|_| {
                (
                    below(g, 3) as usize,
                    <Keyspace as Model>::gen_op(g),
                    u8::arbitrary(g),
                )
            })
            .collect();
        Sequential { ops }
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(
            support::shrink_list(&self.ops)
                .into_iter()
                .map(|ops| Sequential { ops }),
        )
    }
}

fn prop_sequential(h: Sequential) -> TestResult {
    verdict((|| {
        let mut reps = vec![Keyspace::new(); 3];
        let mut reference = Reference::default();
        let mut deltas: Vec<Keyspace> = Vec::new();
        for (i, (at, op, how)) in h.ops.iter().enumerate() {
            // Bring the replica up to date, one of three ways.
            let latest = reps
                .iter()
                .max_by_key(|r| r.context().dot_count())
                .cloned()
                .unwrap_or_default();
            let latest = reps.iter().fold(latest, |mut acc, r| {
                acc.merge(r);
                acc
            });
            match how % 3 {
                0 => reps[*at].merge(&latest),
                1 => {
                    let d = latest.delta_since(&reps[*at].summary());
                    let _ = reps[*at].merge_delta(&d);
                }
                _ => {
                    for d in &deltas {
                        reps[*at].merge(d);
                    }
                }
            }
            let want = reference.apply(rid(*at), op);
            let got = reps[*at].apply(rid(*at), op.clone());
            match (&want, &got) {
                (Ok(()), Ok(d)) => deltas.push(d.clone()),
                (Err(a), Err(b)) => ensure_eq(a, b, &format!("step {i}: the refusal"))?,
                _ => {
                    return Err(format!(
                        "step {i} {op:?}: model {want:?}, keyspace {got:?}\n{:?}",
                        reps[*at]
                    ))
                }
            }
            let state = &reps[*at];
            state.check_invariants().map_err(|e| e.to_string())?;
            let expected: Vec<(String, Value)> = reference
                .values
                .iter()
                .map(|(k, (v, _))| (k.clone(), v.read()))
                .collect();
            let got: Vec<(String, Value)> = state
                .range(std::ops::Bound::Unbounded, std::ops::Bound::Unbounded)
                .map(|(k, v)| (k.to_string(), v))
                .collect();
            ensure_eq(&got, &expected, &format!("step {i} ({op:?}): reads"))?;
            ensure_eq(&state.len(), &reference.values.len(), "len")?;
        }
        Ok(())
    })())
}

#[test]
fn sequential_histories_match_the_reference_model() {
    qc().quickcheck(prop_sequential as fn(_) -> TestResult);
}

// ---------------------------------------------------------------------------------
// Delete / update wins.

/// A synced pair of replicas, a key, and a write of that key's type.
#[derive(Clone, Debug)]
struct Race {
    setup: Vec<(usize, KeyspaceOp)>,
    key: String,
    write: ValueOp,
}

impl Arbitrary for Race {
    fn arbitrary(g: &mut Gen) -> Self {
        let setup = (0..below(g, 12))
            .map(|_| (below(g, 2) as usize, <Keyspace as Model>::gen_op(g)))
            .collect();
        let ops = support::value_ops(g);
        Race {
            setup,
            key: support::key(g),
            write: g.choose(&ops).unwrap().clone(),
        }
    }
}

/// A delete concurrent with an update: the update survives on both replicas, with
/// exactly the value its writer produced (update wins); a delete concurrent with a
/// remove or another delete leaves the key absent.
fn prop_update_wins(race: Race) -> TestResult {
    verdict((|| {
        let mut a = Keyspace::new();
        let mut b = Keyspace::new();
        for (at, op) in &race.setup {
            let (x, r) = if *at == 0 {
                (&mut a, rid(0))
            } else {
                (&mut b, rid(1))
            };
            let _ = x.apply(r, op.clone());
        }
        a.merge(&b);
        b.merge(&a);
        let del = a.delete(&race.key).map_err(|e| e.to_string())?;
        let Ok(upd) = b.apply(
            rid(1),
            KeyspaceOp::Write {
                key: race.key.clone(),
                op: race.write.clone(),
            },
        ) else {
            return Ok(()); // refused: another type, or an overflow
        };
        // What the write gives when it follows the delete instead.
        let mut sequential = b.clone();
        a.merge(&upd);
        b.merge(&del);
        ensure_eq(&a, &b, "replicas converge")?;
        if upd.is_empty() {
            // A remove (no dot) and the delete: nothing is left.
            return ensure(!a.contains_key(&race.key), || {
                format!("a delete and a remove left the key: {a:?}")
            });
        }
        let got = a.get(&race.key);
        match &race.write {
            ValueOp::GCounterIncrement(_)
            | ValueOp::PnCounterIncrement(_)
            | ValueOp::PnCounterDecrement(_) => {
                // Causal counter: the writer's whole contribution survives.
                ensure(got.is_some(), || format!("the increment was lost: {a:?}"))
            }
            _ => {
                // Registers and set adds: exactly as if the write followed the delete.
                let _ = sequential.delete(&race.key);
                let _ = sequential.apply(
                    rid(1),
                    KeyspaceOp::Write {
                        key: race.key.clone(),
                        op: race.write.clone(),
                    },
                );
                ensure_eq(&got, &sequential.get(&race.key), "update wins")
            }
        }
    })())
}

#[test]
fn concurrent_update_survives_a_delete() {
    qc().quickcheck(prop_update_wins as fn(_) -> TestResult);
}

/// A key deleted everywhere leaves nothing but context: no entry, no live dot.
#[test]
fn a_deleted_key_leaves_no_trace() {
    let (a, b) = (rid(0), rid(1));
    let mut x = Keyspace::new();
    let mut y = Keyspace::new();
    y.merge(&x.set_insert(a, "cart", "apple".into()).unwrap());
    y.merge(&x.increment(a, "likes", 3).unwrap());
    x.merge(&y.increment(b, "likes", 2).unwrap());
    assert_eq!(x.get("likes"), Some(Value::GCounter(5)));
    let d = x.delete("likes").unwrap();
    y.merge(&d);
    for s in [&x, &y] {
        assert!(!s.contains_key("likes"));
        assert_eq!(s.len(), 1);
        assert_eq!(s.live_dot_count(), 1);
        assert_eq!(s.dots().filter(|(k, _)| *k == "likes").count(), 0);
    }
    assert_eq!(x, y);
    // Re-created afterwards: it starts from zero.
    let d = y.increment(b, "likes", 1).unwrap();
    x.merge(&d);
    assert_eq!(x.get("likes"), Some(Value::GCounter(1)));
}

/// The causal counter: an increment concurrent with a delete survives with its
/// writer's whole contribution as that writer saw it.
#[test]
fn an_increment_concurrent_with_a_delete_keeps_its_writers_contribution() {
    let (a, b) = (rid(0), rid(1));
    let mut x = Keyspace::new();
    let mut y = Keyspace::new();
    y.merge(&x.increment(a, "n", 10).unwrap());
    x.merge(&y.increment(b, "n", 5).unwrap());
    let del = x.delete("n").unwrap();
    let inc = y.increment(b, "n", 1).unwrap();
    x.merge(&inc);
    y.merge(&del);
    assert_eq!(x, y);
    assert_eq!(x.get("n"), Some(Value::GCounter(6)));
}

// ---------------------------------------------------------------------------------
// Type conflicts.

fn write(ks: &mut Keyspace, r: ReplicaId, key: &str, op: ValueOp) -> Keyspace {
    ks.apply(
        r,
        KeyspaceOp::Write {
            key: key.into(),
            op,
        },
    )
    .unwrap()
}

#[derive(Clone, Debug)]
struct TypeRace {
    left: ValueOp,
    right: ValueOp,
    third: ValueOp,
}

impl Arbitrary for TypeRace {
    fn arbitrary(g: &mut Gen) -> Self {
        let pick = |g: &mut Gen| {
            let ops: Vec<ValueOp> = support::value_ops(g)
                .into_iter()
                .filter(|o| !matches!(o, ValueOp::OrSetRemove(_)))
                .map(|o| match o {
                    // Small amounts: no overflow to get in the way.
                    ValueOp::GCounterIncrement(n) => ValueOp::GCounterIncrement(n % 100),
                    ValueOp::PnCounterIncrement(n) => ValueOp::PnCounterIncrement(n % 100),
                    ValueOp::PnCounterDecrement(n) => ValueOp::PnCounterDecrement(n % 100),
                    o => o,
                })
                .collect();
            g.choose(&ops).unwrap().clone()
        };
        TypeRace {
            left: pick(g),
            right: pick(g),
            third: pick(g),
        }
    }
}

/// Concurrent first writes of two types: both kept, read as a conflict identically
/// everywhere, in type order; a local write of a third type is refused; a write of
/// one of the two types (or a delete) resolves it once delivered.
fn prop_type_conflict(t: TypeRace) -> TestResult {
    verdict((|| {
        let (a, b) = (rid(0), rid(1));
        let mut x = Keyspace::new();
        let mut y = Keyspace::new();
        let dx = write(&mut x, a, "k", t.left.clone());
        let dy = write(&mut y, b, "k", t.right.clone());
        let (vx, vy) = (x.get("k").unwrap(), y.get("k").unwrap());
        x.merge(&dy);
        y.merge(&dx);
        ensure_eq(&x, &y, "converged")?;
        // The borrowed read is the owned read without the copies.
        ensure_eq(
            &x.get_ref("k").map(|v| v.to_value()),
            &x.get("k"),
            "borrowed read",
        )?;
        let (tl, tr) = (t.left.value_type(), t.right.value_type());
        if tl == tr {
            ensure(!matches!(x.get("k"), Some(Value::Conflict(_))), || {
                "same types do not conflict".into()
            })?;
            return Ok(());
        }
        let expected = if tl < tr { vec![vx, vy] } else { vec![vy, vx] };
        ensure_eq(
            &x.get("k"),
            &Some(Value::Conflict(expected)),
            "conflict read",
        )?;
        ensure_eq(
            &x.value_types("k"),
            &{
                let mut v = vec![tl, tr];
                v.sort();
                v
            },
            "types",
        )?;
        let third = t.third.value_type();
        let refused = x.apply(
            a,
            KeyspaceOp::Write {
                key: "k".into(),
                op: t.third.clone(),
            },
        );
        if third != tl && third != tr {
            // The error names the first of the types present, in type order.
            ensure(
                matches!(refused, Err(CoreError::KeyTypeMismatch { existing, attempted, .. })
                    if existing == tl.min(tr) && attempted == third),
                || format!("a third type was not refused as expected: {refused:?}"),
            )?;
            return Ok(());
        }
        let d = refused.map_err(|e| e.to_string())?;
        y.merge(&d);
        ensure_eq(&x, &y, "converged after resolving")?;
        ensure_eq(
            &x.value_types("k"),
            &vec![third],
            "resolved to the written type",
        )
    })())
}

#[test]
fn concurrent_first_writes_of_two_types_conflict_until_resolved() {
    qc().quickcheck(prop_type_conflict as fn(_) -> TestResult);
}

#[test]
fn type_errors_and_key_limits() {
    let a = rid(0);
    let mut ks = Keyspace::new();
    let _ = ks.lww_set(a, "title", "Cart".into(), 5).unwrap();
    let err = ks.increment(a, "title", 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "key \"title\" holds a LwwRegister, not a GCounter: write it with LwwRegister \
         operations, or delete the key first"
    );
    let long = "x".repeat(KEY_BYTES_MAX + 1);
    assert_eq!(
        ks.mv_set(a, &long, "v".into()),
        Err(CoreError::KeyTooLong {
            bytes: KEY_BYTES_MAX + 1,
            max: KEY_BYTES_MAX
        })
    );
    assert!(ks.delete(&long).is_err());
    let edge = "x".repeat(KEY_BYTES_MAX);
    assert!(ks.mv_set(a, &edge, "v".into()).is_ok());
    let before = ks.clone();
    assert!(ks.set_insert(a, "title", "x".into()).is_err());
    assert_eq!(ks, before, "a refused write changes nothing");
}

// ---------------------------------------------------------------------------------
// Reads by range and prefix.

#[test]
fn range_and_prefix_reads_in_key_order() {
    use std::ops::Bound::{Excluded, Included, Unbounded};
    let a = rid(0);
    let mut ks = Keyspace::new();
    for k in ["user/2", "user/10", "cart/1", "user/1", "userx", "z"] {
        let _ = ks.increment(a, k, 1).unwrap();
    }
    let keys = |it: Vec<(&str, Value)>| {
        it.into_iter()
            .map(|(k, _)| k.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(ks.prefix("user/").collect()),
        ["user/1", "user/10", "user/2"]
    );
    assert_eq!(keys(ks.prefix("").collect()).len(), 6);
    assert_eq!(
        keys(ks.range(Included("cart/1"), Excluded("user/10")).collect()),
        ["cart/1", "user/1"]
    );
    assert_eq!(
        keys(ks.range(Excluded("userx"), Unbounded).collect()),
        ["z"]
    );
    assert_eq!(ks.len(), 6);
}

/// A set's elements read in string order, once each, whatever order their dots have,
/// both where the set's entry keeps its order by value (a set of 32 dots or more
/// written here) and where the read sorts (the same state decoded): the elements
/// differ only after 16 bytes, only by a NUL, or are prefixes of each other, and they
/// arrive from two writers in scrambled order with duplicates. Then a concurrent
/// register write makes the key a type conflict, read the same both ways.
#[test]
fn set_reads_are_in_string_order_with_long_shared_prefixes() {
    let long = "0123456789abcdef";
    let elements: Vec<String> = vec![
        String::new(),
        "\0".into(),
        "\0\0".into(),
        "a".into(),
        "a\0".into(),
        "a\0b".into(),
        "ab".into(),
        long.into(),
        format!("{long}\0"),
        format!("{long}0"),
        format!("{long}00"),
        format!("{long}1"),
        format!("{long}\u{ff}"),
        "\u{ff}".into(),
        "é".into(),
    ];
    let mut ks = Keyspace::new();
    let mut other = Keyspace::new();
    // Enough other elements that the set, written here, keeps its order by value.
    let fillers: Vec<String> = (0..32).map(|i| format!("filler-{i}")).collect();
    for f in &fillers {
        let _ = ks.set_insert(rid(2), "s", f.clone()).unwrap();
    }
    let mut x = 7u64;
    for round in 0..3 {
        for i in 0..elements.len() {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let e = elements[(x >> 33) as usize % elements.len()].clone();
            // Two writers on each replica, distinct ids (no shared dots).
            let (target, first) = if (i + round) % 2 == 0 {
                (&mut ks, 0)
            } else {
                (&mut other, 3)
            };
            let _ = target.set_insert(rid(first + i % 2), "s", e).unwrap();
        }
    }
    for e in &elements {
        let _ = ks.set_insert(rid(2), "s", e.clone()).unwrap();
    }
    ks.merge(&other);
    let mut want = elements.clone();
    want.extend(fillers);
    want.sort();
    assert_eq!(ks.get("s"), Some(Value::OrSet(want.clone())));
    ks.check_invariants().unwrap();
    let decoded: Keyspace = decode(&encode(&ks)).unwrap();
    assert_eq!(decoded.get("s"), ks.get("s"));

    let mut register = Keyspace::new();
    let _ = register.mv_set(rid(9), "s", "z".into()).unwrap();
    ks.merge(&register);
    let conflict = Value::Conflict(vec![
        Value::OrSet(want),
        Value::MvRegister(vec!["z".into()]),
    ]);
    assert_eq!(ks.get("s"), Some(conflict));
    ks.check_invariants().unwrap();
    let decoded: Keyspace = decode(&encode(&ks)).unwrap();
    assert_eq!(decoded.get("s"), ks.get("s"));
}

// ---------------------------------------------------------------------------------
// MvRegister: exactly the concurrent maximal writes.

/// Writes and full-state syncs on three replicas; each write's causal past is tracked
/// as the set of write ids its writer had seen.
#[derive(Clone, Debug)]
struct MvHistory {
    steps: Vec<(usize, usize, bool)>,
}

impl Arbitrary for MvHistory {
    fn arbitrary(g: &mut Gen) -> Self {
        let steps = (0..below(g, 30))
            .map(|_| (below(g, 3) as usize, below(g, 3) as usize, chance(g, 1, 2)))
            .collect();
        MvHistory { steps }
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(
            support::shrink_list(&self.steps)
                .into_iter()
                .map(|steps| MvHistory { steps }),
        )
    }
}

fn prop_mv_maximal(h: MvHistory) -> TestResult {
    verdict((|| {
        let mut regs: Vec<MvRegister<String>> = vec![MvRegister::new(); 3];
        let mut seen: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); 3];
        let mut past: Vec<BTreeSet<usize>> = Vec::new();
        for (at, from, is_write) in &h.steps {
            if *is_write {
                let id = past.len();
                past.push(seen[*at].clone());
                seen[*at].insert(id);
                let _ = regs[*at].set(rid(*at), format!("w{id}"));
            } else {
                let other = regs[*from].clone();
                regs[*at].merge(&other);
                let s = seen[*from].clone();
                seen[*at].extend(s);
            }
            for i in 0..3 {
                let maximal: Vec<String> = seen[i]
                    .iter()
                    .filter(|w| !seen[i].iter().any(|v| past[*v].contains(w)))
                    .map(|w| format!("w{w}"))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let got: Vec<String> = regs[i].values().into_iter().cloned().collect();
                ensure_eq(&got, &maximal, &format!("replica {i}: the maximal writes"))?;
            }
        }
        Ok(())
    })())
}

#[test]
fn mv_register_keeps_exactly_the_concurrent_maximal_writes() {
    qc().quickcheck(prop_mv_maximal as fn(_) -> TestResult);
}

#[test]
fn mv_register_example() {
    let (a, b) = (rid(0), rid(1));
    let mut x = MvRegister::new();
    let mut y = MvRegister::new();
    let d1 = x.set(a, "red".to_string());
    let d2 = y.set(b, "blue".to_string());
    x.merge(&d2);
    y.merge(&d1);
    assert_eq!(x.values(), [&"blue".to_string(), &"red".to_string()]);
    assert!(x.is_conflicted());
    let d3 = y.set(b, "purple".to_string());
    x.merge(&d3);
    assert_eq!(x.values(), [&"purple".to_string()]);
    assert_eq!(x, y);
}

/// The keyspace generators reach what the properties are meant to cover: type
/// conflicts, concurrent register writes, removed dots, causal gaps, every type.
#[test]
fn keyspace_generators_reach_interesting_states() {
    let mut g = Gen::new(100);
    let (mut conflicts, mut concurrent, mut removed, mut gaps) = (0, 0, 0, 0);
    let mut types = BTreeSet::new();
    for _ in 0..300 {
        let run = support::History::<Keyspace>::arbitrary(&mut g)
            .replay()
            .unwrap();
        for s in &run.states {
            for (_, v) in s.prefix("") {
                conflicts += usize::from(matches!(v, Value::Conflict(_)));
                concurrent += usize::from(matches!(&v, Value::MvRegister(vs) if vs.len() > 1));
            }
            for k in s.keys() {
                types.extend(s.value_types(k));
            }
            removed += usize::from(s.context().dot_count() > s.live_dot_count() as u128);
            gaps += usize::from(!s.context().is_compact());
        }
    }
    println!("conflicts {conflicts}, concurrent {concurrent}, removed {removed}, gaps {gaps}");
    for (what, n) in [
        ("type conflicts", conflicts),
        ("concurrent register writes", concurrent),
        ("removed dots", removed),
        ("causal gaps", gaps),
    ] {
        assert!(n >= 10, "generators rarely reach {what}: {n}");
    }
    assert_eq!(types.len(), 5, "every value type: {types:?}");
}

/// The incremental state hash: equal states have equal hashes whatever the order
/// they were reached in, and it follows every change.
#[test]
fn state_hash_follows_the_state() {
    let (a, b) = (rid(0), rid(1));
    let mut x = Keyspace::new();
    let mut y = Keyspace::new();
    assert_eq!(x.state_hash(), y.state_hash());
    let d1 = x.set_insert(a, "cart", "apple".into()).unwrap();
    let d2 = y.increment(b, "likes", 2).unwrap();
    let h1 = x.state_hash();
    let d3 = x.delete("cart").unwrap();
    assert_ne!(x.state_hash(), h1);
    y.merge(&d3);
    y.merge(&d1);
    x.merge(&d2);
    assert_eq!(x, y);
    assert_eq!(x.state_hash(), y.state_hash());
    x.check_invariants().unwrap();
    y.check_invariants().unwrap();
    // Decoding rebuilds the same hash.
    let back: Keyspace = crdt_core::codec::decode(&crdt_core::codec::encode(&x)).unwrap();
    assert_eq!(back.state_hash(), x.state_hash());
}
