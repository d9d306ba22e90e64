//! `veil-node devnet`: a whole committee on one machine, for newcomers and demos.
//!
//! 1. Runs the key ceremony in-process with `veil-keygen` (every member generates and seals
//!    its identity, deals, verifies the transcript and derives its sealed share; no dealer
//!    ever holds the key), under the passphrase in `VEIL_PASSPHRASE` or, if unset, the
//!    devnet default [`DEVNET_PASSPHRASE`] (insecure by design: devnet keys are throwaway).
//! 2. Writes one `node.json` per member (consecutive free loopback ports) and spawns the
//!    member processes (`veil-node run`), member 1 with the built-in sequencer.
//! 3. Drives a demo load of threshold-encrypted transactions through the bulk API
//!    (round-robin over members) while a consumer follows `GET /v1/stream` on another
//!    member; prints progress every second.
//! 4. Waits for every submitted transaction to come out decrypted, checks that all members
//!    hold the same certificate for the last slot, shows a replay and a malformed
//!    submission being refused, prints throughput, latency and a few decrypted batches, and
//!    stops the members with SIGTERM.
//!
//! The directory is wiped at start only if it holds a previous devnet's marker file.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use serde_json::{Value, json};
use veil_keygen::dkg::{self, CeremonyParams, Transcript};
use veil_keygen::files;
use veil_keygen::seal::SealParams;
use veil_protocol::{CommitteeConfig, TxEnvelope};
use veil_threshold::{EncryptionKey, Label, PublicKey, SlotRange};

use crate::config::{NodeConfig, PASSPHRASE_ENV, PeerConfig, SequencerMode};

/// The devnet's default passphrase when `VEIL_PASSPHRASE` is unset. Devnet keys are
/// throwaway; never use this for a real committee.
pub const DEVNET_PASSPHRASE: &str = "veil-devnet-insecure-passphrase";

const MARKER: &str = "devnet.marker";

/// Arguments of `veil-node devnet`.
#[derive(clap::Args)]
pub struct DevnetArgs {
    /// Committee size.
    #[arg(long, default_value_t = 4)]
    pub members: u32,
    /// Demo load, transactions per second.
    #[arg(long, default_value_t = 200)]
    pub tx_rate: u64,
    /// Seconds of load.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Working directory (keys, configs, databases, logs).
    #[arg(long, default_value = ".veil-devnet")]
    pub dir: PathBuf,
    /// Slot length of the built-in sequencer (ms).
    #[arg(long, default_value_t = 200)]
    pub slot_ms: u64,
    /// Largest batch.
    #[arg(long, default_value_t = 512)]
    pub max_batch: usize,
    /// Service domain / chain id of the demo.
    #[arg(long, default_value_t = 7)]
    pub chain_id: u64,
}

/// Member processes, stopped on drop (SIGTERM, then kill).
struct Members(Vec<Child>);

impl Members {
    fn stop(&mut self) {
        for c in &mut self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for c in &mut self.0 {
            loop {
                match c.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    _ => {
                        let _ = c.kill();
                        let _ = c.wait();
                        break;
                    }
                }
            }
        }
        self.0.clear();
    }
}

impl Drop for Members {
    fn drop(&mut self) {
        self.stop();
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Runs the ceremony; returns the committee.
pub(crate) fn ceremony(
    dir: &Path,
    n: u32,
    t: u32,
    passphrase: &[u8],
) -> Result<veil_keygen::Committee, String> {
    let seal = SealParams::default();
    let mut rng = OsRng;
    let mut secrets = Vec::new();
    let mut publics = Vec::new();
    for i in 1..=n {
        let d = dir.join(format!("member-{i}"));
        std::fs::create_dir_all(&d).map_err(err)?;
        let public = files::init_identity(&d, &format!("member-{i}"), passphrase, seal, &mut rng)
            .map_err(err)?;
        secrets.push(files::load_identity(&d, passphrase).map_err(err)?);
        publics.push(public);
    }
    let params = CeremonyParams::fresh(0, t, n, publics).map_err(err)?;
    let dealings = (1..=n)
        .map(|i| dkg::deal(&params, i, &secrets[(i - 1) as usize], None, &mut rng))
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let transcript = Transcript {
        params,
        dealings,
        complaints: Vec::new(),
    };
    let mut committee = None;
    for i in 1..=n {
        let d = dir.join(format!("member-{i}"));
        let f = files::finish(
            &transcript,
            &secrets[(i - 1) as usize],
            &d,
            passphrase,
            seal,
            &mut rng,
        )
        .map_err(err)?;
        committee = Some(f.committee);
    }
    let committee = committee.ok_or("empty committee")?;
    std::fs::write(dir.join("committee.json"), committee.to_json()).map_err(err)?;
    Ok(committee)
}

fn free_ports(n: u32) -> Result<Vec<u16>, String> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()).map_err(err))
        .collect()
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_millis(500))
        .timeout(Duration::from_secs(30))
        .build()
}

fn get_json(agent: &ureq::Agent, url: &str) -> Result<Value, String> {
    let r = agent.get(url).call().map_err(err)?;
    serde_json::from_reader(r.into_reader().take(64 << 20)).map_err(err)
}

/// An id and its plaintext (`None`: invalid).
type DeliveredItem = (String, Option<String>);

/// What the consumer saw: per id, its delivery time and plaintext.
#[derive(Default)]
struct Delivered {
    at: HashMap<String, Instant>,
    batches: Vec<(u64, Vec<DeliveredItem>)>,
    invalid: u64,
}

fn consume(url: String, delivered: Arc<Mutex<Delivered>>, stop: Arc<AtomicBool>) {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_millis(500))
        .timeout_read(Duration::from_secs(2))
        .build();
    let mut next = 1u64;
    while !stop.load(Ordering::Relaxed) {
        let Ok(resp) = agent.get(&format!("{url}/v1/stream?from={next}")).call() else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        let reader = BufReader::new(resp.into_reader());
        for line in reader.lines() {
            // A read timeout (no batch for 2 s) reconnects from the cursor.
            let Ok(line) = line else { break };
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Value>(data.trim()) else {
                continue;
            };
            let slot = v["slot"].as_u64().unwrap_or(0);
            let now = Instant::now();
            let mut d = delivered.lock().unwrap_or_else(|p| p.into_inner());
            let mut items = Vec::new();
            for it in v["items"].as_array().into_iter().flatten() {
                let id = it["id"].as_str().unwrap_or_default().to_owned();
                let text = it["plaintext"]
                    .as_str()
                    .and_then(|h| hex::decode(h).ok())
                    .map(|b| String::from_utf8_lossy(&b).into_owned());
                if text.is_none() {
                    d.invalid += 1;
                }
                d.at.entry(id.clone()).or_insert(now);
                items.push((id, text));
            }
            d.batches.push((slot, items));
            next = slot + 1;
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the devnet.
pub fn run(a: DevnetArgs) -> Result<(), String> {
    let n = a.members;
    if !(1..=64).contains(&n) {
        return Err(format!("--members {n} outside 1..=64"));
    }
    let passphrase = std::env::var(PASSPHRASE_ENV).unwrap_or_else(|_| DEVNET_PASSPHRASE.to_owned());
    if a.dir.exists() {
        if !a.dir.join(MARKER).exists() && a.dir.read_dir().map_err(err)?.next().is_some() {
            return Err(format!(
                "{} exists and is not a devnet directory; choose another --dir",
                a.dir.display()
            ));
        }
        std::fs::remove_dir_all(&a.dir).map_err(err)?;
    }
    std::fs::create_dir_all(&a.dir).map_err(err)?;
    std::fs::write(a.dir.join(MARKER), "veil devnet\n").map_err(err)?;
    let dir = a.dir.canonicalize().map_err(err)?;
    let cc = CommitteeConfig::for_members(n);
    let started = Instant::now();
    println!(
        "devnet: key ceremony for {n} members (threshold t = {}, quorum {}) in {}",
        cc.t,
        cc.quorum,
        dir.display()
    );
    let committee = ceremony(&dir, n, cc.t, passphrase.as_bytes())?;
    println!(
        "devnet: ceremony done in {:.1}s, committee key {}",
        started.elapsed().as_secs_f64(),
        &hex::encode(veil_circuits_g1(&committee))[..16]
    );
    let ports = free_ports(n)?;
    let urls: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let bls = committee.bls_keys().map_err(err)?;
    let peers: Vec<PeerConfig> = (1..=n)
        .map(|i| PeerConfig {
            member: i,
            url: urls[(i - 1) as usize].clone(),
        })
        .collect();
    let exe = std::env::current_exe().map_err(err)?;
    let mut members = Members(Vec::new());
    for i in 1..=n {
        let d = dir.join(format!("member-{i}"));
        let cfg = NodeConfig {
            member: i,
            listen: format!("127.0.0.1:{}", ports[(i - 1) as usize])
                .parse()
                .map_err(err)?,
            peers: peers.clone(),
            committee: "../committee.json".into(),
            identity_dir: ".".into(),
            share: "share-epoch-0.sealed".into(),
            db: "node.redb".into(),
            chain_id: a.chain_id,
            label_chain_ids: vec![a.chain_id],
            f: None,
            quorum: None,
            sequencer: if i == 1 {
                SequencerMode::Builtin
            } else {
                SequencerMode::None
            },
            sequencer_keys: vec![hex::encode(bls[0].to_bytes())],
            slot_ms: a.slot_ms,
            max_batch: a.max_batch,
            delay_params: None,
            solver: Default::default(),
            forward: None,
            rollups: vec![],
        };
        let path = d.join("node.json");
        std::fs::write(&path, serde_json::to_string_pretty(&cfg).map_err(err)?).map_err(err)?;
        let log = std::fs::File::create(d.join("node.log")).map_err(err)?;
        let child = Command::new(&exe)
            .args(["run", "--config"])
            .arg(&path)
            .env(PASSPHRASE_ENV, &passphrase)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or("info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(err)?)
            .stderr(log)
            .spawn()
            .map_err(err)?;
        members.0.push(child);
    }
    let http = agent();
    let deadline = Instant::now() + Duration::from_secs(60);
    for u in &urls {
        loop {
            if get_json(&http, &format!("{u}/healthz")).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{u} did not come up; see {}/member-*/node.log",
                    dir.display()
                ));
            }
            for c in &mut members.0 {
                if let Ok(Some(s)) = c.try_wait() {
                    return Err(format!(
                        "a member exited at start-up ({s}); see {}/member-*/node.log",
                        dir.display()
                    ));
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    println!("devnet: {n} members up on {}", urls.join(", "));

    // The consumer follows the stream of the last member (not the sequencer's).
    let delivered = Arc::new(Mutex::new(Delivered::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let consumer = {
        let (url, d, s) = (
            urls[urls.len() - 1].clone(),
            delivered.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || consume(url, d, s))
    };

    // Load generator.
    let pk = PublicKey::from_point(committee.public_key).map_err(err)?;
    let ek = EncryptionKey::new(&pk);
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let submitted = Arc::new(AtomicU64::new(0));
    let load_stop = Arc::new(AtomicBool::new(false));
    let (sample_tx, sample_envelope) = std::sync::mpsc::channel::<Vec<u8>>();
    let generator = {
        let (sent, submitted, load_stop, urls) = (
            sent.clone(),
            submitted.clone(),
            load_stop.clone(),
            urls.clone(),
        );
        let (rate, chain_id) = (a.tx_rate.max(1), a.chain_id);
        let tx = sample_tx;
        std::thread::spawn(move || -> Result<(), String> {
            let http = agent();
            let tick = Duration::from_millis(100);
            let mut seq = 0u64;
            let mut credit = 0.0f64;
            let mut next = Instant::now();
            let mut rng = OsRng;
            let mut first = true;
            let mut posts = Vec::new();
            while !load_stop.load(Ordering::Relaxed) {
                credit += rate as f64 / 10.0;
                let k = credit as u64;
                credit -= k as f64;
                let mut body = Vec::new();
                let mut ids = Vec::new();
                for _ in 0..k {
                    seq += 1;
                    let mut sender = [0u8; 32];
                    rng.fill_bytes(&mut sender);
                    let label = Label::new(
                        chain_id,
                        sender,
                        SlotRange::new(0, u64::MAX).map_err(err)?,
                        rng.gen_range(1..1000u128),
                        Vec::new(),
                    )
                    .map_err(err)?;
                    let text = format!(
                        "tx #{seq}: wallet {} pays {} wei to 0x{}",
                        hex::encode(&sender[..4]),
                        rng.gen_range(1..1_000_000u64),
                        hex::encode(&sender[4..12])
                    );
                    let ct = ek.encrypt(&mut rng, &label, text.as_bytes()).map_err(err)?;
                    let env = TxEnvelope::Threshold(ct);
                    let bytes = env.to_bytes();
                    if first {
                        let _ = tx.send(bytes.clone());
                        first = false;
                    }
                    ids.push(env.id().to_hex());
                    body.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                    body.extend_from_slice(&bytes);
                }
                if !ids.is_empty() {
                    let url = &urls[(seq as usize / k.max(1) as usize) % urls.len()];
                    let now = Instant::now();
                    {
                        let mut s = sent.lock().unwrap_or_else(|p| p.into_inner());
                        for id in &ids {
                            s.insert(id.clone(), now);
                        }
                    }
                    // Posted off the generator's thread so a slow reply does not lower the
                    // offered rate.
                    let (http, url, sent, submitted) =
                        (http.clone(), url.clone(), sent.clone(), submitted.clone());
                    posts.push(std::thread::spawn(move || {
                        match http
                            .post(&format!("{url}/v1/transactions/bulk"))
                            .set("content-type", "application/octet-stream")
                            .send_bytes(&body)
                        {
                            Ok(_) => {
                                submitted.fetch_add(ids.len() as u64, Ordering::Relaxed);
                            }
                            Err(e) => {
                                let mut s = sent.lock().unwrap_or_else(|p| p.into_inner());
                                for id in &ids {
                                    s.remove(id);
                                }
                                eprintln!("devnet: submission to {url} failed: {e}");
                            }
                        }
                    }));
                }
                next += tick;
                if let Some(d) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(d);
                }
                posts.retain(|p: &std::thread::JoinHandle<()>| !p.is_finished());
            }
            for p in posts {
                let _ = p.join();
            }
            Ok(())
        })
    };

    let load_start = Instant::now();
    let status = |http: &ureq::Agent| -> (u64, usize) {
        let slot = get_json(http, &format!("{}/healthz", urls[0]))
            .ok()
            .and_then(|v| v["last_certified_slot"].as_u64())
            .unwrap_or(0);
        let d = delivered.lock().unwrap_or_else(|p| p.into_inner()).at.len();
        (slot, d)
    };
    while load_start.elapsed() < Duration::from_secs(a.duration) {
        std::thread::sleep(Duration::from_secs(1));
        let (slot, d) = status(&http);
        println!(
            "devnet: t={:>3}s submitted={:>6} certified_slot={:>4} delivered={:>6}",
            load_start.elapsed().as_secs(),
            submitted.load(Ordering::Relaxed),
            slot,
            d
        );
    }
    load_stop.store(true, Ordering::Relaxed);
    let gen_result = generator.join().map_err(|_| "load generator panicked")?;
    gen_result?;
    let total = submitted.load(Ordering::Relaxed);
    let drain = Instant::now();
    loop {
        let (slot, d) = status(&http);
        if d as u64 >= total {
            break;
        }
        if drain.elapsed() > Duration::from_secs(30) {
            println!("devnet: gave up waiting: {d} of {total} delivered (certified slot {slot})");
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let wall = load_start.elapsed();
    stop.store(true, Ordering::Relaxed);

    // Bad input is refused: a replay and a malformed envelope.
    if let Ok(env) = sample_envelope.try_recv() {
        for (what, body) in [
            (
                "replayed envelope",
                json!({ "envelope": hex::encode(&env) }),
            ),
            ("malformed envelope", json!({ "envelope": "01ff00" })),
        ] {
            match http
                .post(&format!("{}/v1/transactions", urls[0]))
                .set("content-type", "application/json")
                .send_string(&body.to_string())
            {
                Err(ureq::Error::Status(code, r)) => {
                    let v: Value =
                        serde_json::from_reader(r.into_reader().take(1 << 20)).unwrap_or_default();
                    println!("devnet: {what} refused: {code} {v}");
                }
                other => println!("devnet: {what}: unexpected {:?}", other.map(|r| r.status())),
            }
        }
    }

    // Every member holds the same certificate for the last slot.
    let last = get_json(&http, &format!("{}/healthz", urls[0]))
        .ok()
        .and_then(|v| v["last_certified_slot"].as_u64())
        .unwrap_or(0);
    let mut consistent = last > 0;
    let mut commitments = Vec::new();
    for u in &urls {
        let c = get_json(&http, &format!("{u}/v1/certificates/{last}"))
            .ok()
            .and_then(|v| v["commitment"].as_str().map(str::to_owned));
        consistent &= c.is_some() && (commitments.is_empty() || commitments[0] == c);
        commitments.push(c);
    }
    let d = delivered.lock().unwrap_or_else(|p| p.into_inner());
    let sent = sent.lock().unwrap_or_else(|p| p.into_inner());
    let mut lat: Vec<Duration> = sent
        .iter()
        .filter_map(|(id, t)| d.at.get(id).map(|at| at.saturating_duration_since(*t)))
        .collect();
    lat.sort();
    let delivered_n = lat.len();
    println!(
        "devnet: {} certified slots; every member holds certificate {} for slot {last}: {}",
        last,
        commitments
            .first()
            .cloned()
            .flatten()
            .map(|c| c[..16].to_owned())
            .unwrap_or_default(),
        if consistent { "yes" } else { "NO" }
    );
    println!(
        "devnet: {delivered_n} of {total} transactions delivered decrypted in slot order ({} invalid); {:.0} tx/s over {:.1}s",
        d.invalid,
        delivered_n as f64 / wall.as_secs_f64(),
        wall.as_secs_f64()
    );
    println!(
        "devnet: submit -> plaintext latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    for (slot, items) in d.batches.iter().filter(|(_, i)| !i.is_empty()).take(3) {
        println!(
            "devnet: batch slot {slot}: {} items, first ones:",
            items.len()
        );
        for (id, text) in items.iter().take(3) {
            println!(
                "devnet:   {}…  {}",
                &id[..12],
                text.as_deref().unwrap_or("<invalid>")
            );
        }
    }
    let ok = consistent && delivered_n as u64 == total && total > 0;
    drop(d);
    drop(sent);
    members.stop();
    let _ = consumer.join();
    println!(
        "devnet: members stopped; logs and databases in {}",
        dir.display()
    );
    if ok {
        Ok(())
    } else {
        Err("devnet did not deliver every transaction consistently".into())
    }
}

fn veil_circuits_g1(c: &veil_keygen::Committee) -> [u8; 48] {
    PublicKey::from_point(c.public_key)
        .map(|p| p.to_bytes())
        .unwrap_or([0; 48])
}
