//! `DelayParams::from_bytes` (binary delay parameters: modulus, seed, squarings, `h` and its
//! Wesolowski proof, all checked on decode).
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_timelock::DelayParams;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = DelayParams::from_bytes(data) else {
        return;
    };
    assert_eq!(p.to_bytes(), data, "an accepted encoding is canonical");
    p.verify().expect("decoded parameters verify");
});
