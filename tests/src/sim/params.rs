//! A seed's swarm: which replicated type, how many leaders on which topology, and at
//! what rate each fault strikes — each drawn from the seed, many of them fully off, so
//! that different seeds explore different corners (swarm testing) instead of every seed
//! averaging over all faults at once.

use super::rng::{Ppm, Rng};
use super::topology::Topology;
use crdt_sync::Config;

pub use crate::kind::Kind;

/// What the random workload does (per seed).
#[derive(Debug, Clone, Default)]
pub struct Workload {
    /// Mean virtual milliseconds between two writes at one leader.
    pub write_gap_ms: u64,
    /// OR-Set: plain elements are drawn from `0..universe` (small: concurrent adds and
    /// removes of the same element are the interesting case).
    pub universe: u64,
    /// OR-Set: posts and replies (the causal-consistency probe) are written.
    pub post_reply: bool,
    /// OR-Set: `clear` is used (only without posts: a clear may remove a post).
    pub clear: bool,
    /// Counters: share of decrements (PN-Counter), in ppm.
    pub decrement: Ppm,
    /// Counters: share of large increments, in ppm.
    pub big: Ppm,
    /// LWW: values come from a pool this large (equal values from different writes).
    pub value_pool: u64,
    /// Keyspace: keys are drawn from `k0..k{keys}` (small: concurrent writes, deletes
    /// and first writes of different types to one key are the interesting case).
    pub keys: u64,
    /// Keyspace: share of first writes to an absent key that pick a random type
    /// instead of the key's home type (so concurrent first writes may conflict), ppm.
    pub type_mix: Ppm,
    /// Keyspace: share of writes to a present key that delete it, ppm.
    pub delete: Ppm,
}

/// The link faults of the safety phase.
#[derive(Debug, Clone, Default)]
pub struct LinkFaults {
    /// A message is lost.
    pub loss: Ppm,
    /// A message is delivered twice (the copy with its own delay).
    pub dup: Ppm,
    /// A message gets an extra long delay (reordered behind later ones).
    pub reorder: Ppm,
    /// A message's bytes are corrupted (bits flipped or truncated).
    pub corrupt: Ppm,
    /// Base one-way latency range, virtual ms.
    pub latency_ms: (u64, u64),
    /// Upper bound of the extra delay of a reordered message, virtual ms.
    pub reorder_ms: u64,
    /// A message is delivered to a leader other than its addressee (the transport
    /// reports the true sender); the receiver must reject it.
    pub misdeliver: Ppm,
}

/// The node faults and their rates (each a chance per chaos step).
#[derive(Debug, Clone, Default)]
pub struct NodeFaults {
    /// Virtual ms between chaos steps.
    pub chaos_ms: u64,
    /// A partition starts (when none is active).
    pub partition: Ppm,
    /// Of partitions, the share that cut one direction only.
    pub asymmetric: Ppm,
    /// Longest partition, virtual ms.
    pub partition_ms: u64,
    /// A leader crashes and restarts from its last snapshot.
    pub crash: Ppm,
    /// A leader crashes and restarts from an older snapshot (amnesia).
    pub amnesia: Ppm,
    /// Longest downtime, virtual ms.
    pub down_ms: u64,
    /// Virtual ms between snapshots of a leader.
    pub snapshot_ms: u64,
    /// A second process with an existing leader's id is started (at most once).
    pub twin: bool,
    /// The twin is restored from the original's latest snapshot (else it starts empty).
    pub twin_from_snapshot: bool,
    /// A wall clock steps (mostly backwards).
    pub clock_step: Ppm,
    /// A leader that restarts crashes again soon (a crash loop): while it probes,
    /// before it persists its new incarnation, or with its first messages in flight —
    /// so a later restore races the crashed copy's late messages (displacement).
    pub flap: Ppm,
    /// Longest time from a restart to the crash that ends it, virtual ms.
    pub flap_ms: u64,
    /// The twin is attached to a neighbour of its original (one address, two
    /// processes) rather than to a leader that does not know the original.
    pub twin_near: bool,
    /// Leaders start with `Leader::with_nonce` (a first incarnation of their own,
    /// writing under a derived writer id). Always, except when replaying a trace
    /// recorded before every leader had a nonce (`nonces off`): those leaders get
    /// made-up nonces.
    pub first_nonce: bool,
    /// A running leader's state silently loses an OR-Set element (no change to its
    /// causal context: only a state-hash digest can see it). OR-Set and keyspace
    /// seeds only; forces periodic digests on.
    pub damage: Ppm,
    /// A leader loses its storage: it restarts empty under its old id
    /// (`Leader::with_nonce`, a fresh nonce), not from a snapshot.
    pub wipe: Ppm,
    /// A running leader drops one of its configured peers (`remove_peer`), alone
    /// (asymmetric peer lists: the peer still lists it) or together with the peer,
    /// and adds it back after up to `unlink_ms` (a membership change of running peers).
    pub unlink: Ppm,
    /// Longest time a link stays removed, virtual ms.
    pub unlink_ms: u64,
}

/// The leaders' wall clocks (used as `now_ms` of LWW writes).
#[derive(Debug, Clone, Default)]
pub struct Clocks {
    /// Largest offset from true time, ms (±).
    pub offset_ms: u64,
    /// Largest drift, ppm (±).
    pub drift_ppm: u64,
    /// Clocks read in whole seconds (many equal timestamps).
    pub coarse: bool,
    /// Share of leaders whose clock is stuck.
    pub frozen: Ppm,
}

/// Everything a seed draws before its first event.
#[derive(Debug, Clone)]
pub struct Params {
    /// The seed.
    pub seed: u64,
    /// The replicated type.
    pub kind: Kind,
    /// Leaders and links.
    pub topology: Topology,
    /// Every leader's limits.
    pub config: Config,
    /// Events of the safety phase (deliveries, ticks, writes, faults).
    pub safety_events: u64,
    /// Virtual ms between two ticks of a leader.
    pub tick_ms: u64,
    /// The workload.
    pub workload: Workload,
    /// Link faults.
    pub links: LinkFaults,
    /// Node faults.
    pub nodes: NodeFaults,
    /// Clocks.
    pub clocks: Clocks,
}

/// The smallest `message_bytes_max` a seed draws: every full state the workload can
/// build fits with room to spare, so a repair is never unsendable (checked: the run
/// fails on `Metrics::unsendable > 0`).
pub const MESSAGE_BYTES_MIN: usize = 16 << 10;

impl Params {
    /// Draws a seed's parameters. `kind` forces the type (else drawn).
    pub fn draw(seed: u64, rng: &mut Rng, kind: Option<Kind>) -> Params {
        let drawn = *rng.pick(&Kind::ALL);
        let leaders = rng.range(3, 7) as usize;
        let topology = Topology::draw(rng, leaders);
        let message_bytes_max = *rng.pick(&[
            MESSAGE_BYTES_MIN,
            32 << 10,
            64 << 10,
            Config::DEFAULT.message_bytes_max,
        ]);
        // Small buffers overflow (dropped, peers repaired); large ones never do.
        let buffer_bytes_max = *rng.pick(&[128, 512, 2048, 16 << 10, 64 << 20]);
        let digest_interval_ticks = *rng.pick(&[0, 2, 4, 8, 8, 16]);
        let config = Config {
            message_bytes_max,
            buffer_bytes_max,
            digest_interval_ticks,
            ..Config::DEFAULT
        };
        // (Scaled after the draw, so that changing the scale keeps every seed's schedule:
        // the cap only decides where the safety phase stops.)
        let safety_events = rng.range(2_000, 7_000) * 3 / 2;
        let tick_ms = rng.range(20, 200);
        let workload = Workload {
            write_gap_ms: rng.range(5, 400),
            universe: *rng.pick(&[2, 4, 8, 32, 64]),
            post_reply: rng.chance(700_000),
            clear: false,
            decrement: rng.range(0, 600_000) as Ppm,
            big: rng.swarm_rate(700_000, 100_000),
            value_pool: *rng.pick(&[2, 8, 1_000_000]),
            keys: 0,
            type_mix: 0,
            delete: 0,
        };
        let workload = Workload {
            clear: !workload.post_reply && rng.chance(600_000),
            ..workload
        };
        let lat_lo = rng.range(0, 20);
        let links = LinkFaults {
            loss: rng.swarm_rate(300_000, 300_000),
            dup: rng.swarm_rate(400_000, 500_000),
            reorder: rng.swarm_rate(300_000, 300_000),
            corrupt: rng.swarm_rate(500_000, 50_000),
            latency_ms: (lat_lo, lat_lo + rng.range(0, 80)),
            reorder_ms: rng.range(10, 2_000),
            misdeliver: 0,
        };
        let nodes = NodeFaults {
            chaos_ms: rng.range(50, 300),
            partition: rng.swarm_rate(300_000, 300_000),
            asymmetric: rng.range(0, 1_000_000) as Ppm,
            partition_ms: rng.range(100, 5_000),
            crash: rng.swarm_rate(400_000, 60_000),
            amnesia: rng.swarm_rate(600_000, 30_000),
            down_ms: rng.range(10, 3_000),
            snapshot_ms: rng.range(50, 2_000),
            twin: rng.chance(250_000),
            twin_from_snapshot: rng.chance(300_000),
            clock_step: rng.swarm_rate(500_000, 100_000),
            flap: 0,
            flap_ms: 0,
            twin_near: false,
            first_nonce: true,
            damage: 0,
            wipe: 0,
            unlink: 0,
            unlink_ms: 0,
        };
        let clocks = Clocks {
            offset_ms: *rng.pick(&[0, 1_000, 600_000]),
            drift_ppm: *rng.pick(&[0, 100, 2_000]),
            coarse: rng.chance(400_000),
            frozen: rng.swarm_rate(700_000, 600_000),
        };
        // Drawn last, so that adding them kept the earlier draws of every seed.
        let nodes = NodeFaults {
            flap: rng.swarm_rate(500_000, 700_000),
            flap_ms: rng.range(5, 1_500),
            twin_near: rng.chance(500_000),
            // Every leader has a first nonce since `Leader::new` draws one; the draw
            // stays so that every seed keeps its other parameters.
            first_nonce: {
                let _ = rng.chance(500_000);
                true
            },
            ..nodes
        };
        // Drawn after everything above, so that every seed that stays of one of the
        // first four kinds keeps its schedule: a fifth of the seeds become keyspace
        // seeds (each kind is then drawn with the same 20 %).
        let keyspace = rng.chance(200_000);
        let kind = kind.unwrap_or(if keyspace { Kind::Keyspace } else { drawn });
        let workload = Workload {
            keys: *rng.pick(&[2, 3, 6, 12]),
            type_mix: rng.swarm_rate(300_000, 600_000),
            delete: rng.range(20_000, 300_000) as Ppm,
            ..workload
        };
        let links = LinkFaults {
            misdeliver: rng.swarm_rate(600_000, 20_000),
            ..links
        };
        let damage = rng.swarm_rate(500_000, 40_000);
        let nodes = NodeFaults {
            damage: if matches!(kind, Kind::OrSet | Kind::Keyspace) {
                damage
            } else {
                0
            },
            ..nodes
        };
        // Drawn last, so that every seed kept the schedule it had before: restarts after
        // a disk loss, membership changes, and clusters of 8 to 32 leaders.
        let nodes = NodeFaults {
            wipe: rng.swarm_rate(600_000, 20_000),
            unlink: rng.swarm_rate(500_000, 60_000),
            unlink_ms: rng.range(20, 3_000),
            ..nodes
        };
        let topology = if rng.chance(60_000) {
            let leaders = rng.range(8, 33) as usize;
            Topology::draw(rng, leaders)
        } else {
            topology
        };
        let mut config = config;
        if nodes.damage > 0 && config.digest_interval_ticks == 0 {
            // Digests with state hashes are the only path that finds the damage.
            config.digest_interval_ticks = 8;
        }
        Params {
            seed,
            kind,
            topology,
            config,
            safety_events,
            tick_ms,
            workload,
            links,
            nodes,
            clocks,
        }
    }

    /// The parameters a trace replay runs with: its header's swarm, every fault rate
    /// zero (a replay draws nothing: the trace says what happens).
    #[must_use]
    pub fn from_header(h: &super::trace::Header) -> Params {
        Params {
            seed: 0,
            kind: h.kind,
            topology: Topology {
                leaders: h.leaders,
                edges: h.edges.clone(),
                name: "trace",
            },
            config: h.config(),
            safety_events: 0,
            tick_ms: h.tick_ms,
            workload: Workload::default(),
            links: LinkFaults::default(),
            nodes: NodeFaults {
                first_nonce: h.nonces,
                ..NodeFaults::default()
            },
            clocks: Clocks::default(),
        }
    }

    /// One line describing the swarm (for reports).
    #[must_use]
    pub fn describe(&self) -> String {
        let l = &self.links;
        let n = &self.nodes;
        format!(
            "{} x{} {} msg<={} buf<={} digest/{} | loss {} dup {} reorder {} corrupt {} | partition {} crash {} amnesia {} flap {} twin {}{} clockstep {} damage {} wipe {} unlink {} | misdeliver {} | events {}",
            self.kind.name(),
            self.topology.leaders,
            self.topology.name,
            self.config.message_bytes_max,
            self.config.buffer_bytes_max,
            self.config.digest_interval_ticks,
            pct(l.loss),
            pct(l.dup),
            pct(l.reorder),
            pct(l.corrupt),
            pct(n.partition),
            pct(n.crash),
            pct(n.amnesia),
            pct(n.flap),
            match (n.twin, n.twin_from_snapshot, n.twin_near) {
                (false, _, _) => "off",
                (true, true, true) => "snapshot/near",
                (true, true, false) => "snapshot/far",
                (true, false, true) => "empty/near",
                (true, false, false) => "empty/far",
            },
            if n.first_nonce { " (first nonces)" } else { "" },
            pct(n.clock_step),
            pct(n.damage),
            pct(n.wipe),
            pct(n.unlink),
            pct(l.misdeliver),
            self.safety_events,
        )
    }
}

fn pct(p: Ppm) -> String {
    if p == 0 {
        "off".to_string()
    } else {
        format!("{:.1}%", f64::from(p) / 10_000.0)
    }
}
