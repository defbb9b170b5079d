//! The line splitter: chunks in, complete lines out (WHATWG HTML §9.2.5, the stream's
//! grammar).
//!
//! It strips one BOM at the very start, ends lines at CRLF, LF or CR (a CR at the end of a
//! chunk ends the line at once, and an LF that opens the next chunk is then skipped), resumes
//! where the last search stopped, joins a line that straddles chunks in one carry buffer that
//! never grows past the line limit, and skips what must be skipped after a limit was exceeded:
//! the rest of an overlong line, then every line up to the next blank one. It knows nothing of
//! fields.

use crate::text::{Ascii, find_line};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use bytes::{Bytes, BytesMut};
use core::mem;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
/// `bom` once the start of the stream has been checked for a BOM.
const BOM_DONE: u8 = 0xFF;
/// Reads up to this size that continue a line are appended to it directly.
const SMALL_READ: usize = 64;
/// A joined data line longer than this is handed over with its carry buffer (when the line
/// fills at least half of it) instead of being copied out of it; shorter lines are copied, and
/// the buffer is kept for the next line.
const REUSE_CARRY_MAX: usize = 4096;

/// What to skip after a limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Nothing: every line is reported.
    No,
    /// The rest of an overlong line, then every line up to the next blank one.
    RestOfLine,
    /// Every line up to the next blank one, which is reported (it ends the dropped event).
    ToBlankLine,
}

/// One step of the splitter.
pub(crate) enum Line<'a> {
    /// A complete line (without its line ending) inside `src`, the chunk being split, so that
    /// values can be views of it; `ascii` is the line again when it is all ASCII, so that its
    /// values need no UTF-8 check.
    InChunk {
        line: &'a [u8],
        src: &'a Bytes,
        ascii: Option<Ascii<'a>>,
    },
    /// A complete line that began in an earlier chunk, joined in the carry buffer.
    Joined(&'a [u8]),
    /// The value of a long data line that began in an earlier chunk (after `data:` and one
    /// space): it would have to be copied out of the carry buffer anyway, so it is handed
    /// over owned, ready to be the message's data.
    Data(Bytes),
    /// A line is longer than the limit. It is skipped, and so is every line up to the next
    /// blank one; the caller drops the event in progress.
    TooLong,
    /// The stream ended and everything was split: an unfinished line was dropped.
    End,
}

/// Splits a stream of chunks into lines; see the module docs.
#[allow(clippy::struct_excessive_bools)] // independent flags of the line state machine
pub(crate) struct Lines {
    max_line_len: usize,
    /// The chunk being split, from `pos` on.
    chunk: Bytes,
    pos: usize,
    /// Chunks fed before the current one was used up.
    queued: VecDeque<Bytes>,
    /// The start of a line that began in an earlier chunk; never grown past the line limit.
    carry: Vec<u8>,
    /// The carry buffer holds a line reported as `Joined`: clear it before going on.
    carry_reported: bool,
    /// While skipping: whether the current line has bytes already.
    partial: bool,
    /// The last line ended with a CR at the end of a chunk: skip an LF that comes next.
    skip_lf: bool,
    bom: u8,
    skip: Skip,
    eof: bool,
}

impl Lines {
    pub(crate) fn new(max_line_len: usize) -> Lines {
        Lines {
            max_line_len,
            chunk: Bytes::new(),
            pos: 0,
            queued: VecDeque::new(),
            carry: Vec::new(),
            carry_reported: false,
            partial: false,
            skip_lf: false,
            bom: 0,
            skip: Skip::No,
            eof: false,
        }
    }

    /// Bytes held beyond the chunks given: the start of an unfinished line.
    pub(crate) fn buffered_len(&self) -> usize {
        if self.carry_reported {
            0
        } else {
            self.carry.len()
        }
    }

    pub(crate) fn finish(&mut self) {
        self.eof = true;
    }

    /// Whether every chunk given was split (more are needed, or the stream is over).
    #[inline]
    pub(crate) fn is_drained(&self) -> bool {
        self.pos >= self.chunk.len() && self.queued.is_empty()
    }

    /// Whether [`next_line`](Self::next_line) can have nothing to say: every chunk was split
    /// and the stream goes on.
    #[inline]
    pub(crate) fn is_idle(&self) -> bool {
        self.is_drained() && !self.eof
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.eof && self.is_drained()
    }

    /// Skips every line up to the next blank one (the caller dropped an event that grew past
    /// its limit).
    pub(crate) fn skip_to_blank_line(&mut self) {
        self.skip = Skip::ToBlankLine;
    }

    pub(crate) fn feed(&mut self, chunk: Bytes) {
        let Some(chunk) = self.strip_bom(chunk) else {
            return;
        };
        if chunk.is_empty() {
            return;
        }
        if self.is_drained() {
            // A small read in the middle of a line, with no line end in it, only extends the
            // line: keep its bytes and skip the line loop (this is most reads when a client
            // gets a stream in small pieces).
            if !self.carry.is_empty()
                && !self.carry_reported
                && chunk.len() <= SMALL_READ
                && self.skip == Skip::No
                && self.carry.len() + chunk.len() <= self.max_line_len
                && find_line(&chunk).end.is_none()
            {
                extend_capped(&mut self.carry, &chunk, self.max_line_len);
                return;
            }
            self.chunk = chunk;
            self.pos = 0;
        } else {
            self.queued.push_back(chunk);
        }
    }

    /// The chunk without a BOM at the very start of the stream; `None` while a chunk holds only
    /// a prefix of the BOM (the next one decides).
    fn strip_bom(&mut self, mut chunk: Bytes) -> Option<Bytes> {
        if self.bom == BOM_DONE {
            return Some(chunk);
        }
        let matched = usize::from(self.bom);
        let n = (BOM.len() - matched).min(chunk.len());
        if chunk[..n] == BOM[matched..matched + n] {
            if matched + n == BOM.len() {
                self.bom = BOM_DONE;
                return Some(chunk.slice(n..));
            }
            #[allow(clippy::cast_possible_truncation)] // < 3
            {
                self.bom += n as u8;
            }
            return None;
        }
        self.bom = BOM_DONE;
        if matched > 0 {
            // Not a BOM after all: those bytes are the stream's first bytes.
            let mut joined = BytesMut::with_capacity(matched + chunk.len());
            joined.extend_from_slice(&BOM[..matched]);
            joined.extend_from_slice(&chunk);
            chunk = joined.freeze();
        }
        Some(chunk)
    }

    /// The next line, or `None` when more input is needed.
    #[inline]
    pub(crate) fn next_line(&mut self) -> Option<Line<'_>> {
        if self.carry_reported {
            self.carry_reported = false;
            self.carry.clear();
        }
        loop {
            let len = self.chunk.len();
            let mut pos = self.pos;
            if pos >= len {
                if let Some(next) = self.queued.pop_front() {
                    self.chunk = next;
                    self.pos = 0;
                    continue;
                }
                // Let go of a used-up chunk: messages may still hold views of it.
                self.chunk = Bytes::new();
                self.pos = 0;
                if self.eof {
                    // An unfinished line is discarded.
                    self.carry.clear();
                    self.partial = false;
                    self.skip = Skip::No;
                    return Some(Line::End);
                }
                return None;
            }
            if self.skip_lf {
                self.skip_lf = false;
                if self.chunk[pos] == b'\n' {
                    pos += 1;
                    self.pos = pos;
                    continue;
                }
            }
            let found = find_line(&self.chunk[pos..]);
            let Some(i) = found.end else {
                self.carry_rest(pos);
                self.pos = len;
                if self.skip == Skip::No && self.carry.len() > self.max_line_len {
                    // Let go of the buffer: it may be as large as the limit.
                    self.carry = Vec::new();
                    self.skip = Skip::RestOfLine;
                    self.partial = true;
                    return Some(Line::TooLong);
                }
                continue;
            };
            let end = pos + i;
            self.pos = if self.chunk[end] == b'\n' {
                end + 1
            } else if end + 1 < len {
                end + 1 + usize::from(self.chunk[end + 1] == b'\n')
            } else {
                self.skip_lf = true;
                end + 1
            };
            match self.skip {
                Skip::No => {}
                Skip::RestOfLine => {
                    self.partial = false;
                    self.skip = Skip::ToBlankLine;
                    continue;
                }
                Skip::ToBlankLine => {
                    let blank = end == pos && !self.partial;
                    self.partial = false;
                    if !blank {
                        continue;
                    }
                    self.skip = Skip::No;
                    return Some(Line::InChunk {
                        line: &[],
                        src: &self.chunk,
                        ascii: None,
                    });
                }
            }
            if self.carry.is_empty() {
                if end - pos > self.max_line_len {
                    self.skip = Skip::ToBlankLine;
                    return Some(Line::TooLong);
                }
                let line = &self.chunk[pos..end];
                let ascii = if found.non_ascii {
                    None
                } else {
                    // SAFETY: `find_line` scanned `self.chunk[pos..]` up to its first line end,
                    // `end`, and found no byte >= 0x80 before it: these are those bytes, in a
                    // `Bytes`, which never changes.
                    Some(unsafe { Ascii::new_unchecked(line) })
                };
                return Some(Line::InChunk {
                    line,
                    src: &self.chunk,
                    ascii,
                });
            }
            return Some(self.join(pos, end));
        }
    }

    /// The line that began in the carry buffer ends with the chunk's `pos..end`.
    fn join(&mut self, pos: usize, end: usize) -> Line<'_> {
        if self.carry.len() + (end - pos) > self.max_line_len {
            self.carry = Vec::new();
            self.skip = Skip::ToBlankLine;
            return Line::TooLong;
        }
        extend_capped(&mut self.carry, &self.chunk[pos..end], self.max_line_len);
        // A long data line: its value must be owned anyway, so the buffer is handed over as it
        // is, never held twice, unless it is far larger than the line (room left by an earlier,
        // longer line, which the message must not keep). Otherwise the parser copies the value
        // out, and the buffer is kept for the next line: lines joined from small reads then
        // cost one exact allocation each, not a buffer grown anew from nothing.
        if self.carry.len() > REUSE_CARRY_MAX && self.carry.capacity() / 2 <= self.carry.len() {
            if let Some(value) = self.carry.strip_prefix(b"data:") {
                let start = "data:".len() + usize::from(value.first() == Some(&b' '));
                return Line::Data(Bytes::from(mem::take(&mut self.carry)).slice(start..));
            }
        }
        self.carry_reported = true;
        Line::Joined(&self.carry)
    }

    /// Keeps the start of a line that continues in the next chunk.
    #[inline]
    fn carry_rest(&mut self, pos: usize) {
        let rest = &self.chunk[pos..];
        if rest.is_empty() {
            return;
        }
        match self.skip {
            Skip::No => {
                let room = self.max_line_len.saturating_sub(self.carry.len());
                // Copy at most one byte past the limit: enough to know it was exceeded.
                let take = rest.len().min(room.saturating_add(1));
                extend_capped(
                    &mut self.carry,
                    &rest[..take],
                    self.max_line_len.saturating_add(1),
                );
            }
            Skip::RestOfLine | Skip::ToBlankLine => self.partial = true,
        }
    }
}

/// Appends `bytes` to `buf`, growing it by doubling but never past `cap` bytes of capacity
/// (unless it must hold more), so that a buffer near its limit does not double past it.
#[inline]
pub(crate) fn extend_capped(buf: &mut Vec<u8>, bytes: &[u8], cap: usize) {
    let need = buf.len() + bytes.len();
    if need > buf.capacity() {
        let target = need
            .max(buf.capacity().saturating_mul(2))
            .min(cap.max(need));
        buf.reserve_exact(target - buf.len());
    }
    buf.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Every line of `chunks`, as owned bytes (`None` for `TooLong`), up to the end.
    fn split(max: usize, chunks: &[&'static [u8]]) -> Vec<Option<Vec<u8>>> {
        let mut lines = Lines::new(max);
        let mut out = Vec::new();
        let drain = |lines: &mut Lines, out: &mut Vec<Option<Vec<u8>>>| loop {
            match lines.next_line() {
                None | Some(Line::End) => return,
                Some(Line::InChunk { line, .. } | Line::Joined(line)) => {
                    out.push(Some(line.to_vec()));
                }
                // Only the value is handed over: put the usual prefix back.
                Some(Line::Data(value)) => out.push(Some([b"data: ", &value[..]].concat())),
                Some(Line::TooLong) => out.push(None),
            }
        };
        for c in chunks {
            lines.feed(Bytes::from_static(c));
            drain(&mut lines, &mut out);
        }
        lines.finish();
        drain(&mut lines, &mut out);
        out
    }

    #[allow(clippy::unnecessary_wraps)] // an expected line, beside `None` for `TooLong`
    fn l(s: &[u8]) -> Option<Vec<u8>> {
        Some(s.to_vec())
    }

    #[test]
    fn a_cr_at_the_end_of_a_chunk_ends_the_line_and_a_following_lf_is_skipped() {
        let mut lines = Lines::new(100);
        lines.feed(Bytes::from_static(b"a\r"));
        assert!(matches!(
            lines.next_line(),
            Some(Line::InChunk { line: b"a", .. })
        ));
        assert!(lines.skip_lf);
        lines.feed(Bytes::from_static(b"\nb\n"));
        assert!(matches!(
            lines.next_line(),
            Some(Line::InChunk { line: b"b", .. })
        ));
        assert!(!lines.skip_lf);
        assert_eq!(split(100, &[b"a\r", b"\r", b"\n"]), [l(b"a"), l(b"")]);
    }

    #[test]
    fn a_bom_split_across_chunks_is_stripped_and_a_false_one_kept() {
        let mut lines = Lines::new(100);
        lines.feed(Bytes::from_static(b"\xEF"));
        lines.feed(Bytes::from_static(b"\xBB"));
        assert_eq!(lines.bom, 2);
        assert_eq!(split(100, &[b"\xEF", b"\xBB", b"\xBFx\n"]), [l(b"x")]);
        assert_eq!(split(100, &[b"\xEF\xBB", b"x\n"]), [l(b"\xEF\xBBx")]);
        assert_eq!(
            split(100, &[b"x\n\xEF\xBB\xBFy\n"]),
            [l(b"x"), l(b"\xEF\xBB\xBFy")]
        );
    }

    #[test]
    fn lines_across_chunks_are_joined_and_short_reads_appended() {
        assert_eq!(
            split(100, &[b"da", b"ta: x", b"\nid", b": 1\r\n", b"\n"]),
            [l(b"data: x"), l(b"id: 1"), l(b"")]
        );
        let long: &[u8] = b"data: 0123456789012345678901234567890123456789";
        assert_eq!(split(100, &[&long[..10], &long[10..], b"\n"]), [l(long)]);
    }

    #[test]
    fn an_overlong_line_is_reported_once_then_skipped_to_the_blank_line() {
        let got = split(4, &[b"ok\n12345", b"678\nskipped\n", b"\nok\n"]);
        assert_eq!(got, [l(b"ok"), None, l(b""), l(b"ok")]);
        // Within one chunk, and joined.
        assert_eq!(split(4, &[b"12345\nx\n\ny\n"]), [None, l(b""), l(b"y")]);
        assert_eq!(split(4, &[b"12", b"345\nx\n\n"]), [None, l(b"")]);
    }

    #[test]
    fn the_carry_never_holds_more_than_the_limit_and_one_byte() {
        let mut lines = Lines::new(10);
        lines.feed(Bytes::from_static(b"0123456789ABC"));
        assert!(matches!(lines.next_line(), Some(Line::TooLong)));
        for _ in 0..100 {
            lines.feed(Bytes::from_static(b"0123456789"));
            assert!(lines.next_line().is_none());
            assert_eq!(lines.buffered_len(), 0);
        }
        let mut lines = Lines::new(10);
        lines.feed(Bytes::from_static(b"0123456"));
        assert!(lines.next_line().is_none());
        assert_eq!(lines.buffered_len(), 7);
        assert!(lines.carry.capacity() <= 11);
    }

    #[test]
    fn an_unfinished_line_is_dropped_at_the_end() {
        assert_eq!(split(100, &[b"a\nunfinished"]), [l(b"a")]);
    }

    #[test]
    fn capped_growth_stops_at_the_cap() {
        let mut v = Vec::new();
        for _ in 0..100 {
            extend_capped(&mut v, &[0; 7], 500);
        }
        assert_eq!(v.len(), 700);
        assert!(v.capacity() < 1000, "{}", v.capacity());
        let mut v = Vec::new();
        for _ in 0..70 {
            extend_capped(&mut v, &[0; 7], 490);
        }
        assert_eq!(v.capacity(), 490);
    }
}
