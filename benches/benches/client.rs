//! Wallet-side encryption cost: `client/encrypt/{threshold,delay,dual}` — a 200-byte
//! payload (about a signed EIP-1559 transfer) through `veil_client::Encryptor`, envelope
//! encoding and id included, for a 4-member committee and RSA-2048 delay parameters.

use std::ops::ControlFlow;

use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_client::{ChainPolicy, Encryptor, Mode, Trust, TrustedCommittee};
use veil_keygen::{CeremonyParams, MemberSecret, Transcript, dkg};
use veil_threshold::{Label, SlotRange};

fn committee(rng: &mut ChaCha20Rng) -> TrustedCommittee {
    let secrets: Vec<MemberSecret> = (1..=4)
        .map(|i| MemberSecret::generate(&format!("m{i}"), rng).expect("identity"))
        .collect();
    let publics = secrets.iter().map(|s| s.public(rng)).collect();
    let params = CeremonyParams::fresh(1, 3, 4, publics).expect("params");
    let dealings = secrets
        .iter()
        .enumerate()
        .map(|(i, s)| dkg::deal(&params, i as u32 + 1, s, None, rng).expect("dealing"))
        .collect();
    let transcript = Transcript {
        params,
        dealings,
        complaints: Vec::new(),
    };
    let c = dkg::verify_transcript(&transcript)
        .expect("transcript")
        .committee;
    TrustedCommittee::load(c.to_json().as_bytes(), &Trust::default()).expect("committee")
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let committee = committee(&mut rng);
    // Encryption cost does not depend on T (two fixed-base exponentiations), so small
    // parameters are generated quickly for the bench.
    let params = veil_timelock::DelayParams::generate(
        veil_timelock::group::RsaGroup::rsa2048(),
        b"bench-client",
        1 << 10,
        veil_squaring::Backend::best_single(),
        &mut |_| ControlFlow::Continue(()),
    )
    .expect("delay params");
    let enc = Encryptor::new(committee, Some(params), ChainPolicy::single(31_337));
    let label = Label::new(
        31_337,
        [7; 32],
        SlotRange::new(0, 1_000).expect("range"),
        42_000,
        vec![],
    )
    .expect("label");
    let payload = vec![0xa5u8; 200];
    let mut g = c.benchmark_group("client/encrypt");
    g.sample_size(20);
    for mode in [Mode::Threshold, Mode::Delay, Mode::Dual] {
        // The first call builds the fixed-base tables; measure the steady state.
        enc.encrypt(mode, label.clone(), &payload, &mut rng)
            .expect("encrypt");
        g.bench_function(mode.name(), |b| {
            b.iter(|| {
                enc.encrypt(mode, label.clone(), &payload, &mut rng)
                    .expect("encrypt")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
