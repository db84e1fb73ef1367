//! A global allocator that counts, per thread, what the code under test allocates:
//! used by `tests/tests/decode_allocations.rs` to show that decoding untrusted bytes
//! allocates at most a small multiple of the input size.
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: alloc_counter::CountingAlloc = alloc_counter::CountingAlloc;
//!
//! let (result, stats) = alloc_counter::measure(|| decode::<GCounter>(&bytes));
//! assert!(stats.bytes <= 8 * bytes.len() as u64 + 256);
//! ```
//!
//! Counting is per thread (the test harness runs tests in parallel) and only while a
//! [`measure`] call is running on that thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// What was allocated during one [`measure`] call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Allocation calls (`alloc`, `alloc_zeroed`, and `realloc` as one each).
    pub allocations: u64,
    /// Bytes requested in total: each allocation's size, and each `realloc`'s new
    /// size (so a vector that grows by doubling counts about twice its final size).
    pub bytes: u64,
    /// The most bytes live at once, counting only allocations made during the call.
    pub peak: u64,
    /// The bytes still live when the call returned: allocated minus freed during it
    /// (what a value built by the call holds, spare capacity included), or 0 if the
    /// call freed more than it allocated.
    pub live: u64,
}

#[derive(Clone, Copy)]
struct Counters {
    on: bool,
    allocations: u64,
    bytes: u64,
    live: i64,
    peak: i64,
}

thread_local! {
    // `const` initialization: no lazy init, no destructor, so no allocation on first use.
    static COUNTERS: Cell<Counters> = const {
        Cell::new(Counters { on: false, allocations: 0, bytes: 0, live: 0, peak: 0 })
    };
}

fn note(allocated: usize, freed: usize) {
    // `try_with`: during thread teardown the slot may be gone; then nothing is counted.
    let _ = COUNTERS.try_with(|c| {
        let mut k = c.get();
        if !k.on {
            return;
        }
        if allocated > 0 {
            k.allocations += 1;
            k.bytes += allocated as u64;
        }
        k.live += allocated as i64 - freed as i64;
        k.peak = k.peak.max(k.live);
        c.set(k);
    });
}

/// The counting allocator: [`System`] plus per-thread counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAlloc;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// it upholds `GlobalAlloc`'s contract exactly as `System` does; the counting touches
// only a `const`-initialized thread-local `Cell` (no allocation, no reentrancy).
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size(), 0);
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size(), 0);
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(0, layout.size());
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size, layout.size());
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What the running [`measure`] call on this thread has counted so far (`peak` and
/// `live` up to now), for a closure that watches its own memory as it goes. Zero
/// outside a `measure` call.
pub fn so_far() -> Stats {
    let k = COUNTERS.with(Cell::get);
    if !k.on {
        return Stats::default();
    }
    Stats {
        allocations: k.allocations,
        bytes: k.bytes,
        peak: k.peak.max(0) as u64,
        live: k.live.max(0) as u64,
    }
}

/// Runs `f` with counting on for this thread and returns its result and what it
/// allocated. Only meaningful when [`CountingAlloc`] is the global allocator (else the
/// stats are zero). Calls do not nest.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Stats) {
    COUNTERS.with(|c| {
        c.set(Counters {
            on: true,
            allocations: 0,
            bytes: 0,
            live: 0,
            peak: 0,
        });
    });
    let out = f();
    let k = COUNTERS.with(|c| {
        let mut k = c.get();
        k.on = false;
        c.set(k);
        k
    });
    (
        out,
        Stats {
            allocations: k.allocations,
            bytes: k.bytes,
            peak: k.peak.max(0) as u64,
            live: k.live.max(0) as u64,
        },
    )
}
