//! The counter contenders: `crdt_core::{GCounter, PnCounter}`, `crdts::{GCounter,
//! PNCounter}` and a plain `ahash` map from replica to count.

use crate::rng::SplitMix64;
use crdt_core::{codec, Crdt, GCounter, PnCounter, ReplicaId};
use crdts::{CmRDT, CvRDT};

/// Replica counts of the counter benchmarks.
pub const REPLICAS: [u64; 3] = [8, 64, 1024];

/// One counter implementation under test.
pub trait CounterContender: Clone + Sized {
    /// The column name.
    const NAME: &'static str;
    /// A counter in which replicas `1..=replicas` each counted a random amount (up to
    /// 10^6 increments and, for PN-Counters, as many decrements), drawn from `seed`.
    fn with_replicas(replicas: u64, seed: u64) -> Self;

    /// Adds 1 on behalf of `replica` (whatever the library returns is dropped).
    fn increment(&mut self, replica: u64);

    /// Joins the full state `other`; returns what is left of it to drop untimed.
    fn merge_state(&mut self, other: Self) -> Option<Self>;

    /// The counter's value, as the library reads it (`crdts` returns a big integer).
    fn value(&self) -> impl core::fmt::Display;

    /// The encoding (postcard for `crdts` and `ahash`).
    fn encode(&self) -> Vec<u8>;
}

fn counts(replicas: u64, seed: u64) -> impl Iterator<Item = (u64, u64, u64)> {
    let mut rng = SplitMix64::new(seed);
    (1..=replicas).map(move |r| (r, 1 + rng.below(1_000_000), 1 + rng.below(1_000_000)))
}

impl CounterContender for GCounter {
    const NAME: &'static str = "ours";
    fn with_replicas(replicas: u64, seed: u64) -> Self {
        let mut c = GCounter::new();
        for (r, p, _) in counts(replicas, seed) {
            let _ = c.increment(ReplicaId::new(r), p);
        }
        c
    }

    fn increment(&mut self, replica: u64) {
        let _delta = GCounter::increment(self, ReplicaId::new(replica), 1);
    }

    fn merge_state(&mut self, other: Self) -> Option<Self> {
        self.merge(&other);
        Some(other)
    }

    fn value(&self) -> impl core::fmt::Display {
        GCounter::value(self)
    }

    fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }
}

impl CounterContender for PnCounter {
    const NAME: &'static str = "ours";
    fn with_replicas(replicas: u64, seed: u64) -> Self {
        let mut c = PnCounter::new();
        for (r, p, n) in counts(replicas, seed) {
            let _ = c.increment(ReplicaId::new(r), p);
            let _ = c.decrement(ReplicaId::new(r), n);
        }
        c
    }

    fn increment(&mut self, replica: u64) {
        let _delta = PnCounter::increment(self, ReplicaId::new(replica), 1);
    }

    fn merge_state(&mut self, other: Self) -> Option<Self> {
        self.merge(&other);
        Some(other)
    }

    fn value(&self) -> impl core::fmt::Display {
        PnCounter::value(self)
    }

    fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }
}

impl CounterContender for crdts::GCounter<u64> {
    const NAME: &'static str = "crdts";
    fn with_replicas(replicas: u64, seed: u64) -> Self {
        let mut c = crdts::GCounter::new();
        for (r, p, _) in counts(replicas, seed) {
            c.apply(c.inc_many(r, p));
        }
        c
    }

    fn increment(&mut self, replica: u64) {
        self.apply(self.inc(replica));
    }

    fn merge_state(&mut self, other: Self) -> Option<Self> {
        CvRDT::merge(self, other);
        None
    }

    fn value(&self) -> impl core::fmt::Display {
        self.read()
    }

    fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("postcard encodes a GCounter")
    }
}

impl CounterContender for crdts::PNCounter<u64> {
    const NAME: &'static str = "crdts";
    fn with_replicas(replicas: u64, seed: u64) -> Self {
        let mut c = crdts::PNCounter::new();
        for (r, p, n) in counts(replicas, seed) {
            c.apply(c.inc_many(r, p));
            c.apply(c.dec_many(r, n));
        }
        c
    }

    fn increment(&mut self, replica: u64) {
        self.apply(self.inc(replica));
    }

    fn merge_state(&mut self, other: Self) -> Option<Self> {
        CvRDT::merge(self, other);
        None
    }

    fn value(&self) -> impl core::fmt::Display {
        self.read()
    }

    fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("postcard encodes a PNCounter")
    }
}

/// The physical reference for a G-Counter: replica → count.
pub type PlainG = ahash::AHashMap<u64, u64>;
/// The physical reference for a PN-Counter: replica → (increments, decrements).
pub type PlainPn = ahash::AHashMap<u64, (u64, u64)>;

impl CounterContender for PlainG {
    const NAME: &'static str = "ahash";
    fn with_replicas(replicas: u64, seed: u64) -> Self {
        counts(replicas, seed).map(|(r, p, _)| (r, p)).collect()
    }

    fn increment(&mut self, replica: u64) {
        *self.entry(replica).or_default() += 1;
    }

    fn merge_state(&mut self, other: Self) -> Option<Self> {
        for (r, c) in &other {
            let mine = self.entry(*r).or_default();
            *mine = (*mine).max(*c);
        }
        Some(other)
    }

    fn value(&self) -> impl core::fmt::Display {
        self.values().sum::<u64>()
    }

    /// Sorted `(replica, count)` pairs, postcard.
    fn encode(&self) -> Vec<u8> {
        let mut v: Vec<(u64, u64)> = self.iter().map(|(r, c)| (*r, *c)).collect();
        v.sort_unstable();
        postcard::to_allocvec(&v).expect("postcard encodes a Vec")
    }
}

impl CounterContender for PlainPn {
    const NAME: &'static str = "ahash";
    fn with_replicas(replicas: u64, seed: u64) -> Self {
        counts(replicas, seed)
            .map(|(r, p, n)| (r, (p, n)))
            .collect()
    }

    fn increment(&mut self, replica: u64) {
        self.entry(replica).or_default().0 += 1;
    }

    fn merge_state(&mut self, other: Self) -> Option<Self> {
        for (r, (p, n)) in &other {
            let mine = self.entry(*r).or_default();
            *mine = (mine.0.max(*p), mine.1.max(*n));
        }
        Some(other)
    }

    fn value(&self) -> impl core::fmt::Display {
        let (p, n) = self
            .values()
            .fold((0u64, 0u64), |(p, n), (a, b)| (p + a, n + b));
        p as i64 - n as i64
    }

    /// Sorted `(replica, (increments, decrements))` pairs, postcard.
    fn encode(&self) -> Vec<u8> {
        let mut v: Vec<(u64, (u64, u64))> = self.iter().map(|(r, c)| (*r, *c)).collect();
        v.sort_unstable();
        postcard::to_allocvec(&v).expect("postcard encodes a Vec")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged<C: CounterContender>(replicas: u64) -> String {
        let mut a = C::with_replicas(replicas, 1);
        drop(a.merge_state(C::with_replicas(replicas, 2)));
        let v = a.value().to_string();
        v
    }

    #[test]
    fn the_contenders_agree() {
        let ours = merged::<GCounter>(64);
        assert_eq!(ours, merged::<crdts::GCounter<u64>>(64));
        assert_eq!(ours, merged::<PlainG>(64));
        let pn = merged::<PnCounter>(8);
        assert_eq!(pn, merged::<crdts::PNCounter<u64>>(8));
        assert_eq!(pn, merged::<PlainPn>(8));
    }
}
