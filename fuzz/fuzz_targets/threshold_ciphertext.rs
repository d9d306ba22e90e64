//! `Ciphertext::from_bytes` (TDH2 threshold ciphertext: four compressed points with on-curve
//! and subgroup checks, a label, the DEM), then its validity check against the committee key.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::fixture;
use veil_threshold::Ciphertext;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = Ciphertext::from_bytes(data) else {
        return;
    };
    assert_eq!(c.to_bytes(), data, "an accepted encoding is canonical");
    assert_eq!(c.encoded_len(), data.len());
    let again = Ciphertext::from_bytes(&c.to_bytes()).expect("re-decodes");
    assert_eq!(again.id(), c.id());
    let _ = c.verify(fixture().key.public_key());
});
