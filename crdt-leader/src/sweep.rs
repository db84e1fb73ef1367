//! Deleting the log entries a checkpoint folded in, a bounded number per commit.
//!
//! A checkpoint record names the first log entry it does not hold, so the entries
//! below it are dead the moment it commits: a restore never reads them. Deleting
//! them all in the checkpoint's own transaction made that commit, and every write
//! it acknowledges, wait for one B-tree removal per entry: 40,000 entries of a large
//! document took 100-200 ms. They are deleted instead at most [`SWEEP_PER_COMMIT`]
//! per later commit (the store thread commits an otherwise empty one when it is
//! idle with entries left), and at start whatever a stop left behind.

use redb::{ReadableTable, Table};
use std::collections::VecDeque;

/// The most folded entries one commit deletes (each range probed counts as one).
pub(crate) const SWEEP_PER_COMMIT: usize = 512;

/// The log type the store keeps: (document name, sequence number) to entry.
pub(crate) type LogTable<'t> = Table<'t, (&'static str, u64), &'static [u8]>;

/// Documents with folded log entries still on disk, oldest fold first.
#[derive(Debug, Default)]
pub(crate) struct Sweep {
    /// Each document's entries below the sequence number are folded.
    dead: VecDeque<(String, u64)>,
}

impl Sweep {
    /// The entries of `doc` below `below` are folded into a committed (or committing)
    /// checkpoint.
    pub(crate) fn folded(&mut self, doc: &str, below: u64) {
        self.dead.push_back((doc.to_string(), below));
    }

    /// Whether folded entries may be left.
    pub(crate) fn is_empty(&self) -> bool {
        self.dead.is_empty()
    }

    /// Deletes up to `budget` folded entries in `log`'s transaction, oldest fold
    /// first; how many it deleted.
    ///
    /// # Errors
    /// redb's, as text: the transaction must then not commit.
    pub(crate) fn run(&mut self, log: &mut LogTable<'_>, budget: usize) -> Result<usize, String> {
        let mut left = budget;
        let mut deleted = 0;
        while left > 0 {
            let Some((doc, below)) = self.dead.front() else {
                break;
            };
            // The probe of the range counts too, so that documents with nothing left
            // (restarted with a clean log) cannot make one commit long.
            left -= 1;
            let seqs = log
                .range((doc.as_str(), 0)..(doc.as_str(), *below))
                .map_err(|e| e.to_string())?
                .take(left)
                .map(|row| row.map(|(k, _)| k.value().1))
                .collect::<Result<Vec<u64>, _>>()
                .map_err(|e| e.to_string())?;
            // `remove` one by one: redb's `retain_in` copies the tree's path for every
            // entry it deletes (it may not modify what it iterates).
            for &seq in &seqs {
                log.remove((doc.as_str(), seq)).map_err(|e| e.to_string())?;
            }
            deleted += seqs.len();
            // Fewer than asked for: the range is empty now.
            if seqs.len() < left {
                self.dead.pop_front();
            }
            left -= seqs.len();
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{Database, ReadableTableMetadata, TableDefinition};

    const LOG: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("log");

    fn count(db: &Database, doc: &str) -> usize {
        let txn = db.begin_read().unwrap();
        let log = txn.open_table(LOG).unwrap();
        log.range((doc, 0)..=(doc, u64::MAX)).unwrap().count()
    }

    /// A database whose log holds entries 0..n of each (document, n).
    fn with_entries(dir: &std::path::Path, docs: &[(&str, u64)]) -> Database {
        let db = Database::create(dir.join("t.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut log = txn.open_table(LOG).unwrap();
            for &(doc, n) in docs {
                for seq in 0..n {
                    log.insert((doc, seq), [1u8].as_slice()).unwrap();
                }
            }
        }
        txn.commit().unwrap();
        db
    }

    /// Runs one sweep of `budget` in a committed transaction: how many it deleted.
    fn sweep_once(db: &Database, sweep: &mut Sweep, budget: usize) -> usize {
        let txn = db.begin_write().unwrap();
        let n = {
            let mut log = txn.open_table(LOG).unwrap();
            sweep.run(&mut log, budget).unwrap()
        };
        txn.commit().unwrap();
        n
    }

    #[test]
    fn folded_entries_go_a_budget_at_a_time_and_live_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let db = with_entries(dir.path(), &[("a", 1000), ("b", 20)]);
        let mut sweep = Sweep::default();
        sweep.folded("a", 1000);
        sweep.folded("b", 10);
        // The probe counts: 511 entries of `a`.
        assert_eq!(sweep_once(&db, &mut sweep, 512), 511);
        assert_eq!(count(&db, "a"), 489);
        assert!(!sweep.is_empty());
        // The rest of `a` (489 < 511 asked: done), then `b`'s 10 folded ones.
        assert_eq!(sweep_once(&db, &mut sweep, 512), 499);
        assert_eq!(count(&db, "a"), 0);
        assert_eq!(count(&db, "b"), 10, "entries at or above the fold stay");
        assert!(sweep.is_empty());
        assert_eq!(sweep_once(&db, &mut sweep, 512), 0);
        let txn = db.begin_read().unwrap();
        assert_eq!(txn.open_table(LOG).unwrap().len().unwrap(), 10);
    }

    #[test]
    fn a_budget_that_ends_exactly_at_the_last_entry_keeps_the_document_queued() {
        let dir = tempfile::tempdir().unwrap();
        let db = with_entries(dir.path(), &[("a", 7)]);
        let mut sweep = Sweep::default();
        sweep.folded("a", 7);
        // A budget of 1 only probes; of 8, probes and takes all 7: it cannot know
        // the range is empty, so it stays queued, and the next run finds nothing.
        assert_eq!(sweep_once(&db, &mut sweep, 1), 0);
        assert_eq!(sweep_once(&db, &mut sweep, 0), 0);
        assert!(!sweep.is_empty());
        assert_eq!(sweep_once(&db, &mut sweep, 8), 7);
        assert!(!sweep.is_empty());
        assert_eq!(sweep_once(&db, &mut sweep, 8), 0);
        assert!(sweep.is_empty());
        assert_eq!(count(&db, "a"), 0);
    }
}
