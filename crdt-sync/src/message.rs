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
//! # Versions and compatibility
//!
//! | version | adds |
//! |---|---|
//! | 2 ([`PROTOCOL_VERSION_MIN`]) | the envelope, addressed messages, fragments of messages above `message_bytes_max` |
//! | 3 ([`PROTOCOL_VERSION`]) | digests carry a 64-bit hash of the canonical state, so replicas whose summaries agree but whose contents differ are found and repaired |
//!
//! Version 1 (crdt-sync 0.1 before versioning) had no envelope and is refused.
//!
//! Leaders negotiate per peer: each sends in the highest version both speak (its own
//! highest until it has heard the peer's envelope). A message in a version this build
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
/// The highest protocol version this build speaks (and the one it starts with).
pub const PROTOCOL_VERSION: u8 = 3;
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

    /// Encodes the message in `version` (which the receiver speaks), announcing `max`.
    pub(crate) fn encode(&self, addr: &Address, version: u8, max: u8) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(&MESSAGE_MAGIC);
        w.u8(version);
        w.u8(max);
        w.u8(self.kind());
        w.u8(C::TYPE_TAG);
        w.replica(addr.from);
        w.varint(self.incarnation().to_u64());
        w.replica(addr.to);
        write_option_inc(&mut w, addr.to_inc);
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
                if let Some((for_inc, seq)) = ack {
                    w.varint(for_inc.to_u64());
                    w.varint(*seq);
                }
                let _ = token.encode_body(&mut w);
                payload.encode_body(&mut w)
            }
            Message::Ack { for_inc, seq, .. } => {
                w.varint(for_inc.to_u64());
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
                let _ = token.encode_body(&mut w);
                let r = summary.encode_body(&mut w);
                if version >= 3 {
                    write_option_hash(&mut w, *hash);
                }
                r
            }
            Message::Repair {
                for_inc,
                seq,
                token,
                payload,
                ..
            } => {
                w.varint(for_inc.to_u64());
                w.varint(*seq);
                let _ = token.encode_body(&mut w);
                payload.encode_body(&mut w)
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
        seal(w.into_bytes())
    }

    /// Decodes a message body (checksum removed) in a version this build reads.
    pub(crate) fn decode(
        bytes: &[u8],
        limits: &DecodeLimits,
    ) -> Result<(Envelope, Address, Self), DecodeError> {
        let mut r = Reader::new(bytes, limits)?;
        let envelope = read_envelope(&mut r)?;
        let version = envelope.version;
        let kind = r.u8()?;
        crdt_core::codec::read_type_tag(&mut r, C::TYPE_TAG)?;
        let from = r.replica()?;
        let inc = Incarnation::from_u64(r.varint()?);
        let to = r.replica()?;
        let to_inc = read_option_inc(&mut r, "a receiver incarnation's presence flag")?;
        let addr = Address { from, to, to_inc };
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
                    KIND_DELTA_ACK => Some((Incarnation::from_u64(r.varint()?), r.varint()?)),
                    _ => None,
                };
                let token = VersionVector::decode_body(&mut r)?;
                let payload = C::decode_body(&mut r)?;
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
                for_inc: Incarnation::from_u64(r.varint()?),
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
                let token = VersionVector::decode_body(&mut r)?;
                let summary = C::Summary::decode_body(&mut r)?;
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
                let for_inc = Incarnation::from_u64(r.varint()?);
                let seq = r.varint()?;
                let token = VersionVector::decode_body(&mut r)?;
                let payload = C::decode_body(&mut r)?;
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

/// The body of `bytes` if its CRC-32 trailer matches, `None` if it does not (a flipped
/// bit must not turn into a valid message of another meaning).
pub(crate) fn unseal(bytes: &[u8]) -> Option<&[u8]> {
    let split = bytes.len().checked_sub(CHECKSUM_LEN)?;
    let (body, trailer) = bytes.split_at(split);
    let crc = u32::from_le_bytes(trailer.try_into().ok()?);
    (crate::crc32::hash(body) == crc).then_some(body)
}
