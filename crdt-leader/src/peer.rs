//! TCP between leaders: length-delimited frames, mutual HMAC challenge-response,
//! one connection per peer multiplexing every document, reconnect with exponential
//! backoff and jitter.
//!
//! # Wire format
//! Every frame is a 4-byte big-endian length and that many bytes (at most
//! [`FRAME_BYTES_MAX`]). A connection starts with the handshake:
//!
//! 1. each side sends `Hello` = `"CRDL"`, version `1`, its id (u64 LE), a fresh
//!    32-byte random nonce;
//! 2. each side sends `Proof` = HMAC-SHA256(secret, `"crdt-leader/peer-auth/v1"` ‖
//!    sender id ‖ receiver id ‖ receiver's nonce ‖ sender's nonce), and checks the
//!    other's. The secret never crosses the wire; a proof covers the other side's fresh
//!    nonce, so it cannot be replayed, and the ids and their order, so it cannot be
//!    reflected.
//!
//! Then every frame is a document message: `0x01`, the document name's length (u8),
//! the name, and a crdt-sync payload. A wrong secret, an unknown peer id, a malformed
//! or oversized frame closes that connection only, and is counted in metrics.

use crate::bucket::Bucket;
use crate::error::Error;
use crate::log_gate::LogGate;
use crate::metrics::NodeMetrics;
use crate::tls::{Io, Tls};
use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};
use tracing::Instrument;

/// The largest frame accepted or sent, in bytes (a crdt-sync message at its default
/// `message_bytes_max` plus the document name).
pub const FRAME_BYTES_MAX: usize = (16 << 20) + 256;
/// The most frames per second read from one peer connection (a token bucket with
/// one second of burst): above it, reading pauses, and TCP pushes back on the sender.
pub const FRAMES_PER_SECOND_MAX: u32 = 20_000;
/// The most concurrent peer connections (handshaking or up) accepted.
pub const PEER_CONNECTIONS_MAX: usize = 64;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a frame may stay incomplete once its first bytes arrived. A corrupted
/// length prefix would otherwise make the reader wait for megabytes that never come
/// while the connection looks up and every frame sent on it vanishes.
pub const FRAME_COMPLETE_TIMEOUT: Duration = Duration::from_secs(15);
const HELLO_MAGIC: &[u8; 4] = b"CRDL";
const WIRE_VERSION: u8 = 1;
const NONCE_BYTES: usize = 32;
const KIND_DOC: u8 = 1;
const OUTBOX_FRAMES: usize = 4096;
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

static CONN_IDS: AtomicU64 = AtomicU64::new(1);

/// What connections tell the driver.
pub(crate) enum PeerEvent {
    Up {
        peer: u64,
        conn: u64,
        tx: mpsc::Sender<Vec<u8>>,
    },
    Down {
        peer: u64,
        conn: u64,
    },
    Frame {
        peer: u64,
        doc: String,
        payload: Vec<u8>,
    },
}

/// A document message frame.
pub(crate) fn doc_frame(doc: &str, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(2 + doc.len() + payload.len());
    f.push(KIND_DOC);
    f.push(doc.len() as u8);
    f.extend_from_slice(doc.as_bytes());
    f.extend_from_slice(payload);
    f
}

/// Parses a document message frame.
pub(crate) fn parse_frame(frame: &[u8]) -> Option<(String, Vec<u8>)> {
    let (&kind, rest) = frame.split_first()?;
    if kind != KIND_DOC {
        return None;
    }
    let (&n, rest) = rest.split_first()?;
    let name = rest.get(..usize::from(n))?;
    let name = std::str::from_utf8(name).ok()?;
    crate::check_doc_name(name).ok()?;
    Some((name.to_string(), rest[usize::from(n)..].to_vec()))
}

fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(FRAME_BYTES_MAX)
        .new_codec()
}

fn proof(secret: &[u8], from: u64, to: u64, their_nonce: &[u8], my_nonce: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"crdt-leader/peer-auth/v1");
    mac.update(&from.to_le_bytes());
    mac.update(&to.to_le_bytes());
    mac.update(their_nonce);
    mac.update(my_nonce);
    mac
}

type Reader = FramedRead<ReadHalf<Box<dyn Io>>, LengthDelimitedCodec>;
type Writer = FramedWrite<WriteHalf<Box<dyn Io>>, LengthDelimitedCodec>;

/// Why a handshake failed (for the log and the metric's label).
#[derive(Debug, thiserror::Error)]
enum HandshakeError {
    #[error("i/o: {0}")]
    Io(String),
    #[error("malformed hello or proof")]
    Malformed,
    #[error("peer id {0} is not a configured peer (or not the one dialled)")]
    UnknownPeer(u64),
    #[error("wrong proof: the peer does not hold this cluster's secret")]
    BadProof,
}

/// Runs the handshake; returns the authenticated peer id.
async fn handshake(
    reader: &mut Reader,
    writer: &mut Writer,
    my_id: u64,
    expect: Option<u64>,
    allowed: &[u64],
    secret: &[u8],
) -> Result<u64, HandshakeError> {
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut nonce).map_err(|e| HandshakeError::Io(e.to_string()))?;
    let mut hello = Vec::with_capacity(45);
    hello.extend_from_slice(HELLO_MAGIC);
    hello.push(WIRE_VERSION);
    hello.extend_from_slice(&my_id.to_le_bytes());
    hello.extend_from_slice(&nonce);
    writer
        .send(&hello[..])
        .await
        .map_err(|e| HandshakeError::Io(e.to_string()))?;
    let theirs = match reader.next().await {
        Some(Ok(f)) => f,
        Some(Err(_)) => return Err(HandshakeError::Malformed),
        None => return Err(HandshakeError::Io("closed during handshake".into())),
    };
    if theirs.len() != 45 || &theirs[..4] != HELLO_MAGIC || theirs[4] != WIRE_VERSION {
        return Err(HandshakeError::Malformed);
    }
    let peer = u64::from_le_bytes(
        theirs[5..13]
            .try_into()
            .map_err(|_| HandshakeError::Malformed)?,
    );
    let their_nonce = &theirs[13..45];
    if peer == my_id || !allowed.contains(&peer) || expect.is_some_and(|e| e != peer) {
        return Err(HandshakeError::UnknownPeer(peer));
    }
    let mine = proof(secret, my_id, peer, their_nonce, &nonce)
        .finalize()
        .into_bytes();
    writer
        .send(&mine[..])
        .await
        .map_err(|e| HandshakeError::Io(e.to_string()))?;
    let their_proof = match reader.next().await {
        Some(Ok(f)) => f,
        Some(Err(_)) => return Err(HandshakeError::Malformed),
        None => return Err(HandshakeError::BadProof),
    };
    proof(secret, peer, my_id, &nonce, their_nonce)
        .verify_slice(&their_proof)
        .map_err(|_| HandshakeError::BadProof)?;
    Ok(peer)
}

/// What every peer connection of a node shares.
pub(crate) struct Ctx {
    pub(crate) my_id: u64,
    /// The configured peers' ids.
    pub(crate) allowed: Vec<u64>,
    pub(crate) secret: Vec<u8>,
    pub(crate) events: mpsc::Sender<PeerEvent>,
    pub(crate) metrics: NodeMetrics,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Mutual TLS around every connection, when configured.
    pub(crate) tls: Option<Tls>,
    /// Bounds the log lines of failed handshakes (anyone can cause them).
    pub(crate) handshake_log: LogGate,
}

/// Logs a failed handshake of an incoming connection, at most once a second.
fn handshake_failed(ctx: &Ctx, what: &str, e: &dyn std::fmt::Display) {
    if let Some(suppressed) = ctx.handshake_log.pass(std::time::Instant::now()) {
        tracing::warn!(error = %e, suppressed, "{what}; connection closed");
    }
}

/// Authenticates a connection and runs it until it closes. Returns whether the
/// handshake succeeded.
async fn connection(stream: Box<dyn Io>, expect: Option<u64>, ctx: &Ctx) -> bool {
    let (r, w) = tokio::io::split(stream);
    let mut reader = FramedRead::new(r, codec());
    let mut writer = FramedWrite::new(w, codec());
    let hs = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        handshake(
            &mut reader,
            &mut writer,
            ctx.my_id,
            expect,
            &ctx.allowed,
            &ctx.secret,
        ),
    )
    .await;
    let peer = match hs {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            match e {
                HandshakeError::Io(_) => {}
                HandshakeError::Malformed => ctx.metrics.frame_rejected("malformed_handshake"),
                HandshakeError::UnknownPeer(_) | HandshakeError::BadProof => {
                    ctx.metrics.auth_failed()
                }
            }
            if expect.is_none() {
                handshake_failed(ctx, "peer handshake failed", &e);
            } else {
                // Our own dial: not an outsider's doing, never gated (a port scanner
                // must not hide this leader's own misconfiguration).
                tracing::warn!(error = %e, "peer handshake failed; connection closed");
            }
            return false;
        }
        Err(_) => {
            ctx.metrics.frame_rejected("handshake_timeout");
            return false;
        }
    };
    let conn = CONN_IDS.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(OUTBOX_FRAMES);
    if ctx
        .events
        .send(PeerEvent::Up { peer, conn, tx })
        .await
        .is_err()
    {
        return true;
    }
    tracing::info!(peer, conn, "peer connected");
    let metrics = ctx.metrics.clone();
    let mut shutdown = ctx.shutdown.clone();
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
    let write_task = tokio::spawn(async move {
        let _done = done_tx;
        loop {
            tokio::select! {
                f = rx.recv() => match f {
                    Some(f) => {
                        let n = f.len();
                        if writer.send(&f[..]).await.is_err() {
                            break;
                        }
                        metrics.frame_sent(peer, n);
                    }
                    None => break,
                },
                _ = shutdown.changed() => break,
            }
        }
    });
    let mut shutdown = ctx.shutdown.clone();
    let mut bucket = Bucket::new(FRAMES_PER_SECOND_MAX);
    let mut partial_check = tokio::time::interval(Duration::from_secs(1));
    let mut partial_since: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            f = reader.next() => match f {
                Some(Ok(frame)) => {
                    partial_since = None;
                    ctx.metrics.frame_received(peer, frame.len());
                    if let Some(wait) = bucket.take() {
                        ctx.metrics.frames_throttled();
                        tokio::time::sleep(wait).await;
                    }
                    let Some((doc, payload)) = parse_frame(&frame) else {
                        ctx.metrics.frame_rejected("malformed");
                        tracing::warn!(peer, "malformed frame; connection closed");
                        break;
                    };
                    if ctx.events.send(PeerEvent::Frame { peer, doc, payload }).await.is_err() {
                        break;
                    }
                }
                Some(Err(e)) => {
                    let oversized = e
                        .get_ref()
                        .is_some_and(|i| i.is::<tokio_util::codec::LengthDelimitedCodecError>());
                    if oversized {
                        ctx.metrics.frame_rejected("oversized");
                        tracing::warn!(peer, "oversized frame; connection closed");
                    }
                    break;
                }
                None => break,
            },
            _ = partial_check.tick() => {
                if reader.read_buffer().is_empty() {
                    partial_since = None;
                } else if partial_since
                    .get_or_insert_with(tokio::time::Instant::now)
                    .elapsed()
                    > FRAME_COMPLETE_TIMEOUT
                {
                    ctx.metrics.frame_rejected("incomplete");
                    tracing::warn!(peer, "a frame stayed incomplete too long; connection closed");
                    break;
                }
            }
            _ = shutdown.changed() => break,
            _ = &mut done_rx => break,
        }
    }
    write_task.abort();
    let _ = ctx.events.send(PeerEvent::Down { peer, conn }).await;
    tracing::info!(peer, conn, "peer disconnected");
    true
}

/// Binds the peer listener and accepts connections until shutdown.
pub(crate) async fn listen(addr: SocketAddr, ctx: Arc<Ctx>) -> Result<SocketAddr, Error> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Io(format!("cannot listen for peers on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::Io(e.to_string()))?;
    let limit = Arc::new(Semaphore::new(PEER_CONNECTIONS_MAX));
    let mut stop = ctx.shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                a = listener.accept() => {
                    let Ok((stream, remote)) = a else { continue };
                    let Ok(permit) = limit.clone().try_acquire_owned() else {
                        ctx.metrics.frame_rejected("too_many_connections");
                        continue;
                    };
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        let _ = stream.set_nodelay(true);
                        let io: Box<dyn Io> = match &ctx.tls {
                            None => Box::new(stream),
                            Some(tls) => {
                                let hs = tokio::time::timeout(
                                    HANDSHAKE_TIMEOUT,
                                    tls.peer_accept.accept(stream),
                                )
                                .await;
                                match hs {
                                    Ok(Ok(s)) => Box::new(s),
                                    Ok(Err(e)) => {
                                        ctx.metrics.auth_failed();
                                        handshake_failed(&ctx, "peer TLS handshake failed", &e);
                                        return;
                                    }
                                    Err(_) => {
                                        ctx.metrics.frame_rejected("handshake_timeout");
                                        return;
                                    }
                                }
                            }
                        };
                        connection(io, None, &ctx).await;
                        drop(permit);
                    }.instrument(tracing::info_span!("peer_in", %remote)));
                }
                _ = stop.changed() => return,
            }
        }
    });
    Ok(local)
}

/// Opens a connection to `addr`: TCP, then TLS when configured.
async fn connect(addr: &str, ctx: &Ctx) -> Result<Box<dyn Io>, String> {
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let Some(tls) = &ctx.tls else {
        return Ok(Box::new(stream));
    };
    let name = crate::tls::server_name(addr).map_err(|e| e.to_string())?;
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.peer_connect.connect(name, stream)).await {
        Ok(Ok(s)) => Ok(Box::new(s)),
        Ok(Err(e)) => {
            ctx.metrics.auth_failed();
            Err(format!("TLS handshake: {e}"))
        }
        Err(_) => Err("TLS handshake timed out".into()),
    }
}

/// Keeps a connection to `peer` at `addr` up until shutdown, reconnecting with
/// exponential backoff and jitter.
pub(crate) fn dial(addr: String, peer: u64, ctx: Arc<Ctx>) {
    let mut stop = ctx.shutdown.clone();
    tokio::spawn(async move {
        let mut backoff = BACKOFF_MIN;
        // The last failure logged at `warn`: a new kind of failure is logged there
        // (a wrong certificate or address shows up at the default level), its repeats
        // while the peer stays away only at `debug`.
        let mut last_failure: Option<String> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            match connect(&addr, &ctx).await {
                Ok(io) => {
                    if connection(io, Some(peer), &ctx).await {
                        backoff = BACKOFF_MIN;
                        last_failure = None;
                    }
                }
                Err(e) if last_failure.as_deref() == Some(e.as_str()) => {
                    tracing::debug!(peer, addr, error = %e, "cannot reach peer")
                }
                Err(e) => {
                    tracing::warn!(peer, addr, error = %e, "cannot reach peer; retrying with backoff");
                    last_failure = Some(e);
                }
            }
            let jitter = crate::random_u64().unwrap_or(0) % (backoff.as_millis() as u64 / 2 + 1);
            let wait = backoff / 2 + Duration::from_millis(jitter);
            backoff = (backoff * 2).min(BACKOFF_MAX);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_bad_ones_are_refused() {
        let f = doc_frame("doc-1", b"payload");
        assert_eq!(
            parse_frame(&f),
            Some(("doc-1".to_string(), b"payload".to_vec()))
        );
        assert_eq!(parse_frame(&[]), None);
        assert_eq!(parse_frame(&[2, 1, b'a']), None);
        assert_eq!(parse_frame(&[1, 9, b'a']), None);
        assert_eq!(parse_frame(&[1, 1, b'/']), None);
        assert_eq!(parse_frame(&[1, 0]), None);
    }

    #[test]
    fn proofs_depend_on_secret_direction_and_nonces() {
        let p = |s: &[u8], a, b, n1: &[u8], n2: &[u8]| {
            proof(s, a, b, n1, n2).finalize().into_bytes().to_vec()
        };
        let base = p(b"k", 1, 2, b"x", b"y");
        assert_ne!(base, p(b"j", 1, 2, b"x", b"y"));
        assert_ne!(base, p(b"k", 2, 1, b"x", b"y"));
        assert_ne!(base, p(b"k", 1, 2, b"y", b"x"));
        assert_eq!(base, p(b"k", 1, 2, b"x", b"y"));
    }
}
