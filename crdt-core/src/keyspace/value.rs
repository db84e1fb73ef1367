//! What a keyspace entry holds and what a read or a write of it says.

use crate::codec::Writer;
use crate::{ReplicaId, Timestamp};
use core::fmt;

/// The type of a keyspace entry's value, fixed by the key's first write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueType {
    /// A grow-only counter.
    GCounter,
    /// A counter with increments and decrements.
    PnCounter,
    /// An add-wins set of strings.
    OrSet,
    /// A last-writer-wins register of a string.
    LwwRegister,
    /// A multi-value register of strings.
    MvRegister,
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::GCounter => "GCounter",
            ValueType::PnCounter => "PnCounter",
            ValueType::OrSet => "OrSet",
            ValueType::LwwRegister => "LwwRegister",
            ValueType::MvRegister => "MvRegister",
        })
    }
}

/// What one live dot of an entry holds: a counter writer's running totals, one set
/// element, or one register write.
///
/// 24 bytes: strings are boxed slices (no spare capacity, 16 bytes) and a
/// last-writer-wins write, the largest variant, is boxed, so that an entry of one dot
/// stays small for every type (see the keyspace's memory notes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Payload {
    /// The writer's total of increments (its latest dot holds it).
    GCounter(u64),
    /// The writer's totals of increments and decrements.
    PnCounter {
        /// Increments.
        inc: u64,
        /// Decrements.
        dec: u64,
    },
    /// One add of an element.
    OrSet(Box<str>),
    /// One register write ordered by its timestamp.
    Lww(Box<LwwWrite>),
    /// One multi-value register write.
    Mv(Box<str>),
    /// A retired writer's G-Counter total, under its renamed dot: a collapsed
    /// contribution, summed with every other one and never superseded by a write
    /// (`docs/RETIREMENT.md` §3.1).
    GCounterCollapsed(u64),
    /// A retired writer's PN-Counter totals, collapsed likewise.
    PnCounterCollapsed {
        /// Increments.
        inc: u64,
        /// Decrements.
        dec: u64,
    },
}

/// One last-writer-wins register write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LwwWrite {
    /// When it was written.
    pub(crate) stamp: Timestamp,
    /// The value.
    pub(crate) value: Box<str>,
    /// The writer that made it, once its dot was renamed by a retirement: it orders
    /// writes of equal stamps in place of the dot's writer, so no winner changes.
    pub(crate) writer: Option<ReplicaId>,
}

impl Payload {
    /// Appends the payload's canonical encoding: its tag, then its fields (see the
    /// keyspace body in `docs/WIRE_FORMAT.md`).
    pub(crate) fn encode(&self, w: &mut Writer) {
        let string = |w: &mut Writer, s: &str| {
            w.len(s.len());
            w.raw(s.as_bytes());
        };
        match self {
            Payload::GCounter(n) => {
                w.u8(0);
                w.varint(*n);
            }
            Payload::PnCounter { inc, dec } => {
                w.u8(1);
                w.varint(*inc);
                w.varint(*dec);
            }
            Payload::OrSet(e) => {
                w.u8(2);
                string(w, e);
            }
            Payload::Lww(lww) => {
                let LwwWrite {
                    stamp,
                    value,
                    writer,
                } = &**lww;
                // A renamed write (tag 7) leads with the writer that made it.
                match writer {
                    None => w.u8(3),
                    Some(r) => {
                        w.u8(7);
                        w.replica(*r);
                    }
                }
                w.varint(stamp.millis());
                w.varint(u64::from(stamp.logical()));
                string(w, value);
            }
            Payload::Mv(v) => {
                w.u8(4);
                string(w, v);
            }
            Payload::GCounterCollapsed(n) => {
                w.u8(5);
                w.varint(*n);
            }
            Payload::PnCounterCollapsed { inc, dec } => {
                w.u8(6);
                w.varint(*inc);
                w.varint(*dec);
            }
        }
    }

    /// This payload once its dot, a dot of `retired`, is renamed by a retirement:
    /// counter totals become collapsed contributions, and a register write keeps its
    /// writer as its tie-break (`docs/RETIREMENT.md` §3.1).
    pub(crate) fn retired_by(&self, retired: ReplicaId) -> Payload {
        match self {
            Payload::GCounter(n) => Payload::GCounterCollapsed(*n),
            Payload::PnCounter { inc, dec } => Payload::PnCounterCollapsed {
                inc: *inc,
                dec: *dec,
            },
            Payload::Lww(w) => Payload::Lww(Box::new(LwwWrite {
                writer: w.writer.or(Some(retired)),
                ..(**w).clone()
            })),
            other => other.clone(),
        }
    }

    /// The heap held: a string's bytes (boxed, so no spare capacity), or the boxed
    /// last-writer-wins write and its string.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Payload::GCounter(_)
            | Payload::PnCounter { .. }
            | Payload::GCounterCollapsed(_)
            | Payload::PnCounterCollapsed { .. } => 0,
            Payload::OrSet(s) | Payload::Mv(s) => s.len(),
            Payload::Lww(w) => core::mem::size_of::<LwwWrite>() + w.value.len(),
        }
    }

    pub(crate) fn value_type(&self) -> ValueType {
        match self {
            Payload::GCounter(_) | Payload::GCounterCollapsed(_) => ValueType::GCounter,
            Payload::PnCounter { .. } | Payload::PnCounterCollapsed { .. } => ValueType::PnCounter,
            Payload::OrSet(_) => ValueType::OrSet,
            Payload::Lww(_) => ValueType::LwwRegister,
            Payload::Mv(_) => ValueType::MvRegister,
        }
    }
}

/// The value of a key as a read sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A grow-only counter's value (saturating at `u64::MAX`).
    GCounter(u64),
    /// A PN-counter's value (clamped to the `i64` range).
    PnCounter(i64),
    /// An OR-Set's elements, ascending.
    OrSet(Vec<String>),
    /// A last-writer-wins register's winning value.
    LwwRegister(String),
    /// A multi-value register's concurrent values, ascending (one unless writes were
    /// concurrent).
    MvRegister(Vec<String>),
    /// Concurrent first writes of different types under one key: each type's value,
    /// by [`ValueType`] order. A write of one of these types (or a delete) resolves it.
    Conflict(Vec<Value>),
}

/// One write to a key's value, as data (see [`KeyspaceOp`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueOp {
    /// Adds to a grow-only counter.
    GCounterIncrement(u64),
    /// Adds to a PN-counter.
    PnCounterIncrement(u64),
    /// Subtracts from a PN-counter.
    PnCounterDecrement(u64),
    /// Adds an element to an OR-Set.
    OrSetInsert(String),
    /// Removes an element from an OR-Set (as observed here).
    OrSetRemove(String),
    /// Writes a last-writer-wins register; `now_ms` is the writer's wall clock.
    LwwSet {
        /// The value.
        value: String,
        /// The writer's wall clock, in milliseconds.
        now_ms: u64,
    },
    /// Writes a multi-value register.
    MvRegisterSet(String),
}

impl Value {
    /// The value's type as crdt-leader's HTTP API and crdt-wasm's `Doc` name it:
    /// `gcounter`, `pncounter`, `orset`, `lww`, `mvreg`, or `conflict` for concurrent
    /// first writes of different types.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::GCounter(_) => "gcounter",
            Value::PnCounter(_) => "pncounter",
            Value::OrSet(_) => "orset",
            Value::LwwRegister(_) => "lww",
            Value::MvRegister(_) => "mvreg",
            Value::Conflict(_) => "conflict",
        }
    }
}

impl ValueOp {
    /// The type of value this operation writes.
    #[must_use]
    pub fn value_type(&self) -> ValueType {
        match self {
            ValueOp::GCounterIncrement(_) => ValueType::GCounter,
            ValueOp::PnCounterIncrement(_) | ValueOp::PnCounterDecrement(_) => ValueType::PnCounter,
            ValueOp::OrSetInsert(_) | ValueOp::OrSetRemove(_) => ValueType::OrSet,
            ValueOp::LwwSet { .. } => ValueType::LwwRegister,
            ValueOp::MvRegisterSet(_) => ValueType::MvRegister,
        }
    }
}

/// One keyspace operation, as data: what [`Keyspace::apply`](super::Keyspace::apply)
/// executes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyspaceOp {
    /// A write to `key`'s value.
    Write {
        /// The key.
        key: String,
        /// The write.
        op: ValueOp,
    },
    /// An observed-remove of the whole entry under `key`.
    Delete {
        /// The key.
        key: String,
    },
}
