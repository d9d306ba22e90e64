//! `SignedMessage::from_bytes` (every member-to-member message), the body's
//! `MemberMessage::decode` for the kind it claims, and `SignedMessage::open` against the
//! fixture committee (signature check, then body decoding).
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::fixture;
use veil_protocol::{MemberMessage, SignedMessage};

fuzz_target!(|data: &[u8]| {
    let Ok(m) = SignedMessage::from_bytes(data) else {
        return;
    };
    assert_eq!(m.to_bytes(), data, "an accepted encoding is canonical");
    if let Ok(body) = MemberMessage::decode(m.kind, &m.body) {
        assert_eq!(body.kind(), m.kind);
        assert_eq!(body.encode(), m.body, "an accepted body is canonical");
    }
    let _ = m.open(&fixture().committee);
});
