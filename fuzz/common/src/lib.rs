//! Shared fixtures for Veil's fuzz targets: one small committee with every kind of key, valid
//! messages of every type, and delay parameters, all derived from a fixed seed.
//!
//! A fuzz target decodes arbitrary bytes; where a decoded value can be checked against
//! something (a ciphertext's validity proof against the committee key, a certificate against
//! the committee's BLS keys, a delay ciphertext against the parameters) the target checks it
//! against this fixture, so the verification path that follows a successful decode is fuzzed
//! too. The same fixture produces the seed corpora (`veil-fuzz-seeds`), so seeds are valid
//! inputs for the targets' checks, which lets the fuzzer start from deep inside each decoder.
//!
//! Everything here is deterministic (ChaCha20 from a fixed seed): fuzzing is a test, and a
//! crash must reproduce from its input alone.
#![deny(missing_docs)]

use std::ops::ControlFlow;
use std::sync::OnceLock;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_protocol::{
    Batch, CertificateBuilder, Commitment, OrderCertificate, Progress, Proposal, SequencerId,
    TxEnvelope, ValidatedEnvelope, ValidationContext, Vote, VoteIntent, validate,
};
use veil_squaring::Backend;
use veil_threshold::{
    BlsPublicKey, EncryptionKey, KeyShare, Label, SigningKey, SlotRange, ThresholdKey,
    VerifiedCiphertext, hazmat,
};
use veil_timelock::{DelayParams, RsaGroup};

/// Committee size.
pub const N: u32 = 4;
/// Decryption threshold and certificate quorum.
pub const T: u32 = 3;
/// Service domain (chain id of batches).
pub const DOMAIN: u64 = 7;
/// Rollup chain id in labels.
pub const CHAIN: u64 = 10;
/// Squarings of the fixture's delay parameters: tiny, so building them costs milliseconds.
pub const DELAY_SQUARINGS: u64 = 64;

/// The fixed committee every target checks decoded values against.
pub struct Fixture {
    /// The threshold key (t = 3 of n = 4).
    pub key: ThresholdKey,
    /// Every member's key share (member `i` at position `i − 1`).
    pub shares: Vec<KeyShare>,
    /// Members' BLS signing keys.
    pub bls: Vec<SigningKey>,
    /// Members' BLS public keys, in member order.
    pub committee: Vec<BlsPublicKey>,
    /// The sequencer's signing key.
    pub sequencer: SigningKey,
    /// The sequencer keys a member accepts.
    pub sequencer_keys: Vec<BlsPublicKey>,
    /// Encryption key for the committee.
    pub ek: EncryptionKey,
    /// Delay parameters over RSA-2048 with [`DELAY_SQUARINGS`] squarings.
    pub params: DelayParams,
    /// A label within the validation context's chain and slot range.
    pub label: Label,
    /// Chain ids the validation context serves.
    pub chain_ids: Vec<u64>,
}

impl Fixture {
    fn build() -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(0x7665_696c);
        // Fixed parameters that are in range: dealing cannot fail.
        let (key, shares) = hazmat::deal(&mut rng, T, N).expect("t ≤ n ≤ max");
        let bls: Vec<SigningKey> = (0..N).map(|_| SigningKey::generate(&mut rng)).collect();
        let committee = bls.iter().map(SigningKey::public_key).collect();
        let sequencer = SigningKey::generate(&mut rng);
        let sequencer_keys = vec![sequencer.public_key()];
        let ek = EncryptionKey::new(key.public_key());
        let params = delay_params();
        let label = Label::new(
            CHAIN,
            [0x5a; 32],
            SlotRange::new(0, 1000).expect("0 ≤ 1000"),
            21_000,
            b"fuzz".to_vec(),
        )
        .expect("extra within 256 bytes");
        Self {
            key,
            shares,
            bls,
            committee,
            sequencer,
            sequencer_keys,
            ek,
            params,
            label,
            chain_ids: vec![CHAIN],
        }
    }

    /// The validation context of a member at slot 0 with delay mode enabled.
    pub fn ctx(&self) -> ValidationContext<'_> {
        ValidationContext {
            committee_key: self.key.public_key(),
            delay_params: Some(&self.params),
            chain_ids: &self.chain_ids,
            current_slot: 0,
        }
    }
}

/// The committed seed of the `timelock_params` target: the fixture's delay parameters.
const PARAMS_SEED: &[u8] = include_bytes!("../../seeds/timelock_params/params");

/// The fixture's delay parameters: decoded from the committed seed when it still decodes
/// (decoding checks the Wesolowski proof; it is much cheaper than generating, which runs the
/// insecure SNARK setup), generated otherwise (after a format change, until the seeds are
/// regenerated).
fn delay_params() -> DelayParams {
    if let Ok(p) = DelayParams::from_bytes(PARAMS_SEED)
        && p.squarings() == DELAY_SQUARINGS
        && p.seed() == PARAMS_SEED_TEXT
        && p.group().modulus_bytes() == RsaGroup::rsa2048().modulus_bytes()
    {
        return p;
    }
    DelayParams::generate(
        RsaGroup::rsa2048(),
        PARAMS_SEED_TEXT,
        DELAY_SQUARINGS,
        Backend::Portable,
        &mut |_| ControlFlow::Continue(()),
    )
    .expect("fixed, valid parameter shape")
}

/// The seed the fixture's delay generator is derived from.
const PARAMS_SEED_TEXT: &[u8] = b"veil fuzz fixture";

/// The fixture (built once per process).
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(Fixture::build)
}

/// A deterministic RNG for building seeds (`seed` tells streams apart).
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// `n` threshold envelopes, validated against the fixture (for shares and batches).
pub fn threshold_envelopes(n: usize) -> Vec<ValidatedEnvelope> {
    let f = fixture();
    let mut r = rng(1);
    (0..n)
        .map(|i| {
            let msg = format!("fuzz tx {i}");
            let ct =
                f.ek.encrypt(&mut r, &f.label, msg.as_bytes())
                    .expect("short plaintext");
            validate(&f.ctx(), &TxEnvelope::Threshold(ct).to_bytes())
                .expect("fresh envelope under the fixture key validates")
        })
        .collect()
}

/// The verified threshold parts of [`threshold_envelopes`].
pub fn verified_ciphertexts(n: usize) -> Vec<VerifiedCiphertext> {
    threshold_envelopes(n)
        .iter()
        .filter_map(|e| e.threshold_part().cloned())
        .collect()
}

/// A batch at `slot` over `envelopes` with the genesis parent.
pub fn batch(slot: u64, envelopes: &[ValidatedEnvelope]) -> Batch {
    Batch {
        chain_id: DOMAIN,
        slot,
        parent: Commitment::genesis(),
        ids: envelopes.iter().map(ValidatedEnvelope::id).collect(),
        chains: vec![],
    }
}

/// The sequencer's proposal of `batch`.
pub fn propose(batch: Batch) -> Proposal {
    Proposal::sign(&fixture().sequencer, SequencerId(0), batch).expect("well-formed batch")
}

/// Member `member`'s vote for `batch`.
pub fn vote(member: u32, batch: &Batch) -> Vote {
    Vote::sign(&fixture().bls[member as usize - 1], member, &intent(batch))
}

/// The vote intent for `batch`.
pub fn intent(batch: &Batch) -> VoteIntent {
    VoteIntent {
        slot: batch.slot,
        parent: batch.parent,
        commitment: batch.commitment(),
    }
}

/// A certificate for `batch` signed by members 1..=T.
pub fn certify(batch: &Batch) -> OrderCertificate {
    let f = fixture();
    let mut b = CertificateBuilder::new(intent(batch), f.committee.clone(), T as usize);
    for m in 1..=T {
        if let Ok(Progress::Certified(c)) = b.add(&vote(m, batch)) {
            return c;
        }
    }
    panic!("a quorum of fixture votes certifies")
}

/// Splits fuzz input into items by a one-byte selector: the first byte picks the decoder
/// (modulo `choices`), the rest is its input.
pub fn select(data: &[u8], choices: u8) -> Option<(u8, &[u8])> {
    let (&first, rest) = data.split_first()?;
    Some((first % choices, rest))
}

/// Splits `u32 BE length ‖ bytes` frames; `None` on a truncated frame. This is the framing
/// of the node's bulk submission body (`POST /v1/submit/bulk`).
pub fn frames(mut data: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.len() < 4 {
            return None;
        }
        let len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let rest = &data[4..];
        if rest.len() < len {
            return None;
        }
        out.push(&rest[..len]);
        data = &rest[len..];
    }
    Some(out)
}

/// A whole honest key ceremony among [`N`] members with threshold [`T`]: its parameters, the
/// members' identities and the transcript (dealings, no complaints).
pub struct Ceremony {
    /// The members' long-term identities.
    pub secrets: Vec<veil_keygen::MemberSecret>,
    /// The ceremony parameters.
    pub params: veil_keygen::CeremonyParams,
    /// The ceremony identifier.
    pub id: [u8; 32],
    /// The transcript.
    pub transcript: veil_keygen::Transcript,
    /// The committee it produces.
    pub committee: veil_keygen::Committee,
}

/// The ceremony fixture (built once per process; about a second).
pub fn ceremony() -> &'static Ceremony {
    use veil_keygen::{CeremonyParams, MemberSecret, Transcript, dkg};
    static C: OnceLock<Ceremony> = OnceLock::new();
    C.get_or_init(|| {
        let mut r = rng(0x6b65_7967);
        let secrets: Vec<MemberSecret> = (1..=N)
            .map(|i| MemberSecret::generate(&format!("member-{i}"), &mut r).expect("short name"))
            .collect();
        let roster = secrets.iter().map(|s| s.public(&mut r)).collect();
        let params = CeremonyParams::fresh(1, T, T, roster).expect("t ≤ n");
        let dealings = (1..=N)
            .map(|i| {
                dkg::deal(&params, i, &secrets[i as usize - 1], None, &mut r)
                    .expect("roster member deals")
            })
            .collect();
        let transcript = Transcript {
            params: params.clone(),
            dealings,
            complaints: Vec::new(),
        };
        let outcome = dkg::verify_transcript(&transcript).expect("honest transcript");
        Ceremony {
            id: params.id(),
            secrets,
            params,
            transcript,
            committee: outcome.committee,
        }
    })
}
