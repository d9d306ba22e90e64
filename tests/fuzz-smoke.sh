#!/usr/bin/env bash
# Fuzz smoke test: builds every cargo-fuzz target in fuzz/ once, then runs each for a bounded
# time (VEIL_FUZZ_SECONDS, default 10 s per target), starting from the committed seeds in
# fuzz/seeds/<target>/ and the local corpus in fuzz/corpus/<target>/ (kept between runs, not
# committed). Exits non-zero on the first crash, leak, timeout or out-of-memory, and prints
# the reproducer's path and the command that replays it.
#
#   bash tests/fuzz-smoke.sh                          # every target, 10 s each
#   VEIL_FUZZ_SECONDS=600 bash tests/fuzz-smoke.sh    # longer runs by hand
#   bash tests/fuzz-smoke.sh threshold_ciphertext     # some targets only
#
# Why the environment below:
# * cargo-fuzz passes nightly-only flags (`-Zsanitizer=address` and coverage
#   passes) to rustc. This machine has stable Rust only and cannot download a nightly;
#   RUSTC_BOOTSTRAP=1 lets the stable compiler accept them. Only this fuzz build uses it.
# * cargo-fuzz sets RUSTFLAGS, and RUSTFLAGS replaces the `[build] rustflags` of
#   .cargo/config.toml, so `-C target-cpu=native` (needed by ark-ff's `asm` feature: BMI2 and
#   ADX) is passed here again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${VEIL_FUZZ_SECONDS:-10}
sanitizer=${VEIL_FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="${RUSTFLAGS:-} -C target-cpu=native"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz
fi

cd fuzz
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

start=$(date +%s)
# Release build with debug assertions (overflow checks included) and the sanitizer.
cargo fuzz build --sanitizer "$sanitizer" --debug-assertions
echo "fuzz-smoke: built ${#targets[@]} targets in $(( $(date +%s) - start )) s (sanitizer: $sanitizer)"

bin_dir="$root/fuzz/target/x86_64-unknown-linux-gnu/release"
failed=0
printf '%-28s %12s %14s %10s\n' target "exec/s" "total execs" result
for t in "${targets[@]}"; do
  corpus="$root/fuzz/corpus/$t"
  seeds="$root/fuzz/seeds/$t"
  artifacts="$root/fuzz/artifacts/$t"
  mkdir -p "$corpus" "$artifacts" "$seeds"
  log="$root/fuzz/artifacts/$t.log"
  set +e
  # New inputs go to the first directory (the local corpus); seeds are read only.
  "$bin_dir/$t" "$corpus" "$seeds" \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2560 -max_len=65536 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -1 || true)
  rate=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' | tail -1 || true)
  if [ "$rc" -eq 0 ]; then
    printf '%-28s %12s %14s %10s\n' "$t" "${rate:-?}" "${execs:-?}" ok
  else
    failed=1
    printf '%-28s %12s %14s %10s\n' "$t" "${rate:-?}" "${execs:-?}" "FAILED ($rc)"
    grep -E 'ERROR|panicked|Test unit written|artifact_prefix' "$log" | head -20 >&2 || true
    for f in $(ls -t "$artifacts" 2>/dev/null | head -3); do
      echo "fuzz-smoke: reproducer $artifacts/$f" >&2
      echo "fuzz-smoke: replay with: (cd fuzz && RUSTC_BOOTSTRAP=1 RUSTFLAGS=\"-C target-cpu=native\" cargo fuzz run -a $t $artifacts/$f)" >&2
    done
    echo "fuzz-smoke: full log $log" >&2
  fi
done
echo "fuzz-smoke: ${#targets[@]} targets, ${seconds} s each, total $(( $(date +%s) - start )) s"
exit "$failed"
