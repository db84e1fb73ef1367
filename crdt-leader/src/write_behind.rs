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
//! bytes of the record. A torn tail (power loss) ends the replay there. A record that
//! fails its checksum with an intact record after it is damage, not a torn tail: the
//! start is refused ([`Tail::Damaged`]) rather than dropping the intact writes.

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
    if kind != KIND_APPEND && kind != KIND_CHECKPOINT {
        return None;
    }
    let doc_len = u32_at(rest)?;
    // Names are checked before anything is written (`check_doc_name`).
    if doc_len > crate::name::DOC_NAME_BYTES_MAX {
        return None;
    }
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

/// What follows the records of a write-behind file that decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tail {
    /// Nothing: every byte belongs to a record.
    Clean,
    /// `bytes` that hold no intact record: a write a power loss tore (or left as
    /// zeros). The records before it are everything that was written whole.
    Torn { bytes: usize },
    /// The record at byte `offset` is damaged but an intact record starts at byte
    /// `intact_at` after it: the file was damaged after it was written, and replaying
    /// only the records before `offset` would drop acknowledged writes.
    Damaged { offset: usize, intact_at: usize },
}

/// Decodes records up to the first torn or damaged one, and says what follows them.
pub(crate) fn decode_all(bytes: &[u8]) -> (Vec<Record>, Tail) {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let mut rest = &bytes[at..];
        match decode_one(&mut rest) {
            Some(r) => {
                out.push(r);
                at = bytes.len() - rest.len();
            }
            None => break,
        }
    }
    if at == bytes.len() {
        return (out, Tail::Clean);
    }
    let tail = match intact_after(bytes, at) {
        Some(intact_at) => Tail::Damaged {
            offset: at,
            intact_at,
        },
        None => Tail::Torn {
            bytes: bytes.len() - at,
        },
    };
    (out, tail)
}

/// The first byte after `bad` (where a record fails to decode) at which an intact
/// record starts, if any. Its length fields may be the damaged bytes, so every offset
/// is tried; only one whose kind and name length are plausible is hashed, so zeros
/// and random bytes (a torn tail) cost about one comparison per byte.
fn intact_after(bytes: &[u8], bad: usize) -> Option<usize> {
    (bad + 1..bytes.len()).find(|&at| {
        let mut rest = &bytes[at..];
        decode_one(&mut rest).is_some()
    })
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

/// Reads the records a crashed process left in `dir` (none if there is no file), and
/// what follows them.
pub(crate) fn read_left_over(dir: &Path) -> std::io::Result<(Vec<Record>, Tail)> {
    let path = dir.join(WRITE_BEHIND_FILE);
    let mut bytes = Vec::new();
    match File::open(&path) {
        Ok(mut f) => {
            f.read_to_end(&mut bytes)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Tail::Clean)),
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

    fn encoded() -> (Vec<u8>, Vec<usize>) {
        let mut bytes = Vec::new();
        let mut starts = Vec::new();
        for r in &sample() {
            starts.push(bytes.len());
            encode(r, &mut bytes);
        }
        (bytes, starts)
    }

    #[test]
    fn records_round_trip_and_a_torn_tail_ends_the_replay() {
        let (bytes, starts) = encoded();
        assert_eq!(decode_all(&bytes), (sample(), Tail::Clean));
        // Every cut inside the last record keeps the first two.
        let last_start = starts[2];
        assert_eq!(last_start, bytes.len() - (1 + 4 + 8 + 4 + 8));
        for cut in last_start + 1..bytes.len() {
            let got = decode_all(&bytes[..cut]);
            let torn = Tail::Torn {
                bytes: cut - last_start,
            };
            assert_eq!(got, (sample()[..2].to_vec(), torn), "cut at {cut}");
        }
        // A file extended by a power loss with zeros, or with bytes never written.
        let mut zeros = bytes.clone();
        zeros.extend_from_slice(&[0; 4096]);
        assert_eq!(decode_all(&zeros), (sample(), Tail::Torn { bytes: 4096 }));
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut garbage = bytes.clone();
        for _ in 0..4096 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            garbage.push(rng as u8);
        }
        assert_eq!(decode_all(&garbage), (sample(), Tail::Torn { bytes: 4096 }));
        // A flipped bit in the last record is a torn tail too: nothing intact follows.
        for i in last_start..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            let (got, tail) = decode_all(&bad);
            assert_eq!(got, sample()[..2], "byte {i}");
            assert!(matches!(tail, Tail::Torn { .. }), "byte {i}: {tail:?}");
        }
        // A huge length is checked against what is there, never allocated.
        let mut huge = vec![KIND_APPEND];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_all(&huge), (Vec::new(), Tail::Torn { bytes: 5 }));
    }

    #[test]
    fn a_damaged_record_with_intact_records_after_it_is_damage_not_a_torn_tail() {
        let (bytes, starts) = encoded();
        // A flipped bit anywhere before the last record, its length fields included:
        // the records before the damaged one decode, and the next intact one is found.
        for i in 0..starts[2] {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            let hit = if i < starts[1] { 0 } else { 1 };
            let (got, tail) = decode_all(&bad);
            assert_eq!(got, sample()[..hit], "byte {i}");
            assert_eq!(
                tail,
                Tail::Damaged {
                    offset: starts[hit],
                    intact_at: starts[hit + 1],
                },
                "byte {i}"
            );
        }
    }

    #[test]
    fn the_file_appends_clears_and_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_left_over(dir.path()).unwrap(),
            (Vec::new(), Tail::Clean)
        );
        let mut wb = WriteBehind::open(dir.path()).unwrap();
        wb.append(&sample()[..1]).unwrap();
        wb.append(&sample()[1..]).unwrap();
        assert_eq!(read_left_over(dir.path()).unwrap(), (sample(), Tail::Clean));
        wb.clear().unwrap();
        assert_eq!(
            read_left_over(dir.path()).unwrap(),
            (Vec::new(), Tail::Clean)
        );
        wb.append(&sample()[..1]).unwrap();
        clear_left_over(dir.path()).unwrap();
        assert_eq!(
            read_left_over(dir.path()).unwrap(),
            (Vec::new(), Tail::Clean)
        );
    }
}
