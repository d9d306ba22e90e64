//! Key-ceremony benchmarks (`veil-keygen`): what each party does in a DKG of n = 64
//! (t = 43 = 2f + 1, quorum t), and what an outside verifier does with the whole transcript.
//!
//! - `dkg/deal/n=64`: one dealer's work (commitments, 64 encrypted shares, proof, signature);
//! - `dkg/verify_dealing/n=64`: the public check of one dealing;
//! - `dkg/check_shares/n=64`: one member decrypting and batch-checking its 64 shares;
//! - `dkg/verify_transcript/n=64`: `keygen verify` on the full transcript (every dealing,
//!   qualification, aggregation, all 64 verification keys);
//! - `dkg/member_share/n=64`: one member deriving and checking its final share;
//! - `dkg/ceremony/n=64`: the whole ceremony in one process, every member's work done
//!   serially (a real ceremony runs the members in parallel);
//! - `dkg/reference/pairing_product_2`: the bare two-pairing product, the unit cost of one
//!   signature check, measured in the same run.
//!
//! Run: `cargo bench -p veil-benches --bench dkg`.
use std::time::Duration;

use ark_bls12_381::{Bls12_381, G1Projective, G2Projective};
use ark_ec::{CurveGroup, PrimeGroup, pairing::Pairing};
use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_keygen::dkg::{self, CeremonyParams, Dealing, Transcript};
use veil_keygen::identity::MemberSecret;

const N: usize = 64;
const T: u32 = 43;

fn setup(rng: &mut ChaCha20Rng) -> (Vec<MemberSecret>, CeremonyParams) {
    let secrets: Vec<MemberSecret> = (0..N)
        .map(|i| MemberSecret::generate(&format!("m{i}"), rng).unwrap())
        .collect();
    let roster = secrets.iter().map(|s| s.public(rng)).collect();
    (secrets, CeremonyParams::fresh(1, T, T, roster).unwrap())
}

fn ceremony(
    secrets: &[MemberSecret],
    params: &CeremonyParams,
    rng: &mut ChaCha20Rng,
) -> Transcript {
    let dealings: Vec<Dealing> = (1..=N as u32)
        .map(|i| dkg::deal(params, i, &secrets[i as usize - 1], None, rng).unwrap())
        .collect();
    let id = params.id();
    let valid: Vec<&Dealing> = dealings
        .iter()
        .filter(|d| dkg::verify_dealing(params, &id, d).is_ok())
        .collect();
    let mut complaints = Vec::new();
    for j in 1..=N as u32 {
        complaints
            .extend(dkg::check_shares(params, j, &secrets[j as usize - 1], &valid, rng).unwrap());
    }
    Transcript {
        params: params.clone(),
        dealings,
        complaints,
    }
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(64);
    let (secrets, params) = setup(&mut rng);
    let transcript = ceremony(&secrets, &params, &mut rng);
    let id = params.id();
    let mut g = c.benchmark_group("dkg");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("deal/n=64", |b| {
        b.iter(|| dkg::deal(&params, 5, &secrets[4], None, &mut rng).unwrap())
    });
    g.bench_function("verify_dealing/n=64", |b| {
        b.iter(|| dkg::verify_dealing(&params, &id, &transcript.dealings[7]).unwrap())
    });
    let refs: Vec<&Dealing> = transcript.dealings.iter().collect();
    g.bench_function("check_shares/n=64", |b| {
        b.iter(|| dkg::check_shares(&params, 9, &secrets[8], &refs, &mut rng).unwrap())
    });
    g.bench_function("verify_transcript/n=64", |b| {
        b.iter(|| dkg::verify_transcript(&transcript).unwrap())
    });
    let outcome = dkg::verify_transcript(&transcript).unwrap();
    g.bench_function("member_share/n=64", |b| {
        b.iter(|| dkg::member_share(&transcript, &outcome, 11, &secrets[10]).unwrap())
    });
    let p = G1Projective::generator().into_affine();
    let q = G2Projective::generator().into_affine();
    g.bench_function("reference/pairing_product_2", |b| {
        b.iter(|| Bls12_381::multi_pairing([p, p], [q, q]))
    });
    g.measurement_time(Duration::from_secs(60));
    g.bench_function("ceremony/n=64", |b| {
        b.iter(|| {
            let t = ceremony(&secrets, &params, &mut rng);
            let o = dkg::verify_transcript(&t).unwrap();
            for j in 1..=N as u32 {
                dkg::member_share(&t, &o, j, &secrets[j as usize - 1]).unwrap();
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
