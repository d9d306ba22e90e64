//! Acceptance tests of the ceremony: completion at n = 4, 16, 64, Byzantine dealers, and
//! resharing.
mod common;

use ark_bls12_381::{Fr, G1Affine};
use ark_ec::AffineRepr;
use ark_ff::{UniformRand, Zero};
use common::*;
use rand_chacha::ChaCha20Rng;
use veil_keygen::committee::Committee;
use veil_keygen::dkg::{
    self, CeremonyParams, Dealing, DkgError, Exclusion, MemberShare, Transcript,
};
use veil_keygen::identity::MemberSecret;

/// Encrypts with the threshold crate (TDH2) under the committee's key.
fn encrypt_for(
    committee: &Committee,
    rng: &mut ChaCha20Rng,
) -> (veil_threshold::VerifiedCiphertext, Vec<u8>) {
    use veil_threshold::{EncryptionKey, Label, SlotRange};
    let key = committee.threshold_key().unwrap();
    let label = Label::new(
        7,
        [3; 32],
        SlotRange::new(1, 2).unwrap(),
        10,
        b"dkg".to_vec(),
    )
    .unwrap();
    let msg = format!("secret order flow {}", u64::rand(rng)).into_bytes();
    let ct = EncryptionKey::new(key.public_key())
        .encrypt(rng, &label, &msg)
        .unwrap();
    (ct.verify(key.public_key()).unwrap(), msg)
}

/// Decrypts with the given members' shares through the threshold crate's proven share
/// batches and robust combiner, under `committee`'s key.
fn decrypts(
    committee: &Committee,
    shares: &[&MemberShare],
    (vc, msg): &(veil_threshold::VerifiedCiphertext, Vec<u8>),
    rng: &mut ChaCha20Rng,
) -> bool {
    use veil_threshold::{Decrypted, ShareBatch};
    let key = committee.threshold_key().unwrap();
    let batches: Vec<ShareBatch> = shares
        .iter()
        .map(|s| {
            ShareBatch::create(rng, &s.to_key_share().unwrap(), std::slice::from_ref(vc)).unwrap()
        })
        .collect();
    match veil_threshold::combine(&key, std::slice::from_ref(vc), &batches) {
        Ok(c) => c.outcomes == vec![Decrypted::Plaintext(msg.clone())],
        Err(_) => false,
    }
}

fn kem_decrypts_with(
    committee: &Committee,
    shares: &[&MemberShare],
    rng: &mut ChaCha20Rng,
) -> bool {
    let ct = encrypt_for(committee, rng);
    decrypts(committee, shares, &ct, rng)
}

fn check_outcome(n: usize, t: u32, seed: u64) {
    let (_secrets, transcript, outcome, shares) = run_fresh(n, t, seed);
    let committee = &outcome.committee;
    assert_eq!(committee.n() as usize, n);
    assert!(outcome.excluded.is_empty());
    assert_eq!(outcome.qualified.len(), t as usize);
    // committee.json round-trips and verifies from the file alone.
    let json = committee.to_json();
    assert_eq!(
        &Committee::load_and_verify(json.as_bytes()).unwrap(),
        committee
    );
    dkg::verify_committee(&transcript, committee).unwrap();
    // Every member's share matches its verification key, and converts to the threshold
    // crate's types.
    let tk = committee.threshold_key().unwrap();
    for s in &shares {
        assert!(s.matches(committee));
        assert_eq!(
            tk.verification_key(s.index).unwrap(),
            &s.to_key_share().unwrap().verification_key()
        );
    }
    // Any t shares reconstruct the secret key and decrypt; t − 1 do not.
    let mut r = rng(seed ^ 0xabc);
    for offset in [0usize, n / 3, n - t as usize] {
        let subset: Vec<&MemberShare> = shares.iter().skip(offset).take(t as usize).collect();
        assert_eq!(times_g(&interpolate(&subset)), committee.public_key);
        assert!(kem_decrypts_with(committee, &subset, &mut r));
        if t > 1 {
            assert_ne!(times_g(&interpolate(&subset[1..])), committee.public_key);
            assert!(!kem_decrypts_with(committee, &subset[1..], &mut r));
        }
    }
}

#[test]
fn ceremony_n4_completes() {
    check_outcome(4, 3, 4);
}

#[test]
fn ceremony_n16_completes() {
    check_outcome(16, 11, 16);
}

#[test]
fn ceremony_n64_completes() {
    check_outcome(64, 43, 64);
}

/// Re-signs a dealing after tampering, as a malicious dealer would.
fn resign(d: &mut Dealing, dealer: &MemberSecret) {
    let mut bytes = d.to_bytes();
    bytes.truncate(bytes.len() - 96);
    d.signature = dealer.sign(&bytes);
}

struct Byz {
    secrets: Vec<MemberSecret>,
    params: CeremonyParams,
    r: ChaCha20Rng,
}

fn byz_setup(seed: u64) -> Byz {
    let mut r = rng(seed);
    let secrets = members(7, &mut r);
    let params = fresh_params(&secrets, 3, 5, &mut r);
    Byz { secrets, params, r }
}

impl Byz {
    fn honest(&mut self, i: u32) -> Dealing {
        dkg::deal(
            &self.params,
            i,
            &self.secrets[i as usize - 1],
            None,
            &mut self.r,
        )
        .unwrap()
    }

    /// Runs check/complain by every honest member, then verifies as every honest member and
    /// as an outside verifier; returns the outcome and checks all honest shares.
    fn finish(&mut self, dealings: Vec<Dealing>, bad: u32) -> dkg::Outcome {
        let honest: Vec<u32> = (1..=7).filter(|j| *j != bad).collect();
        let complaints = complaints(&self.params, &self.secrets, &dealings, &honest, &mut self.r);
        let transcript = Transcript {
            params: self.params.clone(),
            dealings,
            complaints,
        };
        // The outside verifier (keygen verify) and every honest member reach one outcome
        // from the transcript bytes.
        let bytes = transcript.to_bytes();
        let outcome = dkg::verify_transcript(&Transcript::from_bytes(&bytes).unwrap()).unwrap();
        assert!(outcome.is_excluded(bad), "{:?}", outcome.excluded);
        assert!(outcome.qualified.iter().all(|(d, _, _)| *d != bad));
        let mut shares = Vec::new();
        for &j in &honest {
            let mine = dkg::verify_transcript(&transcript).unwrap();
            assert_eq!(mine.committee, outcome.committee);
            shares.push(
                dkg::member_share(&transcript, &mine, j, &self.secrets[j as usize - 1]).unwrap(),
            );
        }
        let subset: Vec<&MemberShare> = shares.iter().take(3).collect();
        assert_eq!(times_g(&interpolate(&subset)), outcome.committee.public_key);
        outcome
    }
}

#[test]
fn byzantine_bad_share_to_one_member_is_excluded() {
    let mut b = byz_setup(10);
    let mut dealings: Vec<Dealing> = (1..=7).map(|i| b.honest(i)).collect();
    // Dealer 2 corrupts the share of member 5 only.
    dealings[1].shares[4] += Fr::from(1u64);
    let d2 = b.secrets[1].clone();
    resign(&mut dealings[1], &d2);
    let honest: Vec<u32> = (1..=7).filter(|j| *j != 2).collect();
    let cs = complaints(&b.params, &b.secrets, &dealings, &honest, &mut b.r);
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0].accuser, 5);
    let outcome = b.finish(dealings, 2);
    assert!(matches!(
        outcome.excluded[..],
        [(2, Exclusion::Complained { accuser: 5 })]
    ));
}

#[test]
fn byzantine_inconsistent_commitments_are_excluded() {
    let mut b = byz_setup(11);
    let mut dealings: Vec<Dealing> = (1..=7).map(|i| b.honest(i)).collect();
    // Dealer 3 publishes a commitment that is not the one its shares follow.
    dealings[2].commitments[2] = times_g(&Fr::from(12345u64));
    let d3 = b.secrets[2].clone();
    resign(&mut dealings[2], &d3);
    let outcome = b.finish(dealings.clone(), 3);
    assert!(matches!(
        outcome.excluded[..],
        [(3, Exclusion::Complained { .. })]
    ));
    // A dealing with the wrong number of commitments fails the public check outright.
    let mut short = dealings[2].clone();
    short.commitments.pop();
    resign(&mut short, &d3);
    let id = b.params.id();
    assert!(matches!(
        dkg::verify_dealing(&b.params, &id, &short),
        Err(DkgError::DealingShape { .. })
    ));
}

#[test]
fn byzantine_wrong_proof_is_excluded() {
    let mut b = byz_setup(12);
    let mut dealings: Vec<Dealing> = (1..=7).map(|i| b.honest(i)).collect();
    dealings[3].proof.z += Fr::from(1u64);
    let d4 = b.secrets[3].clone();
    resign(&mut dealings[3], &d4);
    let outcome = b.finish(dealings, 4);
    assert!(matches!(
        outcome.excluded[..],
        [(4, Exclusion::Invalid(DkgError::BadProof))]
    ));
}

#[test]
fn byzantine_duplicate_dealing_is_excluded() {
    let mut b = byz_setup(13);
    let mut dealings: Vec<Dealing> = (1..=7).map(|i| b.honest(i)).collect();
    // Dealer 1 equivocates: a second, different, validly signed dealing.
    let second = b.honest(1);
    dealings.push(second);
    // Re-posting identical bytes is harmless and not equivocation.
    dealings.push(dealings[5].clone());
    let outcome = b.finish(dealings, 1);
    assert!(matches!(
        outcome.excluded[..],
        [(1, Exclusion::Equivocated)]
    ));
}

#[test]
fn byzantine_absent_dealer_does_not_stall() {
    let mut b = byz_setup(14);
    // Dealer 6 never deals; dealer 7 is late (posted after the quorum of 5 was reached).
    let dealings: Vec<Dealing> = [1, 2, 3, 4, 5, 7].iter().map(|&i| b.honest(i)).collect();
    let transcript = Transcript {
        params: b.params.clone(),
        dealings,
        complaints: vec![],
    };
    let outcome = dkg::verify_transcript(&transcript).unwrap();
    let q: Vec<u32> = outcome.qualified.iter().map(|q| q.0).collect();
    assert_eq!(q, vec![1, 2, 3, 4, 5]);
    for j in 1..=7u32 {
        dkg::member_share(&transcript, &outcome, j, &b.secrets[j as usize - 1]).unwrap();
    }
    // With only 4 dealings the quorum of 5 is not met: a clear error, no key.
    let short = Transcript {
        dealings: transcript.dealings[..4].to_vec(),
        ..transcript
    };
    assert_eq!(
        dkg::verify_transcript(&short).unwrap_err(),
        DkgError::NotEnoughDealings { have: 4, need: 5 }
    );
}

#[test]
fn false_complaint_and_forged_dealing_are_ignored() {
    let mut b = byz_setup(15);
    let mut dealings: Vec<Dealing> = (1..=7).map(|i| b.honest(i)).collect();
    // Member 6 accuses honest dealer 1 by corrupting a copy locally and complaining: the
    // revealed share matches the real dealing, so the complaint is provably false.
    let mut fake = dealings[0].clone();
    fake.shares[5] += Fr::from(1u64);
    let id = b.params.id();
    let c = dkg::check_shares(&b.params, 6, &b.secrets[5], &[&fake], &mut b.r).unwrap();
    assert_eq!(c.len(), 1);
    assert!(dkg::verify_complaint(&b.params, &id, &dealings[0], &c[0]).is_err());
    // A dealing "from" dealer 2 signed by someone else is rejected and does not frame 2.
    let mut forged = dealings[1].clone();
    forged.shares[0] += Fr::from(1u64);
    let other = b.secrets[6].clone();
    resign(&mut forged, &other);
    dealings.insert(0, forged);
    let transcript = Transcript {
        params: b.params.clone(),
        dealings,
        complaints: c,
    };
    let outcome = dkg::verify_transcript(&transcript).unwrap();
    assert!(outcome.excluded.is_empty(), "{:?}", outcome.excluded);
    assert_eq!(outcome.rejected_complaints.len(), 1);
}

#[test]
fn resharing_3_of_4_to_5_of_7_keeps_the_key() {
    let (old_secrets, _t, old_outcome, old_shares) = run_fresh(4, 3, 30);
    let old = old_outcome.committee.clone();
    let mut r = rng(31);
    // A ciphertext made for the old committee, before resharing.
    let old_ct = encrypt_for(&old, &mut r);
    let old_subset: Vec<&MemberShare> = old_shares.iter().take(3).collect();
    assert!(decrypts(&old, &old_subset, &old_ct, &mut r));
    let new_secrets = members(7, &mut r);
    let roster = new_secrets.iter().map(|s| s.public(&mut r)).collect();
    let params = CeremonyParams::reshare(old.clone(), 5, roster).unwrap();
    assert_eq!(params.epoch, old.epoch + 1);
    // Old member 2 is absent; 1, 3, 4 deal their shares.
    let mut dealings: Vec<Dealing> = [1u32, 3, 4]
        .iter()
        .map(|&i| {
            dkg::deal(
                &params,
                i,
                &old_secrets[i as usize - 1],
                Some(old_shares[i as usize - 1].secret()),
                &mut r,
            )
            .unwrap()
        })
        .collect();
    // An old member cannot deal anything but its own share.
    let bogus = Fr::rand(&mut r);
    assert!(matches!(
        dkg::deal(&params, 2, &old_secrets[1], Some(&bogus), &mut r),
        Err(DkgError::NotOwnShare(2))
    ));
    // A dealing pretending to carry another share fails the public check too.
    let mut lie = dealings[0].clone();
    lie.commitments[0] = times_g(&bogus);
    let id = params.id();
    assert!(dkg::verify_dealing(&params, &id, &lie).is_err());
    dealings.rotate_left(1);
    let transcript = Transcript {
        params,
        dealings,
        complaints: vec![],
    };
    let outcome = dkg::verify_transcript(&transcript).unwrap();
    let new = &outcome.committee;
    assert_eq!(new.public_key, old.public_key);
    assert_eq!((new.epoch, new.threshold, new.n()), (old.epoch + 1, 5, 7));
    Committee::load_and_verify(new.to_json().as_bytes()).unwrap();
    let new_shares: Vec<MemberShare> = (1..=7u32)
        .map(|j| dkg::member_share(&transcript, &outcome, j, &new_secrets[j as usize - 1]).unwrap())
        .collect();
    // Any 5 new shares decrypt ciphertexts made for the (unchanged) key, including "old"
    // ones made before resharing; old and new shares never mix.
    let secret = interpolate(&old_subset);
    for start in 0..3 {
        let subset: Vec<&MemberShare> = new_shares.iter().skip(start).take(5).collect();
        assert_eq!(interpolate(&subset), secret);
        assert!(decrypts(new, &subset, &old_ct, &mut r));
        assert!(kem_decrypts_with(new, &subset, &mut r));
    }
    // Fewer than t' = 5 new shares reveal nothing: for every 4-subset, and any candidate
    // secret σ, there is a degree-4 polynomial through (0, σ) and those 4 shares — shown by
    // interpolating it and checking it reproduces the shares — so the 4 shares are
    // consistent with every secret; and interpolating only the 4 shares gives a wrong key.
    for skip in 0..7usize {
        for skip2 in skip + 1..7 {
            let four: Vec<&MemberShare> = new_shares
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip && *i != skip2)
                .map(|(_, s)| s)
                .take(4)
                .collect();
            assert_ne!(times_g(&interpolate(&four)), old.public_key);
            let sigma = Fr::rand(&mut r);
            let fake0 = MemberShare::new(0, 0, sigma);
            let mut pts: Vec<&MemberShare> = four.clone();
            pts.push(&fake0);
            // Evaluate that polynomial at each of the four points: equals their shares.
            for s in &four {
                let at = lagrange_eval(&pts, Fr::from(s.index));
                assert_eq!(at, *s.secret());
            }
        }
    }
    // Four new shares cannot decrypt the old ciphertext.
    let four: Vec<&MemberShare> = new_shares.iter().take(4).collect();
    assert!(!decrypts(new, &four, &old_ct, &mut r));
    // The old committee's shares are not valid in the new committee.
    assert!(!old_shares[0].matches(new));
}

fn lagrange_eval(points: &[&MemberShare], x: Fr) -> Fr {
    use ark_ff::{Field, One};
    let mut acc = Fr::zero();
    for a in points {
        let xa = Fr::from(a.index);
        let mut l = Fr::one();
        for b in points {
            if a.index != b.index {
                let xb = Fr::from(b.index);
                l *= (x - xb) * (xa - xb).inverse().unwrap();
            }
        }
        acc += l * a.secret();
    }
    acc
}

#[test]
fn committee_json_rejects_tampering_and_fixture_is_frozen() {
    let (_s, _t, outcome, _sh) = run_fresh(4, 3, 40);
    let json = outcome.committee.to_json();
    // A different verification key breaks the polynomial consistency check.
    let mut c2 = outcome.committee.clone();
    c2.members[3].verification_key = c2.members[2].verification_key;
    assert!(matches!(
        Committee::load_and_verify(c2.to_json().as_bytes()),
        Err(veil_keygen::CommitteeError::InconsistentKeys)
    ));
    // Non-canonical whitespace is refused.
    let spaced = json.replace("\n", "\n ");
    assert!(Committee::load_and_verify(spaced.as_bytes()).is_err());
    // Swapping two members' proofs is refused.
    let mut c3 = outcome.committee.clone();
    let p = c3.members[0].public.possession;
    c3.members[0].public.possession = c3.members[1].public.possession;
    c3.members[1].public.possession = p;
    assert!(Committee::load_and_verify(c3.to_json().as_bytes()).is_err());
    // Frozen layout of the file's header fields.
    let head: Vec<&str> = json.lines().take(6).collect();
    assert_eq!(head[0], "{");
    assert_eq!(head[1], "  \"version\": 1,");
    assert_eq!(head[2], "  \"epoch\": 1,");
    assert_eq!(head[3], "  \"n\": 4,");
    assert_eq!(head[4], "  \"threshold\": 3,");
    assert!(head[5].starts_with("  \"public_key\": \""));
    assert!(outcome.committee.public_key != G1Affine::zero());
    let _ = G1Affine::generator();
}
