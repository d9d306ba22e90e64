//! Certificate → plaintext for one certified batch: the work a committee does between an
//! order certificate existing and the plaintext batch being stored (DESIGN.md §5 target:
//! ≤ 250 ms for a 512-transaction batch with 4 members on this machine).
//!
//! Setup (untimed): a dealt 3-of-4 threshold key, 4 BLS member keys, 512 threshold
//! envelopes of 200 bytes validated as the node validates them, the batch, and a quorum
//! certificate built from 3 real votes.
//!
//! Timed, all in one process and on the protocol types the node uses:
//! - `batch/certificate_to_plaintext/txs=512,members=4,t=3,threads=1`: each of the `t`
//!   releasing members checks the certificate ([`ReleaseGuard::authorize`]) and computes its
//!   shares with one batched proof ([`SharesMessage::create`]), one member after the other;
//!   then [`BatchOpening`] combines the `t` share messages and decrypts all 512 items and
//!   [`BatchOpening::finish`] yields the [`PlaintextBatch`]. This is the whole work summed.
//! - `…,threads=2`: the same, with the members' share computations on two threads, as
//!   members on separate machines would run them concurrently (this machine has 2 cores).
//! - the stages alone: `batch/authorize`, `batch/member_shares/txs=512` (one member),
//!   `batch/open/txs=512` (combine + decrypt + finish), `batch/verify_published/txs=512`
//!   (a third party checking the published plaintext batch).
//! - the peer: `batch/reference/threshold_combine/txs=512`, `veil_threshold::combine` on
//!   the same shares with no protocol layer, so the protocol's overhead is the ratio of
//!   `batch/open` to it.
//!
//! Run: `cargo bench -p veil-benches --bench batch`.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_protocol::{
    Batch, BatchOpening, CertificateBuilder, Commitment, OrderCertificate, PlaintextBatch,
    Progress, ReleaseGuard, SharesMessage, ValidatedEnvelope, ValidationContext, VerifyContext,
    Vote, VoteIntent, validate_batch,
};
use veil_threshold::{
    BlsPublicKey, EncryptionKey, KeyShare, Label, ShareBatch, SigningKey, SlotRange, ThresholdKey,
    VerifiedCiphertext, combine, hazmat,
};

const TXS: usize = 512;
const MEMBERS: u32 = 4;
const T: u32 = 3;
const QUORUM: usize = 3;
const CHAIN: u64 = 10;
/// A typical signed rollup transaction.
const TX_LEN: usize = 200;

struct Fixture {
    key: ThresholdKey,
    key_shares: Vec<KeyShare>,
    committee: Vec<BlsPublicKey>,
    batch: Batch,
    certificate: OrderCertificate,
    envelopes: Vec<ValidatedEnvelope>,
}

fn label(i: usize) -> Label {
    let mut sender = [0u8; 32];
    sender[..8].copy_from_slice(&(i as u64).to_be_bytes());
    Label::new(
        CHAIN,
        sender,
        SlotRange::new(1, 1_000).unwrap(),
        1_000,
        vec![],
    )
    .unwrap()
}

fn fixture() -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let (key, key_shares) = hazmat::deal(&mut rng, T, MEMBERS).unwrap();
    let ek = EncryptionKey::new(key.public_key());
    let encoded: Vec<Vec<u8>> = (0..TXS)
        .map(|i| {
            let ct = ek
                .encrypt(&mut rng, &label(i), &[(i % 251) as u8; TX_LEN])
                .unwrap();
            veil_protocol::TxEnvelope::Threshold(ct).to_bytes()
        })
        .collect();
    let ctx = ValidationContext {
        committee_key: key.public_key(),
        delay_params: None,
        chain_ids: &[CHAIN],
        current_slot: 1,
    };
    let refs: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
    let envelopes: Vec<ValidatedEnvelope> = validate_batch(&ctx, &refs)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let batch = Batch {
        chain_id: CHAIN,
        slot: 1,
        parent: Commitment::genesis(),
        ids: envelopes.iter().map(ValidatedEnvelope::id).collect(),
        chains: vec![],
    };
    let signing: Vec<SigningKey> = (0..MEMBERS)
        .map(|_| SigningKey::generate(&mut rng))
        .collect();
    let committee: Vec<BlsPublicKey> = signing.iter().map(SigningKey::public_key).collect();
    let intent = VoteIntent {
        slot: batch.slot,
        parent: batch.parent,
        commitment: batch.commitment(),
    };
    let mut builder = CertificateBuilder::new(intent, committee.clone(), QUORUM);
    let mut certificate = None;
    for (i, sk) in signing.iter().enumerate().take(QUORUM) {
        if let Progress::Certified(c) = builder.add(&Vote::sign(sk, i as u32 + 1, &intent)).unwrap()
        {
            certificate = Some(c);
        }
    }
    Fixture {
        key,
        key_shares,
        committee,
        batch,
        certificate: certificate.expect("a quorum of votes certifies"),
        envelopes,
    }
}

/// One member's part: check the certificate, compute and prove its shares.
fn release(f: &Fixture, rng: &mut ChaCha20Rng, member: usize) -> SharesMessage {
    let guard = ReleaseGuard::new(f.committee.clone(), QUORUM);
    let authorization = guard.authorize(&f.certificate, &f.batch).unwrap();
    SharesMessage::create(rng, &authorization, &f.key_shares[member], &f.envelopes).unwrap()
}

/// Anyone's part: combine `t` share messages and decrypt every item in certified order.
fn open(f: &Fixture, shares: &[SharesMessage]) -> PlaintextBatch {
    let mut opening =
        BatchOpening::new(f.certificate.clone(), f.batch.clone(), f.envelopes.clone()).unwrap();
    let faulty = opening.apply_shares(&f.key, None, shares).unwrap();
    assert!(faulty.is_empty());
    opening.finish().unwrap()
}

fn certificate_to_plaintext(f: &Fixture, threads: usize) -> PlaintextBatch {
    let shares: Vec<SharesMessage> = if threads <= 1 {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        (0..T as usize).map(|m| release(f, &mut rng, m)).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..T as usize)
                .map(|m| {
                    s.spawn(move || {
                        let mut rng = ChaCha20Rng::seed_from_u64(7 + m as u64);
                        release(f, &mut rng, m)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    open(f, &shares)
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    // Correctness of what is measured: every item decrypts to its plaintext, in order.
    let plain = certificate_to_plaintext(&f, 1);
    assert_eq!(plain.items.len(), TXS);
    for (i, item) in plain.items.iter().enumerate() {
        assert_eq!(item.id, f.batch.ids[i]);
        assert_eq!(
            item.outcome,
            veil_protocol::Outcome::Decrypted(vec![(i % 251) as u8; TX_LEN])
        );
    }
    let verify_ctx = VerifyContext {
        committee: &f.committee,
        quorum: QUORUM,
        key: &f.key,
        delay_params: None,
    };
    plain.verify(&verify_ctx, &f.envelopes).unwrap();

    let mut g = c.benchmark_group("batch");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(TXS as u64));
    for threads in [1usize, 2] {
        g.bench_function(
            format!("certificate_to_plaintext/txs={TXS},members={MEMBERS},t={T},threads={threads}"),
            |b| b.iter(|| certificate_to_plaintext(&f, threads)),
        );
    }
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    g.bench_function(format!("member_shares/txs={TXS}"), |b| {
        b.iter(|| release(&f, &mut rng, 0))
    });
    let shares: Vec<SharesMessage> = (0..T as usize).map(|m| release(&f, &mut rng, m)).collect();
    g.bench_function(format!("open/txs={TXS}"), |b| b.iter(|| open(&f, &shares)));
    let parts: Vec<VerifiedCiphertext> = f
        .envelopes
        .iter()
        .map(|e| e.threshold_part().unwrap().clone())
        .collect();
    let batches: Vec<ShareBatch> = shares.iter().map(|m| m.shares.clone()).collect();
    g.bench_function(format!("reference/threshold_combine/txs={TXS}"), |b| {
        b.iter(|| combine(&f.key, &parts, &batches).unwrap())
    });
    g.bench_function(format!("verify_published/txs={TXS}"), |b| {
        b.iter(|| plain.verify(&verify_ctx, &f.envelopes).unwrap())
    });
    g.throughput(Throughput::Elements(1));
    let guard = ReleaseGuard::new(f.committee.clone(), QUORUM);
    g.bench_function("authorize", |b| {
        b.iter(|| guard.authorize(&f.certificate, &f.batch).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
