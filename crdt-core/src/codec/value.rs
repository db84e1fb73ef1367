//! Element values inside sets and registers.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The element-kind nibble of application types (unchecked across types).
pub(crate) const KIND_CUSTOM: u8 = 0;

/// A type that can be stored in an encoded [`OrSet`](crate::OrSet) or
/// [`LwwRegister`](crate::LwwRegister).
///
/// Values are encoded with postcard and must be **canonical**: equal values must
/// serialize to identical bytes (true of derived `Serialize` impls over integers,
/// strings, byte vectors, structs, enums, tuples and sequences; not of hash maps), and
/// `Ord` must agree with `Eq`. The decoder re-encodes each value and rejects bytes that
/// are not the canonical encoding.
///
/// `KIND` goes into the header so that, say, an `OrSet<String>` is never decoded as an
/// `OrSet<u64>`. Built-in kinds are 1..=7; application types keep the default
/// [`WireValue::KIND`] of 0 (the header then cannot tell two application types apart):
///
/// ```
/// # use serde::{Serialize, Deserialize};
/// #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
/// struct Tag { name: String, weight: u8 }
/// impl crdt_core::codec::WireValue for Tag {}
/// ```
pub trait WireValue: Ord + Clone + Serialize + DeserializeOwned {
    /// The element-kind nibble written in the header (0..=15).
    const KIND: u8 = KIND_CUSTOM;

    /// The bytes this value holds on the heap, beyond `size_of::<Self>()` (what
    /// [`DeltaCrdt::heap_bytes`](crate::DeltaCrdt::heap_bytes) adds per element). Exact
    /// for the built-in kinds (0 for numbers and `bool`, the capacity of a `String` or
    /// `Vec<u8>`). The default, for application types, is the length of the value's
    /// postcard encoding (computed without allocating): about the bytes of its strings
    /// and byte vectors, which is what a typical application value keeps on the heap.
    /// Override it when the value holds more (boxes, maps, spare capacity).
    fn heap_bytes(&self) -> usize {
        postcard::experimental::serialized_size(self).unwrap_or(0)
    }
}

macro_rules! kinds {
    ($($t:ty => $k:expr),* $(,)?) => {
        $(impl WireValue for $t {
            const KIND: u8 = $k;

            fn heap_bytes(&self) -> usize {
                0
            }
        })*
    };
}

kinds! {
    u64 => 1,
    i64 => 2,
    u32 => 5,
    i32 => 6,
    bool => 7,
}

impl WireValue for String {
    const KIND: u8 = 3;

    fn heap_bytes(&self) -> usize {
        self.capacity()
    }
}

impl WireValue for Vec<u8> {
    const KIND: u8 = 4;

    fn heap_bytes(&self) -> usize {
        self.capacity()
    }
}
