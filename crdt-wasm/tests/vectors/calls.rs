// Shared by byte_compat.rs (native) and wasm.rs (wasm32): `include!`d by both.

/// The calls the vector must exercise, so that it cannot silently lose coverage.
const CALLS: [&str; 17] = [
    "new",
    "addPeer",
    "increment",
    "decrement",
    "incrementGCounter",
    "insert",
    "remove",
    "setLww",
    "setMv",
    "delete",
    "get",
    "deliver",
    "tick",
    "causalToken",
    "snapshot",
    "restore",
    "persisted",
];
