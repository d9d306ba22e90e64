//! Veil's benchmarks: criterion benchmarks of the primitives, and the end-to-end load generator.
//!
//! Run `cargo bench -p veil-benches` (or `--bench threshold`, `--bench timelock`, ...).
//! Benchmarks are named `area/operation/param=value` and report figures; they never pass or
//! fail on time. Where a peer implementation exists (GMP for modular squaring) it is measured
//! in the same run and the ratio is what the README quotes.
//!
//! The load generator is the `veil-load` binary over [`load`]:
//! `cargo run --release -p veil-benches --bin veil-load -- --rate 1000 --duration 30`.
#![deny(missing_docs)]

pub mod load;
