//! The wire-efficiency experiment (Enes et al., ICDE 2019): prints markdown tables and
//! writes `docs/bench/wire_mesh.svg` and `docs/bench/wire_tree.svg`.
//!
//! ```text
//! cargo run --release -p crdt-bench --bin wire -- [--rounds N] [--svg-dir DIR] [--targets FILE]
//! ```
//! `--targets FILE` writes the target rows (markdown, no header) to FILE;
//! `--only mesh|tree` and `--workload gset|removes|counter|map` run a subset (then the
//! targets are judged on that subset only). `--only spanning` runs the mesh's
//! breadth-first spanning tree instead (not part of the default run): the floor of an
//! eager-push tree over the mesh (Plumtree) with nothing sent on the other links.

use crdt_bench::svg::{line_plot, Panel, Series};
use crdt_bench::table::{bytes, ratio, sig3, Table, Target};
use crdt_bench::wire::experiment::{index, Experiment, LEADERS, MESH_SEED, UPDATE_ROUNDS};
use crdt_bench::wire::topology::Topology;
use crdt_bench::wire::workload::Kind;
use std::path::PathBuf;

const COLORS: [(&str, Option<&str>); 8] = [
    ("#d62728", None),
    ("#ff7f0e", None),
    ("#1f77b4", None),
    ("#9467bd", Some("2,3")),
    ("#17becf", Some("8,3")),
    ("#8c564b", Some("1,2")),
    ("#e377c2", Some("4,2")),
    ("#2ca02c", Some("6,4")),
];

fn short(i: usize) -> &'static str {
    match i {
        index::STATE => "state-based",
        index::CLASSIC => "classic delta",
        index::OURS => "crdt-sync",
        index::OURS_ONE_HOP => "crdt-sync, one hop/round",
        index::OURS_TREE => "crdt-sync, spanning tree",
        index::OURS_LOSSY => "crdt-sync, 10% lost",
        index::OURS_ADAPTIVE => "crdt-sync, pruned (oracle)",
        _ => "op-based bound",
    }
}

fn plural(runs: usize) -> &'static str {
    if runs == 1 {
        "run"
    } else {
        "runs"
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rounds = arg(&args, "--rounds").map_or(UPDATE_ROUNDS, |r| r.parse().expect("--rounds N"));
    let svg_dir = arg(&args, "--svg-dir").map(PathBuf::from);
    let targets_file = arg(&args, "--targets").map(PathBuf::from);

    let only = arg(&args, "--only");
    let workload = arg(&args, "--workload");
    let kinds: Vec<Kind> = [
        ("gset", Kind::AddOnlySet),
        ("removes", Kind::SetWithRemoves),
        ("counter", Kind::Counter),
        ("map", Kind::Map),
    ]
    .into_iter()
    .filter(|(name, _)| workload.as_deref().map_or(true, |w| w == *name))
    .map(|(_, k)| k)
    .collect();
    let mut targets: Vec<Target> = Vec::new();
    let mut never_more_than_state = true;
    let mut worst_vs_state = (0.0f64, String::new());
    let mut worst_buffer = (0.0f64, String::new());
    let mut runs = 0usize;
    let mesh = Topology::mesh(LEADERS, MESH_SEED);
    let topologies = match only.as_deref() {
        Some("spanning") => vec![mesh.spanning_tree()],
        _ => vec![mesh, Topology::tree(LEADERS)],
    };
    for topology in topologies
        .into_iter()
        .filter(|t| only.as_deref().map_or(true, |o| o == t.name))
    {
        let mut panels = Vec::new();
        println!(
            "### {} ({} leaders, {} links, diameter {}, {} updates per leader)\n",
            topology.name,
            topology.len(),
            topology.links(),
            topology.diameter(),
            rounds
        );
        for &kind in &kinds {
            let e = Experiment::run(topology.clone(), kind, rounds);
            runs += 1;
            let state_bytes = e.outcomes[index::STATE].total_bytes as f64;
            let op_bytes = e.outcomes[index::OP_BASED].total_bytes as f64;
            println!(
                "**{}** — final state {} bytes encoded, {} in memory\n",
                kind.label(),
                bytes(e.state_bytes()),
                bytes(e.state_memory())
            );
            let mut t = Table::new(
                &[
                    "protocol",
                    "bytes sent",
                    "vs state-based",
                    "vs op-based",
                    "rounds",
                    "buffer peak per leader, mean / max (bytes in memory)",
                    "max buffer / state (in memory)",
                    "CPU time",
                ],
                1,
            );
            for (i, o) in e.outcomes.iter().enumerate() {
                let buffered = matches!(
                    i,
                    index::CLASSIC
                        | index::OURS
                        | index::OURS_ONE_HOP
                        | index::OURS_TREE
                        | index::OURS_LOSSY
                        | index::OURS_ADAPTIVE
                );
                t.row([
                    o.protocol.to_string(),
                    bytes(o.total_bytes),
                    ratio(o.total_bytes as f64 / state_bytes),
                    ratio(o.total_bytes as f64 / op_bytes),
                    o.rounds.to_string(),
                    if buffered {
                        format!(
                            "{} / {}",
                            bytes(o.buffer_peak_mean() as u64),
                            bytes(o.buffer_peak_max())
                        )
                    } else {
                        "—".to_string()
                    },
                    if buffered {
                        ratio(o.buffer_peak_max() as f64 / e.state_memory() as f64)
                    } else {
                        "—".to_string()
                    },
                    format!("{} ms", sig3(o.cpu.as_secs_f64() * 1e3)),
                ]);
            }
            println!("{}", t.render());
            let parts: Vec<String> = e
                .outcomes
                .iter()
                .filter(|o| !o.breakdown.is_empty())
                .map(|o| {
                    let kinds: Vec<String> = o
                        .breakdown
                        .iter()
                        .map(|(k, b, n)| format!("{k} {} B in {} msgs", bytes(*b), bytes(*n)))
                        .collect();
                    format!("{}: {}", o.protocol, kinds.join(", "))
                })
                .collect();
            println!("By message kind — {}.\n", parts.join("; "));

            let ours = &e.outcomes[index::OURS];
            let vs_state = ours.total_bytes as f64 / state_bytes;
            if vs_state > 1.0 {
                never_more_than_state = false;
            }
            if vs_state > worst_vs_state.0 {
                worst_vs_state = (vs_state, format!("{}, {}", topology.name, kind.label()));
            }
            let buf = ours.buffer_peak_max() as f64 / e.state_memory() as f64;
            if buf > worst_buffer.0 {
                worst_buffer = (buf, format!("{}, {}", topology.name, kind.label()));
            }
            if topology.name == "mesh" && kind == Kind::AddOnlySet {
                targets.push(Target::new(
                    "Wire: add-only OR-Set, mesh, bytes vs state-based",
                    "≤ 0.05x",
                    ratio(vs_state),
                    vs_state <= 0.05,
                ));
                let vs_op = ours.total_bytes as f64 / op_bytes;
                targets.push(Target::new(
                    "Wire: add-only OR-Set, mesh, bytes vs op-based lower bound",
                    "≤ 2x",
                    ratio(vs_op),
                    vs_op <= 2.0,
                ));
            }

            panels.push(Panel {
                title: kind.label().to_string(),
                series: e
                    .outcomes
                    .iter()
                    .enumerate()
                    .map(|(i, o)| Series {
                        label: short(i).to_string(),
                        points: o
                            .bytes_per_round
                            .iter()
                            .enumerate()
                            .map(|(r, b)| ((r + 1) as f64, *b as f64))
                            .collect(),
                        color: COLORS[i].0,
                        dash: COLORS[i].1,
                    })
                    .collect(),
            });
        }
        if let Some(dir) = &svg_dir {
            std::fs::create_dir_all(dir)?;
            let svg = line_plot(
                &format!(
                    "Bytes sent per round, {} leaders, {} ({} links)",
                    topology.len(),
                    topology.name,
                    topology.links()
                ),
                "round",
                "bytes sent (log scale)",
                &panels,
            );
            std::fs::write(dir.join(format!("wire_{}.svg", topology.name)), svg)?;
        }
    }
    targets.push(Target::new(
        format!(
            "Wire: ours never sends more than state-based ({runs} {})",
            plural(runs)
        ),
        "≤ 1x in every run",
        format!("worst {} ({})", ratio(worst_vs_state.0), worst_vs_state.1),
        never_more_than_state,
    ));
    targets.push(Target::new(
        format!(
            "Wire: per-leader delta-buffer peak vs state size, in memory ({runs} {})",
            plural(runs)
        ),
        "≤ 1.3x",
        format!("worst {} ({})", ratio(worst_buffer.0), worst_buffer.1),
        worst_buffer.0 <= 1.3,
    ));
    let rows: Vec<String> = targets.iter().map(Target::row).collect();
    if let Some(path) = targets_file {
        std::fs::write(path, rows.join("\n") + "\n")?;
    } else {
        println!("{}", rows.join("\n"));
    }
    Ok(())
}
