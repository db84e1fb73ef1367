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

use crdt_core::{DeltaCrdt, GCounterOp, PnCounterOp};
use crdt_sync::Leader;

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
