//! Front-running: a searcher that watches everything it can — every member-to-member
//! message on the wire (the harness's recording proxies), the node's public API
//! (certificates, plaintext batches, transaction status) and anvil's mempool — sees the
//! victim's transaction only as a ciphertext until the order certificate for its slot
//! exists, and cannot get its own transaction ahead of the victim's: reacting as fast as it
//! can, it lands at a later position or in a later slot, and anvil executes the victim first.
//!
//! What the searcher tries, in order:
//! 1. on seeing the victim's ciphertext in the gossip, resubmits it verbatim (refused as
//!    already known: one id, one position) and mauled under its own label (refused: the
//!    validity proof binds the label);
//! 2. submits a blind bid right away (it cannot know what to front-run yet; where the bid
//!    lands is not asserted: a bid placed without the content is not a front-run);
//! 3. on first seeing the victim's plaintext anywhere, submits its targeted transaction.

mod support;

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256, keccak256};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;
use support::{Anvil, dev_signer, wallet_client};
use veil_client::eth::{self, Transfer};
use veil_client::{ChainPolicy, ClientError, Encryptor, Mode};
use veil_protocol::{MemberMessage, Outcome, TxEnvelope, TxId};
use veil_tests::{CHAIN_ID, Net, NetOptions};
use veil_threshold::SlotRange;

const WAIT: Duration = Duration::from_secs(60);

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn searcher_sees_only_ciphertexts_and_cannot_front_run_the_victim() {
    let anvil = Anvil::start();
    let net = Net::start(NetOptions {
        forward_rpc: Some(anvil.url.clone()),
        seed: 62,
        ..NetOptions::default()
    });
    let victim_client = wallet_client(&net, 2);
    let searcher_client = wallet_client(&net, 1);
    let encryptor = Encryptor::new(
        victim_client.inner().committee().clone(),
        None,
        ChainPolicy::single(CHAIN_ID),
    );
    let dex = Address::repeat_byte(0xde);
    let slots = SlotRange::new(0, 1_000_000).unwrap();

    // The victim's trade.
    let victim_signed = eth::sign_transfer(
        &dev_signer(1),
        &Transfer::new(CHAIN_ID, 0, dex, U256::from(5_000_000u64), 2_000_000_000),
    )
    .unwrap();
    let victim_hash = format!("{:#x}", keccak256(&victim_signed.raw));
    let mut vrng = ChaCha20Rng::seed_from_u64(71);
    let victim_tx = encryptor
        .encrypt_eth(Mode::Threshold, &victim_signed, slots, &mut vrng)
        .unwrap();
    let victim_id = victim_tx.id();
    let victim_envelope = victim_tx.encoding().to_vec();

    let started = Instant::now();
    victim_client.submit(&victim_tx).unwrap();

    // The searcher, reacting to everything as fast as it can.
    let searcher = dev_signer(2);
    let mut srng = ChaCha20Rng::seed_from_u64(72);
    let mut saw_ciphertext = false;
    let mut tried_replay = false;
    let mut blind: Option<TxId> = None;
    let mut targeted: Option<(TxId, eth::SignedTx)> = None;
    let mut plaintext_seen_in = None;
    let mut api_polls_before_plaintext = 0u32;
    while targeted.is_none() {
        assert!(
            started.elapsed() < WAIT,
            "the searcher never saw the victim's plaintext\n{}",
            net.logs()
        );
        // 1. The wire: every member-to-member message so far.
        for r in net.recorder.messages() {
            let Some(m) = &r.message else { continue };
            assert!(
                !contains(&m.body, &victim_signed.raw),
                "a member message carried the victim's plaintext (seq {})",
                r.seq
            );
            if contains(&m.body, &victim_envelope) {
                saw_ciphertext = true;
                // Only gossip and certificate-catch-up carry envelopes; none is a plaintext.
                assert!(!matches!(r.body(), Some(MemberMessage::Shares(_))));
            }
        }
        if saw_ciphertext && !tried_replay {
            tried_replay = true;
            // Verbatim replay: the same id, already known; it cannot get a second position.
            match searcher_client.submit_envelope(&victim_envelope) {
                Err(ClientError::Node { status: 409, .. }) | Ok(_) => {}
                other => panic!("replay: {other:?}"),
            }
            // Mauled: the victim's ciphertext under the searcher's own label.
            let mut mauled = TxEnvelope::from_bytes(&victim_envelope).unwrap().to_bytes();
            // Envelope version, mode, ciphertext version, label version, chain id.
            let sender_at = 1 + 1 + 1 + 1 + 8;
            mauled[sender_at + 12..sender_at + 32].copy_from_slice(searcher.address().as_slice());
            assert!(matches!(
                searcher_client.submit_envelope(&mauled),
                Err(ClientError::Node { status: 400, .. })
            ));
            // A blind bid: the best it can do without the content.
            let bid = eth::sign_transfer(
                &searcher,
                &Transfer::new(CHAIN_ID, 0, dex, U256::from(1u64), 50_000_000_000),
            )
            .unwrap();
            let tx = encryptor
                .encrypt_eth(Mode::Threshold, &bid, slots, &mut srng)
                .unwrap();
            blind = Some(searcher_client.submit(&tx).unwrap().id);
        }
        // 2. The public API: the victim's status, and the batch if it is opened.
        match searcher_client.status(&victim_id) {
            Ok(s) => {
                if let Some((slot, _)) = s.position() {
                    let batch = net.node(3).get(&format!("/v1/batches/{slot}"));
                    if batch.status == 200
                        && contains(&batch.body, hex::encode(&victim_signed.raw).as_bytes())
                    {
                        // Served with its certificate, which verifies.
                        assert!(searcher_client.certificate(slot).unwrap().is_some());
                        plaintext_seen_in = Some(("api", slot));
                    }
                }
            }
            Err(ClientError::Node { status: 404, .. }) => {}
            Err(e) => panic!("status: {e}"),
        }
        // 3. Anvil's mempool.
        let pool = anvil
            .rpc("txpool_content", json!([]))
            .to_string()
            .to_lowercase();
        if pool.contains(&victim_hash[2..]) {
            let s = searcher_client.status(&victim_id).unwrap();
            let (slot, _) = s.position().expect("in anvil's pool, so ordered");
            assert!(
                searcher_client.certificate(slot).unwrap().is_some(),
                "the victim reached the mempool before its certificate"
            );
            plaintext_seen_in.get_or_insert(("mempool", slot));
        }
        if plaintext_seen_in.is_some() {
            // React at once: the targeted front-run, highest fees.
            let nonce = u64::from(blind.is_some());
            let front = eth::sign_transfer(
                &searcher,
                &Transfer::new(CHAIN_ID, nonce, dex, U256::from(2u64), 100_000_000_000),
            )
            .unwrap();
            let tx = encryptor
                .encrypt_eth(Mode::Threshold, &front, slots, &mut srng)
                .unwrap();
            let id = searcher_client.submit(&tx).unwrap().id;
            targeted = Some((id, front));
        } else {
            api_polls_before_plaintext += 1;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        saw_ciphertext,
        "the searcher saw the victim's ciphertext on the wire"
    );
    assert!(api_polls_before_plaintext > 0);
    let (front_id, front_signed) = targeted.unwrap();

    // Final positions, checked against the certificates.
    let v = victim_client
        .follow(&victim_id, Some(&victim_signed.raw), WAIT, |_| {})
        .unwrap();
    let f = searcher_client
        .follow(&front_id, Some(&front_signed.raw), WAIT, |_| {})
        .unwrap();
    assert!(
        (f.slot, f.index) > (v.slot, v.index),
        "searcher at {:?}, victim at {:?}",
        (f.slot, f.index),
        (v.slot, v.index)
    );
    assert!(
        f.slot > v.slot,
        "a reaction to the plaintext can only land in a later slot"
    );
    assert_eq!(v.outcome, Outcome::Decrypted(victim_signed.raw.clone()));
    // The blind bid may land anywhere (it was placed without seeing anything); it does
    // not matter to the victim, who is not front-run by a bid that did not know the trade.
    let _ = blind;

    // Anvil executes the victim first.
    let front_hash = format!("{:#x}", keccak256(&front_signed.raw));
    veil_tests::wait_for("both transactions in anvil's pool", WAIT, || {
        let pool = anvil
            .rpc("txpool_content", json!([]))
            .to_string()
            .to_lowercase();
        (pool.contains(&victim_hash[2..]) && pool.contains(&front_hash[2..])).then_some(())
    });
    anvil.mine();
    let mined = anvil.block_tx_hashes(1);
    let pv = mined
        .iter()
        .position(|h| *h == victim_hash)
        .expect("victim mined");
    let pf = mined
        .iter()
        .position(|h| *h == front_hash)
        .expect("searcher mined");
    assert!(
        pv < pf,
        "victim at {pv}, searcher at {pf} in block 1: {mined:?}"
    );
}
