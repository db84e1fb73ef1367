//! Causal tokens as opaque strings.

use crate::error::Error;
use core::fmt;
use crdt_core::codec::{decode, encode};
use crdt_core::VersionVector;

/// The longest token string accepted, in characters.
pub const TOKEN_CHARS_MAX: usize = 16 * 1024;

/// A document's causal token: everything a leader had seen of the document when it
/// answered. Carry it from a write (or read) to any leader of the cluster and pass it
/// to a read there to get read-your-writes.
///
/// As a string (`Display` / `FromStr`) it is opaque: hex of a 32-bit hash of the
/// document name followed by the canonical encoding of the version vector, so a
/// token of one document is refused for another.
#[derive(Clone, PartialEq, Eq)]
pub struct CausalToken {
    doc_hash: u32,
    vv: VersionVector,
}

fn doc_hash(doc: &str) -> u32 {
    (xxhash_rust::xxh3::xxh3_64(doc.as_bytes()) >> 32) as u32
}

impl CausalToken {
    pub(crate) fn new(doc: &str, vv: VersionVector) -> Self {
        Self {
            doc_hash: doc_hash(doc),
            vv,
        }
    }

    /// The version vector, if the token belongs to `doc`.
    pub(crate) fn for_doc(&self, doc: &str) -> Result<&VersionVector, Error> {
        if self.doc_hash != doc_hash(doc) {
            return Err(Error::Invalid {
                what: "token",
                reason: format!("it belongs to another document than {doc:?}: pass the token a write or read of {doc:?} returned"),
            });
        }
        Ok(&self.vv)
    }
}

impl fmt::Debug for CausalToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CausalToken({self})")
    }
}

impl CausalToken {
    /// Appends the token's string form (what `Display` writes) to `out`.
    pub(crate) fn push_hex(&self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut push = |b: u8| {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        };
        self.doc_hash.to_be_bytes().into_iter().for_each(&mut push);
        encode(&self.vv).into_iter().for_each(push);
    }

    /// An upper bound of the length of the token's string form (tested).
    pub(crate) fn hex_len(&self) -> usize {
        // 4 bytes of hash, then the version vector's encoding: the codec's header
        // (4 bytes), the count (a varint, at most 10) and at most 10 bytes each of a
        // writer id and of a counter per entry.
        2 * (4 + 4 + 10 + 20 * self.vv.len())
    }
}

impl fmt::Display for CausalToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(self.hex_len());
        self.push_hex(&mut s);
        f.write_str(&s)
    }
}

impl core::str::FromStr for CausalToken {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::Invalid {
            what: "token",
            reason: format!("{reason}: pass the token string a write or read returned, unchanged"),
        };
        if s.len() > TOKEN_CHARS_MAX {
            return Err(Error::TooLarge {
                what: "token",
                bytes: s.len(),
                max: TOKEN_CHARS_MAX,
            });
        }
        if s.len() < 8 || s.len() % 2 != 0 || !s.is_ascii() {
            return Err(bad("not a token"));
        }
        let bytes: Result<Vec<u8>, _> = (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16))
            .collect();
        let bytes = bytes.map_err(|_| bad("not hexadecimal"))?;
        let doc_hash = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let vv = decode::<VersionVector>(&bytes[4..]).map_err(|e| bad(&e.to_string()))?;
        Ok(Self { doc_hash, vv })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crdt_core::ReplicaId;

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_document() {
        let mut vv = VersionVector::new();
        vv.advance(ReplicaId::new(7), 3);
        let t = CausalToken::new("doc", vv.clone());
        let s = t.to_string();
        let back: CausalToken = s.parse().unwrap();
        assert_eq!(back, t);
        assert_eq!(back.for_doc("doc").unwrap(), &vv);
        assert!(back.for_doc("other").is_err());
        assert!("zz".parse::<CausalToken>().is_err());
        assert!("0123456789".parse::<CausalToken>().is_err());
        assert!(s[..s.len() - 2].parse::<CausalToken>().is_err());
    }

    #[test]
    fn a_token_is_the_hex_of_its_hash_and_encoding_within_its_length_bound() {
        let mut vv = VersionVector::new();
        for n in 0..40u64 {
            let t = CausalToken::new("doc", vv.clone());
            let mut expected = format!("{:08x}", t.doc_hash);
            for b in encode(&vv) {
                expected.push_str(&format!("{b:02x}"));
            }
            assert_eq!(t.to_string(), expected);
            assert!(expected.len() <= t.hex_len(), "{n} writers");
            vv.advance(ReplicaId::new((1 << 53) - 1 - n), u64::MAX - n);
        }
    }
}
