//! `GET /v1/docs/{doc}/sync`: a WebSocket whose client is a peer of the document's
//! leader (the contract is in `docs/WEBSOCKET.md` and [`crate::ws_wire`]).
//!
//! One task per connection: it reads the hello (within `hello_timeout`), checks the
//! token, asks the driver to attach the client, answers, then pumps frames: binary
//! frames from the client go to the driver as they are (paced by a token bucket, each
//! at most `frame_bytes_max`), the driver's messages for the client go out as binary
//! frames, and a close decided by the driver (forged write, malformed message) is sent
//! with its code. Whatever ends the connection, the client is detached.

use crate::auth::{Access, ClientTokens, Verdict};
use crate::bucket::Bucket;
use crate::driver::{ClientCommand, Command};
use crate::node::NodeHandle;
use crate::ws_wire::{answer, close_reason, parse_hello, WsClose, WsLimits};
use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use crdt_sync::Incarnation;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Messages queued for one client before the driver drops (and the protocol resends).
const OUTBOX_FRAMES: usize = 1024;

/// How long a closing server waits for the client's close reply ([`linger`]).
const CLOSE_LINGER: std::time::Duration = std::time::Duration::from_secs(1);

static CONN_IDS: AtomicU64 = AtomicU64::new(1);

/// What every WebSocket connection of a node shares.
#[derive(Clone)]
pub(crate) struct WsCtx {
    pub(crate) limits: WsLimits,
    slots: Arc<Semaphore>,
    shutdown: watch::Receiver<bool>,
}

impl WsCtx {
    pub(crate) fn new(limits: WsLimits, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            limits,
            slots: Arc::new(Semaphore::new(limits.connections_max)),
            shutdown,
        }
    }
}

/// The upgrade handler. A request that is no WebSocket upgrade gets axum's answer
/// (400 or 426); everything else is answered on the socket, with a close code.
pub(crate) async fn sync(
    node: NodeHandle,
    tokens: Arc<ClientTokens>,
    ctx: WsCtx,
    doc: String,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(r) => {
            // The JSON-errors layer turns it into `{"error":...}`; say what to do too.
            let status = r.status();
            let text = format!(
                "{}: this is the WebSocket endpoint, connect with a WebSocket client \
                 (docs/WEBSOCKET.md)",
                r.body_text()
            );
            return (status, text).into_response();
        }
    };
    let permit = ctx.slots.clone().try_acquire_owned().ok();
    let max = ctx.limits.frame_bytes_max;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| connection(socket, node, tokens, ctx, doc, permit))
}

async fn connection(
    mut socket: WebSocket,
    node: NodeHandle,
    tokens: Arc<ClientTokens>,
    ctx: WsCtx,
    doc: String,
    permit: Option<OwnedSemaphorePermit>,
) {
    let metrics = node.shared.metrics.clone();
    metrics.ws_connected(true);
    let conn = Conn {
        node: &node,
        tokens: &tokens,
        ctx: &ctx,
        doc: &doc,
    };
    let close = match permit {
        Some(_) => conn.run(&mut socket).await,
        None => Some((
            WsClose::Busy,
            "too many WebSocket connections on this node: retry later".into(),
        )),
    };
    if let Some((why, reason)) = close {
        metrics.ws_closed(why.label());
        let frame = CloseFrame {
            code: why.code(),
            reason: close_reason(&reason).into(),
        };
        if socket.send(Message::Close(Some(frame))).await.is_ok() {
            linger(&mut socket).await;
        }
    }
    metrics.ws_connected(false);
    drop(permit);
}

/// After its close frame, the server reads (and discards) what the client still sends
/// until the client's close reply, for at most [`CLOSE_LINGER`]: a socket closed with
/// unread data is reset, and the reset can overtake the close frame (a browser that
/// was still sending then reports 1006 instead of the code and its reason).
async fn linger(socket: &mut WebSocket) {
    let drain = async {
        while let Some(Ok(m)) = socket.recv().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_LINGER, drain).await;
}

/// What the server closes with (`None`: the client left or the socket failed).
type Close = Option<(WsClose, String)>;

struct Conn<'a> {
    node: &'a NodeHandle,
    tokens: &'a ClientTokens,
    ctx: &'a WsCtx,
    doc: &'a str,
}

impl Conn<'_> {
    async fn command(&self, cmd: ClientCommand) -> Result<(), ()> {
        self.node.tx.send(Command::Client(cmd)).await.map_err(drop)
    }

    async fn run(&self, socket: &mut WebSocket) -> Close {
        if let Err(e) = crate::check_doc_name(self.doc) {
            return Some((WsClose::BadHello, e.to_string()));
        }
        let (replica, incarnations, access) = match self.hello(socket).await {
            Ok(h) => h,
            Err(close) => return close,
        };
        let conn = CONN_IDS.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(OUTBOX_FRAMES);
        let (close_tx, close_rx) = oneshot::channel();
        let (reply, answered) = oneshot::channel();
        let attach = ClientCommand::Attach {
            doc: self.doc.to_string(),
            replica,
            incarnations,
            access,
            conn,
            tx,
            close: close_tx,
            reply,
        };
        let going_away = || Some((WsClose::GoingAway, "the node is shutting down".to_string()));
        if self.command(attach).await.is_err() {
            return going_away();
        }
        let server = match answered.await {
            Ok(Ok(server)) => server,
            Ok(Err(why)) => return Some((why, refusal(why).to_string())),
            Err(_) => return going_away(),
        };
        let hello = answer(server, access, &self.ctx.limits);
        let close = match socket.send(Message::Text(hello.into())).await {
            Ok(()) => self.pump(socket, replica, conn, rx, close_rx).await,
            Err(_) => None,
        };
        let detach = ClientCommand::Detach {
            doc: self.doc.to_string(),
            replica,
            conn,
        };
        let _ = self.command(detach).await;
        close
    }

    /// Reads and checks the first frame: the client's replica id and its right.
    async fn hello(
        &self,
        socket: &mut WebSocket,
    ) -> Result<(u64, Vec<Incarnation>, Access), Close> {
        let limits = &self.ctx.limits;
        let first = match tokio::time::timeout(limits.hello_timeout, socket.recv()).await {
            Err(_) => {
                return Err(Some((
                    WsClose::HelloTimeout,
                    format!(
                        "no hello within {} ms: send {{\"token\",\"replica\"}} first",
                        limits.hello_timeout.as_millis()
                    ),
                )))
            }
            Ok(Some(Ok(m))) => m,
            Ok(_) => return Err(None),
        };
        let text = match first {
            Message::Text(t) => t,
            Message::Close(_) => return Err(None),
            _ => {
                return Err(Some((
                    WsClose::BadHello,
                    "the first frame must be a text frame holding the JSON hello".into(),
                )))
            }
        };
        let hello = parse_hello(text.as_str()).map_err(|e| Some((WsClose::BadHello, e)))?;
        let metrics = &self.node.shared.metrics;
        let check = |a| self.tokens.check(Some(&hello.token), a, Some(self.doc));
        let access = match (check(Access::Write), check(Access::Read)) {
            (Verdict::Allowed, _) => Access::Write,
            (_, Verdict::Allowed) => Access::Read,
            (Verdict::Unauthenticated, _) => {
                metrics.ws_auth_failed("unauthorized");
                return Err(Some((
                    WsClose::Unauthorized,
                    refusal(WsClose::Unauthorized).into(),
                )));
            }
            _ => {
                metrics.ws_auth_failed("forbidden");
                return Err(Some((
                    WsClose::Forbidden,
                    refusal(WsClose::Forbidden).into(),
                )));
            }
        };
        Ok((hello.replica, hello.incarnations, access))
    }

    /// Moves frames both ways until either side closes.
    async fn pump(
        &self,
        socket: &mut WebSocket,
        replica: u64,
        conn: u64,
        mut rx: mpsc::Receiver<Vec<u8>>,
        mut close_rx: oneshot::Receiver<(WsClose, String)>,
    ) -> Close {
        let limits = self.ctx.limits;
        let metrics = &self.node.shared.metrics;
        let mut shutdown = self.ctx.shutdown.clone();
        let mut bucket = Bucket::new(limits.frames_per_second_max);
        let mut ping = tokio::time::interval(limits.idle_timeout / 3);
        ping.tick().await;
        let mut heard = Instant::now();
        let going_away = |why: &str| Some((WsClose::GoingAway, why.to_string()));
        loop {
            if *shutdown.borrow() {
                return going_away("the node is shutting down");
            }
            tokio::select! {
                biased;
                close = &mut close_rx => {
                    return close.ok().or_else(|| going_away("the node is shutting down"));
                }
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return going_away("the node is shutting down");
                    }
                }
                out = rx.recv() => {
                    let Some(bytes) = out else {
                        return going_away("the node is shutting down");
                    };
                    metrics.ws_frame_sent(bytes.len());
                    if socket.send(Message::Binary(bytes.into())).await.is_err() {
                        return None;
                    }
                }
                _ = ping.tick() => {
                    if heard.elapsed() >= limits.idle_timeout {
                        return going_away("idle: nothing received within the idle timeout");
                    }
                    if socket.send(Message::Ping(Bytes::new())).await.is_err() {
                        return None;
                    }
                }
                msg = socket.recv() => {
                    heard = Instant::now();
                    let frame = match msg {
                        None | Some(Ok(Message::Close(_))) => return None,
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Binary(b))) => b,
                        Some(Ok(Message::Text(_))) => {
                            metrics.ws_frame_rejected(WsClose::Malformed.label());
                            return Some((
                                WsClose::Malformed,
                                "a text frame after the hello: send crdt-sync messages as binary frames".into(),
                            ));
                        }
                        Some(Err(e)) => return too_large(&e.to_string(), &limits, metrics),
                    };
                    if frame.len() > limits.frame_bytes_max {
                        return too_large("Space limit exceeded", &limits, metrics);
                    }
                    metrics.ws_frame_received(frame.len());
                    if let Some(wait) = bucket.take() {
                        metrics.ws_throttled();
                        tokio::time::sleep(wait).await;
                    }
                    let cmd = ClientCommand::Frame {
                        doc: self.doc.to_string(),
                        replica,
                        conn,
                        payload: frame.to_vec(),
                    };
                    if self.command(cmd).await.is_err() {
                        return going_away("the node is shutting down");
                    }
                }
            }
        }
    }
}

/// A read error: a frame over the limit (tungstenite's capacity error, which it
/// raises from the frame header, before reading the payload) is answered with its
/// close code; any other error means the socket is gone.
fn too_large(error: &str, limits: &WsLimits, metrics: &crate::metrics::NodeMetrics) -> Close {
    if !error.contains("Space limit exceeded") {
        return None;
    }
    metrics.ws_frame_rejected(WsClose::TooLarge.label());
    Some((
        WsClose::TooLarge,
        format!(
            "a frame over {} bytes: send smaller messages",
            limits.frame_bytes_max
        ),
    ))
}

/// The close reason of a refused hello.
fn refusal(why: WsClose) -> &'static str {
    match why {
        WsClose::Unauthorized => "missing or unknown token: use a token from the --client-tokens file; do not retry with this one",
        WsClose::Forbidden => "this token has no right on this document: use a token whose prefix covers it",
        WsClose::ReplicaReserved => "replica id reserved (0, >= 2^53, or a cluster leader's): draw a new random replica id",
        WsClose::ReplicaInUse => "another connection to this document uses this replica id: retry with backoff",
        WsClose::Busy => "too many clients on this document: retry later",
        _ => "the document cannot take a client now: retry later",
    }
}
