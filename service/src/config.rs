//! Node configuration (`node.json`) and key loading.
//!
//! A node is one committee member. Its configuration names the public committee
//! (`committee.json`, verified with `veil_keygen::Committee::load_and_verify`), its sealed
//! identity and key share (opened with the passphrase in `VEIL_PASSPHRASE`), its database,
//! its peers' base URLs, and the sequencer keys it accepts proposals from. Relative paths are
//! resolved against the directory of the configuration file.
//!
//! Start-up checks: the committee verifies; the member index exists and its sealed identity
//! is the one the committee lists; the key share matches the member's verification key; the
//! committee configuration `(n, f, quorum, t)` satisfies the safety bounds
//! (`CommitteeConfig::validate`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use veil_keygen::{Committee, files};
use veil_protocol::CommitteeConfig;
use veil_threshold::{BlsPublicKey, KeyShare, SigningKey, ThresholdKey};
use veil_timelock::DelayParams;

/// The environment variable holding the passphrase of the sealed identity and share.
pub const PASSPHRASE_ENV: &str = "VEIL_PASSPHRASE";

/// Where the built-in sequencer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SequencerMode {
    /// This process proposes batches (member 1 by default).
    Builtin,
    /// Proposals arrive signed through `POST /v1/sequencer/proposals`.
    External,
    /// This process never proposes; it still accepts external proposals.
    None,
}

/// One peer member.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Member index (1-based).
    pub member: u32,
    /// Base URL, e.g. `http://127.0.0.1:7101`.
    pub url: String,
}

/// `node.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This member's index (1-based).
    pub member: u32,
    /// Listen address.
    pub listen: SocketAddr,
    /// Every member's base URL (this one included or not).
    pub peers: Vec<PeerConfig>,
    /// Path of `committee.json`.
    pub committee: PathBuf,
    /// Directory holding the sealed identity (`identity.sealed`).
    pub identity_dir: PathBuf,
    /// Path of the sealed key share.
    pub share: PathBuf,
    /// Path of the redb database.
    pub db: PathBuf,
    /// Service domain (the `chain_id` of batches).
    pub chain_id: u64,
    /// Chain ids accepted in labels (empty: just `chain_id`).
    #[serde(default)]
    pub label_chain_ids: Vec<u64>,
    /// Tolerated faults `f` (default `⌊(n − 1)/3⌋`).
    #[serde(default)]
    pub f: Option<u32>,
    /// Certificate quorum (default the smallest value above `(n + f)/2`).
    #[serde(default)]
    pub quorum: Option<u32>,
    /// Sequencer mode.
    pub sequencer: SequencerMode,
    /// BLS public keys (hex) of the sequencers whose proposals are accepted; index = id.
    pub sequencer_keys: Vec<String>,
    /// Slot length of the built-in sequencer, in milliseconds.
    pub slot_ms: u64,
    /// Largest batch the built-in sequencer proposes.
    pub max_batch: usize,
    /// Delay parameters (JSON); absent: delay and dual envelopes are refused.
    #[serde(default)]
    pub delay_params: Option<PathBuf>,
    /// The puzzle solver (delay and dual items); defaults apply when absent.
    #[serde(default)]
    pub solver: SolverConfig,
    /// Forwarding of delivered plaintext to an Ethereum JSON-RPC endpoint; off when absent.
    #[serde(default)]
    pub forward: Option<ForwardConfig>,
    /// The rollups served (multi-rollup mode; see [`crate::rollups`]); absent or empty:
    /// one rollup as configured by `chain_id`/`label_chain_ids`.
    #[serde(default)]
    pub rollups: Vec<crate::rollups::RollupConfig>,
}

/// `solver` in `node.json`: when this member solves puzzles of certified items itself.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SolverConfig {
    /// Solve delay-only items of certified slots (default on; the only path besides a
    /// reveal).
    pub enabled: bool,
    /// How long after certification a dual item's puzzle is started, in milliseconds
    /// (default 5000): the committee's shares normally open it well before, and a dual
    /// puzzle solved for nothing costs `T` squarings of a core.
    pub dual_grace_ms: u64,
}

impl Default for SolverConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dual_grace_ms: 5_000,
        }
    }
}

/// `forward` in `node.json`: send each delivered, decrypted item in certified order to an
/// Ethereum JSON-RPC endpoint as `eth_sendRawTransaction`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {
    /// The endpoint, e.g. `http://127.0.0.1:8545`.
    pub rpc_url: String,
    /// Which member forwards (default 1); the others ignore this section, so every member
    /// may carry the same one.
    #[serde(default = "default_forward_member")]
    pub member: u32,
    /// Per-request timeout in milliseconds (default 5000).
    #[serde(default = "default_forward_timeout")]
    pub timeout_ms: u64,
    /// Largest retry back-off after a transport error, in milliseconds (default 5000).
    #[serde(default = "default_forward_backoff")]
    pub max_backoff_ms: u64,
}

fn default_forward_member() -> u32 {
    1
}

fn default_forward_timeout() -> u64 {
    5_000
}

fn default_forward_backoff() -> u64 {
    5_000
}

/// Why a node cannot start.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// Reading or parsing a file failed.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `VEIL_PASSPHRASE` is not set.
    #[error("environment variable {PASSPHRASE_ENV} is not set")]
    NoPassphrase,
    /// The configuration is inconsistent.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

fn file_err(path: &Path, e: impl ToString) -> ConfigError {
    ConfigError::File {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

impl NodeConfig {
    /// Reads `path`, resolving relative paths against its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e))?;
        let mut c: NodeConfig = serde_json::from_str(&text).map_err(|e| file_err(path, e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut c.committee,
            &mut c.identity_dir,
            &mut c.share,
            &mut c.db,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(p) = c.delay_params.as_mut()
            && p.is_relative()
        {
            *p = base.join(&*p);
        }
        Ok(c)
    }
}

/// Everything a member needs, loaded and checked.
pub struct MemberKeys {
    /// The committee.
    pub committee: Committee,
    /// Its `committee.json` bytes (served by `GET /v1/committee`).
    pub committee_json: Vec<u8>,
    /// `(n, f, quorum, t)`, validated.
    pub config: CommitteeConfig,
    /// The members' BLS keys in index order.
    pub bls_keys: Vec<BlsPublicKey>,
    /// The threshold key.
    pub threshold_key: ThresholdKey,
    /// This member's BLS signing key.
    pub signing_key: SigningKey,
    /// This member's decryption key share.
    pub key_share: KeyShare,
    /// Accepted sequencer keys.
    pub sequencer_keys: Vec<BlsPublicKey>,
    /// Delay parameters, if delay mode is on.
    pub delay_params: Option<DelayParams>,
    /// Its JSON (served by `GET /v1/delay-params`).
    pub delay_params_json: Option<String>,
}

/// Loads and checks the committee, the sealed identity and share, and the sequencer keys.
pub fn load_keys(c: &NodeConfig, passphrase: &[u8]) -> Result<MemberKeys, ConfigError> {
    let committee_json = std::fs::read(&c.committee).map_err(|e| file_err(&c.committee, e))?;
    let committee =
        Committee::load_and_verify(&committee_json).map_err(|e| file_err(&c.committee, e))?;
    let n = committee.n();
    if c.member == 0 || c.member > n {
        return Err(ConfigError::Invalid(format!(
            "member {} outside 1..={n}",
            c.member
        )));
    }
    let mut config = CommitteeConfig::for_members(n);
    config.t = committee.threshold;
    if let Some(f) = c.f {
        config.f = f;
    }
    if let Some(q) = c.quorum {
        config.quorum = q;
    }
    config
        .validate()
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    let identity = files::load_identity(&c.identity_dir, passphrase)
        .map_err(|e| file_err(&c.identity_dir, e))?;
    let listed = &committee.members[(c.member - 1) as usize]
        .public
        .signing_key;
    if identity.signing_key() != *listed {
        return Err(ConfigError::Invalid(format!(
            "sealed identity is not member {} of the committee",
            c.member
        )));
    }
    let signing_key = identity
        .certificate_key()
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    let share = files::load_share(&c.share, passphrase).map_err(|e| file_err(&c.share, e))?;
    if share.index != c.member || !share.matches(&committee) {
        return Err(ConfigError::Invalid(format!(
            "key share does not match member {}'s verification key",
            c.member
        )));
    }
    let key_share = share
        .to_key_share()
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    let threshold_key = committee
        .threshold_key()
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    let bls_keys = committee
        .bls_keys()
        .map_err(|e| ConfigError::Invalid(e.to_string()))?;
    let sequencer_keys = c
        .sequencer_keys
        .iter()
        .map(|h| {
            hex::decode(h)
                .ok()
                .and_then(|b| BlsPublicKey::from_bytes(&b).ok())
                .ok_or_else(|| ConfigError::Invalid(format!("bad sequencer key {h}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (delay_params, delay_params_json) = match &c.delay_params {
        None => (None, None),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| file_err(p, e))?;
            let params = DelayParams::from_json(&text).map_err(|e| file_err(p, e))?;
            (Some(params), Some(text))
        }
    };
    Ok(MemberKeys {
        committee,
        committee_json,
        config,
        bls_keys,
        threshold_key,
        signing_key,
        key_share,
        sequencer_keys,
        delay_params,
        delay_params_json,
    })
}
