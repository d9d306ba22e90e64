//! Share release only under a matching certificate; opening batches in certified order;
//! third-party verification of published plaintext batches.

mod common;

use common::Committee;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_protocol::{
    BatchOpening, Commitment, Opening, Outcome, PlaintextBatch, PlaintextError, ReleaseError,
    ReleaseGuard, SharesMessage, TxEnvelope, VerifyContext, validate,
};
use veil_squaring::Backend;

#[test]
fn release_requires_a_valid_certificate_for_exactly_this_batch() {
    let mut c = Committee::new(21);
    let envs = c.threshold_batch(3);
    let batch = c.batch(1, Commitment::genesis(), &envs);
    let guard = ReleaseGuard::new(c.committee.clone(), 3);

    // Below quorum.
    let weak = c.certify(&batch, &[1, 2]);
    assert!(matches!(
        guard.authorize(&weak, &batch),
        Err(ReleaseError::Certificate(_))
    ));
    // A valid certificate for another batch (one id different, same slot and parent).
    let mut other = batch.clone();
    other.ids.pop();
    let cert_other = c.certify(&other, &[1, 2, 3]);
    assert!(matches!(
        guard.authorize(&cert_other, &batch),
        Err(ReleaseError::Mismatch)
    ));
    // A forged certificate: right fields, signature of another commitment.
    let mut forged = cert_other.clone();
    forged.commitment = batch.commitment();
    assert!(matches!(
        guard.authorize(&forged, &batch),
        Err(ReleaseError::Certificate(_))
    ));

    let cert = c.certify(&batch, &[1, 2, 3]);
    let auth = guard.authorize(&cert, &batch).unwrap();
    assert_eq!(auth.commitment(), batch.commitment());
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    // Shares only on the certified envelopes, in order.
    let mut swapped = envs.clone();
    swapped.swap(0, 1);
    assert!(matches!(
        SharesMessage::create(&mut rng, &auth, &c.shares[0], &swapped),
        Err(ReleaseError::WrongEnvelopes { index: 0 })
    ));
    assert!(SharesMessage::create(&mut rng, &auth, &c.shares[0], &envs[..2]).is_err());
    let m = SharesMessage::create(&mut rng, &auth, &c.shares[0], &envs).unwrap();
    assert_eq!((m.slot, m.commitment, m.member), (1, batch.commitment(), 1));
    m.verify(&c.key, &batch.ids, &envs).unwrap();
}

#[test]
fn peek_reads_the_header_of_every_decodable_message_and_refuses_bad_shapes() {
    let mut c = Committee::new(22);
    let envs = c.threshold_batch(3);
    let batch = c.batch(4, Commitment::genesis(), &envs);
    let cert = c.certify(&batch, &[1, 2, 3]);
    let auth = ReleaseGuard::new(c.committee.clone(), 3)
        .authorize(&cert, &batch)
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let m = SharesMessage::create(&mut rng, &auth, &c.shares[1], &envs).unwrap();
    let bytes = m.to_bytes();
    let h = SharesMessage::peek(&bytes).unwrap();
    assert_eq!(
        (h.slot, h.commitment, h.member, h.count),
        (4, batch.commitment(), 2, 3)
    );
    // Every truncation and an extra byte: refused by both.
    for cut in [0, 1, 9, 45, 53, 54, bytes.len() - 1] {
        assert!(SharesMessage::peek(&bytes[..cut]).is_err(), "cut {cut}");
        assert!(SharesMessage::from_bytes(&bytes[..cut]).is_err());
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(SharesMessage::peek(&longer).is_err());
    // Wrong version, and a member that is not the share batch's index.
    let mut v = bytes.clone();
    v[0] = 2;
    assert!(SharesMessage::peek(&v).is_err());
    let mut other_member = bytes.clone();
    other_member[41..45].copy_from_slice(&3u32.to_be_bytes());
    assert_eq!(
        SharesMessage::peek(&other_member),
        Err(ReleaseError::MemberMismatch {
            member: 3,
            index: 2
        })
    );
    // A share that is not a point passes the shape check and fails decoding.
    let mut bad = bytes.clone();
    bad[54..102].fill(0xff);
    bad[54] = 0x9f;
    assert_eq!(SharesMessage::peek(&bad), Ok(h));
    assert!(SharesMessage::from_bytes(&bad).is_err());
}

fn open_threshold(
    c: &mut Committee,
    n: usize,
    members: &[usize],
) -> (PlaintextBatch, Vec<veil_protocol::ValidatedEnvelope>) {
    let envs = c.threshold_batch(n);
    let batch = c.batch(1, Commitment::genesis(), &envs);
    let cert = c.certify(&batch, &[1, 2, 3]);
    let auth = ReleaseGuard::new(c.committee.clone(), 3)
        .authorize(&cert, &batch)
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let shares: Vec<SharesMessage> = members
        .iter()
        .map(|&i| SharesMessage::create(&mut rng, &auth, &c.shares[i], &envs).unwrap())
        .collect();
    let mut opening = BatchOpening::new(cert, batch, envs.clone()).unwrap();
    assert!(opening.needs_shares());
    let faulty = opening.apply_shares(&c.key, None, &shares).unwrap();
    assert!(faulty.is_empty());
    (opening.finish().unwrap(), envs)
}

#[test]
fn plaintext_batch_keeps_order_and_verifies() {
    let mut c = Committee::new(22);
    let (pb, envs) = open_threshold(&mut c, 4, &[3, 0, 2]);
    let extra = c.threshold_batch(1).pop().unwrap();
    for (i, item) in pb.items.iter().enumerate() {
        assert_eq!(item.id, envs[i].id());
        assert_eq!(
            item.outcome,
            Outcome::Decrypted(format!("tx {i}").into_bytes())
        );
        assert_eq!(item.opening, Opening::Committee);
    }
    let ctx = VerifyContext {
        committee: &c.committee,
        quorum: 3,
        key: &c.key,
        delay_params: None,
    };
    pb.verify(&ctx, &envs).unwrap();
    // The encoding round-trips and still verifies.
    let back = PlaintextBatch::from_bytes(&pb.to_bytes()).unwrap();
    assert_eq!(back, pb);
    back.verify(&ctx, &envs).unwrap();
    let json = serde_json::to_string(&pb).unwrap();
    assert_eq!(serde_json::from_str::<PlaintextBatch>(&json).unwrap(), pb);

    // Reordered items (with the envelopes in the same new order): the commitment changes.
    let mut reordered = pb.clone();
    reordered.items.swap(0, 1);
    let mut envs_swapped = envs.clone();
    envs_swapped.swap(0, 1);
    assert!(reordered.verify(&ctx, &envs_swapped).is_err());
    // Reordered plaintexts under the original ids.
    let mut swapped_outcomes = pb.clone();
    let o0 = swapped_outcomes.items[0].outcome.clone();
    swapped_outcomes.items[0].outcome = swapped_outcomes.items[1].outcome.clone();
    swapped_outcomes.items[1].outcome = o0;
    assert!(matches!(
        swapped_outcomes.verify(&ctx, &envs),
        Err(PlaintextError::ItemMismatch { index: 0 })
    ));
    // A dropped item.
    let mut dropped = pb.clone();
    dropped.items.pop();
    assert!(dropped.verify(&ctx, &envs[..3]).is_err());
    assert!(dropped.verify(&ctx, &envs).is_err());
    // An injected item.
    let mut injected = pb.clone();
    injected.items.push(veil_protocol::PlaintextItem {
        id: extra.id(),
        outcome: Outcome::Decrypted(b"tx 0".to_vec()),
        opening: Opening::Committee,
    });
    let mut envs_plus = envs.clone();
    envs_plus.push(extra);
    assert!(injected.verify(&ctx, &envs_plus).is_err());
    // An altered plaintext, or one marked invalid.
    let mut altered = pb.clone();
    altered.items[2].outcome = Outcome::Decrypted(b"tx 9".to_vec());
    assert!(matches!(
        altered.verify(&ctx, &envs),
        Err(PlaintextError::ItemMismatch { index: 2 })
    ));
    let mut censored = pb.clone();
    censored.items[2].outcome = Outcome::Invalid;
    assert!(censored.verify(&ctx, &envs).is_err());
    // Shares removed below t.
    let mut unshared = pb.clone();
    unshared.shares.truncate(2);
    assert!(matches!(
        unshared.verify(&ctx, &envs),
        Err(PlaintextError::Combine(_))
    ));
}

#[test]
fn opening_needs_t_shares_and_excludes_bad_ones() {
    let mut c = Committee::new(23);
    let envs = c.threshold_batch(2);
    let batch = c.batch(1, Commitment::genesis(), &envs);
    let cert = c.certify(&batch, &[1, 2, 4]);
    let auth = ReleaseGuard::new(c.committee.clone(), 3)
        .authorize(&cert, &batch)
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let mut shares: Vec<SharesMessage> = (0..4)
        .map(|i| SharesMessage::create(&mut rng, &auth, &c.shares[i], &envs).unwrap())
        .collect();
    let mut opening = BatchOpening::new(cert.clone(), batch.clone(), envs.clone()).unwrap();
    assert!(matches!(
        opening.apply_shares(&c.key, None, &shares[..2]),
        Err(PlaintextError::Combine(_))
    ));
    assert!(matches!(
        opening.clone().finish(),
        Err(PlaintextError::NotSettled {
            pending: 2,
            total: 2
        })
    ));
    // Member 3 sends shares computed on other ciphertexts (well-formed, wrong); member 4's
    // message claims member 4 but carries member 2's shares (dropped before combining).
    let others = c.threshold_batch(2);
    let other_parts: Vec<_> = others
        .iter()
        .map(|e| e.threshold_part().unwrap().clone())
        .collect();
    shares[2].shares =
        veil_threshold::ShareBatch::create(&mut rng, &c.shares[2], &other_parts).unwrap();
    let mut impostor = shares[1].clone();
    impostor.member = 4;
    let offered = vec![
        shares[0].clone(),
        shares[2].clone(),
        impostor,
        shares[1].clone(),
        shares[3].clone(),
    ];
    let faulty = opening.apply_shares(&c.key, None, &offered).unwrap();
    assert_eq!(faulty, vec![3]);
    let pb = opening.finish().unwrap();
    assert_eq!(pb.items[1].outcome, Outcome::Decrypted(b"tx 1".to_vec()));
    // The published batch keeps only the members whose shares were used and good.
    assert!(pb.shares.iter().all(|m| m.member != 3));
    // Shares for another slot or commitment are ignored.
    let mut opening = BatchOpening::new(cert, batch, envs).unwrap();
    let mut elsewhere = shares.clone();
    for s in &mut elsewhere {
        s.slot = 2;
    }
    assert!(opening.apply_shares(&c.key, None, &elsewhere).is_err());
}

#[test]
fn delay_and_dual_items_settle_and_invalid_items_keep_their_position() {
    let mut c = Committee::new(24).with_delay();
    let params = c.params.clone().unwrap();
    let t0 = c.threshold_envelope(b"first");
    let (d, delay_secret) = c.delay_envelope(b"delayed");
    let (u, _dual_secret) = c.dual_envelope(b"dual");
    let (bad, _) = c.split_dual_envelope(b"split");
    let t1 = c.threshold_envelope(b"last");
    let envs: Vec<_> = [&t0, &d, &u, &bad, &t1]
        .iter()
        .map(|e| c.validated(e))
        .collect();
    let batch = c.batch(1, Commitment::genesis(), &envs);
    let cert = c.certify(&batch, &[1, 2, 3]);
    let auth = ReleaseGuard::new(c.committee.clone(), 3)
        .authorize(&cert, &batch)
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let shares: Vec<SharesMessage> = (0..3)
        .map(|i| SharesMessage::create(&mut rng, &auth, &c.shares[i], &envs).unwrap())
        .collect();
    // One share per committee item (threshold and dual), not for the delay item.
    assert_eq!(shares[0].shares.shares().len(), 4);

    let mut opening = BatchOpening::new(cert, batch, envs.clone()).unwrap();
    opening
        .apply_shares(&c.key, Some(&params), &shares)
        .unwrap();
    assert_eq!(opening.pending(), vec![1]);
    // A reveal for another puzzle does not open the delay item.
    let (_, other_secret) = c.delay_envelope(b"other");
    assert!(matches!(
        opening.settle_puzzle(
            1,
            &params,
            Opening::Reveal(other_secret.reveal().to_bytes())
        ),
        Err(PlaintextError::BadOpening { index: 1 })
    ));
    assert!(
        opening
            .settle_puzzle(0, &params, Opening::Committee)
            .is_ok()
    );
    opening
        .settle_puzzle(
            1,
            &params,
            Opening::Reveal(delay_secret.reveal().to_bytes()),
        )
        .unwrap();
    assert!(opening.is_complete());
    let pb = opening.finish().unwrap();
    let outcomes: Vec<_> = pb.items.iter().map(|i| i.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        vec![
            Outcome::Decrypted(b"first".to_vec()),
            Outcome::Decrypted(b"delayed".to_vec()),
            Outcome::Decrypted(b"dual".to_vec()),
            Outcome::Invalid,
            Outcome::Decrypted(b"last".to_vec()),
        ]
    );
    let ctx = VerifyContext {
        committee: &c.committee,
        quorum: 3,
        key: &c.key,
        delay_params: Some(&params),
    };
    pb.verify(&ctx, &envs).unwrap();
    // Marking the invalid item as decrypted, or the delay item invalid, fails.
    let mut lie = pb.clone();
    lie.items[3].outcome = Outcome::Decrypted(b"split".to_vec());
    assert!(lie.verify(&ctx, &envs).is_err());
    let mut lie = pb.clone();
    lie.items[1].outcome = Outcome::Invalid;
    assert!(lie.verify(&ctx, &envs).is_err());
}

#[test]
fn solver_opens_delay_and_dual_items_without_the_committee() {
    let mut c = Committee::new(25).with_delay();
    let params = c.params.clone().unwrap();
    let (d, _) = c.delay_envelope(b"slow");
    let (u, _) = c.dual_envelope(b"fallback");
    let envs: Vec<_> = [&d, &u].iter().map(|e| c.validated(e)).collect();
    let batch = c.batch(1, Commitment::genesis(), &envs);
    let cert = c.certify(&batch, &[2, 3, 4]);
    let mut opening = BatchOpening::new(cert, batch, envs.clone()).unwrap();
    for (i, e) in [&d, &u].iter().enumerate() {
        let puzzle = match e {
            TxEnvelope::Delay(body) => {
                veil_timelock::DelayCiphertext::from_bytes(&params, &body.ciphertext)
                    .unwrap()
                    .puzzle()
                    .clone()
            }
            TxEnvelope::Dual { ciphertext, .. } => {
                veil_timelock::DualCiphertext::from_bytes(&params, ciphertext)
                    .unwrap()
                    .puzzle()
                    .clone()
            }
            TxEnvelope::Threshold(_) => unreachable!(),
        };
        let solution = puzzle
            .solve_and_prove(&params, Backend::Portable, &mut |_| {
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
        opening
            .settle_puzzle(i, &params, Opening::Solution(solution.to_bytes(&params)))
            .unwrap();
    }
    let pb = opening.finish().unwrap();
    assert!(pb.shares.is_empty());
    assert_eq!(pb.items[0].outcome, Outcome::Decrypted(b"slow".to_vec()));
    assert_eq!(
        pb.items[1].outcome,
        Outcome::Decrypted(b"fallback".to_vec())
    );
    let ctx = VerifyContext {
        committee: &c.committee,
        quorum: 3,
        key: &c.key,
        delay_params: Some(&params),
    };
    pb.verify(&ctx, &envs).unwrap();
    // The solution of item 0 presented for item 1 is refused.
    let mut swapped = pb.clone();
    swapped.items[1].opening = pb.items[0].opening.clone();
    assert!(swapped.verify(&ctx, &envs).is_err());
}

#[test]
fn validation_rejects_policy_violations() {
    let mut c = Committee::new(26);
    let env = c.threshold_envelope(b"x");
    let bytes = env.to_bytes();
    let mut ctx = c.ctx();
    validate(&ctx, &bytes).unwrap();
    ctx.chain_ids = &[11];
    assert!(matches!(
        validate(&ctx, &bytes),
        Err(veil_protocol::EnvelopeError::WrongChain { chain_id: 10 })
    ));
    let mut ctx = c.ctx();
    ctx.current_slot = 1001;
    assert!(matches!(
        validate(&ctx, &bytes),
        Err(veil_protocol::EnvelopeError::Expired {
            last: 1000,
            current: 1001
        })
    ));
    // Another committee's key: the validity proof fails.
    let other = Committee::new(27);
    assert!(matches!(
        validate(&other.ctx(), &bytes),
        Err(veil_protocol::EnvelopeError::Invalid)
    ));
    // Batched validation keeps good items when one is bad.
    let good = c.threshold_envelope(b"y").to_bytes();
    let mut mauled = good.clone();
    let last = mauled.len() - 1;
    mauled[last] ^= 1;
    let results = veil_protocol::validate_batch(&c.ctx(), &[&bytes, &mauled, &good]);
    assert!(results[0].is_ok() && results[2].is_ok());
    assert!(matches!(
        results[1],
        Err(veil_protocol::EnvelopeError::Invalid)
    ));
    // Delay envelopes need delay parameters.
    let mut d = Committee::new(28).with_delay();
    let (delay, _) = d.delay_envelope(b"z");
    let mut ctx = c.ctx();
    ctx.committee_key = d.key.public_key();
    assert!(matches!(
        validate(&ctx, &delay.to_bytes()),
        Err(veil_protocol::EnvelopeError::DelayDisabled)
    ));
    validate(&d.ctx(), &delay.to_bytes()).unwrap();
}
