//! `TxEnvelope::from_bytes` (the envelope of every mode: threshold, delay, dual) and
//! `TxId::from_hex` (ids in API paths).
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_protocol::{TxEnvelope, TxId};

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = TxEnvelope::from_bytes(data) {
        assert_eq!(e.to_bytes(), data, "an accepted encoding is canonical");
        let again = TxEnvelope::from_bytes(&e.to_bytes()).expect("re-decodes");
        assert_eq!(again, e);
        assert_eq!(again.id(), e.id());
        let _ = e.label().digest();
    }
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(id) = TxId::from_hex(s)
    {
        assert!(id.to_hex().eq_ignore_ascii_case(s));
        assert_eq!(TxId::from_bytes(&id.to_bytes()), Ok(id));
    }
});
