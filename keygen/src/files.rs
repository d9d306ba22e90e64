//! The on-disk layout of a member and of an offline ceremony, as the `keygen` CLI uses it.
//!
//! A member directory holds `identity.sealed` (its long-term keys, sealed) and
//! `member.json` (its public record). An offline ceremony exchanges files in a *board*
//! directory: `dealing-<i>.bin` from each dealer and `response-<j>.bin` from each member.
//! Everything on the board is signed, so the directory can be shared over any channel
//! (a shared drive, e-mail, a USB stick) without trusting it. Every member assembles the same
//! transcript from the same board (dealings ordered by dealer index, responses by member), so
//! every member computes the same outcome, and so does `keygen verify`.
//!
//! Nothing secret is ever logged: log lines carry indices, epochs and public keys only.
use std::path::{Path, PathBuf};

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::committee::{Committee, CommitteeError};
use crate::dkg::{self, CeremonyParams, Dealing, DkgError, MemberShare, Response, Transcript};
use crate::identity::{IdentityError, MemberPublic, MemberSecret};
use crate::seal::{self, SealError, SealKind, SealParams};

/// File name of a sealed identity.
pub const IDENTITY_FILE: &str = "identity.sealed";
/// File name of a member's public record.
pub const MEMBER_FILE: &str = "member.json";

/// Errors of the file layer.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// Reading or writing failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Refusing to overwrite a secret.
    #[error("{0} already exists; refusing to overwrite")]
    Exists(PathBuf),
    /// Sealing or opening failed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// A member record was bad.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// A ceremony message or transcript was bad.
    #[error(transparent)]
    Dkg(#[from] DkgError),
    /// A committee file was bad.
    #[error(transparent)]
    Committee(#[from] CommitteeError),
    /// A JSON wrapper was malformed.
    #[error("{path}: malformed json: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// This identity has no role in the ceremony.
    #[error("this identity is not {0} of the ceremony")]
    NotInCeremony(&'static str),
}

/// Reads a whole file.
pub fn read(path: &Path) -> Result<Vec<u8>, FilesError> {
    std::fs::read(path).map_err(|e| FilesError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Writes a file atomically (temporary file, fsync, rename).
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), FilesError> {
    use std::io::Write;
    let io = |e: std::io::Error| FilesError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberJson {
    version: u32,
    name: String,
    record: String,
}

/// Writes a member's public record as JSON (`record` is the hex of its canonical encoding).
pub fn write_member(path: &Path, m: &MemberPublic) -> Result<(), FilesError> {
    let j = MemberJson {
        version: 1,
        name: m.name.clone(),
        record: hex::encode(m.to_bytes()),
    };
    // Serializing strings cannot fail.
    let mut s = serde_json::to_string_pretty(&j).unwrap_or_default();
    s.push('\n');
    write(path, s.as_bytes())
}

/// Reads and verifies a member's public record.
pub fn read_member(path: &Path) -> Result<MemberPublic, FilesError> {
    let bytes = read(path)?;
    let json = |message: String| FilesError::Json {
        path: path.to_owned(),
        message,
    };
    let j: MemberJson = serde_json::from_slice(&bytes).map_err(|e| json(e.to_string()))?;
    if j.version != 1 {
        return Err(json(format!("unsupported version {}", j.version)));
    }
    let raw = hex::decode(&j.record).map_err(|e| json(e.to_string()))?;
    let m = MemberPublic::from_bytes(&raw)?;
    if m.name != j.name {
        return Err(json("name does not match the record".into()));
    }
    m.verify()?;
    Ok(m)
}

/// Creates a member's identity in `dir`: generates keys, seals the secret, writes the public
/// record. Refuses to overwrite an existing identity.
pub fn init_identity(
    dir: &Path,
    name: &str,
    passphrase: &[u8],
    params: SealParams,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<MemberPublic, FilesError> {
    let sealed_path = dir.join(IDENTITY_FILE);
    if sealed_path.exists() {
        return Err(FilesError::Exists(sealed_path));
    }
    let secret = MemberSecret::generate(name, rng)?;
    let public = secret.public(rng);
    let sealed = seal::seal(
        SealKind::Identity,
        &secret.to_sealable_bytes(),
        passphrase,
        params,
        rng,
    )?;
    write(&sealed_path, &sealed)?;
    write_member(&dir.join(MEMBER_FILE), &public)?;
    tracing::info!(
        name,
        signing_key = %hex::encode(veil_circuits::dleq::g1_to_bytes(&public.signing_key)),
        "identity created and sealed"
    );
    Ok(public)
}

/// Opens a member's sealed identity.
pub fn load_identity(dir: &Path, passphrase: &[u8]) -> Result<MemberSecret, FilesError> {
    let bytes = read(&dir.join(IDENTITY_FILE))?;
    let plain = seal::open(SealKind::Identity, &bytes, passphrase)?;
    let secret = MemberSecret::from_sealable_bytes(&plain)?;
    tracing::debug!(name = secret.name(), "identity opened");
    Ok(secret)
}

/// Seals a key share to `path`.
pub fn write_share(
    path: &Path,
    share: &MemberShare,
    passphrase: &[u8],
    params: SealParams,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(), FilesError> {
    let sealed = seal::seal(
        SealKind::Share,
        &share.to_sealable_bytes(),
        passphrase,
        params,
        rng,
    )?;
    write(path, &sealed)?;
    tracing::info!(index = share.index, epoch = share.epoch, path = %path.display(), "key share sealed");
    Ok(())
}

/// Opens a sealed key share.
pub fn load_share(path: &Path, passphrase: &[u8]) -> Result<MemberShare, FilesError> {
    let plain = seal::open(SealKind::Share, &read(path)?, passphrase)?;
    Ok(MemberShare::from_sealable_bytes(&plain)?)
}

/// Loads and verifies `committee.json`.
pub fn load_committee(path: &Path) -> Result<Committee, FilesError> {
    Ok(Committee::load_and_verify(&read(path)?)?)
}

/// Reads ceremony parameters (binary, validated).
pub fn load_params(path: &Path) -> Result<CeremonyParams, FilesError> {
    Ok(CeremonyParams::from_bytes(&read(path)?)?)
}

/// Path of dealer `i`'s dealing on a board.
pub fn dealing_path(board: &Path, dealer: u32) -> PathBuf {
    board.join(format!("dealing-{dealer}.bin"))
}

/// Path of member `j`'s response on a board.
pub fn response_path(board: &Path, member: u32) -> PathBuf {
    board.join(format!("response-{member}.bin"))
}

fn board_files(board: &Path, prefix: &str) -> Result<Vec<(u32, PathBuf)>, FilesError> {
    let io = |e: std::io::Error| FilesError::Io {
        path: board.to_owned(),
        message: e.to_string(),
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(board).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if let Some(k) = name
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(".bin"))
            && let Ok(k) = k.parse::<u32>()
        {
            out.push((k, path));
        }
    }
    out.sort();
    Ok(out)
}

/// Reads every dealing on a board, in dealer order. Files that do not decode are skipped
/// with a warning (they cannot be anyone's valid dealing).
pub fn read_dealings(board: &Path) -> Result<Vec<Dealing>, FilesError> {
    let mut out = Vec::new();
    for (_, path) in board_files(board, "dealing-")? {
        match Dealing::from_bytes(&read(&path)?) {
            Ok(d) => out.push(d),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "undecodable dealing skipped")
            }
        }
    }
    Ok(out)
}

/// Reads every response on a board that is correctly signed, in member order.
pub fn read_responses(board: &Path, params: &CeremonyParams) -> Result<Vec<Response>, FilesError> {
    let id = params.id();
    let mut out = Vec::new();
    for (_, path) in board_files(board, "response-")? {
        match Response::from_bytes(&read(&path)?).and_then(|r| r.verify(params, &id).map(|_| r)) {
            Ok(r) => out.push(r),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "invalid response skipped")
            }
        }
    }
    Ok(out)
}

/// Dealer step: deals (with the old share when resharing) and writes the dealing to the
/// board. Returns the dealer index.
pub fn deal_to_board(
    params: &CeremonyParams,
    identity: &MemberSecret,
    old_share: Option<&MemberShare>,
    board: &Path,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<u32, FilesError> {
    let dealer = params
        .dealer_index(&identity.signing_key())
        .ok_or(FilesError::NotInCeremony("a dealer"))?;
    let d = dkg::deal(params, dealer, identity, old_share.map(|s| s.secret()), rng)?;
    write(&dealing_path(board, dealer), &d.to_bytes())?;
    tracing::info!(dealer, epoch = params.epoch, "dealing written");
    Ok(dealer)
}

/// Member step: checks every valid dealing on the board and writes a signed response with
/// its complaints. Returns the number of complaints.
pub fn respond_on_board(
    params: &CeremonyParams,
    identity: &MemberSecret,
    board: &Path,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<usize, FilesError> {
    let me = params
        .member_index(&identity.signing_key())
        .ok_or(FilesError::NotInCeremony("a member"))?;
    let dealings = read_dealings(board)?;
    let response = respond(params, identity, me, &dealings, rng)?;
    let n = response.complaints.len();
    write(&response_path(board, me), &response.to_bytes())?;
    Ok(n)
}

/// Checks dealings as member `me` and builds its signed response.
pub fn respond(
    params: &CeremonyParams,
    identity: &MemberSecret,
    me: u32,
    dealings: &[Dealing],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Response, FilesError> {
    let id = params.id();
    let valid: Vec<&Dealing> = dealings
        .iter()
        .filter(|d| dkg::verify_dealing(params, &id, d).is_ok())
        .collect();
    let complaints = dkg::check_shares(params, me, identity, &valid, rng)?;
    tracing::info!(
        member = me,
        dealings = valid.len(),
        complaints = complaints.len(),
        "dealings checked"
    );
    Ok(Response::new(params, me, identity, complaints))
}

/// Assembles the board's transcript: dealings in dealer order, complaints in member order.
pub fn board_transcript(params: &CeremonyParams, board: &Path) -> Result<Transcript, FilesError> {
    let dealings = read_dealings(board)?;
    let complaints = read_responses(board, params)?
        .into_iter()
        .flat_map(|r| r.complaints)
        .collect();
    Ok(Transcript {
        params: params.clone(),
        dealings,
        complaints,
    })
}

/// What a member keeps at the end of a ceremony.
pub struct Finished {
    /// The public committee.
    pub committee: Committee,
    /// The member's own share.
    pub share: MemberShare,
}

/// Final step for a member: verifies the transcript, derives and checks its share, and writes
/// `transcript.bin`, `committee.json` and the sealed share into `out`.
pub fn finish(
    transcript: &Transcript,
    identity: &MemberSecret,
    out: &Path,
    passphrase: &[u8],
    seal_params: SealParams,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Finished, FilesError> {
    let params = &transcript.params;
    let me = params
        .member_index(&identity.signing_key())
        .ok_or(FilesError::NotInCeremony("a member"))?;
    let outcome = dkg::verify_transcript(transcript)?;
    for (dealer, why) in &outcome.excluded {
        tracing::warn!(dealer, reason = ?why, "dealer excluded");
    }
    let share = dkg::member_share(transcript, &outcome, me, identity)?;
    write(&out.join("transcript.bin"), &transcript.to_bytes())?;
    write(
        &out.join("committee.json"),
        outcome.committee.to_json().as_bytes(),
    )?;
    write_share(
        &out.join(format!("share-epoch-{}.sealed", params.epoch)),
        &share,
        passphrase,
        seal_params,
        rng,
    )?;
    tracing::info!(
        member = me,
        epoch = params.epoch,
        public_key = %hex::encode(veil_circuits::dleq::g1_to_bytes(&outcome.committee.public_key)),
        "ceremony finished"
    );
    Ok(Finished {
        committee: outcome.committee,
        share,
    })
}
