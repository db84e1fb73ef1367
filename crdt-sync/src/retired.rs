//! The writers a leader has retired, and how content of other epochs is dated and
//! brought to its own (`docs/RETIREMENT.md` §5.2, §5.3).
//!
//! Content is not tagged with an epoch: renaming leaves marks that date it.
//! - Content that names a retired writer was computed before that writer's epoch
//!   (a commit renames everything a leader holds, wholesale). It is **translated** by
//!   the records of exactly the retired writers it names, which equals merging it
//!   before the commit and renaming after (checked for every type in
//!   `crdt-core/tests/retirement.rs`). Content holding more of a retired writer than
//!   its record is **fenced**: refused and counted, never merged.
//! - Content holding collapse-id marks beyond this leader's (a collapse dot past the
//!   ranges it committed, a collapse counter entry above its collapsed totals) was
//!   computed after an epoch this leader has not committed: it is **ahead**, and not
//!   merged until this leader has committed that epoch (the sender retransmits).
//! - Anything else merges as it is: content without a retired writer and without
//!   marks beyond ours is the same whichever side of a commit it was computed on.

// Without the `retirement` feature a leader only dates content (nothing is retired).
#![cfg_attr(not(feature = "retirement"), allow(dead_code))]

use crate::retirement::Batch;
use crdt_core::{CoreError, DeltaCrdt, Held, ReplicaId, RetireFns, Retirement, VersionVector};

/// One retired writer: the epoch that retired it, its record and its write count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetiredWriter {
    pub(crate) epoch: u64,
    pub(crate) record: Retirement,
    pub(crate) writes: u64,
}

/// The retired writers of one leader and what their records moved into the collapse
/// id. Empty (epoch 0) until the first commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Retired {
    /// The number of batches committed.
    epoch: u64,
    /// The last collapse counter the committed ranges use.
    end: u64,
    /// The collapse id's counter totals: every record's contributions.
    increments: u64,
    decrements: u64,
    /// By writer, ascending.
    writers: Vec<(ReplicaId, RetiredWriter)>,
}

/// How content relates to a leader's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dating {
    /// Computed at an epoch this leader has committed (or merges the same either way).
    Mergeable,
    /// Computed after an epoch this leader has not committed.
    Ahead,
}

/// Why content cannot be brought to a leader's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Untranslatable {
    /// It holds writes of `writer` beyond its retirement record: a write made after
    /// the writer was certified final (a stale copy of it), never merged.
    Fenced(ReplicaId),
    /// It is malformed (a collapse range it already holds, a counter overflow).
    Malformed,
}

impl Retired {
    /// Nothing retired (epoch 0).
    pub(crate) const EMPTY: Retired = Retired {
        epoch: 0,
        end: 0,
        increments: 0,
        decrements: 0,
        writers: Vec::new(),
    };

    /// The number of batches committed.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The last collapse counter the committed ranges use.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// The number of retired writers.
    pub(crate) fn len(&self) -> usize {
        self.writers.len()
    }

    /// The retired writers, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(ReplicaId, RetiredWriter)> {
        self.writers.iter()
    }

    /// `writer`'s retirement, if it is retired.
    pub(crate) fn get(&self, writer: ReplicaId) -> Option<&RetiredWriter> {
        self.writers
            .binary_search_by_key(&writer, |(w, _)| *w)
            .ok()
            .map(|i| &self.writers[i].1)
    }

    /// Adds a committed batch (its records computed by the caller).
    pub(crate) fn commit(&mut self, batch: &Batch, records: &[Retirement]) {
        let mut added: Vec<(ReplicaId, RetiredWriter)> = batch
            .certificates()
            .iter()
            .zip(records)
            .map(|(c, r)| {
                (
                    c.writer,
                    RetiredWriter {
                        epoch: batch.epoch(),
                        record: *r,
                        writes: c.holdings.writes,
                    },
                )
            })
            .collect();
        for (_, w) in &added {
            let (i, d) = w.record.contributions();
            self.increments = self.increments.saturating_add(i);
            self.decrements = self.decrements.saturating_add(d);
        }
        self.epoch = batch.epoch();
        self.end = batch.end();
        self.writers.append(&mut added);
        self.writers.sort_unstable_by_key(|(w, _)| *w);
    }

    /// Rebuilds the index from its parts (a checkpoint): `writers` ascending.
    pub(crate) fn from_parts(epoch: u64, writers: Vec<(ReplicaId, RetiredWriter)>) -> Self {
        let mut me = Self {
            epoch,
            writers,
            ..Self::default()
        };
        for (_, w) in &me.writers {
            let (i, d) = w.record.contributions();
            me.increments = me.increments.saturating_add(i);
            me.decrements = me.decrements.saturating_add(d);
            me.end = me.end.max(w.record.end());
        }
        me
    }

    /// Whether a checkpoint's retired writers agree with each other and with its
    /// state and causal token, as [`Leader::commit_retirement`](crate::Leader) leaves
    /// them: the records' collapse ranges tile `1..=end` in epoch order, none of an
    /// epoch after this one; the state names no retired writer and holds no collapse
    /// mark beyond the records; the token has no entry of a retired writer. (An epoch
    /// may have retired no writer: nothing refuses an empty batch.)
    /// The reason otherwise. A checkpoint failing this was not written by a leader
    /// (its checksum matched): restoring it would count contributions twice or lose
    /// them.
    pub(crate) fn check_restored<C: DeltaCrdt>(
        &self,
        state: &C,
        token: &VersionVector,
        collapse: ReplicaId,
    ) -> Result<(), &'static str> {
        let mut ranges: Vec<(u64, u64, u64)> = self
            .writers
            .iter()
            .map(|(_, w)| (w.epoch, w.record.base(), w.record.end()))
            .collect();
        ranges.sort_unstable();
        let mut end = 0u64;
        for (e, base, stop) in ranges {
            if e > self.epoch {
                return Err("a checkpoint retired a writer in an epoch after its own");
            }
            if base != end {
                return Err("a checkpoint's collapse ranges overlap or leave a gap");
            }
            end = stop;
        }
        let named = C::summary_writers(&state.summary());
        if named.iter().any(|w| self.get(*w).is_some()) {
            return Err("a checkpoint's state still names a writer it retired");
        }
        if self.date(state.collapse_marks(collapse)) == Dating::Ahead {
            return Err("a checkpoint's state holds collapse marks beyond its records");
        }
        if token.iter().any(|(w, _)| self.get(w).is_some()) {
            return Err("a checkpoint's causal token names a writer it retired");
        }
        Ok(())
    }

    /// Dates content by what it holds of the collapse id.
    pub(crate) fn date(&self, collapse_held: Held) -> Dating {
        if collapse_held.last > self.end
            || collapse_held.increments > self.increments
            || collapse_held.decrements > self.decrements
        {
            Dating::Ahead
        } else {
            Dating::Mergeable
        }
    }

    /// The records of the retired writers among `named`.
    fn records_of(&self, named: impl IntoIterator<Item = ReplicaId>) -> Vec<Retirement> {
        if self.writers.is_empty() {
            return Vec::new();
        }
        named
            .into_iter()
            .filter_map(|w| self.get(w).map(|r| r.record))
            .collect()
    }

    /// Brings a value (state, delta, repair) to this epoch: renames the retired
    /// writers it names. Returns whether it named any. On error it must be discarded.
    pub(crate) fn translate<C: DeltaCrdt>(
        &self,
        fns: &RetireFns<C>,
        value: &mut C,
    ) -> Result<bool, Untranslatable> {
        if self.writers.is_empty() {
            return Ok(false);
        }
        let records = self.records_of(C::summary_writers(&value.summary()));
        let Some(collapse) = records.first().map(Retirement::collapse) else {
            return Ok(false);
        };
        (fns.retire_all)(value, &records).map_err(untranslatable)?;
        self.consistent((fns.held)(value, collapse))?;
        Ok(true)
    }

    /// Translated content must hold no collapse mark beyond this leader's: honest
    /// content naming a retired writer was computed before its epoch, so its collapse
    /// entry plus the contributions translation adds is at most this leader's total.
    /// Content that named a writer **and** already held its contribution (a buggy or
    /// hostile peer) would otherwise count it twice.
    fn consistent(&self, translated: Held) -> Result<(), Untranslatable> {
        match self.date(translated) {
            Dating::Mergeable => Ok(()),
            Dating::Ahead => Err(Untranslatable::Malformed),
        }
    }

    /// Brings a summary to this epoch, as [`Retired::translate`].
    pub(crate) fn translate_summary<C: DeltaCrdt>(
        &self,
        fns: &RetireFns<C>,
        summary: &mut C::Summary,
    ) -> Result<bool, Untranslatable> {
        let records = self.records_of(C::summary_writers(summary));
        let Some(collapse) = records.first().map(Retirement::collapse) else {
            return Ok(false);
        };
        (fns.summary_retire_all)(summary, &records).map_err(untranslatable)?;
        self.consistent((fns.summary_held)(summary, collapse))?;
        Ok(true)
    }

    /// Drops the retired writers from a causal token (a token counts writes, which
    /// renaming cannot map; this leader holds every write of each retired writer).
    /// Returns whether it named any, and how many entries claimed more writes than
    /// the writer's record: those are dropped too (the claim is not adopted), and the
    /// caller counts them, but they do not spoil the message, so a member that took a
    /// write beyond a record (a stall, `docs/RETIREMENT.md` §9) still replicates its
    /// live writers' writes.
    pub(crate) fn translate_token(&self, token: &mut VersionVector) -> (bool, u64) {
        if self.writers.is_empty() {
            return (false, 0);
        }
        let named: Vec<(ReplicaId, u64)> = token
            .iter()
            .filter_map(|(w, count)| self.get(w).map(|r| (w, u64::from(count > r.writes))))
            .collect();
        for (w, _) in &named {
            token.remove(*w);
        }
        (!named.is_empty(), named.iter().map(|(_, over)| over).sum())
    }

    /// Whether this leader has seen the writes `count` of retired writer `writer`
    /// stand for (every write of it is held here), or `None` if it is not retired.
    pub(crate) fn covers(&self, writer: ReplicaId, count: u64) -> Option<bool> {
        self.get(writer).map(|r| count <= r.writes)
    }
}

fn untranslatable(e: CoreError) -> Untranslatable {
    match e {
        CoreError::NotFinal { retired, .. } => Untranslatable::Fenced(retired),
        _ => Untranslatable::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::{Dating, Retired};
    use crate::retirement::{Batch, Certificate, Holdings};
    use crdt_core::{DeltaCrdt, GCounter, Held, PnCounter, ReplicaId, Retire, VersionVector};

    const OMEGA: ReplicaId = crate::COLLAPSE_DEFAULT;

    fn retired(writer: u64, held: Held, writes: u64) -> Retired {
        let batch = Batch::new(
            1,
            0,
            vec![Certificate {
                writer: ReplicaId::new(writer),
                holdings: Holdings { held, writes },
            }],
            OMEGA,
        )
        .unwrap();
        let mut r = Retired::default();
        r.commit(&batch, &batch.records(OMEGA).unwrap());
        r
    }

    #[test]
    fn content_is_ahead_exactly_when_it_holds_collapse_marks_beyond_ours() {
        let r = retired(
            7,
            Held {
                last: 3,
                increments: 5,
                decrements: 2,
            },
            6,
        );
        let at = |last, increments, decrements| {
            r.date(Held {
                last,
                increments,
                decrements,
            })
        };
        assert_eq!(at(3, 5, 2), Dating::Mergeable);
        assert_eq!(at(0, 0, 0), Dating::Mergeable);
        assert_eq!(at(4, 0, 0), Dating::Ahead, "a collapse dot past our ranges");
        assert_eq!(at(0, 6, 0), Dating::Ahead, "a collapse total above ours");
        assert_eq!(at(0, 0, 3), Dating::Ahead);
        assert_eq!(Retired::EMPTY.date(at_least_one()), Dating::Ahead);
        // Counter content carries its collapse entry as `held`.
        let mut later = PnCounter::default();
        let _ = later.try_increment(OMEGA, 5).unwrap();
        let _ = later.try_decrement(OMEGA, 3).unwrap();
        let fns = PnCounter::retirement().unwrap();
        assert_eq!(r.date((fns.held)(&later, OMEGA)), Dating::Ahead);
    }

    /// Writers 7 (3 dots, epoch 1) and 8 (2 dots, epoch 2) with the given bases, in a
    /// leader at `epoch`.
    fn two(epoch: u64, base7: u64, base8: u64, epoch8: u64) -> Retired {
        let record = |w: u64, last, base| {
            crdt_core::Retirement::new(ReplicaId::new(w), last, OMEGA, base, 1, 0).unwrap()
        };
        let writer = |e, record| super::RetiredWriter {
            epoch: e,
            record,
            writes: 3,
        };
        Retired::from_parts(
            epoch,
            vec![
                (ReplicaId::new(7), writer(1, record(7, 3, base7))),
                (ReplicaId::new(8), writer(epoch8, record(8, 2, base8))),
            ],
        )
    }

    #[test]
    fn a_restored_checkpoints_retirements_must_agree_with_its_state_and_token() {
        let (state, token) = (GCounter::default(), VersionVector::new());
        let check = |r: &Retired, state: &GCounter, token: &VersionVector| {
            r.check_restored(state, token, OMEGA)
        };
        assert_eq!(check(&two(2, 0, 3, 2), &state, &token), Ok(()));
        // Ranges: the second starts where the first ends (0..3, then 3..5), in epoch
        // order, from 0.
        for (r, why) in [
            (two(2, 0, 4, 2), "a gap"),
            (two(2, 0, 2, 2), "an overlap"),
            (two(2, 1, 4, 2), "not from 0"),
            (two(2, 2, 0, 2), "a later epoch's range first"),
        ] {
            assert_eq!(
                check(&r, &state, &token),
                Err("a checkpoint's collapse ranges overlap or leave a gap"),
                "{why}"
            );
        }
        // No writer retired after the leader's epoch. One batch may retire several
        // writers, and one may have retired none (nothing refuses an empty batch).
        assert_eq!(check(&two(1, 0, 3, 1), &state, &token), Ok(()));
        assert_eq!(check(&two(3, 0, 3, 2), &state, &token), Ok(()));
        assert_eq!(check(&two(3, 0, 3, 3), &state, &token), Ok(()));
        assert_eq!(
            check(&two(1, 0, 3, 2), &state, &token),
            Err("a checkpoint retired a writer in an epoch after its own")
        );
        let r = two(2, 0, 3, 2);
        // The state names a retired writer (a commit renamed them all).
        let mut named = GCounter::default();
        let _ = named.try_increment(ReplicaId::new(8), 1).unwrap();
        assert_eq!(
            check(&r, &named, &token),
            Err("a checkpoint's state still names a writer it retired")
        );
        // The state holds more in the collapse entry than the records contributed (2).
        let mut ahead = GCounter::default();
        let _ = ahead.try_increment(OMEGA, 3).unwrap();
        assert_eq!(
            check(&r, &ahead, &token),
            Err("a checkpoint's state holds collapse marks beyond its records")
        );
        let mut exact = GCounter::default();
        let _ = exact.try_increment(OMEGA, 2).unwrap();
        assert_eq!(check(&r, &exact, &token), Ok(()));
        // The token names a retired writer.
        let mut t = VersionVector::new();
        t.advance(ReplicaId::new(7), 1);
        assert_eq!(
            check(&r, &state, &t),
            Err("a checkpoint's causal token names a writer it retired")
        );
    }

    fn at_least_one() -> Held {
        Held {
            last: 1,
            ..Held::default()
        }
    }

    #[test]
    fn older_content_is_translated_by_the_writers_it_names_only() {
        let seven = ReplicaId::new(7);
        let eight = ReplicaId::new(8);
        let r = retired(
            7,
            Held {
                increments: 5,
                ..Held::default()
            },
            5,
        );
        let fns = GCounter::retirement().unwrap();
        // Names the retired writer: its entry moves to the collapse id (the record's
        // whole contribution).
        let mut old = GCounter::default();
        let _ = old.try_increment(seven, 4).unwrap();
        assert_eq!(r.translate(&fns, &mut old), Ok(true));
        assert_eq!(
            (old.held(seven).increments, old.held(OMEGA).increments),
            (0, 5)
        );
        // Names none: unchanged (adding the contribution again would count it twice).
        let mut other = GCounter::default();
        let _ = other.try_increment(eight, 1).unwrap();
        let before = other.clone();
        assert_eq!(r.translate(&fns, &mut other), Ok(false));
        assert_eq!(other, before);
        // More than the record: fenced, unchanged.
        let mut late = GCounter::default();
        let _ = late.try_increment(seven, 6).unwrap();
        let before = late.clone();
        assert_eq!(
            r.translate(&fns, &mut late),
            Err(super::Untranslatable::Fenced(seven))
        );
        assert_eq!(late, before);
        // Tokens: retired entries are dropped; those above the write count counted.
        let mut token = VersionVector::new();
        token.advance(seven, 5);
        token.advance(eight, 2);
        assert_eq!(r.translate_token(&mut token), (true, 0));
        assert_eq!((token.get(seven), token.get(eight)), (0, 2));
        token.advance(seven, 6);
        assert_eq!(
            r.translate_token(&mut token),
            (true, 1),
            "dropped and counted"
        );
        assert_eq!((token.get(seven), token.get(eight)), (0, 2));
        assert_eq!(r.covers(seven, 5), Some(true));
        assert_eq!(r.covers(seven, 6), Some(false));
        assert_eq!(r.covers(eight, 1), None);
    }
}
