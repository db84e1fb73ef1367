//! Estimates of the heap a value holds ([`DeltaCrdt::heap_bytes`](crate::DeltaCrdt::heap_bytes)).
//!
//! What is counted, per structure (sizes on 64-bit targets; every figure is the
//! `Layout` size requested from the allocator, which is what a counting allocator
//! sees; the allocator's own rounding and headers are not counted):
//!
//! | structure | counted |
//! |---|---|
//! | vectors, small vectors once spilled, boxed slices, `String`s | their capacity (exact) |
//! | `BTreeMap<K, V>` / `BTreeSet<K>` | its nodes, bounded from above (below) |
//! | element values (`WireValue`) | [`WireValue::heap_bytes`](crate::codec::WireValue::heap_bytes) |
//!
//! **B-trees.** std's B-tree holds up to 11 entries per node. A leaf is a parent
//! pointer, two `u16`s and arrays of 11 keys and 11 values: at most `16 + 11 ×
//! (size_of K + size_of V)` bytes; an internal node adds 12 child pointers (96 bytes).
//! A map of 1..=11 entries is one leaf (exact). Beyond that, every node but the root
//! holds at least 5 entries and every internal node but the root has at least 6
//! children, so a map of `n` entries has at most `(n - 1) / 5 + 1` nodes, of which at
//! most `(nodes + 3) / 6` are internal: the estimate counts exactly that many, so it
//! is an **upper bound**. Maps built by ascending inserts (about 7 entries per node)
//! are overestimated by about 1.4×, maps built in bulk from sorted input (`collect`,
//! full nodes) by at most 2.4×, on the nodes alone.
//!
//! So every estimate is at least the measured heap and at most about 2.4× it
//! (`tests/tests/memory_estimates.rs` checks each type against a counting allocator).

use core::mem::size_of;

/// Entries per std B-tree node (`2 × 6 - 1`).
pub(crate) const BTREE_NODE_ENTRIES: usize = 11;
/// Entries every node but the root holds at least.
const BTREE_NODE_MIN: usize = 5;
/// Children every internal node but the root has at least.
const BTREE_CHILDREN_MIN: usize = 6;

/// An upper bound of the bytes of the nodes of a `BTreeMap<K, V>` of `len` entries
/// (see the module docs). `V = ()` for a `BTreeSet<K>`.
pub(crate) fn btree_nodes<K, V>(len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let leaf = (16 + BTREE_NODE_ENTRIES * (size_of::<K>() + size_of::<V>())).next_multiple_of(8);
    let internal = leaf + (BTREE_NODE_ENTRIES + 1) * size_of::<usize>();
    if len <= BTREE_NODE_ENTRIES {
        return leaf;
    }
    let nodes = (len - 1) / BTREE_NODE_MIN + 1;
    let internals = (nodes + 3) / BTREE_CHILDREN_MIN;
    (nodes - internals) * leaf + internals * internal
}

/// The bytes of a vector's buffer of `capacity` slots of `T`.
pub(crate) const fn slots<T>(capacity: usize) -> usize {
    capacity * size_of::<T>()
}

/// The heap of a `SmallVec<A>`: its buffer once spilled, else nothing.
pub(crate) fn small_vec<A: smallvec::Array>(v: &smallvec::SmallVec<A>) -> usize {
    if v.spilled() {
        slots::<A::Item>(v.capacity())
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_map_is_one_leaf_and_larger_ones_grow_linearly() {
        assert_eq!(btree_nodes::<u64, u64>(0), 0);
        // 16 + 11 × 16 = 192: one leaf of `u64 -> u64`.
        assert_eq!(btree_nodes::<u64, u64>(1), 192);
        assert_eq!(btree_nodes::<u64, u64>(11), 192);
        // 12 entries: at most 3 nodes, one of them internal (a root over two leaves).
        assert_eq!(btree_nodes::<u64, u64>(12), 2 * 192 + 192 + 96);
        let big = btree_nodes::<u64, ()>(100_000);
        // Between one full leaf per 11 entries and one per 5 (16 + 88 = 104 bytes).
        assert!(big > 100_000 / 11 * 104 && big < 100_000 / 4 * 104);
    }
}
