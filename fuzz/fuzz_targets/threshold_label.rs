//! `Label::from_bytes` and `Label::decode_prefix`: the public data every ciphertext binds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_threshold::Label;

fuzz_target!(|data: &[u8]| {
    if let Ok(l) = Label::from_bytes(data) {
        assert_eq!(l.to_bytes(), data, "an accepted encoding is canonical");
        assert_eq!(l.encoded_len(), data.len());
        let _ = l.digest();
    }
    if let Ok((l, used)) = Label::decode_prefix(data) {
        assert!(used <= data.len());
        assert_eq!(l.to_bytes(), &data[..used]);
    }
});
