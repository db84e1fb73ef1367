//! Explicit traces of simulator runs (`tests/src/sim/trace.rs`): a recorded run
//! replays exactly without the seed's generator, a trace that no longer matches the
//! world fails loudly, and every kept trace (`tests/traces/<name>.trace`, each the
//! shrunk schedule on which a planted bug failed) passes on the real code. With
//! `--features sabotage`, `tests/tests/sabotage.rs` checks that each of them fails
//! again when its bug is planted back.

use std::path::PathBuf;
use tests::sim::params::Kind;
use tests::sim::trace::{Event, MsgId, Trace};
use tests::sim::{replay, run_seed, Options};

fn recorded(seed: u64, kind: Kind) -> (tests::sim::SeedReport, Trace) {
    let opts = Options {
        kind: Some(kind),
        events_cap: Some(1_500),
        record: true,
        ..Options::default()
    };
    let r = run_seed(seed, &opts);
    let t = r.recorded.clone().expect("recorded");
    (r, t)
}

/// Record seed N, replay its trace (through its text form): same verdict, same final
/// states and counters, and the replay records the very same trace.
#[test]
fn recorded_traces_replay_exactly() {
    for kind in Kind::SIM {
        for seed in [3, 17, 40] {
            let (r, t) = recorded(seed, kind);
            let text = t.to_text();
            let parsed = Trace::parse(&text).expect("parses");
            assert_eq!(parsed, t, "seed {seed} {kind:?}: the text form round-trips");
            let opts = Options {
                record: true,
                ..Options::default()
            };
            let again = replay(&parsed, &opts).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
            assert_eq!(
                again.fingerprint(),
                r.fingerprint(),
                "seed {seed} {kind:?}: the replay differs from the run"
            );
            let events = again.recorded.map(|t| t.events).unwrap_or_default();
            assert!(
                events == t.events,
                "seed {seed} {kind:?}: replay recorded another run"
            );
        }
    }
}

/// The same for whole seeds of the default swarm: `SEEDS` of them, 24 by default (a
/// few seconds); after changing the simulator run more, e.g.
/// `SEEDS=2000 cargo test --release -p tests --test sim_traces many_seeds`.
#[test]
fn many_seeds_replay_exactly() {
    let n = std::env::var("SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    let opts = Options {
        record: true,
        ..Options::default()
    };
    for seed in 0..n {
        let r = run_seed(seed, &opts);
        let t = r.recorded.clone().expect("recorded");
        let again = replay(&t, &opts).unwrap_or_else(|m| panic!("seed {seed}: {m}"));
        assert_eq!(again.fingerprint(), r.fingerprint(), "seed {seed}");
        let events = again.recorded.map(|t| t.events).unwrap_or_default();
        assert!(
            events == t.events,
            "seed {seed}: replay recorded another run"
        );
    }
}

fn mismatch(t: &Trace) -> String {
    match replay(t, &Options::default()) {
        Ok(r) => panic!("a stale trace replayed: {:?}", r.violation),
        Err(m) => m.to_string(),
    }
}

/// A trace that refers to something the world does not have fails with its line and
/// why, instead of skipping the event.
#[test]
fn a_stale_trace_fails_loudly() {
    let (_, t) = recorded(3, Kind::OrSet);
    let i = t
        .events
        .iter()
        .position(|e| matches!(e, Event::Deliver { .. }))
        .expect("a delivery");
    let mut stale = t.clone();
    if let Event::Deliver { msg, .. } = &mut stale.events[i] {
        *msg = MsgId {
            from: 0,
            seq: 999_999,
        };
    }
    let m = mismatch(&stale);
    assert!(m.contains("no message 0#999999 was sent"), "{m}");
    assert!(
        m.contains(&format!("line {}", t.line_of(i))),
        "names the line: {m}"
    );
    let mut stale = t.clone();
    stale.events.insert(i, Event::Tick(99));
    assert!(mismatch(&stale).contains("there is no process 99"));
    let mut stale = t.clone();
    stale.events.push(Event::Heal);
    assert!(mismatch(&stale).contains("the trace goes on"));
    assert!(Trace::parse("crdt-sim-trace v0\n").is_err());
    let bad = t.to_text().replace("\ntick ", "\ntock ");
    let e = Trace::parse(&bad).expect_err("unknown event");
    assert!(e.contains("unknown event `tock`"), "{e}");
}

fn kept(name: &str) -> Trace {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("traces")
        .join(format!("{name}.trace"));
    Trace::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn passes(name: &str) {
    let r = replay(&kept(name), &Options::default()).unwrap_or_else(|m| panic!("{name}: {m}"));
    assert!(r.passed(), "{name}: {:?}", r.violation);
}

/// One test per kept trace: it replays strictly and passes on the real code. The
/// same files fail with their bug planted (`tests/tests/sabotage.rs`), all but
/// `twin-behind-address-mid-probe`: a false alarm of the checker, with no bug to plant
/// back (`tests/tests/sim_regressions.rs` checks what its schedule shows).
macro_rules! kept_traces {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                passes($file);
            }
        )*

        /// Every file of `tests/traces/` has its test above.
        #[test]
        fn every_kept_trace_has_a_test() {
            let named = [$($file),*];
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("traces");
            for entry in std::fs::read_dir(&dir).expect("tests/traces") {
                let path = entry.expect("entry").path();
                let stem = path.file_stem().map(|s| s.to_string_lossy().to_string());
                if path.extension().is_some_and(|e| e == "trace") {
                    let stem = stem.unwrap_or_default();
                    assert!(named.contains(&stem.as_str()), "{stem}.trace has no test");
                }
            }
        }
    };
}

kept_traces! {
    gcounter_sum_merge_trace_passes => "gcounter-sum-merge",
    orset_remove_ignoring_the_context_trace_passes => "orset-remove-ignores-context",
    no_gap_check_trace_passes => "no-gap-check",
    lww_tie_by_arrival_trace_passes => "lww-tie-by-arrival",
    restore_keeping_the_incarnation_trace_passes => "restore-keeps-incarnation",
    key_delete_ignoring_the_context_trace_passes => "key-delete-ignores-context",
    token_pruning_trace_passes => "token-pruning",
    probe_never_timing_out_trace_passes => "probe-never-times-out",
    restarted_leader_silent_trace_passes => "restarted-leader-silent",
    twin_behind_address_mid_probe_trace_passes => "twin-behind-address-mid-probe",
}
