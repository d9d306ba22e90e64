//! Delay-mode encryption: solving and revealing open the same plaintext; tampering fails.

mod common;

use std::ops::ControlFlow;

use common::*;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_squaring::Backend;
use veil_threshold::{Label, SlotRange};
use veil_timelock::delay::MAX_PAYLOAD;
use veil_timelock::{
    DelayCiphertext, DelayError, DelayParams, PuzzleReveal, PuzzleSolution, RsaGroup,
};

fn both_sizes() -> Vec<DelayParams> {
    vec![
        params(group1024(), b"delay tests", 1 << 12),
        params(RsaGroup::rsa2048(), b"delay tests", 1 << 10),
    ]
}

#[test]
fn solving_and_revealing_yield_the_same_plaintext() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for p in both_sizes() {
        let label = label(1);
        let msg = b"swap 10 ETH for USDC, slippage 0.1%";
        let (ct, secret) = DelayCiphertext::encrypt(&p, &pk(&p), &label, msg, &mut rng).unwrap();
        assert_eq!(ct.verify(&p, &label), Ok(()));
        // Through the wire format.
        let ct = DelayCiphertext::from_bytes(&p, &ct.to_bytes(&p)).unwrap();
        let solved = ct
            .puzzle()
            .solve(&p, Backend::best_single(), &mut no_progress())
            .unwrap();
        let by_solving = ct.decrypt(&p, &label, &solved).unwrap();
        let reveal = PuzzleReveal::from_bytes(&p, &secret.reveal().to_bytes()).unwrap();
        let by_reveal = ct
            .decrypt(&p, &label, &reveal.open(&p, ct.puzzle()).unwrap())
            .unwrap();
        assert_eq!(by_solving, msg);
        assert_eq!(by_reveal, msg);
        // Every backend the CPU has solves to the same key.
        for backend in Backend::available() {
            let key = ct.puzzle().solve(&p, backend, &mut no_progress()).unwrap();
            assert_eq!(ct.decrypt(&p, &label, &key).unwrap(), msg, "{backend:?}");
        }
    }
}

#[test]
fn proven_solutions_verify_and_open() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let p = params(group1024(), b"solutions", 1 << 11);
    let label = label(2);
    let (ct, _) = DelayCiphertext::encrypt(&p, &pk(&p), &label, b"payload", &mut rng).unwrap();
    let solution = ct
        .puzzle()
        .solve_and_prove(&p, Backend::best_single(), &mut no_progress())
        .unwrap();
    let decoded = PuzzleSolution::from_bytes(&p, &solution.to_bytes(&p)).unwrap();
    let key = decoded.verify(&p).unwrap();
    assert_eq!(ct.decrypt(&p, &label, &key).unwrap(), b"payload");
    // A wrong output with the honest proof, or the solution under other parameters, fails.
    let mut bytes = solution.to_bytes(&p);
    let n = p.group().element_len();
    let out_at = 2 + 32 + n;
    let wrong = p.group().modulus().mul(solution.output(), p.g());
    bytes[out_at..out_at + n].copy_from_slice(&p.group().encode(&wrong));
    let tampered = PuzzleSolution::from_bytes(&p, &bytes).unwrap();
    assert_eq!(tampered.verify(&p).unwrap_err(), DelayError::BadSolution);
    let other = params(group1024(), b"other", 1 << 11);
    assert_eq!(
        PuzzleSolution::from_bytes(&other, &solution.to_bytes(&p)).unwrap_err(),
        DelayError::WrongParams
    );
}

#[test]
fn wrong_reveals_are_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let p = params(group1024(), b"reveals", 1 << 10);
    let label = label(3);
    let (ct1, s1) = DelayCiphertext::encrypt(&p, &pk(&p), &label, b"one", &mut rng).unwrap();
    let (ct2, s2) = DelayCiphertext::encrypt(&p, &pk(&p), &label, b"two", &mut rng).unwrap();
    // Each secret opens its own puzzle only.
    assert!(s1.reveal().open(&p, ct1.puzzle()).is_ok());
    assert_eq!(
        s2.reveal().open(&p, ct1.puzzle()).unwrap_err(),
        DelayError::BadReveal
    );
    assert_eq!(
        s1.reveal().open(&p, ct2.puzzle()).unwrap_err(),
        DelayError::BadReveal
    );
    // a + 1, a truncated, a out of range.
    let mut bytes = s1.reveal().to_bytes();
    *bytes.last_mut().unwrap() ^= 1;
    let off_by_one = PuzzleReveal::from_bytes(&p, &bytes).unwrap();
    assert_eq!(
        off_by_one.open(&p, ct1.puzzle()).unwrap_err(),
        DelayError::BadReveal
    );
    let good = s1.reveal().to_bytes();
    assert!(PuzzleReveal::from_bytes(&p, &good[..good.len() - 1]).is_err());
    // Under other parameters.
    let other = params(group1024(), b"other reveals", 1 << 10);
    assert_eq!(
        PuzzleReveal::from_bytes(&other, &good).unwrap_err(),
        DelayError::WrongParams
    );
    assert_eq!(
        s1.reveal().open(&other, ct1.puzzle()).unwrap_err(),
        DelayError::WrongParams
    );
}

#[test]
fn mauled_puzzle_ciphertext_or_label_is_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let p = params(group1024(), b"tamper", 1 << 10);
    let label = label(4);
    let (ct, secret) =
        DelayCiphertext::encrypt(&p, &pk(&p), &label, b"secret order", &mut rng).unwrap();
    let key = secret.reveal().open(&p, ct.puzzle()).unwrap();
    let good = ct.to_bytes(&p);
    let n = p.group().element_len();
    // Every single-byte change of the encoding is either refused at decoding or fails to
    // decrypt, even with the right puzzle key.
    let mut checked = 0;
    for i in (0..good.len()).step_by(7).chain([good.len() - 1]) {
        let mut bytes = good.clone();
        bytes[i] ^= 0x01;
        if let Ok(mauled) = DelayCiphertext::from_bytes(&p, &bytes) {
            assert_eq!(
                mauled.decrypt(&p, &label, &key).unwrap_err(),
                DelayError::Decrypt,
                "{i}"
            );
            checked += 1;
        }
    }
    assert!(checked > 20);
    // A mauled puzzle o·g (a valid element) is invalid and does not decrypt.
    let mut bytes = good.clone();
    let o2 = p.group().modulus().mul(ct.puzzle().element(), p.g());
    bytes[34..34 + n].copy_from_slice(&p.group().encode(&o2));
    let mauled = DelayCiphertext::from_bytes(&p, &bytes).unwrap();
    assert_eq!(mauled.verify(&p, &label).unwrap_err(), DelayError::Invalid);
    // Another label: invalid, and no decryption even with the right key.
    let mut other = Label::new(
        1337,
        [4; 32],
        SlotRange::new(100, 111).unwrap(),
        42_000,
        b"bundle-7".to_vec(),
    )
    .unwrap();
    assert_eq!(ct.verify(&p, &other).unwrap_err(), DelayError::Invalid);
    assert_eq!(
        ct.decrypt(&p, &other, &key).unwrap_err(),
        DelayError::Decrypt
    );
    other = Label::new(
        1338,
        [4; 32],
        SlotRange::new(100, 110).unwrap(),
        42_000,
        b"bundle-7".to_vec(),
    )
    .unwrap();
    assert_eq!(
        ct.decrypt(&p, &other, &key).unwrap_err(),
        DelayError::Decrypt
    );
    // The right label with the wrong key.
    let (ct2, s2) = DelayCiphertext::encrypt(&p, &pk(&p), &label, b"x", &mut rng).unwrap();
    let key2 = s2.reveal().open(&p, ct2.puzzle()).unwrap();
    assert_eq!(
        ct.decrypt(&p, &label, &key2).unwrap_err(),
        DelayError::Decrypt
    );
    assert_eq!(ct.decrypt(&p, &label, &key).unwrap(), b"secret order");
}

#[test]
fn replaying_a_puzzle_under_a_new_label_cannot_be_made_valid() {
    // The attacker copies the victim's puzzle and proof into a ciphertext under its own label
    // (the front-running replay). It fails validity, because the proof of knowledge binds the
    // label; the attacker's own fresh proof would need the victim's exponent.
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let p = params(group1024(), b"replay", 1 << 10);
    let victim = label(5);
    let attacker = label(6);
    let (victim_ct, _) =
        DelayCiphertext::encrypt(&p, &pk(&p), &victim, b"victim tx", &mut rng).unwrap();
    let (attacker_ct, _) =
        DelayCiphertext::encrypt(&p, &pk(&p), &attacker, b"attacker tx", &mut rng).unwrap();
    assert_eq!(
        victim_ct.verify(&p, &attacker).unwrap_err(),
        DelayError::Invalid
    );
    // Splice: the victim's puzzle (o, P, proof) with the attacker's delay proof, tag and
    // body. The delay proof binds the puzzle, so it is valid under neither label.
    let v = victim_ct.to_bytes(&p);
    let a = attacker_ct.to_bytes(&p);
    let seal_len = 192 + 32 + 4;
    let puzzle_end = v.len() - seal_len - b"victim tx".len();
    let mut spliced = v[..puzzle_end].to_vec();
    spliced.extend_from_slice(&a[puzzle_end..]);
    let spliced = DelayCiphertext::from_bytes(&p, &spliced).unwrap();
    for l in [&attacker, &victim] {
        assert_eq!(spliced.verify(&p, l).unwrap_err(), DelayError::Invalid);
    }
    let key = spliced
        .puzzle()
        .solve(&p, Backend::best_single(), &mut no_progress())
        .unwrap();
    assert_eq!(
        spliced.decrypt(&p, &victim, &key).unwrap_err(),
        DelayError::Decrypt
    );
}

#[test]
fn decoding_validates_lengths_ranges_and_parameters() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let p = params(group1024(), b"decode", 1 << 10);
    let (ct, _) = DelayCiphertext::encrypt(&p, &pk(&p), &label(7), b"abc", &mut rng).unwrap();
    let good = ct.to_bytes(&p);
    let n = p.group().element_len();
    assert!(DelayCiphertext::from_bytes(&p, &good[..good.len() - 1]).is_err());
    let mut longer = good.clone();
    longer.push(0);
    assert!(DelayCiphertext::from_bytes(&p, &longer).is_err());
    let mut v = good.clone();
    v[0] = 0x05;
    assert_eq!(
        DelayCiphertext::from_bytes(&p, &v).unwrap_err(),
        DelayError::Unsupported {
            kind: 5,
            version: 2
        }
    );
    let other = params(group1024(), b"decode other", 1 << 10);
    assert_eq!(
        DelayCiphertext::from_bytes(&other, &good).unwrap_err(),
        DelayError::WrongParams
    );
    // The twin N − o, zero, and one as puzzle elements.
    for bad in [
        p.group()
            .modulus()
            .to_be_bytes_of(&p.group().neg(ct.puzzle().element())),
        vec![0u8; n],
        {
            let mut one = vec![0u8; n];
            one[n - 1] = 1;
            one
        },
    ] {
        let mut bytes = good.clone();
        bytes[34..34 + n].copy_from_slice(&bad);
        assert_eq!(
            DelayCiphertext::from_bytes(&p, &bytes).unwrap_err(),
            DelayError::Malformed("puzzle element")
        );
    }
    // A body length claiming more than the payload limit.
    let len_at = good.len() - 3 - 4;
    let mut bytes = good.clone();
    bytes[len_at..len_at + 4].copy_from_slice(&((MAX_PAYLOAD + 17) as u32).to_be_bytes());
    assert!(matches!(
        DelayCiphertext::from_bytes(&p, &bytes),
        Err(DelayError::PayloadTooLarge { .. })
    ));
    // Oversized plaintexts are refused at encryption.
    assert_eq!(
        DelayCiphertext::encrypt(&p, &pk(&p), &label(7), &vec![0; MAX_PAYLOAD + 1], &mut rng)
            .unwrap_err(),
        DelayError::PayloadTooLarge {
            len: MAX_PAYLOAD + 1
        }
    );
}

#[test]
fn solving_can_be_cancelled_and_reports_progress() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let p = params(group1024(), b"cancel", 1 << 18);
    let (ct, _) = DelayCiphertext::encrypt(&p, &pk(&p), &label(8), b"x", &mut rng).unwrap();
    let mut seen = Vec::new();
    let r = ct.puzzle().solve(&p, Backend::Portable, &mut |done| {
        seen.push(done);
        if done >= 1 << 16 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(r.is_err());
    assert!(seen.iter().any(|&d| d >= 1 << 16));
    assert!(seen.iter().all(|&d| d < 1 << 18));
}

#[test]
fn fixture_bytes_of_a_delay_ciphertext() {
    let p = params(group1024(), b"fixture", 1 << 10);
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let (ct, secret) =
        DelayCiphertext::encrypt(&p, &pk(&p), &label(9), b"fixture payload", &mut rng).unwrap();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let files = [
        ("delay_ciphertext_1024.hex", hex::encode(ct.to_bytes(&p))),
        ("reveal_1024.hex", hex::encode(secret.reveal().to_bytes())),
        (
            "solution_1024.hex",
            hex::encode(
                ct.puzzle()
                    .solve_and_prove(&p, Backend::Portable, &mut no_progress())
                    .unwrap()
                    .to_bytes(&p),
            ),
        ),
    ];
    for (name, actual) in files {
        let path = format!("{fixtures}/{name}");
        if std::env::var("VEIL_REGENERATE_FIXTURES").is_ok() {
            std::fs::write(&path, format!("{actual}\n")).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap();
        assert_eq!(actual, expected.trim(), "{name}");
    }
    // And the frozen ciphertext still decrypts.
    let frozen = hex::decode(
        std::fs::read_to_string(format!("{fixtures}/delay_ciphertext_1024.hex"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let ct = DelayCiphertext::from_bytes(&p, &frozen).unwrap();
    let key = secret.reveal().open(&p, ct.puzzle()).unwrap();
    assert_eq!(ct.decrypt(&p, &label(9), &key).unwrap(), b"fixture payload");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    #[test]
    fn any_payload_round_trips_by_reveal(payload in proptest::collection::vec(any::<u8>(), 0..600), seed in any::<u64>()) {
        use std::sync::OnceLock;
        static P: OnceLock<DelayParams> = OnceLock::new();
        let p = P.get_or_init(|| params(group1024(), b"proptest", 300));
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (ct, secret) = DelayCiphertext::encrypt(p, &pk(p), &label(10), &payload, &mut rng).unwrap();
        let ct = DelayCiphertext::from_bytes(p, &ct.to_bytes(p)).unwrap();
        let key = secret.reveal().open(p, ct.puzzle()).unwrap();
        prop_assert_eq!(ct.decrypt(p, &label(10), &key).unwrap(), payload);
    }
}
