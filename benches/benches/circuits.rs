//! Verifiable delay ciphertexts: proving and verifying the delay proof (issue 8).
//!
//! `cargo bench -p veil-benches --bench circuits`. `prove_delay` is the sender's whole cost
//! for a delay ciphertext (puzzle, exponent-equality proof, payload encryption, Groth16
//! proof); `verify_delay` is the admission check (exponent-equality proof + Groth16 with
//! one public input). Peers in the same run: the Groth16 proof alone
//! (`prove_delay_snark`) and a ciphertext's Sigma part alone is the difference. Before the
//! benchmarks the constraint count per modulus and the proof bytes are printed.

use std::ops::ControlFlow;

use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_circuits::delay_snark::{self, DelayContext, DelayWitness};
use veil_squaring::Backend;
use veil_threshold::{Label, SlotRange};
use veil_timelock::{DelayCiphertext, DelayParams, RsaGroup};

fn label() -> Label {
    Label::new(1, [7; 32], SlotRange::new(1, 2).unwrap(), 0, vec![]).unwrap()
}

fn circuits_benches(c: &mut Criterion) {
    let params = DelayParams::generate(
        RsaGroup::rsa2048(),
        b"bench",
        1 << 10,
        Backend::best_single(),
        &mut |_| ControlFlow::Continue(()),
    )
    .unwrap();
    let _ = params.all_tables();
    let pk = params.insecure_proving_key().unwrap();
    let n = params.group().modulus_bytes().to_vec();
    println!(
        "circuits/constraints/modulus=2048: {}",
        delay_snark::constraint_count(&n).unwrap()
    );
    println!(
        "circuits/proof_bytes/modulus=2048: {} (P + Sigma (c, z) + Groth16 + tag; the puzzle o is not counted)",
        DelayCiphertext::proof_len(&params)
    );
    let label = label();
    let payload = vec![0x5au8; 1024];
    let mut rng = ChaCha20Rng::seed_from_u64(1);

    let mut g = c.benchmark_group("circuits");
    g.sample_size(10);
    g.bench_function("prove_delay/payload=1KiB", |b| {
        b.iter(|| DelayCiphertext::encrypt(&params, &pk, &label, &payload, &mut rng).unwrap())
    });
    // Peer: the Groth16 proof alone, on a fixed honest witness.
    let k = params.group().encode(params.h());
    let p = params
        .group()
        .encode(&params.group().modulus().square(params.h()));
    let witness = DelayWitness {
        k_be: &k,
        p_be: &p,
        ctx: DelayContext {
            params_id: *params.id(),
            label_digest: label.digest(),
            puzzle_digest: [3; 32],
        },
        payload_digest: [4; 32],
    };
    g.bench_function("prove_delay_snark/payload=any", |b| {
        b.iter(|| pk.prove(&witness, &mut rng).unwrap())
    });
    g.sample_size(30);
    let (ct, _) = DelayCiphertext::encrypt(&params, &pk, &label, &payload, &mut rng).unwrap();
    g.bench_function("verify_delay/payload=1KiB", |b| {
        b.iter(|| ct.verify(&params, &label).unwrap())
    });
    let (ct4, _) =
        DelayCiphertext::encrypt(&params, &pk, &label, &vec![1u8; 4096], &mut rng).unwrap();
    g.bench_function("verify_delay/payload=4KiB", |b| {
        b.iter(|| ct4.verify(&params, &label).unwrap())
    });
    g.finish();
}

criterion_group!(benches, circuits_benches);
criterion_main!(benches);
