//! `ShareBatch::from_bytes` (one member's decryption shares and their batched DLEQ proof),
//! then `ShareBatch::verify` against the fixture key and three valid ciphertexts.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{fixture, verified_ciphertexts};
use veil_threshold::{ShareBatch, VerifiedCiphertext};

fn ciphertexts() -> &'static [VerifiedCiphertext] {
    static C: OnceLock<Vec<VerifiedCiphertext>> = OnceLock::new();
    C.get_or_init(|| verified_ciphertexts(3))
}

fuzz_target!(|data: &[u8]| {
    let Ok(b) = ShareBatch::from_bytes(data) else {
        return;
    };
    assert_eq!(b.to_bytes(), data, "an accepted encoding is canonical");
    assert_eq!(b.encoded_len(), data.len());
    let _ = b.verify(&fixture().key, ciphertexts());
});
