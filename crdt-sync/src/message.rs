//! The protocol's messages and their versioned encoding.
//!
//! Every message starts with a 5-byte header: magic `D1 5C`, protocol version
//! ([`PROTOCOL_VERSION`]), message kind, and the crdt-core type tag of the replicated
//! type (so leaders of different types never merge each other's bytes). Then the
//! sender's incarnation and the kind's fields, in the core codec's canonical varints,
//! and last a CRC-32 of everything before it: corruption is rejected, never applied.

use crate::Incarnation;
use crdt_core::codec::{
    read_preamble, read_type_tag, DecodeError, DecodeLimits, Invalid, Reader, WireFormat, Writer,
};
use crdt_core::{DeltaCrdt, VersionVector};

/// The magic bytes of a protocol message.
pub const MESSAGE_MAGIC: [u8; 2] = [0xD1, 0x5C];
/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u8 = 1;

const KIND_DELTA: u8 = 1;
const KIND_ACK: u8 = 2;
const KIND_DIGEST: u8 = 3;
const KIND_REPAIR: u8 = 4;
const KIND_PROBE: u8 = 5;
const KIND_PROBE_REPLY: u8 = 6;
/// A `Delta` that also acknowledges the receiver's deltas (saves an `Ack` message).
const KIND_DELTA_ACK: u8 = 7;

/// Digest flag: "I lack your state (restart, gap, new peer): send me a repair".
pub(crate) const FLAG_REPAIR_ME: u8 = 1;
/// Digest flag: "send me your digest" (I need your summary to repair you).
pub(crate) const FLAG_SEND_DIGEST: u8 = 2;

/// One protocol message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message<C: DeltaCrdt> {
    /// The join of the sender's buffered deltas `start..=end` (minus those that came
    /// from the receiver or that its token shows it has), the entries of the sender's
    /// causal token after `end` that the receiver may lack, and optionally an
    /// acknowledgement `(for_inc, seq)` as in `Ack`.
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
    /// The sender's summary and causal token, its buffer head, and requests.
    Digest {
        inc: Incarnation,
        seq: u64,
        flags: u8,
        token: VersionVector,
        summary: C::Summary,
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
    /// exists): a *displacement notice*.
    ProbeReply {
        inc: Incarnation,
        probe: u32,
        known: Option<Incarnation>,
    },
}

impl<C: DeltaCrdt> Message<C> {
    /// The sender's incarnation (for a probe: the one its snapshot recorded).
    pub(crate) fn incarnation(&self) -> Incarnation {
        match self {
            Message::Delta { inc, .. }
            | Message::Ack { inc, .. }
            | Message::Digest { inc, .. }
            | Message::Repair { inc, .. }
            | Message::Probe { inc, .. }
            | Message::ProbeReply { inc, .. } => *inc,
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(&MESSAGE_MAGIC);
        w.u8(PROTOCOL_VERSION);
        w.u8(match self {
            Message::Delta { ack: None, .. } => KIND_DELTA,
            Message::Delta { ack: Some(_), .. } => KIND_DELTA_ACK,
            Message::Ack { .. } => KIND_ACK,
            Message::Digest { .. } => KIND_DIGEST,
            Message::Repair { .. } => KIND_REPAIR,
            Message::Probe { .. } => KIND_PROBE,
            Message::ProbeReply { .. } => KIND_PROBE_REPLY,
        });
        w.u8(C::TYPE_TAG);
        w.varint(self.incarnation().to_u64());
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
                ..
            } => {
                w.varint(*seq);
                w.u8(*flags);
                let _ = token.encode_body(&mut w);
                summary.encode_body(&mut w)
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
                match known {
                    None => w.u8(0),
                    Some(k) => {
                        w.u8(1);
                        w.varint(k.to_u64());
                    }
                }
                Ok(())
            }
        };
        seal(w.into_bytes())
    }

    pub(crate) fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, limits)?;
        read_preamble(&mut r, MESSAGE_MAGIC, PROTOCOL_VERSION)?;
        let kind = r.u8()?;
        read_type_tag(&mut r, C::TYPE_TAG)?;
        let inc = Incarnation::from_u64(r.varint()?);
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
                if flags & !(FLAG_REPAIR_ME | FLAG_SEND_DIGEST) != 0 {
                    return Err(Invalid::NonCanonical("digest flags").into());
                }
                let token = VersionVector::decode_body(&mut r)?;
                let summary = C::Summary::decode_body(&mut r)?;
                Message::Digest {
                    inc,
                    seq,
                    flags,
                    token,
                    summary,
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
                let known = match r.u8()? {
                    0 => None,
                    1 => Some(Incarnation::from_u64(r.varint()?)),
                    _ => return Err(Invalid::NonCanonical("a probe reply's presence flag").into()),
                };
                Message::ProbeReply { inc, probe, known }
            }
            _ => return Err(Invalid::Inconsistent("unknown message kind").into()),
        };
        r.finish()?;
        Ok(msg)
    }
}

/// The length of the CRC-32 trailer of messages and snapshots.
pub(crate) const CHECKSUM_LEN: usize = 4;

/// Appends the CRC-32 (IEEE) of `bytes`, little-endian.
pub(crate) fn seal(mut bytes: Vec<u8>) -> Vec<u8> {
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// The body of `bytes` if its CRC-32 trailer matches, `None` if it does not (a flipped
/// bit must not turn into a valid message of another meaning).
pub(crate) fn unseal(bytes: &[u8]) -> Option<&[u8]> {
    let split = bytes.len().checked_sub(CHECKSUM_LEN)?;
    let (body, trailer) = bytes.split_at(split);
    let crc = u32::from_le_bytes(trailer.try_into().ok()?);
    (crc32fast::hash(body) == crc).then_some(body)
}
