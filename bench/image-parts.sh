#!/usr/bin/env bash
# The room image's build measured in parts, on a machine without a container
# engine: the cargo work of the Dockerfile's dev and notebook stages, run as
# their RUN lines run it, in a fresh copy of the crate (so nothing is reused
# from the checkout's target/), timed, and the target/ it leaves (the
# image's largest layer) sized. Also sizes the image's Jupyter
# (.binder/requirements.txt in a fresh venv).
#
#   bash bench/image-parts.sh          # about 13 minutes on 2 cores
#
# Not included (not measurable here): the base image's pull, apt, the
# cargo install of rust-script and evcxr_jupyter (the tools in
# ~/.cache/crypto-lab are reused; docs/building.md times evcxr's build),
# the image's layers and compression.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${CRYPTO_LAB_CACHE:-$HOME/.cache/crypto-lab}"
export PATH="$cache/tools/bin:$PATH"
command -v rust-script >/dev/null || { echo "needs rust-script (.ci/setup)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
crate="$work/opt-crypto-lab"
mkdir -p "$crate/notebooks"
cp -r Cargo.toml Cargo.lock .cargo src scripts .ci "$crate/"
cp notebooks/evcxr.toml "$crate/notebooks/"
cd "$crate"
t0=$(date +%s)
cargo build --locked --bin crypto-lab --quiet
t1=$(date +%s)
for s in scripts/*.rs; do
  p=$(rust-script --package "$s") && cp Cargo.lock "$p/" \
    && cargo build --quiet --offline --config .cargo/config.toml --manifest-path "$p/Cargo.toml"
done
t2=$(date +%s)
CRYPTO_LAB_CACHE="$cache" bash .ci/setup --kernel >/dev/null
t3=$(date +%s)
python3 -m venv "$work/jupyter"
"$work/jupyter/bin/pip" install -q --disable-pip-version-check -r "$OLDPWD/.binder/requirements.txt"
printf '{"binary_s": %d, "scripts_s": %d, "kernel_warm_s": %d, "cargo_total_s": %d, ' \
  $((t1 - t0)) $((t2 - t1)) $((t3 - t2)) $((t3 - t0))
printf '"target_gib": %.2f, "jupyter_venv_mib": %d}\n' \
  "$(du -sb target | awk '{print $1 / 2^30}')" "$(du -sm "$work/jupyter" | cut -f1)"
