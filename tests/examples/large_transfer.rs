//! A 200 MiB state reaches a new peer under a 1 MiB message limit, with bounded memory
//! at both ends (issue 10, item 1).
//!
//! The sender holds an OR-Set whose canonical encoding is about 200 MiB; a new, empty
//! peer joins. Every message on the wire must stay under `message_bytes_max` (1 MiB);
//! the whole state goes as one repair in fragments and is applied once complete. Each
//! leader runs on its own thread, and a counting allocator measures the most bytes each
//! thread held at once during the transfer (beyond what it held before): the sender's
//! encoded repair and one fragment; the receiver's fragments so far, the decoded
//! repair and its new state. The run fails if a message exceeds the limit, if the
//! states differ afterwards, or if either end held more than 4x the encoded state.
//!
//! `cargo run --release -p tests --example large_transfer [MiB]` (default 200).

use alloc_counter::{measure, CountingAlloc};
use crdt_core::codec::encode;
use crdt_core::{OrSet, OrSetOp, ReplicaId};
use crdt_sync::Config;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tests::new_leader_with;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const LIMIT: usize = 1 << 20;
const ELEMENT_BYTES: usize = 1000;

enum Wire {
    Bytes(Vec<u8>),
    Tick,
    Done,
}

fn config() -> Config {
    Config {
        message_bytes_max: LIMIT,
        buffer_bytes_max: 512 << 20,
        ..Config::DEFAULT
    }
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .map_or(200, |a| a.parse().expect("size in MiB"));
    let (a, b) = (ReplicaId::new(1), ReplicaId::new(2));
    let started = Instant::now();
    let mut sender = new_leader_with(a, OrSet::<String>::new(), config());
    let elements = (mib << 20) / (ELEMENT_BYTES + 3);
    let filler = "x".repeat(ELEMENT_BYTES - 8);
    for i in 0..elements {
        let _ = sender
            .apply(OrSetOp::Insert(format!("{i:08}{filler}")))
            .expect("write");
    }
    // The writes are collected (no peer yet); the new peer is repaired from summaries.
    sender.add_peer(b).expect("peer");
    let state_bytes = encode(sender.state()).len();
    println!(
        "state: {elements} elements, {:.1} MiB encoded (built in {:.1?})",
        state_bytes as f64 / f64::from(1 << 20),
        started.elapsed()
    );

    let (to_receiver, receiver_in) = mpsc::sync_channel::<Wire>(8);
    let (to_sender, sender_in) = mpsc::sync_channel::<Wire>(64);
    let transfer = Instant::now();
    let receiver = std::thread::spawn(move || {
        let (result, stats) = measure(move || {
            let mut leader = new_leader_with(b, OrSet::<String>::new(), config());
            leader.add_peer(a).expect("peer");
            let mut largest = 0;
            loop {
                match receiver_in.recv().expect("sender alive") {
                    Wire::Bytes(m) => {
                        largest = largest.max(m.len());
                        leader.receive(a, &m).expect("valid message");
                    }
                    Wire::Tick => leader.tick(),
                    Wire::Done => break,
                }
                while let Some(t) = leader.poll_transmit() {
                    largest = largest.max(t.payload.len());
                    if to_sender.send(Wire::Bytes(t.payload)).is_err() {
                        break;
                    }
                }
            }
            (leader, largest)
        });
        (result, stats)
    });

    let ((sender, sender_largest, rounds), sender_stats) = measure(move || {
        let mut sender = sender;
        let mut largest = 0;
        let mut rounds = 0u32;
        let mut quiet = 0;
        while quiet < 3 && rounds < 10_000 {
            rounds += 1;
            let mut sent = false;
            while let Some(t) = sender.poll_transmit() {
                largest = largest.max(t.payload.len());
                to_receiver
                    .send(Wire::Bytes(t.payload))
                    .expect("receiver alive");
                sent = true;
            }
            // Answers from the receiver (acknowledgements of fragments, its digest).
            let mut heard = false;
            while let Ok(Wire::Bytes(m)) = sender_in.recv_timeout(Duration::from_millis(20)) {
                sender.receive(b, &m).expect("valid message");
                heard = true;
                while let Some(t) = sender.poll_transmit() {
                    largest = largest.max(t.payload.len());
                    to_receiver
                        .send(Wire::Bytes(t.payload))
                        .expect("receiver alive");
                }
            }
            if !sent && !heard {
                quiet += 1;
                sender.tick();
                to_receiver.send(Wire::Tick).expect("receiver alive");
            } else {
                quiet = 0;
            }
        }
        to_receiver.send(Wire::Done).expect("receiver alive");
        (sender, largest, rounds)
    });
    let ((receiver, receiver_largest), receiver_stats) = receiver.join().expect("receiver");
    let elapsed = transfer.elapsed();

    let same = encode(sender.state()) == encode(receiver.state());
    eprintln!(
        "sender {:?}\nreceiver {:?}",
        sender.metrics(),
        receiver.metrics()
    );
    let m = sender.metrics();
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    println!(
        "transfer: {:.1?}, {rounds} rounds, {} messages ({} fragments, {} transfer), {:.1} MiB sent",
        elapsed,
        m.messages_sent,
        m.fragments_sent,
        m.transfers_sent,
        mib(m.bytes_sent)
    );
    println!(
        "largest message: sender {sender_largest} B, receiver {receiver_largest} B (limit {LIMIT} B)"
    );
    println!(
        "peak memory during the transfer: sender {:.1} MiB ({:.2}x the encoded state), receiver {:.1} MiB ({:.2}x)",
        mib(sender_stats.peak),
        sender_stats.peak as f64 / state_bytes as f64,
        mib(receiver_stats.peak),
        receiver_stats.peak as f64 / state_bytes as f64,
    );
    let mut failed = Vec::new();
    if !same {
        failed.push("the new peer's state differs from the sender's".to_string());
    }
    if sender_largest > LIMIT || receiver_largest > LIMIT {
        failed.push("a message exceeded message_bytes_max".to_string());
    }
    if m.unsendable > 0 {
        failed.push(format!("{} messages were not sent", m.unsendable));
    }
    for (end, peak) in [
        ("sender", sender_stats.peak),
        ("receiver", receiver_stats.peak),
    ] {
        if peak > 4 * state_bytes as u64 {
            failed.push(format!(
                "the {end} held {peak} B at once, over 4x the state"
            ));
        }
    }
    if failed.is_empty() {
        println!("ok: the whole state arrived in messages under the limit");
    } else {
        for f in &failed {
            eprintln!("FAILED: {f}");
        }
        std::process::exit(1);
    }
}
