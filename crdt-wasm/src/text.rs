//! Strings from JavaScript: elements of an `OrSet`, values of an `LwwRegister`, keys
//! and values of a `Doc`.
//!
//! JS strings are UTF-16 and may hold lone surrogates, which have no UTF-8 form; the
//! JS layer ([`crate::js::string`]) refuses them instead of letting them turn into
//! U+FFFD (which would make distinct strings collide). Sizes are bounded by
//! [`MAX_STRING_BYTES`] so that every state a JS replica makes stays decodable.

use crate::error::{Arg, Error};

/// The largest string accepted as an element or value, in UTF-8 bytes (1 MiB).
///
/// A state must stay below `crdt-core`'s decode limit (64 MiB by default) for other
/// replicas to accept it; large blobs belong in a blob store, referenced by key.
pub const MAX_STRING_BYTES: usize = 1 << 20;

/// Checks the size of a string argument against [`Arg::max_bytes`]: 4096 bytes for a
/// key, [`MAX_STRING_BYTES`] for the rest.
///
/// # Errors
/// [`Error::TooLarge`] past the argument's limit.
pub fn check_size(arg: Arg, s: &str) -> Result<(), Error> {
    let max = arg.max_bytes();
    if s.len() > max {
        return Err(Error::TooLarge {
            arg,
            size: s.len(),
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_up_to_the_limit_are_accepted() {
        assert_eq!(check_size(Arg::StringElement, ""), Ok(()));
        assert_eq!(
            check_size(Arg::StringElement, &"x".repeat(MAX_STRING_BYTES)),
            Ok(())
        );
        assert_eq!(
            check_size(Arg::Value, &"x".repeat(MAX_STRING_BYTES + 1)),
            Err(Error::TooLarge {
                arg: Arg::Value,
                size: MAX_STRING_BYTES + 1,
                max: MAX_STRING_BYTES
            })
        );
        let key = "k".repeat(crdt_core::KEY_BYTES_MAX);
        assert_eq!(check_size(Arg::Key, &key), Ok(()));
        assert_eq!(
            check_size(Arg::Key, &format!("{key}k")),
            Err(Error::TooLarge {
                arg: Arg::Key,
                size: 4097,
                max: 4096
            })
        );
    }
}
