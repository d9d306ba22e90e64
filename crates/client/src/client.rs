//! The node's HTTP API from the wallet's side: submit, check the receipt, follow the
//! transaction to its certified position. Async on `reqwest` (rustls, no OpenSSL), with
//! [`BlockingClient`] for callers without a runtime.
//!
//! Every answer is checked as [`crate::verify`] describes before it is returned; a node
//! that answers something that does not match the certified batch gets a
//! [`ClientError::BatchMismatch`], not a result.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use veil_protocol::{OrderCertificate, PlaintextBatch, Receipt, TxId};
use veil_timelock::DelayParams;

use crate::committee::{ChainPolicy, TrustedCommittee, load_delay_params};
use crate::encrypt::EncryptedTx;
use crate::error::ClientError;
use crate::verify::{self, Finality, TxStatus};

/// A submission the node acknowledged, with its verified receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitted {
    /// The envelope id.
    pub id: TxId,
    /// The member's signed receipt (verified).
    pub receipt: Receipt,
}

/// Client settings.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Interval between status polls while following a transaction.
    pub poll_interval: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// An async client of one node. See the module documentation.
#[derive(Clone, Debug)]
pub struct VeilClient {
    http: reqwest::Client,
    base: String,
    committee: TrustedCommittee,
    policy: ChainPolicy,
    options: ClientOptions,
}

impl VeilClient {
    /// A client of the node at `base_url` (e.g. `http://127.0.0.1:7101`) serving
    /// `committee` under `policy`.
    pub fn new(
        base_url: &str,
        committee: TrustedCommittee,
        policy: ChainPolicy,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(options.request_timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            committee,
            policy,
            options,
        })
    }

    /// The committee this client checks against.
    pub fn committee(&self) -> &TrustedCommittee {
        &self.committee
    }

    /// The chain policy.
    pub fn policy(&self) -> &ChainPolicy {
        &self.policy
    }

    /// The node's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn read(resp: reqwest::Response) -> Result<Value, ClientError> {
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let v: Value = serde_json::from_slice(&body).map_err(|_| {
            if status.is_success() {
                ClientError::Malformed(format!("{} bytes that are not JSON", body.len()))
            } else {
                ClientError::Node {
                    status: status.as_u16(),
                    code: "http".into(),
                    message: String::from_utf8_lossy(&body).chars().take(200).collect(),
                }
            }
        })?;
        if status.is_success() {
            Ok(v)
        } else {
            Err(ClientError::Node {
                status: status.as_u16(),
                code: v["code"].as_str().unwrap_or("unknown").to_owned(),
                message: v["message"].as_str().unwrap_or("").to_owned(),
            })
        }
    }

    async fn get(&self, path: &str) -> Result<Value, ClientError> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Self::read(resp).await
    }

    async fn get_optional(&self, path: &str) -> Result<Option<Value>, ClientError> {
        match self.get(path).await {
            Ok(v) => Ok(Some(v)),
            Err(ClientError::Node { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Self::read(resp).await
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<Value, ClientError> {
        self.get("/healthz").await
    }

    /// The node's `committee.json`, checked to be byte-for-byte the trusted one.
    pub async fn check_node_committee(&self) -> Result<(), ClientError> {
        let resp = self
            .http
            .get(format!("{}/v1/committee", self.base))
            .send()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let body = resp
            .bytes()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        if body.as_ref() != self.committee.json() {
            return Err(ClientError::CommitteeKeys(
                "the node serves a different committee.json".into(),
            ));
        }
        Ok(())
    }

    /// The node's delay parameters (verified; pinned by id if `pinned_id` is given), or
    /// `None` if the node has delay mode off.
    pub async fn delay_params(
        &self,
        pinned_id: Option<&[u8; 32]>,
    ) -> Result<Option<DelayParams>, ClientError> {
        match self.get_optional("/v1/delay-params").await {
            Ok(Some(v)) => load_delay_params(&v.to_string(), pinned_id).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Submits an encrypted transaction and checks the receipt.
    pub async fn submit(&self, tx: &EncryptedTx) -> Result<Submitted, ClientError> {
        self.policy.check(tx.label().chain_id)?;
        self.submit_envelope(tx.encoding()).await
    }

    /// Submits an envelope encoding and checks the receipt (a member's signature over its
    /// id).
    pub async fn submit_envelope(&self, encoding: &[u8]) -> Result<Submitted, ClientError> {
        let id = veil_protocol::envelope::id_of(encoding);
        let v = self
            .post(
                "/v1/transactions",
                &json!({ "envelope": hex::encode(encoding) }),
            )
            .await?;
        if v["id"].as_str() != Some(id.to_hex().as_str()) {
            return Err(ClientError::Malformed(format!(
                "node acknowledged {}, submitted {id}",
                v["id"]
            )));
        }
        let receipt: Receipt = serde_json::from_value(v["receipt"].clone())
            .map_err(|e| ClientError::Malformed(format!("receipt: {e}")))?;
        verify::check_receipt(&self.committee, &receipt, &id)?;
        Ok(Submitted { id, receipt })
    }

    /// Submits an atomic bundle (`POST /v1/bundles`: all members stored or none) and checks
    /// the receipt (a member's signature over the Merkle root of the ids, in bundle order).
    pub async fn submit_bundle(&self, legs: &[EncryptedTx]) -> Result<Vec<TxId>, ClientError> {
        for l in legs {
            self.policy.check(l.label().chain_id)?;
        }
        let ids: Vec<TxId> = legs.iter().map(EncryptedTx::id).collect();
        let hexes: Vec<String> = legs.iter().map(|l| hex::encode(l.encoding())).collect();
        let v = self
            .post("/v1/bundles", &json!({ "envelopes": hexes }))
            .await?;
        let got: Vec<String> = serde_json::from_value(v["ids"].clone())
            .map_err(|e| ClientError::Malformed(format!("ids: {e}")))?;
        if got != ids.iter().map(TxId::to_hex).collect::<Vec<_>>() {
            return Err(ClientError::Malformed(
                "node acknowledged other ids than the bundle's".into(),
            ));
        }
        let receipt: Receipt = serde_json::from_value(v["receipt"].clone())
            .map_err(|e| ClientError::Malformed(format!("receipt: {e}")))?;
        if receipt.subject != veil_protocol::ReceiptSubject::bulk(&ids) {
            return Err(ClientError::BadReceipt(
                "receipt is not over the bundle's ids".into(),
            ));
        }
        receipt
            .verify(self.committee.bls_keys())
            .map_err(|e| ClientError::BadReceipt(e.to_string()))?;
        Ok(ids)
    }

    /// `rollup`'s verified sub-batch of `slot` (items in certified order, complete), or
    /// `None` if the slot is not opened yet ([`crate::rollup::verify_sub_batch`]).
    pub async fn sub_batch(
        &self,
        rollup: u64,
        slot: u64,
    ) -> Result<Option<Vec<veil_protocol::SubBatchItem>>, ClientError> {
        let Some(v) = self
            .get_optional(&format!("/v1/rollups/{rollup}/batches/{slot}"))
            .await?
        else {
            return Ok(None);
        };
        let sub = crate::rollup::parse_sub_batch(&v)?;
        crate::rollup::verify_sub_batch(
            &self.committee,
            self.policy.service_chain_id,
            rollup,
            slot,
            &sub,
        )
        .map(Some)
    }

    /// Publishes the puzzle reveal of a delay or dual transaction (`POST /v1/reveal`): `reveal`
    /// is [`EncryptedTx::reveal_bytes`]. Only do this once the transaction's batch is
    /// certified: the reveal opens it.
    pub async fn reveal(&self, id: &TxId, reveal: &[u8]) -> Result<Value, ClientError> {
        self.post(
            "/v1/reveal",
            &json!({ "id": id.to_hex(), "reveal": hex::encode(reveal) }),
        )
        .await
    }

    /// Where `id` stands.
    pub async fn status(&self, id: &TxId) -> Result<TxStatus, ClientError> {
        let v = self
            .get(&format!("/v1/transactions/{}", id.to_hex()))
            .await?;
        verify::parse_status(&v, id)
    }

    /// The verified order certificate of `slot`, or `None` if the node has none yet.
    pub async fn certificate(&self, slot: u64) -> Result<Option<OrderCertificate>, ClientError> {
        let Some(v) = self
            .get_optional(&format!("/v1/certificates/{slot}"))
            .await?
        else {
            return Ok(None);
        };
        let c = verify::parse_certificate(&v)?;
        verify::check_certificate(&self.committee, &c, slot)?;
        Ok(Some(c))
    }

    /// The checked plaintext batch of `slot`, or `None` if it is not opened yet.
    pub async fn batch(&self, slot: u64) -> Result<Option<PlaintextBatch>, ClientError> {
        let Some(v) = self.get_optional(&format!("/v1/batches/{slot}")).await? else {
            return Ok(None);
        };
        let b = verify::parse_batch(&v)?;
        verify::check_batch(&self.committee, &self.policy, &b, slot)?;
        Ok(Some(b))
    }

    /// One look: the checked final position of `id` if its batch is opened, else its status.
    /// `expected` is the plaintext the wallet encrypted, compared with the outcome.
    pub async fn finality(
        &self,
        id: &TxId,
        expected: Option<&[u8]>,
    ) -> Result<Result<Finality, TxStatus>, ClientError> {
        let status = self.status(id).await?;
        let Some((slot, index)) = status.position() else {
            return Ok(Err(status));
        };
        if !status.is_settled() {
            return Ok(Err(status));
        }
        let batch = self.batch(slot).await?.ok_or_else(|| {
            ClientError::mismatch(slot, "status says opened, but the node has no batch")
        })?;
        let fin = verify::locate(&batch, index, id, expected)?;
        let claimed_invalid = matches!(status, TxStatus::Invalid { .. });
        if claimed_invalid != matches!(fin.outcome, veil_protocol::Outcome::Invalid) {
            return Err(ClientError::mismatch(
                slot,
                format!("status says {}, the batch disagrees", status.name()),
            ));
        }
        Ok(Ok(fin))
    }

    /// Follows `id` until its batch is opened (or `timeout`), calling `progress` on every
    /// change of status; returns the checked final position.
    pub async fn follow(
        &self,
        id: &TxId,
        expected: Option<&[u8]>,
        timeout: Duration,
        mut progress: impl FnMut(&TxStatus),
    ) -> Result<Finality, ClientError> {
        let start = Instant::now();
        let mut last = None;
        loop {
            match self.finality(id, expected).await? {
                Ok(f) => return Ok(f),
                Err(status) => {
                    if last != Some(status) {
                        progress(&status);
                        last = Some(status);
                    }
                }
            }
            if start.elapsed() > timeout {
                return Err(ClientError::Timeout {
                    seconds: timeout.as_secs(),
                    what: "the transaction's batch to open",
                });
            }
            tokio::time::sleep(self.options.poll_interval).await;
        }
    }

    /// Submits `tx`, then follows it to its checked final position (its plaintext compared
    /// with what was encrypted).
    pub async fn submit_and_follow(
        &self,
        tx: &EncryptedTx,
        timeout: Duration,
    ) -> Result<(Submitted, Finality), ClientError> {
        let sub = self.submit(tx).await?;
        let fin = self
            .follow(&sub.id, Some(tx.plaintext()), timeout, |_| {})
            .await?;
        Ok((sub, fin))
    }
}

/// [`VeilClient`] for callers without an async runtime: each call runs on a private
/// current-thread runtime.
#[derive(Debug)]
pub struct BlockingClient {
    inner: VeilClient,
    runtime: tokio::runtime::Runtime,
}

impl BlockingClient {
    /// See [`VeilClient::new`].
    pub fn new(
        base_url: &str,
        committee: TrustedCommittee,
        policy: ChainPolicy,
        options: ClientOptions,
    ) -> Result<Self, ClientError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let inner = VeilClient::new(base_url, committee, policy, options)?;
        Ok(Self { inner, runtime })
    }

    /// The async client.
    pub fn inner(&self) -> &VeilClient {
        &self.inner
    }

    /// See [`VeilClient::submit_bundle`].
    pub fn submit_bundle(&self, legs: &[EncryptedTx]) -> Result<Vec<TxId>, ClientError> {
        self.runtime.block_on(self.inner.submit_bundle(legs))
    }

    /// See [`VeilClient::sub_batch`].
    pub fn sub_batch(
        &self,
        rollup: u64,
        slot: u64,
    ) -> Result<Option<Vec<veil_protocol::SubBatchItem>>, ClientError> {
        self.runtime.block_on(self.inner.sub_batch(rollup, slot))
    }

    /// See [`VeilClient::health`].
    pub fn health(&self) -> Result<Value, ClientError> {
        self.runtime.block_on(self.inner.health())
    }

    /// See [`VeilClient::check_node_committee`].
    pub fn check_node_committee(&self) -> Result<(), ClientError> {
        self.runtime.block_on(self.inner.check_node_committee())
    }

    /// See [`VeilClient::delay_params`].
    pub fn delay_params(
        &self,
        pinned_id: Option<&[u8; 32]>,
    ) -> Result<Option<DelayParams>, ClientError> {
        self.runtime.block_on(self.inner.delay_params(pinned_id))
    }

    /// See [`VeilClient::submit`].
    pub fn submit(&self, tx: &EncryptedTx) -> Result<Submitted, ClientError> {
        self.runtime.block_on(self.inner.submit(tx))
    }

    /// See [`VeilClient::submit_envelope`].
    pub fn submit_envelope(&self, encoding: &[u8]) -> Result<Submitted, ClientError> {
        self.runtime.block_on(self.inner.submit_envelope(encoding))
    }

    /// See [`VeilClient::reveal`].
    pub fn reveal(&self, id: &TxId, reveal: &[u8]) -> Result<Value, ClientError> {
        self.runtime.block_on(self.inner.reveal(id, reveal))
    }

    /// See [`VeilClient::status`].
    pub fn status(&self, id: &TxId) -> Result<TxStatus, ClientError> {
        self.runtime.block_on(self.inner.status(id))
    }

    /// See [`VeilClient::certificate`].
    pub fn certificate(&self, slot: u64) -> Result<Option<OrderCertificate>, ClientError> {
        self.runtime.block_on(self.inner.certificate(slot))
    }

    /// See [`VeilClient::batch`].
    pub fn batch(&self, slot: u64) -> Result<Option<PlaintextBatch>, ClientError> {
        self.runtime.block_on(self.inner.batch(slot))
    }

    /// See [`VeilClient::finality`].
    pub fn finality(
        &self,
        id: &TxId,
        expected: Option<&[u8]>,
    ) -> Result<Result<Finality, TxStatus>, ClientError> {
        self.runtime.block_on(self.inner.finality(id, expected))
    }

    /// See [`VeilClient::follow`].
    pub fn follow(
        &self,
        id: &TxId,
        expected: Option<&[u8]>,
        timeout: Duration,
        progress: impl FnMut(&TxStatus),
    ) -> Result<Finality, ClientError> {
        self.runtime
            .block_on(self.inner.follow(id, expected, timeout, progress))
    }

    /// See [`VeilClient::submit_and_follow`].
    pub fn submit_and_follow(
        &self,
        tx: &EncryptedTx,
        timeout: Duration,
    ) -> Result<(Submitted, Finality), ClientError> {
        self.runtime
            .block_on(self.inner.submit_and_follow(tx, timeout))
    }
}
