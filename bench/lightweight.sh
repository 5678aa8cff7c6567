#!/usr/bin/env bash
# How long a step with an edited function (a Rust lightweight component)
# spends building its program in the dev image, measured on this checkout
# laid out as the dev image is (Dockerfile, target `dev`): the crate built,
# then every script's package built as the image's build does, then RUNS
# functions no earlier run had (so each program's package is new), each
# built as the step builds it (`export-kfp --get-features`, which builds the
# program first, with the same code as `crypto-lab run-script`).
#   bench/lightweight.sh [RUNS]     # default 3
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
export PATH="${CRYPTO_LAB_CACHE:-$HOME/.cache/crypto-lab}/tools/bin:$PATH"
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --quiet --bin crypto-lab
t0=$(date +%s.%N)
for s in scripts/*.rs; do
  p=$(rust-script --package "$s") && cp Cargo.lock "$p/"
  cargo build --quiet --offline --config .cargo/config.toml --manifest-path "$p/Cargo.toml"
done
echo "priming (the scripts' packages, as the dev image's build): $(echo "$(date +%s.%N) - $t0" | bc) s"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
stamp=$(date +%s%N)
for i in $(seq 1 "$runs"); do
  cat > "$work/mine.rs" <<RS
use crypto_lab::prelude::*;
fn mine(bars: &AssetBars, opts: &FeatureOptions) -> Features {
    let mut f = get_features(bars, opts);
    f.add("RSI_${stamp}_$i", rsi(&bars.close, $((10 + i))));
    f
}
RS
  CRYPTO_LAB_SOURCE="$PWD" /usr/bin/time -f "run $i: whole export-kfp %e s, peak %M KiB" \
    "target/$host/debug/crypto-lab" export-kfp --out "$work/kfp" --get-features "$work/mine.rs:mine" 2>&1 \
    | grep -E "builds|whole"
done
