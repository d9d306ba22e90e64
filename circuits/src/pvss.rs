//! Proofs of the key ceremony's publicly verifiable dealings.
//!
//! The key ceremony (`veil-keygen`) is a Feldman-committed distributed key generation in
//! which every message is public and signed, so that anyone can re-check a whole transcript.
//! This module holds the relations it proves and the share encryption they refer to; the
//! protocol itself (who deals, what qualifies, how shares aggregate) lives in `veil-keygen`.
//!
//! # Relations
//!
//! 1. **Knowledge of a discrete log** ([`prove_knowledge`], [`verify_knowledge`]): a Schnorr
//!    proof (Schnorr, "Efficient signature generation by smart cards", J. Cryptology 1991),
//!    Fiat–Shamir in commitment form `(A, z)`, `z·G = A + c·P`, with the challenge bound to a
//!    caller context. A dealer proves it knows the constant coefficient `a₀` behind its first
//!    Feldman commitment `C₀ = a₀·G` (so no dealer can publish a commitment derived from
//!    another dealer's, e.g. `−C₀'`, to cancel it); a member proves it knows the secret of its
//!    share-encryption key.
//! 2. **Correct pairwise key** ([`prove_pairwise_key`], [`verify_pairwise_key`]): a
//!    Chaum–Pedersen DLEQ proof ([`crate::dleq`]) that `K = x·R` for the `x` with `Y = x·G`,
//!    i.e. that `K` is the Diffie–Hellman value between a member's encryption key `Y` and a
//!    dealing's ephemeral key `R`. A member that received a bad share publishes `K` with this
//!    proof: anyone can then decrypt that one share and see that it contradicts the dealer's
//!    commitments. Revealing `K` exposes only this one share, never `x`.
//!
//! # Share encryption
//!
//! A dealer with polynomial `f` sends `s_j = f(j)` to member `j` by hashed ElGamal in the
//! scalar field (multi-recipient form, one ephemeral `R = r·G` per dealing; Bellare,
//! Boldyreva and Staddon, "Randomness re-use in multi-recipient encryption schemes",
//! PKC 2003): `e_j = s_j + H(ctx, dealer, j, R, r·Y_j)`, where `H` is RFC 9380
//! `hash_to_field` under `veil_domain::keygen::SHARE_PAD` ([`share_pad`]). The pad is uniform
//! in the random-oracle model under CDH, so `e_j` hides `s_j` from everyone without `x_j`.
//!
//! **Deviation from full PVSS.** Schoenmakers' PVSS (CRYPTO '99) proves each encrypted share
//! correct to the public, but its members recover only `s_j·G`, while Veil's threshold
//! decryption needs the scalar `s_j`. Proving that a hashed-ElGamal pad hides the exponent of
//! a Feldman evaluation needs either chunked ElGamal with range proofs (Groth, "Non-interactive
//! distributed key generation and key resharing", ePrint 2021/339) or a SNARK. We take the
//! cheaper, equally public route: a share that does not match `Σ_k j^k·C_k` is refuted by the
//! recipient's *self-proving* complaint (relation 2), which any verifier checks from public
//! data alone; there is no dealer response round to wait for. The difference to Groth's
//! scheme: a recipient that is offline during the complaint window cannot refute a bad share
//! to itself (it learns that its own share is wrong when it compares `s_j·G` with its
//! verification key); everyone else is unaffected.
//!
//! # Example
//!
//! ```
//! use ark_bls12_381::{Fr, G1Projective};
//! use ark_ec::{CurveGroup, PrimeGroup};
//! use ark_ff::UniformRand;
//! use veil_circuits::pvss;
//!
//! let mut rng = rand_core::OsRng;
//! let x = Fr::rand(&mut rng);
//! let y = (G1Projective::generator() * x).into_affine();
//! let proof = pvss::prove_knowledge(&mut rng, b"TAG", b"ctx", &x);
//! assert!(pvss::verify_knowledge(b"TAG", b"ctx", &y, &proof).is_ok());
//! assert!(pvss::verify_knowledge(b"TAG", b"other", &y, &proof).is_err());
//! ```

use ark_bls12_381::{Fr, G1Affine, G1Projective};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{UniformRand, Zero};
use rand_core::{CryptoRng, RngCore};
use thiserror::Error;
use zeroize::Zeroize;

use crate::dleq::{self, DleqProof, DleqStatement, FR_LEN, G1_LEN, ct, fr_from_bytes, fr_to_bytes};

/// Why a ceremony proof was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PvssError {
    /// A proof did not verify.
    #[error("invalid ceremony proof")]
    InvalidProof,
    /// An encoding had the wrong length.
    #[error("proof encoding has wrong length: {len} bytes, expected {expected}")]
    BadLength {
        /// Length given.
        len: usize,
        /// Length expected.
        expected: usize,
    },
    /// An encoded point is not a valid, non-identity G1 subgroup point.
    #[error("proof point is invalid")]
    BadPoint,
    /// An encoded scalar is not canonical.
    #[error("proof scalar is not canonical")]
    BadScalar,
}

fn generator() -> G1Affine {
    G1Affine::generator()
}

/// A Schnorr proof of knowledge of `x` with `P = x·G`, in commitment form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnowledgeProof {
    /// Commitment `A = w·G`.
    pub a: G1Affine,
    /// Response `z = w + c·x`.
    pub z: Fr,
}

impl KnowledgeProof {
    /// Encoded length: a compressed point and a scalar.
    pub const ENCODED_LEN: usize = G1_LEN + FR_LEN;

    /// Canonical encoding `A ‖ z`.
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[..G1_LEN].copy_from_slice(&dleq::g1_to_bytes(&self.a));
        out[G1_LEN..].copy_from_slice(&fr_to_bytes(&self.z));
        out
    }

    /// Decodes and validates (subgroup point, canonical scalar).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PvssError> {
        if bytes.len() != Self::ENCODED_LEN {
            return Err(PvssError::BadLength {
                len: bytes.len(),
                expected: Self::ENCODED_LEN,
            });
        }
        let a = dleq::g1_from_bytes(&bytes[..G1_LEN]).ok_or(PvssError::BadPoint)?;
        let z = fr_from_bytes(&bytes[G1_LEN..]).ok_or(PvssError::BadScalar)?;
        Ok(KnowledgeProof { a, z })
    }
}

fn knowledge_challenge(tag: &[u8], context: &[u8], p: &G1Affine, a: &G1Affine) -> Fr {
    let mut msg = Vec::with_capacity(8 + context.len() + 2 * G1_LEN);
    msg.extend_from_slice(&(context.len() as u64).to_be_bytes());
    msg.extend_from_slice(context);
    msg.extend_from_slice(&dleq::g1_to_bytes(p));
    msg.extend_from_slice(&dleq::g1_to_bytes(a));
    dleq::hash_to_scalar(tag, &msg)
}

/// Proves knowledge of `x` for `P = x·G`, bound to `context` under `tag`. Secret
/// multiplications run in constant time.
pub fn prove_knowledge(
    rng: &mut (impl RngCore + CryptoRng),
    tag: &[u8],
    context: &[u8],
    x: &Fr,
) -> KnowledgeProof {
    let g = generator();
    let p = ct::mul(&g, x).into_affine();
    let mut w = Fr::rand(rng);
    let a = ct::mul(&g, &w).into_affine();
    let c = knowledge_challenge(tag, context, &p, &a);
    let z = w + c * x;
    w.zeroize();
    KnowledgeProof { a, z }
}

/// Verifies a proof of knowledge of `log_G P`.
pub fn verify_knowledge(
    tag: &[u8],
    context: &[u8],
    p: &G1Affine,
    proof: &KnowledgeProof,
) -> Result<(), PvssError> {
    if p.is_zero() {
        return Err(PvssError::InvalidProof);
    }
    let c = knowledge_challenge(tag, context, p, &proof.a);
    let lhs = G1Projective::msm_unchecked(&[generator(), *p], &[proof.z, -c]);
    if lhs == proof.a.into_group() {
        Ok(())
    } else {
        Err(PvssError::InvalidProof)
    }
}

/// The hashed-ElGamal pad of the share that `dealer` sends to `recipient`: RFC 9380
/// `hash_to_field` of `(context, dealer, recipient, R, K)` under `tag`, where `K = r·Y = x·R`.
pub fn share_pad(
    tag: &[u8],
    context: &[u8],
    dealer: u32,
    recipient: u32,
    ephemeral: &G1Affine,
    key: &G1Affine,
) -> Fr {
    let mut msg = Vec::with_capacity(16 + context.len() + 2 * G1_LEN);
    msg.extend_from_slice(&(context.len() as u64).to_be_bytes());
    msg.extend_from_slice(context);
    msg.extend_from_slice(&dealer.to_be_bytes());
    msg.extend_from_slice(&recipient.to_be_bytes());
    msg.extend_from_slice(&dleq::g1_to_bytes(ephemeral));
    msg.extend_from_slice(&dleq::g1_to_bytes(key));
    let pad = dleq::hash_to_scalar(tag, &msg);
    msg.zeroize();
    pad
}

/// The recipient's pairwise key `K = x·R`, in constant time.
pub fn pairwise_key(secret: &Fr, ephemeral: &G1Affine) -> G1Affine {
    ct::mul(ephemeral, secret).into_affine()
}

/// A revealed pairwise key with its DLEQ proof (`log_G Y = log_R K`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairwiseKeyProof {
    /// The Diffie–Hellman value `K = x·R`.
    pub key: G1Affine,
    /// Proof that `K` uses the same secret as the encryption key `Y`.
    pub proof: DleqProof,
}

impl PairwiseKeyProof {
    /// Encoded length: `K` and the DLEQ proof.
    pub const ENCODED_LEN: usize = G1_LEN + DleqProof::ENCODED_LEN;

    /// Canonical encoding `K ‖ proof`.
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[..G1_LEN].copy_from_slice(&dleq::g1_to_bytes(&self.key));
        out[G1_LEN..].copy_from_slice(&self.proof.to_bytes());
        out
    }

    /// Decodes and validates every point and scalar.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PvssError> {
        if bytes.len() != Self::ENCODED_LEN {
            return Err(PvssError::BadLength {
                len: bytes.len(),
                expected: Self::ENCODED_LEN,
            });
        }
        let key = dleq::g1_from_bytes(&bytes[..G1_LEN]).ok_or(PvssError::BadPoint)?;
        let proof = DleqProof::from_bytes(&bytes[G1_LEN..]).map_err(|_| PvssError::BadPoint)?;
        Ok(PairwiseKeyProof { key, proof })
    }
}

/// Reveals `K = x·R` with a proof that it matches `Y = x·G`.
pub fn prove_pairwise_key(
    rng: &mut (impl RngCore + CryptoRng),
    tag: &[u8],
    context: &[u8],
    secret: &Fr,
    encryption_key: &G1Affine,
    ephemeral: &G1Affine,
) -> PairwiseKeyProof {
    let key = pairwise_key(secret, ephemeral);
    let st = DleqStatement {
        b1: generator(),
        p1: *encryption_key,
        b2: *ephemeral,
        p2: key,
    };
    let proof = dleq::prove(rng, tag, context, &st, secret);
    PairwiseKeyProof { key, proof }
}

/// Checks a revealed pairwise key against the encryption key and the ephemeral key.
pub fn verify_pairwise_key(
    tag: &[u8],
    context: &[u8],
    encryption_key: &G1Affine,
    ephemeral: &G1Affine,
    revealed: &PairwiseKeyProof,
) -> Result<(), PvssError> {
    let st = DleqStatement {
        b1: generator(),
        p1: *encryption_key,
        b2: *ephemeral,
        p2: revealed.key,
    };
    dleq::verify(tag, context, &st, &revealed.proof).map_err(|_| PvssError::InvalidProof)
}

/// Feldman evaluation `Σ_k x^k·C_k`: the public image `f(x)·G` of a committed polynomial.
pub fn feldman_eval(commitments: &[G1Affine], x: u64) -> G1Projective {
    let mut powers = Vec::with_capacity(commitments.len());
    let mut p = Fr::from(1u64);
    let xf = Fr::from(x);
    for _ in commitments {
        powers.push(p);
        p *= xf;
    }
    G1Projective::msm_unchecked(commitments, &powers)
}

/// Evaluates a secret polynomial (coefficients lowest first) at `x`, by Horner's rule.
/// Scalar-field arithmetic in arkworks has no secret-dependent branches.
pub fn poly_eval(coefficients: &[Fr], x: u64) -> Fr {
    let xf = Fr::from(x);
    coefficients
        .iter()
        .rev()
        .fold(Fr::zero(), |acc, c| acc * xf + c)
}

/// Checks a list of claimed share images at once: `Σ ρ_i·(s_i·G) = Σ ρ_i·Σ_k x^k·C_ik`
/// with 128-bit weights `ρ_i` drawn from the verifier's own randomness (small-exponents batch
/// test, Bellare, Garay and Rabin, EUROCRYPT '98): dealers cannot predict them, so bad shares
/// from colluding dealers cannot cancel, and a batch with any bad item passes with
/// probability at most 2⁻¹²⁸. `items` are `(share, commitments)` pairs for one evaluation
/// point `x`. The secret side is computed in constant time.
pub fn verify_shares_batch(
    rng: &mut (impl RngCore + CryptoRng),
    x: u64,
    items: &[(Fr, &[G1Affine])],
) -> Result<(), PvssError> {
    if items.is_empty() {
        return Ok(());
    }
    let rho: Vec<Fr> = items
        .iter()
        .map(|_| {
            let mut b = [0u8; 16];
            rng.fill_bytes(&mut b);
            Fr::from(u128::from_le_bytes(b))
        })
        .collect();
    let xf = Fr::from(x);
    let mut bases = Vec::new();
    let mut scalars = Vec::new();
    let mut lhs = Fr::zero();
    for ((s, cs), r) in items.iter().zip(&rho) {
        lhs += *r * s;
        let mut p = *r;
        for c in cs.iter() {
            bases.push(*c);
            scalars.push(p);
            p *= xf;
        }
    }
    // The shares are secret: their combination is multiplied in constant time, and only the
    // public side goes through the (variable-time) multi-scalar multiplication.
    let secret_side = secret_mul_g(&lhs);
    lhs.zeroize();
    if G1Projective::msm_unchecked(&bases, &scalars) == secret_side {
        Ok(())
    } else {
        Err(PvssError::InvalidProof)
    }
}

/// `s·G` for a secret scalar, in constant time.
pub fn secret_mul_g(s: &Fr) -> G1Projective {
    ct::mul(&generator(), s)
}

/// `s·G` for a public scalar (variable time; never use on secrets).
pub fn public_mul(s: &Fr) -> G1Projective {
    G1Projective::generator() * s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    const TAG: &[u8] = b"VEIL-TEST-PVSS";

    #[test]
    fn knowledge_proof_round_trip_and_binding() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let x = Fr::rand(&mut rng);
        let p = public_mul(&x).into_affine();
        let proof = prove_knowledge(&mut rng, TAG, b"c", &x);
        verify_knowledge(TAG, b"c", &p, &proof).unwrap();
        assert_eq!(KnowledgeProof::from_bytes(&proof.to_bytes()), Ok(proof));
        assert!(verify_knowledge(TAG, b"d", &p, &proof).is_err());
        let other = public_mul(&(x + Fr::from(1u64))).into_affine();
        assert!(verify_knowledge(TAG, b"c", &other, &proof).is_err());
        let mut bad = proof;
        bad.z += Fr::from(1u64);
        assert!(verify_knowledge(TAG, b"c", &p, &bad).is_err());
        assert!(KnowledgeProof::from_bytes(&proof.to_bytes()[1..]).is_err());
    }

    #[test]
    fn pairwise_key_and_share_encryption() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let x = Fr::rand(&mut rng);
        let y = public_mul(&x).into_affine();
        let r = Fr::rand(&mut rng);
        let big_r = public_mul(&r).into_affine();
        // The dealer's r·Y equals the recipient's x·R.
        let k_dealer = pairwise_key(&r, &y);
        assert_eq!(k_dealer, pairwise_key(&x, &big_r));
        let s = Fr::rand(&mut rng);
        let e = s + share_pad(TAG, b"c", 1, 2, &big_r, &k_dealer);
        assert_eq!(e - share_pad(TAG, b"c", 1, 2, &big_r, &k_dealer), s);
        assert_ne!(
            share_pad(TAG, b"c", 1, 3, &big_r, &k_dealer),
            share_pad(TAG, b"c", 1, 2, &big_r, &k_dealer)
        );

        let rev = prove_pairwise_key(&mut rng, TAG, b"c", &x, &y, &big_r);
        assert_eq!(rev.key, k_dealer);
        verify_pairwise_key(TAG, b"c", &y, &big_r, &rev).unwrap();
        assert_eq!(PairwiseKeyProof::from_bytes(&rev.to_bytes()), Ok(rev));
        // A wrong key cannot be passed off.
        let mut forged = rev;
        forged.key = public_mul(&Fr::from(5u64)).into_affine();
        assert!(verify_pairwise_key(TAG, b"c", &y, &big_r, &forged).is_err());
        assert!(verify_pairwise_key(TAG, b"d", &y, &big_r, &rev).is_err());
    }

    #[test]
    fn feldman_and_batch_share_check() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let polys: Vec<Vec<Fr>> = (0..3)
            .map(|_| (0..4).map(|_| Fr::rand(&mut rng)).collect())
            .collect();
        let comms: Vec<Vec<G1Affine>> = polys
            .iter()
            .map(|p| p.iter().map(|a| public_mul(a).into_affine()).collect())
            .collect();
        for (p, c) in polys.iter().zip(&comms) {
            assert_eq!(feldman_eval(c, 5), public_mul(&poly_eval(p, 5)));
        }
        let mut items: Vec<(Fr, &[G1Affine])> = polys
            .iter()
            .zip(&comms)
            .map(|(p, c)| (poly_eval(p, 5), c.as_slice()))
            .collect();
        verify_shares_batch(&mut rng, 5, &items).unwrap();
        assert!(verify_shares_batch(&mut rng, 6, &items).is_err());
        items[1].0 += Fr::from(1u64);
        assert!(verify_shares_batch(&mut rng, 5, &items).is_err());
    }
}
