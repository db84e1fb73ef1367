//! Starting corpora: real encodings, so the fuzzer starts past the magic headers.
//!
//! `fuzz/seeds/<target>/` holds exactly [`generate`]'s output, checked by
//! `tests/tests/fuzz_seeds.rs` and rewritten with
//! `CRDT_BLESS=1 cargo test -p tests --test fuzz_seeds`.

use super::merge;
use super::sync::{self, selector, Kind, Mode};
use crate::net::rid;
use crdt_core::codec::{encode, WireFormat};
use crdt_core::{
    CausalContext, Crdt, Dot, GCounter, Keyspace, LwwRegister, MvRegister, OrSet, OrSetDelta,
    PnCounter, ReplicaId, VersionVector,
};
use std::path::PathBuf;

/// The repository root (the parent of the `tests` crate).
#[must_use]
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the repository root")
        .to_path_buf()
}

/// `crdt-core/tests/golden/*.bin`, sorted by name, as `(stem, bytes)`.
///
/// # Panics
/// If the folder cannot be read.
#[must_use]
pub fn golden_files() -> Vec<(String, Vec<u8>)> {
    let dir = repo_root().join("crdt-core/tests/golden");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            if path.extension()? != "bin" {
                return None;
            }
            let stem = path.file_stem()?.to_str()?.to_string();
            Some((stem, std::fs::read(&path).ok()?))
        })
        .collect();
    out.sort();
    out
}

fn r(n: u64) -> ReplicaId {
    ReplicaId::new(n)
}

/// Sample values of every core type, built by fixed histories: `(name, encoding)`.
#[must_use]
pub fn core_values() -> Vec<(String, Vec<u8>)> {
    fn item<T: WireFormat>(name: &str, v: &T) -> (String, Vec<u8>) {
        (name.to_string(), encode(v))
    }
    let mut out = Vec::new();

    let mut g = GCounter::new();
    for i in 1..=40u64 {
        let _ = g.increment(r(i * 3), i * i);
    }
    out.push(item("gcounter_40", &g));
    out.push(item("gcounter_empty", &GCounter::new()));

    let mut pn = PnCounter::new();
    for i in 1..=20u64 {
        let _ = pn.increment(r(i), i);
        if i % 3 == 0 {
            let _ = pn.decrement(r(i), 2 * i);
        }
    }
    let _ = pn.decrement(r(300), 1);
    out.push(item("pncounter_20", &pn));

    let mut vv = VersionVector::new();
    for i in 1..=10u64 {
        vv.advance(r(i * 1000), i);
    }
    out.push(item("version_vector_10", &vv));

    let mut ctx = CausalContext::new();
    for c in [1u64, 2, 3, 5, 7, 8, 9, 20, 300, 301] {
        ctx.insert(Dot::new(r(1), c));
        ctx.insert(Dot::new(r(9), c + 1));
    }
    out.push(item("causal_context_gaps", &ctx));

    let mut big: OrSet<u64> = OrSet::new();
    for v in 0..150u64 {
        let _ = big.insert(r(1), v * 7);
    }
    for v in (0..150u64).step_by(11) {
        let _ = big.remove(&(v * 7));
    }
    let mut other: OrSet<u64> = OrSet::new();
    for v in 0..20u64 {
        let _ = other.insert(r(2), v * 14);
    }
    big.merge(&other);
    out.push(item("orset_u64_two_replicas", &big));
    let mut d = OrSetDelta::new();
    d.join(&big.insert(r(1), 5));
    d.join(&big.remove(&14));
    d.join(&big.clear());
    out.push(item("orset_u64_delta_batch", &d));

    let mut s: OrSet<String> = OrSet::new();
    for (i, w) in ["", "a", "bb", "ccc", "ünïcode", "a longer string value"]
        .iter()
        .enumerate()
    {
        let _ = s.insert(r(1 + i as u64 % 2), (*w).to_string());
    }
    out.push(item("orset_string", &s));
    out.push(item(
        "orset_string_delta",
        &s.insert(r(3), "bb".to_string()),
    ));

    let ints: OrSet<i64> = [(r(1), -5i64), (r(1), 0), (r(2), i64::MAX), (r(2), i64::MIN)]
        .into_iter()
        .collect();
    out.push(item("orset_i64", &ints));
    let bytes: OrSet<Vec<u8>> = [(r(1), vec![]), (r(1), vec![0u8, 255]), (r(4), vec![7; 9])]
        .into_iter()
        .collect();
    out.push(item("orset_bytes", &bytes));
    let u32s: OrSet<u32> = [(r(1), 0u32), (r(1), u32::MAX)].into_iter().collect();
    out.push(item("orset_u32", &u32s));
    let i32s: OrSet<i32> = [(r(1), -1i32), (r(2), 1)].into_iter().collect();
    out.push(item("orset_i32", &i32s));
    let bools: OrSet<bool> = [(r(1), false), (r(2), true)].into_iter().collect();
    out.push(item("orset_bool", &bools));

    let mut lww: LwwRegister<String> = LwwRegister::new();
    let _ = lww.set(r(1), "first".to_string(), 10);
    let mut lww2 = lww.clone();
    let _ = lww2.set(r(2), "second".to_string(), 5);
    let _ = lww.set(r(1), "third".to_string(), 5);
    lww.merge(&lww2);
    out.push(item("lww_string", &lww));
    out.push(item("lww_string_empty", &LwwRegister::<String>::new()));
    let mut lu: LwwRegister<u64> = LwwRegister::new();
    let _ = lu.set(r(7), 99, u64::MAX - 1);
    out.push(item("lww_u64", &lu));
    let mut lb: LwwRegister<Vec<u8>> = LwwRegister::new();
    let _ = lb.set(r(7), vec![1, 2, 3], 1);
    out.push(item("lww_bytes", &lb));
    let mut lbool: LwwRegister<bool> = LwwRegister::new();
    let _ = lbool.set(r(7), true, 1);
    out.push(item("lww_bool", &lbool));

    let mut mv: MvRegister<String> = MvRegister::new();
    let mut mv2 = mv.clone();
    let _ = mv.set(r(1), "red".to_string());
    let _ = mv2.set(r(2), "blue".to_string());
    mv.merge(&mv2);
    out.push(item("mv_string", &mv));
    let mut mu: MvRegister<u64> = MvRegister::new();
    let _ = mu.set(r(7), 99);
    out.push(item("mv_u64", &mu));

    let mut ks = Keyspace::new();
    let mut ks2 = Keyspace::new();
    let _ = ks.set_insert(r(1), "cart/1", "apple".to_string());
    let _ = ks.increment(r(1), "likes/1", 3);
    let _ = ks.lww_set(r(1), "title/1", "Basket".to_string(), 10);
    let _ = ks.pn_decrement(r(1), "stock", 2);
    let _ = ks2.mv_set(r(2), "title/1", "Bag".to_string());
    let _ = ks2.mv_set(r(2), "status", "open".to_string());
    ks.merge(&ks2);
    out.push(item("keyspace", &ks));
    out.push(item("keyspace_empty", &Keyspace::new()));
    out
}

fn states_pair<C: sync::SyncType>(steps_a: u64, steps_b: u64) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (mut a, mut b) = (C::default(), C::default());
    let mut delta = C::default();
    for s in 0..steps_a {
        delta = a.apply(rid(1), C::write(rid(1), s)).expect("a valid write");
    }
    b.merge(&a);
    for s in 0..steps_b {
        let _ = b
            .apply(rid(2), C::write(rid(2), s + 50))
            .expect("a valid write");
    }
    (encode(&a), encode(&b), encode(&delta))
}

/// Every target's seeds: `(file name, bytes)`.
///
/// # Panics
/// If `target` is unknown.
#[must_use]
pub fn generate(target: &str) -> Vec<(String, Vec<u8>)> {
    match target {
        "decode_core" => {
            let mut out: Vec<(String, Vec<u8>)> = golden_files()
                .into_iter()
                .map(|(n, b)| (format!("golden_{n}"), b))
                .collect();
            out.extend(core_values());
            out
        }
        "decode_sync" => {
            let mut out = Vec::new();
            for kind in Kind::ALL {
                let name = format!("{kind:?}").to_lowercase();
                let traffic = sync::traffic(kind);
                // Without their checksum trailers: the driver seals what it delivers.
                for (i, m) in traffic.messages.iter().enumerate() {
                    let mut b = vec![selector(kind, Mode::Raw)];
                    b.extend_from_slice(sync::body(m));
                    out.push((format!("{name}_message_{i:02}"), b));
                }
                for (i, s) in traffic.snapshots.iter().enumerate() {
                    let mut b = vec![selector(kind, Mode::Restore)];
                    b.extend_from_slice(sync::body(s));
                    out.push((format!("{name}_snapshot_{i}"), b));
                }
                let mut b = vec![selector(kind, Mode::Raw) | sync::VERBATIM];
                b.extend_from_slice(&traffic.messages[0]);
                out.push((format!("{name}_message_00_verbatim"), b));
                let mut b = vec![selector(kind, Mode::Real)];
                b.extend((0u8..96).map(|x| x.wrapping_mul(37)));
                out.push((format!("{name}_real_steps"), b));
            }
            out
        }
        "merge_untrusted" => {
            let mut out = Vec::new();
            let mut push = |name: &str, kind: u8, (a, b, d): (Vec<u8>, Vec<u8>, Vec<u8>)| {
                out.push((format!("{name}_states"), merge::case(kind, &a, &b)));
                out.push((format!("{name}_state_delta"), merge::case(kind, &b, &d)));
                out.push((format!("{name}_same"), merge::case(kind, &a, &a)));
            };
            push("gcounter", 0, states_pair::<GCounter>(4, 3));
            push("pncounter", 1, states_pair::<PnCounter>(6, 5));
            push("orset_u64", 2, states_pair::<OrSet<u64>>(12, 9));
            push("lww_string", 4, states_pair::<LwwRegister<String>>(3, 2));
            let golden = golden_files();
            let find = |n: &str| {
                golden
                    .iter()
                    .find(|(g, _)| g == n)
                    .map(|(_, b)| b.clone())
                    .unwrap_or_default()
            };
            out.push((
                "orset_string_golden".to_string(),
                merge::case(3, &find("orset_string"), &find("orset_string_delta")),
            ));
            out
        }
        "ops_model" => {
            // Fixed pseudo-random bytes of several lengths, from a fixed seed (every
            // byte goes into an action: `tests::actions::take`).
            let mut x: u64 = 0x5EED;
            let mut next = move || {
                x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = x;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                (z ^ (z >> 31)) as u8
            };
            let mut out: Vec<(String, Vec<u8>)> = [16usize, 64, 256, 1024]
                .iter()
                .map(|&n| (format!("random_{n}"), (0..n).map(|_| next()).collect()))
                .collect();
            // And the named scenarios, written as actions.
            for (name, actions) in super::model::scenarios() {
                out.push((
                    format!("scenario_{name}"),
                    super::model::encode_actions(&actions),
                ));
            }
            out
        }
        "retire_untrusted" => super::retire::seeds(&core_values()),
        other => panic!("no fuzz target {other}"),
    }
}
