//! Threshold encryption benchmarks: client encryption, batch validity, member shares with the
//! batched proof, combining, and decoding with validation. Batch benchmarks report throughput
//! in ciphertexts, so criterion's "elem/s" gives the per-ciphertext figure; the arkworks
//! variable-time scalar multiplication and our constant-time ones are measured in the same run
//! as the reference point.
//!
//! Run: `cargo bench -p veil-benches --bench threshold`.

use std::time::Duration;

use ark_bls12_381::{Fr, G1Projective};
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::UniformRand;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_circuits::dleq::{G1Table, ct};
use veil_threshold::{
    Ciphertext, EncryptionKey, KeyShare, Label, ShareBatch, SlotRange, ThresholdKey,
    VerifiedCiphertext, ciphertext::check_batch, combine, hazmat, verify_batch,
};

const BATCH: usize = 512;
/// A typical signed rollup transaction.
const TX_LEN: usize = 200;

fn label(i: usize) -> Label {
    let mut sender = [0u8; 32];
    sender[..8].copy_from_slice(&(i as u64).to_be_bytes());
    Label::new(10, sender, SlotRange::new(5, 9).unwrap(), 1_000, vec![]).unwrap()
}

struct Setup {
    rng: ChaCha20Rng,
    key: ThresholdKey,
    shares: Vec<KeyShare>,
    ek: EncryptionKey,
}

fn setup(t: u32, n: u32) -> Setup {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (key, shares) = hazmat::deal(&mut rng, t, n).unwrap();
    let ek = EncryptionKey::new(key.public_key());
    Setup {
        rng,
        key,
        shares,
        ek,
    }
}

fn ciphertexts(s: &mut Setup, count: usize) -> Vec<Ciphertext> {
    (0..count)
        .map(|i| {
            s.ek.encrypt(&mut s.rng, &label(i), &[i as u8; TX_LEN])
                .unwrap()
        })
        .collect()
}

fn verified(s: &Setup, cts: Vec<Ciphertext>) -> Vec<VerifiedCiphertext> {
    verify_batch(s.key.public_key(), cts)
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

fn reference(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let base = (G1Projective::generator() * Fr::rand(&mut rng)).into_affine();
    let table = G1Table::new(&base);
    let k = Fr::rand(&mut rng);
    let mut g = c.benchmark_group("threshold/reference");
    g.bench_function("g1_mul_arkworks_vartime", |b| b.iter(|| base * k));
    g.bench_function("g1_mul_ct_variable_base", |b| {
        b.iter(|| ct::mul::<ark_bls12_381::g1::Config>(&base, &k))
    });
    g.bench_function("g1_mul_ct_glv", |b| b.iter(|| ct::mul_g1(&base, &k)));
    g.bench_function("g1_mul_ct_fixed_base", |b| b.iter(|| table.mul(&k)));
    let bases: Vec<_> = (0..64)
        .map(|_| (G1Projective::generator() * Fr::rand(&mut rng)).into_affine())
        .collect();
    g.bench_function("g1_mul_ct_each/n=64", |b| {
        b.iter(|| {
            bases
                .iter()
                .map(|p| ct::mul::<ark_bls12_381::g1::Config>(p, &k))
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("g1_mul_ct_glv_many/n=64", |b| {
        b.iter(|| ct::mul_many_g1(&bases, &k))
    });
    let enc = veil_circuits::dleq::g1_to_bytes(&base);
    g.bench_function("g1_decode_validated", |b| {
        b.iter(|| veil_circuits::dleq::g1_from_bytes(&enc).unwrap())
    });
    g.bench_function("g1_subgroup_check", |b| {
        b.iter(|| base.is_in_correct_subgroup_assuming_on_curve())
    });
    g.finish();
}

fn encrypt(c: &mut Criterion) {
    let mut s = setup(3, 4);
    let l = label(0);
    let msg = [7u8; TX_LEN];
    let mut g = c.benchmark_group("threshold");
    g.bench_function(format!("encrypt/bytes={TX_LEN}"), |b| {
        b.iter(|| s.ek.encrypt(&mut s.rng, &l, &msg).unwrap())
    });
    g.finish();
}

fn validity(c: &mut Criterion) {
    let mut s = setup(3, 4);
    let cts = ciphertexts(&mut s, BATCH);
    let encoded: Vec<Vec<u8>> = cts.iter().map(Ciphertext::to_bytes).collect();
    let mut g = c.benchmark_group("threshold");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    g.bench_function(format!("decode/n={BATCH}"), |b| {
        b.iter(|| {
            encoded
                .iter()
                .map(|e| Ciphertext::from_bytes(e).unwrap())
                .collect::<Vec<_>>()
        })
    });
    g.bench_function(format!("verify_batch/n={BATCH}"), |b| {
        b.iter_batched(
            || cts.clone(),
            |cts| verify_batch(s.key.public_key(), cts),
            BatchSize::LargeInput,
        )
    });
    g.bench_function(format!("check_batch/n={BATCH}"), |b| {
        b.iter(|| check_batch(s.key.public_key(), &cts).unwrap())
    });
    g.bench_function(format!("verify_each/n={BATCH}"), |b| {
        b.iter_batched(
            || cts.clone(),
            |cts| {
                cts.into_iter()
                    .map(|c| c.verify(s.key.public_key()).unwrap())
                    .collect::<Vec<_>>()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn shares(c: &mut Criterion) {
    let mut s = setup(3, 4);
    let cts = ciphertexts(&mut s, BATCH);
    let cts = verified(&s, cts);
    let mut g = c.benchmark_group("threshold");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    g.bench_function(format!("share_batch/n={BATCH}"), |b| {
        b.iter(|| ShareBatch::create(&mut rng, &s.shares[0], &cts).unwrap())
    });
    let batch = ShareBatch::create(&mut rng, &s.shares[0], &cts).unwrap();
    g.bench_function(format!("share_verify/n={BATCH}"), |b| {
        b.iter(|| batch.verify(&s.key, &cts).unwrap())
    });
    g.finish();
}

fn combining(c: &mut Criterion) {
    let mut g = c.benchmark_group("threshold");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.sample_size(10);
    for (t, n) in [(3u32, 4u32), (11, 16)] {
        let mut s = setup(t, n);
        let cts = ciphertexts(&mut s, BATCH);
        let cts = verified(&s, cts);
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let batches: Vec<ShareBatch> = s.shares[..t as usize]
            .iter()
            .map(|k| ShareBatch::create(&mut rng, k, &cts).unwrap())
            .collect();
        g.bench_function(format!("combine/t={t}"), |b| {
            b.iter(|| combine(&s.key, &cts, &batches).unwrap())
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
}

criterion_group! {
    name = benches;
    config = config();
    targets = reference, encrypt, validity, shares, combining
}
criterion_main!(benches);
