//! Several rollups served by one member: per-rollup configuration and admission, the
//! built-in sequencer's batch plan (rollup limits, whole bundles), and the checks a member
//! makes on a proposal's rollup listing and bundles before it votes.
//!
//! # Configuration (`rollups` in `node.json`)
//!
//! ```json
//! "rollups": [
//!   { "chain_id": 31337, "max_items_per_slot": 256, "max_envelope_bytes": 4096,
//!     "min_fee": 0, "delivery": "stream" },
//!   { "chain_id": 31338, "delivery": { "rpc": { "rpc_url": "http://127.0.0.1:8546" } } }
//! ]
//! ```
//!
//! Without a `rollups` section a node behaves as before: labels are accepted for
//! `label_chain_ids` (or the service `chain_id`), batches are version 1, and `forward` (if
//! any) forwards everything. With it:
//!
//! - labels must name a configured rollup (others are refused `wrong_chain`: "chain id X not
//!   served");
//! - admission enforces each rollup's `max_envelope_bytes` (the whole envelope, so the
//!   limit covers payload and proofs) and `min_fee` (against the label's clear `max_fee`);
//! - the built-in sequencer proposes version-2 batches (each item's rollup listed, so every
//!   rollup's sub-batch has a completeness proof) with at most `max_items_per_slot` items per
//!   rollup; members refuse version-1 proposals and proposals over a rollup's limit;
//! - delivery: every rollup has its sub-batch route and stream
//!   (`/v1/rollups/{chain_id}/batches/{slot}`, `/v1/rollups/{chain_id}/stream`); a rollup
//!   with an `rpc` delivery also gets its own forwarder (own thread, own durable cursor
//!   `eth-<chain_id>`) that forwards only that rollup's items.
//!
//! Bundles are checked whatever the configuration: a bundle member needs a well-formed tag
//! and threshold mode at admission, and members vote only for batches whose bundles are
//! whole, contiguous and in order (`veil_protocol::bundle`).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use veil_protocol::bundle::{self, BundleError, BundleTag};
use veil_protocol::rollup::{ChainsError, check_chains};
use veil_protocol::{Batch, TxId, ValidatedEnvelope};

use crate::config::ForwardConfig;

/// Where a rollup's delivered transactions go.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Consumers read the per-rollup routes and stream (the default).
    #[default]
    Stream,
    /// Also forwarded, in certified order, to this Ethereum JSON-RPC endpoint.
    Rpc(ForwardConfig),
}

/// One rollup served by this committee.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupConfig {
    /// The rollup's chain id (the label's `chain_id`).
    pub chain_id: u64,
    /// Most items of this rollup in one batch (default: no limit beyond `max_batch`).
    #[serde(default)]
    pub max_items_per_slot: Option<usize>,
    /// Largest envelope accepted for this rollup, in bytes (default: the protocol limit).
    #[serde(default)]
    pub max_envelope_bytes: Option<usize>,
    /// Smallest `max_fee` a label must offer (default 0).
    #[serde(default)]
    pub min_fee: u128,
    /// Delivery target.
    #[serde(default)]
    pub delivery: Delivery,
}

/// What the sequencer's plan needs of a pending envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanItem {
    /// Its id.
    pub id: TxId,
    /// Its label's chain id.
    pub chain_id: u64,
    /// Its bundle tag.
    pub tag: Option<BundleTag>,
    /// Never proposable: an ill-formed bundle tag, or a tag on a delay or dual envelope.
    /// Admission refuses these, but one can still arrive by gossip from a faulty member;
    /// every honest member would refuse a batch holding it.
    pub excluded: bool,
}

impl PlanItem {
    /// From a validated envelope.
    pub fn of(env: &ValidatedEnvelope) -> Self {
        let tag = bundle::envelope_tag(env, 0);
        Self {
            id: env.id(),
            chain_id: env.label().chain_id,
            excluded: tag.is_err(),
            tag: tag.ok().flatten(),
        }
    }
}

/// Why a rollup configuration is refused at start-up.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RollupConfigError {
    /// A chain id is listed twice.
    #[error("rollup {0} listed twice")]
    Duplicate(u64),
    /// `label_chain_ids` disagrees with the rollups.
    #[error("label_chain_ids {0:?} differ from the rollups' chain ids")]
    LabelChains(Vec<u64>),
    /// A zero limit.
    #[error("rollup {0}: limits must be positive")]
    ZeroLimit(u64),
}

/// The rollups of a node, checked.
#[derive(Clone, Debug, Default)]
pub struct Rollups {
    by_chain: BTreeMap<u64, RollupConfig>,
}

/// Why an envelope was refused by a rollup's admission policy.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AdmissionError {
    /// Over the rollup's envelope size limit.
    #[error("envelope of {len} bytes over rollup {chain_id}'s limit of {max}")]
    TooLarge {
        /// The rollup.
        chain_id: u64,
        /// Envelope size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The label offers less than the rollup's minimum fee.
    #[error("max fee {offered} below rollup {chain_id}'s minimum {min}")]
    FeeTooLow {
        /// The rollup.
        chain_id: u64,
        /// Label's max fee.
        offered: u128,
        /// Minimum.
        min: u128,
    },
    /// A malformed bundle tag, or a tag on a delay/dual envelope.
    #[error(transparent)]
    Bundle(#[from] BundleError),
}

/// Why a member refuses to vote for a proposal (besides the vote rule itself).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BatchCheckError {
    /// This node serves several rollups and needs each item's rollup listed.
    #[error("version-1 batch: this committee needs each item's rollup listed")]
    NeedsRollups,
    /// The listed rollups do not match the labels.
    #[error(transparent)]
    Chains(#[from] ChainsError),
    /// Over a rollup's per-slot limit.
    #[error("rollup {chain_id}: {count} items, limit {max} per slot")]
    OverLimit {
        /// The rollup.
        chain_id: u64,
        /// Items in the batch.
        count: usize,
        /// Limit.
        max: usize,
    },
    /// Part of a bundle, a bundle out of order, or a bundle whose members do not match.
    #[error("bundle: {0}")]
    Bundle(#[from] BundleError),
}

impl Rollups {
    /// Checks the configured rollups against `label_chain_ids` (which must be empty or
    /// list the same chain ids).
    pub fn new(
        configs: &[RollupConfig],
        label_chain_ids: &[u64],
    ) -> Result<Self, RollupConfigError> {
        let mut by_chain = BTreeMap::new();
        for c in configs {
            if c.max_items_per_slot == Some(0) || c.max_envelope_bytes == Some(0) {
                return Err(RollupConfigError::ZeroLimit(c.chain_id));
            }
            if by_chain.insert(c.chain_id, c.clone()).is_some() {
                return Err(RollupConfigError::Duplicate(c.chain_id));
            }
        }
        if !configs.is_empty() && !label_chain_ids.is_empty() {
            let mut l = label_chain_ids.to_vec();
            l.sort_unstable();
            l.dedup();
            if !l.iter().eq(by_chain.keys()) {
                return Err(RollupConfigError::LabelChains(label_chain_ids.to_vec()));
            }
        }
        Ok(Self { by_chain })
    }

    /// Whether a `rollups` section is configured (multi-rollup mode).
    pub fn enabled(&self) -> bool {
        !self.by_chain.is_empty()
    }

    /// The configured chain ids, sorted.
    pub fn chain_ids(&self) -> Vec<u64> {
        self.by_chain.keys().copied().collect()
    }

    /// The configuration of `chain_id`.
    pub fn get(&self, chain_id: u64) -> Option<&RollupConfig> {
        self.by_chain.get(&chain_id)
    }

    /// Every configured rollup.
    pub fn iter(&self) -> impl Iterator<Item = &RollupConfig> {
        self.by_chain.values()
    }

    /// The admission policy for one validated envelope (its chain id is already known to
    /// be served).
    pub fn admit(&self, env: &ValidatedEnvelope, position: usize) -> Result<(), AdmissionError> {
        bundle::envelope_tag(env, position)?;
        let label = env.label();
        let Some(c) = self.get(label.chain_id) else {
            return Ok(());
        };
        if let Some(max) = c.max_envelope_bytes
            && env.encoding().len() > max
        {
            return Err(AdmissionError::TooLarge {
                chain_id: c.chain_id,
                len: env.encoding().len(),
                max,
            });
        }
        if label.max_fee < c.min_fee {
            return Err(AdmissionError::FeeTooLow {
                chain_id: c.chain_id,
                offered: label.max_fee,
                min: c.min_fee,
            });
        }
        Ok(())
    }

    /// A member's checks on a proposal whose envelopes it holds (in batch order): the
    /// rollup listing (version 2 required in multi-rollup mode), per-rollup limits, and
    /// bundles.
    pub fn check_batch(
        &self,
        batch: &Batch,
        envelopes: &[ValidatedEnvelope],
    ) -> Result<(), BatchCheckError> {
        if self.enabled() && !batch.has_rollups() {
            return Err(BatchCheckError::NeedsRollups);
        }
        check_chains(batch, envelopes)?;
        let mut counts: HashMap<u64, usize> = HashMap::new();
        for e in envelopes {
            *counts.entry(e.label().chain_id).or_default() += 1;
        }
        for (chain_id, count) in counts {
            if let Some(max) = self.get(chain_id).and_then(|c| c.max_items_per_slot)
                && count > max
            {
                return Err(BatchCheckError::OverLimit {
                    chain_id,
                    count,
                    max,
                });
            }
        }
        bundle::check_bundles(envelopes)?;
        Ok(())
    }

    /// The built-in sequencer's plan: from pending items in arrival order, take items in
    /// that order up to `max_batch`, at most each rollup's per-slot limit, and bundles only
    /// whole (all members pending and `bundle_ok` for their ids in bundle order — the digest
    /// check), contiguous and in bundle order, at the position of their first-arrived
    /// member. Returns the ids and their chain ids.
    ///
    /// Per index of a bundle the first-arrived candidate is taken: someone who copies a
    /// member's label onto their own ciphertext (a different `U`) and gets it pending first
    /// delays that bundle here (members would refuse the mix), never splits it.
    pub fn plan(
        &self,
        pending: &[PlanItem],
        max_batch: usize,
        bundle_ok: impl Fn(&[TxId]) -> bool,
    ) -> (Vec<TxId>, Vec<u64>) {
        // Bundle members by digest, first-arrived candidate per index.
        let mut groups: HashMap<[u8; 32], BTreeMap<u16, usize>> = HashMap::new();
        for (i, e) in pending.iter().enumerate() {
            if let Some(t) = e.tag {
                groups
                    .entry(t.digest)
                    .or_default()
                    .entry(t.index)
                    .or_insert(i);
            }
        }
        let mut ids = Vec::new();
        let mut chains = Vec::new();
        let mut counts: HashMap<u64, usize> = HashMap::new();
        let mut done: HashSet<[u8; 32]> = HashSet::new();
        let fits = |counts: &HashMap<u64, usize>, add: &[u64], len: usize| {
            if len + add.len() > max_batch {
                return false;
            }
            let mut extra: HashMap<u64, usize> = HashMap::new();
            for c in add {
                *extra.entry(*c).or_default() += 1;
            }
            extra.iter().all(|(c, k)| {
                let limit = self.get(*c).and_then(|r| r.max_items_per_slot);
                limit.is_none_or(|m| counts.get(c).copied().unwrap_or(0) + k <= m)
            })
        };
        for e in pending {
            if ids.len() >= max_batch {
                break;
            }
            if e.excluded {
                continue;
            }
            match e.tag {
                None => {
                    let c = e.chain_id;
                    if fits(&counts, &[c], ids.len()) {
                        *counts.entry(c).or_default() += 1;
                        ids.push(e.id);
                        chains.push(c);
                    }
                }
                Some(t) => {
                    if !done.insert(t.digest) {
                        continue;
                    }
                    let members = &groups[&t.digest];
                    if members.len() != t.count as usize || members.keys().copied().ne(0..t.count) {
                        continue;
                    }
                    let legs: Vec<&PlanItem> = members.values().map(|&k| &pending[k]).collect();
                    let cs: Vec<u64> = legs.iter().map(|e| e.chain_id).collect();
                    if !fits(&counts, &cs, ids.len()) {
                        continue;
                    }
                    let leg_ids: Vec<TxId> = legs.iter().map(|e| e.id).collect();
                    if !bundle_ok(&leg_ids) {
                        continue;
                    }
                    for (id, c) in leg_ids.into_iter().zip(cs) {
                        *counts.entry(c).or_default() += 1;
                        ids.push(id);
                        chains.push(c);
                    }
                }
            }
        }
        (ids, chains)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use veil_protocol::{Commitment, TxEnvelope, ValidationContext, validate};
    use veil_threshold::{EncryptionKey, Label, SlotRange, ThresholdKey, hazmat};

    struct Fx {
        rng: ChaCha20Rng,
        key: ThresholdKey,
        ek: EncryptionKey,
    }

    impl Fx {
        fn new() -> Self {
            let mut rng = ChaCha20Rng::seed_from_u64(3);
            let (key, _) = hazmat::deal(&mut rng, 2, 3).unwrap();
            let ek = EncryptionKey::new(key.public_key());
            Self { rng, key, ek }
        }

        fn validate(&self, ct: veil_threshold::Ciphertext) -> ValidatedEnvelope {
            let ctx = ValidationContext {
                committee_key: self.key.public_key(),
                delay_params: None,
                chain_ids: &[1, 2],
                current_slot: 0,
            };
            validate(&ctx, &TxEnvelope::Threshold(ct).to_bytes()).unwrap()
        }

        fn label(chain: u64, fee: u128) -> Label {
            Label::new(chain, [1; 32], SlotRange::new(0, 9).unwrap(), fee, vec![]).unwrap()
        }

        fn tx(&mut self, chain: u64, fee: u128, len: usize) -> ValidatedEnvelope {
            let ct = self
                .ek
                .encrypt(&mut self.rng, &Self::label(chain, fee), &vec![7; len])
                .unwrap();
            self.validate(ct)
        }

        fn bundle(&mut self, chains: &[u64]) -> Vec<ValidatedEnvelope> {
            let members: Vec<_> = chains
                .iter()
                .map(|c| (Self::label(*c, 5), b"leg".to_vec()))
                .collect();
            let ek = self.ek.clone();
            bundle::seal(&ek, &mut self.rng, &members)
                .unwrap()
                .into_iter()
                .map(|c| self.validate(c))
                .collect()
        }
    }

    fn rollups(max_items: Option<usize>) -> Rollups {
        let r = |chain_id| RollupConfig {
            chain_id,
            max_items_per_slot: max_items,
            max_envelope_bytes: Some(2_000),
            min_fee: 3,
            delivery: Delivery::Stream,
        };
        Rollups::new(&[r(1), r(2)], &[]).unwrap()
    }

    #[test]
    fn configuration_is_checked_and_parses_both_delivery_forms() {
        let json = r#"[{"chain_id": 1, "max_items_per_slot": 4, "min_fee": 10},
                       {"chain_id": 2, "delivery": {"rpc": {"rpc_url": "http://x"}}},
                       {"chain_id": 3, "delivery": "stream"}]"#;
        let cs: Vec<RollupConfig> = serde_json::from_str(json).unwrap();
        assert_eq!(cs[0].delivery, Delivery::Stream);
        assert!(
            matches!(&cs[1].delivery, Delivery::Rpc(f) if f.rpc_url == "http://x" && f.member == 1)
        );
        let r = Rollups::new(&cs, &[3, 2, 1]).unwrap();
        assert_eq!(r.chain_ids(), vec![1, 2, 3]);
        assert_eq!(
            Rollups::new(&cs, &[1, 2]).unwrap_err(),
            RollupConfigError::LabelChains(vec![1, 2])
        );
        let dup = vec![cs[0].clone(), cs[0].clone()];
        assert_eq!(
            Rollups::new(&dup, &[]).unwrap_err(),
            RollupConfigError::Duplicate(1)
        );
        let zero = RollupConfig {
            max_items_per_slot: Some(0),
            ..cs[0].clone()
        };
        assert_eq!(
            Rollups::new(&[zero], &[]).unwrap_err(),
            RollupConfigError::ZeroLimit(1)
        );
        assert!(serde_json::from_str::<RollupConfig>(r#"{"chain_id": 1, "bogus": 1}"#).is_err());
        assert!(!Rollups::new(&[], &[5]).unwrap().enabled());
    }

    #[test]
    fn admission_enforces_size_and_fee_per_rollup() {
        let mut f = Fx::new();
        let r = rollups(None);
        r.admit(&f.tx(1, 3, 10), 0).unwrap();
        assert!(matches!(
            r.admit(&f.tx(1, 2, 10), 0),
            Err(AdmissionError::FeeTooLow {
                chain_id: 1,
                offered: 2,
                min: 3
            })
        ));
        assert!(matches!(
            r.admit(&f.tx(2, 9, 3_000), 0),
            Err(AdmissionError::TooLarge { chain_id: 2, .. })
        ));
        // A malformed bundle tag is refused at admission.
        let mut extra = BundleTag::new([1; 32], 0, 2).unwrap().to_extra();
        extra.push(0);
        let l = Label::new(1, [1; 32], SlotRange::new(0, 9).unwrap(), 5, extra).unwrap();
        let ct = f.ek.encrypt(&mut f.rng, &l, b"x").unwrap();
        let env = f.validate(ct);
        assert_eq!(
            r.admit(&env, 4),
            Err(AdmissionError::Bundle(BundleError::MalformedTag))
        );
    }

    fn plan(r: &Rollups, envs: &[ValidatedEnvelope], max: usize) -> (Vec<TxId>, Vec<u64>) {
        let items: Vec<PlanItem> = envs.iter().map(PlanItem::of).collect();
        r.plan(&items, max, |ids| {
            let legs: Vec<ValidatedEnvelope> = ids
                .iter()
                .map(|id| envs.iter().find(|e| e.id() == *id).unwrap().clone())
                .collect();
            bundle::check_one_bundle(&legs).is_ok()
        })
    }

    #[test]
    fn plan_keeps_bundles_whole_and_respects_limits() {
        let mut f = Fx::new();
        let r = rollups(Some(3));
        let a1 = f.tx(1, 5, 4);
        let legs = f.bundle(&[1, 2]);
        let b1 = f.tx(2, 5, 4);
        let a2 = f.tx(1, 5, 4);
        let a3 = f.tx(1, 5, 4);
        // Arrival: a1, leg1 (second member first), b1, leg0, a2, a3.
        let pending = vec![
            a1.clone(),
            legs[1].clone(),
            b1.clone(),
            legs[0].clone(),
            a2.clone(),
            a3.clone(),
        ];
        let (ids, chains) = plan(&r, &pending, 16);
        // The bundle goes in whole, in bundle order, where its first-arrived member was;
        // rollup 1's limit of 3 leaves a3 pending.
        assert_eq!(
            ids,
            vec![a1.id(), legs[0].id(), legs[1].id(), b1.id(), a2.id()]
        );
        assert_eq!(chains, vec![1, 1, 2, 2, 1]);
        let batch = Batch {
            chain_id: 9,
            slot: 1,
            parent: Commitment::genesis(),
            ids: ids.clone(),
            chains,
        };
        let envs = vec![a1.clone(), legs[0].clone(), legs[1].clone(), b1.clone(), a2];
        r.check_batch(&batch, &envs).unwrap();
        // Half a bundle pending: it waits.
        let (ids, _) = plan(&r, &[legs[1].clone(), b1.clone()], 16);
        assert_eq!(ids, vec![b1.id()]);
        // A bundle that does not fit the batch waits too.
        let (ids, _) = plan(&r, &[a1.clone(), legs[0].clone(), legs[1].clone()], 2);
        assert_eq!(ids, vec![a1.id()]);
        // A copied label on a foreign ciphertext arriving first: the digest check fails and
        // the bundle is not proposed (never half of it).
        let l = legs[1].label().clone();
        let forged = f.ek.encrypt(&mut f.rng, &l, b"copy").unwrap();
        let forged = f.validate(forged);
        let (ids, _) = plan(
            &r,
            &[forged, legs[0].clone(), legs[1].clone(), b1.clone()],
            16,
        );
        assert_eq!(ids, vec![b1.id()]);
        // An ill-formed tag (admission refuses it; gossip from a faulty member may not) is
        // never proposed, so it cannot make honest members refuse the batch.
        let mut extra = BundleTag::new([1; 32], 0, 2).unwrap().to_extra();
        extra.push(0);
        let l = Label::new(1, [1; 32], SlotRange::new(0, 9).unwrap(), 5, extra).unwrap();
        let bad = f.ek.encrypt(&mut f.rng, &l, b"x").unwrap();
        let bad = f.validate(bad);
        assert!(PlanItem::of(&bad).excluded);
        let (ids, _) = plan(&r, &[bad, b1.clone()], 16);
        assert_eq!(ids, vec![b1.id()]);
    }

    #[test]
    fn members_refuse_v1_batches_mislabelled_chains_limits_and_half_bundles() {
        let mut f = Fx::new();
        let r = rollups(Some(2));
        let a = f.tx(1, 5, 4);
        let legs = f.bundle(&[1, 2]);
        let mk = |envs: &[&ValidatedEnvelope], chains: Vec<u64>| Batch {
            chain_id: 9,
            slot: 1,
            parent: Commitment::genesis(),
            ids: envs.iter().map(|e| e.id()).collect(),
            chains,
        };
        let v1 = mk(&[&a], vec![]);
        assert_eq!(
            r.check_batch(&v1, std::slice::from_ref(&a)),
            Err(BatchCheckError::NeedsRollups)
        );
        // Without a rollups section a version-1 batch passes (legacy single rollup).
        Rollups::default()
            .check_batch(&v1, std::slice::from_ref(&a))
            .unwrap();
        let lying = mk(&[&a], vec![2]);
        assert!(matches!(
            r.check_batch(&lying, std::slice::from_ref(&a)),
            Err(BatchCheckError::Chains(_))
        ));
        let half = mk(&[&a, &legs[0]], vec![1, 1]);
        assert!(matches!(
            r.check_batch(&half, &[a.clone(), legs[0].clone()]),
            Err(BatchCheckError::Bundle(_))
        ));
        let a2 = f.tx(1, 5, 4);
        let a3 = f.tx(1, 5, 4);
        let over = mk(&[&a, &a2, &a3], vec![1, 1, 1]);
        assert_eq!(
            r.check_batch(&over, &[a, a2, a3]),
            Err(BatchCheckError::OverLimit {
                chain_id: 1,
                count: 3,
                max: 2
            })
        );
    }
}
