//! RSA-group material from untrusted parameters: `WesolowskiProof::from_bytes` (then
//! `wesolowski::verify` for the fixture's `g`, `h`, `T`), `RsaGroup::decode` (group elements)
//! and `RsaGroup::from_be_bytes` (a modulus). The first input byte picks the decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{fixture, select};
use veil_timelock::{RsaGroup, WesolowskiProof, wesolowski};

fuzz_target!(|data: &[u8]| {
    let Some((which, bytes)) = select(data, 3) else {
        return;
    };
    let p = &fixture().params;
    let group = p.group();
    match which {
        0 => {
            if let Ok(proof) = WesolowskiProof::from_bytes(group, bytes) {
                assert_eq!(
                    proof.to_bytes(group),
                    bytes,
                    "an accepted encoding is canonical"
                );
                let _ = wesolowski::verify(group, p.g(), p.h(), p.squarings(), &proof);
            }
        }
        1 => {
            if let Ok(x) = group.decode(bytes) {
                assert_eq!(group.encode(&x), bytes, "an accepted encoding is canonical");
            }
        }
        _ => {
            if let Ok(g) = RsaGroup::from_be_bytes(bytes) {
                assert_eq!(g.element_len(), g.modulus_bytes().len());
                let x = g.hash_to_group(b"veil fuzz", bytes);
                let enc = g.encode(&x);
                assert_eq!(enc.len(), g.element_len());
                let back = g.decode(&enc).expect("own encoding decodes");
                assert!(g.eq(&back, &x));
            }
        }
    }
});
