//! Delay mode against the fixture parameters: `DelayCiphertext::from_bytes` (then its proof
//! of knowledge of the exponent, for the fixture label), `PuzzleReveal::from_bytes` (then
//! opening a fixture puzzle with it) and `PuzzleSolution::from_bytes` (then its Wesolowski
//! proof). The first input byte picks the decoder.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{fixture, rng, select};
use veil_timelock::{DelayCiphertext, PuzzleReveal, PuzzleSolution};

fn sample() -> &'static DelayCiphertext {
    static C: OnceLock<DelayCiphertext> = OnceLock::new();
    C.get_or_init(|| {
        let f = fixture();
        DelayCiphertext::encrypt(&f.params, &f.label, b"fuzz", &mut rng(3))
            .expect("short payload")
            .0
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((which, bytes)) = select(data, 3) else {
        return;
    };
    let f = fixture();
    match which {
        0 => {
            if let Ok(c) = DelayCiphertext::from_bytes(&f.params, bytes) {
                assert_eq!(
                    c.to_bytes(&f.params),
                    bytes,
                    "an accepted encoding is canonical"
                );
                let _ = c.verify(&f.params, &f.label);
            }
        }
        1 => {
            if let Ok(r) = PuzzleReveal::from_bytes(&f.params, bytes) {
                assert_eq!(r.to_bytes(), bytes, "an accepted encoding is canonical");
                let _ = r.open(&f.params, sample().puzzle());
            }
        }
        _ => {
            if let Ok(s) = PuzzleSolution::from_bytes(&f.params, bytes) {
                assert_eq!(
                    s.to_bytes(&f.params),
                    bytes,
                    "an accepted encoding is canonical"
                );
                let _ = s.verify(&f.params);
            }
        }
    }
});
