//! Helpers shared by the end-to-end tests: running the examples as child processes
//! (`examples`) and the Redis fan-out scenarios (`fanout`).

#![allow(dead_code)] // each test binary uses its own part

pub mod examples;
pub mod fanout;
