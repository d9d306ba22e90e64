//! One rollup's view of a multi-rollup committee: verifying the sub-batch a node serves for
//! a rollup, and encrypting atomic bundles.
//!
//! # Sub-batches
//!
//! A consumer of rollup `X` (its executor, an indexer, a bridge) reads `X`'s part of each
//! certified slot from any member (`GET /v1/rollups/{X}/batches/{slot}` or the stream) and
//! checks it with [`verify_sub_batch`]: the order certificate at quorum against the trusted
//! committee, and the completeness proof against the certified commitment
//! (`veil_protocol::rollup`). A node that drops one of `X`'s items, injects one (another
//! rollup's or a made-up one), reorders them, or claims `X` had nothing in the slot, is
//! caught. The JSON view the node serves next to the binary form must agree with it.
//!
//! What it does not check: the outcomes themselves (which needs every envelope of the slot;
//! see `veil_protocol::rollup`). A signed rollup transaction cannot be forged by a node; a
//! node could only mark an item invalid, which the sender detects by following its own
//! transaction ([`crate::verify::locate`] compares the plaintext).
//!
//! # Bundles
//!
//! [`crate::Encryptor::encrypt_bundle`] seals several transactions (threshold mode only,
//! any served rollups) into one bundle (`veil_protocol::bundle`): the committee orders all
//! of them in one batch, contiguous and in bundle order, or none. Inclusion is atomic;
//! execution is not — each rollup runs its leg on its own, and one leg may revert while
//! another succeeds.

use serde_json::Value;
use veil_protocol::{Outcome, SubBatch, SubBatchItem};

use crate::committee::TrustedCommittee;
use crate::error::ClientError;

/// Checks a rollup's sub-batch against the committee: it must be `rollup`'s sub-batch of
/// `slot` in service `domain`, under a certificate at quorum, and complete. Returns its
/// items (position in the whole batch, id, outcome) in certified order.
pub fn verify_sub_batch(
    committee: &TrustedCommittee,
    domain: u64,
    rollup: u64,
    slot: u64,
    sub: &SubBatch,
) -> Result<Vec<SubBatchItem>, ClientError> {
    if sub.slot != slot {
        return Err(ClientError::BadSubBatch {
            rollup,
            slot,
            reason: format!("sub-batch is for slot {}", sub.slot),
        });
    }
    sub.verify(committee.bls_keys(), committee.quorum(), domain, rollup)
        .map(<[_]>::to_vec)
        .map_err(|e| ClientError::BadSubBatch {
            rollup,
            slot,
            reason: e.to_string(),
        })
}

/// Parses a node's sub-batch JSON: the binary form, and the JSON item view checked to agree
/// with it (ids, positions, statuses, plaintexts).
pub fn parse_sub_batch(v: &Value) -> Result<SubBatch, ClientError> {
    let bytes = v["binary"]
        .as_str()
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| ClientError::Malformed("sub-batch: no binary form".into()))?;
    let sub = SubBatch::from_bytes(&bytes)
        .map_err(|e| ClientError::Malformed(format!("sub-batch: {e}")))?;
    let items = v["items"]
        .as_array()
        .ok_or_else(|| ClientError::Malformed("sub-batch: no items".into()))?;
    let agrees = items.len() == sub.items.len()
        && items.iter().zip(&sub.items).all(|(j, i)| {
            let (status, plaintext) = match &i.outcome {
                Outcome::Decrypted(m) => ("decrypted", Value::from(hex::encode(m))),
                Outcome::Invalid => ("invalid", Value::Null),
            };
            j["id"].as_str() == Some(i.id.to_hex().as_str())
                && j["position"].as_u64() == Some(u64::from(i.position))
                && j["status"].as_str() == Some(status)
                && j["plaintext"] == plaintext
        });
    if !agrees {
        return Err(ClientError::Malformed(
            "sub-batch: JSON items differ from the binary form".into(),
        ));
    }
    Ok(sub)
}
