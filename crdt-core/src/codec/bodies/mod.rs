//! The body layout of each type (see `docs/WIRE_FORMAT.md`).

mod causal;
mod counters;
mod keyspace;
mod lww;
mod mv;
mod orset;

use super::{DecodeError, Invalid};

/// The capacity to reserve for a collection declared to hold `n` entries of `T`:
/// never more than 64 KiB up front, whatever `n` claims. The declared count is already
/// bounded by the input left, but not by `size_of::<T>()`; past the cap a vector grows
/// with the entries actually decoded, so memory follows the real content.
pub(super) fn prealloc<T>(n: usize) -> usize {
    n.min((64 << 10) / core::mem::size_of::<T>().max(1))
}

/// Checks that `items` arrive strictly ascending, as canonical order requires.
pub(super) struct Ascending<K> {
    prev: Option<K>,
    what: &'static str,
}

impl<K: Ord> Ascending<K> {
    pub(super) fn new(what: &'static str) -> Self {
        Self { prev: None, what }
    }

    pub(super) fn next(&mut self, key: K) -> Result<(), DecodeError> {
        if self.prev.as_ref().is_some_and(|p| *p >= key) {
            return Err(Invalid::Unsorted(self.what).into());
        }
        self.prev = Some(key);
        Ok(())
    }
}

/// Reads a one-byte presence flag: 0 absent, 1 present.
pub(super) fn read_flag(
    r: &mut super::Reader<'_>,
    what: &'static str,
) -> Result<bool, DecodeError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Invalid::NonCanonical(what).into()),
    }
}
