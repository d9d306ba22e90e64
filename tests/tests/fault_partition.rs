//! Issue 7, fault suite: a network partition of one member.
//!
//! The recording proxies drop every member-to-member request to member 3 and every signed
//! message from it (both directions; its public API stays up, so wallets can still reach
//! it) for a while, then heal. Asserted: the other three keep certifying and decrypting
//! (quorum 3 of 4); envelopes member 3 acknowledged before and during the partition are
//! not lost — they are ordered and decrypted once it heals (its gossip of them was dropped,
//! so the member must send them again: regression test for lost gossip); member 3 catches up on every
//! slot certified while it was cut off; invariants (a)–(d) hold.

use std::time::Duration;

use veil_tests::{Acked, FaultReport, Honest, Net, NetOptions, id_of, wait_for};

#[test]
fn a_partitioned_member_is_not_needed_and_catches_up_after_healing() {
    let mut report = FaultReport::new("partition");
    let net = Net::start(NetOptions::default());
    let honest = Honest::default();
    let mut acked = Acked::default();

    let before = net.wallet(81, 10);
    let r = net
        .node(3)
        .submit_bulk(&before.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>());
    assert_eq!(r.status, 200, "{}", r.text());
    acked.record(3, &before);
    for (e, _) in &before {
        wait_for(
            "decrypted before the partition",
            Duration::from_secs(60),
            || {
                net.node(3)
                    .tx_status(&id_of(e))
                    .filter(|s| s["status"] == "decrypted")
            },
        );
    }
    let top_before = net.node(1).last_certified_slot();

    report.fault("member 3 cut off from the other members (both directions)");
    net.recorder.partition(3);
    // The others keep going: several batches while member 3 is cut off.
    for round in 0..3u64 {
        let txs = net.wallet(82 + round, 8);
        let via = [1, 2, 4][round as usize];
        let r = net
            .node(via)
            .submit_bulk(&txs.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>());
        assert_eq!(r.status, 200, "{}", r.text());
        acked.record(via, &txs);
        for m in [1, 2, 4] {
            for (e, _) in &txs {
                wait_for(
                    &format!("member {m} to decrypt while member 3 is partitioned"),
                    Duration::from_secs(60),
                    || {
                        net.node(m)
                            .tx_status(&id_of(e))
                            .filter(|s| s["status"] == "decrypted")
                    },
                );
            }
        }
    }
    // A wallet that reaches only member 3: acknowledged (durable there), not yet ordered.
    let only_3 = net.wallet(86, 6);
    let dropped_from_3 = net.recorder.dropped_from(3);
    let r = net
        .node(3)
        .submit_bulk(&only_3.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>());
    assert_eq!(r.status, 200, "{}", r.text());
    acked.record(3, &only_3);
    // Its gossip of them to the three others is lost to the partition.
    wait_for(
        "member 3's gossip to be dropped by the partition",
        Duration::from_secs(30),
        || (net.recorder.dropped_from(3) >= dropped_from_3 + 3).then_some(()),
    );
    let top_cut = net.node(1).last_certified_slot();
    assert!(
        top_cut > top_before,
        "the others certified while member 3 was cut off"
    );
    assert!(
        net.node(3).last_certified_slot() < top_cut,
        "member 3 really was cut off"
    );
    assert!(net.recorder.dropped() > 0, "the partition dropped traffic");

    net.recorder.heal(3);
    // Member 3 catches up on every slot it missed.
    wait_for(
        "member 3 to catch up after healing",
        Duration::from_secs(60),
        || (net.node(3).last_certified_slot() >= top_cut).then_some(()),
    );
    net.assert_resumes(3, 89, 8, &[3], &mut acked, &honest);
    let checked = net.assert_invariants(&acked, &honest);
    report.affected(top_before + 1..=top_cut);
    report.finish(&acked, &checked);
}
