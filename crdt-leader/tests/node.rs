//! The embeddable node on its own: durability across restarts, refusals of unusable
//! data directories, group commit, change streams, limits.

mod common;

use common::{eventually, t};
use crdt_core::{Value, ValueOp};
use crdt_leader::{Error, Node, NodeConfig, NodeHandle, STORE_FILE};
use redb::ReadableTable;
use std::time::Duration;

fn solo(dir: &std::path::Path) -> NodeConfig {
    let mut c = NodeConfig::new(1, dir);
    c.tick_ms = 10;
    c
}

async fn writable(node: &NodeHandle) {
    eventually("the node takes writes", || async {
        node.status().await.unwrap().can_write
    })
    .await;
}

async fn write_all_types(node: &NodeHandle, doc: &str) {
    for op in [
        ("g", ValueOp::GCounterIncrement(5)),
        ("p", ValueOp::PnCounterDecrement(3)),
        ("s", ValueOp::OrSetInsert("a".into())),
        ("s", ValueOp::OrSetInsert("b".into())),
        ("s", ValueOp::OrSetRemove("a".into())),
        (
            "l",
            ValueOp::LwwSet {
                value: "v".into(),
                now_ms: 1,
            },
        ),
        ("m", ValueOp::MvRegisterSet("x".into())),
    ] {
        t(node.write(doc, op.0, op.1)).await.unwrap();
    }
    t(node.write(doc, "gone", ValueOp::GCounterIncrement(1)))
        .await
        .unwrap();
    t(node.delete(doc, "gone")).await.unwrap();
}

async fn check_all_types(node: &NodeHandle, doc: &str) {
    let get = |k: &'static str| async move {
        t(node.read(doc, k, None, Duration::ZERO))
            .await
            .unwrap()
            .value
    };
    assert_eq!(get("g").await, Some(Value::GCounter(5)));
    assert_eq!(get("p").await, Some(Value::PnCounter(-3)));
    assert_eq!(get("s").await, Some(Value::OrSet(vec!["b".into()])));
    assert_eq!(get("l").await, Some(Value::LwwRegister("v".into())));
    assert_eq!(get("m").await, Some(Value::MvRegister(vec!["x".into()])));
    assert_eq!(get("gone").await, None);
}

#[tokio::test]
async fn acknowledged_writes_survive_restart_and_writes_resume() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    write_all_types(&node, "doc-a").await;
    write_all_types(&node, "doc-b").await;
    let before = t(node.status()).await.unwrap().digest;
    t(node.shutdown()).await;

    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    check_all_types(&node, "doc-a").await;
    check_all_types(&node, "doc-b").await;
    assert_eq!(t(node.status()).await.unwrap().digest, before);
    assert_eq!(t(node.docs("", 10)).await.unwrap(), vec!["doc-a", "doc-b"]);
    // The restored documents are new incarnations: writes resume once persisted.
    writable(&node).await;
    let r = t(node.write("doc-a", "g", ValueOp::GCounterIncrement(1)))
        .await
        .unwrap();
    assert_eq!(r.value, Some(Value::GCounter(6)));
    t(node.shutdown()).await;

    // A second restart replays the log written after the first.
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    let r = t(node.read("doc-a", "g", Some(&r.token), Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(r.value, Some(Value::GCounter(6)));
    t(node.shutdown()).await;
}

#[tokio::test]
async fn compaction_folds_the_log_and_keeps_every_write() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    // Enough writes to pass the compaction threshold (4,096 entries) twice.
    let mut pending = Vec::new();
    for i in 0..9000u64 {
        let n = node.clone();
        pending.push(tokio::spawn(async move {
            n.write(
                "big",
                &format!("k{}", i % 100),
                ValueOp::GCounterIncrement(1),
            )
            .await
        }));
        if pending.len() == 256 {
            for p in pending.drain(..) {
                t(p).await.unwrap().unwrap();
            }
        }
    }
    for p in pending.drain(..) {
        t(p).await.unwrap().unwrap();
    }
    t(node.shutdown()).await;
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    for k in 0..100 {
        let v = t(node.read("big", &format!("k{k}"), None, Duration::ZERO))
            .await
            .unwrap()
            .value;
        assert_eq!(v, Some(Value::GCounter(90)), "key k{k}");
    }
    t(node.shutdown()).await;
}

#[tokio::test]
async fn concurrent_writes_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    let writes = 200;
    let mut tasks = Vec::new();
    for i in 0..writes {
        let n = node.clone();
        tasks.push(tokio::spawn(async move {
            n.write("gc", &format!("k{i}"), ValueOp::GCounterIncrement(1))
                .await
        }));
    }
    for task in tasks {
        t(task).await.unwrap().unwrap();
    }
    let text = t(node.metrics_text()).await.unwrap();
    let commits: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("crdt_leader_fsync_seconds_count "))
        .expect("fsync histogram present")
        .trim()
        .parse()
        .unwrap();
    // One commit for the document's creation at most, and the rest grouped.
    assert!(
        commits < writes,
        "{commits} durable commits for {writes} concurrent writes: no group commit"
    );
    t(node.shutdown()).await;
}

#[tokio::test]
async fn a_newer_format_or_another_nodes_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    t(node.write("d", "k", ValueOp::GCounterIncrement(1)))
        .await
        .unwrap();
    t(node.shutdown()).await;

    let mut other = solo(dir.path());
    other.id = 2;
    let e = t(Node::start(other)).await.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::DataDir { .. }), "{e}");
    assert!(msg.contains(STORE_FILE) && msg.contains("node id"), "{msg}");

    {
        let db = redb::Database::create(dir.path().join(STORE_FILE)).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut meta = w
                .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
                .unwrap();
            meta.insert("format", 99).unwrap();
        }
        w.commit().unwrap();
    }
    let e = t(Node::start(solo(dir.path()))).await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains(STORE_FILE) && msg.contains("newer"), "{msg}");
}

#[tokio::test]
async fn a_damaged_log_entry_is_refused_never_reset() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    t(node.write("d", "k", ValueOp::GCounterIncrement(1)))
        .await
        .unwrap();
    t(node.shutdown()).await;
    {
        let db = redb::Database::create(dir.path().join(STORE_FILE)).unwrap();
        let w = db.begin_write().unwrap();
        {
            let mut log = w
                .open_table(redb::TableDefinition::<(&str, u64), &[u8]>::new("log"))
                .unwrap();
            let mut v = log.get(("d", 0)).unwrap().unwrap().value().to_vec();
            v[6] ^= 0xff;
            log.insert(("d", 0), v.as_slice()).unwrap();
        }
        w.commit().unwrap();
    }
    let e = t(Node::start(solo(dir.path()))).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(STORE_FILE) && msg.contains("checksum") && msg.contains("backup"),
        "{msg}"
    );
    // Still refused on the next attempt: nothing was reset.
    assert!(t(Node::start(solo(dir.path()))).await.is_err());
}

#[tokio::test]
async fn write_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    t(node.write("d", "k", ValueOp::GCounterIncrement(1)))
        .await
        .unwrap();
    let e = t(node.write("d", "k", ValueOp::OrSetInsert("x".into())))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TypeMismatch { .. }), "{e}");
    let e = t(node.write("a/b", "k", ValueOp::GCounterIncrement(1)))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
    let big = "x".repeat(crdt_leader::VALUE_BYTES_MAX + 1);
    let e = t(node.write("d", "s", ValueOp::OrSetInsert(big)))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    let e = t(node.write("d", &"k".repeat(5000), ValueOp::GCounterIncrement(1)))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    t(node.shutdown()).await;
}

#[tokio::test]
async fn watch_streams_local_changes_under_its_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    let mut w = t(node.watch("d", "user:")).await.unwrap();
    t(node.write("d", "other", ValueOp::GCounterIncrement(1)))
        .await
        .unwrap();
    t(node.write("d", "user:1", ValueOp::OrSetInsert("a".into())))
        .await
        .unwrap();
    t(node.delete("d", "user:1")).await.unwrap();
    let c = t(w.next()).await.unwrap();
    assert_eq!(c.key, "user:1");
    assert_eq!(c.value, Some(Value::OrSet(vec!["a".into()])));
    let c = t(w.next()).await.unwrap();
    assert_eq!((c.key.as_str(), c.value), ("user:1", None));
    t(node.shutdown()).await;
    assert!(t(w.next()).await.is_none(), "the stream ends at shutdown");
}

#[tokio::test]
async fn keys_and_docs_list_in_order_with_limits() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    for (d, k) in [
        ("b", "x2"),
        ("a", "x1"),
        ("b", "x1"),
        ("b", "y"),
        ("c", "z"),
    ] {
        t(node.write(d, k, ValueOp::GCounterIncrement(1)))
            .await
            .unwrap();
    }
    assert_eq!(t(node.keys("b", "x", 10)).await.unwrap(), vec!["x1", "x2"]);
    assert_eq!(t(node.keys("b", "", 2)).await.unwrap(), vec!["x1", "x2"]);
    assert_eq!(
        t(node.keys("nope", "", 2)).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(t(node.docs("", 2)).await.unwrap(), vec!["a", "b"]);
    assert_eq!(t(node.docs("c", 10)).await.unwrap(), vec!["c"]);
    t(node.shutdown()).await;
}

#[tokio::test]
async fn a_read_with_an_uncovered_token_says_not_yet() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let a = t(Node::start(solo(dir.path()))).await.unwrap();
    let mut c = solo(other.path());
    c.id = 2;
    let b = t(Node::start(c)).await.unwrap();
    // b's token names a write a (unconnected) never gets.
    let r = t(b.write("d", "k", ValueOp::GCounterIncrement(1)))
        .await
        .unwrap();
    let e = t(a.read("d", "k", Some(&r.token), Duration::from_millis(100)))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotYet), "{e}");
    assert!(e.to_string().starts_with("not yet"));
    let e = t(a.read("d", "k", Some(&r.token), Duration::ZERO))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotYet), "{e}");
    // A token of another document is refused.
    let e = t(b.read("e", "k", Some(&r.token), Duration::ZERO))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
    t(a.shutdown()).await;
    t(b.shutdown()).await;
}

/// Regression (the `demo --smoke` failure that parked this crate): a read without a
/// wait timed out at once when the driver had not answered by its first poll, so a
/// busy leader answered "not yet" to a read that needs no token at all.
#[tokio::test]
async fn a_read_without_a_wait_is_answered_however_busy_the_driver_is() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    let w = t(node.write("d", "k", ValueOp::GCounterIncrement(1)))
        .await
        .unwrap();
    // 500 reads at once queue behind each other at the driver: on the old code
    // nearly all of them (every one not answered before its first poll) failed.
    let reads = (0..500).map(|i| {
        let node = node.clone();
        let token = w.token.clone();
        tokio::spawn(async move {
            let token = (i % 2 == 0).then_some(&token);
            node.read("d", "k", token, Duration::ZERO).await
        })
    });
    let reads: Vec<_> = reads.collect();
    for r in reads {
        let r = t(r).await.unwrap().unwrap();
        assert_eq!(r.value, Some(Value::GCounter(1)));
    }
    t(node.shutdown()).await;
}

#[tokio::test]
async fn idle_documents_are_not_ticked() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    for i in 0..50 {
        t(node.write(&format!("d{i}"), "k", ValueOp::GCounterIncrement(1)))
            .await
            .unwrap();
    }
    let active = |text: String| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("crdt_leader_docs_active "))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    eventually("every document settles and stops being ticked", || async {
        active(node.metrics_text().await.unwrap()) == 0
    })
    .await;
    // A write makes only its document active again.
    t(node.write("d7", "k", ValueOp::GCounterIncrement(1)))
        .await
        .unwrap();
    let now = active(t(node.metrics_text()).await.unwrap());
    assert_eq!(now, 1);
    t(node.shutdown()).await;
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text() {
    let dir = tempfile::tempdir().unwrap();
    let node = t(Node::start(solo(dir.path()))).await.unwrap();
    t(node.write("d", "k", ValueOp::GCounterIncrement(1)))
        .await
        .unwrap();
    t(node.delete("d", "k")).await.unwrap();
    let text = t(node.metrics_text()).await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid text format");
    let names: Vec<&str> = scrape.samples.iter().map(|s| s.metric.as_str()).collect();
    for want in [
        "crdt_leader_write_latency_seconds_count",
        "crdt_leader_fsync_seconds_count",
        "crdt_leader_docs",
        "crdt_leader_keys",
        "crdt_leader_auth_failures_total",
        "crdt_leader_rejected_messages_total",
        "crdt_leader_repairs_sent_total",
        "crdt_leader_checkpoints_total",
        "crdt_leader_checkpoint_bytes_total",
    ] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
    // The new document's first checkpoint, committed with its first write.
    let counter = |name: &str| match scrape.samples.iter().find(|s| s.metric == name) {
        Some(s) => match s.value {
            prometheus_parse::Value::Untyped(v) | prometheus_parse::Value::Counter(v) => v,
            ref other => panic!("{name}: {other:?}"),
        },
        None => panic!("{name} missing"),
    };
    assert_eq!(counter("crdt_leader_checkpoints_total"), 1.0);
    assert!(counter("crdt_leader_checkpoint_bytes_total") > 0.0);
    let writes = scrape
        .samples
        .iter()
        .find(|s| s.metric == "crdt_leader_write_latency_seconds_count")
        .unwrap();
    match writes.value {
        prometheus_parse::Value::Untyped(v) | prometheus_parse::Value::Counter(v) => {
            assert_eq!(v, 2.0)
        }
        ref other => panic!("{other:?}"),
    }
    t(node.shutdown()).await;
}

#[tokio::test]
async fn fsync_interval_mode_keeps_writes_across_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = solo(dir.path());
    c.fsync = "interval:20".parse().unwrap();
    let node = t(Node::start(c.clone())).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let n = node.clone();
        tasks.push(tokio::spawn(async move {
            n.write("d", &format!("k{}", i % 4), ValueOp::GCounterIncrement(1))
                .await
        }));
    }
    for task in tasks {
        t(task).await.unwrap().unwrap();
    }
    t(node.shutdown()).await;
    let node = t(Node::start(c)).await.unwrap();
    for k in 0..4 {
        let v = t(node.read("d", &format!("k{k}"), None, Duration::ZERO))
            .await
            .unwrap()
            .value;
        assert_eq!(v, Some(Value::GCounter(16)));
    }
    t(node.shutdown()).await;
}
