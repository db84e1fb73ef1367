//! The encoding side: canonical postcard-compatible primitives.

use super::ValueError;
use crate::{Dot, ReplicaId};

/// Appends canonical encodings to a buffer. Integers are postcard varints (LEB128),
/// always in their shortest form.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer appending to `buf`.
    #[must_use]
    pub fn with_buffer(buf: Vec<u8>) -> Self {
        Self { buf }
    }

    /// One raw byte.
    pub fn u8(&mut self, b: u8) {
        self.buf.push(b);
    }

    /// Raw bytes, as they are.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// An unsigned varint in its shortest form.
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8 & 0x7F) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    /// A collection length.
    pub fn len(&mut self, n: usize) {
        self.varint(n as u64);
    }

    /// A replica id.
    pub fn replica(&mut self, r: ReplicaId) {
        self.varint(r.get());
    }

    /// A dot as replica then counter.
    pub fn dot(&mut self, d: Dot) {
        self.replica(d.replica());
        self.varint(d.counter());
    }

    /// A value in the value encoding (postcard's serde data model).
    ///
    /// # Errors
    /// If `T`'s `Serialize` implementation fails (derived implementations never do);
    /// the writer's contents are then unspecified.
    pub fn postcard<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        let buf = core::mem::take(&mut self.buf);
        self.buf = postcard::to_extend(value, buf).map_err(|e| ValueError::from_postcard(&e))?;
        Ok(())
    }

    /// The bytes written so far.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The bytes written.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}
