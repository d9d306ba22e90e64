//! `Receipt::from_bytes` (what a wallet gets back for a submission), then `Receipt::verify`
//! against the fixture committee.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::fixture;
use veil_protocol::Receipt;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = Receipt::from_bytes(data) else {
        return;
    };
    assert_eq!(r.to_bytes(), data, "an accepted encoding is canonical");
    let _ = r.verify(&fixture().committee);
});
