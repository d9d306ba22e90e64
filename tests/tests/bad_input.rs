//! Acceptance 4: malformed, oversized, mauled, replayed and foreign submissions, and forged
//! member and sequencer messages, get 4xx errors with a `{code, message}` body and change
//! no state. The committee runs without a built-in sequencer, so nothing moves on its own:
//! the state read before and after (health, transaction status, certificates, the internal
//! messages the members send) must be identical.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_protocol::{Batch, Commitment, MemberMessage, MessageKind, SignedMessage, TxId};
use veil_tests::{Net, NetOptions, Node, Reply, SequencerMode, id_of};
use veil_threshold::SigningKey;

/// What a client can observe of a member.
#[derive(Debug, PartialEq)]
struct State {
    health: serde_json::Value,
    statuses: Vec<Option<serde_json::Value>>,
    certificate_1: u16,
    internal_messages: usize,
    /// Counters of accepted work (rejection counters are expected to move).
    counters: Vec<(String, Option<f64>)>,
}

const COUNTERS: [&str; 7] = [
    "veil_submissions_total",
    "veil_gossip_envelopes_total",
    "veil_votes_total",
    "veil_vote_refusals_total",
    "veil_slots_certified_total",
    "veil_shares_released_total",
    "veil_plaintext_batches_total",
];

fn state(net: &Net, node: &Node, ids: &[TxId]) -> State {
    State {
        health: node.health().expect("healthy"),
        statuses: ids.iter().map(|id| node.tx_status(id)).collect(),
        certificate_1: node.get("/v1/certificates/1").status,
        internal_messages: net.recorder.messages().len(),
        counters: {
            let m = node.metrics();
            COUNTERS
                .iter()
                .map(|c| (c.to_string(), m.get(*c).copied()))
                .collect()
        },
    }
}

fn assert_4xx(r: &Reply, what: &str) {
    assert!(
        (400..500).contains(&r.status),
        "{what}: expected a 4xx, got {} {}",
        r.status,
        r.text()
    );
    assert!(
        r.code().is_some(),
        "{what}: error body has a code: {}",
        r.text()
    );
    assert!(
        r.json()["message"].is_string(),
        "{what}: error body has a message: {}",
        r.text()
    );
}

#[test]
fn bad_submissions_and_forged_messages_are_refused_without_state_change() {
    let net = Net::start(NetOptions {
        sequencer: SequencerMode::External,
        ..NetOptions::default()
    });
    let node = net.node(1);
    let txs = net.wallet(21, 3);
    let good = &txs[0].0;
    let r = node.submit(good);
    assert_eq!(r.status, 200, "a good submission: {}", r.text());
    // Let gossip settle so the only state changes left would be the refused inputs'.
    for n in &net.nodes {
        veil_tests::wait_for(
            "gossip of the good envelope",
            std::time::Duration::from_secs(20),
            || n.tx_status(&id_of(good)).map(|_| ()),
        );
    }

    // Variants that must be refused.
    let mut mauled = good.clone();
    let last = mauled.len() - 40; // inside the ciphertext body / proof
    mauled[last] ^= 0x01;
    let mut truncated = txs[1].0.clone();
    truncated.truncate(truncated.len() - 1);
    let mut trailing = txs[1].0.clone();
    trailing.push(0);
    let mut wrong_version = txs[1].0.clone();
    wrong_version[0] = 0x7f;
    let other_chain = {
        // A different committee key would also be refused; here the label's chain id is not
        // served: encrypt under the right key with chain id CHAIN_ID + 1.
        use veil_threshold::{EncryptionKey, Label, SlotRange};
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let label = Label::new(
            veil_tests::CHAIN_ID + 1,
            [9; 32],
            SlotRange::new(0, 10).unwrap(),
            1,
            vec![],
        )
        .unwrap();
        let ct = EncryptionKey::new(net.threshold_key.public_key())
            .encrypt(&mut rng, &label, b"elsewhere")
            .unwrap();
        veil_protocol::TxEnvelope::Threshold(ct).to_bytes()
    };
    let refused_ids: Vec<TxId> = [&mauled, &truncated, &trailing, &wrong_version, &other_chain]
        .iter()
        .map(|e| id_of(e))
        .collect();
    let mut watched = vec![id_of(good), id_of(&txs[2].0)];
    watched.extend(refused_ids.iter().copied());

    for n in &net.nodes {
        let before = state(&net, n, &watched);
        // Submissions.
        let cases: Vec<(&str, Reply)> = vec![
            (
                "not json",
                n.post_bytes("/v1/transactions", "application/json", b"{not json"),
            ),
            (
                "missing field",
                n.post_json("/v1/transactions", &serde_json::json!({})),
            ),
            (
                "bad hex",
                n.post_json("/v1/transactions", &serde_json::json!({"envelope": "zz"})),
            ),
            (
                "empty envelope",
                n.post_json("/v1/transactions", &serde_json::json!({"envelope": ""})),
            ),
            ("mauled ciphertext", n.submit(&mauled)),
            ("truncated envelope", n.submit(&truncated)),
            ("trailing byte", n.submit(&trailing)),
            ("unknown version", n.submit(&wrong_version)),
            ("chain not served", n.submit(&other_chain)),
            (
                "oversized body",
                veil_tests::http_post_raw(
                    &n.url,
                    "/v1/transactions",
                    "application/json",
                    &vec![b'0'; 1 << 20],
                )
                .expect("a reply to an oversized body"),
            ),
            (
                "oversized bulk item",
                n.submit_bulk(&[vec![1u8; veil_protocol::MAX_ENVELOPE + 1]]),
            ),
            (
                "bulk: truncated length prefix",
                n.post_bytes(
                    "/v1/transactions/bulk",
                    "application/octet-stream",
                    &[0, 0, 1],
                ),
            ),
            ("bulk: length beyond body", {
                let mut b = 1000u32.to_be_bytes().to_vec();
                b.extend_from_slice(&txs[2].0[..100]);
                n.post_bytes("/v1/transactions/bulk", "application/octet-stream", &b)
            }),
            (
                "bulk: one mauled item",
                n.submit_bulk(&[txs[2].0.clone(), mauled.clone()]),
            ),
            ("replayed submission", n.submit(good)),
            ("bad id", n.get("/v1/transactions/xyz")),
        ];
        for (what, r) in &cases {
            assert_4xx(r, &format!("member {}: {what}", n.member));
        }

        // Forged internal messages.
        let mut rng = ChaCha20Rng::seed_from_u64(99);
        let stranger = SigningKey::generate(&mut rng);
        let batch = Batch {
            chain_id: veil_tests::CHAIN_ID,
            slot: 1,
            parent: Commitment::genesis(),
            ids: vec![id_of(good)],
            chains: vec![],
        };
        let proposal = net.propose(batch.clone());
        let body = MemberMessage::Proposal(proposal.clone()).encode();
        let envelopes = MemberMessage::Ciphertexts(vec![txs[2].0.clone()]).encode();
        let forged = [
            (
                "signed by a stranger as member 2",
                SignedMessage::sign(&stranger, 2, MessageKind::Proposal, body.clone()),
            ),
            (
                "unknown member 99",
                SignedMessage::sign(&stranger, 99, MessageKind::Proposal, body.clone()),
            ),
            (
                "member 3's key claiming member 2",
                SignedMessage::sign(
                    &net.member_keys[2],
                    2,
                    MessageKind::Ciphertexts,
                    envelopes.clone(),
                ),
            ),
            ("body altered after signing", {
                let mut m = SignedMessage::sign(
                    &net.member_keys[1],
                    2,
                    MessageKind::Ciphertexts,
                    envelopes.clone(),
                );
                m.body = MemberMessage::Ciphertexts(vec![txs[1].0.clone()]).encode();
                m
            }),
        ];
        for (what, m) in &forged {
            let r = n.post_bytes(
                "/internal/v1/messages",
                "application/octet-stream",
                &m.to_bytes(),
            );
            assert!(
                r.status == 401 || r.status == 403,
                "member {}: forged message ({what}) gets 401/403, got {} {}",
                n.member,
                r.status,
                r.text()
            );
        }
        let r = n.post_bytes(
            "/internal/v1/messages",
            "application/octet-stream",
            b"\x01garbage",
        );
        assert_4xx(
            &r,
            &format!("member {}: garbage internal message", n.member),
        );
        // A proposal from a sequencer whose key is not configured.
        let stranger_proposal =
            veil_protocol::Proposal::sign(&stranger, veil_protocol::SequencerId(1), batch).unwrap();
        let r = n.post_json(
            "/v1/sequencer/proposals",
            &serde_json::json!({ "proposal": hex::encode(stranger_proposal.to_bytes()) }),
        );
        assert_4xx(
            &r,
            &format!("member {}: proposal by an unknown sequencer key", n.member),
        );

        let after = state(&net, n, &watched);
        assert!(
            before.counters.iter().all(|(_, v)| v.is_some()),
            "member {}: the node exports its counters: {:?}",
            n.member,
            before.counters
        );
        let rejections: f64 = n
            .metrics()
            .iter()
            .filter(|(k, _)| k.starts_with("veil_rejections_total"))
            .map(|(_, v)| v)
            .sum();
        assert!(
            rejections > 0.0,
            "member {}: rejections are counted",
            n.member
        );
        assert_eq!(
            before, after,
            "member {}: state unchanged by refused input",
            n.member
        );
        for id in &refused_ids {
            assert_eq!(
                n.tx_status(id),
                None,
                "member {}: a refused envelope is unknown",
                n.member
            );
        }
    }
    assert_eq!(
        net.node(1)
            .tx_status(&id_of(good))
            .expect("the good submission is held")["status"],
        "pending"
    );
}
