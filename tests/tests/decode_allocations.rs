//! Resource bounds of the decoder: decoding untrusted bytes allocates at most a
//! constant multiple of the input size, and adversarial inputs — huge declared lengths,
//! overlong varints, huge dot runs, many replicas — are rejected before anything is
//! allocated for what they declare.
//!
//! Adversarial inputs are also rejected quickly: the decoder makes one pass and never
//! recurses, so neither depth nor width can make it slow. That is not timed here
//! (tests assert no timings); the fuzzers enforce it with a 2 s per-input timeout
//! over every input they try. Allocation is measured: a counting global allocator (the `alloc-counter`
//! crate, which holds the one `unsafe impl GlobalAlloc` so that this crate keeps the
//! workspace's `forbid(unsafe_code)`) reports the bytes requested while one decode
//! runs on this thread, including everything the decoded value keeps.
//!
//! The bound is `per_byte × input length + 1 KiB`, with `per_byte` per family:
//!
//! | family | per_byte | why |
//! |---|---|---|
//! | version vectors, counters, causal contexts | 32 | 16–24 bytes in memory per entry of at least 2–3 bytes on the wire (8 per byte), times up to 4 for growth: past its 64 KiB up-front reservation a vector grows by doubling with the entries actually decoded, and `bytes` counts every reallocation's new size (measured: at most 23) |
//! | OR-Sets, registers, keyspaces | 128 | an element can take 1 byte on the wire (a one-byte value, its dot folded into a run) but a vector slot, a dot and a B-tree slot in memory (measured: at most 103) |
//!
//! Reservations are capped at 64 KiB per collection (`crdt-core`'s `prealloc`), so a
//! declared count never reserves more than that before entries are actually read: an
//! application element type of any size stays within the bound
//! (`application_element_types_allocate_within_the_bound`).
//!
//! `cargo test -p tests --test decode_allocations -- --nocapture` prints the measured
//! figures (largest bytes-per-input-byte per family and case).

use alloc_counter::{measure, CountingAlloc, Stats};
use crdt_core::codec::{decode, encode, DecodeError, WireFormat, Writer, FORMAT_VERSION, MAGIC};
use crdt_core::{
    CausalContext, Crdt, Dot, GCounter, Keyspace, LwwRegister, MvRegister, OrSet, OrSetDelta,
    PnCounter, ReplicaId, VersionVector,
};
use crdt_sync::Leader;
use tests::new_leader;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Allowed allocation: `per_byte × len + CONSTANT`.
const CONSTANT: u64 = 1024;
/// Vectors, counters, contexts (see the module docs for the factor 4 of growth).
const COMPACT: u64 = 32;
/// Sets and registers.
const ELEMENTS: u64 = 128;
/// Adversarial inputs rejected by a length or header check: they may allocate for
/// what they *contain* (at most this per byte), never for what they *declare*.
const REJECTED: u64 = 32;

fn r(n: u64) -> ReplicaId {
    ReplicaId::new(n)
}

/// Decodes `bytes` as `T` with counting on.
fn measured<T: WireFormat>(bytes: &[u8]) -> (Result<T, DecodeError>, Stats) {
    measure(|| decode::<T>(bytes))
}

/// Checks the bound for one input and returns bytes allocated per input byte.
fn within<T: WireFormat>(what: &str, bytes: &[u8], per_byte: u64) -> (bool, Stats) {
    let (result, stats) = measured::<T>(bytes);
    let len = bytes.len() as u64;
    let limit = per_byte * len + CONSTANT;
    assert!(
        stats.bytes <= limit,
        "{what}: decoding {len} bytes allocated {} bytes (limit {limit}: {per_byte} per byte + \
         {CONSTANT}); peak {}, {} allocations",
        stats.bytes,
        stats.peak,
        stats.allocations
    );
    assert!(stats.peak <= stats.bytes);
    // A value decoded from 1 KiB or more holds heap data (no type here keeps that much
    // inline): if nothing was counted, the bound was checked against nothing.
    assert!(
        result.is_err() || len < 1024 || stats.bytes > 0,
        "{what}: decoding {len} bytes into a value counted no allocation ({stats:?})"
    );
    (result.is_ok(), stats)
}

struct Report {
    rows: Vec<(String, usize, Stats, bool)>,
}

impl Report {
    fn new() -> Self {
        Self { rows: Vec::new() }
    }

    fn add(&mut self, what: &str, len: usize, stats: Stats, ok: bool) {
        self.rows.push((what.to_string(), len, stats, ok));
    }

    fn print(&self, title: &str) {
        eprintln!("\n{title}");
        eprintln!(
            "{:<58} {:>9} {:>10} {:>10} {:>7} {:>7} {:>5}",
            "case", "input B", "alloc B", "peak B", "allocs", "B/B", "ok"
        );
        for (what, len, s, ok) in &self.rows {
            eprintln!(
                "{:<58} {:>9} {:>10} {:>10} {:>7} {:>7.1} {:>5}",
                what,
                len,
                s.bytes,
                s.peak,
                s.allocations,
                s.bytes as f64 / (*len).max(1) as f64,
                ok
            );
        }
    }
}

fn header(tag: u8) -> Writer {
    let mut w = Writer::new();
    w.raw(&MAGIC);
    w.u8(FORMAT_VERSION);
    w.u8(tag);
    w
}

const TAG_VV: u8 = 0x01;
const TAG_CTX: u8 = 0x02;
const TAG_GCOUNTER: u8 = 0x10;
const TAG_PNCOUNTER: u8 = 0x11;
const TAG_ORSET_U64: u8 = 0x21;
const TAG_ORSET_STRING: u8 = 0x23;
const TAG_LWW_STRING: u8 = 0x33;
const TAG_MV_STRING: u8 = 0x43;
const TAG_KEYSPACE: u8 = 0x50;

// ---------------------------------------------------------------- valid encodings

fn valid_values(n: u64) -> Vec<(String, Vec<u8>, u8)> {
    let mut out: Vec<(String, Vec<u8>, u8)> = Vec::new();
    let mut g = GCounter::new();
    let mut pn = PnCounter::new();
    let mut vv = VersionVector::new();
    for i in 1..=n {
        let _ = g.increment(r(i), 1);
        let _ = pn.decrement(r(i), 1);
        vv.advance(r(i), 1);
    }
    out.push((format!("GCounter, {n} replicas"), encode(&g), TAG_GCOUNTER));
    out.push((
        format!("PnCounter, {n} replicas"),
        encode(&pn),
        TAG_PNCOUNTER,
    ));
    out.push((format!("VersionVector, {n} replicas"), encode(&vv), TAG_VV));

    let mut gaps = CausalContext::new();
    for i in 1..=n {
        gaps.insert(Dot::new(r(1), 2 * i + 1));
    }
    out.push((
        format!("CausalContext, {n} one-dot gaps"),
        encode(&gaps),
        TAG_CTX,
    ));
    let mut clouds = CausalContext::new();
    for i in 1..=n {
        clouds.insert(Dot::new(r(i), 3));
    }
    out.push((
        format!("CausalContext, {n} replicas with a cloud"),
        encode(&clouds),
        TAG_CTX,
    ));

    let mut seq: OrSet<u64> = OrSet::new();
    for v in 0..n {
        let _ = seq.insert(r(1), v);
    }
    out.push((
        format!("OrSet<u64>, {n} sequential inserts"),
        encode(&seq),
        TAG_ORSET_U64,
    ));
    let mut wide: OrSet<u64> = OrSet::new();
    for v in 0..n {
        let _ = wide.insert(r(v + 1), v);
    }
    out.push((
        format!("OrSet<u64>, {n} elements by {n} replicas"),
        encode(&wide),
        TAG_ORSET_U64,
    ));
    let mut multi: OrSet<u64> = OrSet::new();
    let mut other: OrSet<u64> = OrSet::new();
    for v in 0..n {
        let _ = multi.insert(r(1), v);
        let _ = other.insert(r(2), v);
    }
    multi.merge(&other);
    out.push((
        format!("OrSet<u64>, {n} elements with 2 dots each"),
        encode(&multi),
        TAG_ORSET_U64,
    ));
    let mut strings: OrSet<String> = OrSet::new();
    for v in 0..n {
        let _ = strings.insert(r(1), format!("{v}"));
    }
    out.push((
        format!("OrSet<String>, {n} short strings"),
        encode(&strings),
        TAG_ORSET_STRING,
    ));
    let mut delta = OrSetDelta::new();
    let mut s2 = strings.clone();
    for v in (0..n).step_by(2) {
        delta.join(&s2.remove(&format!("{v}")));
    }
    out.push((
        format!("OrSet<String> delta, {} removal hints", n.div_ceil(2)),
        encode(&delta),
        TAG_ORSET_STRING,
    ));
    let mut lww: LwwRegister<String> = LwwRegister::new();
    let _ = lww.set(r(1), "x".repeat(n as usize), 5);
    out.push((
        format!("LwwRegister<String>, {n}-byte value"),
        encode(&lww),
        TAG_LWW_STRING,
    ));
    let mut seen: LwwRegister<String> = LwwRegister::new();
    for i in 1..=n {
        let mut other = LwwRegister::new();
        let _ = other.set(r(i), String::new(), 1);
        seen.merge(&other);
    }
    let _ = seen.set(r(1), "y".to_string(), 9);
    out.push((
        format!("LwwRegister<String>, seen {n} writers"),
        encode(&seen),
        TAG_LWW_STRING,
    ));
    let mut mv: MvRegister<String> = MvRegister::new();
    for i in 1..=n {
        let mut other = MvRegister::new();
        let _ = other.set(r(i), String::new());
        mv.merge(&other);
    }
    out.push((
        format!("MvRegister<String>, {n} concurrent writes"),
        encode(&mv),
        TAG_MV_STRING,
    ));
    let mut keys = Keyspace::new();
    let mut set = Keyspace::new();
    for i in 0..n {
        let _ = keys.increment(r(1), &format!("{i}"), 1);
        let _ = set.set_insert(r(1), "s", format!("{i}"));
    }
    out.push((
        format!("Keyspace, {n} counter keys"),
        encode(&keys),
        TAG_KEYSPACE,
    ));
    out.push((
        format!("Keyspace, one OR-Set of {n} elements"),
        encode(&set),
        TAG_KEYSPACE,
    ));
    out
}

/// Decodes `bytes` as the type its tag names; returns (accepted, stats).
fn decode_tagged(what: &str, bytes: &[u8], tag: u8) -> (bool, Stats) {
    match tag {
        TAG_VV => within::<VersionVector>(what, bytes, COMPACT),
        TAG_CTX => within::<CausalContext>(what, bytes, COMPACT),
        TAG_GCOUNTER => within::<GCounter>(what, bytes, COMPACT),
        TAG_PNCOUNTER => within::<PnCounter>(what, bytes, COMPACT),
        TAG_ORSET_U64 => within::<OrSet<u64>>(what, bytes, ELEMENTS),
        TAG_ORSET_STRING => within::<OrSet<String>>(what, bytes, ELEMENTS),
        TAG_LWW_STRING => within::<LwwRegister<String>>(what, bytes, ELEMENTS),
        TAG_MV_STRING => within::<MvRegister<String>>(what, bytes, ELEMENTS),
        TAG_KEYSPACE => within::<Keyspace>(what, bytes, ELEMENTS),
        _ => unreachable!("no such tag in these tests"),
    }
}

/// The bounds below pass vacuously if nothing is counted (the counting allocator not
/// installed, or counting never switched on): an allocation of known size must be seen.
#[test]
fn the_counting_allocator_counts() {
    let (v, stats) = measure(|| std::hint::black_box(Vec::<u8>::with_capacity(4096)));
    assert!(v.capacity() >= 4096);
    assert!(
        stats.allocations >= 1 && stats.bytes >= 4096 && stats.peak >= 4096,
        "a 4096-byte allocation was not counted: {stats:?} (is CountingAlloc the global \
         allocator?)"
    );
    drop(v);
    // Counting is off outside `measure`: nothing from this thread leaks into the next.
    let (_, idle) = measure(|| ());
    assert_eq!(idle, Stats::default());
}

#[test]
fn valid_encodings_allocate_a_constant_multiple_of_their_size() {
    let mut report = Report::new();
    for n in [1u64, 10, 100, 1_000, 10_000, 50_000] {
        for (what, bytes, tag) in valid_values(n) {
            let (ok, stats) = decode_tagged(&what, &bytes, tag);
            assert!(ok, "{what}: a valid encoding is accepted");
            // 100 entries or more cannot live inline: decoding them must have been
            // counted, or the bound above was checked against nothing.
            assert!(
                n < 100 || (stats.allocations > 0 && stats.bytes > 0),
                "{what}: decoding {} bytes counted no allocation ({stats:?})",
                bytes.len()
            );
            report.add(&what, bytes.len(), stats, ok);
        }
    }
    report.print("valid encodings");
}

// ---------------------------------------------------------------- garbage

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const TAGS: [u8; 9] = [
    TAG_VV,
    TAG_CTX,
    TAG_GCOUNTER,
    TAG_PNCOUNTER,
    TAG_ORSET_U64,
    TAG_ORSET_STRING,
    TAG_LWW_STRING,
    TAG_MV_STRING,
    TAG_KEYSPACE,
];

#[test]
fn garbage_allocates_within_the_bound() {
    let mut rng = Rng(7);
    let mut worst = [0f64; TAGS.len()];
    let mut accepted = 0;
    for i in 0..3_000usize {
        let tag = TAGS[i % TAGS.len()];
        let len = (rng.next() % 4_096) as usize;
        let mut bytes = rng.bytes(len);
        if i % 5 != 0 {
            // Mostly past the header, where the decoder does its work.
            let mut h = header(tag).into_bytes();
            h.append(&mut bytes);
            bytes = h;
        }
        let (ok, stats) = decode_tagged("garbage", &bytes, tag);
        accepted += usize::from(ok);
        let ratio = stats.bytes as f64 / bytes.len().max(1) as f64;
        let k = i % TAGS.len();
        worst[k] = worst[k].max(ratio);
    }
    eprintln!("\ngarbage: 3000 inputs up to 4 KiB, {accepted} accepted; most bytes allocated per input byte, by tag:");
    for (tag, w) in TAGS.iter().zip(worst) {
        eprintln!("  tag {tag:#04x}: {w:.2}");
    }
}

#[test]
fn mutated_valid_encodings_allocate_within_the_bound() {
    let mut rng = Rng(11);
    let mut report = Report::new();
    for (what, bytes, tag) in valid_values(300) {
        let mut worst: Option<(usize, Stats, bool)> = None;
        for _ in 0..200 {
            let mut m = bytes.clone();
            for _ in 0..1 + rng.next() % 3 {
                let at = (rng.next() as usize) % m.len();
                match rng.next() % 3 {
                    0 => m[at] ^= 1 << (rng.next() % 8),
                    1 => m[at] = rng.next() as u8,
                    _ => m.truncate(at.max(4)),
                }
            }
            let (ok, stats) = decode_tagged(&what, &m, tag);
            if worst.map_or(true, |(l, s, _)| {
                stats.bytes * l as u64 > s.bytes * m.len() as u64
            }) {
                worst = Some((m.len(), stats, ok));
            }
        }
        if let Some((len, stats, ok)) = worst {
            report.add(&format!("mutated {what}"), len, stats, ok);
        }
    }
    report.print("mutated valid encodings (worst of 200 mutants each)");
}

// ---------------------------------------------------------------- adversarial

struct Case {
    what: &'static str,
    bytes: Vec<u8>,
    tag: u8,
    /// The most bytes the rejection may allocate in total.
    max_bytes: u64,
}

fn adversarial() -> Vec<Case> {
    let mut out = Vec::new();
    // Rejected by a length, limit or varint check: nothing allocated for the body.
    let small = |what, w: Writer, tag| Case {
        what,
        bytes: w.into_bytes(),
        tag,
        max_bytes: 64,
    };
    // Rejected while assembling an OR-Set: what was read so far may be allocated.
    let structural = |what, w: Writer, tag| {
        let bytes = w.into_bytes();
        Case {
            what,
            max_bytes: REJECTED * bytes.len() as u64 + 256,
            bytes,
            tag,
        }
    };

    // Huge declared lengths, at every kind of collection.
    let mut w = header(TAG_VV);
    w.varint(u64::MAX / 2);
    out.push(small("vv: u64::MAX/2 entries declared", w, TAG_VV));
    let mut w = header(TAG_GCOUNTER);
    w.varint(1 << 16);
    w.raw(&[1; 10]);
    out.push(small(
        "gcounter: 65536 replicas declared, 10 bytes follow",
        w,
        TAG_GCOUNTER,
    ));
    let mut w = header(TAG_VV);
    w.varint((1 << 16) + 1);
    for i in 0..(1u64 << 16) + 1 {
        w.varint(i + 1);
        w.varint(1);
    }
    let mut c = small(
        "vv: 65537 replicas, all present (over max_replicas)",
        w,
        TAG_VV,
    );
    c.max_bytes = 64;
    out.push(c);
    let mut w = header(TAG_PNCOUNTER);
    w.varint(1 << 15);
    w.raw(&[1; 3 * 100]);
    out.push(small(
        "pncounter: 32768 entries declared, 100 present",
        w,
        TAG_PNCOUNTER,
    ));
    let mut w = header(TAG_CTX);
    w.varint(0);
    w.varint(1);
    w.varint(1);
    w.varint(1 << 22);
    w.raw(&[0; 64]);
    out.push(small(
        "context: a cloud of 2^22 runs declared, 32 present",
        w,
        TAG_CTX,
    ));
    let mut w = header(TAG_ORSET_U64);
    w.raw(&[0, 0]);
    w.varint((1 << 23) + 1);
    w.raw(&[0; 64]);
    out.push(small(
        "orset: max_elements + 1 elements declared",
        w,
        TAG_ORSET_U64,
    ));
    let mut w = header(TAG_ORSET_STRING);
    w.raw(&[0, 0, 1]);
    w.varint(1 << 60);
    w.raw(b"abc");
    out.push(small(
        "orset<String>: a 2^60-byte string declared",
        w,
        TAG_ORSET_STRING,
    ));
    let mut w = header(TAG_LWW_STRING);
    w.varint(1);
    w.varint(1);
    w.varint(1);
    w.u8(1);
    w.varint(u64::MAX);
    w.raw(b"x");
    out.push(small(
        "lww<String>: a u64::MAX-byte value declared",
        w,
        TAG_LWW_STRING,
    ));

    // Overlong and overflowing varints.
    let mut w = header(TAG_GCOUNTER);
    w.raw(&[0x80, 0x00]);
    out.push(small("overlong varint 80 00", w, TAG_GCOUNTER));
    let mut w = header(TAG_GCOUNTER);
    w.raw(&[0xff; 10]);
    w.u8(0x01);
    out.push(small("varint with a 10th byte above 01", w, TAG_GCOUNTER));
    let mut w = header(TAG_GCOUNTER);
    w.raw(&[0x80; 4096]);
    out.push(small("4096 continuation bytes", w, TAG_GCOUNTER));

    // Deep/wide OR-Set structure: huge dot runs, many replicas, huge dot groups.
    let mut w = header(TAG_ORSET_U64);
    w.raw(&[1, 1, 3, 0]); // context: replica 1 has dots 1..=3; no cloud
    w.varint(3);
    w.raw(&[0, 1, 2]); // elements
    w.varint(1);
    w.varint(1); // table: [replica 1]
    w.varint(1 << 40); // a run of 2^40 elements
    w.varint(0);
    w.varint(1);
    out.push(structural(
        "orset: a dot run of 2^40 elements over 3",
        w,
        TAG_ORSET_U64,
    ));
    let mut w = header(TAG_ORSET_U64);
    w.raw(&[1, 1, 3, 0]);
    w.varint(1);
    w.u8(0);
    w.varint(1);
    w.varint(1);
    w.varint(0); // a multi-dot group ...
    w.varint(1 << 22); // ... of 2^22 dots
    w.raw(&[0, 1, 0, 2]);
    out.push(structural(
        "orset: a multi-dot group of 2^22 dots declared",
        w,
        TAG_ORSET_U64,
    ));
    let mut w = header(TAG_ORSET_U64);
    w.varint(1); // context: replica 1 has dots 1..=u64::MAX; no cloud
    w.varint(1);
    w.varint(u64::MAX);
    w.varint(0);
    w.varint(2);
    w.raw(&[0, 1]); // elements
    w.varint(1);
    w.varint(1); // table: [replica 1]
    w.varint(2); // a run of 2 dots ...
    w.varint(0);
    w.varint(u64::MAX); // ... from u64::MAX: overflows
    out.push(structural(
        "orset: a dot run ending past u64::MAX",
        w,
        TAG_ORSET_U64,
    ));
    let mut w = header(TAG_CTX);
    w.varint(0);
    w.varint(1);
    w.varint(1);
    w.varint(2);
    w.varint(u64::MAX - 3);
    w.varint(0);
    w.varint(5);
    w.varint(0);
    out.push(small("context: cloud runs past u64::MAX", w, TAG_CTX));

    // Inputs that are rejected only after real work: they may allocate for what they
    // contain (bounded per byte), never for what they declare.
    let n = 60_000u64;
    let mut w = header(TAG_ORSET_U64);
    w.raw(&[0, 0]);
    w.varint(n);
    w.varint(5);
    for _ in 1..n {
        w.varint(5); // unsorted at the second element
    }
    let bytes = w.into_bytes();
    out.push(Case {
        what: "orset<u64>: 60000 elements declared, 2nd unsorted",
        max_bytes: REJECTED * bytes.len() as u64,
        bytes,
        tag: TAG_ORSET_U64,
    });
    let mut w = header(TAG_ORSET_STRING);
    w.raw(&[0, 0]);
    w.varint(n);
    for _ in 0..n {
        w.varint(0); // "" repeated: unsorted at the second
    }
    let bytes = w.into_bytes();
    out.push(Case {
        what: "orset<String>: 60000 empty strings declared, 2nd dup",
        max_bytes: REJECTED * bytes.len() as u64,
        bytes,
        tag: TAG_ORSET_STRING,
    });
    let k = 60_000u64;
    let mut w = header(TAG_ORSET_U64);
    w.raw(&[0, 0, 0]); // empty context, no elements
    w.varint(k);
    for i in 1..=k {
        w.varint(i); // a dot table of 60000 replicas no dot uses
    }
    w.u8(0);
    let bytes = w.into_bytes();
    out.push(Case {
        what: "orset: a dot table of 60000 unused replicas",
        max_bytes: REJECTED * bytes.len() as u64,
        bytes,
        tag: TAG_ORSET_U64,
    });
    let mut w = header(TAG_CTX);
    w.varint(0);
    w.varint(1);
    w.varint(7);
    w.varint(100_000);
    for _ in 0..100_000 {
        w.raw(&[0, 0]);
    }
    w.u8(0xff); // trailing byte after 100000 valid runs
    let bytes = w.into_bytes();
    out.push(Case {
        what: "context: 100000 cloud runs, then a trailing byte",
        max_bytes: REJECTED * bytes.len() as u64,
        bytes,
        tag: TAG_CTX,
    });
    let mut dup: OrSet<u64> = OrSet::new();
    for v in 0..50_000u64 {
        let _ = dup.insert(r(1), v);
    }
    let mut bytes = encode(&dup);
    bytes.push(0); // trailing byte after a large valid set
    out.push(Case {
        what: "orset: 50000 elements, then a trailing byte",
        max_bytes: ELEMENTS * bytes.len() as u64,
        bytes,
        tag: TAG_ORSET_U64,
    });
    out
}

#[test]
fn adversarial_inputs_are_rejected_without_allocating_what_they_declare() {
    let mut report = Report::new();
    for case in adversarial() {
        let (ok, stats) = decode_tagged(case.what, &case.bytes, case.tag);
        assert!(!ok, "{}: rejected", case.what);
        assert!(
            stats.bytes <= case.max_bytes,
            "{}: rejecting {} bytes allocated {} bytes (at most {})",
            case.what,
            case.bytes.len(),
            stats.bytes,
            case.max_bytes
        );
        report.add(case.what, case.bytes.len(), stats, ok);
    }
    report.print("adversarial inputs (all rejected)");
}

#[test]
fn hostile_snapshots_are_rejected_without_allocating_what_they_declare() {
    let mut leader = new_leader(r(1), OrSet::<u64>::new());
    leader.add_peer(r(2)).expect("peer");
    let snap = leader.checkpoint().bytes().to_vec();
    // Header (magic, version, tag), id, incarnation, token, then the peer count.
    let mut w = Writer::new();
    w.raw(&snap[..4]);
    w.varint(1);
    w.varint(0);
    w.varint(0);
    w.varint(u64::MAX >> 1);
    w.raw(&[2; 16]);
    let bytes = w.into_bytes();
    let (result, stats) = measure(|| Leader::<OrSet<u64>>::restore(&bytes).map(|_| ()));
    assert!(
        result.is_err(),
        "a snapshot declaring 2^63 peers is rejected"
    );
    assert!(
        stats.bytes <= 64,
        "rejecting it allocated {} bytes",
        stats.bytes
    );
    let mut w = Writer::new();
    w.raw(&snap[..4]);
    w.varint(1);
    w.varint(u64::from(u32::MAX));
    let bytes = w.into_bytes();
    let (result, _) = measure(|| Leader::<OrSet<u64>>::restore(&bytes).map(|_| ()));
    assert!(
        result.is_err(),
        "an incarnation that cannot advance is rejected"
    );
}

// ---------------------------------------------------------------- application types

/// An application element type whose smallest encoding (1 byte, `Empty`) is far
/// smaller than its size in memory (264 bytes): `Option<[u8; 32]>`-like keys, enums
/// with a large variant, and so on are common.
#[allow(clippy::large_enum_variant)] // the large variant is the point
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
enum Blob {
    Empty,
    Full([u64; 32]),
}

impl crdt_core::codec::WireValue for Blob {}

#[test]
fn application_element_types_allocate_within_the_bound() {
    // 60000 elements declared and 60000 one-byte values present (each `Empty`, so the
    // second is a duplicate and the input is rejected). Every length check passes:
    // each element takes at least 1 byte, and 60000 bytes remain.
    let n = 60_000u64;
    let mut w = header(0x20); // OrSet of an application type (kind 0)
    w.raw(&[0, 0]);
    w.varint(n);
    for _ in 0..n {
        w.u8(0);
    }
    let bytes = w.into_bytes();
    let (result, stats) = measured::<OrSet<Blob>>(&bytes);
    assert!(result.is_err());
    assert!(stats.bytes > 0, "decoding 60000 elements counted nothing");
    eprintln!(
        "OrSet<Blob>: rejecting {} bytes allocated {} bytes ({:.0} per input byte)",
        bytes.len(),
        stats.bytes,
        stats.bytes as f64 / bytes.len() as f64
    );
    assert!(
        stats.bytes <= ELEMENTS * bytes.len() as u64 + CONSTANT,
        "OrSet<Blob>: rejecting {} bytes allocated {} bytes: the element vector is reserved \
         for the declared count before any element is read, at size_of::<Blob>() = {} bytes \
         per input byte (a 16 MiB message would reserve {} GiB)",
        bytes.len(),
        stats.bytes,
        std::mem::size_of::<Blob>(),
        ((16u64 << 20) * std::mem::size_of::<Blob>() as u64) >> 30
    );
}
