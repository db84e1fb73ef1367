//! An untrusted value and arbitrary retirement records: retiring never panics, a
//! refused batch leaves the value unchanged, an applied one keeps the invariants.
//! Input layout and checks: `tests::actions::retire`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tests::actions::retire::run(data));
