//! Durable state of one Veil committee node on redb: ciphertexts, vote intents,
//! certificates, shares, plaintext batches and consumer cursors.
//!
//! # Model
//!
//! One redb file per node. Every mutating call is **one write transaction committed with
//! `Durability::Immediate`** (redb fsyncs before `commit` returns) — when the call returns
//! `Ok`, the change survives a crash at any later instant; when it returns `Err`, the
//! transaction was aborted and the previous state is intact. A failed write is fatal for the
//! operation that needed it: the node must not send the vote, receipt or shares that the
//! write was meant to make durable (crash safety, design brief §2 property 6). redb is
//! copy-on-write with a two-slot commit header, so a torn write leaves the last committed
//! state readable.
//!
//! | table | key → value | written by |
//! | --- | --- | --- |
//! | `envelopes` | id → arrival seq ‖ envelope bytes | [`Storage::insert_envelopes`] |
//! | `pending` | arrival seq → id (not yet certified) | same; cleared by [`Storage::record_certificate`] |
//! | `intents` | slot → [`VoteIntent`] | [`Storage::record_vote_intent`] (before signing) |
//! | `children` | parent → commitment voted for | same |
//! | `proposals` | slot → the [`Proposal`] voted for | same |
//! | `evidence` | seq → [`Evidence`] | [`Storage::record_evidence`] |
//! | `certificates`, `batches` | slot → [`OrderCertificate`], [`Batch`] | [`Storage::record_certificate`] |
//! | `positions` | id → (slot, index) | same |
//! | `own_shares` | slot → [`SharesMessage`] | [`Storage::record_own_shares`] (before sending) |
//! | `received_shares` | (slot, member) → [`SharesMessage`] encoding (authenticated; points validated when used) | [`Storage::record_received_shares`], [`Storage::record_received_share_encoding`] |
//! | `plaintexts` | slot → [`PlaintextBatch`] | [`Storage::record_plaintext`] |
//! | `cursors` | consumer name → next slot | [`Storage::set_cursor`] |
//! | `meta` | `schema_version`, `last_certified`, `next_seq` | internal |
//! | `openings` | id → puzzle opening (a reveal or a proven solution) | [`Storage::record_opening`] |
//! | `forwarded` | id → [`ForwardResult`] | [`Storage::record_forwarded`] |
//! | `forward_cursor` | endpoint name → next (slot, index) to forward | same, in the same transaction |
//!
//! Tables added after schema version 1 was frozen (`openings`, `forwarded`,
//! `forward_cursor`) are created empty when an older file is opened: adding a table is
//! compatible, so the version stays 1.
//!
//! Values are the protocol crate's canonical encodings and are decoded (validated) on read;
//! a value that fails to decode is reported as [`StorageError::Corrupt`]. The one exception is
//! `received_shares`: a member stores other members' share messages as they arrived
//! (authenticated, shape-checked) and validates the points of only those it combines, so an
//! entry with invalid points is a faulty sender's, and readers skip it.
//!
//! Inserts are idempotent: re-inserting a known envelope returns
//! [`Inserted::AlreadyKnown`]; re-recording the same intent, certificate, shares or plaintext
//! is a no-op; recording a *different* intent for a slot (or child for a parent) that
//! already has one is refused with [`StorageError::Conflict`] — the storage layer is a
//! second line of defence behind `VoteGuard`.
//!
//! ```
//! # let dir = std::env::temp_dir().join(format!("veil-storage-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! # std::fs::create_dir_all(&dir).unwrap();
//! use veil_storage::Storage;
//! let path = dir.join("node.redb");
//! {
//!     let s = Storage::open(&path)?;
//!     s.set_cursor("rollup", 42)?;
//! }
//! let s = Storage::open(&path)?; // reopened: the cursor survived
//! assert_eq!(s.cursor("rollup")?, Some(42));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), veil_storage::StorageError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::path::Path;
#[cfg(feature = "fault-injection")]
use std::sync::atomic::{AtomicU64, Ordering};

use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition, WriteTransaction,
};
use thiserror::Error;
use veil_protocol::vote::CertifiedTip;
use veil_protocol::{
    Batch, Commitment, Evidence, Opening, OrderCertificate, PlaintextBatch, Proposal,
    SharesMessage, TxEnvelope, TxId, ValidatedEnvelope, VoteGuard, VoteIntent,
};

/// Version of the table layout this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

const ENVELOPES: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("envelopes");
const PENDING: TableDefinition<'_, u64, [u8; 32]> = TableDefinition::new("pending");
const INTENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("intents");
const CHILDREN: TableDefinition<'_, [u8; 32], [u8; 32]> = TableDefinition::new("children");
const PROPOSALS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("proposals");
const EVIDENCE: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("evidence");
const CERTIFICATES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("certificates");
const BATCHES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("batches");
const POSITIONS: TableDefinition<'_, [u8; 32], (u64, u32)> = TableDefinition::new("positions");
const OWN_SHARES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("own_shares");
const RECEIVED_SHARES: TableDefinition<'_, (u64, u32), &[u8]> =
    TableDefinition::new("received_shares");
const PLAINTEXTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("plaintexts");
const CURSORS: TableDefinition<'_, &str, u64> = TableDefinition::new("cursors");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const OPENINGS: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("openings");
const FORWARDED: TableDefinition<'_, [u8; 32], &[u8]> = TableDefinition::new("forwarded");
const FORWARD_CURSOR: TableDefinition<'_, &str, (u64, u32)> =
    TableDefinition::new("forward_cursor");

const META_SCHEMA: &str = "schema_version";
const META_LAST_CERTIFIED: &str = "last_certified";
const META_NEXT_SEQ: &str = "next_seq";
const META_NEXT_EVIDENCE: &str = "next_evidence";

/// Why a storage operation failed. Any error from a mutating call means nothing was written.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The database (I/O, redb) failed.
    #[error("database: {0}")]
    Database(#[from] redb::Error),
    /// A stored value does not decode.
    #[error("corrupt {table} entry: {reason}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// Why.
        reason: String,
    },
    /// The file was written with another schema version.
    #[error("schema version {found}, this build reads {SCHEMA_VERSION}")]
    SchemaVersion {
        /// Version found.
        found: u32,
    },
    /// A different value is already recorded where only one may ever be (a second intent for
    /// a slot, a second child of a parent, a different certificate for a slot).
    #[error("conflict: {what}")]
    Conflict {
        /// What conflicted.
        what: &'static str,
    },
    /// A simulated failure (fault injection in tests).
    #[error("injected write failure")]
    Injected,
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StorageError {
            fn from(e: $t) -> Self {
                Self::Database(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

type Result<T> = std::result::Result<T, StorageError>;

fn corrupt(table: &'static str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt {
        table,
        reason: e.to_string(),
    }
}

/// The result of inserting an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Newly stored, with its arrival sequence number.
    New {
        /// Arrival sequence number.
        seq: u64,
    },
    /// Already stored (nothing changed).
    AlreadyKnown {
        /// Arrival sequence number of the earlier insert.
        seq: u64,
    },
}

impl Inserted {
    /// Whether the envelope was new.
    pub fn is_new(&self) -> bool {
        matches!(self, Self::New { .. })
    }
}

/// A stored envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEnvelope {
    /// Its id.
    pub id: TxId,
    /// Arrival sequence number (order of first receipt at this node).
    pub seq: u64,
    /// The canonical encoding (validate it again before use after a restart).
    pub encoding: Vec<u8>,
}

impl StoredEnvelope {
    /// Decodes the envelope layer.
    pub fn envelope(&self) -> Result<TxEnvelope> {
        TxEnvelope::from_bytes(&self.encoding).map_err(|e| corrupt("envelopes", e))
    }
}

/// Where a certified id sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// The slot.
    pub slot: u64,
    /// Index in the batch.
    pub index: u32,
}

/// What an Ethereum JSON-RPC endpoint answered to a forwarded item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ForwardResult {
    /// Accepted (`result` is the transaction hash, or the endpoint said it already knew it).
    Accepted {
        /// The endpoint's `result` (a transaction hash), or its "already known" message.
        detail: String,
    },
    /// Refused for this transaction (a JSON-RPC error such as "nonce too low"); the stream
    /// moved on.
    Rejected {
        /// JSON-RPC error code.
        code: i64,
        /// JSON-RPC error message.
        message: String,
    },
}

/// Largest detail or message kept per forwarded item.
pub const MAX_FORWARD_DETAIL: usize = 1024;

impl ForwardResult {
    /// `0 ‖ u32 len ‖ detail` or `1 ‖ i64 code ‖ u32 len ‖ message` (big-endian; text
    /// truncated to [`MAX_FORWARD_DETAIL`] bytes at a character boundary).
    pub fn to_bytes(&self) -> Vec<u8> {
        fn put(out: &mut Vec<u8>, text: &str) {
            let mut end = text.len().min(MAX_FORWARD_DETAIL);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            out.extend_from_slice(&(end as u32).to_be_bytes());
            out.extend_from_slice(&text.as_bytes()[..end]);
        }
        let mut out = Vec::new();
        match self {
            Self::Accepted { detail } => {
                out.push(0);
                put(&mut out, detail);
            }
            Self::Rejected { code, message } => {
                out.push(1);
                out.extend_from_slice(&code.to_be_bytes());
                put(&mut out, message);
            }
        }
        out
    }

    /// Decodes [`ForwardResult::to_bytes`], refusing trailing bytes and bad text.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let bad = || corrupt("forwarded", "malformed result");
        let text = |b: &[u8]| -> Result<String> {
            let (len, rest) = b.split_at_checked(4).ok_or_else(bad)?;
            let len = u32::from_be_bytes(len.try_into().map_err(|_| bad())?) as usize;
            if len > MAX_FORWARD_DETAIL || rest.len() != len {
                return Err(bad());
            }
            String::from_utf8(rest.to_vec()).map_err(|_| bad())
        };
        match b.split_first() {
            Some((0, rest)) => Ok(Self::Accepted {
                detail: text(rest)?,
            }),
            Some((1, rest)) => {
                let (code, rest) = rest.split_at_checked(8).ok_or_else(bad)?;
                Ok(Self::Rejected {
                    code: i64::from_be_bytes(code.try_into().map_err(|_| bad())?),
                    message: text(rest)?,
                })
            }
            _ => Err(bad()),
        }
    }
}

/// A puzzle opening of a delay or dual item, as stored: `1 ‖ reveal` or `2 ‖ solution`.
fn encode_opening(o: &Opening) -> Option<Vec<u8>> {
    let (tag, body) = match o {
        Opening::Committee => return None,
        Opening::Reveal(b) => (1u8, b),
        Opening::Solution(b) => (2u8, b),
    };
    let mut out = Vec::with_capacity(1 + body.len());
    out.push(tag);
    out.extend_from_slice(body);
    Some(out)
}

fn decode_opening(b: &[u8]) -> Result<Opening> {
    match b.split_first() {
        Some((1, rest)) => Ok(Opening::Reveal(rest.to_vec())),
        Some((2, rest)) => Ok(Opening::Solution(rest.to_vec())),
        _ => Err(corrupt("openings", "unknown opening tag")),
    }
}

/// The node's database. Cheap to share behind an `Arc`; redb serialises writers.
pub struct Storage {
    db: Database,
    #[cfg(feature = "fault-injection")]
    fail_after: Option<AtomicU64>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Storage(..)")
    }
}

impl Storage {
    /// Opens (creating if absent) the database at `path`, creates every table, and checks the
    /// schema version.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let db = Database::create(path)?;
        let s = Self {
            db,
            #[cfg(feature = "fault-injection")]
            fail_after: None,
        };
        s.init()?;
        Ok(s)
    }

    /// Test constructor: the first `n` write transactions after opening commit normally,
    /// every later one is aborted and reports [`StorageError::Injected`].
    #[cfg(feature = "fault-injection")]
    pub fn with_fail_after(path: impl AsRef<Path>, n: u64) -> Result<Self> {
        let mut s = Self::open(path)?;
        s.fail_after = Some(AtomicU64::new(n));
        Ok(s)
    }

    fn init(&self) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            tx.open_table(ENVELOPES)?;
            tx.open_table(PENDING)?;
            tx.open_table(INTENTS)?;
            tx.open_table(CHILDREN)?;
            tx.open_table(PROPOSALS)?;
            tx.open_table(EVIDENCE)?;
            tx.open_table(CERTIFICATES)?;
            tx.open_table(BATCHES)?;
            tx.open_table(POSITIONS)?;
            tx.open_table(OWN_SHARES)?;
            tx.open_table(RECEIVED_SHARES)?;
            tx.open_table(PLAINTEXTS)?;
            tx.open_table(CURSORS)?;
            tx.open_table(OPENINGS)?;
            tx.open_table(FORWARDED)?;
            tx.open_table(FORWARD_CURSOR)?;
            let mut meta = tx.open_table(META)?;
            let found = meta
                .get(META_SCHEMA)?
                .map(|v| {
                    let b: [u8; 4] = v
                        .value()
                        .try_into()
                        .map_err(|_| corrupt("meta", "schema"))?;
                    Ok::<u32, StorageError>(u32::from_be_bytes(b))
                })
                .transpose()?;
            match found {
                Some(v) if v != SCHEMA_VERSION => {
                    return Err(StorageError::SchemaVersion { found: v });
                }
                Some(_) => {}
                None => {
                    meta.insert(META_SCHEMA, SCHEMA_VERSION.to_be_bytes().as_slice())?;
                }
            }
        }
        let mut tx = tx;
        tx.set_durability(Durability::Immediate)?;
        tx.commit()?;
        Ok(())
    }

    fn write(&self) -> Result<WriteTransaction> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        Ok(tx)
    }

    fn commit(&self, tx: WriteTransaction) -> Result<()> {
        #[cfg(feature = "fault-injection")]
        if let Some(left) = &self.fail_after {
            let ok = left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if !ok {
                tx.abort()?;
                return Err(StorageError::Injected);
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn read(&self) -> Result<ReadTransaction> {
        Ok(self.db.begin_read()?)
    }

    fn get_u64_meta(tx: &WriteTransaction, key: &str) -> Result<u64> {
        let meta = tx.open_table(META)?;
        let v = meta.get(key)?;
        match v {
            None => Ok(0),
            Some(v) => {
                let b: [u8; 8] = v.value().try_into().map_err(|_| corrupt("meta", key))?;
                Ok(u64::from_be_bytes(b))
            }
        }
    }

    fn set_u64_meta(tx: &WriteTransaction, key: &str, value: u64) -> Result<()> {
        let mut meta = tx.open_table(META)?;
        meta.insert(key, value.to_be_bytes().as_slice())?;
        Ok(())
    }

    // ---- envelopes ------------------------------------------------------------------------

    /// Stores validated envelopes (one durable transaction for all) and queues new ones as
    /// pending, in the given order. Known envelopes are left untouched.
    pub fn insert_envelopes(&self, envelopes: &[&ValidatedEnvelope]) -> Result<Vec<Inserted>> {
        let tx = self.write()?;
        let mut out = Vec::with_capacity(envelopes.len());
        {
            let mut next = Self::get_u64_meta(&tx, META_NEXT_SEQ)?;
            let mut table = tx.open_table(ENVELOPES)?;
            let mut pending = tx.open_table(PENDING)?;
            for e in envelopes {
                let id = e.id().0;
                if let Some(v) = table.get(id)? {
                    let b = v.value();
                    let seq = u64::from_be_bytes(
                        b.get(..8)
                            .and_then(|s| s.try_into().ok())
                            .ok_or_else(|| corrupt("envelopes", "short value"))?,
                    );
                    out.push(Inserted::AlreadyKnown { seq });
                    continue;
                }
                let seq = next;
                next += 1;
                let mut value = Vec::with_capacity(8 + e.encoding().len());
                value.extend_from_slice(&seq.to_be_bytes());
                value.extend_from_slice(e.encoding());
                table.insert(id, value.as_slice())?;
                pending.insert(seq, id)?;
                out.push(Inserted::New { seq });
            }
            drop(table);
            drop(pending);
            Self::set_u64_meta(&tx, META_NEXT_SEQ, next)?;
        }
        self.commit(tx)?;
        Ok(out)
    }

    /// Stores one validated envelope (see [`Storage::insert_envelopes`]).
    pub fn insert_envelope(&self, envelope: &ValidatedEnvelope) -> Result<Inserted> {
        Ok(self.insert_envelopes(&[envelope])?[0])
    }

    /// The stored envelope with this id.
    pub fn envelope(&self, id: &TxId) -> Result<Option<StoredEnvelope>> {
        Ok(self.envelopes(std::slice::from_ref(id))?.pop().flatten())
    }

    /// The stored envelopes with these ids, in the given order (`None` where unknown), in
    /// one read transaction.
    pub fn envelopes(&self, ids: &[TxId]) -> Result<Vec<Option<StoredEnvelope>>> {
        let tx = self.read()?;
        let table = tx.open_table(ENVELOPES)?;
        ids.iter()
            .map(|id| {
                let Some(v) = table.get(id.0)? else {
                    return Ok(None);
                };
                let b = v.value();
                if b.len() < 8 {
                    return Err(corrupt("envelopes", "short value"));
                }
                let (seq, enc) = b.split_at(8);
                Ok(Some(StoredEnvelope {
                    id: *id,
                    seq: u64::from_be_bytes(
                        seq.try_into().map_err(|_| corrupt("envelopes", "seq"))?,
                    ),
                    encoding: enc.to_vec(),
                }))
            })
            .collect()
    }

    /// Drops ids from the pending queue without certifying them (e.g. labels that expired);
    /// the envelopes stay stored. Returns how many were pending.
    pub fn remove_pending(&self, ids: &[TxId]) -> Result<usize> {
        let tx = self.write()?;
        let mut removed = 0;
        {
            let envelopes = tx.open_table(ENVELOPES)?;
            let mut pending = tx.open_table(PENDING)?;
            for id in ids {
                if let Some(v) = envelopes.get(id.0)?
                    && let Some(seq) = v.value().get(..8).and_then(|s| <[u8; 8]>::try_from(s).ok())
                    && pending.remove(u64::from_be_bytes(seq))?.is_some()
                {
                    removed += 1;
                }
            }
        }
        self.commit(tx)?;
        Ok(removed)
    }

    /// Whether an envelope is stored.
    pub fn has_envelope(&self, id: &TxId) -> Result<bool> {
        let tx = self.read()?;
        Ok(tx.open_table(ENVELOPES)?.get(id.0)?.is_some())
    }

    /// Number of stored envelopes.
    pub fn envelope_count(&self) -> Result<u64> {
        let tx = self.read()?;
        Ok(tx.open_table(ENVELOPES)?.len()?)
    }

    /// Up to `limit` pending (uncertified) ids, in arrival order.
    pub fn pending(&self, limit: usize) -> Result<Vec<TxId>> {
        let tx = self.read()?;
        let table = tx.open_table(PENDING)?;
        let mut out = Vec::new();
        for entry in table.range(0u64..)? {
            if out.len() >= limit {
                break;
            }
            let (_, id) = entry?;
            out.push(TxId(id.value()));
        }
        Ok(out)
    }

    /// Number of pending ids.
    pub fn pending_count(&self) -> Result<u64> {
        let tx = self.read()?;
        Ok(tx.open_table(PENDING)?.len()?)
    }

    // ---- votes ----------------------------------------------------------------------------

    /// Makes a vote intent durable, with the proposal it is for. Must return `Ok` before the
    /// vote is signed. Idempotent for the same intent; a different intent for the same slot,
    /// or another child of the same parent, is refused.
    pub fn record_vote_intent(&self, intent: &VoteIntent, proposal: &Proposal) -> Result<()> {
        let tx = self.write()?;
        {
            let mut intents = tx.open_table(INTENTS)?;
            let mut children = tx.open_table(CHILDREN)?;
            if let Some(v) = intents.get(intent.slot)? {
                let prev = VoteIntent::from_bytes(v.value()).map_err(|e| corrupt("intents", e))?;
                if prev == *intent {
                    return Ok(());
                }
                return Err(StorageError::Conflict {
                    what: "another intent for this slot",
                });
            }
            if let Some(c) = children.get(intent.parent.0)?
                && c.value() != intent.commitment.0
            {
                return Err(StorageError::Conflict {
                    what: "another child of this parent",
                });
            }
            intents.insert(intent.slot, intent.to_bytes().as_slice())?;
            children.insert(intent.parent.0, intent.commitment.0)?;
            let mut proposals = tx.open_table(PROPOSALS)?;
            proposals.insert(intent.slot, proposal.to_bytes().as_slice())?;
        }
        self.commit(tx)
    }

    /// Every recorded intent, by slot.
    pub fn vote_intents(&self) -> Result<Vec<VoteIntent>> {
        let tx = self.read()?;
        let table = tx.open_table(INTENTS)?;
        let mut out = Vec::new();
        for entry in table.range(0u64..)? {
            let (_, v) = entry?;
            out.push(VoteIntent::from_bytes(v.value()).map_err(|e| corrupt("intents", e))?);
        }
        Ok(out)
    }

    /// The proposal voted for in `slot`.
    pub fn voted_proposal(&self, slot: u64) -> Result<Option<Proposal>> {
        let tx = self.read()?;
        let table = tx.open_table(PROPOSALS)?;
        table
            .get(slot)?
            .map(|v| Proposal::from_bytes(v.value()).map_err(|e| corrupt("proposals", e)))
            .transpose()
    }

    /// Every proposal voted for, by slot.
    pub fn voted_proposals(&self) -> Result<Vec<Proposal>> {
        let tx = self.read()?;
        let table = tx.open_table(PROPOSALS)?;
        let mut out = Vec::new();
        for entry in table.range(0u64..)? {
            let (_, v) = entry?;
            out.push(Proposal::from_bytes(v.value()).map_err(|e| corrupt("proposals", e))?);
        }
        Ok(out)
    }

    /// Rebuilds the vote guard after a restart: last certified tip, every intent, and the
    /// proposals voted for.
    pub fn restore_guard(&self, chain_id: u64) -> Result<VoteGuard> {
        Ok(VoteGuard::restore(
            chain_id,
            self.last_certified()?,
            self.vote_intents()?,
            self.voted_proposals()?,
        ))
    }

    /// Stores equivocation evidence (duplicates are kept once).
    pub fn record_evidence(&self, evidence: &Evidence) -> Result<()> {
        let bytes = evidence.to_bytes();
        let tx = self.write()?;
        {
            let mut table = tx.open_table(EVIDENCE)?;
            for entry in table.range(0u64..)? {
                let (_, v) = entry?;
                if v.value() == bytes.as_slice() {
                    return Ok(());
                }
            }
            let seq = Self::get_u64_meta(&tx, META_NEXT_EVIDENCE)?;
            table.insert(seq, bytes.as_slice())?;
            Self::set_u64_meta(&tx, META_NEXT_EVIDENCE, seq + 1)?;
        }
        self.commit(tx)
    }

    /// Every stored piece of evidence, in order of recording.
    pub fn evidence(&self) -> Result<Vec<Evidence>> {
        let tx = self.read()?;
        let table = tx.open_table(EVIDENCE)?;
        let mut out = Vec::new();
        for entry in table.range(0u64..)? {
            let (_, v) = entry?;
            out.push(Evidence::from_bytes(v.value()).map_err(|e| corrupt("evidence", e))?);
        }
        Ok(out)
    }

    // ---- certificates ---------------------------------------------------------------------

    /// Records a verified certificate with its batch: stores both, records each id's
    /// position, removes the ids from the pending queue, and advances the last certified tip
    /// if the slot is newer. Returns `false` if this certificate was already recorded; a
    /// different certificate or batch for the same slot is refused.
    pub fn record_certificate(
        &self,
        certificate: &OrderCertificate,
        batch: &Batch,
    ) -> Result<bool> {
        if certificate.slot != batch.slot
            || certificate.parent != batch.parent
            || certificate.commitment != batch.commitment()
        {
            return Err(StorageError::Conflict {
                what: "certificate does not match batch",
            });
        }
        let tx = self.write()?;
        {
            let mut certs = tx.open_table(CERTIFICATES)?;
            if let Some(v) = certs.get(certificate.slot)? {
                let prev = OrderCertificate::from_bytes(v.value())
                    .map_err(|e| corrupt("certificates", e))?;
                if prev.commitment == certificate.commitment {
                    return Ok(false);
                }
                return Err(StorageError::Conflict {
                    what: "another certificate for this slot",
                });
            }
            certs.insert(certificate.slot, certificate.to_bytes().as_slice())?;
            tx.open_table(BATCHES)?
                .insert(batch.slot, batch.to_bytes().as_slice())?;
            let mut positions = tx.open_table(POSITIONS)?;
            let envelopes = tx.open_table(ENVELOPES)?;
            let mut pending = tx.open_table(PENDING)?;
            for (i, id) in batch.ids.iter().enumerate() {
                // Batches hold at most MAX_BATCH_IDS < 2^32 ids.
                positions.insert(id.0, (batch.slot, i as u32))?;
                if let Some(v) = envelopes.get(id.0)? {
                    let b = v.value();
                    if let Some(seq) = b.get(..8).and_then(|s| <[u8; 8]>::try_from(s).ok()) {
                        pending.remove(u64::from_be_bytes(seq))?;
                    }
                }
            }
            let mut meta = tx.open_table(META)?;
            let newer = match meta.get(META_LAST_CERTIFIED)? {
                None => true,
                Some(v) => decode_tip(v.value())?
                    .slot
                    .is_none_or(|s| s < certificate.slot),
            };
            if newer {
                let mut v = certificate.slot.to_be_bytes().to_vec();
                v.extend_from_slice(&certificate.commitment.0);
                meta.insert(META_LAST_CERTIFIED, v.as_slice())?;
            }
        }
        self.commit(tx)?;
        Ok(true)
    }

    /// The last certified tip (genesis if none).
    pub fn last_certified(&self) -> Result<CertifiedTip> {
        let tx = self.read()?;
        let meta = tx.open_table(META)?;
        match meta.get(META_LAST_CERTIFIED)? {
            None => Ok(CertifiedTip::genesis()),
            Some(v) => decode_tip(v.value()),
        }
    }

    /// The certificate of `slot`.
    pub fn certificate(&self, slot: u64) -> Result<Option<OrderCertificate>> {
        let tx = self.read()?;
        let table = tx.open_table(CERTIFICATES)?;
        table
            .get(slot)?
            .map(|v| {
                OrderCertificate::from_bytes(v.value()).map_err(|e| corrupt("certificates", e))
            })
            .transpose()
    }

    /// The certified batch of `slot`.
    pub fn certified_batch(&self, slot: u64) -> Result<Option<Batch>> {
        let tx = self.read()?;
        let table = tx.open_table(BATCHES)?;
        table
            .get(slot)?
            .map(|v| Batch::from_bytes(v.value()).map_err(|e| corrupt("batches", e)))
            .transpose()
    }

    /// Certified slots from `from` on, ascending, at most `limit`.
    pub fn certified_slots(&self, from: u64, limit: usize) -> Result<Vec<u64>> {
        let tx = self.read()?;
        let table = tx.open_table(CERTIFICATES)?;
        let mut out = Vec::new();
        for entry in table.range(from..)? {
            if out.len() >= limit {
                break;
            }
            out.push(entry?.0.value());
        }
        Ok(out)
    }

    /// Where a certified id sits.
    pub fn position(&self, id: &TxId) -> Result<Option<Position>> {
        let tx = self.read()?;
        let table = tx.open_table(POSITIONS)?;
        Ok(table.get(id.0)?.map(|v| {
            let (slot, index) = v.value();
            Position { slot, index }
        }))
    }

    // ---- shares ---------------------------------------------------------------------------

    /// Makes this member's shares for a slot durable (before sending them). Idempotent;
    /// different shares for the same slot are refused (re-send the stored ones instead).
    pub fn record_own_shares(&self, shares: &SharesMessage) -> Result<()> {
        let bytes = shares.to_bytes();
        let tx = self.write()?;
        {
            let mut table = tx.open_table(OWN_SHARES)?;
            if let Some(v) = table.get(shares.slot)? {
                if v.value() == bytes.as_slice() {
                    return Ok(());
                }
                return Err(StorageError::Conflict {
                    what: "other own shares for this slot",
                });
            }
            table.insert(shares.slot, bytes.as_slice())?;
        }
        self.commit(tx)
    }

    /// This member's shares for `slot`.
    pub fn own_shares(&self, slot: u64) -> Result<Option<SharesMessage>> {
        let tx = self.read()?;
        let table = tx.open_table(OWN_SHARES)?;
        table
            .get(slot)?
            .map(|v| SharesMessage::from_bytes(v.value()).map_err(|e| corrupt("own_shares", e)))
            .transpose()
    }

    /// Stores shares received from another member (first message per member and slot wins).
    /// Returns whether they were new.
    pub fn record_received_shares(&self, shares: &SharesMessage) -> Result<bool> {
        let tx = self.write()?;
        {
            let mut table = tx.open_table(RECEIVED_SHARES)?;
            let key = (shares.slot, shares.member);
            if table.get(key)?.is_some() {
                return Ok(false);
            }
            table.insert(key, shares.to_bytes().as_slice())?;
        }
        self.commit(tx)?;
        Ok(true)
    }

    /// Stores the encoding of a shares message received from `member` for `slot` (first
    /// message per member and slot wins), as it arrived: the caller has authenticated it
    /// and checked its shape ([`veil_protocol::SharesMessage::peek`]) but not yet validated
    /// its points, which are checked when the shares are used
    /// ([`Storage::received_share_encodings`]). Returns whether it was new.
    pub fn record_received_share_encoding(
        &self,
        slot: u64,
        member: u32,
        encoding: &[u8],
    ) -> Result<bool> {
        let tx = self.write()?;
        {
            let mut table = tx.open_table(RECEIVED_SHARES)?;
            let key = (slot, member);
            if table.get(key)?.is_some() {
                return Ok(false);
            }
            table.insert(key, encoding)?;
        }
        self.commit(tx)?;
        Ok(true)
    }

    /// The stored encodings of the shares received for `slot`, by member ascending, not
    /// decoded: decode (and so validate) only those used.
    pub fn received_share_encodings(&self, slot: u64) -> Result<Vec<(u32, Vec<u8>)>> {
        let tx = self.read()?;
        let table = tx.open_table(RECEIVED_SHARES)?;
        let mut out = Vec::new();
        for entry in table.range((slot, 0u32)..=(slot, u32::MAX))? {
            let (k, v) = entry?;
            out.push((k.value().1, v.value().to_vec()));
        }
        Ok(out)
    }

    /// Members whose shares for `slot` are stored, ascending (keys only: no share point is
    /// decoded, which makes this far cheaper than [`Storage::received_shares`]).
    pub fn received_share_members(&self, slot: u64) -> Result<Vec<u32>> {
        let tx = self.read()?;
        let table = tx.open_table(RECEIVED_SHARES)?;
        let mut out = Vec::new();
        for entry in table.range((slot, 0u32)..=(slot, u32::MAX))? {
            out.push(entry?.0.value().1);
        }
        Ok(out)
    }

    /// Shares received for `slot`, by member, decoded with full validation. An entry stored
    /// by [`Storage::record_received_share_encoding`] whose points do not validate (a faulty
    /// member's) is skipped: it is the sender's fault, not corruption.
    pub fn received_shares(&self, slot: u64) -> Result<Vec<SharesMessage>> {
        Ok(self
            .received_share_encodings(slot)?
            .into_iter()
            .filter_map(|(_, b)| SharesMessage::from_bytes(&b).ok())
            .collect())
    }

    // ---- plaintext batches and cursors ----------------------------------------------------

    /// Stores the plaintext batch of a slot. Idempotent; a different batch for the same slot
    /// is refused.
    pub fn record_plaintext(&self, batch: &PlaintextBatch) -> Result<()> {
        let bytes = batch.to_bytes();
        let tx = self.write()?;
        {
            let mut table = tx.open_table(PLAINTEXTS)?;
            if let Some(v) = table.get(batch.slot)? {
                if v.value() == bytes.as_slice() {
                    return Ok(());
                }
                return Err(StorageError::Conflict {
                    what: "another plaintext batch for this slot",
                });
            }
            table.insert(batch.slot, bytes.as_slice())?;
        }
        self.commit(tx)
    }

    /// The plaintext batch of `slot`.
    pub fn plaintext(&self, slot: u64) -> Result<Option<PlaintextBatch>> {
        let tx = self.read()?;
        let table = tx.open_table(PLAINTEXTS)?;
        table
            .get(slot)?
            .map(|v| PlaintextBatch::from_bytes(v.value()).map_err(|e| corrupt("plaintexts", e)))
            .transpose()
    }

    /// Whether the plaintext batch of `slot` is stored (without decoding it).
    pub fn has_plaintext(&self, slot: u64) -> Result<bool> {
        let tx = self.read()?;
        let table = tx.open_table(PLAINTEXTS)?;
        Ok(table.get(slot)?.is_some())
    }

    /// Plaintext batches from slot `from` on, ascending, at most `limit`.
    pub fn plaintexts_from(&self, from: u64, limit: usize) -> Result<Vec<PlaintextBatch>> {
        let tx = self.read()?;
        let table = tx.open_table(PLAINTEXTS)?;
        let mut out = Vec::new();
        for entry in table.range(from..)? {
            if out.len() >= limit {
                break;
            }
            let (_, v) = entry?;
            out.push(PlaintextBatch::from_bytes(v.value()).map_err(|e| corrupt("plaintexts", e))?);
        }
        Ok(out)
    }

    /// A consumer's next slot.
    pub fn cursor(&self, name: &str) -> Result<Option<u64>> {
        let tx = self.read()?;
        let table = tx.open_table(CURSORS)?;
        Ok(table.get(name)?.map(|v| v.value()))
    }

    /// Sets a consumer's next slot (durably, after it has processed everything before).
    pub fn set_cursor(&self, name: &str, next_slot: u64) -> Result<()> {
        let tx = self.write()?;
        tx.open_table(CURSORS)?.insert(name, next_slot)?;
        self.commit(tx)
    }

    /// Every consumer cursor.
    pub fn cursors(&self) -> Result<Vec<(String, u64)>> {
        let tx = self.read()?;
        let table = tx.open_table(CURSORS)?;
        let mut out = Vec::new();
        for entry in table.range::<&str>(..)? {
            let (k, v) = entry?;
            out.push((k.value().to_string(), v.value()));
        }
        Ok(out)
    }

    // ---- puzzle openings --------------------------------------------------------------------

    /// Stores a puzzle opening (a reveal or a proven solution) for `id`; the caller has
    /// checked that it opens the item. Returns whether it was new: the first opening stored
    /// is kept (any valid opening yields the same key, so a second one adds nothing).
    /// [`Opening::Committee`] is not a puzzle opening and is refused as a conflict.
    pub fn record_opening(&self, id: &TxId, opening: &Opening) -> Result<bool> {
        let bytes = encode_opening(opening).ok_or(StorageError::Conflict {
            what: "a committee opening is not stored per item",
        })?;
        let tx = self.write()?;
        {
            let mut table = tx.open_table(OPENINGS)?;
            if table.get(id.0)?.is_some() {
                return Ok(false);
            }
            table.insert(id.0, bytes.as_slice())?;
        }
        self.commit(tx)?;
        Ok(true)
    }

    /// The stored puzzle opening of `id`.
    pub fn opening(&self, id: &TxId) -> Result<Option<Opening>> {
        let tx = self.read()?;
        let table = tx.open_table(OPENINGS)?;
        table
            .get(id.0)?
            .map(|v| decode_opening(v.value()))
            .transpose()
    }

    // ---- forwarding -----------------------------------------------------------------------

    /// The next (slot, index) the forwarder named `name` sends (`None` before the first).
    pub fn forward_cursor(&self, name: &str) -> Result<Option<(u64, u32)>> {
        let tx = self.read()?;
        let table = tx.open_table(FORWARD_CURSOR)?;
        Ok(table.get(name)?.map(|v| v.value()))
    }

    /// Moves the forwarder's cursor to `next` and, if given, records what the endpoint said
    /// about `id` — one durable transaction, so a crash never separates the two.
    pub fn record_forwarded(
        &self,
        name: &str,
        result: Option<(&TxId, &ForwardResult)>,
        next: (u64, u32),
    ) -> Result<()> {
        let tx = self.write()?;
        {
            if let Some((id, r)) = result {
                tx.open_table(FORWARDED)?
                    .insert(id.0, r.to_bytes().as_slice())?;
            }
            tx.open_table(FORWARD_CURSOR)?.insert(name, next)?;
        }
        self.commit(tx)
    }

    /// What the endpoint answered when `id` was forwarded.
    pub fn forwarded(&self, id: &TxId) -> Result<Option<ForwardResult>> {
        let tx = self.read()?;
        let table = tx.open_table(FORWARDED)?;
        table
            .get(id.0)?
            .map(|v| ForwardResult::from_bytes(v.value()))
            .transpose()
    }
}

fn decode_tip(b: &[u8]) -> Result<CertifiedTip> {
    if b.len() != 40 {
        return Err(corrupt("meta", "last certified"));
    }
    let (slot, c) = b.split_at(8);
    Ok(CertifiedTip {
        slot: Some(u64::from_be_bytes(
            slot.try_into()
                .map_err(|_| corrupt("meta", "last certified"))?,
        )),
        commitment: Commitment::from_bytes(c).map_err(|e| corrupt("meta", e))?,
    })
}
