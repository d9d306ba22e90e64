//! Order certificates: a quorum of votes on one `(slot, parent, commitment)` aggregated into
//! one BLS multi-signature with a signer bitmap.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use veil_threshold::certificate::{aggregate, check_quorum};
use veil_threshold::{AggregateSignature, BlsPublicKey, Signature, SignerBitmap};

use crate::batch::Commitment;
use crate::codec::{CodecError, Reader, hex_form};
use crate::vote::{Vote, VoteError, VoteIntent, vote_message};

/// Version byte of the certificate encoding.
pub const ORDER_CERTIFICATE_VERSION: u8 = 1;

/// Why a certificate or a vote offered to a builder was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CertificateError {
    /// Malformed encoding.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// Fewer signers than the quorum.
    #[error("no quorum: {have} of {need} signers")]
    NoQuorum {
        /// Signers present.
        have: usize,
        /// Quorum.
        need: usize,
    },
    /// The bitmap does not match the committee size.
    #[error("certificate for {bitmap} members, committee has {committee}")]
    CommitteeMismatch {
        /// Size in the bitmap.
        bitmap: usize,
        /// Committee size.
        committee: usize,
    },
    /// The aggregate signature does not verify.
    #[error("invalid certificate")]
    Invalid,
    /// A vote is for another `(slot, parent, commitment)`.
    #[error("vote for a different commitment")]
    Conflicting,
    /// The member already voted here.
    #[error("duplicate vote from member {0}")]
    Duplicate(u32),
    /// A vote failed its own checks (unknown member, bad signature).
    #[error(transparent)]
    Vote(#[from] VoteError),
}

/// Proof that a quorum of the committee voted for `commitment` at `(slot, parent)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCertificate {
    /// The slot.
    pub slot: u64,
    /// The parent commitment.
    pub parent: Commitment,
    /// The certified commitment.
    pub commitment: Commitment,
    /// Multi-signature and signer bitmap over [`vote_message`].
    #[serde(with = "hex_form")]
    pub signature: AggregateSignature,
}

impl OrderCertificate {
    /// Who signed (bit `i` is member `i + 1`).
    pub fn signers(&self) -> &SignerBitmap {
        &self.signature.signers
    }

    /// What was certified.
    pub fn intent(&self) -> VoteIntent {
        VoteIntent {
            slot: self.slot,
            parent: self.parent,
            commitment: self.commitment,
        }
    }

    /// Checks the quorum and the aggregate against the committee's BLS keys (each key's
    /// proof of possession checked at registration). Opaque on a bad signature.
    pub fn verify(
        &self,
        committee: &[BlsPublicKey],
        quorum: usize,
    ) -> Result<(), CertificateError> {
        let signers = self.signers();
        if signers.len() != committee.len() {
            return Err(CertificateError::CommitteeMismatch {
                bitmap: signers.len(),
                committee: committee.len(),
            });
        }
        check_quorum(signers, quorum.max(1)).map_err(|_| CertificateError::NoQuorum {
            have: signers.count(),
            need: quorum,
        })?;
        self.signature
            .verify(
                committee,
                &vote_message(self.slot, &self.parent, &self.commitment),
            )
            .map_err(|_| CertificateError::Invalid)
    }

    /// `0x01 ‖ slot ‖ parent ‖ commitment ‖ aggregate signature`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![ORDER_CERTIFICATE_VERSION];
        out.extend_from_slice(&self.slot.to_be_bytes());
        out.extend_from_slice(&self.parent.0);
        out.extend_from_slice(&self.commitment.0);
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }

    /// Decodes with validation (bitmap, signature point; not the signature itself).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CertificateError> {
        let mut r = Reader::new(bytes, "certificate");
        r.version(ORDER_CERTIFICATE_VERSION)?;
        let slot = r.u64()?;
        let parent = Commitment(r.array()?);
        let commitment = Commitment(r.array()?);
        let signature =
            AggregateSignature::from_bytes(r.rest()).map_err(|_| CodecError::Malformed {
                what: "aggregate signature",
            })?;
        Ok(Self {
            slot,
            parent,
            commitment,
            signature,
        })
    }
}

/// What adding a vote achieved.
// The certificate is returned once per slot; boxing it would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Counted; the quorum is not reached yet.
    Pending {
        /// Valid votes so far.
        have: usize,
        /// Quorum.
        need: usize,
    },
    /// The quorum is reached: the certificate (returned once).
    Certified(OrderCertificate),
    /// A certificate was already produced; the vote was checked and ignored.
    AlreadyCertified,
}

/// Collects votes for one `(slot, parent, commitment)` until the quorum, checking each.
#[derive(Clone, Debug)]
pub struct CertificateBuilder {
    intent: VoteIntent,
    committee: Vec<BlsPublicKey>,
    quorum: usize,
    votes: BTreeMap<u32, Signature>,
    done: bool,
}

impl CertificateBuilder {
    /// A builder for `intent` under a committee (keys in member order) and quorum.
    pub fn new(intent: VoteIntent, committee: Vec<BlsPublicKey>, quorum: usize) -> Self {
        Self {
            intent,
            committee,
            quorum: quorum.max(1),
            votes: BTreeMap::new(),
            done: false,
        }
    }

    /// What is being certified.
    pub fn intent(&self) -> VoteIntent {
        self.intent
    }

    /// Valid votes collected.
    pub fn count(&self) -> usize {
        self.votes.len()
    }

    /// Adds a vote: refuses conflicting, foreign (unknown member), badly signed and
    /// duplicate votes; returns the certificate when the quorum is reached.
    pub fn add(&mut self, vote: &Vote) -> Result<Progress, CertificateError> {
        if vote.intent() != self.intent {
            return Err(CertificateError::Conflicting);
        }
        if self.votes.contains_key(&vote.member) {
            return Err(CertificateError::Duplicate(vote.member));
        }
        vote.verify(&self.committee)?;
        self.votes.insert(vote.member, vote.signature);
        if self.done {
            return Ok(Progress::AlreadyCertified);
        }
        if self.votes.len() < self.quorum {
            return Ok(Progress::Pending {
                have: self.votes.len(),
                need: self.quorum,
            });
        }
        // Members are in 1..=n (checked by verify), so positions are in range and distinct.
        let sigs: Vec<(usize, Signature)> = self
            .votes
            .iter()
            .map(|(m, s)| (*m as usize - 1, *s))
            .collect();
        let signature =
            aggregate(self.committee.len(), &sigs).map_err(|_| CertificateError::Invalid)?;
        self.done = true;
        Ok(Progress::Certified(OrderCertificate {
            slot: self.intent.slot,
            parent: self.intent.parent,
            commitment: self.intent.commitment,
            signature,
        }))
    }
}
