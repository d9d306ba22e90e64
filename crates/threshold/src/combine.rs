//! Combining decryption shares: Lagrange interpolation in the exponent, optimistic
//! verification, and robust fallback.
//!
//! # Construction
//!
//! For a responder set `S` of `t` members, the Lagrange coefficients `λᵢ` at zero are computed
//! once (one batch inversion, [`crate::keys::lagrange_at_zero`]); then for every ciphertext
//! `Yⱼ = Σ_{i∈S} λᵢ·Dᵢⱼ = r·PK` is one multi-scalar multiplication of size `t`, and the data key
//! follows from `Yⱼ`. When every `λᵢ` is a small integer (most responder sets of a small
//! committee, see [`crate::keys::small_lagrange_at_zero`]), `Yⱼ` is computed by
//! double-and-add over those few bits instead (for `{1, 2, 3}`: `3·D₁ − 3·D₂ + D₃`), which is
//! the same point at a fraction of the cost of full-size scalars.
//!
//! **Optimistic verification.** Share proofs are not checked up front. The key commitment of
//! each ciphertext tells whether `Yⱼ` is right: if `SHA-256(KEY_COMMITMENT ‖ KDF(Yⱼ, …))`
//! matches, the key is the encryptor's (collision resistance), whatever the shares were. Only
//! when some commitment fails are the batched proofs of the responders verified; members
//! whose proofs fail are excluded and reported, and the failing ciphertexts are retried with
//! another `t`-subset. If every responder's proof holds, the shares are right, so a
//! commitment mismatch (or an AEAD failure under the committed key) proves that the
//! *ciphertext* is invalid: it keeps its position and is marked [`Decrypted::Invalid`].
//! With at most `n − t` faulty members and at least `t` honest responses, decryption always
//! completes.
//!
//! Fewer than `t` usable share batches never decrypt: [`combine`] refuses with
//! [`CombineError::NotEnoughShares`] (and `t − 1` shares are information-theoretically
//! independent of the committee secret, so no other procedure could do better).

use std::collections::{BTreeMap, BTreeSet};

use ark_bls12_381::{G1Affine, G1Projective};
use ark_ec::{AdditiveGroup, CurveGroup, VariableBaseMSM};
use ark_ff::Zero;
use thiserror::Error;

use crate::ciphertext::VerifiedCiphertext;
use crate::keys::{ThresholdKey, lagrange_at_zero, small_lagrange_at_zero};
use crate::share::ShareBatch;

/// Why combining failed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CombineError {
    /// Fewer than `t` members supplied usable, correct shares.
    #[error("not enough shares: {have} of {need}")]
    NotEnoughShares {
        /// Usable share batches.
        have: usize,
        /// The threshold.
        need: usize,
    },
    /// No ciphertexts were given.
    #[error("empty batch")]
    EmptyBatch,
}

/// The outcome for one ciphertext of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decrypted {
    /// The plaintext.
    Plaintext(Vec<u8>),
    /// The ciphertext is invalid (its key commitment or AEAD tag does not match the key the
    /// committee's verified shares yield). It keeps its position in the batch.
    Invalid,
}

/// The result of combining a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Combined {
    /// One outcome per ciphertext, in batch order.
    pub outcomes: Vec<Decrypted>,
    /// Members whose shares were found wrong (proof failed, wrong count, unknown index, or a
    /// second conflicting batch), ascending.
    pub faulty: Vec<u32>,
}

/// `k·P` for a small public integer `k` (a Lagrange coefficient), by double-and-add over
/// the bits of `|k|`: variable time in `k`, which is public.
fn mul_small(p: &G1Affine, k: i64) -> G1Projective {
    let m = k.unsigned_abs();
    let mut acc = G1Projective::zero();
    for bit in (0..64 - m.leading_zeros()).rev() {
        acc.double_in_place();
        if (m >> bit) & 1 == 1 {
            acc += p;
        }
    }
    if k < 0 { -acc } else { acc }
}

/// Combines share batches from members into the plaintexts of `ciphertexts` (see the module
/// documentation). `batches` may contain more than `t` members and bad ones; the first `t`
/// well-formed batches are tried first.
pub fn combine(
    key: &ThresholdKey,
    ciphertexts: &[VerifiedCiphertext],
    batches: &[ShareBatch],
) -> Result<Combined, CombineError> {
    if ciphertexts.is_empty() {
        return Err(CombineError::EmptyBatch);
    }
    let t = key.threshold() as usize;
    let mut faulty = BTreeSet::new();
    // Well-formed batches by member, first one wins; a conflicting second batch marks the
    // member faulty (it has signed two different share sets).
    let mut usable: BTreeMap<u32, &ShareBatch> = BTreeMap::new();
    let mut order = Vec::new();
    for b in batches {
        if b.check_shape(key, ciphertexts).is_err() {
            faulty.insert(b.index());
            continue;
        }
        match usable.get(&b.index()) {
            None => {
                usable.insert(b.index(), b);
                order.push(b.index());
            }
            Some(prev) if *prev != b => {
                faulty.insert(b.index());
            }
            Some(_) => {}
        }
    }
    let mut candidates: Vec<u32> = order.into_iter().filter(|i| !faulty.contains(i)).collect();
    let mut verified: BTreeSet<u32> = BTreeSet::new();
    let mut outcomes: Vec<Option<Decrypted>> = vec![None; ciphertexts.len()];
    let mut pending: Vec<usize> = (0..ciphertexts.len()).collect();

    loop {
        if candidates.len() < t {
            return Err(CombineError::NotEnoughShares {
                have: candidates.len(),
                need: t,
            });
        }
        // Prefer members already proven honest, then the rest in arrival order.
        let mut chosen: Vec<u32> = candidates
            .iter()
            .copied()
            .filter(|i| verified.contains(i))
            .chain(candidates.iter().copied().filter(|i| !verified.contains(i)))
            .take(t)
            .collect();
        chosen.sort_unstable();
        // Indices are distinct and in range (checked above), so this cannot fail.
        let lambda = lagrange_at_zero(&chosen).map_err(|_| CombineError::NotEnoughShares {
            have: candidates.len(),
            need: t,
        })?;
        let chosen_batches: Vec<&ShareBatch> = chosen.iter().map(|i| usable[i]).collect();
        let small = small_lagrange_at_zero(&chosen);

        let ys: Vec<G1Projective> = pending
            .iter()
            .map(|&j| {
                let bases: Vec<G1Affine> = chosen_batches.iter().map(|b| b.shares()[j]).collect();
                match &small {
                    Some(ks) => bases.iter().zip(ks).map(|(d, &k)| mul_small(d, k)).sum(),
                    None => G1Projective::msm_unchecked(&bases, &lambda),
                }
            })
            .collect();
        let ys = G1Projective::normalize_batch(&ys);
        let mut failed = Vec::new();
        for (&j, y) in pending.iter().zip(&ys) {
            if ciphertexts[j].commitment_matches(y) {
                outcomes[j] = Some(match ciphertexts[j].open(y) {
                    Some(m) => Decrypted::Plaintext(m),
                    None => Decrypted::Invalid,
                });
            } else {
                failed.push(j);
            }
        }
        if failed.is_empty() {
            break;
        }
        // Some commitment failed: check the proofs of this responder set.
        let mut bad = Vec::new();
        for (i, b) in chosen.iter().zip(&chosen_batches) {
            if verified.contains(i) {
                continue;
            }
            if b.verify(key, ciphertexts).is_ok() {
                verified.insert(*i);
            } else {
                bad.push(*i);
            }
        }
        if bad.is_empty() {
            // Correct shares, wrong commitment: the ciphertexts themselves are invalid.
            for j in failed {
                outcomes[j] = Some(Decrypted::Invalid);
            }
            break;
        }
        for i in &bad {
            faulty.insert(*i);
        }
        candidates.retain(|i| !bad.contains(i));
        pending = failed;
    }
    Ok(Combined {
        // Every index was either decided in a round or carried into the next one until the
        // loop ended with no failures or with all failures decided.
        outcomes: outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Decrypted::Invalid))
            .collect(),
        faulty: faulty.into_iter().collect(),
    })
}
