//! `PnCounter`: a counter that goes up and down.

use crate::error::Error;
use crate::js;
use crate::number::exact_i;
use crate::replica::Replica;
use crdt_core::ReplicaId;
use wasm_bindgen::prelude::{wasm_bindgen, JsError, JsValue};

const CLASS: &str = "PnCounter";

/// A counter with increments and decrements (JS class `PnCounter`): replicas converge
/// to the sum of all increments minus the sum of all decrements.
#[wasm_bindgen]
#[derive(Clone, Debug, PartialEq)]
pub struct PnCounter {
    inner: Replica<crdt_core::PnCounter>,
}

crate::replica::replica_methods!(PnCounter);

/// The Rust API behind the JS methods (host-testable).
impl PnCounter {
    /// A counter at 0 for the replica `id` (checked by [`replica_id`](crate::replica_id::replica_id)).
    #[must_use]
    pub fn create(id: ReplicaId) -> Self {
        Self {
            inner: Replica {
                id,
                state: crdt_core::PnCounter::new(),
            },
        }
    }

    /// Adds `n`; returns the encoded delta.
    ///
    /// # Errors
    /// [`Error::Refused`] if this replica's increments would pass `u64::MAX`.
    pub fn increment(&mut self, n: u64) -> Result<Vec<u8>, Error> {
        let delta = self.inner.state.try_increment(self.inner.id, n)?;
        crate::codec::encode(&delta)
    }

    /// Subtracts `n`; returns the encoded delta.
    ///
    /// # Errors
    /// [`Error::Refused`] if this replica's decrements would pass `u64::MAX`.
    pub fn decrement(&mut self, n: u64) -> Result<Vec<u8>, Error> {
        let delta = self.inner.state.try_decrement(self.inner.id, n)?;
        crate::codec::encode(&delta)
    }

    /// The value as a JS number.
    ///
    /// # Errors
    /// [`Error::Unrepresentable`] beyond `±Number.MAX_SAFE_INTEGER`.
    pub fn value(&self) -> Result<f64, Error> {
        let v = self.inner.state.value_i128();
        exact_i(v).ok_or_else(|| Error::Unrepresentable {
            what: "the counter's value",
            value: v.to_string(),
            instead: "valueBigInt",
        })
    }

    /// The wrapped `crdt-core` state.
    #[must_use]
    pub fn state(&self) -> &crdt_core::PnCounter {
        &self.inner.state
    }
}

/// The JS class.
#[wasm_bindgen]
impl PnCounter {
    /// `new PnCounter(replicaId)`: a counter at 0. Throws unless `replicaId` is an
    /// integer in `0..=Number.MAX_SAFE_INTEGER`.
    #[wasm_bindgen(constructor)]
    pub fn js_new(
        #[wasm_bindgen(js_name = replicaId, unchecked_param_type = "number")] replica_id: &JsValue,
    ) -> Result<PnCounter, JsError> {
        Ok(Self::create(js::replica_id(replica_id)?))
    }

    /// `increment(n = 1)`: adds `n` (an integer in `0..=Number.MAX_SAFE_INTEGER`);
    /// returns the delta (`Uint8Array`). Throws if this replica's total of increments
    /// would pass 2^64 - 1.
    #[wasm_bindgen(js_name = increment)]
    pub fn js_increment(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] n: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let n = js::amount(n)?;
        Ok(self.increment(n)?)
    }

    /// `decrement(n = 1)`: subtracts `n` (an integer in `0..=Number.MAX_SAFE_INTEGER`);
    /// returns the delta (`Uint8Array`). Throws if this replica's total of decrements
    /// would pass 2^64 - 1.
    #[wasm_bindgen(js_name = decrement)]
    pub fn js_decrement(
        &mut self,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] n: &JsValue,
    ) -> Result<Vec<u8>, JsError> {
        let n = js::amount(n)?;
        Ok(self.decrement(n)?)
    }

    /// `value()`: the value as a number; throws beyond `±Number.MAX_SAFE_INTEGER` (use
    /// `valueBigInt()`).
    #[wasm_bindgen(js_name = value)]
    pub fn js_value(&self) -> Result<f64, JsError> {
        Ok(self.value()?)
    }

    /// `valueBigInt()`: the exact value as a BigInt (never clamps).
    #[wasm_bindgen(js_name = valueBigInt)]
    pub fn value_big_int(&self) -> i128 {
        self.inner.state.value_i128()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_converge_and_encodings_match() {
        let mut a = PnCounter::create(ReplicaId::new(1));
        let mut b = PnCounter::create(ReplicaId::new(2));
        let d1 = a.increment(10).expect("inc");
        let d2 = b.decrement(3).expect("dec");
        let d3 = a.decrement(1).expect("dec");
        a.merge(&d2).expect("merge");
        for d in [&d3, &d1, &d1] {
            b.merge(d).expect("merge");
        }
        assert_eq!(a.value(), Ok(6.0));
        assert_eq!(b.value(), Ok(6.0));
        assert_eq!(a.encode(), b.encode());
    }

    #[test]
    fn refusals_leave_the_counter_unchanged() {
        let mut a = PnCounter::create(ReplicaId::new(1));
        let _ = a.decrement(u64::MAX).expect("dec");
        let before = a.clone();
        assert!(matches!(a.decrement(1), Err(Error::Refused(_))));
        assert!(a.merge(&[]).is_err());
        assert_eq!(a, before);
        assert!(matches!(a.value(), Err(Error::Unrepresentable { .. })));
        assert_eq!(a.value_big_int(), -i128::from(u64::MAX));
    }
}
