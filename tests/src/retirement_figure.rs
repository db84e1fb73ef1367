//! Issue 14's retirement figure through leaders: 10,000 short-lived writers each make
//! one write, their lives are handed over to a live leader and retired
//! (`Leader::commit_retirement`, batches of at most `BATCH_CERTIFICATES_MAX`); the
//! leader's encoded state, causal token and digest content (summary and token) are
//! then compared with a leader whose live writer made the same writes in the same
//! order. Element values are unrelated to the order of the writes and to the writers'
//! ids (as users' values are): the collapse ranges follow writer-id order, the live
//! writer's dots follow write order, and neither follows the elements'.
//!
//! `tests/tests/retirement_figure.rs` checks it; `cargo run --release -p tests
//! --example retirement_figure` prints it for BENCHMARKS.md.

use crdt_core::codec::{encode, WireFormat};
use crdt_core::{
    DeltaCrdt, Keyspace, KeyspaceOp, OrSet, OrSetOp, PnCounter, PnCounterOp, Retire, ValueOp,
};
use crdt_sync::retirement::{Batch, Certificate, BATCH_CERTIFICATES_MAX};
use crdt_sync::{Config, Leader, COLLAPSE_DEFAULT};

/// Short-lived writers retired.
pub const WRITERS: u64 = 10_000;

/// Sizes in bytes: encoded state, causal token, digest content (summary + token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// The encoded state.
    pub state: usize,
    /// The encoded causal token.
    pub token: usize,
    /// The digest's content: the encoded summary and token.
    pub digest: usize,
}

/// One type's figure.
#[derive(Debug, Clone, Copy)]
pub struct Figure {
    /// The type.
    pub what: &'static str,
    /// After retiring the writers.
    pub retired: Sizes,
    /// The same writes by one live writer.
    pub live: Sizes,
    /// Before retiring them (every writer named).
    pub before: Sizes,
}

fn sizes<C: DeltaCrdt>(l: &Leader<C>) -> Sizes
where
    C::Summary: WireFormat,
{
    let token = encode(&l.causal_token()).len();
    Sizes {
        state: encode(l.state()).len(),
        token,
        digest: encode(&l.state().summary()).len() + token,
    }
}

fn leader<C: DeltaCrdt>(id: u64) -> Leader<C> {
    Leader::with_nonce(
        crdt_core::ReplicaId::new(id),
        C::default(),
        Config::default(),
        id ^ 0x5eed,
    )
}

/// The write `op(i)` made by short-lived writer `i` and retired, against the same
/// writes by one live writer.
///
/// # Panics
/// If a write, hand-over or commit is refused (a bug).
fn figure<C: DeltaCrdt + Retire>(what: &'static str, op: impl Fn(u64) -> C::Op) -> Figure
where
    C::Summary: WireFormat,
{
    let mut main = leader::<C>(1);
    let mut writers = Vec::new();
    for i in 0..WRITERS {
        let mut short = leader::<C>(1_000_000 + i * 7919);
        let _ = short.apply(op(i)).expect("write");
        let _ = main
            .hand_over(short.checkpoint().bytes())
            .expect("hand over");
        writers.push(short.writer_id());
    }
    assert_eq!(main.causal_token().len(), WRITERS as usize);
    let before = sizes(&main);
    let certificates: Vec<Certificate> = writers
        .iter()
        .map(|&writer| Certificate {
            writer,
            holdings: main.holdings(writer),
        })
        .collect();
    let mut base = 0;
    for (e, chunk) in certificates.chunks(BATCH_CERTIFICATES_MAX).enumerate() {
        let batch =
            Batch::new(e as u64 + 1, base, chunk.to_vec(), COLLAPSE_DEFAULT).expect("a batch");
        base = batch.end();
        main.commit_retirement(&batch).expect("commit");
    }
    assert_eq!(main.retired_writers(), WRITERS as usize);
    let mut live = leader::<C>(1);
    for i in 0..WRITERS {
        let _ = live.apply(op(i)).expect("write");
    }
    Figure {
        what,
        retired: sizes(&main),
        live: sizes(&live),
        before,
    }
}

/// The figure for an OR-Set, a PN-Counter and a keyspace set.
#[must_use]
pub fn measure() -> Vec<Figure> {
    vec![
        figure::<OrSet<u64>>("OR-Set (`u64`)", |i| OrSetOp::Insert(scatter(i))),
        figure::<PnCounter>("PN-Counter", |_| PnCounterOp::Increment(1)),
        figure::<Keyspace>("keyspace, one OR-Set key", |i| KeyspaceOp::Write {
            key: "members".to_string(),
            op: ValueOp::OrSetInsert(format!("m{}", scatter(i))),
        }),
    ]
}

/// `ours` is within 10 % of `theirs`, or within 16 bytes for parts of a few bytes (a
/// collapse entry's id is an 8-byte varint where a small live id takes 1).
#[must_use]
pub fn within_ten_percent(ours: usize, theirs: usize) -> bool {
    ours * 10 <= theirs * 11 || ours <= theirs + 16
}

/// A value unrelated to `i`'s order (SplitMix64's finalizer).
fn scatter(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
