#!/usr/bin/env python3
"""Seconds to draw a pianoroll PNG: one collection of note bars (``plots._rectangles``) against
one ``barh`` patch per note (the code before it, the reference), in the same run.

Real notes from the bundled corpus: the first 60 s of a performance (as the app draws a 60 s
request) and a grid of 8 rows of 20 s (as MuseGAN training draws its samples at every
evaluation). Prints seconds for each way, the ratio and the PNG sizes.

    python benchmarks/plots.py [--data data/prepared/maestro-mini]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import pianogen.plots as plots  # noqa: E402
from pianogen.data import load_notes  # noqa: E402


def patches(ax, notes: pd.DataFrame, color: str, alpha=1.0):
    """The reference: one rectangle patch per note, each given its alpha."""
    bars = ax.barh(notes["pitch"], notes["end"] - notes["start"], left=notes["start"], height=0.8, color=color, linewidth=0)
    for b, a in zip(bars, np.broadcast_to(alpha, len(notes))):
        b.set_alpha(float(a))
    return bars


def timed(draw, way) -> tuple[float, int]:
    plots._rectangles = way
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        path = draw(Path(tmp) / "roll.png")
        return time.perf_counter() - t, path.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT / "data" / "prepared" / "maestro-mini"), help="prepared folder (make prepare)")
    args = ap.parse_args()
    notes = load_notes(args.data, "train")
    piece = notes[notes["piece_id"] == notes["piece_id"].iloc[0]]
    minute = piece[piece["start"] < 60].assign(end=lambda d: d["end"].clip(upper=60))
    rows = [piece[(piece["start"] >= 20 * k) & (piece["start"] < 20 * k + 20)].assign(track=k % 3) for k in range(8)]

    def one_minute(path):
        return plots.pianoroll_png(minute, path, title="60 s")

    def grid(path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(len(rows), 1, figsize=(10, 2.2 * len(rows)), dpi=80, squeeze=False)
        for ax, r in zip(axes[:, 0], rows):
            plots._draw(ax, r.assign(start=r["start"] - r["start"].min(), end=r["end"] - r["start"].min()), ("melody", "inner", "bass"))
        fig.savefig(path, format="png")
        plt.close(fig)
        return path

    new = plots._rectangles
    timed(one_minute, new)  # matplotlib's import and font cache
    print("| drawing | notes | one patch per note (reference), s | one collection, s | ratio | PNG bytes, reference / new |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, draw, n in (("60 s of a performance", one_minute, len(minute)), ("8 rows of 20 s, 3 voices", grid, sum(map(len, rows)))):
        (a, size_a), (b, size_b) = timed(draw, patches), timed(draw, new)
        print(f"| {name} | {n} | {a:.2f} | {b:.2f} | {b / a:.2f} | {size_a:,} / {size_b:,} |", flush=True)
    plots._rectangles = new


if __name__ == "__main__":
    main()
