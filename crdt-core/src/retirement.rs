//! Collapsing a retired writer into the collapse id: the value-level half of replica
//! retirement (`docs/RETIREMENT.md`, §3). The protocol half (certificates, batches,
//! epochs, fences) belongs to crdt-sync and is not built yet.

use crate::{CausalContext, CoreError, Dot, ReplicaId};

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

    /// The context with the retired writer's runs moved into the collapse range.
    ///
    /// # Errors
    /// [`CoreError::NotFinal`] if it holds a dot of the retired writer above `last`.
    pub(crate) fn rename_context(&self, ctx: &CausalContext) -> Result<CausalContext, CoreError> {
        let mut out = CausalContext::new();
        for (replica, first, last) in ctx.runs() {
            if replica == self.retired {
                if last > self.last {
                    return Err(self.not_final(last));
                }
                out.insert_run(self.collapse, self.base + first, self.base + last);
            } else {
                out.insert_run(replica, first, last);
            }
        }
        Ok(out)
    }

    /// The counter contributions (increments, decrements) the record moves.
    pub(crate) const fn contributions(&self) -> (u64, u64) {
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
    fn retire(&mut self, record: &Retirement) -> Result<(), CoreError>;
}

impl Retire for CausalContext {
    fn retire(&mut self, record: &Retirement) -> Result<(), CoreError> {
        *self = record.rename_context(self)?;
        Ok(())
    }
}
