//! `PlaintextBatch::from_bytes` (a published, decrypted batch with its certificate and
//! openings), then `PlaintextBatch::verify` against the fixture committee and a batch of
//! three envelopes.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{T, fixture, threshold_envelopes};
use veil_protocol::{PlaintextBatch, ValidatedEnvelope, VerifyContext};

fn envelopes() -> &'static [ValidatedEnvelope] {
    static E: OnceLock<Vec<ValidatedEnvelope>> = OnceLock::new();
    E.get_or_init(|| threshold_envelopes(3))
}

fuzz_target!(|data: &[u8]| {
    let Ok(p) = PlaintextBatch::from_bytes(data) else {
        return;
    };
    assert_eq!(p.to_bytes(), data, "an accepted encoding is canonical");
    let f = fixture();
    let ctx = VerifyContext {
        committee: &f.committee,
        quorum: T as usize,
        key: &f.key,
        delay_params: Some(&f.params),
    };
    let envs = envelopes();
    if p.items.len() == envs.len() {
        let _ = p.verify(&ctx, envs);
    }
});
