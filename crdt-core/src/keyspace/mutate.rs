//! Keyspace mutators: each returns a delta naming one key.

use super::{Entry, Keyspace, KeyspaceOp, Live, LwwWrite, Payload, ValueOp};
use crate::{CausalContext, CoreError, Crdt, Dot, ReplicaId, Timestamp};

/// The longest key a keyspace accepts, in bytes of UTF-8. Mutators refuse longer keys
/// with [`CoreError::KeyTooLong`]; the decoder checks
/// [`DecodeLimits::max_key_bytes`](crate::codec::DecodeLimits::max_key_bytes), which
/// defaults to this.
pub const KEY_BYTES_MAX: usize = 4096;

impl Keyspace {
    /// Adds `n` to the grow-only counter under `key` (created at 0 if absent) on behalf
    /// of `writer`. Returns the delta. O(log keys + size of the key's entry).
    ///
    /// # Errors
    /// [`CoreError::KeyTooLong`], [`CoreError::KeyTypeMismatch`],
    /// [`CoreError::CounterOverflow`] or [`CoreError::DotsExhausted`]; unchanged then.
    pub fn increment(&mut self, writer: ReplicaId, key: &str, n: u64) -> Result<Self, CoreError> {
        self.write(writer, key, ValueOp::GCounterIncrement(n))
    }

    /// Adds `n` to the PN-counter under `key`. Returns the delta.
    ///
    /// # Errors
    /// As [`Keyspace::increment`].
    pub fn pn_increment(
        &mut self,
        writer: ReplicaId,
        key: &str,
        n: u64,
    ) -> Result<Self, CoreError> {
        self.write(writer, key, ValueOp::PnCounterIncrement(n))
    }

    /// Subtracts `n` from the PN-counter under `key`. Returns the delta.
    ///
    /// # Errors
    /// As [`Keyspace::increment`].
    pub fn pn_decrement(
        &mut self,
        writer: ReplicaId,
        key: &str,
        n: u64,
    ) -> Result<Self, CoreError> {
        self.write(writer, key, ValueOp::PnCounterDecrement(n))
    }

    /// Adds `element` to the OR-Set under `key` (add wins over a concurrent remove).
    /// Returns the delta.
    ///
    /// # Errors
    /// [`CoreError::KeyTooLong`], [`CoreError::KeyTypeMismatch`] or
    /// [`CoreError::DotsExhausted`]; unchanged then.
    pub fn set_insert(
        &mut self,
        writer: ReplicaId,
        key: &str,
        element: String,
    ) -> Result<Self, CoreError> {
        self.write(writer, key, ValueOp::OrSetInsert(element))
    }

    /// Removes `element` from the OR-Set under `key`, as observed here. The key
    /// disappears with its last element. Returns the delta (bottom if absent).
    ///
    /// # Errors
    /// [`CoreError::KeyTooLong`] or [`CoreError::KeyTypeMismatch`]; unchanged then.
    pub fn set_remove(
        &mut self,
        writer: ReplicaId,
        key: &str,
        element: &str,
    ) -> Result<Self, CoreError> {
        self.write(writer, key, ValueOp::OrSetRemove(element.to_string()))
    }

    /// Writes the last-writer-wins register under `key`; `now_ms` is the writer's wall
    /// clock (the write is stamped after every write of the key seen here, as
    /// [`LwwRegister::set`](crate::LwwRegister::set) does). Returns the delta.
    ///
    /// # Errors
    /// [`CoreError::KeyTooLong`], [`CoreError::KeyTypeMismatch`],
    /// [`CoreError::ClockExhausted`] or [`CoreError::DotsExhausted`]; unchanged then.
    pub fn lww_set(
        &mut self,
        writer: ReplicaId,
        key: &str,
        value: String,
        now_ms: u64,
    ) -> Result<Self, CoreError> {
        self.write(writer, key, ValueOp::LwwSet { value, now_ms })
    }

    /// Writes the multi-value register under `key`, replacing every write of it seen
    /// here. Returns the delta.
    ///
    /// # Errors
    /// [`CoreError::KeyTooLong`], [`CoreError::KeyTypeMismatch`] or
    /// [`CoreError::DotsExhausted`]; unchanged then.
    pub fn mv_set(
        &mut self,
        writer: ReplicaId,
        key: &str,
        value: String,
    ) -> Result<Self, CoreError> {
        self.write(writer, key, ValueOp::MvRegisterSet(value))
    }

    /// Deletes `key` as observed here: every dot of its entry is removed; a write of it
    /// this replica has not seen survives. No tombstone is kept. Returns the delta
    /// (bottom if absent). O(log keys + size of the key's entry).
    ///
    /// # Errors
    /// [`CoreError::KeyTooLong`]; unchanged then.
    pub fn delete(&mut self, key: &str) -> Result<Self, CoreError> {
        check_key(key)?;
        let Some(entry) = self.entries.get(key) else {
            return Ok(Self::new());
        };
        let superseded: Vec<Dot> = entry.iter().map(|(_, d)| *d).collect();
        let delta = Self::one_key(key, None, &superseded);
        self.merge(&delta);
        Ok(delta)
    }

    /// Executes `op` on behalf of `writer`. Returns the delta.
    ///
    /// # Errors
    /// As the mutator `op` names.
    pub fn apply(&mut self, writer: ReplicaId, op: KeyspaceOp) -> Result<Self, CoreError> {
        match op {
            KeyspaceOp::Write { key, op } => self.write(writer, &key, op),
            KeyspaceOp::Delete { key } => self.delete(&key),
        }
    }

    /// Executes one write to `key`'s value.
    fn write(&mut self, writer: ReplicaId, key: &str, op: ValueOp) -> Result<Self, CoreError> {
        check_key(key)?;
        let attempted = op.value_type();
        let mut empty = Entry::new();
        let entry = self.entries.get_mut(key).unwrap_or(&mut empty);
        // One pass: the types present, and the dots of other types (a type conflict
        // this write resolves).
        let mut present = [false; super::ALL.len()];
        let mut superseded: Vec<Dot> = Vec::new();
        for (p, d) in entry.iter() {
            let t = p.value_type();
            present[t as usize] = true;
            if t != attempted {
                superseded.push(*d);
            }
        }
        if !present[attempted as usize] {
            let first = super::ALL.iter().zip(present).find(|(_, here)| *here);
            if let Some((existing, _)) = first {
                return Err(CoreError::KeyTypeMismatch {
                    key: key.to_string(),
                    existing: *existing,
                    attempted,
                });
            }
        }
        // A large set written here keeps its order by value from now on: the element's
        // lookup below, this write's merge and the reads after it use it (crdt-leader
        // reads the key after every write).
        entry.keep_order();
        let entry = &*entry;
        let of_writer = |d: &Dot| d.replica() == writer;
        let payload = match op {
            ValueOp::GCounterIncrement(n) => {
                let mut base = 0u64;
                for (p, d) in entry {
                    if let (true, Payload::GCounter(t)) = (of_writer(d), p) {
                        base = *t; // the writer's highest dot comes last
                        superseded.push(*d);
                    }
                }
                let total = base
                    .checked_add(n)
                    .ok_or(CoreError::CounterOverflow { replica: writer })?;
                Some(Payload::GCounter(total))
            }
            ValueOp::PnCounterIncrement(n) | ValueOp::PnCounterDecrement(n) => {
                let (mut inc, mut dec) = (0u64, 0u64);
                for (p, d) in entry {
                    if let (true, Payload::PnCounter { inc: i, dec: m }) = (of_writer(d), p) {
                        (inc, dec) = (*i, *m);
                        superseded.push(*d);
                    }
                }
                let overflow = CoreError::CounterOverflow { replica: writer };
                if matches!(op, ValueOp::PnCounterIncrement(_)) {
                    inc = inc.checked_add(n).ok_or(overflow)?;
                } else {
                    dec = dec.checked_add(n).ok_or(overflow)?;
                }
                Some(Payload::PnCounter { inc, dec })
            }
            ValueOp::OrSetInsert(element) => {
                superseded.extend(same_element(entry, &element));
                Some(Payload::OrSet(element.into_boxed_str()))
            }
            ValueOp::OrSetRemove(element) => {
                // A remove resolves nothing else: it only drops the element's adds.
                superseded = same_element(entry, &element);
                None
            }
            ValueOp::LwwSet { value, now_ms } => {
                let latest = entry
                    .iter()
                    .filter_map(|(p, _)| match p {
                        Payload::Lww(w) => Some(w.stamp),
                        _ => None,
                    })
                    .max();
                let stamp = match latest {
                    Some(s) => s.tick(now_ms).ok_or(CoreError::ClockExhausted)?,
                    None => Timestamp::new(now_ms, 0),
                };
                superseded = entry.iter().map(|(_, d)| *d).collect();
                Some(Payload::Lww(Box::new(LwwWrite {
                    stamp,
                    value: value.into_boxed_str(),
                    writer: None,
                })))
            }
            ValueOp::MvRegisterSet(value) => {
                superseded = entry.iter().map(|(_, d)| *d).collect();
                Some(Payload::Mv(value.into_boxed_str()))
            }
        };
        let live = match payload {
            Some(p) => {
                let dot = self
                    .ctx
                    .next_dot(writer)
                    .ok_or(CoreError::DotsExhausted { replica: writer })?;
                Some((dot, p))
            }
            None => None,
        };
        if live.is_none() && superseded.is_empty() {
            return Ok(Self::new());
        }
        superseded.sort_unstable();
        let delta = Self::one_key(key, live, &superseded);
        self.merge(&delta);
        Ok(delta)
    }

    /// The delta of a write to `key`: the new live dot (if any) and the dots it
    /// supersedes, all in its context.
    fn one_key(key: &str, live: Option<(Dot, Payload)>, superseded: &[Dot]) -> Self {
        let removed: CausalContext = superseded.iter().copied().collect();
        let mut ctx = removed.clone();
        let mut delta = Self::new();
        if let Some((dot, payload)) = live {
            ctx.insert(dot);
            delta.insert_live(key, dot, payload, false);
        }
        delta.ctx = ctx;
        delta.removed = removed;
        delta
    }
}

/// The dots of `entry` that add `element` to its OR-Set, ascending: looked up in the
/// entry's order by value when it keeps one (a large set), else found by a scan.
fn same_element(entry: &Entry, element: &str) -> Vec<Dot> {
    let adds = |(p, d): &Live| match p {
        Payload::OrSet(e) if **e == *element => Some(*d),
        _ => None,
    };
    match entry.with_value(element.as_bytes()) {
        // Equal values are held by position, which is dot order.
        Some(found) => found.filter_map(adds).collect(),
        None => entry.iter().filter_map(adds).collect(),
    }
}

/// Refuses keys longer than [`KEY_BYTES_MAX`].
fn check_key(key: &str) -> Result<(), CoreError> {
    if key.len() > KEY_BYTES_MAX {
        return Err(CoreError::KeyTooLong {
            bytes: key.len(),
            max: KEY_BYTES_MAX,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{Value, ValueType};

    #[test]
    fn a_type_is_fixed_by_the_first_write() {
        let a = ReplicaId::new(1);
        let mut ks = Keyspace::new();
        let _ = ks.increment(a, "likes", 2).unwrap();
        let err = ks.mv_set(a, "likes", "x".into()).unwrap_err();
        assert_eq!(
            err,
            CoreError::KeyTypeMismatch {
                key: "likes".into(),
                existing: ValueType::GCounter,
                attempted: ValueType::MvRegister,
            }
        );
        assert_eq!(ks.get("likes"), Some(Value::GCounter(2)));
    }
}
