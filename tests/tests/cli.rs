//! The `veil` binary against a real local committee (the multi-process harness of
//! `veil-tests`): encrypt → submit → watch → status, human and `--json` output, and the
//! typed refusals (wrong chain id, tampered committee file) as failing exits.
//!
//! The binary is found next to `veil-node` (`target/<profile>/veil`); `cargo nextest run
//! --workspace` builds both (for `-p veil-tests` alone, `cargo build -p veil-cli` first).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use veil_tests::{Net, NetOptions};

fn veil(committee: &Path, node: &str, args: &[&str]) -> Output {
    let bin =
        veil_tests::node_binary().with_file_name(format!("veil{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "veil binary not found at {}: `cargo build -p veil-cli`",
        bin.display()
    );
    Command::new(bin)
        .arg("--committee")
        .arg(committee)
        .args(["--node", node])
        .args(args)
        .output()
        .expect("running veil")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "not JSON: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn encrypt_submit_watch_status_against_a_real_committee() {
    let net = Net::start(NetOptions {
        seed: 63,
        ..NetOptions::default()
    });
    let committee = net.dir.join("wallet-committee.json");
    std::fs::write(&committee, net.committee.to_json()).unwrap();
    let record = net.dir.join("tx.json");
    let record_s = record.to_str().unwrap();
    let node = net.node(2).url.clone();
    let hash = hex::encode(net.committee.transcript_hash);

    let out = veil(
        &committee,
        &node,
        &[
            "--json",
            "--transcript-hash",
            &hash,
            "encrypt",
            "--payload",
            "0xc0ffee00",
            "--out",
            record_s,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let enc = json_of(&out);
    let id = enc["id"].as_str().unwrap().to_owned();
    assert_eq!(enc["mode"], "threshold");

    let out = veil(&committee, &node, &["--json", "submit", record_s]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sub = json_of(&out);
    assert_eq!(sub["id"], id.as_str());
    assert_eq!(sub["receipt_verified"], true);
    assert_eq!(sub["receipt"]["member"], 2);

    let out = veil(
        &committee,
        &node,
        &["--json", "watch", record_s, "--timeout", "60"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fin = json_of(&out);
    assert_eq!(fin["status"], "decrypted");
    assert_eq!(fin["plaintext"], "c0ffee00");
    assert_eq!(fin["verified"], true);
    assert!(fin["certificate_signers"].as_array().unwrap().len() >= net.quorum);

    // Human-readable status by id.
    let out = veil(&committee, &node, &["status", &id]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("decrypted: slot {}", fin["slot"])),
        "{text}"
    );
    assert!(text.contains("verified at quorum"), "{text}");

    // A label for a chain the service does not accept: a failing exit naming the chain.
    let out = veil(
        &committee,
        &node,
        &["--json", "encrypt", "--payload", "00", "--label-chain", "5"],
    );
    assert!(!out.status.success());
    assert!(
        json_of(&out)["error"]
            .as_str()
            .unwrap()
            .contains("chain id 5")
    );

    // A tampered committee file.
    let tampered = net.dir.join("tampered-committee.json");
    let text = net.committee.to_json();
    let pk = hex::encode(veil_threshold::PublicKey::to_bytes(
        net.threshold_key.public_key(),
    ));
    let vk = hex::encode(net.threshold_key.verification_key(1).unwrap().to_bytes());
    std::fs::write(&tampered, text.replacen(&pk, &vk, 1)).unwrap();
    let out = veil(&tampered, &node, &["--json", "status", &id]);
    assert!(!out.status.success());
    assert!(
        json_of(&out)["error"]
            .as_str()
            .unwrap()
            .starts_with("committee")
    );

    // A wrong pinned transcript hash.
    let out = veil(
        &committee,
        &node,
        &[
            "--json",
            "--transcript-hash",
            &"00".repeat(32),
            "status",
            &id,
        ],
    );
    assert!(!out.status.success());
    assert!(
        json_of(&out)["error"]
            .as_str()
            .unwrap()
            .contains("transcript hash")
    );
}
