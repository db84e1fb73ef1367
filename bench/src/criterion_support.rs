//! What the criterion benches share: sizes and settings for `cargo bench` versus the
//! one-pass smoke run that `cargo test --all-targets` makes of every bench target.

use std::time::Duration;

/// Whether this process is a real benchmark run (`cargo bench` passes `--bench`);
/// otherwise it is `cargo test` running each bench once as a smoke test.
#[must_use]
pub fn benchmarking() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// OR-Set sizes: 1e4, 1e5 and 1e6 elements when benchmarking, 1e3 in a smoke run.
#[must_use]
pub fn set_sizes() -> Vec<u64> {
    if benchmarking() {
        vec![10_000, 100_000, 1_000_000]
    } else {
        vec![1_000]
    }
}

/// Measurement time for a group whose slowest operation takes `slow` per iteration:
/// enough for 10 samples, but short (the full criterion run stays within minutes).
#[must_use]
pub fn measurement_time(slow: Duration) -> Duration {
    (slow * 12).clamp(Duration::from_secs(1), Duration::from_secs(20))
}
