//! The driver's rounds, without sockets or a store thread: a channel stands in for
//! each.

use super::*;
use crate::node::WriteReceipt;
use crdt_core::ValueOp;

fn driver() -> (Driver, std::sync::mpsc::Receiver<Job>) {
    let (store, jobs) = std::sync::mpsc::channel();
    let d = Driver::new(
        ReplicaId::new(1),
        Config::default(),
        vec![(ReplicaId::new(2), false)],
        Vec::new(),
        store,
        NodeMetrics::new(),
        64,
    );
    (d, jobs)
}

fn write(d: &mut Driver, key: &str, n: u64) -> oneshot::Receiver<Result<WriteReceipt, Error>> {
    write_doc(d, "doc", key, n)
}

fn write_doc(
    d: &mut Driver,
    doc: &str,
    key: &str,
    n: u64,
) -> oneshot::Receiver<Result<WriteReceipt, Error>> {
    let (reply, rx) = oneshot::channel();
    d.command(Command::Write {
        doc: doc.into(),
        op: KeyspaceOp::Write {
            key: key.into(),
            op: ValueOp::GCounterIncrement(n),
        },
        reply: WriteReply::Value(reply),
    });
    rx
}

/// Ten writes handled in one round become one log entry (answered together once it
/// is committed) and one message to the peer, not ten of each.
#[test]
fn writes_of_one_round_share_one_log_entry_and_one_peer_message() {
    let (mut d, jobs) = driver();
    let (tx, mut frames) = mpsc::channel(64);
    d.peer_event(PeerEvent::Up {
        peer: 2,
        conn: 1,
        tx,
    });
    d.flush();
    while frames.try_recv().is_ok() {}
    while jobs.try_recv().is_ok() {}

    let mut answers: Vec<_> = (0..10)
        .map(|i| write(&mut d, &format!("k{i}"), 1))
        .collect();
    d.flush();

    let jobs: Vec<Job> = jobs.try_iter().collect();
    let appends = jobs.iter().filter(|j| matches!(j, Job::Append(_))).count();
    assert_eq!(appends, 1, "one log entry for the round");
    let Some(Job::AfterCommit(answer)) = jobs.into_iter().last() else {
        panic!("the answers must come after the entry");
    };
    let mut sent = Vec::new();
    while let Ok(f) = frames.try_recv() {
        sent.push(f);
    }
    assert_eq!(sent.len(), 1, "one message to the peer for the round");
    // Nobody is answered before the commit; everybody after it.
    assert!(answers.iter_mut().all(|a| a.try_recv().is_err()));
    answer(Ok(()));
    for mut a in answers {
        assert!(a.try_recv().unwrap().is_ok());
    }
    // The entry replays to the leader's state.
    let doc = &d.docs["doc"];
    assert_eq!(doc.leader.state().keys().count(), 10);
}

/// A failed commit fails every write of the round, and none is reported durable.
#[test]
fn a_failed_commit_fails_every_write_of_its_round() {
    let (mut d, jobs) = driver();
    let answers: Vec<_> = (0..3).map(|_| write(&mut d, "k", 1)).collect();
    d.flush();
    let answer = jobs
        .try_iter()
        .find_map(|j| match j {
            Job::AfterCommit(f) => Some(f),
            _ => None,
        })
        .expect("an answer job");
    answer(Err(Error::NotYet));
    for mut a in answers {
        assert!(a.try_recv().unwrap().is_err());
    }
}

/// A full outbox holds messages back in the leaders instead of dropping them: five
/// documents' writes through an outbox of two all reach the peer once it drains.
#[test]
fn a_full_peer_outbox_holds_messages_back_instead_of_dropping_them() {
    let (mut d, _jobs) = driver();
    let (tx, mut frames) = mpsc::channel(2);
    d.peer_event(PeerEvent::Up {
        peer: 2,
        conn: 1,
        tx,
    });
    d.flush();
    let mut docs_heard = BTreeSet::new();
    let drain = |frames: &mut mpsc::Receiver<Vec<u8>>, heard: &mut BTreeSet<String>| {
        while let Ok(f) = frames.try_recv() {
            let (doc, _) = crate::peer::parse_frame(&f).expect("a document frame");
            heard.insert(doc);
        }
    };
    for i in 0..5 {
        drop(write_doc(&mut d, &format!("doc-{i}"), "k", 1));
    }
    d.flush();
    assert!(!d.blocked.is_empty(), "some documents wait for room");
    // Bounded: each tick moves at most two frames.
    for _ in 0..20 {
        drain(&mut frames, &mut docs_heard);
        d.tick();
        d.flush();
    }
    drain(&mut frames, &mut docs_heard);
    let dropped = d
        .metrics
        .render()
        .lines()
        .find(|l| l.starts_with("crdt_leader_frames_dropped_total "))
        .map(|l| l.ends_with(" 0"));
    assert_eq!(dropped, Some(true), "no frame was dropped");
    for i in 0..5 {
        assert!(
            docs_heard.contains(&format!("doc-{i}")),
            "doc-{i} reached the peer"
        );
    }
}

/// With more active documents than [`TICK_DOCS_MAX`], each tick visits at most that
/// many, taking turns: a pass visits every active document once, then starts over.
#[test]
fn a_tick_visits_a_bounded_number_of_documents_taking_turns() {
    // Without peers a written document is settled at once, so its quiet ticks count
    // the ticks that visited it.
    let (store, _jobs) = std::sync::mpsc::channel();
    let mut d = Driver::new(
        ReplicaId::new(1),
        Config::default(),
        Vec::new(),
        Vec::new(),
        store,
        NodeMetrics::new(),
        64,
    );
    let docs = TICK_DOCS_MAX * 2 + 10;
    for i in 0..docs {
        drop(write_doc(&mut d, &format!("doc-{i:06}"), "k", 1));
    }
    d.flush();
    assert_eq!(d.active.len(), docs);
    let visits = |d: &Driver, n: u32| d.docs.values().filter(|x| x.quiet_ticks == n).count();
    d.tick();
    assert_eq!(visits(&d, 1), TICK_DOCS_MAX);
    d.tick();
    assert_eq!(visits(&d, 1), 2 * TICK_DOCS_MAX);
    assert!(d.tick_cursor.is_some());
    d.tick();
    assert_eq!(visits(&d, 1), docs, "the third tick ends the pass");
    assert!(d.tick_cursor.is_none());
    d.tick();
    assert_eq!(
        visits(&d, 2),
        TICK_DOCS_MAX,
        "the next pass starts from the first"
    );
    assert!(d.docs["doc-000000"].quiet_ticks == 2);
}

/// A growing document is folded after a log in proportion to its last checkpoint
/// (`compaction.rs`), not every 4,096 entries: once its checkpoint passes 256 KB
/// (4,096 x 64 bytes), a fixed spacing would re-encode and rewrite it ever more often
/// per write. Each fold here comes exactly when the log reaches its share, and the
/// bytes of all folds stay within 64 per entry or one per logged byte.
#[test]
fn a_growing_document_is_folded_after_a_log_in_proportion_to_it() {
    use crate::compaction::{CHECKPOINT_BYTES_PER_ENTRY, LOG_BYTES_MIN, LOG_ENTRIES_MIN};
    let (mut d, jobs) = driver();
    let mut last_checkpoint = 0u64;
    let (mut entries, mut bytes) = (0u64, 0u64);
    let (mut folds, mut folded_bytes, mut logged) = (0u64, 0u64, 0u64);
    let mut checkpoints = Vec::new();
    for i in 0..30_000u64 {
        // Keys of 40 bytes: the checkpoint grows by about 50 bytes a write.
        drop(write(&mut d, &format!("key-{i:036}"), 1));
        d.flush();
        for job in jobs.try_iter() {
            match job {
                Job::Append(Record::Append { entry, .. }) => {
                    entries += 1;
                    bytes += entry.len() as u64;
                    logged += 1;
                }
                Job::Checkpoint { checkpoint, .. } => {
                    let size = checkpoint.bytes().len() as u64;
                    if i > 0 {
                        // Due, and not one entry earlier.
                        let entries_max =
                            LOG_ENTRIES_MIN.max(last_checkpoint / CHECKPOINT_BYTES_PER_ENTRY);
                        let bytes_max = LOG_BYTES_MIN.max(last_checkpoint);
                        assert!(
                            entries == entries_max || (bytes >= bytes_max && entries < entries_max),
                            "write {i}: folded after {entries} entries, {bytes} bytes of log, last checkpoint {last_checkpoint} B"
                        );
                        folds += 1;
                        folded_bytes += last_checkpoint;
                    }
                    checkpoints.push(size);
                    last_checkpoint = size;
                    (entries, bytes) = (0, 0);
                }
                _ => {}
            }
        }
    }
    assert!(
        last_checkpoint > 4 * LOG_ENTRIES_MIN * CHECKPOINT_BYTES_PER_ENTRY,
        "the document stayed small: {checkpoints:?}"
    );
    // Every fold but those at the floors (4,096 entries) is paid by 64 checkpoint
    // bytes an entry; a fixed spacing of 4,096 entries would have folded 7 times.
    assert!((2..=5).contains(&folds), "{folds} folds: {checkpoints:?}");
    assert!(
        folded_bytes <= CHECKPOINT_BYTES_PER_ENTRY * logged,
        "{folded_bytes} checkpoint bytes for {logged} entries"
    );
}
