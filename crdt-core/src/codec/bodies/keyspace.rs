//! Keyspaces.
//!
//! Layout: the causal context; `n` keys ascending (by bytes), each as its length
//! (at most `max_key_bytes`) and UTF-8 bytes, then `m >= 1` live dots ascending, each
//! as its dot (replica, counter), a value tag and the payload:
//!
//! | tag | type | payload |
//! |---|---|---|
//! | 0 | GCounter | the writer's total |
//! | 1 | PnCounter | the writer's increments, then decrements |
//! | 2 | OrSet | the element (string) |
//! | 3 | LwwRegister | timestamp millis, logical, then the value (string) |
//! | 4 | MvRegister | the value (string) |
//! | 5 | GCounter, a retired writer's collapsed total | the total |
//! | 6 | PnCounter, a retired writer's collapsed totals | increments, then decrements |
//! | 7 | LwwRegister, renamed by a retirement | the writer that made it (its tie-break), then as tag 3 |
//!
//! Tags 5-7 appear only in keyspaces that retired a writer (`docs/RETIREMENT.md`);
//! a reader that predates them refuses such a keyspace as non-canonical.
//!
//! Strings are a length then UTF-8 bytes (postcard's layout). The decoder rejects a
//! dot outside the context or live under two keys, unsorted keys or dots, and an
//! empty key entry; the index and the removed dots are rebuilt, never read.

use super::super::{
    DecodeError, Invalid, Limit, Reader, ValueError, WireFormat, Writer, TAG_KEYSPACE,
};
use super::causal::{read_ctx, write_ctx};
use super::Ascending;
use crate::keyspace::{Entry, LwwWrite, Payload};
use crate::{Keyspace, Timestamp};

/// A string: its length, then its UTF-8 bytes (postcard's layout).
fn write_str(w: &mut Writer, s: &str) {
    w.len(s.len());
    w.raw(s.as_bytes());
}

fn read_str<'a>(r: &mut Reader<'a>, limit: Limit) -> Result<&'a str, DecodeError> {
    let n = r.len(limit, 1)?;
    let bytes = r.raw(n)?;
    core::str::from_utf8(bytes).map_err(|_| DecodeError::BadValue(ValueError::BadUtf8))
}

impl WireFormat for Keyspace {
    const TYPE_TAG: u8 = TAG_KEYSPACE;

    fn encode_body(&self, w: &mut Writer) -> Result<(), ValueError> {
        write_ctx(w, self.context());
        let entries = self.entries();
        w.len(entries.len());
        for (key, entry) in entries {
            write_str(w, key);
            w.len(entry.len());
            for (payload, dot) in entry {
                w.dot(*dot);
                payload.encode(w);
            }
        }
        Ok(())
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let ctx = read_ctx(r)?;
        // A key takes at least 1 byte of length, 1 of dot count, 2 of dot, 1 of tag.
        let n = r.len(Limit::Elements, 5)?;
        let mut entries: Vec<(Box<str>, Entry)> =
            Vec::with_capacity(super::prealloc::<(Box<str>, Entry)>(n));
        let mut keys = Ascending::new("keyspace keys");
        for _ in 0..n {
            let key = read_str(r, Limit::KeyBytes)?;
            keys.next(key)?;
            let m = r.len(Limit::Elements, 3)?;
            if m == 0 {
                return Err(Invalid::EmptyDotSet.into());
            }
            let mut entry = Entry::with_capacity(super::prealloc::<(Payload, crate::Dot)>(m));
            let mut dots = Ascending::new("a key's dots");
            for _ in 0..m {
                let dot = r.dot()?;
                dots.next(dot)?;
                let payload = match r.u8()? {
                    0 => Payload::GCounter(r.varint()?),
                    1 => Payload::PnCounter {
                        inc: r.varint()?,
                        dec: r.varint()?,
                    },
                    2 => Payload::OrSet(read_str(r, Limit::Bytes)?.into()),
                    tag @ (3 | 7) => {
                        let writer = if tag == 7 { Some(r.replica()?) } else { None };
                        let millis = r.varint()?;
                        let logical = r.varint_u32("a timestamp's logical counter")?;
                        let value = read_str(r, Limit::Bytes)?.into();
                        Payload::Lww(Box::new(LwwWrite {
                            stamp: Timestamp::new(millis, logical),
                            value,
                            writer,
                        }))
                    }
                    4 => Payload::Mv(read_str(r, Limit::Bytes)?.into()),
                    5 => Payload::GCounterCollapsed(r.varint()?),
                    6 => Payload::PnCounterCollapsed {
                        inc: r.varint()?,
                        dec: r.varint()?,
                    },
                    _ => return Err(Invalid::NonCanonical("a keyspace value tag").into()),
                };
                entry.push((payload, dot));
            }
            entries.push((Box::from(key), entry));
        }
        Ok(Keyspace::from_parts(entries, ctx)?)
    }
}
