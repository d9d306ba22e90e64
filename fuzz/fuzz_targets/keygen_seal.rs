//! `seal::open` (sealed identity and share files: header checks, Argon2id cost bounds, then
//! AES-256-GCM) with the passphrase the seed corpus was sealed under, and the opened payload
//! through its decoder. The first input byte picks the kind.
//!
//! Inputs whose header asks for legal but expensive Argon2id costs (more than 1 MiB × pass)
//! are skipped: each would cost the fuzzer up to seconds and teaches it nothing the cheap
//! ones do not. Out-of-range costs are still fed to `open`, which must refuse them before
//! doing any work.
#![no_main]
use libfuzzer_sys::fuzz_target;
use veil_fuzz_common::select;
use veil_keygen::seal::{HEADER_LEN, SealKind, SealParams, open};
use veil_keygen::{MemberSecret, MemberShare};

/// The passphrase of the seed corpus.
const PASSPHRASE: &[u8] = b"veil fuzz";

fuzz_target!(|data: &[u8]| {
    let Some((which, file)) = select(data, 2) else {
        return;
    };
    if file.len() >= HEADER_LEN {
        let u32_at =
            |i: usize| u32::from_le_bytes([file[i], file[i + 1], file[i + 2], file[i + 3]]);
        let (m, t, p) = (u32_at(10), u32_at(14), u32_at(18));
        if SealParams::new(m, t, p).is_ok() && u64::from(m) * u64::from(t) > 1024 {
            return;
        }
    }
    let kind = if which == 0 {
        SealKind::Identity
    } else {
        SealKind::Share
    };
    let Ok(plain) = open(kind, file, PASSPHRASE) else {
        return;
    };
    match kind {
        SealKind::Identity => {
            let _ = MemberSecret::from_sealable_bytes(&plain);
        }
        SealKind::Share => {
            let _ = MemberShare::from_sealable_bytes(&plain);
        }
    }
});
