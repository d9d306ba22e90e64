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
