//! Issue 7, fault suite: a member's disk fills up (its writes fail for real).
//!
//! Member 3 runs with `SIGXFSZ` ignored; the test lowers its `RLIMIT_FSIZE` to 0 from
//! outside (`prlimit(2)`), so every write redb makes fails with `EFBIG` — what a full disk
//! looks like to the process. What the node promises, and this test asserts:
//!
//! - a storage failure is fatal for the operation: a submission is refused with `500
//!   {"code":"storage"}` and no receipt, and the envelope is not passed on (nothing is
//!   acknowledged without a durable write);
//! - it is surfaced: an `error` log line (`storage failure`), the counter
//!   `veil_rejections_total{code="storage"}`, and `/healthz` answering `503
//!   {"code":"storage_failed"}`;
//! - it is sticky: redb refuses every transaction after an I/O error until the database is
//!   reopened, so the member stays unhealthy after space comes back and the operator (here the
//!   test) restarts it — the decision an operator wants: a member that cannot write must not
//!   look healthy, and a restart is the documented recovery;
//! - the other three members keep certifying and decrypting meanwhile (quorum 3 of 4);
//! - after the restart the member catches up, acknowledges again (the envelopes refused
//!   during the fault are accepted now), and decrypts new batches with the others;
//! - invariants (a)–(d) of [`veil_tests::faults`] hold over the whole run.

use std::time::Duration;

use veil_tests::{Acked, FaultReport, Honest, Net, NetOptions, http_get, id_of, wait_for};

#[test]
fn a_member_whose_disk_fills_refuses_surfaces_and_recovers() {
    let mut report = FaultReport::new("disk_full");
    let mut net = Net::start(NetOptions::default());
    // Member 3 ignores SIGXFSZ (limit lifted until the fault).
    net.kill9(3);
    net.nodes[2].fsize_limit = Some(u64::MAX);
    net.restart(3);
    let honest = Honest::default();
    let mut acked = Acked::default();

    // Acknowledged by member 3 just before its disk fills.
    let before = net.wallet(61, 20);
    let r = net
        .node(3)
        .submit_bulk(&before.iter().map(|(e, _)| e.clone()).collect::<Vec<_>>());
    assert_eq!(r.status, 200, "bulk submit: {}", r.text());
    acked.record(3, &before);
    let top_before = net.node(1).last_certified_slot();

    report.fault("member 3: RLIMIT_FSIZE=0, every write fails with EFBIG");
    net.node(3).set_fsize_limit(Some(0));

    // Submissions to member 3 are refused with a clear error and never acknowledged.
    let refused = net.wallet(62, 6);
    for (e, _) in &refused[..3] {
        let r = net.node(3).submit(e);
        assert!(
            (500..600).contains(&r.status) && r.code().as_deref() == Some("storage"),
            "a submission to a member whose disk is full must be refused with a storage error: \
             {} {}",
            r.status,
            r.text()
        );
        assert!(r.json()["receipt"].is_null(), "no receipt: {}", r.text());
    }
    let r = net.node(3).submit_bulk(
        &refused[3..]
            .iter()
            .map(|(e, _)| e.clone())
            .collect::<Vec<_>>(),
    );
    assert!(
        (500..600).contains(&r.status) && r.code().as_deref() == Some("storage"),
        "bulk: {} {}",
        r.status,
        r.text()
    );
    assert!(r.json()["receipt"].is_null());

    // Surfaced: /healthz, the counter, the log.
    let h = http_get(&format!("{}/healthz", net.node(3).url)).expect("healthz answers");
    assert_eq!(h.status, 503, "healthz: {}", h.text());
    assert_eq!(h.code().as_deref(), Some("storage_failed"), "{}", h.text());
    let failures = net
        .node(3)
        .metrics()
        .get("veil_rejections_total{code=\"storage\"}")
        .copied()
        .unwrap_or(0.0);
    assert!(
        failures >= 4.0,
        "storage failures counted: {failures} (4 refused requests)"
    );
    let log = std::fs::read_to_string(&net.node(3).log).expect("log");
    assert!(log.contains("storage failure"), "an error line is logged");

    // The other three keep certifying and decrypting.
    let during = net.wallet(63, 10);
    for (e, _) in &during {
        let r = net.node(1).submit(e);
        assert_eq!(
            r.status,
            200,
            "submit to member 1 during the fault: {}",
            r.text()
        );
    }
    acked.record(1, &during);
    for m in [1, 2, 4] {
        for (e, _) in &during {
            let id = id_of(e);
            wait_for(
                &format!(
                    "member {m} to decrypt {} while member 3's disk is full",
                    id.to_hex()
                ),
                Duration::from_secs(60),
                || {
                    net.node(m)
                        .tx_status(&id)
                        .filter(|s| s["status"] == "decrypted")
                },
            );
        }
    }
    // Nothing refused was passed on as if acknowledged.
    for (e, _) in &refused {
        for m in [1, 2, 4] {
            assert!(
                net.node(m).tx_status(&id_of(e)).is_none(),
                "member {m} holds an envelope member 3 refused"
            );
        }
    }

    // Space comes back: the failure is sticky (redb wants the database reopened), so the
    // member stays unhealthy until it is restarted.
    net.node(3).set_fsize_limit(None);
    let h = http_get(&format!("{}/healthz", net.node(3).url)).expect("healthz answers");
    assert_eq!(
        h.status,
        503,
        "still unhealthy until restarted: {}",
        h.text()
    );
    let top_fault = net.node(1).last_certified_slot();
    eprintln!("disk_full: member 3 restarted after the limit was lifted");
    net.kill9(3);
    net.restart(3);

    // It acknowledges again: the envelopes refused during the fault are accepted now.
    for (e, _) in &refused {
        let r = net.node(3).submit(e);
        assert_eq!(r.status, 200, "resubmitted after recovery: {}", r.text());
    }
    acked.record(3, &refused);

    // (d) and (a)–(c).
    net.assert_resumes(3, 64, 10, &[3], &mut acked, &honest);
    let checked = net.assert_invariants(&acked, &honest);
    report.affected(top_before + 1..=top_fault);
    report.finish(&acked, &checked);
}
