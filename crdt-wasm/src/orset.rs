//! `OrSet`: an add-wins set of strings.

use crate::error::{Arg, Error};
use crate::replica::Replica;
use crate::{js, text};
use crdt_core::ReplicaId;
use wasm_bindgen::prelude::{wasm_bindgen, JsError, JsValue};

const CLASS: &str = "OrSet";

/// An add-wins observed-remove set of strings (JS class `OrSet`; `crdt-core`'s
/// `OrSet<String>`). A remove undoes only the adds its replica has seen, so an add
/// concurrent with a remove survives.
#[wasm_bindgen]
#[derive(Clone, Debug, PartialEq)]
pub struct OrSet {
    inner: Replica<crdt_core::OrSet<String>>,
}

crate::replica::replica_methods!(OrSet);

/// The Rust API behind the JS methods (host-testable).
impl OrSet {
    /// An empty set for the replica `id` (checked by [`replica_id`](crate::replica_id::replica_id)).
    #[must_use]
    pub fn create(id: ReplicaId) -> Self {
        Self {
            inner: Replica {
                id,
                state: crdt_core::OrSet::new(),
            },
        }
    }

    /// Adds `value`; returns the encoded delta.
    ///
    /// # Errors
    /// [`Error::TooLarge`] past [`text::MAX_STRING_BYTES`]; [`Error::Refused`] if this
    /// replica id has no dots left (only forged input can cause that).
    pub fn insert(&mut self, value: String) -> Result<Vec<u8>, Error> {
        text::check_size(Arg::StringElement, &value)?;
        let delta = self.inner.state.try_insert(self.inner.id, value)?;
        crate::codec::encode(&delta)
    }

    /// Removes `value` as observed here; returns the encoded delta (empty if absent).
    ///
    /// # Errors
    /// Never in practice (see [`Error::Encode`]).
    // `crdt_core::OrSet::remove` and `contains` take `&T`, not a borrowed form.
    #[allow(clippy::ptr_arg)]
    pub fn remove(&mut self, value: &String) -> Result<Vec<u8>, Error> {
        let delta = self.inner.state.remove(value);
        crate::codec::encode(&delta)
    }

    /// Removes every element observed here; returns the encoded delta.
    ///
    /// # Errors
    /// Never in practice (see [`Error::Encode`]).
    pub fn clear(&mut self) -> Result<Vec<u8>, Error> {
        let delta = self.inner.state.clear();
        crate::codec::encode(&delta)
    }

    /// Whether `value` is present.
    #[must_use]
    #[allow(clippy::ptr_arg)] // as `remove`
    pub fn has(&self, value: &String) -> bool {
        self.inner.state.contains(value)
    }

    /// The elements, ascending by UTF-8 bytes.
    #[must_use]
    pub fn values(&self) -> Vec<String> {
        self.inner.state.iter().cloned().collect()
    }

    /// The number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.state.len()
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.inner.state.is_empty()
    }

    /// The wrapped `crdt-core` state.
    #[must_use]
    pub fn state(&self) -> &crdt_core::OrSet<String> {
        &self.inner.state
    }
}

/// The JS class.
#[wasm_bindgen]
impl OrSet {
    /// `new OrSet(replicaId)`: an empty set. Throws unless `replicaId` is an integer in
    /// `0..=Number.MAX_SAFE_INTEGER`.
    #[wasm_bindgen(constructor)]
    pub fn js_new(
        #[wasm_bindgen(js_name = replicaId, unchecked_param_type = "number")] replica_id: &JsValue,
    ) -> Result<OrSet, JsError> {
        Ok(Self::create(js::replica_id(replica_id)?))
    }

    /// `insert(value)`: adds the string `value` (at most 1 MiB of UTF-8, no lone
    /// surrogates); returns the delta (`Uint8Array`) to send to the other replicas.
    #[wasm_bindgen(js_name = insert)]
    pub fn js_insert(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] value: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let value = js::string(Arg::StringElement, value, true)?;
        Ok(self.insert(value)?)
    }

    /// `remove(value)`: removes `value` as observed here (a concurrent add elsewhere
    /// survives); returns the delta (`Uint8Array`, a no-op delta if absent).
    #[wasm_bindgen(js_name = remove)]
    pub fn js_remove(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] value: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let value = js::string(Arg::StringElement, value, false)?;
        Ok(self.remove(&value)?)
    }

    /// `clear()`: removes every element observed here; returns the delta.
    #[wasm_bindgen(js_name = clear)]
    pub fn js_clear(&mut self) -> Result<Vec<u8>, JsError> {
        Ok(self.clear()?)
    }

    /// `has(value)`: whether the string `value` is present. Throws for non-strings.
    #[wasm_bindgen(js_name = has)]
    pub fn js_has(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] value: &JsValue,
    ) -> Result<bool, JsError> {
        let value = js::string(Arg::StringElement, value, false)?;
        Ok(self.has(&value))
    }

    /// `values()`: the elements as an array of strings, in ascending order of their
    /// UTF-8 bytes (the same order on every replica).
    #[wasm_bindgen(js_name = values)]
    pub fn js_values(&self) -> Vec<String> {
        self.values()
    }

    /// `size`: the number of elements.
    #[wasm_bindgen(getter = size)]
    pub fn js_size(&self) -> usize {
        self.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn add_wins_and_replicas_converge_to_identical_bytes() {
        let mut a = OrSet::create(ReplicaId::new(1));
        let mut b = OrSet::create(ReplicaId::new(2));
        let d1 = a.insert(s("milk")).expect("insert");
        b.merge(&d1).expect("merge");
        let d2 = a.insert(s("milk")).expect("insert"); // concurrent re-add
        let d3 = b.remove(&s("milk")).expect("remove");
        let d4 = b.insert(s("eggs")).expect("insert");
        for d in [&d3, &d4] {
            a.merge(d).expect("merge");
        }
        b.merge(&d2).expect("merge");
        assert!(a.has(&s("milk")) && b.has(&s("milk")));
        assert_eq!(a.values(), vec![s("eggs"), s("milk")]);
        assert_eq!(a.encode(), b.encode());
        let c = OrSet::decode(&a.encode().expect("enc"), ReplicaId::new(3)).expect("dec");
        assert_eq!(c.state(), a.state());
        let _ = a.clear().expect("clear");
        assert!(a.is_empty());
    }

    #[test]
    fn refusals_leave_the_set_unchanged() {
        let mut a = OrSet::create(ReplicaId::new(1));
        let _ = a.insert(s("x")).expect("insert");
        let before = a.clone();
        let big = "y".repeat(text::MAX_STRING_BYTES + 1);
        assert!(matches!(a.insert(big), Err(Error::TooLarge { .. })));
        let mut bytes = a.encode().expect("enc");
        bytes[3] = 0x21; // OrSet<u64>'s tag
        assert!(matches!(a.merge(&bytes), Err(Error::Decode { .. })));
        assert_eq!(a, before);
        assert_eq!(a.len(), 1);
    }
}
