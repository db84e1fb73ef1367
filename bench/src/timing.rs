//! Careful timing for the table binary: calibrated batches, warm-up, several
//! repetitions, median — of the thread's **CPU time** ([`Stopwatch`]).

use cpu_time::ThreadTime;
use std::time::Duration;

/// Measures the CPU time of the current thread (`CLOCK_THREAD_CPUTIME_ID`). For the
/// single-threaded operations measured here it equals the wall-clock time on an idle
/// machine, and unlike the wall clock it does not count the time other processes
/// held the core, so ratios from one run stay meaningful on a busy machine.
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(ThreadTime);

impl Stopwatch {
    /// Starts measuring.
    #[must_use]
    pub fn start() -> Self {
        Self(ThreadTime::now())
    }

    /// CPU time of this thread since [`Stopwatch::start`].
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// How hard to measure.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Repetitions whose results are discarded.
    pub warmup: usize,
    /// Repetitions measured; the median is reported. Fewer are run for slow operations
    /// (see [`per_op`]).
    pub reps: usize,
    /// Each repetition runs a batch of operations lasting at least this long (the batch
    /// size is calibrated once), so timer resolution does not matter.
    pub min_rep: Duration,
    /// The largest batch (bounded by how many fresh inputs a workload can prepare).
    pub max_batch: u64,
}

impl Plan {
    /// The plan used for BENCHMARKS.md.
    pub const FULL: Plan = Plan {
        warmup: 2,
        reps: 11,
        min_rep: Duration::from_millis(3),
        max_batch: 4096,
    };

    /// A fast plan for smoke runs (`--quick`).
    pub const QUICK: Plan = Plan {
        warmup: 1,
        reps: 3,
        min_rep: Duration::from_millis(1),
        max_batch: 1024,
    };

    /// The same plan with another batch bound.
    #[must_use]
    pub const fn max_batch(mut self, max_batch: u64) -> Plan {
        self.max_batch = max_batch;
        self
    }
}

/// The result of timing one operation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Median time per operation, in nanoseconds.
    pub median_ns: f64,
    /// Fastest repetition, per operation, in nanoseconds.
    pub min_ns: f64,
    /// Operations per repetition.
    pub batch: u64,
    /// Repetitions measured.
    pub reps: usize,
}

/// Times an operation. `rep(k)` runs one repetition of `k` operations and returns how
/// long *the operations* took: it does its own untimed setup and teardown (building
/// fresh inputs, undoing the changes, dropping outputs) around a timed section,
/// typically `let t = Stopwatch::start(); …; t.elapsed()`.
///
/// The batch size is calibrated first (doubling from 1 until a repetition lasts
/// `plan.min_rep`), then `plan.warmup` repetitions are discarded and the median of the
/// rest is reported. Slow operations get fewer repetitions: 5 above 100 ms a
/// repetition, 3 above 1 s.
pub fn per_op(plan: Plan, mut rep: impl FnMut(u64) -> Duration) -> Sample {
    let mut batch = 1u64;
    let mut first = rep(batch);
    while first < plan.min_rep && batch < plan.max_batch {
        // Jump close to the target, but at most 8x per step.
        let scale = (plan.min_rep.as_secs_f64() / first.as_secs_f64().max(1e-9)).clamp(2.0, 8.0);
        batch = ((batch as f64 * scale) as u64)
            .min(plan.max_batch)
            .max(batch + 1);
        first = rep(batch);
    }
    let reps = if first > Duration::from_secs(1) {
        plan.reps.min(3)
    } else if first > Duration::from_millis(100) {
        plan.reps.min(5)
    } else {
        plan.reps
    };
    let warmup = if first > Duration::from_millis(100) {
        0 // the calibration run already warmed it up
    } else {
        plan.warmup
    };
    for _ in 0..warmup {
        rep(batch);
    }
    let mut times: Vec<f64> = (0..reps.max(1))
        .map(|_| rep(batch).as_secs_f64() * 1e9 / batch as f64)
        .collect();
    times.sort_by(f64::total_cmp);
    Sample {
        median_ns: times[times.len() / 2],
        min_ns: times[0],
        batch,
        reps: times.len(),
    }
}

/// Times `f` once (thread CPU time).
pub fn time<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let t = Stopwatch::start();
    let r = f();
    (r, t.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrates_a_batch_and_reports_per_op() {
        let plan = Plan::QUICK;
        let s = per_op(plan, |k| {
            let t = Stopwatch::start();
            let mut x = 0u64;
            for i in 0..k * 1000 {
                x = std::hint::black_box(x.wrapping_add(i));
            }
            t.elapsed()
        });
        assert!(s.batch > 1);
        assert!(s.median_ns > 0.0 && s.min_ns <= s.median_ns);
        assert_eq!(s.reps, plan.reps);
    }
}
