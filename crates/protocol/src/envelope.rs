//! Transaction envelopes: the three encryption modes under one versioned encoding, their
//! identifiers, and the validation gate every envelope passes before it is stored.
//!
//! # Encoding (version 1)
//!
//! `0x01 ‖ mode ‖ body`, at most [`MAX_ENVELOPE`] bytes:
//!
//! | mode | body |
//! | --- | --- |
//! | `0x01` threshold | a [`veil_threshold::Ciphertext`] encoding (its label inside) |
//! | `0x02` delay | `label ‖ u32 BE length ‖` a [`veil_timelock::DelayCiphertext`] encoding |
//! | `0x03` dual | a [`veil_timelock::DualCiphertext`] encoding (label in its threshold part) |
//!
//! A delay ciphertext does not carry its label, so the envelope does. The id is
//! `TxId = H(TX_ID ‖ envelope encoding)`: two envelopes with the same id are byte-identical.
//!
//! # Decoding and validation
//!
//! [`TxEnvelope::from_bytes`] needs no parameters: it checks the envelope layer, fully
//! decodes threshold ciphertexts (points on the curve, in the subgroup) and labels, and
//! keeps delay and dual bodies as bytes (their element sizes depend on the delay
//! parameters). [`validate_batch`] is the gate: under a [`ValidationContext`] it decodes the
//! delay/dual bodies against the parameters, checks the label policy (allowed chain, slot
//! range not expired), the proofs of knowledge of puzzle exponents, and the threshold
//! validity proofs of all threshold and dual items **in one batched check**. Only a
//! [`ValidatedEnvelope`] may be stored, voted on or decrypted.

use std::fmt;

use thiserror::Error;
use veil_domain::protocol as tags;
use veil_threshold::{Ciphertext, Label, PublicKey, VerifiedCiphertext, verify_batch};
use veil_timelock::{DelayCiphertext, DelayParams, DualCiphertext};

use crate::codec::{CodecError, Reader, put_var, serde_as_hex, tagged_hash};

/// Version byte of the envelope encoding.
pub const ENVELOPE_VERSION: u8 = 1;
/// Largest envelope accepted, in bytes (a 64 KiB payload with every header and proof).
pub const MAX_ENVELOPE: usize = 72 * 1024;

/// Mode byte of a threshold envelope.
pub const MODE_THRESHOLD: u8 = 0x01;
/// Mode byte of a delay envelope.
pub const MODE_DELAY: u8 = 0x02;
/// Mode byte of a dual envelope.
pub const MODE_DUAL: u8 = 0x03;

/// Identifier of an envelope: `H(TX_ID ‖ encoding)`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxId(pub [u8; 32]);

impl TxId {
    /// The raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// From exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CodecError> {
        Ok(Self(
            bytes
                .try_into()
                .map_err(|_| CodecError::Malformed { what: "tx id" })?,
        ))
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// From 64 hex characters.
    pub fn from_hex(s: &str) -> Result<Self, CodecError> {
        let b = hex::decode(s).map_err(|_| CodecError::Malformed { what: "tx id" })?;
        Self::from_bytes(&b)
    }
}

impl fmt::Debug for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxId({})", &self.to_hex()[..16])
    }
}

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

serde_as_hex!(TxId);
serde_as_hex!(TxEnvelope);

/// Why an envelope was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EnvelopeError {
    /// The envelope layer is malformed.
    #[error("bad envelope: {0}")]
    Codec(#[from] CodecError),
    /// The mode byte is unknown.
    #[error("unknown envelope mode {0}")]
    UnknownMode(u8),
    /// The threshold ciphertext (or a dual envelope's threshold part) is malformed.
    #[error("bad threshold ciphertext: {0}")]
    Threshold(String),
    /// The delay or dual body is malformed for the node's delay parameters.
    #[error("bad delay ciphertext: {0}")]
    Delay(String),
    /// A delay or dual envelope reached a node without delay parameters.
    #[error("delay mode not enabled")]
    DelayDisabled,
    /// The label's chain id is not served here.
    #[error("chain id {chain_id} not served")]
    WrongChain {
        /// Chain id in the label.
        chain_id: u64,
    },
    /// The label's slot range ended before the current slot.
    #[error("expired: slot range ends at {last}, current slot {current}")]
    Expired {
        /// Last slot of the label's range.
        last: u64,
        /// Current slot.
        current: u64,
    },
    /// A validity proof or proof of knowledge does not verify.
    #[error("invalid ciphertext")]
    Invalid,
}

/// A delay-mode body: the label and the delay ciphertext bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelayBody {
    /// The label the ciphertext is bound to.
    pub label: Label,
    /// Encoding of the [`DelayCiphertext`] (decoded against the delay parameters).
    pub ciphertext: Vec<u8>,
}

/// A transaction envelope. See the module documentation.
// Variants are all a few hundred bytes plus heap data; boxing would add an allocation per
// envelope for no gain.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxEnvelope {
    /// Threshold mode (TDH2).
    Threshold(Ciphertext),
    /// Delay mode (time-lock puzzle).
    Delay(DelayBody),
    /// Dual mode: the encoding of a [`DualCiphertext`] and its label (taken from its
    /// threshold part, which is decoded here).
    Dual {
        /// The label of the threshold part.
        label: Label,
        /// The encoding of the dual ciphertext.
        ciphertext: Vec<u8>,
    },
}

impl TxEnvelope {
    /// A delay envelope.
    pub fn delay(params: &DelayParams, label: Label, ciphertext: &DelayCiphertext) -> Self {
        Self::Delay(DelayBody {
            label,
            ciphertext: ciphertext.to_bytes(params),
        })
    }

    /// A dual envelope.
    pub fn dual(params: &DelayParams, ciphertext: &DualCiphertext) -> Self {
        Self::Dual {
            label: ciphertext.threshold_part().label().clone(),
            ciphertext: ciphertext.to_bytes(params),
        }
    }

    /// The mode byte.
    pub fn mode(&self) -> u8 {
        match self {
            Self::Threshold(_) => MODE_THRESHOLD,
            Self::Delay(_) => MODE_DELAY,
            Self::Dual { .. } => MODE_DUAL,
        }
    }

    /// The label.
    pub fn label(&self) -> &Label {
        match self {
            Self::Threshold(c) => c.label(),
            Self::Delay(d) => &d.label,
            Self::Dual { label, .. } => label,
        }
    }

    /// The canonical encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![ENVELOPE_VERSION, self.mode()];
        match self {
            Self::Threshold(c) => out.extend_from_slice(&c.to_bytes()),
            Self::Delay(d) => {
                d.label.write_to(&mut out);
                put_var(&mut out, &d.ciphertext);
            }
            Self::Dual { ciphertext, .. } => out.extend_from_slice(ciphertext),
        }
        out
    }

    /// The id of this envelope.
    pub fn id(&self) -> TxId {
        id_of(&self.to_bytes())
    }

    /// Decodes the envelope layer (see the module documentation).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        if bytes.len() > MAX_ENVELOPE {
            return Err(CodecError::TooLarge {
                what: "envelope",
                len: bytes.len(),
                max: MAX_ENVELOPE,
            }
            .into());
        }
        let env = Self::decode_unchecked(bytes)?;
        // Canonical: re-encoding gives the same bytes (so one transaction has one id).
        if env.to_bytes() != bytes {
            return Err(CodecError::Malformed {
                what: "non-canonical envelope",
            }
            .into());
        }
        Ok(env)
    }

    fn decode_unchecked(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let mut r = Reader::new(bytes, "envelope");
        r.version(ENVELOPE_VERSION)?;
        let mode = r.u8()?;
        match mode {
            MODE_THRESHOLD => {
                let c = Ciphertext::from_bytes(r.rest())
                    .map_err(|e| EnvelopeError::Threshold(e.to_string()))?;
                Ok(Self::Threshold(c))
            }
            MODE_DELAY => {
                let rest = r.rest();
                let (label, used) =
                    Label::decode_prefix(rest).map_err(|e| EnvelopeError::Delay(e.to_string()))?;
                let mut r = Reader::new(&rest[used..], "delay envelope");
                let ciphertext = r.var("delay ciphertext", MAX_ENVELOPE)?.to_vec();
                r.finish()?;
                if ciphertext.is_empty() {
                    return Err(CodecError::Malformed {
                        what: "delay ciphertext",
                    }
                    .into());
                }
                Ok(Self::Delay(DelayBody { label, ciphertext }))
            }
            MODE_DUAL => {
                let body = r.rest();
                // The threshold part sits after kind, version and the params id; decoding the
                // whole body needs the delay parameters, so the label is read from there.
                let label = dual_label(body)?;
                Ok(Self::Dual {
                    label,
                    ciphertext: body.to_vec(),
                })
            }
            m => Err(EnvelopeError::UnknownMode(m)),
        }
    }
}

/// Reads the label of a dual ciphertext's threshold part without the delay parameters:
/// `kind ‖ version ‖ params id (32) ‖ u32 length ‖ threshold ciphertext ‖ …`.
fn dual_label(body: &[u8]) -> Result<Label, EnvelopeError> {
    let mut r = Reader::new(body, "dual ciphertext");
    let kind = r.u8()?;
    if kind != veil_timelock::dual::DUAL_CIPHERTEXT_KIND {
        return Err(CodecError::Malformed { what: "dual kind" }.into());
    }
    let _version = r.u8()?;
    let _params_id: [u8; 32] = r.array()?;
    let wrap = r.var("threshold wrap", 4096)?;
    let c = Ciphertext::from_bytes(wrap).map_err(|e| EnvelopeError::Threshold(e.to_string()))?;
    Ok(c.label().clone())
}

/// The label of an envelope encoding **without** validating the rest (no point decoding):
/// for reading the clear metadata (chain id, fee) of an envelope that was validated when it
/// was stored. Never a substitute for [`validate`] on untrusted bytes.
pub fn peek_label(encoding: &[u8]) -> Result<Label, EnvelopeError> {
    let mut r = Reader::new(encoding, "envelope");
    r.version(ENVELOPE_VERSION)?;
    let mode = r.u8()?;
    let body = r.rest();
    let label_at = |bytes: &[u8]| {
        Label::decode_prefix(bytes)
            .map(|(l, _)| l)
            .map_err(|e| EnvelopeError::Threshold(e.to_string()))
    };
    match mode {
        // A threshold ciphertext is `version ‖ label ‖ …`.
        MODE_THRESHOLD => label_at(body.get(1..).unwrap_or(&[])),
        MODE_DELAY => label_at(body),
        MODE_DUAL => {
            let mut r = Reader::new(body, "dual ciphertext");
            let _kind = r.u8()?;
            let _version = r.u8()?;
            let _params_id: [u8; 32] = r.array()?;
            let wrap = r.var("threshold wrap", 4096)?;
            label_at(wrap.get(1..).unwrap_or(&[]))
        }
        m => Err(EnvelopeError::UnknownMode(m)),
    }
}

/// The id of an envelope given its encoding.
pub fn id_of(encoding: &[u8]) -> TxId {
    TxId(tagged_hash(tags::TX_ID, &[encoding]))
}

/// What the node accepts: the committee key, the delay parameters (if delay mode is on),
/// the chain ids it serves and the current slot.
#[derive(Clone, Copy, Debug)]
pub struct ValidationContext<'a> {
    /// The committee's threshold public key.
    pub committee_key: &'a PublicKey,
    /// Delay parameters; `None` refuses delay and dual envelopes.
    pub delay_params: Option<&'a DelayParams>,
    /// Chain ids served (labels with other chain ids are refused).
    pub chain_ids: &'a [u64],
    /// The current slot: labels whose range ended before it are refused.
    pub current_slot: u64,
}

/// The decoded, checked content of a validated envelope.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum ValidatedBody {
    /// A threshold ciphertext whose validity proof holds.
    Threshold(VerifiedCiphertext),
    /// A delay ciphertext whose proof of knowledge holds for its label.
    Delay {
        /// The label.
        label: Label,
        /// The ciphertext.
        ciphertext: DelayCiphertext,
    },
    /// A dual ciphertext whose both proofs hold.
    Dual {
        /// The ciphertext.
        ciphertext: DualCiphertext,
        /// Its threshold part, verified.
        threshold: VerifiedCiphertext,
    },
}

/// An envelope that passed [`validate_batch`]: the only kind that may be stored, voted on
/// or decrypted.
#[derive(Clone, Debug)]
pub struct ValidatedEnvelope {
    envelope: TxEnvelope,
    encoding: Vec<u8>,
    id: TxId,
    body: ValidatedBody,
}

impl ValidatedEnvelope {
    /// The envelope.
    pub fn envelope(&self) -> &TxEnvelope {
        &self.envelope
    }

    /// Its canonical encoding.
    pub fn encoding(&self) -> &[u8] {
        &self.encoding
    }

    /// Its id.
    pub fn id(&self) -> TxId {
        self.id
    }

    /// Its label.
    pub fn label(&self) -> &Label {
        self.envelope.label()
    }

    /// The checked content.
    pub fn body(&self) -> &ValidatedBody {
        &self.body
    }

    /// The part decryption shares are computed on (threshold and dual items).
    pub fn threshold_part(&self) -> Option<&VerifiedCiphertext> {
        match &self.body {
            ValidatedBody::Threshold(c) => Some(c),
            ValidatedBody::Dual { threshold, .. } => Some(threshold),
            ValidatedBody::Delay { .. } => None,
        }
    }
}

/// Validates one encoded envelope (see [`validate_batch`]).
pub fn validate(
    ctx: &ValidationContext<'_>,
    bytes: &[u8],
) -> Result<ValidatedEnvelope, EnvelopeError> {
    validate_batch(ctx, &[bytes])
        .pop()
        .unwrap_or(Err(EnvelopeError::Invalid))
}

#[allow(clippy::large_enum_variant)]
enum Stage {
    Threshold(Ciphertext),
    Delay(Label, DelayCiphertext),
    Dual(DualCiphertext),
}

fn check_label(ctx: &ValidationContext<'_>, label: &Label) -> Result<(), EnvelopeError> {
    if !ctx.chain_ids.contains(&label.chain_id) {
        return Err(EnvelopeError::WrongChain {
            chain_id: label.chain_id,
        });
    }
    if label.slots.last < ctx.current_slot {
        return Err(EnvelopeError::Expired {
            last: label.slots.last,
            current: ctx.current_slot,
        });
    }
    Ok(())
}

fn stage_one(
    ctx: &ValidationContext<'_>,
    bytes: &[u8],
) -> Result<(TxEnvelope, Stage), EnvelopeError> {
    let env = TxEnvelope::from_bytes(bytes)?;
    check_label(ctx, env.label())?;
    let stage = match &env {
        TxEnvelope::Threshold(c) => Stage::Threshold(c.clone()),
        TxEnvelope::Delay(d) => {
            let params = ctx.delay_params.ok_or(EnvelopeError::DelayDisabled)?;
            let ct = DelayCiphertext::from_bytes(params, &d.ciphertext)
                .map_err(|e| EnvelopeError::Delay(e.to_string()))?;
            ct.verify(params, &d.label)
                .map_err(|_| EnvelopeError::Invalid)?;
            Stage::Delay(d.label.clone(), ct)
        }
        TxEnvelope::Dual { ciphertext, label } => {
            let params = ctx.delay_params.ok_or(EnvelopeError::DelayDisabled)?;
            let ct = DualCiphertext::from_bytes(params, ciphertext)
                .map_err(|e| EnvelopeError::Delay(e.to_string()))?;
            // veil-timelock offers no puzzle-only check, so this also checks the threshold
            // part's proof once on its own; the batched check below then yields the
            // `VerifiedCiphertext` the share path needs.
            ct.verify(params, ctx.committee_key, label)
                .map_err(|_| EnvelopeError::Invalid)?;
            Stage::Dual(ct)
        }
    };
    Ok((env, stage))
}

/// Validates encoded envelopes: encoding, size, label policy, proofs of knowledge of puzzle
/// exponents, and the threshold validity proofs of all threshold and dual items in one
/// batched check (falling back to one-by-one only when the batch fails, so one bad item
/// does not reject the others). Results are in input order.
pub fn validate_batch(
    ctx: &ValidationContext<'_>,
    items: &[&[u8]],
) -> Vec<Result<ValidatedEnvelope, EnvelopeError>> {
    let staged: Vec<Result<(TxEnvelope, Stage), EnvelopeError>> =
        items.iter().map(|b| stage_one(ctx, b)).collect();
    // Threshold parts, in order, for one batched proof check.
    let mut parts = Vec::new();
    let mut owner = Vec::new();
    for (i, s) in staged.iter().enumerate() {
        match s {
            Ok((_, Stage::Threshold(c))) => {
                parts.push(c.clone());
                owner.push(i);
            }
            Ok((_, Stage::Dual(d))) => {
                parts.push(d.threshold_part().clone());
                owner.push(i);
            }
            _ => {}
        }
    }
    let mut verified: Vec<Option<Result<VerifiedCiphertext, EnvelopeError>>> =
        (0..items.len()).map(|_| None).collect();
    for (i, r) in owner
        .into_iter()
        .zip(verify_batch(ctx.committee_key, parts))
    {
        verified[i] = Some(r.map_err(|_| EnvelopeError::Invalid));
    }
    staged
        .into_iter()
        .zip(items)
        .zip(verified)
        .map(|((s, bytes), v)| {
            let (envelope, stage) = s?;
            let body = match stage {
                Stage::Threshold(_) => ValidatedBody::Threshold(v.ok_or(EnvelopeError::Invalid)??),
                Stage::Dual(ciphertext) => ValidatedBody::Dual {
                    ciphertext,
                    threshold: v.ok_or(EnvelopeError::Invalid)??,
                },
                Stage::Delay(label, ciphertext) => ValidatedBody::Delay { label, ciphertext },
            };
            let encoding = bytes.to_vec();
            Ok(ValidatedEnvelope {
                id: id_of(&encoding),
                envelope,
                encoding,
                body,
            })
        })
        .collect()
}
