//! `GET /v1/docs/{doc}/sync` on loopback: an in-process `Leader<Keyspace>` (what a
//! browser tab runs) syncing with leaders over WebSocket, and every refusal of
//! `docs/WEBSOCKET.md` with its close code.

mod common;

use common::{cluster, config, eventually, t, ADMIN, CART_WRITER, READER};
use crdt_core::{Keyspace, KeyspaceOp, ReplicaId, Value, ValueOp};
use crdt_leader::{Node, NodeHandle, WsClose};
use crdt_sync::{Config, Leader};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn dial(node: &NodeHandle, doc: &str) -> Ws {
    let url = format!("ws://{}/v1/docs/{doc}/sync", node.http_addr().unwrap());
    t(tokio_tungstenite::connect_async(url)).await.unwrap().0
}

/// Connects and sends the hello; the server's answer, or the close code it sent.
async fn open(node: &NodeHandle, doc: &str, token: &str, replica: u64) -> Result<(Ws, Json), u16> {
    open_with(node, doc, json!({"token": token, "replica": replica})).await
}

/// [`open`] with any hello.
async fn open_with(node: &NodeHandle, doc: &str, hello: Json) -> Result<(Ws, Json), u16> {
    let mut ws = dial(node, doc).await;
    let hello = hello.to_string();
    t(ws.send(Message::text(hello))).await.unwrap();
    match next(&mut ws).await {
        Message::Text(s) => Ok((ws, serde_json::from_str(s.as_str()).unwrap())),
        other => Err(close_code(other)),
    }
}

async fn next(ws: &mut Ws) -> Message {
    loop {
        match t(ws.next()).await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(m)) => return m,
            Some(Err(e)) => panic!("socket error: {e}"),
            None => panic!("closed without a close frame"),
        }
    }
}

fn close_code(m: Message) -> u16 {
    match m {
        Message::Close(Some(f)) => f.code.into(),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

/// Reads until the server closes; its close code.
async fn closed(ws: &mut Ws) -> u16 {
    loop {
        match next(ws).await {
            Message::Binary(_) => {}
            m => return close_code(m),
        }
    }
}

/// A tab: its leader, its socket, its server's id.
struct Tab {
    leader: Leader<Keyspace>,
    ws: Ws,
    /// How many times each message is sent (1; more to flood the server).
    copies: usize,
}

impl Tab {
    async fn connect(
        leader: Leader<Keyspace>,
        node: &NodeHandle,
        doc: &str,
        token: &str,
    ) -> Result<(Self, Json), u16> {
        let hello = json!({"token": token, "replica": leader.id().get()});
        Self::connect_with(leader, node, doc, hello).await
    }

    /// [`Tab::connect`] with any hello.
    async fn connect_with(
        mut leader: Leader<Keyspace>,
        node: &NodeHandle,
        doc: &str,
        hello: Json,
    ) -> Result<(Self, Json), u16> {
        let (ws, answer) = open_with(node, doc, hello).await?;
        let server = ReplicaId::new(answer["replica"].as_u64().unwrap());
        leader.add_peer(server).unwrap();
        Ok((
            Self {
                leader,
                ws,
                copies: 1,
            },
            answer,
        ))
    }

    /// Exchanges messages (and ticks every 20 ms) until `done` holds; `Err(code)` if
    /// the server closed.
    async fn sync_until(
        &mut self,
        what: &str,
        done: impl Fn(&Leader<Keyspace>) -> bool,
    ) -> Result<(), u16> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            while let Some(tx) = self.leader.poll_transmit() {
                for _ in 0..self.copies {
                    if self
                        .ws
                        .send(Message::binary(tx.payload.clone()))
                        .await
                        .is_err()
                    {
                        return Err(closed(&mut self.ws).await);
                    }
                }
            }
            if done(&self.leader) {
                return Ok(());
            }
            assert!(Instant::now() < deadline, "not reached in 20 s: {what}");
            match tokio::time::timeout(Duration::from_millis(20), self.ws.next()).await {
                Err(_) => self.leader.tick(),
                Ok(Some(Ok(Message::Binary(b)))) => {
                    let server = self.leader.peers().next().unwrap();
                    let _ = self.leader.receive(server, &b);
                }
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                Ok(Some(Ok(m))) => return Err(close_code(m)),
                Ok(other) => panic!("socket ended: {other:?}"),
            }
        }
    }

    fn write(&mut self, key: &str, value: &str) {
        self.leader
            .apply(KeyspaceOp::Write {
                key: key.into(),
                op: ValueOp::OrSetInsert(value.into()),
            })
            .unwrap();
    }
}

fn set(values: &[&str]) -> Option<Value> {
    Some(Value::OrSet(values.iter().map(|s| s.to_string()).collect()))
}

fn has(leader: &Leader<Keyspace>, key: &str, value: &str) -> bool {
    matches!(leader.state().get(key), Some(Value::OrSet(s)) if s.contains(&value.to_string()))
}

async fn node_has(node: &NodeHandle, doc: &str, key: &str, value: &str) -> bool {
    let r = node.read(doc, key, None, Duration::ZERO).await.unwrap();
    matches!(r.value, Some(Value::OrSet(s)) if s.contains(&value.to_string()))
}

async fn metric(node: &NodeHandle, name: &str, label: Option<&str>) -> f64 {
    let text = t(node.metrics_text()).await.unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .expect("valid text format");
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| label.map_or(true, |l| s.labels.get("reason") == Some(l)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{other:?}"),
        })
        .sum()
}

#[tokio::test]
async fn a_tab_syncs_both_ways_with_a_cluster_including_its_offline_writes() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path()).await;
    // Written while offline: arrives once connected.
    let mut offline = Leader::new(ReplicaId::new(1_000_001), Keyspace::new()).unwrap();
    offline
        .apply(KeyspaceOp::Write {
            key: "list".into(),
            op: ValueOp::OrSetInsert("offline".into()),
        })
        .unwrap();
    let (mut tab, answer) = Tab::connect(offline, &nodes[0], "shop", ADMIN)
        .await
        .unwrap();
    assert_eq!(answer["replica"], json!(1));
    assert_eq!(answer["access"], json!("write"));
    assert_eq!(answer["protocol"], json!(1));
    tab.write("list", "online");
    tab.sync_until("the server acknowledges", |l| {
        l.metrics().peer_lag.values().all(|l| *l == 0)
    })
    .await
    .unwrap();
    // Through leader 1 to leader 2, with a causal token covering the tab's writes.
    eventually("the tab's writes at leader 2", || async {
        node_has(&nodes[1], "shop", "list", "offline").await
            && node_has(&nodes[1], "shop", "list", "online").await
    })
    .await;
    // A write at leader 2 reaches the tab.
    nodes[1]
        .write("shop", "list", ValueOp::OrSetInsert("cluster".into()))
        .await
        .unwrap();
    tab.sync_until("leader 2's write at the tab", |l| has(l, "list", "cluster"))
        .await
        .unwrap();
    assert_eq!(
        tab.leader.state().get("list"),
        set(&["cluster", "offline", "online"])
    );
    assert_eq!(
        metric(&nodes[0], "crdt_leader_ws_connections", None).await,
        1.0
    );
    assert!(metric(&nodes[0], "crdt_leader_ws_frames_received_total", None).await > 0.0);
    assert!(metric(&nodes[0], "crdt_leader_ws_frames_sent_total", None).await > 0.0);
    // Clients get no per-peer lag series, and status lists cluster peers only.
    let status = nodes[0].status().await.unwrap();
    assert_eq!(status.peers.iter().map(|p| p.id).collect::<Vec<_>>(), [2]);
    drop(tab);
    eventually("the connection is gone", || async {
        metric(&nodes[0], "crdt_leader_ws_connections", None).await == 0.0
    })
    .await;
    for n in &nodes {
        t(n.shutdown()).await;
    }
}

#[tokio::test]
async fn refused_hellos_have_their_close_codes_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(1, dir.path());
    c.ws.hello_timeout = Duration::from_millis(300);
    c.ws.connections_per_doc_max = 1;
    let node = t(Node::start(c)).await.unwrap();
    assert_eq!(open(&node, "d", "not-a-token", 5).await.err(), Some(4401));
    assert_eq!(open(&node, "d", "", 5).await.err(), Some(4401));
    assert_eq!(open(&node, "d", CART_WRITER, 5).await.err(), Some(4403));
    assert!(WsClose::Unauthorized.is_final() && WsClose::Forbidden.is_final());
    assert_eq!(
        metric(
            &node,
            "crdt_leader_ws_auth_failures_total",
            Some("unauthorized")
        )
        .await,
        2.0
    );
    assert_eq!(
        metric(
            &node,
            "crdt_leader_ws_auth_failures_total",
            Some("forbidden")
        )
        .await,
        1.0
    );
    // No hello, a binary hello, a malformed one.
    let mut ws = dial(&node, "d").await;
    assert_eq!(closed(&mut ws).await, 4408);
    let mut ws = dial(&node, "d").await;
    t(ws.send(Message::binary(vec![1, 2, 3]))).await.unwrap();
    assert_eq!(closed(&mut ws).await, 4400);
    let mut ws = dial(&node, "d").await;
    t(ws.send(Message::text("{\"replica\":5}"))).await.unwrap();
    assert_eq!(closed(&mut ws).await, 4400);
    // Nothing was created by refused clients.
    assert!(node.docs("", 10).await.unwrap().is_empty());
    // Reserved replica ids: 0, the node's own id, 2^53.
    for r in [0, 1, 1 << 53] {
        assert_eq!(open(&node, "d", ADMIN, r).await.err(), Some(4422), "{r}");
    }
    // One connection per replica id and document; at most one client here.
    let (_a, _) = open(&node, "d", ADMIN, 7).await.unwrap();
    assert_eq!(open(&node, "d", ADMIN, 7).await.err(), Some(4409));
    assert_eq!(open(&node, "d", ADMIN, 8).await.err(), Some(1013));
    assert!(open(&node, "other", ADMIN, 7).await.is_ok());
    t(node.shutdown()).await;
}

#[tokio::test]
async fn a_read_token_syncs_down_and_its_writes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(config(1, dir.path()))).await.unwrap();
    node.write("d", "k", ValueOp::OrSetInsert("server".into()))
        .await
        .unwrap();
    let (mut tab, answer) = Tab::connect(
        Leader::new(ReplicaId::new(77), Keyspace::new()).unwrap(),
        &node,
        "d",
        READER,
    )
    .await
    .unwrap();
    assert_eq!(answer["access"], json!("read"));
    tab.sync_until("the server's write", |l| has(l, "k", "server"))
        .await
        .unwrap();
    tab.write("k", "reader");
    let code = tab
        .sync_until("never", |_| false)
        .await
        .expect_err("the server closes");
    assert_eq!(code, 4431);
    assert!(!node_has(&node, "d", "k", "reader").await);
    assert_eq!(
        metric(
            &node,
            "crdt_leader_ws_rejected_frames_total",
            Some("read_only")
        )
        .await,
        1.0
    );
    t(node.shutdown()).await;
}

/// A tab whose state holds a new dot of `victim`, which it does not own.
fn forger(id: u64, base: &Keyspace, victim: ReplicaId) -> Leader<Keyspace> {
    let mut state = base.clone();
    let _ = state
        .apply(
            victim,
            KeyspaceOp::Write {
                key: "k".into(),
                op: ValueOp::OrSetInsert("forged".into()),
            },
        )
        .unwrap();
    Leader::new(ReplicaId::new(id), state).unwrap()
}

#[tokio::test]
async fn forged_writes_close_the_connection_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path()).await;
    let node = &nodes[0];
    node.write("d", "k", ValueOp::OrSetInsert("server".into()))
        .await
        .unwrap();
    // An honest tab writes, so another replica's writes exist.
    let (mut honest, _) = Tab::connect(
        Leader::new(ReplicaId::new(500), Keyspace::new()).unwrap(),
        node,
        "d",
        ADMIN,
    )
    .await
    .unwrap();
    honest.write("k", "honest");
    honest
        .sync_until("synced", |l| {
            has(l, "k", "server") && l.metrics().peer_lag.values().all(|l| *l == 0)
        })
        .await
        .unwrap();
    let base = honest.leader.state().clone();
    let server_writer = honest
        .leader
        .causal_token()
        .iter()
        .map(|(w, _)| w)
        .find(|w| *w != ReplicaId::new(500))
        .unwrap();
    drop(honest);
    let digest = node.status().await.unwrap().digest;
    // Under another client's id, under this document's leader's writer id, and under
    // the other cluster leader's id.
    for (i, victim) in [ReplicaId::new(500), server_writer, ReplicaId::new(2)]
        .into_iter()
        .enumerate()
    {
        let (mut tab, _) = Tab::connect(forger(600 + i as u64, &base, victim), node, "d", ADMIN)
            .await
            .unwrap();
        let code = tab
            .sync_until("never", |_| false)
            .await
            .expect_err("closed");
        assert_eq!(code, 4430, "victim {victim}");
        assert_eq!(
            node.status().await.unwrap().digest,
            digest,
            "victim {victim}"
        );
    }
    assert!(!node_has(node, "d", "k", "forged").await);
    assert_eq!(
        metric(node, "crdt_leader_ws_forged_writes_total", None).await,
        3.0
    );
    // The leader still writes (a forged dot under its own id did not make it
    // conclude that its id is shared), and the cluster converged without the forgery.
    node.write("d", "k", ValueOp::OrSetInsert("after".into()))
        .await
        .unwrap();
    assert!(node.status().await.unwrap().can_write);
    common::converged(&nodes).await;
    assert!(!node_has(&nodes[1], "d", "k", "forged").await);
    for n in &nodes {
        t(n.shutdown()).await;
    }
}

/// A browser still sending when the server closes (a page ticking its leader) must
/// receive the close frame and its code: a socket closed with unread data is reset,
/// and Chromium reported such a close as 1006 (a flaky browser test). Reads are paced
/// slowly here, so frames are still unread when the server decides to close.
#[tokio::test]
async fn a_client_still_sending_gets_the_close_code_and_a_clean_end_not_a_reset() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(1, dir.path());
    c.ws.frames_per_second_max = 20;
    let node = t(Node::start(c)).await.unwrap();
    node.write("d", "k", ValueOp::OrSetInsert("server".into()))
        .await
        .unwrap();
    let (mut tab, _) = Tab::connect(
        forger(700, &Keyspace::new(), ReplicaId::new(701)),
        &node,
        "d",
        ADMIN,
    )
    .await
    .unwrap();
    // Sync as a page does, but send every message 25 times: more than the pacing
    // lets the server read, so frames are still unread when it closes.
    tab.copies = 25;
    let code = tab
        .sync_until("never", |_| false)
        .await
        .expect_err("closed");
    assert_eq!(code, 4430);
    // After its close frame the server reads what is left and ends with a FIN (read
    // as the end of the stream), not a reset.
    let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = tab.ws.get_mut() else {
        panic!("plain TCP expected");
    };
    let mut rest = Vec::new();
    let end = t(tcp.read_to_end(&mut rest)).await;
    assert!(end.is_ok(), "the connection was reset: {end:?}");
    assert!(!node_has(&node, "d", "k", "forged").await);
    t(node.shutdown()).await;
}

#[tokio::test]
async fn oversized_garbage_and_text_frames_close_that_connection_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(1, dir.path());
    c.ws.frame_bytes_max = 4096;
    c.ws.frames_per_second_max = 20;
    let node = t(Node::start(c)).await.unwrap();
    let (mut honest, _) = Tab::connect(
        Leader::new(ReplicaId::new(900), Keyspace::new()).unwrap(),
        &node,
        "d",
        ADMIN,
    )
    .await
    .unwrap();
    // At the edge: a frame of exactly the limit is read (and refused as malformed).
    let (mut ws, _) = open(&node, "d", ADMIN, 901).await.unwrap();
    t(ws.send(Message::binary(vec![0u8; 4096]))).await.unwrap();
    assert_eq!(closed(&mut ws).await, 1007);
    let (mut ws, _) = open(&node, "d", ADMIN, 902).await.unwrap();
    t(ws.send(Message::binary(vec![0u8; 4097]))).await.unwrap();
    assert_eq!(closed(&mut ws).await, 1009);
    let (mut ws, _) = open(&node, "d", ADMIN, 903).await.unwrap();
    t(ws.send(Message::text("hello again"))).await.unwrap();
    assert_eq!(closed(&mut ws).await, 1007);
    assert_eq!(
        metric(
            &node,
            "crdt_leader_ws_rejected_frames_total",
            Some("too_large")
        )
        .await,
        1.0
    );
    assert_eq!(
        metric(
            &node,
            "crdt_leader_ws_rejected_frames_total",
            Some("malformed")
        )
        .await,
        2.0
    );
    // The node serves the others.
    honest.write("k", "still");
    honest
        .sync_until("acknowledged", |l| {
            l.metrics().peer_lag.values().all(|l| *l == 0)
        })
        .await
        .unwrap();
    assert!(node_has(&node, "d", "k", "still").await);
    // Over the rate, reading pauses: 60 frames (duplicates of one message) at 20/s.
    let mut l = Leader::new(ReplicaId::new(904), Keyspace::new()).unwrap();
    l.add_peer(ReplicaId::new(1)).unwrap();
    l.apply(KeyspaceOp::Write {
        key: "rate".into(),
        op: ValueOp::OrSetInsert("x".into()),
    })
    .unwrap();
    let msg = l.poll_transmit().expect("a delta").payload;
    let (mut ws, _) = open(&node, "d", ADMIN, 904).await.unwrap();
    for _ in 0..60 {
        t(ws.send(Message::binary(msg.clone()))).await.unwrap();
    }
    eventually("throttled", || async {
        metric(&node, "crdt_leader_ws_frames_throttled_total", None).await > 0.0
    })
    .await;
    // Paced, not closed: the write arrived and the connection stays open.
    assert!(node_has(&node, "d", "rate", "x").await);
    eventually("two connections open", || async {
        metric(&node, "crdt_leader_ws_connections", None).await == 2.0
    })
    .await;
    drop(ws);
    t(node.shutdown()).await;
}

#[tokio::test]
async fn a_tab_reconnects_with_its_replica_id_after_a_restore() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(config(1, dir.path()))).await.unwrap();
    let (mut tab, _) = Tab::connect(
        Leader::new(ReplicaId::new(4242), Keyspace::new()).unwrap(),
        &node,
        "d",
        ADMIN,
    )
    .await
    .unwrap();
    tab.write("k", "first-life");
    tab.sync_until("acknowledged", |l| {
        l.metrics().peer_lag.values().all(|l| *l == 0)
    })
    .await
    .unwrap();
    let saved = tab.leader.checkpoint();
    drop(tab);
    // Reloaded from storage: a new incarnation, same replica id.
    let restore =
        || Leader::restore_with_nonce(saved.bytes(), Config::default(), 0x5eed_0001).unwrap();
    assert_eq!(restore().id(), ReplicaId::new(4242));
    let mut tab = loop {
        match Tab::connect(restore(), &node, "d", ADMIN).await {
            Ok((tab, _)) => break tab,
            // The server has not yet noticed the old connection closed.
            Err(4409) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(code) => panic!("refused with {code}"),
        }
    };
    tab.sync_until("the probe is answered", |l| {
        l.can_write()
            .is_err_and(|e| matches!(e, crdt_sync::SyncError::CheckpointRequired))
            || l.can_write().is_ok()
    })
    .await
    .unwrap();
    let checkpoint = tab.leader.checkpoint();
    tab.leader.persisted(checkpoint).unwrap();
    assert_ne!(
        tab.leader.writer_id(),
        ReplicaId::new(4242),
        "a fresh writer id"
    );
    tab.write("k", "second-life");
    tab.sync_until("acknowledged", |l| {
        l.metrics().peer_lag.values().all(|l| *l == 0)
    })
    .await
    .unwrap();
    eventually("both lives' writes at the node", || async {
        node_has(&node, "d", "k", "first-life").await
            && node_has(&node, "d", "k", "second-life").await
    })
    .await;
    assert_eq!(
        metric(&node, "crdt_leader_ws_forged_writes_total", None).await,
        0.0
    );
    t(node.shutdown()).await;
}

/// A tab restored from its checkpoint with no peers (offline), made writable.
fn restored_offline(saved: &crdt_sync::Checkpoint, nonce: u64) -> Leader<Keyspace> {
    let mut leader = Leader::restore_with_nonce(saved.bytes(), Config::default(), nonce).unwrap();
    // No peer to probe: the new incarnation is taken at once and must be stored.
    let checkpoint = leader.checkpoint();
    leader.persisted(checkpoint).unwrap();
    leader
}

#[tokio::test]
async fn writes_of_earlier_offline_lives_are_accepted_when_the_hello_lists_their_incarnations() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(config(1, dir.path()))).await.unwrap();
    // A tab that never reached its server: reloaded twice while offline, writing in
    // each life, so two of its writer ids are ones the server cannot know.
    let mut first = Leader::new(ReplicaId::new(4343), Keyspace::new()).unwrap();
    let write = |l: &mut Leader<Keyspace>, v: &str| {
        l.apply(KeyspaceOp::Write {
            key: "k".into(),
            op: ValueOp::OrSetInsert(v.into()),
        })
        .unwrap();
    };
    write(&mut first, "life-0");
    let mut second = restored_offline(&first.checkpoint(), 0x5eed_0011);
    write(&mut second, "life-1");
    let mut third = restored_offline(&second.checkpoint(), 0x5eed_0012);
    write(&mut third, "life-2");
    let lives = [
        first.incarnation(),
        second.incarnation(),
        third.incarnation(),
    ];
    assert!(lives[0] != lives[1] && lives[1] != lives[2]);
    let saved = third.checkpoint();

    // Without the list, the dots of lives 0 and 1 are another writer's: a forged write.
    let bare = json!({"token": ADMIN, "replica": 4343});
    let (mut tab, _) = Tab::connect_with(restored_offline(&saved, 1), &node, "d", bare)
        .await
        .unwrap();
    tab.write("k", "life-3");
    let refused = tab
        .sync_until("refused", |l| {
            l.metrics().peer_lag.values().all(|l| *l == 0)
        })
        .await;
    assert_eq!(refused, Err(4430));
    assert!(
        !node_has(&node, "d", "k", "life-0").await,
        "nothing applied"
    );
    drop(tab);

    // The hello names the earlier lives' incarnations (the current one is in every
    // envelope; listing it too is harmless): everything is delivered.
    let listed: Vec<String> = lives.iter().map(|i| i.to_u64().to_string()).collect();
    let hello = json!({"token": ADMIN, "replica": 4343, "incarnations": listed});
    let mut tab = loop {
        match Tab::connect_with(restored_offline(&saved, 2), &node, "d", hello.clone()).await {
            Ok((tab, _)) => break tab,
            Err(4409) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(code) => panic!("refused with {code}"),
        }
    };
    tab.sync_until("acknowledged", |l| {
        l.metrics().peer_lag.values().all(|l| *l == 0)
    })
    .await
    .unwrap();
    for life in ["life-0", "life-1", "life-2"] {
        assert!(node_has(&node, "d", "k", life).await, "{life} delivered");
    }
    // A list naming more incarnations than a connection may hold is a bad hello.
    let many: Vec<String> = (1..=16u64).map(|i| (i << 32).to_string()).collect();
    let hello = json!({"token": ADMIN, "replica": 4344, "incarnations": many});
    assert_eq!(open_with(&node, "d", hello).await.err(), Some(4400));
    t(node.shutdown()).await;
}
