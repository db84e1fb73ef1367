//! Generators shared by the codec tests (`codec_roundtrip.rs`, `codec_hostile.rs`).
//!
//! A history is a list of random steps played on three replicas: local mutations
//! (each logged as a delta), delivery of single logged deltas to any replica (out of
//! order, duplicated, or never: causal gaps), full-state merges between replicas, and
//! batches of logged deltas joined into one delta (which keeps removal hints for
//! OR-Sets) before delivery. The outcome is every replica state and every delta.
#![allow(dead_code)]

use crdt_core::codec::{encode, WireFormat, WireValue};
use crdt_core::{
    CausalContext, Crdt, Dot, GCounter, Keyspace, KeyspaceOp, LwwRegister, MvRegister, OrSet,
    PnCounter, ReplicaId, ValueOp, VersionVector,
};
use quickcheck::{QuickCheck, TestResult};
use std::fmt::Debug;

/// The three replicas' ids: one-, two- and six-byte varints.
pub const REPLICAS: [ReplicaId; 3] = [
    ReplicaId::new(1),
    ReplicaId::new(200),
    ReplicaId::new(1 << 35),
];

/// One step of a history: (actor, kind, argument).
pub type Step = (u8, u8, u16);

/// The QuickCheck configuration every property uses.
pub fn qc() -> QuickCheck {
    QuickCheck::new().tests(1000).max_tests(10000)
}

/// A type under test: how to make its states, deltas and local mutations.
pub trait Model: Crdt + Clone + PartialEq + Debug + WireFormat + 'static {
    /// A replica's initial state.
    fn fresh() -> Self;

    /// The empty accumulator for a batch of deltas.
    fn batch() -> Self {
        Self::fresh()
    }

    /// A local mutation on behalf of `replica`, chosen by `arg`; returns the delta.
    fn mutate(&mut self, replica: ReplicaId, arg: u16) -> Self;

    /// `Some(has_removal_hints())` for OR-Sets.
    fn hints(&self) -> Option<bool> {
        None
    }

    /// The type's own invariant check, where it has one.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A counter increment of varied magnitude (small, mid-sized, or saturating fast).
fn amount(x: u16) -> u64 {
    match x % 16 {
        0..=11 => u64::from(x % 7),
        12..=14 => u64::from(x) << 20,
        _ => u64::MAX / 3,
    }
}

impl Model for GCounter {
    fn fresh() -> Self {
        GCounter::new()
    }

    fn mutate(&mut self, replica: ReplicaId, arg: u16) -> Self {
        self.increment(replica, amount(arg >> 4))
    }
}

impl Model for PnCounter {
    fn fresh() -> Self {
        PnCounter::new()
    }

    fn mutate(&mut self, replica: ReplicaId, arg: u16) -> Self {
        if arg % 2 == 0 {
            self.increment(replica, amount(arg >> 4))
        } else {
            self.decrement(replica, amount(arg >> 4))
        }
    }
}

impl Model for VersionVector {
    fn fresh() -> Self {
        VersionVector::new()
    }

    fn mutate(&mut self, replica: ReplicaId, arg: u16) -> Self {
        let step = match arg % 16 {
            0..=11 => 1,
            12..=14 => u64::from(arg >> 4),
            _ => u64::MAX / 2,
        };
        let to = self.get(replica).saturating_add(step);
        self.advance(replica, to);
        [(replica, to)].into_iter().collect()
    }
}

impl Model for CausalContext {
    fn fresh() -> Self {
        CausalContext::new()
    }

    fn mutate(&mut self, replica: ReplicaId, arg: u16) -> Self {
        let x = u64::from(arg >> 4);
        let mut delta = CausalContext::new();
        match arg % 16 {
            // The next dot of the actor (causal order).
            0..=6 => {
                if let Some(dot) = self.next_dot(replica) {
                    delta.insert(dot);
                }
            }
            // Any replica's dot from a small range: gaps and re-inserts.
            7..=11 => delta.insert(Dot::new(REPLICAS[(x % 3) as usize], x % 24 + 1)),
            // A run.
            12..=14 => {
                let first = x % 24 + 1;
                delta.insert_run(replica, first, first + x % 5);
            }
            // Far away: large counters.
            _ => delta.insert(Dot::new(replica, u64::MAX - x % 3)),
        }
        self.merge(&delta);
        delta
    }
}

/// Element values generated from a small number (mostly colliding, sometimes large).
pub trait Elem: WireValue + Debug + 'static {
    /// The element named by `x` (0..4096).
    fn from_arg(x: u16) -> Self;
}

impl Elem for u64 {
    fn from_arg(x: u16) -> Self {
        match x {
            0..=3799 => u64::from(x % 6),
            3800..=3999 => u64::from(x) * 1_000_003,
            _ => u64::MAX - u64::from(x % 3),
        }
    }
}

impl Elem for String {
    fn from_arg(x: u16) -> Self {
        match x {
            0..=3799 => format!("e{}", x % 6),
            3800..=3899 => String::new(),
            // 140+ bytes: a two-byte length varint, and non-ASCII.
            _ => format!("{}{}", "λ".repeat(70), x % 3),
        }
    }
}

impl<T: Elem> Model for OrSet<T> {
    fn fresh() -> Self {
        OrSet::new()
    }

    fn batch() -> Self {
        crdt_core::OrSetDelta::new().into_set()
    }

    fn mutate(&mut self, replica: ReplicaId, arg: u16) -> Self {
        let value = T::from_arg(arg >> 4);
        let delta = match arg % 16 {
            0..=8 => self.insert(replica, value),
            9..=14 => self.remove(&value),
            _ => self.clear(),
        };
        delta.into_set()
    }

    fn hints(&self) -> Option<bool> {
        Some(self.has_removal_hints())
    }

    fn check(&self) -> Result<(), String> {
        self.check_invariants().map_err(|e| e.to_string())
    }
}

impl Model for LwwRegister<String> {
    fn fresh() -> Self {
        LwwRegister::new()
    }

    fn mutate(&mut self, replica: ReplicaId, arg: u16) -> Self {
        let x = arg >> 4;
        let value = match x % 5 {
            0 => String::new(),
            1 => "é".repeat(80),
            n => format!("v{n}"),
        };
        // Wall clocks that jump around (skew, going backwards).
        let now = u64::from(x) * 7 + if arg % 16 == 15 { 1 << 45 } else { 0 };
        self.set(replica, value, now)
    }

    fn check(&self) -> Result<(), String> {
        self.check_invariants().map_err(|e| e.to_string())
    }
}

/// The outcome of a history.
#[derive(Debug, Clone)]
pub struct Outcome<S> {
    /// The three replicas' final states.
    pub replicas: Vec<S>,
    /// Every delta made: local mutations' deltas and joined batches, in order.
    pub deltas: Vec<S>,
}

impl<S: Model> Outcome<S> {
    /// Every value of the history: replica states and deltas.
    pub fn values(&self) -> impl Iterator<Item = &S> {
        self.replicas.iter().chain(&self.deltas)
    }
}

/// Plays `steps` on three replicas.
pub fn simulate<S: Model>(steps: &[Step]) -> Outcome<S> {
    let mut replicas = vec![S::fresh(), S::fresh(), S::fresh()];
    let mut deltas: Vec<S> = Vec::new();
    for &(actor, kind, arg) in steps {
        let i = usize::from(actor % 3);
        let pick = |n: usize| usize::from(arg) % n;
        match kind % 10 {
            0..=4 => {
                let d = replicas[i].mutate(REPLICAS[i], arg);
                deltas.push(d);
            }
            5 | 6 if !deltas.is_empty() => {
                let d = &deltas[pick(deltas.len())];
                replicas[i].merge(d);
            }
            7 => {
                let j = (i + 1 + usize::from(arg % 2)) % 3;
                let other = replicas[j].clone();
                replicas[i].merge(&other);
            }
            8 if !deltas.is_empty() => {
                let from = pick(deltas.len());
                let to = (from + usize::from(arg >> 12) + 1).min(deltas.len());
                let mut acc = S::batch();
                for d in &deltas[from..to] {
                    acc.merge(d);
                }
                replicas[i].merge(&acc);
                deltas.push(acc);
            }
            _ => {
                let d = replicas[i].mutate(REPLICAS[i], arg.rotate_left(5));
                deltas.push(d);
            }
        }
    }
    Outcome { replicas, deltas }
}

/// A small deterministic generator (splitmix64) for shuffles and groupings.
pub struct Rng(pub u64);

impl Rng {
    /// The next pseudo-random number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n >= 1`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Shuffles `items` in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// Lowercase hex, for messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `decode(encode(v)) == v`, hints preserved, re-encoding identical, invariants hold.
pub fn check_roundtrip<S: Model>(v: &S) -> Result<(), String> {
    let bytes = encode(v);
    let back: S = crdt_core::codec::decode(&bytes).map_err(|e| {
        format!(
            "decode of own encoding failed: {e:?}\nvalue {v:?}\nbytes {}",
            hex(&bytes)
        )
    })?;
    if back != *v {
        return Err(format!("decoded {back:?} != original {v:?}"));
    }
    if back.hints() != v.hints() {
        return Err(format!(
            "removal hints not preserved: {:?} -> {:?} for {v:?}",
            v.hints(),
            back.hints()
        ));
    }
    let again = encode(&back);
    if again != bytes {
        return Err(format!(
            "re-encoding differs:\n first {}\nsecond {}",
            hex(&bytes),
            hex(&again)
        ));
    }
    back.check()
}

/// Turns a check into a QuickCheck result.
pub fn verdict(r: Result<(), String>) -> TestResult {
    match r {
        Ok(()) => TestResult::passed(),
        Err(msg) => TestResult::error(msg),
    }
}

impl Model for MvRegister<String> {
    fn fresh() -> Self {
        MvRegister::new()
    }

    fn mutate(&mut self, replica: ReplicaId, arg: u16) -> Self {
        let value = match (arg >> 4) % 5 {
            0 => String::new(),
            1 => "é".repeat(80),
            n => format!("v{n}"),
        };
        self.set(replica, value)
    }

    fn check(&self) -> Result<(), String> {
        self.check_invariants().map_err(|e| e.to_string())
    }
}

/// A keyspace operation chosen by `arg`: one of four keys, any type (writes of a type
/// the key does not hold are refused: the delta is then empty; concurrent first writes
/// of different types make type conflicts).
pub fn keyspace_op(arg: u16) -> KeyspaceOp {
    let key = format!("k{}", (arg >> 4) % 4);
    let x = u64::from(arg >> 6);
    let element = format!("e{}", x % 3);
    let op = match arg % 16 {
        0..=1 => ValueOp::GCounterIncrement(x % 5),
        2 => ValueOp::PnCounterIncrement(x % 5),
        3 => ValueOp::PnCounterDecrement(x % 7),
        4..=5 => ValueOp::OrSetInsert(element),
        6 => ValueOp::OrSetRemove(element),
        7..=8 => ValueOp::LwwSet {
            value: format!("l{}", x % 3),
            now_ms: x * 7 % 20,
        },
        9..=10 => ValueOp::MvRegisterSet(format!("m{}", x % 3)),
        11 => ValueOp::GCounterIncrement(u64::MAX / 3),
        _ => return KeyspaceOp::Delete { key },
    };
    KeyspaceOp::Write { key, op }
}

impl Model for Keyspace {
    fn fresh() -> Self {
        Keyspace::new()
    }

    fn mutate(&mut self, replica: ReplicaId, arg: u16) -> Self {
        self.apply(replica, keyspace_op(arg)).unwrap_or_default()
    }

    fn check(&self) -> Result<(), String> {
        self.check_invariants().map_err(|e| e.to_string())
    }
}
