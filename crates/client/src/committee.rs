//! What a wallet trusts: the committee (`committee.json`), the delay parameters, and the
//! service's chain policy.
//!
//! # Trust
//!
//! A wallet encrypts to the committee's threshold key and accepts an order certificate only
//! if a quorum of the committee's BLS keys signed it, so everything rests on loading the
//! right `committee.json`. [`TrustedCommittee::load`] runs keygen's own verification
//! ([`veil_keygen::Committee::load_and_verify`]): the file is the canonical encoding, every
//! member's proof of possession (the rogue-key defence of the certificate multi-signature)
//! and encryption-key proof verify, keys are distinct, and the verification keys are a
//! degree-`t − 1` sharing of the public key. That makes the file internally consistent; it
//! does not say *which* ceremony produced it. For that the wallet pins one of:
//!
//! - the **transcript hash** published by the ceremony ([`Trust::transcript_hash`]): the
//!   file must carry exactly that hash (a file whose hash field was edited is refused);
//! - the **transcript** itself ([`Trust::transcript`]): it is re-verified from public data
//!   with `veil_keygen::dkg::verify_committee`, and the file must be its outcome and carry
//!   its hash.
//!
//! Without a pin the committee is trusted on first use, as a browser trusts a self-signed
//! certificate it was told to; the CLI says so.
//!
//! Delay parameters are verified on load (their Wesolowski proof) and may be pinned by id
//! ([`load_delay_params`]).
//!
//! # Chain policy
//!
//! `committee.json` says nothing about chains: which rollup chain ids a service accepts in
//! labels, and its own service domain (the `chain_id` of its batches), are the deployment's
//! configuration ([`ChainPolicy`], the client-side mirror of the node's `chain_id` and
//! `label_chain_ids`). The client refuses to encrypt for a chain the service does not
//! accept ([`crate::ClientError::WrongChain`]): such a ciphertext would only be refused at
//! submission, or — worse, with a stale policy on the node — ordered for the wrong chain.

use veil_keygen::Committee;
use veil_protocol::CommitteeConfig;
use veil_threshold::{BlsPublicKey, EncryptionKey, ThresholdKey};
use veil_timelock::DelayParams;

use crate::error::ClientError;

/// What pins the committee beyond its internal consistency. See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// The ceremony's transcript hash, from an authenticated source.
    pub transcript_hash: Option<[u8; 32]>,
    /// The ceremony transcript (its canonical encoding), re-verified in full.
    pub transcript: Option<Vec<u8>>,
    /// Certificate quorum, if the deployment overrides the default (the smallest value above
    /// `(n + f)/2` with `f = ⌊(n − 1)/3⌋`).
    pub quorum: Option<usize>,
}

/// The chain ids a service accepts. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainPolicy {
    /// The service domain: the `chain_id` of the service's batches.
    pub service_chain_id: u64,
    /// Chain ids accepted in labels (empty: just `service_chain_id`, as on the node).
    pub label_chain_ids: Vec<u64>,
}

impl ChainPolicy {
    /// A service whose one accepted label chain is its own domain (the node's default).
    pub fn single(chain_id: u64) -> Self {
        Self {
            service_chain_id: chain_id,
            label_chain_ids: Vec::new(),
        }
    }

    /// The chain ids accepted in labels.
    pub fn accepted(&self) -> Vec<u64> {
        if self.label_chain_ids.is_empty() {
            vec![self.service_chain_id]
        } else {
            self.label_chain_ids.clone()
        }
    }

    /// `Ok` if labels for `chain_id` are accepted.
    pub fn check(&self, chain_id: u64) -> Result<(), ClientError> {
        let allowed = self.accepted();
        if allowed.contains(&chain_id) {
            Ok(())
        } else {
            Err(ClientError::WrongChain { chain_id, allowed })
        }
    }
}

/// A verified committee, with the keys a wallet uses. See the module documentation.
#[derive(Clone)]
pub struct TrustedCommittee {
    committee: Committee,
    json: Vec<u8>,
    threshold_key: ThresholdKey,
    encryption_key: EncryptionKey,
    bls_keys: Vec<BlsPublicKey>,
    quorum: usize,
}

impl std::fmt::Debug for TrustedCommittee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedCommittee")
            .field("epoch", &self.committee.epoch)
            .field("n", &self.committee.n())
            .field("t", &self.committee.threshold)
            .field("quorum", &self.quorum)
            .field("transcript", &hex::encode(self.committee.transcript_hash))
            .finish()
    }
}

impl TrustedCommittee {
    /// Loads and verifies `committee.json` under `trust`. See the module documentation.
    pub fn load(json: &[u8], trust: &Trust) -> Result<Self, ClientError> {
        let committee = Committee::load_and_verify(json)?;
        if let Some(expected) = trust.transcript_hash
            && expected != committee.transcript_hash
        {
            return Err(ClientError::TranscriptHashMismatch {
                expected: hex::encode(expected),
                found: hex::encode(committee.transcript_hash),
            });
        }
        if let Some(bytes) = &trust.transcript {
            let transcript = veil_keygen::Transcript::from_bytes(bytes)
                .map_err(|e| ClientError::Transcript(e.to_string()))?;
            if transcript.hash() != committee.transcript_hash {
                return Err(ClientError::TranscriptHashMismatch {
                    expected: hex::encode(transcript.hash()),
                    found: hex::encode(committee.transcript_hash),
                });
            }
            veil_keygen::dkg::verify_committee(&transcript, &committee)
                .map_err(|e| ClientError::Transcript(e.to_string()))?;
        }
        let threshold_key = committee
            .threshold_key()
            .map_err(|e| ClientError::CommitteeKeys(e.to_string()))?;
        let bls_keys = committee
            .bls_keys()
            .map_err(|e| ClientError::CommitteeKeys(e.to_string()))?;
        let n = committee.n();
        let default_quorum = CommitteeConfig::for_members(n).quorum as usize;
        let quorum = trust.quorum.unwrap_or(default_quorum);
        // A quorum below the safe bound would let a certificate be forged by fewer members
        // than the node's safety argument assumes.
        if quorum < default_quorum || quorum > n as usize {
            return Err(ClientError::CommitteeKeys(format!(
                "quorum {quorum} outside {default_quorum}..={n}"
            )));
        }
        let encryption_key = EncryptionKey::new(threshold_key.public_key());
        Ok(Self {
            committee,
            json: json.to_vec(),
            threshold_key,
            encryption_key,
            bls_keys,
            quorum,
        })
    }

    /// The committee.
    pub fn committee(&self) -> &Committee {
        &self.committee
    }

    /// The exact bytes it was loaded from.
    pub fn json(&self) -> &[u8] {
        &self.json
    }

    /// The threshold key (public key and members' verification keys).
    pub fn threshold_key(&self) -> &ThresholdKey {
        &self.threshold_key
    }

    /// The prepared encryption key.
    pub fn encryption_key(&self) -> &EncryptionKey {
        &self.encryption_key
    }

    /// The members' BLS keys, in member order.
    pub fn bls_keys(&self) -> &[BlsPublicKey] {
        &self.bls_keys
    }

    /// The certificate quorum.
    pub fn quorum(&self) -> usize {
        self.quorum
    }
}

/// Loads delay parameters from their JSON form (verifying their Wesolowski proof) and, if
/// `pinned_id` is given, checks their id.
pub fn load_delay_params(
    json: &str,
    pinned_id: Option<&[u8; 32]>,
) -> Result<DelayParams, ClientError> {
    let params = DelayParams::from_json(json)?;
    if let Some(expected) = pinned_id
        && expected != params.id()
    {
        return Err(ClientError::DelayParamsMismatch {
            expected: hex::encode(expected),
            found: hex::encode(params.id()),
        });
    }
    Ok(params)
}
