//! Shared test committee: keys, envelopes of every mode, proposals, votes, certificates.
#![allow(dead_code)]

use std::ops::ControlFlow;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_protocol::{
    Batch, CertificateBuilder, Commitment, CommitteeConfig, OrderCertificate, Progress, Proposal,
    SequencerId, TxEnvelope, ValidatedEnvelope, ValidationContext, Vote, VoteIntent, validate,
};
use veil_squaring::Backend;
use veil_threshold::{
    BlsPublicKey, EncryptionKey, KeyShare, Label, SigningKey, SlotRange, ThresholdKey, hazmat,
};
use veil_timelock::{DelayCiphertext, DelayParams, DualCiphertext, PuzzleSecret, group::RsaGroup};

/// Service domain of the test committee.
pub const DOMAIN: u64 = 7;
/// Rollup chain id in labels.
pub const CHAIN: u64 = 10;

pub struct Committee {
    pub rng: ChaCha20Rng,
    pub cfg: CommitteeConfig,
    pub key: ThresholdKey,
    pub shares: Vec<KeyShare>,
    pub bls: Vec<SigningKey>,
    pub committee: Vec<BlsPublicKey>,
    pub sequencer: SigningKey,
    pub sequencer_keys: Vec<BlsPublicKey>,
    pub ek: EncryptionKey,
    pub params: Option<DelayParams>,
}

pub fn delay_params() -> DelayParams {
    DelayParams::generate(
        RsaGroup::rsa2048(),
        b"veil-protocol tests",
        64,
        Backend::Portable,
        &mut |_| ControlFlow::Continue(()),
    )
    .unwrap()
}

impl Committee {
    pub fn new(seed: u64) -> Self {
        Self::with_config(seed, CommitteeConfig::default())
    }

    pub fn with_config(seed: u64, cfg: CommitteeConfig) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (key, shares) = hazmat::deal(&mut rng, cfg.t, cfg.n).unwrap();
        let bls: Vec<SigningKey> = (0..cfg.n).map(|_| SigningKey::generate(&mut rng)).collect();
        let committee = bls.iter().map(SigningKey::public_key).collect();
        let sequencer = SigningKey::generate(&mut rng);
        let sequencer_keys = vec![sequencer.public_key()];
        let ek = EncryptionKey::new(key.public_key());
        Self {
            rng,
            cfg,
            key,
            shares,
            bls,
            committee,
            sequencer,
            sequencer_keys,
            ek,
            params: None,
        }
    }

    pub fn with_delay(mut self) -> Self {
        self.params = Some(delay_params());
        self
    }

    pub fn ctx(&self) -> ValidationContext<'_> {
        ValidationContext {
            committee_key: self.key.public_key(),
            delay_params: self.params.as_ref(),
            chain_ids: &[CHAIN],
            current_slot: 0,
        }
    }

    pub fn label(&self, sender: u8) -> Label {
        Label::new(
            CHAIN,
            [sender; 32],
            SlotRange::new(0, 1000).unwrap(),
            21_000,
            vec![],
        )
        .unwrap()
    }

    pub fn threshold_envelope(&mut self, msg: &[u8]) -> TxEnvelope {
        let label = self.label(msg.first().copied().unwrap_or(0));
        TxEnvelope::Threshold(self.ek.encrypt(&mut self.rng, &label, msg).unwrap())
    }

    pub fn delay_envelope(&mut self, msg: &[u8]) -> (TxEnvelope, PuzzleSecret) {
        let params = self.params.as_ref().expect("delay params");
        let label = self.label(1);
        let pk = params.insecure_proving_key().unwrap();
        let (ct, secret) =
            DelayCiphertext::encrypt(params, &pk, &label, msg, &mut self.rng).unwrap();
        (TxEnvelope::delay(params, label, &ct), secret)
    }

    pub fn dual_ciphertext(&mut self, msg: &[u8]) -> (DualCiphertext, PuzzleSecret) {
        let params = self.params.as_ref().expect("delay params");
        let label = self.label(2);
        let pk = params.insecure_proving_key().unwrap();
        DualCiphertext::encrypt(params, &pk, &self.ek, &label, msg, &mut self.rng).unwrap()
    }

    pub fn dual_envelope(&mut self, msg: &[u8]) -> (TxEnvelope, PuzzleSecret) {
        let (ct, secret) = self.dual_ciphertext(msg);
        (TxEnvelope::dual(self.params.as_ref().unwrap(), &ct), secret)
    }

    /// A dual envelope whose committee wrap holds another data key than its payload's (both
    /// proofs valid): the committee path must mark it invalid, in place.
    pub fn split_dual_envelope(&mut self, msg: &[u8]) -> (TxEnvelope, PuzzleSecret) {
        let params = self.params.clone().expect("delay params");
        let (a, secret) = self.dual_ciphertext(msg);
        let (b, _) = self.dual_ciphertext(msg);
        let mut bytes = a.to_bytes(&params);
        let tb = b.threshold_part().to_bytes();
        // Layout: kind ‖ version ‖ params id (32) ‖ len (u32) ‖ threshold ciphertext ‖ …
        let start = 2 + 32 + 4;
        assert_eq!(a.threshold_part().to_bytes().len(), tb.len());
        bytes[start..start + tb.len()].copy_from_slice(&tb);
        let forged = DualCiphertext::from_bytes(&params, &bytes).unwrap();
        (TxEnvelope::dual(&params, &forged), secret)
    }

    pub fn validated(&self, env: &TxEnvelope) -> ValidatedEnvelope {
        validate(&self.ctx(), &env.to_bytes()).unwrap()
    }

    pub fn threshold_batch(&mut self, n: usize) -> Vec<ValidatedEnvelope> {
        (0..n)
            .map(|i| {
                let e = self.threshold_envelope(format!("tx {i}").as_bytes());
                self.validated(&e)
            })
            .collect()
    }

    pub fn batch(&self, slot: u64, parent: Commitment, envs: &[ValidatedEnvelope]) -> Batch {
        Batch {
            chain_id: DOMAIN,
            slot,
            parent,
            ids: envs.iter().map(|e| e.id()).collect(),
            chains: vec![],
        }
    }

    pub fn propose(&self, batch: Batch) -> Proposal {
        Proposal::sign(&self.sequencer, SequencerId(0), batch).unwrap()
    }

    pub fn vote(&self, member: u32, intent: &VoteIntent) -> Vote {
        Vote::sign(&self.bls[member as usize - 1], member, intent)
    }

    /// A certificate signed by `members` (bypassing the builder's quorum if fewer).
    pub fn certify(&self, batch: &Batch, members: &[u32]) -> OrderCertificate {
        let intent = VoteIntent {
            slot: batch.slot,
            parent: batch.parent,
            commitment: batch.commitment(),
        };
        let mut b = CertificateBuilder::new(intent, self.committee.clone(), members.len());
        let mut cert = None;
        for &m in members {
            if let Progress::Certified(c) = b.add(&self.vote(m, &intent)).unwrap() {
                cert = Some(c);
            }
        }
        cert.unwrap()
    }
}
