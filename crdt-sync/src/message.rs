//! The protocol's messages and their versioned encoding.
//!
//! # Layout
//!
//! Every message starts with a 4-byte **envelope** that every version keeps:
//! magic `D1 5C`, the protocol version the message is encoded in, and the highest
//! version its sender speaks. A leader that cannot read a message still learns from
//! its envelope which version to answer in (see [`PROTOCOL_VERSION`]).
//!
//! Then the header: message kind, the crdt-core type tag of the replicated type (so
//! leaders of different types never merge each other's bytes), the **sender**'s id and
//! incarnation, and the **receiver**'s id and the incarnation of it the sender assumes
//! (absent until the sender has heard from it). A message delivered to another leader,
//! or to another life of its receiver, is rejected: intervals and repairs are computed
//! for one receiver. Then the kind's fields in the core codec's canonical varints,
//! and last a CRC-32 of everything before it: corruption is rejected, never applied.
//!
//! From version 4 the type tag and the receiver's id are not sent: the CRC-32 covers
//! the message followed by a **pseudo-header** (type tag, then the receiver's id as a
//! varint), as UDP's checksum covers the IP addresses. A receiver tries its own id,
//! then each peer's, continuing the checksum of the body: so an echo of what it sent
//! is still recognized, and a message for one of its peers is still rejected as
//! misdelivered; one for any other leader, or for a leader of another type, fails the
//! check and is rejected as corrupt. And the kind byte's high bit (`KIND_FLAG_ADDRESSED`) says
//! that an acknowledgement's or repair's incarnation `for_inc` is the receiver
//! incarnation of the address, and is not sent: nearly always, saving 5-6 bytes. A
//! digest sends its summary before its causal token, and the token names each writer
//! the summary names by its position there (`DeltaCrdt::summary_writers`): one byte
//! instead of up to eight per entry; a delta or repair likewise sends its payload
//! first, and its token names the payload's writers by position.
//!
//! # Versions and compatibility
//!
//! | version | adds |
//! |---|---|
//! | 2 ([`PROTOCOL_VERSION_MIN`]) | the envelope, addressed messages, fragments of messages above `message_bytes_max` |
//! | 3 | digests carry a 64-bit hash of the canonical state, so replicas whose summaries agree but whose contents differ are found and repaired |
//! | 4 ([`PROTOCOL_VERSION`]) | the type tag and receiver id move into the checksum's pseudo-header; an acknowledged incarnation equal to the address's is elided; a token refers to the writers of the summary or payload before it by position |
//!
//! Version 1 (crdt-sync 0.1 before versioning) had no envelope and is refused.
//!
//! Leaders negotiate per peer: each sends in the highest version both speak, and
//! version 3 until it has heard the peer's envelope (a version-3 build cannot check a
//! version-4 checksum, so it would not even learn from the envelope which version to
//! answer in). A message in a version this build
//! does not read is rejected with [`SyncError::UnsupportedVersion`](crate::SyncError),
//! and the peer's highest version is remembered, so the next messages are readable.
//! A peer whose highest version is below [`PROTOCOL_VERSION_MIN`] cannot be served and
//! is reported as [`SyncError::PeerTooOld`](crate::SyncError).
//!
//! What a new version may change: add message kinds, add fields at the end of a
//! kind's body, or give a field a new meaning only under the new version number. The
//! envelope never changes. A leader never sends a kind or field to a peer that has not
//! announced the version that introduced it, so a rolling upgrade runs mixed clusters
//! at the older version on mixed links and at the newer one elsewhere; dropping a
//! version from the accepted range is a breaking release.

use crate::Incarnation;
use crdt_core::codec::{DecodeError, DecodeLimits, Invalid, Limit, Reader, WireFormat, Writer};
use crdt_core::{DeltaCrdt, ReplicaId, VersionVector};

/// The magic bytes of a protocol message.
pub const MESSAGE_MAGIC: [u8; 2] = [0xD1, 0x5C];
/// The highest protocol version this build speaks.
pub const PROTOCOL_VERSION: u8 = 4;
/// The version sent to a peer until its envelope announced a higher one: the highest
/// whose checksum every supported version checks the same way.
pub(crate) const VERSION_UNHEARD: u8 = 3;
/// The lowest protocol version this build speaks: older peers are refused with
/// [`SyncError::PeerTooOld`](crate::SyncError::PeerTooOld).
pub const PROTOCOL_VERSION_MIN: u8 = 2;

const KIND_DELTA: u8 = 1;
const KIND_ACK: u8 = 2;
const KIND_DIGEST: u8 = 3;
const KIND_REPAIR: u8 = 4;
const KIND_PROBE: u8 = 5;
const KIND_PROBE_REPLY: u8 = 6;
/// A `Delta` that also acknowledges the receiver's deltas (saves an `Ack` message).
const KIND_DELTA_ACK: u8 = 7;
const KIND_FRAGMENT: u8 = 8;
const KIND_FRAGMENT_ACK: u8 = 9;
/// Kind flag (version 4): the acknowledged or repaired incarnation (`for_inc`) of an
/// `Ack`, a `Delta` with an acknowledgement or a `Repair` is the address's receiver
/// incarnation, and is not sent. Set whenever that holds (canonical form).
pub(crate) const KIND_FLAG_ADDRESSED: u8 = 0x80;

/// Digest flag: "I lack your state (restart, gap, new peer): send me a repair".
pub(crate) const FLAG_REPAIR_ME: u8 = 1;
/// Digest flag: "send me your digest" (I need your summary to repair you).
pub(crate) const FLAG_SEND_DIGEST: u8 = 2;
/// Digest flag (version 3): "our summaries agree but our states differ: send me your
/// whole state" (this side sends its own too; the join makes both equal).
pub(crate) const FLAG_FULL_STATE: u8 = 4;

/// Who sent a message to whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Address {
    /// The sender's id.
    pub(crate) from: ReplicaId,
    /// The receiver's id.
    pub(crate) to: ReplicaId,
    /// The receiver's incarnation as the sender knows it (`None`: not heard from yet).
    pub(crate) to_inc: Option<Incarnation>,
}

/// The first four bytes of every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Envelope {
    /// The version the message is encoded in.
    pub(crate) version: u8,
    /// The highest version its sender speaks.
    pub(crate) max: u8,
}

/// One protocol message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message<C: DeltaCrdt> {
    /// The join of the sender's buffered deltas `start..=end` (minus those that came
    /// from the receiver), the entries of the sender's causal token the receiver may
    /// lack, and optionally an acknowledgement `(for_inc, seq)` as in `Ack`.
    Delta {
        inc: Incarnation,
        start: u64,
        end: u64,
        ack: Option<(Incarnation, u64)>,
        token: VersionVector,
        payload: C,
    },
    /// "I have merged your deltas up to `seq` of your incarnation `for_inc`."
    Ack {
        inc: Incarnation,
        for_inc: Incarnation,
        seq: u64,
    },
    /// The sender's summary and causal token, its buffer head, requests, and (version
    /// 3) the hash of its canonical state.
    Digest {
        inc: Incarnation,
        seq: u64,
        flags: u8,
        token: VersionVector,
        summary: C::Summary,
        hash: Option<u64>,
    },
    /// Everything the sender has that the receiver's summary lacks, as of the sender's
    /// buffer head `seq`, computed from a summary of the receiver's incarnation `for_inc`
    /// (a restarted receiver ignores repairs meant for its previous life).
    Repair {
        inc: Incarnation,
        for_inc: Incarnation,
        seq: u64,
        token: VersionVector,
        payload: C,
    },
    /// A restored leader asks: "which is the newest incarnation of mine you have seen?"
    /// `probe` identifies this probe (never 0); answers echo it, so an answer to an
    /// earlier copy's probe is not taken for a fresh one.
    Probe { inc: Incarnation, probe: u32 },
    /// The answer to a probe: the newest incarnation of the prober seen, if any. Also
    /// sent unasked to a peer whose messages are stale (a newer incarnation of it
    /// exists): a *displacement notice*. Addressed (like every message) to the prober's
    /// id and incarnation, so a misdelivered answer is rejected.
    ProbeReply {
        inc: Incarnation,
        probe: u32,
        known: Option<Incarnation>,
    },
    /// Part `index` of `count` of a message too large for one (`transfer` numbers the
    /// sender's transfers to this receiver); `total` is the whole message's length.
    /// The receiver joins the parts and handles the message once it is complete.
    Fragment {
        inc: Incarnation,
        transfer: u64,
        index: u32,
        count: u32,
        total: u64,
        bytes: Vec<u8>,
    },
    /// "I hold parts `0..received` of your transfer `transfer`."
    FragmentAck {
        inc: Incarnation,
        transfer: u64,
        received: u32,
    },
}

impl<C: DeltaCrdt> Message<C> {
    /// The sender's incarnation (for a probe: the one its checkpoint recorded).
    pub(crate) fn incarnation(&self) -> Incarnation {
        match self {
            Message::Delta { inc, .. }
            | Message::Ack { inc, .. }
            | Message::Digest { inc, .. }
            | Message::Repair { inc, .. }
            | Message::Probe { inc, .. }
            | Message::ProbeReply { inc, .. }
            | Message::Fragment { inc, .. }
            | Message::FragmentAck { inc, .. } => *inc,
        }
    }

    fn kind(&self) -> u8 {
        match self {
            Message::Delta { ack: None, .. } => KIND_DELTA,
            Message::Delta { ack: Some(_), .. } => KIND_DELTA_ACK,
            Message::Ack { .. } => KIND_ACK,
            Message::Digest { .. } => KIND_DIGEST,
            Message::Repair { .. } => KIND_REPAIR,
            Message::Probe { .. } => KIND_PROBE,
            Message::ProbeReply { .. } => KIND_PROBE_REPLY,
            Message::Fragment { .. } => KIND_FRAGMENT,
            Message::FragmentAck { .. } => KIND_FRAGMENT_ACK,
        }
    }

    /// The incarnation an `Ack`, a `Delta` with an acknowledgement or a `Repair` names
    /// (`for_inc`).
    fn for_inc(&self) -> Option<Incarnation> {
        match self {
            Message::Delta {
                ack: Some((for_inc, _)),
                ..
            }
            | Message::Ack { for_inc, .. }
            | Message::Repair { for_inc, .. } => Some(*for_inc),
            _ => None,
        }
    }

    /// Encodes the message in `version` (which the receiver speaks), announcing `max`.
    pub(crate) fn encode(&self, addr: &Address, version: u8, max: u8) -> Vec<u8> {
        let v4 = version >= 4;
        // Version 4 elides a `for_inc` that the address already states.
        let addressed = v4 && self.for_inc().is_some_and(|k| addr.to_inc == Some(k));
        let mut w = Writer::new();
        w.raw(&MESSAGE_MAGIC);
        w.u8(version);
        w.u8(max);
        w.u8(self.kind() | if addressed { KIND_FLAG_ADDRESSED } else { 0 });
        if !v4 {
            w.u8(C::TYPE_TAG);
        }
        w.replica(addr.from);
        w.varint(self.incarnation().to_u64());
        if !v4 {
            w.replica(addr.to);
        }
        write_option_inc(&mut w, addr.to_inc);
        let for_inc = |w: &mut Writer, inc: &Incarnation| {
            if !addressed {
                w.varint(inc.to_u64());
            }
        };
        // Element types used with a leader serialize infallibly (see WireValue); a
        // failure would leave a truncated body that every receiver rejects.
        let _ = match self {
            Message::Delta {
                start,
                end,
                ack,
                token,
                payload,
                ..
            } => {
                w.varint(*start);
                w.varint(*end);
                if let Some((inc, seq)) = ack {
                    for_inc(&mut w, inc);
                    w.varint(*seq);
                }
                write_content(&mut w, v4, token, payload)
            }
            Message::Ack {
                for_inc: inc, seq, ..
            } => {
                for_inc(&mut w, inc);
                w.varint(*seq);
                Ok(())
            }
            Message::Digest {
                seq,
                flags,
                token,
                summary,
                hash,
                ..
            } => {
                w.varint(*seq);
                w.u8(*flags);
                if v4 {
                    // The summary first: the token refers to its writers by position.
                    let r = summary.encode_body(&mut w);
                    write_token_against(&mut w, token, &summary_writers::<C>(summary));
                    write_option_hash(&mut w, *hash);
                    r
                } else {
                    let _ = token.encode_body(&mut w);
                    let r = summary.encode_body(&mut w);
                    if version >= 3 {
                        write_option_hash(&mut w, *hash);
                    }
                    r
                }
            }
            Message::Repair {
                for_inc: inc,
                seq,
                token,
                payload,
                ..
            } => {
                for_inc(&mut w, inc);
                w.varint(*seq);
                write_content(&mut w, v4, token, payload)
            }
            Message::Probe { probe, .. } => {
                w.varint(u64::from(*probe));
                Ok(())
            }
            Message::ProbeReply { probe, known, .. } => {
                w.varint(u64::from(*probe));
                write_option_inc(&mut w, *known);
                Ok(())
            }
            Message::Fragment {
                transfer,
                index,
                count,
                total,
                bytes,
                ..
            } => {
                w.varint(*transfer);
                w.varint(u64::from(*index));
                w.varint(u64::from(*count));
                w.varint(*total);
                w.len(bytes.len());
                w.raw(bytes);
                Ok(())
            }
            Message::FragmentAck {
                transfer, received, ..
            } => {
                w.varint(*transfer);
                w.varint(u64::from(*received));
                Ok(())
            }
        };
        match v4 {
            true => seal_addressed(w.into_bytes(), C::TYPE_TAG, addr.to),
            false => seal(w.into_bytes()),
        }
    }

    /// Decodes a message body (checksum removed by [`open`]) in a version this build
    /// reads. `checked_to` is the receiver whose pseudo-header the checksum matched
    /// (`None` for a version below 4, whose header names it).
    pub(crate) fn decode(
        bytes: &[u8],
        limits: &DecodeLimits,
        checked_to: Option<ReplicaId>,
    ) -> Result<(Envelope, Address, Self), DecodeError> {
        let mut r = Reader::new(bytes, limits)?;
        let envelope = read_envelope(&mut r)?;
        let version = envelope.version;
        let v4 = version >= 4;
        let flagged = r.u8()?;
        let (kind, addressed) = match v4 {
            true => (
                flagged & !KIND_FLAG_ADDRESSED,
                flagged & KIND_FLAG_ADDRESSED != 0,
            ),
            false => (flagged, false),
        };
        if !v4 {
            crdt_core::codec::read_type_tag(&mut r, C::TYPE_TAG)?;
        }
        let from = r.replica()?;
        let inc = Incarnation::from_u64(r.varint()?);
        let to = match (v4, checked_to) {
            (false, _) => r.replica()?,
            (true, Some(to)) => to,
            (true, None) => {
                return Err(Invalid::Inconsistent(
                    "a version-4 message whose receiver is not checked",
                )
                .into())
            }
        };
        let to_inc = read_option_inc(&mut r, "a receiver incarnation's presence flag")?;
        let addr = Address { from, to, to_inc };
        if addressed
            && (to_inc.is_none() || !matches!(kind, KIND_ACK | KIND_DELTA_ACK | KIND_REPAIR))
        {
            return Err(Invalid::Inconsistent(
                "an elided incarnation where the message has none to elide",
            )
            .into());
        }
        // `for_inc`: elided (the address's), or sent and then never the address's.
        let read_for_inc = |r: &mut Reader<'_>| -> Result<Incarnation, DecodeError> {
            match (addressed, to_inc) {
                (true, Some(k)) => Ok(k),
                _ => {
                    let k = Incarnation::from_u64(r.varint()?);
                    if v4 && to_inc == Some(k) {
                        return Err(Invalid::NonCanonical(
                            "an incarnation the address already states",
                        )
                        .into());
                    }
                    Ok(k)
                }
            }
        };
        let msg = match kind {
            KIND_DELTA | KIND_DELTA_ACK => {
                let start = r.counter()?;
                let end = r.varint()?;
                if end < start {
                    return Err(Invalid::Inconsistent(
                        "a delta interval that ends before it starts",
                    )
                    .into());
                }
                let ack = match kind {
                    KIND_DELTA_ACK => Some((read_for_inc(&mut r)?, r.varint()?)),
                    _ => None,
                };
                let (token, payload) = read_content::<C>(&mut r, v4)?;
                Message::Delta {
                    inc,
                    start,
                    end,
                    ack,
                    token,
                    payload,
                }
            }
            KIND_ACK => Message::Ack {
                inc,
                for_inc: read_for_inc(&mut r)?,
                seq: r.varint()?,
            },
            KIND_DIGEST => {
                let seq = r.varint()?;
                let flags = r.u8()?;
                let known = match version {
                    2 => FLAG_REPAIR_ME | FLAG_SEND_DIGEST,
                    _ => FLAG_REPAIR_ME | FLAG_SEND_DIGEST | FLAG_FULL_STATE,
                };
                if flags & !known != 0 {
                    return Err(Invalid::NonCanonical("digest flags").into());
                }
                let (token, summary) = if v4 {
                    let summary = C::Summary::decode_body(&mut r)?;
                    let token = read_token_against(&mut r, &summary_writers::<C>(&summary))?;
                    (token, summary)
                } else {
                    let token = VersionVector::decode_body(&mut r)?;
                    (token, C::Summary::decode_body(&mut r)?)
                };
                let hash = if version >= 3 {
                    read_option_hash(&mut r)?
                } else {
                    None
                };
                Message::Digest {
                    inc,
                    seq,
                    flags,
                    token,
                    summary,
                    hash,
                }
            }
            KIND_REPAIR => {
                let for_inc = read_for_inc(&mut r)?;
                let seq = r.varint()?;
                let (token, payload) = read_content::<C>(&mut r, v4)?;
                Message::Repair {
                    inc,
                    for_inc,
                    seq,
                    token,
                    payload,
                }
            }
            KIND_PROBE => {
                let probe = r.varint_u32("a probe id")?;
                if probe == 0 {
                    return Err(Invalid::Inconsistent("a probe without an id").into());
                }
                Message::Probe { inc, probe }
            }
            KIND_PROBE_REPLY => {
                let probe = r.varint_u32("a probe id")?;
                let known = read_option_inc(&mut r, "a probe reply's presence flag")?;
                Message::ProbeReply { inc, probe, known }
            }
            KIND_FRAGMENT => {
                let transfer = r.varint()?;
                let index = r.varint_u32("a fragment index")?;
                let count = r.varint_u32("a fragment count")?;
                let total = r.varint()?;
                if index >= count || count < 2 {
                    return Err(Invalid::Inconsistent("a fragment outside its transfer").into());
                }
                let n = r.len(Limit::Bytes, 1)?;
                let bytes = r.raw(n)?.to_vec();
                if bytes.is_empty() || bytes.len() as u64 > total {
                    return Err(Invalid::Inconsistent("a fragment larger than its transfer").into());
                }
                Message::Fragment {
                    inc,
                    transfer,
                    index,
                    count,
                    total,
                    bytes,
                }
            }
            KIND_FRAGMENT_ACK => Message::FragmentAck {
                inc,
                transfer: r.varint()?,
                received: r.varint_u32("a fragment count")?,
            },
            _ => return Err(Invalid::Inconsistent("unknown message kind").into()),
        };
        r.finish()?;
        Ok((envelope, addr, msg))
    }
}

/// Reads the envelope and checks the magic. The version is checked by the caller
/// (it decides what an unreadable version means).
fn read_envelope(r: &mut Reader<'_>) -> Result<Envelope, DecodeError> {
    let found = r.raw(2)?;
    if found != MESSAGE_MAGIC {
        return Err(DecodeError::BadMagic {
            found: [found[0], found[1]],
            expected: MESSAGE_MAGIC,
        });
    }
    let version = r.u8()?;
    let max = r.u8()?;
    if version > max {
        return Err(
            Invalid::Inconsistent("a message in a version above its sender's highest").into(),
        );
    }
    Ok(Envelope { version, max })
}

/// The envelope of a message, if its first bytes are one (no checksum needed: an
/// envelope only ever chooses which version to answer in).
pub(crate) fn peek_envelope(bytes: &[u8]) -> Option<Envelope> {
    match bytes {
        [m0, m1, version, max, ..] if [*m0, *m1] == MESSAGE_MAGIC && version <= max => {
            Some(Envelope {
                version: *version,
                max: *max,
            })
        }
        _ => None,
    }
}

fn write_option_inc(w: &mut Writer, inc: Option<Incarnation>) {
    match inc {
        None => w.u8(0),
        Some(k) => {
            w.u8(1);
            w.varint(k.to_u64());
        }
    }
}

fn read_option_inc(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<Option<Incarnation>, DecodeError> {
    match r.u8()? {
        0 => Ok(None),
        1 => Ok(Some(Incarnation::from_u64(r.varint()?))),
        _ => Err(Invalid::NonCanonical(what).into()),
    }
}

/// A delta's or repair's causal token and payload: up to version 3 the token, then the
/// payload; from version 4 the payload, then the token naming the payload's writers by
/// position (see [`write_token_against`]).
fn write_content<C: DeltaCrdt>(
    w: &mut Writer,
    v4: bool,
    token: &VersionVector,
    payload: &C,
) -> Result<(), crdt_core::codec::ValueError> {
    if v4 {
        let r = payload.encode_body(w);
        write_token_against(w, token, &summary_writers::<C>(&payload.summary()));
        r
    } else {
        let _ = token.encode_body(w);
        payload.encode_body(w)
    }
}

/// Reads what [`write_content`] wrote.
fn read_content<C: DeltaCrdt>(
    r: &mut Reader<'_>,
    v4: bool,
) -> Result<(VersionVector, C), DecodeError> {
    if v4 {
        let payload = C::decode_body(r)?;
        let token = read_token_against(r, &summary_writers::<C>(&payload.summary()))?;
        Ok((token, payload))
    } else {
        let token = VersionVector::decode_body(r)?;
        Ok((token, C::decode_body(r)?))
    }
}

/// The writers a summary names, ascending and distinct, as positions refer to them. A
/// type whose `summary_writers` breaks that order names none (every id then goes in
/// full): sender and receiver apply the same check to the same summary, so they agree.
/// (Checked rather than sorted: a sort would add its own code to the wasm module.)
fn summary_writers<C: DeltaCrdt>(summary: &C::Summary) -> Vec<ReplicaId> {
    let writers = C::summary_writers(summary);
    match writers.windows(2).all(|w| w[0] < w[1]) {
        true => writers,
        false => Vec::new(),
    }
}

/// A version-4 digest's causal token: its entries ascending, each writer that the
/// digest's summary names by position (`2 * index`), any other as `1` then its id;
/// then the count. With 53-bit writer ids that is 1 byte per named writer instead of 8.
fn write_token_against(w: &mut Writer, token: &VersionVector, writers: &[ReplicaId]) {
    w.len(token.len());
    for (id, count) in token.iter() {
        match writers.binary_search(&id) {
            Ok(i) => w.varint((i as u64) << 1),
            Err(_) => {
                w.varint(1);
                w.replica(id);
            }
        }
        w.varint(count);
    }
}

/// Reads what [`write_token_against`] wrote, in canonical form only.
fn read_token_against(
    r: &mut Reader<'_>,
    writers: &[ReplicaId],
) -> Result<VersionVector, DecodeError> {
    let n = r.len(Limit::Replicas, 2)?;
    let mut entries: Vec<(ReplicaId, u64)> = Vec::new();
    for _ in 0..n {
        let id = match r.varint()? {
            1 => {
                let id = r.replica()?;
                if writers.binary_search(&id).is_ok() {
                    return Err(Invalid::NonCanonical(
                        "a token entry naming a summary writer by id",
                    )
                    .into());
                }
                id
            }
            tag if tag & 1 == 0 => usize::try_from(tag >> 1)
                .ok()
                .and_then(|i| writers.get(i).copied())
                .ok_or(Invalid::Inconsistent(
                    "a token entry refers to a writer the summary does not name",
                ))?,
            _ => return Err(Invalid::NonCanonical("a token entry's tag").into()),
        };
        if entries.last().is_some_and(|(prev, _)| *prev >= id) {
            return Err(Invalid::NonCanonical("token entries out of order").into());
        }
        entries.push((id, r.counter()?));
    }
    Ok(entries.into_iter().collect())
}

fn write_option_hash(w: &mut Writer, hash: Option<u64>) {
    match hash {
        None => w.u8(0),
        Some(h) => {
            w.u8(1);
            w.raw(&h.to_le_bytes());
        }
    }
}

fn read_option_hash(r: &mut Reader<'_>) -> Result<Option<u64>, DecodeError> {
    match r.u8()? {
        0 => Ok(None),
        1 => {
            let b = r.raw(8)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            Ok(Some(u64::from_le_bytes(a)))
        }
        _ => Err(Invalid::NonCanonical("a digest hash's presence flag").into()),
    }
}

/// The length of the CRC-32 trailer of messages and checkpoints.
pub(crate) const CHECKSUM_LEN: usize = 4;

/// Appends the CRC-32 (IEEE) of `bytes`, little-endian.
pub(crate) fn seal(mut bytes: Vec<u8>) -> Vec<u8> {
    let crc = crate::crc32::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// The pseudo-header a version-4 checksum covers after the message: the type tag,
/// then the receiver's id.
fn pseudo_header(tag: u8, to: ReplicaId) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(tag);
    w.replica(to);
    w.into_bytes()
}

/// Appends the CRC-32 of `bytes` followed by the pseudo-header of `tag` and `to`.
fn seal_addressed(mut bytes: Vec<u8>, tag: u8, to: ReplicaId) -> Vec<u8> {
    let crc = crate::crc32::Prefix::of(&bytes).with(&pseudo_header(tag, to));
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// The body of a message of type `tag` if its checksum matches, and for version 4 the
/// receiver it matched: the first of `receivers` whose pseudo-header completes it.
/// `None` if nothing matches (corrupt, or sent to another leader or type).
pub(crate) fn open(
    bytes: &[u8],
    tag: u8,
    receivers: impl IntoIterator<Item = ReplicaId>,
) -> Option<(&[u8], Option<ReplicaId>)> {
    match peek_envelope(bytes) {
        Some(env) if env.version >= 4 => {
            let split = bytes.len().checked_sub(CHECKSUM_LEN)?;
            let (body, trailer) = bytes.split_at(split);
            let crc = u32::from_le_bytes(trailer.try_into().ok()?);
            let prefix = crate::crc32::Prefix::of(body);
            let to = receivers
                .into_iter()
                .find(|to| prefix.with(&pseudo_header(tag, *to)) == crc)?;
            Some((body, Some(to)))
        }
        _ => unseal(bytes).map(|body| (body, None)),
    }
}

/// The body of `bytes` if its CRC-32 trailer matches, `None` if it does not (a flipped
/// bit must not turn into a valid message of another meaning).
pub(crate) fn unseal(bytes: &[u8]) -> Option<&[u8]> {
    let split = bytes.len().checked_sub(CHECKSUM_LEN)?;
    let (body, trailer) = bytes.split_at(split);
    let crc = u32::from_le_bytes(trailer.try_into().ok()?);
    (crate::crc32::hash(body) == crc).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_core::{GCounter, ReplicaId};

    type M = Message<GCounter>;

    fn rid(n: u64) -> ReplicaId {
        ReplicaId::new(n)
    }

    /// A later life (counter 3): its wire form takes 5 bytes.
    const LIFE: Incarnation = Incarnation::new(3, 0x1234);

    fn addr(to_inc: Option<Incarnation>) -> Address {
        Address {
            from: rid(1),
            to: rid(2),
            to_inc,
        }
    }

    fn ack(for_inc: Incarnation) -> M {
        Message::Ack {
            inc: Incarnation::new(1, 7),
            for_inc,
            seq: 9,
        }
    }

    /// Opens `bytes` at receiver 2 (trying 2 then `also`) and decodes it.
    fn read(bytes: &[u8], also: &[u64]) -> Result<(Address, M), &'static str> {
        let receivers = core::iter::once(rid(2)).chain(also.iter().map(|r| rid(*r)));
        let (body, to) = open(bytes, GCounter::TYPE_TAG, receivers).ok_or("checksum")?;
        let (_, a, m) = M::decode(body, &DecodeLimits::DEFAULT, to).map_err(|_| "decode")?;
        Ok((a, m))
    }

    #[test]
    fn every_kind_round_trips_in_versions_3_and_4_with_and_without_elision() {
        let others = Incarnation::new(2, 5);
        let msgs = [
            ack(LIFE),
            ack(others),
            Message::Delta {
                inc: LIFE,
                start: 3,
                end: 4,
                ack: Some((LIFE, 2)),
                token: VersionVector::new(),
                payload: GCounter::new(),
            },
            Message::Delta {
                inc: LIFE,
                start: 3,
                end: 4,
                ack: None,
                token: VersionVector::new(),
                payload: GCounter::new(),
            },
            Message::Repair {
                inc: LIFE,
                for_inc: LIFE,
                seq: 4,
                token: VersionVector::new(),
                payload: GCounter::new(),
            },
            digest(),
            Message::Probe {
                inc: LIFE,
                probe: 3,
            },
            Message::FragmentAck {
                inc: LIFE,
                transfer: 1,
                received: 2,
            },
        ];
        for version in [3, 4] {
            for to_inc in [None, Some(LIFE)] {
                for m in &msgs {
                    let bytes = m.encode(&addr(to_inc), version, 4);
                    let (a, back) = read(&bytes, &[]).expect("reads back");
                    assert_eq!((a, &back), (addr(to_inc), m), "version {version}");
                    let flagged = bytes[4] & KIND_FLAG_ADDRESSED != 0;
                    let elidable = m.for_inc().is_some() && m.for_inc() == to_inc;
                    assert_eq!(flagged, version == 4 && elidable, "{m:?} in {version}");
                }
            }
        }
    }

    /// Two 53-bit writers in the summary; the token names one of them and one other.
    const W1: u64 = (1 << 52) + 11;
    const W2: u64 = (1 << 52) + 22;
    const OTHER: u64 = (1 << 52) + 33;

    fn digest() -> M {
        let mut summary = GCounter::new();
        let _ = summary.increment(rid(W1), 3);
        let _ = summary.increment(rid(W2), 4);
        Message::Digest {
            inc: LIFE,
            seq: 7,
            flags: 0,
            token: [(rid(W2), 5), (rid(OTHER), 1)].into_iter().collect(),
            summary,
            hash: Some(0x0123_4567_89AB_CDEF),
        }
    }

    #[test]
    fn a_version_4_digest_names_the_summarys_writers_by_position() {
        let a = addr(Some(LIFE));
        let (v3, v4) = (digest().encode(&a, 3, 4), digest().encode(&a, 4, 4));
        // Version 4's header saves 2 bytes; W2's id in the token (8 bytes) becomes
        // its position (1 byte); OTHER, not in the summary, costs a 1-byte tag more.
        assert_eq!(v3.len() - v4.len(), 2 + (8 - 1) - 1);
        assert_eq!(read(&v4, &[]).map(|(_, m)| m), Ok(digest()));
    }

    #[test]
    fn a_version_4_interval_names_its_payloads_writers_by_position() {
        let mut payload = GCounter::new();
        let _ = payload.increment(rid(W1), 3);
        let delta = Message::Delta {
            inc: LIFE,
            start: 3,
            end: 4,
            ack: Some((LIFE, 2)),
            token: [(rid(W1), 3), (rid(OTHER), 1)].into_iter().collect(),
            payload,
        };
        let a = addr(Some(LIFE));
        let (v3, v4) = (delta.encode(&a, 3, 4), delta.encode(&a, 4, 4));
        // Header 2 bytes, the elided acknowledged life 5, W1's id 8 -> 1, OTHER's tag 1.
        assert_eq!(v3.len() - v4.len(), 2 + 5 + (8 - 1) - 1);
        assert_eq!(read(&v4, &[]).map(|(_, m)| m), Ok(delta));
    }

    #[test]
    fn a_version_4_digest_token_is_read_in_canonical_form_only() {
        let Message::Digest { summary, token, .. } = digest() else {
            unreachable!()
        };
        let writers = summary_writers::<GCounter>(&summary);
        // Entries as (tag, explicit id, count).
        let token_bytes = |entries: &[(u64, Option<u64>, u64)]| {
            let mut w = Writer::new();
            w.len(entries.len());
            for (tag, id, count) in entries {
                w.varint(*tag);
                if let Some(id) = id {
                    w.varint(*id);
                }
                w.varint(*count);
            }
            w.into_bytes()
        };
        let parse = |bytes: Vec<u8>| {
            let limits = DecodeLimits::DEFAULT;
            let mut r = Reader::new(&bytes, &limits).expect("within limits");
            read_token_against(&mut r, &writers).is_ok()
        };
        let mut w = Writer::new();
        write_token_against(&mut w, &token, &writers);
        let limits = DecodeLimits::DEFAULT;
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes, &limits).expect("within limits");
        assert_eq!(read_token_against(&mut r, &writers).ok(), Some(token));
        // W2 is position 1: tag 2 * 1; OTHER is sent in full: tag 1.
        assert!(parse(token_bytes(&[(2, None, 5), (1, Some(OTHER), 1)])));
        // A summary writer by id, a position past the summary, entries out of
        // order, an unknown odd tag: all refused.
        assert!(!parse(token_bytes(&[(1, Some(W2), 5)])));
        assert!(!parse(token_bytes(&[(4, None, 5)])));
        assert!(!parse(token_bytes(&[(2, None, 5), (0, None, 1)])));
        assert!(!parse(token_bytes(&[(3, None, 5)])));
    }

    #[test]
    fn version_4_saves_the_type_tag_the_receiver_and_an_elided_incarnation() {
        let a = addr(Some(LIFE));
        let (v3, v4) = (ack(LIFE).encode(&a, 3, 4), ack(LIFE).encode(&a, 4, 4));
        // Type tag (1 byte), receiver 2 (1 byte), the acknowledged life (5 bytes).
        assert_eq!(v3.len() - v4.len(), 1 + 1 + 5);
        let other = ack(Incarnation::new(2, 5));
        assert_eq!(
            other.encode(&a, 3, 4).len() - other.encode(&a, 4, 4).len(),
            2
        );
    }

    #[test]
    fn a_version_4_checksum_names_the_receiver_and_the_type() {
        let bytes = ack(LIFE).encode(&addr(Some(LIFE)), 4, 4);
        // Opened at leader 3, which knows 2 as a peer: misdelivered, found by trying 2.
        let at_3 = open(&bytes, GCounter::TYPE_TAG, [rid(3), rid(2)]).map(|(_, to)| to);
        assert_eq!(at_3, Some(Some(rid(2))));
        // Opened where nobody tried is 2, or as another type: no match.
        assert!(open(&bytes, GCounter::TYPE_TAG, [rid(3), rid(4)]).is_none());
        assert!(open(&bytes, crdt_core::PnCounter::TYPE_TAG, [rid(2)]).is_none());
        // A version-3 message is checked on its own (its header names the receiver).
        let v3 = ack(LIFE).encode(&addr(Some(LIFE)), 3, 4);
        assert_eq!(
            open(&v3, GCounter::TYPE_TAG, [rid(9)]).map(|(_, to)| to),
            Some(None)
        );
    }

    /// Re-seals a version-4 body for receiver 2 after `edit`.
    fn resealed(m: &M, to_inc: Option<Incarnation>, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let bytes = m.encode(&addr(to_inc), 4, 4);
        let mut body = bytes[..bytes.len() - CHECKSUM_LEN].to_vec();
        edit(&mut body);
        seal_addressed(body, GCounter::TYPE_TAG, rid(2))
    }

    #[test]
    fn version_4_refuses_a_non_canonical_or_impossible_elision() {
        // The acknowledged life sent although the address states it.
        let explicit = resealed(&ack(Incarnation::new(2, 5)), Some(LIFE), |b| {
            let at = b.len() - 1 - 5; // before `seq` (1 byte): the 5-byte life
            let mut w = Writer::new();
            w.varint(LIFE.to_u64());
            b.splice(at..at + 5, w.into_bytes());
        });
        assert_eq!(read(&explicit, &[]), Err("decode"));
        // The flag on a kind without an incarnation to elide.
        let probe = Message::Probe {
            inc: LIFE,
            probe: 3,
        };
        let flagged = resealed(&probe, Some(LIFE), |b| b[4] |= KIND_FLAG_ADDRESSED);
        assert_eq!(read(&flagged, &[]), Err("decode"));
        // The flag when the address names no incarnation of the receiver.
        let unaddressed = resealed(&ack(LIFE), None, |b| b[4] |= KIND_FLAG_ADDRESSED);
        assert_eq!(read(&unaddressed, &[]), Err("decode"));
        // Version 3 has no flag: the high bit makes an unknown kind.
        let mut v3 = ack(LIFE).encode(&addr(Some(LIFE)), 3, 4);
        v3.truncate(v3.len() - CHECKSUM_LEN);
        v3[4] |= KIND_FLAG_ADDRESSED;
        assert_eq!(read(&seal(v3), &[]), Err("decode"));
    }
}
