//! The offline ceremony through the `keygen` binary: identities, parameters, dealings and
//! responses exchanged as files in a board directory, aggregation, verification, a Byzantine
//! dealer, and resharing to a larger committee.
use std::path::{Path, PathBuf};
use std::process::Command;

use veil_keygen::committee::Committee;
use veil_keygen::dkg::{Dealing, Transcript};
use veil_keygen::files;

const BIN: &str = env!("CARGO_BIN_EXE_keygen");
const PASS: &str = "offline passphrase";

fn keygen(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .args(
            ["--kdf-memory-kib", "1024"]
                .iter()
                .filter(|_| needs_kdf(args[0])),
        )
        .env("VEIL_KEYGEN_PASSPHRASE", PASS)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn needs_kdf(cmd: &str) -> bool {
    matches!(cmd, "init" | "deal" | "respond" | "aggregate")
}

fn ok(args: &[&str]) -> String {
    let out = keygen(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn init_members(root: &Path, prefix: &str, n: usize) -> Vec<PathBuf> {
    (1..=n)
        .map(|i| {
            let d = root.join(format!("{prefix}{i}"));
            ok(&["init", "--dir", s(&d), "--name", &format!("{prefix}-{i}")]);
            d
        })
        .collect()
}

fn params(root: &Path, name: &str, dirs: &[PathBuf], extra: &[&str]) -> PathBuf {
    let p = root.join(name);
    let mut args: Vec<String> = vec!["params".into()];
    for d in dirs {
        args.push("--member".into());
        args.push(d.join("member.json").to_string_lossy().into_owned());
    }
    args.extend(extra.iter().map(|x| x.to_string()));
    args.push("--out".into());
    args.push(p.to_string_lossy().into_owned());
    let refs: Vec<&str> = args.iter().map(|x| x.as_str()).collect();
    ok(&refs);
    p
}

#[test]
fn offline_ceremony_byzantine_dealer_and_resharing() {
    let root = std::env::temp_dir().join(format!("veil-keygen-offline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let dirs = init_members(&root, "m", 4);
    // Re-running init must not overwrite a sealed identity.
    assert!(
        !keygen(&["init", "--dir", s(&dirs[0]), "--name", "again"])
            .status
            .success()
    );
    let p = params(&root, "params.bin", &dirs, &["--threshold", "3"]);
    let board = root.join("board");
    for d in &dirs {
        ok(&[
            "deal",
            "--dir",
            s(d),
            "--params",
            s(&p),
            "--board",
            s(&board),
        ]);
    }
    // Dealer 4 turns Byzantine: it replaces its dealing with one, validly signed with its
    // own key, whose share for member 1 is wrong. Member 1's response carries a complaint.
    let d4 = files::dealing_path(&board, 4);
    let honest4 = std::fs::read(&d4).unwrap();
    let mut bad = Dealing::from_bytes(&honest4).unwrap();
    bad.shares[0] += ark_bls12_381::Fr::from(1u64);
    let dealer4 = files::load_identity(&dirs[3], PASS.as_bytes()).unwrap();
    let mut unsigned = bad.to_bytes();
    unsigned.truncate(unsigned.len() - 96);
    bad.signature = dealer4.sign(&unsigned);
    std::fs::write(&d4, bad.to_bytes()).unwrap();
    // A forged dealing (someone else's edit, signature no longer valid) would simply be
    // ignored and would not frame dealer 4.
    let mut forged = Dealing::from_bytes(&honest4).unwrap();
    forged.shares[1] += ark_bls12_381::Fr::from(1u64);
    let params_v = files::load_params(&p).unwrap();
    assert!(matches!(
        veil_keygen::dkg::verify_dealing(&params_v, &params_v.id(), &forged),
        Err(veil_keygen::DkgError::BadSignature)
    ));
    for d in &dirs {
        ok(&[
            "respond",
            "--dir",
            s(d),
            "--params",
            s(&p),
            "--board",
            s(&board),
        ]);
    }
    for (i, d) in dirs.iter().enumerate() {
        ok(&[
            "aggregate",
            "--dir",
            s(d),
            "--params",
            s(&p),
            "--board",
            s(&board),
            "--out",
            s(&d.join("out")),
        ]);
        let _ = i;
    }
    let committee_path = dirs[0].join("out/committee.json");
    let json = std::fs::read(&committee_path).unwrap();
    for d in &dirs[1..] {
        assert_eq!(std::fs::read(d.join("out/committee.json")).unwrap(), json);
    }
    let committee = Committee::load_and_verify(&json).unwrap();
    let transcript_path = dirs[0].join("out/transcript.bin");
    let out = ok(&[
        "verify",
        "--transcript",
        s(&transcript_path),
        "--committee",
        s(&committee_path),
    ]);
    assert!(out.contains("qualified dealers: 1,2,3"), "{out}");
    assert!(
        out.contains("excluded dealer 4: Complained { accuser: 1 }"),
        "{out}"
    );
    // A tampered transcript or a committee from elsewhere fails verification.
    let mut t = Transcript::from_bytes(&std::fs::read(&transcript_path).unwrap()).unwrap();
    t.dealings.truncate(2);
    let short = root.join("short.bin");
    std::fs::write(&short, t.to_bytes()).unwrap();
    let v = keygen(&["verify", "--transcript", s(&short)]);
    assert!(!v.status.success());
    assert!(String::from_utf8_lossy(&v.stderr).contains("not enough qualified dealings: 2 of 3"));
    // Wrong passphrase: a clear error, no key material.
    let wrong = Command::new(BIN)
        .args([
            "deal",
            "--dir",
            s(&dirs[0]),
            "--params",
            s(&p),
            "--board",
            s(&root.join("b2")),
        ])
        .env("VEIL_KEYGEN_PASSPHRASE", "nope")
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong passphrase or tampered file"));

    // Resharing 3-of-4 to 5-of-7 through the CLI keeps the public key.
    let new_dirs = init_members(&root, "n", 7);
    let p2 = params(
        &root,
        "reshare.bin",
        &new_dirs,
        &["--threshold", "5", "--previous", s(&committee_path)],
    );
    let board2 = root.join("board2");
    for d in &dirs[..3] {
        let share = d.join("out/share-epoch-1.sealed");
        ok(&[
            "deal",
            "--dir",
            s(d),
            "--params",
            s(&p2),
            "--board",
            s(&board2),
            "--share",
            s(&share),
        ]);
    }
    for d in &new_dirs {
        ok(&[
            "respond",
            "--dir",
            s(d),
            "--params",
            s(&p2),
            "--board",
            s(&board2),
        ]);
    }
    for d in &new_dirs {
        ok(&[
            "aggregate",
            "--dir",
            s(d),
            "--params",
            s(&p2),
            "--board",
            s(&board2),
            "--out",
            s(&d.join("out")),
        ]);
    }
    let new =
        Committee::load_and_verify(&std::fs::read(new_dirs[6].join("out/committee.json")).unwrap())
            .unwrap();
    assert_eq!(new.public_key, committee.public_key);
    assert_eq!((new.epoch, new.n(), new.threshold), (2, 7, 5));
    let share = files::load_share(
        &new_dirs[6].join("out/share-epoch-2.sealed"),
        PASS.as_bytes(),
    )
    .unwrap();
    assert!(share.matches(&new));
    let _ = std::fs::remove_dir_all(&root);
}
