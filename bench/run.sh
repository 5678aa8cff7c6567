#!/usr/bin/env bash
# The benchmark in one command, from a fresh checkout:
#   bench/run.sh [--sizes 1m,5m,full] [--runs 3] [--full-runs 1]
# Installs the build tools (.ci/setup --build-only), a Python venv with the lab's
# libraries, builds crypto-lab, times both sides and writes bench/results/.
# Keep the machine otherwise idle while it runs: the figures are wall times.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup --build-only
cache="${CRYPTO_LAB_CACHE:-$HOME/.cache/crypto-lab}"
venv="$cache/venv-bench"
if ! "$venv/bin/python" -c 'import pandas, talib, lightgbm, pyarrow, joblib, tqdm' >/dev/null 2>&1; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    'pandas==3.1.1' 'ta-lib==0.8.2' 'lightgbm==4.7.0' pyarrow joblib tqdm
fi
command -v rust-script >/dev/null || cargo install --locked rust-script@0.36.0
# The project's one build (.cargo/config.toml): binaries for the host triple.
cargo build --quiet --bin crypto-lab
bin="target/$(rustc -vV | sed -n 's/^host: //p')/debug/crypto-lab"
"$venv/bin/python" bench/bench.py --crypto-lab "$bin" "$@"
bench/plot.rs --results bench/results/results.json --out bench/results/scaling
