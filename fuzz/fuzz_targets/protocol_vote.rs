//! `VoteIntent::from_bytes` (the durable vote record) and `Vote::from_bytes` (a member's
//! signed vote), with `Vote::verify` against the fixture committee. The first input byte
//! picks the decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{fixture, select};
use veil_protocol::{Vote, VoteIntent};

fuzz_target!(|data: &[u8]| {
    let Some((which, bytes)) = select(data, 2) else {
        return;
    };
    if which == 0 {
        if let Ok(i) = VoteIntent::from_bytes(bytes) {
            assert_eq!(i.to_bytes(), bytes, "an accepted encoding is canonical");
        }
    } else if let Ok(v) = Vote::from_bytes(bytes) {
        assert_eq!(v.to_bytes(), bytes, "an accepted encoding is canonical");
        let _ = v.verify(&fixture().committee);
    }
});
