#!/usr/bin/env python3
"""Does music stay music for minutes? Notes/s and polyphony per minute of long samples.

Samples N pieces of M minutes (batched, fixed seeds, each checkpoint at its recorded sampling
defaults) and measures every minute separately; the reference, in the same run, is each
sample's own first minute: minute M against minute 1, as a ratio per sample, whose median
over the N samples is the number (target, issue "The first click": minute 3 within 25% of
minute 1 in notes/s). A Transformer re-reads its last half window when its cache is full; an
RNN carries its state.

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
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--no-hold", action="store_true", help="sample without the density hold (pianogen.sampling.density_hold), the reference")
    ap.add_argument("--seed", type=int, default=4000)
    args = ap.parse_args()
    print("| checkpoint | minute | notes/s (mean) | polyphony (mean) | vs minute 1, median of samples (notes/s, polyphony) |\n"
          "| --- | ---: | ---: | ---: | ---: |")
    for ck in args.checkpoints:
        sampler = load_sampler(ck)
        t, p, _ = sampler.defaults
        t0 = time.perf_counter()
        batch = sample(sampler, seconds=60.0 * args.minutes, seed=args.seed, n=args.n, hold=not args.no_hold)  # its measured defaults
        took = time.perf_counter() - t0
        rates = np.zeros((args.n, args.minutes))
        polys = np.zeros((args.n, args.minutes))
        for i, g in batch.groupby("sample"):
            for m in range(args.minutes):
                seg = g[(g["start"] >= 60 * m) & (g["start"] < 60 * (m + 1))].copy()
                seg[["start", "end"]] = (seg[["start", "end"]] - 60 * m).clip(upper=60.0)
                f = piece_features(seg) if len(seg) > 1 else {"notes_per_second": len(seg) / 60, "polyphony": 0.0}
                rates[i, m], polys[i, m] = f["notes_per_second"], f["polyphony"]
        with np.errstate(divide="ignore", invalid="ignore"):
            r_ratio, p_ratio = rates / rates[:, :1], polys / polys[:, :1]
        for m in range(args.minutes):
            print(f"| {Path(ck).stem} (T {t:g}, top-p {p:g}{', no hold' if args.no_hold else ''}) | {m + 1} | {rates[:, m].mean():.1f} | {polys[:, m].mean():.1f} "
                  f"| {np.median(r_ratio[:, m]):.2f}x, {np.median(p_ratio[:, m]):.2f}x |", flush=True)
        print(f"| {Path(ck).stem}: {args.n} x {args.minutes} min sampled in {took:.0f} s; minute {args.minutes} vs 1 per sample: "
              f"{', '.join(f'{r:.2f}' for r in r_ratio[:, -1])} | | | | |")


if __name__ == "__main__":
    main()
