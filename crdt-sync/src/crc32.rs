//! The CRC-32 trailer of messages and checkpoints (IEEE 802.3, reflected: the checksum
//! of zlib, PNG and `crc32fast`).
//!
//! Native builds use `crc32fast` (carry-less multiplication where the CPU has it). On
//! wasm32-unknown-unknown `crc32fast` falls back to slicing-by-16, whose 16 KiB of
//! tables are data in the module (6 % of crdt-wasm's browser build; docs/WASM.md,
//! "Size"). There, slicing-by-8 computes the same checksum with tables built on first
//! use instead, in memory and not in the module; a test compares the two.

/// The CRC-32 of `bytes`.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub(crate) fn hash(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// The CRC-32 of `bytes`.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub(crate) fn hash(bytes: &[u8]) -> u32 {
    sliced(bytes)
}

/// The CRC-32 of a body that continues with one of several tails: the body is hashed
/// once, and each tail costs only its own bytes (a version-4 message's checksum covers
/// a pseudo-header that a receiver tries for each address it may have been sent to).
#[derive(Clone)]
pub(crate) struct Prefix {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    hasher: crc32fast::Hasher,
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    state: u32,
}

impl Prefix {
    /// The checksum state after `body`.
    pub(crate) fn of(body: &[u8]) -> Self {
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        {
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(body);
            Self { hasher }
        }
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        {
            Self {
                state: sliced_from(!0, body),
            }
        }
    }

    /// The CRC-32 of the body followed by `tail`.
    pub(crate) fn with(&self, tail: &[u8]) -> u32 {
        #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
        {
            let mut hasher = self.hasher.clone();
            hasher.update(tail);
            hasher.finalize()
        }
        #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
        {
            !sliced_from(self.state, tail)
        }
    }
}

/// Slicing-by-8 tables: `[0]` holds the remainder of each byte value (polynomial
/// 0xEDB88320, reflected), `[k]` that of the byte followed by `k` zero bytes.
#[cfg(any(test, all(target_arch = "wasm32", target_os = "unknown")))]
fn tables() -> &'static [[u32; 256]; 8] {
    static TABLES: std::sync::OnceLock<Box<[[u32; 256]; 8]>> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Box::new([[0u32; 256]; 8]);
        for (i, slot) in (0u32..).zip(t[0].iter_mut()) {
            *slot = (0..8).fold(i, |c, _| {
                if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            });
        }
        for k in 1..8 {
            for i in 0..256 {
                let prev = t[k - 1][i];
                t[k][i] = (prev >> 8) ^ t[0][usize::from(prev as u8)];
            }
        }
        t
    })
}

/// The CRC-32 of `bytes`, eight bytes at a time.
#[cfg(any(test, all(target_arch = "wasm32", target_os = "unknown")))]
fn sliced(bytes: &[u8]) -> u32 {
    !sliced_from(!0, bytes)
}

/// The raw (not inverted) CRC register after `bytes`, starting from `crc`.
#[cfg(any(test, all(target_arch = "wasm32", target_os = "unknown")))]
fn sliced_from(mut crc: u32, bytes: &[u8]) -> u32 {
    let t = tables();
    let at = |k: usize, x: u32| t[k][usize::from(x as u8)];
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        crc = at(7, lo)
            ^ at(6, lo >> 8)
            ^ at(5, lo >> 16)
            ^ at(4, lo >> 24)
            ^ at(3, hi)
            ^ at(2, hi >> 8)
            ^ at(1, hi >> 16)
            ^ at(0, hi >> 24);
    }
    for &b in chunks.remainder() {
        crc = at(0, crc ^ u32::from(b)) ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    #[test]
    fn known_values() {
        assert_eq!(sliced(b""), 0);
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(sliced(b"123456789"), 0xCBF4_3926);
        let long: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        for len in [1, 7, 8, 9, 15, 16, 17, 1000, 99_999, 100_000] {
            assert_eq!(
                sliced(&long[..len]),
                crc32fast::hash(&long[..len]),
                "length {len}"
            );
        }
    }

    quickcheck! {
        fn sliced_equals_crc32fast(bytes: Vec<u8>) -> bool {
            sliced(&bytes) == crc32fast::hash(&bytes)
        }

        fn a_prefix_continued_equals_the_whole(body: Vec<u8>, tail: Vec<u8>) -> bool {
            let whole: Vec<u8> = body.iter().chain(&tail).copied().collect();
            let continued = !sliced_from(sliced_from(!0, &body), &tail);
            Prefix::of(&body).with(&tail) == hash(&whole) && continued == hash(&whole)
        }
    }
}
