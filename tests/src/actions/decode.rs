//! `decode_core`: untrusted bytes decoded as every core type.

use crdt_core::codec::{decode, decode_with_limits, encode, DecodeError, DecodeLimits, WireFormat};
use crdt_core::{
    CausalContext, GCounter, Keyspace, LwwRegister, MvRegister, OrSet, PnCounter, VersionVector,
};
use std::fmt::Debug;

/// Limits far below the defaults, so the fuzzer reaches every limit check.
pub const TIGHT: DecodeLimits = DecodeLimits {
    max_bytes: 4096,
    max_elements: 8,
    max_replicas: 3,
    max_key_bytes: 16,
};

/// What a decoded value must satisfy beyond the codec's own checks.
pub trait Checked: WireFormat + PartialEq + Debug {
    /// Panics if a documented invariant is broken.
    fn assert_invariants(&self) {}
}

impl Checked for GCounter {}
impl Checked for PnCounter {}
impl Checked for VersionVector {}
impl Checked for CausalContext {}

impl<T: crdt_core::codec::WireValue + Debug> Checked for OrSet<T> {
    fn assert_invariants(&self) {
        if let Err(e) = self.check_invariants() {
            panic!("a decoded OR-Set breaks an invariant ({e}): {self:?}");
        }
    }
}

impl<T: crdt_core::codec::WireValue + Debug> Checked for MvRegister<T> {
    fn assert_invariants(&self) {
        if let Err(e) = self.check_invariants() {
            panic!("a decoded multi-value register breaks an invariant ({e}): {self:?}");
        }
    }
}

impl Checked for Keyspace {
    fn assert_invariants(&self) {
        if let Err(e) = self.check_invariants() {
            panic!("a decoded keyspace breaks an invariant ({e}): {self:?}");
        }
    }
}

impl<T: crdt_core::codec::WireValue + Debug> Checked for LwwRegister<T> {
    fn assert_invariants(&self) {
        if let Err(e) = self.check_invariants() {
            panic!("a decoded register breaks an invariant ({e}): {self:?}");
        }
    }
}

/// Decodes `data` as a `T` and checks everything that must hold of the result:
/// canonical (re-encodes to `data`), invariants, limits only ever reject more.
/// Returns the decoded value.
///
/// # Panics
/// On any violated property.
pub fn check<T: Checked>(data: &[u8]) -> Result<T, DecodeError> {
    let full = decode::<T>(data);
    if let Ok(value) = &full {
        assert_eq!(
            encode(value),
            data,
            "accepted bytes must be canonical: decode then encode gives them back"
        );
        value.assert_invariants();
    }
    match decode_with_limits::<T>(data, &TIGHT) {
        Ok(tight) => assert_eq!(
            Ok(&tight),
            full.as_ref(),
            "what tight limits accept, the defaults accept as the same value"
        ),
        Err(e) => {
            if data.len() <= TIGHT.max_bytes && full.is_ok() {
                assert!(
                    matches!(e, DecodeError::LimitExceeded { .. }),
                    "valid input rejected under tighter limits for another reason: {e:?}"
                );
            }
        }
    }
    if !data.is_empty() {
        let short = DecodeLimits::DEFAULT.with_max_bytes(data.len() - 1);
        assert!(
            matches!(
                decode_with_limits::<T>(data, &short),
                Err(DecodeError::LimitExceeded { .. })
            ),
            "max_bytes is checked before anything else"
        );
    }
    full
}

/// The `decode_core` driver: `data` decoded as every core type and element kind.
pub fn run(data: &[u8]) {
    let _ = check::<GCounter>(data);
    let _ = check::<PnCounter>(data);
    let _ = check::<VersionVector>(data);
    let _ = check::<CausalContext>(data);
    let _ = check::<OrSet<u64>>(data);
    let _ = check::<OrSet<i64>>(data);
    let _ = check::<OrSet<String>>(data);
    let _ = check::<OrSet<Vec<u8>>>(data);
    let _ = check::<OrSet<u32>>(data);
    let _ = check::<OrSet<i32>>(data);
    let _ = check::<OrSet<bool>>(data);
    let _ = check::<LwwRegister<String>>(data);
    let _ = check::<LwwRegister<u64>>(data);
    let _ = check::<LwwRegister<Vec<u8>>>(data);
    let _ = check::<LwwRegister<bool>>(data);
    let _ = check::<MvRegister<String>>(data);
    let _ = check::<MvRegister<u64>>(data);
    let _ = check::<Keyspace>(data);
}
