//! `SharesMessage::from_bytes` (a member's released shares for a certified batch), then
//! `SharesMessage::verify` against the fixture key and a batch of three envelopes.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{batch, fixture, threshold_envelopes};
use veil_protocol::{Batch, SharesMessage, ValidatedEnvelope};

fn envelopes() -> &'static (Batch, Vec<ValidatedEnvelope>) {
    static E: OnceLock<(Batch, Vec<ValidatedEnvelope>)> = OnceLock::new();
    E.get_or_init(|| {
        let envs = threshold_envelopes(3);
        (batch(1, &envs), envs)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(m) = SharesMessage::from_bytes(data) else {
        return;
    };
    assert_eq!(m.to_bytes(), data, "an accepted encoding is canonical");
    let (b, envs) = envelopes();
    let _ = m.verify(&fixture().key, &b.ids, envs);
});
