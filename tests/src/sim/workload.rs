//! The random workload: which write a leader makes, per replicated type.
//!
//! [`Model`] ties a replicated type to its operations and its sequential oracle
//! ([`super::oracle`]). A write is drawn from the writing leader's current state (an
//! OR-Set reply is only written by a leader that holds its post; removes pick present
//! elements) and applied with `Leader::apply`; the oracle learns what it must know about the
//! state just before the write (the dots a remove observed, the
//! timestamp an LWW write must follow).

use super::oracle::{CounterOracle, KeyspaceOracle, LwwOracle, OrSetOracle, Oracle};
use super::params::{Kind, Workload};
use super::rng::Rng;
use crdt_core::codec::WireFormat;
use crdt_core::{
    DeltaCrdt, Dot, GCounter, GCounterOp, Keyspace, KeyspaceOp, LwwOp, LwwRegister, OrSet, OrSetOp,
    PnCounter, PnCounterOp, ReplicaId, Timestamp, Value, ValueOp, ValueType,
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

    /// A write's text form in a trace ([`super::trace`]): one line, no leading or
    /// trailing blanks.
    fn write_text(op: &Self::Write) -> String;

    /// Parses [`Model::write_text`].
    fn parse_write(text: &str) -> Result<Self::Write, String>;

    /// State damage (the `damage` fault): which OR-Set element of `state` to lose, in
    /// its text form for a trace (`None`: nothing to damage, or a type without OR-Set
    /// elements).
    fn damage_pick(_rng: &mut Rng, _state: &Self) -> Option<String> {
        None
    }

    /// Makes `state` silently lose the element `target` ([`Model::damage_pick`]),
    /// leaving its causal context unchanged, and returns the live dots it lost; an
    /// error if `state` does not hold it.
    fn damage_apply(_state: &mut Self, target: &str) -> Result<Vec<Dot>, String> {
        Err(format!(
            "nothing to damage ({target}) in a {}",
            Self::KIND.name()
        ))
    }
}

fn amount(text: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not an amount"))
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

impl CounterOp {
    /// `inc N` or `dec N`.
    fn text(self) -> String {
        match self {
            CounterOp::Inc(n) => format!("inc {n}"),
            CounterOp::Dec(n) => format!("dec {n}"),
        }
    }

    fn parse(text: &str) -> Result<CounterOp, String> {
        match text.split_once(' ') {
            Some(("inc", n)) => Ok(CounterOp::Inc(amount(n)?)),
            Some(("dec", n)) => Ok(CounterOp::Dec(amount(n)?)),
            _ => Err(format!("`{text}` is not a counter write (inc N, dec N)")),
        }
    }
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

    fn write_text(op: &CounterOp) -> String {
        op.text()
    }

    fn parse_write(text: &str) -> Result<CounterOp, String> {
        CounterOp::parse(text)
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

    fn write_text(op: &CounterOp) -> String {
        op.text()
    }

    fn parse_write(text: &str) -> Result<CounterOp, String> {
        CounterOp::parse(text)
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

    /// A plain element or a reply (never a post: a reply without its post is what the
    /// causal-consistency probe must never see).
    fn damage_pick(rng: &mut Rng, state: &Self) -> Option<String> {
        let cands: Vec<u64> = state
            .iter()
            .copied()
            .filter(|e| *e < POST || *e >= REPLY)
            .collect();
        (!cands.is_empty()).then(|| rng.pick(&cands).to_string())
    }

    fn damage_apply(state: &mut Self, target: &str) -> Result<Vec<Dot>, String> {
        let x = amount(target)?;
        let lost = state.dots(&x).map(<[Dot]>::to_vec).unwrap_or_default();
        if lost.is_empty() {
            return Err(format!("the set does not hold {x}"));
        }
        let _ = state.remove(&x);
        Ok(lost)
    }

    fn write_text(op: &SetOp) -> String {
        match op {
            SetOp::Insert(x) => format!("add {x}"),
            SetOp::Remove(x) => format!("rm {x}"),
            SetOp::Clear => "clear".to_string(),
        }
    }

    fn parse_write(text: &str) -> Result<SetOp, String> {
        match text.split_once(' ') {
            Some(("add", x)) => Ok(SetOp::Insert(amount(x)?)),
            Some(("rm", x)) => Ok(SetOp::Remove(amount(x)?)),
            None if text == "clear" => Ok(SetOp::Clear),
            _ => Err(format!("`{text}` is not a set write (add X, rm X, clear)")),
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

    fn write_text(op: &LwwWrite) -> String {
        format!("set {}", op.0)
    }

    fn parse_write(text: &str) -> Result<LwwWrite, String> {
        match text.split_once(' ') {
            Some(("set", v)) if !v.is_empty() && !v.contains(char::is_whitespace) => {
                Ok(LwwWrite(v.to_string()))
            }
            _ => Err(format!("`{text}` is not a register write (set VALUE)")),
        }
    }

    fn op(op: &LwwWrite, now_ms: u64) -> LwwOp<String> {
        LwwOp::Set {
            value: op.0.clone(),
            now_ms,
        }
    }
}

// ---------------------------------------------------------------------------------
// Keyspace

/// Keyspace OR-Set elements are drawn from `e0..e{SET_ELEMENTS}`.
pub const SET_ELEMENTS: u64 = 4;

/// The five value types, in [`ValueType`] order: key `k{i}`'s home type is
/// `VALUE_TYPES[i % 5]`.
pub const VALUE_TYPES: [ValueType; 5] = [
    ValueType::GCounter,
    ValueType::PnCounter,
    ValueType::OrSet,
    ValueType::LwwRegister,
    ValueType::MvRegister,
];

/// A keyspace write: one key, and a value write or (`None`) a delete. An LWW write's
/// `now_ms` is the writer's clock, filled in by [`Model::op`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWrite {
    /// The key.
    pub key: String,
    /// The value write, or `None` for a delete of the key.
    pub op: Option<ValueOp>,
}

/// The elements of the OR-Set value under `key` (also inside a type conflict).
fn set_elements(state: &Keyspace, key: &str) -> Vec<String> {
    match state.get(key) {
        Some(Value::OrSet(es)) => es,
        Some(Value::Conflict(vs)) => vs
            .into_iter()
            .find_map(|v| match v {
                Value::OrSet(es) => Some(es),
                _ => None,
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The live dots of `key`, ascending.
#[must_use]
pub fn key_dots(state: &Keyspace, key: &str) -> Vec<Dot> {
    state
        .dots()
        .filter(|(k, _)| *k == key)
        .map(|(_, d)| d)
        .collect()
}

impl Model for Keyspace {
    const KIND: Kind = Kind::Keyspace;
    type Write = KeyWrite;
    /// The key's live dots before the write (the oracle knows what each holds, and so
    /// which of them the write supersedes).
    type Pre = Vec<Dot>;
    type Oracle = KeyspaceOracle;

    /// A key from a small universe; a delete (of a present key) or a write of a type
    /// the key has here (one of them in a type conflict, which the write resolves), or
    /// for an absent key its home type — or, at the seed's `type_mix` rate, any type, so
    /// that concurrent first writes may give one key two types.
    fn draw(gen: &mut OpGen, rng: &mut Rng, w: &Workload, state: &Self) -> KeyWrite {
        let k = rng.below(w.keys.max(1));
        let key = format!("k{k}");
        let present = state.value_types(&key);
        if !present.is_empty() && rng.chance(w.delete) {
            return KeyWrite { key, op: None };
        }
        let t = if present.is_empty() {
            if rng.chance(w.type_mix) {
                *rng.pick(&VALUE_TYPES)
            } else {
                VALUE_TYPES[(k % 5) as usize]
            }
        } else {
            *rng.pick(&present)
        };
        let op = match t {
            ValueType::GCounter => ValueOp::GCounterIncrement(draw_amount(rng, w)),
            ValueType::PnCounter => {
                let n = draw_amount(rng, w);
                if rng.chance(w.decrement) {
                    ValueOp::PnCounterDecrement(n)
                } else {
                    ValueOp::PnCounterIncrement(n)
                }
            }
            ValueType::OrSet => {
                let held = set_elements(state, &key);
                if !held.is_empty() && rng.chance(400_000) {
                    ValueOp::OrSetRemove(rng.pick(&held).clone())
                } else if rng.chance(100_000) {
                    ValueOp::OrSetRemove(format!("e{}", rng.below(SET_ELEMENTS)))
                } else {
                    ValueOp::OrSetInsert(format!("e{}", rng.below(SET_ELEMENTS)))
                }
            }
            ValueType::LwwRegister => {
                gen.values += 1;
                ValueOp::LwwSet {
                    value: format!("v{}", rng.below(w.value_pool)),
                    now_ms: 0,
                }
            }
            ValueType::MvRegister => {
                gen.values += 1;
                ValueOp::MvRegisterSet(format!("m{}", rng.below(w.value_pool)))
            }
        };
        KeyWrite { key, op: Some(op) }
    }

    fn pre(op: &KeyWrite, state: &Self, _: ReplicaId) -> Vec<Dot> {
        key_dots(state, &op.key)
    }

    fn op(op: &KeyWrite, now_ms: u64) -> KeyspaceOp {
        let key = op.key.clone();
        match &op.op {
            None => KeyspaceOp::Delete { key },
            Some(ValueOp::LwwSet { value, .. }) => KeyspaceOp::Write {
                key,
                op: ValueOp::LwwSet {
                    value: value.clone(),
                    now_ms,
                },
            },
            Some(v) => KeyspaceOp::Write { key, op: v.clone() },
        }
    }

    /// One element of an OR-Set key that is not in a type conflict (`KEY ELEMENT`),
    /// removed as an OR-Set remove does (its dots leave the state, not the context).
    fn damage_pick(rng: &mut Rng, state: &Self) -> Option<String> {
        let keys: Vec<String> = state
            .keys()
            .filter(|k| state.value_types(k) == [ValueType::OrSet])
            .map(str::to_string)
            .collect();
        if keys.is_empty() {
            return None;
        }
        let key = rng.pick(&keys).clone();
        let elements = set_elements(state, &key);
        if elements.is_empty() {
            return None;
        }
        let x = rng.pick(&elements).clone();
        Some(format!("{key} {x}"))
    }

    fn damage_apply(state: &mut Self, target: &str) -> Result<Vec<Dot>, String> {
        let (key, x) = target
            .split_once(' ')
            .ok_or_else(|| format!("`{target}` is not KEY ELEMENT"))?;
        if state.value_types(key) != [ValueType::OrSet]
            || !set_elements(state, key).iter().any(|e| e == x)
        {
            return Err(format!("key {key} holds no set with {x}"));
        }
        let before = key_dots(state, key);
        let _ = state.set_remove(ReplicaId::new(1), key, x);
        let after = key_dots(state, key);
        Ok(before.into_iter().filter(|d| !after.contains(d)).collect())
    }

    /// `KEY del`, or `KEY` and the value write: `ginc N`, `pinc N`, `pdec N`, `sadd E`,
    /// `srm E`, `lww V` (its clock is the write event's), `mv V`.
    fn write_text(op: &KeyWrite) -> String {
        let w = match &op.op {
            None => "del".to_string(),
            Some(ValueOp::GCounterIncrement(n)) => format!("ginc {n}"),
            Some(ValueOp::PnCounterIncrement(n)) => format!("pinc {n}"),
            Some(ValueOp::PnCounterDecrement(n)) => format!("pdec {n}"),
            Some(ValueOp::OrSetInsert(e)) => format!("sadd {e}"),
            Some(ValueOp::OrSetRemove(e)) => format!("srm {e}"),
            Some(ValueOp::LwwSet { value, .. }) => format!("lww {value}"),
            Some(ValueOp::MvRegisterSet(v)) => format!("mv {v}"),
        };
        format!("{} {w}", op.key)
    }

    fn parse_write(text: &str) -> Result<KeyWrite, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let bad = || format!("`{text}` is not a keyspace write (KEY del, KEY ginc N, ...)");
        let op = match words[..] {
            [_, "del"] => None,
            [_, w, arg] => Some(match w {
                "ginc" => ValueOp::GCounterIncrement(amount(arg)?),
                "pinc" => ValueOp::PnCounterIncrement(amount(arg)?),
                "pdec" => ValueOp::PnCounterDecrement(amount(arg)?),
                "sadd" => ValueOp::OrSetInsert(arg.to_string()),
                "srm" => ValueOp::OrSetRemove(arg.to_string()),
                "lww" => ValueOp::LwwSet {
                    value: arg.to_string(),
                    now_ms: 0,
                },
                "mv" => ValueOp::MvRegisterSet(arg.to_string()),
                _ => return Err(bad()),
            }),
            _ => return Err(bad()),
        };
        Ok(KeyWrite {
            key: words[0].to_string(),
            op,
        })
    }
}
