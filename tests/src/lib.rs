//! Cross-crate test support: a deterministic in-process network of `crdt-sync`
//! leaders used by the protocol's scenario and property tests ([`net`], [`oracle`]),
//! the deterministic fault simulator ([`sim`], binary `sim`), and the drivers of the
//! cargo-fuzz targets ([`actions`]), so that plain `cargo test` replays every kept
//! crasher with exactly the checks of the fuzzers. See docs/TESTING.md.

pub mod actions;
pub mod copies;
pub mod kind;
pub mod net;
pub mod oracle;
pub mod peek;
pub mod retirement;
pub mod retirement_figure;
pub mod retirement_replication;
pub mod sim;

use crdt_core::{DeltaCrdt, GCounterOp, PnCounterOp, ReplicaId};
use crdt_sync::{Config, Leader};
use std::cell::Cell;

thread_local! {
    /// Leaders made by [`new_leader`] on this thread (each test runs on its own).
    static LEADERS_MADE: Cell<u64> = const { Cell::new(0) };
}

/// A new leader with the default [`Config`] and a nonce that is deterministic (the
/// same test makes the same leaders on every run) and distinct for every leader the
/// calling test makes, as the operating system's would be: two leaders a test starts
/// under one id are two lives with writer ids of their own.
pub fn new_leader<C: DeltaCrdt>(id: ReplicaId, initial: C) -> Leader<C> {
    new_leader_with(id, initial, Config::default())
}

/// A new leader whose nonce depends on `id` only: for fixtures whose bytes must be
/// the same wherever they are made (fuzz seeds, the in-process [`net::Net`]), where
/// every leader has an id of its own. Use [`new_leader`] for a second life of an id.
pub fn seeded_leader<C: DeltaCrdt>(id: ReplicaId, initial: C) -> Leader<C> {
    Leader::with_nonce(
        id,
        initial,
        Config::default(),
        id.get().rotate_left(17) ^ 0x5eed,
    )
}

/// [`new_leader`] with explicit limits.
pub fn new_leader_with<C: DeltaCrdt>(id: ReplicaId, initial: C, config: Config) -> Leader<C> {
    let made = LEADERS_MADE.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    let nonce = id.get().rotate_left(17) ^ made.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Leader::with_nonce(id, initial, config, nonce)
}

/// Counter operations that increment, so one test body serves both counter types.
pub trait IncrementOp {
    /// The operation adding `n`.
    fn increment(n: u64) -> Self;
}

impl IncrementOp for GCounterOp {
    fn increment(n: u64) -> Self {
        GCounterOp::Increment(n)
    }
}

impl IncrementOp for PnCounterOp {
    fn increment(n: u64) -> Self {
        PnCounterOp::Increment(n)
    }
}

/// The increment by `n` of whichever counter the call site's leader replicates.
pub fn inc<O: IncrementOp>(n: u64) -> O {
    O::increment(n)
}

/// Checkpointing as a service does it: encode, "store", and mark persisted.
pub trait SaveExt {
    /// Takes a checkpoint, marks it persisted, and returns its bytes.
    fn save(&mut self) -> Vec<u8>;
}

impl<C: DeltaCrdt> SaveExt for Leader<C> {
    fn save(&mut self) -> Vec<u8> {
        let checkpoint = self.checkpoint();
        let bytes = checkpoint.bytes().to_vec();
        self.persisted(checkpoint)
            .expect("a leader's own checkpoint is accepted");
        bytes
    }
}
