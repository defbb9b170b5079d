//! A global allocator that counts allocations and live bytes, and keeps the peak of live bytes:
//! for the allocations-per-item figures of the benches and the memory-bound tests.
//!
//! Install it in a test or bench binary with
//! `#[global_allocator] static GLOBAL: Counting = Counting;`.
//!
//! A `realloc` is counted as the change of size it asks for (old size out, new size in), as an
//! allocator that grows the block in place does; one that moves the block holds both for the
//! time of the copy, which no allocator-level count can see.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

/// The counting allocator: forwards to [`System`].
pub struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ON: AtomicBool = AtomicBool::new(true);

/// Turns counting on or off (it is on from the start). Timed runs turn it off: its three
/// atomic updates per allocation would otherwise slow every crate by how much it allocates.
/// Live bytes are not tracked while it is off, so measure them with it on throughout.
pub fn set_counting(on: bool) {
    ON.store(on, Relaxed);
}

/// Bytes allocated and not yet freed.
pub fn live_bytes() -> usize {
    LIVE.load(Relaxed)
}

/// Allocations (and reallocations) so far.
pub fn allocations() -> usize {
    ALLOCS.load(Relaxed)
}

/// The most bytes live at once since the last [`reset_peak`].
pub fn peak_bytes() -> usize {
    PEAK.load(Relaxed)
}

/// Starts measuring the peak again from the bytes live now.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Relaxed), Relaxed);
}

fn grow(n: usize) {
    let live = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(live, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if ON.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
            grow(l.size());
        }
        // SAFETY: forwarded unchanged to the system allocator, under the caller's contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if ON.load(Relaxed) {
            // Saturating: a block allocated while counting was off may be freed with it on.
            let _ = LIVE.fetch_update(Relaxed, Relaxed, |live| Some(live.saturating_sub(l.size())));
        }
        // SAFETY: as above.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if ON.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
            if n >= l.size() {
                grow(n - l.size());
            } else {
                let _ = LIVE.fetch_update(Relaxed, Relaxed, |live| {
                    Some(live.saturating_sub(l.size() - n))
                });
            }
        }
        // SAFETY: as above.
        unsafe { System.realloc(p, l, n) }
    }
}
