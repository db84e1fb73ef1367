//! The peer's stream into this leader: which of its deltas we hold, whether we may
//! accept its intervals, and what we owe it in return (see the tables in `peer`).

/// Whether we may apply the peer's intervals, and its deltas merged here so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accept {
    /// Nothing received yet: only an interval starting at 1 from the peer's first
    /// incarnation builds on nothing and may be applied.
    Unknown,
    /// We could not apply the peer's intervals (restart, gap, late join) and wait for a
    /// repair from it. Intervals that connect to `received` (if any) still apply.
    AwaitingRepair {
        /// The peer's deltas `1..=received` are merged here, if we know a prefix.
        received: Option<u64>,
    },
    /// The peer's deltas `1..=received` are merged here; intervals that connect apply.
    Accepting {
        /// The last delta of the peer merged here.
        received: u64,
    },
}

/// Gaps in the peer's stream across ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gap {
    /// No gap since the last interval applied.
    None,
    /// An interval could not be applied (a gap) since the last tick.
    Seen,
    /// A gap was seen before the last tick and nothing was applied since: the next gap
    /// asks for a repair (the gap is not closing by itself, e.g. another copy of us
    /// acknowledged in our place).
    Outlasted,
}

/// The inbound side of one peer.
#[derive(Debug, Clone)]
pub(crate) struct Inbound {
    accept: Accept,
    gap: Gap,
    /// An acknowledgement of `received` is due.
    ack_due: bool,
    /// A repair was requested from the peer this tick (at most one per tick).
    repair_asked: bool,
}

impl Inbound {
    pub(crate) fn new() -> Self {
        Self {
            accept: Accept::Unknown,
            gap: Gap::None,
            ack_due: false,
            repair_asked: false,
        }
    }

    pub(crate) fn accept(&self) -> Accept {
        self.accept
    }

    /// The peer's deltas `1..=received` are merged here (`None`: no known prefix).
    pub(crate) fn received(&self) -> Option<u64> {
        match self.accept {
            Accept::Unknown => None,
            Accept::AwaitingRepair { received } => received,
            Accept::Accepting { received } => Some(received),
        }
    }

    pub(crate) fn awaiting_repair(&self) -> bool {
        matches!(self.accept, Accept::AwaitingRepair { .. })
    }

    /// A tick: one more repair request may go out; a gap seen before it has outlasted it.
    pub(crate) fn tick(&mut self) {
        self.repair_asked = false;
        if self.gap == Gap::Seen {
            self.gap = Gap::Outlasted;
        }
    }

    /// We need a repair from the peer. Returns whether to ask for it now (at most once
    /// per tick: a burst of out-of-order intervals makes one request, not many).
    pub(crate) fn need_repair(&mut self) -> bool {
        self.await_repair();
        !core::mem::replace(&mut self.repair_asked, true)
    }

    /// We wait for a repair from the peer (asked for by the caller: after a restore).
    pub(crate) fn await_repair(&mut self) {
        self.accept = Accept::AwaitingRepair {
            received: self.received(),
        };
    }

    /// An interval that does not connect to `received`. Returns whether the gap
    /// outlasted a tick (then a repair is asked for).
    pub(crate) fn gap(&mut self) -> bool {
        self.ack_due = true;
        let outlasted = self.gap == Gap::Outlasted;
        if self.gap == Gap::None {
            self.gap = Gap::Seen;
        }
        outlasted
    }

    /// An interval that connects, ending at `end`: `received` becomes `end` if that is
    /// more (the interval is applied then: returns `true`), and an acknowledgement is
    /// due either way. Waiting for a repair goes on (the interval does not end it).
    pub(crate) fn connected(&mut self, received: u64, end: u64) -> bool {
        debug_assert!(self.received().map_or(true, |r| r == received));
        self.ack_due = true;
        let applied = end > received;
        let received = received.max(end);
        self.accept = match self.accept {
            Accept::AwaitingRepair { .. } => Accept::AwaitingRepair {
                received: Some(received),
            },
            Accept::Unknown | Accept::Accepting { .. } => Accept::Accepting { received },
        };
        if applied {
            self.gap = Gap::None;
        }
        applied
    }

    /// A repair up to the peer's delta `seq` arrived: we accept its intervals again.
    pub(crate) fn repaired(&mut self, seq: u64) {
        self.accept = Accept::Accepting {
            received: self.received().unwrap_or(0).max(seq),
        };
        self.ack_due = true;
    }

    /// The acknowledgement due, if any: the last delta of the peer merged here.
    pub(crate) fn ack_due(&self) -> Option<u64> {
        self.received().filter(|_| self.ack_due)
    }

    /// The acknowledgement went out.
    pub(crate) fn ack_sent(&mut self) {
        self.ack_due = false;
    }
}

#[cfg(test)]
mod tests {
    use super::{Accept, Gap, Inbound};

    #[test]
    fn a_repair_request_goes_out_once_per_tick_and_keeps_the_prefix() {
        let mut i = Inbound::new();
        assert!(i.connected(0, 3));
        assert_eq!(i.accept(), Accept::Accepting { received: 3 });
        assert!(i.need_repair());
        assert!(!i.need_repair(), "a second request in one tick");
        assert_eq!(i.accept(), Accept::AwaitingRepair { received: Some(3) });
        // Intervals that connect still apply while waiting.
        assert!(i.connected(3, 5));
        assert_eq!(i.accept(), Accept::AwaitingRepair { received: Some(5) });
        i.tick();
        assert!(i.need_repair());
        i.repaired(4);
        assert_eq!(i.accept(), Accept::Accepting { received: 5 });
    }

    #[test]
    fn a_gap_asks_for_repair_only_after_outlasting_a_tick() {
        let mut i = Inbound::new();
        assert!(!i.gap());
        assert!(!i.gap());
        i.tick();
        assert_eq!(i.gap, Gap::Outlasted);
        assert!(i.gap());
        assert!(i.connected(0, 1));
        assert_eq!(i.gap, Gap::None);
        assert!(!i.gap());
    }

    #[test]
    fn no_acknowledgement_without_a_known_prefix() {
        let mut i = Inbound::new();
        i.gap();
        assert_eq!(i.ack_due(), None, "owed, but nothing to acknowledge");
        assert!(!i.connected(0, 0));
        assert_eq!(i.ack_due(), Some(0));
        i.ack_sent();
        assert_eq!(i.ack_due(), None);
    }

    #[test]
    #[should_panic(expected = "received")]
    #[cfg(debug_assertions)]
    fn an_interval_must_connect_to_what_was_received() {
        let mut i = Inbound::new();
        i.connected(0, 4);
        i.connected(2, 6);
    }
}
