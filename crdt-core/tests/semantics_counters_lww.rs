//! Counters and the LWW register against reference models, plus their documented
//! limits (saturation, clamping, clock exhaustion) and scenarios (clock skew,
//! tie-breaks, discarded-write reports).

mod support;

use crdt_core::{
    CoreError, Crdt, Dot, GCounter, LwwRegister, PnCounter, ReplicaId, Timestamp, VersionVector,
};
use quickcheck::{Arbitrary, Gen, TestResult};
use std::collections::BTreeSet;
use support::{below, chance, ensure, ensure_eq, qc, rid, shrink_list, verdict};

fn merged<C: Crdt + Clone>(a: &C, b: &C) -> C {
    let mut out = a.clone();
    out.merge(b);
    out
}

// ================================================================ counters

#[derive(Clone, Debug)]
enum CStep {
    Inc { at: usize, n: u64 },
    Dec { at: usize, n: u64 },
    SyncState { from: usize, to: usize },
    SyncDelta { pick: usize, to: usize },
}

#[derive(Clone, Debug)]
struct CounterHistory(Vec<CStep>);

impl Arbitrary for CounterHistory {
    fn arbitrary(g: &mut Gen) -> Self {
        let r = |g: &mut Gen| below(g, 6) as usize;
        CounterHistory(
            (0..below(g, 50))
                .map(|_| match below(g, 10) {
                    0..=3 => CStep::Inc {
                        at: r(g),
                        n: below(g, 1000),
                    },
                    4..=6 => CStep::Dec {
                        at: r(g),
                        n: below(g, 1000),
                    },
                    7 => CStep::SyncState {
                        from: r(g),
                        to: r(g),
                    },
                    _ => CStep::SyncDelta {
                        pick: usize::arbitrary(g),
                        to: r(g),
                    },
                })
                .collect(),
        )
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(shrink_list(&self.0).into_iter().map(CounterHistory))
    }
}

/// GCounter (increments only) and PnCounter against per-origin totals in `i128`.
fn prop_counters_sum(h: CounterHistory) -> TestResult {
    verdict((|| {
        let mut gs = vec![GCounter::new(); 6];
        let mut pns = vec![PnCounter::new(); 6];
        // known[replica][origin] = (increments, decrements) the replica has seen.
        let mut known = vec![[(0u64, 0u64); 6]; 6];
        let mut deltas: Vec<(GCounter, PnCounter, usize, (u64, u64))> = Vec::new();
        for step in &h.0 {
            let to = match *step {
                CStep::Inc { at, n } | CStep::Dec { at, n } => {
                    let up = matches!(step, CStep::Inc { .. });
                    let dg = if up {
                        gs[at].increment(rid(at), n)
                    } else {
                        GCounter::new()
                    };
                    let dp = if up {
                        pns[at].increment(rid(at), n)
                    } else {
                        pns[at].decrement(rid(at), n)
                    };
                    let k = &mut known[at][at];
                    if up {
                        k.0 += n
                    } else {
                        k.1 += n
                    }
                    let kd = if up { (k.0, 0) } else { (0, k.1) };
                    deltas.push((dg, dp, at, kd));
                    at
                }
                CStep::SyncState { from, to } => {
                    let (g, p) = (gs[from].clone(), pns[from].clone());
                    gs[to].merge(&g);
                    pns[to].merge(&p);
                    let theirs = known[from];
                    for (k, t) in known[to].iter_mut().zip(theirs) {
                        *k = (k.0.max(t.0), k.1.max(t.1));
                    }
                    to
                }
                CStep::SyncDelta { pick, to } if !deltas.is_empty() => {
                    let (g, p, o, (i, d)) = deltas[pick % deltas.len()].clone();
                    gs[to].merge(&g);
                    pns[to].merge(&p);
                    let k = &mut known[to][o];
                    *k = (k.0.max(i), k.1.max(d));
                    to
                }
                CStep::SyncDelta { .. } => continue,
            };
            let inc: i128 = known[to].iter().map(|k| i128::from(k.0)).sum();
            let dec: i128 = known[to].iter().map(|k| i128::from(k.1)).sum();
            ensure_eq(
                &i128::from(gs[to].value()),
                &inc,
                "GCounter value = Σ increments seen",
            )?;
            ensure_eq(&gs[to].value_u128(), &(inc as u128), "value_u128")?;
            ensure_eq(
                &pns[to].value_i128(),
                &(inc - dec),
                "PnCounter value = Σinc - Σdec",
            )?;
            ensure_eq(
                &i128::from(pns[to].value()),
                &(inc - dec),
                "value (no clamping)",
            )?;
            for (o, k) in known[to].iter().enumerate() {
                ensure_eq(&pns[to].totals(rid(o)), k, "totals")?;
                ensure_eq(&gs[to].get(rid(o)), &k.0, "get")?;
            }
        }
        let g = gs.iter().fold(GCounter::new(), |a, s| merged(&a, s));
        let p = pns.iter().fold(PnCounter::new(), |a, s| merged(&a, s));
        let (inc, dec) = h.0.iter().fold((0i128, 0i128), |(i, d), s| match *s {
            CStep::Inc { n, .. } => (i + i128::from(n), d),
            CStep::Dec { n, .. } => (i, d + i128::from(n)),
            _ => (i, d),
        });
        ensure_eq(&i128::from(g.value()), &inc, "all synced: GCounter")?;
        ensure_eq(&p.value_i128(), &(inc - dec), "all synced: PnCounter")
    })())
}

#[test]
fn counters_equal_sums_of_operations() {
    qc().quickcheck(prop_counters_sum as fn(_) -> TestResult);
}

#[test]
fn gcounter_saturates_and_try_increment_refuses() {
    let (a, b) = (rid(0), rid(1));
    let mut c = GCounter::new();
    let d = c.increment(a, u64::MAX - 1);
    assert_eq!(d.get(a), u64::MAX - 1);
    let d = c.increment(a, 5);
    assert_eq!((c.get(a), d.get(a)), (u64::MAX, u64::MAX));
    let before = c.clone();
    assert_eq!(
        c.try_increment(a, 1),
        Err(CoreError::CounterOverflow { replica: a })
    );
    assert_eq!(c, before);
    assert_eq!(c.try_increment(a, 0).map(|d| d.get(a)), Ok(u64::MAX));
    let _ = c.increment(b, u64::MAX);
    assert_eq!(c.value(), u64::MAX);
    assert_eq!(c.value_u128(), 2 * u128::from(u64::MAX));
    assert_eq!(
        c.try_increment(b, u64::MAX),
        Err(CoreError::CounterOverflow { replica: b })
    );
    let empty = GCounter::new().increment(a, 0);
    assert_eq!((empty.replica_count(), empty.value()), (0, 0));
}

#[test]
fn pncounter_saturates_clamps_and_try_refuses() {
    let (a, b) = (rid(0), rid(1));
    let mut c = PnCounter::new();
    let _ = c.increment(a, u64::MAX);
    let _ = c.increment(a, 9);
    assert_eq!(c.totals(a), (u64::MAX, 0));
    assert_eq!(c.value(), i64::MAX);
    assert_eq!(c.value_i128(), i128::from(u64::MAX));
    let before = c.clone();
    assert_eq!(
        c.try_increment(a, 1),
        Err(CoreError::CounterOverflow { replica: a })
    );
    assert_eq!(c, before);
    let _ = c.decrement(b, u64::MAX);
    assert_eq!((c.value(), c.value_i128()), (0, 0));
    assert_eq!(
        c.try_decrement(b, 1),
        Err(CoreError::CounterOverflow { replica: b })
    );
    let _ = c.decrement(a, u64::MAX);
    assert_eq!(c.value(), i64::MIN);
    assert_eq!(c.value_i128(), -i128::from(u64::MAX));
    // Exactly at the i64 bounds: no clamping.
    let mut e = PnCounter::new();
    let _ = e.decrement(a, 1 << 63);
    assert_eq!((e.value(), e.value_i128()), (i64::MIN, -(1i128 << 63)));
    let _ = e.increment(b, u64::MAX);
    assert_eq!(e.value(), i64::MAX);
}

// ================================================================ LWW register

#[derive(Clone, Debug)]
enum RStep {
    Write { at: usize, v: u8, now: u64 },
    SyncState { from: usize, to: usize },
    SyncDelta { pick: usize, to: usize },
}

#[derive(Clone, Debug)]
struct RegHistory(Vec<RStep>);

impl Arbitrary for RegHistory {
    fn arbitrary(g: &mut Gen) -> Self {
        let r = |g: &mut Gen| below(g, 3) as usize;
        RegHistory(
            (0..below(g, 40))
                .map(|_| match below(g, 10) {
                    0..=3 => RStep::Write {
                        at: r(g),
                        v: below(g, 4) as u8,
                        now: if chance(g, 1, 10) {
                            1000 + below(g, 3)
                        } else {
                            below(g, 6)
                        },
                    },
                    4..=6 => RStep::SyncState {
                        from: r(g),
                        to: r(g),
                    },
                    _ => RStep::SyncDelta {
                        pick: usize::arbitrary(g),
                        to: r(g),
                    },
                })
                .collect(),
        )
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        Box::new(shrink_list(&self.0).into_iter().map(RegHistory))
    }
}

struct W {
    stamp: Timestamp,
    writer: ReplicaId,
    value: String,
    /// The writes its author had seen (itself included).
    seen: BTreeSet<usize>,
}

/// The register against a model of which writes each replica knows: the current
/// value is the known write with the largest (timestamp, replica); a new write is
/// stamped after every write its replica knows (whatever its wall clock says); and
/// `merge_report` reports exactly the concurrent writes that lose, once per replica.
fn prop_lww_model(h: RegHistory) -> TestResult {
    verdict((|| {
        let mut regs = vec![LwwRegister::<String>::new(); 3];
        let mut known = vec![BTreeSet::<usize>::new(); 3];
        let mut reported = vec![BTreeSet::<usize>::new(); 3];
        let mut writes: Vec<W> = Vec::new();
        let mut deltas: Vec<(LwwRegister<String>, BTreeSet<usize>)> = Vec::new();
        let top = |ws: &[W], k: &BTreeSet<usize>| {
            k.iter()
                .copied()
                .max_by_key(|&i| (ws[i].stamp, ws[i].writer))
        };
        for step in &h.0 {
            let (to, other, k) = match *step {
                RStep::Write { at, v, now } => {
                    let prev = top(&writes, &known[at]).map(|i| writes[i].stamp);
                    let d = regs[at].set(rid(at), v.to_string(), now);
                    let stamp = regs[at].timestamp().unwrap();
                    let want = prev.map_or(Some(Timestamp::new(now, 0)), |p| p.tick(now));
                    ensure_eq(&Some(stamp), &want, "HLC stamp of a new write")?;
                    ensure(prev.map_or(true, |p| stamp > p), || {
                        "a write orders after all it saw".into()
                    })?;
                    known[at].insert(writes.len());
                    let w = W {
                        stamp,
                        writer: rid(at),
                        value: v.to_string(),
                        seen: known[at].clone(),
                    };
                    writes.push(w);
                    ensure_eq(&d, &regs[at], "the delta is the new state")?;
                    deltas.push((d, known[at].clone()));
                    ensure_eq(&regs[at].get(), &Some(&v.to_string()), "own write visible")?;
                    continue;
                }
                RStep::SyncState { from, to } => (to, regs[from].clone(), known[from].clone()),
                RStep::SyncDelta { pick, to } if !deltas.is_empty() => {
                    let (d, k) = deltas[pick % deltas.len()].clone();
                    (to, d, k)
                }
                RStep::SyncDelta { .. } => continue,
            };
            let (mine, theirs) = (top(&writes, &known[to]), top(&writes, &k));
            let concurrent =
                |x: usize, y: usize| !writes[x].seen.contains(&y) && !writes[y].seen.contains(&x);
            let expected = match (mine, theirs) {
                (Some(m), Some(t)) if m != t && concurrent(m, t) => {
                    let loser = if (writes[m].stamp, writes[m].writer)
                        > (writes[t].stamp, writes[t].writer)
                    {
                        t
                    } else {
                        m
                    };
                    (loser == m || !known[to].contains(&t)).then_some((loser, loser == m))
                }
                _ => None,
            };
            let old_value = regs[to].get().cloned();
            let report = regs[to].merge_report(&other);
            known[to].extend(k);
            let winner = top(&writes, &known[to]);
            regs[to].check_invariants().map_err(|e| e.to_string())?;
            ensure_eq(
                &regs[to].get(),
                &winner.map(|i| &writes[i].value),
                "value = latest known write",
            )?;
            ensure_eq(
                &regs[to].timestamp(),
                &winner.map(|i| writes[i].stamp),
                "timestamp",
            )?;
            ensure_eq(
                &regs[to].writer(),
                &winner.map(|i| writes[i].writer),
                "writer",
            )?;
            ensure(
                report.value_changed || old_value.as_ref() == regs[to].get(),
                || "value_changed".into(),
            )?;
            ensure(!report.value_changed || mine != winner, || {
                "value_changed without a new winner".into()
            })?;
            let got = report.discarded.map(|d| {
                let i = writes
                    .iter()
                    .position(|w| (w.stamp, w.writer) == (d.timestamp, d.replica));
                (i, d.value, d.was_local)
            });
            let want = expected.map(|(i, local)| (Some(i), writes[i].value.clone(), local));
            ensure_eq(
                &got,
                &want,
                &format!("merge_report.discarded at replica {to}"),
            )?;
            if let Some((i, _)) = expected {
                ensure(reported[to].insert(i), || {
                    format!("write {i} reported twice")
                })?;
            }
        }
        let all = regs.iter().fold(LwwRegister::new(), |a, r| merged(&a, r));
        let mut every = BTreeSet::new();
        known.iter().for_each(|k| every.extend(k));
        ensure_eq(
            &all.timestamp(),
            &top(&writes, &every).map(|i| writes[i].stamp),
            "global winner",
        )?;
        for r in &mut regs {
            let again = r.clone();
            ensure(r.merge_report(&again).discarded.is_none(), || {
                "self-merge reports".into()
            })?;
        }
        Ok(())
    })())
}

#[test]
fn lww_register_matches_model() {
    qc().quickcheck(prop_lww_model as fn(_) -> TestResult);
}

#[test]
fn lww_causally_later_write_wins_despite_clock_skew() {
    let (a, b) = (rid(0), rid(1));
    let mut x = LwwRegister::new();
    let first = x.set(a, "old", 1_000_000);
    let mut y = LwwRegister::new();
    y.merge(&first);
    let later = y.set(b, "new", 5);
    assert_eq!(y.timestamp(), Some(Timestamp::new(1_000_000, 1)));
    for (s, d) in [
        (first.clone(), later.clone()),
        (later.clone(), first.clone()),
    ] {
        let mut r = s;
        let rep = r.merge_report(&d);
        assert_eq!(r.get(), Some(&"new"));
        assert_eq!(rep.discarded, None, "a causal overwrite is not a discard");
    }
    // Even when the later writer's id is smaller.
    let mut z = y.clone();
    let again = z.set(a, "newer", 0);
    assert_eq!(merged(&y, &again).get(), Some(&"newer"));
}

#[test]
fn lww_concurrent_writes_tie_break_by_timestamp_then_replica() {
    // Values ordered against the ids, so only the id can pick the winner.
    let (a, b, c) = (rid(0), rid(1), rid(2));
    let mut ra = LwwRegister::new();
    let mut rb = LwwRegister::new();
    let mut rc = LwwRegister::new();
    let (da, db, dc) = (ra.set(a, "z", 7), rb.set(b, "y", 7), rc.set(c, "zzz", 6));
    for order in [
        [&da, &db, &dc],
        [&dc, &db, &da],
        [&db, &dc, &da],
        [&dc, &da, &db],
    ] {
        let r = order
            .iter()
            .fold(LwwRegister::new(), |acc, d| merged(&acc, *d));
        assert_eq!((r.get(), r.writer()), (Some(&"y"), Some(b)));
    }
    let mut x = ra.clone();
    let rep = x.merge_report(&db);
    assert!(rep.value_changed);
    let lost = rep.discarded.expect("concurrent loss is reported");
    assert_eq!((lost.value, lost.replica, lost.was_local), ("z", a, true));
    assert_eq!(lost.timestamp, Timestamp::new(7, 0));
    // The loser arriving later is reported on arrival, once.
    let mut y = rb.clone();
    let rep = y.merge_report(&da);
    assert_eq!(
        rep.discarded.map(|d| (d.value, d.was_local)),
        Some(("z", false))
    );
    assert!(!rep.value_changed);
    assert_eq!(y.merge_report(&da).discarded, None);
    assert_eq!(y.merge_report(&ra).discarded, None);
    assert_eq!(y.merge_report(&x).discarded, None);
}

/// A peer's register holding one write, crafted through the codec: states only
/// forged input reaches (a clock or a dot counter at its maximum).
fn crafted(writer: ReplicaId, counter: u64, stamp: Timestamp) -> LwwRegister<String> {
    use crdt_core::codec::{self, WireFormat, Writer};
    let seen: VersionVector = [(writer, counter)].into_iter().collect();
    let mut w = Writer::new();
    w.raw(&codec::MAGIC);
    w.u8(codec::FORMAT_VERSION);
    w.u8(<LwwRegister<String> as WireFormat>::TYPE_TAG);
    seen.encode_body(&mut w).unwrap();
    w.u8(1);
    w.postcard("peer").unwrap();
    w.varint(stamp.millis());
    w.varint(u64::from(stamp.logical()));
    w.dot(Dot::new(writer, counter));
    seen.encode_body(&mut w).unwrap();
    let peer: LwwRegister<String> = codec::decode(w.as_bytes()).unwrap();
    assert_eq!(peer.timestamp(), Some(stamp));
    peer
}

#[test]
fn lww_clock_exhausted_leaves_register_unchanged() {
    let mut r = LwwRegister::new();
    r.merge(&crafted(rid(1), 1, Timestamp::MAX));
    let before = r.clone();
    let err = r.try_set(rid(0), "mine".to_string(), 5);
    assert_eq!(err, Err(CoreError::ClockExhausted));
    assert_eq!(r, before);
    let d = r.set(rid(0), "mine".to_string(), u64::MAX);
    assert_eq!((d, &r), (LwwRegister::new(), &before));
    // One tick short of the end still works, and a full logical counter carries.
    let mut s = LwwRegister::new();
    let _ = s.set(rid(0), "x".to_string(), u64::MAX);
    let _ = s.set(rid(0), "y".to_string(), 0);
    assert_eq!(s.timestamp(), Some(Timestamp::new(u64::MAX, 1)));
    let mut t = crafted(rid(1), 1, Timestamp::new(5, u32::MAX));
    let _ = t.set(rid(0), "z".to_string(), 3);
    assert_eq!(t.timestamp(), Some(Timestamp::new(6, 0)));
}

#[test]
fn lww_exhausted_replica_id_is_refused() {
    let mut r = crafted(rid(1), u64::MAX, Timestamp::new(1, 0));
    let before = r.clone();
    let err = r.try_set(rid(1), "again".to_string(), 2);
    assert_eq!(err, Err(CoreError::DotsExhausted { replica: rid(1) }));
    assert_eq!(r, before);
    assert_eq!(r.set(rid(1), "again".to_string(), 2), LwwRegister::new());
    assert_eq!(r, before);
    let _ = r.set(rid(0), "other id".to_string(), 2);
    assert_eq!(r.get().map(String::as_str), Some("other id"));
}

/// Each refusal's message is one line that says what happened and what to do; the
/// overflow refused by `try_increment` says the change was refused (the counter is not
/// saturated on that path).
#[test]
fn core_error_messages_are_one_accurate_line() {
    let a = ReplicaId::new(7);
    let mut c = GCounter::new();
    let _ = c.increment(a, u64::MAX);
    let err = c.try_increment(a, 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "counter of replica 7 would exceed u64::MAX, so the change was refused and the \
         counter is unchanged: spread larger totals over several counters"
    );
    assert_eq!(
        CoreError::DotsExhausted { replica: a }.to_string(),
        "replica id 7 has used every dot counter up to u64::MAX (only forged or corrupt \
         input gets there): write under a fresh replica id"
    );
    assert_eq!(
        CoreError::ClockExhausted.to_string(),
        "the register's timestamp is at its maximum, so no later write can be ordered: \
         replace the register and stop accepting writes from the peer whose clock ran ahead"
    );
    for e in [
        err,
        CoreError::DotsExhausted { replica: a },
        CoreError::ClockExhausted,
    ] {
        let m = e.to_string();
        assert!(!m.contains('\n') && !m.contains("saturated"), "{m}");
    }
}
