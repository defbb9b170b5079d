//! The line scanner: finds the first line end (CR or LF) of a buffer and, in the same pass,
//! whether any byte before it is non-ASCII.
//!
//! Knowing that a line is all ASCII lets the parser skip the UTF-8 check of its values, which
//! was the largest cost of a small message after the reference count; a separate pass for it
//! cost as much again as finding the line end. On `x86_64` the scan takes 16 bytes at a time with
//! SSE2 (part of the `x86_64` baseline, so there is nothing to detect at run time), the last
//! bytes of a buffer as one block too (the last 16 bytes again, or a zero-padded copy of a short
//! buffer), and a buffer of under 8 bytes with a loop. Elsewhere it is the plain loop
//! [`scan_scalar`], which is also the definition that the tests hold the vector scan to, on
//! every offset around the block edges, every byte value, and arbitrary input.
//!
//! It is part of the `text` module because [`Text`](super::Text)'s invariant relies on it: a
//! line it reports as ASCII is stored without a UTF-8 check (through [`Ascii`](super::Ascii)).
//! Its `unsafe` is the SSE2 code. Its tests run under Miri in CI.

/// What [`scan`] found (and [`find_line`](super::find_line) hands to the line splitter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scan {
    /// The offset of the first CR or LF, if any.
    pub(crate) end: Option<usize>,
    /// Whether a byte >= 0x80 comes before it (before the end of the buffer, if there is no
    /// line end).
    pub(crate) non_ascii: bool,
}

/// The first line end of `hay`, and whether a non-ASCII byte comes before it.
#[inline]
pub(crate) fn scan(hay: &[u8]) -> Scan {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        sse2::scan(hay)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        scan_scalar(hay)
    }
}

/// The definition: one byte at a time.
#[inline]
pub(crate) fn scan_scalar(hay: &[u8]) -> Scan {
    let mut high = 0u8;
    for (i, &b) in hay.iter().enumerate() {
        if b == b'\n' || b == b'\r' {
            return Scan {
                end: Some(i),
                non_ascii: high >= 0x80,
            };
        }
        high |= b;
    }
    Scan {
        end: None,
        non_ascii: high >= 0x80,
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use super::Scan;
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    const LANES: usize = 16;

    #[inline]
    pub(super) fn scan(hay: &[u8]) -> Scan {
        let blocks = hay.chunks_exact(LANES);
        let rest = blocks.remainder();
        // Bit i of `high` is the top bit of byte i of a block: the bytes >= 0x80.
        let mut high_seen = 0u32;
        for (n, block) in blocks.enumerate() {
            let (eol, high) = masks(block);
            if eol != 0 {
                return found(n * LANES, eol, high, high_seen);
            }
            high_seen |= high;
        }
        if !rest.is_empty() {
            if rest.len() < 8 && hay.len() < LANES {
                // A few bytes (a blank line at the end of a read): the loop is cheapest.
                return super::scan_scalar(rest);
            }
            let (eol, high) = if hay.len() >= LANES {
                // The last 16 bytes, again, with the bits of those already seen shifted out.
                let (eol, high) = masks(&hay[hay.len() - LANES..]);
                let seen = LANES - rest.len();
                (eol >> seen, high >> seen)
            } else {
                // A short buffer (a small read, most of the time), copied into a zeroed
                // block: a zero is neither a line end nor non-ASCII, and one block costs less
                // than a loop that branches on every byte.
                let mut block = [0u8; LANES];
                block[..rest.len()].copy_from_slice(rest);
                masks(&block)
            };
            if eol != 0 {
                return found(hay.len() - rest.len(), eol, high, high_seen);
            }
            high_seen |= high;
        }
        Scan {
            end: None,
            non_ascii: high_seen != 0,
        }
    }

    /// The line end at the lowest bit of `eol`, in the block at `at`.
    #[inline]
    fn found(at: usize, eol: u32, high: u32, high_seen: u32) -> Scan {
        let i = eol.trailing_zeros();
        let before = (1u32 << i) - 1;
        Scan {
            end: Some(at + i as usize),
            non_ascii: (high_seen | high & before) != 0,
        }
    }

    /// The line-end mask and the high-bit mask of one 16-byte block.
    #[inline]
    fn masks(block: &[u8]) -> (u32, u32) {
        assert!(block.len() >= LANES);
        // SAFETY: SSE2 is enabled at compile time (the `cfg` of this module), so its
        // intrinsics are available. `_mm_loadu_si128` reads 16 bytes from the pointer with no
        // alignment requirement, and `block` holds at least 16 bytes (asserted above; the
        // caller passes `chunks_exact(16)` items, so the check folds away). The other
        // intrinsics work on registers only, and every lane of the results is defined.
        unsafe {
            // An unaligned load: the cast pointer is never dereferenced as aligned.
            #[allow(clippy::cast_ptr_alignment)]
            let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
            #[allow(clippy::cast_possible_wrap)] // the byte values, as the intrinsic takes them
            let (lf, cr) = (_mm_set1_epi8(b'\n' as i8), _mm_set1_epi8(b'\r' as i8));
            let eol = _mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr));
            #[allow(clippy::cast_sign_loss)] // a 16-bit mask in the low bits of an i32
            (_mm_movemask_epi8(eol) as u32, _mm_movemask_epi8(v) as u32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Every placement of a line end and a non-ASCII byte, around every block edge.
    #[test]
    fn vector_and_scalar_scans_agree_at_every_offset() {
        let lens: Vec<usize> = if cfg!(miri) {
            alloc::vec![0, 1, 15, 16, 17, 33]
        } else {
            (0..70).collect()
        };
        // Under Miri, the offsets around block edges only: every offset is minutes there.
        let offsets = |len: usize| -> Vec<usize> {
            if cfg!(miri) {
                let mut v: Vec<usize> = [0, 1, 14, 15, 16, 17, 31, 32, len - len.min(1), len]
                    .into_iter()
                    .filter(|&i| i <= len)
                    .collect();
                v.sort_unstable();
                v.dedup();
                v
            } else {
                (0..=len).collect()
            }
        };
        for &len in &lens {
            for eol in offsets(len) {
                for high in offsets(len) {
                    for (e, h) in [(b'\n', 0x80), (b'\r', 0xff), (b'\n', 0xc3)] {
                        let mut hay = alloc::vec![b'a'; len];
                        if high < len {
                            hay[high] = h;
                        }
                        if eol < len {
                            hay[eol] = e;
                        }
                        assert_eq!(scan(&hay), scan_scalar(&hay), "{hay:?}");
                    }
                }
            }
        }
    }

    /// Every byte value at every offset of reads up to 70 bytes: a line end exactly where
    /// `memchr2` finds one.
    #[test]
    #[cfg_attr(miri, ignore)] // 1.2 million scans: the block-edge test covers Miri
    fn line_ends_are_where_memchr_finds_them() {
        for len in 0..70 {
            for at in 0..=len {
                for b in 0..=255u8 {
                    let mut read = alloc::vec![b'r'; len];
                    if at < len {
                        read[at] = b;
                    }
                    let want = memchr::memchr2(b'\n', b'\r', &read);
                    assert_eq!(scan(&read).end, want, "{read:?}");
                    assert_eq!(
                        scan(&read).non_ascii,
                        want.is_none() && b >= 0x80 && at < len
                    );
                }
            }
        }
    }

    #[cfg(not(miri))] // thousands of cases: the exhaustive test above covers Miri
    proptest::proptest! {
        /// On arbitrary bytes, weighted towards line ends and non-ASCII bytes, at every start
        /// offset (every alignment of the blocks).
        #[test]
        fn vector_scan_is_the_definition(
            hay in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::num::u8::ANY,
                    proptest::strategy::Just(b'\n'),
                    proptest::strategy::Just(b'\r'),
                    0x80u8..,
                    0u8..0x80,
                ],
                0..300,
            ),
            start in 0usize..40,
        ) {
            let hay = &hay[start.min(hay.len())..];
            proptest::prop_assert_eq!(scan(hay), scan_scalar(hay));
        }
    }

    #[test]
    fn the_definition() {
        let s = |b: &[u8]| scan_scalar(b);
        assert_eq!(
            s(b"abc"),
            Scan {
                end: None,
                non_ascii: false
            }
        );
        assert_eq!(
            s(b"a\xc3\xa9\nb"),
            Scan {
                end: Some(3),
                non_ascii: true
            }
        );
        assert_eq!(
            s(b"ab\r\xff"),
            Scan {
                end: Some(2),
                non_ascii: false
            }
        );
        assert_eq!(
            s(b"\x7f\x80"),
            Scan {
                end: None,
                non_ascii: true
            }
        );
    }
}
