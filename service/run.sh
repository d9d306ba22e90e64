#!/usr/bin/env bash
# The README's run command: prepares the machine, builds veil-node in release, and runs a
# local committee (4 members + built-in sequencer on 127.0.0.1) with a demo load of
# threshold-encrypted transactions. Prints progress, throughput, latency and a few
# decrypted batches, stops the members, and exits 0 if every transaction was delivered
# decrypted and all members agree on the certified order.
#
# Knobs (environment): VEIL_DEVNET_DURATION (seconds of load, default 20),
# VEIL_DEVNET_TX_RATE (tx/s, default 100), VEIL_DEVNET_DIR (default .veil-devnet),
# VEIL_PASSPHRASE (seals the devnet keys; default: the documented insecure devnet one).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup-machine.sh
echo "run: building veil-node (release)…" >&2
cargo build --release -p veil-node
exec ./target/release/veil-node devnet \
  --members 4 \
  --tx-rate "${VEIL_DEVNET_TX_RATE:-100}" \
  --duration "${VEIL_DEVNET_DURATION:-20}" \
  --dir "${VEIL_DEVNET_DIR:-.veil-devnet}"
