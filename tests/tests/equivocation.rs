//! Acceptance 2: an equivocating external sequencer — two commitments for one slot, and two
//! children of one parent — never obtains two certificates, and every member that saw both
//! proposals stores the evidence (both signed proposals), which is queryable from its
//! database.
//!
//! The test is the sequencer: its key is in every member's `sequencer_keys`, no member runs
//! the built-in sequencer, and proposals enter through `POST /v1/sequencer/proposals`, where
//! the receiving member drives them to the committee. Conflicting proposals are sent
//! through different members at the same time, so the committee sees them race.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use veil_protocol::{Batch, Commitment, Evidence, OrderCertificate, Proposal};
use veil_storage::Storage;
use veil_tests::{
    CHAIN_ID, FaultReport, Net, NetOptions, Reply, SequencerMode, assert_no_conflicting_votes,
    id_of, recorded_votes, wait_for,
};

fn post_proposal(net: &Net, via: u32, p: &Proposal) -> Reply {
    net.node(via).post_json(
        "/v1/sequencer/proposals",
        &serde_json::json!({ "proposal": hex::encode(p.to_bytes()) }),
    )
}

/// Posts two proposals through two members concurrently.
fn race(net: &Net, a: (u32, &Proposal), b: (u32, &Proposal)) -> (Reply, Reply) {
    std::thread::scope(|s| {
        let ha = s.spawn(|| post_proposal(net, a.0, a.1));
        let hb = s.spawn(|| post_proposal(net, b.0, b.1));
        (ha.join().expect("thread"), hb.join().expect("thread"))
    })
}

/// Every certificate any member holds for `slots`, by slot.
fn certificates(net: &Net, slots: &[u64]) -> BTreeMap<u64, BTreeSet<[u8; 32]>> {
    let mut out: BTreeMap<u64, BTreeSet<[u8; 32]>> = BTreeMap::new();
    for node in &net.nodes {
        for &slot in slots {
            if let Some(c) = node.certificate(slot) {
                c.verify(&net.bls_keys, net.quorum)
                    .expect("a served certificate verifies");
                out.entry(slot).or_default().insert(c.commitment.0);
            }
        }
    }
    out
}

/// `GET path` on `node`: every served evidence item decodes from its binary form, matches
/// its JSON fields, and verifies against the sequencer keys.
fn evidence_over_http(
    node: &veil_tests::Node,
    path: &str,
    seq_keys: &[veil_threshold::BlsPublicKey],
) -> Vec<Evidence> {
    let r = node.get(path);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    v["evidence"]
        .as_array()
        .expect("an evidence list")
        .iter()
        .map(|item| {
            let bytes = hex::decode(item["binary"].as_str().expect("binary")).expect("hex");
            let ev = Evidence::from_bytes(&bytes).expect("evidence decodes");
            ev.verify(seq_keys).expect("served evidence verifies");
            assert_eq!(
                item["slots"],
                serde_json::json!([ev.first.batch.slot, ev.second.batch.slot])
            );
            ev
        })
        .collect()
}

#[test]
fn an_equivocating_sequencer_never_gets_two_certificates() {
    let mut report = FaultReport::new("sequencer_equivocation");
    let mut net = Net::start(NetOptions {
        sequencer: SequencerMode::External,
        ..NetOptions::default()
    });
    let txs = net.wallet(31, 4);
    let ids: Vec<_> = txs.iter().map(|(e, _)| id_of(e)).collect();
    // Every member holds every envelope (so refusals are about the proposals, not missing
    // data).
    for (e, _) in &txs {
        let r = net.node(1).submit(e);
        assert_eq!(r.status, 200, "submit: {}", r.text());
    }
    for node in &net.nodes {
        for id in &ids {
            wait_for("gossip of every envelope", Duration::from_secs(20), || {
                node.tx_status(id).map(|_| ())
            });
        }
    }

    // Two commitments for slot 1 (same parent), raced through members 1 and 4.
    let batch = |slot, parent, ids: Vec<_>| Batch {
        chain_id: CHAIN_ID,
        slot,
        parent,
        ids,
        chains: vec![],
    };
    let p1 = net.propose(batch(1, Commitment::genesis(), vec![ids[0]]));
    let p2 = net.propose(batch(1, Commitment::genesis(), vec![ids[1]]));
    let (r1, r2) = race(&net, (1, &p1), (4, &p2));
    let certified_1: Vec<OrderCertificate> = [&r1, &r2]
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| veil_tests::certificate_from_json(&r.json()))
        .collect();
    assert!(
        certified_1.len() <= 1,
        "two certificates handed out for slot 1: {} / {}",
        r1.text(),
        r2.text()
    );
    // If neither won the race, the sequencer may still get the slot certified by re-driving
    // a proposal a quorum already voted for; the members' answers stay consistent.
    let held = certificates(&net, &[1]);
    assert!(
        held.get(&1).is_none_or(|s| s.len() == 1),
        "members hold conflicting certificates for slot 1: {held:?}"
    );

    // Two children of one parent: the certified slot-1 commitment if there is one, else
    // genesis again (slot 2 and slot 3 both claiming it as parent).
    let parent = held
        .get(&1)
        .and_then(|s| s.iter().next().copied())
        .map(Commitment)
        .unwrap_or_else(Commitment::genesis);
    let q1 = net.propose(batch(2, parent, vec![ids[2]]));
    let q2 = net.propose(batch(3, parent, vec![ids[3]]));
    let (s1, s2) = race(&net, (2, &q1), (3, &q2));
    let ok = [&s1, &s2].iter().filter(|r| r.status == 200).count();
    assert!(
        ok <= 1,
        "two children of one parent certified: {} / {}",
        s1.text(),
        s2.text()
    );
    let held = certificates(&net, &[1, 2, 3]);
    let children: usize = [2u64, 3]
        .iter()
        .filter_map(|s| held.get(s))
        .map(BTreeSet::len)
        .sum();
    assert!(children <= 1, "conflicting children certified: {held:?}");

    // No honest member ever voted for two commitments in one slot or two children of one
    // parent (votes as carried over the member links).
    let votes = recorded_votes(&net.recorder.messages());
    assert!(!votes.is_empty(), "the proxies saw the members' votes");
    for v in &votes {
        v.verify(&net.bls_keys).expect("recorded votes are genuine");
    }
    assert_no_conflicting_votes(&votes, &[]);

    // The evidence is stored. A member holds evidence of an equivocation when it has seen
    // both signed proposals; which members see both depends on the race (a member that
    // already holds a certificate refuses the conflicting proposal without passing it on),
    // but the members that were handed the losing proposals always see both. So: each
    // equivocation is served over `GET /v1/evidence` by at least one member, everything any
    // member serves verifies against the sequencer key, and it is in that member's storage.
    let seq_keys = vec![
        net.member_keys[0].public_key(),
        net.sequencer_key.public_key(),
    ];
    let is_slot = |e: &Evidence| e.first.batch.slot == 1 && e.second.batch.slot == 1;
    let is_children = |e: &Evidence| {
        e.first.batch.parent == parent
            && e.second.batch.parent == parent
            && e.first.batch.slot != e.second.batch.slot
    };
    // Proposals still in flight when the races returned may add evidence: wait until both
    // equivocations are served somewhere.
    let served: Vec<Vec<Evidence>> = wait_for(
        "both equivocations served by some member",
        Duration::from_secs(20),
        || {
            let served: Vec<Vec<Evidence>> = net
                .nodes
                .iter()
                .map(|node| evidence_over_http(node, "/v1/evidence", &seq_keys))
                .collect();
            let slot = served.iter().flatten().any(is_slot);
            let children = served.iter().flatten().any(is_children);
            (slot && children).then_some(served)
        },
    );
    for (node, all) in net.nodes.iter().zip(&served) {
        // The slot filter returns exactly the evidence that touches the slot.
        let slot1 = evidence_over_http(node, "/v1/evidence?slot=1", &seq_keys);
        let expected: Vec<&Evidence> = all
            .iter()
            .filter(|e| e.first.batch.slot == 1 || e.second.batch.slot == 1)
            .collect();
        assert!(
            slot1.len() >= expected.len(),
            "member {}: ?slot=1 lost evidence",
            node.member
        );
        assert!(
            slot1
                .iter()
                .all(|e| e.first.batch.slot == 1 || e.second.batch.slot == 1)
        );
        assert!(evidence_over_http(node, "/v1/evidence?slot=99", &seq_keys).is_empty());
        let bad = node.get("/v1/evidence?slot=x");
        assert_eq!(bad.status, 400, "{}", bad.text());
    }
    // Nothing acknowledged is lost: each envelope is decrypted at every member (its
    // proposal won) or still held by every member (the sequencer has not ordered it again).
    report.faults_n(
        2,
        "equivocation (two proposals for slot 1; two children of one parent)",
    );
    report.affected([1, 2, 3]);
    let (mut delivered, mut pending) = (0, 0);
    for id in &ids {
        let status = wait_for(
            "every member to settle each envelope",
            Duration::from_secs(30),
            || {
                let st: BTreeSet<String> = net
                    .nodes
                    .iter()
                    .map(|n| {
                        n.tx_status(id)
                            .and_then(|s| s["status"].as_str().map(str::to_owned))
                    })
                    .collect::<Option<_>>()?;
                let one = st.iter().next()?.clone();
                (st.len() == 1 && (one == "decrypted" || one == "pending")).then_some(one)
            },
        );
        if status == "decrypted" {
            delivered += 1;
        } else {
            pending += 1;
        }
    }
    report.finish_counts(ids.len(), delivered, pending);

    let mut slot_conflict = false;
    let mut parent_conflict = false;
    for m in 1..=net.nodes.len() as u32 {
        net.kill9(m);
        let db = net.node(m).db.clone();
        let storage = Storage::open(&db).expect("the member's database opens after SIGKILL");
        let evidence = storage.evidence().expect("evidence is queryable");
        for ev in &served[(m - 1) as usize] {
            assert!(
                evidence.contains(ev),
                "member {m} served only stored evidence"
            );
        }
        for ev in &evidence {
            ev.verify(&seq_keys)
                .expect("stored evidence verifies against the sequencer key");
            assert_ne!(ev.first.batch.commitment(), ev.second.batch.commitment());
            slot_conflict |= is_slot(ev);
            parent_conflict |= is_children(ev);
        }
    }
    assert!(
        slot_conflict,
        "some member stored evidence of the two slot-1 proposals"
    );
    assert!(
        parent_conflict,
        "some member stored evidence of the two children"
    );
}
