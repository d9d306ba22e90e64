//! Acceptance 3: a member SIGKILLed mid-batch and restarted keeps every ciphertext it
//! acknowledged, never votes for two conflicting commitments, and the batch completes with
//! the remaining members; after the restart it resumes (catches up on what it missed and
//! takes part again).
//!
//! Member 3 receives a load of submissions directly (so it is the only holder until gossip
//! runs); as soon as the proxies show member 3 voting on a proposal that contains those
//! transactions, it is killed with SIGKILL — after its vote, before the batch is opened.
//! Its database is then opened by the test (the process is dead, so redb's lock is free) to
//! check every acknowledged envelope and the durable vote intent. The other three members
//! (quorum 3, threshold 3) must finish the batch and later ones. After the restart, a
//! conflicting proposal for the slot it voted on is refused, and new transactions are
//! decrypted by a committee that includes it again.
//!
//! `a_restarted_member_recovers_what_it_missed` asks more of the restart: the member also
//! obtains the plaintext batches of the slots opened while it was down, and envelopes only it
//! had acknowledged before the crash get ordered.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use veil_protocol::{Batch, MemberMessage, TxId};
use veil_storage::Storage;
use veil_tests::{
    Acked, CHAIN_ID, FaultReport, Honest, Net, NetOptions, assert_no_conflicting_votes, id_of,
    recorded_votes, wait_for,
};

#[test]
fn a_member_killed_mid_batch_keeps_its_data_and_its_word() {
    let mut report = FaultReport::new("sigkill_after_vote");
    let mut net = Net::start(NetOptions::default());
    let first = net.wallet(41, 40);
    let first_ids: Vec<TxId> = first.iter().map(|(e, _)| id_of(e)).collect();

    // Acknowledged by member 3: each 200 carries a receipt.
    let mut acknowledged = Vec::new();
    for (e, _) in &first[..20] {
        let r = net.node(3).submit(e);
        assert_eq!(r.status, 200, "submit: {}", r.text());
        acknowledged.push(id_of(e));
    }
    let bulk: Vec<Vec<u8>> = first[20..].iter().map(|(e, _)| e.clone()).collect();
    let r = net.node(3).submit_bulk(&bulk);
    assert_eq!(r.status, 200, "bulk submit: {}", r.text());
    acknowledged.extend(bulk.iter().map(|e| id_of(e)));

    // Kill member 3 right after it votes on a batch holding some of them.
    let ours: BTreeSet<TxId> = first_ids.iter().copied().collect();
    let voted_slot = wait_for(
        "member 3 to vote on a batch with our transactions",
        Duration::from_secs(30),
        || {
            let log = net.recorder.messages();
            log.iter().find_map(|r| {
                let MemberMessage::Proposal(p) = r.body()? else {
                    return None;
                };
                let v = r.reply_vote()?;
                (r.to == 3 && v.member == 3 && p.batch.ids.iter().any(|id| ours.contains(id)))
                    .then_some(p.batch.slot)
            })
        },
    );
    report.fault(format!(
        "SIGKILL member 3 right after its vote for slot {voted_slot}"
    ));
    net.kill9(3);

    // Everything member 3 acknowledged is in its database; its vote intent for the slot
    // is durable.
    let (intent, proposal_voted) = {
        let storage =
            Storage::open(&net.node(3).db).expect("member 3's database opens after SIGKILL");
        for id in &acknowledged {
            assert!(
                storage.has_envelope(id).expect("read"),
                "acknowledged envelope {} lost by the crash",
                hex::encode(id.0)
            );
        }
        let intents = storage.vote_intents().expect("read intents");
        let intent = *intents
            .iter()
            .find(|i| i.slot == voted_slot)
            .expect("the vote intent of the slot member 3 voted on is durable");
        let proposal = storage
            .voted_proposal(voted_slot)
            .expect("read")
            .expect("the voted proposal is stored with its intent");
        (intent, proposal)
    };

    // The batch and more complete with members 1, 2, 4.
    let second = net.wallet(42, 20);
    for (e, _) in &second {
        let r = net.node(1).submit(e);
        assert_eq!(r.status, 200, "submit while member 3 is down: {}", r.text());
    }
    // Everything member 1 holds completes without member 3: the batch member 3 voted on
    // (its proposal holds only envelopes the sequencer had), and the later submissions.
    let voted_batch: Vec<TxId> = proposal_voted.batch.ids.clone();
    let plain: BTreeMap<TxId, Vec<u8>> = first
        .iter()
        .chain(&second)
        .map(|(e, p)| (id_of(e), p.clone()))
        .collect();
    let while_down: Vec<TxId> = voted_batch
        .iter()
        .copied()
        .chain(second.iter().map(|(e, _)| id_of(e)))
        .collect();
    for m in [1, 2, 4] {
        assert_decrypted(&net, m, &while_down, &plain, "with member 3 down");
    }
    let certified = net
        .node(1)
        .certificate(voted_slot)
        .expect("the slot member 3 voted on is certified");
    assert_eq!(
        certified.commitment, intent.commitment,
        "the built-in sequencer re-drove the proposal member 3 had voted for"
    );

    // Restart: member 3 refuses a conflicting proposal for the slot it voted on (signed by
    // a configured sequencer key, all ids held), whatever else it has learned meanwhile.
    net.restart(3);
    // Another batch for the same slot and parent: one more envelope member 3 holds, or
    // (if the voted batch had them all) the same envelopes reordered.
    let mut conflicting_ids = proposal_voted.batch.ids.clone();
    match acknowledged.iter().find(|id| !conflicting_ids.contains(id)) {
        Some(extra) => conflicting_ids.push(*extra),
        None => conflicting_ids.reverse(),
    }
    assert_ne!(conflicting_ids, proposal_voted.batch.ids);
    let conflicting = net.propose(Batch {
        chain_id: CHAIN_ID,
        slot: voted_slot,
        parent: intent.parent,
        ids: conflicting_ids,
        chains: vec![],
    });
    let msg = MemberMessage::Proposal(conflicting).sign(&net.member_keys[0], 1);
    let r = net.node(3).post_bytes(
        "/internal/v1/messages",
        "application/octet-stream",
        &msg.to_bytes(),
    );
    assert!(
        (400..500).contains(&r.status) && r.json()["vote"].is_null(),
        "restarted member 3 must refuse a conflicting proposal for slot {voted_slot}: {} {}",
        r.status,
        r.text()
    );

    // It resumes: new transactions submitted to it are ordered and decrypted, and it
    // opens their batch itself.
    let third = net.wallet(43, 10);
    for (e, _) in &third {
        let r = net.node(3).submit(e);
        assert_eq!(r.status, 200, "submit after restart: {}", r.text());
    }
    let mut plain = plain;
    plain.extend(third.iter().map(|(e, p)| (id_of(e), p.clone())));
    let third_ids: Vec<TxId> = third.iter().map(|(e, _)| id_of(e)).collect();
    for m in [3, 1] {
        assert_decrypted(&net, m, &third_ids, &plain, "after member 3's restart");
    }

    // Over the whole run, no member gave two votes for different commitments in one slot,
    // nor for two children of one parent (member 3 across its crash included).
    let votes = recorded_votes(&net.recorder.messages());
    assert!(
        votes.iter().any(|v| v.member == 3),
        "member 3's votes were observed"
    );
    assert_no_conflicting_votes(&votes, &[]);

    // The fault suite's invariants (a)-(c) over everything acknowledged in the run; (d) is
    // the `third` round above (submitted to member 3 after its restart, opened by it).
    let mut acked = Acked::default();
    acked.record(3, &first);
    acked.record(1, &second);
    acked.record(3, &third);
    let checked = net.assert_invariants(&acked, &Honest::default());
    report.affected(voted_slot..=net.node(1).last_certified_slot());
    report.finish(&acked, &checked);
}

/// Waits until member `m` reports every id decrypted, and checks each plaintext at its
/// reported position in the published batch.
fn assert_decrypted(net: &Net, m: u32, ids: &[TxId], plain: &BTreeMap<TxId, Vec<u8>>, when: &str) {
    let node = net.node(m);
    for id in ids {
        let st = wait_for(
            &format!("member {m} to decrypt {} {when}", hex::encode(id.0)),
            Duration::from_secs(40),
            || node.tx_status(id).filter(|s| s["status"] == "decrypted"),
        );
        let slot = st["slot"].as_u64().expect("slot");
        let index = st["index"].as_u64().expect("index") as usize;
        let batch = node.plaintext_batch(slot).expect("batch");
        assert_eq!(batch.items[index].id, *id);
        assert_eq!(
            batch.items[index].outcome,
            veil_protocol::Outcome::Decrypted(plain[id].clone())
        );
    }
}

#[test]
fn a_restarted_member_recovers_what_it_missed() {
    let mut net = Net::start(NetOptions::default());
    let before = net.wallet(51, 10);
    for (e, _) in &before {
        assert_eq!(net.node(1).submit(e).status, 200);
    }
    let before_ids: Vec<TxId> = before.iter().map(|(e, _)| id_of(e)).collect();
    let mut plain: BTreeMap<TxId, Vec<u8>> =
        before.iter().map(|(e, p)| (id_of(e), p.clone())).collect();
    assert_decrypted(&net, 3, &before_ids, &plain, "before the crash");
    // Acknowledged by member 3 alone just before the kill (gossip may not have run).
    let only_3 = net.wallet(52, 10);
    let r = net
        .node(3)
        .submit_bulk(&only_3.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>());
    assert_eq!(r.status, 200, "bulk submit: {}", r.text());
    net.kill9(3);
    let during = net.wallet(53, 10);
    for (e, _) in &during {
        assert_eq!(net.node(2).submit(e).status, 200);
    }
    let during_ids: Vec<TxId> = during.iter().map(|(e, _)| id_of(e)).collect();
    plain.extend(during.iter().map(|(e, p)| (id_of(e), p.clone())));
    assert_decrypted(&net, 1, &during_ids, &plain, "with member 3 down");
    net.restart(3);
    plain.extend(only_3.iter().map(|(e, p)| (id_of(e), p.clone())));
    let everything: Vec<TxId> = plain.keys().copied().collect();
    for m in [3, 1] {
        assert_decrypted(&net, m, &everything, &plain, "after member 3's restart");
    }
}
