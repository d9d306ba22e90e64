//! Wire formats: fixtures freezing the bytes of known values, round trips (proptest), and
//! refusal of malformed, oversized, truncated and trailing input.

mod common;

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};
use veil_protocol::vote::CertifiedTip;
use veil_protocol::{
    Batch, Commitment, Evidence, MAX_ENVELOPE, MemberMessage, MessageKind, Opening,
    OrderCertificate, Outcome, PlaintextBatch, PlaintextItem, Proposal, Receipt, ReceiptSubject,
    ReleaseGuard, SequencerId, SharesMessage, SignedMessage, TxEnvelope, TxId, Vote, VoteIntent,
    merkle_root,
};
use veil_threshold::SigningKey;

/// Deterministic values of every encoded type.
struct Values {
    envelope: TxEnvelope,
    batch: Batch,
    proposal: Proposal,
    evidence: Evidence,
    intent: VoteIntent,
    vote: Vote,
    certificate: OrderCertificate,
    shares: SharesMessage,
    plaintext: PlaintextBatch,
    receipt: Receipt,
    bulk_receipt: Receipt,
    message: SignedMessage,
}

fn values() -> Values {
    let mut c = common::Committee::new(99);
    let envelope = c.threshold_envelope(b"fixture");
    let env = c.validated(&envelope);
    let batch = c.batch(5, Commitment::genesis(), std::slice::from_ref(&env));
    let proposal = c.propose(batch.clone());
    let other = c.propose(Batch {
        ids: vec![TxId([0x55; 32])],
        ..batch.clone()
    });
    let evidence = Evidence::from_conflict(&proposal, &other).unwrap();
    let intent = VoteIntent {
        slot: 5,
        parent: batch.parent,
        commitment: batch.commitment(),
    };
    let vote = c.vote(2, &intent);
    let certificate = c.certify(&batch, &[1, 2, 4]);
    let auth = ReleaseGuard::new(c.committee.clone(), 3)
        .authorize(&certificate, &batch)
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let shares =
        SharesMessage::create(&mut rng, &auth, &c.shares[1], std::slice::from_ref(&env)).unwrap();
    let plaintext = PlaintextBatch {
        chain_id: batch.chain_id,
        slot: 5,
        commitment: batch.commitment(),
        certificate: certificate.clone(),
        items: vec![PlaintextItem {
            id: env.id(),
            outcome: Outcome::Decrypted(b"fixture".to_vec()),
            opening: Opening::Committee,
        }],
        shares: vec![shares.clone()],
        chains: vec![],
    };
    let receipt = Receipt::sign(&c.bls[0], 1, ReceiptSubject::Transaction(env.id()));
    let bulk_receipt = Receipt::sign(
        &c.bls[2],
        3,
        ReceiptSubject::bulk(&[env.id(), TxId([1; 32])]),
    );
    let message = MemberMessage::Vote(vote.clone()).sign(&c.bls[1], 2);
    Values {
        envelope,
        batch,
        proposal,
        evidence,
        intent,
        vote,
        certificate,
        shares,
        plaintext,
        receipt,
        bulk_receipt,
        message,
    }
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

#[test]
fn fixtures_freeze_the_bytes() {
    let v = values();
    let fixtures: Vec<(&str, Vec<u8>)> = vec![
        ("genesis", Commitment::genesis().0.to_vec()),
        ("merkle_root_empty", merkle_root(&[]).to_vec()),
        ("envelope", v.envelope.to_bytes()),
        ("envelope_id", v.envelope.id().0.to_vec()),
        ("batch", v.batch.to_bytes()),
        ("commitment", v.batch.commitment().0.to_vec()),
        ("proposal", v.proposal.to_bytes()),
        ("evidence", v.evidence.to_bytes()),
        ("intent", v.intent.to_bytes()),
        ("vote", v.vote.to_bytes()),
        ("certificate", v.certificate.to_bytes()),
        ("shares", v.shares.to_bytes()),
        ("plaintext", v.plaintext.to_bytes()),
        ("receipt", v.receipt.to_bytes()),
        ("bulk_receipt", v.bulk_receipt.to_bytes()),
        ("message", v.message.to_bytes()),
    ];
    let got: Vec<(&str, usize, String)> = fixtures
        .iter()
        .map(|(name, b)| (*name, b.len(), sha(b)))
        .collect();
    let expected = include_str!("fixtures/encodings.txt");
    let expected: Vec<(String, usize, String)> = expected
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut p = l.split_whitespace();
            (
                p.next().unwrap().to_string(),
                p.next().unwrap().parse().unwrap(),
                p.next().unwrap().to_string(),
            )
        })
        .collect();
    if std::env::var_os("VEIL_PRINT_FIXTURES").is_some() {
        for (n, l, h) in &got {
            println!("{n} {l} {h}");
        }
        println!("intent.hex {}", hex::encode(v.intent.to_bytes()));
        println!("batch.hex {}", hex::encode(v.batch.to_bytes()));
    }
    assert_eq!(got.len(), expected.len());
    for ((n, l, h), (en, el, eh)) in got.iter().zip(&expected) {
        assert_eq!(
            (*n, *l, h.as_str()),
            (en.as_str(), *el, eh.as_str()),
            "fixture {n}"
        );
    }
    // The small encodings are also frozen byte for byte.
    assert_eq!(
        hex::encode(v.intent.to_bytes()),
        include_str!("fixtures/intent.hex").trim()
    );
    assert_eq!(
        hex::encode(v.batch.to_bytes()),
        include_str!("fixtures/batch.hex").trim()
    );
}

/// Every strict prefix and every one-byte extension of `bytes` must fail to decode.
fn rejects_truncation_and_trailing<T, E>(bytes: &[u8], decode: impl Fn(&[u8]) -> Result<T, E>) {
    for cut in 0..bytes.len() {
        assert!(
            decode(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes accepted"
        );
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(decode(&longer).is_err(), "trailing byte accepted");
    let mut wrong_version = bytes.to_vec();
    wrong_version[0] ^= 0x80;
    assert!(decode(&wrong_version).is_err(), "wrong version accepted");
}

#[test]
fn every_type_round_trips_and_rejects_truncated_trailing_and_versioned_input() {
    let v = values();
    assert_eq!(
        TxEnvelope::from_bytes(&v.envelope.to_bytes()).unwrap(),
        v.envelope
    );
    rejects_truncation_and_trailing(&v.envelope.to_bytes(), TxEnvelope::from_bytes);
    assert_eq!(Batch::from_bytes(&v.batch.to_bytes()).unwrap(), v.batch);
    rejects_truncation_and_trailing(&v.batch.to_bytes(), Batch::from_bytes);
    assert_eq!(
        Proposal::from_bytes(&v.proposal.to_bytes()).unwrap(),
        v.proposal
    );
    rejects_truncation_and_trailing(&v.proposal.to_bytes(), Proposal::from_bytes);
    assert_eq!(
        Evidence::from_bytes(&v.evidence.to_bytes()).unwrap(),
        v.evidence
    );
    rejects_truncation_and_trailing(&v.evidence.to_bytes(), Evidence::from_bytes);
    assert_eq!(
        VoteIntent::from_bytes(&v.intent.to_bytes()).unwrap(),
        v.intent
    );
    rejects_truncation_and_trailing(&v.intent.to_bytes(), VoteIntent::from_bytes);
    assert_eq!(Vote::from_bytes(&v.vote.to_bytes()).unwrap(), v.vote);
    rejects_truncation_and_trailing(&v.vote.to_bytes(), Vote::from_bytes);
    assert_eq!(
        OrderCertificate::from_bytes(&v.certificate.to_bytes()).unwrap(),
        v.certificate
    );
    rejects_truncation_and_trailing(&v.certificate.to_bytes(), OrderCertificate::from_bytes);
    assert_eq!(
        SharesMessage::from_bytes(&v.shares.to_bytes()).unwrap(),
        v.shares
    );
    rejects_truncation_and_trailing(&v.shares.to_bytes(), SharesMessage::from_bytes);
    assert_eq!(
        PlaintextBatch::from_bytes(&v.plaintext.to_bytes()).unwrap(),
        v.plaintext
    );
    rejects_truncation_and_trailing(&v.plaintext.to_bytes(), PlaintextBatch::from_bytes);
    for r in [&v.receipt, &v.bulk_receipt] {
        assert_eq!(&Receipt::from_bytes(&r.to_bytes()).unwrap(), r);
        rejects_truncation_and_trailing(&r.to_bytes(), Receipt::from_bytes);
    }
    assert_eq!(
        SignedMessage::from_bytes(&v.message.to_bytes()).unwrap(),
        v.message
    );
    rejects_truncation_and_trailing(&v.message.to_bytes(), SignedMessage::from_bytes);
}

#[test]
fn json_forms_round_trip_with_hex_bytes() {
    let v = values();
    fn rt<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
        x: &T,
    ) -> String {
        let s = serde_json::to_string(x).unwrap();
        assert_eq!(&serde_json::from_str::<T>(&s).unwrap(), x);
        s
    }
    let env = rt(&v.envelope);
    assert_eq!(env, format!("\"{}\"", hex::encode(v.envelope.to_bytes())));
    let b = rt(&v.batch);
    assert!(b.contains(&format!("\"parent\":\"{}\"", hex::encode(v.batch.parent.0))));
    rt(&v.proposal);
    rt(&v.evidence);
    rt(&v.intent);
    rt(&v.vote);
    rt(&v.certificate);
    rt(&v.shares);
    rt(&v.plaintext);
    rt(&v.receipt);
    rt(&v.bulk_receipt);
    rt(&v.message);
    rt(&CertifiedTip::genesis());
    // Invalid hex, wrong lengths and invalid points are refused in JSON too.
    assert!(serde_json::from_str::<TxId>("\"zz\"").is_err());
    assert!(serde_json::from_str::<TxId>(&format!("\"{}\"", "ab".repeat(31))).is_err());
    let mut bad_vote = serde_json::to_value(&v.vote).unwrap();
    bad_vote["signature"] = serde_json::Value::String("00".repeat(96));
    assert!(serde_json::from_value::<Vote>(bad_vote).is_err());
}

#[test]
fn malformed_and_oversized_input_is_refused() {
    let v = values();
    // Oversized envelope.
    let mut big = v.envelope.to_bytes();
    big.resize(MAX_ENVELOPE + 1, 0);
    assert!(matches!(
        TxEnvelope::from_bytes(&big),
        Err(veil_protocol::EnvelopeError::Codec(
            veil_protocol::CodecError::TooLarge { .. }
        ))
    ));
    // Unknown mode.
    let mut bad = v.envelope.to_bytes();
    bad[1] = 9;
    assert!(matches!(
        TxEnvelope::from_bytes(&bad),
        Err(veil_protocol::EnvelopeError::UnknownMode(9))
    ));
    // A batch count larger than its bytes, and a batch with a duplicate id.
    let mut b = v.batch.to_bytes();
    b[49..53].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(Batch::from_bytes(&b).is_err());
    let mut dup = v.batch.clone();
    dup.ids.push(dup.ids[0]);
    assert!(matches!(
        Batch::from_bytes(&dup.to_bytes()),
        Err(veil_protocol::BatchError::DuplicateId(_))
    ));
    // A signature that is not a curve point.
    let mut vote = v.vote.to_bytes();
    let n = vote.len();
    vote[n - 96..].fill(0xff);
    assert!(Vote::from_bytes(&vote).is_err());
    // A shares message whose member disagrees with its shares.
    let mut s = v.shares.to_bytes();
    s[41..45].copy_from_slice(&9u32.to_be_bytes());
    assert!(matches!(
        SharesMessage::from_bytes(&s),
        Err(veil_protocol::ReleaseError::MemberMismatch {
            member: 9,
            index: 2
        })
    ));
    // Unknown message kind; unknown outcome tag.
    let mut m = v.message.to_bytes();
    m[5] = 42;
    assert!(SignedMessage::from_bytes(&m).is_err());
    assert!(MemberMessage::decode(MessageKind::Proposal, &v.vote.to_bytes()).is_err());
}

#[test]
fn signed_messages_verify_only_for_their_sender_and_content() {
    let v = values();
    let c = common::Committee::new(99);
    assert_eq!(
        v.message.open(&c.committee).unwrap(),
        MemberMessage::Vote(v.vote.clone())
    );
    let mut m = v.message.clone();
    m.from = 3;
    assert!(matches!(
        m.verify(&c.committee),
        Err(veil_protocol::MessageError::InvalidSignature)
    ));
    m.from = 7;
    assert!(matches!(
        m.verify(&c.committee),
        Err(veil_protocol::MessageError::UnknownSender { from: 7, n: 4 })
    ));
    let mut m = v.message.clone();
    m.kind = MessageKind::Certificate;
    assert!(m.verify(&c.committee).is_err());
    let mut m = v.message.clone();
    m.body[10] ^= 1;
    assert!(m.verify(&c.committee).is_err());
    // Receipts likewise; a vote signature is not a receipt signature.
    v.receipt.verify(&c.committee).unwrap();
    v.bulk_receipt.verify(&c.committee).unwrap();
    let mut r = v.receipt.clone();
    r.signature = v.vote.signature;
    assert!(r.verify(&c.committee).is_err());
    let mut r = v.bulk_receipt.clone();
    r.subject = ReceiptSubject::bulk(&[TxId([1; 32])]);
    assert!(r.verify(&c.committee).is_err());
    // Evidence verifies against the sequencer key only.
    v.evidence.verify(&c.sequencer_keys).unwrap();
    let stranger = SigningKey::generate(&mut ChaCha20Rng::seed_from_u64(1)).public_key();
    assert!(v.evidence.verify(&[stranger]).is_err());
    let _ = SequencerId(0);
}

fn arb_ids(max: usize) -> impl Strategy<Value = Vec<TxId>> {
    prop::collection::btree_set(any::<[u8; 32]>(), 1..max)
        .prop_map(|s| s.into_iter().map(TxId).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn batches_round_trip(chain_id: u64, slot: u64, parent: [u8; 32], ids in arb_ids(40)) {
        let b = Batch { chain_id, slot, parent: Commitment(parent), ids, chains: vec![] };
        let bytes = b.to_bytes();
        prop_assert_eq!(Batch::from_bytes(&bytes).unwrap(), b.clone());
        let json = serde_json::to_string(&b).unwrap();
        prop_assert_eq!(serde_json::from_str::<Batch>(&json).unwrap(), b);
    }

    #[test]
    fn intents_round_trip(slot: u64, parent: [u8; 32], commitment: [u8; 32]) {
        let i = VoteIntent { slot, parent: Commitment(parent), commitment: Commitment(commitment) };
        prop_assert_eq!(VoteIntent::from_bytes(&i.to_bytes()).unwrap(), i);
    }

    #[test]
    fn plaintext_items_round_trip(
        items in prop::collection::vec(
            (any::<[u8; 32]>(), prop::option::of(prop::collection::vec(any::<u8>(), 0..64)), 0u8..3,
             prop::collection::vec(any::<u8>(), 0..64)),
            0..12),
    ) {
        let mut p = values().plaintext;
        p.items = items.into_iter().map(|(id, out, kind, op)| PlaintextItem {
            id: TxId(id),
            outcome: out.map_or(Outcome::Invalid, Outcome::Decrypted),
            opening: match kind { 0 => Opening::Committee, 1 => Opening::Reveal(op), _ => Opening::Solution(op) },
        }).collect();
        let bytes = p.to_bytes();
        prop_assert_eq!(PlaintextBatch::from_bytes(&bytes).unwrap(), p.clone());
        let json = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(serde_json::from_str::<PlaintextBatch>(&json).unwrap(), p);
    }

    #[test]
    fn gossip_bodies_round_trip(envs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..8)) {
        let m = MemberMessage::Ciphertexts(envs);
        prop_assert_eq!(MemberMessage::decode(MessageKind::Ciphertexts, &m.encode()).unwrap(), m);
    }

    #[test]
    fn random_bytes_never_panic_decoders(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = TxEnvelope::from_bytes(&bytes);
        let _ = Batch::from_bytes(&bytes);
        let _ = Proposal::from_bytes(&bytes);
        let _ = Evidence::from_bytes(&bytes);
        let _ = Vote::from_bytes(&bytes);
        let _ = OrderCertificate::from_bytes(&bytes);
        let _ = SharesMessage::from_bytes(&bytes);
        let _ = PlaintextBatch::from_bytes(&bytes);
        let _ = Receipt::from_bytes(&bytes);
        let _ = SignedMessage::from_bytes(&bytes);
        for kind in [MessageKind::Ciphertexts, MessageKind::Proposal, MessageKind::Vote, MessageKind::Certificate, MessageKind::Shares] {
            let _ = MemberMessage::decode(kind, &bytes);
        }
    }
}
