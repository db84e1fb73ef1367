//! Bounds on what a decode may accept.

/// Bounds on untrusted input, checked before anything is allocated for it.
///
/// Every collection's declared length is checked against the bytes that remain (each
/// entry takes at least one byte), so no allocation is ever sized from an unchecked
/// length: decoding allocates at most a small multiple of the input size. These limits
/// bound the input further, per collection.
///
/// | limit | default | bounds |
/// |---|---|---|
/// | `max_bytes` | 64 MiB | the whole input |
/// | `max_elements` | 8,388,608 (2^23) | entries of any one collection: set elements, dots, gap ranges, removal hints |
/// | `max_replicas` | 65,536 | replicas in any one version vector, counter, context or dot table |
/// | `max_key_bytes` | 4,096 ([`KEY_BYTES_MAX`](crate::KEY_BYTES_MAX)) | the UTF-8 bytes of one [`Keyspace`](crate::Keyspace) key |
///
/// A keyspace's number of keys is bounded by `max_elements`, its total size by
/// `max_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The most input bytes accepted.
    pub max_bytes: usize,
    /// The most entries in any one collection.
    pub max_elements: usize,
    /// The most replicas in any one vector, counter, context or table.
    pub max_replicas: usize,
    /// The most bytes in one keyspace key (never above what mutators accept:
    /// [`KEY_BYTES_MAX`](crate::KEY_BYTES_MAX)).
    pub max_key_bytes: usize,
}

impl DecodeLimits {
    /// The defaults used by [`decode`](super::decode) (see the table above).
    pub const DEFAULT: DecodeLimits = DecodeLimits {
        max_bytes: 64 << 20,
        max_elements: 1 << 23,
        max_replicas: 1 << 16,
        max_key_bytes: crate::KEY_BYTES_MAX,
    };

    /// These limits with `max_bytes` replaced.
    #[must_use]
    pub const fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// These limits with `max_elements` replaced.
    #[must_use]
    pub const fn with_max_elements(mut self, max_elements: usize) -> Self {
        self.max_elements = max_elements;
        self
    }

    /// These limits with `max_key_bytes` replaced.
    #[must_use]
    pub const fn with_max_key_bytes(mut self, max_key_bytes: usize) -> Self {
        self.max_key_bytes = max_key_bytes;
        self
    }

    /// These limits with `max_replicas` replaced.
    #[must_use]
    pub const fn with_max_replicas(mut self, max_replicas: usize) -> Self {
        self.max_replicas = max_replicas;
        self
    }
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
