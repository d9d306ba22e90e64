//! One committee, two rollups: two `anvil` chains (chain ids 31337 and 31338) served by one
//! 4-member committee of real `veil-node` processes, each rollup with its own forwarder.
//!
//! - A bundle spanning both chains lands in both, contiguous in the certified order, and
//!   each anvil mines exactly its rollup's certified sub-batch order (ordinary
//!   transactions of both rollups around the bundle included); every sub-batch verifies
//!   against the certificate with `veil-client`.
//! - A test-driven sequencer that proposes half a bundle gets no certificate (every member
//!   refuses to vote, and records no vote intent); the whole bundle, proposed next for the
//!   same slot, is certified.
//!
//! Needs `anvil` (see `tests/setup-machine.sh`).

mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alloy::primitives::{Address, U256, keccak256};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use support::{anvil_binary, dev_signer};
use veil_client::eth::{self, Transfer};
use veil_client::{BlockingClient, ChainPolicy, EncryptedTx, Encryptor, Mode};
use veil_protocol::{Batch, Commitment, Outcome, SubBatchItem, TxId};
use veil_tests::{CHAIN_ID, Net, NetOptions, SequencerMode, wait_for};
use veil_threshold::SlotRange;

const X: u64 = CHAIN_ID;
const Y: u64 = CHAIN_ID + 1;
const WAIT: Duration = Duration::from_secs(60);

/// An anvil for one chain id: no automatic mining, FIFO order (killed on drop).
struct Chain {
    url: String,
    child: Child,
}

impl Chain {
    fn start(chain_id: u64) -> Chain {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(anvil_binary())
            .args(["--port", &port.to_string(), "--host", "127.0.0.1"])
            .args(["--chain-id", &chain_id.to_string()])
            .args(["--no-mining", "--order", "fifo", "--accounts", "10"])
            .arg("--silent")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawning anvil");
        let chain = Chain {
            url: format!("http://127.0.0.1:{port}"),
            child,
        };
        let id = wait_for("anvil to answer eth_chainId", WAIT, || {
            chain.try_rpc("eth_chainId", json!([])).ok()
        });
        assert_eq!(id, json!(format!("{chain_id:#x}")));
        chain
    }

    fn try_rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let r = veil_tests::http_post(&self.url, "application/json", body.to_string().as_bytes())?;
        let v = r.json();
        if let Some(e) = v.get("error") {
            return Err(e.to_string());
        }
        Ok(v["result"].clone())
    }

    fn rpc(&self, method: &str, params: Value) -> Value {
        self.try_rpc(method, params.clone())
            .unwrap_or_else(|e| panic!("anvil {method}({params}): {e}"))
    }

    /// Mines one block with the pool and returns its transaction hashes in order.
    fn mine(&self) -> Vec<String> {
        self.rpc("evm_mine", json!([]));
        let b = self.rpc("eth_getBlockByNumber", json!(["latest", false]));
        b["transactions"]
            .as_array()
            .unwrap_or_else(|| panic!("block: {b}"))
            .iter()
            .map(|h| h.as_str().expect("hash").to_lowercase())
            .collect()
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rollups(x: Value, y: Value) -> Value {
    json!([
        { "chain_id": X, "max_items_per_slot": 64, "delivery": x },
        { "chain_id": Y, "max_items_per_slot": 64, "delivery": y }
    ])
}

fn client(net: &Net, m: u32) -> BlockingClient {
    support::client_with_policy(
        net,
        m,
        ChainPolicy {
            service_chain_id: CHAIN_ID,
            label_chain_ids: vec![X, Y],
        },
    )
}

fn transfer(chain: u64, sender: usize, nonce: u64, value: u64) -> eth::SignedTx {
    let t = Transfer::new(
        chain,
        nonce,
        Address::repeat_byte(0x42),
        U256::from(value),
        2_000_000_000,
    );
    eth::sign_transfer(&dev_signer(sender), &t).expect("signs")
}

fn hash(raw: &[u8]) -> String {
    format!("{:#x}", keccak256(raw))
}

/// Every verified sub-batch item of `rollup` from slot 1 to `last`, with its slot.
fn certified(client: &BlockingClient, rollup: u64, last: u64) -> Vec<(u64, SubBatchItem)> {
    let mut out = Vec::new();
    for slot in 1..=last {
        let items = wait_for("the slot to open", WAIT, || {
            client.sub_batch(rollup, slot).expect("sub-batch verifies")
        });
        out.extend(items.into_iter().map(|i| (slot, i)));
    }
    out
}

#[test]
fn a_bundle_spanning_two_anvils_lands_in_both_in_certified_order() {
    let (ax, ay) = (Chain::start(X), Chain::start(Y));
    let net = Net::start(NetOptions {
        slot_ms: 300,
        seed: 91,
        rollups: Some(rollups(
            json!({ "rpc": { "rpc_url": ax.url } }),
            json!({ "rpc": { "rpc_url": ay.url } }),
        )),
        ..NetOptions::default()
    });
    let client = client(&net, 1);
    let committee = client.inner().committee().clone();
    let enc = Encryptor::new(committee, None, client.inner().policy().clone());
    let mut rng = ChaCha20Rng::seed_from_u64(19);
    let slots = SlotRange::new(0, 1_000_000).unwrap();
    let single = |s: &eth::SignedTx, rng: &mut ChaCha20Rng| -> EncryptedTx {
        enc.encrypt_eth(Mode::Threshold, s, slots, rng).unwrap()
    };

    // Ordinary transactions of both rollups, then the bundle (one leg per chain, from
    // the same sender), then more ordinary ones.
    let before = [transfer(X, 1, 0, 11), transfer(Y, 1, 0, 12)];
    let legs_tx = [transfer(X, 2, 0, 21), transfer(Y, 2, 0, 22)];
    let after = [transfer(X, 1, 1, 13), transfer(Y, 3, 0, 14)];
    for s in &before {
        client.submit(&single(s, &mut rng)).unwrap();
    }
    let members: Vec<_> = legs_tx
        .iter()
        .map(|s| (eth::label_for(s, slots).unwrap(), s.raw.clone()))
        .collect();
    let legs = enc.encrypt_bundle(&members, &mut rng).unwrap();
    let ids = client.submit_bundle(&legs).unwrap();
    for s in &after {
        client.submit(&single(s, &mut rng)).unwrap();
    }

    // Follow each bundle leg to its checked position: the same slot, adjacent, in order.
    let fx = client
        .follow(&ids[0], Some(&legs_tx[0].raw), WAIT, |_| {})
        .unwrap_or_else(|e| panic!("leg 0: {e}\n{}", net.logs()));
    let fy = client
        .follow(&ids[1], Some(&legs_tx[1].raw), WAIT, |_| {})
        .unwrap();
    assert_eq!(fx.slot, fy.slot, "both legs in one certified batch");
    assert_eq!(fy.index, fx.index + 1, "contiguous, in bundle order");

    // Wait for the last submissions to be delivered, then read both rollups' certified
    // sub-batches (each verified against its certificate).
    let all: Vec<&eth::SignedTx> = before.iter().chain(&legs_tx).chain(&after).collect();
    let last = wait_for("every transaction to be delivered", WAIT, || {
        let h = net.node(1).health()?;
        let last = h["last_certified_slot"].as_u64()?;
        let mut seen = 0;
        for r in [X, Y] {
            for slot in 1..=last {
                seen += client.sub_batch(r, slot).ok()??.len();
            }
        }
        (seen == all.len()).then_some(last)
    });
    let mut expected = Vec::new();
    for (r, chain) in [(X, &ax), (Y, &ay)] {
        let items = certified(&client, r, last);
        let order: Vec<String> = items
            .iter()
            .map(|(_, i)| match &i.outcome {
                Outcome::Decrypted(raw) => hash(raw),
                Outcome::Invalid => panic!("an item of rollup {r} failed to decrypt"),
            })
            .collect();
        assert_eq!(order.len(), 3, "rollup {r}: before, leg, after");
        // The bundle leg of this rollup sits at its checked global position.
        let (leg_id, leg_fin) = if r == X { (ids[0], &fx) } else { (ids[1], &fy) };
        assert!(
            items
                .iter()
                .any(|(s, i)| i.id == leg_id && *s == leg_fin.slot && i.position == leg_fin.index)
        );
        // Its forwarder has answered for every item before mining.
        for (_, i) in &items {
            wait_for("the rollup's forwarder to reach the item", WAIT, || {
                net.node(1)
                    .tx_status(&i.id)
                    .filter(|v| v["forwarding"]["status"] == "accepted")
            });
        }
        let mined = chain.mine();
        assert_eq!(
            mined, order,
            "anvil {r} mined exactly its certified sub-batch order"
        );
        for h in &mined {
            let rcpt = chain.rpc("eth_getTransactionReceipt", json!([h]));
            assert_eq!(rcpt["status"], "0x1", "receipt of {h}: {rcpt}");
        }
        expected.push(order);
    }
    // Nothing of one rollup reached the other's chain.
    let x_hashes: Vec<String> = [&before[0], &legs_tx[0], &after[0]]
        .iter()
        .map(|s| hash(&s.raw))
        .collect();
    let mut sorted_x = expected[0].clone();
    sorted_x.sort();
    let mut want_x = x_hashes;
    want_x.sort();
    assert_eq!(sorted_x, want_x);
    // The rollup status shows each forwarder's own cursor.
    let status = net.node(1).get("/v1/rollups").json();
    assert_eq!(status["multi_rollup"], true);
    for r in status["rollups"].as_array().unwrap() {
        assert!(
            r["delivery"]["rpc"]["cursor"]["slot"].as_u64().unwrap() > last,
            "{r}"
        );
    }
}

#[test]
fn a_sequencer_proposing_half_a_bundle_gets_no_certificate() {
    let net = Net::start(NetOptions {
        sequencer: SequencerMode::External,
        seed: 92,
        rollups: Some(rollups(json!("stream"), json!("stream"))),
        ..NetOptions::default()
    });
    let client = client(&net, 1);
    let committee = client.inner().committee().clone();
    let enc = Encryptor::new(committee, None, client.inner().policy().clone());
    let mut rng = ChaCha20Rng::seed_from_u64(29);
    let slots = SlotRange::new(0, 1_000_000).unwrap();
    let legs_tx = [transfer(X, 2, 0, 21), transfer(Y, 2, 0, 22)];
    let members: Vec<_> = legs_tx
        .iter()
        .map(|s| (eth::label_for(s, slots).unwrap(), s.raw.clone()))
        .collect();
    let legs = enc.encrypt_bundle(&members, &mut rng).unwrap();
    let ids = client.submit_bundle(&legs).unwrap();
    let plain = enc
        .encrypt_eth(Mode::Threshold, &transfer(X, 1, 0, 5), slots, &mut rng)
        .unwrap();
    client.submit(&plain).unwrap();
    // Every member holds every envelope (gossip), so refusals below are the bundle rule's,
    // not missing envelopes.
    for m in 1..=4 {
        for id in ids.iter().chain([&plain.id()]) {
            wait_for("gossip to reach every member", WAIT, || {
                net.node(m)
                    .tx_status(id)
                    .filter(|v| v["status"] == "pending")
            });
        }
    }
    let propose = |ids: Vec<TxId>, chains: Vec<u64>, via: u32| {
        let p = net.propose(Batch {
            chain_id: CHAIN_ID,
            slot: 1,
            parent: Commitment::genesis(),
            ids,
            chains,
        });
        net.node(via).post_json(
            "/v1/sequencer/proposals",
            &json!({ "proposal": hex::encode(p.to_bytes()) }),
        )
    };

    // Half a bundle (with an ordinary transaction), through two different members: no
    // certificate, no member records a vote.
    for (half, via) in [(vec![plain.id(), ids[0]], 1), (vec![ids[1], plain.id()], 2)] {
        let chains = half
            .iter()
            .map(|id| if *id == ids[1] { Y } else { X })
            .collect();
        let r = propose(half, chains, via);
        assert_eq!(r.status, 503, "no quorum for half a bundle: {}", r.text());
    }
    // The bundle out of order, and a lying rollup listing: refused too.
    let r = propose(vec![ids[1], ids[0]], vec![Y, X], 3);
    assert_eq!(r.status, 503, "{}", r.text());
    let r = propose(vec![ids[0], ids[1]], vec![X, X], 4);
    assert_eq!(r.status, 503, "{}", r.text());
    for m in 1..=4 {
        assert!(net.node(m).certificate(1).is_none(), "member {m}");
    }

    // The whole bundle, in order, for the same slot: certified, and each rollup's
    // sub-batch verifies.
    let r = propose(vec![ids[0], ids[1], plain.id()], vec![X, Y, X], 1);
    assert_eq!(r.status, 200, "{}\n{}", r.text(), net.logs());
    let x = wait_for("slot 1 to open", WAIT, || client.sub_batch(X, 1).unwrap());
    let y = client.sub_batch(Y, 1).unwrap().unwrap();
    assert_eq!(
        x.iter().map(|i| (i.position, i.id)).collect::<Vec<_>>(),
        vec![(0, ids[0]), (2, plain.id())]
    );
    assert_eq!(
        y.iter().map(|i| (i.position, i.id)).collect::<Vec<_>>(),
        vec![(1, ids[1])]
    );
    assert_eq!(x[0].outcome, Outcome::Decrypted(legs_tx[0].raw.clone()));
    assert_eq!(y[0].outcome, Outcome::Decrypted(legs_tx[1].raw.clone()));
}
