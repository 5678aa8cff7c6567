"""Benchmark: the lab's Python stages against crypto-lab on the same files.

Usage (from bench/run.sh): python bench.py --crypto-lab BIN [--sizes 1m,5m,full]
                                           [--runs 3] [--full-runs 1] [--out results]

For each size it makes the data with `crypto-lab synth`, then times every stage as
its own process, the lab (A) and crypto-lab (B) alternating A B A B, with
/usr/bin/time -v for wall time and peak RSS; medians are reported. It then checks
that both sides made the same features (1e-9 relative) and the same best
iteration, so a fast wrong answer cannot pass. Writes OUT/results.json,
OUT/results.md and, through bench/plot.rs, OUT/scaling.svg and .png.
"""
import argparse
import json
import os
import pickle
import platform
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = ["load_data", "feature_engineering", "merge_assets_features", "modeling", "evaluation_result"]
SIZES = {
    # name: synth arguments; all span the lab's 2021-05-01 validation split.
    "1m": ["--start", "2021-03-25", "--end", "2021-05-16"],
    "5m": ["--start", "2020-10-15", "--end", "2021-07-01"],
    "full": ["--full"],
}


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MiB)."""
    full = ["/usr/bin/time", "-v"] + cmd
    t0 = time.monotonic()
    p = subprocess.run(full, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return wall, rss / 1024


def check_same(data):
    """Same features (1e-9 relative) and the same best iteration on both sides."""
    import numpy as np
    import pandas as pd
    import joblib
    with open(f"{data}/feature_df", "rb") as f:
        lab = pickle.load(f).reset_index(drop=True)
    ours = pd.read_parquet(f"{data}/feature_df.parquet")
    if list(lab.columns) != list(ours.columns) or len(lab) != len(ours):
        sys.exit(f"{data}: feature frames differ in shape or columns")
    worst = 0.0
    for c in lab.columns:
        a = lab[c].to_numpy(dtype=float)
        b = ours[c].to_numpy(dtype=float)
        scale = np.maximum(np.abs(a), np.abs(b))
        diff = np.abs(a - b)
        rel = np.where(scale > 0, diff / np.where(scale > 0, scale, 1), 0)
        worst = max(worst, float(rel.max()) if len(rel) else 0.0)
    if worst > 1e-9:
        sys.exit(f"{data}: features differ, worst relative difference {worst:g}")
    best_lab = joblib.load(f"{data}/lgb.jl").best_iteration
    best_ours = json.load(open(f"{data}/lgb_history.json"))["best_iteration"]
    if best_lab != best_ours:
        sys.exit(f"{data}: best iteration {best_lab} (lab) != {best_ours} (crypto-lab)")
    return worst, best_ours


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crypto-lab", required=True)
    ap.add_argument("--sizes", default="1m,5m,full")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--full-runs", type=int, default=1)
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    bin_ = os.path.abspath(args.crypto_lab)
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ, TZ="UTC")
    results = {
        "machine": f"{platform.node()}: {os.cpu_count()} cores, {platform.processor() or platform.machine()}",
        "crypto_lab": subprocess.run([bin_, "--version"], capture_output=True, text=True).stdout.strip(),
        "sizes": [],
    }
    for size in args.sizes.split(","):
        data = os.path.join(args.data, size)
        os.makedirs(data, exist_ok=True)
        if not os.path.exists(f"{data}/train.csv"):
            subprocess.run([bin_, "-q", "synth", "--data-path", data] + SIZES[size], check=True)
        rows = sum(1 for _ in open(f"{data}/train.csv")) - 1
        runs = args.full_runs if size == "full" else args.runs
        entry = {"size": size, "rows": rows, "runs": runs, "stages": {}}
        for stage in STAGES:
            lab_cmd = [sys.executable, os.path.join(HERE, "lab.py"), stage, data]
            ours_cmd = [bin_, "-q", stage.replace("_", "-"), "--data-path", data]
            samples = {"lab": [], "crypto_lab": []}
            for r in range(runs):
                samples["lab"].append(timed(lab_cmd, env))
                samples["crypto_lab"].append(timed(ours_cmd, env))
                print(f"{size} {stage} run {r + 1}: lab {samples['lab'][-1][0]:.1f}s, "
                      f"crypto-lab {samples['crypto_lab'][-1][0]:.1f}s", flush=True)
            entry["stages"][stage] = {
                side: {"wall_s": statistics.median(s[0] for s in v),
                       "peak_mib": statistics.median(s[1] for s in v),
                       "samples": v}
                for side, v in samples.items()
            }
        worst, best = check_same(data)
        entry["feature_max_rel_diff"] = worst
        entry["best_iteration"] = best
        for side in ("lab", "crypto_lab"):
            entry[f"end_to_end_{side}_s"] = sum(entry["stages"][s][side]["wall_s"] for s in STAGES)
        results["sizes"].append(entry)
        json.dump(results, open(os.path.join(args.out, "results.json"), "w"), indent=1)

    lines = [f"Machine: {results['machine']}; {results['crypto_lab']}; medians of whole-process "
             "wall time and peak RSS (/usr/bin/time -v), lab and crypto-lab alternating.", ""]
    for e in results["sizes"]:
        lines += [f"### {e['size']}: {e['rows']:,} rows in train.csv ({e['runs']} run(s) each; "
                  f"same features to {e['feature_max_rel_diff']:.1e}, best iteration {e['best_iteration']} on both)", "",
                  "| stage | lab s | crypto-lab s | speed-up | lab MiB | crypto-lab MiB | memory ratio |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for s in STAGES:
            a, b = e["stages"][s]["lab"], e["stages"][s]["crypto_lab"]
            lines.append(f"| {s} | {a['wall_s']:.1f} | {b['wall_s']:.1f} | {a['wall_s'] / b['wall_s']:.1f}x | "
                         f"{a['peak_mib']:.0f} | {b['peak_mib']:.0f} | {b['peak_mib'] / a['peak_mib']:.2f} |")
        lab_t, our_t = e["end_to_end_lab_s"], e["end_to_end_crypto_lab_s"]
        lines += [f"| end to end | {lab_t:.1f} | {our_t:.1f} | {lab_t / our_t:.1f}x | | | |", ""]
    open(os.path.join(args.out, "results.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
