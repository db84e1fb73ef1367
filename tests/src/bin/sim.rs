//! The deterministic fault simulator's command line (see `tests/src/sim` and
//! `docs/TESTING.md`).
//!
//! ```text
//! sim [--seeds N] [--events N] [--start S] [--threads T]   many seeds (CI: 2000 seeds, 10M events)
//! sim --seed N [--shrink]                                   one seed, verbose; shrink a failure
//! sim --seed N --record FILE [--shrink]                     ... and write its trace (shrunk if failing)
//! sim --replay FILE [--shrink --record OUT]                 replay a trace (strictly); shrink a failure
//! sim --replay FILE --record OUT                            ... and write what it did: every step named,
//!                                                             the liveness phase's too (a shrunk trace ends
//!                                                             before it, where the code then decides)
//! options: --type gcounter|pncounter|orset|lww|keyspace  --events-cap K  --without loss,dup,...
//!          --sabotage BUG (with --features sabotage)  --quiet
//! ```
//!
//! Runs seeds `S, S+1, ...` until at least `--seeds` seeds **and** `--events` simulated
//! events are done, on all cores (each seed is deterministic whatever the thread). Every
//! failing seed prints a one-line replay command; the exit code is 1 if any failed.
//! Wall-clock time is measured here only to report throughput, never inside a run.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use tests::sim::checker::LIVENESS_ROUNDS;
use tests::sim::faults::Fault;
use tests::sim::params::Kind;
use tests::sim::shrink::shrink_trace;
use tests::sim::trace::Trace;
use tests::sim::{command_line, replay, run_seed, shrink, Options, SeedReport};

struct Args {
    seed: Option<u64>,
    seeds: u64,
    events: u64,
    start: u64,
    threads: usize,
    shrink: bool,
    trace: usize,
    trace_explicit: bool,
    quiet: bool,
    record: Option<String>,
    replay: Option<String>,
    opts: Options,
    #[cfg(feature = "sabotage")]
    sabotage: Option<crdt_core::sabotage::Bug>,
}

fn usage() -> ! {
    eprintln!(
        "usage: sim [--seed N [--shrink] [--record FILE]] [--replay FILE [--shrink --record OUT]] [--seeds N] [--events N] [--start S] [--threads T]\n           [--type gcounter|pncounter|orset|lww|keyspace] [--events-cap K] [--without f1,f2] [--trace N]\n           [--twin-same-address] [--lazy-links]\n           [--sabotage BUG] [--quiet]\n  faults: {}",
        Fault::ALL.map(Fault::name).join(",")
    );
    std::process::exit(2)
}

fn parse() -> Args {
    let mut a = Args {
        seed: None,
        seeds: 2_000,
        events: 10_000_000,
        start: 0,
        threads: std::thread::available_parallelism().map_or(1, usize::from),
        shrink: false,
        trace: 60,
        trace_explicit: false,
        quiet: false,
        record: None,
        replay: None,
        opts: Options::default(),
        #[cfg(feature = "sabotage")]
        sabotage: None,
    };
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>| -> u64 {
        v.and_then(|s| s.replace('_', "").parse().ok())
            .unwrap_or_else(|| usage())
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seed" => a.seed = Some(num(it.next())),
            "--seeds" => a.seeds = num(it.next()),
            "--events" => a.events = num(it.next()),
            "--start" => a.start = num(it.next()),
            "--threads" => a.threads = num(it.next()).max(1) as usize,
            "--events-cap" => a.opts.events_cap = Some(num(it.next())),
            "--shrink" => a.shrink = true,
            "--trace" => {
                a.trace = num(it.next()) as usize;
                a.trace_explicit = true;
            }
            "--quiet" => a.quiet = true,
            "--record" => a.record = Some(it.next().unwrap_or_else(|| usage())),
            "--replay" => a.replay = Some(it.next().unwrap_or_else(|| usage())),
            "--twin-same-address" => a.opts.twin_same_address = true,
            "--lazy-links" => a.opts.lazy_links = true,
            "--type" => {
                a.opts.kind = Some(
                    it.next()
                        .and_then(|k| Kind::from_name(&k))
                        .unwrap_or_else(|| usage()),
                );
            }
            "--without" => {
                let list = it.next().unwrap_or_else(|| usage());
                for name in list.split(',').filter(|s| !s.is_empty()) {
                    a.opts
                        .without
                        .push(Fault::from_name(name).unwrap_or_else(|| usage()));
                }
            }
            #[cfg(feature = "sabotage")]
            "--sabotage" => {
                a.sabotage = Some(
                    it.next()
                        .and_then(|b| crdt_core::sabotage::Bug::from_name(&b))
                        .unwrap_or_else(|| usage()),
                );
            }
            _ => usage(),
        }
    }
    a
}

fn plant(_a: &Args) {
    #[cfg(feature = "sabotage")]
    crdt_core::sabotage::set_sabotage(_a.sabotage);
}

fn print_failure(r: &SeedReport, opts: &Options) {
    if let Some(v) = &r.violation {
        println!(
            "FAIL seed {} ({}): {v}\n  swarm: {}\n  replay: {}",
            r.seed,
            r.kind.name(),
            r.params,
            command_line(r.seed, opts)
        );
    }
}

fn one(a: &Args, seed: u64) -> ExitCode {
    plant(a);
    let opts = Options {
        trace: a.trace,
        record: a.record.is_some(),
        ..a.opts.clone()
    };
    let t0 = Instant::now();
    let r = run_seed(seed, &opts);
    let secs = t0.elapsed().as_secs_f64();
    println!("seed {seed}: {}", r.params);
    let code = verbose(a, &r, secs);
    if let (Some(path), Some(t)) = (&a.record, &r.recorded) {
        let t = if a.shrink && !r.passed() {
            shrunk(a, t, &r)
        } else {
            t.clone()
        };
        write_trace(path, &t);
    }
    if !r.passed() {
        print_failure(&r, &a.opts);
        if a.shrink && a.record.is_none() {
            if let Some((small, sr)) = shrink(seed, &a.opts) {
                println!(
                    "shrunk: {} safety events, faults off: {:?}",
                    sr.stats.safety_events,
                    small.without.iter().map(|f| f.name()).collect::<Vec<_>>()
                );
                if let Some(v) = &sr.violation {
                    println!("  {v}");
                }
                println!("  replay: {}", command_line(seed, &small));
            }
        }
    }
    code
}

/// Shrinks the trace `t` of the failing run `r`, keeping the check that failed. With
/// a planted bug (`--sabotage`), the result must also replay strictly, and pass,
/// without the bug: it then tests exactly that bug.
fn shrunk(_a: &Args, t: &Trace, r: &SeedReport) -> Trace {
    let check = r.violation.as_ref().map(|v| v.check);
    let t0 = Instant::now();
    let same_check = |x: &SeedReport| x.violation.as_ref().map(|v| v.check) == check;
    let (small, runs) = shrink_trace(t, &Options::default(), same_check);
    #[cfg(feature = "sabotage")]
    let (small, runs) = match _a.sabotage {
        Some(bug) => {
            use crdt_core::sabotage::set_sabotage;
            let clean = |x: &Trace| {
                set_sabotage(None);
                let ok = replay(x, &Options::default()).is_ok_and(|c| c.passed());
                set_sabotage(Some(bug));
                ok
            };
            if clean(&small) {
                (small, runs)
            } else {
                let (s, n) = shrink_trace(&small, &Options::default(), |x| {
                    same_check(x) && x.recorded.as_ref().is_some_and(clean)
                });
                if !clean(&s) {
                    println!("no shrunk trace fails with the bug and passes without it");
                }
                (s, runs + n)
            }
        }
        None => (small, runs),
    };
    println!(
        "shrunk the trace from {} to {} events ({runs} replays, {:.1}s)",
        t.events.len(),
        small.events.len(),
        t0.elapsed().as_secs_f64()
    );
    small
}

fn write_trace(path: &str, t: &Trace) {
    match std::fs::write(path, t.to_text()) {
        Ok(()) => println!("trace ({} events) written to {path}", t.events.len()),
        Err(e) => {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(2);
        }
    }
}

/// `--replay FILE`: replays a trace strictly (exit code 2 if it does not match the
/// world), and with `--shrink` shrinks a failure into `--record OUT` (or stdout);
/// without `--shrink`, `--record OUT` writes the replay's own trace (with the
/// file's comments), which names every step the replay took.
fn replay_file(a: &Args, path: &str) -> ExitCode {
    plant(a);
    let t = Trace::load(std::path::Path::new(path)).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let opts = Options {
        trace: a.trace,
        record: a.record.is_some() && !a.shrink,
        ..Options::default()
    };
    let t0 = Instant::now();
    let r = match replay(&t, &opts) {
        Ok(r) => r,
        Err(m) => {
            eprintln!("{path}: {m}");
            return ExitCode::from(2);
        }
    };
    println!("{path}: {}", r.params);
    for c in &t.comments {
        println!("# {c}");
    }
    let code = verbose(a, &r, t0.elapsed().as_secs_f64());
    if let (Some(out), Some(recorded), false) = (&a.record, &r.recorded, a.shrink) {
        let mut recorded = recorded.clone();
        recorded.comments = t.comments.clone();
        write_trace(out, &recorded);
    }
    if let Some(v) = &r.violation {
        println!("FAIL {path}: {v}");
        if a.shrink {
            let small = shrunk(a, &t, &r);
            match &a.record {
                Some(out) => write_trace(out, &small),
                None => print!("{small}"),
            }
        }
    }
    code
}

/// Prints a run's counters, notes and (if failing or asked) its last events.
fn verbose(a: &Args, r: &SeedReport, secs: f64) -> ExitCode {
    println!("stats: {:?}", r.stats);
    for n in &r.notes {
        println!("note: {n}");
    }
    if r.passed() && a.trace_explicit {
        println!("last events:");
        for line in &r.trace {
            println!("  {line}");
        }
    }
    if r.passed() {
        println!(
            "PASS ({} events, quiescent after {} liveness rounds, {:.3}s: {:.0} events/s)",
            r.stats.events,
            r.stats.liveness_rounds,
            secs,
            r.stats.events as f64 / secs.max(1e-9)
        );
        return ExitCode::SUCCESS;
    }
    println!("last events:");
    for line in &r.trace {
        println!("  {line}");
    }
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let a = parse();
    if let Some(path) = &a.replay {
        return replay_file(&a, path);
    }
    if let Some(seed) = a.seed {
        return one(&a, seed);
    }
    let next = AtomicU64::new(0);
    let total_events = AtomicU64::new(0);
    let results: Mutex<Vec<SeedReport>> = Mutex::new(Vec::new());
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..a.threads {
            s.spawn(|| {
                plant(&a);
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= a.seeds && total_events.load(Ordering::SeqCst) >= a.events {
                        break;
                    }
                    let r = run_seed(a.start + i, &a.opts);
                    total_events.fetch_add(r.stats.events, Ordering::SeqCst);
                    if !r.passed() {
                        print_failure(&r, &a.opts);
                    }
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(r);
                }
            });
        }
    });
    let secs = t0.elapsed().as_secs_f64().max(1e-9);
    let mut results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    results.sort_by_key(|r| r.seed);
    summarize(&a, &results, secs)
}

fn summarize(a: &Args, results: &[SeedReport], secs: f64) -> ExitCode {
    let failed: Vec<&SeedReport> = results.iter().filter(|r| !r.passed()).collect();
    let events: u64 = results.iter().map(|r| r.stats.events).sum();
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for r in results {
        *per_kind.entry(r.kind.name()).or_default() += 1;
    }
    let sum = |f: fn(&SeedReport) -> u64| results.iter().map(f).sum::<u64>();
    let (max_rounds, slowest) = results
        .iter()
        .map(|r| (r.stats.liveness_rounds, r.seed))
        .max_by_key(|&(rounds, seed)| (rounds, core::cmp::Reverse(seed)))
        .unwrap_or((0, 0));
    let undetectable = results
        .iter()
        .flat_map(|r| r.notes.iter())
        .filter(|n| n.contains("not detected"))
        .count();
    let detected = results
        .iter()
        .flat_map(|r| r.notes.iter())
        .filter(|n| n.starts_with("conflict on "))
        .count();
    if !a.quiet {
        println!("types: {per_kind:?}");
        println!(
            "messages {} (lost {}, duplicated {}, reordered {}, partitioned {}, corrupt rejected {} / filtered {})",
            sum(|r| r.stats.messages),
            sum(|r| r.stats.lost),
            sum(|r| r.stats.duplicated),
            sum(|r| r.stats.reordered),
            sum(|r| r.stats.partitioned),
            sum(|r| r.stats.corrupt_rejected),
            sum(|r| r.stats.corrupt_filtered),
        );
        println!(
            "writes {} (at risk {}, waiting for a probe or snapshot {}), partitions {}, crashes {}, amnesia {}, disk losses {}, peers removed {}, probes {} (timed out {}), displacements {}, twins {}, clock steps {}",
            sum(|r| r.stats.writes),
            results.iter().map(|r| r.stats.at_risk as u64).sum::<u64>(),
            sum(|r| r.stats.waiting_writes),
            sum(|r| r.stats.partitions),
            sum(|r| r.stats.crashes),
            sum(|r| r.stats.amnesias),
            sum(|r| r.stats.wipes),
            sum(|r| r.stats.unlinks),
            sum(|r| r.stats.probes),
            sum(|r| r.stats.probe_timeouts),
            sum(|r| r.stats.displacements),
            sum(|r| r.stats.twins),
            sum(|r| r.stats.clock_steps),
        );
        println!(
            "conflicts: {detected} detected, {undetectable} not detected (explained), {} leaders retired; gaps {}, repairs {}, buffer overflows {}",
            sum(|r| r.stats.retired),
            sum(|r| r.stats.gaps),
            sum(|r| r.stats.repairs),
            sum(|r| r.stats.overflows),
        );
        println!(
            "state damage {} (divergences found by digests {}), misdelivered {} (rejected as misdelivered, or in version 4 as corrupt, {}; the rest from an unknown peer)",
            sum(|r| r.stats.damages),
            sum(|r| r.stats.divergences),
            sum(|r| r.stats.misdelivered),
            sum(|r| r.stats.misdelivered_rejected),
        );
        println!("max liveness rounds: {max_rounds} (bound {LIVENESS_ROUNDS}; first reached by seed {slowest})");
    }
    println!(
        "{} seeds ({} failed), {events} events in {secs:.1}s on {} threads: {:.1} seeds/s, {:.0} events/s",
        results.len(),
        failed.len(),
        a.threads,
        results.len() as f64 / secs,
        events as f64 / secs
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("failing seeds:");
        for r in failed {
            println!("  {}", command_line(r.seed, &a.opts));
        }
        ExitCode::FAILURE
    }
}
