//! Which life of the peer we talk to, and the probes of incarnations in both
//! directions (see the tables in `peer`).

use crate::Incarnation;

/// Displacement notices sent after a peer's incarnation changed (see
/// [`Identity::Restarted`]).
pub(crate) const NOTICES_AFTER_RESTART: u8 = 4;

/// [`NOTICES_AFTER_RESTART`]; with the planted bug `OneDisplacementNotice`
/// (`crdt_core::sabotage`, sabotage builds only) a single notice, as before 12510a3.
fn notices_after_restart() -> u8 {
    #[cfg(feature = "sabotage")]
    if crdt_core::sabotage::active(crdt_core::sabotage::Bug::OneDisplacementNotice) {
        return 1;
    }
    NOTICES_AFTER_RESTART
}

/// The peer's incarnation as far as we know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Identity {
    /// Not heard from (and no checkpoint named it).
    Unknown,
    /// The peer's current incarnation.
    Known(Incarnation),
    /// The peer took a new incarnation `inc` after `previous`: `notices_left`
    /// displacement notices (one per tick, `1..=NOTICES_AFTER_RESTART`) still go to
    /// `previous`, so an older copy of it that fell silent (a second process behind the
    /// same address) learns that it was displaced even if it sends nothing stale.
    Restarted {
        inc: Incarnation,
        previous: Incarnation,
        notices_left: u8,
    },
}

impl Identity {
    /// The peer's current incarnation, once known.
    pub(crate) fn inc(self) -> Option<Incarnation> {
        match self {
            Self::Unknown => None,
            Self::Known(inc) | Self::Restarted { inc, .. } => Some(inc),
        }
    }

    /// The peer was heard from (or restarted) as `inc`.
    pub(crate) fn heard(inc: Incarnation, previous: Option<Incarnation>) -> Self {
        match previous {
            Some(previous) if previous != inc => Self::Restarted {
                inc,
                previous,
                notices_left: notices_after_restart(),
            },
            _ => Self::Known(inc),
        }
    }

    /// A tick: the incarnation the next displacement notice goes to, if one is due.
    pub(crate) fn tick(&mut self) -> Option<Incarnation> {
        let Self::Restarted {
            inc,
            previous,
            notices_left,
        } = *self
        else {
            return None;
        };
        *self = match notices_left {
            0 | 1 => Self::Known(inc),
            n => Self::Restarted {
                inc,
                previous,
                notices_left: n - 1,
            },
        };
        Some(previous)
    }
}

/// Our probe of the peer while we probe after a restore (or a displacement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeOut {
    /// A probe goes to the peer with the next poll (if we probe).
    Due,
    /// A probe went to the peer this round: the next goes after a tick.
    Sent,
    /// The peer answered the current probe: the newest incarnation of us it has seen.
    Answered(Option<Incarnation>),
}

impl ProbeOut {
    /// A tick: an unanswered probe is due again.
    pub(crate) fn tick(&mut self) {
        if *self == Self::Sent {
            *self = Self::Due;
        }
    }

    /// Takes the probe to send, if one is due.
    pub(crate) fn take_due(&mut self) -> bool {
        let due = *self == Self::Due;
        if due {
            *self = Self::Sent;
        }
        due
    }

    /// The peer's answer, once received.
    pub(crate) fn answer(self) -> Option<Option<Incarnation>> {
        match self {
            Self::Answered(known) => Some(known),
            Self::Due | Self::Sent => None,
        }
    }
}

/// An answer owed to the peer: to its probe, or a displacement notice (probe 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplyDue {
    /// The probe answered (0: a notice).
    pub(crate) probe: u32,
    /// The incarnation of the peer to address it to: the prober's, or the stale copy's.
    pub(crate) to: Option<Incarnation>,
}

#[cfg(test)]
mod tests {
    use super::{Identity, ProbeOut, NOTICES_AFTER_RESTART};
    use crate::Incarnation;

    #[test]
    fn a_restarted_peer_gets_its_notices_then_is_known() {
        let (old, new) = (Incarnation::new(1, 7), Incarnation::new(2, 9));
        let mut id = Identity::heard(new, Some(old));
        let notices: Vec<_> = core::iter::from_fn(|| id.tick()).collect();
        assert_eq!(notices, vec![old; usize::from(NOTICES_AFTER_RESTART)]);
        assert_eq!(id, Identity::Known(new));
        assert_eq!(Identity::heard(new, None), Identity::Known(new));
        assert_eq!(Identity::heard(new, Some(new)), Identity::Known(new));
    }

    #[test]
    fn a_probe_goes_once_per_round_until_answered() {
        let mut p = ProbeOut::Due;
        assert!(p.take_due());
        assert!(!p.take_due());
        p.tick();
        assert!(p.take_due());
        p = ProbeOut::Answered(None);
        p.tick();
        assert!(!p.take_due());
        assert_eq!(p.answer(), Some(None));
    }
}
