//! `OrSetU64`: an add-wins set of unsigned 64-bit integers.

use crate::error::Error;
use crate::js;
use crate::number::exact_u;
use crate::replica::Replica;
use crdt_core::ReplicaId;
use wasm_bindgen::prelude::{wasm_bindgen, JsError, JsValue};

const CLASS: &str = "OrSetU64";

/// An add-wins observed-remove set of integers in `0..=2^64-1` (JS class `OrSetU64`;
/// `crdt-core`'s `OrSet<u64>`, wire-compatible with Rust replicas).
///
/// JS passes elements as numbers (integers in `0..=Number.MAX_SAFE_INTEGER`) or as
/// BigInts (`0n..=2n**64n-1n`); `values()` returns numbers and `valuesBigInt()` BigInts.
#[wasm_bindgen]
#[derive(Clone, Debug, PartialEq)]
pub struct OrSetU64 {
    inner: Replica<crdt_core::OrSet<u64>>,
}

crate::replica::replica_methods!(OrSetU64);

/// The Rust API behind the JS methods (host-testable).
impl OrSetU64 {
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
    /// [`Error::Refused`] if this replica id has no dots left (only forged input can
    /// cause that).
    pub fn insert(&mut self, value: u64) -> Result<Vec<u8>, Error> {
        let delta = self.inner.state.try_insert(self.inner.id, value)?;
        crate::codec::encode(&delta)
    }

    /// Removes `value` as observed here; returns the encoded delta (empty if absent).
    ///
    /// # Errors
    /// Never in practice (see [`Error::Encode`]).
    pub fn remove(&mut self, value: u64) -> Result<Vec<u8>, Error> {
        let delta = self.inner.state.remove(&value);
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
    pub fn has(&self, value: u64) -> bool {
        self.inner.state.contains(&value)
    }

    /// The elements as JS numbers, ascending.
    ///
    /// # Errors
    /// [`Error::Unrepresentable`] if an element is above `Number.MAX_SAFE_INTEGER`
    /// (only a non-JS replica can have inserted one).
    pub fn values(&self) -> Result<Vec<f64>, Error> {
        self.inner
            .state
            .iter()
            .map(|v| {
                exact_u(u128::from(*v)).ok_or_else(|| Error::Unrepresentable {
                    what: "the element",
                    value: v.to_string(),
                    instead: "valuesBigInt",
                })
            })
            .collect()
    }

    /// The elements, ascending.
    #[must_use]
    pub fn values_u64(&self) -> Vec<u64> {
        self.inner.state.iter().copied().collect()
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
    pub fn state(&self) -> &crdt_core::OrSet<u64> {
        &self.inner.state
    }
}

/// The JS class.
#[wasm_bindgen]
impl OrSetU64 {
    /// `new OrSetU64(replicaId)`: an empty set. Throws unless `replicaId` is an integer
    /// in `0..=Number.MAX_SAFE_INTEGER`.
    #[wasm_bindgen(constructor)]
    pub fn js_new(
        #[wasm_bindgen(js_name = replicaId, unchecked_param_type = "number")] replica_id: &JsValue,
    ) -> Result<OrSetU64, JsError> {
        Ok(Self::create(js::replica_id(replica_id)?))
    }

    /// `insert(value)`: adds `value` (a number in `0..=Number.MAX_SAFE_INTEGER` or a
    /// BigInt in `0n..=2n**64n-1n`); returns the delta (`Uint8Array`).
    #[wasm_bindgen(js_name = insert)]
    pub fn js_insert(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number | bigint")] value: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let value = js::u64_element(value)?;
        Ok(self.insert(value)?)
    }

    /// `remove(value)`: removes `value` as observed here; returns the delta.
    #[wasm_bindgen(js_name = remove)]
    pub fn js_remove(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number | bigint")] value: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let value = js::u64_element(value)?;
        Ok(self.remove(value)?)
    }

    /// `clear()`: removes every element observed here; returns the delta.
    #[wasm_bindgen(js_name = clear)]
    pub fn js_clear(&mut self) -> Result<Vec<u8>, JsError> {
        Ok(self.clear()?)
    }

    /// `has(value)`: whether `value` (number or BigInt, as for `insert`) is present.
    #[wasm_bindgen(js_name = has)]
    pub fn js_has(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number | bigint")] value: &JsValue,
    ) -> Result<bool, JsError> {
        let value = js::u64_element(value)?;
        Ok(self.has(value))
    }

    /// `values()`: the elements as an array of numbers, ascending. Throws if an element
    /// is above `Number.MAX_SAFE_INTEGER` (use `valuesBigInt()`).
    #[wasm_bindgen(js_name = values, unchecked_return_type = "number[]")]
    pub fn js_values(&self) -> Result<Vec<JsValue>, JsError> {
        Ok(self.values()?.into_iter().map(JsValue::from_f64).collect())
    }

    /// `valuesBigInt()`: the elements as an array of BigInts, ascending.
    #[wasm_bindgen(js_name = valuesBigInt, unchecked_return_type = "bigint[]")]
    pub fn values_big_int(&self) -> Vec<JsValue> {
        self.inner.state.iter().map(|v| JsValue::from(*v)).collect()
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
    use crate::number::MAX_SAFE_INTEGER;

    #[test]
    fn replicas_converge_and_large_elements_need_bigint() {
        let mut a = OrSetU64::create(ReplicaId::new(1));
        let mut b = OrSetU64::create(ReplicaId::new(2));
        let d1 = a.insert(1).expect("insert");
        let d2 = b.insert(u64::MAX).expect("insert");
        let d3 = b.insert(MAX_SAFE_INTEGER).expect("insert");
        a.merge(&d2).expect("merge");
        a.merge(&d3).expect("merge");
        b.merge(&d1).expect("merge");
        assert_eq!(a.encode(), b.encode());
        assert_eq!(a.values_u64(), vec![1, MAX_SAFE_INTEGER, u64::MAX]);
        assert!(matches!(a.values(), Err(Error::Unrepresentable { .. })));
        let d4 = a.remove(u64::MAX).expect("remove");
        b.merge(&d4).expect("merge");
        assert_eq!(b.values(), Ok(vec![1.0, 9_007_199_254_740_991.0]));
        assert!(a.has(1) && !a.has(2));
        let c = OrSetU64::decode(&b.encode().expect("enc"), ReplicaId::new(3)).expect("dec");
        assert_eq!(c.state(), a.state());
    }

    #[test]
    fn a_string_set_is_not_a_number_set() {
        let mut s = crate::OrSet::create(ReplicaId::new(1));
        let d = s.insert("1".into()).expect("insert");
        let mut a = OrSetU64::create(ReplicaId::new(2));
        let before = a.clone();
        assert!(matches!(
            a.merge(&d),
            Err(Error::Decode {
                class: "OrSetU64",
                ..
            })
        ));
        assert_eq!(a, before);
    }
}
