"""The lab's five charts drawn with matplotlib's defaults, for comparison.

Reads the same artifacts `crypto-lab plot` reads and draws each chart the
way a notebook would with no styling: default fonts, colours, tick
locators and formatters. Only the figure size is set, to the pixel size of
crypto-lab's charts (960x540), so both are compared at the same scale.

    python docs/charts/matplotlib_defaults.py --data-path DIR --out docs/charts/matplotlib

Needs matplotlib, pandas and pyarrow.
"""

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

# crypto-lab's chart size in pixels (src/plots/mod.rs, SIZE) at matplotlib's
# default 100 dpi.
FIGSIZE = (9.6, 5.4)
# The same choices as src/plots/: Bitcoin, four features, 40 bins, at
# most 5,000 scatter points and 2,000 price bars.
PRICE_ASSET = 1
FEATURES = ["RSI_30", "return_30", "sma_30", "HL"]
BINS = 40
MAX_POINTS = 5_000
MAX_BARS = 2_000


def price_volume(data: Path, out: Path) -> None:
    df = pd.read_parquet(
        data / "df_train.parquet", columns=["timestamp", "Asset_ID", "Close", "Volume"]
    )
    df = df[df["Asset_ID"] == PRICE_ASSET].sort_values("timestamp")
    df = df.iloc[:: max(1, -(-len(df) // MAX_BARS))]
    when = pd.to_datetime(df["timestamp"], unit="s")
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=FIGSIZE)
    top.plot(when, df["Close"])
    top.set_ylabel("Close")
    top.set_title(f"Asset {PRICE_ASSET}: Close and Volume")
    # One vertical line per bar, as the Rust chart draws volume (bar() with
    # its default width of 0.8 days would paint a solid block).
    bottom.vlines(when, 0, df["Volume"])
    bottom.set_ylabel("Volume")
    fig.savefig(out / f"price_volume_asset_{PRICE_ASSET}.png")
    plt.close(fig)


def distributions(data: Path, out: Path) -> None:
    df = pd.read_parquet(data / "merge_feature_df.parquet", columns=FEATURES)
    fig, axes = plt.subplots(2, 2, figsize=FIGSIZE)
    for name, ax in zip(FEATURES, axes.flat):
        # As the Rust charts: the zeros that stand for missing values and
        # anything not finite are left out.
        values = df[name].to_numpy(dtype=float)
        values = values[np.isfinite(values) & (values != 0)]
        ax.hist(values, bins=BINS)
        ax.set_title(name)
    fig.savefig(out / "feature_distributions.png")
    plt.close(fig)


def learning_curves(data: Path, out: Path) -> None:
    history = json.loads((data / "lgb_history.json").read_text())
    evals = history["evals"]
    best = history["best_iteration"]
    fig, (left, right) = plt.subplots(1, 2, figsize=FIGSIZE)
    for ax, name, key in [
        (left, "validation rmse", "rmse"),
        (right, "validation weighted correlation", "eval_wcorr"),
    ]:
        values = evals[key]
        ax.plot(np.arange(1, len(values) + 1), values)
        ax.axvline(best, color="k", label=f"best round {best}")
        ax.set_title(name)
        ax.set_xlabel("round")
        ax.legend()
    fig.savefig(out / "learning_curves.png")
    plt.close(fig)


def importance(data: Path, out: Path) -> None:
    imp = json.loads((data / "feature_importance.json").read_text())
    rows = sorted(zip(imp["feature"], imp["gain"]), key=lambda r: -r[1])[:15]
    names, gains = zip(*reversed(rows))
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.barh(names, gains)
    ax.set_xlabel("gain")
    ax.set_title("Feature importance (gain, best rounds)")
    fig.savefig(out / "feature_importance.png")
    plt.close(fig)


def predicted_vs_actual(data: Path, out: Path) -> None:
    df = pd.read_parquet(data / "valid_predictions.parquet", columns=["Target", "prediction"])
    df = df.iloc[:: max(1, len(df) // MAX_POINTS)]
    fig, ax = plt.subplots(figsize=FIGSIZE)
    ax.scatter(df["Target"], df["prediction"])
    ax.set_xlabel("actual Target")
    ax.set_ylabel("predicted")
    ax.set_title("Validation rows: predicted against actual Target")
    fig.savefig(out / "predicted_vs_actual.png")
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-path", type=Path, required=True, help="the lab's data path")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for chart in [price_volume, distributions, learning_curves, importance, predicted_vs_actual]:
        chart(args.data_path, args.out)
        print(f"drew {chart.__name__}")


if __name__ == "__main__":
    main()
