//! `veil-node`: the Veil committee node and its operator commands.

use clap::Parser;

/// The Veil committee node.
#[derive(Parser)]
#[command(name = "veil-node", version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
