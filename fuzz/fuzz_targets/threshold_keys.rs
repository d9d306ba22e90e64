//! Threshold key material read from files and `committee.json`: the public `ThresholdKey`,
//! a `KeyShare` (the payload of a sealed share file), a `PublicKey` and a `VerificationKey`.
//! The first input byte picks the decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::select;
use veil_threshold::{KeyShare, PublicKey, ThresholdKey, VerificationKey};

fuzz_target!(|data: &[u8]| {
    let Some((which, bytes)) = select(data, 4) else {
        return;
    };
    match which {
        0 => {
            if let Ok(k) = ThresholdKey::from_bytes(bytes) {
                assert_eq!(k.to_bytes(), bytes);
                assert!(k.threshold() >= 1 && k.threshold() <= k.members());
                assert_eq!(k.verification_keys().len(), k.members() as usize);
                let _ = k.check_consistency();
            }
        }
        1 => {
            if let Ok(s) = KeyShare::from_bytes(bytes) {
                assert_eq!(s.to_bytes().as_slice(), bytes);
                let _ = s.verification_key();
            }
        }
        2 => {
            if let Ok(pk) = PublicKey::from_bytes(bytes) {
                assert_eq!(pk.to_bytes().as_slice(), bytes);
            }
        }
        _ => {
            if let Ok(vk) = VerificationKey::from_bytes(bytes) {
                assert_eq!(vk.to_bytes().as_slice(), bytes);
            }
        }
    }
});
