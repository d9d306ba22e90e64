//! The vote rule: every refusal, equivocation evidence, and restoring from persisted intents.

mod common;

use common::{Committee, DOMAIN};
use veil_protocol::{Batch, Commitment, Refusal, SequencerId, TxId, VoteGuard, vote::CertifiedTip};

fn ids(tag: u8, n: usize) -> Vec<TxId> {
    (0..n).map(|i| TxId([tag ^ i as u8; 32])).collect()
}

fn batch(slot: u64, parent: Commitment, tag: u8) -> Batch {
    Batch {
        chain_id: DOMAIN,
        slot,
        parent,
        ids: ids(tag, 3),
        chains: vec![],
    }
}

#[test]
fn votes_once_then_refuses_a_second_commitment_for_the_slot() {
    let c = Committee::new(1);
    let mut g = VoteGuard::new(DOMAIN);
    let a = c.propose(batch(1, Commitment::genesis(), 0xa0));
    let b = c.propose(batch(1, Commitment::genesis(), 0xb0));
    let intent = g.decide(&a, |_| true).unwrap();
    assert_eq!(intent.commitment, a.batch.commitment());
    // Deciding the same proposal again is the same vote.
    assert_eq!(g.decide(&a, |_| true).unwrap(), intent);
    match g.decide(&b, |_| true).unwrap_err() {
        Refusal::SlotConflict {
            slot,
            voted,
            evidence,
        } => {
            assert_eq!(slot, 1);
            assert_eq!(voted, intent.commitment);
            let ev = evidence.expect("same sequencer equivocated");
            ev.verify(&c.sequencer_keys).unwrap();
            assert_eq!(ev.first, a);
            assert_eq!(ev.second, b);
        }
        r => panic!("unexpected {r:?}"),
    }
}

#[test]
fn refuses_a_second_child_of_a_parent() {
    let c = Committee::new(2);
    let mut g = VoteGuard::new(DOMAIN);
    let a = c.propose(batch(1, Commitment::genesis(), 0xa0));
    g.decide(&a, |_| true).unwrap();
    // Same parent, another slot, another commitment.
    let b = c.propose(batch(2, Commitment::genesis(), 0xb0));
    let r = g.decide(&b, |_| true).unwrap_err();
    assert!(matches!(r, Refusal::ParentConflict { .. }), "{r:?}");
    r.evidence().unwrap().verify(&c.sequencer_keys).unwrap();
}

#[test]
fn refuses_a_parent_that_is_not_the_last_certified() {
    let c = Committee::new(3);
    let mut g = VoteGuard::new(DOMAIN);
    let p = c.propose(batch(1, Commitment([9; 32]), 0xa0));
    assert!(matches!(
        g.decide(&p, |_| true),
        Err(Refusal::ParentNotCertified { .. })
    ));
    // After slot 1 is certified, a child of genesis is no longer acceptable, a child of slot
    // 1's commitment is, and an old slot is stale.
    let envs_batch = batch(1, Commitment::genesis(), 0xa0);
    let cert = c.certify(&envs_batch, &[1, 2, 3]);
    g.on_certified(&cert);
    assert_eq!(g.tip().commitment, envs_batch.commitment());
    let stale_parent = c.propose(batch(2, Commitment::genesis(), 0xc0));
    assert!(matches!(
        g.decide(&stale_parent, |_| true),
        Err(Refusal::ParentNotCertified { .. })
    ));
    let stale_slot = c.propose(batch(1, envs_batch.commitment(), 0xc0));
    assert!(matches!(
        g.decide(&stale_slot, |_| true),
        Err(Refusal::StaleSlot { slot: 1, last: 1 })
    ));
    let next = c.propose(batch(2, envs_batch.commitment(), 0xd0));
    g.decide(&next, |_| true).unwrap();
}

#[test]
fn refuses_unheld_ids_and_malformed_batches_without_recording() {
    let c = Committee::new(4);
    let mut g = VoteGuard::new(DOMAIN);
    let p = c.propose(batch(1, Commitment::genesis(), 0xa0));
    let missing = p.batch.ids[1];
    match g.decide(&p, |id| *id != missing).unwrap_err() {
        Refusal::Missing {
            missing: m,
            total,
            ids,
        } => {
            assert_eq!((m, total), (1, 3));
            assert_eq!(ids, vec![missing]);
        }
        r => panic!("unexpected {r:?}"),
    }
    // Nothing was recorded: another proposal for the slot is still acceptable.
    assert_eq!(g.intent(1), None);
    let q = c.propose(batch(1, Commitment::genesis(), 0xb0));
    g.decide(&q, |_| true).unwrap();

    // Wrong service domain; duplicate ids (the sequencer cannot sign those, so forge one).
    let mut g = VoteGuard::new(DOMAIN + 1);
    assert!(matches!(
        g.decide(&p, |_| true),
        Err(Refusal::WrongChain { .. })
    ));
    let mut g = VoteGuard::new(DOMAIN);
    let mut dup = p.clone();
    dup.batch.ids[2] = dup.batch.ids[0];
    assert!(matches!(
        g.decide(&dup, |_| true),
        Err(Refusal::BadBatch(_))
    ));
    let mut empty = p;
    empty.batch.ids.clear();
    assert!(matches!(
        g.decide(&empty, |_| true),
        Err(Refusal::BadBatch(_))
    ));
}

#[test]
fn restoring_from_persisted_intents_reproduces_refusals() {
    let c = Committee::new(5);
    let mut g = VoteGuard::new(DOMAIN);
    let a = c.propose(batch(1, Commitment::genesis(), 0xa0));
    let i1 = g.decide(&a, |_| true).unwrap();
    // What storage would hold: the intent and the proposal voted for.
    let persisted = vec![i1];
    drop(g);

    for with_proposals in [false, true] {
        let proposals = if with_proposals {
            vec![a.clone()]
        } else {
            vec![]
        };
        let mut g = VoteGuard::restore(
            DOMAIN,
            CertifiedTip::genesis(),
            persisted.clone(),
            proposals,
        );
        let b = c.propose(batch(1, Commitment::genesis(), 0xb0));
        let r = g.decide(&b, |_| true).unwrap_err();
        assert!(matches!(r, Refusal::SlotConflict { .. }));
        assert_eq!(r.evidence().is_some(), with_proposals);
        let other_child = c.propose(batch(5, Commitment::genesis(), 0xc0));
        assert!(matches!(
            g.decide(&other_child, |_| true),
            Err(Refusal::ParentConflict { .. })
        ));
        // The original vote is still allowed (idempotent).
        assert_eq!(g.decide(&a, |_| true).unwrap(), i1);
    }

    // A restored tip keeps the parent rule.
    let cert = c.certify(&a.batch, &[1, 2, 3]);
    let tip = CertifiedTip {
        slot: Some(1),
        commitment: cert.commitment,
    };
    let mut g = VoteGuard::restore(DOMAIN, tip, persisted, []);
    let old = c.propose(batch(2, Commitment::genesis(), 0xe0));
    assert!(matches!(
        g.decide(&old, |_| true),
        Err(Refusal::ParentNotCertified { .. })
    ));
}

#[test]
fn different_sequencers_conflict_without_evidence() {
    let c = Committee::new(6);
    let mut g = VoteGuard::new(DOMAIN);
    let a = c.propose(batch(1, Commitment::genesis(), 0xa0));
    g.decide(&a, |_| true).unwrap();
    let mut b = c.propose(batch(1, Commitment::genesis(), 0xb0));
    b.sequencer = SequencerId(1);
    let r = g.decide(&b, |_| true).unwrap_err();
    assert!(matches!(r, Refusal::SlotConflict { .. }));
    assert!(r.evidence().is_none());
}
