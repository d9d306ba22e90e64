//! `DelayParams::from_json` (the delay parameters file a node and the wallets load).
//! Accepted files re-serialize to JSON that decodes to the same parameters.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_timelock::DelayParams;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = DelayParams::from_json(text) else {
        return;
    };
    let json = p.to_json();
    let again = DelayParams::from_json(&json).expect("own JSON re-decodes");
    assert_eq!(again.id(), p.id());
    assert_eq!(again.to_bytes(), p.to_bytes());
    assert_eq!(again.to_json(), json, "JSON form is stable");
});
