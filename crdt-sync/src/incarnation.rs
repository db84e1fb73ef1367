//! Which life of a leader: a restart counter made unique by a nonce.

/// One life of a leader: counter 0 with a fresh nonce for a leader made by
/// [`Leader::new`](crate::Leader::new) or [`Leader::with_nonce`](crate::Leader::with_nonce),
/// then a new one each time it is restored from a checkpoint (or displaced by a newer
/// copy of itself, see [`Leader::restore_with_nonce`](crate::Leader::restore_with_nonce)).
/// [`Incarnation::FIRST`] (counter 0, nonce 0) is only found in checkpoints and peers of
/// older versions, whose leaders started under the id itself.
///
/// An incarnation is a restart **counter** and a random **nonce** from the restore
/// that created it; incarnations are ordered by counter, then nonce. The counter makes
/// a restored leader newer than every incarnation of it its peers have seen (it probes
/// them first); the nonce makes two restores unique **by construction** even when no
/// peer could tell them apart — a copy that crashed with its messages still in flight,
/// then an older checkpoint restored under the same id, pick the same counter but
/// (except with probability 2⁻³²) different nonces, hence different
/// [writer ids](crate::writer_id), so they never issue the same dot.
///
/// On the wire an incarnation is one canonical varint of `counter << 32 | nonce`
/// (1 byte for the first incarnation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Incarnation(u64);

impl Incarnation {
    /// Counter 0, nonce 0: the first life of a leader made before every leader had a
    /// nonce (writing under its replica id itself). Still read and understood.
    pub const FIRST: Incarnation = Incarnation(0);

    /// The incarnation with this counter and nonce.
    #[must_use]
    pub const fn new(counter: u32, nonce: u32) -> Self {
        Self(((counter as u64) << 32) | nonce as u64)
    }

    /// How many restores (or displacements) lie behind this incarnation, at least.
    #[must_use]
    pub const fn counter(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The nonce drawn by the restore (or given to `Leader::with_nonce`) that created
    /// it (0 for [`Incarnation::FIRST`]).
    #[must_use]
    pub const fn nonce(self) -> u32 {
        self.0 as u32
    }

    /// Whether this is a leader's first life (counter 0: made by
    /// [`Leader::new`](crate::Leader::new), never restored nor displaced), whose
    /// deltas are numbered from its birth.
    #[must_use]
    pub const fn is_first_life(self) -> bool {
        self.counter() == 0
    }

    /// The wire form, `counter << 32 | nonce`.
    #[must_use]
    pub const fn to_u64(self) -> u64 {
        self.0
    }

    /// The incarnation with wire form `v` (every `u64` is one).
    #[must_use]
    pub const fn from_u64(v: u64) -> Self {
        Self(v)
    }

    /// The incarnation after `self` and every incarnation in `seen`: `step` counters
    /// above the newest, with `nonce`. `None` once the counter is exhausted.
    pub(crate) fn next_after(
        self,
        seen: Option<Incarnation>,
        step: u32,
        nonce: u32,
    ) -> Option<Self> {
        let newest = seen.map_or(self, |s| s.max(self));
        Some(Self::new(newest.counter().checked_add(step.max(1))?, nonce))
    }
}

impl core::fmt::Display for Incarnation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.nonce() == 0 {
            write!(f, "{}", self.counter())
        } else {
            write!(f, "{}.{:08x}", self.counter(), self.nonce())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Incarnation;

    #[test]
    fn ordered_by_counter_then_nonce() {
        let a = Incarnation::new(1, u32::MAX);
        let b = Incarnation::new(2, 0);
        assert!(Incarnation::FIRST < a && a < b);
        assert!(Incarnation::new(2, 1) > b);
        assert_eq!((b.counter(), b.nonce()), (2, 0));
        assert_eq!(Incarnation::from_u64(a.to_u64()), a);
        assert_eq!(
            Incarnation::FIRST.to_u64(),
            0,
            "one varint byte on the wire"
        );
    }

    #[test]
    fn next_is_above_everything_seen() {
        let own = Incarnation::new(1, 9);
        assert_eq!(own.next_after(None, 1, 5), Some(Incarnation::new(2, 5)));
        let seen = Some(Incarnation::new(4, 1));
        assert_eq!(own.next_after(seen, 1, 5), Some(Incarnation::new(5, 5)));
        // A seen incarnation below our own never lowers the next one.
        let low = Some(Incarnation::new(0, 3));
        assert_eq!(own.next_after(low, 1, 0), Some(Incarnation::new(2, 0)));
        // The counter is exhausted at u32::MAX: no fresh incarnation is left.
        assert_eq!(Incarnation::new(u32::MAX, 0).next_after(None, 1, 1), None);
        // A displaced leader jumps further: 4 counters above the newest seen.
        assert_eq!(own.next_after(seen, 4, 5), Some(Incarnation::new(8, 5)));
    }

    #[test]
    fn displays_counter_and_nonce() {
        assert_eq!(Incarnation::FIRST.to_string(), "0");
        assert_eq!(Incarnation::new(3, 0xAB).to_string(), "3.000000ab");
    }
}
