//! The decoder against hostile input: truncations, bit flips, garbage, limits, and
//! hand-built bytes that are well-formed but describe impossible states.
//!
//! The rule checked everywhere: a decode returns `Err`, or `Ok` of a value whose
//! re-encoding is exactly the input (a corruption that happens to land on another
//! valid canonical encoding); it never panics. Hand-built invalid inputs are written
//! with the public `Writer` and must fail with one precise error.

mod codec_gen;

use codec_gen::{hex, qc, simulate, Model, Step};
use crdt_core::codec::{
    decode, decode_with_limits, encode, try_encode, DecodeError, DecodeLimits, Invalid, Limit,
    TypeTag, ValueError, WireFormat, WireValue, Writer, FORMAT_VERSION, MAGIC,
};
use crdt_core::{
    CausalContext, Crdt, Dot, GCounter, Keyspace, LwwRegister, MvRegister, OrSet, OrSetDelta,
    PnCounter, ReplicaId, VersionVector,
};
use quickcheck::TestResult;
use std::panic::catch_unwind;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/// Decodes as `T` under the given limits and re-encodes what was accepted.
type Redecode = fn(&[u8], &DecodeLimits) -> Result<Vec<u8>, DecodeError>;

fn redecode<T: WireFormat>(bytes: &[u8], limits: &DecodeLimits) -> Result<Vec<u8>, DecodeError> {
    decode_with_limits::<T>(bytes, limits).map(|v| encode(&v))
}

const DEFAULT: DecodeLimits = DecodeLimits::DEFAULT;

/// `(name, type tag, decoder)` for each listed type.
macro_rules! decoders {
    ($($t:ty),* $(,)?) => {
        &[$((stringify!($t), <$t as WireFormat>::TYPE_TAG, redecode::<$t> as Redecode)),*]
    };
}

/// Every decoder: the seven types under test and the other element kinds.
const DECODERS: &[(&str, u8, Redecode)] = decoders![
    GCounter,
    PnCounter,
    VersionVector,
    CausalContext,
    OrSet<u64>,
    OrSet<String>,
    OrSet<i64>,
    OrSet<Vec<u8>>,
    OrSet<u32>,
    OrSet<i32>,
    OrSet<bool>,
    LwwRegister<String>,
    LwwRegister<u64>,
    LwwRegister<bool>,
    MvRegister<String>,
    MvRegister<u64>,
    Keyspace,
];

/// Runs `f` on `bytes`; `Err(msg)` if it panics or accepts non-canonical bytes.
fn hostile(name: &str, f: Redecode, bytes: &[u8]) -> Result<Option<DecodeError>, String> {
    match catch_unwind(|| f(bytes, &DEFAULT)) {
        Err(_) => Err(format!("{name}: decoder panicked on {}", hex(bytes))),
        Ok(Err(e)) => Ok(Some(e)),
        Ok(Ok(again)) if again == bytes => Ok(None),
        Ok(Ok(again)) => Err(format!(
            "{name}: accepted non-canonical input\n   input {}\nre-encode {}",
            hex(bytes),
            hex(&again)
        )),
    }
}

/// `hostile` under every decoder.
fn hostile_all(bytes: &[u8]) -> Result<usize, String> {
    let mut accepted = 0;
    for (name, _, f) in DECODERS {
        accepted += usize::from(hostile(name, *f, bytes)?.is_none());
    }
    Ok(accepted)
}

fn header<T: WireFormat>() -> Writer {
    let mut w = Writer::new();
    w.raw(&MAGIC);
    w.u8(FORMAT_VERSION);
    w.u8(T::TYPE_TAG);
    w
}

fn r(id: u64) -> ReplicaId {
    ReplicaId::new(id)
}

/// Asserts `decode::<T>(bytes)` fails with exactly `expected`.
#[track_caller]
fn assert_rejects<T: WireFormat + std::fmt::Debug>(bytes: &[u8], expected: DecodeError) {
    match decode::<T>(bytes) {
        Err(e) => assert_eq!(e, expected, "wrong error for {}", hex(bytes)),
        Ok(v) => panic!("accepted {} as {v:?}; expected {expected:?}", hex(bytes)),
    }
}

#[track_caller]
fn assert_invalid<T: WireFormat + std::fmt::Debug>(bytes: &[u8], expected: Invalid) {
    assert_rejects::<T>(bytes, DecodeError::Invalid(expected));
}

// ---------------------------------------------------------------------------------
// Small valid samples of every type (small, so exhaustive bit flips stay cheap)
// ---------------------------------------------------------------------------------

fn sample_orset_u64() -> (OrSet<u64>, OrSet<u64>) {
    let (a, b) = (r(1), r(300));
    let mut x = OrSet::new();
    let mut y = OrSet::new();
    let d1 = x.insert(a, 10);
    let d2 = x.insert(a, 11);
    let d3 = x.insert(a, 12);
    y.apply_delta(&d1);
    let d4 = y.insert(b, 10); // replaces (a,1) at y
    let d5 = x.insert(a, 70_000); // (a,4), never delivered: y gets (a,5) only
    let d6 = x.insert(a, 13);
    let d7 = x.remove(&11);
    y.apply_delta(&d3);
    y.apply_delta(&d6);
    y.apply_delta(&d7);
    let _ = (d2, d5);
    let mut z = OrSet::new();
    let d8 = z.insert(r(2), 12);
    y.apply_delta(&d8);
    let delta: OrSetDelta<u64> = [d4, d7].into_iter().collect();
    (y, delta.into_set())
}

fn sample_orset_string() -> (OrSet<String>, OrSet<String>) {
    let (a, b) = (r(1), r(2));
    let mut x = OrSet::new();
    let mut y = OrSet::new();
    let d1 = x.insert(a, "milk".to_string());
    let d2 = y.insert(b, "milk".to_string());
    let d3 = x.insert(a, "é".to_string());
    x.apply_delta(&d2);
    y.apply_delta(&d1);
    let d4 = y.remove(&"milk".to_string());
    x.apply_delta(&d4);
    let _ = x.insert(a, String::new());
    x.apply_delta(&d3);
    (x, d4.into_set())
}

fn sample_lww() -> LwwRegister<String> {
    let mut x = LwwRegister::new();
    let mut y = LwwRegister::new();
    let d1 = x.set(r(1), "a".to_string(), 1_000);
    y.merge(&d1);
    let d2 = y.set(r(2), "b".to_string(), 900);
    let d3 = x.set(r(1), "c".to_string(), 1_001);
    x.merge(&d2);
    y.merge(&d3);
    x
}

fn sample_mv() -> MvRegister<String> {
    let mut x = MvRegister::new();
    let mut y = MvRegister::new();
    let d1 = x.set(r(1), "a".to_string());
    let d2 = y.set(r(200), "b".to_string());
    x.merge(&d2);
    let _ = d1;
    x
}

/// Every value type once, a type conflict, and a causal gap.
fn sample_keyspace() -> Keyspace {
    let (mut x, mut y) = (Keyspace::new(), Keyspace::new());
    let _ = x.increment(r(1), "g", 3).unwrap();
    let _ = x.pn_decrement(r(1), "p", 2).unwrap();
    let gap = x.set_insert(r(1), "s", "e".into()).unwrap();
    let _ = x.lww_set(r(1), "l", "v".into(), 7).unwrap();
    let _ = y.mv_set(r(200), "m", "w".into()).unwrap();
    let _ = y.increment(r(200), "l", 1).unwrap();
    y.merge(&x.delete("g").unwrap());
    let _ = gap;
    x.merge(&y);
    x
}

/// (name, bytes, own decoder) for every sample.
fn samples() -> Vec<(&'static str, Vec<u8>, Redecode)> {
    let mut g = GCounter::new();
    let _ = g.increment(r(1), 3);
    let _ = g.increment(r(200), 5);
    let mut p = PnCounter::new();
    let _ = p.increment(r(1), 3);
    let _ = p.decrement(r(1), 1);
    let _ = p.decrement(r(200), 2);
    let vv: VersionVector = [(r(1), 2), (r(1 << 35), 1)].into_iter().collect();
    let ctx: CausalContext = [
        Dot::new(r(1), 1),
        Dot::new(r(1), 2),
        Dot::new(r(1), 5),
        Dot::new(r(1), 6),
        Dot::new(r(200), 3),
    ]
    .into_iter()
    .collect();
    let (su, du) = sample_orset_u64();
    let (ss, ds) = sample_orset_string();
    vec![
        ("gcounter", encode(&g), redecode::<GCounter>),
        ("pncounter", encode(&p), redecode::<PnCounter>),
        ("version_vector", encode(&vv), redecode::<VersionVector>),
        ("causal_context", encode(&ctx), redecode::<CausalContext>),
        ("orset_u64", encode(&su), redecode::<OrSet<u64>>),
        ("orset_u64_delta", encode(&du), redecode::<OrSet<u64>>),
        ("orset_string", encode(&ss), redecode::<OrSet<String>>),
        ("orset_string_delta", encode(&ds), redecode::<OrSet<String>>),
        (
            "lww_string",
            encode(&sample_lww()),
            redecode::<LwwRegister<String>>,
        ),
        (
            "mv_string",
            encode(&sample_mv()),
            redecode::<MvRegister<String>>,
        ),
        ("keyspace", encode(&sample_keyspace()), redecode::<Keyspace>),
    ]
}

#[test]
fn samples_are_valid_and_cover_the_format() {
    for (name, bytes, f) in samples() {
        assert_eq!(f(&bytes, &DEFAULT).as_deref(), Ok(&bytes[..]), "{name}");
    }
    let (su, du) = sample_orset_u64();
    assert!(!su.context().is_compact(), "sample needs a causal gap");
    assert_eq!(
        su.dots(&12).map(<[Dot]>::len),
        Some(2),
        "sample needs a multi-dot element"
    );
    assert!(du.has_removal_hints() && !su.has_removal_hints());
}

// ---------------------------------------------------------------------------------
// Truncations, bit flips, garbage
// ---------------------------------------------------------------------------------

#[test]
fn every_truncation_is_rejected() {
    for (name, bytes, own) in samples() {
        for cut in 0..bytes.len() {
            let prefix = &bytes[..cut];
            match hostile(name, own, prefix) {
                Ok(Some(DecodeError::Truncated)) => {}
                other => panic!("{name} cut at {cut} ({}): {other:?}", hex(prefix)),
            }
            if let Err(msg) = hostile_all(prefix) {
                panic!("{msg}");
            }
        }
    }
}

#[test]
fn every_bit_flip_is_rejected_or_canonical() {
    let started = Instant::now();
    let (mut flips, mut accepted) = (0, 0);
    for (name, bytes, own) in samples() {
        for bit in 0..bytes.len() * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            flips += 1;
            let result = hostile_all(&flipped).and_then(|n| {
                // Flips in the header fail there, with the header's errors.
                if bit < 32 && n == 0 {
                    match own(&flipped, &DEFAULT) {
                        Err(
                            DecodeError::BadMagic { .. }
                            | DecodeError::UnsupportedVersion { .. }
                            | DecodeError::WrongType { .. },
                        ) => {}
                        other => return Err(format!("header flip {bit}: {other:?}")),
                    }
                }
                Ok(n)
            });
            match result {
                Ok(n) => accepted += n,
                Err(msg) => panic!("{name}, bit {bit}: {msg}"),
            }
        }
    }
    println!(
        "{flips} bit flips x {} decoders: {accepted} accepted as other canonical values, in {:?}",
        DECODERS.len(),
        started.elapsed()
    );
    // Flips of counters and ids land on other valid values; the test must see some.
    assert!(accepted > 0);
}

#[test]
fn empty_and_short_inputs_are_truncated() {
    for bytes in [&[][..], &[0xD1], &[0xD1, 0xC7], &[0xD1, 0xC7, 0x01]] {
        for (name, _, f) in DECODERS {
            assert_eq!(
                f(bytes, &DEFAULT),
                Err(DecodeError::Truncated),
                "{name} {}",
                hex(bytes)
            );
        }
    }
    // A header alone: the body is missing.
    assert_rejects::<GCounter>(&header::<GCounter>().into_bytes(), DecodeError::Truncated);
    assert_rejects::<OrSet<u64>>(&header::<OrSet<u64>>().into_bytes(), DecodeError::Truncated);
}

/// Bytes after a header, biased to small values so that structures often parse.
fn biased(garbage: &[u8]) -> Vec<u8> {
    garbage
        .iter()
        .map(|&b| if b < 192 { b % 4 } else { b })
        .collect()
}

fn garbage_prop(garbage: Vec<u8>) -> TestResult {
    let mut with_magic = MAGIC.to_vec();
    with_magic.push(FORMAT_VERSION);
    with_magic.extend_from_slice(&garbage);
    let result = hostile_all(&garbage).and_then(|_| hostile_all(&with_magic));
    match result {
        Ok(_) => TestResult::passed(),
        Err(msg) => TestResult::error(msg),
    }
}

#[test]
fn random_garbage_is_rejected_or_canonical() {
    qc().quickcheck(garbage_prop as fn(Vec<u8>) -> TestResult);
}

fn garbage_after_header_prop(which: u8, garbage: Vec<u8>, raw: bool) -> TestResult {
    let (name, tag, f) = DECODERS[usize::from(which) % DECODERS.len()];
    let mut bytes = MAGIC.to_vec();
    bytes.push(FORMAT_VERSION);
    bytes.push(tag);
    bytes.extend(if raw { garbage } else { biased(&garbage) });
    match hostile(name, f, &bytes) {
        Ok(_) => TestResult::passed(),
        Err(msg) => TestResult::error(msg),
    }
}

#[test]
fn random_garbage_after_a_valid_header_is_rejected_or_canonical() {
    qc().quickcheck(garbage_after_header_prop as fn(u8, Vec<u8>, bool) -> TestResult);
}

/// The biased garbage does reach deep into the bodies: some of it is accepted.
#[test]
fn garbage_after_header_sometimes_decodes() {
    // Fixed seed: the count below is deterministic.
    let mut g = quickcheck::Gen::from_size_and_seed(16, 0xC0DEC);
    let mut accepted = 0;
    for i in 0..20_000u32 {
        let garbage: Vec<u8> = quickcheck::Arbitrary::arbitrary(&mut g);
        let (name, tag, f) = DECODERS[i as usize % DECODERS.len()];
        let mut bytes = MAGIC.to_vec();
        bytes.push(FORMAT_VERSION);
        bytes.push(tag);
        bytes.extend(biased(&garbage));
        match hostile(name, f, &bytes) {
            Ok(None) => accepted += 1,
            Ok(Some(_)) => {}
            Err(msg) => panic!("{msg}"),
        }
    }
    println!("{accepted} of 20000 garbage bodies decoded (canonically)");
    assert!(accepted > 50, "{accepted}");
}

/// Random states of each type, one random truncation and one random bit flip each.
fn corrupt_prop<S: Model>(steps: Vec<Step>, pick: u16, bit: u16) -> TestResult {
    let out = simulate::<S>(&steps);
    let values: Vec<&S> = out.values().collect();
    let v = values[usize::from(pick) % values.len()];
    let bytes = encode(v);
    let cut = usize::from(bit) % bytes.len();
    let mut flipped = bytes.clone();
    flipped[usize::from(bit / 8) % bytes.len()] ^= 1 << (bit % 8);
    let own: Redecode = redecode::<S>;
    let result = match hostile("own", own, &bytes[..cut]) {
        Ok(Some(DecodeError::Truncated)) => hostile_all(&flipped).map(|_| ()),
        other => Err(format!("prefix {} of {}: {other:?}", cut, hex(&bytes))),
    };
    match result {
        Ok(()) => TestResult::passed(),
        Err(msg) => TestResult::error(msg),
    }
}

macro_rules! corrupt_properties {
    ($($test:ident => $t:ty),* $(,)?) => {$(
        #[test]
        fn $test() {
            qc().quickcheck(corrupt_prop::<$t> as fn(Vec<Step>, u16, u16) -> TestResult);
        }
    )*};
}

corrupt_properties! {
    random_gcounter_truncated_or_flipped => GCounter,
    random_pncounter_truncated_or_flipped => PnCounter,
    random_orset_u64_truncated_or_flipped => OrSet<u64>,
    random_orset_string_truncated_or_flipped => OrSet<String>,
    random_lww_string_truncated_or_flipped => LwwRegister<String>,
    random_version_vector_truncated_or_flipped => VersionVector,
    random_causal_context_truncated_or_flipped => CausalContext,
}

// ---------------------------------------------------------------------------------
// Header errors, trailing bytes, varints
// ---------------------------------------------------------------------------------

#[test]
fn bad_magic() {
    let mut bytes = encode(&GCounter::new());
    bytes[0] = 0x00;
    assert_rejects::<GCounter>(
        &bytes,
        DecodeError::BadMagic {
            found: [0x00, 0xC7],
            expected: MAGIC,
        },
    );
    let swapped = [0xC7, 0xD1, 0x01, 0x10, 0x00];
    assert_rejects::<GCounter>(
        &swapped,
        DecodeError::BadMagic {
            found: [0xC7, 0xD1],
            expected: [0xD1, 0xC7],
        },
    );
}

#[test]
fn unsupported_version() {
    for (name, bytes, own) in samples() {
        let mut v2 = bytes.clone();
        v2[2] = 2;
        assert_eq!(
            own(&v2, &DEFAULT),
            Err(DecodeError::UnsupportedVersion {
                found: 2,
                supported: 1
            }),
            "{name}"
        );
        v2[2] = 0;
        assert_eq!(
            own(&v2, &DEFAULT),
            Err(DecodeError::UnsupportedVersion {
                found: 0,
                supported: 1
            }),
            "{name}"
        );
    }
}

#[test]
fn wrong_type() {
    let mut g = GCounter::new();
    let _ = g.increment(r(1), 1);
    assert_rejects::<PnCounter>(
        &encode(&g),
        DecodeError::WrongType {
            expected: TypeTag(0x11),
            found: TypeTag(0x10),
        },
    );
    let (s, _) = sample_orset_string();
    assert_rejects::<OrSet<u64>>(
        &encode(&s),
        DecodeError::WrongType {
            expected: TypeTag(0x21),
            found: TypeTag(0x23),
        },
    );
    assert_eq!(
        DecodeError::WrongType {
            expected: TypeTag(0x21),
            found: TypeTag(0x23),
        }
        .to_string(),
        "the bytes encode OrSet<String>, not OrSet<u64>: decode with the type that was encoded"
    );
    // Every sample decodes only as its own type; all others report WrongType.
    for (name, bytes, own) in samples() {
        assert!(own(&bytes, &DEFAULT).is_ok(), "{name}");
        for (other, tag, f) in DECODERS {
            if *tag == bytes[3] {
                continue;
            }
            assert_eq!(
                f(&bytes, &DEFAULT),
                Err(DecodeError::WrongType {
                    expected: TypeTag(*tag),
                    found: TypeTag(bytes[3]),
                }),
                "{name} decoded as {other}"
            );
        }
    }
}

#[test]
fn type_tags_are_as_documented() {
    assert_eq!(VersionVector::TYPE_TAG, 0x01);
    assert_eq!(CausalContext::TYPE_TAG, 0x02);
    assert_eq!(GCounter::TYPE_TAG, 0x10);
    assert_eq!(PnCounter::TYPE_TAG, 0x11);
    assert_eq!(OrSet::<u64>::TYPE_TAG, 0x21);
    assert_eq!(OrSet::<i64>::TYPE_TAG, 0x22);
    assert_eq!(OrSet::<String>::TYPE_TAG, 0x23);
    assert_eq!(OrSet::<Vec<u8>>::TYPE_TAG, 0x24);
    assert_eq!(OrSet::<u32>::TYPE_TAG, 0x25);
    assert_eq!(OrSet::<i32>::TYPE_TAG, 0x26);
    assert_eq!(OrSet::<bool>::TYPE_TAG, 0x27);
    assert_eq!(LwwRegister::<u64>::TYPE_TAG, 0x31);
    assert_eq!(LwwRegister::<String>::TYPE_TAG, 0x33);
    assert_eq!(LwwRegister::<bool>::TYPE_TAG, 0x37);
    assert_eq!(MvRegister::<u64>::TYPE_TAG, 0x41);
    assert_eq!(MvRegister::<String>::TYPE_TAG, 0x43);
    assert_eq!(Keyspace::TYPE_TAG, 0x50);
    assert_eq!(MAGIC, [0xD1, 0xC7]);
    assert_eq!(FORMAT_VERSION, 1);
}

#[test]
fn trailing_bytes() {
    for (name, bytes, own) in samples() {
        let mut more = bytes.clone();
        more.push(0);
        assert_eq!(
            own(&more, &DEFAULT),
            Err(DecodeError::TrailingBytes(1)),
            "{name}"
        );
        more.extend_from_slice(&[1, 2]);
        assert_eq!(
            own(&more, &DEFAULT),
            Err(DecodeError::TrailingBytes(3)),
            "{name}"
        );
        // Two encodings concatenated.
        let twice = [bytes.clone(), bytes.clone()].concat();
        assert_eq!(
            own(&twice, &DEFAULT),
            Err(DecodeError::TrailingBytes(bytes.len())),
            "{name}"
        );
    }
}

#[test]
fn overlong_and_overflowing_varints_are_bad() {
    // An empty counter's length written as 0x80 0x00 (zero, overlong).
    let mut w = header::<GCounter>();
    w.raw(&[0x80, 0x00]);
    assert_rejects::<GCounter>(w.as_bytes(), DecodeError::BadVarint);

    // A replica id 1 written as 0x81 0x00.
    let mut w = header::<GCounter>();
    w.len(1);
    w.raw(&[0x81, 0x00]);
    w.varint(1);
    assert_rejects::<GCounter>(w.as_bytes(), DecodeError::BadVarint);

    // A count 5 written as 0x85 0x80 0x00.
    let mut w = header::<VersionVector>();
    w.len(1);
    w.varint(1);
    w.raw(&[0x85, 0x80, 0x00]);
    assert_rejects::<VersionVector>(w.as_bytes(), DecodeError::BadVarint);

    // u64::MAX is ff x9 01; a tenth byte above 1 overflows, an eleventh byte is too long.
    let max = [[0xFF; 9].as_slice(), &[0x01]].concat();
    let mut w = header::<GCounter>();
    w.len(1);
    w.varint(1);
    w.raw(&max);
    let g: GCounter = decode(w.as_bytes()).expect("u64::MAX count decodes");
    assert_eq!(g.get(r(1)), u64::MAX);
    for bad in [
        [[0xFF; 9].as_slice(), &[0x02]].concat(),
        [[0xFF; 9].as_slice(), &[0x7F]].concat(),
        [[0xFF; 10].as_slice(), &[0x01]].concat(),
        [[0x80; 9].as_slice(), &[0x00]].concat(),
        vec![0xFF; 12],
    ] {
        let mut w = header::<GCounter>();
        w.len(1);
        w.varint(1);
        w.raw(&bad);
        assert_rejects::<GCounter>(w.as_bytes(), DecodeError::BadVarint);
    }

    // Overlong varints inside element values go through postcard and are caught by the
    // canonical re-encoding check.
    let mut w = header::<OrSet<u64>>();
    w.len(1); // vv: (1, 1)
    w.varint(1);
    w.varint(1);
    w.len(0); // no cloud
    w.len(1); // one element: 5 as 0x85 0x00
    w.raw(&[0x85, 0x00]);
    w.len(1); // table [1]
    w.varint(1);
    w.raw(&[1, 0, 1]); // run of 1 from (table[0], 1)
    w.u8(0); // no hints
    assert_invalid::<OrSet<u64>>(w.as_bytes(), Invalid::NonCanonical("an element value"));
}

#[test]
fn bad_element_values() {
    // A bool element byte 2, and a String that is not UTF-8: BadValue with crdt-core's
    // own ValueError (no third-party type in the public error).
    let set_of = |w: &mut Writer, element: &[u8]| {
        w.raw(&[1, 1, 1, 0]); // context: vv (1, 1), no cloud
        w.len(1);
        w.raw(element);
        w.raw(&[1, 1]); // table [1]
        w.raw(&[1, 0, 1]); // run (table[0], 1)
        w.u8(0);
    };
    let mut w = header::<OrSet<bool>>();
    set_of(&mut w, &[1]);
    let ok: OrSet<bool> = decode(w.as_bytes()).expect("control decodes");
    assert!(ok.contains(&true));
    let mut w = header::<OrSet<bool>>();
    set_of(&mut w, &[2]);
    assert_rejects::<OrSet<bool>>(w.as_bytes(), DecodeError::BadValue(ValueError::BadBool));
    let mut w = header::<OrSet<String>>();
    set_of(&mut w, &[2, 0xC3, 0x28]);
    assert_rejects::<OrSet<String>>(w.as_bytes(), DecodeError::BadValue(ValueError::BadUtf8));
}

/// An application element whose `Serialize` impl fails, or serializes a sequence of
/// unknown length (postcard needs lengths up front).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
enum Unencodable {
    Fails,
    NoLength,
}

impl serde::Serialize for Unencodable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq as _};
        match self {
            Unencodable::Fails => Err(S::Error::custom("refuses to serialize")),
            Unencodable::NoLength => s.serialize_seq(None)?.end(),
        }
    }
}

impl WireValue for Unencodable {}

/// Encoding and decoding failures of element values are crdt-core's own `ValueError`
/// (the payload type is spelled out, so a third-party error type in its place would not
/// compile), and their messages say what happened in one line.
#[test]
fn element_value_errors_are_crdt_core_types() {
    let mut set = OrSet::new();
    let _ = set.insert(ReplicaId::new(1), Unencodable::Fails);
    let e: ValueError = try_encode(&set).unwrap_err();
    assert_eq!(e, ValueError::Custom);
    assert_eq!(
        e.to_string(),
        "the type's Serialize or Deserialize impl reported an error"
    );
    let mut set = OrSet::new();
    let _ = set.insert(ReplicaId::new(1), Unencodable::NoLength);
    assert_eq!(try_encode(&set), Err(ValueError::UnknownLength));
    let mut w = Writer::new();
    assert_eq!(w.postcard(&Unencodable::Fails), Err(ValueError::Custom));

    let payload = |e: DecodeError| -> Option<ValueError> {
        match e {
            DecodeError::BadValue(v) => Some(v),
            _ => None,
        }
    };
    assert_eq!(
        payload(DecodeError::BadValue(ValueError::BadBool)),
        Some(ValueError::BadBool)
    );
    assert_eq!(
        DecodeError::BadValue(ValueError::BadUtf8).to_string(),
        "element value does not decode (a string is not valid UTF-8): the data is corrupt or of another element type; drop it"
    );
}

// ---------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------

#[test]
fn max_bytes_at_the_edge() {
    for (name, bytes, own) in samples() {
        let n = bytes.len();
        assert_eq!(
            own(&bytes, &DEFAULT.with_max_bytes(n)).as_deref(),
            Ok(&bytes[..]),
            "{name}: exactly max_bytes"
        );
        assert_eq!(
            own(&bytes, &DEFAULT.with_max_bytes(n - 1)),
            Err(DecodeError::LimitExceeded {
                limit: Limit::Bytes,
                max: n as u64 - 1,
                found: n as u64,
            }),
            "{name}: one byte over"
        );
    }
    // Checked before anything else, even the header.
    assert_eq!(
        decode_with_limits::<GCounter>(&[0; 5], &DEFAULT.with_max_bytes(4)),
        Err(DecodeError::LimitExceeded {
            limit: Limit::Bytes,
            max: 4,
            found: 5
        })
    );
}

#[test]
fn max_elements_at_the_edge() {
    // Five elements, one replica: the only collection above 1 entry is the element list.
    let set: OrSet<u64> = (1..=5).map(|v| (r(1), v)).collect();
    let b = encode(&set);
    assert_eq!(
        decode_with_limits(&b, &DEFAULT.with_max_elements(5)),
        Ok(set)
    );
    assert_eq!(
        decode_with_limits::<OrSet<u64>>(&b, &DEFAULT.with_max_elements(4)),
        Err(DecodeError::LimitExceeded {
            limit: Limit::Elements,
            max: 4,
            found: 5
        })
    );

    // Three removal hints.
    let mut s: OrSet<u64> = (1..=3).map(|v| (r(1), v)).collect();
    let delta = s.clear();
    assert!(delta.as_set().has_removal_hints() && delta.as_set().is_empty());
    let b = encode(&delta);
    assert_eq!(
        decode_with_limits(&b, &DEFAULT.with_max_elements(3)),
        Ok(delta)
    );
    assert!(matches!(
        decode_with_limits::<OrSet<u64>>(&b, &DEFAULT.with_max_elements(2)),
        Err(DecodeError::LimitExceeded {
            limit: Limit::Elements,
            max: 2,
            found: 3
        })
    ));

    // Three gap runs of one replica in a causal context.
    let ctx: CausalContext = [3, 5, 7].map(|c| Dot::new(r(9), c)).into_iter().collect();
    let b = encode(&ctx);
    assert_eq!(
        decode_with_limits(&b, &DEFAULT.with_max_elements(3)),
        Ok(ctx)
    );
    assert_eq!(
        decode_with_limits::<CausalContext>(&b, &DEFAULT.with_max_elements(2)),
        Err(DecodeError::LimitExceeded {
            limit: Limit::Elements,
            max: 2,
            found: 3
        })
    );

    // One element with three dots (a multi-dot group of 3).
    let mut reps: Vec<OrSet<u64>> = (0..3).map(|_| OrSet::new()).collect();
    let deltas: Vec<_> = (0..3)
        .map(|i| reps[i].insert(r(i as u64 + 1), 42))
        .collect();
    let mut all = OrSet::new();
    for d in &deltas {
        all.apply_delta(d);
    }
    assert_eq!(all.dots(&42).map(<[Dot]>::len), Some(3));
    let b = encode(&all);
    assert_eq!(
        decode_with_limits(&b, &DEFAULT.with_max_elements(3)),
        Ok(all)
    );
    assert_eq!(
        decode_with_limits::<OrSet<u64>>(&b, &DEFAULT.with_max_elements(2)),
        Err(DecodeError::LimitExceeded {
            limit: Limit::Elements,
            max: 2,
            found: 3
        })
    );
}

#[test]
fn max_replicas_at_the_edge() {
    fn edge<T: WireFormat + PartialEq + std::fmt::Debug>(value: T, replicas: usize) {
        let b = encode(&value);
        assert_eq!(
            decode_with_limits(&b, &DEFAULT.with_max_replicas(replicas)),
            Ok(value)
        );
        assert_eq!(
            decode_with_limits::<T>(&b, &DEFAULT.with_max_replicas(replicas - 1)),
            Err(DecodeError::LimitExceeded {
                limit: Limit::Replicas,
                max: replicas as u64 - 1,
                found: replicas as u64,
            })
        );
    }
    let ids = [r(1), r(200), r(1 << 35)];
    edge::<VersionVector>(ids.iter().map(|&id| (id, 4)).collect(), 3);
    let mut g = GCounter::new();
    let mut p = PnCounter::new();
    for id in ids {
        let _ = g.increment(id, 1);
        let _ = p.decrement(id, 1);
    }
    edge(g, 3);
    edge(p, 3);
    // Cloud replicas: nothing in the vector, three replicas with gaps.
    let ctx: CausalContext = ids.iter().map(|&id| Dot::new(id, 7)).collect();
    assert!(ctx.version_vector().is_empty());
    edge(ctx, 3);
    // An OR-Set whose context vector and dot table both hold three replicas.
    let set: OrSet<u64> = ids.iter().map(|&id| (id, id.get())).collect();
    edge(set, 3);
    let mut reg = LwwRegister::new();
    for (i, id) in ids.into_iter().enumerate() {
        let _ = reg.set(id, format!("{i}"), 10);
    }
    edge(reg, 3);
}

#[test]
fn huge_declared_lengths_fail_fast() {
    let unlimited = DecodeLimits {
        max_bytes: usize::MAX,
        max_elements: usize::MAX,
        max_replicas: usize::MAX,
        max_key_bytes: usize::MAX,
    };
    let pad = |mut w: Writer| {
        while w.as_bytes().len() < 20 {
            w.u8(1);
        }
        w.into_bytes()
    };
    let huge = u64::MAX / 2;
    let started = Instant::now();

    // GCounter: u64::MAX/2 replicas.
    let mut w = header::<GCounter>();
    w.varint(huge);
    let bytes = pad(w);
    assert_eq!(bytes.len(), 20);
    assert!(matches!(
        decode::<GCounter>(&bytes),
        Err(DecodeError::LimitExceeded {
            limit: Limit::Replicas,
            found,
            ..
        }) if found == huge
    ));
    assert_eq!(
        decode_with_limits::<GCounter>(&bytes, &unlimited),
        Err(DecodeError::Truncated)
    );

    // OR-Set: u64::MAX/2 elements after an empty context.
    let mut w = header::<OrSet<u64>>();
    w.raw(&[0, 0]);
    w.varint(huge);
    let bytes = pad(w);
    assert!(matches!(
        decode::<OrSet<u64>>(&bytes),
        Err(DecodeError::LimitExceeded {
            limit: Limit::Elements,
            ..
        })
    ));
    assert_eq!(
        decode_with_limits::<OrSet<u64>>(&bytes, &unlimited),
        Err(DecodeError::Truncated)
    );

    // Elements that fit the limit but not the input: a million elements in 20 bytes.
    let mut w = header::<OrSet<u64>>();
    w.raw(&[0, 0]);
    w.varint(1_000_000);
    assert_eq!(decode::<OrSet<u64>>(&pad(w)), Err(DecodeError::Truncated));

    // A String / byte-vector element declaring u64::MAX/2 bytes.
    let mut w = header::<OrSet<String>>();
    w.raw(&[1, 1, 1, 0, 1]);
    w.varint(huge);
    assert_eq!(
        decode::<OrSet<String>>(&pad(w)),
        Err(DecodeError::Truncated)
    );
    let mut w = header::<OrSet<Vec<u8>>>();
    w.raw(&[1, 1, 1, 0, 1]);
    w.varint(huge);
    assert_eq!(
        decode::<OrSet<Vec<u8>>>(&pad(w)),
        Err(DecodeError::Truncated)
    );

    // Causal context: huge cloud, and a huge number of runs for one replica.
    let mut w = header::<CausalContext>();
    w.len(0);
    w.varint(huge);
    assert!(decode::<CausalContext>(&pad(w)).is_err());
    let mut w = header::<CausalContext>();
    w.raw(&[0, 1, 5]);
    w.varint(huge);
    let bytes = pad(w);
    assert!(matches!(
        decode::<CausalContext>(&bytes),
        Err(DecodeError::LimitExceeded {
            limit: Limit::Elements,
            ..
        })
    ));
    assert_eq!(
        decode_with_limits::<CausalContext>(&bytes, &unlimited),
        Err(DecodeError::Truncated)
    );

    // A dot run of u64::MAX/2 elements in a set of one element.
    let mut w = header::<OrSet<u64>>();
    w.raw(&[1, 1, 1, 0, 1, 5, 1, 1]);
    w.varint(huge);
    w.raw(&[0, 1, 0]);
    assert_invalid::<OrSet<u64>>(
        w.as_bytes(),
        Invalid::Inconsistent("dot runs cover more elements than the set holds"),
    );

    // A multi-dot group declaring u64::MAX/2 dots.
    let mut w = header::<OrSet<u64>>();
    w.raw(&[1, 1, 1, 0, 1, 5, 1, 1, 0]);
    w.varint(huge);
    assert!(matches!(
        decode::<OrSet<u64>>(&pad(w)),
        Err(DecodeError::LimitExceeded {
            limit: Limit::Elements,
            ..
        })
    ));

    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

// ---------------------------------------------------------------------------------
// Well-formed bytes describing invalid states: OR-Set<u64>
// ---------------------------------------------------------------------------------

/// A dot group of an OR-Set body, written field by field as given.
#[derive(Clone, Debug)]
enum Group {
    /// `len, idx, start`: `len` single-dot elements (table[idx], start + i).
    Run(u64, u64, u64),
    /// `0, m, m × (idx, counter)` with `m` taken from the list.
    Multi(Vec<(u64, u64)>),
    /// `0, m, …` with an explicit `m`.
    MultiN(u64, Vec<(u64, u64)>),
}

/// An `OrSet<u64>` body, every field written as given (no validation).
#[derive(Clone, Debug)]
struct SetBody {
    vv: Vec<(u64, u64)>,
    /// (replica, [(gap, extra)]).
    cloud: Vec<(u64, Vec<(u64, u64)>)>,
    elements: Vec<u64>,
    table: Vec<u64>,
    groups: Vec<Group>,
    hint_flag: u8,
    hints: Vec<u64>,
}

impl SetBody {
    /// A valid set: context {1: 1..=3, 2: 1}; 5 ↦ (1,1), 6 ↦ (1,2), 7 ↦ {(1,3), (2,1)}.
    fn valid() -> Self {
        SetBody {
            vv: vec![(1, 3), (2, 1)],
            cloud: vec![],
            elements: vec![5, 6, 7],
            table: vec![1, 2],
            groups: vec![Group::Run(2, 0, 1), Group::Multi(vec![(0, 3), (1, 1)])],
            hint_flag: 0,
            hints: vec![],
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut w = header::<OrSet<u64>>();
        w.len(self.vv.len());
        for &(id, c) in &self.vv {
            w.varint(id);
            w.varint(c);
        }
        w.len(self.cloud.len());
        for (id, runs) in &self.cloud {
            w.varint(*id);
            w.len(runs.len());
            for &(gap, extra) in runs {
                w.varint(gap);
                w.varint(extra);
            }
        }
        w.len(self.elements.len());
        for v in &self.elements {
            w.postcard(v).unwrap();
        }
        w.len(self.table.len());
        for &id in &self.table {
            w.varint(id);
        }
        for g in &self.groups {
            let (m, dots) = match g {
                Group::Run(len, idx, start) => {
                    w.varint(*len);
                    w.varint(*idx);
                    w.varint(*start);
                    continue;
                }
                Group::Multi(dots) => (dots.len() as u64, dots),
                Group::MultiN(m, dots) => (*m, dots),
            };
            w.varint(0);
            w.varint(m);
            for &(idx, c) in dots {
                w.varint(idx);
                w.varint(c);
            }
        }
        w.u8(self.hint_flag);
        if self.hint_flag == 1 {
            w.len(self.hints.len());
            for v in &self.hints {
                w.postcard(v).unwrap();
            }
        }
        w.into_bytes()
    }

    #[track_caller]
    fn rejects(&self, expected: Invalid) {
        assert_invalid::<OrSet<u64>>(&self.bytes(), expected);
    }
}

#[test]
fn set_body_control_decodes() {
    let set: OrSet<u64> = decode(&SetBody::valid().bytes()).expect("the valid body decodes");
    assert_eq!(set.iter().copied().collect::<Vec<_>>(), [5, 6, 7]);
    assert_eq!(set.dots(&5), Some(&[Dot::new(r(1), 1)][..]));
    assert_eq!(set.dots(&6), Some(&[Dot::new(r(1), 2)][..]));
    assert_eq!(
        set.dots(&7),
        Some(&[Dot::new(r(1), 3), Dot::new(r(2), 1)][..])
    );
    assert!(!set.has_removal_hints());
    // With hints, and with a gap cloud, it is still valid.
    let mut b = SetBody::valid();
    b.hint_flag = 1;
    b.hints = vec![1, 9];
    b.cloud = vec![(2, vec![(0, 0)])]; // (2, 3)
    let set: OrSet<u64> = decode(&b.bytes()).expect("hints and cloud decode");
    assert!(set.has_removal_hints());
    assert!(set.context().contains(&Dot::new(r(2), 3)));
    assert!(!set.context().contains(&Dot::new(r(2), 2)));
}

#[test]
fn dot_with_counter_zero() {
    let mut b = SetBody::valid();
    b.groups[0] = Group::Run(2, 0, 0);
    b.rejects(Invalid::ZeroCounter);
    let mut b = SetBody::valid();
    b.groups[1] = Group::Multi(vec![(0, 0), (1, 1)]);
    b.rejects(Invalid::ZeroCounter);
    let mut b = SetBody::valid();
    b.vv[1] = (2, 0);
    b.rejects(Invalid::ZeroCounter);
}

#[test]
fn stored_dot_outside_context() {
    let mut b = SetBody::valid();
    b.vv[0] = (1, 2); // (1, 3) is stored but not seen
    b.rejects(Invalid::DotOutsideContext);
    let mut b = SetBody::valid();
    b.vv.truncate(1); // (2, 1) is stored but replica 2 is unknown
    b.rejects(Invalid::DotOutsideContext);
}

#[test]
fn unsorted_or_duplicate_elements() {
    let mut b = SetBody::valid();
    b.elements = vec![6, 5, 7];
    b.rejects(Invalid::Unsorted("set elements"));
    b.elements = vec![5, 5, 7];
    b.rejects(Invalid::Unsorted("set elements"));
}

#[test]
fn unsorted_or_duplicate_removal_hints() {
    let mut b = SetBody::valid();
    b.hint_flag = 1;
    b.hints = vec![9, 8];
    b.rejects(Invalid::Unsorted("removal hints"));
    b.hints = vec![8, 8];
    b.rejects(Invalid::Unsorted("removal hints"));
    b.hint_flag = 2;
    b.hints = vec![];
    b.rejects(Invalid::NonCanonical("the removal-hints flag"));
}

#[test]
fn unsorted_dot_table_and_element_dots() {
    let mut b = SetBody::valid();
    b.table = vec![2, 1];
    b.groups[1] = Group::Multi(vec![(1, 3), (0, 1)]);
    b.rejects(Invalid::Unsorted("dot table replicas"));
    let mut b = SetBody::valid();
    b.groups[1] = Group::Multi(vec![(1, 1), (0, 3)]);
    b.rejects(Invalid::Unsorted("an element's dots"));
    b.groups[1] = Group::Multi(vec![(0, 3), (0, 3)]);
    b.rejects(Invalid::Unsorted("an element's dots"));
}

#[test]
fn duplicate_dot_across_elements() {
    let mut b = SetBody::valid();
    // 5 ↦ (1,1) and 6 ↦ (1,1): two runs of one, the second does not continue the first.
    b.groups = vec![
        Group::Run(1, 0, 1),
        Group::Run(1, 0, 1),
        Group::Multi(vec![(0, 3), (1, 1)]),
    ];
    b.rejects(Invalid::DuplicateDot);
    // 7's group repeats 5's dot.
    let mut b = SetBody::valid();
    b.groups[1] = Group::Multi(vec![(0, 1), (1, 1)]);
    b.rejects(Invalid::DuplicateDot);
}

#[test]
fn run_that_continues_the_previous_run() {
    let mut b = SetBody::valid();
    b.groups = vec![
        Group::Run(1, 0, 1),
        Group::Run(1, 0, 2),
        Group::Multi(vec![(0, 3), (1, 1)]),
    ];
    b.rejects(Invalid::NonCanonical(
        "a dot run that continues the previous run",
    ));
    // Not continuing (another replica in between) is fine: the control.
    let mut b = SetBody::valid();
    b.vv = vec![(1, 3), (2, 2)];
    b.groups = vec![
        Group::Run(1, 0, 1),
        Group::Run(1, 1, 2),
        Group::Multi(vec![(0, 3), (1, 1)]),
    ];
    assert!(decode::<OrSet<u64>>(&b.bytes()).is_ok());
}

#[test]
fn multi_dot_group_with_fewer_than_two_dots() {
    let mut b = SetBody::valid();
    b.groups[1] = Group::Multi(vec![(0, 3)]);
    b.rejects(Invalid::NonCanonical(
        "a multi-dot group with fewer than two dots",
    ));
    b.groups[1] = Group::MultiN(0, vec![(0, 3), (1, 1)]);
    b.rejects(Invalid::NonCanonical(
        "a multi-dot group with fewer than two dots",
    ));
}

#[test]
fn replica_index_outside_the_dot_table() {
    let mut b = SetBody::valid();
    b.groups[0] = Group::Run(2, 2, 1);
    b.rejects(Invalid::Inconsistent(
        "a dot names a replica outside the dot table",
    ));
    let mut b = SetBody::valid();
    b.groups[1] = Group::Multi(vec![(0, 3), (u64::MAX, 1)]);
    b.rejects(Invalid::Inconsistent(
        "a dot names a replica outside the dot table",
    ));
}

#[test]
fn unused_dot_table_replica() {
    let mut b = SetBody::valid();
    b.table = vec![1, 2, 3];
    b.rejects(Invalid::NonCanonical("a dot table with an unused replica"));
}

#[test]
fn runs_covering_more_elements_than_the_set() {
    let mut b = SetBody::valid();
    b.groups = vec![Group::Run(4, 0, 1)];
    b.rejects(Invalid::Inconsistent(
        "dot runs cover more elements than the set holds",
    ));
}

#[test]
fn dot_run_overflow() {
    let mut b = SetBody::valid();
    b.vv = vec![(1, u64::MAX), (2, 1)];
    b.groups[0] = Group::Run(2, 0, u64::MAX);
    b.rejects(Invalid::Overflow("a dot run"));
}

#[test]
fn cloud_run_overflow_in_a_set() {
    let mut b = SetBody::valid();
    b.vv = vec![(1, 3), (2, u64::MAX)];
    b.cloud = vec![(2, vec![(0, 0)])];
    b.rejects(Invalid::Overflow("a cloud run start"));
}

// ---------------------------------------------------------------------------------
// Causal contexts, version vectors, counters
// ---------------------------------------------------------------------------------

/// A causal-context body: vector entries, then cloud (replica, [(gap, extra)]).
fn ctx_bytes(vv: &[(u64, u64)], cloud: &[(u64, &[(u64, u64)])]) -> Vec<u8> {
    let mut w = header::<CausalContext>();
    w.len(vv.len());
    for &(id, c) in vv {
        w.varint(id);
        w.varint(c);
    }
    w.len(cloud.len());
    for &(id, runs) in cloud {
        w.varint(id);
        w.len(runs.len());
        for &(gap, extra) in runs {
            w.varint(gap);
            w.varint(extra);
        }
    }
    w.into_bytes()
}

#[test]
fn causal_context_control_and_cloud_errors() {
    // vv {1: 2}; cloud 1: 5..=5 (gap 1 after floor+2 = 4), 7..=9; cloud 5: 2..=2.
    let ok = ctx_bytes(&[(1, 2)], &[(1, &[(1, 0), (0, 2)]), (5, &[(0, 0)])]);
    let ctx: CausalContext = decode(&ok).expect("control decodes");
    let runs: Vec<_> = ctx.runs().map(|(id, a, b)| (id.get(), a, b)).collect();
    assert_eq!(runs, [(1, 1, 2), (1, 5, 5), (1, 7, 9), (5, 2, 2)]);

    // Overflow: the run after floor u64::MAX cannot start.
    assert_invalid::<CausalContext>(
        &ctx_bytes(&[(1, u64::MAX)], &[(1, &[(0, 0)])]),
        Invalid::Overflow("a cloud run start"),
    );
    assert_invalid::<CausalContext>(
        &ctx_bytes(&[(1, u64::MAX - 1)], &[(1, &[(0, 0)])]),
        Invalid::Overflow("a cloud run start"),
    );
    // The control: floor u64::MAX - 2, one run at u64::MAX.
    let edge: CausalContext =
        decode(&ctx_bytes(&[(1, u64::MAX - 2)], &[(1, &[(0, 0)])])).expect("edge decodes");
    assert!(edge.contains(&Dot::new(r(1), u64::MAX)));
    assert!(!edge.contains(&Dot::new(r(1), u64::MAX - 1)));
    // Overflow: a run starting at u64::MAX with one extra counter.
    assert_invalid::<CausalContext>(
        &ctx_bytes(&[], &[(1, &[(u64::MAX - 2, 1)])]),
        Invalid::Overflow("a cloud run end"),
    );
    // A second run after a run ending at u64::MAX.
    assert_invalid::<CausalContext>(
        &ctx_bytes(&[], &[(1, &[(u64::MAX - 2, 0), (0, 0)])]),
        Invalid::Overflow("a cloud run start"),
    );
    assert_invalid::<CausalContext>(
        &ctx_bytes(&[], &[(1, &[]), (5, &[(0, 0)])]),
        Invalid::NonCanonical("a cloud entry without runs"),
    );
    assert_invalid::<CausalContext>(
        &ctx_bytes(&[], &[(5, &[(0, 0)]), (1, &[(0, 0)])]),
        Invalid::Unsorted("causal context cloud replicas"),
    );
    assert_invalid::<CausalContext>(
        &ctx_bytes(&[], &[(5, &[(0, 0)]), (5, &[(3, 0)])]),
        Invalid::Unsorted("causal context cloud replicas"),
    );
    assert_invalid::<CausalContext>(
        &ctx_bytes(&[(5, 1), (3, 1)], &[]),
        Invalid::Unsorted("version vector replicas"),
    );
    assert_invalid::<CausalContext>(&ctx_bytes(&[(3, 0)], &[]), Invalid::ZeroCounter);
}

fn vv_bytes<T: WireFormat>(entries: &[(u64, u64)]) -> Vec<u8> {
    let mut w = header::<T>();
    w.len(entries.len());
    for &(id, c) in entries {
        w.varint(id);
        w.varint(c);
    }
    w.into_bytes()
}

#[test]
fn unsorted_or_duplicate_version_vector_replicas() {
    assert!(decode::<VersionVector>(&vv_bytes::<VersionVector>(&[(3, 1), (5, 1)])).is_ok());
    assert_invalid::<VersionVector>(
        &vv_bytes::<VersionVector>(&[(5, 1), (3, 1)]),
        Invalid::Unsorted("version vector replicas"),
    );
    assert_invalid::<VersionVector>(
        &vv_bytes::<VersionVector>(&[(3, 1), (3, 2)]),
        Invalid::Unsorted("version vector replicas"),
    );
    assert_invalid::<VersionVector>(
        &vv_bytes::<VersionVector>(&[(3, 1), (5, 0)]),
        Invalid::ZeroCounter,
    );
    // GCounter shares the layout and its checks.
    assert_invalid::<GCounter>(
        &vv_bytes::<GCounter>(&[(5, 1), (3, 1)]),
        Invalid::Unsorted("version vector replicas"),
    );
    assert_invalid::<GCounter>(&vv_bytes::<GCounter>(&[(3, 0)]), Invalid::ZeroCounter);
}

fn pn_bytes(entries: &[(u64, u64, u64)]) -> Vec<u8> {
    let mut w = header::<PnCounter>();
    w.len(entries.len());
    for &(id, p, n) in entries {
        w.varint(id);
        w.varint(p);
        w.varint(n);
    }
    w.into_bytes()
}

#[test]
fn pncounter_zero_entry_and_order() {
    let ok: PnCounter = decode(&pn_bytes(&[(1, 0, 4), (2, 3, 0)])).expect("control");
    assert_eq!(ok.value(), -1);
    assert_invalid::<PnCounter>(&pn_bytes(&[(1, 0, 0)]), Invalid::ZeroCounter);
    assert_invalid::<PnCounter>(&pn_bytes(&[(1, 1, 1), (2, 0, 0)]), Invalid::ZeroCounter);
    assert_invalid::<PnCounter>(
        &pn_bytes(&[(2, 1, 0), (1, 1, 0)]),
        Invalid::Unsorted("PN-counter replicas"),
    );
    assert_invalid::<PnCounter>(
        &pn_bytes(&[(2, 1, 0), (2, 1, 0)]),
        Invalid::Unsorted("PN-counter replicas"),
    );
}

// ---------------------------------------------------------------------------------
// LWW registers
// ---------------------------------------------------------------------------------

/// An `LwwRegister<String>` body, every field as given.
#[derive(Clone)]
struct LwwBody {
    ctx: Vec<(u64, u64)>,
    flag: u8,
    value: &'static str,
    millis: u64,
    logical: u64,
    dot: (u64, u64),
    seen: Vec<(u64, u64)>,
}

impl LwwBody {
    fn valid() -> Self {
        LwwBody {
            ctx: vec![(1, 1), (2, 4)],
            flag: 1,
            value: "x",
            millis: 1_000,
            logical: 3,
            dot: (1, 1),
            seen: vec![(1, 1), (2, 2)],
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut w = header::<LwwRegister<String>>();
        let vv = |w: &mut Writer, entries: &[(u64, u64)]| {
            w.len(entries.len());
            for &(id, c) in entries {
                w.varint(id);
                w.varint(c);
            }
        };
        vv(&mut w, &self.ctx);
        w.u8(self.flag);
        if self.flag == 1 {
            w.postcard(self.value).unwrap();
            w.varint(self.millis);
            w.varint(self.logical);
            w.varint(self.dot.0);
            w.varint(self.dot.1);
            vv(&mut w, &self.seen);
        }
        w.into_bytes()
    }

    #[track_caller]
    fn rejects(&self, expected: Invalid) {
        assert_invalid::<LwwRegister<String>>(&self.bytes(), expected);
    }
}

#[test]
fn lww_control_decodes() {
    let reg: LwwRegister<String> = decode(&LwwBody::valid().bytes()).expect("control");
    assert_eq!(reg.get().map(String::as_str), Some("x"));
    assert_eq!(reg.writer(), Some(r(1)));
    assert_eq!(
        reg.timestamp().map(|t| (t.millis(), t.logical())),
        Some((1_000, 3))
    );
    let empty = LwwBody {
        ctx: vec![],
        flag: 0,
        ..LwwBody::valid()
    };
    let reg: LwwRegister<String> = decode(&empty.bytes()).expect("empty register");
    assert_eq!(reg.get(), None);
}

#[test]
fn lww_write_without_context() {
    let b = LwwBody {
        ctx: vec![],
        ..LwwBody::valid()
    };
    b.rejects(Invalid::Inconsistent(
        "a write's causal past is outside the register's context",
    ));
    // A context that does not cover the write's causal past.
    let b = LwwBody {
        ctx: vec![(1, 1), (2, 1)],
        ..LwwBody::valid()
    };
    b.rejects(Invalid::Inconsistent(
        "a write's causal past is outside the register's context",
    ));
}

#[test]
fn lww_context_without_write() {
    let b = LwwBody {
        flag: 0,
        ..LwwBody::valid()
    };
    b.rejects(Invalid::Inconsistent(
        "a register that has seen writes holds no value",
    ));
}

#[test]
fn lww_other_invalid_writes() {
    let b = LwwBody {
        seen: vec![(2, 2)],
        ..LwwBody::valid()
    };
    b.rejects(Invalid::DotOutsideContext);
    let b = LwwBody {
        dot: (1, 0),
        ..LwwBody::valid()
    };
    b.rejects(Invalid::ZeroCounter);
    let b = LwwBody {
        logical: u64::from(u32::MAX) + 1,
        ..LwwBody::valid()
    };
    b.rejects(Invalid::Overflow("a timestamp's logical counter"));
    let ok = LwwBody {
        logical: u64::from(u32::MAX),
        ..LwwBody::valid()
    };
    assert!(decode::<LwwRegister<String>>(&ok.bytes()).is_ok());
    let b = LwwBody {
        flag: 2,
        ..LwwBody::valid()
    };
    b.rejects(Invalid::NonCanonical("the register's value flag"));
}
