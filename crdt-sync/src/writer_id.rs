//! The replica id a leader writes under in each incarnation.

use crdt_core::ReplicaId;

/// The id under which a leader issues dots in incarnation `inc`: its own id in
/// incarnation 0, and a pseudo-random 53-bit id derived from `(id, inc)` after each
/// restore. Writing under a fresh id after a restart means a leader restored from any
/// snapshot, however stale, never issues a dot another replica may already hold. The
/// cost is one more entry in version vectors per restart.
#[must_use]
pub fn writer_id(id: ReplicaId, inc: u32) -> ReplicaId {
    if inc == 0 {
        return id;
    }
    let mixed = splitmix64(id.get() ^ splitmix64(u64::from(inc)));
    // Ids below 2^53 are exact JavaScript numbers.
    ReplicaId::new(mixed & ((1 << 53) - 1))
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
