//! Decoders under adversarial bytes: random input and random mutations of valid encodings
//! never panic, and a mutated message never passes both decoding and verification.
mod common;

use common::*;
use proptest::prelude::*;
use std::sync::OnceLock;
use veil_keygen::committee::Committee;
use veil_keygen::dkg::{self, Complaint, Dealing, Response, Transcript};
use veil_keygen::identity::MemberPublic;
use veil_keygen::seal;

struct Fixture {
    transcript: Transcript,
    committee_json: String,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (_s, transcript, outcome, _sh) = run_fresh(4, 3, 77);
        Fixture {
            committee_json: outcome.committee.to_json(),
            transcript,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Dealing::from_bytes(&bytes);
        let _ = Complaint::from_bytes(&bytes);
        let _ = Response::from_bytes(&bytes);
        let _ = Transcript::from_bytes(&bytes);
        let _ = MemberPublic::from_bytes(&bytes);
        let _ = dkg::decode_dealings(&bytes);
        let _ = Committee::load_and_verify(&bytes);
        let _ = seal::open(seal::SealKind::Share, &bytes, b"pw");
    }

    #[test]
    fn mutated_dealing_is_refused(pos in any::<prop::sample::Index>(), mask in 1u8..=255) {
        let f = fixture();
        let d = &f.transcript.dealings[1];
        let mut bytes = d.to_bytes();
        let i = pos.index(bytes.len());
        bytes[i] ^= mask;
        if let Ok(m) = Dealing::from_bytes(&bytes) {
            let params = &f.transcript.params;
            prop_assert!(dkg::verify_dealing(params, &params.id(), &m).is_err());
        }
    }

    #[test]
    fn mutated_committee_json_is_refused(pos in any::<prop::sample::Index>(), c in any::<u8>()) {
        let f = fixture();
        let mut bytes = f.committee_json.clone().into_bytes();
        let i = pos.index(bytes.len());
        prop_assume!(bytes[i] != c);
        bytes[i] = c;
        // Either the file is refused outright, or (a field no proof covers, e.g. the epoch)
        // it describes another committee, which the transcript check refuses.
        if let Ok(c) = Committee::load_and_verify(&bytes) {
            prop_assert!(dkg::verify_committee(&f.transcript, &c).is_err());
        }
    }
}
