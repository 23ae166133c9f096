#!/usr/bin/env python3
"""The Transformers' sampling step at batch 1: fewer operations, same notes.

At batch 1 a step of these small decoders costs its number of operations far more than their
size. ``--change rope-dropout`` (the default): two were taken out of every layer's step: rotary
positions are one complex product (5 operations instead of 11, ``transformer._rope``), and
dropout is not called at all in eval or at p 0 (an ``nn.Dropout`` in eval still dispatches an
operation, 2-3 per layer); the reference, in the same run, is the same code with both put back
(the real rotation, ``F.dropout`` called with ``training=False``). ``--change draw``: each class
is drawn as the argmax of p / Exp(1) (``autoregressive.draw``), which is what
``torch.multinomial(p, 1)`` computes on a CPU after checking its input; the reference calls
``torch.multinomial`` (a note is four draws, an event one). Both draw 60 s of music at batch 1 at each checkpoint's defaults from the
same seeds, alternating (A B A B ...) so that drift of this machine's speed falls on both alike;
prints the operations PyTorch dispatched per token (counted on a short draw), seconds per 60 s,
milliseconds per token, the ratio, and whether both drew the same notes.

    python benchmarks/decode_step.py [--checkpoints checkpoints/transformer.pt ...] [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

import pianogen.models.transformer as tf  # noqa: E402
import pianogen.sampling.autoregressive as ar  # noqa: E402
from pianogen.sampling import load_sampler, sample  # noqa: E402

DEFAULT = [str(ROOT / "checkpoints" / "transformer.pt"), str(ROOT / "checkpoints" / "note-transformer.pt")]
#: Per change: (module, attribute, the code before it) for each function it replaced.
CHANGES = {
    "rope-dropout": [(tf, "_rope", tf._rope_real), (tf, "_dropout", lambda x, p, training: F.dropout(x, p, training))],
    "draw": [(ar, "draw", lambda probs, gen: torch.multinomial(probs, 1, generator=gen)[:, 0])],
}


class _Count(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func] += 1
        return func(*args, **(kwargs or {}))


def variants(change: str) -> dict[str, list]:
    """``{"old": [(module, attribute, function)], "new": [...]}`` for one change."""
    return {"old": CHANGES[change], "new": [(m, a, getattr(m, a)) for m, a, _ in CHANGES[change]]}


def use(variant) -> None:
    for module, attribute, fn in variant:
        setattr(module, attribute, fn)


def tokens(sampler, notes: pd.DataFrame) -> int:
    """Tokens the model drew for the new notes (the codec's encoding, less its start token)."""
    return len(sampler.codec.encode(notes[~notes["is_seed"]])) - 1


def ops_per_token(sampler, variant) -> float:
    use(variant)
    with _Count() as c:
        notes = sample(sampler, seconds=5.0, seed=0)
    return sum(c.ops.values()) / max(1, tokens(sampler, notes))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", nargs="+", default=DEFAULT)
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (the app samples on one)")
    ap.add_argument("--change", choices=sorted(CHANGES), default="rope-dropout", help="which change to measure against the code before it")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ways = variants(args.change)
    OLD, NEW = ways["old"], ways["new"]
    print("| checkpoint | ops/token before | after | before, s per 60 s | after, s per 60 s | before, ms/token | after, ms/token | ratio | same notes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    try:
        for path in args.checkpoints:
            sampler = load_sampler(path)
            ops = {v: ops_per_token(sampler, variant) for v, variant in (("old", OLD), ("new", NEW))}
            sample(sampler, seconds=2, seed=0)  # warm-up
            secs = {"old": [], "new": []}
            n, same = 0, True
            for seed in args.seeds:
                drawn = {}
                for v, variant in (("old", OLD), ("new", NEW)):
                    use(variant)
                    t = time.perf_counter()
                    drawn[v] = sample(sampler, seconds=60.0, seed=seed)
                    secs[v].append(time.perf_counter() - t)
                n += tokens(sampler, drawn["new"])
                same &= drawn["new"].equals(drawn["old"])
            ms = {k: 1000 * sum(s) / max(1, n) for k, s in secs.items()}
            print(f"| {Path(path).stem} | {ops['old']:.0f} | {ops['new']:.0f} | {statistics.median(secs['old']):.2f} | "
                  f"{statistics.median(secs['new']):.2f} | {ms['old']:.2f} | {ms['new']:.2f} | {ms['new'] / ms['old']:.2f} | "
                  f"{'yes' if same else 'no'} |", flush=True)
    finally:
        use(NEW)


if __name__ == "__main__":
    main()
