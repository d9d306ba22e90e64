//! Veil's multi-process integration harness: a committee of real `veil-node` processes on
//! loopback, a recording proxy on every member-to-member link, a wallet and an external
//! sequencer, and bounded waits.
//!
//! # What a test gets
//!
//! [`Net::start`] runs the key ceremony in-process (every member's identity sealed under
//! [`PASSPHRASE`] with light Argon2 costs, one fresh distributed key generation through
//! `veil-keygen`, exactly the files an operator's ceremony leaves: `identity.sealed`,
//! `committee.json`, `share-epoch-1.sealed`), writes one `node.json` per member in the format
//! `veil-node run --config` reads, and spawns the members. Every member's peer list points at
//! a [`Recorder`] proxy in front of the real member, so the test sees every signed internal
//! message (proposals, votes, certificates, shares) in the order the network carried them.
//! The test itself talks to the members' public API directly.
//!
//! Synchronisation is by bounded polling ([`wait_for`]): no fixed sleeps; every wait fails
//! with a message naming what it waited for, and the member logs are printed on failure.
//!
//! The `veil-node` binary is located next to the test executable (`target/<profile>/`);
//! `cargo nextest run --workspace` and `cargo test --workspace` build it first (for
//! `-p veil-tests` alone, run `cargo build -p veil-node` before).
//!
//! # Why the harness writes the configurations itself
//!
//! `veil-node devnet` generates keys and configurations too, but always starts the members
//! and a load; the tests need configurations it does not make: peer URLs that point at the
//! recording proxies, an external sequencer key of the test's own, every member in
//! `external` mode. So the harness runs the same ceremony through `veil-keygen` and writes
//! `node.json` in the format `veil-node run` reads (`service/src/config.rs`); the member
//! processes load and check everything exactly as in production (committee verification,
//! sealed identity and share, safety bounds).
//!
//! # Faults
//!
//! The fault suite (issue 7; `tests/tests/fault_*.rs`, `crash.rs`, `equivocation.rs`) uses:
//! [`Node::kill9`]/[`Net::restart`] (SIGKILL), [`Node::signal`] (SIGSTOP/SIGCONT: a stalled
//! process), [`Recorder::partition`]/[`Recorder::heal`] (the proxies drop a member's links
//! in both directions), [`Recorder::withhold_shares_to`] and [`Recorder::delay_shares`]
//! (lose or delay share messages to one member), [`Node::fsize_limit`] and
//! [`Node::set_fsize_limit`] (a full disk: `RLIMIT_FSIZE` with `SIGXFSZ` ignored, so writes
//! fail with `EFBIG`), and [`byzantine::Byzantine`] (a member that lies with its real key).
//! The invariants every fault test asserts are in [`faults`]: [`Net::assert_invariants`]
//! and [`Net::assert_resumes`]. With `VEIL_FAULT_REPORT=<dir>` each fault test writes a
//! JSON line ([`FaultReport`]); `benches/figures.sh` turns them into the fault table.
//! Randomised faults take their seed from `VEIL_FAULT_SEED` (printed).
//!
//! # Running
//!
//! `cargo nextest run -p veil-tests` (or `bash tests/run-tests.sh` for everything).
//! `VEIL_TEST_LOG=debug` sets the members' `RUST_LOG`; on failure the tail of every
//! member's log is printed and the test directory is kept (always kept with
//! `VEIL_TEST_KEEP=1`).
#![deny(missing_docs)]

pub mod byzantine;
pub mod faults;

pub use faults::{Acked, Checked, FaultReport, Honest, assert_no_conflicting_votes, fault_rng};

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::Value;
use veil_keygen::seal::SealParams;
use veil_keygen::{CeremonyParams, Committee, Transcript, dkg, files};
use veil_protocol::{
    MemberMessage, MessageKind, OrderCertificate, PlaintextBatch, Proposal, SignedMessage,
    TxEnvelope, TxId, ValidatedEnvelope, ValidationContext, Vote, validate_batch,
};
use veil_threshold::{BlsPublicKey, EncryptionKey, Label, SigningKey, SlotRange, ThresholdKey};

/// The passphrase the harness seals identities and shares under.
pub const PASSPHRASE: &str = "veil-integration-tests";
/// The service domain (batch `chain_id`) and the chain id in every label.
pub const CHAIN_ID: u64 = 31_337;
/// How long a member gets to answer `/healthz` after being spawned.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The `veil-node` binary next to the running test executable.
pub fn node_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    let mut dir = exe
        .parent()
        .expect("test executable in a directory")
        .to_owned();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join(format!("veil-node{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "veil-node binary not found at {}: build it first (`cargo build -p veil-node`, or run \
         the suite with `cargo nextest run --workspace`, which builds workspace binaries)",
        bin.display()
    );
    bin
}

/// Polls `probe` every 50 ms until it yields a value or `timeout` passes; panics naming
/// `what` on timeout.
pub fn wait_for<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("an ephemeral loopback port")
        .port()
}

static NET_COUNTER: AtomicU64 = AtomicU64::new(0);

// ---------------------------------------------------------------------------------------
// HTTP client
// ---------------------------------------------------------------------------------------

/// An HTTP reply: status and body.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The error code of a `{code, message}` body, if any.
    pub fn code(&self) -> Option<String> {
        self.json()["code"].as_str().map(str::to_owned)
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(2))
        .timeout(Duration::from_secs(30))
        .build()
}

fn finish(res: Result<ureq::Response, ureq::Error>) -> Result<Reply, String> {
    let resp = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = resp.status();
    let mut body = Vec::new();
    resp.into_reader()
        .take(256 << 20)
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    Ok(Reply { status, body })
}

/// `GET url`; `Err` on a transport failure (refused, reset, timeout).
pub fn http_get(url: &str) -> Result<Reply, String> {
    finish(agent().get(url).call())
}

/// `POST url` with a body and content type; `Err` on a transport failure.
pub fn http_post(url: &str, content_type: &str, body: &[u8]) -> Result<Reply, String> {
    finish(
        agent()
            .post(url)
            .set("content-type", content_type)
            .send_bytes(body),
    )
}

/// `POST` over a raw socket that keeps reading the reply even when the server stops reading
/// the body (as it should for an oversized one): headers first, then the body with write
/// errors ignored, then the reply. `Err` if no reply arrives.
pub fn http_post_raw(
    base_url: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> Result<Reply, String> {
    let addr = base_url.strip_prefix("http://").ok_or("not an http url")?;
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
    for chunk in body.chunks(64 * 1024) {
        if s.write_all(chunk).is_err() {
            break;
        }
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no HTTP reply ({} bytes)", raw.len()))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.as_bytes().to_vec())
        .unwrap_or_default();
    Ok(Reply { status, body })
}

// ---------------------------------------------------------------------------------------
// Recording proxy
// ---------------------------------------------------------------------------------------

/// A member-to-member message as it crossed the wire: BLS-signed (`SignedMessage`, version 1)
/// or sealed with a pairwise link MAC (version 2, envelopes and shares only; see
/// `service/src/link.rs`). The proxies read both; neither the signature nor the MAC is
/// checked here (the receiving member does that).
#[derive(Clone, Debug)]
pub struct WireMessage {
    /// Sender (1-based member index).
    pub from: u32,
    /// What the body is.
    pub kind: MessageKind,
    /// The body's canonical encoding.
    pub body: Vec<u8>,
    /// Whether it was sealed with a link MAC rather than signed.
    pub sealed: bool,
}

impl WireMessage {
    /// Sealed layout: `0x02 ‖ from ‖ to ‖ kind ‖ key id (16) ‖ len ‖ body ‖ tag (32)`, integers
    /// big-endian u32.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        if let Ok(m) = SignedMessage::from_bytes(bytes) {
            return Some(Self {
                from: m.from,
                kind: m.kind,
                body: m.body,
                sealed: false,
            });
        }
        const HEADER: usize = 1 + 4 + 4 + 1 + 16 + 4;
        if bytes.len() < HEADER + 32 || bytes[0] != 2 {
            return None;
        }
        let u32_at = |i: usize| bytes[i..i + 4].try_into().ok().map(u32::from_be_bytes);
        let from = u32_at(1)?;
        let kind = match bytes[9] {
            1 => MessageKind::Ciphertexts,
            5 => MessageKind::Shares,
            _ => return None,
        };
        let len = usize::try_from(u32_at(26)?).ok()?;
        if bytes.len() != HEADER + len + 32 {
            return None;
        }
        Some(Self {
            from,
            kind,
            body: bytes[HEADER..HEADER + len].to_vec(),
            sealed: true,
        })
    }
}

/// One internal message carried by a proxy.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Global order in which the proxies received the messages.
    pub seq: u64,
    /// The member it was addressed to.
    pub to: u32,
    /// The member message (decoded; `None` if the bytes were neither a signed nor a sealed
    /// message).
    pub message: Option<WireMessage>,
    /// The receiving member's HTTP status.
    pub status: u16,
    /// The receiving member's reply body (JSON: a vote, a refusal, `stored`, …).
    pub reply: Vec<u8>,
    /// Global order at which the reply came back (after `seq`).
    pub replied: u64,
}

impl Recorded {
    /// The typed body, if the message decodes.
    pub fn body(&self) -> Option<MemberMessage> {
        let m = self.message.as_ref()?;
        MemberMessage::decode(m.kind, &m.body).ok()
    }

    /// The sender, if the message decodes.
    pub fn from(&self) -> Option<u32> {
        self.message.as_ref().map(|m| m.from)
    }

    /// The vote carried in the reply to a proposal message, if any.
    pub fn reply_vote(&self) -> Option<Vote> {
        let v: Value = serde_json::from_slice(&self.reply).ok()?;
        let b = hex::decode(v["vote"].as_str()?).ok()?;
        Vote::from_bytes(&b).ok()
    }
}

/// Every vote a member gave, as seen by the proxies: votes returned in replies to proposal
/// messages and votes sent as messages, by voter.
pub fn recorded_votes(log: &[Recorded]) -> Vec<Vote> {
    let mut out = Vec::new();
    for r in log {
        if let Some(v) = r.reply_vote() {
            out.push(v);
        }
        if let Some(MemberMessage::Vote(v)) = r.body() {
            out.push(v);
        }
    }
    out
}

/// Recording proxies, one in front of each member; see the crate documentation.
#[derive(Clone, Default)]
pub struct Recorder {
    log: Arc<Mutex<Vec<Recorded>>>,
    seq: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// Partitioned members: every request to them, and every signed message from them,
    /// is dropped (the connection is closed without a reply).
    cut: Arc<Mutex<std::collections::BTreeSet<u32>>>,
    dropped: Arc<AtomicU64>,
    dropped_from: Arc<Mutex<BTreeMap<u32, u64>>>,
    /// Members to which share messages are not delivered (dropped).
    withheld_shares: Arc<Mutex<std::collections::BTreeSet<u32>>>,
    /// Share messages from `.0` to `.1` are held back this long before delivery.
    delayed_shares: Arc<Mutex<BTreeMap<(u32, u32), Duration>>>,
}

impl Recorder {
    /// Stops accepting connections (requests in flight finish).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Partitions member `m` from the others: the proxies drop every request addressed to
    /// it and every signed message it sends, in both directions, until [`Recorder::heal`].
    /// (The member's public API stays reachable: a partition of the member links.)
    pub fn partition(&self, m: u32) {
        if let Ok(mut c) = self.cut.lock() {
            c.insert(m);
        }
    }

    /// Drops every share message addressed to member `m` (other traffic passes) until
    /// [`Recorder::deliver_shares_to`]: the member can release its shares but never receives
    /// the others'.
    pub fn withhold_shares_to(&self, m: u32) {
        if let Ok(mut c) = self.withheld_shares.lock() {
            c.insert(m);
        }
    }

    /// Holds every share message from member `from` to member `to` back for `delay` before
    /// delivering it (so `to` sees the other members' shares first).
    pub fn delay_shares(&self, from: u32, to: u32, delay: Duration) {
        if let Ok(mut d) = self.delayed_shares.lock() {
            d.insert((from, to), delay);
        }
    }

    /// Ends [`Recorder::withhold_shares_to`] for member `m`.
    pub fn deliver_shares_to(&self, m: u32) {
        if let Ok(mut c) = self.withheld_shares.lock() {
            c.remove(&m);
        }
    }

    /// Ends the partition of member `m`.
    pub fn heal(&self, m: u32) {
        if let Ok(mut c) = self.cut.lock() {
            c.remove(&m);
        }
    }

    /// How many requests the partition dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// How many signed messages sent by member `m` the partition dropped so far.
    pub fn dropped_from(&self, m: u32) -> u64 {
        self.dropped_from
            .lock()
            .map(|d| d.get(&m).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Everything recorded so far, in arrival order.
    pub fn messages(&self) -> Vec<Recorded> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Whether a shares message of `member` for `slot` has crossed a proxy.
    pub fn has_shares(&self, member: u32, slot: u64) -> bool {
        self.messages().iter().any(|r| {
            matches!(r.body(), Some(MemberMessage::Shares(s))
                if s.member == member && s.slot == slot)
        })
    }

    /// Starts a proxy for member `to` forwarding to `target` (`http://127.0.0.1:port`);
    /// returns its base URL.
    fn spawn(&self, to: u32, target: String) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy port");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let me = self.clone();
        std::thread::spawn(move || {
            while !me.stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let me = me.clone();
                        let target = target.clone();
                        std::thread::spawn(move || me.serve(to, &target, stream));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        url
    }

    /// Serves one request on `stream` (the proxy answers `Connection: close`).
    fn serve(&self, to: u32, target: &str, stream: TcpStream) {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let mut reader = BufReader::new(match stream.try_clone() {
            Ok(s) => s,
            Err(_) => return,
        });
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("/").to_owned();
        let mut len = 0usize;
        let mut content_type = "application/octet-stream".to_owned();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                if k == "content-length" {
                    len = v.trim().parse().unwrap_or(0);
                } else if k == "content-type" {
                    content_type = v.trim().to_owned();
                }
            }
        }
        let mut body = vec![0u8; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let signed = WireMessage::parse(&body);
        let from = signed.as_ref().map(|m| m.from);
        let is_shares = signed.as_ref().is_some_and(|m| {
            matches!(
                MemberMessage::decode(m.kind, &m.body),
                Ok(MemberMessage::Shares(_))
            )
        });
        let cut = self
            .cut
            .lock()
            .map(|c| c.contains(&to) || from.is_some_and(|f| c.contains(&f)))
            .unwrap_or(false)
            || (is_shares
                && self
                    .withheld_shares
                    .lock()
                    .map(|w| w.contains(&to))
                    .unwrap_or(false));
        if cut {
            // Dropped on the floor: the sender sees the connection close without a reply.
            self.dropped.fetch_add(1, Ordering::Relaxed);
            if let (Some(f), Ok(mut d)) = (from, self.dropped_from.lock()) {
                *d.entry(f).or_insert(0) += 1;
            }
            return;
        }
        if is_shares
            && let Some(f) = from
            && let Some(d) = self
                .delayed_shares
                .lock()
                .ok()
                .and_then(|d| d.get(&(f, to)).copied())
        {
            std::thread::sleep(d);
        }
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        let url = format!("{target}{path}");
        let reply = if method == "GET" {
            http_get(&url)
        } else {
            http_post(&url, &content_type, &body)
        };
        let (status, out) = match reply {
            Ok(r) => (r.status, r.body),
            Err(e) => (502, e.into_bytes()),
        };
        if method == "POST"
            && path.starts_with("/internal/")
            && let Ok(mut log) = self.log.lock()
        {
            log.push(Recorded {
                seq,
                to,
                message: WireMessage::parse(&body),
                status,
                reply: out.clone(),
                replied: self.seq.fetch_add(1, Ordering::SeqCst),
            });
        }
        let mut stream = stream;
        let head = format!(
            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\ncontent-type: application/octet-stream\r\nconnection: close\r\n\r\n",
            out.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&out);
        let _ = stream.flush();
    }
}

// ---------------------------------------------------------------------------------------
// The committee
// ---------------------------------------------------------------------------------------

/// Who proposes batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequencerMode {
    /// Member 1 runs the built-in sequencer.
    Builtin,
    /// No member proposes; the test is the (external) sequencer.
    External,
}

/// How to start a committee.
#[derive(Clone, Debug)]
pub struct NetOptions {
    /// Committee size.
    pub members: u32,
    /// Decryption threshold.
    pub threshold: u32,
    /// Who proposes.
    pub sequencer: SequencerMode,
    /// Slot length of the built-in sequencer.
    pub slot_ms: u64,
    /// Largest proposed batch.
    pub max_batch: usize,
    /// Seed of the ceremony and of the external sequencer key.
    pub seed: u64,
    /// Forward delivered plaintext to this Ethereum JSON-RPC endpoint (`forward.rpc_url`
    /// in every member's `node.json`; the forwarding member is [`NetOptions::forward_member`]).
    pub forward_rpc: Option<String>,
    /// The member that forwards (default 1).
    pub forward_member: u32,
    /// Delay parameters (a JSON file, `DelayParams::to_json`) for delay and dual mode.
    pub delay_params: Option<PathBuf>,
    /// Milliseconds after certification before a dual item's puzzle is solved.
    pub dual_grace_ms: Option<u64>,
    /// Whether members run the puzzle solver (default true; off to test reveals alone).
    pub solver: bool,
    /// The `rollups` section of every member's `node.json` (multi-rollup mode), if any.
    pub rollups: Option<Value>,
}

impl Default for NetOptions {
    fn default() -> Self {
        Self {
            members: 4,
            threshold: 3,
            sequencer: SequencerMode::Builtin,
            slot_ms: 200,
            max_batch: 512,
            seed: 1,
            forward_rpc: None,
            forward_member: 1,
            delay_params: None,
            dual_grace_ms: None,
            solver: true,
            rollups: None,
        }
    }
}

/// One member process.
pub struct Node {
    /// Member index (1-based).
    pub member: u32,
    /// Its public base URL (direct, not through the proxy).
    pub url: String,
    /// Its `node.json`.
    pub config: PathBuf,
    /// Its log file (stdout and stderr, appended across restarts).
    pub log: PathBuf,
    /// Its database file.
    pub db: PathBuf,
    /// `RLIMIT_FSIZE` (bytes; `u64::MAX`: unlimited) for the next spawn, with `SIGXFSZ`
    /// ignored so that a write past it fails with `EFBIG` instead of killing the process: a
    /// full disk, for real. Tighten or lift it later with [`Node::set_fsize_limit`].
    pub fsize_limit: Option<u64>,
    child: Option<Child>,
}

impl Node {
    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("member log file");
        let mut cmd = Command::new(node_binary());
        cmd.arg("run")
            .arg("--config")
            .arg(&self.config)
            .env("VEIL_PASSPHRASE", PASSPHRASE)
            .env(
                "RUST_LOG",
                std::env::var("VEIL_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null());
        let Some(limit) = self.fsize_limit else {
            let err = log.try_clone().expect("member log file handle");
            let child = cmd
                .stdout(log)
                .stderr(err)
                .spawn()
                .expect("spawning veil-node");
            self.child = Some(child);
            return;
        };
        // A disk-fault member: its output goes through pipes (which RLIMIT_FSIZE does not
        // limit) to threads here that append it to the log, so its log lines survive the
        // full disk they report.
        use std::os::unix::process::CommandExt;
        let rlim = if limit == u64::MAX {
            libc::RLIM_INFINITY
        } else {
            limit as libc::rlim_t
        };
        // SAFETY: the closure runs in the forked child before exec and calls only
        // async-signal-safe functions (signal, setrlimit); it allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                // SIG_IGN survives exec: a write past the limit fails with EFBIG instead of
                // killing the process.
                if libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR {
                    return Err(std::io::Error::last_os_error());
                }
                let lim = libc::rlimit {
                    rlim_cur: rlim,
                    rlim_max: libc::RLIM_INFINITY,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning veil-node");
        let pipes: Vec<Box<dyn Read + Send>> = vec![
            Box::new(child.stdout.take().expect("piped stdout")),
            Box::new(child.stderr.take().expect("piped stderr")),
        ];
        for mut pipe in pipes {
            let mut out = log.try_clone().expect("member log file handle");
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut pipe, &mut out);
            });
        }
        self.child = Some(child);
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sets the running process's `RLIMIT_FSIZE` (soft limit; `None`: unlimited), as
    /// `prlimit(2)` does from outside. Panics if the member is not running.
    pub fn set_fsize_limit(&self, bytes: Option<u64>) {
        let pid = self.pid().expect("member running") as libc::pid_t;
        let lim = libc::rlimit {
            rlim_cur: bytes.map_or(libc::RLIM_INFINITY, |b| b as libc::rlim_t),
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: `lim` is a valid rlimit; a null old-limit pointer is allowed.
        let rc = unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &lim, std::ptr::null_mut()) };
        assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
    }

    /// Sends `signal` (e.g. `libc::SIGSTOP`, `libc::SIGCONT`) to the running process.
    pub fn signal(&self, signal: i32) {
        let pid = self.pid().expect("member running") as libc::pid_t;
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    /// Kills the process with SIGKILL (no shutdown path runs) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill(); // SIGKILL on Unix.
            let _ = c.wait();
        }
    }

    /// `GET {url}{path}`, panicking on a transport failure.
    pub fn get(&self, path: &str) -> Reply {
        http_get(&format!("{}{path}", self.url))
            .unwrap_or_else(|e| panic!("member {} GET {path}: {e}", self.member))
    }

    /// `POST {url}{path}` with a JSON body, panicking on a transport failure.
    pub fn post_json(&self, path: &str, body: &Value) -> Reply {
        http_post(
            &format!("{}{path}", self.url),
            "application/json",
            body.to_string().as_bytes(),
        )
        .unwrap_or_else(|e| panic!("member {} POST {path}: {e}", self.member))
    }

    /// `POST {url}{path}` with raw bytes, panicking on a transport failure.
    pub fn post_bytes(&self, path: &str, content_type: &str, body: &[u8]) -> Reply {
        http_post(&format!("{}{path}", self.url), content_type, body)
            .unwrap_or_else(|e| panic!("member {} POST {path}: {e}", self.member))
    }

    /// `/healthz` if the member answers it with 200.
    pub fn health(&self) -> Option<Value> {
        let r = http_get(&format!("{}/healthz", self.url)).ok()?;
        (r.status == 200).then(|| r.json())
    }

    /// The last certified slot this member reports (0 before the first).
    pub fn last_certified_slot(&self) -> u64 {
        self.health()
            .and_then(|h| h["last_certified_slot"].as_u64())
            .unwrap_or(0)
    }

    /// Submits one envelope; returns the reply.
    pub fn submit(&self, envelope: &[u8]) -> Reply {
        self.post_json(
            "/v1/transactions",
            &serde_json::json!({ "envelope": hex::encode(envelope) }),
        )
    }

    /// Submits envelopes in one bulk request (`u32 BE length ‖ envelope`, repeated).
    pub fn submit_bulk(&self, envelopes: &[Vec<u8>]) -> Reply {
        let mut body = Vec::new();
        for e in envelopes {
            body.extend_from_slice(&(e.len() as u32).to_be_bytes());
            body.extend_from_slice(e);
        }
        self.post_bytes("/v1/transactions/bulk", "application/octet-stream", &body)
    }

    /// `GET /v1/transactions/{id}` as JSON, `None` on 404.
    pub fn tx_status(&self, id: &TxId) -> Option<Value> {
        let r = self.get(&format!("/v1/transactions/{}", hex::encode(id.0)));
        (r.status == 200).then(|| r.json())
    }

    /// The certificate of `slot`, if this member has one.
    pub fn certificate(&self, slot: u64) -> Option<OrderCertificate> {
        let r = self.get(&format!("/v1/certificates/{slot}"));
        (r.status == 200).then(|| certificate_from_json(&r.json()))
    }

    /// The plaintext batch of `slot`, if this member has one.
    pub fn plaintext_batch(&self, slot: u64) -> Option<PlaintextBatch> {
        let r = self.get(&format!("/v1/batches/{slot}"));
        (r.status == 200).then(|| plaintext_from_json(&r.json()))
    }

    /// The member's Prometheus exposition as `name{labels} → value`.
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        parse_metrics(&self.get("/metrics").text())
    }
}

/// Decodes a certificate from its JSON form: the binary hex (`binary`/`bytes`/`hex`
/// field) when present, else the serde form.
pub fn certificate_from_json(v: &Value) -> OrderCertificate {
    for key in ["binary", "bytes", "hex", "encoding"] {
        if let Some(h) = v[key].as_str() {
            let b = hex::decode(h).expect("certificate hex");
            return OrderCertificate::from_bytes(&b).expect("certificate encoding");
        }
    }
    let inner = if v["certificate"].is_object() {
        &v["certificate"]
    } else {
        v
    };
    serde_json::from_value(inner.clone()).unwrap_or_else(|e| panic!("certificate JSON {v}: {e}"))
}

/// Decodes a plaintext batch from its JSON form: the binary hex when present, else the
/// serde form.
pub fn plaintext_from_json(v: &Value) -> PlaintextBatch {
    for key in ["binary", "bytes", "hex", "encoding"] {
        if let Some(h) = v[key].as_str() {
            let b = hex::decode(h).expect("plaintext batch hex");
            return PlaintextBatch::from_bytes(&b).expect("plaintext batch encoding");
        }
    }
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("plaintext batch JSON: {e}"))
}

/// Parses a Prometheus text exposition into `name{labels} → value`.
pub fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.trim().to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

/// A committee of member processes (killed when dropped; its directory removed unless the
/// test failed or `VEIL_TEST_KEEP` is set).
pub struct Net {
    /// The members, index `i` is member `i + 1`.
    pub nodes: Vec<Node>,
    /// The working directory.
    pub dir: PathBuf,
    /// The public committee.
    pub committee: Committee,
    /// The committee's threshold key.
    pub threshold_key: ThresholdKey,
    /// The members' BLS keys.
    pub bls_keys: Vec<BlsPublicKey>,
    /// Certificate quorum the members run with.
    pub quorum: usize,
    /// The external sequencer's key (sequencer id 1 in every member's `sequencer_keys`).
    pub sequencer_key: SigningKey,
    /// The recording proxies on the member-to-member links.
    pub recorder: Recorder,
    /// The members' signing keys (for tests that impersonate a Byzantine member).
    pub member_keys: Vec<SigningKey>,
    /// The recording proxies' base URLs, index `i` in front of member `i + 1`.
    pub proxies: Vec<String>,
}

impl Net {
    /// Generates keys and configs and starts every member; waits for each `/healthz`.
    pub fn start(opts: NetOptions) -> Net {
        let n = opts.members;
        let dir = std::env::temp_dir().join(format!(
            "veil-it-{}-{}",
            std::process::id(),
            NET_COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("test directory");
        let mut rng = ChaCha20Rng::seed_from_u64(opts.seed);
        let seal = SealParams::new(64, 1, 1).expect("light argon2 costs are in range");
        // Identities.
        let mut secrets = Vec::new();
        let mut publics = Vec::new();
        for i in 1..=n {
            let mdir = dir.join(format!("member-{i}"));
            std::fs::create_dir_all(&mdir).expect("member directory");
            let public = files::init_identity(
                &mdir,
                &format!("member-{i}"),
                PASSPHRASE.as_bytes(),
                seal,
                &mut rng,
            )
            .expect("identity");
            secrets
                .push(files::load_identity(&mdir, PASSPHRASE.as_bytes()).expect("identity opens"));
            publics.push(public);
        }
        // One fresh DKG, every member dealing.
        let params = CeremonyParams::fresh(1, opts.threshold, n, publics).expect("ceremony params");
        let dealings = secrets
            .iter()
            .enumerate()
            .map(|(i, s)| dkg::deal(&params, i as u32 + 1, s, None, &mut rng).expect("dealing"))
            .collect();
        let transcript = Transcript {
            params,
            dealings,
            complaints: Vec::new(),
        };
        let mut committee = None;
        for (i, s) in secrets.iter().enumerate() {
            let mdir = dir.join(format!("member-{}", i + 1));
            let done = files::finish(&transcript, s, &mdir, PASSPHRASE.as_bytes(), seal, &mut rng)
                .expect("ceremony finishes");
            committee = Some(done.committee);
        }
        let committee = committee.expect("at least one member");
        let threshold_key = committee.threshold_key().expect("threshold key");
        let bls_keys = committee.bls_keys().expect("bls keys");
        let member_keys: Vec<SigningKey> = secrets
            .iter()
            .map(|s| s.certificate_key().expect("certificate key"))
            .collect();
        let sequencer_key = SigningKey::generate(&mut rng);
        let quorum = veil_protocol::CommitteeConfig::for_members(n).quorum as usize;

        // Ports, proxies, configs.
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let recorder = Recorder::default();
        let proxies: Vec<String> = (0..n)
            .map(|i| recorder.spawn(i + 1, format!("http://127.0.0.1:{}", ports[i as usize])))
            .collect();
        let seq_keys = vec![
            hex::encode(member_keys[0].public_key().to_bytes()),
            hex::encode(sequencer_key.public_key().to_bytes()),
        ];
        let mut nodes = Vec::new();
        for i in 1..=n {
            let mdir = dir.join(format!("member-{i}"));
            let mode = match (opts.sequencer, i) {
                (SequencerMode::Builtin, 1) => "builtin",
                (SequencerMode::Builtin, _) => "none",
                (SequencerMode::External, _) => "external",
            };
            let peers: Vec<Value> = (1..=n)
                .map(|j| serde_json::json!({ "member": j, "url": proxies[(j - 1) as usize] }))
                .collect();
            let mut config = serde_json::json!({
                "member": i,
                "listen": format!("127.0.0.1:{}", ports[(i - 1) as usize]),
                "peers": peers,
                "committee": "committee.json",
                "identity_dir": ".",
                "share": "share-epoch-1.sealed",
                "db": "node.redb",
                "chain_id": CHAIN_ID,
                "sequencer": mode,
                "sequencer_keys": seq_keys,
                "slot_ms": opts.slot_ms,
                "max_batch": opts.max_batch,
            });
            if let Some(url) = &opts.forward_rpc {
                config["forward"] =
                    serde_json::json!({ "rpc_url": url, "member": opts.forward_member });
            }
            if let Some(r) = &opts.rollups {
                config["rollups"] = r.clone();
            }
            if let Some(p) = &opts.delay_params {
                config["delay_params"] = serde_json::json!(p);
            }
            config["solver"] = serde_json::json!({ "enabled": opts.solver });
            if let Some(ms) = opts.dual_grace_ms {
                config["solver"]["dual_grace_ms"] = serde_json::json!(ms);
            }
            let path = mdir.join("node.json");
            std::fs::write(&path, serde_json::to_vec_pretty(&config).expect("json"))
                .expect("node.json");
            nodes.push(Node {
                member: i,
                url: format!("http://127.0.0.1:{}", ports[(i - 1) as usize]),
                config: path,
                log: mdir.join("node.log"),
                db: mdir.join("node.redb"),
                fsize_limit: None,
                child: None,
            });
        }
        let mut net = Net {
            nodes,
            dir,
            committee,
            threshold_key,
            bls_keys,
            quorum,
            sequencer_key,
            recorder,
            member_keys,
            proxies,
        };
        for node in &mut net.nodes {
            node.spawn();
        }
        for i in 0..net.nodes.len() {
            net.wait_healthy(i as u32 + 1);
        }
        net
    }

    /// Member `m` (1-based).
    pub fn node(&self, m: u32) -> &Node {
        &self.nodes[(m - 1) as usize]
    }

    /// Waits until member `m` answers `/healthz` (bounded by [`START_TIMEOUT`]).
    pub fn wait_healthy(&mut self, m: u32) {
        let start = Instant::now();
        loop {
            let node = &mut self.nodes[(m - 1) as usize];
            if node.health().is_some() {
                return;
            }
            if !node.is_running() {
                let log = std::fs::read_to_string(&node.log).unwrap_or_default();
                panic!("member {m} exited during start-up; log:\n{log}");
            }
            if start.elapsed() > START_TIMEOUT {
                panic!("member {m} not healthy after {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILLs member `m`.
    pub fn kill9(&mut self, m: u32) {
        self.nodes[(m - 1) as usize].kill9();
    }

    /// Restarts member `m` on its configuration and database; waits until healthy.
    pub fn restart(&mut self, m: u32) {
        self.nodes[(m - 1) as usize].spawn();
        self.wait_healthy(m);
    }

    /// The wallet: encrypts `count` transactions under the committee key (labels for
    /// [`CHAIN_ID`], slots 0..=1_000_000, distinct senders); returns envelope encodings and
    /// their plaintexts.
    pub fn wallet(&self, seed: u64, count: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let ek = EncryptionKey::new(self.threshold_key.public_key());
        (0..count)
            .map(|i| {
                let mut sender = [0u8; 32];
                sender[..8].copy_from_slice(&seed.to_be_bytes());
                sender[8..16].copy_from_slice(&(i as u64).to_be_bytes());
                let label = Label::new(
                    CHAIN_ID,
                    sender,
                    SlotRange::new(0, 1_000_000).expect("range"),
                    1_000,
                    vec![],
                )
                .expect("label");
                let plaintext = format!("tx {seed}/{i}: transfer {} wei", 1_000 + i).into_bytes();
                let ct = ek.encrypt(&mut rng, &label, &plaintext).expect("encrypt");
                (TxEnvelope::Threshold(ct).to_bytes(), plaintext)
            })
            .collect()
    }

    /// Validates envelope encodings as a member does (for [`PlaintextBatch::verify`]).
    pub fn validate(&self, encodings: &[&[u8]]) -> Vec<ValidatedEnvelope> {
        let ctx = ValidationContext {
            committee_key: self.threshold_key.public_key(),
            delay_params: None,
            chain_ids: &[CHAIN_ID],
            current_slot: 0,
        };
        validate_batch(&ctx, encodings)
            .into_iter()
            .map(|r| r.expect("the wallet's envelopes validate"))
            .collect()
    }

    /// Signs a proposal as the external sequencer (id 1).
    pub fn propose(&self, batch: veil_protocol::Batch) -> Proposal {
        Proposal::sign(&self.sequencer_key, veil_protocol::SequencerId(1), batch)
            .expect("proposal signs")
    }

    /// Every member's log, for failure messages.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| {
                let log = std::fs::read_to_string(&n.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(60).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!(
                    "---- member {} ({}) ----\n{}\n",
                    n.member,
                    n.log.display(),
                    tail.join("\n")
                )
            })
            .collect()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.recorder.stop();
        for n in &mut self.nodes {
            n.kill9();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
            eprintln!("test directory kept: {}", self.dir.display());
        } else if std::env::var_os("VEIL_TEST_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The id of an envelope encoding.
pub fn id_of(envelope: &[u8]) -> TxId {
    veil_protocol::envelope::id_of(envelope)
}

/// Reads server-sent events from `url` until `done` says stop or `timeout` passes; returns
/// `(event, data)` pairs. Panics on timeout.
pub fn read_sse(
    url: &str,
    timeout: Duration,
    mut done: impl FnMut(&[(String, String)]) -> bool,
) -> Vec<(String, String)> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(2))
        .timeout_read(timeout)
        .build();
    let resp = agent
        .get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let reader = BufReader::new(resp.into_reader());
    let start = Instant::now();
    let mut events = Vec::new();
    let mut event = String::new();
    let mut data = String::new();
    for line in reader.lines() {
        let line =
            line.unwrap_or_else(|e| panic!("reading {url}: {e} after {} events", events.len()));
        if line.is_empty() {
            if !data.is_empty() || !event.is_empty() {
                let name = if event.is_empty() {
                    "message".to_owned()
                } else {
                    std::mem::take(&mut event)
                };
                events.push((name, std::mem::take(&mut data)));
                if done(&events) {
                    return events;
                }
            }
        } else if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
        if start.elapsed() > timeout {
            break;
        }
    }
    panic!(
        "stream {url} ended or timed out after {} events",
        events.len()
    );
}

/// Path helper for tests that inspect a member's directory.
pub fn member_dir(net: &Net, m: u32) -> &Path {
    net.node(m)
        .config
        .parent()
        .expect("node.json lives in the member directory")
}
