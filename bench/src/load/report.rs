//! The load benchmark's markdown section and its two targets.

use super::disk::Disk;
use super::latency::ms;
use super::leader::LAG_WAIT_MS;
use super::phase::{Phase, Window, KEYS, LAG_SAMPLE_EVERY, SMALL_VALUES_KEYS};
use crate::table::{ratio, sig3, Table, Target};
use std::fmt::Write as _;

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Run {
    /// crdt-leader phases (leader 1, followed to leader 2), by client count and keys.
    pub leader: Vec<Phase>,
    /// redis-server phases, same client counts and keys.
    pub redis: Vec<Phase>,
    /// The disk probe.
    pub disk: Disk,
    /// `redis-server --version`.
    pub redis_version: String,
    /// Warm-up and measured window of every phase.
    pub window: Window,
}

/// Target: durable writes/s at this many clients.
pub const TARGET_CLIENTS: usize = 64;
/// Target: crdt-leader's durable writes/s at least this fraction of Redis's.
pub const TARGET_THROUGHPUT_RATIO: f64 = 0.5;
/// Target: replication lag p99 at most this many milliseconds.
pub const TARGET_LAG_P99_MS: f64 = 50.0;

fn cpu_per_write(p: &Phase) -> String {
    if p.writes == 0 {
        return "—".into();
    }
    let each: Vec<String> = p
        .server_cpu
        .iter()
        .map(|c| sig3(c.as_secs_f64() * 1e6 / p.writes as f64))
        .collect();
    each.join(" + ")
}

fn row(t: &mut Table, system: &str, p: &Phase) {
    let group = p.fsyncs.filter(|f| f.count > 0.0).map_or_else(
        || "—".to_string(),
        |f| {
            format!(
                "{} ({} ms each)",
                sig3(p.writes as f64 / f.count),
                sig3(f.seconds * 1e3 / f.count)
            )
        },
    );
    t.row([
        system.to_string(),
        p.clients.to_string(),
        p.keys.to_string(),
        sig3(p.rate()),
        ms(p.latency.p50),
        ms(p.latency.p99),
        ms(p.latency.max),
        p.errors.to_string(),
        cpu_per_write(p),
        if p.writes == 0 {
            "—".into()
        } else {
            sig3(p.client_cpu.as_secs_f64() * 1e6 / p.writes as f64)
        },
        group,
    ]);
}

/// The section's body (the script adds the heading); the target rows at its end when
/// `with_targets` (otherwise they go to the ledger at the top of BENCHMARKS.md).
#[must_use]
pub fn markdown(run: &Run, with_targets: bool) -> String {
    let mut out = String::new();
    let w = run.window;
    let _ = writeln!(
        out,
        "Closed loop: each client sends a write and waits for its durable acknowledgement; \
         {} s warm-up, then writes acknowledged in the next {} s are counted. Writes alternate \
         between a counter increment and a set insert of a fresh element, on {KEYS} counter and \
         {KEYS} set keys (fresh per phase), whose sets grow to thousands of elements; a last pair \
         of phases at the most clients writes to {SMALL_VALUES_KEYS} of each, whose sets stay small \
         (crdt-leader answers every write with the key's whole value, as its HTTP contract has \
         it; Redis's `SADD` answers `:1`). The throughput target is measured on {KEYS} keys, the \
         lag target on the worst phase. crdt-leader: leader 1 of two release processes \
         (`--fsync always`, peer secret, bearer token), over HTTP/1.1 with keep-alive \
         (`POST /v1/docs/load/keys/K`). Redis: {} with `--appendonly yes --appendfsync always \
         --save ''` and a password, one RESP connection per client (`INCRBY K 1`, `SADD K M`). \
         Client, servers and the other engineers' work share the machine's 2 cores.",
        sig3(w.warmup.as_secs_f64()),
        sig3(w.measure.as_secs_f64()),
        run.redis_version
    );
    out.push('\n');
    let d = &run.disk;
    let _ = writeln!(
        out,
        "Disk under the data directories: {}. Append 4 KiB + `fdatasync`, one after another: \
         p50 {} ms, p99 {} ms, {} syncs/s. A server that syncs once per write cannot exceed \
         that rate with one client; more clients only help by sharing one sync (group \
         commit).",
        d.device,
        ms(d.sync.p50),
        ms(d.sync.p99),
        sig3(d.per_second)
    );
    out.push('\n');
    let mut t = Table::new(
        &[
            "system",
            "clients",
            "keys",
            "writes/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "errors",
            "server CPU µs/write",
            "client CPU µs/write",
            "writes per fsync (fsync time)",
        ],
        1,
    );
    for (l, r) in run.leader.iter().zip(&run.redis) {
        row(&mut t, "crdt-leader", l);
        row(&mut t, "Redis", r);
    }
    out.push_str(&t.render());
    out.push('\n');
    let _ = writeln!(
        out,
        "Server CPU per write is the process's user + system time over the window divided by \
         the writes counted (crdt-leader: leader 1 + leader 2, which applies the replicated \
         writes); client CPU per write, the same for the benchmark process (its clients, and \
         in crdt-leader phases the lag probe's reads). Both share the machine's cores, so \
         the rate a system reaches here is bounded by its server and its client's CPU per \
         write together. Writes per fsync: leader 1's commits (its `fsync` histogram in `/metrics`) \
         over the window."
    );
    out.push('\n');
    let _ = writeln!(
        out,
        "Replication lag to leader 2, in the same crdt-leader phases: at most one write every \
         {} ms is followed; lag = from leader 1's acknowledgement at the client to leader 2's \
         answer to `GET …?token=T&wait_ms={LAG_WAIT_MS}` (includes one loopback HTTP round \
         trip; a read still not covered after the wait counts with the time waited).",
        LAG_SAMPLE_EVERY.as_millis()
    );
    out.push('\n');
    let mut t = Table::new(
        &[
            "clients",
            "keys",
            "samples",
            "lag p50 ms",
            "lag p99 ms",
            "lag max ms",
            "not covered",
            "failed",
            "skipped",
        ],
        0,
    );
    for p in &run.leader {
        if let Some(lag) = &p.lag {
            t.row([
                p.clients.to_string(),
                p.keys.to_string(),
                lag.summary.count.to_string(),
                ms(lag.summary.p50),
                ms(lag.summary.p99),
                ms(lag.summary.max),
                lag.not_covered.to_string(),
                lag.errors.to_string(),
                lag.skipped.to_string(),
            ]);
        }
    }
    out.push_str(&t.render());
    out.push('\n');
    for (name, phases) in [("crdt-leader", &run.leader), ("Redis", &run.redis)] {
        for p in phases.iter().filter(|p| p.errors > 0) {
            let _ = writeln!(
                out,
                "- {name}, {} clients, {} keys: {} failed writes, first: `{}`",
                p.clients,
                p.keys,
                p.errors,
                p.first_error.as_deref().unwrap_or("?")
            );
        }
    }
    if !with_targets {
        return out;
    }
    out.push('\n');
    let mut targets = String::new();
    for t in targets_of(run) {
        let _ = writeln!(targets, "{}", t.row());
    }
    let _ = writeln!(
        out,
        "| target | goal | measured | verdict |\n|---|---|---:|---|\n{targets}"
    );
    out
}

/// The two targets.
#[must_use]
pub fn targets_of(run: &Run) -> Vec<Target> {
    let mut out = Vec::new();
    let at = |phases: &[Phase]| {
        phases
            .iter()
            .find(|p| p.clients == TARGET_CLIENTS && p.keys == KEYS)
            .cloned()
    };
    match (at(&run.leader), at(&run.redis)) {
        (Some(l), Some(r)) if r.rate() > 0.0 => {
            let x = l.rate() / r.rate();
            out.push(Target::new(
                format!(
                    "Load: durable writes/s at {TARGET_CLIENTS} clients, crdt-leader vs Redis `appendfsync always`"
                ),
                format!("≥ {TARGET_THROUGHPUT_RATIO}x"),
                format!("{} ({} vs {} writes/s)", ratio(x), sig3(l.rate()), sig3(r.rate())),
                x >= TARGET_THROUGHPUT_RATIO && l.errors == 0,
            ));
        }
        _ => out.push(Target::new(
            format!("Load: durable writes/s at {TARGET_CLIENTS} clients vs Redis"),
            format!("≥ {TARGET_THROUGHPUT_RATIO}x"),
            "not measured",
            false,
        )),
    }
    let worst = run
        .leader
        .iter()
        .filter_map(|p| p.lag.as_ref().map(|l| (p.clients, p.keys, l)))
        .filter(|(_, _, l)| l.summary.count > 0)
        .max_by_key(|(_, _, l)| l.summary.p99);
    match worst {
        Some((clients, keys, lag)) => {
            let p99 = lag.summary.p99.as_secs_f64() * 1e3;
            out.push(Target::new(
                "Load: replication lag p99 to a second leader, loopback",
                format!("≤ {TARGET_LAG_P99_MS} ms"),
                format!(
                    "{} ms (worst, {clients} clients, {keys} keys)",
                    ms(lag.summary.p99)
                ),
                p99 <= TARGET_LAG_P99_MS && lag.errors == 0,
            ));
        }
        None => out.push(Target::new(
            "Load: replication lag p99 to a second leader, loopback",
            format!("≤ {TARGET_LAG_P99_MS} ms"),
            "not measured",
            false,
        )),
    }
    out
}
