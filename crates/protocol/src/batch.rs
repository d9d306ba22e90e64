//! Batches, order commitments, sequencer proposals and equivocation evidence.
//!
//! A batch for slot `s` is an ordered list of envelope ids; its order commitment is
//! `C_s = H(BATCH_COMMITMENT ‖ chain_id ‖ s ‖ parent ‖ merkle_root(ids))`, where `parent` is
//! the commitment of the last certified batch (or [`Commitment::genesis`]). A sequencer
//! signs `PROPOSAL ‖ sequencer ‖ C_s`; since `C_s` binds every field, the signature binds
//! the whole batch.
//!
//! # Version 2: multi-rollup batches
//!
//! A version-2 batch also lists, for every id, the chain id of its label (the rollup it is
//! for: `chains`, parallel to `ids`). Its commitment is
//! `C_s = H(BATCH_COMMITMENT_ROLLUPS ‖ chain_id ‖ s ‖ parent ‖ merkle_root(ids) ‖
//! rollup_root)`, where `rollup_root` is the root of the rollup index
//! ([`crate::rollup::RollupIndex`]): one leaf per rollup present, sorted by chain id, binding
//! that rollup's ordered sub-batch. A consumer of one rollup checks its sub-batch against
//! the certificate with a short proof ([`crate::rollup::SubBatch::verify`]). Members check
//! `chains` against the labels of the envelopes they hold before voting
//! ([`crate::rollup::check_chains`]). A version-1 batch (`chains` empty) keeps its version-1
//! encoding and commitment, so existing single-rollup deployments are unchanged.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use veil_domain::protocol as tags;
use veil_threshold::{BlsPublicKey, Signature, SigningKey};

use crate::codec::{CodecError, Reader, hex_form, serde_as_hex, tagged_hash};
use crate::envelope::TxId;
use crate::merkle::merkle_root;

/// Version byte of the batch (without a rollup index), proposal and evidence encodings.
pub const BATCH_VERSION: u8 = 1;
/// Version byte of a batch that lists each item's rollup (chain id).
pub const BATCH_VERSION_ROLLUPS: u8 = 2;
/// Most ids one batch may list (the threshold crate's share-batch limit).
pub const MAX_BATCH_IDS: usize = veil_threshold::share::MAX_BATCH;

/// An order commitment (or the genesis constant).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Commitment(pub [u8; 32]);

impl Commitment {
    /// The parent of the first certified batch: `H(GENESIS)`.
    pub fn genesis() -> Self {
        Self(tagged_hash(tags::GENESIS, &[]))
    }

    /// The raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// From exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
        Ok(Self(bytes.try_into().map_err(|_| {
            CodecError::Malformed { what: "commitment" }
        })?))
    }
}

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Commitment({})", &hex::encode(self.0)[..16])
    }
}

impl fmt::Display for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

serde_as_hex!(Commitment);

/// Why a batch, proposal or evidence was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BatchError {
    /// Malformed encoding.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The batch lists no ids.
    #[error("empty batch")]
    Empty,
    /// The batch lists one id twice.
    #[error("duplicate id {0}")]
    DuplicateId(TxId),
    /// The sequencer is not one this node accepts.
    #[error("unknown sequencer {0}")]
    UnknownSequencer(u32),
    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// A version-2 batch lists a different number of chain ids than ids.
    #[error("batch lists {chains} chain ids for {ids} ids")]
    ChainCount {
        /// Chain ids listed.
        chains: usize,
        /// Ids listed.
        ids: usize,
    },
    /// Two proposals do not show an equivocation.
    #[error("not equivocation evidence")]
    NotEquivocation,
}

/// An ordered batch of ids for one slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The service domain (Veil deployment) the batch belongs to.
    pub chain_id: u64,
    /// The slot.
    pub slot: u64,
    /// The commitment of the last certified batch.
    pub parent: Commitment,
    /// Envelope ids in execution order.
    pub ids: Vec<TxId>,
    /// Version 2: the chain id (rollup) of each id's label, parallel to `ids`; empty for a
    /// version-1 batch. See the module documentation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chains: Vec<u64>,
}

impl Batch {
    /// Merkle root over the ids in order.
    pub fn merkle_root(&self) -> [u8; 32] {
        merkle_root(&self.ids)
    }

    /// Whether this is a version-2 batch (it lists each item's rollup).
    pub fn has_rollups(&self) -> bool {
        !self.chains.is_empty()
    }

    /// Version 1: `C_s = H(BATCH_COMMITMENT ‖ chain_id ‖ slot ‖ parent ‖ merkle_root(ids))`;
    /// version 2: `H(BATCH_COMMITMENT_ROLLUPS ‖ chain_id ‖ slot ‖ parent ‖ merkle_root(ids) ‖
    /// rollup_root)`. For a version-2 batch whose `chains` do not match `ids` in length (which
    /// [`Batch::check`] refuses) the rollup root is taken over the common prefix; such a
    /// batch can never be signed or certified.
    pub fn commitment(&self) -> Commitment {
        let root = self.merkle_root();
        if self.chains.is_empty() {
            return commitment(self.chain_id, self.slot, &self.parent, &root);
        }
        let n = self.ids.len().min(self.chains.len());
        let index = crate::rollup::RollupIndex::build(&self.ids[..n], &self.chains[..n]);
        commitment_v2(self.chain_id, self.slot, &self.parent, &root, &index.root())
    }

    /// Checks shape: 1..=[`MAX_BATCH_IDS`] distinct ids; in a version-2 batch one chain id
    /// per id.
    pub fn check(&self) -> Result<(), BatchError> {
        if self.ids.is_empty() {
            return Err(BatchError::Empty);
        }
        if !self.chains.is_empty() && self.chains.len() != self.ids.len() {
            return Err(BatchError::ChainCount {
                chains: self.chains.len(),
                ids: self.ids.len(),
            });
        }
        if self.ids.len() > MAX_BATCH_IDS {
            return Err(CodecError::TooLarge {
                what: "batch",
                len: self.ids.len(),
                max: MAX_BATCH_IDS,
            }
            .into());
        }
        let mut seen = BTreeSet::new();
        for id in &self.ids {
            if !seen.insert(id) {
                return Err(BatchError::DuplicateId(*id));
            }
        }
        Ok(())
    }

    /// Version 1: `0x01 ‖ chain_id ‖ slot ‖ parent ‖ count (u32) ‖ ids`; version 2:
    /// `0x02 ‖ chain_id ‖ slot ‖ parent ‖ count (u32) ‖ (id ‖ item chain id (u64))…`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(53 + 40 * self.ids.len());
        let v2 = !self.chains.is_empty();
        out.push(if v2 {
            BATCH_VERSION_ROLLUPS
        } else {
            BATCH_VERSION
        });
        out.extend_from_slice(&self.chain_id.to_be_bytes());
        out.extend_from_slice(&self.slot.to_be_bytes());
        out.extend_from_slice(&self.parent.0);
        out.extend_from_slice(&(self.ids.len() as u32).to_be_bytes());
        for (i, id) in self.ids.iter().enumerate() {
            out.extend_from_slice(&id.0);
            if v2 {
                // `check` makes the lengths equal for every batch that is signed or stored;
                // an unchecked mismatched one encodes a zero that decoding then refuses
                // through the commitment never matching.
                out.extend_from_slice(&self.chains.get(i).copied().unwrap_or(0).to_be_bytes());
            }
        }
        out
    }

    /// Decodes and checks shape (non-empty, bounded, distinct ids, no trailing bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BatchError> {
        let mut r = Reader::new(bytes, "batch");
        let b = Self::read(&mut r)?;
        r.finish()?;
        Ok(b)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, BatchError> {
        let v2 = match r.u8()? {
            BATCH_VERSION => false,
            BATCH_VERSION_ROLLUPS => true,
            found => {
                return Err(CodecError::UnsupportedVersion {
                    what: "batch",
                    found,
                }
                .into());
            }
        };
        let chain_id = r.u64()?;
        let slot = r.u64()?;
        let parent = Commitment(r.array()?);
        let n = r.count("batch", MAX_BATCH_IDS, if v2 { 40 } else { 32 })?;
        let mut ids = Vec::with_capacity(n);
        let mut chains = Vec::with_capacity(if v2 { n } else { 0 });
        for _ in 0..n {
            ids.push(TxId(r.array()?));
            if v2 {
                chains.push(r.u64()?);
            }
        }
        let b = Self {
            chain_id,
            slot,
            parent,
            ids,
            chains,
        };
        b.check()?;
        Ok(b)
    }
}

/// The order commitment of `(chain_id, slot, parent, root)`.
pub fn commitment(chain_id: u64, slot: u64, parent: &Commitment, root: &[u8; 32]) -> Commitment {
    Commitment(tagged_hash(
        tags::BATCH_COMMITMENT,
        &[
            &chain_id.to_be_bytes(),
            &slot.to_be_bytes(),
            &parent.0,
            root,
        ],
    ))
}

/// The order commitment of a version-2 batch `(chain_id, slot, parent, ids root, rollup
/// root)`.
pub fn commitment_v2(
    chain_id: u64,
    slot: u64,
    parent: &Commitment,
    ids_root: &[u8; 32],
    rollup_root: &[u8; 32],
) -> Commitment {
    Commitment(tagged_hash(
        tags::BATCH_COMMITMENT_ROLLUPS,
        &[
            &chain_id.to_be_bytes(),
            &slot.to_be_bytes(),
            &parent.0,
            ids_root,
            rollup_root,
        ],
    ))
}

/// Which sequencer signed a proposal: an index into the node configuration's list of
/// sequencer keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SequencerId(pub u32);

/// A sequencer's signed batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The batch.
    pub batch: Batch,
    /// Who proposes it.
    pub sequencer: SequencerId,
    /// BLS signature over [`Proposal::message`].
    #[serde(with = "hex_form")]
    pub signature: Signature,
}

/// The bytes a sequencer signs for a batch with commitment `c`.
pub fn proposal_message(sequencer: SequencerId, c: &Commitment) -> Vec<u8> {
    let mut m = Vec::with_capacity(tags::PROPOSAL.len() + 36);
    m.extend_from_slice(tags::PROPOSAL);
    m.extend_from_slice(&sequencer.0.to_be_bytes());
    m.extend_from_slice(&c.0);
    m
}

impl Proposal {
    /// Signs `batch` as `sequencer` (checks the batch's shape first).
    pub fn sign(
        key: &SigningKey,
        sequencer: SequencerId,
        batch: Batch,
    ) -> Result<Self, BatchError> {
        batch.check()?;
        let signature = key.sign(&proposal_message(sequencer, &batch.commitment()));
        Ok(Self {
            batch,
            sequencer,
            signature,
        })
    }

    /// The signed bytes.
    pub fn message(&self) -> Vec<u8> {
        proposal_message(self.sequencer, &self.batch.commitment())
    }

    /// Checks shape and the signature against the sequencer keys this node accepts
    /// (`keys[sequencer]`).
    pub fn verify(&self, sequencer_keys: &[BlsPublicKey]) -> Result<(), BatchError> {
        self.batch.check()?;
        let key = sequencer_keys
            .get(self.sequencer.0 as usize)
            .ok_or(BatchError::UnknownSequencer(self.sequencer.0))?;
        key.verify(&self.message(), &self.signature)
            .map_err(|_| BatchError::InvalidSignature)
    }

    /// `0x01 ‖ sequencer (u32) ‖ signature (96) ‖ batch`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![BATCH_VERSION];
        out.extend_from_slice(&self.sequencer.0.to_be_bytes());
        out.extend_from_slice(&self.signature.to_bytes());
        out.extend_from_slice(&self.batch.to_bytes());
        out
    }

    /// Decodes with validation (signature point, batch shape; not the signature itself).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BatchError> {
        let mut r = Reader::new(bytes, "proposal");
        let p = Self::read(&mut r)?;
        r.finish()?;
        Ok(p)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, BatchError> {
        r.version(BATCH_VERSION)?;
        let sequencer = SequencerId(r.u32()?);
        let signature = Signature::from_bytes(r.take(96)?)
            .map_err(|_| CodecError::Malformed { what: "signature" })?;
        let batch = Batch::read(r)?;
        Ok(Self {
            batch,
            sequencer,
            signature,
        })
    }
}

/// Two proposals by one sequencer for the same slot, or for the same parent, with
/// different commitments: proof that the sequencer equivocated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The proposal seen first.
    pub first: Proposal,
    /// The conflicting one.
    pub second: Proposal,
}

impl Evidence {
    /// Builds evidence if the two proposals conflict (same sequencer, same slot or same
    /// parent, different commitments). Signatures are not checked here.
    pub fn from_conflict(first: &Proposal, second: &Proposal) -> Option<Self> {
        let (a, b) = (&first.batch, &second.batch);
        let conflict = first.sequencer == second.sequencer
            && a.chain_id == b.chain_id
            && (a.slot == b.slot || a.parent == b.parent)
            && a.commitment() != b.commitment();
        conflict.then(|| Self {
            first: first.clone(),
            second: second.clone(),
        })
    }

    /// Checks both signatures and that the proposals conflict.
    pub fn verify(&self, sequencer_keys: &[BlsPublicKey]) -> Result<(), BatchError> {
        self.first.verify(sequencer_keys)?;
        self.second.verify(sequencer_keys)?;
        Self::from_conflict(&self.first, &self.second)
            .map(|_| ())
            .ok_or(BatchError::NotEquivocation)
    }

    /// `0x01 ‖ first ‖ second`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![BATCH_VERSION];
        out.extend_from_slice(&self.first.to_bytes());
        out.extend_from_slice(&self.second.to_bytes());
        out
    }

    /// Decodes with validation.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BatchError> {
        let mut r = Reader::new(bytes, "evidence");
        r.version(BATCH_VERSION)?;
        let first = Proposal::read(&mut r)?;
        let second = Proposal::read(&mut r)?;
        r.finish()?;
        Ok(Self { first, second })
    }
}
