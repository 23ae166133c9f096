#!/usr/bin/env python3
"""The Transformers' key/value cache at batch 1: written in place against copied at every step.

A sampling step used to concatenate every layer's cached keys and values with the new
position's (a new tensor holding the whole history, at every step); now the cache lives in
tensors with room for a whole window and each step writes one position into them
(``KVCache.with_room``). The reference, in the same run: the same code with the room taken
away (``with_room`` returning the cache as it is, so every step concatenates as before).
Both draw 60 s of music at batch 1 at the checkpoint's defaults from the same seeds,
alternating (A B A B ...) so that drift of this machine's speed falls on both alike; prints
seconds per 60 s, milliseconds per token, the ratio, and whether both drew the same notes.

    python benchmarks/kv_cache.py [--checkpoints checkpoints/transformer.pt ...] [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from pianogen.models.transformer import KVCache  # noqa: E402
from pianogen.sampling import load_sampler, sample  # noqa: E402

DEFAULT = [str(ROOT / "checkpoints" / "transformer.pt"), str(ROOT / "docs" / "training-runs" / "note-transformer-2x128-nodropout-75min.pt")]


def draw(sampler, seed: int, in_place: bool) -> tuple[float, pd.DataFrame]:
    """(seconds, notes) of 60 s at batch 1, with or without the cache's room to grow in place."""
    grow = KVCache.with_room
    if not in_place:
        KVCache.with_room = lambda self, capacity: self  # every step concatenates, as before
    try:
        t = time.perf_counter()
        notes = sample(sampler, seconds=60.0, seed=seed)
        return time.perf_counter() - t, notes
    finally:
        KVCache.with_room = grow


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", nargs="+", default=DEFAULT)
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    args = ap.parse_args()
    print("| checkpoint | copied, s per 60 s | in place, s per 60 s | copied, ms/token | in place, ms/token | ratio | same notes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for path in args.checkpoints:
        sampler = load_sampler(path)
        sample(sampler, seconds=2, seed=0)  # warm-up
        secs = {True: [], False: []}
        tokens, same = 0, True
        for seed in args.seeds:
            drawn = {}
            for in_place in (False, True):
                s, drawn[in_place] = draw(sampler, seed, in_place)
                secs[in_place].append(s)
            tokens += len(sampler.codec.encode(drawn[True][~drawn[True]["is_seed"]])) - 1  # less the codec's start token
            same &= drawn[True].equals(drawn[False])
        ms = {k: 1000 * sum(v) / max(1, tokens) for k, v in secs.items()}
        print(f"| {Path(path).stem} | {statistics.median(secs[False]):.2f} | {statistics.median(secs[True]):.2f} | {ms[False]:.2f} | "
              f"{ms[True]:.2f} | {ms[True] / ms[False]:.2f} | {'yes' if same else 'no'} |")


if __name__ == "__main__":
    main()
