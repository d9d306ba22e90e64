//! In-process tests of the node: the HTTP API through `tower::ServiceExt::oneshot`, and the
//! member flow of a one-member committee (vote durable, certificate stored, then shares).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Value, json};
use tower::ServiceExt;
use veil_protocol::{
    Batch, MemberMessage, MessageKind, OrderCertificate, Outcome, Proposal, Receipt, SequencerId,
    SignedMessage, TxEnvelope,
};
use veil_threshold::{EncryptionKey, Label, PublicKey, SigningKey, SlotRange};

use crate::config::{NodeConfig, PeerConfig, SequencerMode};
use crate::node::Node;

const PASS: &[u8] = b"test passphrase";
const CHAIN: u64 = 7;

struct Fixture {
    dir: PathBuf,
    configs: Vec<NodeConfig>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fixture(name: &str, n: u32) -> Fixture {
    let dir = std::env::temp_dir().join(format!("veil-node-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let t = veil_protocol::CommitteeConfig::for_members(n).t;
    let committee = crate::devnet::ceremony(&dir, n, t, PASS).unwrap();
    let bls = committee.bls_keys().unwrap();
    let configs = (1..=n)
        .map(|i| {
            let d = dir.join(format!("member-{i}"));
            NodeConfig {
                member: i,
                listen: "127.0.0.1:0".parse().unwrap(),
                // Unreachable peers: this member's sends fail fast and are ignored.
                peers: vec![PeerConfig {
                    member: i,
                    url: "http://127.0.0.1:9".into(),
                }],
                committee: dir.join("committee.json"),
                identity_dir: d.clone(),
                share: d.join("share-epoch-0.sealed"),
                db: d.join("node.redb"),
                chain_id: CHAIN,
                label_chain_ids: vec![CHAIN],
                f: None,
                quorum: None,
                sequencer: SequencerMode::None,
                sequencer_keys: vec![hex::encode(bls[0].to_bytes())],
                slot_ms: 100,
                max_batch: 64,
                delay_params: None,
                solver: Default::default(),
                forward: None,
            }
        })
        .collect();
    Fixture { dir, configs }
}

fn envelope(node: &Node, rng: &mut ChaCha20Rng, chain: u64, text: &str) -> TxEnvelope {
    let pk = PublicKey::from_point(node.keys.committee.public_key).unwrap();
    let label = Label::new(chain, [3; 32], SlotRange::new(0, 1000).unwrap(), 5, vec![]).unwrap();
    TxEnvelope::Threshold(
        EncryptionKey::new(&pk)
            .encrypt(rng, &label, text.as_bytes())
            .unwrap(),
    )
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body.to_vec())
}

async fn call_json(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let (s, b) = call(app, req).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

fn post(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path).body(body.into()).unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn build(c: &NodeConfig) -> Arc<Node> {
    crate::run::build_node(c, PASS).unwrap()
}

fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "body: {body}");
    assert_eq!(body["code"], code, "body: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test(flavor = "multi_thread")]
async fn health_metrics_openapi_and_committee() {
    let f = fixture("health", 1);
    let node = build(&f.configs[0]);
    let app = crate::api::router(node.clone());
    let (s, v) = call_json(&app, get("/healthz")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v,
        json!({"status": "ok", "member": 1, "last_certified_slot": 0})
    );
    let (s, b) = call(&app, get("/metrics")).await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(b).unwrap();
    assert!(text.contains("veil_submissions_total 0"));
    assert!(text.contains("veil_batch_latency_seconds_count 0"));
    let (s, v) = call_json(&app, get("/openapi.json")).await;
    assert_eq!(s, StatusCode::OK);
    for p in [
        "/healthz",
        "/metrics",
        "/v1/transactions",
        "/v1/transactions/bulk",
        "/v1/transactions/{id}",
        "/v1/certificates/{slot}",
        "/v1/batches/{slot}",
        "/v1/stream",
        "/v1/sequencer/proposals",
        "/internal/v1/messages",
        "/v1/committee",
        "/v1/delay-params",
    ] {
        assert!(v["paths"][p].is_object(), "openapi lacks {p}");
    }
    let (s, b) = call(&app, get("/v1/committee")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(veil_keygen::Committee::load_and_verify(&b).is_ok());
    let (s, v) = call_json(&app, get("/v1/delay-params")).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "delay_disabled");
    let (s, v) = call_json(&app, get("/v1/nowhere")).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn receipt_after_durable_insert_and_replay_refused() {
    let f = fixture("submit", 1);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let node = build(&f.configs[0]);
    let app = crate::api::router(node.clone());
    let env = envelope(&node, &mut rng, CHAIN, "hello");
    let body = json!({ "envelope": hex::encode(env.to_bytes()) }).to_string();
    let (s, v) = call_json(&app, post("/v1/transactions", body.clone())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["id"], env.id().to_hex());
    let receipt: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
    receipt.verify(&node.keys.bls_keys).unwrap();
    assert_eq!(
        receipt.subject,
        veil_protocol::ReceiptSubject::Transaction(env.id())
    );
    let (s, v) = call_json(
        &app,
        get(&format!("/v1/transactions/{}", env.id().to_hex())),
    )
    .await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("pending")));

    // Replay: refused, nothing changes.
    let before = node.storage.envelope_count().unwrap();
    let (s, v) = call_json(&app, post("/v1/transactions", body.clone())).await;
    assert_error(s, &v, StatusCode::CONFLICT, "already_known");
    assert_eq!(node.storage.envelope_count().unwrap(), before);

    // Bulk: two new envelopes, one receipt over the root of their ids.
    let e2 = envelope(&node, &mut rng, CHAIN, "two");
    let e3 = envelope(&node, &mut rng, CHAIN, "three");
    let mut frames = Vec::new();
    for e in [&e2, &e3] {
        let b = e.to_bytes();
        frames.extend_from_slice(&(b.len() as u32).to_be_bytes());
        frames.extend_from_slice(&b);
    }
    let (s, v) = call_json(&app, post("/v1/transactions/bulk", frames.clone())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let receipt: Receipt = serde_json::from_value(v["receipt"].clone()).unwrap();
    receipt.verify(&node.keys.bls_keys).unwrap();
    assert_eq!(
        receipt.subject,
        veil_protocol::ReceiptSubject::bulk(&[e2.id(), e3.id()])
    );
    let (s, v) = call_json(&app, post("/v1/transactions/bulk", frames)).await;
    assert_error(s, &v, StatusCode::CONFLICT, "already_known");

    // Acknowledged means durable: reopen the database and find all three.
    drop(app);
    let node = Arc::try_unwrap(node).ok().expect("sole owner");
    drop(node);
    let s = veil_storage::Storage::open(&f.configs[0].db).unwrap();
    for e in [&env, &e2, &e3] {
        assert!(s.has_envelope(&e.id()).unwrap());
    }
    assert_eq!(s.envelope_count().unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_submissions_get_typed_errors_and_change_nothing() {
    let f = fixture("bad", 1);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let node = build(&f.configs[0]);
    let app = crate::api::router(node.clone());
    let cases: Vec<(Body, StatusCode, &str)> = vec![
        ("not json".into(), StatusCode::BAD_REQUEST, "malformed"),
        (
            json!({"envelope": "zz"}).to_string().into(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            json!({"envelope": "01ff00", "extra": 1}).to_string().into(),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            json!({"envelope": "01ff00"}).to_string().into(),
            StatusCode::BAD_REQUEST,
            "malformed_envelope",
        ),
        (
            json!({"envelope": hex::encode(envelope(&node, &mut rng, CHAIN + 1, "x").to_bytes())})
                .to_string()
                .into(),
            StatusCode::BAD_REQUEST,
            "wrong_chain",
        ),
        (
            vec![b'a'; crate::api::SUBMIT_LIMIT + 1].into(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
    ];
    for (body, status, code) in cases {
        let (s, v) = call_json(&app, post("/v1/transactions", body)).await;
        assert_error(s, &v, status, code);
    }
    // A mauled ciphertext (one byte flipped inside the body) fails its validity proof.
    let mut mauled = envelope(&node, &mut rng, CHAIN, "m").to_bytes();
    let mid = mauled.len() / 2;
    mauled[mid] ^= 1;
    let (s, v) = call_json(
        &app,
        post(
            "/v1/transactions",
            json!({"envelope": hex::encode(&mauled)}).to_string(),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // Bulk: a truncated frame, an oversized frame, one bad item among good ones.
    let good = envelope(&node, &mut rng, CHAIN, "good").to_bytes();
    let mut mixed = Vec::new();
    for b in [&good, &vec![1u8, 2, 3]] {
        mixed.extend_from_slice(&(b.len() as u32).to_be_bytes());
        mixed.extend_from_slice(b);
    }
    let bulk_cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (vec![0, 0], StatusCode::BAD_REQUEST, "malformed"),
        (vec![0, 0, 0, 9, 1], StatusCode::BAD_REQUEST, "malformed"),
        (
            (u32::MAX).to_be_bytes().to_vec(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (mixed, StatusCode::BAD_REQUEST, "malformed_envelope"),
        (Vec::new(), StatusCode::BAD_REQUEST, "malformed"),
    ];
    for (body, status, code) in bulk_cases {
        let (s, v) = call_json(&app, post("/v1/transactions/bulk", body)).await;
        assert_error(s, &v, status, code);
    }
    assert_eq!(node.storage.envelope_count().unwrap(), 0);
    assert_eq!(node.storage.pending_count().unwrap(), 0);
    let (_, b) = call(&app, get("/metrics")).await;
    let text = String::from_utf8(b).unwrap();
    assert!(
        text.contains("veil_rejections_total{code=\"wrong_chain\"} 1"),
        "{text}"
    );
    assert!(text.contains("veil_submissions_total 0"));
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_member_messages_are_refused_without_state_change() {
    let f = fixture("forged", 4);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let node = build(&f.configs[1]);
    let app = crate::api::router(node.clone());
    let env = envelope(&node, &mut rng, CHAIN, "gossip").to_bytes();
    let body = MemberMessage::Ciphertexts(vec![env.clone()]).encode();
    let outsider = SigningKey::generate(&mut rng);
    // Claims to be member 3, signed by an outsider.
    let forged = SignedMessage::sign(&outsider, 3, MessageKind::Ciphertexts, body.clone());
    let (s, v) = call_json(&app, post("/internal/v1/messages", forged.to_bytes())).await;
    assert_error(s, &v, StatusCode::UNAUTHORIZED, "bad_signature");
    // A sender outside the committee.
    let unknown = SignedMessage::sign(&outsider, 99, MessageKind::Ciphertexts, body.clone());
    let (s, v) = call_json(&app, post("/internal/v1/messages", unknown.to_bytes())).await;
    assert_error(s, &v, StatusCode::FORBIDDEN, "unknown_sender");
    // Garbage.
    let (s, v) = call_json(&app, post("/internal/v1/messages", vec![1u8, 2, 3])).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "malformed");
    // A proposal from a member (valid message signature) but not signed by a sequencer.
    let member3 = veil_keygen::files::load_identity(&f.configs[2].identity_dir, PASS)
        .unwrap()
        .certificate_key()
        .unwrap();
    let batch = Batch {
        chain_id: CHAIN,
        slot: 1,
        parent: veil_protocol::Commitment::genesis(),
        ids: vec![veil_protocol::TxId([9; 32])],
    };
    let p = Proposal::sign(&member3, SequencerId(0), batch.clone()).unwrap();
    let m = MemberMessage::Proposal(p).sign(&member3, 3);
    let (s, v) = call_json(&app, post("/internal/v1/messages", m.to_bytes())).await;
    assert_error(s, &v, StatusCode::UNAUTHORIZED, "bad_signature");
    // A certificate for a batch never seen, and one with a forged aggregate.
    let cert = OrderCertificate {
        slot: 1,
        parent: batch.parent,
        commitment: batch.commitment(),
        signature: veil_threshold::certificate::aggregate(4, &[(2, member3.sign(b"junk"))])
            .unwrap(),
    };
    let m = MemberMessage::Certificate(cert).sign(&member3, 3);
    let (s, v) = call_json(&app, post("/internal/v1/messages", m.to_bytes())).await;
    assert_error(s, &v, StatusCode::CONFLICT, "unknown_batch");
    // Nothing changed.
    assert_eq!(node.storage.envelope_count().unwrap(), 0);
    assert!(node.storage.vote_intents().unwrap().is_empty());
    assert!(node.storage.certificate(1).unwrap().is_none());
    assert!(node.storage.own_shares(1).unwrap().is_none());
    assert_eq!(node.metrics.shares_released.load(Ordering::Relaxed), 0);
    // The genuine gossip is accepted.
    let ok = MemberMessage::Ciphertexts(vec![env]).sign(&member3, 3);
    let (s, v) = call_json(&app, post("/internal/v1/messages", ok.to_bytes())).await;
    assert_eq!((s, v["stored"].as_u64()), (StatusCode::OK, Some(1)));
}

fn open_storage(p: &Path) -> veil_storage::Storage {
    veil_storage::Storage::open(p).unwrap()
}

#[test]
fn one_member_committee_orders_releases_after_certificate_and_decrypts() {
    let f = fixture("flow", 1);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let node = build(&f.configs[0]);
    let texts = ["alpha", "beta", "gamma"];
    let envs: Vec<TxEnvelope> = texts
        .iter()
        .map(|t| envelope(&node, &mut rng, CHAIN, t))
        .collect();
    node.submit(envs.iter().map(TxEnvelope::to_bytes).collect(), true)
        .unwrap();
    let ids: Vec<_> = envs.iter().map(TxEnvelope::id).collect();
    assert_eq!(node.storage.pending(10).unwrap(), ids);
    let batch = Batch {
        chain_id: CHAIN,
        slot: 1,
        parent: veil_protocol::Commitment::genesis(),
        ids: ids.clone(),
    };
    let p = Proposal::sign(&node.keys.signing_key, SequencerId(0), batch.clone()).unwrap();
    // Before any certificate: a vote may be made, but no shares exist.
    let vote = node.on_proposal(&p).unwrap();
    assert_eq!(vote.intent().commitment, batch.commitment());
    assert_eq!(
        node.storage.vote_intents().unwrap().len(),
        1,
        "intent durable"
    );
    assert!(node.storage.own_shares(1).unwrap().is_none());
    assert_eq!(node.metrics.shares_released.load(Ordering::Relaxed), 0);
    // A conflicting proposal for the same slot is refused (vote rule), nothing recorded.
    let other = Proposal::sign(
        &node.keys.signing_key,
        SequencerId(0),
        Batch {
            ids: ids[..1].to_vec(),
            ..batch.clone()
        },
    )
    .unwrap();
    assert!(matches!(
        node.on_proposal(&other),
        Err(crate::node::NodeError::Refused(_))
    ));
    assert_eq!(node.storage.vote_intents().unwrap().len(), 1);
    // Drive: certificate, then shares, then plaintext.
    let cert = node.drive(p).unwrap();
    cert.verify(&node.keys.bls_keys, 1).unwrap();
    assert_eq!(node.storage.certificate(1).unwrap(), Some(cert.clone()));
    assert!(node.storage.own_shares(1).unwrap().is_some());
    assert_eq!(node.metrics.shares_released.load(Ordering::Relaxed), 1);
    let plain = node.storage.plaintext(1).unwrap().expect("opened");
    let got: Vec<Vec<u8>> = plain
        .items
        .iter()
        .map(|i| match &i.outcome {
            Outcome::Decrypted(m) => m.clone(),
            Outcome::Invalid => panic!("invalid item"),
        })
        .collect();
    let want: Vec<Vec<u8>> = texts.iter().map(|t| t.as_bytes().to_vec()).collect();
    assert_eq!(got, want, "plaintext in certified order");
    assert_eq!(plain.items.iter().map(|i| i.id).collect::<Vec<_>>(), ids);
    assert_eq!(node.deliverable(1, 10).unwrap().len(), 1);
    // A restart restores the guard: the conflicting proposal is still refused.
    let cfg = f.configs[0].clone();
    drop(node);
    let node = build(&cfg);
    assert!(node.on_proposal(&other).is_err());
    assert_eq!(node.last_certified_slot().unwrap(), 1);
    drop(node);
    assert!(open_storage(&cfg.db).plaintext(1).unwrap().is_some());
}
