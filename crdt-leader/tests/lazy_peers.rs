//! Lazy links between leaders over TCP (`--lazy-peer`): writes are pushed along the
//! eager links, and a leader reached only over lazy links still gets every write,
//! through repairs its digests ask for.

mod common;

use common::{cluster_with_lazy, converged, t};
use crdt_core::{Value, ValueOp};
use std::time::Duration;

/// Every node's value of `doc`/`key`, read with `token` (waiting for it).
async fn all_read(
    nodes: &[crdt_leader::NodeHandle],
    token: &crdt_leader::CausalToken,
) -> Vec<Option<Value>> {
    let mut out = Vec::new();
    for n in nodes {
        let r = t(n.read("d", "hits", Some(token), Duration::from_secs(15)))
            .await
            .unwrap();
        out.push(r.value);
    }
    out
}

#[tokio::test]
async fn a_triangle_with_one_lazy_link_converges() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster_with_lazy(3, dir.path(), &[(1, 3)]).await;
    let mut tokens = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let r = t(n.write("d", "hits", ValueOp::GCounterIncrement(1 + i as u64)))
            .await
            .unwrap();
        tokens.push(r.token);
    }
    // Leader 1's write reaches leader 3 through leader 2, and the other way round.
    for token in &tokens {
        let values = all_read(&nodes, token).await;
        assert!(values.iter().all(Option::is_some), "{values:?}");
    }
    converged(&nodes).await;
    let values = all_read(&nodes, &tokens[2]).await;
    assert_eq!(values, vec![Some(Value::GCounter(6)); 3]);
}

#[tokio::test]
async fn leaders_joined_only_by_a_lazy_link_still_converge() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster_with_lazy(2, dir.path(), &[(1, 2)]).await;
    let r = t(nodes[0].write("d", "hits", ValueOp::GCounterIncrement(5)))
        .await
        .unwrap();
    // Leader 2 has no eager link to leader 1: the write comes through a repair,
    // asked for by the digests over the lazy link, and honours the token.
    let values = all_read(&nodes, &r.token).await;
    assert_eq!(values, vec![Some(Value::GCounter(5)); 2]);
    converged(&nodes).await;
}
