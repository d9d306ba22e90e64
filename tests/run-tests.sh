#!/usr/bin/env bash
# The README's test command: sets up the machine, then runs every test in the workspace
# (unit, property, known-answer, integration and doc tests).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup-machine.sh

cargo nextest run --workspace --all-targets --no-fail-fast
cargo test --workspace --doc
