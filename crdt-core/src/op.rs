//! Local operations as values: what a replica holder (such as `crdt_sync::Leader`)
//! applies with [`DeltaCrdt::apply`](crate::DeltaCrdt::apply).
//!
//! An operation names one mutation. Applying it returns exactly one delta, so a
//! protocol that buffers the delta of every applied operation can never miss a change
//! made to its state (a closure handed `&mut` state could make several and return one).

/// An operation on a [`GCounter`](crate::GCounter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GCounterOp {
    /// Add this much to the writer's entry (refused if it would pass `u64::MAX`).
    Increment(u64),
}

/// An operation on a [`PnCounter`](crate::PnCounter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PnCounterOp {
    /// Add this much (refused if the writer's increments would pass `u64::MAX`).
    Increment(u64),
    /// Subtract this much (refused if the writer's decrements would pass `u64::MAX`).
    Decrement(u64),
}

/// An operation on an [`OrSet`](crate::OrSet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrSetOp<T> {
    /// Add the element with a fresh dot of the writer.
    Insert(T),
    /// Remove the element as observed (a concurrent add elsewhere survives).
    Remove(T),
    /// Remove every element observed.
    Clear,
}

/// An operation on an [`LwwRegister`](crate::LwwRegister).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LwwOp<T> {
    /// Write `value` at the writer's wall-clock reading `now_ms` (milliseconds since
    /// the Unix epoch); the write orders after everything the register has seen even
    /// when the clock is behind.
    Set {
        /// The new value.
        value: T,
        /// The writer's wall clock, in milliseconds.
        now_ms: u64,
    },
}

/// An operation on an [`MvRegister`](crate::MvRegister).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MvOp<T> {
    /// Write `value`, superseding every value the writer has seen.
    Set(T),
}
