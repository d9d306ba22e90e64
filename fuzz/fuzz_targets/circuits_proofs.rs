//! Proof and point encodings of `veil-circuits`: `DleqProof`, compressed G1 and G2 points,
//! scalars, PVSS `KnowledgeProof` and `PairwiseKeyProof`, `ProofOfPossession`, and the
//! puzzle-exponent `ExponentPok` (for the fixture's delay parameters). The first input byte
//! picks the decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_circuits::dleq::{DleqProof, fr_from_bytes, fr_to_bytes, g1_from_bytes, g1_to_bytes};
use veil_circuits::pop::{ProofOfPossession, g2_from_bytes, g2_to_bytes};
use veil_circuits::pvss::{KnowledgeProof, PairwiseKeyProof};
use veil_circuits::rsa_pok::{ExponentPok, ExponentRelation};
use veil_fuzz_common::{fixture, select};

fuzz_target!(|data: &[u8]| {
    let Some((which, bytes)) = select(data, 8) else {
        return;
    };
    match which {
        0 => {
            if let Ok(p) = DleqProof::from_bytes(bytes) {
                assert_eq!(p.to_bytes().as_slice(), bytes);
            }
        }
        1 => {
            if let Some(p) = g1_from_bytes(bytes) {
                assert_eq!(g1_to_bytes(&p).as_slice(), bytes);
            }
        }
        2 => {
            if let Some(s) = fr_from_bytes(bytes) {
                assert_eq!(fr_to_bytes(&s).as_slice(), bytes);
            }
        }
        3 => {
            if let Some(p) = g2_from_bytes(bytes) {
                assert_eq!(g2_to_bytes(&p).as_slice(), bytes);
            }
        }
        4 => {
            if let Ok(p) = ProofOfPossession::from_bytes(bytes) {
                assert_eq!(p.to_bytes().as_slice(), bytes);
            }
        }
        5 => {
            if let Ok(p) = KnowledgeProof::from_bytes(bytes) {
                assert_eq!(p.to_bytes().as_slice(), bytes);
            }
        }
        6 => {
            if let Ok(p) = PairwiseKeyProof::from_bytes(bytes) {
                assert_eq!(p.to_bytes().as_slice(), bytes);
            }
        }
        _ => {
            let params = &fixture().params;
            let rel =
                ExponentRelation::new(params.group().modulus(), params.g(), params.exponent_bits());
            if let Ok(p) = ExponentPok::from_bytes(&rel, bytes) {
                assert_eq!(p.to_bytes(&rel), bytes, "an accepted encoding is canonical");
                assert_eq!(bytes.len(), rel.proof_len());
            }
        }
    }
});
