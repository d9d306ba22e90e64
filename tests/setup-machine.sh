#!/usr/bin/env bash
# Installs what Veil's build and tests need on a fresh machine of the project's kind
# (Debian, root, Rust toolchain present). Idempotent: it does nothing that is already done.
set -euo pipefail

need_apt=()
command -v m4 >/dev/null 2>&1 || need_apt+=(m4)   # GMP's bundled build (rug) needs m4.
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest" >&2
  cargo install --locked cargo-nextest
fi

# anvil (the Ethereum node of the end-to-end tests), from the npm package @foundry-rs/anvil (pinned),
# into tests/node_modules (git-ignored). Node and npm come from Debian if missing.
if ! ls "$(dirname "$0")"/node_modules/@foundry-rs/anvil-*/bin/anvil >/dev/null 2>&1; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: installing nodejs and npm" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
  fi
  echo "setup: installing anvil (npm @foundry-rs/anvil) into tests/node_modules" >&2
  npm install --prefix "$(dirname "$0")" --no-save --no-audit --no-fund --loglevel=error \
    @foundry-rs/anvil@1.7.1 >/dev/null
fi
