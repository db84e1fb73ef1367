//! Replica ids from JavaScript.
//!
//! A replica id is a JS number, an integer in `0..=Number.MAX_SAFE_INTEGER`, so that it
//! round-trips exactly through JS. `crdt-core`'s [`ReplicaId`] invariant applies: two
//! live replicas never share an id, and a replica restored from anything but its latest
//! state continues under a fresh id.

use crate::error::{Arg, Error};
use crate::number::safe_integer;
use crdt_core::ReplicaId;

/// Checks a replica id given as a JS number.
///
/// # Errors
/// [`Error::BadNumber`] unless `x` is an integer in `0..=Number.MAX_SAFE_INTEGER`.
pub fn replica_id(x: f64) -> Result<ReplicaId, Error> {
    safe_integer(Arg::ReplicaId, x).map(ReplicaId::new)
}

/// A replica id as the JS number it was made from (always exact: ids are only made by
/// [`replica_id`]).
#[must_use]
pub fn to_number(id: ReplicaId) -> f64 {
    crate::number::exact_u(u128::from(id.get())).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_bad_ids_are_refused() {
        for x in [0.0, 1.0, 42.0, 9_007_199_254_740_991.0] {
            let id = replica_id(x).expect("valid id");
            assert_eq!(to_number(id), x);
        }
        for x in [-1.0, 0.5, f64::NAN, f64::INFINITY, 9_007_199_254_740_992.0] {
            assert!(matches!(
                replica_id(x),
                Err(Error::BadNumber {
                    arg: Arg::ReplicaId,
                    ..
                })
            ));
        }
    }
}
