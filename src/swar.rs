//! Word-at-a-time byte tricks ("SIMD within a register") for the UTF-8 check: reading a word,
//! and the mask of its bytes' high bits.

/// The high bit of every byte of a word.
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// The first eight bytes of `w` as a little-endian word.
#[inline]
pub(crate) fn word(w: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&w[..8]);
    u64::from_le_bytes(a)
}
