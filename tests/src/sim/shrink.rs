//! Shrinking a failing trace ([`super::trace`]) by delta debugging: remove chunks of
//! events (halves, quarters, ... single events) while the run still fails, replaying
//! each candidate leniently (events made stale by a removal are skipped) and keeping
//! what the replay really did, so that every intermediate and the result replay
//! strictly. A trace that fails in the liveness phase keeps only the `liveness` line
//! of that phase when the default order (every process in turn, messages first in,
//! first out) fails too.

use super::trace::{Event, Trace};
use super::{replay, replay_lenient, Options, SeedReport};

/// The smallest trace found that `fails` (tested on the reports of lenient replays,
/// whose `recorded` is the candidate as it really ran), and how many replays it took;
/// `trace` itself if no smaller one does. Passes repeat until one removes nothing.
pub fn shrink_trace(
    trace: &Trace,
    opts: &Options,
    fails: impl Fn(&SeedReport) -> bool,
) -> (Trace, usize) {
    let mut runs = 0;
    let mut cur = compact(trace.clone(), opts, &fails, &mut runs);
    loop {
        let before = cur.events.len();
        cur = ddmin(cur, opts, &fails, &mut runs);
        if cur.events.len() == before {
            return (cur, runs);
        }
    }
}

/// One delta-debugging pass: chunks of half the events, then quarters, ... then single
/// events, each removed if the rest still fails.
fn ddmin(
    mut cur: Trace,
    opts: &Options,
    fails: &impl Fn(&SeedReport) -> bool,
    runs: &mut usize,
) -> Trace {
    let mut chunk = cur.events.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        while i < cur.events.len() {
            let mut cand = cur.clone();
            let end = (i + chunk).min(cand.events.len());
            cand.events.drain(i..end);
            *runs += 1;
            let r = replay_lenient(&cand, opts);
            match &r.recorded {
                Some(t) if fails(&r) => {
                    let t = compact(t.clone(), opts, fails, runs);
                    if t.events.len() < cur.events.len() {
                        cur = t;
                        continue;
                    }
                    i += chunk;
                }
                _ => i += chunk,
            }
        }
        if chunk == 1 {
            return cur;
        }
        chunk = chunk.div_ceil(2);
    }
}

/// `t` without the liveness rounds if it still fails (strictly) with the default
/// liveness order.
fn compact(
    t: Trace,
    opts: &Options,
    fails: &impl Fn(&SeedReport) -> bool,
    runs: &mut usize,
) -> Trace {
    let Some(at) = t
        .events
        .iter()
        .position(|e| matches!(e, Event::Liveness(_)))
    else {
        return t;
    };
    if at + 1 == t.events.len() {
        return t;
    }
    let mut cut = t.clone();
    cut.events.truncate(at + 1);
    *runs += 1;
    match replay(&cut, opts) {
        Ok(r) if fails(&r) => cut,
        _ => t,
    }
}
