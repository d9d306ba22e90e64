//! Known answers: RFC 9380 hash-to-curve vectors, Veil's own tags, and frozen wire formats.
//!
//! The JSON files in `tests/vectors/` are RFC 9380 Appendix J test vectors
//! (§J.9.1 `BLS12381G1_XMD:SHA-256_SSWU_RO_`, §J.10.1 `BLS12381G2_XMD:SHA-256_SSWU_RO_`), as
//! distributed with `ark-bls12-381` 0.6.
//!
//! The hex files in `tests/fixtures/` freeze the encodings of a ciphertext, a share batch and
//! an aggregate signature produced from seeded randomness. A change to any of them is a wire
//! format change: bump the version byte and regenerate deliberately with
//! `VEIL_UPDATE_FIXTURES=1 cargo test -p veil-threshold --test vectors`.

use std::path::PathBuf;

use ark_bls12_381::{Fq, Fq2, G1Affine, G2Affine};
use ark_ff::PrimeField;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::Value;
use veil_threshold::{
    AggregateSignature, BlsPublicKey, Ciphertext, Decrypted, EncryptionKey, Label, ShareBatch,
    SigningKey, SlotRange, certificate, combine,
    h2c::{gbar, hash_to_g1, hash_to_g2},
    hazmat,
};

fn load(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn fq(hex_str: &str) -> Fq {
    let s = hex_str.trim().trim_start_matches("0x");
    Fq::from_be_bytes_mod_order(&hex::decode(s).unwrap())
}

fn fq2(s: &str) -> Fq2 {
    let (c0, c1) = s.split_once(',').unwrap();
    Fq2::new(fq(c0), fq(c1))
}

#[test]
fn rfc9380_g1_vectors() {
    let v = load("BLS12381G1_XMD-SHA-256_SSWU_RO_.json");
    let dst = v["dst"].as_str().unwrap().as_bytes();
    assert_eq!(dst, b"QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_");
    let vectors = v["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 5);
    for t in vectors {
        let msg = t["msg"].as_str().unwrap().as_bytes();
        let want = G1Affine::new(
            fq(t["P"]["x"].as_str().unwrap()),
            fq(t["P"]["y"].as_str().unwrap()),
        );
        assert_eq!(hash_to_g1(dst, msg), want, "msg {:?}", t["msg"]);
    }
}

#[test]
fn rfc9380_g2_vectors() {
    let v = load("BLS12381G2_XMD-SHA-256_SSWU_RO_.json");
    let dst = v["dst"].as_str().unwrap().as_bytes();
    assert_eq!(dst, b"QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_");
    let vectors = v["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 5);
    for t in vectors {
        let msg = t["msg"].as_str().unwrap().as_bytes();
        let want = G2Affine::new(
            fq2(t["P"]["x"].as_str().unwrap()),
            fq2(t["P"]["y"].as_str().unwrap()),
        );
        assert_eq!(hash_to_g2(dst, msg), want, "msg {:?}", t["msg"]);
    }
}

#[test]
fn veil_tags_are_not_test_tags_and_give_other_points() {
    let g1 = load("BLS12381G1_XMD-SHA-256_SSWU_RO_.json");
    let g2 = load("BLS12381G2_XMD-SHA-256_SSWU_RO_.json");
    let quux1 = g1["dst"].as_str().unwrap().as_bytes();
    let quux2 = g2["dst"].as_str().unwrap().as_bytes();
    let veil1 = veil_domain::threshold::GBAR_H2C;
    for tag in [
        veil1,
        veil_domain::certificate::SIGN_H2C,
        veil_domain::certificate::POP_H2C,
    ] {
        assert!(tag.starts_with(b"VEIL-V1-"));
        assert_ne!(tag, quux1);
        assert_ne!(tag, quux2);
    }
    assert_ne!(hash_to_g1(veil1, b""), hash_to_g1(quux1, b""));
    assert_eq!(gbar(), hash_to_g1(veil1, b""));
    for msg in [b"".as_slice(), b"abc"] {
        let sign = hash_to_g2(veil_domain::certificate::SIGN_H2C, msg);
        let pop = hash_to_g2(veil_domain::certificate::POP_H2C, msg);
        let quux = hash_to_g2(quux2, msg);
        assert!(sign != pop && sign != quux && pop != quux);
    }
    // Ḡ is not G (nor its negation).
    let g = veil_threshold::h2c::generator();
    assert!(gbar() != g && gbar() != -g);
}

fn check_fixture(name: &str, bytes: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.hex"));
    let got = hex::encode(bytes);
    if std::env::var_os("VEIL_UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, format!("{got}\n")).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing fixture {}: regenerate deliberately",
            path.display()
        )
    });
    assert_eq!(got, want.trim(), "wire format of {name} changed");
}

fn fixture_label() -> Label {
    Label::new(
        42161,
        [0x11; 32],
        SlotRange::new(1_000, 1_007).unwrap(),
        30_000_000_000_000,
        b"veil-fixture".to_vec(),
    )
    .unwrap()
}

#[test]
fn ciphertext_and_share_batch_fixtures() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x5eed);
    let (key, shares) = hazmat::deal(&mut rng, 2, 3).unwrap();
    let ek = EncryptionKey::new(key.public_key());
    let ct = ek
        .encrypt(&mut rng, &fixture_label(), b"veil fixture transaction")
        .unwrap();
    let ct_bytes = ct.to_bytes();
    check_fixture("ciphertext_v1", &ct_bytes);
    check_fixture("threshold_key_v1", &key.to_bytes());

    let verified = Ciphertext::from_bytes(&ct_bytes)
        .unwrap()
        .verify(key.public_key())
        .unwrap();
    let b1 = ShareBatch::create(&mut rng, &shares[0], std::slice::from_ref(&verified)).unwrap();
    let b3 = ShareBatch::create(&mut rng, &shares[2], std::slice::from_ref(&verified)).unwrap();
    check_fixture("share_batch_v1", &b1.to_bytes());
    assert_eq!(ShareBatch::from_bytes(&b1.to_bytes()).unwrap(), b1);
    let out = combine(&key, &[verified], &[b1, b3]).unwrap();
    assert_eq!(
        out.outcomes,
        vec![Decrypted::Plaintext(b"veil fixture transaction".to_vec())]
    );
}

#[test]
fn aggregate_signature_fixture() {
    let mut rng = ChaCha20Rng::seed_from_u64(0xce27);
    let sks: Vec<SigningKey> = (0..4).map(|_| SigningKey::generate(&mut rng)).collect();
    let pks: Vec<BlsPublicKey> = sks.iter().map(SigningKey::public_key).collect();
    let msg = b"veil order commitment fixture";
    let agg = certificate::aggregate(4, &[0, 1, 3].map(|i| (i, sks[i].sign(msg)))).unwrap();
    check_fixture("aggregate_signature_v1", &agg.to_bytes());
    let decoded = AggregateSignature::from_bytes(&agg.to_bytes()).unwrap();
    decoded.verify(&pks, msg).unwrap();
    let pk_bytes: Vec<u8> = pks.iter().flat_map(|p| p.to_bytes()).collect();
    check_fixture("bls_public_keys_v1", &pk_bytes);
    check_fixture(
        "proof_of_possession_v1",
        &sks[0].prove_possession().to_bytes(),
    );
}
