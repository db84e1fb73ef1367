//! One key's live dots with their payloads.

use super::Payload;
use crate::Dot;
use core::fmt;
use core::ops::Deref;

/// One live dot: what it holds, then the dot (in this order so that an [`Entry`] of
/// one dot is 40 bytes: the compiler keeps the entry's variant tag in the payload's).
pub(crate) type Live = (Payload, Dot);

/// From this many dots on, an entry keeps its dots' order by value ([`Entry::by_value`]).
pub(crate) const ORDERED_MIN: usize = 32;

/// The live dots of one key with their payloads, sorted by dot (never empty in a
/// keyspace), used as a slice. One dot (a key with one writer, a one-element set, a
/// register) is held inline: no allocation and no length field. More live in a
/// vector grown by a quarter at a time (most entries hold few dots).
///
/// An entry of at least [`ORDERED_MIN`] dots that was changed by [`Entry::insert`]
/// also keeps its dots' positions in the order of their values (a set's elements, a
/// multi-value register's values): a read of a large set walks it instead of sorting
/// every element (crdt-leader answers every write with the key's value). It costs 4
/// bytes per dot and O(dots) per insert or remove, which moves the dots already.
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

/// The positions of `lives` ascending by (value, position).
pub(crate) fn sorted_positions(lives: &[Live]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lives.len()).collect();
    order.sort_unstable_by(|a, b| {
        value_key(&lives[*a])
            .cmp(value_key(&lives[*b]))
            .then(a.cmp(b))
    });
    order
}

/// The order of `lives` by value to keep; `None` if a position does not fit in `u32`.
fn order_of(lives: &[Live]) -> Option<Box<ByValue>> {
    let order: Option<ByValue> = sorted_positions(lives)
        .into_iter()
        .map(|p| u32::try_from(p).ok())
        .collect();
    order.map(Box::new)
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

    /// Appends `live` (the caller keeps the dots ascending). Building an entry this way
    /// (a decoder) keeps no order by value: the next [`Entry::insert`] sorts once.
    pub(crate) fn push(&mut self, live: Live) {
        let repr = core::mem::replace(&mut self.0, Repr::Many(Vec::new(), None));
        self.0 = match repr {
            Repr::Many(v, _) if v.is_empty() => Repr::One(live),
            Repr::One(first) => Repr::Many(vec![first, live], None),
            Repr::Many(mut v, _) => {
                grow(&mut v);
                v.push(live);
                Repr::Many(v, None)
            }
        };
    }

    /// Inserts `live` at position `i` (`i <= len`; the caller keeps the dots
    /// ascending).
    pub(crate) fn insert(&mut self, i: usize, live: Live) {
        let repr = core::mem::replace(&mut self.0, Repr::Many(Vec::new(), None));
        self.0 = match repr {
            Repr::Many(v, _) if v.is_empty() => Repr::One(live),
            Repr::One(first) if i == 0 => Repr::Many(vec![live, first], None),
            Repr::One(first) => Repr::Many(vec![first, live], None),
            Repr::Many(mut v, order) => {
                grow(&mut v);
                v.insert(i, live);
                let order = match order {
                    Some(mut o) => {
                        if insert_position(&v, &mut o, i) {
                            Some(o)
                        } else {
                            None
                        }
                    }
                    None if v.len() >= ORDERED_MIN => order_of(&v),
                    None => None,
                };
                Repr::Many(v, order)
            }
        };
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
    /// that order; `None` otherwise (a small entry, or one built by [`Entry::push`]).
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
fn grow(v: &mut Vec<Live>) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 4).max(1));
    }
}

/// Adds position `i`, just inserted into `lives`, to `order` (the positions before the
/// insert); `false` if a position no longer fits in `u32`.
fn insert_position(lives: &[Live], order: &mut ByValue, i: usize) -> bool {
    let Ok(at) = u32::try_from(i) else {
        return false;
    };
    if u32::try_from(lives.len()).is_err() {
        return false;
    }
    for p in order.iter_mut() {
        if *p >= at {
            *p += 1;
        }
    }
    let key = value_key(&lives[i]);
    let slot = order.partition_point(|p| {
        let k = value_key(&lives[*p as usize]);
        k < key || (k == key && *p < at)
    });
    order.insert(slot, at);
    true
}

/// Drops position `i`, about to be removed from `lives`, from `order`; `false` if it
/// is not there (never: `order` is a permutation of `lives`' positions).
fn remove_position(lives: &[Live], order: &mut ByValue, i: usize) -> bool {
    let Ok(at) = u32::try_from(i) else {
        return false;
    };
    let key = value_key(&lives[i]);
    let slot = order.partition_point(|p| {
        let k = value_key(&lives[*p as usize]);
        k < key || (k == key && *p < at)
    });
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
        // element added by several dots), several payload types and pushed (decoded)
        // runs that keep no order until the next insert.
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
                    e.insert(i, l);
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
            if let Some(order) = e.by_value() {
                kept += 1;
                let got: Vec<Live> = order.cloned().collect();
                assert_eq!(got, expected_by_value(&model), "step {step}");
                assert!(model.len() >= ORDERED_MIN / 2);
                let probe = format!("e{}", next(40));
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
        assert!(kept > 1_000, "the order was kept in {kept} steps only");
    }
}
