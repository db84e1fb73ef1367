//! A deterministic fault simulator for `crdt-sync` leaders of every `crdt-core` type.
//!
//! One process, one seeded generator ([`rng::Rng`], ChaCha8 from a `u64` seed), virtual
//! time, no wall clock and no hash-map iteration: a seed replays exactly. Each seed
//! draws a swarm ([`params::Params`]: type, 3–7 leaders on a random connected
//! [`topology`], fault rates with many faults fully off), runs a **safety phase** of
//! random writes under faults ([`faults`]) with every exposed state checked as it
//! changes, then a **liveness phase** in which everything heals and the cluster must
//! quiesce within [`checker::LIVENESS_ROUNDS`] rounds, and finally checks the converged
//! state against a sequential [`oracle`] of every acknowledged write. The checks are
//! listed in [`checker`].
//!
//! A run can be recorded as a [`trace::Trace`]: every decision as an event, one per
//! line, which [`replay`] drives the world from without any generator (a seed keeps its
//! schedule only while the simulator draws the same numbers; a trace keeps it), and
//! [`shrink::shrink_trace`] makes small. Failures are kept as traces
//! (`tests/traces/`).
//!
//! ```sh
//! cargo run --release -p tests --bin sim -- --seeds 2000      # the CI budget
//! cargo run --release -p tests --bin sim -- --seed 1234       # replay one seed, verbose
//! cargo run --release -p tests --bin sim -- --seed 1234 --record s.trace   # its trace
//! cargo run --release -p tests --bin sim -- --replay s.trace [--shrink --record small.trace]
//! ```
//!
//! `docs/TESTING.md` describes the fault model, the checkers, the trace format, how to
//! extend them and the self-test that plants known bugs (`--features sabotage`).

pub mod checker;
pub mod clock;
pub mod faults;
pub mod oracle;
pub mod params;
pub mod rng;
pub mod shrink;
pub mod topology;
pub mod trace;
pub mod workload;
pub mod world;

use checker::Violation;
use crdt_core::{GCounter, Keyspace, LwwRegister, OrSet, PnCounter};
use faults::Fault;
use params::{Kind, Params};
use rng::Rng;
use trace::{Mismatch, Trace};
use workload::Model;
use world::{Stats, World};

/// How to run a seed (defaults: as drawn).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Force the replicated type.
    pub kind: Option<Kind>,
    /// Cap the safety phase at this many events (to shrink a failing seed: the first
    /// events of a seed do not depend on the cap).
    pub events_cap: Option<u64>,
    /// Fault classes switched off.
    pub without: Vec<Fault>,
    /// Keep the last this many events for the report (0: none).
    pub trace: usize,
    /// Always attach the shared-id twin to a neighbour of its original (two processes
    /// behind one address); by default each seed draws where it goes.
    pub twin_same_address: bool,
    /// Skip the `restart` check (a restored leader must write under a fresh id), to
    /// show that the data checks alone catch a restart that reuses dots.
    pub lenient_restart: bool,
    /// Every leader makes its links outside a breadth-first spanning tree of the seed's
    /// topology lazy (`Leader::set_peer_lazy`), and one link of the tree too: writes
    /// are pushed along the two halves of the tree, and cross between them (and around
    /// whatever else the faults break) only through repairs that digests over the lazy
    /// links ask for.
    pub lazy_links: bool,
    /// Record the run as a [`Trace`] ([`SeedReport::recorded`]).
    pub record: bool,
}

/// What one seed did.
#[derive(Debug, Clone)]
pub struct SeedReport {
    /// The seed.
    pub seed: u64,
    /// The replicated type.
    pub kind: Kind,
    /// The swarm, in one line.
    pub params: String,
    /// Counters.
    pub stats: Stats,
    /// The first failed check, if any.
    pub violation: Option<Violation>,
    /// Explanations (shared ids and their detection).
    pub notes: Vec<String>,
    /// The last events before the end (if traced).
    pub trace: Vec<String>,
    /// A digest of every process's final state and incarnation ([`World::digest`]).
    pub digest: u64,
    /// The run as a trace (if recorded).
    pub recorded: Option<Trace>,
    /// Events a lenient replay skipped ([`replay_lenient`]).
    pub skipped: usize,
}

impl SeedReport {
    /// Whether every check passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.violation.is_none()
    }

    /// The command that replays this seed.
    #[must_use]
    pub fn replay_command(&self) -> String {
        format!(
            "cargo run --release -p tests --bin sim -- --seed {}",
            self.seed
        )
    }

    /// What a replay of the same run must reproduce: the verdict (check and detail),
    /// the final states, and the counters that do not depend on how the run was driven.
    #[must_use]
    pub fn fingerprint(&self) -> (Option<(&'static str, String)>, u64, [u64; 6]) {
        let s = &self.stats;
        (
            self.violation.as_ref().map(|v| (v.check, v.detail.clone())),
            self.digest,
            [
                s.writes,
                s.delivered,
                s.crashes + s.amnesias + s.wipes,
                s.probes,
                s.oracle_writes as u64,
                s.at_risk as u64,
            ],
        )
    }
}

/// The parameters seed `seed` runs with under `opts`.
#[must_use]
pub fn params_for(seed: u64, opts: &Options) -> (Params, Rng) {
    let mut rng = Rng::new(seed);
    let mut p = Params::draw(seed, &mut rng, opts.kind);
    if let Some(cap) = opts.events_cap {
        p.safety_events = p.safety_events.min(cap);
    }
    for f in &opts.without {
        match f {
            Fault::Loss => p.links.loss = 0,
            Fault::Dup => p.links.dup = 0,
            Fault::Reorder => p.links.reorder = 0,
            Fault::Corrupt => p.links.corrupt = 0,
            Fault::Partition => p.nodes.partition = 0,
            Fault::Crash => p.nodes.crash = 0,
            Fault::Amnesia => p.nodes.amnesia = 0,
            Fault::Flap => p.nodes.flap = 0,
            Fault::Twin => p.nodes.twin = false,
            Fault::ClockStep => p.nodes.clock_step = 0,
            Fault::Damage => p.nodes.damage = 0,
            Fault::Misdeliver => p.links.misdeliver = 0,
        }
    }
    (p, rng)
}

/// Runs one seed; a panic anywhere is reported as the `panic` check failing.
#[must_use]
pub fn run_seed(seed: u64, opts: &Options) -> SeedReport {
    let (params, rng) = params_for(seed, opts);
    let kind = params.kind;
    let desc = params.describe();
    let o = opts.clone();
    let report = run(seed, kind, desc.clone(), move || match kind {
        Kind::GCounter => simulate(World::<GCounter>::new(params, rng, &o)),
        Kind::PnCounter => simulate(World::<PnCounter>::new(params, rng, &o)),
        Kind::OrSet => simulate(World::<OrSet<u64>>::new(params, rng, &o)),
        Kind::Lww => simulate(World::<LwwRegister<String>>::new(params, rng, &o)),
        Kind::Keyspace => simulate(World::<Keyspace>::new(params, rng, &o)),
    });
    let mut report = report.unwrap_or_else(|m| panic!("a seed cannot mismatch: {m}"));
    if let Some(t) = &mut report.recorded {
        t.comments = vec![
            format!("recorded from seed {seed}: {desc}"),
            format!("seed command: {}", command_line(seed, opts)),
        ];
    }
    report
}

/// Replays `trace` strictly: every event must apply to the world as the replay finds
/// it, else the [`Mismatch`] names the first that does not (its line and why). The
/// report's `recorded` is the trace of the replay itself if `opts.record`. A panic
/// of the code under test is reported as the `panic` check failing, as for a seed.
pub fn replay(trace: &Trace, opts: &Options) -> Result<SeedReport, Mismatch> {
    replay_with(trace, false, opts)
}

/// Replays `trace` leniently: events that do not apply are skipped (the shrinker
/// tries traces with events removed, which make later ones stale). The report's
/// `recorded` is what the replay really did (a trace that replays strictly) and
/// `skipped` counts the events it skipped.
#[must_use]
pub fn replay_lenient(trace: &Trace, opts: &Options) -> SeedReport {
    let o = Options {
        record: true,
        ..opts.clone()
    };
    match replay_with(trace, true, &o) {
        Ok(r) => r,
        Err(m) => unreachable!("a lenient replay skips what does not apply: {m}"),
    }
}

fn replay_with(trace: &Trace, lenient: bool, opts: &Options) -> Result<SeedReport, Mismatch> {
    let kind = trace.header.kind;
    let desc = format!(
        "trace: {} x{} ({} events)",
        kind.name(),
        trace.header.leaders,
        trace.events.len()
    );
    let (t, o) = (trace.clone(), opts.clone());
    let mut report = run(0, kind, desc, move || match kind {
        Kind::GCounter => simulate(World::<GCounter>::replaying(&t, lenient, &o)),
        Kind::PnCounter => simulate(World::<PnCounter>::replaying(&t, lenient, &o)),
        Kind::OrSet => simulate(World::<OrSet<u64>>::replaying(&t, lenient, &o)),
        Kind::Lww => simulate(World::<LwwRegister<String>>::replaying(&t, lenient, &o)),
        Kind::Keyspace => simulate(World::<Keyspace>::replaying(&t, lenient, &o)),
    })?;
    if let Some(r) = &mut report.recorded {
        r.comments.clone_from(&trace.comments);
    }
    Ok(report)
}

struct Outcome {
    skipped: usize,
    stats: Stats,
    violation: Option<Violation>,
    notes: Vec<String>,
    trace: Vec<String>,
    digest: u64,
    recorded: Option<Trace>,
}

/// Runs a world; a panic is the `panic` check failing, except a replay's
/// [`Mismatch`], which is returned.
fn run(
    seed: u64,
    kind: Kind,
    desc: String,
    f: impl FnOnce() -> Outcome,
) -> Result<SeedReport, Mismatch> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(o) => Ok(SeedReport {
            seed,
            kind,
            params: desc,
            stats: o.stats,
            violation: o.violation,
            notes: o.notes,
            trace: o.trace,
            digest: o.digest,
            recorded: o.recorded,
            skipped: o.skipped,
        }),
        Err(panic) => {
            if let Some(m) = panic.downcast_ref::<Mismatch>() {
                return Err(m.clone());
            }
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "(non-string panic)".to_string());
            Ok(SeedReport {
                seed,
                kind,
                params: desc,
                stats: Stats::default(),
                violation: Some(Violation {
                    check: "panic",
                    event: 0,
                    time: 0,
                    detail: msg,
                }),
                notes: Vec::new(),
                trace: Vec::new(),
                digest: 0,
                recorded: None,
                skipped: 0,
            })
        }
    }
}

fn simulate<C: Model>(mut world: World<C>) -> Outcome {
    world.run();
    let trace = world.trace();
    let digest = world.digest();
    let header = world.header();
    let events = world.take_recorded();
    let recorded = (!events.is_empty()).then(|| Trace {
        header,
        comments: Vec::new(),
        events,
    });
    Outcome {
        skipped: world.skipped(),
        stats: world.stats,
        violation: world.violation,
        notes: world.notes,
        trace,
        digest,
        recorded,
    }
}

/// Shrinks a failing seed: the smallest safety-phase length that still fails (by
/// bisection; the first events of a seed do not depend on the cap), then every fault
/// class that can be switched off with the seed still failing. Returns the options
/// and the report of the smallest failing run, or `None` if the seed passes.
#[must_use]
pub fn shrink(seed: u64, base: &Options) -> Option<(Options, SeedReport)> {
    let mut best = run_seed(seed, base);
    if best.passed() {
        return None;
    }
    let mut opts = base.clone();
    // Any failure counts as "still failing": a shorter schedule may fail another check
    // first, which is as useful.
    let (mut lo, mut hi) = (0u64, best.stats.safety_events.max(1));
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        let trial = Options {
            events_cap: Some(mid),
            ..opts.clone()
        };
        let r = run_seed(seed, &trial);
        if r.passed() {
            lo = mid;
        } else {
            hi = mid;
            best = r;
        }
    }
    opts.events_cap = Some(hi);
    for f in Fault::ALL {
        if opts.without.contains(&f) {
            continue;
        }
        let mut trial = opts.clone();
        trial.without.push(f);
        let r = run_seed(seed, &trial);
        if !r.passed() {
            opts = trial;
            best = r;
        }
    }
    Some((opts, best))
}

/// The command line of `opts` for seed `seed`.
#[must_use]
pub fn command_line(seed: u64, opts: &Options) -> String {
    let mut s = format!("cargo run --release -p tests --bin sim -- --seed {seed}");
    if let Some(k) = opts.kind {
        s += &format!(" --type {}", k.name());
    }
    if let Some(c) = opts.events_cap {
        s += &format!(" --events-cap {c}");
    }
    if opts.twin_same_address {
        s += " --twin-same-address";
    }
    if opts.lazy_links {
        s += " --lazy-links";
    }
    if !opts.without.is_empty() {
        let names: Vec<&str> = opts.without.iter().map(|f| f.name()).collect();
        s += &format!(" --without {}", names.join(","));
    }
    s
}
