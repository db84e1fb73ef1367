//! Reading a protocol message's header in tests and the simulator without decoding it
//! (crdt-sync's `message` module documents the layout): the envelope (magic, version,
//! highest version), then the kind byte, whose high bit (version 4) only says that an
//! acknowledged incarnation is elided; up to version 3 the type tag follows, then the
//! sender's id as a varint.

/// The message kind of `payload` (1 `Delta`, 2 `Ack`, 3 `Digest`, 4 `Repair`,
/// 5 `Probe`, 6 `ProbeReply`, 7 `Delta` with an acknowledgement, 8 `Fragment`,
/// 9 `FragmentAck`), without version 4's flag bit.
#[must_use]
pub fn kind(payload: &[u8]) -> Option<u8> {
    let k = *payload.get(4)?;
    Some(match payload.get(2) {
        Some(v) if *v >= 4 => k & 0x7f,
        _ => k,
    })
}

/// Where the sender's id starts: after the kind and, up to version 3, the type tag.
#[must_use]
pub fn sender_at(payload: &[u8]) -> usize {
    match payload.get(2) {
        Some(v) if *v >= 4 => 5,
        _ => 6,
    }
}

/// Whether `payload` is in protocol version 4 or later: its checksum covers the
/// receiver's id, so a message delivered to another leader is rejected as corrupt.
#[must_use]
pub fn receiver_checked(payload: &[u8]) -> bool {
    payload.get(2).is_some_and(|v| *v >= 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_bit_is_only_read_from_version_4() {
        assert_eq!(kind(&[0xD1, 0x5C, 4, 4, 0x82]), Some(2));
        assert_eq!(kind(&[0xD1, 0x5C, 3, 3, 0x82]), Some(0x82));
        assert_eq!(
            (
                sender_at(&[0xD1, 0x5C, 4, 4]),
                sender_at(&[0xD1, 0x5C, 3, 4])
            ),
            (5, 6)
        );
        assert!(receiver_checked(&[0xD1, 0x5C, 4]) && !receiver_checked(&[0xD1, 0x5C, 3]));
    }
}
