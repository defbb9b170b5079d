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

/// The resident set size of process `pid` in KiB (`VmRSS` in `/proc/<pid>/status`), if it can
/// be read (Linux).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}
