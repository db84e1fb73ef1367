//! One key's live dots with their payloads.

use super::Payload;
use crate::Dot;
use core::fmt;
use core::ops::Deref;

/// One live dot: what it holds, then the dot (in this order so that an [`Entry`] of
/// one dot is 40 bytes: the compiler keeps the entry's variant tag in the payload's).
pub(crate) type Live = (Payload, Dot);

/// From this many dots on, a set's or multi-value register's entry written here keeps
/// its dots' order by value ([`Entry::keep_order`]).
pub(crate) const ORDERED_MIN: usize = 32;

/// The live dots of one key with their payloads, sorted by dot (never empty in a
/// keyspace), used as a slice. One dot (a key with one writer, a one-element set, a
/// register) is held inline: no allocation and no length field. More live in a
/// vector grown by a quarter at a time (most entries hold few dots).
///
/// An entry of at least [`ORDERED_MIN`] dots holding a set's elements or a multi-value
/// register's values can also keep its dots' positions in the order of their values
/// ([`Entry::keep_order`], which the keyspace calls on each local write): a read of
/// a large set walks it instead of sorting every element (crdt-leader answers every
/// write with the key's value). It costs 4 to 5 bytes per dot and O(dots) per
/// [`Entry::insert`] or [`Entry::remove`], each of which moves up to every dot already
/// except an insert at the end; bulk changes ([`Entry::push`],
/// [`Entry::insert_unordered`]: decoding, large merges, deltas being built) drop it,
/// and the next local write sorts once.
#[derive(Clone)]
pub(crate) struct Entry(Repr);

#[derive(Clone)]
enum Repr {
    One(Live),
    /// The dots, and their positions by value when kept.
    Many(Vec<Live>, Option<Box<ByValue>>),
}

/// The positions of an entry's dots ascending by (value, position): a permutation of
/// `0..len`.
type ByValue = Vec<u32>;

// A key's slot in the key map is its pointer and its entry: 56 bytes on 64-bit
// targets (the keyspace's memory notes depend on it).
const _: () = assert!(core::mem::size_of::<Entry>() <= 40);

/// What a dot is ordered by in [`Entry::by_value`]: its value's bytes (empty for
/// counters and registers' writes, which no read takes in this order).
fn value_key(live: &Live) -> &[u8] {
    payload_key(&live.0)
}

fn payload_key(payload: &Payload) -> &[u8] {
    match payload {
        Payload::OrSet(s) | Payload::Mv(s) => s.as_bytes(),
        _ => &[],
    }
}

/// The positions of `lives` ascending by (value, position). Sorted by each value's
/// first 8 bytes (zero-padded, so their order agrees with the values') held beside
/// its position, then by the whole value only where those are equal: most
/// comparisons are of two integers instead of two values reached through their
/// positions (a read of a large set at a replica that keeps no order sorts this way).
pub(crate) fn sorted_positions(lives: &[Live]) -> Vec<usize> {
    let prefix = |l: &Live| {
        let mut b = [0u8; 8];
        let v = value_key(l);
        let n = v.len().min(8);
        b[..n].copy_from_slice(&v[..n]);
        u64::from_be_bytes(b)
    };
    let mut keyed: Vec<(u64, usize)> = lives.iter().map(prefix).zip(0..).collect();
    keyed.sort_unstable_by(|(pa, a), (pb, b)| {
        pa.cmp(pb).then_with(|| {
            value_key(&lives[*a])
                .cmp(value_key(&lives[*b]))
                .then(a.cmp(b))
        })
    });
    keyed.into_iter().map(|(_, p)| p).collect()
}

/// The order of `lives` by value to keep; `None` if a position does not fit in `u32`.
fn order_of(lives: &[Live]) -> Option<Box<ByValue>> {
    let mut order = ByValue::with_capacity(lives.len());
    for p in sorted_positions(lives) {
        order.push(u32::try_from(p).ok()?);
    }
    Some(Box::new(order))
}

impl Entry {
    /// No dots (no allocation).
    pub(crate) const fn new() -> Self {
        Self(Repr::Many(Vec::new(), None))
    }

    /// No dots, room for `n`.
    pub(crate) fn with_capacity(n: usize) -> Self {
        if n <= 1 {
            Self::new()
        } else {
            Self(Repr::Many(Vec::with_capacity(n), None))
        }
    }

    /// The heap held: the vector's buffer for several dots (one is inline), the
    /// positions by value when kept, and each payload's.
    pub(crate) fn heap_bytes(&self) -> usize {
        let buffer = match &self.0 {
            Repr::One(_) => 0,
            Repr::Many(v, order) => {
                crate::memory::slots::<Live>(v.capacity())
                    + order.as_ref().map_or(0, |o| {
                        crate::memory::slots::<ByValue>(1)
                            + crate::memory::slots::<u32>(o.capacity())
                    })
            }
        };
        buffer + self.iter().map(|(p, _)| p.heap_bytes()).sum::<usize>()
    }

    /// Appends `live` (the caller keeps the dots ascending), dropping the order by
    /// value (a decoder builds an entry this way).
    pub(crate) fn push(&mut self, live: Live) {
        self.insert_unordered(self.len(), live);
    }

    /// Inserts `live` at position `i` (`i <= len`; the caller keeps the dots
    /// ascending), keeping the order by value if kept: O(dots).
    pub(crate) fn insert(&mut self, i: usize, live: Live) {
        self.insert_as(i, live, true);
    }

    /// [`Entry::insert`] that drops the order by value instead of keeping it (one of
    /// many inserts: the next [`Entry::keep_order`] sorts once).
    pub(crate) fn insert_unordered(&mut self, i: usize, live: Live) {
        self.insert_as(i, live, false);
    }

    fn insert_as(&mut self, i: usize, live: Live, keep: bool) {
        let repr = core::mem::replace(&mut self.0, Repr::Many(Vec::new(), None));
        self.0 = match repr {
            Repr::Many(v, _) if v.is_empty() => Repr::One(live),
            Repr::One(first) if i == 0 => Repr::Many(vec![live, first], None),
            Repr::One(first) => Repr::Many(vec![first, live], None),
            Repr::Many(mut v, order) => {
                grow(&mut v);
                v.insert(i, live);
                let order = order
                    .filter(|_| keep)
                    .and_then(|mut o| insert_position(&v, &mut o, i).then_some(o));
                Repr::Many(v, order)
            }
        };
    }

    /// Starts keeping the order by value (sorting once) if this entry has at least
    /// [`ORDERED_MIN`] dots, one of them a set's element or a multi-value register's
    /// value, and keeps none yet.
    pub(crate) fn keep_order(&mut self) {
        if let Repr::Many(v, order @ None) = &mut self.0 {
            if v.len() >= ORDERED_MIN && v.iter().any(|l| !value_key(l).is_empty()) {
                *order = order_of(v);
            }
        }
    }

    /// Whether the order by value, if kept, is a permutation of the positions
    /// ascending by (value, position) (for the keyspace's invariant checks).
    pub(crate) fn order_is_valid(&self) -> bool {
        match &self.0 {
            Repr::Many(v, Some(order)) => {
                let mut seen = vec![false; v.len()];
                order.len() == v.len()
                    && order.iter().all(|p| {
                        seen.get_mut(*p as usize)
                            .is_some_and(|s| !core::mem::replace(s, true))
                    })
                    && order.windows(2).all(|w| {
                        let (a, b) = (&v[w[0] as usize], &v[w[1] as usize]);
                        (value_key(a), w[0]) < (value_key(b), w[1])
                    })
            }
            _ => true,
        }
    }

    /// Removes and returns the dot at position `i` (`i < len`).
    pub(crate) fn remove(&mut self, i: usize) -> Live {
        let repr = core::mem::replace(&mut self.0, Repr::Many(Vec::new(), None));
        match repr {
            Repr::One(only) => {
                debug_assert_eq!(i, 0);
                only
            }
            Repr::Many(mut v, order) => {
                let order = order
                    .filter(|_| v.len() > ORDERED_MIN / 2)
                    .and_then(|mut o| remove_position(&v, &mut o, i).then_some(o));
                let out = v.remove(i);
                self.0 = match (v.len(), v.pop()) {
                    (1, Some(last)) => Repr::One(last),
                    (_, last) => {
                        v.extend(last);
                        Repr::Many(v, order)
                    }
                };
                out
            }
        }
    }

    /// Replaces the payload of the dot at position `i` (`i < len`) and returns the old
    /// one.
    pub(crate) fn replace_payload(&mut self, i: usize, payload: Payload) -> Payload {
        match &mut self.0 {
            Repr::One(live) => core::mem::replace(&mut live.0, payload),
            Repr::Many(v, order) => {
                let old = core::mem::replace(&mut v[i].0, payload);
                if payload_key(&old) != value_key(&v[i]) {
                    // Its place by value changed: sort again on the next insert.
                    *order = None;
                }
                old
            }
        }
    }

    /// The dots in the order of their values (ties by position), when the entry keeps
    /// that order; `None` otherwise (see [`Entry::keep_order`]).
    pub(crate) fn by_value(&self) -> Option<impl Iterator<Item = &Live> + '_> {
        match &self.0 {
            Repr::Many(v, Some(order)) => Some(order.iter().map(move |i| &v[*i as usize])),
            _ => None,
        }
    }

    /// The dots whose value is `value` (with counters' and registers' writes when it
    /// is empty), when the entry keeps its order by value: found in O(log dots).
    pub(crate) fn with_value<'a>(
        &'a self,
        value: &'a [u8],
    ) -> Option<impl Iterator<Item = &'a Live> + 'a> {
        match &self.0 {
            Repr::Many(v, Some(order)) => {
                let start = order.partition_point(|p| value_key(&v[*p as usize]) < value);
                Some(
                    order[start..]
                        .iter()
                        .map(move |p| &v[*p as usize])
                        .take_while(move |l| value_key(l) == value),
                )
            }
            _ => None,
        }
    }
}

/// Grows a full vector by a quarter (most entries hold few dots).
fn grow<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 4).max(1));
    }
}

/// Where position `at` of `lives` goes in `order`: after every position of a smaller
/// value, and of the same value at a lower position.
fn slot_of(lives: &[Live], order: &ByValue, at: u32) -> usize {
    let key = value_key(&lives[at as usize]);
    order.partition_point(|p| {
        let k = value_key(&lives[*p as usize]);
        k < key || (k == key && *p < at)
    })
}

/// Adds position `i`, just inserted into `lives`, to `order` (the positions before the
/// insert); `false` if a position no longer fits in `u32`.
fn insert_position(lives: &[Live], order: &mut ByValue, i: usize) -> bool {
    // Every position, `i` among them, is below the length.
    if u32::try_from(lives.len()).is_err() {
        return false;
    }
    let at = i as u32;
    for p in order.iter_mut() {
        if *p >= at {
            *p += 1;
        }
    }
    let slot = slot_of(lives, order, at);
    grow(order);
    order.insert(slot, at);
    true
}

/// Drops position `i`, about to be removed from `lives`, from `order`; `false` if it
/// is not there (never: `order` is a permutation of `lives`' positions).
fn remove_position(lives: &[Live], order: &mut ByValue, i: usize) -> bool {
    let Ok(at) = u32::try_from(i) else {
        return false;
    };
    let slot = slot_of(lives, order, at);
    if order.get(slot) != Some(&at) {
        return false;
    }
    order.remove(slot);
    for p in order.iter_mut() {
        if *p > at {
            *p -= 1;
        }
    }
    true
}

impl Deref for Entry {
    type Target = [Live];

    fn deref(&self) -> &[Live] {
        match &self.0 {
            Repr::One(live) => core::slice::from_ref(live),
            Repr::Many(v, _) => v,
        }
    }
}

impl<'a> IntoIterator for &'a Entry {
    type Item = &'a Live;
    type IntoIter = core::slice::Iter<'a, Live>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Equality of the dots, whichever way they are held.
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Entry {}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReplicaId;

    fn live(c: u64) -> Live {
        (Payload::GCounter(c), Dot::new(ReplicaId::new(1), c))
    }

    #[test]
    fn behaves_as_a_sorted_vector_whichever_way_it_is_held() {
        let mut e = Entry::new();
        let mut model: Vec<Live> = Vec::new();
        let steps: [(bool, u64); 12] = [
            (true, 5),
            (true, 3),
            (false, 0),
            (true, 9),
            (true, 1),
            (true, 7),
            (false, 2),
            (false, 0),
            (false, 1),
            (false, 0),
            (true, 4),
            (false, 0),
        ];
        for (insert, x) in steps {
            if insert {
                let i = model.partition_point(|(_, d)| d.counter() < x);
                model.insert(i, live(x));
                e.insert(i, live(x));
            } else {
                let i = usize::try_from(x).unwrap_or(0).min(model.len() - 1);
                assert_eq!(e.remove(i), model.remove(i));
            }
            assert_eq!(&*e, &model[..]);
            assert_eq!(matches!(e.0, Repr::One(_)), model.len() == 1);
        }
        let mut one = Entry::with_capacity(5);
        one.push(live(2));
        assert!(matches!(one.0, Repr::One(_)));
        let mut other = Entry::new();
        other.insert(0, live(2));
        assert_eq!(one, other);
    }

    #[test]
    fn positions_sort_by_value_then_position_also_past_and_inside_the_prefix() {
        // Values that tie on their first 8 bytes, end inside them, hold zero bytes
        // (so that zero padding must not make "ab" and "ab\0" equal), repeat, and
        // empty ones (counters).
        let values = [
            "shared-prefix-b",
            "shared-prefix-a",
            "ab\0",
            "ab",
            "",
            "shared-p",
            "a",
            "shared-prefix-a",
            "\0",
            "zz",
            "ab\0\0\0\0\0\0\0",
            "shared-prefix-",
            "ab",
            "\u{ff}\u{ff}",
            "",
        ];
        let lives: Vec<Live> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let dot = Dot::new(ReplicaId::new(1), i as u64 + 1);
                if v.is_empty() {
                    (Payload::GCounter(1), dot)
                } else {
                    (Payload::OrSet((*v).into()), dot)
                }
            })
            .collect();
        let mut expected: Vec<usize> = (0..lives.len()).collect();
        expected.sort_by(|a, b| (value_key(&lives[*a]), a).cmp(&(value_key(&lives[*b]), b)));
        assert_eq!(sorted_positions(&lives), expected);
    }

    /// What `by_value` must give: the dots stably sorted by value.
    fn expected_by_value(model: &[Live]) -> Vec<Live> {
        let mut m = model.to_vec();
        m.sort_by(|a, b| value_key(a).cmp(value_key(b)));
        m
    }

    #[test]
    fn keeps_its_dots_in_value_order_through_inserts_removes_and_replaces() {
        // A deterministic walk of 3,000 steps that grows the entry past ORDERED_MIN,
        // shrinks it below half of it and grows it again, with repeated values (one
        // element added by several dots), several payload types, unordered inserts
        // (a large merge) and pushed (decoded) runs that keep no order until the next
        // `keep_order` (a local write), which follows most inserts.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut e = Entry::new();
        let mut model: Vec<Live> = Vec::new();
        let mut kept = 0;
        for step in 0..3_000u64 {
            let grow = (step / 500) % 2 == 0;
            let payload = |v: u64, kind: u64| match kind {
                0 => Payload::Mv(format!("v{v}").into()),
                1 => Payload::GCounter(v),
                _ => Payload::OrSet(format!("e{v}").into()),
            };
            match next(10) {
                0..=5 if grow || model.is_empty() => {
                    let dot = Dot::new(ReplicaId::new(1 + next(3)), 1 + next(1_000_000));
                    let i = model.partition_point(|(_, d)| *d < dot);
                    if model.get(i).is_some_and(|(_, d)| *d == dot) {
                        continue;
                    }
                    let l = (payload(next(40), next(6)), dot);
                    model.insert(i, l.clone());
                    if next(8) == 0 {
                        e.insert_unordered(i, l);
                        assert!(e.by_value().is_none());
                    } else {
                        e.insert(i, l);
                    }
                    if next(4) != 0 {
                        e.keep_order();
                    }
                }
                6 if !model.is_empty() => {
                    let i = usize::try_from(next(model.len() as u64)).unwrap_or(0);
                    let p = payload(next(40), next(6));
                    model[i].0 = p.clone();
                    e.replace_payload(i, p);
                }
                7 if grow && step % 97 == 0 => {
                    // Rebuilt by pushes, as a decoder does.
                    e = Entry::with_capacity(model.len());
                    for l in &model {
                        e.push(l.clone());
                    }
                    assert!(e.by_value().is_none());
                }
                _ if !model.is_empty() => {
                    let i = usize::try_from(next(model.len() as u64)).unwrap_or(0);
                    assert_eq!(e.remove(i), model.remove(i));
                }
                _ => {}
            }
            assert_eq!(&*e, &model[..]);
            assert!(e.order_is_valid(), "step {step}");
            if let Some(order) = e.by_value() {
                kept += 1;
                let got: Vec<Live> = order.cloned().collect();
                assert_eq!(got, expected_by_value(&model), "step {step}");
                assert!(model.len() >= ORDERED_MIN / 2);
                // An element, or the empty value that counters' dots share.
                let probe = match next(10) {
                    0 => String::new(),
                    n => format!("e{}", n * 4 + next(4)),
                };
                let found: Vec<Live> = e
                    .with_value(probe.as_bytes())
                    .into_iter()
                    .flatten()
                    .cloned()
                    .collect();
                let want: Vec<Live> = model
                    .iter()
                    .filter(|l| value_key(l) == probe.as_bytes())
                    .cloned()
                    .collect();
                assert_eq!(found, want, "step {step}: {probe}");
            } else if model.len() > 1 {
                assert!(matches!(&e.0, Repr::Many(v, None) if v.len() == model.len()));
            }
        }
        assert!(kept > 500, "the order was kept in {kept} steps only");
    }

    #[test]
    fn only_a_large_entry_with_values_keeps_an_order() {
        let dot = |c: u64| Dot::new(ReplicaId::new(1), c);
        let mut counters = Entry::new();
        let mut set = Entry::new();
        for c in 1..=ORDERED_MIN as u64 {
            counters.push((Payload::GCounter(c), dot(c)));
            set.push((Payload::OrSet(format!("e{}", 100 - c).into()), dot(c)));
            set.keep_order();
            assert_eq!(set.by_value().is_some(), set.len() >= ORDERED_MIN);
        }
        counters.keep_order();
        assert!(
            counters.by_value().is_none(),
            "counters are never read by value"
        );
        let first: Vec<u64> = set
            .by_value()
            .into_iter()
            .flatten()
            .map(|(_, d)| d.counter())
            .collect();
        assert_eq!(first, (1..=ORDERED_MIN as u64).rev().collect::<Vec<_>>());
        // A replaced value moves: the order is dropped, and kept again on request.
        let _ = set.replace_payload(0, Payload::OrSet("a".into()));
        assert!(set.by_value().is_none());
        set.keep_order();
        assert!(set.order_is_valid());
        let (p, _) = set.by_value().into_iter().flatten().next().unwrap();
        assert_eq!(p, &Payload::OrSet("a".into()));
    }
}
