//! The client against tampered inputs: a tampered `committee.json`, a wrong chain id, and
//! node responses that do not match the certified batch (served by a fake node whose
//! answers the test manipulates).

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use veil_client::eth::{self, Transfer};
use veil_client::{
    BlockingClient, ChainPolicy, ClientError, ClientOptions, Encryptor, Mode, Trust,
    TrustedCommittee,
};
use veil_keygen::{CeremonyParams, MemberSecret, Transcript, dkg};
use veil_protocol::{
    Batch, CertificateBuilder, Commitment, Opening, OrderCertificate, Outcome, PlaintextBatch,
    PlaintextItem, Progress, Receipt, ReceiptSubject, TxId, ValidationContext, Vote, VoteIntent,
};
use veil_threshold::{Label, SigningKey, SlotRange};

const CHAIN: u64 = 31_337;

struct Fixture {
    json: Vec<u8>,
    transcript: Vec<u8>,
    keys: Vec<SigningKey>,
}

fn fixture() -> Fixture {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let secrets: Vec<MemberSecret> = (1..=4)
        .map(|i| MemberSecret::generate(&format!("m{i}"), &mut rng).unwrap())
        .collect();
    let publics = secrets.iter().map(|s| s.public(&mut rng)).collect();
    let params = CeremonyParams::fresh(1, 3, 4, publics).unwrap();
    let dealings = secrets
        .iter()
        .enumerate()
        .map(|(i, s)| dkg::deal(&params, i as u32 + 1, s, None, &mut rng).unwrap())
        .collect();
    let transcript = Transcript {
        params,
        dealings,
        complaints: Vec::new(),
    };
    let committee = dkg::verify_transcript(&transcript).unwrap().committee;
    Fixture {
        json: committee.to_json().into_bytes(),
        transcript: transcript.to_bytes(),
        keys: secrets
            .iter()
            .map(|s| s.certificate_key().unwrap())
            .collect(),
    }
}

fn label(chain: u64) -> Label {
    Label::new(chain, [9; 32], SlotRange::new(0, 1_000).unwrap(), 5, vec![]).unwrap()
}

// ---------------------------------------------------------------------------------------
// committee.json
// ---------------------------------------------------------------------------------------

/// Replaces the first occurrence of `from` by `to` in the file's text (the file stays
/// canonical JSON, so each edit is the only change keygen's checks see).
fn edit(json: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(json.to_vec()).unwrap();
    assert!(text.contains(from), "{from} not in the file");
    text.replacen(from, to, 1).into_bytes()
}

fn field(json: &[u8], path: &[&str]) -> String {
    let v: Value = serde_json::from_slice(json).unwrap();
    let mut cur = &v;
    for p in path {
        cur = match p.parse::<usize>() {
            Ok(i) => &cur[i],
            Err(_) => &cur[*p],
        };
    }
    cur.as_str().unwrap().to_owned()
}

fn flip_hex(s: &str, at: usize) -> String {
    let mut b = hex::decode(s).unwrap();
    b[at] ^= 1;
    hex::encode(b)
}

#[test]
fn committee_loads_with_and_without_pins() {
    let f = fixture();
    let plain = TrustedCommittee::load(&f.json, &Trust::default()).unwrap();
    assert_eq!(plain.quorum(), 3);
    assert_eq!(plain.bls_keys().len(), 4);
    let hash = plain.committee().transcript_hash;
    let pinned = Trust {
        transcript_hash: Some(hash),
        transcript: Some(f.transcript.clone()),
        quorum: None,
    };
    TrustedCommittee::load(&f.json, &pinned).unwrap();
}

#[test]
fn tampered_committee_json_is_refused() {
    let f = fixture();
    let hash = TrustedCommittee::load(&f.json, &Trust::default())
        .unwrap()
        .committee()
        .transcript_hash;

    // A member's proof of possession altered.
    let pop = field(&f.json, &["members", "1", "possession"]);
    let bad_pop = edit(&f.json, &pop, &flip_hex(&pop, 40));
    match TrustedCommittee::load(&bad_pop, &Trust::default()) {
        Err(ClientError::Committee(e)) => assert!(
            !matches!(e, veil_keygen::CommitteeError::NotCanonical),
            "{e}"
        ),
        other => panic!("expected a committee error, got {other:?}"),
    }

    // Another member's signing key swapped in: its proof no longer matches.
    let k0 = field(&f.json, &["members", "0", "signing_key"]);
    let k2 = field(&f.json, &["members", "2", "signing_key"]);
    let swapped = edit(&f.json, &k2, &k0);
    match TrustedCommittee::load(&swapped, &Trust::default()) {
        Err(ClientError::Committee(e)) => assert!(
            !matches!(e, veil_keygen::CommitteeError::NotCanonical),
            "{e}"
        ),
        other => panic!("expected a committee error, got {other:?}"),
    }

    // The public key replaced by a member's verification key: keys inconsistent.
    let pk = field(&f.json, &["public_key"]);
    let vk = field(&f.json, &["members", "3", "verification_key"]);
    let wrong_pk = edit(
        &f.json,
        &format!("\"public_key\": \"{pk}\""),
        &format!("\"public_key\": \"{vk}\""),
    );
    assert!(matches!(
        TrustedCommittee::load(&wrong_pk, &Trust::default()),
        Err(ClientError::Committee(
            veil_keygen::CommitteeError::InconsistentKeys
        ))
    ));

    // The transcript hash edited: internally consistent, so accepted without a pin, but
    // refused against a pinned hash and against the transcript.
    let h = field(&f.json, &["transcript_hash"]);
    let bad_hash = edit(&f.json, &h, &flip_hex(&h, 0));
    assert!(TrustedCommittee::load(&bad_hash, &Trust::default()).is_ok());
    let pin = Trust {
        transcript_hash: Some(hash),
        ..Trust::default()
    };
    assert!(matches!(
        TrustedCommittee::load(&bad_hash, &pin),
        Err(ClientError::TranscriptHashMismatch { .. })
    ));
    let with_transcript = Trust {
        transcript: Some(f.transcript.clone()),
        ..Trust::default()
    };
    assert!(matches!(
        TrustedCommittee::load(&bad_hash, &with_transcript),
        Err(ClientError::TranscriptHashMismatch { .. })
    ));

    // Non-canonical bytes (an extra space) are refused too.
    let mut spaced = f.json.clone();
    spaced.insert(1, b' ');
    assert!(matches!(
        TrustedCommittee::load(&spaced, &Trust::default()),
        Err(ClientError::Committee(_))
    ));

    // A quorum below the safe bound is refused.
    let low = Trust {
        quorum: Some(2),
        ..Trust::default()
    };
    assert!(matches!(
        TrustedCommittee::load(&f.json, &low),
        Err(ClientError::CommitteeKeys(_))
    ));
}

// ---------------------------------------------------------------------------------------
// chain ids and modes
// ---------------------------------------------------------------------------------------

fn small_params() -> veil_timelock::DelayParams {
    veil_timelock::DelayParams::generate(
        veil_timelock::group::RsaGroup::rsa2048(),
        b"client-tests",
        256,
        veil_squaring::Backend::Portable,
        &mut |_| ControlFlow::Continue(()),
    )
    .unwrap()
}

#[test]
fn wrong_chain_id_is_a_typed_error() {
    let f = fixture();
    let committee = TrustedCommittee::load(&f.json, &Trust::default()).unwrap();
    let enc = Encryptor::new(committee, None, ChainPolicy::single(CHAIN));
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    match enc.encrypt(Mode::Threshold, label(1), b"x", &mut rng) {
        Err(ClientError::WrongChain { chain_id, allowed }) => {
            assert_eq!(chain_id, 1);
            assert_eq!(allowed, vec![CHAIN]);
        }
        other => panic!("expected WrongChain, got {other:?}"),
    }
    // A policy accepting several label chains accepts exactly those.
    let multi = ChainPolicy {
        service_chain_id: 7,
        label_chain_ids: vec![1, CHAIN],
    };
    let enc2 = Encryptor::new(enc.committee().clone(), None, multi);
    enc2.encrypt(Mode::Threshold, label(1), b"x", &mut rng)
        .unwrap();
    assert!(matches!(
        enc2.encrypt(Mode::Threshold, label(7), b"x", &mut rng),
        Err(ClientError::WrongChain { .. })
    ));

    // A signed transaction for chain 5 under a label for the served chain.
    let key =
        eth::signer_from_hex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
            .unwrap();
    let t = Transfer::new(5, 0, key.address(), alloy::primitives::U256::from(1u64), 1);
    let tx = eth::sign_transfer(&key, &t).unwrap();
    assert!(matches!(
        enc.encrypt_eth_with_label(Mode::Threshold, &tx, label(CHAIN), &mut rng),
        Err(ClientError::TxChainMismatch {
            tx: 5,
            label: CHAIN
        })
    ));
    // And under its own label, chain 5 is not served.
    assert!(matches!(
        enc.encrypt_eth(
            Mode::Threshold,
            &tx,
            SlotRange::new(0, 9).unwrap(),
            &mut rng
        ),
        Err(ClientError::WrongChain { chain_id: 5, .. })
    ));
    // Delay mode without parameters.
    assert!(matches!(
        enc.encrypt(Mode::Delay, label(CHAIN), b"x", &mut rng),
        Err(ClientError::DelayDisabled)
    ));
}

#[test]
fn every_mode_produces_an_envelope_a_member_accepts() {
    let f = fixture();
    let committee = TrustedCommittee::load(&f.json, &Trust::default()).unwrap();
    let params = small_params();
    // Parameters round-trip through their JSON form, pinned by id.
    let loaded = veil_client::load_delay_params(&params.to_json(), Some(params.id())).unwrap();
    assert!(matches!(
        veil_client::load_delay_params(&params.to_json(), Some(&[0; 32])),
        Err(ClientError::DelayParamsMismatch { .. })
    ));
    let enc = Encryptor::new(committee.clone(), Some(loaded), ChainPolicy::single(CHAIN));
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let ctx = ValidationContext {
        committee_key: committee.threshold_key().public_key(),
        delay_params: Some(&params),
        chain_ids: &[CHAIN],
        current_slot: 0,
    };
    for mode in [Mode::Threshold, Mode::Delay, Mode::Dual] {
        let tx = enc
            .encrypt(mode, label(CHAIN), b"payload", &mut rng)
            .unwrap();
        let v = veil_protocol::validate(&ctx, tx.encoding()).unwrap();
        assert_eq!(v.id(), tx.id());
        assert_eq!(tx.plaintext(), b"payload");
        assert_eq!(tx.reveal_bytes().is_some(), mode != Mode::Threshold);
        if let veil_protocol::ValidatedBody::Delay { ciphertext, .. } = v.body() {
            let reveal =
                veil_timelock::PuzzleReveal::from_bytes(&params, &tx.reveal_bytes().unwrap())
                    .unwrap();
            let key = reveal.open(&params, ciphertext.puzzle()).unwrap();
            assert_eq!(
                ciphertext.decrypt(&params, tx.label(), &key).unwrap(),
                b"payload"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// A fake node
// ---------------------------------------------------------------------------------------

type Routes = Arc<Mutex<HashMap<String, (u16, Value)>>>;

struct FakeNode {
    url: String,
    routes: Routes,
    _runtime: tokio::runtime::Runtime,
}

impl FakeNode {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let routes: Routes = Arc::default();
        let r = routes.clone();
        let app = Router::new().fallback(move |uri: Uri| {
            let r = r.clone();
            async move {
                let hit = r.lock().unwrap().get(uri.path()).cloned();
                match hit {
                    Some((status, body)) => {
                        (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
                    }
                    None => (
                        StatusCode::NOT_FOUND,
                        axum::Json(json!({ "code": "not_found", "message": "no" })),
                    )
                        .into_response(),
                }
            }
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            routes,
            _runtime: runtime,
        }
    }

    fn set(&self, path: &str, status: u16, body: Value) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), (status, body));
    }
}

/// The node's JSON form of a plaintext batch (as `service/src/api.rs` serves it).
fn batch_json(p: &PlaintextBatch) -> Value {
    let items: Vec<Value> = p
        .items
        .iter()
        .map(|i| match &i.outcome {
            Outcome::Decrypted(m) => {
                json!({ "id": i.id.to_hex(), "status": "decrypted", "plaintext": hex::encode(m) })
            }
            Outcome::Invalid => {
                json!({ "id": i.id.to_hex(), "status": "invalid", "plaintext": null })
            }
        })
        .collect();
    json!({ "chain_id": p.chain_id, "slot": p.slot, "commitment": p.commitment,
            "items": items, "binary": hex::encode(p.to_bytes()) })
}

fn certify(
    f: &Fixture,
    committee: &TrustedCommittee,
    batch: &Batch,
    signers: &[u32],
) -> OrderCertificate {
    let intent = VoteIntent {
        slot: batch.slot,
        parent: batch.parent,
        commitment: batch.commitment(),
    };
    let mut b = CertificateBuilder::new(intent, committee.bls_keys().to_vec(), signers.len());
    let mut out = None;
    for &m in signers {
        let vote = Vote::sign(&f.keys[m as usize - 1], m, &intent);
        if let Progress::Certified(c) = b.add(&vote).unwrap() {
            out = Some(c);
        }
    }
    out.unwrap()
}

fn plaintext_batch(
    cert: OrderCertificate,
    batch: &Batch,
    outcomes: Vec<Outcome>,
) -> PlaintextBatch {
    PlaintextBatch {
        chain_id: batch.chain_id,
        slot: batch.slot,
        commitment: cert.commitment,
        certificate: cert,
        items: batch
            .ids
            .iter()
            .zip(outcomes)
            .map(|(id, outcome)| PlaintextItem {
                id: *id,
                outcome,
                opening: Opening::Committee,
            })
            .collect(),
        shares: Vec::new(),
        chains: vec![],
    }
}

#[test]
fn node_responses_that_do_not_match_the_certified_batch_are_refused() {
    let f = fixture();
    let committee = TrustedCommittee::load(&f.json, &Trust::default()).unwrap();
    let policy = ChainPolicy::single(CHAIN);
    let enc = Encryptor::new(committee.clone(), None, policy.clone());
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let tx = enc
        .encrypt(Mode::Threshold, label(CHAIN), b"my transfer", &mut rng)
        .unwrap();
    let other = enc
        .encrypt(Mode::Threshold, label(CHAIN), b"someone else", &mut rng)
        .unwrap();
    let id = tx.id();
    let node = FakeNode::start();
    let client = BlockingClient::new(
        &node.url,
        committee.clone(),
        policy,
        ClientOptions {
            request_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_millis(10),
        },
    )
    .unwrap();

    // Submission: a receipt by member 2 over the id is accepted; one by a key outside the
    // committee, or over another id, is refused.
    let good = Receipt::sign(&f.keys[1], 2, ReceiptSubject::Transaction(id));
    node.set(
        "/v1/transactions",
        200,
        json!({ "id": id.to_hex(), "receipt": good }),
    );
    assert_eq!(client.submit(&tx).unwrap().receipt.member, 2);
    let stranger = SigningKey::generate(&mut rng);
    let forged = Receipt::sign(&stranger, 2, ReceiptSubject::Transaction(id));
    node.set(
        "/v1/transactions",
        200,
        json!({ "id": id.to_hex(), "receipt": forged }),
    );
    assert!(matches!(
        client.submit(&tx),
        Err(ClientError::BadReceipt(_))
    ));
    let elsewhere = Receipt::sign(&f.keys[1], 2, ReceiptSubject::Transaction(other.id()));
    node.set(
        "/v1/transactions",
        200,
        json!({ "id": id.to_hex(), "receipt": elsewhere }),
    );
    assert!(matches!(
        client.submit(&tx),
        Err(ClientError::BadReceipt(_))
    ));
    node.set(
        "/v1/transactions",
        409,
        json!({ "code": "already_known", "message": "already known" }),
    );
    assert!(matches!(
        client.submit(&tx),
        Err(ClientError::Node { status: 409, ref code, .. }) if code == "already_known"
    ));

    // The honest batch: slot 4, [other, mine].
    let batch = Batch {
        chain_id: CHAIN,
        slot: 4,
        parent: Commitment::genesis(),
        ids: vec![other.id(), id],
        chains: vec![],
    };
    let cert = certify(&f, &committee, &batch, &[1, 2, 4]);
    let honest = plaintext_batch(
        cert.clone(),
        &batch,
        vec![
            Outcome::Decrypted(b"someone else".to_vec()),
            Outcome::Decrypted(b"my transfer".to_vec()),
        ],
    );
    let status_path = format!("/v1/transactions/{}", id.to_hex());
    node.set(
        &status_path,
        200,
        json!({ "id": id.to_hex(), "status": "decrypted", "slot": 4, "index": 1 }),
    );
    node.set("/v1/batches/4", 200, batch_json(&honest));
    let fin = client
        .follow(&id, Some(tx.plaintext()), Duration::from_secs(5), |_| {})
        .unwrap();
    assert_eq!((fin.slot, fin.index, fin.batch_len), (4, 1, 2));
    assert_eq!(fin.outcome, Outcome::Decrypted(b"my transfer".to_vec()));
    assert_eq!(fin.certificate, cert);

    let expect_mismatch = |what: &str| match client.finality(&id, Some(tx.plaintext())) {
        Err(ClientError::BatchMismatch { slot: 4, .. }) => {}
        other => panic!("{what}: expected BatchMismatch, got {other:?}"),
    };

    // 1. The status points at the wrong index (the other sender's item).
    node.set(
        &status_path,
        200,
        json!({ "id": id.to_hex(), "status": "decrypted", "slot": 4, "index": 0 }),
    );
    expect_mismatch("wrong index");
    node.set(
        &status_path,
        200,
        json!({ "id": id.to_hex(), "status": "decrypted", "slot": 4, "index": 1 }),
    );

    // 2. The items reordered (the certificate is for the other order).
    let mut reordered = honest.clone();
    reordered.items.swap(0, 1);
    node.set("/v1/batches/4", 200, batch_json(&reordered));
    expect_mismatch("reordered ids");

    // 3. Another plaintext at my position, consistently in JSON and binary.
    let mut altered = honest.clone();
    altered.items[1].outcome = Outcome::Decrypted(b"my transfer to the attacker".to_vec());
    node.set("/v1/batches/4", 200, batch_json(&altered));
    expect_mismatch("altered plaintext");

    // 4. My item claimed invalid.
    let mut invalid = honest.clone();
    invalid.items[1].outcome = Outcome::Invalid;
    node.set("/v1/batches/4", 200, batch_json(&invalid));
    expect_mismatch("claimed invalid");

    // 5. The JSON view contradicts the binary one.
    let mut j = batch_json(&honest);
    j["items"][1]["plaintext"] = json!(hex::encode(b"something else"));
    node.set("/v1/batches/4", 200, j);
    expect_mismatch("JSON differs from binary");

    // 6. The batch of another slot served for slot 4.
    let batch5 = Batch {
        slot: 5,
        ..batch.clone()
    };
    let cert5 = certify(&f, &committee, &batch5, &[1, 2, 3]);
    let honest5 = plaintext_batch(
        cert5,
        &batch5,
        honest.items.iter().map(|i| i.outcome.clone()).collect(),
    );
    node.set("/v1/batches/4", 200, batch_json(&honest5));
    expect_mismatch("batch of another slot");

    // 7. Another service domain.
    let foreign = Batch {
        chain_id: 1,
        ..batch.clone()
    };
    let cert_f = certify(&f, &committee, &foreign, &[1, 2, 3]);
    let honest_f = plaintext_batch(
        cert_f,
        &foreign,
        honest.items.iter().map(|i| i.outcome.clone()).collect(),
    );
    node.set("/v1/batches/4", 200, batch_json(&honest_f));
    expect_mismatch("another service");

    // 8. A certificate below the quorum, and one by keys outside the committee.
    let weak = certify(&f, &committee, &batch, &[1, 2]);
    node.set(
        "/v1/batches/4",
        200,
        batch_json(&plaintext_batch(
            weak,
            &batch,
            honest.items.iter().map(|i| i.outcome.clone()).collect(),
        )),
    );
    assert!(matches!(
        client.finality(&id, Some(tx.plaintext())),
        Err(ClientError::BadCertificate { slot: 4, .. })
    ));
    let outsiders: Vec<SigningKey> = (0..4).map(|_| SigningKey::generate(&mut rng)).collect();
    let outsider_fixture = Fixture {
        json: Vec::new(),
        transcript: Vec::new(),
        keys: outsiders.clone(),
    };
    let outsider_keys: Vec<_> = outsiders.iter().map(SigningKey::public_key).collect();
    let intent = VoteIntent {
        slot: 4,
        parent: batch.parent,
        commitment: batch.commitment(),
    };
    let mut b = CertificateBuilder::new(intent, outsider_keys, 3);
    let mut forged = None;
    for m in 1..=3u32 {
        if let Progress::Certified(c) = b
            .add(&Vote::sign(
                &outsider_fixture.keys[m as usize - 1],
                m,
                &intent,
            ))
            .unwrap()
        {
            forged = Some(c);
        }
    }
    node.set(
        "/v1/batches/4",
        200,
        batch_json(&plaintext_batch(
            forged.unwrap(),
            &batch,
            honest.items.iter().map(|i| i.outcome.clone()).collect(),
        )),
    );
    assert!(matches!(
        client.finality(&id, Some(tx.plaintext())),
        Err(ClientError::BadCertificate { slot: 4, .. })
    ));

    // 9. Status says opened, but no batch is served; and a status about another id.
    node.routes.lock().unwrap().remove("/v1/batches/4");
    expect_mismatch("missing batch");
    node.set(
        &status_path,
        200,
        json!({ "id": other.id().to_hex(), "status": "pending" }),
    );
    assert!(matches!(client.status(&id), Err(ClientError::Malformed(_))));

    // 10. A node that never settles: the wait is bounded.
    node.set(
        &status_path,
        200,
        json!({ "id": id.to_hex(), "status": "pending" }),
    );
    assert!(matches!(
        client.follow(&id, None, Duration::from_millis(200), |_| {}),
        Err(ClientError::Timeout { .. })
    ));
    let _: TxId = id;
}

/// The node's JSON form of a sub-batch (as `service/src/api.rs` serves it).
fn sub_batch_json(s: &veil_protocol::SubBatch) -> Value {
    let items: Vec<Value> = s
        .items
        .iter()
        .map(|i| {
            let (status, plaintext) = match &i.outcome {
                Outcome::Decrypted(m) => ("decrypted", json!(hex::encode(m))),
                Outcome::Invalid => ("invalid", Value::Null),
            };
            json!({ "position": i.position, "id": i.id.to_hex(), "status": status,
                    "plaintext": plaintext, "max_fee": "5" })
        })
        .collect();
    json!({ "domain": s.domain, "chain_id": s.rollup, "slot": s.slot, "items": items,
            "proof": s.proof, "binary": hex::encode(s.to_bytes()) })
}

#[test]
fn rollup_consumers_detect_dropped_or_injected_items_over_http() {
    const X: u64 = 101;
    const Y: u64 = 102;
    let f = fixture();
    let committee = TrustedCommittee::load(&f.json, &Trust::default()).unwrap();
    let policy = ChainPolicy {
        service_chain_id: 7,
        label_chain_ids: vec![X, Y],
    };
    let enc = Encryptor::new(committee.clone(), None, policy.clone());
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    // A bundle spanning both rollups, between ordinary transactions of each.
    let legs = enc
        .encrypt_bundle(
            &[(label(X), b"leg x".to_vec()), (label(Y), b"leg y".to_vec())],
            &mut rng,
        )
        .unwrap();
    assert!(
        enc.encrypt_bundle(&[(label(X), b"alone".to_vec())], &mut rng)
            .is_err()
    );
    assert!(matches!(
        enc.encrypt_bundle(
            &[(label(X), b"a".to_vec()), (label(55), b"b".to_vec())],
            &mut rng
        ),
        Err(ClientError::WrongChain { chain_id: 55, .. })
    ));
    let x1 = enc
        .encrypt(Mode::Threshold, label(X), b"x1", &mut rng)
        .unwrap();
    let y1 = enc
        .encrypt(Mode::Threshold, label(Y), b"y1", &mut rng)
        .unwrap();
    let order = [&x1, &legs[0], &legs[1], &y1];
    let batch = Batch {
        chain_id: 7,
        slot: 1,
        parent: Commitment::genesis(),
        ids: order.iter().map(|t| t.id()).collect(),
        chains: vec![X, X, Y, Y],
    };
    let cert = certify(&f, &committee, &batch, &[1, 2, 3]);
    let mut plain = plaintext_batch(
        cert,
        &batch,
        order
            .iter()
            .map(|t| Outcome::Decrypted(t.plaintext().to_vec()))
            .collect(),
    );
    plain.chains = batch.chains.clone();
    let node = FakeNode::start();
    let client = BlockingClient::new(
        &node.url,
        committee.clone(),
        policy,
        ClientOptions {
            request_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_millis(10),
        },
    )
    .unwrap();
    let path = |r: u64| format!("/v1/rollups/{r}/batches/1");

    // Honest answers verify; each rollup gets its items in certified order.
    for (r, want) in [(X, vec![&x1, &legs[0]]), (Y, vec![&legs[1], &y1])] {
        let honest = veil_protocol::SubBatch::extract(&plain, r).unwrap();
        node.set(&path(r), 200, sub_batch_json(&honest));
        let items = client.sub_batch(r, 1).unwrap().unwrap();
        assert_eq!(
            items.iter().map(|i| i.id).collect::<Vec<_>>(),
            want.iter().map(|t| t.id()).collect::<Vec<_>>()
        );
    }
    // Not opened yet: None.
    assert!(client.sub_batch(X, 2).unwrap().is_none());

    let honest = veil_protocol::SubBatch::extract(&plain, X).unwrap();
    // Dropped: the bundle leg of X left out.
    let mut dropped = honest.clone();
    dropped.items.pop();
    node.set(&path(X), 200, sub_batch_json(&dropped));
    assert!(matches!(
        client.sub_batch(X, 1),
        Err(ClientError::BadSubBatch { rollup: X, .. })
    ));
    // Injected: Y's first item passed off as X's.
    let mut injected = honest.clone();
    injected.items.push(veil_protocol::SubBatchItem {
        position: 2,
        id: legs[1].id(),
        outcome: Outcome::Decrypted(b"leg y".to_vec()),
    });
    node.set(&path(X), 200, sub_batch_json(&injected));
    assert!(matches!(
        client.sub_batch(X, 1),
        Err(ClientError::BadSubBatch { rollup: X, .. })
    ));
    // Everything withheld behind a claimed absence.
    let mut withheld = veil_protocol::SubBatch::extract(&plain, 150).unwrap();
    withheld.rollup = X;
    node.set(&path(X), 200, sub_batch_json(&withheld));
    assert!(matches!(
        client.sub_batch(X, 1),
        Err(ClientError::BadSubBatch { rollup: X, .. })
    ));
    // Another rollup's (valid) sub-batch served for X.
    let y = veil_protocol::SubBatch::extract(&plain, Y).unwrap();
    node.set(&path(X), 200, sub_batch_json(&y));
    assert!(matches!(
        client.sub_batch(X, 1),
        Err(ClientError::BadSubBatch { rollup: X, .. })
    ));
    // A JSON view that contradicts the binary form.
    let mut v = sub_batch_json(&honest);
    v["items"][0]["plaintext"] = json!(hex::encode(b"x2"));
    node.set(&path(X), 200, v);
    assert!(matches!(
        client.sub_batch(X, 1),
        Err(ClientError::Malformed(_))
    ));

    // Bundle submission: the receipt must cover the bundle's ids.
    let ids: Vec<TxId> = legs.iter().map(|l| l.id()).collect();
    let good = Receipt::sign(&f.keys[0], 1, ReceiptSubject::bulk(&ids));
    let hexes: Vec<String> = ids.iter().map(TxId::to_hex).collect();
    node.set("/v1/bundles", 200, json!({ "ids": hexes, "receipt": good }));
    assert_eq!(client.submit_bundle(&legs).unwrap(), ids);
    let wrong = Receipt::sign(&f.keys[0], 1, ReceiptSubject::bulk(&ids[..1]));
    node.set(
        "/v1/bundles",
        200,
        json!({ "ids": hexes, "receipt": wrong }),
    );
    assert!(matches!(
        client.submit_bundle(&legs),
        Err(ClientError::BadReceipt(_))
    ));
}
