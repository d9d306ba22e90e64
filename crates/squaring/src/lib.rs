//! Fixed-width Montgomery arithmetic modulo RSA moduli and Veil's sequential-squaring solver.
//!
//! Delay mode (RSW time-lock puzzles, DESIGN §3) rests on one operation: `x^(2^T) mod N`,
//! computed by `T` squarings that cannot be parallelised. This crate provides that hot loop
//! — for one puzzle (latency) and for many puzzles at once (throughput) — plus the modular
//! arithmetic around it (products, fixed-window and fixed-base exponentiation, canonical
//! encodings). It is pure Rust with no GMP dependency (GMP is only the test oracle and the
//! benchmark peer), so the wallet client can use it; every x86-specific path sits behind
//! `#[cfg(target_arch = "x86_64")]` and runtime feature detection, with a portable path that
//! compiles everywhere.
//!
//! # Representation
//!
//! A [`Modulus`] is an odd `N` with `3 ≤ N < 2^4096`, stored as `L = ceil(bits/64)`
//! little-endian 64-bit limbs together with `n0 = −N^{-1} mod 2^64`, `R mod N` and
//! `R^2 mod N` for `R = 2^(64L)`. An [`Element`] is `x·R mod N`, **always fully reduced**
//! (`< N`): equality is limb equality, [`Modulus::to_be_bytes_of`] is canonical
//! (`byte_len()` big-endian bytes), and every backend returns bit-identical values. Decoding
//! with [`Modulus::element`] rejects values `≥ N` ([`ArithError::OutOfRange`]);
//! [`Modulus::element_reduced`] reduces any byte string (for hashing into the group).
//!
//! # Reduction
//!
//! Montgomery's method (P. L. Montgomery, "Modular multiplication without trial division",
//! Math. Comp. 44, 1985) replaces division by `N` with division by `R`. Portable products
//! use the coarsely integrated operand scanning (CIOS) form (on x86-64 with BMI2/ADX: full
//! product, then reduction, both with the `MULX`/`ADX` row kernel); squares compute each
//! off-diagonal product once, double the sum and add the diagonal, then reduce word by word
//! (separated operand scanning) — the variants and their costs are those of Koç, Acar and Kaliski,
//! "Analyzing and comparing Montgomery multiplication algorithms", IEEE Micro 16(3), 1996.
//! A squaring costs `L(L+1)/2` word products plus `L²` for the reduction, against `2L²` for a
//! general product. Results below `2N` are brought below `N` by one masked conditional
//! subtraction. The hot loops are monomorphised for 1024-, 2048- and 3072-bit moduli (16,
//! 32, 48 limbs: fixed-size arrays let the compiler unroll and keep everything on the stack);
//! other sizes take the same code with a run-time length.
//!
//! # Backends and dispatch
//!
//! | [`Backend`] | technique | use |
//! | --- | --- | --- |
//! | `Portable` | `u128` products, any target | fallback, wasm |
//! | `MulxAdx` | inline asm: `MULX` + the two carry chains of `ADCX`/`ADOX` (BMI2 + ADX) | one chain without IFMA |
//! | `Avx2` | 4 chains per 256-bit vector (8 with two interleaved vectors), 28-bit limbs | many chains |
//! | `Avx512` | 8 chains per 512-bit vector (16 interleaved), 28-bit limbs | many chains without IFMA |
//! | `Avx512Ifma` | `vpmadd52luq`/`vpmadd52huq`, 52-bit limbs: 8 (16) chains across lanes, or one chain's limbs across lanes | one chain and many chains |
//!
//! The 28-bit SIMD backends put one independent chain in each 64-bit lane: limb `j` of 8
//! (or 4) chains forms one vector, and the multiplier is `vpmuludq` (32×32→64 bits). With
//! 28-bit limbs a whole column of the product and of the reduction (at most `2L'` terms
//! below `2^56`) fits in a 64-bit lane without intermediate carries, as in Gueron and
//! Krasnov's AVX2 modular exponentiation (S. Gueron, V. Krasnov, "Software Implementation of
//! Modular Exponentiation, Using Advanced Vector Instructions Architectures", WAIFI 2012).
//! The reduction is column-wise (product scanning) with lazy reduction: values stay below
//! `2N < R'/2` inside the loop, and are canonicalised only when read. Two columns are
//! computed per pass so that each operand load serves two products. The IFMA backend uses
//! the same lane layout with 52-bit limbs and fused 52×52-bit multiply-adds (40 limbs for
//! 2048 bits instead of 74); for a single chain it instead spreads that chain's 40 limbs over
//! five vectors and runs a word-serial Montgomery loop whose digit is computed on the
//! scalar side (S. Gueron, N. Drucker, "Fast modular squaring with AVX512IFMA", ITNG 2019).
//! Details in the `x86::simd`, `x86::ifma` and `x86::ifma_single` modules.
//!
//! [`Backend::available`] detects what the CPU supports at run time
//! (`is_x86_feature_detected!`); [`Backend::best_single`] and [`Backend::best_batch`] pick
//! the fastest. Asking for a backend the CPU lacks falls back to the best available one for
//! the job — `best_single` for one chain, else the next narrower SIMD or the best scalar
//! backend — never to an illegal instruction. Moduli above 3554 bits exceed the 28-bit
//! lane radix and run on the scalar backend when `Avx2` or `Avx512` is requested (the IFMA
//! kernels cover every size up to 4096 bits). `Avx2`/`Avx512` on a single chain run the
//! batch kernel with one live lane: correct but slow, which is why `best_single` never
//! picks them.
//!
//! # Sequential squaring
//!
//! [`square_repeated`], [`square_repeated_checkpointed`] (returns `x^(2^(k·every))` for the
//! Wesolowski prover) and [`square_repeated_batch`] run in chunks of [`PROGRESS_EVERY`]
//! squarings and call a progress callback between chunks; returning
//! `ControlFlow::Break(())` cancels with [`Cancelled`].
//!
//! # Constant time
//!
//! - [`Modulus::pow_ct`] and [`FixedBase::pow_ct`] are for **secret** exponents: fixed
//!   4-bit windows over every bit of the exponent encoding, one multiplication per window
//!   whatever the digit (digit 0 multiplies by 1), and table lookups that read every entry
//!   and select with masks (`subtle`). Only the exponent's byte length is revealed.
//! - [`Modulus::pow_vartime`] (sliding windows) is for **public** exponents only.
//! - Products, squares, additions, the range check in [`Modulus::element`] and every kernel
//!   have no branches or memory accesses that depend on operand values (final subtractions
//!   are masked; loop bounds depend only on the modulus size).
//! - Residual: [`Element`]s and the solver's chain state zeroize on drop, but kernel
//!   scratch on the stack is not wiped;
//!   the modulus itself is public and treated as such (its construction is variable time).
//!
//! # Measured (this repository's 2-core AVX-512 machine, RSA-2048, same run as GMP)
//!
//! `cargo run --release -p veil-squaring --example ratio` prints, per squaring, GMP's
//! `pow_mod` next to each backend with paired timings (GMP then the candidate, each round,
//! runs of equal length), and the CPU features it detected. Paired medians from two runs on
//! the shared machine (absolute times move with the load of other jobs — GMP between 1.1
//! and 2.1 µs — the ratios much less):
//!
//! | configuration | speed-up over GMP `pow_mod` |
//! | --- | --- |
//! | one chain, `Avx512Ifma` (≈ 0.42–0.45 µs) | 2.5–2.6× |
//! | one chain, `MulxAdx` (≈ 0.72–0.74 µs) | 1.5–1.55× |
//! | one chain, `Portable` | 0.9× |
//! | batch of 8 / 16, `Avx512Ifma` | 4.7–4.8× / 6.1–6.2× |
//! | batch of 8 / 16, `Avx512` | 2.0–2.1× / 2.4–2.5× |
//! | batch of 8 / 16, `Avx2` | 1.9× / 1.9× |
//!
//! The criterion benchmarks are `timelock/square/*` (and `timelock/modexp/*` for the
//! exponentiations) in `benches/benches/timelock.rs`.
//!
//! # Example
//!
//! ```
//! use std::ops::ControlFlow;
//! use veil_squaring::{square_repeated, square_repeated_batch, Backend, Modulus};
//!
//! // N = 1000003 · 999983 (toy size; real use is RSA-2048).
//! let m = Modulus::from_be_bytes(&999_985_999_949u64.to_be_bytes()).unwrap();
//! let x = m.element(&[5]).unwrap(); // at most byte_len() bytes, value below N
//! let mut go = |_done: u64| ControlFlow::Continue(());
//!
//! // 5^(2^10) mod N by ten squarings, on the fastest single-chain backend...
//! let y = square_repeated(&m, &x, 10, Backend::best_single(), &mut go).unwrap();
//! // ...equals plain exponentiation by 1024.
//! assert_eq!(y, m.pow_vartime(&x, &1024u16.to_be_bytes()));
//! // Every backend agrees, also in batches.
//! for b in Backend::available() {
//!     let ys = square_repeated_batch(&m, &[x.clone(), m.one()], 10, b, &mut go).unwrap();
//!     assert_eq!(ys, vec![y.clone(), m.one()]);
//! }
//! // Canonical encoding: byte_len() big-endian bytes of the reduced value.
//! assert_eq!(m.to_be_bytes_of(&m.one()).len(), m.byte_len());
//! ```
#![deny(missing_docs)]

mod fixed_base;
mod limbs;
mod modulus;
mod solver;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use fixed_base::FixedBase;
pub use modulus::{ArithError, Element, Modulus};
pub use solver::{
    Backend, Cancelled, PROGRESS_EVERY, square_repeated, square_repeated_batch,
    square_repeated_checkpointed,
};
