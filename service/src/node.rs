//! One committee member: the protocol of `veil-protocol` driven over `veil-storage`, with
//! the built-in sequencer and the member-to-member transport.
//!
//! # Flow and durability
//!
//! - **Submission** ([`Node::submit`]): envelopes are validated (threshold proofs in one
//!   batched check), inserted durably ([`Storage::insert_envelopes`] commits with
//!   `Durability::Immediate`), and only then is the receipt signed and returned. A request
//!   with any bad item is refused whole, before any write. A replayed envelope (one already
//!   stored) is refused with `already_known` and changes nothing.
//! - **Gossip**: new envelopes are sent to every other member in `Ciphertexts` messages (one
//!   per flush, not per transaction), sealed with the pairwise link MAC once the link
//!   handshake with that member is done ([`crate::link`]), signed before that. Shares travel
//!   the same way; proposals, votes and certificates are always signed. A send that fails
//!   is retried until the member takes it ([`Node::flush_gossip`]), since gossip is how an
//!   envelope acknowledged here reaches the sequencer.
//! - **Proposal driving** ([`Node::drive`]): whoever receives a proposal (the built-in
//!   sequencer in its own process, or any member for an external sequencer's proposal) sends
//!   it to every member; each reply is a vote, or a refusal naming the envelopes the member
//!   lacks (they are sent and the proposal retried), or the member's certified tip when it is
//!   behind (the missing certificates are sent first). Votes aggregate in a
//!   [`CertificateBuilder`]; the certificate is then recorded locally and broadcast.
//! - **Voting** ([`Node::on_proposal`]): [`VoteGuard::decide`] applies the rule; the intent
//!   is written durably ([`Storage::record_vote_intent`]) **before** the vote is signed, and
//!   a failed write means no vote.
//! - **Release** ([`Node::on_certificate`]): the certificate must pass
//!   [`ReleaseGuard::authorize`] for exactly the batch, and is stored durably; shares are then
//!   computed from the [`veil_protocol::ReleaseAuthorization`] (the only way to create a
//!   [`SharesMessage`]), stored durably, and only then sent. The counter
//!   `veil_shares_released_total` and the log line `shares released` follow a stored
//!   certificate.
//! - **Opening** ([`Node::try_open`]): with `t` share messages for a certified slot, the batch
//!   is combined in certified order (bad shares excluded by the combiner), the plaintext batch
//!   stored, and the stream notified.
//! - **Shares received** are authenticated (the message signature) and shape-checked
//!   ([`SharesMessage::peek`]: slot, commitment, member, count, length), then stored as they
//!   arrived; their points — a square root and a subgroup check each, the largest per-item
//!   cost of a member — are validated only for the `t − 1` messages combined next to our own,
//!   and for the others only if combining with those fails. Nothing unvalidated is ever
//!   combined, published or answered with: the decode is the same full check, just later.
//!
//! - **Puzzles** (delay and dual items, when delay parameters are configured): after
//!   certification the slot's puzzles are queued for the solver thread ([`crate::solver`]):
//!   delay-only items at once, dual items after a grace period. A sender may instead reveal
//!   the puzzle exponent ([`Node::reveal`], `POST /v1/reveal`): it is checked against the
//!   ciphertext (two fixed-base exponentiations), stored durably, and passed on to every
//!   other member. A stored reveal or solution settles the item in [`Node::try_open`]; a
//!   dual item opens by whichever of shares, solution or reveal is there first. The slot's
//!   plaintext batch is stored — and so delivered, in slot order — once every item is
//!   settled.
//!
//! # Why reveals are passed on between members
//!
//! Every member must settle every item to store (and serve, and stream) the slot's
//! plaintext; a sender typically reaches one member. Without passing the reveal on, the
//! other members would spend `T` squarings each on a puzzle whose key is already public. A
//! reveal authenticates itself (it opens exactly this puzzle: `g^a = ±o`), so it travels
//! over the public route and needs no member signature; a member that has not yet stored
//! the certificate answers `not_certified` and the sender retries for a while.
//!
//! Every ciphertext id gets a `tx` span (`id = …`) around its admission, reveal, solving
//! and forwarding, inside the `slot` span where there is one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use thiserror::Error;
use tokio::sync::watch;
use tracing::{debug, debug_span, info, info_span, warn};
use veil_protocol::message::MAX_GOSSIP_ENVELOPES;
use veil_protocol::{
    Batch, CertificateBuilder, Commitment, EnvelopeError, MemberMessage, MessageError, MessageKind,
    OrderCertificate, Outcome, PlaintextBatch, Progress, Proposal, Receipt, ReceiptSubject,
    Refusal, ReleaseAuthorization, ReleaseGuard, SequencerId, SharesHeader, SharesMessage,
    SignedMessage, TxId, ValidatedBody, ValidatedEnvelope, ValidationContext, Vote, VoteGuard,
    validate_batch,
};
use veil_storage::{Storage, StorageError};

use crate::config::{MemberKeys, PeerConfig, SolverConfig};
use crate::link::{self, Links};
use crate::metrics::Metrics;
use crate::peer::PeerClient;
use crate::solver::{Job, SolverQueue};

/// Why the node refused a request. The API maps each to a status and a stable code.
#[derive(Debug, Error)]
pub enum NodeError {
    /// Undecodable or structurally wrong input.
    #[error("{0}")]
    Malformed(String),
    /// A body or item over its size limit.
    #[error("{0}")]
    TooLarge(String),
    /// An envelope failed validation.
    #[error("item {index}: {error}")]
    Envelope {
        /// Position in the request.
        index: usize,
        /// Why.
        error: EnvelopeError,
    },
    /// The envelope is already stored here (a replay); nothing changed.
    #[error("envelope {0} already known")]
    AlreadyKnown(TxId),
    /// A member message from an index outside the committee.
    #[error("unknown sender {0}")]
    UnknownSender(u32),
    /// A signature does not verify.
    #[error("invalid signature")]
    BadSignature,
    /// The vote rule refused the proposal.
    #[error("vote refused: {0}")]
    Refused(Refusal),
    /// A certificate for a batch this member has not seen.
    #[error("unknown batch for slot {0}")]
    UnknownBatch(u64),
    /// A certificate that does not verify or match its batch.
    #[error("bad certificate: {0}")]
    BadCertificate(String),
    /// A shares message that is inconsistent.
    #[error("bad shares: {0}")]
    BadShares(String),
    /// A message kind this endpoint does not take.
    #[error("unexpected {0} message")]
    Unexpected(&'static str),
    /// Nothing stored under this key.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A durable write or read failed: the operation did not happen.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// Not enough members answered.
    #[error("{0}")]
    Unavailable(String),
    /// Delay mode is off (no delay parameters configured).
    #[error("delay mode not enabled")]
    DelayDisabled,
    /// A reveal for an item that has no puzzle (a threshold-only envelope).
    #[error("transaction {0} has no time-lock puzzle")]
    NotPuzzle(TxId),
    /// A reveal for an item not yet in a certified batch here: revealing before the order
    /// is fixed would expose it, so it is refused.
    #[error("transaction {0} is not certified yet")]
    NotCertified(TxId),
    /// A reveal that does not open the item's puzzle.
    #[error("reveal does not open the puzzle of {0}")]
    BadReveal(TxId),
    /// The item is already settled; nothing changed.
    #[error("transaction {0} already settled")]
    AlreadySettled(TxId),
    /// An envelope refused by its rollup's admission policy (size, fee, bundle tag).
    #[error("item {index}: {error}")]
    Admission {
        /// Position in the request.
        index: usize,
        /// Why.
        error: crate::rollups::AdmissionError,
    },
    /// A bundle submission that is not exactly one whole bundle.
    #[error("bad bundle: {0}")]
    BadBundle(veil_protocol::BundleError),
    /// A proposal this member will not vote for: its rollup listing, a rollup's limit or
    /// its bundles (see [`crate::rollups::Rollups::check_batch`]).
    #[error("batch refused: {0}")]
    BadBatch(crate::rollups::BatchCheckError),
    /// The rollup is not served here.
    #[error("rollup {0} not served")]
    UnknownRollup(u64),
}

impl From<MessageError> for NodeError {
    fn from(e: MessageError) -> Self {
        match e {
            MessageError::UnknownSender { from, .. } => NodeError::UnknownSender(from),
            MessageError::InvalidSignature => NodeError::BadSignature,
            other => NodeError::Malformed(other.to_string()),
        }
    }
}

/// Static settings of a node.
pub struct NodeSettings {
    /// This member.
    pub member: u32,
    /// Service domain.
    pub chain_id: u64,
    /// Chain ids accepted in labels.
    pub label_chain_ids: Vec<u64>,
    /// Other members.
    pub peers: Vec<PeerConfig>,
    /// Largest batch proposed.
    pub max_batch: usize,
    /// The puzzle solver.
    pub solver: SolverConfig,
    /// The rollups served (multi-rollup mode when non-empty).
    pub rollups: crate::rollups::Rollups,
}

/// One committee member's running state. Shared behind an `Arc`.
pub struct Node {
    /// Settings.
    pub settings: NodeSettings,
    /// Keys and committee.
    pub keys: MemberKeys,
    /// The database.
    pub storage: Storage,
    /// Metrics.
    pub metrics: Metrics,
    guard: Mutex<VoteGuard>,
    release: ReleaseGuard,
    cache: Mutex<HashMap<TxId, ValidatedEnvelope>>,
    arrivals: Mutex<HashMap<TxId, Instant>>,
    seen: Mutex<BTreeMap<(u64, Commitment), Proposal>>,
    certified_at: Mutex<HashMap<u64, Instant>>,
    opening: Mutex<()>,
    driving: Mutex<()>,
    gossip: Mutex<Vec<Vec<u8>>>,
    client: PeerClient,
    delivered: watch::Sender<u64>,
    worker: Mutex<Option<mpsc::Sender<Work>>>,
    opened: Mutex<HashSet<u64>>,
    /// Members whose shares arrived, per slot, since start (decoding stored share messages
    /// validates every point, so the count is checked here first).
    share_senders: Mutex<HashMap<u64, HashSet<u32>>>,
    /// Certified slots whose shares wait for missing envelopes.
    awaiting_envelopes: Mutex<HashSet<u64>>,
    /// Work for the solver thread.
    pub solver_queue: SolverQueue,
    /// Slots whose puzzles were queued (once per process).
    puzzles_queued: Mutex<HashSet<u64>>,
    /// Per slot with puzzle items, the positions still unsettled after the last opening
    /// attempt (the solver skips the others).
    unsettled: Mutex<HashMap<u64, HashSet<usize>>>,
    /// Set to stop background loops.
    pub stopping: AtomicBool,
    /// The first database I/O failure, if one happened (sticky: redb refuses every later
    /// transaction until the database is reopened, so the member needs a restart).
    storage_failure: Mutex<Option<String>>,
    /// Envelopes whose gossip to a member failed, by member (see [`Node::flush_gossip`]).
    gossip_retry: Mutex<HashMap<u32, Vec<Vec<u8>>>>,
    /// Members with a gossip retry in flight.
    gossip_retry_busy: Mutex<HashSet<u32>>,
    /// When gossip was last retried.
    gossip_retry_last: Mutex<Option<Instant>>,
    /// When a repeated share message was last answered, by slot and member.
    shares_answered: Mutex<HashMap<(u64, u32), Instant>>,
    /// Pairwise MAC keys for envelopes and shares ([`crate::link`]).
    links: Arc<Links>,
    /// Slots whose own shares were released (or had nothing to share) in this process. A
    /// slot's validated envelopes stay cached until then even if the slot opens first (from
    /// other members' shares), so computing our shares never re-validates them from storage.
    released: Mutex<HashSet<u64>>,
    /// Highest slot `s` such that this member holds the certificates of every slot `1..=s`
    /// (a lower bound, advanced lazily by [`Node::contiguous_certified_slot`]).
    contiguous: Mutex<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock means a panic elsewhere; the protected data are caches and guards
    // whose invariants hold between statements, so continuing is sound.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Node {
    /// A node over an opened database; restores the vote guard from it.
    pub fn new(
        settings: NodeSettings,
        keys: MemberKeys,
        storage: Storage,
    ) -> Result<Arc<Self>, NodeError> {
        let guard = storage.restore_guard(settings.chain_id)?;
        let release = ReleaseGuard::new(keys.bls_keys.clone(), keys.config.quorum as usize);
        let last = storage.last_certified()?.slot.unwrap_or(0);
        let (delivered, _) = watch::channel(last);
        info!(
            member = settings.member,
            last_certified = last,
            "vote guard restored from storage"
        );
        Ok(Arc::new(Self {
            settings,
            keys,
            storage,
            metrics: Metrics::default(),
            guard: Mutex::new(guard),
            release,
            cache: Mutex::new(HashMap::new()),
            arrivals: Mutex::new(HashMap::new()),
            seen: Mutex::new(BTreeMap::new()),
            certified_at: Mutex::new(HashMap::new()),
            opening: Mutex::new(()),
            driving: Mutex::new(()),
            gossip: Mutex::new(Vec::new()),
            client: PeerClient::new(),
            delivered,
            worker: Mutex::new(None),
            opened: Mutex::new(HashSet::new()),
            share_senders: Mutex::new(HashMap::new()),
            awaiting_envelopes: Mutex::new(HashSet::new()),
            solver_queue: SolverQueue::default(),
            puzzles_queued: Mutex::new(HashSet::new()),
            unsettled: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            storage_failure: Mutex::new(None),
            gossip_retry: Mutex::new(HashMap::new()),
            gossip_retry_busy: Mutex::new(HashSet::new()),
            gossip_retry_last: Mutex::new(None),
            shares_answered: Mutex::new(HashMap::new()),
            links: Arc::new(Links::default()),
            released: Mutex::new(HashSet::new()),
            contiguous: Mutex::new(0),
        }))
    }

    /// Queues every pending (uncertified) envelope for gossip, so envelopes that only this
    /// member held before a restart reach the others (and the sequencer).
    pub fn regossip_pending(&self) -> Result<usize, NodeError> {
        let ids = self.storage.pending(usize::MAX)?;
        let mut encs = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(e) = self.storage.envelope(id)? {
                encs.push(e.encoding);
            }
        }
        let n = encs.len();
        lock(&self.gossip).extend(encs);
        Ok(n)
    }

    /// Starts the background worker that releases shares and opens batches, so message
    /// handlers reply without waiting for combining. Without it, work runs inline.
    pub fn start_worker(self: &Arc<Self>) -> std::thread::JoinHandle<()> {
        let (tx, rx) = mpsc::channel();
        *lock(&self.worker) = Some(tx);
        let node = self.clone();
        std::thread::spawn(move || {
            while !node.stopping.load(Ordering::Relaxed) {
                if let Ok(w) = rx.recv_timeout(Duration::from_millis(100)) {
                    node.work(w);
                }
            }
        })
    }

    fn schedule(&self, w: Work) {
        let w = match lock(&self.worker).as_ref() {
            // A send fails only when the worker has stopped; the work is then done inline.
            Some(tx) => match tx.send(w) {
                Ok(()) => return,
                Err(mpsc::SendError(w)) => w,
            },
            None => w,
        };
        self.work(w);
    }

    fn work(&self, w: Work) {
        let (kind, slot) = match &w {
            Work::Release(slot) => ("release", *slot),
            Work::ReleaseAuthorized(a) => ("release", a.0.slot()),
            Work::Open(slot) => ("open", *slot),
        };
        let r = match w {
            Work::Release(slot) => self.release_slot(slot),
            Work::ReleaseAuthorized(a) => {
                let (auth, batch) = *a;
                let _span = info_span!("slot", slot).entered();
                self.release_authorized(&auth, &batch)
            }
            Work::Open(slot) => self.try_open(slot),
        };
        if let Err(e) = r {
            self.note_storage_error(&e);
            warn!(error = %e, kind, slot, "background work failed");
        }
    }

    /// Records a database I/O failure (a failed or refused write or read): counted as
    /// rejection code `storage`, logged as an error, and reported by `/healthz` (503) from
    /// then on. The operation itself already failed and changed nothing; other errors are
    /// ignored here.
    pub fn note_storage_error(&self, e: &NodeError) {
        if let NodeError::Storage(StorageError::Database(db)) = e {
            self.metrics.reject("storage");
            tracing::error!(error = %db, "storage failure: operation refused; restart the member once the disk is writable");
            lock(&self.storage_failure).get_or_insert_with(|| db.to_string());
        }
    }

    /// The first database I/O failure since start, if any.
    pub fn storage_failure(&self) -> Option<String> {
        lock(&self.storage_failure).clone()
    }

    /// Releases shares for a slot whose certificate is stored (re-authorized from storage).
    fn release_slot(&self, slot: u64) -> Result<(), NodeError> {
        let _span = info_span!("slot", slot).entered();
        let (Some(c), Some(batch)) = (
            self.storage.certificate(slot)?,
            self.storage.certified_batch(slot)?,
        ) else {
            return Ok(());
        };
        let auth = self
            .release
            .authorize(&c, &batch)
            .map_err(|e| NodeError::BadCertificate(e.to_string()))?;
        self.release_authorized(&auth, &batch)
    }

    /// Releases shares under an authorization (from [`Node::on_certificate`], which has just
    /// verified and stored the certificate, or re-made from storage), then tries to open.
    fn release_authorized(
        &self,
        auth: &ReleaseAuthorization,
        batch: &Batch,
    ) -> Result<(), NodeError> {
        let slot = auth.slot();
        let released = self.release_shares(auth, batch)?;
        if let Some(envs) = self.envelopes_for(&batch.ids)? {
            self.queue_puzzles(slot, &envs);
        }
        let r = self.try_open(slot);
        if released {
            lock(&self.released).insert(slot);
            // Opened before our release (from others' shares): the cache was kept for us.
            if lock(&self.opened).contains(&slot) {
                let mut cache = lock(&self.cache);
                for id in &batch.ids {
                    cache.remove(id);
                }
            }
        }
        r
    }

    /// Queues the solver for the puzzles of a certified slot (once per process): delay-only
    /// items now, dual items after the grace period.
    fn queue_puzzles(&self, slot: u64, envs: &[ValidatedEnvelope]) {
        if self.keys.delay_params.is_none() || !self.settings.solver.enabled {
            return;
        }
        let (mut delay, mut dual) = (Vec::new(), Vec::new());
        for (i, e) in envs.iter().enumerate() {
            match e.body() {
                ValidatedBody::Delay { .. } => delay.push((i, e.id())),
                ValidatedBody::Dual { .. } => dual.push((i, e.id())),
                ValidatedBody::Threshold(_) => {}
            }
        }
        if (delay.is_empty() && dual.is_empty()) || !lock(&self.puzzles_queued).insert(slot) {
            return;
        }
        let now = Instant::now();
        if !delay.is_empty() {
            debug!(
                slot,
                puzzles = delay.len(),
                "delay puzzles queued for the solver"
            );
            self.solver_queue.push(Job {
                slot,
                items: delay,
                not_before: now,
            });
        }
        if !dual.is_empty() {
            self.solver_queue.push(Job {
                slot,
                items: dual,
                not_before: now + Duration::from_millis(self.settings.solver.dual_grace_ms),
            });
        }
    }

    /// Whether item `index` (`id`) of `slot` still needs a puzzle opening: the slot is not
    /// opened, no reveal or solution is stored for it, and the last opening attempt left it
    /// unsettled (or none was made yet).
    pub fn puzzle_needed(&self, slot: u64, index: usize, id: &TxId) -> bool {
        if lock(&self.opened).contains(&slot) {
            return false;
        }
        if let Some(u) = lock(&self.unsettled).get(&slot)
            && !u.contains(&index)
        {
            return false;
        }
        match self.storage.opening(id) {
            Ok(Some(_)) => false,
            Ok(None) => !matches!(self.storage.has_plaintext(slot), Ok(true)),
            Err(_) => true,
        }
    }

    /// A puzzle opening of `slot` was stored: try to open it.
    pub fn puzzles_settled(&self, slot: u64) {
        self.schedule(Work::Open(slot));
    }

    /// Envelopes for `ids` in order (validated), `None` if one is not held.
    pub fn envelopes_for_ids(
        &self,
        ids: &[TxId],
    ) -> Result<Option<Vec<ValidatedEnvelope>>, NodeError> {
        self.envelopes_for(ids)
    }

    /// Re-queues the work of every certified slot without a plaintext batch (after a
    /// restart): shares are re-sent, puzzles re-queued, the slot opened when it can be.
    pub fn resume(&self) -> Result<usize, NodeError> {
        let mut from = 1;
        let mut n = 0;
        loop {
            let slots = self.storage.certified_slots(from, 1024)?;
            let Some(&last) = slots.last() else {
                return Ok(n);
            };
            for slot in slots {
                if !self.storage.has_plaintext(slot)? {
                    n += 1;
                    self.schedule(Work::Release(slot));
                }
            }
            from = last + 1;
        }
    }

    /// Checks a sender's reveal of item `id`'s puzzle exponent, stores it durably, and
    /// settles the item. Returns the item's (slot, index). A reveal that does not open the
    /// puzzle changes nothing.
    pub fn reveal(&self, id: TxId, reveal: Vec<u8>) -> Result<(u64, u32), NodeError> {
        let _span = info_span!("tx", id = %id).entered();
        let params = self
            .keys
            .delay_params
            .as_ref()
            .ok_or(NodeError::DelayDisabled)?;
        let Some(pos) = self.storage.position(&id)? else {
            if self.storage.has_envelope(&id)? {
                self.metrics.reject("not_certified");
                return Err(NodeError::NotCertified(id));
            }
            return Err(NodeError::NotFound("transaction"));
        };
        let envs = self
            .envelopes_for(&[id])?
            .ok_or(NodeError::NotFound("transaction"))?;
        let env = &envs[0];
        if matches!(env.body(), ValidatedBody::Threshold(_)) {
            self.metrics.reject("not_a_puzzle");
            return Err(NodeError::NotPuzzle(id));
        }
        if self.storage.opening(&id)?.is_some() || self.storage.has_plaintext(pos.slot)? {
            return Err(NodeError::AlreadySettled(id));
        }
        let opening = veil_protocol::Opening::Reveal(reveal);
        // Checks g^a = ±o (and decrypts; a payload that fails to decrypt under the correct
        // key will mark the item invalid, which is the sender's own doing).
        veil_protocol::plaintext::open_with_puzzle(pos.index as usize, env, params, &opening)
            .map_err(|_| {
                self.metrics.reject("bad_reveal");
                NodeError::BadReveal(id)
            })?;
        if !self.storage.record_opening(&id, &opening)? {
            return Err(NodeError::AlreadySettled(id));
        }
        self.metrics.solver.reveals.fetch_add(1, Ordering::Relaxed);
        info!(slot = pos.slot, index = pos.index, "reveal stored");
        if let veil_protocol::Opening::Reveal(bytes) = opening {
            self.pass_on_reveal(id, bytes);
        }
        self.schedule(Work::Open(pos.slot));
        Ok((pos.slot, pos.index))
    }

    /// Sends a verified reveal to every other member's public reveal route, retrying while
    /// a member has not yet stored the certificate (about 30 s at most).
    fn pass_on_reveal(&self, id: TxId, reveal: Vec<u8>) {
        let body =
            serde_json::json!({ "id": id.to_hex(), "reveal": hex::encode(&reveal) }).to_string();
        for peer in self.others() {
            let (url, body) = (format!("{}/v1/reveal", peer.url), body.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(5))
                    .build();
                for attempt in 0..30 {
                    let r = agent
                        .post(&url)
                        .set("content-type", "application/json")
                        .send_string(&body);
                    let retry = match r {
                        Ok(_) => false,
                        Err(ureq::Error::Status(409, resp)) => resp
                            .into_string()
                            .is_ok_and(|t| t.contains("not_certified")),
                        Err(ureq::Error::Status(..)) => false,
                        Err(_) => attempt < 5,
                    };
                    if !retry {
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            });
        }
    }

    /// This member's index.
    pub fn member(&self) -> u32 {
        self.settings.member
    }

    /// Last certified slot (0 before the first).
    pub fn last_certified_slot(&self) -> Result<u64, NodeError> {
        Ok(self.storage.last_certified()?.slot.unwrap_or(0))
    }

    /// The highest slot up to which this member holds every certificate. Lower than
    /// [`Node::last_certified_slot`] when a certificate arrived while an earlier one was
    /// missed (the member was down or cut off when that slot was certified): such a member
    /// must be caught up on the gap, or it never opens those slots.
    pub fn contiguous_certified_slot(&self) -> Result<u64, NodeError> {
        let mut c = lock(&self.contiguous);
        loop {
            let slots = self.storage.certified_slots(*c + 1, 1024)?;
            let before = *c;
            for s in slots {
                if s != *c + 1 {
                    break;
                }
                *c = s;
            }
            if *c == before || *c < before + 1024 {
                return Ok(*c);
            }
        }
    }

    /// A receiver notified whenever a plaintext batch is stored.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.delivered.subscribe()
    }

    fn ctx(&self, current_slot: u64) -> ValidationContext<'_> {
        ValidationContext {
            committee_key: self.keys.threshold_key.public_key(),
            delay_params: self.keys.delay_params.as_ref(),
            chain_ids: &self.settings.label_chain_ids,
            current_slot,
        }
    }

    // ---- submissions ------------------------------------------------------------------------

    /// Validates, stores durably, then acknowledges envelopes. `bulk` receipts cover the
    /// Merkle root of the ids; a single submission's receipt names its id.
    pub fn submit(
        &self,
        encodings: Vec<Vec<u8>>,
        bulk: bool,
    ) -> Result<(Vec<TxId>, Receipt), NodeError> {
        self.submit_checked(encodings, bulk, false)
    }

    /// Admits one bundle atomically: every member validates, passes its rollup's admission
    /// and the bundle is whole and in order, then all are stored in one durable write — or
    /// nothing is. The receipt covers the ids' Merkle root, as for bulk submissions.
    pub fn submit_bundle(
        &self,
        encodings: Vec<Vec<u8>>,
    ) -> Result<(Vec<TxId>, Receipt), NodeError> {
        self.submit_checked(encodings, true, true)
    }

    fn submit_checked(
        &self,
        encodings: Vec<Vec<u8>>,
        bulk: bool,
        whole_bundle: bool,
    ) -> Result<(Vec<TxId>, Receipt), NodeError> {
        if encodings.is_empty() {
            return Err(NodeError::Malformed("no envelopes".into()));
        }
        if let Some((i, e)) = encodings
            .iter()
            .enumerate()
            .find(|(_, e)| e.len() > veil_protocol::MAX_ENVELOPE)
        {
            return Err(NodeError::TooLarge(format!(
                "item {i}: envelope of {} bytes, limit {}",
                e.len(),
                veil_protocol::MAX_ENVELOPE
            )));
        }
        let current = self.last_certified_slot()? + 1;
        let refs: Vec<&[u8]> = encodings.iter().map(Vec::as_slice).collect();
        let mut validated = Vec::with_capacity(refs.len());
        for (index, r) in validate_batch(&self.ctx(current), &refs)
            .into_iter()
            .enumerate()
        {
            match r {
                Ok(v) => validated.push(v),
                Err(error) => {
                    self.metrics.reject(envelope_code(&error));
                    return Err(NodeError::Envelope { index, error });
                }
            }
        }
        for (index, v) in validated.iter().enumerate() {
            if let Err(error) = self.settings.rollups.admit(v, index) {
                self.metrics.reject("rollup_admission");
                return Err(NodeError::Admission { index, error });
            }
        }
        if whole_bundle && let Err(e) = veil_protocol::bundle::check_one_bundle(&validated) {
            self.metrics.reject("bad_bundle");
            return Err(NodeError::BadBundle(e));
        }
        let ids: Vec<TxId> = validated.iter().map(ValidatedEnvelope::id).collect();
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() != ids.len() {
            self.metrics.reject("duplicate_in_request");
            return Err(NodeError::Malformed("duplicate envelope in request".into()));
        }
        if !bulk && self.storage.has_envelope(&ids[0])? {
            self.metrics.reject("already_known");
            return Err(NodeError::AlreadyKnown(ids[0]));
        }
        // Durable before acknowledged.
        let inserted = self
            .storage
            .insert_envelopes(&validated.iter().collect::<Vec<_>>())?;
        let now = Instant::now();
        let mut new = 0u64;
        {
            let mut cache = lock(&self.cache);
            let mut arrivals = lock(&self.arrivals);
            let mut gossip = lock(&self.gossip);
            for (v, ins) in validated.into_iter().zip(&inserted) {
                if ins.is_new() {
                    new += 1;
                    arrivals.insert(v.id(), now);
                    gossip.push(v.encoding().to_vec());
                    let _tx = debug_span!("tx", id = %v.id()).entered();
                    debug!(
                        mode = v.envelope().mode(),
                        "envelope stored; receipt follows"
                    );
                    cache.insert(v.id(), v);
                }
            }
        }
        if new == 0 {
            self.metrics.reject("already_known");
            return Err(NodeError::AlreadyKnown(ids[0]));
        }
        self.metrics.submissions.fetch_add(new, Ordering::Relaxed);
        let subject = if bulk {
            ReceiptSubject::bulk(&ids)
        } else {
            ReceiptSubject::Transaction(ids[0])
        };
        let receipt = Receipt::sign(&self.keys.signing_key, self.member(), subject);
        Ok((ids, receipt))
    }

    /// Stores gossiped envelopes (valid ones only); returns how many were new.
    fn on_ciphertexts(&self, encodings: &[Vec<u8>]) -> Result<usize, NodeError> {
        // Envelopes in a proposal may have been accepted in an earlier slot window, so
        // gossip is checked without the expiry rule (slot 0); the sender checked it.
        let refs: Vec<&[u8]> = encodings.iter().map(Vec::as_slice).collect();
        let valid: Vec<ValidatedEnvelope> = validate_batch(&self.ctx(0), &refs)
            .into_iter()
            .filter_map(Result::ok)
            .collect();
        if valid.len() != encodings.len() {
            self.metrics.reject("bad_gossip_envelope");
        }
        let inserted = self
            .storage
            .insert_envelopes(&valid.iter().collect::<Vec<_>>())?;
        let now = Instant::now();
        let mut new = 0;
        let mut cache = lock(&self.cache);
        let mut arrivals = lock(&self.arrivals);
        for (v, ins) in valid.into_iter().zip(inserted) {
            if ins.is_new() {
                new += 1;
                let _tx = debug_span!("tx", id = %v.id()).entered();
                debug!("envelope stored from gossip");
                arrivals.insert(v.id(), now);
                cache.insert(v.id(), v);
            }
        }
        self.metrics
            .gossiped
            .fetch_add(new as u64, Ordering::Relaxed);
        drop((cache, arrivals));
        if new > 0 {
            let waiting: Vec<u64> = lock(&self.awaiting_envelopes).drain().collect();
            for slot in waiting {
                self.schedule(Work::Release(slot));
            }
        }
        Ok(new)
    }

    /// Sends queued new envelopes to every other member (one signed message per chunk),
    /// and re-sends envelopes whose gossip to a member failed earlier.
    ///
    /// Gossip is the only way an envelope acknowledged by a member that is not the
    /// sequencer reaches the sequencer, so a failed send (peer unreachable, partitioned,
    /// stalled, or answering 5xx) is retried, at most one attempt in flight per member and
    /// at most once per [`GOSSIP_RETRY_EVERY`], until the member takes it; a 4xx answer
    /// means it looked at the envelopes and is final. At most [`GOSSIP_RETRY_MAX`]
    /// envelopes wait per member (the oldest are dropped first; they stay durable here and
    /// are re-gossiped on restart).
    pub fn flush_gossip(self: &Arc<Self>) {
        let queued = std::mem::take(&mut *lock(&self.gossip));
        for chunk in queued.chunks(MAX_GOSSIP_ENVELOPES) {
            let msg = Arc::new(
                MemberMessage::Ciphertexts(chunk.to_vec())
                    .sign(&self.keys.signing_key, self.member()),
            );
            let chunk = Arc::new(chunk.to_vec());
            for p in self.others() {
                let (node, msg, p, chunk) = (self.clone(), msg.clone(), p.clone(), chunk.clone());
                std::thread::spawn(move || {
                    if !node.gossip_to(&p, &msg) {
                        node.gossip_failed(p.member, chunk.iter().cloned());
                    }
                });
            }
        }
        self.retry_gossip();
    }

    /// Sends one gossip message; whether the member took it (any answer below 500).
    fn gossip_to(&self, p: &PeerConfig, msg: &SignedMessage) -> bool {
        match self.client.send(&p.url, msg) {
            Ok(r) if r.status < 500 => true,
            Ok(r) => {
                debug!(
                    peer = p.member,
                    status = r.status,
                    "gossip refused; will retry"
                );
                false
            }
            Err(e) => {
                debug!(peer = p.member, error = %e, "gossip failed; will retry");
                false
            }
        }
    }

    fn gossip_failed(&self, member: u32, encs: impl Iterator<Item = Vec<u8>>) {
        let mut retry = lock(&self.gossip_retry);
        let q = retry.entry(member).or_default();
        q.extend(encs);
        if q.len() > GOSSIP_RETRY_MAX {
            let excess = q.len() - GOSSIP_RETRY_MAX;
            q.drain(..excess);
            warn!(
                peer = member,
                dropped = excess,
                "gossip retry queue full; oldest envelopes wait for a restart"
            );
        }
    }

    /// Re-sends failed gossip (see [`Node::flush_gossip`]).
    fn retry_gossip(self: &Arc<Self>) {
        {
            let mut last = lock(&self.gossip_retry_last);
            if last.is_some_and(|t| t.elapsed() < GOSSIP_RETRY_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        let due: Vec<(u32, Vec<Vec<u8>>)> = {
            let mut retry = lock(&self.gossip_retry);
            let mut busy = lock(&self.gossip_retry_busy);
            let members: Vec<u32> = retry
                .iter()
                .filter(|(m, q)| !q.is_empty() && !busy.contains(*m))
                .map(|(m, _)| *m)
                .collect();
            members
                .into_iter()
                .filter_map(|m| {
                    busy.insert(m);
                    retry.remove(&m).map(|q| (m, q))
                })
                .collect()
        };
        for (member, encs) in due {
            let Some(peer) = self.others().find(|p| p.member == member).cloned() else {
                lock(&self.gossip_retry_busy).remove(&member);
                continue;
            };
            let node = self.clone();
            std::thread::spawn(move || {
                let mut chunks = encs.chunks(MAX_GOSSIP_ENVELOPES);
                while let Some(chunk) = chunks.next() {
                    let msg = MemberMessage::Ciphertexts(chunk.to_vec())
                        .sign(&node.keys.signing_key, node.member());
                    if !node.gossip_to(&peer, &msg) {
                        let rest = chunk.iter().chain(chunks.flatten()).cloned();
                        node.gossip_failed(member, rest);
                        break;
                    }
                }
                lock(&node.gossip_retry_busy).remove(&member);
            });
        }
    }

    /// Sends to every other member without waiting (a dead peer must not stall the
    /// caller; each send has its own timeout).
    ///
    /// Envelopes and shares go sealed under the link key when the handshake with the peer is
    /// done ([`crate::link`]), signed otherwise (and a handshake is started); a peer that
    /// refuses the seal (it restarted and lost the key) gets the signed message.
    fn broadcast(&self, msg: &SignedMessage) {
        let msg = Arc::new(msg.clone());
        let me = self.member();
        let sealable = matches!(msg.kind, MessageKind::Ciphertexts | MessageKind::Shares);
        for p in self.others() {
            let sealed = if sealable {
                let s = self
                    .links
                    .outgoing(p.member)
                    .and_then(|k| link::seal(&k, me, p.member, msg.kind, &msg.body).ok());
                if s.is_none() {
                    self.start_link(p);
                }
                s
            } else {
                None
            };
            let (client, msg, p) = (self.client.clone(), msg.clone(), p.clone());
            let links = self.links.clone();
            std::thread::spawn(move || {
                if let Some(bytes) = sealed {
                    match client.post(&p.url, "/internal/v1/messages", &bytes) {
                        Ok(r) if r.status == 401 => {
                            debug!(peer = p.member, "link key refused; sending signed");
                            links.forget_outgoing(p.member);
                        }
                        Ok(_) => return,
                        Err(e) => {
                            debug!(peer = p.member, error = %e, "send failed");
                            return;
                        }
                    }
                }
                if let Err(e) = client.send(&p.url, &msg) {
                    debug!(peer = p.member, error = %e, "send failed");
                }
            });
        }
    }

    /// Starts a link handshake with `peer` in the background, unless one is running.
    fn start_link(&self, peer: &PeerConfig) {
        if !self.links.begin_handshake(peer.member) {
            return;
        }
        let (offer, pending) = link::offer(
            &mut OsRng,
            &self.keys.signing_key,
            self.member(),
            peer.member,
        );
        let (client, peer, links) = (self.client.clone(), peer.clone(), self.links.clone());
        let committee = self.keys.bls_keys.clone();
        std::thread::spawn(move || {
            let r = client.post(&peer.url, "/internal/v1/link", &offer);
            match r {
                Ok(reply) if reply.status == 200 => match pending.finish(&committee, &reply.body) {
                    Ok(key) => {
                        debug!(peer = peer.member, "link key established");
                        links.set_outgoing(peer.member, key);
                    }
                    Err(e) => warn!(peer = peer.member, error = %e, "link answer refused"),
                },
                Ok(reply) => debug!(peer = peer.member, status = reply.status, "link refused"),
                Err(e) => debug!(peer = peer.member, error = %e, "link handshake failed"),
            }
            links.end_handshake(peer.member);
        });
    }

    /// Answers a peer's link offer ([`crate::link::answer`]) and keeps the key for its
    /// sealed messages.
    pub fn link_answer(&self, offer: &[u8]) -> Result<Vec<u8>, NodeError> {
        let (reply, from, key) = link::answer(
            &mut OsRng,
            &self.keys.signing_key,
            &self.keys.bls_keys,
            self.member(),
            offer,
        )
        .map_err(|e| {
            self.metrics.reject("bad_link_offer");
            match e {
                link::LinkError::BadSignature => NodeError::BadSignature,
                link::LinkError::WrongParties { from, .. } => NodeError::UnknownSender(from),
                other => NodeError::Malformed(other.to_string()),
            }
        })?;
        self.links.set_incoming(from, key);
        Ok(reply)
    }

    fn others(&self) -> impl Iterator<Item = &PeerConfig> {
        self.settings
            .peers
            .iter()
            .filter(move |p| p.member != self.member())
    }

    /// Envelopes for `ids` in order (from the cache, or re-validated from storage).
    fn envelopes_for(&self, ids: &[TxId]) -> Result<Option<Vec<ValidatedEnvelope>>, NodeError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(v) = lock(&self.cache).get(id) {
                out.push(v.clone());
                continue;
            }
            let Some(stored) = self.storage.envelope(id)? else {
                return Ok(None);
            };
            let v = validate_batch(&self.ctx(0), &[&stored.encoding])
                .pop()
                .and_then(Result::ok);
            let Some(v) = v else {
                warn!(%id, "stored envelope no longer validates");
                return Ok(None);
            };
            lock(&self.cache).insert(*id, v.clone());
            out.push(v);
        }
        Ok(Some(out))
    }

    fn holds(&self, id: &TxId) -> bool {
        lock(&self.cache).contains_key(id) || self.storage.has_envelope(id).unwrap_or(false)
    }

    // ---- member messages --------------------------------------------------------------------

    /// Authenticates and handles one member message; returns the JSON reply.
    pub fn handle_message(&self, bytes: &[u8]) -> Result<serde_json::Value, NodeError> {
        if bytes.first() == Some(&link::SEALED_VERSION) {
            let (from, kind, body) = self.links.open(self.member(), bytes).map_err(|e| {
                self.metrics.reject("bad_link_tag");
                match e {
                    link::LinkError::BadTag => NodeError::BadSignature,
                    other => NodeError::Malformed(other.to_string()),
                }
            })?;
            return self.dispatch(from, kind, body);
        }
        let msg = SignedMessage::from_bytes(bytes).map_err(|e| {
            self.metrics.reject("malformed_message");
            NodeError::from(e)
        })?;
        let reject = |e: MessageError| {
            let e = NodeError::from(e);
            self.metrics.reject(match e {
                NodeError::UnknownSender(_) => "unknown_sender",
                NodeError::BadSignature => "bad_signature",
                _ => "malformed_message",
            });
            e
        };
        msg.verify(&self.keys.bls_keys).map_err(reject)?;
        self.dispatch(msg.from, msg.kind, &msg.body)
    }

    /// Handles an authenticated member message (signature or link MAC checked).
    fn dispatch(
        &self,
        from: u32,
        kind: MessageKind,
        body: &[u8],
    ) -> Result<serde_json::Value, NodeError> {
        let reject = |e: MessageError| {
            self.metrics.reject("malformed_message");
            NodeError::from(e)
        };
        if kind == MessageKind::Shares {
            // Stored as received; the points are validated only if the shares are combined.
            let header = SharesMessage::peek(body).map_err(|e| {
                reject(MessageError::Body {
                    kind: MessageKind::Shares,
                    reason: e.to_string(),
                })
            })?;
            if header.member != from {
                self.metrics.reject("bad_shares");
                return Err(NodeError::BadShares(format!(
                    "member {} sent shares of member {}",
                    from, header.member
                )));
            }
            self.on_shares(header, body)?;
            return Ok(serde_json::json!({ "status": "stored" }));
        }
        let opened = MemberMessage::decode(kind, body).map_err(reject)?;
        match opened {
            MemberMessage::Ciphertexts(encs) => {
                let stored = self.on_ciphertexts(&encs)?;
                Ok(serde_json::json!({ "stored": stored }))
            }
            MemberMessage::Proposal(p) => {
                let vote = self.on_proposal(&p)?;
                Ok(serde_json::json!({ "vote": hex::encode(vote.to_bytes()) }))
            }
            MemberMessage::Certificate(c) => {
                self.on_certificate(&c)?;
                Ok(serde_json::json!({ "status": "recorded" }))
            }
            MemberMessage::Shares(_) => Err(NodeError::Unexpected("shares")),
            MemberMessage::Vote(_) => Err(NodeError::Unexpected("vote")),
        }
    }

    /// Applies the vote rule; on success the intent is durable before the vote is signed.
    pub fn on_proposal(&self, p: &Proposal) -> Result<Vote, NodeError> {
        let _span = info_span!("slot", slot = p.batch.slot).entered();
        p.verify(&self.keys.sequencer_keys).map_err(|_| {
            self.metrics.reject("bad_proposal_signature");
            NodeError::BadSignature
        })?;
        // Equivocation is evidence whether or not this member voted for either side: any
        // two validly signed proposals that conflict are recorded (the vote rule alone only
        // reports conflicts with the proposal it voted for).
        let conflicts: Vec<veil_protocol::Evidence> = lock(&self.seen)
            .values()
            .filter_map(|seen| veil_protocol::Evidence::from_conflict(seen, p))
            .collect();
        for ev in &conflicts {
            warn!("sequencer equivocation: evidence stored");
            self.storage.record_evidence(ev)?;
        }
        lock(&self.seen).insert((p.batch.slot, p.batch.commitment()), p.clone());
        // A gap below the proposal's parent (a certificate missed while down or cut off)
        // refuses the vote as a lagging tip, so the driver sends the missing slots first
        // (`catch_up` from the contiguous tip); otherwise those slots would never open here.
        let contiguous = self.contiguous_certified_slot()?;
        if contiguous + 1 < p.batch.slot && self.last_certified_slot()? + 1 >= p.batch.slot {
            self.metrics.vote_refusals.fetch_add(1, Ordering::Relaxed);
            debug!(
                contiguous,
                "vote refused: certificates missing below the parent"
            );
            let last = self.storage.last_certified()?.commitment;
            return Err(NodeError::Refused(Refusal::ParentNotCertified {
                parent: p.batch.parent,
                last,
            }));
        }
        let held = self.check_proposal(&p.batch)?;
        let mut guard = lock(&self.guard);
        let intent = match guard.decide(p, |id| held.contains(id)) {
            Ok(i) => i,
            Err(refusal) => {
                if let Some(ev) = refusal.evidence() {
                    warn!("sequencer equivocation: evidence stored");
                    self.storage.record_evidence(ev)?;
                }
                self.metrics.vote_refusals.fetch_add(1, Ordering::Relaxed);
                debug!(reason = %refusal, "vote refused");
                return Err(NodeError::Refused(refusal));
            }
        };
        // Durable before the vote exists: a failed write means no vote.
        self.storage.record_vote_intent(&intent, p)?;
        drop(guard);
        let vote = Vote::sign(&self.keys.signing_key, self.member(), &intent);
        self.metrics.votes.fetch_add(1, Ordering::Relaxed);
        debug!(commitment = %intent.commitment, "voted");
        Ok(vote)
    }

    fn batch_for(&self, c: &OrderCertificate) -> Result<Option<Batch>, NodeError> {
        if let Some(p) = lock(&self.seen).get(&(c.slot, c.commitment)) {
            return Ok(Some(p.batch.clone()));
        }
        if let Some(b) = self.storage.certified_batch(c.slot)?
            && b.commitment() == c.commitment
        {
            return Ok(Some(b));
        }
        Ok(self
            .storage
            .voted_proposal(c.slot)?
            .map(|p| p.batch)
            .filter(|b| b.commitment() == c.commitment))
    }

    /// Records a certificate (after [`ReleaseGuard::authorize`]) and releases shares.
    pub fn on_certificate(&self, c: &OrderCertificate) -> Result<(), NodeError> {
        let _span = info_span!("slot", slot = c.slot).entered();
        let batch = self.batch_for(c)?.ok_or(NodeError::UnknownBatch(c.slot))?;
        // Verifies the certificate at quorum for exactly this batch; the shares are computed
        // by the worker under this authorization once the certificate is stored (one
        // aggregate verification per slot; a restart re-authorizes from storage).
        let authorized = self.release.authorize(c, &batch).map_err(|e| {
            self.metrics.reject("bad_certificate");
            NodeError::BadCertificate(e.to_string())
        })?;
        let new = self.storage.record_certificate(c, &batch)?;
        lock(&self.guard).on_certified(c);
        if new {
            self.metrics.slots_certified.fetch_add(1, Ordering::Relaxed);
            lock(&self.certified_at).insert(c.slot, Instant::now());
            info!(items = batch.ids.len(), commitment = %c.commitment, "certificate stored");
        }
        lock(&self.seen).retain(|(s, _), _| *s > c.slot);
        self.schedule(Work::ReleaseAuthorized(Box::new((authorized, batch))));
        Ok(())
    }

    /// Computes (or re-sends) this member's shares under an authorization. Shares exist only
    /// through a [`ReleaseAuthorization`], which only a verified, stored certificate yields.
    /// Returns false when the shares wait for missing envelopes.
    fn release_shares(
        &self,
        auth: &ReleaseAuthorization,
        batch: &Batch,
    ) -> Result<bool, NodeError> {
        let shares = match self.storage.own_shares(auth.slot())? {
            Some(s) => s,
            None => {
                let Some(envs) = self.envelopes_for(&batch.ids)? else {
                    warn!("envelopes missing: shares for this slot wait for them");
                    lock(&self.awaiting_envelopes).insert(auth.slot());
                    return Ok(false);
                };
                if !envs.iter().any(|e| e.threshold_part().is_some()) {
                    return Ok(true);
                }
                let s = SharesMessage::create(&mut OsRng, auth, &self.keys.key_share, &envs)
                    .map_err(|e| NodeError::BadShares(e.to_string()))?;
                // Durable before sent.
                self.storage.record_own_shares(&s)?;
                self.metrics.shares_released.fetch_add(1, Ordering::Relaxed);
                info!(
                    items = batch.ids.len(),
                    "shares released (certificate stored)"
                );
                s
            }
        };
        let msg = MemberMessage::Shares(shares).sign(&self.keys.signing_key, self.member());
        self.broadcast(&msg);
        Ok(true)
    }

    /// Stores an authenticated, shape-checked shares message (points not yet validated).
    fn on_shares(&self, s: SharesHeader, encoding: &[u8]) -> Result<(), NodeError> {
        let slot = s.slot;
        if let Some(c) = self.storage.certificate(slot)?
            && c.commitment != s.commitment
        {
            self.metrics.reject("bad_shares");
            return Err(NodeError::BadShares(format!(
                "shares for another commitment in slot {slot}"
            )));
        }
        let member = s.member;
        let new = self
            .storage
            .record_received_share_encoding(slot, member, encoding)?;
        if new {
            self.metrics.shares_received.fetch_add(1, Ordering::Relaxed);
            lock(&self.share_senders)
                .entry(slot)
                .or_default()
                .insert(member);
        }
        // A member releasing shares for a slot opened here, or sending shares we already
        // hold (it restarted and re-sends: it may have died before ours reached it), is
        // catching up: answer with ours (stored, so released under the certificate). A
        // repeat is answered at most once per SHARE_ANSWER_EVERY per slot and member, so two
        // members never ping-pong.
        let catching_up = if new {
            lock(&self.opened).contains(&slot)
        } else {
            self.answer_due(slot, member)
        };
        if catching_up
            && let Some(own) = self.storage.own_shares(slot)?
            && let Some(peer) = self.settings.peers.iter().find(|p| p.member == member)
        {
            let msg = MemberMessage::Shares(own).sign(&self.keys.signing_key, self.member());
            let (client, url) = (self.client.clone(), peer.url.clone());
            std::thread::spawn(move || {
                let _ = client.send(&url, &msg);
            });
        }
        if new {
            self.schedule(Work::Open(slot));
        }
        Ok(())
    }

    /// Whether a repeated share message of `member` for `slot` may be answered now (see
    /// [`Node::on_shares`]); records the answer.
    fn answer_due(&self, slot: u64, member: u32) -> bool {
        let now = Instant::now();
        let mut answered = lock(&self.shares_answered);
        if answered.len() > 10_000 {
            answered.retain(|_, t| now.duration_since(*t) < SHARE_ANSWER_EVERY);
        }
        match answered.get(&(slot, member)) {
            Some(t) if now.duration_since(*t) < SHARE_ANSWER_EVERY => false,
            _ => {
                answered.insert((slot, member), now);
                true
            }
        }
    }

    /// Opens a certified slot once `t` share messages are at hand; stores the plaintext.
    pub fn try_open(&self, slot: u64) -> Result<(), NodeError> {
        let _span = info_span!("slot", slot).entered();
        let _one = lock(&self.opening);
        if lock(&self.opened).contains(&slot) {
            return Ok(());
        }
        // Received shares plus our own must reach t (counted since start; after a restart
        // the count is unknown and storage decides).
        let t = self.keys.config.t as usize;
        if !lock(&self.unsettled).contains_key(&slot)
            && lock(&self.share_senders)
                .get(&slot)
                .is_some_and(|m| m.len() + 1 < t)
        {
            return Ok(());
        }
        if self.storage.has_plaintext(slot)? {
            lock(&self.opened).insert(slot);
            return Ok(());
        }
        let (Some(cert), Some(batch)) = (
            self.storage.certificate(slot)?,
            self.storage.certified_batch(slot)?,
        ) else {
            return Ok(());
        };
        let commitment = cert.commitment;
        let Some(envs) = self.envelopes_for(&batch.ids)? else {
            return Ok(());
        };
        self.queue_puzzles(slot, &envs);
        let mut opening = veil_protocol::BatchOpening::new(cert, batch.clone(), envs)
            .map_err(|e| NodeError::BadCertificate(e.to_string()))?;
        if opening.needs_shares() {
            self.apply_shares(&mut opening, slot, commitment)?;
        }
        if let Some(params) = self.keys.delay_params.as_ref() {
            for i in opening.pending() {
                let id = batch.ids[i];
                if let Some(o) = self.storage.opening(&id)? {
                    let _tx = info_span!("tx", %id).entered();
                    match opening.settle_puzzle(i, params, o) {
                        Ok(()) => debug!(index = i, "settled by puzzle opening"),
                        Err(e) => warn!(index = i, error = %e, "stored opening refused"),
                    }
                }
            }
        }
        if !opening.is_complete() {
            let pending = opening.pending();
            debug!(pending = pending.len(), "items not settled yet");
            if self.keys.delay_params.is_some() {
                lock(&self.unsettled).insert(slot, pending.into_iter().collect());
            }
            return Ok(());
        }
        let plain = opening
            .finish()
            .map_err(|e| NodeError::BadShares(e.to_string()))?;
        self.storage.record_plaintext(&plain)?;
        lock(&self.opened).insert(slot);
        lock(&self.share_senders).remove(&slot);
        lock(&self.unsettled).remove(&slot);
        self.after_plaintext(&plain);
        Ok(())
    }

    /// Settles the committee items of `opening` from this member's shares and the received
    /// ones. Received share messages are stored undecoded; validating their points costs a
    /// square root and a subgroup check per share, so only as many are decoded as combining
    /// needs: `t − 1` next to our own, and the rest only if combining with those fails (a
    /// faulty or missing member).
    fn apply_shares(
        &self,
        opening: &mut veil_protocol::BatchOpening,
        slot: u64,
        commitment: Commitment,
    ) -> Result<(), NodeError> {
        let t = self.keys.config.t as usize;
        let mut shares: Vec<SharesMessage> = self.storage.own_shares(slot)?.into_iter().collect();
        let mut received: Vec<(u32, Vec<u8>)> = self
            .storage
            .received_share_encodings(slot)?
            .into_iter()
            .filter(|(m, _)| *m != self.member())
            .collect();
        let own: Vec<u32> = shares.iter().map(|s| s.member).collect();
        prefer_small_coefficients(&mut received, &own, t);
        let mut received = received.into_iter();
        let mut decode_into = |shares: &mut Vec<SharesMessage>, want: usize| {
            while shares.len() < want {
                let Some((member, bytes)) = received.next() else {
                    return;
                };
                match SharesMessage::from_bytes(&bytes) {
                    Ok(s) if s.commitment == commitment && s.member == member => shares.push(s),
                    Ok(_) => debug!(member, "stored shares for another commitment skipped"),
                    Err(e) => warn!(member, error = %e, "stored shares refused on decoding"),
                }
            }
        };
        decode_into(&mut shares, t);
        if shares.len() < t {
            return Ok(());
        }
        let key = &self.keys.threshold_key;
        let params = self.keys.delay_params.as_ref();
        let mut result = opening.apply_shares(key, params, &shares);
        if !matches!(&result, Ok(f) if f.is_empty()) {
            let before = shares.len();
            decode_into(&mut shares, usize::MAX);
            if shares.len() > before {
                result = opening.apply_shares(key, params, &shares);
            }
        }
        match result {
            Ok(faulty) if !faulty.is_empty() => {
                self.metrics.reject("invalid_shares");
                warn!(?faulty, "invalid shares excluded")
            }
            Ok(_) => {}
            Err(e) if shares.len() >= t => {
                // Enough share messages, yet no combination: some are wrong, and the
                // combiner's error does not say whose. Vet each received one (rare: only a
                // faulty member gets here), so the operator sees who sent invalid shares.
                let (ids, envs) = (&opening.batch().ids, opening.envelopes());
                let faulty: Vec<u32> = shares
                    .iter()
                    .filter(|s| s.member != self.member())
                    .filter(|s| s.verify(key, ids, envs).is_err())
                    .map(|s| s.member)
                    .collect();
                if faulty.is_empty() {
                    debug!(error = %e, "not yet combinable");
                } else {
                    self.metrics.reject("invalid_shares");
                    warn!(?faulty, "invalid shares excluded");
                }
            }
            Err(e) => debug!(error = %e, "not yet combinable"),
        }
        Ok(())
    }

    fn after_plaintext(&self, plain: &PlaintextBatch) {
        let now = Instant::now();
        let m = &self.metrics;
        m.plaintext_batches.fetch_add(1, Ordering::Relaxed);
        let mut decrypted = 0u64;
        {
            // Envelopes stay cached until our own shares for the slot are out.
            let drop_cached = lock(&self.released).contains(&plain.slot);
            // Same order as submit and on_ciphertexts (cache, then arrivals): the reverse
            // order here could deadlock the worker against a gossip or submit handler.
            let mut cache = lock(&self.cache);
            let mut arrivals = lock(&self.arrivals);
            for (index, item) in plain.items.iter().enumerate() {
                let _tx = debug_span!("tx", id = %item.id).entered();
                if matches!(item.outcome, Outcome::Decrypted(_)) {
                    decrypted += 1;
                    debug!(index, opening = opening_kind(&item.opening), "decrypted");
                } else {
                    debug!(index, "invalid: kept in position");
                }
                if let Some(t) = arrivals.remove(&item.id) {
                    m.submit_to_plaintext.observe(now - t);
                }
                if drop_cached {
                    cache.remove(&item.id);
                }
            }
        }
        m.items_decrypted.fetch_add(decrypted, Ordering::Relaxed);
        m.items_invalid
            .fetch_add(plain.items.len() as u64 - decrypted, Ordering::Relaxed);
        if let Some(t) = lock(&self.certified_at).remove(&plain.slot) {
            m.batch_latency.observe(now - t);
        }
        info!(
            items = plain.items.len(),
            decrypted, "plaintext batch stored"
        );
        self.delivered.send_modify(|v| *v = (*v).max(plain.slot));
    }

    /// Plaintext batches deliverable in slot order from `next` (certified slots, no gaps in
    /// delivery: stops at the first certified slot not yet opened).
    pub fn deliverable(
        &self,
        mut next: u64,
        limit: usize,
    ) -> Result<Vec<PlaintextBatch>, NodeError> {
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(&slot) = self.storage.certified_slots(next, 1)?.first() else {
                break;
            };
            let Some(p) = self.storage.plaintext(slot)? else {
                break;
            };
            out.push(p);
            next = slot + 1;
        }
        Ok(out)
    }

    // ---- sequencing -------------------------------------------------------------------------

    /// Verifies an external sequencer's proposal and drives it to a certificate.
    pub fn accept_external(self: &Arc<Self>, p: Proposal) -> Result<OrderCertificate, NodeError> {
        p.verify(&self.keys.sequencer_keys).map_err(|_| {
            self.metrics.reject("bad_proposal_signature");
            NodeError::BadSignature
        })?;
        self.drive(p)
    }

    /// Sends `p` to every member, aggregates the votes, records and broadcasts the
    /// certificate.
    pub fn drive(self: &Arc<Self>, p: Proposal) -> Result<OrderCertificate, NodeError> {
        let _one = lock(&self.driving);
        let _span = info_span!("slot", slot = p.batch.slot).entered();
        let intent = veil_protocol::VoteIntent {
            slot: p.batch.slot,
            parent: p.batch.parent,
            commitment: p.batch.commitment(),
        };
        let quorum = self.keys.config.quorum as usize;
        let mut builder = CertificateBuilder::new(intent, self.keys.bls_keys.clone(), quorum);
        let mut votes = Vec::new();
        match self.on_proposal(&p) {
            Ok(v) => votes.push(v),
            Err(e) => debug!(error = %e, "own vote refused"),
        }
        let msg = MemberMessage::Proposal(p.clone()).sign(&self.keys.signing_key, self.member());
        // Votes are collected as they arrive; a slow or dead member does not hold up the
        // certificate once a quorum has voted.
        let (tx, rx) = mpsc::channel();
        for peer in self.others() {
            let (node, peer, msg, tx) = (self.clone(), peer.clone(), msg.clone(), tx.clone());
            std::thread::spawn(move || {
                let _ = tx.send(node.solicit_vote(&peer, &msg));
            });
        }
        drop(tx);
        let deadline = Instant::now() + VOTE_WAIT;
        let mut certificate = None;
        loop {
            for v in votes.drain(..) {
                match builder.add(&v) {
                    Ok(Progress::Certified(c)) => certificate = Some(c),
                    Ok(_) => {}
                    Err(e) => {
                        self.metrics.reject("bad_vote");
                        warn!(member = v.member, error = %e, "vote rejected");
                    }
                }
            }
            if certificate.is_some() {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Some(v)) => votes.push(v),
                Ok(None) => {}
                Err(_) => break,
            }
        }
        let Some(c) = certificate else {
            return Err(NodeError::Unavailable(format!(
                "no quorum: {} of {quorum} votes",
                builder.count()
            )));
        };
        self.on_certificate(&c)?;
        let cert_msg =
            MemberMessage::Certificate(c.clone()).sign(&self.keys.signing_key, self.member());
        let (cert_msg, msg) = (Arc::new(cert_msg), Arc::new(msg));
        let ids = Arc::new(p.batch.ids.clone());
        for peer in self.others() {
            let (node, peer, ids) = (self.clone(), peer.clone(), ids.clone());
            let (cert_msg, msg) = (cert_msg.clone(), msg.clone());
            std::thread::spawn(move || {
                for _ in 0..2 {
                    match node.client.send(&peer.url, &cert_msg) {
                        Ok(r) if r.status == 409 => {
                            // It never saw the batch: send the envelopes and the proposal,
                            // then retry.
                            node.send_envelopes(&peer, &ids);
                            let _ = node.client.send(&peer.url, &msg);
                        }
                        _ => break,
                    }
                }
            });
        }
        Ok(c)
    }

    /// One member's vote on a proposal message, resolving missing envelopes and a lagging
    /// certified tip on the way.
    fn solicit_vote(&self, peer: &PeerConfig, msg: &SignedMessage) -> Option<Vote> {
        for _ in 0..3 {
            let reply = match self.client.send(&peer.url, msg) {
                Ok(r) => r,
                Err(e) => {
                    debug!(peer = peer.member, error = %e, "peer unreachable");
                    return None;
                }
            };
            let json = reply.json().unwrap_or_default();
            if reply.status == 200 {
                let v = json["vote"]
                    .as_str()
                    .and_then(|h| hex::decode(h).ok())
                    .and_then(|b| Vote::from_bytes(&b).ok());
                if v.is_none() {
                    // A member answering with bytes that are not a vote is faulty: record it.
                    self.metrics.reject("bad_vote");
                    warn!(peer = peer.member, "vote rejected: undecodable vote");
                }
                return v;
            }
            match json["code"].as_str() {
                Some("missing_envelopes") => {
                    let ids: Vec<TxId> = json["missing"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().and_then(|s| TxId::from_hex(s).ok()))
                                .collect()
                        })
                        .unwrap_or_default();
                    let encs: Vec<Vec<u8>> = ids
                        .iter()
                        .filter_map(|id| self.storage.envelope(id).ok().flatten())
                        .map(|s| s.encoding)
                        .collect();
                    for chunk in encs.chunks(MAX_GOSSIP_ENVELOPES) {
                        let m = MemberMessage::Ciphertexts(chunk.to_vec())
                            .sign(&self.keys.signing_key, self.member());
                        let _ = self.client.send(&peer.url, &m);
                    }
                }
                Some("parent_not_certified") => {
                    let from = json["tip_slot"].as_u64().unwrap_or(0) + 1;
                    self.catch_up(peer, from);
                }
                _ => {
                    debug!(peer = peer.member, reply = %json, "vote refused");
                    return None;
                }
            }
        }
        None
    }

    /// Sends `peer` the envelopes of `ids` this member holds.
    fn send_envelopes(&self, peer: &PeerConfig, ids: &[TxId]) {
        let encs: Vec<Vec<u8>> = ids
            .iter()
            .filter_map(|id| self.storage.envelope(id).ok().flatten())
            .map(|e| e.encoding)
            .collect();
        for chunk in encs.chunks(MAX_GOSSIP_ENVELOPES) {
            let m = MemberMessage::Ciphertexts(chunk.to_vec())
                .sign(&self.keys.signing_key, self.member());
            let _ = self.client.send(&peer.url, &m);
        }
    }

    /// Sends a lagging member the proposals and certificates of slots from `from` on.
    fn catch_up(&self, peer: &PeerConfig, from: u64) {
        let Ok(slots) = self.storage.certified_slots(from, 1024) else {
            return;
        };
        for slot in slots {
            let (Ok(Some(p)), Ok(Some(c))) = (
                self.storage.voted_proposal(slot),
                self.storage.certificate(slot),
            ) else {
                warn!(
                    slot,
                    peer = peer.member,
                    "cannot catch up: proposal not held"
                );
                return;
            };
            if p.batch.commitment() != c.commitment {
                return;
            }
            // The envelopes first: it needs them to release its shares for the slot.
            self.send_envelopes(peer, &p.batch.ids);
            let pm = MemberMessage::Proposal(p).sign(&self.keys.signing_key, self.member());
            let _ = self.client.send(&peer.url, &pm);
            let cm = MemberMessage::Certificate(c).sign(&self.keys.signing_key, self.member());
            let _ = self.client.send(&peer.url, &cm);
        }
    }

    /// The built-in sequencer: every `slot` proposes up to `max_batch` pending ids on top of
    /// the last certified commitment (re-driving its own uncertified proposal first).
    pub fn run_sequencer(self: Arc<Self>, slot_time: Duration) -> Result<(), NodeError> {
        let me = self.keys.signing_key.public_key();
        let id = self
            .keys
            .sequencer_keys
            .iter()
            .position(|k| *k == me)
            .ok_or_else(|| {
                NodeError::Malformed("built-in sequencer: own key is not a sequencer key".into())
            })?;
        let id = SequencerId(id as u32);
        let mut inflight: Option<Proposal> = None;
        while !self.stopping.load(Ordering::Relaxed) {
            std::thread::sleep(slot_time);
            let tip = self.storage.last_certified()?;
            let slot = tip.slot.map_or(1, |s| s + 1);
            let proposal = match inflight.take().filter(|p| p.batch.slot == slot) {
                Some(p) => p,
                None => match self
                    .storage
                    .voted_proposal(slot)?
                    .filter(|p| p.batch.parent == tip.commitment && p.sequencer == id)
                {
                    Some(p) => p,
                    None => {
                        let Some((ids, chains)) = self.plan_batch()? else {
                            continue;
                        };
                        let batch = Batch {
                            chain_id: self.settings.chain_id,
                            slot,
                            parent: tip.commitment,
                            ids,
                            chains,
                        };
                        match Proposal::sign(&self.keys.signing_key, id, batch) {
                            Ok(p) => p,
                            Err(e) => {
                                warn!(error = %e, "cannot propose");
                                continue;
                            }
                        }
                    }
                },
            };
            self.metrics.proposals.fetch_add(1, Ordering::Relaxed);
            match self.drive(proposal.clone()) {
                Ok(c) => debug!(slot = c.slot, "certified"),
                Err(e) => {
                    warn!(slot, error = %e, "proposal not certified yet; retrying");
                    inflight = Some(proposal);
                }
            }
        }
        Ok(())
    }
}

/// How long a proposal driver waits for a quorum of votes.
const VOTE_WAIT: Duration = Duration::from_secs(10);

/// How often failed gossip is re-sent.
pub const GOSSIP_RETRY_EVERY: Duration = Duration::from_secs(1);

/// How often a repeated share message from one member for one slot is answered.
const SHARE_ANSWER_EVERY: Duration = Duration::from_secs(5);

/// Most envelopes waiting for a gossip retry, per member.
pub const GOSSIP_RETRY_MAX: usize = 100_000;

/// Background work.
#[derive(Debug)]
enum Work {
    /// Release this member's shares for a certified slot, then try to open it.
    Release(u64),
    /// The same, under the authorization of a certificate just verified and stored.
    ReleaseAuthorized(Box<(ReleaseAuthorization, Batch)>),
    /// Try to open a slot (new shares arrived).
    Open(u64),
}

/// Reorders `received` (member, encoding) pairs so that the first `t − |own|` members,
/// together with `own`, form a responder set whose Lagrange coefficients are small integers
/// (combining then costs a few additions per item instead of a multi-scalar multiplication;
/// see `veil_threshold::small_lagrange_at_zero`). Leaves the order alone when no such set
/// exists or the search would be large (more than 16 received messages).
fn prefer_small_coefficients(received: &mut [(u32, Vec<u8>)], own: &[u32], t: usize) {
    let need = t.saturating_sub(own.len());
    let n = received.len();
    if need == 0 || need > n || n > 16 {
        return;
    }
    for mask in 0u32..(1 << n) {
        if mask.count_ones() as usize != need {
            continue;
        }
        let mut set: Vec<u32> = own.to_vec();
        set.extend((0..n).filter(|i| mask >> i & 1 == 1).map(|i| received[i].0));
        if veil_threshold::small_lagrange_at_zero(&set).is_some() {
            // Stable: the chosen members first, each group in its original order.
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|i| mask >> i & 1 == 0);
            let reordered: Vec<(u32, Vec<u8>)> = order
                .iter()
                .map(|&i| std::mem::take(&mut received[i]))
                .collect();
            for (slot, item) in received.iter_mut().zip(reordered) {
                *slot = item;
            }
            return;
        }
    }
}

/// How an item was opened, for logs.
fn opening_kind(o: &veil_protocol::Opening) -> &'static str {
    match o {
        veil_protocol::Opening::Committee => "committee",
        veil_protocol::Opening::Reveal(_) => "reveal",
        veil_protocol::Opening::Solution(_) => "solution",
    }
}

/// The stable code for an envelope error.
pub fn envelope_code(e: &EnvelopeError) -> &'static str {
    match e {
        EnvelopeError::Codec(_)
        | EnvelopeError::UnknownMode(_)
        | EnvelopeError::Threshold(_)
        | EnvelopeError::Delay(_) => "malformed_envelope",
        EnvelopeError::WrongChain { .. } => "wrong_chain",
        EnvelopeError::Expired { .. } => "expired",
        EnvelopeError::DelayDisabled => "delay_disabled",
        _ => "invalid_envelope",
    }
}

// ---- several rollups, bundles (see `crate::rollups`) --------------------------------------

/// A planned batch: ids and (in multi-rollup mode) their chain ids.
type PlannedBatch = (Vec<TxId>, Vec<u64>);

impl Node {
    /// The ids of `batch` this member holds. If it holds them all, the batch must pass the
    /// rollup and bundle checks first ([`crate::rollups::Rollups::check_batch`]); a batch
    /// that fails gets no vote. The vote rule then sees exactly this set as held, so an
    /// envelope arriving between the check and the vote cannot skip the check.
    fn check_proposal(&self, batch: &Batch) -> Result<HashSet<TxId>, NodeError> {
        let held: HashSet<TxId> = batch
            .ids
            .iter()
            .filter(|id| self.holds(id))
            .copied()
            .collect();
        if held.len() < batch.ids.len() {
            return Ok(held);
        }
        let Some(envs) = self.envelopes_for(&batch.ids)? else {
            return Ok(HashSet::new());
        };
        if let Err(e) = self.settings.rollups.check_batch(batch, &envs) {
            self.metrics.reject("bad_batch");
            self.metrics.vote_refusals.fetch_add(1, Ordering::Relaxed);
            warn!(reason = %e, "proposal refused: rollups or bundles");
            return Err(NodeError::BadBatch(e));
        }
        Ok(held)
    }

    /// The built-in sequencer's next batch from pending envelopes: ids and, in multi-rollup
    /// mode, their chain ids (otherwise empty: a version-1 batch). `None` if nothing fits.
    pub(crate) fn plan_batch(&self) -> Result<Option<PlannedBatch>, NodeError> {
        let max = self.settings.max_batch;
        // A wider window than one batch, so bundle members that arrived apart meet.
        let pending = self.storage.pending(max.saturating_mul(2))?;
        let mut items = Vec::with_capacity(pending.len());
        for id in &pending {
            let cached = lock(&self.cache).get(id).map(crate::rollups::PlanItem::of);
            let item = match cached {
                Some(i) => i,
                None => match self.envelopes_for(std::slice::from_ref(id))? {
                    Some(v) => crate::rollups::PlanItem::of(&v[0]),
                    None => continue,
                },
            };
            items.push(item);
        }
        let (ids, chains) = self.settings.rollups.plan(&items, max, |legs| {
            matches!(self.envelopes_for(legs), Ok(Some(envs))
                if veil_protocol::bundle::check_one_bundle(&envs).is_ok())
        });
        if ids.is_empty() {
            return Ok(None);
        }
        let chains = if self.settings.rollups.enabled() {
            chains
        } else {
            Vec::new()
        };
        Ok(Some((ids, chains)))
    }

    /// `rollup`'s sub-batch of `slot` with its completeness proof, and the clear fee
    /// metadata (`max_fee`) of each of its items, from the stored labels.
    pub fn sub_batch(
        &self,
        rollup: u64,
        slot: u64,
    ) -> Result<(veil_protocol::SubBatch, Vec<Option<u128>>), NodeError> {
        if self.settings.rollups.enabled() && self.settings.rollups.get(rollup).is_none() {
            return Err(NodeError::UnknownRollup(rollup));
        }
        let plain = self
            .storage
            .plaintext(slot)?
            .ok_or(NodeError::NotFound("plaintext batch"))?;
        self.sub_batch_of(&plain, rollup)
    }

    /// [`Node::sub_batch`] from an already loaded plaintext batch (the stream has it).
    pub fn sub_batch_of(
        &self,
        plain: &PlaintextBatch,
        rollup: u64,
    ) -> Result<(veil_protocol::SubBatch, Vec<Option<u128>>), NodeError> {
        if self.settings.rollups.enabled() && self.settings.rollups.get(rollup).is_none() {
            return Err(NodeError::UnknownRollup(rollup));
        }
        let sub = veil_protocol::SubBatch::extract(plain, rollup)
            .ok_or(NodeError::NotFound("rollup index (version-1 batch)"))?;
        // The stored envelopes were validated on admission; only their clear labels are
        // read (one read transaction for the whole sub-batch).
        let ids: Vec<TxId> = sub.items.iter().map(|i| i.id).collect();
        let fees = self
            .storage
            .envelopes(&ids)?
            .into_iter()
            .map(|e| {
                e.and_then(|e| veil_protocol::envelope::peek_label(&e.encoding).ok())
                    .map(|l| l.max_fee)
            })
            .collect();
        Ok((sub, fees))
    }
}

#[cfg(test)]
mod share_order_tests {
    use super::prefer_small_coefficients;

    fn members(r: &[(u32, Vec<u8>)]) -> Vec<u32> {
        r.iter().map(|x| x.0).collect()
    }

    #[test]
    fn received_shares_are_ordered_for_integral_coefficients() {
        // Member 4 with 1, 2, 3 received: {1, 2, 4} has thirds, {1, 3, 4} does not.
        let mut r = vec![(1, vec![1]), (2, vec![2]), (3, vec![3])];
        prefer_small_coefficients(&mut r, &[4], 3);
        assert_eq!(members(&r), vec![1, 3, 2]);
        assert_eq!(r[1].1, vec![3], "encodings move with their member");
        // Already integral ({1, 2, 3}): unchanged.
        let mut r = vec![(2, vec![]), (3, vec![]), (4, vec![])];
        prefer_small_coefficients(&mut r, &[1], 3);
        assert_eq!(members(&r), vec![2, 3, 4]);
        // No integral set among the candidates ({1, 2, 4} only): unchanged.
        let mut r = vec![(1, vec![]), (2, vec![]), (4, vec![])];
        prefer_small_coefficients(&mut r, &[], 3);
        assert_eq!(members(&r), vec![1, 2, 4]);
        // Too few to choose from: unchanged.
        let mut r = vec![(2, vec![])];
        prefer_small_coefficients(&mut r, &[4], 3);
        assert_eq!(members(&r), vec![2]);
    }
}
