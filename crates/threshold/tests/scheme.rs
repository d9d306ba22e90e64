//! End-to-end behaviour of the threshold scheme: encrypt → verify → shares → combine, the
//! threshold, robustness against bad shares, non-malleability and label binding.

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use veil_threshold::{
    Ciphertext, CiphertextError, CombineError, Decrypted, EncryptionKey, KeyShare, Label,
    ShareBatch, SlotRange, ThresholdKey, VerifiedCiphertext, combine, hazmat, verify_batch,
};

fn label(sender: u8) -> Label {
    Label::new(
        10,
        [sender; 32],
        SlotRange::new(100, 110).unwrap(),
        21_000,
        b"rollup".to_vec(),
    )
    .unwrap()
}

fn setup(seed: u64, t: u32, n: u32) -> (ChaCha20Rng, ThresholdKey, Vec<KeyShare>, EncryptionKey) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (key, shares) = hazmat::deal(&mut rng, t, n).unwrap();
    let ek = EncryptionKey::new(key.public_key());
    (rng, key, shares, ek)
}

fn encrypt_batch(
    rng: &mut ChaCha20Rng,
    ek: &EncryptionKey,
    key: &ThresholdKey,
    msgs: &[Vec<u8>],
) -> Vec<VerifiedCiphertext> {
    let cts = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| ek.encrypt(rng, &label(i as u8), m).unwrap())
        .collect();
    verify_batch(key.public_key(), cts)
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

fn plaintexts(msgs: &[Vec<u8>]) -> Vec<Decrypted> {
    msgs.iter().cloned().map(Decrypted::Plaintext).collect()
}

fn shuffled(rng: &mut ChaCha20Rng, n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        v.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// Acceptance 1: for any t ≤ n ≤ 128, any t members decrypt; t − 1 never do.
    #[test]
    fn any_t_of_n_decrypt_and_fewer_never_do(
        n in 1u32..=128, t_frac in 0.0f64..=1.0, seed in any::<u64>()
    ) {
        let t = (1 + ((n - 1) as f64 * t_frac) as u32).min(n);
        let (mut rng, key, shares, ek) = setup(seed, t, n);
        let msgs = vec![b"swap 1 ETH".to_vec(), vec![], vec![0xab; 300]];
        let cts = encrypt_batch(&mut rng, &ek, &key, &msgs);
        let order = shuffled(&mut rng, n as usize);
        let batches: Vec<ShareBatch> = order[..t as usize]
            .iter()
            .map(|&i| ShareBatch::create(&mut rng, &shares[i], &cts).unwrap())
            .collect();
        let out = combine(&key, &cts, &batches).unwrap();
        prop_assert_eq!(out.outcomes, plaintexts(&msgs));
        prop_assert!(out.faulty.is_empty());

        if t > 1 {
            let few = &batches[..t as usize - 1];
            prop_assert_eq!(
                combine(&key, &cts, few),
                Err(CombineError::NotEnoughShares { have: t as usize - 1, need: t as usize })
            );
            // Even a combiner told the threshold is t − 1 learns nothing: the interpolated
            // key misses the commitment, the (valid) proofs then show the shares are right,
            // and every ciphertext comes out as undecryptable, never as plaintext.
            let lying = ThresholdKey::new(
                t - 1, *key.public_key(), key.verification_keys().to_vec()).unwrap();
            let out = combine(&lying, &cts, few).unwrap();
            prop_assert!(out.outcomes.iter().all(|o| *o == Decrypted::Invalid));
        }
    }
}

/// Every 3-subset of 4 members decrypts: the integral-coefficient sets ({1,2,3}, {1,3,4},
/// {2,3,4}: small double-and-add) and {1,2,4} (thirds: the multi-scalar path) alike, in any
/// order of the batches.
#[test]
fn every_three_of_four_decrypt_with_small_and_full_coefficients() {
    let (mut rng, key, shares, ek) = setup(7, 3, 4);
    let msgs = vec![b"a".to_vec(), vec![7; 64], vec![]];
    let cts = encrypt_batch(&mut rng, &ek, &key, &msgs);
    let all: Vec<ShareBatch> = shares
        .iter()
        .map(|s| ShareBatch::create(&mut rng, s, &cts).unwrap())
        .collect();
    for set in [
        [0, 1, 2],
        [0, 1, 3],
        [0, 2, 3],
        [1, 2, 3],
        [3, 1, 0],
        [2, 0, 3],
    ] {
        let batches: Vec<ShareBatch> = set.iter().map(|&i| all[i].clone()).collect();
        let out = combine(&key, &cts, &batches).unwrap();
        assert_eq!(out.outcomes, plaintexts(&msgs), "set {set:?}");
        assert!(out.faulty.is_empty());
    }
}

#[test]
fn not_enough_shares_message() {
    let (mut rng, key, shares, ek) = setup(1, 3, 4);
    let cts = encrypt_batch(&mut rng, &ek, &key, &[b"x".to_vec()]);
    let two: Vec<ShareBatch> = shares[..2]
        .iter()
        .map(|s| ShareBatch::create(&mut rng, s, &cts).unwrap())
        .collect();
    let err = combine(&key, &cts, &two).unwrap_err();
    assert_eq!(err.to_string(), "not enough shares: 2 of 3");
    // The same member twice does not count twice.
    let dup = vec![two[0].clone(), two[0].clone(), two[1].clone()];
    assert_eq!(
        combine(&key, &cts, &dup),
        Err(CombineError::NotEnoughShares { have: 2, need: 3 })
    );
}

/// Replaces share `j` of a batch with another valid group element (an honest-looking but
/// wrong share), by editing the encoding.
fn corrupt(batch: &ShareBatch, j: usize, with: &ShareBatch) -> ShareBatch {
    let mut bytes = batch.to_bytes();
    let other = with.to_bytes();
    let at = 9 + 48 * j;
    bytes[at..at + 48].copy_from_slice(&other[at..at + 48]);
    ShareBatch::from_bytes(&bytes).unwrap()
}

#[test]
fn invalid_shares_are_identified_and_decryption_completes() {
    let (mut rng, key, shares, ek) = setup(2, 3, 5);
    let msgs: Vec<Vec<u8>> = (0..6u8).map(|i| vec![i; 10 + i as usize]).collect();
    let cts = encrypt_batch(&mut rng, &ek, &key, &msgs);
    let mut batches: Vec<ShareBatch> = shares
        .iter()
        .map(|s| ShareBatch::create(&mut rng, s, &cts).unwrap())
        .collect();
    for b in &batches {
        b.verify(&key, &cts).unwrap();
    }
    // Member 2 (position 1) sends one wrong share, for ciphertext 4.
    batches[1] = corrupt(&batches[1], 4, &batches[0]);
    assert!(batches[1].verify(&key, &cts).is_err());
    let out = combine(&key, &cts, &batches).unwrap();
    assert_eq!(out.outcomes, plaintexts(&msgs));
    assert_eq!(out.faulty, vec![2]);

    // Two faulty members out of five with t = 3: still decrypts. (Member 4's bad share is
    // for the same ciphertext, so the retry needs it and finds it out.)
    batches[3] = corrupt(&batches[3], 4, &batches[0]);
    let out = combine(&key, &cts, &batches).unwrap();
    assert_eq!(out.outcomes, plaintexts(&msgs));
    assert_eq!(out.faulty, vec![2, 4]);

    // Three faulty of five: only two honest remain, below t.
    batches[0] = corrupt(&batches[0], 5, &batches[2]);
    assert_eq!(
        combine(&key, &cts, &batches),
        Err(CombineError::NotEnoughShares { have: 2, need: 3 })
    );
}

#[test]
fn share_batches_bound_to_their_member_and_batch() {
    let (mut rng, key, shares, ek) = setup(3, 2, 3);
    let cts = encrypt_batch(&mut rng, &ek, &key, &[b"a".to_vec(), b"b".to_vec()]);
    let b = ShareBatch::create(&mut rng, &shares[0], &cts).unwrap();
    b.verify(&key, &cts).unwrap();
    // Reordered batch: the proof is bound to the order of ciphertext ids.
    let rev: Vec<VerifiedCiphertext> = cts.iter().rev().cloned().collect();
    assert!(b.verify(&key, &rev).is_err());
    // Claimed by another member.
    let mut bytes = b.to_bytes();
    bytes[1..5].copy_from_slice(&2u32.to_be_bytes());
    assert!(
        ShareBatch::from_bytes(&bytes)
            .unwrap()
            .verify(&key, &cts)
            .is_err()
    );
    // Round trip.
    assert_eq!(ShareBatch::from_bytes(&b.to_bytes()).unwrap(), b);
    // Wrong number of shares for the batch.
    assert!(b.verify(&key, &cts[..1]).is_err());
}

#[test]
fn mauled_ciphertexts_are_rejected_at_every_byte() {
    let (mut rng, key, _, ek) = setup(4, 2, 3);
    let ct = ek.encrypt(&mut rng, &label(1), b"transfer 5").unwrap();
    let bytes = ct.to_bytes();
    assert!(
        Ciphertext::from_bytes(&bytes)
            .unwrap()
            .verify(key.public_key())
            .is_ok()
    );
    // Every byte position, two different flips each: U, Ū, proof, commitment, payload, tag,
    // label, lengths and version. Each must fail to decode or fail validity, so no share
    // can ever be produced for it (shares take only a VerifiedCiphertext).
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut m = bytes.clone();
            m[i] ^= flip;
            let verdict = Ciphertext::from_bytes(&m).and_then(|c| c.verify(key.public_key()));
            assert!(verdict.is_err(), "byte {i} flip {flip:#x} accepted");
        }
    }
    // Truncation and extension.
    assert!(Ciphertext::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Ciphertext::from_bytes(&longer).is_err());
}

#[test]
fn replay_under_another_label_is_rejected() {
    let (mut rng, key, _, ek) = setup(5, 2, 3);
    let ct = ek.encrypt(&mut rng, &label(7), b"victim's order").unwrap();
    let bytes = ct.to_bytes();
    let original = label(7).to_bytes();
    let others = [
        Label::new(
            11,
            [7; 32],
            SlotRange::new(100, 110).unwrap(),
            21_000,
            b"rollup".to_vec(),
        ),
        Label::new(
            10,
            [8; 32],
            SlotRange::new(100, 110).unwrap(),
            21_000,
            b"rollup".to_vec(),
        ),
        Label::new(
            10,
            [7; 32],
            SlotRange::new(100, 111).unwrap(),
            21_000,
            b"rollup".to_vec(),
        ),
        Label::new(
            10,
            [7; 32],
            SlotRange::new(100, 110).unwrap(),
            1,
            b"rollup".to_vec(),
        ),
    ];
    for other in others {
        let other = other.unwrap().to_bytes();
        assert_eq!(other.len(), original.len());
        let mut m = bytes.clone();
        m[1..1 + other.len()].copy_from_slice(&other);
        let c = Ciphertext::from_bytes(&m).unwrap();
        assert_eq!(c.verify(key.public_key()), Err(CiphertextError::Invalid));
    }
    // Under another committee's key the proof fails too.
    let (_, other_key, _, _) = setup(6, 2, 3);
    assert_eq!(
        ct.verify(other_key.public_key()),
        Err(CiphertextError::Invalid)
    );
}

#[test]
fn batch_validity_isolates_invalid_ciphertexts() {
    let (mut rng, key, _, ek) = setup(7, 2, 3);
    let mut cts: Vec<Ciphertext> = (0..8u8)
        .map(|i| ek.encrypt(&mut rng, &label(i), &[i; 5]).unwrap())
        .collect();
    // Replace ciphertext 3 with one whose label was swapped for ciphertext 5's.
    let mut b = cts[3].to_bytes();
    let l5 = label(5).to_bytes();
    b[1..1 + l5.len()].copy_from_slice(&l5);
    cts[3] = Ciphertext::from_bytes(&b).unwrap();
    let res = verify_batch(key.public_key(), cts);
    for (i, r) in res.iter().enumerate() {
        assert_eq!(r.is_ok(), i != 3, "ciphertext {i}");
    }
    assert!(verify_batch(key.public_key(), vec![]).is_empty());
}

#[test]
fn plaintext_size_limit() {
    let (mut rng, key, shares, ek) = setup(8, 1, 1);
    let max = vec![7u8; veil_threshold::MAX_PLAINTEXT];
    let ct = ek.encrypt(&mut rng, &label(0), &max).unwrap();
    let back = Ciphertext::from_bytes(&ct.to_bytes()).unwrap();
    let v = back.verify(key.public_key()).unwrap();
    let batch = ShareBatch::create(&mut rng, &shares[0], std::slice::from_ref(&v)).unwrap();
    let out = combine(&key, &[v], &[batch]).unwrap();
    assert_eq!(out.outcomes, vec![Decrypted::Plaintext(max.clone())]);
    let mut too_big = max;
    too_big.push(0);
    assert_eq!(
        ek.encrypt(&mut rng, &label(0), &too_big).unwrap_err(),
        CiphertextError::PlaintextTooLarge {
            len: veil_threshold::MAX_PLAINTEXT + 1
        }
    );
}
