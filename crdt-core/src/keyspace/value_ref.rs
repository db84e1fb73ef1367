//! A key's value borrowed from the keyspace: what [`Keyspace::get_ref`] returns.

use super::Value;

/// The value of a key as a read sees it, borrowing its strings from the keyspace: the
/// same as [`Value`] without a copy of each element. A server that turns a set of
/// thousands of elements into an answer (crdt-leader answers every write with the
/// key's value) reads it this way; [`ValueRef::to_value`] makes the owned value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueRef<'a> {
    /// A grow-only counter's value (saturating at `u64::MAX`).
    GCounter(u64),
    /// A PN-counter's value (clamped to the `i64` range).
    PnCounter(i64),
    /// An OR-Set's elements, ascending (by UTF-8 bytes).
    OrSet(Vec<&'a str>),
    /// A last-writer-wins register's winning value.
    LwwRegister(&'a str),
    /// A multi-value register's concurrent values, ascending.
    MvRegister(Vec<&'a str>),
    /// Concurrent first writes of different types: each type's value, by
    /// [`ValueType`](super::ValueType) order.
    Conflict(Vec<ValueRef<'a>>),
}

impl ValueRef<'_> {
    /// The owned value.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_string()).collect();
        match self {
            ValueRef::GCounter(n) => Value::GCounter(*n),
            ValueRef::PnCounter(n) => Value::PnCounter(*n),
            ValueRef::OrSet(v) => Value::OrSet(strings(v)),
            ValueRef::LwwRegister(s) => Value::LwwRegister((*s).to_string()),
            ValueRef::MvRegister(v) => Value::MvRegister(strings(v)),
            ValueRef::Conflict(all) => Value::Conflict(all.iter().map(Self::to_value).collect()),
        }
    }
}
