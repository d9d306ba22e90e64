//! Plaintext batches: the certified order, opened.
//!
//! A [`BatchOpening`] starts from a certified batch and its validated envelopes. Threshold
//! and dual items are settled by combining `t` members' [`SharesMessage`]s
//! ([`BatchOpening::apply_shares`]); delay items (and dual items whose committee never
//! released) by a puzzle opening — the sender's reveal or a proven solution
//! ([`BatchOpening::settle_puzzle`]). Every item keeps its certified position; one that fails
//! to decrypt under a provably correct key is [`Outcome::Invalid`]. When every item is
//! settled, [`BatchOpening::finish`] yields the [`PlaintextBatch`].
//!
//! A published [`PlaintextBatch`] carries its certificate, the share messages used, and for
//! puzzle-opened items the opening itself, so anyone holding the envelopes can check it
//! ([`PlaintextBatch::verify`]): the certificate at quorum, the ids and their order against
//! the certified commitment, and every outcome by recomputing it.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use veil_threshold::{BlsPublicKey, Decrypted, ShareBatch, ThresholdKey, combine};
use veil_timelock::{DelayParams, PuzzleReveal, PuzzleSolution};

use crate::batch::{Batch, Commitment, MAX_BATCH_IDS};
use crate::certificate::{CertificateError, OrderCertificate};
use crate::codec::{CodecError, Reader, hex_form, put_var};
use crate::config::MAX_COMMITTEE;
use crate::envelope::{MAX_ENVELOPE, TxId, ValidatedBody, ValidatedEnvelope};
use crate::release::{SharesMessage, threshold_parts};

/// Version byte of the plaintext-batch encoding (of a version-1 batch).
pub const PLAINTEXT_VERSION: u8 = 1;
/// Version byte of the encoding of an opened version-2 (multi-rollup) batch: each item also
/// carries its chain id.
pub const PLAINTEXT_VERSION_ROLLUPS: u8 = 2;
/// Largest plaintext or opening carried per item.
pub const MAX_ITEM_BYTES: usize = MAX_ENVELOPE;
/// Largest encoded share message inside a plaintext batch.
const MAX_SHARES_BYTES: usize = 64 + 48 * MAX_BATCH_IDS + 256;

/// Why a batch could not be opened, or a published one does not verify.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PlaintextError {
    /// Malformed encoding.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The certificate is invalid or does not match.
    #[error("certificate: {0}")]
    Certificate(#[from] CertificateError),
    /// The certificate is for another batch.
    #[error("certificate does not match the batch")]
    Mismatch,
    /// The envelopes are not the certified ids in order.
    #[error("envelope {index} is not the certified id")]
    WrongEnvelopes {
        /// First differing position.
        index: usize,
    },
    /// Not enough valid shares for the threshold items.
    #[error("combining failed: {0}")]
    Combine(String),
    /// Delay or dual items need the delay parameters.
    #[error("delay parameters required")]
    DelayParamsMissing,
    /// The index is outside the batch.
    #[error("item {index} out of range for {len} items")]
    IndexOutOfRange {
        /// Index given.
        index: usize,
        /// Batch size.
        len: usize,
    },
    /// A puzzle opening does not open this item (wrong puzzle, bad proof, bad reveal).
    #[error("opening does not open item {index}")]
    BadOpening {
        /// The item.
        index: usize,
    },
    /// Items are still unsettled.
    #[error("{pending} of {total} items not settled")]
    NotSettled {
        /// Unsettled items.
        pending: usize,
        /// Batch size.
        total: usize,
    },
    /// A published outcome differs from the recomputed one (reordered, dropped, injected or
    /// altered item).
    #[error("item {index} does not verify")]
    ItemMismatch {
        /// The item.
        index: usize,
    },
}

/// The result for one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The plaintext.
    Decrypted(#[serde(with = "hex_form")] Vec<u8>),
    /// The ciphertext does not decrypt under the (provably correct) key.
    Invalid,
}

/// How an item was opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Opening {
    /// By the committee's decryption shares (threshold and dual items).
    Committee,
    /// By the sender's reveal of the puzzle exponent (a `PuzzleReveal` encoding).
    Reveal(#[serde(with = "hex_form")] Vec<u8>),
    /// By a proven puzzle solution (a `PuzzleSolution` encoding).
    Solution(#[serde(with = "hex_form")] Vec<u8>),
}

/// One position of a plaintext batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaintextItem {
    /// The envelope id at this position.
    pub id: TxId,
    /// The result.
    pub outcome: Outcome,
    /// How it was obtained.
    pub opening: Opening,
}

/// A certified batch, opened. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaintextBatch {
    /// The service domain.
    pub chain_id: u64,
    /// The slot.
    pub slot: u64,
    /// The certified commitment.
    pub commitment: Commitment,
    /// The order certificate.
    pub certificate: OrderCertificate,
    /// One item per certified id, in certified order.
    pub items: Vec<PlaintextItem>,
    /// The share messages the committee items were combined from (empty if none).
    pub shares: Vec<SharesMessage>,
    /// For an opened version-2 batch, each item's chain id (the batch's `chains`); empty
    /// for version 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chains: Vec<u64>,
}

/// Opens the puzzle of a delay or dual item with a reveal or a proven solution.
pub fn open_with_puzzle(
    index: usize,
    envelope: &ValidatedEnvelope,
    params: &DelayParams,
    opening: &Opening,
) -> Result<Outcome, PlaintextError> {
    let bad = PlaintextError::BadOpening { index };
    let puzzle = match envelope.body() {
        ValidatedBody::Delay { ciphertext, .. } => ciphertext.puzzle(),
        ValidatedBody::Dual { ciphertext, .. } => ciphertext.puzzle(),
        ValidatedBody::Threshold(_) => return Err(bad),
    };
    let key = match opening {
        Opening::Committee => return Err(bad),
        Opening::Reveal(bytes) => PuzzleReveal::from_bytes(params, bytes)
            .and_then(|r| r.open(params, puzzle))
            .map_err(|_| bad.clone())?,
        Opening::Solution(bytes) => {
            let s = PuzzleSolution::from_bytes(params, bytes).map_err(|_| bad.clone())?;
            if !params.group().eq(s.puzzle(), puzzle.element()) {
                return Err(bad);
            }
            s.verify(params).map_err(|_| bad.clone())?
        }
    };
    let label = envelope.label();
    let result = match envelope.body() {
        ValidatedBody::Delay { ciphertext, .. } => ciphertext.decrypt(params, label, &key).ok(),
        ValidatedBody::Dual { ciphertext, .. } => {
            ciphertext.decrypt_with_puzzle(params, label, &key).ok()
        }
        ValidatedBody::Threshold(_) => None,
    };
    Ok(result.map_or(Outcome::Invalid, Outcome::Decrypted))
}

/// Outcomes of committee items by position, the share messages kept, the faulty members.
type Combination = (Vec<(usize, Outcome)>, Vec<SharesMessage>, Vec<u32>);

/// Combines share messages for the committee items of `envelopes` (checked to be `ids`).
/// Returns one outcome per committee item (threshold and dual, in order), the messages kept
/// and the members found faulty.
fn combine_items(
    key: &ThresholdKey,
    params: Option<&DelayParams>,
    slot: u64,
    commitment: &Commitment,
    ids: &[TxId],
    envelopes: &[ValidatedEnvelope],
    shares: &[SharesMessage],
) -> Result<Combination, PlaintextError> {
    let parts = threshold_parts(ids, envelopes).map_err(|e| match e {
        crate::release::ReleaseError::WrongEnvelopes { index } => {
            PlaintextError::WrongEnvelopes { index }
        }
        other => PlaintextError::Combine(other.to_string()),
    })?;
    let positions: Vec<usize> = envelopes
        .iter()
        .enumerate()
        .filter(|(_, e)| e.threshold_part().is_some())
        .map(|(i, _)| i)
        .collect();
    if positions.is_empty() {
        return Ok((Vec::new(), Vec::new(), Vec::new()));
    }
    let relevant: Vec<&SharesMessage> = shares
        .iter()
        .filter(|m| m.slot == slot && m.commitment == *commitment && m.member == m.shares.index())
        .collect();
    let batches: Vec<ShareBatch> = relevant.iter().map(|m| m.shares.clone()).collect();
    let combined =
        combine(key, &parts, &batches).map_err(|e| PlaintextError::Combine(e.to_string()))?;
    let mut outcomes = Vec::with_capacity(positions.len());
    for (&i, d) in positions.iter().zip(combined.outcomes) {
        let outcome = match (envelopes[i].body(), d) {
            (_, Decrypted::Invalid) => Outcome::Invalid,
            (ValidatedBody::Dual { ciphertext, .. }, Decrypted::Plaintext(k)) => {
                let params = params.ok_or(PlaintextError::DelayParamsMissing)?;
                ciphertext
                    .decrypt_with_data_key(params, envelopes[i].label(), &k)
                    .map_or(Outcome::Invalid, Outcome::Decrypted)
            }
            (_, Decrypted::Plaintext(m)) => Outcome::Decrypted(m),
        };
        outcomes.push((i, outcome));
    }
    let kept: Vec<SharesMessage> = relevant
        .into_iter()
        .filter(|m| !combined.faulty.contains(&m.member))
        .cloned()
        .collect();
    Ok((outcomes, kept, combined.faulty))
}

/// A certified batch being opened. See the module documentation.
#[derive(Clone, Debug)]
pub struct BatchOpening {
    batch: Batch,
    certificate: OrderCertificate,
    envelopes: Vec<ValidatedEnvelope>,
    items: Vec<Option<(Outcome, Opening)>>,
    shares: Vec<SharesMessage>,
}

impl BatchOpening {
    /// Starts opening `batch` under `certificate` (which the caller has verified, e.g. with
    /// [`crate::ReleaseGuard::authorize`]); `envelopes` are the batch's, in order.
    pub fn new(
        certificate: OrderCertificate,
        batch: Batch,
        envelopes: Vec<ValidatedEnvelope>,
    ) -> Result<Self, PlaintextError> {
        if certificate.slot != batch.slot
            || certificate.parent != batch.parent
            || certificate.commitment != batch.commitment()
        {
            return Err(PlaintextError::Mismatch);
        }
        if envelopes.len() != batch.ids.len() {
            return Err(PlaintextError::WrongEnvelopes {
                index: envelopes.len().min(batch.ids.len()),
            });
        }
        if let Some(index) = envelopes
            .iter()
            .zip(&batch.ids)
            .position(|(e, id)| e.id() != *id)
        {
            return Err(PlaintextError::WrongEnvelopes { index });
        }
        let items = vec![None; envelopes.len()];
        Ok(Self {
            batch,
            certificate,
            envelopes,
            items,
            shares: Vec::new(),
        })
    }

    /// The batch.
    pub fn batch(&self) -> &Batch {
        &self.batch
    }

    /// The envelopes, in order.
    pub fn envelopes(&self) -> &[ValidatedEnvelope] {
        &self.envelopes
    }

    /// Whether the batch has committee (threshold or dual) items.
    pub fn needs_shares(&self) -> bool {
        self.envelopes.iter().any(|e| e.threshold_part().is_some())
    }

    /// Settles every committee item from `shares` (at least `t` valid members for this slot
    /// and commitment; bad ones are excluded). Dual items already opened by their puzzle
    /// keep that outcome. Returns the members whose shares were wrong.
    pub fn apply_shares(
        &mut self,
        key: &ThresholdKey,
        params: Option<&DelayParams>,
        shares: &[SharesMessage],
    ) -> Result<Vec<u32>, PlaintextError> {
        let (outcomes, kept, faulty) = combine_items(
            key,
            params,
            self.batch.slot,
            &self.certificate.commitment,
            &self.batch.ids,
            &self.envelopes,
            shares,
        )?;
        if outcomes.is_empty() {
            return Ok(faulty);
        }
        for (i, o) in outcomes {
            if self.items[i].is_none() {
                self.items[i] = Some((o, Opening::Committee));
            }
        }
        self.shares = kept;
        Ok(faulty)
    }

    /// Settles a delay or dual item with a reveal or a proven solution (no-op if settled).
    pub fn settle_puzzle(
        &mut self,
        index: usize,
        params: &DelayParams,
        opening: Opening,
    ) -> Result<(), PlaintextError> {
        let len = self.items.len();
        let envelope = self
            .envelopes
            .get(index)
            .ok_or(PlaintextError::IndexOutOfRange { index, len })?;
        if self.items[index].is_some() {
            return Ok(());
        }
        let outcome = open_with_puzzle(index, envelope, params, &opening)?;
        self.items[index] = Some((outcome, opening));
        Ok(())
    }

    /// Positions not yet settled.
    pub fn pending(&self) -> Vec<usize> {
        (0..self.items.len())
            .filter(|&i| self.items[i].is_none())
            .collect()
    }

    /// Whether every item is settled.
    pub fn is_complete(&self) -> bool {
        self.items.iter().all(Option::is_some)
    }

    /// The plaintext batch, once every item is settled.
    pub fn finish(self) -> Result<PlaintextBatch, PlaintextError> {
        let pending = self.pending().len();
        if pending > 0 {
            return Err(PlaintextError::NotSettled {
                pending,
                total: self.items.len(),
            });
        }
        let (mut outcomes, openings): (Vec<Outcome>, Vec<Opening>) =
            self.items.into_iter().flatten().unzip();
        crate::bundle::apply_atomic_failure(&self.envelopes, &mut outcomes);
        let items = outcomes
            .into_iter()
            .zip(openings)
            .zip(&self.batch.ids)
            .map(|((outcome, opening), id)| PlaintextItem {
                id: *id,
                outcome,
                opening,
            })
            .collect();
        Ok(PlaintextBatch {
            chain_id: self.batch.chain_id,
            slot: self.batch.slot,
            commitment: self.certificate.commitment,
            certificate: self.certificate,
            items,
            shares: self.shares,
            chains: self.batch.chains,
        })
    }
}

/// What a verifier of a published plaintext batch needs.
#[derive(Clone, Copy, Debug)]
pub struct VerifyContext<'a> {
    /// The committee's BLS keys, in member order.
    pub committee: &'a [BlsPublicKey],
    /// The certificate quorum.
    pub quorum: usize,
    /// The committee's threshold key.
    pub key: &'a ThresholdKey,
    /// Delay parameters (needed if the batch has delay or dual items).
    pub delay_params: Option<&'a DelayParams>,
}

impl PlaintextBatch {
    /// The batch these items claim to open.
    pub fn batch(&self) -> Batch {
        Batch {
            chain_id: self.chain_id,
            slot: self.slot,
            parent: self.certificate.parent,
            ids: self.items.iter().map(|i| i.id).collect(),
            chains: self.chains.clone(),
        }
    }

    /// Checks the certificate, that the items are exactly the certified ids in order, and
    /// every outcome by recomputing it from the shares or the puzzle openings. `envelopes`
    /// are the batch's validated envelopes in the certified order.
    pub fn verify(
        &self,
        ctx: &VerifyContext<'_>,
        envelopes: &[ValidatedEnvelope],
    ) -> Result<(), PlaintextError> {
        let batch = self.batch();
        if self.certificate.slot != self.slot
            || self.certificate.commitment != self.commitment
            || batch.commitment() != self.commitment
        {
            return Err(PlaintextError::Mismatch);
        }
        self.certificate.verify(ctx.committee, ctx.quorum)?;
        if envelopes.len() != batch.ids.len() {
            return Err(PlaintextError::WrongEnvelopes {
                index: envelopes.len().min(batch.ids.len()),
            });
        }
        if let Some(index) = envelopes
            .iter()
            .zip(&batch.ids)
            .position(|(e, id)| e.id() != *id)
        {
            return Err(PlaintextError::WrongEnvelopes { index });
        }
        let committee_outcomes = if self.items.iter().any(|i| i.opening == Opening::Committee) {
            combine_items(
                ctx.key,
                ctx.delay_params,
                self.slot,
                &self.commitment,
                &batch.ids,
                envelopes,
                &self.shares,
            )?
            .0
        } else {
            Vec::new()
        };
        let mut committee_outcomes = committee_outcomes.into_iter().peekable();
        let mut expected_outcomes = Vec::with_capacity(self.items.len());
        for (i, item) in self.items.iter().enumerate() {
            let from_shares = match committee_outcomes.peek() {
                Some((j, _)) if *j == i => committee_outcomes.next().map(|(_, o)| o),
                _ => None,
            };
            let expected = match &item.opening {
                Opening::Committee => {
                    from_shares.ok_or(PlaintextError::ItemMismatch { index: i })?
                }
                puzzle => {
                    let params = ctx.delay_params.ok_or(PlaintextError::DelayParamsMissing)?;
                    open_with_puzzle(i, &envelopes[i], params, puzzle)?
                }
            };
            expected_outcomes.push(expected);
        }
        // A bundle that failed to decrypt in part is invalid as a whole.
        crate::bundle::apply_atomic_failure(envelopes, &mut expected_outcomes);
        for (i, (item, expected)) in self.items.iter().zip(&expected_outcomes).enumerate() {
            if *expected != item.outcome {
                return Err(PlaintextError::ItemMismatch { index: i });
            }
        }
        Ok(())
    }

    /// `0x01 ‖ chain_id ‖ slot ‖ commitment ‖ var(certificate) ‖ count ‖ items ‖ count ‖
    /// var(shares message)…`, an item being `id ‖ outcome (0 invalid | 1 ‖ var(plaintext)) ‖
    /// opening (0 committee | 1 ‖ var(reveal) | 2 ‖ var(solution))`. An opened version-2
    /// batch starts with `0x02` and each item's id is followed by its chain id (u64).
    pub fn to_bytes(&self) -> Vec<u8> {
        let v2 = !self.chains.is_empty();
        let mut out = vec![if v2 {
            PLAINTEXT_VERSION_ROLLUPS
        } else {
            PLAINTEXT_VERSION
        }];
        out.extend_from_slice(&self.chain_id.to_be_bytes());
        out.extend_from_slice(&self.slot.to_be_bytes());
        out.extend_from_slice(&self.commitment.0);
        put_var(&mut out, &self.certificate.to_bytes());
        out.extend_from_slice(&(self.items.len() as u32).to_be_bytes());
        for (i, item) in self.items.iter().enumerate() {
            out.extend_from_slice(&item.id.0);
            if v2 {
                // `chains` is parallel to `items` for every opened batch (taken from a checked
                // batch); a hand-built mismatched one encodes 0, which no commitment matches.
                out.extend_from_slice(&self.chains.get(i).copied().unwrap_or(0).to_be_bytes());
            }
            match &item.outcome {
                Outcome::Invalid => out.push(0),
                Outcome::Decrypted(m) => {
                    out.push(1);
                    put_var(&mut out, m);
                }
            }
            match &item.opening {
                Opening::Committee => out.push(0),
                Opening::Reveal(b) => {
                    out.push(1);
                    put_var(&mut out, b);
                }
                Opening::Solution(b) => {
                    out.push(2);
                    put_var(&mut out, b);
                }
            }
        }
        out.extend_from_slice(&(self.shares.len() as u32).to_be_bytes());
        for s in &self.shares {
            put_var(&mut out, &s.to_bytes());
        }
        out
    }

    /// Decodes with validation of every field (not the cryptographic checks of
    /// [`PlaintextBatch::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PlaintextError> {
        let mut r = Reader::new(bytes, "plaintext batch");
        let v2 = match r.u8()? {
            PLAINTEXT_VERSION => false,
            PLAINTEXT_VERSION_ROLLUPS => true,
            found => {
                return Err(CodecError::UnsupportedVersion {
                    what: "plaintext batch",
                    found,
                }
                .into());
            }
        };
        let chain_id = r.u64()?;
        let slot = r.u64()?;
        let commitment = Commitment(r.array()?);
        let certificate = OrderCertificate::from_bytes(r.var("certificate", 4096)?)?;
        let n = r.count("items", MAX_BATCH_IDS, if v2 { 42 } else { 34 })?;
        let mut items = Vec::with_capacity(n);
        let mut chains = Vec::with_capacity(if v2 { n } else { 0 });
        for _ in 0..n {
            let id = TxId(r.array()?);
            if v2 {
                chains.push(r.u64()?);
            }
            let outcome = match r.u8()? {
                0 => Outcome::Invalid,
                1 => Outcome::Decrypted(r.var("plaintext", MAX_ITEM_BYTES)?.to_vec()),
                _ => return Err(CodecError::Malformed { what: "outcome" }.into()),
            };
            let opening = match r.u8()? {
                0 => Opening::Committee,
                1 => Opening::Reveal(r.var("reveal", MAX_ITEM_BYTES)?.to_vec()),
                2 => Opening::Solution(r.var("solution", MAX_ITEM_BYTES)?.to_vec()),
                _ => return Err(CodecError::Malformed { what: "opening" }.into()),
            };
            items.push(PlaintextItem {
                id,
                outcome,
                opening,
            });
        }
        let m = r.count("shares", MAX_COMMITTEE as usize, 4)?;
        let mut shares = Vec::with_capacity(m);
        for _ in 0..m {
            let b = r.var("shares message", MAX_SHARES_BYTES)?;
            shares.push(
                SharesMessage::from_bytes(b).map_err(|_| CodecError::Malformed {
                    what: "shares message",
                })?,
            );
        }
        r.finish()?;
        Ok(Self {
            chain_id,
            slot,
            commitment,
            certificate,
            items,
            shares,
            chains,
        })
    }
}
