//! Wire-format fixtures: every encoded ceremony type, built deterministically from a seeded
//! RNG, must keep exactly these bytes (compared by SHA-256 so the fixture stays readable).
//! An accidental format change fails here loudly; an intended one bumps a version byte and
//! updates the fixture.
mod common;

use ark_bls12_381::Fr;
use common::*;
use sha2::{Digest, Sha256};
use veil_keygen::dkg::{self, Dealing, Response, Transcript};

fn h(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn encodings_are_frozen() {
    let mut r = rng(99);
    let secrets = members(3, &mut r);
    let params = fresh_params(&secrets, 2, 2, &mut r);
    let mut dealings: Vec<Dealing> = (1..=3)
        .map(|i| dkg::deal(&params, i, &secrets[i as usize - 1], None, &mut r).unwrap())
        .collect();
    // Dealer 3 sends member 1 a bad share (re-signed), so a complaint exists.
    dealings[2].shares[0] += Fr::from(1u64);
    let mut unsigned = dealings[2].to_bytes();
    unsigned.truncate(unsigned.len() - 96);
    dealings[2].signature = secrets[2].sign(&unsigned);
    let refs: Vec<&Dealing> = dealings.iter().collect();
    let complaints = dkg::check_shares(&params, 1, &secrets[0], &refs, &mut r).unwrap();
    assert_eq!(complaints.len(), 1);
    let response = Response::new(&params, 1, &secrets[0], complaints.clone());
    let transcript = Transcript {
        params: params.clone(),
        dealings: dealings.clone(),
        complaints,
    };
    let outcome = dkg::verify_transcript(&transcript).unwrap();
    let share = dkg::member_share(&transcript, &outcome, 2, &secrets[1]).unwrap();

    // Leading version bytes, spelled out.
    assert_eq!(params.members[0].to_bytes()[0], 1);
    assert_eq!(params.to_bytes()[0], 1);
    assert_eq!(dealings[0].to_bytes()[0], 1);
    assert_eq!(response.to_bytes()[0], 1);
    assert_eq!(transcript.to_bytes()[0], 1);
    // Sizes: a dealing is 1 + 32 + 4 + 4 + t·48 + 48 + 4 + n·32 + 80 + 96 bytes.
    assert_eq!(
        dealings[0].to_bytes().len(),
        1 + 32 + 4 + 4 + 2 * 48 + 48 + 4 + 3 * 32 + 80 + 96
    );
    assert_eq!(
        transcript.complaints[0].to_bytes().len(),
        1 + 32 + 4 + 32 + 48 + 128 + 96
    );

    let got = [
        ("member", h(&params.members[0].to_bytes())),
        ("params", h(&params.to_bytes())),
        ("dealing", h(&dealings[0].to_bytes())),
        ("complaint", h(&transcript.complaints[0].to_bytes())),
        ("response", h(&response.to_bytes())),
        ("transcript", h(&transcript.to_bytes())),
        ("committee.json", h(outcome.committee.to_json().as_bytes())),
        ("share", h(&share.to_sealable_bytes())),
        ("secret", h(&secrets[0].to_sealable_bytes())),
    ];
    let want = [
        (
            "member",
            "538385af674c6547095fd627ab0abb52baad1bed7aa8ec6e3075f574056b3bd9",
        ),
        (
            "params",
            "e17d85eaf87c849d96e4143174a6d049c49bcb14725095f86a015140bf74f398",
        ),
        (
            "dealing",
            "681862f33495bf5ca0036e10fa5abad1fdf740017dcf0a310b806c4426b83e18",
        ),
        (
            "complaint",
            "17e57384466a71697dcf755e9726006aba75967503087eee7356b0765d52f86c",
        ),
        (
            "response",
            "fd846b62a82c0c513aff0a428d8a88d00949874523937046630ec889ef3e4ec9",
        ),
        (
            "transcript",
            "5ab390194dce3dee3b844c3849e8b2c76ae7e09209c698eecb9d844fc74e0011",
        ),
        (
            "committee.json",
            "86237901f7bd0e9af73921274fb9747183ed4f1f9377e7606f3835e0f958d54e",
        ),
        (
            "share",
            "fcfeddd188d3681c4abff0361f17e60e8cd18a0420aa60187f07a0dea9995063",
        ),
        (
            "secret",
            "38800accfeaaa47253fafef12b54ccbc18a6f7c401eaca7a46861ab4fc303663",
        ),
    ];
    for (name, g) in &got {
        println!("(\"{name}\", \"{g}\"),");
    }
    for ((name, g), (_, w)) in got.iter().zip(want) {
        assert_eq!(g, w, "{name} encoding changed");
    }
}
