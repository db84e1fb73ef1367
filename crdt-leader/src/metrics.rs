//! The node's Prometheus metrics (text format at `GET /metrics`).
//!
//! Every queue has a gauge, every drop or rejection a counter and every wait a
//! histogram; names carry their unit. Per-peer series are labelled `peer="<id>"`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

type Labels = Vec<(String, String)>;

fn peer_label(peer: u64) -> Labels {
    vec![("peer".to_string(), peer.to_string())]
}

/// The metrics of one node. Cloning shares them.
#[derive(Clone)]
pub(crate) struct NodeMetrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    write_latency: Histogram,
    fsync_latency: Histogram,
    checkpoints: Counter,
    checkpoint_bytes: Counter,
    peer_connected: Family<Labels, Gauge>,
    peer_lag_ops: Family<Labels, Gauge>,
    peer_lag_seconds: Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    peer_bytes_sent: Family<Labels, Counter>,
    peer_bytes_received: Family<Labels, Counter>,
    peer_frames_sent: Family<Labels, Counter>,
    peer_frames_received: Family<Labels, Counter>,
    peer_connects: Family<Labels, Counter>,
    rejected_frames: Family<Labels, Counter>,
    rejected_messages: Counter,
    auth_failures: Counter,
    frames_dropped: Counter,
    frames_throttled: Counter,
    repairs_sent: Counter,
    gaps: Counter,
    divergences: Counter,
    lww_discards: Counter,
    type_conflicts: Counter,
    watchers_dropped: Counter,
    keys: Gauge,
    docs: Gauge,
    docs_active: Gauge,
    buffered_bytes: Gauge,
    ws: WsMetrics,
}

/// The WebSocket clients' metrics.
#[derive(Default)]
struct WsMetrics {
    connections: Gauge,
    frames_received: Counter,
    frames_sent: Counter,
    bytes_received: Counter,
    bytes_sent: Counter,
    frames_throttled: Counter,
    rejected_frames: Family<Labels, Counter>,
    forged_writes: Counter,
    auth_failures: Family<Labels, Counter>,
    closes: Family<Labels, Counter>,
}

fn reason_label(reason: &str) -> Labels {
    vec![("reason".to_string(), reason.to_string())]
}

impl NodeMetrics {
    /// A fresh registry with every metric registered.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("crdt_leader");
        let write_latency = Histogram::new(exponential_buckets(0.000_1, 2.0, 18));
        let fsync_latency = Histogram::new(exponential_buckets(0.000_1, 2.0, 18));
        let inner = Inner {
            registry: Registry::default(),
            write_latency,
            fsync_latency,
            checkpoints: Counter::default(),
            checkpoint_bytes: Counter::default(),
            peer_connected: Family::default(),
            peer_lag_ops: Family::default(),
            peer_lag_seconds: Family::default(),
            peer_bytes_sent: Family::default(),
            peer_bytes_received: Family::default(),
            peer_frames_sent: Family::default(),
            peer_frames_received: Family::default(),
            peer_connects: Family::default(),
            rejected_frames: Family::default(),
            rejected_messages: Counter::default(),
            auth_failures: Counter::default(),
            frames_dropped: Counter::default(),
            frames_throttled: Counter::default(),
            repairs_sent: Counter::default(),
            gaps: Counter::default(),
            divergences: Counter::default(),
            lww_discards: Counter::default(),
            type_conflicts: Counter::default(),
            watchers_dropped: Counter::default(),
            keys: Gauge::default(),
            docs: Gauge::default(),
            docs_active: Gauge::default(),
            buffered_bytes: Gauge::default(),
            ws: WsMetrics::default(),
        };
        let r = &mut registry;
        r.register_with_unit(
            "write_latency",
            "Time from a write's arrival at the node to its durable acknowledgement",
            prometheus_client::registry::Unit::Seconds,
            inner.write_latency.clone(),
        );
        r.register_with_unit(
            "fsync",
            "Time of each durable store commit (group commit: one per batch of writes)",
            prometheus_client::registry::Unit::Seconds,
            inner.fsync_latency.clone(),
        );
        r.register(
            "checkpoints",
            "Checkpoints committed: a document's log folded into a new encoding of its state",
            inner.checkpoints.clone(),
        );
        r.register_with_unit(
            "checkpoint",
            "Bytes of the checkpoints committed",
            prometheus_client::registry::Unit::Bytes,
            inner.checkpoint_bytes.clone(),
        );
        r.register(
            "peer_connected",
            "1 while an authenticated connection to the peer is up",
            inner.peer_connected.clone(),
        );
        r.register(
            "peer_lag_ops",
            "Writes (summed over documents) the peer is known to miss",
            inner.peer_lag_ops.clone(),
        );
        r.register_with_unit(
            "peer_lag",
            "How long the peer has continuously lacked some write of a document",
            prometheus_client::registry::Unit::Seconds,
            inner.peer_lag_seconds.clone(),
        );
        r.register_with_unit(
            "peer_sent",
            "Bytes of frames sent to the peer",
            prometheus_client::registry::Unit::Bytes,
            inner.peer_bytes_sent.clone(),
        );
        r.register_with_unit(
            "peer_received",
            "Bytes of frames received from the peer",
            prometheus_client::registry::Unit::Bytes,
            inner.peer_bytes_received.clone(),
        );
        r.register(
            "peer_frames_sent",
            "Frames sent to the peer",
            inner.peer_frames_sent.clone(),
        );
        r.register(
            "peer_frames_received",
            "Frames received from the peer",
            inner.peer_frames_received.clone(),
        );
        r.register(
            "peer_connects",
            "Authenticated connections established with the peer",
            inner.peer_connects.clone(),
        );
        r.register(
            "rejected_frames",
            "Peer frames rejected (the connection was closed), by reason",
            inner.rejected_frames.clone(),
        );
        r.register(
            "rejected_messages",
            "Protocol messages a document's leader refused",
            inner.rejected_messages.clone(),
        );
        r.register(
            "auth_failures",
            "Peer connections that failed authentication",
            inner.auth_failures.clone(),
        );
        r.register(
            "frames_dropped",
            "Outgoing frames dropped because the peer connection had closed (the protocol resends)",
            inner.frames_dropped.clone(),
        );
        r.register(
            "frames_throttled",
            "Incoming peer frames over the per-connection rate that paused reading",
            inner.frames_throttled.clone(),
        );
        r.register(
            "repairs_sent",
            "Repair messages sent (a peer lacked what the buffer no longer had)",
            inner.repairs_sent.clone(),
        );
        r.register(
            "gaps",
            "Intervals received out of order and repaired instead",
            inner.gaps.clone(),
        );
        r.register(
            "divergences",
            "Digests showing a peer with equal summary but different state",
            inner.divergences.clone(),
        );
        r.register(
            "lww_concurrent_discards",
            "Last-writer-wins writes hidden by a concurrent write that won (LWW's silent losses)",
            inner.lww_discards.clone(),
        );
        r.register(
            "type_conflicts",
            "Writes refused because the key holds another type",
            inner.type_conflicts.clone(),
        );
        r.register(
            "watchers_dropped",
            "Change streams closed because their reader fell too far behind",
            inner.watchers_dropped.clone(),
        );
        r.register("keys", "Keys over all documents", inner.keys.clone());
        r.register("docs", "Documents hosted", inner.docs.clone());
        r.register(
            "docs_active",
            "Documents with pending replication work (ticked)",
            inner.docs_active.clone(),
        );
        r.register_with_unit(
            "buffered",
            "Memory of the deltas buffered for peers (slots and heap, what buffer_bytes_max bounds)",
            prometheus_client::registry::Unit::Bytes,
            inner.buffered_bytes.clone(),
        );
        register_ws(r, &inner.ws);
        let inner = Inner { registry, ..inner };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The metrics in OpenMetrics text (what `prometheus-client` writes;
    /// [`classic_text`] rewrites it in Prometheus's classic format).
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let _ = encode(&mut out, &self.inner.registry);
        out
    }

    pub(crate) fn observe_write(&self, d: Duration) {
        self.inner.write_latency.observe(d.as_secs_f64());
    }
    pub(crate) fn observe_fsync(&self, d: Duration) {
        self.inner.fsync_latency.observe(d.as_secs_f64());
    }
    pub(crate) fn observe_checkpoint(&self, bytes: usize) {
        self.inner.checkpoints.inc();
        self.inner.checkpoint_bytes.inc_by(bytes as u64);
    }
    pub(crate) fn set_connected(&self, peer: u64, up: bool) {
        self.inner
            .peer_connected
            .get_or_create(&peer_label(peer))
            .set(i64::from(up));
        if up {
            self.inner
                .peer_connects
                .get_or_create(&peer_label(peer))
                .inc();
        }
    }
    pub(crate) fn set_lag(&self, peer: u64, ops: u64, seconds: f64) {
        self.inner
            .peer_lag_ops
            .get_or_create(&peer_label(peer))
            .set(i64::try_from(ops).unwrap_or(i64::MAX));
        self.inner
            .peer_lag_seconds
            .get_or_create(&peer_label(peer))
            .set(seconds);
    }
    pub(crate) fn frame_sent(&self, peer: u64, bytes: usize) {
        let l = peer_label(peer);
        self.inner.peer_frames_sent.get_or_create(&l).inc();
        self.inner
            .peer_bytes_sent
            .get_or_create(&l)
            .inc_by(bytes as u64);
    }
    pub(crate) fn frame_received(&self, peer: u64, bytes: usize) {
        let l = peer_label(peer);
        self.inner.peer_frames_received.get_or_create(&l).inc();
        self.inner
            .peer_bytes_received
            .get_or_create(&l)
            .inc_by(bytes as u64);
    }
    pub(crate) fn frame_rejected(&self, reason: &str) {
        self.inner
            .rejected_frames
            .get_or_create(&reason_label(reason))
            .inc();
    }
    pub(crate) fn message_rejected(&self) {
        self.inner.rejected_messages.inc();
    }
    pub(crate) fn auth_failed(&self) {
        self.inner.auth_failures.inc();
    }
    pub(crate) fn frame_dropped(&self) {
        self.inner.frames_dropped.inc();
    }
    pub(crate) fn frames_throttled(&self) {
        self.inner.frames_throttled.inc();
    }
    pub(crate) fn type_conflict(&self) {
        self.inner.type_conflicts.inc();
    }
    pub(crate) fn watcher_dropped(&self) {
        self.inner.watchers_dropped.inc();
    }
    /// Brings the counters summed from the documents' leaders up to their totals.
    pub(crate) fn sync_totals(&self, repairs: u64, gaps: u64, divergences: u64, lww: u64) {
        for (c, total) in [
            (&self.inner.repairs_sent, repairs),
            (&self.inner.gaps, gaps),
            (&self.inner.divergences, divergences),
            (&self.inner.lww_discards, lww),
        ] {
            let now = c.get();
            if total > now {
                c.inc_by(total - now);
            }
        }
    }
    pub(crate) fn set_sizes(&self, docs: usize, active: usize, keys: usize, buffered: u64) {
        self.inner.docs.set(docs as i64);
        self.inner.docs_active.set(active as i64);
        self.inner.keys.set(keys as i64);
        self.inner
            .buffered_bytes
            .set(i64::try_from(buffered).unwrap_or(i64::MAX));
    }

    pub(crate) fn ws_connected(&self, up: bool) {
        if up {
            self.inner.ws.connections.inc();
        } else {
            self.inner.ws.connections.dec();
        }
    }
    pub(crate) fn ws_frame_received(&self, bytes: usize) {
        self.inner.ws.frames_received.inc();
        self.inner.ws.bytes_received.inc_by(bytes as u64);
    }
    pub(crate) fn ws_frame_sent(&self, bytes: usize) {
        self.inner.ws.frames_sent.inc();
        self.inner.ws.bytes_sent.inc_by(bytes as u64);
    }
    pub(crate) fn ws_throttled(&self) {
        self.inner.ws.frames_throttled.inc();
    }
    pub(crate) fn ws_frame_rejected(&self, reason: &str) {
        self.inner
            .ws
            .rejected_frames
            .get_or_create(&reason_label(reason))
            .inc();
    }
    pub(crate) fn ws_forged_write(&self) {
        self.inner.ws.forged_writes.inc();
    }
    pub(crate) fn ws_auth_failed(&self, reason: &str) {
        self.inner
            .ws
            .auth_failures
            .get_or_create(&reason_label(reason))
            .inc();
    }
    pub(crate) fn ws_closed(&self, reason: &str) {
        self.inner
            .ws
            .closes
            .get_or_create(&reason_label(reason))
            .inc();
    }
}

fn register_ws(r: &mut Registry, ws: &WsMetrics) {
    r.register(
        "ws_connections",
        "Open WebSocket client connections",
        ws.connections.clone(),
    );
    r.register(
        "ws_frames_received",
        "Binary frames received from WebSocket clients",
        ws.frames_received.clone(),
    );
    r.register(
        "ws_frames_sent",
        "Binary frames sent to WebSocket clients",
        ws.frames_sent.clone(),
    );
    r.register_with_unit(
        "ws_received",
        "Bytes of binary frames received from WebSocket clients",
        prometheus_client::registry::Unit::Bytes,
        ws.bytes_received.clone(),
    );
    r.register_with_unit(
        "ws_sent",
        "Bytes of binary frames sent to WebSocket clients",
        prometheus_client::registry::Unit::Bytes,
        ws.bytes_sent.clone(),
    );
    r.register(
        "ws_frames_throttled",
        "Client frames over the per-connection rate that paused reading",
        ws.frames_throttled.clone(),
    );
    r.register(
        "ws_rejected_frames",
        "Client frames rejected (the connection was closed), by reason",
        ws.rejected_frames.clone(),
    );
    r.register(
        "ws_forged_writes",
        "Client frames carrying new updates of a writer the client does not own",
        ws.forged_writes.clone(),
    );
    r.register(
        "ws_auth_failures",
        "WebSocket hellos refused: unauthorized (no or unknown token) or forbidden (no right on the document)",
        ws.auth_failures.clone(),
    );
    r.register(
        "ws_closes",
        "WebSocket connections closed by the server, by close reason",
        ws.closes.clone(),
    );
}
/// OpenMetrics text rewritten in Prometheus's classic text format (version 0.0.4),
/// for scrapers and parsers that ask for no OpenMetrics: a counter family is declared
/// under its samples' name (`# TYPE x_total counter`, not `# TYPE x counter`), and the
/// `# UNIT` and `# EOF` lines, which the classic format has not, are left out. Sample
/// lines are the same in both formats.
pub(crate) fn classic_text(openmetrics: &str) -> String {
    let counters: std::collections::BTreeSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|p| line.strip_prefix(p).map(|rest| (p, rest)));
        match meta {
            Some((p, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                if counters.contains(name) && !name.ends_with("_total") {
                    out.push_str(p);
                    out.push_str(name);
                    out.push_str("_total ");
                    out.push_str(tail);
                } else {
                    out.push_str(line);
                }
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In the classic format every counter sample is declared under its own name, so a
    /// classic parser reads it as a counter, not as an untyped sample; the
    /// OpenMetrics-only lines are gone and the samples are unchanged.
    #[test]
    fn the_classic_text_declares_counters_under_their_samples_names() {
        let m = NodeMetrics::new();
        m.type_conflict();
        m.observe_write(Duration::from_millis(3));
        m.observe_checkpoint(100);
        let om = m.render();
        assert!(
            om.contains("# TYPE crdt_leader_type_conflicts counter"),
            "{om}"
        );
        let classic = classic_text(&om);
        assert!(
            !classic.contains("# EOF") && !classic.contains("# UNIT"),
            "{classic}"
        );
        let samples = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        assert_eq!(samples(&om), samples(&classic));
        let lines = classic.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("classic text");
        let mut counters = 0;
        for s in &scrape.samples {
            if s.metric.ends_with("_total") {
                counters += 1;
                assert!(
                    matches!(s.value, prometheus_parse::Value::Counter(_)),
                    "{}: {:?}",
                    s.metric,
                    s.value
                );
            }
            // This parser leaves a histogram's `_sum` and `_count` untyped.
            let histogram_part = ["_sum", "_count"].iter().any(|x| {
                s.metric
                    .strip_suffix(x)
                    .is_some_and(|base| classic.contains(&format!("# TYPE {base} histogram")))
            });
            assert!(
                histogram_part || !matches!(s.value, prometheus_parse::Value::Untyped(_)),
                "{} is untyped",
                s.metric
            );
        }
        assert!(counters > 5, "{classic}");
        let conflicts = scrape
            .samples
            .iter()
            .find(|s| s.metric == "crdt_leader_type_conflicts_total")
            .expect("the counter");
        assert!(matches!(conflicts.value, prometheus_parse::Value::Counter(v) if v == 1.0));
        assert!(scrape.docs.contains_key("crdt_leader_type_conflicts_total"));
    }
}
