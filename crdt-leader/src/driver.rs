//! The task that owns every document's sans-IO leader (like quinn's endpoint driver
//! over quinn-proto): it applies writes, feeds peer frames in, polls frames out, ticks
//! documents with pending work and hands durable records to the store thread.

use crate::answer::WriteReply;
use crate::blocked::Blocked;
use crate::compaction::LogSize;
use crate::error::Error;
use crate::metrics::NodeMetrics;
use crate::node::{Change, PeerStatus, ReadResult, Status, Watch};
use crate::peer::{doc_frame, PeerEvent};
use crate::round::{PendingLog, Round, ROUND_MAX};
use crate::store::{encode_entry, Job, StoreEvent, StoredDoc};
use crate::token::CausalToken;
use crate::write_behind::Record;
use crdt_core::{
    CoreError, DeltaCrdt, Keyspace, KeyspaceOp, ReplicaId, Value, ValueOp, VersionVector,
};
use crdt_sync::{Config, Leader, SyncError};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

#[path = "driver_clients.rs"]
mod clients;
pub(crate) use clients::{ClientCommand, Clients};

/// How many changes a watcher may fall behind before its stream is closed.
pub const WATCH_BUFFER: usize = 1024;
/// Quiet ticks after which a document stops being ticked (covers a digest round).
const QUIET_TICKS: u32 = 16;
/// The most documents one tick visits. With more active documents, ticks take turns
/// (a cursor walks the active set), so a tick's cost stays bounded and the driver keeps
/// reading peers' acknowledgements between ticks: after 100,000 documents were written,
/// ticking all of them every tick took longer than the tick and starved the rest.
/// crdt-sync counts its timers in ticks, so a document's retransmissions and digests
/// just come proportionally later.
pub(crate) const TICK_DOCS_MAX: usize = 4096;

type Reply<T> = oneshot::Sender<Result<T, Error>>;

/// A request from a handle.
pub(crate) enum Command {
    Write {
        doc: String,
        op: KeyspaceOp,
        reply: WriteReply,
    },
    Read {
        doc: String,
        key: String,
        token: Option<VersionVector>,
        park: bool,
        reply: Reply<ReadResult>,
    },
    Keys {
        doc: String,
        prefix: String,
        limit: usize,
        reply: Reply<Vec<String>>,
    },
    Docs {
        prefix: String,
        limit: usize,
        reply: Reply<Vec<String>>,
    },
    Watch {
        doc: String,
        prefix: String,
        reply: Reply<Watch>,
    },
    Status {
        /// Whether to compute the digest (O(total state): not for metric scrapes).
        digest: bool,
        reply: Reply<Status>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
    /// About a WebSocket client.
    Client(ClientCommand),
}

struct Watcher {
    prefix: String,
    tx: mpsc::Sender<Change>,
}

struct Waiter {
    key: String,
    token: VersionVector,
    reply: Reply<ReadResult>,
}

struct Doc {
    leader: Leader<Keyspace>,
    next_seq: u64,
    /// The log since the last checkpoint ([`LogSize::fold_due`]).
    log: LogSize,
    /// A checkpoint of a restored leader's new incarnation is on its way to disk.
    checkpoint_pending: bool,
    quiet_ticks: u32,
    watchers: Vec<Watcher>,
}

impl Doc {
    /// Sends a checkpoint of the leader to the store, which folds the log into it
    /// (`notify`: tell the driver once it is durable, for `Leader::persisted`).
    fn checkpoint(&mut self, store: &std::sync::mpsc::Sender<Job>, name: &str, notify: bool) {
        let checkpoint = self.leader.checkpoint();
        self.log.folded(checkpoint.bytes().len());
        let _ = store.send(Job::Checkpoint {
            doc: name.to_string(),
            next_seq: self.next_seq,
            checkpoint,
            notify,
        });
    }
}

struct Link {
    conn: u64,
    tx: mpsc::Sender<Vec<u8>>,
}

pub(crate) struct Driver {
    id: ReplicaId,
    config: Config,
    peers: Vec<ReplicaId>,
    /// The peers every document's leader pushes no writes to (`NodeConfig::lazy_peers`).
    lazy: BTreeSet<ReplicaId>,
    docs: BTreeMap<String, Doc>,
    active: BTreeSet<String>,
    links: BTreeMap<u64, Link>,
    store: std::sync::mpsc::Sender<Job>,
    waiters: HashMap<String, Vec<Waiter>>,
    metrics: NodeMetrics,
    /// Per peer, since when some document has continuously had writes it lacks.
    behind_since: BTreeMap<u64, Instant>,
    /// The last document ticked, when the previous tick stopped at [`TICK_DOCS_MAX`].
    tick_cursor: Option<String>,
    /// Peers some document lagged behind in the current pass over the active set.
    pass_behind: BTreeSet<u64>,
    /// What the current round leaves for its flush.
    round: Round,
    /// Documents whose leaders still had messages when a peer's outbox was full.
    blocked: Blocked,
    /// WebSocket clients, peers of their documents' leaders.
    clients: Clients,
    /// The most clients per document.
    ws_per_doc_max: usize,
}

/// Whether some peer's outbox is full.
fn links_full(links: &BTreeMap<u64, Link>) -> bool {
    links.values().any(|l| l.tx.capacity() == 0)
}

/// A type as the HTTP API names it (its `"type"` field).
fn type_name(t: crdt_core::ValueType) -> &'static str {
    match t {
        crdt_core::ValueType::GCounter => "gcounter",
        crdt_core::ValueType::PnCounter => "pncounter",
        crdt_core::ValueType::OrSet => "orset",
        crdt_core::ValueType::LwwRegister => "lww",
        crdt_core::ValueType::MvRegister => "mvreg",
    }
}

/// Why a document's leader takes no writes, in a server's terms: the protocol's own
/// message for a restored leader speaks to code that drives a `Leader` itself.
fn why_not_writable(e: &SyncError) -> String {
    match e {
        SyncError::Restoring => format!(
            "this leader restarted and is asking its peers which incarnation of it they \
             saw last, so that it never writes under one an earlier copy used; it writes \
             once every peer answers, or after {} s if one stays unreachable: retry shortly",
            crate::node::PROBE_TIMEOUT_MS / 1000
        ),
        e => e.to_string(),
    }
}

fn value_of(leader: &Leader<Keyspace>, key: &str) -> Option<Value> {
    leader.state().get(key)
}

impl Driver {
    /// Adds the cluster's peers to a document's leader (those it has stay), lazy or not
    /// as configured. Every peer is tried; the first refusal is returned.
    fn add_cluster_peers(&self, leader: &mut Leader<Keyspace>) -> Result<(), SyncError> {
        let mut first = Ok(());
        for p in &self.peers {
            let added = leader
                .add_peer(*p)
                .and_then(|()| leader.set_peer_lazy(*p, self.lazy.contains(p)));
            if first.is_ok() {
                first = added;
            }
        }
        first
    }

    pub(crate) fn new(
        id: ReplicaId,
        config: Config,
        peers: Vec<(ReplicaId, bool)>,
        stored: Vec<StoredDoc>,
        store: std::sync::mpsc::Sender<Job>,
        metrics: NodeMetrics,
        ws_per_doc_max: usize,
    ) -> Self {
        let lazy = peers.iter().filter(|(_, l)| *l).map(|(p, _)| *p).collect();
        let mut d = Self {
            id,
            config,
            peers: peers.into_iter().map(|(p, _)| p).collect(),
            lazy,
            docs: BTreeMap::new(),
            active: BTreeSet::new(),
            links: BTreeMap::new(),
            store,
            waiters: HashMap::new(),
            metrics,
            behind_since: BTreeMap::new(),
            tick_cursor: None,
            pass_behind: BTreeSet::new(),
            round: Round::default(),
            blocked: Blocked::default(),
            clients: Clients::default(),
            ws_per_doc_max,
        };
        for s in stored {
            let mut leader = s.leader;
            // Peers added to the configuration since the checkpoint, too; as before, a
            // peer the leader refuses (over `peers_max`) is left out.
            let _ = d.add_cluster_peers(&mut leader);
            d.docs.insert(
                s.name.clone(),
                Doc {
                    leader,
                    next_seq: s.next_seq,
                    log: s.log,
                    checkpoint_pending: false,
                    quiet_ticks: 0,
                    watchers: Vec::new(),
                },
            );
            d.active.insert(s.name.clone());
            d.after_change(&s.name);
        }
        d.flush();
        d
    }

    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut peer_events: mpsc::Receiver<PeerEvent>,
        mut store_events: mpsc::UnboundedReceiver<StoreEvent>,
        tick: Duration,
        store_thread: std::thread::JoinHandle<()>,
    ) {
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let shutdown = tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Shutdown { reply }) => Some(Some(reply)),
                    Some(cmd) => {
                        self.command(cmd);
                        None
                    }
                    None => Some(None),
                },
                Some(ev) = peer_events.recv() => {
                    self.peer_event(ev);
                    None
                }
                Some(ev) = store_events.recv() => {
                    self.store_event(ev);
                    None
                }
                _ = ticker.tick() => {
                    self.tick();
                    None
                }
            };
            // Whatever else is ready joins the round (bounded), so its writes share
            // one log entry and one message per peer.
            let shutdown = match shutdown {
                Some(s) => Some(s),
                None => self.drain(&mut commands, &mut peer_events),
            };
            self.flush();
            if let Some(reply) = shutdown {
                let store = self.store;
                drop(store);
                let _ = tokio::task::spawn_blocking(move || store_thread.join()).await;
                if let Some(reply) = reply {
                    let _ = reply.send(());
                }
                return;
            }
        }
    }

    /// Handles the commands and peer events that are already waiting (at most
    /// [`ROUND_MAX`] of each); `Some` once a shutdown (or the end of the command
    /// channel) is among them.
    fn drain(
        &mut self,
        commands: &mut mpsc::Receiver<Command>,
        peer_events: &mut mpsc::Receiver<PeerEvent>,
    ) -> Option<Option<oneshot::Sender<()>>> {
        for _ in 0..ROUND_MAX {
            match commands.try_recv() {
                Ok(Command::Shutdown { reply }) => return Some(Some(reply)),
                Ok(cmd) => self.command(cmd),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return Some(None),
            }
        }
        for _ in 0..ROUND_MAX {
            match peer_events.try_recv() {
                Ok(ev) => self.peer_event(ev),
                Err(_) => break,
            }
        }
        None
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Write { doc, op, reply } => self.write(doc, op, reply),
            Command::Read {
                doc,
                key,
                token,
                park,
                reply,
            } => self.read(doc, key, token, park, reply),
            Command::Keys {
                doc,
                prefix,
                limit,
                reply,
            } => {
                let keys = self.docs.get(&doc).map_or_else(Vec::new, |d| {
                    d.leader
                        .state()
                        .prefix(&prefix)
                        .take(limit)
                        .map(|(k, _)| k.to_string())
                        .collect()
                });
                let _ = reply.send(Ok(keys));
            }
            Command::Docs {
                prefix,
                limit,
                reply,
            } => {
                let docs = self
                    .docs
                    .range(prefix.clone()..)
                    .take_while(|(n, _)| n.starts_with(&prefix))
                    .take(limit)
                    .map(|(n, _)| n.clone())
                    .collect();
                let _ = reply.send(Ok(docs));
            }
            Command::Watch { doc, prefix, reply } => {
                let (tx, rx) = mpsc::channel(WATCH_BUFFER);
                match self.doc_or_create(&doc) {
                    Ok(()) => {
                        if let Some(d) = self.docs.get_mut(&doc) {
                            d.watchers.push(Watcher { prefix, tx });
                        }
                        let _ = reply.send(Ok(Watch { rx }));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::Status { digest, reply } => {
                let _ = reply.send(Ok(self.status(digest)));
            }
            Command::Client(c) => self.client_command(c),
            // Handled by `run` and `drain` before a command gets here.
            Command::Shutdown { reply } => {
                let _ = reply.send(());
            }
        }
    }

    /// The document, created empty (and checkpointed) if it is new.
    fn doc_or_create(&mut self, name: &str) -> Result<(), Error> {
        if self.docs.contains_key(name) {
            return Ok(());
        }
        crate::check_doc_name(name)?;
        let nonce = crate::random_u64()?;
        let mut leader = Leader::with_nonce(self.id, Keyspace::new(), self.config.clone(), nonce);
        self.add_cluster_peers(&mut leader)
            .map_err(|e| Error::Config(e.to_string()))?;
        let checkpoint = leader.checkpoint();
        let log = LogSize::new(0, 0, checkpoint.bytes().len() as u64);
        let _ = self.store.send(Job::Checkpoint {
            doc: name.to_string(),
            next_seq: 0,
            checkpoint,
            notify: false,
        });
        self.docs.insert(
            name.to_string(),
            Doc {
                leader,
                next_seq: 0,
                log,
                checkpoint_pending: false,
                quiet_ticks: 0,
                watchers: Vec::new(),
            },
        );
        Ok(())
    }

    fn write(&mut self, name: String, op: KeyspaceOp, reply: WriteReply) {
        let removes = matches!(
            op,
            KeyspaceOp::Delete { .. }
                | KeyspaceOp::Write {
                    op: ValueOp::OrSetRemove(_),
                    ..
                }
        );
        if removes && !self.docs.contains_key(&name) {
            // Nothing to remove, and a remove creates no document: the answer is the
            // empty document's token (covered everywhere) and the key's absence (an
            // empty set), with nothing to make durable.
            if let Err(e) = crate::check_doc_name(&name) {
                reply.fail(e);
                return;
            }
            let token = CausalToken::new(&name, VersionVector::new());
            reply.pending(token, None, None).send(Ok(()));
            return;
        }
        if let Err(e) = self.doc_or_create(&name) {
            reply.fail(e);
            return;
        }
        let Some(doc) = self.docs.get_mut(&name) else {
            return;
        };
        let key = match &op {
            KeyspaceOp::Write { key, .. } | KeyspaceOp::Delete { key } => key.clone(),
        };
        let delta = match doc.leader.apply(op) {
            Ok(d) => d,
            Err(SyncError::Refused(CoreError::KeyTypeMismatch {
                key,
                existing,
                attempted,
            })) => {
                self.metrics.type_conflict();
                reply.fail(Error::TypeMismatch {
                    key,
                    existing: type_name(existing).to_string(),
                    attempted: type_name(attempted).to_string(),
                });
                return;
            }
            Err(SyncError::Refused(e)) => {
                reply.fail(Error::Refused(e.to_string()));
                return;
            }
            Err(e) => {
                reply.fail(Error::Unavailable(why_not_writable(&e)));
                return;
            }
        };
        let token = CausalToken::new(&name, doc.leader.causal_token());
        // The value after the write, borrowed: owned only for watchers and the
        // embedding API's answer (a set's value is every element, read on every write).
        let value = doc.leader.state().get_ref(&key);
        let watched = doc.watchers.iter().any(|w| key.starts_with(&w.prefix));
        let owned = (watched || reply.wants_value())
            .then(|| value.as_ref().map(crdt_core::ValueRef::to_value))
            .flatten();
        notify(
            &mut doc.watchers,
            &key,
            owned.as_ref(),
            &token,
            &self.metrics,
        );
        let answer = reply.pending(token.clone(), value.as_ref(), owned);
        self.round.change(&name, &delta, Some(answer));
        self.mark_active(&name);
    }

    /// Appends the round's changes of a document (and the token after them) to its
    /// log as one entry, queues the answers of the writes it holds behind it, and
    /// folds the log into a new checkpoint once it has grown.
    fn log(&mut self, name: &str, pending: PendingLog) {
        let Some(doc) = self.docs.get_mut(name) else {
            return;
        };
        let entry = encode_entry(&pending.delta, &doc.leader.causal_token());
        let fold = doc.log.append(entry.len());
        let seq = doc.next_seq;
        doc.next_seq += 1;
        let _ = self.store.send(Job::Append(Record::Append {
            doc: name.to_string(),
            seq,
            entry,
        }));
        if !pending.replies.is_empty() {
            let replies = pending.replies;
            let _ = self.store.send(Job::AfterCommit(Box::new(move |r| {
                for answer in replies {
                    answer.send(r.clone());
                }
            })));
        }
        if fold {
            doc.checkpoint(&self.store, name, false);
        }
    }

    /// Ends a round: logs each document's changes as one entry, then sends what the
    /// touched documents' leaders have for peers.
    fn flush(&mut self) {
        if self.round.is_empty() && self.blocked.is_empty() {
            return;
        }
        let (logs, dirty) = self.round.take();
        for (name, pending) in logs {
            self.log(&name, pending);
        }
        // Documents blocked earlier go first, as long as the peers' outboxes have room
        // (each at most once: one whose own client is full queues up again).
        for _ in 0..self.blocked.len() {
            if links_full(&self.links) {
                break;
            }
            let Some(name) = self.blocked.pop() else {
                break;
            };
            self.transmit(&name);
        }
        for name in dirty {
            if links_full(&self.links) {
                self.blocked.push(&name);
            } else {
                self.transmit(&name);
            }
        }
    }

    fn read(
        &mut self,
        name: String,
        key: String,
        token: Option<VersionVector>,
        park: bool,
        reply: Reply<ReadResult>,
    ) {
        let empty = VersionVector::new();
        let (covered, result) = match self.docs.get(&name) {
            Some(d) => (
                token.as_ref().map_or(true, |t| d.leader.covers(t)),
                ReadResult {
                    value: value_of(&d.leader, &key),
                    token: CausalToken::new(&name, d.leader.causal_token()),
                },
            ),
            None => (
                token.as_ref().map_or(true, |t| empty.covers(t)),
                ReadResult {
                    value: None,
                    token: CausalToken::new(&name, empty.clone()),
                },
            ),
        };
        if covered {
            let _ = reply.send(Ok(result));
        } else if park {
            self.waiters.entry(name).or_default().push(Waiter {
                key,
                token: token.unwrap_or_default(),
                reply,
            });
        } else {
            let _ = reply.send(Err(Error::NotYet));
        }
    }

    fn peer_event(&mut self, ev: PeerEvent) {
        match ev {
            PeerEvent::Up { peer, conn, tx } => {
                self.links.insert(peer, Link { conn, tx });
                self.metrics.set_connected(peer, true);
                // Every document gets a digest round, so a peer that lost (or never
                // had) a document hears of it.
                let names: Vec<String> = self.docs.keys().cloned().collect();
                for n in names {
                    if let Some(d) = self.docs.get_mut(&n) {
                        d.quiet_ticks = 0;
                    }
                    self.active.insert(n);
                }
            }
            PeerEvent::Down { peer, conn } => {
                if self.links.get(&peer).is_some_and(|l| l.conn == conn) {
                    self.links.remove(&peer);
                    self.metrics.set_connected(peer, false);
                }
            }
            PeerEvent::Frame { peer, doc, payload } => self.receive(peer, doc, &payload),
        }
    }

    fn receive(&mut self, peer: u64, name: String, payload: &[u8]) {
        if self.doc_or_create(&name).is_err() {
            self.metrics.frame_rejected("bad_document_name");
            return;
        }
        let from = ReplicaId::new(peer);
        if let Err(e) = self.receive_into(&name, |l| l.receive_changes(from, payload)) {
            self.metrics.message_rejected();
            tracing::debug!(peer, doc = %name, error = %e, "message refused");
        }
    }

    /// Feeds one message to the document's leader through `recv` (which returns what
    /// it added), then logs what it added, tells watchers and waiting reads, and
    /// schedules the leader's answers. `recv`'s error is returned (the leader's state
    /// is unchanged then).
    fn receive_into(
        &mut self,
        name: &str,
        recv: impl FnOnce(&mut Leader<Keyspace>) -> Result<Keyspace, SyncError>,
    ) -> Result<(), SyncError> {
        let Some(doc) = self.docs.get_mut(name) else {
            return Ok(());
        };
        let before_token = doc.leader.causal_token();
        let watched = snapshot(doc);
        // What the message added, from the leader itself: diffing the state against
        // its summary before would cost O(state) per frame.
        let (delta, result) = match recv(&mut doc.leader) {
            Ok(delta) => (delta, Ok(())),
            Err(e) => (Keyspace::new(), Err(e)),
        };
        let changed = !delta.is_bottom() || doc.leader.causal_token() != before_token;
        if changed {
            if let Some(watched) = watched {
                let token = CausalToken::new(name, doc.leader.causal_token());
                let after = snapshot(doc).unwrap_or_default();
                let keys: BTreeSet<&String> = watched.keys().chain(after.keys()).collect();
                for k in keys {
                    if watched.get(k) != after.get(k) {
                        notify(&mut doc.watchers, k, after.get(k), &token, &self.metrics);
                    }
                }
            }
            self.round.change(name, &delta, None);
            self.wake_waiters(name);
        }
        // A message that changed nothing and left the document settled needs no
        // ticks (its replies went out below): a periodic digest from a peer must not
        // wake an idle document, or two leaders' digests keep every document of the
        // cluster ticking for ever.
        let settled = self.docs.get(name).is_some_and(|d| d.leader.is_settled());
        if changed || !settled {
            self.mark_active(name);
        }
        self.after_change(name);
        result
    }

    /// The document has pending work: tick it until it settles.
    fn mark_active(&mut self, name: &str) {
        if let Some(d) = self.docs.get_mut(name) {
            d.quiet_ticks = 0;
            self.active.insert(name.to_string());
        }
    }

    fn wake_waiters(&mut self, name: &str) {
        let Some(list) = self.waiters.remove(name) else {
            return;
        };
        let Some(doc) = self.docs.get(name) else {
            return;
        };
        let mut left = Vec::new();
        for w in list {
            if w.reply.is_closed() {
                continue;
            }
            if doc.leader.covers(&w.token) {
                let _ = w.reply.send(Ok(ReadResult {
                    value: value_of(&doc.leader, &w.key),
                    token: CausalToken::new(name, doc.leader.causal_token()),
                }));
            } else {
                left.push(w);
            }
        }
        if !left.is_empty() {
            self.waiters.insert(name.to_string(), left);
        }
    }

    /// After the document changed or was ticked: the round's flush sends what its
    /// leader has for peers.
    fn after_change(&mut self, name: &str) {
        self.round.touch(name);
    }

    /// Sends what the document's leader has for peers, and persists a restored
    /// leader's new incarnation.
    fn transmit(&mut self, name: &str) {
        let Some(doc) = self.docs.get_mut(name) else {
            return;
        };
        // The leader is polled only while every peer's (and client's) outbox has room: a message it
        // hands out counts as sent, so dropping it for want of space would turn a burst
        // (every document's digest after a reconnect) into loss and retransmissions.
        // Only the driver sends into an outbox, so room seen here is still there at the
        // send. A document that had to stop waits in `blocked`, served by the next
        // flushes in order as the outboxes drain.
        loop {
            if links_full(&self.links) || self.clients.any_full(name) {
                self.blocked.push(name);
                break;
            }
            let Some(t) = doc.leader.poll_transmit() else {
                break;
            };
            if let Some(link) = self.links.get(&t.to.get()) {
                if link.tx.try_send(doc_frame(name, &t.payload)).is_err() {
                    self.metrics.frame_dropped();
                }
            } else if let Some(client) = self.clients.get(name, t.to) {
                if client.tx.try_send(t.payload).is_err() {
                    self.metrics.frame_dropped();
                }
            }
        }
        if matches!(doc.leader.can_write(), Err(SyncError::CheckpointRequired))
            && !doc.checkpoint_pending
        {
            doc.checkpoint_pending = true;
            doc.checkpoint(&self.store, name, true);
        }
    }

    fn store_event(&mut self, ev: StoreEvent) {
        match ev {
            StoreEvent::Persisted { doc, checkpoint } => {
                if let Some(d) = self.docs.get_mut(&doc) {
                    d.checkpoint_pending = false;
                    if let Err(e) = d.leader.persisted(checkpoint) {
                        tracing::error!(doc = %doc, error = %e, "checkpoint refused");
                    }
                }
                self.after_change(&doc);
            }
        }
    }

    /// One round for the documents with pending work (at most [`TICK_DOCS_MAX`],
    /// taking turns); idle ones cost nothing.
    fn tick(&mut self) {
        use std::ops::Bound;
        let from = match &self.tick_cursor {
            Some(c) => Bound::Excluded(c.clone()),
            None => Bound::Unbounded,
        };
        let names: Vec<String> = self
            .active
            .range::<String, _>((from, Bound::Unbounded))
            .take(TICK_DOCS_MAX)
            .cloned()
            .collect();
        // A pass over the active set ends when this tick reaches its end.
        let pass_done = names.len() < TICK_DOCS_MAX;
        self.tick_cursor = if pass_done {
            None
        } else {
            names.last().cloned()
        };
        for name in names {
            let Some(doc) = self.docs.get_mut(&name) else {
                self.active.remove(&name);
                continue;
            };
            doc.leader.tick();
            // Cluster peers only: clients have no lag series (unbounded labels).
            self.pass_behind.extend(
                doc.leader
                    .peer_lag()
                    .filter(|(p, l)| *l > 0 && self.peers.contains(p))
                    .map(|(p, _)| p.get()),
            );
            // Settled: every delta acknowledged, no peer known to lag, writable.
            if doc.leader.is_settled() {
                doc.quiet_ticks += 1;
            } else {
                doc.quiet_ticks = 0;
            }
            if doc.quiet_ticks > QUIET_TICKS {
                self.active.remove(&name);
            }
            self.after_change(&name);
        }
        // Lagging documents stay active, so a whole pass sees every lag.
        let now = Instant::now();
        for p in &self.pass_behind {
            self.behind_since.entry(*p).or_insert(now);
        }
        if pass_done {
            let behind = std::mem::take(&mut self.pass_behind);
            self.behind_since.retain(|p, _| behind.contains(p));
        }
        self.waiters.retain(|_, list| {
            list.retain(|w| !w.reply.is_closed());
            !list.is_empty()
        });
    }

    fn status(&mut self, with_digest: bool) -> Status {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut lag: BTreeMap<u64, u64> = self.peers.iter().map(|p| (p.get(), 0)).collect();
        let (mut keys, mut buffered, mut repairs, mut gaps, mut divergences) = (0, 0, 0, 0, 0);
        let mut lww_discards = 0;
        let mut reason = None;
        for (name, doc) in &mut self.docs {
            if with_digest {
                // Each document's state hash is cached by its leader until the state
                // changes: a status of 100,000 idle documents encodes none of them.
                hasher.update(&(name.len() as u64).to_le_bytes());
                hasher.update(name.as_bytes());
                hasher.update(&doc.leader.state_hash().to_le_bytes());
            }
            let m = doc.leader.metrics();
            for (p, l) in &m.peer_lag {
                // Cluster peers only (clients are not in `lag`).
                if let Some(sum) = lag.get_mut(&p.get()) {
                    *sum += *l;
                }
            }
            keys += doc.leader.state().len();
            buffered += m.buffered_bytes;
            repairs += m.repairs_sent;
            gaps += m.gaps;
            divergences += m.divergences;
            lww_discards += m.concurrent_discards;
            if reason.is_none() {
                if let Err(e) = doc.leader.can_write() {
                    reason = Some(format!("document {name:?}: {}", why_not_writable(&e)));
                }
            }
        }
        self.metrics
            .sync_totals(repairs, gaps, divergences, lww_discards);
        self.metrics
            .set_sizes(self.docs.len(), self.active.len(), keys, buffered);
        let peers = lag
            .into_iter()
            .map(|(id, lag_ops)| {
                let secs = self
                    .behind_since
                    .get(&id)
                    .map_or(0.0, |t| t.elapsed().as_secs_f64());
                self.metrics.set_lag(id, lag_ops, secs);
                PeerStatus {
                    id,
                    connected: self.links.contains_key(&id),
                    lag_ops,
                }
            })
            .collect();
        Status {
            id: self.id.get(),
            can_write: reason.is_none(),
            reason,
            peers,
            docs: self.docs.len(),
            digest: hasher.digest(),
        }
    }
}

/// The watched keys' values, if the document has watchers.
fn snapshot(doc: &Doc) -> Option<BTreeMap<String, Value>> {
    if doc.watchers.is_empty() {
        return None;
    }
    let mut out = BTreeMap::new();
    for w in &doc.watchers {
        for (k, v) in doc.leader.state().prefix(&w.prefix) {
            out.insert(k.to_string(), v);
        }
    }
    Some(out)
}

fn notify(
    watchers: &mut Vec<Watcher>,
    key: &str,
    value: Option<&Value>,
    token: &CausalToken,
    m: &NodeMetrics,
) {
    watchers.retain(|w| {
        if !key.starts_with(&w.prefix) {
            return !w.tx.is_closed();
        }
        let change = Change {
            key: key.to_string(),
            value: value.cloned(),
            token: token.clone(),
        };
        match w.tx.try_send(change) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                m.watcher_dropped();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    });
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
