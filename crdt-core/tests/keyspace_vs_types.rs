//! Without deletes, a keyspace key behaves exactly like the standalone type it holds:
//! random histories of one key's writes and full-state merges on three replicas read
//! the same through `Keyspace::get` as through `GCounter`, `PnCounter`,
//! `OrSet<String>`, `LwwRegister<String>` and `MvRegister<String>`.
//!
//! Large sets too: a set key of dozens of elements keeps its dots in value order (a
//! read walks them instead of sorting), through inserts, removes, merges and decoding.
//!
//! Cases per property: `QUICKCHECK_TESTS`, or 1000.

mod support;

use crdt_core::{
    Crdt, GCounter, Keyspace, LwwRegister, MvRegister, OrSet, PnCounter, ReplicaId, Value,
};
use quickcheck::TestResult;
use support::{ensure_eq, qc, rid, verdict};

/// The standalone types side by side.
#[derive(Clone, Default)]
struct Standalone {
    g: GCounter,
    pn: PnCounter,
    set: OrSet<String>,
    lww: LwwRegister<String>,
    mv: MvRegister<String>,
}

impl Standalone {
    fn merge(&mut self, o: &Self) {
        self.g.merge(&o.g);
        self.pn.merge(&o.pn);
        self.set.merge(&o.set);
        self.lww.merge(&o.lww);
        self.mv.merge(&o.mv);
    }

    /// The value of the type `which` as a keyspace read shows it (`None`: absent).
    fn read(&self, which: u8) -> Option<Value> {
        match which {
            0 => (self.g.replica_count() > 0).then(|| Value::GCounter(self.g.value())),
            1 => (self.pn.replica_count() > 0).then(|| Value::PnCounter(self.pn.value())),
            2 => (!self.set.is_empty()).then(|| Value::OrSet(self.set.iter().cloned().collect())),
            3 => self.lww.get().map(|v| Value::LwwRegister(v.clone())),
            _ => (!self.mv.is_empty())
                .then(|| Value::MvRegister(self.mv.values().into_iter().cloned().collect())),
        }
    }
}

/// One write of type `which` with argument `arg`, on both sides.
fn write(ks: &mut Keyspace, st: &mut Standalone, r: ReplicaId, which: u8, arg: u8) {
    let e = format!("e{}", arg % 3);
    let n = u64::from(arg % 5) + 1; // never 0: a zero increment creates no entry standalone
    match which {
        0 => {
            let _ = ks.increment(r, "k", n).unwrap();
            let _ = st.g.increment(r, n);
        }
        1 => {
            if arg % 2 == 0 {
                let _ = ks.pn_increment(r, "k", n).unwrap();
                let _ = st.pn.increment(r, n);
            } else {
                let _ = ks.pn_decrement(r, "k", n).unwrap();
                let _ = st.pn.decrement(r, n);
            }
        }
        2 => {
            if arg % 3 == 0 {
                let _ = ks.set_remove(r, "k", &e).unwrap();
                let _ = st.set.remove(&e);
            } else {
                let _ = ks.set_insert(r, "k", e.clone()).unwrap();
                let _ = st.set.insert(r, e);
            }
        }
        3 => {
            // Small, skewed clocks: ties and clocks behind the last write.
            let now = u64::from(arg % 4);
            let _ = ks.lww_set(r, "k", e.clone(), now).unwrap();
            let _ = st.lww.set(r, e, now);
        }
        _ => {
            let _ = ks.mv_set(r, "k", e.clone()).unwrap();
            let _ = st.mv.set(r, e);
        }
    }
}

fn prop(which: u8, steps: Vec<(u8, u8, u8)>) -> TestResult {
    let which = which % 5;
    verdict((|| {
        let mut ks = vec![Keyspace::new(); 3];
        let mut st = vec![Standalone::default(); 3];
        for (i, &(at, kind, arg)) in steps.iter().enumerate() {
            let r = usize::from(at % 3);
            if kind % 3 == 0 {
                let from = usize::from(arg % 3);
                let (k, s) = (ks[from].clone(), st[from].clone());
                ks[r].merge(&k);
                st[r].merge(&s);
            } else {
                write(&mut ks[r], &mut st[r], rid(r), which, arg);
            }
            for j in 0..3 {
                ensure_eq(
                    &ks[j].get("k"),
                    &st[j].read(which),
                    &format!("step {i}: replica {j}, type {which}"),
                )?;
            }
        }
        Ok(())
    })())
}

#[test]
fn a_key_behaves_like_its_standalone_type() {
    qc().quickcheck(prop as fn(_, _) -> TestResult);
}

/// Histories of one set key long enough to hold dozens of elements (the entry keeps
/// its dots in value order from 32 on): 300 steps from `seed` of inserts and removes
/// of 64 elements on three replicas, merges, and replicas replaced by their decoded
/// encoding (an entry built by the decoder keeps no order until its next insert).
fn prop_large_set(seed: u64) -> TestResult {
    let mut x = seed | 1;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    verdict((|| {
        let mut ks = vec![Keyspace::new(); 3];
        let mut st = vec![OrSet::<String>::default(); 3];
        for i in 0..300 {
            let r = usize::try_from(next(3)).unwrap_or(0);
            match next(16) {
                0 => {
                    let from = usize::try_from(next(3)).unwrap_or(0);
                    let (k, s) = (ks[from].clone(), st[from].clone());
                    ks[r].merge(&k);
                    st[r].merge(&s);
                }
                1 => {
                    let bytes = crdt_core::codec::encode(&ks[r]);
                    ks[r] = crdt_core::codec::decode(&bytes).map_err(|e| e.to_string())?;
                }
                2..=4 => {
                    let e = format!("element-{}", next(64));
                    let _ = ks[r].set_remove(rid(r), "k", &e).unwrap();
                    let _ = st[r].remove(&e);
                }
                _ => {
                    let e = format!("element-{}", next(64));
                    let _ = ks[r].set_insert(rid(r), "k", e.clone()).unwrap();
                    let _ = st[r].insert(rid(r), e);
                }
            }
            for j in 0..3 {
                if i % 25 == 24 {
                    ks[j]
                        .check_invariants()
                        .map_err(|e| format!("step {i}: {e}"))?;
                }
                let want =
                    (!st[j].is_empty()).then(|| Value::OrSet(st[j].iter().cloned().collect()));
                ensure_eq(&ks[j].get("k"), &want, &format!("step {i}: replica {j}"))?;
            }
        }
        Ok(())
    })())
}

#[test]
fn a_large_set_key_behaves_like_its_standalone_orset() {
    qc().quickcheck(prop_large_set as fn(_) -> TestResult);
}
