#!/usr/bin/env python3
"""int8 weights for sampling: seconds for 60 s of music at batch 1, and what it costs in likelihood.

For each checkpoint, the same sampler loaded with fp32 weights (the reference, same run) and
with int8 weights (``pianogen.models.int8``): 60 s of music at batch 1 and the model's own
defaults, for three seeds (median seconds, and milliseconds per token, since the two draw
different music from the same seed), then the NLL of the whole asap validation split with each.
Targets (issue "The first click"): 60 s of music within 1 s at batch 1; NLL change under 0.5%.

    python benchmarks/int8.py [--checkpoints checkpoints/perf-rnn.pt ...] [--data data/prepared/asap] [--no-nll]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from pianogen.evaluation.likelihood import checkpoint_nll  # noqa: E402
from pianogen.sampling import SequenceSampler, sample  # noqa: E402

CHECKPOINTS = ("perf-rnn", "perf-rnn-density", "note-rnn", "transformer")


def tokens(sampler: SequenceSampler, notes) -> int:
    return len(sampler.codec.encode(notes[~notes["is_seed"]])) - 1  # less the codec's start token


def speed(sampler: SequenceSampler, seeds=(1, 2, 3)) -> dict:
    sample(sampler, seconds=2, seed=0)  # warm-up
    secs, toks = [], []
    for seed in seeds:
        t = time.perf_counter()
        out = sample(sampler, seconds=60.0, seed=seed)
        secs.append(time.perf_counter() - t)
        toks.append(tokens(sampler, out))
    return {"seconds": statistics.median(secs), "ms_per_token": 1000 * sum(secs) / max(1, sum(toks)), "tokens": toks}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", nargs="+", default=[str(ROOT / "checkpoints" / f"{n}.pt") for n in CHECKPOINTS])
    ap.add_argument("--data", default=str(ROOT / "data" / "prepared" / "asap"), help="prepared folder whose validation split is scored")
    ap.add_argument("--split", default="validation")
    ap.add_argument("--no-nll", action="store_true", help="speed only")
    args = ap.parse_args()
    torch.set_num_threads(1)  # as the app samples
    rows = []
    print("| checkpoint | weights | 60 s at batch 1 (median of 3) | ms per token | NLL nats/token | NLL change |\n| --- | --- | ---: | ---: | ---: | ---: |")
    for ck in args.checkpoints:
        ref = None
        for int8 in (False, True):
            s = SequenceSampler(ck, int8=int8)
            row = {"checkpoint": Path(ck).stem, "weights": s.weights, **speed(s)}
            if not args.no_nll:
                row["nll_per_token"] = checkpoint_nll(ck, args.data, args.split, int8=int8)["nll_per_token"]
            ref = ref or row
            change = f"{100 * (row['nll_per_token'] / ref['nll_per_token'] - 1):+.2f}%" if "nll_per_token" in row else ""
            nll = f"{row['nll_per_token']:.4f}" if "nll_per_token" in row else ""
            print(f"| {row['checkpoint']} | {row['weights']} | {row['seconds']:.2f} s ({ref['seconds'] / row['seconds']:.1f}x) "
                  f"| {row['ms_per_token']:.2f} | {nll} | {change} |", flush=True)
            rows.append(row)
    print(json.dumps(rows))
    print("targets: 60 s of music within 1 s at batch 1; NLL change under 0.5%")


if __name__ == "__main__":
    main()
