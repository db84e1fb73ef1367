//! One key's live dots with their payloads.

use super::Payload;
use crate::Dot;
use core::fmt;
use core::ops::{Deref, DerefMut};

/// One live dot: what it holds, then the dot (in this order so that an [`Entry`] of
/// one dot is 40 bytes: the compiler keeps the entry's variant tag in the payload's).
pub(crate) type Live = (Payload, Dot);

/// The live dots of one key with their payloads, sorted by dot (never empty in a
/// keyspace), used as a slice. One dot (a key with one writer, a one-element set, a
/// register) is held inline: no allocation and no length field. More live in a
/// vector grown by a quarter at a time (most entries hold few dots).
#[derive(Clone)]
pub(crate) struct Entry(Repr);

#[derive(Clone)]
enum Repr {
    One(Live),
    Many(Vec<Live>),
}

// A key's slot in the key map is its pointer and its entry: 56 bytes on 64-bit
// targets (the keyspace's memory notes depend on it).
const _: () = assert!(core::mem::size_of::<Entry>() <= 40);

impl Entry {
    /// No dots (no allocation).
    pub(crate) const fn new() -> Self {
        Self(Repr::Many(Vec::new()))
    }

    /// No dots, room for `n`.
    pub(crate) fn with_capacity(n: usize) -> Self {
        if n <= 1 {
            Self::new()
        } else {
            Self(Repr::Many(Vec::with_capacity(n)))
        }
    }

    /// The heap held: the vector's buffer for several dots (one is inline), and each
    /// payload's.
    pub(crate) fn heap_bytes(&self) -> usize {
        let buffer = match &self.0 {
            Repr::One(_) => 0,
            Repr::Many(v) => crate::memory::slots::<Live>(v.capacity()),
        };
        buffer + self.iter().map(|(p, _)| p.heap_bytes()).sum::<usize>()
    }

    /// Appends `live` (the caller keeps the dots ascending).
    pub(crate) fn push(&mut self, live: Live) {
        self.insert(self.len(), live);
    }

    /// Inserts `live` at position `i` (`i <= len`; the caller keeps the dots
    /// ascending).
    pub(crate) fn insert(&mut self, i: usize, live: Live) {
        let repr = core::mem::replace(&mut self.0, Repr::Many(Vec::new()));
        self.0 = match repr {
            Repr::Many(v) if v.is_empty() => Repr::One(live),
            Repr::One(first) if i == 0 => Repr::Many(vec![live, first]),
            Repr::One(first) => Repr::Many(vec![first, live]),
            Repr::Many(mut v) => {
                if v.len() == v.capacity() {
                    v.reserve_exact((v.len() / 4).max(1));
                }
                v.insert(i, live);
                Repr::Many(v)
            }
        };
    }

    /// Removes and returns the dot at position `i` (`i < len`).
    pub(crate) fn remove(&mut self, i: usize) -> Live {
        let repr = core::mem::replace(&mut self.0, Repr::Many(Vec::new()));
        match repr {
            Repr::One(only) => {
                debug_assert_eq!(i, 0);
                only
            }
            Repr::Many(mut v) => {
                let out = v.remove(i);
                self.0 = match (v.len(), v.pop()) {
                    (1, Some(last)) => Repr::One(last),
                    (_, last) => {
                        v.extend(last);
                        Repr::Many(v)
                    }
                };
                out
            }
        }
    }
}

impl Deref for Entry {
    type Target = [Live];

    fn deref(&self) -> &[Live] {
        match &self.0 {
            Repr::One(live) => core::slice::from_ref(live),
            Repr::Many(v) => v,
        }
    }
}

impl DerefMut for Entry {
    fn deref_mut(&mut self) -> &mut [Live] {
        match &mut self.0 {
            Repr::One(live) => core::slice::from_mut(live),
            Repr::Many(v) => v,
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
}
