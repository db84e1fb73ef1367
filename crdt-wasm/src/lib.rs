//! JavaScript bindings (wasm-bindgen) of `crdt-core`'s replicated types, for browsers
//! and Node.
//!
//! | JS class | Rust type | mutators (each returns its delta as a `Uint8Array`) | value |
//! |---|---|---|---|
//! | [`GCounter`] | `GCounter` | `increment(n = 1)` | `value()`, `valueBigInt()` |
//! | [`PnCounter`] | `PnCounter` | `increment(n = 1)`, `decrement(n = 1)` | `value()`, `valueBigInt()` |
//! | [`OrSet`] | `OrSet<String>` | `insert(s)`, `remove(s)`, `clear()` | `has(s)`, `values()`, `size` |
//! | [`OrSetU64`] | `OrSet<u64>` | `insert(n)`, `remove(n)`, `clear()` | `has(n)`, `values()`, `valuesBigInt()`, `size` |
//! | [`LwwRegister`] | `LwwRegister<String>` | `set(s, nowMs)` | `get()` |
//!
//! Every class is constructed with a replica id and has `merge(bytes)`, `encode()`,
//! the static `decode(bytes, replicaId)` and the `replicaId` getter. Bytes are
//! `crdt-core`'s canonical codec, so deltas and states travel unchanged between
//! JavaScript and Rust replicas.
//!
//! ```js
//! const { OrSet } = require("./crdt_wasm.js");
//! const a = new OrSet(1), b = new OrSet(2);
//! const delta = a.insert("milk");   // Uint8Array: ship it to the other replicas
//! b.merge(delta);
//! b.has("milk");                    // true
//! ```
//!
//! # Untrusted input
//! Nothing that JavaScript passes can panic: every argument is checked (type, range,
//! size, UTF-16 well-formedness) and every byte string is decoded under
//! [`LIMITS`](crate::codec::LIMITS) with full validation before anything changes.
//! Failures throw a JS `Error` whose message says what to do; the object is unchanged.
//!
//! # Layout
//! Each JS class is a thin `#[wasm_bindgen]` layer that reads its JS arguments
//! ([`js`]) and calls plain Rust methods that take Rust values; those, and the
//! validation in [`number`], [`text`], [`replica_id`] and [`codec`], are unit-tested on
//! the host target. The JS layer is tested by `crdt-wasm/tests/*.test.mjs` in Node
//! (`scripts/wasm.sh test`). The API is documented in `docs/WASM.md`.
#![forbid(unsafe_code)]

pub mod codec;
mod doc;
mod doc_js;
pub mod error;
mod gcounter;
pub mod js;
mod lww_register;
pub mod number;
mod orset;
mod orset_u64;
mod pncounter;
mod replica;
pub mod replica_id;
pub mod text;

pub use doc::{metric_counters, type_name, Doc, WriteStatus};
pub use error::{Arg, Error, Problem};
pub use gcounter::GCounter;

pub use lww_register::LwwRegister;
pub use orset::OrSet;
pub use orset_u64::OrSetU64;
pub use pncounter::PnCounter;
