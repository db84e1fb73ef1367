//! Heap measurements through the workspace's counting allocator (`alloc-counter`).
//!
//! Only meaningful in a binary whose global allocator is
//! `alloc_counter::CountingAlloc` (the table binary); elsewhere every figure is 0.

use alloc_counter::measure;

/// The live heap bytes of `value`, measured as what `value.clone()` allocates.
///
/// A clone reproduces the layout of the structures used here exactly: a B-tree clone
/// has the same nodes, a hash table clone the same bucket count, a small vector the
/// same inline-or-heap choice; only a `Vec`'s spare capacity is not copied. The values
/// measured here keep none worth counting: the OR-Set's chunks (crdt-core's dot store)
/// are full after ascending inserts and after decoding. A store shaped by random
/// inserts and removes keeps spare capacity in half-full chunks, which this would not
/// count.
pub fn live_bytes<T: Clone>(value: &T) -> u64 {
    let (copy, stats) = measure(|| value.clone());
    drop(copy);
    stats.bytes
}

/// What `f` allocated: `(allocation calls, bytes requested)`.
pub fn allocations<R>(f: impl FnOnce() -> R) -> (u64, u64) {
    let (out, stats) = measure(f);
    drop(out);
    (stats.allocations, stats.bytes)
}

/// Whether the counting allocator is installed (else the figures are all zero).
pub fn counting() -> bool {
    let (v, stats) = measure(|| std::hint::black_box(vec![0u8; 16]));
    drop(std::hint::black_box(v));
    stats.allocations > 0
}
