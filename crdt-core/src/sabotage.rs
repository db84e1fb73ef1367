//! Planted bugs, to test that the fault simulator (`tests/src/sim`) catches them.
//!
//! Compiled only with the `sabotage` feature, which no normal build enables: without
//! it this module and every `#[cfg(feature = "sabotage")]` line that consults it are
//! absent, so the behaviour is byte-for-byte that of the real code. With it, nothing
//! changes either until [`set_sabotage`] selects one bug, for the calling thread only
//! (so tests running in parallel threads do not disturb each other).
//!
//! `crdt-sync` reads the same selector (its `sabotage` feature enables this one) for
//! the two protocol bugs.

use std::cell::Cell;

/// A known bug that can be switched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// `GCounter` merge sums entries instead of taking their maximum (double counts).
    GCounterSumMerge,
    /// An `OrSet` merge that removes an element drops *all* its dots when the other
    /// side has seen any of them, ignoring the causal context (concurrent adds lost).
    OrSetRemoveIgnoresContext,
    /// `crdt-sync` applies a delta-interval even when it does not connect to what was
    /// received before (`start > received + 1`, or nothing received yet).
    NoGapCheck,
    /// `LwwRegister` breaks timestamp ties by arrival order (the incoming write wins)
    /// instead of by replica id.
    LwwTieByArrival,
    /// `Leader::restore` keeps the snapshot's incarnation, so the restored leader
    /// writes under the same id and dot counters as the copy that crashed.
    RestoreKeepsIncarnation,
    /// A `Keyspace` merge of a key delete (the other side holds nothing of the key and
    /// removed a counter's or register's dot, which only a delete does) drops the
    /// key's *other* dots too, ignoring the causal context: a concurrent update the
    /// deleter never saw is deleted with it.
    KeyDeleteIgnoresContext,
    /// A displaced leader takes the incarnation just one counter above the newest it
    /// has seen, however often it was displaced: a leader started again after many
    /// crashed lives is displaced once per life its peers had not seen, and reports a
    /// replica id conflict without a twin.
    DisplacedStepsByOne,
}

impl Bug {
    /// Every bug.
    pub const ALL: [Bug; 7] = [
        Bug::GCounterSumMerge,
        Bug::OrSetRemoveIgnoresContext,
        Bug::NoGapCheck,
        Bug::LwwTieByArrival,
        Bug::RestoreKeepsIncarnation,
        Bug::KeyDeleteIgnoresContext,
        Bug::DisplacedStepsByOne,
    ];

    /// A short kebab-case name (for command lines).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Bug::GCounterSumMerge => "gcounter-sum-merge",
            Bug::OrSetRemoveIgnoresContext => "orset-remove-ignores-context",
            Bug::NoGapCheck => "no-gap-check",
            Bug::LwwTieByArrival => "lww-tie-by-arrival",
            Bug::RestoreKeepsIncarnation => "restore-keeps-incarnation",
            Bug::KeyDeleteIgnoresContext => "key-delete-ignores-context",
            Bug::DisplacedStepsByOne => "displaced-steps-by-one",
        }
    }

    /// The bug called `name` (see [`Bug::name`]).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Bug> {
        Bug::ALL.into_iter().find(|b| b.name() == name)
    }
}

thread_local! {
    static ACTIVE: Cell<Option<Bug>> = const { Cell::new(None) };
}

/// Selects the bug planted from now on in the calling thread (`None`: none).
pub fn set_sabotage(bug: Option<Bug>) {
    ACTIVE.with(|a| a.set(bug));
}

/// The bug selected in the calling thread.
#[must_use]
pub fn sabotage() -> Option<Bug> {
    ACTIVE.with(Cell::get)
}

/// Whether `bug` is selected in the calling thread.
#[must_use]
pub fn active(bug: Bug) -> bool {
    sabotage() == Some(bug)
}
