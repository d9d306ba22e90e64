//! Certificate building and verification, and the impossibility of conflicting certificates
//! when at most f members equivocate.

mod common;

use common::{Committee, DOMAIN};
use veil_protocol::{
    Batch, CertificateBuilder, CertificateError, Commitment, CommitteeConfig, Progress, TxId,
    VoteError, VoteGuard, VoteIntent,
};
use veil_threshold::SigningKey;

fn intent_of(b: &Batch) -> VoteIntent {
    VoteIntent {
        slot: b.slot,
        parent: b.parent,
        commitment: b.commitment(),
    }
}

fn batch(tag: u8) -> Batch {
    Batch {
        chain_id: DOMAIN,
        slot: 1,
        parent: Commitment::genesis(),
        ids: vec![TxId([tag; 32])],
        chains: vec![],
    }
}

#[test]
fn builder_rejects_duplicate_bad_foreign_and_conflicting_votes() {
    let c = Committee::new(11);
    let intent = intent_of(&batch(1));
    let mut b = CertificateBuilder::new(intent, c.committee.clone(), 3);

    // Foreign member index.
    let mut foreign = c.vote(1, &intent);
    foreign.member = 5;
    assert!(matches!(
        b.add(&foreign),
        Err(CertificateError::Vote(VoteError::UnknownMember {
            member: 5,
            ..
        }))
    ));
    foreign.member = 0;
    assert!(b.add(&foreign).is_err());
    // A key outside the committee signing as member 2.
    let outsider = SigningKey::generate(&mut rand_core::OsRng);
    let forged = veil_protocol::Vote::sign(&outsider, 2, &intent);
    assert!(matches!(
        b.add(&forged),
        Err(CertificateError::Vote(VoteError::InvalidSignature))
    ));
    // Member 3's signature claimed by member 2.
    let mut stolen = c.vote(3, &intent);
    stolen.member = 2;
    assert!(b.add(&stolen).is_err());
    // A vote for another commitment.
    let other = intent_of(&batch(2));
    assert!(matches!(
        b.add(&c.vote(1, &other)),
        Err(CertificateError::Conflicting)
    ));
    assert_eq!(b.count(), 0);

    assert_eq!(
        b.add(&c.vote(1, &intent)).unwrap(),
        Progress::Pending { have: 1, need: 3 }
    );
    assert!(matches!(
        b.add(&c.vote(1, &intent)),
        Err(CertificateError::Duplicate(1))
    ));
    assert_eq!(
        b.add(&c.vote(4, &intent)).unwrap(),
        Progress::Pending { have: 2, need: 3 }
    );
    let cert = match b.add(&c.vote(2, &intent)).unwrap() {
        Progress::Certified(cert) => cert,
        p => panic!("unexpected {p:?}"),
    };
    assert_eq!(
        b.add(&c.vote(3, &intent)).unwrap(),
        Progress::AlreadyCertified
    );

    assert_eq!(cert.intent(), intent);
    assert_eq!(cert.signers().signers().collect::<Vec<_>>(), vec![0, 1, 3]);
    cert.verify(&c.committee, 3).unwrap();
    // Not at a higher quorum, not for another committee, not for another commitment.
    assert!(matches!(
        cert.verify(&c.committee, 4),
        Err(CertificateError::NoQuorum { have: 3, need: 4 })
    ));
    let other_committee = Committee::new(12);
    assert!(matches!(
        cert.verify(&other_committee.committee, 3),
        Err(CertificateError::Invalid)
    ));
    let mut moved = cert.clone();
    moved.commitment = other.commitment;
    assert!(matches!(
        moved.verify(&c.committee, 3),
        Err(CertificateError::Invalid)
    ));
    let mut moved = cert.clone();
    moved.slot = 2;
    assert!(moved.verify(&c.committee, 3).is_err());
}

#[test]
fn below_quorum_certificates_do_not_verify() {
    let c = Committee::new(13);
    let b = batch(3);
    // Two signers: a valid multi-signature, but below the quorum of 3.
    let two = c.certify(&b, &[2, 4]);
    two.verify(&c.committee, 2).unwrap();
    assert!(matches!(
        two.verify(&c.committee, 3),
        Err(CertificateError::NoQuorum { have: 2, need: 3 })
    ));
    // Claiming a third signer that did not sign breaks the signature.
    let mut padded = two.clone();
    padded.signature.signers.insert(0).unwrap();
    assert!(matches!(
        padded.verify(&c.committee, 3),
        Err(CertificateError::Invalid)
    ));
}

/// One member's votes in a run: the honest ones are produced by a `VoteGuard` that sees
/// the proposals in some order (or lacks the envelopes); Byzantine ones sign everything.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    SeesAFirst,
    SeesBFirst,
    Silent,
}

#[test]
fn two_conflicting_certificates_need_more_than_f_equivocators() {
    let c = Committee::new(14);
    let (n, f, q) = (c.cfg.n as usize, c.cfg.f as usize, c.cfg.quorum as usize);
    let pa = c.propose(batch(0xa));
    let pb = c.propose(batch(0xb));
    let (ia, ib) = (intent_of(&pa.batch), intent_of(&pb.batch));
    // Signatures are deterministic; sign each (member, commitment) once.
    let va: Vec<_> = (1..=n as u32).map(|m| c.vote(m, &ia)).collect();
    let vb: Vec<_> = (1..=n as u32).map(|m| c.vote(m, &ib)).collect();
    let behaviours = [
        Behaviour::SeesAFirst,
        Behaviour::SeesBFirst,
        Behaviour::Silent,
    ];

    let mut runs = 0;
    let mut certified_a_or_b = 0;
    for byz_mask in 0u32..(1 << n) {
        if byz_mask.count_ones() as usize != f {
            continue;
        }
        let honest: Vec<usize> = (0..n).filter(|i| byz_mask >> i & 1 == 0).collect();
        for code in 0..3usize.pow(honest.len() as u32) {
            let mut votes_a = Vec::new();
            let mut votes_b = Vec::new();
            let mut k = code;
            for &i in &honest {
                let mut guard = VoteGuard::new(DOMAIN);
                let order = match behaviours[k % 3] {
                    Behaviour::SeesAFirst => vec![&pa, &pb],
                    Behaviour::SeesBFirst => vec![&pb, &pa],
                    Behaviour::Silent => vec![],
                };
                k /= 3;
                for p in order {
                    if let Ok(intent) = guard.decide(p, |_| true) {
                        if intent == ia {
                            votes_a.push(va[i].clone());
                        } else {
                            votes_b.push(vb[i].clone());
                        }
                    }
                }
            }
            for i in (0..n).filter(|i| byz_mask >> i & 1 == 1) {
                votes_a.push(va[i].clone());
                votes_b.push(vb[i].clone());
            }
            let build = |intent, votes: &[veil_protocol::Vote]| {
                let mut b = CertificateBuilder::new(intent, c.committee.clone(), q);
                votes
                    .iter()
                    .filter_map(|v| match b.add(v).unwrap() {
                        Progress::Certified(cert) => Some(cert),
                        _ => None,
                    })
                    .next()
            };
            let ca = build(ia, &votes_a);
            let cb = build(ib, &votes_b);
            assert!(
                ca.is_none() || cb.is_none(),
                "conflicting certificates with byzantine {byz_mask:b}, honest code {code}"
            );
            certified_a_or_b += usize::from(ca.is_some() || cb.is_some());
            runs += 1;
        }
    }
    assert_eq!(runs, 4 * 27);
    // The enumeration is not vacuous: many runs do certify one side.
    assert!(certified_a_or_b > 0);

    // And the bound is tight: with f + 1 equivocators, one honest member on each side is
    // enough for two conflicting certificates.
    let byz = [0usize, 1];
    let mut votes_a: Vec<_> = byz.iter().map(|&i| va[i].clone()).collect();
    let mut votes_b: Vec<_> = byz.iter().map(|&i| vb[i].clone()).collect();
    votes_a.push(va[2].clone());
    votes_b.push(vb[3].clone());
    for (intent, votes) in [(ia, votes_a), (ib, votes_b)] {
        let mut b = CertificateBuilder::new(intent, c.committee.clone(), q);
        let last = votes.iter().map(|v| b.add(v).unwrap()).last().unwrap();
        assert!(matches!(last, Progress::Certified(_)));
    }
}

#[test]
fn quorum_intersection_holds_for_every_valid_configuration() {
    // The counting argument behind the test above, for every safe configuration up to 13
    // members: two quorums always share more than f members.
    for n in 1..=13u32 {
        for f in 0..n {
            for quorum in 1..=n {
                for t in 1..=n {
                    let cfg = CommitteeConfig { n, f, quorum, t };
                    if cfg.validate().is_ok() {
                        assert!(2 * quorum - n > f, "{cfg:?}");
                    }
                }
            }
        }
    }
}
