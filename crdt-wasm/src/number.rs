//! JavaScript numbers in and out: only exact integers cross the boundary.
//!
//! A JS number is an IEEE-754 double; integers are exact only up to
//! `Number.MAX_SAFE_INTEGER` (2^53 - 1). Inputs must be integers in
//! `0..=MAX_SAFE_INTEGER` ([`safe_integer`]); outputs are returned as numbers only when
//! exact ([`exact_u`], [`exact_i`]), the callers offering a BigInt accessor otherwise.

use crate::error::{Arg, Error, Problem};

/// `Number.MAX_SAFE_INTEGER`: 2^53 - 1, the largest integer `n` such that `n` and `n + 1`
/// are both exact JS numbers.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Checks that `x` is an integer in `0..=MAX_SAFE_INTEGER` and returns it (`-0` is 0).
///
/// # Errors
/// [`Error::BadNumber`] for NaN, infinities, negative, fractional or unsafe numbers.
pub fn safe_integer(arg: Arg, x: f64) -> Result<u64, Error> {
    let problem = if x.is_nan() {
        Problem::NaN
    } else if x.is_infinite() {
        Problem::Infinite
    } else if x < 0.0 {
        Problem::Negative
    } else if x.fract() != 0.0 {
        Problem::Fractional
    } else if x > MAX_SAFE_INTEGER as f64 {
        Problem::AboveMaxSafe
    } else {
        // Finite, whole and within 0..=2^53-1: the conversion is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        return Ok(x as u64);
    };
    Err(Error::BadNumber {
        arg,
        value: x,
        problem,
    })
}

/// `v` as a JS number if it is exact (at most `MAX_SAFE_INTEGER`).
#[must_use]
pub fn exact_u(v: u128) -> Option<f64> {
    // At most 2^53 - 1: exactly representable.
    #[allow(clippy::cast_precision_loss)]
    (v <= u128::from(MAX_SAFE_INTEGER)).then_some(v as f64)
}

/// `v` as a JS number if it is exact (magnitude at most `MAX_SAFE_INTEGER`).
#[must_use]
pub fn exact_i(v: i128) -> Option<f64> {
    // Magnitude at most 2^53 - 1: exactly representable.
    #[allow(clippy::cast_precision_loss)]
    (v.unsigned_abs() <= u128::from(MAX_SAFE_INTEGER)).then_some(v as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(x: f64) -> Option<Problem> {
        match safe_integer(Arg::Amount, x) {
            Ok(_) => None,
            Err(Error::BadNumber { problem, .. }) => Some(problem),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn accepts_exactly_the_safe_non_negative_integers() {
        assert_eq!(safe_integer(Arg::ReplicaId, 0.0), Ok(0));
        assert_eq!(safe_integer(Arg::ReplicaId, -0.0), Ok(0));
        assert_eq!(safe_integer(Arg::ReplicaId, 1.0), Ok(1));
        assert_eq!(
            safe_integer(Arg::ReplicaId, 9_007_199_254_740_991.0),
            Ok(MAX_SAFE_INTEGER)
        );
        assert_eq!(
            problem(9_007_199_254_740_992.0),
            Some(Problem::AboveMaxSafe)
        );
        assert_eq!(problem(1e300), Some(Problem::AboveMaxSafe));
        assert_eq!(problem(f64::MAX), Some(Problem::AboveMaxSafe));
        assert_eq!(problem(f64::NAN), Some(Problem::NaN));
        assert_eq!(problem(f64::INFINITY), Some(Problem::Infinite));
        assert_eq!(problem(f64::NEG_INFINITY), Some(Problem::Infinite));
        assert_eq!(problem(-1.0), Some(Problem::Negative));
        assert_eq!(problem(-0.5), Some(Problem::Negative));
        assert_eq!(problem(0.5), Some(Problem::Fractional));
        assert_eq!(problem(f64::MIN_POSITIVE), Some(Problem::Fractional));
        assert_eq!(problem(4_503_599_627_370_495.5), Some(Problem::Fractional));
    }

    #[test]
    fn outputs_are_numbers_only_when_exact() {
        assert_eq!(exact_u(0), Some(0.0));
        assert_eq!(
            exact_u(u128::from(MAX_SAFE_INTEGER)),
            Some(9_007_199_254_740_991.0)
        );
        assert_eq!(exact_u(u128::from(MAX_SAFE_INTEGER) + 1), None);
        assert_eq!(exact_u(u128::MAX), None);
        assert_eq!(
            exact_i(-(i128::from(MAX_SAFE_INTEGER))),
            Some(-9_007_199_254_740_991.0)
        );
        assert_eq!(exact_i(-(i128::from(MAX_SAFE_INTEGER)) - 1), None);
        assert_eq!(exact_i(i128::MIN), None);
        assert_eq!(exact_i(i128::MAX), None);
    }
}
