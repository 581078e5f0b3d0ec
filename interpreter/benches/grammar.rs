//! Benchmark placeholder, replaced by the real criterion benchmark.
fn main() {}
