//! Wesolowski proofs that `y = x^(2^T)` in `Z_N^* / {±1}`.
//!
//! # Protocol
//!
//! Wesolowski, "Efficient verifiable delay functions" (EUROCRYPT 2019), made
//! non-interactive with Fiat–Shamir:
//!
//! 1. the challenge is the prime `ℓ = HashToPrime(WESOLOWSKI_PRIME, N ‖ x ‖ y ‖ T)` (see
//!    [`crate::prime`]; 256 bits for 128-bit security);
//! 2. the proof is `π = x^⌊2^T / ℓ⌋`;
//! 3. the verifier computes `r = 2^T mod ℓ` and accepts iff `π^ℓ · x^r = y` (up to sign).
//!
//! Verification costs one simultaneous exponentiation with two 256-bit exponents plus the
//! hash-to-prime, independent of `T`.
//!
//! # Security
//!
//! Soundness rests on the *adaptive root assumption* in the group (Wesolowski 2019, §6;
//! Boneh–Bünz–Fisch, "A survey of two verifiable delay functions", 2018): nobody can find
//! `u ≠ 1` and, for a random prime `ℓ` given afterwards, an `ℓ`-th root of `u`. In `Z_N^*`
//! the assumption fails for `u = −1` (which is its own `ℓ`-th root), so we work in
//! `Z_N^* / {±1}` ([`crate::group`]), where it is believed to hold when `N`'s factorisation
//! is unknown. All of `N, x, y, T` enter the hash, so a proof cannot be moved to another
//! statement.
//!
//! # Proving with checkpoints (Wesolowski 2019, §4.1)
//!
//! Writing `⌊2^T/ℓ⌋ = Σ_i b_i·2^(κi)` in base `2^κ`, the digit is
//! `b_i = ⌊2^κ · (2^(T−κ(i+1)) mod ℓ) / ℓ⌋`, so digits come from cheap 256-bit arithmetic.
//! With the evaluation storing checkpoints `C_j = x^(2^(κγj))`, split `i = γj + k`:
//!
//! `π = Π_{k<γ} ( Π_j C_j^(b_(γj+k)) )^(2^(κk))`.
//!
//! For each `k`, the inner product is formed by bucketing the `C_j` by digit
//! (`y_b = Π_{b_(γj+k)=b} C_j`) and combining `Π_b y_b^b` with two running products
//! (`2^(κ+1)` multiplications); the outer product is a Horner evaluation with `κ(γ−1)`
//! squarings. Total: about `T/κ + γ·2^(κ+1)` multiplications and `T/(κγ)` stored elements,
//! against `T` squarings for the evaluation. [`ProverTuning::for_squarings`] picks `κ` and
//! `γ` to minimise the cost within a memory budget; for `T = 2^20` that is about 10 % of
//! the evaluation's operation count, shrinking as `T` grows. The wall-clock overhead is that
//! count times the cost of one general product ([`veil_squaring::Modulus::mul`]) relative
//! to one squaring of the solver's fastest backend. The digits themselves are computed on
//! fixed-width 256-bit arithmetic (one Montgomery product and `κ` shift-subtract steps per
//! digit), a few percent of the product count.
//!
//! ```
//! use std::ops::ControlFlow;
//! use veil_squaring::Backend;
//! use veil_timelock::{group::RsaGroup, wesolowski};
//! let group = RsaGroup::rsa2048();
//! let x = group.hash_to_group(b"doc", b"x");
//! let (y, proof) = wesolowski::prove(
//!     &group, &x, 1000, wesolowski::ProverTuning::for_squarings(1000),
//!     Backend::Portable, &mut |_| ControlFlow::Continue(()),
//! ).unwrap();
//! assert!(wesolowski::verify(&group, &x, &y, 1000, &proof).is_ok());
//! assert!(wesolowski::verify(&group, &x, &y, 1001, &proof).is_err());
//! ```

use std::ops::ControlFlow;

use num_bigint::BigUint;
use num_traits::{One, Zero};
use thiserror::Error;
use veil_squaring::{Backend, Cancelled, Element};

use crate::group::{GroupError, RsaGroup};
use crate::prime::{Mont256, U256, hash_to_prime};

/// A Wesolowski proof `π` (an element of the group).
#[derive(Clone, Debug)]
pub struct WesolowskiProof {
    pi: Element,
}

/// Why a Wesolowski proof was refused. Deliberately uninformative.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WesolowskiError {
    /// The proof does not verify.
    #[error("invalid wesolowski proof")]
    Invalid,
    /// The proof's encoding is not a canonical group element.
    #[error("malformed wesolowski proof: {0}")]
    Malformed(#[from] GroupError),
}

impl WesolowskiProof {
    /// The proof element `π`.
    pub fn pi(&self) -> &Element {
        &self.pi
    }

    /// Canonical encoding: `π` as a canonical group element.
    pub fn to_bytes(&self, group: &RsaGroup) -> Vec<u8> {
        group.encode(&self.pi)
    }

    /// Decodes a proof: a canonical group element other than `0`. (`π = 1` is the honest
    /// proof whenever `2^T < ℓ`, i.e. `T < 256`.)
    pub fn from_bytes(group: &RsaGroup, bytes: &[u8]) -> Result<Self, WesolowskiError> {
        let one = group.modulus().one();
        if bytes.len() == group.element_len() && bytes == group.encode(&one).as_slice() {
            return Ok(Self { pi: one });
        }
        Ok(Self {
            pi: group.decode(bytes)?,
        })
    }
}

/// The time/memory knob of the checkpointing prover (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProverTuning {
    /// Digit width `κ` in bits (1..=20).
    pub kappa: u32,
    /// Number of digit classes `γ` (≥ 1); checkpoints are stored every `κγ` squarings.
    pub gamma: u64,
    /// Threads that bucket checkpoints in parallel once the evaluation is done (≥ 1).
    pub threads: usize,
}

/// Default memory budget of the prover: this many stored group elements (16 MiB at 2048
/// bits).
pub const DEFAULT_CHECKPOINT_BUDGET: u64 = 1 << 16;

impl ProverTuning {
    /// The cheapest tuning for `t` squarings within [`DEFAULT_CHECKPOINT_BUDGET`]
    /// checkpoints, using up to four threads (as many as the machine has).
    pub fn for_squarings(t: u64) -> Self {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(4);
        Self::with_budget(t, DEFAULT_CHECKPOINT_BUDGET, threads)
    }

    /// The cheapest tuning for `t` squarings storing at most about `budget` checkpoints and
    /// bucketing on `threads` threads. Cost model, in group products: `T/(κp)` bucketing
    /// (parallel), `γ·2^(κ+1)` bucket combination, `γ(p−1)·2^κ` merging, `κγ` squarings.
    pub fn with_budget(t: u64, budget: u64, threads: usize) -> Self {
        let budget = budget.max(1);
        let p = threads.max(1) as f64;
        let mut best = (
            f64::INFINITY,
            Self {
                kappa: 1,
                gamma: 1,
                threads: threads.max(1),
            },
        );
        for kappa in 1..=20u32 {
            let gamma = t.div_ceil(kappa as u64 * budget).max(1);
            let buckets = (1u64 << kappa) as f64;
            let cost = t as f64 / (kappa as f64 * p)
                + gamma as f64 * 2.0 * buckets
                + gamma as f64 * (p - 1.0) * buckets
                + (kappa as u64 * gamma) as f64;
            if cost < best.0 {
                best = (
                    cost,
                    Self {
                        kappa,
                        gamma,
                        threads: threads.max(1),
                    },
                );
            }
        }
        best.1
    }

    /// The checkpoint spacing `κγ`.
    pub fn checkpoint_every(&self) -> u64 {
        self.kappa as u64 * self.gamma
    }
}

/// The challenge prime `ℓ` for the statement `x^(2^t) = y`.
pub fn challenge_prime(group: &RsaGroup, x: &Element, y: &Element, t: u64) -> BigUint {
    let mut input = Vec::with_capacity(3 * group.element_len() + 16);
    input.extend_from_slice(&(group.element_len() as u64).to_be_bytes());
    input.extend_from_slice(group.modulus_bytes());
    input.extend_from_slice(&group.encode(x));
    input.extend_from_slice(&group.encode(y));
    input.extend_from_slice(&t.to_be_bytes());
    hash_to_prime(veil_domain::timelock::WESOLOWSKI_PRIME, &input)
}

/// `r = 2^t mod ℓ`, the exponent of `x` in the verification equation `π^ℓ · x^r = y`.
pub fn challenge_residue(ell: &BigUint, t: u64) -> BigUint {
    BigUint::from(2u32).modpow(&BigUint::from(t), ell)
}

/// Evaluates `y = x^(2^t)` with `backend` and proves it with the checkpointing prover.
/// `progress` sees the number of squarings done and may cancel.
pub fn prove(
    group: &RsaGroup,
    x: &Element,
    t: u64,
    tuning: ProverTuning,
    backend: Backend,
    progress: &mut dyn FnMut(u64) -> ControlFlow<()>,
) -> Result<(Element, WesolowskiProof), Cancelled> {
    let every = tuning.checkpoint_every().max(1);
    // Evaluate in segments of whole checkpoint intervals (about 2^20 squarings each) and
    // report progress between them as well as within, so that progress is seen regularly
    // whatever the checkpoint spacing.
    let segment = every * (SEGMENT_SQUARINGS.div_ceil(every)).max(1);
    let mut checkpoints = Vec::with_capacity((t / every + 1) as usize);
    let mut current = x.clone();
    let mut done = 0u64;
    while done < t {
        let len = segment.min(t - done);
        let offset = done;
        let (y, mut cps) = veil_squaring::square_repeated_checkpointed(
            group.modulus(),
            &current,
            len,
            every,
            backend,
            &mut |d| progress(offset + d),
        )?;
        // Each segment starts at the previous one's end, a checkpoint already stored.
        if done > 0 && !cps.is_empty() {
            cps.remove(0);
        }
        checkpoints.append(&mut cps);
        current = y;
        done += len;
        if progress(done).is_break() {
            return Err(Cancelled);
        }
    }
    if t == 0 {
        checkpoints.push(x.clone());
    }
    let proof = prove_from_checkpoints(group, x, &current, t, tuning, &checkpoints);
    Ok((current, proof))
}

/// Squarings per evaluation segment of the prover (rounded up to whole checkpoint
/// intervals); progress is reported at least this often.
#[cfg(not(test))]
const SEGMENT_SQUARINGS: u64 = 1 << 20;
/// Small segments in unit tests, so that segment boundaries are exercised.
#[cfg(test)]
const SEGMENT_SQUARINGS: u64 = 1000;

/// The proof for `y = x^(2^t)` from checkpoints `x^(2^(j·κγ))`, `j = 0..=t/(κγ)` (as returned
/// by `square_repeated_checkpointed` with `every = tuning.checkpoint_every()`).
///
/// # Panics
///
/// If fewer checkpoints are given than `t/(κγ) + 1` (a caller bug, not an input error).
pub fn prove_from_checkpoints(
    group: &RsaGroup,
    x: &Element,
    y: &Element,
    t: u64,
    tuning: ProverTuning,
    checkpoints: &[Element],
) -> WesolowskiProof {
    let ell = challenge_prime(group, x, y, t);
    WesolowskiProof {
        pi: quotient_power(group, &ell, t, tuning, checkpoints),
    }
}

/// One digit class `k` of the prover: what a bucketing worker needs.
struct Class<'a> {
    m: &'a veil_squaring::Modulus,
    mont: &'a Mont256,
    step: &'a U256,
    ell: &'a BigUint,
    t: u64,
    kappa: u32,
    gamma: u64,
    k: u64,
    checkpoints: &'a [Element],
}

impl Class<'_> {
    /// Buckets `y_b = Π C_j` over `j ∈ [lo, hi]` with digit `b_(γj+k) = b`.
    fn buckets(&self, lo: u64, hi: u64) -> Vec<Option<Element>> {
        let (m, kappa) = (self.m, self.kappa);
        let i_hi = self.gamma * hi + self.k;
        // r = 2^(t − κ(i+1)) mod ℓ for i = i_hi.
        let e = BigUint::from(self.t - kappa as u64 * (i_hi + 1));
        let mut r = u256_of(&BigUint::from(2u32).modpow(&e, self.ell));
        let mut buckets: Vec<Option<Element>> = vec![None; 1 << kappa];
        for j in (lo..=hi).rev() {
            // b_i = ⌊2^κ · r / ℓ⌋ < 2^κ.
            let digit = self.mont.shift_divide(&r, kappa).0 as usize;
            if digit != 0 {
                let c = &self.checkpoints[j as usize];
                buckets[digit] = Some(match buckets[digit].take() {
                    Some(b) => m.mul(&b, c),
                    None => c.clone(),
                });
            }
            r = self.mont.mul(&r, self.step);
        }
        buckets
    }
}

/// `x^⌊2^t/ℓ⌋` from the checkpoints `C_j = x^(2^(κγj))` (see the module documentation).
fn quotient_power(
    group: &RsaGroup,
    ell: &BigUint,
    t: u64,
    tuning: ProverTuning,
    checkpoints: &[Element],
) -> Element {
    let m = group.modulus();
    let kappa = tuning.kappa.clamp(1, 20);
    let gamma = tuning.gamma.max(1);
    let kappa64 = kappa as u64;
    // Digits b_i for i in [0, t/κ); higher digits are 0 because 2^(t−κi) < 2^κ < ℓ.
    let digits = t / kappa64;
    if digits == 0 {
        return m.one();
    }
    assert!(
        checkpoints.len() as u64 > (digits - 1) / gamma,
        "not enough checkpoints for the prover tuning"
    );
    let two = BigUint::from(2u32);
    // Digits are computed on fixed-width 256-bit arithmetic: ℓ has exactly 256 bits.
    let ell_u = u256_of(ell);
    let mont = Mont256::new(ell_u);
    // Stepping from digit i + γ down to digit i multiplies the remainder by 2^(κγ) mod ℓ
    // (kept in Montgomery form, so one Montgomery product yields the plain remainder).
    let step = mont.to_mont(&u256_of(&two.modpow(&BigUint::from(kappa64 * gamma), ell)));
    let mut acc: Option<Element> = None;
    for k in (0..gamma.min(digits)).rev() {
        // Largest j with γj + k < digits.
        let top_j = (digits - 1 - k) / gamma;
        let class = Class {
            m,
            mont: &mont,
            step: &step,
            ell,
            t,
            kappa,
            gamma,
            k,
            checkpoints,
        };
        // Split [0, top_j] into contiguous ranges, one per thread, and merge the buckets.
        let threads = (tuning.threads.max(1) as u64).min(top_j + 1);
        let chunk = (top_j + 1).div_ceil(threads);
        let ranges: Vec<(u64, u64)> = (0..threads)
            .map(|p| (p * chunk, ((p + 1) * chunk).min(top_j + 1) - 1))
            .filter(|(lo, hi)| lo <= hi)
            .collect();
        let mut parts: Vec<Vec<Option<Element>>> = if ranges.len() == 1 {
            vec![class.buckets(ranges[0].0, ranges[0].1)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = ranges
                    .iter()
                    .map(|&(lo, hi)| {
                        let class = &class;
                        scope.spawn(move || class.buckets(lo, hi))
                    })
                    .collect();
                handles
                    .into_iter()
                    // A panicking worker is a bug in this module; propagate it.
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        let mut buckets = parts.swap_remove(0);
        for part in parts {
            for (b, extra) in buckets.iter_mut().zip(part) {
                if let Some(e) = extra {
                    *b = Some(match b.take() {
                        Some(v) => m.mul(&v, &e),
                        None => e,
                    });
                }
            }
        }
        // Π_{b≥1} S_b with S_b = Π_{b'≥b} y_b' equals Π_b y_b^b.
        let mut running: Option<Element> = None;
        let mut x_k: Option<Element> = None;
        for bucket in buckets[1..].iter().rev() {
            if let Some(y_b) = bucket {
                running = Some(match running {
                    Some(s) => m.mul(&s, y_b),
                    None => y_b.clone(),
                });
            }
            if let Some(s) = &running {
                x_k = Some(match x_k {
                    Some(p) => m.mul(&p, s),
                    None => s.clone(),
                });
            }
        }
        acc = Some(match (acc, x_k) {
            (Some(a), x_k) => {
                let mut a = a;
                for _ in 0..kappa {
                    a = m.square(&a);
                }
                match x_k {
                    Some(x) => m.mul(&a, &x),
                    None => a,
                }
            }
            (None, x_k) => x_k.unwrap_or_else(|| m.one()),
        });
    }
    acc.unwrap_or_else(|| m.one())
}

/// Verifies `π` for `y = x^(2^t)`. Returns an opaque error.
pub fn verify(
    group: &RsaGroup,
    x: &Element,
    y: &Element,
    t: u64,
    proof: &WesolowskiProof,
) -> Result<(), WesolowskiError> {
    if t == 0 || group.is_one(x) {
        return Err(WesolowskiError::Invalid);
    }
    let ell = challenge_prime(group, x, y, t);
    let r = challenge_residue(&ell, t);
    let lhs = group.multi_pow_vartime(&[(&proof.pi, &ell.to_bytes_be()), (x, &be_or_zero(&r))]);
    if group.eq(&lhs, y) {
        Ok(())
    } else {
        Err(WesolowskiError::Invalid)
    }
}

/// A value below 2^256 as four limbs (ℓ and remainders modulo ℓ).
fn u256_of(v: &BigUint) -> U256 {
    let bytes = v.to_bytes_be();
    let mut be = [0u8; 32];
    // v < ℓ < 2^256 (or v = ℓ itself), so it has at most 32 bytes.
    be[32 - bytes.len()..].copy_from_slice(&bytes);
    U256::from_be(&be)
}

fn be_or_zero(v: &BigUint) -> Vec<u8> {
    if v.is_zero() {
        vec![0]
    } else {
        v.to_bytes_be()
    }
}

/// The proof computed the slow, obvious way: bit-by-bit long division of `2^t` by `ℓ`
/// (`t` squarings). Used to cross-check the checkpointing prover.
pub fn prove_naive(group: &RsaGroup, x: &Element, y: &Element, t: u64) -> WesolowskiProof {
    let m = group.modulus();
    let ell = challenge_prime(group, x, y, t);
    let mut pi = m.one();
    let mut r = BigUint::one();
    for _ in 0..t {
        let two_r: BigUint = &r << 1u32;
        pi = m.square(&pi);
        if two_r >= ell {
            pi = m.mul(&pi, x);
            r = two_r - &ell;
        } else {
            r = two_r;
        }
    }
    WesolowskiProof { pi }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::RSA2048_MODULUS;

    fn group() -> RsaGroup {
        RsaGroup::from_be_bytes(&RSA2048_MODULUS).unwrap()
    }

    fn go() -> impl FnMut(u64) -> ControlFlow<()> {
        |_| ControlFlow::Continue(())
    }

    fn enc(group: &RsaGroup, p: &WesolowskiProof) -> Vec<u8> {
        group.encode(&p.pi)
    }

    #[test]
    fn checkpointing_prover_matches_long_division() {
        let group = group();
        let x = group.hash_to_group(b"test", b"x");
        for t in [1u64, 2, 7, 64, 255, 1000, 4097] {
            let (y, cp) = veil_squaring::square_repeated_checkpointed(
                group.modulus(),
                &x,
                t,
                1,
                Backend::Portable,
                &mut go(),
            )
            .unwrap();
            let naive = prove_naive(&group, &x, &y, t);
            for (kappa, gamma, threads) in [
                (1u32, 1u64, 1usize),
                (2, 1, 2),
                (3, 2, 3),
                (4, 5, 1),
                (8, 3, 2),
                (5, 1, 4),
                (10, 7, 2),
            ] {
                let tuning = ProverTuning {
                    kappa,
                    gamma,
                    threads,
                };
                let every = tuning.checkpoint_every() as usize;
                let sparse: Vec<Element> = cp.iter().step_by(every).cloned().collect();
                let p = prove_from_checkpoints(&group, &x, &y, t, tuning, &sparse);
                assert_eq!(
                    enc(&group, &p),
                    enc(&group, &naive),
                    "t={t} κ={kappa} γ={gamma} p={threads}"
                );
            }
            assert!(verify(&group, &x, &y, t, &naive).is_ok(), "t={t}");
        }
    }

    #[test]
    fn segmented_evaluation_matches_and_reports_progress() {
        let group = group();
        let x = group.hash_to_group(b"test", b"segments");
        let t = 5000;
        let tuning = ProverTuning {
            kappa: 3,
            gamma: 7,
            threads: 2,
        };
        let mut seen = Vec::new();
        let (y, proof) = prove(&group, &x, t, tuning, Backend::best_single(), &mut |d| {
            seen.push(d);
            ControlFlow::Continue(())
        })
        .unwrap();
        let naive = prove_naive(&group, &x, &y, t);
        assert_eq!(enc(&group, &proof), enc(&group, &naive));
        let direct =
            veil_squaring::square_repeated(group.modulus(), &x, t, Backend::Portable, &mut go())
                .unwrap();
        assert!(group.eq(&direct, &y));
        // Progress at every segment boundary (1008 squarings here), ending at t.
        for boundary in [1008, 2016, 3024, 4032, 5000] {
            assert!(seen.contains(&boundary), "{seen:?}");
        }
        // Cancelling mid-way stops the evaluation.
        let r = prove(&group, &x, t, tuning, Backend::Portable, &mut |d| {
            if d >= 2000 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(r.is_err());
    }

    #[test]
    fn honest_proofs_verify_and_tampering_fails() {
        let group = group();
        let m = group.modulus();
        let x = group.hash_to_group(b"test", b"honest");
        let t = 1 << 12;
        let (y, proof) = prove(
            &group,
            &x,
            t,
            ProverTuning::for_squarings(t),
            Backend::best_single(),
            &mut go(),
        )
        .unwrap();
        assert_eq!(verify(&group, &x, &y, t, &proof), Ok(()));
        // The sign of the output does not matter in Z_N^*/{±1}.
        assert_eq!(verify(&group, &x, &group.neg(&y), t, &proof), Ok(()));
        // Wrong output, wrong T, wrong input.
        let wrong_y = m.mul(&y, &x);
        assert_eq!(
            verify(&group, &x, &wrong_y, t, &proof),
            Err(WesolowskiError::Invalid)
        );
        assert_eq!(
            verify(&group, &x, &y, t + 1, &proof),
            Err(WesolowskiError::Invalid)
        );
        assert_eq!(
            verify(&group, &x, &y, t - 1, &proof),
            Err(WesolowskiError::Invalid)
        );
        assert_eq!(
            verify(&group, &y, &y, t, &proof),
            Err(WesolowskiError::Invalid)
        );
        assert_eq!(
            verify(&group, &x, &y, 0, &proof),
            Err(WesolowskiError::Invalid)
        );
        // Tampered π.
        let bad = WesolowskiProof {
            pi: m.mul(&proof.pi, &x),
        };
        assert_eq!(
            verify(&group, &x, &y, t, &bad),
            Err(WesolowskiError::Invalid)
        );
        // A proof computed for another challenge prime (as a prover would produce by
        // hashing a different statement) fails.
        let other_ell = challenge_prime(&group, &x, &y, t + 1);
        let (_, cp) =
            veil_squaring::square_repeated_checkpointed(m, &x, t, 1, Backend::Portable, &mut go())
                .unwrap();
        let tuning = ProverTuning {
            kappa: 1,
            gamma: 1,
            threads: 1,
        };
        let forged = WesolowskiProof {
            pi: quotient_power(&group, &other_ell, t, tuning, &cp),
        };
        assert_eq!(
            verify(&group, &x, &y, t, &forged),
            Err(WesolowskiError::Invalid)
        );
        // The trivial proof does not verify a long delay.
        let one = WesolowskiProof { pi: m.one() };
        assert_eq!(
            verify(&group, &x, &y, t, &one),
            Err(WesolowskiError::Invalid)
        );
    }

    #[test]
    fn the_known_order_two_element_does_not_help() {
        // In Z_N^* a prover could answer −y with π' = π·(−1)^?; in the quotient group −y is
        // the same element as y, so there is nothing to forge: the statement itself is
        // unchanged and the challenge (computed on canonical encodings) too.
        let group = group();
        let x = group.hash_to_group(b"test", b"sign");
        let t = 1000;
        let (y, proof) = prove(
            &group,
            &x,
            t,
            ProverTuning::for_squarings(t),
            Backend::Portable,
            &mut go(),
        )
        .unwrap();
        assert_eq!(
            challenge_prime(&group, &x, &y, t),
            challenge_prime(&group, &group.neg(&x), &group.neg(&y), t)
        );
        let neg_pi = WesolowskiProof {
            pi: group.neg(&proof.pi),
        };
        assert_eq!(verify(&group, &x, &y, t, &neg_pi), Ok(()));
        assert_eq!(enc(&group, &neg_pi), enc(&group, &proof));
    }

    #[test]
    fn tuning_respects_the_memory_budget_and_cost_model() {
        for t in [1u64, 1000, 1 << 20, 480_000_000] {
            let tuning = ProverTuning::for_squarings(t);
            assert!(tuning.kappa >= 1 && tuning.kappa <= 20);
            let stored = t / tuning.checkpoint_every() + 1;
            assert!(stored <= DEFAULT_CHECKPOINT_BUDGET + 1, "t={t} {tuning:?}");
        }
        let big = ProverTuning::for_squarings(1 << 20);
        let cost = (1u64 << 20) / big.kappa as u64 + big.gamma * (1 << (big.kappa + 1));
        // Prover work is at most 15% of the 2^20 squarings of the evaluation.
        assert!(cost * 100 <= 15 * (1 << 20), "{big:?} cost {cost}");
    }

    #[test]
    fn proof_encoding_is_validated() {
        let group = group();
        let x = group.hash_to_group(b"test", b"enc");
        for t in [50u64, 300] {
            // For T < 256 the honest proof is 1; it must survive the encoding too.
            let (y, proof) = prove(
                &group,
                &x,
                t,
                ProverTuning::for_squarings(t),
                Backend::Portable,
                &mut go(),
            )
            .unwrap();
            assert_eq!(group.is_one(&proof.pi), t < 256);
            let back = WesolowskiProof::from_bytes(&group, &proof.to_bytes(&group)).unwrap();
            assert_eq!(verify(&group, &x, &y, t, &back), Ok(()));
        }
        let (_, proof) = prove(
            &group,
            &x,
            300,
            ProverTuning::for_squarings(300),
            Backend::Portable,
            &mut go(),
        )
        .unwrap();
        let bytes = proof.to_bytes(&group);
        assert!(WesolowskiProof::from_bytes(&group, &vec![0u8; 256]).is_err());
        assert!(WesolowskiProof::from_bytes(&group, &bytes[1..]).is_err());
        assert!(WesolowskiProof::from_bytes(&group, &RSA2048_MODULUS).is_err());
    }
}
