//! Committing a retirement batch in a leader (`docs/RETIREMENT.md` §5.2), and what a
//! leader answers about retired writers.

use crate::retired::Retired;
#[cfg(feature = "retirement")]
use crate::retired::Untranslatable;
#[cfg(feature = "retirement")]
use crate::retirement::{Batch, Holdings};
use crate::Leader;
#[cfg(feature = "retirement")]
use crate::SyncError;
use crdt_core::{DeltaCrdt, ReplicaId};

impl<C: DeltaCrdt> Leader<C> {
    /// The number of retirement batches this leader has committed (its epoch).
    #[must_use]
    pub fn retirement_epoch(&self) -> u64 {
        self.retired.as_deref().map_or(0, Retired::epoch)
    }

    /// The epoch that retired `writer` here, if it is retired.
    #[must_use]
    pub fn retired_in(&self, writer: ReplicaId) -> Option<u64> {
        self.retired.as_deref()?.get(writer).map(|r| r.epoch)
    }

    /// How many writers this leader has retired.
    #[must_use]
    pub fn retired_writers(&self) -> usize {
        self.retired.as_deref().map_or(0, Retired::len)
    }

    /// Commits a retirement batch that every member accepted
    /// ([`MemberStep::commit`](crate::retirement::MemberStep::commit)): renames the
    /// batch's writers in the state, in every buffered delta and in what is known of
    /// every peer's summary; drops them from the causal token and the peers' tokens;
    /// and fences them: from now on content holding more of a retired writer than its
    /// record is refused and counted ([`Metrics::retired_writes`](crate::Metrics)),
    /// and content computed before the commit is translated when it arrives.
    ///
    /// No value changes when the leader holds exactly each writer's certified
    /// holdings, as every member did when it accepted the batch. A leader that holds
    /// less (restored from an older checkpoint after it accepted) commits too: what it
    /// lacks comes back from its peers as renamed content once it has committed, and
    /// a counter's total already includes each retired writer's whole contribution.
    /// One that holds more is refused: the certificate undercounted, and collapsing
    /// would lose the writes beyond it. Store the leader's
    /// [`checkpoint`](Leader::checkpoint) with the member's state in one transaction,
    /// and start any log of deltas after it anew ([`Leader::restore_with_log`]).
    ///
    /// # Errors
    /// [`SyncError::RetirementRefused`] if the batch is not the next epoch, does not
    /// start where this leader's collapse ranges end, retires this leader's own writer
    /// or a writer it retired already, or names a writer this leader holds more of
    /// than its certificate; or if `C` cannot retire writers. The leader is unchanged
    /// then.
    #[cfg(feature = "retirement")]
    pub fn commit_retirement(&mut self, batch: &Batch) -> Result<(), SyncError> {
        let epoch = batch.epoch();
        let refuse = |reason| SyncError::RetirementRefused { epoch, reason };
        let fns = C::retirement().ok_or(refuse("this replicated type keeps its writers"))?;
        if Some(epoch) != self.retirement_epoch().checked_add(1) {
            return Err(refuse("it is not the epoch after this leader's"));
        }
        let end = self.retired.as_deref().map_or(0, Retired::end);
        if batch.base() != end {
            return Err(refuse("its ranges do not start where this leader's end"));
        }
        let collapse = self.config.collapse;
        if batch
            .certificates()
            .iter()
            .any(|c| self.retired_in(c.writer).is_some())
        {
            // Its contribution would be added to the collapse entry a second time.
            return Err(refuse(
                "it retires a writer this leader has retired already",
            ));
        }
        // A restored leader still probing holds its checkpoint's writer only
        // provisionally (it never writes under it again): that one may be retired.
        if (!self.probing && batch.retires(self.writer)) || self.writer == collapse {
            return Err(refuse("it retires this leader's own writer"));
        }
        // Planted bug `RetireUnchecked` (sabotage builds only): the holdings are not
        // checked here either, so a leader collapses a writer before it holds all of
        // its writes.
        #[cfg(feature = "sabotage")]
        let unchecked = crdt_core::sabotage::active(crdt_core::sabotage::Bug::RetireUnchecked);
        #[cfg(not(feature = "sabotage"))]
        let unchecked = false;
        for c in batch.certificates().iter().filter(|_| !unchecked) {
            let here = Holdings {
                held: (fns.held)(&self.state, c.writer),
                writes: self.token.get(c.writer),
            };
            if here.exceeds(&c.holdings) {
                return Err(refuse(
                    "this leader holds more of a writer than its certificate",
                ));
            }
        }
        let records = batch
            .records(collapse)
            .map_err(|_| refuse("its ranges do not fit"))?;
        let mut state = self.state.clone();
        (fns.retire_all)(&mut state, &records).map_err(|e| {
            refuse(match e {
                crdt_core::CoreError::NotFinal { .. } => {
                    "this leader holds more of a writer than its certificate"
                }
                crdt_core::CoreError::CounterOverflow { .. } => {
                    "a collapsed counter total would pass u64::MAX"
                }
                _ => "the state holds dots in the batch's collapse ranges already",
            })
        })?;
        let mut retired = self.retired.as_deref().cloned().unwrap_or_default();
        retired.commit(batch, &records);
        // Buffered deltas hold nothing beyond the state: each is renamed by the
        // records of the writers it names.
        self.buffer
            .rename(|delta| {
                let mut delta = delta.clone();
                match retired.translate(&fns, &mut delta) {
                    Ok(true) => Ok(Some(delta)),
                    Ok(false) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .map_err(|_: Untranslatable| refuse("a buffered delta cannot be renamed"))?;
        // Nothing below fails.
        self.state = state;
        self.state_version += 1;
        let _ = retired.translate_token(&mut self.token);
        // Only this batch's writers: known tokens lost earlier batches' writers at their
        // commits, and every token learned since was translated first.
        for peer in self.peers.values_mut() {
            peer.known.rename(
                |token| {
                    for c in batch.certificates() {
                        token.remove(c.writer);
                    }
                },
                |summary| retired.translate_summary(&fns, summary).is_ok(),
            );
        }
        self.retired = Some(Box::new(retired));
        Ok(())
    }
}
