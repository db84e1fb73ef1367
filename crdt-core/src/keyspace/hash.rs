//! An incremental, stable digest of a keyspace's state.
//!
//! Each live dot contributes a 64-bit hash of its key, dot and payload in their
//! canonical encoding; the keyspace keeps the wrapping sum of those up to date on
//! every change (one hash per dot added or dropped), so [`Keyspace::state_hash`]
//! only adds a hash of the context. A sum is independent of the order in which dots
//! arrived, so equal states give equal digests on every replica, platform and build
//! (the hash is FNV-1a over the canonical bytes, then a SplitMix64 finalizer, never
//! std's randomized hasher).

use super::{Keyspace, Payload};
use crate::codec::{encode, Writer};
use crate::Dot;

/// FNV-1a over `bytes`, then the SplitMix64 finalizer (so that sums of hashes of
/// similar inputs stay well spread).
fn stable_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// The contribution of one live dot: its key, dot and payload, canonically encoded.
pub(crate) fn dot_hash(key: &str, dot: Dot, payload: &Payload) -> u64 {
    let mut w = Writer::new();
    w.len(key.len());
    w.raw(key.as_bytes());
    w.dot(dot);
    payload.encode(&mut w);
    stable_hash(w.as_bytes())
}

impl Keyspace {
    /// A stable 64-bit digest of the state (entries and context): equal states have
    /// equal digests on every replica. Costs O(size of the context), independent of
    /// the number of keys: the entries' part is maintained on every change. Two
    /// different states collide with probability about 2^-64 (not a cryptographic
    /// hash: do not rely on it against an adversary).
    #[must_use]
    pub fn state_hash(&self) -> u64 {
        self.live_hash
            .wrapping_add(stable_hash(&encode(&self.ctx)).rotate_left(1))
    }
}
