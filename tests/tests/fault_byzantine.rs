//! Issue 7, fault suite: a Byzantine member (n = 4, t = 3, quorum 3: one is tolerable).
//!
//! Member 4's process is killed and the test takes over its port with
//! [`veil_tests::byzantine::Byzantine`], which holds member 4's real signing key (from the
//! harness's ceremony) and answers every proposal with, in rotation, garbage bytes, a vote
//! with a bad signature, or a correctly signed vote for a different batch in the same slot
//! (while also sending its genuine vote for the proposal as a message: two signed votes for
//! different batches in one slot); and on every certificate it sends properly signed share
//! messages computed with a wrong key share.
//!
//! Asserted: every kind of fault was injected and is genuinely wrong (the forged shares fail
//! [`SharesMessage::verify`], honest members' pass); the honest members reject each with a
//! recorded error (the driver counts `veil_rejections_total{code="bad_vote"}` and logs `vote
//! rejected`; `Vote` messages are refused with `400 unexpected_message`; the forged shares
//! are excluded by the robust combiner, counted as `code="invalid_shares"` and never kept in
//! a plaintext batch); members 1–3 stay live; and invariants (a)–(d) hold for them.
//!
//! What the node does not do: it keeps no evidence of a member's conflicting votes (only of
//! a sequencer's conflicting proposals); a vote for another batch is simply not counted.

use std::collections::BTreeSet;
use std::time::Duration;

use veil_protocol::{MemberMessage, VerifyContext};
use veil_tests::byzantine::Byzantine;
use veil_tests::{Acked, FaultReport, Honest, Net, NetOptions, fault_rng, id_of, wait_for};

fn rejections(net: &Net, m: u32, code: &str) -> f64 {
    net.node(m)
        .metrics()
        .get(&format!("veil_rejections_total{{code=\"{code}\"}}"))
        .copied()
        .unwrap_or(0.0)
}

#[test]
fn a_byzantine_member_is_rejected_and_the_others_stay_live() {
    let mut report = FaultReport::new("byzantine_member");
    let (_, seed) = fault_rng("byzantine_member", 7);
    report.seed(seed);
    let mut net = Net::start(NetOptions::default());
    let honest = Honest {
        except: vec![4],
        ..Honest::default()
    };
    net.kill9(4);
    let byz = Byzantine::start(&net, 4, seed);
    // Member 3's shares reach member 1 two seconds late, so member 1 always meets member
    // 4's forged shares while it still needs a third share message: it must try them, find
    // them wrong and wait for member 3's (the exclusion is then deterministic there).
    net.recorder.delay_shares(3, 1, Duration::from_secs(2));
    let mut acked = Acked::default();

    // Several batches, through each honest member in turn; each is decrypted by members 1–3
    // before the next, so the Byzantine member is asked to vote and sees a certificate per
    // batch.
    let mut slots = BTreeSet::new();
    for round in 0..4u64 {
        let via = (round % 3) as u32 + 1;
        let txs = net.wallet(70 + round, 6);
        let r = net
            .node(via)
            .submit_bulk(&txs.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>());
        assert_eq!(r.status, 200, "bulk submit: {}", r.text());
        acked.record(via, &txs);
        for (e, _) in &txs {
            let st = wait_for(
                "members 1-3 to decrypt with a Byzantine member 4",
                Duration::from_secs(60),
                || {
                    net.node(1)
                        .tx_status(&id_of(e))
                        .filter(|s| s["status"] == "decrypted")
                },
            );
            slots.insert(st["slot"].as_u64().expect("slot"));
        }
    }
    let injected = wait_for(
        "every kind of Byzantine fault to be injected",
        Duration::from_secs(30),
        || {
            let i = byz.injected();
            [
                "garbage vote",
                "badly signed vote",
                "conflicting votes",
                "invalid shares",
            ]
            .iter()
            .all(|k| i.get(k).copied().unwrap_or(0) > 0)
            .then_some(i)
        },
    );
    for (kind, n) in &injected {
        report.faults_n(*n, *kind);
    }
    report.affected(slots.iter().copied());

    // Votes: the driver (member 1, the built-in sequencer) rejected every bad one.
    let bad_votes: u64 = ["garbage vote", "badly signed vote", "conflicting votes"]
        .iter()
        .map(|k| injected[k])
        .sum();
    let counted = rejections(&net, 1, "bad_vote");
    assert!(
        counted >= 1.0,
        "member 1 counted {counted} rejected votes of {bad_votes} bad ones"
    );
    let log1 = std::fs::read_to_string(&net.node(1).log).expect("log");
    assert!(
        log1.contains("vote rejected"),
        "member 1 logs rejected votes"
    );
    // The genuine votes sent as messages were refused by every honest member.
    let log = net.recorder.messages();
    let vote_msgs: Vec<_> = log
        .iter()
        .filter(|r| r.from() == Some(4) && matches!(r.body(), Some(MemberMessage::Vote(_))))
        .collect();
    assert!(
        !vote_msgs.is_empty(),
        "the proxies carried member 4's votes"
    );
    for r in &vote_msgs {
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.reply));
        assert!(String::from_utf8_lossy(&r.reply).contains("unexpected_message"));
    }
    // No certificate counts member 4 (signer positions are 0-based): the honest members certified every slot without it.
    for &slot in &slots {
        for m in 1..=3 {
            let c = net.node(m).certificate(slot).expect("certified");
            assert!(
                !c.signers().contains(3),
                "a certificate for slot {slot} counts a vote of member 4"
            );
        }
    }

    // Shares: member 4's are properly signed but wrong; the honest ones verify.
    let mut forged = 0;
    for r in &log {
        let Some(MemberMessage::Shares(s)) = r.body() else {
            continue;
        };
        let Some(batch) = net.node(1).plaintext_batch(s.slot) else {
            continue;
        };
        let envs = net.validate_ids(&batch.batch().ids, &acked);
        let ok = s
            .verify(&net.threshold_key, &batch.batch().ids, &envs)
            .is_ok();
        if s.member == 4 {
            assert!(!ok, "member 4's shares for slot {} are wrong", s.slot);
            forged += 1;
        } else {
            assert!(
                ok,
                "member {}'s shares for slot {} verify",
                s.member, s.slot
            );
        }
    }
    assert!(forged > 0, "the proxies carried member 4's forged shares");
    // Never kept: every honest member's plaintext batch opens from honest shares only.
    for &slot in &slots {
        for m in 1..=3 {
            let b = net.node(m).plaintext_batch(slot).expect("plaintext");
            assert!(
                b.shares.iter().all(|s| s.member != 4),
                "member {m} kept member 4's shares for slot {slot}"
            );
            b.verify(
                &VerifyContext {
                    committee: &net.bls_keys,
                    quorum: net.quorum,
                    key: &net.threshold_key,
                    delay_params: None,
                },
                &net.validate_ids(&b.batch().ids, &acked),
            )
            .expect("the plaintext batch verifies");
        }
    }
    // Excluded with a recorded error where the combiner met them: always at member 1 (see
    // the delay above), at the others when member 4's shares came before an honest third.
    let excluded: Vec<f64> = (1..=3)
        .map(|m| rejections(&net, m, "invalid_shares"))
        .collect();
    eprintln!("forged share messages excluded by the combiner, members 1-3: {excluded:?}");
    assert!(
        excluded[0] >= 1.0,
        "member 1 excluded member 4's shares with a recorded error"
    );
    let log1 = std::fs::read_to_string(&net.node(1).log).expect("log");
    assert!(log1.contains("invalid shares excluded"));

    // (d): still live with the Byzantine member present, and (a)–(c).
    net.assert_resumes(2, 79, 8, &[1, 2, 3], &mut acked, &honest);
    let checked = net.assert_invariants(&acked, &honest);
    report.finish(&acked, &checked);
}
