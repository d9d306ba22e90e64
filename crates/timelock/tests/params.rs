//! Delay parameters: generation, verification at load, encodings, choice of T.

mod common;

use common::*;
use veil_squaring::Backend;
use veil_timelock::group::{GroupError, RSA2048_MODULUS};
use veil_timelock::params::{DEFAULT_SEED, derive_generator};
use veil_timelock::{DelayConfig, DelayParams, ParamsError, RsaGroup, WesolowskiProof};

#[test]
fn generated_parameters_verify_and_round_trip() {
    for (group, t) in [(group1024(), 1u64 << 12), (RsaGroup::rsa2048(), 1 << 10)] {
        let bits = group.bits();
        let p = params(group, DEFAULT_SEED, t);
        assert_eq!(p.verify(), Ok(()));
        assert_eq!(p.squarings(), t);
        // h really is g^(2^T): recompute it directly.
        let m = p.group().modulus();
        let mut y = p.g().clone();
        for _ in 0..t {
            y = m.square(&y);
        }
        assert!(p.group().eq(&y, p.h()), "{bits}");
        let back = DelayParams::from_bytes(&p.to_bytes()).unwrap();
        assert_eq!(back.id(), p.id());
        assert_eq!(back.to_bytes(), p.to_bytes());
        let json = DelayParams::from_json(&p.to_json()).unwrap();
        assert_eq!(json.id(), p.id());
    }
}

#[test]
fn three_thousand_bit_modulus_is_supported() {
    let p = params(group3072(), b"3072", 300);
    assert_eq!(p.group().bits(), 3072);
    assert!(DelayParams::from_bytes(&p.to_bytes()).is_ok());
}

#[test]
fn generator_is_derived_from_the_seed() {
    let group = group1024();
    let p = params(group1024(), b"seed A", 64);
    assert!(group.eq(p.g(), &derive_generator(&group, b"seed A")));
    assert!(!group.eq(p.g(), &derive_generator(&group, b"seed B")));
    // Changing the seed in an encoding changes g, so the proof no longer verifies.
    let mut bytes = p.to_bytes();
    let seed_at = 2 + 2 + 128 + 1;
    bytes[seed_at] ^= 1;
    assert_eq!(
        DelayParams::from_bytes(&bytes).unwrap_err(),
        ParamsError::BadProof
    );
}

#[test]
fn parameters_with_a_bad_proof_are_refused_at_load() {
    let p = params(group1024(), b"bad proof", 1 << 10);
    let group = p.group();
    let m = group.modulus();
    let n = group.element_len();
    // A wrong h with the honest proof.
    let wrong_h = m.mul(p.h(), p.g());
    assert_eq!(
        DelayParams::from_parts(
            group.clone(),
            b"bad proof",
            1 << 10,
            wrong_h.clone(),
            p.proof().clone(),
            p.snark_key().clone()
        )
        .unwrap_err(),
        ParamsError::BadProof
    );
    // The honest h with a tampered proof.
    let bad_pi =
        WesolowskiProof::from_bytes(group, &group.encode(&m.mul(p.proof().pi(), p.g()))).unwrap();
    assert_eq!(
        DelayParams::from_parts(
            group.clone(),
            b"bad proof",
            1 << 10,
            p.h().clone(),
            bad_pi.clone(),
            p.snark_key().clone()
        )
        .unwrap_err(),
        ParamsError::BadProof
    );
    // The same through the byte encoding: replace h, π, or T.
    let good = p.to_bytes();
    let h_at = good.len() - 2 * n - 2 - p.snark_key().to_bytes().len();
    let mut bytes = good.clone();
    bytes[h_at..h_at + n].copy_from_slice(&group.encode(&wrong_h));
    assert_eq!(
        DelayParams::from_bytes(&bytes).unwrap_err(),
        ParamsError::BadProof
    );
    let mut bytes = good.clone();
    bytes[h_at + n..h_at + 2 * n].copy_from_slice(&bad_pi.to_bytes(group));
    assert_eq!(
        DelayParams::from_bytes(&bytes).unwrap_err(),
        ParamsError::BadProof
    );
    let mut bytes = good.clone();
    bytes[h_at - 1] ^= 1; // T ± 1
    assert_eq!(
        DelayParams::from_bytes(&bytes).unwrap_err(),
        ParamsError::BadProof
    );
    // JSON: a tampered proof, a wrong id.
    let json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
    let mut j = json.clone();
    j["proof"] = hex::encode(bad_pi.to_bytes(group)).into();
    assert_eq!(
        DelayParams::from_json(&j.to_string()).unwrap_err(),
        ParamsError::BadProof
    );
    let mut j = json.clone();
    j["id"] = hex::encode([0u8; 32]).into();
    assert_eq!(
        DelayParams::from_json(&j.to_string()).unwrap_err(),
        ParamsError::IdMismatch
    );
    let mut j = json.clone();
    j["squarings"] = (1u64 << 11).into();
    assert_eq!(
        DelayParams::from_json(&j.to_string()).unwrap_err(),
        ParamsError::BadProof
    );
}

#[test]
fn malformed_encodings_are_refused() {
    let p = params(group1024(), b"malformed", 300);
    let good = p.to_bytes();
    assert!(matches!(
        DelayParams::from_bytes(&good[..good.len() - 1]),
        Err(ParamsError::Malformed(_))
    ));
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(
        DelayParams::from_bytes(&longer).unwrap_err(),
        ParamsError::Malformed("trailing bytes")
    );
    let mut v = good.clone();
    v[1] = 1;
    assert_eq!(
        DelayParams::from_bytes(&v).unwrap_err(),
        ParamsError::Unsupported {
            kind: 1,
            version: 1
        }
    );
    // A verifying key with a flipped byte (off-curve or wrong point) or for another modulus.
    let mut bytes = good.clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    assert!(DelayParams::from_bytes(&bytes).is_err());
    let other = params(RsaGroup::rsa2048(), b"malformed", 300);
    let mut j: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
    j["snark_vk"] = hex::encode(other.snark_key().to_bytes()).into();
    // The id covers the verifying key: swapping keys is caught when the id is stated.
    assert_eq!(
        DelayParams::from_json(&j.to_string()).unwrap_err(),
        ParamsError::IdMismatch
    );
    // A non-canonical h (its twin N − h).
    let group = p.group();
    let n = group.element_len();
    let h_at = good.len() - 2 * n - 2 - p.snark_key().to_bytes().len();
    let twin = group.modulus().to_be_bytes_of(&group.neg(p.h()));
    let mut bytes = good.clone();
    bytes[h_at..h_at + n].copy_from_slice(&twin);
    assert_eq!(
        DelayParams::from_bytes(&bytes).unwrap_err(),
        ParamsError::Group(GroupError::NotCanonical)
    );
    // T = 0, and a 512-bit modulus.
    let mut bytes = good.clone();
    bytes[h_at - 8..h_at].fill(0);
    assert_eq!(
        DelayParams::from_bytes(&bytes).unwrap_err(),
        ParamsError::Squarings(0)
    );
    assert!(matches!(
        RsaGroup::from_be_bytes(&RSA2048_MODULUS[..64]),
        Err(GroupError::BadModulus { bits: 512 })
    ));
    assert!(DelayParams::from_json("{}").is_err());
    assert!(DelayParams::from_json("not json").is_err());
    assert_eq!(
        DelayParams::generate(
            group1024(),
            &[0; 256],
            10,
            Backend::Portable,
            &mut no_progress()
        )
        .unwrap_err(),
        ParamsError::SeedTooLong(256)
    );
}

#[test]
fn generation_can_be_cancelled() {
    let mut calls = 0;
    let err = DelayParams::generate(
        group1024(),
        b"cancel",
        1 << 18,
        Backend::Portable,
        &mut |_| {
            calls += 1;
            std::ops::ControlFlow::Break(())
        },
    )
    .unwrap_err();
    assert_eq!(err, ParamsError::Cancelled);
    assert!(calls >= 1);
}

#[test]
fn fixture_bytes_of_rsa2048_parameters() {
    // Freezes the version-1 encoding, the generator derivation, the challenge and the id.
    let p = params(RsaGroup::rsa2048(), b"fixture", 1000);
    let expected = include_str!("fixtures/params_rsa2048_t1000.hex").trim();
    assert_eq!(hex::encode(p.to_bytes()), expected);
    assert_eq!(
        hex::encode(p.id()),
        include_str!("fixtures/params_rsa2048_t1000.id").trim()
    );
}

#[test]
fn squarings_follow_the_adversary_model() {
    let c = DelayConfig::default();
    assert_eq!(c.privacy_seconds, 12.0);
    // 1024 bits: 12 s / 25 ns.
    assert_eq!(c.squarings(1024).unwrap(), 480_000_000);
    // 2048 bits: 25 ns · 11/10 = 27.5 ns per squaring.
    assert_eq!(c.squarings(2048).unwrap(), 436_363_637);
    let slow = DelayConfig {
        privacy_seconds: 1.0,
        adversary_ns_per_1024_bit_squaring: 1000.0,
    };
    assert_eq!(slow.squarings(1024).unwrap(), 1_000_000);
    let bad = DelayConfig {
        privacy_seconds: 0.0,
        ..c
    };
    assert!(matches!(bad.squarings(2048), Err(ParamsError::Config(_))));
    let bad = DelayConfig {
        adversary_ns_per_1024_bit_squaring: f64::NAN,
        ..c
    };
    assert!(matches!(bad.squarings(2048), Err(ParamsError::Config(_))));
}

/// Rewrites the fixture files from the current code: run only on a deliberate format change
/// (`VEIL_REGENERATE_FIXTURES=1 cargo test -p veil-timelock --test params -- --ignored`).
#[test]
#[ignore = "rewrites the fixture files; run only on a deliberate format change"]
fn regenerate_fixtures() {
    if std::env::var("VEIL_REGENERATE_FIXTURES").is_err() {
        return;
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let p = params(RsaGroup::rsa2048(), b"fixture", 1000);
    std::fs::write(
        format!("{dir}/params_rsa2048_t1000.hex"),
        hex::encode(p.to_bytes()) + "\n",
    )
    .unwrap();
    std::fs::write(
        format!("{dir}/params_rsa2048_t1000.id"),
        hex::encode(p.id()) + "\n",
    )
    .unwrap();
}
