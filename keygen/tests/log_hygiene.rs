//! Secret hygiene in logs: a captured `tracing` log (TRACE level) of a whole file-based
//! ceremony, including failed passphrases, must not contain any secret. The only test in
//! this binary, so no other thread can race the scoped subscriber's callsite interest.
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use veil_keygen::dkg::{CeremonyParams, MemberShare};
use veil_keygen::files;
use veil_keygen::seal::SealParams;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn cheap() -> SealParams {
    SealParams::new(256, 1, 1).unwrap()
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("veil-keygen-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run_file_ceremony(root: &Path, rng: &mut ChaCha20Rng) -> (Vec<Vec<u8>>, Vec<MemberShare>) {
    let pass = b"pw";
    let dirs: Vec<_> = (1..=3).map(|i| root.join(format!("m{i}"))).collect();
    let roster = dirs
        .iter()
        .enumerate()
        .map(|(i, d)| files::init_identity(d, &format!("m{i}"), pass, cheap(), rng).unwrap())
        .collect();
    let params = CeremonyParams::fresh(1, 2, 2, roster).unwrap();
    let ids: Vec<_> = dirs
        .iter()
        .map(|d| files::load_identity(d, pass).unwrap())
        .collect();
    let board = root.join("board");
    for id in &ids {
        files::deal_to_board(&params, id, None, &board, rng).unwrap();
    }
    for id in &ids {
        files::respond_on_board(&params, id, &board, rng).unwrap();
    }
    let transcript = files::board_transcript(&params, &board).unwrap();
    let mut shares = Vec::new();
    for (id, d) in ids.iter().zip(&dirs) {
        shares.push(
            files::finish(&transcript, id, &d.join("out"), pass, cheap(), rng)
                .unwrap()
                .share,
        );
        // Provoke the error paths too: they must not log secrets either.
        assert!(files::load_identity(d, b"bad").is_err());
    }
    let secrets = ids.iter().map(|i| i.to_sealable_bytes().to_vec()).collect();
    (secrets, shares)
}

#[test]
fn no_secret_appears_in_logs() {
    let root = tmpdir("logs");
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let (secrets, shares) =
        tracing::subscriber::with_default(subscriber, || run_file_ceremony(&root, &mut rng));
    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("identity created and sealed"),
        "logging is wired: {log}"
    );
    assert!(log.contains("ceremony finished"));
    let lower = log.to_lowercase();
    let mut needles = Vec::new();
    for s in &secrets {
        needles.push(hex::encode(&s[s.len() - 64..s.len() - 32]));
        needles.push(hex::encode(&s[s.len() - 32..]));
    }
    for s in &shares {
        needles.push(hex::encode(veil_circuits::dleq::fr_to_bytes(s.secret())));
        // Debug output of a share never shows the secret.
        assert!(!format!("{s:?}").contains(needles.last().unwrap()));
        // Nor its decimal form (arkworks prints field elements in decimal).
        assert!(!log.contains(&s.secret().to_string()));
    }
    for n in &needles {
        assert!(!lower.contains(n.as_str()), "secret leaked into logs");
        // Also the prefix, in case a log line truncates.
        assert!(!lower.contains(&n[..16]), "secret prefix leaked into logs");
    }
    let _ = std::fs::remove_dir_all(&root);
}
