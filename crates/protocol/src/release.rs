//! Share release: decryption shares leave a member only for a batch with a valid order
//! certificate on exactly that batch's commitment.
//!
//! [`ReleaseGuard::authorize`] is the only constructor of a [`ReleaseAuthorization`], and
//! [`SharesMessage::create`] needs one, so the type system carries the rule: no code path
//! computes shares for an uncertified batch, and the shares are computed on the envelopes
//! whose ids are the certified ids, in the certified order.

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use veil_threshold::{BlsPublicKey, KeyShare, ShareBatch, ThresholdKey, VerifiedCiphertext};

use crate::batch::{Batch, Commitment};
use crate::certificate::{CertificateError, OrderCertificate};
use crate::codec::{CodecError, Reader, hex_form};
use crate::envelope::{TxId, ValidatedEnvelope};

/// Version byte of the shares-message encoding.
pub const SHARES_VERSION: u8 = 1;

/// Why shares may not be released, or a shares message was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ReleaseError {
    /// The certificate does not verify.
    #[error("no valid certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// The certificate is for another slot, parent or commitment than the batch.
    #[error("certificate does not match the batch")]
    Mismatch,
    /// The envelopes given are not the batch's, in order.
    #[error("envelope {index} is not the certified id")]
    WrongEnvelopes {
        /// First position that differs (or the shorter length).
        index: usize,
    },
    /// The batch has no threshold or dual items: there is nothing to share.
    #[error("no threshold items in batch")]
    NothingToShare,
    /// The shares could not be computed or do not verify.
    #[error("bad shares: {0}")]
    Shares(String),
    /// A shares message's member and share batch disagree.
    #[error("shares message from member {member} carries shares of member {index}")]
    MemberMismatch {
        /// Member named by the message.
        member: u32,
        /// Member index inside the share batch.
        index: u32,
    },
    /// Malformed encoding.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// Permission to release shares for one certified batch. Only [`ReleaseGuard::authorize`]
/// makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseAuthorization {
    slot: u64,
    commitment: Commitment,
    ids: Vec<TxId>,
}

impl ReleaseAuthorization {
    /// The slot.
    pub fn slot(&self) -> u64 {
        self.slot
    }

    /// The certified commitment.
    pub fn commitment(&self) -> Commitment {
        self.commitment
    }
}

/// The release rule for one committee.
#[derive(Clone, Debug)]
pub struct ReleaseGuard {
    committee: Vec<BlsPublicKey>,
    quorum: usize,
}

impl ReleaseGuard {
    /// The guard for a committee (BLS keys in member order) and certificate quorum.
    pub fn new(committee: Vec<BlsPublicKey>, quorum: usize) -> Self {
        Self { committee, quorum }
    }

    /// Authorizes release for `batch` only if `certificate` verifies at quorum and certifies
    /// exactly `batch`'s slot, parent and commitment.
    pub fn authorize(
        &self,
        certificate: &OrderCertificate,
        batch: &Batch,
    ) -> Result<ReleaseAuthorization, ReleaseError> {
        let c = batch.commitment();
        if certificate.slot != batch.slot
            || certificate.parent != batch.parent
            || certificate.commitment != c
        {
            return Err(ReleaseError::Mismatch);
        }
        certificate.verify(&self.committee, self.quorum)?;
        Ok(ReleaseAuthorization {
            slot: batch.slot,
            commitment: c,
            ids: batch.ids.clone(),
        })
    }
}

/// The threshold parts of `envelopes`, after checking that their ids are `ids` in order.
pub(crate) fn threshold_parts(
    ids: &[TxId],
    envelopes: &[ValidatedEnvelope],
) -> Result<Vec<VerifiedCiphertext>, ReleaseError> {
    if envelopes.len() != ids.len() {
        return Err(ReleaseError::WrongEnvelopes {
            index: envelopes.len().min(ids.len()),
        });
    }
    for (i, (e, id)) in envelopes.iter().zip(ids).enumerate() {
        if e.id() != *id {
            return Err(ReleaseError::WrongEnvelopes { index: i });
        }
    }
    Ok(envelopes
        .iter()
        .filter_map(|e| e.threshold_part().cloned())
        .collect())
}

/// The header of an encoded [`SharesMessage`], read by [`SharesMessage::peek`] without
/// decoding a share point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharesHeader {
    /// The slot.
    pub slot: u64,
    /// The certified commitment.
    pub commitment: Commitment,
    /// The releasing member (1-based; equal to the share batch's index).
    pub member: u32,
    /// Number of shares.
    pub count: usize,
}

/// One member's decryption shares for a certified batch (threshold and dual items, in batch
/// order), with one batched proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharesMessage {
    /// The slot.
    pub slot: u64,
    /// The certified commitment.
    pub commitment: Commitment,
    /// The releasing member (1-based).
    pub member: u32,
    /// Shares and proof.
    #[serde(with = "hex_form")]
    pub shares: ShareBatch,
}

impl SharesMessage {
    /// Computes `key_share`'s shares for the authorized batch. `envelopes` must be the
    /// batch's envelopes in certified order.
    pub fn create<R: RngCore + CryptoRng>(
        rng: &mut R,
        authorization: &ReleaseAuthorization,
        key_share: &KeyShare,
        envelopes: &[ValidatedEnvelope],
    ) -> Result<Self, ReleaseError> {
        let parts = threshold_parts(&authorization.ids, envelopes)?;
        if parts.is_empty() {
            return Err(ReleaseError::NothingToShare);
        }
        let shares = ShareBatch::create(rng, key_share, &parts)
            .map_err(|e| ReleaseError::Shares(e.to_string()))?;
        Ok(Self {
            slot: authorization.slot,
            commitment: authorization.commitment,
            member: key_share.index(),
            shares,
        })
    }

    /// Checks the member and the batched proof against the key and the batch's envelopes
    /// (combining checks proofs lazily; use this to vet shares from a suspect member).
    pub fn verify(
        &self,
        key: &ThresholdKey,
        ids: &[TxId],
        envelopes: &[ValidatedEnvelope],
    ) -> Result<(), ReleaseError> {
        self.check_member()?;
        let parts = threshold_parts(ids, envelopes)?;
        self.shares
            .verify(key, &parts)
            .map_err(|e| ReleaseError::Shares(e.to_string()))
    }

    fn check_member(&self) -> Result<(), ReleaseError> {
        if self.member != self.shares.index() {
            return Err(ReleaseError::MemberMismatch {
                member: self.member,
                index: self.shares.index(),
            });
        }
        Ok(())
    }

    /// `0x01 ‖ slot ‖ commitment ‖ member (u32) ‖ share batch`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![SHARES_VERSION];
        out.extend_from_slice(&self.slot.to_be_bytes());
        out.extend_from_slice(&self.commitment.0);
        out.extend_from_slice(&self.member.to_be_bytes());
        out.extend_from_slice(&self.shares.to_bytes());
        out
    }

    /// Reads the header of an encoding and checks its shape — version, slot, commitment,
    /// member, the share batch's index (equal to the member), count and length — without
    /// decoding a share point. Every encoding [`SharesMessage::from_bytes`] accepts passes;
    /// one that passes may still hold invalid points, which `from_bytes` refuses when the
    /// shares are used. A member stores authenticated share messages after this check and
    /// validates the points of only the `t` it combines (see the node's module docs).
    pub fn peek(bytes: &[u8]) -> Result<SharesHeader, ReleaseError> {
        let mut r = Reader::new(bytes, "shares message");
        r.version(SHARES_VERSION)?;
        let slot = r.u64()?;
        let commitment = Commitment(r.array()?);
        let member = r.u32()?;
        let (index, count) =
            ShareBatch::check_encoding(r.rest()).map_err(|_| CodecError::Malformed {
                what: "share batch",
            })?;
        if member != index {
            return Err(ReleaseError::MemberMismatch { member, index });
        }
        Ok(SharesHeader {
            slot,
            commitment,
            member,
            count,
        })
    }

    /// Decodes with validation (every share point; member consistency).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ReleaseError> {
        let mut r = Reader::new(bytes, "shares message");
        r.version(SHARES_VERSION)?;
        let slot = r.u64()?;
        let commitment = Commitment(r.array()?);
        let member = r.u32()?;
        let shares = ShareBatch::from_bytes(r.rest()).map_err(|_| CodecError::Malformed {
            what: "share batch",
        })?;
        let m = Self {
            slot,
            commitment,
            member,
            shares,
        };
        m.check_member()?;
        Ok(m)
    }
}
