//! The HTTP API (JSON over axum): the contract of issue 12, kept exactly. Its user
//! documentation is `docs/HTTP.md`; keep the two in step.
//!
//! | request | answer |
//! |---|---|
//! | `POST /v1/docs/{doc}/keys/{key}` with an op | `200 {"token","value"}` once durable |
//! | `DELETE /v1/docs/{doc}/keys/{key}` | `200 {"token"}` once durable |
//! | `GET /v1/docs/{doc}/keys/{key}?token=T&wait_ms=M` | `200 {"key","type","value","token"}`, `404`, or `503` + `Retry-After` |
//! | `GET /v1/docs/{doc}/keys?prefix=P&limit=N` | `200 {"keys":[...]}` |
//! | `GET /v1/docs?prefix=P&limit=N` | `200 {"docs":[...]}` (those the token may read) |
//! | `GET /v1/docs/{doc}/watch?prefix=P` | Server-Sent Events, `change` events |
//! | `GET /v1/docs/{doc}/sync` | a WebSocket: the client is a peer of the document's leader (`docs/WEBSOCKET.md`) |
//! | `GET /v1/status` | `200 {"id","can_write","peers","docs","digest"}` |
//! | `GET /metrics`, `GET /healthz` | no token |
//!
//! Errors are `{"error":"..."}`: 400, 401, 403, 404, 405, 409, 413, 503 (also those
//! axum writes itself: [`json_errors`]).

// Handlers return an early `Response` on their error paths (once per failed request),
// as axum's own extractors do; boxing it would buy nothing.
#![allow(clippy::result_large_err)]

use crate::answer::{JsonBody, JsonReceipt};
use crate::auth::{Access, ClientTokens, Verdict};
use crate::error::Error;
use crate::node::{NodeHandle, READ_WAIT_MAX, VALUE_BYTES_MAX};
use crate::tls::TlsListener;
use crate::token::CausalToken;
use crate::ws::WsCtx;
use crate::ws_wire::WsLimits;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use crdt_core::{Value, ValueOp};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json_};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The largest request body, in bytes.
pub const BODY_BYTES_MAX: usize = VALUE_BYTES_MAX + 1024;
/// The most names a listing returns.
pub const LIST_LIMIT_MAX: usize = 10_000;
const LIST_LIMIT_DEFAULT: usize = 100;

#[derive(Clone)]
struct App {
    node: NodeHandle,
    tokens: Arc<ClientTokens>,
    ws: WsCtx,
}

/// Binds `addr` and serves the API until shutdown; returns the bound address.
pub(crate) async fn serve(
    addr: SocketAddr,
    node: NodeHandle,
    tokens: ClientTokens,
    tls: Option<tokio_rustls::TlsAcceptor>,
    ws: WsLimits,
    app_dir: Option<std::path::PathBuf>,
    shutdown: watch::Receiver<bool>,
) -> Result<SocketAddr, Error> {
    let app = App {
        node,
        tokens: Arc::new(tokens),
        ws: WsCtx::new(ws, shutdown.clone()),
    };
    let router = Router::new()
        .route(
            "/v1/docs/{doc}/keys/{key}",
            post(write).delete(delete).get(read),
        )
        .route("/v1/docs/{doc}/keys", get(keys))
        .route("/v1/docs/{doc}/watch", get(watch_doc))
        .route("/v1/docs/{doc}/sync", get(sync))
        .route("/v1/docs", get(docs))
        .route("/v1/status", get(status))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(no_such_endpoint)
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .with_state(app);
    let router = match app_dir {
        // The example app's static files (read-only; ServeDir refuses `..`).
        Some(dir) => router
            .route(
                "/app",
                get(|| async { axum::response::Redirect::permanent("/app/") }),
            )
            .nest_service(
                "/app/",
                tower_http::services::ServeDir::new(dir).append_index_html_on_directories(true),
            ),
        None => router,
    };
    let router = router.layer(axum::middleware::from_fn(json_errors));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Io(format!("cannot serve HTTP on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::Io(e.to_string()))?;
    match tls {
        Some(acceptor) => {
            let tls = TlsListener::new(listener, acceptor, shutdown.clone())
                .map_err(|e| Error::Io(e.to_string()))?;
            spawn_server(tls, router, shutdown);
        }
        None => spawn_server(listener, router, shutdown),
    }
    Ok(local)
}

/// Serves `router` on `listener` (plain or TLS) until shutdown.
fn spawn_server<L>(listener: L, router: Router, mut shutdown: watch::Receiver<bool>)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    let mut r = (status, Json(json!({ "error": msg.into() }))).into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

/// Any path the API does not have.
async fn no_such_endpoint(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no endpoint {method} {}: docs/HTTP.md lists the API's paths",
            uri.path()
        ),
    )
}

/// Makes every error answer `{"error":"..."}`, as the contract has it, including those
/// axum writes itself as plain text or with no body: a method a path does not take
/// (`405`, with axum's `Allow` header), a path that is not UTF-8 once percent-decoded, a
/// plain GET of the WebSocket endpoint. Successful answers pass untouched.
async fn json_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if req.uri().query().is_some_and(|q| !decodes_to_utf8(q)) {
        // The query extractor would replace such bytes with U+FFFD and go on.
        return error(
            StatusCode::BAD_REQUEST,
            "the query string is not UTF-8 once percent-decoded: percent-encode prefixes as UTF-8",
        );
    }
    // Cheap copies (a `Uri` shares its bytes): this runs on every request.
    let method = req.method().clone();
    let uri = req.uri().clone();
    let r = next.run(req).await;
    let status = r.status();
    let is_json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return r;
    }
    let (parts, body) = r.into_parts();
    // axum's own error texts are one short line; a longer body is cut.
    let text = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let msg = match status {
        // axum adds the `Allow` header after this layer has run.
        StatusCode::METHOD_NOT_ALLOWED => {
            format!(
                "{} does not take {method}: the Allow header lists what it takes",
                uri.path()
            )
        }
        _ if text.is_empty() => format!(
            "{} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("error")
        ),
        _ if text.contains("UTF-8") => {
            format!("{text}: percent-encode document names and keys as UTF-8")
        }
        _ => text,
    };
    let mut out = error(status, msg);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

/// Whether a query string percent-decodes to UTF-8.
fn decodes_to_utf8(query: &str) -> bool {
    percent_encoding::percent_decode_str(query)
        .decode_utf8()
        .is_ok()
}

fn from_error(e: &Error) -> Response {
    let status = match e {
        Error::Invalid { .. } => StatusCode::BAD_REQUEST,
        Error::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::TypeMismatch { .. } | Error::Refused(_) => StatusCode::CONFLICT,
        Error::NoSuchDocument(_) => StatusCode::NOT_FOUND,
        Error::NotYet | Error::Unavailable(_) | Error::Storage { .. } | Error::Shutdown => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.to_string())
}

/// The token of an `Authorization: Bearer <token>` header (the scheme's name in any
/// case, as RFC 7235 has it).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start_matches(' '))
}

fn authorize(
    app: &App,
    headers: &HeaderMap,
    access: Access,
    doc: Option<&str>,
) -> Result<(), Response> {
    match app.tokens.check(bearer(headers), access, doc) {
        Verdict::Allowed => Ok(()),
        Verdict::Unauthenticated => {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "missing or unknown token: send `Authorization: Bearer <token>` with a token from the --client-tokens file",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"crdt-leader\""),
            );
            Err(r)
        }
        Verdict::Forbidden => Err(error(
            StatusCode::FORBIDDEN,
            format!("this token has no {access:?} right on this document: use a token whose prefix covers it").to_lowercase(),
        )),
    }
}

/// The JSON of a value (a conflict as `null`; see [`value_fields`]).
fn value_json(v: &Value) -> Json_ {
    serde_json::to_value(ValueJson(v)).unwrap_or(Json_::Null)
}

/// A value's JSON (reads and watch events; a write's answer is rendered by the driver,
/// `answer.rs`, and must stay byte for byte what this writes).
struct ValueJson<'a>(&'a Value);

impl Serialize for ValueJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::GCounter(n) => s.serialize_u64(*n),
            Value::PnCounter(n) => s.serialize_i64(*n),
            Value::OrSet(v) | Value::MvRegister(v) => s.collect_seq(v),
            Value::LwwRegister(v) => s.serialize_str(v),
            _ => s.serialize_unit(),
        }
    }
}

/// A `200` answer whose body is `body`, already JSON.
fn json_response(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// `type`, `value` and, for a type conflict, `conflict`: each type's value.
fn value_fields(obj: &mut serde_json::Map<String, Json_>, v: Option<&Value>) {
    match v {
        None => {
            // An absent key (a watch event for a delete): both fields, both null.
            obj.insert("type".into(), Json_::Null);
            obj.insert("value".into(), Json_::Null);
        }
        Some(v) => {
            obj.insert("type".into(), json!(v.type_name()));
            obj.insert("value".into(), value_json(v));
            if let Value::Conflict(all) = v {
                let list: Vec<Json_> = all
                    .iter()
                    .map(|x| json!({"type": x.type_name(), "value": value_json(x)}))
                    .collect();
                obj.insert("conflict".into(), Json_::Array(list));
            }
        }
    }
}

fn parse_op(body: &[u8]) -> Result<ValueOp, Response> {
    let bad = |m: &str| {
        error(
            StatusCode::BAD_REQUEST,
            format!("{m}: send one of {{\"type\":\"gcounter\",\"op\":\"increment\",\"by\":N}}, {{\"type\":\"pncounter\",\"op\":\"increment\"|\"decrement\",\"by\":N}}, {{\"type\":\"orset\",\"op\":\"insert\"|\"remove\",\"value\":\"S\"}}, {{\"type\":\"lww\",\"op\":\"set\",\"value\":\"S\"}}, {{\"type\":\"mvreg\",\"op\":\"set\",\"value\":\"S\"}}"),
        )
    };
    let v: Json_ =
        serde_json::from_slice(body).map_err(|e| bad(&format!("malformed JSON ({e})")))?;
    let ty = v.get("type").and_then(Json_::as_str).unwrap_or("");
    let op = v.get("op").and_then(Json_::as_str).unwrap_or("");
    let by = || {
        v.get("by")
            .and_then(Json_::as_u64)
            .ok_or_else(|| bad("\"by\" must be a non-negative integer"))
    };
    let value = || {
        let s = v
            .get("value")
            .and_then(Json_::as_str)
            .ok_or_else(|| bad("\"value\" must be a string"))?;
        if s.len() > VALUE_BYTES_MAX {
            return Err(from_error(&Error::TooLarge {
                what: "value",
                bytes: s.len(),
                max: VALUE_BYTES_MAX,
            }));
        }
        Ok(s.to_string())
    };
    Ok(match (ty, op) {
        ("gcounter", "increment") => ValueOp::GCounterIncrement(by()?),
        ("pncounter", "increment") => ValueOp::PnCounterIncrement(by()?),
        ("pncounter", "decrement") => ValueOp::PnCounterDecrement(by()?),
        ("orset", "insert") => ValueOp::OrSetInsert(value()?),
        ("orset", "remove") => ValueOp::OrSetRemove(value()?),
        ("lww", "set") => ValueOp::LwwSet {
            value: value()?,
            now_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        },
        ("mvreg", "set") => ValueOp::MvRegisterSet(value()?),
        _ => return Err(bad(&format!("unknown type/op {ty:?}/{op:?}"))),
    })
}

/// A query string that does not parse, with what its parameters take.
fn query_error(e: &QueryRejection, expected: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        format!("{}: {expected}", e.body_text()),
    )
}

fn body_or_error(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Response> {
    body.map_err(|r| {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            error(
                status,
                format!("the body exceeds {BODY_BYTES_MAX} bytes: send a smaller value"),
            )
        } else {
            error(StatusCode::BAD_REQUEST, r.body_text())
        }
    })
}

async fn write(
    State(app): State<App>,
    Path((doc, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(r) = authorize(&app, &headers, Access::Write, Some(&doc)) {
        return r;
    }
    let body = match body_or_error(body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let op = match parse_op(&body) {
        Ok(op) => op,
        Err(r) => return r,
    };
    match app.node.write_json(&doc, &key, op).await {
        Ok(JsonReceipt {
            body: JsonBody::Rendered(body),
            ..
        }) => json_response(body),
        Ok(JsonReceipt {
            token,
            body: JsonBody::Conflict(value),
        }) => {
            let mut obj = serde_json::Map::new();
            obj.insert("token".into(), json!(token.to_string()));
            value_fields(&mut obj, Some(&value));
            Json(Json_::Object(obj)).into_response()
        }
        Err(e) => from_error(&e),
    }
}

async fn delete(
    State(app): State<App>,
    Path((doc, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = authorize(&app, &headers, Access::Write, Some(&doc)) {
        return r;
    }
    match app.node.delete(&doc, &key).await {
        Ok(receipt) => Json(json!({ "token": receipt.token.to_string() })).into_response(),
        Err(e) => from_error(&e),
    }
}

#[derive(Deserialize)]
struct ReadQuery {
    token: Option<String>,
    wait_ms: Option<u64>,
}

async fn read(
    State(app): State<App>,
    Path((doc, key)): Path<(String, String)>,
    headers: HeaderMap,
    query: Result<Query<ReadQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = authorize(&app, &headers, Access::Read, Some(&doc)) {
        return r;
    }
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => {
            return query_error(
                &e,
                &format!(
                    "token is a write's token, wait_ms a whole number of milliseconds (at most {})",
                    READ_WAIT_MAX.as_millis()
                ),
            )
        }
    };
    let token = match q.token.as_deref().map(str::parse::<CausalToken>) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => return from_error(&e),
    };
    let wait = Duration::from_millis(q.wait_ms.unwrap_or(0)).min(READ_WAIT_MAX);
    match app.node.read(&doc, &key, token.as_ref(), wait).await {
        Ok(r) => match r.value {
            None => error(
                StatusCode::NOT_FOUND,
                format!("no key {key:?} in document {doc:?}"),
            ),
            Some(v) => {
                let mut obj = serde_json::Map::new();
                obj.insert("key".into(), json!(key));
                value_fields(&mut obj, Some(&v));
                obj.insert("token".into(), json!(r.token.to_string()));
                Json(Json_::Object(obj)).into_response()
            }
        },
        Err(Error::NotYet) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            if wait < READ_WAIT_MAX {
                format!(
                    "not yet: this leader has not received every write the token names after waiting {} ms; retry, or pass a larger wait_ms (at most {})",
                    wait.as_millis(),
                    READ_WAIT_MAX.as_millis()
                )
            } else {
                format!(
                    "not yet: this leader has not received every write the token names after waiting {} ms, the longest wait_ms it takes; retry, or read at the leader that wrote",
                    wait.as_millis()
                )
            },
        ),
        Err(e) => from_error(&e),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    prefix: Option<String>,
    limit: Option<usize>,
}

fn list_args(query: Result<Query<ListQuery>, QueryRejection>) -> Result<(String, usize), Response> {
    let Query(q) = query.map_err(|e| {
        query_error(
            &e,
            &format!("prefix is a string, limit a whole number (at most {LIST_LIMIT_MAX})"),
        )
    })?;
    let limit = q.limit.unwrap_or(LIST_LIMIT_DEFAULT).min(LIST_LIMIT_MAX);
    Ok((q.prefix.unwrap_or_default(), limit))
}

async fn keys(
    State(app): State<App>,
    Path(doc): Path<String>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = authorize(&app, &headers, Access::Read, Some(&doc)) {
        return r;
    }
    let (prefix, limit) = match list_args(query) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match app.node.keys(&doc, &prefix, limit).await {
        Ok(keys) => Json(json!({ "keys": keys })).into_response(),
        Err(e) => from_error(&e),
    }
}

async fn docs(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = authorize(&app, &headers, Access::Read, None) {
        return r;
    }
    let (prefix, limit) = match list_args(query) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let token = bearer(&headers);
    match app.node.docs(&prefix, LIST_LIMIT_MAX).await {
        Ok(docs) => {
            let docs: Vec<String> = docs
                .into_iter()
                .filter(|d| app.tokens.may_read(token, d))
                .take(limit)
                .collect();
            Json(json!({ "docs": docs })).into_response()
        }
        Err(e) => from_error(&e),
    }
}

#[derive(Deserialize)]
struct WatchQuery {
    prefix: Option<String>,
}

async fn watch_doc(
    State(app): State<App>,
    Path(doc): Path<String>,
    headers: HeaderMap,
    query: Result<Query<WatchQuery>, QueryRejection>,
) -> Response {
    if let Err(r) = authorize(&app, &headers, Access::Read, Some(&doc)) {
        return r;
    }
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => return query_error(&e, "prefix is a string"),
    };
    let watch = match app.node.watch(&doc, &q.prefix.unwrap_or_default()).await {
        Ok(w) => w,
        Err(e) => return from_error(&e),
    };
    let stream = futures_util::stream::unfold(watch, |mut w| async move {
        let change = w.next().await?;
        let mut obj = serde_json::Map::new();
        obj.insert("key".into(), json!(change.key));
        value_fields(&mut obj, change.value.as_ref());
        obj.insert("token".into(), json!(change.token.to_string()));
        let event = Event::default()
            .event("change")
            .data(Json_::Object(obj).to_string());
        Some((Ok::<_, Infallible>(event), w))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The WebSocket: its token comes in the first frame, never in the URL.
async fn sync(
    State(app): State<App>,
    Path(doc): Path<String>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    crate::ws::sync(app.node, app.tokens, app.ws, doc, ws).await
}

async fn status(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&app, &headers, Access::Read, None) {
        return r;
    }
    match app.node.status().await {
        Ok(s) => {
            let peers: Vec<Json_> = s
                .peers
                .iter()
                .map(|p| json!({"id": p.id, "connected": p.connected, "lag_ops": p.lag_ops}))
                .collect();
            let mut body = json!({
                "id": s.id,
                "can_write": s.can_write,
                "peers": peers,
                "docs": s.docs,
                "digest": format!("{:016x}", s.digest),
            });
            if let Some(reason) = s.reason {
                body["reason"] = json!(reason);
            }
            Json(body).into_response()
        }
        Err(e) => from_error(&e),
    }
}

/// The metrics in OpenMetrics text to a scraper that accepts it (Prometheus asks for
/// it first), and otherwise in Prometheus's classic text format (`curl`, classic
/// parsers, `promtool check metrics`).
async fn metrics(State(app): State<App>, headers: HeaderMap) -> Response {
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            parts.next() == Some("application/openmetrics-text")
                && !parts.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.parse::<f64>().ok())
                        .is_some_and(|q| q <= 0.0)
                })
        });
    match app.node.metrics_text().await {
        Ok(text) if openmetrics => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            crate::metrics::classic_text(&text),
        )
            .into_response(),
        Err(e) => from_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::value_json;
    use crate::answer::JsonBody;
    use crate::token::CausalToken;
    use crdt_core::{Keyspace, KeyspaceOp, ReplicaId, ValueOp, VersionVector};
    use serde_json::json;

    /// The driver's rendering of a write's answer is byte for byte what `serde_json`
    /// writes for the owned value, as the answer was before the driver rendered it.
    #[test]
    fn a_rendered_write_answer_is_what_serde_json_writes() {
        let strings = [
            "",
            "a",
            "b",
            "ä",
            "\"quoted\"",
            "back\\slash",
            "line\nbreak",
            "\u{1}ctl",
            "tab\t",
            "emoji 🦀",
            "</script>",
            "\u{7f}",
            "\u{2028}",
        ];
        let mut ks = Keyspace::new();
        let w = ReplicaId::new(1);
        let mut ops = vec![
            ("g", ValueOp::GCounterIncrement(u64::MAX)),
            ("p", ValueOp::PnCounterDecrement(7)),
            (
                "l",
                ValueOp::LwwSet {
                    value: "\"x\"\n".into(),
                    now_ms: 1,
                },
            ),
            (
                "l2",
                ValueOp::LwwSet {
                    value: String::new(),
                    now_ms: 1,
                },
            ),
            ("m", ValueOp::MvRegisterSet("é\u{0}".into())),
        ];
        for s in strings {
            ops.push(("s", ValueOp::OrSetInsert(s.to_string())));
        }
        // Enough plain ones that the set keeps its order by value (a read walks it).
        for i in 0..40 {
            ops.push(("s", ValueOp::OrSetInsert(format!("plain {i}"))));
        }
        // Sets of plain elements with at most one that needs an escape, which the
        // renderer finds only by checking the whole text (quotes by their count).
        let odd = [
            ("s-plain", "ä 🦀 \u{7f} </script>"),
            ("s-quote", "a\"b"),
            ("s-backslash", "a\\b"),
            ("s-control", "a\u{1f}b"),
            ("s-delete", "a\u{7f}b"),
        ];
        for (key, one) in odd {
            for i in 0..40 {
                ops.push((key, ValueOp::OrSetInsert(format!("plain {i}"))));
            }
            ops.push((key, ValueOp::OrSetInsert(one.to_string())));
        }
        for (key, op) in ops {
            let key = key.to_string();
            let _ = ks.apply(w, KeyspaceOp::Write { key, op }).unwrap();
        }
        let mut vv = VersionVector::new();
        vv.advance(ReplicaId::new(1), 3);
        vv.advance(ReplicaId::new((1 << 53) - 1), u64::MAX);
        let token = CausalToken::new("doc", vv);
        let keys = ["g", "p", "l", "l2", "m", "s"];
        for key in keys.into_iter().chain(odd.map(|(k, _)| k)) {
            let v = ks.get_ref(key).unwrap();
            let JsonBody::Rendered(rendered) = JsonBody::of(&token, Some(&v)) else {
                panic!("{key}: not a conflict");
            };
            let expected = json!({"token": token.to_string(), "value": value_json(&v.to_value())});
            assert_eq!(rendered, serde_json::to_string(&expected).unwrap(), "{key}");
        }
    }
}
