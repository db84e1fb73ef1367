//! The write-behind log of `--fsync interval:MS`: what survives a process crash
//! between two fsyncs.
//!
//! Under the interval policy the store acknowledges writes after a non-durable redb
//! commit, which redb discards when the process dies before the next durable one.
//! So every such batch is also appended here, with `write(2)` and no fsync, before
//! its writes are answered: the kernel keeps it across a crash of the process (not
//! across a power loss, which the policy allows to lose up to MS ms). After each
//! durable commit the file is emptied. At start, before anything is read, its
//! records are committed durably in their order and the file emptied; the replay is
//! idempotent (each record sets or deletes whole rows), so a crash during it is safe.
//!
//! Record: kind (1 = log entry, 2 = checkpoint), u32 LE document-name length, the
//! name, u64 LE sequence number (the entry's, or the checkpoint's first unfolded
//! one), u32 LE payload length, the payload, then XXH3-64 (LE) of the preceding
//! bytes of the record. A torn or damaged tail (power loss) ends the replay there.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The file's name inside the data directory.
pub const WRITE_BEHIND_FILE: &str = "write-behind.log";

/// One row change of the store, in the order it was committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Record {
    /// Sets log entry `(doc, seq)`.
    Append {
        doc: String,
        seq: u64,
        entry: Vec<u8>,
    },
    /// Sets the document's checkpoint and deletes its log entries below `next_seq`.
    Checkpoint {
        doc: String,
        next_seq: u64,
        bytes: Vec<u8>,
    },
}

const KIND_APPEND: u8 = 1;
const KIND_CHECKPOINT: u8 = 2;

fn encode(record: &Record, out: &mut Vec<u8>) {
    let start = out.len();
    let (kind, doc, seq, payload) = match record {
        Record::Append { doc, seq, entry } => (KIND_APPEND, doc, *seq, entry),
        Record::Checkpoint {
            doc,
            next_seq,
            bytes,
        } => (KIND_CHECKPOINT, doc, *next_seq, bytes),
    };
    out.push(kind);
    out.extend_from_slice(&(doc.len() as u32).to_le_bytes());
    out.extend_from_slice(doc.as_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    let sum = xxhash_rust::xxh3::xxh3_64(&out[start..]);
    out.extend_from_slice(&sum.to_le_bytes());
}

/// Splits off `n` bytes, or `None` if fewer are left (no length is trusted before
/// it is checked against what the file holds).
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

fn u32_at(rest: &mut &[u8]) -> Option<usize> {
    Some(u32::from_le_bytes(take(rest, 4)?.try_into().ok()?) as usize)
}

fn u64_at(rest: &mut &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(take(rest, 8)?.try_into().ok()?))
}

fn decode_one(rest: &mut &[u8]) -> Option<Record> {
    let whole = *rest;
    let kind = take(rest, 1)?[0];
    let doc_len = u32_at(rest)?;
    let doc = std::str::from_utf8(take(rest, doc_len)?).ok()?.to_string();
    let seq = u64_at(rest)?;
    let payload_len = u32_at(rest)?;
    let payload = take(rest, payload_len)?.to_vec();
    let body_len = whole.len() - rest.len();
    let sum = u64_at(rest)?;
    if xxhash_rust::xxh3::xxh3_64(&whole[..body_len]) != sum {
        return None;
    }
    match kind {
        KIND_APPEND => Some(Record::Append {
            doc,
            seq,
            entry: payload,
        }),
        KIND_CHECKPOINT => Some(Record::Checkpoint {
            doc,
            next_seq: seq,
            bytes: payload,
        }),
        _ => None,
    }
}

/// Decodes records up to the first torn or damaged one; also returns how many bytes
/// after them were unreadable.
pub(crate) fn decode_all(mut bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let mut rest = bytes;
        match decode_one(&mut rest) {
            Some(r) => {
                out.push(r);
                bytes = rest;
            }
            None => break,
        }
    }
    (out, bytes.len())
}

/// The open write-behind file of a running store.
pub(crate) struct WriteBehind {
    path: PathBuf,
    file: File,
    /// Whether the file holds records not yet made durable in the store.
    dirty: bool,
}

impl WriteBehind {
    /// Opens (creating) `dir/write-behind.log` for appending.
    pub(crate) fn open(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join(WRITE_BEHIND_FILE);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self {
            path,
            file,
            dirty: false,
        })
    }

    /// Appends the records with one `write(2)` (no fsync).
    pub(crate) fn append(&mut self, records: &[Record]) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for r in records {
            encode(r, &mut buf);
        }
        self.file.write_all(&buf)?;
        self.dirty = true;
        Ok(())
    }

    /// Empties the file: everything in it is now durable in the store.
    pub(crate) fn clear(&mut self) -> std::io::Result<()> {
        if self.dirty {
            self.file.set_len(0)?;
            self.dirty = false;
        }
        Ok(())
    }

    /// The file's path, for error messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads the records a crashed process left in `dir` (none if there is no file),
/// with the number of unreadable bytes after them.
pub(crate) fn read_left_over(dir: &Path) -> std::io::Result<(Vec<Record>, usize)> {
    let path = dir.join(WRITE_BEHIND_FILE);
    let mut bytes = Vec::new();
    match File::open(&path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    }
    Ok(decode_all(&bytes))
}

/// Empties `dir`'s write-behind file after its records were committed durably.
pub(crate) fn clear_left_over(dir: &Path) -> std::io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .open(dir.join(WRITE_BEHIND_FILE))
    {
        Ok(f) => {
            f.set_len(0)?;
            f.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Record> {
        vec![
            Record::Append {
                doc: "d".into(),
                seq: 7,
                entry: vec![1, 2, 3],
            },
            Record::Checkpoint {
                doc: "doc-2".into(),
                next_seq: 9,
                bytes: vec![9; 40],
            },
            Record::Append {
                doc: String::new(),
                seq: u64::MAX,
                entry: Vec::new(),
            },
        ]
    }

    #[test]
    fn records_round_trip_and_a_torn_or_damaged_tail_ends_the_replay() {
        let mut bytes = Vec::new();
        for r in &sample() {
            encode(r, &mut bytes);
        }
        assert_eq!(decode_all(&bytes), (sample(), 0));
        // Every cut inside the last record keeps the first two.
        let last_start = bytes.len() - (1 + 4 + 8 + 4 + 8);
        for cut in last_start..bytes.len() {
            let (got, left) = decode_all(&bytes[..cut]);
            assert_eq!(got, sample()[..2], "cut at {cut}");
            assert_eq!(left, cut - last_start);
        }
        // A flipped bit anywhere stops the replay at the record it hits.
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            let (got, _) = decode_all(&bad);
            assert!(got.len() < 3, "byte {i}");
            assert_eq!(got, sample()[..got.len()], "byte {i}");
        }
        // A huge length is checked against what is there, never allocated.
        let mut huge = vec![KIND_APPEND];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_all(&huge), (Vec::new(), 5));
    }

    #[test]
    fn the_file_appends_clears_and_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_left_over(dir.path()).unwrap(), (Vec::new(), 0));
        let mut wb = WriteBehind::open(dir.path()).unwrap();
        wb.append(&sample()[..1]).unwrap();
        wb.append(&sample()[1..]).unwrap();
        assert_eq!(read_left_over(dir.path()).unwrap(), (sample(), 0));
        wb.clear().unwrap();
        assert_eq!(read_left_over(dir.path()).unwrap(), (Vec::new(), 0));
        wb.append(&sample()[..1]).unwrap();
        clear_left_over(dir.path()).unwrap();
        assert_eq!(read_left_over(dir.path()).unwrap(), (Vec::new(), 0));
    }
}
