//! `OrderCertificate::from_bytes`, then `OrderCertificate::verify` at the fixture's quorum.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{T, fixture};
use veil_protocol::OrderCertificate;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = OrderCertificate::from_bytes(data) else {
        return;
    };
    assert_eq!(c.to_bytes(), data, "an accepted encoding is canonical");
    assert_eq!(c.intent().slot, c.slot);
    let _ = c.verify(&fixture().committee, T as usize);
});
