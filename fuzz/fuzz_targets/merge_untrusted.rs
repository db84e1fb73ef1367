//! Two untrusted values of one type, merged every way: no panic, invariants kept,
//! commutative and idempotent, `merge_delta`/`delta_since` laws. Input layout and
//! checks: `tests::actions::merge`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tests::actions::merge::run(data));
