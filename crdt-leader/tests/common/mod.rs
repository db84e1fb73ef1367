//! Helpers shared by the integration tests: bounded waits and small clusters.
#![allow(dead_code)]

use crdt_leader::{Access, ClientTokens, Node, NodeConfig, NodeHandle, PeerConfig};
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

pub mod leader_proc;
pub mod netns;
pub mod proxy;

/// Every await in these tests goes through this: 20 s, then the test fails.
pub async fn t<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("timed out after 20 s")
}

/// Polls `check` every 20 ms until it holds, for at most 20 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !t(check()).await {
        assert!(Instant::now() < deadline, "not reached in 20 s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub const SECRET: &[u8] = b"a-test-secret-of-enough-bytes";
pub const ADMIN: &str = "admin-token-0001";
pub const READER: &str = "reader-token-0001";
pub const CART_WRITER: &str = "cart-writer-0001";

pub fn tokens() -> ClientTokens {
    let mut t = ClientTokens::default();
    t.add(ADMIN, Access::Write, None);
    t.add(READER, Access::Read, None);
    t.add(CART_WRITER, Access::Write, Some("cart-"));
    t
}

/// A node config on loopback with HTTP, peer port, secret and tokens.
pub fn config(id: u64, dir: &Path) -> NodeConfig {
    let mut c = NodeConfig::new(id, dir.join(format!("leader-{id}")));
    c.peer_listen = Some("127.0.0.1:0".parse().unwrap());
    c.http_listen = Some("127.0.0.1:0".parse().unwrap());
    c.peer_secret = Some(SECRET.to_vec());
    c.client_tokens = Some(tokens());
    c.tick_ms = 10;
    c
}

/// `n` leaders, all peers of each other, started highest id first so each lower id
/// knows the addresses it dials. Index 0 is id 1.
pub async fn cluster(n: u64, dir: &Path) -> Vec<NodeHandle> {
    cluster_with_lazy(n, dir, &[]).await
}

/// [`cluster`], with each link `(a, b)` of `lazy` lazy at both ends (`--lazy-peer`).
pub async fn cluster_with_lazy(n: u64, dir: &Path, lazy: &[(u64, u64)]) -> Vec<NodeHandle> {
    let mut nodes: Vec<NodeHandle> = Vec::new();
    for id in (1..=n).rev() {
        let mut c = config(id, dir);
        for &(a, b) in lazy {
            if a == id {
                c.lazy_peers.push(b);
            } else if b == id {
                c.lazy_peers.push(a);
            }
        }
        for other in (1..=n).filter(|o| *o != id) {
            let addr = nodes
                .iter()
                .find(|h| h.id() == other)
                .map(|h| h.peer_addr().unwrap().to_string());
            c.peers.push(PeerConfig { id: other, addr });
        }
        nodes.push(t(Node::start(c)).await.unwrap());
    }
    nodes.reverse();
    nodes
}

/// Waits until every node reports every peer connected and equal digests.
pub async fn converged(nodes: &[NodeHandle]) {
    eventually("equal digests", || async {
        let mut d = Vec::new();
        for n in nodes {
            d.push(n.status().await.unwrap().digest);
        }
        d.windows(2).all(|w| w[0] == w[1])
    })
    .await;
}

/// splitmix64: a small seeded generator for tests.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
