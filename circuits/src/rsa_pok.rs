//! Proof of knowledge of a time-lock puzzle's exponent: `o = g^a` in `Z_N^* / {±1}`.
//!
//! # Protocol
//!
//! A Schnorr-style sigma protocol over the integers (Girault–Poupard–Stern; Damgård and
//! Fujisaki, "A statistically-hiding integer commitment scheme based on groups with hidden
//! order", ASIACRYPT 2002), made non-interactive with Fiat–Shamir. For a secret exponent
//! `0 ≤ a < 2^A` (`A` = [`ExponentRelation::exponent_bits`]):
//!
//! 1. the prover picks `k` uniform in `[0, 2^(A + C + S))` and sends `R = g^k`;
//! 2. the challenge is `c = SHA-256(EXPONENT_POK ‖ N ‖ g ‖ o ‖ R ‖ A ‖ context)` truncated
//!    to `C = 128` bits, where `context` is what the caller binds (Veil binds the
//!    delay-parameter id and the label digest);
//! 3. the response is `z = k + c·a`, computed over the integers;
//! 4. the verifier checks `0 ≤ z < 2^(A + C + S + 1)` and `g^z = R · o^c` (up to sign).
//!
//! # Why the masks are this long
//!
//! Nothing is reduced modulo a group order (nobody knows it), so `z` hides `c·a` only
//! statistically: `c·a < 2^(A + C)` and `k` is uniform over a range `2^S` times larger, so the
//! distribution of `z` is within statistical distance `2^(−S)` of one that does not depend
//! on `a`. We take `S = 128` ([`STATISTICAL_MARGIN_BITS`]). Shorter masks are the classic
//! failure of this protocol (and the reported cause of at least one time-lock
//! implementation leaking its exponents): with `k` of about the size of `c·a`, `z` is
//! visibly correlated with `c·a`, each proof leaks high bits of `a`, and a handful of
//! proofs pin it down.
//!
//! # Soundness
//!
//! Two accepting transcripts `(R, c, z)`, `(R, c', z')` give `g^(z − z') = o^(c − c')`. In
//! a group of unknown order in which the strong RSA and low-order assumptions hold (for
//! `Z_N^* / {±1}` with `N` of unknown factorisation; the quotient removes the known
//! element `−1` of order 2), `(c − c')` must divide `(z − z')` and `a = (z − z')/(c − c')`
//! is an exponent of `o` (Damgård–Fujisaki 2002, §3). With a 128-bit challenge a cheating
//! prover succeeds with probability about `2^-128` per attempt. Because `R`, `o`, `g`, `N`
//! and the caller's context enter the challenge, a proof for one puzzle does not verify
//! under another context: copying someone else's puzzle under a new label requires a new
//! proof, which requires knowing `a` (the non-malleability Veil's delay ciphertexts rely on).
//!
//! # Side channels
//!
//! `g^k` uses the fixed-base table's constant-time exponentiation; `z = k + c·a` is computed
//! on fixed-width 64-bit limbs with no data-dependent branches or lengths; `k` and the
//! intermediate limbs are zeroized.
//!
//! ```
//! use rand_core::OsRng;
//! use veil_circuits::rsa_pok::{ExponentRelation, prove, verify};
//! use veil_squaring::{FixedBase, Modulus};
//! // A 1024-bit odd modulus for the example (any odd N of unknown factorisation works).
//! let mut n = vec![0xc5u8; 128];
//! n[127] |= 1;
//! let m = Modulus::from_be_bytes(&n).unwrap();
//! let g = m.element_reduced(b"example generator");
//! let rel = ExponentRelation::new(&m, &g, 256);
//! let table = FixedBase::new(&m, &g, rel.response_bits());
//! let a = [0x42u8; 32];
//! let o = table.pow_ct(&m, &a);
//! let proof = prove(&rel, &table, &a, &o, b"context", &mut OsRng).unwrap();
//! assert!(verify(&rel, &table, &o, b"context", &proof).is_ok());
//! assert!(verify(&rel, &table, &o, b"other context", &proof).is_err());
//! ```

use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable};
use thiserror::Error;
use veil_squaring::{Element, FixedBase, Modulus};
use zeroize::Zeroize;

/// Bits of the Fiat–Shamir challenge `c`.
pub const CHALLENGE_BITS: usize = 128;

/// Statistical hiding margin `S`: masks are `2^S` times larger than `c·a`.
pub const STATISTICAL_MARGIN_BITS: usize = 128;

/// Why a proof could not be made or was refused. Verification failures are opaque.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PokError {
    /// The secret exponent is longer than the relation allows.
    #[error("exponent too long: {len} bytes for a {bits}-bit bound")]
    ExponentTooLong {
        /// Length given, in bytes.
        len: usize,
        /// The relation's bound, in bits.
        bits: usize,
    },
    /// The response has the wrong length or is out of range.
    #[error("malformed proof of knowledge")]
    Malformed,
    /// The proof does not verify.
    #[error("invalid proof of knowledge")]
    Invalid,
}

/// The public setting of a proof: the modulus, the base `g`, and the bound `A` on `a`.
#[derive(Clone, Debug)]
pub struct ExponentRelation<'a> {
    modulus: &'a Modulus,
    g: &'a Element,
    exponent_bits: usize,
}

/// A proof of knowledge of `a` with `o = g^a`: the commitment `R` and the response `z`.
#[derive(Clone, Debug)]
pub struct ExponentPok {
    commitment: Element,
    /// `z`, big-endian, exactly [`ExponentRelation::response_len`] bytes.
    response: Vec<u8>,
}

impl<'a> ExponentRelation<'a> {
    /// The relation `o = g^a` with `0 ≤ a < 2^exponent_bits`.
    pub fn new(modulus: &'a Modulus, g: &'a Element, exponent_bits: usize) -> Self {
        Self {
            modulus,
            g,
            exponent_bits,
        }
    }

    /// The bound `A` on the secret exponent, in bits.
    pub fn exponent_bits(&self) -> usize {
        self.exponent_bits
    }

    /// Bits of the mask `k`: `A + C + S`.
    pub fn mask_bits(&self) -> usize {
        self.exponent_bits + CHALLENGE_BITS + STATISTICAL_MARGIN_BITS
    }

    /// Bits of a valid response `z` (one more than the mask, for the carry of `c·a`).
    /// A fixed-base table for `g` should cover this many bits.
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

    /// Bytes of an encoded proof: `R` then `z`.
    pub fn proof_len(&self) -> usize {
        self.modulus.byte_len() + self.response_len()
    }

    fn challenge(&self, o: &Element, r: &Element, context: &[u8]) -> [u8; CHALLENGE_BITS / 8] {
        let tag = veil_domain::timelock::EXPONENT_POK;
        let mut h = Sha256::new();
        let mut put = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        };
        put(tag);
        put(&self.modulus.to_be_bytes());
        put(&canonical_bytes(self.modulus, self.g));
        put(&canonical_bytes(self.modulus, o));
        put(&canonical_bytes(self.modulus, r));
        put(&(self.exponent_bits as u64).to_be_bytes());
        put(context);
        let digest = h.finalize();
        let mut c = [0u8; CHALLENGE_BITS / 8];
        c.copy_from_slice(&digest[..CHALLENGE_BITS / 8]);
        c
    }
}

impl ExponentPok {
    /// The commitment `R = g^k`.
    pub fn commitment(&self) -> &Element {
        &self.commitment
    }

    /// The response `z`, big-endian, fixed length.
    pub fn response(&self) -> &[u8] {
        &self.response
    }

    /// Canonical encoding: `R` (canonical representative of its class, `byte_len(N)` bytes)
    /// then `z` (fixed length).
    pub fn to_bytes(&self, rel: &ExponentRelation<'_>) -> Vec<u8> {
        let mut out = canonical_bytes(rel.modulus, &self.commitment);
        out.extend_from_slice(&self.response);
        out
    }

    /// Decodes a proof: exactly [`ExponentRelation::proof_len`] bytes, `R` canonical and not
    /// `0`/`±1`, `z` within range.
    pub fn from_bytes(rel: &ExponentRelation<'_>, bytes: &[u8]) -> Result<Self, PokError> {
        if bytes.len() != rel.proof_len() {
            return Err(PokError::Malformed);
        }
        let (r_bytes, z) = bytes.split_at(rel.modulus.byte_len());
        let commitment = rel
            .modulus
            .element(r_bytes)
            .map_err(|_| PokError::Malformed)?;
        if canonical_bytes(rel.modulus, &commitment) != r_bytes || is_degenerate(r_bytes) {
            return Err(PokError::Malformed);
        }
        if !response_in_range(rel, z) {
            return Err(PokError::Malformed);
        }
        Ok(Self {
            commitment,
            response: z.to_vec(),
        })
    }
}

pub(crate) fn is_degenerate(canonical: &[u8]) -> bool {
    match canonical.split_last() {
        Some((last, rest)) => rest.iter().all(|&b| b == 0) && *last <= 1,
        None => true,
    }
}

/// Whether `z` has the right length and fewer than `response_bits` significant bits.
fn response_in_range(rel: &ExponentRelation<'_>, z: &[u8]) -> bool {
    if z.len() != rel.response_len() {
        return false;
    }
    let excess = rel.response_len() * 8 - rel.response_bits();
    excess == 0 || z[0] >> (8 - excess) == 0
}

/// The canonical representative `min(x, N − x)` of `x`'s class in `Z_N^* / {±1}`,
/// big-endian, `byte_len(N)` bytes. Constant time in `x`.
pub fn canonical_bytes(m: &Modulus, x: &Element) -> Vec<u8> {
    let a = m.to_be_bytes_of(x);
    let mut n_minus_one = m.to_be_bytes();
    // N is odd: N − 1 only clears the lowest bit. N − 1 < N, so it is a valid element.
    if let Some(last) = n_minus_one.last_mut() {
        *last &= 0xfe;
    }
    let b = match m.element(&n_minus_one) {
        Ok(minus_one) => m.to_be_bytes_of(&m.mul(x, &minus_one)),
        Err(_) => a.clone(),
    };
    // Borrow of a − b, from the least significant byte up: set iff a < b.
    let mut borrow = 0u16;
    for (&x, &y) in a.iter().rev().zip(b.iter().rev()) {
        borrow = ((x as u16).wrapping_sub(y as u16).wrapping_sub(borrow) >> 8) & 1;
    }
    let a_smaller = Choice::from(borrow as u8);
    a.iter()
        .zip(&b)
        .map(|(&x, &y)| u8::conditional_select(&y, &x, a_smaller))
        .collect()
}

/// Proves knowledge of `a` (big-endian, at most [`ExponentRelation::exponent_len`] bytes and
/// below `2^A`) with `o = g^a`, bound to `context`. `g_table` must be a fixed-base table for
/// the relation's `g`.
pub fn prove(
    rel: &ExponentRelation<'_>,
    g_table: &FixedBase,
    a: &[u8],
    o: &Element,
    context: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<ExponentPok, PokError> {
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
    let mask_len = rel.mask_bits().div_ceil(8);
    let mut k = vec![0u8; mask_len];
    rng.fill_bytes(&mut k);
    let mask_excess = mask_len * 8 - rel.mask_bits();
    k[0] &= 0xffu8 >> mask_excess;
    let commitment = g_table.pow_ct(rel.modulus, &k);
    let c = rel.challenge(o, &commitment, context);
    let response = mul_add_be(&k, &c, a, rel.response_len());
    k.zeroize();
    Ok(ExponentPok {
        commitment,
        response,
    })
}

/// Verifies a proof that the prover knows `a < 2^A` with `o = g^a`, bound to `context`.
pub fn verify(
    rel: &ExponentRelation<'_>,
    g_table: &FixedBase,
    o: &Element,
    context: &[u8],
    proof: &ExponentPok,
) -> Result<(), PokError> {
    if !response_in_range(rel, &proof.response) {
        return Err(PokError::Invalid);
    }
    let c = rel.challenge(o, &proof.commitment, context);
    let m = rel.modulus;
    let lhs = g_table.pow_ct(m, &proof.response);
    let rhs = m.mul(&proof.commitment, &m.pow_vartime(o, &c));
    if canonical_bytes(m, &lhs) == canonical_bytes(m, &rhs) {
        Ok(())
    } else {
        Err(PokError::Invalid)
    }
}

/// `k + c·a` over the integers on fixed-width limbs, as `out_len` big-endian bytes.
/// No branch or memory access depends on the values; the caller guarantees the result fits.
pub(crate) fn mul_add_be(k: &[u8], c: &[u8], a: &[u8], out_len: usize) -> Vec<u8> {
    let limbs_of = |be: &[u8], n: usize| {
        let mut out = vec![0u64; n];
        for (i, &byte) in be.iter().rev().enumerate() {
            out[i / 8] |= (byte as u64) << (8 * (i % 8));
        }
        out
    };
    let n = out_len.div_ceil(8) + 1;
    let mut acc = limbs_of(k, n);
    let mut a_l = limbs_of(a, a.len().div_ceil(8));
    let c_l = limbs_of(c, c.len().div_ceil(8));
    for (i, &ci) in c_l.iter().enumerate() {
        let mut carry = 0u128;
        for (j, &aj) in a_l.iter().enumerate() {
            let t = acc[i + j] as u128 + (ci as u128) * (aj as u128) + carry;
            acc[i + j] = t as u64;
            carry = t >> 64;
        }
        for limb in acc.iter_mut().skip(i + a_l.len()) {
            let t = *limb as u128 + carry;
            *limb = t as u64;
            carry = t >> 64;
        }
    }
    let mut out = vec![0u8; out_len];
    for (i, byte) in out.iter_mut().rev().enumerate() {
        *byte = (acc[i / 8] >> (8 * (i % 8))) as u8;
    }
    acc.zeroize();
    a_l.zeroize();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// A 1024-bit modulus whose factors were discarded when it was generated.
    const N1024: &str = concat!(
        "aab6d338efa36ec97877bb08468a9006c0937b087340c620ec579546dfc9a7ec",
        "73696316da7c035f97dde8a4e9be5c848a5a8e80d8124c2e6b0a767cb2243f71",
        "0b62d17921a86dca0695d1c3f05e7ed4f7732ded17f4129338f696bf482cb566",
        "6d2de8c156357c4a320e5022f157c9e798f26322f77b8b60dd6939ab5e9c2235",
    );

    fn setup() -> (Modulus, Element) {
        let n = hex_decode(N1024);
        let m = Modulus::from_be_bytes(&n).unwrap();
        let g = m.element_reduced(b"rsa_pok test generator");
        (m, g)
    }

    fn hex_decode(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn mul_add_matches_bigint() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for len in [1usize, 7, 8, 9, 33, 160] {
            let mut k = vec![0u8; len + 33];
            let mut a = vec![0u8; len];
            let mut c = [0u8; 16];
            rng.fill_bytes(&mut k);
            rng.fill_bytes(&mut a);
            rng.fill_bytes(&mut c);
            let out_len = len + 34;
            let got = mul_add_be(&k, &c, &a, out_len);
            let want = BigUint::from_bytes_be(&k)
                + BigUint::from_bytes_be(&c) * BigUint::from_bytes_be(&a);
            let mut want_bytes = want.to_bytes_be();
            while want_bytes.len() < out_len {
                want_bytes.insert(0, 0);
            }
            assert_eq!(got, want_bytes, "len {len}");
        }
    }

    #[test]
    fn honest_proof_verifies_and_binds_everything() {
        let (m, g) = setup();
        let rel = ExponentRelation::new(&m, &g, 1024 + 128);
        let table = FixedBase::new(&m, &g, rel.response_bits());
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let mut a = vec![0u8; rel.exponent_len()];
        rng.fill_bytes(&mut a);
        let o = table.pow_ct(&m, &a);
        let proof = prove(&rel, &table, &a, &o, b"ctx", &mut rng).unwrap();
        assert_eq!(verify(&rel, &table, &o, b"ctx", &proof), Ok(()));
        // Round trip through the encoding.
        let bytes = proof.to_bytes(&rel);
        assert_eq!(bytes.len(), rel.proof_len());
        let back = ExponentPok::from_bytes(&rel, &bytes).unwrap();
        assert_eq!(verify(&rel, &table, &o, b"ctx", &back), Ok(()));
        // Another context, another puzzle, a tweaked response or commitment: refused.
        assert_eq!(
            verify(&rel, &table, &o, b"ctx2", &proof),
            Err(PokError::Invalid)
        );
        let other = table.pow_ct(&m, &[1, 2, 3]);
        assert_eq!(
            verify(&rel, &table, &other, b"ctx", &proof),
            Err(PokError::Invalid)
        );
        let mut z = proof.clone();
        let last = z.response.len() - 1;
        z.response[last] ^= 1;
        assert_eq!(verify(&rel, &table, &o, b"ctx", &z), Err(PokError::Invalid));
        let mut r = proof.clone();
        r.commitment = m.mul(&r.commitment, &g);
        assert_eq!(verify(&rel, &table, &o, b"ctx", &r), Err(PokError::Invalid));
        // The sign of o does not matter (quotient group), the sign of nothing else helps.
        let mut n_minus_one = m.to_be_bytes();
        *n_minus_one.last_mut().unwrap() &= 0xfe;
        let neg_o = m.mul(&o, &m.element(&n_minus_one).unwrap());
        assert_eq!(verify(&rel, &table, &neg_o, b"ctx", &proof), Ok(()));
    }

    #[test]
    fn response_hides_the_exponent_statistically() {
        // z must be longer than c·a by the full margin: its top bits come from k, not from a.
        let (m, g) = setup();
        let rel = ExponentRelation::new(&m, &g, 1024 + 128);
        assert_eq!(
            rel.mask_bits(),
            rel.exponent_bits() + CHALLENGE_BITS + STATISTICAL_MARGIN_BITS
        );
        let table = FixedBase::new(&m, &g, rel.response_bits());
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let a = vec![0xffu8; rel.exponent_len()];
        let o = table.pow_ct(&m, &a);
        // Two proofs with the same a and different masks differ in their high half.
        let p1 = prove(&rel, &table, &a, &o, b"", &mut rng).unwrap();
        let p2 = prove(&rel, &table, &a, &o, b"", &mut rng).unwrap();
        assert_ne!(p1.response[..16], p2.response[..16]);
        assert!(response_in_range(&rel, &p1.response));
    }

    #[test]
    fn rejects_malformed_inputs() {
        let (m, g) = setup();
        let rel = ExponentRelation::new(&m, &g, 100);
        let table = FixedBase::new(&m, &g, rel.response_bits());
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        // 100 bits need 13 bytes, with the top 4 bits clear.
        assert!(matches!(
            prove(&rel, &table, &[0u8; 14], &g, b"", &mut rng),
            Err(PokError::ExponentTooLong { len: 14, bits: 100 })
        ));
        assert!(prove(&rel, &table, &[0x10; 13], &g, b"", &mut rng).is_err());
        let a = [0x0f; 13];
        let o = table.pow_ct(&m, &a);
        let proof = prove(&rel, &table, &a, &o, b"", &mut rng).unwrap();
        let bytes = proof.to_bytes(&rel);
        assert!(ExponentPok::from_bytes(&rel, &bytes[1..]).is_err());
        // Response with a bit above the bound.
        let mut high = bytes.clone();
        high[m.byte_len()] |= 0x80;
        assert_eq!(
            ExponentPok::from_bytes(&rel, &high).unwrap_err(),
            PokError::Malformed
        );
        // Commitment in non-canonical form (its twin N − R), or 0.
        let mut twin = bytes.clone();
        let r = m.element(&bytes[..m.byte_len()]).unwrap();
        let mut n_minus_one = m.to_be_bytes();
        *n_minus_one.last_mut().unwrap() &= 0xfe;
        let neg = m.to_be_bytes_of(&m.mul(&r, &m.element(&n_minus_one).unwrap()));
        twin[..m.byte_len()].copy_from_slice(&neg);
        assert_eq!(
            ExponentPok::from_bytes(&rel, &twin).unwrap_err(),
            PokError::Malformed
        );
        let mut zero = bytes.clone();
        zero[..m.byte_len()].fill(0);
        assert_eq!(
            ExponentPok::from_bytes(&rel, &zero).unwrap_err(),
            PokError::Malformed
        );
    }
}
