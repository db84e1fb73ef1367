//! This leader's stream of delta intervals to the peer, and the pace of its
//! retransmissions (see the tables in `peer`).

use crdt_core::VersionVector;

/// Where our stream of deltas to the peer stands. All numbers count this leader's
/// buffered deltas, and `acked <= sent <= examined` always holds.
#[derive(Debug, Clone)]
pub(crate) struct Stream {
    /// Our deltas `1..=acked` are merged at the peer.
    acked: u64,
    /// Our deltas up to `sent` went out (in intervals not yet presumed lost): the next
    /// interval starts after it, so deltas in flight are not sent again until a
    /// retransmission (`tick`) rewinds it to `acked`.
    sent: u64,
    /// Our deltas up to `examined` were sent or found to be nothing the peer lacks (its
    /// own, or covered by its token): they wait for the next interval or retransmission.
    examined: u64,
    /// The next interval goes out even if it carries nothing the peer lacks, so the
    /// peer acknowledges (and the buffer is collected) past deltas it never needed.
    flush: bool,
    /// The last interval sent was cut to fit a message: continue after its
    /// acknowledgement instead of waiting for the next tick.
    cut: bool,
    /// The token sent with the last complete interval, and that interval's end: once
    /// the peer acknowledges it, the peer is known to have that token.
    token_in_flight: Option<(u64, VersionVector)>,
    /// An interval went out behind one in flight (pipelined) since the last tick:
    /// until everything in flight is acknowledged or the next tick, deltas buffered
    /// meanwhile wait, coalesced into the next interval.
    pipelined: bool,
}

impl Stream {
    pub(crate) fn new() -> Self {
        Self {
            acked: 0,
            sent: 0,
            examined: 0,
            flush: false,
            cut: false,
            token_in_flight: None,
            pipelined: false,
        }
    }

    pub(crate) fn acked(&self) -> u64 {
        self.acked
    }

    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    pub(crate) fn examined(&self) -> u64 {
        self.examined
    }

    /// Whether the next interval goes out even if it carries nothing the peer lacks.
    pub(crate) fn flush_due(&self) -> bool {
        self.flush
    }

    /// Nothing is in flight: everything sent was acknowledged.
    pub(crate) fn settled(&self) -> bool {
        self.sent == self.acked
    }

    /// Whether another interval may follow those in flight now: once per tick (see
    /// `pipelined`).
    pub(crate) fn may_pipeline(&self) -> bool {
        !self.pipelined
    }

    /// A tick: one more interval may be pipelined.
    pub(crate) fn tick(&mut self) {
        self.pipelined = false;
    }

    fn check(&self) {
        debug_assert!(
            self.acked <= self.sent && self.sent <= self.examined,
            "stream order broken: acked {} sent {} examined {}",
            self.acked,
            self.sent,
            self.examined
        );
    }

    /// A retransmission: everything not acknowledged goes out again, even if empty.
    pub(crate) fn rewind(&mut self) {
        self.sent = self.acked;
        self.examined = self.acked;
        self.flush = true;
    }

    /// A lazy peer is owed none of our deltas up to `head`: the stream stands there as if
    /// it had acknowledged them (nothing in flight, nothing to resend), so it never
    /// holds back garbage collection. Returns the acknowledgement it replaced.
    pub(crate) fn stand_at(&mut self, head: u64) -> u64 {
        let before = self.acked;
        self.acked = self.acked.max(head);
        self.sent = self.acked;
        self.examined = self.acked;
        self.flush = false;
        self.cut = false;
        self.token_in_flight = None;
        self.check();
        before
    }

    /// Only deltas the peer never needed are unacknowledged and nothing is in flight:
    /// an empty interval goes out so it acknowledges them.
    pub(crate) fn flush_skipped(&mut self) {
        debug_assert!(self.settled(), "flushing past deltas still in flight");
        self.examined = self.acked;
        self.flush = true;
    }

    /// Everything up to `head` is covered without an interval: a repair went out (or is
    /// due) that brings all of it.
    pub(crate) fn covered_by_repair(&mut self, head: u64) {
        self.sent = head;
        self.examined = head;
        self.check();
    }

    /// Deltas up to `head` hold nothing the peer lacks: they ride along with the next
    /// interval, acknowledgement or retransmission.
    pub(crate) fn skipped_to(&mut self, head: u64) {
        self.examined = head;
        self.check();
    }

    /// The interval after `sent` up to `end` went out; `cut` short of `head` (the rest
    /// follows its acknowledgement), or complete and carrying `token`.
    pub(crate) fn interval_sent(&mut self, end: u64, head: u64, token: Option<VersionVector>) {
        let cut = token.is_none();
        debug_assert_eq!(cut, end < head, "a cut interval carries no token");
        self.flush = false;
        self.cut = cut;
        if !self.settled() {
            self.pipelined = true;
        }
        self.sent = end;
        self.examined = if cut { head } else { end };
        // A cut interval carries no token: one still in flight from an earlier
        // interval is no longer what an acknowledgement confirms (that interval may be
        // the lost one this retransmits), so it is sent again with the next whole one.
        // Keeping it let an acknowledgement of the cut interval mark as known a token
        // the peer never received, and its entries were never sent again (found by the
        // review of replica retirement: a member's token lagged for good, so no writer
        // it lagged on could be retired, and `covers` never answered there).
        self.token_in_flight = token.map(|token| (end, token));
        self.check();
    }

    /// The peer acknowledged our deltas up to `seq`. Returns whether that is progress
    /// and the token it is now known to have, if the acknowledgement reached the end
    /// of the interval that carried it.
    pub(crate) fn acknowledged(&mut self, seq: u64) -> (bool, Option<VersionVector>) {
        let progress = seq > self.acked;
        if progress && core::mem::take(&mut self.cut) {
            // Continue after the cut interval at once.
            self.examined = self.sent;
        }
        self.acked = self.acked.max(seq);
        let token = match self.token_in_flight.take() {
            Some((end, token)) if seq >= end => Some(token),
            other => {
                self.token_in_flight = other;
                None
            }
        };
        self.sent = self.sent.max(self.acked);
        self.examined = self.examined.max(self.sent);
        self.check();
        (progress, token)
    }
}

/// Ticks since the last retransmission or progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Since {
    /// The peer acknowledged something new since the last tick.
    Progress,
    /// This many ticks passed without progress since the last retransmission.
    Idle(u32),
}

/// The pace of retransmissions: after 1 tick without progress, doubling while nothing
/// is acknowledged (an unreachable peer is not flooded), back to 1 on progress.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    /// Ticks to wait between retransmissions: 1 ..= `BACKOFF_MAX_TICKS`.
    wait: u32,
    since: Since,
}

/// The longest wait between retransmissions, in ticks.
pub(crate) const BACKOFF_MAX_TICKS: u32 = 8;

impl Backoff {
    pub(crate) fn new() -> Self {
        Self {
            wait: 1,
            since: Since::Idle(0),
        }
    }

    /// Whether the peer is responsive (no retransmission waited for it in vain).
    pub(crate) fn prompt(&self) -> bool {
        self.wait == 1
    }

    /// Counts a tick; returns whether unacknowledged messages are due again: never
    /// after a tick in which the peer acknowledged something new (what is in flight
    /// is then presumably on its way), else after 1, 2, 4, up to 8 idle ticks.
    pub(crate) fn retransmit_due(&mut self) -> bool {
        let idle = match self.since {
            Since::Progress => {
                self.since = Since::Idle(0);
                return false;
            }
            Since::Idle(n) => n + 1,
        };
        if idle < self.wait {
            self.since = Since::Idle(idle);
            return false;
        }
        self.since = Since::Idle(0);
        self.wait = (self.wait * 2).min(BACKOFF_MAX_TICKS);
        true
    }

    /// The peer acknowledged something new: retransmit promptly again.
    pub(crate) fn progressed(&mut self) {
        self.wait = 1;
        self.since = Since::Progress;
    }
}

#[cfg(test)]
mod tests {
    use super::{Backoff, Stream, BACKOFF_MAX_TICKS};
    use crdt_core::VersionVector;

    #[test]
    fn backoff_doubles_without_progress_and_resets_on_progress() {
        let mut b = Backoff::new();
        let due: Vec<bool> = (0..16).map(|_| b.retransmit_due()).collect();
        let at: Vec<usize> = (0..16).filter(|&i| due[i]).collect();
        assert_eq!(at, [0, 2, 6, 14]);
        assert_eq!(b.wait, BACKOFF_MAX_TICKS);
        b.progressed();
        assert!(b.prompt());
        assert!(!b.retransmit_due(), "not right after progress");
        assert!(b.retransmit_due());
    }

    #[test]
    fn a_cut_interval_continues_after_its_acknowledgement() {
        let mut s = Stream::new();
        s.interval_sent(3, 10, None);
        assert_eq!((s.sent(), s.examined()), (3, 10));
        let (progress, token) = s.acknowledged(3);
        assert!(progress && token.is_none());
        assert_eq!((s.acked(), s.sent(), s.examined()), (3, 3, 3));
        s.interval_sent(10, 10, Some(VersionVector::new()));
        assert_eq!(s.acknowledged(9), (true, None));
        assert_eq!(s.acknowledged(10), (true, Some(VersionVector::new())));
        assert!(s.settled());
    }

    #[test]
    fn a_rewind_resends_from_the_acknowledged_delta() {
        let mut s = Stream::new();
        s.interval_sent(4, 4, Some(VersionVector::new()));
        s.acknowledged(2);
        s.rewind();
        assert_eq!((s.acked(), s.sent(), s.examined()), (2, 2, 2));
        assert!(s.flush_due());
    }

    /// Found by the review of replica retirement (2026-12-05): the interval carrying
    /// a token is lost, its retransmission is cut (more deltas arrived meanwhile), and
    /// the acknowledgement of the cut part reaches past the lost interval's end. That
    /// acknowledgement must not count as the token delivered: the cut interval carried
    /// none, so the token goes out again with the next whole interval.
    #[test]
    fn a_cut_retransmission_does_not_deliver_the_token_of_a_lost_interval() {
        let mut s = Stream::new();
        let mut token = VersionVector::new();
        token.advance(crdt_core::ReplicaId::new(7), 3);
        s.interval_sent(3, 3, Some(token.clone()));
        // Lost; three more deltas; the retransmission is cut at 5 of 6.
        s.rewind();
        s.interval_sent(5, 6, None);
        assert_eq!(
            s.acknowledged(5),
            (true, None),
            "the token was not delivered"
        );
        s.interval_sent(6, 6, Some(token.clone()));
        assert_eq!(s.acknowledged(6), (true, Some(token)));
    }

    #[test]
    #[should_panic(expected = "a cut interval carries no token")]
    #[cfg(debug_assertions)]
    fn a_complete_interval_must_carry_its_token() {
        Stream::new().interval_sent(3, 10, Some(VersionVector::new()));
    }

    #[test]
    #[should_panic(expected = "stream order broken")]
    #[cfg(debug_assertions)]
    fn the_examined_mark_never_falls_behind_what_was_sent() {
        let mut s = Stream::new();
        s.interval_sent(5, 5, Some(VersionVector::new()));
        s.skipped_to(4);
    }
}
