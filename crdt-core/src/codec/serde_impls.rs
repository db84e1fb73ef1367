//! `serde` support through the canonical codec.
//!
//! Every replicated type serializes as its canonical encoding (a byte string), and
//! deserializes through [`decode`](super::decode): the same validation and
//! [`DecodeLimits::DEFAULT`](super::DecodeLimits::DEFAULT) apply, so a value embedded
//! in an application's serde structure can never smuggle in a state that breaks an
//! invariant (derived impls over the private fields would).

use super::{decode, try_encode, WireFormat, WireValue};
use crate::{
    CausalContext, GCounter, Keyspace, LwwRegister, MvRegister, OrSet, OrSetDelta, PnCounter,
    VersionVector,
};
use core::fmt;
use core::marker::PhantomData;
use serde::de::{Error as _, SeqAccess, Visitor};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn serialize<T: WireFormat, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    let bytes = try_encode(value).map_err(S::Error::custom)?;
    s.serialize_bytes(&bytes)
}

struct BytesVisitor<T>(PhantomData<T>);

impl<'de, T: WireFormat> Visitor<'de> for BytesVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the canonical crdt-core encoding as a byte string")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<T, E> {
        decode(v).map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        // Formats without a byte type (JSON) send a sequence of numbers; grow the
        // buffer as bytes arrive, never from the declared length.
        let limit = super::DecodeLimits::DEFAULT.max_bytes;
        let mut bytes = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            if bytes.len() == limit {
                return Err(A::Error::custom(
                    "encoding exceeds DecodeLimits::DEFAULT.max_bytes",
                ));
            }
            bytes.push(b);
        }
        decode(&bytes).map_err(A::Error::custom)
    }
}

fn deserialize<'de, T: WireFormat, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    d.deserialize_bytes(BytesVisitor(PhantomData))
}

macro_rules! via_codec {
    ($(impl[$($g:tt)*] $t:ty;)*) => {$(
        impl<$($g)*> Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize(self, s)
            }
        }
        impl<'de, $($g)*> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                deserialize(d)
            }
        }
    )*};
}

via_codec! {
    impl[] GCounter;
    impl[] PnCounter;
    impl[] VersionVector;
    impl[] CausalContext;
    impl[T: WireValue] OrSet<T>;
    impl[T: WireValue] OrSetDelta<T>;
    impl[T: WireValue] LwwRegister<T>;
    impl[T: WireValue] MvRegister<T>;
    impl[] Keyspace;
}
