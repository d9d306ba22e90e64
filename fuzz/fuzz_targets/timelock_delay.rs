//! Delay mode against the fixture parameters: `DelayCiphertext::from_bytes` (then its
//! validity proof, for the fixture label), `PuzzleReveal::from_bytes` (then opening the seed
//! ciphertext's puzzle with it) and `PuzzleSolution::from_bytes` (then its Wesolowski proof).
//! The first input byte picks the decoder.
//!
//! The puzzle a reveal is tried against comes from the committed seed ciphertext rather than
//! from encrypting here, so the target uses only the decoding API (the delay ciphertext's
//! format and its encryption API are still evolving). If the seed no longer decodes (after a
//! format change, before the seeds are regenerated), reveals are decoded but not opened.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{fixture, select};
use veil_timelock::{DelayCiphertext, PuzzleReveal, PuzzleSolution};

/// The seed ciphertext (selector byte first).
const SEED: &[u8] = include_bytes!("../seeds/timelock_delay/ciphertext");

fn sample() -> Option<&'static DelayCiphertext> {
    static C: OnceLock<Option<DelayCiphertext>> = OnceLock::new();
    C.get_or_init(|| DelayCiphertext::from_bytes(&fixture().params, &SEED[1..]).ok())
        .as_ref()
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
                if let Some(c) = sample() {
                    let _ = r.open(&f.params, c.puzzle());
                }
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
