//! Bytes in and out, through `crdt-core`'s canonical codec.

use crate::error::{Arg, Error};
use crdt_core::codec::{decode_with_limits, try_encode, DecodeLimits, WireFormat};

/// The bounds every `merge(bytes)` and `decode(bytes)` applies: `crdt-core`'s defaults
/// (64 MiB of input, 2^23 entries per collection, 65,536 replicas per vector). Inputs
/// past them are refused before anything is allocated for them.
pub const LIMITS: DecodeLimits = DecodeLimits::DEFAULT;

/// Checks the length of a byte argument before it is copied into wasm memory.
///
/// # Errors
/// [`Error::TooLarge`] past `LIMITS.max_bytes`.
pub fn check_len(len: usize) -> Result<(), Error> {
    if len > LIMITS.max_bytes {
        return Err(Error::TooLarge {
            arg: Arg::Bytes,
            size: len,
            max: LIMITS.max_bytes,
        });
    }
    Ok(())
}

/// Decodes and validates a `T` for the JS class `class`.
///
/// # Errors
/// [`Error::Decode`] with the decoder's reason.
pub fn decode<T: WireFormat>(class: &'static str, bytes: &[u8]) -> Result<T, Error> {
    decode_with_limits(bytes, &LIMITS).map_err(|source| Error::Decode { class, source })
}

/// Encodes `value` canonically.
///
/// # Errors
/// [`Error::Encode`] if an element's serializer fails (never for strings and integers).
pub fn encode<T: WireFormat>(value: &T) -> Result<Vec<u8>, Error> {
    try_encode(value).map_err(|e| Error::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_core::codec::DecodeError;
    use crdt_core::{GCounter, PnCounter, ReplicaId};

    #[test]
    fn round_trip_and_refusals() {
        let mut c = GCounter::new();
        let _ = c.increment(ReplicaId::new(3), 5);
        let bytes = encode(&c).expect("encodes");
        assert_eq!(decode::<GCounter>("GCounter", &bytes), Ok(c));
        assert_eq!(
            decode::<PnCounter>("PnCounter", &bytes),
            Err(Error::Decode {
                class: "PnCounter",
                source: DecodeError::WrongType {
                    expected: crdt_core::codec::TypeTag(0x11),
                    found: crdt_core::codec::TypeTag(0x10)
                }
            })
        );
        assert!(decode::<GCounter>("GCounter", &bytes[..bytes.len() - 1]).is_err());
        assert!(decode::<GCounter>("GCounter", &[]).is_err());
        assert_eq!(check_len(LIMITS.max_bytes), Ok(()));
        assert!(check_len(LIMITS.max_bytes + 1).is_err());
    }
}
