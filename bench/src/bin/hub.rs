//! Hundreds of peers (issue 15 item 7): the hub of a star of `crdt_sync::Leader`s —
//! CPU time, messages and bytes per round at 16, 64, 256 and 1,024 spokes. Prints a
//! markdown section (see `crdt_bench::hub` for what a round is).
//!
//! ```text
//! cargo run --release -p crdt-bench --bin hub -- [--quick] [--sizes 16,64] [--rounds N] [--budget SECS] [--targets FILE]
//! ```
//! Each size first runs 2 warm-up rounds (the first contacts),
//! then `--rounds` measured rounds (default 16: two digest intervals), fewer when a
//! size's measured rounds exceed `--budget` seconds of hub CPU (default 60); the
//! table says how many were measured. `--targets FILE` writes the target row.

use crdt_bench::hub::{HubFigures, Star, StarType};
use crdt_bench::table::{bytes, ratio, sig3, Table, Target};
use crdt_core::{GCounter, OrSet};
use std::path::PathBuf;
use std::time::Duration;

const WARMUP_ROUNDS: usize = 2;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Runs the star with `spokes` spokes, `writers` of them writing per round.
fn measure<C: StarType>(
    spokes: usize,
    writers: usize,
    rounds: usize,
    budget: Duration,
) -> HubFigures {
    let mut star = Star::<C>::new(spokes);
    for _ in 0..WARMUP_ROUNDS {
        star.round(writers);
    }
    star.reset_figures();
    for _ in 0..rounds {
        star.round(writers);
        if star.figures().cpu > budget {
            break;
        }
    }
    assert!(star.converged(), "the star converges after every round");
    star.figures().clone()
}

struct Row {
    spokes: usize,
    writers: usize,
    f: HubFigures,
}

fn section<C: StarType>(
    sizes: &[usize],
    writers: impl Fn(usize) -> usize,
    rounds: usize,
    budget: Duration,
) -> Vec<Row> {
    sizes
        .iter()
        .map(|&spokes| {
            let w = writers(spokes);
            eprintln!(
                "hub: {} spokes, {} writers per round, {}",
                spokes,
                w,
                C::LABEL
            );
            Row {
                spokes,
                writers: w,
                f: measure::<C>(spokes, w, rounds, budget),
            }
        })
        .collect()
}

fn print(title: &str, rows: &[Row]) {
    println!("**{title}**\n");
    let mut t = Table::new(
        &[
            "spokes",
            "writes per round",
            "rounds measured",
            "hub CPU per round",
            "per spoke",
            "per delta relayed",
            "hub messages per round",
            "per spoke",
            "hub bytes per round",
        ],
        0,
    );
    for r in rows {
        let ms = r.f.cpu_ms_per_round();
        // Every write reaches every other spoke through the hub.
        let relayed = (r.writers * (r.spokes - 1)).max(1) as f64;
        t.row([
            r.spokes.to_string(),
            r.writers.to_string(),
            r.f.rounds.to_string(),
            format!("{} ms", sig3(ms)),
            format!("{} µs", sig3(ms * 1e3 / r.spokes as f64)),
            format!("{} ns", sig3(ms * 1e6 / relayed)),
            sig3(r.f.messages_per_round()),
            sig3(r.f.messages_per_round() / r.spokes as f64),
            bytes(r.f.bytes_per_round() as u64),
        ]);
    }
    println!("{}", t.render());
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let sizes: Vec<usize> = arg(&args, "--sizes").map_or_else(
        || {
            if quick {
                vec![16, 64, 256]
            } else {
                vec![16, 64, 256, 1024]
            }
        },
        |s| {
            s.split(',')
                .map(|x| x.parse().expect("--sizes N,N"))
                .collect()
        },
    );
    let rounds = arg(&args, "--rounds").map_or(if quick { 4 } else { 16 }, |r| {
        r.parse().expect("--rounds N")
    });
    let budget = Duration::from_secs_f64(
        arg(&args, "--budget").map_or(60.0, |b| b.parse().expect("--budget SECS")),
    );
    let targets_file = arg(&args, "--targets").map(PathBuf::from);

    println!(
        "A hub and N spokes (each spoke a peer of the hub only), `Config::default()`; a round: \
         spokes write, every leader ticks, then messages are delivered one at a time in the order \
         sent, each receiver polled right after each message, until none is in flight. \
         {WARMUP_ROUNDS} warm-up rounds, then up to {rounds} measured (two digest intervals) (fewer once the hub's CPU \
         passes {} s). CPU is the hub's thread CPU time in `receive`, `poll_transmit` and `tick`. \
         \"per delta relayed\" divides by writes × (spokes − 1), the deliveries the hub must make.\n",
        budget.as_secs()
    );
    let all = section::<GCounter>(&sizes, |n| n, rounds, budget);
    print("Every spoke writes once per round (G-Counter)", &all);
    let few = section::<OrSet<u64>>(&sizes, |n| n.min(16), rounds, budget);
    print("16 spokes write once per round (OR-Set of `u64`)", &few);

    // The target: hub CPU per round linear in peers, i.e. flat per delta relayed with
    // every spoke writing, and flat per spoke with a fixed number of writers.
    let per_delta = |r: &Row| r.f.cpu_ms_per_round() / (r.writers * (r.spokes - 1)).max(1) as f64;
    let per_spoke = |r: &Row| r.f.cpu_ms_per_round() / r.spokes as f64;
    // The largest run against the smallest, by `per`.
    let target = |section: &[Row], per: &dyn Fn(&Row) -> f64, what: &str, goal: &str| {
        let (lo, hi) = (section.first()?, section.last()?);
        let g = per(hi) / per(lo);
        Some(Target::new(
            format!("Hub: {what}, {} vs {} spokes", hi.spokes, lo.spokes),
            goal,
            ratio(g),
            g <= 2.0,
        ))
    };
    let rows: Vec<Target> = [
        target(
            &all,
            &per_delta,
            "CPU per delta relayed, every spoke writing",
            "≤ 2x (linear per delta)",
        ),
        target(
            &few,
            &per_spoke,
            "CPU per round per spoke, 16 writers",
            "≤ 2x (linear in peers)",
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    let rows: Vec<String> = rows.iter().map(Target::row).collect();
    if let Some(path) = targets_file {
        std::fs::write(path, rows.join("\n") + "\n")?;
    } else {
        println!("{}", rows.join("\n"));
    }
    Ok(())
}
