//! Chaum–Pedersen proofs of discrete-log equality (DLEQ) on BLS12-381 G1, single and batched,
//! and the constant-time scalar multiplication their provers use.
//!
//! # Relation
//!
//! For bases `B₁, B₂` and points `P₁, P₂` in G1 the prover shows knowledge of `x` with
//! `P₁ = x·B₁` and `P₂ = x·B₂` (Chaum and Pedersen, "Wallet databases with observers",
//! CRYPTO '92), made non-interactive with the Fiat–Shamir transform.
//!
//! # Construction (commitment form)
//!
//! The prover draws a nonce `w`, sends `A₁ = w·B₁`, `A₂ = w·B₂` and `z = w + c·x`, where
//! `c = H_tag(context, B₁, P₁, B₂, P₂, A₁, A₂)` is RFC 9380 `hash_to_field` (§5,
//! `expand_message_xmd` with SHA-256) into the scalar field, under a caller-chosen
//! domain-separation tag. The verifier checks `z·B₁ = A₁ + c·P₁` and `z·B₂ = A₂ + c·P₂`.
//!
//! The proof carries the commitments `(A₁, A₂)` rather than the challenge (the 64-byte
//! `(c, z)` form) because only the commitment form makes the verification equations linear
//! in the proof's points, which is what lets [`verify_batch`] check many proofs with **one
//! multi-scalar multiplication**: with weights `ρⱼ, ρ'ⱼ` the verifier checks
//!
//! `Σⱼ ρⱼ(zⱼ·B₁ⱼ − cⱼ·P₁ⱼ − A₁ⱼ) + ρ'ⱼ(zⱼ·B₂ⱼ − cⱼ·P₂ⱼ − A₂ⱼ) = 0`,
//!
//! merging equal bases (every ciphertext shares `G` and `Ḡ`). The weights are 128-bit values
//! derived by hashing every proof and challenge of the batch under a caller tag; if any
//! single equation fails, the combination vanishes for at most one value of each weight, so
//! an adversary making `q` hash queries passes a bad batch with probability about `q·2⁻¹²⁸`
//! (Bellare, Garay and Rabin, "Fast batch verification for modular exponentiation and
//! digital signatures", EUROCRYPT '98, small-exponents test).
//!
//! **Batched relation.** [`prove_batched`] shows `log_{B₁} P₁ = log_{Xⱼ} Yⱼ` for many pairs
//! `(Xⱼ, Yⱼ)` with one proof: with 128-bit weights `ρⱼ` hashed from the whole statement it
//! proves `log_{B₁} P₁ = log_{X*} Y*` for `X* = Σ ρⱼXⱼ`, `Y* = Σ ρⱼYⱼ`. If some `Yⱼ ≠ x·Xⱼ`,
//! then `Y* = x·X*` holds for at most one value of `ρⱼ` given the others, so a cheating
//! prover succeeds with probability about `q·2⁻¹²⁸`. This is how a committee member proves
//! all of its decryption shares for a batch at once.
//!
//! # Constant time
//!
//! The provers multiply secrets (the witness and the nonce) only through [`ct`]: a signed,
//! odd-digit fixed-window ladder (Joye and Tunstall, "Exponent recoding and regular
//! exponentiation algorithms", AFRICACRYPT 2009) with table entries selected by `subtle`
//! masks, never by secret indices or branches, and fixed-base comb tables for long-lived
//! bases. arkworks' own `mul` is variable time and is used only on public scalars
//! (verification). Residual leaks are documented in [`ct`].
//!
//! # Example
//!
//! ```
//! use ark_bls12_381::{Fr, G1Affine, G1Projective};
//! use ark_ec::{CurveGroup, PrimeGroup};
//! use ark_ff::UniformRand;
//! use veil_circuits::dleq::{self, DleqStatement};
//!
//! let mut rng = rand_core::OsRng;
//! let x = Fr::rand(&mut rng);
//! let b1 = G1Projective::generator().into_affine();
//! let b2 = (G1Projective::generator() * Fr::from(7u64)).into_affine();
//! let st = DleqStatement { b1, p1: (b1 * x).into_affine(), b2, p2: (b2 * x).into_affine() };
//! let proof = dleq::prove(&mut rng, b"EXAMPLE-TAG", b"context", &st, &x);
//! assert!(dleq::verify(b"EXAMPLE-TAG", b"context", &st, &proof).is_ok());
//! assert!(dleq::verify(b"EXAMPLE-TAG", b"other context", &st, &proof).is_err());
//! ```

use std::collections::HashMap;

use ark_bls12_381::{Fr, G1Affine, G1Projective, g1};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{
    UniformRand, Zero,
    field_hashers::{DefaultFieldHasher, HashToField},
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use thiserror::Error;
use zeroize::Zeroize;

pub use ct::{FixedBaseTable, SecretMul};

/// Length of a compressed G1 point.
pub const G1_LEN: usize = 48;
/// Length of a canonical scalar.
pub const FR_LEN: usize = 32;

/// Why a DLEQ proof or its encoding was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DleqError {
    /// The verification equation does not hold.
    #[error("invalid dleq proof")]
    InvalidProof,
    /// The encoding has the wrong length.
    #[error("dleq proof encoding has wrong length: {len} bytes, expected {expected}")]
    BadLength {
        /// Length given.
        len: usize,
        /// Length required.
        expected: usize,
    },
    /// A point is not a valid, non-identity element of the prime-order subgroup.
    #[error("dleq proof point {index} is invalid")]
    BadPoint {
        /// Which point (0 = A₁, 1 = A₂).
        index: usize,
    },
    /// The response is not a canonical scalar.
    #[error("dleq proof response is not a canonical scalar")]
    BadScalar,
    /// A batched statement has no pairs.
    #[error("batched dleq statement has no pairs")]
    EmptyBatch,
}

/// The public statement `log_{b1} p1 = log_{b2} p2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DleqStatement {
    /// First base.
    pub b1: G1Affine,
    /// `x·b1`.
    pub p1: G1Affine,
    /// Second base.
    pub b2: G1Affine,
    /// `x·b2`.
    pub p2: G1Affine,
}

/// A Chaum–Pedersen proof in commitment form: `(A₁, A₂, z)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DleqProof {
    /// Nonce commitment `w·B₁`.
    pub a1: G1Affine,
    /// Nonce commitment `w·B₂`.
    pub a2: G1Affine,
    /// Response `w + c·x`.
    pub z: Fr,
}

impl DleqProof {
    /// Length of [`DleqProof::to_bytes`]: two compressed points and a scalar.
    pub const ENCODED_LEN: usize = 2 * G1_LEN + FR_LEN;

    /// The canonical encoding `A₁ ‖ A₂ ‖ z` (arkworks compressed points, little-endian scalar).
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[..G1_LEN].copy_from_slice(&g1_to_bytes(&self.a1));
        out[G1_LEN..2 * G1_LEN].copy_from_slice(&g1_to_bytes(&self.a2));
        out[2 * G1_LEN..].copy_from_slice(&fr_to_bytes(&self.z));
        out
    }

    /// Decodes and validates: both commitments on the curve, in the subgroup and not the
    /// identity; the response canonical.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DleqError> {
        if bytes.len() != Self::ENCODED_LEN {
            return Err(DleqError::BadLength {
                len: bytes.len(),
                expected: Self::ENCODED_LEN,
            });
        }
        let a1 = g1_from_bytes(&bytes[..G1_LEN]).ok_or(DleqError::BadPoint { index: 0 })?;
        let a2 =
            g1_from_bytes(&bytes[G1_LEN..2 * G1_LEN]).ok_or(DleqError::BadPoint { index: 1 })?;
        let z = fr_from_bytes(&bytes[2 * G1_LEN..]).ok_or(DleqError::BadScalar)?;
        Ok(Self { a1, a2, z })
    }
}

/// Compressed encoding of a G1 point.
pub fn g1_to_bytes(p: &G1Affine) -> [u8; G1_LEN] {
    let mut out = [0u8; G1_LEN];
    // Infallible: a compressed G1 point is exactly G1_LEN bytes and the buffer has that size.
    p.serialize_compressed(&mut out[..])
        .expect("compressed G1 point is 48 bytes");
    out
}

/// Decodes a compressed G1 point, validating that it is on the curve, in the prime-order
/// subgroup and not the identity. `None` otherwise (including non-canonical encodings).
pub fn g1_from_bytes(bytes: &[u8]) -> Option<G1Affine> {
    if bytes.len() != G1_LEN {
        return None;
    }
    let p = G1Affine::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes).ok()?;
    if p.is_zero() {
        return None;
    }
    // Reject non-canonical encodings: the re-encoding must match byte for byte.
    if g1_to_bytes(&p)[..] != bytes[..] {
        return None;
    }
    Some(p)
}

/// Canonical encoding of a scalar (32 bytes, little-endian, as arkworks writes it).
pub fn fr_to_bytes(s: &Fr) -> [u8; FR_LEN] {
    let mut out = [0u8; FR_LEN];
    // Infallible: a scalar is exactly FR_LEN bytes and the buffer has that size.
    s.serialize_compressed(&mut out[..])
        .expect("scalar is 32 bytes");
    out
}

/// Decodes a canonical scalar (`< r`); `None` for out-of-range values or a wrong length.
pub fn fr_from_bytes(bytes: &[u8]) -> Option<Fr> {
    if bytes.len() != FR_LEN {
        return None;
    }
    Fr::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes).ok()
}

/// RFC 9380 `hash_to_field` (§5.2, `expand_message_xmd` with SHA-256, k = 128) into the
/// scalar field, under domain-separation tag `dst`.
pub fn hash_to_scalar(dst: &[u8], msg: &[u8]) -> Fr {
    let h = <DefaultFieldHasher<Sha256, 128> as HashToField<Fr>>::new(dst);
    h.hash_to_field::<1>(msg)[0]
}

fn append_point(buf: &mut Vec<u8>, p: &G1Affine) {
    buf.extend_from_slice(&g1_to_bytes(p));
}

fn append_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    buf.extend_from_slice(&(b.len() as u64).to_be_bytes());
    buf.extend_from_slice(b);
}

/// The Fiat–Shamir challenge `c = H_tag(context, B₁, P₁, B₂, P₂, A₁, A₂)`.
pub fn challenge(
    tag: &[u8],
    context: &[u8],
    st: &DleqStatement,
    a1: &G1Affine,
    a2: &G1Affine,
) -> Fr {
    let mut msg = Vec::with_capacity(8 + context.len() + 6 * G1_LEN);
    append_bytes(&mut msg, context);
    for p in [&st.b1, &st.p1, &st.b2, &st.p2, a1, a2] {
        append_point(&mut msg, p);
    }
    hash_to_scalar(tag, &msg)
}

/// Proves `log_{b1} p1 = log_{b2} p2 = witness`, multiplying secrets in constant time through
/// `b1`, `b2` (for example [`FixedBaseTable`]s of long-lived bases).
///
/// The caller is responsible for `st.b1 = b1.point()`, `st.b2 = b2.point()` and
/// `st.p1 = witness·b1`, `st.p2 = witness·b2`; otherwise the proof will not verify.
pub fn prove_with<R: RngCore + CryptoRng>(
    rng: &mut R,
    tag: &[u8],
    context: &[u8],
    st: &DleqStatement,
    witness: &Fr,
    b1: &impl SecretMul,
    b2: &impl SecretMul,
) -> DleqProof {
    debug_assert_eq!(b1.point(), st.b1);
    debug_assert_eq!(b2.point(), st.b2);
    let mut w = Fr::rand(rng);
    let pts = G1Projective::normalize_batch(&[b1.secret_mul(&w), b2.secret_mul(&w)]);
    let (a1, a2) = (pts[0], pts[1]);
    let c = challenge(tag, context, st, &a1, &a2);
    let z = w + c * witness;
    w.zeroize();
    DleqProof { a1, a2, z }
}

/// Proves `log_{st.b1} st.p1 = log_{st.b2} st.p2 = witness` with constant-time
/// variable-base multiplications.
pub fn prove<R: RngCore + CryptoRng>(
    rng: &mut R,
    tag: &[u8],
    context: &[u8],
    st: &DleqStatement,
    witness: &Fr,
) -> DleqProof {
    prove_with(rng, tag, context, st, witness, &st.b1, &st.b2)
}

/// Verifies one proof.
pub fn verify(
    tag: &[u8],
    context: &[u8],
    st: &DleqStatement,
    proof: &DleqProof,
) -> Result<(), DleqError> {
    let c = challenge(tag, context, st, &proof.a1, &proof.a2);
    // Public data only: variable-time arithmetic is fine here.
    let lhs1 = G1Projective::msm_unchecked(&[st.b1, st.p1], &[proof.z, -c]);
    let lhs2 = G1Projective::msm_unchecked(&[st.b2, st.p2], &[proof.z, -c]);
    if lhs1 == proof.a1.into_group() && lhs2 == proof.a2.into_group() {
        Ok(())
    } else {
        Err(DleqError::InvalidProof)
    }
}

/// One proof to check in a batch.
#[derive(Clone, Copy, Debug)]
pub struct DleqInstance<'a> {
    /// The context bytes the proof was bound to.
    pub context: &'a [u8],
    /// The statement.
    pub statement: &'a DleqStatement,
    /// The proof.
    pub proof: &'a DleqProof,
}

/// 128-bit weights for a random linear combination, derived from a seed.
pub fn weights(weights_tag: &[u8], seed: &[u8; 32], count: usize) -> Vec<Fr> {
    (0..count)
        .map(|j| {
            let mut h = Sha256::new();
            h.update((weights_tag.len() as u64).to_be_bytes());
            h.update(weights_tag);
            h.update(seed);
            h.update((j as u64).to_be_bytes());
            let d = h.finalize();
            let mut b = [0u8; 16];
            b.copy_from_slice(&d[..16]);
            Fr::from(u128::from_be_bytes(b))
        })
        .collect()
}

/// Verifies many proofs, all under `tag`, with one multi-scalar multiplication. Weights are
/// derived by hashing every challenge and proof under `weights_tag`; see the module
/// documentation for the soundness error. Returns [`DleqError::InvalidProof`] if any proof is
/// invalid, without saying which (verify individually to find out).
pub fn verify_batch(
    tag: &[u8],
    weights_tag: &[u8],
    items: &[DleqInstance<'_>],
) -> Result<(), DleqError> {
    if items.is_empty() {
        return Ok(());
    }
    let challenges: Vec<Fr> = items
        .iter()
        .map(|it| challenge(tag, it.context, it.statement, &it.proof.a1, &it.proof.a2))
        .collect();
    // The seed binds every challenge (hence every statement and context) and every proof.
    let mut h = Sha256::new();
    h.update((tag.len() as u64).to_be_bytes());
    h.update(tag);
    for (it, c) in items.iter().zip(&challenges) {
        h.update(fr_to_bytes(c));
        h.update(it.proof.to_bytes());
    }
    let seed: [u8; 32] = h.finalize().into();
    let rho = weights(weights_tag, &seed, 2 * items.len());

    let mut merged: HashMap<G1Affine, Fr> = HashMap::new();
    let mut bases = Vec::with_capacity(4 * items.len() + 2);
    let mut scalars = Vec::with_capacity(4 * items.len() + 2);
    for (j, (it, c)) in items.iter().zip(&challenges).enumerate() {
        let (r1, r2) = (rho[2 * j], rho[2 * j + 1]);
        let st = it.statement;
        *merged.entry(st.b1).or_insert_with(Fr::zero) += r1 * it.proof.z;
        *merged.entry(st.b2).or_insert_with(Fr::zero) += r2 * it.proof.z;
        bases.extend_from_slice(&[st.p1, st.p2, it.proof.a1, it.proof.a2]);
        scalars.extend_from_slice(&[-(r1 * c), -(r2 * c), -r1, -r2]);
    }
    for (b, s) in merged {
        bases.push(b);
        scalars.push(s);
    }
    if G1Projective::msm_unchecked(&bases, &scalars).is_zero() {
        Ok(())
    } else {
        Err(DleqError::InvalidProof)
    }
}

/// The weights `ρⱼ` of a batched statement, hashed from the whole statement.
fn pair_weights(
    tag: &[u8],
    weights_tag: &[u8],
    context: &[u8],
    b1: &G1Affine,
    p1: &G1Affine,
    pairs: &[(G1Affine, G1Affine)],
) -> Result<Vec<Fr>, DleqError> {
    if pairs.is_empty() {
        return Err(DleqError::EmptyBatch);
    }
    let mut h = Sha256::new();
    h.update((tag.len() as u64).to_be_bytes());
    h.update(tag);
    h.update((context.len() as u64).to_be_bytes());
    h.update(context);
    h.update(g1_to_bytes(b1));
    h.update(g1_to_bytes(p1));
    h.update((pairs.len() as u64).to_be_bytes());
    for (x, y) in pairs {
        h.update(g1_to_bytes(x));
        h.update(g1_to_bytes(y));
    }
    let seed: [u8; 32] = h.finalize().into();
    Ok(weights(weights_tag, &seed, pairs.len()))
}

/// The combined statement of a batched proof: `(X*, Y*) = (Σ ρⱼXⱼ, Σ ρⱼYⱼ)`.
pub fn combine_pairs(
    tag: &[u8],
    weights_tag: &[u8],
    context: &[u8],
    b1: &G1Affine,
    p1: &G1Affine,
    pairs: &[(G1Affine, G1Affine)],
) -> Result<(G1Affine, G1Affine), DleqError> {
    let rho = pair_weights(tag, weights_tag, context, b1, p1, pairs)?;
    let xs: Vec<G1Affine> = pairs.iter().map(|p| p.0).collect();
    let ys: Vec<G1Affine> = pairs.iter().map(|p| p.1).collect();
    let comb = G1Projective::normalize_batch(&[
        G1Projective::msm_unchecked(&xs, &rho),
        G1Projective::msm_unchecked(&ys, &rho),
    ]);
    Ok((comb[0], comb[1]))
}

/// Proves `log_{b1} p1 = log_{Xⱼ} Yⱼ` for every pair `(Xⱼ, Yⱼ)` with one proof (see the module
/// documentation). `b1` multiplies secrets in constant time (e.g. a [`FixedBaseTable`]).
// Each argument is a distinct part of the statement or transcript; bundling them would only
// move the list into a struct literal at every call site.
#[allow(clippy::too_many_arguments)]
pub fn prove_batched<R: RngCore + CryptoRng>(
    rng: &mut R,
    tag: &[u8],
    weights_tag: &[u8],
    context: &[u8],
    b1: &impl SecretMul,
    p1: &G1Affine,
    pairs: &[(G1Affine, G1Affine)],
    witness: &Fr,
) -> Result<DleqProof, DleqError> {
    let base1 = b1.point();
    let rho = pair_weights(tag, weights_tag, context, &base1, p1, pairs)?;
    let xs: Vec<G1Affine> = pairs.iter().map(|p| p.0).collect();
    let x = G1Projective::msm_unchecked(&xs, &rho).into_affine();
    // The prover knows the witness, so `Y* = x·X*` costs one constant-time multiplication
    // instead of a second multi-scalar multiplication. (If some `Yⱼ ≠ x·Xⱼ`, the verifier's
    // `Σ ρⱼYⱼ` differs from this `Y*` and the proof fails, as it must.)
    let y = x.secret_mul(witness).into_affine();
    let st = DleqStatement {
        b1: base1,
        p1: *p1,
        b2: x,
        p2: y,
    };
    Ok(prove_with(rng, tag, context, &st, witness, b1, &x))
}

/// Verifies a proof made by [`prove_batched`].
pub fn verify_batched(
    tag: &[u8],
    weights_tag: &[u8],
    context: &[u8],
    b1: &G1Affine,
    p1: &G1Affine,
    pairs: &[(G1Affine, G1Affine)],
    proof: &DleqProof,
) -> Result<(), DleqError> {
    let (x, y) = combine_pairs(tag, weights_tag, context, b1, p1, pairs)?;
    let st = DleqStatement {
        b1: *b1,
        p1: *p1,
        b2: x,
        p2: y,
    };
    verify(tag, context, &st, proof)
}

/// Constant-time scalar multiplication for secret scalars.
///
/// **Recoding.** A scalar `k < r` is made odd without branching (`k` or `k + r`, chosen by a
/// mask; both are `≡ k mod r`), then written as 64 signed odd digits `dᵢ ∈ {±1, ±3, …, ±15}`
/// with `k = Σ dᵢ·16ⁱ` (Joye–Tunstall regular recoding with `w = 4`). In this case the
/// recoding is pure bit manipulation: `dᵢ = (bits 4i..4i+5 of k, lowest bit forced to 1) − 16`
/// and the top digit is `(k >> 252) | 1`. No digit is zero, so every step performs the same
/// operations.
///
/// **Variable base** ([`mul`]): a table of `P, 3P, …, 15P`; per digit four doublings and one
/// mixed addition of the entry selected with `subtle` masks over all eight entries, negated
/// by mask. **Fixed base** ([`FixedBaseTable`]): per digit position `i` a table of the odd
/// multiples of `16ⁱ·P`; a multiplication is 63 mixed additions, no doublings. **GLV on G1**
/// ([`mul_g1`], [`mul_many_g1`]): `k = k₁ + k₂·λ` with `λ = x² − 1` (so `r = λ² + λ + 1`),
/// split by constant-time long division into two 128-bit halves, then one interleaved
/// ladder over `P` and `φ(P) = (β²x, y)`: half the doublings. Many bases with one scalar
/// (a member's shares) share the recoding and one table normalization.
///
/// **Residual leaks, stated honestly.** arkworks' short-Weierstrass formulas are not
/// complete: they branch when an input is the identity or when both inputs are equal. The
/// accumulator is an odd multiple of `16ⁱ⁺¹·P` (integer coefficient below `2²⁵⁶`) when the
/// entry `±dᵢ16ⁱ·P` is added, so those branches can only be taken when the two integer
/// coefficients differ by a nonzero multiple of `r`, which for a uniformly random scalar
/// happens with probability below `2⁻²⁴⁰`. arkworks' Montgomery multiplication ends with a
/// conditional subtraction, a small data-dependent timing variation at the field level that
/// we inherit. The final conversion to affine coordinates uses a variable-time inversion, but
/// only on results that are published anyway.
pub mod ct {
    use ark_bls12_381::{Fq, Fq2, Fr, G1Affine, G1Projective, g1};
    use ark_ec::{
        AffineRepr, CurveGroup,
        scalar_mul::glv::GLVConfig,
        short_weierstrass::{Affine, Projective, SWCurveConfig},
    };
    use ark_ff::{AdditiveGroup, BigInt, Field, PrimeField, Zero};
    use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
    use zeroize::Zeroize;

    /// Base fields whose elements can be selected in constant time.
    pub trait CtField: Field {
        /// `a` if `choice` is 0, `b` if it is 1, without branching.
        fn ct_select(a: &Self, b: &Self, choice: Choice) -> Self;
    }

    impl CtField for Fq {
        fn ct_select(a: &Self, b: &Self, choice: Choice) -> Self {
            let mut limbs = [0u64; 6];
            for (i, l) in limbs.iter_mut().enumerate() {
                *l = u64::conditional_select(&(a.0).0[i], &(b.0).0[i], choice);
            }
            // Both inputs are valid Montgomery representations, so the selected limbs are.
            Fq::new_unchecked(BigInt(limbs))
        }
    }

    impl CtField for Fq2 {
        fn ct_select(a: &Self, b: &Self, choice: Choice) -> Self {
            Fq2::new(
                Fq::ct_select(&a.c0, &b.c0, choice),
                Fq::ct_select(&a.c1, &b.c1, choice),
            )
        }
    }

    /// Number of signed digits of a recoded scalar.
    const DIGITS: usize = 64;

    /// The signed odd-digit recoding of `k` (see the module documentation).
    fn recode(k: &Fr) -> [i8; DIGITS] {
        let mut kb = k.into_bigint().0;
        let r = Fr::MODULUS.0;
        let mut sum = [0u64; 4];
        let mut carry = 0u64;
        for i in 0..4 {
            let (s1, c1) = kb[i].overflowing_add(r[i]);
            let (s2, c2) = s1.overflowing_add(carry);
            sum[i] = s2;
            carry = (c1 | c2) as u64;
        }
        // k < r < 2^255, so k + r < 2^256: no carry out of the top limb.
        debug_assert_eq!(carry, 0);
        let even = Choice::from(((kb[0] & 1) ^ 1) as u8);
        let mut odd = [0u64; 4];
        for i in 0..4 {
            odd[i] = u64::conditional_select(&kb[i], &sum[i], even);
        }
        let bits = |pos: usize, width: u32| -> u8 {
            let limb = pos / 64;
            let off = pos % 64;
            let lo = odd[limb] as u128;
            let hi = if limb + 1 < 4 {
                odd[limb + 1] as u128
            } else {
                0
            };
            let v = ((hi << 64) | lo) >> off;
            (v as u8) & ((1u8 << width) - 1)
        };
        let mut d = [0i8; DIGITS];
        for (i, di) in d.iter_mut().enumerate().take(DIGITS - 1) {
            *di = (bits(4 * i, 5) | 1) as i8 - 16;
        }
        d[DIGITS - 1] = (bits(4 * (DIGITS - 1), 4) | 1) as i8;
        kb.zeroize();
        sum.zeroize();
        odd.zeroize();
        d
    }

    /// Selects `d·T` from `table = [T, 3T, …, 15T]` for an odd digit `d ∈ [−15, 15]`,
    /// scanning every entry.
    fn select<P: SWCurveConfig>(table: &[Affine<P>; 8], d: i8) -> Affine<P>
    where
        P::BaseField: CtField,
    {
        let neg_mask = (d >> 7) as u8; // 0xff if negative
        let abs = ((d as u8) ^ neg_mask).wrapping_sub(neg_mask);
        let idx = abs >> 1;
        let mut x = table[0].x;
        let mut y = table[0].y;
        for (j, e) in table.iter().enumerate().skip(1) {
            let hit = idx.ct_eq(&(j as u8));
            x = P::BaseField::ct_select(&x, &e.x, hit);
            y = P::BaseField::ct_select(&y, &e.y, hit);
        }
        let neg_y = -y;
        y = P::BaseField::ct_select(&y, &neg_y, Choice::from(neg_mask & 1));
        Affine::new_unchecked(x, y)
    }

    fn odd_multiples<P: SWCurveConfig>(p: &Projective<P>) -> [Projective<P>; 8] {
        let two = p.double();
        let mut t = [*p; 8];
        for j in 1..8 {
            t[j] = t[j - 1] + two;
        }
        t
    }

    /// `k·base` in constant time (with the residual leaks documented in the module).
    pub fn mul<P>(base: &Affine<P>, k: &Fr) -> Projective<P>
    where
        P: SWCurveConfig<ScalarField = Fr>,
        P::BaseField: CtField,
    {
        if base.is_zero() {
            // The base is public; the identity has no odd multiples to tabulate.
            return Projective::zero();
        }
        let t = Projective::normalize_batch(&odd_multiples(&base.into_group()));
        let table: [Affine<P>; 8] = std::array::from_fn(|j| t[j]);
        let mut d = recode(k);
        let mut acc: Projective<P> = select(&table, d[DIGITS - 1]).into_group();
        for i in (0..DIGITS - 1).rev() {
            for _ in 0..4 {
                acc.double_in_place();
            }
            acc += select(&table, d[i]);
        }
        d.zeroize();
        acc
    }

    /// `k·bᵢ` for every base, in constant time: the scalar is recoded once and all tables are
    /// normalized with one shared inversion. Identity bases give the identity.
    pub fn mul_many<P>(bases: &[Affine<P>], k: &Fr) -> Vec<Projective<P>>
    where
        P: SWCurveConfig<ScalarField = Fr>,
        P::BaseField: CtField,
    {
        let live: Vec<Affine<P>> = bases.iter().copied().filter(|b| !b.is_zero()).collect();
        let mut all = Vec::with_capacity(8 * live.len());
        for b in &live {
            all.extend_from_slice(&odd_multiples(&b.into_group()));
        }
        let all = Projective::normalize_batch(&all);
        let mut d = recode(k);
        let mut live_out = all.chunks_exact(8).map(|c| {
            let table: [Affine<P>; 8] = std::array::from_fn(|j| c[j]);
            let mut acc: Projective<P> = select(&table, d[DIGITS - 1]).into_group();
            for i in (0..DIGITS - 1).rev() {
                for _ in 0..4 {
                    acc.double_in_place();
                }
                acc += select(&table, d[i]);
            }
            acc
        });
        // Whether a base is the identity is public.
        let out = bases
            .iter()
            .map(|b| {
                if b.is_zero() {
                    Projective::zero()
                } else {
                    // One table per live base, in order.
                    live_out.next().unwrap_or_else(Projective::zero)
                }
            })
            .collect();
        d.zeroize();
        out
    }

    /// Precomputed odd multiples of `16ⁱ·P` for every digit position: a secret scalar times
    /// `P` costs 63 mixed additions and constant-time table scans. 512 affine points (48 KiB
    /// for G1).
    #[derive(Clone)]
    pub struct FixedBaseTable<P: SWCurveConfig> {
        base: Affine<P>,
        windows: Vec<[Affine<P>; 8]>,
    }

    impl<P: SWCurveConfig> std::fmt::Debug for FixedBaseTable<P> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("FixedBaseTable")
                .field("base", &self.base)
                .finish_non_exhaustive()
        }
    }

    impl<P> FixedBaseTable<P>
    where
        P: SWCurveConfig<ScalarField = Fr>,
        P::BaseField: CtField,
    {
        /// Tabulates `base` (which must not be the identity; the identity yields an empty
        /// table whose products are the identity).
        pub fn new(base: &Affine<P>) -> Self {
            if base.is_zero() {
                return Self {
                    base: *base,
                    windows: Vec::new(),
                };
            }
            let mut all = Vec::with_capacity(8 * DIGITS);
            let mut q = base.into_group();
            for _ in 0..DIGITS {
                all.extend_from_slice(&odd_multiples(&q));
                for _ in 0..4 {
                    q.double_in_place();
                }
            }
            let all = Projective::normalize_batch(&all);
            let windows = all
                .chunks_exact(8)
                .map(|c| std::array::from_fn(|j| c[j]))
                .collect();
            Self {
                base: *base,
                windows,
            }
        }

        /// The tabulated base.
        pub fn base(&self) -> Affine<P> {
            self.base
        }

        /// `k·base` in constant time.
        pub fn mul(&self, k: &Fr) -> Projective<P> {
            if self.windows.is_empty() {
                return Projective::zero();
            }
            let mut d = recode(k);
            let mut acc: Projective<P> = select(&self.windows[DIGITS - 1], d[DIGITS - 1]).into();
            for i in (0..DIGITS - 1).rev() {
                acc += select(&self.windows[i], d[i]);
            }
            d.zeroize();
            acc
        }
    }

    /// `λ = x² − 1` for the BLS parameter `x`: the small cube root of unity modulo `r`
    /// (`r = λ² + λ + 1`), eigenvalue of `φ(x, y) = (β²·x, y)` on G1.
    pub const GLV_LAMBDA: u128 = 228_988_810_152_649_578_064_853_576_960_394_133_503;

    /// Splits `k = k₁ + k₂·λ` with `0 ≤ k₁ < λ` and `0 ≤ k₂ ≤ λ + 1` (both below 2¹²⁸), by
    /// binary long division with masked subtraction: the same instructions for every `k`.
    pub fn glv_split(k: &Fr) -> (u128, u128) {
        let mut limbs = k.into_bigint().0;
        let mut rem: u128 = 0;
        let mut quo: u128 = 0;
        for i in (0..256).rev() {
            let bit = ((limbs[i / 64] >> (i % 64)) & 1) as u128;
            let hi = rem >> 127;
            let shifted = (rem << 1) | bit;
            let (diff, borrow) = shifted.overflowing_sub(GLV_LAMBDA);
            // shifted (with its carried-out bit) ≥ λ?
            let ge = hi | ((borrow as u128) ^ 1);
            let mask = 0u128.wrapping_sub(ge);
            rem = (diff & mask) | (shifted & !mask);
            quo = (quo << 1) | ge;
        }
        limbs.zeroize();
        (rem, quo)
    }

    /// Signed odd-digit recoding of an odd `v < 2¹²⁸` into 32 digits.
    fn recode128(v: u128) -> [i8; 32] {
        let mut d = [0i8; 32];
        for (i, di) in d.iter_mut().enumerate().take(31) {
            *di = ((((v >> (4 * i)) & 31) as u8) | 1) as i8 - 16;
        }
        d[31] = ((((v >> 124) & 15) as u8) | 1) as i8;
        d
    }

    fn select_projective(a: &G1Projective, b: &G1Projective, choice: Choice) -> G1Projective {
        G1Projective::new_unchecked(
            Fq::ct_select(&a.x, &b.x, choice),
            Fq::ct_select(&a.y, &b.y, choice),
            Fq::ct_select(&a.z, &b.z, choice),
        )
    }

    fn beta_squared() -> Fq {
        let b = <g1::Config as GLVConfig>::ENDO_COEFFS[0];
        b * b
    }

    /// The GLV ladder for one base, given its table of odd multiples.
    fn glv_ladder(
        t1: &[G1Affine; 8],
        beta2: &Fq,
        d1: &[i8; 32],
        d2: &[i8; 32],
        even: (Choice, Choice),
    ) -> G1Projective {
        let t2: [G1Affine; 8] =
            std::array::from_fn(|j| G1Affine::new_unchecked(t1[j].x * beta2, t1[j].y));
        let mut acc: G1Projective = select(t1, d1[31]).into_group();
        acc += select(&t2, d2[31]);
        for i in (0..31).rev() {
            for _ in 0..4 {
                acc.double_in_place();
            }
            acc += select(t1, d1[i]);
            acc += select(&t2, d2[i]);
        }
        // Undo the "make odd" adjustments: subtract P and/or φ(P), selected by mask.
        let fixed = acc + (-t1[0]);
        acc = select_projective(&acc, &fixed, even.0);
        let fixed = acc + (-t2[0]);
        select_projective(&acc, &fixed, even.1)
    }

    /// Recodes `k` for the GLV ladder: `(digits of k₁', digits of k₂', (k₁ even, k₂ even))`
    /// where `kᵢ' = kᵢ + [kᵢ even]` is odd.
    fn glv_recode(k: &Fr) -> ([i8; 32], [i8; 32], (Choice, Choice)) {
        let (mut k1, mut k2) = glv_split(k);
        let e1 = (k1 & 1) ^ 1;
        let e2 = (k2 & 1) ^ 1;
        // k₁ < λ and k₂ ≤ λ + 1 < 2¹²⁸ − 1: adding one cannot overflow.
        k1 += e1;
        k2 += e2;
        let d1 = recode128(k1);
        let d2 = recode128(k2);
        k1.zeroize();
        k2.zeroize();
        (d1, d2, (Choice::from(e1 as u8), Choice::from(e2 as u8)))
    }

    /// `k·base` on G1 in constant time with the GLV endomorphism (Gallant, Lambert and
    /// Vanstone, CRYPTO 2001): `k = k₁ + k₂·λ` with 128-bit halves split by constant-time
    /// long division (`r = λ² + λ + 1`), then one interleaved ladder of 124 doublings and 64
    /// table additions instead of 252 and 63. Same residual leaks as [`mul`]; the final
    /// "make odd" corrections are two always-computed additions selected by mask.
    pub fn mul_g1(base: &G1Affine, k: &Fr) -> G1Projective {
        mul_many_g1(std::slice::from_ref(base), k)
            .pop()
            .unwrap_or_else(G1Projective::zero)
    }

    /// [`mul_g1`] for many bases and one scalar: recoded once, tables normalized together.
    pub fn mul_many_g1(bases: &[G1Affine], k: &Fr) -> Vec<G1Projective> {
        let live: Vec<G1Affine> = bases.iter().copied().filter(|b| !b.is_zero()).collect();
        let mut all = Vec::with_capacity(8 * live.len());
        for b in &live {
            all.extend_from_slice(&odd_multiples(&b.into_group()));
        }
        let all = G1Projective::normalize_batch(&all);
        let (mut d1, mut d2, even) = glv_recode(k);
        let beta2 = beta_squared();
        let mut live_out = all.chunks_exact(8).map(|c| {
            let t1: [G1Affine; 8] = std::array::from_fn(|j| c[j]);
            glv_ladder(&t1, &beta2, &d1, &d2, even)
        });
        // Whether a base is the identity is public.
        let out = bases
            .iter()
            .map(|b| {
                if b.is_zero() {
                    G1Projective::zero()
                } else {
                    live_out.next().unwrap_or_else(G1Projective::zero)
                }
            })
            .collect();
        d1.zeroize();
        d2.zeroize();
        out
    }

    /// A G1 base that can be multiplied by a secret scalar in constant time.
    pub trait SecretMul {
        /// The base point.
        fn point(&self) -> G1Affine;
        /// `k·point()` in constant time.
        fn secret_mul(&self, k: &Fr) -> G1Projective;
    }

    impl SecretMul for G1Affine {
        fn point(&self) -> G1Affine {
            *self
        }
        fn secret_mul(&self, k: &Fr) -> G1Projective {
            mul_g1(self, k)
        }
    }

    impl SecretMul for FixedBaseTable<g1::Config> {
        fn point(&self) -> G1Affine {
            self.base
        }
        fn secret_mul(&self, k: &Fr) -> G1Projective {
            self.mul(k)
        }
    }
}

/// A G1 fixed-base table (see [`ct::FixedBaseTable`]).
pub type G1Table = FixedBaseTable<g1::Config>;

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{G2Affine, G2Projective, g2};
    use ark_ec::PrimeGroup;
    use ark_ff::{BigInteger, Field, One, PrimeField};
    use proptest::prelude::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const TAG: &[u8] = b"VEIL-TEST-DLEQ";
    const WTAG: &[u8] = b"VEIL-TEST-DLEQ-WEIGHTS";

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(7)
    }

    fn g() -> G1Affine {
        G1Projective::generator().into_affine()
    }

    fn statement(rng: &mut ChaCha20Rng, x: &Fr) -> DleqStatement {
        let b1 = (G1Projective::generator() * Fr::rand(rng)).into_affine();
        let b2 = (G1Projective::generator() * Fr::rand(rng)).into_affine();
        DleqStatement {
            b1,
            p1: (b1 * x).into_affine(),
            b2,
            p2: (b2 * x).into_affine(),
        }
    }

    fn edge_scalars() -> Vec<Fr> {
        let mut v = vec![
            Fr::zero(),
            Fr::one(),
            Fr::from(2u64),
            Fr::from(15u64),
            Fr::from(16u64),
            Fr::from(17u64),
            -Fr::one(),
            -Fr::from(2u64),
        ];
        // 2^k and 2^k ± 1 around window boundaries.
        for k in [4u32, 63, 64, 127, 128, 251, 252, 253, 254] {
            let p = Fr::from(2u64).pow([k as u64]);
            v.extend([p, p + Fr::one(), p - Fr::one()]);
        }
        v
    }

    #[test]
    fn ct_mul_matches_arkworks_on_edge_scalars() {
        let mut r = rng();
        let base = (G1Projective::generator() * Fr::rand(&mut r)).into_affine();
        let table = G1Table::new(&base);
        let b2 = (G2Projective::generator() * Fr::rand(&mut r)).into_affine();
        for k in edge_scalars() {
            let expect = base * k;
            assert_eq!(ct::mul::<g1::Config>(&base, &k), expect, "k = {k}");
            assert_eq!(table.mul(&k), expect, "k = {k}");
            assert_eq!(ct::mul::<g2::Config>(&b2, &k), b2 * k, "k = {k}");
            assert_eq!(ct::mul_g1(&base, &k), expect, "k = {k}");
            let (k1, k2) = ct::glv_split(&k);
            assert!(k1 < ct::GLV_LAMBDA && k2 <= ct::GLV_LAMBDA + 1);
            assert_eq!(Fr::from(k1) + Fr::from(k2) * Fr::from(ct::GLV_LAMBDA), k);
            let many = [base, G1Affine::zero(), g()];
            assert_eq!(
                ct::mul_many_g1(&many, &k),
                vec![
                    base * k,
                    G1Projective::zero(),
                    G1Projective::generator() * k
                ]
            );
            assert_eq!(
                ct::mul_many::<g1::Config>(&many, &k),
                vec![
                    base * k,
                    G1Projective::zero(),
                    G1Projective::generator() * k
                ]
            );
        }
        // λ is a cube root of unity with r = λ² + λ + 1, and φ(x, y) = (β²x, y) acts as λ.
        let lam = Fr::from(ct::GLV_LAMBDA);
        assert!((lam * lam + lam + Fr::one()).is_zero());
        let b2 = <g1::Config as ark_ec::scalar_mul::glv::GLVConfig>::ENDO_COEFFS[0];
        let phi = G1Affine::new_unchecked(base.x * b2 * b2, base.y);
        assert_eq!(phi, (base * lam).into_affine());
        // The recoding relies on r < 2^255 (so k + r fits 256 bits).
        assert_eq!(Fr::MODULUS.num_bits(), 255);
    }

    #[test]
    fn ct_mul_identity_base() {
        let z = G1Affine::zero();
        assert!(ct::mul::<g1::Config>(&z, &Fr::from(5u64)).is_zero());
        assert!(G1Table::new(&z).mul(&Fr::from(5u64)).is_zero());
        let z2 = G2Affine::zero();
        assert!(ct::mul::<g2::Config>(&z2, &Fr::from(5u64)).is_zero());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn ct_mul_matches_arkworks(seed in any::<u64>()) {
            let mut r = ChaCha20Rng::seed_from_u64(seed);
            let k = Fr::rand(&mut r);
            let base = (G1Projective::generator() * Fr::rand(&mut r)).into_affine();
            prop_assert_eq!(ct::mul::<g1::Config>(&base, &k), base * k);
            prop_assert_eq!(ct::mul_g1(&base, &k), base * k);
            let (k1, k2) = ct::glv_split(&k);
            prop_assert_eq!(Fr::from(k1) + Fr::from(k2) * Fr::from(ct::GLV_LAMBDA), k);
            prop_assert_eq!(G1Table::new(&g()).mul(&k), G1Projective::generator() * k);
        }

        #[test]
        fn proof_encoding_round_trips(seed in any::<u64>()) {
            let mut r = ChaCha20Rng::seed_from_u64(seed);
            let x = Fr::rand(&mut r);
            let st = statement(&mut r, &x);
            let p = prove(&mut r, TAG, b"ctx", &st, &x);
            prop_assert_eq!(DleqProof::from_bytes(&p.to_bytes()).unwrap(), p);
        }
    }

    #[test]
    fn honest_proofs_verify_and_bind_everything() {
        let mut r = rng();
        let x = Fr::rand(&mut r);
        let st = statement(&mut r, &x);
        let p = prove(&mut r, TAG, b"ctx", &st, &x);
        verify(TAG, b"ctx", &st, &p).unwrap();
        assert_eq!(
            verify(b"OTHER", b"ctx", &st, &p),
            Err(DleqError::InvalidProof)
        );
        assert_eq!(verify(TAG, b"ctX", &st, &p), Err(DleqError::InvalidProof));
        let mut bad = st;
        bad.p2 = (bad.p2 + bad.b2).into_affine();
        assert_eq!(verify(TAG, b"ctx", &bad, &p), Err(DleqError::InvalidProof));
        let mut bad_p = p;
        bad_p.z += Fr::one();
        assert_eq!(
            verify(TAG, b"ctx", &st, &bad_p),
            Err(DleqError::InvalidProof)
        );
    }

    #[test]
    fn wrong_witness_does_not_verify() {
        let mut r = rng();
        let x = Fr::rand(&mut r);
        let mut st = statement(&mut r, &x);
        // p2 uses a different exponent: no witness exists.
        st.p2 = (st.b2 * (x + Fr::one())).into_affine();
        let p = prove(&mut r, TAG, b"ctx", &st, &x);
        assert_eq!(verify(TAG, b"ctx", &st, &p), Err(DleqError::InvalidProof));
    }

    #[test]
    fn fixed_base_prover_matches() {
        let mut r = rng();
        let x = Fr::rand(&mut r);
        let b2 = (G1Projective::generator() * Fr::rand(&mut r)).into_affine();
        let st = DleqStatement {
            b1: g(),
            p1: (g() * x).into_affine(),
            b2,
            p2: (b2 * x).into_affine(),
        };
        let t1 = G1Table::new(&g());
        let t2 = G1Table::new(&b2);
        let p = prove_with(&mut r, TAG, b"", &st, &x, &t1, &t2);
        verify(TAG, b"", &st, &p).unwrap();
    }

    #[test]
    fn batch_verification_accepts_good_and_rejects_any_bad() {
        let mut r = rng();
        let gbar = (G1Projective::generator() * Fr::from(99u64)).into_affine();
        let mut sts = Vec::new();
        let mut proofs = Vec::new();
        let mut ctxs = Vec::new();
        for j in 0..12u64 {
            let x = Fr::rand(&mut r);
            // Shared bases (as for ciphertexts) and a few distinct ones.
            let st = if j % 4 == 3 {
                statement(&mut r, &x)
            } else {
                DleqStatement {
                    b1: g(),
                    p1: (g() * x).into_affine(),
                    b2: gbar,
                    p2: (gbar * x).into_affine(),
                }
            };
            let ctx = j.to_be_bytes().to_vec();
            proofs.push(prove(&mut r, TAG, &ctx, &st, &x));
            sts.push(st);
            ctxs.push(ctx);
        }
        let items = |sts: &[DleqStatement],
                     proofs: &[DleqProof]|
         -> Vec<(usize, DleqStatement, DleqProof)> {
            sts.iter()
                .zip(proofs)
                .enumerate()
                .map(|(i, (s, p))| (i, *s, *p))
                .collect()
        };
        let run = |v: &[(usize, DleqStatement, DleqProof)]| {
            let inst: Vec<DleqInstance<'_>> = v
                .iter()
                .map(|(i, s, p)| DleqInstance {
                    context: &ctxs[*i],
                    statement: s,
                    proof: p,
                })
                .collect();
            verify_batch(TAG, WTAG, &inst)
        };
        run(&items(&sts, &proofs)).unwrap();
        assert_eq!(run(&[]), Ok(()));
        for bad in 0..12 {
            let mut v = items(&sts, &proofs);
            v[bad].2.z += Fr::one();
            assert_eq!(run(&v), Err(DleqError::InvalidProof));
            let mut v = items(&sts, &proofs);
            v[bad].1.p2 = (v[bad].1.p2 + g()).into_affine();
            assert_eq!(run(&v), Err(DleqError::InvalidProof));
        }
        // Two proofs whose errors cancel in an unweighted sum are still caught.
        let mut v = items(&sts, &proofs);
        v[0].2.z += Fr::one();
        v[1].2.z -= Fr::one();
        assert_eq!(run(&v), Err(DleqError::InvalidProof));
    }

    #[test]
    fn batched_relation_proof() {
        let mut r = rng();
        let x = Fr::rand(&mut r);
        let vk = (g() * x).into_affine();
        let mut pairs: Vec<(G1Affine, G1Affine)> = (0..20)
            .map(|_| {
                let u = (G1Projective::generator() * Fr::rand(&mut r)).into_affine();
                (u, (u * x).into_affine())
            })
            .collect();
        let table = G1Table::new(&g());
        let p = prove_batched(&mut r, TAG, WTAG, b"batch", &table, &vk, &pairs, &x).unwrap();
        verify_batched(TAG, WTAG, b"batch", &g(), &vk, &pairs, &p).unwrap();
        assert_eq!(
            verify_batched(TAG, WTAG, b"batcH", &g(), &vk, &pairs, &p),
            Err(DleqError::InvalidProof)
        );
        assert_eq!(
            verify_batched(TAG, WTAG, b"batch", &g(), &vk, &pairs[1..], &p),
            Err(DleqError::InvalidProof)
        );
        // One wrong share among twenty: the honest-looking proof for it fails.
        pairs[7].1 = (pairs[7].1 + g()).into_affine();
        let p = prove_batched(&mut r, TAG, WTAG, b"batch", &table, &vk, &pairs, &x).unwrap();
        assert_eq!(
            verify_batched(TAG, WTAG, b"batch", &g(), &vk, &pairs, &p),
            Err(DleqError::InvalidProof)
        );
        assert_eq!(
            prove_batched(&mut r, TAG, WTAG, b"", &table, &vk, &[], &x),
            Err(DleqError::EmptyBatch)
        );
    }

    #[test]
    fn decode_rejects_bad_encodings() {
        let mut r = rng();
        let x = Fr::rand(&mut r);
        let st = statement(&mut r, &x);
        let p = prove(&mut r, TAG, b"", &st, &x);
        let bytes = p.to_bytes();
        assert!(matches!(
            DleqProof::from_bytes(&bytes[1..]),
            Err(DleqError::BadLength { .. })
        ));
        // Identity commitment.
        let mut b = bytes;
        b[..G1_LEN].copy_from_slice(&{
            let mut z = [0u8; G1_LEN];
            G1Affine::zero().serialize_compressed(&mut z[..]).unwrap();
            z
        });
        assert_eq!(
            DleqProof::from_bytes(&b),
            Err(DleqError::BadPoint { index: 0 })
        );
        // Response r (non-canonical).
        let mut b = bytes;
        b[2 * G1_LEN..].copy_from_slice(&Fr::MODULUS.to_bytes_le());
        assert_eq!(DleqProof::from_bytes(&b), Err(DleqError::BadScalar));
        // A flipped x bit in A₂ almost surely leaves the curve or the subgroup.
        let mut b = bytes;
        b[G1_LEN + 20] ^= 1;
        assert_eq!(
            DleqProof::from_bytes(&b),
            Err(DleqError::BadPoint { index: 1 })
        );
    }
}
