#!/usr/bin/env bash
# Where each crypto-lab stage spends its time, with perf (Linux):
#   bench/profile.sh [DATA_PATH] [STAGE ...]
# DATA_PATH defaults to bench/data/full (made by bench/run.sh); stages default
# to every stage after download-data. For each stage it records a call-graph
# profile, then writes bench/results/profile/STAGE.txt: the whole-process
# time and peak memory (/usr/bin/time -v) and the top symbols, user and kernel.
# Needs perf (Debian: linux-perf) and permission to profile
# (kernel.perf_event_paranoid <= 1, or root).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-bench/data/full}"
shift || true
stages=("$@")
if [ ${#stages[@]} -eq 0 ]; then
  stages=(load-data feature-engineering merge-assets-features modeling evaluation-result)
fi
bin="${CRYPTO_LAB_BIN:-${CARGO_TARGET_DIR:-target}/$(rustc -vV | sed -n 's/^host: //p')/debug/crypto-lab}"
[ -x "$bin" ] || cargo build --quiet --bin crypto-lab
command -v perf >/dev/null || { echo "perf is not installed (Debian: apt install linux-perf)" >&2; exit 1; }
[ -f "$data/train.csv" ] || { echo "$data/train.csv is missing: run bench/run.sh or crypto-lab synth first" >&2; exit 1; }
out=bench/results/profile
mkdir -p "$out"
for stage in "${stages[@]}"; do
  rec="$out/$stage.perf.data"
  report="$out/$stage.txt"
  {
    echo "# $stage on $data ($(nproc) cores)"
    /usr/bin/time -v perf record -q -F 199 -g -o "$rec" "$bin" -q "$stage" --data-path "$data" 2>&1 \
      | grep -E "Elapsed|Maximum resident|User time|System time"
    echo
    echo "## top symbols (self time)"
    perf report -i "$rec" --no-children --sort dso,symbol --stdio 2>/dev/null \
      | grep -E '^ +[0-9.]+%' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' | cut -c1-160 | head -25 || true
  } > "$report"
  rm -f "$rec"
  echo "$stage: $report"
done
