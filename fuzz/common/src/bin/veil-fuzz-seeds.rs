//! Writes the seed corpora of Veil's fuzz targets: valid encodings of every decoded type,
//! built from the shared fixture, one directory per target.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml -p veil-fuzz-common --bin veil-fuzz-seeds -- fuzz/seeds
//! ```
//!
//! Seeds of targets that pick their decoder by a first selector byte start with that byte.
//! The output is deterministic; regenerate after a wire-format change.
use std::path::{Path, PathBuf};

use veil_circuits::dleq::{fr_to_bytes, g1_to_bytes};
use veil_circuits::pop::g2_to_bytes;
use veil_fuzz_common::{
    T, batch, ceremony, certify, fixture, intent, propose, rng, threshold_envelopes,
    verified_ciphertexts, vote,
};
use veil_keygen::dkg::{Response, encode_dealings};
use veil_keygen::seal::{SealKind, SealParams, seal};
use veil_protocol::{
    BatchOpening, CommitteeConfig, Evidence, InclusionProof, MemberMessage, MessageKind, Receipt,
    ReceiptSubject, ReleaseGuard, SharesMessage, TxEnvelope, TxId, ValidatedEnvelope,
};
use veil_threshold::{ShareBatch, SignerBitmap};
use veil_timelock::{DelayCiphertext, DualCiphertext, PuzzleSolution};

struct Out(PathBuf);

impl Out {
    fn put(&self, target: &str, name: &str, bytes: &[u8]) {
        let dir = self.0.join(target);
        std::fs::create_dir_all(&dir).expect("create seed directory");
        std::fs::write(dir.join(name), bytes).expect("write seed");
    }

    /// A seed for a target whose first byte selects the decoder.
    fn sel(&self, target: &str, selector: u8, name: &str, bytes: &[u8]) {
        let mut v = vec![selector];
        v.extend_from_slice(bytes);
        self.put(target, name, &v);
    }
}

fn frame(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for i in items {
        out.extend_from_slice(&(i.len() as u32).to_be_bytes());
        out.extend_from_slice(i);
    }
    out
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("protocol types serialize")
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/seeds".into());
    let out = Out(Path::new(&dir).to_owned());
    let f = fixture();
    let mut r = rng(42);

    // Threshold scheme.
    let envs = threshold_envelopes(3);
    let cts = verified_ciphertexts(3);
    for (i, c) in cts.iter().enumerate() {
        out.put(
            "threshold_ciphertext",
            &format!("ct-{i}"),
            &c.ciphertext().to_bytes(),
        );
    }
    let shares = ShareBatch::create(&mut r, &f.shares[0], &cts).expect("three ciphertexts");
    out.put("threshold_share_batch", "member-1", &shares.to_bytes());
    let label = f.label.to_bytes();
    out.put("threshold_label", "label", &label);
    out.sel("threshold_bls", 0, "public-key", &f.committee[0].to_bytes());
    let sig = f.bls[0].sign(b"fuzz");
    out.sel("threshold_bls", 1, "signature", &sig.to_bytes());
    let b1 = batch(1, &envs);
    let cert = certify(&b1);
    let cert_bytes = cert.to_bytes();
    out.sel("threshold_bls", 3, "bitmap", &cert.signers().to_bytes());
    let mut bitmap = SignerBitmap::new(4).expect("4 members");
    bitmap.insert(0).expect("in range");
    out.sel("threshold_bls", 3, "bitmap-1", &bitmap.to_bytes());
    out.sel(
        "threshold_bls",
        4,
        "possession",
        &f.bls[0].prove_possession().to_bytes(),
    );
    out.sel(
        "threshold_bls",
        5,
        "signing-key",
        f.bls[0].to_bytes().as_slice(),
    );
    out.sel("threshold_keys", 0, "threshold-key", &f.key.to_bytes());
    out.sel(
        "threshold_keys",
        1,
        "key-share",
        f.shares[0].to_bytes().as_slice(),
    );
    out.sel(
        "threshold_keys",
        2,
        "public-key",
        &f.key.public_key().to_bytes(),
    );
    out.sel(
        "threshold_keys",
        3,
        "verification-key",
        &f.key.verification_keys()[0].to_bytes(),
    );

    // Envelopes of every mode.
    let pk = f
        .params
        .insecure_proving_key()
        .expect("fixture parameters use the reproducible devnet setup");
    let (delay_ct, secret) =
        DelayCiphertext::encrypt(&f.params, &pk, &f.label, b"fuzz delay", &mut r).expect("short");
    let (dual_ct, _) =
        DualCiphertext::encrypt(&f.params, &pk, &f.ek, &f.label, b"fuzz dual", &mut r)
            .expect("short");
    let delay_env = TxEnvelope::delay(&f.params, f.label.clone(), &delay_ct).to_bytes();
    let dual_env = TxEnvelope::dual(&f.params, &dual_ct).to_bytes();
    let thr_env = envs[0].encoding().to_vec();
    out.put("protocol_envelope", "threshold", &thr_env);
    out.put("protocol_envelope", "delay", &delay_env);
    out.put("protocol_envelope", "dual", &dual_env);
    out.put(
        "protocol_envelope",
        "tx-id-hex",
        envs[0].id().to_hex().as_bytes(),
    );
    out.put("protocol_validate", "threshold-1", &frame(&[&thr_env]));
    let env_refs: Vec<&[u8]> = envs.iter().map(ValidatedEnvelope::encoding).collect();
    out.put("protocol_validate", "threshold-3", &frame(&env_refs));
    out.put(
        "protocol_validate",
        "mixed",
        &frame(&[&thr_env, &delay_env, &dual_env]),
    );

    // Ordering messages.
    let proposal = propose(b1.clone());
    let mut b2 = b1.clone();
    b2.ids.truncate(2);
    let evidence = Evidence::from_conflict(&proposal, &propose(b2)).expect("same slot");
    out.sel(
        "protocol_batch",
        0,
        "commitment",
        &b1.commitment().to_bytes(),
    );
    out.sel("protocol_batch", 1, "batch", &b1.to_bytes());
    out.sel("protocol_batch", 2, "proposal", &proposal.to_bytes());
    out.sel("protocol_batch", 3, "evidence", &evidence.to_bytes());
    let v = vote(1, &b1);
    out.sel("protocol_vote", 0, "intent", &intent(&b1).to_bytes());
    out.sel("protocol_vote", 1, "vote", &v.to_bytes());
    out.put("protocol_certificate", "certificate", &cert_bytes);
    out.sel("threshold_bls", 2, "aggregate", &cert.signature.to_bytes());
    let receipt = Receipt::sign(&f.bls[0], 1, ReceiptSubject::Transaction(envs[0].id()));
    let ids: Vec<TxId> = envs.iter().map(ValidatedEnvelope::id).collect();
    let bulk = Receipt::sign(&f.bls[1], 2, ReceiptSubject::bulk(&ids));
    out.put("protocol_receipt", "transaction", &receipt.to_bytes());
    out.put("protocol_receipt", "bulk", &bulk.to_bytes());

    // Release and opening.
    let auth = ReleaseGuard::new(f.committee.clone(), T as usize)
        .authorize(&cert, &b1)
        .expect("certificate for this batch");
    let share_msgs: Vec<SharesMessage> = (0..T as usize)
        .map(|i| SharesMessage::create(&mut r, &auth, &f.shares[i], &envs).expect("shares"))
        .collect();
    out.put("protocol_shares", "member-1", &share_msgs[0].to_bytes());
    let mut opening =
        BatchOpening::new(cert.clone(), b1.clone(), envs.clone()).expect("matching batch");
    opening
        .apply_shares(&f.key, Some(&f.params), &share_msgs)
        .expect("t valid shares");
    let plaintext = opening.finish().expect("settled");
    out.put("protocol_plaintext", "batch", &plaintext.to_bytes());

    // Member messages, signed and bare.
    let members = [
        MemberMessage::Ciphertexts(vec![thr_env.clone(), delay_env.clone()]),
        MemberMessage::Proposal(proposal.clone()),
        MemberMessage::Vote(v.clone()),
        MemberMessage::Certificate(cert.clone()),
        MemberMessage::Shares(share_msgs[0].clone()),
    ];
    for (i, m) in members.iter().enumerate() {
        let name = format!("{:?}", m.kind()).to_lowercase();
        out.sel("protocol_member_message", i as u8, &name, &m.encode());
        out.put("protocol_message", &name, &m.sign(&f.bls[0], 1).to_bytes());
    }
    debug_assert_eq!(members[0].kind(), MessageKind::Ciphertexts);

    // JSON forms (selector order of `protocol_json`).
    let signed = members[1].sign(&f.bls[0], 1);
    let proof = InclusionProof::new(&ids, 1).expect("index in range");
    let jsons: [Vec<u8>; 12] = [
        json(&cert),
        json(&v),
        json(&receipt),
        json(&proposal),
        json(&signed),
        json(&share_msgs[0]),
        json(&b1),
        json(&evidence),
        json(&plaintext),
        json(&proof),
        json(&intent(&b1)),
        json(&CommitteeConfig::for_members(4)),
    ];
    for (i, j) in jsons.iter().enumerate() {
        out.sel("protocol_json", i as u8, &format!("type-{i}"), j);
    }

    // Delay mode.
    out.put("timelock_params", "params", &f.params.to_bytes());
    out.put(
        "timelock_params_json",
        "params.json",
        f.params.to_json().as_bytes(),
    );
    out.sel(
        "timelock_delay",
        0,
        "ciphertext",
        &delay_ct.to_bytes(&f.params),
    );
    out.sel("timelock_delay", 1, "reveal", &secret.reveal().to_bytes());
    let solution = PuzzleSolution::solve(
        &f.params,
        delay_ct.puzzle().element(),
        veil_squaring::Backend::Portable,
        &mut |_| std::ops::ControlFlow::Continue(()),
    )
    .expect("never cancelled");
    out.sel(
        "timelock_delay",
        2,
        "solution",
        &solution.to_bytes(&f.params),
    );
    out.put("timelock_dual", "dual", &dual_ct.to_bytes(&f.params));
    let group = f.params.group();
    out.sel(
        "timelock_wesolowski",
        0,
        "proof",
        &f.params.proof().to_bytes(group),
    );
    out.sel(
        "timelock_wesolowski",
        1,
        "element",
        &group.encode(f.params.h()),
    );
    out.sel("timelock_wesolowski", 2, "modulus", group.modulus_bytes());

    // Key ceremony.
    let c = ceremony();
    out.put(
        "keygen_committee",
        "committee.json",
        c.committee.to_json().as_bytes(),
    );
    out.sel(
        "keygen_dealing",
        0,
        "dealing",
        &c.transcript.dealings[0].to_bytes(),
    );
    out.sel(
        "keygen_dealing",
        1,
        "dealings",
        &encode_dealings(&c.transcript.dealings),
    );
    out.put("keygen_transcript", "transcript", &c.transcript.to_bytes());
    out.sel("keygen_messages", 0, "params", &c.params.to_bytes());
    let response = Response::new(&c.params, 1, &c.secrets[0], Vec::new());
    out.sel("keygen_messages", 2, "response", &response.to_bytes());
    let public = c.secrets[0].public(&mut r);
    out.sel("keygen_messages", 3, "member", &public.to_bytes());
    let share = veil_keygen::MemberShare::new(1, 0, *f.shares[0].secret());
    out.sel(
        "keygen_messages",
        4,
        "share",
        share.to_sealable_bytes().as_slice(),
    );
    out.sel(
        "keygen_messages",
        5,
        "secret",
        c.secrets[0].to_sealable_bytes().as_slice(),
    );
    let cheap = SealParams::new(64, 1, 1).expect("in range");
    let pass = b"veil fuzz";
    let sealed_id = seal(
        SealKind::Identity,
        &c.secrets[0].to_sealable_bytes(),
        pass,
        cheap,
        &mut r,
    )
    .expect("seal");
    let sealed_share = seal(
        SealKind::Share,
        &share.to_sealable_bytes(),
        pass,
        cheap,
        &mut r,
    )
    .expect("seal");
    out.sel("keygen_seal", 0, "identity", &sealed_id);
    out.sel("keygen_seal", 1, "share", &sealed_share);

    // Proof and point encodings.
    out.sel(
        "circuits_proofs",
        1,
        "g1",
        &g1_to_bytes(&f.committee[0].point()),
    );
    out.sel(
        "circuits_proofs",
        2,
        "fr",
        &fr_to_bytes(f.shares[0].secret()),
    );
    out.sel("circuits_proofs", 3, "g2", &g2_to_bytes(&sig.point()));
    out.sel(
        "circuits_proofs",
        4,
        "possession",
        &public.possession.to_bytes(),
    );
    out.sel(
        "circuits_proofs",
        5,
        "knowledge",
        &public.encryption_proof.to_bytes(),
    );
    // The DLEQ proof of a share batch is the tail of its encoding.
    let sb = shares.to_bytes();
    let dleq_len = veil_circuits::dleq::DleqProof::ENCODED_LEN;
    out.sel("circuits_proofs", 0, "dleq", &sb[sb.len() - dleq_len..]);
    // The exponent proof of knowledge is the tail of a delay ciphertext.
    let dc = delay_ct.to_bytes(&f.params);
    let rel = veil_circuits::rsa_pok::ExponentRelation::new(
        f.params.group().modulus(),
        f.params.g(),
        f.params.exponent_bits(),
    );
    let pok_len = rel.proof_len();
    out.sel(
        "circuits_proofs",
        7,
        "exponent-pok",
        &dc[dc.len().saturating_sub(pok_len)..],
    );
    // Self-check: seeds of the simplest targets decode (a seed that does not is useless).
    assert!(veil_timelock::DelayParams::from_bytes(&f.params.to_bytes()).is_ok());
    assert!(veil_threshold::Label::from_bytes(&label).is_ok());
    for e in [&thr_env, &delay_env, &dual_env] {
        assert!(TxEnvelope::from_bytes(e).is_ok());
    }
    assert!(veil_keygen::seal::open(SealKind::Share, &sealed_share, pass).is_ok());
    println!("seeds written to {dir}");
}
