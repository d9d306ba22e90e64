//! Decoding validates every group element: identity, points of small order and points on the
//! curve but outside the prime-order subgroup are refused wherever they can appear.

use ark_bls12_381::{Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::{AffineRepr, CurveConfig};
use ark_ff::{BigInteger, PrimeField, Zero};
use ark_serialize::CanonicalSerialize;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_threshold::{
    AggregateSignature, BlsPublicKey, Ciphertext, EncryptionKey, Label, ProofOfPossession,
    PublicKey, ShareBatch, Signature, SigningKey, SlotRange, ThresholdKey, VerificationKey,
    certificate, hazmat, verify_batch,
};

fn g1_bytes(p: &G1Affine) -> [u8; 48] {
    let mut out = [0u8; 48];
    p.serialize_compressed(&mut out[..]).unwrap();
    out
}

fn g2_bytes(p: &G2Affine) -> [u8; 96] {
    let mut out = [0u8; 96];
    p.serialize_compressed(&mut out[..]).unwrap();
    out
}

/// A point on E(Fq) outside the r-order subgroup, found by trying x = 0, 1, 2, …
fn g1_off_subgroup() -> G1Affine {
    (0u64..)
        .filter_map(|x| G1Affine::get_point_from_x_unchecked(Fq::from(x), true))
        .find(|p| p.is_on_curve() && !p.is_in_correct_subgroup_assuming_on_curve())
        .unwrap()
}

/// A point of small order (dividing the cofactor): r times a point off the subgroup.
fn g1_low_order() -> G1Affine {
    let p = g1_off_subgroup().mul_bigint(Fr::MODULUS);
    let p: G1Affine = p.into();
    assert!(!p.is_zero() && p.is_on_curve());
    assert!(p.mul_bigint(ark_bls12_381::g1::Config::COFACTOR).is_zero());
    p
}

fn g2_off_subgroup() -> G2Affine {
    (0u64..)
        .filter_map(|x| {
            G2Affine::get_point_from_x_unchecked(Fq2::new(Fq::from(x), Fq::from(1u64)), true)
        })
        .find(|p| p.is_on_curve() && !p.is_in_correct_subgroup_assuming_on_curve())
        .unwrap()
}

fn bad_g1_encodings() -> Vec<(&'static str, [u8; 48])> {
    let mut non_canonical = [0u8; 48];
    // x = p: a field element encoded out of range (flags kept: compressed, not infinity).
    let p = Fq::MODULUS.to_bytes_be();
    non_canonical.copy_from_slice(&p);
    non_canonical[0] |= 0x80;
    vec![
        ("identity", g1_bytes(&G1Affine::zero())),
        ("off-subgroup", g1_bytes(&g1_off_subgroup())),
        ("low-order", g1_bytes(&g1_low_order())),
        ("x = p", non_canonical),
    ]
}

#[test]
fn constructed_points_are_what_they_claim() {
    let p = g1_off_subgroup();
    assert!(p.is_on_curve() && !p.is_in_correct_subgroup_assuming_on_curve());
    let q = g2_off_subgroup();
    assert!(q.is_on_curve() && !q.is_in_correct_subgroup_assuming_on_curve());
    let l = g1_low_order();
    assert!(!l.is_in_correct_subgroup_assuming_on_curve());
}

#[test]
fn ciphertext_points_are_validated() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (key, _) = hazmat::deal(&mut rng, 1, 1).unwrap();
    let ek = EncryptionKey::new(key.public_key());
    let label = Label::new(1, [0; 32], SlotRange::new(0, 1).unwrap(), 0, vec![]).unwrap();
    let bytes = ek.encrypt(&mut rng, &label, b"m").unwrap().to_bytes();
    let off = 1 + label.encoded_len();
    // U, Ū, A, Ā (the proof's commitments).
    for (field, at) in [
        ("U", off),
        ("Ū", off + 48),
        ("A", off + 96),
        ("Ā", off + 144),
    ] {
        for (what, enc) in bad_g1_encodings() {
            let mut m = bytes.clone();
            m[at..at + 48].copy_from_slice(&enc);
            assert!(
                Ciphertext::from_bytes(&m).is_err(),
                "{field} = {what} accepted"
            );
        }
    }
    // Proof response z ≥ r (non-canonical scalar).
    let mut m = bytes.clone();
    m[off + 192..off + 224].copy_from_slice(&Fr::MODULUS.to_bytes_le());
    assert!(Ciphertext::from_bytes(&m).is_err());
    // And the untouched encoding is fine.
    let c = Ciphertext::from_bytes(&bytes).unwrap();
    assert!(
        verify_batch(key.public_key(), vec![c])
            .pop()
            .unwrap()
            .is_ok()
    );
}

#[test]
fn keys_and_shares_are_validated() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let (key, shares) = hazmat::deal(&mut rng, 2, 3).unwrap();
    let ek = EncryptionKey::new(key.public_key());
    let label = Label::new(1, [0; 32], SlotRange::new(0, 1).unwrap(), 0, vec![]).unwrap();
    let ct = ek
        .encrypt(&mut rng, &label, b"m")
        .unwrap()
        .verify(key.public_key())
        .unwrap();
    let batch = ShareBatch::create(&mut rng, &shares[0], &[ct])
        .unwrap()
        .to_bytes();
    let key_bytes = key.to_bytes();
    for (what, enc) in bad_g1_encodings() {
        assert!(PublicKey::from_bytes(&enc).is_err(), "pk {what}");
        assert!(VerificationKey::from_bytes(&enc).is_err(), "vk {what}");
        assert!(BlsPublicKey::from_bytes(&enc).is_err(), "bls pk {what}");
        let mut m = batch.clone();
        m[9..57].copy_from_slice(&enc);
        assert!(ShareBatch::from_bytes(&m).is_err(), "share {what}");
        let mut m = key_bytes.clone();
        m[9 + 48..9 + 96].copy_from_slice(&enc);
        assert!(
            ThresholdKey::from_bytes(&m).is_err(),
            "threshold key vk {what}"
        );
    }
    assert!(PublicKey::from_point(G1Affine::zero()).is_err());
    assert!(PublicKey::from_point(g1_off_subgroup()).is_err());
    assert!(VerificationKey::from_point(g1_low_order()).is_err());
}

#[test]
fn signatures_are_validated() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let sk = SigningKey::generate(&mut rng);
    let agg = certificate::aggregate(4, &[(0, sk.sign(b"m"))]).unwrap();
    let bytes = agg.to_bytes();
    let bad = [
        ("identity", g2_bytes(&G2Affine::zero())),
        ("off-subgroup", g2_bytes(&g2_off_subgroup())),
    ];
    for (what, enc) in bad {
        assert!(Signature::from_bytes(&enc).is_err(), "signature {what}");
        assert!(ProofOfPossession::from_bytes(&enc).is_err(), "pop {what}");
        let mut m = bytes.clone();
        let at = m.len() - 96;
        m[at..].copy_from_slice(&enc);
        assert!(
            AggregateSignature::from_bytes(&m).is_err(),
            "aggregate {what}"
        );
    }
}
