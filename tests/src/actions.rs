//! Fuzzing support shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`, each a
//! one-line call into this module) and by plain `cargo test`s that replay every
//! committed crasher and seed (`tests/tests/fuzz_regressions.rs`).
//!
//! Each target is a *driver*: a function from untrusted bytes to a checked run that
//! panics on any violated property. The structured targets read their input as
//! [`arbitrary`] action types ([`model::Action`], [`sync::Step`], [`sync::Mutation`]),
//! so a fuzzer mutating bytes explores sequences of operations rather than bit strings.
//!
//! | target | driver | checks |
//! |---|---|---|
//! | `decode_core` | [`decode::run`] | every core type: decoding never panics, whatever decodes re-encodes to the same bytes, tighter limits only reject more |
//! | `decode_sync` | [`sync::run`] | `Leader::receive` of raw and of mutated real messages, probes and probe replies naming any incarnation, restarts of the receiver, `Leader::restore_with_nonce` of raw and real snapshots (then the probe and the new incarnation): no panic, a rejected message leaves the leader unchanged, accepted input keeps every invariant |
//! | `merge_untrusted` | [`merge::run`] | two decoded values of one type: merge keeps the invariants, is commutative and idempotent (by encoding), `merge_delta` and `delta_since` obey their laws |
//! | `ops_model` | [`model::run`] | arbitrary writes, deliveries, drops, duplicates, partitions, ticks, snapshots and restarts (from the last or an older snapshot) on 3-leader OR-Set, PN-counter and LWW-register clusters, checked at every step and after healing by the simulator's oracles (`crate::sim::oracle`): session guarantees, convergence of states and tokens, zero lost writes |
//! | `retire_untrusted` | [`retire::run`] | a decoded value of a core type and up to four arbitrary retirement records: retiring never panics, a refused record or batch leaves the value unchanged, an applied batch keeps the invariants, drops the retired writers from the context and round-trips |
//!
//! [`seeds`] generates each target's starting corpus from real encodings (random bytes
//! rarely get past the 4-byte magic header).

pub mod decode;
pub mod merge;
pub mod model;
pub mod retire;
pub mod seeds;
pub mod sync;

/// Reads `T`s from fuzzer bytes until the bytes run out (at most `max`).
///
/// Unlike `Vec::<T>::arbitrary_take_rest`, which reads a continuation flag before each
/// element (so that half of all random inputs stop after the first one), every byte
/// goes into an element: an input of `n` bytes is about `n / size` actions. A value
/// cut short by the end of the input is completed with zeros (`arbitrary`'s rule).
#[must_use]
pub fn take<'a, T: arbitrary::Arbitrary<'a>>(data: &'a [u8], max: usize) -> Vec<T> {
    let mut u = arbitrary::Unstructured::new(data);
    let mut out = Vec::new();
    while !u.is_empty() && out.len() < max {
        match T::arbitrary(&mut u) {
            Ok(v) => out.push(v),
            Err(_) => break,
        }
    }
    out
}

/// One fuzz target: its name (the file `fuzz/fuzz_targets/<name>.rs`) and its driver.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The cargo-fuzz target name; also the folder name under `fuzz/seeds/` and
    /// `fuzz/artifacts-committed/`.
    pub name: &'static str,
    /// Runs one input; panics if a property is violated.
    pub run: fn(&[u8]),
}

/// Every fuzz target, in the order `scripts/test.sh` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "decode_core",
        run: decode::run,
    },
    Target {
        name: "decode_sync",
        run: sync::run,
    },
    Target {
        name: "merge_untrusted",
        run: merge::run,
    },
    Target {
        name: "ops_model",
        run: model::run,
    },
    Target {
        name: "retire_untrusted",
        run: retire::run,
    },
];

/// The target called `name`.
#[must_use]
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|t| t.name == name)
}
