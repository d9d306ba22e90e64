//! Every zero-knowledge relation Veil proves and verifies.
//!
//! Veil keeps all of its proofs in this one crate, so that a reviewer can audit every
//! relation the system relies on in one place:
//!
//! - [`dleq`]: Chaum–Pedersen proofs of discrete-log equality on BLS12-381 G1 — the
//!   ciphertext-validity proof of the threshold KEM and the batched proof that a member's
//!   decryption shares are correct.
//! - [`pop`]: proofs of possession of BLS signing keys (the rogue-key defence of order
//!   certificates).
//! - [`pvss`]: the proofs of the key ceremony's publicly verifiable dealings.
//! - [`rsa_pok`]: the proof of knowledge of a time-lock puzzle's exponent in the RSA group.
#![deny(missing_docs)]

pub mod delay_snark;
pub mod dleq;
pub mod pop;
pub mod poseidon;
pub mod pvss;
pub mod rsa_eq;
pub mod rsa_pok;
