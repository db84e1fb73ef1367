//! Planted bugs, to test that the fault simulator (`tests/src/sim`) catches them.
//!
//! Compiled only with the `sabotage` feature, which no normal build enables: without
//! it this module and every `#[cfg(feature = "sabotage")]` line that consults it are
//! absent, so the behaviour is byte-for-byte that of the real code. With it, nothing
//! changes either until [`set_sabotage`] selects one bug, for the calling thread only
//! (so tests running in parallel threads do not disturb each other).
//!
//! `crdt-sync` reads the same selector (its `sabotage` feature enables this one) for
//! its protocol bugs: the first three planted, then six the fault simulator found in
//! earlier sessions, each planted back at the place of its fix.

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
    /// `crdt-sync` skips buffered deltas that a peer's causal token seems to cover
    /// (3b75830, removed in 12510a3): unsound, since a relayed delta can hold writes
    /// the token news that came with it does not name (simulator seeds 16146, 16063).
    TokenPruning,
    /// After a peer took a new incarnation, `crdt-sync` sends the older copy one
    /// displacement notice instead of one at each of the next four ticks, so a
    /// displaced copy that falls silent may never learn it (fixed in 12510a3; seeds
    /// 3901, 7574, 14677, 20353).
    OneDisplacementNotice,
    /// An incoming repair counts as progress of the receiver's own stream to that
    /// peer, postponing the retransmission of what the receiver sent it (fixed in
    /// e4eae2b; seed 1430: a leader kept receiving its peer's full state but never
    /// resent its own lost repair).
    RepairCountsAsProgress,
    /// An acknowledgement or repair (or any message's address) naming a newer
    /// incarnation of the receiver does not displace it (fixed in 646765a; seed
    /// 5004393: a silent copy behind a shared address never learned it was displaced).
    NewerIncarnationIgnored,
    /// A resent repair is settled only by an acknowledgement of its newest copy's
    /// buffer head, so under a round trip of 2+ ticks with writes going on no copy is
    /// ever settled (fixed in e4eae2b).
    ResentRepairNeverSettles,
    /// A probe never times out (`Config::probe_timeout_ticks` is ignored): a leader
    /// restored next to a checkpointed peer it can never reach probes for ever and
    /// never writes (as before the timeout; found shrinking seed 1815).
    ProbeNeverTimesOut,
    /// A digest that shows a divergence (equal summaries, different state hashes) is
    /// answered every time, with a request for the peer's digest each time, instead of
    /// at most once per tick (fixed in e4eae2b): two leaders whose hashes differ while
    /// a remove is in flight feed each other digests and full states for ever (seeds
    /// 827, 1397 and 1418 once failed so).
    DivergenceStorm,
    /// `crdt-sync` never repairs a lazy peer from its digests (the lack test skips lazy
    /// peers): a leader that the eager links do not reach never gets the writes on the
    /// other side (the simulator's `--lazy-links` cuts its tree in two).
    LazyNeverRepaired,
    /// A leader asks a peer it has received nothing from for a repair only once, at
    /// its first tick, as before the fix of 2026-12-04. With that request lost,
    /// periodic digests off and nothing to send, a leader restarted empty stays empty
    /// next to a peer that believes it has everything, or that keeps resending to its
    /// previous life (found with `--lazy-links`, seed 504436).
    RestartedLeaderSilent,
    /// A retirement member accepts (and commits) a batch without checking that it
    /// holds exactly each writer's certified holdings: a writer is collapsed before
    /// its writes are known everywhere (crdt-sync's `retirement`, `docs/RETIREMENT.md`
    /// §4.2).
    RetireUnchecked,
    /// A retirement coordinator proposes a new batch although every member reported
    /// accepting the same one (which may have been chosen and committed somewhere):
    /// two batches can commit in one epoch.
    CoordinatorIgnoresAccepted,
}

impl Bug {
    /// Every bug.
    pub const ALL: [Bug; 18] = [
        Bug::GCounterSumMerge,
        Bug::OrSetRemoveIgnoresContext,
        Bug::NoGapCheck,
        Bug::LwwTieByArrival,
        Bug::RestoreKeepsIncarnation,
        Bug::KeyDeleteIgnoresContext,
        Bug::DisplacedStepsByOne,
        Bug::TokenPruning,
        Bug::OneDisplacementNotice,
        Bug::RepairCountsAsProgress,
        Bug::NewerIncarnationIgnored,
        Bug::ResentRepairNeverSettles,
        Bug::ProbeNeverTimesOut,
        Bug::DivergenceStorm,
        Bug::LazyNeverRepaired,
        Bug::RestartedLeaderSilent,
        Bug::RetireUnchecked,
        Bug::CoordinatorIgnoresAccepted,
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
            Bug::TokenPruning => "token-pruning",
            Bug::OneDisplacementNotice => "one-displacement-notice",
            Bug::RepairCountsAsProgress => "repair-counts-as-progress",
            Bug::NewerIncarnationIgnored => "newer-incarnation-ignored",
            Bug::ResentRepairNeverSettles => "resent-repair-never-settles",
            Bug::ProbeNeverTimesOut => "probe-never-times-out",
            Bug::DivergenceStorm => "divergence-storm",
            Bug::LazyNeverRepaired => "lazy-never-repaired",
            Bug::RestartedLeaderSilent => "restarted-leader-silent",
            Bug::RetireUnchecked => "retire-unchecked",
            Bug::CoordinatorIgnoresAccepted => "coordinator-ignores-accepted",
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

/// Runs `f` with `bug` planted in the calling thread, then plants none again (also
/// when `f` panics).
pub fn with_planted<R>(bug: Bug, f: impl FnOnce() -> R) -> R {
    struct Unplant;
    impl Drop for Unplant {
        fn drop(&mut self) {
            set_sabotage(None);
        }
    }
    set_sabotage(Some(bug));
    let _unplant = Unplant;
    f()
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
