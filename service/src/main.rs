//! `veil-node`: the Veil committee node and its operator commands.
//!
//! Commands are grouped by area as clap subcommands (`veil-node <area> <command>`), so the
//! node's other commands can be added beside `delay` without touching it:
//!
//! - `veil-node delay params`: generate delay parameters (RSA-2048 by default) with their
//!   Wesolowski proof, `T` derived from the privacy window and the assumed adversary speed;
//! - `veil-node delay verify`: check a parameter file;
//! - `veil-node delay encrypt` / `decrypt`: make and open delay-mode ciphertexts (for
//!   operators and demos; wallets use the library);
//! - `veil-node delay solve`: open a puzzle by sequential squaring, with a progress bar,
//!   optionally emitting a Wesolowski proof of the solution;
//! - `veil-node run --config node.json`: one committee member (see `node` and `api`);
//! - `veil-node devnet`: a local committee on loopback with generated keys and a demo load.

mod api;
mod config;
mod delay;
mod devnet;
#[cfg(test)]
mod fake_rpc;
mod forward;
mod link;
mod metrics;
mod node;
mod peer;
mod rollups;
mod run;
mod solver;
#[cfg(test)]
mod tests;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The Veil committee node.
#[derive(Parser)]
#[command(name = "veil-node", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Delay mode: time-lock parameters, puzzles and the solver.
    #[command(subcommand)]
    Delay(delay::DelayCommand),
    /// Run one committee member (API, member logic, optional built-in sequencer).
    Run(run::RunArgs),
    /// Run a local committee on loopback with a demo load, then shut it down.
    Devnet(devnet::DevnetArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Delay(cmd) => delay::run(cmd),
        Command::Run(args) => run::run(args),
        Command::Devnet(args) => devnet::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
