//! Dual mode: one data key wrapped under both the committee's threshold key and a time-lock
//! puzzle — the committee is the fast path, the puzzle the trustless fallback.
//!
//! # Construction
//!
//! For delay parameters, the committee's encryption key, a label and a payload:
//!
//! 1. draw a fresh 32-byte data key `K`; seal the payload with AES-256-GCM under `K`, with
//!    the key commitment `SHA-256(KEY_COMMITMENT ‖ K)` ([`crate::dem`]);
//! 2. **threshold wrap**: `K` is the plaintext of a TDH2 ciphertext under the committee key
//!    and the same label ([`veil_threshold::EncryptionKey::encrypt`]), with its own DLEQ
//!    validity proof;
//! 3. **puzzle wrap**: a fresh puzzle `o = g^a` with `P = k²` and the exponent-equality
//!    proof (bound to the label, the parameter id and the dual-mode kind), and `K` encrypted
//!    under the puzzle's Poseidon key with the delay proof that the puzzle's solution opens
//!    it — exactly a delay ciphertext's proven seal ([`crate::delay`]) with a 32-byte
//!    payload, so a node can refuse a dual ciphertext whose fallback would not open.
//!
//! The payload's AEAD data covers the whole header (threshold wrap, puzzle, proof, puzzle
//! wrap) and the label digest, so no part can be swapped.
//!
//! # Opening
//!
//! - **Committee**: members validate and decrypt the threshold part like any threshold
//!   ciphertext; the combined plaintext is `K` ([`DualCiphertext::decrypt_with_data_key`]).
//! - **Fallback**: anyone solves (or receives a proven solution or a reveal for) the puzzle
//!   and unwraps `K` ([`DualCiphertext::decrypt_with_puzzle`]).
//!
//! # What a malicious sender can and cannot do
//!
//! Nothing forces the two wraps to contain the same `K` (proving that would need a proof
//! across BLS12-381 and the RSA group). But both paths check `K` against the single key
//! commitment before decrypting, so each path yields either *the* committed plaintext or
//! "invalid" — never two different plaintexts. A sender who makes the wraps disagree only
//! makes its own transaction fail on one path; the ordering stays unambiguous because the
//! committee path, when it runs, is the one the certified batch uses.

use rand_core::{CryptoRng, RngCore};
use thiserror::Error;
use veil_threshold::{Ciphertext, EncryptionKey, Label, PublicKey};
use zeroize::Zeroizing;

use veil_circuits::delay_snark::DelayProvingKey;

use crate::DelayError;
use crate::delay::{
    CIPHERTEXT_VERSION, MAX_PAYLOAD, ProvenSeal, Puzzle, PuzzleKey, PuzzleSecret, read_header,
    read_params_id,
};
use crate::dem::{self, AEAD_TAG_LEN, COMMITMENT_LEN};
use crate::params::{DelayParams, Reader};

/// Kind byte of an encoded dual ciphertext.
pub const DUAL_CIPHERTEXT_KIND: u8 = 0x05;

/// Length of the wrapped data key (stream-encrypted; the MAC tag travels beside it).
pub const WRAPPED_KEY_LEN: usize = 32;

/// Largest threshold wrap accepted on decoding (a 32-byte plaintext with the largest label).
const MAX_THRESHOLD_WRAP: usize = 4096;

/// Why a dual-mode operation failed. Decryption failures are deliberately opaque.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DualError {
    /// The encoding is truncated, too long or has an invalid field.
    #[error("malformed dual ciphertext: {0}")]
    Malformed(&'static str),
    /// Unknown kind or version byte.
    #[error("unsupported dual ciphertext encoding")]
    Unsupported,
    /// The payload exceeds [`MAX_PAYLOAD`].
    #[error("payload too large: {len} bytes, limit {MAX_PAYLOAD}")]
    PayloadTooLarge {
        /// Length given.
        len: usize,
    },
    /// Encoded for another parameter set.
    #[error("encoded for other delay parameters")]
    WrongParams,
    /// The proving key does not match the delay parameters.
    #[error("proving key does not match the delay parameters")]
    WrongProvingKey,
    /// A validity proof failed, or the wraps carry different labels.
    #[error("invalid dual ciphertext")]
    Invalid,
    /// Decryption failed.
    #[error("decryption failed")]
    Decrypt,
    /// The threshold encryption refused the input.
    #[error("threshold wrap failed: {0}")]
    Threshold(String),
}

/// A payload whose data key is wrapped under the committee key and a puzzle.
#[derive(Clone, Debug)]
pub struct DualCiphertext {
    params_id: [u8; 32],
    threshold: Ciphertext,
    puzzle: Puzzle,
    wrap: ProvenSeal,
    commitment: [u8; COMMITMENT_LEN],
    body: Vec<u8>,
}

impl DualCiphertext {
    /// Encrypts `plaintext` (at most [`MAX_PAYLOAD`] bytes) under both the committee key and
    /// a fresh puzzle, bound to `label`. Returns the ciphertext and the puzzle secret.
    pub fn encrypt(
        params: &DelayParams,
        pk: &DelayProvingKey,
        committee: &EncryptionKey,
        label: &Label,
        plaintext: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Self, PuzzleSecret), DualError> {
        if plaintext.len() > MAX_PAYLOAD {
            return Err(DualError::PayloadTooLarge {
                len: plaintext.len(),
            });
        }
        let digest = label.digest();
        let mut data_key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(data_key.as_mut());
        let threshold = committee
            .encrypt(rng, label, data_key.as_ref())
            .map_err(|e| DualError::Threshold(e.to_string()))?;
        let (puzzle, secret, puzzle_key) =
            Puzzle::create(DUAL_CIPHERTEXT_KIND, params, &digest, rng);
        let wrap = ProvenSeal::seal(
            DUAL_CIPHERTEXT_KIND,
            params,
            pk,
            &digest,
            &puzzle,
            &puzzle_key,
            data_key.as_ref(),
            rng,
        )
        .map_err(|e| match e {
            DelayError::WrongProvingKey => DualError::WrongProvingKey,
            _ => DualError::Invalid,
        })?;
        let mut ct = Self {
            params_id: *params.id(),
            threshold,
            puzzle,
            wrap,
            commitment: [0; COMMITMENT_LEN],
            body: Vec::new(),
        };
        let (commitment, body) = dem::seal(
            veil_domain::timelock::KEY_COMMITMENT,
            &data_key,
            &ct.payload_aad(params, &digest),
            plaintext,
        );
        ct.commitment = commitment;
        ct.body = body;
        Ok((ct, secret))
    }

    /// The threshold part, to be validated, shared and combined by the committee like any
    /// threshold ciphertext; its plaintext is the data key.
    pub fn threshold_part(&self) -> &Ciphertext {
        &self.threshold
    }

    /// The puzzle, for the fallback path.
    pub fn puzzle(&self) -> &Puzzle {
        &self.puzzle
    }

    /// Validity for `label`: the threshold part's proof against the committee key, its label,
    /// and the puzzle's proof of knowledge.
    pub fn verify(
        &self,
        params: &DelayParams,
        committee: &PublicKey,
        label: &Label,
    ) -> Result<(), DualError> {
        self.verify_puzzle_side(params, label)?;
        self.threshold
            .clone()
            .verify(committee)
            .map_err(|_| DualError::Invalid)?;
        Ok(())
    }

    fn verify_puzzle_side(&self, params: &DelayParams, label: &Label) -> Result<(), DualError> {
        if &self.params_id != params.id() {
            return Err(DualError::WrongParams);
        }
        if self.threshold.label() != label {
            return Err(DualError::Invalid);
        }
        let digest = label.digest();
        self.puzzle
            .verify(DUAL_CIPHERTEXT_KIND, params, &digest)
            .map_err(|_| DualError::Invalid)?;
        self.wrap
            .verify(DUAL_CIPHERTEXT_KIND, params, &digest, &self.puzzle)
            .map_err(|_| DualError::Invalid)
    }

    /// Committee path: decrypts with the data key the committee's combined shares yielded
    /// for [`DualCiphertext::threshold_part`].
    pub fn decrypt_with_data_key(
        &self,
        params: &DelayParams,
        label: &Label,
        data_key: &[u8],
    ) -> Result<Vec<u8>, DualError> {
        if self.threshold.label() != label || &self.params_id != params.id() {
            return Err(DualError::Decrypt);
        }
        let key: [u8; 32] = data_key.try_into().map_err(|_| DualError::Decrypt)?;
        let key = Zeroizing::new(key);
        self.open_payload(params, label, &key)
    }

    /// Fallback path: decrypts with the opened puzzle (solved, proven solution, or reveal).
    pub fn decrypt_with_puzzle(
        &self,
        params: &DelayParams,
        label: &Label,
        key: &PuzzleKey,
    ) -> Result<Vec<u8>, DualError> {
        self.verify_puzzle_side(params, label)
            .map_err(|_| DualError::Decrypt)?;
        let digest = label.digest();
        let data_key = self
            .wrap
            .open(DUAL_CIPHERTEXT_KIND, params, &digest, &self.puzzle, key)
            .ok_or(DualError::Decrypt)?;
        let key: [u8; 32] = data_key
            .as_slice()
            .try_into()
            .map_err(|_| DualError::Decrypt)?;
        let key = Zeroizing::new(key);
        self.open_payload(params, label, &key)
    }

    fn open_payload(
        &self,
        params: &DelayParams,
        label: &Label,
        key: &[u8; 32],
    ) -> Result<Vec<u8>, DualError> {
        let digest = label.digest();
        dem::open(
            veil_domain::timelock::KEY_COMMITMENT,
            key,
            &self.payload_aad(params, &digest),
            &self.commitment,
            &self.body,
        )
        .ok_or(DualError::Decrypt)
    }

    /// Everything before the wrapped key: kind, version, params id, threshold wrap, puzzle.
    fn prefix(&self, params: &DelayParams) -> Vec<u8> {
        let t = self.threshold.to_bytes();
        let mut out = vec![DUAL_CIPHERTEXT_KIND, CIPHERTEXT_VERSION];
        out.extend_from_slice(&self.params_id);
        // The threshold wrap is at most MAX_THRESHOLD_WRAP bytes (a 32-byte plaintext).
        out.extend_from_slice(&(t.len() as u32).to_be_bytes());
        out.extend_from_slice(&t);
        self.puzzle.write(params, &mut out);
        out
    }

    fn payload_aad(&self, params: &DelayParams, digest: &[u8; 32]) -> Vec<u8> {
        let mut aad = self.prefix(params);
        self.wrap.write(&mut aad);
        aad.extend_from_slice(digest);
        aad
    }

    /// Canonical encoding: `0x05 ‖ 0x02 ‖ params id ‖ len (u32 BE) ‖ threshold ciphertext ‖
    /// o ‖ P ‖ c ‖ z ‖ π (192) ‖ tag (32) ‖ 32 (u32 BE) ‖ wrapped key (32) ‖ commitment (32)
    /// ‖ len (u32 BE) ‖ body`.
    pub fn to_bytes(&self, params: &DelayParams) -> Vec<u8> {
        let mut out = self.prefix(params);
        self.wrap.write(&mut out);
        out.extend_from_slice(&self.commitment);
        // Bodies are at most MAX_PAYLOAD + 16 bytes: fits a u32.
        out.extend_from_slice(&(self.body.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    /// Decodes a dual ciphertext for `params`, validating every length, point and element
    /// (not the proofs, which need the committee key and the label: see
    /// [`DualCiphertext::verify`]).
    pub fn from_bytes(params: &DelayParams, bytes: &[u8]) -> Result<Self, DualError> {
        let truncated = DualError::Malformed("truncated");
        let mut r = Reader(bytes);
        read_header(&mut r, DUAL_CIPHERTEXT_KIND, CIPHERTEXT_VERSION)
            .map_err(|_| DualError::Unsupported)?;
        read_params_id(&mut r, params).map_err(|_| DualError::WrongParams)?;
        let t_len = u32::from_be_bytes(r.array().ok_or(truncated.clone())?) as usize;
        if t_len > MAX_THRESHOLD_WRAP {
            return Err(DualError::Malformed("threshold wrap too long"));
        }
        let threshold = Ciphertext::from_bytes(r.take(t_len).ok_or(truncated.clone())?)
            .map_err(|_| DualError::Malformed("threshold wrap"))?;
        let puzzle = Puzzle::read(params, &mut r).map_err(|e| match e {
            DelayError::Malformed(what) => DualError::Malformed(what),
            _ => DualError::Malformed("puzzle"),
        })?;
        let wrap = ProvenSeal::read(&mut r, Some(WRAPPED_KEY_LEN)).map_err(|e| match e {
            DelayError::Malformed(what) => DualError::Malformed(what),
            _ => DualError::Malformed("puzzle wrap"),
        })?;
        let commitment: [u8; COMMITMENT_LEN] = r.array().ok_or(truncated)?;
        let body = read_body(&mut r).map_err(|e| match e {
            DelayError::PayloadTooLarge { len } => DualError::PayloadTooLarge { len },
            _ => DualError::Malformed("body"),
        })?;
        if !r.0.is_empty() {
            return Err(DualError::Malformed("trailing bytes"));
        }
        Ok(Self {
            params_id: *params.id(),
            threshold,
            puzzle,
            wrap,
            commitment,
            body,
        })
    }
}

fn read_body(r: &mut Reader<'_>) -> Result<Vec<u8>, DelayError> {
    let len = u32::from_be_bytes(r.array().ok_or(DelayError::Malformed("truncated"))?) as usize;
    if len < AEAD_TAG_LEN {
        return Err(DelayError::Malformed("body shorter than its tag"));
    }
    if len > MAX_PAYLOAD + AEAD_TAG_LEN {
        return Err(DelayError::PayloadTooLarge {
            len: len - AEAD_TAG_LEN,
        });
    }
    Ok(r.take(len)
        .ok_or(DelayError::Malformed("truncated"))?
        .to_vec())
}
