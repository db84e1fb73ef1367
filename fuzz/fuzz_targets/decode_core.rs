//! Decoding untrusted bytes as every core type never panics, whatever decodes
//! re-encodes to exactly the same bytes (the format is canonical), and tighter limits
//! only ever reject more. The checks: `tests::actions::decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tests::actions::decode::run(data));
