//! What ssekit's tests, benches and fuzz targets share.
//!
//! - [`naive`]: a reference parser written straight from the WHATWG standard, with no
//!   streaming, no zero-copy and no limits, to hold the real parser to;
//! - [`counting`]: a global allocator that counts allocations and live bytes, for the
//!   allocation and peak-memory figures of the benches and the memory-bound tests;
//! - [`script`] (feature `server`): a scripted HTTP/1.1 server on 127.0.0.1 that answers
//!   each request as a test says, byte by byte and pause by pause, and records what it was
//!   sent.

pub mod counting;
pub mod naive;
#[cfg(feature = "server")]
pub mod script;
