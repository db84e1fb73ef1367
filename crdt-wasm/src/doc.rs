//! `Doc`: a replicated keyspace document that speaks the servers' sync protocol.
//!
//! A `Doc` is a [`crdt_sync::Leader`] of a [`crdt_core::Keyspace`], exactly what a
//! `crdt-leader` server runs per document: a browser tab is one more leader, whose
//! peers are its server and its sibling tabs. The JS layer is in `doc_js.rs`; this file
//! is the plain Rust API it calls (Rust arguments, `Result<_, Error>`), tested natively.

use crate::error::{Arg, Error};
use crate::number::MAX_SAFE_INTEGER;
use crate::{codec, text};
use crdt_core::{Keyspace, KeyspaceOp, ReplicaId, Value, ValueOp, VersionVector};
use crdt_sync::{Checkpoint, Config, Leader, Metrics, SyncError};

/// A replicated document of keys holding G-Counters, PN-Counters, OR-Sets of strings,
/// LWW-Registers and multi-value registers (JS class `Doc`): a `crdt-sync` leader of a
/// `crdt-core` `Keyspace`, byte-compatible with `crdt-leader` and with Rust leaders.
///
/// Writes apply locally at once; [`Doc::poll_transmit`] hands out the messages for the
/// peers, [`Doc::receive`] takes theirs, [`Doc::tick`] drives retransmission and
/// anti-entropy. A `Doc` restored from a [`Doc::snapshot`] continues under a fresh
/// incarnation (never reusing a dot of its earlier life): it asks its peers first, and
/// writes once a snapshot of the new incarnation is stored ([`Doc::write_status`]).
#[wasm_bindgen::prelude::wasm_bindgen]
pub struct Doc {
    leader: Leader<Keyspace>,
    /// The snapshot taken while the leader waited for one (after a restore): what
    /// [`Doc::persisted`] hands to the leader once JavaScript stored its bytes.
    pending: Option<Checkpoint>,
}

/// Whether a [`Doc`] accepts writes now, and if not, what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStatus {
    /// Writes are accepted.
    Writable,
    /// Restored: asking its peers which incarnations of it they saw (deliver messages
    /// and tick; remove peers gone for good).
    Restoring,
    /// Restored: store [`Doc::snapshot`] and pass it to [`Doc::persisted`].
    NeedsSnapshot,
    /// Another replica writes under this Doc's writer id: writes are refused for good.
    Conflict,
}

impl WriteStatus {
    /// The JS name: `"writable"`, `"restoring"`, `"needsSnapshot"` or `"conflict"`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            WriteStatus::Writable => "writable",
            WriteStatus::Restoring => "restoring",
            WriteStatus::NeedsSnapshot => "needsSnapshot",
            WriteStatus::Conflict => "conflict",
        }
    }
}

/// `crdt_sync::Metrics` as `(camelCase name, value)` pairs, the per-peer lag apart.
#[must_use]
pub fn metric_counters(m: &Metrics) -> [(&'static str, u64); 25] {
    // Destructured without `..`: a new field of `Metrics` must be added here.
    let Metrics {
        bytes_sent,
        messages_sent,
        bytes_received,
        messages_received,
        deltas_sent,
        repairs_sent,
        repair_bytes_sent,
        full_state_sends,
        rejected_messages,
        stale_messages,
        misdelivered,
        echoes,
        divergences,
        concurrent_discards,
        gaps,
        buffer_overflows,
        unsendable,
        transfers_sent,
        fragments_sent,
        transfers_received,
        probes_timed_out,
        retired_writes,
        ahead_of_epoch,
        deltas_buffered,
        buffered_bytes,
        peer_lag: _,
    } = *m;
    [
        ("bytesSent", bytes_sent),
        ("messagesSent", messages_sent),
        ("bytesReceived", bytes_received),
        ("messagesReceived", messages_received),
        ("deltasSent", deltas_sent),
        ("repairsSent", repairs_sent),
        ("repairBytesSent", repair_bytes_sent),
        ("fullStateSends", full_state_sends),
        ("rejectedMessages", rejected_messages),
        ("staleMessages", stale_messages),
        ("misdelivered", misdelivered),
        ("echoes", echoes),
        ("divergences", divergences),
        ("concurrentDiscards", concurrent_discards),
        ("gaps", gaps),
        ("bufferOverflows", buffer_overflows),
        ("unsendable", unsendable),
        ("transfersSent", transfers_sent),
        ("fragmentsSent", fragments_sent),
        ("transfersReceived", transfers_received),
        ("probesTimedOut", probes_timed_out),
        ("retiredWrites", retired_writes),
        ("aheadOfEpoch", ahead_of_epoch),
        ("deltasBuffered", deltas_buffered),
        ("bufferedBytes", buffered_bytes),
    ]
}

/// Refuses replica ids JavaScript cannot hold exactly.
fn check_safe(id: ReplicaId) -> Result<(), Error> {
    if id.get() > MAX_SAFE_INTEGER {
        return Err(Error::UnsafeId { id: id.get() });
    }
    Ok(())
}

/// The Rust API behind the JS methods (host-testable).
impl Doc {
    /// An empty document written as replica `id` (checked by the caller to be a safe
    /// JS integer), with no peers yet; `nonce` (64 random bits, never reused) makes
    /// its first incarnation unique (`crdt_sync::Leader::with_nonce`).
    #[must_use]
    pub fn create(id: ReplicaId, nonce: u64) -> Self {
        Self {
            leader: Leader::with_nonce(id, Keyspace::new(), Config::default(), nonce),
            pending: None,
        }
    }

    /// Restores a document from [`Doc::snapshot`] bytes (or a `crdt-leader` checkpoint
    /// of a document) as a new incarnation, with `nonce` (64 random bits, never reused)
    /// seeding its incarnation nonces. It starts in [`WriteStatus::Restoring`] unless
    /// it has no peers.
    ///
    /// # Errors
    /// [`Error::Decode`] or [`Error::Sync`] for bytes that are not a valid, intact
    /// snapshot of a keyspace document; [`Error::UnsafeId`] if it names an id above
    /// `Number.MAX_SAFE_INTEGER`.
    pub fn restore(bytes: &[u8], nonce: u64) -> Result<Self, Error> {
        let leader: Leader<Keyspace> = Leader::restore_with_nonce(bytes, Config::default(), nonce)?;
        check_safe(leader.id())?;
        for p in leader.peers() {
            check_safe(p)?;
        }
        Ok(Self {
            leader,
            pending: None,
        })
    }

    /// This document's replica id.
    #[must_use]
    pub fn replica_id(&self) -> ReplicaId {
        self.leader.id()
    }

    /// The incarnation this document writes under (`Incarnation::to_u64`; counter 0
    /// and the nonce of its creation in its first life): what a client lists in its WebSocket hello for a restored life
    /// whose writes are not yet delivered (docs/WEBSOCKET.md, §2).
    #[must_use]
    pub fn incarnation(&self) -> u64 {
        self.leader.incarnation().to_u64()
    }

    /// Adds a peer to exchange messages with (a server, a sibling tab). Adding a
    /// present peer does nothing.
    ///
    /// # Errors
    /// [`Error::Sync`] for this document's own id or past 1,024 peers.
    pub fn add_peer(&mut self, peer: ReplicaId) -> Result<(), Error> {
        Ok(self.leader.add_peer(peer)?)
    }

    /// Stops talking to `peer` (gone for good): its acknowledgements no longer hold
    /// back the delta buffer, and a restore no longer waits for its answer.
    pub fn remove_peer(&mut self, peer: ReplicaId) {
        self.leader.remove_peer(peer);
    }

    /// The peers, ascending.
    #[must_use]
    pub fn peers(&self) -> Vec<ReplicaId> {
        self.leader.peers().collect()
    }

    /// Applies a local write to `key`; returns its encoded delta (a `Keyspace`).
    fn apply(&mut self, op: KeyspaceOp) -> Result<Vec<u8>, Error> {
        let delta = self.leader.apply(op)?;
        codec::encode(&delta)
    }

    /// A write to `key`'s value, the key's size checked first.
    fn write(&mut self, key: &str, op: ValueOp) -> Result<Vec<u8>, Error> {
        text::check_size(Arg::Key, key)?;
        self.apply(KeyspaceOp::Write {
            key: key.to_string(),
            op,
        })
    }

    /// Adds `n` to the PN-Counter under `key` (created at 0); returns the delta.
    ///
    /// # Errors
    /// [`Error::TooLarge`] for a key over 4096 bytes; [`Error::Refused`] if the key
    /// holds another type or this writer's total would pass `u64::MAX`;
    /// [`Error::Sync`] while writes are refused ([`Doc::write_status`]). Unchanged then
    /// (this holds for every mutator).
    pub fn increment(&mut self, key: &str, n: u64) -> Result<Vec<u8>, Error> {
        self.write(key, ValueOp::PnCounterIncrement(n))
    }

    /// Subtracts `n` from the PN-Counter under `key`; returns the delta.
    ///
    /// # Errors
    /// As [`Doc::increment`].
    pub fn decrement(&mut self, key: &str, n: u64) -> Result<Vec<u8>, Error> {
        self.write(key, ValueOp::PnCounterDecrement(n))
    }

    /// Adds `n` to the G-Counter (grow-only) under `key`; returns the delta.
    ///
    /// # Errors
    /// As [`Doc::increment`].
    pub fn increment_gcounter(&mut self, key: &str, n: u64) -> Result<Vec<u8>, Error> {
        self.write(key, ValueOp::GCounterIncrement(n))
    }

    /// Adds `element` to the OR-Set under `key` (add wins); returns the delta.
    ///
    /// # Errors
    /// As [`Doc::increment`], and [`Error::TooLarge`] for an element over 1 MiB.
    pub fn insert(&mut self, key: &str, element: String) -> Result<Vec<u8>, Error> {
        text::check_size(Arg::StringElement, &element)?;
        self.write(key, ValueOp::OrSetInsert(element))
    }

    /// Removes `element` from the OR-Set under `key`, as observed here; returns the
    /// delta (empty if absent).
    ///
    /// # Errors
    /// As [`Doc::increment`].
    pub fn remove(&mut self, key: &str, element: String) -> Result<Vec<u8>, Error> {
        self.write(key, ValueOp::OrSetRemove(element))
    }

    /// Writes the last-writer-wins register under `key` at wall-clock time `now_ms`;
    /// returns the delta.
    ///
    /// # Errors
    /// As [`Doc::increment`], and [`Error::TooLarge`] for a value over 1 MiB.
    pub fn set_lww(&mut self, key: &str, value: String, now_ms: u64) -> Result<Vec<u8>, Error> {
        text::check_size(Arg::Value, &value)?;
        self.write(key, ValueOp::LwwSet { value, now_ms })
    }

    /// Writes the multi-value register under `key`, replacing every write of it seen
    /// here; returns the delta.
    ///
    /// # Errors
    /// As [`Doc::set_lww`].
    pub fn set_mv(&mut self, key: &str, value: String) -> Result<Vec<u8>, Error> {
        text::check_size(Arg::Value, &value)?;
        self.write(key, ValueOp::MvRegisterSet(value))
    }

    /// Deletes `key` as observed here (a concurrent write survives); returns the delta
    /// (empty if absent).
    ///
    /// # Errors
    /// As [`Doc::increment`] (no type check).
    pub fn delete(&mut self, key: &str) -> Result<Vec<u8>, Error> {
        text::check_size(Arg::Key, key)?;
        self.apply(KeyspaceOp::Delete {
            key: key.to_string(),
        })
    }

    /// The value under `key`, if present.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<Value> {
        self.leader.state().get(key)
    }

    /// The keys starting with `prefix`, ascending (by UTF-8 bytes).
    #[must_use]
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        self.leader
            .state()
            .prefix(prefix)
            .map(|(k, _)| k.to_string())
            .collect()
    }

    /// Handles a message that the transport received from peer `from`. Returns whether
    /// it changed the document (a value, or the causal token).
    ///
    /// # Errors
    /// [`Error::Decode`] or [`Error::Sync`] for a message that is malformed, corrupt,
    /// from an unknown peer or for another replica; the document is unchanged then
    /// (apart from [`Doc::metrics`] counting the rejection).
    pub fn receive(&mut self, from: ReplicaId, bytes: &[u8]) -> Result<bool, Error> {
        let token = self.leader.causal_token();
        let changes = self.leader.receive_changes(from, bytes)?;
        Ok(!crdt_core::DeltaCrdt::is_bottom(&changes) || self.leader.causal_token() != token)
    }

    /// The next message for a peer: `(peer, bytes)`, or `None` when there is nothing to
    /// send. Call until `None` after every write, `receive` and `tick`.
    pub fn poll_transmit(&mut self) -> Option<(ReplicaId, Vec<u8>)> {
        self.leader.poll_transmit().map(|t| (t.to, t.payload))
    }

    /// One anti-entropy round: call it periodically (e.g. every second).
    pub fn tick(&mut self) {
        self.leader.tick();
    }

    /// Everything this document has seen, as the canonical encoding of a version
    /// vector counting each writer's writes.
    ///
    /// # Errors
    /// Never in practice (see [`Error::Encode`]).
    pub fn causal_token(&self) -> Result<Vec<u8>, Error> {
        codec::encode(&self.leader.causal_token())
    }

    /// Whether this document has seen everything a causal token names.
    ///
    /// # Errors
    /// [`Error::Decode`] for bytes that are not a causal token.
    pub fn covers(&self, token: &[u8]) -> Result<bool, Error> {
        let token: VersionVector = codec::decode("causal token", token)?;
        Ok(self.leader.covers(&token))
    }

    /// The document's durable state (id, incarnation, causal token, peers, keyspace),
    /// checksummed, for [`Doc::restore`]. While the document waits for a snapshot
    /// ([`WriteStatus::NeedsSnapshot`]) this one is what [`Doc::persisted`] expects.
    pub fn snapshot(&mut self) -> Vec<u8> {
        let checkpoint = self.leader.checkpoint();
        let bytes = checkpoint.bytes().to_vec();
        self.pending = (self.write_status() == WriteStatus::NeedsSnapshot).then_some(checkpoint);
        bytes
    }

    /// Records that `bytes`, returned by [`Doc::snapshot`], are stored durably: a
    /// restored document that waits for a snapshot becomes writable. Does nothing
    /// otherwise.
    ///
    /// # Errors
    /// [`Error::NotLatestSnapshot`] if the document waits for a snapshot and `bytes`
    /// are not the latest one it returned.
    pub fn persisted(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.write_status() != WriteStatus::NeedsSnapshot {
            return Ok(());
        }
        match self.pending.take() {
            Some(checkpoint) if checkpoint.bytes() == bytes => {
                Ok(self.leader.persisted(checkpoint)?)
            }
            other => {
                self.pending = other;
                Err(Error::NotLatestSnapshot)
            }
        }
    }

    /// Whether writes are accepted now.
    #[must_use]
    pub fn write_status(&self) -> WriteStatus {
        match self.leader.can_write() {
            Ok(()) => WriteStatus::Writable,
            Err(SyncError::Restoring) => WriteStatus::Restoring,
            Err(SyncError::CheckpointRequired) => WriteStatus::NeedsSnapshot,
            Err(_) => WriteStatus::Conflict,
        }
    }

    /// What the leader sent, received and buffered (see `crdt_sync::Metrics`).
    #[must_use]
    pub fn metrics(&self) -> Metrics {
        self.leader.metrics()
    }

    /// The wrapped keyspace.
    #[must_use]
    pub fn state(&self) -> &Keyspace {
        self.leader.state()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_core::codec::DecodeError;

    fn id(n: u64) -> ReplicaId {
        ReplicaId::new(n)
    }

    /// Delivers every message between `a` and `b` until both are quiet.
    fn sync(a: &mut Doc, b: &mut Doc) {
        for _ in 0..100 {
            let mut quiet = true;
            while let Some((to, bytes)) = a.poll_transmit() {
                assert_eq!(to, b.replica_id());
                b.receive(a.replica_id(), &bytes).expect("a's message");
                quiet = false;
            }
            while let Some((to, bytes)) = b.poll_transmit() {
                assert_eq!(to, a.replica_id());
                a.receive(b.replica_id(), &bytes).expect("b's message");
                quiet = false;
            }
            if quiet {
                return;
            }
        }
        panic!("no quiescence");
    }

    fn pair() -> (Doc, Doc) {
        let (mut a, mut b) = (Doc::create(id(1), 101), Doc::create(id(2), 202));
        a.add_peer(id(2)).expect("peer");
        b.add_peer(id(1)).expect("peer");
        (a, b)
    }

    #[test]
    fn every_type_replicates_and_reads_like_the_http_api() {
        let (mut a, mut b) = pair();
        a.increment("likes", 5).expect("w");
        b.decrement("likes", 2).expect("w");
        a.increment_gcounter("views", 7).expect("w");
        a.insert("list", "milk".into()).expect("w");
        b.insert("list", "eggs".into()).expect("w");
        a.set_lww("title", "Groceries".into(), 10).expect("w");
        b.set_mv("note", "x".into()).expect("w");
        a.set_mv("note", "y".into()).expect("w");
        a.insert("gone", "z".into()).expect("w");
        a.delete("gone").expect("w");
        sync(&mut a, &mut b);
        assert_eq!(a.state(), b.state());
        assert_eq!(a.get("likes"), Some(Value::PnCounter(3)));
        assert_eq!(a.get("views"), Some(Value::GCounter(7)));
        assert_eq!(
            a.get("list"),
            Some(Value::OrSet(vec!["eggs".into(), "milk".into()]))
        );
        assert_eq!(a.get("title"), Some(Value::LwwRegister("Groceries".into())));
        assert_eq!(
            a.get("note"),
            Some(Value::MvRegister(vec!["x".into(), "y".into()]))
        );
        assert_eq!(a.get("gone"), None);
        assert_eq!(b.keys(""), ["likes", "list", "note", "title", "views"]);
        assert_eq!(b.keys("li"), ["likes", "list"]);
        let types: Vec<_> = ["likes", "views", "list", "title", "note"]
            .iter()
            .map(|k| a.get(k).as_ref().map(|v| v.type_name()))
            .collect();
        assert_eq!(
            types,
            [
                Some("pncounter"),
                Some("gcounter"),
                Some("orset"),
                Some("lww"),
                Some("mvreg")
            ]
        );
        // The causal tokens agree and cover each other.
        assert_eq!(a.causal_token(), b.causal_token());
        assert_eq!(b.covers(&a.causal_token().expect("t")), Ok(true));
        assert_eq!(
            Doc::create(id(9), 909).covers(&a.causal_token().expect("t")),
            Ok(false)
        );
    }

    #[test]
    fn concurrent_first_writes_of_two_types_read_as_a_conflict() {
        let (mut a, mut b) = pair();
        a.increment("k", 1).expect("w");
        b.insert("k", "s".into()).expect("w");
        sync(&mut a, &mut b);
        let v = a.get("k").expect("present");
        assert_eq!(v.type_name(), "conflict");
        assert_eq!(
            v,
            Value::Conflict(vec![Value::PnCounter(1), Value::OrSet(vec!["s".into()])])
        );
    }

    #[test]
    fn refused_calls_leave_the_document_unchanged() {
        let (mut a, _) = pair();
        a.increment("n", 1).expect("w");
        a.increment("max", u64::MAX).expect("w");
        let before = (a.snapshot(), a.causal_token());
        let long = "k".repeat(crdt_core::KEY_BYTES_MAX + 1);
        let big = "v".repeat(text::MAX_STRING_BYTES + 1);
        let too_large = |r: Result<Vec<u8>, Error>, want: Arg| {
            assert!(matches!(r, Err(Error::TooLarge { arg, .. }) if arg == want));
        };
        too_large(a.increment(&long, 1), Arg::Key);
        too_large(a.delete(&long), Arg::Key);
        too_large(a.insert("s", big.clone()), Arg::StringElement);
        too_large(a.set_lww("r", big.clone(), 1), Arg::Value);
        too_large(a.set_mv("r", big), Arg::Value);
        assert!(matches!(a.insert("n", "x".into()), Err(Error::Refused(_))));
        assert!(matches!(
            a.increment_gcounter("n", 1),
            Err(Error::Refused(_))
        ));
        assert!(matches!(a.increment("max", 1), Err(Error::Refused(_))));
        assert!(matches!(a.receive(id(2), b"junk"), Err(Error::Sync(_))));
        assert!(matches!(
            a.receive(id(3), &[]),
            Err(Error::Sync(SyncError::Corrupt))
        ));
        assert!(matches!(
            a.add_peer(id(1)),
            Err(Error::Sync(SyncError::SelfPeer))
        ));
        assert!(matches!(
            a.covers(&[1, 2, 3]),
            Err(Error::Decode {
                class: "causal token",
                ..
            })
        ));
        assert_eq!((a.snapshot(), a.causal_token()), before);
        assert_eq!(a.metrics().rejected_messages, 2);
    }

    #[test]
    fn a_message_from_a_non_peer_or_for_another_replica_is_refused() {
        let (mut a, mut b) = pair();
        a.insert("s", "x".into()).expect("w");
        let (_, msg) = a.poll_transmit().expect("a message for b");
        let mut c = Doc::create(id(3), 303);
        c.add_peer(id(1)).expect("peer");
        assert!(matches!(
            Doc::create(id(2), 202).receive(id(1), &msg),
            Err(Error::Sync(SyncError::UnknownPeer(_)))
        ));
        assert!(matches!(
            c.receive(id(1), &msg),
            Err(Error::Sync(SyncError::Misdelivered { .. }))
        ));
        assert_eq!(b.receive(id(1), &msg), Ok(true));
        assert_eq!(b.receive(id(1), &msg), Ok(false)); // a duplicate changes nothing
    }

    #[test]
    fn a_restored_doc_writes_under_a_fresh_incarnation_after_its_snapshot_is_stored() {
        let (mut a, mut b) = pair();
        a.insert("s", "before".into()).expect("w");
        sync(&mut a, &mut b);
        let saved = a.snapshot();
        assert_eq!(a.persisted(&saved), Ok(())); // writable: nothing to do
        let mut r = Doc::restore(&saved, 0x1234_5678_9abc_def0).expect("restore");
        assert_eq!(r.replica_id(), id(1));
        assert_eq!(r.incarnation(), a.incarnation(), "until the probe");
        assert_eq!(r.peers(), [id(2)]);
        assert_eq!(r.write_status(), WriteStatus::Restoring);
        assert!(matches!(
            r.insert("s", "x".into()),
            Err(Error::Sync(SyncError::Restoring))
        ));
        sync(&mut r, &mut b);
        assert_eq!(r.write_status(), WriteStatus::NeedsSnapshot);
        assert!(matches!(
            r.insert("s", "x".into()),
            Err(Error::Sync(SyncError::CheckpointRequired))
        ));
        let first = r.snapshot();
        let second = r.snapshot();
        assert_eq!(r.persisted(&saved), Err(Error::NotLatestSnapshot));
        assert_eq!(r.write_status(), WriteStatus::NeedsSnapshot);
        assert_eq!(first, second);
        assert_eq!(r.persisted(&second), Ok(()));
        assert_eq!(r.write_status(), WriteStatus::Writable);
        assert_eq!(r.incarnation() >> 32, 1, "the next counter, with a nonce");
        r.insert("s", "after".into()).expect("w");
        sync(&mut r, &mut b);
        assert_eq!(
            b.get("s"),
            Some(Value::OrSet(vec!["after".into(), "before".into()]))
        );
        // The old life's id is not reused: two writers in the token.
        assert_eq!(b.state(), r.state());
    }

    #[test]
    fn a_doc_without_peers_restores_straight_to_needing_a_snapshot() {
        let mut a = Doc::create(id(5), 505);
        a.set_lww("t", "v".into(), 1).expect("w");
        let mut r = Doc::restore(&a.snapshot(), 7).expect("restore");
        assert_eq!(r.write_status(), WriteStatus::NeedsSnapshot);
        let s = r.snapshot();
        r.persisted(&s).expect("persisted");
        r.set_lww("t", "w".into(), 2).expect("w");
        assert_eq!(r.get("t"), Some(Value::LwwRegister("w".into())));
    }

    #[test]
    fn restore_refuses_damaged_foreign_and_unsafe_snapshots() {
        let mut a = Doc::create(id(1), 101);
        a.add_peer(id(2)).expect("peer");
        let good = a.snapshot();
        for n in 0..good.len() {
            assert!(Doc::restore(&good[..n], 1).is_err());
        }
        let mut flipped = good.clone();
        flipped[5] ^= 1;
        assert!(matches!(
            Doc::restore(&flipped, 1),
            Err(Error::Sync(SyncError::Corrupt))
        ));
        // A leader of another type.
        let other = Leader::with_nonce(id(1), crdt_core::GCounter::new(), Config::default(), 1)
            .checkpoint();
        assert!(matches!(
            Doc::restore(other.bytes(), 1),
            Err(Error::Decode {
                class: "Doc",
                source: DecodeError::WrongType { .. }
            })
        ));
        // Ids JavaScript cannot hold: the document's own and a peer's.
        let big = id(MAX_SAFE_INTEGER + 1);
        let own = Leader::with_nonce(big, Keyspace::new(), Config::default(), 2).checkpoint();
        assert_eq!(
            Doc::restore(own.bytes(), 1).err(),
            Some(Error::UnsafeId { id: big.get() })
        );
        let mut l = Leader::with_nonce(id(1), Keyspace::new(), Config::default(), 3);
        l.add_peer(big).expect("peer");
        assert_eq!(
            Doc::restore(l.checkpoint().bytes(), 1).err(),
            Some(Error::UnsafeId { id: big.get() })
        );
    }

    #[test]
    fn metrics_name_every_counter_once() {
        let (mut a, mut b) = pair();
        a.increment("n", 1).expect("w");
        sync(&mut a, &mut b);
        let m = a.metrics();
        let counters = metric_counters(&m);
        let mut names: Vec<_> = counters.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), counters.len());
        assert!(counters.contains(&("messagesSent", m.messages_sent)));
        assert!(m.messages_sent > 0);
        assert_eq!(m.peer_lag.get(&id(2)), Some(&0));
        assert_eq!(WriteStatus::NeedsSnapshot.as_str(), "needsSnapshot");
    }
}
