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
                rollups: vec![],
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
        "/v1/reveal",
        "/v1/evidence",
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
        chains: vec![],
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
        chains: vec![],
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

// ---- delay mode: solver and reveals --------------------------------------------------------

/// Squarings of the test delay parameters: small, so solving takes milliseconds.
const TEST_T: u64 = 3_000;

fn test_params() -> veil_timelock::DelayParams {
    veil_timelock::DelayParams::generate(
        veil_timelock::RsaGroup::rsa2048(),
        b"veil-node tests",
        TEST_T,
        veil_squaring::Backend::best_single(),
        &mut |_| std::ops::ControlFlow::Continue(()),
    )
    .unwrap()
}

/// A fixture whose members run delay mode with [`test_params`].
fn delay_fixture(
    name: &str,
    n: u32,
    solver: bool,
    dual_grace_ms: u64,
) -> (Fixture, veil_timelock::DelayParams) {
    let mut f = fixture(name, n);
    let params = test_params();
    let path = f.dir.join("delay-params.json");
    std::fs::write(&path, params.to_json()).unwrap();
    for c in &mut f.configs {
        c.delay_params = Some(path.clone());
        c.solver = crate::config::SolverConfig {
            enabled: solver,
            dual_grace_ms,
        };
    }
    (f, params)
}

fn test_label(sender: u8) -> Label {
    Label::new(
        CHAIN,
        [sender; 32],
        SlotRange::new(0, 1000).unwrap(),
        5,
        vec![],
    )
    .unwrap()
}

fn delay_envelope(
    params: &veil_timelock::DelayParams,
    rng: &mut ChaCha20Rng,
    text: &str,
) -> (TxEnvelope, veil_timelock::PuzzleSecret) {
    let label = test_label(4);
    // The devnet proving key (cached per process by the time-lock crate).
    let pk = params.insecure_proving_key().unwrap();
    let (ct, secret) =
        veil_timelock::DelayCiphertext::encrypt(params, &pk, &label, text.as_bytes(), rng).unwrap();
    (TxEnvelope::delay(params, label, &ct), secret)
}

fn dual_envelope(
    node: &Node,
    params: &veil_timelock::DelayParams,
    rng: &mut ChaCha20Rng,
    text: &str,
) -> (TxEnvelope, veil_timelock::PuzzleSecret) {
    let pk = PublicKey::from_point(node.keys.committee.public_key).unwrap();
    let proving = params.insecure_proving_key().unwrap();
    let (ct, secret) = veil_timelock::DualCiphertext::encrypt(
        params,
        &proving,
        &EncryptionKey::new(&pk),
        &test_label(5),
        text.as_bytes(),
        rng,
    )
    .unwrap();
    (TxEnvelope::dual(params, &ct), secret)
}

/// Submits `envs`, proposes them as slot 1 and drives the proposal to a certificate.
fn certify_all(node: &Arc<Node>, envs: &[TxEnvelope]) -> Batch {
    node.submit(envs.iter().map(TxEnvelope::to_bytes).collect(), true)
        .unwrap();
    let batch = Batch {
        chain_id: CHAIN,
        slot: 1,
        parent: veil_protocol::Commitment::genesis(),
        ids: envs.iter().map(TxEnvelope::id).collect(),
        chains: vec![],
    };
    let p = Proposal::sign(&node.keys.signing_key, SequencerId(0), batch.clone()).unwrap();
    node.drive(p).unwrap();
    batch
}

fn wait_plaintext(node: &Node, slot: u64) -> veil_protocol::PlaintextBatch {
    let start = std::time::Instant::now();
    loop {
        if let Some(p) = node.storage.plaintext(slot).unwrap() {
            return p;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "slot {slot} never opened"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn outcomes(p: &veil_protocol::PlaintextBatch) -> Vec<Option<Vec<u8>>> {
    p.items
        .iter()
        .map(|i| match &i.outcome {
            Outcome::Decrypted(m) => Some(m.clone()),
            Outcome::Invalid => None,
        })
        .collect()
}

fn verify_published(node: &Node, p: &veil_protocol::PlaintextBatch, envs: &[TxEnvelope]) {
    let validated: Vec<_> = envs
        .iter()
        .map(|e| {
            node.envelopes_for_ids(&[e.id()])
                .unwrap()
                .unwrap()
                .remove(0)
        })
        .collect();
    let ctx = veil_protocol::VerifyContext {
        committee: &node.keys.bls_keys,
        quorum: node.keys.config.quorum as usize,
        key: &node.keys.threshold_key,
        delay_params: node.keys.delay_params.as_ref(),
    };
    p.verify(&ctx, &validated).unwrap();
}

#[test]
fn delay_items_settle_by_the_solver_in_certified_order() {
    let (f, params) = delay_fixture("solver", 1, true, 0);
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let node = build(&f.configs[0]);
    let solver = {
        let node = node.clone();
        std::thread::spawn(move || crate::solver::run(node))
    };
    let t0 = envelope(&node, &mut rng, CHAIN, "threshold first");
    let (d1, _) = delay_envelope(&params, &mut rng, "delay one");
    let (d2, _) = delay_envelope(&params, &mut rng, "delay two");
    let (u, _) = dual_envelope(&node, &params, &mut rng, "dual");
    let (d3, _) = delay_envelope(&params, &mut rng, "delay three");
    let envs = vec![t0, d1, d2, u, d3];
    let batch = certify_all(&node, &envs);
    let p = wait_plaintext(&node, 1);
    node.stopping.store(true, Ordering::Relaxed);
    solver.join().unwrap();
    assert_eq!(p.items.iter().map(|i| i.id).collect::<Vec<_>>(), batch.ids);
    let want: Vec<Option<Vec<u8>>> = [
        "threshold first",
        "delay one",
        "delay two",
        "dual",
        "delay three",
    ]
    .iter()
    .map(|t| Some(t.as_bytes().to_vec()))
    .collect();
    assert_eq!(outcomes(&p), want);
    // Delay items opened by proven solutions (three puzzles: the batched lanes), the
    // threshold item by shares; anyone can check the batch.
    for i in [1, 2, 4] {
        assert!(
            matches!(p.items[i].opening, veil_protocol::Opening::Solution(_)),
            "item {i}: {:?}",
            p.items[i].opening
        );
    }
    assert_eq!(p.items[0].opening, veil_protocol::Opening::Committee);
    verify_published(&node, &p, &envs);
    assert_eq!(node.metrics.solver.solved.load(Ordering::Relaxed), 3);
    assert!(node.metrics.solver.squarings.load(Ordering::Relaxed) >= TEST_T);
}

#[test]
fn batched_lanes_and_single_chain_give_the_same_verified_solutions() {
    let params = test_params();
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let puzzles: Vec<_> = (0..3)
        .map(|i| {
            let (ct, _) = veil_timelock::DelayCiphertext::encrypt(
                &params,
                &params.insecure_proving_key().unwrap(),
                &test_label(9),
                format!("p{i}").as_bytes(),
                &mut rng,
            )
            .unwrap();
            ct.puzzle().element().clone()
        })
        .collect();
    let mut go = |_| std::ops::ControlFlow::Continue(());
    let batched = crate::solver::solve_puzzles(&params, &puzzles, &mut go).unwrap();
    for (x, bytes) in puzzles.iter().zip(&batched) {
        let s = veil_timelock::PuzzleSolution::from_bytes(&params, bytes).unwrap();
        s.verify(&params).unwrap();
        let single = crate::solver::solve_puzzles(&params, std::slice::from_ref(x), &mut go)
            .unwrap()
            .remove(0);
        assert_eq!(&single, bytes);
    }
    // Cancelling stops the job.
    let mut stop = |_| std::ops::ControlFlow::Break(());
    assert!(crate::solver::solve_puzzles(&params, &puzzles, &mut stop).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn reveal_settles_a_delay_item_and_a_bad_reveal_changes_nothing() {
    // No solver: only the reveal can open the delay item.
    let (f, params) = delay_fixture("reveal", 1, false, 0);
    let mut rng = ChaCha20Rng::seed_from_u64(13);
    let node = build(&f.configs[0]);
    let app = crate::api::router(node.clone());
    let t0 = envelope(&node, &mut rng, CHAIN, "before");
    let (d, secret) = delay_envelope(&params, &mut rng, "revealed");
    let (u, _) = dual_envelope(&node, &params, &mut rng, "dual by shares");
    let (_, other) = delay_envelope(&params, &mut rng, "another puzzle");
    let reveal_body = |id: &veil_protocol::TxId, r: &veil_timelock::PuzzleSecret| {
        json!({ "id": id.to_hex(), "reveal": hex::encode(r.reveal().to_bytes()) }).to_string()
    };
    // Before certification: refused (revealing would expose the item before its order is
    // fixed); unknown ids: 404.
    node.submit(vec![d.to_bytes()], false).unwrap();
    let (s, v) = call_json(&app, post("/v1/reveal", reveal_body(&d.id(), &secret))).await;
    assert_error(s, &v, StatusCode::CONFLICT, "not_certified");
    let (s, v) = call_json(
        &app,
        post(
            "/v1/reveal",
            reveal_body(&veil_protocol::TxId([1; 32]), &secret),
        ),
    )
    .await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "not_found");
    let envs = vec![t0.clone(), d.clone(), u.clone()];
    let node2 = node.clone();
    let envs2 = envs.clone();
    tokio::task::spawn_blocking(move || {
        node2
            .submit(vec![envs2[0].to_bytes(), envs2[2].to_bytes()], true)
            .unwrap();
        let batch = Batch {
            chain_id: CHAIN,
            slot: 1,
            parent: veil_protocol::Commitment::genesis(),
            ids: envs2.iter().map(TxEnvelope::id).collect(),
            chains: vec![],
        };
        let p = Proposal::sign(&node2.keys.signing_key, SequencerId(0), batch).unwrap();
        node2.drive(p).unwrap();
    })
    .await
    .unwrap();
    // Certified; the delay item waits for its puzzle.
    assert!(node.storage.certificate(1).unwrap().is_some());
    assert!(node.storage.plaintext(1).unwrap().is_none());
    // Bad reveals: another puzzle's exponent, garbage, a threshold item. 4xx, no state.
    let (s, v) = call_json(&app, post("/v1/reveal", reveal_body(&d.id(), &other))).await;
    assert_error(s, &v, StatusCode::UNPROCESSABLE_ENTITY, "bad_reveal");
    let (s, v) = call_json(
        &app,
        post(
            "/v1/reveal",
            json!({ "id": d.id().to_hex(), "reveal": "0401" }).to_string(),
        ),
    )
    .await;
    assert_error(s, &v, StatusCode::UNPROCESSABLE_ENTITY, "bad_reveal");
    let (s, v) = call_json(&app, post("/v1/reveal", reveal_body(&t0.id(), &secret))).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "not_a_puzzle");
    let (s, v) = call_json(&app, post("/v1/reveal", "{\"id\": 1}")).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "malformed");
    let (s, v) = call_json(
        &app,
        post("/v1/reveal", vec![b'x'; crate::api::REVEAL_LIMIT + 1]),
    )
    .await;
    assert_error(s, &v, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    assert_eq!(node.storage.opening(&d.id()).unwrap(), None);
    assert!(node.storage.plaintext(1).unwrap().is_none());
    // The genuine reveal settles the item; the slot is delivered.
    let (s, v) = call_json(&app, post("/v1/reveal", reveal_body(&d.id(), &secret))).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["slot"].as_u64(), v["index"].as_u64()),
        (Some(1), Some(1))
    );
    let n2 = node.clone();
    let p = tokio::task::spawn_blocking(move || wait_plaintext(&n2, 1))
        .await
        .unwrap();
    assert_eq!(
        outcomes(&p),
        vec![
            Some(b"before".to_vec()),
            Some(b"revealed".to_vec()),
            Some(b"dual by shares".to_vec())
        ]
    );
    assert!(matches!(
        p.items[1].opening,
        veil_protocol::Opening::Reveal(_)
    ));
    assert_eq!(p.items[2].opening, veil_protocol::Opening::Committee);
    verify_published(&node, &p, &envs);
    // A replayed reveal changes nothing.
    let (s, v) = call_json(&app, post("/v1/reveal", reveal_body(&d.id(), &secret))).await;
    assert_error(s, &v, StatusCode::CONFLICT, "already_settled");
    let (s, v) = call_json(&app, get(&format!("/v1/transactions/{}", d.id().to_hex()))).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("decrypted"))
    );
    let (_, b) = call(&app, get("/metrics")).await;
    let text = String::from_utf8(b).unwrap();
    assert!(text.contains("veil_reveals_total 1"), "{text}");
}

/// Signs a certificate for `batch` with members `signers` of the fixture's committee.
fn certificate_from(f: &Fixture, batch: &Batch, signers: &[u32]) -> OrderCertificate {
    let keys: Vec<_> = (1..=f.configs.len() as u32)
        .map(|i| {
            veil_keygen::files::load_identity(&f.configs[(i - 1) as usize].identity_dir, PASS)
                .unwrap()
                .certificate_key()
                .unwrap()
        })
        .collect();
    let bls: Vec<_> = keys.iter().map(|k| k.public_key()).collect();
    let intent = veil_protocol::VoteIntent {
        slot: batch.slot,
        parent: batch.parent,
        commitment: batch.commitment(),
    };
    let mut b = veil_protocol::CertificateBuilder::new(intent, bls, signers.len());
    let mut cert = None;
    for &m in signers {
        let v = veil_protocol::Vote::sign(&keys[(m - 1) as usize], m, &intent);
        if let veil_protocol::Progress::Certified(c) = b.add(&v).unwrap() {
            cert = Some(c);
        }
    }
    cert.unwrap()
}

#[test]
fn dual_items_open_by_the_solver_when_the_committee_withholds_shares() {
    // Member 2 of 4 sees a certified batch but no other member's shares ever arrive: its
    // dual items open by their puzzles after the (zero) grace period.
    let (f, params) = delay_fixture("dual", 4, true, 0);
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let node = build(&f.configs[1]);
    let solver = {
        let node = node.clone();
        std::thread::spawn(move || crate::solver::run(node))
    };
    let (u1, _) = dual_envelope(&node, &params, &mut rng, "dual one");
    let (d, _) = delay_envelope(&params, &mut rng, "delay");
    let (u2, _) = dual_envelope(&node, &params, &mut rng, "dual two");
    let envs = vec![u1, d, u2];
    node.submit(envs.iter().map(TxEnvelope::to_bytes).collect(), true)
        .unwrap();
    let batch = Batch {
        chain_id: CHAIN,
        slot: 1,
        parent: veil_protocol::Commitment::genesis(),
        ids: envs.iter().map(TxEnvelope::id).collect(),
        chains: vec![],
    };
    let member1 = veil_keygen::files::load_identity(&f.configs[0].identity_dir, PASS)
        .unwrap()
        .certificate_key()
        .unwrap();
    let p = Proposal::sign(&member1, SequencerId(0), batch.clone()).unwrap();
    node.on_proposal(&p).unwrap();
    let cert = certificate_from(&f, &batch, &[1, 3, 4]);
    node.on_certificate(&cert).unwrap();
    let plain = wait_plaintext(&node, 1);
    node.stopping.store(true, Ordering::Relaxed);
    solver.join().unwrap();
    assert_eq!(
        outcomes(&plain),
        vec![
            Some(b"dual one".to_vec()),
            Some(b"delay".to_vec()),
            Some(b"dual two".to_vec())
        ]
    );
    assert!(
        plain
            .items
            .iter()
            .all(|i| matches!(i.opening, veil_protocol::Opening::Solution(_)))
    );
    assert!(plain.shares.is_empty());
    verify_published(&node, &plain, &envs);
}

#[test]
fn restart_mid_solve_resumes_and_keeps_what_was_acknowledged() {
    let (f, params) = delay_fixture("resume", 1, false, 0);
    let mut rng = ChaCha20Rng::seed_from_u64(15);
    let node = build(&f.configs[0]);
    let (d1, _) = delay_envelope(&params, &mut rng, "survives one");
    let (d2, _) = delay_envelope(&params, &mut rng, "survives two");
    let envs = vec![d1, d2];
    certify_all(&node, &envs);
    // The solver was off: the certified slot is unsettled when the process "dies".
    assert!(node.storage.plaintext(1).unwrap().is_none());
    drop(node);
    let mut cfg = f.configs[0].clone();
    cfg.solver.enabled = true;
    let node = build(&cfg);
    let worker = node.start_worker();
    let solver = {
        let node = node.clone();
        std::thread::spawn(move || crate::solver::run(node))
    };
    assert_eq!(node.resume().unwrap(), 1);
    let plain = wait_plaintext(&node, 1);
    node.stopping.store(true, Ordering::Relaxed);
    solver.join().unwrap();
    worker.join().unwrap();
    assert_eq!(
        outcomes(&plain),
        vec![
            Some(b"survives one".to_vec()),
            Some(b"survives two".to_vec())
        ]
    );
    assert_eq!(node.deliverable(1, 10).unwrap().len(), 1);
}

#[test]
fn forwarder_sends_delivered_items_and_status_shows_the_result() {
    let f = fixture("fwd", 1);
    let rpc = crate::fake_rpc::FakeRpc::start();
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    let node = build(&f.configs[0]);
    let envs: Vec<TxEnvelope> = ["raw-a", "raw-b", "raw-c"]
        .iter()
        .map(|t| envelope(&node, &mut rng, CHAIN, t))
        .collect();
    rpc.script.errors.lock().unwrap().insert(
        format!("0x{}", hex::encode("raw-b")),
        (-32000, "nonce too low".into()),
    );
    certify_all(&node, &envs);
    wait_plaintext(&node, 1);
    let cfg = crate::config::ForwardConfig {
        rpc_url: rpc.url.clone(),
        member: 1,
        timeout_ms: 2_000,
        max_backoff_ms: 200,
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut fw = crate::forward::Forwarder::new(&cfg, &*node, &node.storage, &node.metrics.forward);
    assert!(fw.step(&stop).unwrap());
    assert_eq!(
        rpc.received.lock().unwrap().len(),
        3,
        "each item sent once, in order"
    );
    assert_eq!(
        rpc.accepted(),
        vec![
            format!("0x{}", hex::encode("raw-a")),
            format!("0x{}", hex::encode("raw-c"))
        ]
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let app = crate::api::router(node.clone());
    let (s, v) = rt.block_on(call_json(
        &app,
        get(&format!("/v1/transactions/{}", envs[1].id().to_hex())),
    ));
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["forwarding"],
        json!({ "status": "rejected", "code": -32000, "message": "nonce too low" })
    );
    let (_, v) = rt.block_on(call_json(
        &app,
        get(&format!("/v1/transactions/{}", envs[0].id().to_hex())),
    ));
    assert_eq!(v["forwarding"]["status"], "accepted");
    let (_, b) = rt.block_on(call(&app, get("/metrics")));
    let text = String::from_utf8(b).unwrap();
    assert!(text.contains("veil_forward_rejected_total 1"), "{text}");
    assert!(text.contains("veil_forward_accepted_total 2"), "{text}");
}

fn bundle_legs(node: &Node, rng: &mut ChaCha20Rng, chains: &[u64]) -> Vec<TxEnvelope> {
    let pk = PublicKey::from_point(node.keys.committee.public_key).unwrap();
    let members: Vec<(Label, Vec<u8>)> = chains
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let l = Label::new(*c, [4; 32], SlotRange::new(0, 1000).unwrap(), 9, vec![]).unwrap();
            (l, format!("leg {i}").into_bytes())
        })
        .collect();
    veil_protocol::bundle::seal(&EncryptionKey::new(&pk), rng, &members)
        .unwrap()
        .into_iter()
        .map(TxEnvelope::Threshold)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn multi_rollup_node_admits_bundles_whole_refuses_half_and_serves_verified_sub_batches() {
    const X: u64 = 31;
    const Y: u64 = 32;
    let mut f = fixture("rollups", 1);
    f.configs[0].label_chain_ids = vec![];
    f.configs[0].rollups = serde_json::from_value(json!([
        { "chain_id": X, "min_fee": 5, "max_items_per_slot": 8 },
        { "chain_id": Y, "delivery": "stream" }
    ]))
    .unwrap();
    let node = build(&f.configs[0]);
    let app = crate::api::router(node.clone());
    let mut rng = ChaCha20Rng::seed_from_u64(77);

    // Admission: unserved chain, fee below the rollup's minimum.
    let foreign = envelope(&node, &mut rng, 99, "elsewhere");
    let e = node.submit(vec![foreign.to_bytes()], false).unwrap_err();
    assert!(e.to_string().contains("chain id 99 not served"), "{e}");
    let pk = PublicKey::from_point(node.keys.committee.public_key).unwrap();
    let cheap_label = Label::new(X, [3; 32], SlotRange::new(0, 1000).unwrap(), 4, vec![]).unwrap();
    let cheap = TxEnvelope::Threshold(
        EncryptionKey::new(&pk)
            .encrypt(&mut rng, &cheap_label, b"cheap")
            .unwrap(),
    );
    let body = json!({ "envelope": hex::encode(cheap.to_bytes()) }).to_string();
    let (s, v) = call_json(&app, post("/v1/transactions", body)).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "rollup_admission");

    // Bundles: half a bundle is refused whole; the whole bundle is admitted.
    let legs = bundle_legs(&node, &mut rng, &[X, Y]);
    let hexes: Vec<String> = legs.iter().map(|e| hex::encode(e.to_bytes())).collect();
    let half = json!({ "envelopes": [hexes[0]] }).to_string();
    let (s, v) = call_json(&app, post("/v1/bundles", half)).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "bad_bundle");
    assert!(
        node.storage.pending(10).unwrap().is_empty(),
        "nothing admitted"
    );
    let whole = json!({ "envelopes": hexes }).to_string();
    let (s, v) = call_json(&app, post("/v1/bundles", whole)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let a = envelope(&node, &mut rng, X, "a");
    let b = envelope(&node, &mut rng, Y, "b");
    node.submit(vec![a.to_bytes(), b.to_bytes()], true).unwrap();

    let batch = |ids: Vec<veil_protocol::TxId>, chains: Vec<u64>| Batch {
        chain_id: CHAIN,
        slot: 1,
        parent: veil_protocol::Commitment::genesis(),
        ids,
        chains,
    };
    let sign = |b: Batch| Proposal::sign(&node.keys.signing_key, SequencerId(0), b).unwrap();
    // A version-1 batch, half a bundle, a lying rollup listing: no vote, nothing recorded.
    for bad in [
        batch(vec![a.id(), legs[0].id(), legs[1].id()], vec![]),
        batch(vec![a.id(), legs[0].id()], vec![X, X]),
        batch(vec![legs[1].id(), legs[0].id()], vec![Y, X]),
        batch(vec![a.id(), b.id()], vec![X, X]),
    ] {
        let r = node.on_proposal(&sign(bad));
        assert!(
            matches!(r, Err(crate::node::NodeError::BadBatch(_))),
            "{r:?}"
        );
    }
    assert!(node.storage.vote_intents().unwrap().is_empty());

    // The sequencer's plan: arrival order, bundle whole and in order, chains listed.
    let (ids, chains) = node.plan_batch().unwrap().unwrap();
    assert_eq!(ids, vec![legs[0].id(), legs[1].id(), a.id(), b.id()]);
    assert_eq!(chains, vec![X, Y, X, Y]);
    node.drive(sign(batch(ids.clone(), chains))).unwrap();
    let plain = wait_plaintext(&node, 1);
    assert_eq!(plain.chains, vec![X, Y, X, Y]);

    // Each rollup's sub-batch verifies against the certificate, with fees in the clear.
    for (rollup, want, texts) in [
        (X, vec![0u32, 2], vec!["leg 0", "a"]),
        (Y, vec![1, 3], vec!["leg 1", "b"]),
    ] {
        let (s, v) = call_json(&app, get(&format!("/v1/rollups/{rollup}/batches/1"))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let bytes = hex::decode(v["binary"].as_str().unwrap()).unwrap();
        let sub = veil_protocol::SubBatch::from_bytes(&bytes).unwrap();
        let items = sub.verify(&node.keys.bls_keys, 1, CHAIN, rollup).unwrap();
        assert_eq!(items.iter().map(|i| i.position).collect::<Vec<_>>(), want);
        let got: Vec<Outcome> = items.iter().map(|i| i.outcome.clone()).collect();
        let texts: Vec<Outcome> = texts
            .iter()
            .map(|t| Outcome::Decrypted(t.as_bytes().to_vec()))
            .collect();
        assert_eq!(got, texts);
        assert_eq!(v["items"][0]["max_fee"], "9");
    }
    let (s, v) = call_json(&app, get("/v1/rollups/33/batches/1")).await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "unknown_rollup");
    let (s, v) = call_json(&app, get("/v1/rollups")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["multi_rollup"], true);
    assert_eq!(v["rollups"][0]["chain_id"], X);
    assert_eq!(v["rollups"][0]["min_fee"], "5");
}
