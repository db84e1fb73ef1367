//! A dot: the unique name of one update.

use crate::ReplicaId;
use core::fmt;
use core::num::NonZeroU64;

/// The unique name of one update: the `counter`-th event issued by `replica`.
///
/// # Invariant
/// `counter >= 1`, enforced by the type (it is stored as a [`NonZeroU64`]). Counter 0
/// means "nothing seen yet" in a [`VersionVector`](crate::VersionVector), so a dot with
/// counter 0 would be seen by everyone and could never carry information. Dots order by
/// replica, then counter.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dot {
    replica: ReplicaId,
    counter: NonZeroU64,
}

impl Dot {
    /// The dot `(replica, counter)`.
    ///
    /// # Panics
    /// If `counter == 0`; this is a programming error, never a result of untrusted input
    /// (the decoder rejects such dots with an error). Use [`Dot::try_new`] when the
    /// counter comes from outside.
    #[must_use]
    pub const fn new(replica: ReplicaId, counter: u64) -> Self {
        match Self::try_new(replica, counter) {
            Some(dot) => dot,
            None => panic!("Dot::new: counter must be >= 1"),
        }
    }

    /// The dot `(replica, counter)`, or `None` if `counter == 0`.
    #[must_use]
    pub const fn try_new(replica: ReplicaId, counter: u64) -> Option<Self> {
        match NonZeroU64::new(counter) {
            Some(counter) => Some(Self { replica, counter }),
            None => None,
        }
    }

    /// The replica that issued this dot.
    #[must_use]
    pub const fn replica(self) -> ReplicaId {
        self.replica
    }

    /// The position of this dot in its replica's sequence, `>= 1`.
    #[must_use]
    pub const fn counter(self) -> u64 {
        self.counter.get()
    }
}

impl fmt::Debug for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:?},{})", self.replica, self.counter)
    }
}

impl fmt::Display for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.replica, self.counter)
    }
}
