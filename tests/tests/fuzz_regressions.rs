//! Replays, as a plain `cargo test`, every input the fuzz targets keep: each crash,
//! timeout or OOM input found by fuzzing (`fuzz/artifacts-committed/<target>/` and
//! `crdt-core/tests/fuzz-crashers/<target>/`) and every seed (`fuzz/seeds/<target>/`),
//! through exactly the driver the target runs (`tests::actions`). A driver panics on
//! any violated property, so these tests fail until the bug behind a crasher is fixed.
//!
//! To keep a new crasher: copy it from `fuzz/artifacts/<target>/` into
//! `fuzz/artifacts-committed/<target>/` (see docs/TESTING.md, "Fuzzing").
//!
//! The drivers also run here on deterministic pseudo-random inputs, so the action
//! types and oracles are exercised by every `cargo test`, fuzzer or not.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use tests::actions::{self, model, seeds, Target};

/// The folders whose files are replayed for `target`.
fn folders(target: &str) -> Vec<PathBuf> {
    let root = seeds::repo_root();
    vec![
        root.join("fuzz/artifacts-committed").join(target),
        root.join("crdt-core/tests/fuzz-crashers").join(target),
        root.join("fuzz/seeds").join(target),
    ]
}

fn files(target: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = folders(target)
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "non-string panic".to_string())
}

/// Runs `target`'s driver on every kept input; fails listing each input that panics.
fn replay(name: &str) -> usize {
    let target: Target = actions::target(name).expect("a fuzz target");
    let inputs = files(name);
    let mut failures = Vec::new();
    for path in &inputs {
        let bytes = std::fs::read(path).expect("read input");
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| (target.run)(&bytes))) {
            failures.push(format!("{}: {}", path.display(), panic_text(&*e)));
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} of {} kept inputs fail:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n")
    );
    inputs.len()
}

#[test]
fn decode_core_inputs_replay() {
    assert!(replay("decode_core") > 0, "decode_core has seeds");
}

#[test]
fn decode_sync_inputs_replay() {
    assert!(replay("decode_sync") > 0, "decode_sync has seeds");
}

#[test]
fn merge_untrusted_inputs_replay() {
    assert!(replay("merge_untrusted") > 0, "merge_untrusted has seeds");
}

#[test]
fn ops_model_inputs_replay() {
    assert!(replay("ops_model") > 0, "ops_model has seeds");
}

#[test]
fn retire_untrusted_inputs_replay() {
    assert!(replay("retire_untrusted") > 0, "retire_untrusted has seeds");
}

#[test]
fn every_kept_folder_names_a_target() {
    let root = seeds::repo_root();
    for parent in [
        "fuzz/artifacts-committed",
        "crdt-core/tests/fuzz-crashers",
        "fuzz/seeds",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(parent)) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().is_dir() {
                let name = e.file_name().to_string_lossy().to_string();
                assert!(
                    actions::target(&name).is_some(),
                    "{parent}/{name} names no fuzz target: its inputs would never be replayed"
                );
            }
        }
    }
}

/// SplitMix64 bytes from a fixed seed.
fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

#[test]
fn drivers_survive_pseudo_random_inputs() {
    for target in actions::TARGETS {
        for seed in 0..64u64 {
            let data = pseudo_random(seed * 7919 + 1, 16 + (seed as usize * 37) % 700);
            (target.run)(&data);
        }
    }
}

#[test]
fn drivers_survive_mutated_seeds() {
    // Cheap stand-in for a fuzzer between fuzz runs: flip bytes of every seed.
    for target in actions::TARGETS {
        for (i, (_, seed)) in seeds::generate(target.name).into_iter().enumerate() {
            for k in 0..4usize {
                let mut data = seed.clone();
                if data.is_empty() {
                    continue;
                }
                let noise = pseudo_random((i * 4 + k) as u64, 3);
                let at = (usize::from(noise[0]) * 7 + k * 13) % data.len();
                data[at] ^= noise[1] | 1;
                (target.run)(&data);
            }
        }
    }
}

#[test]
fn ops_model_scenario_partition_restart_and_heal() {
    let world = model::run_actions(&model::scenario("partition_restart_heal"));
    let set = world
        .set
        .net
        .leaders
        .values()
        .next()
        .expect("leader")
        .state();
    // 4 was inserted after leader 1's snapshot and never left it before the crash.
    assert!(!set.contains(&4), "a write lost in the crash is gone");
}

/// The documented restore contract: snapshot right after `Leader::restore`, and before
/// writing. A restored leader that is persisted that way and then only *receives*
/// (a read replica, or a writer with nothing to write for a while) must still get
/// repaired and converge: it must not wait for another snapshot before it asks.
#[test]
fn ops_model_restored_leader_persisted_only_as_documented_converges() {
    let world = model::run_actions_with(&model::scenario("partition_restart_heal"), false);
    assert!(world.set.net.converged() && world.counter.net.converged());
}

#[test]
fn ops_model_oracle_catches_a_lost_or_resurrected_write() {
    // The simulator's oracle, as the model feeds it, is not vacuous: a converged set
    // missing an acknowledged insert, or one whose element vanished without a remove,
    // fails its final check.
    use crdt_core::OrSet;
    let world = model::run_actions(&model::scenario("writes"));
    let good = world.set.state().clone();
    assert!(good.contains(&1) && good.contains(&2));
    world
        .set
        .check_final(&good)
        .expect("the converged state passes");
    let empty: OrSet<u64> = OrSet::new();
    assert!(
        world.set.check_final(&empty).is_err(),
        "a lost insert is caught"
    );
    let mut vanished = good.clone();
    let _ = vanished.remove(&1);
    assert!(
        world.set.check_final(&vanished).is_err(),
        "an element removed without an acknowledged remove is caught"
    );
}

#[test]
fn ops_model_counter_and_register_oracles_catch_wrong_states() {
    use crdt_core::{LwwRegister, PnCounter, ReplicaId};
    let world = model::run_actions(&model::scenario("writes"));
    let good = world.counter.state().clone();
    assert_eq!(good.value(), 3);
    world
        .counter
        .check_final(&good)
        .expect("the converged counter passes");
    assert!(
        world.counter.check_final(&PnCounter::new()).is_err(),
        "lost increments are caught"
    );
    let mut double = good.clone();
    let writer = double.iter().next().expect("an entry").0;
    let _ = double.increment(writer, 1);
    assert!(
        world.counter.check_final(&double).is_err(),
        "a total no prefix of the writes explains is caught"
    );
    let reg = world.register.state().clone();
    assert_eq!(reg.get().map(String::as_str), Some("v3"));
    world
        .register
        .check_final(&reg)
        .expect("the converged register passes");
    assert!(
        world
            .register
            .check_final(&LwwRegister::<String>::new())
            .is_err(),
        "a lost assignment is caught"
    );
    let mut forged = reg.clone();
    let _ = forged.set(ReplicaId::new(99), "v5".to_string(), u64::MAX / 2);
    assert!(
        world.register.check_final(&forged).is_err(),
        "a value nobody wrote is caught"
    );
}

#[test]
fn ops_model_restarts_from_older_snapshots_keep_every_durable_write() {
    // Amnesia: a leader restarts from its first snapshot, twice, while its peers are
    // cut off and its late messages are still in flight; the two restored copies take
    // different incarnations (nonces), so nothing is issued twice, and every write
    // that another leader held survives.
    let world = model::run_actions(&model::scenario("amnesia"));
    assert!(world.set.restores == 2 && world.set.net.converged());
    assert!(world.set.state().contains(&1) && world.set.state().contains(&2));
}

#[test]
fn ops_model_late_messages_of_crashed_copies_displace_the_restored_one() {
    // Which interleavings displace a copy depends on the protocol's details (each
    // change to probing moves them), so this checks the run and reports, rather than
    // requires, the displacement.
    let world = model::run_actions(&model::scenario("displaced"));
    let displacements =
        world.set.displacements + world.counter.displacements + world.register.displacements;
    assert_eq!(world.set.restores, 2);
    eprintln!("displaced scenario: {displacements} displacement(s)");
}

#[test]
fn ops_model_scenarios_encode_to_bytes_that_parse_back() {
    for (name, actions) in model::scenarios() {
        let bytes = model::encode_actions(&actions);
        assert_eq!(model::parse(&bytes), actions, "scenario {name}");
    }
}

#[test]
fn action_streams_use_every_byte() {
    // `tests::actions::take` reads no continuation flags: random bytes give many
    // actions, not one or two.
    let data = pseudo_random(99, 600);
    let actions = model::parse(&data);
    assert!(
        actions.len() > 100,
        "600 random bytes gave {} actions",
        actions.len()
    );
}

/// `fuzz/artifacts-committed/decode_sync/crash-14b0d3ab…`, spelled out: probes and
/// probe replies from the peer, crafted by the driver. crdt-sync c11dbff gave probes a
/// number (a probe without one is malformed); the driver's crafted probes lacked it.
#[test]
fn decode_sync_probes_need_a_number_and_replies_echo_it() {
    use tests::actions::sync::{self, Kind, Mode, Step};
    // A little-endian u32 choosing variant `i` of the 8 `Step`s, then the fields.
    fn variant(i: u64) -> [u8; 4] {
        ((i << 32).div_ceil(8) as u32).to_le_bytes()
    }
    let probe = |inc: u64, number: u32, reply: Option<Option<u64>>| {
        let mut b = variant(6).to_vec();
        b.extend(inc.to_le_bytes());
        b.extend(number.to_le_bytes());
        match reply {
            None => b.push(0),
            Some(known) => {
                b.push(1);
                match known {
                    None => b.push(0),
                    Some(k) => {
                        b.push(1);
                        b.extend(k.to_le_bytes());
                    }
                }
            }
        }
        b
    };
    let mut steps = probe(0, 0, None); // no number: rejected
    steps.extend(probe(0, 7, None)); // accepted, answered
    steps.extend(probe(0, 0, Some(Some(1 << 32)))); // a notice naming a newer receiver
    steps.extend(variant(4)); // Restart
    steps.extend(probe(3, 9, Some(None))); // an answer to another probe
    steps.extend(variant(7)); // AnswerProbe
    steps.push(0);
    let parsed: Vec<Step> = tests::actions::take(&steps, 64);
    assert_eq!(
        parsed,
        vec![
            Step::Probe {
                inc: 0,
                probe: 0,
                reply: None
            },
            Step::Probe {
                inc: 0,
                probe: 7,
                reply: None
            },
            Step::Probe {
                inc: 0,
                probe: 0,
                reply: Some(Some(1 << 32))
            },
            Step::Restart,
            Step::Probe {
                inc: 3,
                probe: 9,
                reply: Some(None)
            },
            Step::AnswerProbe { known: None },
        ],
        "the bytes spell these steps"
    );
    for kind in Kind::ALL {
        let mut input = vec![sync::selector(kind, Mode::Real)];
        input.extend(&steps);
        sync::run(&input);
    }
}
