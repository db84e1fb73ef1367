//! Hand-built hostile inputs for the `Keyspace` and `MvRegister` bodies: well-formed
//! bytes describing impossible states, each rejected with one precise error. (The
//! generic truncation, bit-flip and garbage checks of `codec_hostile.rs` cover both
//! types through its samples.)

use crdt_core::codec::{
    decode, decode_with_limits, DecodeError, DecodeLimits, Invalid, Limit, WireFormat, Writer,
    FORMAT_VERSION, MAGIC,
};
use crdt_core::{Keyspace, MvRegister, KEY_BYTES_MAX};

fn header<T: WireFormat>() -> Writer {
    let mut w = Writer::new();
    w.raw(&MAGIC);
    w.u8(FORMAT_VERSION);
    w.u8(T::TYPE_TAG);
    w
}

/// A compact context: `(replica, counter)` entries, no cloud.
fn ctx(w: &mut Writer, vv: &[(u64, u64)]) {
    w.len(vv.len());
    for (r, c) in vv {
        w.varint(*r);
        w.varint(*c);
    }
    w.len(0);
}

fn string(w: &mut Writer, s: &[u8]) {
    w.len(s.len());
    w.raw(s);
}

/// One key entry: `(replica, counter, tag, payload writer)`.
type Dot<'a> = (u64, u64, &'a dyn Fn(&mut Writer));

fn key(w: &mut Writer, name: &[u8], dots: &[Dot<'_>]) {
    string(w, name);
    w.len(dots.len());
    for (r, c, payload) in dots {
        w.varint(*r);
        w.varint(*c);
        payload(w);
    }
}

fn counter(n: u64) -> impl Fn(&mut Writer) {
    move |w: &mut Writer| {
        w.u8(0);
        w.varint(n);
    }
}

/// A keyspace body under context `vv` with the given keys.
fn keyspace(vv: &[(u64, u64)], keys: &[(&[u8], Vec<Dot<'_>>)]) -> Vec<u8> {
    let mut w = header::<Keyspace>();
    ctx(&mut w, vv);
    w.len(keys.len());
    for (name, dots) in keys {
        key(&mut w, name, dots);
    }
    w.into_bytes()
}

#[track_caller]
fn rejects(bytes: &[u8], expected: DecodeError) {
    assert_eq!(decode::<Keyspace>(bytes).map(|_| ()), Err(expected));
}

#[test]
fn control_decodes() {
    let c = counter(5);
    let bytes = keyspace(
        &[(1, 2)],
        &[(b"a", vec![(1, 1, &c)]), (b"b", vec![(1, 2, &c)])],
    );
    let ks = decode::<Keyspace>(&bytes).unwrap();
    assert_eq!(ks.len(), 2);
    assert_eq!(crdt_core::codec::encode(&ks), bytes);
    ks.check_invariants().unwrap();
}

#[test]
fn unsorted_or_duplicate_keys() {
    let c = counter(1);
    for names in [[b"b", b"a"], [b"a", b"a"]] {
        let bytes = keyspace(
            &[(1, 2)],
            &[(names[0], vec![(1, 1, &c)]), (names[1], vec![(1, 2, &c)])],
        );
        rejects(&bytes, Invalid::Unsorted("keyspace keys").into());
    }
}

#[test]
fn duplicate_dot_across_keys() {
    let c = counter(1);
    let bytes = keyspace(
        &[(1, 1)],
        &[(b"a", vec![(1, 1, &c)]), (b"b", vec![(1, 1, &c)])],
    );
    rejects(&bytes, Invalid::DuplicateDot.into());
}

#[test]
fn dot_outside_the_context() {
    let c = counter(1);
    let bytes = keyspace(&[(1, 1)], &[(b"a", vec![(1, 2, &c)])]);
    rejects(&bytes, Invalid::DotOutsideContext.into());
    let bytes = keyspace(&[], &[(b"a", vec![(7, 1, &c)])]);
    rejects(&bytes, Invalid::DotOutsideContext.into());
}

#[test]
fn unsorted_or_duplicate_dots_in_a_key() {
    let c = counter(1);
    for dots in [[(1, 2), (1, 1)], [(1, 1), (1, 1)], [(2, 1), (1, 1)]] {
        let d: Vec<Dot<'_>> = dots.iter().map(|(r, n)| (*r, *n, &c as _)).collect();
        let bytes = keyspace(&[(1, 2), (2, 1)], &[(b"a", d)]);
        rejects(&bytes, Invalid::Unsorted("a key's dots").into());
    }
}

#[test]
fn empty_key_entry() {
    let mut bytes = keyspace(&[(1, 1)], &[(b"a", vec![])]);
    // Too short to hold one key of at least one dot: truncated before anything else.
    rejects(&bytes, DecodeError::Truncated);
    bytes.extend([0; 8]);
    rejects(&bytes, Invalid::EmptyDotSet.into());
}

#[test]
fn dot_with_counter_zero() {
    let c = counter(1);
    let bytes = keyspace(&[(1, 1)], &[(b"a", vec![(1, 0, &c)])]);
    rejects(&bytes, Invalid::ZeroCounter.into());
}

#[test]
fn overlong_keys() {
    let c = counter(1);
    let long = vec![b'k'; KEY_BYTES_MAX + 1];
    let bytes = keyspace(&[(1, 1)], &[(&long, vec![(1, 1, &c)])]);
    rejects(
        &bytes,
        DecodeError::LimitExceeded {
            limit: Limit::KeyBytes,
            max: KEY_BYTES_MAX as u64,
            found: KEY_BYTES_MAX as u64 + 1,
        },
    );
    // At the limit: accepted; under a tighter limit: refused.
    let edge = vec![b'k'; KEY_BYTES_MAX];
    let bytes = keyspace(&[(1, 1)], &[(&edge, vec![(1, 1, &c)])]);
    assert!(decode::<Keyspace>(&bytes).is_ok());
    let tight = DecodeLimits::DEFAULT.with_max_key_bytes(16);
    assert_eq!(
        decode_with_limits::<Keyspace>(&bytes, &tight).map(|_| ()),
        Err(DecodeError::LimitExceeded {
            limit: Limit::KeyBytes,
            max: 16,
            found: KEY_BYTES_MAX as u64,
        })
    );
    // A key length larger than the input: truncated before anything is allocated.
    let mut w = header::<Keyspace>();
    ctx(&mut w, &[(1, 1)]);
    w.len(1);
    w.len(4000);
    w.raw(b"abc");
    rejects(&w.into_bytes(), DecodeError::Truncated);
}

#[test]
fn invalid_utf8() {
    let c = counter(1);
    let bytes = keyspace(&[(1, 1)], &[(&[0xC3, 0x28], vec![(1, 1, &c)])]);
    assert!(matches!(
        decode::<Keyspace>(&bytes),
        Err(DecodeError::BadValue(_))
    ));
    let bad_value = |w: &mut Writer| {
        w.u8(4);
        string(w, &[0xFF]);
    };
    let bytes = keyspace(&[(1, 1)], &[(b"a", vec![(1, 1, &bad_value)])]);
    assert!(matches!(
        decode::<Keyspace>(&bytes),
        Err(DecodeError::BadValue(_))
    ));
}

#[test]
fn unknown_value_tag_and_bad_timestamp() {
    // Tags 5-7 are a retired writer's payloads; 8 is unknown.
    let bad_tag = |w: &mut Writer| w.u8(8);
    let bytes = keyspace(&[(1, 1)], &[(b"a", vec![(1, 1, &bad_tag)])]);
    rejects(&bytes, Invalid::NonCanonical("a keyspace value tag").into());
    // A renamed register write cut inside its writer id.
    let cut = |w: &mut Writer| {
        w.u8(7);
        w.u8(0x80);
    };
    let bytes = keyspace(&[(1, 1)], &[(b"a", vec![(1, 1, &cut)])]);
    assert!(decode::<Keyspace>(&bytes).is_err());
    let big_logical = |w: &mut Writer| {
        w.u8(3);
        w.varint(1);
        w.varint(u64::from(u32::MAX) + 1);
        string(w, b"v");
    };
    let bytes = keyspace(&[(1, 1)], &[(b"a", vec![(1, 1, &big_logical)])]);
    rejects(
        &bytes,
        Invalid::Overflow("a timestamp's logical counter").into(),
    );
}

#[test]
fn huge_key_and_dot_counts_fail_fast() {
    for count in [u64::MAX / 2, 1 << 40, 100] {
        let mut w = header::<Keyspace>();
        ctx(&mut w, &[(1, 1)]);
        w.varint(count);
        w.raw(&[1, b'a']);
        assert!(decode::<Keyspace>(&w.into_bytes()).is_err());
        let mut w = header::<Keyspace>();
        ctx(&mut w, &[(1, 1)]);
        w.len(1);
        string(&mut w, b"a");
        w.varint(count);
        assert!(decode::<Keyspace>(&w.into_bytes()).is_err());
    }
    let c = counter(1);
    let bytes = keyspace(
        &[(1, 2)],
        &[(b"a", vec![(1, 1, &c)]), (b"b", vec![(1, 2, &c)])],
    );
    let tight = DecodeLimits::DEFAULT.with_max_elements(1);
    assert!(matches!(
        decode_with_limits::<Keyspace>(&bytes, &tight),
        Err(DecodeError::LimitExceeded {
            limit: Limit::Elements,
            ..
        })
    ));
}

fn mv(vv: &[(u64, u64)], writes: &[(u64, u64, &str)]) -> Vec<u8> {
    let mut w = header::<MvRegister<String>>();
    ctx(&mut w, vv);
    w.len(writes.len());
    for (r, c, v) in writes {
        w.varint(*r);
        w.varint(*c);
        string(&mut w, v.as_bytes());
    }
    w.into_bytes()
}

#[test]
fn mv_register_hostile() {
    let ok = mv(&[(1, 1), (2, 1)], &[(1, 1, "a"), (2, 1, "b")]);
    assert_eq!(decode::<MvRegister<String>>(&ok).unwrap().values().len(), 2);
    for (bytes, err) in [
        (
            mv(&[(1, 1), (2, 1)], &[(2, 1, "b"), (1, 1, "a")]),
            Invalid::Unsorted("register writes"),
        ),
        (
            mv(&[(1, 1)], &[(1, 1, "a"), (1, 1, "b")]),
            Invalid::Unsorted("register writes"),
        ),
        (mv(&[(1, 1)], &[(1, 2, "a")]), Invalid::DotOutsideContext),
        (mv(&[(1, 1)], &[(1, 0, "a")]), Invalid::ZeroCounter),
    ] {
        assert_eq!(
            decode::<MvRegister<String>>(&bytes).map(|_| ()),
            Err(DecodeError::Invalid(err))
        );
    }
}
