//! The data-encapsulation mechanism shared by delay and dual mode: HKDF-SHA256 key
//! derivation and AES-256-GCM with a key commitment.
//!
//! - Keys: `HKDF-SHA256(salt = label digest, ikm = key material, info = tag ‖ context)`
//!   (RFC 5869), 32 bytes. Every key is used for exactly one message (it comes from a fresh
//!   puzzle exponent or a fresh random data key), so the nonce is the constant zero
//!   (RFC 5116 allows any unique nonce per key; uniqueness is per key here).
//! - Key commitment: `SHA-256(KEY_COMMITMENT ‖ key)` travels with the ciphertext. AES-GCM
//!   alone is not key-committing (a ciphertext can be crafted to decrypt under two keys;
//!   Albertini et al., "How to abuse and fix authenticated encryption without key
//!   commitment", USENIX Security 2022); with the commitment checked first, a ciphertext
//!   that fails is invalid for everyone, never ambiguous.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::group::ct_eq_bytes;

/// Length of the key commitment.
pub const COMMITMENT_LEN: usize = 32;
/// Length of the AES-GCM authentication tag.
pub const AEAD_TAG_LEN: usize = 16;

/// Derives a 32-byte key (see the module documentation).
pub(crate) fn derive_key(
    ikm: &[u8],
    label_digest: &[u8; 32],
    tag: &[u8],
    context: &[&[u8]],
) -> Zeroizing<[u8; 32]> {
    let hk = Hkdf::<Sha256>::new(Some(label_digest), ikm);
    let mut info = Vec::new();
    for part in std::iter::once(tag).chain(context.iter().copied()) {
        info.extend_from_slice(&(part.len() as u64).to_be_bytes());
        info.extend_from_slice(part);
    }
    let mut okm = Zeroizing::new([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's 255·32-byte limit: cannot fail.
    hk.expand(&info, okm.as_mut())
        .unwrap_or_else(|_| unreachable!());
    okm
}

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
        let label = [9u8; 32];
        let key = derive_key(b"ikm", &label, b"TAG", &[b"ctx"]);
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
        // Every input of the KDF matters.
        assert_ne!(*derive_key(b"ikm", &[8; 32], b"TAG", &[b"ctx"]), *key);
        assert_ne!(*derive_key(b"ikm2", &label, b"TAG", &[b"ctx"]), *key);
        assert_ne!(*derive_key(b"ikm", &label, b"TAG2", &[b"ctx"]), *key);
        assert_ne!(*derive_key(b"ikm", &label, b"TAG", &[b"ct", b"x"]), *key);
    }
}
