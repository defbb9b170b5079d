//! Word-at-a-time byte tricks ("SIMD within a register"), shared by the line splitter and the
//! UTF-8 check: reading a word, marking CR and LF in a small read.

/// The high bit of every byte of a word.
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// The first eight bytes of `w` as a little-endian word.
#[inline]
pub(crate) fn word(w: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&w[..8]);
    u64::from_le_bytes(a)
}

const LO: u64 = 0x0101_0101_0101_0101;

/// Marks (high bit of each byte) the bytes of `w` that are CR or LF. The lowest mark is exact,
/// which is all `find_line_end` reads.
#[inline]
fn eol_mask(w: u64) -> u64 {
    let lf = w ^ (LO * u64::from(b'\n'));
    let cr = w ^ (LO * u64::from(b'\r'));
    (lf.wrapping_sub(LO) & !lf | cr.wrapping_sub(LO) & !cr) & HIGH
}

/// Whether a small read holds a CR or LF: every word checked, no early exit.
#[inline]
pub(crate) fn has_line_end(read: &[u8]) -> bool {
    let mut words = read.chunks_exact(8);
    let mut marks = 0;
    for w in &mut words {
        marks |= eol_mask(word(w));
    }
    marks != 0 || words.remainder().iter().any(|&b| b == b'\n' || b == b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore)] // an exhaustive loop over safe code: far too slow under Miri
    fn small_read_check_agrees_with_memchr() {
        for len in 0..70 {
            for at in 0..=len {
                for b in 0..=255u8 {
                    let mut read = alloc::vec![b'r'; len];
                    if at < len {
                        read[at] = b;
                    }
                    let want = memchr::memchr2(b'\n', b'\r', &read).is_some();
                    assert_eq!(has_line_end(&read), want, "{read:?}");
                }
            }
        }
    }
}
