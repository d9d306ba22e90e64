//! Multi-rollup batches (rollup index, sub-batch proofs) and atomic bundles (tags, the vote
//! rule, atomic failure), with fixtures freezing the new encodings.

mod common;

use common::{CHAIN, Committee, DOMAIN};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use veil_protocol::bundle::{
    BundleTag, apply_atomic_failure, bundle_digest, check_bundles, check_one_bundle, seal, u_bytes,
};
use veil_protocol::rollup::{RollupIndex, RollupProof, SubBatch, check_chains, sub_batch_root};
use veil_protocol::{
    Batch, BatchError, BundleError, ChainsError, Commitment, OrderCertificate, Outcome,
    PlaintextBatch, PlaintextItem, SubBatchError, SubBatchItem, TxEnvelope, TxId,
    ValidatedEnvelope, ValidationContext, validate,
};
use veil_threshold::{Label, SlotRange};

const A: u64 = 10;
const B: u64 = 20;
const C: u64 = 30;

fn ids(n: usize) -> Vec<TxId> {
    (0..n).map(|i| TxId([i as u8 + 1; 32])).collect()
}

fn batch(chains: &[u64]) -> Batch {
    Batch {
        chain_id: DOMAIN,
        slot: 3,
        parent: Commitment([9; 32]),
        ids: ids(chains.len()),
        chains: chains.to_vec(),
    }
}

/// An opened batch with decrypted items `"item i"`, certified by members 1..=3.
fn opened(c: &Committee, b: &Batch) -> PlaintextBatch {
    let cert = c.certify(b, &[1, 2, 3]);
    PlaintextBatch {
        chain_id: b.chain_id,
        slot: b.slot,
        commitment: cert.commitment,
        certificate: cert,
        items: b
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| PlaintextItem {
                id: *id,
                outcome: Outcome::Decrypted(format!("item {i}").into_bytes()),
                opening: veil_protocol::Opening::Committee,
            })
            .collect(),
        shares: vec![],
        chains: b.chains.clone(),
    }
}

fn verify(c: &Committee, s: &SubBatch, rollup: u64) -> Result<Vec<SubBatchItem>, SubBatchError> {
    s.verify(&c.committee, 3, DOMAIN, rollup).map(<[_]>::to_vec)
}

// ---- the commitment and the encodings ------------------------------------------------------

#[test]
fn version_2_commitment_binds_the_chains_and_version_1_is_unchanged() {
    let v2 = batch(&[A, B, A]);
    let v1 = Batch {
        chains: vec![],
        ..v2.clone()
    };
    assert_ne!(v1.commitment(), v2.commitment());
    // Version 1: exactly the old formula.
    assert_eq!(
        v1.commitment(),
        veil_protocol::batch::commitment(DOMAIN, 3, &Commitment([9; 32]), &v1.merkle_root())
    );
    // Moving one item to another rollup changes the commitment.
    assert_ne!(batch(&[A, B, B]).commitment(), v2.commitment());
    // So does swapping two items' rollups while keeping the ids.
    assert_ne!(batch(&[B, A, A]).commitment(), v2.commitment());
    // Chain count must match the id count.
    let bad = Batch {
        chains: vec![A],
        ..v2.clone()
    };
    assert_eq!(
        bad.check(),
        Err(BatchError::ChainCount { chains: 1, ids: 3 })
    );
    let mut bytes = v2.to_bytes();
    assert_eq!(bytes[0], 2);
    assert_eq!(Batch::from_bytes(&bytes).unwrap(), v2);
    bytes[0] = 3;
    assert!(Batch::from_bytes(&bytes).is_err());
    assert_eq!(v1.to_bytes()[0], 1);
}

#[test]
fn fixtures_freeze_batch_v2_sub_batch_and_bundle_tag_bytes() {
    let b = batch(&[B, A, B]);
    assert_eq!(
        hex::encode(b.to_bytes()),
        concat!(
            "02",
            "0000000000000007",
            "0000000000000003",
            "0909090909090909090909090909090909090909090909090909090909090909",
            "00000003",
            "0101010101010101010101010101010101010101010101010101010101010101",
            "0000000000000014",
            "0202020202020202020202020202020202020202020202020202020202020202",
            "000000000000000a",
            "0303030303030303030303030303030303030303030303030303030303030303",
            "0000000000000014",
        )
    );
    assert_eq!(
        b.commitment().to_string(),
        include_str!("fixtures/batch_v2_commitment.hex").trim()
    );
    let tag = BundleTag::new([0xab; 32], 1, 2).unwrap();
    assert_eq!(
        hex::encode(tag.to_extra()),
        concat!(
            "5645494c2d42554e444c45",
            "01",
            "abababababababababababababababababababababababababababababababab",
            "0001",
            "0002"
        )
    );
    // The sub-batch encoding (its certificate comes from a seeded committee).
    let c = Committee::new(41);
    let p = opened(&c, &b);
    let s = SubBatch::extract(&p, B).unwrap();
    let bytes = s.to_bytes();
    assert_eq!(SubBatch::from_bytes(&bytes).unwrap(), s);
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        include_str!("fixtures/sub_batch.sha256").trim(),
        "sub-batch bytes changed: {}",
        hex::encode(&bytes)
    );
    let absent = SubBatch::extract(&p, C).unwrap().to_bytes();
    assert_eq!(
        hex::encode(Sha256::digest(&absent)),
        include_str!("fixtures/sub_batch_absent.sha256").trim(),
        "absent sub-batch bytes changed: {}",
        hex::encode(&absent)
    );
    // Plaintext batches of version-2 batches encode as version 2 and round-trip.
    let pb = p.to_bytes();
    assert_eq!(pb[0], 2);
    assert_eq!(PlaintextBatch::from_bytes(&pb).unwrap(), p);
}

#[test]
fn sub_batch_decoding_refuses_truncated_trailing_and_bad_tags() {
    let c = Committee::new(42);
    let p = opened(&c, &batch(&[A, B, A, C]));
    for rollup in [A, 15, C, 40] {
        let bytes = SubBatch::extract(&p, rollup).unwrap().to_bytes();
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            assert!(SubBatch::from_bytes(&bytes[..cut]).is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(SubBatch::from_bytes(&longer).is_err());
        let mut v = bytes.clone();
        v[0] = 9;
        assert!(SubBatch::from_bytes(&v).is_err());
    }
}

// ---- sub-batch proofs ----------------------------------------------------------------------

#[test]
fn every_rollup_and_every_absent_rollup_verifies() {
    let c = Committee::new(43);
    let b = batch(&[A, B, A, C, B, A]);
    let p = opened(&c, &b);
    for (rollup, positions) in [(A, vec![0, 2, 5]), (B, vec![1, 4]), (C, vec![3])] {
        let s = SubBatch::extract(&p, rollup).unwrap();
        let items = verify(&c, &s, rollup).unwrap();
        assert_eq!(
            items.iter().map(|i| i.position).collect::<Vec<_>>(),
            positions
        );
        for i in &items {
            assert_eq!(i.id, b.ids[i.position as usize]);
        }
    }
    // Below the first, between two, above the last.
    for rollup in [1, 15, 25, 99] {
        let s = SubBatch::extract(&p, rollup).unwrap();
        assert!(matches!(s.proof, RollupProof::Absent { .. }));
        assert!(verify(&c, &s, rollup).unwrap().is_empty());
    }
    // A sub-batch is not accepted as another rollup's, slot's or domain's.
    let s = SubBatch::extract(&p, A).unwrap();
    assert!(matches!(
        verify(&c, &s, B),
        Err(SubBatchError::Unexpected { .. })
    ));
    assert!(s.verify(&c.committee, 3, DOMAIN + 1, A).is_err());
    // A version-1 batch has no index.
    let v1 = Batch {
        chains: vec![],
        ..b.clone()
    };
    assert!(SubBatch::extract(&opened(&c, &v1), A).is_none());
}

#[test]
fn dropped_injected_reordered_moved_or_altered_items_are_detected() {
    let c = Committee::new(44);
    let b = batch(&[A, B, A, C, B, A]);
    let p = opened(&c, &b);
    let honest = SubBatch::extract(&p, A).unwrap();
    verify(&c, &honest, A).unwrap();

    let mut dropped = honest.clone();
    dropped.items.remove(1);
    assert_eq!(verify(&c, &dropped, A), Err(SubBatchError::Incomplete));

    let mut dropped_last = honest.clone();
    dropped_last.items.pop();
    assert_eq!(verify(&c, &dropped_last, A), Err(SubBatchError::Incomplete));

    // Another rollup's item injected at its true position.
    let mut injected = honest.clone();
    injected.items.insert(
        1,
        SubBatchItem {
            position: 1,
            id: b.ids[1],
            outcome: Outcome::Decrypted(b"x".to_vec()),
        },
    );
    assert_eq!(verify(&c, &injected, A), Err(SubBatchError::Incomplete));

    // A foreign id appended at a free position.
    let mut appended = honest.clone();
    appended.items.push(SubBatchItem {
        position: 9,
        id: TxId([0xee; 32]),
        outcome: Outcome::Invalid,
    });
    assert_eq!(verify(&c, &appended, A), Err(SubBatchError::Incomplete));

    let mut reordered = honest.clone();
    reordered.items.swap(0, 1);
    assert!(verify(&c, &reordered, A).is_err());

    // Same ids, same order, other claimed positions.
    let mut moved = honest.clone();
    moved.items[1].position = 3;
    assert_eq!(verify(&c, &moved, A), Err(SubBatchError::Incomplete));

    let mut altered = honest.clone();
    altered.items[0].id = TxId([0xee; 32]);
    assert_eq!(verify(&c, &altered, A), Err(SubBatchError::Incomplete));

    // Everything dropped, with an absence proof borrowed from a rollup that is absent.
    let mut emptied = honest.clone();
    emptied.items.clear();
    emptied.proof = SubBatch::extract(&p, 15).unwrap().proof;
    assert_eq!(verify(&c, &emptied, A), Err(SubBatchError::Incomplete));
    // Or with the neighbours of A itself (A's own leaf sits between them).
    if let RollupProof::Absent { below, above } = SubBatch::extract(&p, 25).unwrap().proof {
        emptied.proof = RollupProof::Absent { below, above };
    }
    assert_eq!(verify(&c, &emptied, A), Err(SubBatchError::Incomplete));

    // A claimed absence of B built from non-adjacent leaves (A and C).
    let a = SubBatch::extract(&p, 5).unwrap().proof;
    let c_above = SubBatch::extract(&p, 99).unwrap().proof;
    let (
        RollupProof::Absent {
            above: Some(first), ..
        },
        RollupProof::Absent {
            below: Some(last), ..
        },
    ) = (a, c_above)
    else {
        panic!("absence proofs expected");
    };
    let mut fake_absent = SubBatch::extract(&p, B).unwrap();
    fake_absent.items.clear();
    fake_absent.proof = RollupProof::Absent {
        below: Some(first),
        above: Some(last),
    };
    assert_eq!(verify(&c, &fake_absent, B), Err(SubBatchError::Incomplete));

    // The certificate must verify at quorum: two signers are not enough.
    let mut weak = honest.clone();
    weak.certificate = c.certify(&b, &[1, 2]);
    assert!(matches!(
        verify(&c, &weak, A),
        Err(SubBatchError::Certificate(_))
    ));
    // A certificate of another batch.
    let mut other = honest.clone();
    other.certificate = c.certify(&batch(&[A, B, A, C, B, B]), &[1, 2, 3]);
    assert_eq!(verify(&c, &other, A), Err(SubBatchError::Incomplete));
    let _: &OrderCertificate = &honest.certificate;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_batches_prove_every_rollup_and_detect_any_single_drop(
        chains in prop::collection::vec(prop::sample::select(vec![1u64, 2, 3, 5, 8]), 1..24),
        probe in 0u64..10,
    ) {
        let c = Committee::new(45);
        let b = batch(&chains);
        let p = opened(&c, &b);
        let index = RollupIndex::of(&b).unwrap();
        prop_assert!(index.leaves().windows(2).all(|w| w[0].chain_id < w[1].chain_id));
        let s = SubBatch::extract(&p, probe).unwrap();
        let items = verify(&c, &s, probe).unwrap();
        let expected: Vec<u32> = chains
            .iter()
            .enumerate()
            .filter(|(_, ch)| **ch == probe)
            .map(|(i, _)| i as u32)
            .collect();
        prop_assert_eq!(items.iter().map(|i| i.position).collect::<Vec<_>>(), expected.clone());
        for k in 0..items.len() {
            let mut d = s.clone();
            d.items.remove(k);
            prop_assert!(verify(&c, &d, probe).is_err());
        }
        if let Some(leaf) = index.leaves().iter().find(|l| l.chain_id == probe) {
            prop_assert_eq!(
                leaf.sub_root,
                sub_batch_root(expected.iter().map(|&p| (p, b.ids[p as usize])))
            );
        }
    }
}

// ---- members' chain check ------------------------------------------------------------------

fn ctx(c: &Committee) -> ValidationContext<'_> {
    ValidationContext {
        committee_key: c.key.public_key(),
        delay_params: c.params.as_ref(),
        chain_ids: &[A, B, C, CHAIN],
        current_slot: 0,
    }
}

fn label(chain: u64, sender: u8) -> Label {
    Label::new(
        chain,
        [sender; 32],
        SlotRange::new(0, 100).unwrap(),
        5,
        vec![],
    )
    .unwrap()
}

fn envelope(c: &mut Committee, chain: u64, msg: &[u8]) -> ValidatedEnvelope {
    let ct = c.ek.encrypt(&mut c.rng, &label(chain, 1), msg).unwrap();
    validate(&ctx(c), &TxEnvelope::Threshold(ct).to_bytes()).unwrap()
}

#[test]
fn members_check_the_listed_chains_against_the_labels() {
    let mut c = Committee::new(46);
    let envs = vec![
        envelope(&mut c, A, b"a"),
        envelope(&mut c, B, b"b"),
        envelope(&mut c, A, b"c"),
    ];
    let mut b = Batch {
        chain_id: DOMAIN,
        slot: 1,
        parent: Commitment::genesis(),
        ids: envs.iter().map(ValidatedEnvelope::id).collect(),
        chains: vec![A, B, A],
    };
    check_chains(&b, &envs).unwrap();
    b.chains[1] = A;
    assert_eq!(
        check_chains(&b, &envs),
        Err(ChainsError::Mismatch {
            index: 1,
            listed: A,
            label: B
        })
    );
    assert!(matches!(
        check_chains(&b, &envs[..2]),
        Err(ChainsError::Count { .. })
    ));
    b.chains.clear();
    check_chains(&b, &envs).unwrap();
}

// ---- bundles -------------------------------------------------------------------------------

fn bundle(c: &mut Committee, chains: &[u64]) -> Vec<ValidatedEnvelope> {
    let members: Vec<(Label, Vec<u8>)> = chains
        .iter()
        .enumerate()
        .map(|(i, ch)| (label(*ch, 7), format!("leg {i}").into_bytes()))
        .collect();
    let key = c.ek.clone();
    seal(&key, &mut c.rng, &members)
        .unwrap()
        .into_iter()
        .map(|ct| validate(&ctx(c), &TxEnvelope::Threshold(ct).to_bytes()).unwrap())
        .collect()
}

#[test]
fn sealed_bundles_carry_matching_tags_and_pass_the_vote_rule() {
    let mut c = Committee::new(47);
    let legs = bundle(&mut c, &[A, B, C]);
    check_one_bundle(&legs).unwrap();
    let members: Vec<(u64, [u8; 48])> = legs
        .iter()
        .map(|e| {
            let veil_protocol::ValidatedBody::Threshold(t) = e.body() else {
                panic!("threshold expected")
            };
            (e.label().chain_id, u_bytes(t.ciphertext()))
        })
        .collect();
    let d = bundle_digest(&members);
    for (i, e) in legs.iter().enumerate() {
        let tag = BundleTag::of_label(e.label()).unwrap().unwrap();
        assert_eq!(tag, BundleTag::new(d, i as u16, 3).unwrap());
    }
    // Ordinary items around a bundle, and two bundles back to back.
    let before = envelope(&mut c, A, b"before");
    let after = envelope(&mut c, B, b"after");
    let other = bundle(&mut c, &[B, A]);
    let mut all = vec![before];
    all.extend(legs.iter().cloned());
    all.extend(other.iter().cloned());
    all.push(after);
    assert_eq!(check_bundles(&all).unwrap(), vec![1..4, 4..6]);
    // A bundle inside a request with something else is not "one bundle".
    assert_eq!(check_one_bundle(&all[..4]), Err(BundleError::NotOneBundle));
}

#[test]
fn partial_reordered_split_foreign_miscounted_and_duplicated_bundles_are_refused() {
    let mut c = Committee::new(48);
    let legs = bundle(&mut c, &[A, B, C]);
    let plain = envelope(&mut c, A, b"plain");

    // Partial: the last member missing, or the first.
    assert!(matches!(
        check_bundles(&legs[..2]),
        Err(BundleError::Broken { position: 2, .. })
    ));
    assert!(matches!(
        check_bundles(&legs[1..]),
        Err(BundleError::Broken { position: 0, .. })
    ));
    // Reordered.
    let swapped = vec![legs[0].clone(), legs[2].clone(), legs[1].clone()];
    assert!(matches!(
        check_bundles(&swapped),
        Err(BundleError::Broken { position: 1, .. })
    ));
    // Not contiguous: an ordinary item in the middle.
    let gap = vec![
        legs[0].clone(),
        plain.clone(),
        legs[1].clone(),
        legs[2].clone(),
    ];
    assert!(matches!(
        check_bundles(&gap),
        Err(BundleError::Broken { position: 1, .. })
    ));
    // Split over two batches: each half is refused.
    assert!(check_bundles(&legs[..1]).is_err());
    assert!(check_bundles(&legs[1..]).is_err());
    // Duplicated index: member 1 twice in place of member 2.
    let dup = vec![legs[0].clone(), legs[1].clone(), legs[1].clone()];
    assert!(matches!(
        check_bundles(&dup),
        Err(BundleError::Broken { position: 2, .. })
    ));

    // Foreign U: a third party encrypts its own ciphertext under member 1's exact label
    // (valid on its own, but its U is not the one the digest names).
    let stolen_label = legs[1].label().clone();
    let forged =
        c.ek.encrypt(&mut c.rng, &stolen_label, b"front-run")
            .unwrap();
    let forged = validate(&ctx(&c), &TxEnvelope::Threshold(forged).to_bytes()).unwrap();
    let foreign = vec![legs[0].clone(), forged, legs[2].clone()];
    assert_eq!(
        check_bundles(&foreign),
        Err(BundleError::Digest { position: 0 })
    );

    // Wrong count: a member whose tag says 2 members inside a 3-member run.
    let d = BundleTag::of_label(legs[0].label())
        .unwrap()
        .unwrap()
        .digest;
    let short = BundleTag::new(d, 2, 4).unwrap();
    let l = legs[2].label();
    let relabelled =
        Label::new(l.chain_id, l.sender, l.slots, l.max_fee, short.to_extra()).unwrap();
    let miscount = c.ek.encrypt(&mut c.rng, &relabelled, b"x").unwrap();
    let miscount = validate(&ctx(&c), &TxEnvelope::Threshold(miscount).to_bytes()).unwrap();
    let wrong = vec![legs[0].clone(), legs[1].clone(), miscount];
    assert!(matches!(
        check_bundles(&wrong),
        Err(BundleError::Broken { position: 2, .. })
    ));
}

#[test]
fn bundle_tags_are_strict() {
    assert_eq!(BundleTag::from_extra(b"rollup bytes"), Ok(None));
    assert_eq!(BundleTag::from_extra(b""), Ok(None));
    let good = BundleTag::new([1; 32], 0, 2).unwrap().to_extra();
    assert!(BundleTag::from_extra(&good).unwrap().is_some());
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(
        BundleTag::from_extra(&longer),
        Err(BundleError::MalformedTag)
    );
    let mut version = good.clone();
    version[11] = 2;
    assert_eq!(
        BundleTag::from_extra(&version),
        Err(BundleError::MalformedTag)
    );
    let mut count = good.clone();
    count[46..48].copy_from_slice(&1u16.to_be_bytes());
    assert_eq!(
        BundleTag::from_extra(&count),
        Err(BundleError::Count { count: 1 })
    );
    count[46..48].copy_from_slice(&17u16.to_be_bytes());
    assert_eq!(
        BundleTag::from_extra(&count),
        Err(BundleError::Count { count: 17 })
    );
    let mut index = good.clone();
    index[44..46].copy_from_slice(&2u16.to_be_bytes());
    assert_eq!(
        BundleTag::from_extra(&index),
        Err(BundleError::Index { index: 2, count: 2 })
    );
    // Sealing refuses one member, and labels whose extra is taken.
    let mut c = Committee::new(49);
    let key = c.ek.clone();
    assert!(seal(&key, &mut c.rng, &[(label(A, 1), b"x".to_vec())]).is_err());
    let taken = Label::new(
        A,
        [1; 32],
        SlotRange::new(0, 1).unwrap(),
        0,
        b"mine".to_vec(),
    )
    .unwrap();
    assert!(seal(&key, &mut c.rng, &[(taken, vec![]), (label(B, 1), vec![])]).is_err());
}

#[test]
fn delay_and_dual_ciphertexts_cannot_be_bundle_members() {
    let mut c = Committee::new(50).with_delay();
    let params = c.params.clone().unwrap();
    let pk = params.insecure_proving_key().unwrap();
    let tag = BundleTag::new([3; 32], 0, 2).unwrap();
    let l = Label::new(
        CHAIN,
        [1; 32],
        SlotRange::new(0, 100).unwrap(),
        0,
        tag.to_extra(),
    )
    .unwrap();
    let (ct, _) =
        veil_timelock::DelayCiphertext::encrypt(&params, &pk, &l, b"d", &mut c.rng).unwrap();
    let env = TxEnvelope::delay(&params, l, &ct);
    let v = validate(&c.ctx(), &env.to_bytes()).unwrap();
    assert_eq!(
        check_bundles(&[v]),
        Err(BundleError::NotThreshold { position: 0 })
    );
}

#[test]
fn a_bundle_that_fails_in_part_is_invalid_as_a_whole() {
    let mut c = Committee::new(51);
    let legs = bundle(&mut c, &[A, B]);
    let plain = envelope(&mut c, A, b"plain");
    let envs = vec![plain.clone(), legs[0].clone(), legs[1].clone(), plain];
    let ok = |s: &str| Outcome::Decrypted(s.as_bytes().to_vec());
    let mut outcomes = vec![ok("p"), ok("l0"), Outcome::Invalid, Outcome::Invalid];
    apply_atomic_failure(&envs, &mut outcomes);
    assert_eq!(
        outcomes,
        vec![
            ok("p"),
            Outcome::Invalid,
            Outcome::Invalid,
            Outcome::Invalid
        ]
    );
    // All decrypted: nothing changes; an ordinary invalid item does not spread.
    let mut fine = vec![Outcome::Invalid, ok("l0"), ok("l1"), ok("q")];
    apply_atomic_failure(&envs, &mut fine);
    assert_eq!(fine, vec![Outcome::Invalid, ok("l0"), ok("l1"), ok("q")]);
}

#[test]
fn peek_label_reads_the_clear_label_of_every_mode() {
    let mut c = Committee::new(52).with_delay();
    let t = c.threshold_envelope(b"t");
    let (d, _) = c.delay_envelope(b"d");
    let (u, _) = c.dual_envelope(b"u");
    for env in [t, d, u] {
        assert_eq!(
            &veil_protocol::envelope::peek_label(&env.to_bytes()).unwrap(),
            env.label()
        );
    }
    assert!(veil_protocol::envelope::peek_label(&[1, 9, 0]).is_err());
    assert!(veil_protocol::envelope::peek_label(&[]).is_err());
}
