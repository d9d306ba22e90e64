//! Proofs of possession of BLS signing keys: the rogue-key defence of order certificates.
//!
//! # Construction
//!
//! Veil's order certificates are BLS multi-signatures in the "minimal public key" variant:
//! public keys `pk = sk·G₁` in G1 and signatures in G2. Aggregate verification of a
//! multi-signature sums the signers' public keys, so a member who registers
//! `pk' = sk'·G₁ − pk_victim` could forge certificates "signed" by the victim (the rogue-key
//! attack). A **proof of possession** defeats it: at registration every member publishes
//! `π = sk·H_pop(pk)`, a BLS signature on its own public key under a hash-to-curve tag used
//! for nothing else (`veil_domain::certificate::POP_H2C`), and the registry checks
//! `e(pk, H_pop(pk)) = e(G₁, π)` (Ristenpart and Yilek, "The power of proofs-of-possession",
//! EUROCRYPT 2007; the IETF BLS signature draft, §3.3). A rogue key has no known secret, so no
//! proof of possession can be produced for it.
//!
//! Hashing to G2 follows RFC 9380 (`BLS12381G2_XMD:SHA-256_SSWU_RO_`). The separate tag is
//! what makes a proof of possession useless as a signature on any protocol message and vice
//! versa. The secret-key multiplication runs in constant time
//! ([`crate::dleq::ct::mul`]).
//!
//! # Example
//!
//! ```
//! use ark_bls12_381::{Fr, G1Projective};
//! use ark_ec::{CurveGroup, PrimeGroup};
//! use ark_ff::UniformRand;
//! use veil_circuits::pop;
//!
//! let sk = Fr::rand(&mut rand_core::OsRng);
//! let pk = (G1Projective::generator() * sk).into_affine();
//! let proof = pop::prove_possession(&sk, &pk);
//! assert!(pop::verify_possession(&pk, &proof).is_ok());
//! ```

use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Affine, G2Projective, g2};
use ark_ec::{
    AffineRepr, CurveGroup, PrimeGroup,
    hashing::{HashToCurve, curve_maps::wb::WBMap, map_to_curve_hasher::MapToCurveBasedHasher},
    pairing::Pairing,
};
use ark_ff::{Zero, field_hashers::DefaultFieldHasher};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use sha2::Sha256;
use thiserror::Error;

use crate::dleq::{ct, g1_to_bytes};

/// Length of a compressed G2 point.
pub const G2_LEN: usize = 96;

/// Why a proof of possession was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PopError {
    /// The pairing check failed.
    #[error("invalid proof of possession")]
    Invalid,
    /// The public key is the identity (never a valid key).
    #[error("public key is the identity")]
    IdentityKey,
    /// The encoding is not a valid, non-identity G2 subgroup point of the right length.
    #[error("proof of possession encoding is invalid ({len} bytes)")]
    BadEncoding {
        /// Length given.
        len: usize,
    },
}

/// RFC 9380 hash-to-curve into G2 (`BLS12381G2_XMD:SHA-256_SSWU_RO_`) under `dst`.
pub fn hash_to_g2(dst: &[u8], msg: &[u8]) -> G2Affine {
    type H =
        MapToCurveBasedHasher<G2Projective, DefaultFieldHasher<Sha256, 128>, WBMap<g2::Config>>;
    // Infallible for BLS12-381 G2: constructing the hasher only checks the (fixed, valid)
    // curve parameters, and the simplified SWU map with the isogeny is defined on every input.
    H::new(dst)
        .and_then(|h| h.hash(msg))
        .expect("hash to G2 is total")
}

/// Compressed encoding of a G2 point.
pub fn g2_to_bytes(p: &G2Affine) -> [u8; G2_LEN] {
    let mut out = [0u8; G2_LEN];
    // Infallible: a compressed G2 point is exactly G2_LEN bytes and the buffer has that size.
    p.serialize_compressed(&mut out[..])
        .expect("compressed G2 point is 96 bytes");
    out
}

/// Decodes a compressed G2 point: on the curve, in the prime-order subgroup, not the identity,
/// canonically encoded. `None` otherwise.
pub fn g2_from_bytes(bytes: &[u8]) -> Option<G2Affine> {
    if bytes.len() != G2_LEN {
        return None;
    }
    let p = G2Affine::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes).ok()?;
    if p.is_zero() || g2_to_bytes(&p)[..] != bytes[..] {
        return None;
    }
    Some(p)
}

/// A proof of possession of the secret key behind a BLS public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProofOfPossession(pub G2Affine);

impl ProofOfPossession {
    /// Compressed encoding (96 bytes).
    pub fn to_bytes(&self) -> [u8; G2_LEN] {
        g2_to_bytes(&self.0)
    }

    /// Decodes with full validation.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PopError> {
        g2_from_bytes(bytes)
            .map(Self)
            .ok_or(PopError::BadEncoding { len: bytes.len() })
    }
}

fn pop_point(pk: &G1Affine) -> G2Affine {
    hash_to_g2(veil_domain::certificate::POP_H2C, &g1_to_bytes(pk))
}

/// Signs `pk` (which must be `sk·G₁`) under the proof-of-possession tag, in constant time.
pub fn prove_possession(sk: &Fr, pk: &G1Affine) -> ProofOfPossession {
    ProofOfPossession(ct::mul::<g2::Config>(&pop_point(pk), sk).into_affine())
}

/// Checks `e(pk, H_pop(pk)) = e(G₁, π)` with one pairing-product evaluation.
pub fn verify_possession(pk: &G1Affine, proof: &ProofOfPossession) -> Result<(), PopError> {
    if pk.is_zero() {
        return Err(PopError::IdentityKey);
    }
    let neg_g = (-G1Projective::generator()).into_affine();
    let out = Bls12_381::multi_pairing([*pk, neg_g], [pop_point(pk), proof.0]);
    if out.is_zero() {
        Ok(())
    } else {
        Err(PopError::Invalid)
    }
}

/// `sk·G₁`, computed in constant time (no table: keys are generated rarely).
pub fn public_key(sk: &Fr) -> G1Affine {
    ct::mul(&G1Projective::generator().into_affine(), sk).into_affine()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::UniformRand;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn possession_verifies_and_rogue_keys_fail() {
        let mut r = ChaCha20Rng::seed_from_u64(1);
        let sk = Fr::rand(&mut r);
        let pk = public_key(&sk);
        let pop = prove_possession(&sk, &pk);
        verify_possession(&pk, &pop).unwrap();
        assert_eq!(ProofOfPossession::from_bytes(&pop.to_bytes()), Ok(pop));

        // Rogue key pk' = sk'·G − pk: the attacker knows sk' but not log pk'.
        let sk2 = Fr::rand(&mut r);
        let rogue = (public_key(&sk2).into_group() - pk).into_affine();
        let attempt = prove_possession(&sk2, &rogue);
        assert_eq!(verify_possession(&rogue, &attempt), Err(PopError::Invalid));
        // Someone else's proof does not transfer.
        assert_eq!(
            verify_possession(&public_key(&sk2), &pop),
            Err(PopError::Invalid)
        );
        assert_eq!(
            verify_possession(&G1Affine::zero(), &pop),
            Err(PopError::IdentityKey)
        );
    }

    #[test]
    fn pop_encoding_rejects_identity_and_garbage() {
        let z = g2_to_bytes(&G2Affine::zero());
        assert!(ProofOfPossession::from_bytes(&z).is_err());
        assert!(ProofOfPossession::from_bytes(&z[1..]).is_err());
        let mut g = g2_to_bytes(&G2Projective::generator().into_affine());
        g[40] ^= 1;
        assert!(ProofOfPossession::from_bytes(&g).is_err());
    }
}
