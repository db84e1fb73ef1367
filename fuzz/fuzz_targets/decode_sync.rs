//! A leader fed untrusted messages (raw, and mutated real ones) and snapshots never
//! panics, and a rejected message leaves its state and causal token unchanged. Input
//! layout and checks: `tests::actions::sync`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tests::actions::sync::run(data));
