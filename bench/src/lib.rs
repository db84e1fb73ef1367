//! Benchmarks of `crdt-core` and `crdt-sync` next to their peers: the `crdts` crate
//! (rust-crdt 7.3) and plain `ahash` collections, same process, same inputs; and the
//! wire-efficiency experiment of Enes et al. (ICDE 2019). See `BENCHMARKS.md` at the
//! repository root for the figures and `scripts/bench.sh` to regenerate them.
//!
//! - [`orset`], [`counter`], [`register`]: the contenders behind one interface per
//!   type, shared by the table binary (`bench_table`) and the criterion benches;
//!   [`keyspace`]: the keyspace workloads next to `crdts::Map`;
//! - [`element`]: the OR-Set element types; [`rng`]: the seeded generator;
//! - [`timing`], [`heap`]: how time, live heap and allocations are measured;
//!   [`measurement`]: each operation timed that way;
//! - [`wire`]: the synchronization experiment (binary `wire`), [`svg`] its plots;
//! - [`hub`]: a hub relaying for hundreds of spoke leaders (binary `hub`);
//! - [`load`]: the load benchmark of `crdt-leader` over HTTP next to Redis (binary
//!   `load`);
//! - [`table`]: markdown output and the target ledger; [`criterion_support`]: the
//!   criterion benches' sizes and settings.

pub mod counter;
pub mod criterion_support;
pub mod element;
pub mod heap;
pub mod hub;
pub mod keyspace;
pub mod load;
pub mod measurement;
pub mod orset;
pub mod register;
pub mod rng;
pub mod svg;
pub mod table;
pub mod timing;
pub mod wire;
