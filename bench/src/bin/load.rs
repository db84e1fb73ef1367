//! The load benchmark (issue 12): one `crdt-leader` over HTTP at 1, 16 and 64
//! closed-loop clients next to `redis-server` with `appendfsync always`, and the
//! replication lag to a second leader. Prints a markdown section.
//!
//! ```text
//! cargo build --release -p crdt-leader -p crdt-bench --bins
//! ./target/release/load [--quick] [--clients 1,16,64] [--no-small-values]
//!                       [--targets FILE] [--leader-bin PATH] [--redis-server PATH]
//! ```
//! `--quick`: 0.5 s warm-up and 2 s per phase instead of 1 s and 5 s (not for
//! committing). After the phases at each client count on 32 counters and 32 sets, whose
//! sets grow to thousands of elements, a last pair of phases at the most clients writes
//! to 100,000 of each, so that values stay small (crdt-leader answers every write with
//! the key's whole value; Redis's `SADD` answers `:1`); `--no-small-values` leaves it
//! out. `--leader-bin` defaults to `crdt-leader` beside this binary; `--redis-server`
//! to `redis-server` on the PATH (Debian: `apt-get install -y redis-server`).
//! `--targets FILE` writes the target rows (markdown, no header) to FILE and leaves
//! them out of the section. Progress goes to stderr. Every server is a child process in
//! a temporary directory, killed when the run ends or fails.

use crdt_bench::load::disk;
use crdt_bench::load::leader::Pair;
use crdt_bench::load::phase::{self, System, Window};
use crdt_bench::load::redis::Redis;
use crdt_bench::load::report::{self, Run};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The clients share the machine with the servers: a lean allocator leaves them more.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("load: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let small_values = !args.iter().any(|a| a == "--no-small-values");
    let window = if quick {
        Window {
            warmup: Duration::from_millis(500),
            measure: Duration::from_secs(2),
        }
    } else {
        Window {
            warmup: Duration::from_secs(1),
            measure: Duration::from_secs(5),
        }
    };
    let clients: Vec<usize> = arg(args, "--clients")
        .unwrap_or_else(|| "1,16,64".into())
        .split(',')
        .map(|c| c.trim().parse().map_err(|_| format!("--clients: {c:?}")))
        .collect::<Result<_, _>>()?;
    if clients.iter().any(|c| *c == 0 || *c > 1024) {
        return Err("--clients: each count must be in 1..=1024".into());
    }
    let targets_file = arg(args, "--targets").map(PathBuf::from);
    let leader_bin = match arg(args, "--leader-bin") {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("crdt-leader"),
    };
    if !leader_bin.exists() {
        return Err(format!(
            "no crdt-leader binary at {}: `cargo build --release -p crdt-leader`, or pass --leader-bin",
            leader_bin.display()
        ));
    }
    let redis_bin = PathBuf::from(arg(args, "--redis-server").unwrap_or("redis-server".into()));

    eprintln!("load: disk probe (append 4 KiB + fdatasync)");
    let probe_time = if quick { 500 } else { 2_000 };
    let disk = tokio::task::spawn_blocking(move || disk::probe(Duration::from_millis(probe_time)))
        .await
        .map_err(|e| e.to_string())??;

    eprintln!("load: starting two crdt-leaders ({})", leader_bin.display());
    let pair = Pair::start(&leader_bin).await?;
    eprintln!("load: starting {}", redis_bin.display());
    let redis = Redis::start(&redis_bin, &pair.token).await?;

    let mut leader_phases = Vec::new();
    let mut redis_phases = Vec::new();
    // Interleaved, so that a change in the machine's load hits both systems alike;
    // last, the most clients again with small values.
    let most = clients.iter().copied().max().unwrap_or(1);
    let phases = clients
        .iter()
        .map(|&n| (n, phase::KEYS))
        .chain(small_values.then_some((most, phase::SMALL_VALUES_KEYS)));
    for (n, keys) in phases {
        for (name, system) in [
            ("crdt-leader", System::Leader(&pair)),
            ("redis", System::Redis(&redis)),
        ] {
            let p = phase::run(&system, n, keys, window).await?;
            eprintln!(
                "load: {name:11} {n:3} clients, {keys:6} keys: {:8.0} writes/s, p50 {:?}, p99 {:?}, {} errors{}",
                p.rate(),
                p.latency.p50,
                p.latency.p99,
                p.errors,
                p.lag.as_ref().map_or(String::new(), |l| format!(
                    ", lag p50 {:?} p99 {:?} ({} samples)",
                    l.summary.p50, l.summary.p99, l.summary.count
                ))
            );
            match system {
                System::Leader(_) => leader_phases.push(p),
                System::Redis(_) => redis_phases.push(p),
            }
        }
    }
    let run = Run {
        leader: leader_phases,
        redis: redis_phases,
        disk,
        redis_version: redis.version.clone(),
        window,
    };
    if let Some(f) = &targets_file {
        let rows: String = report::targets_of(&run)
            .iter()
            .map(|t| t.row() + "\n")
            .collect();
        std::fs::write(f, rows).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    print!("{}", report::markdown(&run, targets_file.is_none()));
    Ok(())
}
