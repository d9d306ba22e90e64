//! Issue 7, fault suite: SIGKILL and restart of members at random points.
//!
//! A seeded RNG (`VEIL_FAULT_SEED` overrides the default; the seed is printed) picks each
//! victim and the moment:
//!
//! 1. **during ingest**: a wallet streams bulk submissions to the victim from another
//!    thread; the victim is SIGKILLed after a random delay, mid-stream. Every request it had
//!    answered `200` for must be in its database (opened by the test while the process is
//!    dead); requests cut off by the kill were never acknowledged.
//! 2. **after releasing shares**: the victim is SIGKILLed as soon as the proxies carry its
//!    share message for a batch holding our transactions (after a random extra delay of at
//!    most a few milliseconds); the other members finish the batch. The proxies withhold
//!    the others' share messages from the victim until it is dead, so it dies holding only
//!    its own: after the restart it must still obtain theirs and open the batch (it re-sends
//!    its shares; members that already hold them answer with their own). This was a bug:
//!    a member killed in that window never opened the slot, and its delivery stream
//!    stopped there.
//!
//! (SIGKILL right **after voting**, before the batch opens, is `crash.rs`, which asserts the
//! same invariants.) Each victim is restarted; then invariants (a)–(d) of
//! [`veil_tests::faults`] must hold: nothing acknowledged lost, no conflicting certificates,
//! votes or shares, plaintext order = certified order, and new transactions are decrypted
//! by a committee in which every restarted member releases its shares again.

use std::collections::BTreeSet;
use std::time::Duration;

use rand_core::RngCore;
use veil_protocol::TxId;
use veil_storage::Storage;
use veil_tests::{Acked, FaultReport, Honest, Net, NetOptions, fault_rng, id_of, wait_for};

#[test]
fn members_killed_at_random_points_lose_nothing_and_rejoin() {
    let mut report = FaultReport::new("sigkill_random");
    let (mut rng, seed) = fault_rng("sigkill_random", 2026);
    report.seed(seed);
    let mut net = Net::start(NetOptions::default());
    let honest = Honest::default();
    let mut acked = Acked::default();
    let mut affected = BTreeSet::new();

    // 1. During ingest.
    let victim = 1 + rng.next_u32() % 4;
    let delay = Duration::from_millis(20 + u64::from(rng.next_u32() % 400));
    let stream: Vec<Vec<(Vec<u8>, Vec<u8>)>> = (0..12).map(|i| net.wallet(100 + i, 8)).collect();
    let before = net.node(1).last_certified_slot();
    let url = net.node(victim).url.clone();
    let answered: Vec<bool> = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let mut ok = Vec::new();
            for txs in &stream {
                let mut body = Vec::new();
                for (e, _) in txs {
                    body.extend_from_slice(&(e.len() as u32).to_be_bytes());
                    body.extend_from_slice(e);
                }
                let r = veil_tests::http_post(
                    &format!("{url}/v1/transactions/bulk"),
                    "application/octet-stream",
                    &body,
                );
                let acknowledged = matches!(&r, Ok(r) if r.status == 200);
                ok.push(acknowledged);
                if r.is_err() {
                    break; // The member is gone.
                }
            }
            ok
        });
        std::thread::sleep(delay);
        report.fault(format!(
            "SIGKILL member {victim} during ingest ({} ms into a bulk stream)",
            delay.as_millis()
        ));
        net.kill9(victim);
        h.join().expect("wallet thread")
    });
    let mut acked_here: Vec<TxId> = Vec::new();
    for (txs, ok) in stream.iter().zip(&answered) {
        if *ok {
            acked.record(victim, txs);
            acked_here.extend(txs.iter().map(|(e, _)| id_of(e)));
        }
    }
    eprintln!(
        "member {victim} acknowledged {} of {} bulk requests before the kill",
        answered.iter().filter(|a| **a).count(),
        stream.len()
    );
    {
        let storage = Storage::open(&net.node(victim).db).expect("database opens after SIGKILL");
        for id in &acked_here {
            assert!(
                storage.has_envelope(id).expect("read"),
                "member {victim} lost acknowledged envelope {} to SIGKILL",
                id.to_hex()
            );
        }
    }
    net.restart(victim);
    let rejoined_1 = victim;

    // 2. After releasing shares.
    let victim = 1 + rng.next_u32() % 4;
    let extra = Duration::from_micros(u64::from(rng.next_u32() % 5_000));
    let via = if victim == 1 { 2 } else { 1 };
    // The victim never receives the others' shares for the batch before it dies (so it
    // must get them after its restart: regression test for shares lost to a crash).
    net.recorder.withhold_shares_to(victim);
    let txs = net.wallet(120, 10);
    let ours: BTreeSet<TxId> = txs.iter().map(|(e, _)| id_of(e)).collect();
    let r = net
        .node(via)
        .submit_bulk(&txs.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>());
    assert_eq!(r.status, 200, "{}", r.text());
    acked.record(via, &txs);
    let first = *ours.iter().next().expect("ten ids");
    let released_slot = wait_for("our batch to be certified", Duration::from_secs(60), || {
        net.node(via).tx_status(&first)?["slot"].as_u64()
    });
    wait_for(
        &format!("member {victim} to release its shares for slot {released_slot}"),
        Duration::from_secs(60),
        || net.recorder.has_shares(victim, released_slot).then_some(()),
    );
    std::thread::sleep(extra);
    report.fault(format!(
        "SIGKILL member {victim} after releasing its shares for slot {released_slot}"
    ));
    net.kill9(victim);
    net.recorder.deliver_shares_to(victim);
    affected.insert(released_slot);
    // While it is down, the others carry on (the built-in sequencer is member 1: if it is
    // the victim, nothing is proposed until it is back).
    let down = net.wallet(121, 8);
    let r = net
        .node(via)
        .submit_bulk(&down.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>());
    assert_eq!(r.status, 200, "{}", r.text());
    acked.record(via, &down);
    if victim != 1 {
        for (e, _) in &down {
            wait_for(
                &format!("member {via} to decrypt while member {victim} is down"),
                Duration::from_secs(60),
                || {
                    net.node(via)
                        .tx_status(&id_of(e))
                        .filter(|s| s["status"] == "decrypted")
                },
            );
        }
    }
    let top = net.node(via).last_certified_slot();
    net.restart(victim);

    // (d), then (a)–(c) over everything.
    let rejoined: Vec<u32> = BTreeSet::from([rejoined_1, victim]).into_iter().collect();
    net.assert_resumes(victim, 122, 8, &rejoined, &mut acked, &honest);
    let checked = net.assert_invariants(&acked, &honest);
    // Slots certified from the first kill to the second restart.
    affected.extend(before + 1..=top);
    report.affected(affected);
    report.finish(&acked, &checked);
}
