//! `fault-table <report dir> [out.md]`: the fault suite's summary table (markdown) from the
//! JSON lines the fault tests write when `VEIL_FAULT_REPORT=<dir>` is set
//! (`veil_tests::FaultReport`). Used by `benches/figures.sh`.

use std::fmt::Write as _;

use serde_json::Value;

/// The table's row order and each fault's description.
const FAULTS: &[(&str, &str)] = &[
    (
        "sigkill_random",
        "SIGKILL + restart at random points: during ingest, after releasing shares (`fault_kill.rs`)",
    ),
    (
        "sigkill_after_vote",
        "SIGKILL + restart right after voting (`crash.rs`)",
    ),
    (
        "byzantine_member",
        "Byzantine member: garbage, badly signed and conflicting votes, invalid shares (`fault_byzantine.rs`)",
    ),
    (
        "sequencer_equivocation",
        "sequencer equivocates (`equivocation.rs`)",
    ),
    (
        "sequencer_stall",
        "sequencer stalls (SIGSTOP) and resumes (`fault_sequencer.rs`)",
    ),
    (
        "sequencer_unknown_ids",
        "sequencer proposes unknown ciphertext ids (`fault_sequencer.rs`)",
    ),
    (
        "partition",
        "network partition of one member, then heal (`fault_partition.rs`)",
    ),
    (
        "disk_full",
        "disk full: writes fail with EFBIG (RLIMIT_FSIZE), then restart (`fault_disk.rs`)",
    ),
];

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: fault-table <report dir> [out.md]");
        std::process::exit(2);
    };
    let out = args.next();
    let mut rows: Vec<Value> = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("fault-table: cannot read {dir}: {e}");
            std::process::exit(1);
        }
    };
    for entry in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str(line) {
                Ok(v) => rows.push(v),
                Err(e) => eprintln!("fault-table: skipping {}: {e}", entry.path().display()),
            }
        }
    }
    let rank = |v: &Value| {
        let name = v["fault"].as_str().unwrap_or("");
        FAULTS
            .iter()
            .position(|(n, _)| *n == name)
            .unwrap_or(FAULTS.len())
    };
    rows.sort_by_key(|v| (rank(v), v["fault"].as_str().unwrap_or("").to_owned()));
    let mut md = String::new();
    md.push_str(
        "| fault | faults injected | batches affected | items acknowledged | delivered | held, not ordered by the sequencer | items lost | seed | duration |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let mut lost_total = 0;
    for v in &rows {
        let name = v["fault"].as_str().unwrap_or("?");
        let what = FAULTS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(name, |(_, d)| d);
        let n = |k: &str| v[k].as_u64().unwrap_or(0);
        lost_total += n("lost");
        let seed = v["seed"]
            .as_u64()
            .map_or_else(|| "—".to_owned(), |s| s.to_string());
        let _ = writeln!(
            md,
            "| {what} | {} | {} | {} | {} | {} | **{}** | {seed} | {:.1} s |",
            n("faults_injected"),
            n("batches_affected"),
            n("acknowledged"),
            n("delivered"),
            n("held"),
            n("lost"),
            v["duration_s"].as_f64().unwrap_or(0.0),
        );
    }
    let missing: Vec<&str> = FAULTS
        .iter()
        .filter(|(n, _)| !rows.iter().any(|v| v["fault"] == *n))
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(
            md,
            "\nNo report (test failed or not run): {}",
            missing.join(", ")
        );
    }
    let _ = writeln!(md, "\nItems lost in total: {lost_total}.");
    match out {
        Some(path) => {
            if let Err(e) = std::fs::write(&path, &md) {
                eprintln!("fault-table: cannot write {path}: {e}");
                std::process::exit(1);
            }
        }
        None => print!("{md}"),
    }
    if lost_total > 0 || !missing.is_empty() {
        std::process::exit(1);
    }
}
