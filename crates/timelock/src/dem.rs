//! The data-encapsulation mechanisms of delay and dual mode: AES-256-GCM with a key
//! commitment (dual mode's payload under its random data key), and the proven stream cipher
//! with a Poseidon MAC that delay proofs cover (`proven`, below).
//!
//! - AES-256-GCM keys are used for exactly one message (a fresh random data key), so the
//!   nonce is the constant zero (RFC 5116 allows any unique nonce per key; uniqueness is per
//!   key here). Version 1 also derived AES keys from `h^a` with HKDF; version 2 derives the
//!   puzzle's key with Poseidon instead, so that the delay proof can show it.
//! - Key commitment: `SHA-256(KEY_COMMITMENT ‖ key)` travels with the ciphertext. AES-GCM
//!   alone is not key-committing (a ciphertext can be crafted to decrypt under two keys;
//!   Albertini et al., "How to abuse and fix authenticated encryption without key
//!   commitment", USENIX Security 2022); with the commitment checked first, a ciphertext
//!   that fails is invalid for everyone, never ambiguous.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use sha2::{Digest, Sha256};

use crate::group::ct_eq_bytes;

/// Length of the key commitment.
pub const COMMITMENT_LEN: usize = 32;
/// Length of the AES-GCM authentication tag.
pub const AEAD_TAG_LEN: usize = 16;

/// The key commitment of `key` under the domain tag `tag`.
pub(crate) fn commit(tag: &[u8], key: &[u8; 32]) -> [u8; COMMITMENT_LEN] {
    let mut h = Sha256::new();
    h.update((tag.len() as u64).to_be_bytes());
    h.update(tag);
    h.update(key);
    h.finalize().into()
}

/// Encrypts `plaintext` under `key` with `aad`; returns the key commitment and the AEAD
/// ciphertext (with its tag).
pub(crate) fn seal(
    commitment_tag: &[u8],
    key: &[u8; 32],
    aad: &[u8],
    plaintext: &[u8],
) -> ([u8; COMMITMENT_LEN], Vec<u8>) {
    (commit(commitment_tag, key), aead_seal(key, aad, plaintext))
}

/// Checks the commitment, then decrypts. `None` on any failure.
pub(crate) fn open(
    commitment_tag: &[u8],
    key: &[u8; 32],
    aad: &[u8],
    commitment: &[u8; COMMITMENT_LEN],
    body: &[u8],
) -> Option<Vec<u8>> {
    if !ct_eq_bytes(&commit(commitment_tag, key), commitment) {
        return None;
    }
    aead_open(key, aad, body)
}

/// AES-256-GCM encryption with the zero nonce (each key is used once), no commitment.
pub(crate) fn aead_seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.into());
    let payload = Payload {
        msg: plaintext,
        aad,
    };
    // AES-GCM encryption only fails for plaintexts above 2^36 bytes; callers cap sizes far
    // below that.
    cipher
        .encrypt(&Nonce::default(), payload)
        .unwrap_or_default()
}

/// AES-256-GCM decryption with the zero nonce, no commitment. `None` on failure.
pub(crate) fn aead_open(key: &[u8; 32], aad: &[u8], body: &[u8]) -> Option<Vec<u8>> {
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt(&Nonce::default(), Payload { msg: body, aad })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_rejections() {
        let key = [9u8; 32];
        let (c, body) = seal(b"COMMIT", &key, b"aad", b"hello");
        assert_eq!(body.len(), 5 + AEAD_TAG_LEN);
        assert_eq!(open(b"COMMIT", &key, b"aad", &c, &body).unwrap(), b"hello");
        assert!(open(b"COMMIT", &key, b"aad2", &c, &body).is_none());
        let mut bad = body.clone();
        bad[0] ^= 1;
        assert!(open(b"COMMIT", &key, b"aad", &c, &bad).is_none());
        let mut bad_c = c;
        bad_c[0] ^= 1;
        assert!(open(b"COMMIT", &key, b"aad", &bad_c, &body).is_none());
    }
}

/// The proven payload encryption of delay ciphertexts v2 (see [`crate::delay`]): a
/// SHA-256 counter-mode stream cipher under the Poseidon-derived key `K`, and the Poseidon
/// MAC `tag = Poseidon(POSEIDON_MAC; K, H)` over the body's digest
/// `H = SHA-256(PAYLOAD_DIGEST ‖ len ‖ body)`, the MAC the delay proof shows the solution's
/// key produces.
///
/// - Keystream block `j`: `SHA-256(PAYLOAD_STREAM ‖ K ‖ j)` (SHA-256 as a PRF keyed through
///   its input, as in HKDF-Expand's inner step; one key per message, so no nonce).
/// - Decryption is total (every body is the encryption of some message of its length), so
///   an opener whose MAC check passes always obtains *the* plaintext; the MAC is key
///   committing (two keys with one tag are a Poseidon collision).
pub(crate) mod proven {
    use sha2::{Digest, Sha256};
    use veil_circuits::delay_snark::{Scalar, field_to_bytes};
    use zeroize::Zeroize;

    /// `H = SHA-256(PAYLOAD_DIGEST ‖ len (u64 BE) ‖ body)`.
    pub(crate) fn payload_digest(body: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(veil_domain::timelock::PAYLOAD_DIGEST);
        h.update((body.len() as u64).to_be_bytes());
        h.update(body);
        h.finalize().into()
    }

    /// XORs the keystream of `key` into `data` (encrypts and decrypts).
    pub(crate) fn apply_keystream(key: &Scalar, data: &mut [u8]) {
        let mut key_bytes = field_to_bytes(key);
        for (j, chunk) in data.chunks_mut(32).enumerate() {
            let mut block: [u8; 32] = Sha256::new()
                .chain_update(veil_domain::timelock::PAYLOAD_STREAM)
                .chain_update(key_bytes)
                .chain_update((j as u64).to_be_bytes())
                .finalize()
                .into();
            for (d, k) in chunk.iter_mut().zip(block.iter()) {
                *d ^= k;
            }
            block.zeroize();
        }
        key_bytes.zeroize();
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn keystream_round_trips_and_depends_on_key_and_position() {
            let k1 = Scalar::from(7u64);
            let k2 = Scalar::from(8u64);
            let msg: Vec<u8> = (0..100u8).collect();
            let mut ct = msg.clone();
            apply_keystream(&k1, &mut ct);
            assert_ne!(ct, msg);
            let mut other = msg.clone();
            apply_keystream(&k2, &mut other);
            assert_ne!(ct, other);
            // Blocks differ from each other (counter mode, not a repeated pad).
            let mut zeros = vec![0u8; 64];
            apply_keystream(&k1, &mut zeros);
            assert_ne!(zeros[..32], zeros[32..]);
            apply_keystream(&k1, &mut ct);
            assert_eq!(ct, msg);
            assert_ne!(payload_digest(b"a"), payload_digest(b"b"));
            assert_ne!(payload_digest(b""), payload_digest(b"\0"));
        }
    }
}
