#!/usr/bin/env python3
"""Does music stay music for minutes? Notes/s and polyphony per minute of long samples.

Samples N pieces of M minutes (batched, fixed seeds, each checkpoint at its recorded sampling
defaults) and measures every minute separately; the reference, in the same run, is each
sample's own first minute: minute M against minute 1, as a ratio. A Transformer generates
past its training window with a sliding key/value cache; an RNN carries its state.

    python benchmarks/long_sample.py --checkpoints checkpoints/perf-rnn.pt runs/sweep-tf/transformer-rope.pt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from pianogen.evaluation.features import piece_features  # noqa: E402
from pianogen.sampling import load_sampler, sample  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", nargs="+", default=[str(ROOT / "checkpoints" / "perf-rnn.pt")])
    ap.add_argument("--minutes", type=int, default=3)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--seed", type=int, default=4000)
    args = ap.parse_args()
    print("| checkpoint | minute | notes/s | polyphony | vs minute 1 (notes/s, polyphony) |\n| --- | ---: | ---: | ---: | ---: |")
    for ck in args.checkpoints:
        sampler = load_sampler(ck)
        t, p, _ = sampler.defaults
        t0 = time.perf_counter()
        batch = sample(sampler, seconds=60.0 * args.minutes, seed=args.seed, n=args.n)  # its measured defaults
        took = time.perf_counter() - t0
        per_minute = []
        for m in range(args.minutes):
            feats = []
            for _, g in batch.groupby("sample"):
                seg = g[(g["start"] >= 60 * m) & (g["start"] < 60 * (m + 1))].copy()
                seg[["start", "end"]] = (seg[["start", "end"]] - 60 * m).clip(upper=60.0)
                if len(seg) > 1:
                    feats.append(piece_features(seg))
            per_minute.append((np.mean([f["notes_per_second"] for f in feats]), np.mean([f["polyphony"] for f in feats])))
        for m, (rate, poly) in enumerate(per_minute):
            r0, p0 = per_minute[0]
            print(f"| {Path(ck).stem} (T {t:g}, top-p {p:g}) | {m + 1} | {rate:.1f} | {poly:.1f} | {rate / r0:.2f}x, {poly / p0:.2f}x |", flush=True)
        print(f"| {Path(ck).stem}: {args.n} x {args.minutes} min sampled in {took:.0f} s | | | | |")


if __name__ == "__main__":
    main()
