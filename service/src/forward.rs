//! Forwarding of delivered plaintext to an Ethereum JSON-RPC endpoint.
//!
//! # What it does
//!
//! One member (configured by `forward.member`, default 1) runs a forwarder thread. It walks
//! the delivered plaintext batches strictly in certified order — slot by slot, item by item
//! — and sends every *decrypted* item's bytes, `0x`-hex, as the raw transaction of an
//! `eth_sendRawTransaction` call, waiting for each answer before the next send. Items that
//! failed decryption ([`veil_protocol::Outcome::Invalid`]) are never sent.
//!
//! # Durability and order
//!
//! The forwarder's cursor — the next `(slot, index)` to send — lives in redb
//! ([`Storage::forward_cursor`]) and is advanced in the same durable transaction that
//! records what the endpoint said about the item ([`Storage::record_forwarded`]), only
//! **after** the endpoint answered. Hence:
//!
//! - a crash before the answer resends the item after restart; an endpoint that already
//!   has it answers "already known" (geth, anvil and reth spell it slightly differently:
//!   `already known`, `already imported`, `known transaction`), which counts as accepted;
//! - a crash after the answer cannot skip anything (the cursor only moves past answered
//!   items) nor reorder (a single thread walks one cursor).
//!
//! A JSON-RPC error for one transaction (nonce too low, underpriced, …) is the endpoint's
//! verdict on that transaction: it is recorded per item (visible through
//! `GET /v1/transactions/{id}` as `forwarding`), counted and logged, and the stream moves
//! on. A transport failure (connection refused, timeout, HTTP error status without a
//! JSON-RPC answer, garbage body) says nothing about the transaction, so the same item is
//! retried with exponential back-off (100 ms doubling up to `forward.max_backoff_ms`) and the
//! stream waits.
//!
//! # Why one forwarder is not a trust issue
//!
//! The forwarder adds no authority: the order is fixed by the order certificate and each
//! plaintext batch is publicly verifiable against it (`GET /v1/batches/{slot}` carries the
//! certificate and the shares or puzzle openings, [`veil_protocol::PlaintextBatch::verify`]).
//! A rollup that checks each batch against the certificate detects a forwarder that drops,
//! reorders or injects transactions, and can fall back to reading the batches from any other
//! member. Forwarding is a delivery convenience, so one member does it and the others do not
//! duplicate the traffic.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tracing::{debug, info, info_span, warn};
use veil_protocol::{Outcome, PlaintextBatch, TxId};
use veil_storage::{ForwardResult, Storage, StorageError};

use crate::config::ForwardConfig;

/// The cursor name of the Ethereum forwarder in storage.
pub const CURSOR: &str = "eth";

/// Largest JSON-RPC reply read.
const MAX_REPLY: u64 = 1024 * 1024;

/// First retry delay after a transport error.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Where delivered batches come from: the node (plaintext batches in slot order) or a test.
pub trait Delivered {
    /// The delivered batch of `slot`, if that slot is delivered (every earlier certified
    /// slot delivered too).
    fn delivered(&self, slot: u64) -> Result<Option<PlaintextBatch>, StorageError>;
    /// The first certified slot (1 for a fresh chain).
    fn first_slot(&self) -> u64 {
        1
    }
}

impl Delivered for crate::node::Node {
    fn delivered(&self, slot: u64) -> Result<Option<PlaintextBatch>, StorageError> {
        // Plaintext batches are stored only when complete; the forwarder walks slots one by
        // one from the first, so reaching `slot` means every earlier one was delivered.
        self.storage.plaintext(slot)
    }
}

/// Forwarding counters (rendered in `/metrics`).
#[derive(Default)]
pub struct ForwardMetrics {
    /// Items the endpoint accepted.
    pub accepted: AtomicU64,
    /// Items the endpoint refused with a JSON-RPC error.
    pub rejected: AtomicU64,
    /// Invalid items skipped (never sent).
    pub skipped_invalid: AtomicU64,
    /// Transport failures (each followed by a retry).
    pub transport_errors: AtomicU64,
    /// Slot of the cursor.
    pub cursor_slot: AtomicU64,
}

/// The answer to one send.
#[derive(Debug)]
enum Sent {
    /// The endpoint answered for this transaction.
    Answered(ForwardResult),
    /// No JSON-RPC answer: retry.
    Transport(String),
}

/// The forwarder: one cursor, one endpoint, one thread.
pub struct Forwarder<'a, D: Delivered> {
    source: &'a D,
    storage: &'a Storage,
    metrics: &'a ForwardMetrics,
    agent: ureq::Agent,
    url: String,
    max_backoff: Duration,
    next_id: u64,
    /// The cursor's name in storage.
    cursor: String,
    /// Forward only items of this rollup (label chain id), if set.
    rollup: Option<u64>,
}

impl<'a, D: Delivered> Forwarder<'a, D> {
    /// A forwarder for `config` over `source`, its cursor in `storage`.
    pub fn new(
        config: &ForwardConfig,
        source: &'a D,
        storage: &'a Storage,
        metrics: &'a ForwardMetrics,
    ) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_millis(config.timeout_ms.clamp(100, 5_000)))
            .timeout(Duration::from_millis(config.timeout_ms.max(100)))
            .build();
        Self {
            source,
            storage,
            metrics,
            agent,
            url: config.rpc_url.clone(),
            max_backoff: Duration::from_millis(config.max_backoff_ms.max(100)),
            next_id: 1,
            cursor: CURSOR.to_owned(),
            rollup: None,
        }
    }

    /// Forwards only `chain_id`'s items (of version-2 batches, which list each item's
    /// rollup), with its own durable cursor `eth-<chain_id>`. Items of other rollups are
    /// passed over; a version-1 batch has no listing and is passed over whole.
    pub fn for_rollup(mut self, chain_id: u64) -> Self {
        self.cursor = format!("{CURSOR}-{chain_id}");
        self.rollup = Some(chain_id);
        self
    }

    /// Forwards until `stop` is set: everything delivered, then waits for more.
    pub fn run(&mut self, stop: &AtomicBool) {
        info!(url = %self.url, "forwarding delivered transactions");
        while !stop.load(Ordering::Relaxed) {
            match self.step(stop) {
                Ok(true) => {}
                Ok(false) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => {
                    warn!(error = %e, "forwarder: storage failed; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }

    /// Forwards the rest of the batch at the cursor, if delivered. Returns whether the
    /// cursor moved.
    pub fn step(&mut self, stop: &AtomicBool) -> Result<bool, StorageError> {
        let (slot, index) = self
            .storage
            .forward_cursor(&self.cursor)?
            .unwrap_or((self.source.first_slot(), 0));
        self.metrics.cursor_slot.store(slot, Ordering::Relaxed);
        let Some(batch) = self.source.delivered(slot)? else {
            return Ok(false);
        };
        let _span = info_span!("forward", slot).entered();
        let mut i = index as usize;
        while i < batch.items.len() {
            let item = &batch.items[i];
            let next = (slot, i as u32 + 1);
            if let Some(chain) = self.rollup
                && batch.chains.get(i) != Some(&chain)
            {
                i += 1;
                continue;
            }
            match &item.outcome {
                Outcome::Invalid => {
                    // Never sent; the cursor moves past it.
                    self.storage.record_forwarded(&self.cursor, None, next)?;
                    self.metrics.skipped_invalid.fetch_add(1, Ordering::Relaxed);
                    debug!(id = %item.id, index = i, "invalid item not forwarded");
                }
                Outcome::Decrypted(raw) => {
                    let Some(result) = self.send_until_answered(&item.id, raw, stop) else {
                        return Ok(true);
                    };
                    self.storage
                        .record_forwarded(&self.cursor, Some((&item.id, &result)), next)?;
                }
            }
            i += 1;
        }
        self.storage
            .record_forwarded(&self.cursor, None, (slot + 1, 0))?;
        Ok(true)
    }

    /// Sends one item, retrying transport failures with back-off; `None` if stopped.
    fn send_until_answered(
        &mut self,
        id: &TxId,
        raw: &[u8],
        stop: &AtomicBool,
    ) -> Option<ForwardResult> {
        let _span = info_span!("tx", id = %id).entered();
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.send(raw) {
                Sent::Answered(r) => {
                    match &r {
                        ForwardResult::Accepted { detail } => {
                            self.metrics.accepted.fetch_add(1, Ordering::Relaxed);
                            debug!(%detail, "forwarded");
                        }
                        ForwardResult::Rejected { code, message } => {
                            self.metrics.rejected.fetch_add(1, Ordering::Relaxed);
                            warn!(code, %message, "endpoint refused forwarded transaction");
                        }
                    }
                    return Some(r);
                }
                Sent::Transport(e) => {
                    self.metrics
                        .transport_errors
                        .fetch_add(1, Ordering::Relaxed);
                    warn!(error = %e, retry_in = ?backoff, "forwarding endpoint unreachable");
                    let until = std::time::Instant::now() + backoff;
                    while std::time::Instant::now() < until {
                        if stop.load(Ordering::Relaxed) {
                            return None;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
        }
    }

    fn send(&mut self, raw: &[u8]) -> Sent {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({
            "jsonrpc": "2.0",
            "id": id,
            "method": "eth_sendRawTransaction",
            "params": [format!("0x{}", hex::encode(raw))],
        });
        let resp = match self
            .agent
            .post(&self.url)
            .set("content-type", "application/json")
            .send_string(&body.to_string())
        {
            Ok(r) => r,
            // A JSON-RPC error may come with an HTTP error status; the body decides.
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Sent::Transport(e.to_string()),
        };
        let status = resp.status();
        let mut text = Vec::new();
        if let Err(e) = resp.into_reader().take(MAX_REPLY).read_to_end(&mut text) {
            return Sent::Transport(e.to_string());
        }
        match serde_json::from_slice::<Value>(&text) {
            Ok(v) => classify(&v).unwrap_or_else(|| {
                Sent::Transport(format!("HTTP {status}: not a JSON-RPC answer"))
            }),
            Err(_) => Sent::Transport(format!("HTTP {status}: body is not JSON")),
        }
    }
}

/// Reads a JSON-RPC reply: a result is acceptance, an "already known" error too, any other
/// error a rejection of this transaction. `None`: not a JSON-RPC reply.
fn classify(v: &Value) -> Option<Sent> {
    if let Some(r) = v.get("result")
        && !r.is_null()
    {
        let detail = r.as_str().map_or_else(|| r.to_string(), str::to_owned);
        return Some(Sent::Answered(ForwardResult::Accepted { detail }));
    }
    let e = v.get("error")?;
    let code = e.get("code").and_then(Value::as_i64).unwrap_or(0);
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let lower = message.to_ascii_lowercase();
    if ["already known", "already imported", "known transaction"]
        .iter()
        .any(|k| lower.contains(k))
    {
        return Some(Sent::Answered(ForwardResult::Accepted { detail: message }));
    }
    Some(Sent::Answered(ForwardResult::Rejected { code, message }))
}

/// The JSON form of a forwarding result (for `GET /v1/transactions/{id}`).
pub fn result_json(r: &ForwardResult) -> Value {
    match r {
        ForwardResult::Accepted { detail } => json!({ "status": "accepted", "result": detail }),
        ForwardResult::Rejected { code, message } => {
            json!({ "status": "rejected", "code": code, "message": message })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use veil_protocol::{Commitment, Opening, OrderCertificate, PlaintextItem};
    use veil_threshold::SigningKey;

    use super::*;
    use crate::fake_rpc::FakeRpc;

    /// Delivered batches held in memory (the forwarder only reads them).
    #[derive(Default)]
    struct Mem(Mutex<BTreeMap<u64, PlaintextBatch>>);

    use std::sync::Mutex;

    impl Delivered for Mem {
        fn delivered(&self, slot: u64) -> Result<Option<PlaintextBatch>, StorageError> {
            Ok(self.0.lock().unwrap().get(&slot).cloned())
        }
    }

    /// A batch whose items are `Some(raw)` (decrypted) or `None` (invalid).
    fn batch(slot: u64, items: &[Option<&[u8]>]) -> PlaintextBatch {
        let mut rng = ChaCha20Rng::seed_from_u64(slot);
        let key = SigningKey::generate(&mut rng);
        let signature =
            veil_threshold::certificate::aggregate(1, &[(0, key.sign(b"test"))]).unwrap();
        let items: Vec<PlaintextItem> = items
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                let mut id = [0u8; 32];
                id[..8].copy_from_slice(&slot.to_be_bytes());
                id[8] = i as u8;
                PlaintextItem {
                    id: TxId(id),
                    outcome: raw.map_or(Outcome::Invalid, |r| Outcome::Decrypted(r.to_vec())),
                    opening: Opening::Committee,
                }
            })
            .collect();
        PlaintextBatch {
            chain_id: 7,
            slot,
            commitment: Commitment([slot as u8; 32]),
            certificate: OrderCertificate {
                slot,
                parent: Commitment::genesis(),
                commitment: Commitment([slot as u8; 32]),
                signature,
            },
            items,
            shares: Vec::new(),
            chains: vec![],
        }
    }

    fn hex0x(b: &[u8]) -> String {
        format!("0x{}", hex::encode(b))
    }

    struct Setup {
        dir: std::path::PathBuf,
        rpc: FakeRpc,
        config: ForwardConfig,
    }

    impl Drop for Setup {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn setup(name: &str) -> Setup {
        let dir = std::env::temp_dir().join(format!("veil-fwd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let rpc = FakeRpc::start();
        let config = ForwardConfig {
            rpc_url: rpc.url.clone(),
            member: 1,
            timeout_ms: 2_000,
            max_backoff_ms: 200,
        };
        Setup { dir, rpc, config }
    }

    /// Steps until the cursor reaches `until` (bounded).
    fn forward_until<D: Delivered>(f: &mut Forwarder<'_, D>, s: &Storage, until: (u64, u32)) {
        let stop = AtomicBool::new(false);
        for _ in 0..1000 {
            if s.forward_cursor(CURSOR).unwrap() == Some(until) {
                return;
            }
            f.step(&stop).unwrap();
        }
        panic!(
            "cursor never reached {until:?}: {:?}",
            s.forward_cursor(CURSOR)
        );
    }

    #[test]
    fn forwards_in_certified_order_skips_invalid_and_records_per_tx_errors() {
        let su = setup("order");
        let storage = Storage::open(su.dir.join("db.redb")).unwrap();
        let mem = Mem::default();
        let b1 = batch(1, &[Some(b"a1"), None, Some(b"a3"), Some(b"nonce-low")]);
        let b2 = batch(2, &[None, Some(b"b2"), Some(b"b3")]);
        mem.0.lock().unwrap().insert(1, b1.clone());
        mem.0.lock().unwrap().insert(2, b2.clone());
        su.rpc
            .script
            .errors
            .lock()
            .unwrap()
            .insert(hex0x(b"nonce-low"), (-32000, "nonce too low".into()));
        let metrics = ForwardMetrics::default();
        let mut f = Forwarder::new(&su.config, &mem, &storage, &metrics);
        forward_until(&mut f, &storage, (3, 0));
        // Every request, in order: the invalid items never reach the endpoint, the refused
        // one is sent once and does not stall what follows.
        let received: Vec<String> = su
            .rpc
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|(r, _)| r.clone())
            .collect();
        let want: Vec<String> = [&b"a1"[..], b"a3", b"nonce-low", b"b2", b"b3"]
            .iter()
            .map(|r| hex0x(r))
            .collect();
        assert_eq!(received, want);
        // Per-item results are stored.
        assert!(matches!(
            storage.forwarded(&b1.items[0].id).unwrap(),
            Some(ForwardResult::Accepted { .. })
        ));
        assert_eq!(
            storage.forwarded(&b1.items[3].id).unwrap(),
            Some(ForwardResult::Rejected {
                code: -32000,
                message: "nonce too low".into()
            })
        );
        assert_eq!(storage.forwarded(&b1.items[1].id).unwrap(), None);
        assert_eq!(storage.forwarded(&b2.items[0].id).unwrap(), None);
        assert_eq!(metrics.accepted.load(Ordering::Relaxed), 4);
        assert_eq!(metrics.rejected.load(Ordering::Relaxed), 1);
        assert_eq!(metrics.skipped_invalid.load(Ordering::Relaxed), 2);
        // Nothing more is delivered: the forwarder waits without sending.
        let stop = AtomicBool::new(false);
        assert!(!f.step(&stop).unwrap());
        assert_eq!(su.rpc.received.lock().unwrap().len(), 5);
    }

    #[test]
    fn transport_errors_retry_the_same_item_without_reordering() {
        let su = setup("transport");
        let storage = Storage::open(su.dir.join("db.redb")).unwrap();
        let mem = Mem::default();
        mem.0
            .lock()
            .unwrap()
            .insert(1, batch(1, &[Some(b"t1"), Some(b"t2")]));
        su.rpc.script.drop_next.store(2, Ordering::SeqCst);
        su.rpc.script.unavailable_next.store(1, Ordering::SeqCst);
        let metrics = ForwardMetrics::default();
        let mut f = Forwarder::new(&su.config, &mem, &storage, &metrics);
        forward_until(&mut f, &storage, (2, 0));
        assert_eq!(su.rpc.accepted(), vec![hex0x(b"t1"), hex0x(b"t2")]);
        assert_eq!(metrics.transport_errors.load(Ordering::Relaxed), 3);
        assert_eq!(metrics.accepted.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn cursor_is_durable_and_a_resend_after_a_crash_counts_as_accepted() {
        let su = setup("durable");
        let path = su.dir.join("db.redb");
        let mem = Mem::default();
        let b1 = batch(1, &[Some(b"c1"), Some(b"c2")]);
        mem.0.lock().unwrap().insert(1, b1.clone());
        {
            let storage = Storage::open(&path).unwrap();
            let metrics = ForwardMetrics::default();
            let mut f = Forwarder::new(&su.config, &mem, &storage, &metrics);
            forward_until(&mut f, &storage, (2, 0));
        }
        // Restart: the cursor survived, slot 1 is not sent again; slot 2 follows.
        mem.0.lock().unwrap().insert(2, batch(2, &[Some(b"c3")]));
        {
            let storage = Storage::open(&path).unwrap();
            assert_eq!(storage.forward_cursor(CURSOR).unwrap(), Some((2, 0)));
            let metrics = ForwardMetrics::default();
            let mut f = Forwarder::new(&su.config, &mem, &storage, &metrics);
            forward_until(&mut f, &storage, (3, 0));
            assert_eq!(
                su.rpc.accepted(),
                vec![hex0x(b"c1"), hex0x(b"c2"), hex0x(b"c3")]
            );
            // A crash after the endpoint accepted c2 but before the cursor moved: the
            // cursor is back at (1, 1). The resend is answered "already known", which
            // counts as accepted, and the stream goes on in order.
            storage.record_forwarded(CURSOR, None, (1, 1)).unwrap();
        }
        let storage = Storage::open(&path).unwrap();
        let metrics = ForwardMetrics::default();
        let mut f = Forwarder::new(&su.config, &mem, &storage, &metrics);
        forward_until(&mut f, &storage, (3, 0));
        let received = su.rpc.received.lock().unwrap().clone();
        let tail: Vec<String> = received[3..].iter().map(|(r, _)| r.clone()).collect();
        assert_eq!(tail, vec![hex0x(b"c2"), hex0x(b"c3")]);
        assert!(received.iter().all(|(_, ok)| *ok));
        assert_eq!(metrics.accepted.load(Ordering::Relaxed), 2);
        match storage.forwarded(&b1.items[1].id).unwrap() {
            Some(ForwardResult::Accepted { detail }) => assert_eq!(detail, "already known"),
            other => panic!("{other:?}"),
        }
    }
}
