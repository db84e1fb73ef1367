//! The register contenders: `crdt_core::LwwRegister` (ordered by a hybrid logical
//! clock, with a version vector to tell concurrent writes apart) and `crdts::LWWReg`
//! (ordered by a caller-supplied marker, here the same clock reading and writer id).

use crdt_core::{codec, Crdt, LwwRegister, ReplicaId};
use crdts::CvRDT;

/// Wall-clock milliseconds of the fixtures' first write (any fixed value).
pub const EPOCH_MS: u64 = 1_700_000_000_000;

/// One last-writer-wins register under test, holding `u64` values.
pub trait RegisterContender: Clone + Sized {
    /// The column name.
    const NAME: &'static str;

    /// A register that `writers` replicas (`1..=writers`) wrote in turn, one
    /// millisecond apart.
    fn fixture(writers: u64) -> Self;

    /// Writes `value` on behalf of `replica` whose wall clock reads `now_ms`
    /// (whatever the library returns is dropped).
    fn set(&mut self, replica: u64, value: u64, now_ms: u64);

    /// Joins the full state `other`; returns what is left of it to drop untimed.
    fn merge_state(&mut self, other: Self) -> Option<Self>;

    /// The current value.
    fn get(&self) -> Option<u64>;

    /// The encoding (postcard for `crdts`).
    fn encode(&self) -> Vec<u8>;

    /// Two replicas of [`RegisterContender::fixture`]`(3)` after concurrent writes by
    /// replicas 1 and 2 (the second one later by the clock): the merge benchmark.
    fn concurrent_pair() -> (Self, Self) {
        let base = Self::fixture(3);
        let mut left = base.clone();
        left.set(1, 100, EPOCH_MS + 10);
        let mut right = base;
        right.set(2, 200, EPOCH_MS + 11);
        (left, right)
    }
}

impl RegisterContender for LwwRegister<u64> {
    const NAME: &'static str = "ours";

    fn fixture(writers: u64) -> Self {
        let mut reg = LwwRegister::new();
        for w in 1..=writers {
            let _ = reg.set(ReplicaId::new(w), w, EPOCH_MS + w);
        }
        reg
    }

    fn set(&mut self, replica: u64, value: u64, now_ms: u64) {
        let _delta = LwwRegister::set(self, ReplicaId::new(replica), value, now_ms);
    }

    fn merge_state(&mut self, other: Self) -> Option<Self> {
        self.merge(&other);
        Some(other)
    }

    fn get(&self) -> Option<u64> {
        LwwRegister::get(self).copied()
    }

    fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }
}

/// The marker: (milliseconds, logical counter, writer), like our HLC timestamp and
/// tie-break.
pub type Marker = (u64, u32, u64);

impl RegisterContender for crdts::LWWReg<u64, Marker> {
    const NAME: &'static str = "crdts";

    fn fixture(writers: u64) -> Self {
        let mut reg = crdts::LWWReg::default();
        for w in 1..=writers {
            reg.update(w, (EPOCH_MS + w, 0, w));
        }
        reg
    }

    fn set(&mut self, replica: u64, value: u64, now_ms: u64) {
        // The same hybrid-clock rule as ours: never behind the current marker.
        let (ms, logical, _) = self.marker;
        let marker = if now_ms > ms {
            (now_ms, 0, replica)
        } else {
            (ms, logical + 1, replica)
        };
        self.update(value, marker);
    }

    fn merge_state(&mut self, other: Self) -> Option<Self> {
        CvRDT::merge(self, other);
        None
    }

    fn get(&self) -> Option<u64> {
        Some(self.val)
    }

    fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("postcard encodes an LWWReg")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn later_write_wins<R: RegisterContender>() {
        let (mut l, r) = R::concurrent_pair();
        drop(l.merge_state(r));
        assert_eq!(l.get(), Some(200), "{}", R::NAME);
        l.set(1, 7, 0);
        assert_eq!(
            l.get(),
            Some(7),
            "{}: a set is never behind the clock",
            R::NAME
        );
    }

    #[test]
    fn both_registers_agree() {
        later_write_wins::<LwwRegister<u64>>();
        later_write_wins::<crdts::LWWReg<u64, Marker>>();
    }
}
