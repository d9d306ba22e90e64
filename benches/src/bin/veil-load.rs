//! `veil-load`: drives a local Veil committee with threshold-encrypted transactions and
//! reports sustained throughput, submit → plaintext latency and CPU per transaction per
//! member (see `veil_benches::load`).
//!
//! ```sh
//! cargo run --release -p veil-benches --bin veil-load -- --rate 1000 --duration 30
//! ```

use std::process::ExitCode;

use clap::Parser;
use veil_benches::load::{LoadArgs, compare_rollups, comparison_text, run};

fn main() -> ExitCode {
    let args = LoadArgs::parse();
    let f = (args.members.max(1) - 1) / 3;
    let t = args.threshold.unwrap_or(2 * f + 1);
    if args.compare_rollups {
        let n = args.rollups.unwrap_or(2);
        return match compare_rollups(&args, n) {
            Ok(runs) => {
                for (r, summary) in &runs {
                    println!("--- {r} rollup(s)");
                    print!("{}", summary.text(args.members, t));
                }
                print!("{}", comparison_text(&runs, n));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match run(&args) {
        Ok(summary) => {
            let f = (args.members.max(1) - 1) / 3;
            print!(
                "{}",
                summary.text(args.members, args.threshold.unwrap_or(2 * f + 1))
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
