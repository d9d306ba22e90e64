//! `Transcript::from_bytes` (the ceremony's public transcript, fetched from the board or a
//! file), then `verify_transcript` on it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_keygen::Transcript;
use veil_keygen::dkg::verify_transcript;

fuzz_target!(|data: &[u8]| {
    let Ok(t) = Transcript::from_bytes(data) else {
        return;
    };
    assert_eq!(t.to_bytes(), data, "an accepted encoding is canonical");
    let _ = verify_transcript(&t);
});
