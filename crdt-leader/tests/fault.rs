//! Issue 12's multi-process fault test: the proof that nothing acknowledged is lost.
//!
//! Three `crdt-leader` processes, each in its own network namespace (leaders 1–2 and
//! 1–3 joined by veth pairs the test takes down and up; leaders 2–3 joined through a
//! proxy in the root namespace that delays, cuts, garbles and partitions, as this
//! kernel has no `netem`). Where namespaces cannot be created, every leader runs on
//! loopback and every link goes through such a proxy; the test prints which mode ran.
//!
//! Concurrent HTTP clients write every type to all leaders while the test `kill -9`s
//! and restarts leaders, `SIGSTOP`s and resumes them, and partitions and heals links,
//! on a schedule drawn from a seeded generator (`FAULT_SEED=N` replays one). After
//! healing every leader must hold every acknowledged write: counters within
//! [acknowledged, acknowledged + unanswered], acknowledged inserts present unless
//! removed, no resurrected removes, registers holding written values, all digests
//! equal, and every acknowledged write's token honoured at every leader.

mod common;

use common::leader_proc::{wait_healthy, LeaderProc, BIN};
use common::netns::{self, Netns};
use common::proxy::{Faults, Proxy};
use common::Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LEADERS: usize = 3;
const CLIENTS: u64 = 6;
const DOCS: [&str; 3] = ["fault-a", "fault-b", "fault-c"];
const KEYS: [&str; 5] = ["g", "p", "s", "l", "m"];
const TOKEN: &str = "fault-test-writer";
const SECRET: &str = "a-fault-test-secret-of-enough-bytes";
/// A client gives up on a write after this long: the write is then unanswered.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
const CONVERGE_LIMIT: Duration = Duration::from_secs(60);
const HTTP_PORT: u16 = 7000;
const PEER_PORT: u16 = 7100;

/// The tests of this file run one at a time (each runs three leaders).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Clone)]
enum Op {
    GInc(u64),
    PInc(u64),
    PDec(u64),
    Insert(String),
    Remove(String),
    Lww(String),
    Mv(String),
}

impl Op {
    fn key(&self) -> &'static str {
        match self {
            Op::GInc(_) => "g",
            Op::PInc(_) | Op::PDec(_) => "p",
            Op::Insert(_) | Op::Remove(_) => "s",
            Op::Lww(_) => "l",
            Op::Mv(_) => "m",
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Op::GInc(_) => "gcounter",
            Op::PInc(_) | Op::PDec(_) => "pncounter",
            Op::Insert(_) => "orset-insert",
            Op::Remove(_) => "orset-remove",
            Op::Lww(_) => "lww",
            Op::Mv(_) => "mvreg",
        }
    }

    fn body(&self) -> Value {
        match self {
            Op::GInc(n) => json!({"type":"gcounter","op":"increment","by":n}),
            Op::PInc(n) => json!({"type":"pncounter","op":"increment","by":n}),
            Op::PDec(n) => json!({"type":"pncounter","op":"decrement","by":n}),
            Op::Insert(v) => json!({"type":"orset","op":"insert","value":v}),
            Op::Remove(v) => json!({"type":"orset","op":"remove","value":v}),
            Op::Lww(v) => json!({"type":"lww","op":"set","value":v}),
            Op::Mv(v) => json!({"type":"mvreg","op":"set","value":v}),
        }
    }
}

#[derive(Debug, Clone)]
enum Outcome {
    /// 200 with this token: durable, must never be lost.
    Acked(String),
    /// Answered with this status (503 while a leader may not write): not applied.
    Rejected(u16),
    /// No answer (timeout, connection reset by a kill): maybe applied.
    Unanswered,
}

#[derive(Debug, Clone)]
struct Record {
    leader: usize,
    doc: usize,
    op: Op,
    outcome: Outcome,
}

fn elapsed(start: Instant) -> String {
    format!("[{:6.2}s]", start.elapsed().as_secs_f64())
}

/// One client: writes of every type to random leaders and documents until `stop`.
/// Values are unique (`c<client>-<n>`), and it removes only values whose insert was
/// acknowledged, once, at the leader that acknowledged it (which holds the insert
/// durably, so the remove observes it).
async fn client(
    c: u64,
    seed: u64,
    bases: Arc<Vec<String>>,
    http: reqwest::Client,
    stop: Arc<AtomicBool>,
) -> Vec<Record> {
    let mut rng = Rng(seed ^ (c + 1).wrapping_mul(0x517c_c1b7_2722_0a95));
    let mut seq = 0u64;
    let mut removable: Vec<(usize, usize, String)> = Vec::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        let roll = rng.below(100);
        let (leader, doc, op) = if roll < 10 && !removable.is_empty() {
            let i = rng.below(removable.len() as u64) as usize;
            let (l, d, v) = removable.swap_remove(i);
            (l, d, Op::Remove(v))
        } else {
            seq += 1;
            let v = format!("c{c}-{seq}");
            let by = rng.range(1, 5);
            let op = match roll {
                0..=29 => Op::GInc(by),
                30..=39 => Op::PInc(by),
                40..=49 => Op::PDec(by),
                50..=74 => Op::Insert(v),
                75..=87 => Op::Lww(v),
                _ => Op::Mv(v),
            };
            (
                rng.below(LEADERS as u64) as usize,
                rng.below(DOCS.len() as u64) as usize,
                op,
            )
        };
        let url = format!("{}/v1/docs/{}/keys/{}", bases[leader], DOCS[doc], op.key());
        let sent = http
            .post(url)
            .bearer_auth(TOKEN)
            .json(&op.body())
            .timeout(WRITE_TIMEOUT)
            .send()
            .await;
        let outcome = match sent {
            Ok(r) if r.status() == reqwest::StatusCode::OK => match r.json::<Value>().await {
                Ok(v) => Outcome::Acked(v["token"].as_str().unwrap_or_default().to_string()),
                Err(_) => Outcome::Unanswered,
            },
            Ok(r) => Outcome::Rejected(r.status().as_u16()),
            Err(_) => Outcome::Unanswered,
        };
        let pause = match &outcome {
            Outcome::Acked(_) => {
                if let Op::Insert(v) = &op {
                    removable.push((leader, doc, v.clone()));
                }
                rng.below(10)
            }
            Outcome::Rejected(_) => 100,
            Outcome::Unanswered => 50,
        };
        out.push(Record {
            leader,
            doc,
            op,
            outcome,
        });
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    out
}

/// How a pair of leaders is joined.
enum Path {
    /// A veth pair between their namespaces (`ip link set down` partitions it).
    Veth,
    /// Through this proxy.
    Proxied(usize),
}

/// The network: namespaces (if any), proxies, and the three links.
struct Net {
    netns: Option<Netns>,
    proxies: Vec<Proxy>,
    links: Vec<(usize, usize, Path)>,
}

impl Net {
    fn set_link(&self, link: usize, up: bool) {
        let (a, b, path) = &self.links[link];
        match path {
            Path::Veth => self.netns.as_ref().unwrap().set_link(*a, *b, up).unwrap(),
            Path::Proxied(p) => self.proxies[*p].set(Faults {
                blocked: !up,
                ..Faults::default()
            }),
        }
    }

    fn heal_all(&self) {
        for l in 0..self.links.len() {
            self.set_link(l, true);
        }
        for p in &self.proxies {
            p.set(Faults::default());
        }
    }
}

#[derive(Default)]
struct Counts {
    kills: AtomicU64,
    pauses: AtomicU64,
    partitions: AtomicU64,
    proxy_faults: AtomicU64,
}

fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i as u64 + 1) as usize);
    }
}

#[derive(Debug, Clone, Copy)]
enum ProcFault {
    Kill,
    Pause,
}

/// Kills and restarts, pauses and resumes leaders, one at a time.
async fn process_lane(
    procs: Arc<Mutex<Vec<LeaderProc>>>,
    http: reqwest::Client,
    mut rng: Rng,
    counts: Arc<Counts>,
    start: Instant,
) {
    let mut plan = vec![ProcFault::Kill; 3];
    plan.extend([ProcFault::Pause; 3]);
    for _ in 0..rng.range(2, 4) {
        plan.push(if rng.below(2) == 0 {
            ProcFault::Kill
        } else {
            ProcFault::Pause
        });
    }
    shuffle(&mut plan, &mut rng);
    tokio::time::sleep(Duration::from_millis(rng.range(500, 1500))).await;
    for fault in plan {
        let i = rng.below(LEADERS as u64) as usize;
        match fault {
            ProcFault::Kill => {
                procs.lock().unwrap()[i].kill9();
                counts.kills.fetch_add(1, Ordering::Relaxed);
                let down = rng.range(200, 2000);
                println!(
                    "{} kill -9 leader {} (down {down} ms)",
                    elapsed(start),
                    i + 1
                );
                tokio::time::sleep(Duration::from_millis(down)).await;
                let base = {
                    let mut p = procs.lock().unwrap();
                    p[i].spawn();
                    p[i].base.clone()
                };
                assert!(
                    wait_healthy(&http, &base, Duration::from_secs(20)).await,
                    "leader {} did not serve within 20 s of its restart:\n{}",
                    i + 1,
                    procs.lock().unwrap()[i].log_tail(40)
                );
                println!("{} leader {} restarted", elapsed(start), i + 1);
            }
            ProcFault::Pause => {
                procs.lock().unwrap()[i].pause();
                counts.pauses.fetch_add(1, Ordering::Relaxed);
                let hold = rng.range(300, 3000);
                println!("{} SIGSTOP leader {} ({hold} ms)", elapsed(start), i + 1);
                tokio::time::sleep(Duration::from_millis(hold)).await;
                procs.lock().unwrap()[i].resume();
                println!("{} SIGCONT leader {}", elapsed(start), i + 1);
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.range(300, 1500))).await;
    }
}

#[derive(Debug, Clone, Copy)]
enum NetFault {
    Partition,
    Delay,
    Loss,
    Garble,
}

/// Partitions and heals links, and degrades proxied ones, one fault at a time.
async fn network_lane(net: Arc<Net>, mut rng: Rng, counts: Arc<Counts>, start: Instant) {
    let mut plan = vec![NetFault::Partition; 3];
    plan.extend([NetFault::Delay, NetFault::Loss, NetFault::Garble]);
    for _ in 0..rng.range(2, 4) {
        plan.push(match rng.below(3) {
            0 => NetFault::Partition,
            1 => NetFault::Delay,
            _ => NetFault::Loss,
        });
    }
    shuffle(&mut plan, &mut rng);
    tokio::time::sleep(Duration::from_millis(rng.range(300, 1000))).await;
    for fault in plan {
        let hold = Duration::from_millis(rng.range(500, 3000));
        match fault {
            NetFault::Partition => {
                // One link, or every link of one leader (it is isolated).
                let cut: Vec<usize> = if rng.below(2) == 0 {
                    vec![rng.below(net.links.len() as u64) as usize]
                } else {
                    let who = rng.below(LEADERS as u64) as usize;
                    (0..net.links.len())
                        .filter(|l| net.links[*l].0 == who || net.links[*l].1 == who)
                        .collect()
                };
                let names: Vec<String> = cut
                    .iter()
                    .map(|l| format!("{}-{}", net.links[*l].0 + 1, net.links[*l].1 + 1))
                    .collect();
                for l in &cut {
                    net.set_link(*l, false);
                }
                counts.partitions.fetch_add(1, Ordering::Relaxed);
                println!(
                    "{} partition: link(s) {} down for {} ms",
                    elapsed(start),
                    names.join(", "),
                    hold.as_millis()
                );
                tokio::time::sleep(hold).await;
                for l in &cut {
                    net.set_link(*l, true);
                }
                println!("{} healed {}", elapsed(start), names.join(", "));
            }
            _ => {
                let p = rng.below(net.proxies.len() as u64) as usize;
                let faults = match fault {
                    NetFault::Delay => Faults {
                        delay_ms: rng.range(20, 300),
                        ..Faults::default()
                    },
                    NetFault::Loss => Faults {
                        loss: 0.02 + rng.unit() * 0.2,
                        ..Faults::default()
                    },
                    _ => Faults {
                        garble: 0.02 + rng.unit() * 0.1,
                        ..Faults::default()
                    },
                };
                net.proxies[p].set(faults);
                counts.proxy_faults.fetch_add(1, Ordering::Relaxed);
                println!(
                    "{} proxy {} ({} ms): {faults:?}",
                    elapsed(start),
                    p,
                    hold.as_millis()
                );
                tokio::time::sleep(hold).await;
                net.proxies[p].set(Faults::default());
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.range(300, 1500))).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Builds the network and the leaders' command lines: namespaces if possible, else
/// loopback and proxies only.
async fn setup(dir: &std::path::Path, seed: u64) -> (Net, Vec<LeaderProc>, &'static str) {
    let secret = dir.join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, format!("{TOKEN} write *\n")).unwrap();
    let common_args = |i: usize| -> Vec<String> {
        vec![
            BIN.to_string(),
            "--id".into(),
            (i + 1).to_string(),
            "--data-dir".into(),
            dir.join(format!("data-{}", i + 1)).display().to_string(),
            "--peer-secret-file".into(),
            secret.display().to_string(),
            "--client-tokens".into(),
            tokens.display().to_string(),
        ]
    };
    let log = |i: usize| dir.join(format!("leader-{}.log", i + 1));
    netns::cleanup_stale();
    let netns = if std::env::var_os("FAULT_NO_NETNS").is_some() {
        Err("FAULT_NO_NETNS is set".to_string())
    } else {
        Netns::create(LEADERS, &[(0, 1), (0, 2)])
    };
    match netns {
        Ok(ns) => {
            // 2–3 goes through a proxy in the root namespace: leader 2 dials the
            // proxy on its root link, the proxy dials leader 3 on its root link.
            let listen = SocketAddr::new(ns.gateway(1).into(), 0);
            let upstream = SocketAddr::new(ns.host_addr(2).into(), PEER_PORT);
            let proxy = Proxy::start(listen, upstream, seed).await;
            let mut procs = Vec::new();
            for i in 0..LEADERS {
                let mut argv: Vec<String> = ["ip", "netns", "exec", ns.name(i)]
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                argv.extend(common_args(i));
                argv.extend([
                    "--http".into(),
                    format!("0.0.0.0:{HTTP_PORT}"),
                    "--peer-listen".into(),
                    format!("0.0.0.0:{PEER_PORT}"),
                ]);
                for j in (0..LEADERS).filter(|j| *j != i) {
                    let addr = if ns.has_link(i, j) {
                        SocketAddr::new(ns.link_addr(i, j).into(), PEER_PORT)
                    } else if i < j {
                        proxy.addr
                    } else {
                        // Only the lower id dials: this address is not used.
                        SocketAddr::new(ns.host_addr(j).into(), PEER_PORT)
                    };
                    argv.extend(["--peer".into(), format!("{}@{addr}", j + 1)]);
                }
                let base = format!("http://{}:{HTTP_PORT}", ns.host_addr(i));
                procs.push(LeaderProc::new(i as u64 + 1, base, argv, log(i)));
            }
            let net = Net {
                netns: Some(ns),
                proxies: vec![proxy],
                links: vec![
                    (0, 1, Path::Veth),
                    (0, 2, Path::Veth),
                    (1, 2, Path::Proxied(0)),
                ],
            };
            (net, procs, "netns")
        }
        Err(e) => {
            println!("network namespaces unavailable ({e}): running on loopback with proxies only");
            let http: Vec<u16> = (0..LEADERS).map(|_| free_port()).collect();
            let peer: Vec<u16> = (0..LEADERS).map(|_| free_port()).collect();
            let loopback = |port| SocketAddr::from(([127, 0, 0, 1], port));
            let mut proxies = Vec::new();
            let mut links = Vec::new();
            for (a, b) in [(0, 1), (0, 2), (1, 2)] {
                let p =
                    Proxy::start(loopback(0), loopback(peer[b]), seed ^ (a * 3 + b) as u64).await;
                links.push((a, b, Path::Proxied(proxies.len())));
                proxies.push(p);
            }
            let mut procs = Vec::new();
            for i in 0..LEADERS {
                let mut argv = common_args(i);
                argv.extend([
                    "--http".into(),
                    loopback(http[i]).to_string(),
                    "--peer-listen".into(),
                    loopback(peer[i]).to_string(),
                ]);
                for j in (0..LEADERS).filter(|j| *j != i) {
                    let addr = match links.iter().find(|(a, b, _)| (*a, *b) == (i, j)) {
                        Some((_, _, Path::Proxied(p))) => proxies[*p].addr,
                        _ => loopback(peer[j]),
                    };
                    argv.extend(["--peer".into(), format!("{}@{addr}", j + 1)]);
                }
                let base = format!("http://{}", loopback(http[i]));
                procs.push(LeaderProc::new(i as u64 + 1, base, argv, log(i)));
            }
            let net = Net {
                netns: None,
                proxies,
                links,
            };
            (net, procs, "proxy-only")
        }
    }
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<(u16, Value), String> {
    let r = http
        .get(url)
        .bearer_auth(TOKEN)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let v = r.json::<Value>().await.map_err(|e| e.to_string())?;
    Ok((status, v))
}

/// Waits until every leader can write, sees every peer connected and missing
/// nothing, and all report the same digest; returns how long that took, or the last statuses.
async fn converge(http: &reqwest::Client, bases: &[String]) -> Result<Duration, String> {
    let started = Instant::now();
    let mut last = Vec::new();
    while started.elapsed() < CONVERGE_LIMIT {
        last.clear();
        for b in bases {
            last.push(get_json(http, &format!("{b}/v1/status")).await);
        }
        let ok = last.iter().all(|s| {
            s.as_ref().is_ok_and(|(code, v)| {
                *code == 200
                    && v["can_write"] == json!(true)
                    && v["peers"].as_array().is_some_and(|p| {
                        p.iter()
                            .all(|p| p["connected"] == json!(true) && p["lag_ops"] == json!(0))
                    })
            })
        });
        let digests: BTreeSet<String> = last
            .iter()
            .filter_map(|s| s.as_ref().ok())
            .map(|(_, v)| v["digest"].to_string())
            .collect();
        if ok && digests.len() == 1 {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("{last:#?}"))
}

/// Starts every leader, waits until each serves HTTP (failing with their log tails
/// otherwise) and until the fresh cluster has converged; returns their base URLs.
async fn start_cluster(http: &reqwest::Client, procs: &mut [LeaderProc]) -> Vec<String> {
    for p in procs.iter_mut() {
        p.spawn();
    }
    let bases: Vec<String> = procs.iter().map(|p| p.base.clone()).collect();
    for b in &bases {
        assert!(
            wait_healthy(http, b, Duration::from_secs(20)).await,
            "{b} did not serve within 20 s:\n{}",
            procs
                .iter()
                .map(|p| p.log_tail(20))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    converge(http, &bases)
        .await
        .expect("the fresh cluster connects");
    bases
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks one key's converged value against what was written; returns violations.
fn check_key(doc: usize, key: &str, value: &Value, records: &[&Record]) -> Vec<String> {
    let mut bad = Vec::new();
    let name = format!("{}/{key}", DOCS[doc]);
    let acked = |r: &&&Record| matches!(r.outcome, Outcome::Acked(_));
    let maybe = |r: &&&Record| matches!(r.outcome, Outcome::Unanswered);
    let any_acked = records.iter().any(|r| acked(&r));
    if any_acked && value.is_null() {
        bad.push(format!("{name}: absent although written and acknowledged"));
        return bad;
    }
    match key {
        "g" => {
            let sum = |f: &dyn Fn(&&&Record) -> bool| -> u64 {
                records
                    .iter()
                    .filter(|r| f(r))
                    .map(|r| match r.op {
                        Op::GInc(n) => n,
                        _ => 0,
                    })
                    .sum()
            };
            let (lo, hi) = (sum(&acked), sum(&acked) + sum(&maybe));
            let v = value.as_u64().unwrap_or(0);
            if v < lo || v > hi {
                bad.push(format!(
                    "{name}: gcounter {v} outside [acknowledged {lo}, + unanswered {hi}]"
                ));
            }
        }
        "p" => {
            let sum = |f: &dyn Fn(&&&Record) -> bool, inc: bool| -> i64 {
                records
                    .iter()
                    .filter(|r| f(r))
                    .map(|r| match (&r.op, inc) {
                        (Op::PInc(n), true) | (Op::PDec(n), false) => *n as i64,
                        _ => 0,
                    })
                    .sum()
            };
            let base = sum(&acked, true) - sum(&acked, false);
            let (lo, hi) = (base - sum(&maybe, false), base + sum(&maybe, true));
            let v = value.as_i64().unwrap_or(0);
            if v < lo || v > hi {
                bad.push(format!(
                    "{name}: pncounter {v} outside [{lo}, {hi}] (acknowledged net {base})"
                ));
            }
        }
        "s" => {
            let present: BTreeSet<String> = strings(value).into_iter().collect();
            let mut inserted: BTreeMap<&str, &Outcome> = BTreeMap::new();
            let mut removed: BTreeMap<&str, &Outcome> = BTreeMap::new();
            for r in records {
                match &r.op {
                    Op::Insert(v) => inserted.insert(v.as_str(), &r.outcome),
                    Op::Remove(v) => removed.insert(v.as_str(), &r.outcome),
                    _ => None,
                };
            }
            for (v, ins) in &inserted {
                let rem = removed.get(v);
                let is = present.contains(*v);
                match (ins, rem) {
                    (Outcome::Acked(_), None | Some(Outcome::Rejected(_))) if !is => {
                        bad.push(format!("{name}: acknowledged insert {v:?} lost"));
                    }
                    (_, Some(Outcome::Acked(_))) if is => {
                        bad.push(format!(
                            "{name}: {v:?} resurrected after an acknowledged remove"
                        ));
                    }
                    (Outcome::Rejected(_), _) if is => {
                        bad.push(format!(
                            "{name}: {v:?} present although its insert was refused"
                        ));
                    }
                    _ => {}
                }
            }
            for v in &present {
                if !inserted.contains_key(v.as_str()) {
                    bad.push(format!("{name}: {v:?} present but never inserted"));
                }
            }
        }
        _ => {
            // Registers: every value present was written (acknowledged or maybe).
            let written: BTreeSet<&str> = records
                .iter()
                .filter(|r| acked(r) || maybe(r))
                .filter_map(|r| match &r.op {
                    Op::Lww(v) | Op::Mv(v) => Some(v.as_str()),
                    _ => None,
                })
                .collect();
            let values = if key == "l" {
                value.as_str().map(String::from).into_iter().collect()
            } else {
                strings(value)
            };
            if any_acked && values.is_empty() {
                bad.push(format!("{name}: empty register although written"));
            }
            for v in values {
                if !written.contains(v.as_str()) {
                    bad.push(format!("{name}: register holds {v:?}, never written"));
                }
            }
        }
    }
    bad
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_under_kills_pauses_and_partitions() {
    let seed = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    let _serial = SERIAL.lock().await;
    println!("fault test seed {seed} (replay with FAULT_SEED={seed})");
    let dir = tempfile::tempdir().unwrap();
    let (net, procs, mode) = setup(dir.path(), seed).await;
    println!("mode: {mode}");
    let net = Arc::new(net);
    let mut procs = procs;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(1))
        .no_proxy()
        .build()
        .unwrap();
    let bases = Arc::new(start_cluster(&http, &mut procs).await);
    let procs = Arc::new(Mutex::new(procs));

    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| tokio::spawn(client(c, seed, bases.clone(), http.clone(), stop.clone())))
        .collect();
    let counts = Arc::new(Counts::default());
    let mut rng = Rng(seed);
    let lanes = async {
        let procs_lane = tokio::spawn(process_lane(
            procs.clone(),
            http.clone(),
            Rng(rng.next_u64()),
            counts.clone(),
            start,
        ));
        let net_lane = tokio::spawn(network_lane(
            net.clone(),
            Rng(rng.next_u64()),
            counts.clone(),
            start,
        ));
        (procs_lane.await, net_lane.await)
    };
    let (p, n) = tokio::time::timeout(Duration::from_secs(60), lanes)
        .await
        .expect("the fault schedule ends within 60 s");
    // Heal everything (each fault already healed itself; this is the guarantee).
    net.heal_all();
    let healed = Instant::now();
    for p in procs.lock().unwrap().iter_mut() {
        p.resume();
    }
    p.expect("process faults");
    n.expect("network faults");
    let faults_took = start.elapsed();
    println!("{} faults over; the workload stops", elapsed(start));
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut records = Vec::new();
    for c in clients {
        records.extend(
            tokio::time::timeout(Duration::from_secs(20), c)
                .await
                .expect("clients stop within 20 s")
                .unwrap(),
        );
    }
    {
        let mut procs = procs.lock().unwrap();
        let crashed: Vec<String> = procs
            .iter_mut()
            .filter_map(|p| p.check_alive().err())
            .collect();
        assert!(crashed.is_empty(), "{}", crashed.join("\n\n"));
    }

    let converge_time = match converge(&http, &bases).await {
        Ok(_) => healed.elapsed(),
        Err(last) => {
            let logs: Vec<String> = procs
                .lock()
                .unwrap()
                .iter()
                .map(|p| format!("leader {}:\n{}", p.id, p.log_tail(30)))
                .collect();
            panic!(
                "no convergence within {CONVERGE_LIMIT:?} after healing (seed {seed}); last statuses {last}\n{}",
                logs.join("\n")
            );
        }
    };
    println!(
        "{} converged {} ms after healing (the workload ran 500 ms more, then stopped)",
        elapsed(start),
        converge_time.as_millis()
    );

    // Every leader holds the same value of every key, and it satisfies the bounds.
    let mut violations = Vec::new();
    for (d, doc) in DOCS.iter().enumerate() {
        for key in KEYS {
            let mut seen: Vec<Value> = Vec::new();
            for b in bases.iter() {
                let (code, v) = get_json(&http, &format!("{b}/v1/docs/{doc}/keys/{key}"))
                    .await
                    .unwrap();
                seen.push(match code {
                    200 => v["value"].clone(),
                    404 => Value::Null,
                    _ => panic!("reading {doc}/{key} at {b}: {code} {v}"),
                });
            }
            if seen.windows(2).any(|w| w[0] != w[1]) {
                violations.push(format!("{doc}/{key}: leaders differ: {seen:?}"));
            }
            let mine: Vec<&Record> = records
                .iter()
                .filter(|r| r.doc == d && r.op.key() == key)
                .collect();
            for v in &seen {
                violations.extend(check_key(d, key, v, &mine));
            }
        }
    }

    // Every acknowledged write's token is honoured at every leader.
    let acked: Vec<(usize, &'static str, String)> = records
        .iter()
        .filter_map(|r| match &r.outcome {
            Outcome::Acked(t) => Some((r.doc, r.op.key(), t.clone())),
            _ => None,
        })
        .collect();
    let jobs: Vec<(String, String)> = acked
        .iter()
        .flat_map(|(d, k, t)| {
            bases.iter().map(move |b| {
                (
                    b.clone(),
                    format!("/v1/docs/{}/keys/{k}?token={t}&wait_ms=5000", DOCS[*d]),
                )
            })
        })
        .collect();
    let token_checks = jobs.len();
    let jobs = Arc::new(Mutex::new(jobs));
    let dishonoured = Arc::new(Mutex::new(Vec::new()));
    let checking = Instant::now();
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (jobs, bad, http) = (jobs.clone(), dishonoured.clone(), http.clone());
            tokio::spawn(async move {
                loop {
                    let Some((b, path)) = jobs.lock().unwrap().pop() else {
                        return;
                    };
                    match get_json(&http, &format!("{b}{path}")).await {
                        Ok((200, _)) => {}
                        other => bad.lock().unwrap().push(format!("{b}{path}: {other:?}")),
                    }
                }
            })
        })
        .collect();
    for w in workers {
        tokio::time::timeout(Duration::from_secs(60), w)
            .await
            .expect("token checks end within 60 s")
            .unwrap();
    }
    let dishonoured = dishonoured.lock().unwrap().clone();

    // The report.
    let mut per_kind: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for r in &records {
        let e = per_kind.entry(r.op.kind()).or_default();
        match r.outcome {
            Outcome::Acked(_) => e[0] += 1,
            Outcome::Unanswered => e[1] += 1,
            Outcome::Rejected(code) => {
                e[2] += 1;
                if code != 503 {
                    unexpected.push(format!("{:?} at leader {}: {code}", r.op, r.leader + 1));
                }
            }
        }
    }
    let total = |i: usize| per_kind.values().map(|v| v[i]).sum::<u64>();
    println!("---- fault test report (seed {seed}) ----");
    println!("mode: {mode}");
    println!(
        "faults over {:.1} s: {} kill -9 + restart, {} SIGSTOP/SIGCONT, {} partitions, {} proxy faults (proxy stats: {})",
        faults_took.as_secs_f64(),
        counts.kills.load(Ordering::Relaxed),
        counts.pauses.load(Ordering::Relaxed),
        counts.partitions.load(Ordering::Relaxed),
        counts.proxy_faults.load(Ordering::Relaxed),
        net.proxies
            .iter()
            .map(|p| format!(
                "{} conns, {} cuts, {} garbled",
                p.stats().accepted.load(Ordering::Relaxed),
                p.stats().cuts.load(Ordering::Relaxed),
                p.stats().garbled.load(Ordering::Relaxed)
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    for (k, [a, u, r]) in &per_kind {
        println!("  {k:<13} acknowledged {a:>5}  unanswered {u:>4}  refused (503) {r:>5}");
    }
    println!(
        "writes: {} acknowledged, {} unanswered, {} refused",
        total(0),
        total(1),
        total(2)
    );
    println!(
        "converged {} ms after healing (checked once the workload stopped); {token_checks} token reads in {} ms",
        converge_time.as_millis(),
        checking.elapsed().as_millis()
    );
    println!(
        "acknowledged writes lost or violated: {}; tokens not honoured: {}",
        violations.len(),
        dishonoured.len()
    );
    println!("test time {:.1} s", start.elapsed().as_secs_f64());
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:#?}");
    assert!(violations.is_empty(), "seed {seed}: {violations:#?}");
    assert!(
        dishonoured.is_empty(),
        "seed {seed}: tokens not honoured: {:#?}",
        &dishonoured[..dishonoured.len().min(20)]
    );
    let c = &counts;
    assert!(c.kills.load(Ordering::Relaxed) >= 3 && c.pauses.load(Ordering::Relaxed) >= 3);
    assert!(c.partitions.load(Ordering::Relaxed) >= 3);
    assert!(total(0) > 0, "no write was acknowledged");
    // Dropping `procs` kills the leaders; dropping `net` deletes the namespaces.
    drop(procs);
    drop(net);
}

/// A quiet cluster (no client traffic): leader 3 is killed and restarted while its
/// link to leader 1, which dials it, is down, so leader 1's connection to the old
/// process never hears the reset. Once the link is back, leader 1 must notice that
/// connection is dead and dial again: the restarted leader 3 cannot write before
/// leader 1 answers its probe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_dialer_notices_its_peer_restarted_behind_a_partition() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (net, procs, mode) = setup(dir.path(), 7).await;
    if mode != "netns" {
        println!("needs network namespaces (links taken down): skipped in {mode} mode");
        return;
    }
    let mut procs = procs;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let bases = start_cluster(&http, &mut procs).await;
    let r = http
        .post(format!("{}/v1/docs/quiet/keys/k", bases[0]))
        .bearer_auth(TOKEN)
        .json(&Op::GInc(1).body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    converge(&http, &bases).await.expect("the write replicates");
    net.set_link(1, false); // 1–3
    procs[2].kill9();
    procs[2].spawn();
    assert!(wait_healthy(&http, &bases[2], Duration::from_secs(20)).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    net.set_link(1, true);
    let took = converge(&http, &bases).await.unwrap_or_else(|last| {
        panic!("leader 3 never became writable again after the link healed: {last}")
    });
    println!("converged {} ms after healing", took.as_millis());
}

/// A frame header forged on the link 2→3 (a length of 1 MiB before a real frame,
/// as corrupted bytes can make one) while leader 1 is cut off: leader 3 reads the
/// following frames as the body of one that never completes. It must give up on
/// that connection, so leader 2 dials again and leader 3 gets the write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_that_never_completes_closes_its_connection() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let (net, mut procs, mode) = setup(dir.path(), 11).await;
    println!("mode: {mode}");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let bases = start_cluster(&http, &mut procs).await;
    // Leader 1 cut off: 2 → 3 is the only way.
    let (_, _, Path::Proxied(p23)) = &net.links[2] else {
        panic!("2–3 goes through a proxy in both modes")
    };
    net.set_link(0, false);
    net.set_link(1, false);
    let write_then_read_at_3 = |value: &'static str| {
        let (http, bases) = (http.clone(), bases.clone());
        async move {
            let r: Value = http
                .post(format!("{}/v1/docs/forged/keys/s", bases[1]))
                .bearer_auth(TOKEN)
                .json(&Op::Insert(value.into()).body())
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let token = r["token"].as_str().unwrap().to_string();
            let started = Instant::now();
            let url = format!("{}/v1/docs/forged/keys/s?token={token}", bases[2]);
            // Up to 40 s: several reads of at most 10 s each.
            while started.elapsed() < Duration::from_secs(40) {
                if let Ok((200, _)) = get_json(&http, &format!("{url}&wait_ms=9000")).await {
                    return Some(started.elapsed());
                }
            }
            None
        }
    };
    let before = write_then_read_at_3("before").await;
    assert!(before.is_some(), "2 → 3 replicates before the forgery");
    net.proxies[*p23].inject_once(&[0, 0x10, 0, 0]);
    let after = write_then_read_at_3("after").await;
    println!("leader 3 got the write {after:?} after the forged header");
    assert!(
        after.is_some(),
        "leader 3 never got a write of leader 2 after a forged frame header"
    );
    for p in &mut procs {
        p.check_alive().unwrap();
    }
}
