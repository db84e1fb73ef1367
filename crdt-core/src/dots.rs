//! The dots of one OR-Set element, in 16 bytes.

use crate::Dot;
use core::fmt;
use core::ops::Deref;

/// The dots of one element's live adds, sorted ascending; almost always exactly one.
///
/// 16 bytes, the size of one [`Dot`]: the common single dot is stored inline, and the
/// other variant fits in the value that `Dot`'s counter can never take (zero). Several
/// dots (concurrent adds of one element) go to the heap.
#[derive(Clone)]
pub(crate) enum Dots {
    /// Exactly one dot.
    One(Dot),
    /// No dot (`None`; only while being built or emptied: a stored element has at
    /// least one) or at least two.
    // A thin pointer (a `Box<[Dot]>` is two words) keeps `Dots` at 16 bytes; the
    // second allocation is paid only by elements with concurrent adds.
    #[allow(clippy::box_collection)]
    Many(Option<Box<Vec<Dot>>>),
}

impl Dots {
    /// No dot.
    pub(crate) const fn new() -> Self {
        Self::Many(None)
    }

    /// Exactly `dot`.
    pub(crate) const fn one(dot: Dot) -> Self {
        Self::One(dot)
    }

    /// The dots of `v` (in the order given).
    pub(crate) fn from_vec(mut v: Vec<Dot>) -> Self {
        match v.len() {
            0 => Self::new(),
            1 => Self::One(v[0]),
            _ => {
                v.shrink_to_fit();
                Self::Many(Some(Box::new(v)))
            }
        }
    }

    /// The heap held: nothing for one dot, else the box and the vector's buffer.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Self::One(_) | Self::Many(None) => 0,
            Self::Many(Some(v)) => {
                core::mem::size_of::<Vec<Dot>>() + crate::memory::slots::<Dot>(v.capacity())
            }
        }
    }

    /// The dots as a slice.
    pub(crate) fn as_slice(&self) -> &[Dot] {
        match self {
            Self::One(d) => core::slice::from_ref(d),
            Self::Many(None) => &[],
            Self::Many(Some(v)) => v,
        }
    }

    /// Appends `dot` (the caller keeps the order).
    pub(crate) fn push(&mut self, dot: Dot) {
        match self {
            Self::Many(None) => *self = Self::One(dot),
            Self::One(d) => *self = Self::Many(Some(Box::new(vec![*d, dot]))),
            Self::Many(Some(v)) => v.push(dot),
        }
    }

    /// Keeps the dots for which `keep` returns true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Dot) -> bool) {
        match self {
            Self::One(d) => {
                if !keep(d) {
                    *self = Self::new();
                }
            }
            Self::Many(None) => {}
            Self::Many(Some(v)) => {
                v.retain(|d| keep(d));
                if v.len() < 2 {
                    *self = Self::from_vec(core::mem::take(&mut **v));
                }
            }
        }
    }

    /// Drops every dot.
    #[cfg(feature = "sabotage")]
    pub(crate) fn clear(&mut self) {
        *self = Self::new();
    }
}

impl Default for Dots {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for Dots {
    type Target = [Dot];

    fn deref(&self) -> &[Dot] {
        self.as_slice()
    }
}

impl<'a> IntoIterator for &'a Dots {
    type Item = &'a Dot;
    type IntoIter = core::slice::Iter<'a, Dot>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl PartialEq for Dots {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Dots {}

impl FromIterator<Dot> for Dots {
    fn from_iter<I: IntoIterator<Item = Dot>>(iter: I) -> Self {
        let mut out = Self::new();
        for d in iter {
            out.push(d);
        }
        out
    }
}

impl fmt::Debug for Dots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReplicaId;

    fn d(c: u64) -> Dot {
        Dot::new(ReplicaId::new(c % 2), c)
    }

    #[test]
    fn as_small_as_one_dot() {
        assert_eq!(
            core::mem::size_of::<Dots>(),
            core::mem::size_of::<Dot>(),
            "Dots uses the counter's niche"
        );
    }

    #[test]
    fn push_retain_and_compare_like_a_vector() {
        let mut dots = Dots::new();
        let mut model: Vec<Dot> = Vec::new();
        for c in 1..=5 {
            dots.push(d(c));
            model.push(d(c));
            assert_eq!(dots.as_slice(), model.as_slice());
            assert_eq!(dots, Dots::from_vec(model.clone()));
            assert_eq!(dots, model.iter().copied().collect::<Dots>());
        }
        for cut in [4, 2, 1, 0] {
            dots.retain(|x| x.counter() <= cut);
            model.retain(|x| x.counter() <= cut);
            assert_eq!(dots.as_slice(), model.as_slice());
            assert_eq!(dots, Dots::from_vec(model.clone()));
        }
        assert!(dots.is_empty() && matches!(dots, Dots::Many(None)));
        assert!(matches!(Dots::from_vec(vec![d(3)]), Dots::One(_)));
        assert_eq!(
            format!("{:?}", Dots::from_vec(vec![d(1), d(2)])),
            "[(r1,1), (r0,2)]"
        );
    }
}
