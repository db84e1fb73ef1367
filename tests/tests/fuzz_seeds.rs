//! `fuzz/seeds/<target>/` holds exactly what `tests::actions::seeds::generate` makes:
//! real encodings of every core type, real sync messages and snapshots of a scripted
//! exchange, pairs of states. They start each fuzz target's corpus past the magic
//! headers that random bytes rarely get through.
//!
//! A normal run only compares (so a stale seed folder fails here, not silently in a
//! fuzzer stuck behind a header). After a change to the wire format, the protocol's
//! messages or a seed history, regenerate and commit:
//! `CRDT_BLESS=1 cargo test -p tests --test fuzz_seeds`.

use std::collections::BTreeMap;
use tests::actions::{seeds, TARGETS};

fn blessing() -> bool {
    std::env::var("CRDT_BLESS").is_ok_and(|v| v == "1")
}

#[test]
fn seed_folders_hold_exactly_the_generated_seeds() {
    let mut stale = Vec::new();
    for target in TARGETS {
        let dir = seeds::repo_root().join("fuzz/seeds").join(target.name);
        let want: BTreeMap<String, Vec<u8>> = seeds::generate(target.name).into_iter().collect();
        if blessing() {
            if dir.exists() {
                std::fs::remove_dir_all(&dir).expect("clear seed folder");
            }
            std::fs::create_dir_all(&dir).expect("create seed folder");
            for (name, bytes) in &want {
                std::fs::write(dir.join(name), bytes).expect("write seed");
            }
            eprintln!("blessed {} ({} seeds)", dir.display(), want.len());
        }
        let have: BTreeMap<String, Vec<u8>> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| {
                        let path = e.ok()?.path();
                        let name = path.file_name()?.to_str()?.to_string();
                        Some((name, std::fs::read(&path).ok()?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if have != want {
            let missing: Vec<_> = want
                .keys()
                .filter(|k| have.get(*k) != want.get(*k))
                .collect();
            let extra: Vec<_> = have.keys().filter(|k| !want.contains_key(*k)).collect();
            stale.push(format!(
                "{}: missing or changed {missing:?}, unexpected {extra:?}",
                dir.display()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "fuzz seeds are stale; regenerate with `CRDT_BLESS=1 cargo test -p tests --test \
         fuzz_seeds` and commit:\n{}",
        stale.join("\n")
    );
}

#[test]
fn sync_seeds_are_real_messages_that_a_leader_accepts() {
    // The point of the sync seeds: they pass the header. At least the first real
    // message of every type must be accepted as it is by the fuzzed receiver.
    use tests::actions::sync::{self, Kind};
    for kind in Kind::ALL {
        let traffic = sync::traffic(kind);
        assert!(
            traffic.messages.len() >= 8,
            "{kind:?}: the scripted exchange sent only {} distinct messages",
            traffic.messages.len()
        );
        assert_eq!(traffic.snapshots.len(), 3, "{kind:?}: snapshots");
        let tag = match kind {
            Kind::GCounter => tag_of::<crdt_core::GCounter>(),
            Kind::PnCounter => tag_of::<crdt_core::PnCounter>(),
            Kind::OrSet => tag_of::<crdt_core::OrSet<u64>>(),
            Kind::Lww => tag_of::<crdt_core::LwwRegister<String>>(),
            Kind::Keyspace => unreachable!("Kind::ALL has no keyspace"),
        };
        for m in traffic.messages.iter().chain(&traffic.snapshots) {
            assert_eq!(
                &sync::seal(tag, sync::body(m)),
                m,
                "{kind:?}: the driver's CRC-32 is the protocol's"
            );
        }
        let first = &traffic.messages[0];
        let accepted = match kind {
            Kind::GCounter => accepts::<crdt_core::GCounter>(first),
            Kind::PnCounter => accepts::<crdt_core::PnCounter>(first),
            Kind::OrSet => accepts::<crdt_core::OrSet<u64>>(first),
            Kind::Lww => accepts::<crdt_core::LwwRegister<String>>(first),
            Kind::Keyspace => unreachable!("Kind::ALL has no keyspace"),
        };
        assert!(accepted, "{kind:?}: the first real message is rejected");
    }
}

fn tag_of<C: crdt_core::codec::WireFormat>() -> u8 {
    C::TYPE_TAG
}

fn accepts<C: tests::actions::sync::SyncType>(msg: &[u8]) -> bool {
    let mut leader = tests::actions::sync::receiver::<C>();
    leader
        .receive(tests::net::rid(tests::actions::sync::SENDER), msg)
        .is_ok()
}
