//! When a document's log is folded into a new checkpoint.
//!
//! A fold costs in proportion to the document: the driver encodes the whole state and
//! the store writes it (and deletes the folded entries) in one commit. So folds are
//! spaced by an amount of log proportional to the last checkpoint, and every logged
//! byte and entry pays a bounded share of them however large the document grows.
//! With a fixed spacing (every 4,096 entries, as before), the share grew with the
//! document: in the load benchmark a 5.7 MB keyspace was re-encoded and rewritten
//! every 0.2-0.3 s, each time holding the driver for 7-17 ms and the commit that
//! acknowledges writes for 14-25 ms.
//!
//! The log a restart replays stays bounded by the checkpoint too: at most its size in
//! bytes (at least [`LOG_BYTES_MIN`]) and one entry per [`CHECKPOINT_BYTES_PER_ENTRY`]
//! of it (at least [`LOG_ENTRIES_MIN`]), so disk holds at most about twice the state.

/// Entries a log may always hold before it is folded.
pub(crate) const LOG_ENTRIES_MIN: u64 = 4096;
/// Bytes a log may always hold before it is folded.
pub(crate) const LOG_BYTES_MIN: u64 = 1 << 20;
/// Checkpoint bytes that allow the log one more entry above [`LOG_ENTRIES_MIN`]: a
/// fold then costs each entry at most the encoding and writing of this many
/// checkpoint bytes, or of its own size if larger.
pub(crate) const CHECKPOINT_BYTES_PER_ENTRY: u64 = 64;

/// A document's log since its last checkpoint, and that checkpoint's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LogSize {
    entries: u64,
    bytes: u64,
    checkpoint_bytes: u64,
}

impl LogSize {
    /// A log of `entries` entries and `bytes` bytes after a checkpoint of
    /// `checkpoint_bytes` bytes (a new one: nothing logged yet).
    pub(crate) fn new(entries: u64, bytes: u64, checkpoint_bytes: u64) -> Self {
        Self {
            entries,
            bytes,
            checkpoint_bytes,
        }
    }

    /// Counts one more entry of `bytes` bytes; `true` if the log is now due a fold.
    #[must_use]
    pub(crate) fn append(&mut self, bytes: usize) -> bool {
        self.entries += 1;
        self.bytes = self.bytes.saturating_add(bytes as u64);
        self.fold_due()
    }

    /// The log was folded into a checkpoint of `checkpoint_bytes` bytes.
    pub(crate) fn folded(&mut self, checkpoint_bytes: usize) {
        *self = Self::new(0, 0, checkpoint_bytes as u64);
    }

    /// Whether the log has outgrown its share of the checkpoint.
    pub(crate) fn fold_due(&self) -> bool {
        let entries_max = LOG_ENTRIES_MIN.max(self.checkpoint_bytes / CHECKPOINT_BYTES_PER_ENTRY);
        let bytes_max = LOG_BYTES_MIN.max(self.checkpoint_bytes);
        self.entries >= entries_max || self.bytes >= bytes_max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends entries of `entry` bytes until a fold is due: how many it took.
    fn entries_until_fold(checkpoint: usize, entry: usize) -> u64 {
        let mut log = LogSize::default();
        log.folded(checkpoint);
        let mut n = 0;
        loop {
            n += 1;
            if log.append(entry) {
                return n;
            }
            assert!(n < 10_000_000, "never due");
        }
    }

    #[test]
    fn small_documents_fold_every_4096_entries_or_mib() {
        assert_eq!(entries_until_fold(0, 10), 4096);
        assert_eq!(entries_until_fold(100_000, 100), 4096);
        // 1 MiB of 1,000-byte entries: 1,048.576, so the 1,049th.
        assert_eq!(entries_until_fold(100_000, 1000), 1049);
        assert_eq!(entries_until_fold(0, 1 << 20), 1);
    }

    #[test]
    fn large_documents_fold_after_a_log_in_proportion_to_them() {
        // 8 MiB checkpoint, 100-byte entries: 8 MiB of log (83,887 entries) comes
        // before 8 MiB / 64 = 131,072 entries.
        assert_eq!(entries_until_fold(8 << 20, 100), 83_887);
        // Tiny entries: one per 64 checkpoint bytes.
        assert_eq!(entries_until_fold(8 << 20, 20), 131_072);
        // Just above the floors: 4,097 entries' worth of checkpoint.
        assert_eq!(entries_until_fold(4097 * 64, 1), 4097);
        assert_eq!(entries_until_fold(4096 * 64 + 63, 1), 4096);
    }

    #[test]
    fn a_fold_costs_each_entry_a_bounded_share_of_the_checkpoint() {
        for checkpoint in [0usize, 1 << 10, 1 << 20, 5_700_000, 1 << 26] {
            for entry in [1usize, 30, 100, 4096] {
                let n = entries_until_fold(checkpoint, entry);
                let share = checkpoint as u64 / n;
                assert!(
                    share <= CHECKPOINT_BYTES_PER_ENTRY.max(entry as u64),
                    "{checkpoint} B checkpoint, {entry} B entries: {share} B per entry"
                );
            }
        }
    }

    #[test]
    fn restored_logs_count_what_is_already_there() {
        let log = LogSize::new(4095, 0, 0);
        assert!(!log.fold_due());
        assert!(LogSize::new(4096, 0, 0).fold_due());
        assert!(LogSize::new(0, 3 << 20, 3 << 20).fold_due());
        assert!(!LogSize::new(0, (3 << 20) - 1, 3 << 20).fold_due());
    }
}
