//! What the benches share: the deterministic workloads, how they are cut into reads, every
//! parser and encoder under test (ssekit's and the peers'), and interleaved timing.

use std::time::{Duration, Instant};

use bytes::Bytes;

pub mod encoders;
pub mod parsers;

/// A small deterministic generator (xorshift), so every run times the same input.
pub struct Rng(pub u64);

impl Rng {
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value below `n`.
    pub fn below(&mut self, n: u64) -> usize {
        (self.next_u64() % n) as usize
    }
}

/// The tokens the LLM workload is made of: ASCII, accents, CJK, emoji, JSON escapes.
pub const WORDS: &[&str] = &[
    " the",
    " model",
    " streams",
    " tokens",
    ",",
    " and",
    " é",
    " café",
    " —",
    " 你好",
    " 🎉",
    " data",
    " server",
    " sent",
    " events",
    ".",
    "\\n",
    " \\\"quoted\\\"",
    " of",
    " to",
];

/// The LLM workload: 50,000 OpenAI-style chat-completion chunks of about 240 bytes, one
/// `data:` line each, then `data: [DONE]`.
pub fn llm_stream() -> Vec<u8> {
    let mut rng = Rng(0x5eed);
    let mut out = String::new();
    for i in 0..50_000 {
        let w = WORDS[rng.below(WORDS.len() as u64)];
        out.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-9xQz{:06}\",\"object\":\"chat.completion.chunk\",\"created\":1732600000,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{w}\"}},\"finish_reason\":null}}]}}\n\n",
            i % 7
        ));
    }
    out.push_str("data: [DONE]\n\n");
    out.into_bytes()
}

/// `input` in reads of `size` bytes.
pub fn chunk_fixed(input: &Bytes, size: usize) -> Vec<Bytes> {
    (0..input.len())
        .step_by(size)
        .map(|i| input.slice(i..(i + size).min(input.len())))
        .collect()
}

/// `input` in reads of 1 to `max` bytes, at random.
pub fn chunk_random(input: &Bytes, max: usize) -> Vec<Bytes> {
    let mut rng = Rng(0xc4a9);
    let mut out = Vec::new();
    let mut i = 0;
    while i < input.len() {
        let n = 1 + rng.below(max as u64);
        let end = (i + n).min(input.len());
        out.push(input.slice(i..end));
        i = end;
    }
    out
}

/// `input` in reads of one event each: every read ends at a blank line (`\n\n`), as an LLM
/// API's stream arrives when each token is flushed on its own.
pub fn chunk_events(input: &Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut start = 0;
    for end in memchr::memmem::find_iter(input, b"\n\n") {
        out.push(input.slice(start..end + 2));
        start = end + 2;
    }
    if start < input.len() {
        out.push(input.slice(start..));
    }
    out
}

/// Times every function once per round, in turn, for `rounds` rounds: row `r` holds round
/// `r`'s times, in the order of `fns`. Ratios taken within a round are what a shared, noisy
/// machine moves least.
pub fn interleaved(rounds: usize, fns: &mut [&mut dyn FnMut()]) -> Vec<Vec<Duration>> {
    (0..rounds)
        .map(|_| {
            fns.iter_mut()
                .map(|f| {
                    let t = Instant::now();
                    f();
                    t.elapsed()
                })
                .collect()
        })
        .collect()
}

/// The median of `xs` (which it sorts).
pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}
