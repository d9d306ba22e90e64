//! `veil-node delay …`: operator commands for delay mode.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use veil_squaring::{Backend, Element};
use veil_threshold::{Label, SlotRange};
use veil_timelock::delay::{DELAY_CIPHERTEXT_KIND, SOLUTION_KIND};
use veil_timelock::params::DEFAULT_SEED;
use veil_timelock::{
    DelayCiphertext, DelayConfig, DelayParams, PuzzleKey, PuzzleReveal, PuzzleSolution, RsaGroup,
};

/// Delay-mode commands.
#[derive(Subcommand)]
pub enum DelayCommand {
    /// Generate delay parameters (N, g, T, h) with a Wesolowski proof.
    Params(ParamsArgs),
    /// Verify a parameter file (re-derives g and checks the proof of h).
    Verify {
        /// The parameter file (JSON).
        params: PathBuf,
    },
    /// Encrypt a message under a fresh puzzle.
    Encrypt(EncryptArgs),
    /// Solve a puzzle: T sequential squarings, with progress, optionally proven.
    Solve(SolveArgs),
    /// Decrypt a delay ciphertext with a proven solution or a revealed exponent.
    Decrypt(DecryptArgs),
}

/// Arguments of `delay params`.
#[derive(Args)]
pub struct ParamsArgs {
    /// Modulus size [default: 2048, the RSA-2048 challenge number]. Other sizes need
    /// --modulus; when both are given they must agree.
    #[arg(long)]
    bits: Option<u32>,
    /// A custom modulus (hex, or a file holding hex) of unknown factorisation.
    #[arg(long)]
    modulus: Option<String>,
    /// Privacy window in seconds (submission to certificate, with margin).
    #[arg(long, default_value_t = 12.0)]
    seconds: f64,
    /// Assumed adversary latency per 1024-bit squaring, in nanoseconds.
    #[arg(long, default_value_t = 25.0)]
    adversary_ns: f64,
    /// Use exactly this many squarings instead of deriving T (tests, experiments).
    #[arg(long)]
    squarings: Option<u64>,
    /// Seed the generator g is derived from.
    #[arg(long, default_value = "Veil delay parameters v1")]
    seed: String,
    /// Squaring backend.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    backend: BackendArg,
    /// Where to write the parameters (JSON).
    #[arg(long)]
    out: PathBuf,
}

/// Arguments of `delay encrypt`.
#[derive(Args)]
pub struct EncryptArgs {
    /// The parameter file.
    #[arg(long)]
    params: PathBuf,
    /// The message (UTF-8).
    #[arg(long)]
    message: String,
    #[command(flatten)]
    label: LabelArgs,
    /// Where to write the ciphertext (hex).
    #[arg(long)]
    out: PathBuf,
    /// Where to write the reveal (hex), for the fast path.
    #[arg(long)]
    reveal_out: Option<PathBuf>,
}

/// The label fields.
#[derive(Args)]
pub struct LabelArgs {
    /// Chain id.
    #[arg(long, default_value_t = 1)]
    chain_id: u64,
    /// Sender, 32 bytes hex.
    #[arg(
        long,
        default_value = "0000000000000000000000000000000000000000000000000000000000000000"
    )]
    sender: String,
    /// First slot.
    #[arg(long, default_value_t = 0)]
    first_slot: u64,
    /// Last slot.
    #[arg(long, default_value_t = u64::MAX)]
    last_slot: u64,
    /// Maximum fee.
    #[arg(long, default_value_t = 0)]
    max_fee: u128,
}

/// Arguments of `delay solve`.
#[derive(Args)]
pub struct SolveArgs {
    /// The parameter file.
    #[arg(long)]
    params: PathBuf,
    /// The puzzle: a file or a hex string holding a delay ciphertext or a puzzle element.
    #[arg(long)]
    puzzle: String,
    /// Squaring backend.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    backend: BackendArg,
    /// Also output a Wesolowski proof of the solution (others verify instead of solving).
    #[arg(long)]
    prove: bool,
    /// Where to write the result (hex); stdout when absent.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Arguments of `delay decrypt`.
#[derive(Args)]
pub struct DecryptArgs {
    /// The parameter file.
    #[arg(long)]
    params: PathBuf,
    /// The ciphertext (file or hex).
    #[arg(long)]
    ciphertext: String,
    /// A proven solution (file or hex), as written by `solve --prove`.
    #[arg(long, conflicts_with = "reveal")]
    solution: Option<String>,
    /// A revealed exponent (file or hex), as written by `encrypt --reveal-out`.
    #[arg(long)]
    reveal: Option<String>,
    #[command(flatten)]
    label: LabelArgs,
}

/// Squaring backends selectable on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum BackendArg {
    /// The fastest backend for one chain on this CPU.
    Auto,
    /// Portable Rust.
    Portable,
    /// x86-64 MULX/ADX.
    MulxAdx,
    /// x86-64 AVX2.
    Avx2,
    /// x86-64 AVX-512F.
    Avx512,
}

impl BackendArg {
    fn resolve(self) -> Result<Backend, String> {
        let b = match self {
            BackendArg::Auto => return Ok(Backend::best_single()),
            BackendArg::Portable => Backend::Portable,
            BackendArg::MulxAdx => Backend::MulxAdx,
            BackendArg::Avx2 => Backend::Avx2,
            BackendArg::Avx512 => Backend::Avx512,
        };
        if Backend::available().contains(&b) {
            Ok(b)
        } else {
            Err(format!("backend {b:?} is not available on this cpu"))
        }
    }
}

/// Runs one delay command.
pub fn run(cmd: DelayCommand) -> Result<(), String> {
    match cmd {
        DelayCommand::Params(a) => params(a),
        DelayCommand::Verify { params } => {
            let p = load_params(&params)?;
            println!(
                "ok: {} bits, T = {}, id {}",
                p.group().bits(),
                p.squarings(),
                hex::encode(p.id())
            );
            Ok(())
        }
        DelayCommand::Encrypt(a) => encrypt(a),
        DelayCommand::Solve(a) => solve(a),
        DelayCommand::Decrypt(a) => decrypt(a),
    }
}

fn params(a: ParamsArgs) -> Result<(), String> {
    let group = match (&a.modulus, a.bits) {
        (Some(m), bits) => {
            let group = RsaGroup::from_be_bytes(&hex_arg(m)?).map_err(|e| e.to_string())?;
            if let Some(bits) = bits
                && bits != group.bits()
            {
                return Err(format!(
                    "--bits {bits} but the modulus has {} bits",
                    group.bits()
                ));
            }
            group
        }
        (None, None | Some(2048)) => RsaGroup::rsa2048(),
        (None, Some(bits)) => {
            return Err(format!(
                "no built-in {bits}-bit modulus; pass --modulus (only 2048 bits is built in)"
            ));
        }
    };
    let config = DelayConfig {
        privacy_seconds: a.seconds,
        adversary_ns_per_1024_bit_squaring: a.adversary_ns,
    };
    let t = match a.squarings {
        Some(t) => t,
        None => config.squarings(group.bits()).map_err(|e| e.to_string())?,
    };
    let backend = a.backend.resolve()?;
    eprintln!(
        "generating delay parameters: {} bits, T = {t} ({:.1} s at {:.1} ns per squaring), backend {backend:?}",
        group.bits(),
        t as f64 * config.adversary_ns(group.bits()) / 1e9,
        config.adversary_ns(group.bits()),
    );
    let seed = if a.seed.as_bytes() == DEFAULT_SEED {
        DEFAULT_SEED.to_vec()
    } else {
        a.seed.into_bytes()
    };
    let mut bar = Progress::new(t, "computing h = g^(2^T)");
    let p = DelayParams::generate(group, &seed, t, backend, &mut |done| {
        bar.update(done);
        ControlFlow::Continue(())
    })
    .map_err(|e| e.to_string())?;
    bar.finish();
    std::fs::write(&a.out, p.to_json() + "\n")
        .map_err(|e| format!("cannot write {}: {e}", a.out.display()))?;
    println!("wrote {} (id {})", a.out.display(), hex::encode(p.id()));
    Ok(())
}

fn encrypt(a: EncryptArgs) -> Result<(), String> {
    let p = load_params(&a.params)?;
    let label = a.label.to_label()?;
    // The devnet's reproducible (insecure) proving key; ceremony parameters refuse it.
    let pk = p.insecure_proving_key().map_err(|e| e.to_string())?;
    let (ct, secret) =
        DelayCiphertext::encrypt(&p, &pk, &label, a.message.as_bytes(), &mut rand_core::OsRng)
            .map_err(|e| e.to_string())?;
    write_hex(&a.out, &ct.to_bytes(&p))?;
    if let Some(path) = a.reveal_out {
        write_hex(&path, &secret.reveal().to_bytes())?;
    }
    println!("wrote {}", a.out.display());
    Ok(())
}

fn solve(a: SolveArgs) -> Result<(), String> {
    let p = load_params(&a.params)?;
    let backend = a.backend.resolve()?;
    let puzzle = parse_puzzle(&p, &hex_arg(&a.puzzle)?)?;
    let t = p.squarings();
    eprintln!("solving: T = {t} squarings, backend {backend:?}");
    let mut bar = Progress::new(t, "solving");
    let start = std::time::Instant::now();
    let mut on_progress = |done: u64| {
        bar.update(done);
        ControlFlow::Continue(())
    };
    let out = if a.prove {
        let s = PuzzleSolution::solve(&p, &puzzle, backend, &mut on_progress)
            .map_err(|e| e.to_string())?;
        s.to_bytes(&p)
    } else {
        let y = veil_squaring::square_repeated(
            p.group().modulus(),
            &puzzle,
            t,
            backend,
            &mut on_progress,
        )
        .map_err(|e| e.to_string())?;
        p.group().encode(&y)
    };
    bar.finish();
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "solved in {secs:.2} s ({:.0} ns per squaring){}",
        secs * 1e9 / t as f64,
        if a.prove { ", with proof" } else { "" }
    );
    match a.out {
        Some(path) => {
            write_hex(&path, &out)?;
            println!("wrote {}", path.display());
        }
        None => println!("{}", hex::encode(out)),
    }
    Ok(())
}

fn decrypt(a: DecryptArgs) -> Result<(), String> {
    let p = load_params(&a.params)?;
    let label = a.label.to_label()?;
    let ct =
        DelayCiphertext::from_bytes(&p, &hex_arg(&a.ciphertext)?).map_err(|e| e.to_string())?;
    let key: PuzzleKey = match (a.solution, a.reveal) {
        (Some(s), _) => {
            let solution =
                PuzzleSolution::from_bytes(&p, &hex_arg(&s)?).map_err(|e| e.to_string())?;
            if !p.group().eq(solution.puzzle(), ct.puzzle().element()) {
                return Err("the solution is for another puzzle".into());
            }
            solution.verify(&p).map_err(|e| e.to_string())?
        }
        (None, Some(r)) => PuzzleReveal::from_bytes(&p, &hex_arg(&r)?)
            .and_then(|r| r.open(&p, ct.puzzle()))
            .map_err(|e| e.to_string())?,
        (None, None) => return Err("pass --solution or --reveal".into()),
    };
    let plaintext = ct.decrypt(&p, &label, &key).map_err(|e| e.to_string())?;
    println!("{}", String::from_utf8_lossy(&plaintext));
    Ok(())
}

impl LabelArgs {
    fn to_label(&self) -> Result<Label, String> {
        let sender: [u8; 32] = hex::decode(&self.sender)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or("--sender must be 32 bytes of hex")?;
        let slots = SlotRange::new(self.first_slot, self.last_slot).map_err(|e| e.to_string())?;
        Label::new(self.chain_id, sender, slots, self.max_fee, vec![]).map_err(|e| e.to_string())
    }
}

fn load_params(path: &Path) -> Result<DelayParams, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    DelayParams::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A puzzle element from a delay ciphertext, a proven solution's puzzle, or a bare element.
fn parse_puzzle(p: &DelayParams, bytes: &[u8]) -> Result<Element, String> {
    if bytes.len() == p.group().element_len() {
        return p.group().decode(bytes).map_err(|e| format!("puzzle: {e}"));
    }
    match bytes.first() {
        Some(&DELAY_CIPHERTEXT_KIND) => DelayCiphertext::from_bytes(p, bytes)
            .map(|ct| ct.puzzle().element().clone())
            .map_err(|e| format!("puzzle: {e}")),
        Some(&SOLUTION_KIND) => PuzzleSolution::from_bytes(p, bytes)
            .map(|s| s.puzzle().clone())
            .map_err(|e| format!("puzzle: {e}")),
        _ => Err(format!(
            "puzzle: expected a {}-byte element or a delay ciphertext, got {} bytes",
            p.group().element_len(),
            bytes.len()
        )),
    }
}

/// Bytes from an argument that is either a file (holding hex or raw bytes) or a hex string.
fn hex_arg(arg: &str) -> Result<Vec<u8>, String> {
    let path = Path::new(arg);
    if path.is_file() {
        let raw = std::fs::read(path).map_err(|e| format!("cannot read {arg}: {e}"))?;
        let text = String::from_utf8_lossy(&raw);
        let trimmed = text.trim();
        return Ok(hex::decode(trimmed).unwrap_or(raw));
    }
    hex::decode(arg.trim().trim_start_matches("0x"))
        .map_err(|_| format!("{arg}: neither a file nor hex"))
}

fn write_hex(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, hex::encode(bytes) + "\n")
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Progress over `t` squarings: an indicatif bar with rate and ETA on a terminal; plain
/// `progress:` lines (at most one per second, and the last) when `VEIL_PROGRESS=1` and
/// stderr is not a terminal (logs, tests); nothing otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    plain: Option<(std::time::Instant, std::time::Instant)>,
    total: u64,
    what: &'static str,
}

impl Progress {
    fn new(total: u64, what: &'static str) -> Self {
        let now = std::time::Instant::now();
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            // The template is a constant known to parse.
            let style = ProgressStyle::with_template(
                "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} squarings ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(what);
            bar.enable_steady_tick(Duration::from_millis(200));
            Self {
                bar: Some(bar),
                plain: None,
                total,
                what,
            }
        } else if std::env::var_os("VEIL_PROGRESS").is_some() {
            Self {
                bar: None,
                plain: Some((now, now)),
                total,
                what,
            }
        } else {
            Self {
                bar: None,
                plain: None,
                total,
                what,
            }
        }
    }

    fn update(&mut self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
        if let Some((start, last)) = &mut self.plain {
            let now = std::time::Instant::now();
            if now.duration_since(*last) >= Duration::from_secs(1) || done >= self.total {
                *last = now;
                let secs = now.duration_since(*start).as_secs_f64();
                let rate = done as f64 / secs.max(1e-9);
                let eta = (self.total.saturating_sub(done)) as f64 / rate.max(1e-9);
                eprintln!(
                    "progress: {} {done}/{} squarings ({:.1}%, {:.2} M/s, eta {eta:.0} s)",
                    self.what,
                    self.total,
                    100.0 * done as f64 / self.total.max(1) as f64,
                    rate / 1e6,
                );
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
