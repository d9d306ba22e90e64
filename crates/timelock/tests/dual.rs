//! Dual mode: the committee path and the puzzle path both decrypt; tampering is rejected.

mod common;

use common::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_squaring::Backend;
use veil_threshold::{
    Ciphertext, Decrypted, EncryptionKey, KeyShare, ShareBatch, ThresholdKey, combine, hazmat,
};
use veil_timelock::dual::DUAL_CIPHERTEXT_KIND;
use veil_timelock::{DelayParams, DualCiphertext, DualError};

struct Committee {
    key: ThresholdKey,
    shares: Vec<KeyShare>,
    ek: EncryptionKey,
}

fn committee(rng: &mut ChaCha20Rng) -> Committee {
    let (key, shares) = hazmat::deal(rng, 3, 4).unwrap();
    let ek = EncryptionKey::new(key.public_key());
    Committee { key, shares, ek }
}

/// The committee path: validate the threshold part, three members share, combine.
fn committee_data_key(c: &Committee, t: &Ciphertext, rng: &mut ChaCha20Rng) -> Option<Vec<u8>> {
    let verified = t.clone().verify(c.key.public_key()).ok()?;
    let batches: Vec<ShareBatch> = c.shares[..3]
        .iter()
        .map(|s| ShareBatch::create(rng, s, std::slice::from_ref(&verified)).unwrap())
        .collect();
    match combine(&c.key, &[verified], &batches)
        .ok()?
        .outcomes
        .pop()?
    {
        Decrypted::Plaintext(k) => Some(k),
        Decrypted::Invalid => None,
    }
}

fn setup() -> (DelayParams, Committee, ChaCha20Rng) {
    let mut rng = ChaCha20Rng::seed_from_u64(77);
    let c = committee(&mut rng);
    (params(group1024(), b"dual", 1 << 10), c, rng)
}

#[test]
fn either_path_decrypts() {
    let (p, c, mut rng) = setup();
    let lbl = label(1);
    let msg = b"dual-mode transaction";
    let (ct, secret) = DualCiphertext::encrypt(&p, &pk(&p), &c.ek, &lbl, msg, &mut rng).unwrap();
    assert_eq!(ct.verify(&p, c.key.public_key(), &lbl), Ok(()));
    let ct = DualCiphertext::from_bytes(&p, &ct.to_bytes(&p)).unwrap();
    // Committee path.
    let k = committee_data_key(&c, ct.threshold_part(), &mut rng).unwrap();
    assert_eq!(ct.decrypt_with_data_key(&p, &lbl, &k).unwrap(), msg);
    // Fallback: solving, a proven solution, a reveal.
    let solved = ct
        .puzzle()
        .solve(&p, Backend::best_single(), &mut no_progress())
        .unwrap();
    assert_eq!(ct.decrypt_with_puzzle(&p, &lbl, &solved).unwrap(), msg);
    let proven = ct
        .puzzle()
        .solve_and_prove(&p, Backend::best_single(), &mut no_progress())
        .unwrap()
        .verify(&p)
        .unwrap();
    assert_eq!(ct.decrypt_with_puzzle(&p, &lbl, &proven).unwrap(), msg);
    let revealed = secret.reveal().open(&p, ct.puzzle()).unwrap();
    assert_eq!(ct.decrypt_with_puzzle(&p, &lbl, &revealed).unwrap(), msg);
}

#[test]
fn tampering_is_rejected_on_both_paths() {
    let (p, c, mut rng) = setup();
    let lbl = label(2);
    let (ct, secret) =
        DualCiphertext::encrypt(&p, &pk(&p), &c.ek, &lbl, b"payload", &mut rng).unwrap();
    let key = secret.reveal().open(&p, ct.puzzle()).unwrap();
    let data_key = committee_data_key(&c, ct.threshold_part(), &mut rng).unwrap();
    let good = ct.to_bytes(&p);
    let mut decoded = 0;
    for i in (0..good.len()).step_by(5).chain([good.len() - 1]) {
        let mut bytes = good.clone();
        bytes[i] ^= 0x01;
        let Ok(m) = DualCiphertext::from_bytes(&p, &bytes) else {
            continue;
        };
        decoded += 1;
        // Nothing mauled decrypts on the puzzle path…
        assert_eq!(
            m.decrypt_with_puzzle(&p, &lbl, &key).unwrap_err(),
            DualError::Decrypt,
            "{i}"
        );
        // …nor on the committee path: either the committee refuses the threshold part, or
        // its data key no longer opens the payload.
        let k = committee_data_key(&c, m.threshold_part(), &mut rng);
        if let Some(k) = k {
            assert!(m.decrypt_with_data_key(&p, &lbl, &k).is_err(), "{i}");
        }
    }
    assert!(decoded > 50);
    // Another label fails both paths and validity.
    let other = label(3);
    assert_eq!(
        ct.verify(&p, c.key.public_key(), &other).unwrap_err(),
        DualError::Invalid
    );
    assert_eq!(
        ct.decrypt_with_puzzle(&p, &other, &key).unwrap_err(),
        DualError::Decrypt
    );
    assert_eq!(
        ct.decrypt_with_data_key(&p, &other, &data_key).unwrap_err(),
        DualError::Decrypt
    );
    // A wrong data key, a wrong puzzle key.
    assert_eq!(
        ct.decrypt_with_data_key(&p, &lbl, &[0u8; 32]).unwrap_err(),
        DualError::Decrypt
    );
    assert_eq!(
        ct.decrypt_with_data_key(&p, &lbl, &[0u8; 31]).unwrap_err(),
        DualError::Decrypt
    );
    let (ct2, s2) = DualCiphertext::encrypt(&p, &pk(&p), &c.ek, &lbl, b"other", &mut rng).unwrap();
    let key2 = s2.reveal().open(&p, ct2.puzzle()).unwrap();
    assert_eq!(
        ct.decrypt_with_puzzle(&p, &lbl, &key2).unwrap_err(),
        DualError::Decrypt
    );
}

#[test]
fn swapping_in_another_threshold_wrap_is_rejected() {
    // Both wraps are bound together: the victim's puzzle side with an attacker's threshold
    // wrap (or the reverse) opens nothing.
    let (p, c, mut rng) = setup();
    let lbl = label(4);
    let (a, sa) = DualCiphertext::encrypt(&p, &pk(&p), &c.ek, &lbl, b"victim", &mut rng).unwrap();
    let (b, _) = DualCiphertext::encrypt(&p, &pk(&p), &c.ek, &lbl, b"attacker", &mut rng).unwrap();
    let a_bytes = a.to_bytes(&p);
    let b_bytes = b.to_bytes(&p);
    let t_len = |bytes: &[u8]| u32::from_be_bytes(bytes[34..38].try_into().unwrap()) as usize;
    assert_eq!(t_len(&a_bytes), t_len(&b_bytes));
    let end = 38 + t_len(&a_bytes);
    let mut spliced = b_bytes[..end].to_vec();
    spliced.extend_from_slice(&a_bytes[end..]);
    let s = DualCiphertext::from_bytes(&p, &spliced).unwrap();
    let key = sa.reveal().open(&p, s.puzzle()).unwrap();
    assert_eq!(
        s.decrypt_with_puzzle(&p, &lbl, &key).unwrap_err(),
        DualError::Decrypt
    );
    let k = committee_data_key(&c, s.threshold_part(), &mut rng).unwrap();
    assert_eq!(
        s.decrypt_with_data_key(&p, &lbl, &k).unwrap_err(),
        DualError::Decrypt
    );
}

#[test]
fn decoding_validates_the_structure() {
    let (p, c, mut rng) = setup();
    let (ct, _) = DualCiphertext::encrypt(&p, &pk(&p), &c.ek, &label(5), b"x", &mut rng).unwrap();
    let good = ct.to_bytes(&p);
    assert_eq!(good[0], DUAL_CIPHERTEXT_KIND);
    assert!(DualCiphertext::from_bytes(&p, &good[..good.len() - 1]).is_err());
    let mut longer = good.clone();
    longer.push(0);
    assert!(DualCiphertext::from_bytes(&p, &longer).is_err());
    let mut v = good.clone();
    v[1] = 9;
    assert_eq!(
        DualCiphertext::from_bytes(&p, &v).unwrap_err(),
        DualError::Unsupported
    );
    let other = params(group1024(), b"dual other", 1 << 10);
    assert_eq!(
        DualCiphertext::from_bytes(&other, &good).unwrap_err(),
        DualError::WrongParams
    );
    let mut huge = good.clone();
    huge[34..38].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        DualCiphertext::from_bytes(&p, &huge),
        Err(DualError::Malformed(_))
    ));
    assert!(matches!(
        DualCiphertext::encrypt(
            &p,
            &pk(&p),
            &c.ek,
            &label(5),
            &vec![0; 64 * 1024 + 1],
            &mut rng
        ),
        Err(DualError::PayloadTooLarge { .. })
    ));
}

#[test]
fn fixture_bytes_of_a_dual_ciphertext() {
    let (p, c, mut rng) = setup();
    let (ct, _) =
        DualCiphertext::encrypt(&p, &pk(&p), &c.ek, &label(6), b"fixture", &mut rng).unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dual_ciphertext_1024.hex"
    );
    let actual = hex::encode(ct.to_bytes(&p));
    if std::env::var("VEIL_REGENERATE_FIXTURES").is_ok() {
        std::fs::write(path, format!("{actual}\n")).unwrap();
    }
    assert_eq!(actual, std::fs::read_to_string(path).unwrap().trim());
}
