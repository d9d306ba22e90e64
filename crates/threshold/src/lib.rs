//! Threshold encryption for Veil: TDH2 on BLS12-381 G1 with AES-256-GCM, decryption shares,
//! and BLS multi-signatures for order certificates.
#![deny(missing_docs)]

pub mod certificate;
pub mod ciphertext;
pub mod combine;
pub mod h2c;
pub mod keys;
pub mod label;
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
};
pub use label::{Label, LabelError, SlotRange};
pub use share::{ShareBatch, ShareError};
pub use veil_circuits::pop::ProofOfPossession;
