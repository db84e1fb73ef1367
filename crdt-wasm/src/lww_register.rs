//! `LwwRegister`: a last-writer-wins register holding a string.

use crate::error::{Arg, Error};
use crate::replica::Replica;
use crate::{js, text};
use crdt_core::ReplicaId;
use wasm_bindgen::prelude::{wasm_bindgen, JsError, JsValue};

const CLASS: &str = "LwwRegister";

/// A last-writer-wins register of a string (JS class `LwwRegister`; `crdt-core`'s
/// `LwwRegister<String>`). Writes are ordered by a hybrid logical clock read from the
/// caller's wall clock, so a write is always ordered after every write its replica
/// has seen, whatever the clock says; among concurrent writes the later timestamp wins
/// (then the larger replica id).
#[wasm_bindgen]
#[derive(Clone, Debug, PartialEq)]
pub struct LwwRegister {
    inner: Replica<crdt_core::LwwRegister<String>>,
}

crate::replica::replica_methods!(LwwRegister);

/// The Rust API behind the JS methods (host-testable).
impl LwwRegister {
    /// An empty register for the replica `id` (checked by [`replica_id`](crate::replica_id::replica_id)).
    #[must_use]
    pub fn create(id: ReplicaId) -> Self {
        Self {
            inner: Replica {
                id,
                state: crdt_core::LwwRegister::new(),
            },
        }
    }

    /// Writes `value` at wall-clock time `now_ms`; returns the encoded delta.
    ///
    /// # Errors
    /// [`Error::TooLarge`] past [`text::MAX_STRING_BYTES`]; [`Error::Refused`] if the
    /// register's clock or this replica's dots are exhausted (only a peer writing at
    /// the end of time, or forged input, causes that).
    pub fn set(&mut self, value: String, now_ms: u64) -> Result<Vec<u8>, Error> {
        text::check_size(Arg::Value, &value)?;
        let delta = self.inner.state.try_set(self.inner.id, value, now_ms)?;
        crate::codec::encode(&delta)
    }

    /// The current value, if any write was seen.
    #[must_use]
    pub fn get(&self) -> Option<String> {
        self.inner.state.get().cloned()
    }

    /// The wrapped `crdt-core` state.
    #[must_use]
    pub fn state(&self) -> &crdt_core::LwwRegister<String> {
        &self.inner.state
    }
}

/// The JS class.
#[wasm_bindgen]
impl LwwRegister {
    /// `new LwwRegister(replicaId)`: an empty register. Throws unless `replicaId` is an
    /// integer in `0..=Number.MAX_SAFE_INTEGER`.
    #[wasm_bindgen(constructor)]
    pub fn js_new(
        #[wasm_bindgen(js_name = replicaId, unchecked_param_type = "number")] replica_id: &JsValue,
    ) -> Result<LwwRegister, JsError> {
        Ok(Self::create(js::replica_id(replica_id)?))
    }

    /// `set(value, nowMs)`: writes the string `value` (at most 1 MiB of UTF-8, no lone
    /// surrogates) at wall-clock time `nowMs` (an integer in
    /// `0..=Number.MAX_SAFE_INTEGER`, normally `Date.now()`); returns the delta
    /// (`Uint8Array`).
    #[wasm_bindgen(js_name = set)]
    pub fn js_set(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] value: &JsValue,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number")] now_ms: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let value = js::string(Arg::Value, value, true)?;
        let now_ms = js::integer(Arg::Timestamp, now_ms)?;
        Ok(self.set(value, now_ms)?)
    }

    /// `get()`: the current value, or `undefined` before any write was seen.
    #[wasm_bindgen(js_name = get)]
    pub fn js_get(&self) -> Option<String> {
        self.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_writes_win_even_behind_the_clock() {
        let mut a = LwwRegister::create(ReplicaId::new(1));
        let mut b = LwwRegister::create(ReplicaId::new(2));
        assert_eq!(a.get(), None);
        let d1 = a.set("first".into(), 1_000).expect("set");
        b.merge(&d1).expect("merge");
        // b's clock is behind, but its write follows the one it saw.
        let d2 = b.set("second".into(), 10).expect("set");
        a.merge(&d2).expect("merge");
        assert_eq!(a.get().as_deref(), Some("second"));
        assert_eq!(a.encode(), b.encode());
        let c = LwwRegister::decode(&a.encode().expect("enc"), ReplicaId::new(3)).expect("dec");
        assert_eq!(c.state(), a.state());
    }

    #[test]
    fn refusals_leave_the_register_unchanged() {
        let mut a = LwwRegister::create(ReplicaId::new(1));
        let _ = a.set("v".into(), 5).expect("set");
        let before = a.clone();
        let big = "y".repeat(text::MAX_STRING_BYTES + 1);
        assert!(matches!(a.set(big, 6), Err(Error::TooLarge { .. })));
        let mut bytes = a.encode().expect("enc");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF;
        assert!(a.merge(&bytes).is_err());
        assert_eq!(a, before);
    }
}
