//! The real thing: one `crdt_sync::Leader` per node, messages handed over in-process.

use super::topology::Topology;
use super::workload::{nonce, replica, Op, Replicated};
use super::Protocol;
use crdt_sync::{Config, Leader};

/// How messages travel within a round.
pub trait Delivery {
    /// The row label.
    const NAME: &'static str;
    /// Whether every message produced while delivering is delivered in the same round
    /// (the round is longer than a round trip), or only those that were ready when the
    /// round began (a round trip takes a round).
    const UNTIL_QUIET: bool;
    /// Whether each leader makes its links outside the topology's breadth-first
    /// spanning tree lazy (`Leader::set_peer_lazy`): deltas are pushed along the tree only.
    const TREE: bool = false;
    /// The share of messages lost, in percent (drawn per message from a fixed seed; a
    /// lost message counts as sent).
    const LOSS_PERCENT: u64 = 0;
    /// Whether links prune and graft themselves (an oracle of Plumtree's rules, applied
    /// by the harness at once: a receiver that got two wholly redundant intervals in a
    /// row from a peer makes that peer's link to it lazy, unless it is its last eager
    /// in-link; a repair over a lazy link makes it eager again).
    const ADAPTIVE: bool = false;
}

/// As [`UntilQuiet`], with the adaptive tree's oracle ([`Delivery::ADAPTIVE`]).
#[derive(Debug)]
pub struct AdaptiveUntilQuiet;

impl Delivery for AdaptiveUntilQuiet {
    const NAME: &'static str = "crdt-sync `Leader`, links pruned when redundant (oracle)";
    const UNTIL_QUIET: bool = true;
    const ADAPTIVE: bool = true;
}

/// Every `poll_transmit` is delivered, and what it provokes (acknowledgements,
/// forwarded deltas) too, until no leader has anything to send; then every leader
/// ticks. This is a deployment whose tick period exceeds the network's round trip, as
/// in the crate's `multi_leader` example.
#[derive(Debug)]
pub struct UntilQuiet;

impl Delivery for UntilQuiet {
    const NAME: &'static str = "crdt-sync `Leader` (BP + RR)";
    const UNTIL_QUIET: bool = true;
}

/// One exchange per round: what every leader has to send when the round begins is
/// delivered; replies wait for the next round; then every leader ticks. A round trip
/// takes a whole tick (a sensitivity check, not the headline figure).
#[derive(Debug)]
pub struct OneHop;

impl Delivery for OneHop {
    const NAME: &'static str = "crdt-sync `Leader`, one hop per round (round trip = 1 tick)";
    const UNTIL_QUIET: bool = false;
}

/// As [`UntilQuiet`], with every link outside the topology's breadth-first spanning
/// tree lazy on both sides (`Leader::set_peer_lazy`): each write is pushed along the
/// tree only, and the other links carry digests (and any repair they show is needed).
/// On a tree topology this is [`UntilQuiet`].
#[derive(Debug)]
pub struct TreeUntilQuiet;

impl Delivery for TreeUntilQuiet {
    const NAME: &'static str =
        "crdt-sync `Leader`, pushing along a spanning tree (other links lazy)";
    const UNTIL_QUIET: bool = true;
    const TREE: bool = true;
}

/// As [`UntilQuiet`], with 10 % of all messages lost (each drawn independently from a
/// fixed seed): what retransmissions, gap repairs and digests cost when the network
/// drops messages, and how many rounds they take to converge.
#[derive(Debug)]
pub struct LossyUntilQuiet;

impl Delivery for LossyUntilQuiet {
    const NAME: &'static str = "crdt-sync `Leader` (BP + RR), 10% of messages lost";
    const UNTIL_QUIET: bool = true;
    const LOSS_PERCENT: u64 = 10;
}

/// The seed of the messages lost by [`LossyUntilQuiet`].
const LOSS_SEED: u64 = 0x0105_5EED;

/// A network of `crdt_sync::Leader`s.
pub struct Leaders<C: Replicated, D> {
    leaders: Vec<Leader<C>>,
    probe: bool,
    peaks: Vec<u64>,
    /// Bytes and messages by message kind (the byte after the 4-byte envelope).
    kinds: [(u64, u64); 16],
    /// Bytes and messages lost (of those counted in `kinds`).
    lost: (u64, u64),
    /// Draws which messages are lost.
    loss: crate::rng::SplitMix64,
    /// Adaptive: redundant intervals in a row per `(from, to)` link, and each leader's
    /// eager in-links (whether a link is lazy is the sender's `peer_is_lazy`).
    streak: std::collections::BTreeMap<(usize, usize), u32>,
    eager_in: Vec<usize>,
    _delivery: core::marker::PhantomData<D>,
}

impl<C: Replicated, D> core::fmt::Debug for Leaders<C, D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Leaders")
            .field("leaders", &self.leaders.len())
            .finish()
    }
}

impl<C: Replicated, D> Leaders<C, D> {
    fn note_peaks(&mut self) {
        if self.probe {
            for (peak, leader) in self.peaks.iter_mut().zip(&self.leaders) {
                *peak = (*peak).max(leader.metrics().buffered_bytes);
            }
        }
    }

    /// Leader `node`'s metrics.
    pub fn metrics(&self, node: usize) -> crdt_sync::Metrics {
        self.leaders[node].metrics()
    }
}

impl<C: Replicated, D: Delivery> Protocol<C> for Leaders<C, D> {
    const NAME: &'static str = D::NAME;

    fn new(topology: &Topology, probe: bool) -> Self {
        let tree = D::TREE.then(|| topology.spanning_tree());
        let leaders = topology
            .neighbours
            .iter()
            .enumerate()
            .map(|(node, neighbours)| {
                let mut leader =
                    Leader::with_nonce(replica(node), C::default(), Config::default(), nonce(node));
                for &peer in neighbours {
                    leader.add_peer(replica(peer)).expect("a valid peer");
                    if tree
                        .as_ref()
                        .is_some_and(|t| !t.neighbours[node].contains(&peer))
                    {
                        leader
                            .set_peer_lazy(replica(peer), true)
                            .expect("a peer just added");
                    }
                }
                leader
            })
            .collect();
        Self {
            leaders,
            probe,
            peaks: vec![0; topology.len()],
            kinds: [(0, 0); 16],
            lost: (0, 0),
            loss: crate::rng::SplitMix64::new(LOSS_SEED),
            streak: std::collections::BTreeMap::new(),
            eager_in: topology.neighbours.iter().map(Vec::len).collect(),
            _delivery: core::marker::PhantomData,
        }
    }

    fn update(&mut self, node: usize, op: &Op) {
        let _delta = self.leaders[node]
            .apply(C::op(op))
            .expect("a fresh leader can write");
    }

    fn sync_round(&mut self) -> u64 {
        self.note_peaks();
        let mut bytes = 0;
        loop {
            let mut outbox = Vec::new();
            for (from, leader) in self.leaders.iter_mut().enumerate() {
                while let Some(t) = leader.poll_transmit() {
                    outbox.push((from, t));
                }
            }
            if outbox.is_empty() {
                break;
            }
            for (from, t) in outbox {
                bytes += t.payload.len() as u64;
                // Envelope: magic (2 bytes), protocol version, highest version; then
                // the kind (from version 4 its high bit says an incarnation is elided).
                let kind = usize::from(t.payload.get(4).copied().unwrap_or(0) & 0x7f).min(15);
                self.kinds[kind].0 += t.payload.len() as u64;
                self.kinds[kind].1 += 1;
                if D::LOSS_PERCENT > 0 && self.loss.percent(D::LOSS_PERCENT) {
                    self.lost.0 += t.payload.len() as u64;
                    self.lost.1 += 1;
                    continue;
                }
                let to = (t.to.get() - 1) as usize;
                if !D::ADAPTIVE {
                    self.leaders[to]
                        .receive(replica(from), &t.payload)
                        .expect("no error between honest leaders");
                    continue;
                }
                let novel = self.leaders[to]
                    .receive_changes(replica(from), &t.payload)
                    .expect("no error between honest leaders");
                let link = (from, to);
                let lazy = self.leaders[from].peer_is_lazy(replica(to)) == Some(true);
                match kind {
                    1 | 7 if !lazy => {
                        let streak = self.streak.entry(link).or_insert(0);
                        *streak = if novel.is_bottom() { *streak + 1 } else { 0 };
                        if *streak >= 2 && self.eager_in[to] >= 2 {
                            self.eager_in[to] -= 1;
                            self.streak.remove(&link);
                            self.leaders[from]
                                .set_peer_lazy(replica(to), true)
                                .expect("a peer");
                        }
                    }
                    4 if lazy => {
                        self.eager_in[to] += 1;
                        self.leaders[from]
                            .set_peer_lazy(replica(to), false)
                            .expect("a peer");
                    }
                    _ => {}
                }
            }
            self.note_peaks();
            if !D::UNTIL_QUIET {
                break;
            }
        }
        for leader in &mut self.leaders {
            leader.tick();
        }
        bytes
    }

    fn state(&self, node: usize) -> &C {
        self.leaders[node].state()
    }

    fn buffer_peaks(&self) -> Vec<u64> {
        self.peaks.clone()
    }

    /// By `crdt-sync` message kind (`Delta` 1, `Ack` 2, `Digest` 3, `Repair` 4,
    /// `Probe` 5, `ProbeReply` 6, `Delta` with a piggybacked ack 7, `Fragment` 8,
    /// `FragmentAck` 9; other kind bytes are shown by number), then the messages lost
    /// among them.
    fn breakdown(&self) -> Vec<(&'static str, u64, u64)> {
        const NAMES: [&str; 16] = [
            "kind 0",
            "Delta",
            "Ack",
            "Digest",
            "Repair",
            "Probe",
            "ProbeReply",
            "Delta+Ack",
            "Fragment",
            "FragmentAck",
            "kind 10",
            "kind 11",
            "kind 12",
            "kind 13",
            "kind 14",
            "kind 15+",
        ];
        NAMES
            .iter()
            .zip(self.kinds)
            .filter(|(_, (_, n))| *n > 0)
            .map(|(name, (b, n))| (*name, b, n))
            .chain((self.lost.1 > 0).then_some(("lost of these", self.lost.0, self.lost.1)))
            .collect()
    }
}
