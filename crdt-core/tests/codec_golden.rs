//! Golden encodings: one committed file per type under `tests/golden/`, each the
//! encoding of a value built by a fixed op history below.
//!
//! Each test decodes its file, checks it equals the value the history builds, checks
//! the decoded *contents* explicitly (so a change to the history cannot silently pass
//! with a re-blessed file), and checks `encode(value)` is byte-for-byte the file (so a
//! change to the format cannot pass either).
//!
//! The files are only ever written on request:
//! `CRDT_BLESS=1 cargo test -p crdt-core --test codec_golden`. A normal run only reads
//! and compares, and fails if a file is missing.

use crdt_core::codec::{decode, encode, WireFormat, FORMAT_VERSION, MAGIC};
use crdt_core::{
    CausalContext, Crdt, Dot, GCounter, Keyspace, LwwRegister, MvRegister, OrSet, OrSetDelta,
    PnCounter, ReplicaId, Value, VersionVector,
};
use std::fmt::Debug;
use std::path::PathBuf;

const A: ReplicaId = ReplicaId::new(1);
const B: ReplicaId = ReplicaId::new(200);
const C: ReplicaId = ReplicaId::new(1 << 35);

fn dot(r: ReplicaId, c: u64) -> Dot {
    Dot::new(r, c)
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("golden")
        .join(format!("{name}.bin"))
}

fn blessing() -> bool {
    std::env::var("CRDT_BLESS").is_ok_and(|v| v == "1")
}

/// Compares `value` with the golden file `name` and returns the file's decoding.
/// With `CRDT_BLESS=1` the file is (re)written first.
fn golden<T: WireFormat + PartialEq + Debug>(name: &str, value: &T) -> (T, Vec<u8>) {
    let path = golden_path(name);
    let bytes = encode(value);
    if blessing() {
        std::fs::create_dir_all(path.parent().expect("golden dir")).expect("create golden dir");
        std::fs::write(&path, &bytes).expect("write golden file");
        eprintln!("blessed {} ({} bytes)", path.display(), bytes.len());
    }
    let file = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "golden file {} is missing or unreadable ({e}); generate it with \
             `CRDT_BLESS=1 cargo test -p crdt-core --test codec_golden` and commit it",
            path.display()
        )
    });
    assert_eq!(&file[..2], &MAGIC, "{name}: magic");
    assert_eq!(file[2], FORMAT_VERSION, "{name}: version");
    assert_eq!(file[3], T::TYPE_TAG, "{name}: type tag");
    let decoded: T =
        decode(&file).unwrap_or_else(|e| panic!("{name}: golden file no longer decodes: {e:?}"));
    assert_eq!(
        &decoded, value,
        "{name}: the golden file decodes to another value than the history builds"
    );
    assert_eq!(
        hex(&bytes),
        hex(&file),
        "{name}: encode(value) differs from the golden file (format change?)"
    );
    (decoded, file)
}

// ---------------------------------------------------------------------------------
// Histories
// ---------------------------------------------------------------------------------

fn gcounter_history() -> GCounter {
    let (mut a, mut b, mut c) = (GCounter::new(), GCounter::new(), GCounter::new());
    let d1 = a.increment(A, 5);
    let d2 = b.increment(B, 300);
    let d3 = a.increment(A, 2);
    let d4 = c.increment(C, u64::MAX - 1);
    let d5 = c.increment(C, 5); // saturates at u64::MAX
    let _ = d2;
    // b learns the others out of order, some twice.
    for d in [&d5, &d3, &d1, &d4, &d3] {
        b.merge(d);
    }
    b
}

#[test]
fn golden_gcounter() {
    let (g, _) = golden("gcounter", &gcounter_history());
    assert_eq!(
        g.iter().collect::<Vec<_>>(),
        [(A, 7), (B, 300), (C, u64::MAX)]
    );
    assert_eq!(g.value(), u64::MAX);
    assert_eq!(g.value_u128(), 307 + u128::from(u64::MAX));
}

fn pncounter_history() -> PnCounter {
    let (mut a, mut b, mut c) = (PnCounter::new(), PnCounter::new(), PnCounter::new());
    let d1 = a.increment(A, 10);
    let d2 = b.decrement(B, 3);
    let d3 = a.decrement(A, 4);
    let d4 = b.increment(B, 1000);
    let d5 = c.increment(C, 1);
    let d6 = c.decrement(C, 1);
    for d in [&d6, &d4, &d2, &d3, &d1, &d5] {
        a.merge(d);
    }
    a
}

#[test]
fn golden_pncounter() {
    let (p, _) = golden("pncounter", &pncounter_history());
    assert_eq!(
        p.iter().collect::<Vec<_>>(),
        [(A, 10, 4), (B, 1000, 3), (C, 1, 1)]
    );
    assert_eq!(p.value(), 1003);
}

/// Three replicas; b ends with a concurrent re-add, a concurrent double add (two
/// dots), removes, and a causal gap (it gets a's 5th dot, not its 4th).
fn orset_u64_history() -> OrSet<u64> {
    let (mut a, mut b, mut c) = (OrSet::new(), OrSet::new(), OrSet::new());
    let a1 = a.insert(A, 10); // (A,1)
    let a2 = a.insert(A, 20); // (A,2)
    let a3 = a.insert(A, 30); // (A,3)
    for d in [&a1, &a2, &a3] {
        b.apply_delta(d);
        c.apply_delta(d);
    }
    let _b1 = b.remove(&20); // b drops (A,2)
    let c1 = c.insert(C, 20); // concurrently c re-adds 20: (C,1) replaces (A,2)
    let _b2 = b.insert(B, 40); // (B,1)
    let c2 = c.insert(C, 40); // concurrent add of 40: (C,2)
    let _a4 = a.insert(A, 50); // (A,4), never reaches b
    let a5 = a.insert(A, 60); // (A,5)
    let _b3 = b.remove(&10); // b drops (A,1)
    for d in [&c1, &c2, &a5] {
        b.apply_delta(d);
    }
    b
}

#[test]
fn golden_orset_u64() {
    let (s, _) = golden("orset_u64", &orset_u64_history());
    assert_eq!(s.iter().copied().collect::<Vec<_>>(), [20, 30, 40, 60]);
    assert_eq!(s.dots(&20), Some(&[dot(C, 1)][..]));
    assert_eq!(s.dots(&30), Some(&[dot(A, 3)][..]));
    assert_eq!(s.dots(&40), Some(&[dot(B, 1), dot(C, 2)][..]));
    assert_eq!(s.dots(&60), Some(&[dot(A, 5)][..]));
    assert!(!s.contains(&10) && !s.contains(&50));
    let runs: Vec<_> = s.context().runs().collect();
    assert_eq!(runs, [(A, 1, 3), (A, 5, 5), (B, 1, 1), (C, 1, 2)]);
    assert!(!s.context().contains(&dot(A, 4)));
    assert!(!s.has_removal_hints());
}

/// c learns a's and b's deltas out of order and misses a's 4th and 6th dots.
fn orset_string_history() -> (OrSet<String>, OrSet<String>) {
    let s = |x: &str| x.to_string();
    let (mut a, mut b, mut c) = (OrSet::new(), OrSet::new(), OrSet::new());
    let a1 = a.insert(A, s("apple")); // (A,1)
    let a2 = a.insert(A, s("banana")); // (A,2)
    b.apply_delta(&a1);
    b.apply_delta(&a2);
    let b1 = b.insert(B, s("cherry")); // (B,1)
    let b2 = b.remove(&s("apple")); // observes (A,1)
    let a3 = a.insert(A, s("apple")); // re-add: (A,3) replaces (A,1)
    let _a4 = a.insert(A, s("date")); // (A,4), never reaches c
    let a5 = a.insert(A, s("ελιά")); // (A,5)
    let a6 = a.remove(&s("banana")); // observes (A,2)
    for d in [&b1, &a5, &a3, &b2, &a1, &a2] {
        c.apply_delta(d);
    }
    // A batch of deltas, with removal hints: the re-add, the remove, b's remove.
    let delta: OrSetDelta<String> = [&a3, &a6, &b2].into_iter().collect();
    (c, delta.into_set())
}

#[test]
fn golden_orset_string() {
    let (state, _) = orset_string_history();
    let (s, _) = golden("orset_string", &state);
    let items: Vec<&str> = s.iter().map(String::as_str).collect();
    assert_eq!(items, ["apple", "banana", "cherry", "ελιά"]);
    assert_eq!(s.dots(&"apple".to_string()), Some(&[dot(A, 3)][..]));
    assert_eq!(s.dots(&"banana".to_string()), Some(&[dot(A, 2)][..]));
    assert_eq!(s.dots(&"cherry".to_string()), Some(&[dot(B, 1)][..]));
    assert_eq!(s.dots(&"ελιά".to_string()), Some(&[dot(A, 5)][..]));
    let runs: Vec<_> = s.context().runs().collect();
    assert_eq!(runs, [(A, 1, 3), (A, 5, 5), (B, 1, 1)]);
    assert!(!s.has_removal_hints());
}

#[test]
fn golden_orset_string_delta() {
    let (_, delta) = orset_string_history();
    let (d, file) = golden("orset_string_delta", &delta);
    assert!(d.has_removal_hints());
    let items: Vec<&str> = d.iter().map(String::as_str).collect();
    assert_eq!(items, ["apple"]);
    assert_eq!(d.dots(&"apple".to_string()), Some(&[dot(A, 3)][..]));
    let runs: Vec<_> = d.context().runs().collect();
    assert_eq!(runs, [(A, 1, 3)]);
    // The hints (not readable through the API) end the encoding:
    // flag 1, two hints, "apple", "banana".
    let tail = [&[1u8, 2, 5][..], b"apple", &[6], b"banana"].concat();
    assert!(
        file.ends_with(&tail),
        "hints: expected the file to end with {}, it is {}",
        hex(&tail),
        hex(&file)
    );
    // A state (not a delta) merged from the delta carries none.
    let mut state = OrSet::new();
    state.merge(&d);
    assert!(!state.has_removal_hints());
    assert!(encode(&state).ends_with(&[0]));
}

/// b writes after seeing a's first write; a writes concurrently within the same
/// hybrid-clock tick; the replica id breaks the tie.
fn lww_history() -> (LwwRegister<String>, LwwRegister<String>) {
    let (mut a, mut b) = (LwwRegister::new(), LwwRegister::new());
    let d1 = a.set(A, "hello".to_string(), 1_000); // 1000.0, (A,1)
    b.merge(&d1);
    let d2 = b.set(B, "world".to_string(), 900); // clock behind: 1000.1, (B,1)
    let d3 = a.set(A, "concurrent".to_string(), 1_000); // 1000.1, (A,2)
    let report = a.merge_report(&d2);
    assert!(report.value_changed);
    let lost = report.discarded.expect("a's concurrent write is discarded");
    assert_eq!((lost.value.as_str(), lost.replica), ("concurrent", A));
    b.merge(&d3);
    (a, b)
}

#[test]
fn golden_lww_string() {
    let (a, b) = lww_history();
    assert_eq!(a, b);
    let (reg, _) = golden("lww_string", &a);
    assert_eq!(reg.get().map(String::as_str), Some("world"));
    let stamp = reg.timestamp().expect("a value");
    assert_eq!((stamp.millis(), stamp.logical()), (1_000, 1));
    assert_eq!(reg.writer(), Some(B));
    assert_eq!(reg.context().iter().collect::<Vec<_>>(), [(A, 2), (B, 1)]);
}

fn version_vector_history() -> VersionVector {
    let (mut a, mut b, mut c) = (
        VersionVector::new(),
        VersionVector::new(),
        VersionVector::new(),
    );
    a.observe(dot(A, 1));
    a.advance(A, 3);
    a.advance(A, 2); // never lowers
    b.advance(B, 1);
    c.advance(C, 70_000);
    c.merge(&a);
    b.merge(&c);
    b
}

#[test]
fn golden_version_vector() {
    let (vv, _) = golden("version_vector", &version_vector_history());
    assert_eq!(vv.iter().collect::<Vec<_>>(), [(A, 3), (B, 1), (C, 70_000)]);
    assert_eq!(vv.dot_count(), 70_004);
}

/// Dots seen out of order: a's 4th and 6th are missing, b's 1st is missing.
fn causal_context_history() -> CausalContext {
    let mut ctx = CausalContext::new();
    ctx.insert(dot(A, 7));
    let other: CausalContext = [dot(B, 2), dot(A, 1)].into_iter().collect();
    ctx.merge(&other);
    ctx.insert(dot(A, 9));
    ctx.insert(dot(A, 5));
    let mut third = CausalContext::new();
    third.insert_run(A, 2, 3);
    third.insert(dot(C, 1));
    ctx.merge(&third);
    ctx.insert(dot(A, 8));
    ctx.insert(dot(A, 2)); // already seen
    ctx
}

#[test]
fn golden_causal_context() {
    let (ctx, _) = golden("causal_context", &causal_context_history());
    let runs: Vec<_> = ctx.runs().collect();
    assert_eq!(
        runs,
        [(A, 1, 3), (A, 5, 5), (A, 7, 9), (B, 2, 2), (C, 1, 1)]
    );
    assert_eq!(
        ctx.version_vector().iter().collect::<Vec<_>>(),
        [(A, 3), (C, 1)]
    );
    assert!(!ctx.is_compact());
    assert_eq!(ctx.dot_count(), 9);
    for missing in [dot(A, 4), dot(A, 6), dot(A, 10), dot(B, 1), dot(C, 2)] {
        assert!(!ctx.contains(&missing), "{missing:?}");
    }
}

/// Every golden file is one a test above checks (no stale files lie around).
#[test]
fn golden_directory_holds_exactly_the_checked_files() {
    let expected = [
        "causal_context.bin",
        "gcounter.bin",
        "keyspace.bin",
        "keyspace_delta.bin",
        "lww_string.bin",
        "mv_string.bin",
        "orset_string.bin",
        "orset_string_delta.bin",
        "orset_u64.bin",
        "pncounter.bin",
        "version_vector.bin",
    ];
    let dir = golden_path("x").parent().expect("dir").to_path_buf();
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; bless with CRDT_BLESS=1", dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    found.sort();
    if blessing() {
        // Other tests may still be writing their files: only look for strays.
        assert!(
            found.iter().all(|f| expected.contains(&f.as_str())),
            "{found:?}"
        );
    } else {
        assert_eq!(found, expected);
    }
}

// ---------------------------------------------------------------------------------
// MvRegister and Keyspace
// ---------------------------------------------------------------------------------

/// Two concurrent writes survive at c; a's first write is known there only as
/// superseded (in the context, not live).
fn mv_history() -> MvRegister<String> {
    let (mut a, mut b, mut c) = (MvRegister::new(), MvRegister::new(), MvRegister::new());
    let a1 = a.set(A, "draft".to_string()); // (A,1)
    let a2 = a.set(A, "red".to_string()); // (A,2) supersedes (A,1)
    let b1 = b.set(B, "blue".to_string()); // (B,1), concurrent
    for d in [&b1, &a2] {
        c.merge(d);
    }
    let _ = a1;
    c
}

#[test]
fn golden_mv_register() {
    let (m, _) = golden("mv_string", &mv_history());
    assert_eq!(m.values(), [&"blue".to_string(), &"red".to_string()]);
    assert_eq!(
        m.writes().map(|(d, _)| d).collect::<Vec<_>>(),
        [dot(A, 2), dot(B, 1)]
    );
    assert!(m.context().contains(&dot(A, 1)), "(A,1) is superseded");
}

/// A cart (OR-Set), its like counter, its title, a balance, a status in conflict, a
/// type conflict, and a deleted key; b learns some of it out of order.
fn keyspace_history() -> (Keyspace, Keyspace) {
    let (mut a, mut b, mut c) = (Keyspace::new(), Keyspace::new(), Keyspace::new());
    let to_b = vec![
        a.set_insert(A, "cart/7", "apple".into()).unwrap(), // (A,1)
        a.set_insert(A, "cart/7", "pear".into()).unwrap(),  // (A,2)
        a.increment(A, "likes/7", 3).unwrap(),              // (A,3)
        a.lww_set(A, "title/7", "Basket".into(), 1_000).unwrap(), // (A,4)
        a.increment(A, "gone", 1).unwrap(),                 // (A,5)
        a.delete("gone").unwrap(),
        c.pn_decrement(C, "balance", 4).unwrap(), // (C,1)
        c.mv_set(C, "status", "open".into()).unwrap(), // (C,2)
        c.mv_set(C, "mixed", "text".into()).unwrap(), // (C,3)
    ];
    let _ = b.increment(B, "likes/7", 2).unwrap(); // (B,1)
    let _ = b.mv_set(B, "status", "closed".into()).unwrap(); // (B,2)
    let _ = b.increment(B, "mixed", 9).unwrap(); // (B,3)
    for i in [0, 8, 1, 2, 6, 7, 5, 0] {
        b.merge(&to_b[i]);
    }
    // (A,5) reaches b only through the delete's context; (A,4) never does (a gap).
    let delta = a.set_remove(A, "cart/7", "apple").unwrap();
    b.merge(&delta);
    (b, delta)
}

#[test]
fn golden_keyspace() {
    let (ks, delta) = keyspace_history();
    let (k, _) = golden("keyspace", &ks);
    assert_eq!(
        k.keys().collect::<Vec<_>>(),
        ["balance", "cart/7", "likes/7", "mixed", "status"]
    );
    assert_eq!(k.get("cart/7"), Some(Value::OrSet(vec!["pear".into()])));
    assert_eq!(k.get("likes/7"), Some(Value::GCounter(5)));
    assert_eq!(k.get("balance"), Some(Value::PnCounter(-4)));
    assert_eq!(k.get("title/7"), None, "(A,4) never reached b");
    assert_eq!(
        k.get("status"),
        Some(Value::MvRegister(vec!["closed".into(), "open".into()]))
    );
    assert_eq!(
        k.get("mixed"),
        Some(Value::Conflict(vec![
            Value::GCounter(9),
            Value::MvRegister(vec!["text".into()])
        ]))
    );
    assert!(!k.context().contains(&dot(A, 4)), "a gap at (A,4)");
    let (d, _) = golden("keyspace_delta", &delta);
    assert!(d.is_empty(), "a remove's delta names no live dot");
    assert_eq!(d.context().dots().collect::<Vec<_>>(), [dot(A, 1)]);
}

// ---------------------------------------------------------------------------------
// Size: sequential elements compress to their values plus a few bytes.
// ---------------------------------------------------------------------------------

#[test]
fn sequential_u64_orset_compresses() {
    let mut set = OrSet::new();
    for v in 0..1000u64 {
        let _ = set.insert(A, v);
    }
    let bytes = encode(&set);
    let per_element = bytes.len() as f64 / 1000.0;
    println!(
        "1000 sequential u64 from one replica: {} bytes, {per_element:.3} bytes/element",
        bytes.len()
    );
    assert!(bytes.len() <= 4 * 1000, "{} bytes", bytes.len());
    // The values themselves take 128 x 1 + 872 x 2 bytes; everything else (header,
    // context, lengths, dot table, the one dot run, hints flag) is a handful of bytes.
    let values = 128 + 872 * 2;
    assert!(
        bytes.len() - values <= 20,
        "overhead {}",
        bytes.len() - values
    );
    assert_eq!(decode::<OrSet<u64>>(&bytes), Ok(set));
}

// ---------------------------------------------------------------------------------
// The annotated examples in docs/WIRE_FORMAT.md are real encodings.
// ---------------------------------------------------------------------------------

/// The document's OR-Set example: replica 1 adds "a" and "b", replica 2 concurrently
/// adds "b"; replica 1 merges replica 2's delta, so "b" has two dots.
fn doc_orset_example() -> OrSet<String> {
    let (mut x, mut y) = (OrSet::new(), OrSet::new());
    let d1 = x.insert(ReplicaId::new(1), "a".to_string());
    let d2 = x.insert(ReplicaId::new(1), "b".to_string());
    let d3 = y.insert(ReplicaId::new(2), "b".to_string());
    let _ = (d1, d2);
    x.apply_delta(&d3);
    x
}

/// The document's causal-context example: dots 1, 2, 5, 7, 8 of replica 1.
fn doc_context_example() -> CausalContext {
    let r = ReplicaId::new(1);
    [1, 2, 5, 7, 8]
        .map(|c| Dot::new(r, c))
        .into_iter()
        .collect()
}

#[test]
fn wire_format_doc_examples_are_real_encodings() {
    let lines = [encode(&doc_orset_example()), encode(&doc_context_example())].map(|b| hex(&b));
    println!("{lines:#?}");
    let doc_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/WIRE_FORMAT.md");
    let doc = std::fs::read_to_string(&doc_path)
        .unwrap_or_else(|e| panic!("{}: {e}", doc_path.display()));
    for line in lines {
        assert!(
            doc.contains(&line),
            "docs/WIRE_FORMAT.md should show the encoding `{line}`"
        );
    }
}
