//! The decoding side: bounded, canonical-only primitives.

use super::{DecodeError, DecodeLimits, Invalid, Limit, ValueError};
use crate::{Dot, ReplicaId};

/// Reads canonical encodings from untrusted bytes. Every method either advances past a
/// well-formed item or returns an error; none panics or allocates from an unchecked
/// length.
#[derive(Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
    limits: DecodeLimits,
    scratch: Vec<u8>,
}

impl<'a> Reader<'a> {
    /// A reader over `input` enforcing `limits` (`max_bytes` is checked here).
    ///
    /// # Errors
    /// [`DecodeError::LimitExceeded`] if `input` is longer than `limits.max_bytes`.
    pub fn new(input: &'a [u8], limits: &DecodeLimits) -> Result<Self, DecodeError> {
        if input.len() > limits.max_bytes {
            return Err(DecodeError::LimitExceeded {
                limit: Limit::Bytes,
                max: limits.max_bytes as u64,
                found: input.len() as u64,
            });
        }
        Ok(Self {
            input,
            limits: *limits,
            scratch: Vec::new(),
        })
    }

    /// The limits in force.
    #[must_use]
    pub fn limits(&self) -> &DecodeLimits {
        &self.limits
    }

    /// Bytes not yet read.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.input.len()
    }

    /// One raw byte.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] at the end of input.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&b, rest) = self.input.split_first().ok_or(DecodeError::Truncated)?;
        self.input = rest;
        Ok(b)
    }

    /// `n` raw bytes.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] if fewer remain.
    pub fn raw(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.input.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.input.split_at(n);
        self.input = rest;
        Ok(head)
    }

    /// An unsigned varint, rejecting overlong or overflowing forms.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] or [`DecodeError::BadVarint`].
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut out: u64 = 0;
        for i in 0..10u32 {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7F);
            if i == 9 && b > 1 {
                return Err(DecodeError::BadVarint);
            }
            out |= bits << (7 * i);
            if b & 0x80 == 0 {
                if i > 0 && b == 0 {
                    return Err(DecodeError::BadVarint);
                }
                return Ok(out);
            }
        }
        Err(DecodeError::BadVarint)
    }

    /// A varint that must fit a `u32`.
    ///
    /// # Errors
    /// As [`Reader::varint`], or [`Invalid::Overflow`].
    pub fn varint_u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let v = self.varint()?;
        u32::try_from(v).map_err(|_| Invalid::Overflow(what).into())
    }

    /// A counter that must be at least 1.
    ///
    /// # Errors
    /// As [`Reader::varint`], or [`Invalid::ZeroCounter`].
    pub fn counter(&mut self) -> Result<u64, DecodeError> {
        match self.varint()? {
            0 => Err(Invalid::ZeroCounter.into()),
            c => Ok(c),
        }
    }

    /// A replica id.
    ///
    /// # Errors
    /// As [`Reader::varint`].
    pub fn replica(&mut self) -> Result<ReplicaId, DecodeError> {
        self.varint().map(ReplicaId::new)
    }

    /// A dot (replica, then counter >= 1).
    ///
    /// # Errors
    /// As [`Reader::counter`].
    pub fn dot(&mut self) -> Result<Dot, DecodeError> {
        let r = self.replica()?;
        let c = self.counter()?;
        Dot::try_new(r, c).ok_or(Invalid::ZeroCounter.into())
    }

    /// A collection length, checked against `limit` and against the input left: each
    /// entry takes at least `min_entry_bytes` bytes, so a length the input cannot hold
    /// is [`DecodeError::Truncated`] before anything is allocated for it.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] or [`DecodeError::LimitExceeded`].
    pub fn len(&mut self, limit: Limit, min_entry_bytes: usize) -> Result<usize, DecodeError> {
        let n = self.varint()?;
        let max = match limit {
            Limit::Bytes => self.limits.max_bytes,
            Limit::Elements => self.limits.max_elements,
            Limit::Replicas => self.limits.max_replicas,
            Limit::KeyBytes => self.limits.max_key_bytes,
        };
        if n > max as u64 {
            return Err(DecodeError::LimitExceeded {
                limit,
                max: max as u64,
                found: n,
            });
        }
        let need = n.saturating_mul(min_entry_bytes.max(1) as u64);
        if need > self.input.len() as u64 {
            return Err(DecodeError::Truncated);
        }
        // n <= max (a usize) and n <= input length, so this cannot truncate.
        Ok(n as usize)
    }

    /// A value through postcard, accepted only in canonical form: it is re-encoded and
    /// must give back exactly the bytes it was read from.
    ///
    /// # Errors
    /// [`DecodeError::BadValue`], [`DecodeError::Truncated`], or
    /// [`Invalid::NonCanonical`].
    pub fn postcard<T: serde::de::DeserializeOwned + serde::Serialize>(
        &mut self,
    ) -> Result<T, DecodeError> {
        let (value, rest) = postcard::take_from_bytes::<T>(self.input).map_err(|e| match e {
            postcard::Error::DeserializeUnexpectedEnd => DecodeError::Truncated,
            e => DecodeError::BadValue(ValueError::from_postcard(&e)),
        })?;
        let used = &self.input[..self.input.len() - rest.len()];
        self.scratch.clear();
        let scratch = core::mem::take(&mut self.scratch);
        let again = postcard::to_extend(&value, scratch)
            .map_err(|e| DecodeError::BadValue(ValueError::from_postcard(&e)))?;
        let canonical = again == used;
        self.scratch = again;
        if !canonical {
            return Err(Invalid::NonCanonical("an element value").into());
        }
        self.input = rest;
        Ok(value)
    }

    /// Succeeds only if all input was consumed.
    ///
    /// # Errors
    /// [`DecodeError::TrailingBytes`].
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.input.len() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}
