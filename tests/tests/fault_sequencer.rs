//! Issue 7, fault suite: a faulty sequencer (equivocation is `equivocation.rs`).
//!
//! - **Stall**: the built-in sequencer's process (member 1) is frozen with SIGSTOP for a
//!   while (a seeded random 1–3 s once the wallets' envelopes are everywhere else). Members
//!   2–4 keep acknowledging submissions and hold them durably (pending); nothing is lost
//!   when it resumes (SIGCONT): everything acknowledged during the stall is ordered and
//!   decrypted, gossip that timed out against the frozen process is re-sent, and invariants
//!   (a)–(d) hold.
//! - **Unknown ciphertext ids**: the test is an external sequencer and proposes a batch
//!   naming an id no member holds (next to held ones). What the protocol promises: a member
//!   votes only for batches whose envelopes it holds; asked to vote, it answers
//!   `missing_envelopes` with the ids, the proposal's driver sends the envelopes *it* holds
//!   and asks again, and after three rounds it gives up. So: no vote, no certificate for the
//!   unknown content (`503 unavailable` to the sequencer), and — since nobody voted — the
//!   slot stays free: a proposal of held envelopes for the same slot is certified and
//!   decrypted afterwards (resumption), every member releasing its shares.

use std::time::Duration;

use rand_core::RngCore;
use veil_protocol::{Batch, Commitment, MemberMessage, Proposal, TxId};
use veil_tests::{
    Acked, CHAIN_ID, FaultReport, Honest, Net, NetOptions, Reply, SequencerMode, fault_rng, id_of,
    recorded_votes, wait_for,
};

#[test]
fn a_stalled_sequencer_loses_nothing_and_resumes() {
    let mut report = FaultReport::new("sequencer_stall");
    let (mut rng, seed) = fault_rng("sequencer_stall", 33);
    report.seed(seed);
    let net = Net::start(NetOptions::default());
    let honest = Honest::default();
    let mut acked = Acked::default();

    let before = net.wallet(91, 8);
    let r = net
        .node(2)
        .submit_bulk(&before.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>());
    assert_eq!(r.status, 200, "{}", r.text());
    acked.record(2, &before);
    for (e, _) in &before {
        wait_for(
            "decrypted before the stall",
            Duration::from_secs(60),
            || {
                net.node(1)
                    .tx_status(&id_of(e))
                    .filter(|s| s["status"] == "decrypted")
            },
        );
    }
    let top_before = net.node(2).last_certified_slot();

    let stall = Duration::from_millis(1_000 + u64::from(rng.next_u32() % 2_000));
    report.fault(format!(
        "built-in sequencer (member 1) frozen with SIGSTOP for {} ms after the stall's \
         envelopes were held",
        stall.as_millis()
    ));
    net.node(1).signal(libc::SIGSTOP);
    // Members 2-4 keep acknowledging and hold everything (nothing is ordered meanwhile).
    let mut during = Vec::new();
    for (i, via) in [2u32, 3, 4].into_iter().enumerate() {
        let txs = net.wallet(92 + i as u64, 6);
        let r = net
            .node(via)
            .submit_bulk(&txs.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>());
        assert_eq!(r.status, 200, "submit during the stall: {}", r.text());
        acked.record(via, &txs);
        during.extend(txs);
    }
    for m in [2, 3, 4] {
        for (e, _) in &during {
            wait_for(
                &format!("member {m} to hold every envelope during the stall"),
                Duration::from_secs(30),
                || net.node(m).tx_status(&id_of(e)),
            );
        }
    }
    std::thread::sleep(stall);
    for m in [2, 3, 4] {
        assert_eq!(
            net.node(m).last_certified_slot(),
            top_before,
            "nothing is certified while the sequencer is frozen"
        );
        for (e, _) in &during {
            let st = net.node(m).tx_status(&id_of(e)).expect("held");
            assert_eq!(st["status"], "pending", "held, not ordered: {st}");
        }
    }
    net.node(1).signal(libc::SIGCONT);

    net.assert_resumes(1, 96, 6, &[1], &mut acked, &honest);
    let checked = net.assert_invariants(&acked, &honest);
    let top = net.node(1).last_certified_slot();
    report.affected(top_before + 1..=top);
    report.finish(&acked, &checked);
}

fn post_proposal(net: &Net, via: u32, p: &Proposal) -> Reply {
    net.node(via).post_json(
        "/v1/sequencer/proposals",
        &serde_json::json!({ "proposal": hex::encode(p.to_bytes()) }),
    )
}

#[test]
fn a_proposal_of_unknown_ciphertexts_is_never_certified() {
    let mut report = FaultReport::new("sequencer_unknown_ids");
    let (mut rng, seed) = fault_rng("sequencer_unknown_ids", 44);
    report.seed(seed);
    let net = Net::start(NetOptions {
        sequencer: SequencerMode::External,
        ..NetOptions::default()
    });
    // The test signs three proposals for slot 1: a faulty sequencer, by design.
    let honest = Honest {
        equivocating_sequencer: true,
        ..Honest::default()
    };
    let mut acked = Acked::default();
    let txs = net.wallet(97, 6);
    for (e, _) in &txs {
        let r = net.node(1).submit(e);
        assert_eq!(r.status, 200, "{}", r.text());
    }
    acked.record(1, &txs);
    let ids: Vec<TxId> = txs.iter().map(|(e, _)| id_of(e)).collect();
    for node in &net.nodes {
        for id in &ids {
            wait_for(
                "every member to hold every envelope",
                Duration::from_secs(30),
                || node.tx_status(id),
            );
        }
    }

    // Unknown ids: one batch of only unknown ids, one mixing them with held ones.
    let mut unknown = || {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        TxId(b)
    };
    let batch = |slot, parent, ids: Vec<TxId>| Batch {
        chain_id: CHAIN_ID,
        slot,
        parent,
        ids,
        chains: vec![],
    };
    let only_unknown = net.propose(batch(1, Commitment::genesis(), vec![unknown(), unknown()]));
    let mut mixed_ids = ids[..3].to_vec();
    mixed_ids.insert(1, unknown());
    let mixed = net.propose(batch(1, Commitment::genesis(), mixed_ids));
    let refused: Vec<Commitment> = [(2u32, &only_unknown), (3, &mixed)]
        .into_iter()
        .map(|(via, p)| {
            report.fault(format!(
                "proposal for slot 1 naming {} unknown id(s), sent through member {via}",
                p.batch.ids.iter().filter(|id| !ids.contains(id)).count()
            ));
            let r = post_proposal(&net, via, p);
            assert_eq!(
                (r.status, r.code().as_deref()),
                (503, Some("unavailable")),
                "a proposal of unknown content gets no quorum: {}",
                r.text()
            );
            p.batch.commitment()
        })
        .collect();
    for node in &net.nodes {
        assert!(
            node.certificate(1).is_none(),
            "member {} holds a certificate for unknown content",
            node.member
        );
    }
    let log = net.recorder.messages();
    let refusals = log
        .iter()
        .filter(|r| matches!(r.body(), Some(MemberMessage::Proposal(_))))
        .filter(|r| String::from_utf8_lossy(&r.reply).contains("missing_envelopes"))
        .count();
    assert!(refusals > 0, "members answered missing_envelopes");
    for v in recorded_votes(&log) {
        assert!(
            !refused.contains(&v.commitment),
            "member {} voted for a batch with unknown ids",
            v.member
        );
    }

    // The slot is still free: held content for slot 1, then slot 2, is certified and
    // decrypted by every member.
    let good = net.propose(batch(1, Commitment::genesis(), ids[..3].to_vec()));
    let r = post_proposal(&net, 4, &good);
    assert_eq!(r.status, 200, "held content is certified: {}", r.text());
    let more = net.wallet(98, 4);
    for (e, _) in &more {
        assert_eq!(net.node(2).submit(e).status, 200);
    }
    acked.record(2, &more);
    let mut next_ids = ids[3..].to_vec();
    next_ids.extend(more.iter().map(|(e, _)| id_of(e)));
    for node in &net.nodes {
        for id in &next_ids {
            wait_for(
                "every member to hold the new envelopes",
                Duration::from_secs(30),
                || node.tx_status(id),
            );
        }
    }
    let next = net.propose(batch(2, good.batch.commitment(), next_ids));
    let r = post_proposal(&net, 1, &next);
    assert_eq!(r.status, 200, "{}", r.text());
    for m in 1..=4 {
        for slot in [1, 2] {
            wait_for(
                &format!("member {m} to release its shares for slot {slot}"),
                Duration::from_secs(60),
                || net.recorder.has_shares(m, slot).then_some(()),
            );
        }
    }
    let checked = net.assert_invariants(&acked, &honest);
    report.affected([1]);
    report.finish(&acked, &checked);
}
