//! The HTTP API on loopback: every endpoint and status code of issue 12's contract,
//! and the authentication cases (missing, wrong, read-only, wrong prefix).

mod common;

use common::{cluster, config, converged, t, ADMIN, CART_WRITER, READER};
use crdt_leader::{Node, NodeHandle};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

fn client() -> Client {
    Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

fn url(n: &NodeHandle, path: &str) -> String {
    format!("http://{}{path}", n.http_addr().unwrap())
}

async fn call(
    n: &NodeHandle,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut rb = client().request(method, url(n, path));
    if let Some(tok) = token {
        rb = rb.bearer_auth(tok);
    }
    if let Some(b) = body {
        rb = rb.body(b);
    }
    let resp = t(rb.send()).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = t(resp.text()).await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, v)
}

async fn post(n: &NodeHandle, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let (s, _, v) = call(n, Method::POST, path, Some(token), Some(body.to_string())).await;
    (s, v)
}

fn error_of(v: &Value) -> &str {
    v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {v}"))
}

#[tokio::test]
async fn writes_reads_and_deletes_of_every_type() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(1, dir.path()).await;
    let n = &nodes[0];
    let cases = [
        (
            "g",
            json!({"type":"gcounter","op":"increment","by":5}),
            json!(5),
            "gcounter",
        ),
        (
            "p",
            json!({"type":"pncounter","op":"decrement","by":3}),
            json!(-3),
            "pncounter",
        ),
        (
            "s",
            json!({"type":"orset","op":"insert","value":"b"}),
            json!(["b"]),
            "orset",
        ),
        (
            "l",
            json!({"type":"lww","op":"set","value":"v"}),
            json!("v"),
            "lww",
        ),
        (
            "m",
            json!({"type":"mvreg","op":"set","value":"x"}),
            json!(["x"]),
            "mvreg",
        ),
    ];
    for (key, body, value, ty) in &cases {
        let (s, v) = post(n, &format!("/v1/docs/d1/keys/{key}"), ADMIN, body.clone()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(&v["value"], value);
        assert!(v["token"].as_str().is_some_and(|t| !t.is_empty()));
        let (s, _, v) = call(
            n,
            Method::GET,
            &format!("/v1/docs/d1/keys/{key}"),
            Some(READER),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["key"], json!(key));
        assert_eq!(v["type"], json!(ty));
        assert_eq!(&v["value"], value);
        assert!(v["token"].is_string());
    }
    let (_, v) = post(
        n,
        "/v1/docs/d1/keys/s",
        ADMIN,
        json!({"type":"orset","op":"insert","value":"a"}),
    )
    .await;
    assert_eq!(v["value"], json!(["a", "b"]), "sorted");
    let (_, v) = post(
        n,
        "/v1/docs/d1/keys/p",
        ADMIN,
        json!({"type":"pncounter","op":"increment","by":10}),
    )
    .await;
    assert_eq!(v["value"], json!(7));
    let (s, _, v) = call(n, Method::DELETE, "/v1/docs/d1/keys/g", Some(ADMIN), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["token"].is_string() && v.get("value").is_none(), "{v}");
    let (s, _, v) = call(n, Method::GET, "/v1/docs/d1/keys/g", Some(ADMIN), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(error_of(&v).contains("no key"));
    let (s, _, _) = call(n, Method::GET, "/v1/docs/nodoc/keys/x", Some(ADMIN), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, _, v) = call(
        n,
        Method::GET,
        "/v1/docs/d1/keys?prefix=&limit=3",
        Some(READER),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, json!({"keys": ["l", "m", "p"]}));
    let (_, _, v) = call(
        n,
        Method::GET,
        "/v1/docs/d1/keys?prefix=s",
        Some(READER),
        None,
    )
    .await;
    assert_eq!(v, json!({"keys": ["s"]}));
    t(n.shutdown()).await;
}

#[tokio::test]
async fn authentication_and_rights() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(1, dir.path()).await;
    let n = &nodes[0];
    let w = json!({"type":"gcounter","op":"increment","by":1}).to_string();
    let p = "/v1/docs/user-1/keys/k";
    let (s, _, v) = call(n, Method::POST, p, None, Some(w.clone())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(error_of(&v).contains("Bearer"));
    let (s, _, _) = call(n, Method::POST, p, Some("wrong-token-xyz"), Some(w.clone())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, v) = call(n, Method::POST, p, Some(READER), Some(w.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "read-only token writing: {v}");
    let (s, _, _) = call(n, Method::DELETE, p, Some(READER), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = call(n, Method::POST, p, Some(CART_WRITER), Some(w.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "wrong prefix");
    let (s, _, _) = call(n, Method::GET, p, Some(CART_WRITER), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "wrong prefix, read");
    let (s, _, _) = call(
        n,
        Method::POST,
        "/v1/docs/cart-9/keys/k",
        Some(CART_WRITER),
        Some(w.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call(n, Method::POST, p, Some(ADMIN), Some(w.clone())).await;
    assert_eq!(s, StatusCode::OK);
    for path in [
        "/v1/status",
        "/v1/docs",
        "/v1/docs/cart-9/keys",
        "/v1/docs/cart-9/keys/k",
    ] {
        let (s, _, _) = call(n, Method::GET, path, None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
    }
    // Listings show only what the token may read.
    let (_, _, v) = call(n, Method::GET, "/v1/docs", Some(READER), None).await;
    assert_eq!(v, json!({"docs": ["cart-9", "user-1"]}));
    let (_, _, v) = call(
        n,
        Method::GET,
        "/v1/docs?prefix=&limit=10",
        Some(CART_WRITER),
        None,
    )
    .await;
    assert_eq!(v, json!({"docs": ["cart-9"]}));
    let (_, _, v) = call(n, Method::GET, "/v1/docs?limit=1", Some(ADMIN), None).await;
    assert_eq!(v, json!({"docs": ["cart-9"]}));
    // No token needed for health and metrics.
    let (s, _, _) = call(n, Method::GET, "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, v) = call(n, Method::GET, "/metrics", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let text = v.as_str().unwrap();
    for name in [
        "crdt_leader_write_latency_seconds_bucket",
        "crdt_leader_fsync_seconds_count",
        "crdt_leader_keys ",
        "crdt_leader_docs ",
        "crdt_leader_auth_failures_total",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    t(n.shutdown()).await;
}

#[tokio::test]
async fn malformed_conflicting_and_oversized_requests() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(1, dir.path()).await;
    let n = &nodes[0];
    let p = "/v1/docs/d/keys/k";
    let (s, _, v) = call(n, Method::POST, p, Some(ADMIN), Some("{not json".into())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(error_of(&v).contains("malformed JSON"));
    let (s, v) = post(
        n,
        p,
        ADMIN,
        json!({"type":"gcounter","op":"decrement","by":1}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(error_of(&v).contains("unknown type/op"));
    let (s, _) = post(
        n,
        p,
        ADMIN,
        json!({"type":"gcounter","op":"increment","by":-1}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = post(n, p, ADMIN, json!({"type":"orset","op":"insert","value":7})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = post(
        n,
        p,
        ADMIN,
        json!({"type":"gcounter","op":"increment","by":1}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = post(
        n,
        p,
        ADMIN,
        json!({"type":"orset","op":"insert","value":"x"}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(error_of(&v).contains("delete it first"), "{v}");
    let big = "x".repeat(crdt_leader::BODY_BYTES_MAX + 1);
    let (s, v) = post(n, p, ADMIN, json!({"type":"lww","op":"set","value":big})).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    let value = "x".repeat(crdt_leader::VALUE_BYTES_MAX + 1);
    let (s, _) = post(
        n,
        "/v1/docs/d/keys/v",
        ADMIN,
        json!({"type":"lww","op":"set","value":value}),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let long_doc = "d".repeat(crdt_leader::DOC_NAME_BYTES_MAX + 1);
    let (s, _) = post(
        n,
        &format!("/v1/docs/{long_doc}/keys/k"),
        ADMIN,
        json!({"type":"gcounter","op":"increment","by":1}),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let long_key = "k".repeat(crdt_core::KEY_BYTES_MAX + 1);
    let (s, _) = post(
        n,
        &format!("/v1/docs/d/keys/{long_key}"),
        ADMIN,
        json!({"type":"gcounter","op":"increment","by":1}),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let (s, v) = post(
        n,
        "/v1/docs/bad%20name/keys/k",
        ADMIN,
        json!({"type":"gcounter","op":"increment","by":1}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, _, _) = call(
        n,
        Method::GET,
        "/v1/docs/d/keys/k?token=nothex",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _, _) = call(
        n,
        Method::GET,
        "/v1/docs/d/keys/k?wait_ms=soon",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    t(n.shutdown()).await;
}

#[tokio::test]
async fn read_your_writes_across_leaders_and_503_not_yet() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path()).await;
    let (s, v) = post(
        &nodes[0],
        "/v1/docs/d/keys/k",
        ADMIN,
        json!({"type":"orset","op":"insert","value":"mine"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let token = v["token"].as_str().unwrap().to_string();
    let (s, _, v) = call(
        &nodes[1],
        Method::GET,
        &format!("/v1/docs/d/keys/k?token={token}&wait_ms=10000"),
        Some(READER),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["value"], json!(["mine"]));

    // A token naming a write no leader of this cluster has: 503, Retry-After.
    let other = tempfile::tempdir().unwrap();
    let mut c = config(9, other.path());
    c.peer_listen = None;
    let stranger = t(Node::start(c)).await.unwrap();
    let (_, v) = post(
        &stranger,
        "/v1/docs/d/keys/k",
        ADMIN,
        json!({"type":"orset","op":"insert","value":"elsewhere"}),
    )
    .await;
    let foreign = v["token"].as_str().unwrap().to_string();
    let (s, h, v) = call(
        &nodes[1],
        Method::GET,
        &format!("/v1/docs/d/keys/k?token={foreign}&wait_ms=50"),
        Some(READER),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(h.get("retry-after").is_some());
    assert!(error_of(&v).starts_with("not yet: "), "{v}");
    // A token of another document is a bad request.
    let (s, _, _) = call(
        &nodes[1],
        Method::GET,
        &format!("/v1/docs/e/keys/k?token={token}"),
        Some(READER),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    converged(&nodes).await;
    let (s, _, a) = call(&nodes[0], Method::GET, "/v1/status", Some(READER), None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, b) = call(&nodes[1], Method::GET, "/v1/status", Some(READER), None).await;
    assert_eq!(a["id"], json!(1));
    assert_eq!(a["can_write"], json!(true));
    assert_eq!(a["docs"], json!(1));
    assert_eq!(a["peers"][0]["id"], json!(2));
    assert_eq!(a["peers"][0]["connected"], json!(true));
    assert!(a["peers"][0]["lag_ops"].is_u64());
    assert_eq!(a["digest"].as_str().unwrap().len(), 16);
    assert_eq!(
        a["digest"], b["digest"],
        "converged leaders report one digest"
    );
    for n in nodes.iter().chain([&stranger]) {
        t(n.shutdown()).await;
    }
}

#[tokio::test]
async fn watch_streams_server_sent_change_events() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path()).await;
    let mut resp = t(client()
        .get(url(&nodes[1], "/v1/docs/w/watch?prefix=a"))
        .bearer_auth(READER)
        .send())
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    // One write here (skipped by the prefix), one at the other leader.
    post(
        &nodes[1],
        "/v1/docs/w/keys/b",
        ADMIN,
        json!({"type":"gcounter","op":"increment","by":1}),
    )
    .await;
    post(
        &nodes[0],
        "/v1/docs/w/keys/a1",
        ADMIN,
        json!({"type":"lww","op":"set","value":"hi"}),
    )
    .await;
    let mut seen = String::new();
    while !seen.contains("\n\n") || !seen.contains("event: change") {
        let chunk = t(resp.chunk()).await.unwrap().expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = seen.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let v: Value = serde_json::from_str(data).unwrap();
    assert_eq!(v["key"], json!("a1"));
    assert_eq!(v["type"], json!("lww"));
    assert_eq!(v["value"], json!("hi"));
    assert!(v["token"].is_string());
    // A delete's event has every field too: the key is absent, so type and value null.
    let (s, _, _) = call(
        &nodes[0],
        Method::DELETE,
        "/v1/docs/w/keys/a1",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let mut seen = String::new();
    while seen.matches("\n\n").count() < 1 || !seen.contains("event: change") {
        let chunk = t(resp.chunk()).await.unwrap().expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = seen.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    let v: Value = serde_json::from_str(data).unwrap();
    assert_eq!(v["key"], json!("a1"));
    let fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(fields, ["key", "token", "type", "value"], "{v}");
    assert_eq!(
        (&v["type"], &v["value"]),
        (&Value::Null, &Value::Null),
        "{v}"
    );
    let (s, _, _) = call(&nodes[1], Method::GET, "/v1/docs/w/watch", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    drop(resp);
    for n in &nodes {
        t(n.shutdown()).await;
    }
}

#[tokio::test]
async fn a_restoring_leader_answers_503_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(2, dir.path()).await;
    let (s, _) = post(
        &nodes[1],
        "/v1/docs/d/keys/k",
        ADMIN,
        json!({"type":"gcounter","op":"increment","by":1}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    for n in &nodes {
        t(n.shutdown()).await;
    }
    // Leader 2 restarts while leader 1 stays down: its documents wait for leader 1
    // to say which incarnations of leader 2 it has seen.
    let mut c = config(2, dir.path());
    c.peers = vec![crdt_leader::PeerConfig { id: 1, addr: None }];
    let n = t(Node::start(c)).await.unwrap();
    let (s, h, v) = call(
        &n,
        Method::POST,
        "/v1/docs/d/keys/k",
        Some(ADMIN),
        Some(json!({"type":"gcounter","op":"increment","by":1}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(h.get("retry-after").is_some());
    // In a server's terms, not the protocol library's ("keep ticking").
    let msg = error_of(&v);
    assert!(
        msg.contains("restarted") && msg.contains("retry") && !msg.contains("ticking"),
        "{v}"
    );
    let (_, _, st) = call(&n, Method::GET, "/v1/status", Some(READER), None).await;
    assert_eq!(st["can_write"], json!(false));
    assert!(st["reason"].as_str().unwrap().contains("restarted"), "{st}");
    // Reads still work.
    let (s, _, v) = call(&n, Method::GET, "/v1/docs/d/keys/k", Some(READER), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["value"], json!(1));
    t(n.shutdown()).await;
}

/// Every error is `{"error":"..."}`, also those axum would write as plain text or
/// with no body: an unknown path, a method a path does not take, a path that is not
/// UTF-8 once decoded, a plain GET of the WebSocket endpoint.
#[tokio::test]
async fn every_error_is_json_even_for_unknown_paths_methods_and_bad_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(1, dir.path()).await;
    let n = &nodes[0];
    let cases = [
        (
            Method::GET,
            "/v1/nope",
            StatusCode::NOT_FOUND,
            "no endpoint",
        ),
        (
            Method::GET,
            "/v1/docs/d/keys/a/b",
            StatusCode::NOT_FOUND,
            "no endpoint",
        ),
        (Method::GET, "/nope", StatusCode::NOT_FOUND, "no endpoint"),
        (
            Method::PUT,
            "/v1/docs/d/keys/k",
            StatusCode::METHOD_NOT_ALLOWED,
            "PUT",
        ),
        (
            Method::POST,
            "/v1/status",
            StatusCode::METHOD_NOT_ALLOWED,
            "does not take POST",
        ),
        (
            Method::GET,
            "/v1/docs/d/keys/%FF",
            StatusCode::BAD_REQUEST,
            "UTF-8",
        ),
        (
            Method::GET,
            "/v1/docs/d/sync",
            StatusCode::BAD_REQUEST,
            "WebSocket client",
        ),
        (
            Method::GET,
            "/v1/docs/d/keys?prefix=%FF",
            StatusCode::BAD_REQUEST,
            "not UTF-8",
        ),
        (
            Method::GET,
            "/v1/docs?prefix=a%C3",
            StatusCode::BAD_REQUEST,
            "not UTF-8",
        ),
        (
            Method::GET,
            "/v1/docs/d/keys?limit=-1",
            StatusCode::BAD_REQUEST,
            "limit a whole number",
        ),
        (
            Method::GET,
            "/v1/docs/d/keys/k?wait_ms=x",
            StatusCode::BAD_REQUEST,
            "wait_ms",
        ),
    ];
    for (method, path, status, says) in cases {
        let (s, h, v) = call(n, method.clone(), path, Some(ADMIN), None).await;
        assert_eq!(s, status, "{method} {path}: {v}");
        assert_eq!(h["content-type"], "application/json", "{method} {path}");
        assert!(error_of(&v).contains(says), "{method} {path}: {v}");
        if s == StatusCode::METHOD_NOT_ALLOWED {
            assert!(h.get("allow").is_some(), "{method} {path}: Allow kept");
        }
    }
    // A prefix that is UTF-8 once decoded is taken.
    let (s, _, v) = call(
        n,
        Method::GET,
        "/v1/docs/d/keys?prefix=%C3%A4+x",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!((s, v), (StatusCode::OK, json!({"keys": []})));
    t(n.shutdown()).await;
}

/// A counter increment that would overflow is refused for good: `409`, not a `503`
/// that tells the client to retry.
#[tokio::test]
async fn a_counter_overflow_is_409_and_the_counter_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(1, dir.path()).await;
    let n = &nodes[0];
    for ty in ["gcounter", "pncounter"] {
        let path = format!("/v1/docs/d/keys/{ty}");
        let (s, v) = post(
            n,
            &path,
            ADMIN,
            json!({"type":ty,"op":"increment","by":u64::MAX}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = post(n, &path, ADMIN, json!({"type":ty,"op":"increment","by":1})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{ty}: {v}");
        assert!(error_of(&v).contains("u64::MAX"), "{v}");
        let (s, h, _) = call(
            n,
            Method::POST,
            &path,
            Some(ADMIN),
            Some(json!({"type":ty,"op":"increment","by":1}).to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert!(h.get("retry-after").is_none());
    }
    let (_, _, v) = call(
        n,
        Method::GET,
        "/v1/docs/d/keys/gcounter",
        Some(READER),
        None,
    )
    .await;
    assert_eq!(v["value"], json!(u64::MAX));
    t(n.shutdown()).await;
}

/// An OR-Set's value is always an array: removing its last element (or an element
/// of a key that holds nothing) answers `[]`, not `null`; a type conflict's message
/// names the types as the API does.
#[tokio::test]
async fn an_orset_remove_of_its_last_element_answers_an_empty_array() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(1, dir.path()).await;
    let n = &nodes[0];
    let (_, v) = post(
        n,
        "/v1/docs/d/keys/s",
        ADMIN,
        json!({"type":"orset","op":"insert","value":"q"}),
    )
    .await;
    assert_eq!(v["value"], json!(["q"]));
    let (s, v) = post(
        n,
        "/v1/docs/d/keys/s",
        ADMIN,
        json!({"type":"orset","op":"remove","value":"q"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["value"], json!([]), "{v}");
    let (_, v) = post(
        n,
        "/v1/docs/d/keys/none",
        ADMIN,
        json!({"type":"orset","op":"remove","value":"q"}),
    )
    .await;
    assert_eq!(v["value"], json!([]), "{v}");
    let (s, _, _) = call(n, Method::GET, "/v1/docs/d/keys/s", Some(READER), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    post(
        n,
        "/v1/docs/d/keys/g",
        ADMIN,
        json!({"type":"gcounter","op":"increment","by":1}),
    )
    .await;
    let (s, v) = post(
        n,
        "/v1/docs/d/keys/g",
        ADMIN,
        json!({"type":"orset","op":"insert","value":"q"}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        error_of(&v).contains("holds type gcounter, not orset"),
        "{v}"
    );
    t(n.shutdown()).await;
}

/// `Authorization: bearer <token>` works as `Bearer` does (RFC 7235: the scheme's
/// name is case-insensitive), and a `401` says which scheme to use.
#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_a_401_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(1, dir.path()).await;
    let n = &nodes[0];
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let r = t(client()
            .get(url(n, "/v1/status"))
            .header("authorization", format!("{scheme} {READER}"))
            .send())
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{scheme}");
    }
    for auth in [None, Some("Basic abc"), Some("Bearer nope-not-a-token")] {
        let mut rb = client().get(url(n, "/v1/status"));
        if let Some(a) = auth {
            rb = rb.header("authorization", a);
        }
        let r = t(rb.send()).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        let www = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(www.starts_with("Bearer"), "{www}");
    }
    t(n.shutdown()).await;
}

/// `/metrics` is Prometheus's classic text format unless the scraper asks for
/// OpenMetrics (as Prometheus does): there every counter is declared under its
/// samples' name, and no OpenMetrics-only line is left.
#[tokio::test]
async fn metrics_are_classic_text_unless_openmetrics_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(1, dir.path()).await;
    let n = &nodes[0];
    let r = t(client().get(url(n, "/metrics")).send()).await.unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let classic = t(r.text()).await.unwrap();
    assert!(!classic.contains("# EOF") && !classic.contains("# UNIT"));
    assert!(
        classic.contains("# TYPE crdt_leader_auth_failures_total counter"),
        "{classic}"
    );
    let accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
    let r = t(client()
        .get(url(n, "/metrics"))
        .header("accept", accept)
        .send())
    .await
    .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let om = t(r.text()).await.unwrap();
    assert!(om.trim_end().ends_with("# EOF"));
    assert!(
        om.contains("# TYPE crdt_leader_auth_failures counter"),
        "{om}"
    );
    t(n.shutdown()).await;
}

/// A delete (or an OR-Set remove) in a document that does not exist answers `200`
/// and creates nothing: the document stays out of the listing and the status.
#[tokio::test]
async fn a_delete_or_remove_in_a_missing_document_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = cluster(1, dir.path()).await;
    let n = &nodes[0];
    let (s, _, v) = call(
        n,
        Method::DELETE,
        "/v1/docs/nodoc/keys/x",
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["token"].is_string(), "{v}");
    // Its token is honoured (it names no write).
    let path = format!(
        "/v1/docs/nodoc/keys/x?token={}",
        v["token"].as_str().unwrap()
    );
    let (s, _, _) = call(n, Method::GET, &path, Some(READER), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nor does an OR-Set remove, which answers the empty set.
    let (s, v) = post(
        n,
        "/v1/docs/nodoc2/keys/x",
        ADMIN,
        json!({"type":"orset","op":"remove","value":"q"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["value"], json!([]), "{v}");
    let (_, _, v) = call(n, Method::GET, "/v1/docs", Some(ADMIN), None).await;
    assert_eq!(v, json!({"docs": []}));
    let (_, _, st) = call(n, Method::GET, "/v1/status", Some(ADMIN), None).await;
    assert_eq!(st["docs"], json!(0));
    t(n.shutdown()).await;
}
