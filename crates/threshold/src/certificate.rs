//! BLS multi-signatures for order certificates: individual keys with proofs of possession,
//! aggregation into one signature plus a signer bitmap, and verification with one
//! pairing-product check.
//!
//! # Construction
//!
//! BLS signatures (Boneh, Lynn and Shacham, ASIACRYPT 2001) in the minimal-public-key variant
//! of the IETF BLS draft: secret `sk ∈ F_r`, public key `pk = sk·G₁ ∈ G1` (48 bytes),
//! signature `σ = sk·H(m) ∈ G2` (96 bytes), where `H` is RFC 9380 hash-to-curve
//! (`BLS12381G2_XMD:SHA-256_SSWU_RO_`) under `veil_domain::certificate::SIGN_H2C`.
//! Verification checks `e(pk, H(m)) = e(G₁, σ)`.
//!
//! A multi-signature on one message by a set `S` of committee members is `σ = Σ_{i∈S} σᵢ`,
//! transmitted with a bitmap of `S`; it verifies against `apk = Σ_{i∈S} pkᵢ` with the same
//! single equation, evaluated as one pairing product `e(apk, H(m))·e(−G₁, σ) = 1` (two Miller
//! loops, one final exponentiation). Summing public keys is only sound if no member chose its
//! key as a function of others' keys (the rogue-key attack), so **every member's proof of
//! possession must be verified when the committee is registered**
//! ([`BlsPublicKey::verify_possession`]; Ristenpart–Yilek 2007, Boneh–Drijvers–Neven 2018).
//! [`verify_aggregate`] assumes that has happened.
//!
//! Certificates are checked against a quorum (`2f + 1` of `n = 3f + 1` by default) with
//! [`SignerBitmap::count`] / [`check_quorum`]. Which message is signed (the order commitment)
//! is decided by the protocol crate.
//!
//! # Encodings (version 1)
//!
//! - [`BlsPublicKey`]: compressed G1 (48 bytes), [`Signature`]: compressed G2 (96 bytes); both
//!   validated (on the curve, in the subgroup, not the identity) on decode.
//! - [`SignerBitmap`]: `n (u16 BE) ‖ ⌈n/8⌉ bytes`, bit `i` (byte `i / 8`, bit `i % 8`, least
//!   significant first) set when member at position `i` (member index `i + 1`) signed; unused
//!   high bits must be zero.
//! - [`AggregateSignature`]: `0x01 ‖ bitmap ‖ signature`.

use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Affine, G2Projective, g2};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, pairing::Pairing};
use ark_ff::{UniformRand, Zero};
use rand_core::{CryptoRng, RngCore};
use thiserror::Error;
use veil_circuits::dleq::{ct, fr_from_bytes, fr_to_bytes};
use veil_circuits::pop::{self, ProofOfPossession, g2_from_bytes, g2_to_bytes};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::keys::{KeyError, MAX_MEMBERS};

/// Version byte of the aggregate-signature encoding.
pub const CERTIFICATE_VERSION: u8 = 1;

/// Why a certificate operation failed. Verification failures are deliberately uninformative.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CertificateError {
    /// A signature, aggregate or proof of possession does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// An encoding is malformed (length, version, point validation, stray bits).
    #[error("malformed {what}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
    },
    /// A signer position is outside the committee.
    #[error("signer position {position} outside committee of {n}")]
    SignerOutOfRange {
        /// Position given (0-based).
        position: usize,
        /// Committee size.
        n: usize,
    },
    /// The same signer was given twice.
    #[error("duplicate signer at position {0}")]
    DuplicateSigner(usize),
    /// The bitmap's committee size differs from the committee's.
    #[error("bitmap is for {bitmap} members, committee has {committee}")]
    CommitteeMismatch {
        /// Size the bitmap states.
        bitmap: usize,
        /// Size of the committee given.
        committee: usize,
    },
    /// Not enough signers.
    #[error("no quorum: {have} of {need} signers")]
    NoQuorum {
        /// Signers present.
        have: usize,
        /// Signers required.
        need: usize,
    },
    /// Nothing to aggregate.
    #[error("no signatures to aggregate")]
    Empty,
    /// A key is invalid.
    #[error(transparent)]
    Key(#[from] KeyError),
}

fn hash_message(msg: &[u8]) -> G2Affine {
    pop::hash_to_g2(veil_domain::certificate::SIGN_H2C, msg)
}

/// A member's BLS signing key. Zeroized on drop; used only in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SigningKey(Fr);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        loop {
            let s = Fr::rand(rng);
            if !s.is_zero() {
                return Self(s);
            }
        }
    }

    /// The 32-byte secret (little-endian scalar), in a buffer zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(fr_to_bytes(&self.0))
    }

    /// Decodes a secret: canonical, nonzero.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CertificateError> {
        match fr_from_bytes(bytes) {
            Some(s) if !s.is_zero() => Ok(Self(s)),
            _ => Err(CertificateError::Malformed {
                what: "signing key",
            }),
        }
    }

    /// `pk = sk·G₁`.
    pub fn public_key(&self) -> BlsPublicKey {
        BlsPublicKey(pop::public_key(&self.0))
    }

    /// `σ = sk·H(msg)`, in constant time.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(ct::mul::<g2::Config>(&hash_message(msg), &self.0).into_affine())
    }

    /// The proof of possession to publish at registration.
    pub fn prove_possession(&self) -> ProofOfPossession {
        pop::prove_possession(&self.0, &self.public_key().0)
    }
}

/// A member's BLS public key (G1, never the identity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlsPublicKey(G1Affine);

impl BlsPublicKey {
    /// The compressed encoding.
    pub fn to_bytes(&self) -> [u8; 48] {
        veil_circuits::dleq::g1_to_bytes(&self.0)
    }

    /// Decodes with full validation.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CertificateError> {
        veil_circuits::dleq::g1_from_bytes(bytes)
            .map(Self)
            .ok_or(CertificateError::Malformed { what: "public key" })
    }

    /// The group element.
    pub fn point(&self) -> G1Affine {
        self.0
    }

    /// Verifies a single signature.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), CertificateError> {
        pairing_check(self.0, hash_message(msg), sig.0)
    }

    /// Verifies the key's proof of possession (do this for every member at registration).
    pub fn verify_possession(&self, proof: &ProofOfPossession) -> Result<(), CertificateError> {
        pop::verify_possession(&self.0, proof).map_err(|_| CertificateError::InvalidSignature)
    }
}

/// `e(pk, h) = e(G₁, σ)` as one pairing product.
fn pairing_check(pk: G1Affine, h: G2Affine, sig: G2Affine) -> Result<(), CertificateError> {
    let neg_g = (-G1Projective::generator()).into_affine();
    if Bls12_381::multi_pairing([pk, neg_g], [h, sig]).is_zero() {
        Ok(())
    } else {
        Err(CertificateError::InvalidSignature)
    }
}

/// A BLS signature (G2, never the identity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Signature(G2Affine);

impl Signature {
    /// The compressed encoding (96 bytes).
    pub fn to_bytes(&self) -> [u8; 96] {
        g2_to_bytes(&self.0)
    }

    /// Decodes with full validation.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CertificateError> {
        g2_from_bytes(bytes)
            .map(Self)
            .ok_or(CertificateError::Malformed { what: "signature" })
    }

    /// The group element.
    pub fn point(&self) -> G2Affine {
        self.0
    }
}

/// Which committee members (by 0-based position) contributed to an aggregate.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SignerBitmap {
    n: usize,
    bits: Vec<u8>,
}

impl SignerBitmap {
    /// An empty bitmap for a committee of `n` members.
    pub fn new(n: usize) -> Result<Self, CertificateError> {
        if n == 0 || n > MAX_MEMBERS as usize {
            return Err(CertificateError::Malformed {
                what: "bitmap size",
            });
        }
        Ok(Self {
            n,
            bits: vec![0; n.div_ceil(8)],
        })
    }

    /// Committee size.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Always false: a bitmap covers at least one member.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Marks `position`; errors if out of range or already set.
    pub fn insert(&mut self, position: usize) -> Result<(), CertificateError> {
        if position >= self.n {
            return Err(CertificateError::SignerOutOfRange {
                position,
                n: self.n,
            });
        }
        if self.contains(position) {
            return Err(CertificateError::DuplicateSigner(position));
        }
        self.bits[position / 8] |= 1 << (position % 8);
        Ok(())
    }

    /// Whether `position` signed.
    pub fn contains(&self, position: usize) -> bool {
        position < self.n && self.bits[position / 8] >> (position % 8) & 1 == 1
    }

    /// Number of signers.
    pub fn count(&self) -> usize {
        self.bits.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Positions that signed, ascending.
    pub fn signers(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.n).filter(|&i| self.contains(i))
    }

    /// Length of [`SignerBitmap::to_bytes`].
    pub fn encoded_len(&self) -> usize {
        2 + self.bits.len()
    }

    /// The encoding (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        // n ≤ MAX_MEMBERS < 2^16 by construction.
        out.extend_from_slice(&(self.n as u16).to_be_bytes());
        out.extend_from_slice(&self.bits);
        out
    }

    /// Decodes a bitmap at the start of `bytes`; returns it and the bytes used.
    pub fn decode_prefix(bytes: &[u8]) -> Result<(Self, usize), CertificateError> {
        let bad = CertificateError::Malformed { what: "bitmap" };
        if bytes.len() < 2 {
            return Err(bad);
        }
        let n = u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
        let mut map = Self::new(n)?;
        let used = 2 + map.bits.len();
        if bytes.len() < used {
            return Err(bad);
        }
        map.bits.copy_from_slice(&bytes[2..used]);
        if !n.is_multiple_of(8) && map.bits[n / 8] >> (n % 8) != 0 {
            return Err(bad);
        }
        Ok((map, used))
    }
}

/// An aggregate signature with its signer bitmap: the cryptographic part of an order
/// certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregateSignature {
    /// Who signed.
    pub signers: SignerBitmap,
    /// `Σ σᵢ` over the signers.
    pub signature: Signature,
}

impl AggregateSignature {
    /// The encoding `0x01 ‖ bitmap ‖ signature`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.signers.encoded_len() + 96);
        out.push(CERTIFICATE_VERSION);
        out.extend_from_slice(&self.signers.to_bytes());
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }

    /// Decodes with full validation (no trailing bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CertificateError> {
        let bad = CertificateError::Malformed {
            what: "aggregate signature",
        };
        if bytes.first() != Some(&CERTIFICATE_VERSION) {
            return Err(bad);
        }
        let (signers, used) = SignerBitmap::decode_prefix(&bytes[1..])?;
        let rest = &bytes[1 + used..];
        if rest.len() != 96 {
            return Err(bad);
        }
        Ok(Self {
            signers,
            signature: Signature::from_bytes(rest)?,
        })
    }

    /// Verifies against the committee (see [`verify_aggregate`]).
    pub fn verify(&self, committee: &[BlsPublicKey], msg: &[u8]) -> Result<(), CertificateError> {
        verify_aggregate(committee, &self.signers, msg, &self.signature)
    }
}

/// Aggregates individual signatures `(position, σ)` for a committee of `n`. Does not verify
/// them (verify each as it arrives, or the aggregate afterwards).
pub fn aggregate(
    n: usize,
    signatures: &[(usize, Signature)],
) -> Result<AggregateSignature, CertificateError> {
    if signatures.is_empty() {
        return Err(CertificateError::Empty);
    }
    let mut signers = SignerBitmap::new(n)?;
    let mut sum = G2Projective::zero();
    for (pos, sig) in signatures {
        signers.insert(*pos)?;
        sum += sig.0;
    }
    let signature = sum.into_affine();
    if signature.is_zero() {
        // Only possible if signatures cancel, i.e. someone submitted a negated signature.
        return Err(CertificateError::InvalidSignature);
    }
    Ok(AggregateSignature {
        signers,
        signature: Signature(signature),
    })
}

/// Verifies a multi-signature on `msg` by the members marked in `signers`, with one
/// pairing-product check against the sum of their keys. Every key in `committee` must have
/// had its proof of possession verified at registration. Opaque on failure.
pub fn verify_aggregate(
    committee: &[BlsPublicKey],
    signers: &SignerBitmap,
    msg: &[u8],
    signature: &Signature,
) -> Result<(), CertificateError> {
    if signers.len() != committee.len() {
        return Err(CertificateError::CommitteeMismatch {
            bitmap: signers.len(),
            committee: committee.len(),
        });
    }
    if signers.count() == 0 {
        return Err(CertificateError::Empty);
    }
    let apk: G1Projective = signers.signers().map(|i| committee[i].0).sum();
    let apk = apk.into_affine();
    if apk.is_zero() {
        return Err(CertificateError::InvalidSignature);
    }
    pairing_check(apk, hash_message(msg), signature.0)
}

/// Checks that at least `quorum` members signed.
pub fn check_quorum(signers: &SignerBitmap, quorum: usize) -> Result<(), CertificateError> {
    let have = signers.count();
    if have < quorum {
        return Err(CertificateError::NoQuorum { have, need: quorum });
    }
    Ok(())
}

/// The default certificate quorum for `n` members tolerating `f = ⌊(n − 1)/3⌋` faults: the
/// smallest `q > (n + f)/2`, so any two quorums share more than `f` members and hence an
/// honest one (`2f + 1` when `n = 3f + 1`).
pub fn default_quorum(n: usize) -> usize {
    let f = n.saturating_sub(1) / 3;
    (n + f) / 2 + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn committee(n: usize, seed: u64) -> (Vec<SigningKey>, Vec<BlsPublicKey>) {
        let mut r = ChaCha20Rng::seed_from_u64(seed);
        let sks: Vec<SigningKey> = (0..n).map(|_| SigningKey::generate(&mut r)).collect();
        let pks = sks.iter().map(SigningKey::public_key).collect();
        (sks, pks)
    }

    #[test]
    fn sign_verify_and_possession() {
        let (sks, pks) = committee(2, 1);
        let sig = sks[0].sign(b"order commitment");
        pks[0].verify(b"order commitment", &sig).unwrap();
        assert_eq!(
            pks[0].verify(b"other", &sig),
            Err(CertificateError::InvalidSignature)
        );
        assert_eq!(
            pks[1].verify(b"order commitment", &sig),
            Err(CertificateError::InvalidSignature)
        );
        pks[0]
            .verify_possession(&sks[0].prove_possession())
            .unwrap();
        assert!(
            pks[1]
                .verify_possession(&sks[0].prove_possession())
                .is_err()
        );
        // A proof of possession is not a signature on the key bytes under the signing tag.
        let as_sig = Signature(sks[0].prove_possession().0);
        assert!(pks[0].verify(&pks[0].to_bytes(), &as_sig).is_err());
        let sk2 = SigningKey::from_bytes(&*sks[0].to_bytes()).unwrap();
        assert_eq!(sk2.public_key(), pks[0]);
        assert!(SigningKey::from_bytes(&[0u8; 32]).is_err());
    }

    #[test]
    fn aggregate_verifies_only_for_its_signers_and_message() {
        let (sks, pks) = committee(7, 2);
        let msg = b"C_s";
        let sigs: Vec<(usize, Signature)> = [0usize, 2, 3, 5, 6]
            .iter()
            .map(|&i| (i, sks[i].sign(msg)))
            .collect();
        let agg = aggregate(7, &sigs).unwrap();
        assert_eq!(agg.signers.count(), 5);
        agg.verify(&pks, msg).unwrap();
        check_quorum(&agg.signers, default_quorum(7)).unwrap();
        assert_eq!(
            check_quorum(&agg.signers, 6),
            Err(CertificateError::NoQuorum { have: 5, need: 6 })
        );
        assert_eq!(
            agg.verify(&pks, b"C_t"),
            Err(CertificateError::InvalidSignature)
        );
        // Claiming an extra signer, or dropping one, breaks verification.
        let mut more = agg.clone();
        more.signers.insert(1).unwrap();
        assert_eq!(
            more.signers.signers().collect::<Vec<_>>(),
            vec![0, 1, 2, 3, 5, 6]
        );
        assert_eq!(
            more.verify(&pks, msg),
            Err(CertificateError::InvalidSignature)
        );
        let fewer = AggregateSignature {
            signers: aggregate(7, &sigs[..4]).unwrap().signers,
            signature: agg.signature,
        };
        assert_eq!(
            fewer.verify(&pks, msg),
            Err(CertificateError::InvalidSignature)
        );
        assert!(matches!(
            agg.verify(&pks[..6], msg),
            Err(CertificateError::CommitteeMismatch { .. })
        ));
        assert_eq!(
            aggregate(7, &[sigs[0], sigs[0]]),
            Err(CertificateError::DuplicateSigner(0))
        );
        assert!(matches!(
            aggregate(7, &[(7, sigs[0].1)]),
            Err(CertificateError::SignerOutOfRange { position: 7, n: 7 })
        ));
        assert_eq!(
            AggregateSignature::from_bytes(&agg.to_bytes()).unwrap(),
            agg
        );
    }

    #[test]
    fn quorum_defaults() {
        assert_eq!(default_quorum(4), 3);
        assert_eq!(default_quorum(7), 5);
        assert_eq!(default_quorum(5), 4);
        assert_eq!(default_quorum(1), 1);
        for n in 1..200 {
            let f = (n - 1) / 3;
            let q = default_quorum(n);
            assert!(2 * q > n + f && q <= n - f, "n = {n}");
        }
    }

    #[test]
    fn bitmap_and_aggregate_decoding_rejects_malformed() {
        let (sks, _) = committee(10, 3);
        let agg = aggregate(10, &[(9, sks[9].sign(b"m"))]).unwrap();
        let bytes = agg.to_bytes();
        assert_eq!(bytes.len(), 1 + 2 + 2 + 96);
        let mut v = bytes.clone();
        v[4] |= 0x04; // position 10 does not exist in a committee of 10
        assert!(AggregateSignature::from_bytes(&v).is_err());
        let mut v = bytes.clone();
        v.push(0);
        assert!(AggregateSignature::from_bytes(&v).is_err());
        assert!(AggregateSignature::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut v = bytes.clone();
        v[0] = 2;
        assert!(AggregateSignature::from_bytes(&v).is_err());
        let mut v = bytes.clone();
        v[1..3].copy_from_slice(&0u16.to_be_bytes());
        assert!(AggregateSignature::from_bytes(&v).is_err());
        let mut v = bytes;
        let last = v.len() - 10;
        v[last] ^= 1;
        assert!(AggregateSignature::from_bytes(&v).is_err());
    }
}
