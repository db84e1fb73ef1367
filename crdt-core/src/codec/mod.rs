//! The canonical, versioned wire format.
//!
//! Every encoding starts with a 4-byte header: the magic bytes `D1 C7`, the format
//! version ([`FORMAT_VERSION`]), and a type tag naming the type (and, for sets and
//! registers, its element type). Then comes the body, in postcard's data model:
//! unsigned integers as LEB128 varints, signed ones zigzagged, lengths before
//! sequences, element values through postcard.
//!
//! **Canonical**: replicas in equal states encode to byte-identical output, whatever
//! order they learned things in. Maps and sets are written in ascending order, integers
//! in their shortest form, and runs of consecutive dots compressed in exactly one way.
//! The decoder accepts *only* canonical bytes, so `encode(decode(b)) == b` for every
//! accepted `b`.
//!
//! **Validated**: decoding checks every invariant that merge relies on (no dot with
//! counter 0, every stored dot inside its context, no empty dot set, no unsorted or
//! duplicate entries, no overflow), never panics, never allocates from an unchecked
//! length, and bounds its input by [`DecodeLimits`].
//!
//! ```
//! use crdt_core::{codec, GCounter, ReplicaId};
//! let mut c = GCounter::new();
//! let _delta = c.increment(ReplicaId::new(7), 3);
//! let bytes = codec::encode(&c);
//! assert_eq!(codec::decode::<GCounter>(&bytes), Ok(c));
//! assert!(codec::decode::<GCounter>(&bytes[..bytes.len() - 1]).is_err());
//! ```
//!
//! The body layouts are documented in `docs/WIRE_FORMAT.md`.

mod bodies;
mod error;
mod limits;
mod reader;
mod serde_impls;
mod value;
mod writer;

pub use error::{DecodeError, Invalid, Limit, TypeTag, ValueError};
pub use limits::DecodeLimits;
pub use reader::Reader;
pub use value::WireValue;
pub use writer::Writer;

/// The magic bytes that open every encoding.
pub const MAGIC: [u8; 2] = [0xD1, 0xC7];
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// The length of the header.
pub const HEADER_LEN: usize = 4;

pub(crate) const TAG_VERSION_VECTOR: u8 = 0x01;
pub(crate) const TAG_CAUSAL_CONTEXT: u8 = 0x02;
pub(crate) const TAG_GCOUNTER: u8 = 0x10;
pub(crate) const TAG_PNCOUNTER: u8 = 0x11;
pub(crate) const TAG_ORSET: u8 = 0x20;
pub(crate) const TAG_LWW: u8 = 0x30;
pub(crate) const TAG_MVREG: u8 = 0x40;
pub(crate) const TAG_KEYSPACE: u8 = 0x50;

/// A type with a canonical encoding in this format.
///
/// Implemented by every replicated type of this crate and by [`VersionVector`] and
/// [`CausalContext`]. Other crates (such as `crdt-sync`) use the body methods to embed
/// values in their own messages.
///
/// [`VersionVector`]: crate::VersionVector
/// [`CausalContext`]: crate::CausalContext
pub trait WireFormat: Sized {
    /// The header's type tag.
    const TYPE_TAG: u8;

    /// Appends the body (no header).
    ///
    /// # Errors
    /// Only if an application element type's `Serialize` impl fails.
    fn encode_body(&self, w: &mut Writer) -> Result<(), ValueError>;

    /// Reads and fully validates a body (no header).
    ///
    /// # Errors
    /// Any [`DecodeError`]; nothing is returned on error.
    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Encodes `value` with its header.
///
/// # Panics
/// Only if an application element type's `Serialize` impl fails, which derived impls
/// never do (see [`WireValue`]); use [`try_encode`] to get the error.
#[must_use]
pub fn encode<T: WireFormat>(value: &T) -> Vec<u8> {
    match try_encode(value) {
        Ok(bytes) => bytes,
        Err(e) => panic!(
            "crdt_core::codec::encode: an element value does not serialize ({e}); use codec::try_encode to handle it"
        ),
    }
}

/// Encodes `value` with its header, returning a failure of an application element
/// type's `Serialize` impl instead of panicking.
///
/// # Errors
/// Why an element value did not serialize.
pub fn try_encode<T: WireFormat>(value: &T) -> Result<Vec<u8>, ValueError> {
    let mut w = Writer::new();
    w.raw(&MAGIC);
    w.u8(FORMAT_VERSION);
    w.u8(T::TYPE_TAG);
    value.encode_body(&mut w)?;
    Ok(w.into_bytes())
}

/// Decodes a `T` under [`DecodeLimits::DEFAULT`].
///
/// # Errors
/// Any [`DecodeError`]: truncated input, wrong magic, unsupported version, wrong type,
/// a limit exceeded, malformed or invalid content, trailing bytes.
pub fn decode<T: WireFormat>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_with_limits(bytes, &DecodeLimits::DEFAULT)
}

/// Decodes a `T` under explicit limits.
///
/// # Errors
/// As [`decode`].
pub fn decode_with_limits<T: WireFormat>(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<T, DecodeError> {
    let mut r = Reader::new(bytes, limits)?;
    read_header(&mut r, T::TYPE_TAG)?;
    let value = T::decode_body(&mut r)?;
    r.finish()?;
    Ok(value)
}

/// Reads and checks a header for `expected` type tag.
///
/// # Errors
/// [`DecodeError::Truncated`], [`DecodeError::BadMagic`],
/// [`DecodeError::UnsupportedVersion`] or [`DecodeError::WrongType`].
pub fn read_header(r: &mut Reader<'_>, expected: u8) -> Result<(), DecodeError> {
    read_preamble(r, MAGIC, FORMAT_VERSION)?;
    read_type_tag(r, expected)
}

/// Reads and checks the first bytes of a versioned format: two magic bytes, then a
/// version byte. Shared with other formats built on this codec (e.g. `crdt-sync`'s
/// messages and snapshots).
///
/// # Errors
/// [`DecodeError::Truncated`], [`DecodeError::BadMagic`] or
/// [`DecodeError::UnsupportedVersion`].
pub fn read_preamble(r: &mut Reader<'_>, magic: [u8; 2], version: u8) -> Result<(), DecodeError> {
    let found = r.raw(2)?;
    if found != magic {
        return Err(DecodeError::BadMagic {
            found: [found[0], found[1]],
            expected: magic,
        });
    }
    let found = r.u8()?;
    if found != version {
        return Err(DecodeError::UnsupportedVersion {
            found,
            supported: version,
        });
    }
    Ok(())
}

/// Reads a type-tag byte and checks it is `expected`.
///
/// # Errors
/// [`DecodeError::Truncated`] or [`DecodeError::WrongType`].
pub fn read_type_tag(r: &mut Reader<'_>, expected: u8) -> Result<(), DecodeError> {
    let tag = r.u8()?;
    if tag != expected {
        return Err(DecodeError::WrongType {
            expected: TypeTag(expected),
            found: TypeTag(tag),
        });
    }
    Ok(())
}
