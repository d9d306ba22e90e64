//! Order-certificate benchmarks: BLS signing, aggregation and aggregate verification (one
//! pairing-product check) for committees of 4 and 64, with a single-signature verification
//! and a bare two-pairing product measured in the same run as the reference.
//!
//! Run: `cargo bench -p veil-benches --bench certificate`.

use std::time::Duration;

use ark_bls12_381::{Bls12_381, G1Projective, G2Projective};
use ark_ec::{CurveGroup, PrimeGroup, pairing::Pairing};
use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_threshold::{BlsPublicKey, Signature, SigningKey, certificate};

const MSG: &[u8] = b"C_s = H(domain, chain, slot, parent, root)";

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut g = c.benchmark_group("certificate");
    let sk = SigningKey::generate(&mut rng);
    let pk = sk.public_key();
    let sig = sk.sign(MSG);
    g.bench_function("sign", |b| b.iter(|| sk.sign(MSG)));
    g.bench_function("verify", |b| b.iter(|| pk.verify(MSG, &sig).unwrap()));
    let pop = sk.prove_possession();
    g.bench_function("verify_possession", |b| {
        b.iter(|| pk.verify_possession(&pop).unwrap())
    });
    let p = G1Projective::generator().into_affine();
    let q = G2Projective::generator().into_affine();
    g.bench_function("reference/pairing_product_2", |b| {
        b.iter(|| Bls12_381::multi_pairing([p, p], [q, q]))
    });
    for n in [4usize, 64] {
        let sks: Vec<SigningKey> = (0..n).map(|_| SigningKey::generate(&mut rng)).collect();
        let pks: Vec<BlsPublicKey> = sks.iter().map(SigningKey::public_key).collect();
        let quorum = certificate::default_quorum(n);
        let sigs: Vec<(usize, Signature)> = (0..quorum).map(|i| (i, sks[i].sign(MSG))).collect();
        let agg = certificate::aggregate(n, &sigs).unwrap();
        g.bench_function(format!("aggregate/n={n}"), |b| {
            b.iter(|| certificate::aggregate(n, &sigs).unwrap())
        });
        g.bench_function(format!("aggregate_verify/n={n}"), |b| {
            b.iter(|| agg.verify(&pks, MSG).unwrap())
        });
        let bytes = agg.to_bytes();
        g.bench_function(format!("decode/n={n}"), |b| {
            b.iter(|| veil_threshold::AggregateSignature::from_bytes(&bytes).unwrap())
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
