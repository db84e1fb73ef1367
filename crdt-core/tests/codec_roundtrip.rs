//! Round trips of the canonical codec over states and deltas from random histories.
//!
//! For every type: `decode(encode(x)) == x` (OR-Sets also keep their removal hints and
//! re-encode to identical bytes); replicas that learned the same deltas in different
//! orders and groupings encode to byte-identical output; and every byte string the
//! decoder accepts (here: valid encodings mutated at random) re-encodes to itself.

mod codec_gen;

use codec_gen::{check_roundtrip, hex, qc, simulate, verdict, Model, Rng, Step};
use crdt_core::codec::{decode, encode};
use crdt_core::{
    CausalContext, GCounter, Keyspace, LwwRegister, MvRegister, OrSet, PnCounter, VersionVector,
};
use quickcheck::TestResult;

/// Every replica state and every delta of a random history round-trips.
fn roundtrip_prop<S: Model>(steps: Vec<Step>) -> TestResult {
    let out = simulate::<S>(&steps);
    for v in out.values() {
        if let Err(msg) = check_roundtrip(v) {
            return TestResult::error(msg);
        }
    }
    TestResult::passed()
}

/// Merges each of `deltas[order[..]]` into a fresh state.
fn learn<S: Model>(deltas: &[S], order: &[usize]) -> S {
    let mut s = S::fresh();
    for &i in order {
        s.merge(&deltas[i]);
    }
    s
}

fn same_bytes<S: Model>(what: &str, a: &S, b: &S) -> Result<(), String> {
    if a != b {
        return Err(format!("{what}: states differ:\n{a:?}\n{b:?}"));
    }
    let (ea, eb) = (encode(a), encode(b));
    if ea != eb {
        return Err(format!(
            "{what}: equal states encode differently:\n{}\n{}\n{a:?}",
            hex(&ea),
            hex(&eb)
        ));
    }
    Ok(())
}

/// Replicas that learn the same deltas in different orders, with duplicates, or in
/// batches, hold equal states and encode to identical bytes; so do the history's own
/// replicas once they have synchronised; so do batches of all deltas built in
/// different orders (OR-Set batches carry removal hints, which must agree too).
fn converge_prop<S: Model>(steps: Vec<Step>, seed: u64) -> TestResult {
    let out = simulate::<S>(&steps);
    let deltas = &out.deltas;
    let n = deltas.len();
    let mut rng = Rng(seed);

    let in_order: Vec<usize> = (0..n).collect();
    let x = learn(deltas, &in_order);

    // Shuffled, with random re-deliveries.
    let mut order = in_order.clone();
    rng.shuffle(&mut order);
    let mut with_dups = Vec::new();
    for &i in &order {
        with_dups.push(i);
        if rng.below(3) == 0 {
            with_dups.push(rng.below(n));
        }
    }
    let y = learn(deltas, &with_dups);

    // Shuffled again and grouped into batches joined before delivery.
    rng.shuffle(&mut order);
    let mut z = S::fresh();
    let mut k = 0;
    while k < n {
        let size = 1 + rng.below(5);
        let mut acc = S::batch();
        for &i in &order[k..(k + size).min(n)] {
            acc.merge(&deltas[i]);
        }
        z.merge(&acc);
        k += size;
    }

    // The history's replicas after an all-to-all exchange (two rounds of a ring).
    let mut reps = out.replicas.clone();
    for _ in 0..2 {
        for i in 0..3 {
            let other = reps[(i + 1) % 3].clone();
            reps[i].merge(&other);
        }
    }

    // All deltas joined into one batch, forwards and in a shuffled order.
    let mut b1 = S::batch();
    for d in deltas {
        b1.merge(d);
    }
    let mut b2 = S::batch();
    for &i in order.iter().rev() {
        b2.merge(&deltas[i]);
    }

    let result = same_bytes("in order vs shuffled+duplicated", &x, &y)
        .and_then(|()| same_bytes("in order vs batched", &x, &z))
        .and_then(|()| {
            reps.iter()
                .enumerate()
                .try_for_each(|(i, r)| same_bytes(&format!("synced replica {i}"), &x, r))
        })
        .and_then(|()| same_bytes("batch of all deltas, two orders", &b1, &b2))
        .and_then(|()| {
            if b1.hints() != b2.hints() {
                return Err(format!("batches disagree on hints: {b1:?}"));
            }
            x.check()
        });
    verdict(result)
}

/// Applies one edit to `bytes`: flip a bit, set, insert, delete, or nudge a byte.
fn edit(bytes: &mut Vec<u8>, (pos, op, val): (u16, u8, u8)) {
    if bytes.is_empty() {
        bytes.push(val);
        return;
    }
    let i = usize::from(pos) % bytes.len();
    match op % 5 {
        0 => bytes[i] ^= 1 << (val % 8),
        1 => bytes[i] = val,
        2 => bytes.insert(i, val),
        3 => {
            bytes.remove(i);
        }
        _ => {
            bytes[i] = if val % 2 == 0 {
                bytes[i].wrapping_add(1)
            } else {
                bytes[i].wrapping_sub(1)
            }
        }
    }
}

/// Every byte string the decoder accepts re-encodes to exactly itself, and is a
/// valid value that merges into a replica without breaking its invariants.
/// The candidates are valid encodings after random edits (most are rejected; bit
/// flips in counters, ids and values are often accepted).
fn accepted_prop<S: Model>(steps: Vec<Step>, edits: Vec<(u16, u8, u8)>, pick: u8) -> TestResult {
    let out = simulate::<S>(&steps);
    let values: Vec<&S> = out.values().collect();
    let start = usize::from(pick) % values.len();
    let replica = &out.replicas[usize::from(pick) % 3];
    for v in values.iter().cycle().skip(start).take(3) {
        let mut bytes = encode(*v);
        for &e in edits.iter().take(8) {
            edit(&mut bytes, e);
            let Ok(w) = decode::<S>(&bytes) else { continue };
            let again = encode(&w);
            if again != bytes {
                return TestResult::error(format!(
                    "accepted non-canonical bytes:\n accepted {}\nre-encode {}\n{w:?}",
                    hex(&bytes),
                    hex(&again)
                ));
            }
            let mut merged = replica.clone();
            merged.merge(&w);
            if let Err(msg) = w.check().and_then(|()| merged.check()) {
                return TestResult::error(format!("accepted {}: {msg}", hex(&bytes)));
            }
        }
    }
    TestResult::passed()
}

macro_rules! codec_properties {
    ($($module:ident => $t:ty),* $(,)?) => {$(
        mod $module {
            use super::*;

            #[test]
            fn decode_encode_roundtrip() {
                qc().quickcheck(roundtrip_prop::<$t> as fn(Vec<Step>) -> TestResult);
            }

            #[test]
            fn converged_replicas_encode_identically() {
                qc().quickcheck(converge_prop::<$t> as fn(Vec<Step>, u64) -> TestResult);
            }

            #[test]
            fn accepted_bytes_reencode_identically() {
                qc().quickcheck(
                    accepted_prop::<$t> as fn(Vec<Step>, Vec<(u16, u8, u8)>, u8) -> TestResult,
                );
            }
        }
    )*};
}

codec_properties! {
    gcounter => GCounter,
    pncounter => PnCounter,
    orset_u64 => OrSet<u64>,
    orset_string => OrSet<String>,
    lww_string => LwwRegister<String>,
    mv_string => MvRegister<String>,
    keyspace => Keyspace,
    version_vector => VersionVector,
    causal_context => CausalContext,
}

/// The generators reach what the properties are meant to cover: multi-dot elements,
/// causal gaps, hint-carrying deltas, removes, and values that hints do not cover.
#[test]
fn generators_cover_interesting_states() {
    // Fixed seed: the counts below are deterministic.
    let mut g = quickcheck::Gen::from_size_and_seed(100, 0x5EED);
    let (mut multi, mut gaps, mut hinted, mut removed, mut lww_conc) = (0, 0, 0, 0, 0);
    for _ in 0..300 {
        let steps: Vec<Step> = quickcheck::Arbitrary::arbitrary(&mut g);
        let out = simulate::<OrSet<u64>>(&steps);
        for v in out.values() {
            multi += usize::from(v.iter().any(|e| v.dots(e).is_some_and(|d| d.len() > 1)));
            gaps += usize::from(!v.context().is_compact());
            hinted += usize::from(v.has_removal_hints() && !v.is_empty());
            let stored: usize = v.iter().map(|e| v.dots(e).map_or(0, <[_]>::len)).sum();
            removed += usize::from(v.context().dot_count() > stored as u128);
        }
        let lww = simulate::<LwwRegister<String>>(&steps);
        lww_conc += usize::from(lww.replicas.iter().any(|r| r.context().len() > 1));
    }
    println!("multi-dot {multi}, gaps {gaps}, hinted {hinted}, removals {removed}, lww multi-writer {lww_conc}");
    assert!(multi > 100, "too few multi-dot elements: {multi}");
    assert!(gaps > 100, "too few causal gaps: {gaps}");
    assert!(hinted > 100, "too few hint-carrying deltas: {hinted}");
    assert!(removed > 100, "too few values with removals: {removed}");
    assert!(
        lww_conc > 100,
        "too few registers with several writers: {lww_conc}"
    );
}
