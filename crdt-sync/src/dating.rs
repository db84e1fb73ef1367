//! Receiving content across retirement epochs (`docs/RETIREMENT.md` §5.3): content
//! dates itself (see the `retired` module), so messages carry no epoch.

use crate::message::Message;
#[cfg(feature = "retirement")]
use crate::retired::Untranslatable;
use crate::retired::{Dating, Retired};
use crate::{Leader, SyncError};
#[cfg(feature = "retirement")]
use crdt_core::RetireFns;
use crdt_core::{DeltaCrdt, ReplicaId, VersionVector};

/// The index of a leader that retired nothing: no allocation.
static NOTHING_RETIRED: Retired = Retired::EMPTY;

impl<C: DeltaCrdt> Leader<C> {
    /// Brings a peer's message to this leader's epoch before anything of it is
    /// checked or merged. Content computed before a commit of ours is translated
    /// (older content that holds more of a retired writer than its record is refused:
    /// [`SyncError::RetiredWriter`]); a delta or repair computed after an epoch we
    /// have not committed is not merged (`None`, or only the acknowledgement a delta
    /// carries): its sender retransmits it, and it merges once we have committed.
    /// A digest of a later epoch is taken as it is: its summary lacks the writers we
    /// have not retired yet, which costs at most a redundant repair of them, which
    /// the peer translates. A repair meant for another life of ours is passed on
    /// untouched (it is not merged; it may tell us we were displaced).
    pub(crate) fn bring_to_epoch(
        &mut self,
        from: ReplicaId,
        msg: Message<C>,
    ) -> Result<Option<Message<C>>, SyncError> {
        let retired = self.retired.as_deref().unwrap_or(&NOTHING_RETIRED);
        let collapse = self.config.collapse;
        Ok(Some(match msg {
            Message::Delta {
                inc,
                start,
                end,
                ack,
                mut token,
                mut payload,
            } => {
                if retired.date(payload.collapse_marks(collapse)) == Dating::Ahead {
                    self.metrics.ahead_of_epoch += 1;
                    // Its acknowledgement still counts, on the terms it has riding on
                    // an interval: one beyond what we sent is only stale.
                    let ack = ack.filter(|(for_inc, seq)| {
                        let fits = self.check_ack(from, *for_inc, *seq).is_ok();
                        if !fits {
                            self.metrics.stale_messages += 1;
                        }
                        fits
                    });
                    return Ok(ack.map(|(for_inc, seq)| Message::Ack { inc, for_inc, seq }));
                }
                self.translate_payload(from, &mut payload, &mut token)?;
                Message::Delta {
                    inc,
                    start,
                    end,
                    ack,
                    token,
                    payload,
                }
            }
            Message::Repair {
                inc,
                for_inc,
                seq,
                mut token,
                mut payload,
            } if for_inc == self.incarnation => {
                if retired.date(payload.collapse_marks(collapse)) == Dating::Ahead {
                    self.metrics.ahead_of_epoch += 1;
                    return Ok(None);
                }
                self.translate_payload(from, &mut payload, &mut token)?;
                Message::Repair {
                    inc,
                    for_inc,
                    seq,
                    token,
                    payload,
                }
            }
            Message::Digest {
                inc,
                seq,
                flags,
                mut token,
                mut summary,
                hash,
            } => {
                let named = self.translate_digest(from, &mut summary, &mut token)?;
                Message::Digest {
                    inc,
                    seq,
                    flags,
                    token,
                    summary,
                    // The peer hashed its state before renaming: not comparable.
                    hash: if named { None } else { hash },
                }
            }
            other => other,
        }))
    }

    /// Translates an older payload and its token (see [`Leader::bring_to_epoch`]).
    #[cfg(feature = "retirement")]
    fn translate_payload(
        &mut self,
        from: ReplicaId,
        payload: &mut C,
        token: &mut VersionVector,
    ) -> Result<(), SyncError> {
        let (Some(retired), Some(fns)) = (self.retired.as_deref(), C::retirement()) else {
            return Ok(());
        };
        let over = translate(retired, &fns, payload, token)
            .map_err(|e| refusal(from, retired, e, &mut self.metrics))?;
        self.metrics.retired_writes += over;
        Ok(())
    }

    /// Translates an older digest's summary and token; whether it named a retired
    /// writer.
    #[cfg(feature = "retirement")]
    fn translate_digest(
        &mut self,
        from: ReplicaId,
        summary: &mut C::Summary,
        token: &mut VersionVector,
    ) -> Result<bool, SyncError> {
        let (Some(retired), Some(fns)) = (self.retired.as_deref(), C::retirement()) else {
            return Ok(false);
        };
        let named = retired
            .translate_summary(&fns, summary)
            .map_err(|e| refusal(from, retired, e, &mut self.metrics))?;
        let (in_token, over) = retired.translate_token(token);
        self.metrics.retired_writes += over;
        Ok(named || in_token)
    }

    /// Without the `retirement` feature no leader retires anything, so nothing is
    /// older than its epoch.
    #[cfg(not(feature = "retirement"))]
    #[allow(clippy::unnecessary_wraps, clippy::unused_self)]
    fn translate_payload(
        &mut self,
        _from: ReplicaId,
        _payload: &mut C,
        _token: &mut VersionVector,
    ) -> Result<(), SyncError> {
        Ok(())
    }

    #[cfg(not(feature = "retirement"))]
    #[allow(clippy::unnecessary_wraps, clippy::unused_self)]
    fn translate_digest(
        &mut self,
        _from: ReplicaId,
        _summary: &mut C::Summary,
        _token: &mut VersionVector,
    ) -> Result<bool, SyncError> {
        Ok(false)
    }
}

/// The error for content that cannot be brought to this epoch.
#[cfg(feature = "retirement")]
fn refusal(
    from: ReplicaId,
    retired: &Retired,
    e: Untranslatable,
    metrics: &mut crate::Metrics,
) -> SyncError {
    match e {
        Untranslatable::Fenced(writer) => {
            metrics.retired_writes += 1;
            SyncError::RetiredWriter {
                peer: from,
                writer,
                epoch: retired.get(writer).map_or(0, |r| r.epoch),
            }
        }
        Untranslatable::Malformed => SyncError::Protocol {
            peer: from,
            reason: "its content holds collapse marks that contradict the retired writers it names (a collapse range it already has, or a contribution counted twice)",
        },
    }
}

/// Translates a payload and its token by the records of the retired writers they name;
/// returns how many token entries claimed writes beyond a record (dropped).
#[cfg(feature = "retirement")]
fn translate<C: DeltaCrdt>(
    retired: &Retired,
    fns: &RetireFns<C>,
    payload: &mut C,
    token: &mut VersionVector,
) -> Result<u64, Untranslatable> {
    retired.translate(fns, payload)?;
    Ok(retired.translate_token(token).1)
}

impl<C: DeltaCrdt> Leader<C> {
    /// Brings a handed-over checkpoint's state and token (of a leader that retired
    /// `theirs`) to this leader's epoch, as [`Leader::bring_to_epoch`] does a repair.
    ///
    /// # Errors
    /// [`SyncError::RetirementRefused`] if it retired more than this leader;
    /// [`SyncError::RetiredWriter`] if it holds writes of a retired writer beyond its
    /// record.
    pub(crate) fn bring_checkpoint_to_epoch(
        &mut self,
        state: &mut C,
        token: &mut VersionVector,
        theirs: Option<&Retired>,
    ) -> Result<(), SyncError> {
        let retired = self.retired.as_deref().unwrap_or(&NOTHING_RETIRED);
        let ahead = theirs.is_some_and(|t| t.epoch() > retired.epoch())
            || retired.date(state.collapse_marks(self.config.collapse)) == Dating::Ahead;
        if ahead {
            return Err(SyncError::RetirementRefused {
                epoch: theirs.map_or(0, Retired::epoch),
                reason: "the checkpoint handed over is of a retirement epoch this leader has not committed: commit it first",
            });
        }
        let id = self.id;
        self.translate_payload(id, state, token)
    }
}
