//! End to end against a real Ethereum node: wallets sign EIP-1559 transfers, encrypt them
//! to a 4-member committee with `veil-client`, the committee orders and opens them, member 1
//! forwards the opened batches to `anvil` (no automatic mining, FIFO order), and the mined
//! block holds exactly the certified order of the valid transactions — nothing that failed.
//!
//! Needs `anvil` from the npm package `@foundry-rs/anvil` (installed by
//! `tests/setup-machine.sh`, which the test command runs first).

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use alloy::primitives::{Address, U256, keccak256};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::json;
use support::{Anvil, dev_signer, wallet_client};
use veil_client::eth::{self, Transfer};
use veil_client::{ChainPolicy, Encryptor, Mode};
use veil_protocol::{Outcome, TxId};
use veil_tests::{CHAIN_ID, Net, NetOptions, wait_for};
use veil_threshold::{Label, SlotRange};

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn anvil_mines_exactly_the_certified_order_of_valid_transactions() {
    let anvil = Anvil::start();
    let net = Net::start(NetOptions {
        forward_rpc: Some(anvil.url.clone()),
        // Long enough slots that the submissions below spread over a few batches, not one
        // per transaction.
        slot_ms: 300,
        seed: 61,
        ..NetOptions::default()
    });
    let client = wallet_client(&net, 1);
    let encryptor = Encryptor::new(
        client.inner().committee().clone(),
        None,
        ChainPolicy::single(CHAIN_ID),
    );
    let mut rng = ChaCha20Rng::seed_from_u64(6);

    // The dev keys are anvil's funded accounts.
    let accounts = anvil.rpc("eth_accounts", json!([]));
    for i in 1..=4 {
        let addr = format!("{:#x}", dev_signer(i).address());
        assert!(
            accounts
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a.as_str() == Some(&addr)),
            "dev key {i} is not an anvil account"
        );
    }

    // Four senders, two transfers each (nonces 0 and 1), interleaved; between them,
    // submissions that must never reach anvil.
    let recipient = Address::repeat_byte(0x42);
    let slots = SlotRange::new(0, 1_000_000).unwrap();
    let mut valid: Vec<(TxId, eth::SignedTx)> = Vec::new();
    let mut not_a_tx: Vec<TxId> = Vec::new();
    let mut refused = 0;
    for round in 0..2u64 {
        for sender in 1..=4usize {
            let key = dev_signer(sender);
            let value = U256::from(1_000 * sender as u64 + round);
            let t = Transfer::new(CHAIN_ID, round, recipient, value, 2_000_000_000);
            let signed = eth::sign_transfer(&key, &t).unwrap();
            let tx = encryptor
                .encrypt_eth(Mode::Threshold, &signed, slots, &mut rng)
                .unwrap();
            let sub = client.submit(&tx).unwrap();
            assert_eq!(sub.id, tx.id());
            valid.push((tx.id(), signed));
        }
        // A payload that decrypts but is not a transaction: opened, forwarded, refused by
        // anvil, never mined.
        let label = Label::new(CHAIN_ID, [round as u8; 32], slots, 0, vec![]).unwrap();
        let junk = encryptor
            .encrypt(
                Mode::Threshold,
                label,
                b"not an ethereum transaction",
                &mut rng,
            )
            .unwrap();
        not_a_tx.push(client.submit(&junk).unwrap().id);
        // A ciphertext whose payload was tampered with after encryption: its validity proof
        // no longer holds, so no member stores it and it is never ordered.
        let signed = eth::sign_transfer(
            &dev_signer(5),
            &Transfer::new(CHAIN_ID, round, recipient, U256::from(7u64), 2_000_000_000),
        )
        .unwrap();
        let mut tampered = encryptor
            .encrypt_eth(Mode::Threshold, &signed, slots, &mut rng)
            .unwrap()
            .encoding()
            .to_vec();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x01;
        match client.submit_envelope(&tampered) {
            Err(veil_client::ClientError::Node { status: 400, .. }) => refused += 1,
            other => panic!("tampered ciphertext accepted: {other:?}"),
        }
    }
    assert_eq!(refused, 2);

    // Follow every accepted submission to its checked final position.
    let mut positions = Vec::new();
    for (id, signed) in &valid {
        let f = client
            .follow(id, Some(&signed.raw), WAIT, |_| {})
            .unwrap_or_else(|e| panic!("following {id}: {e}\n{}", net.logs()));
        positions.push(((f.slot, f.index), f.outcome));
    }
    for id in &not_a_tx {
        let f = client.follow(id, None, WAIT, |_| {}).unwrap();
        assert_eq!(
            f.outcome,
            Outcome::Decrypted(b"not an ethereum transaction".to_vec())
        );
    }

    // The certified order, from the checked plaintext batches of every slot involved: every
    // decrypted item that is a valid Ethereum transaction, in (slot, index) order.
    let slots_used: BTreeSet<u64> = positions.iter().map(|((s, _), _)| *s).collect();
    let mut certified: Vec<String> = Vec::new();
    let mut opened_items = 0;
    for slot in *slots_used.first().unwrap()..=*slots_used.last().unwrap() {
        let batch = client.batch(slot).unwrap().expect("opened batch");
        for item in &batch.items {
            opened_items += 1;
            if let Outcome::Decrypted(p) = &item.outcome
                && eth::decode_signed(p).is_ok()
            {
                certified.push(format!("{:#x}", keccak256(p)));
            }
        }
    }
    assert_eq!(
        certified.len(),
        valid.len(),
        "every valid transfer certified once"
    );
    assert!(opened_items >= valid.len() + not_a_tx.len());

    // Every decrypted item has a forwarding result once the forwarder reached it; the junk
    // items' results are anvil's refusals.
    for id in valid.iter().map(|(id, _)| id).chain(&not_a_tx) {
        wait_for("the forwarder to reach every item", WAIT, || {
            net.node(1)
                .tx_status(id)
                .filter(|v| !v["forwarding"].is_null())
        });
    }
    for id in &not_a_tx {
        let v = net.node(1).tx_status(id).unwrap();
        assert_eq!(
            v["forwarding"]["status"], "rejected",
            "anvil refuses junk: {v}"
        );
    }
    for (id, _) in &valid {
        let v = net.node(1).tx_status(id).unwrap();
        assert_eq!(
            v["forwarding"]["status"], "accepted",
            "anvil took {id}: {v}"
        );
    }

    // Nothing mined yet; mine one block with the whole pool.
    assert_eq!(anvil.block_number(), 0);
    assert_eq!(anvil.pool_len(), valid.len() as u64);
    anvil.mine();
    let mined = anvil.block_tx_hashes(1);
    assert_eq!(
        mined, certified,
        "anvil's block is exactly the certified order of the valid transactions"
    );
    // And every transfer succeeded.
    for h in &mined {
        let r = anvil.rpc("eth_getTransactionReceipt", json!([h]));
        assert_eq!(r["status"], "0x1", "receipt of {h}: {r}");
    }
    let balance = anvil.rpc(
        "eth_getBalance",
        json!([format!("{recipient:#x}"), "latest"]),
    );
    let expected: u64 = (1..=4u64).map(|s| 2 * 1_000 * s + 1).sum();
    assert_eq!(balance, json!(format!("{expected:#x}")));
}
