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
            "d6a311b35d220d3f80fb30618d25c37152acb61f9adde9ac373567071ae83286",
        ),
        (
            "params",
            "e58093f6a172396a5107b79f0931bfd932abd6ad55f7285380811138c8eeae79",
        ),
        (
            "dealing",
            "b00d53cb68ef23db485dad36d9db9f268747f658d7d0bfad0ce40afdcad46d7c",
        ),
        (
            "complaint",
            "eb7f8a15bfe87f5dc75c132bc0ebfd70baea093df7936c83b952230f32621c09",
        ),
        (
            "response",
            "3edecd9e101c610b51ee35b58babba51e3be512e91aacaeef172d2c6e84d7715",
        ),
        (
            "transcript",
            "1bc9c4a0e1079d788107acbc054ab8cd281cecf05d29806ec7d59fac52c9c3d0",
        ),
        (
            "committee.json",
            "d65c108178775be720e93da6fec2bcdd587b18903f1bb9a097c87e758f7f798e",
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
