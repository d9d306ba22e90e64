//! Atomic encrypted bundles: several threshold ciphertexts, possibly for different rollups,
//! that are ordered all in one certified batch, contiguously and in bundle order, or not at
//! all.
//!
//! # Construction
//!
//! A bundle of `n` members (`2 ≤ n ≤` [`MAX_BUNDLE`]) is bound through the labels. Member `j`
//! is a threshold ciphertext with `U_j = r_j·G` for its rollup `X_j`. The bundle digest is
//!
//! `D = H(BUNDLE_DIGEST ‖ n (u16) ‖ (X_j (u64) ‖ U_j (48, compressed))_{j<n})`
//!
//! and member `j`'s label carries `extra =` [`BundleTag`] `{D, j, n}` (48 bytes, see
//! [`BundleTag::to_extra`]). The wallet first draws every `r_j`, computes `D`, and only then
//! encrypts each member under its final label (`veil_client` does this).
//!
//! **Members' vote rule** ([`check_bundles`]): scanning a batch's envelopes in order, a
//! bundle member must start a run of exactly `n` envelopes with tags `{D, 0, n}, …,
//! {D, n−1, n}` whose `(X_j, U_j)` hash to `D`. Anything else — part of a bundle, members out
//! of order or separated, a wrong count, a duplicated index, a member whose `U` is not the
//! one `D` names — and an honest member refuses to vote, so no certificate exists (every
//! quorum holds an honest member).
//!
//! # Why this binds
//!
//! The label is bound into the ciphertext's validity proof (TDH2 with labels), and that
//! proof is a proof of knowledge of `r_j` with `U_j = r_j·G`. To pass off a ciphertext as
//! member `j` of `D`, an attacker needs a valid ciphertext with label `{D, j, n}` and the
//! `U_j` that `D` names — which needs `r_j`. Without it the only valid members of `D` are
//! the wallet's own ciphertexts. So a sequencer can include the whole bundle or nothing of
//! it; it cannot split one member off (to decrypt and act on it) nor substitute one.
//!
//! # Only threshold ciphertexts
//!
//! Delay and dual ciphertexts open by solving their puzzle whatever the committee does, so
//! a member of a bundle that was never ordered could still be opened after its delay:
//! atomicity of *inclusion* would not make decryption atomic. Bundles therefore hold
//! threshold-mode ciphertexts only; a bundle tag on a delay or dual label is refused at
//! admission and in the vote rule.
//!
//! # What is promised
//!
//! Atomic **inclusion**: all members in one certified batch, contiguous, in bundle order,
//! or none. Decryption failure is atomic too: if any member fails to decrypt, every member
//! of the bundle is marked invalid ([`apply_atomic_failure`], applied when a batch is
//! opened and when a published one is verified) and none is delivered or forwarded.
//! Atomic **execution** is not promised: each rollup executes its members independently,
//! and one may revert while another succeeds.

use std::ops::Range;

use sha2::{Digest, Sha256};
use thiserror::Error;
use veil_domain::protocol as tags;
use veil_threshold::{Ciphertext, Label};

use crate::envelope::{ValidatedBody, ValidatedEnvelope};
use crate::plaintext::Outcome;

/// The prefix of a label `extra` that marks a bundle member.
pub const BUNDLE_MAGIC: &[u8; 11] = b"VEIL-BUNDLE";
/// Version byte of the bundle tag.
pub const BUNDLE_TAG_VERSION: u8 = 1;
/// Length of an encoded bundle tag.
pub const BUNDLE_TAG_LEN: usize = 11 + 1 + 32 + 2 + 2;
/// Most members in one bundle.
pub const MAX_BUNDLE: usize = 16;
/// Length of a compressed G1 element (the ciphertext's `U`).
pub const U_LEN: usize = 48;

/// Why a bundle tag, a bundle or a batch's bundles were refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BundleError {
    /// A label `extra` starts with the bundle prefix but is not a valid tag.
    #[error("malformed bundle tag")]
    MalformedTag,
    /// The member count is outside `2..=MAX_BUNDLE`.
    #[error("bundle of {count} members, allowed 2..={MAX_BUNDLE}")]
    Count {
        /// Count in the tag.
        count: u16,
    },
    /// The member index is not below the count.
    #[error("bundle index {index} out of range for {count} members")]
    Index {
        /// Index in the tag.
        index: u16,
        /// Count in the tag.
        count: u16,
    },
    /// A bundle member is not a threshold-mode ciphertext.
    #[error("item {position}: bundles hold threshold ciphertexts only")]
    NotThreshold {
        /// Position in the list.
        position: usize,
    },
    /// A bundle is incomplete, out of order, not contiguous, or its members disagree.
    #[error("item {position}: bundle member {expected} of {count} expected")]
    Broken {
        /// Where the run breaks.
        position: usize,
        /// The member index expected there.
        expected: u16,
        /// The bundle's count.
        count: u16,
    },
    /// The members' chain ids and `U`s do not hash to the bundle digest.
    #[error("item {position}: bundle digest does not match its members")]
    Digest {
        /// Position of the bundle's first member.
        position: usize,
    },
    /// A request that should hold one bundle holds something else.
    #[error("request is not exactly one bundle")]
    NotOneBundle,
}

/// A bundle member's tag, carried in its label's `extra`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BundleTag {
    /// The bundle digest `D`.
    pub digest: [u8; 32],
    /// This member's index.
    pub index: u16,
    /// Number of members.
    pub count: u16,
}

impl BundleTag {
    /// A checked tag.
    pub fn new(digest: [u8; 32], index: u16, count: u16) -> Result<Self, BundleError> {
        if !(2..=MAX_BUNDLE as u16).contains(&count) {
            return Err(BundleError::Count { count });
        }
        if index >= count {
            return Err(BundleError::Index { index, count });
        }
        Ok(Self {
            digest,
            index,
            count,
        })
    }

    /// `"VEIL-BUNDLE" ‖ 0x01 ‖ D ‖ index (u16 BE) ‖ count (u16 BE)`.
    pub fn to_extra(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BUNDLE_TAG_LEN);
        out.extend_from_slice(BUNDLE_MAGIC);
        out.push(BUNDLE_TAG_VERSION);
        out.extend_from_slice(&self.digest);
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.count.to_be_bytes());
        out
    }

    /// The tag in a label's `extra`: `Ok(None)` if `extra` does not start with the bundle
    /// prefix, an error if it does but is not exactly a valid tag.
    pub fn from_extra(extra: &[u8]) -> Result<Option<Self>, BundleError> {
        if !extra.starts_with(BUNDLE_MAGIC) {
            return Ok(None);
        }
        if extra.len() != BUNDLE_TAG_LEN || extra[11] != BUNDLE_TAG_VERSION {
            return Err(BundleError::MalformedTag);
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&extra[12..44]);
        let index = u16::from_be_bytes([extra[44], extra[45]]);
        let count = u16::from_be_bytes([extra[46], extra[47]]);
        Self::new(digest, index, count).map(Some)
    }

    /// The tag of a label.
    pub fn of_label(label: &Label) -> Result<Option<Self>, BundleError> {
        Self::from_extra(label.extra())
    }
}

/// `D = H(BUNDLE_DIGEST ‖ n ‖ (chain id ‖ U)…)` over the members in bundle order.
pub fn bundle_digest(members: &[(u64, [u8; U_LEN])]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((tags::BUNDLE_DIGEST.len() as u64).to_be_bytes());
    h.update(tags::BUNDLE_DIGEST);
    h.update((members.len() as u16).to_be_bytes());
    for (chain, u) in members {
        h.update(chain.to_be_bytes());
        h.update(u);
    }
    h.finalize().into()
}

/// The compressed `U` of a threshold ciphertext (taken from its canonical encoding, where
/// it follows the version byte and the label).
pub fn u_bytes(c: &Ciphertext) -> [u8; U_LEN] {
    let enc = c.to_bytes();
    let at = 1 + c.label().encoded_len();
    let mut u = [0u8; U_LEN];
    u.copy_from_slice(&enc[at..at + U_LEN]);
    u
}

/// The bundle tag of a validated envelope (`None` if it is no bundle member); a tag on a
/// delay or dual envelope is refused.
pub fn envelope_tag(
    env: &ValidatedEnvelope,
    position: usize,
) -> Result<Option<BundleTag>, BundleError> {
    let tag = BundleTag::of_label(env.label())?;
    if tag.is_some() && !matches!(env.body(), ValidatedBody::Threshold(_)) {
        return Err(BundleError::NotThreshold { position });
    }
    Ok(tag)
}

/// The vote rule for bundles (see the module documentation): every bundle member in
/// `envelopes` (a batch, in order) belongs to a complete, contiguous, in-order bundle whose
/// digest matches. Returns the bundles' position ranges.
pub fn check_bundles(envelopes: &[ValidatedEnvelope]) -> Result<Vec<Range<usize>>, BundleError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < envelopes.len() {
        let Some(first) = envelope_tag(&envelopes[i], i)? else {
            i += 1;
            continue;
        };
        let n = first.count as usize;
        let mut members = Vec::with_capacity(n);
        for k in 0..n {
            let position = i + k;
            let broken = BundleError::Broken {
                position,
                expected: k as u16,
                count: first.count,
            };
            let env = envelopes.get(position).ok_or(broken.clone())?;
            let tag = envelope_tag(env, position)?;
            let expected = BundleTag {
                index: k as u16,
                ..first
            };
            if tag != Some(expected) {
                return Err(broken);
            }
            let ValidatedBody::Threshold(c) = env.body() else {
                return Err(BundleError::NotThreshold { position });
            };
            members.push((env.label().chain_id, u_bytes(c.ciphertext())));
        }
        if bundle_digest(&members) != first.digest {
            return Err(BundleError::Digest { position: i });
        }
        out.push(i..i + n);
        i += n;
    }
    Ok(out)
}

/// Checks that `envelopes` are exactly one complete bundle in order (the bundle submission
/// route's rule).
pub fn check_one_bundle(envelopes: &[ValidatedEnvelope]) -> Result<(), BundleError> {
    let ranges = check_bundles(envelopes)?;
    if ranges.len() != 1 || ranges[0] != (0..envelopes.len()) {
        return Err(BundleError::NotOneBundle);
    }
    Ok(())
}

/// Atomic decryption failure: within each bundle range of `envelopes`, if any outcome is
/// invalid, every member becomes invalid. Ranges come from [`check_bundles`]; for a batch
/// whose bundles do not check (possible only in a batch certified without the rule) nothing
/// changes.
pub fn apply_atomic_failure(envelopes: &[ValidatedEnvelope], outcomes: &mut [Outcome]) {
    let Ok(ranges) = check_bundles(envelopes) else {
        return;
    };
    for r in ranges {
        if r.end <= outcomes.len() && outcomes[r.clone()].contains(&Outcome::Invalid) {
            for o in &mut outcomes[r] {
                *o = Outcome::Invalid;
            }
        }
    }
}

/// Why a bundle could not be sealed.
#[derive(Debug, Error)]
pub enum SealError {
    /// The member count is outside `2..=MAX_BUNDLE`.
    #[error("bundle of {0} members, allowed 2..={MAX_BUNDLE}")]
    Count(usize),
    /// A member's label already uses `extra` (the bundle tag takes it).
    #[error("member {0}: label extra already in use")]
    ExtraInUse(usize),
    /// Encryption failed (plaintext too large, label invalid).
    #[error("member {index}: {reason}")]
    Encrypt {
        /// The member.
        index: usize,
        /// Why.
        reason: String,
    },
}

/// Encrypts a bundle: `members` are `(label without extra, plaintext)` in bundle order;
/// returns the threshold ciphertexts, each labelled with its [`BundleTag`].
///
/// The digest needs every `U_j = r_j·G` before any label is final, and the threshold
/// crate draws `r` as the first value of the RNG it is given. So each member gets a fresh
/// 32-byte seed from `rng`; a trial encryption of the empty plaintext under a
/// [`rand_chacha::ChaCha20Rng`] from that seed yields `U_j`, and the final encryption under
/// a fresh RNG from the same seed reuses `r_j`. The result is checked (`U` equal), so a
/// change in the threshold crate's draw order fails loudly instead of producing a bundle
/// that members refuse. The trial ciphertext shares `r_j` and the proof nonce with the final
/// one; it never leaves this function, and the seeds are zeroized.
pub fn seal<R: rand_core::RngCore + rand_core::CryptoRng>(
    key: &veil_threshold::EncryptionKey,
    rng: &mut R,
    members: &[(Label, Vec<u8>)],
) -> Result<Vec<Ciphertext>, SealError> {
    use rand_core::SeedableRng;
    let n = members.len();
    if !(2..=MAX_BUNDLE).contains(&n) {
        return Err(SealError::Count(n));
    }
    if let Some(i) = members.iter().position(|(l, _)| !l.extra().is_empty()) {
        return Err(SealError::ExtraInUse(i));
    }
    let enc_err = |index: usize, e: &dyn std::fmt::Display| SealError::Encrypt {
        index,
        reason: e.to_string(),
    };
    let mut seeds = zeroize::Zeroizing::new(vec![[0u8; 32]; n]);
    let mut us = Vec::with_capacity(n);
    let mut result = Ok(());
    for (i, ((label, _), seed)) in members.iter().zip(seeds.iter_mut()).enumerate() {
        rng.fill_bytes(seed);
        let mut trial_rng = rand_chacha::ChaCha20Rng::from_seed(*seed);
        match key.encrypt(&mut trial_rng, label, &[]) {
            Ok(trial) => us.push((label.chain_id, u_bytes(&trial))),
            Err(e) => {
                result = Err(enc_err(i, &e));
                break;
            }
        }
    }
    let digest = bundle_digest(&us);
    let mut out = Vec::with_capacity(n);
    if result.is_ok() {
        for (i, ((label, plaintext), seed)) in members.iter().zip(seeds.iter()).enumerate() {
            // `n ≤ MAX_BUNDLE` fits u16; the tag is valid by construction.
            let tag = BundleTag::new(digest, i as u16, n as u16).map_err(|e| enc_err(i, &e))?;
            let tagged = Label::new(
                label.chain_id,
                label.sender,
                label.slots,
                label.max_fee,
                tag.to_extra(),
            )
            .map_err(|e| enc_err(i, &e))?;
            let mut final_rng = rand_chacha::ChaCha20Rng::from_seed(*seed);
            let c = key
                .encrypt(&mut final_rng, &tagged, plaintext)
                .map_err(|e| enc_err(i, &e))?;
            if u_bytes(&c) != us[i].1 {
                result = Err(enc_err(i, &"encryption did not reuse the drawn randomness"));
                break;
            }
            out.push(c);
        }
    }
    result.map(|()| out)
}
