//! Arbitrary writes, faults and restarts on 3-leader OR-Set and PN-counter clusters:
//! after healing they converge and agree with a sequential oracle. Actions and
//! oracle: `tests::actions::model`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tests::actions::model::run(data));
