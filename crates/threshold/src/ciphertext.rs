//! Ciphertexts: the TDH2 key encapsulation on G1, the key-committing AES-256-GCM data
//! encapsulation, their canonical encoding, and validity checks (single and batched).
//!
//! # Encryption
//!
//! Given the committee key `PK`, a [`Label`] and a plaintext `m` (at most [`MAX_PLAINTEXT`]
//! bytes), with `r` uniform in `F_r`:
//!
//! 1. `U = r·G`, `Ū = r·Ḡ`, `Y = r·PK` (fixed-base tables, constant time);
//! 2. `k = HKDF-SHA256(salt = KEM_KDF, ikm = Y, info = U ‖ H(label))`, a 256-bit key;
//! 3. `κ = SHA-256(KEY_COMMITMENT ‖ k)`, the key commitment;
//! 4. `c = AES-256-GCM_k(nonce = 0⁹⁶, aad = version ‖ H(label), m)`;
//! 5. a DLEQ proof `π` that `log_G U = log_Ḡ Ū`, under `CIPHERTEXT_DLEQ`, with the context
//!    `PK ‖ H(label) ‖ κ ‖ c`.
//!
//! The ciphertext is `(label, U, Ū, π, κ, c)`.
//!
//! **Nonce.** Each ciphertext has its own key (it depends on the fresh `r`), so AES-GCM's
//! nonce can be the constant zero: a (key, nonce) pair repeats only if `r` does, with
//! probability about `q²/2²⁵⁵`.
//!
//! **Key commitment.** AES-GCM is not key-committing: one GCM ciphertext can decrypt validly
//! under two chosen keys ("partitioning oracle" attacks, Len–Grubbs–Ristenpart 2021). The
//! commitment `κ`, checked in constant time before decryption, pins the key: if `κ` matches,
//! the decryptor holds *the* key the encryptor committed to (collision resistance of
//! SHA-256), so a failing ciphertext is provably invalid rather than ambiguous, and matching
//! commitments certify the combined decryption shares (optimistic combining).
//!
//! # Validity and CCA security
//!
//! As in TDH2 (Shoup and Gennaro, "Securing threshold cryptosystems against chosen
//! ciphertext attack", J. Cryptology 2002), the proof `π` is a simulation-sound proof of
//! knowledge of `r`; it binds the label and the whole symmetric part, so a ciphertext cannot
//! be mauled into a related valid one (changing any byte of `U`, `Ū`, `π`, `κ`, `c` or the
//! label invalidates `π` or the encoding), nor replayed under another label (the label is in
//! `π`'s context and in the key derivation). Members produce decryption shares only for a
//! [`VerifiedCiphertext`], which only [`Ciphertext::verify`] and [`verify_batch`] construct.
//!
//! **Batch validity.** [`verify_batch`] checks many proofs with one multi-scalar
//! multiplication (random linear combination with 128-bit weights derived by hashing the
//! batch under `BATCH_WEIGHTS`; soundness error about `q·2⁻¹²⁸`, see
//! [`veil_circuits::dleq::verify_batch`]). If the batch fails, every ciphertext is checked
//! individually so that only the invalid ones are refused.
//!
//! # Deviations from TDH2
//!
//! - The group is BLS12-381 G1 and `Ḡ` comes from RFC 9380 hash-to-curve rather than being a
//!   parameter.
//! - TDH2 XORs a hashed key into the message; Veil derives an AEAD key with HKDF and adds a
//!   key commitment (hybrid KEM/DEM with a committing DEM).
//! - The proof is in commitment form `(A, Ā, z)` instead of `(c, z)`, to allow batch
//!   verification, and the label is hashed with its own tag.
//!
//! # Encoding (version 1)
//!
//! `0x01 ‖ label (v1, self-delimiting) ‖ U (48) ‖ Ū (48) ‖ π (128) ‖ κ (32) ‖ len (u32 BE) ‖ c`,
//! with `16 ≤ len ≤ MAX_PLAINTEXT + 16`. Points are compressed and validated on decode (on
//! the curve, in the subgroup, not the identity, canonical); trailing bytes are refused. The
//! ciphertext id is `SHA-256(CIPHERTEXT_ID ‖ encoding)`.

use aes_gcm::{
    Aes256Gcm, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use ark_bls12_381::{Fr, G1Affine, G1Projective};
use ark_ec::CurveGroup;
use ark_ff::{UniformRand, Zero};
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;
use veil_circuits::dleq::{
    self, DleqInstance, DleqProof, DleqStatement, G1_LEN, G1Table, g1_from_bytes, g1_to_bytes,
};
use veil_domain::threshold as tags;
use zeroize::{Zeroize, Zeroizing};

use crate::h2c::{gbar, gbar_table, generator, generator_table};
use crate::keys::PublicKey;
use crate::label::{Label, LabelError};

/// Largest plaintext a ciphertext may carry (64 KiB).
pub const MAX_PLAINTEXT: usize = 64 * 1024;

/// Length of the AES-GCM authentication tag.
pub const AEAD_TAG_LEN: usize = 16;

/// Version byte of the ciphertext encoding.
pub const CIPHERTEXT_VERSION: u8 = 1;

/// Length of the fixed-size part of an encoding after the label.
const FIXED_AFTER_LABEL: usize = 2 * G1_LEN + DleqProof::ENCODED_LEN + 32 + 4;

/// Why a ciphertext was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CiphertextError {
    /// The plaintext exceeds [`MAX_PLAINTEXT`].
    #[error("plaintext too large: {len} bytes, limit {MAX_PLAINTEXT}")]
    PlaintextTooLarge {
        /// Length given.
        len: usize,
    },
    /// The encoding's version byte is unknown.
    #[error("unsupported ciphertext version {0}")]
    UnsupportedVersion(u8),
    /// The label part is malformed.
    #[error("bad label: {0}")]
    Label(#[from] LabelError),
    /// A field is malformed (length, point validation).
    #[error("malformed ciphertext: {what}")]
    Malformed {
        /// Which field.
        what: &'static str,
    },
    /// The payload length is outside `16..=MAX_PLAINTEXT + 16`.
    #[error("ciphertext payload length {len} out of range 16..={}", MAX_PLAINTEXT + AEAD_TAG_LEN)]
    PayloadLength {
        /// Length stated.
        len: usize,
    },
    /// The validity proof does not verify (wrong label, mauled, or forged).
    #[error("invalid ciphertext")]
    Invalid,
}

/// The committee key prepared for encryption: fixed-base tables of `G`, `Ḡ` (shared per
/// process) and `PK` (built here, ~48 KiB, a few milliseconds). Build once per key, reuse.
#[derive(Clone, Debug)]
pub struct EncryptionKey {
    public_key: PublicKey,
    pk_table: G1Table,
}

impl EncryptionKey {
    /// Prepares `pk` for encryption.
    pub fn new(public_key: &PublicKey) -> Self {
        // Touch the shared tables so the first encryption is not slower than the rest.
        let _ = (generator_table(), gbar_table());
        Self {
            public_key: *public_key,
            pk_table: G1Table::new(&public_key.point()),
        }
    }

    /// The committee key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// Encrypts `plaintext` under `label` (see the module documentation).
    pub fn encrypt<R: RngCore + CryptoRng>(
        &self,
        rng: &mut R,
        label: &Label,
        plaintext: &[u8],
    ) -> Result<Ciphertext, CiphertextError> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(CiphertextError::PlaintextTooLarge {
                len: plaintext.len(),
            });
        }
        let mut r = Fr::rand(rng);
        while r.is_zero() {
            r = Fr::rand(rng);
        }
        let pts = G1Projective::normalize_batch(&[
            generator_table().mul(&r),
            gbar_table().mul(&r),
            self.pk_table.mul(&r),
        ]);
        let (u, u_bar) = (pts[0], pts[1]);
        let mut y = pts[2];
        let label_digest = label.digest();
        let key = derive_key(&y, &u, &label_digest);
        y.zeroize();
        let key_commitment = commit_key(&key);
        let cipher = Aes256Gcm::new((&*key).into());
        let aad = aead_aad(&label_digest);
        // Infallible: AES-GCM encryption fails only for plaintexts over 2^36 bytes, and the
        // plaintext is at most MAX_PLAINTEXT.
        let payload = cipher
            .encrypt(
                Nonce::from_slice(&[0u8; 12]),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("AES-GCM encrypts 64 KiB");
        let st = statement(&u, &u_bar);
        let ctx = proof_context(&self.public_key, &label_digest, &key_commitment, &payload);
        let proof = dleq::prove_with(
            rng,
            tags::CIPHERTEXT_DLEQ,
            &ctx,
            &st,
            &r,
            generator_table(),
            gbar_table(),
        );
        r.zeroize();
        Ok(Ciphertext {
            label: label.clone(),
            u,
            u_bar,
            proof,
            key_commitment,
            payload,
        })
    }
}

fn statement(u: &G1Affine, u_bar: &G1Affine) -> DleqStatement {
    DleqStatement {
        b1: generator(),
        p1: *u,
        b2: gbar(),
        p2: *u_bar,
    }
}

fn proof_context(
    pk: &PublicKey,
    label_digest: &[u8; 32],
    kc: &[u8; 32],
    payload: &[u8],
) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(G1_LEN + 64 + payload.len());
    ctx.extend_from_slice(&pk.to_bytes());
    ctx.extend_from_slice(label_digest);
    ctx.extend_from_slice(kc);
    ctx.extend_from_slice(payload);
    ctx
}

fn aead_aad(label_digest: &[u8; 32]) -> [u8; 33] {
    let mut aad = [0u8; 33];
    aad[0] = CIPHERTEXT_VERSION;
    aad[1..].copy_from_slice(label_digest);
    aad
}

/// `k = HKDF-SHA256(salt = KEM_KDF, ikm = Y, info = U ‖ H(label))`.
fn derive_key(y: &G1Affine, u: &G1Affine, label_digest: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut ikm = g1_to_bytes(y);
    let hk = Hkdf::<Sha256>::new(Some(tags::KEM_KDF), &ikm);
    ikm.zeroize();
    let mut info = [0u8; G1_LEN + 32];
    info[..G1_LEN].copy_from_slice(&g1_to_bytes(u));
    info[G1_LEN..].copy_from_slice(label_digest);
    let mut key = Zeroizing::new([0u8; 32]);
    // Infallible: 32 bytes is far below HKDF-SHA256's 255·32-byte output limit.
    hk.expand(&info, &mut *key).expect("32-byte HKDF output");
    key
}

/// `κ = SHA-256(len(tag) ‖ KEY_COMMITMENT ‖ k)`.
fn commit_key(key: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((tags::KEY_COMMITMENT.len() as u64).to_be_bytes());
    h.update(tags::KEY_COMMITMENT);
    h.update(key);
    h.finalize().into()
}

/// A threshold ciphertext, decoded but not yet checked for validity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    label: Label,
    u: G1Affine,
    u_bar: G1Affine,
    proof: DleqProof,
    key_commitment: [u8; 32],
    payload: Vec<u8>,
}

impl Ciphertext {
    /// The label the ciphertext is bound to.
    pub fn label(&self) -> &Label {
        &self.label
    }

    /// `U = r·G`, the element decryption shares are computed on.
    pub fn u(&self) -> &G1Affine {
        &self.u
    }

    /// Length of [`Ciphertext::to_bytes`].
    pub fn encoded_len(&self) -> usize {
        1 + self.label.encoded_len() + FIXED_AFTER_LABEL + self.payload.len()
    }

    /// The canonical encoding (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(CIPHERTEXT_VERSION);
        self.label.write_to(&mut out);
        out.extend_from_slice(&g1_to_bytes(&self.u));
        out.extend_from_slice(&g1_to_bytes(&self.u_bar));
        out.extend_from_slice(&self.proof.to_bytes());
        out.extend_from_slice(&self.key_commitment);
        // Payload is at most MAX_PLAINTEXT + 16 bytes by construction and decoding.
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// Decodes and validates the encoding (not the proof: see [`Ciphertext::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CiphertextError> {
        let Some((&version, rest)) = bytes.split_first() else {
            return Err(CiphertextError::Malformed { what: "empty" });
        };
        if version != CIPHERTEXT_VERSION {
            return Err(CiphertextError::UnsupportedVersion(version));
        }
        let (label, used) = Label::decode_prefix(rest)?;
        let rest = &rest[used..];
        if rest.len() < FIXED_AFTER_LABEL {
            return Err(CiphertextError::Malformed { what: "length" });
        }
        let (u_bytes, rest) = rest.split_at(G1_LEN);
        let (ubar_bytes, rest) = rest.split_at(G1_LEN);
        let (proof_bytes, rest) = rest.split_at(DleqProof::ENCODED_LEN);
        let (kc, rest) = rest.split_at(32);
        let (len_bytes, payload) = rest.split_at(4);
        let len =
            u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        if !(AEAD_TAG_LEN..=MAX_PLAINTEXT + AEAD_TAG_LEN).contains(&len) {
            return Err(CiphertextError::PayloadLength { len });
        }
        if payload.len() != len {
            return Err(CiphertextError::Malformed { what: "length" });
        }
        let u = g1_from_bytes(u_bytes).ok_or(CiphertextError::Malformed { what: "U" })?;
        let u_bar = g1_from_bytes(ubar_bytes).ok_or(CiphertextError::Malformed { what: "Ū" })?;
        let proof = DleqProof::from_bytes(proof_bytes)
            .map_err(|_| CiphertextError::Malformed { what: "proof" })?;
        let mut key_commitment = [0u8; 32];
        key_commitment.copy_from_slice(kc);
        Ok(Self {
            label,
            u,
            u_bar,
            proof,
            key_commitment,
            payload: payload.to_vec(),
        })
    }

    /// The ciphertext id: `SHA-256(CIPHERTEXT_ID ‖ canonical encoding)`.
    pub fn id(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update((tags::CIPHERTEXT_ID.len() as u64).to_be_bytes());
        h.update(tags::CIPHERTEXT_ID);
        h.update(self.to_bytes());
        h.finalize().into()
    }

    fn context(&self, pk: &PublicKey) -> Vec<u8> {
        proof_context(
            pk,
            &self.label.digest(),
            &self.key_commitment,
            &self.payload,
        )
    }

    /// Checks the validity proof against the committee key.
    pub fn verify(self, pk: &PublicKey) -> Result<VerifiedCiphertext, CiphertextError> {
        let st = statement(&self.u, &self.u_bar);
        dleq::verify(tags::CIPHERTEXT_DLEQ, &self.context(pk), &st, &self.proof)
            .map_err(|_| CiphertextError::Invalid)?;
        Ok(VerifiedCiphertext::new(self))
    }
}

/// A ciphertext whose validity proof has been checked against the committee key. The only
/// input decryption shares are produced for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCiphertext {
    inner: Ciphertext,
    id: [u8; 32],
}

impl VerifiedCiphertext {
    fn new(inner: Ciphertext) -> Self {
        let id = inner.id();
        Self { inner, id }
    }

    /// The ciphertext.
    pub fn ciphertext(&self) -> &Ciphertext {
        &self.inner
    }

    /// Its id.
    pub fn id(&self) -> &[u8; 32] {
        &self.id
    }

    /// Gives the ciphertext back.
    pub fn into_inner(self) -> Ciphertext {
        self.inner
    }

    /// Decrypts given `Y = r·PK` (from combined decryption shares). Returns `None`, without
    /// saying why, if the key commitment does not match `Y` or the AEAD check fails.
    pub(crate) fn open(&self, y: &G1Affine) -> Option<Vec<u8>> {
        let label_digest = self.inner.label.digest();
        let key = derive_key(y, &self.inner.u, &label_digest);
        if !bool::from(commit_key(&key).ct_eq(&self.inner.key_commitment)) {
            return None;
        }
        let cipher = Aes256Gcm::new((&*key).into());
        cipher
            .decrypt(
                Nonce::from_slice(&[0u8; 12]),
                Payload {
                    msg: &self.inner.payload,
                    aad: &aead_aad(&label_digest),
                },
            )
            .ok()
    }

    /// Whether `Y` matches the key commitment (the optimistic share check).
    pub(crate) fn commitment_matches(&self, y: &G1Affine) -> bool {
        let key = derive_key(y, &self.inner.u, &self.inner.label.digest());
        bool::from(commit_key(&key).ct_eq(&self.inner.key_commitment))
    }
}

/// Checks many ciphertexts with one multi-scalar multiplication. Returns, in order, each
/// ciphertext verified or refused; when the batch check fails, ciphertexts are checked one by
/// one so that only invalid ones are refused.
pub fn verify_batch(
    pk: &PublicKey,
    ciphertexts: Vec<Ciphertext>,
) -> Vec<Result<VerifiedCiphertext, CiphertextError>> {
    if check_batch(pk, &ciphertexts).is_ok() {
        return ciphertexts
            .into_iter()
            .map(|c| Ok(VerifiedCiphertext::new(c)))
            .collect();
    }
    ciphertexts.into_iter().map(|c| c.verify(pk)).collect()
}

/// All-or-nothing batch validity check (see [`verify_batch`]).
pub fn check_batch(pk: &PublicKey, ciphertexts: &[Ciphertext]) -> Result<(), CiphertextError> {
    let sts: Vec<DleqStatement> = ciphertexts
        .iter()
        .map(|c| statement(&c.u, &c.u_bar))
        .collect();
    let ctxs: Vec<Vec<u8>> = ciphertexts.iter().map(|c| c.context(pk)).collect();
    let items: Vec<DleqInstance<'_>> = ciphertexts
        .iter()
        .zip(&sts)
        .zip(&ctxs)
        .map(|((c, st), ctx)| DleqInstance {
            context: ctx,
            statement: st,
            proof: &c.proof,
        })
        .collect();
    dleq::verify_batch(tags::CIPHERTEXT_DLEQ, tags::BATCH_WEIGHTS, &items)
        .map_err(|_| CiphertextError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::combine::{Decrypted, combine};
    use crate::keys::hazmat;
    use crate::label::SlotRange;
    use crate::share::ShareBatch;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// An encryptor that lies: valid proof, but a key commitment (or payload) that does not
    /// match the key. The committee must mark it invalid and keep going, and must not blame
    /// any member.
    #[test]
    fn a_ciphertext_with_a_wrong_commitment_is_marked_invalid() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let (key, shares) = hazmat::deal(&mut rng, 2, 3).unwrap();
        let ek = EncryptionKey::new(key.public_key());
        let label = Label::new(1, [1; 32], SlotRange::new(0, 9).unwrap(), 0, Vec::new()).unwrap();
        let good = ek.encrypt(&mut rng, &label, b"fine").unwrap();

        let forge = |commitment: Option<[u8; 32]>, payload: Option<Vec<u8>>| {
            let r = Fr::from(123_456_789u64);
            let u = (generator() * r).into_affine();
            let u_bar = (gbar() * r).into_affine();
            let y = (key.public_key().point() * r).into_affine();
            let digest = label.digest();
            let k = derive_key(&y, &u, &digest);
            let kc = commitment.unwrap_or_else(|| commit_key(&k));
            let payload = payload.unwrap_or_else(|| {
                Aes256Gcm::new((&*k).into())
                    .encrypt(
                        Nonce::from_slice(&[0u8; 12]),
                        Payload {
                            msg: b"secret".as_slice(),
                            aad: &aead_aad(&digest),
                        },
                    )
                    .unwrap()
            });
            let ctx = proof_context(key.public_key(), &digest, &kc, &payload);
            let proof = dleq::prove(
                &mut ChaCha20Rng::seed_from_u64(1),
                tags::CIPHERTEXT_DLEQ,
                &ctx,
                &statement(&u, &u_bar),
                &r,
            );
            Ciphertext {
                label: label.clone(),
                u,
                u_bar,
                proof,
                key_commitment: kc,
                payload,
            }
        };
        let honest = forge(None, None);
        let bad_commitment = forge(Some([0x42; 32]), None);
        let bad_payload = forge(None, Some(vec![0u8; 40]));
        let cts: Vec<VerifiedCiphertext> = [good, honest, bad_commitment, bad_payload]
            .into_iter()
            .map(|c| c.verify(key.public_key()).unwrap())
            .collect();
        let batches: Vec<ShareBatch> = shares[..2]
            .iter()
            .map(|s| ShareBatch::create(&mut rng, s, &cts).unwrap())
            .collect();
        let out = combine(&key, &cts, &batches).unwrap();
        assert_eq!(
            out.outcomes,
            vec![
                Decrypted::Plaintext(b"fine".to_vec()),
                Decrypted::Plaintext(b"secret".to_vec()),
                Decrypted::Invalid,
                Decrypted::Invalid,
            ]
        );
        assert!(out.faulty.is_empty());
    }

    #[test]
    fn ids_differ_and_cover_the_encoding() {
        let mut rng = ChaCha20Rng::seed_from_u64(10);
        let (key, _) = hazmat::deal(&mut rng, 1, 1).unwrap();
        let ek = EncryptionKey::new(key.public_key());
        let label = Label::new(1, [1; 32], SlotRange::new(0, 0).unwrap(), 0, vec![]).unwrap();
        let a = ek.encrypt(&mut rng, &label, b"m").unwrap();
        let b = ek.encrypt(&mut rng, &label, b"m").unwrap();
        assert_ne!(a.id(), b.id());
        assert_eq!(a.clone().verify(key.public_key()).unwrap().id(), &a.id());
        assert_eq!(Ciphertext::from_bytes(&a.to_bytes()).unwrap().id(), a.id());
    }
}
