//! The fault model: what can go wrong, and the pieces that make it go wrong.
//!
//! | fault | how | during |
//! |---|---|---|
//! | loss | a message is dropped | safety |
//! | duplication | a message is delivered twice, each copy with its own delay | safety |
//! | reordering / delay | each message carries a delivery time: base latency plus jitter, sometimes a long extra delay | safety (liveness delivers in random order) |
//! | corruption | bits flipped or the payload truncated (see [`corruption`]) | safety |
//! | partitions | symmetric (both directions) or asymmetric (one direction) cuts between a random group and the rest; they heal after a while | safety |
//! | crash | the leader's state is destroyed; after a downtime it restarts from its last snapshot with `Leader::restore_with_nonce` (a nonce from the seed's generator, never the OS), probes its peers, and writes once the operator persisted a snapshot of its new incarnation | safety |
//! | amnesia | the same, but from an older snapshot under the same id | safety |
//! | crash loop (`flap`) | a leader that restarts crashes again soon: while it probes, before its snapshot is persisted, or with its first messages in flight (which then race the next copy's probe: displacement) | safety |
//! | shared id | a second process with an existing leader's `ReplicaId`, started empty (`Leader::new`: the same first writer id) or restored from the original's snapshot (a writer id of its own), attached to a leader that is not the original's neighbour, or (restored twins, drawn per seed; every twin with `--twin-same-address`) to one that is: two processes behind one address | starts once in safety, runs until detected |
//! | state damage | a running leader's OR-Set (or a keyspace OR-Set key) loses an element without a change to its causal context (`Leader::inject_state_damage`); the oracle excuses exactly the lost dots, the cluster must still converge to identical bytes (digests compare state hashes) | safety (OR-Set and keyspace seeds, digests forced on) |
//! | misdelivery | a message goes to a leader other than its addressee (the transport reports the true sender); it must be rejected (`SyncError::Misdelivered`, or `UnknownPeer`) and change nothing | safety |
//! | clocks | offsets up to ±10 min, drift, steps (mostly backwards), coarse or frozen readings, used as LWW `now_ms` | whole run |
//!
//! Corrupted bytes that still decode as a well-formed message are what a hostile peer
//! sends (a non-goal: the protocol applies validly encoded updates). The simulated link
//! therefore has a frame checksum, as TCP/TLS/QUIC do: a corruption reaches the leader
//! only if it is malformed — decided by a throwaway leader of the same type — and the
//! leader must then reject it and stay unchanged. The well-formed rest is dropped like
//! a lost message (counted as `corrupt_filtered`).

use super::rng::Rng;
use super::trace::Corruption;

/// A fault class (for `--without`, to shrink a failing seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Message loss.
    Loss,
    /// Message duplication.
    Dup,
    /// Long extra delays (reordering).
    Reorder,
    /// Corrupted payloads.
    Corrupt,
    /// Partitions.
    Partition,
    /// Crash and restart from the last snapshot.
    Crash,
    /// Restart from an older snapshot.
    Amnesia,
    /// A restarted leader crashes again soon.
    Flap,
    /// A second process sharing a leader's id.
    Twin,
    /// Wall-clock steps.
    ClockStep,
    /// Silent loss of an OR-Set element from a leader's state.
    Damage,
    /// Messages delivered to the wrong leader.
    Misdeliver,
}

impl Fault {
    /// Every fault class.
    pub const ALL: [Fault; 12] = [
        Fault::Loss,
        Fault::Dup,
        Fault::Reorder,
        Fault::Corrupt,
        Fault::Partition,
        Fault::Crash,
        Fault::Amnesia,
        Fault::Flap,
        Fault::Twin,
        Fault::ClockStep,
        Fault::Damage,
        Fault::Misdeliver,
    ];

    /// Its name on the command line.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Fault::Loss => "loss",
            Fault::Dup => "dup",
            Fault::Reorder => "reorder",
            Fault::Corrupt => "corrupt",
            Fault::Partition => "partition",
            Fault::Crash => "crash",
            Fault::Amnesia => "amnesia",
            Fault::Flap => "flap",
            Fault::Twin => "twin",
            Fault::ClockStep => "clockstep",
            Fault::Damage => "damage",
            Fault::Misdeliver => "misdeliver",
        }
    }

    /// The fault called `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// How to corrupt a payload of `len` bytes: flip one to three random bits, or
/// truncate it (an empty payload stays as it is).
pub fn corruption(rng: &mut Rng, len: usize) -> Corruption {
    if len == 0 {
        return Corruption::Cut(0);
    }
    if rng.chance(500_000) {
        let flips = rng.range(1, 3) as usize;
        let mut bits: Vec<usize> = Vec::with_capacity(flips);
        while bits.len() < flips.min(len * 8) {
            let bit = rng.index(len * 8);
            if !bits.contains(&bit) {
                bits.push(bit); // distinct: two flips of one bit would undo each other
            }
        }
        Corruption::Flip(bits)
    } else {
        Corruption::Cut(rng.index(len))
    }
}

/// A partition of nodes `0..n`: a random non-empty proper subset `side` is cut from the
/// rest. Returns the directed pairs `(from, to)` whose messages are lost: both
/// directions, or (asymmetric) only from `side` to the rest.
pub fn partition(rng: &mut Rng, n: usize, asymmetric: bool) -> Vec<(usize, usize)> {
    let mut side = vec![false; n];
    let k = rng.range(1, (n - 1) as u64) as usize;
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    for &i in &order[..k] {
        side[i] = true;
    }
    let mut cut = Vec::new();
    for a in 0..n {
        for b in 0..n {
            if side[a] && !side[b] {
                cut.push((a, b));
                if !asymmetric {
                    cut.push((b, a));
                }
            }
        }
    }
    cut
}
