//! `decode_sync`: untrusted bytes fed to a [`Leader`] as messages and snapshots.
//!
//! Input layout: the first byte selects the replicated type (`byte % 4`, see [`Kind`]),
//! the mode (`(byte & 0x7f) / 4 % 3`, see [`Mode`]) and whether the bytes get a valid
//! checksum (bit 7 clear, the default) or go out verbatim ([`VERBATIM`]); the rest is
//! the mode's input. Because random bytes rarely pass a message header, mode
//! [`Mode::Real`] starts from *real* messages of a scripted two-leader exchange
//! ([`traffic`]) and applies the fuzzer's [`Mutation`]s to them.
//!
//! Every message and snapshot ends in a CRC-32 of the rest, which a mutation almost
//! always breaks: unless [`VERBATIM`] is set, the driver treats the fuzzer's bytes (and
//! mutated real messages, stripped of their trailer) as a *body* and [`seal`]s it with
//! a correct CRC, so the fuzzer reaches the decoder and the protocol behind the check.
//!
//! Every message goes to [`receiver`], a leader with id 2 and peer 1 that has made a
//! few writes of its own (in [`Mode::Real`] it may also crash and restart from its own
//! snapshot, [`Step::Restart`], so messages meet a leader that probes its peers; and
//! the fuzzer can send it probes and probe replies naming any incarnation,
//! [`Step::Probe`]). Checked: nothing panics; a rejected message leaves `state()`,
//! `causal_token()`, the incarnation and the writer id unchanged (and whether writes
//! are allowed, unless it reported a replica-id conflict); accepted input keeps the
//! state's invariants; `can_write` tells exactly whether `mutate` runs;
//! `poll_transmit` runs dry; a restored leader's snapshot restores again, and once
//! its peers answered its probe it writes under a new incarnation.
//!
//! Restores never draw entropy from the OS: the nonce is derived from the input
//! ([`nonce_of`]), so every input replays exactly.

use super::decode::Checked;
use crate::net::rid;
use crate::seeded_leader;
use crate::SaveExt;
use arbitrary::Arbitrary;
use crdt_core::codec::{encode, WireFormat, Writer};
use crdt_core::{
    DeltaCrdt, GCounter, GCounterOp, LwwOp, LwwRegister, OrSet, OrSetOp, PnCounter, PnCounterOp,
    ReplicaId,
};
use crdt_sync::{Config, Incarnation, Leader, SyncError, MESSAGE_MAGIC};
use std::sync::OnceLock;

/// The sender of every real message: leader 1.
pub const SENDER: u64 = 1;
/// The leader under test: leader 2, with peer 1.
pub const RECEIVER: u64 = 2;
/// At most this many steps of a [`Mode::Real`] input are run.
pub const MAX_STEPS: usize = 64;

/// A replicated type a leader can be fuzzed with.
pub trait SyncType: DeltaCrdt + Checked {
    /// Scripted write number `step` on behalf of `id` (deterministic).
    fn write(id: ReplicaId, step: u64) -> Self::Op;
}

impl SyncType for GCounter {
    fn write(_: ReplicaId, step: u64) -> GCounterOp {
        GCounterOp::Increment(step + 1)
    }
}

impl SyncType for PnCounter {
    fn write(_: ReplicaId, step: u64) -> PnCounterOp {
        if step % 3 == 2 {
            PnCounterOp::Decrement(step)
        } else {
            PnCounterOp::Increment(step + 1)
        }
    }
}

impl SyncType for OrSet<u64> {
    fn write(_: ReplicaId, step: u64) -> OrSetOp<u64> {
        match step % 7 {
            3 => OrSetOp::Remove((step + 1) % 5),
            6 => OrSetOp::Clear,
            _ => OrSetOp::Insert(step % 5),
        }
    }
}

impl SyncType for LwwRegister<String> {
    fn write(id: ReplicaId, step: u64) -> LwwOp<String> {
        // Each leader's wall clock runs at its own offset: writes are concurrent.
        LwwOp::Set {
            value: format!("v{}.{step}", id.get()),
            now_ms: 1_000 + 7 * step + id.get(),
        }
    }
}

pub use crate::kind::Kind;

/// What the bytes after the selector are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One message (selector `(byte & 0x7f) / 4 % 3 == 0`).
    Raw,
    /// A snapshot for `Leader::restore` (1).
    Restore,
    /// [`Step`]s over real messages, read with `arbitrary` (2).
    Real,
}

impl Mode {
    /// All modes, in selector order.
    pub const ALL: [Mode; 3] = [Mode::Raw, Mode::Restore, Mode::Real];
}

/// Selector bit: deliver the bytes as they are, without [`seal`]ing them.
pub const VERBATIM: u8 = 0x80;

/// The selector byte for `kind` and `mode` (bytes get sealed).
#[must_use]
pub fn selector(kind: Kind, mode: Mode) -> u8 {
    kind.index() + 4 * (mode as u8)
}

/// The CRC-32 (IEEE 802.3, as `crc32fast::hash`) of `bytes`.
#[must_use]
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// The length of the CRC-32 trailer of messages and snapshots.
pub const CHECKSUM_LEN: usize = 4;

/// `body` followed by its CRC-32, little-endian: a message or snapshot of a leader of
/// type `tag` whose checksum matches at [`RECEIVER`]. A message from protocol version 4
/// on is checksummed with the pseudo-header (`tag`, then `RECEIVER` as a varint) after
/// it; a snapshot, or an older message, alone.
#[must_use]
pub fn seal(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut covered = body.to_vec();
    if matches!(body, [m0, m1, version, ..] if [*m0, *m1] == MESSAGE_MAGIC && *version >= 4) {
        let mut w = Writer::new();
        w.u8(tag);
        w.replica(rid(RECEIVER));
        covered.extend_from_slice(&w.into_bytes());
    }
    let mut out = body.to_vec();
    out.extend_from_slice(&crc32(&covered).to_le_bytes());
    out
}

/// A message or snapshot without its checksum trailer.
#[must_use]
pub fn body(sealed: &[u8]) -> &[u8] {
    &sealed[..sealed.len().saturating_sub(CHECKSUM_LEN)]
}

/// A restore nonce derived from `bytes` (FNV-1a, 64 bits) and `salt`: the same input
/// always restores the same incarnations.
#[must_use]
pub fn nonce_of(bytes: &[u8], salt: u64) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325 ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    h
}

/// The message kind of a `Probe` (`crdt-sync`'s message table).
pub const KIND_PROBE: u8 = 5;
/// The message kind of a `ProbeReply`.
pub const KIND_PROBE_REPLY: u8 = 6;

/// The body (unsealed) of a `Probe` number `probe` of a `C` leader from incarnation
/// `inc`.
#[must_use]
pub fn probe_body<C: WireFormat>(inc: Incarnation, probe: u32) -> Vec<u8> {
    let mut w = header::<C>(KIND_PROBE, rid(SENDER), inc, rid(RECEIVER), None);
    w.varint(u64::from(probe));
    w.into_bytes()
}

/// The header of a message of `kind` from `from` in incarnation `inc` to
/// [`RECEIVER`] in incarnation `to_inc` (see crdt-sync's message layout).
fn header<C: WireFormat>(
    kind: u8,
    from: ReplicaId,
    inc: Incarnation,
    to: ReplicaId,
    to_inc: Option<Incarnation>,
) -> Writer {
    let mut w = Writer::new();
    w.raw(&MESSAGE_MAGIC);
    // Version 3's layout (type tag and receiver in the header), which every build
    // since reads.
    w.u8(3);
    w.u8(3);
    w.u8(kind);
    w.u8(C::TYPE_TAG);
    w.replica(from);
    w.varint(inc.to_u64());
    w.replica(to);
    match to_inc {
        None => w.u8(0),
        Some(k) => {
            w.u8(1);
            w.varint(k.to_u64());
        }
    }
    w
}

/// The body (unsealed) of a `ProbeReply` of a `C` leader in incarnation `inc`
/// answering probe number `probe` (0: unasked, a displacement notice): the newest
/// incarnation of the receiver it saw is `known`; it is addressed to receiver `to` in
/// incarnation `to_inc` (the prober's, as its probe said).
#[must_use]
pub fn probe_reply_body<C: WireFormat>(
    from: ReplicaId,
    inc: Incarnation,
    probe: u32,
    known: Option<Incarnation>,
    (to, to_inc): (ReplicaId, Incarnation),
) -> Vec<u8> {
    let mut w = header::<C>(KIND_PROBE_REPLY, from, inc, to, Some(to_inc));
    w.varint(u64::from(probe));
    match known {
        None => w.u8(0),
        Some(k) => {
            w.u8(1);
            w.varint(k.to_u64());
        }
    }
    w.into_bytes()
}

/// The probe number of `sealed` if it is a `Probe`.
#[must_use]
pub fn probe_id(sealed: &[u8]) -> Option<u32> {
    let limits = crdt_core::codec::DecodeLimits::DEFAULT;
    let mut r = crdt_core::codec::Reader::new(body(sealed), &limits).ok()?;
    let head = r.raw(5).ok()?;
    if head[..2] != MESSAGE_MAGIC || head[4] != KIND_PROBE {
        return None;
    }
    // Version 4 sends neither the type tag nor the receiver (the checksum covers both).
    let v4 = head[2] >= 4;
    if !v4 {
        r.u8().ok()?; // type tag
    }
    r.replica().ok()?; // from
    r.varint().ok()?; // its incarnation
    if !v4 {
        r.replica().ok()?; // to
    }
    if r.u8().ok()? == 1 {
        r.varint().ok()?; // its incarnation
    }
    r.varint().ok().and_then(|p| u32::try_from(p).ok())
}

/// A change to a real message.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// XOR one byte (position taken modulo the length).
    Xor {
        /// Position.
        at: u16,
        /// Bits to flip.
        mask: u8,
    },
    /// Overwrite one byte.
    Set {
        /// Position.
        at: u16,
        /// New value.
        byte: u8,
    },
    /// Cut the message to `len` bytes (modulo length + 1).
    Truncate {
        /// New length.
        len: u16,
    },
    /// Delete up to `len` bytes at `at`.
    Remove {
        /// Position.
        at: u16,
        /// How many.
        len: u8,
    },
    /// Insert bytes at `at`.
    Insert {
        /// Position.
        at: u16,
        /// What.
        bytes: Vec<u8>,
    },
    /// Replace the byte at `at` by the LEB128 varint of `value` (a plausible field).
    Varint {
        /// Position.
        at: u16,
        /// The number.
        value: u64,
    },
    /// Copy up to `len` bytes from real message `other` (at `from`) over position `at`.
    SpliceReal {
        /// Position in this message.
        at: u16,
        /// Which other real message.
        other: u8,
        /// Position there.
        from: u16,
        /// How many bytes.
        len: u8,
    },
}

fn pos(at: u16, len: usize) -> usize {
    usize::from(at) % (len + 1)
}

impl Mutation {
    /// Applies the mutation to `msg`; `real` are the messages `SpliceReal` copies from.
    pub fn apply(&self, msg: &mut Vec<u8>, real: &[Vec<u8>]) {
        match *self {
            Mutation::Xor { at, mask } => {
                if !msg.is_empty() {
                    let i = usize::from(at) % msg.len();
                    msg[i] ^= mask;
                }
            }
            Mutation::Set { at, byte } => {
                if !msg.is_empty() {
                    let i = usize::from(at) % msg.len();
                    msg[i] = byte;
                }
            }
            Mutation::Truncate { len } => {
                let n = pos(len, msg.len());
                msg.truncate(n);
            }
            Mutation::Remove { at, len } => {
                let i = pos(at, msg.len());
                let j = (i + usize::from(len)).min(msg.len());
                msg.drain(i..j);
            }
            Mutation::Insert { at, ref bytes } => {
                let i = pos(at, msg.len());
                let tail = msg.split_off(i);
                msg.extend_from_slice(&bytes[..bytes.len().min(64)]);
                msg.extend_from_slice(&tail);
            }
            Mutation::Varint { at, value } => {
                let i = pos(at, msg.len());
                let mut w = crdt_core::codec::Writer::new();
                w.varint(value);
                let end = (i + 1).min(msg.len());
                msg.splice(i..end, w.into_bytes());
            }
            Mutation::SpliceReal {
                at,
                other,
                from,
                len,
            } => {
                if real.is_empty() {
                    return;
                }
                let src = &real[usize::from(other) % real.len()];
                let a = pos(from, src.len());
                let b = (a + usize::from(len)).min(src.len());
                let i = pos(at, msg.len());
                let j = (i + (b - a)).min(msg.len());
                msg.splice(i..j, src[a..b].iter().copied());
            }
        }
    }
}

/// One step of a [`Mode::Real`] input.
#[derive(Arbitrary, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Deliver real message `base` (modulo their number), mutated.
    Deliver {
        /// Which real message.
        base: u8,
        /// Applied in order.
        mutations: Vec<Mutation>,
    },
    /// Deliver arbitrary bytes.
    Raw(Vec<u8>),
    /// A `tick` of the receiver, then its transmissions.
    Tick,
    /// A local write on the receiver (after a snapshot, if it asks for one).
    Write,
    /// The receiver crashes and restarts from a snapshot it takes now.
    Restart,
    /// The receiver persists a snapshot (as a service does when `can_write` asks).
    Snapshot,
    /// A `Probe` (`reply: None`) or `ProbeReply` from the sender, in the sender's
    /// incarnation `inc`, with probe number `probe`, naming `known` as the newest
    /// incarnation of the receiver it saw (incarnations as wire values: counter in the
    /// high 32 bits).
    Probe {
        /// The sender's incarnation.
        inc: u64,
        /// The probe number (a probe needs one; 0 in a reply: a notice).
        probe: u32,
        /// `None`: a probe; `Some(None)`: a reply "never saw you"; `Some(Some(k))`.
        reply: Option<Option<u64>>,
    },
    /// A `tick` of the receiver; if it probes (it was restored or displaced), the
    /// sender answers its probe, naming `known`.
    AnswerProbe {
        /// The newest incarnation of the receiver the sender saw (wire value).
        known: Option<u64>,
    },
}

/// Real traffic of one type: what leader 1 sent leader 2, and snapshots of both.
#[derive(Clone, Debug, Default)]
pub struct Traffic {
    /// Distinct payloads from leader 1 to leader 2, in the order first sent.
    pub messages: Vec<Vec<u8>>,
    /// Snapshots of leader 1 (before and right after a restore) and of leader 2.
    pub snapshots: Vec<Vec<u8>>,
}

/// The leader under test: id 2, peer 1, two writes of its own (the same start as the
/// leader 2 of [`traffic`], so the first real messages apply to it).
#[must_use]
pub fn receiver<C: SyncType>() -> Leader<C> {
    let mut b = seeded_leader(rid(RECEIVER), C::default());
    b.add_peer(rid(SENDER)).expect("add peer");
    for step in 0..2 {
        b.apply(C::write(b.writer_id(), 100 + step))
            .expect("a fresh leader accepts writes");
    }
    b
}

struct Exchange<C: SyncType> {
    a: Leader<C>,
    b: Leader<C>,
    traffic: Traffic,
    step: u64,
}

impl<C: SyncType> Exchange<C> {
    fn record(&mut self, payload: &[u8]) {
        if !self.traffic.messages.iter().any(|m| m == payload) {
            self.traffic.messages.push(payload.to_vec());
        }
    }

    fn write_a(&mut self, n: u64) {
        for _ in 0..n {
            let step = self.step;
            self.step += 1;
            for attempt in 0.. {
                match self.a.apply(C::write(self.a.writer_id(), step)) {
                    Ok(_) => break,
                    // Persist first, as a service would; then write.
                    Err(SyncError::CheckpointRequired) => {
                        let _ = self.a.save();
                    }
                    // A restored leader settling in: let messages through.
                    Err(e) if attempt < 4 => {
                        let _ = e;
                        self.pump(false);
                    }
                    Err(e) => panic!("leader 1 refuses writes: {e}"),
                }
            }
        }
    }

    /// Moves messages both ways until both leaders are quiet; `lose_a` drops (after
    /// recording) what leader 1 sends.
    fn pump(&mut self, lose_a: bool) {
        for _ in 0..100 {
            let mut quiet = true;
            while let Some(t) = self.a.poll_transmit() {
                quiet = false;
                self.record(&t.payload);
                if !lose_a {
                    self.b
                        .receive(rid(SENDER), &t.payload)
                        .expect("leader 2 accepts leader 1's message");
                }
            }
            while let Some(t) = self.b.poll_transmit() {
                quiet = false;
                self.a
                    .receive(rid(RECEIVER), &t.payload)
                    .expect("leader 1 accepts leader 2's message");
            }
            if quiet || lose_a {
                return;
            }
        }
    }

    fn tick(&mut self, lose_a: bool) {
        self.a.tick();
        self.b.tick();
        self.pump(lose_a);
    }
}

/// The scripted exchange: writes on both sides, a lost interval and its
/// retransmission, a restart of leader 1 from a stale snapshot (its probe, digests with
/// flags, repairs), periodic digests, and a restart of leader 2 (leader 1's probe
/// reply). Deterministic.
#[must_use]
pub fn scripted_traffic<C: SyncType>() -> Traffic {
    let mut a = seeded_leader(rid(SENDER), C::default());
    a.add_peer(rid(RECEIVER)).expect("add peer");
    let mut x = Exchange {
        a,
        b: receiver::<C>(),
        traffic: Traffic::default(),
        step: 0,
    };
    x.write_a(3);
    x.pump(false);
    x.write_a(2);
    x.pump(true);
    x.b.apply(C::write(x.b.writer_id(), 102)).expect("write");
    x.pump(false);
    x.tick(false);
    let snap_a = x.a.save();
    x.traffic.snapshots.push(snap_a.clone());
    x.traffic.snapshots.push(x.b.save());
    x.write_a(2);
    x.pump(true);
    x.a =
        Leader::restore_with_nonce(&snap_a, Config::default(), 0xA).expect("own snapshot restores");
    x.traffic.snapshots.push(x.a.save());
    x.pump(false);
    x.write_a(2);
    x.pump(false);
    for _ in 0..12 {
        x.tick(false);
    }
    // Leader 2 restarts too: leader 1 answers its probe (a real `ProbeReply`).
    let snap_b = x.b.save();
    x.b =
        Leader::restore_with_nonce(&snap_b, Config::default(), 0xB).expect("own snapshot restores");
    for _ in 0..3 {
        x.tick(false);
        if matches!(x.b.can_write(), Err(SyncError::CheckpointRequired)) {
            let _ = x.b.save();
        }
    }
    x.write_a(1);
    x.pump(false);
    x.traffic
}

/// The real traffic of `kind` (computed once).
#[must_use]
pub fn traffic(kind: Kind) -> &'static Traffic {
    static CACHE: [OnceLock<Traffic>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    CACHE[usize::from(kind.index())].get_or_init(|| match kind {
        Kind::GCounter => scripted_traffic::<GCounter>(),
        Kind::PnCounter => scripted_traffic::<PnCounter>(),
        Kind::OrSet => scripted_traffic::<OrSet<u64>>(),
        Kind::Lww => scripted_traffic::<LwwRegister<String>>(),
        Kind::Keyspace => unreachable!("the sync fuzz target runs the kinds of Kind::ALL"),
    })
}

/// Hands everything `leader` wants to send to nobody; checks it runs dry and that
/// nothing exceeds the message limit. Returns the number of the last probe it sent.
///
/// # Panics
/// If `poll_transmit` does not run dry or produces an oversized message.
pub fn drain<C: SyncType>(leader: &mut Leader<C>) -> Option<u32> {
    let mut n = 0;
    let mut probe = None;
    while let Some(t) = leader.poll_transmit() {
        n += 1;
        assert!(n <= 1_000, "poll_transmit never runs dry");
        assert!(
            t.payload.len() <= Config::DEFAULT.message_bytes_max,
            "an outgoing message exceeds message_bytes_max"
        );
        if let Some(id) = probe_id(&t.payload) {
            assert_ne!(id, 0, "a probe carries a non-zero number");
            probe = Some(id);
        }
    }
    probe
}

/// Delivers `bytes` from `from` to `leader` and checks the outcome.
///
/// # Panics
/// If a rejected message changed the state, the causal token, the incarnation, the
/// writer id or (unless it reported a replica-id conflict) whether writes are allowed;
/// or if an accepted one broke an invariant.
pub fn deliver<C: SyncType>(leader: &mut Leader<C>, from: ReplicaId, bytes: &[u8]) -> bool {
    let state = encode(leader.state());
    let token = leader.causal_token();
    let inc = leader.incarnation();
    let writer = leader.writer_id();
    let could_write = leader.can_write();
    let accepted = match leader.receive(from, bytes) {
        Ok(()) => {
            leader.state().assert_invariants();
            true
        }
        Err(e) => {
            assert!(
                encode(leader.state()) == state,
                "a rejected message ({e}) changed the state"
            );
            assert!(
                leader.causal_token() == token,
                "a rejected message ({e}) changed the causal token"
            );
            assert!(
                leader.incarnation() == inc && leader.writer_id() == writer,
                "a rejected message ({e}) changed the incarnation or writer id"
            );
            if !matches!(e, SyncError::ReplicaIdConflict { .. }) {
                assert_eq!(
                    leader.can_write(),
                    could_write,
                    "a rejected message ({e}) changed whether writes are allowed"
                );
            }
            false
        }
    };
    drain(leader);
    accepted
}

/// A write on `leader` (scripted write `step`), checking that `can_write` said
/// exactly whether `mutate` runs, and that a write keeps the invariants.
///
/// # Panics
/// If `can_write` and `apply` disagree, or the state breaks an invariant.
pub fn write<C: SyncType>(leader: &mut Leader<C>, step: u64) -> bool {
    let allowed = leader.can_write();
    let before = encode(leader.state());
    let res = leader.apply(C::write(leader.writer_id(), step));
    assert_eq!(
        res.as_ref().err(),
        allowed.as_ref().err(),
        "can_write() and apply() disagree"
    );
    if res.is_err() {
        assert_eq!(
            encode(leader.state()),
            before,
            "a refused write changed the state"
        );
    }
    leader.state().assert_invariants();
    drain(leader);
    res.is_ok()
}

/// The incarnation a snapshot records (its header, id, then the incarnation), or
/// `None` if `sealed` is no snapshot.
#[must_use]
pub fn snapshot_incarnation(sealed: &[u8]) -> Option<Incarnation> {
    let limits = crdt_core::codec::DecodeLimits::DEFAULT;
    let mut r = crdt_core::codec::Reader::new(body(sealed), &limits).ok()?;
    r.raw(4).ok()?;
    r.replica().ok()?;
    r.varint().ok().map(Incarnation::from_u64)
}

/// Restores a leader from `bytes` and, if that succeeds, checks it: invariants,
/// writes refused right after the restore (until the new incarnation is settled and
/// persisted), the snapshot restores to the same state; then every peer answers its
/// probe ("never saw you") and it must take the incarnation counter after the
/// snapshot's under a new writer id, ask for a snapshot, and write once persisted
/// (unless the snapshot's counter is exhausted: then it refuses writes for good).
///
/// # Panics
/// On any violated property.
pub fn restore<C: SyncType>(bytes: &[u8]) -> Option<Leader<C>> {
    let nonce = nonce_of(bytes, 0);
    let mut leader = Leader::<C>::restore_with_nonce(bytes, Config::default(), nonce).ok()?;
    leader.state().assert_invariants();
    let old = snapshot_incarnation(bytes).expect("a snapshot that restores has a header");
    let old_writer = crdt_sync::writer_id(leader.id(), old);
    let peers: Vec<ReplicaId> = leader.peers().collect();
    assert!(
        leader.can_write().is_err() && !write(&mut leader, 0),
        "a restored leader writes before its new incarnation is persisted"
    );
    if !peers.is_empty() {
        assert_eq!(
            leader.incarnation(),
            old,
            "while it probes, a restored leader keeps the snapshot's incarnation"
        );
        assert_eq!(leader.can_write(), Err(SyncError::Restoring));
        // A snapshot taken while probing restores to the same leader.
        let snap = leader.save();
        let again = Leader::<C>::restore_with_nonce(&snap, Config::default(), nonce ^ 1)
            .expect("a leader's own snapshot restores");
        assert!(
            encode(again.state()) == encode(leader.state()),
            "snapshot then restore changed the state"
        );
        assert_eq!(again.causal_token(), leader.causal_token());
        assert_eq!(
            again.incarnation(),
            old,
            "a snapshot records the incarnation"
        );
        assert_eq!(again.id(), leader.id());
        assert!(again.peers().eq(leader.peers()));
        // Probes go out again at every tick until answered.
        leader.tick();
        let probe = drain(&mut leader).expect("a probing leader probes its peers");
        // Every peer answers the probe: "never saw you".
        for p in &peers {
            let reply = seal(
                C::TYPE_TAG,
                &probe_reply_body::<C>(
                    *p,
                    Incarnation::FIRST,
                    probe,
                    None,
                    (leader.id(), leader.incarnation()),
                ),
            );
            assert!(
                deliver(&mut leader, *p, &reply),
                "a restored leader rejects a probe reply"
            );
        }
    }
    if old.counter() == u32::MAX {
        assert!(
            leader.has_id_conflict(),
            "a leader whose incarnations are exhausted must refuse writes"
        );
    } else {
        let inc = leader.incarnation();
        assert!(
            inc.counter() == old.counter() + 1,
            "after its probe a restored leader takes the next counter ({inc} after {old})"
        );
        assert_ne!(
            leader.writer_id(),
            old_writer,
            "a new incarnation writes under a new id"
        );
        assert_eq!(
            leader.can_write(),
            Err(SyncError::CheckpointRequired),
            "the new incarnation must be persisted before writing"
        );
        let snap = leader.save();
        assert!(
            write(&mut leader, 1),
            "a restored, probed and persisted leader writes"
        );
        assert_eq!(snapshot_incarnation(&snap), Some(inc));
    }
    leader.tick();
    drain(&mut leader);
    Some(leader)
}

fn run_typed<C: SyncType>(kind: Kind, mode: Mode, sealed: bool, data: &[u8]) {
    let finish = |bytes: &[u8]| {
        if sealed {
            seal(C::TYPE_TAG, bytes)
        } else {
            bytes.to_vec()
        }
    };
    match mode {
        Mode::Raw => {
            let mut leader = receiver::<C>();
            deliver(&mut leader, rid(SENDER), &finish(data));
            leader.tick();
            drain(&mut leader);
            write(&mut leader, 300);
        }
        Mode::Restore => {
            let _ = restore::<C>(&finish(data));
        }
        Mode::Real => {
            let real: Vec<Vec<u8>> = traffic(kind)
                .messages
                .iter()
                .map(|m| body(m).to_vec())
                .collect();
            let real = &real;
            let steps: Vec<Step> = super::take(data, MAX_STEPS);
            let mut leader = receiver::<C>();
            let mut writes = 0;
            let mut restarts = 0;
            for step in &steps {
                match step {
                    Step::Deliver { base, mutations } => {
                        if real.is_empty() {
                            continue;
                        }
                        let mut msg = real[usize::from(*base) % real.len()].clone();
                        for m in mutations.iter().take(16) {
                            m.apply(&mut msg, real);
                        }
                        deliver(&mut leader, rid(SENDER), &finish(&msg));
                    }
                    Step::Raw(bytes) => {
                        deliver(&mut leader, rid(SENDER), &finish(bytes));
                    }
                    Step::Tick => {
                        leader.tick();
                        drain(&mut leader);
                    }
                    Step::Write => {
                        writes += 1;
                        if matches!(leader.can_write(), Err(SyncError::CheckpointRequired)) {
                            let _ = leader.save();
                        }
                        write(&mut leader, 200 + writes);
                    }
                    Step::Snapshot => {
                        let _ = leader.save();
                    }
                    Step::Restart => {
                        restarts += 1;
                        let snap = leader.save();
                        let nonce = nonce_of(data, restarts);
                        leader = Leader::<C>::restore_with_nonce(&snap, Config::default(), nonce)
                            .expect("a leader's own snapshot restores");
                        leader.state().assert_invariants();
                        drain(&mut leader);
                    }
                    Step::Probe { inc, probe, reply } => {
                        let inc = Incarnation::from_u64(*inc);
                        let msg = match reply {
                            None => probe_body::<C>(inc, *probe),
                            Some(known) => probe_reply_body::<C>(
                                rid(SENDER),
                                inc,
                                *probe,
                                known.map(Incarnation::from_u64),
                                (leader.id(), leader.incarnation()),
                            ),
                        };
                        let valid = reply.is_some() || *probe != 0;
                        assert_eq!(
                            deliver(&mut leader, rid(SENDER), &seal(C::TYPE_TAG, &msg)),
                            valid,
                            "a probe or probe reply from a peer is accepted iff well-formed"
                        );
                    }
                    Step::AnswerProbe { known } => {
                        leader.tick();
                        if let Some(probe) = drain(&mut leader) {
                            let known = known.map(Incarnation::from_u64);
                            let reply = probe_reply_body::<C>(
                                rid(SENDER),
                                Incarnation::FIRST,
                                probe,
                                known,
                                (leader.id(), leader.incarnation()),
                            );
                            assert!(
                                deliver(&mut leader, rid(SENDER), &seal(C::TYPE_TAG, &reply)),
                                "a restored leader rejects the answer to its probe"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The `decode_sync` driver (see the module docs for the input layout).
pub fn run(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let kind = Kind::from_byte(sel);
    let mode = Mode::ALL[usize::from((sel & !VERBATIM) / 4 % 3)];
    let sealed = sel & VERBATIM == 0;
    match kind {
        Kind::GCounter => run_typed::<GCounter>(kind, mode, sealed, rest),
        Kind::PnCounter => run_typed::<PnCounter>(kind, mode, sealed, rest),
        Kind::OrSet => run_typed::<OrSet<u64>>(kind, mode, sealed, rest),
        Kind::Lww => run_typed::<LwwRegister<String>>(kind, mode, sealed, rest),
        Kind::Keyspace => unreachable!("Kind::from_byte selects among Kind::ALL"),
    }
}
