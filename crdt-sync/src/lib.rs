//! Multi-leader replication of [`crdt_core`] types: every leader accepts writes, and
//! leaders converge by exchanging **acknowledged delta-intervals**, with causal
//! delivery, repair after loss, partition and restart, and session guarantees —
//! without a coordinator.
//!
//! This crate is a **sans-IO** protocol engine (like `quinn-proto` or `rustls`): a
//! [`Leader`] consumes bytes ([`Leader::receive`]) and produces bytes
//! ([`Leader::poll_transmit`]); the caller owns sockets, timers and threads and drives
//! anti-entropy rounds with [`Leader::tick`]. There is no clock inside, and randomness
//! enters only as the nonce of a new or restored leader ([`Leader::new`] and
//! [`Leader::restore`] ask the operating system; [`Leader::with_nonce`] and
//! [`Leader::restore_with_nonce`] take the caller's), so any run can be replayed exactly.
//!
//! ```
//! use crdt_core::{OrSet, OrSetOp, ReplicaId};
//! use crdt_sync::Leader;
//!
//! let (a, b) = (ReplicaId::new(1), ReplicaId::new(2));
//! let mut left = Leader::new(a, OrSet::<String>::new())?;
//! let mut right = Leader::new(b, OrSet::<String>::new())?;
//! left.add_peer(b)?;
//! right.add_peer(a)?;
//!
//! left.apply(OrSetOp::Insert("milk".to_string()))?;
//! right.apply(OrSetOp::Insert("eggs".to_string()))?;
//! // The transport: here, direct hand-over until both sides are quiet.
//! loop {
//!     let mut quiet = true;
//!     while let Some(t) = left.poll_transmit() {
//!         right.receive(a, &t.payload)?;
//!         quiet = false;
//!     }
//!     while let Some(t) = right.poll_transmit() {
//!         left.receive(b, &t.payload)?;
//!         quiet = false;
//!     }
//!     if quiet { break; }
//! }
//! assert_eq!(left.state(), right.state());
//! assert_eq!(left.state().len(), 2);
//! # Ok::<(), crdt_sync::SyncError>(())
//! ```
//!
//! # The protocol
//!
//! Each leader keeps its state, a **delta buffer** and, per peer, what was acknowledged
//! and received. It follows the delta-interval algorithm of Almeida, Shoker and
//! Baquero ("Delta State Replicated Data Types", algorithm 2) with the two
//! optimizations of Enes et al. ("Efficient Synchronization of State-based CRDTs",
//! ICDE 2019):
//!
//! - Every local write's delta, and the *novel part* of every delta received
//!   ([`DeltaCrdt::merge_delta`](crdt_core::DeltaCrdt::merge_delta)), is numbered
//!   `1, 2, 3, …` in the buffer. Storing only what was new here is **redundancy
//!   removal**: a delta that arrives over two paths is buffered (and forwarded) once.
//! - To each peer a leader sends the join of the buffered deltas the peer has not
//!   acknowledged, **skipping deltas that came from that peer** (**back-propagation
//!   avoidance**). Without these two rules classic delta sync sends about as many bytes
//!   as full-state sync on a mesh.
//! - Intervals are **pipelined**: a new interval starts after the ones still in
//!   flight instead of resending them, until a `tick` presumes them lost — at most one
//!   such interval per peer and tick; deltas buffered after it wait, **coalesced**,
//!   until everything in flight is acknowledged or the next tick. An interval
//!   that arrives before its predecessor is dropped, not applied, and the receiver
//!   acknowledges what it has (the sender then resends from there).
//! - Deltas every peer acknowledged are garbage-collected; the buffer's **memory**
//!   (each delta's slot and heap, [`DeltaCrdt::heap_bytes`](crdt_core::DeltaCrdt::heap_bytes),
//!   not its encoded size) is bounded by `Config::buffer_bytes_max`, beyond which its
//!   oldest deltas are dropped down to half the limit and only the peers that needed
//!   them are repaired instead: a silent peer holds collection back only until then.
//! - On a mesh, flooding sends each write over every link. A host that knows its
//!   topology makes the links outside a spanning tree **lazy**
//!   ([`Leader::set_peer_lazy`]): a lazy peer is sent no intervals and never holds
//!   back collection; it gets writes over the tree, and whatever the tree fails to
//!   bring through a repair, sent when its digest shows it lacks what this leader had
//!   at its previous digest. On the benchmark's 15-leader mesh this sends 2.7x fewer
//!   bytes in the same rounds (BENCHMARKS.md, the wire section). Causal tokens still
//!   travel only with content, so sessions are unaffected.
//!
//! ## Messages
//!
//! Every message starts with an **envelope** that no version changes (magic `D1 5C`,
//! the version it is encoded in, and the highest version its sender speaks), then the
//! kind, the replicated type's tag, the **sender**'s id and [`Incarnation`] (which life
//! of it: restarts and a nonce), and the **receiver**'s id with the incarnation of it
//! the sender assumes. It ends with a CRC-32 of the rest, so a corrupted message is
//! rejected ([`SyncError::Corrupt`]) instead of being read as another valid one.
//! From version 4 the type tag and the receiver's id are not sent but covered by the
//! checksum (a pseudo-header, as UDP's checksum covers the IP addresses), and an
//! acknowledged incarnation equal to the address's is elided: 7 bytes less on most
//! acknowledgements with the benchmarks' small ids, 14 or more with random 53-bit ids;
//! and a causal token names the writers of the summary or payload it travels with by
//! position (1 byte instead of up to 8 per entry).
//! Bodies use `crdt-core`'s canonical codec. A message addressed to another leader is
//! rejected ([`SyncError::Misdelivered`] when that leader is a peer of this one; in
//! version 4 a message for a leader it does not know fails the checksum, as
//! [`SyncError::Corrupt`]); one addressed to another life of this
//! leader is dropped as stale (an interval or repair is computed for one receiver).
//! Leaders negotiate the protocol version per peer ([`PROTOCOL_VERSION`],
//! [`PROTOCOL_VERSION_MIN`]; the `message` module documents what each version adds
//! and which changes are compatible).
//!
//! | message | carries | sent when |
//! |---|---|---|
//! | `Delta` | interval `start..=end` of the sender's buffer (joined, minus the receiver's own deltas), the entries of the sender's causal token the receiver may lack, and (kind 7) an acknowledgement like `Ack`'s, so that a busy link needs no separate `Ack`s | a peer has not seen the newest buffered deltas: right after a write or a merge that brought something new, and again after a tick without progress until acknowledged |
//! | `Ack` | the highest interval end merged, for the sender's incarnation | after merging (or re-receiving) an interval or a repair, when no `Delta` goes that way to carry it |
//! | `Digest` | the sender's summary (causal context / version vector / counter), causal token, buffer head, flags *repair me* / *send your digest* / *send your whole state*, and (version 3) a hash of its canonical state | after a restart, on detecting a gap, when a repair needs the peer's summary, and every `Config::digest_interval_ticks` ticks (the anti-entropy safety net, see below) |
//! | `Repair` | exactly what the receiver's summary lacks ([`DeltaCrdt::delta_since`](crdt_core::DeltaCrdt::delta_since)), **removals included**; the full state instead if that is smaller or was asked for; the receiver incarnation it was computed for | a peer asked (*repair me*), or it needs deltas this leader no longer buffers (late join, long partition, buffer overflow, restart); at most one in flight per peer |
//! | `Probe` | the incarnation the sender's checkpoint recorded | by a restored (or displaced) leader to every peer, once per tick until answered (or until `Config::probe_timeout_ticks` ticks have passed): "which is the newest incarnation of mine you have seen?" |
//! | `ProbeReply` | the newest incarnation of the receiver the sender has seen, if any; addressed to the prober's incarnation | in answer to a `Probe`; and unasked, as a **displacement notice**, to a peer whose messages are stale because a newer incarnation of it was seen |
//! | `Fragment` | part `i` of `n` of a message larger than `Config::message_bytes_max` | such a message (a large repair, an `OrSet::clear()` of a large set, the whole state for a new peer) is cut into fragments under the limit, at most 4 unacknowledged, and handled only when complete, so it is applied whole and in causal order |
//! | `FragmentAck` | how many fragments of a transfer arrived | after each fragment; the sender resends from there after a tick without progress |
//!
//! ## Guarantees, and what each rests on
//!
//! - **Convergence**: leaders connected directly or over any number of hops reach equal
//!   states (byte-identical encodings) once messages get through. It rests on the join
//!   laws of [`crdt_core::Crdt`], on intervals being retransmitted until acknowledged
//!   (after 1 tick without progress, then 2, 4, up to 8, so an unreachable peer is not
//!   flooded), and on repair whenever an interval can no longer be formed.
//! - **No lost or double-counted writes**: merging is idempotent, so duplicated and
//!   retransmitted messages are harmless; an interval is only applied after the prefix it
//!   extends; a buffer is only collected after every peer acknowledged it.
//! - **Removes are never lost**: a remove travels as a delta like any write; repair
//!   computes "what you lack" from the peer's full causal context and sends our context
//!   minus our live dots the peer has seen, so the peer drops exactly the elements we
//!   removed — a version-vector "what is newer" diff would silently drop removes.
//! - **Causal consistency**: a leader never exposes an update without everything it
//!   depends on. An interval `start..=end` is applied only if `start` is at most one past
//!   the last interval received from that peer (**causal delta-merging**; a gap — which
//!   only a restart or a hostile peer can cause — is never applied but repaired, unlike
//!   Akka's out-of-order ORSet deltas whose holes acted as deletes); a buffer's prefix
//!   joins to its owner's state, and a repair brings the whole sender state.
//! - **Session guarantees across leaders**: the [`Leader::causal_token`] counts, per
//!   writer, the writes a leader's state includes. A leader adopts a peer's token only
//!   after merging everything the token describes, so [`Leader::covers`] is exact:
//!   carrying the token from a write to another leader and waiting until it covers it
//!   gives read-your-writes and monotonic reads. Token growth travels even when the
//!   payload that carried it was redundant (as an empty delta), so every leader's token
//!   eventually covers every write it holds.
//! - **Replica-id safety**: a leader that receives updates under its own writer id that
//!   it never made (another live leader shares its id, or a copy of it outlived the
//!   checkpoint it was restored from) returns [`SyncError::ReplicaIdConflict`] and refuses
//!   further writes rather than issue a dot twice (Riak's "KV679"). A leader restored from
//!   a checkpoint becomes a new [`Incarnation`] writing under a fresh id ([`writer_id`]):
//!   it first probes its peers and takes a restart counter above every incarnation of it
//!   they have seen, with a random **nonce** from the restore ([`Leader::restore`] asks
//!   the OS, [`Leader::restore_with_nonce`] takes the caller's), so incarnations are
//!   unique by construction — even when a crashed copy's messages are still in flight
//!   and an older checkpoint is restored, the two copies write under different ids.
//!   Because the nonce, not the answers, makes the writer id new, a probe does not wait
//!   for ever for a peer it cannot reach: after `Config::probe_timeout_ticks` ticks it
//!   ends with the answers at hand ([`Metrics::probes_timed_out`]). A
//!   leader (new or restored) whose peers later see a newer incarnation of it (those
//!   late messages) is told so, probes, and takes one above it again, each time jumping
//!   twice as far above the newest it saw; one displaced more than
//!   [`DISPLACEMENTS_MAX`] times (a live twin) reports the conflict. Writes
//!   wait until a [`Leader::checkpoint`] of the new incarnation was stored and handed
//!   to [`Leader::persisted`]. A peer keeps
//!   telling an older copy it was displaced for a few ticks after it saw the newer one,
//!   so a copy that falls silent learns it too.
//!
//!   A copy that stops writing (it reported the conflict, or the operator retired
//!   it) may hold acknowledged writes no peer has; they are under its own writer id,
//!   so [`Leader::hand_over`] of its checkpoint at any healthy leader delivers them.
//!
//!   **Every life has a nonce**, a new leader's first one too: [`Leader::new`] takes
//!   a nonce from the operating system ([`Leader::with_nonce`] the caller's) and writes
//!   under a writer id derived from it. A process started empty under an id whose
//!   earlier life lost its storage therefore never issues a dot that life issued, and
//!   nothing depends on dots revealing the reuse: as many writes as the old life made
//!   under the old writer id would otherwise collide with it unseen (equal contexts,
//!   different states). A peer that has seen a newer incarnation of the id tells the
//!   new leader so, and it probes and takes an incarnation above it, like a restored
//!   one. Two processes started empty under one id behind **one address** are distinct
//!   incarnations too: a shared peer keeps the newer one's stream and displaces the
//!   other, and a twin that is still live after [`DISPLACEMENTS_MAX`] displacements
//!   reports the conflict.
//! - **Divergence the summaries cannot see**: two replicas whose summaries agree but
//!   whose contents differ (a store that lost an element without a trace in its causal
//!   context, a buggy peer's delta) are found by the state hash in version-3 digests;
//!   both then send their whole state and the join makes them equal (the join reads a
//!   dot one side lacks at an equal context as removed, so a silently lost element ends
//!   removed everywhere). Each case is counted in [`Metrics::divergences`].
//!
//!   A remove changes no causal context, so while one is on its way the same mismatch
//!   shows without any damage. A mismatch is therefore acted on at once only when the
//!   two causal tokens are equal (they count every write, removes included) or, on an
//!   eager link, when the link carries nothing either way (the peer acknowledged our
//!   whole buffer and we merged its buffer up to the head its digest names).
//!   Otherwise it is acted on once the peer's digests have shown the very same two
//!   states for the longest retransmission backoff (8 ticks) on an eager link, or for
//!   one tick on a lazy link, which cannot see what is on its way over other links.
//!   On a lazy link, and wherever periodic digests are off, the peer's digest is asked
//!   for again when that wait is up, so a remove that reached only one side of a lazy
//!   cut still crosses it soon. Damage that keeps the tokens apart on a link that never
//!   goes quiet is found once neither state changes for those 8 ticks.
//!
//!   A peer that acknowledged what we had at its previous digest but whose summary
//!   still does not cover it is repaired even while we keep writing.
//! - **Echoes and misdelivery**: a transport that hands a leader its own messages back
//!   (pub/sub) does no harm: they are ignored and counted ([`Metrics::echoes`]); only a
//!   message from another incarnation of our id, or one holding updates under our
//!   writer id that we never made, is evidence of another process. A message for
//!   another leader is rejected and counted ([`Metrics::misdelivered`]).
//! - **Untrusted bytes**: every malformed, truncated, oversized or hostile payload
//!   returns an error, never panics, and leaves the leader unchanged (apart from
//!   metrics, and the highest protocol version a peer announced in its envelope).
//!   Limits are explicit ([`Config`]): message and transfer bytes, buffer bytes,
//!   peers, and decoded content.
//!
//! ## Costs
//!
//! In steady state each update crosses each link at most once, and merging it costs
//! O(size of the update). Repair costs a summary exchange plus the missing part
//! (O(state) to compute, at most a full state on the wire); at most one repair per peer
//! is in flight and at most one is requested per tick, so a restart under write load
//! costs one repair, not one per out-of-order interval. A digest costs the state hash
//! (O(state) for the four basic types, recomputed only after a change; O(1) for
//! `Keyspace`). Each restart adds one writer id to version vectors.
//!
//! **Per peer and round** (a hub with hundreds of peers, up to `Config::peers_max`):
//! each [`Leader::poll_transmit`] and each acknowledgement costs O(log peers), not a
//! scan of every peer — only peers that may have output are visited (one a message
//! was received from, or that new deltas wake), and the lowest acknowledgement, which
//! bounds garbage collection, is kept in a multiset. A peer gets new deltas at once
//! when nothing is in flight to it, and at most one interval pipelined behind those
//! in flight per tick: deltas buffered meanwhile coalesce into the next interval, so a
//! hub relaying every write of `n` peers sends each peer a bounded number of messages
//! per tick (about 5 with every peer writing once per tick), O(n) messages in all,
//! not one per write (n²). An interval joins its `k` deltas pairwise, O(size × log k).
//! What stays O(writers) per message: the causal token sent with an interval is
//! compared entry by entry with what the peer is known to have, and a digest (every
//! `Config::digest_interval_ticks` ticks per peer) carries the whole summary and
//! token. The `hub` benchmark (BENCHMARKS.md, "Hundreds of peers") measures it.
#![forbid(unsafe_code)]

mod admission;
mod buffer;
mod checkpoint;
mod commit;
mod config;
mod crc32;
mod dating;
mod error;
mod incarnation;
mod leader;
mod message;
mod metrics;
mod peer;
mod receive;
mod retired;
pub mod retirement;
mod schedule;
mod transfer;
mod transmit;
mod writer_id;

pub use admission::Admission;
pub use checkpoint::{Checkpoint, CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_MIN, CHECKPOINT_MAGIC};
pub use config::{Config, COLLAPSE_DEFAULT, LAZY_DIGEST_INTERVAL_TICKS};
pub use error::SyncError;
pub use incarnation::Incarnation;
pub use leader::{Leader, Transmit, DISPLACEMENTS_MAX};
pub use message::{MESSAGE_MAGIC, PROTOCOL_VERSION, PROTOCOL_VERSION_MIN};
pub use metrics::Metrics;
pub use writer_id::writer_id;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
