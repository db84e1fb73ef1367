//! The decision's messages in bytes: a canonical encoding, and a decoder that takes
//! untrusted input (a peer's frame) without panicking or allocating from an unchecked
//! length.
//!
//! ```text
//! message     = magic(2: D1 5E) version(1: 1) kind(1) fields
//! ballot      = round:varint proposer:varint life:varint
//! holdings    = last:varint increments:varint decrements:varint writes:varint
//! certificate = writer:varint holdings
//! batch       = epoch:varint base:varint count:varint certificate*   (writers ascending)
//! kind 0 Prepare   epoch ballot
//! kind 1 Promise   epoch ballot accepted:(0 | 1 ballot batch) records_end:varint
//! kind 2 Accept    ballot batch
//! kind 3 Accepted  epoch ballot
//! kind 4 Commit    batch
//! kind 5 Committed epoch
//! kind 6 Chosen    batch
//! kind 7 Behind    epoch
//! kind 8 Refused   epoch ballot:(0 | 1 ballot) refusal
//! refusal     = 0 ballot | 1 count:varint (writer:varint holdings)* | 2   (writers ascending)
//! ```

use super::{Ballot, Batch, Certificate, History, Holdings, Member, Refusal, RetirementMessage};
use crdt_core::codec::{read_preamble, DecodeError, DecodeLimits, Invalid, Limit, Reader, Writer};
use crdt_core::{Held, ReplicaId};

/// The first bytes of every encoded decision message.
pub const RETIREMENT_MAGIC: [u8; 2] = [0xD1, 0x5E];
/// The encoding's version.
pub const RETIREMENT_FORMAT: u8 = 1;
/// The most certificates one batch holds: a coordinator proposes at most this many
/// writers per epoch (the rest wait for the next), so that an `Accept` stays under
/// about 200 KB, and a decoder refuses a batch with more.
pub const BATCH_CERTIFICATES_MAX: usize = 4096;

/// The fewest bytes a certificate takes (five one-byte varints).
const CERTIFICATE_BYTES_MIN: usize = 5;
/// The fewest bytes a batch takes (epoch, base, count).
const BATCH_BYTES_MIN: usize = 3;
/// The kind byte of a stored [`Member`] (above every message kind).
const KIND_MEMBER: u8 = 0x40;

impl Member {
    /// The member's durable state, to store (see [`Member`]): its collapse id, every
    /// committed batch, its promise and its acceptance. O(committed records).
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(&RETIREMENT_MAGIC);
        w.u8(RETIREMENT_FORMAT);
        w.u8(KIND_MEMBER);
        w.replica(self.collapse());
        w.len(self.epoch() as usize);
        for e in 1..=self.epoch() {
            if let Some(b) = self.committed(e) {
                put_batch(&mut w, b);
            }
        }
        match self.promised() {
            None => w.u8(0),
            Some(b) => {
                w.u8(1);
                put_ballot(&mut w, b);
            }
        }
        match self.accepted() {
            None => w.u8(0),
            Some((b, batch)) => {
                w.u8(1);
                put_ballot(&mut w, *b);
                put_batch(&mut w, batch);
            }
        }
        w.into_bytes()
    }

    /// A member from the bytes [`Member::encode`] stored, checked as untrusted input
    /// (a damaged file is refused, never half-loaded).
    ///
    /// # Errors
    /// Any [`DecodeError`], and [`Invalid::Inconsistent`] for batches that do not
    /// follow each other (epochs 1, 2, … with each base where the last one's ranges
    /// end, no writer retired twice, none the collapse id).
    pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, limits)?;
        read_preamble(&mut r, RETIREMENT_MAGIC, RETIREMENT_FORMAT)?;
        if r.u8()? != KIND_MEMBER {
            return Err(Invalid::Inconsistent("not a stored retirement member").into());
        }
        let collapse = r.replica()?;
        let n = r.len(Limit::Elements, BATCH_BYTES_MIN)?;
        let mut committed = History::default();
        for _ in 0..n {
            let b = batch(&mut r)?;
            let follows = b.base() == committed.records_end()
                && b.certificates()
                    .iter()
                    .all(|c| c.writer != collapse && committed.retired_in(c.writer).is_none());
            if !follows || !committed.push(&b) {
                return Err(
                    Invalid::Inconsistent("stored batches that do not follow each other").into(),
                );
            }
        }
        let promised = if flag(&mut r)? {
            Some(ballot(&mut r)?)
        } else {
            None
        };
        let accepted = if flag(&mut r)? {
            Some((ballot(&mut r)?, batch(&mut r)?))
        } else {
            None
        };
        r.finish()?;
        if let Some((b, batch)) = &accepted {
            // Accepting means promising: the acceptance is of the next epoch, under a
            // ballot no higher than the promise, continuing the committed ranges.
            if batch.epoch() != committed.epoch() + 1
                || batch.base() != committed.records_end()
                || promised.map_or(true, |p| *b > p)
            {
                return Err(Invalid::Inconsistent(
                    "a stored acceptance that is not of the next epoch",
                )
                .into());
            }
        }
        Ok(Member::from_parts(collapse, committed, promised, accepted))
    }
}

impl RetirementMessage {
    /// The message's canonical bytes.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(&RETIREMENT_MAGIC);
        w.u8(RETIREMENT_FORMAT);
        match self {
            RetirementMessage::Prepare { epoch, ballot } => {
                w.u8(0);
                w.varint(*epoch);
                put_ballot(&mut w, *ballot);
            }
            RetirementMessage::Promise {
                epoch,
                ballot,
                accepted,
                records_end,
            } => {
                w.u8(1);
                w.varint(*epoch);
                put_ballot(&mut w, *ballot);
                match accepted {
                    None => w.u8(0),
                    Some((b, batch)) => {
                        w.u8(1);
                        put_ballot(&mut w, *b);
                        put_batch(&mut w, batch);
                    }
                }
                w.varint(*records_end);
            }
            RetirementMessage::Accept { ballot, batch } => {
                w.u8(2);
                put_ballot(&mut w, *ballot);
                put_batch(&mut w, batch);
            }
            RetirementMessage::Accepted { epoch, ballot } => {
                w.u8(3);
                w.varint(*epoch);
                put_ballot(&mut w, *ballot);
            }
            RetirementMessage::Commit { batch } => {
                w.u8(4);
                put_batch(&mut w, batch);
            }
            RetirementMessage::Committed { epoch } => {
                w.u8(5);
                w.varint(*epoch);
            }
            RetirementMessage::Chosen { batch } => {
                w.u8(6);
                put_batch(&mut w, batch);
            }
            RetirementMessage::Behind { epoch } => {
                w.u8(7);
                w.varint(*epoch);
            }
            RetirementMessage::Refused {
                epoch,
                ballot,
                refusal,
            } => {
                w.u8(8);
                w.varint(*epoch);
                match ballot {
                    None => w.u8(0),
                    Some(b) => {
                        w.u8(1);
                        put_ballot(&mut w, *b);
                    }
                }
                match refusal {
                    Refusal::Promised(b) => {
                        w.u8(0);
                        put_ballot(&mut w, *b);
                    }
                    Refusal::Holds(differ) => {
                        w.u8(1);
                        w.len(differ.len());
                        for (writer, held) in differ {
                            w.replica(*writer);
                            put_holdings(&mut w, held);
                        }
                    }
                    Refusal::Malformed => w.u8(2),
                }
            }
        }
        w.into_bytes()
    }

    /// Decodes a message from untrusted bytes, accepting only the canonical encoding.
    ///
    /// # Errors
    /// Any [`DecodeError`]: truncated or trailing bytes, another magic or version, an
    /// unknown kind, a batch of more than [`BATCH_CERTIFICATES_MAX`] certificates or
    /// with writers out of order, ranges past `u64::MAX`, a limit of `limits`
    /// exceeded. Nothing is allocated beyond what the input can hold.
    pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, limits)?;
        read_preamble(&mut r, RETIREMENT_MAGIC, RETIREMENT_FORMAT)?;
        let msg = match r.u8()? {
            0 => RetirementMessage::Prepare {
                epoch: r.varint()?,
                ballot: ballot(&mut r)?,
            },
            1 => RetirementMessage::Promise {
                epoch: r.varint()?,
                ballot: ballot(&mut r)?,
                accepted: match flag(&mut r)? {
                    false => None,
                    true => Some((ballot(&mut r)?, batch(&mut r)?)),
                },
                records_end: r.varint()?,
            },
            2 => RetirementMessage::Accept {
                ballot: ballot(&mut r)?,
                batch: batch(&mut r)?,
            },
            3 => RetirementMessage::Accepted {
                epoch: r.varint()?,
                ballot: ballot(&mut r)?,
            },
            4 => RetirementMessage::Commit {
                batch: batch(&mut r)?,
            },
            5 => RetirementMessage::Committed { epoch: r.varint()? },
            6 => RetirementMessage::Chosen {
                batch: batch(&mut r)?,
            },
            7 => RetirementMessage::Behind { epoch: r.varint()? },
            8 => RetirementMessage::Refused {
                epoch: r.varint()?,
                ballot: match flag(&mut r)? {
                    false => None,
                    true => Some(ballot(&mut r)?),
                },
                refusal: match r.u8()? {
                    0 => Refusal::Promised(ballot(&mut r)?),
                    1 => Refusal::Holds(differ(&mut r)?),
                    2 => Refusal::Malformed,
                    _ => return Err(Invalid::Inconsistent("unknown refusal").into()),
                },
            },
            _ => return Err(Invalid::Inconsistent("unknown retirement message kind").into()),
        };
        r.finish()?;
        Ok(msg)
    }
}

fn put_ballot(w: &mut Writer, b: Ballot) {
    w.varint(b.round);
    w.replica(b.proposer);
    w.varint(b.life);
}

fn put_holdings(w: &mut Writer, h: &Holdings) {
    w.varint(h.held.last);
    w.varint(h.held.increments);
    w.varint(h.held.decrements);
    w.varint(h.writes);
}

fn put_batch(w: &mut Writer, b: &Batch) {
    w.varint(b.epoch());
    w.varint(b.base());
    w.len(b.certificates().len());
    for c in b.certificates() {
        w.replica(c.writer);
        put_holdings(w, &c.holdings);
    }
}

fn flag(r: &mut Reader<'_>) -> Result<bool, DecodeError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Invalid::NonCanonical("a flag byte other than 0 or 1").into()),
    }
}

fn ballot(r: &mut Reader<'_>) -> Result<Ballot, DecodeError> {
    Ok(Ballot {
        round: r.varint()?,
        proposer: r.replica()?,
        life: r.varint()?,
    })
}

fn holdings(r: &mut Reader<'_>) -> Result<Holdings, DecodeError> {
    Ok(Holdings {
        held: Held {
            last: r.varint()?,
            increments: r.varint()?,
            decrements: r.varint()?,
        },
        writes: r.varint()?,
    })
}

/// The length of a list of writers (a batch's certificates, a refusal's holdings):
/// at most `BATCH_CERTIFICATES_MAX`, and no more than the input can hold.
fn writer_count(r: &mut Reader<'_>) -> Result<usize, DecodeError> {
    let n = r.len(Limit::Replicas, CERTIFICATE_BYTES_MIN)?;
    if n > BATCH_CERTIFICATES_MAX {
        return Err(DecodeError::LimitExceeded {
            limit: Limit::Replicas,
            max: BATCH_CERTIFICATES_MAX as u64,
            found: n as u64,
        });
    }
    Ok(n)
}

/// A `Holds` refusal's list: 1 to `BATCH_CERTIFICATES_MAX` writers, ascending.
fn differ(r: &mut Reader<'_>) -> Result<Vec<(ReplicaId, Holdings)>, DecodeError> {
    let n = writer_count(r)?;
    if n == 0 {
        return Err(Invalid::Inconsistent("a holdings refusal naming no writer").into());
    }
    let mut out: Vec<(ReplicaId, Holdings)> = Vec::with_capacity(n);
    for _ in 0..n {
        let w = r.replica()?;
        if out.last().is_some_and(|(p, _)| *p >= w) {
            return Err(Invalid::Unsorted("a holdings refusal's writers").into());
        }
        out.push((w, holdings(r)?));
    }
    Ok(out)
}

fn batch(r: &mut Reader<'_>) -> Result<Batch, DecodeError> {
    let epoch = r.varint()?;
    let base = r.varint()?;
    let n = writer_count(r)?;
    let mut certificates: Vec<Certificate> = Vec::with_capacity(n);
    let mut end = base;
    for _ in 0..n {
        let c = Certificate {
            writer: r.replica()?,
            holdings: holdings(r)?,
        };
        if certificates.last().is_some_and(|p| p.writer >= c.writer) {
            return Err(Invalid::Unsorted("a batch's writers").into());
        }
        end = end
            .checked_add(c.holdings.held.last)
            .ok_or(Invalid::Overflow("a batch's collapse ranges"))?;
        certificates.push(c);
    }
    Ok(Batch::from_sorted(epoch, base, certificates))
}
