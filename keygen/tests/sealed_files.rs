//! Sealed key files at rest: wrong passphrase and tampering are detected, and no secret is
//! ever written in the clear.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_keygen::files::{self, FilesError};
use veil_keygen::seal::{SealError, SealParams};

fn cheap() -> SealParams {
    SealParams::new(256, 1, 1).unwrap()
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("veil-keygen-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn wrong_passphrase_and_tampering_are_detected() {
    let dir = tmpdir("seal");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    files::init_identity(&dir, "alice", b"right", cheap(), &mut rng).unwrap();
    let err = files::load_identity(&dir, b"wrong").unwrap_err();
    assert!(matches!(err, FilesError::Seal(SealError::Open)));
    assert_eq!(
        err.to_string(),
        "cannot open sealed file: wrong passphrase or tampered file"
    );
    let path = dir.join(files::IDENTITY_FILE);
    let good = std::fs::read(&path).unwrap();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x04;
        std::fs::write(&path, &bad).unwrap();
        assert!(
            files::load_identity(&dir, b"right").is_err(),
            "flipped byte {i} not detected"
        );
    }
    std::fs::write(&path, &good).unwrap();
    files::load_identity(&dir, b"right").unwrap();
    // The identity is never written in the clear.
    let plain = files::load_identity(&dir, b"right")
        .unwrap()
        .to_sealable_bytes();
    let secret_part = &plain[plain.len() - 64..];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes
                .windows(32)
                .any(|w| w == &secret_part[..32] || w == &secret_part[32..])
        );
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        assert!(!text.contains(&hex::encode(&secret_part[..32])));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
