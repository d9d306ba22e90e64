//! Verifiable delay ciphertexts (issue 8): honest ciphertexts of every size prove and verify;
//! every way of making the relation false is refused at admission.

mod common;

use std::ops::ControlFlow;
use std::sync::OnceLock;

use common::*;
use num_bigint::BigUint;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};
use veil_circuits::delay_snark;
use veil_squaring::Backend;
use veil_timelock::{DelayCiphertext, DelayError, DelayParams, RsaGroup};

fn rsa2048() -> &'static DelayParams {
    static P: OnceLock<DelayParams> = OnceLock::new();
    P.get_or_init(|| params(RsaGroup::rsa2048(), b"delay proof tests", 1 << 8))
}

/// Offsets in a v2 encoding: header (2) + id (32), then o, P, (c, z), π, tag, len, body.
struct Layout {
    o: usize,
    p: usize,
    sigma: usize,
    snark: usize,
    tag: usize,
}

fn layout(p: &DelayParams) -> Layout {
    let n = p.group().element_len();
    let o = 34;
    let sigma = o + 2 * n;
    let snark = 34 + n + DelayCiphertext::proof_len(p) - 192 - 32;
    Layout {
        o,
        p: o + n,
        sigma,
        snark,
        tag: snark + 192,
    }
}

#[test]
fn honest_ciphertexts_of_every_size_prove_verify_and_open() {
    let p = rsa2048();
    let mut rng = ChaCha20Rng::seed_from_u64(80);
    for size in [0usize, 1, 31, 32, 1024, 4096] {
        let msg: Vec<u8> = (0..size).map(|i| (i * 7 + size) as u8).collect();
        let (ct, secret) = DelayCiphertext::encrypt(p, &pk(p), &label(1), &msg, &mut rng).unwrap();
        let bytes = ct.to_bytes(p);
        let ct = DelayCiphertext::from_bytes(p, &bytes).unwrap();
        assert_eq!(ct.verify(p, &label(1)), Ok(()), "size {size}");
        assert_eq!(ct.payload_len(), size);
        // Both openings: reveal and solving.
        let key = secret.reveal().open(p, ct.puzzle()).unwrap();
        assert_eq!(ct.decrypt(p, &label(1), &key).unwrap(), msg);
        if size == 32 {
            let solved = ct
                .puzzle()
                .solve(
                    p,
                    Backend::best_single(),
                    &mut |_| ControlFlow::Continue(()),
                )
                .unwrap();
            assert_eq!(ct.decrypt(p, &label(1), &solved).unwrap(), msg);
        }
    }
    // All proof bytes (P, Sigma, Groth16, tag) stay under 1 KiB.
    assert!(DelayCiphertext::proof_len(p) <= 1024);
}

#[test]
fn puzzles_keys_labels_and_parameters_cannot_be_swapped() {
    let p = rsa2048();
    let mut rng = ChaCha20Rng::seed_from_u64(81);
    let (ct1, _) = DelayCiphertext::encrypt(p, &pk(p), &label(1), b"first", &mut rng).unwrap();
    let (ct2, _) = DelayCiphertext::encrypt(p, &pk(p), &label(1), b"other", &mut rng).unwrap();
    let (b1, b2) = (ct1.to_bytes(p), ct2.to_bytes(p));
    let l = layout(p);
    let decode = |b: &[u8]| DelayCiphertext::from_bytes(p, b).unwrap();

    // A puzzle with a different a: ct2's (o, P, Sigma) with ct1's delay proof and body.
    let mut spliced = b2[..l.snark].to_vec();
    spliced.extend_from_slice(&b1[l.snark..]);
    assert_eq!(
        decode(&spliced).verify(p, &label(1)),
        Err(DelayError::Invalid)
    );
    // Only P from another exponent (o and the Sigma proof from ct1): Sigma fails.
    let mut mixed = b1.clone();
    mixed[l.p..l.sigma].copy_from_slice(&b2[l.p..l.sigma]);
    assert_eq!(
        decode(&mixed).verify(p, &label(1)),
        Err(DelayError::Invalid)
    );

    // A payload encrypted under a different key, with a correct MAC under that key.
    let body_at = l.tag + 32 + 4;
    let mut forged = b1.clone();
    for b in &mut forged[body_at..] {
        *b ^= 0x33;
    }
    let digest: [u8; 32] = Sha256::new()
        .chain_update(veil_domain::timelock::PAYLOAD_DIGEST)
        .chain_update(((forged.len() - body_at) as u64).to_be_bytes())
        .chain_update(&forged[body_at..])
        .finalize()
        .into();
    let wrong_key = veil_circuits::delay_snark::Scalar::from(12345u64);
    let tag = delay_snark::mac(&wrong_key, &digest);
    forged[l.tag..l.tag + 32].copy_from_slice(&delay_snark::field_to_bytes(&tag));
    assert_eq!(
        decode(&forged).verify(p, &label(1)),
        Err(DelayError::Invalid)
    );

    // A different label.
    assert_eq!(ct1.verify(p, &label(2)), Err(DelayError::Invalid));

    // Other parameters on the same modulus (another g, h and id): refused by id, and with
    // the id rewritten, refused by both proofs.
    let other = params(RsaGroup::rsa2048(), b"other delay params", 1 << 8);
    assert_eq!(
        DelayCiphertext::from_bytes(&other, &b1).unwrap_err(),
        DelayError::WrongParams
    );
    let mut moved = b1.clone();
    moved[2..34].copy_from_slice(other.id());
    let moved = DelayCiphertext::from_bytes(&other, &moved).unwrap();
    assert_eq!(moved.verify(&other, &label(1)), Err(DelayError::Invalid));
    // Another modulus altogether: the encoding does not even decode.
    let small = params(group1024(), b"delay proof tests", 1 << 8);
    assert!(DelayCiphertext::from_bytes(&small, &b1).is_err());
}

#[test]
fn tampered_proofs_permuted_inputs_and_version_confusion_are_refused() {
    let p = rsa2048();
    let mut rng = ChaCha20Rng::seed_from_u64(82);
    let (ct, _) = DelayCiphertext::encrypt(p, &pk(p), &label(3), b"tamper", &mut rng).unwrap();
    let good = ct.to_bytes(p);
    let l = layout(p);
    // Every byte of the Groth16 proof, the tag and the body, one bit at a time (step 7):
    // decoding fails (off-curve, non-canonical) or verification fails.
    for i in (l.snark..good.len()).step_by(7) {
        let mut b = good.clone();
        b[i] ^= 0x01;
        let refused = match DelayCiphertext::from_bytes(p, &b) {
            Err(_) => true,
            Ok(ct) => ct.verify(p, &label(3)).is_err(),
        };
        assert!(refused, "byte {i}");
    }
    // The Sigma challenge and response.
    for i in [l.sigma, l.sigma + 20, l.snark - 1] {
        let mut b = good.clone();
        b[i] ^= 0x04;
        let refused = match DelayCiphertext::from_bytes(p, &b) {
            Err(_) => true,
            Ok(ct) => ct.verify(p, &label(3)).is_err(),
        };
        assert!(refused, "sigma byte {i}");
    }
    // Public inputs permuted: o and P swapped.
    let n = p.group().element_len();
    let mut swapped = good.clone();
    swapped[l.o..l.o + n].copy_from_slice(&good[l.p..l.p + n]);
    swapped[l.p..l.p + n].copy_from_slice(&good[l.o..l.o + n]);
    let swapped = DelayCiphertext::from_bytes(p, &swapped).unwrap();
    assert_eq!(swapped.verify(p, &label(3)), Err(DelayError::Invalid));
    // v1 / v2 and kind confusion.
    let mut v1 = good.clone();
    v1[1] = 1;
    assert_eq!(
        DelayCiphertext::from_bytes(p, &v1).unwrap_err(),
        DelayError::Unsupported {
            kind: 2,
            version: 1
        }
    );
    let mut dual_kind = good.clone();
    dual_kind[0] = veil_timelock::dual::DUAL_CIPHERTEXT_KIND;
    assert!(DelayCiphertext::from_bytes(p, &dual_kind).is_err());
    assert!(veil_timelock::DualCiphertext::from_bytes(p, &good).is_err());
}

#[test]
fn another_square_root_is_refused_and_its_sign_twin_never_proves() {
    // The circuit pins k to the canonical representative: N − k cannot be a witness, and a
    // k' with k'² ≠ ±P is refused before proving. (That a non-trivial root with the same
    // square proves, and factors N, is shown with a test modulus of known factors in
    // veil-circuits' delay_snark tests.)
    let p = rsa2048();
    let pk = pk(p);
    let n = BigUint::from_bytes_be(p.group().modulus_bytes());
    let k = BigUint::from_bytes_be(&p.group().encode(p.h()));
    let sq = (&k * &k) % &n;
    let half: BigUint = (&n - 1u32) >> 1;
    let pc = if sq > half { &n - &sq } else { sq };
    let ctx = delay_snark::DelayContext {
        params_id: *p.id(),
        label_digest: label(4).digest(),
        puzzle_digest: [5; 32],
    };
    let pad = |x: &BigUint| {
        let mut v = vec![0u8; p.group().element_len()];
        let b = x.to_bytes_be();
        v[p.group().element_len() - b.len()..].copy_from_slice(&b);
        v
    };
    let (k_be, neg_be, p_be) = (pad(&k), pad(&(&n - &k)), pad(&pc));
    let mut rng = ChaCha20Rng::seed_from_u64(83);
    let w = delay_snark::DelayWitness {
        k_be: &k_be,
        p_be: &p_be,
        ctx,
        payload_digest: [6; 32],
    };
    assert!(pk.prove(&w, &mut rng).is_ok());
    let twin = delay_snark::DelayWitness { k_be: &neg_be, ..w };
    assert!(pk.prove(&twin, &mut rng).is_err());
    let off = pad(&(&k + 1u32));
    let wrong = delay_snark::DelayWitness { k_be: &off, ..w };
    assert!(pk.prove(&wrong, &mut rng).is_err());
}
