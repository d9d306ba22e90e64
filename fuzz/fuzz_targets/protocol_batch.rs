//! Ordering messages: `Commitment`, `Batch`, `Proposal` (with `Proposal::verify` against the
//! fixture sequencer) and `Evidence` of equivocation. The first input byte picks the decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{fixture, select};
use veil_protocol::{Batch, Commitment, Evidence, Proposal};

fuzz_target!(|data: &[u8]| {
    let Some((which, bytes)) = select(data, 4) else {
        return;
    };
    let f = fixture();
    match which {
        0 => {
            if let Ok(c) = Commitment::from_bytes(bytes) {
                assert_eq!(c.to_bytes().as_slice(), bytes);
            }
        }
        1 => {
            if let Ok(b) = Batch::from_bytes(bytes) {
                assert_eq!(b.to_bytes(), bytes, "an accepted encoding is canonical");
                let _ = b.check();
                let _ = b.commitment();
            }
        }
        2 => {
            if let Ok(p) = Proposal::from_bytes(bytes) {
                assert_eq!(p.to_bytes(), bytes, "an accepted encoding is canonical");
                let _ = p.verify(&f.sequencer_keys);
            }
        }
        _ => {
            if let Ok(e) = Evidence::from_bytes(bytes) {
                assert_eq!(e.to_bytes(), bytes, "an accepted encoding is canonical");
                let _ = e.verify(&f.sequencer_keys);
            }
        }
    }
});
