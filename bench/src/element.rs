//! The element types of the OR-Set benchmarks: `u64` and 13-byte `String`s.

use crate::rng::SplitMix64;
use core::fmt::Debug;
use core::hash::Hash;
use crdt_core::codec::WireValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// An OR-Set element the benchmarks can generate: the `i`-th of a sequence (the set
/// of `n` elements is `nth(0..n)`, ascending), or a fresh random one that is never in
/// such a set.
pub trait Element:
    WireValue + Hash + Eq + Ord + Clone + Debug + Serialize + DeserializeOwned + 'static
{
    /// A short name for tables ("u64", "String").
    const NAME: &'static str;

    /// The `i`-th element of the sequential workload (ascending in `i`).
    fn nth(i: u64) -> Self;

    /// A random element outside every sequential set of at most 2^32 elements.
    fn fresh(rng: &mut SplitMix64) -> Self;
}

impl Element for u64 {
    const NAME: &'static str = "u64";

    fn nth(i: u64) -> Self {
        i
    }

    fn fresh(rng: &mut SplitMix64) -> Self {
        (1 << 32) + rng.below(1 << 40)
    }
}

/// 13 decimal digits: `nth(7)` is `"0000000000007"`.
impl Element for String {
    const NAME: &'static str = "String";

    fn nth(i: u64) -> Self {
        format!("{i:013}")
    }

    fn fresh(rng: &mut SplitMix64) -> Self {
        // Above 10^12, far from the sequential range, still 13 digits.
        format!("{:013}", 5_000_000_000_000 + rng.below(4_000_000_000_000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_13_bytes_and_ordered() {
        let mut rng = SplitMix64::new(1);
        assert_eq!(String::nth(7), "0000000000007");
        assert_eq!(String::fresh(&mut rng).len(), 13);
        assert!(String::nth(9) < String::nth(10));
        assert!(u64::fresh(&mut rng) > u64::from(u32::MAX));
    }
}
