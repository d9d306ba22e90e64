//! Delay mode for Veil: RSW time-lock puzzles over a fixed RSA modulus, Wesolowski proofs,
//! delay and dual-mode encryption.
//!
//! # Overview
//!
//! A wallet that encrypts in *delay mode* locks its transaction under a time-lock puzzle:
//! anyone can open it, but only after `T` sequential modular squarings, which at the
//! assumed adversary speed take longer than the window between submission and the order
//! certificate. The committee therefore commits to an order before anyone — sequencer,
//! committee or observer — can read the contents, with no trust in the committee at all.
//! In *dual mode* the same data key is also wrapped under the committee's threshold key,
//! so the committee path stays the fast path and the puzzle is the fallback if the
//! committee never releases shares (design brief §2, property 5).
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`group`] | `Z_N^* / {±1}` modulo RSA-2048 (or any modulus), canonical encodings |
//! | [`prime`] | hash-to-prime for Wesolowski challenges |
//! | [`wesolowski`] | Wesolowski proofs of `y = x^(2^T)`, checkpointing prover |
//! | [`params`] | delay parameters `(N, g, T, h)` with their proof, choice of `T` |
//! | [`delay`] | delay-mode ciphertexts, puzzles, reveals, proven solutions |
//! | [`dual`] | dual-mode ciphertexts (threshold KEM + puzzle, one data key) |
//! | [`dem`] | HKDF + AES-256-GCM with key commitment |
//!
//! # Client builds
//!
//! Everything a wallet needs — loading and verifying parameters, encrypting, proving and
//! checking reveals — is pure Rust (veil-squaring's arithmetic, `num-bigint` and arkworks
//! for the delay proof), so the crate builds and passes its tests with
//! `--no-default-features`. The `gmp` feature only adds server-side conveniences.
//!
//! # Encodings
//!
//! Every encoded object starts with a kind byte and a version byte: `0x01` parameters,
//! `0x02` delay ciphertext, `0x03` puzzle solution, `0x04` reveal, `0x05` dual ciphertext.
//! Parameters and both ciphertexts are at version 2 (they carry the delay proof's verifying
//! key and the delay proof: see [`delay`] and [`veil_circuits::delay_snark`]); solutions and
//! reveals at version 1. Older versions are refused with a clear `Unsupported` error. Group elements are always the canonical representative of their class
//! (`min(x, N − x)`), `len(N)` bytes, and decoders refuse anything else.
#![deny(missing_docs)]

pub mod delay;
pub mod dem;
pub mod dual;
pub mod group;
pub mod params;
pub mod prime;
pub mod wesolowski;

#[cfg(feature = "gmp")]
pub mod gmp;

pub use delay::{
    DelayCiphertext, DelayError, Puzzle, PuzzleKey, PuzzleReveal, PuzzleSecret, PuzzleSolution,
};
pub use dual::{DualCiphertext, DualError};
pub use group::RsaGroup;
pub use params::{DelayConfig, DelayParams, ParamsError};
pub use wesolowski::{ProverTuning, WesolowskiProof};
