//! What every class has in common: a replica id and a state, merged and encoded as
//! bytes.

use crate::codec;
use crate::error::Error;
use crdt_core::codec::WireFormat;
use crdt_core::{Crdt, ReplicaId};

/// A replica of a `crdt-core` type: the state and the id its mutations are made under.
#[derive(Clone, Debug, PartialEq)]
pub struct Replica<T> {
    /// The id of this replica (checked to be a safe JS integer).
    pub id: ReplicaId,
    /// The replicated state.
    pub state: T,
}

impl<T: Crdt + WireFormat> Replica<T> {
    /// Joins the delta or state encoded in `bytes`; unchanged on error.
    ///
    /// # Errors
    /// [`Error::Decode`] if `bytes` are not a valid encoding of `T`.
    pub fn merge(&mut self, class: &'static str, bytes: &[u8]) -> Result<(), Error> {
        let other: T = codec::decode(class, bytes)?;
        self.state.merge(&other);
        Ok(())
    }

    /// The canonical encoding of the state.
    ///
    /// # Errors
    /// [`Error::Encode`], which the types bound here never produce.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        codec::encode(&self.state)
    }

    /// A replica with id `id` whose state is decoded from `bytes`.
    ///
    /// # Errors
    /// [`Error::Decode`] if `bytes` are not a valid encoding of `T`.
    pub fn decode(class: &'static str, bytes: &[u8], id: ReplicaId) -> Result<Self, Error> {
        Ok(Self {
            id,
            state: codec::decode(class, bytes)?,
        })
    }
}

/// The methods every class shares, in Rust and in JavaScript: `merge(bytes)`,
/// `encode()`, `decode(bytes, replicaId)` and the `replicaId` getter. `$class` wraps a
/// [`Replica`] in a field `inner`; the invoking module defines `CLASS`, the JS class
/// name, and imports `wasm_bindgen`.
macro_rules! replica_methods {
    ($class:ident) => {
        /// The Rust API every class shares.
        impl $class {
            /// Joins an encoded delta or state.
            ///
            /// # Errors
            /// [`Error::Decode`](crate::error::Error::Decode); unchanged then.
            pub fn merge(&mut self, bytes: &[u8]) -> Result<(), $crate::error::Error> {
                self.inner.merge(CLASS, bytes)
            }

            /// The canonical encoding of the state.
            ///
            /// # Errors
            /// Never in practice (see [`Error::Encode`](crate::error::Error::Encode)).
            pub fn encode(&self) -> Result<Vec<u8>, $crate::error::Error> {
                self.inner.encode()
            }

            /// A replica `id` holding the decoded state.
            ///
            /// # Errors
            /// [`Error::Decode`](crate::error::Error::Decode).
            pub fn decode(
                bytes: &[u8],
                id: crdt_core::ReplicaId,
            ) -> Result<Self, $crate::error::Error> {
                Ok(Self {
                    inner: $crate::replica::Replica::decode(CLASS, bytes, id)?,
                })
            }
        }

        /// The JS methods every class shares.
        #[wasm_bindgen]
        impl $class {
            /// `merge(bytes)`: joins a delta or a full state (`Uint8Array` from a mutator
            /// or `encode` of any replica). Throws on anything else, changing nothing.
            #[wasm_bindgen(js_name = merge)]
            pub fn js_merge(
                &mut self,
                #[wasm_bindgen(unchecked_param_type = "Uint8Array")]
                bytes: &::wasm_bindgen::JsValue,
            ) -> Result<(), ::wasm_bindgen::JsError> {
                let bytes = $crate::js::bytes(bytes)?;
                Ok(self.merge(&bytes)?)
            }

            /// `encode()`: the state in the canonical codec (`Uint8Array`); converged
            /// replicas encode to identical bytes.
            #[wasm_bindgen(js_name = encode)]
            pub fn js_encode(&self) -> Result<Vec<u8>, ::wasm_bindgen::JsError> {
                Ok(self.encode()?)
            }

            #[doc = concat!(
                        "`", stringify!($class), ".decode(bytes, replicaId)`: a replica restored ",
                        "from `encode()` output, continuing under `replicaId` (reuse an id only ",
                        "with that replica's latest state)."
                    )]
            #[wasm_bindgen(js_name = decode)]
            pub fn js_decode(
                #[wasm_bindgen(unchecked_param_type = "Uint8Array")]
                bytes: &::wasm_bindgen::JsValue,
                #[wasm_bindgen(js_name = replicaId, unchecked_param_type = "number")]
                replica_id: &::wasm_bindgen::JsValue,
            ) -> Result<$class, ::wasm_bindgen::JsError> {
                let id = $crate::js::replica_id(replica_id)?;
                let bytes = $crate::js::bytes(bytes)?;
                Ok(Self::decode(&bytes, id)?)
            }

            /// `replicaId`: this replica's id (a number).
            #[wasm_bindgen(getter = replicaId)]
            pub fn js_replica_id(&self) -> f64 {
                $crate::replica_id::to_number(self.inner.id)
            }
        }
    };
}
pub(crate) use replica_methods;
