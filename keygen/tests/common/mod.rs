//! Shared ceremony fixtures for the integration tests.
#![allow(dead_code)]

use ark_bls12_381::{Fr, G1Affine, G1Projective};
use ark_ec::{CurveGroup, PrimeGroup};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_keygen::dkg::{
    self, CeremonyParams, Complaint, Dealing, MemberShare, Outcome, Transcript,
};
use veil_keygen::identity::MemberSecret;

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub fn members(n: usize, rng: &mut ChaCha20Rng) -> Vec<MemberSecret> {
    (0..n)
        .map(|i| MemberSecret::generate(&format!("member-{}", i + 1), rng).unwrap())
        .collect()
}

pub fn fresh_params(
    secrets: &[MemberSecret],
    t: u32,
    quorum: u32,
    rng: &mut ChaCha20Rng,
) -> CeremonyParams {
    let roster = secrets.iter().map(|s| s.public(rng)).collect();
    CeremonyParams::fresh(1, t, quorum, roster).unwrap()
}

/// Every honest member checks every publicly valid dealing and complains as needed.
pub fn complaints(
    params: &CeremonyParams,
    secrets: &[MemberSecret],
    dealings: &[Dealing],
    honest: &[u32],
    rng: &mut ChaCha20Rng,
) -> Vec<Complaint> {
    let id = params.id();
    let valid: Vec<&Dealing> = dealings
        .iter()
        .filter(|d| dkg::verify_dealing(params, &id, d).is_ok())
        .collect();
    let mut out = Vec::new();
    for &j in honest {
        out.extend(dkg::check_shares(params, j, &secrets[j as usize - 1], &valid, rng).unwrap());
    }
    out
}

/// Runs a whole honest ceremony in process.
pub fn run_fresh(
    n: usize,
    t: u32,
    seed: u64,
) -> (Vec<MemberSecret>, Transcript, Outcome, Vec<MemberShare>) {
    let mut r = rng(seed);
    let secrets = members(n, &mut r);
    let params = fresh_params(&secrets, t, t, &mut r);
    let dealings: Vec<Dealing> = (1..=n as u32)
        .map(|i| dkg::deal(&params, i, &secrets[i as usize - 1], None, &mut r).unwrap())
        .collect();
    let all: Vec<u32> = (1..=n as u32).collect();
    let complaints = complaints(&params, &secrets, &dealings, &all, &mut r);
    assert!(complaints.is_empty());
    let transcript = Transcript {
        params,
        dealings,
        complaints,
    };
    let outcome = dkg::verify_transcript(&transcript).unwrap();
    let shares = (1..=n as u32)
        .map(|j| dkg::member_share(&transcript, &outcome, j, &secrets[j as usize - 1]).unwrap())
        .collect();
    (secrets, transcript, outcome, shares)
}

/// Lagrange interpolation at 0 of the given shares.
pub fn interpolate(shares: &[&MemberShare]) -> Fr {
    use ark_ff::{Field, One, Zero};
    let mut s = Fr::zero();
    for a in shares {
        let xa = Fr::from(a.index);
        let mut l = Fr::one();
        for b in shares {
            if a.index != b.index {
                let xb = Fr::from(b.index);
                l *= xb * (xb - xa).inverse().unwrap();
            }
        }
        s += l * a.secret();
    }
    s
}

pub fn times_g(s: &Fr) -> G1Affine {
    (G1Projective::generator() * s).into_affine()
}
