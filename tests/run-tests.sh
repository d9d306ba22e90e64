#!/usr/bin/env bash
# The README's test command: sets up the machine, then runs every test in the workspace
# (unit, property, known-answer, integration and doc tests).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup-machine.sh

# Libraries, binaries and integration tests (benchmarks are built by CI's clippy pass and
# run with `cargo bench`; they report figures and are never pass/fail).
cargo nextest run --workspace --no-fail-fast
cargo test --workspace --doc
bash tests/fuzz-smoke.sh
