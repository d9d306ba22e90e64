//! Durability and idempotence of the node store: reopen after drop, idempotent inserts,
//! conflicts refused, injected write failures leave the previous state, cursors persist.

use std::path::PathBuf;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_protocol::vote::CertifiedTip;
use veil_protocol::{
    Batch, BatchOpening, CertificateBuilder, Commitment, Evidence, OrderCertificate, Progress,
    Proposal, Refusal, ReleaseGuard, SequencerId, SharesMessage, TxId, ValidatedEnvelope,
    ValidationContext, Vote, VoteGuard, VoteIntent, validate,
};
use veil_storage::{Inserted, Storage, StorageError};
use veil_threshold::{
    BlsPublicKey, EncryptionKey, KeyShare, Label, SigningKey, SlotRange, ThresholdKey, hazmat,
};

const DOMAIN: u64 = 3;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("veil-storage-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    fn db(&self) -> PathBuf {
        self.0.join("node.redb")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct World {
    rng: ChaCha20Rng,
    key: ThresholdKey,
    shares: Vec<KeyShare>,
    bls: Vec<SigningKey>,
    committee: Vec<BlsPublicKey>,
    sequencer: SigningKey,
}

impl World {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (key, shares) = hazmat::deal(&mut rng, 3, 4).unwrap();
        let bls: Vec<SigningKey> = (0..4).map(|_| SigningKey::generate(&mut rng)).collect();
        let committee = bls.iter().map(SigningKey::public_key).collect();
        let sequencer = SigningKey::generate(&mut rng);
        Self {
            rng,
            key,
            shares,
            bls,
            committee,
            sequencer,
        }
    }

    fn envelopes(&mut self, n: usize) -> Vec<ValidatedEnvelope> {
        let ek = EncryptionKey::new(self.key.public_key());
        let label = Label::new(1, [4; 32], SlotRange::new(0, 99).unwrap(), 1, vec![]).unwrap();
        let ctx = ValidationContext {
            committee_key: self.key.public_key(),
            delay_params: None,
            chain_ids: &[1],
            current_slot: 0,
        };
        (0..n)
            .map(|i| {
                let ct = ek
                    .encrypt(&mut self.rng, &label, format!("m{i}").as_bytes())
                    .unwrap();
                validate(&ctx, &veil_protocol::TxEnvelope::Threshold(ct).to_bytes()).unwrap()
            })
            .collect()
    }

    fn proposal(&self, slot: u64, parent: Commitment, ids: Vec<TxId>) -> Proposal {
        let batch = Batch {
            chain_id: DOMAIN,
            slot,
            parent,
            ids,
            chains: vec![],
        };
        Proposal::sign(&self.sequencer, SequencerId(0), batch).unwrap()
    }

    fn certify(&self, batch: &Batch) -> OrderCertificate {
        let intent = VoteIntent {
            slot: batch.slot,
            parent: batch.parent,
            commitment: batch.commitment(),
        };
        let mut b = CertificateBuilder::new(intent, self.committee.clone(), 3);
        for m in 1..=3u32 {
            if let Progress::Certified(c) = b
                .add(&Vote::sign(&self.bls[m as usize - 1], m, &intent))
                .unwrap()
            {
                return c;
            }
        }
        unreachable!("three votes reach the quorum")
    }
}

#[test]
fn everything_acknowledged_survives_reopening() {
    let dir = TempDir::new("reopen");
    let mut w = World::new(1);
    let envs = w.envelopes(4);
    let proposal = w.proposal(
        1,
        Commitment::genesis(),
        envs[..3].iter().map(|e| e.id()).collect(),
    );
    let cert = w.certify(&proposal.batch);
    let auth = ReleaseGuard::new(w.committee.clone(), 3)
        .authorize(&cert, &proposal.batch)
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let shares: Vec<SharesMessage> = (0..3)
        .map(|i| SharesMessage::create(&mut rng, &auth, &w.shares[i], &envs[..3]).unwrap())
        .collect();
    let mut opening =
        BatchOpening::new(cert.clone(), proposal.batch.clone(), envs[..3].to_vec()).unwrap();
    opening.apply_shares(&w.key, None, &shares).unwrap();
    let plaintext = opening.finish().unwrap();
    let other = w.proposal(1, Commitment::genesis(), vec![envs[3].id()]);
    let evidence = Evidence::from_conflict(&proposal, &other).unwrap();
    let intent;
    {
        let s = Storage::open(dir.db()).unwrap();
        let refs: Vec<&ValidatedEnvelope> = envs.iter().collect();
        let ins = s.insert_envelopes(&refs).unwrap();
        assert_eq!(
            ins,
            (0..4).map(|seq| Inserted::New { seq }).collect::<Vec<_>>()
        );
        let mut guard = s.restore_guard(DOMAIN).unwrap();
        intent = guard
            .decide(&proposal, |id| s.has_envelope(id).unwrap())
            .unwrap();
        s.record_vote_intent(&intent, &proposal).unwrap();
        s.record_evidence(&evidence).unwrap();
        assert!(s.record_certificate(&cert, &proposal.batch).unwrap());
        s.record_own_shares(&shares[1]).unwrap();
        for m in &shares {
            assert!(s.record_received_shares(m).unwrap());
        }
        s.record_plaintext(&plaintext).unwrap();
        s.set_cursor("rollup-a", 2).unwrap();
        s.set_cursor("rollup-b", 1).unwrap();
    }
    let s = Storage::open(dir.db()).unwrap();
    assert_eq!(s.envelope_count().unwrap(), 4);
    for (i, e) in envs.iter().enumerate() {
        let stored = s.envelope(&e.id()).unwrap().unwrap();
        assert_eq!(stored.seq, i as u64);
        assert_eq!(stored.encoding, e.encoding());
        assert_eq!(stored.envelope().unwrap(), *e.envelope());
    }
    // Certified ids left the pending queue; the fourth is still pending.
    assert_eq!(s.pending(10).unwrap(), vec![envs[3].id()]);
    assert_eq!(s.vote_intents().unwrap(), vec![intent]);
    assert_eq!(s.voted_proposal(1).unwrap(), Some(proposal.clone()));
    assert_eq!(s.evidence().unwrap(), vec![evidence]);
    assert_eq!(s.certificate(1).unwrap(), Some(cert.clone()));
    assert_eq!(s.certified_batch(1).unwrap(), Some(proposal.batch.clone()));
    assert_eq!(s.certified_slots(0, 10).unwrap(), vec![1]);
    assert_eq!(
        s.last_certified().unwrap(),
        CertifiedTip {
            slot: Some(1),
            commitment: cert.commitment
        }
    );
    let pos = s.position(&envs[2].id()).unwrap().unwrap();
    assert_eq!((pos.slot, pos.index), (1, 2));
    assert_eq!(s.position(&envs[3].id()).unwrap(), None);
    assert_eq!(s.own_shares(1).unwrap(), Some(shares[1].clone()));
    assert_eq!(s.received_shares(1).unwrap(), shares);
    assert_eq!(s.received_share_members(1).unwrap(), vec![1, 2, 3]);
    assert_eq!(s.received_share_members(0).unwrap(), Vec::<u32>::new());
    assert_eq!(s.received_shares(2).unwrap(), vec![]);
    assert_eq!(s.plaintext(1).unwrap(), Some(plaintext.clone()));
    assert_eq!(s.plaintexts_from(0, 5).unwrap(), vec![plaintext]);
    assert_eq!(s.cursor("rollup-a").unwrap(), Some(2));
    assert_eq!(s.cursor("nobody").unwrap(), None);
    assert_eq!(
        s.cursors().unwrap(),
        vec![("rollup-a".to_string(), 2), ("rollup-b".to_string(), 1)]
    );
    // The restored guard is past slot 1 (certified) and refuses its siblings.
    let mut guard = s.restore_guard(DOMAIN).unwrap();
    assert_eq!(guard.tip().commitment, cert.commitment);
    assert!(matches!(
        guard.decide(&other, |_| true),
        Err(Refusal::ParentNotCertified { .. })
    ));
}

#[test]
fn restored_guard_refuses_conflicts_of_an_uncertified_vote() {
    let dir = TempDir::new("guard");
    let mut w = World::new(2);
    let envs = w.envelopes(2);
    let a = w.proposal(1, Commitment::genesis(), vec![envs[0].id()]);
    let b = w.proposal(1, Commitment::genesis(), vec![envs[1].id()]);
    {
        let s = Storage::open(dir.db()).unwrap();
        let mut guard = s.restore_guard(DOMAIN).unwrap();
        let intent = guard.decide(&a, |_| true).unwrap();
        s.record_vote_intent(&intent, &a).unwrap();
        // "Crash" before signing: drop everything.
    }
    let s = Storage::open(dir.db()).unwrap();
    let mut guard = s.restore_guard(DOMAIN).unwrap();
    let r = guard.decide(&b, |_| true).unwrap_err();
    assert!(matches!(r, Refusal::SlotConflict { .. }));
    assert!(
        r.evidence().is_some(),
        "the voted proposal was restored too"
    );
    // Storage itself refuses a conflicting intent even without the guard.
    let other = VoteIntent {
        slot: 1,
        parent: Commitment::genesis(),
        commitment: b.batch.commitment(),
    };
    assert!(matches!(
        s.record_vote_intent(&other, &b),
        Err(StorageError::Conflict { .. })
    ));
    let sibling = VoteIntent {
        slot: 2,
        parent: Commitment::genesis(),
        commitment: b.batch.commitment(),
    };
    assert!(matches!(
        s.record_vote_intent(&sibling, &b),
        Err(StorageError::Conflict { .. })
    ));
}

#[test]
fn inserts_are_idempotent() {
    let dir = TempDir::new("idem");
    let mut w = World::new(3);
    let envs = w.envelopes(2);
    let s = Storage::open(dir.db()).unwrap();
    assert_eq!(
        s.insert_envelope(&envs[0]).unwrap(),
        Inserted::New { seq: 0 }
    );
    assert_eq!(
        s.insert_envelope(&envs[0]).unwrap(),
        Inserted::AlreadyKnown { seq: 0 }
    );
    // A bulk insert mixing known and new keeps order and sequence numbers.
    let ins = s.insert_envelopes(&[&envs[1], &envs[0], &envs[1]]).unwrap();
    assert_eq!(
        ins,
        vec![
            Inserted::New { seq: 1 },
            Inserted::AlreadyKnown { seq: 0 },
            Inserted::AlreadyKnown { seq: 1 }
        ]
    );
    assert!(!ins[1].is_new());
    assert_eq!(s.pending(10).unwrap(), vec![envs[0].id(), envs[1].id()]);
    assert_eq!(s.pending(1).unwrap(), vec![envs[0].id()]);
    assert_eq!(s.pending_count().unwrap(), 2);
    let got = s
        .envelopes(&[envs[1].id(), TxId([0; 32]), envs[0].id()])
        .unwrap();
    assert_eq!(got[0].as_ref().unwrap().encoding, envs[1].encoding());
    assert!(got[1].is_none());
    assert_eq!(got[2].as_ref().unwrap().seq, 0);

    let p = w.proposal(1, Commitment::genesis(), vec![envs[1].id()]);
    let intent = VoteGuard::new(DOMAIN).decide(&p, |_| true).unwrap();
    s.record_vote_intent(&intent, &p).unwrap();
    s.record_vote_intent(&intent, &p).unwrap();
    assert_eq!(s.vote_intents().unwrap().len(), 1);
    let cert = w.certify(&p.batch);
    assert!(s.record_certificate(&cert, &p.batch).unwrap());
    assert!(!s.record_certificate(&cert, &p.batch).unwrap());
    assert_eq!(s.pending(10).unwrap(), vec![envs[0].id()]);
    // Dropping an expired id from the queue keeps the envelope.
    assert_eq!(s.remove_pending(&[envs[0].id(), envs[1].id()]).unwrap(), 1);
    assert_eq!(s.pending(10).unwrap(), vec![]);
    assert!(s.has_envelope(&envs[0].id()).unwrap());
    // A certificate that does not match the batch is refused.
    let mut wrong = p.batch.clone();
    wrong.ids = vec![envs[0].id()];
    assert!(s.record_certificate(&cert, &wrong).is_err());
    let ev = Evidence::from_conflict(
        &p,
        &w.proposal(1, Commitment::genesis(), vec![envs[0].id()]),
    )
    .unwrap();
    s.record_evidence(&ev).unwrap();
    s.record_evidence(&ev).unwrap();
    assert_eq!(s.evidence().unwrap().len(), 1);
}

#[test]
fn an_injected_write_failure_is_an_error_and_changes_nothing() {
    let dir = TempDir::new("fault");
    let mut w = World::new(4);
    let envs = w.envelopes(3);
    let p = w.proposal(1, Commitment::genesis(), vec![envs[0].id()]);
    let intent = VoteGuard::new(DOMAIN).decide(&p, |_| true).unwrap();
    {
        // Two writes succeed, every later one fails.
        let s = Storage::with_fail_after(dir.db(), 2).unwrap();
        s.insert_envelope(&envs[0]).unwrap();
        s.set_cursor("c", 5).unwrap();
        assert!(matches!(
            s.insert_envelopes(&[&envs[1], &envs[2]]),
            Err(StorageError::Injected)
        ));
        assert!(matches!(
            s.record_vote_intent(&intent, &p),
            Err(StorageError::Injected)
        ));
        assert!(matches!(s.set_cursor("c", 9), Err(StorageError::Injected)));
        // Reads still see exactly the committed state.
        assert!(!s.has_envelope(&envs[1].id()).unwrap());
        assert_eq!(s.vote_intents().unwrap(), vec![]);
        assert_eq!(s.cursor("c").unwrap(), Some(5));
    }
    // And so does a fresh handle: nothing of the failed writes reached the file, and the
    // sequence counter did not advance.
    let s = Storage::open(dir.db()).unwrap();
    assert_eq!(s.envelope_count().unwrap(), 1);
    assert_eq!(s.pending(10).unwrap(), vec![envs[0].id()]);
    assert_eq!(s.cursor("c").unwrap(), Some(5));
    assert_eq!(s.vote_intents().unwrap(), vec![]);
    assert_eq!(
        s.insert_envelope(&envs[1]).unwrap(),
        Inserted::New { seq: 1 }
    );
    // With the intent not durable, the restored guard may vote for it (nothing was signed).
    let mut guard = s.restore_guard(DOMAIN).unwrap();
    assert_eq!(guard.decide(&p, |_| true).unwrap(), intent);
}

#[test]
fn cursors_persist_and_move_both_ways() {
    let dir = TempDir::new("cursor");
    {
        let s = Storage::open(dir.db()).unwrap();
        s.set_cursor("x", 10).unwrap();
        s.set_cursor("x", 11).unwrap();
    }
    {
        let s = Storage::open(dir.db()).unwrap();
        assert_eq!(s.cursor("x").unwrap(), Some(11));
        // A consumer may rewind to replay.
        s.set_cursor("x", 3).unwrap();
    }
    let s = Storage::open(dir.db()).unwrap();
    assert_eq!(s.cursor("x").unwrap(), Some(3));
}

#[test]
fn plaintext_and_own_shares_conflicts_are_refused() {
    let dir = TempDir::new("conflict");
    let mut w = World::new(5);
    let envs = w.envelopes(2);
    let p = w.proposal(
        1,
        Commitment::genesis(),
        envs.iter().map(|e| e.id()).collect(),
    );
    let cert = w.certify(&p.batch);
    let auth = ReleaseGuard::new(w.committee.clone(), 3)
        .authorize(&cert, &p.batch)
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let a = SharesMessage::create(&mut rng, &auth, &w.shares[0], &envs).unwrap();
    let b = SharesMessage::create(&mut rng, &auth, &w.shares[0], &envs).unwrap();
    assert_ne!(a, b, "fresh proof randomness");
    let s = Storage::open(dir.db()).unwrap();
    s.record_own_shares(&a).unwrap();
    s.record_own_shares(&a).unwrap();
    assert!(matches!(
        s.record_own_shares(&b),
        Err(StorageError::Conflict { .. })
    ));
    assert_eq!(s.own_shares(1).unwrap(), Some(a.clone()));
    // Received shares: the first per member wins.
    assert!(s.record_received_shares(&a).unwrap());
    assert!(!s.record_received_shares(&b).unwrap());
    assert_eq!(s.received_shares(1).unwrap(), vec![a]);
}

#[test]
fn puzzle_openings_and_forwarding_state_persist_and_failed_writes_change_nothing() {
    use veil_protocol::Opening;
    use veil_storage::ForwardResult;
    let dir = TempDir::new("openings");
    let (a, b) = (TxId([1; 32]), TxId([2; 32]));
    let accepted = ForwardResult::Accepted {
        detail: "0xabc".into(),
    };
    {
        let s = Storage::open(dir.db()).unwrap();
        assert_eq!(s.opening(&a).unwrap(), None);
        assert!(
            s.record_opening(&a, &Opening::Reveal(vec![4, 1, 9]))
                .unwrap()
        );
        // The first opening is kept; a second one (any valid opening gives the same key)
        // changes nothing.
        assert!(
            !s.record_opening(&a, &Opening::Solution(vec![3, 1]))
                .unwrap()
        );
        assert!(matches!(
            s.record_opening(&b, &Opening::Committee),
            Err(StorageError::Conflict { .. })
        ));
        assert_eq!(s.forward_cursor("eth").unwrap(), None);
        s.record_forwarded("eth", Some((&a, &accepted)), (1, 1))
            .unwrap();
        s.record_forwarded("eth", None, (2, 0)).unwrap();
    }
    {
        let s = Storage::with_fail_after(dir.db(), 0).unwrap();
        let rejected = ForwardResult::Rejected {
            code: -32000,
            message: "nonce too low".into(),
        };
        assert!(matches!(
            s.record_forwarded("eth", Some((&b, &rejected)), (2, 1)),
            Err(StorageError::Injected)
        ));
        assert!(matches!(
            s.record_opening(&b, &Opening::Solution(vec![7])),
            Err(StorageError::Injected)
        ));
    }
    let s = Storage::open(dir.db()).unwrap();
    assert_eq!(s.opening(&a).unwrap(), Some(Opening::Reveal(vec![4, 1, 9])));
    assert_eq!(s.opening(&b).unwrap(), None);
    assert_eq!(s.forward_cursor("eth").unwrap(), Some((2, 0)));
    assert_eq!(s.forwarded(&a).unwrap(), Some(accepted));
    assert_eq!(s.forwarded(&b).unwrap(), None);
}

#[test]
fn forward_result_encoding_is_frozen_and_strict() {
    use veil_storage::ForwardResult;
    let ok = ForwardResult::Accepted {
        detail: "0x01".into(),
    };
    assert_eq!(ok.to_bytes(), [&[0u8, 0, 0, 0, 4][..], b"0x01"].concat());
    let err = ForwardResult::Rejected {
        code: -32000,
        message: "nonce".into(),
    };
    assert_eq!(
        err.to_bytes(),
        [
            &[
                1u8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x83, 0x00, 0, 0, 0, 5
            ][..],
            b"nonce"
        ]
        .concat()
    );
    for r in [&ok, &err] {
        assert_eq!(&ForwardResult::from_bytes(&r.to_bytes()).unwrap(), r);
    }
    for bad in [
        &[][..],
        &[2],
        &[0, 0, 0, 0],
        &[0, 0, 0, 0, 2, b'a'],
        &[0, 0, 0, 0, 1, b'a', b'b'],
        &[0, 0, 0, 0, 1, 0xff],
        &[1, 0, 0],
    ] {
        assert!(ForwardResult::from_bytes(bad).is_err(), "{bad:?}");
    }
    // Over-long text is cut at a character boundary, so what is stored always decodes.
    let long = ForwardResult::Rejected {
        code: 1,
        message: "é".repeat(veil_storage::MAX_FORWARD_DETAIL),
    };
    let decoded = ForwardResult::from_bytes(&long.to_bytes()).unwrap();
    let ForwardResult::Rejected { message, .. } = decoded else {
        panic!()
    };
    assert_eq!(message.len(), veil_storage::MAX_FORWARD_DETAIL);
}

#[test]
fn received_share_encodings_are_kept_as_sent_and_invalid_points_are_skipped_on_decoding() {
    let dir = TempDir::new("share-encodings");
    let mut w = World::new(6);
    let envs = w.envelopes(2);
    let p = w.proposal(
        1,
        Commitment::genesis(),
        envs.iter().map(|e| e.id()).collect(),
    );
    let cert = w.certify(&p.batch);
    let auth = ReleaseGuard::new(w.committee.clone(), 3)
        .authorize(&cert, &p.batch)
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let good = SharesMessage::create(&mut rng, &auth, &w.shares[0], &envs).unwrap();
    let other = SharesMessage::create(&mut rng, &auth, &w.shares[1], &envs).unwrap();
    // Member 2's message with its first share point replaced by bytes that are no point
    // (x ≥ p): the shape is right, the points are not.
    let mut bad = other.to_bytes();
    let first_point = 1 + 8 + 32 + 4 + 9;
    bad[first_point..first_point + 48].fill(0xff);
    bad[first_point] = 0x9f;
    assert!(SharesMessage::peek(&bad).is_ok());
    assert!(SharesMessage::from_bytes(&bad).is_err());
    let s = Storage::open(dir.db()).unwrap();
    assert!(
        s.record_received_share_encoding(1, 1, &good.to_bytes())
            .unwrap()
    );
    assert!(s.record_received_share_encoding(1, 2, &bad).unwrap());
    // First per member and slot wins, whichever way it was recorded.
    assert!(
        !s.record_received_share_encoding(1, 2, &other.to_bytes())
            .unwrap()
    );
    assert!(!s.record_received_shares(&other).unwrap());
    assert!(!s.record_received_shares(&good).unwrap());
    assert_eq!(
        s.received_share_encodings(1).unwrap(),
        vec![(1, good.to_bytes()), (2, bad.clone())]
    );
    assert_eq!(s.received_share_members(1).unwrap(), vec![1, 2]);
    assert_eq!(s.received_shares(1).unwrap(), vec![good.clone()]);
    assert_eq!(s.received_share_encodings(2).unwrap(), vec![]);
    drop(s);
    let s = Storage::open(dir.db()).unwrap();
    assert_eq!(
        s.received_share_encodings(1).unwrap(),
        vec![(1, good.to_bytes()), (2, bad)]
    );
}
