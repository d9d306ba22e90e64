//! Delay-mode benchmarks: Wesolowski prover overhead and verification, delay encryption
//! (the wallet's path), parameter verification.
//!
//! `cargo bench -p veil-benches --bench delay`. The prover overhead is reported as two
//! figures measured in the same run — the evaluation (`T` squarings with checkpointing) and
//! the proof computed from its checkpoints — and, at the end, as their ratio of medians.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rug::Integer;
use rug::integer::Order;
use veil_squaring::Backend;
use veil_threshold::{Label, SlotRange};
use veil_timelock::wesolowski::{self, ProverTuning};
use veil_timelock::{DelayCiphertext, DelayParams, RsaGroup};

const T_PROVE: u64 = 1 << 20;

fn go() -> impl FnMut(u64) -> ControlFlow<()> {
    |_| ControlFlow::Continue(())
}

fn label() -> Label {
    Label::new(1, [7; 32], SlotRange::new(1, 2).unwrap(), 0, vec![]).unwrap()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn wesolowski_benches(c: &mut Criterion) {
    let group = RsaGroup::rsa2048();
    let backend = Backend::best_single();
    let x = group.hash_to_group(b"bench", b"x");
    let tuning = ProverTuning::for_squarings(T_PROVE);
    let every = tuning.checkpoint_every();
    let (y, checkpoints) = veil_squaring::square_repeated_checkpointed(
        group.modulus(),
        &x,
        T_PROVE,
        every,
        backend,
        &mut go(),
    )
    .unwrap();

    let mut g = c.benchmark_group("timelock/wesolowski");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(15));
    g.bench_function("evaluate/T=2^20", |b| {
        b.iter(|| {
            veil_squaring::square_repeated_checkpointed(
                group.modulus(),
                &x,
                T_PROVE,
                every,
                backend,
                &mut go(),
            )
            .unwrap()
        })
    });
    g.bench_function("prove_overhead/T=2^20", |b| {
        b.iter(|| wesolowski::prove_from_checkpoints(&group, &x, &y, T_PROVE, tuning, &checkpoints))
    });
    g.finish();

    let proof = wesolowski::prove_from_checkpoints(&group, &x, &y, T_PROVE, tuning, &checkpoints);
    let mut g = c.benchmark_group("timelock/wesolowski");
    g.bench_function("verify", |b| {
        b.iter(|| wesolowski::verify(&group, &x, &y, T_PROVE, &proof).unwrap())
    });
    // The peer: the same verification equation π^ℓ · x^r = y with GMP's pow_mod (rug),
    // given ℓ (the hash-to-prime is measured separately above/below).
    let ell = wesolowski::challenge_prime(&group, &x, &y, T_PROVE);
    let n = Integer::from_digits(group.modulus_bytes(), Order::Msf);
    let gmp = |e: &veil_squaring::Element| {
        Integer::from_digits(&group.modulus().to_be_bytes_of(e), Order::Msf)
    };
    let (pi_g, x_g, y_g) = (gmp(proof.pi()), gmp(&x), gmp(&y));
    let ell_g = Integer::from_digits(&ell.to_bytes_be(), Order::Msf);
    let r_g = Integer::from_digits(
        &wesolowski::challenge_residue(&ell, T_PROVE).to_bytes_be(),
        Order::Msf,
    );
    g.bench_function("verify_equation_gmp_peer", |b| {
        b.iter(|| {
            let a = pi_g.clone().pow_mod(&ell_g, &n).unwrap();
            let c = x_g.clone().pow_mod(&r_g, &n).unwrap();
            let lhs = (a * c) % &n;
            let neg = Integer::from(&n - &lhs);
            assert!(lhs == y_g || neg == y_g);
        })
    });
    g.bench_function("verify_equation", |b| {
        b.iter(|| {
            let r = wesolowski::challenge_residue(&ell, T_PROVE);
            let lhs = group
                .multi_pow_vartime(&[(proof.pi(), &ell.to_bytes_be()), (&x, &r.to_bytes_be())]);
            assert!(group.eq(&lhs, &y));
        })
    });
    g.bench_function("challenge_prime", |b| {
        b.iter(|| wesolowski::challenge_prime(&group, &x, &y, T_PROVE))
    });
    g.finish();

    // The headline ratio, from medians of a few runs measured back to back. Only when
    // benchmarking: listing (`--list`) and test mode (`--test`) must stay quiet and quick.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mut eval = Vec::new();
    let mut prove = Vec::new();
    for _ in 0..5 {
        let t0 = Instant::now();
        let _ = veil_squaring::square_repeated_checkpointed(
            group.modulus(),
            &x,
            T_PROVE,
            every,
            backend,
            &mut go(),
        );
        eval.push(t0.elapsed());
        let t0 = Instant::now();
        let _ = wesolowski::prove_from_checkpoints(&group, &x, &y, T_PROVE, tuning, &checkpoints);
        prove.push(t0.elapsed());
    }
    let (e, p) = (median(eval), median(prove));
    println!(
        "timelock/wesolowski/prove_overhead/T=2^20: evaluation {e:?}, proof {p:?}, overhead \
         {:.1}% (kappa={}, gamma={}, threads={}, backend {backend:?})",
        100.0 * p.as_secs_f64() / e.as_secs_f64(),
        tuning.kappa,
        tuning.gamma,
        tuning.threads,
    );
}

fn encryption_benches(c: &mut Criterion) {
    let params = DelayParams::generate(
        RsaGroup::rsa2048(),
        b"bench",
        1 << 16,
        Backend::best_single(),
        &mut go(),
    )
    .unwrap();
    let _ = params.all_tables();
    let pk = params.insecure_proving_key().unwrap();
    let label = label();
    let payload = [0x5au8; 256];
    let mut rng = ChaCha20Rng::seed_from_u64(1);

    let mut g = c.benchmark_group("timelock");
    g.bench_function("encrypt/delay", |b| {
        b.iter(|| DelayCiphertext::encrypt(&params, &pk, &label, &payload, &mut rng).unwrap())
    });
    let (ct, secret) = DelayCiphertext::encrypt(&params, &pk, &label, &payload, &mut rng).unwrap();
    g.bench_function("ciphertext/verify", |b| {
        b.iter(|| ct.verify(&params, &label).unwrap())
    });
    let reveal = secret.reveal();
    g.bench_function("decrypt/reveal", |b| {
        b.iter(|| {
            let key = reveal.open(&params, ct.puzzle()).unwrap();
            ct.decrypt(&params, &label, &key).unwrap()
        })
    });
    let bytes = params.to_bytes();
    g.bench_function("params/verify", |b| {
        b.iter(|| DelayParams::from_bytes(&bytes).unwrap())
    });
    g.bench_function("params/tables", |b| {
        b.iter_batched(
            || DelayParams::from_bytes(&bytes).unwrap(),
            |p| {
                let _ = p.tables();
                p
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, encryption_benches, wesolowski_benches);
criterion_main!(benches);
