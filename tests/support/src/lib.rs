//! What ssekit's tests, benches and fuzz targets share.
//!
//! - [`naive`]: a reference parser written straight from the WHATWG standard, with no
//!   streaming, no zero-copy and no limits, to hold the real parser to;
//! - [`counting`]: a global allocator that counts allocations and live bytes, for the
//!   allocation and peak-memory figures of the benches and the memory-bound tests.

pub mod counting;
pub mod naive;
