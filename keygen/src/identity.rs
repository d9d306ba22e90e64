//! Member identities: a BLS signing key with proof of possession and a share-encryption key
//! with proof of knowledge, generated once per member and kept sealed at rest.
//!
//! A member's public record binds, under one signing key, everything the ceremony needs:
//!
//! * `signing_key = sk·G₁` and its proof of possession `sk·H_pop(pk)` (Ristenpart–Yilek,
//!   EUROCRYPT 2007; [`veil_circuits::pop`]): dealings and complaints are BLS signatures in
//!   G2 under the ceremony's own hash-to-curve tag (`veil_domain::keygen::SIGN_H2C`), so
//!   they can never be replayed as order-certificate votes;
//! * `encryption_key = x·G₁` with a Schnorr proof of knowledge of `x` bound to the signing
//!   key and the name ([`veil_circuits::pvss::prove_knowledge`]): shares dealt to this member are
//!   hashed-ElGamal encrypted to it.
//!
//! Secrets are zeroized on drop and are serialized only into a sealed file
//! ([`crate::seal`]).
use ark_bls12_381::{Bls12_381, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::{UniformRand, Zero};
use rand_core::{CryptoRng, RngCore};
use veil_circuits::dleq::ct;
use veil_circuits::pop::{self, ProofOfPossession};
use veil_circuits::pvss::{self, KnowledgeProof};
use veil_domain::keygen as tags;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::codec::{CodecError, Reader, Writer};

/// Longest member name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
const PUBLIC_VERSION: u8 = 1;
const SECRET_VERSION: u8 = 1;

/// Why a member record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The encoding was malformed.
    #[error("member record: {0}")]
    Codec(#[from] CodecError),
    /// The proof of possession of the signing key failed.
    #[error("member {name:?}: invalid proof of possession")]
    BadPossession {
        /// The member's name.
        name: String,
    },
    /// The proof of knowledge of the encryption key failed.
    #[error("member {name:?}: invalid encryption-key proof")]
    BadEncryptionKey {
        /// The member's name.
        name: String,
    },
    /// The name is empty, too long or not printable.
    #[error("member name must be 1..={MAX_NAME_LEN} printable ascii bytes, got {0}")]
    BadName(usize),
}

/// A member's long-term secrets.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MemberSecret {
    name: String,
    signing: Fr,
    encryption: Fr,
}

impl core::fmt::Debug for MemberSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "MemberSecret({:?}, <redacted>)", self.name)
    }
}

/// A member's public record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberPublic {
    /// Human-readable name (1–64 printable ASCII bytes).
    pub name: String,
    /// BLS public key `sk·G₁`.
    pub signing_key: G1Affine,
    /// Proof of possession of the signing key.
    pub possession: ProofOfPossession,
    /// Share-encryption key `x·G₁`.
    pub encryption_key: G1Affine,
    /// Proof of knowledge of `x`, bound to the signing key.
    pub encryption_proof: KnowledgeProof,
}

fn check_name(name: &str) -> Result<(), IdentityError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if ok {
        Ok(())
    } else {
        Err(IdentityError::BadName(name.len()))
    }
}

/// The encryption-key proof binds the signing key and the name, so neither can be swapped
/// in a published record.
fn encryption_context(signing_key: &G1Affine, name: &str) -> Vec<u8> {
    let mut c = veil_circuits::dleq::g1_to_bytes(signing_key).to_vec();
    c.extend_from_slice(name.as_bytes());
    c
}

impl MemberSecret {
    /// Generates fresh keys for a member called `name`.
    pub fn generate(
        name: &str,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Self, IdentityError> {
        check_name(name)?;
        Ok(MemberSecret {
            name: name.to_owned(),
            signing: Fr::rand(rng),
            encryption: Fr::rand(rng),
        })
    }

    /// The member's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public record, with fresh proofs.
    pub fn public(&self, rng: &mut (impl RngCore + CryptoRng)) -> MemberPublic {
        let signing_key = pop::public_key(&self.signing);
        let encryption_key = pop::public_key(&self.encryption);
        MemberPublic {
            name: self.name.clone(),
            signing_key,
            possession: pop::prove_possession(&self.signing, &signing_key),
            encryption_key,
            encryption_proof: pvss::prove_knowledge(
                rng,
                tags::ENCRYPTION_POK,
                &encryption_context(&signing_key, &self.name),
                &self.encryption,
            ),
        }
    }

    /// The BLS public key.
    pub fn signing_key(&self) -> G1Affine {
        pop::public_key(&self.signing)
    }

    /// The share-encryption public key.
    pub fn encryption_key(&self) -> G1Affine {
        pop::public_key(&self.encryption)
    }

    /// BLS signature on a ceremony message (constant-time in the key).
    pub fn sign(&self, message: &[u8]) -> G2Affine {
        ct::mul(&pop::hash_to_g2(tags::SIGN_H2C, message), &self.signing).into_affine()
    }

    /// The same long-term BLS key as the threshold crate's certificate signing key, so a
    /// member votes on order certificates with the key its committee entry lists.
    pub fn certificate_key(
        &self,
    ) -> Result<veil_threshold::SigningKey, veil_threshold::CertificateError> {
        let bytes = zeroize::Zeroizing::new(veil_circuits::dleq::fr_to_bytes(&self.signing));
        veil_threshold::SigningKey::from_bytes(bytes.as_ref())
    }

    pub(crate) fn encryption_secret(&self) -> &Fr {
        &self.encryption
    }

    /// Serialization for sealing only (version ‖ name ‖ signing ‖ encryption).
    pub fn to_sealable_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let mut w = Writer::default();
        w.u8(SECRET_VERSION)
            .var(self.name.as_bytes())
            .fr(&self.signing)
            .fr(&self.encryption);
        zeroize::Zeroizing::new(w.0)
    }

    /// Parses what [`Self::to_sealable_bytes`] produced.
    pub fn from_sealable_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        let mut r = Reader::new(bytes);
        r.version("member secret", SECRET_VERSION)?;
        let name = std::str::from_utf8(r.var("name length", MAX_NAME_LEN as u32)?)
            .map_err(|_| CodecError::Utf8("name"))?
            .to_owned();
        check_name(&name)?;
        let signing = r.fr()?;
        let encryption = r.fr()?;
        r.finish()?;
        if signing.is_zero() || encryption.is_zero() {
            return Err(CodecError::BadScalar(0).into());
        }
        Ok(MemberSecret {
            name,
            signing,
            encryption,
        })
    }
}

/// Verifies a BLS signature on a ceremony message: `e(pk, H(m)) = e(G₁, σ)`.
pub fn verify_signature(signing_key: &G1Affine, message: &[u8], signature: &G2Affine) -> bool {
    let h = pop::hash_to_g2(tags::SIGN_H2C, message);
    let neg_g = (-G1Projective::generator()).into_affine();
    Bls12_381::multi_pairing([*signing_key, neg_g], [h, *signature]).is_zero()
}

/// Verifies many signatures on ceremony messages with one multi-pairing: with 128-bit weights
/// `ρ_i` hashed from every key, message and signature, checks
/// `Π e(ρ_i·pk_i, H(m_i)) = e(G₁, Σ ρ_i·σ_i)` (small-exponents batch test, Bellare, Garay and
/// Rabin, EUROCRYPT '98; the signatures are fixed before the weights are derived). `true`
/// means every signature is valid except with probability about `2⁻¹²⁸`; on `false`, check
/// them one by one to find the bad ones.
pub fn verify_signatures_batch(items: &[(G1Affine, &[u8], G2Affine)]) -> bool {
    batch_check(tags::SIGN_H2C, items)
}

/// Checks every member record (names, proofs); the proofs of possession are checked with
/// one multi-pairing (see [`verify_signatures_batch`]), falling back to one by one to name
/// the culprit.
pub fn verify_members<'a>(
    members: impl IntoIterator<Item = &'a MemberPublic>,
) -> Result<(), IdentityError> {
    let members: Vec<&MemberPublic> = members.into_iter().collect();
    let messages: Vec<[u8; 48]> = members
        .iter()
        .map(|m| veil_circuits::dleq::g1_to_bytes(&m.signing_key))
        .collect();
    let items: Vec<(G1Affine, &[u8], G2Affine)> = members
        .iter()
        .zip(&messages)
        .map(|(m, msg)| (m.signing_key, &msg[..], m.possession.0))
        .collect();
    let pops_ok = batch_check(veil_domain::certificate::POP_H2C, &items);
    for m in members {
        if pops_ok {
            check_name(&m.name)?;
            m.verify_encryption_proof()?;
        } else {
            m.verify()?;
        }
    }
    Ok(())
}

fn batch_check(tag: &[u8], items: &[(G1Affine, &[u8], G2Affine)]) -> bool {
    use ark_bls12_381::G2Projective;
    use ark_ec::VariableBaseMSM;
    use sha2::{Digest, Sha256};
    if items.is_empty() {
        return true;
    }
    if items
        .iter()
        .any(|(pk, _, _)| ark_ec::AffineRepr::is_zero(pk))
    {
        return false;
    }
    let hashes: Vec<G2Affine> = items
        .iter()
        .map(|(_, m, _)| pop::hash_to_g2(tag, m))
        .collect();
    let mut h = Sha256::new();
    for ((pk, _, sig), hm) in items.iter().zip(&hashes) {
        h.update(veil_circuits::dleq::g1_to_bytes(pk));
        h.update(pop::g2_to_bytes(hm));
        h.update(pop::g2_to_bytes(sig));
    }
    let seed: [u8; 32] = h.finalize().into();
    let rho = veil_circuits::dleq::weights(tags::BATCH_WEIGHTS, &seed, items.len());
    let mut g1: Vec<G1Affine> = G1Projective::normalize_batch(
        &items
            .iter()
            .zip(&rho)
            .map(|((pk, _, _), r)| *pk * r)
            .collect::<Vec<_>>(),
    );
    let sigs: Vec<G2Affine> = items.iter().map(|(_, _, s)| *s).collect();
    let agg = G2Projective::msm_unchecked(&sigs, &rho).into_affine();
    g1.push((-G1Projective::generator()).into_affine());
    let mut g2 = hashes;
    g2.push(agg);
    Bls12_381::multi_pairing(g1, g2).is_zero()
}

impl MemberPublic {
    /// Checks both proofs and the name.
    pub fn verify(&self) -> Result<(), IdentityError> {
        check_name(&self.name)?;
        pop::verify_possession(&self.signing_key, &self.possession).map_err(|_| {
            IdentityError::BadPossession {
                name: self.name.clone(),
            }
        })?;
        self.verify_encryption_proof()
    }

    fn verify_encryption_proof(&self) -> Result<(), IdentityError> {
        pvss::verify_knowledge(
            tags::ENCRYPTION_POK,
            &encryption_context(&self.signing_key, &self.name),
            &self.encryption_key,
            &self.encryption_proof,
        )
        .map_err(|_| IdentityError::BadEncryptionKey {
            name: self.name.clone(),
        })
    }

    pub(crate) fn write(&self, w: &mut Writer) {
        w.u8(PUBLIC_VERSION)
            .var(self.name.as_bytes())
            .g1(&self.signing_key)
            .g2(&self.possession.0)
            .g1(&self.encryption_key)
            .bytes(&self.encryption_proof.to_bytes());
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, IdentityError> {
        r.version("member record", PUBLIC_VERSION)?;
        let name = std::str::from_utf8(r.var("name length", MAX_NAME_LEN as u32)?)
            .map_err(|_| CodecError::Utf8("name"))?
            .to_owned();
        check_name(&name)?;
        let signing_key = r.g1()?;
        let possession = ProofOfPossession(r.g2()?);
        let encryption_key = r.g1()?;
        let at = r.g1()?;
        let z = r.fr()?;
        Ok(MemberPublic {
            name,
            signing_key,
            possession,
            encryption_key,
            encryption_proof: KnowledgeProof { a: at, z },
        })
    }

    /// Canonical encoding (versioned).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.write(&mut w);
        w.0
    }

    /// Decodes (validating every point and scalar) — proofs are checked by [`Self::verify`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        let mut r = Reader::new(bytes);
        let m = Self::read(&mut r)?;
        r.finish()?;
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn public_record_verifies_round_trips_and_binds_keys() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let a = MemberSecret::generate("alice", &mut rng).unwrap();
        let b = MemberSecret::generate("bob", &mut rng).unwrap();
        let pa = a.public(&mut rng);
        pa.verify().unwrap();
        assert_eq!(MemberPublic::from_bytes(&pa.to_bytes()).unwrap(), pa);
        // Swapping in someone else's encryption key breaks the binding proof.
        let mut mixed = pa.clone();
        mixed.encryption_key = b.encryption_key();
        assert!(matches!(
            mixed.verify(),
            Err(IdentityError::BadEncryptionKey { .. })
        ));
        let mut mixed = pa.clone();
        mixed.signing_key = b.signing_key();
        assert!(mixed.verify().is_err());
        let mut renamed = pa.clone();
        renamed.name = "mallory".into();
        assert!(renamed.verify().is_err());
        let sig = a.sign(b"msg");
        assert!(verify_signature(&pa.signing_key, b"msg", &sig));
        assert!(!verify_signature(&pa.signing_key, b"msh", &sig));
        assert!(!verify_signature(&b.signing_key(), b"msg", &sig));
        let sig_b = b.sign(b"other");
        let good = [
            (pa.signing_key, &b"msg"[..], sig),
            (b.signing_key(), &b"other"[..], sig_b),
        ];
        assert!(verify_signatures_batch(&good));
        let swapped = [
            (pa.signing_key, &b"msg"[..], sig_b),
            (b.signing_key(), &b"other"[..], sig),
        ];
        assert!(!verify_signatures_batch(&swapped));
        let wrong_msg = [
            (pa.signing_key, &b"msg"[..], sig),
            (b.signing_key(), &b"othe"[..], sig_b),
        ];
        assert!(!verify_signatures_batch(&wrong_msg));
        // Batched record checks agree with one-by-one checks and name the culprit.
        let pb = b.public(&mut rng);
        verify_members([&pa, &pb]).unwrap();
        let mut bad = pb.clone();
        bad.possession = pa.possession;
        assert_eq!(
            verify_members([&pa, &bad]),
            Err(IdentityError::BadPossession { name: "bob".into() })
        );
        // The identity's BLS key is the threshold crate's certificate key, and its proof of
        // possession is accepted there.
        let cert = a.certificate_key().unwrap();
        assert_eq!(cert.public_key().point(), pa.signing_key);
        cert.public_key().verify_possession(&pa.possession).unwrap();
        let back = MemberSecret::from_sealable_bytes(&a.to_sealable_bytes()).unwrap();
        assert_eq!(back.signing_key(), a.signing_key());
        assert!(MemberSecret::generate("", &mut rng).is_err());
        assert!(MemberSecret::generate(&"x".repeat(65), &mut rng).is_err());
        assert!(
            !format!("{a:?}").contains(&hex::encode(veil_circuits::dleq::fr_to_bytes(&a.signing)))
        );
    }
}
