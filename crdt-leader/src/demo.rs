//! `crdt-leader demo [--smoke]`: three leaders on loopback with temporary data
//! directories and generated secret and token.

use crate::settings::check_app_dir;
use crate::wait_for_signal;
use crdt_core::{Value, ValueOp};
use crdt_leader::{Access, ClientTokens, Node, NodeConfig, NodeHandle, PeerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(n: usize) -> Result<String, String> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| e.to_string())?;
    Ok(hex(&b))
}

/// Where `bash scripts/wasm.sh package` assembles the example app.
const APP_DIR: &str = "target/wasm/app";

pub(crate) async fn demo(smoke: bool, app_dir: Option<PathBuf>) -> Result<(), String> {
    let app_dir = match app_dir {
        Some(dir) => {
            check_app_dir(&dir)?;
            Some(dir)
        }
        None => Some(PathBuf::from(APP_DIR)).filter(|d| check_app_dir(d).is_ok()),
    };
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
        c.app_dir = app_dir.clone();
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
    let last = nodes[nodes.len() - 1]
        .http_addr()
        .ok_or("no http address")?;
    println!(
        "try (a write at leader {}, then a read at leader {}; the API: docs/HTTP.md):\n  curl -s -H 'Authorization: Bearer {token}' -d '{{\"type\":\"orset\",\"op\":\"insert\",\"value\":\"milk\"}}' http://{first}/v1/docs/demo/keys/cart\n  curl -s -H 'Authorization: Bearer {token}' http://{last}/v1/docs/demo/keys/cart",
        nodes[0].id(),
        nodes[nodes.len() - 1].id()
    );
    match &app_dir {
        Some(dir) => {
            println!("example app ({}), one tab per leader:", dir.display());
            for n in &nodes {
                let addr = n.http_addr().ok_or("no http address")?;
                println!("  http://{addr}/app/#token={token}");
            }
        }
        None => {
            println!("(no example app: `bash scripts/wasm.sh package` builds it into {APP_DIR})")
        }
    }
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
        let hits = match r.value {
            Some(Value::GCounter(n)) => n.to_string(),
            other => format!("{other:?}"),
        };
        println!(
            "leader {} honoured leader {}'s token: hits = {hits}",
            reader.id(),
            nodes[i].id(),
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
