//! Proof that two elements of `Z_N^* / {±1}` share one secret exponent:
//! `o = g^a ∧ P = (h^2)^a`, the RSA-group half of a verifiable delay ciphertext.
//!
//! # Protocol
//!
//! The two-base variant of the integer Schnorr protocol of [`crate::rsa_pok`]
//! (Girault–Poupard–Stern; Damgård and Fujisaki, ASIACRYPT 2002; the equality form is
//! Chaum–Pedersen's, carried to a group of unknown order), made non-interactive with
//! Fiat–Shamir and sent in the compact `(c, z)` form. Both bases are public and fixed by
//! the delay parameters, so prover and verifier use fixed-base tables for them. For a secret
//! `0 ≤ a < 2^A`:
//!
//! 1. the prover picks `r` uniform in `[0, 2^(A + C + S))` and computes `R₁ = g^r`,
//!    `R₂ = (h^2)^r`;
//! 2. `c = SHA-256(EXPONENT_EQUALITY ‖ N ‖ g ‖ h^2 ‖ o ‖ P ‖ R₁ ‖ R₂ ‖ A ‖ context)`
//!    truncated to `C = 128` bits (every element as the canonical representative of its
//!    class, every field length-prefixed);
//! 3. `z = r + c·a` over the integers; the proof is `(c, z)`;
//! 4. the verifier checks `0 ≤ z < 2^(A + C + S + 1)`, recomputes `R₁ = g^z · o^(−c)`,
//!    `R₂ = (h^2)^z · P^(−c)` and accepts iff the hash of step 2 returns `c`.
//!
//! # The ±1 quotient
//!
//! Elements travel as classes `{x, N − x}`, so every equation holds only up to sign. The
//! verifier hashes the *canonical* representatives of the recomputed `R₁`, `R₂`; a sign flip
//! anywhere leaves them unchanged, which is exactly the quotient group's equality. Working
//! in the quotient is what makes the protocol sound: in `Z_N^*` itself the known element
//! `−1` of order 2 lets a prover pass with probability ½ for a false statement (any even
//! `c` erases the sign).
//!
//! # Security
//!
//! *Statistical zero knowledge*: `c·a < 2^(A+C)` and `r` ranges over `2^(A+C+S)` values, so
//! `z` is within statistical distance `2^(−S)` (`S = 128`) of a distribution independent of
//! `a`; `(R₁, R₂)` are determined by `(c, z)` and the statement.
//!
//! *Soundness*: from two accepting answers `(c, z)`, `(c', z')` to the same `(R₁, R₂)`,
//! `g^(z−z') = ±o^(c−c')` and `(h^2)^(z−z') = ±P^(c−c')`. Under the strong RSA and
//! low-order assumptions in `Z_N^* / {±1}`, `(c − c')` divides `(z − z')` and
//! `a = (z − z')/(c − c')` satisfies both `o = ±g^a` and `P = ±(h^2)^a` (Damgård–Fujisaki
//! 2002, §3; the second equation uses the same quotient, so the same `a` opens both). Hence
//! `P = ±k^2` for `k = h^a = o^(2^T)`, the value the solver computes.
//!
//! *Compact form*: `(c, z)` and `(R₁, R₂, z)` are interconvertible given the statement, so
//! the compact form is as sound; it saves two 256-byte elements and costs the verifier one
//! modular inversion (done once for both bases, Montgomery's trick).
//!
//! ```
//! use rand_core::OsRng;
//! use veil_circuits::rsa_eq::{EqualityRelation, prove, verify};
//! use veil_squaring::{FixedBase, Modulus};
//! let mut n = vec![0xc5u8; 128];
//! n[127] |= 1;
//! let m = Modulus::from_be_bytes(&n).unwrap();
//! let g = m.element_reduced(b"g");
//! let h2 = m.element_reduced(b"h squared");
//! let rel = EqualityRelation::new(&m, &g, &h2, 256);
//! let (gt, ht) = (FixedBase::new(&m, &g, rel.response_bits()), FixedBase::new(&m, &h2, rel.response_bits()));
//! let a = [0x42u8; 32];
//! let (o, p) = (gt.pow_ct(&m, &a), ht.pow_ct(&m, &a));
//! let proof = prove(&rel, &gt, &ht, &a, &o, &p, b"ctx", &mut OsRng).unwrap();
//! assert!(verify(&rel, &gt, &ht, &o, &p, b"ctx", &proof).is_ok());
//! assert!(verify(&rel, &gt, &ht, &p, &o, b"ctx", &proof).is_err());
//! ```

use num_bigint::BigUint;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use veil_squaring::{Element, FixedBase, Modulus};
use zeroize::Zeroize;

use crate::rsa_pok::{
    CHALLENGE_BITS, PokError, STATISTICAL_MARGIN_BITS, canonical_bytes, is_degenerate, mul_add_be,
};

/// Bytes of the challenge `c`.
pub const CHALLENGE_LEN: usize = CHALLENGE_BITS / 8;

/// The public setting: the modulus, the bases `g` and `h^2`, the bound `A` on `a`.
#[derive(Clone, Debug)]
pub struct EqualityRelation<'a> {
    modulus: &'a Modulus,
    g: &'a Element,
    h2: &'a Element,
    exponent_bits: usize,
}

/// A compact proof `(c, z)` that `o = g^a` and `P = (h^2)^a` for one `a`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EqualityProof {
    challenge: [u8; CHALLENGE_LEN],
    /// `z`, big-endian, exactly [`EqualityRelation::response_len`] bytes.
    response: Vec<u8>,
}

impl<'a> EqualityRelation<'a> {
    /// The relation `o = g^a ∧ P = h2^a` with `0 ≤ a < 2^exponent_bits`.
    pub fn new(
        modulus: &'a Modulus,
        g: &'a Element,
        h2: &'a Element,
        exponent_bits: usize,
    ) -> Self {
        Self {
            modulus,
            g,
            h2,
            exponent_bits,
        }
    }

    /// Bits of the mask `r`: `A + C + S`.
    pub fn mask_bits(&self) -> usize {
        self.exponent_bits + CHALLENGE_BITS + STATISTICAL_MARGIN_BITS
    }

    /// Bits of a valid response; fixed-base tables for both bases should cover this many.
    pub fn response_bits(&self) -> usize {
        self.mask_bits() + 1
    }

    /// Bytes of an encoded response.
    pub fn response_len(&self) -> usize {
        self.response_bits().div_ceil(8)
    }

    /// Bytes of an encoded secret exponent.
    pub fn exponent_len(&self) -> usize {
        self.exponent_bits.div_ceil(8)
    }

    /// Bytes of an encoded proof: `c` then `z`.
    pub fn proof_len(&self) -> usize {
        CHALLENGE_LEN + self.response_len()
    }

    fn challenge(
        &self,
        o: &Element,
        p: &Element,
        r1: &Element,
        r2: &Element,
        context: &[u8],
    ) -> [u8; CHALLENGE_LEN] {
        let m = self.modulus;
        let mut h = Sha256::new();
        let mut put = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        put(veil_domain::timelock::EXPONENT_EQUALITY);
        put(&m.to_be_bytes());
        for x in [self.g, self.h2, o, p, r1, r2] {
            put(&canonical_bytes(m, x));
        }
        put(&(self.exponent_bits as u64).to_be_bytes());
        put(context);
        let digest = h.finalize();
        let mut c = [0u8; CHALLENGE_LEN];
        c.copy_from_slice(&digest[..CHALLENGE_LEN]);
        c
    }
}

impl EqualityProof {
    /// Canonical encoding: `c` (16 bytes) then `z` (fixed length).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.challenge.to_vec();
        out.extend_from_slice(&self.response);
        out
    }

    /// Decodes a proof: exactly [`EqualityRelation::proof_len`] bytes, `z` within range.
    pub fn from_bytes(rel: &EqualityRelation<'_>, bytes: &[u8]) -> Result<Self, PokError> {
        if bytes.len() != rel.proof_len() {
            return Err(PokError::Malformed);
        }
        let (c, z) = bytes.split_at(CHALLENGE_LEN);
        if !response_in_range(rel, z) {
            return Err(PokError::Malformed);
        }
        let mut challenge = [0u8; CHALLENGE_LEN];
        challenge.copy_from_slice(c);
        Ok(Self {
            challenge,
            response: z.to_vec(),
        })
    }
}

fn response_in_range(rel: &EqualityRelation<'_>, z: &[u8]) -> bool {
    if z.len() != rel.response_len() {
        return false;
    }
    let excess = rel.response_len() * 8 - rel.response_bits();
    excess == 0 || z[0] >> (8 - excess) == 0
}

/// Proves `o = g^a ∧ p = h2^a` for the secret `a` (big-endian, exactly
/// [`EqualityRelation::exponent_len`] bytes or fewer, below `2^A`), bound to `context`.
/// The tables must be fixed-base tables for the relation's `g` and `h^2` covering
/// [`EqualityRelation::response_bits`].
#[allow(clippy::too_many_arguments)]
pub fn prove(
    rel: &EqualityRelation<'_>,
    g_table: &FixedBase,
    h2_table: &FixedBase,
    a: &[u8],
    o: &Element,
    p: &Element,
    context: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<EqualityProof, PokError> {
    let too_long = PokError::ExponentTooLong {
        len: a.len(),
        bits: rel.exponent_bits,
    };
    if a.len() > rel.exponent_len() {
        return Err(too_long);
    }
    let excess = rel.exponent_len() * 8 - rel.exponent_bits;
    // The length is public; whether the top bits are clear only fails on a caller bug.
    if a.len() == rel.exponent_len() && excess > 0 && a[0] >> (8 - excess) != 0 {
        return Err(too_long);
    }
    let m = rel.modulus;
    let mask_len = rel.mask_bits().div_ceil(8);
    let mut r = vec![0u8; mask_len];
    rng.fill_bytes(&mut r);
    r[0] &= 0xffu8 >> (mask_len * 8 - rel.mask_bits());
    let r1 = g_table.pow_ct(m, &r);
    let r2 = h2_table.pow_ct(m, &r);
    let challenge = rel.challenge(o, p, &r1, &r2, context);
    let response = mul_add_be(&r, &challenge, a, rel.response_len());
    r.zeroize();
    Ok(EqualityProof {
        challenge,
        response,
    })
}

/// Verifies a proof that `o = g^a` and `p = h2^a` for one `a < 2^A`, bound to `context`.
/// Every failure is the same opaque [`PokError::Invalid`].
pub fn verify(
    rel: &EqualityRelation<'_>,
    g_table: &FixedBase,
    h2_table: &FixedBase,
    o: &Element,
    p: &Element,
    context: &[u8],
    proof: &EqualityProof,
) -> Result<(), PokError> {
    let m = rel.modulus;
    if !response_in_range(rel, &proof.response)
        || is_degenerate(&canonical_bytes(m, o))
        || is_degenerate(&canonical_bytes(m, p))
    {
        return Err(PokError::Invalid);
    }
    let c = &proof.challenge;
    let oc = m.pow_vartime(o, c);
    let pc = m.pow_vartime(p, c);
    // One inversion for both: w = (o^c·P^c)^(−1), then o^(−c) = w·P^c, P^(−c) = w·o^c.
    let w = invert(m, &m.mul(&oc, &pc)).ok_or(PokError::Invalid)?;
    let o_inv = m.mul(&w, &pc);
    let p_inv = m.mul(&w, &oc);
    let r1 = m.mul(&g_table.pow_ct(m, &proof.response), &o_inv);
    let r2 = m.mul(&h2_table.pow_ct(m, &proof.response), &p_inv);
    if rel.challenge(o, p, &r1, &r2, context) == proof.challenge {
        Ok(())
    } else {
        Err(PokError::Invalid)
    }
}

/// `x^(−1) mod N` for public `x` (variable time); `None` if `gcd(x, N) ≠ 1`.
fn invert(m: &Modulus, x: &Element) -> Option<Element> {
    let n = BigUint::from_bytes_be(&m.to_be_bytes());
    let v = BigUint::from_bytes_be(&m.to_be_bytes_of(x));
    let inv = v.modinv(&n)?;
    let mut be = inv.to_bytes_be();
    let len = m.byte_len();
    if be.len() < len {
        let mut padded = vec![0u8; len - be.len()];
        padded.extend_from_slice(&be);
        be = padded;
    }
    m.element(&be).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    struct Setup {
        m: Modulus,
        g: Element,
        h2: Element,
    }

    fn setup() -> Setup {
        let mut n = vec![0xd3u8; 128];
        n[127] |= 1;
        let m = Modulus::from_be_bytes(&n).unwrap();
        let g = m.element_reduced(b"g");
        let h2 = m.element_reduced(b"h2");
        Setup { m, g, h2 }
    }

    fn tables(s: &Setup, rel: &EqualityRelation<'_>) -> (FixedBase, FixedBase) {
        (
            FixedBase::new(&s.m, &s.g, rel.response_bits()),
            FixedBase::new(&s.m, &s.h2, rel.response_bits()),
        )
    }

    #[test]
    fn honest_proof_verifies_and_binds_statement_and_context() {
        let s = setup();
        let rel = EqualityRelation::new(&s.m, &s.g, &s.h2, 1152);
        let (gt, ht) = tables(&s, &rel);
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut a = vec![0u8; rel.exponent_len()];
        rng.fill_bytes(&mut a);
        let (o, p) = (gt.pow_ct(&s.m, &a), ht.pow_ct(&s.m, &a));
        let proof = prove(&rel, &gt, &ht, &a, &o, &p, b"ctx", &mut rng).unwrap();
        assert_eq!(proof.to_bytes().len(), rel.proof_len());
        let decoded = EqualityProof::from_bytes(&rel, &proof.to_bytes()).unwrap();
        assert!(verify(&rel, &gt, &ht, &o, &p, b"ctx", &decoded).is_ok());
        // The sign of either element does not matter (quotient group).
        let minus_one = {
            let mut nm1 = s.m.to_be_bytes();
            *nm1.last_mut().unwrap() &= 0xfe;
            s.m.element(&nm1).unwrap()
        };
        let neg_p = s.m.mul(&p, &minus_one);
        assert!(verify(&rel, &gt, &ht, &o, &neg_p, b"ctx", &proof).is_ok());
        // Another context, swapped or unrelated elements, another exponent: rejected.
        assert!(verify(&rel, &gt, &ht, &o, &p, b"ctx2", &proof).is_err());
        assert!(verify(&rel, &gt, &ht, &p, &o, b"ctx", &proof).is_err());
        let mut b = a.clone();
        b[5] ^= 1;
        let p_other = ht.pow_ct(&s.m, &b);
        assert!(verify(&rel, &gt, &ht, &o, &p_other, b"ctx", &proof).is_err());
        // A prover with a for o but b for P cannot make an accepting proof.
        let bad = prove(&rel, &gt, &ht, &a, &o, &p_other, b"ctx", &mut rng).unwrap();
        assert!(verify(&rel, &gt, &ht, &o, &p_other, b"ctx", &bad).is_err());
        // Tampered challenge or response.
        let mut bytes = proof.to_bytes();
        bytes[3] ^= 1;
        let t = EqualityProof::from_bytes(&rel, &bytes).unwrap();
        assert!(verify(&rel, &gt, &ht, &o, &p, b"ctx", &t).is_err());
        let mut bytes = proof.to_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let t = EqualityProof::from_bytes(&rel, &bytes).unwrap();
        assert!(verify(&rel, &gt, &ht, &o, &p, b"ctx", &t).is_err());
    }

    #[test]
    fn malformed_proofs_and_exponents_are_refused() {
        let s = setup();
        let rel = EqualityRelation::new(&s.m, &s.g, &s.h2, 1152);
        let (gt, ht) = tables(&s, &rel);
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        assert_eq!(
            EqualityProof::from_bytes(&rel, &vec![0u8; rel.proof_len() - 1]),
            Err(PokError::Malformed)
        );
        let mut too_big = vec![0u8; rel.proof_len()];
        too_big[CHALLENGE_LEN] = 0xff;
        assert_eq!(
            EqualityProof::from_bytes(&rel, &too_big),
            Err(PokError::Malformed)
        );
        let long = vec![0x01u8; rel.exponent_len() + 1];
        let o = s.m.one();
        assert!(matches!(
            prove(&rel, &gt, &ht, &long, &o, &o, b"", &mut rng),
            Err(PokError::ExponentTooLong { .. })
        ));
        // Degenerate statements (±1) are refused outright.
        let a = vec![0u8; rel.exponent_len()];
        let proof = prove(&rel, &gt, &ht, &a, &o, &o, b"", &mut rng).unwrap();
        assert!(verify(&rel, &gt, &ht, &o, &o, b"", &proof).is_err());
    }
}
