#!/usr/bin/env bash
# What the KFP export's artifacts form moves per run at the competition's
# full size, from the sizes of the files a local run writes (the same bytes
# each step uploads as an output artifact and downloads as an input):
#   bench/artifacts.sh [DIR]      # default bench/data/full-artifacts (about 9 GB of disk)
# Makes the full-size synthetic competition there if it has no train.csv,
# runs the lab on it (`crypto-lab run`, which also times each stage), then
# prints, per step, the bytes it downloads and uploads, the totals of a first
# run, and those of a rerun with one changed model parameter (download to
# merge come from KFP's cache: only modeling and evaluation-result run).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-bench/data/full-artifacts}"
host=$(rustc -vV | sed -n 's/^host: //p')
bin="target/$host/debug/crypto-lab"
cargo build --quiet --bin crypto-lab
mkdir -p "$dir"
if [ ! -f "$dir/train.csv" ]; then
  "$bin" synth --full --data-path "$dir"
fi
/usr/bin/time -v "$bin" run --data-path "$dir" 2> "$dir/time.txt"
grep -E "Elapsed|Maximum resident" "$dir/time.txt"

python3 - "$dir" <<'PY'
import os, sys
d = sys.argv[1]
size = lambda f: os.path.getsize(os.path.join(d, f))
# (step, inputs, outputs): the lab's files, as the export wires them.
steps = [
    ("download-data", [], ["train.csv", "asset_details.csv"]),
    ("load-data", ["train.csv", "asset_details.csv"], ["df_train.parquet", "df_asset_details.parquet"]),
    ("feature-engineering", ["df_train.parquet"], ["feature_df.parquet"]),
    ("merge-assets-features", ["feature_df.parquet", "df_asset_details.parquet"], ["merge_feature_df.parquet"]),
    ("modeling", ["merge_feature_df.parquet"],
     ["lgb.txt", "valid_predictions.parquet", "feature_importance.json", "lgb_history.json"]),
    ("evaluation-result", ["lgb.txt", "lgb_history.json", "feature_importance.json",
                           "valid_predictions.parquet", "merge_feature_df.parquet", "df_train.parquet"],
     ["evaluation_summary.md", "evaluation_charts.html", "mlpipeline-metrics.json"]),
]
gb = lambda b: f"{b / 1e9:.2f} GB"
print("| step | downloads | uploads |")
print("| --- | ---: | ---: |")
down = up = 0
rerun_down = rerun_up = 0
for name, ins, outs in steps:
    i = sum(size(f) for f in ins)
    o = sum(size(f) for f in outs)
    down, up = down + i, up + o
    if name in ("modeling", "evaluation-result"):
        rerun_down, rerun_up = rerun_down + i, rerun_up + o
    print(f"| {name} | {gb(i)} | {gb(o)} |")
print(f"| first run | {gb(down)} | {gb(up)} (what the store keeps) |")
print(f"| rerun, one model parameter changed | {gb(rerun_down)} | {gb(rerun_up)} |")
PY
