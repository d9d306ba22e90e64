//! Multi-rollup batches: the rollup index bound into a version-2 commitment, and the
//! sub-batch a consumer of one rollup receives with its completeness proof.
//!
//! # Construction
//!
//! One committee orders envelopes for several rollups; each label names its rollup
//! (`chain_id`). A version-2 [`Batch`] lists, next to every id, the chain id of that id's
//! label. From `(ids, chains)` everyone computes the **rollup index**: for every chain id
//! `X` present, with `X`'s items at batch positions `p₁ < … < p_k`,
//!
//! - the sub-batch root `S_X = MTH(H(SUB_BATCH_ITEM ‖ p_j ‖ id_j) for j = 1..k)`,
//! - the leaf `L_X = H(ROLLUP_LEAF ‖ X ‖ k ‖ S_X)`,
//!
//! and the index root `R = MTH(L_X for X in increasing order)`, where `MTH` is RFC 6962's
//! Merkle tree hash ([`crate::merkle`]). The commitment is `C = H(BATCH_COMMITMENT_ROLLUPS ‖
//! domain ‖ slot ‖ parent ‖ MTH(ids) ‖ R)` ([`crate::batch::commitment_v2`]).
//!
//! A consumer of rollup `X` receives a [`SubBatch`]: the certificate, `MTH(ids)`, `X`'s items
//! (position, id, outcome) and a [`RollupProof`]. [`SubBatch::verify`] recomputes `S_X` and
//! `L_X` from the items it got, follows the audit path to `R`, recomputes `C` and checks that
//! the certificate signs it at quorum. If `X` has no item in the slot, the proof shows the
//! two adjacent leaves around `X` (or the first or last leaf), which proves that no leaf for
//! `X` exists.
//!
//! # Security argument
//!
//! The certificate makes `C` the commitment of the one certified batch of the slot
//! (`veil_protocol` crate documentation). `C` is a collision-resistant function of
//! `(ids, chains)`, and the index is a *function* of them: exactly one leaf per chain id,
//! sorted, each over all of that chain's positions in order. So a sub-batch that verifies has
//! the leaf of `X` in that index, and its items hash to `S_X`: dropping, adding, reordering
//! or moving an item, or changing its count, changes `S_X` or `L_X` and the check fails unless
//! SHA-256 collides. An absence proof shows two leaves at adjacent indices with chain ids
//! `a < X < b` (or the first leaf above `X`, or the last below it); since leaves are sorted
//! and unique, no leaf for `X` exists. What makes the per-item chain ids *true* (that every
//! envelope `X` would care about is listed under `X`) is the members' check before voting:
//! [`check_chains`] compares `chains` with the labels of the envelopes they hold, and an
//! honest member in every quorum refuses a batch that lies.
//!
//! What the proof does **not** establish: that an item's outcome (its plaintext, or
//! `invalid`) is right. Outcomes come from combining shares whose batched proofs cover the
//! whole batch; a consumer that needs that checks the full [`crate::PlaintextBatch`]
//! ([`crate::PlaintextBatch::verify`], which needs every envelope of the slot). Plaintexts of
//! signed rollup transactions carry their own signatures, so a serving member can withhold
//! (mark invalid) but not forge a transaction.
//!
//! # Example
//!
//! ```
//! use veil_protocol::rollup::RollupIndex;
//! use veil_protocol::TxId;
//! let ids = [TxId([1; 32]), TxId([2; 32]), TxId([3; 32])];
//! let index = RollupIndex::build(&ids, &[10, 20, 10]);
//! assert_eq!(index.leaves().len(), 2);
//! assert_eq!(index.positions(10), Some(&[0, 2][..]));
//! assert!(index.positions(30).is_none());
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use veil_domain::protocol as tags;
use veil_threshold::BlsPublicKey;

use crate::batch::{Batch, MAX_BATCH_IDS, commitment_v2};
use crate::certificate::{CertificateError, OrderCertificate};
use crate::codec::{CodecError, Reader, put_var, tagged_hash};
use crate::envelope::{TxId, ValidatedEnvelope};
use crate::merkle::{audit_path, subtree_root};
use crate::plaintext::{MAX_ITEM_BYTES, Outcome, PlaintextBatch};

/// Version byte of the sub-batch encoding.
pub const SUB_BATCH_VERSION: u8 = 1;
/// Most rollups one batch can index (one per item at most).
pub const MAX_ROLLUPS: usize = MAX_BATCH_IDS;
/// Longest audit path (a tree of at most [`MAX_ROLLUPS`] leaves).
const MAX_PATH: usize = 32;

/// `H(SUB_BATCH_ITEM ‖ position ‖ id)`.
fn item_hash(position: u32, id: &TxId) -> [u8; 32] {
    tagged_hash(tags::SUB_BATCH_ITEM, &[&position.to_be_bytes(), &id.0])
}

/// The root over one rollup's items `(position, id)` in batch order.
pub fn sub_batch_root(items: impl IntoIterator<Item = (u32, TxId)>) -> [u8; 32] {
    let leaves: Vec<[u8; 32]> = items.into_iter().map(|(p, id)| item_hash(p, &id)).collect();
    subtree_root(&leaves)
}

/// One leaf of the rollup index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupLeaf {
    /// The rollup's chain id.
    pub chain_id: u64,
    /// How many items of the batch are for it.
    pub count: u32,
    /// Root over its `(position, id)` items in batch order.
    #[serde(with = "hex32")]
    pub sub_root: [u8; 32],
}

impl RollupLeaf {
    /// `H(ROLLUP_LEAF ‖ chain_id ‖ count ‖ sub_root)`.
    pub fn hash(&self) -> [u8; 32] {
        tagged_hash(
            tags::ROLLUP_LEAF,
            &[
                &self.chain_id.to_be_bytes(),
                &self.count.to_be_bytes(),
                &self.sub_root,
            ],
        )
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.chain_id.to_be_bytes());
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(&self.sub_root);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(Self {
            chain_id: r.u64()?,
            count: r.u32()?,
            sub_root: r.array()?,
        })
    }
}

/// The rollup index of a version-2 batch. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupIndex {
    leaves: Vec<RollupLeaf>,
    positions: BTreeMap<u64, Vec<u32>>,
}

impl RollupIndex {
    /// The index over `ids` with their chain ids (same length; extra entries of the longer
    /// slice are ignored — [`Batch::check`] makes them equal).
    pub fn build(ids: &[TxId], chains: &[u64]) -> Self {
        let mut positions: BTreeMap<u64, Vec<u32>> = BTreeMap::new();
        for (p, (_, chain)) in ids.iter().zip(chains).enumerate() {
            positions.entry(*chain).or_default().push(p as u32);
        }
        let leaves = positions
            .iter()
            .map(|(chain, ps)| RollupLeaf {
                chain_id: *chain,
                count: ps.len() as u32,
                sub_root: sub_batch_root(ps.iter().map(|&p| (p, ids[p as usize]))),
            })
            .collect();
        Self { leaves, positions }
    }

    /// The index of a version-2 batch (`None` for version 1).
    pub fn of(batch: &Batch) -> Option<Self> {
        batch
            .has_rollups()
            .then(|| Self::build(&batch.ids, &batch.chains))
    }

    /// The leaves, sorted by chain id.
    pub fn leaves(&self) -> &[RollupLeaf] {
        &self.leaves
    }

    /// The batch positions of `chain_id`'s items, in order (`None` if it has none).
    pub fn positions(&self, chain_id: u64) -> Option<&[u32]> {
        self.positions.get(&chain_id).map(Vec::as_slice)
    }

    /// The index root `R`.
    pub fn root(&self) -> [u8; 32] {
        subtree_root(&self.hashes())
    }

    fn hashes(&self) -> Vec<[u8; 32]> {
        self.leaves.iter().map(RollupLeaf::hash).collect()
    }

    fn neighbour(&self, hashes: &[[u8; 32]], index: usize) -> Neighbour {
        let mut path = Vec::new();
        audit_path(hashes, index, &mut path);
        Neighbour {
            index: index as u32,
            leaf: self.leaves[index],
            path,
        }
    }

    /// The proof for `chain_id`: its leaf's path, or the neighbours that show it absent.
    pub fn proof(&self, chain_id: u64) -> RollupProof {
        let hashes = self.hashes();
        match self.leaves.binary_search_by_key(&chain_id, |l| l.chain_id) {
            Ok(i) => {
                let mut path = Vec::new();
                audit_path(&hashes, i, &mut path);
                RollupProof::Present {
                    index: i as u32,
                    path,
                }
            }
            Err(i) => RollupProof::Absent {
                below: (i > 0).then(|| self.neighbour(&hashes, i - 1)),
                above: (i < self.leaves.len()).then(|| self.neighbour(&hashes, i)),
            },
        }
    }
}

/// A leaf of the index next to an absent chain id, with its audit path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neighbour {
    /// Its index among the leaves.
    pub index: u32,
    /// The leaf.
    pub leaf: RollupLeaf,
    /// Its audit path.
    #[serde(with = "hex32_vec")]
    pub path: Vec<[u8; 32]>,
}

/// Proof that a sub-batch is a rollup's complete sub-batch (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollupProof {
    /// The rollup has items: its leaf's index and audit path (the leaf is recomputed from
    /// the items).
    Present {
        /// Leaf index.
        index: u32,
        /// Audit path.
        #[serde(with = "hex32_vec")]
        path: Vec<[u8; 32]>,
    },
    /// The rollup has no item: the leaves just below and just above its chain id.
    Absent {
        /// The last leaf with a smaller chain id, if any.
        below: Option<Neighbour>,
        /// The first leaf with a larger chain id, if any.
        above: Option<Neighbour>,
    },
}

/// Why a sub-batch was refused. Opaque on purpose for callers: the variant names what
/// failed, not how to fix a forgery.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum SubBatchError {
    /// Malformed encoding.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The certificate does not verify at quorum.
    #[error("certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// The sub-batch is for another service domain, rollup or slot than asked.
    #[error("sub-batch is for domain {domain}, rollup {rollup}, slot {slot}")]
    Unexpected {
        /// Its domain.
        domain: u64,
        /// Its rollup.
        rollup: u64,
        /// Its slot.
        slot: u64,
    },
    /// Positions are not strictly increasing.
    #[error("item {index}: positions out of order")]
    Order {
        /// The first offending item.
        index: usize,
    },
    /// The items and proof do not lead to the certified commitment: something of this
    /// rollup was dropped, added, reordered or altered, or the proof is wrong.
    #[error("sub-batch does not match the certified commitment")]
    Incomplete,
}

/// One item of a rollup's sub-batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubBatchItem {
    /// Its position in the whole batch (the global certified order).
    pub position: u32,
    /// The envelope id.
    pub id: TxId,
    /// The outcome (see the module documentation for what the proof covers).
    pub outcome: Outcome,
}

/// A rollup's part of one certified slot, with its completeness proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubBatch {
    /// The service domain (the batch's `chain_id`).
    pub domain: u64,
    /// The rollup (label chain id).
    pub rollup: u64,
    /// The slot.
    pub slot: u64,
    /// The order certificate of the slot.
    pub certificate: OrderCertificate,
    /// `MTH(ids)` of the whole batch.
    #[serde(with = "hex32")]
    pub ids_root: [u8; 32],
    /// Number of leaves of the rollup index.
    pub rollups: u32,
    /// The rollup's items in certified order.
    pub items: Vec<SubBatchItem>,
    /// The proof.
    pub proof: RollupProof,
}

fn root_from_path(leaf: &[u8; 32], index: u32, leaves: u32, path: &[[u8; 32]]) -> Option<[u8; 32]> {
    crate::merkle::root_from_path(leaf, u64::from(index), u64::from(leaves), path)
}

impl SubBatch {
    /// Extracts `rollup`'s sub-batch from an opened version-2 batch. `None` if the batch is
    /// version 1 (it has no rollup index).
    pub fn extract(plain: &PlaintextBatch, rollup: u64) -> Option<Self> {
        let batch = plain.batch();
        let index = RollupIndex::of(&batch)?;
        let items = index
            .positions(rollup)
            .unwrap_or(&[])
            .iter()
            .map(|&p| {
                let item = &plain.items[p as usize];
                SubBatchItem {
                    position: p,
                    id: item.id,
                    outcome: item.outcome.clone(),
                }
            })
            .collect();
        Some(Self {
            domain: plain.chain_id,
            rollup,
            slot: plain.slot,
            certificate: plain.certificate.clone(),
            ids_root: batch.merkle_root(),
            rollups: index.leaves().len() as u32,
            items,
            proof: index.proof(rollup),
        })
    }

    /// Checks that this is the complete certified sub-batch of `rollup` in service domain
    /// `domain` (see the module documentation), under a certificate at `quorum` of
    /// `committee`. Returns the items in certified order.
    pub fn verify(
        &self,
        committee: &[BlsPublicKey],
        quorum: usize,
        domain: u64,
        rollup: u64,
    ) -> Result<&[SubBatchItem], SubBatchError> {
        if self.domain != domain || self.rollup != rollup || self.certificate.slot != self.slot {
            return Err(SubBatchError::Unexpected {
                domain: self.domain,
                rollup: self.rollup,
                slot: self.certificate.slot,
            });
        }
        for (i, w) in self.items.windows(2).enumerate() {
            if w[0].position >= w[1].position {
                return Err(SubBatchError::Order { index: i + 1 });
            }
        }
        let root = match &self.proof {
            RollupProof::Present { index, path } => {
                if self.items.is_empty() {
                    return Err(SubBatchError::Incomplete);
                }
                let leaf = RollupLeaf {
                    chain_id: rollup,
                    count: self.items.len() as u32,
                    sub_root: sub_batch_root(self.items.iter().map(|i| (i.position, i.id))),
                };
                root_from_path(&leaf.hash(), *index, self.rollups, path)
            }
            RollupProof::Absent { below, above } => {
                if !self.items.is_empty() {
                    return Err(SubBatchError::Incomplete);
                }
                self.absent_root(rollup, below.as_ref(), above.as_ref())
            }
        }
        .ok_or(SubBatchError::Incomplete)?;
        let c = commitment_v2(
            self.domain,
            self.slot,
            &self.certificate.parent,
            &self.ids_root,
            &root,
        );
        if c != self.certificate.commitment {
            return Err(SubBatchError::Incomplete);
        }
        self.certificate.verify(committee, quorum)?;
        Ok(&self.items)
    }

    /// The index root implied by an absence proof, if it is one.
    fn absent_root(
        &self,
        rollup: u64,
        below: Option<&Neighbour>,
        above: Option<&Neighbour>,
    ) -> Option<[u8; 32]> {
        let root_of =
            |n: &Neighbour| root_from_path(&n.leaf.hash(), n.index, self.rollups, &n.path);
        match (below, above) {
            (Some(b), Some(a)) => {
                let ok = b.leaf.chain_id < rollup
                    && rollup < a.leaf.chain_id
                    && b.index.checked_add(1) == Some(a.index);
                let (rb, ra) = (root_of(b)?, root_of(a)?);
                (ok && rb == ra).then_some(rb)
            }
            (Some(b), None) => {
                let ok = b.leaf.chain_id < rollup && b.index.checked_add(1) == Some(self.rollups);
                ok.then(|| root_of(b)).flatten()
            }
            (None, Some(a)) => {
                let ok = rollup < a.leaf.chain_id && a.index == 0;
                ok.then(|| root_of(a)).flatten()
            }
            (None, None) => None,
        }
    }

    /// `0x01 ‖ domain ‖ rollup ‖ slot ‖ var(certificate) ‖ ids_root ‖ rollups (u32) ‖ count
    /// (u32) ‖ (position (u32) ‖ id ‖ outcome (0 | 1 ‖ var(plaintext)))… ‖ proof`, where
    /// proof is `0 ‖ index (u32) ‖ path` or `1 ‖ neighbour? ‖ neighbour?`, a path being
    /// `count (u32) ‖ hashes`, an optional neighbour `0` or `1 ‖ index ‖ leaf ‖ path`, and a
    /// leaf `chain_id ‖ count (u32) ‖ sub_root`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![SUB_BATCH_VERSION];
        out.extend_from_slice(&self.domain.to_be_bytes());
        out.extend_from_slice(&self.rollup.to_be_bytes());
        out.extend_from_slice(&self.slot.to_be_bytes());
        put_var(&mut out, &self.certificate.to_bytes());
        out.extend_from_slice(&self.ids_root);
        out.extend_from_slice(&self.rollups.to_be_bytes());
        out.extend_from_slice(&(self.items.len() as u32).to_be_bytes());
        for item in &self.items {
            out.extend_from_slice(&item.position.to_be_bytes());
            out.extend_from_slice(&item.id.0);
            match &item.outcome {
                Outcome::Invalid => out.push(0),
                Outcome::Decrypted(m) => {
                    out.push(1);
                    put_var(&mut out, m);
                }
            }
        }
        let put_path = |out: &mut Vec<u8>, path: &[[u8; 32]]| {
            out.extend_from_slice(&(path.len() as u32).to_be_bytes());
            for h in path {
                out.extend_from_slice(h);
            }
        };
        match &self.proof {
            RollupProof::Present { index, path } => {
                out.push(0);
                out.extend_from_slice(&index.to_be_bytes());
                put_path(&mut out, path);
            }
            RollupProof::Absent { below, above } => {
                out.push(1);
                for n in [below, above] {
                    match n {
                        None => out.push(0),
                        Some(n) => {
                            out.push(1);
                            out.extend_from_slice(&n.index.to_be_bytes());
                            n.leaf.write(&mut out);
                            put_path(&mut out, &n.path);
                        }
                    }
                }
            }
        }
        out
    }

    /// Decodes with validation of every length and tag (not the proof itself:
    /// [`SubBatch::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SubBatchError> {
        let mut r = Reader::new(bytes, "sub-batch");
        r.version(SUB_BATCH_VERSION)?;
        let domain = r.u64()?;
        let rollup = r.u64()?;
        let slot = r.u64()?;
        let certificate = OrderCertificate::from_bytes(r.var("certificate", 4096)?)?;
        let ids_root = r.array()?;
        let rollups = r.u32()?;
        if rollups as usize > MAX_ROLLUPS {
            return Err(CodecError::TooLarge {
                what: "rollup index",
                len: rollups as usize,
                max: MAX_ROLLUPS,
            }
            .into());
        }
        let n = r.count("sub-batch items", MAX_BATCH_IDS, 37)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            let position = r.u32()?;
            let id = TxId(r.array()?);
            let outcome = match r.u8()? {
                0 => Outcome::Invalid,
                1 => Outcome::Decrypted(r.var("plaintext", MAX_ITEM_BYTES)?.to_vec()),
                _ => return Err(CodecError::Malformed { what: "outcome" }.into()),
            };
            items.push(SubBatchItem {
                position,
                id,
                outcome,
            });
        }
        let read_path = |r: &mut Reader<'_>| -> Result<Vec<[u8; 32]>, CodecError> {
            let k = r.count("audit path", MAX_PATH, 32)?;
            (0..k).map(|_| r.array()).collect()
        };
        let proof = match r.u8()? {
            0 => RollupProof::Present {
                index: r.u32()?,
                path: read_path(&mut r)?,
            },
            1 => {
                let read_neighbour = |r: &mut Reader<'_>| -> Result<_, CodecError> {
                    match r.u8()? {
                        0 => Ok(None),
                        1 => Ok(Some(Neighbour {
                            index: r.u32()?,
                            leaf: RollupLeaf::read(r)?,
                            path: read_path(r)?,
                        })),
                        _ => Err(CodecError::Malformed { what: "neighbour" }),
                    }
                };
                let below = read_neighbour(&mut r)?;
                let above = read_neighbour(&mut r)?;
                RollupProof::Absent { below, above }
            }
            _ => {
                return Err(CodecError::Malformed {
                    what: "rollup proof",
                }
                .into());
            }
        };
        r.finish()?;
        Ok(Self {
            domain,
            rollup,
            slot,
            certificate,
            ids_root,
            rollups,
            items,
            proof,
        })
    }
}

/// Why a member refuses a batch's rollup listing (before voting).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ChainsError {
    /// The batch lists a chain id that is not its envelope's label chain id.
    #[error("item {index}: batch lists chain {listed}, label says {label}")]
    Mismatch {
        /// Position.
        index: usize,
        /// Chain id in the batch.
        listed: u64,
        /// Chain id in the label.
        label: u64,
    },
    /// The number of envelopes differs from the number of ids.
    #[error("{envelopes} envelopes for {ids} ids")]
    Count {
        /// Envelopes given.
        envelopes: usize,
        /// Ids in the batch.
        ids: usize,
    },
}

/// Checks a version-2 batch's `chains` against the labels of its envelopes (in batch
/// order). A version-1 batch lists no chains and passes.
pub fn check_chains(batch: &Batch, envelopes: &[ValidatedEnvelope]) -> Result<(), ChainsError> {
    if !batch.has_rollups() {
        return Ok(());
    }
    if envelopes.len() != batch.ids.len() || batch.chains.len() != batch.ids.len() {
        return Err(ChainsError::Count {
            envelopes: envelopes.len(),
            ids: batch.ids.len(),
        });
    }
    for (index, (e, listed)) in envelopes.iter().zip(&batch.chains).enumerate() {
        let label = e.label().chain_id;
        if label != *listed {
            return Err(ChainsError::Mismatch {
                index,
                listed: *listed,
                label,
            });
        }
    }
    Ok(())
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let b = hex::decode(s).map_err(serde::de::Error::custom)?;
        b.try_into()
            .map_err(|_| serde::de::Error::custom("expected 32 bytes"))
    }
}

mod hex32_vec {
    use serde::{Deserialize, Deserializer, Serializer, ser::SerializeSeq};

    pub fn serialize<S: Serializer>(v: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for h in v {
            seq.serialize_element(&hex::encode(h))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let v = Vec::<String>::deserialize(d)?;
        v.into_iter()
            .map(|s| {
                let b = hex::decode(s).map_err(serde::de::Error::custom)?;
                b.try_into()
                    .map_err(|_| serde::de::Error::custom("expected 32 bytes"))
            })
            .collect()
    }
}
