//! The replica id a leader writes under in each incarnation.

use crate::Incarnation;
use crdt_core::ReplicaId;

/// The id under which a leader issues dots in incarnation `inc`: its own id in
/// [`Incarnation::FIRST`], and a pseudo-random 53-bit id derived from `(id, inc)` —
/// counter *and* nonce — in every later one. Writing under a fresh id after a restart
/// means a leader restored from any checkpoint, however stale, never issues a dot another
/// replica may already hold. The cost is one more entry in version vectors per restart.
///
/// Two different incarnations derive the same id only by a 53-bit hash collision
/// (about 2⁻⁵³ per pair).
#[must_use]
pub fn writer_id(id: ReplicaId, inc: Incarnation) -> ReplicaId {
    if inc == Incarnation::FIRST {
        return id;
    }
    let mixed = splitmix64(id.get() ^ splitmix64(inc.to_u64()));
    // Ids below 2^53 are exact JavaScript numbers.
    ReplicaId::new(mixed & ((1 << 53) - 1))
}

/// SplitMix64's output function: a bijective 64-bit mixer.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
