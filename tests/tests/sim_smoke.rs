//! A quick run of the deterministic fault simulator inside `cargo test` (the full
//! budget — 2000 seeds, 10 million events — runs as its own CI stage:
//! `cargo run --release -p tests --bin sim`).

use tests::sim::{run_seed, Options};

/// Fifty seeds far from the CI range (which the CI stage runs anyway).
#[test]
fn fifty_seeds_pass() {
    let opts = Options::default();
    let mut failures = Vec::new();
    let mut events = 0;
    for seed in 1_000_000..1_000_050 {
        let r = run_seed(seed, &opts);
        events += r.stats.events;
        if let Some(v) = &r.violation {
            failures.push(format!(
                "{v}\n  replay: cargo run --release -p tests --bin sim -- --seed {seed}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(events > 200_000, "the seeds simulated {events} events");
}

#[test]
fn a_seed_replays_exactly() {
    let opts = Options {
        events_cap: Some(800),
        trace: 50,
        ..Options::default()
    };
    for seed in [3, 1_000_007] {
        let (a, b) = (run_seed(seed, &opts), run_seed(seed, &opts));
        assert_eq!(a.stats, b.stats);
        assert_eq!(a.trace, b.trace);
        assert_eq!(a.notes, b.notes);
    }
}
