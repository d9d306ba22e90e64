//! The end-to-end load generator (`veil-load`): a local committee under a stream of
//! threshold-encrypted transactions, measured from submission to plaintext.
//!
//! # What a run does
//!
//! 1. Starts a committee of real `veil-node` processes on loopback ([`committee`]): the key
//!    ceremony, one configuration per member, member 1 running the built-in sequencer.
//! 2. Encrypts every transaction of the run **before** the measured window (on all cores),
//!    so the wallet's encryption is not charged to the committee; its cost is reported
//!    separately.
//! 3. Submits through the bulk route (`POST /v1/transactions/bulk`), round-robin over the
//!    members, from `inflight` sender threads, each with at most one request outstanding.
//!    At a fixed rate, transaction `i` is due at `i / rate` seconds and a sender takes every
//!    transaction already due (up to `bulk` per request); with `--rate max` every sender
//!    submits `bulk` transactions back to back, so the bound on in-flight requests is the
//!    only throttle.
//! 4. Follows `GET /v1/stream` (server-sent events) on one member and stamps each
//!    transaction when its plaintext arrives; checks the plaintext is the one encrypted.
//!    With `--rollups N` the committee serves N rollups (chain ids `4242…`, stream
//!    delivery), transactions are spread round-robin over them, and one consumer per rollup
//!    follows `GET /v1/rollups/{chain_id}/stream` (each event a sub-batch with its
//!    completeness proof). `--compare-rollups` runs `--rollups 1` and `--rollups N` in the
//!    order 1, N, N, 1 and prints every run and the means with their ratios.
//! 5. Samples each member's CPU time (`/proc/<pid>/stat`, utime + stime) every second.
//!
//! After the window it waits for the accepted transactions to drain (bounded), then
//! reports the delivered throughput, submit → plaintext percentiles and CPU time per
//! transaction per member, and writes one CSV row per second and an SVG plot
//! ([`report`]).
//!
//! # Definitions
//!
//! - *Latency* is from sending a transaction's bulk request to receiving its plaintext on
//!   the stream (so it includes the member's admission work and the HTTP round trip, not
//!   the time a transaction waited in the generator for a free sender; that wait is
//!   reported separately as "queueing").
//! - *Sustained throughput* is the transactions delivered during the window divided by its
//!   length; the per-second median over the second half of the window is also given.
//! - *CPU per transaction* is a member's CPU time from the start of the window to the end
//!   of the drain, divided by the transactions delivered in that time.

pub mod committee;
pub mod report;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use rand_core::OsRng;
use serde_json::Value;
use veil_protocol::TxEnvelope;
use veil_threshold::{EncryptionKey, Label, SlotRange};

use committee::{CommitteeOptions, LocalCommittee};
use report::{Percentiles, TxTimes};

/// Why a load run stopped.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Starting the committee failed.
    #[error("setup: {0}")]
    Setup(String),
    /// A bad argument.
    #[error("bad argument: {0}")]
    Argument(String),
    /// Reading or writing a file failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// The offered load.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    /// Transactions per second.
    PerSecond(f64),
    /// As fast as the in-flight bound allows.
    Max,
}

impl std::str::FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "max" {
            return Ok(Rate::Max);
        }
        match s.parse::<f64>() {
            Ok(r) if r > 0.0 && r.is_finite() => Ok(Rate::PerSecond(r)),
            _ => Err(format!(
                "rate must be a positive number or `max`, got {s:?}"
            )),
        }
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rate::PerSecond(r) => write!(f, "{r}"),
            Rate::Max => f.write_str("max"),
        }
    }
}

/// Command-line arguments of `veil-load`.
#[derive(Clone, Debug, clap::Parser)]
#[command(
    name = "veil-load",
    about = "Drive a local Veil committee with encrypted transactions and measure it"
)]
pub struct LoadArgs {
    /// Offered load in transactions per second, or `max` (flat out).
    #[arg(long, default_value = "1000")]
    pub rate: Rate,
    /// Length of the measured window, in seconds.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Committee size.
    #[arg(long, default_value_t = 4)]
    pub members: u32,
    /// Decryption threshold (default: 2f + 1 for f = ⌊(n − 1)/3⌋).
    #[arg(long)]
    pub threshold: Option<u32>,
    /// Sender threads, each with at most one bulk request in flight.
    #[arg(long, default_value_t = 4)]
    pub inflight: usize,
    /// Largest number of transactions in one bulk request.
    #[arg(long, default_value_t = 128)]
    pub bulk: usize,
    /// Plaintext size in bytes.
    #[arg(long, default_value_t = 200)]
    pub payload: usize,
    /// Transactions to pre-encrypt for `--rate max` (default 1,500 per second of window).
    #[arg(long)]
    pub pool: Option<usize>,
    /// Slot length of the built-in sequencer (ms).
    #[arg(long, default_value_t = 200)]
    pub slot_ms: u64,
    /// Largest batch the sequencer proposes.
    #[arg(long, default_value_t = 512)]
    pub max_batch: usize,
    /// Longest wait for accepted transactions to drain after the window (seconds).
    #[arg(long, default_value_t = 30)]
    pub drain: u64,
    /// Member whose stream is followed (default: the last one, not the sequencer).
    #[arg(long)]
    pub stream_member: Option<u32>,
    /// Where the CSV, SVG and summary go.
    #[arg(long, default_value = "benches/results")]
    pub out: PathBuf,
    /// File name stem of the results (default `load-rate=<rate>`).
    #[arg(long)]
    pub name: Option<String>,
    /// Working directory of the committee (keys, databases, logs).
    #[arg(long, default_value = "target/veil-load")]
    pub dir: PathBuf,
    /// The `veil-node` binary (default: next to this one, built first under cargo).
    #[arg(long)]
    pub node_bin: Option<PathBuf>,
    /// `RUST_LOG` of the members.
    #[arg(long, default_value = "warn")]
    pub log: String,
    /// No progress bar (for logs and CI).
    #[arg(long)]
    pub quiet: bool,
    /// Serve this many rollups (multi-rollup mode, per-rollup streams); absent: one rollup
    /// without a `rollups` section (the single-rollup node configuration).
    #[arg(long)]
    pub rollups: Option<u32>,
    /// Run `--rollups 1` and `--rollups N` (N from `--rollups`, default 2) in the order 1,
    /// N, N, 1 in the same invocation and print every run and the means with the ratios.
    #[arg(long)]
    pub compare_rollups: bool,
}

/// Chain id of the load's labels and the committee's service domain.
pub const CHAIN_ID: u64 = 4_242;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock means a sender or the consumer panicked; the records stay usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One pre-encrypted transaction.
struct Prepared {
    envelope: Vec<u8>,
    id: String,
    plaintext: Vec<u8>,
}

/// Encrypts `count` transactions on every core; returns them and the wall time.
fn prepare(
    ek: &EncryptionKey,
    count: usize,
    payload: usize,
    chains: &[u64],
) -> Result<(Vec<Prepared>, Duration, usize), LoadError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let start = Instant::now();
    let chunk = count.div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<Prepared>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let lo = (t * chunk).min(count);
                    let hi = ((t + 1) * chunk).min(count);
                    (lo..hi)
                        .map(|i| {
                            let mut sender = [0u8; 32];
                            sender[..8].copy_from_slice(&(i as u64).to_be_bytes());
                            let range =
                                SlotRange::new(0, u64::MAX / 2).map_err(|e| e.to_string())?;
                            let chain = chains[i % chains.len()];
                            let label = Label::new(chain, sender, range, 21_000, Vec::new())
                                .map_err(|e| e.to_string())?;
                            let mut plaintext = format!("veil-load tx {i}: ").into_bytes();
                            plaintext.resize(payload.max(plaintext.len()), b'.');
                            let ct = ek
                                .encrypt(&mut OsRng, &label, &plaintext)
                                .map_err(|e| e.to_string())?;
                            let envelope = TxEnvelope::Threshold(ct).to_bytes();
                            let id = veil_protocol::envelope::id_of(&envelope).to_hex();
                            Ok(Prepared {
                                envelope,
                                id,
                                plaintext,
                            })
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("encryption thread panicked".into()))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(count);
    for p in parts {
        out.extend(p.map_err(LoadError::Setup)?);
    }
    Ok((out, start.elapsed(), threads))
}

/// Shared state of a run.
struct Run {
    start: Instant,
    txs: Mutex<Vec<TxTimes>>,
    /// Index of the next transaction to hand to a sender.
    next: Mutex<usize>,
    /// How many transactions may be sent in the window (all of the pool for `max`).
    limit: usize,
    rate: Rate,
    window: Duration,
    bulk: usize,
    stop_sending: AtomicBool,
    stop_all: AtomicBool,
    /// Bulk requests sent and not yet answered.
    outstanding: AtomicU64,
    rejected: AtomicU64,
    failed_requests: AtomicU64,
    delivered: AtomicU64,
    accepted: AtomicU64,
    invalid: AtomicU64,
    wrong_plaintext: AtomicU64,
    /// Total time transactions waited between being due and being sent (µs).
    queueing_us: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Run {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// The due time of transaction `i` at a fixed rate.
    fn due(&self, i: usize) -> Option<Duration> {
        match self.rate {
            Rate::PerSecond(r) => Some(Duration::from_secs_f64(i as f64 / r)),
            Rate::Max => None,
        }
    }

    /// The next range of transactions to send, waiting until one is due; `None` when the
    /// window is over or the pool exhausted.
    fn take(&self) -> Option<std::ops::Range<usize>> {
        loop {
            if self.stop_sending.load(Ordering::Relaxed) || self.now() >= self.window {
                return None;
            }
            let mut next = lock(&self.next);
            if *next >= self.limit {
                return None;
            }
            let due_upto = match self.rate {
                Rate::Max => self.limit,
                Rate::PerSecond(r) => {
                    (((self.now().as_secs_f64() * r).floor() as usize) + 1).min(self.limit)
                }
            };
            if *next < due_upto {
                let lo = *next;
                let hi = due_upto.min(lo + self.bulk);
                *next = hi;
                return Some(lo..hi);
            }
            let wait = self
                .due(*next)
                .map_or(Duration::from_millis(1), |d| d.saturating_sub(self.now()));
            drop(next);
            std::thread::sleep(wait.min(Duration::from_millis(20)));
        }
    }
}

/// Decrements the outstanding-request count when the reply has been recorded.
struct Answered<'a>(&'a AtomicU64);

impl Drop for Answered<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn sender(run: &Run, pool: &[Prepared], urls: &[String], first: usize) {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(2))
        .timeout(Duration::from_secs(60))
        .build();
    let mut target = first;
    while let Some(range) = run.take() {
        let mut body = Vec::with_capacity(range.len() * (pool[range.start].envelope.len() + 4));
        for p in &pool[range.clone()] {
            body.extend_from_slice(&(p.envelope.len() as u32).to_be_bytes());
            body.extend_from_slice(&p.envelope);
        }
        let url = format!("{}/v1/transactions/bulk", urls[target % urls.len()]);
        target += 1;
        run.outstanding.fetch_add(1, Ordering::SeqCst);
        let sent = run.now();
        {
            let mut txs = lock(&run.txs);
            for i in range.clone() {
                txs[i].sent = Some(sent);
                if let Some(d) = txs[i].due {
                    run.queueing_us
                        .fetch_add(sent.saturating_sub(d).as_micros() as u64, Ordering::Relaxed);
                }
            }
        }
        let reply = agent
            .post(&url)
            .set("content-type", "application/octet-stream")
            .send_bytes(&body);
        let at = run.now();
        let _answered = Answered(&run.outstanding);
        match reply {
            Ok(r) if r.status() == 200 => {
                let mut txs = lock(&run.txs);
                for i in range.clone() {
                    txs[i].accepted = Some(at);
                }
                run.accepted
                    .fetch_add(range.len() as u64, Ordering::Relaxed);
            }
            Ok(r) => {
                run.rejected
                    .fetch_add(range.len() as u64, Ordering::Relaxed);
                *lock(&run.last_error) = Some(format!("status {}", r.status()));
            }
            Err(ureq::Error::Status(code, r)) => {
                run.rejected
                    .fetch_add(range.len() as u64, Ordering::Relaxed);
                let body = r.into_string().unwrap_or_default();
                *lock(&run.last_error) = Some(format!("status {code}: {body}"));
            }
            Err(e) => {
                run.failed_requests.fetch_add(1, Ordering::Relaxed);
                run.rejected
                    .fetch_add(range.len() as u64, Ordering::Relaxed);
                *lock(&run.last_error) = Some(e.to_string());
            }
        }
    }
}

/// Follows the stream of member `url` from slot 1, stamping deliveries.
/// Follows `path` (`/v1/stream` or a rollup's stream) of member `url` from slot 1,
/// stamping deliveries.
fn consumer(run: &Run, pool: &[Prepared], url: &str, path: &str) {
    let index: HashMap<&str, usize> = pool
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.as_str(), i))
        .collect();
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(2))
        .timeout_read(Duration::from_millis(500))
        .build();
    let mut next = 1u64;
    while !run.stop_all.load(Ordering::Relaxed) {
        let Ok(resp) = agent.get(&format!("{url}{path}?from={next}")).call() else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let reader = BufReader::new(resp.into_reader());
        for line in reader.lines() {
            // A read timeout reconnects from the cursor (and notices the stop flag).
            let Ok(line) = line else { break };
            if run.stop_all.load(Ordering::Relaxed) {
                return;
            }
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            let at = run.now();
            let Ok(v) = serde_json::from_str::<Value>(data.trim()) else {
                continue;
            };
            let mut txs = lock(&run.txs);
            for item in v["items"].as_array().into_iter().flatten() {
                let Some(&i) = item["id"].as_str().and_then(|id| index.get(id)) else {
                    continue;
                };
                if txs[i].delivered.is_some() {
                    continue;
                }
                match item["plaintext"].as_str().map(hex::decode) {
                    Some(Ok(p)) if p == pool[i].plaintext => {}
                    Some(_) => {
                        run.wrong_plaintext.fetch_add(1, Ordering::Relaxed);
                    }
                    None => {
                        run.invalid.fetch_add(1, Ordering::Relaxed);
                    }
                }
                txs[i].delivered = Some(at);
                run.delivered.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(s) = v["slot"].as_u64() {
                next = s + 1;
            }
        }
    }
}

/// The 1-minute load average from `/proc/loadavg` (0 if unreadable).
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// What a run measured, for the summary.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Offered rate.
    pub rate: Rate,
    /// Window length (s).
    pub window_s: f64,
    /// Transactions sent in the window.
    pub sent: u64,
    /// Acknowledged.
    pub accepted: u64,
    /// Refused or failed.
    pub rejected: u64,
    /// Delivered as plaintext (window and drain).
    pub delivered: u64,
    /// Delivered within the window.
    pub delivered_in_window: u64,
    /// Delivered but marked invalid, or with a plaintext other than the one encrypted.
    pub bad: u64,
    /// Delivered in the window per second.
    pub throughput: f64,
    /// Median per-second deliveries over the second half of the window.
    pub steady_median: f64,
    /// Submit → plaintext percentiles over every delivered transaction.
    pub latency: Percentiles,
    /// Mean wait between due and sent (ms), fixed rates only.
    pub mean_queueing_ms: f64,
    /// CPU ms per delivered transaction, per member.
    pub cpu_ms_per_tx: Vec<f64>,
    /// CPU ms per delivered transaction of the generator itself (sending, stream parsing).
    pub generator_cpu_ms_per_tx: f64,
    /// Wallet encryption: µs per transaction per core.
    pub encrypt_us_per_tx: f64,
    /// Seconds from the end of the window until the last accepted transaction was
    /// delivered (or the drain bound).
    pub drain_s: f64,
    /// `/proc/loadavg` (1-minute figure) at the start and the end of the window: how much
    /// else ran on the machine.
    pub load_average: (f64, f64),
}

impl Summary {
    /// A human-readable report.
    pub fn text(&self, members: u32, threshold: u32) -> String {
        let mut s = String::new();
        use std::fmt::Write as _;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let _ = writeln!(
            s,
            "veil-load: {members} members, t = {threshold}, offered {} tx/s for {:.0} s",
            self.rate, self.window_s
        );
        let _ = writeln!(
            s,
            "  sent {}  accepted {}  rejected {}  delivered {} ({} in the window; {} invalid or wrong)",
            self.sent,
            self.accepted,
            self.rejected,
            self.delivered,
            self.delivered_in_window,
            self.bad
        );
        let _ = writeln!(
            s,
            "  sustained {:.0} tx/s delivered as plaintext (per-second median, second half: {:.0})",
            self.throughput, self.steady_median
        );
        let _ = writeln!(
            s,
            "  submit -> plaintext: p50 {:.0} ms  p90 {:.0} ms  p99 {:.0} ms  (mean queueing before send {:.0} ms; drain {:.1} s)",
            ms(self.latency.p50),
            ms(self.latency.p90),
            ms(self.latency.p99),
            self.mean_queueing_ms,
            self.drain_s
        );
        let per: Vec<String> = self
            .cpu_ms_per_tx
            .iter()
            .enumerate()
            .map(|(i, c)| format!("m{} {:.2}", i + 1, c))
            .collect();
        let total: f64 = self.cpu_ms_per_tx.iter().sum();
        let _ = writeln!(
            s,
            "  CPU per tx (ms): {}  (all members {:.2}; generator {:.2})",
            per.join("  "),
            total,
            self.generator_cpu_ms_per_tx
        );
        let _ = writeln!(
            s,
            "  wallet encryption (before the window, not charged): {:.0} µs per tx per core",
            self.encrypt_us_per_tx
        );
        let _ = writeln!(
            s,
            "  machine load average (1 min) at start / end of the window: {:.1} / {:.1}",
            self.load_average.0, self.load_average.1
        );
        s
    }
}

/// Runs a load (see the module documentation); writes the CSV, SVG and summary into
/// `args.out` and returns the summary.
pub fn run(args: &LoadArgs) -> Result<Summary, LoadError> {
    let n = args.members;
    if n == 0 || n > 64 {
        return Err(LoadError::Argument(format!(
            "members {n} out of range 1..=64"
        )));
    }
    let f = (n - 1) / 3;
    let t = args.threshold.unwrap_or(2 * f + 1);
    if args.duration == 0 || args.inflight == 0 || args.bulk == 0 {
        return Err(LoadError::Argument(
            "duration, inflight and bulk must be positive".into(),
        ));
    }
    let stream_member = args.stream_member.unwrap_or(n);
    if !(1..=n).contains(&stream_member) {
        return Err(LoadError::Argument(format!(
            "stream member {stream_member} out of range 1..={n}"
        )));
    }
    if args.rollups == Some(0) || args.rollups.is_some_and(|r| r > 64) {
        return Err(LoadError::Argument("rollups must be in 1..=64".into()));
    }
    let chains: Vec<u64> = (0..u64::from(args.rollups.unwrap_or(1)))
        .map(|k| CHAIN_ID + k)
        .collect();
    let node_bin = committee::find_node_binary(args.node_bin.as_deref())?;
    let ticks = committee::ticks_per_second();
    let say = |m: &str| {
        if !args.quiet {
            eprintln!("{m}");
        }
    };
    say(&format!(
        "starting {n} members (t = {t}) in {}",
        args.dir.display()
    ));
    let mut net = LocalCommittee::start(&CommitteeOptions {
        members: n,
        threshold: t,
        slot_ms: args.slot_ms,
        max_batch: args.max_batch,
        chain_id: CHAIN_ID,
        rollups: args.rollups.map(|_| chains.clone()),
        log: args.log.clone(),
        node_bin,
        dir: args.dir.clone(),
    })?;
    let key = net
        .committee
        .threshold_key()
        .map_err(|e| LoadError::Setup(e.to_string()))?;
    let ek = EncryptionKey::new(key.public_key());
    let count = match args.rate {
        Rate::PerSecond(r) => (r * args.duration as f64).ceil() as usize,
        Rate::Max => args.pool.unwrap_or(1_500 * args.duration as usize),
    };
    say(&format!(
        "encrypting {count} transactions ({} bytes each)",
        args.payload
    ));
    let (pool, enc_time, enc_threads) = prepare(&ek, count, args.payload, &chains)?;
    let encrypt_us_per_tx = enc_time.as_secs_f64() * 1e6 * enc_threads as f64 / count as f64;

    let urls: Vec<String> = net.members.iter().map(|m| m.url.clone()).collect();
    let pids: Vec<u32> = net.members.iter().map(|m| m.pid()).collect();
    let window = Duration::from_secs(args.duration);
    let run = Run {
        start: Instant::now(),
        txs: Mutex::new(vec![TxTimes::default(); count]),
        next: Mutex::new(0),
        limit: count,
        rate: args.rate,
        window,
        bulk: args.bulk,
        stop_sending: AtomicBool::new(false),
        stop_all: AtomicBool::new(false),
        outstanding: AtomicU64::new(0),
        rejected: AtomicU64::new(0),
        failed_requests: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
        invalid: AtomicU64::new(0),
        wrong_plaintext: AtomicU64::new(0),
        queueing_us: AtomicU64::new(0),
        last_error: Mutex::new(None),
    };
    {
        let mut txs = lock(&run.txs);
        for (i, tx) in txs.iter_mut().enumerate() {
            tx.due = run.due(i);
        }
    }
    let cpu_now = |pid: u32| committee::cpu_seconds(pid, ticks).unwrap_or(0.0);
    let cpu_start: Vec<f64> = pids.iter().map(|&p| cpu_now(p)).collect();
    let own_start = cpu_now(std::process::id());
    let load_start = load_average();
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(args.duration)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} s  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut member_cpu: Vec<Vec<f64>> = Vec::new();
    let mut drain_s = 0.0;
    std::thread::scope(|s| {
        let (run, pool, urls) = (&run, &pool, &urls);
        for w in 0..args.inflight {
            s.spawn(move || sender(run, pool, urls, w));
        }
        let stream_url = urls[(stream_member - 1) as usize].clone();
        if args.rollups.is_some() {
            for c in &chains {
                let (url, path) = (stream_url.clone(), format!("/v1/rollups/{c}/stream"));
                s.spawn(move || consumer(run, pool, &url, &path));
            }
        } else {
            s.spawn(move || consumer(run, pool, &stream_url, "/v1/stream"));
        }
        // Sample CPU once per second through the window and the drain.
        let mut last: Vec<f64> = cpu_start.clone();
        let mut second = 0u64;
        loop {
            second += 1;
            let target = Duration::from_secs(second);
            std::thread::sleep(target.saturating_sub(run.now()));
            let now: Vec<f64> = pids.iter().map(|&p| cpu_now(p)).collect();
            member_cpu.push(now.iter().zip(&last).map(|(a, b)| a - b).collect());
            last = now;
            let delivered = run.delivered.load(Ordering::Relaxed);
            let accepted = run.accepted.load(Ordering::Relaxed);
            if second <= args.duration {
                bar.set_position(second);
                bar.set_message(format!(
                    "accepted {accepted}  delivered {delivered}  rejected {}",
                    run.rejected.load(Ordering::Relaxed)
                ));
            } else {
                bar.set_message(format!("draining: {delivered} of {accepted} delivered"));
            }
            if second == args.duration {
                run.stop_sending.store(true, Ordering::Relaxed);
            }
            if second >= args.duration {
                let done = run.outstanding.load(Ordering::SeqCst) == 0
                    && run.delivered.load(Ordering::Relaxed)
                        >= run.accepted.load(Ordering::Relaxed);
                if done || second >= args.duration + args.drain {
                    drain_s = (run.now().as_secs_f64() - args.duration as f64).max(0.0);
                    break;
                }
            }
        }
        run.stop_all.store(true, Ordering::Relaxed);
        run.stop_sending.store(true, Ordering::Relaxed);
    });
    bar.finish_and_clear();
    let cpu_end: Vec<f64> = pids.iter().map(|&p| cpu_now(p)).collect();
    let own = cpu_now(std::process::id()) - own_start;
    let load_end = load_average();
    net.stop();

    let txs = run.txs.into_inner().unwrap_or_else(|p| p.into_inner());
    let delivered = txs.iter().filter(|t| t.delivered.is_some()).count() as u64;
    let delivered_in_window = txs
        .iter()
        .filter(|t| t.delivered.is_some_and(|d| d < window))
        .count() as u64;
    let sent = txs.iter().filter(|t| t.sent.is_some()).count() as u64;
    let per_tx = |cpu: f64| {
        if delivered == 0 {
            0.0
        } else {
            cpu * 1e3 / delivered as f64
        }
    };
    let seconds = args.duration;
    let rows = report::per_second(&txs, seconds, &member_cpu);
    let mut second_half: Vec<u64> = rows[(seconds / 2) as usize..]
        .iter()
        .map(|r| r.delivered)
        .collect();
    second_half.sort_unstable();
    let steady_median = second_half.get(second_half.len() / 2).copied().unwrap_or(0) as f64;
    let summary = Summary {
        rate: args.rate,
        window_s: seconds as f64,
        sent,
        accepted: run.accepted.load(Ordering::Relaxed),
        rejected: run.rejected.load(Ordering::Relaxed),
        delivered,
        delivered_in_window,
        bad: run.invalid.load(Ordering::Relaxed) + run.wrong_plaintext.load(Ordering::Relaxed),
        throughput: delivered_in_window as f64 / seconds as f64,
        steady_median,
        latency: Percentiles::of(txs.iter().filter_map(TxTimes::latency).collect()),
        mean_queueing_ms: if sent == 0 {
            0.0
        } else {
            run.queueing_us.load(Ordering::Relaxed) as f64 / 1e3 / sent as f64
        },
        cpu_ms_per_tx: cpu_end
            .iter()
            .zip(&cpu_start)
            .map(|(e, s)| per_tx(e - s))
            .collect(),
        generator_cpu_ms_per_tx: per_tx(own),
        encrypt_us_per_tx,
        drain_s,
        load_average: (load_start, load_end),
    };
    let text = summary.text(n, t);
    let mut text_full = text.clone();
    if let Some(e) = lock(&run.last_error).as_ref() {
        text_full.push_str(&format!("  last submission error: {e}\n"));
    }
    std::fs::create_dir_all(&args.out)?;
    let stem = args
        .name
        .clone()
        .unwrap_or_else(|| format!("load-rate={}", args.rate));
    // Every second of the window and the drain (at least the window).
    let all_rows = report::per_second(
        &txs,
        (seconds + drain_s.ceil() as u64).max(seconds),
        &member_cpu,
    );
    std::fs::write(
        args.out.join(format!("{stem}.csv")),
        report::csv(&all_rows, n as usize),
    )?;
    let title = format!(
        "Veil end to end: {n} members + sequencer + load on this machine, offered {} tx/s; \
         delivered {:.0} tx/s, p99 {:.0} ms",
        args.rate,
        summary.throughput,
        summary.latency.p99.as_secs_f64() * 1e3
    );
    std::fs::write(
        args.out.join(format!("{stem}.svg")),
        report::svg(&all_rows, &title),
    )?;
    std::fs::write(args.out.join(format!("{stem}.txt")), &text_full)?;
    Ok(summary)
}

/// `--compare-rollups`: the same load with one rollup and with `n`, in the order 1, n, n, 1
/// (so a machine load that drifts during the invocation weighs on both sides alike);
/// returns every run with its rollup count.
pub fn compare_rollups(args: &LoadArgs, n: u32) -> Result<Vec<(u32, Summary)>, LoadError> {
    let stem = args
        .name
        .clone()
        .unwrap_or_else(|| format!("load-rate={}", args.rate));
    let mut out = Vec::new();
    for (k, r) in [1, n, n, 1].into_iter().enumerate() {
        let mut a = args.clone();
        a.rollups = Some(r);
        a.compare_rollups = false;
        a.name = Some(format!("{stem}-rollups={r}-run={}", k + 1));
        out.push((r, run(&a)?));
    }
    Ok(out)
}

/// The comparison lines: each run, then the means of throughput, latency and CPU per
/// transaction per rollup count, with the ratio `n rollups / 1 rollup`.
pub fn comparison_text(runs: &[(u32, Summary)], n: u32) -> String {
    use std::fmt::Write as _;
    let cpu = |s: &Summary| s.cpu_ms_per_tx.iter().sum::<f64>();
    let p50 = |s: &Summary| s.latency.p50.as_secs_f64() * 1e3;
    let mean = |r: u32, f: &dyn Fn(&Summary) -> f64| {
        let v: Vec<f64> = runs
            .iter()
            .filter(|(k, _)| *k == r)
            .map(|(_, s)| f(s))
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    let mut s = format!("rollups 1 vs {n} (runs in the order 1, {n}, {n}, 1):\n");
    for (i, (r, x)) in runs.iter().enumerate() {
        let _ = writeln!(
            s,
            "  run {}: {r} rollup(s): {:.1} tx/s in window, p50 {:.0} ms, CPU {:.2} ms/tx, load {:.1}-{:.1}",
            i + 1,
            x.throughput,
            p50(x),
            cpu(x),
            x.load_average.0,
            x.load_average.1
        );
    }
    let thr = |x: &Summary| x.throughput;
    let (t1, tn) = (mean(1, &thr), mean(n, &thr));
    let (l1, ln) = (mean(1, &p50), mean(n, &p50));
    let (c1, cn) = (mean(1, &cpu), mean(n, &cpu));
    let _ = writeln!(
        s,
        "  mean delivered in window: {t1:.1} vs {tn:.1} tx/s (ratio {:.2})",
        ratio(tn, t1)
    );
    let _ = writeln!(
        s,
        "  mean p50 submit -> plaintext: {l1:.0} vs {ln:.0} ms (ratio {:.2})",
        ratio(ln, l1)
    );
    let _ = writeln!(
        s,
        "  mean CPU per tx, all members: {c1:.2} vs {cn:.2} ms (ratio {:.2})",
        ratio(cn, c1)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse() {
        assert_eq!("max".parse::<Rate>(), Ok(Rate::Max));
        assert_eq!("250".parse::<Rate>(), Ok(Rate::PerSecond(250.0)));
        assert!("0".parse::<Rate>().is_err());
        assert!("-3".parse::<Rate>().is_err());
        assert!("fast".parse::<Rate>().is_err());
        assert_eq!(Rate::PerSecond(300.0).to_string(), "300");
    }
}
