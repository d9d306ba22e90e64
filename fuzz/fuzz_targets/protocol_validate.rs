//! The node's admission path for a bulk submission: the body is split into
//! `u32 BE length ‖ envelope` frames (the framing of `POST /v1/submit/bulk`) and the frames go
//! through `validate_batch` against a member's context (threshold key, delay parameters,
//! chain ids, current slot) — decoding, policy and batched validity checks together.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{fixture, frames};
use veil_protocol::{MAX_ENVELOPE, TxEnvelope, validate_batch};

fuzz_target!(|data: &[u8]| {
    let Some(items) = frames(data) else {
        return;
    };
    if items.is_empty() || items.iter().any(|i| i.len() > MAX_ENVELOPE) {
        return;
    }
    let results = validate_batch(&fixture().ctx(), &items);
    assert_eq!(results.len(), items.len(), "one result per item");
    for (item, r) in items.iter().zip(results) {
        if let Ok(v) = r {
            assert_eq!(v.encoding(), *item);
            let e = TxEnvelope::from_bytes(item).expect("validated envelopes decode");
            assert_eq!(e.id(), v.id());
            assert_eq!(&e, v.envelope());
        }
    }
});
