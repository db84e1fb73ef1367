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
