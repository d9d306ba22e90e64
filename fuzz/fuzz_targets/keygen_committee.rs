//! `Committee::load_and_verify` (`committee.json`: every member's keys and proofs, the
//! threshold key, all checked). Accepted files re-serialize to JSON that loads to the same
//! committee.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_keygen::Committee;

fuzz_target!(|data: &[u8]| {
    let Ok(c) = Committee::load_and_verify(data) else {
        return;
    };
    let json = c.to_json();
    let again = Committee::load_and_verify(json.as_bytes()).expect("own JSON re-loads");
    assert_eq!(again, c);
    assert_eq!(again.to_json(), json, "JSON form is stable");
    assert_eq!(again.to_bytes(), c.to_bytes());
    let _ = c.threshold_key();
});
