//! Decryption shares: member `i`'s `Dᵢⱼ = sᵢ·Uⱼ` for every ciphertext `j` of a batch, with
//! one batched DLEQ proof.
//!
//! # Construction
//!
//! For a batch of verified ciphertexts `U₁, …, U_m`, member `i` computes `Dᵢⱼ = sᵢ·Uⱼ` with the
//! constant-time ladder of [`veil_circuits::dleq::ct`] (never arkworks' variable-time `mul` on
//! a secret) and proves `log_G VKᵢ = log_{Uⱼ} Dᵢⱼ` for all `j` at once
//! ([`veil_circuits::dleq::prove_batched`]): with 128-bit weights `ρⱼ` hashed from the whole
//! statement under `BATCH_WEIGHTS`, it gives one Chaum–Pedersen proof (under `SHARE_DLEQ`) that
//! `log_G VKᵢ = log_{U*} D*` for `U* = Σ ρⱼUⱼ`, `D* = Σ ρⱼDᵢⱼ`. A batch with even one wrong
//! share passes with probability about `q·2⁻¹²⁸`. The proof's context binds the member index
//! and the ids of every ciphertext in the batch, in order.
//!
//! Shares are only produced for [`VerifiedCiphertext`]s, so a member never releases `sᵢ·U`
//! for a `U` whose encryptor does not know `r` (the CCA argument of TDH2).
//!
//! # Encoding (version 1)
//!
//! `0x01 ‖ index (u32 BE) ‖ m (u32 BE) ‖ Dᵢ₁ ‖ … ‖ Dᵢₘ (48 bytes each) ‖ π (128)`, with
//! `1 ≤ m ≤ MAX_BATCH`; every point validated on decode. The same share messages are decoded
//! several times in a member (on receipt, from storage, inside plaintext batches), so share
//! points go through [`crate::point::decode_g1`], which remembers encodings it has already
//! validated.

use ark_bls12_381::{G1Affine, G1Projective};
use ark_ec::CurveGroup;
use rand_core::{CryptoRng, RngCore};
use thiserror::Error;
use veil_circuits::dleq::{self, DleqProof, G1_LEN, ct, g1_to_bytes};
use veil_domain::threshold as tags;

use crate::ciphertext::VerifiedCiphertext;
use crate::h2c::{generator, generator_table};
use crate::keys::{KeyShare, ThresholdKey};
use crate::point::{decode_g1, remember_g1};

/// Largest number of ciphertexts in one batch of shares.
pub const MAX_BATCH: usize = 1 << 16;

/// Version byte of the share-batch encoding.
pub const SHARE_VERSION: u8 = 1;

/// Why a share batch was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ShareError {
    /// The batch is empty or larger than [`MAX_BATCH`].
    #[error("batch size {len} out of range 1..={MAX_BATCH}")]
    BatchSize {
        /// Size given.
        len: usize,
    },
    /// The number of shares differs from the number of ciphertexts.
    #[error("share count {shares} does not match {ciphertexts} ciphertexts")]
    CountMismatch {
        /// Shares in the batch.
        shares: usize,
        /// Ciphertexts in the batch.
        ciphertexts: usize,
    },
    /// The member index is not in the committee.
    #[error("member index {index} not in committee of {n}")]
    UnknownMember {
        /// Index given.
        index: u32,
        /// Committee size.
        n: u32,
    },
    /// The encoding is malformed.
    #[error("malformed share batch: {what}")]
    Malformed {
        /// What is wrong.
        what: &'static str,
    },
    /// The batched proof does not verify.
    #[error("invalid decryption shares")]
    InvalidProof,
}

/// Member `index`'s decryption shares for a batch, with their batched proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareBatch {
    index: u32,
    shares: Vec<G1Affine>,
    proof: DleqProof,
}

fn context(index: u32, ciphertexts: &[VerifiedCiphertext]) -> Vec<u8> {
    let mut ctx = Vec::with_capacity(8 + 32 * ciphertexts.len());
    ctx.extend_from_slice(&index.to_be_bytes());
    ctx.extend_from_slice(&(ciphertexts.len() as u32).to_be_bytes());
    for c in ciphertexts {
        ctx.extend_from_slice(c.id());
    }
    ctx
}

fn pairs(shares: &[G1Affine], ciphertexts: &[VerifiedCiphertext]) -> Vec<(G1Affine, G1Affine)> {
    ciphertexts
        .iter()
        .zip(shares)
        .map(|(c, d)| (*c.ciphertext().u(), *d))
        .collect()
}

impl ShareBatch {
    /// Computes member `key_share.index()`'s shares for `ciphertexts` and proves them.
    pub fn create<R: RngCore + CryptoRng>(
        rng: &mut R,
        key_share: &KeyShare,
        ciphertexts: &[VerifiedCiphertext],
    ) -> Result<Self, ShareError> {
        if ciphertexts.is_empty() || ciphertexts.len() > MAX_BATCH {
            return Err(ShareError::BatchSize {
                len: ciphertexts.len(),
            });
        }
        let s = key_share.secret();
        let us: Vec<G1Affine> = ciphertexts.iter().map(|c| *c.ciphertext().u()).collect();
        let d: Vec<G1Projective> = ct::mul_many_g1(&us, s);
        let shares = G1Projective::normalize_batch(&d);
        // Multiples of validated points: in the subgroup by construction, so decoding them
        // again (from storage, or inside a plaintext batch) is a table lookup.
        remember_g1(&shares);
        let vk = generator_table().mul(s).into_affine();
        let proof = dleq::prove_batched(
            rng,
            tags::SHARE_DLEQ,
            tags::BATCH_WEIGHTS,
            &context(key_share.index(), ciphertexts),
            generator_table(),
            &vk,
            &pairs(&shares, ciphertexts),
            s,
        )
        .map_err(|_| ShareError::BatchSize { len: 0 })?;
        Ok(Self {
            index: key_share.index(),
            shares,
            proof,
        })
    }

    /// The member index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The shares, one per ciphertext, in batch order.
    pub fn shares(&self) -> &[G1Affine] {
        &self.shares
    }

    /// Checks the batch against the member's verification key and the ciphertexts.
    pub fn verify(
        &self,
        key: &ThresholdKey,
        ciphertexts: &[VerifiedCiphertext],
    ) -> Result<(), ShareError> {
        self.check_shape(key, ciphertexts)?;
        // Index checked by check_shape.
        let vk = key
            .verification_key(self.index)
            .map_err(|_| ShareError::UnknownMember {
                index: self.index,
                n: key.members(),
            })?;
        dleq::verify_batched(
            tags::SHARE_DLEQ,
            tags::BATCH_WEIGHTS,
            &context(self.index, ciphertexts),
            &generator(),
            &vk.point(),
            &pairs(&self.shares, ciphertexts),
            &self.proof,
        )
        .map_err(|_| ShareError::InvalidProof)
    }

    /// Checks index range and share count, without the proof.
    pub fn check_shape(
        &self,
        key: &ThresholdKey,
        ciphertexts: &[VerifiedCiphertext],
    ) -> Result<(), ShareError> {
        if self.index == 0 || self.index > key.members() {
            return Err(ShareError::UnknownMember {
                index: self.index,
                n: key.members(),
            });
        }
        if self.shares.len() != ciphertexts.len() {
            return Err(ShareError::CountMismatch {
                shares: self.shares.len(),
                ciphertexts: ciphertexts.len(),
            });
        }
        Ok(())
    }

    /// Length of [`ShareBatch::to_bytes`].
    pub fn encoded_len(&self) -> usize {
        9 + G1_LEN * self.shares.len() + DleqProof::ENCODED_LEN
    }

    /// The encoding (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(SHARE_VERSION);
        out.extend_from_slice(&self.index.to_be_bytes());
        // At most MAX_BATCH shares by construction and decoding.
        out.extend_from_slice(&(self.shares.len() as u32).to_be_bytes());
        for d in &self.shares {
            out.extend_from_slice(&g1_to_bytes(d));
        }
        out.extend_from_slice(&self.proof.to_bytes());
        out
    }

    /// Checks everything in an encoding except the points — version, member index, count
    /// and length — and returns `(index, count)`. This is the cheap part of
    /// [`ShareBatch::from_bytes`]: a receiver can store an authenticated batch after this
    /// check and validate its points (a square root and a subgroup check each) only if the
    /// batch is used. Every batch that [`ShareBatch::from_bytes`] accepts passes it.
    pub fn check_encoding(bytes: &[u8]) -> Result<(u32, usize), ShareError> {
        if bytes.len() < 9 {
            return Err(ShareError::Malformed { what: "length" });
        }
        if bytes[0] != SHARE_VERSION {
            return Err(ShareError::Malformed { what: "version" });
        }
        let index = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        let m = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) as usize;
        if m == 0 || m > MAX_BATCH {
            return Err(ShareError::BatchSize { len: m });
        }
        if bytes.len() != 9 + G1_LEN * m + DleqProof::ENCODED_LEN {
            return Err(ShareError::Malformed { what: "length" });
        }
        if index == 0 {
            return Err(ShareError::Malformed { what: "index" });
        }
        Ok((index, m))
    }

    /// Decodes and validates every point (on the curve, in the subgroup, not the identity).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ShareError> {
        let (index, m) = Self::check_encoding(bytes)?;
        let body = &bytes[9..9 + G1_LEN * m];
        let shares = body
            .chunks_exact(G1_LEN)
            .map(decode_g1)
            .collect::<Option<Vec<_>>>()
            .ok_or(ShareError::Malformed { what: "share" })?;
        let proof = DleqProof::from_bytes(&bytes[9 + G1_LEN * m..])
            .map_err(|_| ShareError::Malformed { what: "proof" })?;
        Ok(Self {
            index,
            shares,
            proof,
        })
    }
}
