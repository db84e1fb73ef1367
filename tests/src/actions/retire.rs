//! `retire_untrusted`: an untrusted value and arbitrary retirement records
//! (`crdt_core::Retire`, docs/RETIREMENT.md §3). A leader will translate content
//! from peers with records, so a record applied to any decodable value must never
//! panic, and a refused one must leave the value unchanged.
//!
//! Input layout: byte 0 selects the type (`% 6`, see [`KINDS`]); byte 1 is the number
//! of records (`% 5`); then each record as 18 bytes, little-endian: retired writer
//! (`u16`), last dot counter (`u16`), collapse id (`u16`), base (`u32`), increments
//! (`u32`), decrements (`u32`), zero-padded if the input ends; the rest is the value.
//! Small ids and counters make records that name the value's own writers likely.
//! [`case`] builds such an input.
//!
//! Checked whenever the value decodes:
//! - `retire_all` (and `retire` of each valid record alone) never panics;
//! - a refused batch leaves the value's encoding unchanged;
//! - an applied batch keeps the type's invariants, names no retired writer in its
//!   context, and encodes to bytes that decode to an equal value.
//!
//! The whole input is also decoded as the retirement decision's bytes, a peer's
//! message (`RetirementMessage::decode`) and a stored member (`Member::decode`):
//! neither panics, and whatever decodes encodes back to exactly the input (canonical).

use super::decode::Checked;
use crdt_core::codec::{decode, encode, DecodeLimits};
use crdt_core::{
    CausalContext, GCounter, Keyspace, MvRegister, OrSet, PnCounter, ReplicaId, Retire, Retirement,
};
use crdt_sync::retirement::{Member, RetirementMessage};

/// The types this target covers, by selector value.
pub const KINDS: [&str; 6] = [
    "GCounter",
    "PnCounter",
    "OrSet<u64>",
    "OrSet<String>",
    "MvRegister<String>",
    "Keyspace",
];

/// Bytes per record in the input.
const RECORD_BYTES: usize = 18;

/// One record's fields as the input holds them.
pub type RawRecord = (u16, u16, u16, u32, u32, u32);

/// An input retiring `records` from the encoded value `value` of kind `kind`.
#[must_use]
pub fn case(kind: u8, records: &[RawRecord], value: &[u8]) -> Vec<u8> {
    let mut out = vec![kind, u8::try_from(records.len()).unwrap_or(u8::MAX)];
    for &(r, last, c, base, inc, dec) in records {
        out.extend_from_slice(&r.to_le_bytes());
        out.extend_from_slice(&last.to_le_bytes());
        out.extend_from_slice(&c.to_le_bytes());
        out.extend_from_slice(&base.to_le_bytes());
        out.extend_from_slice(&inc.to_le_bytes());
        out.extend_from_slice(&dec.to_le_bytes());
    }
    out.extend_from_slice(value);
    out
}

/// The input as the decision's bytes (see the module docs).
fn decision(data: &[u8]) {
    let limits = DecodeLimits::DEFAULT;
    if let Ok(msg) = RetirementMessage::decode(data, &limits) {
        assert_eq!(
            msg.encode(),
            data,
            "a non-canonical message decoded: {msg:?}"
        );
    }
    if let Ok(member) = Member::decode(data, &limits) {
        assert_eq!(
            member.encode(),
            data,
            "a non-canonical member decoded: {member:?}"
        );
    }
}

/// Runs one input (see the module docs); panics if a check fails.
pub fn run(data: &[u8]) {
    decision(data);
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let Some((&count, rest)) = rest.split_first() else {
        return;
    };
    let count = usize::from(count % 5);
    let mut bytes = [0u8; RECORD_BYTES * 4];
    let take = rest.len().min(count * RECORD_BYTES);
    bytes[..take].copy_from_slice(&rest[..take]);
    let value = &rest[take..];
    let records: Vec<Retirement> = bytes
        .chunks_exact(RECORD_BYTES)
        .take(count)
        .filter_map(|b| {
            let u16_at = |i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
            let u32_at =
                |i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
            Retirement::new(
                ReplicaId::new(u16_at(0)),
                u16_at(2),
                ReplicaId::new(u16_at(4)),
                u32_at(6),
                u32_at(10),
                u32_at(14),
            )
            .ok()
        })
        .collect();
    match kind % 6 {
        0 => check::<GCounter>(value, &records, |_| None),
        1 => check::<PnCounter>(value, &records, |_| None),
        2 => check::<OrSet<u64>>(value, &records, |v| Some(v.context())),
        3 => check::<OrSet<String>>(value, &records, |v| Some(v.context())),
        4 => check::<MvRegister<String>>(value, &records, |v| Some(v.context())),
        _ => check::<Keyspace>(value, &records, |v| Some(v.context())),
    }
}

fn check<T: Checked + Retire + Clone>(
    bytes: &[u8],
    records: &[Retirement],
    context: impl Fn(&T) -> Option<&CausalContext>,
) {
    let Ok(value) = decode::<T>(bytes) else {
        return;
    };
    let before = encode(&value);
    for one in records {
        let mut v = value.clone();
        if v.retire(one).is_err() {
            assert_eq!(encode(&v), before, "a refused record changed the value");
        }
    }
    let mut v = value;
    match v.retire_all(records) {
        Err(_) => assert_eq!(encode(&v), before, "a refused batch changed the value"),
        Ok(()) => {
            v.assert_invariants();
            if let Some(ctx) = context(&v) {
                for r in records {
                    assert!(
                        ctx.replicas().all(|x| x != r.retired()),
                        "retired writer {} is still in the context: {v:?}",
                        r.retired()
                    );
                }
            }
            let again: T = decode(&encode(&v)).expect("a retired value decodes");
            assert_eq!(again, v, "a retired value round-trips");
        }
    }
}

/// Starting inputs: every seed value of the covered types, with records retiring its
/// first writers (final and short ones) into a collapse id, and a batch of two.
#[must_use]
pub fn seeds(values: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let kind_of = |name: &str| -> Option<u8> {
        let kinds: [(&str, u8); 6] = [
            ("gcounter", 0),
            ("pncounter", 1),
            ("orset_u64", 2),
            ("orset_string", 3),
            ("mv_string", 4),
            ("keyspace", 5),
        ];
        kinds
            .iter()
            .find(|(p, _)| name.starts_with(p))
            .map(|(_, k)| *k)
    };
    let mut out = Vec::new();
    for (name, bytes) in values {
        let Some(kind) = kind_of(name) else {
            continue;
        };
        let one: [RawRecord; 1] = [(1, 64, 999, 0, 64, 64)];
        let short: [RawRecord; 1] = [(1, 1, 999, 0, 1, 0)];
        let two: [RawRecord; 2] = [(1, 64, 999, 0, 64, 64), (2, 64, 999, 64, 64, 64)];
        out.push((format!("{name}_one"), case(kind, &one, bytes)));
        out.push((format!("{name}_short"), case(kind, &short, bytes)));
        out.push((format!("{name}_two"), case(kind, &two, bytes)));
    }
    out.extend(decision_seeds());
    out
}

/// Decision messages of every kind and a stored member, so the fuzzer starts from
/// valid ones (see [`decision`]).
fn decision_seeds() -> Vec<(String, Vec<u8>)> {
    use crate::retirement::{certificate, dots, COLLAPSE};
    use crdt_sync::retirement::{Ballot, Batch, Refusal};
    let ballot = Ballot {
        round: 3,
        proposer: ReplicaId::new(1),
        life: 2,
    };
    let Ok(batch) = Batch::new(
        1,
        0,
        vec![certificate(100, 2, 3), certificate(101, 0, 1)],
        COLLAPSE,
    ) else {
        return Vec::new();
    };
    let messages = [
        ("prepare", RetirementMessage::Prepare { epoch: 1, ballot }),
        (
            "promise",
            RetirementMessage::Promise {
                epoch: 1,
                ballot,
                accepted: Some((ballot, batch.clone())),
                records_end: 0,
            },
        ),
        (
            "accept",
            RetirementMessage::Accept {
                ballot,
                batch: batch.clone(),
            },
        ),
        (
            "commit",
            RetirementMessage::Commit {
                batch: batch.clone(),
            },
        ),
        (
            "refused",
            RetirementMessage::Refused {
                epoch: 1,
                ballot: Some(ballot),
                refusal: Refusal::Holds(vec![(ReplicaId::new(100), dots(1, 2))]),
            },
        ),
    ];
    let mut out: Vec<(String, Vec<u8>)> = messages
        .into_iter()
        .map(|(name, m)| (format!("decision_{name}"), m.encode()))
        .collect();
    let mut member = Member::new(COLLAPSE);
    let _ = member.handle(&RetirementMessage::Commit { batch }, |w| match w.get() {
        100 => dots(2, 3),
        _ => dots(0, 1),
    });
    out.push(("decision_member".to_string(), member.encode()));
    out
}
