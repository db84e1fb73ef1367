//! What keeps a leader's work per message independent of its number of peers: which
//! peers may have something to send, and the lowest acknowledgement among them.
//!
//! A hub with hundreds of peers used to scan every peer on each
//! [`Leader::poll_transmit`](crate::Leader::poll_transmit) and on each
//! acknowledgement (for the lowest one, which bounds garbage collection): with a
//! message in and out per peer and round, that is work quadratic in peers per round.
//! Here instead:
//!
//! - `ready` holds every peer that may have output. `poll_transmit` serves them
//!   round-robin by id and drops a peer it finds with nothing to send (O(log peers)
//!   each). A peer becomes ready when a message from it was received, when it is added,
//!   and after a tick, a probe or a restore (every peer).
//! - `idle` holds the peers dropped from `ready` that new buffered deltas could give
//!   output (nothing of theirs is in flight that must be answered first): a new delta
//!   moves them back, and only them. A peer with an interval or repair in flight waits
//!   for its acknowledgement (a message from it) or the next tick.
//! - `acks` counts the peers at each acknowledged delta number (a multiset), so the
//!   lowest is found in O(log peers) after each acknowledgement.

use crdt_core::ReplicaId;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

/// The peers that may have output, and the multiset of their acknowledgements.
#[derive(Debug, Clone, Default)]
pub(crate) struct Schedule {
    /// Peers that may have something to send.
    ready: BTreeSet<ReplicaId>,
    /// Peers with nothing to send until a new delta is buffered (or they are woken).
    idle: BTreeSet<ReplicaId>,
    /// Every peer may have something to send (after a tick, probe or restore): `ready`
    /// is refilled from the peer map at the next poll.
    all: bool,
    /// How many peers have acknowledged exactly up to each delta number.
    acks: BTreeMap<u64, usize>,
    /// Peers examined by `poll_transmit` (each one a visit), for the tests' count of
    /// work per round.
    #[cfg(test)]
    pub(crate) visits: u64,
}

impl Schedule {
    /// Every peer may have output.
    pub(crate) fn wake_all(&mut self) {
        self.all = true;
        self.idle.clear();
    }

    /// `peer` may have output.
    pub(crate) fn wake(&mut self, peer: ReplicaId) {
        if !self.all {
            self.idle.remove(&peer);
            self.ready.insert(peer);
        }
    }

    /// A new delta was buffered: the peers waiting for one may have output.
    pub(crate) fn news(&mut self) {
        if !self.all {
            let idle = core::mem::take(&mut self.idle);
            self.ready.extend(idle);
        }
    }

    /// The next peer to serve after `cursor` (round-robin by id), refilling `ready`
    /// from `peers` first if every peer was woken.
    pub(crate) fn next(
        &mut self,
        cursor: Option<ReplicaId>,
        peers: impl Iterator<Item = ReplicaId>,
    ) -> Option<ReplicaId> {
        if core::mem::take(&mut self.all) {
            self.ready = peers.collect();
            self.idle.clear();
        }
        let after = cursor.and_then(|c| {
            self.ready
                .range((Bound::Excluded(c), Bound::Unbounded))
                .next()
                .copied()
        });
        let next = after.or_else(|| self.ready.first().copied());
        #[cfg(test)]
        if next.is_some() {
            self.visits += 1;
        }
        next
    }

    /// `peer` has nothing to send; `on_news`: a new buffered delta could change that.
    pub(crate) fn drained(&mut self, peer: ReplicaId, on_news: bool) {
        self.ready.remove(&peer);
        if on_news {
            self.idle.insert(peer);
        }
    }

    /// `peer` was removed (its acknowledgement was `acked`).
    pub(crate) fn remove(&mut self, peer: ReplicaId, acked: u64) {
        self.ready.remove(&peer);
        self.idle.remove(&peer);
        self.ack_removed(acked);
    }

    /// A peer with acknowledgement `acked` joined the multiset.
    pub(crate) fn ack_added(&mut self, acked: u64) {
        *self.acks.entry(acked).or_insert(0) += 1;
    }

    fn ack_removed(&mut self, acked: u64) {
        if let Some(n) = self.acks.get_mut(&acked) {
            *n -= 1;
            if *n == 0 {
                self.acks.remove(&acked);
            }
        } else {
            debug_assert!(false, "acknowledgement {acked} not counted");
        }
    }

    /// A peer's acknowledgement moved from `before` to `after`.
    pub(crate) fn ack_moved(&mut self, before: u64, after: u64) {
        if before != after {
            self.ack_removed(before);
            self.ack_added(after);
        }
    }

    /// Recounts the acknowledgements from scratch.
    pub(crate) fn recount_acks(&mut self, acks: impl Iterator<Item = u64>) {
        self.acks.clear();
        for a in acks {
            self.ack_added(a);
        }
    }

    /// The lowest acknowledgement of any peer (`None` without peers).
    pub(crate) fn min_ack(&self) -> Option<u64> {
        self.acks.keys().next().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::Schedule;
    use crdt_core::ReplicaId;

    fn r(n: u64) -> ReplicaId {
        ReplicaId::new(n)
    }

    #[test]
    fn the_lowest_acknowledgement_follows_every_move() {
        let mut s = Schedule::default();
        assert_eq!(s.min_ack(), None);
        for _ in 0..3 {
            s.ack_added(0);
        }
        s.ack_moved(0, 5);
        s.ack_moved(0, 7);
        assert_eq!(s.min_ack(), Some(0));
        s.ack_moved(0, 6);
        assert_eq!(s.min_ack(), Some(5));
        s.remove(r(1), 5);
        assert_eq!(s.min_ack(), Some(6));
        s.recount_acks([9, 3].into_iter());
        assert_eq!(s.min_ack(), Some(3));
    }

    #[test]
    fn peers_are_served_round_robin_and_idle_ones_wake_on_news() {
        let mut s = Schedule::default();
        s.wake_all();
        let peers = || [r(1), r(2), r(3)].into_iter();
        assert_eq!(s.next(None, peers()), Some(r(1)));
        assert_eq!(s.next(Some(r(1)), peers()), Some(r(2)));
        assert_eq!(s.next(Some(r(3)), peers()), Some(r(1)), "wraps around");
        s.drained(r(1), true);
        s.drained(r(2), false);
        assert_eq!(s.next(Some(r(3)), peers()), Some(r(3)));
        s.drained(r(3), true);
        assert_eq!(s.next(None, peers()), None);
        s.news();
        assert_eq!(s.next(None, peers()), Some(r(1)));
        assert_eq!(
            s.next(Some(r(1)), peers()),
            Some(r(3)),
            "2 waits for a message"
        );
        s.wake(r(2));
        assert_eq!(s.next(Some(r(1)), peers()), Some(r(2)));
    }

    /// The hub of a star where every spoke writes once per round: the peers its
    /// `poll_transmit` visits per round (each visit O(log peers)) grow linearly in
    /// peers. Before, every poll scanned up to every peer, and with one interval per
    /// write and peer the hub polled n² times per round: O(n³) visits.
    #[test]
    fn a_hub_visits_a_bounded_number_of_peers_per_spoke_and_round() {
        use crate::{Leader, Transmit};
        use crdt_core::{GCounter, GCounterOp};
        use std::collections::VecDeque;

        let mut per_spoke = Vec::new();
        for spokes in [64u64, 256] {
            let mut leaders: Vec<Leader<GCounter>> = (0..=spokes)
                .map(|i| {
                    Leader::with_nonce(r(i + 1), GCounter::new(), crate::Config::default(), i + 1)
                })
                .collect();
            for s in 1..=spokes {
                leaders[0].add_peer(r(s + 1)).expect("peer");
                leaders[s as usize].add_peer(r(1)).expect("peer");
            }
            let mut queue: VecDeque<(u64, Transmit)> = VecDeque::new();
            let drain = |leaders: &mut Vec<Leader<GCounter>>, q: &mut VecDeque<_>, node: u64| {
                while let Some(t) = leaders[node as usize].poll_transmit() {
                    q.push_back((node, t));
                }
            };
            let rounds = 6u64;
            for round in 0..=rounds {
                if round == 1 {
                    leaders[0].schedule.visits = 0; // after the first contacts
                }
                for l in &mut leaders[1..] {
                    l.apply(GCounterOp::Increment(1)).expect("write");
                }
                for l in &mut leaders {
                    l.tick();
                }
                for node in 0..=spokes {
                    drain(&mut leaders, &mut queue, node);
                }
                while let Some((from, t)) = queue.pop_front() {
                    let to = t.to.get() - 1;
                    leaders[to as usize]
                        .receive(r(from + 1), &t.payload)
                        .expect("honest");
                    drain(&mut leaders, &mut queue, to);
                }
            }
            assert!(leaders
                .iter()
                .all(|l| l.state().value() == (rounds + 1) * spokes));
            let visits = leaders[0].schedule.visits as f64 / rounds as f64;
            per_spoke.push(visits / spokes as f64);
            assert!(
                visits <= 16.0 * spokes as f64,
                "{spokes} spokes: {visits} peers visited per round"
            );
        }
        assert!(
            per_spoke[1] <= per_spoke[0] * 1.25,
            "visits per spoke and round grow with the number of spokes: {per_spoke:?}"
        );
    }
}
