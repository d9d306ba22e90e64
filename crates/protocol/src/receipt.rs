//! Submission receipts: a member's signed acknowledgement that it validated and durably
//! stored an envelope (or a bulk submission, by the Merkle root of its ids in order).

use serde::{Deserialize, Serialize};
use thiserror::Error;
use veil_domain::protocol as tags;
use veil_threshold::{BlsPublicKey, Signature, SigningKey};

use crate::codec::{CodecError, Reader, hex_form};
use crate::envelope::TxId;
use crate::merkle::merkle_root;

/// Version byte of the receipt encoding.
pub const RECEIPT_VERSION: u8 = 1;

/// Why a receipt was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ReceiptError {
    /// Malformed encoding.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The member index is outside the committee.
    #[error("unknown member {member} (committee of {n})")]
    UnknownMember {
        /// Index given.
        member: u32,
        /// Committee size.
        n: usize,
    },
    /// The signature does not verify.
    #[error("invalid receipt")]
    Invalid,
}

/// What a receipt acknowledges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptSubject {
    /// One envelope.
    Transaction(TxId),
    /// A bulk submission: the Merkle root of its ids in submission order, and their count.
    Bulk {
        /// [`merkle_root`] of the ids.
        #[serde(with = "hex_form")]
        root: [u8; 32],
        /// Number of ids.
        count: u32,
    },
}

impl ReceiptSubject {
    /// The subject of a bulk submission of `ids`.
    pub fn bulk(ids: &[TxId]) -> Self {
        Self::Bulk {
            root: merkle_root(ids),
            count: ids.len() as u32,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Transaction(id) => {
                out.push(0);
                out.extend_from_slice(&id.0);
            }
            Self::Bulk { root, count } => {
                out.push(1);
                out.extend_from_slice(root);
                out.extend_from_slice(&count.to_be_bytes());
            }
        }
    }
}

/// A member's signed receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The acknowledging member (1-based).
    pub member: u32,
    /// What is acknowledged.
    pub subject: ReceiptSubject,
    /// BLS signature over `RECEIPT ‖ member ‖ subject`.
    #[serde(with = "hex_form")]
    pub signature: Signature,
}

fn message(member: u32, subject: &ReceiptSubject) -> Vec<u8> {
    let mut m = tags::RECEIPT.to_vec();
    m.extend_from_slice(&member.to_be_bytes());
    subject.write(&mut m);
    m
}

impl Receipt {
    /// Signs a receipt (after the envelope is durably stored).
    pub fn sign(key: &SigningKey, member: u32, subject: ReceiptSubject) -> Self {
        Self {
            member,
            subject,
            signature: key.sign(&message(member, &subject)),
        }
    }

    /// Checks the signature against the committee's keys.
    pub fn verify(&self, committee: &[BlsPublicKey]) -> Result<(), ReceiptError> {
        let key = (self.member as usize)
            .checked_sub(1)
            .and_then(|i| committee.get(i))
            .ok_or(ReceiptError::UnknownMember {
                member: self.member,
                n: committee.len(),
            })?;
        key.verify(&message(self.member, &self.subject), &self.signature)
            .map_err(|_| ReceiptError::Invalid)
    }

    /// `0x01 ‖ member ‖ subject ‖ signature`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![RECEIPT_VERSION];
        out.extend_from_slice(&self.member.to_be_bytes());
        self.subject.write(&mut out);
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }

    /// Decodes with validation.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ReceiptError> {
        let mut r = Reader::new(bytes, "receipt");
        r.version(RECEIPT_VERSION)?;
        let member = r.u32()?;
        let subject = match r.u8()? {
            0 => ReceiptSubject::Transaction(TxId(r.array()?)),
            1 => ReceiptSubject::Bulk {
                root: r.array()?,
                count: r.u32()?,
            },
            _ => {
                return Err(CodecError::Malformed {
                    what: "receipt subject",
                }
                .into());
            }
        };
        let signature = Signature::from_bytes(r.take(96)?)
            .map_err(|_| CodecError::Malformed { what: "signature" })?;
        r.finish()?;
        Ok(Self {
            member,
            subject,
            signature,
        })
    }
}
