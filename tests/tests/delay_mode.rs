//! Delay and dual mode on a real committee (4 `veil-node` processes on loopback): delay-only
//! items of a certified batch are opened by the members' puzzle solvers, dual items by the
//! committee's shares, and a sender's reveal posted to one member settles its item on every
//! member. Every plaintext batch is delivered in the certified order and verifies against
//! its certificate, shares and puzzle openings. A reveal that does not open the puzzle is
//! refused (4xx) and changes nothing.
//!
//! The delay parameters use a tiny `T` (a few thousand squarings), so a puzzle opens in
//! milliseconds.

use std::ops::ControlFlow;
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_protocol::{
    Opening, Outcome, PlaintextBatch, TxEnvelope, TxId, ValidationContext, VerifyContext,
    validate_batch,
};
use veil_squaring::Backend;
use veil_tests::{CHAIN_ID, Net, NetOptions, id_of, wait_for};
use veil_threshold::{EncryptionKey, Label, SlotRange};
use veil_timelock::{DelayCiphertext, DelayParams, DualCiphertext, PuzzleSecret, RsaGroup};

const T: u64 = 4_000;

/// Generates the test parameters and writes them where every member's config points.
fn params(name: &str) -> (DelayParams, std::path::PathBuf) {
    let params = DelayParams::generate(
        RsaGroup::rsa2048(),
        b"veil delay-mode integration",
        T,
        Backend::best_single(),
        &mut |_| ControlFlow::Continue(()),
    )
    .expect("parameters");
    let path = std::env::temp_dir().join(format!(
        "veil-delay-params-{name}-{}.json",
        std::process::id()
    ));
    std::fs::write(&path, params.to_json()).expect("write parameters");
    (params, path)
}

fn label(sender: u8) -> Label {
    Label::new(
        CHAIN_ID,
        [sender; 32],
        SlotRange::new(0, 1_000_000).expect("range"),
        1_000,
        vec![],
    )
    .expect("label")
}

fn delay(params: &DelayParams, rng: &mut ChaCha20Rng, text: &str) -> (Vec<u8>, PuzzleSecret) {
    let l = label(text.len() as u8);
    let pk = params.insecure_proving_key().expect("devnet proving key");
    let (ct, secret) =
        DelayCiphertext::encrypt(params, &pk, &l, text.as_bytes(), rng).expect("delay encrypt");
    (TxEnvelope::delay(params, l, &ct).to_bytes(), secret)
}

fn dual(net: &Net, params: &DelayParams, rng: &mut ChaCha20Rng, text: &str) -> Vec<u8> {
    let ek = EncryptionKey::new(net.threshold_key.public_key());
    let pk = params.insecure_proving_key().expect("devnet proving key");
    let (ct, _) = DualCiphertext::encrypt(params, &pk, &ek, &label(200), text.as_bytes(), rng)
        .expect("dual encrypt");
    TxEnvelope::dual(params, &ct).to_bytes()
}

/// The plaintext batch holding `id` at member `m`, once delivered there.
fn delivered_batch(net: &Net, m: u32, id: &TxId) -> PlaintextBatch {
    let node = net.node(m);
    let slot = wait_for(
        &format!("member {m} decrypts {}", id.to_hex()),
        Duration::from_secs(60),
        || {
            let s = node.tx_status(id)?;
            matches!(s["status"].as_str(), Some("decrypted" | "invalid"))
                .then(|| s["slot"].as_u64())
                .flatten()
        },
    );
    node.plaintext_batch(slot)
        .expect("the delivered batch is served")
}

/// Checks `batch` like any third party: certificate, ids in order, every outcome.
fn verify(net: &Net, params: &DelayParams, batch: &PlaintextBatch, envelopes: &[Vec<u8>]) {
    let by_id: std::collections::HashMap<TxId, &Vec<u8>> =
        envelopes.iter().map(|e| (id_of(e), e)).collect();
    let encs: Vec<&[u8]> = batch
        .items
        .iter()
        .map(|i| {
            by_id
                .get(&i.id)
                .expect("an envelope of this test")
                .as_slice()
        })
        .collect();
    let ctx = ValidationContext {
        committee_key: net.threshold_key.public_key(),
        delay_params: Some(params),
        chain_ids: &[CHAIN_ID],
        current_slot: 0,
    };
    let validated: Vec<_> = validate_batch(&ctx, &encs)
        .into_iter()
        .map(|r| r.expect("envelope validates"))
        .collect();
    let vctx = VerifyContext {
        committee: &net.bls_keys,
        quorum: net.quorum,
        key: &net.threshold_key,
        delay_params: Some(params),
    };
    batch
        .verify(&vctx, &validated)
        .expect("the plaintext batch verifies");
}

#[test]
fn delay_and_dual_items_settle_in_certified_order_on_every_member() {
    let (params, path) = params("solver");
    let net = Net::start(NetOptions {
        delay_params: Some(path.clone()),
        ..NetOptions::default()
    });
    let mut rng = ChaCha20Rng::seed_from_u64(41);
    let (threshold, _) = net.wallet(41, 1).remove(0);
    let texts = ["delay one", "delay two", "dual three"];
    let (d1, _) = delay(&params, &mut rng, texts[0]);
    let (d2, _) = delay(&params, &mut rng, texts[1]);
    let u3 = dual(&net, &params, &mut rng, texts[2]);
    let envelopes = vec![d1, threshold.clone(), d2, u3];
    let r = net.node(1).submit_bulk(&envelopes);
    assert_eq!(r.status, 200, "{}", r.text());
    let ids: Vec<TxId> = envelopes.iter().map(|e| id_of(e)).collect();
    let mut seen: Option<Vec<PlaintextBatch>> = None;
    for m in 1..=4 {
        let mut batches: Vec<PlaintextBatch> = Vec::new();
        for id in &ids {
            let b = delivered_batch(&net, m, id);
            if !batches.iter().any(|x| x.slot == b.slot) {
                batches.push(b);
            }
        }
        batches.sort_by_key(|b| b.slot);
        // In certified order: the ids appear in the order the bulk request gave them (one
        // pending queue, one sequencer), each item decrypted.
        let order: Vec<TxId> = batches
            .iter()
            .flat_map(|b| b.items.iter().map(|i| i.id))
            .filter(|id| ids.contains(id))
            .collect();
        assert_eq!(order, ids, "member {m} delivered in certified order");
        for b in &batches {
            verify(&net, &params, b, &envelopes);
            for item in &b.items {
                let i = ids.iter().position(|x| *x == item.id).expect("our id");
                let want: &[u8] = match i {
                    0 => texts[0].as_bytes(),
                    2 => texts[1].as_bytes(),
                    3 => texts[2].as_bytes(),
                    _ => &[],
                };
                match &item.outcome {
                    Outcome::Decrypted(m) if i != 1 => assert_eq!(m.as_slice(), want),
                    Outcome::Decrypted(_) => {}
                    Outcome::Invalid => panic!("item {i} invalid"),
                }
                if i == 0 || i == 2 {
                    assert!(
                        matches!(item.opening, Opening::Solution(_)),
                        "delay item {i} opened by the solver"
                    );
                }
            }
        }
        // Every member delivers the same batches.
        match &seen {
            None => seen = Some(batches),
            Some(first) => assert_eq!(
                first
                    .iter()
                    .map(|b| (b.slot, b.commitment))
                    .collect::<Vec<_>>(),
                batches
                    .iter()
                    .map(|b| (b.slot, b.commitment))
                    .collect::<Vec<_>>()
            ),
        }
        let metrics = net.node(m).metrics();
        assert!(
            metrics
                .get("veil_solver_solved_total")
                .copied()
                .unwrap_or(0.0)
                >= 2.0
        );
    }
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_reveal_posted_to_one_member_settles_the_item_everywhere() {
    let (params, path) = params("reveal");
    // No solver anywhere: only the reveal can open the delay item.
    let net = Net::start(NetOptions {
        delay_params: Some(path.clone()),
        solver: false,
        ..NetOptions::default()
    });
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let (d, secret) = delay(&params, &mut rng, "revealed later");
    let (_, other) = delay(&params, &mut rng, "another puzzle");
    let id = id_of(&d);
    let r = net.node(1).submit(&d);
    assert_eq!(r.status, 200, "{}", r.text());
    // Certified (ordered) at member 3, not yet decryptable.
    wait_for("member 3 orders the item", Duration::from_secs(30), || {
        (net.node(3).tx_status(&id)?["status"] == "ordered").then_some(())
    });
    let body = |s: &PuzzleSecret| serde_json::json!({ "id": id.to_hex(), "reveal": hex::encode(s.reveal().to_bytes()) });
    // A wrong reveal: refused, nothing stored anywhere.
    let bad = net.node(3).post_json("/v1/reveal", &body(&other));
    assert_eq!(bad.status, 422, "{}", bad.text());
    assert_eq!(bad.code().as_deref(), Some("bad_reveal"));
    std::thread::sleep(Duration::from_millis(300));
    for m in 1..=4 {
        assert_eq!(
            net.node(m).tx_status(&id).expect("known")["status"],
            "ordered",
            "member {m} unchanged by a bad reveal"
        );
        let reveals = net.node(m).metrics();
        assert_eq!(reveals.get("veil_reveals_total").copied(), Some(0.0));
    }
    // The right one, to member 3 only: every member settles the item.
    let good = net.node(3).post_json("/v1/reveal", &body(&secret));
    assert_eq!(good.status, 200, "{}", good.text());
    for m in 1..=4 {
        let b = delivered_batch(&net, m, &id);
        let item = b.items.iter().find(|i| i.id == id).expect("the item");
        assert_eq!(
            item.outcome,
            Outcome::Decrypted(b"revealed later".to_vec()),
            "member {m}"
        );
        assert!(matches!(item.opening, Opening::Reveal(_)), "member {m}");
        verify(&net, &params, &b, std::slice::from_ref(&d));
    }
    let again = net.node(3).post_json("/v1/reveal", &body(&secret));
    assert_eq!(again.status, 409, "{}", again.text());
    let _ = std::fs::remove_file(path);
}
