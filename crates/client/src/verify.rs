//! Checking what a node answers against the committee: receipts, certificates, and the
//! plaintext batch that holds the wallet's transaction.
//!
//! A node is one member of the committee (or a proxy in front of it), and the wallet trusts
//! none of them alone. What it accepts:
//!
//! 1. **Receipt** — a BLS signature by a listed member over exactly the submitted id
//!    ([`check_receipt`]). A receipt says the member stored the envelope durably; it is
//!    not a promise of inclusion.
//! 2. **Certificate** — an order certificate that verifies at quorum against the
//!    committee's BLS keys, for the slot asked about ([`check_certificate`]).
//! 3. **Position** — the plaintext batch of that slot ([`check_batch`], [`locate`]): its
//!    ids, in order, rebuild the certified commitment (`C_s = H(chain, s, parent,
//!    merkle_root(ids))`, so a reordered, dropped or injected id fails), its service domain is
//!    the wallet's, the item at the claimed index is the wallet's envelope id, and its
//!    outcome is the plaintext the wallet encrypted. The JSON view the node serves next to
//!    the binary encoding must agree with it item by item.
//!
//! What the wallet does *not* re-check: other senders' outcomes (that needs every envelope
//! of the batch; any third party can do it with `veil_protocol::PlaintextBatch::verify`).
//! For its own transaction the plaintext comparison is the stronger check: whatever shares
//! the node used, the wallet knows what its ciphertext decrypts to.

use serde_json::Value;
use veil_protocol::{OrderCertificate, Outcome, PlaintextBatch, Receipt, ReceiptSubject, TxId};

use crate::committee::{ChainPolicy, TrustedCommittee};
use crate::error::ClientError;

/// Where a transaction stands, as a node reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxStatus {
    /// Stored, not yet in a certified batch.
    Pending,
    /// In the certified batch of `slot` at `index`, not yet opened.
    Ordered {
        /// The slot.
        slot: u64,
        /// Position in the batch.
        index: u32,
    },
    /// Opened: it decrypted.
    Decrypted {
        /// The slot.
        slot: u64,
        /// Position in the batch.
        index: u32,
    },
    /// Opened: it failed to decrypt and keeps its position.
    Invalid {
        /// The slot.
        slot: u64,
        /// Position in the batch.
        index: u32,
    },
}

impl TxStatus {
    /// `pending`, `ordered`, `decrypted` or `invalid`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ordered { .. } => "ordered",
            Self::Decrypted { .. } => "decrypted",
            Self::Invalid { .. } => "invalid",
        }
    }

    /// The position, once ordered.
    pub fn position(&self) -> Option<(u64, u32)> {
        match *self {
            Self::Pending => None,
            Self::Ordered { slot, index }
            | Self::Decrypted { slot, index }
            | Self::Invalid { slot, index } => Some((slot, index)),
        }
    }

    /// Whether the batch holding it is opened.
    pub fn is_settled(&self) -> bool {
        matches!(self, Self::Decrypted { .. } | Self::Invalid { .. })
    }
}

/// A transaction's final, checked position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finality {
    /// The slot.
    pub slot: u64,
    /// Position in the certified batch.
    pub index: u32,
    /// The envelope id.
    pub id: TxId,
    /// What it opened to.
    pub outcome: Outcome,
    /// The order certificate of the slot (verified).
    pub certificate: OrderCertificate,
    /// Number of items in the batch.
    pub batch_len: usize,
}

/// Parses `GET /v1/transactions/{id}` and checks it is about `id`.
pub fn parse_status(v: &Value, id: &TxId) -> Result<TxStatus, ClientError> {
    let got = v["id"]
        .as_str()
        .ok_or_else(|| ClientError::Malformed("status without id".into()))?;
    if got != id.to_hex() {
        return Err(ClientError::Malformed(format!(
            "status for {got}, asked for {id}"
        )));
    }
    let position = || -> Result<(u64, u32), ClientError> {
        let slot = v["slot"]
            .as_u64()
            .ok_or_else(|| ClientError::Malformed("status without slot".into()))?;
        let index = v["index"]
            .as_u64()
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| ClientError::Malformed("status without index".into()))?;
        Ok((slot, index))
    };
    match v["status"].as_str() {
        Some("pending") => Ok(TxStatus::Pending),
        Some("ordered") => position().map(|(slot, index)| TxStatus::Ordered { slot, index }),
        Some("decrypted") => position().map(|(slot, index)| TxStatus::Decrypted { slot, index }),
        Some("invalid") => position().map(|(slot, index)| TxStatus::Invalid { slot, index }),
        other => Err(ClientError::Malformed(format!("unknown status {other:?}"))),
    }
}

/// Checks a submission receipt: a listed member's signature over exactly `id`.
pub fn check_receipt(
    committee: &TrustedCommittee,
    receipt: &Receipt,
    id: &TxId,
) -> Result<(), ClientError> {
    if receipt.subject != ReceiptSubject::Transaction(*id) {
        return Err(ClientError::BadReceipt(format!(
            "receipt is for {:?}, submitted {id}",
            receipt.subject
        )));
    }
    receipt
        .verify(committee.bls_keys())
        .map_err(|e| ClientError::BadReceipt(e.to_string()))
}

/// Checks that `certificate` is for `slot` and verifies at quorum.
pub fn check_certificate(
    committee: &TrustedCommittee,
    certificate: &OrderCertificate,
    slot: u64,
) -> Result<(), ClientError> {
    if certificate.slot != slot {
        return Err(ClientError::mismatch(
            slot,
            format!("certificate is for slot {}", certificate.slot),
        ));
    }
    certificate
        .verify(committee.bls_keys(), committee.quorum())
        .map_err(|e| ClientError::BadCertificate {
            slot,
            reason: e.to_string(),
        })
}

/// Decodes a certificate from its JSON form (the `binary` hex field, which the node
/// serves next to the readable fields) and checks that the readable fields agree.
pub fn parse_certificate(v: &Value) -> Result<OrderCertificate, ClientError> {
    let bytes = hex_field(v, "binary")?;
    let c = OrderCertificate::from_bytes(&bytes)
        .map_err(|e| ClientError::Malformed(format!("certificate: {e}")))?;
    if v["slot"].as_u64() != Some(c.slot) {
        return Err(ClientError::mismatch(
            c.slot,
            "certificate JSON slot differs from its encoding",
        ));
    }
    if v["commitment"].as_str() != Some(c.commitment.to_string().as_str()) {
        return Err(ClientError::mismatch(
            c.slot,
            "certificate JSON commitment differs from its encoding",
        ));
    }
    Ok(c)
}

fn hex_field(v: &Value, name: &str) -> Result<Vec<u8>, ClientError> {
    let s = v[name]
        .as_str()
        .ok_or_else(|| ClientError::Malformed(format!("missing field {name}")))?;
    hex::decode(s).map_err(|_| ClientError::Malformed(format!("field {name} is not hex")))
}

/// Decodes `GET /v1/batches/{slot}`: the binary encoding, with the JSON items checked
/// against it one by one (ids, statuses, plaintexts).
pub fn parse_batch(v: &Value) -> Result<PlaintextBatch, ClientError> {
    let bytes = hex_field(v, "binary")?;
    let batch = PlaintextBatch::from_bytes(&bytes)
        .map_err(|e| ClientError::Malformed(format!("plaintext batch: {e}")))?;
    let slot = batch.slot;
    if v["slot"].as_u64() != Some(slot) {
        return Err(ClientError::mismatch(
            slot,
            "JSON slot differs from the encoding",
        ));
    }
    let items = v["items"]
        .as_array()
        .ok_or_else(|| ClientError::Malformed("batch without items".into()))?;
    if items.len() != batch.items.len() {
        return Err(ClientError::mismatch(
            slot,
            format!(
                "JSON lists {} items, the encoding {}",
                items.len(),
                batch.items.len()
            ),
        ));
    }
    for (i, (j, item)) in items.iter().zip(&batch.items).enumerate() {
        let same = j["id"].as_str() == Some(item.id.to_hex().as_str())
            && match &item.outcome {
                Outcome::Decrypted(p) => {
                    j["status"].as_str() == Some("decrypted")
                        && j["plaintext"].as_str() == Some(hex::encode(p).as_str())
                }
                Outcome::Invalid => j["status"].as_str() == Some("invalid"),
            };
        if !same {
            return Err(ClientError::mismatch(
                slot,
                format!("JSON item {i} differs from the encoding"),
            ));
        }
    }
    Ok(batch)
}

/// Checks a plaintext batch for `slot` against the committee: the service domain, the
/// certificate (slot, commitment, quorum signature) and that the ids in order rebuild the
/// certified commitment.
pub fn check_batch(
    committee: &TrustedCommittee,
    policy: &ChainPolicy,
    batch: &PlaintextBatch,
    slot: u64,
) -> Result<(), ClientError> {
    if batch.slot != slot {
        return Err(ClientError::mismatch(
            slot,
            format!("batch is for slot {}", batch.slot),
        ));
    }
    if batch.chain_id != policy.service_chain_id {
        return Err(ClientError::mismatch(
            slot,
            format!(
                "batch is for service {}, expected {}",
                batch.chain_id, policy.service_chain_id
            ),
        ));
    }
    if batch.certificate.commitment != batch.commitment {
        return Err(ClientError::mismatch(
            slot,
            "batch commitment is not the certified one",
        ));
    }
    if batch.batch().commitment() != batch.commitment {
        return Err(ClientError::mismatch(
            slot,
            "ids do not rebuild the certified commitment",
        ));
    }
    check_certificate(committee, &batch.certificate, slot)
}

/// Finds `id` at `index` of a checked batch and compares its outcome with `expected` (the
/// plaintext the wallet encrypted), if given.
pub fn locate(
    batch: &PlaintextBatch,
    index: u32,
    id: &TxId,
    expected: Option<&[u8]>,
) -> Result<Finality, ClientError> {
    let slot = batch.slot;
    let item = batch.items.get(index as usize).ok_or_else(|| {
        ClientError::mismatch(
            slot,
            format!("index {index} outside a batch of {}", batch.items.len()),
        )
    })?;
    if item.id != *id {
        return Err(ClientError::mismatch(
            slot,
            format!("item {index} is {}, not {id}", item.id),
        ));
    }
    if let Some(expected) = expected {
        match &item.outcome {
            Outcome::Decrypted(p) if p.as_slice() == expected => {}
            Outcome::Decrypted(_) => {
                return Err(ClientError::mismatch(
                    slot,
                    format!("item {index} opened to a plaintext other than the one encrypted"),
                ));
            }
            Outcome::Invalid => {
                return Err(ClientError::mismatch(
                    slot,
                    format!("item {index} reported invalid, but it encrypts a known plaintext"),
                ));
            }
        }
    }
    Ok(Finality {
        slot,
        index,
        id: *id,
        outcome: item.outcome.clone(),
        certificate: batch.certificate.clone(),
        batch_len: batch.items.len(),
    })
}
