//! The committee protocol of Veil as pure state machines and message types: envelopes,
//! batches, votes, order certificates, share release and plaintext batches (no I/O).
//!
//! Nothing here reads a clock, touches a disk or a socket, or spawns a thread: every
//! decision is a function of its inputs, so the node (`veil-node`) drives these types and
//! `veil-storage` persists them, and both can be tested against this crate's rules.
//!
//! # Flow of one slot `s`
//!
//! | step | who | what | type |
//! | --- | --- | --- | --- |
//! | 1 | wallet → member | an envelope (threshold, delay or dual mode) is validated, stored, acknowledged | [`TxEnvelope`], [`validate_batch`], [`Receipt`] |
//! | 2 | sequencer | orders held ids into a batch, `C_s = H(chain, s, parent, merkle_root(ids))`, signs | [`Batch`], [`Proposal`] |
//! | 3 | member | applies the vote rule, **persists the intent**, then signs | [`VoteGuard`], [`VoteIntent`], [`Vote`] |
//! | 4 | sequencer (anyone) | aggregates a quorum of votes | [`CertificateBuilder`], [`OrderCertificate`] |
//! | 5 | member | releases shares only under a valid certificate for exactly this batch | [`ReleaseGuard`], [`SharesMessage`] |
//! | 6 | anyone with `t` shares | opens the batch in certified order, failed items marked invalid | [`BatchOpening`], [`PlaintextBatch`] |
//! | 7 | node | delivers plaintext batches in slot order per consumer cursor | (`veil-storage`) |
//!
//! Members talk through [`SignedMessage`]s (one BLS signature per message, checked against
//! the committee before the body is decoded).
//!
//! # Safety argument
//!
//! Let `n` members of which at most `f` are Byzantine, certificate quorum `q` with
//! `2q > n + f` ([`CommitteeConfig::validate`]), decryption threshold `t > f`.
//!
//! **Quorum intersection.** Two quorums `Q₁, Q₂` satisfy `|Q₁ ∩ Q₂| ≥ 2q − n > f`, so they
//! share at least one honest member.
//!
//! **The vote rule** ([`VoteGuard`]). An honest member signs at most one commitment per
//! slot and at most one child per parent, and only children of the last certified
//! commitment it knows. Hence two certificates for the same slot with different
//! commitments would need an honest member in both quorums to have signed both —
//! impossible; likewise for two children of one parent. So **at most one batch per
//! (slot, parent) is ever certified**, and certified batches form a single chain. The test
//! `two_conflicting_certificates_need_more_than_f_equivocators` enumerates every honest
//! voting pattern with `f` equivocators and finds no pair of conflicting certificates.
//!
//! **Release only after certification** ([`ReleaseGuard`]). Shares are computed only
//! through a [`ReleaseAuthorization`], which only [`ReleaseGuard::authorize`] creates, and
//! only from a certificate that verifies at quorum and names exactly the batch's slot,
//! parent and commitment, on envelopes whose ids are the certified ids in order. With
//! `t > f`, the Byzantine members plus the sequencer hold fewer than `t` shares of any
//! uncertified batch, so nothing in it can be decrypted (privacy before commitment), and the
//! only decryptable batch per (slot, parent) is the certified one (order binding).
//!
//! **Order in the plaintext.** A [`PlaintextBatch`] lists one item per certified id, in the
//! certified order; an item that fails to decrypt under a provably correct key keeps its
//! position as [`Outcome::Invalid`]. [`PlaintextBatch::verify`] rebuilds the commitment from
//! the items' ids (so a reordered, dropped or injected item changes it), checks the
//! certificate, and recomputes every outcome from the share messages (with their proofs)
//! or the puzzle openings it carries.
//!
//! **Equivocating sequencer.** Two signed proposals by one sequencer for one slot or one
//! parent with different commitments are [`Evidence`]; the guard returns it with its
//! refusal so the node can store and publish it.
//!
//! # Several rollups, atomic bundles
//!
//! One committee may order envelopes for several rollups (the labels' chain ids). A
//! version-2 [`Batch`] lists each id's chain id, and its commitment binds a second Merkle
//! layer, the rollup index: one leaf `(chain id, count, sub-batch root)` per rollup, sorted.
//! A rollup's consumer checks its [`SubBatch`] — ordered items, certificate, proof — for
//! completeness: nothing of its own dropped, nothing added ([`rollup`]). Members check the
//! listed chain ids against the labels of the envelopes they hold before voting
//! ([`rollup::check_chains`]).
//!
//! A bundle is several threshold ciphertexts bound through their labels to a digest over
//! their chain ids and `U` elements; members vote only for batches in which every bundle is
//! complete, contiguous and in order ([`bundle::check_bundles`]), so **inclusion** is atomic.
//! If any member fails to decrypt, all are marked invalid, so **delivery** is atomic too.
//! **Execution** is not: each rollup executes its part on its own ([`bundle`]).
//!
//! # Liveness, and what this crate does not decide
//!
//! The vote rule makes a member's vote for a child of its tip final: it will not vote for
//! any other child of that parent. So a proposal that fails to certify (a member lacked an
//! envelope, a message was lost) must be **re-proposed unchanged** — the same batch has the
//! same commitment, and [`VoteGuard::decide`] accepts an identical proposal again — and
//! members that refused with [`Refusal::Missing`] fetch the listed ids and vote then. A
//! sequencer should therefore make its proposal durable before sending it. If a sequencer
//! equivocates so that honest votes split and no side reaches the quorum, that parent is
//! stuck: resolving it needs the rollup's own ordering (Veil does not invent a consensus
//! protocol); the [`Evidence`] tells the operator why.
//!
//! Signed member messages carry no nonce: replaying one is harmless because every message
//! kind is idempotent (the same vote, certificate, shares or envelopes again).
//!
//! # Deviations
//!
//! - Dual envelopes: `veil-timelock` exposes no puzzle-only validity check, so validation
//!   checks a dual item's threshold proof once on its own and once more inside the batched
//!   check (which yields the `VerifiedCiphertext` the share path needs).
//! - Delay envelopes carry their label next to the delay ciphertext (which does not embed
//!   one); envelope decoding needs no parameters, and delay/dual bodies are decoded against
//!   the delay parameters only in [`validate_batch`].
//! - The Merkle tree is RFC 6962's with Veil tags in place of its one-byte prefixes.
//!
//! # What is durable when
//!
//! - An envelope is stored durably **before** the receipt is signed and returned.
//! - A vote intent is stored durably **before** the vote is signed or sent; after a crash,
//!   [`VoteGuard::restore`] from the stored intents and last certified tip reproduces every
//!   refusal, so a restarted member never signs a conflicting vote.
//! - A certificate is stored before shares are released; own shares are stored before they
//!   are sent (re-sending after a crash sends the same proof-checked shares).
//! - A plaintext batch is stored before it is delivered; consumer cursors advance after.
//!
//! # Encodings
//!
//! Every type has a canonical versioned binary encoding (`version ‖ fields`, big-endian,
//! `u32` length prefixes) whose decoder validates every length, point and enum tag and
//! refuses trailing bytes, and a serde JSON form with hex bytes. Fixture tests freeze the
//! bytes of known values. Hashes and signed messages are domain-separated by the tags in
//! `veil_domain::protocol`; a signature on a vote can never be taken for a proposal, a
//! receipt or a member message.
//!
//! # Example
//!
//! ```
//! use veil_protocol::{Batch, Commitment, Proposal, SequencerId, VoteGuard, TxId};
//! use veil_threshold::SigningKey;
//! # use rand_core::SeedableRng;
//! # let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
//! let sequencer = SigningKey::generate(&mut rng);
//! let batch = Batch { chain_id: 7, slot: 1, parent: Commitment::genesis(), ids: vec![TxId([1; 32])], chains: vec![] };
//! let proposal = Proposal::sign(&sequencer, SequencerId(0), batch.clone()).unwrap();
//!
//! let mut guard = VoteGuard::new(7);
//! // Not all ids held: refused.
//! assert!(guard.decide(&proposal, |_| false).is_err());
//! let intent = guard.decide(&proposal, |_| true).unwrap();
//! assert_eq!(intent.commitment, batch.commitment());
//! // A different batch for the same slot: refused, with evidence against the sequencer.
//! let other = Proposal::sign(&sequencer, SequencerId(0), Batch { ids: vec![TxId([2; 32])], ..batch }).unwrap();
//! let refusal = guard.decide(&other, |_| true).unwrap_err();
//! assert!(refusal.evidence().is_some());
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod batch;
pub mod bundle;
pub mod certificate;
pub mod codec;
pub mod config;
pub mod envelope;
pub mod merkle;
pub mod message;
pub mod plaintext;
pub mod receipt;
pub mod release;
pub mod rollup;
pub mod vote;

pub use batch::{Batch, BatchError, Commitment, Evidence, MAX_BATCH_IDS, Proposal, SequencerId};
pub use bundle::{BundleError, BundleTag, check_bundles};
pub use certificate::{CertificateBuilder, CertificateError, OrderCertificate, Progress};
pub use codec::CodecError;
pub use config::{CommitteeConfig, ConfigError};
pub use envelope::{
    EnvelopeError, MAX_ENVELOPE, TxEnvelope, TxId, ValidatedBody, ValidatedEnvelope,
    ValidationContext, validate, validate_batch,
};
pub use merkle::{InclusionProof, MerkleError, merkle_root};
pub use message::{MemberMessage, MessageError, MessageKind, SignedMessage};
pub use plaintext::{
    BatchOpening, Opening, Outcome, PlaintextBatch, PlaintextError, PlaintextItem, VerifyContext,
};
pub use receipt::{Receipt, ReceiptError, ReceiptSubject};
pub use release::{ReleaseAuthorization, ReleaseError, ReleaseGuard, SharesHeader, SharesMessage};
pub use rollup::{ChainsError, RollupIndex, RollupProof, SubBatch, SubBatchError, SubBatchItem};
pub use vote::{CertifiedTip, Refusal, Vote, VoteError, VoteGuard, VoteIntent};
