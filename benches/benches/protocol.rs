//! Costs of the protocol's per-batch work: envelope validation (batched against one by
//! one, the peer), the vote rule, certificates, opening a batch, Merkle roots.

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_protocol::{
    Batch, BatchOpening, CertificateBuilder, Commitment, Progress, Proposal, ReleaseGuard,
    SequencerId, SharesMessage, TxEnvelope, ValidationContext, Vote, VoteGuard, VoteIntent,
    merkle_root, validate, validate_batch,
};
use veil_threshold::{EncryptionKey, Label, SigningKey, SlotRange, hazmat};

fn benches(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (key, shares) = hazmat::deal(&mut rng, 3, 4).unwrap();
    let bls: Vec<SigningKey> = (0..4).map(|_| SigningKey::generate(&mut rng)).collect();
    let committee: Vec<_> = bls.iter().map(SigningKey::public_key).collect();
    let sequencer = SigningKey::generate(&mut rng);
    let ek = EncryptionKey::new(key.public_key());
    let label = Label::new(1, [3; 32], SlotRange::new(0, 9).unwrap(), 0, vec![]).unwrap();
    let ctx = ValidationContext {
        committee_key: key.public_key(),
        delay_params: None,
        chain_ids: &[1],
        current_slot: 0,
    };
    let n = 64;
    let encoded: Vec<Vec<u8>> = (0..n)
        .map(|_| {
            TxEnvelope::Threshold(ek.encrypt(&mut rng, &label, &[7u8; 200]).unwrap()).to_bytes()
        })
        .collect();
    let refs: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();

    let mut g = c.benchmark_group("protocol");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.bench_function("validate_batch/n=64", |b| {
        b.iter(|| validate_batch(&ctx, &refs))
    });
    g.bench_function("validate_one_by_one/n=64", |b| {
        b.iter(|| refs.iter().map(|e| validate(&ctx, e)).collect::<Vec<_>>())
    });

    // Breakdown of the above: envelope decoding alone, and the threshold crate's batched
    // proof check on already-decoded ciphertexts.
    g.bench_function("envelope_decode/n=64", |b| {
        b.iter(|| {
            refs.iter()
                .map(|e| TxEnvelope::from_bytes(e).unwrap())
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("threshold_ciphertext_decode/n=64", |b| {
        b.iter(|| {
            refs.iter()
                .map(|e| veil_threshold::Ciphertext::from_bytes(&e[2..]).unwrap())
                .collect::<Vec<_>>()
        })
    });
    let decoded: Vec<veil_threshold::Ciphertext> = refs
        .iter()
        .map(|e| match TxEnvelope::from_bytes(e).unwrap() {
            TxEnvelope::Threshold(c) => c,
            _ => unreachable!(),
        })
        .collect();
    g.bench_function("threshold_verify_batch/n=64", |b| {
        b.iter(|| veil_threshold::verify_batch(key.public_key(), decoded.clone()))
    });

    let envs: Vec<_> = validate_batch(&ctx, &refs)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let batch = Batch {
        chain_id: 5,
        slot: 1,
        parent: Commitment::genesis(),
        ids: envs.iter().map(|e| e.id()).collect(),
        chains: vec![],
    };
    let ids512: Vec<_> = (0..512u32)
        .map(|i| {
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&i.to_be_bytes());
            veil_protocol::TxId(b)
        })
        .collect();
    g.bench_function("merkle_root/ids=512", |b| b.iter(|| merkle_root(&ids512)));
    let big = Proposal::sign(
        &sequencer,
        SequencerId(0),
        Batch {
            ids: ids512.clone(),
            ..batch.clone()
        },
    )
    .unwrap();
    g.bench_function("vote_guard_decide/ids=512", |b| {
        b.iter_batched(
            || VoteGuard::new(5),
            |mut guard| guard.decide(&big, |_| true).unwrap(),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("proposal_verify/ids=512", |b| {
        b.iter(|| big.verify(&[sequencer.public_key()]).unwrap())
    });

    let intent = VoteIntent {
        slot: 1,
        parent: batch.parent,
        commitment: batch.commitment(),
    };
    let votes: Vec<Vote> = (1..=3u32)
        .map(|m| Vote::sign(&bls[m as usize - 1], m, &intent))
        .collect();
    g.bench_function("vote_sign", |b| b.iter(|| Vote::sign(&bls[0], 1, &intent)));
    g.bench_function("certificate_build/quorum=3", |b| {
        b.iter(|| {
            let mut builder = CertificateBuilder::new(intent, committee.clone(), 3);
            votes.iter().map(|v| builder.add(v).unwrap()).last()
        })
    });
    let cert = {
        let mut builder = CertificateBuilder::new(intent, committee.clone(), 3);
        match votes
            .iter()
            .map(|v| builder.add(v).unwrap())
            .last()
            .unwrap()
        {
            Progress::Certified(c) => c,
            _ => unreachable!(),
        }
    };
    g.bench_function("certificate_verify/n=4", |b| {
        b.iter(|| cert.verify(&committee, 3).unwrap())
    });
    let auth = ReleaseGuard::new(committee.clone(), 3)
        .authorize(&cert, &batch)
        .unwrap();
    g.bench_function("shares_create/n=64", |b| {
        b.iter(|| SharesMessage::create(&mut rng, &auth, &shares[0], &envs).unwrap())
    });
    let msgs: Vec<SharesMessage> = (0..3)
        .map(|i| SharesMessage::create(&mut rng, &auth, &shares[i], &envs).unwrap())
        .collect();
    g.bench_function("open_batch/n=64,t=3", |b| {
        b.iter(|| {
            let mut o = BatchOpening::new(cert.clone(), batch.clone(), envs.clone()).unwrap();
            o.apply_shares(&key, None, &msgs).unwrap();
            o.finish().unwrap()
        })
    });
    g.finish();
}

criterion_group!(protocol, benches);
criterion_main!(protocol);
