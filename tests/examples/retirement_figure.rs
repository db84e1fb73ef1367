//! Prints issue 14's retirement figure (`tests::retirement_figure`) as Markdown for
//! BENCHMARKS.md: `cargo run --release -p tests --example retirement_figure -- TABLE
//! TARGETS` writes the table to TABLE and the target rows to TARGETS.
use std::fmt::Write as _;
use tests::retirement_figure::{measure, within_ten_percent, WRITERS};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (table_path, targets_path) = match &args[..] {
        [t, g] => (t.clone(), g.clone()),
        _ => {
            eprintln!("usage: retirement_figure TABLE TARGETS");
            std::process::exit(2);
        }
    };
    let figures = measure();
    let mut table = String::new();
    let _ = writeln!(
        table,
        "| type | part | before | retired | live writer | retired / live |"
    );
    let _ = writeln!(table, "|---|---|---:|---:|---:|---:|");
    let mut worst: Option<(f64, String)> = None;
    let mut met = true;
    for f in &figures {
        for (part, before, ours, theirs) in [
            ("state", f.before.state, f.retired.state, f.live.state),
            (
                "causal token",
                f.before.token,
                f.retired.token,
                f.live.token,
            ),
            (
                "digest (summary + token)",
                f.before.digest,
                f.retired.digest,
                f.live.digest,
            ),
        ] {
            let ratio = ours as f64 / theirs as f64;
            let _ = writeln!(
                table,
                "| {} | {part} | {before} B | {ours} B | {theirs} B | {ratio:.3}x |",
                f.what
            );
            met &= within_ten_percent(ours, theirs);
            if worst.as_ref().map_or(true, |(r, _)| ratio > *r) {
                worst = Some((ratio, format!("{}, {part}", f.what)));
            }
        }
    }
    let (ratio, at) = worst.unwrap_or((0.0, String::new()));
    let targets = format!(
        "| Retirement: state, token and digest after {WRITERS} one-write writers are retired, vs the same writes by a live writer | ≤ 1.1x (or ≤ 16 B more) | {ratio:.3}x (worst: {at}) | {} |\n",
        if met { "met" } else { "**missed**" }
    );
    std::fs::write(table_path, table)?;
    std::fs::write(targets_path, targets)
}
