//! Encrypting a transaction into a Veil envelope, in one of the three modes.
//!
//! | mode | construction | opens by |
//! | --- | --- | --- |
//! | [`Mode::Threshold`] | TDH2 to the committee key (`veil_threshold::EncryptionKey::encrypt`) | `t` members' shares, released only under an order certificate |
//! | [`Mode::Delay`] | RSW time-lock puzzle (`veil_timelock::DelayCiphertext::encrypt`) | the sender's reveal after commitment, or `T` sequential squarings by anyone |
//! | [`Mode::Dual`] | one data key under both (`veil_timelock::DualCiphertext::encrypt`) | whichever comes first |
//!
//! Every mode binds the same [`Label`]; the [`Encryptor`] refuses a label whose chain id the
//! service does not accept ([`ChainPolicy`]) and, for Ethereum payloads, a label whose chain
//! id differs from the signed transaction's. The plaintext and the puzzle secret stay in the
//! returned [`EncryptedTx`] (zeroized on drop) so the wallet can check the node's plaintext
//! batch against what it encrypted and reveal the puzzle after commitment.
//!
//! Delay-mode arithmetic is veil-squaring's pure-Rust fixed-base exponentiation: no GMP is
//! linked into a wallet. Delay and dual ciphertexts carry a Groth16 proof that their puzzle
//! keys their payload (`veil-timelock`'s version 2 format), so the encryptor needs the
//! delay proving key: the ceremony's, given with [`Encryptor::with_proving_key`] (checked
//! against the parameters' verifying key), or for devnet parameters the insecure
//! reproducible setup's ([`veil_timelock::DelayParams::insecure_proving_key`]), used when no
//! key is given.

use std::sync::Arc;

use rand_core::{CryptoRng, RngCore};
use veil_circuits::delay_snark::DelayProvingKey;
use veil_protocol::{TxEnvelope, TxId};
use veil_threshold::{Label, SlotRange};
use veil_timelock::{DelayCiphertext, DelayParams, DualCiphertext, PuzzleSecret};
use zeroize::Zeroizing;

use crate::committee::{ChainPolicy, TrustedCommittee};
use crate::error::ClientError;
use crate::eth::{self, SignedTx};

/// Encryption mode. See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// To the committee's threshold key.
    Threshold,
    /// Under a time-lock puzzle.
    Delay,
    /// Both, one data key.
    Dual,
}

impl Mode {
    /// `threshold`, `delay` or `dual`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Threshold => "threshold",
            Self::Delay => "delay",
            Self::Dual => "dual",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "threshold" => Ok(Self::Threshold),
            "delay" => Ok(Self::Delay),
            "dual" => Ok(Self::Dual),
            other => Err(format!("unknown mode {other:?} (threshold, delay, dual)")),
        }
    }
}

/// An encrypted transaction and what the wallet keeps to follow it.
pub struct EncryptedTx {
    mode: Mode,
    envelope: TxEnvelope,
    encoding: Vec<u8>,
    id: TxId,
    plaintext: Zeroizing<Vec<u8>>,
    secret: Option<PuzzleSecret>,
}

impl std::fmt::Debug for EncryptedTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedTx")
            .field("mode", &self.mode)
            .field("id", &self.id)
            .field("bytes", &self.encoding.len())
            .finish_non_exhaustive()
    }
}

impl EncryptedTx {
    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The envelope.
    pub fn envelope(&self) -> &TxEnvelope {
        &self.envelope
    }

    /// The envelope's canonical encoding (what is submitted).
    pub fn encoding(&self) -> &[u8] {
        &self.encoding
    }

    /// The envelope id the node will report.
    pub fn id(&self) -> TxId {
        self.id
    }

    /// The label.
    pub fn label(&self) -> &Label {
        self.envelope.label()
    }

    /// The plaintext the wallet encrypted.
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// The puzzle secret (delay and dual modes): reveal it only after the ciphertext's
    /// batch is certified.
    pub fn puzzle_secret(&self) -> Option<&PuzzleSecret> {
        self.secret.as_ref()
    }

    /// The reveal encoding (delay and dual modes), zeroized on drop. Publishing it before
    /// the certificate opens the transaction early.
    pub fn reveal_bytes(&self) -> Option<Zeroizing<Vec<u8>>> {
        self.secret
            .as_ref()
            .map(|s| Zeroizing::new(s.reveal().to_bytes()))
    }
}

/// Encrypts transactions for one committee and service. See the module documentation.
#[derive(Clone, Debug)]
pub struct Encryptor {
    committee: TrustedCommittee,
    delay_params: Option<DelayParams>,
    proving_key: Option<Arc<DelayProvingKey>>,
    policy: ChainPolicy,
}

impl Encryptor {
    /// An encryptor for `committee`, with delay parameters if delay and dual modes are used.
    pub fn new(
        committee: TrustedCommittee,
        delay_params: Option<DelayParams>,
        policy: ChainPolicy,
    ) -> Self {
        Self {
            committee,
            delay_params,
            proving_key: None,
            policy,
        }
    }

    /// Uses `key` (a delay ceremony's proving key) for delay and dual proofs; refused unless
    /// it matches the delay parameters' verifying key.
    pub fn with_proving_key(mut self, key: Arc<DelayProvingKey>) -> Result<Self, ClientError> {
        let params = self.params()?;
        if !key.matches(params.snark_key()) {
            return Err(ClientError::Encrypt(
                "proving key does not match the delay parameters".into(),
            ));
        }
        self.proving_key = Some(key);
        Ok(self)
    }

    /// The delay proving key: the one given, else the devnet setup's (cached per process).
    fn proving_key(&self) -> Result<Arc<DelayProvingKey>, ClientError> {
        match &self.proving_key {
            Some(k) => Ok(k.clone()),
            None => Ok(self.params()?.insecure_proving_key()?),
        }
    }

    /// The committee.
    pub fn committee(&self) -> &TrustedCommittee {
        &self.committee
    }

    /// The delay parameters, if any.
    pub fn delay_params(&self) -> Option<&DelayParams> {
        self.delay_params.as_ref()
    }

    /// The chain policy.
    pub fn policy(&self) -> &ChainPolicy {
        &self.policy
    }

    /// Encrypts `payload` under `label` in `mode`.
    pub fn encrypt(
        &self,
        mode: Mode,
        label: Label,
        payload: &[u8],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<EncryptedTx, ClientError> {
        self.policy.check(label.chain_id)?;
        let (envelope, secret) = match mode {
            Mode::Threshold => {
                let ct = self
                    .committee
                    .encryption_key()
                    .encrypt(rng, &label, payload)
                    .map_err(|e| ClientError::Encrypt(e.to_string()))?;
                (TxEnvelope::Threshold(ct), None)
            }
            Mode::Delay => {
                let params = self.params()?;
                let pk = self.proving_key()?;
                let (ct, secret) = DelayCiphertext::encrypt(params, &pk, &label, payload, rng)
                    .map_err(|e| ClientError::Encrypt(e.to_string()))?;
                (TxEnvelope::delay(params, label, &ct), Some(secret))
            }
            Mode::Dual => {
                let params = self.params()?;
                let pk = self.proving_key()?;
                let (ct, secret) = DualCiphertext::encrypt(
                    params,
                    &pk,
                    self.committee.encryption_key(),
                    &label,
                    payload,
                    rng,
                )
                .map_err(|e| ClientError::Encrypt(e.to_string()))?;
                (TxEnvelope::dual(params, &ct), Some(secret))
            }
        };
        let encoding = envelope.to_bytes();
        if encoding.len() > veil_protocol::MAX_ENVELOPE {
            return Err(ClientError::Encrypt(format!(
                "envelope of {} bytes, limit {}",
                encoding.len(),
                veil_protocol::MAX_ENVELOPE
            )));
        }
        Ok(EncryptedTx {
            mode,
            id: veil_protocol::envelope::id_of(&encoding),
            envelope,
            encoding,
            plaintext: Zeroizing::new(payload.to_vec()),
            secret,
        })
    }

    /// Encrypts an atomic bundle (threshold mode): `members` are `(label, payload)` in
    /// bundle order, 2 to `veil_protocol::bundle::MAX_BUNDLE` of them, each label for a
    /// served chain and with an empty `extra` (the bundle tag takes it). Submit the result
    /// with `VeilClient::submit_bundle`. See [`crate::rollup`] for what is promised.
    pub fn encrypt_bundle(
        &self,
        members: &[(Label, Vec<u8>)],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Vec<EncryptedTx>, ClientError> {
        for (l, _) in members {
            self.policy.check(l.chain_id)?;
        }
        let cts = veil_protocol::bundle::seal(self.committee.encryption_key(), rng, members)
            .map_err(|e| ClientError::Encrypt(e.to_string()))?;
        cts.into_iter()
            .zip(members)
            .map(|(ct, (_, payload))| {
                let envelope = TxEnvelope::Threshold(ct);
                let encoding = envelope.to_bytes();
                if encoding.len() > veil_protocol::MAX_ENVELOPE {
                    return Err(ClientError::Encrypt(format!(
                        "envelope of {} bytes, limit {}",
                        encoding.len(),
                        veil_protocol::MAX_ENVELOPE
                    )));
                }
                Ok(EncryptedTx {
                    mode: Mode::Threshold,
                    id: veil_protocol::envelope::id_of(&encoding),
                    envelope,
                    encoding,
                    plaintext: Zeroizing::new(payload.clone()),
                    secret: None,
                })
            })
            .collect()
    }

    /// Encrypts a signed Ethereum transaction under the label derived from it
    /// ([`eth::label_for`]); `chain_id`, if given, is what the wallet means to target and
    /// must equal the transaction's.
    pub fn encrypt_eth(
        &self,
        mode: Mode,
        tx: &SignedTx,
        slots: SlotRange,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<EncryptedTx, ClientError> {
        let label = eth::label_for(tx, slots)?;
        self.encrypt_eth_with_label(mode, tx, label, rng)
    }

    /// Encrypts a signed Ethereum transaction under `label`, which must be for the
    /// transaction's chain.
    pub fn encrypt_eth_with_label(
        &self,
        mode: Mode,
        tx: &SignedTx,
        label: Label,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<EncryptedTx, ClientError> {
        if tx.chain_id != label.chain_id {
            return Err(ClientError::TxChainMismatch {
                tx: tx.chain_id,
                label: label.chain_id,
            });
        }
        self.encrypt(mode, label, &tx.raw, rng)
    }

    fn params(&self) -> Result<&DelayParams, ClientError> {
        self.delay_params.as_ref().ok_or(ClientError::DelayDisabled)
    }
}
