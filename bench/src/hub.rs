//! Hundreds of peers at a hub (issue 15 item 7): one `crdt_sync::Leader` in the middle
//! of a star of spoke leaders, each spoke writing, the hub relaying every write to
//! every other spoke. The figures of interest are the hub's: CPU time, messages and
//! bytes per round as the number of spokes grows (binary `hub`).
//!
//! A round: spokes write, every leader ticks, and then messages are delivered one at
//! a time in the order they were sent (one FIFO queue for the whole network), each
//! receiver handing out what it has to send right after each message it received, as
//! an event-driven host does — until nothing is in flight.

use crate::timing::Stopwatch;
use crdt_core::{DeltaCrdt, GCounter, GCounterOp, OrSet, OrSetOp, ReplicaId};
use crdt_sync::{Config, Leader, Transmit};
use std::collections::VecDeque;
use std::time::Duration;

/// A replicated type the star writes: one op per write, distinct per `(spoke, n)`.
pub trait StarType: DeltaCrdt + Default {
    /// The label in tables.
    const LABEL: &'static str;
    /// The `n`-th write of spoke `spoke`.
    fn write(spoke: u64, n: u64) -> Self::Op;
}

impl StarType for GCounter {
    const LABEL: &'static str = "G-Counter (increment by 1)";
    fn write(_: u64, _: u64) -> GCounterOp {
        GCounterOp::Increment(1)
    }
}

impl StarType for OrSet<u64> {
    const LABEL: &'static str = "OR-Set of `u64` (insert a new element)";
    fn write(spoke: u64, n: u64) -> OrSetOp<u64> {
        OrSetOp::Insert((spoke << 32) | n)
    }
}

/// What the hub did in the rounds measured.
#[derive(Debug, Clone, Default)]
pub struct HubFigures {
    /// Rounds measured.
    pub rounds: u64,
    /// CPU time of the hub's calls (`receive`, `poll_transmit`, `tick`).
    pub cpu: Duration,
    /// Messages the hub sent.
    pub messages_sent: u64,
    /// Bytes the hub sent.
    pub bytes_sent: u64,
    /// Messages the hub received.
    pub messages_received: u64,
}

impl HubFigures {
    /// Hub CPU per round, in milliseconds.
    #[must_use]
    pub fn cpu_ms_per_round(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e3 / self.rounds.max(1) as f64
    }
    /// Messages the hub sent per round.
    #[must_use]
    pub fn messages_per_round(&self) -> f64 {
        self.messages_sent as f64 / self.rounds.max(1) as f64
    }
    /// Bytes the hub sent per round.
    #[must_use]
    pub fn bytes_per_round(&self) -> f64 {
        self.bytes_sent as f64 / self.rounds.max(1) as f64
    }
}

/// A hub (index 0, replica id 1) and `spokes` spokes (ids 2, 3, …), each a peer of the
/// hub only.
pub struct Star<C: StarType> {
    leaders: Vec<Leader<C>>,
    queue: VecDeque<(usize, Transmit)>,
    writes: u64,
    figures: HubFigures,
}

impl<C: StarType> core::fmt::Debug for Star<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Star")
            .field("spokes", &(self.leaders.len() - 1))
            .finish()
    }
}

fn rid(index: usize) -> ReplicaId {
    ReplicaId::new(index as u64 + 1)
}

impl<C: StarType> Star<C> {
    /// The star, all empty.
    ///
    /// # Panics
    /// If `spokes` exceeds the default peer limit (1,024).
    #[must_use]
    pub fn new(spokes: usize) -> Self {
        let mut hub = Leader::with_nonce(rid(0), C::default(), Config::default(), 1);
        let mut leaders = Vec::with_capacity(spokes + 1);
        for s in 1..=spokes {
            hub.add_peer(rid(s)).expect("within the peer limit");
        }
        leaders.push(hub);
        for s in 1..=spokes {
            let mut spoke =
                Leader::with_nonce(rid(s), C::default(), Config::default(), s as u64 + 1);
            spoke.add_peer(rid(0)).expect("one peer");
            leaders.push(spoke);
        }
        Self {
            leaders,
            queue: VecDeque::new(),
            writes: 0,
            figures: HubFigures::default(),
        }
    }

    /// The hub.
    #[must_use]
    pub fn hub(&self) -> &Leader<C> {
        &self.leaders[0]
    }

    /// Spoke `i` (1-based).
    #[must_use]
    pub fn spoke(&self, i: usize) -> &Leader<C> {
        &self.leaders[i]
    }

    /// The hub's figures since the last [`Star::reset_figures`].
    #[must_use]
    pub fn figures(&self) -> &HubFigures {
        &self.figures
    }

    /// Starts counting afresh.
    pub fn reset_figures(&mut self) {
        self.figures = HubFigures::default();
    }

    /// Hands out everything `node` has to send.
    fn drain(&mut self, node: usize) {
        let clock = (node == 0).then(Stopwatch::start);
        let mut sent = Vec::new();
        while let Some(t) = self.leaders[node].poll_transmit() {
            sent.push(t);
        }
        if let Some(clock) = clock {
            self.figures.cpu += clock.elapsed();
            self.figures.messages_sent += sent.len() as u64;
            self.figures.bytes_sent += sent.iter().map(|t| t.payload.len() as u64).sum::<u64>();
        }
        self.queue.extend(sent.into_iter().map(|t| (node, t)));
    }

    /// One round: `writers` spokes write once each (spokes taking turns, starting
    /// after the last one that wrote), every leader ticks, and every message is
    /// delivered (FIFO; each receiver drained after each message) until none is in
    /// flight.
    ///
    /// # Panics
    /// If a leader refuses a message or a write (they are all honest).
    pub fn round(&mut self, writers: usize) {
        let spokes = self.leaders.len() - 1;
        for _ in 0..writers.min(spokes) {
            let s = (self.writes % spokes as u64) as usize + 1;
            let n = self.writes / spokes as u64;
            self.leaders[s]
                .apply(C::write(s as u64, n))
                .expect("a spoke can write");
            self.writes += 1;
        }
        for (node, leader) in self.leaders.iter_mut().enumerate() {
            let clock = (node == 0).then(Stopwatch::start);
            leader.tick();
            if let Some(clock) = clock {
                self.figures.cpu += clock.elapsed();
            }
        }
        for node in 0..self.leaders.len() {
            self.drain(node);
        }
        while let Some((from, t)) = self.queue.pop_front() {
            let to = (t.to.get() - 1) as usize;
            let clock = (to == 0).then(Stopwatch::start);
            self.leaders[to]
                .receive(rid(from), &t.payload)
                .expect("no error between honest leaders");
            if let Some(clock) = clock {
                self.figures.cpu += clock.elapsed();
                self.figures.messages_received += 1;
            }
            self.drain(to);
        }
        self.figures.rounds += 1;
    }

    /// Whether every leader holds the same state.
    #[must_use]
    pub fn converged(&self) -> bool {
        self.leaders
            .iter()
            .all(|l| l.state() == self.leaders[0].state())
    }
}
