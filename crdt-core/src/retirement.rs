//! Collapsing a retired writer into the collapse id: the value-level half of replica
//! retirement (`docs/RETIREMENT.md`, §3). The protocol half (certificates, batches,
//! dating and translating content, fences) belongs to crdt-sync.

use crate::{CausalContext, CoreError, DeltaCrdt, Dot, ReplicaId};
use std::collections::{BTreeMap, BTreeSet};

/// The record of one retired writer: its final holdings and where they go.
///
/// Its dots `(retired, 1..=last)` become `(collapse, base + 1..=base + last)`, and its
/// counter contributions (`increments`, `decrements`) move into the collapse id's
/// counter entries. The collapse id is reserved for this: no process ever writes under
/// it, so its dot ranges and counter entries hold only what retirements put there, and
/// records of one cluster give each retired writer its own range of it.
///
/// Applying a record ([`Retire::retire`]) to a value that holds all of the writer's
/// writes keeps the value (elements, totals, winners); it commutes with merge; and a
/// value holding anything of the writer beyond the record (a dot above `last`, a
/// counter entry above the contributions) is refused, unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Retirement {
    retired: ReplicaId,
    last: u64,
    collapse: ReplicaId,
    base: u64,
    increments: u64,
    decrements: u64,
}

impl Retirement {
    /// The record retiring `retired`, whose dots are `1..=last`, into `collapse`'s
    /// counters `base + 1..=base + last`, with its counter contributions.
    ///
    /// # Errors
    /// [`CoreError::InvalidRetirement`] if `retired` is `collapse`, or if
    /// `base + last` overflows `u64`.
    pub fn new(
        retired: ReplicaId,
        last: u64,
        collapse: ReplicaId,
        base: u64,
        increments: u64,
        decrements: u64,
    ) -> Result<Self, CoreError> {
        if retired == collapse {
            return Err(CoreError::InvalidRetirement {
                retired,
                reason: "it is the collapse id itself",
            });
        }
        if base.checked_add(last).is_none() {
            return Err(CoreError::InvalidRetirement {
                retired,
                reason: "its range of collapse counters would pass u64::MAX",
            });
        }
        Ok(Self {
            retired,
            last,
            collapse,
            base,
            increments,
            decrements,
        })
    }

    /// The retired writer.
    #[must_use]
    pub const fn retired(&self) -> ReplicaId {
        self.retired
    }

    /// The retired writer's last dot counter (its dots are `1..=last`).
    #[must_use]
    pub const fn last(&self) -> u64 {
        self.last
    }

    /// Where its range of collapse counters starts (exclusive).
    #[must_use]
    pub const fn base(&self) -> u64 {
        self.base
    }

    /// The collapse id its dots and contributions move to.
    #[must_use]
    pub const fn collapse(&self) -> ReplicaId {
        self.collapse
    }

    /// The dot `dot` becomes: the retired writer's dots move into the collapse range,
    /// every other dot stays.
    ///
    /// # Errors
    /// [`CoreError::NotFinal`] for a dot of the retired writer above `last`.
    pub fn rename(&self, dot: Dot) -> Result<Dot, CoreError> {
        if dot.replica() != self.retired {
            return Ok(dot);
        }
        if dot.counter() > self.last {
            return Err(self.not_final(dot.counter()));
        }
        // `base + last` fits (checked by `new`) and counters start at 1.
        Dot::try_new(self.collapse, self.base + dot.counter()).ok_or(self.not_final(0))
    }

    /// The counter contributions (increments, decrements) the record moves.
    #[must_use]
    pub const fn contributions(&self) -> (u64, u64) {
        (self.increments, self.decrements)
    }

    /// The refusal of a value holding dot counter `found` of the retired writer.
    pub(crate) fn not_final(&self, found: u64) -> CoreError {
        self.beyond(found, self.last)
    }

    /// The refusal of a value holding `found` of the retired writer where the record
    /// accounts for `limit`.
    pub(crate) fn beyond(&self, found: u64, limit: u64) -> CoreError {
        CoreError::NotFinal {
            retired: self.retired,
            last: limit,
            found,
        }
    }
}

/// What a value holds of one writer: the part of its final holdings that a
/// [`Retirement`] moves (the protocol adds the writer's write count, which counts
/// dotless removes and deletes too).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Held {
    /// Its highest dot counter (0 for counters, which have no dots).
    pub last: u64,
    /// Its counter increments (a G-Counter's or PN-Counter's entry; 0 for types
    /// without counters and for the keyspace, whose counters live under dots).
    pub increments: u64,
    /// Its counter decrements (a PN-Counter's; 0 otherwise).
    pub decrements: u64,
}

impl Retirement {
    /// The record retiring `retired` with exactly what `held` says of it, into
    /// `collapse`'s counters `base + 1..=base + held.last`.
    ///
    /// # Errors
    /// As [`Retirement::new`].
    pub fn of(
        retired: ReplicaId,
        held: Held,
        collapse: ReplicaId,
        base: u64,
    ) -> Result<Self, CoreError> {
        Self::new(
            retired,
            held.last,
            collapse,
            base,
            held.increments,
            held.decrements,
        )
    }

    /// The last collapse counter the record uses (`base + last`; `base` when the
    /// writer made no dot): where the next record's range may start.
    #[must_use]
    pub const fn end(&self) -> u64 {
        // Fits: checked by `new`.
        self.base + self.last
    }
}

/// Records applied together, in one pass over a value: each writer moves as
/// [`Retire::retire`] would move it alone.
pub(crate) struct Batch<'a> {
    by_writer: BTreeMap<ReplicaId, &'a Retirement>,
}

impl<'a> Batch<'a> {
    /// The batch of `records`.
    ///
    /// # Errors
    /// [`CoreError::InvalidRetirement`] if two records retire one writer, or one
    /// retires the collapse id of another.
    pub(crate) fn new(records: &'a [Retirement]) -> Result<Self, CoreError> {
        let mut by_writer = BTreeMap::new();
        for r in records {
            if by_writer.insert(r.retired, r).is_some() {
                return Err(CoreError::InvalidRetirement {
                    retired: r.retired,
                    reason: "the batch retires it twice",
                });
            }
        }
        if let Some(r) = records.iter().find(|r| by_writer.contains_key(&r.collapse)) {
            return Err(CoreError::InvalidRetirement {
                retired: r.collapse,
                reason: "it is the collapse id of another record of the batch",
            });
        }
        // The records' collapse ranges (of dots) must not overlap.
        let mut ranges: Vec<(ReplicaId, u64, u64, ReplicaId)> = records
            .iter()
            .filter(|r| r.last > 0)
            .map(|r| (r.collapse, r.base + 1, r.base + r.last, r.retired))
            .collect();
        ranges.sort_unstable();
        if let Some(w) = ranges
            .windows(2)
            .find(|w| w[0].0 == w[1].0 && w[1].1 <= w[0].2)
        {
            return Err(CoreError::InvalidRetirement {
                retired: w[1].3,
                reason: "its collapse range overlaps another record's",
            });
        }
        Ok(Self { by_writer })
    }

    /// The records, by retired writer.
    pub(crate) fn records(&self) -> impl Iterator<Item = &'a Retirement> + '_ {
        self.by_writer.values().copied()
    }

    /// The counter totals `(increments, decrements)` each collapse id has once the
    /// batch's contributions are added to what `held` gives it now; a counter type then
    /// drops each retired writer's entry and sets these. `held` gives a replica's
    /// current totals (a G-Counter's decrements are 0).
    ///
    /// # Errors
    /// [`CoreError::NotFinal`] if a retired writer holds more than its record;
    /// [`CoreError::CounterOverflow`] if a collapse total would pass `u64::MAX`.
    pub(crate) fn collapsed_totals(
        &self,
        held: impl Fn(ReplicaId) -> (u64, u64),
    ) -> Result<BTreeMap<ReplicaId, (u64, u64)>, CoreError> {
        let mut totals: BTreeMap<ReplicaId, (u64, u64)> = BTreeMap::new();
        for record in self.records() {
            let (increments, decrements) = record.contributions();
            let (p, n) = held(record.retired());
            if p > increments {
                return Err(record.beyond(p, increments));
            }
            if n > decrements {
                return Err(record.beyond(n, decrements));
            }
            let collapse = record.collapse();
            let overflow = CoreError::CounterOverflow { replica: collapse };
            let total = totals.entry(collapse).or_insert_with(|| held(collapse));
            *total = (
                total.0.checked_add(increments).ok_or(overflow.clone())?,
                total.1.checked_add(decrements).ok_or(overflow)?,
            );
        }
        Ok(totals)
    }

    /// Whether `replica` is retired by the batch.
    pub(crate) fn retires(&self, replica: ReplicaId) -> bool {
        self.by_writer.contains_key(&replica)
    }

    /// What `dot` becomes (see [`Retirement::rename`]).
    ///
    /// # Errors
    /// [`CoreError::NotFinal`] for a dot of a retired writer above its record.
    pub(crate) fn rename(&self, dot: Dot) -> Result<Dot, CoreError> {
        match self.by_writer.get(&dot.replica()) {
            Some(r) => r.rename(dot),
            None => Ok(dot),
        }
    }

    /// The context with every retired writer's runs moved into its collapse range.
    ///
    /// # Errors
    /// [`CoreError::NotFinal`] if it holds a dot of a retired writer above its record.
    pub(crate) fn rename_context(&self, ctx: &CausalContext) -> Result<CausalContext, CoreError> {
        // A collapse range must be fresh: a dot already in it would be two dots in one.
        let collapse_ids: BTreeSet<ReplicaId> =
            self.by_writer.values().map(|r| r.collapse).collect();
        let taken: Vec<(ReplicaId, u64, u64)> = ctx
            .runs()
            .filter(|(r, _, _)| collapse_ids.contains(r))
            .collect();
        for r in self.by_writer.values().filter(|r| r.last > 0) {
            let (lo, hi) = (r.base + 1, r.base + r.last);
            if taken
                .iter()
                .any(|&(c, a, b)| c == r.collapse && a <= hi && lo <= b)
            {
                return Err(CoreError::InvalidRetirement {
                    retired: r.retired,
                    reason: "its collapse range holds dots already",
                });
            }
        }
        let mut out = CausalContext::new();
        for (replica, first, last) in ctx.runs() {
            match self.by_writer.get(&replica) {
                Some(r) => {
                    if last > r.last {
                        return Err(r.not_final(last));
                    }
                    // `base + last` fits (checked by `Retirement::new`).
                    out.insert_run(r.collapse, r.base + first, r.base + last);
                }
                None => out.insert_run(replica, first, last),
            }
        }
        Ok(out)
    }
}

/// A value whose retired writers can be collapsed (`docs/RETIREMENT.md`, §3).
pub trait Retire {
    /// Applies `record`: the retired writer's dots and counter contributions move into
    /// the collapse id. On error the value is unchanged.
    ///
    /// # Errors
    /// [`CoreError::NotFinal`] if the value holds more of the retired writer than the
    /// record (its retirement was decided on holdings that were not final);
    /// [`CoreError::CounterOverflow`] if the collapse id's counter entry would pass
    /// `u64::MAX`.
    fn retire(&mut self, record: &Retirement) -> Result<(), CoreError> {
        self.retire_all(core::slice::from_ref(record))
    }

    /// Applies a batch of records in one pass over the value (O(value) however many
    /// records), with the result of applying them one by one. On error the value is
    /// unchanged.
    ///
    /// # Errors
    /// As [`Retire::retire`], and [`CoreError::InvalidRetirement`] if two records
    /// retire one writer or one retires the collapse id of another.
    fn retire_all(&mut self, records: &[Retirement]) -> Result<(), CoreError>;

    /// What the value holds of `writer` (its highest dot, its counter entries): a
    /// retirement may be decided only once every replica holds exactly the writer's
    /// final holdings, and this is the value's part of that check.
    fn held(&self, writer: ReplicaId) -> Held;
}

impl Retire for CausalContext {
    fn retire_all(&mut self, records: &[Retirement]) -> Result<(), CoreError> {
        *self = Batch::new(records)?.rename_context(self)?;
        Ok(())
    }

    fn held(&self, writer: ReplicaId) -> Held {
        Held {
            last: self.max_counter(writer),
            ..Held::default()
        }
    }
}

/// A retirable type's retirement functions, for a protocol engine generic over every
/// [`DeltaCrdt`] (see [`DeltaCrdt::retirement`]): the value's and its summary's
/// [`Retire::retire_all`] and [`Retire::held`].
pub struct RetireFns<C: DeltaCrdt> {
    /// [`Retire::retire_all`] on a value (state or delta).
    pub retire_all: fn(&mut C, &[Retirement]) -> Result<(), CoreError>,
    /// [`Retire::held`] on a value.
    pub held: fn(&C, ReplicaId) -> Held,
    /// [`Retire::retire_all`] on a summary.
    pub summary_retire_all: fn(&mut C::Summary, &[Retirement]) -> Result<(), CoreError>,
    /// [`Retire::held`] on a summary.
    pub summary_held: fn(&C::Summary, ReplicaId) -> Held,
}

impl<C> RetireFns<C>
where
    C: DeltaCrdt + Retire,
    C::Summary: Retire,
{
    /// The functions of a type whose values and summaries are [`Retire`].
    #[must_use]
    pub fn of() -> Self {
        Self {
            retire_all: <C as Retire>::retire_all,
            held: <C as Retire>::held,
            summary_retire_all: <C::Summary as Retire>::retire_all,
            summary_held: <C::Summary as Retire>::held,
        }
    }
}

impl<C: DeltaCrdt> Clone for RetireFns<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: DeltaCrdt> Copy for RetireFns<C> {}

impl<C: DeltaCrdt> core::fmt::Debug for RetireFns<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RetireFns")
    }
}
