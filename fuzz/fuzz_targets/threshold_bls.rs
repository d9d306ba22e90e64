//! BLS material of order certificates: public keys, signatures, aggregate signatures,
//! signer bitmaps, proofs of possession and (sealed-file payload) signing keys. The first
//! input byte picks the decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::{fixture, select};
use veil_threshold::{
    AggregateSignature, BlsPublicKey, ProofOfPossession, Signature, SignerBitmap, SigningKey,
};

fuzz_target!(|data: &[u8]| {
    let Some((which, bytes)) = select(data, 6) else {
        return;
    };
    let f = fixture();
    match which {
        0 => {
            if let Ok(pk) = BlsPublicKey::from_bytes(bytes) {
                assert_eq!(pk.to_bytes().as_slice(), bytes);
                let pop = f.bls[0].prove_possession();
                let _ = pk.verify_possession(&pop);
            }
        }
        1 => {
            if let Ok(sig) = Signature::from_bytes(bytes) {
                assert_eq!(sig.to_bytes().as_slice(), bytes);
                let _ = f.committee[0].verify(b"fuzz", &sig);
            }
        }
        2 => {
            if let Ok(agg) = AggregateSignature::from_bytes(bytes) {
                assert_eq!(agg.to_bytes(), bytes);
                let _ = agg.verify(&f.committee, b"fuzz");
            }
        }
        3 => {
            if let Ok((bitmap, used)) = SignerBitmap::decode_prefix(bytes) {
                assert!(used <= bytes.len());
                assert_eq!(bitmap.encoded_len(), used);
                assert_eq!(bitmap.to_bytes(), &bytes[..used]);
                assert!(bitmap.count() <= bitmap.len());
                assert_eq!(bitmap.signers().count(), bitmap.count());
            }
        }
        4 => {
            if let Ok(pop) = ProofOfPossession::from_bytes(bytes) {
                assert_eq!(pop.to_bytes().as_slice(), bytes);
                let _ = f.committee[1].verify_possession(&pop);
            }
        }
        _ => {
            if let Ok(sk) = SigningKey::from_bytes(bytes) {
                assert_eq!(sk.to_bytes().as_slice(), bytes);
            }
        }
    }
});
