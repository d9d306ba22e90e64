//! Threshold encryption for Veil: TDH2 on BLS12-381 G1 with AES-256-GCM, decryption shares,
//! and BLS multi-signatures for order certificates.
//!
//! Wallets encrypt transactions to the committee key; a committee of `n` members, any `t` of
//! which can decrypt, orders ciphertexts it cannot read and releases decryption shares only
//! for certified batches. This crate is the cryptography of that flow; the protocol (when to
//! release shares, what a certificate signs) lives elsewhere.
//!
//! # Construction
//!
//! | step | who | what | module |
//! | --- | --- | --- | --- |
//! | keys | ceremony | `PK = s·G`, `VKᵢ = sᵢ·G`, Shamir shares `sᵢ = f(i)` | [`keys`] |
//! | encrypt | wallet | `U = r·G`, `Ū = r·Ḡ`, DLEQ proof, `k = HKDF(r·PK, U, H(label))`, key commitment, AES-256-GCM | [`ciphertext`] |
//! | validate | everyone | the DLEQ proof, many ciphertexts in one MSM | [`ciphertext::verify_batch`] |
//! | share | member `i` | `Dᵢⱼ = sᵢ·Uⱼ` for the batch, one batched DLEQ proof against `VKᵢ` | [`share`] |
//! | combine | anyone | Lagrange at 0 once, `r·PK = Σ λᵢDᵢⱼ` per ciphertext, optimistic checking | [`combine`] |
//! | certify | members | BLS multi-signature + signer bitmap, proofs of possession | [`certificate`] |
//!
//! `G` is the standard G1 generator and `Ḡ` an independent generator from RFC 9380
//! hash-to-curve ([`h2c`]). The sigma protocols (DLEQ, proofs of possession) and the
//! constant-time scalar multiplication live in `veil-circuits`.
//!
//! # What the label binds, and why
//!
//! Every ciphertext carries a [`Label`] in the clear: chain id, sender (or a commitment to
//! it), the slot range in which it may be ordered, the maximum fee, and up to 256
//! rollup-defined bytes. The label's digest is hashed into the validity proof's challenge,
//! into the key derivation and into the AEAD's associated data. So a ciphertext is valid for
//! exactly one label: it cannot be replayed on another chain, for other slots, or under
//! another sender — in particular, an observer who copies a victim's ciphertext and submits
//! it under its own sender gets a ciphertext that fails validation, and so can never get it
//! decrypted for its own benefit. The fee is in the label so that it can be charged even
//! when the ciphertext later fails to decrypt.
//!
//! # Security argument (sketch)
//!
//! - **Privacy (IND-CCA with labels).** TDH2 (Shoup and Gennaro, J. Cryptology 15(2), 2002)
//!   is CCA-secure in the random-oracle model under CDH (DDH for the hybrid form): the DLEQ
//!   proof that `log_G U = log_Ḡ Ū` is a simulation-sound proof of knowledge of `r`, so a
//!   decryption-share oracle is useless to an attacker, who could only query it on
//!   ciphertexts it already knows the randomness of. Fewer than `t` shares `sᵢ` are
//!   independent of `s`. Members release shares only for [`VerifiedCiphertext`]s.
//! - **Non-malleability.** The proof binds `PK`, `U`, `Ū`, the label, the key commitment and
//!   the whole AEAD ciphertext; any change invalidates it (tested byte by byte).
//! - **Robustness.** Each member's shares carry a batched Chaum–Pedersen proof against its
//!   verification key; a wrong share is detected with probability `1 − q·2⁻¹²⁸` and the
//!   member excluded, so up to `n − t` faulty members cannot prevent decryption.
//! - **Unambiguous failure.** The key commitment makes AES-GCM key-committing: a ciphertext
//!   that fails under the key the verified shares yield is invalid, for everyone.
//! - **Certificates.** BLS multi-signatures are unforgeable under co-CDH in the
//!   random-oracle model once every key's proof of possession is checked (Ristenpart and
//!   Yilek, EUROCRYPT 2007).
//! - **Side channels.** Secret scalars (the encryptor's `r` and nonce, key shares, signing
//!   keys) are only multiplied through constant-time ladders and fixed-base tables with
//!   masked table lookups; secrets are zeroized on drop. Residual leaks (incomplete
//!   addition formulas on negligible-probability inputs, arkworks' final conditional
//!   subtraction in Montgomery multiplication) are documented in `veil_circuits::dleq::ct`.
//!
//! # Deviations from TDH2
//!
//! - Hybrid encryption: an HKDF-derived AES-256-GCM key plus a key commitment, instead of a
//!   hashed one-time pad.
//! - The ciphertext-validity proof is in commitment form `(A, Ā, z)` so that many ciphertexts
//!   are checked with one multi-scalar multiplication; the proof also binds the committee
//!   key and the whole symmetric part.
//! - One batched DLEQ proof per member per batch instead of one proof per share.
//! - Optimistic combining: share proofs are only checked when a key commitment fails.
//!
//! # Example
//!
//! ```
//! use rand_core::OsRng;
//! use veil_threshold::{
//!     Decrypted, EncryptionKey, Label, ShareBatch, SlotRange, combine, hazmat, verify_batch,
//! };
//!
//! // A 3-of-4 committee (a trusted dealer is only for tests and devnets).
//! let (key, shares) = hazmat::deal(&mut OsRng, 3, 4)?;
//!
//! // A wallet encrypts a transaction for chain 10, slots 100..=110.
//! let ek = EncryptionKey::new(key.public_key());
//! let label = Label::new(10, [0xaa; 32], SlotRange::new(100, 110)?, 21_000, vec![])?;
//! let ct = ek.encrypt(&mut OsRng, &label, b"signed transaction")?;
//!
//! // Members validate the batch, then (once it is certified) release their shares.
//! let batch: Vec<_> = verify_batch(key.public_key(), vec![ct])
//!     .into_iter()
//!     .collect::<Result<_, _>>()?;
//! let released: Vec<ShareBatch> = shares[1..]
//!     .iter()
//!     .map(|s| ShareBatch::create(&mut OsRng, s, &batch))
//!     .collect::<Result<_, _>>()?;
//!
//! // Anyone holding t share batches decrypts, in batch order.
//! let out = combine(&key, &batch, &released)?;
//! assert_eq!(out.outcomes, vec![Decrypted::Plaintext(b"signed transaction".to_vec())]);
//!
//! // Two members are not enough.
//! assert!(combine(&key, &batch, &released[..2]).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod certificate;
pub mod ciphertext;
pub mod combine;
pub mod h2c;
pub mod keys;
pub mod label;
pub mod point;
pub mod share;

pub use certificate::{
    AggregateSignature, BlsPublicKey, CertificateError, Signature, SignerBitmap, SigningKey,
};
pub use ciphertext::{
    Ciphertext, CiphertextError, EncryptionKey, MAX_PLAINTEXT, VerifiedCiphertext, verify_batch,
};
pub use combine::{CombineError, Combined, Decrypted, combine};
pub use keys::{
    KeyError, KeyShare, PublicKey, ThresholdKey, VerificationKey, hazmat, lagrange_at_zero,
    small_lagrange_at_zero,
};
pub use label::{Label, LabelError, SlotRange};
pub use share::{ShareBatch, ShareError};
pub use veil_circuits::pop::ProofOfPossession;
