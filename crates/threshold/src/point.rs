//! Validated decoding of compressed G1 points, memoized per process.
//!
//! # Why
//!
//! Decoding a compressed BLS12-381 G1 point with full validation costs a square root in
//! `F_p` (the decompression, about a third of the time) and a subgroup check (two thirds):
//! the endomorphism test `φ(P) = −[x²]P` of Scott (eprint 2021/1130, §6; also used by
//! EIP-2537), which is a 128-bit chain of doublings. About 80–100 µs per point on the
//! project's machine; and the subgroup check cannot be batched soundly with a random linear
//! combination, because the G1 cofactor `h = (x − 1)²/3` has small prime factors (3, 11,
//! 10177, …): a non-subgroup component of order 3 survives a random combination with
//! probability 1/3.
//!
//! In a committee member the same points are decoded again and again: a member's
//! decryption shares arrive in a signed message (decoded and validated), are stored, are
//! read back when the batch is opened, and again inside the plaintext batch served to every
//! consumer of the stream. Validation is a pure function of the 48 encoded bytes, so its
//! result can be remembered: [`decode_g1`] first looks the encoding up in a bounded table of
//! encodings this process has already validated, and only on a miss runs the full check
//! ([`veil_circuits::dleq::g1_from_bytes`]: on the curve, in the prime-order subgroup, not
//! the identity, canonical). Points this process computed itself from validated points
//! (its own decryption shares) are entered with [`remember_g1`], since they are subgroup
//! elements by construction.
//!
//! # What this does and does not change
//!
//! - Every decode still validates: a point is returned only if it passed the full check in
//!   this process (or was computed here as a multiple of validated points). Invalid
//!   encodings are never entered, so they are refused every time, at full cost.
//! - The table holds public points only (ciphertext components, shares, proof
//!   commitments). A hit is faster than a miss, which reveals to a timing observer only
//!   that a public point was seen before.
//! - The table is bounded: two generations of at most [`CACHE_GENERATION`] entries each
//!   (about 140 bytes per entry); when the current generation fills up, the older one is
//!   dropped. So memory stays below about 20 MiB whatever the input.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

use ark_bls12_381::G1Affine;
use ark_ec::AffineRepr;
use veil_circuits::dleq::{G1_LEN, g1_from_bytes, g1_to_bytes};

/// Entries per generation of the table of validated encodings.
pub const CACHE_GENERATION: usize = 1 << 16;

type Table = HashMap<[u8; G1_LEN], G1Affine>;

#[derive(Default)]
struct Generations {
    current: Table,
    previous: Table,
    hits: u64,
    misses: u64,
}

impl Generations {
    fn get(&mut self, key: &[u8; G1_LEN]) -> Option<G1Affine> {
        if let Some(p) = self.current.get(key) {
            self.hits += 1;
            return Some(*p);
        }
        if let Some(p) = self.previous.remove(key) {
            // Promote, so points in use survive the next rotation.
            self.hits += 1;
            self.insert(*key, p);
            return Some(p);
        }
        self.misses += 1;
        None
    }

    fn insert(&mut self, key: [u8; G1_LEN], p: G1Affine) {
        if self.current.len() >= CACHE_GENERATION {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, p);
    }
}

fn table() -> MutexGuard<'static, Generations> {
    static TABLE: OnceLock<Mutex<Generations>> = OnceLock::new();
    // A poisoned lock means a panic while holding it; both maps only ever hold validated
    // points (inserts are single calls), so the content is still sound.
    TABLE
        .get_or_init(|| Mutex::new(Generations::default()))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Decodes a compressed G1 point, validating that it is on the curve, in the prime-order
/// subgroup, not the identity, and canonically encoded (`None` otherwise); remembers
/// validated encodings so that decoding the same bytes again is a table lookup.
pub fn decode_g1(bytes: &[u8]) -> Option<G1Affine> {
    let key: [u8; G1_LEN] = bytes.try_into().ok()?;
    if let Some(p) = table().get(&key) {
        return Some(p);
    }
    // Full validation outside the lock, so concurrent decoders do not wait on each other.
    let p = g1_from_bytes(&key)?;
    table().insert(key, p);
    Some(p)
}

/// Enters points computed in this process from validated points (so in the subgroup by
/// construction), for example a member's own decryption shares; the identity is skipped
/// because [`decode_g1`] refuses it.
pub fn remember_g1(points: &[G1Affine]) {
    let entries: Vec<([u8; G1_LEN], G1Affine)> = points
        .iter()
        .filter(|p| !p.is_zero())
        .map(|p| (g1_to_bytes(p), *p))
        .collect();
    let mut t = table();
    for (k, p) in entries {
        t.insert(k, p);
    }
}

/// Table statistics since start: `(hits, misses, entries)`.
pub fn cache_stats() -> (u64, u64, usize) {
    let t = table();
    (t.hits, t.misses, t.current.len() + t.previous.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bls12_381::{Fq, G1Projective};
    use ark_ec::CurveGroup;
    use ark_ff::{One, UniformRand};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn random_points(seed: u64, n: usize) -> Vec<G1Affine> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| G1Projective::rand(&mut rng).into_affine())
            .collect()
    }

    /// On-curve points outside the prime-order subgroup (no cofactor clearing).
    fn off_subgroup_points(n: usize) -> Vec<G1Affine> {
        let mut out = Vec::new();
        let mut x = Fq::from(5u64);
        while out.len() < n {
            x += Fq::one();
            if let Some(p) = G1Affine::get_point_from_x_unchecked(x, true)
                && !p.is_in_correct_subgroup_assuming_on_curve()
            {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn decodes_exactly_what_full_validation_accepts_first_time_and_again() {
        for p in random_points(1, 16) {
            let b = g1_to_bytes(&p);
            assert_eq!(decode_g1(&b), Some(p));
            assert_eq!(decode_g1(&b), Some(p));
            assert_eq!(decode_g1(&b), g1_from_bytes(&b));
        }
    }

    #[test]
    fn invalid_encodings_are_refused_every_time_and_never_remembered() {
        let mut bad: Vec<Vec<u8>> = off_subgroup_points(4)
            .iter()
            .map(|p| g1_to_bytes(p).to_vec())
            .collect();
        // The identity, a wrong length, a cleared compression flag, x ≥ p, x not on the curve.
        bad.push(g1_to_bytes(&G1Affine::zero()).to_vec());
        let good = g1_to_bytes(&random_points(2, 1)[0]);
        bad.push(good[..47].to_vec());
        let mut uncompressed = good;
        uncompressed[0] &= 0x7f;
        bad.push(uncompressed.to_vec());
        let mut too_big = [0xffu8; G1_LEN];
        too_big[0] = 0x9f;
        bad.push(too_big.to_vec());
        let mut off_curve = None;
        let mut x = Fq::from(1u64);
        while off_curve.is_none() {
            x += Fq::one();
            if G1Affine::get_point_from_x_unchecked(x, true).is_none() {
                let mut b = g1_to_bytes(&G1Affine::new_unchecked(x, Fq::one()));
                b[0] &= 0xdf;
                off_curve = Some(b.to_vec());
            }
        }
        bad.extend(off_curve);
        for b in &bad {
            assert_eq!(
                g1_from_bytes(b),
                None,
                "reference accepts {}",
                hex::encode(b)
            );
            assert_eq!(decode_g1(b), None);
            assert_eq!(decode_g1(b), None);
            if let Ok(k) = <[u8; G1_LEN]>::try_from(b.as_slice()) {
                assert!(!table().current.contains_key(&k));
                assert!(!table().previous.contains_key(&k));
            }
        }
    }

    #[test]
    fn remembered_points_decode_to_themselves() {
        let pts = random_points(3, 8);
        remember_g1(&pts);
        remember_g1(&[G1Affine::zero()]);
        for p in &pts {
            assert_eq!(decode_g1(&g1_to_bytes(p)), Some(*p));
        }
        assert_eq!(decode_g1(&g1_to_bytes(&G1Affine::zero())), None);
    }

    #[test]
    fn the_table_is_bounded_and_keeps_recent_points() {
        let mut g = Generations::default();
        let p = random_points(4, 1)[0];
        for i in 0..(2 * CACHE_GENERATION + 10) {
            let mut k = [0u8; G1_LEN];
            k[..8].copy_from_slice(&(i as u64).to_be_bytes());
            g.insert(k, p);
        }
        assert!(g.current.len() + g.previous.len() <= 2 * CACHE_GENERATION);
        let mut recent = [0u8; G1_LEN];
        recent[..8].copy_from_slice(&((2 * CACHE_GENERATION + 9) as u64).to_be_bytes());
        assert!(g.get(&recent).is_some());
        assert!(g.get(&[0u8; G1_LEN]).is_none());
    }
}
