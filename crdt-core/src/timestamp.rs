//! Hybrid logical clock timestamps.

use core::fmt;

/// A hybrid logical clock reading: physical milliseconds, then a logical counter that
/// orders events within (or stuck behind) the same millisecond.
///
/// Ordered by `(millis, logical)`. A replica's next timestamp is always greater than
/// every timestamp it has seen, whatever its wall clock says, so causally later writes
/// order later even under clock skew.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    millis: u64,
    logical: u32,
}

impl Timestamp {
    /// The smallest timestamp.
    pub const ZERO: Timestamp = Timestamp {
        millis: 0,
        logical: 0,
    };
    /// The largest timestamp: no write can be ordered after it.
    pub const MAX: Timestamp = Timestamp {
        millis: u64::MAX,
        logical: u32::MAX,
    };

    /// A timestamp from its parts.
    #[must_use]
    pub const fn new(millis: u64, logical: u32) -> Self {
        Self { millis, logical }
    }

    /// The physical part, in milliseconds (of whatever epoch the application uses).
    #[must_use]
    pub const fn millis(self) -> u64 {
        self.millis
    }

    /// The logical part.
    #[must_use]
    pub const fn logical(self) -> u32 {
        self.logical
    }

    /// The next clock reading after `self` given the local wall clock `now_ms`: the
    /// wall clock if it is ahead, else `self` with the logical counter advanced
    /// (carrying into the milliseconds when it is full). `None` at [`Timestamp::MAX`].
    #[must_use]
    pub fn tick(self, now_ms: u64) -> Option<Timestamp> {
        if now_ms > self.millis {
            return Some(Timestamp::new(now_ms, 0));
        }
        match self.logical.checked_add(1) {
            Some(logical) => Some(Timestamp::new(self.millis, logical)),
            None => self.millis.checked_add(1).map(|m| Timestamp::new(m, 0)),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.millis, self.logical)
    }
}
