#!/usr/bin/env python3
"""Start-up of a perf-rnn training run on a large corpus: seconds until the first step can be
drawn, and the process's peak memory.

Reference, same run: the data path as it was before the scale-up (the event-by-event Python
encoder, int64 token arrays). Each variant runs in a fresh process so peak memory is its own.

    python benchmarks/train_startup.py [--data data/prepared/asap]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import json, resource, sys, time
sys.path.insert(0, {root!r})
import numpy as np
t0 = time.perf_counter()
import pianogen.training.autoregressive as rt
from pianogen.representations import performance
if {reference!r}:
    def encode_loop(notes, config=performance.PerformanceConfig(), time_scale=1.0):
        q = config.shift_seconds
        pitch = notes["pitch"].to_numpy(dtype=np.int64)
        on = np.round(notes["start"].to_numpy(dtype=np.float64) * time_scale / q).astype(np.int64)
        off = np.maximum(np.round(notes["end"].to_numpy(dtype=np.float64) * time_scale / q).astype(np.int64), on + 1)
        vb = config.velocity_bins.quantize(notes["velocity"].to_numpy())
        ev = sorted([(t, 0, p, -1) for t, p in zip(off.tolist(), pitch.tolist())] + [(t, 1, p, v) for t, p, v in zip(on.tolist(), pitch.tolist(), vb.tolist())])
        out, now, vel = [], 0, -1
        for t, kind, p, v in ev:
            while t > now:
                k = min(t - now, config.max_shift_steps); out.append(config.time_shift + k - 1); now += k
            if kind == 1 and v != vel:
                out.append(config.velocity + v); vel = v
            out.append((config.note_on if kind else config.note_off) + p)
        return np.asarray(out, dtype=np.int64)
    performance.encode = encode_loop
    real = rt.encode_pieces
    rt.encode_pieces = lambda notes, codec, time_scale=1.0, dtype=np.int64: real(notes, codec, time_scale, np.int64)
from pianogen.training import TrainConfig
task = rt.make_sequence_task("perf-rnn", {data!r}, TrainConfig(batch_size=64, seq_len=256), {{"layers": 2, "hidden": 256, "embed": 128}})
task.sampler.batch(64)
print(json.dumps({{"seconds": time.perf_counter() - t0, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "train_tokens": int(sum(len(p) for p in task.sampler.versions[0]))}}))
'''


def run(data: str, reference: bool) -> dict:
    code = CHILD.format(root=str(ROOT), data=data, reference=reference)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT / "data" / "prepared" / "asap"))
    args = ap.parse_args()
    ref, ours = run(args.data, True), run(args.data, False)
    print(f"{args.data}: {ours['train_tokens']:,} train events per stretch factor, 5 stretch factors")
    print("| data path | start-up s | peak memory MB |\n| --- | ---: | ---: |")
    print(f"| before (Python event loop, int64) | {ref['seconds']:.1f} | {ref['peak_mb']:,.0f} |")
    print(f"| now (vectorized encoder, int16 storage) | {ours['seconds']:.1f} | {ours['peak_mb']:,.0f} |")
    print(f"| ratio | {ref['seconds'] / ours['seconds']:.1f}x faster | {ref['peak_mb'] / ours['peak_mb']:.1f}x smaller |")


if __name__ == "__main__":
    main()
