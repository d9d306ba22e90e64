//! The `veil` command: encrypt, submit, status and watch Veil transactions from a terminal
//! or a script.
//!
//! ```text
//! veil --committee committee.json encrypt --payload 0xdeadbeef --out tx.json
//! veil --committee committee.json --node http://127.0.0.1:7101 submit tx.json
//! veil --committee committee.json status tx.json
//! veil --committee committee.json watch tx.json --reveal
//! veil --committee committee.json --label-chain-id 31337 --label-chain-id 31338 \
//!      bundle --leg 31337:0xdead --leg 31338:0xbeef --submit
//! veil --committee committee.json sub-batch --rollup 31338 --slot 4
//! ```
//!
//! `bundle` encrypts raw payloads (threshold mode) as one atomic bundle and, with
//! `--submit`, submits it (`POST /v1/bundles`, all legs or none); atomic inclusion, not
//! atomic execution. `sub-batch` fetches one rollup's part of a slot and verifies it is the
//! complete certified sub-batch (`veil_client::rollup`).
//!
//! `encrypt` writes a *wallet record* (JSON, file mode 0600): the envelope, its id, and what
//! the wallet keeps to check the outcome — the plaintext and, in delay and dual modes, the
//! puzzle reveal (secret until the transaction is certified). `status` and `watch` accept a
//! record or a bare id; with a record they also check that the transaction opened to the
//! plaintext that was encrypted. Every node answer is checked against the committee
//! (`veil_client::verify`). `--json` prints one JSON object per command for scripts.
//!
//! The CLI is its own crate so the wallet library (`veil-client`) does not carry clap and
//! indicatif.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use veil_client::eth::{self, Transfer};
use veil_client::{
    BlockingClient, ChainPolicy, ClientError, ClientOptions, Encryptor, Finality, Mode, Trust,
    TrustedCommittee, TxStatus,
};
use veil_protocol::{Outcome, TxId};
use veil_threshold::{Label, SlotRange};
use zeroize::Zeroizing;

/// Format tag of a wallet record.
const RECORD_FORMAT: &str = "veil-tx";

#[derive(Parser)]
#[command(
    name = "veil",
    version,
    about = "Encrypt, submit and follow Veil transactions"
)]
struct Cli {
    /// Base URL of a committee member's API.
    #[arg(
        long,
        global = true,
        env = "VEIL_NODE",
        default_value = "http://127.0.0.1:7101"
    )]
    node: String,
    /// The committee's `committee.json` (verified on load).
    #[arg(long, global = true, env = "VEIL_COMMITTEE")]
    committee: Option<PathBuf>,
    /// Pin the ceremony's transcript hash (hex); without it the committee file is trusted on
    /// first use.
    #[arg(long, global = true)]
    transcript_hash: Option<String>,
    /// The service domain (the `chain_id` of the service's batches).
    #[arg(long, global = true, default_value_t = 31_337)]
    chain_id: u64,
    /// Chain ids accepted in labels (repeatable; default: the service domain).
    #[arg(long = "label-chain-id", global = true)]
    label_chain_ids: Vec<u64>,
    /// Machine-readable output: one JSON object.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Encrypt a payload or a signed EIP-1559 transfer into a wallet record.
    Encrypt(Box<EncryptArgs>),
    /// Submit a wallet record's envelope (or a raw envelope) and check the receipt.
    Submit {
        /// A wallet record written by `veil encrypt`.
        record: Option<PathBuf>,
        /// A hex envelope instead of a record.
        #[arg(long, conflicts_with = "record")]
        envelope: Option<String>,
    },
    /// Where a transaction stands; its checked final position once opened.
    Status {
        /// A wallet record or a transaction id (hex).
        target: String,
    },
    /// Encrypt raw payloads as one atomic bundle (threshold mode) and optionally submit it.
    Bundle {
        /// A leg: `CHAIN_ID:HEX_PAYLOAD` (repeat, in bundle order; 2 to 16 legs).
        #[arg(long = "leg", required = true)]
        legs: Vec<String>,
        /// Label max fee of every leg.
        #[arg(long, default_value_t = 0)]
        max_fee: u128,
        /// Submit the bundle to `--node`.
        #[arg(long)]
        submit: bool,
        /// Where to write the bundle (envelopes and ids, JSON).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Fetch one rollup's sub-batch of a slot and verify it is complete and certified.
    SubBatch {
        /// The rollup's chain id.
        #[arg(long)]
        rollup: u64,
        /// The slot.
        #[arg(long)]
        slot: u64,
    },
    /// Follow a transaction until its batch is opened, with a progress bar.
    Watch {
        /// A wallet record or a transaction id (hex).
        target: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
        /// Delay and dual modes: publish the puzzle reveal once the transaction is ordered.
        #[arg(long)]
        reveal: bool,
        /// Solver speed assumed for the "puzzle would open" estimate, in ns per squaring.
        #[arg(long, default_value_t = 400)]
        ns_per_squaring: u64,
    },
}

#[derive(clap::Args)]
struct EncryptArgs {
    /// threshold, delay or dual.
    #[arg(long, default_value = "threshold")]
    mode: Mode,
    /// Raw payload (hex) to encrypt.
    #[arg(long, conflicts_with = "eth_key")]
    payload: Option<String>,
    /// Label sender for a raw payload (32 bytes hex; default zeros).
    #[arg(long)]
    sender: Option<String>,
    /// Label max fee for a raw payload.
    #[arg(long, default_value_t = 0)]
    max_fee: u128,
    /// Label chain id for a raw payload (default: the service domain).
    #[arg(long)]
    label_chain: Option<u64>,
    /// Sign an EIP-1559 transfer with this private key (hex) and encrypt it.
    #[arg(long, env = "VEIL_ETH_KEY", hide_env_values = true)]
    eth_key: Option<String>,
    /// Transfer recipient (0x address).
    #[arg(long, requires = "eth_key")]
    to: Option<String>,
    /// Transfer amount in wei.
    #[arg(long, default_value = "0")]
    value: String,
    /// Sender nonce.
    #[arg(long, default_value_t = 0)]
    nonce: u64,
    /// Most paid per gas, in wei.
    #[arg(long, default_value_t = 2_000_000_000)]
    max_fee_per_gas: u128,
    /// The transaction's chain id (default: the first accepted label chain).
    #[arg(long)]
    tx_chain_id: Option<u64>,
    /// First slot the ciphertext may be ordered in.
    #[arg(long, default_value_t = 0)]
    first_slot: u64,
    /// Last slot the ciphertext may be ordered in.
    #[arg(long, default_value_t = u64::MAX)]
    last_slot: u64,
    /// Delay parameters (JSON); default: fetched from the node and verified.
    #[arg(long)]
    delay_params: Option<PathBuf>,
    /// Where to write the wallet record.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// A failure, printed once.
struct Failure(String);

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Failure(e.to_string())
    }
}

fn fail(msg: impl Into<String>) -> Failure {
    Failure(msg.into())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(out) => {
            if cli.json {
                println!("{out}");
            }
            ExitCode::SUCCESS
        }
        Err(Failure(msg)) => {
            if cli.json {
                println!("{}", json!({ "error": msg }));
            } else {
                eprintln!("error: {msg}");
            }
            ExitCode::FAILURE
        }
    }
}

fn policy(cli: &Cli) -> ChainPolicy {
    ChainPolicy {
        service_chain_id: cli.chain_id,
        label_chain_ids: cli.label_chain_ids.clone(),
    }
}

fn committee(cli: &Cli) -> Result<TrustedCommittee, Failure> {
    let path = cli
        .committee
        .as_ref()
        .ok_or_else(|| fail("--committee FILE is required (or VEIL_COMMITTEE)"))?;
    let json = std::fs::read(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let transcript_hash = match &cli.transcript_hash {
        Some(h) => Some(
            hex::decode(h.trim_start_matches("0x"))
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| fail("--transcript-hash must be 32 bytes of hex"))?,
        ),
        None => {
            if !cli.json {
                eprintln!("note: committee trusted on first use (pin it with --transcript-hash)");
            }
            None
        }
    };
    Ok(TrustedCommittee::load(
        &json,
        &Trust {
            transcript_hash,
            ..Trust::default()
        },
    )?)
}

fn client(cli: &Cli, committee: TrustedCommittee) -> Result<BlockingClient, Failure> {
    Ok(BlockingClient::new(
        &cli.node,
        committee,
        policy(cli),
        ClientOptions::default(),
    )?)
}

fn unhex(s: &str, what: &str) -> Result<Vec<u8>, Failure> {
    hex::decode(s.trim().trim_start_matches("0x")).map_err(|_| fail(format!("{what} is not hex")))
}

fn run(cli: &Cli) -> Result<Value, Failure> {
    match &cli.command {
        Command::Encrypt(args) => encrypt(cli, args),
        Command::Submit { record, envelope } => submit(cli, record.as_deref(), envelope.as_deref()),
        Command::Status { target } => status(cli, target),
        Command::Bundle {
            legs,
            max_fee,
            submit,
            out,
        } => bundle(cli, legs, *max_fee, *submit, out.as_deref()),
        Command::SubBatch { rollup, slot } => sub_batch(cli, *rollup, *slot),
        Command::Watch {
            target,
            timeout,
            reveal,
            ns_per_squaring,
        } => watch(cli, target, *timeout, *reveal, *ns_per_squaring),
    }
}

fn encrypt(cli: &Cli, a: &EncryptArgs) -> Result<Value, Failure> {
    let committee = committee(cli)?;
    let policy = policy(cli);
    let delay_params = if a.mode == Mode::Threshold {
        None
    } else if let Some(path) = &a.delay_params {
        let text =
            std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
        Some(veil_client::load_delay_params(&text, None)?)
    } else {
        let c = client(cli, committee.clone())?;
        Some(
            c.delay_params(None)?
                .ok_or_else(|| fail("the node has delay mode off"))?,
        )
    };
    let encryptor = Encryptor::new(committee, delay_params, policy.clone());
    let slots =
        SlotRange::new(a.first_slot, a.last_slot).map_err(|e| fail(format!("slots: {e}")))?;
    let mut rng = rand_core::OsRng;
    let tx = if let Some(key) = &a.eth_key {
        let signer = eth::signer_from_hex(key)?;
        let to: Address =
            a.to.as_deref()
                .ok_or_else(|| fail("--to is required with --eth-key"))?
                .parse()
                .map_err(|_| fail("--to is not an address"))?;
        let value: U256 = a
            .value
            .parse()
            .map_err(|_| fail("--value is not a number"))?;
        let chain = a.tx_chain_id.unwrap_or(policy.accepted()[0]);
        let transfer = Transfer::new(chain, a.nonce, to, value, a.max_fee_per_gas);
        let signed = eth::sign_transfer(&signer, &transfer)?;
        encryptor.encrypt_eth(a.mode, &signed, slots, &mut rng)?
    } else {
        let payload = Zeroizing::new(unhex(
            a.payload
                .as_deref()
                .ok_or_else(|| fail("give --payload HEX or --eth-key"))?,
            "--payload",
        )?);
        let mut sender = [0u8; 32];
        if let Some(s) = &a.sender {
            let b = unhex(s, "--sender")?;
            if b.len() > 32 {
                return Err(fail("--sender is longer than 32 bytes"));
            }
            sender[32 - b.len()..].copy_from_slice(&b);
        }
        let label = Label::new(
            a.label_chain.unwrap_or(cli.chain_id),
            sender,
            slots,
            a.max_fee,
            Vec::new(),
        )
        .map_err(|e| fail(format!("label: {e}")))?;
        encryptor.encrypt(a.mode, label, &payload, &mut rng)?
    };
    let record = json!({
        "format": RECORD_FORMAT,
        "version": 1,
        "mode": tx.mode().name(),
        "id": tx.id().to_hex(),
        "chain_id": tx.label().chain_id,
        "envelope": hex::encode(tx.encoding()),
        "plaintext": hex::encode(tx.plaintext()),
        "reveal": tx.reveal_bytes().map(|r| hex::encode(r.as_slice())),
    });
    if let Some(out) = &a.out {
        write_private(out, record.to_string().as_bytes())?;
    }
    let summary = json!({
        "id": tx.id().to_hex(),
        "mode": tx.mode().name(),
        "chain_id": tx.label().chain_id,
        "bytes": tx.encoding().len(),
        "record": a.out.as_ref().map(|p| p.display().to_string()),
        "envelope": if a.out.is_none() { Some(hex::encode(tx.encoding())) } else { None },
    });
    if !cli.json {
        println!(
            "encrypted {} bytes in {} mode for chain {}",
            tx.plaintext().len(),
            tx.mode().name(),
            tx.label().chain_id
        );
        println!("id       {}", tx.id());
        match &a.out {
            Some(p) => println!(
                "record   {} (keep it private until the tx is final)",
                p.display()
            ),
            None => println!("envelope {}", hex::encode(tx.encoding())),
        }
    }
    Ok(summary)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| fail(format!("{}: {e}", path.display())))?;
    f.write_all(bytes)
        .map_err(|e| fail(format!("{}: {e}", path.display())))
}

/// A wallet record, or just an id.
struct Target {
    id: TxId,
    mode: Option<Mode>,
    envelope: Option<Vec<u8>>,
    plaintext: Option<Zeroizing<Vec<u8>>>,
    reveal: Option<Zeroizing<Vec<u8>>>,
}

fn load_record(path: &Path) -> Result<Target, Failure> {
    let text = std::fs::read(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    let v: Value = serde_json::from_slice(&text)
        .map_err(|_| fail(format!("{}: not a wallet record", path.display())))?;
    if v["format"] != RECORD_FORMAT || v["version"] != 1 {
        return Err(fail(format!("{}: not a veil-tx record", path.display())));
    }
    let envelope = unhex(v["envelope"].as_str().unwrap_or(""), "record envelope")?;
    let id = veil_protocol::envelope::id_of(&envelope);
    if v["id"].as_str() != Some(id.to_hex().as_str()) {
        return Err(fail("record id does not match its envelope"));
    }
    let field = |name: &str| -> Result<Option<Zeroizing<Vec<u8>>>, Failure> {
        v[name]
            .as_str()
            .map(|s| unhex(s, name).map(Zeroizing::new))
            .transpose()
    };
    Ok(Target {
        id,
        mode: v["mode"].as_str().and_then(|m| m.parse().ok()),
        envelope: Some(envelope),
        plaintext: field("plaintext")?,
        reveal: field("reveal")?,
    })
}

fn target(s: &str) -> Result<Target, Failure> {
    let p = Path::new(s);
    if p.is_file() {
        return load_record(p);
    }
    let id = TxId::from_hex(s.trim_start_matches("0x"))
        .map_err(|_| fail(format!("{s}: neither a record file nor a transaction id")))?;
    Ok(Target {
        id,
        mode: None,
        envelope: None,
        plaintext: None,
        reveal: None,
    })
}

fn submit(cli: &Cli, record: Option<&Path>, envelope: Option<&str>) -> Result<Value, Failure> {
    let bytes = match (record, envelope) {
        (Some(p), _) => load_record(p)?
            .envelope
            .ok_or_else(|| fail("record without envelope"))?,
        (None, Some(h)) => unhex(h, "--envelope")?,
        (None, None) => return Err(fail("give a record file or --envelope HEX")),
    };
    let c = client(cli, committee(cli)?)?;
    let sub = c.submit_envelope(&bytes)?;
    if !cli.json {
        println!("submitted {}", sub.id);
        println!(
            "receipt  member {} (signature verified against the committee)",
            sub.receipt.member
        );
    }
    Ok(json!({ "id": sub.id.to_hex(), "receipt": sub.receipt, "receipt_verified": true }))
}

fn finality_json(f: &Finality) -> Value {
    let (status, plaintext) = match &f.outcome {
        Outcome::Decrypted(p) => ("decrypted", Some(hex::encode(p))),
        Outcome::Invalid => ("invalid", None),
    };
    json!({
        "id": f.id.to_hex(),
        "status": status,
        "slot": f.slot,
        "index": f.index,
        "batch_len": f.batch_len,
        "plaintext": plaintext,
        "certificate_signers": f.certificate.signers().signers().map(|i| i + 1).collect::<Vec<_>>(),
        "verified": true,
    })
}

fn print_finality(f: &Finality, checked_plaintext: bool) {
    let signers: Vec<String> = f
        .certificate
        .signers()
        .signers()
        .map(|i| (i + 1).to_string())
        .collect();
    match &f.outcome {
        Outcome::Decrypted(p) => println!(
            "decrypted: slot {}, position {} of {} ({} bytes{})",
            f.slot,
            f.index,
            f.batch_len,
            p.len(),
            if checked_plaintext {
                ", equal to what was encrypted"
            } else {
                ""
            }
        ),
        Outcome::Invalid => println!(
            "invalid: slot {}, position {} of {} (failed to decrypt; keeps its position)",
            f.slot, f.index, f.batch_len
        ),
    }
    println!(
        "certificate: signed by members {} (verified at quorum)",
        signers.join(", ")
    );
}

fn status_json(id: &TxId, s: &TxStatus) -> Value {
    match s.position() {
        Some((slot, index)) => {
            json!({ "id": id.to_hex(), "status": s.name(), "slot": slot, "index": index })
        }
        None => json!({ "id": id.to_hex(), "status": s.name() }),
    }
}

fn status(cli: &Cli, t: &str) -> Result<Value, Failure> {
    let t = target(t)?;
    let c = client(cli, committee(cli)?)?;
    let expected = t.plaintext.as_ref().map(|p| p.as_slice());
    match c.finality(&t.id, expected)? {
        Ok(f) => {
            if !cli.json {
                print_finality(&f, expected.is_some());
            }
            Ok(finality_json(&f))
        }
        Err(s) => {
            if let TxStatus::Ordered { slot, .. } = s {
                // Check the certificate now, so "ordered" is a verified claim.
                c.certificate(slot)?.ok_or_else(|| {
                    fail(format!(
                        "status says ordered in slot {slot}, but the node has no certificate"
                    ))
                })?;
            }
            if !cli.json {
                match s.position() {
                    Some((slot, index)) => println!(
                        "{}: slot {slot}, position {index} (certificate verified)",
                        s.name()
                    ),
                    None => println!("{}: stored, not yet ordered", s.name()),
                }
            }
            Ok(status_json(&t.id, &s))
        }
    }
}

fn watch(
    cli: &Cli,
    t: &str,
    timeout: u64,
    reveal: bool,
    ns_per_squaring: u64,
) -> Result<Value, Failure> {
    let t = target(t)?;
    let c = client(cli, committee(cli)?)?;
    let delay = matches!(t.mode, Some(Mode::Delay | Mode::Dual));
    // For delay and dual transactions: how long the puzzle would take to solve at the
    // assumed speed (the bar shows that window; the tx may open sooner by reveal or shares).
    let estimate = if delay {
        c.delay_params(None)?
            .map(|p| Duration::from_nanos(p.squarings().saturating_mul(ns_per_squaring)))
    } else {
        None
    };
    let bar = if cli.json {
        ProgressBar::hidden()
    } else if let Some(est) = estimate {
        let b = ProgressBar::new(est.as_millis().max(1) as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} puzzle {bar:30} {percent:>3}% of ~{len}ms  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b
    };
    let start = Instant::now();
    let expected = t.plaintext.as_ref().map(|p| p.as_slice());
    let mut revealed = false;
    let result = loop {
        bar.set_position(start.elapsed().as_millis() as u64);
        bar.tick();
        match c.finality(&t.id, expected) {
            Ok(Ok(f)) => break Ok(f),
            Ok(Err(s)) => {
                bar.set_message(match s.position() {
                    Some((slot, index)) => format!("{} in slot {slot} at {index}", s.name()),
                    None => s.name().to_owned(),
                });
                if reveal
                    && !revealed
                    && let (TxStatus::Ordered { slot, .. }, Some(r)) = (s, &t.reveal)
                    && c.certificate(slot)?.is_some()
                {
                    c.reveal(&t.id, r)?;
                    revealed = true;
                    bar.println("reveal published (after the certificate)");
                }
            }
            Err(e) => break Err(Failure::from(e)),
        }
        if start.elapsed() > Duration::from_secs(timeout) {
            break Err(fail(format!(
                "timed out after {timeout} s waiting for the transaction to be final"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    bar.finish_and_clear();
    let f = result?;
    if !cli.json {
        print_finality(&f, expected.is_some());
    }
    let mut out = finality_json(&f);
    out["revealed"] = json!(revealed);
    out["elapsed_ms"] = json!(start.elapsed().as_millis() as u64);
    Ok(out)
}

fn bundle(
    cli: &Cli,
    legs: &[String],
    max_fee: u128,
    submit: bool,
    out: Option<&Path>,
) -> Result<Value, Failure> {
    let committee = committee(cli)?;
    let encryptor = Encryptor::new(committee.clone(), None, policy(cli));
    let mut members = Vec::with_capacity(legs.len());
    for leg in legs {
        let (chain, payload) = leg
            .split_once(':')
            .ok_or_else(|| fail(format!("--leg {leg:?}: expected CHAIN_ID:HEX_PAYLOAD")))?;
        let chain: u64 = chain
            .parse()
            .map_err(|_| fail(format!("--leg {leg:?}: chain id is not a number")))?;
        let slots = SlotRange::new(0, u64::MAX).map_err(|e| fail(e.to_string()))?;
        let label = Label::new(chain, [0; 32], slots, max_fee, Vec::new())
            .map_err(|e| fail(format!("label: {e}")))?;
        members.push((label, unhex(payload, "--leg payload")?));
    }
    let txs = encryptor.encrypt_bundle(&members, &mut rand_core::OsRng)?;
    let ids: Vec<String> = txs.iter().map(|t| t.id().to_hex()).collect();
    let record = json!({
        "format": "veil-bundle",
        "version": 1,
        "ids": ids,
        "chain_ids": txs.iter().map(|t| t.label().chain_id).collect::<Vec<_>>(),
        "envelopes": txs.iter().map(|t| hex::encode(t.encoding())).collect::<Vec<_>>(),
    });
    if let Some(out) = out {
        write_private(out, record.to_string().as_bytes())?;
    }
    if submit {
        client(cli, committee)?.submit_bundle(&txs)?;
    }
    if !cli.json {
        for (i, id) in ids.iter().enumerate() {
            println!("leg {i}: {id}");
        }
        if submit {
            println!("submitted (all legs admitted atomically)");
        }
    }
    Ok(json!({ "ids": ids, "submitted": submit }))
}

fn sub_batch(cli: &Cli, rollup: u64, slot: u64) -> Result<Value, Failure> {
    let committee = committee(cli)?;
    let items = client(cli, committee)?
        .sub_batch(rollup, slot)?
        .ok_or_else(|| fail(format!("slot {slot} is not opened yet")))?;
    let rows: Vec<Value> = items
        .iter()
        .map(|i| {
            let (status, plaintext) = match &i.outcome {
                Outcome::Decrypted(p) => ("decrypted", json!(hex::encode(p))),
                Outcome::Invalid => ("invalid", Value::Null),
            };
            json!({ "position": i.position, "id": i.id.to_hex(), "status": status, "plaintext": plaintext })
        })
        .collect();
    if !cli.json {
        println!(
            "rollup {rollup}, slot {slot}: {} items, complete and certified",
            items.len()
        );
        for r in &rows {
            println!(
                "  #{} {} {}",
                r["position"],
                r["id"].as_str().unwrap_or(""),
                r["status"].as_str().unwrap_or("")
            );
        }
    }
    Ok(json!({ "rollup": rollup, "slot": slot, "verified": true, "items": rows }))
}
