#!/usr/bin/env python3
"""Seconds to sample 60 s of music from autoregressive checkpoints on CPU, batch 1 and 8.

Reference, same run, same model and token count: sampling by re-reading a window of the
last tokens at every step (64 for the RNNs, as the TensorFlow RNN tutorial's generation loop
does; the whole context for a Transformer, i.e. generation without its key/value cache),
instead of stepping the model's state. Target: under 1 s for batch 1 (RNNs), under 2 s
(Transformer).

    python benchmarks/sample.py [--checkpoints checkpoints/note-rnn.pt checkpoints/perf-rnn.pt]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from pianogen.representations.codecs import PerformanceCodec  # noqa: E402
from pianogen.sampling import load_sampler, pick, sample  # noqa: E402


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


@torch.inference_mode()
def windowed_reference(sampler, n_tokens: int, window: int = 64) -> None:
    """Generate n_tokens by re-running the model over the last ``window`` tokens each step."""
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    m = sampler.model
    if sampler.context:
        window = m.config.context  # the uncached re-read of the same attention span
    if isinstance(sampler.codec, PerformanceCodec):
        seq = [int(sampler.codec.bos)]
        for _ in range(n_tokens):
            logits, _ = m(torch.tensor([seq[-window:]]))
            seq.append(int(pick(logits[:, -1] + sampler._mask, 1.0, 0, 1.0, gen)))
    else:
        seq = [sampler.codec.bos.tolist()]
        for _ in range(n_tokens):
            h, state = m(torch.tensor([seq[-window:]]))
            seq.append(m.generate_step(h[:, -1], lambda i, lg: pick(lg, 1.0, 0, 1.0, gen), state)[0].tolist())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoints", nargs="+", default=[str(ROOT / "checkpoints" / n) for n in ("note-rnn.pt", "perf-rnn.pt")])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'checkpoint':<14}{'batch':>6}{'seconds':>10}{'tokens':>8}{'ref s':>9}{'ratio':>8}")
    for ck in args.checkpoints:
        s = load_sampler(ck)
        sample(s, seconds=2)  # warm-up
        for n in (1, 8):
            secs, out = best_of(args.repeat, lambda: sample(s, seconds=args.seconds, n=n, seed=1))
            if isinstance(s.codec, PerformanceCodec):
                from pianogen.representations import performance

                n_tok = len(performance.encode(out if n == 1 else out[out["sample"] == 0], s.codec.config))
            else:
                n_tok = len(out if n == 1 else out[out["sample"] == 0])
            ref = ""
            ratio = ""
            if n == 1:
                ref_s, _ = best_of(1, lambda: windowed_reference(s, n_tok))
                ref, ratio = f"{ref_s:9.2f}", f"{ref_s / secs:7.1f}x"
            print(f"{Path(ck).stem:<14}{n:>6}{secs:>10.3f}{n_tok:>8}{ref:>9}{ratio:>8}")
    print(f"target: under 1 s for {args.seconds:g} s of music at batch 1")


if __name__ == "__main__":
    main()
