#!/usr/bin/env python3
"""What dropout costs a Transformer's training step on this CPU, part by part.

One training step (forward and backward, bf16 autocast, batch 16 x 512 notes) of the 2 x 128
note-transformer, with dropout nowhere (the reference, same run), only on the attention
probabilities (``scaled_dot_product_attention(dropout_p=)``), only on the residual branches
and the input (the ``nn.Dropout`` modules), and on both (the old default, 0.1). Median of four
timed steps after a warm-up one, each setting measured twice, interleaved. On a CPU PyTorch's
fused attention kernel takes no dropout, so attention dropout falls back to the plain one, which
builds the whole (T x T) attention matrix per head.

    python benchmarks/dropout.py [--layers 2 --width 128 --heads 2 --seq-len 512 --threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from pianogen.models.note_transformer import NoteTransformer, NoteTransformerConfig  # noqa: E402

SETTINGS = {"none (reference)": (0.0, 0.0), "attention only": (0.1, 0.0), "residual only": (0.0, 0.1), "both (old default)": (0.1, 0.1)}


def step_seconds(args, attention: float, residual: float) -> float:
    torch.manual_seed(0)
    m = NoteTransformer(NoteTransformerConfig(layers=args.layers, width=args.width, heads=args.heads, context=args.seq_len, embed=32)).train()
    for mod in m.modules():
        if isinstance(mod, torch.nn.Dropout):
            mod.p = residual
    m.config.dropout = attention  # what Attention passes to scaled_dot_product_attention while training
    x = torch.randint(0, 32, (args.batch_size, args.seq_len, 4))
    times = []
    for _ in range(5):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits, _ = m(x, target=x)
        sum(lg.float().logsumexp(-1).mean() for lg in logits).backward()
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--heads", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    secs = {name: [] for name in SETTINGS}
    for _ in range(2):
        for name, (attention, residual) in SETTINGS.items():
            secs[name].append(step_seconds(args, attention, residual))
    ref = statistics.mean(secs["none (reference)"])
    print("| dropout 0.1 on | s per step | vs none |")
    print("| --- | ---: | ---: |")
    for name, s in secs.items():
        print(f"| {name} | {statistics.mean(s):.3f} | {statistics.mean(s) / ref:.2f}x |")


if __name__ == "__main__":
    main()
