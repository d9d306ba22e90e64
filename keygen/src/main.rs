//! `keygen`: run Veil key ceremonies offline (files) or over HTTP (a bulletin-board
//! coordinator), and verify their transcripts.
//!
//! Passphrases are read from the environment variable named by `--passphrase-env`
//! (default `VEIL_KEYGEN_PASSPHRASE`) or from `--passphrase-file`; never from the command
//! line, never logged.
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use rand_core::OsRng;
use veil_keygen::dkg::{self, CeremonyParams, Transcript};
use veil_keygen::files;
use veil_keygen::http::{Client, CoordinatorConfig};
use veil_keygen::seal::SealParams;
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(
    name = "keygen",
    version,
    about = "Veil key ceremonies: DKG, resharing, verification"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Secret {
    /// Environment variable holding the passphrase.
    #[arg(long, default_value = "VEIL_KEYGEN_PASSPHRASE")]
    passphrase_env: String,
    /// File holding the passphrase (first line); overrides the environment variable.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Argon2id memory cost (KiB) for files sealed by this command.
    #[arg(long, default_value_t = 19 * 1024)]
    kdf_memory_kib: u32,
    /// Argon2id iterations for files sealed by this command.
    #[arg(long, default_value_t = 2)]
    kdf_iterations: u32,
}

impl Secret {
    fn passphrase(&self) -> Result<Zeroizing<Vec<u8>>, String> {
        let p = match &self.passphrase_file {
            Some(f) => {
                let raw =
                    Zeroizing::new(std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?);
                let line = raw.split(|b| *b == b'\n').next().unwrap_or_default();
                Zeroizing::new(line.strip_suffix(b"\r").unwrap_or(line).to_vec())
            }
            None => Zeroizing::new(
                std::env::var(&self.passphrase_env)
                    .map_err(|_| format!("set {} or pass --passphrase-file", self.passphrase_env))?
                    .into_bytes(),
            ),
        };
        if p.is_empty() {
            return Err("empty passphrase".into());
        }
        Ok(p)
    }

    fn seal_params(&self) -> Result<SealParams, String> {
        SealParams::new(self.kdf_memory_kib, self.kdf_iterations, 1).map_err(|e| e.to_string())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Create a member identity (sealed keys + public member.json) in DIR.
    Init {
        /// Member directory.
        #[arg(long)]
        dir: PathBuf,
        /// Member name (1–64 printable ASCII bytes).
        #[arg(long)]
        name: String,
        #[command(flatten)]
        secret: Secret,
    },
    /// Assemble ceremony parameters from member records (offline ceremonies).
    Params {
        /// Member records (member.json), in index order.
        #[arg(long = "member", required = true)]
        members: Vec<PathBuf>,
        /// Threshold t of the new committee.
        #[arg(long)]
        threshold: u32,
        /// Qualified dealings to combine (fresh key; default t).
        #[arg(long)]
        quorum: Option<u32>,
        /// Epoch (fresh key; default 1).
        #[arg(long, default_value_t = 1)]
        epoch: u64,
        /// Reshare this committee's key instead of creating a fresh one.
        #[arg(long)]
        previous: Option<PathBuf>,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Deal: write this member's dealing to the board directory.
    Deal {
        /// Member directory.
        #[arg(long)]
        dir: PathBuf,
        /// Ceremony parameters.
        #[arg(long)]
        params: PathBuf,
        /// Board directory.
        #[arg(long)]
        board: PathBuf,
        /// Resharing: this member's sealed share of the previous committee.
        #[arg(long)]
        share: Option<PathBuf>,
        #[command(flatten)]
        secret: Secret,
    },
    /// Check the dealings on the board and post a signed response (with complaints).
    Respond {
        /// Member directory.
        #[arg(long)]
        dir: PathBuf,
        /// Ceremony parameters.
        #[arg(long)]
        params: PathBuf,
        /// Board directory.
        #[arg(long)]
        board: PathBuf,
        #[command(flatten)]
        secret: Secret,
    },
    /// Verify the board's transcript and write committee.json, transcript.bin and the
    /// sealed share into OUT.
    Aggregate {
        /// Member directory.
        #[arg(long)]
        dir: PathBuf,
        /// Ceremony parameters.
        #[arg(long)]
        params: PathBuf,
        /// Board directory.
        #[arg(long)]
        board: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        secret: Secret,
    },
    /// Re-verify a transcript from public data alone (and optionally a committee file).
    Verify {
        /// transcript.bin
        #[arg(long)]
        transcript: PathBuf,
        /// committee.json to check against the transcript.
        #[arg(long)]
        committee: Option<PathBuf>,
    },
    /// Run a bulletin-board coordinator for an HTTP ceremony.
    Coordinator {
        /// Address to listen on (port 0 picks a free port; the bound address is printed).
        #[arg(long)]
        listen: String,
        /// Committee size n.
        #[arg(long)]
        members: u32,
        /// Threshold t.
        #[arg(long)]
        threshold: u32,
        /// Qualified dealings needed (default t).
        #[arg(long)]
        quorum: Option<u32>,
        /// Epoch.
        #[arg(long, default_value_t = 1)]
        epoch: u64,
        /// Milliseconds to wait for more dealings after the quorum is reached.
        #[arg(long, default_value_t = 10_000)]
        deal_grace_ms: u64,
        /// Milliseconds to wait for responses after dealing closes.
        #[arg(long, default_value_t = 10_000)]
        response_grace_ms: u64,
        /// Only these members (member.json files, in index order) may register.
        #[arg(long = "roster-member")]
        roster: Vec<PathBuf>,
        /// Reshare this committee's key (committee.json) to the registering members.
        #[arg(long)]
        previous: Option<PathBuf>,
    },
    /// Join an HTTP ceremony as a member.
    Join {
        /// Coordinator URL, e.g. http://127.0.0.1:8080
        #[arg(long)]
        coordinator: String,
        /// Member directory.
        #[arg(long)]
        dir: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Longest wait for any one phase, in seconds.
        #[arg(long, default_value_t = 300)]
        wait_secs: u64,
        /// Resharing: this member's sealed share of the previous committee.
        #[arg(long)]
        share: Option<PathBuf>,
        /// Resharing: only deal (an old member that is not in the new committee).
        #[arg(long)]
        dealer_only: bool,
        #[command(flatten)]
        secret: Secret,
    },
}

fn run(cmd: Command) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let mut rng = OsRng;
    match cmd {
        Command::Init { dir, name, secret } => {
            let m = files::init_identity(
                &dir,
                &name,
                &secret.passphrase()?,
                secret.seal_params()?,
                &mut rng,
            )
            .map_err(|x| e(&x))?;
            println!(
                "{}",
                hex::encode(veil_circuits::dleq::g1_to_bytes(&m.signing_key))
            );
        }
        Command::Params {
            members,
            threshold,
            quorum,
            epoch,
            previous,
            out,
        } => {
            let roster = members
                .iter()
                .map(|p| files::read_member(p))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|x| e(&x))?;
            let params = match previous {
                None => {
                    CeremonyParams::fresh(epoch, threshold, quorum.unwrap_or(threshold), roster)
                }
                Some(p) => CeremonyParams::reshare(
                    files::load_committee(&p).map_err(|x| e(&x))?,
                    threshold,
                    roster,
                ),
            }
            .map_err(|x| e(&x))?;
            files::write(&out, &params.to_bytes()).map_err(|x| e(&x))?;
            println!("{}", hex::encode(params.id()));
        }
        Command::Deal {
            dir,
            params,
            board,
            share,
            secret,
        } => {
            let pass = secret.passphrase()?;
            let identity = files::load_identity(&dir, &pass).map_err(|x| e(&x))?;
            let params = files::load_params(&params).map_err(|x| e(&x))?;
            let old = share
                .map(|p| files::load_share(&p, &pass))
                .transpose()
                .map_err(|x| e(&x))?;
            let i = files::deal_to_board(&params, &identity, old.as_ref(), &board, &mut rng)
                .map_err(|x| e(&x))?;
            println!("dealt as dealer {i}");
        }
        Command::Respond {
            dir,
            params,
            board,
            secret,
        } => {
            let identity = files::load_identity(&dir, &secret.passphrase()?).map_err(|x| e(&x))?;
            let params = files::load_params(&params).map_err(|x| e(&x))?;
            let n =
                files::respond_on_board(&params, &identity, &board, &mut rng).map_err(|x| e(&x))?;
            println!("{n} complaints");
        }
        Command::Aggregate {
            dir,
            params,
            board,
            out,
            secret,
        } => {
            let pass = secret.passphrase()?;
            let identity = files::load_identity(&dir, &pass).map_err(|x| e(&x))?;
            let params = files::load_params(&params).map_err(|x| e(&x))?;
            let transcript = files::board_transcript(&params, &board).map_err(|x| e(&x))?;
            let done = files::finish(
                &transcript,
                &identity,
                &out,
                &pass,
                secret.seal_params()?,
                &mut rng,
            )
            .map_err(|x| e(&x))?;
            println!(
                "{}",
                hex::encode(veil_circuits::dleq::g1_to_bytes(&done.committee.public_key))
            );
        }
        Command::Verify {
            transcript,
            committee,
        } => verify(&transcript, committee.as_deref())?,
        Command::Coordinator {
            listen,
            members,
            threshold,
            quorum,
            epoch,
            deal_grace_ms,
            response_grace_ms,
            roster,
            previous,
        } => {
            let previous = previous
                .map(|p| files::load_committee(&p))
                .transpose()
                .map_err(|x| e(&x))?;
            let roster = if roster.is_empty() {
                None
            } else {
                let members = roster.iter().map(|p| files::read_member(p));
                Some(members.collect::<Result<Vec<_>, _>>().map_err(|x| e(&x))?)
            };
            let cfg = CoordinatorConfig {
                members,
                threshold,
                quorum: quorum.unwrap_or(threshold),
                epoch,
                deal_grace: Duration::from_millis(deal_grace_ms),
                response_grace: Duration::from_millis(response_grace_ms),
                roster,
                previous,
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|x| e(&x))?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(&listen)
                    .await
                    .map_err(|x| e(&x))?;
                let addr = listener.local_addr().map_err(|x| e(&x))?;
                // The bound address is the first line on stdout, so scripts can use port 0.
                println!("listening on {addr}");
                use std::io::Write;
                let _ = std::io::stdout().flush();
                veil_keygen::http::serve(listener, cfg)
                    .await
                    .map_err(|x| e(&x))
            })?;
        }
        Command::Join {
            coordinator,
            dir,
            out,
            wait_secs,
            share,
            dealer_only,
            secret,
        } => {
            let pass = secret.passphrase()?;
            let identity = files::load_identity(&dir, &pass).map_err(|x| e(&x))?;
            let old = share
                .map(|p| files::load_share(&p, &pass))
                .transpose()
                .map_err(|x| e(&x))?;
            let client = Client::new(&coordinator, Duration::from_secs(wait_secs));
            let seal = secret.seal_params()?;
            match client
                .join(
                    &identity,
                    old.as_ref(),
                    !dealer_only,
                    &pass,
                    &out,
                    seal,
                    &mut rng,
                )
                .map_err(|x| e(&x))?
            {
                Some(done) => println!(
                    "{}",
                    hex::encode(veil_circuits::dleq::g1_to_bytes(&done.committee.public_key))
                ),
                None => println!("dealt"),
            }
        }
    }
    Ok(())
}

fn verify(transcript: &Path, committee: Option<&Path>) -> Result<(), String> {
    let t = Transcript::from_bytes(&files::read(transcript).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let outcome = match committee {
        Some(c) => {
            let c = files::load_committee(c).map_err(|e| e.to_string())?;
            dkg::verify_committee(&t, &c).map_err(|e| e.to_string())?
        }
        None => dkg::verify_transcript(&t).map_err(|e| e.to_string())?,
    };
    let qualified: Vec<String> = outcome.qualified.iter().map(|q| q.0.to_string()).collect();
    println!(
        "transcript ok: epoch {}, n {}, t {}",
        outcome.committee.epoch,
        outcome.committee.n(),
        outcome.committee.threshold
    );
    println!("qualified dealers: {}", qualified.join(","));
    for (d, why) in &outcome.excluded {
        println!("excluded dealer {d}: {why:?}");
    }
    println!(
        "public key: {}",
        hex::encode(veil_circuits::dleq::g1_to_bytes(
            &outcome.committee.public_key
        ))
    );
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
