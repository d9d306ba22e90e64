//! Veil key ceremonies: distributed key generation and resharing for committees.
//!
//! A committee needs a threshold key pair without any party ever holding the whole secret.
//! This crate runs that ceremony and everything around it:
//!
//! - [`identity`]: a member's long-term keys — BLS signing key with proof of possession and
//!   a share-encryption key with proof of knowledge;
//! - [`seal`]: secrets at rest, sealed under a passphrase (Argon2id + AES-256-GCM);
//! - [`dkg`]: the ceremony itself — Feldman-committed dealings with hashed-ElGamal encrypted
//!   shares, self-proving complaints, deterministic qualification, aggregation, and
//!   resharing to a new committee under the same public key; every step re-checkable from
//!   the transcript alone;
//! - [`committee`]: the public outcome, `committee.json`, with [`Committee::load_and_verify`];
//! - [`files`]: the on-disk layout the `keygen` CLI uses (offline ceremonies exchange files);
//! - [`http`]: the bulletin-board coordinator (axum) and the member's client, for ceremonies
//!   over HTTP; the coordinator only relays signed messages and learns nothing secret.
//!
//! The proofs themselves live in `veil_circuits::pvss`.
#![deny(missing_docs)]

pub(crate) mod codec;
pub mod committee;
pub mod dkg;
pub mod files;
pub mod http;
pub mod identity;
pub mod seal;

pub use codec::CodecError;
pub use committee::{Committee, CommitteeError, CommitteeMember};
pub use dkg::{CeremonyParams, Complaint, Dealing, DkgError, MemberShare, Outcome, Transcript};
pub use identity::{MemberPublic, MemberSecret};
