//! Where a committee member's per-transaction crypto time goes: decoding (with on-curve and
//! subgroup checks) of ciphertexts and share batches, the reference G1 decode and its parts
//! (square root, subgroup check), and the memoized share decode (`veil_threshold::point`)
//! cold (never-seen points: the full check plus the table insert) and warm (points already
//! validated in this process: what a member pays when it reads the same shares back from
//! storage or inside a plaintext batch). Batch benchmarks report throughput in elements, so
//! criterion's "elem/s" is the per-ciphertext or per-share figure.
//!
//! Run: `cargo bench -p veil-benches --bench admission`.

use std::time::Duration;

use ark_bls12_381::{Fq, G1Affine, G1Projective};
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::{Field, UniformRand};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_circuits::dleq::{g1_from_bytes, g1_to_bytes};
use veil_threshold::{
    Ciphertext, EncryptionKey, Label, ShareBatch, SlotRange, hazmat, point, verify_batch,
};

const BATCH: usize = 512;

/// `count` distinct subgroup points, cheaply: `P₀ + k·G`.
fn distinct_points(rng: &mut ChaCha20Rng, count: usize) -> Vec<G1Affine> {
    let g = G1Projective::generator();
    let mut p = G1Projective::rand(rng);
    let pts: Vec<G1Projective> = (0..count)
        .map(|_| {
            p += g;
            p
        })
        .collect();
    G1Projective::normalize_batch(&pts)
}

/// A share-batch encoding for member 1 with the given share points and a well-formed (not
/// matching) proof taken from `template`.
fn share_encoding(points: &[G1Affine], template: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + 48 * points.len() + 128);
    out.push(1);
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(&(points.len() as u32).to_be_bytes());
    for p in points {
        out.extend_from_slice(&g1_to_bytes(p));
    }
    out.extend_from_slice(&template[template.len() - 128..]);
    out
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (key, shares) = hazmat::deal(&mut rng, 3, 4).unwrap();
    let ek = EncryptionKey::new(key.public_key());
    let label = Label::new(10, [1; 32], SlotRange::new(0, 9).unwrap(), 0, vec![]).unwrap();
    let cts: Vec<Ciphertext> = (0..BATCH)
        .map(|i| ek.encrypt(&mut rng, &label, &[i as u8; 200]).unwrap())
        .collect();
    let ct_bytes: Vec<Vec<u8>> = cts.iter().map(Ciphertext::to_bytes).collect();
    let verified: Vec<_> = verify_batch(key.public_key(), cts.clone())
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    let template = ShareBatch::create(&mut rng, &shares[0], &verified[..1])
        .unwrap()
        .to_bytes();

    let mut g = c.benchmark_group("admission");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));

    // The reference decode of one point, and its two parts.
    let pts = distinct_points(&mut rng, 256);
    let encs: Vec<[u8; 48]> = pts.iter().map(g1_to_bytes).collect();
    g.throughput(Throughput::Elements(pts.len() as u64));
    g.bench_function("g1_decode/reference", |b| {
        b.iter(|| {
            for e in &encs {
                std::hint::black_box(g1_from_bytes(e));
            }
        })
    });
    g.bench_function("g1_decode/part=sqrt", |b| {
        b.iter(|| {
            for p in &pts {
                let rhs = p.x * p.x * p.x + Fq::from(4u64);
                std::hint::black_box(rhs.sqrt());
            }
        })
    });
    g.bench_function("g1_decode/part=subgroup", |b| {
        b.iter(|| {
            for p in &pts {
                std::hint::black_box(p.is_in_correct_subgroup_assuming_on_curve());
            }
        })
    });

    // Ciphertexts: four points each (U, Ū and the proof's two commitments), then validity.
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(format!("ciphertext_decode/n={BATCH}"), |b| {
        b.iter(|| {
            for e in &ct_bytes {
                std::hint::black_box(Ciphertext::from_bytes(e).unwrap());
            }
        })
    });
    g.bench_function(format!("ciphertext_verify_batch/n={BATCH}"), |b| {
        b.iter_batched(
            || cts.clone(),
            |v| std::hint::black_box(verify_batch(key.public_key(), v)),
            BatchSize::LargeInput,
        )
    });
    g.bench_function(format!("share_create/n={BATCH}"), |b| {
        b.iter(|| std::hint::black_box(ShareBatch::create(&mut rng, &shares[1], &verified)))
    });

    // Share batches: never-seen points (full check + insert) vs already validated ones.
    let mut fresh = ChaCha20Rng::seed_from_u64(8);
    g.bench_function(format!("share_decode/n={BATCH},points=new"), |b| {
        b.iter_batched(
            || share_encoding(&distinct_points(&mut fresh, BATCH), &template),
            |enc| std::hint::black_box(ShareBatch::from_bytes(&enc).unwrap()),
            BatchSize::LargeInput,
        )
    });
    let seen = share_encoding(&distinct_points(&mut fresh, BATCH), &template);
    ShareBatch::from_bytes(&seen).unwrap();
    g.bench_function(format!("share_decode/n={BATCH},points=seen"), |b| {
        b.iter(|| std::hint::black_box(ShareBatch::from_bytes(&seen).unwrap()))
    });
    g.bench_function(format!("share_decode/n={BATCH},reference"), |b| {
        let body = &seen[9..9 + 48 * BATCH];
        b.iter(|| {
            let v: Option<Vec<G1Affine>> = body.chunks_exact(48).map(g1_from_bytes).collect();
            std::hint::black_box(v.unwrap())
        })
    });
    g.finish();
    let (hits, misses, entries) = point::cache_stats();
    eprintln!("validated-point table: {hits} hits, {misses} misses, {entries} entries");
}

criterion_group!(benches, bench);
criterion_main!(benches);
