//! A local committee of real `veil-node` processes on loopback, for load runs.
//!
//! The ceremony runs in-process through `veil-keygen` (every member generates and seals its
//! identity, deals, verifies the transcript and derives its sealed share), then one
//! `node.json` per member is written in the format `veil-node run --config` reads and the
//! members are spawned, member 1 with the built-in sequencer. Peers talk to each other
//! directly: unlike the integration harness (`veil_tests::Net`), there is no recording proxy
//! on the member-to-member links, because a proxy in the load generator's process would copy
//! every gossiped envelope and share message and charge that work to the measurement.

use std::fs::OpenOptions;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand_core::OsRng;
use serde_json::json;
use veil_keygen::seal::SealParams;
use veil_keygen::{CeremonyParams, Committee, Transcript, dkg, files};

use super::LoadError;

/// The passphrase the members' sealed files use (throwaway keys of a benchmark).
pub const PASSPHRASE: &str = "veil-load-generator";

/// How a committee is started.
#[derive(Clone, Debug)]
pub struct CommitteeOptions {
    /// Committee size.
    pub members: u32,
    /// Decryption threshold.
    pub threshold: u32,
    /// Slot length of the built-in sequencer (ms).
    pub slot_ms: u64,
    /// Largest batch the sequencer proposes.
    pub max_batch: usize,
    /// Service domain and the chain id in every label.
    pub chain_id: u64,
    /// Multi-rollup mode: the rollups' chain ids (a `rollups` section with stream
    /// delivery); `None` for a single-rollup committee without one.
    pub rollups: Option<Vec<u64>>,
    /// `RUST_LOG` of the members.
    pub log: String,
    /// The `veil-node` binary.
    pub node_bin: PathBuf,
    /// Working directory (keys, configs, databases, logs); wiped first.
    pub dir: PathBuf,
}

/// One running member.
pub struct Member {
    /// Index (1-based).
    pub index: u32,
    /// Base URL of its API.
    pub url: String,
    /// Its log file.
    pub log: PathBuf,
    child: Child,
}

impl Member {
    /// The operating-system process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// A running committee; members are stopped (SIGTERM, then SIGKILL) on drop.
pub struct LocalCommittee {
    /// The members in index order.
    pub members: Vec<Member>,
    /// The public committee (threshold key for wallets).
    pub committee: Committee,
}

fn free_port() -> Result<u16, LoadError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn setup(e: impl std::fmt::Display) -> LoadError {
    LoadError::Setup(e.to_string())
}

impl LocalCommittee {
    /// Runs the ceremony, writes the configurations and starts every member; returns once
    /// each answers `/healthz` (30 s bound per member).
    pub fn start(o: &CommitteeOptions) -> Result<Self, LoadError> {
        let n = o.members;
        if n == 0 || o.threshold == 0 || o.threshold > n {
            return Err(LoadError::Setup(format!(
                "threshold {} out of range 1..={n}",
                o.threshold
            )));
        }
        if o.dir.join("node-1.json").exists() || o.dir.join("member-1").exists() {
            std::fs::remove_dir_all(&o.dir)?;
        }
        std::fs::create_dir_all(&o.dir)?;
        let pass = PASSPHRASE.as_bytes();
        // Light Argon2 costs: the sealing is not what is measured.
        let seal = SealParams::new(64, 1, 1).map_err(setup)?;
        let mut secrets = Vec::new();
        let mut publics = Vec::new();
        for i in 1..=n {
            let d = o.dir.join(format!("member-{i}"));
            std::fs::create_dir_all(&d)?;
            let public = files::init_identity(&d, &format!("member-{i}"), pass, seal, &mut OsRng)
                .map_err(setup)?;
            secrets.push(files::load_identity(&d, pass).map_err(setup)?);
            publics.push(public);
        }
        let params = CeremonyParams::fresh(1, o.threshold, n, publics).map_err(setup)?;
        let dealings = (1..=n)
            .map(|i| dkg::deal(&params, i, &secrets[(i - 1) as usize], None, &mut OsRng))
            .collect::<Result<Vec<_>, _>>()
            .map_err(setup)?;
        let transcript = Transcript {
            params,
            dealings,
            complaints: Vec::new(),
        };
        let mut committee = None;
        for (i, s) in secrets.iter().enumerate() {
            let d = o.dir.join(format!("member-{}", i + 1));
            let done = files::finish(&transcript, s, &d, pass, seal, &mut OsRng).map_err(setup)?;
            committee = Some(done.committee);
        }
        let committee = committee.ok_or_else(|| setup("no members"))?;
        let sequencer_key = secrets[0].certificate_key().map_err(setup)?.public_key();

        let ports = (0..n).map(|_| free_port()).collect::<Result<Vec<_>, _>>()?;
        let peers: Vec<_> = (1..=n)
            .map(|j| json!({ "member": j, "url": format!("http://127.0.0.1:{}", ports[(j - 1) as usize]) }))
            .collect();
        let mut members = Vec::new();
        let mut out = LocalCommittee {
            members: Vec::new(),
            committee,
        };
        for i in 1..=n {
            let d = o.dir.join(format!("member-{i}"));
            let mut config = json!({
                "member": i,
                "listen": format!("127.0.0.1:{}", ports[(i - 1) as usize]),
                "peers": peers,
                "committee": "committee.json",
                "identity_dir": ".",
                "share": "share-epoch-1.sealed",
                "db": "node.redb",
                "chain_id": o.chain_id,
                "sequencer": if i == 1 { "builtin" } else { "none" },
                "sequencer_keys": [hex::encode(sequencer_key.to_bytes())],
                "slot_ms": o.slot_ms,
                "max_batch": o.max_batch,
            });
            if let Some(chains) = &o.rollups {
                let rollups: Vec<_> = chains
                    .iter()
                    .map(|c| json!({ "chain_id": c, "delivery": "stream" }))
                    .collect();
                config["rollups"] = json!(rollups);
            }
            let path = d.join("node.json");
            std::fs::write(&path, config.to_string())?;
            let log = d.join("node.log");
            let out_file = OpenOptions::new().create(true).append(true).open(&log)?;
            let err_file = out_file.try_clone()?;
            let child = Command::new(&o.node_bin)
                .arg("run")
                .arg("--config")
                .arg(&path)
                .env("VEIL_PASSPHRASE", PASSPHRASE)
                .env("RUST_LOG", &o.log)
                .stdin(Stdio::null())
                .stdout(out_file)
                .stderr(err_file)
                .spawn()
                .map_err(|e| setup(format!("spawning {}: {e}", o.node_bin.display())))?;
            members.push(Member {
                index: i,
                url: format!("http://127.0.0.1:{}", ports[(i - 1) as usize]),
                log,
                child,
            });
        }
        out.members = members;
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(2))
            .build();
        for m in &mut out.members {
            let start = Instant::now();
            loop {
                if agent
                    .get(&format!("{}/healthz", m.url))
                    .call()
                    .is_ok_and(|r| r.status() == 200)
                {
                    break;
                }
                if let Ok(Some(status)) = m.child.try_wait() {
                    return Err(LoadError::Setup(format!(
                        "member {} exited during start-up ({status}); see {}",
                        m.index,
                        m.log.display()
                    )));
                }
                if start.elapsed() > Duration::from_secs(30) {
                    return Err(LoadError::Setup(format!(
                        "member {} not healthy after 30 s; see {}",
                        m.index,
                        m.log.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(out)
    }

    /// Stops every member: SIGTERM, up to 10 s, then SIGKILL.
    pub fn stop(&mut self) {
        for m in &self.members {
            let _ = Command::new("kill")
                .args(["-TERM", &m.child.id().to_string()])
                .stderr(Stdio::null())
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for m in &mut self.members {
            loop {
                match m.child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    _ => {
                        let _ = m.child.kill();
                        let _ = m.child.wait();
                        break;
                    }
                }
            }
        }
    }
}

impl Drop for LocalCommittee {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `veil-node` binary: `explicit` if given, else next to this executable
/// (`target/<profile>/`), else built with `cargo build --release -p veil-node` when running
/// under cargo.
pub fn find_node_binary(explicit: Option<&Path>) -> Result<PathBuf, LoadError> {
    if let Some(p) = explicit {
        return p
            .is_file()
            .then(|| p.to_owned())
            .ok_or_else(|| setup(format!("no veil-node binary at {}", p.display())));
    }
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .ok_or_else(|| setup("executable has no directory"))?;
    let candidate = dir.join(format!("veil-node{}", std::env::consts::EXE_SUFFIX));
    if let Ok(cargo) = std::env::var("CARGO") {
        // Under `cargo run`: make sure the node binary of the same profile is current.
        let release = dir.ends_with("release");
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "veil-node"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status()?;
        if !status.success() {
            return Err(setup("cargo build -p veil-node failed"));
        }
    }
    candidate
        .is_file()
        .then_some(candidate.clone())
        .ok_or_else(|| {
            setup(format!(
                "veil-node not found at {}: build it with `cargo build --release -p veil-node` \
             or pass --node-bin",
                candidate.display()
            ))
        })
}

/// Utime + stime of process `pid` in seconds, from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: u32, ticks_per_second: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat).map(|t| t as f64 / ticks_per_second)
}

/// Utime + stime (clock ticks) from the text of `/proc/<pid>/stat`: fields 14 and 15,
/// counted after the parenthesised command name (which may itself contain spaces).
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so fields 14 and 15 are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 if that fails, the Linux default).
pub fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_fields_fourteen_and_fifteen() {
        let stat = "4242 (veil node) S 1 4242 4242 0 -1 4194304 900 0 0 0 1234 567 0 0 20 0 9 0";
        assert_eq!(parse_cpu_ticks(stat), Some(1234 + 567));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1 2"), None);
        assert_eq!(parse_cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn this_process_stat_parses() {
        let s = cpu_seconds(std::process::id(), ticks_per_second()).unwrap();
        assert!(s >= 0.0);
        assert_eq!(cpu_seconds(u32::MAX, 100.0), None);
    }
}
