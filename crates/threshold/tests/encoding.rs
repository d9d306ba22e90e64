//! Property tests: every encoded type round-trips, and decoding its encoding with one byte
//! removed or appended fails.

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_threshold::{
    AggregateSignature, Ciphertext, EncryptionKey, KeyShare, Label, ShareBatch, SignerBitmap,
    SigningKey, SlotRange, ThresholdKey, certificate, hazmat,
};

fn arb_label() -> impl Strategy<Value = Label> {
    (
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        0u64..1_000,
        any::<u128>(),
        proptest::collection::vec(any::<u8>(), 0..=256),
    )
        .prop_map(|(chain, sender, first, span, fee, extra)| {
            let slots = SlotRange::new(first, first.saturating_add(span)).unwrap();
            Label::new(chain, sender, slots, fee, extra).unwrap()
        })
}

fn truncations_fail<T, E>(bytes: &[u8], decode: impl Fn(&[u8]) -> Result<T, E>) -> bool {
    let mut longer = bytes.to_vec();
    longer.push(0);
    decode(&bytes[..bytes.len() - 1]).is_err() && decode(&longer).is_err()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn ciphertexts_round_trip(
        label in arb_label(),
        msg in proptest::collection::vec(any::<u8>(), 0..2_000),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (key, shares) = hazmat::deal(&mut rng, 1, 2).unwrap();
        let ek = EncryptionKey::new(key.public_key());
        let ct = ek.encrypt(&mut rng, &label, &msg).unwrap();
        let bytes = ct.to_bytes();
        prop_assert_eq!(bytes.len(), ct.encoded_len());
        let back = Ciphertext::from_bytes(&bytes).unwrap();
        prop_assert_eq!(&back, &ct);
        prop_assert_eq!(back.label(), &label);
        prop_assert!(truncations_fail(&bytes, Ciphertext::from_bytes));

        let v = back.verify(key.public_key()).unwrap();
        let batch = ShareBatch::create(&mut rng, &shares[1], std::slice::from_ref(&v)).unwrap();
        let sb = batch.to_bytes();
        prop_assert_eq!(sb.len(), batch.encoded_len());
        prop_assert_eq!(ShareBatch::from_bytes(&sb).unwrap(), batch);
        prop_assert!(truncations_fail(&sb, ShareBatch::from_bytes));
    }

    #[test]
    fn keys_round_trip(t_frac in 0.0f64..=1.0, n in 1u32..=40, seed in any::<u64>()) {
        let t = (1 + ((n - 1) as f64 * t_frac) as u32).min(n);
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (key, shares) = hazmat::deal(&mut rng, t, n).unwrap();
        let kb = key.to_bytes();
        prop_assert_eq!(ThresholdKey::from_bytes(&kb).unwrap(), key);
        prop_assert!(truncations_fail(&kb, ThresholdKey::from_bytes));
        for s in &shares {
            let b = s.to_bytes();
            prop_assert_eq!(&KeyShare::from_bytes(&b).unwrap(), s);
            prop_assert!(truncations_fail(&b, KeyShare::from_bytes));
        }
    }

    #[test]
    fn certificates_round_trip(
        n in 1usize..=70,
        picks in proptest::collection::vec(any::<u16>(), 1..10),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut signers: Vec<usize> = picks.iter().map(|p| *p as usize % n).collect();
        signers.sort_unstable();
        signers.dedup();
        let sks: Vec<SigningKey> = (0..n).map(|_| SigningKey::generate(&mut rng)).collect();
        let sigs: Vec<_> = signers.iter().map(|&i| (i, sks[i].sign(b"m"))).collect();
        let agg = certificate::aggregate(n, &sigs).unwrap();
        prop_assert_eq!(agg.signers.signers().collect::<Vec<_>>(), signers);
        let bytes = agg.to_bytes();
        prop_assert_eq!(AggregateSignature::from_bytes(&bytes).unwrap(), agg.clone());
        prop_assert!(truncations_fail(&bytes, AggregateSignature::from_bytes));
        let pks: Vec<_> = sks.iter().map(SigningKey::public_key).collect();
        prop_assert!(agg.verify(&pks, b"m").is_ok());
        let (bm, used) = SignerBitmap::decode_prefix(&agg.signers.to_bytes()).unwrap();
        prop_assert_eq!(used, agg.signers.encoded_len());
        prop_assert_eq!(bm, agg.signers);
    }
}
