//! The node's HTTP API (axum): small handlers that parse, call [`Node`], and map its typed
//! error to a status and a stable `{code, message}` body in one place ([`ApiError`]).
//!
//! Every route has a body limit (`DefaultBodyLimit`); an oversized body is `413
//! too_large`. Crypto and database work runs on the blocking pool.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use veil_protocol::message::MAX_MESSAGE_BODY;
use veil_protocol::{
    MAX_BATCH_IDS, MAX_ENVELOPE, OrderCertificate, Outcome, PlaintextBatch, Proposal, Refusal, TxId,
};

use crate::node::{Node, NodeError, envelope_code};

/// Body limit of `POST /v1/transactions` (hex doubles the envelope).
pub const SUBMIT_LIMIT: usize = 2 * MAX_ENVELOPE + 1024;
/// Body limit of `POST /v1/transactions/bulk`.
pub const BULK_LIMIT: usize = 32 * 1024 * 1024;
/// Body limit of `POST /v1/sequencer/proposals`.
pub const PROPOSAL_LIMIT: usize = 2 * (MAX_BATCH_IDS * 32 + 4096) + 1024;
/// Body limit of `POST /v1/reveal` (a reveal is a few hundred bytes; hex doubles it).
pub const REVEAL_LIMIT: usize = 8 * 1024;
/// Body limit of `POST /v1/bundles` (hex doubles each member).
pub const BUNDLE_LIMIT: usize = veil_protocol::bundle::MAX_BUNDLE * SUBMIT_LIMIT;
/// Body limit of routes that take no body.
pub const EMPTY_LIMIT: usize = 1024;

/// An error response: status, stable code, message, optional details.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// Human-readable message.
    pub message: String,
    /// Extra fields merged into the body.
    pub extra: Option<Value>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let (Some(Value::Object(extra)), Value::Object(b)) = (self.extra, &mut body) {
            b.extend(extra);
        }
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        let (status, code) = match &e {
            NodeError::Malformed(_) => (S::BAD_REQUEST, "malformed"),
            NodeError::TooLarge(_) => (S::PAYLOAD_TOO_LARGE, "too_large"),
            NodeError::Envelope { error, .. } => (S::BAD_REQUEST, envelope_code(error)),
            NodeError::AlreadyKnown(_) => (S::CONFLICT, "already_known"),
            NodeError::UnknownSender(_) => (S::FORBIDDEN, "unknown_sender"),
            NodeError::BadSignature => (S::UNAUTHORIZED, "bad_signature"),
            NodeError::Refused(Refusal::Missing { ids, .. }) => {
                let missing: Vec<String> = ids.iter().map(TxId::to_hex).collect();
                return ApiError {
                    extra: Some(json!({ "missing": missing })),
                    ..ApiError::new(S::CONFLICT, "missing_envelopes", message)
                };
            }
            NodeError::Refused(Refusal::ParentNotCertified { .. }) => {
                (S::CONFLICT, "parent_not_certified")
            }
            NodeError::Refused(_) => (S::CONFLICT, "vote_refused"),
            NodeError::UnknownBatch(_) => (S::CONFLICT, "unknown_batch"),
            NodeError::BadCertificate(_) => (S::BAD_REQUEST, "bad_certificate"),
            NodeError::BadShares(_) => (S::BAD_REQUEST, "bad_shares"),
            NodeError::Unexpected(_) => (S::BAD_REQUEST, "unexpected_message"),
            NodeError::NotFound(_) => (S::NOT_FOUND, "not_found"),
            NodeError::Storage(_) => (S::INTERNAL_SERVER_ERROR, "storage"),
            NodeError::Unavailable(_) => (S::SERVICE_UNAVAILABLE, "unavailable"),
            NodeError::DelayDisabled => (S::NOT_FOUND, "delay_disabled"),
            NodeError::NotPuzzle(_) => (S::BAD_REQUEST, "not_a_puzzle"),
            NodeError::NotCertified(_) => (S::CONFLICT, "not_certified"),
            NodeError::BadReveal(_) => (S::UNPROCESSABLE_ENTITY, "bad_reveal"),
            NodeError::AlreadySettled(_) => (S::CONFLICT, "already_settled"),
            NodeError::Admission { .. } => (S::BAD_REQUEST, "rollup_admission"),
            NodeError::BadBundle(_) => (S::BAD_REQUEST, "bad_bundle"),
            NodeError::BadBatch(_) => (S::CONFLICT, "vote_refused"),
            NodeError::UnknownRollup(_) => (S::NOT_FOUND, "unknown_rollup"),
        };
        ApiError::new(status, code, message)
    }
}

fn body_error(r: BytesRejection) -> ApiError {
    let status = r.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(status, "too_large", "body over this route's limit")
    } else {
        ApiError::new(status, "bad_body", r.body_text())
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    node: &Arc<Node>,
    f: impl FnOnce(&Arc<Node>) -> Result<T, NodeError> + Send + 'static,
) -> ApiResult<T> {
    let node = node.clone();
    let n = node.clone();
    tokio::task::spawn_blocking(move || f(&node))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(|e| {
            n.note_storage_error(&e);
            ApiError::from(e)
        })
}

/// The router over a node.
pub fn router(node: Arc<Node>) -> Router {
    let small = || DefaultBodyLimit::max(EMPTY_LIMIT);
    Router::new()
        .route("/healthz", get(healthz).layer(small()))
        .route("/metrics", get(metrics).layer(small()))
        .route("/openapi.json", get(openapi).layer(small()))
        .route("/v1/committee", get(committee).layer(small()))
        .route("/v1/delay-params", get(delay_params).layer(small()))
        .route(
            "/v1/transactions",
            post(submit).layer(DefaultBodyLimit::max(SUBMIT_LIMIT)),
        )
        .route(
            "/v1/transactions/bulk",
            post(submit_bulk).layer(DefaultBodyLimit::max(BULK_LIMIT)),
        )
        .route("/v1/transactions/{id}", get(transaction).layer(small()))
        .route("/v1/certificates/{slot}", get(certificate).layer(small()))
        .route("/v1/batches/{slot}", get(batch).layer(small()))
        .route("/v1/stream", get(stream).layer(small()))
        .route(
            "/v1/reveal",
            post(reveal).layer(DefaultBodyLimit::max(REVEAL_LIMIT)),
        )
        .route("/v1/evidence", get(evidence).layer(small()))
        .route(
            "/v1/bundles",
            post(submit_bundle).layer(DefaultBodyLimit::max(BUNDLE_LIMIT)),
        )
        .route("/v1/rollups", get(rollups).layer(small()))
        .route(
            "/v1/rollups/{chain_id}/batches/{slot}",
            get(rollup_batch).layer(small()),
        )
        .route(
            "/v1/rollups/{chain_id}/stream",
            get(rollup_stream).layer(small()),
        )
        .route(
            "/v1/sequencer/proposals",
            post(proposal).layer(DefaultBodyLimit::max(PROPOSAL_LIMIT)),
        )
        .route(
            "/internal/v1/messages",
            post(message).layer(DefaultBodyLimit::max(MAX_MESSAGE_BODY)),
        )
        .route(
            "/internal/v1/link",
            post(link_offer).layer(DefaultBodyLimit::max(EMPTY_LIMIT)),
        )
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .with_state(node)
}

async fn healthz(State(node): State<Arc<Node>>) -> ApiResult<axum::Json<Value>> {
    // A member whose database failed refuses every write: unhealthy until restarted.
    if let Some(e) = node.storage_failure() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_failed",
            format!("storage failed, restart needed: {e}"),
        ));
    }
    let slot = blocking(&node, |n| n.last_certified_slot()).await?;
    Ok(axum::Json(
        json!({ "status": "ok", "member": node.member(), "last_certified_slot": slot }),
    ))
}

async fn metrics(State(node): State<Arc<Node>>) -> ApiResult<Response> {
    let slot = blocking(&node, |n| n.last_certified_slot()).await?;
    let text = node.metrics.render(node.member(), slot);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

async fn committee(State(node): State<Arc<Node>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        node.keys.committee_json.clone(),
    )
        .into_response()
}

async fn delay_params(State(node): State<Arc<Node>>) -> ApiResult<Response> {
    match &node.keys.delay_params_json {
        Some(j) => Ok(([(header::CONTENT_TYPE, "application/json")], j.clone()).into_response()),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "delay_disabled",
            "delay mode not enabled",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitBody {
    envelope: String,
}

async fn submit(
    State(node): State<Arc<Node>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<axum::Json<Value>> {
    let body = body.map_err(|r| {
        node.metrics.reject("too_large");
        body_error(r)
    })?;
    let parsed: SubmitBody = serde_json::from_slice(&body).map_err(|e| {
        node.metrics.reject("malformed");
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string())
    })?;
    let bytes = hex::decode(&parsed.envelope).map_err(|e| {
        node.metrics.reject("malformed");
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("envelope: {e}"),
        )
    })?;
    let (ids, receipt) = blocking(&node, move |n| n.submit(vec![bytes], false)).await?;
    Ok(axum::Json(
        json!({ "id": ids[0].to_hex(), "receipt": receipt }),
    ))
}

/// Splits `u32 BE length ‖ envelope` frames.
pub fn split_frames(body: &[u8]) -> Result<Vec<Vec<u8>>, NodeError> {
    let mut out = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(NodeError::Malformed(format!(
                "truncated frame header at item {}",
                out.len()
            )));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len > MAX_ENVELOPE {
            return Err(NodeError::TooLarge(format!(
                "item {}: envelope of {len} bytes, limit {MAX_ENVELOPE}",
                out.len()
            )));
        }
        if rest.len() < 4 + len {
            return Err(NodeError::Malformed(format!(
                "item {}: frame of {len} bytes, {} left",
                out.len(),
                rest.len() - 4
            )));
        }
        out.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    Ok(out)
}

async fn submit_bulk(
    State(node): State<Arc<Node>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<axum::Json<Value>> {
    let body = body.map_err(|r| {
        node.metrics.reject("too_large");
        body_error(r)
    })?;
    let (ids, receipt) = blocking(&node, move |n| {
        let frames = split_frames(&body).inspect_err(|_| n.metrics.reject("malformed"))?;
        n.submit(frames, true)
    })
    .await?;
    let ids: Vec<String> = ids.iter().map(TxId::to_hex).collect();
    Ok(axum::Json(json!({ "ids": ids, "receipt": receipt })))
}

async fn transaction(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let id = TxId::from_hex(&id)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string()))?;
    blocking(&node, move |n| {
        if let Some(pos) = n.storage.position(&id)? {
            let status = match n.storage.plaintext(pos.slot)? {
                Some(p) => match p.items.get(pos.index as usize).map(|i| &i.outcome) {
                    Some(Outcome::Decrypted(_)) => "decrypted",
                    _ => "invalid",
                },
                None => "ordered",
            };
            let mut v = json!({
                "id": id.to_hex(), "status": status, "slot": pos.slot, "index": pos.index
            });
            if let Some(r) = n.storage.forwarded(&id)? {
                v["forwarding"] = crate::forward::result_json(&r);
            }
            return Ok(axum::Json(v));
        }
        if n.storage.has_envelope(&id)? {
            return Ok(axum::Json(
                json!({ "id": id.to_hex(), "status": "pending" }),
            ));
        }
        Err(NodeError::NotFound("transaction"))
    })
    .await
}

fn certificate_json(c: &OrderCertificate) -> Value {
    json!({
        "slot": c.slot,
        "parent": c.parent,
        "commitment": c.commitment,
        "signers": c.signers().signers().map(|i| i + 1).collect::<Vec<_>>(),
        "certificate": c,
        "binary": hex::encode(c.to_bytes()),
    })
}

async fn certificate(
    State(node): State<Arc<Node>>,
    Path(slot): Path<u64>,
) -> ApiResult<axum::Json<Value>> {
    let c = blocking(&node, move |n| {
        n.storage
            .certificate(slot)?
            .ok_or(NodeError::NotFound("certificate"))
    })
    .await?;
    Ok(axum::Json(certificate_json(&c)))
}

/// The public JSON form of a plaintext batch (with the binary form for verifiers).
pub fn batch_json(p: &PlaintextBatch) -> Value {
    let items: Vec<Value> = p
        .items
        .iter()
        .map(|i| match &i.outcome {
            Outcome::Decrypted(m) => {
                json!({ "id": i.id.to_hex(), "status": "decrypted", "plaintext": hex::encode(m), "opening": i.opening })
            }
            Outcome::Invalid => {
                json!({ "id": i.id.to_hex(), "status": "invalid", "plaintext": null, "opening": i.opening })
            }
        })
        .collect();
    json!({
        "chain_id": p.chain_id,
        "slot": p.slot,
        "commitment": p.commitment,
        "certificate": certificate_json(&p.certificate),
        "items": items,
        "shares": p.shares,
        "binary": hex::encode(p.to_bytes()),
    })
}

async fn batch(
    State(node): State<Arc<Node>>,
    Path(slot): Path<u64>,
) -> ApiResult<axum::Json<Value>> {
    let p = blocking(&node, move |n| {
        n.storage
            .plaintext(slot)?
            .ok_or(NodeError::NotFound("plaintext batch"))
    })
    .await?;
    Ok(axum::Json(batch_json(&p)))
}

#[derive(Deserialize)]
struct StreamQuery {
    from: Option<u64>,
}

async fn stream(
    State(node): State<Arc<Node>>,
    Query(q): Query<StreamQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = node.subscribe();
    let next = q.from.unwrap_or(1).max(1);
    let state = (node, rx, next, std::collections::VecDeque::<Event>::new());
    let s = futures_util::stream::unfold(state, |(node, mut rx, mut next, mut buf)| async move {
        loop {
            if let Some(ev) = buf.pop_front() {
                return Some((Ok(ev), (node, rx, next, buf)));
            }
            rx.borrow_and_update();
            let from = next;
            let batches = blocking(&node, move |n| n.deliverable(from, 16))
                .await
                .unwrap_or_default();
            for b in &batches {
                let data = batch_json(b).to_string();
                buf.push_back(
                    Event::default()
                        .event("batch")
                        .id(b.slot.to_string())
                        .data(data),
                );
                next = b.slot + 1;
            }
            if buf.is_empty() && rx.changed().await.is_err() {
                return None;
            }
        }
    });
    Sse::new(s).keep_alive(KeepAlive::default())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevealBody {
    id: String,
    reveal: String,
}

async fn reveal(
    State(node): State<Arc<Node>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<axum::Json<Value>> {
    let body = body.map_err(|r| {
        node.metrics.reject("too_large");
        body_error(r)
    })?;
    let malformed = |e: String| {
        node.metrics.reject("malformed");
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", e)
    };
    let parsed: RevealBody = serde_json::from_slice(&body).map_err(|e| malformed(e.to_string()))?;
    let id = TxId::from_hex(&parsed.id).map_err(|e| malformed(format!("id: {e}")))?;
    let bytes = hex::decode(&parsed.reveal).map_err(|e| malformed(format!("reveal: {e}")))?;
    let (slot, index) = blocking(&node, move |n| n.reveal(id, bytes)).await?;
    Ok(axum::Json(
        json!({ "id": id.to_hex(), "status": "stored", "slot": slot, "index": index }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvidenceQuery {
    slot: Option<u64>,
}

async fn evidence(
    State(node): State<Arc<Node>>,
    q: Result<Query<EvidenceQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<Value>> {
    let Query(q) =
        q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.body_text()))?;
    let all = blocking(&node, |n| Ok(n.storage.evidence()?)).await?;
    let items: Vec<Value> = all
        .iter()
        .filter(|e| {
            q.slot
                .is_none_or(|s| e.first.batch.slot == s || e.second.batch.slot == s)
        })
        .map(|e| {
            json!({
                "sequencer": e.first.sequencer,
                "slots": [e.first.batch.slot, e.second.batch.slot],
                "parent": e.first.batch.parent,
                "commitments": [e.first.batch.commitment(), e.second.batch.commitment()],
                "first": hex::encode(e.first.to_bytes()),
                "second": hex::encode(e.second.to_bytes()),
                "binary": hex::encode(e.to_bytes()),
            })
        })
        .collect();
    Ok(axum::Json(json!({ "evidence": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProposalBody {
    proposal: String,
}

async fn proposal(
    State(node): State<Arc<Node>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<axum::Json<Value>> {
    let body = body.map_err(body_error)?;
    let parsed: ProposalBody = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string()))?;
    let bytes = hex::decode(&parsed.proposal)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string()))?;
    let p = Proposal::from_bytes(&bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string()))?;
    let c = blocking(&node, move |n| n.accept_external(p)).await?;
    Ok(axum::Json(certificate_json(&c)))
}

async fn message(
    State(node): State<Arc<Node>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<axum::Json<Value>> {
    let body = body.map_err(body_error)?;
    let reply = blocking(&node, move |n| n.handle_message(&body)).await;
    match reply {
        Err(mut e) if e.code == "parent_not_certified" => {
            // The contiguous tip: catching up from there also fills a gap below the last
            // certificate held.
            let tip = blocking(&node, |n| n.contiguous_certified_slot()).await?;
            e.extra = Some(json!({ "tip_slot": tip }));
            Err(e)
        }
        r => r.map(axum::Json),
    }
}

/// A member's signed link offer; the reply is the signed answer (binary).
async fn link_offer(
    State(node): State<Arc<Node>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(body_error)?;
    let answer = blocking(&node, move |n| n.link_answer(&body)).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], answer).into_response())
}

async fn openapi() -> axum::Json<Value> {
    axum::Json(openapi_doc())
}

/// The OpenAPI 3 description of every route.
pub fn openapi_doc() -> Value {
    let err = json!({ "description": "error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let ok = |d: &str| json!({ "description": d, "content": { "application/json": { "schema": { "type": "object" } } } });
    let slot = json!([{ "name": "slot", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1 } }]);
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Veil committee node", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Encrypted-mempool committee member: submissions, order certificates, plaintext batches. Bytes are hex; errors are {code, message}." },
        "components": { "schemas": {
            "Error": { "type": "object", "required": ["code", "message"],
                       "properties": { "code": { "type": "string" }, "message": { "type": "string" } } },
            "Submit": { "type": "object", "required": ["envelope"], "properties": { "envelope": { "type": "string", "description": "hex TxEnvelope (0x01 ‖ mode ‖ body)" } } }
        } },
        "paths": {
            "/healthz": { "get": { "summary": "liveness", "responses": { "200": ok("status, member, last_certified_slot") } } },
            "/metrics": { "get": { "summary": "Prometheus text exposition", "responses": { "200": { "description": "text/plain" } } } },
            "/openapi.json": { "get": { "summary": "this document", "responses": { "200": ok("OpenAPI 3") } } },
            "/v1/committee": { "get": { "summary": "committee.json", "responses": { "200": ok("committee") } } },
            "/v1/delay-params": { "get": { "summary": "delay parameters", "responses": { "200": ok("params"), "404": err } } },
            "/v1/transactions": { "post": { "summary": "submit one envelope (durable before the receipt)",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Submit" } } } },
                "responses": { "200": ok("id and signed receipt"), "400": err, "409": err, "413": err } } },
            "/v1/transactions/bulk": { "post": { "summary": "submit many envelopes: repeated u32 BE length ‖ envelope; one receipt over the Merkle root of the ids",
                "requestBody": { "required": true, "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
                "responses": { "200": ok("ids and signed receipt"), "400": err, "409": err, "413": err } } },
            "/v1/transactions/{id}": { "get": { "summary": "status: pending | ordered | decrypted | invalid",
                "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": ok("status, slot, index"), "404": err } } },
            "/v1/certificates/{slot}": { "get": { "summary": "order certificate", "parameters": slot, "responses": { "200": ok("certificate (JSON and binary hex)"), "404": err } } },
            "/v1/batches/{slot}": { "get": { "summary": "plaintext batch with certificate and shares", "parameters": slot, "responses": { "200": ok("plaintext batch"), "404": err } } },
            "/v1/stream": { "get": { "summary": "server-sent events, one `batch` event per plaintext batch in slot order",
                "parameters": [{ "name": "from", "in": "query", "required": false, "schema": { "type": "integer" } }],
                "responses": { "200": { "description": "text/event-stream" } } } },
            "/v1/reveal": { "post": { "summary": "a sender reveals the puzzle exponent of a certified delay or dual item; checked against the ciphertext, stored durably, passed on to every member",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["id", "reveal"],
                    "properties": { "id": { "type": "string" }, "reveal": { "type": "string", "description": "hex PuzzleReveal encoding" } } } } } },
                "responses": { "200": ok("id, slot, index"), "400": err, "404": err, "409": err, "413": err, "422": err } } },
            "/v1/evidence": { "get": { "summary": "sequencer equivocation evidence (both signed proposals, binary hex)",
                "parameters": [{ "name": "slot", "in": "query", "required": false, "schema": { "type": "integer" } }],
                "responses": { "200": ok("evidence list"), "400": err } } },
            "/v1/sequencer/proposals": { "post": { "summary": "an external sequencer's signed proposal (hex)",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "properties": { "proposal": { "type": "string" } } } } } },
                "responses": { "200": ok("the order certificate"), "400": err, "401": err, "503": err } } },
            "/v1/bundles": { "post": { "summary": "submit one atomic bundle: every member admitted (durably, one write) or none",
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["envelopes"],
                    "properties": { "envelopes": { "type": "array", "items": { "type": "string" }, "description": "hex TxEnvelopes in bundle order" } } } } } },
                "responses": { "200": ok("ids and signed receipt over their Merkle root"), "400": err, "409": err, "413": err } } },
            "/v1/rollups": { "get": { "summary": "rollups served: chain id, admission limits, delivery, forwarding cursor", "responses": { "200": ok("rollups") } } },
            "/v1/rollups/{chain_id}/batches/{slot}": { "get": { "summary": "one rollup's sub-batch of a slot: its items in certified order with clear fee metadata, the certificate and the completeness proof",
                "parameters": [{ "name": "chain_id", "in": "path", "required": true, "schema": { "type": "integer" } }, { "name": "slot", "in": "path", "required": true, "schema": { "type": "integer" } }],
                "responses": { "200": ok("sub-batch (JSON and binary hex)"), "404": err } } },
            "/v1/rollups/{chain_id}/stream": { "get": { "summary": "server-sent events, one `sub_batch` event per slot (empty sub-batches included, with their absence proof)",
                "parameters": [{ "name": "chain_id", "in": "path", "required": true, "schema": { "type": "integer" } }, { "name": "from", "in": "query", "required": false, "schema": { "type": "integer" } }],
                "responses": { "200": { "description": "text/event-stream" }, "404": err } } },
            "/internal/v1/link": { "post": { "summary": "a member's signed link offer (binary); the reply is the signed answer that keys MACs on envelopes and shares from that member",
                "requestBody": { "required": true, "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
                "responses": { "200": { "description": "application/octet-stream" }, "400": err, "401": err, "403": err } } },
            "/internal/v1/messages": { "post": { "summary": "member-to-member SignedMessage, or a sealed (MAC'd) envelopes or shares message (binary)",
                "requestBody": { "required": true, "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
                "responses": { "200": ok("reply"), "400": err, "401": err, "403": err, "409": err } } }
        }
    })
}

// ---- several rollups, bundles ---------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleBody {
    envelopes: Vec<String>,
}

async fn submit_bundle(
    State(node): State<Arc<Node>>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<axum::Json<Value>> {
    let body = body.map_err(|r| {
        node.metrics.reject("too_large");
        body_error(r)
    })?;
    let parsed: BundleBody = serde_json::from_slice(&body).map_err(|e| {
        node.metrics.reject("malformed");
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string())
    })?;
    let encodings = parsed
        .envelopes
        .iter()
        .enumerate()
        .map(|(i, h)| {
            hex::decode(h).map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed",
                    format!("envelope {i}: {e}"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (ids, receipt) = blocking(&node, move |n| n.submit_bundle(encodings)).await?;
    let ids: Vec<String> = ids.iter().map(TxId::to_hex).collect();
    Ok(axum::Json(json!({ "ids": ids, "receipt": receipt })))
}

async fn rollups(State(node): State<Arc<Node>>) -> ApiResult<axum::Json<Value>> {
    blocking(&node, |n| {
        let mut out = Vec::new();
        for r in n.settings.rollups.iter() {
            let delivery = match &r.delivery {
                crate::rollups::Delivery::Stream => json!("stream"),
                crate::rollups::Delivery::Rpc(f) => {
                    let cursor = n
                        .storage
                        .forward_cursor(&format!("{}-{}", crate::forward::CURSOR, r.chain_id))?;
                    json!({ "rpc": { "rpc_url": f.rpc_url, "member": f.member,
                                     "cursor": cursor.map(|(s, i)| json!({ "slot": s, "index": i })) } })
                }
            };
            out.push(json!({
                "chain_id": r.chain_id,
                "max_items_per_slot": r.max_items_per_slot,
                "max_envelope_bytes": r.max_envelope_bytes,
                "min_fee": r.min_fee.to_string(),
                "delivery": delivery,
            }));
        }
        Ok(axum::Json(json!({
            "domain": n.settings.chain_id,
            "multi_rollup": n.settings.rollups.enabled(),
            "rollups": out,
        })))
    })
    .await
}

/// The public JSON form of a rollup's sub-batch (with the binary form for verifiers).
pub fn sub_batch_json(s: &veil_protocol::SubBatch, fees: &[Option<u128>]) -> Value {
    let items: Vec<Value> = s
        .items
        .iter()
        .zip(fees)
        .map(|(i, fee)| {
            let (status, plaintext) = match &i.outcome {
                Outcome::Decrypted(m) => ("decrypted", json!(hex::encode(m))),
                Outcome::Invalid => ("invalid", Value::Null),
            };
            json!({ "position": i.position, "id": i.id.to_hex(), "status": status,
                    "plaintext": plaintext, "max_fee": fee.map(|f| f.to_string()) })
        })
        .collect();
    json!({
        "domain": s.domain,
        "chain_id": s.rollup,
        "slot": s.slot,
        "certificate": certificate_json(&s.certificate),
        "items": items,
        "proof": s.proof,
        "binary": hex::encode(s.to_bytes()),
    })
}

async fn rollup_batch(
    State(node): State<Arc<Node>>,
    Path((chain_id, slot)): Path<(u64, u64)>,
) -> ApiResult<axum::Json<Value>> {
    let (s, fees) = blocking(&node, move |n| n.sub_batch(chain_id, slot)).await?;
    Ok(axum::Json(sub_batch_json(&s, &fees)))
}

async fn rollup_stream(
    State(node): State<Arc<Node>>,
    Path(chain_id): Path<u64>,
    Query(q): Query<StreamQuery>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    if node.settings.rollups.enabled() && node.settings.rollups.get(chain_id).is_none() {
        return Err(NodeError::UnknownRollup(chain_id).into());
    }
    let rx = node.subscribe();
    let next = q.from.unwrap_or(1).max(1);
    let state = (node, rx, next, std::collections::VecDeque::<Event>::new());
    let s =
        futures_util::stream::unfold(state, move |(node, mut rx, mut next, mut buf)| async move {
            loop {
                if let Some(ev) = buf.pop_front() {
                    return Some((Ok(ev), (node, rx, next, buf)));
                }
                rx.borrow_and_update();
                let from = next;
                let subs = blocking(&node, move |n| {
                    let mut out = Vec::new();
                    // One slot per call, so the first event leaves quickly even when the
                    // consumer is far behind (a consumer with a short read timeout would
                    // otherwise reconnect before anything arrives, again and again).
                    for b in n.deliverable(from, 1)? {
                        match n.sub_batch_of(&b, chain_id) {
                            Ok(s) => out.push((b.slot, Some(s))),
                            // A version-1 batch has no rollup index: the slot is skipped.
                            Err(NodeError::NotFound(_)) => out.push((b.slot, None)),
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(out)
                })
                .await
                .unwrap_or_default();
                for (slot, sub) in &subs {
                    if let Some((s, fees)) = sub {
                        buf.push_back(
                            Event::default()
                                .event("sub_batch")
                                .id(slot.to_string())
                                .data(sub_batch_json(s, fees).to_string()),
                        );
                    }
                    next = slot + 1;
                }
                if buf.is_empty() && rx.changed().await.is_err() {
                    return None;
                }
            }
        });
    Ok(Sse::new(s).keep_alive(KeepAlive::default()))
}
