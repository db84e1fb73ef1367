//! Explicit, replayable traces of simulator runs: the swarm and every decision of a
//! run written out as events, one per line, so that a failing schedule can be kept as
//! a file and replayed without the seed's random generator (a seed replays its
//! schedule only while the simulator draws the same numbers in the same order).
//!
//! ```text
//! crdt-sim-trace v1
//! # anything after '#' is a comment
//! kind orset
//! leaders 3
//! edges 0-1 1-2
//! config message_bytes_max=16384 buffer_bytes_max=512 digest_interval_ticks=8
//! tick_ms 120
//! nonces off
//! lenient_restart off
//! events
//! write 0 ms=1700000000012 add 3
//! deliver 0#0 -> 1
//! tick 2
//! crash 1 snap 0 nonce 77
//! ...
//! liveness 0#7->1 2#3->1
//! round 1
//! tick 1
//! deliver 2#3 -> 1
//! ```
//!
//! The header is the swarm as far as a replay needs it (type, topology, the leaders'
//! configuration, whether leaders start with nonces). Each event is one step the
//! simulator took; see [`Event`] for the lines. Messages are named `F#S`: the `S`-th
//! message (from 0) process `F` handed to the network. Whatever the event does not
//! say follows from the code (leaders are deterministic), and a replay checks every
//! event against the world: an event that does not apply (a message that was never
//! sent, a tick of a crashed process, an element that is not there to damage) fails
//! the replay with the event's line and why, unless the replay is *lenient* (the
//! shrinker's mode), which skips it. `docs/TESTING.md` describes recording, replaying
//! and shrinking.

use crdt_sync::Config;
use std::fmt::{self, Write as _};

use super::params::Kind;

/// The first line of every trace (the format's version).
pub const MAGIC: &str = "crdt-sim-trace v1";

/// A message: the `seq`-th (from 0) that process `from` handed to the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MsgId {
    /// The sending process.
    pub from: usize,
    /// Its number among that process's messages.
    pub seq: u64,
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.from, self.seq)
    }
}

impl MsgId {
    fn parse(s: &str) -> Result<MsgId, String> {
        let (a, b) = s
            .split_once('#')
            .ok_or_else(|| format!("`{s}` is not a message (F#S)"))?;
        Ok(MsgId {
            from: num(a)?,
            seq: num(b)?,
        })
    }
}

/// How a corrupted copy of a message differs from what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corruption {
    /// These bits are flipped (bit `i` is bit `i % 8` of byte `i / 8`).
    Flip(Vec<usize>),
    /// Only the first this many bytes arrive.
    Cut(usize),
}

impl Corruption {
    /// Applies it to `payload`.
    pub fn apply(&self, payload: &mut Vec<u8>) {
        match self {
            Corruption::Flip(bits) => {
                for &bit in bits {
                    if let Some(b) = payload.get_mut(bit / 8) {
                        *b ^= 1 << (bit % 8);
                    }
                }
            }
            Corruption::Cut(keep) => payload.truncate(*keep),
        }
    }
}

/// One step of a run (one line of a trace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `nonce N`: the nonce of the leader being created (`Leader::with_nonce`; only
    /// in runs with `nonces on`), right after the event that creates it (or at the
    /// start, for the first leaders).
    Nonce(u64),
    /// `tick P`.
    Tick(usize),
    /// `write P ms=MS OP`: process `P` writes `OP` (the type's text form, see
    /// [`super::workload::Model::write_text`]) with its wall clock reading `MS`.
    Write {
        /// The writing process.
        p: usize,
        /// Its clock.
        ms: u64,
        /// The write.
        op: String,
    },
    /// `snapshot P`: the operator takes a snapshot.
    Snapshot(usize),
    /// `persist P`: the operator persists the snapshot a restored leader asked for.
    Persist(usize),
    /// `crash P snap I nonce N` (or `amnesia ...`): process `P` crashes and is
    /// restored (down) from its lineage's snapshot `I` with nonce `N`.
    Crash {
        /// The process.
        p: usize,
        /// Which snapshot of its lineage.
        snap: usize,
        /// The restore's nonce.
        nonce: u64,
        /// Counted as amnesia (an older snapshot, drawn as such).
        amnesia: bool,
    },
    /// `wipe P nonce N`: process `P` crashes and loses its storage; it is made again
    /// empty under its id with `Leader::with_nonce(.., N)` (down until `restart`).
    Wipe {
        /// The process.
        p: usize,
        /// The new leader's nonce.
        nonce: u64,
    },
    /// `unlink P Q`: running process `P` removes its peer `Q` (`Q` may still list it).
    Unlink {
        /// The process.
        p: usize,
        /// The peer it drops.
        q: usize,
    },
    /// `link P Q`: process `P` adds its configured peer `Q` back.
    Link {
        /// The process.
        p: usize,
        /// The peer it adds.
        q: usize,
    },
    /// `restart P`: a crashed process comes back up.
    Restart(usize),
    /// `partition A>B ...`: messages from `A` to `B` are lost until `heal`.
    Partition(Vec<(usize, usize)>),
    /// `heal`: the partition ends.
    Heal,
    /// `damage P TARGET`: the state of process `P` silently loses an element.
    Damage {
        /// The process.
        p: usize,
        /// What it loses (the type's text form).
        target: String,
    },
    /// `twin X -> Q snapshot nonce N` or `twin X -> Q empty`: a second process under
    /// the id of process `X`, linked to process `Q` only (from `X`'s last snapshot, or
    /// empty; an empty one made with a nonce is followed by its `nonce` line).
    Twin {
        /// The original.
        x: usize,
        /// Its one neighbour.
        q: usize,
        /// Restored from the original's last snapshot with this nonce, or empty.
        snapshot: Option<u64>,
    },
    /// `deliver F#S -> T [misdelivered] [flip B,B | cut K]`: process `T` receives
    /// message `F#S` (addressed to another process if `misdelivered`; corrupted if
    /// `flip` or `cut`). A message may be delivered twice (duplication) or never
    /// (loss).
    Deliver {
        /// The message.
        msg: MsgId,
        /// The receiver.
        to: usize,
        /// Delivered to a process other than its addressee.
        misdelivered: bool,
        /// Corrupted on the way.
        corruption: Option<Corruption>,
    },
    /// `liveness F#S->T ...`: the safety phase ends, every fault heals, and these
    /// messages are still in flight (the others are lost).
    Liveness(Vec<(MsgId, usize)>),
    /// `round N`: a liveness round starts (its ticks and deliveries follow).
    Round(u64),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Nonce(n) => write!(f, "nonce {n}"),
            Event::Tick(p) => write!(f, "tick {p}"),
            Event::Write { p, ms, op } => write!(f, "write {p} ms={ms} {op}"),
            Event::Snapshot(p) => write!(f, "snapshot {p}"),
            Event::Persist(p) => write!(f, "persist {p}"),
            Event::Crash {
                p,
                snap,
                nonce,
                amnesia,
            } => write!(
                f,
                "{} {p} snap {snap} nonce {nonce}",
                if *amnesia { "amnesia" } else { "crash" }
            ),
            Event::Wipe { p, nonce } => write!(f, "wipe {p} nonce {nonce}"),
            Event::Unlink { p, q } => write!(f, "unlink {p} {q}"),
            Event::Link { p, q } => write!(f, "link {p} {q}"),
            Event::Restart(p) => write!(f, "restart {p}"),
            Event::Partition(cut) => {
                f.write_str("partition")?;
                for (a, b) in cut {
                    write!(f, " {a}>{b}")?;
                }
                Ok(())
            }
            Event::Heal => f.write_str("heal"),
            Event::Damage { p, target } => write!(f, "damage {p} {target}"),
            Event::Twin { x, q, snapshot } => match snapshot {
                Some(n) => write!(f, "twin {x} -> {q} snapshot nonce {n}"),
                None => write!(f, "twin {x} -> {q} empty"),
            },
            Event::Deliver {
                msg,
                to,
                misdelivered,
                corruption,
            } => {
                write!(f, "deliver {msg} -> {to}")?;
                if *misdelivered {
                    f.write_str(" misdelivered")?;
                }
                match corruption {
                    Some(Corruption::Flip(bits)) => {
                        let bits: Vec<String> = bits.iter().map(ToString::to_string).collect();
                        write!(f, " flip {}", bits.join(","))
                    }
                    Some(Corruption::Cut(k)) => write!(f, " cut {k}"),
                    None => Ok(()),
                }
            }
            Event::Liveness(inflight) => {
                f.write_str("liveness")?;
                for (m, to) in inflight {
                    write!(f, " {m}->{to}")?;
                }
                Ok(())
            }
            Event::Round(n) => write!(f, "round {n}"),
        }
    }
}

fn num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("`{s}` is not a number of the expected range"))
}

impl std::str::FromStr for Event {
    type Err = String;

    fn from_str(line: &str) -> Result<Event, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let arg = |i: usize| -> Result<&str, String> {
            words
                .get(i)
                .copied()
                .ok_or_else(|| format!("`{line}`: too few words"))
        };
        let rest_from = |i: usize| -> Result<String, String> {
            if words.len() <= i {
                return Err(format!("`{line}`: too few words"));
            }
            Ok(words[i..].join(" "))
        };
        let keyword = |i: usize, w: &str| -> Result<(), String> {
            if arg(i)? == w {
                Ok(())
            } else {
                Err(format!("`{line}`: expected `{w}` as word {}", i + 1))
            }
        };
        let ev = match arg(0)? {
            "nonce" => Event::Nonce(num(arg(1)?)?),
            "tick" => Event::Tick(num(arg(1)?)?),
            "snapshot" => Event::Snapshot(num(arg(1)?)?),
            "persist" => Event::Persist(num(arg(1)?)?),
            "restart" => Event::Restart(num(arg(1)?)?),
            "heal" => Event::Heal,
            "round" => Event::Round(num(arg(1)?)?),
            "write" => {
                let ms = arg(2)?
                    .strip_prefix("ms=")
                    .ok_or_else(|| format!("`{line}`: expected ms=CLOCK as word 3"))?;
                Event::Write {
                    p: num(arg(1)?)?,
                    ms: num(ms)?,
                    op: rest_from(3)?,
                }
            }
            w @ ("crash" | "amnesia") => {
                keyword(2, "snap")?;
                keyword(4, "nonce")?;
                Event::Crash {
                    p: num(arg(1)?)?,
                    snap: num(arg(3)?)?,
                    nonce: num(arg(5)?)?,
                    amnesia: w == "amnesia",
                }
            }
            "wipe" => {
                keyword(2, "nonce")?;
                Event::Wipe {
                    p: num(arg(1)?)?,
                    nonce: num(arg(3)?)?,
                }
            }
            "unlink" => Event::Unlink {
                p: num(arg(1)?)?,
                q: num(arg(2)?)?,
            },
            "link" => Event::Link {
                p: num(arg(1)?)?,
                q: num(arg(2)?)?,
            },
            "partition" => {
                let mut cut = Vec::new();
                for w in &words[1..] {
                    let (a, b) = w
                        .split_once('>')
                        .ok_or_else(|| format!("`{line}`: `{w}` is not A>B"))?;
                    cut.push((num(a)?, num(b)?));
                }
                Event::Partition(cut)
            }
            "damage" => Event::Damage {
                p: num(arg(1)?)?,
                target: rest_from(2)?,
            },
            "twin" => {
                keyword(2, "->")?;
                let snapshot = match arg(4)? {
                    "snapshot" => {
                        keyword(5, "nonce")?;
                        Some(num(arg(6)?)?)
                    }
                    "empty" => None,
                    w => return Err(format!("`{line}`: `{w}` is neither snapshot nor empty")),
                };
                Event::Twin {
                    x: num(arg(1)?)?,
                    q: num(arg(3)?)?,
                    snapshot,
                }
            }
            "deliver" => {
                keyword(2, "->")?;
                let mut misdelivered = false;
                let mut corruption = None;
                let mut i = 4;
                while i < words.len() {
                    match words[i] {
                        "misdelivered" => misdelivered = true,
                        "flip" => {
                            i += 1;
                            let bits = arg(i)?.split(',').map(num).collect::<Result<_, _>>()?;
                            corruption = Some(Corruption::Flip(bits));
                        }
                        "cut" => {
                            i += 1;
                            corruption = Some(Corruption::Cut(num(arg(i)?)?));
                        }
                        w => return Err(format!("`{line}`: unknown delivery flag `{w}`")),
                    }
                    i += 1;
                }
                Event::Deliver {
                    msg: MsgId::parse(arg(1)?)?,
                    to: num(arg(3)?)?,
                    misdelivered,
                    corruption,
                }
            }
            "liveness" => {
                let mut inflight = Vec::new();
                for w in &words[1..] {
                    let (m, to) = w
                        .split_once("->")
                        .ok_or_else(|| format!("`{line}`: `{w}` is not F#S->T"))?;
                    inflight.push((MsgId::parse(m)?, num(to)?));
                }
                Event::Liveness(inflight)
            }
            w => return Err(format!("`{line}`: unknown event `{w}`")),
        };
        Ok(ev)
    }
}

/// What a replay needs of the swarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The replicated type.
    pub kind: Kind,
    /// How many leaders.
    pub leaders: usize,
    /// Their links (`a < b`).
    pub edges: Vec<(usize, usize)>,
    /// `Config::message_bytes_max`.
    pub message_bytes_max: usize,
    /// `Config::buffer_bytes_max`.
    pub buffer_bytes_max: usize,
    /// `Config::digest_interval_ticks`.
    pub digest_interval_ticks: u32,
    /// The liveness phase's tick period.
    pub tick_ms: u64,
    /// New leaders are made with `Leader::with_nonce` (each followed by a `nonce`).
    pub nonces: bool,
    /// The `restart` check is skipped (`Options::lenient_restart`).
    pub lenient_restart: bool,
    /// With lazy links (`Options::lazy_links`), the eager ones (every other link is
    /// lazy at both ends): the line `eager_links A-B …`; a header without it (traces
    /// recorded before it existed, or without lazy links) means every link is eager.
    pub eager_links: Option<Vec<(usize, usize)>>,
}

impl Header {
    /// The leaders' configuration (the rest as `Config::DEFAULT`).
    #[must_use]
    pub fn config(&self) -> Config {
        Config {
            message_bytes_max: self.message_bytes_max,
            buffer_bytes_max: self.buffer_bytes_max,
            digest_interval_ticks: self.digest_interval_ticks,
            ..Config::DEFAULT
        }
    }
}

/// A run written out: the swarm, comments (where it came from, what it shows), and
/// every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The swarm.
    pub header: Header,
    /// Comment lines of the header (without the `# `).
    pub comments: Vec<String>,
    /// The events, in order.
    pub events: Vec<Event>,
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        writeln!(f, "{MAGIC}")?;
        for c in &self.comments {
            writeln!(f, "# {c}")?;
        }
        writeln!(f, "kind {}", h.kind.name())?;
        writeln!(f, "leaders {}", h.leaders)?;
        let edges: Vec<String> = h.edges.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        writeln!(f, "edges {}", edges.join(" "))?;
        writeln!(
            f,
            "config message_bytes_max={} buffer_bytes_max={} digest_interval_ticks={}",
            h.message_bytes_max, h.buffer_bytes_max, h.digest_interval_ticks
        )?;
        writeln!(f, "tick_ms {}", h.tick_ms)?;
        writeln!(f, "nonces {}", on_off(h.nonces))?;
        writeln!(f, "lenient_restart {}", on_off(h.lenient_restart))?;
        if let Some(eager) = &h.eager_links {
            let links: Vec<String> = eager.iter().map(|(a, b)| format!("{a}-{b}")).collect();
            writeln!(f, "eager_links {}", links.join(" "))?;
        }
        writeln!(f, "events")?;
        for e in &self.events {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

impl Trace {
    /// The line (from 1) of event `i` in the text form.
    #[must_use]
    pub fn line_of(&self, i: usize) -> usize {
        // Magic, comments, 7 header lines, `events`.
        1 + self.comments.len() + 7 + 1 + i + 1
    }

    /// Parses the text form; errors name the line.
    pub fn parse(text: &str) -> Result<Trace, String> {
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
        match lines.next() {
            Some((_, l)) if l == MAGIC => {}
            Some((_, l)) => {
                return Err(format!(
                    "line 1: `{l}` is not `{MAGIC}` (not a trace, or another version)"
                ))
            }
            None => return Err("empty trace".to_string()),
        }
        let mut comments = Vec::new();
        let mut fields: Vec<(usize, String, String)> = Vec::new();
        let mut events = Vec::new();
        let mut in_events = false;
        for (n, line) in lines {
            if line.is_empty() {
                continue;
            }
            if let Some(c) = line.strip_prefix('#') {
                if !in_events {
                    comments.push(c.trim().to_string());
                }
                continue;
            }
            if in_events {
                events.push(line.parse().map_err(|e| format!("line {n}: {e}"))?);
            } else if line == "events" {
                in_events = true;
            } else {
                let (k, v) = line.split_once(' ').unwrap_or((line, ""));
                fields.push((n, k.to_string(), v.trim().to_string()));
            }
        }
        let field = |k: &str| -> Result<(usize, &str), String> {
            fields
                .iter()
                .find(|(_, key, _)| key == k)
                .map(|(n, _, v)| (*n, v.as_str()))
                .ok_or_else(|| format!("the header has no `{k}` line"))
        };
        let at = |n: usize| move |e: String| format!("line {n}: {e}");
        let flag = |k: &str| -> Result<bool, String> {
            match field(k)? {
                (_, "on") => Ok(true),
                (_, "off") => Ok(false),
                (n, v) => Err(format!("line {n}: `{k} {v}`: expected on or off")),
            }
        };
        let (n, kind) = field("kind")?;
        let kind = Kind::from_name(kind).ok_or_else(|| format!("line {n}: unknown kind"))?;
        let (n, leaders) = field("leaders")?;
        let leaders: usize = num(leaders).map_err(at(n))?;
        let links = |(n, e): (usize, &str)| -> Result<Vec<(usize, usize)>, String> {
            let mut edges = Vec::new();
            for w in e.split_whitespace() {
                let (a, b) = w
                    .split_once('-')
                    .ok_or_else(|| format!("line {n}: `{w}` is not A-B"))?;
                let (a, b): (usize, usize) = (num(a).map_err(at(n))?, num(b).map_err(at(n))?);
                if a.max(b) >= leaders {
                    return Err(format!("line {n}: edge {w} beyond {leaders} leaders"));
                }
                edges.push((a, b));
            }
            Ok(edges)
        };
        let edges = links(field("edges")?)?;
        let (n, config) = field("config")?;
        let mut cfg = [None; 3];
        for w in config.split_whitespace() {
            let (k, v) = w
                .split_once('=')
                .ok_or_else(|| format!("line {n}: `{w}` is not key=value"))?;
            let i = [
                "message_bytes_max",
                "buffer_bytes_max",
                "digest_interval_ticks",
            ]
            .iter()
            .position(|x| *x == k)
            .ok_or_else(|| format!("line {n}: unknown config key `{k}`"))?;
            cfg[i] = Some(num::<u64>(v).map_err(at(n))?);
        }
        let [Some(mbm), Some(bbm), Some(dit)] = cfg else {
            return Err(format!("line {n}: config needs all three keys"));
        };
        let (n, tick_ms) = field("tick_ms")?;
        let header = Header {
            kind,
            leaders,
            edges,
            message_bytes_max: usize::try_from(mbm).map_err(|e| e.to_string())?,
            buffer_bytes_max: usize::try_from(bbm).map_err(|e| e.to_string())?,
            digest_interval_ticks: u32::try_from(dit).map_err(|e| e.to_string())?,
            tick_ms: num(tick_ms).map_err(at(n))?,
            nonces: flag("nonces")?,
            lenient_restart: flag("lenient_restart")?,
            eager_links: match field("eager_links") {
                Ok(line) => Some(links(line)?),
                Err(_) => None,
            },
        };
        if !in_events {
            return Err("no `events` line".to_string());
        }
        Ok(Trace {
            header,
            comments,
            events,
        })
    }

    /// Reads a trace file.
    pub fn load(path: &std::path::Path) -> Result<Trace, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Trace::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The text form, as a string.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = write!(s, "{self}");
        s
    }
}

/// A replay that does not match the world: the trace's line, its event, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch(pub String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the trace does not match the world: {}", self.0)
    }
}
