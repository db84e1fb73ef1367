//! Cross-crate test support: a deterministic in-process network of `crdt-sync`
//! leaders used by the protocol's scenario and property tests.

pub mod net;
pub mod oracle;
