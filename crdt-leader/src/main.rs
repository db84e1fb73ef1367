//! `crdt-leader`: a thin shell over the `crdt_leader` library. `crdt-leader --help`
//! lists the options; `crdt-leader demo` starts three leaders on loopback.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use crdt_core::{Value, ValueOp};
use crdt_leader::{Access, ClientTokens, FsyncPolicy, Node, NodeConfig, NodeHandle, PeerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "crdt-leader",
    version,
    about = "A durable, networked CRDT leader"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// This leader's id (unique in the cluster, stable across restarts).
    #[arg(long)]
    id: Option<u64>,
    /// Where the store lives.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where to serve the HTTP API.
    #[arg(long)]
    http: Option<SocketAddr>,
    /// Where to accept peer connections.
    #[arg(long)]
    peer_listen: Option<SocketAddr>,
    /// Another leader, as ID@HOST:PORT (repeatable).
    #[arg(long = "peer")]
    peers: Vec<String>,
    /// A file holding the cluster's shared secret.
    #[arg(long)]
    peer_secret_file: Option<PathBuf>,
    /// A file of client tokens: `<token> <read|write> <document-prefix>` per line.
    #[arg(long)]
    client_tokens: Option<PathBuf>,
    /// `always` (fsync before acknowledging) or `interval:MS` (write-behind: a power
    /// loss may lose up to MS ms of acknowledged writes; a process crash loses none).
    #[arg(long, default_value = "always")]
    fsync: String,
    /// Run without peer secret or client tokens (trusted networks only).
    #[arg(long)]
    insecure: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Three leaders on loopback with temporary data directories.
    Demo {
        /// Write on all three, check convergence and read-your-writes, exit.
        #[arg(long)]
        smoke: bool,
    },
}

fn parse_peer(s: &str) -> Result<PeerConfig, String> {
    let (id, addr) = s
        .split_once('@')
        .ok_or_else(|| format!("--peer {s:?}: expected ID@HOST:PORT"))?;
    let id = id
        .parse()
        .map_err(|_| format!("--peer {s:?}: the id is not a number"))?;
    Ok(PeerConfig {
        id,
        addr: Some(addr.to_string()),
    })
}

fn config_from(cli: &Cli) -> Result<NodeConfig, String> {
    let id = cli.id.ok_or("--id is required")?;
    let dir = cli.data_dir.clone().ok_or("--data-dir is required")?;
    let mut config = NodeConfig::new(id, dir);
    config.http_listen = cli.http;
    config.peer_listen = cli.peer_listen;
    config.insecure = cli.insecure;
    config.fsync = cli
        .fsync
        .parse::<FsyncPolicy>()
        .map_err(|e| e.to_string())?;
    for p in &cli.peers {
        config.peers.push(parse_peer(p)?);
    }
    if let Some(f) = &cli.peer_secret_file {
        let secret =
            std::fs::read(f).map_err(|e| format!("--peer-secret-file {}: {e}", f.display()))?;
        let secret = secret.trim_ascii().to_vec();
        if secret.len() < 16 {
            return Err(format!(
                "--peer-secret-file {}: the secret is shorter than 16 bytes; generate one, e.g. `head -c 32 /dev/urandom | base64`",
                f.display()
            ));
        }
        config.peer_secret = Some(secret);
    }
    if let Some(f) = &cli.client_tokens {
        let text = std::fs::read_to_string(f)
            .map_err(|e| format!("--client-tokens {}: {e}", f.display()))?;
        config.client_tokens = Some(ClientTokens::parse(&text).map_err(|e| e.to_string())?);
    }
    Ok(config)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(n: usize) -> Result<String, String> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| e.to_string())?;
    Ok(hex(&b))
}

async fn demo(smoke: bool) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let secret = random_hex(32)?.into_bytes();
    let token = random_hex(16)?;
    let mut tokens = ClientTokens::default();
    tokens.add(&token, Access::Write, None);
    let loopback: SocketAddr = "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?;
    // Lower ids dial higher ones: start 3, then 2, then 1, each knowing the
    // addresses of those already up.
    let mut nodes: Vec<NodeHandle> = Vec::new();
    let mut addrs: Vec<(u64, SocketAddr)> = Vec::new();
    for id in (1..=3u64).rev() {
        let mut c = NodeConfig::new(id, dir.path().join(format!("leader-{id}")));
        c.peer_listen = Some(loopback);
        c.http_listen = Some(loopback);
        c.peer_secret = Some(secret.clone());
        c.client_tokens = Some(tokens.clone());
        c.tick_ms = 20;
        for other in (1..=3u64).filter(|o| *o != id) {
            let addr = addrs
                .iter()
                .find(|(i, _)| *i == other)
                .map(|(_, a)| a.to_string());
            c.peers.push(PeerConfig { id: other, addr });
        }
        let node = Node::start(c).await.map_err(|e| e.to_string())?;
        addrs.push((id, node.peer_addr().ok_or("no peer address")?));
        nodes.push(node);
    }
    nodes.reverse();
    for n in &nodes {
        println!(
            "leader {}: http://{}  (peer port {})",
            n.id(),
            n.http_addr().ok_or("no http address")?,
            n.peer_addr().ok_or("no peer address")?
        );
    }
    let first = nodes[0].http_addr().ok_or("no http address")?;
    println!(
        "try:\n  curl -s -H 'Authorization: Bearer {token}' -d '{{\"type\":\"orset\",\"op\":\"insert\",\"value\":\"milk\"}}' http://{first}/v1/docs/demo/keys/cart"
    );
    let result = if smoke {
        run_smoke(&nodes).await
    } else {
        println!("serving until Ctrl-C");
        wait_for_signal().await;
        Ok(())
    };
    for n in &nodes {
        n.shutdown().await;
    }
    result
}

async fn run_smoke(nodes: &[NodeHandle]) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut tokens = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let r = n
            .write("smoke", "hits", ValueOp::GCounterIncrement(i as u64 + 1))
            .await
            .map_err(|e| format!("write on leader {}: {e}", n.id()))?;
        n.write(
            "smoke",
            "who",
            ValueOp::OrSetInsert(format!("leader-{}", n.id())),
        )
        .await
        .map_err(|e| format!("write on leader {}: {e}", n.id()))?;
        println!(
            "wrote hits+={} and who+=leader-{} on leader {}",
            i + 1,
            n.id(),
            n.id()
        );
        tokens.push(r.token);
    }
    // Read-your-writes: each leader's token, honoured at the next leader.
    for (i, t) in tokens.iter().enumerate() {
        let reader = &nodes[(i + 1) % nodes.len()];
        let r = reader
            .read("smoke", "hits", Some(t), Duration::from_secs(10))
            .await
            .map_err(|e| format!("read-your-writes at leader {}: {e}", reader.id()))?;
        println!(
            "leader {} honoured leader {}'s token: hits = {:?}",
            reader.id(),
            nodes[i].id(),
            r.value
        );
    }
    loop {
        let mut digests = Vec::new();
        for n in nodes {
            digests.push(n.status().await.map_err(|e| e.to_string())?.digest);
        }
        let mut values = Vec::new();
        for n in nodes {
            values.push(
                n.read("smoke", "hits", None, Duration::ZERO)
                    .await
                    .map_err(|e| e.to_string())?
                    .value,
            );
        }
        if digests.windows(2).all(|w| w[0] == w[1])
            && values.iter().all(|v| *v == Some(Value::GCounter(6)))
        {
            println!(
                "converged: every leader has hits = 6, digest {:016x}",
                digests[0]
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no convergence after 30 s: digests {digests:x?}, values {values:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn serve(cli: &Cli) -> Result<(), String> {
    let config = config_from(cli)?;
    let node = Node::start(config).await.map_err(|e| e.to_string())?;
    if let Some(a) = node.http_addr() {
        println!("crdt-leader {}: HTTP on http://{a}", node.id());
    }
    if let Some(a) = node.peer_addr() {
        println!("crdt-leader {}: peers on {a}", node.id());
    }
    wait_for_signal().await;
    tracing::info!("signal received: draining");
    node.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crdt-leader: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match &cli.command {
            Some(Cmd::Demo { smoke }) => demo(*smoke).await,
            None => serve(&cli).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crdt-leader: {e}");
            ExitCode::FAILURE
        }
    }
}
