//! The durable store: one redb file per node, written by one thread with group commit.
//!
//! See the crate docs ("On-disk format") for the tables and the upgrade rule.

use crate::compaction::LogSize;
use crate::error::Error;
use crate::metrics::NodeMetrics;
use crate::sweep::{Sweep, SWEEP_PER_COMMIT};
use crate::write_behind::{self, Record, WriteBehind};
use crdt_core::codec::{decode_with_limits, encode, DecodeLimits};
use crdt_core::{Keyspace, ReplicaId, VersionVector};
use crdt_sync::{Checkpoint, Config, Leader};
use redb::{Database, Durability, ReadableTable, TableDefinition};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The store format this build writes and reads (see the crate docs).
pub const STORE_FORMAT: u64 = 1;
/// The name of the store file inside the data directory.
pub const STORE_FILE: &str = "crdt-leader.redb";

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CHECKPOINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("checkpoints");
const LOG: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("log");
/// How long the store thread waits for work before a commit that only deletes folded
/// log entries ([`Sweep`]).
const SWEEP_IDLE: Duration = Duration::from_millis(20);

/// When a commit reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Every commit is fsynced before the writes in it are acknowledged.
    #[default]
    Always,
    /// Write-behind: commits are acknowledged before fsync, and an fsync happens at
    /// least every this many milliseconds (and at shutdown). A crash of the process
    /// loses no acknowledged write (the write-behind log, written before each answer,
    /// is replayed at start); a power loss loses at most that window of them (see the
    /// crate docs, "On-disk format").
    IntervalMs(u64),
}

impl std::str::FromStr for FsyncPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if s == "always" {
            return Ok(FsyncPolicy::Always);
        }
        if let Some(ms) = s.strip_prefix("interval:") {
            if let Ok(ms) = ms.parse::<u64>() {
                if ms > 0 {
                    return Ok(FsyncPolicy::IntervalMs(ms));
                }
            }
        }
        Err(Error::Config(format!(
            "--fsync {s:?}: expected `always` or `interval:MS` with MS > 0"
        )))
    }
}

/// One document as found on disk at start.
pub(crate) struct StoredDoc {
    pub(crate) name: String,
    pub(crate) leader: Leader<Keyspace>,
    /// The next log sequence number to use.
    pub(crate) next_seq: u64,
    /// The log not yet folded into the checkpoint.
    pub(crate) log: LogSize,
}

/// A job for the store thread. Jobs are committed in the order sent.
pub(crate) enum Job {
    /// Appends a log entry (always a [`Record::Append`]).
    Append(Record),
    /// Replaces the document's checkpoint and drops its log entries below `next_seq`.
    Checkpoint {
        doc: String,
        next_seq: u64,
        checkpoint: Checkpoint,
        /// Tell the driver once durable (a restored leader waits for it to write).
        notify: bool,
    },
    /// Runs once everything sent before it is committed (answers a write).
    AfterCommit(Box<dyn FnOnce(Result<(), Error>) + Send>),
}

/// What the store thread reports to the driver.
pub(crate) enum StoreEvent {
    /// A checkpoint with `notify` is durable.
    Persisted { doc: String, checkpoint: Checkpoint },
}

/// Encodes a log entry: delta and token, each in crdt-core's canonical codec, then
/// an XXH3-64 of both.
pub(crate) fn encode_entry(delta: &Keyspace, token: &VersionVector) -> Vec<u8> {
    let d = encode(delta);
    let t = encode(token);
    let mut out = Vec::with_capacity(4 + d.len() + t.len() + 8);
    out.extend_from_slice(&(d.len() as u32).to_le_bytes());
    out.extend_from_slice(&d);
    out.extend_from_slice(&t);
    let sum = xxhash_rust::xxh3::xxh3_64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Decodes a log entry; `None` if it is damaged.
pub(crate) fn decode_entry(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Option<(Keyspace, VersionVector)> {
    let body_len = bytes.len().checked_sub(8)?;
    let (body, sum) = bytes.split_at(body_len);
    if xxhash_rust::xxh3::xxh3_64(body).to_le_bytes() != sum {
        return None;
    }
    let d_len = u32::from_le_bytes(body.get(..4)?.try_into().ok()?) as usize;
    let d = body.get(4..4usize.checked_add(d_len)?)?;
    let t = body.get(4 + d_len..)?;
    Some((
        decode_with_limits(d, limits).ok()?,
        decode_with_limits(t, limits).ok()?,
    ))
}

/// Opens (or creates) the store, checks its format and node id, and restores every
/// document. Refuses a newer format, another node's directory or damaged content.
///
/// redb checks some of its file's structure with assertions, so a damaged file can
/// panic inside it (a truncated file does): that panic is caught here and reported
/// like any other damage, naming the file and what to do.
pub(crate) fn open(
    dir: &Path,
    id: ReplicaId,
    config: &Config,
) -> Result<(Database, Vec<StoredDoc>), Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        open_checked(dir, id, config)
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_string());
        Err(Error::DataDir {
            path: dir.join(STORE_FILE),
            reason: format!(
                "opening the store panicked ({what}): most likely the file is damaged \
                 (redb asserts its own structure), else a bug; keep a copy of the \
                 directory for a report, then restore it from a backup or move it away to \
                 start empty (peers then repair every document)"
            ),
        })
    })
}

fn open_checked(
    dir: &Path,
    id: ReplicaId,
    config: &Config,
) -> Result<(Database, Vec<StoredDoc>), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::DataDir {
        path: dir.to_path_buf(),
        reason: format!("cannot create it: {e}"),
    })?;
    let path = dir.join(STORE_FILE);
    let refuse = |reason: String| Error::DataDir {
        path: path.clone(),
        reason,
    };
    let db = Database::create(&path).map_err(|e| {
        refuse(format!(
            "cannot open the store ({e}); if another crdt-leader uses this directory stop it, \
             if the file is damaged restore it from a backup or move the directory away to \
             start empty (peers then repair every document)"
        ))
    })?;
    let txn = db.begin_write().map_err(|e| refuse(e.to_string()))?;
    {
        let mut meta = txn.open_table(META).map_err(|e| refuse(e.to_string()))?;
        let format = meta
            .get("format")
            .map_err(|e| refuse(e.to_string()))?
            .map(|v| v.value());
        match format {
            None => {
                meta.insert("format", STORE_FORMAT)
                    .map_err(|e| refuse(e.to_string()))?;
                meta.insert("node_id", id.get())
                    .map_err(|e| refuse(e.to_string()))?;
            }
            Some(f) if f > STORE_FORMAT => {
                return Err(refuse(format!(
                    "store format {f} is newer than this build's {STORE_FORMAT}: run a newer \
                     crdt-leader on it (it is never downgraded or reset)"
                )))
            }
            Some(_) => {
                let stored = meta
                    .get("node_id")
                    .map_err(|e| refuse(e.to_string()))?
                    .map(|v| v.value());
                if stored != Some(id.get()) {
                    let owner = stored.map_or("no node id".to_string(), |n| format!("node id {n}"));
                    return Err(refuse(format!(
                        "this directory belongs to {owner}, not {}: start with that --id, or \
                         give this node its own --data-dir",
                        id.get()
                    )));
                }
            }
        }
        txn.open_table(CHECKPOINTS)
            .map_err(|e| refuse(e.to_string()))?;
        txn.open_table(LOG).map_err(|e| refuse(e.to_string()))?;
    }
    txn.commit().map_err(|e| refuse(e.to_string()))?;
    replay_write_behind(&db, dir, &path)?;
    let (docs, mut left_over) = load(&db, &path, config)?;
    if !left_over.is_empty() {
        // Folded entries a stop left behind: deleted before anything else runs.
        commit(
            &db,
            &path,
            &[],
            Durability::Immediate,
            None,
            &mut left_over,
            usize::MAX,
        )
        .map_err(|e| refuse(e.to_string()))?;
    }
    Ok((db, docs))
}

/// Commits durably what a process that ran `--fsync interval:MS` acknowledged but
/// had not yet fsynced when it died (see [`crate::write_behind`]), then empties the
/// write-behind file.
fn replay_write_behind(db: &Database, dir: &Path, path: &Path) -> Result<(), Error> {
    let wb = dir.join(write_behind::WRITE_BEHIND_FILE);
    let refuse = |e: String| Error::DataDir {
        path: wb.clone(),
        reason: format!("cannot replay the write-behind log ({e}); fix the cause and restart"),
    };
    let (records, tail) = write_behind::read_left_over(dir).map_err(|e| refuse(e.to_string()))?;
    match tail {
        write_behind::Tail::Clean if records.is_empty() => return Ok(()),
        write_behind::Tail::Clean => {}
        write_behind::Tail::Torn { bytes } => tracing::warn!(
            file = %wb.display(),
            bytes,
            "the write-behind log ends in a torn record (a power loss): replaying the \
             records before it"
        ),
        write_behind::Tail::Damaged { offset, intact_at } => {
            // Left as it is: replaying the records before the damage and emptying the
            // file would drop the acknowledged writes after it without a trace.
            return Err(Error::DataDir {
                path: wb.clone(),
                reason: format!(
                    "the record at byte {offset} is damaged but an intact one follows at \
                     byte {intact_at}, so this is damage, not a write torn by a power loss; \
                     restore the directory from a backup, or accept losing acknowledged \
                     writes (at most the last --fsync interval of them): `truncate -s \
                     {offset}` on this file keeps the records before the damage, moving the \
                     file away keeps none of them; then restart"
                ),
            });
        }
    }
    tracing::info!(records = records.len(), "replaying the write-behind log");
    // Replayed checkpoints' folded entries are left to `load`, which finds them.
    commit(
        db,
        path,
        &records,
        Durability::Immediate,
        None,
        &mut Sweep::default(),
        0,
    )
    .map_err(|e| refuse(e.to_string()))?;
    write_behind::clear_left_over(dir).map_err(|e| refuse(e.to_string()))
}

/// Every document, and the folded entries left on disk (a stop between a
/// checkpoint's commit and the sweep of what it folded).
fn load(db: &Database, path: &Path, config: &Config) -> Result<(Vec<StoredDoc>, Sweep), Error> {
    let damaged = |what: String| Error::DataDir {
        path: path.to_path_buf(),
        reason: format!(
            "{what}: the file is damaged; restore it from a backup, or move the directory \
             away to start empty (peers then repair every document)"
        ),
    };
    let txn = db.begin_read().map_err(|e| damaged(e.to_string()))?;
    let cps = txn
        .open_table(CHECKPOINTS)
        .map_err(|e| damaged(e.to_string()))?;
    let log = txn.open_table(LOG).map_err(|e| damaged(e.to_string()))?;
    let mut out = Vec::new();
    let mut left_over = Sweep::default();
    for row in cps.iter().map_err(|e| damaged(e.to_string()))? {
        let (name, value) = row.map_err(|e| damaged(e.to_string()))?;
        let name = name.value().to_string();
        let value = value.value();
        if value.len() < 8 {
            return Err(damaged(format!(
                "document {name:?}: checkpoint record too short"
            )));
        }
        let first_seq = u64::from_le_bytes(value[..8].try_into().unwrap_or_default());
        let folded_left = log
            .range((name.as_str(), 0)..(name.as_str(), first_seq))
            .map_err(|e| damaged(e.to_string()))?
            .next()
            .is_some();
        if folded_left {
            left_over.folded(&name, first_seq);
        }
        let mut entries = Vec::new();
        let mut log_bytes = 0u64;
        let mut next_seq = first_seq;
        let range = log
            .range((name.as_str(), first_seq)..=(name.as_str(), u64::MAX))
            .map_err(|e| damaged(e.to_string()))?;
        for row in range {
            let (k, v) = row.map_err(|e| damaged(e.to_string()))?;
            let seq = k.value().1;
            let entry = decode_entry(v.value(), &config.decode).ok_or_else(|| {
                damaged(format!(
                    "document {name:?}: log entry {seq} fails its checksum"
                ))
            })?;
            entries.push(entry);
            log_bytes += v.value().len() as u64;
            next_seq = seq + 1;
        }
        let nonce = crate::random_u64()?;
        let leader = Leader::restore_with_log(
            &value[8..],
            entries.iter().map(|(d, t)| (d, t)),
            config.clone(),
            nonce,
        )
        .map_err(|e| damaged(format!("document {name:?}: checkpoint refused ({e})")))?;
        out.push(StoredDoc {
            name,
            leader,
            next_seq,
            log: LogSize::new(entries.len() as u64, log_bytes, value.len() as u64 - 8),
        });
    }
    Ok((out, left_over))
}

/// Runs the store thread: drains every pending job, writes them in one transaction,
/// commits once (fsync under [`FsyncPolicy::Always`]), then answers them all.
pub(crate) fn run(
    db: Database,
    path: PathBuf,
    jobs: mpsc::Receiver<Job>,
    events: tokio::sync::mpsc::UnboundedSender<StoreEvent>,
    policy: FsyncPolicy,
    metrics: NodeMetrics,
) {
    let mut last_sync = Instant::now();
    let mut dirty = false;
    let mut behind = match policy {
        FsyncPolicy::Always => None,
        FsyncPolicy::IntervalMs(_) => match path.parent().map(WriteBehind::open) {
            Some(Ok(wb)) => Some(wb),
            Some(Err(e)) => {
                fail_all(
                    &jobs,
                    &path,
                    &format!("cannot open the write-behind log: {e}"),
                );
                return;
            }
            None => None,
        },
    };
    // After a failed commit nothing more is committed: a later entry's token could
    // name writes of the lost batch, and a restore would then claim writes its state
    // lacks. The node refuses writes until it is restarted (from the last commit).
    let mut failed: Option<Error> = None;
    // Folded log entries still to delete, a bounded number per commit.
    let mut sweep = Sweep::default();
    loop {
        let first = match policy {
            FsyncPolicy::Always if sweep.is_empty() || failed.is_some() => match jobs.recv() {
                Ok(j) => j,
                Err(_) => return,
            },
            FsyncPolicy::Always => match jobs.recv_timeout(SWEEP_IDLE) {
                Ok(j) => j,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    // Idle with folded entries left: a commit that only deletes them.
                    sync(&db, &path, &mut behind, &metrics, &mut sweep);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
            FsyncPolicy::IntervalMs(ms) => {
                let period = Duration::from_millis(ms);
                let left = period.saturating_sub(last_sync.elapsed());
                match jobs.recv_timeout(left) {
                    Ok(j) => j,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if dirty || (!sweep.is_empty() && failed.is_none()) {
                            // An empty durable commit makes the earlier ones durable
                            // (and deletes folded entries).
                            sync(&db, &path, &mut behind, &metrics, &mut sweep);
                            dirty = false;
                        }
                        last_sync = Instant::now();
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        if dirty {
                            sync(&db, &path, &mut behind, &metrics, &mut sweep);
                        }
                        return;
                    }
                }
            }
        };
        let mut batch = vec![first];
        while let Ok(j) = jobs.try_recv() {
            batch.push(j);
        }
        let durability = match policy {
            FsyncPolicy::Always => Durability::Immediate,
            FsyncPolicy::IntervalMs(ms) => {
                if last_sync.elapsed() >= Duration::from_millis(ms) {
                    last_sync = Instant::now();
                    dirty = false;
                    Durability::Immediate
                } else {
                    dirty = true;
                    Durability::None
                }
            }
        };
        let mut after = Vec::new();
        let mut notify = Vec::new();
        let mut writes = Vec::new();
        for job in batch {
            match job {
                Job::AfterCommit(f) => after.push(f),
                Job::Checkpoint {
                    doc,
                    checkpoint,
                    notify: true,
                    next_seq,
                } => {
                    writes.push(Record::Checkpoint {
                        doc: doc.clone(),
                        next_seq,
                        bytes: checkpoint.bytes().to_vec(),
                    });
                    notify.push((doc, checkpoint));
                }
                Job::Checkpoint {
                    doc,
                    next_seq,
                    checkpoint,
                    notify: false,
                } => writes.push(Record::Checkpoint {
                    doc,
                    next_seq,
                    bytes: checkpoint.bytes().to_vec(),
                }),
                Job::Append(record) => writes.push(record),
            }
        }
        // A batch of answers alone (an answer can reach the store just after the entry
        // it waits for was committed in the batch before) has nothing to commit: what
        // was sent before it is already committed as the policy asks. An empty durable
        // commit is only needed to make earlier write-behind commits durable.
        let needs_commit = !writes.is_empty()
            || (matches!(policy, FsyncPolicy::IntervalMs(_))
                && matches!(durability, Durability::Immediate));
        let result = match &failed {
            Some(e) => Err(e.clone()),
            None if !needs_commit => Ok(()),
            None => commit_batch(
                &db,
                &path,
                &mut behind,
                writes,
                durability,
                &metrics,
                &mut sweep,
            ),
        };
        if let (Err(e), None) = (&result, &failed) {
            failed = Some(Error::Storage {
                path: path.clone(),
                reason: format!("an earlier commit failed ({e}); restart the node"),
            });
        }
        if result.is_ok() {
            for (doc, checkpoint) in notify {
                let _ = events.send(StoreEvent::Persisted { doc, checkpoint });
            }
        } else if let Err(e) = &result {
            tracing::error!(error = %e, "store commit failed");
        }
        for f in after {
            f(result.clone());
        }
    }
}

/// Answers every job with `reason` (the store could not start).
fn fail_all(jobs: &mpsc::Receiver<Job>, path: &Path, reason: &str) {
    tracing::error!(reason, "store stopped");
    while let Ok(job) = jobs.recv() {
        if let Job::AfterCommit(f) = job {
            f(Err(Error::Storage {
                path: path.to_path_buf(),
                reason: reason.to_string(),
            }));
        }
    }
}

/// Commits one batch. A non-durable commit (interval policy) is also appended to
/// the write-behind log before it counts as done; a durable one empties that log.
fn commit_batch(
    db: &Database,
    path: &Path,
    behind: &mut Option<WriteBehind>,
    writes: Vec<Record>,
    durability: Durability,
    metrics: &NodeMetrics,
    sweep: &mut Sweep,
) -> Result<(), Error> {
    commit(
        db,
        path,
        &writes,
        durability,
        Some(metrics),
        sweep,
        SWEEP_PER_COMMIT,
    )?;
    match behind {
        Some(wb) if !matches!(durability, Durability::Immediate) => {
            wb.append(&writes).map_err(|e| Error::Storage {
                path: wb.path().to_path_buf(),
                reason: format!("cannot append to the write-behind log: {e}"),
            })
        }
        _ => {
            clear_behind(behind);
            Ok(())
        }
    }
}

/// A durable empty commit (makes the non-durable ones before it durable, and deletes
/// folded entries), after which the write-behind log is emptied.
fn sync(
    db: &Database,
    path: &Path,
    behind: &mut Option<WriteBehind>,
    metrics: &NodeMetrics,
    sweep: &mut Sweep,
) {
    let synced = commit(
        db,
        path,
        &[],
        Durability::Immediate,
        Some(metrics),
        sweep,
        SWEEP_PER_COMMIT,
    );
    match synced {
        Ok(()) => clear_behind(behind),
        Err(e) if !sweep.is_empty() => {
            // Nothing acknowledged rides on the deletions: stop retrying them (the
            // next start deletes what is left); a write's commit reports a store
            // that stays broken.
            tracing::warn!(error = %e, "cannot delete folded log entries");
            *sweep = Sweep::default();
        }
        Err(_) => {}
    }
}

fn clear_behind(behind: &mut Option<WriteBehind>) {
    if let Some(wb) = behind {
        if let Err(e) = wb.clear() {
            // Harmless: its records are durable, and replaying them is idempotent.
            tracing::warn!(file = %wb.path().display(), error = %e, "cannot empty the write-behind log");
        }
    }
}

/// Commits `writes`, and deletes up to `sweep_budget` folded log entries of `sweep`
/// (adding those the checkpoints among `writes` fold).
fn commit(
    db: &Database,
    path: &Path,
    writes: &[Record],
    durability: Durability,
    metrics: Option<&NodeMetrics>,
    sweep: &mut Sweep,
    sweep_budget: usize,
) -> Result<(), Error> {
    let fail = |e: String| Error::Storage {
        path: path.to_path_buf(),
        reason: e,
    };
    let mut txn = db.begin_write().map_err(|e| fail(e.to_string()))?;
    txn.set_durability(durability);
    let mut checkpointed: Vec<usize> = Vec::new();
    {
        let mut cps = txn
            .open_table(CHECKPOINTS)
            .map_err(|e| fail(e.to_string()))?;
        let mut log = txn.open_table(LOG).map_err(|e| fail(e.to_string()))?;
        for write in writes {
            match write {
                Record::Append { doc, seq, entry } => {
                    log.insert((doc.as_str(), *seq), entry.as_slice())
                        .map_err(|e| fail(e.to_string()))?;
                }
                Record::Checkpoint {
                    doc,
                    next_seq,
                    bytes,
                } => {
                    let mut record = Vec::with_capacity(8 + bytes.len());
                    record.extend_from_slice(&next_seq.to_le_bytes());
                    record.extend_from_slice(bytes);
                    cps.insert(doc.as_str(), record.as_slice())
                        .map_err(|e| fail(e.to_string()))?;
                    sweep.folded(doc, *next_seq);
                    checkpointed.push(bytes.len());
                }
            }
        }
        sweep.run(&mut log, sweep_budget).map_err(fail)?;
    }
    let started = Instant::now();
    txn.commit().map_err(|e| fail(e.to_string()))?;
    if let (Durability::Immediate, Some(m)) = (durability, metrics) {
        m.observe_fsync(started.elapsed());
    }
    if let Some(m) = metrics {
        checkpointed
            .into_iter()
            .for_each(|b| m.observe_checkpoint(b));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_entries_round_trip_and_damage_is_detected() {
        let mut ks = Keyspace::new();
        let w = ReplicaId::new(3);
        let delta = ks
            .apply(
                w,
                crdt_core::KeyspaceOp::Write {
                    key: "k".into(),
                    op: crdt_core::ValueOp::GCounterIncrement(5),
                },
            )
            .unwrap();
        let mut token = VersionVector::new();
        token.advance(w, 1);
        let bytes = encode_entry(&delta, &token);
        let (d, t) = decode_entry(&bytes, &DecodeLimits::DEFAULT).unwrap();
        assert_eq!(d, delta);
        assert_eq!(t, token);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x20;
            assert!(
                decode_entry(&bad, &DecodeLimits::DEFAULT).is_none(),
                "byte {i}"
            );
        }
        assert!(decode_entry(&bytes[..bytes.len() - 1], &DecodeLimits::DEFAULT).is_none());
    }

    /// Durable commits so far, from the `fsync` histogram of `/metrics`.
    fn fsyncs(m: &NodeMetrics) -> u64 {
        m.render()
            .lines()
            .find(|l| l.starts_with("crdt_leader_fsync_seconds_count"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .expect("an fsync histogram")
    }

    /// Sends an answer job and waits until the store ran it.
    fn answered(tx: &mpsc::Sender<Job>) -> Result<(), Error> {
        let (done, wait) = mpsc::channel();
        tx.send(Job::AfterCommit(Box::new(move |r| {
            let _ = done.send(r);
        })))
        .unwrap();
        wait.recv_timeout(Duration::from_secs(30)).unwrap()
    }

    #[test]
    fn an_answer_that_arrives_after_its_entry_was_committed_costs_no_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = open(dir.path(), ReplicaId::new(1), &Config::default()).unwrap();
        let metrics = NodeMetrics::new();
        let (tx, rx) = mpsc::channel();
        let (events, _events) = tokio::sync::mpsc::unbounded_channel();
        let (path, m) = (dir.path().join(STORE_FILE), metrics.clone());
        let store = std::thread::spawn(move || run(db, path, rx, events, FsyncPolicy::Always, m));
        let before = fsyncs(&metrics);
        tx.send(Job::Append(Record::Append {
            doc: "d".into(),
            seq: 1,
            entry: vec![1, 2, 3],
        }))
        .unwrap();
        answered(&tx).unwrap();
        let one = fsyncs(&metrics);
        assert!(one > before, "an entry is committed durably");
        // The driver sends an entry and its answers as two jobs; when the answers
        // come in a batch of their own, the entry is already durable.
        for _ in 0..5 {
            answered(&tx).unwrap();
        }
        assert_eq!(fsyncs(&metrics), one, "answers alone commit nothing");
        drop(tx);
        store.join().unwrap();
    }

    #[test]
    fn fsync_policy_parses() {
        assert_eq!(
            "always".parse::<FsyncPolicy>().unwrap(),
            FsyncPolicy::Always
        );
        assert_eq!(
            "interval:20".parse::<FsyncPolicy>().unwrap(),
            FsyncPolicy::IntervalMs(20)
        );
        assert!("interval:0".parse::<FsyncPolicy>().is_err());
        assert!("sometimes".parse::<FsyncPolicy>().is_err());
    }

    /// Entries in the log table (any document).
    fn log_len(path: &Path) -> u64 {
        use redb::ReadableTableMetadata;
        let db = Database::create(path).unwrap();
        let txn = db.begin_read().unwrap();
        txn.open_table(LOG).unwrap().len().unwrap()
    }

    fn start(dir: &Path) -> (mpsc::Sender<Job>, std::thread::JoinHandle<()>, NodeMetrics) {
        let (db, _) = open(dir, ReplicaId::new(1), &Config::default()).unwrap();
        let (tx, rx) = mpsc::channel();
        let (events, _events) = tokio::sync::mpsc::unbounded_channel();
        let path = dir.join(STORE_FILE);
        let metrics = NodeMetrics::new();
        let m2 = metrics.clone();
        let store = std::thread::spawn(move || run(db, path, rx, events, FsyncPolicy::Always, m2));
        (tx, store, metrics)
    }

    /// A checkpoint's commit no longer deletes the entries it folds; the store thread
    /// deletes them in later commits (here, idle ones), and what a stop leaves behind
    /// is deleted at the next start, while live entries and the document stay.
    #[test]
    fn folded_entries_are_swept_after_the_checkpoint_when_idle_and_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        let leader = Leader::with_nonce(ReplicaId::new(1), Keyspace::new(), Config::default(), 7);
        let folded = 3 * SWEEP_PER_COMMIT as u64;
        let checkpoint = |next_seq| Job::Checkpoint {
            doc: "d".into(),
            next_seq,
            checkpoint: leader.checkpoint(),
            notify: false,
        };
        let append = |seq| {
            let entry = encode_entry(&Keyspace::new(), &VersionVector::new());
            Job::Append(Record::Append {
                doc: "d".into(),
                seq,
                entry,
            })
        };
        // Idle: swept a commit at a time once the checkpoint is in (its own commit
        // deletes 511, then three idle commits: 511, 511 and the last 3).
        let (tx, store, metrics) = start(dir.path());
        for seq in 0..folded {
            tx.send(append(seq)).unwrap();
        }
        tx.send(checkpoint(folded)).unwrap();
        tx.send(append(folded)).unwrap();
        answered(&tx).unwrap();
        let after_checkpoint = fsyncs(&metrics);
        let deadline = Instant::now() + Duration::from_secs(20);
        while fsyncs(&metrics) < after_checkpoint + 3 {
            assert!(Instant::now() < deadline, "no idle commits");
            std::thread::sleep(SWEEP_IDLE);
        }
        // The store thread owns the database: stop it to look.
        drop(tx);
        store.join().unwrap();
        assert_eq!(log_len(&path), 1, "the live entry alone is left");
        // A stop right after a checkpoint: its folded entries are on disk, and the
        // next start deletes them (and restores the document from the rest).
        let (tx, store, _) = start(dir.path());
        for seq in folded + 1..2 * folded {
            tx.send(append(seq)).unwrap();
        }
        tx.send(checkpoint(2 * folded - 1)).unwrap();
        answered(&tx).unwrap();
        drop(tx);
        store.join().unwrap();
        assert!(log_len(&path) > 1, "the stop left folded entries");
        let (_db, docs) = open(dir.path(), ReplicaId::new(1), &Config::default()).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].next_seq, 2 * folded);
        drop(_db);
        assert_eq!(log_len(&path), 1, "the live entry alone is left");
    }

    /// A write-behind record that fails its checksum with an intact record after it
    /// is damage: the start is refused and the file left as it is (replaying the
    /// records before it and emptying the file dropped the acknowledged writes after
    /// it). A torn last record (a power loss) is not: the whole records replay.
    #[test]
    fn a_damaged_write_behind_log_is_refused_and_kept_and_a_torn_one_replays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        let wb_path = dir.path().join(write_behind::WRITE_BEHIND_FILE);
        drop(open(dir.path(), ReplicaId::new(1), &Config::default()).unwrap());
        let records: Vec<Record> = (0..3)
            .map(|seq| Record::Append {
                doc: "d".into(),
                seq,
                entry: vec![seq as u8; 100],
            })
            .collect();
        let mut wb = WriteBehind::open(dir.path()).unwrap();
        wb.append(&records).unwrap();
        drop(wb);
        let whole = std::fs::read(&wb_path).unwrap();

        let mut damaged = whole.clone();
        damaged[whole.len() / 2] ^= 0x01;
        std::fs::write(&wb_path, &damaged).unwrap();
        let e = open(dir.path(), ReplicaId::new(1), &Config::default())
            .err()
            .expect("refused");
        let msg = e.to_string();
        assert!(
            matches!(&e, Error::DataDir { path, .. } if *path == wb_path),
            "{msg}"
        );
        // The records are of one size: the damaged one is the second.
        let second = whole.len() / 3;
        assert!(
            msg.contains("damage") && msg.contains(&format!("truncate -s {second}`")),
            "{msg}"
        );
        assert_eq!(
            std::fs::read(&wb_path).unwrap(),
            damaged,
            "the file is kept"
        );
        assert_eq!(log_len(&path), 0, "nothing replayed");
        // The operator takes the advice: the records before the damage replay.
        std::fs::write(&wb_path, &damaged[..second]).unwrap();
        drop(open(dir.path(), ReplicaId::new(1), &Config::default()).unwrap());
        assert_eq!(log_len(&path), 1, "the record before the damage replayed");

        std::fs::write(&wb_path, &whole[..whole.len() - 5]).unwrap();
        drop(open(dir.path(), ReplicaId::new(1), &Config::default()).unwrap());
        assert_eq!(
            log_len(&path),
            2,
            "the whole records replayed (the first again)"
        );
        assert!(std::fs::read(&wb_path).unwrap().is_empty());
    }

    /// redb asserts some of its file's structure and panics on a file that fails
    /// them: a truncated store is refused with an error naming the file, not a panic.
    #[test]
    fn a_truncated_store_file_is_refused_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        let (tx, store, _) = start(dir.path());
        for seq in 0..2_000 {
            tx.send(Job::Append(Record::Append {
                doc: "d".into(),
                seq,
                entry: vec![7; 1_000],
            }))
            .unwrap();
        }
        answered(&tx).unwrap();
        drop(tx);
        store.join().unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        let bytes = std::fs::read(&path).unwrap();
        for keep in [len / 2, len / 8] {
            std::fs::write(&path, &bytes[..keep as usize]).unwrap();
            let e = open(dir.path(), ReplicaId::new(1), &Config::default())
                .err()
                .expect("refused");
            let msg = e.to_string();
            assert!(
                matches!(&e, Error::DataDir { path: p, .. } if *p == path),
                "{msg}"
            );
            assert!(msg.contains("panicked") && msg.contains("backup"), "{msg}");
        }
    }
}
