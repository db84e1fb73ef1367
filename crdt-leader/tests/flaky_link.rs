//! Two leaders behind a proxy that keeps cutting their connection: the dialer
//! reconnects (backoff with jitter), lost frames are resent, and after the link
//! heals both hold every acknowledged write.

mod common;

use common::{config, converged, t};
use crdt_core::{Value, ValueOp};
use crdt_leader::{Node, PeerConfig};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy whose live connections `cut` aborts.
struct Proxy {
    addr: String,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let c = conns.clone();
        tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let h = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                c.lock().unwrap().push(h);
            }
        });
        Self { addr, conns }
    }

    fn cut(&self) {
        for h in self.conns.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}

#[tokio::test]
async fn leaders_converge_through_a_link_that_keeps_breaking() {
    let dir = tempfile::tempdir().unwrap();
    let mut c2 = config(2, dir.path());
    c2.peers = vec![PeerConfig { id: 1, addr: None }];
    let n2 = t(Node::start(c2)).await.unwrap();
    let proxy = Proxy::start(n2.peer_addr().unwrap().to_string()).await;
    let mut c1 = config(1, dir.path());
    c1.peers = vec![PeerConfig {
        id: 2,
        addr: Some(proxy.addr.clone()),
    }];
    let n1 = t(Node::start(c1)).await.unwrap();

    let mut acked = 0u64;
    for round in 0..40u64 {
        for n in [&n1, &n2] {
            t(n.write("d", "c", ValueOp::GCounterIncrement(1)))
                .await
                .unwrap();
            t(n.write(
                "d",
                "s",
                ValueOp::OrSetInsert(format!("{}-{round}", n.id())),
            ))
            .await
            .unwrap();
            acked += 1;
        }
        if round % 5 == 0 {
            proxy.cut();
        }
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    // The link heals (no more cuts): everything acknowledged arrives on both sides.
    converged(&[n1.clone(), n2.clone()]).await;
    for n in [&n1, &n2] {
        let c = t(n.read("d", "c", None, Duration::ZERO))
            .await
            .unwrap()
            .value;
        assert_eq!(c, Some(Value::GCounter(acked)), "leader {}", n.id());
        match t(n.read("d", "s", None, Duration::ZERO))
            .await
            .unwrap()
            .value
        {
            Some(Value::OrSet(v)) => assert_eq!(v.len() as u64, acked),
            other => panic!("{other:?}"),
        }
    }
    let text = t(n1.metrics_text()).await.unwrap();
    let connects: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("crdt_leader_peer_connects_total{peer=\"2\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        connects >= 2.0,
        "the dialer reconnected after cuts: {connects}"
    );
    t(n1.shutdown()).await;
    t(n2.shutdown()).await;
}
