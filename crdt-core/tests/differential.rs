//! Differential tests against the `crdts` crate on histories where the semantics
//! coincide: a `Keyspace` of OR-Sets against `crdts::Map<String, Orswot<String, u64>,
//! u64>` (concurrent element adds and removes, full-state merges in any pattern, key
//! deletes), and `MvRegister` against `crdts::MVReg`.
//!
//! Where they differ, the histories avoid it:
//! - a `crdts::Map` keeps a key whose set was emptied by removes; in a `Keyspace` an
//!   empty set is the absent key (normalized: empty sets are dropped from the view);
//! - `crdts::Map` tracks a key's history with a version vector, so a key delete
//!   concurrent with an update *by an actor whose earlier adds the delete observed*
//!   keeps those earlier adds (the vector cannot tell them from the update): e.g. r1
//!   adds x, r0 learns it and deletes the key, r1 concurrently adds y: `crdts` keeps
//!   {x, y}, the keyspace keeps {y} (only the unobserved add survives). So key
//!   deletes here happen with every replica in sync, before and after.
//!
//! Cases per property: `QUICKCHECK_TESTS`, or 1000.

mod support;

use crdt_core::{Crdt, Keyspace, MvRegister, Value};
use crdts::{CmRDT, CvRDT, MVReg, Map, Orswot};
use quickcheck::TestResult;
use std::collections::{BTreeMap, BTreeSet};
use support::{ensure_eq, qc, rid, verdict};

type TheirMap = Map<String, Orswot<String, u64>, u64>;

const KEYS: [&str; 3] = ["a", "b", "c/1"];
const ELEMENTS: [&str; 3] = ["x", "y", "z"];

/// `(replica, kind, argument)`: add, remove an element, delete a key, or merge
/// another replica's full state.
type Step = (u8, u8, u8);

fn their_add(m: &mut TheirMap, actor: u64, key: &str, e: &str) {
    let ctx = m.read_ctx().derive_add_ctx(actor);
    let op = m.update(key, ctx, |set, c| set.add(e.to_string(), c));
    m.apply(op);
}

fn their_remove(m: &mut TheirMap, actor: u64, key: &str, e: &str) {
    let read = m.get(&key.to_string());
    let Some(set) = read.val.clone() else {
        return;
    };
    let ctx = m.read_ctx().derive_add_ctx(actor);
    let rm = set.contains(&e.to_string()).derive_rm_ctx();
    let op = m.update(key, ctx, |s, _| s.rm(e.to_string(), rm));
    m.apply(op);
}

fn their_delete(m: &mut TheirMap, key: &str) {
    let rm = m.get(&key.to_string()).derive_rm_ctx();
    let op = m.rm(key, rm);
    m.apply(op);
}

/// Keys with non-empty sets.
fn their_view(m: &TheirMap) -> BTreeMap<String, BTreeSet<String>> {
    m.iter()
        .map(|e| {
            let (k, v) = e.val;
            (k.clone(), v.read().val.into_iter().collect::<BTreeSet<_>>())
        })
        .filter(|(_, s)| !s.is_empty())
        .collect()
}

fn our_view(ks: &Keyspace) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    ks.prefix("")
        .map(|(k, v)| match v {
            Value::OrSet(s) => Ok((k.to_string(), s.into_iter().collect())),
            other => Err(format!("key {k} holds {other:?}")),
        })
        .collect()
}

/// Every replica merges every other's state.
fn sync_all(ours: &mut [Keyspace], theirs: &mut [TheirMap]) {
    for _ in 0..2 {
        for i in 0..ours.len() {
            for j in 0..ours.len() {
                let o = ours[j].clone();
                ours[i].merge(&o);
                let t = theirs[j].clone();
                theirs[i].merge(t);
            }
        }
    }
}

fn prop_keyspace_vs_crdts_map(steps: Vec<Step>) -> TestResult {
    verdict((|| {
        let mut ours = vec![Keyspace::new(); 3];
        let mut theirs: Vec<TheirMap> = vec![Map::new(), Map::new(), Map::new()];
        for (i, &(at, kind, arg)) in steps.iter().enumerate() {
            let r = usize::from(at % 3);
            let key = KEYS[usize::from(arg % 3)];
            let e = ELEMENTS[usize::from(arg / 3 % 3)];
            match kind % 8 {
                0..=2 => {
                    let _ = ours[r].set_insert(rid(r), key, e.to_string()).unwrap();
                    their_add(&mut theirs[r], r as u64 + 1, key, e);
                }
                3 => {
                    let _ = ours[r].set_remove(rid(r), key, e).unwrap();
                    their_remove(&mut theirs[r], r as u64 + 1, key, e);
                }
                4 => {
                    // A delete in a quiet moment (see the module docs).
                    sync_all(&mut ours, &mut theirs);
                    let _ = ours[r].delete(key).unwrap();
                    their_delete(&mut theirs[r], key);
                    sync_all(&mut ours, &mut theirs);
                }
                _ => {
                    let from = usize::from(arg % 3);
                    let o = ours[from].clone();
                    ours[r].merge(&o);
                    let t = theirs[from].clone();
                    theirs[r].merge(t);
                }
            }
            for j in 0..3 {
                ensure_eq(
                    &our_view(&ours[j])?,
                    &their_view(&theirs[j]),
                    &format!("step {i}: replica {j}"),
                )?;
            }
        }
        Ok(())
    })())
}

#[test]
fn keyspace_of_sets_matches_crdts_map_of_orswots() {
    qc().quickcheck(prop_keyspace_vs_crdts_map as fn(_) -> TestResult);
}

fn prop_mv_vs_crdts_mvreg(steps: Vec<Step>) -> TestResult {
    verdict((|| {
        let mut ours: Vec<MvRegister<String>> = vec![MvRegister::new(); 3];
        let mut theirs: Vec<MVReg<String, u64>> = vec![MVReg::new(), MVReg::new(), MVReg::new()];
        for (i, &(at, kind, arg)) in steps.iter().enumerate() {
            let r = usize::from(at % 3);
            if kind % 2 == 0 {
                let v = format!("v{}", arg % 4);
                let _ = ours[r].set(rid(r), v.clone());
                let ctx = theirs[r].read_ctx().derive_add_ctx(r as u64 + 1);
                let op = theirs[r].write(v, ctx);
                theirs[r].apply(op);
            } else {
                let from = usize::from(arg % 3);
                let o = ours[from].clone();
                ours[r].merge(&o);
                let t = theirs[from].clone();
                theirs[r].merge(t);
            }
            for j in 0..3 {
                let a: BTreeSet<String> = ours[j].values().into_iter().cloned().collect();
                let b: BTreeSet<String> = theirs[j].read().val.into_iter().collect();
                ensure_eq(&a, &b, &format!("step {i}: replica {j}"))?;
            }
        }
        Ok(())
    })())
}

#[test]
fn mv_register_matches_crdts_mvreg() {
    qc().quickcheck(prop_mv_vs_crdts_mvreg as fn(_) -> TestResult);
}
