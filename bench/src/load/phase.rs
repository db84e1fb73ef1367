//! One measured phase: `clients` closed-loop clients against one system for a warm-up
//! and a measured window. Each client sends a write, waits for its acknowledgement
//! (durable on both systems) and sends the next; writes alternate between a counter
//! increment (`gcounter` increment by 1 / `INCRBY k 1`) and a set insert of a fresh
//! element (`orset` insert / `SADD k m`: fresh, so that Redis too writes and fsyncs
//! every one), on keys drawn uniformly from `keys` counters and as many sets: [`KEYS`]
//! in the main phases, so that sets grow to thousands of elements, and
//! [`SMALL_VALUES_KEYS`] in a last pair of phases, so that they stay small.

use super::latency::Summary;
use super::leader::{self, Pair, LAG_WAIT_MS, REQUEST_TIMEOUT};
use super::redis::{self, Redis};
use crate::rng::SplitMix64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Counter keys, and as many set keys, per phase (fresh names in each phase).
pub const KEYS: u64 = 32;
/// The same for the small-values phases: a set holds a few elements, so crdt-leader's
/// answer (the key's whole value, as its HTTP contract has it) stays small.
pub const SMALL_VALUES_KEYS: u64 = 100_000;
/// At most one write every this often is followed to the other leader.
pub const LAG_SAMPLE_EVERY: Duration = Duration::from_millis(5);
/// Lag reads in flight at most (a sample is skipped, and counted, when all are busy).
const LAG_IN_FLIGHT: u32 = 64;

/// Warm-up and measured window.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Writes sent but not counted.
    pub warmup: Duration,
    /// Writes acknowledged in this window are counted.
    pub measure: Duration,
}

/// What a phase writes to.
#[derive(Debug)]
pub enum System<'a> {
    /// Leader 1 of the pair, followed to leader 2.
    Leader(&'a Pair),
    /// redis-server.
    Redis(&'a Redis),
}

/// Replication lag to leader 2 of the sampled writes.
#[derive(Debug, Clone, Default)]
pub struct Lag {
    /// From leader 1's acknowledgement (at the client) to leader 2's answer to a read
    /// carrying the write's token (reads answered "not yet" count with the time
    /// waited).
    pub summary: Summary,
    /// Reads that leader 2 answered "not yet" after [`LAG_WAIT_MS`].
    pub not_covered: u64,
    /// Reads that failed.
    pub errors: u64,
    /// Samples skipped because `LAG_IN_FLIGHT` reads were in flight.
    pub skipped: u64,
}

/// What one phase measured.
#[derive(Debug, Clone)]
pub struct Phase {
    /// Concurrent clients.
    pub clients: usize,
    /// Counter keys written, and as many set keys.
    pub keys: u64,
    /// Writes acknowledged within the measured window.
    pub writes: u64,
    /// Writes that failed or timed out within the window.
    pub errors: u64,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// The measured window.
    pub seconds: f64,
    /// Latency of the counted writes.
    pub latency: Summary,
    /// Leader phases only.
    pub lag: Option<Lag>,
    /// CPU time of each server process during the window (leader 1 and 2, or Redis).
    pub server_cpu: Vec<Duration>,
    /// CPU time of the benchmark process (the clients, and the lag probe's reads in
    /// leader phases) during the window.
    pub client_cpu: Duration,
    /// Leader phases: leader 1's durable commits during the window and their time.
    pub fsyncs: Option<leader::Fsyncs>,
}

impl Phase {
    /// Acknowledged writes per second.
    #[must_use]
    pub fn rate(&self) -> f64 {
        self.writes as f64 / self.seconds
    }
}

enum Op {
    Incr(String),
    Add(String, String),
}

enum Conn {
    Leader {
        http: super::http::Conn,
        /// `/v1/docs/load/keys/{key}`, built once per key.
        paths: std::collections::HashMap<String, String>,
    },
    Redis(redis::Conn),
}

impl Conn {
    /// The write; for a leader its causal token.
    async fn write(&mut self, op: &Op) -> Result<Option<String>, String> {
        match self {
            Self::Leader { http, paths } => {
                let (key, body) = match op {
                    Op::Incr(k) => (k, r#"{"type":"gcounter","op":"increment","by":1}"#.into()),
                    Op::Add(k, m) => (
                        k,
                        format!(r#"{{"type":"orset","op":"insert","value":"{m}"}}"#),
                    ),
                };
                let path = paths
                    .entry(key.clone())
                    .or_insert_with(|| leader::key_path(key));
                let answer = http.post_json(path, &body).await?;
                leader::token_of(answer.status, &answer.body).map(Some)
            }
            Self::Redis(c) => {
                match op {
                    Op::Incr(k) => c.command(&["INCRBY", k, "1"]).await?,
                    Op::Add(k, m) => c.command(&["SADD", k, m]).await?,
                };
                Ok(None)
            }
        }
    }
}

/// Where a client connects: owned, so that a client task can reconnect.
#[derive(Debug, Clone)]
enum Target {
    Leader { addr: String, bearer: String },
    Redis { addr: String, password: String },
}

impl Target {
    fn of(system: &System<'_>) -> Self {
        match system {
            System::Leader(pair) => Self::Leader {
                addr: pair.a.url.trim_start_matches("http://").to_string(),
                bearer: pair.token.clone(),
            },
            System::Redis(r) => Self::Redis {
                addr: r.addr.clone(),
                password: r.password.clone(),
            },
        }
    }

    async fn connect(&self) -> Result<Conn, String> {
        Ok(match self {
            Self::Leader { addr, bearer } => Conn::Leader {
                http: super::http::Conn::connect(addr, bearer).await?,
                paths: std::collections::HashMap::new(),
            },
            Self::Redis { addr, password } => {
                Conn::Redis(redis::Conn::connect(addr, password).await?)
            }
        })
    }
}

/// Follows sampled writes to leader 2.
struct LagProbe {
    http: reqwest::Client,
    url: String,
    bearer: Arc<str>,
    origin: Instant,
    /// Nanoseconds after `origin` before which no write is sampled.
    next: AtomicU64,
    permits: Arc<Semaphore>,
    samples: Mutex<Vec<u64>>,
    not_covered: AtomicU64,
    errors: AtomicU64,
    skipped: AtomicU64,
}

impl LagProbe {
    fn due(&self, now: Instant) -> bool {
        let at = now.duration_since(self.origin).as_nanos() as u64;
        let next = self.next.load(Ordering::Relaxed);
        at >= next
            && self
                .next
                .compare_exchange(
                    next,
                    at + LAG_SAMPLE_EVERY.as_nanos() as u64,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }

    fn follow(self: &Arc<Self>, key: String, token: String, acked: Instant) {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let r = leader::read_covering(&me.http, &me.url, &me.bearer, &key, &token, LAG_WAIT_MS)
                .await;
            let lag = acked.elapsed();
            match r {
                Ok(covered) => {
                    // One not covered after the wait counts with the time waited (a
                    // lower bound), so that the percentiles do not hide it.
                    if !covered {
                        me.not_covered.fetch_add(1, Ordering::Relaxed);
                    }
                    me.samples
                        .lock()
                        .expect("lag samples")
                        .push(lag.as_nanos() as u64);
                }
                Err(_) => {
                    me.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            drop(permit);
        });
    }

    /// Waits for the reads in flight (bounded by their timeout).
    async fn finish(&self) -> Lag {
        let _ = tokio::time::timeout(
            REQUEST_TIMEOUT + Duration::from_secs(1),
            self.permits.acquire_many(LAG_IN_FLIGHT),
        )
        .await;
        let mut samples = std::mem::take(&mut *self.samples.lock().expect("lag samples"));
        Lag {
            summary: Summary::of(&mut samples),
            not_covered: self.not_covered.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }
}

#[derive(Default)]
struct ClientResult {
    nanos: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs one phase: `clients` clients writing to `keys` counters and `keys` sets for
/// `window.warmup + window.measure`, then waits for the writes and lag reads in
/// flight (each bounded by [`REQUEST_TIMEOUT`]).
///
/// # Errors
/// When a client cannot connect or a task panicked.
pub async fn run(
    system: &System<'_>,
    clients: usize,
    keys: u64,
    window: Window,
) -> Result<Phase, String> {
    // Fresh key names in each phase.
    let keys_tag = format!("{clients}k{keys}");
    let start = Instant::now();
    let counted_from = start + window.warmup;
    let end = counted_from + window.measure;
    let probe = match system {
        System::Leader(pair) => Some(Arc::new(LagProbe {
            http: leader::client(LAG_IN_FLIGHT as usize)?,
            url: pair.b.url.clone(),
            bearer: pair.token.as_str().into(),
            origin: start,
            next: AtomicU64::new(window.warmup.as_nanos() as u64),
            permits: Arc::new(Semaphore::new(LAG_IN_FLIGHT as usize)),
            samples: Mutex::new(Vec::new()),
            not_covered: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        })),
        System::Redis(_) => None,
    };
    let mut tasks = Vec::with_capacity(clients);
    for id in 0..clients {
        let target = Target::of(system);
        // `None` after a failure until a new connection is made: a request cut off by
        // its timeout may leave its answer on the old one.
        let mut conn = Some(target.connect().await?);
        let probe = probe.clone();
        let tag = keys_tag.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = SplitMix64::new(0x10AD ^ ((id as u64) << 20) ^ clients as u64);
            let mut out = ClientResult::default();
            let mut seq = 0u64;
            while Instant::now() < end {
                let Some(c) = conn.as_mut() else {
                    conn = target.connect().await.ok();
                    if conn.is_none() {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    continue;
                };
                let k = rng.below(keys);
                let op = if seq % 2 == 0 {
                    Op::Incr(format!("c{tag}-{k}"))
                } else {
                    Op::Add(format!("s{tag}-{k}"), format!("m{id}-{seq}"))
                };
                seq += 1;
                let sent = Instant::now();
                let r = tokio::time::timeout(REQUEST_TIMEOUT, c.write(&op)).await;
                let acked = Instant::now();
                let counted = acked >= counted_from && acked < end;
                let r = r.unwrap_or_else(|_| Err(format!("no answer within {REQUEST_TIMEOUT:?}")));
                match r {
                    Ok(token) => {
                        if counted {
                            out.nanos.push(acked.duration_since(sent).as_nanos() as u64);
                            if let (Some(p), Some(t)) = (&probe, token) {
                                if p.due(acked) {
                                    let key = match op {
                                        Op::Incr(k) | Op::Add(k, _) => k,
                                    };
                                    p.follow(key, t, acked);
                                }
                            }
                        }
                    }
                    Err(e) => {
                        if counted {
                            out.errors += 1;
                            out.first_error.get_or_insert(e);
                        }
                        // A connection may be out of step after a failure: never reused.
                        conn = None;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            out
        }));
    }

    // Server CPU and leader 1's commits over the measured window.
    let processes: Vec<&super::child::Child> = match system {
        System::Leader(pair) => vec![&pair.a.process, &pair.b.process],
        System::Redis(r) => vec![&r.process],
    };
    let metrics_http = leader::client(2)?;
    tokio::time::sleep_until(counted_from.into()).await;
    let cpu_before: Vec<Option<Duration>> = processes.iter().map(|p| p.cpu_time()).collect();
    let own_before = super::child::own_cpu_time();
    let fsyncs_before = match system {
        System::Leader(pair) => pair.fsyncs(&metrics_http).await.ok(),
        System::Redis(_) => None,
    };
    tokio::time::sleep_until(end.into()).await;
    let cpu_after: Vec<Option<Duration>> = processes.iter().map(|p| p.cpu_time()).collect();
    let own_after = super::child::own_cpu_time();
    let fsyncs_after = match system {
        System::Leader(pair) => pair.fsyncs(&metrics_http).await.ok(),
        System::Redis(_) => None,
    };

    let mut all = ClientResult::default();
    for t in tasks {
        let r = t.await.map_err(|e| format!("a client task failed: {e}"))?;
        all.nanos.extend(r.nanos);
        all.errors += r.errors;
        if all.first_error.is_none() {
            all.first_error = r.first_error;
        }
    }
    let lag = match &probe {
        Some(p) => Some(p.finish().await),
        None => None,
    };
    Ok(Phase {
        clients,
        keys,
        writes: all.nanos.len() as u64,
        errors: all.errors,
        first_error: all.first_error,
        seconds: window.measure.as_secs_f64(),
        latency: Summary::of(&mut all.nanos),
        lag,
        server_cpu: cpu_before
            .iter()
            .zip(&cpu_after)
            .map(|(b, a)| match (b, a) {
                (Some(b), Some(a)) => a.saturating_sub(*b),
                _ => Duration::ZERO,
            })
            .collect(),
        client_cpu: match (own_before, own_after) {
            (Some(b), Some(a)) => a.saturating_sub(b),
            _ => Duration::ZERO,
        },
        fsyncs: match (fsyncs_before, fsyncs_after) {
            (Some(b), Some(a)) => Some(leader::Fsyncs {
                count: a.count - b.count,
                seconds: a.seconds - b.seconds,
            }),
            _ => None,
        },
    })
}
