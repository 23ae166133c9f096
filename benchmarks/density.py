#!/usr/bin/env python3
"""How the density control moves notes per second (issue: sparser or busier music).

For each autoregressive checkpoint: N samples of S seconds (fixed seeds, batched) at each
density (an exponential tilt against time, per second; 0 = the model as trained), with the
mean notes/s and polyphony. Reference, same run: density 0.

    python benchmarks/density.py [--checkpoints checkpoints/perf-rnn.pt checkpoints/note-rnn.pt]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from pianogen.evaluation.features import piece_features  # noqa: E402
from pianogen.sampling import load_sampler, sample  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", nargs="+", default=[str(ROOT / "checkpoints" / "perf-rnn.pt"), str(ROOT / "checkpoints" / "note-rnn.pt")])
    ap.add_argument("--densities", type=float, nargs="+", default=[-4, -2, -1, 0, 1, 2, 4])
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    print("| checkpoint | density | notes/s | vs density 0 | polyphony |\n| --- | ---: | ---: | ---: | ---: |")
    for ck in args.checkpoints:
        s = load_sampler(ck)
        rows = []
        for d in args.densities:
            batch = sample(s, seconds=args.seconds, seed=500, n=args.n, top_p=0.95, density=d)
            f = [piece_features(g) for _, g in batch.groupby("sample")]
            rows.append((d, np.mean([x["notes_per_second"] for x in f]), np.mean([x["polyphony"] for x in f])))
        ref = next(r for d, r, _ in rows if d == 0) if 0 in args.densities else rows[0][1]
        for d, rate, poly in rows:
            print(f"| {Path(ck).stem} | {d:+g} | {rate:.1f} | {rate / ref:.2f}x | {poly:.1f} |", flush=True)
        monotone = all(a[1] < b[1] for a, b in zip(rows, rows[1:]))
        print(f"| {Path(ck).stem} | monotone over the range: {'yes' if monotone else 'NO'} | | | |")


if __name__ == "__main__":
    main()
