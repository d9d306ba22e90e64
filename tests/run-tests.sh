#!/usr/bin/env bash
# The README's test command: sets up the machine, then runs every test in the workspace
# (unit, property, known-answer, integration and doc tests).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup-machine.sh

# Libraries, binaries and integration tests (benchmarks are built by CI's clippy pass and
# run with `cargo bench`; they report figures and are never pass/fail).
# The multi-process tests run the `veil-node` and `veil` binaries; build every binary first
# (nextest builds only the binaries of packages that have integration tests).
cargo build --workspace --bins
cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc
bash tests/fuzz-smoke.sh
