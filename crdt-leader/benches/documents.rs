//! Idle documents cost nothing per tick: two leaders on loopback host `DOCS`
//! documents (default 100,000); the benchmark measures the process's CPU time per
//! second while every document is idle and while 1% of them are written, and the
//! memory per document.
//!
//! `cargo bench -p crdt-leader --bench documents` (`-- --quick`: 10,000 documents);
//! `bash scripts/bench.sh` puts its table into BENCHMARKS.md. Prints a Markdown
//! section on stdout. `cargo test --all-targets` runs it as a smoke test with 300
//! documents and one-second windows.

use crdt_core::ValueOp;
use crdt_leader::{FsyncPolicy, Node, NodeConfig, NodeHandle, PeerConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECRET: &[u8] = b"documents-benchmark-secret";
const TICK_MS: u64 = 50;
/// The measuring window (a second under `cargo test`, which runs this as a smoke test).
fn window() -> Duration {
    if bench_mode() {
        Duration::from_secs(5)
    } else {
        Duration::from_secs(1)
    }
}

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
/// it, as a smoke test of a few hundred documents.
fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Resident memory of this process, in bytes (Linux; 0 elsewhere).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// CPU time (user + system) of this process so far (Linux; zero elsewhere).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime is the 14th field
    // of the whole line, stime the 15th; in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|s| s.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// CPU milliseconds per second of wall time over `window`, while `during` runs.
async fn cpu_per_second<F: std::future::Future<Output = ()>>(window: Duration, during: F) -> f64 {
    let (c0, t0) = (cpu_time(), Instant::now());
    tokio::select! {
        _ = during => {}
        _ = tokio::time::sleep(window) => {}
    }
    let (c1, t1) = (cpu_time(), Instant::now());
    (c1 - c0).as_secs_f64() * 1000.0 / (t1 - t0).as_secs_f64()
}

async fn gauge(node: &NodeHandle, name: &str) -> f64 {
    let text = node.metrics_text().await.expect("metrics");
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(f64::NAN)
}

async fn start(dir: &std::path::Path) -> (NodeHandle, NodeHandle) {
    let config = |id: u64| {
        let mut c = NodeConfig::new(id, dir.join(format!("leader-{id}")));
        c.peer_listen = Some("127.0.0.1:0".parse().expect("address"));
        c.peer_secret = Some(SECRET.to_vec());
        c.tick_ms = TICK_MS;
        // Setup writes 100,000 documents: write-behind keeps that quick; the measured
        // phases do not depend on fsync.
        c.fsync = FsyncPolicy::IntervalMs(100);
        c
    };
    let mut c2 = config(2);
    c2.peers = vec![PeerConfig { id: 1, addr: None }];
    let n2 = Node::start(c2).await.expect("leader 2");
    let mut c1 = config(1);
    c1.peers = vec![PeerConfig {
        id: 2,
        addr: Some(n2.peer_addr().expect("peer address").to_string()),
    }];
    let n1 = Node::start(c1).await.expect("leader 1");
    (n1, n2)
}

async fn settle(nodes: &[&NodeHandle], docs: usize) -> Duration {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(600);
    let mut last_report = Instant::now();
    loop {
        let mut ok = true;
        let mut digests = Vec::new();
        for n in nodes {
            let s = n.status().await.expect("status");
            ok &= s.docs == docs && s.peers.iter().all(|p| p.lag_ops == 0);
            digests.push(s.digest);
            ok &= gauge(n, "crdt_leader_docs_active").await == 0.0;
        }
        if ok && digests.windows(2).all(|w| w[0] == w[1]) {
            return started.elapsed();
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            let mut parts = Vec::new();
            for n in nodes {
                let s = n.status().await.expect("status");
                let lag: u64 = s.peers.iter().map(|p| p.lag_ops).sum();
                let active = gauge(n, "crdt_leader_docs_active").await;
                parts.push(format!(
                    "leader {}: {} docs, lag {lag}, {active} active",
                    s.id, s.docs
                ));
            }
            eprintln!(
                "settling {:.0} s: {}",
                started.elapsed().as_secs_f64(),
                parts.join("; ")
            );
        }
        assert!(Instant::now() < deadline, "no quiet cluster after 600 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let docs: usize = std::env::var("DOCS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(match (bench_mode(), quick) {
            (false, _) => 300,
            (true, true) => 10_000,
            (true, false) => 100_000,
        });
    let dir = tempfile::tempdir().expect("temporary directory");
    let (n1, n2) = start(dir.path()).await;
    settle(&[&n1, &n2], 0).await;
    let idle_empty = cpu_per_second(window(), std::future::pending()).await;
    let rss_empty = rss_bytes();

    // Create the documents: one counter key each, written at leader 1 by 256 tasks.
    let created = Instant::now();
    let n1a = Arc::new(n1.clone());
    let tasks: Vec<_> = (0..256)
        .map(|w| {
            let n = n1a.clone();
            tokio::spawn(async move {
                for i in (w..docs).step_by(256) {
                    n.write(
                        &format!("doc-{i:06}"),
                        "hits",
                        ValueOp::GCounterIncrement(1),
                    )
                    .await
                    .expect("write");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("writer");
    }
    let create_secs = created.elapsed().as_secs_f64();
    let settle_time = settle(&[&n1, &n2], docs).await;
    let rss_full = rss_bytes();
    let idle_full = cpu_per_second(window(), std::future::pending()).await;

    // 1% of the documents written: each of them once per second, spread evenly.
    let hot = (docs / 100).max(1);
    let writer = n1.clone();
    let load = async move {
        let period = Duration::from_secs(1) / hot as u32;
        let mut next = Instant::now();
        for round in 0u64.. {
            let doc = format!("doc-{:06}", (round as usize % hot) * 100);
            writer
                .write(&doc, "hits", ValueOp::GCounterIncrement(1))
                .await
                .expect("write");
            next += period;
            tokio::time::sleep_until(next.into()).await;
        }
    };
    let mut active_samples = Vec::new();
    let sampler = async {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            active_samples.push(gauge(&n1, "crdt_leader_docs_active").await);
        }
    };
    eprintln!("busy phase: {hot} documents written once per second");
    let busy = cpu_per_second(window(), async {
        tokio::join!(load, sampler);
    })
    .await;
    let active_mean = active_samples.iter().sum::<f64>() / active_samples.len().max(1) as f64;

    let per_doc = (rss_full.saturating_sub(rss_empty)) as f64 / (2 * docs) as f64;
    println!("## Documents: idle ones cost nothing per tick (crdt-leader)\n");
    println!(
        "Two leaders in one process on loopback, tick {TICK_MS} ms, {docs} documents of one \
         counter key each (created at leader 1 in {create_secs:.1} s with 256 concurrent \
         writers, replicated and quiet {:.1} s later). CPU is the whole process (both \
         leaders) per second of wall time over {} s windows.\n",
        settle_time.as_secs_f64(),
        window().as_secs()
    );
    println!("| phase | documents ticked (mean, leader 1) | CPU ms per s |");
    println!("|---|---|---|");
    println!("| no documents, idle | 0 | {idle_empty:.1} |");
    println!("| {docs} documents, all idle | 0 | {idle_full:.1} |");
    println!(
        "| {docs} documents, 1% ({hot}) written once per second | {active_mean:.0} | {busy:.1} |"
    );
    println!(
        "\nMemory: {:.0} bytes of process RSS per document per leader ({:.1} MiB for {docs} \
         documents on two leaders; includes redb's page cache and the allocator's slack).",
        per_doc,
        (rss_full.saturating_sub(rss_empty)) as f64 / (1 << 20) as f64
    );
    println!(
        "Idle cost per document: {:.4} µs of CPU per second (the difference between the \
         idle rows, divided by {docs} documents on two leaders).",
        ((idle_full - idle_empty).max(0.0) * 1000.0) / (2 * docs) as f64
    );
    n1.shutdown().await;
    n2.shutdown().await;
}
