//! Networked, durable leaders of [`crdt_sync`]: an embeddable tokio [`Node`] that
//! hosts many named documents (each a `crdt_sync::Leader<crdt_core::Keyspace>`),
//! stores them in redb with group commit, replicates them to its peers over
//! authenticated TCP, and serves an HTTP API with bearer tokens, change streams and
//! Prometheus metrics. The `crdt-leader` binary is a thin shell over it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), crdt_leader::Error> {
//! use crdt_leader::{Node, NodeConfig};
//! use crdt_core::ValueOp;
//! use std::time::Duration;
//!
//! let node = Node::start(NodeConfig::new(1, "/var/lib/crdt-leader")).await?;
//! let receipt = node.write("cart-7", "items", ValueOp::OrSetInsert("milk".into())).await?;
//! // Durable here. The token reads this write back at any leader of the cluster:
//! let read = node.read("cart-7", "items", Some(&receipt.token), Duration::from_secs(1)).await?;
//! assert!(read.value.is_some());
//! node.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # HTTP API
//!
//! The binary serves the JSON API of issue 12 (a service sets `NodeConfig::http_listen`
//! to serve it): writes, reads with read-your-writes tokens, listings, change streams,
//! status and Prometheus metrics. Every path, field, status code and limit, and every
//! metric: `docs/HTTP.md` in the repository. The browsers' WebSocket:
//! `docs/WEBSOCKET.md`.
//!
//! # Architecture
//! One task, the **driver**, owns every document's sans-IO leader (as quinn's
//! endpoint driver owns quinn-proto's state): [`NodeHandle`]s send it requests over a
//! channel; peer connections send it frames; it answers, polls each leader's outgoing
//! messages into the peers' queues, and every `tick_ms` ticks only the documents with
//! pending work (unacknowledged deltas, lagging peers, a restore in progress, or
//! recent traffic) — an idle document costs nothing per tick. The driver works in
//! **rounds**: everything already waiting when it wakes (up to 256 requests and 256
//! peer frames) is handled, then each changed document's changes become one log
//! entry and its leader is polled once, so concurrent writes share a log entry and
//! one message per peer. A leader is polled only while every peer's queue has room,
//! so a burst (every document's digest after a reconnect) waits instead of being
//! dropped. A **store thread**
//! owns the redb database: it drains every pending record, writes them in one
//! transaction and commits once (**group commit**), then answers every write in the
//! batch; a write is acknowledged only after that commit is durable.
//!
//! A local write is applied in memory and offered to peers at once, and answered
//! after its commit: a read (here or at a peer) may see a write a crash then loses
//! from this leader's disk. That is safe: a restarted leader is a new incarnation
//! writing under a new id, never reusing a dot it may have sent, and its peers repair
//! what it lost. What is promised is that an **acknowledged** write is on disk.
//!
//! # WebSocket clients
//! `GET /v1/docs/{doc}/sync` upgrades to a WebSocket whose client (a browser tab
//! running crdt-wasm's `Doc`, the same `Leader<Keyspace>`) becomes a peer of that
//! document's leader for the connection's life. The token and the client's replica
//! id come in the first text frame (`{"token","replica"}`), never in the URL; the
//! server answers with its replica id and the access granted; then each side sends
//! crdt-sync messages as binary frames. A client may only introduce updates of the
//! writer ids it owns (its replica id and those derived for the incarnations it
//! presents): anything else is a forged write, refused whole before any state
//! changes, counted, and closed with [`WsClose::Forged`]; a `read` token's new
//! updates close with [`WsClose::ReadOnly`]. Limits are [`WsLimits`]; close codes
//! [`WsClose`]. The exact contract is `docs/WEBSOCKET.md`.
//!
//! # TLS
//! With [`NodeConfig::tls`] set ([`TlsConfig`]: PEM certificate chain, key and the
//! cluster's CA; the binary's `--tls-cert`, `--tls-key`, `--tls-ca`), the HTTP API is
//! served over HTTPS and peer connections use mutual TLS (rustls with the ring
//! provider): both sides present certificates that must chain to the CA, and the
//! dialler checks that the certificate names the dialled host. The HMAC handshake
//! then runs inside TLS. A failed TLS handshake closes that connection only and
//! counts as an authentication failure. HTTPS handshakes run in their own tasks, at
//! most 256 at once, 10 s each.
//!
//! # Limits
//!
//! | what | limit | over it |
//! |---|---|---|
//! | document name | [`DOC_NAME_BYTES_MAX`] bytes of `[A-Za-z0-9-_.:~]` | [`Error::TooLarge`] / [`Error::Invalid`] (HTTP 413 / 400) |
//! | key | `crdt_core::KEY_BYTES_MAX` bytes | [`Error::TooLarge`] (413) |
//! | value | [`VALUE_BYTES_MAX`] bytes | [`Error::TooLarge`] (413) |
//! | HTTP body | [`BODY_BYTES_MAX`] bytes | 413 |
//! | read wait | [`READ_WAIT_MAX`] | clamped |
//! | peer frame | [`FRAME_BYTES_MAX`] bytes | connection closed, counted |
//! | peer frame completion | [`FRAME_COMPLETE_TIMEOUT`] after its first bytes arrived | connection closed, counted |
//! | peer frame rate | [`FRAMES_PER_SECOND_MAX`] per connection | reading paused, counted |
//! | peer connections | [`PEER_CONNECTIONS_MAX`] | refused, counted |
//! | watcher backlog | [`WATCH_BUFFER`] changes | stream closed, counted |
//! | WebSocket hello | [`WS_HELLO_BYTES_MAX`] bytes, within [`WsLimits::hello_timeout`] | closed ([`WsClose::BadHello`], [`WsClose::HelloTimeout`]) |
//! | WebSocket frame | [`WsLimits::frame_bytes_max`] | closed ([`WsClose::TooLarge`]), counted |
//! | WebSocket frame rate | [`WsLimits::frames_per_second_max`] per connection | reading paused, counted |
//! | WebSocket connections | [`WsLimits::connections_max`] per node, [`WsLimits::connections_per_doc_max`] per document | closed ([`WsClose::Busy`]) |
//! | `--config` file (binary) | 1 MiB | refused at start |
//! | log lines of failed peer handshakes | one per second | left out; the next line counts them (`suppressed`), the metrics count every one |
//!
//! # On-disk format
//! `DATA_DIR/crdt-leader.redb`, a redb database (crash-safe, copy-on-write, with
//! checksummed commits), with three tables:
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | `"format"`, `"node_id"` | u64: [`STORE_FORMAT`], the node's `--id` |
//! | `checkpoints` | document name | u64 LE first log sequence number not folded in, then a crdt-sync [`Checkpoint`](crdt_sync::Checkpoint) (its own magic, format version and CRC-32) |
//! | `log` | (document name, u64 sequence) | u32 LE delta length, the delta (crdt-core canonical codec, `Keyspace`), the document's causal token after it (`VersionVector`), XXH3-64 of the preceding bytes (LE) |
//!
//! Every change of a document's state or token — a local write's delta, or what a
//! message from a peer added (`delta_since` the summary before it) — is one log
//! entry, so a write costs disk in proportion to its delta. When a document's log
//! reaches max(4,096, one per 64 bytes of its checkpoint) entries or max(1 MiB, its
//! checkpoint's size) bytes, its checkpoint is rewritten: folds are spaced in
//! proportion to the document, so each logged entry pays a bounded share of them
//! however large it grows, and a restart replays at most about the checkpoint's size
//! of log. The checkpoint record names the first entry it does not hold; the entries
//! below it are dead once it commits and are deleted at most 512 per later commit
//! (an idle store commits just for that; a start deletes what a stop left). At start every
//! document is restored with [`crdt_sync::Leader::restore_with_log`] from its
//! checkpoint and log, as a new incarnation; its writes wait until a checkpoint of the
//! new incarnation is committed (the incarnation lives in the same store as the data,
//! so an incarnation that wrote is never reused after a crash). A brand-new document
//! is checkpointed in the transaction of its first write.
//!
//! **Upgrade rule**: a build reads every store format up to its own and never
//! rewrites an older one without saying so; a directory with a newer format, another
//! node's id, or an entry failing its checksum is refused at start with an error that
//! names the file and what to do — never reset silently. A store file damaged so
//! that redb's own structure checks fail (a truncated file trips an assertion inside
//! redb) is refused the same way, not a panic.
//!
//! **`--fsync interval:MS`** acknowledges writes after a non-durable redb commit and
//! makes commits durable (fsync) at least every MS ms and at shutdown. redb alone
//! would forget non-durable commits when the process dies, so each such batch is
//! also appended (`write(2)`, no fsync) to `DATA_DIR/write-behind.log`
//! ([`WRITE_BEHIND_FILE`]) before its writes are answered; the kernel keeps that
//! across a process crash. At start its records are committed durably, in order, and
//! the file emptied (the replay is idempotent); every durable commit empties it too.
//! So **a process crash (`kill -9`) loses no acknowledged write; a power loss or
//! kernel crash loses at most the last MS ms of them** (the peers that already
//! received them repair this leader after its restart, if they were reached). A
//! record: kind (1 log entry, 2 checkpoint), u32 LE name length, name, u64 LE
//! sequence, u32 LE payload length, payload (as in the tables above), XXH3-64 LE of
//! the record. A torn tail (bytes after the last whole record that hold no intact
//! record: a power loss) ends the replay, with a warning. A record that fails its
//! checksum with an intact record after it is damage, not a torn write: the start is
//! refused naming the file and the byte, and the file is left as it is: truncating it
//! at that byte keeps the records before the damage, moving it away keeps none (either
//! loses at most the last MS ms of acknowledged writes). A record written whole cannot
//! be told from one a user's value imitates inside a torn record, so a torn tail whose
//! lost bytes held such a value is also refused: a safe failure, never a silent loss.
#![forbid(unsafe_code)]

mod answer;
mod auth;
mod blocked;
mod bucket;
mod client_admission;
mod compaction;
mod driver;
mod error;
mod http;
mod log_gate;
mod metrics;
mod name;
mod node;
mod peer;
mod round;
mod store;
mod sweep;
mod tls;
mod token;
mod write_behind;
mod ws;
mod ws_wire;

pub use auth::{Access, ClientTokens, Verdict};
pub use driver::WATCH_BUFFER;
pub use error::Error;
pub use http::{BODY_BYTES_MAX, LIST_LIMIT_MAX};
pub use name::{check_doc_name, DOC_NAME_BYTES_MAX};
pub use node::{
    Change, Node, NodeConfig, NodeHandle, PeerConfig, PeerStatus, ReadResult, Status, Watch,
    WriteReceipt, READ_WAIT_MAX, VALUE_BYTES_MAX,
};
pub use peer::{
    FRAMES_PER_SECOND_MAX, FRAME_BYTES_MAX, FRAME_COMPLETE_TIMEOUT, PEER_CONNECTIONS_MAX,
};
pub use store::{FsyncPolicy, STORE_FILE, STORE_FORMAT};
pub use tls::{TlsConfig, TlsPaths};
pub use token::{CausalToken, TOKEN_CHARS_MAX};
pub use write_behind::WRITE_BEHIND_FILE;
pub use ws_wire::{WsClose, WsLimits, WS_HELLO_BYTES_MAX, WS_PROTOCOL, WS_REPLICA_LIMIT};

/// 64 bits from the operating system's generator.
pub(crate) fn random_u64() -> Result<u64, Error> {
    getrandom::u64().map_err(|e| Error::Io(format!("no entropy from the operating system: {e}")))
}
