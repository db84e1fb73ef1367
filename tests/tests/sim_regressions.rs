//! The simulator's regressions, honestly named.
//!
//! **Traces** (`tests/traces/<bug>.trace`, tests in `sim_traces.rs` and, with
//! `--features sabotage`, `sabotage.rs`) are the regression tests that test what
//! their names say: each is the explicit, shrunk schedule on which a planted bug
//! failed, replayed event by event without a seed; it passes on the real code and
//! fails again when its bug is planted back. Every future simulator failure becomes
//! such a file and a named test (`docs/TESTING.md`, *Traces*).
//!
//! **Hand-written minimal schedules** below reproduce protocol bugs the simulator once
//! found, step by step through the public API: they test what their names say.
//!
//! **`fixed_seed_N_stays_green`**: plain seeds, *not* bug reproductions. Each seed once
//! failed (its doc says what it found then, and on which commit), but a seed is a
//! schedule only while the simulator draws the same numbers in the same order
//! (`tests/src/sim/params.rs`, every draw of `sim/world.rs`), and the simulator has
//! changed since: each now replays a different, still valid schedule. They stay as
//! cheap extra seeds. The bugs they found were protocol bugs in `crdt-sync` (no
//! sabotage switch can plant them back without hooks in `crdt-sync`) or false alarms
//! of the simulator's own checker; none is kept as a trace yet.

use crdt_core::GCounter;
use crdt_sync::{Config, Leader, SyncError};
use tests::net::{rid, Net};
use tests::new_leader_with;
use tests::sim::{command_line, run_seed, Options};
use tests::SaveExt;

fn passes(seed: u64, opts: &Options) {
    let r = run_seed(seed, opts);
    assert!(
        r.passed(),
        "{}\nswarm: {}\nreplay: {}",
        r.violation.map(|v| v.to_string()).unwrap_or_default(),
        r.params,
        command_line(seed, opts)
    );
}

fn seed(seed: u64) {
    passes(seed, &Options::default());
}

fn same_address(seed: u64) {
    passes(
        seed,
        &Options {
            twin_same_address: true,
            ..Options::default()
        },
    );
}

// ---------------------------------------------------------------------------------
// Protocol bugs found on 07041c4 (before ffc714c), fixed since. On that commit 52 of
// the first 2000 seeds failed; one of each kind is kept.

/// Plain seed. Once: A restarted leader applied a Repair computed for its previous incarnation and
/// adopted the sender's whole causal token: `covers` claimed an OR-Set add it lacked.
#[test]
fn fixed_seed_30_stays_green() {
    seed(30);
}

/// Plain seed. Once: Same bug on a PN-Counter: the token covered decrements the entry did not reach.
#[test]
fn fixed_seed_45_stays_green() {
    seed(45);
}

/// Plain seed. Once: Same bug on a G-Counter: the token covered writes the entry did not reach.
#[test]
fn fixed_seed_163_stays_green() {
    seed(163);
}

/// Plain seed. Once: Same bug on an LWW register: the context had not seen writes the token covered.
#[test]
fn fixed_seed_1075_stays_green() {
    seed(1075);
}

/// Plain seed. Once: A reply present without its post (causal consistency) after a stale repair.
#[test]
fn fixed_seed_402_stays_green() {
    seed(402);
}

/// Plain seed. Once: A PN-Counter entry mixing two prefixes of its writer's writes.
#[test]
fn fixed_seed_279_stays_green() {
    seed(279);
}

// ---------------------------------------------------------------------------------
// Checker and simulator bugs (false alarms) found while building the simulator: these
// seeds must pass.

/// Plain seed. Once: A shared writer's counter entry is any total one of its copies reached (the first
/// copy's totals were not counted).
#[test]
fn fixed_seed_29_stays_green() {
    seed(29);
}

/// Plain seed. Once: The operator's replacement of a retired leader was linked before it existed (panic).
#[test]
fn fixed_seed_28_stays_green() {
    seed(28);
}

/// Plain seed. Once: amnesia rewound a lineage's incarnations (a later plain crash reused one).
/// Since 4f15461 no restore reuses an incarnation; later (3b75830) the seed found that
/// a probe's floor must skip neighbours behind a shared address (either copy there
/// may answer the probe).
#[test]
fn fixed_seed_146_stays_green() {
    seed(146);
}

/// Plain seed. Once: Same as 146 (several rewinds), on an OR-Set.
#[test]
fn fixed_seed_275_stays_green() {
    seed(275);
}

/// Plain seed. Once: A remove that observed a shared writer's dot is not checked against that dot.
#[test]
fn fixed_seed_1861_stays_green() {
    seed(1861);
}

/// Plain seed. Once: A replacement leader must be repaired before the cluster counts as quiescent, and a
/// leader restored from a snapshot older than a link re-applies its configured links.
#[test]
fn fixed_seed_294_stays_green() {
    seed(294);
}

/// Plain seed. Once: Two flips of the same bit cancel out: corruption flips distinct bits.
#[test]
fn fixed_seed_21_stays_green() {
    seed(21);
}

/// Plain seed. Once: A leader restored from a snapshot taken under a shared writer id stays exempt from
/// the per-step checks (its state was built from messages meant for the other copy).
#[test]
fn fixed_seed_1672_stays_green() {
    seed(1672);
}

/// Plain seed. Once: A restored leader waiting for its snapshot when the liveness phase began: the
/// scheduled `Persist` went with the event queue, and it never became writable again
/// (the operator persists every pending snapshot at the heal).
#[test]
fn fixed_seed_476_stays_green() {
    seed(476);
}

/// Plain seed. Once: A restored twin behind its original's address: the probe floor counted the other
/// copy's answer (the neighbour that forgot "1" when the operator reconnected it must
/// not count).
#[test]
fn fixed_seed_876_stays_green() {
    same_address(876);
}

/// Plain seed. Once: Two restored copies behind one address displace each other: the cluster is not
/// quiescent while one of them probes, and leapfrogging copies that the cluster falls
/// silent on before `DISPLACEMENTS_MAX` are noted, not failed (no dot is shared).
#[test]
fn fixed_seed_484_stays_green() {
    same_address(484);
}

// ---------------------------------------------------------------------------------
// Protocol bugs found on 4f15461 ("zombie" amnesia, reused incarnations) and fixed by
// a1d439b, 44b67de (restored leaders probe their peers first) and 4f15461 (a nonce
// makes every incarnation unique).

/// Plain seed. Once: Amnesia restored incarnation 8 where the peer knew 9: endless repairs both ways,
/// each ignored by the other (stale / for another incarnation).
#[test]
fn fixed_seed_1606_stays_green() {
    seed(1606);
}

/// Plain seed. Once: Amnesia restored an old incarnation: its peers dropped everything it sent.
#[test]
fn fixed_seed_1935_stays_green() {
    seed(1935);
}

/// Plain seed. Once: Amnesia zombie on a G-Counter, restored from its first snapshot: never repaired
/// (the repairs named the newer incarnation, its requests were stale), diverged.
#[test]
fn fixed_seed_2316_stays_green() {
    seed(2316);
}

/// Plain seed. Once: Amnesia zombie on an OR-Set restored empty: it stayed empty.
#[test]
fn fixed_seed_9346_stays_green() {
    seed(9346);
}

/// Plain seed. Once: Two processes behind one address (`--twin-same-address`): the twin restored from
/// the original's snapshot was one incarnation ahead, so the neighbour dropped the
/// original's messages from then on. Now the original is told (a displacement notice)
/// and, never restored, reports the conflict.
#[test]
fn fixed_seed_55_stays_green() {
    same_address(55);
}

/// Plain seed. Once: Same, where the zombie's only link was that neighbour: its acknowledged writes never
/// reached anyone and the states diverged.
#[test]
fn fixed_seed_157_stays_green() {
    same_address(157);
}

/// Plain seed. Once: A leader restored from an older snapshot whose next incarnation had already run
/// reused it: repairs meant for the other copy polluted an honest leader's token (an
/// OR-Set add it lacked), also after the reused id was detected.
#[test]
fn fixed_seed_10967_stays_green() {
    seed(10967);
}

/// Plain seed. Once: The same on a G-Counter.
#[test]
fn fixed_seed_6860_stays_green() {
    seed(6860);
}

/// Plain seed. Once: The same on a PN-Counter: an honest entry mixed two prefixes of a writer's writes.
#[test]
fn fixed_seed_3503_stays_green() {
    seed(3503);
}

/// The minimal schedule of the zombie, now handled: leader 1 restarts twice (its
/// peer saw incarnation 2), then is restored from its first snapshot. It probes, takes
/// an incarnation above 2 under a writer id of its own, gets its lost writes back, and
/// its new write reaches the peer.
#[test]
fn amnesia_zombie_minimal_schedule() {
    let mut net = Net::<GCounter>::mesh(&[1, 2]);
    net.apply(1, tests::inc(1)).expect("write");
    net.settle(5).expect("converges");
    let oldest = net.leader(1).save();
    let mut writers = vec![net.leader(1).writer_id()];
    for nonce in [11, 12] {
        let snap = net.leader(1).save();
        let restarted = Leader::<GCounter>::restore_with_nonce(&snap, Config::default(), nonce)
            .expect("restore");
        net.leaders.insert(rid(1), restarted);
        net.settle(10).expect("converges after a restart");
        let _ = net.leader(1).save();
        net.apply(1, tests::inc(1)).expect("write");
        writers.push(net.leader(1).writer_id());
        net.settle(10).expect("converges");
    }
    assert_eq!(net.leader(1).incarnation().counter(), 2);
    let zombie =
        Leader::<GCounter>::restore_with_nonce(&oldest, Config::default(), 13).expect("restore");
    assert_eq!(zombie.can_write(), Err(SyncError::Restoring));
    net.leaders.insert(rid(1), zombie);
    net.run(10);
    assert_eq!(
        net.leader(1).can_write(),
        Err(SyncError::CheckpointRequired)
    );
    assert_eq!(
        net.leader(1).incarnation().counter(),
        3,
        "above the 2 its peer saw"
    );
    assert!(
        !writers.contains(&net.leader(1).writer_id()),
        "a writer id of its own"
    );
    let _ = net.leader(1).save();
    net.apply(1, tests::inc(5)).expect("write");
    net.settle(40).expect("converges");
    assert_eq!(net.leader(2).state().value(), 8);
    assert_eq!(
        net.leader(1).state().value(),
        8,
        "its lost writes came back"
    );
    assert!(net.errors.is_empty(), "{:?}", net.errors);
}

// ---------------------------------------------------------------------------------
// Protocol bugs found on 3b75830 by this simulator (adapted to probes and nonces),
// fixed by 3917cb6 and c11dbff.

/// Plain seed. Once: A restored copy took the delayed answer to a crashed copy's probe for its own,
/// picked that copy's restart counter again and was displaced (c11dbff: probe ids).
#[test]
fn fixed_seed_623_stays_green() {
    seed(623);
}

/// Plain seed. Once: The same, with the stale answer from an earlier round of a crash loop.
#[test]
fn fixed_seed_1831_stays_green() {
    seed(1831);
}

/// Plain seed. Once: The same on a star without a twin.
#[test]
fn fixed_seed_543_stays_green() {
    seed(543);
}

/// Plain seed. Once: A twin acknowledged for the original: the sender sent intervals from k+1 to a peer
/// record that had received nothing, which dropped them without asking for a repair
/// (3917cb6).
#[test]
fn fixed_seed_11_stays_green() {
    seed(11);
}

/// Plain seed. Once: Two processes behind one address: the sender believed intervals acknowledged that
/// the lagging copy never got; pipelined gaps were only dropped (c11dbff: a gap seen
/// again after a tick asks for a repair).
#[test]
fn fixed_seed_1634_stays_green() {
    seed(1634);
}

/// A neighbour that removes a peer and adds it again (the operator reconnecting it
/// after retiring the other process behind its address) must take its intervals in
/// again (3917cb6).
#[test]
fn a_peer_removed_and_added_again_is_repaired() {
    let mut net = Net::<GCounter>::mesh(&[1, 2]);
    for _ in 0..3 {
        net.apply(1, tests::inc(1)).expect("write");
        net.run(10);
    }
    net.settle(5).expect("converges");
    net.leader(2).remove_peer(rid(1));
    net.leader(2).add_peer(rid(1)).expect("add peer");
    net.apply(1, tests::inc(5)).expect("write");
    let settled = net.settle(40);
    let (a, b) = (net.leader(1).state().value(), net.leader(2).state().value());
    assert!(settled.is_some(), "leader 1 holds {a}, leader 2 holds {b}");
}

// ---------------------------------------------------------------------------------
// Found on c11dbff, fixed by 741439f (a leader asks every peer it has heard nothing
// from for a repair at its first tick; a bad piggybacked acknowledgement spoils
// nothing).

/// Plain seed. Once: Two leaders made by `Leader::new` under one id behind one address, digests off: the
/// twin received only acknowledgements meant for the original, rejected the intervals
/// they rode on, stayed empty, and nobody reported the shared id.
#[test]
fn fixed_seed_289_stays_green() {
    same_address(289);
}

/// The minimal schedule of seed 289: the hub's acknowledgements of the first copy's
/// deltas reach the second copy beyond its buffer head, and the second copy's deltas
/// are taken for duplicates.
#[test]
fn two_new_leaders_behind_one_address_are_told_apart() {
    let (one, two) = (rid(1), rid(2));
    let config = Config {
        digest_interval_ticks: 0,
        ..Config::DEFAULT
    };
    let mut hub = new_leader_with(two, GCounter::new(), config.clone());
    hub.add_peer(one).expect("add peer");
    let mut copies = [
        new_leader_with(one, GCounter::new(), config.clone()),
        new_leader_with(one, GCounter::new(), config),
    ];
    for c in &mut copies {
        c.add_peer(two).expect("add peer");
    }
    for _ in 0..5 {
        copies[0].apply(tests::inc(1)).expect("write");
    }
    for _ in 0..2 {
        copies[1].apply(tests::inc(100)).expect("write");
    }
    for _ in 0..30 {
        for c in &mut copies {
            while let Some(t) = c.poll_transmit() {
                let _ = hub.receive(one, &t.payload);
            }
        }
        // Everything the hub sends to "1" reaches both copies.
        while let Some(t) = hub.poll_transmit() {
            for c in &mut copies {
                let _ = c.receive(two, &t.payload);
            }
        }
        for c in &mut copies {
            c.tick();
        }
        hub.tick();
    }
    assert!(
        copies.iter().any(Leader::has_id_conflict),
        "neither copy reported the shared id; the hub holds {} (the second copy's 200 never got in)",
        hub.state().value()
    );
}

/// Plain seed. Once: An empty twin (far from its original) on an OR-Set star: an honest leader's token
/// covered a remove it lacked.
#[test]
fn fixed_seed_9431_stays_green() {
    seed(9431);
}

/// Plain seed. Once: An empty twin (far from its original) on an OR-Set line: the states diverged for good.
#[test]
fn fixed_seed_6137_stays_green() {
    seed(6137);
}

// ---------------------------------------------------------------------------------
// Found on 741439f: two leaders made by `Leader::new` under one id behind one address
// (`--twin-same-address` with an empty twin). Same id, same incarnation: their
// neighbour cannot tell their messages apart. Now the documented limit of
// `Leader::new`; `Leader::with_nonce` makes two such copies distinct incarnations, and
// `--twin-same-address` (and half the default seeds) start every leader with a nonce.

/// Plain seed. Once: The twin's interval numbers advance what the neighbour recorded of "3", so the
/// original's next interval seems to connect although its first deltas never arrived:
/// an honest leader's token then covered OR-Set writes it lacked (causal delivery broken
/// before any copy can notice). Two `Leader::new` under one id behind one address are
/// now the documented limit; `--twin-same-address` starts every leader with
/// `Leader::with_nonce`, which makes the copies distinct incarnations.
#[test]
fn fixed_seed_451_stays_green() {
    same_address(451);
}

// Its minimal schedule: `two_leaders_with_nonces_behind_one_address_keep_causal_delivery`
// in sync_scenarios.rs.

// ---------------------------------------------------------------------------------
// Found on 741439f, fixed by removing the token pruning of 3b75830 (skipping buffered
// deltas a peer's token was believed to cover). A received delta was marked as covered
// by the token news that came with it, but what was novel here may hold writes no news
// entry names (the sender's state held writes its token did not count); and with a
// writer id shared by two live leaders (an empty twin, not yet detected) a peer's entry
// for that id may count the other copy's writes. Either way a peer was skipped for a
// delta it lacked, then adopted token news that claimed it: an honest leader's
// `covers` lied.

/// Plain seed. Once: A relay marked writer 7's remove (novel to it, uncounted by the news) as covered by
/// `{5: 11}` — the twin's write under the shared id — and skipped it for a peer whose
/// entry for 5 came from the original; the peer then adopted 7's news.
#[test]
fn fixed_seed_16146_stays_green() {
    seed(16146);
}

/// Plain seed. Once: The original under the shared id 4 skipped its own write for a peer whose entry for
/// 4 counted the twin's 13 writes; that peer's token then covered a remove of writer 3
/// its state lacked.
#[test]
fn fixed_seed_16063_stays_green() {
    seed(16063);
}

// ---------------------------------------------------------------------------------
// Found on 741439f: two restored copies of one leader behind one address (mostly with
// periodic digests off). The copies displaced each other only while one sent something
// stale; a copy that fell silent was never told, kept missing the other's writes (the
// hub held them as "from 1" and did not send them back to "1"), and nobody reported the
// shared id: the states never converged. Fixed: a peer whose incarnation changed gets a
// displacement notice at each of the next few ticks.

/// Plain seed. Once: A restored twin behind its original's address on an OR-Set star, digests off: the
/// hub held the twin's write and the original, the star's centre, never got it.
#[test]
fn fixed_seed_3901_stays_green() {
    seed(3901);
}

/// Plain seed. Once: The same on an LWW register, in a crash loop.
#[test]
fn fixed_seed_7574_stays_green() {
    seed(7574);
}

/// Plain seed. Once: The same on a G-Counter with digests on (every 16 ticks): the copies leapfrogged
/// while the original crash-looped, and the twin fell silent.
#[test]
fn fixed_seed_14677_stays_green() {
    seed(14677);
}

/// Plain seed. Once: The same on a PN-Counter star, digests off, in a crash loop.
#[test]
fn fixed_seed_20353_stays_green() {
    seed(20353);
}

// Their minimal schedule: `a_silent_copy_behind_one_address_is_told_it_was_displaced`
// in sync_scenarios.rs.

// ---------------------------------------------------------------------------------
// Found on 9b0442c (seed 5004393, outside the 0..2000 CI range): an acknowledgement or
// repair naming a newer incarnation of its receiver is a displacement notice too.
// Behind a shared address every message to that id reaches one of the copies; the
// four notices after a copy took a newer incarnation can all reach that copy, while
// the repairs and acknowledgements meant for it reach the displaced, silent copy,
// which dropped them as stale: it never learnt, and the hub never sent it the newer
// copy's writes (they came "from 1"). Here: one of two restored copies behind one
// address in a PN-Counter line, digests off; 5 decrements of the twin never reached
// the far end of the line. The seed replays the schedule it failed on only as long as
// the simulator draws the same numbers (see the top of this file): it is a plain seed
// now, and the minimal schedule below is the test of that bug (a failure found from
// now on is kept as a trace file, `tests/traces/`).

/// Plain seed. Once: The newer copy's last write (Dec 5) reached the hub but not the displaced original,
/// so not the leader behind it either.
#[test]
fn fixed_seed_5004393_stays_green() {
    seed(5004393);
}

/// The minimal schedule of seed 5004393, with the network as unkind as it may be: every
/// displacement notice reaches the copy it names (useless there), everything else one
/// copy then the other. Copy A restores first, writes and falls silent; copy B restores
/// later (above A), writes, and the hub repairs it. A hears of B only through the
/// acknowledgements and repairs naming B's incarnation: now it takes them as notices,
/// the copies leapfrog and one reports the shared id (the operator retires it). Before,
/// A dropped them as stale, nobody reported anything, and A never got B's write.
#[test]
fn a_silent_copy_learns_from_an_ack_naming_a_newer_incarnation() {
    silent_copy_hearing_only_acks().unwrap_or_else(|e| panic!("{e}"));
}

/// The planted bug `NewerIncarnationIgnored` (`crdt_core::sabotage`: an ack or repair naming a newer incarnation of us is only stale) makes the schedule of
/// [`a_silent_copy_learns_from_an_ack_naming_a_newer_incarnation`] fail.
#[cfg(feature = "sabotage")]
#[test]
fn a_silent_copy_learns_from_an_ack_naming_a_newer_incarnation_fails_with_its_bug_planted() {
    use crdt_core::sabotage::{with_planted, Bug};
    let r = with_planted(Bug::NewerIncarnationIgnored, silent_copy_hearing_only_acks);
    assert!(r.is_err(), "passes with NewerIncarnationIgnored planted");
}

/// The schedule of [`a_silent_copy_learns_from_an_ack_naming_a_newer_incarnation`]: `Err` if no copy reported the shared id and
/// the copies do not all hold the hub's state.
fn silent_copy_hearing_only_acks() -> Result<(), String> {
    let mut turn = 0usize;
    let outcome = tests::copies::run(80, |r| {
        if r.is_probe_reply() {
            // The answer to a probe reaches the copy probing; a notice, the newest
            // copy (which it does not displace).
            r.probing().unwrap_or_else(|| r.newest())
        } else {
            turn += 1;
            turn % 2
        }
    });
    outcome.healed()?;
    assert_eq!(outcome.hub, 30, "both writes reached the hub");
    Ok(())
}

// ---------------------------------------------------------------------------------
// A checker false alarm found by the clean-clone CI run of 495e807 (seed 1230932884,
// failing the same way back to 81991ff), kept as the trace
// `tests/traces/twin-behind-address-mid-probe.trace`.

/// An incarnation `c.nonce` of a `PROBED`/`DISPLACED` line, ordered as the leader
/// orders them: by restart counter, then nonce.
fn incarnation(text: &str) -> (u32, u32) {
    let (c, n) = text.split_once('.').expect("an incarnation is c.nonce");
    (
        c.parse().expect("a restart counter"),
        u32::from_str_radix(n, 16).expect("a hex nonce"),
    )
}

/// A restored leader probes; before its neighbour's answer arrives, an empty twin of
/// that neighbour starts behind the neighbour's address and answers in its place. The
/// probe ends below the incarnation the original had seen, which no leader could
/// know; the checker no longer holds it to the original's floor (it did, and failed
/// `[restart]`). The protocol's net must catch it instead: the original displaces the
/// leader once they talk, and its next probe ends above what the original saw.
#[test]
fn a_probe_answered_by_a_twin_behind_the_address_is_displaced_by_the_original() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("traces/twin-behind-address-mid-probe.trace");
    let trace = tests::sim::trace::Trace::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let opts = Options {
        trace: 100_000,
        ..Options::default()
    };
    let r = tests::sim::replay(&trace, &opts).unwrap_or_else(|m| panic!("{m}"));
    assert!(r.passed(), "{:?}", r.violation);
    let seen_by_original = incarnation("1.b96a24b8");
    let log: Vec<&str> = r.trace.iter().map(String::as_str).collect();
    let low = log
        .iter()
        .position(|l| l.contains("PROBED 2: incarnation 0.63af7beb -> 1.2ee506dd"))
        .expect("the schedule no longer ends the probe on the twin's answer: the trace is stale");
    assert!(incarnation("1.2ee506dd") < seen_by_original);
    let displaced = low
        + log[low..]
            .iter()
            .position(|l| l.contains("DISPLACED 2 at incarnation 1.2ee506dd"))
            .expect("the original never displaced the probe's low incarnation");
    let next = log[displaced..]
        .iter()
        .find_map(|l| l.split_once("PROBED 2: incarnation 1.2ee506dd -> "))
        .map(|(_, rest)| incarnation(rest.split(',').next().unwrap_or_default()))
        .expect("no probe after the displacement");
    assert!(
        next > seen_by_original,
        "the probe after the displacement ended at {next:?}, not above {seen_by_original:?}"
    );
}

// Found on 2026-12-06 by a 103,000-seed hunt at offsets CI never draws (one failure):
// a keyspace line 0-1-2 with an empty twin of id 2 behind the original's address at
// id 3. Digests of the twin, addressed to a newer life of id 3 than the one it ran,
// displaced it; its probe reached only the original behind the shared address, which
// had never seen that life, so the probe ended below it, and the twin displaced it
// again, three times, until it reported a replica-id conflict it did not have.
// `Leader::displaced` now ends the probe above the life that displaced it (crdt-sync's
// `a_displaced_leader_ends_its_probe_above_the_life_that_displaced_it` is the minimal
// schedule). The shrunk trace (1,949 events) no longer matches the fixed leader's
// messages past the first displacement, so the seed is kept instead.

/// Plain seed. Once: a bystander of an empty twin behind its neighbour's address was
/// displaced by it three times and reported a false replica-id conflict.
#[test]
fn fixed_seed_9876543214219_stays_green() {
    seed(9876543214219);
}
