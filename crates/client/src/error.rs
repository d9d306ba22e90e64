//! The client's one error type.

use thiserror::Error;

/// Why a client operation failed.
///
/// Variants are grouped by where the failure lies: the committee or parameters the wallet
/// trusts, the transaction it was asked to encrypt, the transport, and what the node
/// answered. Every answer from a node is adversarial: a response that does not match the
/// certified batch is [`ClientError::BatchMismatch`], never a silently accepted value.
#[derive(Debug, Error)]
pub enum ClientError {
    /// `committee.json` failed keygen's checks (encoding, proofs of possession, key
    /// consistency).
    #[error("committee: {0}")]
    Committee(#[from] veil_keygen::CommitteeError),
    /// The committee's transcript hash is not the one the wallet pinned.
    #[error("committee transcript hash {found} differs from the pinned {expected}")]
    TranscriptHashMismatch {
        /// Pinned hash (hex).
        expected: String,
        /// Hash in the file (hex).
        found: String,
    },
    /// The committee is not the outcome of the supplied ceremony transcript.
    #[error("committee does not follow from the transcript: {0}")]
    Transcript(String),
    /// The committee's keys could not be turned into encryption or certificate keys.
    #[error("committee keys: {0}")]
    CommitteeKeys(String),
    /// The delay parameters do not decode or their proof does not verify.
    #[error("delay parameters: {0}")]
    DelayParams(#[from] veil_timelock::ParamsError),
    /// The delay parameters are not the ones the wallet pinned.
    #[error("delay parameters {found} differ from the pinned {expected}")]
    DelayParamsMismatch {
        /// Pinned parameter id (hex).
        expected: String,
        /// Id of the parameters offered (hex).
        found: String,
    },
    /// Delay or dual mode was asked for without delay parameters.
    #[error("delay mode needs delay parameters")]
    DelayDisabled,
    /// The label's chain id is not one the committee's service accepts.
    #[error("chain id {chain_id} is not served here (accepted: {allowed:?})")]
    WrongChain {
        /// Chain id asked for.
        chain_id: u64,
        /// Chain ids the service accepts.
        allowed: Vec<u64>,
    },
    /// The signed transaction's chain id differs from the label's.
    #[error("transaction is for chain {tx}, label for chain {label}")]
    TxChainMismatch {
        /// Chain id inside the signed transaction.
        tx: u64,
        /// Chain id of the label.
        label: u64,
    },
    /// A label field is out of range.
    #[error("label: {0}")]
    Label(#[from] veil_threshold::LabelError),
    /// Encryption refused its input (e.g. a payload over the size limit).
    #[error("encryption: {0}")]
    Encrypt(String),
    /// An Ethereum transaction could not be built, signed or decoded.
    #[error("ethereum transaction: {0}")]
    Eth(String),
    /// The node could not be reached or the connection failed.
    #[error("transport: {0}")]
    Transport(String),
    /// The node answered with an error body.
    #[error("node refused ({status} {code}): {message}")]
    Node {
        /// HTTP status.
        status: u16,
        /// The stable error code.
        code: String,
        /// The node's message.
        message: String,
    },
    /// The node's answer is not the documented shape.
    #[error("malformed node response: {0}")]
    Malformed(String),
    /// The node's receipt is not a valid signature of a committee member over this
    /// submission.
    #[error("receipt does not verify: {0}")]
    BadReceipt(String),
    /// A certificate does not verify against the committee.
    #[error("certificate for slot {slot} does not verify: {reason}")]
    BadCertificate {
        /// The slot.
        slot: u64,
        /// Why.
        reason: String,
    },
    /// A rollup's sub-batch that does not verify: wrong slot, rollup or service, a
    /// certificate below quorum, or items that do not rebuild the certified commitment
    /// (one of the rollup's items dropped, injected, reordered or altered).
    #[error("sub-batch of rollup {rollup}, slot {slot} does not verify: {reason}")]
    BadSubBatch {
        /// The rollup asked about.
        rollup: u64,
        /// The slot asked about.
        slot: u64,
        /// What failed.
        reason: String,
    },
    /// The node's response does not match the certified batch (wrong slot, ids that do not
    /// rebuild the certified commitment, another id at the claimed position, a plaintext
    /// other than the one encrypted, or a JSON view that contradicts the binary one).
    #[error("response does not match the certified batch of slot {slot}: {what}")]
    BatchMismatch {
        /// The slot.
        slot: u64,
        /// What did not match.
        what: String,
    },
    /// A wait ran out.
    #[error("timed out after {seconds} s waiting for {what}")]
    Timeout {
        /// The bound, in seconds.
        seconds: u64,
        /// What was awaited.
        what: &'static str,
    },
}

impl ClientError {
    pub(crate) fn mismatch(slot: u64, what: impl Into<String>) -> Self {
        Self::BatchMismatch {
            slot,
            what: what.into(),
        }
    }
}
