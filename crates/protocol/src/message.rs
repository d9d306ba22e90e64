//! Member-to-member messages: a [`SignedMessage`] from a committee member, checked against
//! the committee before its body is even decoded.
//!
//! The signature covers `MEMBER_MESSAGE ‖ from ‖ kind ‖ SHA-256(body)`; one BLS signature
//! (about a millisecond) per message, and messages carry whole batches, never single
//! transactions. [`MemberMessage`] is the typed body. Proposals, votes and certificates are
//! always signed (third parties must be able to check them). Envelopes and shares may instead
//! travel sealed with a pairwise link MAC once two members have run the node's link
//! handshake (`service/src/link.rs`, wire version 2); the body is the same encoding.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;
use veil_domain::protocol as tags;
use veil_threshold::{BlsPublicKey, Signature, SigningKey};

use crate::batch::Proposal;
use crate::certificate::OrderCertificate;
use crate::codec::{CodecError, Reader, hex_form, put_var};
use crate::envelope::MAX_ENVELOPE;
use crate::release::SharesMessage;
use crate::vote::Vote;

/// Version byte of the signed-message encoding.
pub const MESSAGE_VERSION: u8 = 1;
/// Largest message body (a full batch of ciphertexts).
pub const MAX_MESSAGE_BODY: usize = 64 * 1024 * 1024;
/// Most envelopes in one gossip message.
pub const MAX_GOSSIP_ENVELOPES: usize = 4096;

/// What a message carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Envelopes (gossip or a reply to a fetch).
    Ciphertexts = 1,
    /// A sequencer proposal.
    Proposal = 2,
    /// A vote.
    Vote = 3,
    /// An order certificate.
    Certificate = 4,
    /// Decryption shares.
    Shares = 5,
}

impl MessageKind {
    fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Ciphertexts,
            2 => Self::Proposal,
            3 => Self::Vote,
            4 => Self::Certificate,
            5 => Self::Shares,
            _ => return None,
        })
    }
}

/// Why a message was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MessageError {
    /// Malformed encoding (envelope layer or body).
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The sender is not a committee member.
    #[error("unknown sender {from} (committee of {n})")]
    UnknownSender {
        /// Index claimed.
        from: u32,
        /// Committee size.
        n: usize,
    },
    /// The signature does not verify.
    #[error("invalid message signature")]
    InvalidSignature,
    /// The body does not decode as its kind.
    #[error("bad {kind:?} body: {reason}")]
    Body {
        /// Kind.
        kind: MessageKind,
        /// Why.
        reason: String,
    },
}

/// A signed member-to-member message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedMessage {
    /// Sender (1-based member index).
    pub from: u32,
    /// What the body is.
    pub kind: MessageKind,
    /// The body's canonical encoding.
    #[serde(with = "hex_form")]
    pub body: Vec<u8>,
    /// BLS signature over `MEMBER_MESSAGE ‖ from ‖ kind ‖ SHA-256(body)`.
    #[serde(with = "hex_form")]
    pub signature: Signature,
}

fn signed_bytes(from: u32, kind: MessageKind, body: &[u8]) -> Vec<u8> {
    let mut m = tags::MEMBER_MESSAGE.to_vec();
    m.extend_from_slice(&from.to_be_bytes());
    m.push(kind as u8);
    m.extend_from_slice(&Sha256::digest(body));
    m
}

impl SignedMessage {
    /// Signs `body` as member `from`.
    pub fn sign(key: &SigningKey, from: u32, kind: MessageKind, body: Vec<u8>) -> Self {
        let signature = key.sign(&signed_bytes(from, kind, &body));
        Self {
            from,
            kind,
            body,
            signature,
        }
    }

    /// Checks the sender is a member and the signature is theirs.
    pub fn verify(&self, committee: &[BlsPublicKey]) -> Result<(), MessageError> {
        let key = (self.from as usize)
            .checked_sub(1)
            .and_then(|i| committee.get(i))
            .ok_or(MessageError::UnknownSender {
                from: self.from,
                n: committee.len(),
            })?;
        key.verify(
            &signed_bytes(self.from, self.kind, &self.body),
            &self.signature,
        )
        .map_err(|_| MessageError::InvalidSignature)
    }

    /// Verifies, then decodes the body.
    pub fn open(&self, committee: &[BlsPublicKey]) -> Result<MemberMessage, MessageError> {
        self.verify(committee)?;
        MemberMessage::decode(self.kind, &self.body)
    }

    /// `0x01 ‖ from ‖ kind ‖ var(body) ‖ signature`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![MESSAGE_VERSION];
        out.extend_from_slice(&self.from.to_be_bytes());
        out.push(self.kind as u8);
        put_var(&mut out, &self.body);
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }

    /// Decodes with validation (not the signature: see [`SignedMessage::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MessageError> {
        let mut r = Reader::new(bytes, "signed message");
        r.version(MESSAGE_VERSION)?;
        let from = r.u32()?;
        let kind = MessageKind::from_u8(r.u8()?).ok_or(CodecError::Malformed {
            what: "message kind",
        })?;
        let body = r.var("message body", MAX_MESSAGE_BODY)?.to_vec();
        let signature = Signature::from_bytes(r.take(96)?)
            .map_err(|_| CodecError::Malformed { what: "signature" })?;
        r.finish()?;
        Ok(Self {
            from,
            kind,
            body,
            signature,
        })
    }
}

/// The typed body of a member message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberMessage {
    /// Envelope encodings (validated by the receiver like any submission).
    Ciphertexts(Vec<Vec<u8>>),
    /// A proposal.
    Proposal(Proposal),
    /// A vote.
    Vote(Vote),
    /// A certificate.
    Certificate(OrderCertificate),
    /// Shares.
    Shares(SharesMessage),
}

impl MemberMessage {
    /// Its kind.
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Ciphertexts(_) => MessageKind::Ciphertexts,
            Self::Proposal(_) => MessageKind::Proposal,
            Self::Vote(_) => MessageKind::Vote,
            Self::Certificate(_) => MessageKind::Certificate,
            Self::Shares(_) => MessageKind::Shares,
        }
    }

    /// The body encoding. Envelopes: `count (u32) ‖ var(envelope)…`.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Ciphertexts(es) => {
                let mut out = (es.len() as u32).to_be_bytes().to_vec();
                for e in es {
                    put_var(&mut out, e);
                }
                out
            }
            Self::Proposal(p) => p.to_bytes(),
            Self::Vote(v) => v.to_bytes(),
            Self::Certificate(c) => c.to_bytes(),
            Self::Shares(s) => s.to_bytes(),
        }
    }

    /// Decodes a body of `kind`.
    pub fn decode(kind: MessageKind, body: &[u8]) -> Result<Self, MessageError> {
        let err = |reason: String| MessageError::Body { kind, reason };
        Ok(match kind {
            MessageKind::Ciphertexts => {
                let mut r = Reader::new(body, "envelopes");
                let n = r.count("envelopes", MAX_GOSSIP_ENVELOPES, 4)?;
                let mut es = Vec::with_capacity(n);
                for _ in 0..n {
                    es.push(r.var("envelope", MAX_ENVELOPE)?.to_vec());
                }
                r.finish()?;
                Self::Ciphertexts(es)
            }
            MessageKind::Proposal => {
                Self::Proposal(Proposal::from_bytes(body).map_err(|e| err(e.to_string()))?)
            }
            MessageKind::Vote => {
                Self::Vote(Vote::from_bytes(body).map_err(|e| err(e.to_string()))?)
            }
            MessageKind::Certificate => Self::Certificate(
                OrderCertificate::from_bytes(body).map_err(|e| err(e.to_string()))?,
            ),
            MessageKind::Shares => {
                Self::Shares(SharesMessage::from_bytes(body).map_err(|e| err(e.to_string()))?)
            }
        })
    }

    /// Signs this message as member `from`.
    pub fn sign(&self, key: &SigningKey, from: u32) -> SignedMessage {
        SignedMessage::sign(key, from, self.kind(), self.encode())
    }
}
