//! Threshold encryption for Veil: TDH2 on BLS12-381 G1 with AES-256-GCM, decryption shares,
//! and BLS multi-signatures for order certificates.
#![deny(missing_docs)]

pub mod label;

pub use label::{Label, LabelError, SlotRange};
