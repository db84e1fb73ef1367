//! Three replicas update concurrently, exchange their deltas in a scrambled order
//! (duplicated, some lost and resent), and converge.
//!
//! Run with `cargo run -p crdt-core --example three_replicas`.

use crdt_core::codec::{decode, encode};
use crdt_core::{Crdt, GCounter, LwwRegister, OrSet, PnCounter, ReplicaId};

/// A tiny deterministic shuffle so the run is reproducible (no global RNG).
struct Scrambler(u64);

impl Scrambler {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[derive(Default, Clone)]
struct Replica {
    cart: OrSet<String>,
    visits: GCounter,
    stock: PnCounter,
    title: LwwRegister<String>,
}

/// One delta of any of the replica's objects, encoded as it would travel.
enum Delta {
    Cart(Vec<u8>),
    Visits(Vec<u8>),
    Stock(Vec<u8>),
    Title(Vec<u8>),
}

impl Replica {
    fn apply(&mut self, delta: &Delta) {
        // Deltas arrive as bytes; a peer could send garbage, so decoding is fallible.
        let ok = match delta {
            Delta::Cart(b) => decode(b).map(|d| self.cart.merge(&d)).is_ok(),
            Delta::Visits(b) => decode(b).map(|d| self.visits.merge(&d)).is_ok(),
            Delta::Stock(b) => decode(b).map(|d| self.stock.merge(&d)).is_ok(),
            Delta::Title(b) => decode(b).map(|d| self.title.merge(&d)).is_ok(),
        };
        assert!(ok, "our own encodings always decode");
    }
}

fn main() {
    let ids = [ReplicaId::new(1), ReplicaId::new(2), ReplicaId::new(3)];
    let mut replicas = vec![Replica::default(); 3];
    let mut outbox: Vec<(usize, Delta)> = Vec::new();

    // Round 1: everyone writes concurrently, offline.
    let items = [["milk", "eggs"], ["bread", "milk"], ["apples", "tea"]];
    for (i, r) in replicas.iter_mut().enumerate() {
        for item in items[i] {
            outbox.push((
                i,
                Delta::Cart(encode(&r.cart.insert(ids[i], item.to_string()))),
            ));
        }
        outbox.push((
            i,
            Delta::Visits(encode(&r.visits.increment(ids[i], 10 + i as u64))),
        ));
        outbox.push((i, Delta::Stock(encode(&r.stock.increment(ids[i], 5)))));
        outbox.push((
            i,
            Delta::Stock(encode(&r.stock.decrement(ids[i], i as u64))),
        ));
        // Replica 2's clock is 10 minutes behind: its title still orders by the HLC.
        let now = 1_700_000_000_000 - if i == 2 { 600_000 } else { 0 };
        outbox.push((
            i,
            Delta::Title(encode(&r.title.set(ids[i], format!("list by {i}"), now))),
        ));
    }
    // Replica 0 removes milk concurrently with replica 1's add of milk: add wins.
    outbox.push((
        0,
        Delta::Cart(encode(&replicas[0].cart.remove(&"milk".to_string()))),
    ));

    // Deliver every delta to every other replica, scrambled, some twice, some lost
    // on the first attempt and resent at the end.
    let mut rng = Scrambler(0x5EED);
    let mut deliveries: Vec<(usize, usize)> = Vec::new();
    for (k, (from, _)) in outbox.iter().enumerate() {
        for to in 0..3 {
            if to != *from {
                deliveries.push((k, to));
                if rng.next() % 4 == 0 {
                    deliveries.push((k, to)); // duplicate
                }
            }
        }
    }
    rng.shuffle(&mut deliveries);
    let mut lost = Vec::new();
    let mut sent = 0usize;
    for &(k, to) in &deliveries {
        if rng.next() % 5 == 0 {
            lost.push((k, to));
            continue;
        }
        replicas[to].apply(&outbox[k].1);
        sent += 1;
    }
    println!(
        "delivered {sent} deltas in scrambled order, {} lost",
        lost.len()
    );
    rng.shuffle(&mut lost);
    for &(k, to) in &lost {
        replicas[to].apply(&outbox[k].1);
    }
    println!("resent {} lost deltas", lost.len());

    for (i, r) in replicas.iter().enumerate() {
        let cart: Vec<&str> = r.cart.iter().map(String::as_str).collect();
        println!(
            "replica {i}: cart={cart:?} visits={} stock={} title={:?}",
            r.visits.value(),
            r.stock.value(),
            r.title.get()
        );
    }
    let first = &replicas[0];
    for r in &replicas[1..] {
        assert_eq!(r.cart, first.cart);
        assert_eq!(r.visits, first.visits);
        assert_eq!(r.stock, first.stock);
        assert_eq!(r.title, first.title);
        // Converged replicas encode to identical bytes.
        assert_eq!(encode(&r.cart), encode(&first.cart));
    }
    assert!(
        first.cart.contains(&"milk".to_string()),
        "add wins over a concurrent remove"
    );
    println!("all three replicas converged (byte-identical encodings)");
}
