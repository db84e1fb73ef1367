//! Repairs this leader sends the peer (see the tables in `peer`).

/// The repair of the peer from its summary: at most one in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RepairOut {
    /// No repair due or in flight.
    Idle,
    /// A repair is due (sent once the peer's summary is known).
    Due,
    /// A repair went out and was presumed lost: it is due again, and an
    /// acknowledgement of `first_head` (the buffer head of its first copy) or later
    /// will settle the copy that goes out next.
    Resend {
        /// The buffer head of the first copy.
        first_head: u64,
    },
    /// A repair is in flight until an acknowledgement reaches `first_head`, the buffer
    /// head of its first copy (resent copies carry newer heads): a round trip longer
    /// than a tick does not make every copy outdated before it is acknowledged.
    InFlight {
        /// The buffer head of the first copy.
        first_head: u64,
    },
}

/// What this leader owes the peer by way of repairs.
#[derive(Debug, Clone)]
pub(crate) struct Repair {
    out: RepairOut,
    /// Our whole state is due (the peer's content differs at an equal summary); it goes
    /// out as the next repair, whatever its summary.
    whole_state_due: bool,
    /// A divergence with the peer was acted on this tick (at most once per tick).
    divergence_handled: bool,
    /// We asked for the peer's digest this round (to repair it).
    summary_asked: bool,
}

impl Repair {
    pub(crate) fn new() -> Self {
        Self {
            out: RepairOut::Idle,
            whole_state_due: false,
            divergence_handled: false,
            summary_asked: false,
        }
    }

    pub(crate) fn state(&self) -> RepairOut {
        self.out
    }

    pub(crate) fn in_flight(&self) -> bool {
        matches!(self.out, RepairOut::InFlight { .. })
    }

    /// A repair from the peer's summary is due (not counting the whole state).
    pub(crate) fn due(&self) -> bool {
        matches!(self.out, RepairOut::Due | RepairOut::Resend { .. })
    }

    /// A repair is wanted: ignored while one is in flight (it answers the request, or
    /// its retransmission does).
    pub(crate) fn request(&mut self) {
        if self.out == RepairOut::Idle {
            self.out = RepairOut::Due;
        }
    }

    /// Our whole state is wanted (sent as the next repair once none is in flight).
    pub(crate) fn request_whole_state(&mut self) {
        self.whole_state_due = true;
    }

    /// A divergence was found: act on it unless one was this tick. Returns whether to.
    pub(crate) fn divergence(&mut self) -> bool {
        !core::mem::replace(&mut self.divergence_handled, true)
    }

    /// Whether to ask for the peer's summary (a repair is due and we lack it): once
    /// per round.
    pub(crate) fn ask_summary(&mut self, summary_known: bool) -> bool {
        if self.due() && !summary_known && !self.summary_asked {
            self.summary_asked = true;
            return true;
        }
        false
    }

    /// What the next repair must be, if one may go out now: `Some(true)` for our whole
    /// state, `Some(false)` for what the peer's summary lacks.
    pub(crate) fn ready(&self) -> Option<bool> {
        match self.out {
            RepairOut::InFlight { .. } => None,
            _ if self.whole_state_due => Some(true),
            RepairOut::Due | RepairOut::Resend { .. } => Some(false),
            RepairOut::Idle => None,
        }
    }

    /// The next repair went out at buffer head `head`.
    pub(crate) fn sent(&mut self, head: u64) {
        debug_assert!(self.ready().is_some(), "a repair sent that was not due");
        let first_head = match self.out {
            RepairOut::Resend { first_head } => first_head.min(head),
            _ => head,
        };
        // Planted bug `ResentRepairNeverSettles` (sabotage builds only): each copy
        // waits for an acknowledgement of its own (newest) head, as before e4eae2b.
        #[cfg(feature = "sabotage")]
        let first_head =
            match crdt_core::sabotage::active(crdt_core::sabotage::Bug::ResentRepairNeverSettles) {
                true => head,
                false => first_head,
            };
        self.out = RepairOut::InFlight { first_head };
        self.whole_state_due = false;
    }

    /// The peer acknowledged our deltas up to `seq`: a repair in flight is settled once
    /// that reaches its first copy's head.
    pub(crate) fn acknowledged(&mut self, seq: u64) {
        if let RepairOut::InFlight { first_head } = self.out {
            if seq >= first_head {
                self.out = RepairOut::Idle;
            }
        }
    }

    /// A retransmission: a repair in flight is presumed lost and due again; the
    /// summary may be asked for again.
    pub(crate) fn retransmit(&mut self) {
        self.summary_asked = false;
        if let RepairOut::InFlight { first_head } = self.out {
            self.out = RepairOut::Resend { first_head };
        }
    }

    /// A tick: a divergence may be acted on again.
    pub(crate) fn tick(&mut self) {
        self.divergence_handled = false;
    }
}

#[cfg(test)]
mod tests {
    use super::{Repair, RepairOut};

    #[test]
    fn a_resent_repair_is_settled_by_an_acknowledgement_of_its_first_copy() {
        let mut r = Repair::new();
        r.request();
        assert_eq!(r.ready(), Some(false));
        r.sent(5);
        assert_eq!(r.state(), RepairOut::InFlight { first_head: 5 });
        r.request();
        assert!(
            r.in_flight(),
            "a request while one is in flight is answered by it"
        );
        r.retransmit();
        assert_eq!(r.state(), RepairOut::Resend { first_head: 5 });
        r.sent(9);
        assert_eq!(r.state(), RepairOut::InFlight { first_head: 5 });
        r.acknowledged(4);
        assert!(r.in_flight());
        r.acknowledged(5);
        assert_eq!(r.state(), RepairOut::Idle);
    }

    #[test]
    fn the_whole_state_waits_for_the_repair_in_flight() {
        let mut r = Repair::new();
        assert_eq!(r.ready(), None);
        r.request_whole_state();
        assert_eq!(r.ready(), Some(true));
        r.sent(1);
        r.request_whole_state();
        assert_eq!(r.ready(), None);
        r.acknowledged(1);
        assert_eq!(r.ready(), Some(true));
        assert!(!r.due(), "the whole state is not a repair from the summary");
    }

    #[test]
    fn the_summary_is_asked_once_per_round_and_divergence_once_per_tick() {
        let mut r = Repair::new();
        assert!(!r.ask_summary(false), "no repair due");
        r.request();
        assert!(!r.ask_summary(true));
        assert!(r.ask_summary(false));
        assert!(!r.ask_summary(false));
        r.retransmit();
        assert!(r.ask_summary(false));
        assert!(r.divergence());
        assert!(!r.divergence());
        r.tick();
        assert!(r.divergence());
    }

    #[test]
    #[should_panic(expected = "not due")]
    #[cfg(debug_assertions)]
    fn a_second_repair_is_not_sent_while_one_is_in_flight() {
        let mut r = Repair::new();
        r.request();
        r.sent(1);
        r.sent(2);
    }
}
