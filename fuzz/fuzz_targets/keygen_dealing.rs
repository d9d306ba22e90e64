//! `Dealing::from_bytes` (a dealer's publicly verifiable dealing, posted to the board) and
//! `decode_dealings` (the board's list of them), then `verify_dealing` against the fixture
//! ceremony. The first input byte picks the decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{ceremony, select};
use veil_keygen::Dealing;
use veil_keygen::dkg::{decode_dealings, encode_dealings, verify_dealing};

fuzz_target!(|data: &[u8]| {
    let Some((which, bytes)) = select(data, 2) else {
        return;
    };
    let c = ceremony();
    if which == 0 {
        if let Ok(d) = Dealing::from_bytes(bytes) {
            assert_eq!(d.to_bytes(), bytes, "an accepted encoding is canonical");
            let _ = verify_dealing(&c.params, &c.id, &d);
        }
    } else if let Ok(ds) = decode_dealings(bytes) {
        assert_eq!(
            encode_dealings(&ds),
            bytes,
            "an accepted encoding is canonical"
        );
    }
});
