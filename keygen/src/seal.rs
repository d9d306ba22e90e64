//! Sealed files: secrets at rest under a passphrase-derived key.
//!
//! A member's long-term keys and its key share never touch the disk in the clear. They are
//! sealed with AES-256-GCM (NIST SP 800-38D) under a key derived from the operator's
//! passphrase with Argon2id (RFC 9106), in a small versioned container:
//!
//! ```text
//! offset  size  field
//!      0     8  magic  "VEILSEAL"
//!      8     1  format version (1)
//!      9     1  kind (1 = member identity, 2 = key share)
//!     10     4  Argon2id memory cost in KiB, u32 little-endian
//!     14     4  Argon2id iterations, u32 little-endian
//!     18     4  Argon2id lanes, u32 little-endian
//!     22    16  salt (random per file)
//!     38    12  AES-GCM nonce (random per file)
//!     50     …  ciphertext ‖ 16-byte tag
//! ```
//!
//! # Security argument
//!
//! * **Confidentiality** rests on the passphrase's entropy amplified by Argon2id's memory
//!   hardness; the default parameters are the first recommendation of RFC 9106 §4 scaled to
//!   OWASP's interactive profile (19 MiB, 2 passes, 1 lane).
//! * **Integrity of the whole file**: the 50-byte header is the AEAD's associated data, so a
//!   flipped bit anywhere — magic, version, kind, cost parameters, salt, nonce, ciphertext or
//!   tag — makes opening fail (a flipped salt or cost changes the derived key; any other
//!   header byte changes the associated data). A header that asks for absurd Argon2 costs is
//!   rejected before any work is done, so a tampered file cannot make `open` hang or exhaust
//!   memory.
//! * **Opaque failure**: a wrong passphrase and a tampered ciphertext are indistinguishable
//!   to AES-GCM, and we do not try to tell them apart: both yield [`SealError::Open`].
//! * Derived keys and plaintexts are held in [`Zeroizing`] buffers and wiped on drop.
//!
//! ```
//! use veil_keygen::seal::{open, seal, SealKind, SealParams};
//! let mut rng = rand_core::OsRng;
//! let params = SealParams::new(64, 1, 1).unwrap(); // tiny costs: doctest only
//! let file = seal(SealKind::Share, b"secret", b"passphrase", params, &mut rng).unwrap();
//! assert_eq!(&*open(SealKind::Share, &file, b"passphrase").unwrap(), b"secret");
//! assert!(open(SealKind::Share, &file, b"wrong").is_err());
//! ```
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

/// The container's magic bytes.
pub const MAGIC: &[u8; 8] = b"VEILSEAL";
/// The only container version this code writes and reads.
pub const VERSION: u8 = 1;
/// Length of the authenticated header.
pub const HEADER_LEN: usize = 50;
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Largest memory cost accepted when opening a file (1 GiB), so a tampered header cannot
/// exhaust memory.
pub const MAX_MEMORY_KIB: u32 = 1 << 20;
/// Largest iteration count accepted when opening a file.
pub const MAX_ITERATIONS: u32 = 16;
/// Largest lane count accepted when opening a file.
pub const MAX_LANES: u32 = 8;

/// Errors of sealing and opening.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The file is shorter than a header plus a tag.
    #[error("sealed file too short: {0} bytes, need at least {min}", min = HEADER_LEN + TAG_LEN)]
    Truncated(usize),
    /// The magic bytes are wrong: not a Veil sealed file.
    #[error("not a veil sealed file")]
    BadMagic,
    /// An unknown container version.
    #[error("unsupported sealed-file version {0}, expected {VERSION}")]
    UnsupportedVersion(u8),
    /// The file holds another kind of secret than the caller asked for.
    #[error("sealed file holds kind {found}, expected {expected}")]
    WrongKind {
        /// The kind byte found.
        found: u8,
        /// The kind byte expected.
        expected: u8,
    },
    /// Argon2 parameters outside the accepted range.
    #[error("argon2 parameters out of range: memory {m} KiB, iterations {t}, lanes {p}")]
    BadParams {
        /// Memory cost in KiB.
        m: u32,
        /// Iterations.
        t: u32,
        /// Lanes.
        p: u32,
    },
    /// Wrong passphrase, or the file was modified.
    #[error("cannot open sealed file: wrong passphrase or tampered file")]
    Open,
    /// Encryption failed (only on absurd plaintext sizes).
    #[error("sealing failed")]
    Seal,
}

/// What a sealed file holds; part of the authenticated header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealKind {
    /// A member's long-term identity (signing and encryption keys).
    Identity,
    /// A member's key share of a committee.
    Share,
}

impl SealKind {
    fn byte(self) -> u8 {
        match self {
            SealKind::Identity => 1,
            SealKind::Share => 2,
        }
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealParams {
    m_kib: u32,
    t: u32,
    p: u32,
}

impl Default for SealParams {
    /// 19 MiB, 2 iterations, 1 lane (OWASP's Argon2id recommendation).
    fn default() -> Self {
        SealParams {
            m_kib: 19 * 1024,
            t: 2,
            p: 1,
        }
    }
}

impl SealParams {
    /// Custom costs, checked against the accepted range (memory ≥ 8·lanes KiB, as Argon2
    /// requires).
    pub fn new(m_kib: u32, t: u32, p: u32) -> Result<Self, SealError> {
        let ok = (1..=MAX_LANES).contains(&p)
            && (1..=MAX_ITERATIONS).contains(&t)
            && m_kib >= 8 * p
            && m_kib <= MAX_MEMORY_KIB;
        if ok {
            Ok(SealParams { m_kib, t, p })
        } else {
            Err(SealError::BadParams { m: m_kib, t, p })
        }
    }

    fn derive(&self, passphrase: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, SealError> {
        let params = argon2::Params::new(self.m_kib, self.t, self.p, Some(32)).map_err(|_| {
            SealError::BadParams {
                m: self.m_kib,
                t: self.t,
                p: self.p,
            }
        })?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase, salt, key.as_mut())
            .map_err(|_| SealError::BadParams {
                m: self.m_kib,
                t: self.t,
                p: self.p,
            })?;
        Ok(key)
    }
}

/// Seals `plaintext` under `passphrase`.
pub fn seal(
    kind: SealKind,
    plaintext: &[u8],
    passphrase: &[u8],
    params: SealParams,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<u8>, SealError> {
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let mut header = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    header.extend_from_slice(MAGIC);
    header.push(VERSION);
    header.push(kind.byte());
    header.extend_from_slice(&params.m_kib.to_le_bytes());
    header.extend_from_slice(&params.t.to_le_bytes());
    header.extend_from_slice(&params.p.to_le_bytes());
    header.extend_from_slice(&salt);
    header.extend_from_slice(&nonce);
    debug_assert_eq!(header.len(), HEADER_LEN);
    let key = params.derive(passphrase, &salt)?;
    let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| SealError::Seal)?;
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &header,
            },
        )
        .map_err(|_| SealError::Seal)?;
    header.extend_from_slice(&ct);
    Ok(header)
}

/// Opens a sealed file of the expected kind; the plaintext is wiped when dropped.
pub fn open(
    kind: SealKind,
    file: &[u8],
    passphrase: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    if file.len() < HEADER_LEN + TAG_LEN {
        return Err(SealError::Truncated(file.len()));
    }
    let (header, ct) = file.split_at(HEADER_LEN);
    if &header[..8] != MAGIC {
        return Err(SealError::BadMagic);
    }
    if header[8] != VERSION {
        return Err(SealError::UnsupportedVersion(header[8]));
    }
    if header[9] != kind.byte() {
        return Err(SealError::WrongKind {
            found: header[9],
            expected: kind.byte(),
        });
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    let params = SealParams::new(u32_at(10), u32_at(14), u32_at(18))?;
    let salt = &header[22..22 + SALT_LEN];
    let nonce = &header[38..38 + NONCE_LEN];
    let key = params.derive(passphrase, salt)?;
    let cipher = Aes256Gcm::new_from_slice(key.as_ref()).map_err(|_| SealError::Open)?;
    let pt = cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ct,
                aad: header,
            },
        )
        .map_err(|_| SealError::Open)?;
    Ok(Zeroizing::new(pt))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn cheap() -> SealParams {
        SealParams::new(64, 1, 1).unwrap()
    }

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let file = seal(SealKind::Identity, b"top secret", b"pw", cheap(), &mut rng).unwrap();
        assert_eq!(
            &*open(SealKind::Identity, &file, b"pw").unwrap(),
            b"top secret"
        );
        assert_eq!(open(SealKind::Identity, &file, b"pW"), Err(SealError::Open));
        assert_eq!(
            open(SealKind::Share, &file, b"pw"),
            Err(SealError::WrongKind {
                found: 1,
                expected: 2
            })
        );
        // The plaintext never appears in the file.
        assert!(!file.windows(10).any(|w| w == b"top secret"));
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let file = seal(SealKind::Share, &[7u8; 40], b"pw", cheap(), &mut rng).unwrap();
        for i in 0..file.len() {
            for mask in [0x01u8, 0x80] {
                let mut bad = file.clone();
                bad[i] ^= mask;
                assert!(
                    open(SealKind::Share, &bad, b"pw").is_err(),
                    "byte {i} mask {mask:#x}"
                );
            }
        }
        assert_eq!(
            open(SealKind::Share, &file[..60], b"pw"),
            Err(SealError::Truncated(60))
        );
    }

    #[test]
    fn absurd_costs_are_refused_before_work() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut file = seal(SealKind::Share, b"x", b"pw", cheap(), &mut rng).unwrap();
        file[13] = 0xff; // memory cost ≈ 4 TiB
        assert!(matches!(
            open(SealKind::Share, &file, b"pw"),
            Err(SealError::BadParams { .. })
        ));
        assert!(SealParams::new(4, 1, 1).is_err());
        assert!(SealParams::new(64, 0, 1).is_err());
        assert!(SealParams::new(64, 1, 9).is_err());
    }

    #[test]
    fn header_layout_is_frozen() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let file = seal(SealKind::Share, b"", b"pw", cheap(), &mut rng).unwrap();
        assert_eq!(file.len(), HEADER_LEN + TAG_LEN);
        assert_eq!(
            hex::encode(&file[..22]),
            "5645494c5345414c0102400000000100000001000000"
        );
    }
}
