//! Decoders face adversarial bytes: they must return an error, never panic, for arbitrary
//! inputs and for random mutations of valid encodings.

mod common;

use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_squaring::Backend;
use veil_timelock::{DelayCiphertext, DelayParams, DualCiphertext, PuzzleReveal, PuzzleSolution};

struct Fixture {
    params: DelayParams,
    encodings: Vec<Vec<u8>>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let params = params(group1024(), b"robustness", 300);
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let (ct, secret) =
            DelayCiphertext::encrypt(&params, &pk(&params), &label(1), b"m", &mut rng).unwrap();
        let (tkey, _) = veil_threshold::hazmat::deal(&mut rng, 1, 1).unwrap();
        let ek = veil_threshold::EncryptionKey::new(tkey.public_key());
        let (dual, _) =
            DualCiphertext::encrypt(&params, &pk(&params), &ek, &label(1), b"m", &mut rng).unwrap();
        let solution = ct
            .puzzle()
            .solve_and_prove(&params, Backend::Portable, &mut no_progress())
            .unwrap();
        let encodings = vec![
            params.to_bytes(),
            ct.to_bytes(&params),
            dual.to_bytes(&params),
            solution.to_bytes(&params),
            secret.reveal().to_bytes(),
        ];
        Fixture { params, encodings }
    })
}

fn decode_all(p: &DelayParams, bytes: &[u8]) {
    let _ = DelayParams::from_bytes(bytes);
    let _ = DelayCiphertext::from_bytes(p, bytes);
    let _ = DualCiphertext::from_bytes(p, bytes);
    let _ = PuzzleSolution::from_bytes(p, bytes).map(|s| s.verify(p));
    let _ = PuzzleReveal::from_bytes(p, bytes);
    let _ = DelayParams::from_json(&String::from_utf8_lossy(bytes));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
        decode_all(&fixture().params, &bytes);
    }

    #[test]
    fn mutated_encodings_never_panic(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let f = fixture();
        let mut bytes = f.encodings[which].clone();
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        decode_all(&f.params, &bytes);
    }
}
