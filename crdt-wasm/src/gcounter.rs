//! `GCounter`: a grow-only counter.

use crate::error::Error;
use crate::js;
use crate::number::exact_u;
use crate::replica::Replica;
use crdt_core::ReplicaId;
use wasm_bindgen::prelude::{wasm_bindgen, JsError, JsValue};

const CLASS: &str = "GCounter";

/// A grow-only counter (JS class `GCounter`): each replica counts its own increments;
/// replicas converge to the sum.
#[wasm_bindgen]
#[derive(Clone, Debug, PartialEq)]
pub struct GCounter {
    inner: Replica<crdt_core::GCounter>,
}

crate::replica::replica_methods!(GCounter);

/// The Rust API behind the JS methods (host-testable).
impl GCounter {
    /// A counter at 0 for the replica `id` (checked by [`replica_id`](crate::replica_id::replica_id)).
    #[must_use]
    pub fn create(id: ReplicaId) -> Self {
        Self {
            inner: Replica {
                id,
                state: crdt_core::GCounter::new(),
            },
        }
    }

    /// Adds `n`; returns the encoded delta.
    ///
    /// # Errors
    /// [`Error::Refused`] if this replica's entry would pass `u64::MAX` (unchanged then).
    pub fn increment(&mut self, n: u64) -> Result<Vec<u8>, Error> {
        let delta = self.inner.state.try_increment(self.inner.id, n)?;
        crate::codec::encode(&delta)
    }

    /// The value as a JS number.
    ///
    /// # Errors
    /// [`Error::Unrepresentable`] above `Number.MAX_SAFE_INTEGER`.
    pub fn value(&self) -> Result<f64, Error> {
        let v = self.inner.state.value_u128();
        exact_u(v).ok_or_else(|| Error::Unrepresentable {
            what: "the counter's value",
            value: v.to_string(),
            instead: "valueBigInt",
        })
    }

    /// The wrapped `crdt-core` state.
    #[must_use]
    pub fn state(&self) -> &crdt_core::GCounter {
        &self.inner.state
    }
}

/// The JS class.
#[wasm_bindgen]
impl GCounter {
    /// `new GCounter(replicaId)`: a counter at 0. Throws unless `replicaId` is an
    /// integer in `0..=Number.MAX_SAFE_INTEGER`.
    #[wasm_bindgen(constructor)]
    pub fn js_new(
        #[wasm_bindgen(js_name = replicaId, unchecked_param_type = "number")] replica_id: &JsValue,
    ) -> Result<GCounter, JsError> {
        Ok(Self::create(js::replica_id(replica_id)?))
    }

    /// `increment(n = 1)`: adds `n` (an integer in `0..=Number.MAX_SAFE_INTEGER`) and
    /// returns the delta (`Uint8Array`) to send to the other replicas. Throws if this
    /// replica's total would pass 2^64 - 1.
    #[wasm_bindgen(js_name = increment)]
    pub fn js_increment(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] n: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let n = js::amount(n)?;
        Ok(self.increment(n)?)
    }

    /// `value()`: the sum as a number; throws above `Number.MAX_SAFE_INTEGER` (use
    /// `valueBigInt()`).
    #[wasm_bindgen(js_name = value)]
    pub fn js_value(&self) -> Result<f64, JsError> {
        Ok(self.value()?)
    }

    /// `valueBigInt()`: the exact sum as a BigInt (never saturates).
    #[wasm_bindgen(js_name = valueBigInt)]
    pub fn value_big_int(&self) -> u128 {
        self.inner.state.value_u128()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_converge_and_encodings_match() {
        let mut a = GCounter::create(ReplicaId::new(1));
        let mut b = GCounter::create(ReplicaId::new(2));
        let da = a.increment(5).expect("inc");
        let db = b.increment(7).expect("inc");
        a.merge(&db).expect("merge");
        b.merge(&da).expect("merge");
        assert_eq!(a.value(), Ok(12.0));
        assert_eq!(a.encode(), b.encode());
        let c = GCounter::decode(&a.encode().expect("enc"), ReplicaId::new(3)).expect("decode");
        assert_eq!(c.state(), a.state());
    }

    #[test]
    fn bytes_are_crdt_cores_canonical_encoding() {
        // The same bytes are asserted by crdt-wasm/tests/gcounter.test.mjs.
        let mut c = GCounter::create(ReplicaId::new(7));
        let delta = c.increment(3).expect("inc");
        assert_eq!(delta, [0xD1, 0xC7, 1, 0x10, 1, 7, 3]);
        assert_eq!(c.encode().expect("enc"), delta);
    }

    #[test]
    fn refusals_leave_the_counter_unchanged() {
        let mut a = GCounter::create(ReplicaId::new(1));
        let _ = a.increment(u64::MAX).expect("inc");
        let before = a.clone();
        assert!(matches!(a.increment(1), Err(Error::Refused(_))));
        assert!(a.merge(&[0xD1, 0xC7, 1, 0x10, 1]).is_err());
        assert!(a.merge(b"garbage").is_err());
        assert_eq!(a, before);
        assert!(matches!(a.value(), Err(Error::Unrepresentable { .. })));
        assert_eq!(a.value_big_int(), u128::from(u64::MAX));
        assert!(GCounter::decode(&a.encode().expect("enc")[1..], ReplicaId::new(2)).is_err());
    }
}
