#!/usr/bin/env python3
"""How closely each density control gives the notes per second a user asks for.

Two controls, asked for the same targets with the same seeds:
- the sampling-time tilt against time, turned into a target through the checkpoint's recorded
  calibration (``scripts/tune_sampling.py CKPT --density --record``);
- Magenta's training-time conditioning: a perf-rnn fine-tuned with ``--density-control``
  (its density bin at every step).
For each target: mean notes/s over N samples of S seconds (sd across samples) and polyphony;
per control the tracking error, mean |log(achieved / asked)|. The reference in the same run is
each checkpoint played as it is (no target).

    python benchmarks/density.py --tilted checkpoints/perf-rnn.pt --conditioned runs/density/perf-rnn-density.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from pianogen.evaluation.tuning import density_response, tracking_error  # noqa: E402
from pianogen.sampling import load_sampler  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tilted", nargs="*", default=[str(ROOT / "checkpoints" / "perf-rnn.pt")], help="calibrated checkpoints (time tilt)")
    ap.add_argument("--conditioned", nargs="*", default=[], help="density-conditioned checkpoints")
    ap.add_argument("--targets", type=float, nargs="+", default=[3, 5, 8, 11, 16, 22])
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--seed", type=int, default=3000)
    ap.add_argument("--temperature", type=float, help="for every checkpoint (default: each one's recorded sampling defaults)")
    ap.add_argument("--top-p", type=float)
    args = ap.parse_args()
    header = "| checkpoint | control | " + " | ".join(f"ask {t:g}" for t in args.targets) + " | as it plays | tracking error |"
    print(header + "\n|" + " --- |" * 2 + " ---: |" * (len(args.targets) + 2))
    for ck, control in [(c, "tilt (calibrated)") for c in args.tilted] + [(c, "conditioned") for c in args.conditioned]:
        t, p, _ = load_sampler(ck).defaults
        t, p = args.temperature or t, args.top_p or p
        kw = dict(temperature=t, top_p=p, n=args.n, seconds=args.seconds, seed=args.seed, progress=False)
        rows = density_response(ck, targets=args.targets, **kw)
        free = density_response(ck, tilts=[0.0], **kw)[0]
        cells = " | ".join(f"{r['notes_per_second']:.1f} ± {r['sd']:.1f}" for r in rows)
        err = tracking_error(rows)
        print(f"| {Path(ck).stem} (T {t:g}, top-p {p:g}) | {control} | {cells} | {free['notes_per_second']:.1f} | "
              f"{err:.3f} (x{np.exp(err):.2f}) |", flush=True)
        print("| | polyphony | " + " | ".join(f"{r['polyphony']:.1f}" for r in rows) + f" | {free['polyphony']:.1f} | |", flush=True)


if __name__ == "__main__":
    main()
