//! The simulator's self-test: each bug planted by the `sabotage` feature
//! (`crdt_core::sabotage`) must be caught within 200 seeds, and the seed that catches
//! it must pass without the bug (so it is the bug that was caught, not something else).
//!
//! ```sh
//! cargo test -p tests --features sabotage --test sabotage --release -- --nocapture
//! ```
#![cfg(feature = "sabotage")]

use crdt_core::sabotage::{set_sabotage, Bug};
use tests::sim::trace::Trace;
use tests::sim::{replay, run_seed, Options};

/// The budget the issue sets: every planted bug is caught within this many seeds.
const SEEDS: u64 = 200;

/// Runs seeds `0..SEEDS` with `bug` planted (in this test's thread only) until one
/// fails; returns that seed and the check that caught it.
fn first_catch(bug: Bug, opts: &Options) -> (u64, &'static str) {
    for seed in 0..SEEDS {
        set_sabotage(Some(bug));
        let report = run_seed(seed, opts);
        set_sabotage(None);
        if let Some(v) = report.violation {
            let clean = run_seed(seed, opts);
            assert!(
                clean.passed(),
                "seed {seed} fails even without {bug:?}: {:?}",
                clean.violation
            );
            println!(
                "{:<30} caught by seed {seed:>3} ({} seeds run) in check [{}]: {}",
                bug.name(),
                seed + 1,
                v.check,
                v.detail.chars().take(160).collect::<String>()
            );
            return (seed, v.check);
        }
    }
    panic!("{bug:?} was not caught within {SEEDS} seeds");
}

#[test]
fn gcounter_merge_that_sums_is_caught() {
    first_catch(Bug::GCounterSumMerge, &Options::default());
}

#[test]
fn orset_remove_that_ignores_the_causal_context_is_caught() {
    first_catch(Bug::OrSetRemoveIgnoresContext, &Options::default());
}

#[test]
fn interval_applied_across_a_gap_is_caught() {
    first_catch(Bug::NoGapCheck, &Options::default());
}

#[test]
fn lww_tie_broken_by_arrival_order_is_caught() {
    first_catch(Bug::LwwTieByArrival, &Options::default());
}

#[test]
fn restore_that_keeps_the_incarnation_is_caught() {
    let (_, check) = first_catch(Bug::RestoreKeepsIncarnation, &Options::default());
    assert_eq!(check, "restart", "the restart check names it directly");
    // Without that check, the other checks still catch it: a peer holding the crashed
    // copy's dots under the reused writer id makes the restored copy report a conflict
    // no fault of the model explains (or the oracle sees a dot issued twice).
    let lenient = Options {
        lenient_restart: true,
        ..Options::default()
    };
    let (_, check) = first_catch(Bug::RestoreKeepsIncarnation, &lenient);
    assert_ne!(check, "restart");
}

#[test]
fn key_delete_that_ignores_the_causal_context_is_caught() {
    let (seed, check) = first_catch(Bug::KeyDeleteIgnoresContext, &Options::default());
    // Only keyspace seeds run the planted code.
    assert_eq!(
        tests::sim::params_for(seed, &Options::default()).0.kind,
        tests::sim::params::Kind::Keyspace,
        "caught by check [{check}] on a seed that runs no keyspace"
    );
}

// ---------------------------------------------------------------------------------
// The kept traces (`tests/traces/<bug name>.trace`): each is the shrunk schedule on
// which its bug failed, replayed without a seed; it must fail again with the bug
// planted (and passes without it: `tests/tests/sim_traces.rs`).

fn trace_fails_with(bug: Bug) {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("traces")
        .join(format!("{}.trace", bug.name()));
    let t = Trace::load(&path).unwrap_or_else(|e| panic!("{e}"));
    set_sabotage(Some(bug));
    let r = replay(&t, &Options::default());
    set_sabotage(None);
    let r = r.unwrap_or_else(|m| panic!("{}: {m}", bug.name()));
    let v = r
        .violation
        .unwrap_or_else(|| panic!("{} passes with {bug:?} planted", path.display()));
    println!("{:<30} trace fails in check [{}]", bug.name(), v.check);
}

#[test]
fn gcounter_sum_merge_trace_fails_with_its_bug() {
    trace_fails_with(Bug::GCounterSumMerge);
}

#[test]
fn orset_remove_ignoring_the_context_trace_fails_with_its_bug() {
    trace_fails_with(Bug::OrSetRemoveIgnoresContext);
}

#[test]
fn no_gap_check_trace_fails_with_its_bug() {
    trace_fails_with(Bug::NoGapCheck);
}

#[test]
fn lww_tie_by_arrival_trace_fails_with_its_bug() {
    trace_fails_with(Bug::LwwTieByArrival);
}

#[test]
fn restore_keeping_the_incarnation_trace_fails_with_its_bug() {
    trace_fails_with(Bug::RestoreKeepsIncarnation);
}

#[test]
fn key_delete_ignoring_the_context_trace_fails_with_its_bug() {
    trace_fails_with(Bug::KeyDeleteIgnoresContext);
}

// Historical crdt-sync bugs the simulator found in earlier sessions, planted back at
// the place of their fix. Only two are caught by some seed of the default swarm (not
// within the 200 seeds above); the others have hand-written schedules that fail with
// them (see docs/TESTING.md, the self-test table).

#[test]
fn token_pruning_trace_fails_with_its_bug() {
    trace_fails_with(Bug::TokenPruning);
}

/// `RepairCountsAsProgress` is caught by seed 560 (orset, 6 leaders on a line) of the
/// default swarm, in check [liveness]. Its shrunk trace (62 events) fails with the bug
/// but does not replay without it (the fixed leader sends other messages), so it is not
/// kept; this test runs the seed instead, and goes stale loudly (not silently green)
/// when the simulator changes what seed 560 draws: then record a new trace or seed.
#[test]
fn repair_counted_as_progress_is_caught_by_seed_560() {
    let opts = Options::default();
    set_sabotage(Some(Bug::RepairCountsAsProgress));
    let report = run_seed(560, &opts);
    set_sabotage(None);
    let v = report
        .violation
        .expect("seed 560 passes with RepairCountsAsProgress planted: the seed went stale");
    assert_eq!(v.check, "liveness", "{}", v.detail);
    let clean = run_seed(560, &opts);
    assert!(
        clean.passed(),
        "seed 560 fails without the bug: {:?}",
        clean.violation
    );
}
