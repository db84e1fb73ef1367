//! Cross-crate test support: a deterministic in-process network of `crdt-sync`
//! leaders used by the protocol's scenario and property tests ([`net`], [`oracle`]),
//! the deterministic fault simulator ([`sim`], binary `sim`), and the drivers of the
//! cargo-fuzz targets ([`actions`]), so that plain `cargo test` replays every kept
//! crasher with exactly the checks of the fuzzers. See docs/TESTING.md.

pub mod actions;
pub mod kind;
pub mod net;
pub mod oracle;
pub mod sim;
