//! Decoding untrusted bytes as every core type never panics, and whatever decodes
//! re-encodes to exactly the same bytes (the format is canonical).
#![no_main]

use crdt_core::codec::{decode, encode, WireFormat};
use crdt_core::{CausalContext, GCounter, LwwRegister, OrSet, PnCounter, VersionVector};
use libfuzzer_sys::fuzz_target;

fn check<T: WireFormat>(data: &[u8]) {
    if let Ok(value) = decode::<T>(data) {
        assert_eq!(encode(&value), data, "accepted bytes must be canonical");
    }
}

fuzz_target!(|data: &[u8]| {
    check::<GCounter>(data);
    check::<PnCounter>(data);
    check::<OrSet<u64>>(data);
    check::<OrSet<String>>(data);
    check::<LwwRegister<String>>(data);
    check::<VersionVector>(data);
    check::<CausalContext>(data);
});
