//! Veil's registry of domain-separation tags: one versioned tag for every hash Veil computes.
//!
//! Every hash, key derivation, hash-to-curve and Fiat–Shamir challenge in Veil is
//! domain-separated by a tag defined here and nowhere else, so that no two uses of a hash can
//! ever be confused, and so that a reviewer can see every use of a hash on one page.
//!
//! # Naming scheme
//!
//! `VEIL-V<version>-<AREA>-<PURPOSE>`, upper case ASCII, where `<AREA>` names the crate or
//! subsystem and `<PURPOSE>` the use. Hash-to-curve tags follow RFC 9380 §3.1 and append the
//! suite identifier, e.g. `VEIL-V1-THRESHOLD-GBAR_BLS12381G1_XMD:SHA-256_SSWU_RO_`.
//!
//! Changing a tag changes every value derived with it (ciphertexts, proofs, signatures,
//! commitments) and is therefore a **breaking change**: bump the version component and record
//! it in the changelog. Test-vector tags such as RFC 9380's `QUUX-V01-CS02-...` are never
//! used outside tests.
//!
//! ```
//! use veil_domain::{all_tags, threshold};
//! assert!(threshold::KEM_KDF.starts_with(b"VEIL-V1-"));
//! // Every registered tag is distinct.
//! let tags = all_tags();
//! for (i, a) in tags.iter().enumerate() {
//!     for b in &tags[i + 1..] {
//!         assert_ne!(a, b);
//!     }
//! }
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

/// Tags of the threshold encryption scheme (TDH2 on BLS12-381 G1, hybrid with AES-256-GCM).
pub mod threshold {
    /// Hash-to-curve (RFC 9380, `BLS12381G1_XMD:SHA-256_SSWU_RO_`) deriving the independent
    /// generator `Ḡ` of G1.
    pub const GBAR_H2C: &[u8] = b"VEIL-V1-THRESHOLD-GBAR_BLS12381G1_XMD:SHA-256_SSWU_RO_";
    /// HKDF (SHA-256) deriving the data-encapsulation key from `r·PK`, `U` and the label.
    pub const KEM_KDF: &[u8] = b"VEIL-V1-THRESHOLD-KEM-KDF";
    /// Key-commitment tag over the derived data key.
    pub const KEY_COMMITMENT: &[u8] = b"VEIL-V1-THRESHOLD-KEY-COMMITMENT";
    /// Hash of a label into the bytes that proofs and KDFs bind.
    pub const LABEL: &[u8] = b"VEIL-V1-THRESHOLD-LABEL";
    /// Challenge of the ciphertext-validity DLEQ proof (`log_G U = log_Ḡ Ū`).
    pub const CIPHERTEXT_DLEQ: &[u8] = b"VEIL-V1-THRESHOLD-CIPHERTEXT-DLEQ";
    /// Challenge of a member's batched DLEQ proof over its decryption shares.
    pub const SHARE_DLEQ: &[u8] = b"VEIL-V1-THRESHOLD-SHARE-DLEQ";
    /// Coefficients of random linear combinations used in batch verification.
    pub const BATCH_WEIGHTS: &[u8] = b"VEIL-V1-THRESHOLD-BATCH-WEIGHTS";
    /// Identifier of a ciphertext (hash of its canonical encoding).
    pub const CIPHERTEXT_ID: &[u8] = b"VEIL-V1-THRESHOLD-CIPHERTEXT-ID";
}

/// Tags of the BLS multi-signatures that form order certificates.
pub mod certificate {
    /// Hash-to-curve (RFC 9380, G2) for signed messages; `NUL` ciphersuite with
    /// proof-of-possession, in the naming style of the IETF BLS draft.
    pub const SIGN_H2C: &[u8] = b"VEIL-V1-CERTIFICATE-SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    /// Hash-to-curve (RFC 9380, G2) for proofs of possession of a signing key.
    pub const POP_H2C: &[u8] = b"VEIL-V1-CERTIFICATE-POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    /// Coefficients of random linear combinations when many signatures are verified at once.
    pub const BATCH_WEIGHTS: &[u8] = b"VEIL-V1-CERTIFICATE-BATCH-WEIGHTS";
}

/// Tags of delay mode: RSW time-lock puzzles and Wesolowski proofs.
pub mod timelock {
    /// Hash deriving the puzzle base `g` from a seed (nothing-up-my-sleeve).
    pub const GENERATOR: &[u8] = b"VEIL-V1-TIMELOCK-GENERATOR";
    /// Hash-to-prime producing the Wesolowski challenge prime `ℓ`.
    pub const WESOLOWSKI_PRIME: &[u8] = b"VEIL-V1-TIMELOCK-WESOLOWSKI-PRIME";
    /// HKDF (SHA-256) deriving the data key from the puzzle solution `h^a` and the label.
    pub const PUZZLE_KDF: &[u8] = b"VEIL-V1-TIMELOCK-PUZZLE-KDF";
    /// Key-commitment tag over the derived data key.
    pub const KEY_COMMITMENT: &[u8] = b"VEIL-V1-TIMELOCK-KEY-COMMITMENT";
    /// Challenge of the proof of knowledge of the puzzle exponent `a`.
    pub const EXPONENT_POK: &[u8] = b"VEIL-V1-TIMELOCK-EXPONENT-POK";
    /// Hash of a delay-parameter set, used as its identifier.
    pub const PARAMS_ID: &[u8] = b"VEIL-V1-TIMELOCK-PARAMS-ID";
    /// HKDF (SHA-256) wrapping one data key under both the threshold KEM and a puzzle (dual
    /// mode).
    pub const DUAL_WRAP: &[u8] = b"VEIL-V1-TIMELOCK-DUAL-WRAP";
    /// Challenge of the proof that `o = g^a` and `P = (h^2)^a` share one exponent (delay
    /// ciphertexts v2).
    pub const EXPONENT_EQUALITY: &[u8] = b"VEIL-V1-TIMELOCK-EXPONENT-EQUALITY";
    /// Poseidon key derivation from the puzzle solution `k = h^a` (delay ciphertexts v2).
    pub const POSEIDON_KDF: &[u8] = b"VEIL-V1-TIMELOCK-POSEIDON-KDF";
    /// Poseidon MAC over the payload ciphertext's digest (delay ciphertexts v2).
    pub const POSEIDON_MAC: &[u8] = b"VEIL-V1-TIMELOCK-POSEIDON-MAC";
    /// Poseidon hash of the public statement of a delay-ciphertext SNARK.
    pub const SNARK_STATEMENT: &[u8] = b"VEIL-V1-TIMELOCK-SNARK-STATEMENT";
    /// SHA-256 digest of a v2 payload ciphertext (the value the Poseidon MAC covers).
    pub const PAYLOAD_DIGEST: &[u8] = b"VEIL-V1-TIMELOCK-PAYLOAD-DIGEST";
    /// SHA-256 counter-mode keystream of a v2 payload ciphertext.
    pub const PAYLOAD_STREAM: &[u8] = b"VEIL-V1-TIMELOCK-PAYLOAD-STREAM";
    /// Digest of a puzzle element `o` as a field element (delay ciphertexts v2).
    pub const PUZZLE_DIGEST: &[u8] = b"VEIL-V1-TIMELOCK-PUZZLE-DIGEST";
    /// Seed of the reproducible, insecure (public toxic waste) Groth16 setup for tests and
    /// devnets.
    pub const INSECURE_SNARK_SETUP: &[u8] = b"VEIL-V1-TIMELOCK-INSECURE-SNARK-SETUP";
}

/// Tags of the key ceremony (publicly verifiable DKG and resharing, `veil-keygen`).
pub mod keygen {
    /// Hash-to-curve (RFC 9380, G2) for BLS signatures on ceremony messages (dealings,
    /// complaints); distinct from certificate signatures so that no ceremony message can be
    /// replayed as a vote and vice versa.
    pub const SIGN_H2C: &[u8] = b"VEIL-V1-KEYGEN-SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    /// Hash of a ceremony's public parameters (roster, threshold, epoch), its identifier.
    pub const PARAMS_ID: &[u8] = b"VEIL-V1-KEYGEN-PARAMS-ID";
    /// Hash-to-scalar key stream (hashed ElGamal) that pads an encrypted share.
    pub const SHARE_PAD: &[u8] = b"VEIL-V1-KEYGEN-SHARE-PAD";
    /// Challenge of a dealer's Schnorr proof of knowledge of its constant coefficient.
    pub const DEALER_POK: &[u8] = b"VEIL-V1-KEYGEN-DEALER-POK";
    /// Challenge of a member's Schnorr proof of knowledge of its share-encryption key.
    pub const ENCRYPTION_POK: &[u8] = b"VEIL-V1-KEYGEN-ENCRYPTION-POK";
    /// Challenge of a complaint's DLEQ proof revealing one pairwise key.
    pub const COMPLAINT_DLEQ: &[u8] = b"VEIL-V1-KEYGEN-COMPLAINT-DLEQ";
    /// Identifier of a dealing (hash of its canonical encoding).
    pub const DEALING_ID: &[u8] = b"VEIL-V1-KEYGEN-DEALING-ID";
    /// Hash of a whole ceremony transcript, recorded in `committee.json`.
    pub const TRANSCRIPT: &[u8] = b"VEIL-V1-KEYGEN-TRANSCRIPT";
    /// Coefficients of random linear combinations when many shares are checked at once.
    pub const BATCH_WEIGHTS: &[u8] = b"VEIL-V1-KEYGEN-BATCH-WEIGHTS";
}

/// Tags of the committee protocol (`veil-protocol`): envelopes, batches, votes, receipts and
/// member-to-member messages. Every BLS-signed protocol message starts with one of these, so
/// a signature on one kind of message is never valid as another kind.
pub mod protocol {
    /// Identifier of a transaction envelope (hash of its canonical encoding).
    pub const TX_ID: &[u8] = b"VEIL-V1-PROTOCOL-TX-ID";
    /// Merkle tree leaf hash over an ordered list of ids (RFC 6962 §2.1 leaf, own tag).
    pub const MERKLE_LEAF: &[u8] = b"VEIL-V1-PROTOCOL-MERKLE-LEAF";
    /// Merkle tree interior-node hash (RFC 6962 §2.1 node, own tag).
    pub const MERKLE_NODE: &[u8] = b"VEIL-V1-PROTOCOL-MERKLE-NODE";
    /// Root of the empty Merkle tree.
    pub const MERKLE_EMPTY: &[u8] = b"VEIL-V1-PROTOCOL-MERKLE-EMPTY";
    /// Order commitment `C_s = H(chain id, slot, parent, Merkle root)`.
    pub const BATCH_COMMITMENT: &[u8] = b"VEIL-V1-PROTOCOL-BATCH-COMMITMENT";
    /// The fixed parent commitment of the first slot.
    pub const GENESIS: &[u8] = b"VEIL-V1-PROTOCOL-GENESIS";
    /// Message a sequencer signs when it proposes a batch.
    pub const PROPOSAL: &[u8] = b"VEIL-V1-PROTOCOL-PROPOSAL";
    /// Message a member signs when it votes for an order commitment (what certificates
    /// aggregate).
    pub const ORDER_VOTE: &[u8] = b"VEIL-V1-PROTOCOL-ORDER-VOTE";
    /// Message a member signs on a submission receipt.
    pub const RECEIPT: &[u8] = b"VEIL-V1-PROTOCOL-RECEIPT";
    /// Envelope of every member-to-member message.
    pub const MEMBER_MESSAGE: &[u8] = b"VEIL-V1-PROTOCOL-MEMBER-MESSAGE";
    /// Order commitment of a multi-rollup (version 2) batch: `H(chain id, slot, parent,
    /// Merkle root of the ids, root of the rollup index)`.
    pub const BATCH_COMMITMENT_ROLLUPS: &[u8] = b"VEIL-V1-PROTOCOL-ROLLUP-COMMITMENT";
    /// Leaf of a rollup's sub-batch tree: one item's position in the batch and its id.
    pub const SUB_BATCH_ITEM: &[u8] = b"VEIL-V1-PROTOCOL-SUB-BATCH-ITEM";
    /// Leaf of the rollup index: `(chain id, item count, sub-batch root)`.
    pub const ROLLUP_LEAF: &[u8] = b"VEIL-V1-PROTOCOL-ROLLUP-LEAF";
    /// Digest binding the members of an atomic bundle: `H(n, [chain id, U]…)`.
    pub const BUNDLE_DIGEST: &[u8] = b"VEIL-V1-PROTOCOL-BUNDLE-DIGEST";
    /// What a member signs when it offers an ephemeral key for a link to another member.
    pub const LINK_OFFER: &[u8] = b"VEIL-V1-PROTOCOL-LINK-OFFER";
    /// What a member signs when it answers a link offer (binds the offer's ephemeral key).
    pub const LINK_ANSWER: &[u8] = b"VEIL-V1-PROTOCOL-LINK-ANSWER";
    /// HKDF salt of a member-link MAC key.
    pub const LINK_KDF: &[u8] = b"VEIL-V1-PROTOCOL-LINK-KDF";
    /// Identifier of a member-link key.
    pub const LINK_KEY_ID: &[u8] = b"VEIL-V1-PROTOCOL-LINK-KEY-ID";
    /// HMAC input prefix of a sealed member message.
    pub const LINK_MAC: &[u8] = b"VEIL-V1-PROTOCOL-LINK-MAC";
}

/// Every tag in the registry, for tests that check distinctness and the naming scheme.
pub fn all_tags() -> Vec<&'static [u8]> {
    vec![
        threshold::GBAR_H2C,
        threshold::KEM_KDF,
        threshold::KEY_COMMITMENT,
        threshold::LABEL,
        threshold::CIPHERTEXT_DLEQ,
        threshold::SHARE_DLEQ,
        threshold::BATCH_WEIGHTS,
        threshold::CIPHERTEXT_ID,
        certificate::SIGN_H2C,
        certificate::POP_H2C,
        certificate::BATCH_WEIGHTS,
        timelock::GENERATOR,
        timelock::WESOLOWSKI_PRIME,
        timelock::PUZZLE_KDF,
        timelock::KEY_COMMITMENT,
        timelock::EXPONENT_POK,
        timelock::PARAMS_ID,
        timelock::DUAL_WRAP,
        timelock::EXPONENT_EQUALITY,
        timelock::POSEIDON_KDF,
        timelock::POSEIDON_MAC,
        timelock::SNARK_STATEMENT,
        timelock::PAYLOAD_DIGEST,
        timelock::PAYLOAD_STREAM,
        timelock::PUZZLE_DIGEST,
        timelock::INSECURE_SNARK_SETUP,
        keygen::SIGN_H2C,
        keygen::PARAMS_ID,
        keygen::SHARE_PAD,
        keygen::DEALER_POK,
        keygen::ENCRYPTION_POK,
        keygen::COMPLAINT_DLEQ,
        keygen::DEALING_ID,
        keygen::TRANSCRIPT,
        keygen::BATCH_WEIGHTS,
        protocol::TX_ID,
        protocol::MERKLE_LEAF,
        protocol::MERKLE_NODE,
        protocol::MERKLE_EMPTY,
        protocol::BATCH_COMMITMENT,
        protocol::GENESIS,
        protocol::PROPOSAL,
        protocol::ORDER_VOTE,
        protocol::RECEIPT,
        protocol::MEMBER_MESSAGE,
        protocol::BATCH_COMMITMENT_ROLLUPS,
        protocol::SUB_BATCH_ITEM,
        protocol::ROLLUP_LEAF,
        protocol::BUNDLE_DIGEST,
        protocol::LINK_OFFER,
        protocol::LINK_ANSWER,
        protocol::LINK_KDF,
        protocol::LINK_KEY_ID,
        protocol::LINK_MAC,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_distinct_and_follow_the_scheme() {
        let tags = all_tags();
        for (i, a) in tags.iter().enumerate() {
            assert!(a.starts_with(b"VEIL-V1-"), "{}", String::from_utf8_lossy(a));
            assert!(a.is_ascii());
            // RFC 9380 §3.1: a DST is at most 255 bytes.
            assert!(a.len() <= 255);
            for b in &tags[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn no_tag_is_a_prefix_of_another() {
        // A tag that prefixes another could collide once a variable-length input follows it.
        let tags = all_tags();
        for a in &tags {
            for b in &tags {
                if a != b {
                    assert!(!b.starts_with(a), "{}", String::from_utf8_lossy(a));
                }
            }
        }
    }
}
