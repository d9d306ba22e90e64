//! `DualCiphertext::from_bytes` (threshold KEM and puzzle wrapping one data key) against the
//! fixture parameters, then `DualCiphertext::verify` for the committee key and its label.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::fixture;
use veil_timelock::DualCiphertext;

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Ok(c) = DualCiphertext::from_bytes(&f.params, data) else {
        return;
    };
    assert_eq!(
        c.to_bytes(&f.params),
        data,
        "an accepted encoding is canonical"
    );
    let label = c.threshold_part().label().clone();
    let _ = c.verify(&f.params, f.key.public_key(), &label);
});
