//! The random workload: which write a leader makes, per replicated type.
//!
//! [`Model`] ties a replicated type to its operations and its sequential oracle
//! ([`super::oracle`]). A write is drawn from the writing leader's current state (an
//! OR-Set reply is only written by a leader that holds its post; removes pick present
//! elements) and applied with `Leader::apply`; the oracle learns what it must know about the
//! state just before the write (the dots a remove observed, the
//! timestamp an LWW write must follow).

use super::oracle::{CounterOracle, LwwOracle, OrSetOracle, Oracle};
use super::params::{Kind, Workload};
use super::rng::Rng;
use crdt_core::codec::WireFormat;
use crdt_core::{
    DeltaCrdt, Dot, GCounter, GCounterOp, LwwOp, LwwRegister, OrSet, OrSetOp, PnCounter,
    PnCounterOp, ReplicaId, Timestamp,
};
use std::fmt::Debug;

/// OR-Set elements at or above this are posts: `POST + p`.
pub const POST: u64 = 1_000_000;
/// OR-Set elements at or above this are replies: `REPLY + p * REPLIES_PER_POST + r` is
/// reply `r` to post `p`.
pub const REPLY: u64 = 2_000_000;
/// Most replies per post.
pub const REPLIES_PER_POST: u64 = 1_000;
/// Most posts per run.
pub const POSTS_MAX: u64 = 48;
/// Most replies the workload writes per post (keeps states small).
pub const REPLIES_WRITTEN_MAX: u64 = 12;

/// The post a reply element answers, if it is a reply.
#[must_use]
pub fn post_of(reply: u64) -> Option<u64> {
    (reply >= REPLY).then(|| POST + (reply - REPLY) / REPLIES_PER_POST)
}

/// A replicated type under simulation.
pub trait Model: DeltaCrdt + WireFormat + Sized + 'static {
    /// Which kind it is.
    const KIND: Kind;
    /// A write, as the workload draws it.
    type Write: Clone + Debug;
    /// What the oracle needs to know of the state just before a write.
    type Pre: Debug;
    /// The sequential oracle.
    type Oracle: Oracle<Self>;

    /// Draws a write for a leader whose state is `state`.
    fn draw(gen: &mut OpGen, rng: &mut Rng, w: &Workload, state: &Self) -> Self::Write;

    /// What the oracle must know of `state` before `writer` applies `op`.
    fn pre(op: &Self::Write, state: &Self, writer: ReplicaId) -> Self::Pre;

    /// The leader operation of `op` for a writer whose wall clock reads `now_ms`.
    fn op(op: &Self::Write, now_ms: u64) -> <Self as DeltaCrdt>::Op;
}

/// Workload state shared by all leaders of a run (fresh post and reply numbers).
#[derive(Debug, Default, Clone)]
pub struct OpGen {
    posts: u64,
    replies: Vec<u64>,
    values: u64,
}

/// A counter write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterOp {
    /// Add.
    Inc(u64),
    /// Subtract (PN-Counter only).
    Dec(u64),
}

fn draw_amount(rng: &mut Rng, w: &Workload) -> u64 {
    if rng.chance(w.big) {
        rng.range(1_000, 1_000_000_000)
    } else if rng.chance(20_000) {
        0
    } else {
        rng.range(1, 10)
    }
}

impl Model for GCounter {
    const KIND: Kind = Kind::GCounter;
    type Write = CounterOp;
    /// The writer's entry before the write (increments, decrements).
    type Pre = (u64, u64);
    type Oracle = CounterOracle;

    fn draw(_: &mut OpGen, rng: &mut Rng, w: &Workload, _: &Self) -> CounterOp {
        CounterOp::Inc(draw_amount(rng, w))
    }

    fn pre(_: &CounterOp, state: &Self, writer: ReplicaId) -> (u64, u64) {
        (state.get(writer), 0)
    }

    fn op(op: &CounterOp, _: u64) -> GCounterOp {
        match op {
            CounterOp::Inc(n) | CounterOp::Dec(n) => GCounterOp::Increment(*n),
        }
    }
}

impl Model for PnCounter {
    const KIND: Kind = Kind::PnCounter;
    type Write = CounterOp;
    /// The writer's entry before the write (increments, decrements).
    type Pre = (u64, u64);
    type Oracle = CounterOracle;

    fn draw(_: &mut OpGen, rng: &mut Rng, w: &Workload, _: &Self) -> CounterOp {
        let n = draw_amount(rng, w);
        if rng.chance(w.decrement) {
            CounterOp::Dec(n)
        } else {
            CounterOp::Inc(n)
        }
    }

    fn pre(_: &CounterOp, state: &Self, writer: ReplicaId) -> (u64, u64) {
        state.totals(writer)
    }

    fn op(op: &CounterOp, _: u64) -> PnCounterOp {
        match op {
            CounterOp::Inc(n) => PnCounterOp::Increment(*n),
            CounterOp::Dec(n) => PnCounterOp::Decrement(*n),
        }
    }
}

/// An OR-Set write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// Insert an element (a plain one, a post or a reply).
    Insert(u64),
    /// Remove an element (never a post).
    Remove(u64),
    /// Remove everything observed (only in runs without posts).
    Clear,
}

impl Model for OrSet<u64> {
    const KIND: Kind = Kind::OrSet;
    type Write = SetOp;
    /// The live dots the write removes (observed here before the write).
    type Pre = Vec<Dot>;
    type Oracle = OrSetOracle;

    fn draw(gen: &mut OpGen, rng: &mut Rng, w: &Workload, state: &Self) -> SetOp {
        let roll = rng.below(100);
        if w.post_reply && roll < 20 {
            // A reply to a post this leader holds, else a new post.
            let held: Vec<u64> = state
                .iter()
                .copied()
                .filter(|e| (POST..REPLY).contains(e))
                .collect();
            let answerable: Vec<u64> = held
                .iter()
                .copied()
                .filter(|p| gen.replies[(p - POST) as usize] < REPLIES_WRITTEN_MAX)
                .collect();
            if !answerable.is_empty() && (roll < 12 || gen.posts >= POSTS_MAX) {
                let p = *rng.pick(&answerable) - POST;
                let r = gen.replies[p as usize];
                gen.replies[p as usize] += 1;
                return SetOp::Insert(REPLY + p * REPLIES_PER_POST + r);
            }
            if gen.posts < POSTS_MAX {
                gen.posts += 1;
                gen.replies.push(0);
                return SetOp::Insert(POST + gen.posts - 1);
            }
            if let Some(&p) = held.first() {
                // Re-inserting a post replaces its dots: it must stay present.
                return SetOp::Insert(p);
            }
        }
        if w.clear && roll >= 97 {
            return SetOp::Clear;
        }
        if roll < 60 {
            return SetOp::Insert(rng.below(w.universe));
        }
        // Remove: mostly something present (plain or reply), else any plain element.
        let removable: Vec<u64> = state
            .iter()
            .copied()
            .filter(|e| *e < POST || *e >= REPLY)
            .collect();
        if !removable.is_empty() && rng.chance(700_000) {
            SetOp::Remove(*rng.pick(&removable))
        } else {
            SetOp::Remove(rng.below(w.universe))
        }
    }

    fn pre(op: &SetOp, state: &Self, _: ReplicaId) -> Vec<Dot> {
        match op {
            SetOp::Insert(x) | SetOp::Remove(x) => {
                state.dots(x).map(<[Dot]>::to_vec).unwrap_or_default()
            }
            SetOp::Clear => state
                .iter()
                .flat_map(|x| state.dots(x).unwrap_or(&[]).iter().copied())
                .collect(),
        }
    }

    fn op(op: &SetOp, _: u64) -> OrSetOp<u64> {
        match op {
            SetOp::Insert(x) => OrSetOp::Insert(*x),
            SetOp::Remove(x) => OrSetOp::Remove(*x),
            SetOp::Clear => OrSetOp::Clear,
        }
    }
}

/// An LWW write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LwwWrite(pub String);

impl Model for LwwRegister<String> {
    const KIND: Kind = Kind::Lww;
    type Write = LwwWrite;
    /// The timestamp of the value before the write (the write must be ordered after).
    type Pre = Option<Timestamp>;
    type Oracle = LwwOracle;

    fn draw(gen: &mut OpGen, rng: &mut Rng, w: &Workload, _: &Self) -> LwwWrite {
        gen.values += 1;
        let v = rng.below(w.value_pool);
        if rng.chance(20_000) {
            LwwWrite(format!("{v}-{}", "x".repeat(200)))
        } else {
            LwwWrite(format!("v{v}"))
        }
    }

    fn pre(_: &LwwWrite, state: &Self, _: ReplicaId) -> Option<Timestamp> {
        state.timestamp()
    }

    fn op(op: &LwwWrite, now_ms: u64) -> LwwOp<String> {
        LwwOp::Set {
            value: op.0.clone(),
            now_ms,
        }
    }
}
