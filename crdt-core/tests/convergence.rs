//! Convergence under an unreliable network: every mutation's delta is sent to every
//! other replica; messages are delivered in random order, duplicated, lost and resent
//! later, or joined into batches. Once everything is delivered, all replicas must be
//! equal, equal to the join of all deltas, and equal to what exchanging full states
//! gives.

mod support;

use crdt_core::{Crdt, GCounter, Keyspace, LwwRegister, MvRegister, OrSet, PnCounter, ReplicaId};
use quickcheck::{Arbitrary, Gen, TestResult};
use support::{batch, below, chance, ensure, ensure_eq, qc, rid, shrink_list, verdict, Model};

#[derive(Clone, Debug)]
enum Event<O> {
    Mutate {
        at: usize,
        op: O,
    },
    /// Deliver a random in-flight message; keep it in flight too if `dup`.
    Deliver {
        pick: usize,
        dup: bool,
    },
    /// Drop a random in-flight message; it is resent later.
    Lose {
        pick: usize,
    },
    /// Resend a random lost message.
    Resend {
        pick: usize,
    },
    /// Deliver up to `n` in-flight messages to `to` as one batch.
    Batch {
        to: usize,
        n: usize,
        plain: bool,
    },
    /// Deliver any delta ever made to any replica (possibly its origin) again.
    Redeliver {
        pick: usize,
        to: usize,
    },
}

#[derive(Clone, Debug)]
struct Network<C: Model> {
    replicas: usize,
    events: Vec<Event<C::Op>>,
    /// Random keys ordering (and grouping) the final delivery of what is left.
    drain: Vec<u64>,
}

impl<C: Model> Arbitrary for Network<C> {
    fn arbitrary(g: &mut Gen) -> Self {
        let replicas = 3 + below(g, 2) as usize;
        let r = |g: &mut Gen| below(g, replicas as u64) as usize;
        let events = (0..below(g, 61))
            .map(|_| match below(g, 20) {
                0..=7 => Event::Mutate {
                    at: r(g),
                    op: C::gen_op(g),
                },
                8..=12 => Event::Deliver {
                    pick: usize::arbitrary(g),
                    dup: chance(g, 1, 5),
                },
                13 | 14 => Event::Lose {
                    pick: usize::arbitrary(g),
                },
                15 => Event::Resend {
                    pick: usize::arbitrary(g),
                },
                16 | 17 => Event::Batch {
                    to: r(g),
                    n: 1 + below(g, 5) as usize,
                    plain: chance(g, 1, 3),
                },
                _ => Event::Redeliver {
                    pick: usize::arbitrary(g),
                    to: r(g),
                },
            })
            .collect();
        let drain = (0..below(g, 20)).map(|_| u64::arbitrary(g)).collect();
        Network {
            replicas,
            events,
            drain,
        }
    }
    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        let (replicas, drain) = (self.replicas, self.drain.clone());
        Box::new(
            shrink_list(&self.events)
                .into_iter()
                .map(move |events| Network {
                    replicas,
                    events,
                    drain: drain.clone(),
                }),
        )
    }
}

/// A message: the index of a delta and its receiver.
type Msg = (usize, usize);

struct Sim<C> {
    states: Vec<C>,
    deltas: Vec<(ReplicaId, C)>,
    in_flight: Vec<Msg>,
    lost: Vec<Msg>,
}

impl<C: Model> Sim<C> {
    fn deliver(&mut self, to: usize, value: &C, what: &str) -> Result<(), String> {
        let before = self.states[to].clone();
        self.states[to].merge(value);
        self.states[to]
            .check(true)
            .map_err(|e| format!("after {what} to replica {to}: {e}"))?;
        ensure(self.states[to].covers(&before), || {
            format!("{what} made replica {to} forget")
        })
    }

    fn deliver_msgs(&mut self, to: usize, msgs: &[usize], plain: bool) -> Result<(), String> {
        let ds: Vec<&C> = msgs.iter().map(|&i| &self.deltas[i].1).collect();
        let b = batch(&ds, plain);
        b.check(false)?;
        self.deliver(to, &b, "a batch")
    }
}

fn take(v: &mut Vec<Msg>, pick: usize) -> Option<Msg> {
    (!v.is_empty()).then(|| v.swap_remove(pick % v.len()))
}

fn prop_converges<C: Model>(net: Network<C>) -> TestResult {
    verdict((|| {
        let mut sim = Sim {
            states: vec![C::empty(); net.replicas],
            deltas: Vec::new(),
            in_flight: Vec::new(),
            lost: Vec::new(),
        };
        for ev in &net.events {
            match ev {
                Event::Mutate { at, op } => {
                    let d = sim.states[*at].apply(rid(*at), op);
                    sim.states[*at].check(true)?;
                    let i = sim.deltas.len();
                    sim.deltas.push((rid(*at), d));
                    sim.in_flight
                        .extend((0..net.replicas).filter(|to| to != at).map(|to| (i, to)));
                }
                Event::Deliver { pick, dup } => {
                    if let Some((i, to)) = take(&mut sim.in_flight, *pick) {
                        let d = sim.deltas[i].1.clone();
                        sim.deliver(to, &d, "a delta")?;
                        if *dup {
                            sim.in_flight.push((i, to));
                        }
                    }
                }
                Event::Lose { pick } => {
                    if let Some(m) = take(&mut sim.in_flight, *pick) {
                        sim.lost.push(m);
                    }
                }
                Event::Resend { pick } => {
                    if let Some(m) = take(&mut sim.lost, *pick) {
                        sim.in_flight.push(m);
                    }
                }
                Event::Batch { to, n, plain } => {
                    let mut msgs = Vec::new();
                    let mut k = 0;
                    while k < sim.in_flight.len() && msgs.len() < *n {
                        if sim.in_flight[k].1 == *to {
                            msgs.push(sim.in_flight.remove(k).0);
                        } else {
                            k += 1;
                        }
                    }
                    sim.deliver_msgs(*to, &msgs, *plain)?;
                }
                Event::Redeliver { pick, to } => {
                    if !sim.deltas.is_empty() {
                        let d = sim.deltas[pick % sim.deltas.len()].1.clone();
                        sim.deliver(*to, &d, "a duplicate")?;
                    }
                }
            }
        }

        // Anti-entropy by full states, from the states before the remaining deltas
        // arrive (every delta is already in its origin's state).
        let snapshots = sim.states.clone();
        let by_states = snapshots.iter().fold(C::empty(), |mut acc, s| {
            acc.merge(s);
            acc
        });
        let by_states_rev = snapshots.iter().rev().fold(C::empty(), |mut acc, s| {
            acc.merge(s);
            acc
        });
        ensure_eq(&by_states, &by_states_rev, "state exchange order")?;
        let all_deltas = sim.deltas.iter().fold(C::empty(), |mut acc, (_, d)| {
            acc.merge(d);
            acc
        });

        // Drain: resend everything lost, deliver the rest in a random order, some
        // messages held back and delivered later as one batch per receiver.
        let mut rest = std::mem::take(&mut sim.in_flight);
        rest.append(&mut sim.lost);
        for i in (1..rest.len()).rev() {
            if let Some(k) = net.drain.get(i % net.drain.len().max(1)) {
                rest.swap(i, (*k as usize ^ i) % (i + 1));
            }
        }
        let mut held: Vec<Vec<usize>> = vec![Vec::new(); net.replicas];
        for (n, (i, to)) in rest.into_iter().enumerate() {
            let hold = net.drain.get(n % net.drain.len().max(1)).copied();
            if hold.is_some_and(|k| k % 3 == 0) {
                held[to].push(i);
            } else {
                let d = sim.deltas[i].1.clone();
                sim.deliver(to, &d, "a final delta")?;
            }
        }
        for (to, msgs) in held.iter().enumerate() {
            sim.deliver_msgs(to, msgs, false)?;
        }

        for (i, s) in sim.states.iter().enumerate() {
            ensure_eq(s, &sim.states[0], &format!("replica {i} == replica 0"))?;
        }
        ensure_eq(&sim.states[0], &all_deltas, "replicas == ⊔ all deltas")?;
        ensure_eq(&sim.states[0], &by_states, "delta sync == full-state sync")
    })())
}

#[test]
fn converges_gcounter() {
    qc().quickcheck(prop_converges::<GCounter> as fn(_) -> TestResult);
}

#[test]
fn converges_pncounter() {
    qc().quickcheck(prop_converges::<PnCounter> as fn(_) -> TestResult);
}

#[test]
fn converges_orset_u64() {
    qc().quickcheck(prop_converges::<OrSet<u64>> as fn(_) -> TestResult);
}

#[test]
fn converges_orset_string() {
    qc().quickcheck(prop_converges::<OrSet<String>> as fn(_) -> TestResult);
}

#[test]
fn converges_lww_register() {
    qc().quickcheck(prop_converges::<LwwRegister<String>> as fn(_) -> TestResult);
}

#[test]
fn converges_mv_register() {
    qc().quickcheck(prop_converges::<MvRegister<String>> as fn(_) -> TestResult);
}

#[test]
fn converges_keyspace() {
    qc().quickcheck(prop_converges::<Keyspace> as fn(_) -> TestResult);
}

/// Mid-run, with only some deltas delivered, a replica's state is the join of the
/// deltas it made and received, taken in any order and without duplicates.
#[test]
fn partial_delivery_is_the_join_of_received_deltas() {
    fn prop(net: Network<OrSet<u64>>, pick: usize) -> TestResult {
        let mut states = vec![OrSet::<u64>::new(); net.replicas];
        let mut received: Vec<Vec<usize>> = vec![Vec::new(); net.replicas];
        let mut deltas = Vec::new();
        for ev in &net.events {
            match ev {
                Event::Mutate { at, op } => {
                    let d = states[*at].apply(rid(*at), op);
                    received[*at].push(deltas.len());
                    deltas.push(d);
                }
                Event::Deliver { pick, .. } | Event::Redeliver { pick, .. }
                    if !deltas.is_empty() =>
                {
                    let i = pick % deltas.len();
                    let to = (pick / 7) % net.replicas;
                    states[to].merge(&deltas[i]);
                    received[to].push(i);
                }
                _ => {}
            }
        }
        let r = pick % net.replicas;
        // In creation order, without duplicates: not the order they arrived in.
        received[r].sort_unstable();
        received[r].dedup();
        let join = received[r].iter().fold(OrSet::new(), |mut acc, &i| {
            acc.merge(&deltas[i]);
            acc
        });
        verdict(ensure_eq(
            &states[r],
            &join,
            "state == ⊔ of the deltas it received",
        ))
    }
    qc().quickcheck(prop as fn(_, _) -> TestResult);
}
