//! The embeddable node: configuration, start, and the cloneable handle.

use crate::answer::{JsonReceipt, WriteReply};
use crate::auth::ClientTokens;
use crate::driver::{Command, Driver};
use crate::error::Error;
use crate::metrics::NodeMetrics;
use crate::store::{self, FsyncPolicy, STORE_FILE};
use crate::tls::{Tls, TlsConfig};
use crate::token::CausalToken;
use crate::ws_wire::WsLimits;
use crdt_core::{KeyspaceOp, ReplicaId, Value, ValueOp, KEY_BYTES_MAX};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// The largest value (OR-Set element, register value) a write may carry, in bytes.
pub const VALUE_BYTES_MAX: usize = 64 * 1024;
/// The longest wait a read may ask for.
pub const READ_WAIT_MAX: Duration = Duration::from_secs(10);

/// Another leader of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// Its `--id`.
    pub id: u64,
    /// Where it listens for peers (`HOST:PORT`). The leader with the lower id dials;
    /// the other only needs the id.
    pub addr: Option<String>,
}

/// Everything a node needs to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This leader's id, unique in the cluster and stable across restarts (it is
    /// recorded in the data directory, which refuses another).
    pub id: u64,
    /// Where the store lives.
    pub data_dir: PathBuf,
    /// Every other leader of the cluster.
    pub peers: Vec<PeerConfig>,
    /// Ids of `peers` this leader pushes no writes to (`--lazy-peer`): lazy links
    /// (`crdt_sync::Leader::set_peer_lazy`). On a mesh, make the links outside a
    /// spanning tree lazy at both ends: writes are pushed along the tree, and a lazy
    /// link carries only digests and the repairs they show are needed.
    pub lazy_peers: Vec<u64>,
    /// Where to accept peer connections (`None`: none accepted).
    pub peer_listen: Option<SocketAddr>,
    /// The cluster's shared secret for peer authentication.
    pub peer_secret: Option<Vec<u8>>,
    /// Where to serve the HTTP API (`None`: no HTTP server).
    pub http_listen: Option<SocketAddr>,
    /// Bearer tokens of HTTP clients.
    pub client_tokens: Option<ClientTokens>,
    /// When commits reach the disk.
    pub fsync: FsyncPolicy,
    /// Milliseconds between anti-entropy rounds of documents with pending work.
    pub tick_ms: u64,
    /// Allow running without peer secret or client tokens.
    pub insecure: bool,
    /// TLS for the HTTP API and (mutual) for peer connections; `None`: plain TCP.
    pub tls: Option<TlsConfig>,
    /// Limits of WebSocket clients (`GET /v1/docs/{doc}/sync`).
    pub ws: WsLimits,
    /// A directory served read-only at `/app/` (the example app: `bash scripts/wasm.sh
    /// package` assembles one in `target/wasm/app`); `None` serves nothing there.
    pub app_dir: Option<PathBuf>,
}

/// How long a restored document waits for every peer's answer to its probe before it
/// ends the probe with the answers at hand (`crdt_sync::Config::probe_timeout_ticks`,
/// whose default of 16 ticks is 0.8 s at 50 ms ticks): long enough for peers restarted
/// at the same time to come up, so that a peer down for good (not removed from the
/// configuration) keeps no document from writing for ever.
pub(crate) const PROBE_TIMEOUT_MS: u64 = 10_000;

/// [`PROBE_TIMEOUT_MS`] in ticks of `tick_ms` (at least 1).
fn probe_timeout_ticks(tick_ms: u64) -> u32 {
    u32::try_from(PROBE_TIMEOUT_MS.div_ceil(tick_ms.max(1)).max(1)).unwrap_or(u32::MAX)
}

impl NodeConfig {
    /// A configuration with defaults: no peers, no network, `fsync` always, 50 ms ticks.
    #[must_use]
    pub fn new(id: u64, data_dir: impl Into<PathBuf>) -> Self {
        Self {
            id,
            data_dir: data_dir.into(),
            peers: Vec::new(),
            lazy_peers: Vec::new(),
            peer_listen: None,
            peer_secret: None,
            http_listen: None,
            client_tokens: None,
            fsync: FsyncPolicy::Always,
            tick_ms: 50,
            insecure: false,
            tls: None,
            ws: WsLimits::default(),
            app_dir: None,
        }
    }

    fn check(&self) -> Result<(), Error> {
        if self.id == 0 {
            return Err(Error::Config("--id must be at least 1".into()));
        }
        let networked = !self.peers.is_empty() || self.peer_listen.is_some();
        if networked && self.peer_secret.is_none() && !self.insecure {
            return Err(Error::Config(
                "a peer port (--peer-listen) or peers (--peer) without --peer-secret-file: give every leader the same secret file, or pass --insecure on a trusted network".into(),
            ));
        }
        if self.http_listen.is_some() && self.client_tokens.is_none() && !self.insecure {
            return Err(Error::Config(
                "HTTP is enabled without --client-tokens: give a tokens file, or pass --insecure on a trusted network".into(),
            ));
        }
        let mut ids: Vec<u64> = self.peers.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) || ids.contains(&self.id) || ids.contains(&0) {
            return Err(Error::Config(
                "peer ids must be distinct, non-zero and differ from --id".into(),
            ));
        }
        self.ws.check()?;
        if self.tick_ms == 0 {
            return Err(Error::Config("tick_ms must be at least 1".into()));
        }
        Ok(())
    }
}

/// What a durable write returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReceipt {
    /// The document's causal token right after the write: pass it to a read at any
    /// leader to read this write there.
    pub token: CausalToken,
    /// The key's value after the write (`None` after a delete).
    pub value: Option<Value>,
}

/// What a read returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResult {
    /// The key's value, `None` if absent.
    pub value: Option<Value>,
    /// The document's causal token at this read.
    pub token: CausalToken,
}

/// One change of a watched key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The key.
    pub key: String,
    /// Its new value, `None` if it was deleted.
    pub value: Option<Value>,
    /// The document's causal token after the change.
    pub token: CausalToken,
}

/// A stream of changes under a prefix of one document ([`NodeHandle::watch`]). It ends
/// when the node shuts down, or when the reader falls more than
/// [`WATCH_BUFFER`](crate::WATCH_BUFFER) changes behind (counted in metrics).
///
/// Cost: while a document has watchers, every message received for it compares the
/// values under the watched prefixes before and after (O(keys watched)); documents
/// without watchers pay nothing. A change received from a peer is reported once per
/// message, with the key's value after it (several writes in one message are one
/// change).
#[derive(Debug)]
pub struct Watch {
    pub(crate) rx: mpsc::Receiver<Change>,
}

impl Watch {
    /// The next change, `None` once the stream ended.
    pub async fn next(&mut self) -> Option<Change> {
        self.rx.recv().await
    }
}

/// A peer as [`NodeHandle::status`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStatus {
    /// Its id.
    pub id: u64,
    /// Whether an authenticated connection is up.
    pub connected: bool,
    /// Writes, summed over documents, it is known to miss.
    pub lag_ops: u64,
}

/// A node's state at a glance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// This leader's id.
    pub id: u64,
    /// Whether every document takes writes (none restoring or in conflict).
    pub can_write: bool,
    /// Why not, when `can_write` is false.
    pub reason: Option<String>,
    /// The peers, ascending.
    pub peers: Vec<PeerStatus>,
    /// Documents hosted.
    pub docs: usize,
    /// XXH3-64 over every document's name and state hash (crdt-sync's
    /// `Leader::state_hash`, a hash of its canonical state, cached until the state
    /// changes), in name order: converged leaders report the same digest.
    pub digest: u64,
}

pub(crate) struct Shared {
    pub(crate) id: u64,
    pub(crate) http_addr: Option<SocketAddr>,
    pub(crate) peer_addr: Option<SocketAddr>,
    pub(crate) metrics: NodeMetrics,
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) data_dir: PathBuf,
}

/// A cheap, cloneable handle to a running node: every call is a message to the task
/// that owns the documents.
#[derive(Clone)]
pub struct NodeHandle {
    pub(crate) tx: mpsc::Sender<Command>,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("id", &self.shared.id)
            .finish_non_exhaustive()
    }
}

/// The node: see [`Node::start`].
#[derive(Debug)]
pub struct Node;

impl Node {
    /// Opens the data directory (refusing a newer format, another node's directory or
    /// damaged content), restores every document, binds the peer and HTTP sockets and
    /// starts the node's tasks.
    ///
    /// # Errors
    /// [`Error::Config`], [`Error::DataDir`] or [`Error::Io`].
    pub async fn start(config: NodeConfig) -> Result<NodeHandle, Error> {
        config.check()?;
        let id = ReplicaId::new(config.id);
        let sync_config = crdt_sync::Config {
            probe_timeout_ticks: probe_timeout_ticks(config.tick_ms),
            ..crdt_sync::Config::default()
        };
        let dir = config.data_dir.clone();
        let sc = sync_config.clone();
        let (db, docs) = tokio::task::spawn_blocking(move || store::open(&dir, id, &sc))
            .await
            .map_err(|e| Error::Io(e.to_string()))??;
        let metrics = NodeMetrics::new();
        let (job_tx, job_rx) = std::sync::mpsc::channel();
        let (store_ev_tx, store_ev_rx) = mpsc::unbounded_channel();
        let path = config.data_dir.join(STORE_FILE);
        let m = metrics.clone();
        let policy = config.fsync;
        let store_thread = std::thread::Builder::new()
            .name(format!("crdt-leader-store-{}", config.id))
            .spawn(move || store::run(db, path, job_rx, store_ev_tx, policy, m))
            .map_err(|e| Error::Io(e.to_string()))?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (peer_ev_tx, peer_ev_rx) = mpsc::channel(4096);
        let peer_ids: Vec<u64> = config.peers.iter().map(|p| p.id).collect();
        let tls = config.tls.as_ref().map(Tls::new).transpose()?;
        let ctx = Arc::new(crate::peer::Ctx {
            my_id: config.id,
            allowed: peer_ids.clone(),
            secret: config.peer_secret.clone().unwrap_or_default(),
            events: peer_ev_tx.clone(),
            metrics: metrics.clone(),
            shutdown: shutdown_rx.clone(),
            tls: tls.clone(),
            handshake_log: crate::log_gate::LogGate::new(Duration::from_secs(1)),
        });
        let peer_addr = match config.peer_listen {
            Some(addr) => Some(crate::peer::listen(addr, ctx.clone()).await?),
            None => None,
        };
        for p in &config.peers {
            if let (Some(addr), true) = (&p.addr, config.id < p.id) {
                crate::peer::dial(addr.clone(), p.id, ctx.clone());
            }
        }
        let (tx, rx) = mpsc::channel(4096);
        let driver = Driver::new(
            id,
            sync_config,
            peer_ids
                .iter()
                .map(|p| (ReplicaId::new(*p), config.lazy_peers.contains(p)))
                .collect(),
            docs,
            job_tx,
            metrics.clone(),
            config.ws.connections_per_doc_max,
        );
        let tick = Duration::from_millis(config.tick_ms);
        tokio::spawn(driver.run(rx, peer_ev_rx, store_ev_rx, tick, store_thread));
        let mut shared = Shared {
            id: config.id,
            http_addr: None,
            peer_addr,
            metrics,
            shutdown,
            data_dir: config.data_dir.clone(),
        };
        if let Some(addr) = config.http_listen {
            let handle = NodeHandle {
                tx: tx.clone(),
                shared: Arc::new(Shared {
                    http_addr: None,
                    peer_addr,
                    metrics: shared.metrics.clone(),
                    shutdown: shared.shutdown.clone(),
                    data_dir: shared.data_dir.clone(),
                    id: config.id,
                }),
            };
            let tokens = config
                .client_tokens
                .clone()
                .unwrap_or_else(ClientTokens::open);
            shared.http_addr = Some(
                crate::http::serve(
                    addr,
                    handle,
                    tokens,
                    tls.map(|t| t.http),
                    config.ws,
                    config.app_dir.clone(),
                    shutdown_rx.clone(),
                )
                .await?,
            );
        }
        tracing::info!(id = config.id, http = ?shared.http_addr, peer = ?shared.peer_addr, "node started");
        Ok(NodeHandle {
            tx,
            shared: Arc::new(shared),
        })
    }
}

/// A write of `op` to `key` of `doc`, its names and value checked (in this order).
fn checked_write(doc: &str, key: &str, op: ValueOp) -> Result<KeyspaceOp, Error> {
    crate::check_doc_name(doc)?;
    check_key(key)?;
    check_value(&op)?;
    Ok(KeyspaceOp::Write {
        key: key.to_string(),
        op,
    })
}

fn check_key(key: &str) -> Result<(), Error> {
    if key.len() > KEY_BYTES_MAX {
        return Err(Error::TooLarge {
            what: "key",
            bytes: key.len(),
            max: KEY_BYTES_MAX,
        });
    }
    if key.is_empty() {
        return Err(Error::Invalid {
            what: "key",
            reason: "it is empty".into(),
        });
    }
    Ok(())
}

fn check_value(op: &ValueOp) -> Result<(), Error> {
    let len = match op {
        ValueOp::OrSetInsert(v)
        | ValueOp::OrSetRemove(v)
        | ValueOp::MvRegisterSet(v)
        | ValueOp::LwwSet { value: v, .. } => v.len(),
        _ => 0,
    };
    if len > VALUE_BYTES_MAX {
        return Err(Error::TooLarge {
            what: "value",
            bytes: len,
            max: VALUE_BYTES_MAX,
        });
    }
    Ok(())
}

impl NodeHandle {
    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> Command,
    ) -> Result<T, Error> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| Error::Shutdown)?;
        rx.await.map_err(|_| Error::Shutdown)?
    }

    /// This leader's id.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// The HTTP server's address, if one runs.
    #[must_use]
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.shared.http_addr
    }

    /// The peer listener's address, if one runs.
    #[must_use]
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.shared.peer_addr
    }

    /// Writes `op` to `key` of `doc` (created by its first write) and returns once the
    /// write is durable (group-committed with the writes that arrived meanwhile).
    ///
    /// # Errors
    /// [`Error::Invalid`] or [`Error::TooLarge`] for a bad name, key or value;
    /// [`Error::TypeMismatch`]; [`Error::Unavailable`] while the document cannot
    /// write; [`Error::Storage`] if the commit failed (nothing acknowledged).
    pub async fn write(&self, doc: &str, key: &str, op: ValueOp) -> Result<WriteReceipt, Error> {
        let op = checked_write(doc, key, op)?;
        self.submit(doc, op, WriteReply::Value).await
    }

    /// [`NodeHandle::write`] for the HTTP API: the answer carries the value in JSON,
    /// rendered by the driver from the strings the keyspace holds.
    pub(crate) async fn write_json(
        &self,
        doc: &str,
        key: &str,
        op: ValueOp,
    ) -> Result<JsonReceipt, Error> {
        let op = checked_write(doc, key, op)?;
        self.submit(doc, op, WriteReply::Json).await
    }

    /// Deletes `key` of `doc` (an observed remove: concurrent writes elsewhere win) and
    /// returns once durable.
    ///
    /// # Errors
    /// As [`NodeHandle::write`].
    pub async fn delete(&self, doc: &str, key: &str) -> Result<WriteReceipt, Error> {
        crate::check_doc_name(doc)?;
        check_key(key)?;
        let op = KeyspaceOp::Delete {
            key: key.to_string(),
        };
        self.submit(doc, op, WriteReply::Value).await
    }

    /// Sends a checked write to the driver and waits for its answer (once durable);
    /// observes the write's latency.
    async fn submit<T>(
        &self,
        doc: &str,
        op: KeyspaceOp,
        reply: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> WriteReply,
    ) -> Result<T, Error> {
        let started = Instant::now();
        let doc = doc.to_string();
        let r = self
            .call(|tx| Command::Write {
                doc,
                op,
                reply: reply(tx),
            })
            .await;
        if r.is_ok() {
            self.shared.metrics.observe_write(started.elapsed());
        }
        r
    }

    /// Reads `key` of `doc`. With a `token`, answers only once this leader has every
    /// write the token names, waiting up to `wait` (at most [`READ_WAIT_MAX`]).
    ///
    /// # Errors
    /// [`Error::NotYet`] if the token is still not covered after `wait`;
    /// [`Error::Invalid`] for a token of another document.
    pub async fn read(
        &self,
        doc: &str,
        key: &str,
        token: Option<&CausalToken>,
        wait: Duration,
    ) -> Result<ReadResult, Error> {
        crate::check_doc_name(doc)?;
        check_key(key)?;
        let vv = match token {
            Some(t) => Some(t.for_doc(doc)?.clone()),
            None => None,
        };
        let wait = wait.min(READ_WAIT_MAX);
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Read {
                doc: doc.to_string(),
                key: key.to_string(),
                token: vv,
                park: !wait.is_zero(),
                reply,
            })
            .await
            .map_err(|_| Error::Shutdown)?;
        // Without a wait the driver answers at once (covered or `NotYet`): await that
        // answer however long a busy driver takes. A zero timeout would fire before
        // the driver ran and report `NotYet` for a read that needs nothing.
        if wait.is_zero() {
            return rx.await.map_err(|_| Error::Shutdown)?;
        }
        match tokio::time::timeout(wait, rx).await {
            Ok(r) => r.map_err(|_| Error::Shutdown)?,
            Err(_) => Err(Error::NotYet),
        }
    }

    /// Up to `limit` keys of `doc` starting with `prefix`, in key order (empty for an
    /// unknown document).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad document name.
    pub async fn keys(&self, doc: &str, prefix: &str, limit: usize) -> Result<Vec<String>, Error> {
        crate::check_doc_name(doc)?;
        let (doc, prefix) = (doc.to_string(), prefix.to_string());
        self.call(|reply| Command::Keys {
            doc,
            prefix,
            limit,
            reply,
        })
        .await
    }

    /// Up to `limit` document names starting with `prefix`, in name order.
    ///
    /// # Errors
    /// [`Error::Shutdown`].
    pub async fn docs(&self, prefix: &str, limit: usize) -> Result<Vec<String>, Error> {
        let prefix = prefix.to_string();
        self.call(|reply| Command::Docs {
            prefix,
            limit,
            reply,
        })
        .await
    }

    /// A stream of changes to keys of `doc` starting with `prefix`, from now on: local
    /// writes and changes received from peers.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad document name.
    pub async fn watch(&self, doc: &str, prefix: &str) -> Result<Watch, Error> {
        crate::check_doc_name(doc)?;
        let (doc, prefix) = (doc.to_string(), prefix.to_string());
        self.call(|reply| Command::Watch { doc, prefix, reply })
            .await
    }

    /// The node's status (peers, lag, documents, digest).
    ///
    /// # Errors
    /// [`Error::Shutdown`].
    pub async fn status(&self) -> Result<Status, Error> {
        self.call(|reply| Command::Status {
            digest: true,
            reply,
        })
        .await
    }

    /// The metrics in Prometheus text format (gauges refreshed first; unlike
    /// [`NodeHandle::status`] this does not hash every document for the digest).
    ///
    /// # Errors
    /// [`Error::Shutdown`].
    pub async fn metrics_text(&self) -> Result<String, Error> {
        self.call(|reply| Command::Status {
            digest: false,
            reply,
        })
        .await?;
        Ok(self.shared.metrics.render())
    }

    /// Stops accepting requests, commits every write already accepted, closes peer
    /// connections and the HTTP server, and returns once the store is closed.
    pub async fn shutdown(&self) {
        let _ = self.shared.shutdown.send(true);
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Command::Shutdown { reply }).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// The data directory.
    #[must_use]
    pub fn data_dir(&self) -> &std::path::Path {
        &self.shared.data_dir
    }
}
