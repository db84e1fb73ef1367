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
//! | [`Doc`] | `crdt_sync::Leader<Keyspace>` | per key, see below | `get(key)`, `keys(prefix)` |
//!
//! Every class is constructed with a replica id and has `merge(bytes)`, `encode()`,
//! the static `decode(bytes, replicaId)` and the `replicaId` getter. Bytes are
//! `crdt-core`'s canonical codec, so deltas and states travel unchanged between
//! JavaScript and Rust replicas.
//!
//! [`Doc`] is a whole document: a `crdt_sync::Leader<crdt_core::Keyspace>`, what a
//! `crdt-leader` server runs per document, so a browser tab is one more leader whose
//! peers are its server and its sibling tabs. Keys hold any of the five keyspace
//! types; the method picks the type:
//!
//! | type (`typeOf`) | writes | `get(key)` returns |
//! |---|---|---|
//! | `pncounter` | `increment(key, n = 1)`, `decrement(key, n = 1)` | number (BigInt beyond ±(2^53 - 1)) |
//! | `gcounter` | `incrementGCounter(key, n = 1)` | number (BigInt beyond 2^53 - 1) |
//! | `orset` | `insert(key, s)`, `remove(key, s)` | sorted array of strings |
//! | `lww` | `setLww(key, s, nowMs)` | string |
//! | `mvreg` | `setMv(key, s)` | sorted array of strings |
//! | `conflict` | (a write of one of the types resolves it) | `{ conflict: [{ type, value }, ...] }` |
//!
//! `delete(key)` removes any key, `keys(prefix)` lists them. The protocol:
//! `addPeer(id)`, `removePeer(id)`, `receive(from, bytes)`, `pollTransmit()` →
//! `{ to, bytes }`, `tick()`; `causalToken()` and `covers(token)`; `snapshot()`,
//! `Doc.restore(bytes, nonce)` (a new incarnation that writes once `persisted(bytes)`
//! says its snapshot is stored: `writeStatus`); `metrics()`. Its encodings are checked
//! byte for byte against the native build (`tests/vectors/doc_ops.json`).
//!
//! ```js
//! const { OrSet } = require("./crdt_wasm.js");
//! const a = new OrSet(1), b = new OrSet(2);
//! const delta = a.insert("milk");   // Uint8Array: ship it to the other replicas
//! b.merge(delta);
//! b.has("milk");                    // true
//! ```
//!
//! # Features
//! `classes` (default): the five per-type classes. Without it (`--no-default-features`)
//! the module exports `Doc` alone, all that `openDoc` needs, and is a third smaller:
//! the `doc/` build of the npm package (`docs/WASM.md`, "Size").
//!
//! # Untrusted input
//! Nothing that JavaScript passes can panic: every argument is checked (type, range,
//! size, UTF-16 well-formedness) and every byte string is decoded under
//! [`LIMITS`](crate::codec::LIMITS) with full validation before anything changes.
//! Failures throw a JS `Error` whose message says what to do; the object is unchanged.
//!
//! # Layout
//! Each JS class is a thin `#[wasm_bindgen]` layer that reads its JS arguments
//! ([`js`]) and calls plain Rust methods that take Rust values (for `Doc`: `doc_js.rs`
//! over `doc.rs`); those, and the validation in [`number`], [`text`], [`replica_id`]
//! and [`codec`], are unit-tested on the host target. The JS layer is tested by `crdt-wasm/tests/*.test.mjs` in Node
//! (`scripts/wasm.sh test`). The API is documented in `docs/WASM.md`.
#![forbid(unsafe_code)]

pub mod codec;
mod doc;
mod doc_js;
pub mod error;
#[cfg(feature = "classes")]
mod gcounter;
pub mod js;
#[cfg(feature = "classes")]
mod lww_register;
pub mod number;
#[cfg(feature = "classes")]
mod orset;
#[cfg(feature = "classes")]
mod orset_u64;
#[cfg(feature = "classes")]
mod pncounter;
#[cfg(feature = "classes")]
mod replica;
pub mod replica_id;
pub mod text;

pub use doc::{metric_counters, Doc, WriteStatus};
pub use error::{Arg, Error, Problem};
#[cfg(feature = "classes")]
pub use gcounter::GCounter;

#[cfg(feature = "classes")]
pub use lww_register::LwwRegister;
#[cfg(feature = "classes")]
pub use orset::OrSet;
#[cfg(feature = "classes")]
pub use orset_u64::OrSetU64;
#[cfg(feature = "classes")]
pub use pncounter::PnCounter;
