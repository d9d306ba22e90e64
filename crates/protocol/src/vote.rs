//! Votes and the vote guard: the safety rule a member applies before it signs an order
//! commitment.
//!
//! # The rule
//!
//! A member votes for a proposal `(s, parent, C_s)` only if
//!
//! 1. it holds and has validated every listed envelope (the caller's `held` predicate);
//! 2. `parent` is the last certified commitment it knows, and `s` is above that slot;
//! 3. it has signed no other commitment for slot `s`, and no other child of `parent`.
//!
//! Rule 3 is what makes certificates unique (see the crate documentation): an honest member
//! contributes to at most one certificate per slot and per parent. [`VoteGuard::decide`]
//! records the decision in memory and returns a [`VoteIntent`]; **the caller makes the
//! intent durable before it signs or sends the vote**, so after a crash
//! [`VoteGuard::restore`] rebuilds the same refusals from storage. Re-deciding the same
//! proposal yields the same intent again (re-sending an identical vote is harmless).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use veil_domain::protocol as tags;
use veil_threshold::{BlsPublicKey, Signature, SigningKey};

use crate::batch::{BatchError, Commitment, Evidence, Proposal};
use crate::certificate::OrderCertificate;
use crate::codec::{CodecError, Reader, hex_form};
use crate::envelope::TxId;

/// Version byte of the vote and intent encodings.
pub const VOTE_VERSION: u8 = 1;

/// A decision to vote for `(slot, parent, commitment)`, to be made durable before the vote
/// is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VoteIntent {
    /// The slot.
    pub slot: u64,
    /// The parent commitment.
    pub parent: Commitment,
    /// The commitment voted for.
    pub commitment: Commitment,
}

impl VoteIntent {
    /// `0x01 ‖ slot ‖ parent ‖ commitment`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(73);
        out.push(VOTE_VERSION);
        out.extend_from_slice(&self.slot.to_be_bytes());
        out.extend_from_slice(&self.parent.0);
        out.extend_from_slice(&self.commitment.0);
        out
    }

    /// Decodes (exact length).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(bytes, "vote intent");
        r.version(VOTE_VERSION)?;
        let v = Self {
            slot: r.u64()?,
            parent: Commitment(r.array()?),
            commitment: Commitment(r.array()?),
        };
        r.finish()?;
        Ok(v)
    }

    /// The bytes a member signs (and a certificate aggregates):
    /// `ORDER_VOTE ‖ slot ‖ parent ‖ commitment`.
    pub fn message(&self) -> Vec<u8> {
        vote_message(self.slot, &self.parent, &self.commitment)
    }
}

/// `ORDER_VOTE ‖ slot ‖ parent ‖ commitment`.
pub fn vote_message(slot: u64, parent: &Commitment, commitment: &Commitment) -> Vec<u8> {
    let mut m = Vec::with_capacity(tags::ORDER_VOTE.len() + 72);
    m.extend_from_slice(tags::ORDER_VOTE);
    m.extend_from_slice(&slot.to_be_bytes());
    m.extend_from_slice(&parent.0);
    m.extend_from_slice(&commitment.0);
    m
}

/// Why a vote was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum VoteError {
    /// Malformed encoding.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The member index is outside `1..=n`.
    #[error("unknown member {member} (committee of {n})")]
    UnknownMember {
        /// Index given.
        member: u32,
        /// Committee size.
        n: usize,
    },
    /// The signature does not verify.
    #[error("invalid vote signature")]
    InvalidSignature,
}

/// A member's signed vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The slot.
    pub slot: u64,
    /// The parent commitment.
    pub parent: Commitment,
    /// The commitment voted for.
    pub commitment: Commitment,
    /// The voter (1-based member index).
    pub member: u32,
    /// BLS signature over [`vote_message`].
    #[serde(with = "hex_form")]
    pub signature: Signature,
}

impl Vote {
    /// Signs a (durably recorded) intent as `member`.
    pub fn sign(key: &SigningKey, member: u32, intent: &VoteIntent) -> Self {
        Self {
            slot: intent.slot,
            parent: intent.parent,
            commitment: intent.commitment,
            member,
            signature: key.sign(&intent.message()),
        }
    }

    /// What was voted for.
    pub fn intent(&self) -> VoteIntent {
        VoteIntent {
            slot: self.slot,
            parent: self.parent,
            commitment: self.commitment,
        }
    }

    /// Checks the signature against the committee's keys (`committee[member − 1]`).
    pub fn verify(&self, committee: &[BlsPublicKey]) -> Result<(), VoteError> {
        let key = (self.member as usize)
            .checked_sub(1)
            .and_then(|i| committee.get(i))
            .ok_or(VoteError::UnknownMember {
                member: self.member,
                n: committee.len(),
            })?;
        key.verify(&self.intent().message(), &self.signature)
            .map_err(|_| VoteError::InvalidSignature)
    }

    /// `0x01 ‖ slot ‖ parent ‖ commitment ‖ member (u32) ‖ signature (96)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.intent().to_bytes();
        out.extend_from_slice(&self.member.to_be_bytes());
        out.extend_from_slice(&self.signature.to_bytes());
        out
    }

    /// Decodes with validation (signature point; not the signature itself).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VoteError> {
        let mut r = Reader::new(bytes, "vote");
        r.version(VOTE_VERSION)?;
        let slot = r.u64()?;
        let parent = Commitment(r.array()?);
        let commitment = Commitment(r.array()?);
        let member = r.u32()?;
        let signature = Signature::from_bytes(r.take(96)?)
            .map_err(|_| CodecError::Malformed { what: "signature" })?;
        r.finish()?;
        Ok(Self {
            slot,
            parent,
            commitment,
            member,
            signature,
        })
    }
}

/// Why the guard refuses to vote for a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Refusal {
    /// The batch is for another service domain.
    #[error("batch for chain {got}, serving {expected}")]
    WrongChain {
        /// Chain id of the batch.
        got: u64,
        /// Chain id served.
        expected: u64,
    },
    /// The batch is malformed (empty, too large, duplicate ids).
    #[error("bad batch: {0}")]
    BadBatch(BatchError),
    /// The parent is not the last certified commitment this member knows.
    #[error("parent {parent} is not the last certified commitment {last}")]
    ParentNotCertified {
        /// Parent named by the proposal.
        parent: Commitment,
        /// Last certified commitment known.
        last: Commitment,
    },
    /// The slot is not above the last certified slot.
    #[error("slot {slot} not above last certified slot {last}")]
    StaleSlot {
        /// Slot of the proposal.
        slot: u64,
        /// Last certified slot.
        last: u64,
    },
    /// Another commitment was already signed for this slot.
    #[error("already voted for another commitment in slot {slot}")]
    SlotConflict {
        /// The slot.
        slot: u64,
        /// The commitment already voted for.
        voted: Commitment,
        /// Equivocation evidence, when the same sequencer signed both.
        evidence: Option<Box<Evidence>>,
    },
    /// Another child of this parent was already signed.
    #[error("already voted for another child of {parent}")]
    ParentConflict {
        /// The parent.
        parent: Commitment,
        /// The commitment already voted for.
        voted: Commitment,
        /// Equivocation evidence, when the same sequencer signed both.
        evidence: Option<Box<Evidence>>,
    },
    /// Some listed envelopes are not held (and validated) here.
    #[error("{missing} of {total} envelopes not held")]
    Missing {
        /// How many are missing.
        missing: usize,
        /// Batch size.
        total: usize,
        /// The missing ids (to fetch them).
        ids: Vec<TxId>,
    },
}

impl Refusal {
    /// Equivocation evidence carried by this refusal, if any.
    pub fn evidence(&self) -> Option<&Evidence> {
        match self {
            Self::SlotConflict { evidence, .. } | Self::ParentConflict { evidence, .. } => {
                evidence.as_deref()
            }
            _ => None,
        }
    }
}

/// The last certified `(slot, commitment)`, or genesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifiedTip {
    /// Slot of the last certified batch (`None` before the first certificate).
    pub slot: Option<u64>,
    /// Its commitment ([`Commitment::genesis`] before the first certificate).
    pub commitment: Commitment,
}

impl CertifiedTip {
    /// Before any certificate.
    pub fn genesis() -> Self {
        Self {
            slot: None,
            commitment: Commitment::genesis(),
        }
    }
}

/// The vote safety rule as a pure state machine. See the module documentation.
#[derive(Clone, Debug)]
pub struct VoteGuard {
    chain_id: u64,
    tip: CertifiedTip,
    by_slot: BTreeMap<u64, (VoteIntent, Option<Proposal>)>,
    by_parent: BTreeMap<Commitment, u64>,
}

impl VoteGuard {
    /// A guard for a fresh member of service domain `chain_id`.
    pub fn new(chain_id: u64) -> Self {
        Self::restore(chain_id, CertifiedTip::genesis(), [], [])
    }

    /// Rebuilds the guard after a restart from what storage holds: the last certified tip,
    /// every persisted intent, and the proposals voted for (for evidence; may be empty).
    pub fn restore(
        chain_id: u64,
        tip: CertifiedTip,
        intents: impl IntoIterator<Item = VoteIntent>,
        proposals: impl IntoIterator<Item = Proposal>,
    ) -> Self {
        let mut g = Self {
            chain_id,
            tip,
            by_slot: BTreeMap::new(),
            by_parent: BTreeMap::new(),
        };
        // Intents at or below the tip are moot (the tip rule refuses those slots), as after
        // `on_certified`.
        for i in intents {
            if tip.slot.is_none_or(|s| i.slot > s) {
                g.record(i, None);
            }
        }
        for p in proposals {
            let c = p.batch.commitment();
            if let Some((intent, slot_p)) = g.by_slot.get_mut(&p.batch.slot)
                && intent.commitment == c
            {
                *slot_p = Some(p);
            }
        }
        g
    }

    fn record(&mut self, intent: VoteIntent, proposal: Option<Proposal>) {
        // A restore may list an intent twice; the first for a slot wins (both are durable
        // facts, and a conflicting pair cannot have been written by this guard).
        self.by_slot
            .entry(intent.slot)
            .or_insert((intent, proposal));
        self.by_parent.entry(intent.parent).or_insert(intent.slot);
    }

    /// The last certified tip.
    pub fn tip(&self) -> CertifiedTip {
        self.tip
    }

    /// The intent recorded for `slot`, if any.
    pub fn intent(&self, slot: u64) -> Option<VoteIntent> {
        self.by_slot.get(&slot).map(|(i, _)| *i)
    }

    /// Applies the rule to a proposal whose signature the caller has verified. On success
    /// the intent is recorded here and must be persisted before the vote is signed.
    pub fn decide(
        &mut self,
        proposal: &Proposal,
        held: impl Fn(&TxId) -> bool,
    ) -> Result<VoteIntent, Refusal> {
        let b = &proposal.batch;
        if b.chain_id != self.chain_id {
            return Err(Refusal::WrongChain {
                got: b.chain_id,
                expected: self.chain_id,
            });
        }
        b.check().map_err(Refusal::BadBatch)?;
        let intent = VoteIntent {
            slot: b.slot,
            parent: b.parent,
            commitment: b.commitment(),
        };
        // Rule 3 first, so equivocation is reported even when other rules also refuse.
        if let Some((voted, seen)) = self.by_slot.get(&b.slot) {
            if *voted == intent {
                return Ok(intent);
            }
            return Err(Refusal::SlotConflict {
                slot: b.slot,
                voted: voted.commitment,
                evidence: seen
                    .as_ref()
                    .and_then(|s| Evidence::from_conflict(s, proposal))
                    .map(Box::new),
            });
        }
        if let Some(slot) = self.by_parent.get(&b.parent)
            && let Some((voted, seen)) = self.by_slot.get(slot)
        {
            return Err(Refusal::ParentConflict {
                parent: b.parent,
                voted: voted.commitment,
                evidence: seen
                    .as_ref()
                    .and_then(|s| Evidence::from_conflict(s, proposal))
                    .map(Box::new),
            });
        }
        if b.parent != self.tip.commitment {
            return Err(Refusal::ParentNotCertified {
                parent: b.parent,
                last: self.tip.commitment,
            });
        }
        if let Some(last) = self.tip.slot
            && b.slot <= last
        {
            return Err(Refusal::StaleSlot { slot: b.slot, last });
        }
        let missing: Vec<TxId> = b.ids.iter().filter(|id| !held(id)).copied().collect();
        if !missing.is_empty() {
            return Err(Refusal::Missing {
                missing: missing.len(),
                total: b.ids.len(),
                ids: missing,
            });
        }
        self.record(intent, Some(proposal.clone()));
        Ok(intent)
    }

    /// Advances the tip to a certificate the caller has verified (at quorum, against the
    /// committee). Older certificates are ignored. Intents for slots at or below the new tip
    /// are dropped from memory (the tip rule alone refuses those slots from now on).
    pub fn on_certified(&mut self, certificate: &OrderCertificate) {
        if self.tip.slot.is_some_and(|s| certificate.slot <= s) {
            return;
        }
        self.tip = CertifiedTip {
            slot: Some(certificate.slot),
            commitment: certificate.commitment,
        };
        let keep = self.by_slot.split_off(&certificate.slot.saturating_add(1));
        self.by_slot = keep;
        let live: std::collections::BTreeSet<u64> = self.by_slot.keys().copied().collect();
        self.by_parent.retain(|_, s| live.contains(s));
    }
}
