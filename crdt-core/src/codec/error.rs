//! Why decoding failed.

use core::fmt;

/// Why [`decode`](super::decode) rejected its input. The input is never partially
/// applied: a decode either returns a complete, valid value or one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("input is truncated (it ends before the value does, or declares more than it holds): fetch or resend the whole encoding")]
    Truncated,
    /// The first bytes are not this format's magic.
    #[error("not crdt-core data (magic bytes {found:02x?}, expected {expected:02x?}): pass only bytes made by crdt_core::codec::encode")]
    BadMagic {
        /// The bytes found.
        found: [u8; 2],
        /// The bytes expected.
        expected: [u8; 2],
    },
    /// The format version is newer (or older) than this build reads.
    #[error("format version {found} is not supported (this build reads version {supported}): read it with a build that supports version {found}")]
    UnsupportedVersion {
        /// The version in the header.
        found: u8,
        /// The version this build reads.
        supported: u8,
    },
    /// The bytes encode another type.
    #[error("the bytes encode {found}, not {expected}: decode with the type that was encoded")]
    WrongType {
        /// The type asked for.
        expected: TypeTag,
        /// The type in the header.
        found: TypeTag,
    },
    /// The input is larger than a [`DecodeLimits`](super::DecodeLimits) bound.
    #[error("{limit} limit exceeded ({found} > {max}): if this input is trusted, decode it with larger DecodeLimits")]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// The configured maximum.
        max: u64,
        /// What the input declared or needed.
        found: u64,
    },
    /// A varint is longer than its value needs, or overflows.
    #[error("malformed varint (overlong or overflowing): the data is corrupt; drop it")]
    BadVarint,
    /// An element value could not be decoded by its type.
    #[error("element value does not decode ({0}): the data is corrupt or of another element type; drop it")]
    BadValue(ValueError),
    /// Bytes remain after the value.
    #[error("{0} unexpected bytes after the value: drop the input, or split concatenated encodings before decoding")]
    TrailingBytes(usize),
    /// The bytes are well-formed but describe a state that breaks an invariant merge
    /// relies on.
    #[error("invalid content: {0}: the sender is corrupt or hostile; drop this input (the state is unchanged)")]
    Invalid(Invalid),
}

/// Structurally invalid content: well-formed bytes describing an impossible state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Invalid {
    /// A dot or version-vector entry with counter 0.
    #[error("a dot or vector entry has counter 0")]
    ZeroCounter,
    /// A stored dot is not in its own causal context.
    #[error("a stored dot is outside its causal context")]
    DotOutsideContext,
    /// An element without any dot.
    #[error("an element has an empty dot set")]
    EmptyDotSet,
    /// Entries that must be strictly ascending are not (this covers duplicates).
    #[error("{0} are unsorted or duplicated")]
    Unsorted(&'static str),
    /// The same dot under two elements.
    #[error("a dot is stored under two elements")]
    DuplicateDot,
    /// A counter or range computation overflows `u64`.
    #[error("{0} overflows u64")]
    Overflow(&'static str),
    /// A value with a shorter, canonical encoding.
    #[error("{0} is not in canonical form")]
    NonCanonical(&'static str),
    /// Parts that contradict each other.
    #[error("{0}")]
    Inconsistent(&'static str),
}

/// Why an element value could not be serialized or deserialized in the value encoding
/// (the serde data model of `docs/WIRE_FORMAT.md` §4).
///
/// crdt-core's own type, so that the library used to encode values can change without
/// breaking this public API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// A `bool` byte other than 0 or 1.
    #[error("a bool is neither 0 nor 1")]
    BadBool,
    /// A `char` that is not a Unicode scalar value.
    #[error("a char is not a Unicode scalar value")]
    BadChar,
    /// A string that is not UTF-8.
    #[error("a string is not valid UTF-8")]
    BadUtf8,
    /// An `Option` tag other than 0 or 1.
    #[error("an Option tag is neither 0 nor 1")]
    BadOption,
    /// An integer, length or enum variant index that is malformed or out of range.
    #[error("an integer, length or variant index is malformed or out of range")]
    BadNumber,
    /// The type's own `Serialize` or `Deserialize` impl reported an error (for example
    /// an unknown enum variant).
    #[error("the type's Serialize or Deserialize impl reported an error")]
    Custom,
    /// A sequence or map serialized without a length known up front.
    #[error("a sequence or map has no length known up front")]
    UnknownLength,
    /// A serde feature the value encoding does not support.
    #[error("the value uses a serde feature the value encoding does not support")]
    Unsupported,
}

impl ValueError {
    /// Translates the encoding library's error (kept private: it is not our API).
    pub(crate) fn from_postcard(e: &postcard::Error) -> Self {
        use postcard::Error as P;
        match e {
            P::DeserializeBadBool => ValueError::BadBool,
            P::DeserializeBadChar => ValueError::BadChar,
            P::DeserializeBadUtf8 => ValueError::BadUtf8,
            P::DeserializeBadOption => ValueError::BadOption,
            P::DeserializeBadVarint | P::DeserializeBadEnum | P::DeserializeBadEncoding => {
                ValueError::BadNumber
            }
            P::SerdeSerCustom | P::SerdeDeCustom | P::CollectStrError => ValueError::Custom,
            P::SerializeSeqLengthUnknown => ValueError::UnknownLength,
            _ => ValueError::Unsupported,
        }
    }
}

impl From<Invalid> for DecodeError {
    fn from(e: Invalid) -> Self {
        DecodeError::Invalid(e)
    }
}

/// Which [`DecodeLimits`](super::DecodeLimits) bound was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// `max_bytes`: the input length.
    Bytes,
    /// `max_elements`: entries of one collection (elements, dots, ranges).
    Elements,
    /// `max_replicas`: replicas in one vector, counter or context.
    Replicas,
    /// `max_key_bytes`: the bytes of one keyspace key.
    KeyBytes,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Bytes => "input size (max_bytes)",
            Limit::Elements => "element count (max_elements)",
            Limit::Replicas => "replica count (max_replicas)",
            Limit::KeyBytes => "key length (max_key_bytes)",
        })
    }
}

/// The type byte of an encoding's header, shown by name in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypeTag(pub u8);

impl fmt::Display for TypeTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.0 & 0x0F {
            super::value::KIND_CUSTOM => "an application type",
            1 => "u64",
            2 => "i64",
            3 => "String",
            4 => "Vec<u8>",
            5 => "u32",
            6 => "i32",
            7 => "bool",
            _ => "an unknown element type",
        };
        match self.0 {
            super::TAG_VERSION_VECTOR => f.write_str("VersionVector"),
            super::TAG_CAUSAL_CONTEXT => f.write_str("CausalContext"),
            super::TAG_GCOUNTER => f.write_str("GCounter"),
            super::TAG_PNCOUNTER => f.write_str("PnCounter"),
            super::TAG_KEYSPACE => f.write_str("Keyspace"),
            t if t & 0xF0 == super::TAG_ORSET => write!(f, "OrSet<{kind}>"),
            t if t & 0xF0 == super::TAG_LWW => write!(f, "LwwRegister<{kind}>"),
            t if t & 0xF0 == super::TAG_MVREG => write!(f, "MvRegister<{kind}>"),
            t => write!(f, "an unknown type (tag {t:#04x})"),
        }
    }
}
