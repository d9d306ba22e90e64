//! The key ceremony's other messages and files: `CeremonyParams` (`params.bin`), `Complaint`,
//! `Response` (with `Response::verify` and `verify_complaint` against the fixture ceremony),
//! `MemberPublic` (registration), and the payloads of sealed files (`MemberShare` and
//! `MemberSecret` sealable bytes). The first input byte picks the decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{ceremony, select};
use veil_keygen::dkg::{Response, verify_complaint};
use veil_keygen::{CeremonyParams, Complaint, MemberPublic, MemberSecret, MemberShare};

fuzz_target!(|data: &[u8]| {
    let Some((which, bytes)) = select(data, 6) else {
        return;
    };
    let c = ceremony();
    match which {
        0 => {
            if let Ok(p) = CeremonyParams::from_bytes(bytes) {
                assert_eq!(p.to_bytes(), bytes, "an accepted encoding is canonical");
                p.validate().expect("decoded parameters are valid");
            }
        }
        1 => {
            if let Ok(k) = Complaint::from_bytes(bytes) {
                assert_eq!(k.to_bytes(), bytes, "an accepted encoding is canonical");
                let d = &c.transcript.dealings[0];
                let _ = verify_complaint(&c.params, &c.id, d, &k);
            }
        }
        2 => {
            if let Ok(r) = Response::from_bytes(bytes) {
                assert_eq!(r.to_bytes(), bytes, "an accepted encoding is canonical");
                let _ = r.verify(&c.params, &c.id);
            }
        }
        3 => {
            if let Ok(m) = MemberPublic::from_bytes(bytes) {
                assert_eq!(m.to_bytes(), bytes, "an accepted encoding is canonical");
                let _ = m.verify();
            }
        }
        4 => {
            if let Ok(s) = MemberShare::from_sealable_bytes(bytes) {
                assert_eq!(s.to_sealable_bytes().as_slice(), bytes);
                let _ = s.to_key_share();
                let _ = s.matches(&c.committee);
            }
        }
        _ => {
            if let Ok(s) = MemberSecret::from_sealable_bytes(bytes) {
                assert_eq!(s.to_sealable_bytes().as_slice(), bytes);
            }
        }
    }
});
