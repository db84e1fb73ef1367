//! `merge_untrusted`: two untrusted byte strings decoded as values of one type, then
//! merged every way the protocol merges.
//!
//! Input layout: byte 0 selects the type (`% 5`, see [`KINDS`]), bytes 1–2 are the
//! length of the first value (`u16`, little-endian, cut to what is there), then the
//! first value's bytes, then the second's (the rest). [`case`] builds such an input.
//!
//! Checked whenever both decode:
//! - merge, `merge_delta` and `delta_since` never panic, and each result satisfies the
//!   type's invariants and encodes to bytes that decode again;
//! - merge is idempotent and inflationary: `a ⊔ a = a`, `(a ⊔ b) ⊔ b = a ⊔ b`,
//!   `(a ⊔ b) ⊔ a = a ⊔ b`;
//! - when the two values could come from one history ([`MergeType::consistent`]):
//!   merge is commutative, `merge_delta` equals merge and returns a delta that brings
//!   `a` as far as `b` does (bottom when `b` is old news), and `delta_since` repairs
//!   the other side (`b ⊔ a.delta_since(b.summary()) = b ⊔ a`).
//!
//! Values are compared by their encoding after dropping OR-Set removal hints (an
//! accelerator that `==` ignores too): [`strip`].
//!
//! Two decodable values need not be *consistent*: an OR-Set that stores a dot under
//! `x` and another that stores the same dot under `y` each pass every check the decoder
//! can make, but only a reused replica id (or a forger) produces both. Likewise a delta
//! whose removal hints omit an element whose dot it dropped breaks a promise the
//! decoder cannot check (`docs/WIRE_FORMAT.md` §5.5: the sender vouches for hints);
//! then `merge_delta`, which trusts the hints, and `merge`, which need not, disagree.
//! Add-wins semantics has no right answer for such pairs, so only the laws that hold
//! regardless are asserted for them (see the README's non-goals: Byzantine peers).

use super::decode::Checked;
use crdt_core::codec::{decode, encode, DecodeLimits, Limit, Reader, WireValue};
use crdt_core::{Crdt, DeltaCrdt, Dot, GCounter, LwwRegister, OrSet, PnCounter};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// The types this target covers, by selector value: `GCounter`, `PnCounter`,
/// `OrSet<u64>`, `OrSet<String>`, `LwwRegister<String>`.
pub const KINDS: [&str; 5] = [
    "GCounter",
    "PnCounter",
    "OrSet<u64>",
    "OrSet<String>",
    "LwwRegister<String>",
];

/// A type whose untrusted values are merged.
pub trait MergeType: DeltaCrdt + Checked {
    /// Whether `a` and `b` could be two states of one history (so that every law of
    /// [`Crdt`] and [`DeltaCrdt`] must hold for them). Default: always.
    fn consistent(_a: &Self, _b: &Self) -> bool {
        true
    }

    /// Whether `delta_since`'s repair law is checked for consistent pairs.
    const REPAIR_LAW: bool = true;
}

impl MergeType for GCounter {}
impl MergeType for PnCounter {}

impl<T: WireValue + Debug> MergeType for LwwRegister<T> {
    // `delta_since` sends nothing when the remote's context covers ours, which is
    // right only if the remote's write then wins: true of any history, but not
    // checkable from outside for two arbitrary registers (the write's dot is private).
    const REPAIR_LAW: bool = false;
}

impl<T: WireValue + Debug> MergeType for OrSet<T> {
    /// No dot is stored under two different elements across `a` and `b`, and where one
    /// side carries removal hints they name every element of the other side whose
    /// dots the hinted side has seen and dropped.
    fn consistent(a: &Self, b: &Self) -> bool {
        one_owner_per_dot(a, b) && hints_cover(a, b) && hints_cover(b, a)
    }
}

fn owners<T: Ord + Clone>(s: &OrSet<T>) -> BTreeMap<Dot, T> {
    let mut out = BTreeMap::new();
    for v in s.iter() {
        for d in s.dots(v).unwrap_or(&[]) {
            out.insert(*d, v.clone());
        }
    }
    out
}

fn one_owner_per_dot<T: Ord + Clone>(a: &OrSet<T>, b: &OrSet<T>) -> bool {
    let of_b = owners(b);
    owners(a)
        .iter()
        .all(|(d, v)| of_b.get(d).map_or(true, |w| w == v))
}

/// Where `remover` carries hints, they keep their documented promise towards
/// `holder`: every dot `remover` has seen and dropped belongs to a hinted element. So
/// each element of `holder` with a dot that `remover` has seen but does not hold under
/// that element must be hinted (the decoder cannot check this; the sender vouches).
fn hints_cover<T: WireValue>(holder: &OrSet<T>, remover: &OrSet<T>) -> bool {
    let Some(hints) = removal_hints(remover) else {
        return true;
    };
    holder.iter().all(|v| {
        let kept = remover.dots(v).unwrap_or(&[]);
        !holder
            .dots(v)
            .unwrap_or(&[])
            .iter()
            .any(|d| remover.context().contains(d) && !kept.contains(d))
            || hints.binary_search(v).is_ok()
    })
}

/// An OR-Set's removal hints, read back from its encoding (they have no public
/// accessor: they travel on the wire but are not part of the value).
///
/// # Panics
/// If the encoding does not end as `docs/WIRE_FORMAT.md` §5.5 says.
#[must_use]
pub fn removal_hints<T: WireValue>(s: &OrSet<T>) -> Option<Vec<T>> {
    if !s.has_removal_hints() {
        return None;
    }
    let with = encode(s);
    let without = encode(&strip(s));
    // `without` ends in flag 00; `with` has flag 01 there, then the hints.
    let at = without.len() - 1;
    assert_eq!(with[..at], without[..at], "hints are the encoding's tail");
    assert_eq!(with[at], 1, "the removal-hints flag");
    let mut r = Reader::new(&with[at + 1..], &DecodeLimits::DEFAULT).expect("limits");
    let n = r.len(Limit::Elements, 1).expect("hint count");
    let hints = (0..n)
        .map(|_| r.postcard::<T>().expect("hint"))
        .collect::<Vec<_>>();
    r.finish().expect("hints end the encoding");
    Some(hints)
}

/// `x` without OR-Set removal hints: its join into the empty state.
#[must_use]
pub fn strip<C: Crdt + Default>(x: &C) -> C {
    let mut s = C::default();
    s.merge(x);
    s
}

fn same<C: DeltaCrdt>(x: &C, y: &C) -> bool {
    encode(&strip(x)) == encode(&strip(y))
}

fn join<C: DeltaCrdt>(x: &C, y: &C) -> C {
    let mut s = x.clone();
    s.merge(y);
    s
}

fn well_formed<C: MergeType>(x: &C, what: &str) {
    x.assert_invariants();
    let bytes = encode(x);
    if let Err(e) = decode::<C>(&bytes) {
        panic!("{what} does not decode again ({e}): {x:?}");
    }
}

/// Checks every law for the pair `a`, `b` (see the module docs).
///
/// # Panics
/// On any violated law.
pub fn check_pair<C: MergeType>(a: &C, b: &C) {
    let ab = join(a, b);
    let ba = join(b, a);
    well_formed(&ab, "a ⊔ b");
    well_formed(&ba, "b ⊔ a");
    assert!(same(&join(a, a), a), "a ⊔ a = a");
    assert!(same(&join(&ab, b), &ab), "(a ⊔ b) ⊔ b = a ⊔ b");
    assert!(
        same(&join(&ab, a), &ab),
        "(a ⊔ b) ⊔ a = a ⊔ b (inflationary)"
    );

    let mut s = a.clone();
    let novel = s.merge_delta(b);
    well_formed(&s, "a after merge_delta(b)");
    well_formed(&novel, "the novel part of b");
    let repair = a.delta_since(&b.summary());
    well_formed(&repair, "a.delta_since(b)");
    let _ = b.progress_of(crdt_core::ReplicaId::new(1));

    if C::consistent(a, b) {
        assert!(
            same(&ab, &ba),
            "merge is commutative: a ⊔ b = {ab:?}, b ⊔ a = {ba:?}"
        );
        assert!(same(&s, &ab), "merge_delta leaves a ⊔ b: {s:?} vs {ab:?}");
        assert!(
            same(&join(a, &novel), &ab),
            "a ⊔ novel = a ⊔ b: novel {novel:?}"
        );
        if same(&ab, a) {
            assert!(
                novel.is_bottom(),
                "b brought nothing new, but merge_delta says {novel:?}"
            );
        }
        if C::REPAIR_LAW {
            assert!(
                same(&join(b, &repair), &ba),
                "b ⊔ a.delta_since(b) = b ⊔ a: repair {repair:?}"
            );
        }
    }
}

fn run_typed<C: MergeType>(a: &[u8], b: &[u8]) {
    let (Ok(x), Ok(y)) = (decode::<C>(a), decode::<C>(b)) else {
        return;
    };
    check_pair(&x, &y);
}

/// Splits an input into (selector, first, second).
#[must_use]
pub fn split(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&sel, rest) = data.split_first()?;
    if rest.len() < 2 {
        return None;
    }
    let n = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
    let rest = &rest[2..];
    let (a, b) = rest.split_at(n.min(rest.len()));
    Some((sel % 5, a, b))
}

/// The input that [`split`]s into `(kind, a, b)`.
///
/// # Panics
/// If `a` is longer than `u16::MAX`.
#[must_use]
pub fn case(kind: u8, a: &[u8], b: &[u8]) -> Vec<u8> {
    let n = u16::try_from(a.len()).expect("first value fits a u16 length");
    let mut out = vec![kind];
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(a);
    out.extend_from_slice(b);
    out
}

/// The `merge_untrusted` driver.
pub fn run(data: &[u8]) {
    let Some((kind, a, b)) = split(data) else {
        return;
    };
    match kind {
        0 => run_typed::<GCounter>(a, b),
        1 => run_typed::<PnCounter>(a, b),
        2 => run_typed::<OrSet<u64>>(a, b),
        3 => run_typed::<OrSet<String>>(a, b),
        _ => run_typed::<LwwRegister<String>>(a, b),
    }
}
