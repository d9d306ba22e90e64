//! Acceptance 1: ciphertexts submitted to a 4-member committee with the built-in sequencer
//! are certified, and the plaintext batches are delivered in exactly the certified order —
//! through `GET /v1/batches/{slot}` on every member and through the SSE stream — and every
//! published batch verifies against its certificate and share proofs. No member sends a
//! decryption share for a batch before a certificate for that batch exists: the recording
//! proxies on the member links see every shares message, and each one must come from the
//! certifying sequencer or follow delivery of a valid certificate for the same commitment
//! to its sender.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use veil_protocol::{
    MemberMessage, Outcome, PlaintextBatch, Receipt, ReceiptSubject, VerifyContext,
};
use veil_tests::{Net, NetOptions, id_of, plaintext_from_json, read_sse, wait_for};

const TXS: usize = 60;

#[test]
fn certified_order_is_the_delivered_order() {
    let net = Net::start(NetOptions::default());
    let txs = net.wallet(11, TXS);
    let by_id: BTreeMap<_, _> = txs
        .iter()
        .map(|(e, p)| (id_of(e), (e.clone(), p.clone())))
        .collect();

    // Submit: single submissions to every member, and one bulk submission.
    let (singles, bulk) = txs.split_at(TXS / 2);
    for (i, (env, _)) in singles.iter().enumerate() {
        let node = net.node((i % 4) as u32 + 1);
        let r = node.submit(env);
        assert_eq!(
            r.status,
            200,
            "submit to member {}: {}",
            node.member,
            r.text()
        );
        assert_eq!(
            r.json()["id"].as_str(),
            Some(hex::encode(id_of(env).0).as_str())
        );
        let receipt: Receipt =
            serde_json::from_value(r.json()["receipt"].clone()).expect("a receipt");
        receipt
            .verify(&net.bls_keys)
            .expect("the receipt is the member's signature");
        assert_eq!(receipt.member, node.member);
        assert_eq!(receipt.subject, ReceiptSubject::Transaction(id_of(env)));
    }
    let bulk: Vec<Vec<u8>> = bulk.iter().map(|(e, _)| e.clone()).collect();
    let r = net.node(2).submit_bulk(&bulk);
    assert_eq!(r.status, 200, "bulk submit: {}", r.text());
    let ids: Vec<String> = r.json()["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("hex id").to_owned())
        .collect();
    let expected: Vec<String> = bulk.iter().map(|e| hex::encode(id_of(e).0)).collect();
    assert_eq!(ids, expected, "bulk ids in submission order");
    let receipt: Receipt =
        serde_json::from_value(r.json()["receipt"].clone()).expect("a bulk receipt");
    receipt
        .verify(&net.bls_keys)
        .expect("the bulk receipt verifies");
    let bulk_ids: Vec<_> = bulk.iter().map(|e| id_of(e)).collect();
    assert_eq!(
        receipt.subject,
        ReceiptSubject::bulk(&bulk_ids),
        "one receipt over the Merkle root of the ids"
    );

    // Every transaction reaches `decrypted` on every member.
    for node in &net.nodes {
        for id in by_id.keys() {
            wait_for(
                &format!("member {} to decrypt {}", node.member, hex::encode(id.0)),
                Duration::from_secs(40),
                || {
                    let s = node.tx_status(id)?;
                    (s["status"] == "decrypted").then_some(())
                },
            );
        }
    }

    // The slots that hold our transactions, from member 1's view.
    let mut slots = BTreeSet::new();
    for id in by_id.keys() {
        let s = net.node(1).tx_status(id).expect("known");
        slots.insert(
            s["slot"]
                .as_u64()
                .expect("an ordered transaction has a slot"),
        );
    }
    let last = *slots.iter().max().expect("at least one slot");

    // Every slot 1..=last: the certificate verifies; every member serves the same plaintext
    // batch, whose ids hash to the certified commitment and whose plaintexts are ours, in
    // the certified order; a third party can verify it from the published shares.
    let mut seen = BTreeSet::new();
    let mut batches: BTreeMap<u64, PlaintextBatch> = BTreeMap::new();
    let mut parent = veil_protocol::Commitment::genesis();
    for slot in 1..=last {
        let cert = net
            .node(1)
            .certificate(slot)
            .expect("certificate for every slot up to the last");
        cert.verify(&net.bls_keys, net.quorum)
            .expect("certificate verifies at quorum");
        assert_eq!(cert.slot, slot);
        assert_eq!(cert.parent, parent, "certified batches form one chain");
        parent = cert.commitment;
        let batch = net.node(1).plaintext_batch(slot).expect("plaintext batch");
        for node in &net.nodes[1..] {
            let cert_j = node
                .certificate(slot)
                .expect("every member has the certificate");
            assert_eq!(
                cert_j.commitment, cert.commitment,
                "members agree on slot {slot}"
            );
            let other = wait_for("the batch on every member", Duration::from_secs(20), || {
                node.plaintext_batch(slot)
            });
            assert_eq!(
                other.items, batch.items,
                "member {} delivers slot {slot} identically",
                node.member
            );
        }
        assert_eq!(batch.commitment, cert.commitment);
        assert_eq!(
            batch.batch().commitment(),
            cert.commitment,
            "items are the certified ids in order"
        );
        let mut envs = Vec::new();
        for item in &batch.items {
            let (env, plain) = by_id
                .get(&item.id)
                .expect("only our transactions were submitted");
            assert_eq!(
                item.outcome,
                Outcome::Decrypted(plain.clone()),
                "plaintext of {}",
                hex::encode(item.id.0)
            );
            assert!(seen.insert(item.id), "transaction ordered twice");
            envs.push(env.as_slice());
        }
        let validated = net.validate(&envs);
        batch
            .verify(
                &VerifyContext {
                    committee: &net.bls_keys,
                    quorum: net.quorum,
                    key: &net.threshold_key,
                    delay_params: None,
                },
                &validated,
            )
            .expect("the published batch verifies against certificate and shares");
        batches.insert(slot, batch);
    }
    assert_eq!(seen.len(), TXS, "every transaction delivered exactly once");

    // Positions reported by the transaction route match the certified order.
    for (slot, b) in &batches {
        for (index, item) in b.items.iter().enumerate() {
            let s = net.node(3).tx_status(&item.id).expect("known");
            assert_eq!(s["slot"].as_u64(), Some(*slot));
            assert_eq!(s["index"].as_u64(), Some(index as u64));
        }
    }

    // The stream, from slot 1 and resumed from the middle, yields the same batches in slot
    // order.
    for from in [1, last / 2 + 1] {
        let url = format!("{}/v1/stream?from={from}", net.node(4).url);
        let want = (last + 1 - from) as usize;
        let events = read_sse(&url, Duration::from_secs(20), |ev| ev.len() >= want);
        for (expect_slot, (name, data)) in (from..).zip(events.iter().take(want)) {
            assert_eq!(name, "batch");
            let v: serde_json::Value = serde_json::from_str(data).expect("event data is JSON");
            let b = plaintext_from_json(&v);
            assert_eq!(b.slot, expect_slot, "stream in slot order from {from}");
            assert_eq!(
                b.items, batches[&expect_slot].items,
                "stream batch {expect_slot}"
            );
        }
    }

    // No shares before a certificate: on the wire, and in each member's own counters.
    assert_shares_follow_certificates(&net);
    for node in &net.nodes {
        let m = node.metrics();
        let released = m.get("veil_shares_released_total").copied().unwrap_or(0.0);
        let certified = m.get("veil_slots_certified_total").copied().unwrap_or(0.0);
        assert!(
            released >= 1.0 && released <= certified,
            "member {}: {released} share releases for {certified} certified slots",
            node.member
        );
    }
}

/// Every recorded shares message from member `m` for `(slot, commitment)` was sent after
/// a certificate for exactly that `(slot, commitment)` existed, as the wire shows it:
/// either a certificate valid at quorum was delivered to `m` before, or `m` had itself
/// collected, before, the votes of every other signer of the certificate the committee
/// published for that slot (it is the member that aggregated it).
fn assert_shares_follow_certificates(net: &Net) {
    let log = net.recorder.messages();
    let mut shares = 0;
    for r in &log {
        let Some(MemberMessage::Shares(s)) = r.body() else {
            continue;
        };
        let from = r.from().expect("decoded");
        shares += 1;
        let delivered = log
            .iter()
            .filter(|c| c.seq < r.seq && c.to == from)
            .any(|c| {
                matches!(c.body(), Some(MemberMessage::Certificate(cert))
                if cert.slot == s.slot
                    && cert.commitment == s.commitment
                    && cert.verify(&net.bls_keys, net.quorum).is_ok())
            });
        let aggregated = || {
            let cert = net
                .node(from)
                .certificate(s.slot)
                .expect("the certificate of a slot with shares is published");
            assert_eq!(
                cert.commitment, s.commitment,
                "shares for the certified commitment"
            );
            cert.signers()
                .signers()
                .map(|i| i as u32 + 1)
                .filter(|j| *j != from)
                .all(|j| {
                    log.iter().any(|v| {
                        v.replied < r.seq
                            && v.from() == Some(from)
                            && v.to == j
                            && v.reply_vote().is_some_and(|vote| {
                                vote.member == j
                                    && vote.slot == s.slot
                                    && vote.commitment == s.commitment
                            })
                    })
                })
        };
        assert!(
            delivered || aggregated(),
            "member {from} sent shares for slot {} before a certificate for them existed",
            s.slot
        );
    }
    assert!(shares > 0, "the proxies saw the members' shares messages");
}
