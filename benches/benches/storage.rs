//! Durable-write costs of the node store (every mutating call is one fsynced transaction).

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_protocol::{Batch, Commitment, TxEnvelope, ValidationContext, VoteIntent, validate};
use veil_storage::Storage;
use veil_threshold::{EncryptionKey, Label, SlotRange, hazmat};

fn benches(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("veil-storage-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = Storage::open(dir.join("bench.redb")).unwrap();

    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (key, _) = hazmat::deal(&mut rng, 3, 4).unwrap();
    let ek = EncryptionKey::new(key.public_key());
    let label = Label::new(1, [3; 32], SlotRange::new(0, 9).unwrap(), 0, vec![]).unwrap();
    let ctx = ValidationContext {
        committee_key: key.public_key(),
        delay_params: None,
        chain_ids: &[1],
        current_slot: 0,
    };
    // A pool of distinct envelopes; inserts cycle through fresh ones.
    let pool: Vec<_> = (0..1024)
        .map(|_| {
            let e = TxEnvelope::Threshold(ek.encrypt(&mut rng, &label, &[7u8; 200]).unwrap());
            validate(&ctx, &e.to_bytes()).unwrap()
        })
        .collect();
    // Every insert stores envelopes new to the database: when the pool is used up, the
    // next one goes to a fresh database file (outside the timed region).
    let mut g = c.benchmark_group("storage");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    let mut generation = 0u32;
    for chunk in [1usize, 64] {
        g.bench_function(format!("insert_envelopes/batch={chunk}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut db: Option<Storage> = None;
                let mut next = pool.len();
                for _ in 0..iters {
                    if next + chunk > pool.len() {
                        generation += 1;
                        drop(db.take());
                        let path = dir.join(format!("insert-{generation}.redb"));
                        let _ = std::fs::remove_file(&path);
                        db = Some(Storage::open(path).unwrap());
                        next = 0;
                    }
                    let refs: Vec<_> = pool[next..next + chunk].iter().collect();
                    next += chunk;
                    let s = db.as_ref().unwrap();
                    let t = std::time::Instant::now();
                    let ins = s.insert_envelopes(&refs).unwrap();
                    total += t.elapsed();
                    assert!(ins.iter().all(|i| i.is_new()));
                }
                total
            })
        });
    }
    let signature = veil_threshold::SigningKey::generate(&mut rng).sign(b"bench");
    let mut slot = 1u64;
    g.bench_function("record_vote_intent", |b| {
        b.iter(|| {
            let batch = Batch {
                chain_id: 1,
                slot,
                parent: Commitment([slot as u8; 32]),
                ids: vec![pool[0].id()],
                chains: vec![],
            };
            let intent = VoteIntent {
                slot,
                parent: Commitment(slot.to_be_bytes().repeat(4).try_into().unwrap()),
                commitment: batch.commitment(),
            };
            slot += 1;
            let p = veil_protocol::Proposal {
                batch,
                sequencer: veil_protocol::SequencerId(0),
                signature,
            };
            s.record_vote_intent(&intent, &p).unwrap()
        })
    });
    g.finish();
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(storage, benches);
criterion_main!(storage);
